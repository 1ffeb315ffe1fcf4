/* SPDX-License-Identifier: MIT */
/*
 * tpkt.h — the TCP segments of the unit tests that drive the reassembly
 * engine: test_stream.c, and test_inspect.c with the inspector on top.
 * A segment is a 20-byte TCP header, 40000 > 5432, ack 1, doff 5, window
 * 512, written in place before its payload, with the checksum computed in
 * full over a fixed IPv4 pseudo-header (RFC 9293 3.1) by csum.h, as the
 * engine's incremental patching (RFC 1624) expects to find it. And the
 * list of the packets a case still holds, so that its teardown frees them
 * when cmocka leaves the case by longjmp and LeakSanitizer stays quiet.
 *
 * Each test keeps its own struct tpkt, since what it stores besides the
 * header differs; a struct tpkt_link comes first in it.
 *
 * Header-only: every function is static inline.
 *
 * Caveats:
 * - No TCP options and no IPv4 header: the engine sees only the TCP
 *   header's checksum field and the payload, and tests need no more.
 * - Ports, ack and window are fixed; only seq and the flags vary.
 */
#ifndef TG_TEST_TPKT_H
#define TG_TEST_TPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "csum.h"
#include "wire.h"

#define TCP_HLEN 20
#define TH_FIN 0x01
#define TH_PSH 0x08
#define TH_ACK 0x10

/* ---- the live packets ---- */

/* First in each test's struct tpkt: its place in the list of live packets. */
struct tpkt_link {
	struct tpkt_link *prev, *next;
};

static inline void
tpkt_live_add(struct tpkt_link **head, struct tpkt_link *l)
{
	l->prev = NULL;
	l->next = *head;
	if (*head)
		(*head)->prev = l;
	*head = l;
}

static inline void
tpkt_live_del(struct tpkt_link **head, struct tpkt_link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		*head = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

/* ---- the header ---- */

/*
 * IPv4 pseudo-header (RFC 9293 3.1): 192.0.2.1 > 198.51.100.2, zero,
 * protocol 6 (TCP); the TCP length is added per packet.
 */
static const uint8_t tpkt_pseudo[10] = {
	0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x06,
};

/* The pseudo-header's partial sum for a segment of plen payload bytes. */
static inline uint32_t
tpkt_pseudo_sum(uint16_t plen)
{
	return tg_csum_partial(tpkt_pseudo, sizeof(tpkt_pseudo), TCP_HLEN + plen);
}

/* Does the segment at th, header and plen payload bytes, carry the right checksum? */
static inline bool
tpkt_csum_ok(const uint8_t *th, uint16_t plen)
{
	return tg_csum_fold(tg_csum_partial(th, TCP_HLEN + plen, tpkt_pseudo_sum(plen))) == 0;
}

/*
 * Writes at th the header of seq with flags (TH_*), then the len bytes
 * of data, and the checksum right for them. Returns the checksum.
 */
static inline uint16_t
tpkt_write(uint8_t *th, uint32_t seq, uint8_t flags, const uint8_t *data, uint16_t len)
{
	uint16_t c;

	memset(th, 0, TCP_HLEN);
	tg_wr16(th, 40000);	/* sport */
	tg_wr16(th + 2, 5432);	/* dport */
	tg_wr32(th + 4, seq);
	tg_wr32(th + 8, 1);	/* ack */
	th[12] = 5 << 4;	/* doff 5: 20 bytes */
	th[13] = flags;
	tg_wr16(th + 14, 512);	/* window */
	if (len)
		memcpy(th + TCP_HLEN, data, len);
	c = tg_csum_fold(tg_csum_partial(th, TCP_HLEN + len, tpkt_pseudo_sum(len)));
	tg_wr16(th + 16, c);
	return c;
}

#endif /* TG_TEST_TPKT_H */
