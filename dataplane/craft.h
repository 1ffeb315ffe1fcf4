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

#endif /* TG_CRAFT_H */
