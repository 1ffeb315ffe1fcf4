/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pkt.c — libFuzzer target for tg_pkt_parse() and, when the parse
 * found an L4 header, tg_pkt_l4_csum_ok().
 *
 * libFuzzer hands over a heap copy of exactly the input's size, so ASan
 * reports the first byte read past the frame. Beyond memory errors and UB
 * the target aborts when a result breaks the contract of pkt.h: an error
 * that still claims L4, a range outside the frame, or two parses of the
 * same bytes that disagree (which would mean a read of uninitialised
 * state). pkt.c is compiled into this executable with the fuzzer's
 * coverage instrumentation (tests/fuzz/meson.build).
 *
 * Seeds: tests/fuzz/gen-corpus pkt DIR. Run: tests/fuzz/run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct tg_pkt *p, enum tg_pkt_err err, uint32_t len)
{
	uint32_t l3_end, l4_end;

	if ((unsigned int)err >= TG_PKT_ERR_MAX || tg_pkt_err_names[err] == NULL)
		abort();
	if (err != TG_PKT_OK) {
		/* the fields before the fault may be set, but never L4 */
		if (p->flags & TG_PKT_F_L4)
			abort();
		return;
	}
	if (p->nb_vlan > 2)
		abort();
	if (p->ip_ver == 0) {
		if (p->flags != 0 || p->l3_off > len)
			abort();
		return;
	}
	if (p->ip_ver != 4 && p->ip_ver != 6)
		abort();
	l3_end = (uint32_t)p->l3_off + p->l3_len;
	l4_end = (uint32_t)p->l4_off + p->l4_len;
	if (l3_end > len || l4_end != l3_end)
		abort();
	if (p->l4_off < p->l3_off + (p->ip_ver == 4 ? 20u : 40u))
		abort();
	if ((p->flags & TG_PKT_F_L4) && (p->flags & TG_PKT_F_FRAG))
		abort();
	if ((p->flags & TG_PKT_F_L4) &&
	    (p->payload_off < p->l4_off || (uint32_t)p->payload_off + p->payload_len > l4_end))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* pkt.h: frames are at most 65535 bytes; the parser clamps longer ones */
	uint32_t len = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	struct tg_pkt p, again;
	enum tg_pkt_err err;
	int ok;

	err = tg_pkt_parse(data, len, &p);
	check(&p, err, len > 65535 ? 65535 : len);
	if (tg_pkt_parse(data, len, &again) != err || memcmp(&p, &again, sizeof(p)) != 0)
		abort();
	if (err == TG_PKT_OK && (p.flags & TG_PKT_F_L4)) {
		ok = tg_pkt_l4_csum_ok(data, &p);
		if (ok != 0 && ok != 1)
			abort();
	}
	return 0;
}
