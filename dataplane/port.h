/* SPDX-License-Identifier: MIT */
/*
 * port.h — ethdev set-up for bridged port pairs.
 *
 * Both ports of a pair get the same number of queues, one per worker that
 * serves the pair, so worker w reads queue w of either port and writes
 * queue w of the other: no queue is shared and no lock is needed. With more
 * than one queue, RSS uses the symmetric key (0x6d5a repeated, as Suricata
 * does) so both directions of a flow hash to the same queue, hence the same
 * worker and the same flow table.
 *
 * Ports run promiscuous: a transparent bridge forwards frames addressed to
 * the hosts on either side, never to itself.
 *
 * Caveats:
 * - Offloads are left off; checksums are the software's job.
 * - A PMD that cannot go promiscuous (some vdevs) is used as is, with a
 *   warning.
 */
#ifndef TG_PORT_H
#define TG_PORT_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct rte_mempool;

struct tg_pair {
	uint16_t out;
	uint16_t in;
	uint16_t nb_queues;
};

/*
 * Resolves the pair specs of cfg (ids or device names) to ports, or pairs
 * up all ports in order (0:1, 2:3, ...) when cfg names none. Refuses an
 * unknown port, a port in two pairs, a port paired with itself and an odd
 * port count. Returns the number of pairs or -EINVAL with the reason
 * written to err.
 */
int tg_port_resolve_pairs(const struct tg_dp_config *cfg, struct tg_pair *pairs, FILE *err);

/*
 * The mbuf pool sized for the given ports and workers, plus the mbufs each
 * worker may hold for reassembly. NULL and rte_errno on failure.
 */
struct rte_mempool *tg_port_pool_create(const struct tg_pair *pairs, int nb_pairs,
					unsigned int nb_workers, uint32_t held_per_worker);

/*
 * Configures and starts both ports of a pair with nb_queues rx and tx
 * queues each, capped by what both devices support; the cap is written
 * back. Returns 0 or -errno.
 */
int tg_port_pair_start(struct tg_pair *pair, uint16_t nb_queues, struct rte_mempool *mp);

/* Stops and closes a port started by tg_port_pair_start(). */
void tg_port_close(uint16_t port);

#define TG_PORT_RXD 1024
#define TG_PORT_TXD 1024

#endif /* TG_PORT_H */
