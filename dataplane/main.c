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
 *
 * SIGHUP reloads the policy file: it is parsed and compiled here, off the
 * fast path, with a scratch for every worker, then published as a new
 * generation that each worker adopts between two bursts. The old one is
 * freed after an RCU grace period (rte_rcu_qsbr: every worker has passed
 * the top of its loop since). A policy that does not load is reported
 * (file:line:column) and the running one stays.
 *
 * With a slowpath socket configured, the control thread (or, with a
 * single lcore, the worker's tick every 10 ms, 1 ms with a strict
 * service) runs the control channel (control.h): audit events to
 * tollgate-slowpath, fail closed while it is away, and the policy
 * generations it pushes (gen_from_slowpath(): the JSON parsed against our
 * services, the databases deserialised, then published like a reload),
 * and the counters it asks for (stats_snapshot(): tgctl stats, the same
 * counters as print_counters() as dotted pairs). At start it waits up to
 * TG_DP_CONNECT_WAIT_MS for the first
 * handshake, so the first sessions are not refused for want of a poll; at
 * a clean stop it reports the end of every open session and waits up to
 * TG_DP_FLUSH_MS for the slowpath to acknowledge the last events.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <systemd/sd-daemon.h>

#include "cancelkeys.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "port.h"
#include "stats.h"
#include "tcpgrants.h"
#include "telemetry.h"
#include "worker.h"

RTE_LOG_REGISTER(tg_logtype_main, tg.dataplane.main, INFO);

#define TG_DP_CONNECT_WAIT_MS 2000
#define TG_DP_FLUSH_MS 2000
#define TG_DP_CONTROL_TICK_MS 10	/* with a control channel: events wait at most this */

struct dataplane {
	struct tg_dp_config cfg;
	struct tg_pair pairs[TG_MAX_PAIRS];
	int nb_pairs;
	struct tg_worker workers[RTE_MAX_LCORE];
	unsigned int nb_workers;
	struct rte_mempool *pool;
	struct tg_policy_gen *gen;	/* published */
	uint64_t gen_id;
	struct rte_rcu_qsbr *qsbr;	/* NULL with a single lcore */
	struct rte_hash *cancel_keys;	/* the live sessions' cancel keys, all workers */
	int events_fd;
	struct tg_control *ctl;		/* NULL: no control channel */
	uint64_t start_tsc;
};

static struct dataplane dp;

static volatile sig_atomic_t reload_requested;

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		reload_requested = 1;
		return;
	}
	tg_worker_stop();
}

static void
gen_free(struct tg_policy_gen *g)
{
	unsigned int w;

	if (g == NULL)
		return;
	for (w = 0; w < RTE_MAX_LCORE; w++)
		tg_policy_scratch_free(g->scratch[w]);
	tg_policy_free(g->policy);
	free(g);
}

/* Loads, compiles and readies the policy file for every worker. NULL with err set. */
static struct tg_policy_gen *
gen_load(char *err, size_t errlen)
{
	struct tg_policy_gen *g = calloc(1, sizeof(*g));
	unsigned int w;

	if (g == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	if (tg_policy_load(dp.cfg.policy_path, &dp.cfg.services, &g->policy, err, errlen) < 0)
		goto err;
	for (w = 0; w < dp.nb_workers; w++) {
		g->scratch[w] = tg_policy_scratch_alloc(g->policy);
		if (g->scratch[w] == NULL) {
			snprintf(err, errlen, "%s: scratch: %s", dp.cfg.policy_path,
				 strerror(errno));
			goto err;
		}
	}
	g->id = ++dp.gen_id;
	return g;
err:
	gen_free(g);
	return NULL;
}

/*
 * Publishes g; the old generation is freed once no worker holds it. From
 * the control thread (or, with a single lcore, the worker's tick).
 */
static void
gen_install(struct tg_policy_gen *g, const char *source)
{
	struct tg_policy_gen *old = tg_worker_policy_publish(g);

	dp.gen = g;
	if (dp.qsbr != NULL)
		rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	else
		tg_worker_policy_adopt(&dp.workers[0]);	/* we are that worker, between bursts */
	gen_free(old);
	printf("tollgate-dataplane: policy generation %" PRIu64 " from %s: %u command rule(s), "
	       "%u detector(s), %u column rule(s)\n", g->id, source, g->policy->nb_cmds,
	       g->policy->nb_dets, g->policy->nb_cols);
	fflush(stdout);
}

/* SIGHUP: the policy file again, as a new generation. */
static void
reload_policy(void)
{
	struct tg_policy_gen *g;
	char err[512];

	reload_requested = 0;
	if (dp.cfg.policy_path[0] == '\0') {
		printf("tollgate-dataplane: reload: no policy file configured%s\n",
		       dp.ctl != NULL ? " (the slowpath owns the policy: reload it there)" : "");
		fflush(stdout);
		return;
	}
	g = gen_load(err, sizeof(err));
	if (g == NULL) {
		printf("tollgate-dataplane: reload refused, generation %" PRIu64 " stays: %s\n",
		       dp.gen != NULL ? dp.gen->id : 0, err);
		fflush(stdout);
		return;
	}
	gen_install(g, dp.cfg.policy_path);
}

/*
 * A generation pushed by the slowpath (control.h): its JSON parsed against
 * our services and its databases deserialised, not compiled; a scratch
 * for every worker; then published like a reload.
 */
static int
gen_from_slowpath(void *arg, uint64_t id, const char *json, size_t json_len, const uint8_t *db,
		  size_t db_len, char *err, size_t errlen)
{
	struct tg_policy_gen *g = calloc(1, sizeof(*g));
	char source[48];
	unsigned int w;
	int rc;

	(void)arg;
	if (g == NULL)
		return -ENOMEM;
	snprintf(source, sizeof(source), "slowpath generation %" PRIu64, id);
	if (db == NULL) {
		snprintf(err, errlen, "%s: no databases (TG_PUNT_POL_DB) in the object", source);
		rc = -EINVAL;
		goto err;
	}
	rc = tg_policy_load_compiled(json, json_len, source, &dp.cfg.services, db, db_len,
				     &g->policy, err, errlen);
	if (rc < 0)
		goto err;
	for (w = 0; w < dp.nb_workers; w++) {
		g->scratch[w] = tg_policy_scratch_alloc(g->policy);
		if (g->scratch[w] == NULL) {
			rc = -errno;
			snprintf(err, errlen, "%s: scratch: %s", source, strerror(errno));
			goto err;
		}
	}
	g->id = ++dp.gen_id;
	gen_install(g, source);
	return 0;
err:
	gen_free(g);
	return rc < 0 ? rc : -EINVAL;
}

/*
 * A table of tcp grants from the slowpath (control.h; NULL: it pushes
 * none), built for our services and published to the workers; the old
 * one is freed once no worker can hold it, as a policy generation.
 */
static int
tcp_grants_from_slowpath(void *arg, const struct tg_punt_tcp_grants *m)
{
	struct tg_tcp_grants_built b;
	struct tg_tcp_grants *t, *old;

	(void)arg;
	t = tg_tcp_grants_build(m, &dp.cfg.services, &b);
	if (t == NULL)
		return -ENOMEM;
	old = tg_worker_tcp_grants_publish(t);
	if (dp.qsbr != NULL)
		rte_rcu_qsbr_synchronize(dp.qsbr, RTE_QSBR_THRID_INVALID);
	/* with a single lcore this runs in the worker's tick, between bursts: none is held */
	tg_tcp_grants_free(old);
	if (m != NULL)
		TG_LOG(INFO, tg_logtype_main,
		       "tcp grants %" PRIu64 ": %u service(s) need a grant, %u grant(s) live; "
		       "%u service(s) not tcp here ignored with %u grant(s)",
		       m->gen, b.services, t->nb, b.ignored_services, b.ignored_grants);
	return 0;
}

static void
print_counters(FILE *out)
{
	fprintf(out, "uptime %.1f s\n",
		(double)(rte_rdtsc() - dp.start_tsc) / (double)rte_get_tsc_hz());
	tg_stats_print(out, dp.workers, dp.nb_workers, dp.pairs, dp.nb_pairs, &dp.cfg, dp.pool);
	if (dp.ctl != NULL)
		tg_stats_print_control(out, dp.ctl, dp.workers, dp.nb_workers);
	fflush(out);
}

/*
 * A STATS_REQUEST's snapshot (control.h): every worker's counters, the
 * ports' and the control channel's, as name/value pairs; on the control
 * thread, like print_counters().
 */
static void
stats_snapshot(void *arg, struct tg_control_stats *s)
{
	(void)arg;
	tg_control_stats_add(s, "uptime_s", dp.start_tsc == 0 ? 0 :
			     (rte_rdtsc() - dp.start_tsc) / rte_get_tsc_hz());
	tg_stats_pairs(s, dp.workers, dp.nb_workers, dp.pairs, dp.nb_pairs, &dp.cfg, dp.pool,
		       dp.ctl);
}

/*
 * With a single lcore the worker loop calls this about every 100 ms (10 ms
 * with a control channel): the control thread's duties, done between
 * bursts.
 */
static void
main_tick(void *arg)
{
	static uint64_t next_stats;
	uint64_t now = rte_rdtsc();

	(void)arg;
	if (dp.ctl != NULL)
		tg_control_poll(dp.ctl);
	if (reload_requested)
		reload_policy();
	if (dp.cfg.stats_interval && now >= next_stats) {
		if (next_stats)
			print_counters(stdout);
		next_stats = now + dp.cfg.stats_interval * rte_get_tsc_hz();
	}
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

static int
control_create(void)
{
	static const char *names[TG_MAX_SERVICES];
	int numa[RTE_MAX_LCORE];
	static const char *tcp_names[TG_MAX_SERVICES];
	struct tg_control_params p = {
		.tcp_grants = tcp_grants_from_slowpath,
		.tcp_services = tcp_names,
		.socket_path = dp.cfg.slowpath_socket,
		.required = dp.cfg.slowpath_required,
		.event_buffer = dp.cfg.event_buffer,
		.nb_workers = dp.nb_workers,
		.numa = numa,
		.services = names,
		.nb_services = dp.cfg.services.nb,
		.stats = stats_snapshot,
		.sessions = true,	/* every worker polls its command ring (worker.c) */
	};
	unsigned int w;

	for (w = 0; w < dp.nb_workers; w++)
		numa[w] = (int)rte_lcore_to_socket_id(dp.workers[w].lcore);
	for (w = 0; w < dp.cfg.services.nb; w++) {
		struct tg_service *s = &dp.cfg.services.svc[w];

		names[w] = s->name;
		if (s->proto == TG_SERVICE_TCP)
			tcp_names[p.nb_tcp_services++] = s->name;
		/* logins taken over: the slowpath verifies the tokens */
		if (s->proto == TG_SERVICE_POSTGRES && s->identity == TG_IDENTITY_OIDC)
			p.logins = true;
		if (s->slowpath_down == TG_SPDOWN_DEFAULT)
			s->slowpath_down = dp.cfg.slowpath_required ? TG_SPDOWN_REFUSE
								    : TG_SPDOWN_ALLOW;
		if (s->proto == TG_SERVICE_POSTGRES) {
			/* any policy generation may bring hold rules: the slowpath decides them */
			p.holds = true;
			/* the slowpath owns the policy unless this dataplane has its own file */
			p.policy = gen_from_slowpath;
			p.need_policy = dp.cfg.policy_path[0] == '\0';
		}
	}
	dp.ctl = tg_control_create(&p);
	if (dp.ctl == NULL) {
		TG_LOG(ERR, tg_logtype_main, "control channel to %s (%u events, %u workers): %s",
		       p.socket_path, p.event_buffer, p.nb_workers, strerror(errno));
		return -errno;
	}
	printf("tollgate-dataplane: control channel to %s, %s, up to %u events kept\n",
	       p.socket_path, p.required ? "required (fail closed)" : "optional", p.event_buffer);
	return 0;
}

/*
 * The workers have stopped: every session still open ends (shutdown), and
 * the slowpath gets a last chance to make the events durable.
 */
static void
control_stop(void)
{
	unsigned int w;
	uint64_t left;

	for (w = 0; w < dp.nb_workers; w++)
		tg_worker_end_sessions(&dp.workers[w]);
	left = tg_control_flush(dp.ctl, TG_DP_FLUSH_MS);
	if (left)
		printf("tollgate-dataplane: %" PRIu64 " event(s) not acknowledged by the slowpath "
		       "at exit\n", left);
}

/*
 * How often the control thread drains the workers' rings: a strict
 * statement waits for its record, so with a strict service every
 * millisecond; otherwise every TG_DP_CONTROL_TICK_MS.
 */
static int
control_tick_ms(void)
{
	unsigned int i;

	for (i = 0; i < dp.cfg.services.nb; i++)
		if (dp.cfg.services.svc[i].durability == TG_DURABILITY_STRICT)
			return 1;
	return TG_DP_CONTROL_TICK_MS;
}

static void
control_loop(void)
{
	uint64_t hz = rte_get_tsc_hz(), next = 0;
	int tick_ms = control_tick_ms();
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };

	if (dp.cfg.stats_interval)
		next = rte_rdtsc() + dp.cfg.stats_interval * hz;
	while (!tg_worker_stopping()) {
		if (dp.ctl != NULL) {
			/* wakes for the socket, or every tick to drain the workers' rings */
			tg_control_wait(dp.ctl, tick_ms);
			tg_control_poll(dp.ctl);
		} else {
			nanosleep(&ts, NULL);
		}
		if (reload_requested)
			reload_policy();
		if (next && rte_rdtsc() >= next) {
			print_counters(stdout);
			next = rte_rdtsc() + dp.cfg.stats_interval * hz;
		}
	}
}

/*
 * Readiness for systemd (Type=notify, appliance/tollgate-dataplane.service):
 * the ports are started and the workers forward. Outside systemd
 * (NOTIFY_SOCKET unset) sd_notify() does nothing.
 */
static void
ready_notify(void)
{
	sd_notify(0, "READY=1\nSTATUS=forwarding");
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
	dp.events_fd = -1;
	if (dp.cfg.events_path[0] != '\0') {
		dp.events_fd = open(dp.cfg.events_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				    0640);
		if (dp.events_fd < 0) {
			fprintf(stderr, "tollgate-dataplane: events file %s: %s\n",
				dp.cfg.events_path, strerror(errno));
			rte_eal_cleanup();
			return 2;
		}
	}

	setup_workers();
	if (dp.cfg.policy_path[0] != '\0') {
		char err[512];

		/* Hyperscan compiles here, before any packet flows */
		dp.gen = gen_load(err, sizeof(err));
		if (dp.gen == NULL) {
			fprintf(stderr, "tollgate-dataplane: policy: %s\n", err);
			rc = 2;
			goto err_pool;
		}
		tg_worker_policy_publish(dp.gen);
		printf("tollgate-dataplane: policy generation %" PRIu64 " from %s: %u command "
		       "rule(s), %u detector(s), %u column rule(s)\n", dp.gen->id,
		       dp.cfg.policy_path, dp.gen->policy->nb_cmds, dp.gen->policy->nb_dets,
		       dp.gen->policy->nb_cols);
	}
	if (rte_lcore_count() > 1) {
		size_t sz = rte_rcu_qsbr_get_memsize(dp.nb_workers);

		dp.qsbr = rte_zmalloc("tg_qsbr", sz, RTE_CACHE_LINE_SIZE);
		if (dp.qsbr == NULL || rte_rcu_qsbr_init(dp.qsbr, dp.nb_workers) != 0) {
			TG_LOG(ERR, tg_logtype_main, "RCU QSBR variable for %u workers", dp.nb_workers);
			rc = 1;
			goto err_pool;
		}
		for (lcore = 0; lcore < dp.nb_workers; lcore++) {
			rte_rcu_qsbr_thread_register(dp.qsbr, lcore);
			dp.workers[lcore].qsbr = dp.qsbr;
		}
	}
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
	if (dp.cfg.slowpath_socket[0] != '\0' && (rc = control_create()) < 0) {
		rc = 1;
		goto err_workers;
	}
	if (dp.cfg.services.nb != 0) {
		dp.cancel_keys = tg_cancel_keys_create(dp.cfg.inspect_sessions * dp.nb_workers,
						       dp.qsbr);
		if (dp.cancel_keys == NULL) {
			TG_LOG(ERR, tg_logtype_main, "cancel key table of %u sessions: %s",
			       dp.cfg.inspect_sessions * dp.nb_workers, rte_strerror(rte_errno));
			rc = 1;
			goto err_workers;
		}
	}
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
		if (dp.ctl != NULL)
			dp.workers[lcore].ctl = tg_control_queue(dp.ctl, lcore);
		dp.workers[lcore].cancel_keys = dp.cancel_keys;
		rc = tg_worker_inspect_init(&dp.workers[lcore],
					    dp.gen != NULL ? dp.gen->policy : NULL,
					    dp.cfg.inspect_sessions, &dp.cfg.pg_limits, dp.events_fd);
		if (rc == 0)
			tg_worker_record(&dp.workers[lcore], (uint64_t)dp.cfg.record_kb << 10);
		if (rc < 0) {
			TG_LOG(ERR, tg_logtype_main, "worker %u: inspector of %u sessions: %s",
			       lcore, dp.cfg.inspect_sessions, strerror(-rc));
			rc = 1;
			goto err_workers;
		}
	}
	tg_telemetry_init(&(struct tg_telemetry_params){ .workers = dp.workers,
		.nb_workers = dp.nb_workers, .pairs = dp.pairs, .nb_pairs = dp.nb_pairs,
		.cfg = &dp.cfg, .pool = dp.pool, .ctl = dp.ctl });
	if (dp.cfg.services.nb)
		printf("tollgate-dataplane: %u protected service(s), %u flows and %u MiB of "
		       "reassembly rings per worker\n", dp.cfg.services.nb, dp.cfg.flow.max_flows,
		       (unsigned int)(((uint64_t)dp.cfg.flow.nb_rings * dp.cfg.flow.ring_size) >> 20));

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

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
	if (dp.ctl != NULL) {
		bool up = tg_control_connect_wait(dp.ctl, TG_DP_CONNECT_WAIT_MS);
		const char *how = up ? "connected"
				     : "not connected yet; events are kept until it is";

		if (!up && dp.cfg.slowpath_required)
			how = "not connected yet; new postgres sessions are refused until it is";
		printf("tollgate-dataplane: slowpath %s: %s\n", dp.cfg.slowpath_socket, how);
	}
	dp.start_tsc = rte_rdtsc();

	if (rte_lcore_count() == 1) {
		struct tg_worker *w = &dp.workers[0];

		w->tick = main_tick;
		w->tick_cycles = dp.ctl != NULL ? rte_get_tsc_hz() / 1000 * control_tick_ms()
					       : rte_get_tsc_hz() / 10;
		printf("tollgate-dataplane: ready\n");
		fflush(stdout);
		ready_notify();
		tg_worker_run(w);
	} else {
		for (lcore = 0; lcore < dp.nb_workers; lcore++)
			rte_eal_remote_launch(tg_worker_run, &dp.workers[lcore],
					      dp.workers[lcore].lcore);
		printf("tollgate-dataplane: ready\n");
		fflush(stdout);
		ready_notify();
		control_loop();
		rte_eal_mp_wait_lcore();
	}

	rc = 0;
	if (dp.ctl != NULL)
		control_stop();
	printf("tollgate-dataplane: stopping\n");
	sd_notify(0, "STOPPING=1");
	print_counters(stdout);
err_workers:
	/* no telemetry query reads what is freed below */
	tg_telemetry_fini();
	for (lcore = 0; lcore < inited; lcore++)
		tg_worker_fini(&dp.workers[lcore]);
	tg_control_destroy(dp.ctl);
	dp.ctl = NULL;
	tg_cancel_keys_free(dp.cancel_keys);
	dp.cancel_keys = NULL;
err_ports:
	for (i = 0; i < started; i++) {
		tg_port_close(dp.pairs[i].out);
		tg_port_close(dp.pairs[i].in);
	}
	rte_mempool_free(dp.pool);
err_pool:
	tg_worker_policy_publish(NULL);
	gen_free(dp.gen);
	tg_tcp_grants_free(tg_worker_tcp_grants_publish(NULL));
	rte_free(dp.qsbr);
	if (dp.events_fd >= 0)
		close(dp.events_fd);
	rte_eal_cleanup();
	return rc;
}
