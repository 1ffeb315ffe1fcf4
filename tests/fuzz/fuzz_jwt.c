/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jwt.c — libFuzzer target for the OIDC token verifier
 * (slowpath/jwt.c, tg_jwt_verify(), with b64url.c and the cache).
 *
 * Input: byte 0 picks the mode; the rest is
 *   mode even: a token as a client would present it (any bytes);
 *   mode odd:  a header and a payload (JSON text) split at the first NUL:
 *              the target base64url-encodes them and signs them with its
 *              fixed Ed25519 key (kid "fz-ed"; Ed25519 is deterministic),
 *              so the claim checks behind the signature are fuzzed too.
 * Bits 1-2 of byte 0 move the clock (NOW, NOW - 1 h, NOW + 1 h, 0).
 *
 * The key set (fixed, in the source): the Ed25519 key, a P-256 and a
 * 2048-bit RSA public key (made by tools/mint-token keys, public halves
 * only: the target cannot sign with them, the parser checks them), and an
 * "oct" key that must never verify.
 *
 * Beyond memory errors and UB, the target aborts when:
 * - the reason is out of range, or OK comes without a subject, with more
 *   groups than the identity holds, an unterminated string, an issuer
 *   other than the configured one, or an exp already past;
 * - the token's hash in the identity is not SHA-256 of the token;
 * - the same token verified again (the cache) gives another outcome, or
 *   an OK not marked cached;
 * - a token whose alg is not one of RS256, PS256, ES256, EdDSA is OK.
 *
 * Seeds: tests/fuzz/gen-corpus jwt_seeds(). Run: tests/fuzz/run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "jwks.h"
#include "jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define NOW 1700000000LL
#define ISS "https://fuzz.example"

/* The Ed25519 private key: also in gen-corpus (FUZZ_ED25519_SEED) for seeds. */
static const uint8_t ed_seed[32] = "tollgate-fuzz-ed25519-seed-32byt";

static const char jwks_fmt[] =
	"{\"keys\":["
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"fz-ed\",\"use\":\"sig\",\"x\":\"%s\"},"
	"{\"kty\":\"EC\",\"kid\":\"fz-ec\",\"use\":\"sig\",\"alg\":\"ES256\",\"crv\":\"P-256\","
	"\"x\":\"L2SMfwqQmyxbIcMS77bhJWA9AaMri5HrEQb2-n9KOHE\","
	"\"y\":\"TqE6ujgIllvlp4_KNOAseu3f1wLPqQntbE8TDewxqWc\"},"
	"{\"kty\":\"RSA\",\"kid\":\"fz-rsa\",\"use\":\"sig\",\"e\":\"AQAB\",\"n\":"
	"\"036iu7UtBCvonrjgBLPPPxgScvnlkTn6-Gq8tDeZKhX_qv0OYXVX01MjRG4eq7NiGV6ed0TAOPhgr14kiPqP3H-"
	"Most14YEmQybx2NPK_PXBmiU8b1LnPIp1BrZG6DNEzpanMyX2ZlcZdoY2phNy_xBA2NdYc7KWjRMBvlNjRNxCFCgg"
	"x3gEW0Q8FgQ4iuCYeqtTl-trAS0I6h83kKUNP1ZejC74eIs6ch_x59afyNR70W9Ef7noMhNwd6R8u1mwQJ5AJN-KO"
	"byEmh2k9Nzi3sTJ3SA_3ZvPNAN8fEBaBIZNo0XPBb2ezPE29a43JUH68-XjpbvJACbpB73mCX28iw\"},"
	"{\"kty\":\"oct\",\"kid\":\"fz-oct\",\"k\":\"c2VjcmV0\"}"
	"]}";

static EVP_PKEY *ed;
static struct tg_jwks *keys;
static struct tg_jwt *v;

static size_t
b64u(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t x = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = a[x >> 18 & 63];
		out[o++] = a[x >> 12 & 63];
		out[o++] = a[x >> 6 & 63];
		out[o++] = a[x & 63];
	}
	if (n - i == 1) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = a[in[i] >> 2];
		out[o++] = a[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = a[(in[i + 1] & 15) << 2];
	}
	return o;
}

static void
init(void)
{
	struct tg_jwt_cfg cfg = { .issuer = ISS,
				  .audience = "tollgate",
				  .skew_s = 60,
				  .groups_claim = "realm_access.roles",
				  .cache_max = 8 };
	uint8_t pub[32];
	size_t publen = sizeof(pub);
	char x[64] = { 0 }, json[sizeof(jwks_fmt) + 64];

	ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed_seed, sizeof(ed_seed));
	CHECK(ed != NULL && EVP_PKEY_get_raw_public_key(ed, pub, &publen) == 1);
	b64u(pub, publen, x);
	snprintf(json, sizeof(json), jwks_fmt, x);
	CHECK(tg_jwks_parse(json, strlen(json), &keys, NULL, 0) == 0);
	CHECK(tg_jwks_count(keys) == 4);
	v = tg_jwt_new(&cfg, NULL, 0);
	CHECK(v != NULL);
}

/* header.payload.signature of the two JSON texts, signed with the Ed25519 key. */
static char *
sign(const uint8_t *h, size_t hlen, const uint8_t *p, size_t plen, size_t *len)
{
	char *tok = malloc(hlen * 2 + plen * 2 + 200);
	uint8_t sig[64];
	size_t n = 0, siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	n += b64u(h, hlen, tok + n);
	tok[n++] = '.';
	n += b64u(p, plen, tok + n);
	CHECK(EVP_DigestSignInit(md, NULL, NULL, NULL, ed) == 1);
	CHECK(EVP_DigestSign(md, sig, &siglen, (const uint8_t *)tok, n) == 1);
	EVP_MD_CTX_free(md);
	tok[n++] = '.';
	n += b64u(sig, siglen, tok + n);
	*len = n;
	return tok;
}

static bool
terminated(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t clocks[4] = { NOW, NOW - 3600, NOW + 3600, 0 };
	struct tg_jwt_identity id, again;
	enum tg_jwt_reason r, r2;
	uint8_t sha[32];
	const uint8_t *nul;
	int64_t now;
	char *tok;
	size_t len;

	if (v == NULL)
		init();
	if (size < 1 || size > TG_JWT_TOKEN_MAX)
		return 0;
	now = clocks[(data[0] >> 1) & 3];
	if (data[0] & 1) {
		nul = memchr(data + 1, 0, size - 1);
		if (nul == NULL)
			return 0;
		tok = sign(data + 1, (size_t)(nul - data - 1), nul + 1,
			   size - (size_t)(nul + 1 - data), &len);
	} else {
		/* an exact-size copy: a read past the token is caught */
		len = size - 1;
		tok = malloc(len + 1);
		memcpy(tok, data + 1, len);
	}
	r = tg_jwt_verify(v, keys, tok, len, now, &id);
	CHECK((unsigned int)r < TG_JWT_REASON_MAX);
	CHECK(strcmp(tg_jwt_reason_name(r), "?") != 0);
	if (r != TG_JWT_MALFORMED) {
		SHA256((const uint8_t *)tok, len, sha);
		CHECK(memcmp(sha, id.token_sha256, 32) == 0);
	}
	if (r == TG_JWT_OK) {
		CHECK(terminated(id.sub, sizeof(id.sub)) && id.sub[0] != '\0');
		CHECK(terminated(id.email, sizeof(id.email)) && terminated(id.jti, sizeof(id.jti)));
		CHECK(terminated(id.kid, sizeof(id.kid)) && id.kid[0] != '\0');
		CHECK(strcmp(id.iss, ISS) == 0);
		CHECK(id.n_groups <= TG_JWT_GROUPS_MAX);
		for (unsigned int i = 0; i < id.n_groups; i++)
			CHECK(terminated(id.groups[i], sizeof(id.groups[i])) && id.groups[i][0]);
		CHECK(now < id.exp + 60);
		CHECK((unsigned int)id.alg < TG_JWS_ALG_MAX);
		/* only the Ed25519 key can have signed anything the fuzzer made */
		CHECK(id.alg == TG_JWS_EDDSA && strcmp(id.kid, "fz-ed") == 0);
	}
	r2 = tg_jwt_verify(v, keys, tok, len, now, &again);
	CHECK(r2 == r);
	if (r == TG_JWT_OK) {
		CHECK(again.cached);
		CHECK(strcmp(again.sub, id.sub) == 0 && again.n_groups == id.n_groups);
	}
	free(tok);
	return 0;
}
