/* SPDX-License-Identifier: MIT */
/*
 * evbuf.c — the store of events not yet acknowledged. See evbuf.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evbuf.h"

const char *const tg_evbuf_counter_names[TG_EVBUF_CNT_MAX] = {
#define NAME(e, n, d) [TG_EVBUF_CNT_##e] = n,
	TG_EVBUF_COUNTERS(NAME)
#undef NAME
};

_Static_assert(TG_PUNT_EVENT_MAX <= UINT16_MAX, "a record's length is a u16");
_Static_assert((uint64_t)TG_EVBUF_EVENTS_MAX * TG_EVBUF_AVG_EVENT <= UINT32_MAX,
	       "record offsets are u32");

#define CNT(b, c, n) ((b)->cnt[TG_EVBUF_CNT_##c] += (n))

size_t
tg_evbuf_ring_bytes(uint32_t max_events)
{
	size_t n = (size_t)max_events * TG_EVBUF_AVG_EVENT;

	return n > 2 * TG_PUNT_EVENT_MAX ? n : 2 * TG_PUNT_EVENT_MAX;
}

int
tg_evbuf_init(struct tg_evbuf *b, uint32_t max_events, size_t ring_bytes)
{
	memset(b, 0, sizeof(*b));
	if (max_events == 0 || max_events > TG_EVBUF_EVENTS_MAX ||
	    ring_bytes < TG_PUNT_EVENT_MAX || ring_bytes > UINT32_MAX)
		return -EINVAL;
	b->ring = malloc(ring_bytes);
	b->off = calloc(max_events, sizeof(*b->off));
	b->len = calloc(max_events, sizeof(*b->len));
	if (b->ring == NULL || b->off == NULL || b->len == NULL) {
		tg_evbuf_free(b);
		return -ENOMEM;
	}
	b->ring_size = ring_bytes;
	b->max_events = max_events;
	b->next_seq = 1;
	b->send_seq = 1;
	return 0;
}

void
tg_evbuf_free(struct tg_evbuf *b)
{
	free(b->ring);
	free(b->off);
	free(b->len);
	memset(b, 0, sizeof(*b));
}

int
tg_evbuf_encode(uint8_t *buf, size_t size, const struct tg_punt_event *ev)
{
	struct tg_punt_enc e;
	int rc;

	/* a batch of one, numbered 1: only the event's bytes are kept */
	if ((rc = tg_punt_batch_begin(&e, buf, size, 1, 1)) < 0)
		return rc;
	if (e.len != TG_EVBUF_ENC_OFF)
		return -EINVAL;
	if ((rc = tg_punt_batch_add(&e, ev)) < 0)
		return rc;
	return (int)(e.len - TG_EVBUF_ENC_OFF);
}

/* The offset where a record of len bytes can go, or -1: no room. */
static int64_t
place(const struct tg_evbuf *b, size_t len)
{
	size_t tail;

	if (tg_evbuf_pending(b) == 0)
		return len <= b->ring_size ? 0 : -1;
	if (tg_evbuf_pending(b) == b->max_events)
		return -1;
	tail = b->off[(b->acked + 1) % b->max_events];
	if (b->head > tail) {
		/* used: [tail, head); free: [head, end) and [0, tail) */
		if (b->ring_size - b->head >= len)
			return (int64_t)b->head;
		return tail >= len ? 0 : -1;
	}
	/* wrapped (or exactly full): used [tail, end) and [0, head); free [head, tail) */
	return tail - b->head >= len ? (int64_t)b->head : -1;
}

bool
tg_evbuf_fits(const struct tg_evbuf *b, size_t len)
{
	return len != 0 && len <= TG_PUNT_EVENT_MAX && place(b, len) >= 0;
}

uint64_t
tg_evbuf_push(struct tg_evbuf *b, const uint8_t *ev, size_t len)
{
	uint32_t i;
	int64_t at;

	if (len == 0 || len > TG_PUNT_EVENT_MAX || (at = place(b, len)) < 0) {
		CNT(b, LOST, 1);
		return 0;
	}
	memcpy(b->ring + at, ev, len);
	i = (uint32_t)(b->next_seq % b->max_events);
	b->off[i] = (uint32_t)at;
	b->len[i] = (uint16_t)len;
	b->head = (size_t)at + len;
	CNT(b, QUEUED, 1);
	return b->next_seq++;
}

int
tg_evbuf_batch(struct tg_evbuf *b, uint8_t *buf, size_t size, uint64_t msg_seq,
	       uint16_t *count)
{
	struct tg_punt_event ev;
	struct tg_punt_enc e;
	uint64_t s;
	int rc;

	*count = 0;
	if (tg_evbuf_unsent(b) == 0)
		return 0;
	if ((rc = tg_punt_batch_begin(&e, buf, size, msg_seq, b->send_seq)) < 0)
		return rc;
	for (s = b->send_seq; s < b->next_seq; s++) {
		uint32_t i = (uint32_t)(s % b->max_events);
		/* bytes tg_evbuf_encode() wrote: they decode */
		struct tg_punt_iter it = {
			.p = b->ring + b->off[i], .left = b->len[i], .n = 1, .seq = s,
		};

		if (!tg_punt_batch_next(&it, &ev))
			return -EINVAL;
		rc = tg_punt_batch_add(&e, &ev);
		if (rc == -ENOSPC)
			break;
		if (rc < 0)
			return rc;
	}
	if (e.count == 0)
		return -ENOSPC;
	*count = e.count;
	return tg_punt_batch_end(&e);
}

void
tg_evbuf_sent(struct tg_evbuf *b, uint16_t count)
{
	uint64_t last = b->send_seq + count - 1, again;

	if (count == 0 || count > tg_evbuf_unsent(b))
		return;
	again = b->sent_max >= b->send_seq
			? (b->sent_max < last ? b->sent_max : last) - b->send_seq + 1
			: 0;
	CNT(b, SENT, count);
	CNT(b, RESENT, again);
	CNT(b, BATCHES, 1);
	b->send_seq = last + 1;
	if (last > b->sent_max)
		b->sent_max = last;
}

int
tg_evbuf_ack(struct tg_evbuf *b, uint64_t durable)
{
	uint64_t n;

	if (durable > b->sent_max)
		return -ERANGE;
	if (durable <= b->acked)
		return 0;
	n = durable - b->acked;
	b->acked = durable;
	/* acknowledged before this connection sent it again: never resent */
	if (b->send_seq <= durable)
		b->send_seq = durable + 1;
	if (tg_evbuf_pending(b) == 0)
		b->head = 0;
	CNT(b, ACKED, n);
	return (int)n;
}

void
tg_evbuf_rewind(struct tg_evbuf *b)
{
	b->send_seq = b->acked + 1;
}
