/* SPDX-License-Identifier: MIT */
/*
 * tjwt.h — test helpers for the OIDC verifier (slowpath/jwt.h, jwks.h):
 * keys generated with OpenSSL at test start, JWKs of their public halves,
 * and tokens signed here (the issuer's side), so no key or token is
 * committed and none expires: every token is checked at a fixed clock.
 */
#ifndef TG_TEST_TJWT_H
#define TG_TEST_TJWT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* base64url without padding of in[0..n) into a new string. */
static inline char *
tb64u(const uint8_t *in, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = a[v >> 18 & 63];
		*o++ = a[v >> 12 & 63];
		*o++ = a[v >> 6 & 63];
		*o++ = a[v & 63];
	}
	if (n - i == 1) {
		*o++ = a[in[i] >> 2];
		*o++ = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		*o++ = a[in[i] >> 2];
		*o++ = a[(in[i] & 3) << 4 | in[i + 1] >> 4];
		*o++ = a[(in[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

static inline char *
tb64u_str(const char *s)
{
	return tb64u((const uint8_t *)s, strlen(s));
}

static inline char *
tb64u_bn(const BIGNUM *bn)
{
	uint8_t buf[1024];
	int n = BN_bn2bin(bn, buf);

	return tb64u(buf, (size_t)n);
}

/* The public JWK of pk under kid: kty RSA, EC P-256 or OKP Ed25519. */
static inline json_t *
tjwk(EVP_PKEY *pk, const char *kid)
{
	json_t *o = json_pack("{s:s, s:s}", "kid", kid, "use", "sig");
	char *x, *y;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;

		EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
		EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
		x = tb64u_bn(n);
		y = tb64u_bn(e);
		json_object_set_new(o, "kty", json_string("RSA"));
		json_object_set_new(o, "n", json_string(x));
		json_object_set_new(o, "e", json_string(y));
		BN_free(n);
		BN_free(e);
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		uint8_t pt[65];
		size_t len = 0;

		EVP_PKEY_set_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
					       "uncompressed");
		EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len);
		x = tb64u(pt + 1, 32);
		y = tb64u(pt + 33, 32);
		json_object_set_new(o, "kty", json_string("EC"));
		json_object_set_new(o, "crv", json_string("P-256"));
		json_object_set_new(o, "x", json_string(x));
		json_object_set_new(o, "y", json_string(y));
	} else {
		uint8_t raw[32];
		size_t len = sizeof(raw);

		EVP_PKEY_get_raw_public_key(pk, raw, &len);
		x = tb64u(raw, len);
		y = NULL;
		json_object_set_new(o, "kty", json_string("OKP"));
		json_object_set_new(o, "crv", json_string("Ed25519"));
		json_object_set_new(o, "x", json_string(x));
	}
	free(x);
	free(y);
	return o;
}

/* The PEM (SubjectPublicKeyInfo) of pk's public key: the HS256-confusion secret. */
static inline size_t
tpub_pem(EVP_PKEY *pk, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	PEM_write_bio_PUBKEY(b, pk);
	n = BIO_get_mem_data(b, &p);
	if ((size_t)n > cap)
		n = (long)cap;
	memcpy(buf, p, (size_t)n);
	BIO_free(b);
	return (size_t)n;
}

/*
 * A compact JWS of header and payload (JSON text), signed with pk as
 * sigalg says: "RS256", "PS256", "ES256", "EdDSA"; "HS256" keys an HMAC
 * with pk's public PEM (the confusion attack); "none" signs nothing.
 */
static inline char *
tsign(EVP_PKEY *pk, const char *sigalg, const char *header, const char *payload)
{
	char *h = tb64u_str(header), *p = tb64u_str(payload), *s, *tok;
	size_t inlen = strlen(h) + 1 + strlen(p), siglen = 0;
	char *in = malloc(inlen + 1);
	uint8_t sig[1024];

	snprintf(in, inlen + 1, "%s.%s", h, p);
	if (strcmp(sigalg, "none") == 0) {
		siglen = 0;
	} else if (strcmp(sigalg, "HS256") == 0) {
		char pem[4096];
		size_t pl = tpub_pem(pk, pem, sizeof(pem));
		unsigned int ml = 0;

		HMAC(EVP_sha256(), pem, (int)pl, (const uint8_t *)in, inlen, sig, &ml);
		siglen = ml;
	} else {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;
		bool ed = strcmp(sigalg, "EdDSA") == 0;

		EVP_DigestSignInit(md, &pctx, ed ? NULL : EVP_sha256(), NULL, pk);
		if (strcmp(sigalg, "PS256") == 0) {
			EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
		}
		siglen = sizeof(sig);
		EVP_DigestSign(md, sig, &siglen, (const uint8_t *)in, inlen);
		EVP_MD_CTX_free(md);
		if (strcmp(sigalg, "ES256") == 0) {
			/* DER to R || S (RFC 7518 §3.4) */
			const uint8_t *d = sig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)siglen);

			BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
			siglen = 64;
			ECDSA_SIG_free(es);
		}
	}
	s = tb64u(sig, siglen);
	tok = malloc(inlen + 2 + strlen(s));
	snprintf(tok, inlen + 2 + strlen(s), "%s.%s", in, s);
	free(h);
	free(p);
	free(s);
	free(in);
	return tok;
}

#endif /* TG_TEST_TJWT_H */
