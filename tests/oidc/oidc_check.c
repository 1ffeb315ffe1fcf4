/* SPDX-License-Identifier: MIT */
/*
 * oidc_check.c — the client side of tests/oidc/run: tollgate's OIDC
 * verification (slowpath/jwt.h, jwks.h, jwks_fetch.h) against a real
 * OpenID provider (tests/oidc/provider/provider.mjs, npm oidc-provider),
 * and against tokens of tools/mint-token. Prints "ok - NAME" or
 * "not ok - NAME # why" per case; exits 1 if any failed.
 *
 *   oidc-check provider ISSUER CA.pem OTHER-CA.pem
 *	discovery and JWKS over HTTPS, a token of each algorithm, refusals,
 *	key rotation picked up by the unknown-kid refetch driven from an
 *	epoll loop (as slowpath/main.c does), a refetch storm held to one
 *	transfer and then by the cooldown, the last good set kept while the
 *	JWKS fails, an untrusted CA and a discovery issuer mismatch refused.
 *
 *   oidc-check mint JWKS.json ISSUER AUDIENCE NOW < CASES
 *	CASES has lines "REASON NAME TOKEN": TOKEN verified at NOW with the
 *	key set of JWKS.json must give REASON (a tg_jwt_reason_name()).
 *
 * Tokens and test controls are fetched with libcurl's blocking easy
 * interface: this is a test program, not the slowpath.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "jwks.h"
#include "jwks_fetch.h"
#include "jwt.h"

#define CLIENT "tollgate-test:tollgate-secret"
#define COOLDOWN_S 10 /* TG_JWKS_COOLDOWN_MIN: the shortest allowed */

static int failed;
static const char *issuer, *ca_file;

static void
report(bool ok, const char *name, const char *why)
{
	if (ok) {
		printf("ok - %s\n", name);
	} else {
		printf("not ok - %s # %s\n", name, why != NULL ? why : "");
		failed = 1;
	}
	fflush(stdout);
}

struct body {
	char buf[65536];
	size_t len;
};

static size_t
collect(char *data, size_t size, size_t nmemb, void *userp)
{
	struct body *b = userp;
	size_t n = size * nmemb;

	if (n >= sizeof(b->buf) - b->len)
		return 0;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* POST form to issuer + path; the body into b. Returns the HTTP status or -1. */
static long
post(const char *path, const char *form, struct body *b)
{
	char url[512];
	CURL *e = curl_easy_init();
	long status = -1;

	snprintf(url, sizeof(url), "%s%s", issuer, path);
	b->len = 0;
	b->buf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(e, CURLOPT_USERPWD, CLIENT);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	return status;
}

/* An access token for resource urn:tollgate:<alg> (client_credentials); NULL on failure. */
static char *
get_token(const char *alg)
{
	struct body *b = malloc(sizeof(*b));
	char form[256];
	json_t *root;
	char *tok = NULL;

	snprintf(form, sizeof(form),
		 "grant_type=client_credentials&scope=db&resource=urn:tollgate:%s", alg);
	if (post("/token", form, b) == 200) {
		root = json_loads(b->buf, 0, NULL);
		if (json_is_string(json_object_get(root, "access_token")))
			tok = strdup(json_string_value(json_object_get(root, "access_token")));
		json_decref(root);
	}
	if (tok == NULL)
		fprintf(stderr, "oidc-check: token for %s: %s\n", alg, b->buf);
	free(b);
	return tok;
}

static bool
control(const char *what)
{
	struct body *b = malloc(sizeof(*b));
	char path[64];
	long st;

	snprintf(path, sizeof(path), "/_test/%s", what);
	st = post(path, "", b);
	free(b);
	return st == 200 || st == 204;
}

static struct tg_jwt *
verifier(const char *iss, const char *aud)
{
	struct tg_jwt_cfg cfg = { .issuer = iss, .audience = aud, .skew_s = 30 };
	char err[160];
	struct tg_jwt *v = tg_jwt_new(&cfg, err, sizeof(err));

	if (v == NULL) {
		fprintf(stderr, "oidc-check: %s\n", err);
		exit(2);
	}
	return v;
}

static int updates;

static void
on_update(void *arg, int rc)
{
	(void)arg;
	(void)rc;
	updates++;
}

/* Waits in an epoll loop, as slowpath/main.c would, until a fetch reports. */
static bool
loop_until_update(struct tg_jwks_fetch *f, int timeout_ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC), before = updates, n;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	epoll_ctl(ep, EPOLL_CTL_ADD, tg_jwks_fetch_fd(f), &ev);
	while (updates == before) {
		long spent;

		clock_gettime(CLOCK_MONOTONIC, &t);
		spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			break;
		n = epoll_wait(ep, &ev, 1, (int)(timeout_ms - spent));
		if (n > 0)
			tg_jwks_fetch_on_ready(f);
	}
	close(ep);
	return updates != before;
}

static uint64_t
cnt(struct tg_jwks_fetch *f, enum tg_jwks_fetch_counter c)
{
	struct tg_jwks_fetch_stats st;

	tg_jwks_fetch_stats(f, &st);
	return st.cnt[c];
}

static enum tg_jwt_reason
verify(struct tg_jwt *v, struct tg_jwks_fetch *f, const char *tok, struct tg_jwt_identity *id)
{
	return tg_jwt_verify(v, tg_jwks_fetch_keys(f), tok, strlen(tok), time(NULL), id);
}

static void
check_alg(struct tg_jwks_fetch *f, const char *alg, const char *name, const char *kid_prefix)
{
	char aud[64], why[640], test[64];
	struct tg_jwt_identity id;
	struct tg_jwt *v;
	enum tg_jwt_reason r;
	char *tok = get_token(alg);

	snprintf(test, sizeof(test), "verify_%s", alg);
	if (tok == NULL) {
		report(false, test, "no token from the provider");
		return;
	}
	snprintf(aud, sizeof(aud), "urn:tollgate:%s", alg);
	v = verifier(issuer, aud);
	r = verify(v, f, tok, &id);
	snprintf(why, sizeof(why), "reason %s alg %s kid %s sub %s groups %u",
		 tg_jwt_reason_name(r), tg_jws_alg_name(id.alg), id.kid, id.sub, id.n_groups);
	report(r == TG_JWT_OK && strcmp(tg_jws_alg_name(id.alg), name) == 0 &&
		       strncmp(id.kid, kid_prefix, strlen(kid_prefix)) == 0 &&
		       strcmp(id.sub, "tollgate-test") == 0 && id.access_token &&
		       strcmp(id.client_id, "tollgate-test") == 0 && strcmp(id.iss, issuer) == 0 &&
		       id.n_groups == 2 && strcmp(id.groups[0], "dba") == 0 &&
		       strcmp(id.groups[1], "readers") == 0 && id.jti[0] != '\0' &&
		       id.exp > time(NULL),
	       test, why);
	tg_jwt_free(v);
	free(tok);
}

static int
run_provider(const char *other_ca)
{
	struct tg_jwks_fetch_cfg cfg = {
		.issuer = issuer,
		.ca_file = ca_file,
		.cooldown_s = COOLDOWN_S,
		.min_age_s = 300,
		.timeout_ms = 10000,
		.on_update = on_update,
	};
	struct tg_jwt_identity id;
	struct tg_jwks_fetch *f, *g;
	struct tg_jwt *v, *wrong;
	enum tg_jwt_reason r;
	char err[256], why[512], issx[512];
	char *tok, *tok2, *forged;
	uint64_t http0, joined0, cool0;
	int rc, i, n_inprogress, n_again;

	f = tg_jwks_fetch_new(&cfg, err, sizeof(err));
	if (f == NULL) {
		report(false, "fetcher", err);
		return 1;
	}

	/* 1. discovery, then the JWKS it names */
	rc = tg_jwks_fetch_sync(f, 15000);
	snprintf(why, sizeof(why), "rc %d keys %u: %s", rc, tg_jwks_count(tg_jwks_fetch_keys(f)),
		 tg_jwks_fetch_error(f));
	report(rc == 0 && tg_jwks_count(tg_jwks_fetch_keys(f)) == 3 &&
		       cnt(f, TG_JWKS_FETCH_DISCOVERIES) == 1,
	       "discovery_fetch", why);

	/* 2. a token of each algorithm, signed by the provider's keys */
	check_alg(f, "rs256", "RS256", "rsa-");
	check_alg(f, "ps256", "PS256", "rsa-");
	check_alg(f, "es256", "ES256", "ec-");
	check_alg(f, "eddsa", "EdDSA", "ed-");

	/* 3. the cache, and refusals of real tokens */
	v = verifier(issuer, "urn:tollgate:es256");
	tok = get_token("es256");
	tok2 = get_token("rs256");
	if (tok == NULL || tok2 == NULL) {
		report(false, "tokens", "no token from the provider");
		return 1;
	}
	r = verify(v, f, tok, &id);
	r = r == TG_JWT_OK ? verify(v, f, tok, &id) : r;
	report(r == TG_JWT_OK && id.cached, "cache_hit", tg_jwt_reason_name(r));
	wrong = verifier(issuer, "urn:tollgate:rs256");
	r = verify(wrong, f, tok, &id);
	report(r == TG_JWT_AUD, "refuse_wrong_audience", tg_jwt_reason_name(r));
	tg_jwt_free(wrong);
	snprintf(issx, sizeof(issx), "%s/other", issuer);
	wrong = verifier(issx, "urn:tollgate:es256");
	r = verify(wrong, f, tok, &id);
	report(r == TG_JWT_ISS, "refuse_wrong_issuer", tg_jwt_reason_name(r));
	tg_jwt_free(wrong);
	/* the ES256 token's header and signature around the RS256 token's payload */
	forged = malloc(strlen(tok) + strlen(tok2) + 1);
	{
		const char *p1 = strchr(tok2, '.'), *p2 = strrchr(tok2, '.');

		snprintf(forged, strlen(tok) + strlen(tok2) + 1, "%.*s%.*s%s",
			 (int)(strchr(tok, '.') - tok), tok, (int)(p2 - p1), p1, strrchr(tok, '.'));
	}
	r = verify(v, f, forged, &id);
	report(r == TG_JWT_SIGNATURE, "refuse_tampered_payload", tg_jwt_reason_name(r));
	free(forged);
	free(tok);
	free(tok2);

	/* 4. key rotation: a token under a new kid; one refetch, from the event loop */
	http0 = cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS);
	tok = control("rotate") ? get_token("es256") : NULL;
	if (tok == NULL) {
		report(false, "rotation_refetch", "rotation or token failed");
		return 1;
	}
	r = verify(v, f, tok, &id);
	rc = r == TG_JWT_KID_UNKNOWN ? tg_jwks_fetch_want_kid(f, id.kid) : 0;
	snprintf(why, sizeof(why), "first %s kid %s want_kid %d", tg_jwt_reason_name(r), id.kid,
		 rc);
	if (r != TG_JWT_KID_UNKNOWN || rc != -EINPROGRESS || !loop_until_update(f, 10000)) {
		report(false, "rotation_refetch", why);
	} else {
		r = verify(v, f, tok, &id);
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
			 "; then %s kid %s, %u keys, %llu transfers", tg_jwt_reason_name(r), id.kid,
			 tg_jwks_count(tg_jwks_fetch_keys(f)),
			 (unsigned long long)(cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) - http0));
		report(r == TG_JWT_OK && strcmp(id.kid, "ec-2") == 0 &&
			       tg_jwks_count(tg_jwks_fetch_keys(f)) == 6 &&
			       cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) - http0 == 1 &&
			       cnt(f, TG_JWKS_FETCH_KID_REFETCH) == 1,
		       "rotation_refetch", why);
	}
	free(tok);

	/* 5. a storm of unknown-kid asks while one fetch is in flight: one transfer */
	sleep(COOLDOWN_S + 1); /* past the cooldown of the rotation's refetch */
	tok = control("rotate") ? get_token("eddsa") : NULL;
	tg_jwt_free(v);
	v = verifier(issuer, "urn:tollgate:eddsa");
	http0 = cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS);
	joined0 = cnt(f, TG_JWKS_FETCH_KID_JOINED);
	n_inprogress = 0;
	r = tok != NULL ? verify(v, f, tok, &id) : TG_JWT_INTERNAL;
	for (i = 0; r == TG_JWT_KID_UNKNOWN && i < 200; i++)
		n_inprogress += tg_jwks_fetch_want_kid(f, id.kid) == -EINPROGRESS;
	loop_until_update(f, 10000);
	r = tok != NULL ? verify(v, f, tok, &id) : TG_JWT_INTERNAL;
	snprintf(why, sizeof(why), "%d of 200 in progress, %llu joined, %llu transfers, then %s",
		 n_inprogress, (unsigned long long)(cnt(f, TG_JWKS_FETCH_KID_JOINED) - joined0),
		 (unsigned long long)(cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) - http0),
		 tg_jwt_reason_name(r));
	report(n_inprogress == 200 && cnt(f, TG_JWKS_FETCH_KID_JOINED) - joined0 == 199 &&
		       cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) - http0 == 1 && r == TG_JWT_OK &&
		       strcmp(id.kid, "ed-3") == 0,
	       "storm_single_flight", why);
	free(tok);

	/* 6. then random kids: refused by the cooldown, no transfer at all */
	http0 = cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS);
	cool0 = cnt(f, TG_JWKS_FETCH_KID_COOLDOWN);
	n_again = 0;
	for (i = 0; i < 200; i++) {
		char kid[32];

		snprintf(kid, sizeof(kid), "bogus-%d", i);
		n_again += tg_jwks_fetch_want_kid(f, kid) == -EAGAIN;
	}
	snprintf(why, sizeof(why), "%d of 200 refused, %llu transfers", n_again,
		 (unsigned long long)(cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) - http0));
	report(n_again == 200 && cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) == http0 &&
		       cnt(f, TG_JWKS_FETCH_KID_COOLDOWN) - cool0 == 200,
	       "storm_cooldown", why);
	/* after the cooldown, one more refetch is allowed */
	sleep(COOLDOWN_S + 1);
	rc = tg_jwks_fetch_want_kid(f, "bogus-again");
	loop_until_update(f, 10000);
	snprintf(why, sizeof(why), "want_kid %d, %llu transfers", rc,
		 (unsigned long long)(cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) - http0));
	report(rc == -EINPROGRESS && cnt(f, TG_JWKS_FETCH_HTTP_REQUESTS) - http0 == 1,
	       "cooldown_expires", why);

	/* 7. the JWKS endpoint fails: the last good set stays and serves */
	tok = get_token("eddsa");
	if (tok == NULL || !control("break")) {
		report(false, "keep_last_good", "token or break failed");
	} else {
		rc = tg_jwks_fetch_sync(f, 10000);
		tg_jwt_cache_flush(v);
		r = verify(v, f, tok, &id);
		snprintf(why, sizeof(why), "fetch %d (%s), %u keys, verify %s", rc,
			 tg_jwks_fetch_error(f), tg_jwks_count(tg_jwks_fetch_keys(f)),
			 tg_jwt_reason_name(r));
		report(rc == -EIO && tg_jwks_count(tg_jwks_fetch_keys(f)) == 9 && r == TG_JWT_OK,
		       "keep_last_good", why);
		control("repair");
		/* the discovered jwks_uri is re-discovered after a failure */
		http0 = cnt(f, TG_JWKS_FETCH_DISCOVERIES);
		rc = tg_jwks_fetch_sync(f, 10000);
		report(rc == 0 && cnt(f, TG_JWKS_FETCH_DISCOVERIES) == http0 + 1,
		       "recover_after_failure", tg_jwks_fetch_error(f));
	}
	free(tok);
	tg_jwt_free(v);
	tg_jwks_fetch_free(f);

	/* 8. a server certificate from a CA we do not trust */
	cfg.ca_file = other_ca;
	g = tg_jwks_fetch_new(&cfg, err, sizeof(err));
	rc = g != NULL ? tg_jwks_fetch_sync(g, 10000) : -ENOMEM;
	snprintf(why, sizeof(why), "rc %d: %s", rc, g != NULL ? tg_jwks_fetch_error(g) : err);
	report(rc == -EIO && g != NULL && tg_jwks_fetch_keys(g) == NULL, "untrusted_ca_refused",
	       why);
	tg_jwks_fetch_free(g);

	/* 9. discovery naming another issuer (here: ours plus a slash) */
	cfg.ca_file = ca_file;
	snprintf(issx, sizeof(issx), "%s/", issuer);
	cfg.issuer = issx;
	g = tg_jwks_fetch_new(&cfg, err, sizeof(err));
	rc = g != NULL ? tg_jwks_fetch_sync(g, 10000) : -ENOMEM;
	snprintf(why, sizeof(why), "rc %d: %s", rc, g != NULL ? tg_jwks_fetch_error(g) : err);
	report(rc == -EINVAL && strstr(why, "issuer") != NULL, "discovery_issuer_mismatch", why);
	tg_jwks_fetch_free(g);
	return failed;
}

static int
run_mint(const char *jwks_file, const char *aud, long long now)
{
	struct tg_jwks *keys;
	struct tg_jwt *v;
	struct tg_jwt_identity id;
	char err[256], line[20000], name[128], want[64], test[160];
	int cases = 0;

	if (tg_jwks_load_file(jwks_file, &keys, err, sizeof(err)) != 0) {
		report(false, "mint/jwks", err);
		return 1;
	}
	v = verifier(issuer, aud);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *tok;
		enum tg_jwt_reason r;
		int off = 0;

		if (sscanf(line, "%63s %127s %n", want, name, &off) != 2 || off == 0)
			continue;
		tok = line + off;
		tok[strcspn(tok, "\r\n")] = '\0';
		r = tg_jwt_verify(v, keys, tok, strlen(tok), now, &id);
		snprintf(test, sizeof(test), "mint/%s", name);
		snprintf(err, sizeof(err), "got %s, want %s", tg_jwt_reason_name(r), want);
		report(strcmp(tg_jwt_reason_name(r), want) == 0, test, err);
		cases++;
	}
	report(cases > 0, "mint/cases", "no cases on stdin");
	tg_jwt_free(v);
	tg_jwks_free(keys);
	return failed;
}

int
main(int argc, char **argv)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc == 5 && strcmp(argv[1], "provider") == 0) {
		issuer = argv[2];
		ca_file = argv[3];
		rc = run_provider(argv[4]);
	} else if (argc == 6 && strcmp(argv[1], "mint") == 0) {
		issuer = argv[3];
		rc = run_mint(argv[2], argv[4], atoll(argv[5]));
	} else {
		fprintf(stderr, "usage: oidc-check provider ISSUER CA.pem OTHER-CA.pem\n"
				"       oidc-check mint JWKS.json ISSUER AUDIENCE NOW < CASES\n");
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
