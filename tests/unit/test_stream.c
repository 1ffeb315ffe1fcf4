/* SPDX-License-Identifier: MIT */
/*
 * test_stream.c — unit tests of the inline reassembly engine (stream.c).
 *
 * The one property every case checks: the receiver assembles exactly the
 * bytes the consumer was given (first seen wins, after the consumer's
 * edits), in order, with no gap and no extra byte; the consumer is given
 * each byte once, in order; and every packet that reaches the receiver has
 * a valid TCP checksum.
 *
 * The harness:
 * - a packet is one heap block holding a 20-byte TCP header and the
 *   payload, nothing after it, so ASan reports any read past the payload;
 *   its checksum is computed over a fixed IPv4 pseudo-header
 *   (192.0.2.1 > 198.51.100.2, proto 6) with csum.h (tpkt.h);
 * - the wire: after tg_stream_segment(), FORWARD sends the packet to the
 *   receiver now, HOLD leaves it with the engine until tg_stream_release()
 *   hands it back (then it goes to the receiver), DROP and EXCEPTION free it;
 * - the receiver reads seq and flags from the header like a TCP stack,
 *   checks the checksum, keeps the first copy of each byte (like Linux),
 *   stops at a FIN that becomes in order, and can ACK what it has;
 *   every byte it gets at or past the engine's base must already have
 *   been inspected and must equal the consumer's byte;
 * - the consumer records what it is given; it passes everything, parses
 *   length-prefixed messages and passes only whole ones ("need more"),
 *   holds everything until the test calls tg_stream_set_inspected(), or
 *   masks bytes in place;
 * - a reference model of "first seen": whenever the engine takes a
 *   segment (HOLD), the bytes it had not seen yet are what the consumer
 *   must get.
 *
 * Everything is deterministic: the only pseudo-random numbers come from a
 * fixed-seed xorshift.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csum.h"
#include "stream.h"

#include "tpkt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Longest stream a case may send (offsets from 0). */
#define MAXLEN 8192

#define CNT(h, c) ((h)->m->cnt[TG_STREAM_CNT_##c])

/* xorshift32 (Marsaglia 2003): fixed seed, same sequence on every run. */
static uint32_t
xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static uint32_t
rnd(uint32_t *s, uint32_t n)
{
	return n ? xorshift32(s) % n : 0;
}

/* ---------------------------------------------------------------------
 * Packets
 * ------------------------------------------------------------------- */

/* A segment as tpkt.h writes it. */
struct tpkt {
	struct tpkt_link link;	/* every live packet, for the teardown; first */
	uint16_t plen;
	uint8_t buf[];	/* TCP header, then plen payload bytes, nothing after */
};

/*
 * Live packets and harnesses, so that a failed case (cmocka leaves it by
 * longjmp) frees them in its teardown and LeakSanitizer stays quiet.
 */
static struct tpkt_link *live_pkts;
struct harness;
static struct harness *live_h[4];
static struct tg_stream_mem *live_mem;	/* a pool shared by two harnesses */

static bool
csum_ok(const struct tpkt *p)
{
	return tpkt_csum_ok(p->buf, p->plen);
}

/* tpkt.h's segment of seq, flags PSH|ACK (|FIN), the checksum right for the payload. */
static struct tpkt *
pkt_new(uint32_t seq, const uint8_t *data, uint16_t len, bool fin, unsigned int *live)
{
	struct tpkt *p = malloc(sizeof(*p) + TCP_HLEN + len);

	assert_non_null(p);
	tpkt_live_add(&live_pkts, &p->link);
	p->plen = len;
	tpkt_write(p->buf, seq, TH_PSH | TH_ACK | (fin ? TH_FIN : 0), data, len);
	assert_true(csum_ok(p));
	(*live)++;
	return p;
}

static void
pkt_free(struct tpkt *p, unsigned int *live)
{
	assert_true(*live > 0);
	(*live)--;
	tpkt_live_del(&live_pkts, &p->link);
	free(p);
}

/* ---------------------------------------------------------------------
 * Harness: engine, consumer, receiver
 * ------------------------------------------------------------------- */

enum cmode {
	C_ALL,	/* everything is inspected at once */
	C_MSG,	/* whole length-prefixed messages only: 1 length byte, then that many */
	C_HOLD,	/* nothing, until the test calls tg_stream_set_inspected() */
	C_MASK,	/* everything, after replacing mask_from by mask_to in place */
	C_NONE,	/* no consumer: tg_stream_segment() gets NULL */
};

struct harness {
	struct tg_stream_mem own;
	struct tg_stream_mem *m;
	struct tg_stream s;
	struct tg_stream_consumer c;
	uint32_t isn1;
	uint64_t window;
	bool auto_release;	/* release after every segment */
	bool auto_ack;		/* the receiver ACKs every packet it gets */
	unsigned int live;	/* packets allocated and not yet freed */

	/* consumer */
	enum cmode mode;
	uint8_t mask_from, mask_to;
	uint32_t msg_len_mod;	/* C_MSG: message length = length byte % this (0: no mod) */
	uint64_t msg_pos;	/* C_MSG: end of the last whole message */
	uint64_t nseen;
	uint64_t calls;
	uint8_t seen[MAXLEN];

	/* reference: the first-seen bytes, from the verdicts */
	bool ref_have[MAXLEN];
	uint8_t ref[MAXLEN];

	/* receiver */
	bool have[MAXLEN];
	uint8_t rcv[MAXLEN];
	uint64_t rcv_nxt;
	uint64_t rcv_fin;	/* a FIN waiting to become in order, or UINT64_MAX */
	bool closed;		/* the FIN was taken at rcv_nxt */
	uint64_t rcv_pkts;
	uint64_t last_ack;
	int ack_rc;		/* what tg_stream_ack() said to the last auto ACK */
};

static uint64_t
consumer_data(void *ctx, struct tg_stream *s, uint8_t *bytes, uint64_t off, uint32_t len)
{
	struct harness *h = ctx;
	uint32_t i;

	/* each byte once, in order, and only bytes that are in order */
	assert_int_equal(off, h->nseen);
	assert_true(len > 0);
	assert_true(off + len <= s->contiguous);
	assert_true(off + len <= MAXLEN);
	h->calls++;
	if (h->mode == C_MASK)
		for (i = 0; i < len; i++)
			if (bytes[i] == h->mask_from)
				bytes[i] = h->mask_to;
	memcpy(h->seen + off, bytes, len);
	h->nseen += len;

	switch (h->mode) {
	case C_MSG:
		for (;;) {
			uint64_t l;

			if (h->msg_pos >= h->nseen)
				break;
			l = h->seen[h->msg_pos];
			if (h->msg_len_mod)
				l %= h->msg_len_mod;
			if (h->msg_pos + 1 + l > h->nseen)
				break;
			h->msg_pos += 1 + l;
		}
		return h->msg_pos;
	case C_HOLD:
		return 0;	/* clamped up to s->inspected */
	default:
		return off + len;
	}
}

static void
receive(struct harness *h, struct tpkt *p);

static void
h_ack(struct harness *h)
{
	uint64_t a = h->rcv_nxt + (h->closed ? 1 : 0);

	h->ack_rc = tg_stream_ack(h->m, &h->s, h->isn1 + (uint32_t)a, h->window);
	if (h->ack_rc == 0)
		h->last_ack = a;
}

/* Pops every held packet that may leave, max at a time, to the receiver. */
static unsigned int
h_release_max(struct harness *h, unsigned int max)
{
	void *pkts[8];
	unsigned int n, i, total = 0;

	assert_true(max >= 1 && max <= ARRAY_SIZE(pkts));
	do {
		n = tg_stream_release(h->m, &h->s, pkts, max);
		assert_true(n <= max);
		for (i = 0; i < n; i++)
			receive(h, pkts[i]);
		total += n;
	} while (n == max);
	return total;
}

static unsigned int
h_release(struct harness *h)
{
	return h_release_max(h, 4);
}

/* A ring in the pool has a clear bitmap: the next direction starts from nothing. */
static void
check_free_rings(const struct tg_stream_mem *m)
{
	uint32_t i, k;

	for (i = 0; i < m->nb_ring_free; i++) {
		const uint8_t *bm = m->rings + (size_t)m->ring_free[i] * m->ring_stride +
				    m->ring_size;

		for (k = 0; k < m->ring_size / 8; k++)
			assert_int_equal(bm[k], 0);
	}
}

/*
 * The engine's own invariants (stream.h): the marks, the held list in
 * release order and of the right length, the presence bitmap against the
 * reference model, and the pools.
 */
static void
h_check_inv(struct harness *h)
{
	const struct tg_stream *s = &h->s;
	uint32_t idx, n = 0, prev = TG_STREAM_NONE;

	assert_true(s->base <= s->released);
	assert_true(s->released <= s->inspected);
	assert_true(s->inspected <= s->contiguous);
	assert_true(s->nb_held <= 2 * TG_STREAM_HELD_MAX);
	if (s->ooo_end > s->contiguous)
		assert_true(s->ooo_end <= s->base + h->m->ring_size);
	/*
	 * The presence bitmap after the ring: a bit is set exactly for the
	 * bytes stored past the in-order edge, every other bit is clear.
	 */
	if (s->ring != TG_STREAM_NONE) {
		const uint8_t *bm = h->m->rings + (size_t)s->ring * h->m->ring_stride +
				    h->m->ring_size;
		uint32_t mask = h->m->ring_size - 1;
		uint64_t o;

		for (o = s->contiguous; o < s->contiguous + h->m->ring_size; o++) {
			bool bit = bm[(o & mask) >> 3] >> (o & 7) & 1;
			bool want = o < s->ooo_end && o < MAXLEN && h->ref_have[o];

			assert_int_equal(bit, want);
		}
	}
	check_free_rings(h->m);
	for (idx = s->held_head; idx != TG_STREAM_NONE; idx = h->m->held[idx].next) {
		assert_true(idx < h->m->nb_held);
		/* held data lives in the ring; a held pure FIN needs none */
		if (h->m->held[idx].len)
			assert_int_not_equal(s->ring, TG_STREAM_NONE);
		if (prev != TG_STREAM_NONE)
			assert_true(h->m->held[prev].off <= h->m->held[idx].off);
		prev = idx;
		n++;
		assert_true(n <= s->nb_held);
	}
	assert_int_equal(n, s->nb_held);
	assert_int_equal(prev, s->held_tail);
	if (s->ooo_end > s->contiguous || s->base != s->contiguous)
		assert_int_not_equal(s->ring, TG_STREAM_NONE);
	if (h->m == &h->own) {
		assert_int_equal(h->m->nb_held_free + s->nb_held, h->m->nb_held);
		assert_int_equal(h->m->nb_ring_free + (s->ring != TG_STREAM_NONE), h->m->nb_rings);
	}
}

static void
receive(struct harness *h, struct tpkt *p)
{
	const uint8_t *th = p->buf;
	uint32_t seq = tg_rd32(th + 4);
	bool fin = th[13] & TH_FIN;
	uint64_t off, o, fend;
	uint16_t i;

	/* every packet on the wire, rewritten or not, has a right checksum */
	assert_true(csum_ok(p));
	h->rcv_pkts++;
	/* unwrap like a TCP stack: relative to what it expects next */
	off = h->rcv_nxt + (uint64_t)(int64_t)(int32_t)(seq - (h->isn1 + (uint32_t)h->rcv_nxt));
	for (i = 0; i < p->plen; i++) {
		o = off + i;
		if (o < h->s.base)
			continue;	/* ACKed already: stream.h, Caveats */
		/* never a byte the consumer has not inspected, never one it did not see */
		assert_true(o < h->s.inspected);
		assert_true(o < h->nseen);
		assert_int_equal(th[TCP_HLEN + i], h->seen[o]);
		if (!h->closed && !h->have[o]) {
			h->have[o] = true;
			h->rcv[o] = th[TCP_HLEN + i];
		}
	}
	if (fin) {
		fend = off + p->plen;
		if (!h->closed && h->rcv_fin == UINT64_MAX && fend >= h->rcv_nxt)
			h->rcv_fin = fend;
	}
	while (!h->closed && h->rcv_nxt < MAXLEN && h->have[h->rcv_nxt] &&
	       h->rcv_nxt != h->rcv_fin)
		h->rcv_nxt++;
	if (h->rcv_fin != UINT64_MAX && !h->closed) {
		if (h->rcv_nxt == h->rcv_fin)
			h->closed = true;
		else if (h->rcv_nxt > h->rcv_fin)
			h->rcv_fin = UINT64_MAX;	/* an old FIN: Linux drops it */
	}
	pkt_free(p, &h->live);
	if (h->auto_ack)
		h_ack(h);
}

static struct harness *
h_new_mem(struct tg_stream_mem *shared, uint32_t nb_rings, uint32_t ring_size, uint32_t nb_held,
	  uint32_t isn1, uint64_t window, enum cmode mode)
{
	struct harness *h = calloc(1, sizeof(*h));
	unsigned int i;

	assert_non_null(h);
	for (i = 0; i < ARRAY_SIZE(live_h) && live_h[i]; i++)
		;
	assert_true(i < ARRAY_SIZE(live_h));
	live_h[i] = h;
	if (shared) {
		h->m = shared;
	} else {
		assert_int_equal(tg_stream_mem_init(&h->own, nb_rings, ring_size, nb_held), 0);
		h->m = &h->own;
	}
	tg_stream_init(&h->s, isn1);
	h->isn1 = isn1;
	h->window = window;
	h->mode = mode;
	h->c.data = consumer_data;
	h->c.ctx = h;
	h->auto_release = true;
	h->rcv_fin = UINT64_MAX;
	/* the SYN-ACK: ACK of the SYN, the receiver's first window */
	assert_int_equal(tg_stream_ack(h->m, &h->s, isn1, window), 0);
	assert_int_equal(h->s.wnd_end, window);
	return h;
}

static struct harness *
h_new(uint32_t ring_size, uint32_t isn1, uint64_t window, enum cmode mode)
{
	return h_new_mem(NULL, 4, ring_size, 512, isn1, window, mode);
}

/*
 * Sends [off, off + len) of data (the stream bytes from offset off) with
 * sequence number isn1 + off, through the engine onto the wire.
 */
static enum tg_stream_verdict
h_seg(struct harness *h, uint64_t off, const uint8_t *data, uint16_t len, bool fin)
{
	struct tpkt *p = pkt_new(h->isn1 + (uint32_t)off, data, len, fin, &h->live);
	struct tg_stream_seg seg = {
		.pkt = p,
		.payload = p->buf + TCP_HLEN,
		.csum = p->buf + 16,
		.seq = h->isn1 + (uint32_t)off,
		.len = len,
		.fin = fin,
	};
	bool fresh[4096];
	enum tg_stream_verdict v;
	uint16_t i;

	/* which bytes are new to the engine: the reference model, before the call */
	assert_true(len <= ARRAY_SIZE(fresh));
	for (i = 0; i < len; i++)
		fresh[i] = off + i < MAXLEN && !h->ref_have[off + i];
	v = tg_stream_segment(h->m, &h->s, &seg, h->mode == C_NONE ? NULL : &h->c);
	if (h->mode == C_NONE)
		h->nseen = h->s.contiguous;	/* no consumer: the reference is the truth */
	switch (v) {
	case TG_STREAM_HOLD:
		for (i = 0; i < len; i++)
			if (fresh[i]) {
				h->ref_have[off + i] = true;
				h->ref[off + i] = data[i];
				if (h->mode == C_NONE)
					h->seen[off + i] = data[i];
			}
		break;
	case TG_STREAM_FORWARD:
		receive(h, p);
		break;
	case TG_STREAM_DROP:
	case TG_STREAM_EXCEPTION:
		pkt_free(p, &h->live);
		break;
	default:
		fail_msg("verdict %d", v);
	}
	if (h->auto_release)
		h_release(h);
	h_check_inv(h);
	return v;
}

static enum tg_stream_verdict
h_fin(struct harness *h, uint64_t off)
{
	return h_seg(h, off, NULL, 0, true);
}

/*
 * The end of a case: the consumer passes everything it has, the engine
 * releases it, and the receiver must hold exactly the consumer's bytes
 * (no gap, no extra), which must be the first-seen bytes after the
 * consumer's edits.
 */
static void
h_check_final(struct harness *h)
{
	uint64_t o;

	tg_stream_set_inspected(&h->s, h->s.contiguous);
	h_release(h);
	h_check_inv(h);
	assert_int_equal(h->nseen, h->s.contiguous);
	assert_int_equal(h->rcv_nxt, h->nseen);
	assert_memory_equal(h->rcv, h->seen, h->nseen);
	for (o = 0; o < h->nseen; o++) {
		uint8_t r = h->ref[o];

		assert_true(h->ref_have[o]);
		if (h->mode == C_MASK && r == h->mask_from)
			r = h->mask_to;
		assert_int_equal(h->seen[o], r);
	}
	/* nothing past the in-order data reached the receiver */
	for (o = h->nseen; o < MAXLEN; o++)
		assert_false(h->have[o]);
}

/* Ends the case: hands back every held packet and checks the pools are whole. */
static void
h_free(struct harness *h)
{
	void *pkts[16];
	unsigned int n, i;

	do {
		n = tg_stream_drop_all(h->m, &h->s, pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++)
			pkt_free(pkts[i], &h->live);
	} while (n);
	assert_int_equal(h->s.nb_held, 0);
	assert_false(tg_stream_busy(&h->s));
	assert_int_equal(h->s.ring, TG_STREAM_NONE);
	check_free_rings(h->m);
	assert_int_equal(h->live, 0);
	if (h->m == &h->own) {
		assert_int_equal(h->m->nb_held_free, h->m->nb_held);
		assert_int_equal(h->m->nb_ring_free, h->m->nb_rings);
		tg_stream_mem_free(&h->own);
	}
	for (i = 0; i < ARRAY_SIZE(live_h); i++)
		if (live_h[i] == h)
			live_h[i] = NULL;
	free(h);
}

/* After every case, pass or fail: whatever it left behind. */
static int
teardown(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(live_h); i++) {
		if (live_h[i] == NULL)
			continue;
		if (live_h[i]->m == &live_h[i]->own)
			tg_stream_mem_free(&live_h[i]->own);
		free(live_h[i]);
		live_h[i] = NULL;
	}
	if (live_mem) {
		tg_stream_mem_free(live_mem);
		live_mem = NULL;
	}
	while (live_pkts) {
		struct tpkt *p = (struct tpkt *)live_pkts;	/* the link is first */

		live_pkts = p->link.next;
		free(p);
	}
	return 0;
}

/* Stream byte i of the test message: printable and position-dependent. */
static uint8_t
truth(uint64_t i)
{
	return (uint8_t)('a' + (i * 7 + i / 26) % 26);
}

static void
fill_truth(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = truth(i);
}

/* ---------------------------------------------------------------------
 * Order
 * ------------------------------------------------------------------- */

static void
test_in_order(void **state)
{
	uint8_t msg[100];
	struct harness *h = h_new(256, 1000, 256, C_ALL);

	(void)state;
	fill_truth(msg, sizeof(msg));
	assert_int_equal(h_seg(h, 0, msg, 30, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_nxt, 30);	/* released at once: inspected on arrival */
	assert_int_equal(h_seg(h, 30, msg + 30, 40, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 70, msg + 70, 30, true), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_nxt, 100);
	assert_true(h->closed);
	assert_int_equal(CNT(h, SEGS), 3);
	assert_int_equal(CNT(h, BYTES), 100);
	assert_int_equal(CNT(h, HELD), 3);
	assert_int_equal(CNT(h, RELEASED), 3);
	assert_int_equal(CNT(h, REWRITTEN), 0);
	assert_int_equal(CNT(h, OOO), 0);
	assert_int_equal(h->calls, 3);
	h_check_final(h);
	/* the receiver ACKs everything and the FIN: the ring goes back */
	h_ack(h);
	assert_int_equal(h->ack_rc, 0);
	assert_int_equal(h->s.ring, TG_STREAM_NONE);
	h_free(h);
}

static void
test_no_consumer(void **state)
{
	uint8_t msg[64];
	struct harness *h = h_new(256, 7, 256, C_NONE);

	(void)state;
	fill_truth(msg, sizeof(msg));
	assert_int_equal(h_seg(h, 32, msg + 32, 32, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_pkts, 0);
	assert_int_equal(h_seg(h, 0, msg, 32, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.inspected, 64);
	assert_int_equal(h->rcv_nxt, 64);
	h_check_final(h);
	h_free(h);
}

static void
test_out_of_order(void **state)
{
	uint8_t msg[40];
	struct harness *h = h_new(256, 1, 256, C_ALL);

	(void)state;
	fill_truth(msg, sizeof(msg));
	assert_int_equal(h_seg(h, 30, msg + 30, 10, true), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 10, msg + 10, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.ooo_end, 40);
	assert_true(tg_stream_busy(&h->s));
	assert_int_equal(h->nseen, 0);
	assert_int_equal(h->rcv_pkts, 0);
	assert_int_equal(h_seg(h, 0, msg, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->nseen, 20);
	assert_int_equal(h->rcv_nxt, 20);
	assert_int_equal(h->s.contiguous, 20);
	assert_int_equal(h_seg(h, 20, msg + 20, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.contiguous, 40);
	assert_false(tg_stream_busy(&h->s));
	assert_int_equal(h->rcv_nxt, 40);
	assert_true(h->closed);
	assert_int_equal(CNT(h, OOO), 2);
	h_check_final(h);
	h_free(h);
}

/* Next permutation in lexicographic order; false after the last. */
static bool
next_perm(unsigned int *a, unsigned int n)
{
	unsigned int i, j, t;

	if (n < 2)
		return false;
	i = n - 1;
	while (i > 0 && a[i - 1] >= a[i])
		i--;
	if (i == 0)
		return false;
	j = n - 1;
	while (a[j] <= a[i - 1])
		j--;
	t = a[i - 1];
	a[i - 1] = a[j];
	a[j] = t;
	for (j = n - 1; i < j; i++, j--) {
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
	return true;
}

struct perm_seg {
	uint16_t off, len;
	bool fin;
};

/*
 * Sends the segments of sg in every order; segment k carries its own
 * version of the bytes (truth ^ k where versions differ), so where they
 * overlap the first one sent must win.
 */
static void
run_perms(const struct perm_seg *sg, unsigned int n, enum cmode mode, unsigned int *count)
{
	unsigned int order[8], i, k;
	uint8_t ver[8][64];

	assert_true(n <= ARRAY_SIZE(order));
	for (k = 0; k < n; k++) {
		order[k] = k;
		for (i = 0; i < 64; i++)
			ver[k][i] = (uint8_t)(truth(i) ^ (k << 5));
	}
	do {
		struct harness *h = h_new(128, 0x12345678, 128, mode);
		uint64_t total = 0;

		h->msg_len_mod = 8;
		for (k = 0; k < n; k++) {
			const struct perm_seg *p = &sg[order[k]];

			assert_int_equal(h_seg(h, p->off, ver[order[k]] + p->off, p->len, p->fin),
					 TG_STREAM_HOLD);
			if (p->off + p->len > total)
				total = p->off + p->len;
		}
		h_check_final(h);
		assert_int_equal(h->nseen, total);
		assert_true(h->closed);
		h_free(h);
		(*count)++;
	} while (next_perm(order, n));
}

static void
test_permutations(void **state)
{
	/* four abutting segments, FIN on the last */
	static const struct perm_seg abut[] = {
		{ 0, 10, false }, { 10, 10, false }, { 20, 10, false }, { 30, 10, true },
	};
	/* four segments overlapping their neighbours by 3 to 5 bytes, odd offsets */
	static const struct perm_seg ovl[] = {
		{ 0, 12, false }, { 8, 15, false }, { 19, 12, false }, { 27, 13, true },
	};
	unsigned int count = 0;

	(void)state;
	run_perms(abut, 4, C_ALL, &count);
	assert_int_equal(count, 24);
	run_perms(abut, 4, C_MSG, &count);
	run_perms(ovl, 4, C_ALL, &count);
	run_perms(ovl, 4, C_MSG, &count);
	run_perms(ovl, 4, C_MASK, &count);
	assert_int_equal(count, 5 * 24);
}

/* ---------------------------------------------------------------------
 * Overlaps with different bytes (Ptacek & Newsham 1998, section 3.3;
 * Novak & Sturges, "Target-Based TCP Stream Reassembly", 2007): an old
 * segment [8, 16) carrying version A, then a new one carrying version B.
 * Whatever the target's own policy, the receiver must get the first-seen
 * bytes, because the engine rewrites the packets.
 * ------------------------------------------------------------------- */

enum old_state {
	OLD_RELEASED,	/* [0, 8) and the old segment were inspected and sent */
	OLD_HELD,	/* the same, but the consumer holds them */
	OLD_OOO,	/* the old segment sits out of order, [0, 8) never came */
};

struct ovl_case {
	const char *name;
	uint16_t off, len;	/* the new segment */
	enum old_state st;
	enum tg_stream_verdict v;	/* for the new segment */
	uint64_t cnt;		/* a counter the new segment must bump */
};

#define OV(n, o, l, s, v, c) { n, o, l, s, TG_STREAM_##v, TG_STREAM_CNT_##c }

static const struct ovl_case ovl_cases[] = {
	/* new starts before the old one and ends inside it */
	OV("before_inside/released", 4, 8, OLD_RELEASED, FORWARD, REWRITTEN),
	OV("before_inside/held", 4, 8, OLD_HELD, DROP, DROP_DUP_HELD),
	OV("before_inside/ooo", 4, 8, OLD_OOO, HOLD, OOO),
	/* new starts before and ends with it */
	OV("before_same/released", 4, 12, OLD_RELEASED, FORWARD, REWRITTEN),
	OV("before_same/held", 4, 12, OLD_HELD, DROP, DROP_DUP_HELD),
	OV("before_same/ooo", 4, 12, OLD_OOO, HOLD, OOO),
	/* new contains the old one */
	OV("contains/released", 4, 16, OLD_RELEASED, HOLD, HELD),
	OV("contains/held", 4, 16, OLD_HELD, HOLD, HELD),
	OV("contains/ooo", 4, 16, OLD_OOO, HOLD, OOO),
	/* same start, ends inside */
	OV("same_inside/released", 8, 4, OLD_RELEASED, FORWARD, REWRITTEN),
	OV("same_inside/held", 8, 4, OLD_HELD, DROP, DROP_DUP_HELD),
	OV("same_inside/ooo", 8, 4, OLD_OOO, DROP, DROP_DUP_HELD),
	/* exactly the same range */
	OV("same_same/released", 8, 8, OLD_RELEASED, FORWARD, REWRITTEN),
	OV("same_same/held", 8, 8, OLD_HELD, DROP, DROP_DUP_HELD),
	OV("same_same/ooo", 8, 8, OLD_OOO, DROP, DROP_DUP_HELD),
	/* same start, ends after */
	OV("same_after/released", 8, 12, OLD_RELEASED, HOLD, HELD),
	OV("same_after/held", 8, 12, OLD_HELD, HOLD, HELD),
	OV("same_after/ooo", 8, 12, OLD_OOO, HOLD, OOO),
	/* inside the old one */
	OV("inside_inside/released", 10, 4, OLD_RELEASED, FORWARD, REWRITTEN),
	OV("inside_inside/held", 10, 4, OLD_HELD, DROP, DROP_DUP_HELD),
	OV("inside_inside/ooo", 10, 4, OLD_OOO, DROP, DROP_DUP_HELD),
	/* starts inside, ends with it */
	OV("inside_same/released", 12, 4, OLD_RELEASED, FORWARD, REWRITTEN),
	OV("inside_same/held", 12, 4, OLD_HELD, DROP, DROP_DUP_HELD),
	OV("inside_same/ooo", 12, 4, OLD_OOO, DROP, DROP_DUP_HELD),
	/* starts inside, ends after: the classic "overlap the end" */
	OV("inside_after/released", 12, 8, OLD_RELEASED, HOLD, HELD),
	OV("inside_after/held", 12, 8, OLD_HELD, HOLD, HELD),
	OV("inside_after/ooo", 12, 8, OLD_OOO, HOLD, OOO),
	/* odd start and odd length: the checksum words straddle the edge */
	OV("odd_before_inside/released", 5, 7, OLD_RELEASED, FORWARD, REWRITTEN),
	OV("odd_inside_after/released", 9, 10, OLD_RELEASED, HOLD, HELD),
	OV("odd_inside/held", 9, 5, OLD_HELD, DROP, DROP_DUP_HELD),
	OV("odd_inside_after/ooo", 11, 9, OLD_OOO, HOLD, OOO),
	/* abutting, no overlap */
	OV("adjacent_before/ooo", 4, 4, OLD_OOO, HOLD, OOO),
	OV("adjacent_after/released", 16, 4, OLD_RELEASED, HOLD, HELD),
	OV("adjacent_after/ooo", 16, 4, OLD_OOO, HOLD, OOO),
};

static void
test_overlap_table(void **state)
{
	uint8_t t[32], a[32], b[32];
	unsigned int k, i;

	(void)state;
	fill_truth(t, sizeof(t));
	for (i = 0; i < sizeof(t); i++) {
		a[i] = (uint8_t)('A' + i % 26);	/* version A: upper case */
		b[i] = (uint8_t)('0' + i % 10);	/* version B: digits */
	}
	for (k = 0; k < ARRAY_SIZE(ovl_cases); k++) {
		const struct ovl_case *c = &ovl_cases[k];
		struct harness *h = h_new(64, 0xfffffff0, 64,
					  c->st == OLD_HELD ? C_HOLD : C_ALL);
		uint64_t before, rewr;
		enum tg_stream_verdict v;

		print_message("# overlap %s\n", c->name);
		if (c->st != OLD_OOO)
			assert_int_equal(h_seg(h, 0, t, 8, false), TG_STREAM_HOLD);
		assert_int_equal(h_seg(h, 8, a + 8, 8, false), TG_STREAM_HOLD);
		assert_int_equal(h->rcv_nxt, c->st == OLD_RELEASED ? 16 : 0);
		before = h->m->cnt[c->cnt];
		rewr = CNT(h, REWRITTEN);
		v = h_seg(h, c->off, b + c->off, c->len, false);
		assert_int_equal(v, c->v);
		assert_int_equal(h->m->cnt[c->cnt], before + 1);
		if (c->v == TG_STREAM_FORWARD)
			assert_int_equal(CNT(h, REWRITTEN), rewr + 1);
		/* the rest, in truth bytes, then the FIN */
		assert_int_not_equal(h_seg(h, 0, t, 32, false), TG_STREAM_EXCEPTION);
		assert_int_not_equal(h_fin(h, 32), TG_STREAM_DROP);
		h_check_final(h);
		assert_true(h->closed);
		/* the old bytes won over the new ones, the new ones over the truth */
		for (i = 8; i < 16; i++)
			assert_int_equal(h->rcv[i], a[i]);
		for (i = c->off; i < (unsigned int)c->off + c->len; i++)
			if (i < 8 && c->st == OLD_OOO)
				assert_int_equal(h->rcv[i], b[i]);
			else if (i >= 16)
				assert_int_equal(h->rcv[i], b[i]);
		h_free(h);
	}
}

/* ---------------------------------------------------------------------
 * Retransmissions
 * ------------------------------------------------------------------- */

static void
test_retransmit_released(void **state)
{
	/* (offset, length) of retransmits of [0, 40), all parities */
	static const uint16_t rt[][2] = {
		{ 0, 40 }, { 0, 1 }, { 1, 1 }, { 3, 7 }, { 4, 8 }, { 5, 10 }, { 6, 9 },
		{ 39, 1 }, { 38, 2 }, { 11, 29 }, { 2, 37 },
	};
	uint8_t t[40], x[40];
	unsigned int k, i;

	(void)state;
	fill_truth(t, sizeof(t));
	for (k = 0; k < ARRAY_SIZE(rt); k++) {
		struct harness *h = h_new(256, 0x7ffffffe, 256, C_ALL);
		uint64_t pkts;

		assert_int_equal(h_seg(h, 0, t, 40, false), TG_STREAM_HOLD);
		assert_int_equal(h->rcv_nxt, 40);
		/* the same bytes: passed untouched */
		pkts = h->rcv_pkts;
		assert_int_equal(h_seg(h, rt[k][0], t + rt[k][0], rt[k][1], false),
				 TG_STREAM_FORWARD);
		assert_int_equal(h->rcv_pkts, pkts + 1);
		assert_int_equal(CNT(h, PASSED), 1);
		assert_int_equal(CNT(h, RETRANS), 1);
		assert_int_equal(CNT(h, REWRITTEN), 0);
		/* different bytes, every one of them, or just one */
		for (i = 0; i < sizeof(x); i++)
			x[i] = (uint8_t)~t[i];
		assert_int_equal(h_seg(h, rt[k][0], x + rt[k][0], rt[k][1], false),
				 TG_STREAM_FORWARD);
		assert_int_equal(CNT(h, REWRITTEN), 1);
		memcpy(x, t, sizeof(x));
		x[rt[k][0] + rt[k][1] - 1] ^= 0x55;
		assert_int_equal(h_seg(h, rt[k][0], x + rt[k][0], rt[k][1], false),
				 TG_STREAM_FORWARD);
		assert_int_equal(CNT(h, REWRITTEN), 2);
		assert_int_equal(CNT(h, PASSED), 3);
		assert_int_equal(h->rcv_pkts, pkts + 3);
		h_check_final(h);
		assert_memory_equal(h->rcv, t, 40);
		h_free(h);
	}
}

/*
 * A retransmit that starts below the receiver's ACK: only the bytes at or
 * past base are rewritten (stream.h, Caveats); the receiver drops the rest.
 */
static void
test_retransmit_below_base(void **state)
{
	/* (ACK, retransmit offset, length): base - offset odd and even, odd lengths */
	static const uint8_t rt[][3] = {
		{ 10, 4, 16 }, { 11, 4, 16 }, { 11, 4, 15 }, { 11, 10, 2 }, { 13, 0, 40 },
		{ 39, 4, 36 }, { 39, 38, 2 }, { 1, 0, 3 },
	};
	unsigned int k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(rt); k++) {
		uint8_t t[40], x[40];
		struct harness *h = h_new(64, 0xfffffff7, 64, C_ALL);
		struct tpkt *p;
		unsigned int i;

		print_message("# ack %u, retransmit [%u, %u)\n", rt[k][0], rt[k][1],
			      rt[k][1] + rt[k][2]);
		fill_truth(t, sizeof(t));
		for (i = 0; i < sizeof(x); i++)
			x[i] = (uint8_t)(t[i] ^ (0x11 * (i % 7 + 1)));
		assert_int_equal(h_seg(h, 0, t, 40, false), TG_STREAM_HOLD);
		assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffff7 + rt[k][0], 64), 0);
		p = pkt_new(0xfffffff7 + rt[k][1], x + rt[k][1], rt[k][2], false, &h->live);
		{
			struct tg_stream_seg seg = {
				.pkt = p, .payload = p->buf + TCP_HLEN, .csum = p->buf + 16,
				.seq = 0xfffffff7 + rt[k][1], .len = rt[k][2],
			};

			assert_int_equal(tg_stream_segment(h->m, &h->s, &seg, &h->c),
					 TG_STREAM_FORWARD);
		}
		assert_true(csum_ok(p));
		for (i = 0; i < rt[k][2]; i++) {
			unsigned int o = rt[k][1] + i;

			assert_int_equal(p->buf[TCP_HLEN + i], o < rt[k][0] ? x[o] : t[o]);
		}
		receive(h, p);
		h_check_final(h);
		h_free(h);
	}
}

/* The same, step by step, and a retransmit wholly below base. */
static void
test_retransmit_below_base_old(void **state)
{
	uint8_t t[40], x[40];
	struct harness *h = h_new(256, 100, 256, C_ALL);
	struct tpkt *p;
	unsigned int i;
	void *out[1];

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 0, t, 40, false), TG_STREAM_HOLD);
	assert_int_equal(tg_stream_ack(h->m, &h->s, 100 + 10, 256), 0);
	assert_int_equal(h->s.base, 10);
	for (i = 0; i < sizeof(x); i++)
		x[i] = (uint8_t)~t[i];
	/* by hand, to look at the packet the engine sends */
	p = pkt_new(100 + 4, x + 4, 16, false, &h->live);
	{
		struct tg_stream_seg seg = {
			.pkt = p, .payload = p->buf + TCP_HLEN, .csum = p->buf + 16,
			.seq = 100 + 4, .len = 16,
		};

		assert_int_equal(tg_stream_segment(h->m, &h->s, &seg, &h->c), TG_STREAM_FORWARD);
	}
	assert_true(csum_ok(p));
	assert_memory_equal(p->buf + TCP_HLEN, x + 4, 6);	/* below base: as sent */
	assert_memory_equal(p->buf + TCP_HLEN + 6, t + 10, 10);
	assert_int_equal(CNT(h, REWRITTEN), 1);
	receive(h, p);
	/* wholly below base: old, forwarded as it is */
	assert_int_equal(h_seg(h, 2, x + 2, 8, false), TG_STREAM_FORWARD);
	assert_int_equal(CNT(h, OLD), 1);
	assert_int_equal(tg_stream_release(h->m, &h->s, out, 1), 0);
	h_check_final(h);
	h_free(h);
}

static void
test_retransmit_held(void **state)
{
	uint8_t t[64], x[64];
	struct harness *h = h_new(256, 5, 256, C_HOLD);
	unsigned int i;

	(void)state;
	fill_truth(t, sizeof(t));
	for (i = 0; i < sizeof(x); i++)
		x[i] = (uint8_t)(t[i] ^ 0x20);
	assert_int_equal(h_seg(h, 0, t, 20, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 40, t + 40, 20, false), TG_STREAM_HOLD);
	/* in order and held: same bytes, different bytes, a part of it */
	assert_int_equal(h_seg(h, 0, t, 20, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 0, x, 20, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 5, x + 5, 3, false), TG_STREAM_DROP);
	/* out of order and held */
	assert_int_equal(h_seg(h, 40, x + 40, 20, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 45, x + 45, 10, false), TG_STREAM_DROP);
	assert_int_equal(CNT(h, DROP_DUP_HELD), 5);
	assert_int_equal(CNT(h, RETRANS), 5);
	assert_int_equal(h->rcv_pkts, 0);
	/* a retransmit with something new is taken, the old part rewritten on the way out */
	assert_int_equal(h_seg(h, 10, x + 10, 40, false), TG_STREAM_HOLD);
	assert_int_equal(h->nseen, 60);
	tg_stream_set_inspected(&h->s, 60);
	assert_int_equal(h_release(h), 3);
	assert_memory_equal(h->rcv, t, 20);
	assert_memory_equal(h->rcv + 20, x + 20, 20);
	assert_memory_equal(h->rcv + 40, t + 40, 20);
	assert_int_equal(CNT(h, REWRITTEN), 1);
	h_check_final(h);
	h_free(h);
}

/* ---------------------------------------------------------------------
 * Sequence wraparound
 * ------------------------------------------------------------------- */

static void
test_wraparound(void **state)
{
	uint8_t t[600];
	struct harness *h = h_new(1024, 0xffffff00, 1024, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(tg_stream_offset(&h->s, 0xffffff00), 0);
	assert_int_equal(tg_stream_offset(&h->s, 0x00000000), 256);
	assert_int_equal(tg_stream_offset(&h->s, 0xfffffeff), -1);
	/* in order up to the wrap, then across it out of order */
	assert_int_equal(h_seg(h, 0, t, 200, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 300, t + 300, 100, false), TG_STREAM_HOLD);	/* seq 0x2c */
	assert_int_equal(h_seg(h, 250, t + 250, 60, false), TG_STREAM_HOLD);	/* crosses 2^32 */
	assert_int_equal(h->rcv_nxt, 200);
	assert_int_equal(h_seg(h, 190, t + 190, 70, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_nxt, 400);
	/* ACK across the wrap, retransmit across it with other bytes */
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xffffff00 + 260, 1024), 0);
	assert_int_equal(h->s.base, 260);
	{
		uint8_t x[100];

		memset(x, '#', sizeof(x));
		assert_int_equal(h_seg(h, 230, x, 100, false), TG_STREAM_FORWARD);
		assert_int_equal(CNT(h, REWRITTEN), 1);
	}
	assert_int_equal(h_seg(h, 400, t + 400, 200, true), TG_STREAM_HOLD);
	assert_int_equal(tg_stream_offset(&h->s, 0xffffff00 + 600), 600);
	h_check_final(h);
	assert_memory_equal(h->rcv, t, 600);
	assert_true(h->closed);
	h_ack(h);
	assert_int_equal(h->ack_rc, 0);
	assert_int_equal(h->s.ring, TG_STREAM_NONE);
	h_free(h);
}

/* ---------------------------------------------------------------------
 * 1-byte segments, shuffled: any number of holes, each byte taken once
 * ------------------------------------------------------------------- */

static void
test_one_byte_segments(void **state)
{
	enum cmode modes[] = { C_ALL, C_MSG, C_MASK };
	uint32_t rng = 0x1badb002;
	unsigned int mi;

	(void)state;
	for (mi = 0; mi < ARRAY_SIZE(modes); mi++) {
		/* fewer than TG_STREAM_HELD_MAX segments, all out of order at worst */
		uint8_t t[120];
		unsigned int order[120], i, j, rounds = 0;
		struct harness *h = h_new(128, 0xfffffff0 + mi, 128, modes[mi]);

		h->mask_from = 'e';
		h->mask_to = '*';
		h->msg_len_mod = 16;
		fill_truth(t, sizeof(t));
		for (i = 0; i < ARRAY_SIZE(order); i++)
			order[i] = i;
		for (i = ARRAY_SIZE(order) - 1; i > 0; i--) {
			unsigned int tmp;

			j = rnd(&rng, i + 1);
			tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		while (h->nseen < sizeof(t)) {
			for (i = 0; i < ARRAY_SIZE(order); i++)
				if (!h->ref_have[order[i]])
					h_seg(h, order[i], t + order[i], 1, false);
			assert_true(++rounds < 100);
		}
		/* any number of holes: every byte was taken the first time */
		assert_int_equal(rounds, 1);
		assert_int_equal(CNT(h, HELD), sizeof(t));
		assert_int_equal(CNT(h, DROP_HELD_FLOW), 0);
		/* held while a message is incomplete */
		assert_int_not_equal(h_fin(h, sizeof(t)), TG_STREAM_DROP);
		h_check_final(h);
		assert_true(h->closed);
		h_free(h);
	}
}

/* ---------------------------------------------------------------------
 * Window
 * ------------------------------------------------------------------- */

static void
test_window(void **state)
{
	uint8_t t[200];
	struct harness *h = h_new(256, 0x100, 100, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 90, t + 90, 20, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 100, t + 100, 2, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 101, t + 101, 1, false), TG_STREAM_DROP);
	assert_int_equal(CNT(h, DROP_WINDOW), 3);
	assert_int_equal(h_seg(h, 0, t, 100, false), TG_STREAM_HOLD);
	/* the receiver ACKs it all and closes its window */
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0x100 + 100, 0), 0);
	assert_int_equal(h->s.wnd_end, 100);
	/* a 1-byte zero-window probe at the edge is data like any other */
	assert_int_equal(h_seg(h, 100, t + 100, 1, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_nxt, 101);
	assert_int_equal(h_seg(h, 101, t + 101, 1, false), TG_STREAM_DROP);
	assert_int_equal(CNT(h, DROP_WINDOW), 4);
	/* the probe again, with another byte: it was released, so it is rewritten */
	{
		uint8_t z = 'Z';

		assert_int_equal(h_seg(h, 100, &z, 1, false), TG_STREAM_FORWARD);
		assert_int_equal(CNT(h, REWRITTEN), 1);
	}
	/* the receiver took the probe and ACKs it, window still 0 */
	h->window = 0;
	h_ack(h);
	assert_int_equal(h->ack_rc, 0);
	assert_int_equal(h->s.wnd_end, 101);
	/* a pure FIN at the edge of a closed window is in the window */
	assert_int_equal(h_fin(h, 101), TG_STREAM_FORWARD);
	assert_true(h->closed);
	h_check_final(h);
	h_free(h);
}

static void
test_window_opens(void **state)
{
	uint8_t t[200];
	struct harness *h = h_new(256, 0x100, 50, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	h->auto_ack = true;
	assert_int_equal(h_seg(h, 0, t, 50, false), TG_STREAM_HOLD);
	/* the window never shrinks (RFC 9293 3.8.6): an older, smaller one is ignored */
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0x100 + 10, 5), 0);
	assert_int_equal(h->s.wnd_end, 100);
	assert_int_equal(h_seg(h, 50, t + 50, 50, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 100, t + 100, 51, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 100, t + 100, 50, false), TG_STREAM_HOLD);
	h_check_final(h);
	h_free(h);
}

/* ---------------------------------------------------------------------
 * FIN
 * ------------------------------------------------------------------- */

static void
test_fin_pure_in_order(void **state)
{
	uint8_t t[30];
	struct harness *h = h_new(256, 9, 256, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 0, t, 30, false), TG_STREAM_HOLD);
	assert_int_equal(h_fin(h, 30), TG_STREAM_FORWARD);
	assert_true(h->s.fin_released);
	assert_true(h->closed);
	/* its retransmission, and data or a FIN past it */
	assert_int_equal(h_fin(h, 30), TG_STREAM_FORWARD);
	assert_int_equal(h_seg(h, 30, t, 1, false), TG_STREAM_DROP);
	assert_int_equal(h_fin(h, 31), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 20, t + 20, 5, true), TG_STREAM_DROP);
	assert_int_equal(CNT(h, DROP_AFTER_FIN), 3);
	h_ack(h);
	assert_int_equal(h->ack_rc, 0);
	assert_int_equal(h->s.ring, TG_STREAM_NONE);
	h_check_final(h);
	h_free(h);
}

static void
test_fin_before_gap(void **state)
{
	uint8_t t[30];
	struct harness *h;

	(void)state;
	fill_truth(t, sizeof(t));
	/* data with FIN first, the gap later */
	h = h_new(256, 9, 256, C_ALL);
	assert_int_equal(h_seg(h, 20, t + 20, 10, true), TG_STREAM_HOLD);
	assert_int_equal(h->s.fin_off, 30);
	assert_int_equal(h_seg(h, 30, t, 5, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 0, t, 10, false), TG_STREAM_HOLD);
	assert_false(h->closed);
	assert_int_equal(h_seg(h, 10, t + 10, 10, false), TG_STREAM_HOLD);
	assert_true(h->closed);
	assert_true(h->s.fin_released);
	h_check_final(h);
	h_free(h);

	/* a pure FIN first, then the data backwards */
	h = h_new(256, 9, 256, C_ALL);
	assert_int_equal(h_fin(h, 30), TG_STREAM_HOLD);
	assert_int_equal(h_fin(h, 30), TG_STREAM_DROP);	/* already waiting */
	assert_int_equal(CNT(h, DROP_DUP_HELD), 1);
	assert_int_equal(h_seg(h, 20, t + 20, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 10, t + 10, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h_fin(h, 30), TG_STREAM_DROP);	/* still the tail */
	assert_int_equal(CNT(h, DROP_DUP_HELD), 2);
	assert_int_equal(h->rcv_pkts, 0);
	assert_int_equal(h_seg(h, 0, t, 10, false), TG_STREAM_HOLD);
	assert_true(h->closed);
	assert_int_equal(h->rcv_pkts, 4);
	h_check_final(h);
	h_free(h);
}

static void
test_fin_held_by_consumer(void **state)
{
	uint8_t t[30];
	struct harness *h = h_new(256, 9, 256, C_HOLD);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 0, t, 30, false), TG_STREAM_HOLD);
	assert_int_equal(h_fin(h, 30), TG_STREAM_HOLD);
	assert_int_equal(h_fin(h, 30), TG_STREAM_DROP);
	/* the receiver has nothing, so an ACK of the FIN is refused */
	assert_int_equal(tg_stream_ack(h->m, &h->s, 9 + 31, 256), -1);
	assert_int_equal(tg_stream_ack(h->m, &h->s, 9 + 1, 256), -1);
	assert_int_equal(CNT(h, ACK_INVALID), 2);
	tg_stream_set_inspected(&h->s, 29);
	assert_int_equal(h_release(h), 0);
	tg_stream_set_inspected(&h->s, 30);
	assert_int_equal(h_release(h), 2);
	assert_true(h->closed);
	h_ack(h);
	assert_int_equal(h->ack_rc, 0);
	h_check_final(h);
	h_free(h);
}

/*
 * BUG 1. A FIN seen first on a retransmission of data that was already
 * released (a sender collapses its retransmit with the FIN, or the first
 * FIN was lost before the gateway) is forwarded, but fin_released stays
 * false: the receiver's ACK of the FIN is refused as ACK_INVALID, and
 * tcp.c drops the whole packet carrying it.
 */
static void
test_bug_fin_on_released_retransmit(void **state)
{
	uint8_t t[10];
	struct harness *h = h_new(256, 1000, 256, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 0, t, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_nxt, 10);
	/* the retransmit of [0, 10) now carries the FIN */
	assert_int_equal(h_seg(h, 0, t, 10, true), TG_STREAM_FORWARD);
	assert_true(h->closed);
	h_ack(h);	/* ACK 1011 = the FIN */
	assert_int_equal(CNT(h, ACK_INVALID), 0);
	assert_int_equal(h->ack_rc, 0);
	assert_true(h->s.fin_released);
	h_check_final(h);
	h_free(h);
}

/* BUG 1, the same through the OLD path: the data was ACKed before the FIN came. */
static void
test_bug_fin_on_acked_retransmit(void **state)
{
	uint8_t t[10];
	struct harness *h = h_new(256, 1000, 256, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	h->auto_ack = true;
	assert_int_equal(h_seg(h, 0, t, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.base, 10);
	assert_int_equal(h_seg(h, 0, t, 10, true), TG_STREAM_FORWARD);
	assert_true(h->closed);
	assert_int_equal(CNT(h, ACK_INVALID), 0);
	assert_int_equal(h->ack_rc, 0);
	h_check_final(h);
	h_free(h);
}

/*
 * BUG 2. A FIN is taken although out-of-order data past it is stored:
 * when the gap fills, contiguous runs past fin_off and the consumer is
 * given bytes the receiver never takes (it closed at the FIN; Linux
 * resets on data past a FIN).
 */
static void
test_bug_fin_below_stored_data(void **state)
{
	uint8_t t[20];
	struct harness *h = h_new(256, 1, 256, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 8, t + 8, 12, false), TG_STREAM_HOLD);
	/* the FIN ends at 10, below data already stored */
	h_seg(h, 0, t, 10, true);
	h_check_final(h);
	assert_true(h->s.contiguous <= h->s.fin_off);
	h_free(h);
}

/* ---------------------------------------------------------------------
 * Consumer: need more, hold, set_inspected, masking
 * ------------------------------------------------------------------- */

static void
test_consumer_messages(void **state)
{
	/* three length-prefixed messages: 6, 4 and 10 bytes */
	static const uint8_t msgs[20] = {
		5, 'h', 'e', 'l', 'l', 'o',
		3, 'a', 'b', 'c',
		9, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', ';',
	};
	struct harness *h = h_new(256, 77, 256, C_MSG);

	(void)state;
	/* [0, 4): no whole message, held */
	assert_int_equal(h_seg(h, 0, msgs, 4, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.inspected, 0);
	assert_int_equal(h->rcv_pkts, 0);
	/* [4, 8): message 1 ends at 6, so [0, 4) leaves; [4, 8) straddles, stays */
	assert_int_equal(h_seg(h, 4, msgs + 4, 4, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.inspected, 6);
	assert_int_equal(h->rcv_nxt, 4);
	/* [8, 15): message 2 ends at 10 */
	assert_int_equal(h_seg(h, 8, msgs + 8, 7, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.inspected, 10);
	assert_int_equal(h->rcv_nxt, 8);
	assert_int_equal(h->s.nb_held, 1);
	/* [15, 20): message 3 */
	assert_int_equal(h_seg(h, 15, msgs + 15, 5, true), TG_STREAM_HOLD);
	assert_int_equal(h->s.inspected, 20);
	assert_int_equal(h->rcv_nxt, 20);
	assert_true(h->closed);
	assert_int_equal(h->msg_pos, 20);
	h_check_final(h);
	assert_memory_equal(h->rcv, msgs, 20);
	h_free(h);
}

static void
test_consumer_hold_set_inspected(void **state)
{
	uint8_t t[30];
	struct harness *h = h_new(256, 77, 256, C_HOLD);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 0, t, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 20, t + 20, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 10, t + 10, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->nseen, 30);
	assert_int_equal(h->rcv_pkts, 0);
	tg_stream_set_inspected(&h->s, 5);
	assert_int_equal(h_release(h), 0);
	tg_stream_set_inspected(&h->s, 10);
	assert_int_equal(h_release(h), 1);
	assert_int_equal(h->rcv_nxt, 10);
	/* the mark never goes back, and never past contiguous */
	tg_stream_set_inspected(&h->s, 3);
	assert_int_equal(h->s.inspected, 10);
	tg_stream_set_inspected(&h->s, 1000);
	assert_int_equal(h->s.inspected, 30);
	/* one at a time */
	assert_int_equal(h_release_max(h, 1), 2);
	assert_int_equal(h->rcv_nxt, 30);
	assert_int_equal(CNT(h, RELEASED), 3);
	h_check_final(h);
	h_free(h);
}

static void
test_consumer_masking(void **state)
{
	/* 92 bytes, 'u' at 20 and 38 | 54 | 68, 80 and 84 */
	static const char q[] = "SELECT 1 WHERE pw='hunter2' AND pw2='hunter3'; "
				"SELECT user, pw FROM users WHERE u='hunter4';";
	/* the smallest ring: a delivery straddles its end and comes in two calls */
	struct harness *h = h_new(64, 0xffffffe0, 64, C_MASK);
	uint64_t len = sizeof(q) - 1, calls;
	unsigned int i;

	(void)state;
	h->auto_ack = true;
	h->mask_from = 'u';
	h->mask_to = '*';
	assert_int_equal(h_seg(h, 0, (const uint8_t *)q, 40, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.base, 40);
	assert_int_equal(h_seg(h, 56, (const uint8_t *)q + 56, len - 56, false), TG_STREAM_HOLD);
	calls = h->calls;
	assert_int_equal(h_seg(h, 40, (const uint8_t *)q + 40, 16, false), TG_STREAM_HOLD);
	assert_int_equal(h->calls, calls + 2);	/* [40, 64) and [64, len) */
	assert_int_equal(h->rcv_nxt, len);
	assert_int_equal(CNT(h, REWRITTEN), 3);	/* every segment had a 'u' */
	for (i = 0; i < len; i++)
		assert_int_equal(h->rcv[i], q[i] == 'u' ? '*' : q[i]);
	/* ACKed: a retransmit with the original bytes is old, the receiver drops it */
	assert_int_equal(h_seg(h, 80, (const uint8_t *)q + 80, 12, false), TG_STREAM_FORWARD);
	assert_int_equal(CNT(h, OLD), 1);
	h_check_final(h);
	h_free(h);
}

/*
 * patch() compares 32 and 8 bytes at a time and patches whole 8-byte
 * blocks, leaving the odd first word, the last words and blocks across
 * the ring's end to the word-by-word path: masks at every phase of a
 * block, at the first and last byte of segments, at odd offsets and
 * across the ring's end must all arrive, with right checksums (receive()
 * checks each).
 */
static void
test_consumer_masking_blocks(void **state)
{
	static const uint16_t seglen[] = { 1, 2, 7, 8, 9, 31, 32, 33, 63, 64, 65, 101, 128, 47 };
	uint8_t t[900];
	struct harness *h = h_new(128, 0xffffff00, 128, C_MASK);
	uint64_t off = 0;
	unsigned int i, k = 0;

	(void)state;
	h->auto_ack = true;
	h->mask_from = 'u';
	h->mask_to = '*';
	for (i = 0; i < sizeof(t); i++)
		t[i] = (uint8_t)('a' + i % 19);
	/* a 'u' at every 13th byte and at runs of three: every phase of a block */
	for (i = 0; i < sizeof(t); i += 13)
		t[i] = 'u';
	for (i = 40; i + 3 < sizeof(t); i += 97)
		t[i] = t[i + 1] = t[i + 2] = 'u';
	while (off < sizeof(t)) {
		uint16_t n = seglen[k++ % (sizeof(seglen) / sizeof(seglen[0]))];

		if (n > sizeof(t) - off)
			n = (uint16_t)(sizeof(t) - off);
		/* the first and the last byte of every segment masked too */
		t[off] = 'u';
		t[off + n - 1] = 'u';
		assert_int_equal(h_seg(h, off, t + off, n, false), TG_STREAM_HOLD);
		off += n;
	}
	assert_int_equal(h->rcv_nxt, sizeof(t));
	for (i = 0; i < sizeof(t); i++)
		assert_int_equal(h->rcv[i], t[i] == 'u' ? '*' : t[i]);
	h_check_final(h);
	h_free(h);
}

static void
test_consumer_masking_retransmit(void **state)
{
	static const char q[] = "password=hunter2";
	struct harness *h = h_new(64, 3, 64, C_MASK);
	struct tpkt *p;
	unsigned int i;

	(void)state;
	h->mask_from = 'h';
	h->mask_to = 'X';
	assert_int_equal(h_seg(h, 0, (const uint8_t *)q, 16, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv[9], 'X');
	/* the retransmit, by hand: it leaves masked, with a right checksum */
	p = pkt_new(3 + 8, (const uint8_t *)q + 8, 8, false, &h->live);
	{
		struct tg_stream_seg seg = {
			.pkt = p, .payload = p->buf + TCP_HLEN, .csum = p->buf + 16,
			.seq = 3 + 8, .len = 8,
		};

		assert_int_equal(tg_stream_segment(h->m, &h->s, &seg, &h->c), TG_STREAM_FORWARD);
	}
	assert_true(csum_ok(p));
	for (i = 0; i < 8; i++)
		assert_int_equal(p->buf[TCP_HLEN + i], q[8 + i] == 'h' ? 'X' : q[8 + i]);
	assert_int_equal(CNT(h, REWRITTEN), 2);
	receive(h, p);
	h_check_final(h);
	h_free(h);
}

/* ---------------------------------------------------------------------
 * ACK
 * ------------------------------------------------------------------- */

static void
test_ack(void **state)
{
	uint8_t t[100];
	struct harness *h = h_new(64, 0xfffffffa, 64, C_HOLD);
	void *out[1];

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h->s.ring, TG_STREAM_NONE);
	assert_int_equal(h_seg(h, 0, t, 20, false), TG_STREAM_HOLD);
	assert_int_not_equal(h->s.ring, TG_STREAM_NONE);
	assert_int_equal(h->m->nb_ring_free, 3);
	assert_int_equal(h_seg(h, 20, t + 20, 20, false), TG_STREAM_HOLD);
	/* nothing released: any ACK of data is refused */
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa + 1, 64), -1);
	assert_int_equal(CNT(h, ACK_INVALID), 1);
	assert_int_equal(h->s.base, 0);
	tg_stream_set_inspected(&h->s, 20);
	assert_int_equal(h_release(h), 1);
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa + 21, 64), -1);
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa + 12, 64), 0);
	assert_int_equal(h->s.base, 12);
	assert_int_equal(h->s.wnd_end, 76);
	/* stale and pre-ISN ACKs change nothing */
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa + 5, 64), 0);
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa - 100, 64), 0);
	assert_int_equal(h->s.base, 12);
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa + 20, 64), 0);
	assert_int_equal(h->s.base, 20);
	/* still held: the ring stays */
	assert_int_not_equal(h->s.ring, TG_STREAM_NONE);
	tg_stream_set_inspected(&h->s, 40);
	assert_int_equal(h_release(h), 1);
	assert_int_not_equal(h->s.ring, TG_STREAM_NONE);
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa + 40, 64), 0);
	/* all ACKed, nothing held: back to the pool */
	assert_int_equal(h->s.ring, TG_STREAM_NONE);
	assert_int_equal(h->m->nb_ring_free, 4);
	assert_int_equal(tg_stream_release(h->m, &h->s, out, 1), 0);
	/* and taken again by the next byte, which works as before */
	assert_int_equal(h_seg(h, 40, t + 40, 60, false), TG_STREAM_HOLD);
	assert_int_not_equal(h->s.ring, TG_STREAM_NONE);
	assert_int_equal(h_seg(h, 30, t, 20, false), TG_STREAM_DROP);	/* held part */
	tg_stream_set_inspected(&h->s, 100);
	assert_int_equal(h_release(h), 1);
	assert_int_equal(h_seg(h, 30, t, 20, false), TG_STREAM_FORWARD);
	/* ACK far beyond anything: refused, nothing moves */
	assert_int_equal(tg_stream_ack(h->m, &h->s, 0xfffffffa + 5000, 64), -1);
	assert_int_equal(h->s.base, 40);
	h_check_final(h);
	h_free(h);
}

/* Out-of-order data keeps the ring even when everything in order is ACKed. */
static void
test_ack_keeps_ring_for_ooo(void **state)
{
	uint8_t t[40];
	struct harness *h = h_new(64, 0, 64, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	h->auto_ack = true;
	assert_int_equal(h_seg(h, 0, t, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.ring, TG_STREAM_NONE);	/* ACKed at once */
	assert_int_equal(h_seg(h, 20, t + 20, 10, false), TG_STREAM_HOLD);
	assert_int_not_equal(h->s.ring, TG_STREAM_NONE);
	h_ack(h);
	assert_int_not_equal(h->s.ring, TG_STREAM_NONE);
	assert_int_equal(h_seg(h, 10, t + 10, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.ring, TG_STREAM_NONE);
	h_check_final(h);
	h_free(h);
}

/* ---------------------------------------------------------------------
 * Caps: each refusal is counted and returns TG_STREAM_EXCEPTION (the
 * service's policy then drops the segment or resets the session); here
 * the policy is "drop", and the stream carries on unharmed
 * ------------------------------------------------------------------- */

/*
 * Per direction: out-of-order segments stop at TG_STREAM_HELD_MAX (more
 * are dropped); one that moves the in-order edge may go on to twice that,
 * since it is what lets the others go (more: the exception policy).
 */
static void
test_cap_held_flow(void **state)
{
	uint8_t t[2 * TG_STREAM_HELD_MAX + 4];
	struct harness *h;
	unsigned int i;

	(void)state;
	fill_truth(t, sizeof(t));
	/* out of order: every other byte past a hole */
	h = h_new(512, 0x55, 512, C_ALL);
	for (i = 0; i < TG_STREAM_HELD_MAX; i++)
		assert_int_equal(h_seg(h, 2 + 2 * i, t + 2 + 2 * i, 1, false), TG_STREAM_HOLD);
	/* more out of order: dropped, the sender sends them again */
	assert_int_equal(h_seg(h, 2 + 2 * i, t + 2 + 2 * i, 1, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 1, t + 1, 1, false), TG_STREAM_DROP);
	assert_int_equal(CNT(h, DROP_HELD_FLOW), 2);
	/* in order: taken, and the first hole only */
	assert_int_equal(h_seg(h, 0, t, 2, false), TG_STREAM_HOLD);
	assert_int_equal(h->nseen, 3);
	assert_int_equal(h->s.nb_held, TG_STREAM_HELD_MAX - 1);	/* two released */
	for (i = 3; i < 2 * TG_STREAM_HELD_MAX + 2; i += 2)
		assert_int_equal(h_seg(h, i, t + i, 1, false), TG_STREAM_HOLD);
	h_check_final(h);
	h_free(h);

	/* in order, the consumer holding everything */
	h = h_new(512, 0x55, 512, C_HOLD);
	for (i = 0; i < 2 * TG_STREAM_HELD_MAX; i++)
		assert_int_equal(h_seg(h, i, t + i, 1, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.nb_held, 2 * TG_STREAM_HELD_MAX);
	assert_int_equal(h_seg(h, i, t + i, 2, false), TG_STREAM_EXCEPTION);
	assert_int_equal(CNT(h, DROP_HELD_FLOW), 1);
	assert_int_equal(h->nseen, 2 * TG_STREAM_HELD_MAX);
	tg_stream_set_inspected(&h->s, 64);
	assert_int_equal(h_release(h), 64);
	assert_int_equal(h_seg(h, i, t + i, 2, false), TG_STREAM_HOLD);
	h_check_final(h);
	assert_memory_equal(h->rcv, t, i + 2);
	h_free(h);
}

static void
test_cap_held_pool(void **state)
{
	uint8_t t[40];
	struct tg_stream_mem m;
	struct harness *a, *b;

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(tg_stream_mem_init(&m, 4, 64, 3), 0);
	live_mem = &m;
	a = h_new_mem(&m, 0, 0, 0, 100, 64, C_HOLD);
	b = h_new_mem(&m, 0, 0, 0, 200, 64, C_ALL);
	assert_int_equal(h_seg(a, 0, t, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(a, 20, t + 20, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(a, 10, t + 10, 10, false), TG_STREAM_HOLD);
	assert_int_equal(m.nb_held_free, 0);
	assert_int_equal(h_seg(b, 0, t, 10, false), TG_STREAM_EXCEPTION);
	assert_int_equal(h_seg(a, 30, t + 30, 10, false), TG_STREAM_EXCEPTION);
	assert_int_equal(m.cnt[TG_STREAM_CNT_DROP_HELD_POOL], 2);
	assert_int_equal(b->s.ring, TG_STREAM_NONE);	/* nothing taken on the way */
	tg_stream_set_inspected(&a->s, 30);
	assert_int_equal(h_release(a), 3);
	assert_int_equal(h_seg(b, 0, t, 10, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(a, 30, t + 30, 10, false), TG_STREAM_HOLD);
	h_check_final(a);
	h_check_final(b);
	h_free(a);
	h_free(b);
	assert_int_equal(m.nb_held_free, 3);
	assert_int_equal(m.nb_ring_free, 4);
	tg_stream_mem_free(&m);
	live_mem = NULL;
}

/*
 * Out-of-order segments leave the last eighth of the worker's slots to
 * segments that move an in-order edge.
 */
static void
test_cap_held_pool_reserve(void **state)
{
	uint8_t t[64];
	struct tg_stream_mem m;
	struct harness *a, *b;
	unsigned int i;

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(tg_stream_mem_init(&m, 4, 64, 16), 0);
	live_mem = &m;
	a = h_new_mem(&m, 0, 0, 0, 100, 64, C_ALL);
	b = h_new_mem(&m, 0, 0, 0, 200, 64, C_HOLD);
	for (i = 0; i < 14; i++)
		assert_int_equal(h_seg(a, 2 + 2 * i, t + 2 + 2 * i, 1, false), TG_STREAM_HOLD);
	assert_int_equal(m.nb_held_free, 2);
	assert_int_equal(h_seg(a, 40, t + 40, 1, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(b, 10, t + 10, 1, false), TG_STREAM_DROP);
	assert_int_equal(m.cnt[TG_STREAM_CNT_DROP_HELD_POOL], 2);
	/* in order: the reserve */
	assert_int_equal(h_seg(b, 0, t, 5, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(b, 5, t + 5, 5, false), TG_STREAM_HOLD);
	assert_int_equal(m.nb_held_free, 0);
	assert_int_equal(h_seg(a, 0, t, 2, false), TG_STREAM_EXCEPTION);
	assert_int_equal(m.cnt[TG_STREAM_CNT_DROP_HELD_POOL], 3);
	tg_stream_set_inspected(&b->s, 10);
	assert_int_equal(h_release(b), 2);
	assert_int_equal(h_seg(a, 0, t, 2, false), TG_STREAM_HOLD);
	assert_int_equal(a->nseen, 3);
	h_check_final(a);
	h_check_final(b);
	h_free(a);
	h_free(b);
	assert_int_equal(m.nb_held_free, 16);
	tg_stream_mem_free(&m);
	live_mem = NULL;
}

static void
test_cap_ring_pool(void **state)
{
	uint8_t t[40];
	struct tg_stream_mem m;
	struct harness *a, *b;

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(tg_stream_mem_init(&m, 1, 64, 16), 0);
	live_mem = &m;
	a = h_new_mem(&m, 0, 0, 0, 100, 64, C_ALL);
	b = h_new_mem(&m, 0, 0, 0, 200, 64, C_ALL);
	assert_int_equal(h_seg(a, 0, t, 20, false), TG_STREAM_HOLD);
	assert_int_equal(m.nb_ring_free, 0);
	assert_int_equal(h_seg(b, 0, t, 20, false), TG_STREAM_EXCEPTION);
	assert_int_equal(h_seg(b, 20, t + 20, 20, false), TG_STREAM_EXCEPTION);
	assert_int_equal(m.cnt[TG_STREAM_CNT_DROP_NO_BUF], 2);
	assert_int_equal(b->s.nb_held, 0);
	assert_false(tg_stream_busy(&b->s));
	assert_int_equal(b->s.contiguous, 0);
	assert_int_equal(m.nb_held_free, 16 - a->s.nb_held);
	/* a is ACKed in full: its ring goes back, b gets it */
	h_ack(a);
	assert_int_equal(a->ack_rc, 0);
	assert_int_equal(m.nb_ring_free, 1);
	assert_int_equal(h_seg(b, 20, t + 20, 20, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(b, 0, t, 20, false), TG_STREAM_HOLD);
	/* and a's next byte finds the pool empty in turn */
	assert_int_equal(h_seg(a, 20, t + 20, 20, false), TG_STREAM_EXCEPTION);
	h_check_final(a);
	h_check_final(b);
	assert_memory_equal(b->rcv, t, 40);
	h_free(a);
	h_free(b);
	assert_int_equal(m.nb_ring_free, 1);
	tg_stream_mem_free(&m);
	live_mem = NULL;
}

static void
test_cap_ring_full(void **state)
{
	uint8_t t[200];
	/* a tracker that failed to clamp the window to the ring */
	struct harness *h = h_new(64, 0x42, 200, C_ALL);

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(h_seg(h, 0, t, 40, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 40, t + 40, 30, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 100, t + 100, 10, false), TG_STREAM_DROP);
	/* one byte past the ring would land on byte 0, which base still keeps */
	assert_int_equal(h_seg(h, 64, t + 64, 1, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 50, t + 50, 15, false), TG_STREAM_DROP);
	assert_int_equal(CNT(h, DROP_RING_FULL), 4);
	assert_int_equal(h_seg(h, 63, t + 63, 1, false), TG_STREAM_HOLD);	/* the last slot */
	assert_int_equal(h_seg(h, 40, t + 40, 24, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_nxt, 64);
	/* an ACK makes room; the bytes before base are overwritten in the ring */
	h_ack(h);
	assert_int_equal(h->s.base, 64);
	assert_int_equal(h_seg(h, 100, t + 100, 28, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 64, t + 64, 36, false), TG_STREAM_HOLD);
	assert_int_equal(h->rcv_nxt, 128);
	/* a retransmit straddling base, with other bytes: only [base, end) counts */
	{
		uint8_t x[20];

		memset(x, '!', sizeof(x));
		assert_int_equal(h_seg(h, 60, x, 20, false), TG_STREAM_FORWARD);
	}
	h_check_final(h);
	assert_memory_equal(h->rcv, t, 128);
	h_free(h);
}

/*
 * Out-of-order presence is a bitmap: any number of holes, at word edges
 * (63, 64, 65), across the ring's end, filled in any order.
 */
static void
test_many_holes(void **state)
{
	uint8_t t[300];
	struct harness *h = h_new(128, 0x42, 128, C_ALL);
	unsigned int i;

	(void)state;
	fill_truth(t, sizeof(t));
	h->auto_ack = true;
	assert_int_equal(h_seg(h, 0, t, 100, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.base, 100);
	/* every other byte of [101, 228): 64 holes, the ring wraps at 128 and 256 */
	for (i = 101; i < 228; i += 2)
		assert_int_equal(h_seg(h, i, t + i, 1, false), TG_STREAM_HOLD);
	assert_int_equal(h->s.ooo_end, 228);
	assert_int_equal(h->nseen, 100);
	/* a segment over holes and stored bytes: only the holes are new */
	{
		uint8_t x[20];

		memset(x, '#', sizeof(x));
		assert_int_equal(h_seg(h, 120, x, 20, false), TG_STREAM_HOLD);
		for (i = 0; i < 20; i++)
			assert_int_equal(h->ref[120 + i], (i & 1) ? t[120 + i] : '#');
	}
	/* already all there: a duplicate */
	assert_int_equal(h_seg(h, 121, t, 1, false), TG_STREAM_DROP);
	assert_int_equal(h_seg(h, 120, t, 3, false), TG_STREAM_DROP);
	/* the holes, backwards, except the first */
	for (i = 226; i > 100; i -= 2)
		if (!h->ref_have[i])
			assert_int_equal(h_seg(h, i, t + i, 1, false), TG_STREAM_HOLD);
	assert_int_equal(h->nseen, 100);
	assert_int_equal(h_seg(h, 100, t + 100, 1, false), TG_STREAM_HOLD);
	assert_int_equal(h->nseen, 228);
	assert_int_equal(h->rcv_nxt, 228);
	assert_false(tg_stream_busy(&h->s));
	assert_int_equal(h->s.ring, TG_STREAM_NONE);	/* all ACKed */
	/* the ring comes back clear: a new lap at other offsets works */
	assert_int_equal(h_seg(h, 250, t + 250, 50, true), TG_STREAM_HOLD);
	assert_int_equal(h_seg(h, 228, t + 228, 22, false), TG_STREAM_HOLD);
	assert_true(h->closed);
	h_check_final(h);
	h_free(h);
}

/*
 * tg_stream_drop_all() with data held in order and out of order: every
 * packet comes back, a few at a time, and the ring goes back clear, so the
 * next direction to take it sees none of the old holes.
 */
static void
test_drop_all(void **state)
{
	uint8_t t[120];
	struct tg_stream_mem m;
	struct harness *a, *b;
	void *pkts[2];
	unsigned int n, i, total = 0;

	(void)state;
	fill_truth(t, sizeof(t));
	assert_int_equal(tg_stream_mem_init(&m, 1, 64, 16), 0);
	live_mem = &m;
	a = h_new_mem(&m, 0, 0, 0, 7, 64, C_HOLD);
	assert_int_equal(h_seg(a, 0, t, 10, false), TG_STREAM_HOLD);
	for (i = 12; i < 60; i += 6)
		assert_int_equal(h_seg(a, i, t + i, 3, false), TG_STREAM_HOLD);
	assert_int_equal(a->s.nb_held, 9);
	do {
		n = tg_stream_drop_all(&m, &a->s, pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++)
			pkt_free(pkts[i], &a->live);
		total += n;
	} while (n);
	assert_int_equal(total, 9);
	assert_int_equal(a->s.ring, TG_STREAM_NONE);
	assert_int_equal(m.nb_held_free, 16);
	check_free_rings(&m);
	h_free(a);
	/* the same ring, the same offsets mod 64: nothing looks present */
	b = h_new_mem(&m, 0, 0, 0, 7 + 64, 64, C_ALL);
	assert_int_equal(h_seg(b, 13, t + 13, 1, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(b, 12, t + 12, 3, false), TG_STREAM_HOLD);
	assert_int_equal(h_seg(b, 0, t, 40, false), TG_STREAM_HOLD);
	assert_int_equal(b->rcv_nxt, 40);
	h_check_final(b);
	h_free(b);
	tg_stream_mem_free(&m);
	live_mem = NULL;
}

/*
 * Liveness: TG_STREAM_HELD_MAX out-of-order segments beyond a hole fill
 * the per-direction cap; the segment that fills the hole must still get
 * in, or nothing held could ever leave and the flow would be wedged
 * (small writes with TCP_NODELAY and one loss are enough).
 */
static void
test_held_cap_no_wedge(void **state)
{
	uint8_t t[TG_STREAM_HELD_MAX + 1];
	struct harness *h = h_new(256, 0x55, 256, C_ALL);
	unsigned int i;

	(void)state;
	fill_truth(t, sizeof(t));
	for (i = 1; i <= TG_STREAM_HELD_MAX; i++)
		assert_int_equal(h_seg(h, i, t + i, 1, false), TG_STREAM_HOLD);
	/* the sender retransmits the lost first byte: it must get through */
	assert_int_equal(h_seg(h, 0, t, 1, false), TG_STREAM_HOLD);
	h_check_final(h);
	h_free(h);
}

/* ---------------------------------------------------------------------
 * Randomized property test
 * ------------------------------------------------------------------- */

struct netq {
	struct tpkt *p[64];
	uint64_t off[64];
	unsigned int n;
};

/* Pushes a copy of [off, off + len) of data, the FIN if asked, onto the network. */
static void
net_push(struct harness *h, struct netq *q, uint64_t off, const uint8_t *data, uint16_t len,
	 bool fin)
{
	if (q->n == ARRAY_SIZE(q->p)) {
		pkt_free(q->p[0], &h->live);
		memmove(q->p, q->p + 1, sizeof(q->p[0]) * (q->n - 1));
		memmove(q->off, q->off + 1, sizeof(q->off[0]) * (q->n - 1));
		q->n--;
	}
	q->p[q->n] = pkt_new(h->isn1 + (uint32_t)off, data, len, fin, &h->live);
	q->off[q->n] = off;
	q->n++;
}

/* Takes packet k off the network and hands it to the engine, like h_seg. */
static void
net_deliver(struct harness *h, struct netq *q, unsigned int k)
{
	struct tpkt *p = q->p[k];
	uint64_t off = q->off[k];
	uint8_t data[2048];

	assert_true(p->plen <= sizeof(data));
	memcpy(data, p->buf + TCP_HLEN, p->plen);
	h_seg(h, off, data, p->plen, p->buf[13] & TH_FIN);
	pkt_free(p, &h->live);
	q->p[k] = q->p[--q->n];
	q->off[k] = q->off[q->n];
}

/*
 * One connection: a sender with its window and retransmissions, a network
 * that loses, duplicates and reorders, an attacker that injects segments
 * with other bytes inside the stream, and one kind of consumer.
 */
static void
run_random(uint32_t *rng, unsigned int iter)
{
	static const enum cmode modes[] = { C_ALL, C_MSG, C_HOLD, C_MASK, C_NONE };
	uint32_t ring = 64u << rnd(rng, 4);		/* 64 .. 512 */
	uint32_t g = rnd(rng, 4) ? 1 : 4;	/* offsets and lengths in multiples of g */
	uint32_t isn1 = rnd(rng, 4) ? xorshift32(rng) : (uint32_t)-1 - rnd(rng, 2 * ring);
	uint32_t L = g * (1 + rnd(rng, 3 * ring / g));
	uint32_t maxseg = ring / 4;
	/* one in eight trackers fails to clamp the window to the ring: DROP_RING_FULL */
	uint32_t wnd = rnd(rng, 8) ? ring : 2 * ring;
	struct harness *h = h_new(ring, isn1, wnd, modes[rnd(rng, ARRAY_SIZE(modes))]);
	struct netq q = { .n = 0 };
	uint8_t msg[MAXLEN], junk[MAXLEN];
	uint64_t snd_nxt = 0, steps = 0, una;
	bool fin_sent = false;
	unsigned int i;

	assert_true(L < MAXLEN / 2);
	for (i = 0; i < L; i++) {
		msg[i] = (uint8_t)xorshift32(rng);
		junk[i] = (uint8_t)xorshift32(rng);
	}
	/* ACK every packet, or now and then (so retransmits of released data pass) */
	h->auto_ack = rnd(rng, 2);
	h->auto_release = rnd(rng, 4) != 0;
	h->msg_len_mod = ring / 4;
	h->mask_from = (uint8_t)xorshift32(rng);
	h->mask_to = (uint8_t)xorshift32(rng);

	while (!(h->closed && h->last_ack == L + 1)) {
		uint32_t r = rnd(rng, 100);

		assert_true(++steps < 50000);
		/* the consumer and the engine's owner, between packets */
		if (h->mode == C_HOLD && rnd(rng, 8) == 0) {
			tg_stream_set_inspected(&h->s, h->s.inspected + rnd(rng, ring));
			h_release_max(h, 1 + rnd(rng, 8));
		}
		if (!h->auto_release && rnd(rng, 8) == 0)
			h_release_max(h, 1 + rnd(rng, 8));
		if (!h->auto_ack && rnd(rng, 6) == 0) {
			h_ack(h);
			if (h->ack_rc != 0)
				fail_msg("iteration %u: the receiver's ACK %" PRIu64
					 " was refused (see BUG 1)", iter, h->last_ack);
		}
		if (steps % 256 == 0) {
			/* a consumer that held everything lets go eventually */
			tg_stream_set_inspected(&h->s, h->s.contiguous);
			h_release(h);
		}
		h_check_inv(h);

		una = h->last_ack > L ? L : h->last_ack;	/* what the sender knows */
		if (r < 30 && snd_nxt < L && snd_nxt < una + wnd) {
			/* new data, within the window */
			uint64_t len = g * (1 + rnd(rng, maxseg / g));
			bool fin;

			len = len > L - snd_nxt ? L - snd_nxt : len;
			if (snd_nxt + len > una + wnd)
				len = una + wnd - snd_nxt;
			fin = snd_nxt + len == L && rnd(rng, 2);
			net_push(h, &q, snd_nxt, msg + snd_nxt, (uint16_t)len, fin);
			fin_sent |= fin;
			snd_nxt += len;
		} else if ((r < 40 || q.n == 0) && una < snd_nxt) {
			/* retransmit from una, possibly collapsed with more, and the FIN */
			uint64_t len = g * (1 + rnd(rng, maxseg / g));

			if (una + len > snd_nxt)
				len = snd_nxt - una;
			net_push(h, &q, una, msg + una, (uint16_t)len,
				 una + len == L && fin_sent && rnd(rng, 2));
		} else if (r < 46 && snd_nxt > 0) {
			/* an attacker: other bytes, anywhere in the stream the window allows */
			uint64_t lo = una > 4 * g ? una - 4 * g : 0;
			uint64_t off = lo + g * rnd(rng, (uint32_t)((una + wnd - lo) / g));
			uint64_t len = g * (1 + rnd(rng, maxseg / g));

			if (off < L) {
				if (off + len > L)
					len = L - off;
				net_push(h, &q, off, junk + off, (uint16_t)len, false);
			}
		} else if ((r < 49 || q.n == 0) && snd_nxt == L) {
			/* a pure FIN, or its retransmission */
			net_push(h, &q, L, NULL, 0, true);
			fin_sent = true;
		} else if (q.n) {
			unsigned int k = rnd(rng, q.n);

			if (rnd(rng, 10) == 0) {
				/* lost */
				pkt_free(q.p[k], &h->live);
				q.p[k] = q.p[--q.n];
				q.off[k] = q.off[q.n];
			} else {
				net_deliver(h, &q, k);
			}
		}
	}
	h_check_final(h);
	assert_int_equal(h->nseen, L);
	assert_true(h->closed);
	/* a receiver never ACKs what it did not get (see BUG 1) */
	if (CNT(h, ACK_INVALID) != 0)
		fail_msg("iteration %u: %" PRIu64 " of the receiver's ACKs refused (see BUG 1)",
			 iter, CNT(h, ACK_INVALID));
	while (q.n)
		pkt_free(q.p[--q.n], &h->live);
	h_free(h);
}

static void
test_random_property(void **state)
{
	uint32_t rng = 0x9e3779b9;
	unsigned int iter;

	(void)state;
	for (iter = 0; iter < 3000; iter++)
		run_random(&rng, iter);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_in_order, teardown),
		cmocka_unit_test_teardown(test_no_consumer, teardown),
		cmocka_unit_test_teardown(test_out_of_order, teardown),
		cmocka_unit_test_teardown(test_permutations, teardown),
		cmocka_unit_test_teardown(test_overlap_table, teardown),
		cmocka_unit_test_teardown(test_retransmit_released, teardown),
		cmocka_unit_test_teardown(test_retransmit_below_base, teardown),
		cmocka_unit_test_teardown(test_retransmit_below_base_old, teardown),
		cmocka_unit_test_teardown(test_retransmit_held, teardown),
		cmocka_unit_test_teardown(test_wraparound, teardown),
		cmocka_unit_test_teardown(test_one_byte_segments, teardown),
		cmocka_unit_test_teardown(test_window, teardown),
		cmocka_unit_test_teardown(test_window_opens, teardown),
		cmocka_unit_test_teardown(test_fin_pure_in_order, teardown),
		cmocka_unit_test_teardown(test_fin_before_gap, teardown),
		cmocka_unit_test_teardown(test_fin_held_by_consumer, teardown),
		cmocka_unit_test_teardown(test_bug_fin_on_released_retransmit, teardown),
		cmocka_unit_test_teardown(test_bug_fin_on_acked_retransmit, teardown),
		cmocka_unit_test_teardown(test_bug_fin_below_stored_data, teardown),
		cmocka_unit_test_teardown(test_consumer_messages, teardown),
		cmocka_unit_test_teardown(test_consumer_hold_set_inspected, teardown),
		cmocka_unit_test_teardown(test_consumer_masking, teardown),
		cmocka_unit_test_teardown(test_consumer_masking_blocks, teardown),
		cmocka_unit_test_teardown(test_consumer_masking_retransmit, teardown),
		cmocka_unit_test_teardown(test_ack, teardown),
		cmocka_unit_test_teardown(test_ack_keeps_ring_for_ooo, teardown),
		cmocka_unit_test_teardown(test_cap_held_flow, teardown),
		cmocka_unit_test_teardown(test_cap_held_pool, teardown),
		cmocka_unit_test_teardown(test_cap_held_pool_reserve, teardown),
		cmocka_unit_test_teardown(test_cap_ring_pool, teardown),
		cmocka_unit_test_teardown(test_cap_ring_full, teardown),
		cmocka_unit_test_teardown(test_many_holes, teardown),
		cmocka_unit_test_teardown(test_drop_all, teardown),
		cmocka_unit_test_teardown(test_held_cap_no_wedge, teardown),
		cmocka_unit_test_teardown(test_random_property, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
