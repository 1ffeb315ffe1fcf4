/* SPDX-License-Identifier: MIT */
/*
 * edit.h — the stream editor: what the gateway consumes from and injects
 * into one direction of a live TCP flow, and the sequence translation that
 * keeps both endpoints consistent afterwards.
 *
 * Two sequence spaces per direction. The sender numbers its bytes in its
 * own space ("o", the stream offsets of stream.h: 0 at ISN + 1); the
 * receiver sees another ("t"). An edit point at o-offset off says: insert
 * `inject` bytes of the gateway's before byte off, then drop the sender's
 * bytes [off, off + consume). Points are kept in order, each with the
 * cumulative delta (t - o) of the bytes after it; every later packet of the
 * direction has its SEQ mapped o -> t and every packet of the other
 * direction has its ACK mapped t -> o (tg_edit_ack()), the window with it.
 * netfilter's seqadj keeps one such point per direction ("we don't handle
 * more than one adjustment in the window"); here there are up to
 * TG_EDIT_POINTS, so a pipelining client may have several blocked
 * statements in flight and retransmissions of any of them still map.
 *
 * Consumed bytes are acknowledged to the sender by the mapping itself: an
 * ACK of the receiver for everything before them maps to their end, so the
 * sender never retransmits them, and the gateway sends that ACK itself
 * when the receiver has nothing new to acknowledge (the worker's pure ACK,
 * or the ACK field of an injected segment going the same way).
 *
 * Injected bytes belong to the gateway until the receiver acknowledges
 * them: they are kept here (TG_EDIT_INJECT_MAX bytes per direction) and
 * sent when the sender's stream has been released up to their point, within
 * the receiver's window, then retransmitted by the worker on a timer
 * (tg_edit_rto_*) until ACKed. A point is pruned once its injected bytes
 * are ACKed by the receiver and its consumed bytes by the mapping; its
 * delta becomes the base delta of the direction.
 *
 * A whole direction. Nothing here assumes an edit is small: consuming every
 * byte of a direction and injecting every byte of the other (TLS
 * termination) is one open-ended consume point per burst and a stream of
 * injections. What limits that today is TG_EDIT_INJECT_MAX, a buffer size,
 * not the model; a terminator would give the injected bytes a stream ring.
 *
 * Everything is in 64-bit offsets (no wraparound; stream.h unwraps).
 * DPDK-free: the worker (worker.c) maps packets, this maps numbers.
 *
 * Caveats:
 * - A retransmission of sender bytes older than a pruned point would map
 *   with the base delta: the worker never sends bytes below what their
 *   sender was told is ACKed (told), which covers every pruned point; it
 *   ACKs the sender again instead.
 * - Points must come in order: an edit before the last point is refused.
 */
#ifndef TG_EDIT_H
#define TG_EDIT_H

#include <stdbool.h>
#include <stdint.h>

#define TG_EDIT_POINTS 16
#define TG_EDIT_INJECT_MAX 4096

struct tg_edit_point {
	uint64_t off;		/* o-offset of the point */
	uint64_t consume;	/* sender bytes [off, off + consume) dropped */
	uint64_t tinj;		/* t-offset of the first injected byte */
	int64_t delta;		/* t - o for bytes at or after off + consume */
	uint32_t inj_pos;	/* where its injected bytes start, in buf (absolute) */
	uint16_t inject;	/* bytes inserted before off */
	bool sent;		/* its injected bytes have been sent once */
};

struct tg_edit {
	int64_t delta0;		/* t - o before the first point */
	uint64_t tack;		/* the receiver's highest ACK, t-offset */
	uint64_t rwnd;		/* the receiver's last window, bytes */
	uint64_t told;		/* the highest ACK the sender has been sent, o-offset */
	uint64_t floor;		/* the end of the last point pruned: no edit may come before it */
	uint8_t n;		/* points */
	bool active;		/* has ever been edited: packets are mapped */
	struct tg_edit_point pt[TG_EDIT_POINTS];
	/* injected bytes of every live point, in order: absolute position
	 * pos is buf[buf_head + pos - buf_base] */
	uint32_t buf_base, buf_head, buf_len;
	uint64_t rto_at;	/* ns of the next retransmission, 0: none armed */
	uint32_t rto_ms;
	uint8_t rto_tries;
	uint8_t buf[TG_EDIT_INJECT_MAX];
};

/* Initial retransmission timeout, its cap, and tries before the session is reset */
#define TG_EDIT_RTO_MS 200
#define TG_EDIT_RTO_MAX_MS 8000
#define TG_EDIT_RTO_TRIES 10

/*
 * Starts editing a direction whose receiver has ACKed up to o-offset acked
 * (t = o so far). Idempotent: a direction already active is left alone.
 */
void tg_edit_start(struct tg_edit *e, uint64_t acked, uint64_t rwnd);

/*
 * Inserts n bytes before o-offset off and drops the sender's bytes
 * [off, off + consume): consume only (n 0), inject only (consume 0) or
 * replace. off may not lie before the end of the last point, pruned or
 * not. An edit
 * adjacent to the last one merges with it. Returns 0, -ERANGE (out of
 * order), -ENOSPC (no point left) or -ENOBUFS (injected bytes over the
 * buffer).
 */
int tg_edit_replace(struct tg_edit *e, uint64_t off, uint64_t consume, const void *bytes,
		    uint16_t n);

/* The t-offset of sender byte o (a consumed byte maps to the end of its point's injection). */
uint64_t tg_edit_map(const struct tg_edit *e, uint64_t o);

/*
 * The sender's view of a receiver ACK at t-offset a: the smallest o whose
 * byte is kept and maps at or after a (consumed bytes are acknowledged
 * with what precedes them; injected ones are the gateway's business).
 */
uint64_t tg_edit_unmap_ack(const struct tg_edit *e, uint64_t a);

/*
 * Takes a receiver ACK (t-offset) and window (bytes). Returns the sender's
 * ACK (o-offset) and sets *owin to the window as the sender must see it:
 * the receiver's right edge mapped back, less the ACK.
 */
uint64_t tg_edit_ack(struct tg_edit *e, uint64_t a, uint64_t win, uint64_t *owin);

/*
 * A piece of a sender segment [off, off + len) as it leaves: kept bytes
 * [off, off + len) of the sender going to t-offset t, or (inject true)
 * injected bytes of point pt.
 */
struct tg_edit_piece {
	uint64_t off;
	uint64_t t;
	uint32_t len;
	bool inject;
	uint8_t pt;
};

/*
 * Splits the sender's segment [off, off + len) into what leaves, in order:
 * runs of kept bytes (consumed ones cut out; two runs that meet in t with
 * no injection between may go in one packet) and the injections never
 * sent of points up to its end. Nothing is marked: the caller marks what
 * it sent (tg_edit_mark_sent()). Returns the number of pieces, at most
 * max.
 */
unsigned int tg_edit_pieces(struct tg_edit *e, uint64_t off, uint64_t len,
			    struct tg_edit_piece *out, unsigned int max);

/*
 * Injections whose point the sender's stream has been released up to
 * (released: stream.h's mark) and that were never sent, as pieces (at most
 * max).
 */
unsigned int tg_edit_due(struct tg_edit *e, uint64_t released, struct tg_edit_piece *out,
			 unsigned int max);

/* An injection went out (its first transmission). */
void tg_edit_mark_sent(struct tg_edit *e, uint8_t pt);

/*
 * The bytes of an injected piece (inject true: off is the index of its
 * first byte in the point's injection).
 */
const uint8_t *tg_edit_bytes(const struct tg_edit *e, const struct tg_edit_piece *pc);

/*
 * Unacknowledged injected bytes that were sent, as pieces from the
 * receiver's ACK on (for retransmission). Returns their number.
 */
unsigned int tg_edit_unacked(const struct tg_edit *e, struct tg_edit_piece *out,
			     unsigned int max);

/*
 * Drops the points whose injected bytes the receiver has ACKed (tack) and
 * whose consumed bytes the sender has been told of (sender_acked: the
 * stream's base, o-offset). Returns how many were pruned.
 */
unsigned int tg_edit_prune(struct tg_edit *e, uint64_t sender_acked);

/* Is anything injected and not yet ACKed (the retransmission timer runs)? */
bool tg_edit_pending(const struct tg_edit *e);

/*
 * Timer: arms the retransmission at now_ns + rto when injected bytes are
 * outstanding and it is not armed; disarms it when none are.
 */
void tg_edit_rto_arm(struct tg_edit *e, uint64_t now_ns);

/*
 * Has the timer fired? Then it backs off (doubling, capped) and rearms;
 * *give_up is set once TG_EDIT_RTO_TRIES retransmissions went unanswered.
 */
bool tg_edit_rto_due(struct tg_edit *e, uint64_t now_ns, bool *give_up);

#endif /* TG_EDIT_H */
