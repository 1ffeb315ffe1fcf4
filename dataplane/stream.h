/* SPDX-License-Identifier: MIT */
/*
 * stream.h — inline reassembly of one direction of a TCP flow.
 *
 * The contract: the receiver gets exactly the bytes the consumer inspected.
 * Every payload byte is stored in a per-direction ring the first time it is
 * seen ("first seen wins", the inline policy of Suricata and of most
 * targets, RFC 9293 3.10.7.4); the segment that carried it is *held* until
 * the consumer has inspected every byte of it, then *released* in sequence
 * order, its payload overwritten from the ring on the way out. So a
 * retransmission or overlap carrying different bytes (Ptacek-Newsham
 * insertion and evasion) leaves with the bytes that were inspected, and an
 * edit the consumer made in the ring (masking) reaches the receiver too.
 * The TCP checksum is patched incrementally (RFC 1624) for every changed
 * word.
 *
 * Offsets: bytes are numbered from 0 at ISN+1 in 64-bit offsets, so 32-bit
 * sequence wraparound is handled once, in unwrap(), against the current
 * in-order edge.
 *
 *   base <= released <= inspected <= contiguous <= highest stored
 *   base       first byte kept: the receiver has ACKed everything before it
 *   released   every held segment ending at or before it has been sent on
 *   inspected  the consumer's mark: bytes before it may leave
 *   contiguous end of the in-order data (all of it given to the consumer)
 *
 * Memory, allocated at start per worker (struct tg_stream_mem): a pool of
 * equal power-of-two rings and a pool of held-segment slots. A direction
 * takes a ring at its first byte and gives it back when every byte has been
 * ACKed and nothing is held, so idle sessions hold no buffer. The ring size
 * bounds what one direction may have in flight; the tracker clamps the
 * window each receiver advertises to it, so a conforming sender never
 * overruns it.
 *
 * Mbufs: held segments keep their mbuf (no copy on the fast path) but are
 * capped per direction (TG_STREAM_HELD_MAX out of order, twice that in
 * order) and per worker (the slot pool),
 * and the mbuf pool is sized with the per-worker cap on top of every rx and
 * tx descriptor, so a stalled consumer cannot starve rx of mbufs. Copying
 * held payload into the ring and freeing the mbuf would cap mbufs lower but
 * costs a copy of every byte and a rebuilt frame on release; holding costs
 * none, and the ring already has the bytes for rewriting.
 *
 * Out of order: which bytes past the in-order edge are present is a bitmap
 * kept after each ring (one bit per byte, 1/8 of the ring), so any number
 * of holes costs nothing per flow; the held-segment cap bounds the work.
 *
 * Caps: a direction over its held-segment cap, or a worker out of held
 * slots or rings, returns TG_STREAM_EXCEPTION and the service's exception
 * policy decides (reset the session, or drop the segment so the sender
 * retransmits it). An out-of-order segment over a held cap is dropped
 * instead (TG_STREAM_DROP): the sender retransmits it, as after any loss,
 * so a lossy, reordering path slows a session rather than resetting it.
 * Each cap has its own counter.
 *
 * Caveats:
 * - Bytes below base are not checked: the receiver has ACKed past them and
 *   discards them (RFC 9293 3.10.7.4). In a stream a consumer edits (app
 *   set) they leave zeroed, as the ring may no longer hold their edited
 *   form: a retransmission reaching below the ACK never carries a value the
 *   consumer masked.
 */
#ifndef TG_STREAM_H
#define TG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_STREAM_HELD_MAX 128
#define TG_STREAM_NONE UINT32_MAX

#define TG_STREAM_COUNTERS(X) \
	X(SEGS, "segs", "data segments seen") \
	X(BYTES, "bytes", "new payload bytes stored") \
	X(HELD, "held", "segments held for inspection") \
	X(RELEASED, "released", "held segments released") \
	X(DISCARDED, "discarded", "held segments freed unsent when their direction ended") \
	X(PASSED, "passed", "segments passed at once (already inspected)") \
	X(OOO, "ooo", "segments stored out of order") \
	X(RETRANS, "retrans", "segments with no new byte") \
	X(REWRITTEN, "rewritten", "segments whose bytes were rewritten on the way out") \
	X(OLD, "old", "segments wholly below the receiver's ACK (payload zeroed when inspected)") \
	X(DROP_WINDOW, "drop_window", "data outside the receiver's window") \
	X(DROP_DUP_HELD, "drop_dup_held", "duplicate of bytes already held") \
	X(DROP_HELD_FLOW, "drop_held_flow", "per-direction held segment cap (out of order: dropped)") \
	X(DROP_HELD_POOL, "drop_held_pool", "per-worker held segment pool empty (out of order: dropped)") \
	X(DROP_NO_BUF, "drop_no_buf", "per-worker ring pool empty (memcap)") \
	X(DROP_RING_FULL, "drop_ring_full", "data beyond the ring (window overrun)") \
	X(DROP_AFTER_FIN, "drop_after_fin", "data beyond the FIN") \
	X(ACK_INVALID, "ack_invalid", "ACK for bytes never released")

enum tg_stream_counter {
#define TG_STREAM_CNT_ENUM(e, n, d) TG_STREAM_CNT_##e,
	TG_STREAM_COUNTERS(TG_STREAM_CNT_ENUM)
#undef TG_STREAM_CNT_ENUM
	TG_STREAM_CNT_MAX
};

extern const char *const tg_stream_counter_names[TG_STREAM_CNT_MAX];

/* A segment handed to the engine; pkt is the caller's (an mbuf). */
struct tg_stream_seg {
	void *pkt;
	uint8_t *payload;	/* in the frame */
	uint8_t *csum;		/* TCP checksum field, network order */
	uint32_t seq;
	uint16_t len;
	bool fin;
};

struct tg_stream_held {
	void *pkt;
	uint8_t *payload;
	uint8_t *csum;
	uint64_t off;
	uint16_t len;
	bool fin;
	uint32_t next;
};

struct tg_stream_mem {
	uint8_t *rings;		/* each ring followed by its presence bitmap */
	uint32_t ring_size;	/* power of two, at least 64 */
	uint32_t ring_stride;
	size_t rings_bytes;
	uint32_t nb_rings;
	uint32_t *ring_free;	/* stack of free ring indices */
	uint32_t nb_ring_free;
	struct tg_stream_held *held;
	uint32_t nb_held;
	uint32_t held_free;	/* free list head */
	uint32_t nb_held_free;
	uint64_t cnt[TG_STREAM_CNT_MAX];
};

struct tg_stream {
	uint32_t isn1;		/* sequence number of offset 0 */
	uint32_t ring;		/* index in mem, or TG_STREAM_NONE */
	uint64_t base;
	uint64_t released;
	uint64_t inspected;
	uint64_t contiguous;
	uint64_t wnd_end;	/* receiver's right window edge */
	uint64_t fin_off;	/* offset of the FIN, UINT64_MAX until seen */
	uint64_t ooo_end;	/* end of the data stored past a gap, if any */
	uint32_t held_head, held_tail;
	uint16_t nb_held;
	bool fin_released;
	/*
	 * The consumer's tag (its session + 1), 0: none. Non-zero also means
	 * the consumer edits this stream: bytes a segment carries below the
	 * receiver's ACK, which the ring no longer holds as edited, leave zeroed.
	 */
	uint32_t app;
};

/*
 * The consumer of a direction. data() gets new in-order bytes, each once,
 * starting at offset off, and may edit them in place (they are the ring;
 * edits reach the receiver). It returns the new inspected mark, clamped to
 * [s->inspected, off + len]: returning less is "need more" or "hold" (the
 * bytes stay held until a later data() call or tg_stream_set_inspected()
 * moves the mark). A ring wrap splits one delivery into two calls. With no
 * consumer every byte counts as inspected on arrival.
 */
struct tg_stream_consumer {
	uint64_t (*data)(void *ctx, struct tg_stream *s, uint8_t *bytes, uint64_t off,
			 uint32_t len);
	void *ctx;
};

enum tg_stream_verdict {
	TG_STREAM_FORWARD,	/* send the packet now (its bytes may have been rewritten) */
	TG_STREAM_HOLD,		/* the engine keeps it; it comes back from tg_stream_release() */
	TG_STREAM_DROP,		/* free it; the reason was counted */
	TG_STREAM_EXCEPTION,	/* a memcap was hit: apply the exception policy */
};

/* Allocates the pools of one worker: nb_rings rings of ring_size bytes, nb_held slots. */
int tg_stream_mem_init(struct tg_stream_mem *m, uint32_t nb_rings, uint32_t ring_size,
		       uint32_t nb_held);
void tg_stream_mem_free(struct tg_stream_mem *m);

/* Starts a direction whose first data byte has sequence number isn1 (ISN + 1); keeps app. */
void tg_stream_init(struct tg_stream *s, uint32_t isn1);

/* The 64-bit offset of a sequence number, unwrapped around the in-order edge. */
int64_t tg_stream_offset(const struct tg_stream *s, uint32_t seq);

/*
 * Takes one segment with payload or FIN. On TG_STREAM_HOLD the engine owns
 * seg->pkt until tg_stream_release() or tg_stream_drop_all() hands it back.
 * New in-order bytes are given to the consumer before this returns.
 */
enum tg_stream_verdict tg_stream_segment(struct tg_stream_mem *m, struct tg_stream *s,
					 const struct tg_stream_seg *seg,
					 const struct tg_stream_consumer *c);

/*
 * Moves the inspected mark (an asynchronous verdict). The mark never goes
 * back and never passes contiguous.
 */
void tg_stream_set_inspected(struct tg_stream *s, uint64_t mark);

/*
 * Gives bytes [from, contiguous) to the consumer again, as data() calls,
 * for a consumer that stopped reading at from and left the rest held (it
 * returned a mark at most from): an approval hold parks a statement and
 * reads what the client sent behind it only once it is decided. from must
 * lie between the receiver's ACK and contiguous; otherwise nothing.
 */
void tg_stream_redeliver(struct tg_stream_mem *m, struct tg_stream *s, uint64_t from,
			 const struct tg_stream_consumer *c);

/*
 * Pops up to max held segments that may now leave, in sequence order, each
 * rewritten from the ring. Returns how many packets it wrote to pkts.
 */
unsigned int tg_stream_release(struct tg_stream_mem *m, struct tg_stream *s, void **pkts,
			       unsigned int max);

/*
 * The receiver's ACK and window (in bytes, after scaling) for this
 * direction. Returns 0, or -1 when the ACK covers bytes never released,
 * which the caller drops.
 */
int tg_stream_ack(struct tg_stream_mem *m, struct tg_stream *s, uint32_t ack, uint64_t window);

/*
 * Copies bytes [off, off + len) out of the ring: they must lie between
 * base (the receiver's ACK) and contiguous. Returns 0 or -ERANGE.
 */
int tg_stream_read(const struct tg_stream_mem *m, const struct tg_stream *s, uint64_t off,
		   void *dst, uint32_t len);

/*
 * Overwrites bytes [off, off + len) in the ring, for a consumer that edits
 * bytes of an earlier delivery it still holds (a masked value split across
 * segments): they must lie between released and contiguous, and leave with
 * the held segments that carry them, checksums patched. Returns 0 or
 * -ERANGE.
 */
int tg_stream_write(struct tg_stream_mem *m, struct tg_stream *s, uint64_t off, const void *src,
		    uint32_t len);

/* Ends a direction: hands back every held packet (for the caller to free) and the ring. */
unsigned int tg_stream_drop_all(struct tg_stream_mem *m, struct tg_stream *s, void **pkts,
				unsigned int max);

/* True while the direction holds packets or out-of-order data. */
static inline bool
tg_stream_busy(const struct tg_stream *s)
{
	return s->nb_held != 0 || s->ooo_end > s->contiguous;
}

#endif /* TG_STREAM_H */
