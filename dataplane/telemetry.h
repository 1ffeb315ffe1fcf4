/* SPDX-License-Identifier: MIT */
/*
 * telemetry.h — the dataplane's counters through DPDK telemetry, for
 * dpdk-telemetry.py and any client of the v2 socket
 * (<runtime dir>/dpdk_telemetry.v2, e.g. /var/run/dpdk/<file-prefix>/):
 *
 *   /tollgate/stats[,<prefix>]  every counter of tg_stats_pairs() (the
 *                               pairs of tgctl stats), or those under the
 *                               dotted prefix ("pg", "port.0")
 *   /tollgate/ports             port.<id>.*, one object per port
 *   /tollgate/workers           worker.<n>.*, one object per worker
 *   /tollgate/gateway           mbufs, parse, gw, flows, tcp, stream
 *   /tollgate/inspect           inspect.*, pg.*
 *   /tollgate/control           control.* (empty without a slowpath socket)
 *
 * A reply groups the pairs by their name less its last component, with
 * slashes for dots (DPDK 22.11 refuses dots in names): the pair
 * "port.0.rx_pkts" is {"port/0": {"rx_pkts": N}} (in /tollgate/ports,
 * {"0": {...}}). One level of objects only: DPDK 22.11's JSON writer has
 * no case for a container inside a container.
 *
 * Each callback takes its own snapshot (tg_control_stats_create()) on
 * DPDK's telemetry thread, with the same reads as the printer: relaxed
 * loads of the workers' counters, rte_eth_stats_get(), the mempool's
 * count. Nothing is written, nothing waits for a worker.
 *
 * Caveats:
 * - Limits of DPDK 22.11's telemetry: RTE_TEL_MAX_DICT_ENTRIES (256)
 *   entries per object and 16384 bytes of JSON per reply (the socket's
 *   "max_output_len"); past either the library silently leaves entries out.
 *   Hence the per-topic commands, and a reply never silently short: a group
 *   or pair that would not fit is left out whole, counted in "omitted", and
 *   the groups left out are named in "omitted_groups" (ask for them with
 *   /tollgate/stats,<group>).
 * - The control channel's counters (/tollgate/control, control.*) are
 *   written by the control thread with plain stores and read here with
 *   plain loads (tg_control_counters_read()): aligned 64-bit words, so a
 *   value may be a moment old but is never torn on the targets we build
 *   for; a race detector would still report it.
 * - DPDK serves each client connection on a thread of its own: one lock
 *   serialises the callbacks, which share one snapshot, kept between calls
 *   (up to TG_CONTROL_STATS_MAX pairs of 72 bytes, allocated at the first
 *   query, freed by tg_telemetry_fini()).
 * - DPDK cannot unregister a command. From tg_worker_stopping() on (SIGINT,
 *   SIGTERM) the commands answer {}, so a query does not read what main()
 *   frees at exit; a query already past that check when the signal comes
 *   could still race the teardown. tg_telemetry_fini() before the workers,
 *   ports and mempool are freed closes that window (under the lock).
 */
#ifndef TG_TELEMETRY_H
#define TG_TELEMETRY_H

#include "config.h"
#include "control.h"
#include "port.h"
#include "worker.h"

struct rte_mempool;

struct tg_telemetry_params {
	const struct tg_worker *workers;
	unsigned int nb_workers;
	const struct tg_pair *pairs;
	int nb_pairs;
	const struct tg_dp_config *cfg;
	struct rte_mempool *pool;	/* NULL: no mbufs.* */
	const struct tg_control *ctl;	/* NULL: no control.* */
};

/*
 * Registers the /tollgate/ commands; after the workers are initialised,
 * before they run. The objects p points to must outlive the registration
 * (until tg_telemetry_fini()). Returns 0 or -errno (then nothing answers;
 * the dataplane runs without). With EAL's --no-telemetry the commands are
 * registered but no socket serves them.
 */
int tg_telemetry_init(const struct tg_telemetry_params *p);

/* From here on the commands answer empty. Idempotent. */
void tg_telemetry_fini(void);

#endif /* TG_TELEMETRY_H */
