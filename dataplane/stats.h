/* SPDX-License-Identifier: MIT */
/*
 * stats.h — the dataplane's counters as text, one "heading key=value ..."
 * line per module, the form the lab, the tests and operators read; and the
 * same counters as dotted name/value pairs for the control channel's
 * STATS_RESPONSE (tgctl stats). Every name comes from its module's X-macro
 * list.
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

/*
 * The same counters as pairs for a STATS_REQUEST (control.h), into s:
 *   mbufs.pool, mbufs.free                       (when pool is given)
 *   port.<id>.rx_pkts|rx_bytes|tx_pkts|tx_bytes|tx_drop|rx_missed|
 *             rx_nombuf|rx_errors|tx_errors       (both ports of every pair)
 *   worker.<n>.lcore|polls|idle_polls|sleeps|sleep_ms|flows_active|segs_held
 *   parse.non_ip|frag|nonlinear|<pkt reason>, gw.<counter>
 *   with services: flows.active|max|<counter>, tcp.<counter>,
 *   stream.held|rings_used|rings|<counter>
 *   inspecting: inspect.<counter>, pg.fe.<message>, pg.be.<message>,
 *   pg.violations.<reason>, pg.<counter>
 *   with a control channel (c not NULL): control.connected|<counter>|
 *   <event counter>|events_pending|ring_drops|event_invalid,
 *   control.disconnect.<reason>, control.protocol.<reason> (non-zero only)
 * Names follow the text lines' (tg_stats_print()), so that both read alike.
 */
void tg_stats_pairs(struct tg_control_stats *s, const struct tg_worker *workers,
		    unsigned int nb_workers, const struct tg_pair *pairs, int nb_pairs,
		    const struct tg_dp_config *cfg, struct rte_mempool *pool,
		    const struct tg_control *c);

#endif /* TG_STATS_H */
