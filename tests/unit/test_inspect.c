/* SPDX-License-Identifier: MIT */
/*
 * test_inspect.c — unit tests of the PostgreSQL inspector (inspect.c) on
 * top of the reassembly engine (stream.c) and the parser (pg.c).
 *
 * The property every case checks: what the receiver of each direction
 * gets is exactly the bytes sent, with the masked values and blocked
 * statements rewritten at the same length and nothing else changed; no
 * byte of a message leaves before it has been decided on; and every
 * packet on the wire carries a TCP checksum that is right for its bytes
 * and moved by exactly the RFC 1624 delta of the bytes that changed.
 *
 * The harness:
 * - one worker's stream memory (rings of RING bytes, so the inspector's
 *   caps are RING / 2) and one inspector with the test policy; a session
 *   is two stream directions, dir 0 client to server, dir 1 back;
 * - a packet is one heap block: a copy of the payload as sent, then a
 *   20-byte TCP header and the payload, nothing after it, so ASan reports
 *   any read past the payload; its checksum is computed over a fixed IPv4
 *   pseudo-header with csum.h (tpkt.h, shared with test_stream.c);
 * - the wire: FORWARD sends the packet to the receiver now, HOLD leaves it
 *   with the engine until tg_stream_release() hands it back, DROP and
 *   EXCEPTION free it (and are counted: no case expects one);
 * - the receiver places each byte at its offset, checks a byte it already
 *   has is the same again, and ACKs what it has in order (auto_ack), with
 *   a window of the ring size, as the tracker clamps it;
 * - the event callback copies every event and renders it as JSON.
 *
 * PostgreSQL messages are built by the q_* (client) and r_* (server)
 * builders of pgmsg.h (shared with test_pg.c) and below, byte for byte as
 * PostgreSQL 15 sends them (55.7); each builder's comment gives the layout.
 *
 * Deterministic: no random input, no clock in any assertion.
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
#include <jansson.h>

#include "csum.h"
#include "inspect.h"
#include "policy.h"
#include "service.h"
#include "stream.h"

#include "pgmsg.h"
#include "tpkt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define RING 4096		/* ring bytes: the inspector holds at most RING / 2 */
#define OUT_MAX 65536		/* longest stream a case sends, per direction */
#define EV_MAX 48		/* events kept per harness */
#define JSON_MAX 16384
#define FE 0
#define BE 1

#define ICNT(h, c) ((h)->in.cnt[TG_INSPECT_CNT_##c])

/* ---------------------------------------------------------------------
 * The policy: service 0 "pg" is inspected, service 1 "other" scopes a
 * detector that must not fire for "pg".
 * ------------------------------------------------------------------- */

static const char policy_json[] =
	"{\n"
	" \"commands\": {\n"
	"  \"default\": \"allow\",\n"
	"  \"rules\": [\n"
	"   { \"id\": \"no-drop\", \"patterns\": [\"\\\\bdrop\\\\b\"], \"caseless\": true,\n"
	"     \"action\": \"block\" },\n"
	"   { \"id\": \"log-ddl\", \"patterns\": [\"\\\\b(alter|create)\\\\b\"],\n"
	"     \"caseless\": true, \"action\": \"log\" },\n"
	"   { \"id\": \"review-delete\", \"patterns\": [\"\\\\bdelete\\\\s+from\\\\b\"],\n"
	"     \"caseless\": true, \"action\": \"hold\", \"approvers\": \"dba\", \"quorum\": 2,\n"
	"     \"timeout\": \"2m\" }\n"
	"  ] },\n"
	" \"detectors\": [\n"
	"  { \"id\": \"card\", \"kind\": \"card\", \"mask\": \"last4\" },\n"
	"  { \"id\": \"email\", \"kind\": \"email\", \"mask\": \"keep-domain\" },\n"
	"  { \"id\": \"ssn\", \"kind\": \"ssn\", \"mask\": \"full\" },\n"
	"  { \"id\": \"emp\", \"kind\": \"regex\", \"pattern\": \"EMP-[0-9]{6}\",\n"
	"    \"mask\": \"full\", \"services\": [\"other\"] }\n"
	" ],\n"
	" \"columns\": [\n"
	"  { \"id\": \"ssn-column\", \"column\": \"ssn\", \"mask\": \"full\" }\n"
	" ]\n"
	"}\n";

static struct tg_services svcs;
static struct tg_policy *policy;

static int
group_setup(void **state)
{
	char err[512] = "";

	(void)state;
	memset(&svcs, 0, sizeof(svcs));
	snprintf(svcs.svc[0].name, sizeof(svcs.svc[0].name), "pg");
	svcs.svc[0].proto = TG_SERVICE_POSTGRES;
	snprintf(svcs.svc[1].name, sizeof(svcs.svc[1].name), "other");
	svcs.svc[1].proto = TG_SERVICE_POSTGRES;
	svcs.svc[1].durability = TG_DURABILITY_STRICT;	/* only cases that set begin see it */
	svcs.nb = 2;
	if (tg_policy_parse(policy_json, strlen(policy_json), "test", &svcs, &policy, err,
			    sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		return -1;
	}
	if (tg_policy_compile(policy, "test", err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		tg_policy_free(policy);
		policy = NULL;
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	tg_policy_free(policy);
	policy = NULL;
	return 0;
}

/* ---------------------------------------------------------------------
 * Message builders (PostgreSQL 15 docs, 55.7 "Message Formats"): pgmsg.h's,
 * and those only these cases need
 * ------------------------------------------------------------------- */

/* Query whose text is n bytes from p (may hold any byte but NUL) */
static void
q_query_n(struct mb *m, const void *p, size_t n)
{
	size_t at = msg_begin(m, 'Q');

	putn(m, p, n);
	put8(m, 0);
	msg_end(m, at);
}

/*
 * Bind of the unnamed portal to the unnamed statement, no parameters,
 * every result column in binary: 'B', Int32 len, "", "", Int16 0, Int16 0,
 * Int16 1, Int16 1
 */
static void
q_bind_binary(struct mb *m)
{
	size_t at = msg_begin(m, 'B');

	puts0(m, "");
	puts0(m, "");
	put16(m, 0);
	put16(m, 0);
	put16(m, 1);
	put16(m, 1);
	msg_end(m, at);
}

/*
 * FunctionCall: 'F', Int32 len, Int32 oid, Int16 1 format (0, text),
 * Int16 1 argument, Int32 len, bytes, Int16 0 (text result)
 */
static void
q_fcall(struct mb *m, uint32_t oid, const char *arg)
{
	size_t at = msg_begin(m, 'F');

	put32(m, oid);
	put16(m, 1);
	put16(m, 0);
	put16(m, 1);
	put32(m, (uint32_t)strlen(arg));
	putn(m, arg, strlen(arg));
	put16(m, 0);
	msg_end(m, at);
}

struct col {
	const char *name;
	uint32_t type_oid;
	int16_t typlen;
	int16_t format;
};

/*
 * RowDescription: 'T', Int32 len, Int16 n, per column String name, Int32
 * table oid, Int16 attnum, Int32 type oid, Int16 typlen, Int32 typmod,
 * Int16 format
 */
static void
r_rowdesc(struct mb *m, int n, const struct col *c)
{
	size_t at = msg_begin(m, 'T');
	int i;

	put16(m, (uint16_t)n);
	for (i = 0; i < n; i++) {
		puts0(m, c[i].name);
		put32(m, 16384);
		put16(m, (uint16_t)(i + 1));
		put32(m, c[i].type_oid);
		put16(m, (uint16_t)c[i].typlen);
		put32(m, UINT32_MAX);
		put16(m, (uint16_t)c[i].format);
	}
	msg_end(m, at);
}

/* DataRow of n fields given as bytes and lengths (binary values) */
static void
r_row_bin(struct mb *m, int n, const uint8_t *const *vals, const uint32_t *lens)
{
	size_t at = msg_begin(m, 'D');
	int i;

	put16(m, (uint16_t)n);
	for (i = 0; i < n; i++) {
		put32(m, lens[i]);
		putn(m, vals[i], lens[i]);
	}
	msg_end(m, at);
}

/* FunctionCallResponse: 'V', Int32 len, Int32 value len, bytes */
static void
r_fresult(struct mb *m, const char *val)
{
	size_t at = msg_begin(m, 'V');

	put32(m, (uint32_t)strlen(val));
	putn(m, val, strlen(val));
	msg_end(m, at);
}

/* ErrorResponse with severity, SQLSTATE and message only */
static void
r_error(struct mb *m, const char *sqlstate, const char *text)
{
	const char *const f[] = { "S", "ERROR", "V", "ERROR", "C", sqlstate, "M", text, NULL };

	r_notice(m, 'E', f);
}

/* The server's side of a login: AuthenticationOk, two ParameterStatus, the key, Ready 'I'. */
static void
r_login(struct mb *m)
{
	r_auth(m, TG_PG_AUTH_OK, NULL, 0);
	r_param(m, "client_encoding", "UTF8");
	r_param(m, "server_version", "15.18");
	r_key(m, 7549, 0xfe62d3cb);
	r_ready(m, 'I');
}

/* CopyData from the server: 'd', Int32 len, the row's bytes */
static void
r_copy_data(struct mb *m, const char *row)
{
	q_bytes(m, 'd', row, strlen(row));
}

/* ---------------------------------------------------------------------
 * Packets
 * ------------------------------------------------------------------- */

/* A segment as tpkt.h writes it, after a copy of its payload as sent. */
struct tpkt {
	struct tpkt_link link;		/* every live packet, for the teardown; first */
	uint16_t plen;
	uint16_t csum_sent;		/* the checksum as sent */
	uint8_t *th;			/* buf + plen */
	uint8_t buf[];	/* the payload as sent, then TCP header and payload, nothing after */
};

static struct tpkt_link *live_pkts;

static bool
csum_ok(const struct tpkt *p)
{
	return tpkt_csum_ok(p->th, p->plen);
}

/* A 16-bit ones-complement value with its two zeros made one. */
static uint16_t
ones_norm(uint32_t v)
{
	while (v >> 16)
		v = (v & 0xffff) + (v >> 16);
	return v == 0xffff ? 0 : (uint16_t)v;
}

/*
 * The checksum a packet carries now against the one it was sent with: the
 * same when no payload byte changed, else moved by exactly the difference
 * of the payload sums (RFC 1624: ~HC' = ~HC - m + m'), whatever the
 * engine did word by word.
 */
static void
check_csum_delta(const struct tpkt *p)
{
	uint16_t now = tg_rd16(p->th + 16);
	uint16_t was = p->csum_sent;
	uint16_t s_old, s_new;

	assert_true(csum_ok(p));
	if (memcmp(p->buf, p->th + TCP_HLEN, p->plen) == 0) {
		assert_int_equal(now, was);
		return;
	}
	s_old = ones_norm(tg_csum_partial(p->buf, p->plen, 0));
	s_new = ones_norm(tg_csum_partial(p->th + TCP_HLEN, p->plen, 0));
	/* ~now == ~was + ~s_old + s_new in ones-complement arithmetic */
	assert_int_equal(ones_norm((uint16_t)~now),
			 ones_norm((uint32_t)(uint16_t)~was + (uint16_t)~s_old + s_new));
	if (s_old != s_new)
		assert_int_not_equal(now, was);
}

/* tpkt.h's segment of seq (either direction), PSH|ACK, the checksum right. */
static struct tpkt *
pkt_new(uint32_t seq, const uint8_t *data, uint16_t len)
{
	struct tpkt *p = malloc(sizeof(*p) + len + TCP_HLEN + len);

	assert_non_null(p);
	tpkt_live_add(&live_pkts, &p->link);
	p->plen = len;
	if (len)
		memcpy(p->buf, data, len);
	p->th = p->buf + len;
	p->csum_sent = tpkt_write(p->th, seq, TH_PSH | TH_ACK, data, len);
	assert_true(csum_ok(p));
	return p;
}

static void
pkt_free(struct tpkt *p)
{
	tpkt_live_del(&live_pkts, &p->link);
	free(p);
}

/* ---------------------------------------------------------------------
 * Harness
 * ------------------------------------------------------------------- */

struct evrec {
	uint64_t session;
	uint16_t service;
	uint8_t kind, verdict, result;
	bool has_rule;
	char rule[TG_POLICY_ID_MAX];
	char client[64], user[TG_INSPECT_NAME_MAX], database[TG_INSPECT_NAME_MAX];
	char application[TG_INSPECT_NAME_MAX];
	char text[TG_INSPECT_TEXT_MAX + 1];
	uint32_t text_len;
	bool text_cut;
	char params[TG_INSPECT_PARAMS_MAX + 1];
	uint32_t params_len;
	char sqlstate[6];
	uint64_t rows;
	uint32_t masked[TG_DETECT_KIND_MAX];
	uint32_t masked_columns;
	size_t json_len;
	char json[JSON_MAX];
};

struct h {
	struct tg_stream_mem mem;
	struct tg_inspect in;
	struct tg_stream st[2];
	uint32_t isn1[2];
	uint64_t next[2];		/* the next offset each sender sends */
	bool open;
	bool auto_ack;			/* the receivers ACK what they have in order */
	unsigned int drops;		/* DROP or EXCEPTION verdicts */
	unsigned int changed_pkts;	/* packets whose payload the engine rewrote */

	/* receivers */
	uint8_t out[2][OUT_MAX];
	bool have[2][OUT_MAX];
	uint64_t rcv_nxt[2];
	uint64_t rcv_max[2];		/* end of the furthest byte received */

	struct evrec ev[EV_MAX];
	unsigned int nev;

	/* durability: STATEMENT_BEGIN events and their tickets */
	uint64_t tickets;		/* handed out */
	uint64_t durable;		/* what the inspector reads */
	bool refuse_begin;		/* answer 0: not queued */
	unsigned int nbegin;
	uint32_t begin_stmt[EV_MAX];
	char begin_text[EV_MAX][64];
	unsigned int ungated;		/* sessions handed back by tg_inspect_ungate() */
};

static void
on_event(void *arg, const struct tg_inspect_event *e)
{
	struct h *h = arg;
	struct evrec *r;

	assert_true(h->nev < EV_MAX);
	r = &h->ev[h->nev++];
	memset(r, 0, offsetof(struct evrec, json));
	r->session = e->session;
	r->service = e->service;
	r->kind = e->kind;
	r->verdict = e->verdict;
	r->result = e->result;
	r->has_rule = e->rule != NULL;
	if (e->rule != NULL)
		snprintf(r->rule, sizeof(r->rule), "%s", e->rule);
	snprintf(r->client, sizeof(r->client), "%s", e->client);
	snprintf(r->user, sizeof(r->user), "%s", e->user);
	snprintf(r->database, sizeof(r->database), "%s", e->database);
	snprintf(r->application, sizeof(r->application), "%s", e->application);
	assert_true(e->text_len <= TG_INSPECT_TEXT_MAX);
	memcpy(r->text, e->text, e->text_len);
	r->text_len = e->text_len;
	r->text_cut = e->text_cut;
	assert_true(e->params_len <= TG_INSPECT_PARAMS_MAX);
	memcpy(r->params, e->params, e->params_len);
	r->params_len = e->params_len;
	memcpy(r->sqlstate, e->sqlstate, sizeof(r->sqlstate));
	assert_int_equal(r->sqlstate[5], 0);
	r->rows = e->rows;
	memcpy(r->masked, e->masked, sizeof(r->masked));
	r->masked_columns = e->masked_columns;
	r->json_len = tg_inspect_event_json(e, r->json, sizeof(r->json));
	assert_true(r->json_len > 0 && r->json_len < sizeof(r->json));
	r->json[r->json_len] = '\0';
	assert_int_equal(r->json[r->json_len - 1], '\n');
	assert_int_equal(strlen(r->json), r->json_len);	/* NUL-terminated, no NUL inside */
}

/* isn1 of the client (4 KiB before the 32-bit wrap) and of the server */
static const uint32_t isns[2] = { 0xfffff000u, 0x12345678u };

/* Starts the two directions and a session (the SYN-ACK and its ACK opened the windows). */
static void
h_start(struct h *h, uint16_t svc)
{
	int d;

	for (d = 0; d < 2; d++) {
		h->st[d].app = 0;
		tg_stream_init(&h->st[d], isns[d]);
		h->isn1[d] = isns[d];
		h->next[d] = 0;
		h->rcv_nxt[d] = 0;
		h->rcv_max[d] = 0;
		assert_int_equal(tg_stream_ack(&h->mem, &h->st[d], isns[d], RING), 0);
	}
	assert_int_equal(tg_inspect_open(&h->in, h->st, svc, "198.18.0.1:5000"), 0);
	h->open = true;
	h->nev = 0;
	h->drops = 0;
	h->changed_pkts = 0;
	h->auto_ack = true;
}

/* Ends the session: the held packets are freed, the inspector slot given back. */
static void
h_stop(struct h *h)
{
	void *pkts[16];
	unsigned int n, i;
	int d;

	if (!h->open)
		return;
	for (d = 0; d < 2; d++) {
		do {
			n = tg_stream_drop_all(&h->mem, &h->st[d], pkts, ARRAY_SIZE(pkts));
			for (i = 0; i < n; i++)
				pkt_free(pkts[i]);
		} while (n == ARRAY_SIZE(pkts));
	}
	tg_inspect_close(&h->in, h->st);
	h->open = false;
	for (d = 0; d < 2; d++) {
		memset(h->out[d], 0, h->rcv_max[d]);
		memset(h->have[d], 0, h->rcv_max[d]);
	}
}

/* A harness whose inspector has nb_sess session slots; no session started yet. */
static struct h *
h_new_n(uint32_t nb_sess)
{
	struct h *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_int_equal(tg_stream_mem_init(&h->mem, 8, RING, 1024), 0);
	assert_int_equal(tg_inspect_init(&h->in, &h->mem, policy, nb_sess, on_event, h), 0);
	return h;
}

static void
h_free(struct h *h)
{
	h_stop(h);
	tg_inspect_fini(&h->in);
	tg_stream_mem_free(&h->mem);
	free(h);
}

/* The fixtures: a harness in *state, of one session slot or two, no session started. */
static int
setup_one(void **state)
{
	*state = h_new_n(1);
	return 0;
}

static int
setup_two(void **state)
{
	*state = h_new_n(2);
	return 0;
}

/* After every case, pass or fail (cmocka leaves a failed one by longjmp): what it left. */
static int
teardown(void **state)
{
	h_free(*state);
	while (live_pkts)
		pkt_free((struct tpkt *)live_pkts);	/* the link is first */
	return 0;
}

/* The receiver of direction d gets p: bytes in place, checksum checked. */
static void
receive(struct h *h, int d, struct tpkt *p)
{
	uint64_t off = (uint32_t)(tg_rd32(p->th + 4) - h->isn1[d]);
	uint16_t i;

	check_csum_delta(p);
	if (memcmp(p->buf, p->th + TCP_HLEN, p->plen) != 0)
		h->changed_pkts++;
	assert_true(off + p->plen <= OUT_MAX);
	for (i = 0; i < p->plen; i++) {
		uint64_t o = off + i;

		if (h->have[d][o]) {
			/* a retransmission: the same bytes as the first copy */
			assert_int_equal(p->th[TCP_HLEN + i], h->out[d][o]);
			continue;
		}
		h->have[d][o] = true;
		h->out[d][o] = p->th[TCP_HLEN + i];
	}
	if (off + p->plen > h->rcv_max[d])
		h->rcv_max[d] = off + p->plen;
	while (h->rcv_nxt[d] < OUT_MAX && h->have[d][h->rcv_nxt[d]])
		h->rcv_nxt[d]++;
	pkt_free(p);
}

static void
h_ack(struct h *h, int d)
{
	assert_int_equal(tg_stream_ack(&h->mem, &h->st[d], h->isn1[d] + (uint32_t)h->rcv_nxt[d],
				       RING),
			 0);
}

/* Hands every packet that may leave to the receiver, then ACKs (auto_ack). */
static void
h_release(struct h *h, int d)
{
	void *pkts[8];
	unsigned int n, i;

	do {
		n = tg_stream_release(&h->mem, &h->st[d], pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++)
			receive(h, d, pkts[i]);
	} while (n == ARRAY_SIZE(pkts));
	if (h->auto_ack)
		h_ack(h, d);
}

/*
 * One segment of direction d: stream bytes [off, off + len). A FORWARD
 * packet is handed to *fwd when fwd is given, else to the receiver.
 */
static enum tg_stream_verdict
h_seg_at(struct h *h, int d, uint64_t off, const uint8_t *data, uint16_t len, struct tpkt **fwd)
{
	struct tpkt *p = pkt_new(h->isn1[d] + (uint32_t)off, data, len);
	struct tg_stream_seg seg = {
		.pkt = p,
		.payload = p->th + TCP_HLEN,
		.csum = p->th + 16,
		.seq = h->isn1[d] + (uint32_t)off,
		.len = len,
	};
	enum tg_stream_verdict v;

	v = tg_stream_segment(&h->mem, &h->st[d], &seg, &h->in.consumer[d]);
	switch (v) {
	case TG_STREAM_HOLD:
		break;
	case TG_STREAM_FORWARD:
		if (fwd != NULL)
			*fwd = p;
		else
			receive(h, d, p);
		break;
	default:
		h->drops++;
		pkt_free(p);
		break;
	}
	h_release(h, d);
	return v;
}

/* Sends len bytes on direction d in segments of at most seg bytes. */
static void
h_send(struct h *h, int d, const void *data, size_t len, size_t seg)
{
	const uint8_t *p = data;

	while (len) {
		uint16_t n = (uint16_t)(len < seg ? len : seg);

		h_seg_at(h, d, h->next[d], p, n, NULL);
		h->next[d] += n;
		p += n;
		len -= n;
	}
}

static void
h_send_mb(struct h *h, int d, const struct mb *m, size_t seg)
{
	h_send(h, d, m->b, m->n, seg);
}

/* The receiver of d has exactly want[0..n) and nothing after it. */
static void
expect_out(const struct h *h, int d, const void *want, size_t n)
{
	assert_int_equal(h->rcv_nxt[d], n);
	assert_int_equal(h->rcv_max[d], n);
	assert_memory_equal(h->out[d], want, n);
}

static struct mb mb_fe, mb_be, mb_want;

static void
mb_reset(void)
{
	mb_fe.n = 0;
	mb_be.n = 0;
	mb_want.n = 0;
}

/* Startup and the server's login; both pass untouched. */
static void
h_login(struct h *h)
{
	struct mb fe = { 0 }, be = { 0 };

	q_startup(&fe, "app", "shop", "psql");
	r_login(&be);
	h_send_mb(h, FE, &fe, 1460);
	h_send_mb(h, BE, &be, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->rcv_nxt[FE], fe.n);
	assert_int_equal(h->rcv_nxt[BE], be.n);
	assert_memory_equal(h->out[FE], fe.b, fe.n);
	assert_memory_equal(h->out[BE], be.b, be.n);
}

/* The receiver's bytes of d from offset at, n of them, equal want. */
static void
expect_out_at(const struct h *h, int d, size_t at, const void *want, size_t n)
{
	assert_true(h->rcv_nxt[d] >= at + n);
	assert_memory_equal(h->out[d] + at, want, n);
}

/* Event i was given, of the kind, verdict and result named. */
static void
expect_event(const struct h *h, unsigned int i, int kind, int verdict, int result)
{
	assert_true(i < h->nev);
	assert_int_equal(h->ev[i].kind, kind);
	assert_int_equal(h->ev[i].verdict, verdict);
	assert_int_equal(h->ev[i].result, result);
}

/*
 * A new session on h (service 0) past the login, with the builders
 * emptied; returns the server's bytes the client has so far.
 */
static size_t
h_session(struct h *h)
{
	h_start(h, 0);
	h_login(h);
	mb_reset();
	return h->rcv_nxt[BE];
}

/*
 * The fixture of most cases: in *state, a harness with one session past
 * the login and the builders emptied. The teardown frees it.
 */
static int
setup_login(void **state)
{
	setup_one(state);
	h_session(*state);
	return 0;
}

/*
 * The client's mb_fe whole, then the server's mb_be in segments of seg
 * bytes: the session lives on, and the client has mb_want from base on.
 */
static void
h_exchange(struct h *h, size_t base, size_t seg)
{
	h_send_mb(h, FE, &mb_fe, 1460);
	h_send_mb(h, BE, &mb_be, seg);
	assert_false(tg_inspect_failed(&h->in, h->st));
	expect_out_at(h, BE, base, mb_want.b, mb_want.n);
}

/* What was built into mb_be from offset from on, into mb_want too: bytes that pass untouched. */
static void
want_as_sent(size_t from)
{
	putn(&mb_want, mb_be.b + from, mb_be.n - from);
}

/* CommandComplete of tag, then ReadyForQuery 'I': the end of a statement that ran. */
static void
r_done(struct mb *m, const char *tag)
{
	r_complete(m, tag);
	r_ready(m, 'I');
}

/* ErrorResponse 42601 of text, then ReadyForQuery 'I': the server's answer to a blocked text. */
static void
r_syntax_error(struct mb *m, const char *text)
{
	r_error(m, "42601", text);
	r_ready(m, 'I');
}

/* Parse of text (unnamed), Bind of n parameters, Execute, Sync: one extended-protocol batch. */
static void
q_extended(struct mb *m, const char *text, int n, const char *const *params)
{
	q_parse(m, "", text);
	q_bind(m, "", "", n, params);
	q_execute(m, "", 0);
	q_empty(m, 'S');
}

/* ---------------------------------------------------------------------
 * 1. Masking of DataRow fields
 * ------------------------------------------------------------------- */

static const struct col cust_cols[5] = {
	{ "id", 23, 4, 0 },
	{ "email", 25, -1, 0 },
	{ "card_number", 25, -1, 0 },
	{ "ssn", 25, -1, 0 },
	{ "notes", 25, -1, 0 },
};

/* Rows as stored, and as the client must see them. */
static const char *const cust_rows[3][5] = {
	{ "1", "alice@example.com", "4111111111111111", "123-45-6789",
	  "card 5555555555554444 mail bob@test.org, ssn 078-05-1120" },
	{ "2", "carol.d@example.org", "4012 8888 8888 1881", "987-65-4320",
	  "no secrets here" },
	{ "3", NULL, "378282246310005", "", "EMP-123456 is only sensitive elsewhere" },
};
static const char *const cust_masked[3][5] = {
	{ "1", "*****@example.com", "************1111", "***********",
	  "card ************4444 mail ***@test.org, ssn ***********" },
	{ "2", "*******@example.org", "**** **** **** 1881", "***********",
	  "no secrets here" },
	{ "3", NULL, "***********0005", "", "EMP-123456 is only sensitive elsewhere" },
};

/* The server's answer to "select * from customers", as sent (masked false) or as due. */
static void
r_customers(struct mb *m, bool masked)
{
	int i;

	r_rowdesc(m, 5, cust_cols);
	for (i = 0; i < 3; i++)
		r_row(m, 5, masked ? cust_masked[i] : cust_rows[i]);
	r_done(m, "SELECT 3");
}

static void
test_mask_rows(void **state)
{
	struct h *h = *state;
	size_t base_fe = h->rcv_nxt[FE], base_be = h->rcv_nxt[BE];
	const struct evrec *e;

	q_query(&mb_fe, "select * from customers");
	r_customers(&mb_be, false);
	r_customers(&mb_want, true);
	assert_int_equal(mb_want.n, mb_be.n);
	h_exchange(h, base_be, 1460);
	assert_int_equal(h->drops, 0);
	expect_out_at(h, FE, base_fe, mb_fe.b, mb_fe.n);
	assert_int_equal(h->rcv_nxt[BE], base_be + mb_want.n);
	assert_true(h->changed_pkts >= 1);

	/* card x4, email x3, ssn in notes x1; the ssn column x2 (one field empty) */
	assert_int_equal(ICNT(h, ROWS), 3);
	assert_int_equal(ICNT(h, VALUES_MASKED), 8);
	assert_int_equal(ICNT(h, COLUMNS_MASKED), 2);
	assert_int_equal(ICNT(h, FIELDS_SCANNED), 13);
	assert_int_equal(h->nev, 1);
	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
	e = &h->ev[0];
	assert_false(e->has_rule);
	assert_int_equal(e->rows, 3);
	assert_int_equal(e->masked[TG_DETECT_CARD], 4);
	assert_int_equal(e->masked[TG_DETECT_EMAIL], 3);
	assert_int_equal(e->masked[TG_DETECT_SSN], 1);
	assert_int_equal(e->masked[TG_DETECT_REGEX], 0);
	assert_int_equal(e->masked_columns, 2);
	assert_string_equal(e->user, "app");
	assert_string_equal(e->database, "shop");
	assert_string_equal(e->application, "psql");
	assert_string_equal(e->client, "198.18.0.1:5000");
}

/* A detector scoped to another service masks there and not here. */
static void
test_mask_scope(void **state)
{
	static const char *const row[1] = { "EMP-123456 and 4111111111111111" };
	static const char *const want[1] = { "********** and ************1111" };
	struct h *h = *state;
	size_t base;

	h_start(h, 1);
	mb_reset();
	h_login(h);
	base = h->rcv_nxt[BE];
	q_query(&mb_fe, "select notes from customers");
	r_rowdesc(&mb_be, 1, &cust_cols[4]);
	want_as_sent(0);
	r_row(&mb_be, 1, row);
	r_row(&mb_want, 1, want);
	h_exchange(h, base, 1460);
	assert_int_equal(ICNT(h, VALUES_MASKED), 2);
}

/*
 * Feeds the client's query and then the server stream cut by cuts[] (or
 * in segments of seg bytes), for reps rounds of query and result, and
 * returns the server bytes the client got, after the login.
 */
static void
run_rows(struct h *h, const struct mb *fe, const struct mb *be, size_t seg, size_t cut,
	 unsigned int reps, struct mb *got)
{
	size_t base;
	unsigned int r;

	/* not h_session(): fe and be may be the builders it empties */
	h_start(h, 0);
	h_login(h);
	base = h->rcv_nxt[BE];
	for (r = 0; r < reps; r++) {
		h_send_mb(h, FE, fe, 1460);
		if (cut != 0) {
			h_send(h, BE, be->b, cut, 1460);
			h_send(h, BE, be->b + cut, be->n - cut, 1460);
		} else {
			h_send_mb(h, BE, be, seg);
		}
	}
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->drops, 0);
	assert_int_equal(h->nev, reps);
	got->n = 0;
	putn(got, h->out[BE] + base, h->rcv_nxt[BE] - base);
	assert_int_equal(h->rcv_max[BE], h->rcv_nxt[BE]);
	h_stop(h);
}

/*
 * Every segment size from 1 to 64, over twelve rounds (the ring wraps,
 * at a different point of the rows for each size), and every cut of one round into two
 * segments: the client gets the same masked bytes each time.
 */
static void
test_mask_rows_split(void **state)
{
	struct h *h = *state;
	static struct mb want12, got;
	size_t seg, cut;
	unsigned int r;

	mb_reset();
	want12.n = 0;
	q_query(&mb_fe, "select * from customers");
	r_customers(&mb_be, false);
	r_customers(&mb_want, true);
	for (r = 0; r < 12; r++)
		putn(&want12, mb_want.b, mb_want.n);
	assert_true(want12.n > RING + RING / 4);
	for (seg = 1; seg <= 64; seg++) {
		run_rows(h, &mb_fe, &mb_be, seg, 0, 12, &got);
		assert_int_equal(got.n, want12.n);
		if (memcmp(got.b, want12.b, want12.n) != 0)
			fail_msg("segments of %zu bytes: output differs", seg);
	}
	for (cut = 1; cut < mb_be.n; cut++) {
		run_rows(h, &mb_fe, &mb_be, 0, cut, 1, &got);
		assert_int_equal(got.n, mb_want.n);
		if (memcmp(got.b, mb_want.b, mb_want.n) != 0)
			fail_msg("cut at %zu: output differs", cut);
	}
}

/* ---------------------------------------------------------------------
 * 2. Blocking
 * ------------------------------------------------------------------- */

/*
 * The client's Query of text into mb_fe, and into mb_want as the server
 * must get it: the text replaced by tok and spaces to the same length, or
 * as sent when tok is NULL.
 */
static void
q_query_pair(const char *text, const char *tok)
{
	char buf[256];
	size_t n = strlen(text), t;

	q_query(&mb_fe, text);
	if (tok == NULL) {
		q_query(&mb_want, text);
		return;
	}
	t = strlen(tok);
	assert_true(n < sizeof(buf) && t <= n);
	memcpy(buf, tok, t);
	memset(buf + t, ' ', n - t);
	buf[n] = '\0';
	q_query(&mb_want, buf);
}

/* The client's mb_fe in segments of seg bytes: the server has mb_want from base on. */
static void
h_send_fe(struct h *h, size_t base, size_t seg)
{
	h_send_mb(h, FE, &mb_fe, seg);
	expect_out_at(h, FE, base, mb_want.b, mb_want.n);
}

/*
 * Three blocked Queries, each text rewritten to the longest token that
 * fits, then failed by the server.
 */
static void
test_block_query(void **state)
{
	static const struct {
		const char *text, *tok, *error;
		size_t seg;
	} cases[3] = {
		/* 20 bytes: "tg_blocked_no_drop" and two spaces; the length field unchanged */
		{ "DROP TABLE customers", "tg_blocked_no_drop",
		  "syntax error at or near \"tg_blocked_no_drop\"", 1460 },
		/* 38 bytes: the long token, rule id '-' made '_' */
		{ "DROP TABLE IF EXISTS customers CASCADE", "tollgate_blocked_rule_no_drop",
		  "syntax error", 7 },
		/* 12 bytes: only "tg_blocked" fits */
		{ "drop index x", "tg_blocked", "syntax error", 1460 },
	};
	struct h *h = *state;
	size_t base = h->rcv_nxt[FE];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		mb_reset();
		q_query_pair(cases[i].text, cases[i].tok);
		h_send_fe(h, base, cases[i].seg);
		assert_false(tg_inspect_failed(&h->in, h->st));
		if (i == 0)
			assert_memory_equal(h->out[FE] + base,
					    "Q\x00\x00\x00\x19tg_blocked_no_drop  \0", 26);
		assert_int_equal(ICNT(h, BLOCKED), i + 1);
		r_syntax_error(&mb_be, cases[i].error);
		h_send_mb(h, BE, &mb_be, 1460);
		base += mb_fe.n;
	}
	assert_int_equal(ICNT(h, BLOCKED_RESET), 0);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->drops, 0);
}

/*
 * Blocked and allowed statements, in odd-sized segments, over three laps
 * of the ring: a text lying across the ring's end is rewritten whole.
 */
static void
test_block_ring_wrap(void **state)
{
	struct h *h = *state;
	size_t base = 0, seg;
	unsigned int r, blocked = 0;

	for (r = 0; h->next[FE] < 3 * RING; r++) {
		mb_reset();
		base = h->rcv_nxt[FE];
		seg = 5 + r % 11;
		if (r % 2 == 0) {
			q_query_pair("DROP TABLE IF EXISTS audit_log_2024 CASCADE",
				     "tollgate_blocked_rule_no_drop");
			blocked++;
			r_syntax_error(&mb_be, "syntax error");
		} else {
			q_query_pair("select count(*) from audit_log_2024 where dropped", NULL);
			r_done(&mb_be, "SELECT 1");
		}
		h_send_fe(h, base, seg);
		assert_int_equal(h->rcv_max[FE], base + mb_fe.n);
		h->nev = 0;
		h_send_mb(h, BE, &mb_be, 1460);
		assert_int_equal(h->nev, 1);
		assert_int_equal(h->ev[0].verdict, r % 2 == 0 ? TG_ACT_BLOCK : TG_ACT_ALLOW);
	}
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, BLOCKED), blocked);
	assert_true(blocked > 2 * RING / 100);
	assert_int_equal(h->drops, 0);
}

/* Parse of a blocked text: rewritten the same way; its ErrorResponse ends its one event. */
static void
test_block_parse(void **state)
{
	struct h *h = *state;
	size_t base = h->rcv_nxt[FE];
	char tok[64];

	q_extended(&mb_fe, "DROP TABLE customers", 0, NULL);
	q_extended(&mb_want, "tg_blocked_no_drop  ", 0, NULL);
	h_send_fe(h, base, 1460);
	assert_int_equal(ICNT(h, BLOCKED), 1);
	assert_int_equal(ICNT(h, STATEMENTS), 1);

	/* the server fails the Parse and skips to Sync */
	r_syntax_error(&mb_be, "syntax error at or near \"tg_blocked_no_drop\"");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->nev, 2);
	/* the Parse: the statement's text, as the client sent it */
	expect_event(h, 0, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[0].rule, "no-drop");
	assert_string_equal(h->ev[0].sqlstate, "42601");
	snprintf(tok, sizeof(tok), "%.*s", (int)h->ev[0].text_len, h->ev[0].text);
	assert_string_equal(tok, "DROP TABLE customers");
	/* the Execute after it never ran */
	expect_event(h, 1, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_NOT_RUN);
	assert_string_equal(h->ev[1].text, "DROP TABLE customers");
}

/* The same Parse split across segments (decoded from the parser's copy): the same event. */
static void
test_block_parse_split(void **state)
{
	struct h *h = *state;
	size_t base = h->rcv_nxt[FE];

	q_parse(&mb_fe, "s1", "DROP TABLE customers");
	q_empty(&mb_fe, 'S');
	q_parse(&mb_want, "s1", "tg_blocked_no_drop  ");
	q_empty(&mb_want, 'S');
	h_send_fe(h, base, 3);
	r_syntax_error(&mb_be, "syntax error");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(h->nev, 1);
	expect_event(h, 0, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[0].text, "DROP TABLE customers");
}

/* "drop": shorter than every token, so the session is reset and nothing of it leaves. */
static void
test_block_too_short(void **state)
{
	struct h *h = *state;
	size_t base = h->rcv_nxt[FE];

	q_query(&mb_fe, "drop");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, BLOCKED_RESET), 1);
	assert_int_equal(ICNT(h, BLOCKED), 0);
	assert_int_equal(h->rcv_nxt[FE], base);
	assert_int_equal(h->rcv_max[FE], base);
	/* and nothing after it either */
	mb_reset();
	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(h->rcv_max[FE], base);
}

/* m on d one byte a segment: nothing of it leaves before its last byte is in. */
static void
h_send_held(struct h *h, int d, const struct mb *m)
{
	size_t base = h->rcv_nxt[d], i;

	for (i = 0; i + 1 < m->n; i++) {
		h_send(h, d, m->b + i, 1, 1);
		assert_int_equal(h->rcv_max[d], base);
	}
	h_send(h, d, m->b + i, 1, 1);
}

/*
 * Hold: a Query in one-byte segments leaves none of its bytes before the
 * last one is in and the verdict given; a blocked one then leaves
 * rewritten, an allowed one as sent.
 */
static void
test_hold_statement(void **state)
{
	static const char *const texts[2] = {
		"DROP TABLE customers; select 1",
		"select * from customers where id = 1",
	};
	struct h *h = *state;
	size_t base;
	unsigned int t;

	for (t = 0; t < 2; t++) {
		mb_reset();
		base = h->rcv_nxt[FE];
		q_query_pair(texts[t], t == 0 ? "tollgate_blocked_rule_no_drop" : NULL);
		h_send_held(h, FE, &mb_fe);
		expect_out_at(h, FE, base, mb_want.b, mb_want.n);
		assert_int_equal(h->rcv_max[FE], base + mb_fe.n);
		/* the server's answer is held the same way, message by message */
		if (t == 0)
			r_error(&mb_be, "42601", "syntax error");
		else
			r_complete(&mb_be, "SELECT 0");
		base = h->rcv_nxt[BE];
		h_send_held(h, BE, &mb_be);
		assert_int_equal(h->rcv_max[BE], base + mb_be.n);
		mb_be.n = 0;
		r_ready(&mb_be, 'I');
		h_send_mb(h, BE, &mb_be, 1460);
	}
	assert_int_equal(h->nev, 2);
	assert_int_equal(h->ev[0].verdict, TG_ACT_BLOCK);
	assert_int_equal(h->ev[1].verdict, TG_ACT_ALLOW);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->drops, 0);
}

/* ---------------------------------------------------------------------
 * 3. Allowed and logged statements pass untouched
 * ------------------------------------------------------------------- */

static void
test_allow_log(void **state)
{
	static const char *const texts[] = {
		"select 1",
		"CREATE TABLE t (a int)",
		"alter table t add column b text",
		"insert into t values (1, 'dropping')",	/* \bdrop\b does not match "dropping" */
	};
	static const uint8_t verdicts[] = { TG_ACT_ALLOW, TG_ACT_LOG, TG_ACT_LOG, TG_ACT_ALLOW };
	static const char *const tags[] = { "SELECT 1", "CREATE TABLE", "ALTER TABLE",
					    "INSERT 0 1" };
	struct h *h = *state;
	size_t base_fe = h->rcv_nxt[FE], base_be = h->rcv_nxt[BE];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		size_t f = mb_fe.n, b = mb_be.n;

		q_query(&mb_fe, texts[i]);
		if (i == 0) {
			static const struct col c[1] = { { "?column?", 23, 4, 0 } };
			static const char *const one[1] = { "1" };

			r_rowdesc(&mb_be, 1, c);
			r_row(&mb_be, 1, one);
		}
		r_done(&mb_be, tags[i]);
		h_send(h, FE, mb_fe.b + f, mb_fe.n - f, 5);
		h_send(h, BE, mb_be.b + b, mb_be.n - b, 5);
	}
	expect_out_at(h, FE, base_fe, mb_fe.b, mb_fe.n);
	expect_out_at(h, BE, base_be, mb_be.b, mb_be.n);
	assert_int_equal(h->rcv_max[FE], base_fe + mb_fe.n);
	assert_int_equal(h->rcv_max[BE], base_be + mb_be.n);
	assert_int_equal(h->changed_pkts, 0);
	assert_int_equal(ICNT(h, STATEMENTS), 4);
	assert_int_equal(ICNT(h, ALLOWED), 2);
	assert_int_equal(ICNT(h, LOGGED), 2);
	assert_int_equal(ICNT(h, BLOCKED), 0);
	assert_int_equal(ICNT(h, BLOCKED_RESET), 0);
	assert_int_equal(h->nev, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(h->ev[i].verdict, verdicts[i]);
		assert_int_equal(h->ev[i].result, TG_INSPECT_OK);
		assert_string_equal(h->ev[i].text, texts[i]);
	}
	assert_false(h->ev[0].has_rule);
	assert_string_equal(h->ev[1].rule, "log-ddl");
	assert_string_equal(h->ev[2].rule, "log-ddl");
	assert_int_equal(h->ev[0].rows, 1);
	assert_int_equal(h->ev[3].rows, 1);	/* "INSERT 0 1" */
}

/* ---------------------------------------------------------------------
 * 4. ErrorResponse and NoticeResponse
 * ------------------------------------------------------------------- */

/* NoticeResponse of severity NOTICE, SQLSTATE 00000 and the message text */
static void
r_notice_text(struct mb *m, const char *text)
{
	const char *const f[] = { "S", "NOTICE", "V", "NOTICE", "C", "00000", "M", text, NULL };

	r_notice(m, 'N', f);
}

/* ErrorResponse of a unique violation on customers.email, as PostgreSQL 15 words it */
static void
r_unique_violation(struct mb *m, const char *detail)
{
	const char *const f[] = {
		"S", "ERROR", "V", "ERROR", "C", "23505",
		"M", "duplicate key value violates unique constraint \"customers_email_key\"",
		"D", detail,
		"s", "public", "t", "customers", "n", "customers_email_key",
		"F", "nbtinsert.c", "L", "664", "R", "_bt_check_unique", NULL,
	};

	r_notice(m, 'E', f);
}

/* The server's answer to a refused insert: a notice, the error, Ready; as sent or as due. */
static void
r_insert_refused(struct mb *m, bool masked)
{
	r_notice_text(m, masked ? "card ************1111 seen for ***@test.org"
				: "card 4111111111111111 seen for bob@test.org");
	r_unique_violation(m, masked ? "Key (email)=(*****@example.com) already exists."
				     : "Key (email)=(alice@example.com) already exists.");
	r_ready(m, 'I');
}

static void
test_mask_error_notice(void **state)
{
	static const size_t segs[3] = { 1460, 9, 1 };
	struct h *h = *state;
	size_t base;
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(segs); k++) {
		mb_reset();
		base = h->rcv_nxt[BE];
		q_query(&mb_fe, "insert into customers (email) values ('alice@example.com')");
		r_insert_refused(&mb_be, false);
		r_insert_refused(&mb_want, true);
		h_exchange(h, base, segs[k]);
		assert_int_equal(h->rcv_max[BE], base + mb_want.n);
	}
	assert_false(tg_inspect_failed(&h->in, h->st));
	/* two fields per round: the notice's M (two values in it), the error's D */
	assert_int_equal(ICNT(h, NOTICES_MASKED), 2 * 3);
	assert_int_equal(h->nev, 3);
	assert_int_equal(h->ev[0].result, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[0].sqlstate, "23505");
	/* the event text is masked too */
	assert_string_equal(h->ev[0].text,
			    "insert into customers (email) values ('*****@example.com')");
}

/* ---------------------------------------------------------------------
 * 5. COPY OUT
 * ------------------------------------------------------------------- */

/*
 * The server's answer to COPY ... TO STDOUT: CopyOutResponse of ncols
 * text columns, a CopyData of each of rows[0..n), CopyDone, "COPY n",
 * ReadyForQuery.
 */
static void
r_copy_out(struct mb *m, int ncols, const char *const *rows, unsigned int n)
{
	char tag[32];
	unsigned int i;

	r_copy_response(m, 'H', ncols);
	for (i = 0; i < n; i++)
		r_copy_data(m, rows[i]);
	q_empty(m, 'c');
	snprintf(tag, sizeof(tag), "COPY %u", n);
	r_done(m, tag);
}

static void
test_copy_out(void **state)
{
	static const char *const rows[] = {
		"1\t4111111111111111\talice@example.com\n",
		"2\t\\N\tnone\n",
		"3\t5555 5555 5555 4444\tx\n",
	};
	static const char *const want[] = {
		"1\t************1111\t*****@example.com\n",
		"2\t\\N\tnone\n",
		"3\t**** **** **** 4444\tx\n",
	};
	struct h *h = *state;
	size_t seg, base;

	for (seg = 1; seg <= 64; seg++) {
		base = h_session(h);
		q_query(&mb_fe, "copy customers (id, card, email) to stdout");
		r_copy_out(&mb_be, 3, rows, ARRAY_SIZE(rows));
		r_copy_out(&mb_want, 3, want, ARRAY_SIZE(want));
		h_exchange(h, base, seg);
		assert_int_equal(h->rcv_max[BE], base + mb_want.n);
		assert_int_equal(ICNT(h, COPY_MASKED), 2 * seg);
		assert_int_equal(h->nev, 1);
		assert_int_equal(h->ev[0].rows, 3);
		assert_int_equal(h->ev[0].masked[TG_DETECT_CARD], 2);
		assert_int_equal(h->ev[0].masked[TG_DETECT_EMAIL], 1);
		h_stop(h);
	}
}

/*
 * A CopyData longer than half the ring is not held whole: it is scanned
 * as it comes, so a value lying within one delivery is masked and the
 * session does not stall.
 */
static void
test_copy_out_long(void **state)
{
	static char row[3001];
	static char want[3001];
	const char *const rows[1] = { row }, *const wants[1] = { want };
	struct h *h = *state;
	size_t base = h->rcv_nxt[BE];

	memset(row, 'a', 3000);
	row[3000] = '\0';
	row[2999] = '\n';
	/* at 600 of the payload: inside the second 512-byte segment */
	memcpy(row + 600, " 4111111111111111 ", 18);
	memcpy(want, row, sizeof(want));
	memcpy(want + 600, " ************1111 ", 18);
	q_query(&mb_fe, "copy t to stdout");
	r_copy_out(&mb_be, 1, rows, 1);
	r_copy_out(&mb_want, 1, wants, 1);
	h_send_mb(h, FE, &mb_fe, 1460);
	/* the CopyOutResponse (10 bytes) first, so the row's segments start at its header */
	h_send(h, BE, mb_be.b, 10, 10);
	h_send(h, BE, mb_be.b + 10, mb_be.n - 10, 512);
	assert_false(tg_inspect_failed(&h->in, h->st));
	expect_out_at(h, BE, base, mb_want.b, mb_want.n);
	assert_int_equal(ICNT(h, COPY_MASKED), 1);
}

/* ---------------------------------------------------------------------
 * 6. Binary-format fields of masked columns
 * ------------------------------------------------------------------- */

/*
 * The server's answer to a described batch of three columns:
 * ParseComplete, BindComplete, the RowDescription of cols, two DataRows
 * of the binary vals, "SELECT 2", ReadyForQuery.
 */
static void
r_binary_rows(struct mb *m, const struct col *cols, const uint8_t *const *vals,
	      const uint32_t *lens)
{
	q_empty(m, '1');
	q_empty(m, '2');
	r_rowdesc(m, 3, cols);
	r_row_bin(m, 3, vals, lens);
	r_row_bin(m, 3, vals, lens);
	r_done(m, "SELECT 2");
}

static void
test_binary_column(void **state)
{
	static const struct col cols[3] = {
		{ "id", 23, 4, 1 },
		{ "SSN", 25, -1, 1 },	/* the rule's column, compared without case */
		{ "notes", 25, -1, 1 },
	};
	static const uint8_t id[4] = { 0, 0, 0, 1 };
	static const uint8_t ssn[12] = "123-45-6789";
	static const uint8_t zero[11] = { 0 };
	static const uint8_t notes[4] = { 0xde, 0xad, 0xbe, 0xef };
	const uint8_t *const in[3] = { id, ssn, notes };
	const uint8_t *const out[3] = { id, zero, notes };
	const uint32_t lens[3] = { 4, 11, 4 };
	struct h *h = *state;
	size_t base = h->rcv_nxt[BE];

	q_parse(&mb_fe, "", "select id, ssn, notes from customers");
	q_bind_binary(&mb_fe);
	q_target(&mb_fe, 'D', 'P', "");
	q_execute(&mb_fe, "", 0);
	q_empty(&mb_fe, 'S');
	r_binary_rows(&mb_be, cols, in, lens);
	r_binary_rows(&mb_want, cols, out, lens);
	h_exchange(h, base, 6);
	expect_out_at(h, FE, h->rcv_nxt[FE] - mb_fe.n, mb_fe.b, mb_fe.n);
	assert_int_equal(ICNT(h, COLUMNS_MASKED), 2);
	assert_int_equal(h->nev, 1);
	expect_event(h, 0, TG_INSPECT_EXECUTE, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_int_equal(h->ev[0].rows, 2);
	assert_int_equal(h->ev[0].masked_columns, 2);
}

/* ParameterDescription: 't', Int32 len, Int16 n, n x Int32 type oid (text) */
static void
r_paramdesc(struct mb *m, int n)
{
	size_t at = msg_begin(m, 't');
	int i;

	put16(m, (uint16_t)n);
	for (i = 0; i < n; i++)
		put32(m, 25);
	msg_end(m, at);
}

/*
 * The server's answer to one batch of the cached statements: a's row, b's,
 * a's again, each with its BindComplete and "SELECT 1"; ReadyForQuery.
 */
static void
r_cached_batch(struct mb *m, const char *const *a, const char *const *b)
{
	const char *const *rows[3] = { a, b, a };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		q_empty(m, '2');
		r_row(m, 2, rows[i]);
		r_complete(m, "SELECT 1");
	}
	r_ready(m, 'I');
}

/*
 * Two prepared statements described once, then executed again and again
 * with no Describe, interleaved (what pgJDBC does with its statement
 * cache): each execution's rows are masked by its own statement's columns,
 * not by the last RowDescription seen. The column rule's values here are
 * nothing a detector knows, so only the column rule can mask them.
 */
static void
test_columns_of_cached_statements(void **state)
{
	static const struct col cols_a[2] = { { "id", 23, 4, 0 }, { "ssn", 25, -1, 0 } };
	static const struct col cols_b[2] = { { "id", 23, 4, 0 }, { "note", 25, -1, 0 } };
	static const char *const a_row[2] = { "1", "secret value" };
	static const char *const a_masked[2] = { "1", "************" };
	static const char *const b_row[2] = { "2", "plain value!" };
	static const char *const one[1] = { "1" };
	static const char *const stmts[3] = { "a", "b", "a" };
	struct h *h = *state;
	size_t base = h->rcv_nxt[BE];
	unsigned int round, i;

	/* prepare both, described once */
	q_parse(&mb_fe, "a", "select id, ssn from t where id = $1");
	q_target(&mb_fe, 'D', 'S', "a");
	q_parse(&mb_fe, "b", "select id, note from t");
	q_target(&mb_fe, 'D', 'S', "b");
	q_empty(&mb_fe, 'S');
	q_empty(&mb_be, '1');
	r_paramdesc(&mb_be, 1);
	r_rowdesc(&mb_be, 2, cols_a);
	q_empty(&mb_be, '1');
	r_paramdesc(&mb_be, 0);
	r_rowdesc(&mb_be, 2, cols_b);
	r_ready(&mb_be, 'I');
	want_as_sent(0);
	/* executed interleaved (a, b, a: b with no parameter), twice, each batch in one Sync */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < ARRAY_SIZE(stmts); i++) {
			q_bind(&mb_fe, "", stmts[i], i == 1 ? 0 : 1, one);
			q_execute(&mb_fe, "", 0);
		}
		q_empty(&mb_fe, 'S');
		r_cached_batch(&mb_be, a_row, b_row);
		r_cached_batch(&mb_want, a_masked, b_row);
	}
	h_exchange(h, base, 7);
	assert_int_equal(ICNT(h, COLUMNS_MASKED), 4);
	assert_int_equal(ICNT(h, COLUMNS_UNKNOWN), 0);
	/* the second and later Executes of each statement were decided from the cache */
	assert_int_equal(ICNT(h, EXEC_CACHED), 4);
}

/*
 * Executes of a prepared statement: the first is decided and its text
 * masked, the next ones take both from the session's cache and report the
 * same; a new policy generation decides again; a statement parsed again
 * under the same name is a new statement.
 */
static void
test_exec_cache(void **state)
{
	static const char *const one[1] = { "7" };
	struct h *h = *state;
	unsigned int i;

	q_parse(&mb_fe, "s", "select * from cards where number = '4111 1111 1111 1111' and id = $1");
	q_empty(&mb_fe, 'S');
	q_empty(&mb_be, '1');
	r_ready(&mb_be, 'I');
	h_send_mb(h, FE, &mb_fe, 1460);
	h_send_mb(h, BE, &mb_be, 1460);
	for (i = 0; i < 4; i++) {
		mb_reset();
		if (i == 2)
			tg_inspect_set_policy(&h->in, policy, h->in.scratch);
		if (i == 3) {
			q_target(&mb_fe, 'C', 'S', "s");
			q_parse(&mb_fe, "s", "DROP TABLE cards");
		}
		q_bind(&mb_fe, "", "s", 1, one);
		q_execute(&mb_fe, "", 0);
		q_empty(&mb_fe, 'S');
		if (i == 3) {
			q_empty(&mb_be, '3');
			q_empty(&mb_be, '1');
		}
		q_empty(&mb_be, '2');
		r_done(&mb_be, "SELECT 0");
		h_send_mb(h, FE, &mb_fe, 1460);
		h_send_mb(h, BE, &mb_be, 1460);
		assert_false(tg_inspect_failed(&h->in, h->st));
	}
	/* 3 Executes, then the blocked Parse's event and its Execute's */
	assert_int_equal(h->nev, 5);
	for (i = 0; i < 3; i++) {
		expect_event(h, i, TG_INSPECT_EXECUTE, TG_ACT_ALLOW, TG_INSPECT_OK);
		assert_string_equal(h->ev[i].text, h->ev[0].text);
		assert_non_null(strstr(h->ev[i].text, "1111'"));
		assert_null(strstr(h->ev[i].text, "4111 1111 1111 1111"));
	}
	/* the statement made anew under the name is decided anew: blocked */
	assert_int_equal(h->ev[4].kind, TG_INSPECT_EXECUTE);
	assert_int_equal(h->ev[4].verdict, TG_ACT_BLOCK);
	assert_string_equal(h->ev[4].rule, "no-drop");
	/* only the second Execute: the third came after a policy switch, the fourth is new */
	assert_int_equal(ICNT(h, EXEC_CACHED), 1);
}

/* ---------------------------------------------------------------------
 * 7. Failing closed
 * ------------------------------------------------------------------- */

static void
test_fail_violation(void **state)
{
	static const uint8_t garbage[] = { 0x01, 0x00, 0x00, 0x00, 0x04 };
	struct h *h = *state;
	size_t base = h->rcv_nxt[BE];

	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	h_send(h, BE, garbage, sizeof(garbage), 1460);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, FAIL_VIOLATION), 1);
	assert_int_equal(h->rcv_max[BE], base);
	/* the session is over for good: a valid answer now is held too */
	r_complete(&mb_be, "SELECT 1");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(h->rcv_max[BE], base);
}

/* SSLRequest answered 'S' (or GSSENCRequest 'G'): nothing can be inspected. */
static void
test_fail_encrypted(void **state)
{
	static const uint32_t codes[2] = { 80877103, 80877104 };
	static const uint8_t answers[2] = { 'S', 'G' };
	struct h *h = *state;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		h_start(h, 0);
		mb_reset();
		/* 00 00 00 08 04 d2 16 2f: SSLRequest; ... 30: GSSENCRequest */
		q_request(&mb_fe, codes[i]);
		h_send_mb(h, FE, &mb_fe, 1460);
		expect_out(h, FE, mb_fe.b, mb_fe.n);
		assert_false(tg_inspect_failed(&h->in, h->st));
		h_send(h, BE, &answers[i], 1, 1);
		assert_true(tg_inspect_failed(&h->in, h->st));
		assert_int_equal(ICNT(h, FAIL_ENCRYPTED), i + 1);
		assert_int_equal(h->rcv_max[BE], 0);
		h_stop(h);
	}
	/* 'N' refuses: the session goes on in clear */
	h_start(h, 0);
	mb_reset();
	q_request(&mb_fe, codes[0]);
	h_send_mb(h, FE, &mb_fe, 1460);
	h_send(h, BE, "N", 1, 1);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->rcv_max[BE], 1);
}

/* Held over half the ring: a message of a class capped above it, or one DataRow field. */
static void
test_fail_window(void **state)
{
	static char tag[3001];
	static char big[3001];
	const char *row[2] = { "1", big };
	struct h *h = *state;
	size_t base;

	memset(tag, 'x', 3000);
	memcpy(tag, "SELECT ", 7);
	memset(big, 'y', 3000);

	/* CommandComplete: the parser's cap for it is 30000 */
	base = h_session(h);
	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	r_complete(&mb_be, tag);
	h_send_mb(h, BE, &mb_be, 512);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, FAIL_WINDOW), 1);
	assert_int_equal(h->rcv_max[BE], base);
	assert_int_equal(h->drops, 0);
	h_stop(h);

	/* one DataRow field: the row's earlier field leaves, the long one never */
	base = h_session(h);
	q_query(&mb_fe, "select id, notes from t");
	h_send_mb(h, FE, &mb_fe, 1460);
	r_row(&mb_be, 2, row);
	/* header, count, first field (5 + 2 + 4 + 1 bytes), then the rest */
	h_send(h, BE, mb_be.b, 12, 12);
	assert_int_equal(h->rcv_max[BE], base + 12);
	h_send(h, BE, mb_be.b + 12, mb_be.n - 12, 256);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, FAIL_WINDOW), 2);
	assert_int_equal(h->rcv_max[BE], base + 12);
	h_stop(h);

	/* a NoticeResponse over half the ring breaks its lowered cap: a violation */
	base = h_session(h);
	{
		const char *const f[] = { "S", "NOTICE", "M", big, NULL };

		r_notice(&mb_be, 'N', f);
	}
	h_send_mb(h, BE, &mb_be, 512);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, FAIL_VIOLATION), 1);
	assert_int_equal(h->rcv_max[BE], base);
}

/* ---------------------------------------------------------------------
 * 8. Events
 * ------------------------------------------------------------------- */

static json_t *
ev_json(const struct evrec *e)
{
	json_error_t jerr;
	json_t *j = json_loads(e->json, 0, &jerr);

	if (j == NULL)
		fail_msg("event JSON: %s: %s", jerr.text, e->json);
	assert_true(json_is_object(j));
	return j;
}

static const char *
jstr(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t
jint(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void
test_events(void **state)
{
	static const char *const param[1] = { "4111111111111111" };
	struct h *h = *state;
	const struct evrec *e;
	json_t *j, *m;

	/* 1: blocked, then the server's syntax error */
	q_query(&mb_fe, "DROP TABLE customers");
	r_syntax_error(&mb_be, "syntax error at or near \"tg_blocked_no_drop\"");
	/* 2: rows from the DataRows of a Query, masked values counted */
	q_query(&mb_fe, "select * from customers");
	r_customers(&mb_be, false);
	/* 3: a card number in the statement text */
	q_query(&mb_fe, "select * from customers where card_number = '4111111111111111'");
	r_done(&mb_be, "SELECT 0");
	/* 4: an Execute with a card number as its parameter, rows from its tag */
	q_extended(&mb_fe, "select * from customers where card_number = $1", 1, param);
	q_empty(&mb_be, '1');
	q_empty(&mb_be, '2');
	r_done(&mb_be, "SELECT 3");
	h_send_mb(h, FE, &mb_fe, 100);
	h_send_mb(h, BE, &mb_be, 100);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->nev, 4);
	assert_int_equal(ICNT(h, EVENTS), 4);

	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	e = &h->ev[0];
	assert_int_equal(e->session, 1);
	assert_true(e->has_rule);
	assert_string_equal(e->rule, "no-drop");
	assert_string_equal(e->sqlstate, "42601");
	assert_string_equal(e->text, "DROP TABLE customers");
	j = ev_json(e);
	assert_string_equal(jstr(j, "kind"), "query");
	assert_string_equal(jstr(j, "verdict"), "block");
	assert_string_equal(jstr(j, "rule"), "no-drop");
	assert_string_equal(jstr(j, "result"), "error");
	assert_string_equal(jstr(j, "sqlstate"), "42601");
	assert_string_equal(jstr(j, "client"), "198.18.0.1:5000");
	assert_string_equal(jstr(j, "user"), "app");
	assert_string_equal(jstr(j, "database"), "shop");
	assert_string_equal(jstr(j, "application"), "psql");
	assert_int_equal(jint(j, "session"), 1);
	assert_int_equal(jint(j, "service"), 0);
	assert_null(json_object_get(j, "params"));
	assert_null(json_object_get(j, "text_cut"));
	json_decref(j);

	expect_event(h, 1, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
	e = &h->ev[1];
	assert_false(e->has_rule);
	assert_string_equal(e->sqlstate, "");
	assert_int_equal(e->rows, 3);
	j = ev_json(e);
	assert_null(json_object_get(j, "rule"));
	assert_null(json_object_get(j, "sqlstate"));
	assert_int_equal(jint(j, "rows"), 3);
	assert_int_equal(jint(j, "masked_columns"), 2);
	m = json_object_get(j, "masked");
	assert_true(json_is_object(m));
	assert_int_equal(json_object_size(m), 3);
	assert_int_equal(jint(m, "card"), 4);
	assert_int_equal(jint(m, "email"), 3);
	assert_int_equal(jint(m, "ssn"), 1);
	/* CLOCK_REALTIME: present, but not compared (the wall clock may step) */
	assert_true(jint(j, "start_ns") > 0 && jint(j, "end_ns") > 0);
	json_decref(j);

	e = &h->ev[2];
	assert_string_equal(e->text,
			    "select * from customers where card_number = '************1111'");
	/* a statement's own text is not a masked result value */
	assert_int_equal(e->masked[TG_DETECT_CARD], 0);
	assert_int_equal(e->rows, 0);
	j = ev_json(e);
	assert_string_equal(jstr(j, "text"),
			    "select * from customers where card_number = '************1111'");
	assert_int_equal(json_object_size(json_object_get(j, "masked")), 0);
	json_decref(j);

	expect_event(h, 3, TG_INSPECT_EXECUTE, TG_ACT_ALLOW, TG_INSPECT_OK);
	e = &h->ev[3];
	assert_int_equal(e->rows, 3);
	assert_string_equal(e->text, "select * from customers where card_number = $1");
	assert_string_equal(e->params, "$1='************1111'");
	j = ev_json(e);
	assert_string_equal(jstr(j, "kind"), "execute");
	assert_string_equal(jstr(j, "params"), "$1='************1111'");
	json_decref(j);
}

/* Control characters are escaped, bytes that are not UTF-8 become U+FFFD, long texts cut. */
static void
test_event_json(void **state)
{
	/* "select '" \x01 \t \" \\ \xff (invalid) \xc3\xa9 (é) \xed\xa0\x80 (a surrogate) "'" */
	static const uint8_t text[] = "select '\x01\t\"\\\xff\xc3\xa9\xed\xa0\x80\x7f'";
	static const char want[] = "select '\x01\t\"\\\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf"
				   "\xbd\xef\xbf\xbd\x7f'";
	static char longq[1501];
	struct h *h = *state;
	json_t *j;
	size_t i;
	char small[32];
	struct tg_inspect_event ev = { 0 };

	q_query_n(&mb_fe, text, sizeof(text) - 1);
	r_done(&mb_be, "SELECT 0");
	for (i = 0; i < 1500; i++)
		longq[i] = (char)('a' + i % 26);
	memcpy(longq, "select ", 7);
	q_query(&mb_fe, longq);
	r_done(&mb_be, "SELECT 0");
	h_send_mb(h, FE, &mb_fe, 1460);
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(h->nev, 2);

	assert_non_null(strstr(h->ev[0].json, "\\u0001\\u0009\\\"\\\\\\ufffd"));
	assert_non_null(strstr(h->ev[0].json, "\\u007f"));
	j = ev_json(&h->ev[0]);
	assert_string_equal(jstr(j, "text"), want);
	json_decref(j);

	assert_true(h->ev[1].text_cut);
	assert_int_equal(h->ev[1].text_len, TG_INSPECT_TEXT_MAX);
	j = ev_json(&h->ev[1]);
	assert_true(json_is_true(json_object_get(j, "text_cut")));
	assert_int_equal(strlen(jstr(j, "text")), TG_INSPECT_TEXT_MAX);
	assert_memory_equal(jstr(j, "text"), longq, TG_INSPECT_TEXT_MAX);
	json_decref(j);

	/* a buffer too small: 0, nothing half-written counted as a line */
	ev.client = ev.user = ev.database = ev.application = "";
	ev.text = "select 1";
	ev.text_len = 8;
	ev.params = "";
	assert_int_equal(tg_inspect_event_json(&ev, small, sizeof(small)), 0);
}

/* ParseComplete, BindComplete, a RowDescription of c, one DataRow of row, "SELECT 1", Ready */
static void
r_described_row(struct mb *m, const struct col *c, const char *const *row)
{
	q_empty(m, '1');
	q_empty(m, '2');
	r_rowdesc(m, 1, c);
	r_row(m, 1, row);
	r_done(m, "SELECT 1");
}

/*
 * A pipelining client (libpq pipeline mode): two Queries and three
 * extended batches, each with its Sync, all sent before the first answer.
 * Each statement's event comes when its own answer does, with its own
 * rows and masked values: a ReadyForQuery ends the statements up to the
 * request it answers, not the ones queued behind it.
 */
static void
test_events_pipeline(void **state)
{
	static const char *const p1[1] = { "1" };
	static const struct col c1[1] = { { "email", 25, -1, 0 } };
	static const char *const r_in[1] = { "dave@example.net" };
	static const char *const r_want[1] = { "****@example.net" };
	static const char *const two[1] = { "2" };
	struct h *h = *state;
	size_t base = h->rcv_nxt[BE], from;

	q_query(&mb_fe, "select * from customers");
	q_parse(&mb_fe, "", "select email from customers where id = $1");
	q_bind(&mb_fe, "", "", 1, p1);
	q_target(&mb_fe, 'D', 'P', "");
	q_execute(&mb_fe, "", 0);
	q_empty(&mb_fe, 'S');
	q_extended(&mb_fe, "DROP TABLE customers", 0, NULL);
	q_extended(&mb_fe, "select 2", 0, NULL);
	q_query(&mb_fe, "select 4111111111111111");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(h->nev, 0);
	assert_int_equal(ICNT(h, STATEMENTS), 5);
	assert_int_equal(ICNT(h, BLOCKED), 1);

	r_customers(&mb_be, false);
	r_customers(&mb_want, true);
	r_described_row(&mb_be, c1, r_in);
	r_described_row(&mb_want, c1, r_want);
	from = mb_be.n;
	r_syntax_error(&mb_be, "syntax error at or near \"tg_blocked_no_drop\"");
	q_empty(&mb_be, '1');
	q_empty(&mb_be, '2');
	r_row(&mb_be, 1, two);
	r_done(&mb_be, "SELECT 1");
	r_rowdesc(&mb_be, 1, c1);
	r_row(&mb_be, 1, two);
	r_done(&mb_be, "SELECT 1");
	want_as_sent(from);
	h_send_mb(h, BE, &mb_be, 50);
	assert_false(tg_inspect_failed(&h->in, h->st));
	expect_out_at(h, BE, base, mb_want.b, mb_want.n);

	assert_int_equal(h->nev, 6);
	/* the first Query: its rows and values only */
	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_int_equal(h->ev[0].rows, 3);
	assert_int_equal(h->ev[0].masked[TG_DETECT_EMAIL], 3);
	/* batch 1: ran, one row, one e-mail */
	expect_event(h, 1, TG_INSPECT_EXECUTE, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_int_equal(h->ev[1].rows, 1);
	assert_int_equal(h->ev[1].masked[TG_DETECT_EMAIL], 1);
	assert_string_equal(h->ev[1].params, "$1='1'");
	/* batch 2: the blocked Parse failed, its Execute never ran */
	expect_event(h, 2, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[2].sqlstate, "42601");
	assert_string_equal(h->ev[2].text, "DROP TABLE customers");
	expect_event(h, 3, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_NOT_RUN);
	assert_string_equal(h->ev[3].sqlstate, "");
	/* batch 3 and the last Query ran */
	expect_event(h, 4, TG_INSPECT_EXECUTE, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_string_equal(h->ev[4].text, "select 2");
	assert_int_equal(h->ev[4].rows, 1);
	expect_event(h, 5, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_string_equal(h->ev[5].text, "select ************1111");
	assert_int_equal(h->ev[5].rows, 1);
}

/* FunctionCall: its result is masked like a field, its event says it ran. */
static void
test_function_call(void **state)
{
	struct h *h = *state;
	size_t base = h->rcv_nxt[BE];

	q_fcall(&mb_fe, 1317, "42");
	r_fresult(&mb_be, "card 4111111111111111");
	r_ready(&mb_be, 'I');
	r_fresult(&mb_want, "card ************1111");
	r_ready(&mb_want, 'I');
	h_exchange(h, base, 7);
	assert_int_equal(ICNT(h, VALUES_MASKED), 1);
	assert_int_equal(h->nev, 1);
	expect_event(h, 0, TG_INSPECT_FCALL, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_string_equal(h->ev[0].text, "function 1317");
	assert_int_equal(h->ev[0].masked[TG_DETECT_CARD], 1);
}

/* ---------------------------------------------------------------------
 * 9. The session pool
 * ------------------------------------------------------------------- */

static void
test_session_pool(void **state)
{
	struct h *h = *state;
	struct tg_stream st[3][2];
	unsigned int i;
	int d;

	for (i = 0; i < 3; i++)
		for (d = 0; d < 2; d++) {
			st[i][d].app = 0;
			tg_stream_init(&st[i][d], 1000 * i + 1);
		}
	assert_int_equal(tg_inspect_open(&h->in, st[0], 0, "198.18.0.1:5000"), 0);
	assert_int_equal(tg_inspect_open(&h->in, st[1], 0, "198.18.0.2:5000"), 0);
	assert_int_not_equal(st[0][0].app, 0);
	assert_int_equal(st[0][0].app, st[0][1].app);
	assert_int_not_equal(st[0][0].app, st[1][0].app);
	assert_int_equal(tg_inspect_open(&h->in, st[2], 0, "198.18.0.3:5000"), -ENOSPC);
	assert_int_equal(st[2][0].app, 0);
	assert_int_equal(ICNT(h, NO_SESSION), 1);
	assert_int_equal(ICNT(h, SESSIONS), 2);
	assert_false(tg_inspect_failed(&h->in, st[2]));

	tg_inspect_close(&h->in, st[0]);
	assert_int_equal(st[0][0].app, 0);
	assert_int_equal(st[0][1].app, 0);
	assert_int_equal(tg_inspect_open(&h->in, st[2], 0, "198.18.0.3:5000"), 0);
	assert_int_equal(ICNT(h, SESSIONS), 3);
	tg_inspect_close(&h->in, st[1]);
	tg_inspect_close(&h->in, st[2]);
	/* closing twice, or a stream never opened, is harmless */
	tg_inspect_close(&h->in, st[2]);
	assert_int_equal(h->nev, 0);
	assert_int_equal(tg_inspect_init(&(struct tg_inspect){ 0 }, &h->mem, policy, 0, NULL,
					 NULL),
			 -EINVAL);
}

/* Closing with statements pending reports each unfinished; the slot is reused clean. */
static void
test_close_unfinished(void **state)
{
	struct h *h = *state;
	struct tg_pg_counters pc = { 0 };

	h_session(h);
	q_query(&mb_fe, "select pg_sleep(10)");
	q_query(&mb_fe, "select 4111111111111111");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(h->nev, 0);
	h_stop(h);
	assert_int_equal(h->nev, 2);
	assert_int_equal(h->ev[0].result, TG_INSPECT_UNFINISHED);
	assert_string_equal(h->ev[0].text, "select pg_sleep(10)");
	assert_int_equal(h->ev[1].result, TG_INSPECT_UNFINISHED);
	assert_string_equal(h->ev[1].text, "select ************1111");
	tg_inspect_pg_counters(&h->in, &pc);
	assert_int_equal(pc.fe[TG_PG_FE_QUERY], 2);
	assert_int_equal(pc.fe[TG_PG_FE_STARTUP], 1);

	/* the slot again: a new id, no statement left over */
	h_session(h);
	h_stop(h);
	assert_int_equal(h->nev, 0);
	assert_int_equal(ICNT(h, SESSIONS), 2);
}

/* ---------------------------------------------------------------------
 * 10. Retransmissions
 * ------------------------------------------------------------------- */

/*
 * Stream bytes [off, off + len) of d sent again: the engine must forward
 * the copy at once. Returns the packet as it leaves, its checksum checked,
 * for the caller to look at and free.
 */
static struct tpkt *
h_resend(struct h *h, int d, uint64_t off, const uint8_t *data, uint16_t len)
{
	struct tpkt *p = NULL;

	assert_int_equal(h_seg_at(h, d, off, data, len, &p), TG_STREAM_FORWARD);
	assert_non_null(p);
	check_csum_delta(p);
	return p;
}

/* Every payload byte of p is zero: a copy of bytes below the ACK, of a stream a consumer edits. */
static void
expect_zeroed(const struct tpkt *p)
{
	uint16_t i;

	for (i = 0; i < p->plen; i++)
		assert_int_equal(p->th[TCP_HLEN + i], 0);
}

static void
test_retransmit(void **state)
{
	static const char *const row[2] = { "1", "card 4111111111111111 ok" };
	static const char *const want[2] = { "1", "card ************1111 ok" };
	struct h *h = *state;
	struct tpkt *p;
	uint64_t base;

	q_query(&mb_fe, "select id, notes from t");
	h_send_mb(h, FE, &mb_fe, 1460);
	r_row(&mb_be, 2, row);
	r_row(&mb_want, 2, want);
	base = h->next[BE];

	/* released to the client, not yet ACKed */
	h->auto_ack = false;
	h_send_mb(h, BE, &mb_be, 1460);
	expect_out_at(h, BE, base, mb_want.b, mb_want.n);
	assert_int_equal(h->rcv_nxt[BE], base + mb_be.n);

	/* the server resends it as it was: it leaves masked again, checksum patched */
	p = h_resend(h, BE, base, mb_be.b, (uint16_t)mb_be.n);
	assert_memory_equal(p->th + TCP_HLEN, mb_want.b, mb_want.n);
	assert_int_not_equal(tg_rd16(p->th + 16), p->csum_sent);
	pkt_free(p);
	/* a piece of it, from inside the value */
	p = h_resend(h, BE, base + 20, mb_be.b + 20, 9);
	assert_memory_equal(p->th + TCP_HLEN, mb_want.b + 20, 9);
	pkt_free(p);

	/*
	 * ACKed up to the middle of the card number: a retransmission of the
	 * whole row leaves masked from the ACK on. (Its bytes below the ACK
	 * are stream.h's Caveat: the receiver discards them.)
	 */
	assert_int_equal(tg_stream_ack(&h->mem, &h->st[BE], h->isn1[BE] + (uint32_t)(base + 24),
				       RING),
			 0);
	p = h_resend(h, BE, base, mb_be.b, (uint16_t)mb_be.n);
	assert_memory_equal(p->th + TCP_HLEN + 24, mb_want.b + 24, mb_want.n - 24);
	pkt_free(p);

	/* ACKed now: a copy wholly below the ACK goes on zeroed */
	h_ack(h, BE);
	p = h_resend(h, BE, base, mb_be.b, (uint16_t)mb_be.n);
	expect_zeroed(p);
	pkt_free(p);
	assert_int_equal(h->mem.cnt[TG_STREAM_CNT_OLD], 1);

	/* and the client's retransmission of its (unmasked) ACKed query likewise */
	p = h_resend(h, FE, h->next[FE] - mb_fe.n, mb_fe.b, (uint16_t)mb_fe.n);
	expect_zeroed(p);
	pkt_free(p);
	assert_false(tg_inspect_failed(&h->in, h->st));
}

/* A case with its fixture; every case has the same teardown. */
/* ---------------------------------------------------------------------
 * Durability: STATEMENT_BEGIN events, and strict statements held for them
 * ------------------------------------------------------------------- */

static uint64_t
on_begin(void *arg, const struct tg_inspect_event *e)
{
	struct h *h = arg;

	assert_int_equal(e->type, TG_INSPECT_EV_STATEMENT_BEGIN);
	assert_true(h->nbegin < EV_MAX);
	h->begin_stmt[h->nbegin] = e->stmt;
	snprintf(h->begin_text[h->nbegin], sizeof(h->begin_text[0]), "%.*s", (int)e->text_len,
		 e->text);
	h->nbegin++;
	return h->refuse_begin ? 0 : ++h->tickets;
}

static void
on_ungate(void *arg, struct tg_stream st[2])
{
	struct h *h = arg;

	assert_ptr_equal(st, h->st);
	h->ungated++;
	h_release(h, FE);
}

/* A session of service svc (1: strict) past the login, with begin events. */
static void
h_session_durable(struct h *h, uint16_t svc)
{
	h->in.svcs = &svcs;
	h->in.begin = on_begin;
	h->in.durable = &h->durable;
	h_start(h, svc);
	h_login(h);
	mb_reset();
}

/*
 * Strict: a Query reaches the server only once its STATEMENT_BEGIN is
 * durable, and what the client pipelines behind it waits behind it;
 * durability covering both releases both.
 */
static void
test_strict_query(void **state)
{
	struct h *h = *state;
	struct mb q1 = { 0 }, q2 = { 0 };
	size_t base;

	h_session_durable(h, 1);
	base = h->rcv_nxt[FE];
	q_query(&q1, "SELECT 1");
	q_query(&q2, "SELECT 2");
	h_send_mb(h, FE, &q1, 1460);
	h_send_mb(h, FE, &q2, 3);
	assert_int_equal(h->nbegin, 2);
	assert_string_equal(h->begin_text[0], "SELECT 1");
	assert_int_equal(h->begin_stmt[0], 1);
	assert_int_equal(h->begin_stmt[1], 2);
	assert_int_equal(h->rcv_nxt[FE], base);		/* nothing left */
	assert_int_equal(ICNT(h, GATED), 2);
	assert_int_equal(h->in.nb_gated, 1);

	/* no progress: nothing to do */
	assert_int_equal(tg_inspect_ungate(&h->in, on_ungate, h), 0);
	h->durable = 1;
	assert_int_equal(tg_inspect_ungate(&h->in, on_ungate, h), 1);
	assert_int_equal(h->rcv_nxt[FE], base + q1.n);
	expect_out_at(h, FE, base, q1.b, q1.n);
	assert_int_equal(tg_inspect_ungate(&h->in, on_ungate, h), 0);	/* seen already */

	h->durable = 2;
	assert_int_equal(tg_inspect_ungate(&h->in, on_ungate, h), 1);
	expect_out_at(h, FE, base + q1.n, q2.b, q2.n);
	assert_int_equal(h->rcv_nxt[FE], base + q1.n + q2.n);
	assert_int_equal(h->in.nb_gated, 0);
	assert_int_equal(ICNT(h, UNGATED), 2);

	/* the results come back and end both statements, numbered as their begins */
	r_complete(&mb_be, "SELECT 1");
	r_ready(&mb_be, 'I');
	r_complete(&mb_be, "SELECT 1");
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(h->nev, 2);
	assert_false(tg_inspect_failed(&h->in, h->st));
}

/*
 * Strict, extended protocol: Parse and Bind pass (in segments of their
 * own: a held segment leaves whole), the Execute waits; more
 * strict statements than a session keeps gates for merge into the last,
 * released only when the newest is durable.
 */
static void
test_strict_extended_merge(void **state)
{
	static const char *const vals[1] = { "7" };
	struct h *h = *state;
	size_t base, pb;
	unsigned int i;

	h_session_durable(h, 1);
	base = h->rcv_nxt[FE];
	q_parse(&mb_fe, "s1", "SELECT $1");
	q_bind(&mb_fe, "", "s1", 1, vals);
	pb = mb_fe.n;
	for (i = 0; i < 10; i++)
		q_execute(&mb_fe, "", 0);
	q_empty(&mb_fe, 'S');
	/* segments are released whole: one per Execute, so each gate is a segment's start */
	h_send_mb(h, FE, &mb_fe, 10);
	assert_int_equal(h->nbegin, 10);
	assert_int_equal(h->rcv_nxt[FE], base + pb);	/* Parse and Bind only */
	assert_int_equal(ICNT(h, GATED), 8);
	h->durable = 9;
	tg_inspect_ungate(&h->in, on_ungate, h);
	/* eight gates: the first seven left, the eighth holds the last three */
	assert_int_equal(h->rcv_nxt[FE], base + pb + 7 * 10);
	h->durable = 10;
	tg_inspect_ungate(&h->in, on_ungate, h);
	assert_int_equal(h->rcv_nxt[FE], base + mb_fe.n);
	assert_int_equal(h->in.nb_gated, 0);
}

/* Fast: STATEMENT_BEGIN is given, nothing waits. Strict with no ticket: failed closed. */
static void
test_fast_and_refused(void **state)
{
	struct h *h = *state;
	struct mb q = { 0 };
	size_t base;

	h_session_durable(h, 0);
	base = h->rcv_nxt[FE];
	q_query(&q, "SELECT 1");
	h_send_mb(h, FE, &q, 1460);
	assert_int_equal(h->nbegin, 1);
	assert_int_equal(h->rcv_nxt[FE], base + q.n);
	assert_int_equal(ICNT(h, GATED), 0);
	h_stop(h);

	h->refuse_begin = true;
	h_session_durable(h, 1);
	base = h->rcv_nxt[FE];
	h_send_mb(h, FE, &q, 1460);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, FAIL_AUDIT), 1);
	assert_int_equal(h->rcv_nxt[FE], base);
	/* a session ended with a gate leaves none behind */
	h->refuse_begin = false;
	h_stop(h);
	h_session_durable(h, 1);
	h_send_mb(h, FE, &q, 1460);
	assert_int_equal(h->in.nb_gated, 1);
	h_stop(h);
	assert_int_equal(h->in.nb_gated, 0);
}

/* ---------------------------------------------------------------------
 * The stream editor (inspect.h "Verdicts", edit.h). The harness has no
 * worker to carry the edits out on the wire, so the cases check what the
 * inspector asks of the editor: the points of each direction, and the
 * events. The wire side is tests/unit/test_edit.c, tests/pcap (edit-*)
 * and the lab.
 * ------------------------------------------------------------------- */

static const struct tg_edit *
edit_dir(struct h *h, int d)
{
	const struct tg_edit *e = tg_inspect_edit(&h->in, h->st, d);

	assert_non_null(e);
	return e;
}

/* A blocked Query: replaced by a Sync; the ErrorResponse goes in before the server's ReadyForQuery. */
static void
test_editor_block_query(void **state)
{
	struct h *h = *state;
	size_t fe0 = h->rcv_nxt[FE], be0 = h->rcv_nxt[BE];
	const struct tg_edit *e;
	const uint8_t *b;
	struct tg_edit_piece pc;

	h->in.editor = true;
	assert_null(tg_inspect_edit(&h->in, h->st, FE));
	q_query(&mb_fe, "DROP TABLE customers");
	h_send_mb(h, FE, &mb_fe, 1460);
	e = edit_dir(h, FE);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->pt[0].off, fe0);
	assert_int_equal(e->pt[0].consume, mb_fe.n);
	assert_int_equal(e->pt[0].inject, 5);
	assert_memory_equal(e->buf + e->buf_head, "S\0\0\0\4", 5);
	assert_int_equal(ICNT(h, BLOCKED_REPLY), 1);
	assert_int_equal(ICNT(h, BLOCKED), 0);
	/* the text was not rewritten: what is consumed never leaves */
	assert_memory_equal(h->out[FE] + fe0 + 5, "DROP TABLE customers", 20);
	assert_null(tg_inspect_edit(&h->in, h->st, BE));
	/* the server answers the Sync with a ReadyForQuery, the transaction still open */
	r_ready(&mb_be, 'T');
	h_send_mb(h, BE, &mb_be, 1460);
	e = edit_dir(h, BE);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->pt[0].off, be0);
	assert_int_equal(e->pt[0].consume, 0);
	pc = (struct tg_edit_piece){ .inject = true, .pt = 0 };
	b = tg_edit_bytes(e, &pc);
	assert_int_equal(b[0], 'E');
	assert_int_equal(tg_rd32(b + 1) + 1, e->pt[0].inject);
	assert_non_null(memmem(b, e->pt[0].inject, "C42501", 7));
	assert_non_null(memmem(b, e->pt[0].inject, "policy rule \"no-drop\"", 20));
	assert_int_equal(h->nev, 1);
	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[0].sqlstate, "42501");
	assert_false(tg_inspect_failed(&h->in, h->st));
	/* the session goes on */
	mb_reset();
	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	r_done(&mb_be, "SELECT 1");
	h_send_mb(h, BE, &mb_be, 1460);
	expect_event(h, 1, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_int_equal(edit_dir(h, FE)->n, 1);
}

/*
 * Parse of an allowed statement, then a blocked Parse, its Bind and
 * Execute, and the Sync: the blocked three are consumed, the Sync is not;
 * the Execute is reported as the blocked statement, not run.
 */
static void
test_editor_block_parse(void **state)
{
	struct h *h = *state;
	size_t fe0 = h->rcv_nxt[FE], at;
	const struct tg_edit *e;

	h->in.editor = true;
	q_parse(&mb_fe, "", "select 1");
	q_bind(&mb_fe, "", "", 0, NULL);
	q_execute(&mb_fe, "", 0);
	at = mb_fe.n;
	q_parse(&mb_fe, "", "drop table customers");
	q_bind(&mb_fe, "", "", 0, NULL);
	q_execute(&mb_fe, "", 0);
	q_empty(&mb_fe, 'S');
	h_send_mb(h, FE, &mb_fe, 7);
	e = edit_dir(h, FE);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->pt[0].off, fe0 + at);
	assert_int_equal(e->pt[0].consume, mb_fe.n - at - 5);
	assert_int_equal(e->pt[0].inject, 0);
	/* the server ran the first three and answers the Sync */
	q_empty(&mb_be, '1');
	q_empty(&mb_be, '2');
	r_complete(&mb_be, "SELECT 1");
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(edit_dir(h, BE)->n, 1);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->nev, 3);
	expect_event(h, 0, TG_INSPECT_EXECUTE, TG_ACT_ALLOW, TG_INSPECT_OK);
	expect_event(h, 1, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[1].sqlstate, "42501");
	expect_event(h, 2, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_NOT_RUN);
	assert_string_equal(h->ev[2].text, "drop table customers");
}

/*
 * AU-5(4): while the audit store is full (*audit_full), a Query the policy
 * allows is refused like a block, with SQLSTATE 53100 and the clear
 * message, its event verdict block, rule tollgate:audit_full; a Parse and
 * a FunctionCall too; the session stays usable and the same statement
 * runs once the flag is clear.
 */
static void
test_editor_audit_full(void **state)
{
	struct h *h = *state;
	uint8_t full = 1;
	const struct tg_edit *e;
	const uint8_t *b;
	struct tg_edit_piece pc;
	size_t be0;

	h->in.editor = true;
	h->in.audit_full = &full;
	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	e = edit_dir(h, FE);
	assert_int_equal(e->n, 1);
	assert_memory_equal(e->buf + e->buf_head, "S\0\0\0\4", 5);
	assert_int_equal(ICNT(h, REFUSED_AUDIT_FULL), 1);
	assert_int_equal(ICNT(h, BLOCKED_REPLY), 1);
	be0 = h->rcv_nxt[BE];
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	e = edit_dir(h, BE);
	assert_int_equal(e->pt[0].off, be0);
	pc = (struct tg_edit_piece){ .inject = true, .pt = 0 };
	b = tg_edit_bytes(e, &pc);
	assert_int_equal(b[0], 'E');
	assert_int_equal(tg_rd32(b + 1) + 1, e->pt[0].inject);
	assert_non_null(memmem(b, e->pt[0].inject, "C53100", 7));
	assert_non_null(memmem(b, e->pt[0].inject,
			       "Mstatement refused: the audit log of the gateway is full", 57));
	assert_null(memmem(b, e->pt[0].inject, "42501", 5));
	assert_int_equal(h->nev, 1);
	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[0].sqlstate, "53100");
	assert_true(h->ev[0].has_rule);
	assert_string_equal(h->ev[0].rule, "tollgate:audit_full");
	assert_false(tg_inspect_failed(&h->in, h->st));

	/* a FunctionCall: replaced by a Sync as well, the same reply */
	mb_reset();
	q_fcall(&mb_fe, 1598, "x");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(ICNT(h, REFUSED_AUDIT_FULL), 2);
	assert_int_equal(edit_dir(h, FE)->n, 2);
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(h->nev, 2);
	expect_event(h, 1, TG_INSPECT_FCALL, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[1].sqlstate, "53100");

	/* a Parse, its Bind and Execute: consumed up to the Sync */
	mb_reset();
	q_parse(&mb_fe, "", "select 2");
	q_bind(&mb_fe, "", "", 0, NULL);
	q_execute(&mb_fe, "", 0);
	q_empty(&mb_fe, 'S');
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(ICNT(h, REFUSED_AUDIT_FULL), 3);
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(h->nev, 4);
	expect_event(h, 2, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[2].sqlstate, "53100");
	expect_event(h, 3, TG_INSPECT_EXECUTE, TG_ACT_BLOCK, TG_INSPECT_NOT_RUN);
	assert_false(tg_inspect_failed(&h->in, h->st));

	/* room again: the same statement runs */
	full = 0;
	mb_reset();
	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	r_done(&mb_be, "SELECT 1");
	h_send_mb(h, BE, &mb_be, 1460);
	expect_event(h, 4, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
	assert_int_equal(ICNT(h, REFUSED_AUDIT_FULL), 3);
	h->in.audit_full = NULL;
}

/* On a strict service a refusal for a full store is not held for its record, nor failed. */
static void
test_strict_audit_full(void **state)
{
	struct h *h = *state;
	uint8_t full = 1;
	struct mb q = { 0 };

	h_session_durable(h, 1);
	h->in.editor = true;
	h->in.audit_full = &full;
	h->refuse_begin = true; /* no ticket: a strict statement would fail its session */
	q_query(&q, "SELECT 1");
	h_send_mb(h, FE, &q, 1460);
	assert_int_equal(h->nbegin, 1);
	assert_int_equal(ICNT(h, GATED), 0);
	assert_int_equal(ICNT(h, FAIL_AUDIT), 0);
	assert_int_equal(ICNT(h, REFUSED_AUDIT_FULL), 1);
	assert_int_equal(h->in.nb_gated, 0);
	assert_false(tg_inspect_failed(&h->in, h->st));
	h->refuse_begin = false;
	h->in.audit_full = NULL;
	h_stop(h);
}

/* An SSLRequest: consumed, 'N' injected for the client; the startup after it parses. */
static void
test_editor_tls_refused(void **state)
{
	struct h *h = *state;
	const struct tg_edit *e;
	struct mb be = { 0 };

	h_start(h, 0);
	h->in.editor = true;
	mb_reset();
	q_request(&mb_fe, 80877103);
	h_send_mb(h, FE, &mb_fe, 1460);
	e = edit_dir(h, FE);
	assert_int_equal(e->pt[0].off, 0);
	assert_int_equal(e->pt[0].consume, 8);
	e = edit_dir(h, BE);
	assert_int_equal(e->pt[0].off, 0);
	assert_int_equal(e->pt[0].inject, 1);
	assert_int_equal(e->buf[e->buf_head], 'N');
	assert_int_equal(ICNT(h, TLS_REFUSED), 1);
	mb_reset();
	q_startup(&mb_fe, "app", "shop", "psql");
	h_send_mb(h, FE, &mb_fe, 1460);
	r_login(&be);
	h_send_mb(h, BE, &be, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, FAIL_ENCRYPTED), 0);
}

static bool known_answer;
static uint32_t keys_added, keys_deleted;

static int
key_add(void *arg, const char *server, uint32_t pid, uint32_t key)
{
	(void)arg;
	(void)server;
	assert_int_equal(pid, 7549);
	assert_int_equal(key, 0xfe62d3cb);
	keys_added++;
	return 0;
}

static void
key_del(void *arg, const char *server, uint32_t pid, uint32_t key)
{
	(void)arg;
	(void)server;
	(void)pid;
	(void)key;
	keys_deleted++;
}

static bool
key_known(void *arg, const char *server, uint32_t pid, uint32_t key)
{
	(void)arg;
	(void)server;
	(void)pid;
	(void)key;
	return known_answer;
}

/* BackendKeyData registers the key, the end removes it; a CancelRequest goes only when known. */
static void
test_cancel_keys(void **state)
{
	struct h *h = *state;
	int known;

	h->in.key_add = key_add;
	h->in.key_del = key_del;
	h->in.key_known = key_known;
	keys_added = keys_deleted = 0;
	h_session(h);
	assert_int_equal(keys_added, 1);
	h_stop(h);
	assert_int_equal(keys_deleted, 1);
	for (known = 1; known >= 0; known--) {
		known_answer = known;
		h_start(h, 0);
		mb_reset();
		put32(&mb_fe, 16);
		put32(&mb_fe, 80877102);
		put32(&mb_fe, 7549);
		put32(&mb_fe, 0xfe62d3cb);
		h_send_mb(h, FE, &mb_fe, 1460);
		assert_int_equal(tg_inspect_failed(&h->in, h->st), !known);
		assert_int_equal(h->rcv_nxt[FE], known ? 16 : 0);
		h_stop(h);
	}
	assert_int_equal(ICNT(h, CANCEL_FORWARDED), 1);
	assert_int_equal(ICNT(h, CANCEL_REFUSED), 1);
}

/* An operator's kill: a FATAL 57P01 where the server's stream stands, not inside a message. */
static void
test_kill_reply(void **state)
{
	struct h *h = *state;
	const struct tg_edit *e;
	struct tg_edit_piece pc = { .inject = true, .pt = 0 };
	const uint8_t *b;

	assert_int_equal(tg_inspect_kill_reply(&h->in, h->st), -ENOENT);
	h->in.editor = true;
	assert_int_equal(tg_inspect_kill_reply(&h->in, h->st), 0);
	e = edit_dir(h, BE);
	assert_int_equal(e->pt[0].off, h->rcv_nxt[BE]);
	b = tg_edit_bytes(e, &pc);
	assert_int_equal(b[0], 'E');
	assert_non_null(memmem(b, e->pt[0].inject, "SFATAL", 7));
	assert_non_null(memmem(b, e->pt[0].inject, "C57P01", 7));
}

/* The bytes injected at point k of direction d. */
static const uint8_t *
injected(struct h *h, int d, unsigned int k, uint16_t *len)
{
	const struct tg_edit *e = edit_dir(h, d);
	struct tg_edit_piece pc = { .inject = true, .pt = (uint8_t)k };

	assert_true(k < e->n);
	*len = e->pt[k].inject;
	return tg_edit_bytes(e, &pc);
}

/* ---------------------------------------------------------------------
 * Holds (inspect.h "Holds"): rule review-delete parks DELETEs. What is
 * checked is what the inspector asks of the editor and of the slowpath
 * (the hold callback); the wire is the lab's (tests/identity, holds).
 * ------------------------------------------------------------------- */

#define HOLDS_MAX 8

static struct {
	uint8_t op, kind, quorum;
	uint64_t session;
	uint32_t hold, timeout_s;
	char rule[64], approvers[64], text[256], reason[128];
} holds[HOLDS_MAX];
static unsigned int nholds;
static int hold_rc;

static int
on_hold(void *arg, const struct tg_inspect_hold *hq)
{
	(void)arg;
	assert_true(nholds < HOLDS_MAX);
	holds[nholds].op = hq->op;
	holds[nholds].session = hq->session;
	holds[nholds].hold = hq->hold;
	if (hq->op == TG_INSPECT_HOLD_ASK) {
		holds[nholds].kind = hq->kind;
		holds[nholds].quorum = hq->quorum;
		holds[nholds].timeout_s = hq->timeout_s;
		snprintf(holds[nholds].rule, sizeof(holds[0].rule), "%s", hq->rule);
		snprintf(holds[nholds].approvers, sizeof(holds[0].approvers), "%s", hq->approvers);
		snprintf(holds[nholds].text, sizeof(holds[0].text), "%.*s", (int)hq->text_len,
			 hq->text);
	} else {
		snprintf(holds[nholds].reason, sizeof(holds[0].reason), "%s", hq->reason);
	}
	nholds++;
	return hold_rc;
}

static void
h_holds(struct h *h)
{
	h->in.editor = true;
	h->in.hold = on_hold;
	nholds = 0;
	hold_rc = 0;
}

static int
h_decide(struct h *h, uint8_t decision, const char *sqlstate, const char *text)
{
	struct tg_inspect_hold_reply r = {
		.decision = decision,
		.session = holds[0].session,
		.hold = holds[0].hold,
		.id = "ap-1",
		.id_len = 4,
		.sqlstate = sqlstate,
		.text = text,
		.text_len = text != NULL ? (uint32_t)strlen(text) : 0,
	};
	struct tg_stream *st = NULL;
	int next = tg_inspect_hold_reply(&h->in, &r, &st);

	if (next >= 0)
		assert_ptr_equal(st, h->st);
	return next;
}

/*
 * A held Query and a Query pipelined behind it: the first is consumed and
 * asked about, the second waits unread; approved, the first is injected
 * where it stood, the second is read and released, both run.
 */
static void
test_hold_query_approve(void **state)
{
	struct h *h = *state;
	size_t fe0 = h->rcv_nxt[FE], first;
	const struct tg_edit *e;
	const uint8_t *b;
	uint16_t n;

	h_holds(h);
	q_query(&mb_fe, "DELETE FROM orders WHERE id = 7");
	first = mb_fe.n;
	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, HELD), 1);
	assert_int_equal(h->in.nb_held, 1);
	assert_int_equal(nholds, 1);
	assert_int_equal(holds[0].op, TG_INSPECT_HOLD_ASK);
	assert_int_equal(holds[0].kind, TG_INSPECT_QUERY);
	assert_string_equal(holds[0].rule, "review-delete");
	assert_string_equal(holds[0].approvers, "dba");
	assert_int_equal(holds[0].quorum, 2);
	assert_int_equal(holds[0].timeout_s, 120);
	assert_string_equal(holds[0].text, "DELETE FROM orders WHERE id = 7");
	e = edit_dir(h, FE);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->pt[0].off, fe0);
	assert_int_equal(e->pt[0].consume, first);
	/* both came in one segment, which waits whole until the decision */
	assert_int_equal(h->rcv_nxt[FE], fe0);
	/* nothing was decided of the second: no statement event, no second statement counted */
	assert_int_equal(ICNT(h, STATEMENTS), 1);
	/* a decision for another statement number is not this one's */
	holds[0].hold++;
	assert_int_equal(h_decide(h, TG_INSPECT_HOLD_APPROVE, NULL, NULL), -ENOENT);
	holds[0].hold--;
	assert_int_equal(h_decide(h, TG_INSPECT_HOLD_APPROVE, NULL, NULL),
			 TG_INSPECT_LOGIN_RELEASE);
	assert_int_equal(h->in.nb_held, 0);
	assert_int_equal(ICNT(h, HOLD_APPROVED), 1);
	e = edit_dir(h, FE);
	assert_int_equal(e->n, 2);
	assert_int_equal(e->pt[1].off, fe0 + first);
	b = injected(h, FE, 1, &n);
	assert_int_equal(n, first);
	assert_memory_equal(b, mb_fe.b, first);
	h_release(h, FE);
	assert_int_equal(h->rcv_nxt[FE], fe0 + mb_fe.n);
	assert_int_equal(ICNT(h, STATEMENTS), 2);
	/* the same decision again is too late */
	assert_int_equal(h_decide(h, TG_INSPECT_HOLD_APPROVE, NULL, NULL), -ENOENT);
	r_done(&mb_be, "DELETE 1");
	r_done(&mb_be, "SELECT 1");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->nev, 2);
	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_HOLD, TG_INSPECT_OK);
	assert_string_equal(h->ev[0].rule, "review-delete");
	assert_int_equal(h->ev[0].rows, 1);
	expect_event(h, 1, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
}

/*
 * Denied: a Sync goes in the Query's place and the client gets the
 * slowpath's reason before the server's ReadyForQuery; the session goes on.
 */
static void
test_hold_query_deny(void **state)
{
	struct h *h = *state;
	size_t fe0 = h->rcv_nxt[FE], be0 = h->rcv_nxt[BE], first;
	const uint8_t *b;
	uint16_t n;

	h_holds(h);
	q_query(&mb_fe, "delete from orders");
	first = mb_fe.n;
	q_query(&mb_fe, "select 2");
	h_send_mb(h, FE, &mb_fe, 9);
	assert_int_equal(nholds, 1);
	assert_int_equal(h_decide(h, TG_INSPECT_HOLD_DENY, "42501",
				  "approval request ap-1 was denied by bob: not now"),
			 TG_INSPECT_LOGIN_RELEASE);
	assert_int_equal(ICNT(h, HOLD_DENIED), 1);
	b = injected(h, FE, 1, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(b, "S\0\0\0\4", 5);
	assert_int_equal(edit_dir(h, FE)->pt[1].off, fe0 + first);
	h_release(h, FE);
	assert_int_equal(h->rcv_nxt[FE], fe0 + mb_fe.n);
	/* the Sync's ReadyForQuery, then the second Query's answer */
	r_ready(&mb_be, 'I');
	r_done(&mb_be, "SELECT 1");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(edit_dir(h, BE)->pt[0].off, be0);
	b = injected(h, BE, 0, &n);
	assert_int_equal(b[0], 'E');
	assert_int_equal(tg_rd32(b + 1) + 1, n);
	assert_non_null(memmem(b, n, "C42501", 7));
	assert_non_null(memmem(b, n, "ap-1 was denied by bob: not now", 31));
	assert_non_null(memmem(b, n, "rule \"review-delete\"", 20));
	assert_int_equal(h->nev, 2);
	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_HOLD, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[0].sqlstate, "42501");
	expect_event(h, 1, TG_INSPECT_QUERY, TG_ACT_ALLOW, TG_INSPECT_OK);
}

/*
 * Each Execute of a held statement is held, not its Parse; denied, it is
 * replaced by an Execute of a portal that does not exist, and the
 * server's ErrorResponse to that by the slowpath's reason.
 */
static void
test_hold_execute_deny(void **state)
{
	static const char *const id[] = { "7" };
	struct h *h = *state;
	size_t fe0 = h->rcv_nxt[FE], be0 = h->rcv_nxt[BE], exec_at, exec_end;
	const struct tg_edit *e;
	const uint8_t *b;
	uint16_t n;

	h_holds(h);
	q_parse(&mb_fe, "", "delete from orders where id = $1");
	q_bind(&mb_fe, "", "", 1, id);
	exec_at = mb_fe.n;
	q_execute(&mb_fe, "", 0);
	exec_end = mb_fe.n;
	q_empty(&mb_fe, 'S');
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(nholds, 1);
	assert_int_equal(holds[0].kind, TG_INSPECT_EXECUTE);
	assert_string_equal(holds[0].text, "delete from orders where id = $1");
	e = edit_dir(h, FE);
	assert_int_equal(e->pt[0].off, fe0 + exec_at);
	assert_int_equal(e->pt[0].consume, exec_end - exec_at);
	/* the batch came in one segment: it waits whole */
	assert_int_equal(h->rcv_nxt[FE], fe0);
	assert_int_equal(h_decide(h, TG_INSPECT_HOLD_DENY, "57014",
				  "approval request ap-1 expired after 120 s"),
			 TG_INSPECT_LOGIN_RELEASE);
	b = injected(h, FE, 1, &n);
	assert_int_equal(b[0], 'E');
	assert_non_null(memmem(b, n, "tollgate.denied", 16));
	h_release(h, FE);
	assert_int_equal(h->rcv_nxt[FE], fe0 + mb_fe.n);
	q_empty(&mb_be, '1');
	q_empty(&mb_be, '2');
	r_error(&mb_be, "34000", "portal \"tollgate.denied\" does not exist");
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	e = edit_dir(h, BE);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->pt[0].off, be0 + 10);
	assert_int_equal(e->pt[0].consume, mb_be.n - 10 - 6);
	b = injected(h, BE, 0, &n);
	assert_non_null(memmem(b, n, "C57014", 7));
	assert_non_null(memmem(b, n, "expired after 120 s", 19));
	assert_int_equal(h->nev, 1);
	expect_event(h, 0, TG_INSPECT_EXECUTE, TG_ACT_HOLD, TG_INSPECT_ERROR);
	assert_string_equal(h->ev[0].sqlstate, "57014");
}

/*
 * A held Query whose segment comes last, after more than half the ring
 * of statements pipelined behind it (the client's first segment was lost
 * and retransmitted): those wait unread behind the parked statement, as
 * in order; nothing of them is held to be decided, so the session lives.
 */
static void
test_hold_reordered(void **state)
{
	struct h *h = *state;
	size_t fe0 = h->rcv_nxt[FE], first, i, n, selects = 0;
	char text[256];

	h_holds(h);
	/* a few long statements: each has an event, and the harness keeps EV_MAX */
	memset(text, ' ', sizeof(text));
	memcpy(text, "select 1", 8);
	q_query(&mb_fe, "DELETE FROM orders WHERE id = 7");
	first = mb_fe.n;
	while (mb_fe.n < first + RING / 2 + 512) {
		q_query_n(&mb_fe, text, sizeof(text));
		selects++;
	}
	for (i = first; i < mb_fe.n; i += n) {
		n = mb_fe.n - i < 1460 ? mb_fe.n - i : 1460;
		h_seg_at(h, FE, fe0 + i, mb_fe.b + i, (uint16_t)n, NULL);
	}
	h_seg_at(h, FE, fe0, mb_fe.b, (uint16_t)first, NULL);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->in.nb_held, 1);
	assert_int_equal(nholds, 1);
	/* the Query's own segment leaves (the editor cuts it: consumed), nothing behind it */
	assert_int_equal(h->rcv_nxt[FE], fe0 + first);
	assert_int_equal(ICNT(h, STATEMENTS), 1);
	assert_int_equal(h_decide(h, TG_INSPECT_HOLD_APPROVE, NULL, NULL),
			 TG_INSPECT_LOGIN_RELEASE);
	h_release(h, FE);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->rcv_nxt[FE], fe0 + mb_fe.n);
	assert_int_equal(ICNT(h, STATEMENTS), 1 + selects);
}

/*
 * No slowpath to ask: denied at once (57P03). One that gets no answer is
 * denied at its deadline and cancelled; one whose session ends is
 * cancelled; one whose slowpath goes away is denied.
 */
static void
test_hold_unanswered(void **state)
{
	struct h *h = *state;
	const uint8_t *b;
	uint16_t n;

	h_holds(h);
	hold_rc = -ENOTCONN;
	q_query(&mb_fe, "delete from orders");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(ICNT(h, HOLD_UNAVAILABLE), 1);
	assert_int_equal(h->in.nb_held, 0);
	b = injected(h, FE, 1, &n);
	assert_memory_equal(b, "S\0\0\0\4", 5);
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	b = injected(h, BE, 0, &n);
	assert_non_null(memmem(b, n, "C57P03", 7));
	expect_event(h, 0, TG_INSPECT_QUERY, TG_ACT_HOLD, TG_INSPECT_ERROR);

	/* no answer: nothing before the deadline, then denied and cancelled */
	hold_rc = 0;
	nholds = 0;
	mb_reset();
	q_query(&mb_fe, "delete from orders");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(h->in.nb_held, 1);
	assert_int_equal(tg_inspect_hold_expire(&h->in, 0, on_ungate, h), 0);
	assert_int_equal(tg_inspect_hold_expire(&h->in, UINT64_MAX, on_ungate, h), 1);
	assert_int_equal(ICNT(h, HOLD_TIMEOUT), 1);
	assert_int_equal(nholds, 2);
	assert_int_equal(holds[1].op, TG_INSPECT_HOLD_CANCEL);
	assert_int_equal(holds[1].hold, holds[0].hold);
	assert_int_equal(h->in.nb_held, 0);

	/* the slowpath went away */
	mb_reset();
	q_query(&mb_fe, "delete from orders");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(h->in.nb_held, 1);
	assert_int_equal(tg_inspect_hold_lost(&h->in, on_ungate, h), 1);
	assert_int_equal(ICNT(h, HOLD_UNAVAILABLE), 2);

	/* the session ends while one waits: cancelled */
	mb_reset();
	nholds = 0;
	q_query(&mb_fe, "delete from orders");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_int_equal(h->in.nb_held, 1);
	h_stop(h);
	assert_int_equal(h->in.nb_held, 0);
	assert_int_equal(ICNT(h, HOLD_CANCELLED), 1);
	assert_int_equal(nholds, 2);
	assert_int_equal(holds[1].op, TG_INSPECT_HOLD_CANCEL);
	assert_non_null(strstr(holds[1].reason, "session ended"));
}

/* ---------------------------------------------------------------------
 * Logins taken over (inspect.h "Logins"): service 0 with identity oidc.
 * As for the editor cases, what is checked is what the inspector asks of
 * the editor and of the slowpath (the login callback); the wire is the lab's
 * (tests/identity).
 * ------------------------------------------------------------------- */

#define LOGINS_MAX 8

static struct tg_services svcs_oidc;
static struct {
	uint8_t type;
	uint64_t session;
	char service[32];
	uint8_t bytes[512];	/* startup, or the server message */
	uint32_t len;
	char token[256];
} logins[LOGINS_MAX];
static unsigned int nlogins;
static int login_rc;

static int
on_login(void *arg, const struct tg_inspect_login *l)
{
	(void)arg;
	assert_true(nlogins < LOGINS_MAX);
	logins[nlogins].type = l->type;
	logins[nlogins].session = l->session;
	if (l->type == TG_INSPECT_LOGIN_REQUEST) {
		assert_non_null(l->service_name);
		snprintf(logins[nlogins].service, sizeof(logins[0].service), "%s", l->service_name);
		assert_true(l->startup_len <= sizeof(logins[0].bytes));
		memcpy(logins[nlogins].bytes, l->startup, l->startup_len);
		logins[nlogins].len = l->startup_len;
		assert_true(l->token_len < sizeof(logins[0].token));
		memcpy(logins[nlogins].token, l->token, l->token_len);
		logins[nlogins].token[l->token_len] = '\0';
	} else {
		assert_true(l->msg_len <= sizeof(logins[0].bytes));
		memcpy(logins[nlogins].bytes, l->msg, l->msg_len);
		logins[nlogins].len = l->msg_len;
	}
	nlogins++;
	return login_rc;
}

/* A session of the oidc service, its StartupMessage and token sent; mb_fe holds both. */
static void
h_login_start(struct h *h, const char *token)
{
	svcs_oidc = svcs;
	svcs_oidc.svc[0].identity = TG_IDENTITY_OIDC;
	h->in.svcs = &svcs_oidc;
	h->in.editor = true;
	h->in.login = on_login;
	nlogins = 0;
	h_start(h, 0);
	mb_reset();
	q_startup(&mb_fe, "alice", "shop", "psql");
	h_send_mb(h, FE, &mb_fe, 1460);
	if (token != NULL) {
		q_bytes(&mb_fe, 'p', token, strlen(token) + 1);
		h_send(h, FE, mb_fe.b + (mb_fe.n - strlen(token) - 6), strlen(token) + 6, 7);
	}
}

static int
h_reply(struct h *h, uint8_t action, const void *data, size_t len, const char *sqlstate,
	const char *text)
{
	struct tg_inspect_login_reply r = {
		.action = action,
		.session = logins[0].session,
		.data = data,
		.len = (uint32_t)len,
		.sqlstate = sqlstate,
		.text = text,
		.text_len = text != NULL ? (uint32_t)strlen(text) : 0,
		.role = action == TG_INSPECT_LOGIN_DONE ? data : NULL,
		.role_len = action == TG_INSPECT_LOGIN_DONE ? (uint32_t)len : 0,
	};
	struct tg_stream *st = NULL;
	int next = tg_inspect_login_reply(&h->in, &r, &st);

	if (next >= 0)
		assert_ptr_equal(st, h->st);
	return next;
}

/*
 * The whole takeover: StartupMessage and token consumed and handed over,
 * the client asked for its password; the mapped StartupMessage and the
 * SCRAM messages injected towards the server; the server's authentication
 * messages consumed and handed over; AuthenticationOk held until DONE,
 * then it and what follows reach the client; statements carry the role.
 */
static void
test_login_takeover(void **state)
{
	static const char token[] = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln";
	static const char up_startup[] = "\0\0\0\x1duser\0app_reader\0database\0shop\0\0";
	struct h *h = *state;
	const struct tg_edit *e;
	const uint8_t *b;
	uint16_t n;
	size_t startup_len, fe_end, ok_at, i;

	login_rc = 0;
	h_login_start(h, NULL);
	startup_len = mb_fe.n;
	assert_int_equal(ICNT(h, LOGINS), 1);
	assert_int_equal(h->in.nb_login, 1);
	assert_int_equal(nlogins, 0);
	e = edit_dir(h, FE);
	assert_int_equal(e->pt[0].off, 0);
	assert_int_equal(e->pt[0].consume, startup_len);
	b = injected(h, BE, 0, &n);
	assert_int_equal(n, 9);
	assert_memory_equal(b, "R\0\0\0\x08\0\0\0\x03", 9);

	/* the token, in segments of 7 bytes */
	q_bytes(&mb_fe, 'p', token, sizeof(token));
	h_send(h, FE, mb_fe.b + startup_len, mb_fe.n - startup_len, 7);
	fe_end = mb_fe.n;
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(nlogins, 1);
	assert_int_equal(logins[0].type, TG_INSPECT_LOGIN_REQUEST);
	assert_string_equal(logins[0].service, "pg");
	assert_string_equal(logins[0].token, token);
	assert_int_equal(logins[0].len, startup_len);
	assert_memory_equal(logins[0].bytes, mb_fe.b, startup_len);
	e = edit_dir(h, FE);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->pt[0].consume, fe_end);
	/* the token was wiped from the ring: what leaves of it (never, the editor cuts it) is zeros */
	for (i = startup_len + 5; i < fe_end; i++)
		assert_int_equal(h->out[FE][i], 0);

	/* the mapped StartupMessage goes to the server where the client's stream stands */
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_SEND, up_startup, sizeof(up_startup) - 1, NULL,
				 NULL),
			 TG_INSPECT_LOGIN_FLUSH);
	e = edit_dir(h, FE);
	assert_int_equal(e->n, 2);
	assert_int_equal(e->pt[1].off, fe_end);
	b = injected(h, FE, 1, &n);
	assert_int_equal(n, sizeof(up_startup) - 1);
	assert_memory_equal(b, up_startup, n);

	/* AuthenticationSASL: consumed, handed over */
	r_auth(&mb_be, 10, "SCRAM-SHA-256\0", 15);
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(nlogins, 2);
	assert_int_equal(logins[1].type, TG_INSPECT_LOGIN_SERVER);
	assert_int_equal(logins[1].len, mb_be.n);
	assert_memory_equal(logins[1].bytes, mb_be.b, mb_be.n);
	e = edit_dir(h, BE);
	assert_int_equal(e->pt[0].consume, mb_be.n);
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_SEND, "p\0\0\0\x08n,,x", 9, NULL, NULL),
			 TG_INSPECT_LOGIN_FLUSH);
	/* at the same place: here (nothing was sent) the two injections are one point */
	e = edit_dir(h, FE);
	b = injected(h, FE, e->n - 1, &n);
	assert_int_equal(e->pt[e->n - 1].off, fe_end);
	assert_memory_equal(b + n - 9, "p\0\0\0\x08n,,x", 9);

	/* SASLContinue, then SASLFinal, Ok, ParameterStatus, BackendKeyData, ReadyForQuery at once */
	r_auth(&mb_be, 11, "r=abc,s=c2FsdA==,i=4096", 23);
	h_send(h, BE, mb_be.b + logins[1].len, mb_be.n - logins[1].len, 1460);
	i = mb_be.n;
	assert_int_equal(nlogins, 3);
	assert_int_equal(h->rcv_nxt[BE], i);
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_SEND, "p\0\0\0\x08c=bi", 9, NULL, NULL),
			 TG_INSPECT_LOGIN_FLUSH);
	r_auth(&mb_be, 12, "v=c2ln", 6);
	ok_at = mb_be.n;
	r_auth(&mb_be, 0, NULL, 0);
	r_param(&mb_be, "server_version", "15.5");
	r_ready(&mb_be, 'I');
	h_send(h, BE, mb_be.b + i, mb_be.n - i, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(nlogins, 5);
	assert_memory_equal(logins[4].bytes, "R\0\0\0\x08\0\0\0\0", 9);
	/* nothing of the segment that holds the Ok has left (a segment leaves whole) */
	assert_int_equal(h->rcv_nxt[BE], i);
	assert_int_equal(edit_dir(h, BE)->pt[0].consume, ok_at);

	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_DONE, "app_reader", 10, NULL, NULL),
			 TG_INSPECT_LOGIN_RELEASE);
	h_release(h, BE);
	assert_int_equal(h->rcv_nxt[BE], mb_be.n);
	assert_int_equal(ICNT(h, LOGIN_OK), 1);
	assert_int_equal(h->in.nb_login, 0);

	/* the session goes on, as the role */
	mb_reset();
	q_query(&mb_fe, "select 1");
	h_send_mb(h, FE, &mb_fe, 1460);
	r_done(&mb_be, "SELECT 1");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_false(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->nev, 1);
	assert_string_equal(h->ev[0].user, "app_reader");
	/* an answer for a session that is gone is nothing */
	h_stop(h);
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_DONE, "x", 1, NULL, NULL), -ENOENT);
}

/* A FATAL with sqlstate and text is the last thing injected for the client; the session failed. */
static void
expect_fatal(struct h *h, const char *sqlstate, const char *text)
{
	const struct tg_edit *e = edit_dir(h, BE);
	const uint8_t *b;
	char code[8];
	uint16_t n;

	b = injected(h, BE, e->n - 1, &n);
	snprintf(code, sizeof(code), "C%s", sqlstate);
	assert_non_null(memmem(b, n, "SFATAL", 7));
	assert_non_null(memmem(b, n, code, 7));
	assert_non_null(memmem(b, n, text, strlen(text)));
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(h->in.nb_login, 0);
}

/* Every way a login is refused: the client gets a FATAL that says why, and the session fails. */
static void
test_login_refused(void **state)
{
	struct h *h = *state;

	/* the slowpath refuses the token */
	login_rc = 0;
	h_login_start(h, "tok");
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_REFUSE, NULL, 0, "28000", "token expired"),
			 TG_INSPECT_LOGIN_RESET);
	expect_fatal(h, "28000", "token expired");
	assert_int_equal(ICNT(h, LOGIN_REFUSED), 1);
	h_stop(h);

	/* no slowpath to ask */
	login_rc = -ENOTCONN;
	h_login_start(h, "tok");
	expect_fatal(h, "57P03", "not reachable");
	assert_int_equal(ICNT(h, LOGIN_UNAVAILABLE), 1);
	h_stop(h);

	/* the server refuses the mapped role's password: its ErrorResponse is held, a FATAL told */
	login_rc = 0;
	h_login_start(h, "tok");
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_SEND, "\0\0\0\x08\0\3\0\0", 8, NULL, NULL),
			 TG_INSPECT_LOGIN_FLUSH);
	r_error(&mb_be, "28P01", "password authentication failed for user \"app\"");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(nlogins, 2);
	assert_int_equal(h->rcv_nxt[BE], 0);
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_DONE, "app", 3, NULL, NULL),
			 TG_INSPECT_LOGIN_RESET);
	expect_fatal(h, "08P01", "out of turn");
	assert_int_equal(ICNT(h, FAIL_LOGIN), 1);
	h_stop(h);

	login_rc = 0;
	h_login_start(h, "tok");
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_SEND, "\0\0\0\x08\0\3\0\0", 8, NULL, NULL),
			 TG_INSPECT_LOGIN_FLUSH);
	mb_reset();
	r_error(&mb_be, "28P01", "password authentication failed for user \"app\"");
	h_send_mb(h, BE, &mb_be, 1460);
	assert_int_equal(h_reply(h, TG_INSPECT_LOGIN_REFUSE, NULL, 0, "28P01",
				 "upstream login failed"),
			 TG_INSPECT_LOGIN_RESET);
	expect_fatal(h, "28P01", "upstream login failed");
	assert_int_equal(edit_dir(h, BE)->pt[edit_dir(h, BE)->n - 1].off, 0);
	h_stop(h);

	/* a client that does not wait for its login */
	h_login_start(h, "tok");
	mb_reset();
	q_query(&mb_fe, "select 1");
	h_send(h, FE, mb_fe.b, mb_fe.n, 1460);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, FAIL_LOGIN), 2);
	h_stop(h);

	/* the server speaking first */
	h_login_start(h, "tok");
	mb_reset();
	r_ready(&mb_be, 'I');
	h_send_mb(h, BE, &mb_be, 1460);
	expect_fatal(h, "08P01", "spoke before");
	h_stop(h);

	/* no answer in time */
	h_login_start(h, "tok");
	assert_int_equal(tg_inspect_login_expire(&h->in, 0, on_ungate, h), 0);
	h->ungated = 0;
	assert_int_equal(tg_inspect_login_expire(&h->in, UINT64_MAX, on_ungate, h), 1);
	expect_fatal(h, "57P03", "did not answer in time");
	assert_int_equal(ICNT(h, LOGIN_TIMEOUT), 1);
	h_stop(h);

	/* the slowpath lost: a login asked about is refused, one not yet asked waits */
	h_login_start(h, NULL);
	assert_int_equal(tg_inspect_login_lost(&h->in, on_ungate, h), 0);
	assert_false(tg_inspect_failed(&h->in, h->st));
	h_stop(h);
	h_login_start(h, "tok");
	assert_int_equal(tg_inspect_login_lost(&h->in, on_ungate, h), 1);
	expect_fatal(h, "57P03", "went away");
	h_stop(h);

	/* without the editor nothing can be asked: reset at once */
	svcs_oidc = svcs;
	svcs_oidc.svc[0].identity = TG_IDENTITY_OIDC;
	h->in.svcs = &svcs_oidc;
	h->in.editor = false;
	h_start(h, 0);
	mb_reset();
	q_startup(&mb_fe, "alice", "shop", "psql");
	h_send_mb(h, FE, &mb_fe, 1460);
	assert_true(tg_inspect_failed(&h->in, h->st));
	assert_int_equal(ICNT(h, LOGIN_UNAVAILABLE), 3);
	assert_int_equal(h->rcv_nxt[FE], 0);
	assert_int_equal(h->in.nb_login, 0);
}

/* A running session whose token expired: FATAL where the server's stream stands, then the reset. */
static void
test_login_end(void **state)
{
	struct h *h = *state;
	struct tg_inspect_login_reply r = {
		.action = TG_INSPECT_LOGIN_END,
		.sqlstate = "28000",
		.text = "the identity token expired",
		.text_len = 26,
	};
	struct tg_inspect_info info;
	struct tg_stream *st;

	h->in.editor = true;
	assert_true(tg_inspect_info(&h->in, h->st, 0, &info));
	r.session = info.id;
	assert_int_equal(tg_inspect_login_reply(&h->in, &r, &st), TG_INSPECT_LOGIN_RESET);
	expect_fatal(h, "28000", "token expired");
	assert_int_equal(ICNT(h, LOGIN_ENDED), 1);
}

#define CASE(test, setup) cmocka_unit_test_setup_teardown(test, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(test_mask_rows, setup_login),
		CASE(test_mask_scope, setup_one),
		CASE(test_mask_rows_split, setup_one),
		CASE(test_block_query, setup_login),
		CASE(test_block_ring_wrap, setup_login),
		CASE(test_block_parse, setup_login),
		CASE(test_block_parse_split, setup_login),
		CASE(test_block_too_short, setup_login),
		CASE(test_hold_statement, setup_login),
		CASE(test_allow_log, setup_login),
		CASE(test_mask_error_notice, setup_login),
		CASE(test_copy_out, setup_one),
		CASE(test_copy_out_long, setup_login),
		CASE(test_binary_column, setup_login),
		CASE(test_columns_of_cached_statements, setup_login),
		CASE(test_exec_cache, setup_login),
		CASE(test_fail_violation, setup_login),
		CASE(test_fail_encrypted, setup_one),
		CASE(test_fail_window, setup_one),
		CASE(test_events, setup_login),
		CASE(test_event_json, setup_login),
		CASE(test_events_pipeline, setup_login),
		CASE(test_function_call, setup_login),
		CASE(test_session_pool, setup_two),
		CASE(test_close_unfinished, setup_one),
		CASE(test_retransmit, setup_login),
		CASE(test_strict_query, setup_one),
		CASE(test_strict_extended_merge, setup_one),
		CASE(test_fast_and_refused, setup_one),
		CASE(test_editor_block_query, setup_login),
		CASE(test_hold_query_approve, setup_login),
		CASE(test_hold_query_deny, setup_login),
		CASE(test_hold_execute_deny, setup_login),
		CASE(test_hold_unanswered, setup_login),
		CASE(test_hold_reordered, setup_login),
		CASE(test_editor_block_parse, setup_login),
		CASE(test_editor_audit_full, setup_login),
		CASE(test_strict_audit_full, setup_one),
		CASE(test_editor_tls_refused, setup_one),
		CASE(test_cancel_keys, setup_one),
		CASE(test_kill_reply, setup_login),
		CASE(test_login_takeover, setup_one),
		CASE(test_login_refused, setup_one),
		CASE(test_login_end, setup_login),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
