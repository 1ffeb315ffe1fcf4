/* SPDX-License-Identifier: MIT */
/*
 * fuzz_inspect.c — libFuzzer target for the PostgreSQL inspector
 * (inspect.c) driven through the reassembly engine (stream.c) and the
 * protocol parser (pg.c), as the worker drives them: one session of two
 * directions, the client's bytes and the server's, cut into segments in
 * any order, with losses, duplicates and overlaps, and both receivers
 * ACKing what they have.
 *
 * Input. Byte 0: bit 0 starts the session after a canned login
 * (StartupMessage; AuthenticationOk, ParameterStatus, BackendKeyData,
 * ReadyForQuery), so typed messages come at once; bits 1-2 the ring (256,
 * 1024, 4096, 32768 bytes: the inspector holds at most half); bit 3 small
 * parser caps; bits 4-5 the policy (A, B, none, A); bits 6-7 the service
 * (0 "pg", 1 "other", 2 not in the table). Byte 1: bits 0-1 the window
 * the receivers advertise (1, 3/4, 1/2, 1/4 of the ring); bit 2 ends with
 * tg_inspect_close() before tg_stream_drop_all() (the worker's order)
 * rather than after; bit 3 opens an idle session first, so that the
 * session takes the other slot. Then records: a control byte (bit 7 the
 * direction, server when set; bit 6 a flags byte follows; bits 0-5 the
 * length, 63: a 16-bit big-endian length follows), the flags, and that
 * many bytes, which the sender appends to its stream and sends at once
 * within the window. Flags: bits 0-2 the segment size (the MSS, 1, 2, 3, 5, 8, 16,
 * 64), bit 3 the segments in reverse order, bit 4 each one sent again one
 * byte wider on both sides, bit 5 lost (sent later, by a retransmission),
 * bit 6 no release and ACK after it, bit 7 a go-back-N retransmission of
 * the direction first. A record of length 0 with flags is an operation:
 * flags & 7 = 0 retransmit, 1 release without ACK, 2 ACK both, 3 switch
 * the policy to (flags >> 3) % 3, else release and ACK both. At the end
 * every sender retransmits until nothing moves.
 *
 * What it checks, besides ASan and UBSan:
 * - each receiver gets, at every offset, the byte sent there or an edit:
 *   '*' or 0 from the server (masking), a lower-case letter, digit, '_'
 *   or ' ' from the client (a blocked statement's rewrite); a byte it
 *   already has comes again the same; every packet's TCP checksum is
 *   right; an edit comes with the inspector's count of a block (client)
 *   or of a mask (server); with the canned login, where the framing is
 *   known, client edits lie in Query or Parse messages and server edits
 *   in DataRow, FunctionCallResponse, CopyData, ErrorResponse or
 *   NoticeResponse;
 * - nothing leaves uninspected: every byte received lies before the
 *   inspected mark and, with the canned login, so does the end of its
 *   message (a field's end for DataRow and FunctionCallResponse values;
 *   nothing for the client's CopyData or a server CopyData longer than
 *   half the ring, which are streamed);
 * - fail closed: once tg_inspect_failed(), neither direction's inspected
 *   mark moves again, released never passes it, and no byte at or past it
 *   reaches a receiver;
 * - every event renders (tg_inspect_event_json) into one line of valid
 *   UTF-8 with no byte below 0x20 but the final '\n', which jansson
 *   parses as an object; a buffer one byte short gives 0 and is not
 *   overrun; the event names the session, its caps hold;
 * - sessions are recorded (record.h, a limit of 4096 bytes, 64 with the
 *   small caps): every piece is 1..TG_RECORD_PIECE bytes of whole items
 *   of known types;
 * - at the end the receivers have exactly what was released, and
 *   tg_inspect_close() and tg_stream_drop_all() give everything back: the
 *   session slots, the held-segment slots and the rings, and every packet;
 *   the parser counters of all sessions (tg_inspect_pg_counters()) are
 *   the same before and after the close.
 *
 * The policies, streams and inspectors are made once and reused by every
 * input (as a worker reuses its pools), one inspector per ring and caps.
 *
 * Seeds: tests/fuzz/gen-corpus inspect DIR. Run: tests/fuzz/run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "csum.h"
#include "inspect.h"
#include "pg.h"
#include "policy.h"
#include "service.h"
#include "stream.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAXS (1u << 16)		/* bytes a direction may carry in one input */
#define MSS 1460
#define TCP_HLEN 20
#define NB_SESS 2
#define NB_HELD 384		/* below 2 x 2 x the in-order cap: the pool runs dry */
#define NB_RINGS 2
#define END_ROUNDS 64
#define JSON_MAX 32768		/* an event's line is ~12 KiB at most */
#define NONE UINT64_MAX
#define FE 0
#define BE 1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t ring_sizes[4] = { 256, 1024, 4096, 32768 };
static const uint16_t piece_sizes[8] = { MSS, 1, 2, 3, 5, 8, 16, 64 };

/* StartupMessage: Int32 len, Int32 196608, user, database, application_name, NUL */
static const uint8_t login_fe[] = "\x00\x00\x00\x35\x00\x03\x00\x00"
				  "user\0fuzz\0database\0shop\0application_name\0fz\0\0";
/*
 * AuthenticationOk ('R', 8, 0); ParameterStatus ('S', client_encoding
 * UTF8); BackendKeyData ('K', 12, pid 4242, key 99); ReadyForQuery ('Z',
 * 5, 'I')
 */
static const uint8_t login_be[] = "R\x00\x00\x00\x08\x00\x00\x00\x00"
				  "S\x00\x00\x00\x19" "client_encoding\0UTF8\0"
				  "K\x00\x00\x00\x0c\x00\x00\x10\x92\x00\x00\x00\x63"
				  "Z\x00\x00\x00\x05I";

/*
 * Policy A: every path of the inspector. Rules with ids that the rewrite
 * must fold ('.', '-', upper case) and one of 63 bytes, so that the
 * shorter tokens are used; detectors of every built-in kind and two
 * regexes (one fixed width, one variable, one scoped to "other"); column
 * rules of every style.
 */
static const char policy_a[] =
	"{\"commands\": {\"default\": \"allow\", \"rules\": ["
	"{\"id\": \"allow-tmp\", \"patterns\": [\"drop\\\\s+table\\\\s+tmp_\"], "
	"\"caseless\": true, \"action\": \"allow\"},"
	"{\"id\": \"no-drop\", \"patterns\": [\"\\\\bdrop\\\\b\", \"\\\\btruncate\\\\b\"], "
	"\"caseless\": true, \"action\": \"block\"},"
	"{\"id\": \"Block.Delete-1\", \"patterns\": [\"\\\\bdelete\\\\s+from\\\\b\"], "
	"\"caseless\": true, \"action\": \"block\", \"services\": [\"pg\"]},"
	"{\"id\": \"x23456789012345678901234567890123456789012345678901234567890123\", "
	"\"patterns\": [\"\\\\bgrant\\\\b\"], \"caseless\": true, \"action\": \"block\"},"
	"{\"id\": \"other-only\", \"patterns\": [\"\\\\bupdate\\\\b\"], \"caseless\": true, "
	"\"action\": \"block\", \"services\": [\"other\"]},"
	"{\"id\": \"log-ddl\", \"patterns\": [\"\\\\b(alter|create)\\\\b\", \"SELECT\"], "
	"\"action\": \"log\"}]},"
	"\"detectors\": ["
	"{\"id\": \"card\", \"kind\": \"card\", \"mask\": \"last4\"},"
	"{\"id\": \"email\", \"kind\": \"email\", \"mask\": \"keep-domain\"},"
	"{\"id\": \"ssn\", \"kind\": \"ssn\", \"no_dash\": true},"
	"{\"id\": \"iban\", \"kind\": \"iban\", \"mask\": \"last4\"},"
	"{\"id\": \"phone\", \"kind\": \"phone\"},"
	"{\"id\": \"aws\", \"kind\": \"aws_access_key\"},"
	"{\"id\": \"jwt\", \"kind\": \"jwt\"},"
	"{\"id\": \"pem\", \"kind\": \"private_key\"},"
	"{\"id\": \"emp\", \"kind\": \"regex\", \"pattern\": \"EMP-[0-9]{6}\", "
	"\"services\": [\"other\"]},"
	"{\"id\": \"secret\", \"kind\": \"regex\", \"pattern\": \"secret[a-z]+\", "
	"\"caseless\": true}],"
	"\"columns\": ["
	"{\"id\": \"ssn-column\", \"column\": \"ssn\", \"mask\": \"full\"},"
	"{\"id\": \"card-column\", \"column\": \"card_number\", \"mask\": \"last4\"},"
	"{\"id\": \"mail-column\", \"column\": \"email\", \"mask\": \"keep-domain\", "
	"\"services\": [\"pg\"]},"
	"{\"id\": \"blob-column\", \"column\": \"blob\"}]}";

/* Policy B: block by default, a few statements allowed; cards masked whole. */
static const char policy_b[] =
	"{\"commands\": {\"default\": \"block\", \"rules\": ["
	"{\"id\": \"reads\", \"patterns\": [\"^\\\\s*(select|show|begin|commit)\\\\b\"], "
	"\"caseless\": true, \"action\": \"allow\"},"
	"{\"id\": \"copy\", \"patterns\": [\"^copy\\\\b\"], \"caseless\": true, "
	"\"action\": \"log\"}]},"
	"\"detectors\": [{\"id\": \"card\", \"kind\": \"card\"}]}";

struct fpkt {
	uint16_t plen;
	uint32_t seq;	/* as sent: the engine never moves a segment */
	uint8_t buf[];	/* TCP header and payload, nothing after: ASan sees overreads */
};

/* The incremental framer of a direction (with the canned login only). */
enum fmode { F_OFF, F_HDR, F_COUNT, F_LEN };

struct side {
	uint32_t isn1;
	/* sender */
	uint32_t n;		/* bytes written */
	uint64_t snd_nxt;	/* first byte never sent */
	/* receiver */
	uint64_t rcv_nxt;
	uint64_t fail_mark;	/* inspected when the session failed, NONE before */
	/* framer */
	enum fmode fmode;
	uint32_t fpos, fend;	/* next byte to frame, end of the message framed */
	uint16_t nf, fi;
	uint32_t hw;		/* end of what the per-byte arrays hold for this input */
	uint8_t sent[MAXS];
	uint8_t rcv[MAXS];
	bool have[MAXS];
	uint8_t type[MAXS];	/* message type of each byte once framed, 0: not known */
	uint32_t unit[MAXS];	/* end of what must be inspected before it leaves, 0: not known */
};

struct ctx {
	struct tg_stream_mem *mem;
	struct tg_inspect in;
};

static struct tg_services svcs;
static struct tg_policy *policies[3];		/* A, B, none */
static struct tg_policy_scratch *scratches[3];
static struct tg_stream_mem mems[4];
static struct ctx ctxs[4][2];			/* [ring][small caps] */

/* The input being run */
static struct ctx *cx;
static struct tg_stream st[2];
static struct tg_stream decoy[2];		/* an idle session holding the other slot */
static uint64_t blocked0, masked0;		/* the edit counters when the session began */
static struct side sides[2];
static uint32_t ring;
static uint64_t window;
static uint64_t session_id;
static unsigned int live;			/* packets allocated and not freed */

static const uint8_t pseudo[10] = {
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x06,
};

static uint32_t
rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* ---------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------- */

/* Strict UTF-8 (RFC 3629): no overlong forms, surrogates or values past U+10FFFF. */
static bool
utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2, c = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3, c = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4, c = s[i] & 0x07;
		else
			return false;
		if (len - i < n)
			return false;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
			return false;
		i += n;
	}
	return true;
}

/*
 * A recording piece (record.h): within its size, made of whole items of
 * known types whose lengths add up to the piece.
 */
static bool
on_record(void *arg, uint64_t session, uint16_t service, uint32_t piece, const uint8_t *data,
	  uint16_t len)
{
	uint32_t at = 0;

	(void)arg;
	(void)session;
	(void)service;
	(void)piece;
	CHECK(len >= 1 && len <= TG_RECORD_PIECE);
	while (at < len) {
		CHECK(len - at >= 3);
		CHECK(data[at] >= TG_RECORD_STMT && data[at] < TG_RECORD_ITEM_MAX);
		at += 3 + ((uint32_t)data[at + 1] << 8 | data[at + 2]);
	}
	CHECK(at == len);
	return true;
}

static void
on_event(void *arg, const struct tg_inspect_event *ev)
{
	static char line[JSON_MAX];
	json_error_t jerr;
	json_t *j;
	char *tight;
	size_t n, i;

	(void)arg;
	CHECK(ev->session == session_id);
	CHECK(ev->kind <= TG_INSPECT_FCALL && ev->verdict < TG_ACT_MAX);
	CHECK(ev->result <= TG_INSPECT_NOT_RUN);
	CHECK(ev->text_len <= TG_INSPECT_TEXT_MAX && ev->params_len <= TG_INSPECT_PARAMS_MAX);
	CHECK(!ev->text_cut || ev->text_len == TG_INSPECT_TEXT_MAX);
	CHECK(memchr(ev->sqlstate, 0, sizeof(ev->sqlstate)) != NULL);
	CHECK(ev->rule == NULL || strlen(ev->rule) < TG_POLICY_ID_MAX);

	n = tg_inspect_event_json(ev, line, sizeof(line));
	CHECK(n > 0 && n < sizeof(line));
	CHECK(line[n - 1] == '\n');
	for (i = 0; i + 1 < n; i++)
		CHECK((uint8_t)line[i] >= 0x20);
	CHECK(utf8_valid((const uint8_t *)line, n));
	j = json_loadb(line, n, JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		fprintf(stderr, "event JSON: %s at %d: %.*s", jerr.text, jerr.position, (int)n,
			line);
	CHECK(j != NULL && json_is_object(j));
	json_decref(j);

	/* one byte short: refused, and nothing written past the buffer (ASan) */
	tight = malloc(n);
	CHECK(tight != NULL);
	CHECK(tg_inspect_event_json(ev, tight, n) == 0);
	free(tight);
}

/* ---------------------------------------------------------------------
 * Setup, once
 * ------------------------------------------------------------------- */

static struct tg_policy *
make_policy(const char *text)
{
	struct tg_policy *p = NULL;
	char err[512] = "";

	if (tg_policy_parse(text, strlen(text), "fuzz", &svcs, &p, err, sizeof(err)) != 0 ||
	    tg_policy_compile(p, "fuzz", err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_inspect: policy: %s\n", err);
		abort();
	}
	return p;
}

static void
setup(void)
{
	static bool done;
	struct tg_pg_limits small;
	unsigned int r, k;

	if (done)
		return;
	done = true;
	CHECK(rd32(login_fe) == sizeof(login_fe) - 1);
	CHECK(rd32(login_be + 10) == 25);
	memset(&svcs, 0, sizeof(svcs));
	snprintf(svcs.svc[0].name, sizeof(svcs.svc[0].name), "pg");
	svcs.svc[0].proto = TG_SERVICE_POSTGRES;
	snprintf(svcs.svc[1].name, sizeof(svcs.svc[1].name), "other");
	svcs.svc[1].proto = TG_SERVICE_POSTGRES;
	svcs.nb = 2;
	policies[0] = make_policy(policy_a);
	policies[1] = make_policy(policy_b);
	for (k = 0; k < 2; k++) {
		scratches[k] = tg_policy_scratch_alloc(policies[k]);
		CHECK(scratches[k] != NULL);
	}

	/* the caps of fuzz_pg's small mode: the parser's models fill up */
	tg_pg_limits_default(&small);
	small.startup_max = 512;
	small.fe_small_max = 128;
	small.auth_max = 128;
	small.stmt_max = 512;
	small.data_max = 4096;
	small.be_long_max = 512;
	small.be_small_max = 128;
	small.text_max = 256;
	small.params_max = 4;
	small.param_show_max = 8;
	small.stmts_max = 4;
	small.portals_max = 2;
	small.pending_max = 8;
	small.pool_size = 512;
	for (r = 0; r < ARRAY_SIZE(ring_sizes); r++) {
		CHECK(tg_stream_mem_init(&mems[r], NB_RINGS, ring_sizes[r], NB_HELD) == 0);
		for (k = 0; k < 2; k++) {
			ctxs[r][k].mem = &mems[r];
			CHECK(tg_inspect_init_limits(&ctxs[r][k].in, &mems[r], NULL, NB_SESS,
						     k ? &small : NULL, on_event, NULL) == 0);
			ctxs[r][k].in.svcs = &svcs;
			/* sessions are recorded: small limits, so that truncation is reached */
			ctxs[r][k].in.record = on_record;
			ctxs[r][k].in.record_limit = k ? 64 : 4096;
		}
	}
}

/* ---------------------------------------------------------------------
 * The framer: where each message (and DataRow field) ends, as pg.c
 * frames it, for the bytes of a typed stream. Stops for good at the
 * first frame pg.c refuses (the session then fails: nothing after it may
 * leave anyway). Units are set ahead of the bytes: they follow from the
 * headers alone.
 * ------------------------------------------------------------------- */

static void
mark(struct side *d, uint32_t from, uint32_t to, uint8_t type, bool whole)
{
	uint32_t o;

	for (o = from; o < to; o++) {
		d->type[o] = type;
		d->unit[o] = whole ? to : o + 1;
	}
	if (to > d->hw)
		d->hw = to;
}

static void
frame(struct side *d, int dir)
{
	uint32_t p, left, len, body, rest;
	int32_t flen;
	int16_t nf;
	uint8_t t;

	for (;;) {
		p = d->fpos;
		switch (d->fmode) {
		case F_OFF:
			return;
		case F_HDR:
			if (d->n < p + 5)
				return;
			t = d->sent[p];
			len = rd32(d->sent + p + 1);
			if (len < 4 || len > MAXS - p - 1) {
				d->fmode = F_OFF;
				return;
			}
			d->fend = p + 1 + len;
			if (dir == BE && (t == 'D' || t == 'V')) {
				if (len < (t == 'D' ? 6u : 8u)) {
					d->fmode = F_OFF;
					return;
				}
				mark(d, p, p + 5, t, false);
				d->fpos = p + 5;
				d->fmode = t == 'D' ? F_COUNT : F_LEN;
				d->nf = 1;
				d->fi = 0;
				break;
			}
			/* the client's CopyData and a long server CopyData are streamed */
			mark(d, p, d->fend, t,
			     !(t == 'd' && (dir == FE || d->fend - p > ring / 2)));
			d->fpos = d->fend;
			break;
		case F_COUNT:
			if (d->n < p + 2)
				return;
			nf = (int16_t)(d->sent[p] << 8 | d->sent[p + 1]);
			left = d->fend - p - 2;
			if (nf < 0 || (uint32_t)nf * 4 > left || (nf == 0 && left != 0)) {
				d->fmode = F_OFF;
				return;
			}
			mark(d, p, p + 2, 'D', false);
			d->fpos = p + 2;
			d->nf = (uint16_t)nf;
			d->fi = 0;
			d->fmode = nf == 0 ? F_HDR : F_LEN;
			break;
		default:
			if (d->n < p + 4)
				return;
			flen = (int32_t)rd32(d->sent + p);
			left = d->fend - p - 4;
			rest = (uint32_t)(d->nf - d->fi - 1) * 4;
			body = flen < 0 ? 0 : (uint32_t)flen;
			if (flen < -1 || (uint64_t)body + rest > left ||
			    (d->fi + 1 == d->nf && body + rest < left)) {
				d->fmode = F_OFF;
				return;
			}
			t = d->type[p - 1];
			mark(d, p, p + 4, t, false);
			mark(d, p + 4, p + 4 + body, t, true);
			d->fpos = p + 4 + body;
			d->fmode = ++d->fi == d->nf ? F_HDR : F_LEN;
			break;
		}
	}
}

/* ---------------------------------------------------------------------
 * Packets, the wire and the receivers
 * ------------------------------------------------------------------- */

static uint32_t
pseudo_sum(uint16_t plen)
{
	return tg_csum_partial(pseudo, sizeof(pseudo), TCP_HLEN + plen);
}

static bool
csum_ok(const struct fpkt *p)
{
	return tg_csum_fold(tg_csum_partial(p->buf, TCP_HLEN + p->plen, pseudo_sum(p->plen))) == 0;
}

static struct fpkt *
pkt_new(uint32_t seq, const uint8_t *payload, uint16_t len)
{
	struct fpkt *p = malloc(sizeof(*p) + TCP_HLEN + len);
	uint16_t c;

	CHECK(p != NULL);
	p->plen = len;
	p->seq = seq;
	memset(p->buf, 0, TCP_HLEN);
	p->buf[4] = (uint8_t)(seq >> 24);
	p->buf[5] = (uint8_t)(seq >> 16);
	p->buf[6] = (uint8_t)(seq >> 8);
	p->buf[7] = (uint8_t)seq;
	p->buf[12] = 5 << 4;
	p->buf[13] = 0x18;	/* PSH|ACK */
	memcpy(p->buf + TCP_HLEN, payload, len);
	c = tg_csum_fold(tg_csum_partial(p->buf, TCP_HLEN + len, pseudo_sum(len)));
	p->buf[16] = (uint8_t)(c >> 8);
	p->buf[17] = (uint8_t)c;
	live++;
	return p;
}

static void
pkt_free(struct fpkt *p)
{
	CHECK(live > 0);
	live--;
	free(p);
}

static bool
rewrite_byte(uint8_t b)
{
	return (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_' || b == ' ';
}

/* Edits the inspector has counted on the server's stream, all sessions together. */
static uint64_t
masked_count(void)
{
	const uint64_t *c = cx->in.cnt;

	return c[TG_INSPECT_CNT_VALUES_MASKED] + c[TG_INSPECT_CNT_COLUMNS_MASKED] +
	       c[TG_INSPECT_CNT_COPY_MASKED] + c[TG_INSPECT_CNT_NOTICES_MASKED];
}

/* A byte the inspector changed: only a mask or a blocked statement's rewrite. */
static void
check_edit(int k, uint32_t o, uint8_t b)
{
	const struct side *d = &sides[k];
	uint8_t t = d->type[o];

	if (k == BE) {
		CHECK(b == '*' || b == 0);
		CHECK(t == 0 || t == 'D' || t == 'V' || t == 'd' || t == 'E' || t == 'N');
		CHECK(masked_count() > masked0);
	} else {
		CHECK(rewrite_byte(b));
		CHECK(cx->in.cnt[TG_INSPECT_CNT_BLOCKED] > blocked0);
		CHECK(d->sent[o] != 0);	/* the text, never its terminator */
		CHECK(t == 0 || t == 'Q' || t == 'P');
	}
}

/* The receiver of direction k gets p. */
static void
receive(int k, struct fpkt *p)
{
	struct side *d = &sides[k];
	const struct tg_stream *s = &st[k];
	uint32_t seq = rd32(p->buf + 4);
	uint64_t off = (uint32_t)(seq - d->isn1);
	uint16_t i;

	CHECK(csum_ok(p));
	CHECK(seq == p->seq && off + p->plen <= d->n);
	for (i = 0; i < p->plen; i++) {
		uint64_t o = off + i;
		uint8_t b = p->buf[TCP_HLEN + i];

		if (o < s->base)
			continue;	/* ACKed already: the receiver drops it (stream.h, Caveats) */
		if (o >= s->inspected || d->unit[o] > s->inspected ||
		    (d->fail_mark != NONE && o >= d->fail_mark))
			fprintf(stderr,
				"dir %d byte %llu (type 0x%02x, unit end %u) of a packet at %llu+%u: "
				"base %llu released %llu inspected %llu contiguous %llu, "
				"failed at %lld\n",
				k, (unsigned long long)o, d->type[o], d->unit[o],
				(unsigned long long)off, p->plen, (unsigned long long)s->base,
				(unsigned long long)s->released, (unsigned long long)s->inspected,
				(unsigned long long)s->contiguous, (long long)d->fail_mark);
		CHECK(o < s->inspected);
		CHECK(d->unit[o] <= s->inspected);
		CHECK(d->fail_mark == NONE || o < d->fail_mark);
		if (d->have[o]) {
			CHECK(b == d->rcv[o]);
			continue;
		}
		if (b != d->sent[o])
			check_edit(k, (uint32_t)o, b);
		d->have[o] = true;
		d->rcv[o] = b;
	}
	while (d->rcv_nxt < d->n && d->have[d->rcv_nxt])
		d->rcv_nxt++;
	pkt_free(p);
}

/* The marks of both directions, and fail closed once the session failed. */
static void
check_marks(void)
{
	bool failed = tg_inspect_failed(&cx->in, st);
	int k;

	for (k = 0; k < 2; k++) {
		const struct tg_stream *s = &st[k];
		struct side *d = &sides[k];

		CHECK(s->base <= s->released && s->released <= s->inspected &&
		      s->inspected <= s->contiguous && s->contiguous <= d->n);
		if (failed && d->fail_mark == NONE)
			d->fail_mark = s->inspected;
		if (d->fail_mark != NONE) {
			CHECK(failed);
			CHECK(s->inspected == d->fail_mark);
			CHECK(s->released <= d->fail_mark);
		}
	}
}

static void
release(int k, unsigned int max)
{
	void *pkts[16];
	unsigned int n, i, total = 0;

	do {
		unsigned int want = max - total < ARRAY_SIZE(pkts) ? max - total : ARRAY_SIZE(pkts);

		n = tg_stream_release(cx->mem, &st[k], pkts, want);
		CHECK(n <= want);
		for (i = 0; i < n; i++)
			receive(k, pkts[i]);
		total += n;
	} while (n == ARRAY_SIZE(pkts) && total < max);
	check_marks();
}

/* The receiver's ACK of what it has in order; never refused. */
static void
ack(int k)
{
	struct side *d = &sides[k];

	CHECK(tg_stream_ack(cx->mem, &st[k], d->isn1 + (uint32_t)d->rcv_nxt, window) == 0);
	check_marks();
}

/* One segment of direction k: bytes [off, off + len) of what its sender wrote. */
static void
xmit(int k, uint64_t off, uint32_t len)
{
	struct side *d = &sides[k];
	struct fpkt *p;
	struct tg_stream_seg seg;
	enum tg_stream_verdict v;

	if (len == 0)
		return;
	CHECK(off + len <= d->n && len <= UINT16_MAX);
	p = pkt_new(d->isn1 + (uint32_t)off, d->sent + off, (uint16_t)len);
	seg = (struct tg_stream_seg){
		.pkt = p,
		.payload = p->buf + TCP_HLEN,
		.csum = p->buf + 16,
		.seq = d->isn1 + (uint32_t)off,
		.len = (uint16_t)len,
	};
	v = tg_stream_segment(cx->mem, &st[k], &seg, &cx->in.consumer[k]);
	check_marks();
	switch (v) {
	case TG_STREAM_HOLD:
		break;
	case TG_STREAM_FORWARD:
		receive(k, p);
		break;
	case TG_STREAM_DROP:
	case TG_STREAM_EXCEPTION:
		/* the sender retransmits it (a go-back-N retransmission, or the end) */
		pkt_free(p);
		break;
	default:
		CHECK(0);
	}
}

/* Sends [from, to) within the window, in pieces of sz, maybe backwards, maybe twice. */
static void
send_range(int k, uint64_t from, uint64_t to, uint16_t sz, bool reverse, bool dup)
{
	uint64_t npieces, i, a, b;

	if (to > st[k].wnd_end)
		to = st[k].wnd_end;
	if (from >= to)
		return;
	npieces = (to - from + sz - 1) / sz;
	for (i = 0; i < npieces; i++) {
		uint64_t j = reverse ? npieces - 1 - i : i;

		a = from + j * sz;
		b = a + sz < to ? a + sz : to;
		xmit(k, a, (uint32_t)(b - a));
		if (dup) {
			/* again, a byte wider on each side: overlaps, old and new bytes together */
			uint64_t a2 = a > 0 ? a - 1 : a, b2 = b < to ? b + 1 : b;

			xmit(k, a2, (uint32_t)(b2 - a2));
		}
	}
}

/* New data of direction k, as far as the window goes. */
static void
send_new(int k, uint16_t sz, bool reverse, bool dup, bool lost)
{
	struct side *d = &sides[k];
	uint64_t to = d->n < st[k].wnd_end ? d->n : st[k].wnd_end;

	if (to <= d->snd_nxt)
		return;
	if (!lost)
		send_range(k, d->snd_nxt, to, sz, reverse, dup);
	d->snd_nxt = to;
}

/* Go-back-N: everything sent and not ACKed, again, as the window allows. */
static void
retransmit(int k)
{
	send_range(k, sides[k].rcv_nxt, sides[k].snd_nxt, MSS, false, false);
}

static void
flush(void)
{
	int k;

	for (k = 0; k < 2; k++) {
		release(k, UINT32_MAX);
		ack(k);
	}
}

/* The sender of k writes bytes; the framer follows. */
static void
append(int k, const uint8_t *p, uint32_t len)
{
	struct side *d = &sides[k];

	if (len > MAXS - d->n)
		len = MAXS - d->n;
	memcpy(d->sent + d->n, p, len);
	d->n += len;
	if (d->n > d->hw)
		d->hw = d->n;
	frame(d, k);
}

/* ---------------------------------------------------------------------
 * The session
 * ------------------------------------------------------------------- */

static void
side_reset(int k, uint32_t isn1, bool typed)
{
	struct side *d = &sides[k];

	memset(d->rcv, 0, d->hw);
	memset(d->have, 0, d->hw);
	memset(d->type, 0, d->hw);
	memset(d->unit, 0, (size_t)d->hw * sizeof(d->unit[0]));
	d->isn1 = isn1;
	d->n = 0;
	d->snd_nxt = 0;
	d->rcv_nxt = 0;
	d->fail_mark = NONE;
	d->fmode = typed ? F_HDR : F_OFF;
	d->fpos = 0;
	d->hw = 0;
	st[k].app = 0;
	tg_stream_init(&st[k], isn1);
}

static void
drop_all(int k)
{
	void *pkts[16];
	unsigned int n, i;

	do {
		n = tg_stream_drop_all(cx->mem, &st[k], pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++)
			pkt_free(pkts[i]);
	} while (n == ARRAY_SIZE(pkts));
	CHECK(!tg_stream_busy(&st[k]) && st[k].ring == TG_STREAM_NONE);
}

/* The parser counters of every session, ended and live: closing one moves, never changes, them. */
static void
pg_counters(struct tg_pg_counters *out)
{
	memset(out, 0, sizeof(*out));
	tg_inspect_pg_counters(&cx->in, out);
}

static void
end_session(bool close_first)
{
	struct tg_pg_counters before, after;
	int k;

	pg_counters(&before);
	if (close_first)
		tg_inspect_close(&cx->in, st);
	for (k = 0; k < 2; k++)
		drop_all(k);
	if (!close_first)
		tg_inspect_close(&cx->in, st);
	if (decoy[0].app != 0)
		tg_inspect_close(&cx->in, decoy);
	pg_counters(&after);
	CHECK(memcmp(&before, &after, sizeof(before)) == 0);
	CHECK(st[0].app == 0 && st[1].app == 0 && decoy[0].app == 0 && decoy[1].app == 0);
	CHECK(cx->in.nb_free == cx->in.nb_sess);
	CHECK(cx->mem->nb_held_free == cx->mem->nb_held);
	CHECK(cx->mem->nb_ring_free == cx->mem->nb_rings);
	CHECK(live == 0);
}

/* One operation of the input: a record, or a control. */
static void
record(int k, uint8_t flags, const uint8_t *p, uint32_t len)
{
	unsigned int which;

	if (flags & 0x80) {
		retransmit(k);
		flush();
	}
	if (len == 0) {
		switch (flags & 7) {
		case 0:
			retransmit(k);
			break;
		case 1:
			release(k, 1 + ((flags >> 3) & 7));
			break;
		case 2:
			ack(0);
			ack(1);
			break;
		case 3:
			/* a new policy generation between bursts (inspect.h) */
			which = ((flags >> 3) & 3) % 3;
			tg_inspect_set_policy(&cx->in, policies[which], scratches[which]);
			break;
		default:
			flush();
			break;
		}
		return;
	}
	append(k, p, len);
	send_new(k, piece_sizes[flags & 7], flags & 8, flags & 0x10, flags & 0x20);
	if (!(flags & 0x40))
		flush();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t h0, h1;
	unsigned int which, svc, round;
	size_t i = 2;
	int k;

	if (size < 2 || size > MAXS - 512)
		return 0;
	setup();
	h0 = data[0];
	h1 = data[1];
	cx = &ctxs[(h0 >> 1) & 3][(h0 >> 3) & 1];
	ring = cx->mem->ring_size;
	window = ring - (ring / 4) * (h1 & 3);
	which = ((h0 >> 4) & 3) % 3;
	svc = (h0 >> 6) % 3;
	tg_inspect_set_policy(&cx->in, policies[which], scratches[which]);

	live = 0;
	side_reset(FE, 0xfffff000u, false);	/* 4 KiB before the 32-bit wrap; typed after login */
	side_reset(BE, 0x12345678u, h0 & 1);
	if (h1 & 8) {
		/* the session then takes the other slot, and its arena */
		tg_stream_init(&decoy[0], 1);
		tg_stream_init(&decoy[1], 1);
		CHECK(tg_inspect_open(&cx->in, decoy, 0, "198.18.0.2:40001") == 0);
	}
	CHECK(tg_inspect_open(&cx->in, st, (uint16_t)svc, "198.18.0.1:40000") == 0);
	CHECK(st[0].app != decoy[0].app);
	session_id = cx->in.next_id;
	blocked0 = cx->in.cnt[TG_INSPECT_CNT_BLOCKED];
	masked0 = masked_count();
	for (k = 0; k < 2; k++)
		ack(k);	/* the handshake opened the windows */

	if (h0 & 1) {
		/* the client's startup is untyped: one unit, then typed messages */
		append(FE, login_fe, sizeof(login_fe) - 1);
		mark(&sides[FE], 0, sizeof(login_fe) - 1, 0, true);
		sides[FE].fmode = F_HDR;
		sides[FE].fpos = sizeof(login_fe) - 1;
		frame(&sides[FE], FE);
		send_new(FE, MSS, false, false, false);
		flush();
		append(BE, login_be, sizeof(login_be) - 1);
		send_new(BE, MSS, false, false, false);
		flush();
		CHECK(!tg_inspect_failed(&cx->in, st));
	}

	while (i < size) {
		uint8_t c = data[i++], flags = 0;
		uint32_t len = c & 63;

		k = c >> 7;
		if (len == 63) {
			len = i + 1 < size ? (uint32_t)data[i] << 8 | data[i + 1] : 0;
			i += 2;
		}
		if ((c & 0x40) && i < size)
			flags = data[i++];
		if (i > size)
			i = size;
		if (len > size - i)
			len = (uint32_t)(size - i);
		record(k, flags, data + i, len);
		i += len;
	}

	/* the end: every sender sends what it has until nothing moves */
	for (round = 0; round < END_ROUNDS; round++) {
		uint64_t before = sides[0].rcv_nxt + sides[1].rcv_nxt + st[0].contiguous +
				  st[1].contiguous + sides[0].snd_nxt + sides[1].snd_nxt;

		for (k = 0; k < 2; k++) {
			retransmit(k);
			send_new(k, MSS, false, false, false);
		}
		flush();
		if (before == sides[0].rcv_nxt + sides[1].rcv_nxt + st[0].contiguous +
				      st[1].contiguous + sides[0].snd_nxt + sides[1].snd_nxt)
			break;
	}
	for (k = 0; k < 2; k++) {
		const struct side *d = &sides[k];
		uint32_t o;

		/* the receiver has exactly what was released, nothing past it */
		CHECK(d->rcv_nxt == st[k].released);
		for (o = (uint32_t)d->rcv_nxt; o < d->n; o++)
			CHECK(!d->have[o]);
	}
	end_session(h1 & 4);
	return 0;
}
