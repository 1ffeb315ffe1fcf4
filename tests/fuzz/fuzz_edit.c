/* SPDX-License-Identifier: MIT */
/*
 * fuzz_edit.c — libFuzzer target for the stream editor's sequence map
 * (dataplane/edit.c).
 *
 * Input: a program of 4-byte operations on one direction: byte 0 the
 * operation (mod 6), bytes 1-3 its arguments:
 *   0 replace: consume b1 bytes at b2 bytes past the last point's end (or
 *     the first point at b2), injecting b3 % 40 bytes
 *   1 receiver ACK at t = (b1 << 8 | b2) % (highest t + 1), window b3 * 64
 *   2 release: mark the injections due up to (b1 << 8 | b2) sent
 *   3 prune with the sender told up to (b1 << 8 | b2)
 *   4 timer: tick b1 * 10 ms
 *   5 pieces of the segment [b1 << 4, + b2 + 1)
 *
 * Beyond memory errors and UB, it aborts when an invariant breaks:
 * - map is non-decreasing in o, and kept bytes map strictly increasing;
 * - unmap_ack(map(o)) == o for every kept o (an ACK of everything before
 *   a kept byte names that byte to its sender), and unmap_ack is
 *   non-decreasing in t;
 * - the window given to the sender is never more than the receiver's
 *   right edge mapped back allows;
 * - pieces of a segment cover its kept bytes exactly once, in o order,
 *   each at map(off), and never a consumed byte;
 * - bytes of an injected piece lie in the injection buffer;
 * - prune never moves where a kept byte past the pruned points maps.
 *
 * Seeds: none needed (libFuzzer starts from empty); tests/fuzz/run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define SPAN 4096	/* o-offsets checked: the points live below it */

static bool
consumed(const struct tg_edit *e, uint64_t o)
{
	unsigned int i;

	for (i = 0; i < e->n; i++)
		if (o >= e->pt[i].off && o < e->pt[i].off + e->pt[i].consume)
			return true;
	return false;
}

static void
check_map(const struct tg_edit *e, uint64_t from)
{
	uint64_t o, t, prev = 0, prev_kept = 0, u, prev_u = 0;
	bool have_kept = false;

	for (o = from; o < SPAN; o++) {
		t = tg_edit_map(e, o);
		CHECK(o == from || t >= prev);
		prev = t;
		if (consumed(e, o))
			continue;
		CHECK(!have_kept || t > prev_kept);
		prev_kept = t;
		have_kept = true;
		CHECK(tg_edit_unmap_ack(e, t) == o);
	}
	for (t = tg_edit_map(e, from); t < tg_edit_map(e, SPAN - 1); t++) {
		u = tg_edit_unmap_ack(e, t);
		CHECK(u >= prev_u);
		prev_u = u;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tg_edit e;
	struct tg_edit_piece pcs[32];
	uint8_t bytes[40];
	uint64_t now = 1000000000ull, told = 0, from = 0;
	size_t at;
	unsigned int i, n;

	memset(&e, 0, sizeof(e));
	tg_edit_start(&e, 0, 65535);
	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)('A' + i);
	for (at = 0; at + 4 <= size; at += 4) {
		const uint8_t *op = data + at;
		uint64_t end = e.n ? e.pt[e.n - 1].off + e.pt[e.n - 1].consume : 0;
		uint64_t v = (uint64_t)op[1] << 8 | op[2], owin, before;

		switch (op[0] % 6) {
		case 0: {
			uint64_t off = e.n ? end + op[2] % 64 : op[2];

			if (off + op[1] >= SPAN - 64)
				break;
			(void)tg_edit_replace(&e, off, op[1], bytes, (uint16_t)(op[3] % 40));
			break;
		}
		case 1: {
			uint64_t top = tg_edit_map(&e, SPAN - 1), a = v % (top + 1);

			before = tg_edit_unmap_ack(&e, a + (uint64_t)op[3] * 64);
			(void)tg_edit_ack(&e, a, (uint64_t)op[3] * 64, &owin);
			CHECK(tg_edit_unmap_ack(&e, a) + owin <= before);
			break;
		}
		case 2:
			n = tg_edit_due(&e, v % SPAN, pcs, 32);
			while (n--) {
				CHECK(pcs[n].inject && pcs[n].pt < e.n);
				tg_edit_mark_sent(&e, pcs[n].pt);
			}
			break;
		case 3: {
			uint64_t probe = SPAN - 1, t0 = tg_edit_map(&e, probe);

			told = v % SPAN > told ? v % SPAN : told;
			if (tg_edit_prune(&e, told) != 0)
				from = told;
			if (!consumed(&e, probe))
				CHECK(tg_edit_map(&e, probe) == t0);
			break;
		}
		case 4: {
			bool give_up;

			now += (uint64_t)op[1] * 10000000u;
			tg_edit_rto_arm(&e, now);
			if (tg_edit_rto_due(&e, now, &give_up) && !give_up) {
				n = tg_edit_unacked(&e, pcs, 32);
				while (n--)
					CHECK(pcs[n].inject && pcs[n].len > 0 &&
					      tg_edit_bytes(&e, &pcs[n]) >= e.buf &&
					      tg_edit_bytes(&e, &pcs[n]) + pcs[n].len <=
						      e.buf + TG_EDIT_INJECT_MAX);
			}
			break;
		}
		default: {
			uint64_t off = (uint64_t)op[1] << 4, len = (uint64_t)op[2] + 1, o, next;

			if (off < from)
				break;
			n = tg_edit_pieces(&e, off, len, pcs, 32);
			next = off;
			for (i = 0; i < n; i++) {
				if (pcs[i].inject) {
					CHECK(tg_edit_bytes(&e, &pcs[i]) + pcs[i].len <=
					      e.buf + TG_EDIT_INJECT_MAX);
					continue;
				}
				CHECK(pcs[i].off >= next && pcs[i].len > 0);
				for (o = next; o < pcs[i].off; o++)
					CHECK(consumed(&e, o));
				for (o = pcs[i].off; o < pcs[i].off + pcs[i].len; o++)
					CHECK(!consumed(&e, o));
				CHECK(pcs[i].t == tg_edit_map(&e, pcs[i].off));
				next = pcs[i].off + pcs[i].len;
			}
			if (n < 32)
				for (o = next; o < off + len; o++)
					CHECK(consumed(&e, o));
			break;
		}
		}
	}
	check_map(&e, from);
	return 0;
}
