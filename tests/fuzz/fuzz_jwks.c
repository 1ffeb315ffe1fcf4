/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jwks.c — libFuzzer target for the JWK Set parser (slowpath/jwks.c,
 * tg_jwks_parse(), with b64url.c) and the Cache-Control parser of the
 * fetcher (slowpath/jwks_fetch.c, tg_jwks_cache_age()).
 *
 * Input: a JWK Set document as an issuer's jwks_uri would serve it (any
 * bytes). The same bytes, up to the first NUL, are also read as a
 * Cache-Control value.
 *
 * Beyond memory errors and UB (the input is copied into a buffer of its
 * exact size), the target aborts when:
 * - a parsed set has more entries than TG_JWKS_KEYS_MAX or than the
 *   input's array could hold, or an entry with an empty or unterminated
 *   kid;
 * - an entry is usable (state FOUND) without a key, or holds a key while
 *   refused; a usable RSA key is outside 2048..8192 bits; an entry allows
 *   an algorithm its kty does not fit (confusion), or an "oct" entry
 *   allows any;
 * - tg_jwks_lookup() answers FOUND with a key that does not allow the
 *   algorithm, or with another kid;
 * - the Cache-Control lifetime falls outside [min, max].
 *
 * Seeds: tests/fuzz/gen-corpus jwks_seeds(). Run: tests/fuzz/run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwks.h"
#include "jwks_fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static unsigned int
fits(enum tg_jwk_type t)
{
	switch (t) {
	case TG_JWK_RSA:
		return 1u << TG_JWS_RS256 | 1u << TG_JWS_PS256;
	case TG_JWK_EC_P256:
		return 1u << TG_JWS_ES256;
	case TG_JWK_ED25519:
	case TG_JWK_ED448:
		return 1u << TG_JWS_EDDSA;
	default:
		return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_jwks *set = NULL;
	char *buf, cc[512];
	unsigned int i, age;
	size_t cclen;
	int a;

	if (size > TG_JWKS_JSON_MAX + 16)
		return 0;
	buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	if (tg_jwks_parse(buf, size, &set, NULL, 0) == 0) {
		CHECK(tg_jwks_count(set) <= TG_JWKS_KEYS_MAX);
		CHECK(tg_jwks_count(set) <= size / 2);
		for (i = 0; i < tg_jwks_count(set); i++) {
			const struct tg_jwk *k = tg_jwks_key(set, i), *found;

			CHECK(strnlen(k->kid, sizeof(k->kid)) < sizeof(k->kid) && k->kid[0]);
			CHECK((k->state == TG_JWKS_FOUND) == (k->pkey != NULL));
			CHECK(k->state == TG_JWKS_FOUND || k->state == TG_JWKS_WEAK ||
			      k->state == TG_JWKS_UNUSABLE);
			CHECK((k->algs & ~fits(k->type)) == 0);
			if (k->state == TG_JWKS_FOUND && k->type == TG_JWK_RSA)
				CHECK(k->bits >= TG_JWKS_RSA_MIN_BITS &&
				      k->bits <= TG_JWKS_RSA_MAX_BITS);
			for (a = 0; a < TG_JWS_ALG_MAX; a++) {
				enum tg_jwks_status st = tg_jwks_lookup(set, k->kid, a, &found);

				CHECK(st != TG_JWKS_NO_KID);
				CHECK((st == TG_JWKS_FOUND) == (found != NULL));
				if (found != NULL) {
					CHECK(found->algs & 1u << a);
					CHECK(strcmp(found->kid, k->kid) == 0);
					CHECK(found->pkey != NULL);
				}
			}
		}
		tg_jwks_free(set);
	}
	cclen = strnlen(buf, size < sizeof(cc) - 1 ? size : sizeof(cc) - 1);
	memcpy(cc, buf, cclen);
	cc[cclen] = '\0';
	age = tg_jwks_cache_age(cc, 300, 86400);
	CHECK(age >= 300 && age <= 86400);
	free(buf);
	return 0;
}
