/* SPDX-License-Identifier: MIT */
/*
 * craft.h — segments the gateway sends on its own behalf.
 *
 * The gateway has no address: what it sends borrows the addresses, ports
 * and VLAN tags of the flow it acts for, as if one endpoint had sent it.
 */
#ifndef TG_CRAFT_H
#define TG_CRAFT_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"

struct rte_mbuf;
struct rte_mempool;

/*
 * A TCP RST built from a parsed frame of the flow: back == true addresses it
 * to the frame's sender (as if from its receiver), false sends it on to the
 * frame's receiver (as if from its sender). With ack_valid the ACK flag is
 * set with the given acknowledgment number. NULL when the pool is empty.
 */
struct rte_mbuf *tg_craft_rst(struct rte_mempool *mp, const uint8_t *frame,
			      const struct tg_pkt *p, bool back, uint32_t seq, bool ack_valid,
			      uint32_t ack);

/* The TCP header of a segment the gateway sends as one endpoint (tg_craft_seg()). */
struct tg_craft_tcp {
	uint32_t seq, ack;
	uint16_t win;		/* the raw field, already scaled down */
	uint8_t flags;
	bool ts;		/* with the timestamp option */
	uint32_t tsval, tsecr;
};

/*
 * A TCP segment the gateway sends as one endpoint of the flow (the stream
 * editor's injected bytes and ACKs), built on a frame of the flow tpl
 * (parsed as tp): back == true as the frame's receiver, to its sender;
 * false as its sender. MACs, VLAN tags, addresses and ports are the
 * frame's, swapped going back; the header is h's; then plen bytes of
 * payload. NULL when the pool is empty.
 */
struct rte_mbuf *tg_craft_seg(struct rte_mempool *mp, const uint8_t *tpl, const struct tg_pkt *tp,
			      bool back, const struct tg_craft_tcp *h, const uint8_t *payload,
			      uint16_t plen);

/*
 * A copy of a parsed TCP frame's headers (L2 to the end of the TCP
 * options, as the sender sent them, so its timestamps stay) with another
 * SEQ, flags and payload: a piece of a segment the stream editor cut.
 * Lengths and checksums are recomputed. NULL when the pool is empty.
 */
struct rte_mbuf *tg_craft_piece(struct rte_mempool *mp, const uint8_t *frame,
				const struct tg_pkt *p, uint32_t seq, uint8_t flags,
				const uint8_t *payload, uint16_t plen);

#endif /* TG_CRAFT_H */
