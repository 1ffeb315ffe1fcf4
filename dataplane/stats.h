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

#endif /* TG_STATS_H */
