/* SPDX-License-Identifier: MIT */
/*
 * common.c — net_ring ports, frames and the clock line for the benchmarks
 * and the replay harness (see common.h; clocks and medians are timing.c's).
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include "worker.h"

#include "common.h"

static const struct rte_ether_addr mac_client = { .addr_bytes = { 0x02, 0, 0, 0, 0, 0x01 } };
static const struct rte_ether_addr mac_server = { .addr_bytes = { 0x02, 0, 0, 0, 0, 0x02 } };

/* ---- clocks, arguments ---- */

void
tg_bench_print_clock(const char *lead, uint64_t hz)
{
	double ghz = tg_bench_measure_core_ghz();

	printf("%sTSC %.3f GHz, core ~%.3f GHz by a dependent-add loop\n", lead, (double)hz / 1e9,
	       ghz);
	printf("RESULT name=clock tsc_ghz=%.3f core_ghz=%.3f\n", (double)hz / 1e9, ghz);
	fflush(stdout);
}

int
tg_bench_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int
tg_bench_parse_seconds(const char *s, double min, double *out)
{
	double v;
	char *end;

	if (!isdigit((unsigned char)s[0]) && s[0] != '.')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= min) || v > 3600.0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---- generator time ---- */

double
tg_bench_take_gen_cycles(struct tg_bench_gen_time *g)
{
	double gen = (double)g->cycles;

	if (g->timed)
		gen += (double)g->untimed * (double)g->cycles / (double)g->timed;
	g->cycles = g->timed = g->untimed = 0;
	return gen;
}

/* ---- frames ---- */

uint16_t
tg_bench_write_hdrs(uint8_t *d, const struct tg_bench_seg *s)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)d;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint16_t tcp_len = (uint16_t)(sizeof(*tcp) + s->opt_len);
	uint16_t len = (uint16_t)(TG_BENCH_HDR_LEN + s->opt_len + s->plen);

	eth->dst_addr = s->from_client ? mac_server : mac_client;
	eth->src_addr = s->from_client ? mac_client : mac_server;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(len - RTE_ETHER_HDR_LEN));
	ip->packet_id = rte_cpu_to_be_16(s->ip_id);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->hdr_checksum = 0;
	ip->src_addr = rte_cpu_to_be_32(s->saddr);
	ip->dst_addr = rte_cpu_to_be_32(s->daddr);
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	tcp->src_port = rte_cpu_to_be_16(s->sport);
	tcp->dst_port = rte_cpu_to_be_16(s->dport);
	tcp->sent_seq = rte_cpu_to_be_32(s->seq);
	tcp->recv_ack = rte_cpu_to_be_32(s->flags & RTE_TCP_ACK_FLAG ? s->ack : 0);
	tcp->data_off = (uint8_t)((tcp_len / 4) << 4);
	tcp->tcp_flags = s->flags;
	tcp->rx_win = rte_cpu_to_be_16(s->win);
	tcp->cksum = 0;
	tcp->tcp_urp = 0;
	return len;
}

void
tg_bench_write_tcp_csum(uint8_t *d)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + RTE_ETHER_HDR_LEN);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);

	tcp->cksum = 0;
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
}

int
tg_bench_check_frame(const struct rte_mbuf *m, struct tg_pkt *p, enum tg_pkt_err *err)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	struct tg_pkt scratch;
	enum tg_pkt_err e;

	if (p == NULL)
		p = &scratch;
	e = tg_pkt_parse(d, m->data_len, p);
	if (err != NULL)
		*err = e;
	if (e != TG_PKT_OK || !(p->flags & TG_PKT_F_L4) || !tg_pkt_l4_csum_ok(d, p))
		return -EPROTO;
	return 0;
}

/* ---- net_ring ports ---- */

struct rte_ring *
tg_bench_create_ring(const char *name, unsigned int count)
{
	return rte_ring_create(name, rte_align32pow2(count + 1), (int)rte_socket_id(),
			       RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* "<prefix>_<suffix>"; NULL and rte_errno on failure. */
static struct rte_ring *
ring_named(const char *prefix, const char *suffix, unsigned int count)
{
	char name[RTE_RING_NAMESIZE];
	int n = snprintf(name, sizeof(name), "%s_%s", prefix, suffix);

	if (n < 0 || (size_t)n >= sizeof(name)) {
		rte_errno = ENAMETOOLONG;
		return NULL;
	}
	return tg_bench_create_ring(name, count);
}

int
tg_bench_create_rings(struct tg_bench_rings *r, const char *prefix, unsigned int count)
{
	if ((r->out_rx = ring_named(prefix, "out_rx", count)) == NULL)
		goto err_out_rx;
	if ((r->out_tx = ring_named(prefix, "out_tx", count)) == NULL)
		goto err_out_tx;
	if ((r->in_rx = ring_named(prefix, "in_rx", count)) == NULL)
		goto err_in_rx;
	if ((r->in_tx = ring_named(prefix, "in_tx", count)) == NULL)
		goto err_in_tx;
	return 0;

err_in_tx:
	rte_ring_free(r->in_rx);
err_in_rx:
	rte_ring_free(r->out_tx);
err_out_tx:
	rte_ring_free(r->out_rx);
err_out_rx:
	return -rte_errno;
}

void
tg_bench_free_rings(struct tg_bench_rings *r)
{
	rte_ring_free(r->in_tx);
	rte_ring_free(r->in_rx);
	rte_ring_free(r->out_tx);
	rte_ring_free(r->out_rx);
}

int
tg_bench_create_pair(struct tg_pair *p, const char *name_out, const char *name_in,
		     const struct tg_bench_rings *r)
{
	unsigned int socket = rte_socket_id();
	int port;

	if ((port = rte_eth_from_rings(name_out, &r->out_rx, 1, &r->out_tx, 1, socket)) < 0)
		goto err_out;
	p->out = (uint16_t)port;
	if ((port = rte_eth_from_rings(name_in, &r->in_rx, 1, &r->in_tx, 1, socket)) < 0)
		goto err_in;
	p->in = (uint16_t)port;
	if (p->out >= TG_MAX_PORTS || p->in >= TG_MAX_PORTS) {
		rte_errno = ERANGE;
		goto err_range;
	}
	return 0;

err_range:
	rte_eth_dev_close(p->in);
err_in:
	rte_eth_dev_close(p->out);
err_out:
	return -rte_errno;
}

int
tg_bench_open_pair(struct tg_pair *p, const char *name_out, const char *name_in,
		   const struct tg_bench_rings *r, struct rte_mempool *mp)
{
	int rc;

	if ((rc = tg_bench_create_pair(p, name_out, name_in, r)) < 0)
		return rc;
	if ((rc = tg_port_pair_start(p, 1, mp)) < 0) {
		/* tg_port_pair_start() closes port out itself when port in fails */
		if (rte_eth_dev_is_valid_port(p->in))
			rte_eth_dev_close(p->in);
		if (rte_eth_dev_is_valid_port(p->out))
			rte_eth_dev_close(p->out);
		rte_errno = -rc;
		return rc;
	}
	return 0;
}

void
tg_bench_close_pair(const struct tg_pair *p)
{
	tg_port_close(p->out);
	tg_port_close(p->in);
}
