/* SPDX-License-Identifier: MIT */
/*
 * stats.c — the dataplane's counters as text. See stats.h.
 */
#include <inttypes.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "stats.h"

/* " name=value" for each counter, after an optional heading, then a newline. */
static void
print_list(FILE *out, const char *heading, const char *const *names, const uint64_t *v,
	   unsigned int n)
{
	unsigned int i;

	if (heading)
		fputs(heading, out);
	for (i = 0; i < n; i++)
		fprintf(out, " %s=%" PRIu64, names[i], v[i]);
	fputc('\n', out);
}

static void
print_port(FILE *out, uint16_t port, const struct tg_port_counters *pc)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	struct rte_eth_stats es;

	if (rte_eth_stats_get(port, &es) != 0)
		memset(&es, 0, sizeof(es));
	if (rte_eth_dev_get_name_by_port(port, name) != 0)
		snprintf(name, sizeof(name), "?");
	fprintf(out,
		"port %u %s: rx_pkts=%" PRIu64 " rx_bytes=%" PRIu64 " tx_pkts=%" PRIu64
		" tx_bytes=%" PRIu64 " tx_drop=%" PRIu64 " rx_missed=%" PRIu64 " rx_nombuf=%" PRIu64
		" rx_errors=%" PRIu64 " tx_errors=%" PRIu64 "\n",
		port, name, pc->rx_pkts, pc->rx_bytes, pc->tx_pkts, pc->tx_bytes, pc->tx_drop,
		es.imissed, es.rx_nombuf, es.ierrors, es.oerrors);
}

void
tg_stats_print(FILE *out, const struct tg_worker *workers, unsigned int nb_workers,
	       const struct tg_pair *pairs, int nb_pairs, const struct tg_dp_config *cfg,
	       struct rte_mempool *pool)
{
	struct tg_worker_counters sum, c;
	unsigned int w;
	int i;

	memset(&sum, 0, sizeof(sum));
	for (w = 0; w < nb_workers; w++) {
		tg_worker_counters_read(&workers[w], &c);
		tg_worker_counters_add(&sum, &c);
	}
	if (pool)
		fprintf(out, "mbufs: pool=%u free=%u\n", pool->size,
			rte_mempool_avail_count(pool));
	for (i = 0; i < nb_pairs; i++) {
		print_port(out, pairs[i].out, &sum.port[pairs[i].out]);
		print_port(out, pairs[i].in, &sum.port[pairs[i].in]);
	}
	for (w = 0; w < nb_workers; w++) {
		tg_worker_counters_read(&workers[w], &c);
		fprintf(out,
			"worker %u lcore %u: polls=%" PRIu64 " idle_polls=%" PRIu64
			" sleeps=%" PRIu64 " sleep_ms=%" PRIu64 "\n",
			w, workers[w].lcore, c.polls, c.idle_polls, c.sleeps, c.sleep_us / 1000);
	}
	fprintf(out, "parse: non_ip=%" PRIu64 " frag=%" PRIu64 " nonlinear=%" PRIu64, sum.non_ip,
		sum.frag, sum.nonlinear);
	print_list(out, NULL, tg_pkt_err_names, sum.parse, TG_PKT_ERR_MAX);
	print_list(out, "gateway:", tg_gw_counter_names, sum.gw, TG_GW_CNT_MAX);
	if (cfg->services.nb == 0 || nb_workers == 0)
		return;
	fprintf(out, "flows: active=%" PRIu64 " max=%u bytes_per_flow=%" PRIu64,
		sum.flows_active, cfg->flow.max_flows * nb_workers,
		tg_flow_table_bytes_per_flow(&workers[0].flows));
	print_list(out, NULL, tg_flow_counter_names, sum.flow, TG_FLOW_CNT_MAX);
	print_list(out, "tcp:", tg_tcp_counter_names, sum.tcp, TG_TCP_CNT_MAX);
	fprintf(out, "stream: held_now=%" PRIu64 " rings_used=%" PRIu64 " rings=%u", sum.segs_held,
		sum.rings_used, cfg->flow.nb_rings * nb_workers);
	print_list(out, NULL, tg_stream_counter_names, sum.stream, TG_STREAM_CNT_MAX);
	if (!workers[0].inspecting)
		return;
	print_list(out, "inspect:", tg_inspect_counter_names, sum.inspect, TG_INSPECT_CNT_MAX);
	print_list(out, "pg_fe:", tg_pg_fe_names, sum.pg.fe, TG_PG_FE_MAX);
	print_list(out, "pg_be:", tg_pg_be_names, sum.pg.be, TG_PG_BE_MAX);
	print_list(out, "pg_violations:", tg_pg_err_names + 1, sum.pg.err + 1, TG_PG_ERR_MAX - 1);
	print_list(out, "pg:", tg_pg_counter_names, sum.pg.cnt, TG_PG_CNT_MAX);
}

void
tg_stats_print_control(FILE *out, const struct tg_control *c, const struct tg_worker *workers,
		       unsigned int nb_workers)
{
	struct tg_worker_counters wc;
	struct tg_control_counters cc;
	uint64_t refused = 0;
	unsigned int w, i;

	tg_control_counters_read(c, &cc);
	for (w = 0; w < nb_workers; w++) {
		tg_worker_counters_read(&workers[w], &wc);
		refused += wc.gw[TG_GW_CNT_SLOWPATH_REFUSED];
	}
	fprintf(out, "control: connected=%" PRIu64 " audit_full=%" PRIu64, cc.connected,
		cc.audit_full);
	for (i = 0; i < TG_CONTROL_CNT_MAX; i++)
		if (i != TG_CONTROL_CNT_POLICY_REFUSED || cc.cnt[i])
			fprintf(out, " %s=%" PRIu64, tg_control_counter_names[i], cc.cnt[i]);
	for (i = 0; i < TG_EVBUF_CNT_MAX; i++)
		fprintf(out, " %s=%" PRIu64, tg_evbuf_counter_names[i], cc.ev[i]);
	fprintf(out, " events_pending=%" PRIu64 " ring_drops=%" PRIu64 " event_invalid=%" PRIu64
		" slowpath_refused=%" PRIu64 "\n", cc.pending, cc.ring_drops, cc.invalid, refused);
	print_list(out, "control_disconnects:", tg_control_disconnect_names, cc.disc,
		   TG_CONTROL_DISC_MAX);
	for (i = 1; i < TG_PUNT_ERR_MAX && cc.proto[i] == 0; i++)
		;
	if (i == TG_PUNT_ERR_MAX)
		return;
	fputs("control_protocol:", out);
	for (i = 1; i < TG_PUNT_ERR_MAX; i++)
		if (cc.proto[i])
			fprintf(out, " %s=%" PRIu64, tg_punt_err_names[i], cc.proto[i]);
	fputc('\n', out);
}

/* ------------------------------------------------------- pairs (STATS_RESPONSE) */

/* "<prefix>.<name>" for each counter. */
static void
pairs_list(struct tg_control_stats *s, const char *prefix, const char *const *names,
	   const uint64_t *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		tg_control_stats_addf(s, v[i], "%s.%s", prefix, names[i]);
}

static void
pairs_port(struct tg_control_stats *s, uint16_t port, const struct tg_port_counters *pc)
{
	struct rte_eth_stats es;

	if (rte_eth_stats_get(port, &es) != 0)
		memset(&es, 0, sizeof(es));
	tg_control_stats_addf(s, pc->rx_pkts, "port.%u.rx_pkts", port);
	tg_control_stats_addf(s, pc->rx_bytes, "port.%u.rx_bytes", port);
	tg_control_stats_addf(s, pc->tx_pkts, "port.%u.tx_pkts", port);
	tg_control_stats_addf(s, pc->tx_bytes, "port.%u.tx_bytes", port);
	tg_control_stats_addf(s, pc->tx_drop, "port.%u.tx_drop", port);
	tg_control_stats_addf(s, es.imissed, "port.%u.rx_missed", port);
	tg_control_stats_addf(s, es.rx_nombuf, "port.%u.rx_nombuf", port);
	tg_control_stats_addf(s, es.ierrors, "port.%u.rx_errors", port);
	tg_control_stats_addf(s, es.oerrors, "port.%u.tx_errors", port);
}

static void
pairs_control(struct tg_control_stats *s, const struct tg_control *c)
{
	struct tg_control_counters cc;
	unsigned int i;

	tg_control_counters_read(c, &cc);
	tg_control_stats_add(s, "control.connected", cc.connected);
	tg_control_stats_add(s, "control.audit_full", cc.audit_full);
	pairs_list(s, "control", tg_control_counter_names, cc.cnt, TG_CONTROL_CNT_MAX);
	pairs_list(s, "control", tg_evbuf_counter_names, cc.ev, TG_EVBUF_CNT_MAX);
	tg_control_stats_add(s, "control.events_pending", cc.pending);
	tg_control_stats_add(s, "control.ring_drops", cc.ring_drops);
	tg_control_stats_add(s, "control.event_invalid", cc.invalid);
	pairs_list(s, "control.disconnect", tg_control_disconnect_names, cc.disc,
		   TG_CONTROL_DISC_MAX);
	for (i = 1; i < TG_PUNT_ERR_MAX; i++)
		if (cc.proto[i])
			tg_control_stats_addf(s, cc.proto[i], "control.protocol.%s",
					      tg_punt_err_names[i]);
}

void
tg_stats_pairs(struct tg_control_stats *s, const struct tg_worker *workers,
	       unsigned int nb_workers, const struct tg_pair *pairs, int nb_pairs,
	       const struct tg_dp_config *cfg, struct rte_mempool *pool,
	       const struct tg_control *c)
{
	struct tg_worker_counters sum, wc;
	unsigned int w;
	int i;

	memset(&sum, 0, sizeof(sum));
	if (pool) {
		tg_control_stats_add(s, "mbufs.pool", pool->size);
		tg_control_stats_add(s, "mbufs.free", rte_mempool_avail_count(pool));
	}
	for (w = 0; w < nb_workers; w++) {
		tg_worker_counters_read(&workers[w], &wc);
		tg_worker_counters_add(&sum, &wc);
		tg_control_stats_addf(s, workers[w].lcore, "worker.%u.lcore", w);
		tg_control_stats_addf(s, wc.polls, "worker.%u.polls", w);
		tg_control_stats_addf(s, wc.idle_polls, "worker.%u.idle_polls", w);
		tg_control_stats_addf(s, wc.sleeps, "worker.%u.sleeps", w);
		tg_control_stats_addf(s, wc.sleep_us / 1000, "worker.%u.sleep_ms", w);
		tg_control_stats_addf(s, wc.flows_active, "worker.%u.flows_active", w);
		tg_control_stats_addf(s, wc.segs_held, "worker.%u.segs_held", w);
	}
	for (i = 0; i < nb_pairs; i++) {
		pairs_port(s, pairs[i].out, &sum.port[pairs[i].out]);
		pairs_port(s, pairs[i].in, &sum.port[pairs[i].in]);
	}
	tg_control_stats_add(s, "parse.non_ip", sum.non_ip);
	tg_control_stats_add(s, "parse.frag", sum.frag);
	tg_control_stats_add(s, "parse.nonlinear", sum.nonlinear);
	pairs_list(s, "parse", tg_pkt_err_names, sum.parse, TG_PKT_ERR_MAX);
	pairs_list(s, "gw", tg_gw_counter_names, sum.gw, TG_GW_CNT_MAX);
	if (cfg->services.nb != 0 && nb_workers != 0) {
		tg_control_stats_add(s, "flows.active", sum.flows_active);
		tg_control_stats_add(s, "flows.max", (uint64_t)cfg->flow.max_flows * nb_workers);
		pairs_list(s, "flows", tg_flow_counter_names, sum.flow, TG_FLOW_CNT_MAX);
		pairs_list(s, "tcp", tg_tcp_counter_names, sum.tcp, TG_TCP_CNT_MAX);
		tg_control_stats_add(s, "stream.held", sum.segs_held);
		tg_control_stats_add(s, "stream.rings_used", sum.rings_used);
		tg_control_stats_add(s, "stream.rings", (uint64_t)cfg->flow.nb_rings * nb_workers);
		pairs_list(s, "stream", tg_stream_counter_names, sum.stream, TG_STREAM_CNT_MAX);
		if (workers[0].inspecting) {
			pairs_list(s, "inspect", tg_inspect_counter_names, sum.inspect,
				   TG_INSPECT_CNT_MAX);
			pairs_list(s, "pg.fe", tg_pg_fe_names, sum.pg.fe, TG_PG_FE_MAX);
			pairs_list(s, "pg.be", tg_pg_be_names, sum.pg.be, TG_PG_BE_MAX);
			pairs_list(s, "pg.violations", tg_pg_err_names + 1, sum.pg.err + 1,
				   TG_PG_ERR_MAX - 1);
			pairs_list(s, "pg", tg_pg_counter_names, sum.pg.cnt, TG_PG_CNT_MAX);
		}
	}
	if (c != NULL)
		pairs_control(s, c);
}
