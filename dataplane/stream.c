/* SPDX-License-Identifier: MIT */
/*
 * stream.c — inline reassembly of one direction of a TCP flow. See stream.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "csum.h"
#include "stream.h"
#include "wire.h"

const char *const tg_stream_counter_names[TG_STREAM_CNT_MAX] = {
#define NAME(e, n, d) [TG_STREAM_CNT_##e] = n,
	TG_STREAM_COUNTERS(NAME)
#undef NAME
};

#define CNT(m, c) ((m)->cnt[TG_STREAM_CNT_##c]++)

static inline uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int
tg_stream_mem_init(struct tg_stream_mem *m, uint32_t nb_rings, uint32_t ring_size,
		   uint32_t nb_held)
{
	uint32_t i;

	memset(m, 0, sizeof(*m));
	if (ring_size < 64 || (ring_size & (ring_size - 1)) != 0 || nb_rings == 0 || nb_held == 0)
		return -EINVAL;
	/* each ring is followed by its presence bitmap, one bit per byte */
	m->ring_stride = ring_size + ring_size / 8;
	m->rings_bytes = (size_t)nb_rings * m->ring_stride;
	/* zeroed (the bitmaps start clear) and committed now, so the fast path
	 * never page-faults its way to a memcap */
	m->rings = mmap(NULL, m->rings_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m->rings == MAP_FAILED)
		m->rings = NULL;
	m->ring_free = malloc(sizeof(*m->ring_free) * nb_rings);
	m->held = malloc(sizeof(*m->held) * nb_held);
	if (m->rings == NULL || m->ring_free == NULL || m->held == NULL) {
		tg_stream_mem_free(m);
		return -ENOMEM;
	}
	m->ring_size = ring_size;
	m->nb_rings = nb_rings;
	for (i = 0; i < nb_rings; i++)
		m->ring_free[i] = nb_rings - 1 - i;
	m->nb_ring_free = nb_rings;
	m->nb_held = nb_held;
	for (i = 0; i < nb_held; i++)
		m->held[i].next = i + 1 < nb_held ? i + 1 : TG_STREAM_NONE;
	m->held_free = 0;
	m->nb_held_free = nb_held;
	return 0;
}

void
tg_stream_mem_free(struct tg_stream_mem *m)
{
	if (m->rings)
		munmap(m->rings, m->rings_bytes);
	free(m->ring_free);
	free(m->held);
	memset(m, 0, sizeof(*m));
}

void
tg_stream_init(struct tg_stream *s, uint32_t isn1)
{
	uint32_t app = s->app;	/* set by the owner when the flow was made */

	memset(s, 0, sizeof(*s));
	s->app = app;
	s->isn1 = isn1;
	s->ring = TG_STREAM_NONE;
	s->fin_off = UINT64_MAX;
	s->held_head = s->held_tail = TG_STREAM_NONE;
}

int64_t
tg_stream_offset(const struct tg_stream *s, uint32_t seq)
{
	int32_t rel = (int32_t)(seq - (s->isn1 + (uint32_t)s->contiguous));

	return (int64_t)s->contiguous + rel;
}

static inline uint8_t *
ring_of(const struct tg_stream_mem *m, const struct tg_stream *s)
{
	return m->rings + (size_t)s->ring * m->ring_stride;
}

/*
 * The presence bitmap of a ring: bit (off & mask) is set while the byte at
 * off is stored past the in-order edge. Bits before contiguous are always
 * clear, so a ring slot reused one lap later starts clear; and since every
 * stored offset lies in [base, base + ring_size), no two live offsets share
 * a bit.
 */
static inline uint64_t *
bitmap_of(const struct tg_stream_mem *m, const struct tg_stream *s)
{
	return (uint64_t *)(ring_of(m, s) + m->ring_size);
}

/*
 * One word's worth of [from, to): its index in the bitmap and the mask of
 * the bits covered; returns how many bytes that is. A word never straddles
 * the ring's end (the ring is a multiple of 64 bytes).
 */
static inline uint32_t
bits_step(const struct tg_stream_mem *m, uint64_t from, uint64_t to, uint32_t *w,
	  uint64_t *mask)
{
	uint32_t i = (uint32_t)(from & (m->ring_size - 1)), b = i & 63;
	uint32_t n = (uint32_t)min64(64 - b, to - from);

	*w = i >> 6;
	*mask = (n == 64 ? ~0ULL : (1ULL << n) - 1) << b;
	return n;
}

static void
bits_set(const struct tg_stream_mem *m, uint64_t *bm, uint64_t from, uint64_t to)
{
	uint64_t mask;
	uint32_t w;

	while (from < to) {
		from += bits_step(m, from, to, &w, &mask);
		bm[w] |= mask;
	}
}

static void
bits_clear(const struct tg_stream_mem *m, uint64_t *bm, uint64_t from, uint64_t to)
{
	uint64_t mask;
	uint32_t w;

	while (from < to) {
		from += bits_step(m, from, to, &w, &mask);
		bm[w] &= ~mask;
	}
}

/* The first offset in [from, to) whose bit is set (want) or clear (!want), else to. */
static uint64_t
bits_find(const struct tg_stream_mem *m, const uint64_t *bm, uint64_t from, uint64_t to,
	  bool want)
{
	uint64_t mask, hit;
	uint32_t w, n;

	while (from < to) {
		n = bits_step(m, from, to, &w, &mask);
		hit = (want ? bm[w] : ~bm[w]) & mask;
		if (hit)
			return from - (from & 63) + (uint64_t)__builtin_ctzll(hit);
		from += n;
	}
	return to;
}

static void
ring_write(struct tg_stream_mem *m, struct tg_stream *s, uint64_t off, const uint8_t *src,
	   uint64_t len)
{
	uint8_t *r = ring_of(m, s);
	uint32_t mask = m->ring_size - 1;

	while (len) {
		uint32_t at = (uint32_t)(off & mask);
		uint32_t n = (uint32_t)min64(len, m->ring_size - at);

		memcpy(r + at, src, n);
		off += n;
		src += n;
		len -= n;
	}
}

static inline uint16_t
word_at(const uint8_t *p, uint32_t j, uint32_t len)
{
	return (uint16_t)(p[j] << 8 | (j + 1 < len ? p[j + 1] : 0));
}

/*
 * Payload word w (w even) takes the ring's bytes at its positions in
 * [j, end); returns the checksum c adjusted for it (RFC 1624) and sets
 * *changed when the word's value changed.
 */
static inline uint16_t
patch_word(uint8_t *payload, uint16_t plen, const uint8_t *r, uint32_t mask, uint64_t pkt_off,
	   uint32_t w, uint32_t j, uint32_t end, uint16_t c, bool *changed)
{
	uint16_t old = word_at(payload, w, plen), new;
	uint32_t k;

	for (k = w; k < w + 2 && k < end; k++)
		if (k >= j)
			payload[k] = r[(pkt_off + k) & mask];
	new = word_at(payload, w, plen);
	if (new != old) {
		c = tg_csum_adjust(c, old, new);
		*changed = true;
	}
	return c;
}

/* Do the n bytes at a and b differ? n is 8 or 32; memcpy loads, no alignment needed. */
static inline bool
differ(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x = 0, u, v;
	uint32_t i;

	for (i = 0; i < n; i += 8) {
		memcpy(&u, a + i, 8);
		memcpy(&v, b + i, 8);
		x |= u ^ v;
	}
	return x != 0;
}

/*
 * Overwrites payload bytes [from, to) (stream offsets; payload[0] is at
 * pkt_off) with the ring's, patching the TCP checksum word by word (RFC
 * 1624). The payload starts 4-byte aligned from the TCP header, so payload
 * byte j is the high byte of a checksum word when j is even; an odd last
 * byte is padded with zero. Returns true when a byte changed.
 *
 * Cost: most segments leave as they came (a plain forward, a client
 * request), and libc's memcmp() tells so fastest. A masked result
 * changes a few dozen bytes of a 1460-byte segment: the bytes are then
 * compared 32 and 8 at a time and only the 8-byte blocks that differ are
 * patched, about a cycle per 10 bytes compared, where a byte-by-byte pass
 * over the whole segment from its first difference cost several per byte. Blocks start at even
 * offsets of the payload, so they hold whole checksum words; the few
 * words a block cannot cover (the first when j is odd, the last ones, a
 * block across the ring's end) take the word-by-word path.
 */
static bool
patch(struct tg_stream_mem *m, const struct tg_stream *s, uint8_t *payload, uint16_t plen,
      uint8_t *csum, uint64_t pkt_off, uint64_t from, uint64_t to)
{
	const uint8_t *r = ring_of(m, s);
	uint32_t mask = m->ring_size - 1, j, end, w, at, n;
	uint16_t c0, c;
	bool changed = false;

	if (from >= to)
		return false;
	j = (uint32_t)(from - pkt_off);
	end = (uint32_t)(to - pkt_off);
	/* cheap check first: the bytes almost always agree (at most two ring pieces) */
	for (w = j; w < end;) {
		at = (uint32_t)((pkt_off + w) & mask);
		n = (uint32_t)min64(end - w, m->ring_size - at);
		if (memcmp(payload + w, r + at, n) != 0)
			break;
		w += n;
	}
	if (w == end)
		return false;

	c = c0 = tg_rd16(csum);
	w = j & ~1u;
	if (w < j) {
		c = patch_word(payload, plen, r, mask, pkt_off, w, j, end, c, &changed);
		w += 2;
	}
	while (w < end) {
		at = (uint32_t)((pkt_off + w) & mask);
		if (w + 32 <= end && at + 32 <= m->ring_size && !differ(payload + w, r + at, 32)) {
			w += 32;
			continue;
		}
		if (w + 8 <= end && at + 8 <= m->ring_size) {
			if (differ(payload + w, r + at, 8)) {
				uint32_t k;

				/* four whole words inside [j, end): as patch_word() each, unrolled */
				for (k = 0; k < 8; k += 2) {
					uint16_t o = (uint16_t)(payload[w + k] << 8 | payload[w + k + 1]);
					uint16_t nw = (uint16_t)(r[at + k] << 8 | r[at + k + 1]);

					if (o != nw) {
						c = tg_csum_adjust(c, o, nw);
						changed = true;
					}
				}
				memcpy(payload + w, r + at, 8);
			}
			w += 8;
			continue;
		}
		/* a word the blocks cannot cover: patched only when a byte of it differs */
		if (payload[w] != r[at] || (w + 1 < end && payload[w + 1] != r[(at + 1) & mask]))
			c = patch_word(payload, plen, r, mask, pkt_off, w, j, end, c, &changed);
		w += 2;
	}
	if (c != c0)
		tg_wr16(csum, c);
	return changed;
}

/*
 * A retransmission of bytes the receiver has ACKed: the ring no longer has
 * what the consumer made of them (a masked value), so the copy that goes on
 * carries zeros instead of the original bytes. The receiver discards it
 * either way and answers with an ACK (RFC 9293 3.10.7.4), which is what
 * the sender's retransmission was after. Only streams a consumer edits
 * (app set) are scrubbed; others pass as sent. Zeroes the first n payload bytes
 * (the whole segment, or the part of it below the ACK), checksum patched:
 * the payload starts at an even offset of the checksummed data, so an odd
 * last byte is the high byte of its word, as tg_csum_partial() counts it.
 */
static void
scrub(uint8_t *payload, uint8_t *csum, uint32_t n)
{
	uint32_t sum = tg_csum_partial(payload, n, 0);

	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	if (sum == 0)
		return;
	memset(payload, 0, n);
	tg_wr16(csum, tg_csum_adjust(tg_rd16(csum), (uint16_t)sum, 0));
}

int
tg_stream_read(const struct tg_stream_mem *m, const struct tg_stream *s, uint64_t off,
	       void *dst, uint32_t len)
{
	const uint8_t *r;
	uint8_t *d = dst;
	uint32_t mask = m->ring_size - 1;

	if (s->ring == TG_STREAM_NONE || off < s->base || off + len > s->contiguous)
		return -ERANGE;
	r = ring_of(m, s);
	while (len) {
		uint32_t at = (uint32_t)(off & mask);
		uint32_t n = (uint32_t)min64(len, m->ring_size - at);

		memcpy(d, r + at, n);
		off += n;
		d += n;
		len -= n;
	}
	return 0;
}

int
tg_stream_write(struct tg_stream_mem *m, struct tg_stream *s, uint64_t off, const void *src,
		uint32_t len)
{
	if (s->ring == TG_STREAM_NONE || off < s->released || off + len > s->contiguous)
		return -ERANGE;
	ring_write(m, s, off, src, len);
	return 0;
}

static void
maybe_free_ring(struct tg_stream_mem *m, struct tg_stream *s)
{
	if (s->ring == TG_STREAM_NONE || s->base != s->contiguous || s->nb_held ||
	    s->ooo_end > s->contiguous)
		return;
	m->ring_free[m->nb_ring_free++] = s->ring;
	s->ring = TG_STREAM_NONE;
}

static void
deliver(struct tg_stream *s, uint64_t from, const struct tg_stream_consumer *c,
	struct tg_stream_mem *m)
{
	uint32_t mask = m->ring_size - 1;

	if (c == NULL || c->data == NULL) {
		s->inspected = s->contiguous;
		return;
	}
	while (from < s->contiguous) {
		uint32_t at = (uint32_t)(from & mask);
		uint32_t n = (uint32_t)min64(s->contiguous - from, m->ring_size - at);
		uint64_t mark = c->data(c->ctx, s, ring_of(m, s) + at, from, n);

		from += n;
		s->inspected = min64(max64(mark, s->inspected), from);
	}
}

void
tg_stream_set_inspected(struct tg_stream *s, uint64_t mark)
{
	s->inspected = min64(max64(mark, s->inspected), s->contiguous);
}

void
tg_stream_redeliver(struct tg_stream_mem *m, struct tg_stream *s, uint64_t from,
		    const struct tg_stream_consumer *c)
{
	if (s->ring == TG_STREAM_NONE || from < s->base || from > s->contiguous)
		return;
	deliver(s, from, c, m);
}

/* Does held segment h leave before a segment at off of length len? Data before a pure FIN. */
static inline bool
before(const struct tg_stream_held *h, uint64_t off, uint16_t len)
{
	return h->off < off || (h->off == off && !(h->len == 0 && len != 0));
}

/* Links a free slot into the held list, in release order. */
static void
hold(struct tg_stream_mem *m, struct tg_stream *s, const struct tg_stream_seg *seg, uint64_t off)
{
	uint32_t idx = m->held_free, *link = &s->held_head;
	struct tg_stream_held *h = &m->held[idx];

	m->held_free = h->next;
	m->nb_held_free--;
	*h = (struct tg_stream_held){
		.pkt = seg->pkt, .payload = seg->payload, .csum = seg->csum,
		.off = off, .len = seg->len, .fin = seg->fin,
	};
	/* in-order arrival, the common case, appends */
	if (s->held_tail != TG_STREAM_NONE && before(&m->held[s->held_tail], off, seg->len)) {
		link = &m->held[s->held_tail].next;
	} else {
		while (*link != TG_STREAM_NONE && before(&m->held[*link], off, seg->len))
			link = &m->held[*link].next;
	}
	h->next = *link;
	*link = idx;
	if (h->next == TG_STREAM_NONE)
		s->held_tail = idx;
	s->nb_held++;
	CNT(m, HELD);
}

/*
 * Room to hold one more segment? A segment that moves the in-order edge is
 * what lets everything held behind it go, so caps must never refuse it
 * while out-of-order data can still be pushed out of its way: out-of-order
 * segments stop at TG_STREAM_HELD_MAX per direction and may not take the
 * last eighth of the worker's slots; an in-order one may go to twice the
 * cap and take any slot left. An out-of-order segment over its cap is
 * dropped, as any receiver may drop out-of-order data: the sender sends it
 * again, and nothing it carried was seen by anyone. An in-order one over
 * its cap means the consumer holds too much: the exception policy decides.
 */
static enum tg_stream_verdict
check_hold_caps(struct tg_stream_mem *m, const struct tg_stream *s, bool in_order)
{
	uint32_t reserve = in_order ? 0 : m->nb_held / 8;

	if (s->nb_held >= (in_order ? 2 * TG_STREAM_HELD_MAX : TG_STREAM_HELD_MAX)) {
		CNT(m, DROP_HELD_FLOW);
		return in_order ? TG_STREAM_EXCEPTION : TG_STREAM_DROP;
	}
	if (m->nb_held_free <= reserve) {
		CNT(m, DROP_HELD_POOL);
		return in_order ? TG_STREAM_EXCEPTION : TG_STREAM_DROP;
	}
	return TG_STREAM_HOLD;
}

/* Records a FIN the engine has taken; sent says it leaves now. */
static inline void
note_fin(struct tg_stream *s, const struct tg_stream_seg *seg, uint64_t end, bool sent)
{
	if (!seg->fin)
		return;
	s->fin_off = end;
	if (sent)
		s->fin_released = true;
}

/* A FIN with no payload: it leaves after every byte before it. */
static enum tg_stream_verdict
pure_fin(struct tg_stream_mem *m, struct tg_stream *s, const struct tg_stream_seg *seg,
	 uint64_t off)
{
	enum tg_stream_verdict v;

	if (s->fin_released || (off <= s->inspected && s->nb_held == 0)) {
		note_fin(s, seg, off, true);
		s->released = max64(s->released, off);
		return TG_STREAM_FORWARD;
	}
	/* the FIN is already waiting behind held data */
	if (s->held_tail != TG_STREAM_NONE && m->held[s->held_tail].fin) {
		CNT(m, DROP_DUP_HELD);
		return TG_STREAM_DROP;
	}
	if ((v = check_hold_caps(m, s, off <= s->contiguous)) != TG_STREAM_HOLD)
		return v;
	note_fin(s, seg, off, false);
	hold(m, s, seg, off);
	return TG_STREAM_HOLD;
}

enum tg_stream_verdict
tg_stream_segment(struct tg_stream_mem *m, struct tg_stream *s, const struct tg_stream_seg *seg,
		  const struct tg_stream_consumer *c)
{
	uint64_t off, end, x, pos, contig, *bm;
	int64_t o = tg_stream_offset(s, seg->seq);
	enum tg_stream_verdict v;

	if (o < 0) {
		/* before the ISN: nothing the receiver will take */
		CNT(m, OLD);
		return TG_STREAM_DROP;
	}
	off = (uint64_t)o;
	end = off + seg->len;

	/* RFC 9293 3.10.7.4; one byte at the edge of a closed window is a probe */
	if (end > s->wnd_end && !(seg->len == 1 && off == s->wnd_end)) {
		CNT(m, DROP_WINDOW);
		return TG_STREAM_DROP;
	}
	/*
	 * Nothing may lie past a FIN: a first FIN must end at or after every
	 * byte stored, later ones must agree with it. fin_off is set only
	 * once the segment is taken (note_fin()).
	 */
	if (end > s->fin_off || (seg->fin && s->fin_off != UINT64_MAX && end != s->fin_off) ||
	    (seg->fin && s->fin_off == UINT64_MAX && end < max64(s->contiguous, s->ooo_end))) {
		CNT(m, DROP_AFTER_FIN);
		return TG_STREAM_DROP;
	}
	if (seg->len == 0)
		return seg->fin ? pure_fin(m, s, seg, off) : TG_STREAM_FORWARD;

	CNT(m, SEGS);
	if (end <= s->base) {
		CNT(m, OLD);
		/* a FIN riding on data the receiver has: everything before it is out */
		note_fin(s, seg, end, true);
		if (s->app != 0)
			scrub(seg->payload, seg->csum, seg->len);
		return TG_STREAM_FORWARD;
	}
	if (end > s->base + m->ring_size) {
		CNT(m, DROP_RING_FULL);
		return TG_STREAM_DROP;
	}

	if (end <= s->contiguous) {
		CNT(m, RETRANS);
		if (end <= s->released) {
			/* a repacketized retransmission reaching below the ACK: that part as above */
			if (off < s->base && s->app != 0)
				scrub(seg->payload, seg->csum, (uint32_t)(s->base - off));
			if (patch(m, s, seg->payload, seg->len, seg->csum, off, max64(off, s->base),
				  end))
				CNT(m, REWRITTEN);
			CNT(m, PASSED);
			note_fin(s, seg, end, true);
			return TG_STREAM_FORWARD;
		}
		/* every byte at or past released belongs to a held segment */
		CNT(m, DROP_DUP_HELD);
		return TG_STREAM_DROP;
	}

	/* Some bytes lie past contiguous: are any of them new? */
	x = max64(off, s->contiguous);
	if (s->ring != TG_STREAM_NONE && s->ooo_end > x &&
	    bits_find(m, bitmap_of(m, s), x, end, false) == end) {
		CNT(m, RETRANS);
		CNT(m, DROP_DUP_HELD);
		return TG_STREAM_DROP;
	}
	if ((v = check_hold_caps(m, s, x == s->contiguous)) != TG_STREAM_HOLD)
		return v;
	if (s->ring == TG_STREAM_NONE) {
		if (m->nb_ring_free == 0) {
			CNT(m, DROP_NO_BUF);
			return TG_STREAM_EXCEPTION;
		}
		s->ring = m->ring_free[--m->nb_ring_free];
	}
	if (x == s->contiguous && s->ooo_end <= x) {
		/* in order with nothing stored past the edge: no bitmap to touch */
		ring_write(m, s, x, seg->payload + (x - off), end - x);
		m->cnt[TG_STREAM_CNT_BYTES] += end - x;
		contig = end;
		goto stored;
	}
	bm = bitmap_of(m, s);

	/* store the runs not seen yet: bytes seen first win */
	for (pos = x; pos < end;) {
		uint64_t z = bits_find(m, bm, pos, end, false), e;

		if (z == end)
			break;
		e = bits_find(m, bm, z, end, true);
		ring_write(m, s, z, seg->payload + (z - off), e - z);
		bits_set(m, bm, z, e);
		m->cnt[TG_STREAM_CNT_BYTES] += e - z;
		pos = e;
	}
	if (x > s->contiguous)
		CNT(m, OOO);
	s->ooo_end = max64(s->ooo_end, end);

	/* the in-order edge moves over every byte now present */
	contig = bits_find(m, bm, s->contiguous, s->ooo_end, false);
	bits_clear(m, bm, s->contiguous, contig);
stored:
	/*
	 * Bytes before x came with earlier segments: by the time this one
	 * leaves, the receiver may have ACKed them and the ring may no longer
	 * have what the consumer made of them. Zeroed now; the release
	 * rewrites from the ring those still at or past the ACK then.
	 */
	if (x > off && s->app != 0)
		scrub(seg->payload, seg->csum, (uint32_t)(x - off));
	note_fin(s, seg, end, false);
	hold(m, s, seg, off);
	if (contig != s->contiguous) {
		uint64_t from = s->contiguous;

		s->contiguous = contig;
		deliver(s, from, c, m);
	}
	return TG_STREAM_HOLD;
}

static void
unlink_head(struct tg_stream_mem *m, struct tg_stream *s)
{
	uint32_t idx = s->held_head;
	struct tg_stream_held *h = &m->held[idx];

	s->held_head = h->next;
	if (s->held_head == TG_STREAM_NONE)
		s->held_tail = TG_STREAM_NONE;
	h->next = m->held_free;
	h->pkt = NULL;
	m->held_free = idx;
	m->nb_held_free++;
	s->nb_held--;
}

unsigned int
tg_stream_release(struct tg_stream_mem *m, struct tg_stream *s, void **pkts, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && s->held_head != TG_STREAM_NONE) {
		struct tg_stream_held *h = &m->held[s->held_head];
		uint64_t end = h->off + h->len;

		if (end > s->inspected || (h->len == 0 && h->off > s->inspected))
			break;
		if (h->len && s->ring != TG_STREAM_NONE &&
		    patch(m, s, h->payload, h->len, h->csum, h->off, max64(h->off, s->base), end))
			CNT(m, REWRITTEN);
		if (h->fin)
			s->fin_released = true;
		s->released = max64(s->released, end);
		pkts[n++] = h->pkt;
		unlink_head(m, s);
		CNT(m, RELEASED);
	}
	maybe_free_ring(m, s);
	return n;
}

int
tg_stream_ack(struct tg_stream_mem *m, struct tg_stream *s, uint32_t ack, uint64_t window)
{
	int64_t o = tg_stream_offset(s, ack);
	uint64_t off, limit = s->released + (s->fin_released ? 1 : 0);

	if (o < 0)
		return 0;	/* older than the ISN: ignored, like any stale ACK */
	off = (uint64_t)o;
	if (off > limit) {
		CNT(m, ACK_INVALID);
		return -1;
	}
	if (off > s->base)
		s->base = min64(off, s->released);
	s->wnd_end = max64(s->wnd_end, off + window);
	maybe_free_ring(m, s);
	return 0;
}

unsigned int
tg_stream_drop_all(struct tg_stream_mem *m, struct tg_stream *s, void **pkts, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && s->held_head != TG_STREAM_NONE) {
		pkts[n++] = m->held[s->held_head].pkt;
		unlink_head(m, s);
		CNT(m, DISCARDED);
	}
	if (s->ring != TG_STREAM_NONE && s->ooo_end > s->contiguous)
		bits_clear(m, bitmap_of(m, s), s->contiguous, s->ooo_end);
	s->ooo_end = 0;
	/* the direction is over: what was held counts as gone, keeping the order of the marks */
	s->inspected = s->released = s->base = s->contiguous;
	maybe_free_ring(m, s);
	return n;
}
