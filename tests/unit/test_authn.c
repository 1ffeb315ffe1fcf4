/* SPDX-License-Identifier: MIT */
/*
 * test_authn.c — unit tests of the identity takeover's logins
 * (slowpath/authn.c) with the real verifier (jwt.c, keys generated
 * here), identity map (idmap.c), credential store (credstore.c) and
 * upstream client (upstream_auth.c). The server's side is written out
 * as backend messages (trust, cleartext, ErrorResponse); SCRAM against
 * a real PostgreSQL is tests/slowpath/run's identity story.
 *
 * The callbacks record every reply and event; each case checks the
 * sequence of actions, SQLSTATEs and audit reasons.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authn.h"
#include "punt.h"
#include "tjwt.h"

#define NOW 1700000000LL
#define ISS "https://idp.example/realms/tg"
#define AUD "tollgate"

static EVP_PKEY *k1, *k2;
static struct tg_jwks *set1, *set12, *cur;
static int want_rc;
static unsigned int want_calls;

struct got_reply {
	uint8_t action;
	uint8_t data[2048];
	size_t len;
	char sqlstate[8], text[256], role[64];
};

struct got_event {
	enum tg_authn_event_kind kind;
	char reason[64], detail[512], sqlstate[8], server_sqlstate[8];
	char sub[TG_JWT_STR_MAX], sha[65], role[TG_AUTHN_NAME_MAX], rule_id[TG_AUTHN_NAME_MAX];
	bool verified;
};

static struct got_reply replies[16];
static unsigned int nreplies;
static struct got_event events[16];
static unsigned int nevents;
static struct tg_authn *a;

static const struct tg_jwks *
keys_cb(void *arg)
{
	(void)arg;
	return cur;
}

static int
want_cb(void *arg, const char *kid)
{
	(void)arg;
	(void)kid;
	want_calls++;
	return want_rc;
}

static void
reply_cb(void *arg, const struct tg_authn_reply *r)
{
	struct got_reply *g = &replies[nreplies++ % 16];

	(void)arg;
	memset(g, 0, sizeof(*g));
	g->action = r->action;
	assert_true(r->len <= sizeof(g->data));
	if (r->len)
		memcpy(g->data, r->data, r->len);
	g->len = r->len;
	snprintf(g->sqlstate, sizeof(g->sqlstate), "%s", r->sqlstate ? r->sqlstate : "");
	snprintf(g->text, sizeof(g->text), "%s", r->text ? r->text : "");
	snprintf(g->role, sizeof(g->role), "%s", r->role ? r->role : "");
}

static void
event_cb(void *arg, const struct tg_authn_event *e)
{
	struct got_event *g = &events[nevents++ % 16];

	(void)arg;
	memset(g, 0, sizeof(*g));
	g->kind = e->kind;
	snprintf(g->reason, sizeof(g->reason), "%s", e->reason);
	snprintf(g->detail, sizeof(g->detail), "%s", e->detail ? e->detail : "");
	snprintf(g->sqlstate, sizeof(g->sqlstate), "%s", e->sqlstate ? e->sqlstate : "");
	snprintf(g->server_sqlstate, sizeof(g->server_sqlstate), "%s",
		 e->server_sqlstate ? e->server_sqlstate : "");
	snprintf(g->sub, sizeof(g->sub), "%s", e->who->sub);
	snprintf(g->sha, sizeof(g->sha), "%s", e->who->token_sha256);
	snprintf(g->role, sizeof(g->role), "%s", e->who->role);
	snprintf(g->rule_id, sizeof(g->rule_id), "%s", e->who->rule_id);
	g->verified = e->who->verified;
}

static struct tg_jwks *
set_of(EVP_PKEY *x, const char *kx, EVP_PKEY *y, const char *ky)
{
	json_t *arr = json_array(), *set;
	struct tg_jwks *out = NULL;
	char *txt;

	json_array_append_new(arr, tjwk(x, kx));
	if (y != NULL)
		json_array_append_new(arr, tjwk(y, ky));
	set = json_pack("{s:o}", "keys", arr);
	txt = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	if (tg_jwks_parse(txt, strlen(txt), &out, NULL, 0) != 0)
		out = NULL;
	free(txt);
	return out;
}

static int
group_setup(void **state)
{
	(void)state;
	k1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (k1 == NULL || k2 == NULL)
		return -1;
	set1 = set_of(k1, "k1", NULL, NULL);
	set12 = set_of(k1, "k1", k2, "k2");
	return set1 != NULL && set12 != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	tg_jwks_free(set1);
	tg_jwks_free(set12);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	return 0;
}

static const char policy[] =
	"{\"identity\": {\"claim_groups\": [\"realm_access\", \"roles\"],\n"
	" \"services\": {\"pg-fatal\": {\"on_token_expiry\": \"fatal\"},\n"
	"  \"pg-jit\": {\"require_grant\": true, \"on_grant_expiry\": \"end\"},\n"
	"  \"pg-cont\": {\"require_grant\": true}},\n"
	" \"rules\": [\n"
	"  {\"id\": \"susp\", \"match\": {\"groups\": [\"suspended\"]}, \"deny\": \"suspended\"},\n"
	"  {\"id\": \"dba\", \"match\": {\"groups\": [\"dba\"]},\n"
	"   \"services\": [\"pg\", \"pg-fatal\", \"pg-clear\", \"pg-jit\", \"pg-cont\"],\n"
	"   \"role\": \"app_admin\"},\n"
	"  {\"id\": \"orphan\", \"match\": {\"groups\": [\"orphan\"]}, \"services\": [\"pg\"],\n"
	"   \"role\": \"no_cred_role\"}],\n"
	" \"default\": \"deny\"}}";

static const char creds[] =
	"{\"pg\": {\"app_admin\": {\"method\": \"trust\"}},\n"
	" \"pg-fatal\": {\"app_admin\": {\"method\": \"trust\"}},\n"
	" \"pg-jit\": {\"app_admin\": {\"method\": \"trust\"}},\n"
	" \"pg-cont\": {\"app_admin\": {\"method\": \"trust\"}},\n"
	" \"pg-clear\": {\"app_admin\": {\"method\": \"password\", \"password\": \"s3cret\"}}}";

static int
setup(void **state)
{
	static const char *const svcs[] = { "pg", "pg-fatal", "pg-clear", "pg-jit", "pg-cont" };
	struct tg_authn_cfg cfg = {
		.login_timeout_ms = 5000,
		.max_logins = 2,
		.max_sessions = 8,
		.keys = keys_cb,
		.want_kid = want_cb,
		.reply = reply_cb,
		.event = event_cb,
	};
	static const char *const path[] = { "realm_access", "roles" };
	struct tg_jwt_cfg jc = { .issuer = ISS,
				 .audience = AUD,
				 .skew_s = 0,
				 .groups_path = path,
				 .groups_path_len = 2 };
	struct tg_idmap *m = NULL;
	struct tg_credstore *cs = NULL;
	char err[256];

	(void)state;
	a = tg_authn_new(&cfg);
	assert_non_null(a);
	assert_int_equal(
		tg_idmap_parse(policy, strlen(policy), "policy", svcs, 5, &m, err, sizeof(err)), 0);
	assert_int_equal(tg_credstore_parse(creds, strlen(creds), "creds", &cs, err, sizeof(err)),
			 0);
	tg_authn_set_verifier(a, tg_jwt_new(&jc, err, sizeof(err)));
	assert_non_null(tg_authn_verifier(a));
	tg_authn_set_idmap(a, m);
	tg_authn_set_credstore(a, cs);
	cur = set1;
	want_rc = -EAGAIN;
	want_calls = 0;
	nreplies = nevents = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tg_authn_free(a);
	a = NULL;
	return 0;
}

/* A token signed by k1 (kid k1, RS256) for sub with groups; exp at NOW + exp_in. */
static char *
token(const char *sub, const char *groups_csv, int64_t exp_in)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:b}", "iss", ISS, "aud", AUD, "sub",
			      sub, "exp", (json_int_t)(NOW + exp_in), "iat", (json_int_t)(NOW - 5),
			      "email", "a@example.com", "email_verified", 1);
	json_t *g = json_array();
	char buf[128], *save = NULL, *t, *hs, *ps, *tok;

	snprintf(buf, sizeof(buf), "%s", groups_csv);
	for (t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		json_array_append_new(g, json_string(t));
	json_object_set_new(c, "realm_access", json_pack("{s:o}", "roles", g));
	hs = strdup("{\"alg\":\"RS256\",\"kid\":\"k1\"}");
	ps = json_dumps(c, JSON_COMPACT);
	tok = tsign(k1, "RS256", hs, ps);
	free(hs);
	free(ps);
	json_decref(c);
	return tok;
}

static char *
token_k2(const char *sub)
{
	char ps[256];

	snprintf(ps, sizeof(ps),
		 "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"%s\",\"exp\":%lld,"
		 "\"iat\":%lld,\"realm_access\":{\"roles\":[\"dba\"]}}",
		 sub, NOW + 600, NOW - 5);
	return tsign(k2, "ES256", "{\"alg\":\"ES256\",\"kid\":\"k2\"}", ps);
}

/* StartupMessage 3.0: user alice, database app, and extra (name\0value\0...) */
static size_t
startup(uint8_t *buf, const char *extra, size_t extra_len)
{
	static const char base[] = "user\0alice\0database\0app\0";
	size_t n = 8;

	memcpy(buf + n, base, sizeof(base) - 1);
	n += sizeof(base) - 1;
	memcpy(buf + n, extra, extra_len);
	n += extra_len;
	buf[n++] = 0;
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	buf[4] = 0, buf[5] = 3, buf[6] = 0, buf[7] = 0; /* 196608: protocol 3.0 */
	return n;
}

static void
request_at(uint64_t session, const char *service, const char *tok, uint64_t now_ms, int64_t now_s)
{
	uint8_t su[256];
	struct tg_authn_request r = {
		.worker = 1,
		.session = session,
		.service = service,
		.service_len = strlen(service),
		.client = "10.0.0.5:40000",
		.client_len = 14,
		.server = "10.0.0.9:5432",
		.server_len = 13,
		.startup = su,
		.startup_len = startup(su, "", 0),
		.token = tok,
		.token_len = strlen(tok),
	};

	assert_int_equal(tg_authn_request(a, &r, now_ms, now_s), 0);
}

static void
request(uint64_t session, const char *service, const char *tok, uint64_t now_ms)
{
	request_at(session, service, tok, now_ms, NOW);
}

/* R AuthenticationOk: 'R', int32 8, int32 0 */
static const uint8_t auth_ok[] = { 'R', 0, 0, 0, 8, 0, 0, 0, 0 };
/* R AuthenticationCleartextPassword: 'R', int32 8, int32 3 */
static const uint8_t auth_clear[] = { 'R', 0, 0, 0, 8, 0, 0, 0, 3 };

/* ErrorResponse 'E': S FATAL, C code, M msg */
static size_t
error_response(uint8_t *buf, const char *code, const char *msg)
{
	size_t n = 5;

	n += (size_t)snprintf((char *)buf + n, 16, "SFATAL") + 1;
	n += (size_t)snprintf((char *)buf + n, 16, "C%s", code) + 1;
	n += (size_t)snprintf((char *)buf + n, 200, "M%s", msg) + 1;
	buf[n++] = 0;
	buf[0] = 'E';
	buf[1] = (uint8_t)((n - 1) >> 24);
	buf[2] = (uint8_t)((n - 1) >> 16);
	buf[3] = (uint8_t)((n - 1) >> 8);
	buf[4] = (uint8_t)(n - 1);
	return n;
}

static bool
has(const uint8_t *p, size_t n, const char *s, size_t slen)
{
	for (size_t i = 0; i + slen <= n; i++)
		if (memcmp(p + i, s, slen) == 0)
			return true;
	return false;
}

/* Trust: SEND the rewritten startup (user = the mapped role), Ok -> DONE, attribution. */
static void
test_trust_login(void **state)
{
	const struct tg_authn_who *w;
	struct tg_authn_stats st;
	char *tok = token("alice", "dba,dev", 600);

	(void)state;
	request(7, "pg", tok, 1000);
	assert_int_equal(nreplies, 1);
	assert_int_equal(replies[0].action, TG_PUNT_AUTH_SEND);
	assert_true(has(replies[0].data, replies[0].len, "user\0app_admin\0", 15));
	assert_true(has(replies[0].data, replies[0].len, "database\0app\0", 13));
	assert_false(has(replies[0].data, replies[0].len, "alice", 5));
	assert_null(tg_authn_who(a, 1, 7)); /* not yet logged in */
	assert_int_equal(tg_authn_server(a, 1, 7, auth_ok, sizeof(auth_ok), 1001, NOW), 0);
	assert_int_equal(nreplies, 2);
	assert_int_equal(replies[1].action, TG_PUNT_AUTH_DONE);
	assert_string_equal(replies[1].role, "app_admin");
	assert_int_equal(nevents, 1);
	assert_int_equal(events[0].kind, TG_AUTHN_EV_SUCCESS);
	assert_string_equal(events[0].rule_id, "dba");
	w = tg_authn_who(a, 1, 7);
	assert_non_null(w);
	assert_true(w->verified);
	assert_string_equal(w->sub, "alice");
	assert_string_equal(w->iss, ISS);
	assert_string_equal(w->kid, "k1");
	assert_string_equal(w->alg, "RS256");
	assert_string_equal(w->role, "app_admin");
	assert_string_equal(w->method, "trust");
	assert_int_equal(strlen(w->token_sha256), 64);
	assert_int_equal(json_array_size(w->groups), 2);
	assert_string_equal(json_string_value(json_array_get(w->groups, 1)), "dev");
	assert_int_equal(w->exp, NOW + 600);
	tg_authn_stats(a, &st);
	assert_int_equal(st.cnt[TG_AUTHN_CNT_LOGINS], 1);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.sessions, 1);
	/* a server message after DONE is late, not a login */
	assert_int_equal(tg_authn_server(a, 1, 7, auth_ok, sizeof(auth_ok), 1002, NOW), -ENOENT);
	/* the same session asked again: the peer broke the protocol */
	{
		uint8_t su[64];
		struct tg_authn_request r = { .worker = 1,
					      .session = 7,
					      .service = "pg",
					      .service_len = 2,
					      .startup = su,
					      .startup_len = startup(su, "", 0),
					      .token = tok,
					      .token_len = strlen(tok) };

		assert_int_equal(tg_authn_request(a, &r, 1003, NOW), -EEXIST);
	}
	tg_authn_session_end(a, 1, 7);
	assert_null(tg_authn_who(a, 1, 7));
	tg_authn_stats(a, &st);
	assert_int_equal(st.sessions, 0);
	free(tok);
}

/* Cleartext: the server asks, the password goes as SEND, Ok -> DONE. */
static void
test_cleartext_login(void **state)
{
	char *tok = token("alice", "dba", 600);

	(void)state;
	request(8, "pg-clear", tok, 1000);
	assert_int_equal(replies[0].action, TG_PUNT_AUTH_SEND);
	assert_int_equal(tg_authn_server(a, 1, 8, auth_clear, sizeof(auth_clear), 1001, NOW), 0);
	assert_int_equal(nreplies, 2);
	assert_int_equal(replies[1].action, TG_PUNT_AUTH_SEND);
	/* 'p', int32 len 11, "s3cret\0" */
	assert_int_equal(replies[1].len, 12);
	assert_memory_equal(replies[1].data, "p\0\0\0\x0bs3cret\0", 12);
	assert_int_equal(tg_authn_server(a, 1, 8, auth_ok, sizeof(auth_ok), 1002, NOW), 0);
	assert_int_equal(replies[2].action, TG_PUNT_AUTH_DONE);
	assert_string_equal(tg_authn_who(a, 1, 8)->method, "password");
	free(tok);
}

static void
expect_refusal(const char *sqlstate, const char *reason)
{
	assert_true(nreplies >= 1);
	assert_int_equal(replies[nreplies - 1].action, TG_PUNT_AUTH_REFUSE);
	assert_string_equal(replies[nreplies - 1].sqlstate, sqlstate);
	assert_true(nevents >= 1);
	assert_int_equal(events[nevents - 1].kind, TG_AUTHN_EV_FAILURE);
	assert_string_equal(events[nevents - 1].reason, reason);
	assert_string_equal(events[nevents - 1].sqlstate, sqlstate);
}

/* Token refusals: 28000 and the token's reason; never an entry left behind. */
static void
test_token_refused(void **state)
{
	struct tg_authn_stats st;
	char *tok = token("alice", "dba", 600), *bad;
	size_t n;

	(void)state;
	bad = strdup(tok);
	n = strlen(bad);
	bad[n - 3] = bad[n - 3] == 'A' ? 'B' : 'A';
	request(1, "pg", bad, 1000);
	expect_refusal("28000", "bad_signature");
	assert_int_equal(strlen(events[0].sha), 64);
	assert_false(events[0].verified);
	free(bad);
	free(tok);

	tok = token("alice", "dba", -10); /* exp 10 s ago, no skew */
	request(2, "pg", tok, 1000);
	expect_refusal("28000", "expired");
	free(tok);

	tok = tsign(k1, "none", "{\"alg\":\"none\",\"kid\":\"k1\"}",
		    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"x\"}");
	request(3, "pg", tok, 1000);
	expect_refusal("28000", "alg_none");
	free(tok);

	request(4, "pg", "not a token", 1000);
	expect_refusal("28000", "malformed");
	assert_string_equal(events[nevents - 1].sha, "");

	tg_authn_stats(a, &st);
	assert_int_equal(st.cnt[TG_AUTHN_CNT_REFUSED], 4);
	assert_int_equal(st.refused_by[TG_AUTHN_R_TOKEN], 4);
	assert_int_equal(st.token_refused_by[TG_JWT_EXPIRED], 1);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(st.in_flight, 0);
}

/* The map denies, no credential, no rule for the service, a refused startup parameter. */
static void
test_map_and_credential(void **state)
{
	char *tok;
	uint8_t su[256];

	(void)state;
	tok = token("mallory", "dba,suspended", 600);
	request(1, "pg", tok, 1000);
	expect_refusal("28000", "identity_denied");
	assert_string_equal(events[nevents - 1].rule_id, "susp");
	assert_true(strstr(events[nevents - 1].detail, "suspended") != NULL);
	/* the client is told nothing of the rule */
	assert_null(strstr(replies[nreplies - 1].text, "susp"));
	free(tok);

	tok = token("olga", "orphan", 600);
	request(2, "pg", tok, 1000);
	expect_refusal("28000", "no_credential");
	assert_true(strstr(events[nevents - 1].detail, "no credential for role no_cred_role") !=
		    NULL);
	assert_null(strstr(replies[nreplies - 1].text, "no_cred_role"));
	free(tok);

	tok = token("dave", "dev", 600);
	request(3, "pg", tok, 1000);
	expect_refusal("28000", "identity_denied");
	free(tok);

	/* options -c role=postgres: would log in as another role */
	tok = token("alice", "dba", 600);
	{
		static const char extra[] = "options\0-c role=postgres\0";
		struct tg_authn_request r = { .worker = 1,
					      .session = 4,
					      .service = "pg",
					      .service_len = 2,
					      .startup = su,
					      .startup_len = startup(su, extra, sizeof(extra) - 1),
					      .token = tok,
					      .token_len = strlen(tok) };

		assert_int_equal(tg_authn_request(a, &r, 1000, NOW), 0);
	}
	expect_refusal("28000", "startup_refused");
	free(tok);

	/* no map: not configured */
	tg_authn_set_idmap(a, NULL);
	tok = token("alice", "dba", 600);
	request(5, "pg", tok, 1000);
	expect_refusal("28000", "not_configured");
	free(tok);
}

/* The server refuses: 28P01 with its SQLSTATE in the event; a 3D000 goes through as is. */
static void
test_upstream_refused(void **state)
{
	uint8_t e[256];
	size_t n;
	char *tok = token("alice", "dba", 600);

	(void)state;
	request(1, "pg-clear", tok, 1000);
	tg_authn_server(a, 1, 1, auth_clear, sizeof(auth_clear), 1001, NOW);
	n = error_response(e, "28P01", "password authentication failed for user \"app_admin\"");
	assert_int_equal(tg_authn_server(a, 1, 1, e, n, 1002, NOW), 0);
	expect_refusal("28P01", "upstream_failed");
	assert_string_equal(events[nevents - 1].server_sqlstate, "28P01");
	assert_null(strstr(replies[nreplies - 1].text, "app_admin"));

	request(2, "pg-clear", tok, 1000);
	n = error_response(e, "3D000", "database \"app\" does not exist");
	assert_int_equal(tg_authn_server(a, 1, 2, e, n, 1002, NOW), 0);
	expect_refusal("3D000", "upstream_failed");
	assert_string_equal(replies[nreplies - 1].text, "database \"app\" does not exist");

	/* a trust credential never answers a password request (no downgrade) */
	request(3, "pg", tok, 1000);
	assert_int_equal(tg_authn_server(a, 1, 3, auth_clear, sizeof(auth_clear), 1001, NOW), 0);
	expect_refusal("28P01", "upstream_failed");
	/* a message of the wrong length */
	request(4, "pg", tok, 1000);
	assert_int_equal(tg_authn_server(a, 1, 4, auth_ok, sizeof(auth_ok) - 1, 1001, NOW), 0);
	expect_refusal("08P01", "upstream_failed");
	free(tok);
}

/* An unknown kid: held while the refetch runs, verified again from the update. */
static void
test_held_for_keys(void **state)
{
	struct tg_authn_stats st;
	char *tok = token_k2("kim");

	(void)state;
	want_rc = -EINPROGRESS;
	request(1, "pg", tok, 1000);
	assert_int_equal(nreplies, 0);
	assert_int_equal(want_calls, 1);
	tg_authn_stats(a, &st);
	assert_int_equal(st.cnt[TG_AUTHN_CNT_HELD], 1);
	assert_int_equal(st.in_flight, 1);
	/* the set now has k2 */
	cur = set12;
	tg_authn_keys_updated(a, 0, 1500, NOW);
	assert_int_equal(nreplies, 1);
	assert_int_equal(replies[0].action, TG_PUNT_AUTH_SEND);
	tg_authn_server(a, 1, 1, auth_ok, sizeof(auth_ok), 1600, NOW);
	assert_int_equal(replies[1].action, TG_PUNT_AUTH_DONE);
	assert_string_equal(tg_authn_who(a, 1, 1)->kid, "k2");

	/* the refetch did not bring it: refused once, as kid_unknown */
	cur = set1;
	request(2, "pg", tok, 2000);
	assert_int_equal(nreplies, 2);
	tg_authn_keys_updated(a, -EIO, 2100, NOW);
	expect_refusal("28000", "kid_unknown");
	assert_int_equal(want_calls, 2);

	/* no answer at all: the deadline refuses */
	request(3, "pg", tok, 3000);
	tg_authn_tick(a, 3000 + 4999, NOW);
	assert_int_equal(nreplies, 3);
	tg_authn_tick(a, 3000 + 5000, NOW);
	expect_refusal("28000", "timeout");

	/* the cooldown: refused at once */
	want_rc = -EAGAIN;
	request(4, "pg", tok, 9000);
	expect_refusal("28000", "kid_unknown");
	free(tok);
}

/* max_logins 2: a third login in flight is refused with 53300; an upstream timeout. */
static void
test_bounds_and_timeout(void **state)
{
	char *tok = token("alice", "dba", 600);
	struct tg_authn_stats st;

	(void)state;
	request(1, "pg", tok, 1000);
	request(2, "pg", tok, 1000);
	request(3, "pg", tok, 1000);
	expect_refusal("53300", "capacity");
	tg_authn_tick(a, 7000, NOW);
	expect_refusal("08006", "timeout");
	assert_int_equal(nevents, 3);
	tg_authn_stats(a, &st);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.sessions, 0);
	assert_int_equal(st.refused_by[TG_AUTHN_R_TIMEOUT], 2);
	free(tok);
}

/* on_token_expiry fatal: END at exp with an expired event; ignore: nothing. */
static void
test_expiry(void **state)
{
	char *tok = token("alice", "dba", 100);

	(void)state;
	request(1, "pg-fatal", tok, 1000);
	tg_authn_server(a, 1, 1, auth_ok, sizeof(auth_ok), 1001, NOW);
	request(2, "pg", tok, 1000);
	tg_authn_server(a, 1, 2, auth_ok, sizeof(auth_ok), 1001, NOW);
	assert_int_equal(nreplies, 4);
	tg_authn_tick(a, 2000, NOW + 99);
	assert_int_equal(nreplies, 4);
	tg_authn_tick(a, 3000, NOW + 100);
	assert_int_equal(nreplies, 5);
	assert_int_equal(replies[4].action, TG_PUNT_AUTH_END);
	assert_string_equal(replies[4].sqlstate, "28000");
	assert_non_null(strstr(replies[4].text, "expired"));
	assert_int_equal(events[nevents - 1].kind, TG_AUTHN_EV_EXPIRED);
	/* once only; the attribution stays for the session's end record */
	tg_authn_tick(a, 4000, NOW + 200);
	assert_int_equal(nreplies, 5);
	assert_non_null(tg_authn_who(a, 1, 1));
	/* no SESSION_END: dropped after the grace */
	tg_authn_tick(a, 3000 + TG_AUTHN_ENDED_GRACE_MS, NOW + 300);
	assert_null(tg_authn_who(a, 1, 1));
	assert_non_null(tg_authn_who(a, 1, 2));
	free(tok);
}

/* The channel went: logins in flight dropped with an event, running sessions kept. */
static void
test_conn_gone(void **state)
{
	char *tok = token("alice", "dba", 600);
	struct tg_authn_stats st;

	(void)state;
	request(1, "pg", tok, 1000);
	tg_authn_server(a, 1, 1, auth_ok, sizeof(auth_ok), 1001, NOW);
	request(2, "pg", tok, 1000);
	tg_authn_conn_gone(a);
	assert_int_equal(nreplies, 3);
	assert_string_equal(events[nevents - 1].reason, "channel_lost");
	assert_non_null(tg_authn_who(a, 1, 1));
	tg_authn_stats(a, &st);
	assert_int_equal(st.sessions, 1);
	tg_authn_reset(a);
	assert_null(tg_authn_who(a, 1, 1));
	free(tok);
}

/* ------------------------------------------------------------------ */
/* Just-in-time grants (authn.h step 3b and 6; grants.h)               */

static struct tg_grant
grant(struct tg_grants *g, const char *sub, const char *iss, const char *svc, int64_t ttl,
      int64_t now)
{
	struct tg_grant_spec sp = { .sub = sub,
				    .iss = iss,
				    .service = svc,
				    .ttl_s = ttl,
				    .reason = "INC-1",
				    .granted_by = "ops (uid 1000)" };
	struct tg_grant gr;

	assert_int_equal(tg_grants_add(g, &sp, now, &gr, NULL, 0), 0);
	return gr;
}

/* require_grant: refused without a live grant (no_grant, 28000), admitted with one. */
static void
test_grant_required(void **state)
{
	struct tg_grants *g = tg_grants_new(NULL);
	char *tok = token("alice", "dba", 3600);
	struct tg_authn_stats st;
	struct tg_grant gr;

	(void)state;
	/* no store at all: fails closed */
	request(1, "pg-jit", tok, 1000);
	assert_int_equal(replies[0].action, TG_PUNT_AUTH_REFUSE);
	assert_string_equal(events[0].reason, "no_grant");
	assert_non_null(strstr(events[0].detail, "no grant store"));
	tg_authn_set_grants(a, g);
	/* a store without a grant for alice */
	grant(g, "bob", NULL, "pg-jit", 600, NOW);
	grant(g, "alice", NULL, "pg-cont", 600, NOW);
	request(2, "pg-jit", tok, 1000);
	assert_int_equal(nreplies, 2);
	assert_int_equal(replies[1].action, TG_PUNT_AUTH_REFUSE);
	assert_string_equal(replies[1].sqlstate, "28000");
	assert_string_equal(replies[1].text,
			    "no access grant for this service: ask for one (tgctl grants add)");
	assert_int_equal(events[1].kind, TG_AUTHN_EV_FAILURE);
	assert_string_equal(events[1].reason, "no_grant");
	assert_non_null(strstr(events[1].detail, "no live grant for sub alice on service pg-jit"));
	/* a grant of another issuer does not count; one of any issuer does */
	grant(g, "alice", "https://other.example", "pg-jit", 600, NOW);
	request(3, "pg-jit", tok, 1000);
	assert_int_equal(replies[2].action, TG_PUNT_AUTH_REFUSE);
	gr = grant(g, "alice", ISS, "pg-jit", 600, NOW);
	request(4, "pg-jit", tok, 1000);
	assert_int_equal(replies[3].action, TG_PUNT_AUTH_SEND);
	assert_int_equal(tg_authn_server(a, 1, 4, auth_ok, sizeof(auth_ok), 1001, NOW), 0);
	assert_int_equal(replies[4].action, TG_PUNT_AUTH_DONE);
	assert_int_equal(events[nevents - 1].kind, TG_AUTHN_EV_SUCCESS);
	assert_non_null(strstr(events[nevents - 1].detail, gr.id));
	assert_string_equal(tg_authn_who(a, 1, 4)->grant_id, gr.id);
	/* past its expiry, at once (no expiry tick of the store needed) */
	request_at(5, "pg-jit", tok, 2000, NOW + 600);
	assert_int_equal(replies[nreplies - 1].action, TG_PUNT_AUTH_REFUSE);
	/* a service without require_grant names no grant */
	request(6, "pg", tok, 1000);
	tg_authn_server(a, 1, 6, auth_ok, sizeof(auth_ok), 1001, NOW);
	assert_string_equal(tg_authn_who(a, 1, 6)->grant_id, "");
	tg_authn_stats(a, &st);
	assert_int_equal(st.refused_by[TG_AUTHN_R_NO_GRANT], 4);
	assert_int_equal(st.cnt[TG_AUTHN_CNT_LOGINS], 2);
	tg_authn_set_grants(a, NULL);
	tg_grants_free(g);
	free(tok);
}

/*
 * Running sessions when their grant ends: "end" gets END (revoked or
 * expired, once), "continue" runs on; another live grant takes over.
 */
static void
test_grant_end(void **state)
{
	struct tg_grants *g = tg_grants_new(NULL);
	char *tok = token("alice", "dba", 3600), *tb = token("bob", "dba", 3600);
	struct tg_authn_stats st;
	struct tg_grant g1, g2, gb1, gb2;
	unsigned int n;

	(void)state;
	tg_authn_set_grants(a, g);
	g1 = grant(g, "alice", NULL, "pg-jit", 100, NOW);
	g2 = grant(g, "alice", NULL, "pg-cont", 50, NOW);
	request(1, "pg-jit", tok, 1000);
	tg_authn_server(a, 1, 1, auth_ok, sizeof(auth_ok), 1001, NOW);
	request(2, "pg-cont", tok, 1000);
	tg_authn_server(a, 1, 2, auth_ok, sizeof(auth_ok), 1001, NOW);
	assert_int_equal(nreplies, 4);
	assert_string_equal(tg_authn_who(a, 1, 2)->grant_id, g2.id);
	/* pg-cont's grant expires: the session runs on, counted once */
	tg_authn_tick(a, 2000, NOW + 49);
	assert_int_equal(nreplies, 4);
	tg_authn_tick(a, 3000, NOW + 50);
	tg_authn_tick(a, 4000, NOW + 51);
	assert_int_equal(nreplies, 4);
	tg_authn_stats(a, &st);
	assert_int_equal(st.cnt[TG_AUTHN_CNT_GRANT_OUTLIVED], 1);
	assert_non_null(tg_authn_who(a, 1, 2));
	/* pg-jit's grant revoked: END now, with the reason */
	assert_int_equal(tg_grants_revoke(g, g1.id, "ops", "done", NOW + 60, NULL, NULL), 0);
	n = nevents;
	tg_authn_grants_changed(a, 5000, NOW + 60);
	assert_int_equal(nreplies, 5);
	assert_int_equal(replies[4].action, TG_PUNT_AUTH_END);
	assert_string_equal(replies[4].sqlstate, "28000");
	assert_string_equal(replies[4].text, "access grant revoked: this session ends");
	assert_int_equal(nevents, n + 1);
	assert_int_equal(events[n].kind, TG_AUTHN_EV_EXPIRED);
	assert_string_equal(events[n].reason, "grant_revoked");
	assert_non_null(strstr(events[n].detail, g1.id));
	assert_non_null(tg_authn_who(a, 1, 1)); /* the attribution stays for its end */
	tg_authn_grants_changed(a, 5001, NOW + 61);
	tg_authn_tick(a, 6000, NOW + 200);
	assert_int_equal(nreplies, 5);

	/* two grants: the longer admits; when it goes, the other takes over */
	gb1 = grant(g, "bob", NULL, "pg-jit", 300, NOW + 100);
	gb2 = grant(g, "bob", NULL, "pg-jit", 600, NOW + 100);
	request_at(3, "pg-jit", tb, 7000, NOW + 100);
	tg_authn_server(a, 1, 3, auth_ok, sizeof(auth_ok), 7001, NOW + 100);
	assert_string_equal(tg_authn_who(a, 1, 3)->grant_id, gb2.id);
	tg_grants_revoke(g, gb2.id, "ops", NULL, NOW + 110, NULL, NULL);
	tg_authn_grants_changed(a, 8000, NOW + 110);
	assert_int_equal(nreplies, 7);
	assert_string_equal(tg_authn_who(a, 1, 3)->grant_id, gb1.id);
	/* and when that one expires (by the clock): END, expired */
	tg_authn_tick(a, 9000, NOW + 400);
	assert_int_equal(nreplies, 8);
	assert_int_equal(replies[7].action, TG_PUNT_AUTH_END);
	assert_string_equal(replies[7].text, "access grant expired: this session ends");
	assert_string_equal(events[nevents - 1].reason, "grant_expired");
	tg_authn_stats(a, &st);
	assert_int_equal(st.cnt[TG_AUTHN_CNT_GRANT_ENDED], 2);
	tg_authn_set_grants(a, NULL);
	tg_grants_free(g);
	free(tok);
	free(tb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_trust_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleartext_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_and_credential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_for_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounds_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_end, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
