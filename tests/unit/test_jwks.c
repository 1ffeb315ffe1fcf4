/* SPDX-License-Identifier: MIT */
/*
 * test_jwks.c — unit tests of the key side of OIDC verification:
 * strict base64url (slowpath/b64url.c), JWK Sets as keys and the rules
 * binding keys to algorithms (jwks.c), the verified-token cache on its
 * own (jwt_cache.c), and the HTTPS fetcher's configuration, Cache-Control
 * policy, failure handling and unknown-kid single flight and cooldown
 * (jwks_fetch.c) against a closed loopback port. A fetch from a real
 * provider is tests/oidc/run.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "b64url.h"
#include "jwks.h"
#include "jwks_fetch.h"
#include "jwt.h"
#include "jwt_cache.h"
#include "tjwt.h"

static EVP_PKEY *k_rsa, *k_weak, *k_ec, *k_ed;

static int
group_setup(void **state)
{
	k_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k_weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	k_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	(void)state;
	return k_rsa && k_weak && k_ec && k_ed ? 0 : -1;
}

static int
group_teardown(void **state)
{
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_weak);
	EVP_PKEY_free(k_ec);
	EVP_PKEY_free(k_ed);
	(void)state;
	return 0;
}

/* Parses {"keys": [the given JWKs]} (consumed); asserts success. */
static struct tg_jwks *
parse_keys(json_t *arr)
{
	json_t *set = json_pack("{s:o}", "keys", arr);
	char *txt = json_dumps(set, JSON_COMPACT);
	struct tg_jwks *k = NULL;
	char err[160];

	assert_int_equal(tg_jwks_parse(txt, strlen(txt), &k, err, sizeof(err)), 0);
	free(txt);
	json_decref(set);
	return k;
}

static int
parse_text(const char *txt, char *err, size_t errlen)
{
	struct tg_jwks *k = NULL;
	int rc = tg_jwks_parse(txt, strlen(txt), &k, err, errlen);

	tg_jwks_free(k);
	return rc;
}

/* --- b64url --- */

static void
test_b64url(void **state)
{
	uint8_t out[16];

	(void)state;
	/* "Man" -> TWFu, "Ma" -> TWE, "M" -> TQ (RFC 4648 §9-10, unpadded) */
	assert_int_equal(tg_b64url_decode("TWFu", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "Man", 3);
	assert_int_equal(tg_b64url_decode("TWE", 3, out, sizeof(out)), 2);
	assert_int_equal(tg_b64url_decode("TQ", 2, out, sizeof(out)), 1);
	assert_int_equal(tg_b64url_decode("", 0, out, sizeof(out)), 0);
	/* URL-safe alphabet: 0xfb 0xff -> "-_8" */
	assert_int_equal(tg_b64url_decode("-_8", 3, out, sizeof(out)), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	/* refused: padding, the standard alphabet, a lone char, non-zero pad bits */
	assert_int_equal(tg_b64url_decode("TQ==", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(tg_b64url_decode("+/8", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(tg_b64url_decode("TWFuT", 5, out, sizeof(out)), -EINVAL);
	assert_int_equal(tg_b64url_decode("TR", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(tg_b64url_decode("TW\0u", 4, out, sizeof(out)), -EINVAL);
	/* the output cap */
	assert_int_equal(tg_b64url_decode("TWFu", 4, out, 2), -ENOSPC);
}

/* --- JWK Sets --- */

static void
test_parse_kinds(void **state)
{
	json_t *arr = json_array();
	struct tg_jwks *k;
	const struct tg_jwk *key;

	(void)state;
	json_array_append_new(arr, tjwk(k_rsa, "r"));
	json_array_append_new(arr, tjwk(k_ec, "e"));
	json_array_append_new(arr, tjwk(k_ed, "d"));
	k = parse_keys(arr);
	assert_int_equal(tg_jwks_count(k), 3);
	assert_int_equal(tg_jwks_lookup(k, "r", TG_JWS_RS256, &key), TG_JWKS_FOUND);
	assert_int_equal(key->type, TG_JWK_RSA);
	assert_int_equal(key->bits, 2048);
	assert_int_equal(tg_jwks_lookup(k, "r", TG_JWS_PS256, &key), TG_JWKS_FOUND);
	assert_int_equal(tg_jwks_lookup(k, "e", TG_JWS_ES256, &key), TG_JWKS_FOUND);
	assert_int_equal(key->type, TG_JWK_EC_P256);
	assert_int_equal(tg_jwks_lookup(k, "d", TG_JWS_EDDSA, &key), TG_JWKS_FOUND);
	assert_int_equal(key->type, TG_JWK_ED25519);
	/* cross-type lookups are mismatches, whatever the token says */
	assert_int_equal(tg_jwks_lookup(k, "r", TG_JWS_ES256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "e", TG_JWS_RS256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "d", TG_JWS_ES256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "x", TG_JWS_RS256, &key), TG_JWKS_NO_KID);
	assert_null(key);
	assert_true(tg_jwks_has_kid(k, "e"));
	assert_false(tg_jwks_has_kid(k, "E"));
	tg_jwks_free(k);
}

static void
test_weak_rsa(void **state)
{
	json_t *arr = json_array();
	struct tg_jwks *k;
	const struct tg_jwk *key;

	(void)state;
	json_array_append_new(arr, tjwk(k_weak, "weak"));
	json_array_append_new(arr, tjwk(k_rsa, "ok"));
	k = parse_keys(arr);
	/* the weak key is kept, refused; its neighbour still serves */
	assert_int_equal(tg_jwks_count(k), 2);
	assert_int_equal(tg_jwks_lookup(k, "weak", TG_JWS_RS256, &key), TG_JWKS_WEAK);
	assert_null(key);
	assert_int_equal(tg_jwks_key(k, 0)->state, TG_JWKS_WEAK);
	assert_null(tg_jwks_key(k, 0)->pkey);
	assert_int_equal(tg_jwks_lookup(k, "ok", TG_JWS_RS256, &key), TG_JWKS_FOUND);
	tg_jwks_free(k);
}

static void
test_member_rules(void **state)
{
	json_t *arr = json_array(), *j;
	struct tg_jwks *k;
	const struct tg_jwk *key;

	(void)state;
	/* alg narrows: this RSA key is PS256 only */
	j = tjwk(k_rsa, "ps");
	json_object_set_new(j, "alg", json_string("PS256"));
	json_array_append_new(arr, j);
	/* use "enc": not a signing key */
	j = tjwk(k_rsa, "enc");
	json_object_set_new(j, "use", json_string("enc"));
	json_array_append_new(arr, j);
	/* key_ops without verify */
	j = tjwk(k_ec, "ops");
	json_object_set_new(j, "key_ops", json_pack("[s]", "encrypt"));
	json_array_append_new(arr, j);
	/* an unknown JWK alg empties the list */
	j = tjwk(k_ec, "es384");
	json_object_set_new(j, "alg", json_string("ES384"));
	json_array_append_new(arr, j);
	/* kty oct: never a verification key */
	json_array_append_new(
		arr, json_pack("{s:s,s:s,s:s}", "kty", "oct", "kid", "hmac", "k", "c2VjcmV0"));
	/* P-384: not supported */
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC", "crv", "P-384",
					     "kid", "p384", "x", "AA", "y", "AA"));
	/* no kid: skipped */
	j = tjwk(k_ed, "x");
	json_object_del(j, "kid");
	json_array_append_new(arr, j);
	/* not an object: skipped */
	json_array_append_new(arr, json_integer(1));
	k = parse_keys(arr);
	assert_int_equal(tg_jwks_count(k), 6);
	assert_int_equal(tg_jwks_skipped(k), 2);
	assert_int_equal(tg_jwks_lookup(k, "ps", TG_JWS_RS256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "ps", TG_JWS_PS256, &key), TG_JWKS_FOUND);
	assert_int_equal(tg_jwks_lookup(k, "enc", TG_JWS_RS256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "ops", TG_JWS_ES256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "es384", TG_JWS_ES256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "hmac", TG_JWS_RS256, &key), TG_JWKS_MISMATCH);
	assert_int_equal(tg_jwks_lookup(k, "p384", TG_JWS_ES256, &key), TG_JWKS_MISMATCH);
	tg_jwks_free(k);
}

static void
test_unusable(void **state)
{
	json_t *arr = json_array(), *j;
	struct tg_jwks *k;
	const struct tg_jwk *key;
	char *x;
	uint8_t pt[32];

	(void)state;
	/* a P-256 point off the curve: y changed */
	j = tjwk(k_ec, "offcurve");
	memset(pt, 0x11, sizeof(pt));
	x = tb64u(pt, sizeof(pt));
	json_object_set_new(j, "y", json_string(x));
	free(x);
	json_array_append_new(arr, j);
	/* x of the wrong length (RFC 7518 §6.2.1.2: full length) */
	j = tjwk(k_ec, "short");
	json_object_set_new(j, "x", json_string("AAAA"));
	json_array_append_new(arr, j);
	/* n not base64url */
	j = tjwk(k_rsa, "badn");
	json_object_set_new(j, "n", json_string("!!!!"));
	json_array_append_new(arr, j);
	/* an even exponent */
	j = tjwk(k_rsa, "bade");
	json_object_set_new(j, "e", json_string("Ag"));
	json_array_append_new(arr, j);
	/* an Ed25519 x of 31 bytes */
	j = tjwk(k_ed, "ed31");
	memset(pt, 1, sizeof(pt));
	x = tb64u(pt, 31);
	json_object_set_new(j, "x", json_string(x));
	free(x);
	json_array_append_new(arr, j);
	k = parse_keys(arr);
	assert_int_equal(tg_jwks_lookup(k, "offcurve", TG_JWS_ES256, &key), TG_JWKS_UNUSABLE);
	assert_int_equal(tg_jwks_lookup(k, "short", TG_JWS_ES256, &key), TG_JWKS_UNUSABLE);
	assert_int_equal(tg_jwks_lookup(k, "badn", TG_JWS_RS256, &key), TG_JWKS_UNUSABLE);
	assert_int_equal(tg_jwks_lookup(k, "bade", TG_JWS_RS256, &key), TG_JWKS_UNUSABLE);
	assert_int_equal(tg_jwks_lookup(k, "ed31", TG_JWS_EDDSA, &key), TG_JWKS_UNUSABLE);
	tg_jwks_free(k);
}

static void
test_same_kid_two_types(void **state)
{
	json_t *arr = json_array();
	struct tg_jwks *k;
	const struct tg_jwk *key;

	(void)state;
	/* RFC 7517 §4.5 allows one kid for keys of different kty */
	json_array_append_new(arr, tjwk(k_rsa, "k"));
	json_array_append_new(arr, tjwk(k_ec, "k"));
	k = parse_keys(arr);
	assert_int_equal(tg_jwks_lookup(k, "k", TG_JWS_ES256, &key), TG_JWKS_FOUND);
	assert_int_equal(key->type, TG_JWK_EC_P256);
	assert_int_equal(tg_jwks_lookup(k, "k", TG_JWS_RS256, &key), TG_JWKS_FOUND);
	assert_int_equal(key->type, TG_JWK_RSA);
	tg_jwks_free(k);
}

static void
test_set_refused(void **state)
{
	char err[160], *big;
	size_t i, n;

	(void)state;
	assert_int_equal(parse_text("not json", err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_text("[]", err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_text("{\"keys\":{}}", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "keys"));
	assert_int_equal(parse_text("{\"keys\":[],\"keys\":[]}", err, sizeof(err)), -EINVAL);
	/* more than TG_JWKS_KEYS_MAX entries */
	n = 16 + (TG_JWKS_KEYS_MAX + 1) * 3;
	big = malloc(n);
	i = (size_t)snprintf(big, n, "{\"keys\":[");
	for (int j = 0; j <= TG_JWKS_KEYS_MAX; j++)
		i += (size_t)snprintf(big + i, n - i, "%s{}", j ? "," : "");
	snprintf(big + i, n - i, "]}");
	assert_int_equal(parse_text(big, err, sizeof(err)), -EINVAL);
	free(big);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/tg-test-jwks-XXXXXX";
	json_t *set = json_pack("{s:[o]}", "keys", tjwk(k_ed, "file-key"));
	struct tg_jwks *k = NULL;
	char err[160];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(json_dumpfd(set, fd, 0), 0);
	close(fd);
	assert_int_equal(tg_jwks_load_file(path, &k, err, sizeof(err)), 0);
	assert_true(tg_jwks_has_kid(k, "file-key"));
	tg_jwks_free(k);
	unlink(path);
	assert_int_equal(tg_jwks_load_file(path, &k, err, sizeof(err)), -ENOENT);
	assert_null(k);
	json_decref(set);
}

/* --- the verified-token cache alone --- */

static void
fake_id(struct tg_jwt_identity *id, uint8_t tag)
{
	memset(id, 0, sizeof(*id));
	memset(id->token_sha256, tag, sizeof(id->token_sha256));
	snprintf(id->sub, sizeof(id->sub), "user-%u", tag);
}

static void
test_cache(void **state)
{
	struct tg_jwt_cache *c = tg_jwt_cache_new(2);
	struct tg_jwt_identity a, b, x, out;

	(void)state;
	assert_null(tg_jwt_cache_new(0));
	assert_non_null(c);
	fake_id(&a, 1);
	fake_id(&b, 2);
	fake_id(&x, 3);
	assert_false(tg_jwt_cache_put(c, &a, 100));
	assert_false(tg_jwt_cache_put(c, &b, 100));
	/* touch a, so b is the least recently used */
	assert_int_equal(tg_jwt_cache_get(c, a.token_sha256, 10, &out), TG_JWT_CACHE_HIT);
	assert_string_equal(out.sub, "user-1");
	assert_true(tg_jwt_cache_put(c, &x, 50));
	assert_int_equal(tg_jwt_cache_get(c, b.token_sha256, 10, &out), TG_JWT_CACHE_MISS);
	assert_int_equal(tg_jwt_cache_get(c, x.token_sha256, 10, &out), TG_JWT_CACHE_HIT);
	/* until is exclusive */
	assert_int_equal(tg_jwt_cache_get(c, x.token_sha256, 50, &out), TG_JWT_CACHE_EXPIRED);
	assert_int_equal(tg_jwt_cache_count(c), 1);
	tg_jwt_cache_drop(c, a.token_sha256);
	assert_int_equal(tg_jwt_cache_count(c), 0);
	assert_false(tg_jwt_cache_put(c, &a, 100));
	tg_jwt_cache_clear(c);
	assert_int_equal(tg_jwt_cache_get(c, a.token_sha256, 10, &out), TG_JWT_CACHE_MISS);
	tg_jwt_cache_free(c);
}

/* --- the fetcher --- */

static void
test_cache_age(void **state)
{
	(void)state;
	assert_int_equal(tg_jwks_cache_age(NULL, 300, 86400), 300);
	assert_int_equal(tg_jwks_cache_age("public, max-age=3600", 300, 86400), 3600);
	assert_int_equal(tg_jwks_cache_age("MAX-AGE=7200, must-revalidate", 300, 86400), 7200);
	assert_int_equal(tg_jwks_cache_age("max-age=10", 300, 86400), 300);
	assert_int_equal(tg_jwks_cache_age("max-age=999999999", 300, 86400), 86400);
	assert_int_equal(tg_jwks_cache_age("max-age=99999999999999999999999", 300, 86400), 86400);
	assert_int_equal(tg_jwks_cache_age("no-cache, max-age=3600", 300, 86400), 300);
	assert_int_equal(tg_jwks_cache_age("no-store", 300, 86400), 300);
	assert_int_equal(tg_jwks_cache_age("max-age=", 300, 86400), 300);
	assert_int_equal(tg_jwks_cache_age("s-maxage=5000", 300, 86400), 300);
}

static void
test_fetch_config(void **state)
{
	struct tg_jwks_fetch_cfg cfg = { 0 };
	struct tg_jwks_fetch *f;
	char err[160];

	(void)state;
	assert_null(tg_jwks_fetch_new(&cfg, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	cfg.issuer = "http://127.0.0.1:1";
	assert_null(tg_jwks_fetch_new(&cfg, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	cfg.issuer = "https://127.0.0.1:1";
	cfg.min_age_s = 100;
	cfg.max_age_s = 10;
	assert_null(tg_jwks_fetch_new(&cfg, err, sizeof(err)));
	cfg.min_age_s = cfg.max_age_s = 0;
	/* a cooldown under 10 s would let random kids hammer the issuer */
	cfg.cooldown_s = TG_JWKS_COOLDOWN_MIN - 1;
	assert_null(tg_jwks_fetch_new(&cfg, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	cfg.cooldown_s = 0;
	f = tg_jwks_fetch_new(&cfg, err, sizeof(err));
	assert_non_null(f);
	assert_true(tg_jwks_fetch_fd(f) >= 0);
	assert_null(tg_jwks_fetch_keys(f));
	tg_jwks_fetch_free(f);
}

static int updates, last_update;

static void
on_update(void *arg, int rc)
{
	(void)arg;
	updates++;
	last_update = rc;
}

static void
test_fetch_failure_and_cooldown(void **state)
{
	/* port 1 on loopback: nothing listens, the connect is refused at once */
	struct tg_jwks_fetch_cfg cfg = {
		.issuer = "https://127.0.0.1:1",
		.cooldown_s = 3600,
		.timeout_ms = 2000,
		.on_update = on_update,
	};
	struct tg_jwks_fetch_stats st;
	struct tg_jwks_fetch *f = tg_jwks_fetch_new(&cfg, NULL, 0);

	(void)state;
	assert_non_null(f);
	updates = 0;
	/* the first ask for an unknown kid starts a fetch; others join it */
	assert_int_equal(tg_jwks_fetch_want_kid(f, "k1"), -EINPROGRESS);
	assert_int_equal(tg_jwks_fetch_want_kid(f, "k2"), -EINPROGRESS);
	assert_int_equal(tg_jwks_fetch_want_kid(f, "k3"), -EINPROGRESS);
	assert_int_equal(tg_jwks_fetch_wait(f, 5000), -EIO);
	assert_int_equal(updates, 1);
	assert_int_equal(last_update, -EIO);
	assert_non_null(strstr(tg_jwks_fetch_error(f), "127.0.0.1"));
	assert_null(tg_jwks_fetch_keys(f));
	/* within the cooldown, further asks are refused without a transfer */
	assert_int_equal(tg_jwks_fetch_want_kid(f, "k4"), -EAGAIN);
	assert_int_equal(tg_jwks_fetch_want_kid(f, "k5"), -EAGAIN);
	tg_jwks_fetch_stats(f, &st);
	assert_int_equal(st.cnt[TG_JWKS_FETCH_FETCHES], 1);
	assert_int_equal(st.cnt[TG_JWKS_FETCH_HTTP_REQUESTS], 1);
	assert_int_equal(st.cnt[TG_JWKS_FETCH_KID_REFETCH], 1);
	assert_int_equal(st.cnt[TG_JWKS_FETCH_KID_JOINED], 2);
	assert_int_equal(st.cnt[TG_JWKS_FETCH_KID_COOLDOWN], 2);
	assert_int_equal(st.cnt[TG_JWKS_FETCH_FETCH_FAILED], 1);
	assert_int_equal(st.last_rc, -EIO);
	assert_int_equal(st.age_s, -1);
	/* a plain sync fetch is not bound by the kid cooldown */
	assert_int_equal(tg_jwks_fetch_sync(f, 5000), -EIO);
	tg_jwks_fetch_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_parse_kinds),
		cmocka_unit_test(test_weak_rsa),
		cmocka_unit_test(test_member_rules),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_same_kid_two_types),
		cmocka_unit_test(test_set_refused),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_age),
		cmocka_unit_test(test_fetch_config),
		cmocka_unit_test(test_fetch_failure_and_cooldown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
