/* SPDX-License-Identifier: MIT */
/*
 * fuzz_authn.c — libFuzzer target for the identity takeover's logins
 * (slowpath/authn.c): what a dataplane may send (AUTH_REQUEST's startup
 * and token, AUTH_SERVER's messages) and when (session ends, ticks, key
 * updates, channel losses), in any order, against the real verifier,
 * identity map, credential store and upstream client.
 *
 * Input: a script of operations, each an op byte and its arguments:
 *   op % 7 == 0  request: session (byte % 6), service (byte % 4: pg, pg-clear,
 *                pg-scram, unknown), token (byte: 0 a valid token minted at
 *                start, 1 one for an unknown kid, else a length byte and
 *                raw bytes), startup (length byte, 0: a valid one, else
 *                raw bytes);
 *           1    server: session, length byte, bytes (a backend message);
 *           2    tick: ms += byte * 250, s += byte / 16;
 *           3    keys updated (byte: bit 0 the set now has the second
 *                key, bit 1 a failed fetch, bit 2 want_kid answers
 *                -EINPROGRESS from now on);
 *           4    session end: session;
 *           5    channel lost;  6  reset.
 *
 * Beyond memory errors and UB, the target aborts when:
 * - a reply has an unknown action, a SEND of 0 or more than
 *   TG_PUNT_AUTH_SEND_MAX bytes, a REFUSE or END without a five-character
 *   SQLSTATE and a text of 1..TG_PUNT_REASON_MAX bytes, a DONE without a
 *   role; or an event without a reason;
 * - logins in flight exceed max_logins or entries max_sessions;
 * - a session that ended still has an attribution.
 *
 * Seeds: tests/fuzz/gen-corpus authn_seeds(). Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tjwt.h"
#include "authn.h"
#include "punt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LOGINS 3
#define MAX_SESSIONS 4
#define ISS "https://idp.fuzz"
#define AUD "tollgate"

static EVP_PKEY *k1, *k2;
static struct tg_jwks *set1, *set12, *cur;
static char *tok_ok, *tok_k2;
static int want_rc;

static const char policy[] =
	"{\"identity\": {\"services\": {\"pg-clear\": {\"on_token_expiry\": \"fatal\"}},\n"
	" \"rules\": [{\"match\": {\"groups\": [\"no\"]}, \"deny\": \"no\"},\n"
	"  {\"match\": {\"sub\": \"*\"}, \"services\": [\"pg\", \"pg-clear\", \"pg-scram\"],\n"
	"   \"role\": \"app\"}]}}";
static const char creds[] =
	"{\"pg\": {\"app\": {\"method\": \"trust\"}},\n"
	" \"pg-clear\": {\"app\": {\"method\": \"password\", \"password\": \"pw\"}},\n"
	" \"pg-scram\": {\"app\": {\"method\": \"scram-sha-256\", \"password\": \"pencil\"}}}";

static struct tg_jwks *
set_of(int two)
{
	json_t *arr = json_array(), *set;
	struct tg_jwks *out = NULL;
	char *txt;

	json_array_append_new(arr, tjwk(k1, "k1"));
	if (two)
		json_array_append_new(arr, tjwk(k2, "k2"));
	set = json_pack("{s:o}", "keys", arr);
	txt = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	if (tg_jwks_parse(txt, strlen(txt), &out, NULL, 0) != 0)
		abort();
	free(txt);
	return out;
}

static char *
mint(EVP_PKEY *k, const char *kid)
{
	char h[64], p[256];

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	/* exp far away: the fuzzer's clock starts at 1700000000 and moves slowly */
	snprintf(p, sizeof(p),
		 "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"f\",\"exp\":1700000100,"
		 "\"iat\":1699999990,\"groups\":[\"g\"]}");
	return tsign(k, "ES256", h, p);
}

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
	return want_rc;
}

static void
reply_cb(void *arg, const struct tg_authn_reply *r)
{
	(void)arg;
	switch (r->action) {
	case TG_PUNT_AUTH_SEND:
		if (r->len == 0 || r->len > TG_PUNT_AUTH_SEND_MAX || r->data == NULL)
			abort();
		break;
	case TG_PUNT_AUTH_DONE:
		if (r->role == NULL || r->role[0] == '\0')
			abort();
		break;
	case TG_PUNT_AUTH_REFUSE:
	case TG_PUNT_AUTH_END:
		if (r->sqlstate == NULL || strlen(r->sqlstate) != 5 || r->text == NULL ||
		    r->text[0] == '\0' || strlen(r->text) > TG_PUNT_REASON_MAX)
			abort();
		break;
	default:
		abort();
	}
}

static void
event_cb(void *arg, const struct tg_authn_event *e)
{
	(void)arg;
	if (e->reason == NULL || e->who == NULL)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (k1 == NULL || k2 == NULL)
		abort();
	set1 = set_of(0);
	set12 = set_of(1);
	tok_ok = mint(k1, "k1");
	tok_k2 = mint(k2, "k2");
	return 0;
}

static const uint8_t *in;
static size_t left;

static unsigned int
byte(void)
{
	if (left == 0)
		return 0;
	left--;
	return *in++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const svcs[] = { "pg", "pg-clear", "pg-scram", "nope" };
	struct tg_authn_cfg cfg = {
		.login_timeout_ms = 2000,
		.max_logins = MAX_LOGINS,
		.max_sessions = MAX_SESSIONS,
		.keys = keys_cb,
		.want_kid = want_cb,
		.reply = reply_cb,
		.event = event_cb,
	};
	struct tg_jwt_cfg jc = { .issuer = ISS, .audience = AUD, .cache_max = 4 };
	struct tg_authn *a = tg_authn_new(&cfg);
	struct tg_idmap *m = NULL;
	struct tg_credstore *cs = NULL;
	struct tg_authn_stats st;
	uint64_t now_ms = 1000;
	int64_t now_s = 1700000000;
	uint8_t su[256], raw[256];
	/* StartupMessage 3.0 (32 bytes): user alice, database db */
	static const uint8_t good_su[] = "\0\0\0\x20\0\x03\0\0user\0alice\0database\0db\0\0";

	if (a == NULL)
		abort();
	if (tg_idmap_parse(policy, sizeof(policy) - 1, "p", svcs, 3, &m, NULL, 0) != 0 ||
	    tg_credstore_parse(creds, sizeof(creds) - 1, "c", &cs, NULL, 0) != 0)
		abort();
	tg_authn_set_verifier(a, tg_jwt_new(&jc, NULL, 0));
	tg_authn_set_idmap(a, m);
	tg_authn_set_credstore(a, cs);
	cur = set1;
	want_rc = -EAGAIN;
	in = data;
	left = size;
	while (left > 0) {
		unsigned int op = byte() % 7, s, n;

		switch (op) {
		case 0: {
			struct tg_authn_request r = { .worker = 1, .client = "c", .client_len = 1 };
			unsigned int t;

			s = byte() % 6;
			r.session = s;
			r.service = svcs[byte() % 4];
			r.service_len = strlen(r.service);
			t = byte();
			if (t == 0) {
				r.token = tok_ok;
				r.token_len = strlen(tok_ok);
			} else if (t == 1) {
				r.token = tok_k2;
				r.token_len = strlen(tok_k2);
			} else {
				n = byte();
				n = n < left ? n : (unsigned int)left;
				memcpy(raw, in, n);
				in += n;
				left -= n;
				r.token = (const char *)raw;
				r.token_len = n;
			}
			n = byte();
			if (n == 0) {
				r.startup = good_su;
				r.startup_len = sizeof(good_su) - 1;
			} else {
				n = n < left ? n : (unsigned int)left;
				memcpy(su, in, n);
				in += n;
				left -= n;
				r.startup = su;
				r.startup_len = n;
			}
			/* -EEXIST: a session already known (main.c disconnects then) */
			(void)tg_authn_request(a, &r, now_ms, now_s);
			break;
		}
		case 1:
			s = byte() % 6;
			n = byte();
			n = n < left ? n : (unsigned int)left;
			memcpy(raw, in, n);
			in += n;
			left -= n;
			tg_authn_server(a, 1, s, raw, n, now_ms, now_s);
			break;
		case 2:
			n = byte();
			now_ms += (uint64_t)n * 250;
			now_s += n / 16;
			tg_authn_tick(a, now_ms, now_s);
			break;
		case 3:
			n = byte();
			cur = n & 1 ? set12 : set1;
			if (n & 4)
				want_rc = -EINPROGRESS;
			tg_authn_keys_updated(a, n & 2 ? -EIO : 0, now_ms, now_s);
			break;
		case 4:
			s = byte() % 6;
			tg_authn_session_end(a, 1, s);
			if (tg_authn_who(a, 1, s) != NULL)
				abort();
			break;
		case 5:
			tg_authn_conn_gone(a);
			break;
		default:
			tg_authn_reset(a);
			break;
		}
		tg_authn_stats(a, &st);
		if (st.in_flight > MAX_LOGINS || st.sessions > MAX_SESSIONS ||
		    st.in_flight > st.sessions)
			abort();
	}
	tg_authn_free(a);
	return 0;
}
