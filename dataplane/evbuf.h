/* SPDX-License-Identifier: MIT */
/*
 * evbuf.h — the control thread's store of audit events on their way to the
 * slowpath: numbered, kept until the slowpath says they are durable, and
 * sent again after a reconnection. DPDK-free, so the unit tests drive it
 * alone (tests/unit/test_evbuf.c).
 *
 * Life of an event. A worker encodes it in its wire form (the event layout
 * of punt.h, tg_evbuf_encode()) into a slot of its own and hands the slot
 * to the control thread (control.h), which appends the bytes here with
 * tg_evbuf_push(). That numbers them: 1, 2, 3... for the life of the
 * process, the EVENT_BATCH numbering of punt.h. tg_evbuf_batch() writes
 * the oldest events not yet sent into one EVENT_BATCH datagram,
 * tg_evbuf_sent() records that it left, tg_evbuf_ack() drops what a
 * BATCH_ACK says is durable (cumulative), and tg_evbuf_rewind() after a
 * reconnection makes every event not acknowledged unsent again, so the
 * next batches carry it once more; the slowpath deduplicates by (instance,
 * seq). An event sent a second time is counted resent.
 *
 * Why the wire form: it is the most compact form of an event (a statement
 * is typically 200-300 bytes of its 2 KB worst case), it is written once
 * by the worker and never again converted, and the codec that writes and
 * reads it is the one both processes already trust. A batch is built by
 * decoding each stored event (tg_punt_batch_next()) and adding it to the
 * datagram (tg_punt_batch_add()): a few hundred nanoseconds per event on
 * the control thread, and the batch is canonical by construction.
 *
 * Memory: a byte ring of ring_bytes and an index of max_events entries,
 * allocated at init. A record is stored contiguously (wrapping to the
 * start of the ring when it does not fit at the end). The store is full
 * when either runs out: then tg_evbuf_push() refuses the new event and
 * counts it lost. The newest event loses, not the oldest, because older
 * ones may be in flight and the numbering must stay gap-free.
 *
 * Caveats:
 * - A lost event takes no number, so the slowpath cannot see the loss in
 *   the numbering: the control thread checks tg_evbuf_fits() before it
 *   takes an event from a worker (backpressure, control.h), and reports
 *   the events its workers could not hand over as LOST events.
 * - The byte ring fragments at its end: a record that fits neither after
 *   the newest nor before the oldest waits for acknowledgements even when
 *   the total free space would hold it.
 */
#ifndef TG_EVBUF_H
#define TG_EVBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "punt.h"

/* Where tg_evbuf_encode() puts the event: after an EVENT_BATCH's header and fixed fields. */
#define TG_EVBUF_ENC_OFF (TG_PUNT_HDR_LEN + 10)
/* A buffer that holds any event tg_evbuf_encode() writes. */
#define TG_EVBUF_ENC_SIZE (TG_EVBUF_ENC_OFF + TG_PUNT_EVENT_MAX)
/* Bytes of ring per event when sized from a count of events (tg_evbuf_ring_bytes()). */
#define TG_EVBUF_AVG_EVENT 512
#define TG_EVBUF_EVENTS_MAX (1u << 22)

/* X(enum suffix, name, description) */
#define TG_EVBUF_COUNTERS(X) \
	X(QUEUED, "events_queued", "events numbered and kept") \
	X(LOST, "events_lost", "events refused: buffer full") \
	X(SENT, "events_sent", "events sent, resent ones included") \
	X(RESENT, "events_resent", "events sent again after a reconnection") \
	X(ACKED, "events_acked", "events acknowledged durable") \
	X(BATCHES, "batches_sent", "EVENT_BATCH datagrams sent")

enum tg_evbuf_counter {
#define TG_EVBUF_CNT_ENUM(e, n, d) TG_EVBUF_CNT_##e,
	TG_EVBUF_COUNTERS(TG_EVBUF_CNT_ENUM)
#undef TG_EVBUF_CNT_ENUM
	TG_EVBUF_CNT_MAX
};

extern const char *const tg_evbuf_counter_names[TG_EVBUF_CNT_MAX];

struct tg_evbuf {
	uint8_t *ring;
	size_t ring_size;
	size_t head;		/* where the next record may go */
	uint32_t *off;		/* by seq % max_events: the record's offset */
	uint16_t *len;		/* and its length */
	uint32_t max_events;
	uint64_t acked;		/* every event up to it is durable and gone */
	uint64_t next_seq;	/* the number the next event gets */
	uint64_t send_seq;	/* the first event not sent on this connection */
	uint64_t sent_max;	/* the highest number ever sent, 0: none */
	uint64_t cnt[TG_EVBUF_CNT_MAX];
};

/* The byte ring for max_events events of TG_EVBUF_AVG_EVENT bytes, at least two of the largest. */
size_t tg_evbuf_ring_bytes(uint32_t max_events);

/*
 * Allocates a store of at most max_events events (1..TG_EVBUF_EVENTS_MAX)
 * in ring_bytes bytes (at least TG_PUNT_EVENT_MAX). Returns 0 or -errno.
 */
int tg_evbuf_init(struct tg_evbuf *b, uint32_t max_events, size_t ring_bytes);
void tg_evbuf_free(struct tg_evbuf *b);

/*
 * Encodes one event in its wire form into buf[0, size) (TG_EVBUF_ENC_SIZE
 * always suffices); the event's bytes start at buf + TG_EVBUF_ENC_OFF.
 * Returns their length, or -EINVAL (a value the codec refuses) or -ENOSPC.
 * DPDK-free and without a syscall: workers call it.
 */
int tg_evbuf_encode(uint8_t *buf, size_t size, const struct tg_punt_event *ev);

/* Would tg_evbuf_push() keep an event of len bytes now? */
bool tg_evbuf_fits(const struct tg_evbuf *b, size_t len);

/*
 * Keeps the len bytes of one encoded event (from tg_evbuf_encode()).
 * Returns its number, or 0 when the store is full or len is not that of
 * an event (counted lost).
 */
uint64_t tg_evbuf_push(struct tg_evbuf *b, const uint8_t *ev, size_t len);

/*
 * Writes the next EVENT_BATCH (message sequence number msg_seq) of the
 * events not yet sent, as many as buf[0, size) and TG_PUNT_BATCH_MAX
 * allow, into buf. Returns its length and *count, or 0 when nothing is
 * waiting, or -ENOSPC (buf holds no event) or -EINVAL. Nothing counts as
 * sent until tg_evbuf_sent().
 */
int tg_evbuf_batch(struct tg_evbuf *b, uint8_t *buf, size_t size, uint64_t msg_seq,
		   uint16_t *count);

/* The batch of count events written last has left. */
void tg_evbuf_sent(struct tg_evbuf *b, uint16_t count);

/*
 * BATCH_ACK: every event up to durable is durable. Returns how many events
 * that frees (0 for an acknowledgement already seen), or -ERANGE when
 * durable names an event never sent: the peer is wrong.
 */
int tg_evbuf_ack(struct tg_evbuf *b, uint64_t durable);

/* A new connection: every event not acknowledged is to be sent again. */
void tg_evbuf_rewind(struct tg_evbuf *b);

/* Events kept (not acknowledged), and of them not sent on this connection. */
static inline uint64_t
tg_evbuf_pending(const struct tg_evbuf *b)
{
	return b->next_seq - 1 - b->acked;
}

static inline uint64_t
tg_evbuf_unsent(const struct tg_evbuf *b)
{
	return b->next_seq - b->send_seq;
}

#endif /* TG_EVBUF_H */
