/* SPDX-License-Identifier: MIT */
/*
 * jwks.c — a JWK Set as public keys (jwks.h), built with OpenSSL 3's
 * EVP_PKEY_fromdata() from the JWK members (RFC 7518 §6).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "b64url.h"
#include "jwks.h"
#include "seterr.h"

/* The longest member value decoded: an 8192-bit modulus is 1024 bytes. */
#define JWK_MEMBER_MAX (TG_JWKS_RSA_MAX_BITS / 8 + 8)

struct tg_jwks {
	unsigned int n;
	unsigned int skipped;
	struct tg_jwk keys[];
};

static const char *const alg_names[TG_JWS_ALG_MAX] = {
	[TG_JWS_RS256] = "RS256",
	[TG_JWS_PS256] = "PS256",
	[TG_JWS_ES256] = "ES256",
	[TG_JWS_EDDSA] = "EdDSA",
};

const char *
tg_jws_alg_name(enum tg_jws_alg alg)
{
	if ((unsigned int)alg >= TG_JWS_ALG_MAX)
		return "?";
	return alg_names[alg];
}

int
tg_jws_alg_parse(const char *name)
{
	int i;

	/* strcmp, not strcasecmp: "rs256" is not an algorithm (RFC 7515 §4.1.1
	 * makes "alg" case-sensitive); libjwt 1.10 compares without case. */
	for (i = 0; i < TG_JWS_ALG_MAX; i++)
		if (strcmp(name, alg_names[i]) == 0)
			return i;
	return -1;
}

/* Decodes the base64url string member name of o into buf; -errno if absent or bad. */
static long
member_bytes(json_t *o, const char *name, uint8_t *buf, size_t cap)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v))
		return -ENOENT;
	return tg_b64url_decode(json_string_value(v), json_string_length(v), buf, cap);
}

/* An RSA public key from n and e (RFC 7518 §6.3.1). */
static EVP_PKEY *
rsa_key(json_t *o)
{
	uint8_t *nb = NULL, eb[16];
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	long nlen, elen;

	nb = malloc(JWK_MEMBER_MAX);
	if (nb == NULL)
		return NULL;
	nlen = member_bytes(o, "n", nb, JWK_MEMBER_MAX);
	elen = member_bytes(o, "e", eb, sizeof(eb));
	/* an exponent of more than 8 bytes is no real key; zero-length is none */
	if (nlen <= 0 || elen <= 0 || elen > 8)
		goto out;
	n = BN_bin2bn(nb, (int)nlen, NULL);
	e = BN_bin2bn(eb, (int)elen, NULL);
	if (n == NULL || e == NULL || !BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	return pkey;
}

/* A P-256 public key from x and y, each the full 32 bytes (RFC 7518 §6.2.1.2). */
static EVP_PKEY *
ec_key(json_t *o)
{
	uint8_t pt[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL;
	char group[] = "prime256v1";

	pt[0] = 0x04; /* SEC 1 §2.3.3: uncompressed point */
	if (member_bytes(o, "x", pt + 1, 32) != 32 || member_bytes(o, "y", pt + 33, 32) != 32)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		pkey = NULL;
		goto out;
	}
	/* The point must be on the curve and not the identity: an invalid
	 * point is the lever of invalid-curve attacks (RFC 8725 §3.4). */
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (chk == NULL || EVP_PKEY_public_check(chk) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* An Ed25519 or Ed448 public key from x (RFC 8037 §2). */
static EVP_PKEY *
okp_key(json_t *o, enum tg_jwk_type type)
{
	uint8_t x[57];
	size_t want = type == TG_JWK_ED25519 ? 32 : 57;

	if (member_bytes(o, "x", x, sizeof(x)) != (long)want)
		return NULL;
	return EVP_PKEY_new_raw_public_key(
		type == TG_JWK_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, NULL, x, want);
}

static enum tg_jwk_type
jwk_type(json_t *o)
{
	const char *kty = json_string_value(json_object_get(o, "kty"));
	const char *crv = json_string_value(json_object_get(o, "crv"));

	if (kty == NULL)
		return TG_JWK_NONE;
	if (strcmp(kty, "RSA") == 0)
		return TG_JWK_RSA;
	if (crv == NULL)
		return TG_JWK_NONE;
	if (strcmp(kty, "EC") == 0 && strcmp(crv, "P-256") == 0)
		return TG_JWK_EC_P256;
	if (strcmp(kty, "OKP") == 0 && strcmp(crv, "Ed25519") == 0)
		return TG_JWK_ED25519;
	if (strcmp(kty, "OKP") == 0 && strcmp(crv, "Ed448") == 0)
		return TG_JWK_ED448;
	return TG_JWK_NONE;
}

/* The algorithms an entry may verify, from kty/crv, narrowed by alg, use, key_ops. */
static unsigned int
jwk_algs(json_t *o, enum tg_jwk_type type)
{
	unsigned int algs = 0;
	json_t *v, *op;
	size_t i;
	bool verify = false;

	switch (type) {
	case TG_JWK_RSA:
		algs = 1u << TG_JWS_RS256 | 1u << TG_JWS_PS256;
		break;
	case TG_JWK_EC_P256:
		algs = 1u << TG_JWS_ES256;
		break;
	case TG_JWK_ED25519:
	case TG_JWK_ED448:
		algs = 1u << TG_JWS_EDDSA;
		break;
	case TG_JWK_NONE:
		return 0;
	}
	v = json_object_get(o, "alg");
	if (v != NULL) {
		int a = json_is_string(v) ? tg_jws_alg_parse(json_string_value(v)) : -1;

		algs = a < 0 ? 0 : algs & 1u << a;
	}
	v = json_object_get(o, "use");
	if (v != NULL && (!json_is_string(v) || strcmp(json_string_value(v), "sig") != 0))
		return 0;
	v = json_object_get(o, "key_ops");
	if (v != NULL) {
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, op)
			if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
				verify = true;
		if (!verify)
			return 0;
	}
	return algs;
}

/* Fills k from JWK object o; returns false to skip o (no usable kid). */
static bool
jwk_entry(json_t *o, struct tg_jwk *k)
{
	json_t *kid = json_object_get(o, "kid");

	if (!json_is_string(kid) || json_string_length(kid) == 0 ||
	    json_string_length(kid) >= sizeof(k->kid) ||
	    strlen(json_string_value(kid)) != json_string_length(kid))
		return false;
	memcpy(k->kid, json_string_value(kid), json_string_length(kid) + 1);
	k->type = jwk_type(o);
	k->algs = jwk_algs(o, k->type);
	k->state = TG_JWKS_UNUSABLE;
	k->pkey = NULL;
	k->bits = 0;
	if (k->algs == 0)
		return true; /* kept: a token naming it is a mismatch */
	switch (k->type) {
	case TG_JWK_RSA:
		k->pkey = rsa_key(o);
		break;
	case TG_JWK_EC_P256:
		k->pkey = ec_key(o);
		break;
	case TG_JWK_ED25519:
	case TG_JWK_ED448:
		k->pkey = okp_key(o, k->type);
		break;
	case TG_JWK_NONE:
		break;
	}
	if (k->pkey == NULL)
		return true;
	k->bits = (unsigned int)EVP_PKEY_get_bits(k->pkey);
	if (k->type == TG_JWK_RSA &&
	    (k->bits < TG_JWKS_RSA_MIN_BITS || k->bits > TG_JWKS_RSA_MAX_BITS)) {
		/* too long is refused as unusable (cost), too short as weak */
		k->state = k->bits < TG_JWKS_RSA_MIN_BITS ? TG_JWKS_WEAK : TG_JWKS_UNUSABLE;
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		return true;
	}
	k->state = TG_JWKS_FOUND;
	return true;
}

int
tg_jwks_parse(const char *json, size_t len, struct tg_jwks **out, char *err, size_t errlen)
{
	json_error_t jerr;
	struct tg_jwks *set;
	json_t *root, *keys, *o;
	size_t i;

	*out = NULL;
	if (len > TG_JWKS_JSON_MAX) {
		tg_sp_seterr(err, errlen, "JWK Set of %zu bytes, more than %u", len,
			     TG_JWKS_JSON_MAX);
		return -EINVAL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		tg_sp_seterr(err, errlen, "JWK Set is not JSON: %s (line %d)", jerr.text,
			     jerr.line);
		return -EINVAL;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		tg_sp_seterr(err, errlen, "JWK Set has no \"keys\" array (RFC 7517 §5)");
		json_decref(root);
		return -EINVAL;
	}
	if (json_array_size(keys) > TG_JWKS_KEYS_MAX) {
		tg_sp_seterr(err, errlen, "JWK Set of %zu keys, more than %u",
			     json_array_size(keys), TG_JWKS_KEYS_MAX);
		json_decref(root);
		return -EINVAL;
	}
	set = calloc(1, sizeof(*set) + json_array_size(keys) * sizeof(set->keys[0]));
	if (set == NULL) {
		json_decref(root);
		tg_sp_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(keys, i, o) {
		if (json_is_object(o) && jwk_entry(o, &set->keys[set->n]))
			set->n++;
		else
			set->skipped++;
	}
	json_decref(root);
	*out = set;
	return 0;
}

int
tg_jwks_load_file(const char *path, struct tg_jwks **out, char *err, size_t errlen)
{
	char *buf;
	size_t len = 0;
	ssize_t r;
	int fd, rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "open %s: %s", path, strerror(errno));
		return rc;
	}
	/* one byte more than the cap, to tell "exactly the cap" from "more" */
	buf = malloc(TG_JWKS_JSON_MAX + 1);
	if (buf == NULL) {
		close(fd);
		tg_sp_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (len < TG_JWKS_JSON_MAX + 1) {
		r = read(fd, buf + len, TG_JWKS_JSON_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			tg_sp_seterr(err, errlen, "read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	rc = tg_jwks_parse(buf, len, out, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

enum tg_jwks_status
tg_jwks_lookup(const struct tg_jwks *set, const char *kid, enum tg_jws_alg alg,
	       const struct tg_jwk **key)
{
	enum tg_jwks_status st = TG_JWKS_NO_KID;
	unsigned int i;

	*key = NULL;
	if (set == NULL || (unsigned int)alg >= TG_JWS_ALG_MAX)
		return TG_JWKS_NO_KID;
	for (i = 0; i < set->n; i++) {
		const struct tg_jwk *k = &set->keys[i];

		if (strcmp(k->kid, kid) != 0)
			continue;
		if (!(k->algs & 1u << alg)) {
			if (st == TG_JWKS_NO_KID)
				st = TG_JWKS_MISMATCH;
			continue;
		}
		if (k->state == TG_JWKS_FOUND) {
			*key = k;
			return TG_JWKS_FOUND;
		}
		st = k->state; /* WEAK or UNUSABLE: more specific than a mismatch */
	}
	return st;
}

bool
tg_jwks_has_kid(const struct tg_jwks *set, const char *kid)
{
	unsigned int i;

	if (set == NULL)
		return false;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->keys[i].kid, kid) == 0)
			return true;
	return false;
}

unsigned int
tg_jwks_count(const struct tg_jwks *set)
{
	return set == NULL ? 0 : set->n;
}

unsigned int
tg_jwks_skipped(const struct tg_jwks *set)
{
	return set == NULL ? 0 : set->skipped;
}

const struct tg_jwk *
tg_jwks_key(const struct tg_jwks *set, unsigned int i)
{
	return set == NULL || i >= set->n ? NULL : &set->keys[i];
}

void
tg_jwks_free(struct tg_jwks *set)
{
	unsigned int i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		EVP_PKEY_free(set->keys[i].pkey);
	free(set);
}
