/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hold.c — libFuzzer target for approval holds (inspect.h "Holds"): a
 * session of a service under a policy with hold rules and a block rule,
 * the stream editor on, driven through the reassembly engine as the
 * worker drives it, with the slowpath's decisions, the deadline and the
 * slowpath's loss coming whenever the input says, in or out of turn,
 * about this session's hold, a stale one or another session.
 *
 * The worker is modelled down to its editor: a released segment leaves
 * cut into the pieces tg_edit_pieces() makes of it, injections are sent
 * when due (tg_edit_due()), and each receiver ACKs what it has in its own
 * sequence space, mapped back as edit_ingress() and sender_ack() do (the
 * consumed bytes of a parked statement are ACKed to the client). So each
 * receiver's stream is rebuilt byte for byte, every byte tagged with where
 * it came from: a sender's offset, or an injection at an edit point.
 *
 * Input. Byte 0: bit 0 starts after a canned login (StartupMessage;
 * AuthenticationOk, BackendKeyData, ReadyForQuery), so that typed messages
 * come at once; bit 1 makes the hold callback fail (no slowpath); bits 2-4
 * the segment size (the MSS, 1, 2, 3, 7, 16, 64, 300); bit 5 sends each
 * burst out of order, its first segment last (one lost and sent again),
 * so that a parked statement's segment can come after what the client
 * pipelined behind it. Then records: a
 * control byte, bits 5-7 the kind, bits 0-4 the length (31: a 16-bit
 * big-endian length follows), and that many bytes. Kinds:
 *  0 client bytes, as they are;
 *  1 server bytes, as they are;
 *  2 client statements, one per byte: bits 0-1 the text (0 and 3 held,
 *    1 blocked, 2 allowed), bits 2-3 how (a Query; Parse, Bind, Execute;
 *    a Parse of a named statement; Bind and Execute of it), bit 4 no Sync
 *    after it, bit 5 an Execute of at most one row, bits 6-7 which name
 *    and number;
 *  3 server replies, one per byte (value % 12): ReadyForQuery I, T and E,
 *    CommandComplete, ErrorResponse 34000 (the denied portal's) and 42601,
 *    ParseComplete, BindComplete, NoData, PortalSuspended,
 *    EmptyQueryResponse, a one-row result;
 *  4 a decision: byte 0 bit 0 approve (else deny), byte 1 % 5 whom (this
 *    hold; its number - 1; its number + 1; the idle other session; no
 *    session), then five bytes of SQLSTATE and the reason (deny);
 *  5 the deadline passes (tg_inspect_hold_expire());
 *  6 the slowpath goes away (tg_inspect_hold_lost()); byte 0 bit 0 also
 *    flips whether the hold callback fails from then on;
 *  7 the session ends.
 * Bytes a sender appends are sent at once, as far as the engine takes
 * them; a segment it drops (ring or window full, as behind a parked
 * statement) is sent again after every record.
 *
 * What it checks, besides ASan and UBSan:
 * - at most one hold waits (nb_held 0 or 1) and it is the one the
 *   callback was last asked about; every ASK is followed by at most one
 *   end: a decision accepted, an expiry (with its CANCEL), a loss (no
 *   CANCEL) or the CANCEL of the session's end; a decision for another
 *   number, session or no hold is -ENOENT and changes nothing; one for a
 *   failed session is RESET and changes nothing either;
 * - while a statement is parked the client's released mark is at most
 *   the end of the parked message, and no client byte past it reaches
 *   the server; the parked message's own bytes never reach the server as
 *   the client sent them;
 * - approved: the editor injects the parked message's exact bytes at its
 *   end, and the server gets them there, before any byte the client sent
 *   after it; denied (by a decision, the deadline or a loss): what is
 *   injected there is a Sync (a Query) or an Execute of the portal that
 *   cannot exist (an Execute);
 * - nothing leaves uninspected; once the session has failed neither
 *   direction's inspected mark moves and released never passes it; a byte
 *   a receiver has comes again the same;
 * - at the end, tg_inspect_end() leaves no hold and no edited direction
 *   counted, and every packet, held-segment slot and ring is given back.
 *
 * Seeds: tests/fuzz/gen-corpus hold DIR. Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "fuzz.h"
#include "inspect.h"
#include "pg.h"
#include "policy.h"
#include "service.h"
#include "stream.h"

#define RING 8192
#define NB_RINGS 4
#define NB_HELD 512
#define MSS 1460
#define TCP_HLEN 20
#define MAXS (1u << 16)		/* bytes a sender may append in one input */
#define TMAX (1u << 18)		/* bytes a receiver may get: the sender's and injections */
#define PIECES (2 * TG_EDIT_POINTS + 2)
/* holds remembered: a parked message is 10 bytes at least (an Execute), so fewer per input */
#define PARKED_MAX (MAXS / 8)
#define BURST_MAX 64		/* segments sent out of order at once */
#define INJ 0x80000000u		/* a receiver's byte: injected at the point (o) in the low bits */
#define FE 0
#define BE 1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t piece_sizes[8] = { MSS, 1, 2, 3, 7, 16, 64, 300 };

/* StartupMessage: Int32 len, Int32 196608, user fuzz, database shop */
static const uint8_t login_fe[] = "\x00\x00\x00\x21\x00\x03\x00\x00"
				  "user\0fuzz\0database\0shop\0\0";
/* AuthenticationOk; BackendKeyData (pid 4242, key 99); ReadyForQuery I */
static const uint8_t login_be[] = "R\x00\x00\x00\x08\x00\x00\x00\x00"
				  "K\x00\x00\x00\x0c\x00\x00\x10\x92\x00\x00\x00\x63"
				  "Z\x00\x00\x00\x05I";

/* Two hold rules (one of them with a 5 s timeout) and a block rule; the rest allowed */
static const char policy_json[] =
	"{\"commands\": {\"default\": \"allow\", \"rules\": ["
	"{\"id\": \"no-drop\", \"patterns\": [\"\\\\bdrop\\\\b\"], \"caseless\": true, "
	"\"action\": \"block\"},"
	"{\"id\": \"review-delete\", \"patterns\": [\"\\\\bdelete\\\\s+from\\\\b\"], "
	"\"caseless\": true, \"action\": \"hold\", \"approvers\": \"dba\", \"quorum\": 2, "
	"\"timeout\": \"2m\"},"
	"{\"id\": \"review-truncate\", \"patterns\": [\"\\\\btruncate\\\\b\"], \"caseless\": true, "
	"\"action\": \"hold\", \"approvers\": \"ops\", \"self_approval\": true, \"timeout\": 5}"
	"]}}";

/* What stands in for a denied statement (inspect.c, hold_deny()) */
static const uint8_t deny_sync[] = { 'S', 0, 0, 0, 4 };
static const uint8_t deny_execute[] = "E\x00\x00\x00\x18tollgate.denied\0\x00\x00\x00\x00";

struct pkt {
	uint64_t off;		/* of its first byte in the sender's stream */
	uint16_t plen;
	uint8_t buf[];		/* TCP header, then the payload */
};

enum outcome {
	WAITING,
	APPROVED,	/* its bytes injected at its end: tinj is where the server gets them */
	DENIED,		/* a Sync or an Execute of no portal injected at its end */
};

/* A statement parked: the consumed bytes its message ends and its length */
struct parked {
	uint32_t number;
	uint8_t kind;
	uint8_t outcome;	/* enum outcome */
	bool seen;		/* approved: the server got the injection (checked) */
	bool injected;		/* what stands at its end has reached the server (checked) */
	uint64_t start, end;
	uint32_t len;
	uint64_t tinj;
};

static struct tg_services svcs;
static struct tg_policy *policy;
static struct tg_stream_mem mem;
static struct tg_inspect in;
static struct tg_stream st[2], other[2];
static const uint32_t isn1[2] = { 1000, 900000 };
static uint64_t id, other_id;
static uint8_t sbuf[2][MAXS];		/* what each sender appended */
static uint32_t appended[2], sent[2];	/* sent: taken by the engine */
static uint8_t rbuf[2][TMAX];		/* what each receiver got, by its sequence space */
static uint32_t rtag[2][TMAX];		/* where each byte came from (INJ: an injection) */
static uint8_t rhave[2][TMAX];
static uint64_t rcv[2];			/* what each receiver has, in order */
static uint64_t rtop[2];		/* past the last byte it has */
static unsigned int live;		/* packets not given back */
static uint16_t piece;
static bool reverse;			/* each burst out of order */
static bool fail_hold;
static bool failed;
static uint64_t frozen[2];		/* inspected marks when the session failed */

/* The hold model */
static struct parked parked[PARKED_MAX];
static unsigned int nb_parked;
static struct parked *waiting;		/* the hold asked about and not ended */
static bool resolving;			/* in a call that may end it (decision, expiry, loss) */
static struct parked *resolved;		/* the hold that call ended */
static unsigned int cancels;
static uint32_t last_number;		/* of the last hold asked about */

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---------------------------------------------------------------------
 * The slowpath's side
 * ------------------------------------------------------------------- */

/*
 * The message consumed bytes [start, end) end with: walked from start, as
 * the parser framed them. Its length, or 0 when the walk does not land on
 * end (consumed bytes that are not typed messages).
 */
static uint32_t
message_len(uint64_t start, uint64_t end)
{
	uint64_t p = start, last = start;

	while (p + 5 <= end) {
		last = p;
		p += 1 + (uint64_t)rd32(sbuf[FE] + p + 1);
	}
	return p == end && end > last ? (uint32_t)(end - last) : 0;
}

static void
end_waiting(void)
{
	CHECK(waiting != NULL);
	resolved = waiting;
	waiting = NULL;
}

static int
on_hold(void *arg, const struct tg_inspect_hold *h)
{
	const struct tg_edit *e = tg_inspect_edit(&in, st, FE);
	const struct tg_edit_point *last;
	struct parked *p;

	(void)arg;
	CHECK(h->session == id);
	if (h->op == TG_INSPECT_HOLD_CANCEL) {
		CHECK(waiting != NULL && h->hold == waiting->number);
		CHECK(h->reason != NULL && h->reason[0] != '\0');
		cancels++;
		end_waiting();
		return 0;
	}
	CHECK(h->op == TG_INSPECT_HOLD_ASK);
	/* one at a time: a new one only once the last is decided, in the call that decided it */
	if (waiting != NULL) {
		CHECK(resolving);
		end_waiting();
	}
	CHECK(h->kind == TG_INSPECT_QUERY || h->kind == TG_INSPECT_EXECUTE);
	CHECK(h->rule != NULL && h->approvers != NULL);
	CHECK(strcmp(h->rule, "review-delete") == 0 || strcmp(h->rule, "review-truncate") == 0);
	CHECK(h->timeout_s == (strcmp(h->rule, "review-delete") == 0 ? 120 : 5));
	CHECK(h->text_len <= TG_INSPECT_TEXT_MAX && h->params_len <= TG_INSPECT_PARAMS_MAX);
	CHECK(h->service_name != NULL && strcmp(h->service_name, "pg") == 0);
	/* the message is consumed already: the last edit point ends where it does */
	CHECK(e != NULL && e->n != 0);
	last = &e->pt[e->n - 1];
	CHECK(last->consume != 0 && last->off + last->consume <= appended[FE]);
	CHECK(nb_parked < PARKED_MAX);
	p = &parked[nb_parked++];
	*p = (struct parked){
		.number = h->hold,
		.kind = h->kind,
		.start = last->off,
		.end = last->off + last->consume,
	};
	last_number = h->hold;
	p->len = message_len(p->start, p->end);
	CHECK(p->len >= 5 && p->len <= TG_INSPECT_HOLD_MAX);
	CHECK(sbuf[FE][p->end - p->len] == (h->kind == TG_INSPECT_QUERY ? 'Q' : 'E'));
	/* it has not left */
	CHECK(st[FE].released <= p->end - p->len);
	if (fail_hold) {
		/* denied at once */
		p->outcome = DENIED;
		return -ENOTCONN;
	}
	waiting = p;
	return 0;
}

/* The point of the client's editor at o, or NULL. */
static const struct tg_edit_point *
point_at(uint64_t o)
{
	const struct tg_edit *e = tg_inspect_edit(&in, st, FE);
	unsigned int i;

	for (i = 0; e != NULL && i < e->n; i++)
		if (e->pt[i].off == o)
			return &e->pt[i];
	return NULL;
}

/* The bytes injected at point pt */
static const uint8_t *
point_bytes(const struct tg_edit_point *pt)
{
	const struct tg_edit *e = tg_inspect_edit(&in, st, FE);
	struct tg_edit_piece pc = { .inject = true, .pt = (uint8_t)(pt - e->pt) };

	return tg_edit_bytes(e, &pc);
}

/*
 * What is injected at the end of a decided hold p (n bytes at b): its
 * message approved; denied, what stands in for it (more may follow, for
 * what came after it).
 */
static void
check_injected(const struct parked *p, const uint8_t *b, uint32_t n)
{
	if (p->outcome == APPROVED) {
		CHECK(n >= p->len && memcmp(b, sbuf[FE] + p->end - p->len, p->len) == 0);
	} else if (p->kind == TG_INSPECT_QUERY) {
		CHECK(n >= sizeof(deny_sync) && memcmp(b, deny_sync, sizeof(deny_sync)) == 0);
	} else {
		CHECK(n >= sizeof(deny_execute) - 1 &&
		      memcmp(b, deny_execute, sizeof(deny_execute) - 1) == 0);
	}
}

/* A hold ended (p) by a decision (approve) or a denial: what the editor was asked for. */
static void
check_decided(struct parked *p, bool approve, uint64_t approved0)
{
	const struct tg_edit_point *pt;

	if (tg_inspect_failed(&in, st))
		return;
	pt = point_at(p->end);
	CHECK(pt != NULL);
	if (approve && in.cnt[TG_INSPECT_CNT_HOLD_APPROVED] == approved0 + 1) {
		p->outcome = APPROVED;
		p->tinj = pt->tinj;
	} else {
		CHECK(in.cnt[TG_INSPECT_CNT_HOLD_APPROVED] == approved0);
		p->outcome = DENIED;
	}
	check_injected(p, point_bytes(pt), pt->inject);
}

/* What a call that must change nothing is compared on */
struct snap {
	uint64_t cnt[TG_INSPECT_CNT_MAX];
	uint32_t nb_held;
	uint64_t inspected[2], released[2];
	uint8_t points[2];
	uint32_t injected[2];
};

static void
snap(struct snap *s)
{
	int d;

	memset(s, 0, sizeof(*s));
	memcpy(s->cnt, in.cnt, sizeof(s->cnt));
	s->nb_held = in.nb_held;
	for (d = 0; d < 2; d++) {
		const struct tg_edit *e = tg_inspect_edit(&in, st, d);

		s->inspected[d] = st[d].inspected;
		s->released[d] = st[d].released;
		s->points[d] = e != NULL ? e->n : 0;
		s->injected[d] = e != NULL ? e->buf_len : 0;
	}
}

static void release(int d);

static void
decide(const uint8_t *b, size_t len)
{
	static const char reason[] = "approval request ap-1 was denied";
	struct tg_inspect_hold_reply r = { .id = "ap-1", .id_len = 4 };
	struct parked *was = waiting;
	struct tg_stream *sp = NULL;
	uint64_t approved0 = in.cnt[TG_INSPECT_CNT_HOLD_APPROVED];
	uint32_t number = last_number;
	struct snap before, after;
	bool mine;
	int next;

	if (len < 2)
		return;
	r.decision = (b[0] & 1) ? TG_INSPECT_HOLD_APPROVE : TG_INSPECT_HOLD_DENY;
	r.session = b[1] % 5 == 3 ? other_id : b[1] % 5 == 4 ? id + 1000 : id;
	r.hold = number + (b[1] % 5 == 1 ? (uint32_t)-1 : b[1] % 5 == 2 ? 1 : 0);
	if (len >= 7) {
		r.sqlstate = (const char *)b + 2;
		r.text = (const char *)b + 7;
		r.text_len = (uint32_t)(len - 7);
	} else {
		r.text = reason;
		r.text_len = sizeof(reason) - 1;
	}
	mine = r.session == id && was != NULL && r.hold == was->number;
	snap(&before);
	resolving = true;
	resolved = NULL;
	next = tg_inspect_hold_reply(&in, &r, &sp);
	resolving = false;
	if (!mine || failed) {
		/* too late, not this one, or a session the worker resets: nothing moves */
		CHECK(next == (mine ? TG_INSPECT_LOGIN_RESET : -ENOENT));
		snap(&after);
		CHECK(memcmp(&before, &after, sizeof(before)) == 0);
		CHECK(waiting == was);
		return;
	}
	CHECK(sp == st);
	CHECK(next == TG_INSPECT_LOGIN_RELEASE || next == TG_INSPECT_LOGIN_RESET);
	CHECK((next == TG_INSPECT_LOGIN_RESET) == tg_inspect_failed(&in, st));
	/* it ended here: a hold asked since is another */
	if (waiting == was)
		end_waiting();
	CHECK(resolved == was);
	check_decided(was, r.decision == TG_INSPECT_HOLD_APPROVE, approved0);
	release(FE);
	release(BE);
}

/* the ungate callback of the sweeps: the streams are the session's, released by sweep() */
static void
on_swept(void *arg, struct tg_stream s[2])
{
	(void)arg;
	CHECK(s == st);
}

/* The deadline passes (expire) or the slowpath goes away. */
static void
sweep(bool expire)
{
	struct parked *was = waiting;
	uint64_t approved0 = in.cnt[TG_INSPECT_CNT_HOLD_APPROVED];
	unsigned int cancels0 = cancels, n;

	if (expire) {
		/* not yet */
		CHECK(tg_inspect_hold_expire(&in, 0, NULL, NULL) == 0);
		CHECK(waiting == was);
	}
	resolving = true;
	resolved = NULL;
	if (expire)
		n = tg_inspect_hold_expire(&in, UINT64_MAX, on_swept, NULL);
	else
		n = tg_inspect_hold_lost(&in, on_swept, NULL);
	resolving = false;
	CHECK(n == 0 || n == 1);
	CHECK(n == (was != NULL));
	if (was == NULL)
		return;
	/* the slowpath is told of an expiry, not of a loss (it is gone) */
	CHECK(cancels == cancels0 + (expire ? 1 : 0));
	if (waiting == was)
		end_waiting();
	CHECK(resolved == was);
	check_decided(was, false, approved0);
	release(FE);
	release(BE);
}

/* ---------------------------------------------------------------------
 * The worker's side: segments in, pieces out, ACKs back
 * ------------------------------------------------------------------- */

static void
give_back(void *p)
{
	free(p);
	live--;
}

/* Bytes reaching the receiver of direction d at its offset t; tag: where they came from. */
static void
receive(int d, uint64_t t, const uint8_t *b, uint32_t len, uint32_t tag, bool inj)
{
	uint32_t k;

	for (k = 0; k < len && t + k < TMAX; k++) {
		uint64_t at = t + k;
		uint32_t g = inj ? tag : tag + k;

		if (rhave[d][at]) {
			CHECK(rbuf[d][at] == b[k] && rtag[d][at] == g);
			continue;
		}
		rhave[d][at] = 1;
		if (at + 1 > rtop[d])
			rtop[d] = at + 1;
		rbuf[d][at] = b[k];
		rtag[d][at] = g;
	}
	while (rcv[d] < TMAX && rhave[d][rcv[d]])
		rcv[d]++;
}

/*
 * Bytes injected at client offset o reach the server: those standing for
 * a decided hold. The first to come at its end are its (a point there is
 * made when it is decided, before any other can be); later points at the
 * same place are for what followed it (a blocked Query's Sync).
 */
static void
check_inject(uint64_t o, const struct tg_edit_piece *pc, const uint8_t *b)
{
	unsigned int i;

	for (i = 0; i < nb_parked; i++)
		if (parked[i].end == o && parked[i].outcome != WAITING && !parked[i].injected) {
			CHECK(pc->off == 0);
			check_injected(&parked[i], b, pc->len);
			parked[i].injected = true;
		}
}

/* Client bytes [o, o + len) reach the server at t: what may, when. */
static void
check_kept(uint64_t o, uint32_t len, uint64_t t)
{
	unsigned int i;
	uint32_t k;

	CHECK(o + len <= st[FE].inspected);
	if (failed)
		CHECK(o + len <= frozen[FE]);
	/* nothing past a parked statement */
	if (waiting != NULL)
		CHECK(o + len <= waiting->end);
	for (i = 0; i < nb_parked; i++) {
		struct parked *p = &parked[i];

		/* a parked message's bytes never go as the client sent them */
		CHECK(o + len <= p->start || o >= p->end);
		if (p->outcome != APPROVED || p->seen || o < p->end)
			continue;
		/* approved: the server got it, injected at its end, before what followed it */
		CHECK(t >= p->tinj + p->len);
		for (k = 0; k < p->len; k++)
			CHECK(p->tinj + k >= TMAX ||
			      (rhave[FE][p->tinj + k] && rtag[FE][p->tinj + k] == (INJ | p->end) &&
			       rbuf[FE][p->tinj + k] == sbuf[FE][p->end - p->len + k]));
		p->seen = true;
	}
}

/* A released packet leaves: cut as the editor says (worker.c, edit_egress()). */
static void
egress(int d, struct pkt *p)
{
	struct tg_edit *e = tg_inspect_edit(&in, st, d);
	const uint8_t *payload = p->buf + TCP_HLEN;
	struct tg_edit_piece pcs[PIECES];
	uint64_t skip;
	unsigned int n, i;

	CHECK(p->off + p->plen <= st[d].inspected);
	if (e == NULL) {
		if (d == FE)
			check_kept(p->off, p->plen, p->off);
		receive(d, p->off, payload, p->plen, (uint32_t)p->off, false);
		return;
	}
	skip = e->told > p->off ? e->told - p->off : 0;
	if (skip > p->plen)
		skip = p->plen;
	n = tg_edit_pieces(e, p->off + skip, p->plen - skip, pcs, PIECES);
	for (i = 0; i < n; i++) {
		const struct tg_edit_piece *pc = &pcs[i];

		if (pc->inject) {
			if (d == FE)
				check_inject(e->pt[pc->pt].off, pc, tg_edit_bytes(e, pc));
			receive(d, pc->t, tg_edit_bytes(e, pc), pc->len,
				INJ | (uint32_t)e->pt[pc->pt].off, true);
			tg_edit_mark_sent(e, pc->pt);
			continue;
		}
		CHECK(pc->off >= p->off && pc->off + pc->len <= p->off + p->plen);
		if (d == FE)
			check_kept(pc->off, pc->len, pc->t);
		receive(d, pc->t, payload + (pc->off - p->off), pc->len, (uint32_t)pc->off, false);
	}
}

/*
 * Releases what direction d may send, sends the injections now due, and
 * takes its receiver's ACK (worker.c: edit_flush(), edit_ingress(),
 * sender_ack()).
 */
static void
release(int d)
{
	struct tg_edit_piece pcs[PIECES];
	struct tg_edit *e;
	void *pkts[16];
	unsigned int n, i;
	uint64_t o, u, owin;

	do {
		n = tg_stream_release(&mem, &st[d], pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++) {
			egress(d, pkts[i]);
			give_back(pkts[i]);
		}
	} while (n == ARRAY_SIZE(pkts));
	e = tg_inspect_edit(&in, st, d);
	o = st[d].released;
	if (e != NULL) {
		n = tg_edit_due(e, st[d].released, pcs, PIECES);
		for (i = 0; i < n; i++) {
			if (d == FE)
				check_inject(e->pt[pcs[i].pt].off, &pcs[i], tg_edit_bytes(e, &pcs[i]));
			receive(d, pcs[i].t, tg_edit_bytes(e, &pcs[i]), pcs[i].len,
				INJ | (uint32_t)e->pt[pcs[i].pt].off, true);
			tg_edit_mark_sent(e, pcs[i].pt);
		}
		o = tg_edit_ack(e, rcv[d], RING, &owin);
		if (o > st[d].released)
			o = st[d].released;
		if (o > e->told)
			e->told = o;
	}
	CHECK(tg_stream_ack(&mem, &st[d], isn1[d] + (uint32_t)o, RING) == 0);
	if (e != NULL) {
		/* the gateway's own ACK of consumed bytes, up to what left (worker.c sender_ack) */
		u = tg_edit_unmap_ack(e, e->tack);
		if (u > st[d].released)
			u = st[d].released;
		if (u > e->told)
			e->told = u;
		tg_edit_prune(e, e->told);
	}
}

/*
 * One segment of direction d: appended bytes [off, off + len). False when
 * the engine did not take it.
 */
static bool
segment(int d, uint64_t off, uint16_t len)
{
	struct pkt *p = malloc(sizeof(*p) + TCP_HLEN + len);
	struct tg_stream_seg seg;
	enum tg_stream_verdict v;

	CHECK(p != NULL);
	live++;
	p->off = off;
	p->plen = len;
	memset(p->buf, 0, TCP_HLEN);
	memcpy(p->buf + TCP_HLEN, sbuf[d] + off, len);
	seg = (struct tg_stream_seg){
		.pkt = p,
		.payload = p->buf + TCP_HLEN,
		.csum = p->buf + 16,
		.seq = isn1[d] + (uint32_t)off,
		.len = len,
	};
	v = tg_stream_segment(&mem, &st[d], &seg, &in.consumer[d]);
	if (v == TG_STREAM_HOLD)
		return true;
	if (v == TG_STREAM_FORWARD)
		egress(d, p);
	give_back(p);
	return v == TG_STREAM_FORWARD;
}

/*
 * Out of order: what the window and the ring take of what direction d has
 * not sent, in segments sent last first (the first one was lost and comes
 * again last).
 */
static void
burst_reverse(int d)
{
	uint64_t end = appended[d], at;

	if (end > st[d].wnd_end)
		end = st[d].wnd_end;
	if (end > st[d].base + RING)
		end = st[d].base + RING;
	/* a few segments: one byte each over a whole ring is slow and adds nothing */
	if (end > sent[d] + BURST_MAX * (uint64_t)piece)
		end = sent[d] + BURST_MAX * (uint64_t)piece;
	if (end <= sent[d])
		return;
	at = sent[d] + (end - sent[d] - 1) / piece * piece;
	for (;;) {
		(void)segment(d, at, (uint16_t)(end - at < piece ? end - at : piece));
		if (at == sent[d])
			break;
		end = at;
		at -= piece;
	}
	release(d);
}

/* Sends what direction d appended and the engine has not taken, until it refuses one. */
static void
pump(int d)
{
	if (reverse)
		burst_reverse(d);
	for (;;) {
		uint32_t left;
		uint16_t n;

		/* what the engine has in order already (sent out of order) is not sent again */
		if (st[d].contiguous > sent[d])
			sent[d] = (uint32_t)(st[d].contiguous < appended[d] ? st[d].contiguous
									   : appended[d]);
		if (sent[d] >= appended[d])
			break;
		left = appended[d] - sent[d];
		n = (uint16_t)(left < piece ? left : piece);
		if (!segment(d, sent[d], n))
			break;
		sent[d] += n;
		release(d);
	}
}

/* ---------------------------------------------------------------------
 * Streams of messages (PostgreSQL 15 docs, 55.7 "Message Formats")
 * ------------------------------------------------------------------- */

static void
put(int d, const void *b, size_t len)
{
	if (len == 0)
		return;
	if (len > MAXS - appended[d])
		len = MAXS - appended[d];
	memcpy(sbuf[d] + appended[d], b, len);
	appended[d] += (uint32_t)len;
}

/* A typed message: type, Int32 length, the body */
static void
msg(int d, uint8_t type, const void *body, size_t len)
{
	uint8_t h[5] = { type, (uint8_t)((len + 4) >> 24), (uint8_t)((len + 4) >> 16),
			 (uint8_t)((len + 4) >> 8), (uint8_t)(len + 4) };

	put(d, h, sizeof(h));
	put(d, body, len);
}

/* Parse: statement name, text, Int16 0 parameter types */
static void
parse(const char *name, const char *text)
{
	uint8_t body[128];
	size_t n = strlen(name) + 1, t = strlen(text) + 1;

	memcpy(body, name, n);
	memcpy(body + n, text, t);
	memset(body + n + t, 0, 2);
	msg(FE, 'P', body, n + t + 2);
}

/* Bind of portal "" to the statement, no parameters; Execute of it, at most rows */
static void
bind_execute(const char *name, uint8_t rows)
{
	uint8_t body[32];
	size_t n = strlen(name) + 1;

	body[0] = 0;
	memcpy(body + 1, name, n);
	memset(body + 1 + n, 0, 6);	/* Int16 formats, Int16 parameters, Int16 result formats */
	msg(FE, 'B', body, 1 + n + 6);
	memset(body, 0, 5);		/* portal "", Int32 rows */
	body[4] = rows;
	msg(FE, 'E', body, 5);
}

/* Client statements: see the header for the bits of each byte. */
static void
statements(const uint8_t *b, size_t len)
{
	static const char *const texts[4] = {
		"DELETE FROM orders WHERE id = ",
		"drop table t",
		"SELECT ",
		"truncate audit_",
	};
	char text[64], name[8];
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned int k = b[i] >> 6;
		uint8_t rows = (b[i] & 0x20) ? 1 : 0;

		snprintf(text, sizeof(text), "%s%u", texts[b[i] & 3], k);
		snprintf(name, sizeof(name), "s%u", k);
		switch ((b[i] >> 2) & 3) {
		case 0:
			msg(FE, 'Q', text, strlen(text) + 1);
			continue;	/* a Query needs no Sync */
		case 1:
			parse("", text);
			bind_execute("", rows);
			break;
		case 2:
			parse(name, text);
			break;
		default:
			bind_execute(name, rows);
			break;
		}
		if (!(b[i] & 0x10))
			msg(FE, 'S', NULL, 0);
	}
}

/* Server replies: see the header. */
static void
replies(const uint8_t *b, size_t len)
{
	static const char err34[] = "SERROR\0VERROR\0C34000\0Mportal \"tollgate.denied\" does not exist\0";
	static const char err42[] = "SERROR\0VERROR\0C42601\0Msyntax error at or near \"x\"\0";
	/* RowDescription: one text column "n" */
	static const uint8_t rowdesc[] = { 0, 1, 'n', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25,
					   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0 };
	static const uint8_t row[] = { 0, 1, 0, 0, 0, 1, '1' };
	size_t i;

	for (i = 0; i < len; i++) {
		switch (b[i] % 12) {
		case 0:
			msg(BE, 'Z', "I", 1);
			break;
		case 1:
			msg(BE, 'Z', "T", 1);
			break;
		case 2:
			msg(BE, 'Z', "E", 1);
			break;
		case 3:
			msg(BE, 'C', "DELETE 1", 9);
			break;
		case 4:
			msg(BE, 'E', err34, sizeof(err34));
			break;
		case 5:
			msg(BE, 'E', err42, sizeof(err42));
			break;
		case 6:
			msg(BE, '1', NULL, 0);
			break;
		case 7:
			msg(BE, '2', NULL, 0);
			break;
		case 8:
			msg(BE, 'n', NULL, 0);
			break;
		case 9:
			msg(BE, 's', NULL, 0);
			break;
		case 10:
			msg(BE, 'I', NULL, 0);
			break;
		default:
			msg(BE, 'T', rowdesc, sizeof(rowdesc));
			msg(BE, 'D', row, sizeof(row));
			msg(BE, 'C', "SELECT 1", 9);
			break;
		}
	}
}

/* ---------------------------------------------------------------------
 * The invariants after every record
 * ------------------------------------------------------------------- */

/*
 * Forgets the holds all of whose checks are done: their place has left,
 * so no byte of theirs comes again, and what stands for them has reached
 * the server. Between records only (decide() and sweep() keep pointers).
 */
static void
retire(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < nb_parked; i++) {
		struct parked *p = &parked[i];
		bool done = p != waiting && st[FE].released >= p->end &&
			    (p->outcome == WAITING ? failed
						   : p->injected && (p->outcome != APPROVED || p->seen));

		if (done)
			continue;
		if (p == waiting)
			waiting = &parked[n];
		parked[n++] = *p;
	}
	nb_parked = n;
}

static void
check_step(void)
{
	int d;

	CHECK(in.nb_held == (waiting != NULL ? 1u : 0u));
	if (waiting != NULL)
		CHECK(st[FE].released <= waiting->end);
	if (!failed && tg_inspect_failed(&in, st)) {
		failed = true;
		for (d = 0; d < 2; d++)
			frozen[d] = st[d].inspected;
	}
	for (d = 0; d < 2; d++) {
		CHECK(st[d].released <= st[d].inspected);
		if (failed)
			CHECK(st[d].inspected == frozen[d]);
	}
	retire();
}

static int
init(void)
{
	char err[256];

	memset(&svcs, 0, sizeof(svcs));
	snprintf(svcs.svc[0].name, sizeof(svcs.svc[0].name), "pg");
	svcs.svc[0].proto = TG_SERVICE_POSTGRES;
	svcs.nb = 1;
	if (tg_policy_parse(policy_json, strlen(policy_json), "fuzz", &svcs, &policy, err,
			    sizeof(err)) != 0 ||
	    tg_policy_compile(policy, "fuzz", err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		return -1;
	}
	if (tg_stream_mem_init(&mem, NB_RINGS, RING, NB_HELD) != 0 ||
	    tg_inspect_init(&in, &mem, policy, 2, NULL, NULL) != 0)
		return -1;
	in.svcs = &svcs;
	in.editor = true;
	in.hold = on_hold;
	return 0;
}

static void
start(uint8_t mode)
{
	struct tg_inspect_info info;
	int d;

	fail_hold = mode & 2;
	piece = piece_sizes[(mode >> 2) & 7];
	reverse = mode & 0x20;
	failed = false;
	nb_parked = 0;
	waiting = NULL;
	cancels = 0;
	last_number = 1;
	for (d = 0; d < 2; d++) {
		tg_stream_init(&st[d], isn1[d]);
		tg_stream_init(&other[d], isn1[d] + 7);
		appended[d] = sent[d] = 0;
		rcv[d] = 0;
		memset(rhave[d], 0, rtop[d]);
		rtop[d] = 0;
		CHECK(tg_stream_ack(&mem, &st[d], isn1[d], RING) == 0);
	}
	CHECK(tg_inspect_open(&in, st, 0, "198.18.0.1:5000") == 0);
	CHECK(tg_inspect_info(&in, st, 0, &info));
	id = info.id;
	/* an idle session: a decision for it finds no hold */
	CHECK(tg_inspect_open(&in, other, 0, "198.18.0.2:5000") == 0);
	CHECK(tg_inspect_info(&in, other, 0, &info));
	other_id = info.id;
	if (mode & 1) {
		put(FE, login_fe, sizeof(login_fe) - 1);
		put(BE, login_be, sizeof(login_be) - 1);
	}
}

static void
finish(void)
{
	unsigned int i;
	int d;

	/* an approved statement whose place has left reached the server */
	for (i = 0; i < nb_parked; i++)
		if (parked[i].outcome == APPROVED && !parked[i].seen && st[FE].released >= parked[i].end &&
		    parked[i].tinj + parked[i].len <= TMAX)
			check_kept(parked[i].end, 0, parked[i].tinj + parked[i].len);
	tg_inspect_end(&in, st, failed ? TG_INSPECT_END_FAILED : TG_INSPECT_END_CLOSED);
	/* one that waited was cancelled */
	CHECK(waiting == NULL);
	tg_inspect_end(&in, other, TG_INSPECT_END_CLOSED);
	CHECK(in.nb_held == 0);
	CHECK(in.nb_editing == 0);
	for (d = 0; d < 2; d++) {
		void *pkts[16];
		unsigned int n, k;

		do {
			n = tg_stream_drop_all(&mem, &st[d], pkts, ARRAY_SIZE(pkts));
			for (k = 0; k < n; k++)
				give_back(pkts[k]);
		} while (n == ARRAY_SIZE(pkts));
	}
	CHECK(live == 0);
	CHECK(mem.nb_ring_free == NB_RINGS);
	CHECK(mem.nb_held_free == NB_HELD);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	size_t i = 1, len;
	uint8_t ctl;
	int d;

	if (!ready) {
		CHECK(init() == 0);
		ready = true;
	}
	if (size < 1)
		return 0;
	start(data[0]);
	for (d = 0; d < 2; d++)
		pump(d);
	check_step();
	while (fuzz_record(data, size, &i, 31, &ctl, &len)) {
		switch (ctl >> 5) {
		case 0:
			put(FE, data + i, len);
			break;
		case 1:
			put(BE, data + i, len);
			break;
		case 2:
			statements(data + i, len);
			break;
		case 3:
			replies(data + i, len);
			break;
		case 4:
			decide(data + i, len);
			break;
		case 5:
			sweep(true);
			break;
		case 6:
			if (len > 0 && (data[i] & 1))
				fail_hold = !fail_hold;
			sweep(false);
			break;
		default:
			i = size;
			continue;
		}
		i += len;
		for (d = 0; d < 2; d++)
			pump(d);
		check_step();
	}
	finish();
	return 0;
}
