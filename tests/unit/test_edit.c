/* SPDX-License-Identifier: MIT */
/*
 * test_edit.c — unit tests of the stream editor's sequence map (edit.c).
 *
 * Each case builds edits on a direction, then checks the two mappings
 * every packet goes through (a sender byte's place for the receiver, a
 * receiver ACK's meaning for the sender), what a released segment becomes
 * (pieces), and the life of injected bytes: sent, partly ACKed, lost and
 * retransmitted, pruned. A brute-force model cross-checks map and
 * unmap on every offset of a window holding several edits.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "edit.h"

static struct tg_edit ed;

static void
fresh(uint64_t acked)
{
	memset(&ed, 0, sizeof(ed));
	tg_edit_start(&ed, acked, 65535);
}

/* A blocked Query [100, 130) replaced by a 5-byte Sync: later bytes move back by 25. */
static void
test_replace_maps(void **state)
{
	(void)state;
	fresh(0);
	assert_int_equal(tg_edit_replace(&ed, 100, 30, "S\0\0\0\4", 5), 0);
	assert_int_equal(tg_edit_map(&ed, 0), 0);
	assert_int_equal(tg_edit_map(&ed, 99), 99);
	/* a consumed byte sits at the end of the injection */
	assert_int_equal(tg_edit_map(&ed, 100), 105);
	assert_int_equal(tg_edit_map(&ed, 129), 105);
	assert_int_equal(tg_edit_map(&ed, 130), 105);
	assert_int_equal(tg_edit_map(&ed, 200), 175);
	/* ACKs: before the injection, inside it (the sender sees its bytes to 130 taken) */
	assert_int_equal(tg_edit_unmap_ack(&ed, 50), 50);
	assert_int_equal(tg_edit_unmap_ack(&ed, 100), 130);
	assert_int_equal(tg_edit_unmap_ack(&ed, 103), 130);
	assert_int_equal(tg_edit_unmap_ack(&ed, 105), 130);
	assert_int_equal(tg_edit_unmap_ack(&ed, 175), 200);
}

/* Consumed bytes at the tail are ACKed by the receiver's ACK of what precedes them. */
static void
test_consume_acked_with_predecessor(void **state)
{
	uint64_t w;

	(void)state;
	fresh(8);
	assert_int_equal(tg_edit_replace(&ed, 8, 8, NULL, 0), 0);
	assert_int_equal(tg_edit_ack(&ed, 8, 1000, &w), 16);
	/* the window: the consumed bytes take no room at the receiver */
	assert_int_equal(w, 1000);
	/* adjacent consumption merges */
	assert_int_equal(tg_edit_replace(&ed, 16, 4, NULL, 0), 0);
	assert_int_equal(ed.n, 1);
	assert_int_equal(tg_edit_unmap_ack(&ed, 8), 20);
	/* an edit before the last one is refused */
	assert_int_equal(tg_edit_replace(&ed, 10, 1, NULL, 0), -ERANGE);
}

/* An injection of 7 bytes before sender byte 50 (an ErrorResponse before a ReadyForQuery). */
static void
test_inject_split_and_acks(void **state)
{
	struct tg_edit_piece pc[8];
	uint64_t w;
	unsigned int n;

	(void)state;
	fresh(0);
	assert_int_equal(tg_edit_replace(&ed, 50, 0, "ERRORxx", 7), 0);
	/* a segment [40, 60) straddling the point leaves as 3 pieces */
	n = tg_edit_pieces(&ed, 40, 20, pc, 8);
	assert_int_equal(n, 3);
	assert_false(pc[0].inject);
	assert_int_equal(pc[0].off, 40);
	assert_int_equal(pc[0].t, 40);
	assert_int_equal(pc[0].len, 10);
	assert_true(pc[1].inject);
	assert_int_equal(pc[1].t, 50);
	assert_int_equal(pc[1].len, 7);
	assert_memory_equal(tg_edit_bytes(&ed, &pc[1]), "ERRORxx", 7);
	assert_false(pc[2].inject);
	assert_int_equal(pc[2].off, 50);
	assert_int_equal(pc[2].t, 57);
	assert_int_equal(pc[2].len, 10);
	tg_edit_mark_sent(&ed, pc[1].pt);
	/* a retransmission of the same segment does not carry the injection again */
	assert_int_equal(tg_edit_pieces(&ed, 40, 20, pc, 8), 2);
	/* the receiver ACKs 3 of the 7 injected bytes: the sender sees 50 */
	assert_int_equal(tg_edit_ack(&ed, 53, 100, &w), 50);
	/* window: right edge 153 maps to 146; less the ACK */
	assert_int_equal(w, 96);
	assert_true(tg_edit_pending(&ed));
	n = tg_edit_unacked(&ed, pc, 8);
	assert_int_equal(n, 1);
	assert_int_equal(pc[0].t, 53);
	assert_int_equal(pc[0].len, 4);
	assert_memory_equal(tg_edit_bytes(&ed, &pc[0]), "ORxx", 4);
	/* the rest is ACKed with sender bytes after it */
	assert_int_equal(tg_edit_ack(&ed, 67, 100, &w), 60);
	assert_false(tg_edit_pending(&ed));
	assert_int_equal(tg_edit_prune(&ed, 60), 1);
	assert_int_equal(ed.n, 0);
	assert_int_equal(ed.delta0, 7);
	assert_int_equal(tg_edit_map(&ed, 100), 107);
	assert_int_equal(tg_edit_unmap_ack(&ed, 107), 100);
	/* the pruned point still bounds new edits: nothing may go before its end */
	assert_int_equal(tg_edit_replace(&ed, 49, 0, "x", 1), -ERANGE);
	assert_int_equal(tg_edit_replace(&ed, 50, 0, "x", 1), 0);
}

/* An injection at the sender's current end (nothing to split) is due once released. */
static void
test_inject_due_at_end(void **state)
{
	struct tg_edit_piece pc[4];

	(void)state;
	fresh(10);
	assert_int_equal(tg_edit_replace(&ed, 10, 0, "N", 1), 0);
	assert_int_equal(tg_edit_due(&ed, 9, pc, 4), 0);
	assert_int_equal(tg_edit_due(&ed, 10, pc, 4), 1);
	assert_int_equal(pc[0].t, 10);
	tg_edit_mark_sent(&ed, pc[0].pt);
	assert_int_equal(tg_edit_due(&ed, 10, pc, 4), 0);
	/* more bytes for the same place after it went out: a new point */
	assert_int_equal(tg_edit_replace(&ed, 10, 0, "X", 1), 0);
	assert_int_equal(ed.n, 2);
	assert_int_equal(ed.pt[1].tinj, 11);
	assert_int_equal(tg_edit_map(&ed, 10), 12);
	/* a FIN at sender offset 10 goes after both injections */
	assert_int_equal(tg_edit_pieces(&ed, 10, 0, pc, 4), 1);
	assert_true(pc[0].inject);
	assert_int_equal(pc[0].t, 11);
}

/* The retransmission timer: armed while bytes are out, backs off, gives up. */
static void
test_rto(void **state)
{
	bool give_up;
	unsigned int i;
	uint64_t now = 1000000000ull, w;

	(void)state;
	fresh(0);
	assert_int_equal(tg_edit_replace(&ed, 0, 0, "abc", 3), 0);
	tg_edit_rto_arm(&ed, now);
	assert_int_equal(ed.rto_at, 0);	/* nothing sent yet */
	tg_edit_mark_sent(&ed, 0);
	tg_edit_rto_arm(&ed, now);
	assert_int_equal(ed.rto_at, now + TG_EDIT_RTO_MS * 1000000ull);
	assert_false(tg_edit_rto_due(&ed, now + 1, &give_up));
	now = ed.rto_at;
	assert_true(tg_edit_rto_due(&ed, now, &give_up));
	assert_false(give_up);
	assert_int_equal(ed.rto_ms, 2 * TG_EDIT_RTO_MS);
	for (i = 1; i < TG_EDIT_RTO_TRIES; i++) {
		now = ed.rto_at;
		assert_true(tg_edit_rto_due(&ed, now, &give_up));
		assert_false(give_up);
		assert_true(ed.rto_ms <= TG_EDIT_RTO_MAX_MS);
	}
	now = ed.rto_at;
	assert_true(tg_edit_rto_due(&ed, now, &give_up));
	assert_true(give_up);
	/* an ACK of progress starts the timer over */
	tg_edit_ack(&ed, 1, 100, &w);
	assert_int_equal(ed.rto_tries, 0);
	tg_edit_ack(&ed, 3, 100, &w);
	tg_edit_rto_arm(&ed, now);
	assert_int_equal(ed.rto_at, 0);
}

/*
 * Several edits in one window, checked against a brute-force model: the
 * receiver's byte sequence is built by applying the edits to a sender
 * stream, and map/unmap must agree with it at every offset.
 */
static void
test_model(void **state)
{
	enum { LEN = 400 };
	struct {
		uint64_t off, consume;
		const char *inj;
	} edits[] = {
		{ 10, 5, "" }, { 20, 0, "AB" }, { 20, 3, "C" }, { 40, 40, "DEFG" },
		{ 80, 1, "" }, { 81, 2, "" }, { 150, 0, "HIJKLMNOP" }, { 300, 50, "Q" },
	};
	int64_t owner[LEN + 64];	/* t -> o of the byte there, -1: injected */
	int64_t tpos[LEN];	/* o -> t, -1: consumed */
	uint64_t t = 0, o, a, want;
	unsigned int i, k;

	(void)state;
	fresh(0);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
		assert_int_equal(tg_edit_replace(&ed, edits[i].off, edits[i].consume, edits[i].inj,
						 (uint16_t)strlen(edits[i].inj)),
				 0);
	/* the model: walk the sender's bytes, applying each edit at its offset */
	for (o = 0, k = 0; o <= LEN; o++) {
		for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
			if (edits[i].off != o)
				continue;
			for (k = 0; edits[i].inj[k]; k++)
				owner[t++] = -1;
		}
		if (o == LEN)
			break;
		tpos[o] = (int64_t)t;
		for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
			if (o >= edits[i].off && o < edits[i].off + edits[i].consume)
				tpos[o] = -1;
		if (tpos[o] >= 0)
			owner[t++] = (int64_t)o;
	}
	for (o = 0; o < LEN; o++)
		if (tpos[o] >= 0)
			assert_int_equal(tg_edit_map(&ed, o), tpos[o]);
	/* an ACK at a: the first kept sender byte at or after t = a */
	for (a = 0; a < t; a++) {
		uint64_t j = a;

		while (j < t && owner[j] < 0)
			j++;
		want = j < t ? (uint64_t)owner[j] : LEN;
		/* consumed bytes just before that byte are covered too */
		if (j == t)
			want = LEN;
		assert_int_equal(tg_edit_unmap_ack(&ed, a), want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_maps),
		cmocka_unit_test(test_consume_acked_with_predecessor),
		cmocka_unit_test(test_inject_split_and_acks),
		cmocka_unit_test(test_inject_due_at_end),
		cmocka_unit_test(test_rto),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
