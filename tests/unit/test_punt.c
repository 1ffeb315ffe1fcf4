/* SPDX-License-Identifier: MIT */
/*
 * test_punt.c — unit tests of the control channel codec (punt.c).
 *
 * - Known answers: a HELLO, EVENT_BATCHes (a session end, a LOST), a
 *   SERVICES and a policy object with its databases written out byte by
 *   byte under comments saying what they decode to, compared with what
 *   the encoder writes.
 * - A second, independent writer of the wire format (the raw_* helpers,
 *   following the layouts of punt.h) that can also write what the encoder
 *   refuses: every malformed input below is built with it, and a full
 *   statement event built with it must equal the encoder's bytes.
 * - Round trips of every message and every event type (STATEMENT_BEGIN
 *   and LOST included), every field compared; the fields a type does not
 *   carry are not sent.
 * - The refusals of the newer parts: a statement numbered 0, LOST with a
 *   service, a session or nothing lost, SERVICES with no name, more than
 *   TG_PUNT_SERVICES_MAX, a repeated or an empty one, a policy object
 *   whose DB TLV is empty, out of order or alone, a TLV type unknown.
 * - Every truncation of every message: as received (short or length) and
 *   with the header's length made to agree (trunc); a byte added at the
 *   end (trailing); corrupted headers; counts over their caps; every
 *   refusal reason of the events, strings and policy objects.
 * - Every single-bit flip of every sample message: decoded without a read
 *   outside the datagram (each is a heap block of exactly its size, so
 *   ASan sees any), and when it decodes, it re-encodes to the same bytes.
 * - Version negotiation, and the reassembly of a policy object from its
 *   chunks.
 * - TCP grants: the flow events (start, end, refused) and TCP_SERVICES
 *   and TCP_GRANTS, known answers, round trips and every refusal (order,
 *   host bits, families, counts, unknown services and flags).
 *
 * The wire codes for statement kinds, verdicts, results and detector kinds
 * are asserted at compile time to equal the dataplane's enums, and the
 * wire caps to hold what the inspector produces.
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

#include "inspect.h"
#include "policy.h"
#include "punt.h"
#include "service.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) ((struct tg_punt_str){ .p = (lit), .len = sizeof(lit) - 1 })

/* The wire codes are the dataplane's, and the caps hold what it produces. */
_Static_assert(TG_PUNT_STMT_QUERY == (int)TG_INSPECT_QUERY &&
		       TG_PUNT_STMT_EXECUTE == (int)TG_INSPECT_EXECUTE &&
		       TG_PUNT_STMT_FCALL == (int)TG_INSPECT_FCALL,
	       "statement kinds");
_Static_assert(TG_PUNT_VERDICT_ALLOW == (int)TG_ACT_ALLOW &&
		       TG_PUNT_VERDICT_LOG == (int)TG_ACT_LOG &&
		       TG_PUNT_VERDICT_BLOCK == (int)TG_ACT_BLOCK &&
		       TG_PUNT_VERDICT_MAX == (int)TG_ACT_MAX,
	       "verdicts");
_Static_assert(TG_PUNT_RESULT_OK == (int)TG_INSPECT_OK &&
		       TG_PUNT_RESULT_ERROR == (int)TG_INSPECT_ERROR &&
		       TG_PUNT_RESULT_SUSPENDED == (int)TG_INSPECT_SUSPENDED &&
		       TG_PUNT_RESULT_UNFINISHED == (int)TG_INSPECT_UNFINISHED &&
		       TG_PUNT_RESULT_NOT_RUN == (int)TG_INSPECT_NOT_RUN,
	       "results");
#define SAME_DETECT(e, c, n) _Static_assert(TG_PUNT_DETECT_##e == (int)TG_DETECT_##e, n);
TG_PUNT_DETECT_KINDS(SAME_DETECT)
#undef SAME_DETECT
_Static_assert(TG_PUNT_DETECT_MAX == (int)TG_DETECT_KIND_MAX, "detector kinds");
_Static_assert(TG_INSPECT_TEXT_MAX <= TG_PUNT_TEXT_MAX, "text cap");
_Static_assert(TG_INSPECT_PARAMS_MAX <= TG_PUNT_PARAMS_MAX, "params cap");
_Static_assert(TG_INSPECT_NAME_MAX - 1 <= TG_PUNT_NAME_MAX, "name cap");
_Static_assert(TG_POLICY_ID_MAX - 1 <= TG_PUNT_NAME_MAX, "rule id cap");
_Static_assert(TG_SERVICE_NAME_MAX - 1 <= TG_PUNT_NAME_MAX, "service name cap");
_Static_assert(sizeof(((struct tg_inspect_event *)0)->sqlstate) - 1 == TG_PUNT_SQLSTATE_MAX,
	       "sqlstate");
_Static_assert(TG_POLICY_FILE_MAX + 6 <= TG_PUNT_POLICY_MAX, "a policy file fits an object");

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

/* A datagram in a heap block of exactly its size. */
struct dgram {
	uint8_t *b;
	size_t n;
};

static struct dgram
dg_copy(const uint8_t *p, size_t n)
{
	struct dgram d = { .b = malloc(n != 0 ? n : 1), .n = n };

	assert_non_null(d.b);
	if (n != 0)
		memcpy(d.b, p, n);
	return d;
}

/*
 * Decodes a copy of p[0, n) of exactly that size. The copy lives until the
 * next call, as long as what msg points to is used.
 */
static enum tg_punt_err
decode_exact(const uint8_t *p, size_t n, struct tg_punt_msg *msg)
{
	static struct dgram held;

	free(held.b);
	held = dg_copy(p, n);
	return tg_punt_decode(held.b, held.n, msg);
}

static void
set_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void
assert_str(struct tg_punt_str s, const char *want, size_t len)
{
	assert_int_equal(s.len, len);
	if (len != 0)
		assert_memory_equal(s.p, want, len);
}

#define ASSERT_STR(s, lit) assert_str((s), (lit), sizeof(lit) - 1)

static void
assert_same_str(struct tg_punt_str a, struct tg_punt_str b)
{
	assert_str(a, b.p, b.len);
}

static void
assert_same_event(const struct tg_punt_event *a, const struct tg_punt_event *b)
{
	int k;

	assert_int_equal(a->type, b->type);
	assert_int_equal(a->worker, b->worker);
	assert_int_equal(a->service, b->service);
	assert_int_equal(a->session, b->session);
	assert_int_equal(a->t_start_ns, b->t_start_ns);
	assert_int_equal(a->t_end_ns, b->t_end_ns);
	assert_same_str(a->service_name, b->service_name);
	assert_same_str(a->client, b->client);
	assert_same_str(a->server, b->server);
	assert_same_str(a->user, b->user);
	assert_same_str(a->database, b->database);
	assert_same_str(a->application, b->application);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->verdict, b->verdict);
	assert_int_equal(a->result, b->result);
	assert_int_equal(a->text_cut, b->text_cut);
	assert_int_equal(a->strict, b->strict);
	for (k = 0; k < TG_PUNT_DETECT_MAX; k++)
		assert_int_equal(a->masked[k], b->masked[k]);
	assert_int_equal(a->masked_columns, b->masked_columns);
	assert_int_equal(a->rows, b->rows);
	assert_same_str(a->rule, b->rule);
	assert_same_str(a->sqlstate, b->sqlstate);
	assert_same_str(a->text, b->text);
	assert_same_str(a->params, b->params);
	assert_int_equal(a->stmt, b->stmt);
	assert_int_equal(a->end_reason, b->end_reason);
	assert_int_equal(a->lost, b->lost);
	assert_int_equal(a->grant, b->grant);
	assert_int_equal(a->bytes_up, b->bytes_up);
	assert_int_equal(a->bytes_down, b->bytes_down);
	assert_int_equal(a->pkts_up, b->pkts_up);
	assert_int_equal(a->pkts_down, b->pkts_down);
	assert_int_equal(a->refusal, b->refusal);
}

/* ---------------------------------------------------------------------
 * An independent writer of the wire format (punt.h), bad values allowed
 * ------------------------------------------------------------------- */

struct raw {
	uint8_t b[TG_PUNT_MSG_MAX + 1024];
	size_t n;
};

static void
raw8(struct raw *r, uint8_t v)
{
	r->b[r->n++] = v;
}

static void
raw16(struct raw *r, uint16_t v)
{
	raw8(r, (uint8_t)(v >> 8));
	raw8(r, (uint8_t)v);
}

static void
raw32(struct raw *r, uint32_t v)
{
	raw16(r, (uint16_t)(v >> 16));
	raw16(r, (uint16_t)v);
}

static void
raw64(struct raw *r, uint64_t v)
{
	raw32(r, (uint32_t)(v >> 32));
	raw32(r, (uint32_t)v);
}

static void
rawbytes(struct raw *r, const void *p, size_t n)
{
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

/* s8: a u8 length, then the bytes */
static void
raws8(struct raw *r, const char *s)
{
	raw8(r, (uint8_t)strlen(s));
	rawbytes(r, s, strlen(s));
}

static void
raws16(struct raw *r, const char *s)
{
	raw16(r, (uint16_t)strlen(s));
	rawbytes(r, s, strlen(s));
}

static void
raw_hdr(struct raw *r, uint16_t version, uint16_t type, uint64_t seq)
{
	r->n = 0;
	raw32(r, TG_PUNT_MAGIC);
	raw16(r, version);
	raw16(r, type);
	raw32(r, 0);
	raw32(r, 0);
	raw64(r, seq);
}

/* Sets the header's length to what was written. */
static void
raw_end(struct raw *r)
{
	set_be32(r->b + 12, (uint32_t)r->n);
}

/* The event common part; returns where the event starts, for raw_ev_end(). */
static size_t
raw_ev(struct raw *r, uint8_t type, uint8_t flags, uint16_t worker, uint16_t service,
       uint64_t session)
{
	size_t at = r->n;

	raw8(r, type);
	raw8(r, flags);
	raw16(r, 0);
	raw16(r, worker);
	raw16(r, service);
	raw64(r, session);
	return at;
}

static void
raw_ev_end(struct raw *r, size_t at)
{
	r->b[at + 2] = (uint8_t)((r->n - at) >> 8);
	r->b[at + 3] = (uint8_t)(r->n - at);
}

static void
raw_batch(struct raw *r, uint64_t first_seq, uint16_t count)
{
	raw_hdr(r, 1, TG_PUNT_T_EVENT_BATCH, 7);
	raw64(r, first_seq);
	raw16(r, count);
}

/*
 * A statement event: kind, verdict, result as given, masked pairs
 * (kind, count) x npairs, and the nine strings in wire order.
 */
static void
raw_stmt(struct raw *r, uint8_t flags, uint8_t kind, uint8_t verdict, uint8_t result,
	 const uint8_t (*pairs)[2], uint8_t npairs, const char *const str[9])
{
	size_t at = raw_ev(r, TG_PUNT_EV_STATEMENT, flags, 3, 1, 0x1122334455667788ull);
	uint8_t i;

	raw8(r, kind);
	raw8(r, verdict);
	raw8(r, result);
	raw8(r, npairs);
	raw32(r, 7);		/* stmt */
	raw32(r, 2);		/* masked_columns */
	raw64(r, 10);		/* rows */
	raw64(r, 1000);		/* t_start */
	raw64(r, 2000);		/* t_end */
	for (i = 0; i < npairs; i++) {
		raw8(r, pairs[i][0]);
		raw32(r, pairs[i][1]);
	}
	for (i = 0; i < 7; i++)
		raws8(r, str[i]);
	raws16(r, str[7]);
	raws16(r, str[8]);
	raw_ev_end(r, at);
}

static const char *const stmt_strs[9] = {
	"shop-pg", "192.0.2.10:50000", "alice", "shop", "psql", "no-drop", "42P01",
	"SELECT * FROM nosuch WHERE card = $1", "$1='****'",
};
static const uint8_t stmt_pairs[2][2] = { { TG_PUNT_DETECT_CARD, 2 }, { TG_PUNT_DETECT_JWT, 1 } };

/* A batch of the one statement above, or with its fields replaced. */
static void
raw_stmt_batch(struct raw *r)
{
	raw_batch(r, 100, 1);
	raw_stmt(r, TG_PUNT_EV_F_TEXT_CUT, TG_PUNT_STMT_EXECUTE, TG_PUNT_VERDICT_LOG,
		 TG_PUNT_RESULT_ERROR, stmt_pairs, 2, stmt_strs);
	raw_end(r);
}

static enum tg_punt_err
raw_decode(struct raw *r, struct tg_punt_msg *msg)
{
	return decode_exact(r->b, r->n, msg);
}

/* ---------------------------------------------------------------------
 * Sample messages, one or more of each type
 * ------------------------------------------------------------------- */

static struct tg_punt_event
ev_statement(void)
{
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_STATEMENT,
		.worker = 3,
		.service = 1,
		.session = 0x1122334455667788ull,
		.t_start_ns = 1000,
		.t_end_ns = 2000,
		.kind = TG_PUNT_STMT_EXECUTE,
		.verdict = TG_PUNT_VERDICT_LOG,
		.result = TG_PUNT_RESULT_ERROR,
		.text_cut = true,
		.masked_columns = 2,
		.rows = 10,
		.stmt = 7,
	};

	ev.service_name = S("shop-pg");
	ev.client = S("192.0.2.10:50000");
	ev.user = S("alice");
	ev.database = S("shop");
	ev.application = S("psql");
	ev.rule = S("no-drop");
	ev.sqlstate = S("42P01");
	ev.text = S("SELECT * FROM nosuch WHERE card = $1");
	ev.params = S("$1='****'");
	ev.masked[TG_PUNT_DETECT_CARD] = 2;
	ev.masked[TG_PUNT_DETECT_JWT] = 1;
	return ev;
}

static struct tg_punt_event
ev_start(void)
{
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_SESSION_START,
		.worker = 0,
		.service = 2,
		.session = 9,
		.t_start_ns = 1700000000123456789ull,
	};

	ev.service_name = S("billing");
	ev.client = S("[2001:db8::1]:41000");
	ev.server = S("[2001:db8::5]:5432");
	ev.user = S("bob");
	ev.database = S("billing");
	ev.application = S("");
	return ev;
}

static struct tg_punt_event
ev_end(void)
{
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_SESSION_END,
		.worker = 65535,
		.service = 65535,
		.session = UINT64_MAX,
		.t_start_ns = 5,
		.t_end_ns = UINT64_MAX,
		.end_reason = TG_PUNT_END_FAILED,
	};

	ev.service_name = S("pg");
	ev.client = S("192.0.2.1:5000");
	return ev;
}

/* A statement as decided, before its result: every field it carries set. */
static struct tg_punt_event
ev_begin(void)
{
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_STATEMENT_BEGIN,
		.worker = 2,
		.service = 4,
		.session = 0x0a0b0c0d0e0f1011ull,
		.t_start_ns = 1700000000000000001ull,
		.kind = TG_PUNT_STMT_FCALL,
		.verdict = TG_PUNT_VERDICT_BLOCK,
		.text_cut = true,
		.strict = true,
		.stmt = UINT32_MAX,
	};

	ev.service_name = S("shop-pg");
	ev.client = S("192.0.2.10:50000");
	ev.user = S("alice");
	ev.database = S("shop");
	ev.application = S("psql");
	ev.rule = S("no-drop");
	ev.text = S("DROP TABLE cards");
	ev.params = S("$1='x'");
	return ev;
}

static struct tg_punt_event
ev_lost(void)
{
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_LOST,
		.worker = 5,
		.lost = 12345,
		.t_end_ns = 1700000000999999999ull,
	};

	return ev;
}

/* A tcp flow admitted on a grant, its end, and a flow refused. */
static struct tg_punt_event
ev_flow(uint8_t type)
{
	struct tg_punt_event ev = {
		.type = type,
		.worker = 1,
		.service = 3,
		.session = type == TG_PUNT_EV_FLOW_REFUSED ? 0 : 77,
		.t_start_ns = 1700000000123456789ull,
	};

	ev.service_name = S("lab-ssh");
	ev.client = S("198.18.0.1:50022");
	ev.server = S("198.18.0.2:22");
	if (type == TG_PUNT_EV_FLOW_REFUSED) {
		ev.refusal = TG_PUNT_REFUSAL_NO_GRANT;
		return ev;
	}
	ev.grant = 0x3f9c0a1b2c4d5e6full;
	if (type == TG_PUNT_EV_FLOW_END) {
		ev.end_reason = TG_PUNT_END_GRANT_ENDED;
		ev.t_end_ns = 1700000002123456789ull;
		ev.bytes_up = 3021;
		ev.bytes_down = UINT64_MAX;
		ev.pkts_up = 21;
		ev.pkts_down = 19;
	}
	return ev;
}

/* Two tcp services, one ending its flows with the grant; three grants. */
static const struct tg_punt_tcp_grant tcpg_list[] = {
	{ .id = 1, .svc = 0, .family = 4, .prefix = 32, .addr = { 198, 18, 0, 1 },
	  .expires = 1700001800 },
	{ .id = 7, .svc = 0, .family = 4, .prefix = 24, .addr = { 10, 1, 2, 0 },
	  .expires = 1700001800 },
	{ .id = 2, .svc = 1, .family = 6, .prefix = 32, .addr = { 0x20, 0x01, 0x0d, 0xb8 },
	  .expires = UINT64_MAX },
};

static struct tg_punt_tcp_grants
tcpg_sample(void)
{
	struct tg_punt_tcp_grants t = { .gen = 3, .nsvc = 2, .count = ARRAY_SIZE(tcpg_list),
					.list = tcpg_list };

	t.svc[0] = (struct tg_punt_tcpg_svc){ .name = S("lab-ssh"), .flags = TG_PUNT_TCPG_F_END };
	t.svc[1] = (struct tg_punt_tcpg_svc){ .name = S("redis") };
	return t;
}

static const char *const tcp_services_names[] = { "lab-ssh", "redis" };

static const char *const services_names[] = { "shop-pg", "billing", "pg" };

static const struct tg_punt_hello hello_dp = {
	.role = TG_PUNT_ROLE_DATAPLANE,
	.vmin = 1,
	.vmax = 1,
	.instance = 0x0102030405060708ull,
	.caps = TG_PUNT_CAP_STATS,
	.software = { "tollgate 0.1.0", 14 },
};

static const struct tg_punt_hello hello_sp = {
	.role = TG_PUNT_ROLE_SLOWPATH,
	.vmin = 1,
	.vmax = 1,
	.instance = 0xfeedull,
	.caps = 0,
	.software = { "tollgate 0.1.0", 14 },
};

static const char policy_json[] = "{\"version\": 1, \"rules\": []}";

/* Serialised databases are binary: NUL bytes and all */
static const uint8_t policy_db[] = { 0x00, 0x01, 0xff, 0x00, 'h', 's', 0x7f };

static uint8_t policy_obj[64], policy_db_obj[64];
static struct tg_punt_policy_chunk policy_chunk;

enum { NSAMPLES = 30 };

static const char *const sample_names[NSAMPLES] = {
	"hello", "hello_ack", "hello_ack_refused", "event_batch", "event_batch_one",
	"batch_ack", "policy_gen", "policy_ack", "policy_ack_refused", "stats_request",
	"stats_response", "stats_response_empty", "event_batch_begin_lost", "services",
	"policy_gen_db", "sessions_request", "sessions_response", "sessions_not_found",
	"auth_request", "auth_server", "auth_reply_send", "auth_reply_refuse",
	"audit_state_full", "audit_state_ok", "hold_ask", "hold_cancel", "hold_reply_deny",
	"event_batch_flows", "tcp_services", "tcp_grants",
};

/* A StartupMessage (protocol 3.0, user alice, database demo) and a token. */
static const uint8_t auth_startup[] = "\x00\x00\x00\x23\x00\x03\x00\x00user\0alice\0database\0demo\0";
static const char auth_token[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";

static struct tg_punt_auth
auth_sample(int i)
{
	struct tg_punt_auth a = { .worker = 1, .session = 42 };

	switch (i) {
	case 18:
		a.service = S("demo-pg");
		a.client = S("198.18.0.2:50000");
		a.server = S("198.18.1.2:5432");
		a.startup = (struct tg_punt_bytes){ auth_startup, sizeof(auth_startup) };
		a.token = (struct tg_punt_bytes){ (const uint8_t *)auth_token,
						  sizeof(auth_token) - 1 };
		break;
	case 19:
		a.data = (struct tg_punt_bytes){ (const uint8_t *)"R\0\0\0\x08\0\0\0\0", 9 };
		break;
	case 20:
		a.action = TG_PUNT_AUTH_SEND;
		a.data = (struct tg_punt_bytes){ auth_startup, sizeof(auth_startup) };
		break;
	default:
		a.action = TG_PUNT_AUTH_REFUSE;
		a.sqlstate = S("28000");
		a.text = S("token expired");
		break;
	}
	return a;
}

/* Samples 24..26: a hold asked, cancelled, denied. */
static struct tg_punt_hold
hold_sample(int i)
{
	struct tg_punt_hold h = { .worker = 1, .session = 42, .hold = 7 };

	switch (i) {
	case 24:
		h.op = TG_PUNT_HOLD_ASK;
		h.kind = TG_PUNT_STMT_QUERY;
		h.quorum = 2;
		h.self_approval = 1;
		h.timeout_s = 600;
		h.t_ns = 1700000000123456789ull;
		h.service = S("demo-pg");
		h.rule = S("review-deletes");
		h.approvers = S("dba-leads");
		h.client = S("198.18.0.2:50000");
		h.server = S("198.18.1.2:5432");
		h.user = S("app_admin");
		h.database = S("shop");
		h.text = S("DELETE FROM orders WHERE id = 7");
		h.params = S("");
		break;
	case 25:
		h.op = TG_PUNT_HOLD_CANCEL;
		h.reason = S("the session ended while the statement waited for approval");
		break;
	default:
		h.decision = TG_PUNT_HOLD_DENY;
		h.id = S("ap-0123456789abcdef");
		h.sqlstate = S("42501");
		h.reason = S("approval request ap-0123456789abcdef was denied by bob: not now");
		break;
	}
	return h;
}

/* A postgres session and a plain flow, as a SESSIONS_RESPONSE carries them. */
static const struct tg_punt_sess sess_pg = {
	.pg = true,
	.worker = 1,
	.session = 42,
	.tcp_state = TG_PUNT_TCP_ESTABLISHED,
	.t_start_ns = 1700000000123456789ull,
	.bytes_up = 1234,
	.bytes_down = 56789,
	.stmts = 3,
	.service = { "pg", 2 },
	.client = { "192.0.2.1:5000", 14 },
	.server = { "192.0.2.9:5432", 14 },
	.user = { "demo", 4 },
	.database = { "shop", 4 },
	.application = { "psql", 4 },
};

static const struct tg_punt_sess sess_flow = {
	.worker = 0,
	.tcp_state = TG_PUNT_TCP_CLOSING,
	.bytes_up = 1,
	.bytes_down = UINT64_MAX,
	.service = { "redis", 5 },
	.client = { "[2001:db8::1]:41000", 19 },
	.server = { "[2001:db8::5]:6379", 18 },
};

/* Encodes sample i into buf; returns its length. */
static size_t
sample(int i, uint8_t *buf, size_t size)
{
	struct tg_punt_hello_ack ack;
	struct tg_punt_policy_ack pa;
	struct tg_punt_policy pol = { .json = S(policy_json) };
	struct tg_punt_event ev;
	struct tg_punt_enc e;
	int n = -1;

	switch (i) {
	case 0:
		n = tg_punt_encode_hello(buf, size, 1, &hello_dp);
		break;
	case 1:
		tg_punt_hello_answer(&hello_sp, &hello_dp, &ack);
		n = tg_punt_encode_hello_ack(buf, size, 1, &ack);
		break;
	case 2:
		tg_punt_hello_answer(&hello_sp, &hello_sp, &ack);
		n = tg_punt_encode_hello_ack(buf, size, 1, &ack);
		break;
	case 3:
		assert_int_equal(tg_punt_batch_begin(&e, buf, size, 2, 100), 0);
		ev = ev_statement();
		assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		ev = ev_start();
		assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		ev = ev_end();
		assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		n = tg_punt_batch_end(&e);
		break;
	case 4:
		assert_int_equal(tg_punt_batch_begin(&e, buf, size, 3, 1), 0);
		ev = ev_end();
		assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		n = tg_punt_batch_end(&e);
		break;
	case 5:
		n = tg_punt_encode_batch_ack(buf, size, 2, 102);
		break;
	case 6:
		n = tg_punt_policy_encode(&pol, policy_obj, sizeof(policy_obj));
		assert_true(n > 0);
		policy_chunk = (struct tg_punt_policy_chunk){
			.gen = 4, .total = (uint32_t)n, .offset = 0, .len = (uint32_t)n,
			.data = policy_obj,
		};
		n = tg_punt_encode_policy_gen(buf, size, 3, &policy_chunk);
		break;
	case 7:
		pa = (struct tg_punt_policy_ack){ .gen = 4, .status = TG_PUNT_POLICY_APPLIED };
		n = tg_punt_encode_policy_ack(buf, size, 4, &pa);
		break;
	case 8:
		pa = (struct tg_punt_policy_ack){
			.gen = 5,
			.status = TG_PUNT_POLICY_REFUSED,
			.reason = S("rule r1: pattern does not compile"),
		};
		n = tg_punt_encode_policy_ack(buf, size, 5, &pa);
		break;
	case 9:
		n = tg_punt_encode_stats_request(buf, size, 9);
		break;
	case 10:
		assert_int_equal(tg_punt_stats_begin(&e, buf, size, 6, 9), 0);
		assert_int_equal(tg_punt_stats_add(&e, "worker0.rx_pkts", 12345), 0);
		assert_int_equal(tg_punt_stats_add(&e, "inspect.blocked", 0), 0);
		assert_int_equal(tg_punt_stats_add(&e, "x", UINT64_MAX), 0);
		n = tg_punt_stats_end(&e, false);
		break;
	case 11:
		assert_int_equal(tg_punt_stats_begin(&e, buf, size, 7, 9), 0);
		n = tg_punt_stats_end(&e, true);
		break;
	case 12:
		assert_int_equal(tg_punt_batch_begin(&e, buf, size, 4, 200), 0);
		ev = ev_begin();
		assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		ev = ev_statement();
		assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		ev = ev_lost();
		assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		n = tg_punt_batch_end(&e);
		break;
	case 13:
		n = tg_punt_encode_services(buf, size, 2, services_names,
					    ARRAY_SIZE(services_names));
		break;
	case 14:
		pol.db.p = policy_db;
		pol.db.len = sizeof(policy_db);
		n = tg_punt_policy_encode(&pol, policy_db_obj, sizeof(policy_db_obj));
		assert_true(n > 0);
		policy_chunk = (struct tg_punt_policy_chunk){
			.gen = 9, .total = (uint32_t)n, .offset = 0, .len = (uint32_t)n,
			.data = policy_db_obj,
		};
		n = tg_punt_encode_policy_gen(buf, size, 3, &policy_chunk);
		break;
	case 15: {
		struct tg_punt_sess_request q = {
			.kind = TG_PUNT_SESS_KILL, .worker = 1, .session = 42, .limit = 1,
			.service = S("pg"),
		};

		n = tg_punt_encode_sess_request(buf, size, 10, &q);
		break;
	}
	case 16:
		assert_int_equal(tg_punt_sess_begin(&e, buf, size, 8, 10, TG_PUNT_SESS_OK), 0);
		assert_int_equal(tg_punt_sess_add(&e, &sess_pg), 0);
		assert_int_equal(tg_punt_sess_add(&e, &sess_flow), 0);
		n = tg_punt_sess_end(&e, true);
		break;
	case 17:
		assert_int_equal(tg_punt_sess_begin(&e, buf, size, 9, 11, TG_PUNT_SESS_NOT_FOUND),
				 0);
		n = tg_punt_sess_end(&e, true);
		break;
	case 18:
	case 19:
	case 20:
	case 21: {
		struct tg_punt_auth a = auth_sample(i);

		n = tg_punt_encode_auth(buf, size, 12, i == 18	 ? TG_PUNT_T_AUTH_REQUEST
						       : i == 19 ? TG_PUNT_T_AUTH_SERVER
								 : TG_PUNT_T_AUTH_REPLY,
					&a);
		break;
	}
	case 22:
	case 23: {
		struct tg_punt_audit_state as = {
			.state = i == 22 ? TG_PUNT_AUDIT_FULL : TG_PUNT_AUDIT_OK,
			.reason = i == 22 ? S("audit map 0.9 of 1.0 MiB used (92%, full at 90%)")
					  : S(""),
		};

		n = tg_punt_encode_audit_state(buf, size, 13, &as);
		break;
	}
	case 24:
	case 25:
	case 26: {
		struct tg_punt_hold h = hold_sample(i);

		n = tg_punt_encode_hold(buf, size, 14,
					i == 26 ? TG_PUNT_T_HOLD_REPLY : TG_PUNT_T_HOLD_REQUEST, &h);
		break;
	}
	case 27: {
		static const uint8_t flows[] = { TG_PUNT_EV_FLOW_START, TG_PUNT_EV_FLOW_REFUSED,
						 TG_PUNT_EV_FLOW_END };

		assert_int_equal(tg_punt_batch_begin(&e, buf, size, 14, 300), 0);
		for (unsigned int k = 0; k < ARRAY_SIZE(flows); k++) {
			ev = ev_flow(flows[k]);
			assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		}
		n = tg_punt_batch_end(&e);
		break;
	}
	case 28:
		n = tg_punt_encode_tcp_services(buf, size, 3, tcp_services_names,
						ARRAY_SIZE(tcp_services_names));
		break;
	case 29: {
		struct tg_punt_tcp_grants t = tcpg_sample();

		n = tg_punt_encode_tcp_grants(buf, size, 5, &t);
		break;
	}
	}
	assert_true(n >= TG_PUNT_HDR_LEN);
	return (size_t)n;
}

/* The names of a decoded SERVICES, as C strings for the encoder. */
static unsigned int
services_cstrs(const struct tg_punt_services *sv, const char *np[TG_PUNT_SERVICES_MAX])
{
	static char names[TG_PUNT_SERVICES_MAX][TG_PUNT_NAME_MAX + 1];
	unsigned int i;

	for (i = 0; i < sv->count; i++) {
		memcpy(names[i], sv->name[i].p, sv->name[i].len);
		names[i][sv->name[i].len] = '\0';
		np[i] = names[i];
	}
	return sv->count;
}

/*
 * Re-encodes a decoded message into out; returns the length. The same
 * procedure as the fuzz target's.
 */
static size_t
reencode(const struct tg_punt_msg *m, uint8_t *out, size_t size)
{
	struct tg_punt_iter it;
	struct tg_punt_event ev;
	struct tg_punt_str name;
	struct tg_punt_enc e;
	char cname[TG_PUNT_NAME_MAX + 1];
	const char *np[TG_PUNT_SERVICES_MAX];
	uint64_t value;
	int n = -1;

	switch (m->hdr.type) {
	case TG_PUNT_T_HELLO:
		n = tg_punt_encode_hello(out, size, m->hdr.seq, &m->u.hello);
		break;
	case TG_PUNT_T_HELLO_ACK:
		n = tg_punt_encode_hello_ack(out, size, m->hdr.seq, &m->u.hello_ack);
		break;
	case TG_PUNT_T_EVENT_BATCH:
		assert_int_equal(
			tg_punt_batch_begin(&e, out, size, m->hdr.seq, m->u.batch.first_seq), 0);
		it = m->u.batch.events;
		while (tg_punt_batch_next(&it, &ev))
			assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
		assert_int_equal(e.count, m->u.batch.count);
		n = tg_punt_batch_end(&e);
		break;
	case TG_PUNT_T_BATCH_ACK:
		n = tg_punt_encode_batch_ack(out, size, m->hdr.seq, m->u.durable_seq);
		break;
	case TG_PUNT_T_POLICY_GEN:
		n = tg_punt_encode_policy_gen(out, size, m->hdr.seq, &m->u.policy);
		break;
	case TG_PUNT_T_POLICY_ACK:
		n = tg_punt_encode_policy_ack(out, size, m->hdr.seq, &m->u.policy_ack);
		break;
	case TG_PUNT_T_STATS_REQUEST:
		n = tg_punt_encode_stats_request(out, size, m->hdr.seq);
		break;
	case TG_PUNT_T_STATS_RESPONSE:
		assert_int_equal(
			tg_punt_stats_begin(&e, out, size, m->hdr.seq, m->u.stats.in_reply_to), 0);
		it = m->u.stats.pairs;
		while (tg_punt_stats_next(&it, &name, &value)) {
			memcpy(cname, name.p, name.len);
			cname[name.len] = '\0';
			assert_int_equal(tg_punt_stats_add(&e, cname, value), 0);
		}
		assert_int_equal(e.count, m->u.stats.count);
		n = tg_punt_stats_end(&e, m->u.stats.last);
		break;
	case TG_PUNT_T_SERVICES:
		n = tg_punt_encode_services(out, size, m->hdr.seq, np,
					    services_cstrs(&m->u.services, np));
		break;
	case TG_PUNT_T_TCP_SERVICES:
		n = tg_punt_encode_tcp_services(out, size, m->hdr.seq, np,
						services_cstrs(&m->u.services, np));
		break;
	case TG_PUNT_T_TCP_GRANTS: {
		static struct tg_punt_tcp_grant list[TG_PUNT_TCP_GRANTS_MAX];
		struct tg_punt_tcp_grants t = m->u.tcpg;
		unsigned int k = 0;

		it = m->u.tcpg.entries;
		while (k < TG_PUNT_TCP_GRANTS_MAX && tg_punt_tcp_grant_next(&it, &list[k]))
			k++;
		assert_int_equal(k, m->u.tcpg.count);
		t.list = list;
		n = tg_punt_encode_tcp_grants(out, size, m->hdr.seq, &t);
		break;
	}
	case TG_PUNT_T_SESSIONS_REQUEST:
		n = tg_punt_encode_sess_request(out, size, m->hdr.seq, &m->u.sreq);
		break;
	case TG_PUNT_T_SESSIONS_RESPONSE: {
		struct tg_punt_sess se;

		assert_int_equal(tg_punt_sess_begin(&e, out, size, m->hdr.seq,
						    m->u.sresp.in_reply_to, m->u.sresp.status),
				 0);
		it = m->u.sresp.entries;
		while (tg_punt_sess_next(&it, &se))
			assert_int_equal(tg_punt_sess_add(&e, &se), 0);
		assert_int_equal(e.count, m->u.sresp.count);
		n = tg_punt_sess_end(&e, m->u.sresp.last);
		break;
	}
	case TG_PUNT_T_AUTH_REQUEST:
	case TG_PUNT_T_AUTH_SERVER:
	case TG_PUNT_T_AUTH_REPLY:
		n = tg_punt_encode_auth(out, size, m->hdr.seq, m->hdr.type, &m->u.auth);
		break;
	case TG_PUNT_T_AUDIT_STATE:
		n = tg_punt_encode_audit_state(out, size, m->hdr.seq, &m->u.audit);
		break;
	case TG_PUNT_T_HOLD_REQUEST:
	case TG_PUNT_T_HOLD_REPLY:
		n = tg_punt_encode_hold(out, size, m->hdr.seq, m->hdr.type, &m->u.hold);
		break;
	}
	assert_true(n >= TG_PUNT_HDR_LEN);
	return (size_t)n;
}

/* Decodes d, which must decode, re-encodes it and checks the bytes are the same. */
static void
assert_canonical(const uint8_t *d, size_t n)
{
	static uint8_t out[TG_PUNT_MSG_MAX];
	struct tg_punt_msg m;
	size_t len;

	assert_int_equal(decode_exact(d, n, &m), TG_PUNT_OK);
	len = reencode(&m, out, sizeof(out));
	assert_int_equal(len, n);
	assert_memory_equal(out, d, n);
}

/* ---------------------------------------------------------------------
 * Known answers
 * ------------------------------------------------------------------- */

static void
test_golden_hello(void **state)
{
	/* clang-format off */
	static const uint8_t want[] =
		/* magic "TGPC", version 1, type 1 (HELLO), flags 0 */
		"TGPC" "\x00\x01" "\x00\x01" "\x00\x00\x00\x00"
		/* length 60, seq 1 */
		"\x00\x00\x00\x3c" "\x00\x00\x00\x00\x00\x00\x00\x01"
		/* role 1 (dataplane), vmin 1, vmax 1 */
		"\x01" "\x00\x01" "\x00\x01"
		/* instance 0x0102030405060708, caps 1 (stats) */
		"\x01\x02\x03\x04\x05\x06\x07\x08" "\x00\x00\x00\x00\x00\x00\x00\x01"
		/* software: 14 bytes, "tollgate 0.1.0" */
		"\x0e" "tollgate 0.1.0";
	/* clang-format on */
	uint8_t buf[128];
	struct tg_punt_msg m;

	assert_int_equal(sample(0, buf, sizeof(buf)), sizeof(want) - 1);
	assert_memory_equal(buf, want, sizeof(want) - 1);
	assert_int_equal(decode_exact(want, sizeof(want) - 1, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_HELLO);
	assert_int_equal(m.u.hello.instance, 0x0102030405060708ull);
}

static void
test_golden_batch(void **state)
{
	/* clang-format off */
	static const uint8_t want[] =
		/* magic, version 1, type 3 (EVENT_BATCH), flags 0, length 85, seq 3 */
		"TGPC" "\x00\x01" "\x00\x03" "\x00\x00\x00\x00" "\x00\x00\x00\x55"
		"\x00\x00\x00\x00\x00\x00\x00\x03"
		/* first_seq 1, count 1 */
		"\x00\x00\x00\x00\x00\x00\x00\x01" "\x00\x01"
		/* event: type 3 (SESSION_END), flags 0, len 51, worker 65535, service 65535 */
		"\x03" "\x00" "\x00\x33" "\xff\xff" "\xff\xff"
		/* session 2^64-1 */
		"\xff\xff\xff\xff\xff\xff\xff\xff"
		/* reason 3 (failed), t_start 5, t_end 2^64-1 */
		"\x03" "\x00\x00\x00\x00\x00\x00\x00\x05" "\xff\xff\xff\xff\xff\xff\xff\xff"
		/* service_name "pg", client "192.0.2.1:5000" */
		"\x02" "pg" "\x0e" "192.0.2.1:5000";
	/* clang-format on */
	uint8_t buf[128];
	struct tg_punt_msg m;
	struct tg_punt_event ev, want_ev = ev_end();

	assert_int_equal(sample(4, buf, sizeof(buf)), sizeof(want) - 1);
	assert_memory_equal(buf, want, sizeof(want) - 1);
	assert_int_equal(decode_exact(want, sizeof(want) - 1, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
	assert_same_event(&ev, &want_ev);
	assert_int_equal(ev.seq, 1);
	assert_false(tg_punt_batch_next(&m.u.batch.events, &ev));
}

static void
test_golden_lost(void **state)
{
	/* clang-format off */
	static const uint8_t want[] =
		/* magic, version 1, type 3 (EVENT_BATCH), flags 0, length 66, seq 5 */
		"TGPC" "\x00\x01" "\x00\x03" "\x00\x00\x00\x00" "\x00\x00\x00\x42"
		"\x00\x00\x00\x00\x00\x00\x00\x05"
		/* first_seq 9, count 1 */
		"\x00\x00\x00\x00\x00\x00\x00\x09" "\x00\x01"
		/* event: type 5 (LOST), flags 0, len 32, worker 5, service 0 */
		"\x05" "\x00" "\x00\x20" "\x00\x05" "\x00\x00"
		/* session 0 */
		"\x00\x00\x00\x00\x00\x00\x00\x00"
		/* lost 12345, t_end 1700000000999999999 */
		"\x00\x00\x00\x00\x00\x00\x30\x39" "\x17\x97\x9c\xfe\x71\xc4\xc9\xff";
	/* clang-format on */
	uint8_t buf[128];
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	struct tg_punt_event ev = ev_lost(), got;
	int n;

	(void)state;
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 5, 9), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(buf, want, sizeof(want) - 1);
	assert_int_equal(decode_exact(want, sizeof(want) - 1, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	assert_same_event(&got, &ev);
	assert_int_equal(got.seq, 9);
	assert_false(tg_punt_batch_next(&m.u.batch.events, &got));
}

/* A STATEMENT_BEGIN event: flags, then the eight strings of ev_begin() (wire order). */
static const char *const begin_strs[8] = {
	"shop-pg", "192.0.2.10:50000", "alice", "shop", "psql", "no-drop", "DROP TABLE cards",
	"$1='x'",
};

static void
raw_begin(struct raw *r, uint8_t flags, uint8_t kind, uint8_t verdict, uint32_t stmt,
	  const char *const str[8])
{
	size_t at = raw_ev(r, TG_PUNT_EV_STATEMENT_BEGIN, flags, 2, 4, 0x0a0b0c0d0e0f1011ull);
	int i;

	raw8(r, kind);
	raw8(r, verdict);
	raw32(r, stmt);
	raw64(r, 1700000000000000001ull);	/* t_start */
	for (i = 0; i < 6; i++)
		raws8(r, str[i]);
	raws16(r, str[6]);
	raws16(r, str[7]);
	raw_ev_end(r, at);
}

/* A LOST event: lost u64, t_end u64. */
static void
raw_lost(struct raw *r, uint8_t flags, uint16_t service, uint64_t session, uint64_t lost)
{
	size_t at = raw_ev(r, TG_PUNT_EV_LOST, flags, 5, service, session);

	raw64(r, lost);
	raw64(r, 1700000000999999999ull);
	raw_ev_end(r, at);
}

/* The independent writer and the encoder agree on STATEMENT_BEGIN. */
static void
test_raw_writer_agrees_begin(void **state)
{
	static struct raw r;
	uint8_t buf[1024];
	struct tg_punt_enc e;
	struct tg_punt_event ev = ev_begin();
	int n;

	(void)state;
	raw_batch(&r, 100, 1);
	raw_begin(&r, TG_PUNT_EV_F_TEXT_CUT | TG_PUNT_EV_F_STRICT, TG_PUNT_STMT_FCALL,
		  TG_PUNT_VERDICT_BLOCK, UINT32_MAX, begin_strs);
	raw_end(&r);
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 7, 100), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_int_equal(n, r.n);
	assert_memory_equal(buf, r.b, r.n);
}

/* The independent writer and the encoder agree on a full statement event. */
static void
test_raw_writer_agrees(void **state)
{
	static struct raw r;
	uint8_t buf[4096];
	struct tg_punt_enc e;
	struct tg_punt_event ev = ev_statement();
	int n;

	raw_stmt_batch(&r);
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 7, 100), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_int_equal(n, r.n);
	assert_memory_equal(buf, r.b, r.n);
}

/* ---------------------------------------------------------------------
 * Round trips
 * ------------------------------------------------------------------- */

static void
test_roundtrip_hello(void **state)
{
	uint8_t buf[256];
	struct tg_punt_msg m;
	size_t n = sample(0, buf, sizeof(buf));

	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.version, TG_PUNT_VERSION_HELLO);
	assert_int_equal(m.hdr.type, TG_PUNT_T_HELLO);
	assert_int_equal(m.hdr.flags, 0);
	assert_int_equal(m.hdr.length, n);
	assert_int_equal(m.hdr.seq, 1);
	assert_int_equal(m.u.hello.role, TG_PUNT_ROLE_DATAPLANE);
	assert_int_equal(m.u.hello.vmin, 1);
	assert_int_equal(m.u.hello.vmax, 1);
	assert_int_equal(m.u.hello.instance, hello_dp.instance);
	assert_int_equal(m.u.hello.caps, TG_PUNT_CAP_STATS);
	ASSERT_STR(m.u.hello.software, "tollgate 0.1.0");
}

static void
test_roundtrip_hello_ack(void **state)
{
	uint8_t buf[256];
	struct tg_punt_msg m;
	size_t n = sample(1, buf, sizeof(buf));
	const struct tg_punt_hello_ack *a = &m.u.hello_ack;

	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_HELLO_ACK);
	assert_int_equal(a->role, TG_PUNT_ROLE_SLOWPATH);
	assert_int_equal(a->status, TG_PUNT_HELLO_ACCEPT);
	assert_int_equal(a->refuse, TG_PUNT_REFUSE_NONE);
	assert_int_equal(a->version, 1);
	assert_int_equal(a->vmin, 1);
	assert_int_equal(a->vmax, 1);
	assert_int_equal(a->instance, 0xfeed);
	assert_int_equal(a->caps, 0);
	ASSERT_STR(a->software, "tollgate 0.1.0");
	assert_int_equal(a->reason.len, 0);

	n = sample(2, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(a->status, TG_PUNT_HELLO_REFUSE);
	assert_int_equal(a->refuse, TG_PUNT_REFUSE_ROLE);
	assert_int_equal(a->version, 0);
	ASSERT_STR(a->reason, "the peer states the answerer's role");
}

static void
test_roundtrip_batch(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	struct tg_punt_event ev, want[3] = { ev_statement(), ev_start(), ev_end() };
	struct tg_punt_msg m;
	size_t n = sample(3, buf, sizeof(buf));
	int i;

	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_EVENT_BATCH);
	assert_int_equal(m.hdr.seq, 2);
	assert_int_equal(m.u.batch.first_seq, 100);
	assert_int_equal(m.u.batch.count, 3);
	for (i = 0; i < 3; i++) {
		assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
		assert_int_equal(ev.seq, 100 + i);
		assert_same_event(&ev, &want[i]);
	}
	assert_false(tg_punt_batch_next(&m.u.batch.events, &ev));
	assert_false(tg_punt_batch_next(&m.u.batch.events, &ev));
}

/* Fields a type does not carry are not sent, and decode as zero. */
static void
test_roundtrip_batch_unused_fields(void **state)
{
	uint8_t buf[1024];
	struct tg_punt_event ev = ev_statement(), got;
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	int n;

	ev.type = TG_PUNT_EV_SESSION_END;
	ev.end_reason = TG_PUNT_END_CLOSED;
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_true(n > 0);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	assert_int_equal(got.end_reason, TG_PUNT_END_CLOSED);
	assert_same_str(got.client, ev.client);
	assert_false(got.text_cut);
	assert_int_equal(got.rows, 0);
	assert_int_equal(got.masked[TG_PUNT_DETECT_CARD], 0);
	assert_int_equal(got.user.len, 0);
	assert_int_equal(got.text.len, 0);
}

/* STATEMENT_BEGIN and LOST: every field back, numbered on from first_seq. */
static void
test_roundtrip_begin_lost(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	struct tg_punt_event ev, want[3] = { ev_begin(), ev_statement(), ev_lost() };
	struct tg_punt_msg m;
	size_t n = sample(12, buf, sizeof(buf));
	int i;

	(void)state;
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_EVENT_BATCH);
	assert_int_equal(m.u.batch.first_seq, 200);
	assert_int_equal(m.u.batch.count, 3);
	for (i = 0; i < 3; i++) {
		assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
		assert_int_equal(ev.seq, 200 + i);
		assert_same_event(&ev, &want[i]);
	}
	assert_false(tg_punt_batch_next(&m.u.batch.events, &ev));
}

/* The fields STATEMENT_BEGIN and LOST do not carry are not sent, and decode as zero. */
static void
test_roundtrip_begin_lost_unused_fields(void **state)
{
	uint8_t buf[2048];
	struct tg_punt_event ev, got, want;
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	int n;

	(void)state;
	/* a statement is never strict: only its begin is */
	ev = ev_statement();
	ev.strict = true;
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	assert_false(got.strict);
	assert_int_equal(buf[34 + 1], TG_PUNT_EV_F_TEXT_CUT);

	/* a begin given a statement's result fields */
	ev = ev_statement();
	ev.type = TG_PUNT_EV_STATEMENT_BEGIN;
	ev.server = S("198.18.0.2:5432");
	ev.end_reason = TG_PUNT_END_CLOSED;
	ev.lost = 3;
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	/* a LOST given strings and statement fields */
	ev = ev_statement();
	ev.type = TG_PUNT_EV_LOST;
	ev.service = 0;
	ev.session = 0;
	ev.lost = 1;
	ev.t_start_ns = 77;
	ev.strict = true;
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_true(n > 0);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);

	want = (struct tg_punt_event){
		.seq = 1,
		.type = TG_PUNT_EV_STATEMENT_BEGIN,
		.worker = 3,
		.service = 1,
		.session = 0x1122334455667788ull,
		.t_start_ns = 1000,
		.kind = TG_PUNT_STMT_EXECUTE,
		.verdict = TG_PUNT_VERDICT_LOG,
		.text_cut = true,
		.stmt = 7,
	};
	want.service_name = S("shop-pg");
	want.client = S("192.0.2.10:50000");
	want.user = S("alice");
	want.database = S("shop");
	want.application = S("psql");
	want.rule = S("no-drop");
	want.text = S("SELECT * FROM nosuch WHERE card = $1");
	want.params = S("$1='****'");
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	assert_same_event(&got, &want);	/* no result, rows, masks, sqlstate, t_end */

	want = (struct tg_punt_event){
		.seq = 2, .type = TG_PUNT_EV_LOST, .worker = 3, .lost = 1, .t_end_ns = 2000,
	};
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	assert_same_event(&got, &want);	/* no strings, no start, no flag */
	assert_false(tg_punt_batch_next(&m.u.batch.events, &got));
}

/* Every string at its cap and every detector kind: the largest event. */
static void
test_roundtrip_batch_max_event(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	static char name[TG_PUNT_NAME_MAX], text[TG_PUNT_TEXT_MAX], params[TG_PUNT_PARAMS_MAX];
	struct tg_punt_event ev = ev_statement(), got;
	struct tg_punt_str nm = { name, sizeof(name) };
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	int k, n;

	memset(name, 'n', sizeof(name));
	memset(text, 't', sizeof(text));
	memset(params, 'p', sizeof(params));
	ev.service_name = ev.client = ev.user = ev.database = ev.application = ev.rule = nm;
	ev.text = (struct tg_punt_str){ text, sizeof(text) };
	ev.params = (struct tg_punt_str){ params, sizeof(params) };
	for (k = 1; k < TG_PUNT_DETECT_MAX; k++)
		ev.masked[k] = UINT32_MAX - (uint32_t)k;
	ev.rows = UINT64_MAX;
	ev.masked_columns = UINT32_MAX;
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_int_equal(n, TG_PUNT_HDR_LEN + 10 + TG_PUNT_EVENT_MAX);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	assert_same_event(&got, &ev);
}

/*
 * RECORD (code 20): a piece of a recording, its bytes as they are (NUL and
 * all); refused when empty or over TG_PUNT_RECORD_MAX, or with flags.
 */
static void
test_roundtrip_record(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX], data[TG_PUNT_RECORD_MAX + 1];
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_RECORD, .worker = 2, .service = 1, .session = 77,
		.piece = 9, .rec = data, .rec_len = TG_PUNT_RECORD_MAX,
	}, got;
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_true(n > 0);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	assert_int_equal(got.type, TG_PUNT_EV_RECORD);
	assert_int_equal(got.piece, 9);
	assert_int_equal(got.session, 77);
	assert_int_equal(got.rec_len, TG_PUNT_RECORD_MAX);
	assert_memory_equal(got.rec, data, TG_PUNT_RECORD_MAX);
	/* a byte of the length changed: too long, then empty */
	buf[TG_PUNT_HDR_LEN + 10 + 20] = 0xff;
	assert_int_not_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	ev.rec_len = TG_PUNT_RECORD_MAX + 1;
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_true(tg_punt_batch_add(&e, &ev) < 0);
	ev.rec_len = 0;
	assert_true(tg_punt_batch_add(&e, &ev) < 0);
}

/* add() takes events until the datagram (or the count cap) is full. */
static void
test_batch_fill(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX], copy[TG_PUNT_MSG_MAX];
	struct tg_punt_event ev = ev_statement(), small = ev_end(), got;
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	size_t before, evlen;
	int added, rc, n, i;

	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1000), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	added = 1;
	evlen = e.len - 34;
	while ((rc = tg_punt_batch_add(&e, &ev)) == 0)
		added++;
	assert_int_equal(rc, -ENOSPC);
	assert_true(added > 100);
	before = e.len;
	memcpy(copy, buf, e.len);
	/* a refused add leaves the batch as it was */
	assert_int_equal(tg_punt_batch_add(&e, &ev), -ENOSPC);
	assert_int_equal(e.len, before);
	assert_int_equal(e.count, added);
	assert_memory_equal(buf, copy, before);
	n = tg_punt_batch_end(&e);
	assert_true(n > 0 && n <= TG_PUNT_MSG_MAX);
	/* full: another event would not have fitted */
	assert_true((size_t)n + evlen > TG_PUNT_MSG_MAX);
	assert_int_equal((size_t)n, 34 + (size_t)added * evlen);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_int_equal(m.u.batch.count, added);
	for (i = 0; i < added; i++) {
		assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
		assert_int_equal(got.seq, 1000 + (uint64_t)i);
		assert_same_event(&got, &ev);
	}

	/* small events: the count cap is reached first */
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	added = 0;
	while ((rc = tg_punt_batch_add(&e, &small)) == 0)
		added++;
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(added, TG_PUNT_BATCH_MAX);
	n = tg_punt_batch_end(&e);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_int_equal(m.u.batch.count, TG_PUNT_BATCH_MAX);

	/* a caller buffer smaller than the datagram maximum bounds it */
	assert_int_equal(tg_punt_batch_begin(&e, buf, 300, 1, 1), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), -ENOSPC);
	n = tg_punt_batch_end(&e);
	assert_true(n <= 300);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	/* and one too small for the header is refused at begin */
	assert_int_equal(tg_punt_batch_begin(&e, buf, 33, 1, 1), -ENOSPC);
}

static void
test_batch_encode_invalid(void **state)
{
	static uint8_t buf[4096];
	static char longname[TG_PUNT_NAME_MAX + 1];
	struct tg_punt_event ev = ev_statement(), bad;
	struct tg_punt_enc e;
	size_t before;

	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 0, 1), -EINVAL);
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 0), -EINVAL);
	assert_int_equal(tg_punt_batch_begin(&e, NULL, sizeof(buf), 1, 1), -EINVAL);
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_batch_end(&e), -EINVAL);	/* no event */
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	before = e.len;

	memset(longname, 'x', sizeof(longname));
	bad = ev;
	bad.user = (struct tg_punt_str){ longname, sizeof(longname) };
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.sqlstate = S("42P011");
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.text = (struct tg_punt_str){ NULL, 3 };
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.type = 0;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.type = TG_PUNT_EV_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.kind = TG_PUNT_STMT_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.verdict = TG_PUNT_VERDICT_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.result = TG_PUNT_RESULT_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.masked[0] = 1;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev;
	bad.stmt = 0;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev_end();
	bad.end_reason = 0;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad.end_reason = TG_PUNT_END_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	/* STATEMENT_BEGIN: numbered, codes in range, strings within their caps */
	bad = ev_begin();
	bad.stmt = 0;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev_begin();
	bad.kind = TG_PUNT_STMT_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev_begin();
	bad.verdict = TG_PUNT_VERDICT_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev_begin();
	bad.rule = (struct tg_punt_str){ longname, sizeof(longname) };
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	/* LOST: a count, and no service or session */
	bad = ev_lost();
	bad.lost = 0;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev_lost();
	bad.service = 1;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	bad = ev_lost();
	bad.session = 1;
	assert_int_equal(tg_punt_batch_add(&e, &bad), -EINVAL);
	assert_int_equal(e.len, before);
	assert_int_equal(e.count, 1);
	bad = ev_begin();
	bad.stmt = 1;
	assert_int_equal(tg_punt_batch_add(&e, &bad), 0);
	bad = ev_lost();
	bad.lost = UINT64_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &bad), 0);
	assert_int_equal(e.count, 3);

	/* event numbers must not wrap */
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, UINT64_MAX), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	assert_true(tg_punt_batch_end(&e) > 0);
}

/* A NUL from the network costs neither the event nor the connection. */
static void
test_batch_nul_sanitized(void **state)
{
	static const char user[] = "al\0ce", params[] = "$1='a\0b'";
	uint8_t buf[1024];
	struct tg_punt_event ev = ev_statement(), got;
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	int n;

	ev.user = (struct tg_punt_str){ user, sizeof(user) - 1 };
	ev.params = (struct tg_punt_str){ params, sizeof(params) - 1 };
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	n = tg_punt_batch_end(&e);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &got));
	ASSERT_STR(got.user, "al?ce");
	ASSERT_STR(got.params, "$1='a?b'");
}

static void
test_roundtrip_small(void **state)
{
	uint8_t buf[256];
	struct tg_punt_policy_ack pa;
	struct tg_punt_msg m;
	size_t n;

	n = sample(5, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_BATCH_ACK);
	assert_int_equal(m.u.durable_seq, 102);

	n = sample(7, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_POLICY_ACK);
	assert_int_equal(m.u.policy_ack.gen, 4);
	assert_int_equal(m.u.policy_ack.status, TG_PUNT_POLICY_APPLIED);
	assert_int_equal(m.u.policy_ack.reason.len, 0);

	n = sample(8, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.u.policy_ack.gen, 5);
	assert_int_equal(m.u.policy_ack.status, TG_PUNT_POLICY_REFUSED);
	ASSERT_STR(m.u.policy_ack.reason, "rule r1: pattern does not compile");

	n = sample(9, buf, sizeof(buf));
	assert_int_equal(n, TG_PUNT_HDR_LEN);
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_STATS_REQUEST);
	assert_int_equal(m.hdr.seq, 9);

	/* what the decoder would refuse, the encoders refuse */
	assert_int_equal(tg_punt_encode_batch_ack(buf, sizeof(buf), 1, 0), -EINVAL);
	assert_int_equal(tg_punt_encode_stats_request(buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(tg_punt_encode_stats_request(buf, TG_PUNT_HDR_LEN - 1, 1), -ENOSPC);
	pa = (struct tg_punt_policy_ack){ .gen = 1, .status = TG_PUNT_POLICY_REFUSED };
	assert_int_equal(tg_punt_encode_policy_ack(buf, sizeof(buf), 1, &pa), -EINVAL);
	pa.status = TG_PUNT_POLICY_APPLIED;
	pa.reason = S("why");
	assert_int_equal(tg_punt_encode_policy_ack(buf, sizeof(buf), 1, &pa), -EINVAL);
	pa.reason = S("");
	assert_true(tg_punt_encode_policy_ack(buf, sizeof(buf), 1, &pa) > 0);
	pa.gen = 0;
	assert_int_equal(tg_punt_encode_policy_ack(buf, sizeof(buf), 1, &pa), -EINVAL);
}

static void
test_roundtrip_stats(void **state)
{
	static const struct {
		const char *name;
		uint64_t value;
	} want[] = { { "worker0.rx_pkts", 12345 }, { "inspect.blocked", 0 }, { "x", UINT64_MAX } };
	uint8_t buf[512];
	struct tg_punt_str name;
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	uint64_t value;
	size_t n = sample(10, buf, sizeof(buf)), i;

	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_STATS_RESPONSE);
	assert_int_equal(m.u.stats.in_reply_to, 9);
	assert_int_equal(m.u.stats.count, 3);
	assert_false(m.u.stats.last);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		assert_true(tg_punt_stats_next(&m.u.stats.pairs, &name, &value));
		assert_str(name, want[i].name, strlen(want[i].name));
		assert_int_equal(value, want[i].value);
	}
	assert_false(tg_punt_stats_next(&m.u.stats.pairs, &name, &value));

	n = sample(11, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.u.stats.count, 0);
	assert_true(m.u.stats.last);

	assert_int_equal(tg_punt_stats_begin(&e, buf, sizeof(buf), 1, 1), 0);
	assert_int_equal(tg_punt_stats_add(&e, "", 1), -EINVAL);
	assert_int_equal(tg_punt_stats_add(&e, "has space", 1), -EINVAL);
	assert_int_equal(tg_punt_stats_add(&e, "tab\there", 1), -EINVAL);
	assert_int_equal(tg_punt_stats_add(&e, "caf\xc3\xa9", 1), -EINVAL);
	assert_int_equal(tg_punt_stats_add(&e, NULL, 1), -EINVAL);
	assert_int_equal(tg_punt_stats_add(&e,
					   "a123456789b123456789c123456789d123456789"
					   "e123456789f123456789g123",
					   1),
			 -EINVAL);	/* 64 bytes */
	assert_int_equal(tg_punt_stats_add(&e,
					   "a123456789b123456789c123456789d123456789"
					   "e123456789f123456789g12",
					   1),
			 0);
	assert_int_equal(e.count, 1);
	assert_int_equal(tg_punt_batch_add(&e, &(struct tg_punt_event){ 0 }), -EINVAL);
}

static void
assert_same_sess(const struct tg_punt_sess *a, const struct tg_punt_sess *b)
{
	assert_int_equal(a->pg, b->pg);
	assert_int_equal(a->worker, b->worker);
	assert_int_equal(a->session, b->session);
	assert_int_equal(a->tcp_state, b->tcp_state);
	assert_int_equal(a->t_start_ns, b->t_start_ns);
	assert_int_equal(a->bytes_up, b->bytes_up);
	assert_int_equal(a->bytes_down, b->bytes_down);
	assert_int_equal(a->stmts, b->stmts);
	assert_str(a->service, b->service.p, b->service.len);
	assert_str(a->client, b->client.p, b->client.len);
	assert_str(a->server, b->server.p, b->server.len);
	assert_str(a->user, b->user.p, b->user.len);
	assert_str(a->database, b->database.p, b->database.len);
	assert_str(a->application, b->application.p, b->application.len);
}

/* SESSIONS_REQUEST and SESSIONS_RESPONSE: values through, and what is refused. */
static void
test_roundtrip_sessions(void **state)
{
	uint8_t buf[2048];
	struct tg_punt_sess_request q;
	struct tg_punt_sess se, bad;
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	size_t n = sample(15, buf, sizeof(buf));
	int i;

	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_SESSIONS_REQUEST);
	assert_int_equal(tg_punt_type_sender(m.hdr.type), TG_PUNT_ROLE_SLOWPATH);
	assert_int_equal(m.u.sreq.kind, TG_PUNT_SESS_KILL);
	assert_int_equal(m.u.sreq.worker, 1);
	assert_int_equal(m.u.sreq.session, 42);
	assert_int_equal(m.u.sreq.limit, 1);
	assert_str(m.u.sreq.service, "pg", 2);

	n = sample(16, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(tg_punt_type_sender(m.hdr.type), TG_PUNT_ROLE_DATAPLANE);
	assert_int_equal(m.u.sresp.in_reply_to, 10);
	assert_int_equal(m.u.sresp.status, TG_PUNT_SESS_OK);
	assert_int_equal(m.u.sresp.count, 2);
	assert_true(m.u.sresp.last);
	assert_true(tg_punt_sess_next(&m.u.sresp.entries, &se));
	assert_same_sess(&se, &sess_pg);
	assert_true(tg_punt_sess_next(&m.u.sresp.entries, &se));
	assert_same_sess(&se, &sess_flow);
	assert_false(tg_punt_sess_next(&m.u.sresp.entries, &se));

	/* refused by the encoders: what would not decode */
	q = (struct tg_punt_sess_request){ .kind = TG_PUNT_SESS_KILL, .limit = 1 };
	assert_int_equal(tg_punt_encode_sess_request(buf, sizeof(buf), 1, &q), -EINVAL);
	q = (struct tg_punt_sess_request){ .kind = TG_PUNT_SESS_LIST, .limit = 0 };
	assert_int_equal(tg_punt_encode_sess_request(buf, sizeof(buf), 1, &q), -EINVAL);
	q = (struct tg_punt_sess_request){ .kind = TG_PUNT_SESS_KIND_MAX, .limit = 1 };
	assert_int_equal(tg_punt_encode_sess_request(buf, sizeof(buf), 1, &q), -EINVAL);
	q = (struct tg_punt_sess_request){ .kind = TG_PUNT_SESS_LIST, .limit = 1,
					   .service = { "a\0b", 3 } };
	assert_int_equal(tg_punt_encode_sess_request(buf, sizeof(buf), 1, &q), -EINVAL);
	assert_int_equal(tg_punt_sess_begin(&e, buf, sizeof(buf), 1, 0, TG_PUNT_SESS_OK), -EINVAL);
	assert_int_equal(tg_punt_sess_begin(&e, buf, sizeof(buf), 1, 1, TG_PUNT_SESS_STATUS_MAX),
			 -EINVAL);
	assert_int_equal(tg_punt_sess_begin(&e, buf, sizeof(buf), 1, 1, TG_PUNT_SESS_BUSY), 0);
	assert_int_equal(tg_punt_sess_add(&e, &sess_pg), -EINVAL);	/* entries with OK only */
	assert_int_equal(tg_punt_sess_begin(&e, buf, sizeof(buf), 1, 1, TG_PUNT_SESS_OK), 0);
	bad = sess_flow;
	bad.user = (struct tg_punt_str){ "u", 1 };	/* pg fields without pg */
	assert_int_equal(tg_punt_sess_add(&e, &bad), -EINVAL);
	bad = sess_pg;
	bad.session = 0;
	assert_int_equal(tg_punt_sess_add(&e, &bad), -EINVAL);
	bad = sess_pg;
	bad.tcp_state = TG_PUNT_TCP_MAX;
	assert_int_equal(tg_punt_sess_add(&e, &bad), -EINVAL);
	bad = sess_pg;
	bad.client.len = TG_PUNT_NAME_MAX + 1;
	assert_int_equal(tg_punt_sess_add(&e, &bad), -EINVAL);
	assert_int_equal(e.count, 0);
	assert_int_equal(tg_punt_batch_add(&e, &(struct tg_punt_event){ 0 }), -EINVAL);

	/* a datagram fills, then refuses with -ENOSPC and stays whole */
	for (i = 0; i < 10000; i++)
		if (tg_punt_sess_add(&e, &sess_pg) != 0)
			break;
	assert_int_equal(tg_punt_sess_add(&e, &sess_pg), -ENOSPC);
	assert_true(i > 1 && e.len <= sizeof(buf));
	assert_int_equal(decode_exact(buf, (size_t)tg_punt_sess_end(&e, false), &m), TG_PUNT_OK);
	assert_int_equal(m.u.sresp.count, i);

	/* refused by the decoder: flip one field at a time in sample 16 */
	n = sample(16, buf, sizeof(buf));
	buf[TG_PUNT_HDR_LEN + 8] = TG_PUNT_SESS_NOT_FOUND;	/* entries with a status */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_COUNT);
	n = sample(16, buf, sizeof(buf));
	buf[TG_PUNT_HDR_LEN + 11] = 2;	/* last not boolean */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_VALUE);
	n = sample(16, buf, sizeof(buf));
	buf[TG_PUNT_HDR_LEN + 12] = 0x03;	/* entry flag not defined */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_VALUE);
	n = sample(16, buf, sizeof(buf));
	buf[TG_PUNT_HDR_LEN + 12] = 0;	/* pg fields on a flow */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_VALUE);
	n = sample(16, buf, sizeof(buf));
	buf[TG_PUNT_HDR_LEN + 12 + 11] = TG_PUNT_TCP_MAX;	/* tcp_state */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_VALUE);
	n = sample(15, buf, sizeof(buf));
	buf[TG_PUNT_HDR_LEN] = 4;	/* kind */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_VALUE);
	n = sample(15, buf, sizeof(buf));
	memset(buf + TG_PUNT_HDR_LEN + 3, 0, 8);	/* KILL of session 0 */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_VALUE);
	n = sample(15, buf, sizeof(buf));
	memset(buf + TG_PUNT_HDR_LEN + 11, 0, 4);	/* limit 0 */
	assert_int_equal(tg_punt_decode(buf, n, &m), TG_PUNT_ERR_VALUE);
}

/* A policy object larger than a datagram travels in chunks, in order. */
static void
test_policy_chunks(void **state)
{
	static uint8_t dg[TG_PUNT_MSG_MAX];
	const size_t json_len = 200000;
	struct tg_punt_policy pol = { 0 }, got;
	struct tg_punt_policy_rx rx = { 0 };
	struct tg_punt_policy_chunk c;
	struct tg_punt_msg m;
	uint8_t *obj, *rebuilt = NULL;
	char *json;
	uint32_t off = 0, total;
	size_t i;
	int n, chunks = 0;

	json = malloc(json_len);
	assert_non_null(json);
	for (i = 0; i < json_len; i++)
		json[i] = (char)(' ' + i % 90);
	pol.json = (struct tg_punt_str){ json, (uint32_t)json_len };
	total = (uint32_t)tg_punt_policy_size(&pol);
	assert_int_equal(total, json_len + 6);
	obj = malloc(total);
	assert_non_null(obj);
	assert_int_equal(tg_punt_policy_encode(&pol, obj, total - 1), -ENOSPC);
	assert_int_equal(tg_punt_policy_encode(&pol, obj, total), (int)total);

	while (off < total) {
		c = (struct tg_punt_policy_chunk){ .gen = 77, .total = total, .offset = off,
						   .data = obj + off };
		c.len = total - off < TG_PUNT_POLICY_CHUNK_MAX ? total - off
							       : TG_PUNT_POLICY_CHUNK_MAX;
		/* one byte more than fits is refused */
		if (c.len == TG_PUNT_POLICY_CHUNK_MAX && total - off > c.len) {
			c.len++;
			n = tg_punt_encode_policy_gen(dg, sizeof(dg), 10, &c);
			assert_int_equal(n, -ENOSPC);
			c.len--;
		}
		n = tg_punt_encode_policy_gen(dg, sizeof(dg), 10 + (uint64_t)chunks, &c);
		assert_true(n > 0 && n <= TG_PUNT_MSG_MAX);
		assert_int_equal(decode_exact(dg, (size_t)n, &m), TG_PUNT_OK);
		assert_int_equal(m.hdr.type, TG_PUNT_T_POLICY_GEN);
		assert_int_equal(m.u.policy.gen, 77);
		assert_int_equal(m.u.policy.total, total);
		assert_int_equal(m.u.policy.offset, off);
		assert_int_equal(m.u.policy.len, c.len);
		assert_false(tg_punt_policy_rx_done(&rx));
		assert_int_equal(tg_punt_policy_rx_add(&rx, &m.u.policy), TG_PUNT_OK);
		if (m.u.policy.offset == 0) {
			rebuilt = malloc(m.u.policy.total);
			assert_non_null(rebuilt);
		}
		memcpy(rebuilt + m.u.policy.offset, m.u.policy.data, m.u.policy.len);
		off += c.len;
		chunks++;
	}
	assert_int_equal(chunks, (total + TG_PUNT_POLICY_CHUNK_MAX - 1) / TG_PUNT_POLICY_CHUNK_MAX);
	assert_true(tg_punt_policy_rx_done(&rx));
	assert_int_equal(tg_punt_policy_decode(rebuilt, total, &got), TG_PUNT_OK);
	assert_int_equal(got.json.len, json_len);
	assert_memory_equal(got.json.p, json, json_len);
	free(rebuilt);
	free(obj);
	free(json);
}

static void
test_policy_rx_order(void **state)
{
	static const uint8_t d[8] = { 0 };
	struct tg_punt_policy_rx rx = { 0 };
	struct tg_punt_policy_chunk c0 = { .gen = 5, .total = 8, .offset = 0, .len = 4, .data = d };
	struct tg_punt_policy_chunk c1 = { .gen = 5, .total = 8, .offset = 4, .len = 4, .data = d };
	struct tg_punt_policy_chunk c;

	/* a continuation with nothing started */
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c1), TG_PUNT_ERR_POLICY_ORDER);
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c0), TG_PUNT_OK);
	assert_false(tg_punt_policy_rx_done(&rx));
	/* a new start while one is incomplete */
	c = c0;
	c.gen = 6;
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c), TG_PUNT_ERR_POLICY_ORDER);
	/* another generation, total or offset */
	c = c1;
	c.gen = 6;
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c), TG_PUNT_ERR_POLICY_ORDER);
	c = c1;
	c.total = 9;
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c), TG_PUNT_ERR_POLICY_ORDER);
	c = c1;
	c.offset = 3;
	c.len = 5;
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c), TG_PUNT_ERR_POLICY_ORDER);
	/* a chunk no decoder passes */
	c = c1;
	c.len = 5;
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c), TG_PUNT_ERR_POLICY_CHUNK);
	c = c1;
	c.gen = 0;
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c), TG_PUNT_ERR_POLICY_CHUNK);
	/* state unchanged by all that */
	assert_int_equal(rx.got, 4);
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c1), TG_PUNT_OK);
	assert_true(tg_punt_policy_rx_done(&rx));
	/* whole: nothing continues it, a new generation may start */
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c1), TG_PUNT_ERR_POLICY_ORDER);
	c = c0;
	c.gen = 6;
	c.len = 8;
	c.total = 8;
	assert_int_equal(tg_punt_policy_rx_add(&rx, &c), TG_PUNT_OK);
	assert_true(tg_punt_policy_rx_done(&rx));
}

static enum tg_punt_err
policy_decode_raw(struct raw *r)
{
	struct tg_punt_policy p;
	struct dgram d = dg_copy(r->b, r->n);
	enum tg_punt_err err = tg_punt_policy_decode(d.b, d.n, &p);

	free(d.b);
	return err;
}

static void
test_policy_object_errors(void **state)
{
	static struct raw r;
	struct tg_punt_policy p = { .json = S("{}") };
	uint8_t obj[16];
	size_t k, n;

	/* TLV 1 (JSON), 2 bytes, "{}" */
	r.n = 0;
	raw16(&r, TG_PUNT_POL_JSON);
	raw32(&r, 2);
	rawbytes(&r, "{}", 2);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_OK);
	n = r.n;
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), (int)n);
	assert_memory_equal(obj, r.b, n);
	/* every truncation */
	for (k = 0; k < n; k++) {
		r.n = k;
		assert_int_equal(policy_decode_raw(&r), k == 0 ? TG_PUNT_ERR_TLV_MISSING
							       : TG_PUNT_ERR_TRUNC);
	}
	/* the JSON twice */
	r.n = n;
	raw16(&r, TG_PUNT_POL_JSON);
	raw32(&r, 2);
	rawbytes(&r, "[]", 2);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_ORDER);
	/* a TLV type this build does not know, before or after */
	r.n = n;
	raw16(&r, 3);
	raw32(&r, 1);
	raw8(&r, 0xaa);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TLV_TYPE);
	r.n = 0;
	raw16(&r, 0);
	raw32(&r, 0);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TLV_TYPE);
	/* an empty JSON, a NUL in it */
	r.n = 0;
	raw16(&r, TG_PUNT_POL_JSON);
	raw32(&r, 0);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_VALUE);
	r.n = 0;
	raw16(&r, TG_PUNT_POL_JSON);
	raw32(&r, 3);
	rawbytes(&r, "{\0}", 3);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_STR_NUL);
	/* a length past the object */
	r.n = 0;
	raw16(&r, TG_PUNT_POL_JSON);
	raw32(&r, UINT32_MAX);
	rawbytes(&r, "{}", 2);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TRUNC);
	/* the encoder refuses what would not decode */
	p.json = S("");
	assert_int_equal(tg_punt_policy_size(&p), 0);
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), -EINVAL);
	p.json = (struct tg_punt_str){ "{\0}", 3 };
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), -EINVAL);
	p.json = (struct tg_punt_str){ NULL, 0 };
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), -EINVAL);
}

/* The policy object with the serialised databases (TLV 2) and without. */
static void
test_policy_object_db(void **state)
{
	/* clang-format off */
	static const uint8_t want[] =
		/* TLV 1 (JSON), 2 bytes, "{}" */
		"\x00\x01" "\x00\x00\x00\x02" "{}"
		/* TLV 2 (DB), 7 bytes: binary, NULs included */
		"\x00\x02" "\x00\x00\x00\x07" "\x00\x01\xff\x00hs\x7f";
	/* clang-format on */
	static struct raw r;
	struct tg_punt_policy p = { .json = S("{}") }, got;
	uint8_t obj[64];
	size_t n = sizeof(want) - 1, k;
	struct dgram d;

	(void)state;
	/* without: exactly the JSON TLV, and no db decoded */
	assert_int_equal(tg_punt_policy_size(&p), 8);
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), 8);
	assert_int_equal(tg_punt_policy_decode(obj, 8, &got), TG_PUNT_OK);
	assert_null(got.db.p);
	assert_int_equal(got.db.len, 0);

	/* with: JSON first, then DB */
	p.db.p = policy_db;
	p.db.len = sizeof(policy_db);
	assert_int_equal(tg_punt_policy_size(&p), n);
	assert_int_equal(tg_punt_policy_encode(&p, obj, n - 1), -ENOSPC);
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), (int)n);
	assert_memory_equal(obj, want, n);
	d = dg_copy(want, n);
	assert_int_equal(tg_punt_policy_decode(d.b, d.n, &got), TG_PUNT_OK);
	ASSERT_STR(got.json, "{}");
	assert_int_equal(got.db.len, sizeof(policy_db));
	assert_ptr_equal(got.db.p, d.b + 14);	/* points into the object */
	assert_memory_equal(got.db.p, policy_db, sizeof(policy_db));
	/* every truncation: the DB TLV cut is trunc, not a missing TLV */
	for (k = 1; k < n; k++) {
		free(d.b);
		d = dg_copy(want, k);
		assert_int_equal(tg_punt_policy_decode(d.b, d.n, &got),
				 k == 8 ? TG_PUNT_OK : TG_PUNT_ERR_TRUNC);
	}
	free(d.b);

	/* DB before JSON, DB twice: order */
	r.n = 0;
	rawbytes(&r, want + 8, n - 8);
	rawbytes(&r, want, 8);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_ORDER);
	r.n = 0;
	rawbytes(&r, want, n);
	rawbytes(&r, want + 8, n - 8);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_ORDER);
	/* DB alone: the JSON is required */
	r.n = 0;
	rawbytes(&r, want + 8, n - 8);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TLV_MISSING);
	/* an empty DB */
	r.n = 0;
	rawbytes(&r, want, 8);
	raw16(&r, TG_PUNT_POL_DB);
	raw32(&r, 0);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_VALUE);
	/* a DB longer than what is left */
	r.n = 0;
	rawbytes(&r, want, 8);
	raw16(&r, TG_PUNT_POL_DB);
	raw32(&r, 8);
	rawbytes(&r, policy_db, sizeof(policy_db));
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TRUNC);
	/* a TLV this build does not know, after the DB or between */
	r.n = 0;
	rawbytes(&r, want, n);
	raw16(&r, 3);
	raw32(&r, 1);
	raw8(&r, 0);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TLV_TYPE);
	r.n = 0;
	rawbytes(&r, want, 8);
	raw16(&r, 3);
	raw32(&r, 1);
	raw8(&r, 0);
	rawbytes(&r, want + 8, n - 8);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TLV_TYPE);
	r.n = 0;
	raw16(&r, UINT16_MAX);
	raw32(&r, 1);
	raw8(&r, 0);
	assert_int_equal(policy_decode_raw(&r), TG_PUNT_ERR_TLV_TYPE);

	/* the encoder refuses an empty DB, and a DB without a JSON */
	p.db.len = 0;
	assert_int_equal(tg_punt_policy_size(&p), 0);
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), -EINVAL);
	p.db.len = sizeof(policy_db);
	p.json = (struct tg_punt_str){ NULL, 0 };
	assert_int_equal(tg_punt_policy_size(&p), 0);
	assert_int_equal(tg_punt_policy_encode(&p, obj, sizeof(obj)), -EINVAL);
}

/* SERVICES: names in configuration order, distinct, not empty, 1..64 of them. */
static void
test_services(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	static char many[TG_PUNT_SERVICES_MAX + 1][TG_PUNT_NAME_MAX + 2];
	static struct raw r;
	const char *np[TG_PUNT_SERVICES_MAX + 1];
	const char *two[2];
	struct tg_punt_msg m;
	size_t n;
	int len;
	unsigned int i;
	/* clang-format off */
	static const uint8_t want[] =
		/* magic, version 1, type 9 (SERVICES), flags 0, length 45, seq 2 */
		"TGPC" "\x00\x01" "\x00\x09" "\x00\x00\x00\x00" "\x00\x00\x00\x2d"
		"\x00\x00\x00\x00\x00\x00\x00\x02"
		/* count 3: "shop-pg", "billing", "pg", as configured (not sorted) */
		"\x00\x03" "\x07" "shop-pg" "\x07" "billing" "\x02" "pg";
	/* clang-format on */

	(void)state;
	n = sample(13, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(buf, want, n);
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_SERVICES);
	assert_int_equal(m.u.services.count, 3);
	for (i = 0; i < 3; i++)
		assert_str(m.u.services.name[i], services_names[i], strlen(services_names[i]));
	assert_canonical(buf, n);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_SERVICES), TG_PUNT_ROLE_DATAPLANE);
	assert_string_equal(tg_punt_type_name(TG_PUNT_T_SERVICES), "services");

	/* the most: 64 names of 63 bytes, distinct in their last bytes */
	for (i = 0; i <= TG_PUNT_SERVICES_MAX; i++) {
		memset(many[i], 's', TG_PUNT_NAME_MAX);
		snprintf(many[i] + TG_PUNT_NAME_MAX - 2, 3, "%02u", i);
		np[i] = many[i];
	}
	len = tg_punt_encode_services(buf, sizeof(buf), 5, np, TG_PUNT_SERVICES_MAX);
	assert_int_equal(len, TG_PUNT_HDR_LEN + 2 + TG_PUNT_SERVICES_MAX * (1 + TG_PUNT_NAME_MAX));
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_OK);
	assert_int_equal(m.u.services.count, TG_PUNT_SERVICES_MAX);
	assert_str(m.u.services.name[TG_PUNT_SERVICES_MAX - 1], many[TG_PUNT_SERVICES_MAX - 1],
		   TG_PUNT_NAME_MAX);
	assert_canonical(buf, (size_t)len);
	assert_int_equal(tg_punt_encode_services(buf, (size_t)len - 1, 5, np,
						 TG_PUNT_SERVICES_MAX), -ENOSPC);

	/* the encoder refuses what the decoder would */
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 5, np, 0), -EINVAL);
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 5, np,
						 TG_PUNT_SERVICES_MAX + 1), -EINVAL);
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 5, NULL, 1), -EINVAL);
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 0, np, 1), -EINVAL);
	two[0] = "pg";
	two[1] = "pg";
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 5, two, 2), -EINVAL);
	two[1] = "";
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 5, two, 2), -EINVAL);
	two[1] = NULL;
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 5, two, 2), -EINVAL);
	many[0][TG_PUNT_NAME_MAX] = 'x';	/* 64 bytes */
	many[0][TG_PUNT_NAME_MAX + 1] = '\0';
	assert_int_equal(tg_punt_encode_services(buf, sizeof(buf), 5, np, 1), -EINVAL);
	many[0][TG_PUNT_NAME_MAX] = '\0';
	/* a name that is another's prefix is another name */
	two[0] = "pg";
	two[1] = "pg2";
	len = tg_punt_encode_services(buf, sizeof(buf), 5, two, 2);
	assert_true(len > 0);
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_OK);

	/* the decoder: counts */
#define SVC_HDR(count)                                              \
	do {                                                        \
		raw_hdr(&r, 1, TG_PUNT_T_SERVICES, 2);              \
		raw16(&r, (count));                                 \
	} while (0)
	SVC_HDR(0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	SVC_HDR(TG_PUNT_SERVICES_MAX + 1);
	for (i = 0; i <= TG_PUNT_SERVICES_MAX; i++)
		raws8(&r, many[i]);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	SVC_HDR(UINT16_MAX);
	raws8(&r, "pg");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	/* one name more than counted, one fewer */
	SVC_HDR(1);
	raws8(&r, "pg");
	raws8(&r, "billing");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_TRAILING);
	SVC_HDR(2);
	raws8(&r, "pg");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_TRUNC);
	/* repeated, next to each other or not */
	SVC_HDR(2);
	raws8(&r, "pg");
	raws8(&r, "pg");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_ORDER);
	SVC_HDR(3);
	raws8(&r, "billing");
	raws8(&r, "pg");
	raws8(&r, "billing");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_ORDER);
	/* empty, over the cap, a NUL */
	SVC_HDR(2);
	raws8(&r, "pg");
	raws8(&r, "");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	many[0][TG_PUNT_NAME_MAX] = 'x';
	SVC_HDR(1);
	raws8(&r, many[0]);	/* 64 bytes */
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_STR_LEN);
	many[0][TG_PUNT_NAME_MAX] = '\0';
	SVC_HDR(1);
	raw8(&r, 3);
	rawbytes(&r, "p\0g", 3);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_STR_NUL);
	/* not sorted is fine: the order is the configuration's */
	SVC_HDR(2);
	raws8(&r, "zz");
	raws8(&r, "aa");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	assert_canonical(r.b, r.n);
#undef SVC_HDR
}

/* The identity takeover's messages: values back, and what each action may carry. */
/* HOLD: what each type and operation carries, and only that; the fields decode as sent. */
static void
test_hold(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	struct tg_punt_hold h;
	struct tg_punt_msg m;
	int len;

	(void)state;
	h = hold_sample(24);
	len = tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h);
	assert_true(len > 0);
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_OK);
	assert_int_equal(m.u.hold.op, TG_PUNT_HOLD_ASK);
	assert_int_equal(m.u.hold.hold, 7);
	assert_int_equal(m.u.hold.quorum, 2);
	assert_int_equal(m.u.hold.timeout_s, 600);
	assert_int_equal(m.u.hold.t_ns, 1700000000123456789ull);
	assert_int_equal(m.u.hold.text.len, 31);
	assert_memory_equal(m.u.hold.rule.p, "review-deletes", 14);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_HOLD_REQUEST), TG_PUNT_ROLE_DATAPLANE);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_HOLD_REPLY), TG_PUNT_ROLE_SLOWPATH);
	/* refused by the encoder as the decoder would refuse them */
	h.quorum = 0;
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h),
			 -EINVAL);
	h = hold_sample(24);
	h.quorum = TG_PUNT_HOLD_QUORUM_MAX + 1;
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h),
			 -EINVAL);
	h = hold_sample(24);
	h.rule = S("");
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h),
			 -EINVAL);
	h = hold_sample(24);
	h.hold = 0;
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h),
			 -EINVAL);
	h = hold_sample(24);
	h.reason = S("an ASK has no reason");
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h),
			 -EINVAL);
	/* a CANCEL carries its reason and nothing of an ASK */
	h = hold_sample(25);
	h.quorum = 1;
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h),
			 -EINVAL);
	h = hold_sample(25);
	h.reason = S("");
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REQUEST, &h),
			 -EINVAL);
	/* a reply: APPROVE has no sqlstate or reason, DENY both; an id always */
	h = hold_sample(26);
	h.decision = TG_PUNT_HOLD_APPROVE;
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REPLY, &h),
			 -EINVAL);
	h.sqlstate = S("");
	h.reason = S("");
	len = tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REPLY, &h);
	assert_true(len > 0);
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_OK);
	assert_int_equal(m.u.hold.decision, TG_PUNT_HOLD_APPROVE);
	h.id = S("");
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REPLY, &h),
			 -EINVAL);
	h = hold_sample(26);
	h.sqlstate = S("4250");
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REPLY, &h),
			 -EINVAL);
	h = hold_sample(26);
	h.reason = S("not\tprintable");
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REPLY, &h),
			 -EINVAL);
	h = hold_sample(26);
	h.decision = 3;
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_HOLD_REPLY, &h),
			 -EINVAL);
	/* the wrong type for the encoder */
	h = hold_sample(26);
	assert_int_equal(tg_punt_encode_hold(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REPLY, &h),
			 -EINVAL);
}

static void
test_auth(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	static uint8_t big[TG_PUNT_AUTH_TOKEN_MAX + 1];
	struct tg_punt_msg m;
	struct tg_punt_auth a;
	size_t n;
	int len;

	(void)state;
	n = sample(18, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_AUTH_REQUEST);
	assert_int_equal(m.u.auth.worker, 1);
	assert_true(m.u.auth.session == 42);
	assert_str(m.u.auth.service, "demo-pg", 7);
	assert_str(m.u.auth.server, "198.18.1.2:5432", 15);
	assert_int_equal(m.u.auth.startup.len, sizeof(auth_startup));
	assert_memory_equal(m.u.auth.startup.p, auth_startup, sizeof(auth_startup));
	assert_int_equal(m.u.auth.token.len, sizeof(auth_token) - 1);
	assert_memory_equal(m.u.auth.token.p, auth_token, sizeof(auth_token) - 1);
	assert_canonical(buf, n);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_AUTH_REQUEST), TG_PUNT_ROLE_DATAPLANE);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_AUTH_SERVER), TG_PUNT_ROLE_DATAPLANE);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_AUTH_REPLY), TG_PUNT_ROLE_SLOWPATH);
	assert_string_equal(tg_punt_type_name(TG_PUNT_T_AUTH_REPLY), "auth_reply");

	n = sample(21, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.u.auth.action, TG_PUNT_AUTH_REFUSE);
	assert_str(m.u.auth.sqlstate, "28000", 5);
	assert_str(m.u.auth.text, "token expired", 13);

	/* the longest token, and one byte more */
	a = auth_sample(18);
	memset(big, 'x', sizeof(big));
	a.token = (struct tg_punt_bytes){ big, TG_PUNT_AUTH_TOKEN_MAX };
	len = tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REQUEST, &a);
	assert_true(len > TG_PUNT_AUTH_TOKEN_MAX);
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_OK);
	a.token.len++;
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REQUEST, &a),
			 -EINVAL);
	/* a NUL in a token, a short StartupMessage, no service, session 0 */
	a = auth_sample(18);
	a.token = (struct tg_punt_bytes){ (const uint8_t *)"a\0b", 3 };
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REQUEST, &a),
			 -EINVAL);
	a = auth_sample(18);
	a.startup.len = 7;
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REQUEST, &a),
			 -EINVAL);
	a = auth_sample(18);
	a.service = S("");
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REQUEST, &a),
			 -EINVAL);
	a = auth_sample(19);
	a.session = 0;
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_SERVER, &a),
			 -EINVAL);
	/* each action carries its own fields and no other */
	a = auth_sample(20);
	a.role = S("r");
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REPLY, &a),
			 -EINVAL);
	a = auth_sample(21);
	a.action = TG_PUNT_AUTH_DONE;
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REPLY, &a),
			 -EINVAL);
	a = auth_sample(21);
	a.sqlstate = S("2800");
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REPLY, &a),
			 -EINVAL);
	a = (struct tg_punt_auth){ .session = 1, .action = TG_PUNT_AUTH_DONE, .role = S("app") };
	len = tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REPLY, &a);
	assert_true(len > 0);
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_OK);
	assert_str(m.u.auth.role, "app", 3);
	/* the decoder holds the same line: a DONE with data is refused */
	a = auth_sample(20);
	len = tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_AUTH_REPLY, &a);
	assert_true(len > 0);
	buf[TG_PUNT_HDR_LEN + 10] = TG_PUNT_AUTH_DONE;
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_ERR_VALUE);
	buf[TG_PUNT_HDR_LEN + 10] = 9;
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_ERR_VALUE);
	/* not an auth type */
	assert_int_equal(tg_punt_encode_auth(buf, sizeof(buf), 3, TG_PUNT_T_SERVICES, &a), -EINVAL);
}

/* ---------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------- */

/* Every prefix of every message: as received, and with its length made to agree. */
static void
test_truncate_all(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	struct tg_punt_msg m;
	size_t n, k;
	int i;

	for (i = 0; i < NSAMPLES; i++) {
		n = sample(i, buf, sizeof(buf));
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
		for (k = 0; k < n; k++) {
			struct dgram d = dg_copy(buf, k);
			enum tg_punt_err want = k < TG_PUNT_HDR_LEN ? TG_PUNT_ERR_SHORT
								    : TG_PUNT_ERR_LENGTH;

			if (tg_punt_decode(d.b, d.n, &m) != want)
				fail_msg("%s cut at %zu: %s, want %s", sample_names[i], k,
					 tg_punt_err_names[tg_punt_decode(d.b, d.n, &m)],
					 tg_punt_err_names[want]);
			if (k >= TG_PUNT_HDR_LEN) {
				set_be32(d.b + 12, (uint32_t)k);
				if (tg_punt_decode(d.b, d.n, &m) != TG_PUNT_ERR_TRUNC)
					fail_msg("%s cut at %zu, length agreeing: %s, want trunc",
						 sample_names[i], k,
						 tg_punt_err_names[tg_punt_decode(d.b, d.n, &m)]);
			}
			free(d.b);
		}
	}
}

/* A byte after the last field of every message. */
static void
test_trailing_all(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX + 8];
	struct tg_punt_msg m;
	size_t n;
	int i;

	for (i = 0; i < NSAMPLES; i++) {
		n = sample(i, buf, sizeof(buf));
		buf[n] = 0;
		set_be32(buf + 12, (uint32_t)n + 1);
		if (decode_exact(buf, n + 1, &m) != TG_PUNT_ERR_TRAILING)
			fail_msg("%s with a byte more: %s", sample_names[i],
				 tg_punt_err_names[decode_exact(buf, n + 1, &m)]);
	}
}

/* Every single-bit flip of every sample: no crash, and canonical when decoded. */
static void
test_flip_all(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	struct tg_punt_msg m;
	size_t n, k;
	int i, bit, decoded = 0;

	for (i = 0; i < NSAMPLES; i++) {
		n = sample(i, buf, sizeof(buf));
		assert_canonical(buf, n);
		for (k = 0; k < n; k++) {
			for (bit = 0; bit < 8; bit++) {
				buf[k] ^= (uint8_t)(1u << bit);
				if (decode_exact(buf, n, &m) == TG_PUNT_OK) {
					assert_canonical(buf, n);
					decoded++;
				}
				buf[k] ^= (uint8_t)(1u << bit);
			}
		}
	}
	/* flips of values (seq, times, counts) decode: the sweep ran */
	assert_true(decoded > 100);
}

static void
test_header_errors(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX + 1];
	struct tg_punt_msg m;
	size_t n;
	int i;

	assert_int_equal(tg_punt_decode(NULL, 0, &m), TG_PUNT_ERR_SHORT);
	assert_int_equal(tg_punt_decode(buf, 0, &m), TG_PUNT_ERR_SHORT);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(tg_punt_decode(buf, TG_PUNT_MSG_MAX + 1, &m), TG_PUNT_ERR_TOO_BIG);

	for (i = 0; i < NSAMPLES; i++) {
		n = sample(i, buf, sizeof(buf));
		/* magic: each byte */
		for (size_t k = 0; k < 4; k++) {
			buf[k] ^= 0x20;
			assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_MAGIC);
			buf[k] ^= 0x20;
		}
		/* version 0, 2, 0xffff */
		buf[5] = 0;
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_VERSION);
		buf[5] = 2;
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_VERSION);
		buf[4] = buf[5] = 0xff;
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_VERSION);
		buf[4] = 0;
		buf[5] = 1;
		/* flags: every bit */
		for (int bit = 0; bit < 32; bit++) {
			set_be32(buf + 8, 1u << bit);
			assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_FLAGS);
		}
		set_be32(buf + 8, 0);
		/* length one off either way, or absurd */
		set_be32(buf + 12, (uint32_t)n + 1);
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_LENGTH);
		set_be32(buf + 12, (uint32_t)n - 1);
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_LENGTH);
		set_be32(buf + 12, UINT32_MAX);
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_LENGTH);
		set_be32(buf + 12, (uint32_t)n);
		/* seq 0 */
		memset(buf + 16, 0, 8);
		assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_SEQ);
	}
	/* types 0, TG_PUNT_T_MAX and 0xffff */
	n = sample(9, buf, sizeof(buf));
	buf[7] = 0;
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_TYPE);
	buf[7] = TG_PUNT_T_MAX;
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_TYPE);
	buf[6] = buf[7] = 0xff;
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_TYPE);
	/* a HELLO is version 1 whatever the versions spoken */
	n = sample(0, buf, sizeof(buf));
	buf[5] = TG_PUNT_VERSION_MAX + 1;
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_ERR_VERSION);
}

static void
test_count_errors(void **state)
{
	static struct raw r;
	static uint8_t buf[TG_PUNT_MSG_MAX];
	struct tg_punt_event small = ev_end();
	struct tg_punt_enc e;
	struct tg_punt_msg m;
	int n, i;

	/* count 0 */
	raw_batch(&r, 1, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	/* count over the cap, with the events there */
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 1, 1), 0);
	for (i = 0; i < TG_PUNT_BATCH_MAX; i++)
		assert_int_equal(tg_punt_batch_add(&e, &small), 0);
	n = tg_punt_batch_end(&e);
	memcpy(r.b, buf, (size_t)n);
	r.n = (size_t)n;
	rawbytes(&r, buf + 34, 51);	/* one event more */
	r.b[32] = (uint8_t)((TG_PUNT_BATCH_MAX + 1) >> 8);
	r.b[33] = (uint8_t)(TG_PUNT_BATCH_MAX + 1);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	r.b[32] = r.b[33] = 0xff;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	/* count one more than the events (trunc), one fewer (trailing) */
	raw_stmt_batch(&r);
	r.b[33] = 2;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_TRUNC);
	n = sample(3, buf, sizeof(buf));
	buf[33] = 2;
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_ERR_TRAILING);
	/* first_seq 0, or numbers that would wrap */
	raw_batch(&r, 0, 1);
	raw_ev_end(&r, raw_ev(&r, TG_PUNT_EV_SESSION_START, 0, 0, 0, 1));
	assert_int_equal(r.n, 34 + 16);
	r.n = 34;
	raw_ev(&r, TG_PUNT_EV_SESSION_START, 0, 0, 0, 1);
	raw64(&r, 1);
	for (i = 0; i < 6; i++)
		raws8(&r, "");
	raw_ev_end(&r, 34);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	memset(r.b + 24, 0xff, 8);	/* first_seq 2^64-1: one event fits */
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	/* two do not */
	rawbytes(&r, r.b + 34, r.n - 34);
	r.b[33] = 2;
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	memset(r.b + 24, 0xff, 7);
	r.b[31] = 0xfe;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);

	/* masked pairs: one per kind is the cap */
	raw_batch(&r, 1, 1);
	{
		uint8_t pairs[TG_PUNT_DETECT_MAX][2];

		for (i = 0; i < TG_PUNT_DETECT_MAX; i++) {
			pairs[i][0] = (uint8_t)(i + 1);
			pairs[i][1] = 1;
		}
		raw_stmt(&r, 0, 0, 0, 0, (const uint8_t(*)[2])pairs, TG_PUNT_DETECT_MAX - 1,
			 stmt_strs);
		raw_end(&r);
		assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
		raw_batch(&r, 1, 1);
		raw_stmt(&r, 0, 0, 0, 0, (const uint8_t(*)[2])pairs, TG_PUNT_DETECT_MAX, stmt_strs);
		raw_end(&r);
		assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
		r.b[34 + 19] = 255;	/* nmasked */
		assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	}

	/* STATS_RESPONSE over the cap */
	raw_hdr(&r, 1, TG_PUNT_T_STATS_RESPONSE, 1);
	raw64(&r, 1);
	raw16(&r, TG_PUNT_STATS_MAX + 1);
	raw8(&r, 1);
	for (i = 0; i < TG_PUNT_STATS_MAX + 1; i++) {
		raws8(&r, "n");
		raw64(&r, (uint64_t)i);
	}
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	r.b[33] = (uint8_t)TG_PUNT_STATS_MAX;
	r.b[32] = (uint8_t)(TG_PUNT_STATS_MAX >> 8);
	r.n -= 10;
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
}

/* The statement of raw_stmt_batch() with one thing changed. */
struct stmt_case {
	const char *what;
	uint8_t flags, kind, verdict, result;
	uint8_t pairs[3][2];
	uint8_t npairs;
	int str;		/* which string to replace, -1 none */
	const char *s;
	size_t slen;		/* for strings with a NUL or past the cap */
	enum tg_punt_err want;
};

static void
test_event_errors(void **state)
{
	static struct raw r;
	static char longs[TG_PUNT_TEXT_MAX + 2];
	static const struct stmt_case cases[] = {
		{ "valid", 1, 1, 1, 1, { { 1, 1 } }, 1, -1, NULL, 0, TG_PUNT_OK },
		{ "flag 0x02", 2, 1, 1, 1, { { 1, 1 } }, 1, -1, NULL, 0, TG_PUNT_ERR_FLAGS },
		{ "flag 0x80", 0x81, 1, 1, 1, { { 1, 1 } }, 1, -1, NULL, 0, TG_PUNT_ERR_FLAGS },
		{ "kind 3", 0, 3, 1, 1, { { 1, 1 } }, 1, -1, NULL, 0, TG_PUNT_ERR_VALUE },
		{ "verdict 3 (hold)", 0, 1, 3, 1, { { 1, 1 } }, 1, -1, NULL, 0, TG_PUNT_OK },
		{ "verdict 4", 0, 1, 4, 1, { { 1, 1 } }, 1, -1, NULL, 0, TG_PUNT_ERR_VALUE },
		{ "result 5", 0, 1, 1, 5, { { 1, 1 } }, 1, -1, NULL, 0, TG_PUNT_ERR_VALUE },
		{ "masked kind 0", 0, 0, 0, 0, { { 0, 1 } }, 1, -1, NULL, 0, TG_PUNT_ERR_VALUE },
		{ "masked kind 10", 0, 0, 0, 0, { { 10, 1 } }, 1, -1, NULL, 0, TG_PUNT_ERR_VALUE },
		{ "masked count 0", 0, 0, 0, 0, { { 1, 0 } }, 1, -1, NULL, 0, TG_PUNT_ERR_VALUE },
		{ "masked descending", 0, 0, 0, 0, { { 3, 1 }, { 2, 1 } }, 2, -1, NULL, 0,
		  TG_PUNT_ERR_ORDER },
		{ "masked repeated", 0, 0, 0, 0, { { 2, 1 }, { 2, 1 } }, 2, -1, NULL, 0,
		  TG_PUNT_ERR_ORDER },
		{ "user at cap", 0, 0, 0, 0, { { 1, 1 } }, 1, 2, NULL, TG_PUNT_NAME_MAX,
		  TG_PUNT_OK },
		{ "user past cap", 0, 0, 0, 0, { { 1, 1 } }, 1, 2, NULL, TG_PUNT_NAME_MAX + 1,
		  TG_PUNT_ERR_STR_LEN },
		{ "sqlstate past cap", 0, 0, 0, 0, { { 1, 1 } }, 1, 6, NULL, 6,
		  TG_PUNT_ERR_STR_LEN },
		{ "text at cap", 0, 0, 0, 0, { { 1, 1 } }, 1, 7, NULL, TG_PUNT_TEXT_MAX,
		  TG_PUNT_OK },
		{ "text past cap", 0, 0, 0, 0, { { 1, 1 } }, 1, 7, NULL, TG_PUNT_TEXT_MAX + 1,
		  TG_PUNT_ERR_STR_LEN },
		{ "params past cap", 0, 0, 0, 0, { { 1, 1 } }, 1, 8, NULL, TG_PUNT_PARAMS_MAX + 1,
		  TG_PUNT_ERR_STR_LEN },
		{ "NUL in service", 0, 0, 0, 0, { { 1, 1 } }, 1, 0, "pg\0x", 4,
		  TG_PUNT_ERR_STR_NUL },
		{ "NUL in rule", 0, 0, 0, 0, { { 1, 1 } }, 1, 5, "\0", 1, TG_PUNT_ERR_STR_NUL },
		{ "NUL in text", 0, 0, 0, 0, { { 1, 1 } }, 1, 7, "SELECT\0", 7,
		  TG_PUNT_ERR_STR_NUL },
		{ "NUL in params", 0, 0, 0, 0, { { 1, 1 } }, 1, 8, "$1=''\0", 6,
		  TG_PUNT_ERR_STR_NUL },
	};
	struct tg_punt_msg m;
	size_t i;
	int j;

	memset(longs, 'x', sizeof(longs));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct stmt_case *c = &cases[i];
		size_t at;

		raw_batch(&r, 1, 1);
		at = raw_ev(&r, TG_PUNT_EV_STATEMENT, c->flags, 0, 0, 1);
		raw8(&r, c->kind);
		raw8(&r, c->verdict);
		raw8(&r, c->result);
		raw8(&r, c->npairs);
		raw32(&r, 1);	/* stmt */
		raw32(&r, 0);
		raw64(&r, 0);
		raw64(&r, 0);
		raw64(&r, 0);
		for (j = 0; j < c->npairs; j++) {
			raw8(&r, c->pairs[j][0]);
			raw32(&r, c->pairs[j][1]);
		}
		for (j = 0; j < 9; j++) {
			const char *s = j == c->str ? (c->s != NULL ? c->s : longs) : stmt_strs[j];
			size_t len = j == c->str ? c->slen : strlen(s);

			if (j < 7)
				raw8(&r, (uint8_t)len);
			else
				raw16(&r, (uint16_t)len);
			rawbytes(&r, s, len);
		}
		raw_ev_end(&r, at);
		raw_end(&r);
		if (raw_decode(&r, &m) != c->want)
			fail_msg("%s: %s, want %s", c->what, tg_punt_err_names[raw_decode(&r, &m)],
				 tg_punt_err_names[c->want]);
	}

	/* a statement numbered 0 */
	raw_stmt_batch(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	memset(r.b + 34 + 20, 0, 4);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	r.b[34 + 23] = 1;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);

	/* event types 0 and TG_PUNT_EV_MAX */
	for (j = 0; j <= TG_PUNT_EV_MAX; j += TG_PUNT_EV_MAX) {
		raw_batch(&r, 1, 1);
		raw_ev_end(&r, raw_ev(&r, (uint8_t)j, 0, 0, 0, 1));
		raw_end(&r);
		assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_EVENT_TYPE);
	}
	/* the text_cut flag on a session event */
	raw_batch(&r, 1, 1);
	raw_ev(&r, TG_PUNT_EV_SESSION_END, TG_PUNT_EV_F_TEXT_CUT, 0, 0, 1);
	raw8(&r, TG_PUNT_END_CLOSED);
	raw64(&r, 1);
	raw64(&r, 2);
	raws8(&r, "pg");
	raws8(&r, "c");
	raw_ev_end(&r, 34);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
	r.b[35] = 0;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	/* end reasons 0 and 6 */
	r.b[34 + 16] = 0;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	r.b[34 + 16] = TG_PUNT_END_MAX;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	r.b[34 + 16] = TG_PUNT_END_SHUTDOWN;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	/* event length: below the common part, past the batch, or with bytes to spare */
	r.b[36] = 0;
	r.b[37] = 15;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_EVENT_LEN);
	r.b[37] = (uint8_t)(r.n - 34 + 1);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_TRUNC);
	r.b[37] = (uint8_t)(r.n - 34 - 1);	/* the fields run past the event */
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_TRUNC);
	raw8(&r, 0);	/* a byte inside the event after its fields */
	r.b[37] = (uint8_t)(r.n - 34);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_EVENT_LEN);
}

/* STATEMENT_BEGIN and LOST, each refusal reason of their fields. */
static void
test_begin_lost_errors(void **state)
{
	static struct raw r;
	static char longs[TG_PUNT_TEXT_MAX + 2];
	const char *strs[8];
	struct tg_punt_msg m;
	struct tg_punt_event ev;
	int i;

	(void)state;
	memset(longs, 'x', sizeof(longs) - 1);
#define BEGIN(flags, kind, verdict, stmt, str)                                              \
	do {                                                                                \
		raw_batch(&r, 1, 1);                                                        \
		raw_begin(&r, (flags), (kind), (verdict), (stmt), (str));                   \
		raw_end(&r);                                                                \
	} while (0)
	BEGIN(0, TG_PUNT_STMT_QUERY, TG_PUNT_VERDICT_ALLOW, 1, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
	assert_false(ev.text_cut);
	assert_int_equal(ev.stmt, 1);
	assert_false(ev.strict);
	/* the text_cut flag is a statement's, begin included; strict is the begin's alone */
	BEGIN(TG_PUNT_EV_F_TEXT_CUT, 0, 0, 1, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
	assert_true(ev.text_cut);
	assert_false(ev.strict);
	BEGIN(TG_PUNT_EV_F_STRICT, 0, 0, 1, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
	assert_false(ev.text_cut);
	assert_true(ev.strict);
	BEGIN(0x04, 0, 0, 1, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
	BEGIN(0x80 | TG_PUNT_EV_F_TEXT_CUT, 0, 0, 1, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
	raw_stmt_batch(&r);	/* a statement is not strict */
	r.b[35] |= TG_PUNT_EV_F_STRICT;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
	/* codes, the number */
	BEGIN(0, TG_PUNT_STMT_MAX, 0, 1, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	BEGIN(0, 0, TG_PUNT_VERDICT_MAX, 1, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	BEGIN(0, 0, 0, 0, begin_strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	/* strings: caps and NULs (the raw writer's s8 lengths are a byte: 64 for a name) */
	for (i = 0; i < 8; i++)
		strs[i] = begin_strs[i];
	longs[TG_PUNT_NAME_MAX + 1] = '\0';
	strs[5] = longs;	/* rule of 64 bytes */
	BEGIN(0, 0, 0, 1, strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_STR_LEN);
	longs[TG_PUNT_NAME_MAX + 1] = 'x';
	longs[TG_PUNT_TEXT_MAX + 1] = '\0';
	strs[5] = begin_strs[5];
	strs[6] = longs;	/* text of 1025 bytes */
	BEGIN(0, 0, 0, 1, strs);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_STR_LEN);
	longs[TG_PUNT_TEXT_MAX] = '\0';
	BEGIN(0, 0, 0, 1, strs);	/* 1024: at the cap */
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	strs[6] = begin_strs[6];
	BEGIN(0, 0, 0, 1, strs);
	r.b[34 + 16 + 14 + 1 + 7 + 1 + 16 + 1 + 2] = '\0';	/* in user "alice" */
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_STR_NUL);
	/* a field past the event's length, a byte left in it */
	BEGIN(0, 0, 0, 1, begin_strs);
	r.b[37]--;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_TRUNC);
	r.b[37]++;
	raw8(&r, 0);
	r.b[37]++;
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_EVENT_LEN);
#undef BEGIN

	/* LOST */
	raw_batch(&r, 1, 1);
	raw_lost(&r, 0, 0, 0, 1);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
	assert_int_equal(ev.type, TG_PUNT_EV_LOST);
	assert_int_equal(ev.lost, 1);
	assert_int_equal(ev.worker, 5);
	assert_int_equal(ev.t_end_ns, 1700000000999999999ull);
	raw_batch(&r, 1, 1);
	raw_lost(&r, 0, 0, 0, UINT64_MAX);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	raw_batch(&r, 1, 1);
	raw_lost(&r, 0, 0, 0, 0);	/* nothing lost */
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	raw_batch(&r, 1, 1);
	raw_lost(&r, 0, 1, 0, 1);	/* a service */
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	raw_batch(&r, 1, 1);
	raw_lost(&r, 0, 0, 1ull << 63, 1);	/* a session */
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	raw_batch(&r, 1, 1);
	raw_lost(&r, TG_PUNT_EV_F_TEXT_CUT, 0, 0, 1);	/* no text to cut */
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
	r.b[35] = TG_PUNT_EV_F_STRICT;	/* nothing to hold */
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
	raw_batch(&r, 1, 1);
	raw_lost(&r, 0, 0, 0, 1);
	raw8(&r, 0);	/* a byte inside the event after t_end */
	r.b[37]++;
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_EVENT_LEN);
	raw_batch(&r, 1, 1);
	raw_lost(&r, 0, 0, 0, 1);
	r.b[37] = 24;	/* t_end outside the event */
	r.n -= 8;
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_TRUNC);
}

static void
test_body_errors(void **state)
{
	static struct raw r;
	struct tg_punt_msg m;

	/* HELLO: role 0 and 3; vmin 0; vmin > vmax; instance 0 */
	static const struct {
		uint8_t role;
		uint16_t vmin, vmax;
		uint64_t instance;
		enum tg_punt_err want;
	} hellos[] = {
		{ 1, 1, 1, 1, TG_PUNT_OK },
		{ 2, 1, 7, 1, TG_PUNT_OK },
		{ 0, 1, 1, 1, TG_PUNT_ERR_VALUE },
		{ 3, 1, 1, 1, TG_PUNT_ERR_VALUE },
		{ 1, 0, 1, 1, TG_PUNT_ERR_VALUE },
		{ 1, 2, 1, 1, TG_PUNT_ERR_VALUE },
		{ 1, 1, 1, 0, TG_PUNT_ERR_VALUE },
	};
	/* HELLO_ACK: status, refuse, version against vmin..vmax 1..2, reason */
	static const struct {
		uint8_t status, refuse;
		uint16_t version;
		const char *reason;
		enum tg_punt_err want;
	} acks[] = {
		{ TG_PUNT_HELLO_ACCEPT, 0, 2, "", TG_PUNT_OK },
		{ TG_PUNT_HELLO_ACCEPT, 0, 3, "", TG_PUNT_ERR_VALUE },
		{ TG_PUNT_HELLO_ACCEPT, 0, 0, "", TG_PUNT_ERR_VALUE },
		{ TG_PUNT_HELLO_ACCEPT, 1, 1, "", TG_PUNT_ERR_VALUE },
		{ TG_PUNT_HELLO_ACCEPT, 0, 1, "why", TG_PUNT_ERR_VALUE },
		{ TG_PUNT_HELLO_REFUSE, 1, 0, "no version", TG_PUNT_OK },
		{ TG_PUNT_HELLO_REFUSE, 2, 0, "", TG_PUNT_OK },
		{ TG_PUNT_HELLO_REFUSE, 0, 0, "", TG_PUNT_ERR_VALUE },
		{ TG_PUNT_HELLO_REFUSE, 3, 0, "", TG_PUNT_ERR_VALUE },
		{ TG_PUNT_HELLO_REFUSE, 1, 1, "", TG_PUNT_ERR_VALUE },
		{ 2, 1, 0, "", TG_PUNT_ERR_VALUE },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(hellos); i++) {
		raw_hdr(&r, 1, TG_PUNT_T_HELLO, 1);
		raw8(&r, hellos[i].role);
		raw16(&r, hellos[i].vmin);
		raw16(&r, hellos[i].vmax);
		raw64(&r, hellos[i].instance);
		raw64(&r, 0);
		raws8(&r, "sw");
		raw_end(&r);
		if (raw_decode(&r, &m) != hellos[i].want)
			fail_msg("hello %zu: %s", i, tg_punt_err_names[raw_decode(&r, &m)]);
	}
	for (i = 0; i < ARRAY_SIZE(acks); i++) {
		raw_hdr(&r, 1, TG_PUNT_T_HELLO_ACK, 1);
		raw8(&r, TG_PUNT_ROLE_SLOWPATH);
		raw8(&r, acks[i].status);
		raw8(&r, acks[i].refuse);
		raw16(&r, acks[i].version);
		raw16(&r, 1);
		raw16(&r, 2);
		raw64(&r, 5);
		raw64(&r, ~0ull);	/* capabilities not defined are ignored */
		raws8(&r, "");
		raws16(&r, acks[i].reason);
		raw_end(&r);
		if (raw_decode(&r, &m) != acks[i].want)
			fail_msg("hello_ack %zu: %s", i, tg_punt_err_names[raw_decode(&r, &m)]);
	}
	/* a reason over its cap */
	{
		static char reason[TG_PUNT_REASON_MAX + 2];

		memset(reason, 'r', TG_PUNT_REASON_MAX);
		raw_hdr(&r, 1, TG_PUNT_T_POLICY_ACK, 1);
		raw64(&r, 1);
		raw8(&r, TG_PUNT_POLICY_REFUSED);
		raws16(&r, reason);
		raw_end(&r);
		assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
		reason[TG_PUNT_REASON_MAX] = 'r';
		raw_hdr(&r, 1, TG_PUNT_T_POLICY_ACK, 1);
		raw64(&r, 1);
		raw8(&r, TG_PUNT_POLICY_REFUSED);
		raws16(&r, reason);
		raw_end(&r);
		assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_STR_LEN);
	}
	/* POLICY_ACK: status 2, applied with a reason, refused without, gen 0 */
	raw_hdr(&r, 1, TG_PUNT_T_POLICY_ACK, 1);
	raw64(&r, 1);
	raw8(&r, 2);
	raws16(&r, "x");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	r.b[32] = TG_PUNT_POLICY_APPLIED;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	r.b[32] = TG_PUNT_POLICY_REFUSED;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	r.b[31] = 0;
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	raw_hdr(&r, 1, TG_PUNT_T_POLICY_ACK, 1);
	raw64(&r, 1);
	raw8(&r, TG_PUNT_POLICY_REFUSED);
	raws16(&r, "");
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);

	/* BATCH_ACK 0 */
	raw_hdr(&r, 1, TG_PUNT_T_BATCH_ACK, 1);
	raw64(&r, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);

	/* POLICY_GEN: gen 0; total 0 and over the cap; offset at the total; len 0 or past it */
	{
		static const struct {
			uint64_t gen;
			uint32_t total, offset, len;
			enum tg_punt_err want;
		} chunks[] = {
			{ 1, 4, 0, 4, TG_PUNT_OK },
			{ 1, 8, 4, 4, TG_PUNT_OK },
			{ 1, TG_PUNT_POLICY_MAX, TG_PUNT_POLICY_MAX - 4, 4, TG_PUNT_OK },
			{ 0, 4, 0, 4, TG_PUNT_ERR_VALUE },
			{ 1, 0, 0, 4, TG_PUNT_ERR_POLICY_CHUNK },
			{ 1, TG_PUNT_POLICY_MAX + 1, 0, 4, TG_PUNT_ERR_POLICY_CHUNK },
			{ 1, 4, 4, 4, TG_PUNT_ERR_POLICY_CHUNK },
			{ 1, 4, 8, 4, TG_PUNT_ERR_POLICY_CHUNK },
			{ 1, 8, 6, 4, TG_PUNT_ERR_POLICY_CHUNK },
			{ 1, 4, 0, 0, TG_PUNT_ERR_POLICY_CHUNK },
			{ 1, UINT32_MAX, UINT32_MAX - 1, 4, TG_PUNT_ERR_POLICY_CHUNK },
		};

		for (i = 0; i < ARRAY_SIZE(chunks); i++) {
			raw_hdr(&r, 1, TG_PUNT_T_POLICY_GEN, 1);
			raw64(&r, chunks[i].gen);
			raw32(&r, chunks[i].total);
			raw32(&r, chunks[i].offset);
			raw32(&r, chunks[i].len);
			rawbytes(&r, "abcd", 4);
			raw_end(&r);
			if (raw_decode(&r, &m) != chunks[i].want)
				fail_msg("policy chunk %zu: %s", i,
					 tg_punt_err_names[raw_decode(&r, &m)]);
		}
	}

	/* STATS_RESPONSE: in_reply_to 0, last 2, a name with a space, empty, a NUL */
	{
		static const struct {
			uint64_t in_reply_to;
			uint8_t last;
			const char *name;
			size_t len;
			enum tg_punt_err want;
		} stats[] = {
			{ 1, 1, "ok", 2, TG_PUNT_OK },
			{ 0, 1, "ok", 2, TG_PUNT_ERR_VALUE },
			{ 1, 2, "ok", 2, TG_PUNT_ERR_VALUE },
			{ 1, 0, "o k", 3, TG_PUNT_ERR_VALUE },
			{ 1, 0, "", 0, TG_PUNT_ERR_VALUE },
			{ 1, 0, "\x7f", 1, TG_PUNT_ERR_VALUE },
			{ 1, 0, "o\0k", 3, TG_PUNT_ERR_STR_NUL },
		};

		for (i = 0; i < ARRAY_SIZE(stats); i++) {
			raw_hdr(&r, 1, TG_PUNT_T_STATS_RESPONSE, 1);
			raw64(&r, stats[i].in_reply_to);
			raw16(&r, 1);
			raw8(&r, stats[i].last);
			raw8(&r, (uint8_t)stats[i].len);
			rawbytes(&r, stats[i].name, stats[i].len);
			raw64(&r, 1);
			raw_end(&r);
			if (raw_decode(&r, &m) != stats[i].want)
				fail_msg("stats %zu: %s", i, tg_punt_err_names[raw_decode(&r, &m)]);
		}
	}
}

/* ---------------------------------------------------------------------
 * Handshake
 * ------------------------------------------------------------------- */

static void
test_negotiate(void **state)
{
	static const struct {
		uint16_t self_min, self_max, peer_min, peer_max;
		uint8_t peer_role;
		uint8_t status, refuse;
		uint16_t version;
	} cases[] = {
		{ 1, 1, 1, 1, TG_PUNT_ROLE_DATAPLANE, TG_PUNT_HELLO_ACCEPT, 0, 1 },
		/* the highest common version */
		{ 1, 3, 2, 5, TG_PUNT_ROLE_DATAPLANE, TG_PUNT_HELLO_ACCEPT, 0, 3 },
		{ 2, 5, 1, 3, TG_PUNT_ROLE_DATAPLANE, TG_PUNT_HELLO_ACCEPT, 0, 3 },
		{ 1, 9, 4, 4, TG_PUNT_ROLE_DATAPLANE, TG_PUNT_HELLO_ACCEPT, 0, 4 },
		/* ranges that touch at one end */
		{ 3, 4, 1, 3, TG_PUNT_ROLE_DATAPLANE, TG_PUNT_HELLO_ACCEPT, 0, 3 },
		/* none in common, either side newer */
		{ 2, 3, 1, 1, TG_PUNT_ROLE_DATAPLANE, TG_PUNT_HELLO_REFUSE, TG_PUNT_REFUSE_VERSION,
		  0 },
		{ 1, 1, 2, 3, TG_PUNT_ROLE_DATAPLANE, TG_PUNT_HELLO_REFUSE, TG_PUNT_REFUSE_VERSION,
		  0 },
		/* the peer has the answerer's role, or none: refused whatever the versions */
		{ 1, 1, 1, 1, TG_PUNT_ROLE_SLOWPATH, TG_PUNT_HELLO_REFUSE, TG_PUNT_REFUSE_ROLE, 0 },
		{ 1, 1, 2, 2, 0, TG_PUNT_HELLO_REFUSE, TG_PUNT_REFUSE_ROLE, 0 },
		{ 1, 1, 1, 1, 7, TG_PUNT_HELLO_REFUSE, TG_PUNT_REFUSE_ROLE, 0 },
	};
	struct tg_punt_hello self = hello_sp, peer = hello_dp;
	struct tg_punt_hello_ack ack;
	uint8_t buf[2048];
	struct tg_punt_msg m;
	uint16_t v;
	size_t i;
	int n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		self.vmin = cases[i].self_min;
		self.vmax = cases[i].self_max;
		peer.vmin = cases[i].peer_min;
		peer.vmax = cases[i].peer_max;
		peer.role = cases[i].peer_role;
		tg_punt_hello_answer(&self, &peer, &ack);
		assert_int_equal(ack.status, cases[i].status);
		assert_int_equal(ack.refuse, cases[i].refuse);
		assert_int_equal(ack.version, cases[i].version);
		assert_int_equal(ack.role, TG_PUNT_ROLE_SLOWPATH);
		assert_int_equal(ack.vmin, self.vmin);
		assert_int_equal(ack.vmax, self.vmax);
		assert_int_equal(ack.instance, self.instance);
		assert_true(ack.status == TG_PUNT_HELLO_ACCEPT ? ack.reason.len == 0
							       : ack.reason.len > 0);
		/* every answer goes over the wire as is */
		n = tg_punt_encode_hello_ack(buf, sizeof(buf), 1, &ack);
		assert_true(n > 0);
		assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
		assert_int_equal(m.u.hello_ack.version, ack.version);
		assert_int_equal(m.u.hello_ack.refuse, ack.refuse);
		assert_same_str(m.u.hello_ack.reason, ack.reason);
		/* and the dataplane reads it so */
		if (peer.role == TG_PUNT_ROLE_DATAPLANE) {
			if (ack.status == TG_PUNT_HELLO_ACCEPT) {
				assert_int_equal(tg_punt_hello_check(&peer, &m.u.hello_ack, &v),
						 TG_PUNT_OK);
				assert_int_equal(v, cases[i].version);
			} else {
				assert_int_equal(tg_punt_hello_check(&peer, &m.u.hello_ack, &v),
						 TG_PUNT_ERR_HELLO_REFUSED);
			}
		}
	}

	/* the dataplane refuses answers it cannot use */
	peer = hello_dp;
	tg_punt_hello_answer(&hello_sp, &peer, &ack);
	assert_int_equal(tg_punt_hello_check(&peer, &ack, &v), TG_PUNT_OK);
	ack.role = TG_PUNT_ROLE_DATAPLANE;
	assert_int_equal(tg_punt_hello_check(&peer, &ack, &v), TG_PUNT_ERR_HELLO_ROLE);
	ack.role = 0;
	assert_int_equal(tg_punt_hello_check(&peer, &ack, &v), TG_PUNT_ERR_HELLO_ROLE);
	ack.role = TG_PUNT_ROLE_SLOWPATH;
	ack.version = 2;
	ack.vmax = 2;	/* chosen within the answerer's range, outside ours */
	assert_int_equal(tg_punt_hello_check(&peer, &ack, &v), TG_PUNT_ERR_HELLO_VERSION);
	peer.vmax = 3;
	ack.vmax = 1;	/* within ours, outside the answerer's */
	assert_int_equal(tg_punt_hello_check(&peer, &ack, &v), TG_PUNT_ERR_HELLO_VERSION);
	ack.vmax = 2;
	assert_int_equal(tg_punt_hello_check(&peer, &ack, &v), TG_PUNT_OK);
	assert_int_equal(v, 2);

	/* the encoders refuse inconsistent statements */
	ack = (struct tg_punt_hello_ack){ .role = TG_PUNT_ROLE_SLOWPATH, .vmin = 1, .vmax = 1,
					  .instance = 1, .version = 2 };
	assert_int_equal(tg_punt_encode_hello_ack(buf, sizeof(buf), 1, &ack), -EINVAL);
	ack.version = 1;
	ack.reason = S("no");
	assert_int_equal(tg_punt_encode_hello_ack(buf, sizeof(buf), 1, &ack), -EINVAL);
	ack.reason = S("");
	assert_true(tg_punt_encode_hello_ack(buf, sizeof(buf), 1, &ack) > 0);
	ack.instance = 0;
	assert_int_equal(tg_punt_encode_hello_ack(buf, sizeof(buf), 1, &ack), -EINVAL);
	peer = hello_dp;
	peer.vmin = 0;
	assert_int_equal(tg_punt_encode_hello(buf, sizeof(buf), 1, &peer), -EINVAL);
	peer = hello_dp;
	peer.role = 3;
	assert_int_equal(tg_punt_encode_hello(buf, sizeof(buf), 1, &peer), -EINVAL);
	peer = hello_dp;
	peer.software = (struct tg_punt_str){ "a\0b", 3 };
	assert_int_equal(tg_punt_encode_hello(buf, sizeof(buf), 1, &peer), -EINVAL);
	peer = hello_dp;
	assert_int_equal(tg_punt_encode_hello(buf, 40, 1, &peer), -ENOSPC);
}

/* The whole exchange, as the two processes will run it. */
static void
test_handshake_flow(void **state)
{
	uint8_t buf[1024];
	struct tg_punt_hello_ack ack;
	struct tg_punt_msg m;
	uint16_t v = 0;
	int n;

	n = tg_punt_encode_hello(buf, sizeof(buf), 1, &hello_dp);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_int_equal(tg_punt_type_sender(m.hdr.type), TG_PUNT_ROLE_DATAPLANE);
	tg_punt_hello_answer(&hello_sp, &m.u.hello, &ack);
	n = tg_punt_encode_hello_ack(buf, sizeof(buf), 1, &ack);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_int_equal(tg_punt_type_sender(m.hdr.type), TG_PUNT_ROLE_SLOWPATH);
	assert_int_equal(tg_punt_hello_check(&hello_dp, &m.u.hello_ack, &v), TG_PUNT_OK);
	assert_int_equal(v, 1);
	/* the capabilities in force: those both stated */
	assert_int_equal(hello_dp.caps & m.u.hello_ack.caps, 0);
}

static void
test_names(void **state)
{
	int i, j;

	for (i = 0; i < TG_PUNT_ERR_MAX; i++) {
		assert_non_null(tg_punt_err_names[i]);
		assert_non_null(tg_punt_err_descs[i]);
		for (j = 0; j < i; j++)
			assert_string_not_equal(tg_punt_err_names[i], tg_punt_err_names[j]);
	}
	for (i = 0; i < TG_PUNT_DETECT_MAX; i++)
		assert_non_null(tg_punt_detect_names[i]);
	assert_string_equal(tg_punt_detect_names[TG_PUNT_DETECT_AWS_KEY], "aws_access_key");
	/* every type defined has its sender and name; the codes between them have none */
	for (i = 1; i < TG_PUNT_T_MAX; i++) {
		bool known = false;

#define KNOWN(e, c, n, r)                                                        \
	if (i == (c)) {                                                          \
		known = true;                                                    \
		assert_int_equal(tg_punt_type_sender((uint16_t)i), (r));         \
		assert_string_equal(tg_punt_type_name((uint16_t)i), (n));        \
	}
		TG_PUNT_TYPES(KNOWN)
#undef KNOWN
		if (!known) {
			assert_int_equal(tg_punt_type_sender((uint16_t)i), 0);
			assert_string_equal(tg_punt_type_name((uint16_t)i), "unknown");
		}
	}
	assert_int_equal(tg_punt_type_sender(0), 0);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_MAX), 0);
	assert_string_equal(tg_punt_type_name(TG_PUNT_T_MAX), "unknown");
	assert_string_equal(tg_punt_type_name(TG_PUNT_T_EVENT_BATCH), "event_batch");
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_POLICY_GEN), TG_PUNT_ROLE_SLOWPATH);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_POLICY_ACK), TG_PUNT_ROLE_DATAPLANE);
}

/*
 * AUDIT_STATE (AU-5(4)): the bytes of punt.h's layout, both states, and
 * what the decoder and the encoder refuse.
 */
static void
test_audit_state(void **state)
{
	/* header: TGPC, version 1, type 15, flags 0, length 31, seq 2; state 1 (full), reason "full" */
	static const uint8_t golden[] = {
		0x54, 0x47, 0x50, 0x43, 0x00, 0x01, 0x00, 0x0f, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x02, 0x01, 0x00, 0x04, 'f',  'u',  'l',  'l',
	};
	struct tg_punt_audit_state as = { .state = TG_PUNT_AUDIT_FULL, .reason = S("full") };
	uint8_t buf[TG_PUNT_HDR_LEN + 3 + TG_PUNT_REASON_MAX + 8], bad[sizeof(golden)];
	char longer[TG_PUNT_REASON_MAX + 2];
	struct tg_punt_msg m;
	int n;

	(void)state;
	n = tg_punt_encode_audit_state(buf, sizeof(buf), 2, &as);
	assert_int_equal(n, sizeof(golden));
	assert_memory_equal(buf, golden, sizeof(golden));
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_AUDIT_STATE);
	assert_int_equal(m.u.audit.state, TG_PUNT_AUDIT_FULL);
	ASSERT_STR(m.u.audit.reason, "full");
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_AUDIT_STATE), TG_PUNT_ROLE_SLOWPATH);
	assert_string_equal(tg_punt_type_name(TG_PUNT_T_AUDIT_STATE), "audit_state");

	/* ok, with or without a reason */
	as = (struct tg_punt_audit_state){ .state = TG_PUNT_AUDIT_OK };
	n = tg_punt_encode_audit_state(buf, sizeof(buf), 3, &as);
	assert_int_equal(n, TG_PUNT_HDR_LEN + 3);
	assert_int_equal(decode_exact(buf, (size_t)n, &m), TG_PUNT_OK);
	assert_int_equal(m.u.audit.state, TG_PUNT_AUDIT_OK);
	assert_int_equal(m.u.audit.reason.len, 0);
	as.reason = S("room again");
	assert_true(tg_punt_encode_audit_state(buf, sizeof(buf), 3, &as) > 0);

	/* the encoder refuses what the decoder would */
	as = (struct tg_punt_audit_state){ .state = TG_PUNT_AUDIT_FULL };
	assert_int_equal(tg_punt_encode_audit_state(buf, sizeof(buf), 3, &as), -EINVAL);
	as = (struct tg_punt_audit_state){ .state = 2, .reason = S("x") };
	assert_int_equal(tg_punt_encode_audit_state(buf, sizeof(buf), 3, &as), -EINVAL);
	as = (struct tg_punt_audit_state){ .state = TG_PUNT_AUDIT_FULL, .reason = S("a\nb") };
	assert_int_equal(tg_punt_encode_audit_state(buf, sizeof(buf), 3, &as), -EINVAL);
	memset(longer, 'x', sizeof(longer));
	as.reason = (struct tg_punt_str){ longer, TG_PUNT_REASON_MAX + 1 };
	assert_int_equal(tg_punt_encode_audit_state(buf, sizeof(buf), 3, &as), -EINVAL);
	as.reason.len = TG_PUNT_REASON_MAX;
	assert_int_equal(tg_punt_encode_audit_state(buf, sizeof(buf), 3, &as),
			 TG_PUNT_HDR_LEN + 3 + TG_PUNT_REASON_MAX);
	as.reason = S("full");
	assert_int_equal(tg_punt_encode_audit_state(buf, 30, 3, &as), -ENOSPC);
	assert_int_equal(tg_punt_encode_audit_state(buf, sizeof(buf), 0, &as), -EINVAL);

	/* the decoder: state out of range, full without a reason, a control byte */
	memcpy(bad, golden, 31);
	bad[24] = 2;
	assert_int_equal(decode_exact(bad, 31, &m), TG_PUNT_ERR_VALUE);
	memcpy(bad, golden, 31);
	bad[26] = 0; /* reason of 0 bytes, 4 bytes left over */
	assert_int_equal(decode_exact(bad, 31, &m), TG_PUNT_ERR_VALUE);
	memcpy(bad, golden, 31);
	bad[28] = 0x07; /* BEL in the reason */
	assert_int_equal(decode_exact(bad, 31, &m), TG_PUNT_ERR_VALUE);
	memcpy(bad, golden, 31);
	bad[26] = 5; /* runs past the end */
	assert_int_equal(decode_exact(bad, 31, &m), TG_PUNT_ERR_TRUNC);
	assert_int_equal(decode_exact(golden, 30, &m), TG_PUNT_ERR_LENGTH);
}

/* ---------------------------------------------------------------------
 * TCP grants
 * ------------------------------------------------------------------- */

/* The flow events: every field back, and the encoder refuses what the decoder would. */
static void
test_flow_events(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	static struct raw r;
	static const uint8_t types[] = { TG_PUNT_EV_FLOW_START, TG_PUNT_EV_FLOW_REFUSED,
					 TG_PUNT_EV_FLOW_END };
	struct tg_punt_event ev, got;
	struct tg_punt_msg m;
	struct tg_punt_enc e;
	struct tg_punt_iter it;
	size_t n, at;
	unsigned int i;

	(void)state;
	n = sample(27, buf, sizeof(buf));
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	it = m.u.batch.events;
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		assert_true(tg_punt_batch_next(&it, &got));
		ev = ev_flow(types[i]);
		assert_same_event(&got, &ev);
		assert_int_equal(got.seq, 300 + i);
	}
	assert_false(tg_punt_batch_next(&it, &got));

	/* FLOW_START known answer: grant, t_start, three names */
	raw_batch(&r, 1, 1);
	at = raw_ev(&r, TG_PUNT_EV_FLOW_START, 0, 1, 3, 77);
	raw64(&r, 0x3f9c0a1b2c4d5e6full);	/* grant g-3f9c0a1b2c4d5e6f */
	raw64(&r, 1700000000123456789ull);	/* 2023-11-14T22:13:20.123456789Z */
	raws8(&r, "lab-ssh");
	raws8(&r, "198.18.0.1:50022");
	raws8(&r, "198.18.0.2:22");
	raw_ev_end(&r, at);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 7, 1), 0);
	ev = ev_flow(TG_PUNT_EV_FLOW_START);
	assert_int_equal(tg_punt_batch_add(&e, &ev), 0);
	assert_int_equal(tg_punt_batch_end(&e), (int)r.n);
	assert_memory_equal(buf, r.b, r.n);

	/* refusals: no grant, a refusal out of range or with a session, an end reason 0 */
	assert_int_equal(tg_punt_batch_begin(&e, buf, sizeof(buf), 7, 1), 0);
	ev = ev_flow(TG_PUNT_EV_FLOW_START);
	ev.grant = 0;
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	ev = ev_flow(TG_PUNT_EV_FLOW_END);
	ev.end_reason = 0;
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	ev.end_reason = TG_PUNT_END_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	ev = ev_flow(TG_PUNT_EV_FLOW_REFUSED);
	ev.refusal = TG_PUNT_REFUSAL_MAX;
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	ev.refusal = 0;
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	ev = ev_flow(TG_PUNT_EV_FLOW_REFUSED);
	ev.session = 5;
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	/* 6 and 7 are not event types */
	ev = ev_flow(TG_PUNT_EV_FLOW_START);
	ev.type = 6;
	assert_int_equal(tg_punt_batch_add(&e, &ev), -EINVAL);
	assert_int_equal(e.count, 0);

	raw_batch(&r, 1, 1);
	at = raw_ev(&r, TG_PUNT_EV_FLOW_REFUSED, 0, 1, 3, 9);	/* a session on a refusal */
	raw8(&r, TG_PUNT_REFUSAL_NO_GRANT);
	raw64(&r, 1);
	raws8(&r, "a");
	raws8(&r, "b");
	raws8(&r, "c");
	raw_ev_end(&r, at);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	raw_batch(&r, 1, 1);
	at = raw_ev(&r, 7, 0, 1, 3, 0);
	raw64(&r, 1);
	raw_ev_end(&r, at);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_EVENT_TYPE);
	raw_batch(&r, 1, 1);
	at = raw_ev(&r, TG_PUNT_EV_FLOW_START, 0x01, 1, 3, 9);	/* text cut: not a flow's flag */
	raw64(&r, 1);
	raw64(&r, 1);
	raws8(&r, "a");
	raws8(&r, "b");
	raws8(&r, "c");
	raw_ev_end(&r, at);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
}

/* A TCP_GRANTS, raw, for the refusals: the services, then the grants. */
static void
raw_tcpg(struct raw *r, uint8_t nsvc, const char *const *names, const uint8_t *flags,
	 uint16_t count)
{
	uint8_t i;

	raw_hdr(r, 1, TG_PUNT_T_TCP_GRANTS, 5);
	raw64(r, 3);
	raw8(r, nsvc);
	for (i = 0; i < nsvc; i++) {
		raw8(r, flags != NULL ? flags[i] : 0);
		raws8(r, names[i]);
	}
	raw16(r, count);
}

static void
raw_tcpg_grant(struct raw *r, uint64_t id, uint8_t svc, uint8_t family, uint8_t prefix,
	       const uint8_t *addr)
{
	raw64(r, id);
	raw8(r, svc);
	raw8(r, family);
	raw8(r, prefix);
	rawbytes(r, addr, family == 6 ? 16 : 4);
	raw64(r, 1700001800);
}

/* TCP_GRANTS with one or two grants (198.18.0.1 or 2001:db8::), what the decoder says. */
struct tcpg_case {
	const char *what;
	uint16_t count;
	struct {
		uint64_t id;
		uint8_t svc, family, prefix;
	} g[2];
	enum tg_punt_err want;
};

static const struct tcpg_case tcpg_bad[] = {
	{ "two services, ascending", 2, { { 5, 0, 4, 32 }, { 1, 1, 6, 32 } }, TG_PUNT_OK },
	{ "services descending", 2, { { 5, 1, 4, 32 }, { 1, 0, 6, 32 } }, TG_PUNT_ERR_ORDER },
	{ "an id twice", 2, { { 5, 0, 4, 32 }, { 5, 0, 4, 32 } }, TG_PUNT_ERR_ORDER },
	{ "no such service", 1, { { 5, 2, 4, 32 } }, TG_PUNT_ERR_VALUE },
	{ "id 0", 1, { { 0, 0, 4, 32 } }, TG_PUNT_ERR_VALUE },
	/* 198.18.0.1/31: the last bit is a host bit */
	{ "host bits", 1, { { 5, 0, 4, 31 } }, TG_PUNT_ERR_VALUE },
	{ "an IPv6 prefix of 129", 1, { { 5, 0, 6, 129 } }, TG_PUNT_ERR_VALUE },
	{ "family 5", 1, { { 5, 0, 5, 0 } }, TG_PUNT_ERR_VALUE },
	{ "one grant short", 2, { { 5, 0, 6, 32 } }, TG_PUNT_ERR_TRUNC },
};

static void
test_tcp_grants(void **state)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	static struct raw r;
	static struct tg_punt_tcp_grant many[TG_PUNT_TCP_GRANTS_MAX + 1];
	static const char *const ab[] = { "a", "b" }, *const ba[] = { "b", "a" },
				 *const aa[] = { "a", "a" }, *const pfx[] = { "ab", "a" };
	static const uint8_t v4[4] = { 198, 18, 0, 1 }, v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct tg_punt_tcp_grants t;
	struct tg_punt_tcp_grant g;
	struct tg_punt_iter it;
	struct tg_punt_msg m;
	size_t n;
	unsigned int i;
	int len;
	/* clang-format off */
	static const uint8_t want[] =
		/* magic, version 1, type 18 (TCP_GRANTS), flags 0, length 132, seq 5 */
		"TGPC" "\x00\x01" "\x00\x12" "\x00\x00\x00\x00" "\x00\x00\x00\x84"
		"\x00\x00\x00\x00\x00\x00\x00\x05"
		/* gen 3, two services: "lab-ssh" (flags 1: on_grant_expiry end), "redis" */
		"\x00\x00\x00\x00\x00\x00\x00\x03" "\x02"
		"\x01" "\x07" "lab-ssh" "\x00" "\x05" "redis"
		/* three grants */
		"\x00\x03"
		/* id 1, service 0, IPv4 198.18.0.1/32, expires 1700001800 */
		"\x00\x00\x00\x00\x00\x00\x00\x01" "\x00" "\x04" "\x20" "\xc6\x12\x00\x01"
		"\x00\x00\x00\x00\x65\x53\xf8\x08"
		/* id 7, service 0, IPv4 10.1.2.0/24, expires 1700001800 */
		"\x00\x00\x00\x00\x00\x00\x00\x07" "\x00" "\x04" "\x18" "\x0a\x01\x02\x00"
		"\x00\x00\x00\x00\x65\x53\xf8\x08"
		/* id 2, service 1, IPv6 2001:db8::/32, expires never (UINT64_MAX) */
		"\x00\x00\x00\x00\x00\x00\x00\x02" "\x01" "\x06" "\x20"
		"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		"\xff\xff\xff\xff\xff\xff\xff\xff";
	static const uint8_t want_svc[] =
		/* magic, version 1, type 19 (TCP_SERVICES), flags 0, length 40, seq 3 */
		"TGPC" "\x00\x01" "\x00\x13" "\x00\x00\x00\x00" "\x00\x00\x00\x28"
		"\x00\x00\x00\x00\x00\x00\x00\x03"
		/* count 2: "lab-ssh", "redis" */
		"\x00\x02" "\x07" "lab-ssh" "\x05" "redis";
	/* clang-format on */

	(void)state;
	n = sample(29, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(buf, want, n);
	assert_int_equal(decode_exact(buf, n, &m), TG_PUNT_OK);
	assert_int_equal(m.u.tcpg.gen, 3);
	assert_int_equal(m.u.tcpg.nsvc, 2);
	ASSERT_STR(m.u.tcpg.svc[0].name, "lab-ssh");
	assert_int_equal(m.u.tcpg.svc[0].flags, TG_PUNT_TCPG_F_END);
	ASSERT_STR(m.u.tcpg.svc[1].name, "redis");
	assert_int_equal(m.u.tcpg.svc[1].flags, 0);
	assert_int_equal(m.u.tcpg.count, 3);
	it = m.u.tcpg.entries;
	for (i = 0; i < 3; i++) {
		assert_true(tg_punt_tcp_grant_next(&it, &g));
		assert_memory_equal(&g, &tcpg_list[i], sizeof(g));
	}
	assert_false(tg_punt_tcp_grant_next(&it, &g));
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_TCP_GRANTS), TG_PUNT_ROLE_SLOWPATH);
	assert_string_equal(tg_punt_type_name(TG_PUNT_T_TCP_GRANTS), "tcp_grants");

	n = sample(28, buf, sizeof(buf));
	assert_int_equal(n, sizeof(want_svc) - 1);
	assert_memory_equal(buf, want_svc, n);
	assert_int_equal(tg_punt_type_sender(TG_PUNT_T_TCP_SERVICES), TG_PUNT_ROLE_DATAPLANE);
	assert_string_equal(tg_punt_type_name(TG_PUNT_T_TCP_SERVICES), "tcp_services");
	/* a dataplane without tcp services says so: none is fine, unlike SERVICES */
	len = tg_punt_encode_tcp_services(buf, sizeof(buf), 3, NULL, 0);
	assert_int_equal(len, TG_PUNT_HDR_LEN + 2);
	assert_int_equal(decode_exact(buf, (size_t)len, &m), TG_PUNT_OK);
	assert_int_equal(m.u.services.count, 0);
	assert_canonical(buf, (size_t)len);
	assert_int_equal(tg_punt_encode_tcp_services(buf, sizeof(buf), 3, aa, 2), -EINVAL);

	/* empty: no service needs a grant */
	t = (struct tg_punt_tcp_grants){ .gen = 1 };
	len = tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t);
	assert_int_equal(len, TG_PUNT_HDR_LEN + 11);
	assert_canonical(buf, (size_t)len);

	/* the most: 64 services, 1024 grants; one more is refused */
	t = tcpg_sample();
	t.nsvc = 1;
	for (i = 0; i <= TG_PUNT_TCP_GRANTS_MAX; i++)
		many[i] = (struct tg_punt_tcp_grant){ .id = i + 1, .family = 6, .prefix = 128,
						      .addr = { 0x20, 0x01, [15] = (uint8_t)i },
						      .expires = i };
	t.list = many;
	t.count = TG_PUNT_TCP_GRANTS_MAX;
	len = tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t);
	assert_true(len > 0);
	assert_canonical(buf, (size_t)len);
	t.count = TG_PUNT_TCP_GRANTS_MAX + 1;
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);

	/* the encoder refuses: gen 0, services out of order or repeated, a bad grant */
	t = tcpg_sample();
	t.gen = 0;
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	t = tcpg_sample();
	t.svc[0].name = S("zz");
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	t.svc[0].name = S("redis");
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	t = tcpg_sample();
	t.svc[1].flags = 2;
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	t = tcpg_sample();
	memcpy(many, tcpg_list, sizeof(tcpg_list));
	t.list = many;
	many[0].addr[3] = 1;
	many[0].prefix = 24;	/* 198.18.0.1/24: host bits */
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	memcpy(many, tcpg_list, sizeof(tcpg_list));
	many[0].prefix = 33;
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	memcpy(many, tcpg_list, sizeof(tcpg_list));
	many[1].id = 1;	/* repeated id in a service */
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	memcpy(many, tcpg_list, sizeof(tcpg_list));
	many[2].svc = 2;	/* no such service */
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	memcpy(many, tcpg_list, sizeof(tcpg_list));
	many[2].family = 5;
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	memcpy(many, tcpg_list, sizeof(tcpg_list));
	many[0].id = 0;
	assert_int_equal(tg_punt_encode_tcp_grants(buf, sizeof(buf), 5, &t), -EINVAL);
	t = tcpg_sample();
	assert_int_equal(tg_punt_encode_tcp_grants(buf, 100, 5, &t), -ENOSPC);

	/* the decoder: services in order, once, with known flags */
	raw_tcpg(&r, 2, ab, NULL, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_OK);
	raw_tcpg(&r, 2, ba, NULL, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_ORDER);
	raw_tcpg(&r, 2, aa, NULL, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_ORDER);
	raw_tcpg(&r, 2, pfx, NULL, 0);	/* "a" sorts before "ab" */
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_ORDER);
	raw_tcpg(&r, 2, ab, (const uint8_t[]){ 0, 4 }, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_FLAGS);
	raw_tcpg(&r, 1, (const char *const[]){ "" }, NULL, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	raw_hdr(&r, 1, TG_PUNT_T_TCP_GRANTS, 5);
	raw64(&r, 0);	/* gen 0 */
	raw8(&r, 0);
	raw16(&r, 0);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_VALUE);
	raw_hdr(&r, 1, TG_PUNT_T_TCP_GRANTS, 5);
	raw64(&r, 1);
	raw8(&r, TG_PUNT_SERVICES_MAX + 1);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	raw_tcpg(&r, 0, NULL, NULL, TG_PUNT_TCP_GRANTS_MAX + 1);
	raw_end(&r);
	assert_int_equal(raw_decode(&r, &m), TG_PUNT_ERR_COUNT);
	/* grants: a clean prefix of a known service, ascending by (service, id) */
	for (i = 0; i < ARRAY_SIZE(tcpg_bad); i++) {
		const struct tcpg_case *c = &tcpg_bad[i];

		raw_tcpg(&r, 2, ab, NULL, c->count);
		for (unsigned int k = 0; k < 2 && c->g[k].family != 0; k++)
			raw_tcpg_grant(&r, c->g[k].id, c->g[k].svc, c->g[k].family, c->g[k].prefix,
				       c->g[k].family == 4 ? v4 : v6);
		raw_end(&r);
		if (raw_decode(&r, &m) != c->want)
			fail_msg("%s: %s, want %s", c->what, tg_punt_err_names[raw_decode(&r, &m)],
				 tg_punt_err_names[c->want]);
		if (c->want == TG_PUNT_OK)
			assert_canonical(r.b, r.n);
	}
}

#define TEST(f) cmocka_unit_test(test_##f)

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		TEST(golden_hello),
		TEST(golden_batch),
		TEST(golden_lost),
		TEST(raw_writer_agrees),
		TEST(raw_writer_agrees_begin),
		TEST(roundtrip_hello),
		TEST(roundtrip_hello_ack),
		TEST(roundtrip_batch),
		TEST(roundtrip_batch_unused_fields),
		TEST(roundtrip_begin_lost),
		TEST(roundtrip_begin_lost_unused_fields),
		TEST(roundtrip_batch_max_event),
		TEST(roundtrip_record),
		TEST(batch_fill),
		TEST(batch_encode_invalid),
		TEST(batch_nul_sanitized),
		TEST(roundtrip_small),
		TEST(roundtrip_stats),
		TEST(roundtrip_sessions),
		TEST(policy_chunks),
		TEST(policy_rx_order),
		TEST(policy_object_errors),
		TEST(policy_object_db),
		TEST(services),
		TEST(auth),
		TEST(hold),
		TEST(audit_state),
		TEST(flow_events),
		TEST(tcp_grants),
		TEST(truncate_all),
		TEST(trailing_all),
		TEST(flip_all),
		TEST(header_errors),
		TEST(count_errors),
		TEST(event_errors),
		TEST(begin_lost_errors),
		TEST(body_errors),
		TEST(negotiate),
		TEST(handshake_flow),
		TEST(names),
	};

	return cmocka_run_group_tests_name("punt", tests, NULL, NULL);
}
