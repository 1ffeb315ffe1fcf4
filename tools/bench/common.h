/* SPDX-License-Identifier: MIT */
/*
 * common.h — what the in-process benchmarks (forward.c, flows.c) and the
 * replay harness (tests/pcap/replay.c) share: net_ring ports over rte_rings,
 * TCP/IPv4 frames with valid checksums; and, from timing.h and corpus.h
 * (which need no DPDK), on-CPU clocks, medians of rounds and xorshift64.
 *
 * The benchmarks drive the dataplane's own worker loop over in-memory
 * ports, so the port set-up is the dataplane's (tg_port_pair_start()) and
 * only the rings under the ports are the harness's. Their figures are TSC
 * cycles of on-CPU time (CLOCK_THREAD_CPUTIME_ID times the TSC rate): time
 * the thread spent preempted is not charged to the packets. When the
 * frame generator runs in the worker loop's tick hook, on the worker's own
 * lcore, its cycles are timed per tick and subtracted (struct
 * tg_bench_gen_time).
 *
 * Frames are the same in every tool: client MAC 02:00:00:00:00:01, server
 * MAC 02:00:00:00:00:02, IPv4 without options with DF and TTL 64, TCP with
 * the caller's options and payload; checksums are computed in full.
 *
 * Caveats:
 * - Every ring is single-producer, single-consumer: each has one writer
 *   and one reader lcore.
 * - tg_bench_print_clock() measures the core clock: about 0.1 s, and
 *   only on x86-64 (timing.h).
 */
#ifndef TG_BENCH_COMMON_H
#define TG_BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "pkt.h"
#include "port.h"

#include "corpus.h"
#include "timing.h"

struct rte_mempool;
struct rte_ring;

/* Ethernet + IPv4 without options + TCP without options */
#define TG_BENCH_HDR_LEN \
	(RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr))

/* ---- clocks, arguments ---- */

/*
 * Prints "<lead>TSC x GHz, core ~y GHz ..." and the "RESULT name=clock"
 * line, then flushes stdout. Measures the core clock (see above).
 */
void tg_bench_print_clock(const char *lead, uint64_t hz);

/* A decimal in [min, max] into *out. Returns 0 or -EINVAL. */
int tg_bench_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Seconds in [min, 3600] into *out. Returns 0 or -EINVAL. */
int tg_bench_parse_seconds(const char *s, double min, double *out);

/* ---- generator time ---- */

/*
 * The generator's cycles when it runs in the worker loop's tick. A tick
 * that took max cycles or more was preempted: its frames are charged at
 * the average of the others when the total is taken, since on-CPU time
 * cannot be read per tick for less than a tick costs.
 */
struct tg_bench_gen_time {
	uint64_t max;		/* a longer tick was preempted */
	uint64_t cycles;	/* spent in ticks that were not */
	uint64_t timed;		/* frames they moved */
	uint64_t untimed;	/* frames moved by preempted ticks */
};

/* Charges one tick of the given TSC cycles that moved the given frames. */
static inline void
tg_bench_charge_tick(struct tg_bench_gen_time *g, uint64_t cycles, uint64_t moved)
{
	if (cycles < g->max) {
		g->cycles += cycles;
		g->timed += moved;
	} else {
		g->untimed += moved;
	}
}

/* The cycles charged since the last call, preempted ticks included; starts afresh. */
double tg_bench_take_gen_cycles(struct tg_bench_gen_time *g);

/* ---- frames ---- */

/* One TCP/IPv4 segment, fields in host order. */
struct tg_bench_seg {
	bool from_client;	/* MACs client -> server, or server -> client */
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint32_t seq;
	uint32_t ack;		/* written only with RTE_TCP_ACK_FLAG, else 0 */
	uint8_t flags;		/* RTE_TCP_*_FLAG */
	uint16_t win;		/* the window field as sent */
	uint16_t ip_id;
	uint16_t opt_len;	/* TCP option bytes, a multiple of 4, the caller's to write */
	uint16_t plen;		/* payload bytes after them, the caller's to write */
};

/*
 * Writes the Ethernet, IPv4 (checksummed) and TCP headers of s at d and
 * returns the frame length. The TCP checksum is left 0: once the options
 * and payload are in, tg_bench_write_tcp_csum() sets it.
 */
uint16_t tg_bench_write_hdrs(uint8_t *d, const struct tg_bench_seg *s);

/* Computes the TCP checksum of the frame at d over its IPv4 total length. */
void tg_bench_write_tcp_csum(uint8_t *d);

/*
 * Parses the frame in m as the worker does: 0 if it parses clean down to
 * a valid L4 header with a right L4 checksum, -EPROTO if not. p and err
 * (either may be NULL) receive what the parser found and its verdict.
 */
int tg_bench_check_frame(const struct rte_mbuf *m, struct tg_pkt *p, enum tg_pkt_err *err);

/* What an rx PMD writes into each mbuf it hands up: one segment of len bytes from port. */
static inline void
tg_bench_reset_rx_fields(struct rte_mbuf *m, uint16_t port, uint16_t len)
{
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->nb_segs = 1;
	m->port = port;
	m->ol_flags = 0;
	m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
	m->data_len = len;
	m->pkt_len = len;
}

/* ---- net_ring ports ---- */

/* The rings under a pair of net_ring ports; one ring may serve several queues. */
struct tg_bench_rings {
	struct rte_ring *out_rx, *out_tx;
	struct rte_ring *in_rx, *in_tx;
};

/* An SP/SC ring that holds count pointers. NULL and rte_errno on failure. */
struct rte_ring *tg_bench_create_ring(const char *name, unsigned int count);

/*
 * Four rings of count pointers, named "<prefix>_out_rx" and so on, for two
 * ports that each have their own. Returns 0 or -errno (rte_errno too).
 */
int tg_bench_create_rings(struct tg_bench_rings *r, const char *prefix, unsigned int count);

/* Frees the four rings of tg_bench_create_rings(). */
void tg_bench_free_rings(struct tg_bench_rings *r);

/*
 * Two net_ring ports over r, not started: out receiving from r->out_rx and
 * sending into r->out_tx, in the same with r->in_rx and r->in_tx. Refuses
 * port ids from TG_MAX_PORTS up, which the worker cannot index. Returns 0
 * or -errno (rte_errno too), with nothing left open.
 */
int tg_bench_create_pair(struct tg_pair *p, const char *name_out, const char *name_in,
			 const struct tg_bench_rings *r);

/*
 * tg_bench_create_pair(), then one queue each started by the dataplane's
 * own tg_port_pair_start() with mbufs from mp. Returns 0 or -errno
 * (rte_errno too), with nothing left open.
 */
int tg_bench_open_pair(struct tg_pair *p, const char *name_out, const char *name_in,
		       const struct tg_bench_rings *r, struct rte_mempool *mp);

/* Stops and closes both ports of tg_bench_open_pair(). */
void tg_bench_close_pair(const struct tg_pair *p);

#endif /* TG_BENCH_COMMON_H */
