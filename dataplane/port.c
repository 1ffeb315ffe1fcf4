/* SPDX-License-Identifier: MIT */
/*
 * port.c — ethdev set-up for bridged port pairs. See port.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "log.h"
#include "port.h"
#include "worker.h"

RTE_LOG_REGISTER(tg_logtype_port, tg.dataplane.port, INFO);

#define POOL_CACHE 256

/* Symmetric Toeplitz key: hash(a, b) == hash(b, a) for addresses and ports. */
static uint8_t sym_rss_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static int
resolve_one(const char *name, uint16_t *port)
{
	const char *c;
	unsigned long v;

	for (c = name; *c && isdigit((unsigned char)*c); c++)
		;
	if (*c == '\0') {
		v = strtoul(name, NULL, 10);
		if (v >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)v))
			return -ENODEV;
		*port = (uint16_t)v;
		return 0;
	}
	return rte_eth_dev_get_port_by_name(name, port) == 0 ? 0 : -ENODEV;
}

static void
list_ports(FILE *err)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t p;

	fprintf(err, "ports available:");
	if (rte_eth_dev_count_avail() == 0)
		fprintf(err, " none (add --vdev=... or a bound NIC)");
	RTE_ETH_FOREACH_DEV(p) {
		if (rte_eth_dev_get_name_by_port(p, name) == 0)
			fprintf(err, " %u=%s", p, name);
	}
	fprintf(err, "\n");
}

int
tg_port_resolve_pairs(const struct tg_dp_config *cfg, struct tg_pair *pairs, FILE *err)
{
	uint8_t used[RTE_MAX_ETHPORTS] = { 0 };
	unsigned int i, nb = 0;
	uint16_t p, ports[RTE_MAX_ETHPORTS];

	if (cfg->nb_pairs == 0) {
		RTE_ETH_FOREACH_DEV(p) {
			ports[nb++] = p;
		}
		if (nb == 0 || nb % 2 != 0) {
			fprintf(err, "%u ports and no --pair: cannot pair them up in order\n", nb);
			list_ports(err);
			return -EINVAL;
		}
		if (nb / 2 > TG_MAX_PAIRS) {
			fprintf(err, "%u ports: at most %d pairs\n", nb, TG_MAX_PAIRS);
			return -EINVAL;
		}
		for (i = 0; i < nb / 2; i++) {
			pairs[i].out = ports[2 * i];
			pairs[i].in = ports[2 * i + 1];
		}
		return (int)(nb / 2);
	}

	for (i = 0; i < cfg->nb_pairs; i++) {
		const struct tg_pair_spec *s = &cfg->pairs[i];

		if (resolve_one(s->out, &pairs[i].out) < 0 || resolve_one(s->in, &pairs[i].in) < 0) {
			fprintf(err, "pair %s:%s: unknown port '%s'\n", s->out, s->in,
				resolve_one(s->out, &p) < 0 ? s->out : s->in);
			list_ports(err);
			return -EINVAL;
		}
		if (pairs[i].out == pairs[i].in) {
			fprintf(err, "pair %s:%s: a port cannot be paired with itself\n", s->out,
				s->in);
			return -EINVAL;
		}
		if (pairs[i].out >= TG_MAX_PORTS || pairs[i].in >= TG_MAX_PORTS) {
			fprintf(err, "pair %s:%s: port ids above %d are not supported\n", s->out,
				s->in, TG_MAX_PORTS - 1);
			return -EINVAL;
		}
		if (used[pairs[i].out] || used[pairs[i].in]) {
			fprintf(err, "pair %s:%s: port %u is already in another pair\n", s->out,
				s->in, used[pairs[i].out] ? pairs[i].out : pairs[i].in);
			return -EINVAL;
		}
		used[pairs[i].out] = used[pairs[i].in] = 1;
	}
	return (int)cfg->nb_pairs;
}

struct rte_mempool *
tg_port_pool_create(const struct tg_pair *pairs, int nb_pairs, unsigned int nb_workers,
		    uint32_t held_per_worker)
{
	unsigned int n;

	/* every descriptor of both ports, every worker's burst and cache, slack */
	n = (unsigned int)nb_pairs * 2 * RTE_MAX(nb_workers, 1u) * (TG_PORT_RXD + TG_PORT_TXD);
	n += (rte_lcore_count() + 1) * (TG_BURST + POOL_CACHE + TG_TXBUF) + 2048;
	n += RTE_MAX(nb_workers, 1u) * held_per_worker;
	return rte_pktmbuf_pool_create("tg_mbuf", n, POOL_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
}

static int
port_start(uint16_t port, uint16_t nb_q, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = TG_PORT_RXD, nb_txd = TG_PORT_TXD, q;
	int rc, socket = rte_eth_dev_socket_id(port);

	if ((rc = rte_eth_dev_info_get(port, &info)) < 0)
		return rc;
	if (nb_q > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = sym_rss_key;
		conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(sym_rss_key);
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
	}
	if ((rc = rte_eth_dev_configure(port, nb_q, nb_q, &conf)) < 0)
		return rc;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd)) < 0)
		return rc;
	for (q = 0; q < nb_q; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, socket < 0 ? 0 : (unsigned)socket,
					    NULL, mp);
		if (rc < 0)
			return rc;
		rc = rte_eth_tx_queue_setup(port, q, nb_txd, socket < 0 ? 0 : (unsigned)socket,
					    NULL);
		if (rc < 0)
			return rc;
	}
	if ((rc = rte_eth_dev_start(port)) < 0)
		return rc;
	if ((rc = rte_eth_promiscuous_enable(port)) < 0)
		TG_LOG(WARNING, tg_logtype_port, "port %u: promiscuous mode unavailable (%s)",
		       port, rte_strerror(-rc));
	return 0;
}

int
tg_port_pair_start(struct tg_pair *pair, uint16_t nb_queues, struct rte_mempool *mp)
{
	struct rte_eth_dev_info a, b;
	int rc;

	if ((rc = rte_eth_dev_info_get(pair->out, &a)) < 0 ||
	    (rc = rte_eth_dev_info_get(pair->in, &b)) < 0)
		return rc;
	nb_queues = RTE_MIN(nb_queues, a.max_rx_queues);
	nb_queues = RTE_MIN(nb_queues, a.max_tx_queues);
	nb_queues = RTE_MIN(nb_queues, b.max_rx_queues);
	nb_queues = RTE_MIN(nb_queues, b.max_tx_queues);
	if (nb_queues == 0)
		return -ENOTSUP;
	pair->nb_queues = nb_queues;
	if ((rc = port_start(pair->out, nb_queues, mp)) < 0) {
		TG_LOG(ERR, tg_logtype_port, "port %u: start failed: %s", pair->out,
		       rte_strerror(-rc));
		return rc;
	}
	if ((rc = port_start(pair->in, nb_queues, mp)) < 0) {
		TG_LOG(ERR, tg_logtype_port, "port %u: start failed: %s", pair->in,
		       rte_strerror(-rc));
		tg_port_close(pair->out);
		return rc;
	}
	return 0;
}

void
tg_port_close(uint16_t port)
{
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
}
