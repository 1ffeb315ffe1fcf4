/* SPDX-License-Identifier: MIT */
/*
 * stats.h — the dataplane's counters as text, one "heading key=value ..."
 * line per module, the form the lab, the tests and operators read. Every
 * name comes from its module's X-macro list.
 */
#ifndef TG_STATS_H
#define TG_STATS_H

#include <stdio.h>

#include "config.h"
#include "control.h"
#include "port.h"
#include "worker.h"

struct rte_mempool;

/*
 * Sums the workers' counters and prints: mbuf pool (when given), one line
 * per port of every pair, one per worker, then parse, gateway and, with
 * services configured, flows, tcp and stream.
 */
void tg_stats_print(FILE *out, const struct tg_worker *workers, unsigned int nb_workers,
		    const struct tg_pair *pairs, int nb_pairs, const struct tg_dp_config *cfg,
		    struct rte_mempool *pool);

/*
 * The control channel's counters: a "control:" line (connected, the
 * connection and event counters, ring_drops summed over the workers,
 * slowpath_refused from their gateway counters), then
 * "control_disconnects:" by reason and, when the codec refused anything,
 * "control_protocol:" with the reasons that occurred.
 */
void tg_stats_print_control(FILE *out, const struct tg_control *c, const struct tg_worker *workers,
			    unsigned int nb_workers);

#endif /* TG_STATS_H */
