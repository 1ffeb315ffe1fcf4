/* SPDX-License-Identifier: MIT */
/*
 * test_evbuf.c — unit tests of the control thread's event store (evbuf.c).
 *
 * Every batch the store writes is decoded with the codec (tg_punt_decode())
 * and its events compared with what was pushed, by the session id and
 * text each test gives them:
 * - order and numbering: events leave in the order pushed, numbered from
 *   1 without a gap, split over as many datagrams as they need, at most
 *   TG_PUNT_BATCH_MAX per batch;
 * - acknowledgement: cumulative, repeated or older ones change nothing,
 *   one beyond what was sent is refused;
 * - a reconnection: what was not acknowledged is sent again, with the
 *   same numbers, counted resent; an acknowledgement that arrives for
 *   events before they are resent stops their resending;
 * - caps: a full index or a full byte ring refuses the newest event
 *   (counted lost) and takes no number; space comes back with the acks;
 *   tg_evbuf_fits() says beforehand, exactly, what tg_evbuf_push() will
 *   do, and counts nothing;
 * - the byte ring wraps: a long run of pushes and acks of random sizes,
 *   checked against a model of what must come out.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evbuf.h"
#include "punt.h"

static uint8_t dgram[TG_PUNT_MSG_MAX];

/* Encodes a statement event of session sess whose text is len bytes of 'a' + sess % 26. */
static int
encode(uint8_t *slot, uint64_t sess, uint32_t len)
{
	static char text[TG_PUNT_TEXT_MAX];
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_STATEMENT,
		.worker = 1,
		.service = 0,
		.session = sess,
		.t_start_ns = 1000 + sess,
		.t_end_ns = 2000 + sess,
		.stmt = 1,
		.service_name = { "pg", 2 },
		.client = { "198.18.0.1:40000", 16 },
		.user = { "demo", 4 },
		.database = { "demo", 4 },
		.text = { text, len },
	};

	memset(text, 'a' + (int)(sess % 26), len);
	return tg_evbuf_encode(slot, TG_EVBUF_ENC_SIZE, &ev);
}

/* Pushes one event; returns its number (0: refused). */
static uint64_t
push(struct tg_evbuf *b, uint64_t sess, uint32_t len)
{
	uint8_t slot[TG_EVBUF_ENC_SIZE];
	int n = encode(slot, sess, len);

	assert_true(n > 0);
	return tg_evbuf_push(b, slot + TG_EVBUF_ENC_OFF, (size_t)n);
}

/* Pushes the smallest event there is: a session's end with empty strings (35 bytes). */
static uint64_t
push_tiny(struct tg_evbuf *b, uint64_t sess)
{
	uint8_t slot[TG_EVBUF_ENC_SIZE];
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_SESSION_END,
		.session = sess,
		.end_reason = TG_PUNT_END_CLOSED,
	};
	int n = tg_evbuf_encode(slot, sizeof(slot), &ev);

	assert_int_equal(n, 35);
	return tg_evbuf_push(b, slot + TG_EVBUF_ENC_OFF, (size_t)n);
}

/*
 * Writes the next batch, decodes it and checks that its events are
 * numbered first.., are sessions sess[0..count) with their texts, and
 * marks it sent. Returns the count (0: nothing to send).
 */
static uint16_t
send_batch(struct tg_evbuf *b, uint64_t msg_seq, uint64_t first, const uint64_t *sess,
	   const uint32_t *len)
{
	struct tg_punt_event ev;
	struct tg_punt_msg m;
	uint16_t count, i;
	int n = tg_evbuf_batch(b, dgram, sizeof(dgram), msg_seq, &count);

	assert_true(n >= 0);
	if (n == 0) {
		assert_int_equal(count, 0);
		return 0;
	}
	assert_int_equal(tg_punt_decode(dgram, (size_t)n, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_EVENT_BATCH);
	assert_int_equal(m.hdr.seq, msg_seq);
	assert_int_equal(m.u.batch.first_seq, first);
	assert_int_equal(m.u.batch.count, count);
	for (i = 0; i < count; i++) {
		assert_true(tg_punt_batch_next(&m.u.batch.events, &ev));
		assert_int_equal(ev.seq, first + i);
		if (sess != NULL) {
			assert_int_equal(ev.type, TG_PUNT_EV_STATEMENT);
			assert_int_equal(ev.session, sess[i]);
			assert_int_equal(ev.t_end_ns, 2000 + sess[i]);
			assert_int_equal(ev.text.len, len[i]);
			if (len[i])
				assert_int_equal(ev.text.p[len[i] - 1], 'a' + (int)(sess[i] % 26));
		}
	}
	assert_false(tg_punt_batch_next(&m.u.batch.events, &ev));
	tg_evbuf_sent(b, count);
	return count;
}

static void
test_init_errors(void **state)
{
	struct tg_evbuf b;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 0, 1 << 20), -EINVAL);
	assert_int_equal(tg_evbuf_init(&b, TG_EVBUF_EVENTS_MAX + 1, 1 << 20), -EINVAL);
	assert_int_equal(tg_evbuf_init(&b, 16, TG_PUNT_EVENT_MAX - 1), -EINVAL);
	assert_int_equal(tg_evbuf_init(&b, 16, TG_PUNT_EVENT_MAX), 0);
	tg_evbuf_free(&b);
	assert_true(tg_evbuf_ring_bytes(1) >= 2 * TG_PUNT_EVENT_MAX);
	assert_int_equal(tg_evbuf_ring_bytes(65536), 65536u * TG_EVBUF_AVG_EVENT);
}

/* The encoder writes at TG_EVBUF_ENC_OFF and refuses what the codec refuses. */
static void
test_encode(void **state)
{
	uint8_t slot[TG_EVBUF_ENC_SIZE];
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_SESSION_END,
		.session = 7,
		.end_reason = TG_PUNT_END_RESET,
		.t_start_ns = 1,
		.t_end_ns = 2,
		.service_name = { "pg", 2 },
		.client = { "c", 1 },
	};
	char big[TG_PUNT_NAME_MAX + 1];
	int n;

	(void)state;
	n = tg_evbuf_encode(slot, sizeof(slot), &ev);
	/* type, flags, len, worker, service, session; reason, t_start, t_end; two s8 */
	assert_int_equal(n, 16 + 1 + 8 + 8 + 3 + 2);
	assert_int_equal(slot[TG_EVBUF_ENC_OFF], TG_PUNT_EV_SESSION_END);
	assert_int_equal((slot[TG_EVBUF_ENC_OFF + 2] << 8) | slot[TG_EVBUF_ENC_OFF + 3], n);
	assert_int_equal(tg_evbuf_encode(slot, TG_EVBUF_ENC_OFF + 4, &ev), -ENOSPC);
	memset(big, 'x', sizeof(big));
	ev.client = (struct tg_punt_str){ big, sizeof(big) };
	assert_int_equal(tg_evbuf_encode(slot, sizeof(slot), &ev), -EINVAL);
	ev.client = (struct tg_punt_str){ "c", 1 };
	ev.end_reason = TG_PUNT_END_MAX;
	assert_int_equal(tg_evbuf_encode(slot, sizeof(slot), &ev), -EINVAL);
}

/* Pushed in order, numbered from 1, sent in that order; nothing more after. */
static void
test_order(void **state)
{
	uint64_t sess[10];
	uint32_t len[10];
	struct tg_evbuf b;
	unsigned int i;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 64, tg_evbuf_ring_bytes(64)), 0);
	for (i = 0; i < 10; i++) {
		sess[i] = 100 + i;
		len[i] = 10 * i;
		assert_int_equal(push(&b, sess[i], len[i]), i + 1);
	}
	assert_int_equal(tg_evbuf_pending(&b), 10);
	assert_int_equal(tg_evbuf_unsent(&b), 10);
	assert_int_equal(send_batch(&b, 7, 1, sess, len), 10);
	assert_int_equal(tg_evbuf_unsent(&b), 0);
	assert_int_equal(tg_evbuf_pending(&b), 10);
	assert_int_equal(send_batch(&b, 8, 11, NULL, NULL), 0);
	/* the next event follows on */
	assert_int_equal(push(&b, 200, 5), 11);
	sess[0] = 200;
	len[0] = 5;
	assert_int_equal(send_batch(&b, 8, 11, sess, len), 1);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_QUEUED], 11);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_SENT], 11);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_BATCHES], 2);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_RESENT], 0);
	tg_evbuf_free(&b);
}

/* Cumulative acknowledgements; one beyond what was sent is the peer's error. */
static void
test_ack(void **state)
{
	struct tg_evbuf b;
	unsigned int i;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 64, tg_evbuf_ring_bytes(64)), 0);
	assert_int_equal(tg_evbuf_ack(&b, 1), -ERANGE);
	assert_int_equal(tg_evbuf_ack(&b, 0), 0);
	for (i = 0; i < 10; i++)
		push(&b, i, 20);
	assert_int_equal(send_batch(&b, 1, 1, NULL, NULL), 10);
	assert_int_equal(tg_evbuf_ack(&b, 4), 4);
	assert_int_equal(tg_evbuf_pending(&b), 6);
	assert_int_equal(tg_evbuf_ack(&b, 4), 0);
	assert_int_equal(tg_evbuf_ack(&b, 2), 0);
	assert_int_equal(tg_evbuf_pending(&b), 6);
	assert_int_equal(tg_evbuf_ack(&b, 11), -ERANGE);
	assert_int_equal(tg_evbuf_pending(&b), 6);
	/* pushed but not sent yet: not acknowledgeable */
	push(&b, 11, 20);
	assert_int_equal(tg_evbuf_ack(&b, 11), -ERANGE);
	assert_int_equal(tg_evbuf_ack(&b, 10), 6);
	assert_int_equal(tg_evbuf_pending(&b), 1);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_ACKED], 10);
	tg_evbuf_free(&b);
}

/* After a reconnection the events not acknowledged go again, same numbers, first. */
static void
test_resend(void **state)
{
	uint64_t sess[16];
	uint32_t len[16];
	struct tg_evbuf b;
	unsigned int i;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 64, tg_evbuf_ring_bytes(64)), 0);
	for (i = 0; i < 10; i++) {
		sess[i] = 500 + i;
		len[i] = 30;
		push(&b, sess[i], len[i]);
	}
	assert_int_equal(send_batch(&b, 2, 1, sess, len), 10);
	assert_int_equal(tg_evbuf_ack(&b, 4), 4);
	/* the connection drops; two more events arrive meanwhile */
	sess[10] = 510;
	sess[11] = 511;
	len[10] = len[11] = 30;
	push(&b, sess[10], 30);
	push(&b, sess[11], 30);
	tg_evbuf_rewind(&b);
	assert_int_equal(tg_evbuf_unsent(&b), 8);
	/* a new connection: message numbers start again; events 5.. are the same */
	assert_int_equal(send_batch(&b, 2, 5, sess + 4, len + 4), 8);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_RESENT], 6);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_SENT], 18);
	assert_int_equal(tg_evbuf_ack(&b, 12), 8);
	assert_int_equal(tg_evbuf_pending(&b), 0);

	/* a rewind with everything acknowledged sends nothing again */
	tg_evbuf_rewind(&b);
	assert_int_equal(tg_evbuf_unsent(&b), 0);
	tg_evbuf_free(&b);
}

/* The slowpath acknowledges (from the last connection) what is being sent again. */
static void
test_ack_during_resend(void **state)
{
	uint64_t sess[6] = { 5, 6, 7, 8, 9, 10 };
	uint32_t len[6] = { 900, 900, 900, 900, 900, 900 };
	struct tg_evbuf b;
	uint16_t count;
	unsigned int i;
	int n;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 64, tg_evbuf_ring_bytes(64)), 0);
	for (i = 0; i < 10; i++)
		push(&b, i + 1, 900);
	assert_int_equal(send_batch(&b, 2, 1, NULL, NULL), 10);
	assert_int_equal(tg_evbuf_ack(&b, 4), 4);
	tg_evbuf_rewind(&b);
	/* a small datagram: the resend goes two events (989 bytes each) at a time */
	n = tg_evbuf_batch(&b, dgram, TG_EVBUF_ENC_OFF + 2 * 1000, 2, &count);
	assert_true(n > 0);
	assert_int_equal(count, 2);
	tg_evbuf_sent(&b, count);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_RESENT], 2);
	/* then the slowpath says all ten were durable: 7..10 are not sent again */
	assert_int_equal(tg_evbuf_ack(&b, 10), 6);
	assert_int_equal(tg_evbuf_unsent(&b), 0);
	assert_int_equal(send_batch(&b, 3, 11, NULL, NULL), 0);
	assert_int_equal(push(&b, 11, 1), 11);
	sess[0] = 11;
	len[0] = 1;
	assert_int_equal(send_batch(&b, 3, 11, sess, len), 1);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_RESENT], 2);
	tg_evbuf_free(&b);
}

/* More than a datagram holds: several batches, each a whole run of numbers. */
static void
test_split(void **state)
{
	struct tg_evbuf b;
	uint64_t next = 1, msg = 1;
	uint16_t got;
	unsigned int i;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 4096, tg_evbuf_ring_bytes(4096)), 0);
	/* 200 events of ~1 KB: about 60 per datagram */
	for (i = 0; i < 200; i++)
		push(&b, i, TG_PUNT_TEXT_MAX);
	while ((got = send_batch(&b, msg++, next, NULL, NULL)) != 0) {
		assert_true(got < 200);
		next += got;
	}
	assert_int_equal(next, 201);
	assert_true(b.cnt[TG_EVBUF_CNT_BATCHES] >= 4);
	assert_int_equal(tg_evbuf_ack(&b, 200), 200);

	/* tiny events: at most TG_PUNT_BATCH_MAX per batch */
	for (i = 0; i < TG_PUNT_BATCH_MAX + 10; i++)
		push_tiny(&b, i);
	assert_int_equal(send_batch(&b, msg++, 201, NULL, NULL), TG_PUNT_BATCH_MAX);
	assert_int_equal(send_batch(&b, msg++, 201 + TG_PUNT_BATCH_MAX, NULL, NULL), 10);
	tg_evbuf_free(&b);
}

/* A full index refuses the newest event, which takes no number. */
static void
test_cap_events(void **state)
{
	struct tg_evbuf b;
	unsigned int i;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 8, tg_evbuf_ring_bytes(8)), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(push(&b, i, 10), i + 1);
	assert_int_equal(push(&b, 8, 10), 0);
	assert_int_equal(push(&b, 9, 10), 0);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], 2);
	/* kept, not sent: unacknowledged events count against the cap too */
	assert_int_equal(send_batch(&b, 1, 1, NULL, NULL), 8);
	assert_int_equal(push(&b, 10, 10), 0);
	assert_int_equal(tg_evbuf_ack(&b, 3), 3);
	assert_int_equal(push(&b, 11, 10), 9);
	assert_int_equal(push(&b, 12, 10), 10);
	assert_int_equal(push(&b, 13, 10), 11);
	assert_int_equal(push(&b, 14, 10), 0);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], 4);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_QUEUED], 11);
	tg_evbuf_free(&b);
}

/* A full byte ring refuses too; acknowledgements make room, the ring wraps. */
static void
test_cap_bytes(void **state)
{
	uint64_t sess[1];
	uint32_t len[1] = { 1000 };
	struct tg_evbuf b;
	uint64_t s;

	(void)state;
	/* room for two events of ~1.1 KB, not three */
	assert_int_equal(tg_evbuf_init(&b, 64, 2500), 0);
	assert_int_equal(push(&b, 1, 1000), 1);
	assert_int_equal(push(&b, 2, 1000), 2);
	assert_int_equal(push(&b, 3, 1000), 0);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], 1);
	/* a small one still fits at the end */
	assert_int_equal(push(&b, 4, 10), 3);
	assert_int_equal(send_batch(&b, 1, 1, NULL, NULL), 3);
	assert_int_equal(tg_evbuf_ack(&b, 1), 1);
	/* the first's room, at the start of the ring */
	assert_int_equal(push(&b, 5, 1000), 4);
	assert_int_equal(push(&b, 6, 1000), 0);
	assert_int_equal(tg_evbuf_ack(&b, 3), 2);
	assert_int_equal(send_batch(&b, 2, 4, NULL, NULL), 1);
	/* two kept at a time, in a ring of two: it wraps every other push */
	for (s = 7; s < 40; s++) {
		sess[0] = s;
		assert_int_equal(push(&b, s, 1000), s - 2);
		assert_int_equal(send_batch(&b, s, s - 2, sess, len), 1);
		assert_int_equal(tg_evbuf_ack(&b, s - 3), 1);
	}
	assert_int_equal(tg_evbuf_pending(&b), 1);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], 2);
	tg_evbuf_free(&b);
}

/* xorshift64: deterministic */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random sizes, random acks, random reconnections, against a model: every
 * number pushed is sent with the session id and text it was pushed with,
 * in order, on every (re)send; nothing is ever corrupted by the wrapping.
 */
static void
test_model(void **state)
{
	enum { EVENTS = 32, ROUNDS = 20000 };
	static uint64_t sess[EVENTS * 2];
	static uint32_t len[EVENTS * 2];
	uint64_t model_sess[ROUNDS + 1], seed = 42, s = 0, msg = 1, pushed = 0, lost = 0;
	uint32_t model_len[ROUNDS + 1];
	struct tg_evbuf b;
	unsigned int r;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, EVENTS, 8 * 1024), 0);
	for (r = 0; r < ROUNDS; r++) {
		uint64_t op = rnd(&seed) % 10, seq;

		if (op < 5) {
			uint32_t l = (uint32_t)(rnd(&seed) % (TG_PUNT_TEXT_MAX + 1));

			seq = push(&b, ++s, l);
			if (seq == 0) {
				lost++;
				continue;
			}
			assert_int_equal(seq, pushed + 1);
			pushed = seq;
			model_sess[seq] = s;
			model_len[seq] = l;
		} else if (op < 8) {
			uint64_t first = b.send_seq, i;

			for (i = 0; first + i < b.next_seq && i < EVENTS * 2; i++) {
				sess[i] = model_sess[first + i];
				len[i] = model_len[first + i];
			}
			send_batch(&b, msg++, first, sess, len);
		} else if (op < 9) {
			uint64_t to = b.acked + rnd(&seed) % (b.sent_max - b.acked + 1);

			assert_true(tg_evbuf_ack(&b, to) >= 0);
		} else {
			tg_evbuf_rewind(&b);
		}
		assert_true(tg_evbuf_pending(&b) <= EVENTS);
	}
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], lost);
	assert_true(lost > 0 && pushed > 1000);
	assert_true(b.cnt[TG_EVBUF_CNT_RESENT] > 0);
	tg_evbuf_free(&b);
}

/*
 * tg_evbuf_fits() answers what push() would do, without counting: the
 * index full, the ring full at its end and at its start, the wrap.
 */
static void
test_fits(void **state)
{
	uint8_t slot[TG_EVBUF_ENC_SIZE];
	struct tg_evbuf b;
	size_t big, small;
	uint64_t s;
	int n;

	(void)state;
	n = encode(slot, 1, 1000);
	assert_true(n > 0);
	big = (size_t)n;
	n = encode(slot, 1, 10);
	assert_true(n > 0);
	small = (size_t)n;

	/* no length that is no event's */
	assert_int_equal(tg_evbuf_init(&b, 4, 2500), 0);
	assert_false(tg_evbuf_fits(&b, 0));
	assert_false(tg_evbuf_fits(&b, TG_PUNT_EVENT_MAX + 1));
	assert_true(tg_evbuf_fits(&b, TG_PUNT_EVENT_MAX));
	assert_true(tg_evbuf_fits(&b, 1));

	/* bytes: two big ones, not three; a small one still fits at the end */
	assert_true(tg_evbuf_fits(&b, big));
	assert_int_equal(push(&b, 1, 1000), 1);
	assert_true(tg_evbuf_fits(&b, big));
	assert_int_equal(push(&b, 2, 1000), 2);
	assert_false(tg_evbuf_fits(&b, big));
	assert_true(tg_evbuf_fits(&b, small));
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], 0);	/* asking counts nothing */
	assert_int_equal(push(&b, 3, 1000), 0);		/* and push agrees */
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], 1);
	assert_int_equal(push(&b, 4, 10), 3);
	/* the index: 4 events, one left */
	assert_true(tg_evbuf_fits(&b, small));
	assert_int_equal(push(&b, 5, 10), 4);
	assert_false(tg_evbuf_fits(&b, small));
	assert_false(tg_evbuf_fits(&b, 1));
	assert_int_equal(push(&b, 6, 10), 0);

	/* acknowledged: the first big one's room at the start of the ring */
	assert_int_equal(send_batch(&b, 1, 1, NULL, NULL), 4);
	assert_int_equal(tg_evbuf_ack(&b, 1), 1);
	assert_true(tg_evbuf_fits(&b, big));
	assert_false(tg_evbuf_fits(&b, big + 1 + TG_EVBUF_AVG_EVENT));
	assert_int_equal(push(&b, 7, 1000), 5);
	assert_false(tg_evbuf_fits(&b, small));	/* the index again */
	/* all acknowledged: the whole ring */
	assert_int_equal(send_batch(&b, 2, 5, NULL, NULL), 1);
	assert_int_equal(tg_evbuf_ack(&b, 5), 4);
	assert_int_equal(tg_evbuf_pending(&b), 0);
	assert_true(tg_evbuf_fits(&b, TG_PUNT_EVENT_MAX));

	/* over a long run with wrapping, fits() and push() never disagree */
	for (s = 0; s < 2000; s++) {
		uint32_t len = (uint32_t)((s * 397) % (TG_PUNT_TEXT_MAX + 1));
		bool fit;
		uint64_t seq;

		n = encode(slot, s, len);
		assert_true(n > 0);
		fit = tg_evbuf_fits(&b, (size_t)n);
		seq = tg_evbuf_push(&b, slot + TG_EVBUF_ENC_OFF, (size_t)n);
		assert_int_equal(fit, seq != 0);
		if (s % 3 == 2) {
			uint16_t count;

			if (tg_evbuf_batch(&b, dgram, sizeof(dgram), 3 + s, &count) > 0)
				tg_evbuf_sent(&b, count);
			if (b.sent_max > b.acked)
				assert_true(tg_evbuf_ack(&b, b.acked + 1 +
							    (b.sent_max - b.acked - 1) / 2) > 0);
		}
	}
	assert_true(b.cnt[TG_EVBUF_CNT_LOST] > 2);
	tg_evbuf_free(&b);
}

/* A push of a length that is no event's is refused. */
static void
test_push_bad_length(void **state)
{
	uint8_t bytes[TG_PUNT_EVENT_MAX + 1] = { 0 };
	struct tg_evbuf b;

	(void)state;
	assert_int_equal(tg_evbuf_init(&b, 8, tg_evbuf_ring_bytes(8)), 0);
	assert_int_equal(tg_evbuf_push(&b, bytes, 0), 0);
	assert_int_equal(tg_evbuf_push(&b, bytes, sizeof(bytes)), 0);
	assert_int_equal(b.cnt[TG_EVBUF_CNT_LOST], 2);
	tg_evbuf_free(&b);
}

#define TEST(f) cmocka_unit_test(test_##f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(init_errors),
		TEST(encode),
		TEST(order),
		TEST(ack),
		TEST(resend),
		TEST(ack_during_resend),
		TEST(split),
		TEST(cap_events),
		TEST(cap_bytes),
		TEST(model),
		TEST(fits),
		TEST(push_bad_length),
	};

	return cmocka_run_group_tests_name("evbuf", tests, NULL, NULL);
}
