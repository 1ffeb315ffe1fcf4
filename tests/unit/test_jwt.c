/* SPDX-License-Identifier: MIT */
/*
 * test_jwt.c — unit tests of the OIDC token verifier (slowpath/jwt.c):
 * every refusal reason of jwt.h from a token built to earn it, each
 * accepted algorithm, array audiences, the groups claim path, typ rules,
 * the clock skew at its edges, and the verified-token cache (hit, expiry,
 * a key leaving the set, LRU bound). Keys are generated at start
 * (tjwt.h) and tokens are checked at a fixed clock, NOW, so nothing
 * expires.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jwks.h"
#include "jwt.h"
#include "jwt_cache.h"
#include "tjwt.h"

#define NOW 1700000000LL
#define ISS "https://idp.example/realms/tg"
#define AUD "tollgate"

static EVP_PKEY *k_rsa, *k_weak, *k_ec, *k_ed, *k_rsa2;
static struct tg_jwks *keys;
static struct tg_jwt *v;

static int
group_setup(void **state)
{
	json_t *set, *arr, *oct, *rs;
	char *txt;

	k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_rsa2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	k_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k_rsa || !k_rsa2 || !k_weak || !k_ec || !k_ed)
		return -1;
	arr = json_array();
	json_array_append_new(arr, tjwk(k_rsa, "rsa1"));
	json_array_append_new(arr, tjwk(k_weak, "weak"));
	json_array_append_new(arr, tjwk(k_ec, "ec1"));
	json_array_append_new(arr, tjwk(k_ed, "ed1"));
	/* the same RSA key pinned to RS256 by its JWK "alg" */
	rs = tjwk(k_rsa2, "rs-only");
	json_object_set_new(rs, "alg", json_string("RS256"));
	json_array_append_new(arr, rs);
	/* a symmetric key: must never verify anything */
	oct = json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "oct1", "k", "c2VjcmV0");
	json_array_append_new(arr, oct);
	set = json_pack("{s:o}", "keys", arr);
	txt = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	if (tg_jwks_parse(txt, strlen(txt), &keys, NULL, 0) != 0)
		return -1;
	free(txt);
	(void)state;
	return 0;
}

static int
group_teardown(void **state)
{
	tg_jwks_free(keys);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_rsa2);
	EVP_PKEY_free(k_weak);
	EVP_PKEY_free(k_ec);
	EVP_PKEY_free(k_ed);
	(void)state;
	return 0;
}

static int
setup(void **state)
{
	struct tg_jwt_cfg cfg = { .issuer = ISS, .audience = AUD, .skew_s = 60, .cache_max = 4 };

	v = tg_jwt_new(&cfg, NULL, 0);
	(void)state;
	return v == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	tg_jwt_free(v);
	v = NULL;
	(void)state;
	return 0;
}

/* Claims that pass: iss, aud, sub, exp in 10 min, iat 10 s ago, email, groups. */
static json_t *
claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:[s, s]}", "iss", ISS, "aud", AUD,
			 "sub", "alice", "exp", (json_int_t)(NOW + 600), "iat",
			 (json_int_t)(NOW - 10), "email", "alice@example.com", "jti", "j-1",
			 "groups", "dba", "dev");
}

/* A token: header {alg, kid, typ} (NULL leaves one out), claims c (consumed). */
static char *
mint(EVP_PKEY *pk, const char *sigalg, const char *alg, const char *kid, const char *typ, json_t *c)
{
	json_t *h = json_pack("{s:s}", "alg", alg);
	char *hs, *ps, *tok;

	if (kid != NULL)
		json_object_set_new(h, "kid", json_string(kid));
	if (typ != NULL)
		json_object_set_new(h, "typ", json_string(typ));
	hs = json_dumps(h, JSON_COMPACT);
	ps = json_dumps(c, JSON_COMPACT);
	tok = tsign(pk, sigalg, hs, ps);
	free(hs);
	free(ps);
	json_decref(h);
	json_decref(c);
	return tok;
}

static enum tg_jwt_reason
check_at(char *tok, int64_t now, struct tg_jwt_identity *id)
{
	enum tg_jwt_reason r = tg_jwt_verify(v, keys, tok, strlen(tok), now, id);

	free(tok);
	return r;
}

static enum tg_jwt_reason
check(char *tok)
{
	struct tg_jwt_identity id;

	return check_at(tok, NOW, &id);
}

static void
expect(char *tok, enum tg_jwt_reason want)
{
	enum tg_jwt_reason got = check(tok);

	if (got != want)
		fail_msg("got %s, want %s", tg_jwt_reason_name(got), tg_jwt_reason_name(want));
}

/* --- accepted --- */

static void
accept_alg(EVP_PKEY *pk, const char *alg, const char *kid)
{
	struct tg_jwt_identity id;
	enum tg_jwt_reason r = check_at(mint(pk, alg, alg, kid, "JWT", claims()), NOW, &id);

	assert_int_equal(r, TG_JWT_OK);
	assert_string_equal(tg_jws_alg_name(id.alg), alg);
	assert_string_equal(id.iss, ISS);
	assert_string_equal(id.sub, "alice");
	assert_string_equal(id.email, "alice@example.com");
	assert_string_equal(id.kid, kid);
	assert_string_equal(id.jti, "j-1");
	assert_int_equal(id.exp, NOW + 600);
	assert_int_equal(id.iat, NOW - 10);
	assert_int_equal(id.n_groups, 2);
	assert_string_equal(id.groups[0], "dba");
	assert_string_equal(id.groups[1], "dev");
	assert_false(id.cached);
}

static void
test_rs256(void **state)
{
	(void)state;
	accept_alg(k_rsa, "RS256", "rsa1");
}

static void
test_ps256(void **state)
{
	(void)state;
	accept_alg(k_rsa, "PS256", "rsa1");
}

static void
test_es256(void **state)
{
	(void)state;
	accept_alg(k_ec, "ES256", "ec1");
}

static void
test_eddsa(void **state)
{
	(void)state;
	accept_alg(k_ed, "EdDSA", "ed1");
}

static void
test_token_hash(void **state)
{
	struct tg_jwt_identity id;
	uint8_t want[32];
	char *tok = mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, claims());

	(void)state;
	SHA256((const uint8_t *)tok, strlen(tok), want);
	assert_int_equal(check_at(tok, NOW, &id), TG_JWT_OK);
	assert_memory_equal(id.token_sha256, want, 32);
}

static void
test_aud_array(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_set_new(c, "aud", json_pack("[s, s]", "other", AUD));
	json_object_set_new(c, "azp", json_string(AUD));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_OK);
	/* a one-element array needs no azp */
	c = claims();
	json_object_set_new(c, "aud", json_pack("[s]", AUD));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_OK);
}

static void
test_groups_path(void **state)
{
	struct tg_jwt_cfg cfg = { .issuer = ISS,
				  .audience = AUD,
				  .groups_claim = "realm_access.roles" };
	struct tg_jwt *kc = tg_jwt_new(&cfg, NULL, 0);
	struct tg_jwt_identity id;
	json_t *c = claims();
	char *tok;

	(void)state;
	assert_non_null(kc);
	/* Keycloak's shape: realm roles under realm_access */
	json_object_set_new(
		c, "realm_access",
		json_pack("{s:[s, s, s]}", "roles", "reader", "writer", "offline_access"));
	tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, c);
	assert_int_equal(tg_jwt_verify(kc, keys, tok, strlen(tok), NOW, &id), TG_JWT_OK);
	assert_int_equal(id.n_groups, 3);
	assert_string_equal(id.groups[0], "reader");
	assert_string_equal(id.groups[2], "offline_access");
	free(tok);
	/* absent path: no groups, not a refusal */
	c = claims();
	tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, c);
	assert_int_equal(tg_jwt_verify(kc, keys, tok, strlen(tok), NOW, &id), TG_JWT_OK);
	assert_int_equal(id.n_groups, 0);
	free(tok);
	tg_jwt_free(kc);
}

/* The array form (idmap's claim_groups): names taken whole; a path through a non-object fails. */
static void
test_groups_array_path(void **state)
{
	static const char *const path[] = { "https://example.com/claims", "roles" };
	struct tg_jwt_cfg cfg = {
		.issuer = ISS, .audience = AUD, .groups_path = path, .groups_path_len = 2
	};
	struct tg_jwt *kc = tg_jwt_new(&cfg, NULL, 0);
	struct tg_jwt_identity id;
	json_t *c = claims();
	char *tok;

	(void)state;
	assert_non_null(kc);
	json_object_set_new(c, "https://example.com/claims",
			    json_pack("{s:[s, s]}", "roles", "reader", "writer"));
	json_object_set_new(c, "email_verified", json_true());
	tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, c);
	assert_int_equal(tg_jwt_verify(kc, keys, tok, strlen(tok), NOW, &id), TG_JWT_OK);
	assert_int_equal(id.n_groups, 2);
	assert_string_equal(id.groups[1], "writer");
	assert_true(id.email_verified);
	free(tok);
	/* the path runs through a string: refused, never read as "no groups" */
	c = claims();
	json_object_set_new(c, "https://example.com/claims", json_string("dba"));
	json_object_set_new(c, "email_verified", json_string("false"));
	tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, c);
	assert_int_equal(tg_jwt_verify(kc, keys, tok, strlen(tok), NOW, &id), TG_JWT_GROUPS);
	free(tok);
	/* absent: no groups; email_verified "false" or missing is false */
	c = claims();
	json_object_set_new(c, "email_verified", json_string("false"));
	tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, c);
	assert_int_equal(tg_jwt_verify(kc, keys, tok, strlen(tok), NOW, &id), TG_JWT_OK);
	assert_int_equal(id.n_groups, 0);
	assert_false(id.email_verified);
	free(tok);
	tg_jwt_free(kc);
	/* a bad path is a bad configuration */
	cfg.groups_path_len = 9;
	assert_null(tg_jwt_new(&cfg, NULL, 0));
	cfg.groups_path_len = 1;
	cfg.groups_path = (const char *const[]){ "" };
	assert_null(tg_jwt_new(&cfg, NULL, 0));
}

/* Claims of an RFC 9068 access token: those of claims() and client_id. */
static json_t *
at_claims(void)
{
	json_t *c = claims();

	json_object_set_new(c, "client_id", json_string("svc-reporting"));
	return c;
}

static void
test_typ_accepted(void **state)
{
	struct tg_jwt_identity id;

	(void)state;
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, claims()), TG_JWT_OK);
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", "jwt", claims()), TG_JWT_OK);
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", "at+jwt", at_claims()), TG_JWT_OK);
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", "AT+JWT", at_claims()), TG_JWT_OK);
	assert_int_equal(
		check_at(mint(k_rsa, "RS256", "RS256", "rsa1", "application/at+jwt", at_claims()),
			 NOW, &id),
		TG_JWT_OK);
	assert_true(id.access_token);
	assert_string_equal(id.client_id, "svc-reporting");
}

static void
test_access_token_rules(void **state)
{
	json_t *c = at_claims();

	(void)state;
	/* RFC 9068 §2.2: client_id and jti are required of an access token */
	json_object_del(c, "client_id");
	expect(mint(k_ec, "ES256", "ES256", "ec1", "at+jwt", c), TG_JWT_CLAIM);
	c = at_claims();
	json_object_del(c, "jti");
	expect(mint(k_ec, "ES256", "ES256", "ec1", "at+jwt", c), TG_JWT_CLAIM);
	/* not of an ID token (typ JWT) */
	c = claims();
	json_object_del(c, "jti");
	expect(mint(k_ec, "ES256", "ES256", "ec1", "JWT", c), TG_JWT_OK);
}

static void
test_skew_edges(void **state)
{
	json_t *c;

	(void)state;
	/* expired 59 s ago, within 60 s of skew */
	c = claims();
	json_object_set_new(c, "exp", json_integer(NOW - 59));
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_OK);
	/* exactly exp + skew: refused (now < exp + skew is required) */
	c = claims();
	json_object_set_new(c, "exp", json_integer(NOW - 60));
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_EXPIRED);
	/* nbf and iat 60 s ahead: within skew */
	c = claims();
	json_object_set_new(c, "nbf", json_integer(NOW + 60));
	json_object_set_new(c, "iat", json_integer(NOW + 60));
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_OK);
}

/* --- refused, one reason each --- */

static void
test_alg_none(void **state)
{
	(void)state;
	expect(mint(k_rsa, "none", "none", "rsa1", NULL, claims()), TG_JWT_ALG_NONE);
	expect(mint(k_rsa, "none", "None", "rsa1", NULL, claims()), TG_JWT_ALG_NONE);
}

static void
test_hs256_pubkey(void **state)
{
	(void)state;
	/* HMAC keyed with the RSA public key's PEM: the confusion attack */
	expect(mint(k_rsa, "HS256", "HS256", "rsa1", NULL, claims()), TG_JWT_ALG_HMAC);
	/* and naming the symmetric JWK */
	expect(mint(k_rsa, "HS256", "HS256", "oct1", NULL, claims()), TG_JWT_ALG_HMAC);
}

static void
test_alg_unsupported(void **state)
{
	(void)state;
	/* case matters (RFC 7515 §4.1.1); libjwt would take "rs256" */
	expect(mint(k_rsa, "RS256", "rs256", "rsa1", NULL, claims()), TG_JWT_ALG_UNSUPPORTED);
	expect(mint(k_rsa, "RS256", "RS384", "rsa1", NULL, claims()), TG_JWT_ALG_UNSUPPORTED);
}

static void
test_alg_not_allowed(void **state)
{
	struct tg_jwt_cfg cfg = { .issuer = ISS, .audience = AUD, .algs = 1u << TG_JWS_RS256 };
	struct tg_jwt *only = tg_jwt_new(&cfg, NULL, 0);
	struct tg_jwt_identity id;
	char *tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, claims());

	(void)state;
	assert_int_equal(tg_jwt_verify(only, keys, tok, strlen(tok), NOW, &id),
			 TG_JWT_ALG_UNSUPPORTED);
	free(tok);
	tg_jwt_free(only);
}

static void
test_expired(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_set_new(c, "exp", json_integer(NOW - 3600));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_EXPIRED);
}

static void
test_exp_missing(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_del(c, "exp");
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_EXP_MISSING);
	c = claims();
	json_object_set_new(c, "exp", json_string("tomorrow"));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_EXP_MISSING);
}

static void
test_nbf_future(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_set_new(c, "nbf", json_integer(NOW + 61));
	expect(mint(k_ec, "ES256", "ES256", "ec1", NULL, c), TG_JWT_NBF);
}

static void
test_iat_future(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_set_new(c, "iat", json_integer(NOW + 300));
	expect(mint(k_ec, "ES256", "ES256", "ec1", NULL, c), TG_JWT_IAT_FUTURE);
	c = claims();
	json_object_del(c, "iat");
	expect(mint(k_ec, "ES256", "ES256", "ec1", NULL, c), TG_JWT_IAT_MISSING);
}

static void
test_too_old(void **state)
{
	struct tg_jwt_cfg cfg = { .issuer = ISS, .audience = AUD, .max_age_s = 3600 };
	struct tg_jwt *aged = tg_jwt_new(&cfg, NULL, 0);
	struct tg_jwt_identity id;
	json_t *c = claims();
	char *tok;

	(void)state;
	json_object_set_new(c, "iat", json_integer(NOW - 7200));
	tok = mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c);
	assert_int_equal(tg_jwt_verify(aged, keys, tok, strlen(tok), NOW, &id), TG_JWT_TOO_OLD);
	free(tok);
	tg_jwt_free(aged);
}

static void
test_wrong_iss(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_set_new(c, "iss", json_string("https://evil.example/realms/tg"));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_ISS);
	/* a prefix of the issuer is not the issuer */
	c = claims();
	json_object_set_new(c, "iss", json_string("https://idp.example/realms/t"));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_ISS);
	c = claims();
	json_object_del(c, "iss");
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_ISS);
}

static void
test_wrong_aud(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_set_new(c, "aud", json_string("someone-else"));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_AUD);
	c = claims();
	json_object_set_new(c, "aud", json_pack("[s, s]", "a", "b"));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_AUD);
	c = claims();
	json_object_del(c, "aud");
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_AUD);
}

static void
test_azp(void **state)
{
	json_t *c = claims();

	(void)state;
	/* several audiences without azp (OIDC Core §3.1.3.7) */
	json_object_set_new(c, "aud", json_pack("[s, s]", AUD, "other"));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_AZP);
	c = claims();
	json_object_set_new(c, "azp", json_string("other-client"));
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", NULL, c), TG_JWT_AZP);
}

static void
test_unknown_kid(void **state)
{
	struct tg_jwt_identity id;

	(void)state;
	assert_int_equal(
		check_at(mint(k_rsa, "RS256", "RS256", "rotated-2", NULL, claims()), NOW, &id),
		TG_JWT_KID_UNKNOWN);
	/* the kid is reported, for the refetch */
	assert_string_equal(id.kid, "rotated-2");
}

static void
test_no_keys(void **state)
{
	struct tg_jwt_identity id;
	char *tok = mint(k_rsa, "RS256", "RS256", "rsa1", NULL, claims());

	(void)state;
	assert_int_equal(tg_jwt_verify(v, NULL, tok, strlen(tok), NOW, &id), TG_JWT_NO_KEYS);
	free(tok);
}

static void
test_bad_signature(void **state)
{
	char *tok = mint(k_rsa, "RS256", "RS256", "rsa1", NULL, claims()), *p;
	size_t n;

	(void)state;
	/* change the signature's first character to another of the alphabet */
	p = strrchr(tok, '.') + 1;
	*p = *p == 'A' ? 'B' : 'A';
	expect(tok, TG_JWT_SIGNATURE);
	/* signed by another key under a known kid */
	expect(mint(k_rsa2, "RS256", "RS256", "rsa1", NULL, claims()), TG_JWT_SIGNATURE);
	/* an ES256 signature of the wrong length */
	tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, claims());
	n = strlen(tok);
	tok[n - 4] = '\0';
	expect(tok, TG_JWT_SIGNATURE);
	/* an empty signature */
	tok = mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, claims());
	strrchr(tok, '.')[1] = '\0';
	expect(tok, TG_JWT_SIGNATURE);
}

static void
test_tampered_payload(void **state)
{
	char *tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, claims());
	char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
	json_t *c = claims();
	char *ps, *p64, *forged;
	size_t n;

	(void)state;
	/* the same header and signature around a payload naming another subject */
	json_object_set_new(c, "sub", json_string("admin"));
	ps = json_dumps(c, JSON_COMPACT);
	p64 = tb64u_str(ps);
	n = strlen(tok) + strlen(p64) + 1;
	forged = malloc(n);
	snprintf(forged, n, "%.*s.%s%s", (int)(d1 - tok), tok, p64, d2);
	expect(forged, TG_JWT_SIGNATURE);
	free(ps);
	free(p64);
	json_decref(c);
	free(tok);
}

static void
test_weak_key(void **state)
{
	(void)state;
	expect(mint(k_weak, "RS256", "RS256", "weak", NULL, claims()), TG_JWT_KEY_WEAK);
}

static void
test_key_mismatch(void **state)
{
	(void)state;
	/* an EC key's kid under RS256, an RSA key's under ES256 and EdDSA */
	expect(mint(k_rsa, "RS256", "RS256", "ec1", NULL, claims()), TG_JWT_KEY_MISMATCH);
	expect(mint(k_ec, "ES256", "ES256", "rsa1", NULL, claims()), TG_JWT_KEY_MISMATCH);
	expect(mint(k_ed, "EdDSA", "EdDSA", "rsa1", NULL, claims()), TG_JWT_KEY_MISMATCH);
	/* the JWK's alg RS256 rules out PS256 with that key */
	expect(mint(k_rsa2, "PS256", "PS256", "rs-only", NULL, claims()), TG_JWT_KEY_MISMATCH);
	expect(mint(k_rsa2, "RS256", "RS256", "rs-only", NULL, claims()), TG_JWT_OK);
	/* the symmetric JWK cannot verify an asymmetric algorithm either */
	expect(mint(k_rsa, "RS256", "RS256", "oct1", NULL, claims()), TG_JWT_KEY_MISMATCH);
}

static void
test_typ_wrong(void **state)
{
	(void)state;
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", "JWS", claims()), TG_JWT_TYP);
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", "dpop+jwt", claims()), TG_JWT_TYP);
	expect(mint(k_rsa, "RS256", "RS256", "rsa1", "", claims()), TG_JWT_TYP);
}

static void
test_kid_missing(void **state)
{
	(void)state;
	expect(mint(k_rsa, "RS256", "RS256", NULL, NULL, claims()), TG_JWT_KID_MISSING);
	expect(mint(k_rsa, "RS256", "RS256", "", NULL, claims()), TG_JWT_KID_MISSING);
}

static void
test_crit(void **state)
{
	char *tok = tsign(k_rsa, "RS256",
			  "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"b64\"],\"b64\":false}",
			  "{}");

	(void)state;
	expect(tok, TG_JWT_CRIT);
}

static void
test_malformed(void **state)
{
	struct tg_jwt_identity id;

	(void)state;
	expect(strdup("abc"), TG_JWT_MALFORMED);
	expect(strdup("a.b"), TG_JWT_MALFORMED);
	expect(strdup("a.b.c.d"), TG_JWT_MALFORMED);
	expect(strdup(".b.c"), TG_JWT_MALFORMED);
	/* JWE compact form: five parts */
	expect(strdup("a.b.c.d.e"), TG_JWT_MALFORMED);
	/* padding and non-base64url characters are refused in the header */
	expect(strdup("eyJ=.e30.AAAA"), TG_JWT_HEADER);
	expect(strdup("ey+J.e30.AAAA"), TG_JWT_HEADER);
	assert_int_equal(tg_jwt_verify(v, keys, "", 0, NOW, &id), TG_JWT_MALFORMED);
}

static void
test_bad_json(void **state)
{
	(void)state;
	/* duplicate header members: which alg would win? */
	expect(tsign(k_rsa, "RS256", "{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"rsa1\"}", "{}"),
	       TG_JWT_HEADER);
	expect(tsign(k_rsa, "RS256", "[1]", "{}"), TG_JWT_HEADER);
	/* duplicate claims, validly signed */
	expect(tsign(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
		     "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"sub\":\"admin\"}"),
	       TG_JWT_PAYLOAD);
	expect(tsign(k_rsa, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "not json"),
	       TG_JWT_PAYLOAD);
}

static void
test_claims_malformed(void **state)
{
	json_t *c = claims();

	(void)state;
	json_object_del(c, "sub");
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_SUB);
	c = claims();
	json_object_set_new(c, "email", json_integer(7));
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_CLAIM);
	c = claims();
	json_object_set_new(c, "groups", json_pack("{s:s}", "a", "b"));
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_GROUPS);
	c = claims();
	json_object_set_new(c, "groups", json_pack("[s, i]", "a", 1));
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_GROUPS);
	c = claims();
	json_object_set_new(c, "nbf", json_string("soon"));
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_CLAIM);
}

static void
test_too_many_groups(void **state)
{
	json_t *c = claims(), *g = json_array();
	char name[16];
	int i;

	(void)state;
	for (i = 0; i <= TG_JWT_GROUPS_MAX; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		json_array_append_new(g, json_string(name));
	}
	json_object_set_new(c, "groups", g);
	expect(mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c), TG_JWT_GROUPS);
}

/* --- the cache --- */

static void
test_cache_hit(void **state)
{
	struct tg_jwt_identity id;
	struct tg_jwt_stats st;
	char *tok = mint(k_rsa, "RS256", "RS256", "rsa1", NULL, claims());

	(void)state;
	assert_int_equal(tg_jwt_verify(v, keys, tok, strlen(tok), NOW, &id), TG_JWT_OK);
	assert_false(id.cached);
	assert_int_equal(tg_jwt_verify(v, keys, tok, strlen(tok), NOW + 1, &id), TG_JWT_OK);
	assert_true(id.cached);
	assert_string_equal(id.sub, "alice");
	assert_int_equal(id.n_groups, 2);
	tg_jwt_stats(v, &st);
	assert_int_equal(st.cnt[TG_JWT_CNT_CACHE_HITS], 1);
	assert_int_equal(st.cnt[TG_JWT_CNT_VERIFIED], 2);
	/* at exp + skew the cached entry is dead and the token expired */
	assert_int_equal(tg_jwt_verify(v, keys, tok, strlen(tok), NOW + 660, &id), TG_JWT_EXPIRED);
	tg_jwt_stats(v, &st);
	assert_int_equal(st.cnt[TG_JWT_CNT_CACHE_EXPIRED], 1);
	assert_int_equal(st.refused_by[TG_JWT_EXPIRED], 1);
	free(tok);
}

static void
test_cache_key_gone(void **state)
{
	struct tg_jwt_identity id;
	struct tg_jwt_stats st;
	struct tg_jwks *other;
	char *tok = mint(k_ec, "ES256", "ES256", "ec1", NULL, claims());
	const char *empty = "{\"keys\":[]}";

	(void)state;
	assert_int_equal(tg_jwt_verify(v, keys, tok, strlen(tok), NOW, &id), TG_JWT_OK);
	assert_int_equal(tg_jwks_parse(empty, strlen(empty), &other, NULL, 0), 0);
	/* the issuer dropped every key: the cached token is not honoured */
	assert_int_equal(tg_jwt_verify(v, other, tok, strlen(tok), NOW, &id), TG_JWT_NO_KEYS);
	tg_jwt_stats(v, &st);
	assert_int_equal(st.cnt[TG_JWT_CNT_CACHE_STALE_KEY], 1);
	tg_jwks_free(other);
	free(tok);
}

static void
test_cache_lru(void **state)
{
	struct tg_jwt_identity id;
	struct tg_jwt_stats st;
	char *tok[6];
	int i;

	(void)state;
	/* the verifier's cache holds 4 (setup) */
	for (i = 0; i < 6; i++) {
		json_t *c = claims();

		json_object_set_new(c, "jti", json_sprintf("j%d", i));
		tok[i] = mint(k_ed, "EdDSA", "EdDSA", "ed1", NULL, c);
		assert_int_equal(tg_jwt_verify(v, keys, tok[i], strlen(tok[i]), NOW, &id),
				 TG_JWT_OK);
	}
	tg_jwt_stats(v, &st);
	assert_int_equal(st.cnt[TG_JWT_CNT_CACHE_EVICTED], 2);
	/* the two oldest were evicted, the newest is there */
	assert_int_equal(tg_jwt_verify(v, keys, tok[5], strlen(tok[5]), NOW, &id), TG_JWT_OK);
	assert_true(id.cached);
	assert_int_equal(tg_jwt_verify(v, keys, tok[0], strlen(tok[0]), NOW, &id), TG_JWT_OK);
	assert_false(id.cached);
	for (i = 0; i < 6; i++)
		free(tok[i]);
}

static void
test_config(void **state)
{
	struct tg_jwt_cfg cfg = { .issuer = ISS, .audience = AUD, .skew_s = 61 };
	char err[128];

	(void)state;
	assert_null(tg_jwt_new(&cfg, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	cfg.skew_s = 60;
	cfg.groups_claim = "a..b";
	assert_null(tg_jwt_new(&cfg, err, sizeof(err)));
	cfg.groups_claim = NULL;
	cfg.audience = NULL;
	assert_null(tg_jwt_new(&cfg, err, sizeof(err)));
	assert_string_equal(tg_jwt_reason_name(TG_JWT_EXPIRED), "expired");
	assert_string_equal(tg_jwt_reason_text(TG_JWT_ALG_NONE),
			    "unsigned token (alg none) refused");
	assert_string_equal(tg_jwt_reason_name(TG_JWT_REASON_MAX), "?");
}

static void
test_token_dup(void **state)
{
	char *c = tg_jwt_token_dup("a.b.c", 5);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c, "a.b.c");
	tg_jwt_token_free(c, 5);
	assert_null(tg_jwt_token_dup("x", TG_JWT_TOKEN_MAX + 1));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rs256),
		T(test_ps256),
		T(test_es256),
		T(test_eddsa),
		T(test_token_hash),
		T(test_aud_array),
		T(test_groups_path),
		T(test_groups_array_path),
		T(test_typ_accepted),
		T(test_access_token_rules),
		T(test_skew_edges),
		T(test_alg_none),
		T(test_hs256_pubkey),
		T(test_alg_unsupported),
		T(test_alg_not_allowed),
		T(test_expired),
		T(test_exp_missing),
		T(test_nbf_future),
		T(test_iat_future),
		T(test_too_old),
		T(test_wrong_iss),
		T(test_wrong_aud),
		T(test_azp),
		T(test_unknown_kid),
		T(test_no_keys),
		T(test_bad_signature),
		T(test_tampered_payload),
		T(test_weak_key),
		T(test_key_mismatch),
		T(test_typ_wrong),
		T(test_kid_missing),
		T(test_crit),
		T(test_malformed),
		T(test_bad_json),
		T(test_claims_malformed),
		T(test_too_many_groups),
		T(test_cache_hit),
		T(test_cache_key_gone),
		T(test_cache_lru),
		T(test_config),
		T(test_token_dup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
