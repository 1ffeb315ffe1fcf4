/* SPDX-License-Identifier: MIT */
/*
 * main.c — tollgate-dataplane: EAL, ports and lcores, then the worker loops.
 *
 * Every lcore but the main one runs a worker. With a single lcore the main
 * lcore runs the worker loop itself and reports from its tick; otherwise it
 * stays the control thread and reports on its own.
 *
 * SIGINT and SIGTERM stop the loops; the ports are then stopped and closed
 * (which flushes pcap writers) and the final counters are printed, so a
 * test or an operator always sees what crossed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "config.h"
#include "log.h"
#include "port.h"
#include "stats.h"
#include "worker.h"

RTE_LOG_REGISTER(tg_logtype_main, tg.dataplane.main, INFO);

struct dataplane {
	struct tg_dp_config cfg;
	struct tg_pair pairs[TG_MAX_PAIRS];
	int nb_pairs;
	struct tg_worker workers[RTE_MAX_LCORE];
	unsigned int nb_workers;
	struct rte_mempool *pool;
	uint64_t start_tsc;
};

static struct dataplane dp;

static void
on_signal(int sig)
{
	(void)sig;
	tg_worker_stop();
}

static void
print_counters(FILE *out)
{
	fprintf(out, "uptime %.1f s\n",
		(double)(rte_rdtsc() - dp.start_tsc) / (double)rte_get_tsc_hz());
	tg_stats_print(out, dp.workers, dp.nb_workers, dp.pairs, dp.nb_pairs, &dp.cfg, dp.pool);
	fflush(out);
}

static void
stats_tick(void *arg)
{
	(void)arg;
	print_counters(stdout);
}

/*
 * Worker w serves queue w of both ports of every pair that has a queue w:
 * out->in and in->out, each on the same queue index.
 */
static void
assign_queues(void)
{
	unsigned int w;
	int i;

	for (w = 0; w < dp.nb_workers; w++) {
		struct tg_worker *wk = &dp.workers[w];

		for (i = 0; i < dp.nb_pairs; i++) {
			const struct tg_pair *p = &dp.pairs[i];

			if (w >= p->nb_queues)
				continue;
			wk->rxq[wk->nb_rxq++] = (struct tg_worker_rxq){
				.port = p->out, .queue = (uint16_t)w,
				.peer = p->in, .peer_queue = (uint16_t)w,
				.outside = true,
			};
			wk->rxq[wk->nb_rxq++] = (struct tg_worker_rxq){
				.port = p->in, .queue = (uint16_t)w,
				.peer = p->out, .peer_queue = (uint16_t)w,
				.outside = false,
			};
		}
		if (wk->nb_rxq == 0)
			TG_LOG(WARNING, tg_logtype_main,
			       "worker %u on lcore %u: no queue to serve (ports have fewer queues "
			       "than workers)", w, wk->lcore);
	}
}

static void
setup_workers(void)
{
	unsigned int lcore;

	if (rte_lcore_count() == 1) {
		dp.workers[0].lcore = rte_get_main_lcore();
		dp.nb_workers = 1;
	} else {
		RTE_LCORE_FOREACH_WORKER(lcore) {
			dp.workers[dp.nb_workers].lcore = lcore;
			dp.nb_workers++;
		}
	}
	for (lcore = 0; lcore < dp.nb_workers; lcore++) {
		dp.workers[lcore].id = lcore;
		dp.workers[lcore].idle_sleep_max_us = dp.cfg.idle_sleep_max_us;
	}
}

static void
control_loop(void)
{
	uint64_t hz = rte_get_tsc_hz(), next = 0;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };

	if (dp.cfg.stats_interval)
		next = rte_rdtsc() + dp.cfg.stats_interval * hz;
	while (!tg_worker_stopping()) {
		nanosleep(&ts, NULL);
		if (next && rte_rdtsc() >= next) {
			print_counters(stdout);
			next = rte_rdtsc() + dp.cfg.stats_interval * hz;
		}
	}
}

int
main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char name[RTE_ETH_NAME_MAX_LEN];
	unsigned int lcore;
	unsigned int inited = 0;
	int rc, i, started = 0;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "tollgate-dataplane: EAL init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;

	tg_config_defaults(&dp.cfg);
	rc = tg_config_parse_args(&dp.cfg, argc, argv, stderr);
	if (rc != 0) {
		if (rc < 0)
			fprintf(stderr, "tollgate-dataplane: bad arguments, see --help\n");
		rte_eal_cleanup();
		return rc < 0 ? 2 : 0;
	}
	dp.nb_pairs = tg_port_resolve_pairs(&dp.cfg, dp.pairs, stderr);
	if (dp.nb_pairs < 0) {
		rte_eal_cleanup();
		return 2;
	}

	setup_workers();
	dp.pool = tg_port_pool_create(dp.pairs, dp.nb_pairs, dp.nb_workers,
				      dp.cfg.services.nb ? dp.cfg.flow.held_segments : 0);
	if (dp.pool == NULL) {
		TG_LOG(ERR, tg_logtype_main, "mbuf pool: %s (give EAL more memory with -m)",
		       rte_strerror(rte_errno));
		rc = 1;
		goto err_pool;
	}
	for (i = 0; i < dp.nb_pairs; i++) {
		if ((rc = tg_port_pair_start(&dp.pairs[i], (uint16_t)dp.nb_workers, dp.pool)) < 0) {
			TG_LOG(ERR, tg_logtype_main, "pair %u:%u: %s", dp.pairs[i].out,
			       dp.pairs[i].in, rte_strerror(-rc));
			rc = 1;
			goto err_ports;
		}
		started++;
	}
	assign_queues();
	for (lcore = 0; lcore < dp.nb_workers; lcore++) {
		rc = tg_worker_init(&dp.workers[lcore], &dp.cfg.services, &dp.cfg.flow, dp.pool);
		if (rc < 0) {
			TG_LOG(ERR, tg_logtype_main,
			       "worker %u: flow table of %u flows and %u reassembly rings: %s",
			       lcore, dp.cfg.flow.max_flows, dp.cfg.flow.nb_rings, strerror(-rc));
			rc = 1;
			goto err_workers;
		}
		inited++;
	}
	if (dp.cfg.services.nb)
		printf("tollgate-dataplane: %u protected service(s), %u flows and %u MiB of "
		       "reassembly rings per worker\n", dp.cfg.services.nb, dp.cfg.flow.max_flows,
		       (unsigned int)(((uint64_t)dp.cfg.flow.nb_rings * dp.cfg.flow.ring_size) >> 20));

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	for (i = 0; i < dp.nb_pairs; i++) {
		const struct tg_pair *p = &dp.pairs[i];
		char in_name[RTE_ETH_NAME_MAX_LEN];

		rte_eth_dev_get_name_by_port(p->out, name);
		rte_eth_dev_get_name_by_port(p->in, in_name);
		printf("tollgate-dataplane: bridging port %u (%s, outside) <-> port %u (%s, inside), "
		       "%u queue(s)\n", p->out, name, p->in, in_name, p->nb_queues);
	}
	printf("tollgate-dataplane: %u worker(s), %s\n", dp.nb_workers,
	       dp.cfg.idle_sleep_max_us ? "adaptive idle back-off" : "busy polling");
	dp.start_tsc = rte_rdtsc();

	if (rte_lcore_count() == 1) {
		struct tg_worker *w = &dp.workers[0];

		if (dp.cfg.stats_interval) {
			w->tick = stats_tick;
			w->tick_cycles = dp.cfg.stats_interval * rte_get_tsc_hz();
		}
		printf("tollgate-dataplane: ready\n");
		fflush(stdout);
		tg_worker_run(w);
	} else {
		for (lcore = 0; lcore < dp.nb_workers; lcore++)
			rte_eal_remote_launch(tg_worker_run, &dp.workers[lcore],
					      dp.workers[lcore].lcore);
		printf("tollgate-dataplane: ready\n");
		fflush(stdout);
		control_loop();
		rte_eal_mp_wait_lcore();
	}

	rc = 0;
	printf("tollgate-dataplane: stopping\n");
	print_counters(stdout);
err_workers:
	for (lcore = 0; lcore < inited; lcore++)
		tg_worker_fini(&dp.workers[lcore]);
err_ports:
	for (i = 0; i < started; i++) {
		tg_port_close(dp.pairs[i].out);
		tg_port_close(dp.pairs[i].in);
	}
	rte_mempool_free(dp.pool);
err_pool:
	rte_eal_cleanup();
	return rc;
}
