/* SPDX-License-Identifier: MIT */
/*
 * fuzz_stream.c — libFuzzer target for the inline reassembly engine
 * (stream.c).
 *
 * The input is a header and a list of operations on two directions that
 * share one small pool (so the pools run dry): segments (sequence number
 * relative to one of the stream's marks, any length, FIN or not, the
 * sender's bytes or an attacker's), the receiver's ACK, any ACK,
 * tg_stream_set_inspected(), tg_stream_release(), tg_stream_drop_all().
 *
 * Input: byte 0 sets the ring (64 << (b & 3) bytes), the ring count
 * (1 + bit 2) and the consumers (b >> 3); byte 1 the slot pool (bit 7: 320,
 * else 1 + (b & 31)) and a 4x ring (bit 6); then a 4-byte ISN and one
 * window byte per direction. Each operation is one byte (op b & 7,
 * direction bit 3, flags b >> 4) and its arguments: 0-2 a segment, 3 the
 * receiver's ACK, 4 any ACK, 5 set_inspected, 6 release, 7 drop_all and a
 * new flow (flags 0xf), a burst of small segments (flag 8), else release
 * everything. Past the end of the input every byte reads as 0.
 *
 * After every operation it checks what must always hold:
 * - base <= released <= inspected <= contiguous, nothing stored past the
 *   ring or the FIN, the held list in order and of the right length,
 *   nb_held <= 2 * TG_STREAM_HELD_MAX (in-order segments may pass the cap);
 * - the presence bitmap after each ring is set exactly for the bytes the
 *   reference model says are stored past the in-order edge, and clear in
 *   every ring in the pool;
 * - the pools add up: free slots plus held slots, free rings plus rings in
 *   use, no ring in two places;
 * - the consumer is given each byte once, in order, and exactly the bytes
 *   the engine saw first (a reference model fed from the verdicts);
 * - every packet that reaches the receiver has a right TCP checksum, and
 *   every byte in it at or past base was inspected and equals the byte the
 *   consumer was given;
 * - the receiver's own ACK is never refused;
 * and at the end, once everything is inspected and released, that the
 * receiver assembled exactly the consumer's bytes.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Idataplane \
 *        tests/fuzz/fuzz_stream.c dataplane/stream.c
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "stream.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NB_DIR 2
#define MAXS (1u << 14)		/* stream bytes a direction may carry in one input */
#define TCP_HLEN 20
#define TH_FIN 0x01
#define MAX_SEG 512		/* longest segment an input may make */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input, read front to back; past the end every byte is 0. */
struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t
get8(struct input *in)
{
	uint8_t b;

	if (in->n == 0)
		return 0;
	b = *in->p++;
	in->n--;
	return b;
}

static uint32_t
get32(struct input *in)
{
	uint32_t v = get8(in);

	v = v << 8 | get8(in);
	v = v << 8 | get8(in);
	return v << 8 | get8(in);
}

/* IPv4 pseudo-header 192.0.2.1 > 198.51.100.2, zero, protocol 6; length per packet. */
static const uint8_t pseudo[10] = {
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x06,
};

struct fpkt {
	uint16_t plen;
	uint8_t buf[];	/* TCP header and payload, nothing after: ASan sees overreads */
};

enum cmode { C_ALL, C_MSG, C_HOLD, C_MASK, C_NONE, C_MAX };

struct dir {
	struct tg_stream s;
	struct tg_stream_consumer c;
	uint32_t isn1;
	enum cmode mode;
	uint64_t msg_pos;
	uint64_t nseen;
	uint64_t rcv_nxt, rcv_fin;
	bool closed;
	uint8_t seen[MAXS];
	uint8_t ref[MAXS];
	bool ref_have[MAXS];
	uint8_t rcv[MAXS];
	bool have[MAXS];
};

static struct tg_stream_mem mem;
static struct dir dirs[NB_DIR];
static unsigned int live;	/* packets allocated and not freed */

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
pkt_new(uint32_t seq, const uint8_t *payload, uint16_t len, bool fin)
{
	struct fpkt *p = malloc(sizeof(*p) + TCP_HLEN + len);
	uint16_t c;

	CHECK(p != NULL);
	p->plen = len;
	memset(p->buf, 0, TCP_HLEN);
	p->buf[4] = (uint8_t)(seq >> 24);
	p->buf[5] = (uint8_t)(seq >> 16);
	p->buf[6] = (uint8_t)(seq >> 8);
	p->buf[7] = (uint8_t)seq;
	p->buf[12] = 5 << 4;
	p->buf[13] = 0x18 | (fin ? TH_FIN : 0);	/* PSH|ACK */
	if (len)
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

static uint8_t
mask(uint8_t b)
{
	return b == 'x' ? '*' : b;
}

static uint64_t
consumer_data(void *ctx, struct tg_stream *s, uint8_t *bytes, uint64_t off, uint32_t len)
{
	struct dir *d = ctx;
	uint32_t i;

	CHECK(off == d->nseen);
	CHECK(len > 0 && off + len <= s->contiguous && off + len <= MAXS);
	for (i = 0; i < len; i++) {
		if (d->mode == C_MASK)
			bytes[i] = mask(bytes[i]);
		d->seen[off + i] = bytes[i];
	}
	d->nseen += len;
	switch (d->mode) {
	case C_MSG:
		/* messages of 1 length byte (mod 16) and that many bytes */
		while (d->msg_pos < d->nseen &&
		       d->msg_pos + 1 + d->seen[d->msg_pos] % 16 <= d->nseen)
			d->msg_pos += 1 + d->seen[d->msg_pos] % 16;
		return d->msg_pos;
	case C_HOLD:
		return 0;
	default:
		return off + len;
	}
}

static void
dir_init(struct dir *d, uint32_t isn1, enum cmode mode)
{
	tg_stream_init(&d->s, isn1);
	d->c.data = consumer_data;
	d->c.ctx = d;
	d->isn1 = isn1;
	d->mode = mode;
	d->msg_pos = 0;
	d->nseen = 0;
	d->rcv_nxt = 0;
	d->rcv_fin = UINT64_MAX;
	d->closed = false;
	memset(d->ref_have, 0, sizeof(d->ref_have));
	memset(d->have, 0, sizeof(d->have));
}

/* A packet reaches the receiver: check it, keep the first copy of each byte. */
static void
receive(struct dir *d, struct fpkt *p)
{
	const uint8_t *th = p->buf;
	uint32_t seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
	int64_t off = (int64_t)d->rcv_nxt + (int32_t)(seq - (d->isn1 + (uint32_t)d->rcv_nxt));
	uint16_t i;

	CHECK(csum_ok(p));
	for (i = 0; i < p->plen; i++) {
		int64_t o = off + i;

		if (o < (int64_t)d->s.base)
			continue;	/* the receiver has ACKed it: stream.h, Caveats */
		CHECK((uint64_t)o < d->s.inspected);
		CHECK((uint64_t)o < d->nseen);
		CHECK(th[TCP_HLEN + i] == d->seen[o]);
		if (!d->closed && !d->have[o]) {
			d->have[o] = true;
			d->rcv[o] = th[TCP_HLEN + i];
		}
	}
	if ((th[13] & TH_FIN) && !d->closed && d->rcv_fin == UINT64_MAX &&
	    off + p->plen >= (int64_t)d->rcv_nxt)
		d->rcv_fin = (uint64_t)off + p->plen;
	while (!d->closed && d->rcv_nxt < MAXS && d->have[d->rcv_nxt] && d->rcv_nxt != d->rcv_fin)
		d->rcv_nxt++;
	if (d->rcv_fin != UINT64_MAX && !d->closed) {
		if (d->rcv_nxt == d->rcv_fin)
			d->closed = true;
		else if (d->rcv_nxt > d->rcv_fin)
			d->rcv_fin = UINT64_MAX;	/* old: dropped, like Linux */
	}
	pkt_free(p);
}

static void
release(struct dir *d, unsigned int max)
{
	void *pkts[8];
	unsigned int n, i;

	if (max > ARRAY_SIZE(pkts))
		max = ARRAY_SIZE(pkts);
	n = tg_stream_release(&mem, &d->s, pkts, max);
	CHECK(n <= max);
	for (i = 0; i < n; i++)
		receive(d, pkts[i]);
}

static void
release_all(struct dir *d)
{
	void *pkts[8];
	unsigned int n, i;

	do {
		n = tg_stream_release(&mem, &d->s, pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++)
			receive(d, pkts[i]);
	} while (n);
}

static void
drop_all(struct dir *d)
{
	void *pkts[8];
	unsigned int n, i;

	do {
		n = tg_stream_drop_all(&mem, &d->s, pkts, ARRAY_SIZE(pkts));
		for (i = 0; i < n; i++)
			pkt_free(pkts[i]);
	} while (n);
	CHECK(d->s.nb_held == 0 && !tg_stream_busy(&d->s) && d->s.ring == TG_STREAM_NONE);
	/* every held segment went out or was counted as freed unsent */
	CHECK(mem.cnt[TG_STREAM_CNT_HELD] == mem.cnt[TG_STREAM_CNT_RELEASED] +
						     mem.cnt[TG_STREAM_CNT_DISCARDED] +
						     (mem.nb_held - mem.nb_held_free));
}

static void
check_stream(const struct dir *d)
{
	const struct tg_stream *s = &d->s;
	uint32_t idx, n = 0, prev = TG_STREAM_NONE;

	CHECK(s->base <= s->released);
	CHECK(s->released <= s->inspected);
	CHECK(s->inspected <= s->contiguous);
	CHECK(s->contiguous == d->nseen || d->mode == C_NONE);
	/* out-of-order segments stop at the cap; in-order ones may go to twice it */
	CHECK(s->nb_held <= 2 * TG_STREAM_HELD_MAX);
	if (s->ooo_end > s->contiguous)
		CHECK(s->ooo_end <= s->base + mem.ring_size);
	/* nothing the receiver will take lies past the FIN */
	if (s->fin_off != UINT64_MAX)
		CHECK(s->contiguous <= s->fin_off && (s->ooo_end <= s->fin_off));
	/* the presence bitmap: set exactly for the bytes stored past the in-order edge */
	if (s->ring != TG_STREAM_NONE) {
		const uint8_t *bm = mem.rings + (size_t)s->ring * mem.ring_stride + mem.ring_size;
		uint64_t o;

		for (o = s->contiguous; o < s->contiguous + mem.ring_size; o++) {
			bool want = o < s->ooo_end && o < MAXS && d->ref_have[o];

			CHECK((bool)(bm[(o & (mem.ring_size - 1)) >> 3] >> (o & 7) & 1) == want);
		}
	}
	for (idx = s->held_head; idx != TG_STREAM_NONE; idx = mem.held[idx].next) {
		CHECK(idx < mem.nb_held);
		CHECK(mem.held[idx].len == 0 || s->ring != TG_STREAM_NONE);
		if (prev != TG_STREAM_NONE)
			CHECK(mem.held[prev].off <= mem.held[idx].off);
		prev = idx;
		CHECK(++n <= s->nb_held);
	}
	CHECK(n == s->nb_held);
	CHECK(prev == s->held_tail);
	if (s->ooo_end > s->contiguous || s->base != s->contiguous)
		CHECK(s->ring != TG_STREAM_NONE);
}

static void
check_all(void)
{
	uint32_t held = 0, rings = 0, idx, nfree = 0, i, k;

	for (k = 0; k < NB_DIR; k++) {
		check_stream(&dirs[k]);
		held += dirs[k].s.nb_held;
		if (dirs[k].s.ring != TG_STREAM_NONE) {
			CHECK(dirs[k].s.ring < mem.nb_rings);
			rings++;
			for (i = 0; i < mem.nb_ring_free; i++)
				CHECK(mem.ring_free[i] != dirs[k].s.ring);
		}
	}
	if (dirs[0].s.ring != TG_STREAM_NONE)
		CHECK(dirs[0].s.ring != dirs[1].s.ring);
	CHECK(held + mem.nb_held_free == mem.nb_held);
	CHECK(rings + mem.nb_ring_free == mem.nb_rings);
	for (idx = mem.held_free; idx != TG_STREAM_NONE; idx = mem.held[idx].next) {
		CHECK(idx < mem.nb_held);
		CHECK(++nfree <= mem.nb_held_free);
	}
	CHECK(nfree == mem.nb_held_free);
	/* a ring in the pool has a clear bitmap */
	for (i = 0; i < mem.nb_ring_free; i++) {
		const uint8_t *bm = mem.rings + (size_t)mem.ring_free[i] * mem.ring_stride +
				    mem.ring_size;

		for (k = 0; k < mem.ring_size / 8; k++)
			CHECK(bm[k] == 0);
	}
}

/* The receiver's ACK: what it has in order, and the FIN; never refused. */
static void
receiver_ack(struct dir *d, uint64_t window)
{
	uint64_t a = d->rcv_nxt + (d->closed ? 1 : 0);

	CHECK(tg_stream_ack(&mem, &d->s, d->isn1 + (uint32_t)a, window) == 0);
}

/* A receive window from 0 to twice the ring: a tracker may fail to clamp it. */
static uint64_t
window(struct input *in, uint32_t ring)
{
	return (uint64_t)get8(in) * ring / 128;
}

static uint64_t
anchor(const struct dir *d, unsigned int which)
{
	switch (which & 3) {
	case 0:
		return d->s.base;
	case 1:
		return d->s.released;
	case 2:
		return d->s.contiguous;
	default:
		return d->s.wnd_end;
	}
}

/* The sender's byte at offset o: what a well-behaved peer sends every time. */
static uint8_t
truth(uint64_t o)
{
	return (uint8_t)"xabcdefghij"[(o * 7 + o / 11) % 11];
}

/*
 * Hands one segment to the engine: seq is its sequence number, off the
 * offset the engine must see it at (tg_stream_offset), and plays the
 * verdict out on the wire.
 */
static void
send_seg(struct dir *d, uint32_t seq, int64_t off, const uint8_t *payload, uint16_t len, bool fin)
{
	bool fresh[MAX_SEG];
	struct tg_stream_seg seg;
	enum tg_stream_verdict v;
	uint64_t nseen = d->nseen, o;
	struct fpkt *p;
	uint16_t i;

	CHECK(len <= MAX_SEG);
	CHECK(tg_stream_offset(&d->s, seq) == off);
	for (i = 0; i < len; i++)
		fresh[i] = off + i >= 0 && !d->ref_have[off + i];

	p = pkt_new(seq, payload, len, fin);
	seg = (struct tg_stream_seg){
		.pkt = p, .payload = p->buf + TCP_HLEN, .csum = p->buf + 16,
		.seq = seq, .len = len, .fin = fin,
	};
	v = tg_stream_segment(&mem, &d->s, &seg, d->mode == C_NONE ? NULL : &d->c);
	switch (v) {
	case TG_STREAM_HOLD:
		/* held: the bytes it brought first are stored */
		for (i = 0; i < len; i++) {
			if (fresh[i]) {
				d->ref_have[off + i] = true;
				d->ref[off + i] = payload[i];
			}
		}
		break;
	case TG_STREAM_FORWARD:
		/* nothing new may leave uninspected */
		for (i = 0; i < len; i++)
			CHECK(!fresh[i] || off + i < (int64_t)d->s.base);
		receive(d, p);
		break;
	case TG_STREAM_DROP:
	case TG_STREAM_EXCEPTION:
		pkt_free(p);
		break;
	default:
		CHECK(0);
	}
	if (d->mode == C_NONE) {
		for (o = nseen; o < d->s.contiguous; o++)
			d->seen[o] = d->ref[o];
		d->nseen = d->s.contiguous;
	}
	if (v != TG_STREAM_HOLD)
		CHECK(d->nseen == nseen);
	/* the consumer got the first-seen bytes (after its own edits) */
	for (o = nseen; o < d->nseen; o++) {
		CHECK(d->ref_have[o]);
		CHECK(d->seen[o] == (d->mode == C_MASK ? mask(d->ref[o]) : d->ref[o]));
	}
}

/* A segment relative to one of the stream's marks, or at any sequence number. */
static void
segment(struct dir *d, struct input *in, uint8_t flags)
{
	int8_t delta = (int8_t)get8(in);
	uint16_t len = (uint16_t)(((unsigned int)get8(in) << (mem.ring_size > 128)) %
				  (mem.ring_size + 16));	/* < 512 */
	bool fin = flags & 4, raw = delta == INT8_MIN;
	uint32_t seq = raw ? get32(in) : 0;
	int64_t off = (int64_t)anchor(d, flags) + delta;
	uint8_t payload[MAX_SEG];
	uint16_t i;

	if (len > MAX_SEG)
		len = MAX_SEG;
	if (raw)
		off = (int64_t)d->s.contiguous +
		      (int32_t)(seq - (d->isn1 + (uint32_t)d->s.contiguous));
	else
		seq = d->isn1 + (uint32_t)off;
	if (off + len >= (int64_t)MAXS)
		return;
	for (i = 0; i < len; i++)
		payload[i] = (flags & 8) ? truth((uint64_t)(off + i)) : get8(in);
	send_seg(d, seq, off, payload, len, fin);
}

/*
 * Many small segments of the sender's bytes from one operation, forwards
 * or backwards, so both held caps and the pool reserve are within reach.
 */
static void
burst(struct dir *d, struct input *in, uint8_t flags)
{
	unsigned int n = 1 + get8(in), seglen = 1 + (flags & 3), k, i;
	int64_t start = (int64_t)d->s.contiguous + (int8_t)get8(in);
	bool backwards = flags & 4;
	uint8_t payload[4];

	for (k = 0; k < n; k++) {
		int64_t off = start + (int64_t)seglen * (backwards ? n - 1 - k : k);

		if (off < 0 || off + seglen >= (int64_t)MAXS)
			continue;
		for (i = 0; i < seglen; i++)
			payload[i] = truth((uint64_t)off + i);
		send_seg(d, d->isn1 + (uint32_t)off, off, payload, (uint16_t)seglen, false);
		check_all();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t h0 = get8(&in), h1 = get8(&in);
	uint32_t ring = (64u << (h0 & 3)) << ((h1 & 0x40) ? 2 : 0);	/* 64 .. 2048 */
	uint32_t nb_rings = 1 + ((h0 >> 2) & 1);
	uint32_t nb_held = (h1 & 0x80) ? 320 : 1 + (h1 & 31);	/* 320 > 2 * HELD_MAX */
	uint32_t isn = get32(&in);
	unsigned int k, ops = 0;

	if (size < 6)
		return 0;
	if (tg_stream_mem_init(&mem, nb_rings, ring, nb_held) != 0)
		abort();
	live = 0;
	for (k = 0; k < NB_DIR; k++) {
		enum cmode mode = (enum cmode)(((h0 >> 3) + 3 * k) % C_MAX);

		dir_init(&dirs[k], isn + k * 0x9e3779b9u, mode);
		receiver_ack(&dirs[k], window(&in, ring));
	}

	while (in.n && ops++ < 4096) {
		uint8_t b = get8(&in), flags = b >> 4;
		struct dir *d = &dirs[(b >> 3) & 1];

		switch (b & 7) {
		case 0:
		case 1:
		case 2:
			segment(d, &in, flags);
			break;
		case 3:
			receiver_ack(d, window(&in, ring));
			break;
		case 4: {
			/* any ACK: refused ones change nothing */
			int8_t delta = (int8_t)get8(&in);
			uint64_t w = window(&in, ring), base = d->s.base, wnd = d->s.wnd_end;
			uint32_t ack = d->isn1 + (uint32_t)(anchor(d, flags) + delta);

			if (tg_stream_ack(&mem, &d->s, ack, w) < 0)
				CHECK(d->s.base == base && d->s.wnd_end == wnd);
			CHECK(d->s.base >= base && d->s.wnd_end >= wnd);
			break;
		}
		case 5: {
			uint64_t mark = (flags & 1 ? d->s.contiguous : d->s.inspected) +
					get8(&in) % 64;
			uint64_t before = d->s.inspected;

			tg_stream_set_inspected(&d->s, mark);
			CHECK(d->s.inspected >= before);
			break;
		}
		case 6:
			release(d, 1 + (flags & 7));
			break;
		default:
			if (flags == 0xf) {
				/* the flow ends; a new one starts in its place */
				drop_all(d);
				dir_init(d, d->isn1 * 2654435761u, d->mode);
				receiver_ack(d, ring);
			} else if (flags & 8) {
				burst(d, &in, flags);
			} else {
				release_all(d);
			}
			break;
		}
		check_all();
	}

	/* the end: everything inspected and released, the receiver has it all */
	for (k = 0; k < NB_DIR; k++) {
		struct dir *d = &dirs[k];
		uint64_t o;

		tg_stream_set_inspected(&d->s, d->s.contiguous);
		release_all(d);
		check_all();
		CHECK(d->rcv_nxt == d->nseen);
		CHECK(memcmp(d->rcv, d->seen, d->nseen) == 0);
		for (o = d->nseen; o < MAXS; o++)
			CHECK(!d->have[o]);
		if (d->closed)
			CHECK(d->s.fin_released && d->rcv_fin == d->s.fin_off);
	}
	for (k = 0; k < NB_DIR; k++)
		drop_all(&dirs[k]);
	check_all();
	CHECK(live == 0);
	CHECK(mem.nb_held_free == mem.nb_held && mem.nb_ring_free == mem.nb_rings);
	tg_stream_mem_free(&mem);
	return 0;
}
