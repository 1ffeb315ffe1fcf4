/* SPDX-License-Identifier: MIT */
/*
 * flows.c — tg-bench-flows: what a protected TCP session costs the worker:
 * setting it up and tearing it down, keeping it in memory, and reassembling
 * its bytes, measured through the dataplane's own worker loop,
 * tg_worker_run(), over in-memory ports.
 *
 * One test per process (--test), because tg_worker_stop() cannot be undone
 * within a process; tools/bench/flows runs them all and divides:
 * - setup: per round, N full handshakes of distinct sessions (client SYN on
 *   the outside port, server SYN-ACK on the inside port, client ACK), then
 *   N teardowns (client FIN/ACK, server FIN/ACK, client ACK), then the N
 *   closed sessions retired by the loop's own expiry (the closed-class
 *   timeout is set to zero for that phase). Cycles per handshake, per
 *   teardown and per expired session; handshakes per on-CPU second. Also
 *   the bytes per flow: tg_flow_table_bytes_per_flow() and the resident
 *   memory the table took at init divided by max_flows.
 * - memory: --max-flows sessions opened and left open; VmRSS before
 *   tg_worker_init(), after it and after the sessions, the flow table's
 *   gauge and the refusal counters, and the handshake cost by tenth of
 *   table occupancy. The worker's reassembly pools are per worker, not per
 *   flow: what tg_stream_mem_init() makes resident is measured apart, on a
 *   scratch instance, and left out of the bytes per flow.
 * - stream: --flows established sessions exchange 1460-byte data segments
 *   both ways, a PostgreSQL-result-like stream: per client segment (Query
 *   messages), --ratio server segments (DataRow messages) in trains of
 *   four, the client ACKing every second server segment, each data segment
 *   carrying its sender's ACK. Cycles per payload byte and Gbit/s per core,
 *   with the service configured (tracking and reassembly, protocol "tcp":
 *   no parser) or, with --no-services, plain bridging of the same frames:
 *   the baseline the wrapper divides by.
 *
 * Set-up: two net_ring ports made with rte_eth_from_rings() and started as
 * a pair by tg_port_pair_start(): "out" (clients) and "in" (servers), each
 * with its own rx and tx ring. The worker polls both, out -> in and
 * in -> out, as the dataplane does. The generator plays every client and
 * every server: it takes what the worker sent from the tx rings, answers as
 * the receiving endpoint would, and puts the answers on the rx rings,
 * reusing the mbufs it drained (a fixed set circulates; none is allocated
 * per packet).
 *
 * The generator runs in the worker loop's tick hook on the same lcore (the
 * one-lcore mode of forward.c): the loop calls it whenever both rx rings
 * are empty, it times itself, and its cycles are subtracted from the
 * thread's on-CPU time, so the figures are the worker's own cycles. The
 * tick is also where phases end: at a phase boundary everything the
 * generator sent has been handled, so counters and clocks are exact.
 *
 * Sessions are identified by the client's address and port: session i is
 * 10.0.0.0 + 1 + i / 16384, port 16384 + i % 16384, to 198.18.0.2:5432.
 * Handshake and teardown need no per-session state in the generator: the
 * ISNs are a fixed hash of i, and each answer is computed from the frame
 * it answers (so a million sessions cost the generator no memory, and the
 * memory figure is the dataplane's alone). The stream keeps per-session
 * sequence state and rewrites seq, ack, the client's address and port, and
 * the TCP checksum (RFC 1624) of recycled data frames; their payload is
 * written once.
 *
 * Measure: cycles are TSC cycles of on-CPU time (CLOCK_THREAD_CPUTIME_ID
 * times the TSC rate) minus the generator's, as in forward.c; rates are
 * per on-CPU second, the rate of a dedicated core. Median of --rounds.
 *
 * Caveats:
 * - No NIC and one lcore: frames the generator just wrote are in the
 *   worker's cache. Treat the figures as the cost of the worker's code.
 * - Each phase's cycles include the worker's empty polls between ticks
 *   (one per tick, amortised over up to a few hundred packets), and, for
 *   the expiry phase, nothing but polls and expiry.
 * - Handshakes carry MSS, window scale and SACK-permitted, no timestamps,
 *   so data segments are 1514-byte frames with 1460 payload bytes.
 * - The stream has no loss, reordering or retransmission: it measures the
 *   in-order fast path of reassembly.
 * - With --no-huge, DPDK heap memory (the rte_hash) becomes resident only
 *   as it is written; on hugepages all of it is resident from EAL init.
 *   VmRSS then shows the table's allocation at init, not its use.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <rte_cycles.h>
#include <rte_debug.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "config.h"
#include "csum.h"
#include "flow.h"
#include "pkt.h"
#include "port.h"
#include "service.h"
#include "stream.h"
#include "tcp.h"
#include "worker.h"

#include "common.h"

#define PROG "tg-bench-flows"

#define SYN_OPT_LEN 12			/* MSS, NOP + window scale, NOP NOP + SACK-permitted */
#define MSS 1460
#define DATA_FRAME_LEN (TG_BENCH_HDR_LEN + MSS)
#define WSCALE 7
#define WIN_FIELD 502			/* 64256 bytes once scaled: within a 64 KiB ring */
#define WIN_BYTES ((uint32_t)WIN_FIELD << WSCALE)
#define TRAIN 4				/* server segments per flow per turn */

#define CLIENT_NET RTE_IPV4(10, 0, 0, 0)
#define CLIENT_PORT_BASE 16384
#define CLIENT_PORT_BITS 14
#define SESSIONS_MAX (1u << 24)
#define SERVER_ADDR ((uint32_t)198 << 24 | (uint32_t)18 << 16 | 2) /* 198.18.0.2 */
#define SERVER_PREFIX "198.18.0.2/32"
#define SERVER_PORT 5432

#define ROUNDS_MAX TG_BENCH_ROUNDS_MAX	/* what tg_bench_calc_median() reads */
#define SEGMENTS 10			/* memory test: tenths of occupancy */
#define GEN_BURST 64
#define TICK_BUDGET 256			/* stream frames generated per tick */
#define POOL_SLACK 1024			/* for frames the worker crafts (RSTs): must stay unused */
#define STALL_SECONDS 2.0		/* no progress for this long: a frame was lost */
#define ROWS_SPAN (64 * 1024)		/* synthetic stream the payloads are cut from */

enum test { TEST_SETUP, TEST_MEMORY, TEST_STREAM };

static const char *const test_names[] = { "setup", "memory", "stream" };

enum phase {
	PH_SETUP,	/* handshakes */
	PH_TEARDOWN,	/* FIN exchanges */
	PH_EXPIRE,	/* closed sessions retired by the loop's expiry */
	PH_STREAM,	/* data both ways */
};

static const char *const phase_names[] = { "setup", "teardown", "expire", "stream" };

struct opts {
	enum test test;
	bool no_services;
	bool verify;
	unsigned int nb_flows;		/* per round (setup), open (memory), streaming (stream) */
	unsigned int max_flows;
	unsigned int inflight;		/* handshakes or teardowns in progress at once */
	unsigned int ratio;		/* server segments per client segment */
	unsigned int rounds;
	double seconds;
	double warmup;
};

/* A LIFO of free mbufs: the most recently used, hence cached, go out first. */
struct stack {
	struct rte_mbuf **m;
	unsigned int n;
	unsigned int cap;
};

/* What the generator reads back from a frame the worker sent. */
struct view {
	uint32_t id;		/* session */
	bool from_client;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t plen;
};

/* Handshakes or teardowns of sessions [base, base + nb). */
struct hs {
	uint32_t base;
	uint32_t nb;
	uint32_t next;		/* started */
	uint32_t done;		/* completed */
	uint32_t goal;		/* done count that ends the current segment */
};

/* One streaming session, as both endpoints see it (sequence numbers). */
struct sflow {
	uint32_t id;
	uint32_t c_nxt, c_una;	/* client: next to send, oldest not ACKed by the server */
	uint32_t s_nxt, s_una;	/* server: the same */
	uint32_t c_rcv;		/* server bytes the client has received */
	uint32_t c_acked;	/* the client's latest ACK */
	uint32_t s_rcv;		/* client bytes the server has received */
	unsigned int since;	/* server segments since the client's last */
};

/* The worker's counters and clocks at one instant, taken in the tick. */
struct sample {
	uint64_t tsc;
	uint64_t cpu_ns;
	uint64_t pkts;
	uint64_t bytes;
	uint64_t payload;	/* payload bytes delivered to an endpoint */
	uint64_t segs;		/* data segments delivered */
	uint64_t minflt;	/* page faults of the thread */
};

/* One measured span between two samples. */
struct span {
	uint64_t pkts, bytes, payload, segs, wall, minflt;
	double cpu;		/* on-CPU TSC cycles */
	double busy;		/* minus the generator's */
	double gen;
};

struct series {
	unsigned int nb;
	double v[ROUNDS_MAX];
};

struct bench {
	struct opts o;
	uint64_t hz;
	struct rte_mempool *pool;
	struct tg_bench_rings rings;
	struct tg_pair pair;
	struct tg_services services;
	struct tg_flow_params fp;
	struct tg_worker wk;
	bool wk_init;
	unsigned int nb_mbufs;

	/* generator */
	struct stack spare;	/* handshake mbufs */
	struct stack s2c, c2s, acks;
	struct rte_mbuf **to_out, **to_in;	/* this tick's frames for each rx ring */
	unsigned int n_out, n_in;
	enum phase phase;
	struct hs hs;
	struct sflow *sf;
	unsigned int nb_sf, rr;
	uint16_t ip_id;
	uint8_t *rows_s2c, *rows_c2s;

	/* accounting */
	uint64_t tick_t0, tick_moved;
	struct tg_bench_gen_time gt;
	uint64_t payload, segs;
	uint64_t unexpected, out_of_order, verify_fail;
	uint64_t last_progress, progress_mark;
	struct sample s0;
	unsigned int round;	/* 0: warm-up */
	unsigned int segment;	/* memory test */
	uint64_t end;		/* stream: TSC that ends the round */
	uint64_t saved_closed_timeout;
	int err;

	/* results */
	struct series setup_cyc, setup_rate, teardown_cyc, expire_cyc, oncpu, gen_cpp;
	double seg_cyc[SEGMENTS];
	struct series cpb, gbps, pgbps, cpp, cps;
	struct span fill;	/* memory: the whole fill */
	uint64_t warm_minflt;	/* stream: page faults in the handshakes and warm-up */
	uint64_t round_minflt;	/* stream: in the measured rounds */
};

static struct bench bench;

/* The murmur3 finaliser: a fixed bijection, for ISNs. */
static inline uint32_t
mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline uint32_t
isn_client(uint32_t id)
{
	return mix32(id * 2 + 1);
}

static inline uint32_t
isn_server(uint32_t id)
{
	return mix32(id * 2 + 0x9e3779b9u);
}

static inline uint32_t
client_addr(uint32_t id)
{
	return CLIENT_NET + 1 + (id >> CLIENT_PORT_BITS);
}

static inline uint16_t
client_port(uint32_t id)
{
	return (uint16_t)(CLIENT_PORT_BASE + (id & ((1u << CLIENT_PORT_BITS) - 1)));
}

/* Minor page faults of the calling thread so far. */
static uint64_t
thread_minflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_minflt;
}

/* VmRSS of this process in KiB, or 0 when /proc cannot tell. */
static uint64_t
rss_kb(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtoull(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

/* Bytes allocated from the DPDK heap of this socket (the rte_hash lives there). */
static uint64_t
heap_bytes(void)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats((int)rte_socket_id(), &st) < 0)
		return 0;
	return st.heap_allocsz_bytes;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [EAL options] -- [options]\n"
		"  --test T          setup | memory | stream (default setup); one per process\n"
		"  --flows N         setup: sessions per round (default 200000); memory: sessions\n"
		"                    to open (default --max-flows); stream: sessions (default 64)\n"
		"  --max-flows N     flow table size (default 1000000, the dataplane's)\n"
		"  --inflight N      handshakes in progress at once (default 1024)\n"
		"  --no-services     stream: no service configured, plain bridging (the baseline)\n"
		"  --ratio N         stream: server segments per client segment (default 4)\n"
		"  --seconds S       stream: length of one measured round (default 2)\n"
		"  --warmup S        stream: before the first round (default 0.5)\n"
		"  --rounds N        measured rounds, median reported (default 3, max %u)\n"
		"  --verify          parse and checksum every generated frame (slow; a check)\n",
		ROUNDS_MAX);
}

/* Returns 0, 1 after --help, or -EINVAL with the reason printed. */
static int
parse_args(struct opts *o, int argc, char **argv)
{
	/* in the order of longopts[], which the error message indexes */
	enum { O_TEST = 256, O_FLOWS, O_MAX_FLOWS, O_INFLIGHT, O_NO_SERVICES, O_RATIO,
	       O_SECONDS, O_WARMUP, O_ROUNDS, O_VERIFY };
	static const struct option longopts[] = {
		{ "test", required_argument, NULL, O_TEST },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "max-flows", required_argument, NULL, O_MAX_FLOWS },
		{ "inflight", required_argument, NULL, O_INFLIGHT },
		{ "no-services", no_argument, NULL, O_NO_SERVICES },
		{ "ratio", required_argument, NULL, O_RATIO },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	unsigned int i;
	int c, rc = 0;

	memset(o, 0, sizeof(*o));
	o->test = TEST_SETUP;
	o->max_flows = 1000000;
	o->inflight = 1024;
	o->ratio = 4;
	o->rounds = 3;
	o->seconds = 2.0;
	o->warmup = 0.5;

	optind = 0;	/* the EAL has used getopt: start afresh */
	while (rc == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TEST:
			rc = -EINVAL;
			for (i = 0; i < RTE_DIM(test_names); i++) {
				if (strcmp(optarg, test_names[i]) == 0) {
					o->test = (enum test)i;
					rc = 0;
				}
			}
			break;
		case O_FLOWS:
			if ((rc = tg_bench_parse_ulong(optarg, 1, SESSIONS_MAX / 2, &v)) == 0)
				o->nb_flows = (unsigned int)v;
			break;
		case O_MAX_FLOWS:
			if ((rc = tg_bench_parse_ulong(optarg, 1024, SESSIONS_MAX / 2, &v)) == 0)
				o->max_flows = (unsigned int)v;
			break;
		case O_INFLIGHT:
			if ((rc = tg_bench_parse_ulong(optarg, 1, 65536, &v)) == 0)
				o->inflight = (unsigned int)v;
			break;
		case O_NO_SERVICES:
			o->no_services = true;
			break;
		case O_RATIO:
			if ((rc = tg_bench_parse_ulong(optarg, 1, 64, &v)) == 0)
				o->ratio = (unsigned int)v;
			break;
		case O_SECONDS:
			rc = tg_bench_parse_seconds(optarg, 0.01, &o->seconds);
			break;
		case O_WARMUP:
			rc = tg_bench_parse_seconds(optarg, 0.0, &o->warmup);
			break;
		case O_ROUNDS:
			if ((rc = tg_bench_parse_ulong(optarg, 1, ROUNDS_MAX, &v)) == 0)
				o->rounds = (unsigned int)v;
			break;
		case O_VERIFY:
			o->verify = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (rc < 0)
			fprintf(stderr, PROG ": bad value '%s' for --%s\n", optarg,
				longopts[c - O_TEST].name);
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		rc = -EINVAL;
	}
	if (rc < 0)
		return rc;
	if (o->nb_flows == 0)
		o->nb_flows = o->test == TEST_SETUP ? 200000 :
			      o->test == TEST_MEMORY ? o->max_flows : 64;
	if (o->test == TEST_STREAM && o->nb_flows > 4096) {
		fprintf(stderr, PROG ": --test stream takes at most 4096 flows\n");
		return -EINVAL;
	}
	if (o->test == TEST_SETUP &&
	    (uint64_t)o->nb_flows * (o->rounds + 1) > SESSIONS_MAX) {
		fprintf(stderr, PROG ": --flows times rounds exceeds %u sessions\n", SESSIONS_MAX);
		return -EINVAL;
	}
	if (o->no_services && o->test != TEST_STREAM) {
		fprintf(stderr, PROG ": --no-services is for --test stream\n");
		return -EINVAL;
	}
	return 0;
}

static void
series_add(struct series *s, double v)
{
	if (s->nb < ROUNDS_MAX)
		s->v[s->nb++] = v;
}

static double
series_median(const struct series *s)
{
	return tg_bench_calc_median(s->v, s->nb);
}

/* ---- frames ---- */

static inline void
stack_push(struct stack *s, struct rte_mbuf *m)
{
	RTE_VERIFY(s->n < s->cap);
	s->m[s->n++] = m;
}

static inline struct rte_mbuf *
stack_pop(struct stack *s)
{
	return s->n ? s->m[--s->n] : NULL;
}

/* What an rx PMD writes into each mbuf it hands up, and no chain. */
static inline void
rx_fields(struct rte_mbuf *m, uint16_t port, uint16_t len)
{
	m->next = NULL;
	tg_bench_reset_rx_fields(m, port, len);
}

/*
 * A control segment (no payload) of session id, from the client or the
 * server, written whole into m. SYNs carry the options of a Linux SYN
 * without timestamps; their window is unscaled (RFC 7323 2.2).
 */
static void
ctl_build(struct bench *b, struct rte_mbuf *m, uint32_t id, bool client, uint8_t flags,
	  uint32_t seq, uint32_t ack)
{
	static const uint8_t syn_opts[SYN_OPT_LEN] = {
		2, 4, MSS >> 8, MSS & 0xff,	/* MSS 1460 */
		1, 3, 3, WSCALE,		/* NOP, window scale 7 */
		1, 1, 4, 2,			/* NOP, NOP, SACK permitted */
	};
	bool syn = flags & RTE_TCP_SYN_FLAG;
	uint8_t *d = (uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM;
	uint32_t caddr = client_addr(id);
	uint16_t cport = client_port(id);
	const struct tg_bench_seg seg = {
		.from_client = client,
		.saddr = client ? caddr : SERVER_ADDR, .daddr = client ? SERVER_ADDR : caddr,
		.sport = client ? cport : SERVER_PORT, .dport = client ? SERVER_PORT : cport,
		.seq = seq, .ack = ack, .flags = flags, .win = syn ? 65535 : WIN_FIELD,
		.ip_id = b->ip_id++, .opt_len = syn ? SYN_OPT_LEN : 0,
	};
	uint16_t len = tg_bench_write_hdrs(d, &seg);

	rx_fields(m, client ? b->pair.out : b->pair.in, len);
	if (syn)
		memcpy(d + TG_BENCH_HDR_LEN, syn_opts, sizeof(syn_opts));
	tg_bench_write_tcp_csum(d);
	if (unlikely(b->o.verify) && tg_bench_check_frame(m, NULL, NULL) < 0)
		b->verify_fail++;
}

/* The 16-bit words of a header field, as the checksum adds them. */
static inline uint32_t
sum_words(const uint8_t *p, unsigned int len, bool invert)
{
	uint32_t s = 0;
	unsigned int i;

	for (i = 0; i < len; i += 2) {
		uint16_t w = (uint16_t)(p[i] << 8 | p[i + 1]);

		s += invert ? (uint16_t)~w : w;
	}
	return s;
}

/*
 * Points a data frame of the given direction at session id with seq and
 * ack, patching the TCP checksum over the changed words (RFC 1624, eqn. 3:
 * HC' = ~(~HC + ~m + m')) so the payload, written once, is never read.
 */
static void
data_rewrite(struct bench *b, struct rte_mbuf *m, uint32_t id, bool client, uint32_t seq,
	     uint32_t ack)
{
	uint8_t *d = (uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + RTE_ETHER_HDR_LEN);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t *addr = (uint8_t *)(client ? &ip->src_addr : &ip->dst_addr);
	uint8_t *th = (uint8_t *)tcp;
	uint16_t c = rte_be_to_cpu_16(tcp->cksum);
	uint32_t sum = (uint16_t)~c;

	rx_fields(m, client ? b->pair.out : b->pair.in, DATA_FRAME_LEN);
	/* old words out: the client's address, both ports, seq and ack */
	sum += sum_words(addr, 4, true) + sum_words(th, 12, true);
	if (client) {
		ip->src_addr = rte_cpu_to_be_32(client_addr(id));
		tcp->src_port = rte_cpu_to_be_16(client_port(id));
	} else {
		ip->dst_addr = rte_cpu_to_be_32(client_addr(id));
		tcp->dst_port = rte_cpu_to_be_16(client_port(id));
	}
	tcp->sent_seq = rte_cpu_to_be_32(seq);
	tcp->recv_ack = rte_cpu_to_be_32(ack);
	sum += sum_words(addr, 4, false) + sum_words(th, 12, false);
	tcp->cksum = rte_cpu_to_be_16(tg_csum_fold(sum));
	ip->packet_id = rte_cpu_to_be_16(b->ip_id++);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (unlikely(b->o.verify) && tg_bench_check_frame(m, NULL, NULL) < 0)
		b->verify_fail++;
}

/* A data frame of session 0 with its payload, checksummed in full once. */
static void
data_build(struct bench *b, struct rte_mbuf *m, bool client, const uint8_t *payload)
{
	uint8_t *d = (uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + RTE_ETHER_HDR_LEN);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);

	/* a bare ACK for the headers, then the payload and lengths */
	ctl_build(b, m, 0, client, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 0, 0);
	rx_fields(m, m->port, DATA_FRAME_LEN);
	memcpy(tcp + 1, payload, MSS);
	ip->total_length = rte_cpu_to_be_16(DATA_FRAME_LEN - RTE_ETHER_HDR_LEN);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tg_bench_write_tcp_csum(d);
}

/* Decodes a frame the generator built and the worker sent; -EPROTO for anything else. */
static int
view_of(const struct rte_mbuf *m, struct view *v)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)d;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(ip + 1);
	uint32_t saddr, daddr, caddr;
	uint16_t sport, dport, cport, tot, doff;

	if (m->nb_segs != 1 || m->data_len < TG_BENCH_HDR_LEN ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != IPPROTO_TCP)
		return -EPROTO;
	tot = rte_be_to_cpu_16(ip->total_length);
	doff = (uint16_t)((tcp->data_off >> 4) * 4);
	if (doff < sizeof(*tcp) || tot < sizeof(*ip) + doff ||
	    RTE_ETHER_HDR_LEN + tot > m->data_len)
		return -EPROTO;
	saddr = rte_be_to_cpu_32(ip->src_addr);
	daddr = rte_be_to_cpu_32(ip->dst_addr);
	sport = rte_be_to_cpu_16(tcp->src_port);
	dport = rte_be_to_cpu_16(tcp->dst_port);
	if (daddr == SERVER_ADDR && dport == SERVER_PORT) {
		v->from_client = true;
		caddr = saddr;
		cport = sport;
	} else if (saddr == SERVER_ADDR && sport == SERVER_PORT) {
		v->from_client = false;
		caddr = daddr;
		cport = dport;
	} else {
		return -EPROTO;
	}
	if (caddr <= CLIENT_NET || caddr - CLIENT_NET - 1 >= SESSIONS_MAX >> CLIENT_PORT_BITS ||
	    cport < CLIENT_PORT_BASE || cport >= CLIENT_PORT_BASE + (1u << CLIENT_PORT_BITS))
		return -EPROTO;
	v->id = (caddr - CLIENT_NET - 1) << CLIENT_PORT_BITS | (uint32_t)(cport - CLIENT_PORT_BASE);
	v->flags = tcp->tcp_flags;
	v->seq = rte_be_to_cpu_32(tcp->sent_seq);
	v->ack = rte_be_to_cpu_32(tcp->recv_ack);
	v->plen = (uint16_t)(tot - sizeof(*ip) - doff);
	return 0;
}

/* A frame the generator cannot place: counted and freed (it leaves circulation). */
static void
unexpected(struct bench *b, struct rte_mbuf *m)
{
	b->unexpected++;
	rte_pktmbuf_free(m);
}

/* ---- handshakes and teardowns ---- */

/* Starts the next session of the phase in m, or keeps m spare. */
static void
hs_start(struct bench *b, struct rte_mbuf *m)
{
	uint32_t id;

	if (b->hs.next == b->hs.nb) {
		stack_push(&b->spare, m);
		return;
	}
	id = b->hs.base + b->hs.next++;
	if (b->phase == PH_SETUP)
		ctl_build(b, m, id, true, RTE_TCP_SYN_FLAG, isn_client(id), 0);
	else
		ctl_build(b, m, id, true, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, isn_client(id) + 1,
			  isn_server(id) + 1);
	b->to_out[b->n_out++] = m;
}

static inline bool
hs_mine(const struct bench *b, const struct view *v)
{
	return v->id - b->hs.base < b->hs.nb && v->plen == 0;
}

/* A frame the worker sent towards the servers. */
static void
hs_server_rx(struct bench *b, struct rte_mbuf *m)
{
	const uint8_t syn = RTE_TCP_SYN_FLAG, ack = RTE_TCP_ACK_FLAG, fin = RTE_TCP_FIN_FLAG;
	struct view v;
	uint32_t ci, si;

	if (view_of(m, &v) < 0 || !v.from_client || !hs_mine(b, &v))
		goto bad;
	ci = isn_client(v.id);
	si = isn_server(v.id);
	if (b->phase == PH_SETUP && v.flags == syn && v.seq == ci) {
		ctl_build(b, m, v.id, false, syn | ack, si, ci + 1);
		b->to_in[b->n_in++] = m;
	} else if (b->phase == PH_SETUP && v.flags == ack && v.ack == si + 1) {
		b->hs.done++;
		hs_start(b, m);
	} else if (b->phase == PH_TEARDOWN && v.flags == (fin | ack) && v.seq == ci + 1) {
		ctl_build(b, m, v.id, false, fin | ack, si + 1, ci + 2);
		b->to_in[b->n_in++] = m;
	} else if (b->phase == PH_TEARDOWN && v.flags == ack && v.ack == si + 2) {
		b->hs.done++;
		hs_start(b, m);
	} else {
		goto bad;
	}
	return;
bad:
	unexpected(b, m);
}

/* A frame the worker sent towards the clients. */
static void
hs_client_rx(struct bench *b, struct rte_mbuf *m)
{
	const uint8_t syn = RTE_TCP_SYN_FLAG, ack = RTE_TCP_ACK_FLAG, fin = RTE_TCP_FIN_FLAG;
	struct view v;
	uint32_t ci, si;

	if (view_of(m, &v) < 0 || v.from_client || !hs_mine(b, &v))
		goto bad;
	ci = isn_client(v.id);
	si = isn_server(v.id);
	if (b->phase == PH_SETUP && v.flags == (syn | ack) && v.ack == ci + 1) {
		ctl_build(b, m, v.id, true, ack, ci + 1, si + 1);
		b->to_out[b->n_out++] = m;
	} else if (b->phase == PH_TEARDOWN && v.flags == (fin | ack) && v.ack == ci + 2) {
		ctl_build(b, m, v.id, true, ack, ci + 2, si + 2);
		b->to_out[b->n_out++] = m;
	} else {
		goto bad;
	}
	return;
bad:
	unexpected(b, m);
}

static void
hs_begin(struct bench *b, enum phase ph, uint32_t base, uint32_t nb, uint32_t goal)
{
	struct rte_mbuf *m;

	b->phase = ph;
	b->hs = (struct hs){ .base = base, .nb = nb, .goal = goal };
	while (b->hs.next < nb && (m = stack_pop(&b->spare)) != NULL)
		hs_start(b, m);
}

/* ---- the stream ---- */

static inline struct sflow *
sflow_of(struct bench *b, const struct view *v)
{
	return v->id < b->nb_sf ? &b->sf[v->id] : NULL;
}

/* Towards the clients: server data. */
static void
stream_client_rx(struct bench *b, struct rte_mbuf *m)
{
	struct sflow *f;
	struct view v;

	if (view_of(m, &v) < 0 || v.from_client || v.plen != MSS || (f = sflow_of(b, &v)) == NULL)
		goto bad;
	if (v.seq != f->c_rcv)
		b->out_of_order++;
	f->c_rcv = v.seq + v.plen;
	if ((int32_t)(v.ack - f->c_una) > 0)
		f->c_una = v.ack;
	b->payload += v.plen;
	b->segs++;
	stack_push(&b->s2c, m);
	return;
bad:
	unexpected(b, m);
}

/* Towards the servers: client data and ACKs. */
static void
stream_server_rx(struct bench *b, struct rte_mbuf *m)
{
	struct sflow *f;
	struct view v;

	if (view_of(m, &v) < 0 || !v.from_client || (f = sflow_of(b, &v)) == NULL ||
	    !(v.flags & RTE_TCP_ACK_FLAG) || (v.plen != MSS && v.plen != 0))
		goto bad;
	if ((int32_t)(v.ack - f->s_una) > 0)
		f->s_una = v.ack;
	if (v.plen == 0) {
		stack_push(&b->acks, m);
		return;
	}
	if (v.seq != f->s_rcv)
		b->out_of_order++;
	f->s_rcv = v.seq + v.plen;
	b->payload += v.plen;
	b->segs++;
	stack_push(&b->c2s, m);
	return;
bad:
	unexpected(b, m);
}

/*
 * One turn of a session: the client's delayed ACKs (one per two server
 * segments received), a train of server segments within the client's
 * window, and a client segment once the server has sent --ratio. Returns
 * the frames sent.
 */
static unsigned int
stream_turn(struct bench *b, struct sflow *f)
{
	struct rte_mbuf *m;
	unsigned int k = 0, i;

	while ((int32_t)(f->c_rcv - f->c_acked) >= 2 * MSS && (m = stack_pop(&b->acks)) != NULL) {
		f->c_acked += 2 * MSS;
		ctl_build(b, m, f->id, true, RTE_TCP_ACK_FLAG, f->c_nxt, f->c_acked);
		b->to_out[b->n_out++] = m;
		k++;
	}
	for (i = 0; i < TRAIN; i++) {
		if ((int32_t)(f->s_nxt + MSS - f->s_una) > (int32_t)WIN_BYTES ||
		    (m = stack_pop(&b->s2c)) == NULL)
			break;
		data_rewrite(b, m, f->id, false, f->s_nxt, f->s_rcv);
		f->s_nxt += MSS;
		f->since++;
		b->to_in[b->n_in++] = m;
		k++;
	}
	if (f->since >= b->o.ratio && (int32_t)(f->c_nxt + MSS - f->c_una) <= (int32_t)WIN_BYTES &&
	    (m = stack_pop(&b->c2s)) != NULL) {
		data_rewrite(b, m, f->id, true, f->c_nxt, f->c_rcv);
		f->c_nxt += MSS;
		f->c_acked = f->c_rcv;
		f->since -= b->o.ratio;
		b->to_out[b->n_out++] = m;
		k++;
	}
	return k;
}

static unsigned int
stream_generate(struct bench *b)
{
	unsigned int n = 0, idle = 0, k;

	while (n < TICK_BUDGET && idle < b->nb_sf) {
		k = stream_turn(b, &b->sf[b->rr]);
		b->rr = b->rr + 1 == b->nb_sf ? 0 : b->rr + 1;
		n += k;
		idle = k ? 0 : idle + 1;
	}
	return n;
}

/* The sessions the handshake phase opened, at the sequence numbers it left. */
static void
stream_begin(struct bench *b)
{
	unsigned int i;

	for (i = 0; i < b->nb_sf; i++) {
		struct sflow *f = &b->sf[i];
		uint32_t ci = isn_client(i) + 1, si = isn_server(i) + 1;

		*f = (struct sflow){ .id = i, .c_nxt = ci, .c_una = ci, .s_nxt = si, .s_una = si,
				     .c_rcv = si, .c_acked = si, .s_rcv = ci };
	}
	b->phase = PH_STREAM;
}

/* ---- the tick: generator, phases, accounting ---- */

static void
sample_take(struct bench *b, struct sample *s)
{
	struct tg_worker_counters c;

	tg_worker_counters_read(&b->wk, &c);
	s->cpu_ns = tg_bench_read_cpu_ns();
	s->tsc = rte_rdtsc();
	s->pkts = c.port[b->pair.out].rx_pkts + c.port[b->pair.in].rx_pkts;
	s->bytes = c.port[b->pair.out].rx_bytes + c.port[b->pair.in].rx_bytes;
	s->payload = b->payload;
	s->segs = b->segs;
	s->minflt = thread_minflt();
}

/* Charges [tick_t0, now) to the generator (struct tg_bench_gen_time). */
static void
gen_account(struct bench *b)
{
	uint64_t now = rte_rdtsc();

	tg_bench_charge_tick(&b->gt, now - b->tick_t0, b->tick_moved);
	b->tick_t0 = now;
	b->tick_moved = 0;
}

/* Closes the span that started at s0 and starts the next one. */
static void
span_cut(struct bench *b, struct span *sp)
{
	struct sample s1;
	double gen;

	gen_account(b);
	sample_take(b, &s1);
	gen = tg_bench_take_gen_cycles(&b->gt);
	sp->pkts = s1.pkts - b->s0.pkts;
	sp->bytes = s1.bytes - b->s0.bytes;
	sp->payload = s1.payload - b->s0.payload;
	sp->segs = s1.segs - b->s0.segs;
	sp->minflt = s1.minflt - b->s0.minflt;
	sp->wall = s1.tsc - b->s0.tsc;
	sp->cpu = (double)(s1.cpu_ns - b->s0.cpu_ns) * (double)b->hz / 1e9;
	sp->gen = gen;
	sp->busy = sp->cpu - gen;
	b->s0 = s1;
	b->tick_t0 = rte_rdtsc();
}

static void
finish(struct bench *b, int err)
{
	if (err < 0 && b->err == 0)
		b->err = err;
	if (b->phase == PH_EXPIRE)
		b->wk.flows.timeout_cycles[TG_FLOW_CLOSED] = b->saved_closed_timeout;
	tg_worker_stop();
}

static bool
phase_done(struct bench *b)
{
	switch (b->phase) {
	case PH_SETUP:
	case PH_TEARDOWN:
		return b->hs.done >= b->hs.goal;
	case PH_EXPIRE:
		return b->wk.flows.nb_flows == 0;
	case PH_STREAM:
		return rte_rdtsc() >= b->end;
	}
	return false;
}

/* setup test: per round, handshakes, teardowns, expiry; round 0 warms up. */
static void
advance_setup(struct bench *b)
{
	uint32_t n = b->o.nb_flows, base = b->round * n;
	struct span sp;

	span_cut(b, &sp);
	switch (b->phase) {
	case PH_SETUP:
		if (b->round > 0) {
			series_add(&b->setup_cyc, sp.busy / n);
			series_add(&b->setup_rate, (double)n / (sp.busy / (double)b->hz));
			series_add(&b->oncpu, 100.0 * sp.cpu / (double)sp.wall);
			series_add(&b->gen_cpp, sp.gen / (double)sp.pkts);
		}
		hs_begin(b, PH_TEARDOWN, base, n, n);
		break;
	case PH_TEARDOWN:
		if (b->round > 0)
			series_add(&b->teardown_cyc, sp.busy / n);
		/* the loop's own expiry retires them, at once */
		b->saved_closed_timeout = b->wk.flows.timeout_cycles[TG_FLOW_CLOSED];
		b->wk.flows.timeout_cycles[TG_FLOW_CLOSED] = 0;
		b->phase = PH_EXPIRE;
		break;
	case PH_EXPIRE:
		b->wk.flows.timeout_cycles[TG_FLOW_CLOSED] = b->saved_closed_timeout;
		if (b->round > 0)
			series_add(&b->expire_cyc, sp.busy / n);
		if (b->round == b->o.rounds) {
			finish(b, 0);
			return;
		}
		b->round++;
		hs_begin(b, PH_SETUP, b->round * n, n, n);
		break;
	case PH_STREAM:
		break;
	}
}

/* memory test: one fill, cut into tenths of the sessions. */
static void
advance_memory(struct bench *b)
{
	uint32_t n = b->o.nb_flows;
	struct span sp;
	uint32_t from = (uint32_t)((uint64_t)n * b->segment / SEGMENTS);

	span_cut(b, &sp);
	if (b->hs.done > from)
		b->seg_cyc[b->segment] = sp.busy / (double)(b->hs.done - from);
	b->fill.pkts += sp.pkts;
	b->fill.busy += sp.busy;
	b->fill.cpu += sp.cpu;
	b->fill.wall += sp.wall;
	b->fill.gen += sp.gen;
	b->fill.minflt += sp.minflt;
	b->segment++;
	if (b->hs.done >= n || b->segment == SEGMENTS) {
		finish(b, 0);
		return;
	}
	b->hs.goal = (uint32_t)((uint64_t)n * (b->segment + 1) / SEGMENTS);
}

/* stream test: handshakes, then a warm-up and --rounds timed rounds. */
static void
advance_stream(struct bench *b)
{
	struct span sp;
	double secs;

	span_cut(b, &sp);
	if (b->round == 0)
		b->warm_minflt += sp.minflt;
	else
		b->round_minflt += sp.minflt;
	if (b->phase == PH_SETUP) {
		stream_begin(b);
		b->end = rte_rdtsc() + (uint64_t)(b->o.warmup * (double)b->hz);
		return;
	}
	if (b->round > 0 && sp.payload > 0 && sp.busy > 0) {
		secs = sp.busy / (double)b->hz;
		series_add(&b->cpb, sp.busy / (double)sp.payload);
		series_add(&b->gbps, (double)sp.bytes * 8 / secs / 1e9);
		series_add(&b->pgbps, (double)sp.payload * 8 / secs / 1e9);
		series_add(&b->cpp, sp.busy / (double)sp.pkts);
		series_add(&b->cps, sp.busy / (double)sp.segs);
		series_add(&b->oncpu, 100.0 * sp.cpu / (double)sp.wall);
		series_add(&b->gen_cpp, sp.gen / (double)sp.pkts);
		printf("  stream round %u/%u: %.3f cycles/byte, %.2f Gbit/s of frames, "
		       "%.1f cycles/frame, on-CPU %.0f%%\n", b->round, b->o.rounds,
		       b->cpb.v[b->cpb.nb - 1], b->gbps.v[b->gbps.nb - 1],
		       b->cpp.v[b->cpp.nb - 1], b->oncpu.v[b->oncpu.nb - 1]);
		fflush(stdout);
	}
	if (b->round == b->o.rounds) {
		finish(b, 0);
		return;
	}
	b->round++;
	b->end = rte_rdtsc() + (uint64_t)(b->o.seconds * (double)b->hz);
}

/* Moves what the worker sent to the endpoints it was for. Returns frames moved. */
static unsigned int
drain(struct bench *b)
{
	struct rte_mbuf *pkts[GEN_BURST];
	unsigned int n, i, moved = 0;

	while ((n = rte_ring_sc_dequeue_burst(b->rings.in_tx, (void **)pkts, GEN_BURST,
					      NULL)) > 0) {
		for (i = 0; i < n; i++) {
			if (b->phase == PH_STREAM)
				stream_server_rx(b, pkts[i]);
			else if (b->phase == PH_EXPIRE)
				unexpected(b, pkts[i]);
			else
				hs_server_rx(b, pkts[i]);
		}
		moved += n;
	}
	while ((n = rte_ring_sc_dequeue_burst(b->rings.out_tx, (void **)pkts, GEN_BURST,
					      NULL)) > 0) {
		for (i = 0; i < n; i++) {
			if (b->phase == PH_STREAM)
				stream_client_rx(b, pkts[i]);
			else if (b->phase == PH_EXPIRE)
				unexpected(b, pkts[i]);
			else
				hs_client_rx(b, pkts[i]);
		}
		moved += n;
	}
	return moved;
}

/* Puts this tick's frames on the rx rings; they hold every mbuf, so a refusal is a bug. */
static int
flush(struct bench *b)
{
	int rc = 0;

	if (b->n_out && rte_ring_sp_enqueue_bulk(b->rings.out_rx, (void **)b->to_out, b->n_out,
						 NULL) != b->n_out)
		rc = -ENOBUFS;
	if (b->n_in && rte_ring_sp_enqueue_bulk(b->rings.in_rx, (void **)b->to_in, b->n_in,
						NULL) != b->n_in)
		rc = -ENOBUFS;
	b->n_out = b->n_in = 0;
	return rc;
}

/*
 * The loop calls this whenever both rx rings are empty (tick period 0):
 * everything sent so far has been handled, which is when phases end.
 */
static void
tick(void *arg)
{
	struct bench *b = arg;
	uint64_t now;
	unsigned int moved;
	int rc;

	b->tick_t0 = rte_rdtsc();
	moved = drain(b);
	b->tick_moved += moved;
	if (phase_done(b)) {
		if (b->o.test == TEST_SETUP)
			advance_setup(b);
		else if (b->o.test == TEST_MEMORY)
			advance_memory(b);
		else
			advance_stream(b);
	}
	if (!tg_worker_stopping() && b->phase == PH_STREAM)
		stream_generate(b);
	b->tick_moved += b->n_out + b->n_in;
	if ((rc = flush(b)) < 0) {
		fprintf(stderr, PROG ": generator: rx ring refused mbufs\n");
		finish(b, rc);
	}
	gen_account(b);

	/* progress: frames moved, or sessions expired */
	now = rte_rdtsc();
	if (moved || b->wk.flows.nb_flows != b->progress_mark) {
		b->last_progress = now;
		b->progress_mark = b->wk.flows.nb_flows;
	} else if (!tg_worker_stopping() &&
		   now - b->last_progress > (uint64_t)(STALL_SECONDS * (double)b->hz)) {
		fprintf(stderr, PROG ": no progress for %.0f s in phase %s (round %u): "
			"a frame was dropped or refused, see the counters\n", STALL_SECONDS,
			phase_names[b->phase], b->round);
		finish(b, -ETIMEDOUT);
	}
}

/* ---- set-up ---- */

/* Appends a big-endian field. */
static size_t
put_be(uint8_t *p, size_t at, uint32_t v, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++)
		p[at + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return at + bytes;
}

/*
 * A PostgreSQL backend's result stream, DataRow ('D') messages of five
 * text fields (PostgreSQL protocol 3, 55.7), cut into len bytes; the last
 * message is truncated. Only realism matters for now.
 */
static void
rows_fill(uint8_t *p, size_t len, uint64_t *xs)
{
	static const char *const names[] = { "alice", "bob", "carol", "dave", "erin", "frank" };
	char f[5][48];
	size_t at = 0, need, i;
	uint8_t msg[300];
	unsigned int k, row = 0;
	int n[5];

	while (at < len) {
		uint64_t r = tg_bench_xorshift(xs);

		n[0] = snprintf(f[0], sizeof(f[0]), "%u", 100000 + row++);
		n[1] = snprintf(f[1], sizeof(f[1]), "%s_%05u", names[r % RTE_DIM(names)],
				(unsigned int)(r >> 8) % 100000);
		n[2] = snprintf(f[2], sizeof(f[2]), "%s%u@example.com", names[(r >> 3) % 6],
				(unsigned int)(r >> 24) % 1000);
		n[3] = snprintf(f[3], sizeof(f[3]), "2024-%02u-%02u %02u:%02u:%02u+00",
				1 + (unsigned int)(r >> 30) % 12, 1 + (unsigned int)(r >> 34) % 28,
				(unsigned int)(r >> 39) % 24, (unsigned int)(r >> 44) % 60,
				(unsigned int)(r >> 50) % 60);
		n[4] = snprintf(f[4], sizeof(f[4]), "%u.%02u", (unsigned int)(r >> 20) % 100000,
				(unsigned int)(r >> 12) % 100);
		need = 4 + 2;
		for (k = 0; k < 5; k++)
			need += 4 + (size_t)n[k];
		i = 0;
		msg[i++] = 'D';
		i = put_be(msg, i, (uint32_t)need, 4);
		i = put_be(msg, i, 5, 2);
		for (k = 0; k < 5; k++) {
			i = put_be(msg, i, (uint32_t)n[k], 4);
			memcpy(msg + i, f[k], (size_t)n[k]);
			i += (size_t)n[k];
		}
		memcpy(p + at, msg, RTE_MIN(i, len - at));
		at += RTE_MIN(i, len - at);
	}
}

/* The client's side: simple Query ('Q') messages, cut the same way. */
static void
queries_fill(uint8_t *p, size_t len, uint64_t *xs)
{
	char q[160];
	size_t at = 0, i;
	uint8_t msg[200];
	int n;

	while (at < len) {
		n = snprintf(q, sizeof(q), "SELECT id, name, email, created_at, balance FROM "
			     "accounts WHERE id = %u;",
			     (unsigned int)(tg_bench_xorshift(xs) % 1000000));
		i = 0;
		msg[i++] = 'Q';
		i = put_be(msg, i, (uint32_t)(4 + n + 1), 4);
		memcpy(msg + i, q, (size_t)n + 1);
		i += (size_t)n + 1;
		memcpy(p + at, msg, RTE_MIN(i, len - at));
		at += RTE_MIN(i, len - at);
	}
}

static int
stack_init(struct stack *s, unsigned int cap)
{
	s->m = calloc(cap, sizeof(*s->m));
	s->n = 0;
	s->cap = cap;
	return s->m == NULL ? -ENOMEM : 0;
}

/*
 * Every mbuf that will circulate: handshake mbufs, and for the stream the
 * data frames (payload written once) and pure ACKs.
 */
static int
gen_init(struct bench *b, unsigned int nb_hs, unsigned int nb_s2c, unsigned int nb_c2s,
	 unsigned int nb_ack)
{
	uint64_t xs = TG_BENCH_SEED;
	struct rte_mbuf *m;
	unsigned int i, total = nb_hs + nb_s2c + nb_c2s + nb_ack;
	size_t span = ROWS_SPAN + MSS;

	if (stack_init(&b->spare, total) < 0 || stack_init(&b->s2c, nb_s2c) < 0 ||
	    stack_init(&b->c2s, nb_c2s) < 0 || stack_init(&b->acks, nb_ack) < 0)
		return -ENOMEM;
	b->to_out = calloc(total, sizeof(*b->to_out));
	b->to_in = calloc(total, sizeof(*b->to_in));
	if (b->to_out == NULL || b->to_in == NULL)
		return -ENOMEM;
	if (nb_s2c) {
		b->rows_s2c = malloc(span);
		b->rows_c2s = malloc(span);
		if (b->rows_s2c == NULL || b->rows_c2s == NULL)
			return -ENOMEM;
		rows_fill(b->rows_s2c, span, &xs);
		queries_fill(b->rows_c2s, span, &xs);
	}
	for (i = 0; i < total; i++) {
		if ((m = rte_pktmbuf_alloc(b->pool)) == NULL)
			return -ENOMEM;
		if (i < nb_hs) {
			stack_push(&b->spare, m);
		} else if (i < nb_hs + nb_s2c) {
			data_build(b, m, false, b->rows_s2c + (size_t)(i * MSS) % ROWS_SPAN);
			stack_push(&b->s2c, m);
		} else if (i < nb_hs + nb_s2c + nb_c2s) {
			data_build(b, m, true, b->rows_c2s + (size_t)(i * MSS) % ROWS_SPAN);
			stack_push(&b->c2s, m);
		} else {
			stack_push(&b->acks, m);
			continue;
		}
		if (i >= nb_hs && tg_bench_check_frame(m, NULL, NULL) < 0) {
			fprintf(stderr, PROG ": data frame %u does not parse clean\n", i);
			return -EPROTO;
		}
	}
	b->nb_mbufs = total;
	return 0;
}

static void
gen_free(struct bench *b)
{
	free(b->spare.m);
	free(b->s2c.m);
	free(b->c2s.m);
	free(b->acks.m);
	free(b->to_out);
	free(b->to_in);
	free(b->sf);
	free(b->rows_s2c);
	free(b->rows_c2s);
}

static int
services_make(struct bench *b)
{
	struct tg_service *s = &b->services.svc[0];
	int rc;

	memset(&b->services, 0, sizeof(b->services));
	if (b->o.no_services)
		return 0;
	snprintf(s->name, sizeof(s->name), "pg");
	if ((rc = tg_service_parse_prefix(s, SERVER_PREFIX)) < 0)
		return rc;
	s->port = SERVER_PORT;
	s->proto = TG_SERVICE_TCP;
	s->subnet_policy = TG_SUBNET_DENY;
	s->exception_policy = TG_EXC_DROP_FLOW;
	b->services.nb = 1;
	return 0;
}

/*
 * What the worker's reassembly pools alone make resident, on a scratch
 * instance freed at once (the rings are one large allocation, which the
 * allocator maps and unmaps whole). Nothing without a service.
 */
static int
pools_measure(const struct bench *b, uint64_t *kb)
{
	struct tg_stream_mem sm;
	uint64_t r0, r1;
	int rc;

	*kb = 0;
	if (b->services.nb == 0)
		return 0;
	r0 = rss_kb();
	if ((rc = tg_stream_mem_init(&sm, b->fp.nb_rings, b->fp.ring_size,
				     b->fp.held_segments)) < 0) {
		fprintf(stderr, PROG ": reassembly pools: %s\n", rte_strerror(-rc));
		return rc;
	}
	r1 = rss_kb();
	tg_stream_mem_free(&sm);
	*kb = r1 > r0 ? r1 - r0 : 0;
	return 0;
}

static int
worker_init(struct bench *b)
{
	int rc;

	b->wk.id = 0;
	b->wk.lcore = rte_get_main_lcore();
	b->wk.nb_rxq = 2;
	b->wk.rxq[0] = (struct tg_worker_rxq){
		.port = b->pair.out, .queue = 0, .peer = b->pair.in, .peer_queue = 0,
		.outside = true,
	};
	b->wk.rxq[1] = (struct tg_worker_rxq){
		.port = b->pair.in, .queue = 0, .peer = b->pair.out, .peer_queue = 0,
		.outside = false,
	};
	b->wk.idle_sleep_max_us = 0;
	b->wk.tick = tick;
	b->wk.tick_arg = b;
	b->wk.tick_cycles = 0;
	if ((rc = tg_worker_init(&b->wk, &b->services, &b->fp, b->pool)) < 0) {
		fprintf(stderr, PROG ": worker init: %s\n", rte_strerror(-rc));
		return rc;
	}
	b->wk_init = true;
	return 0;
}

/* ---- reports ---- */

static void
print_list(const char *title, const char *const *names, const uint64_t *v, unsigned int n)
{
	unsigned int i;

	printf("  %s", title);
	for (i = 0; i < n; i++)
		printf(" %s=%" PRIu64, names[i], v[i]);
	printf("\n");
}

static void
print_counters(const struct bench *b, const struct tg_worker_counters *c)
{
	printf("  port out: rx_pkts=%" PRIu64 " tx_pkts=%" PRIu64 " tx_drop=%" PRIu64
	       "; port in: rx_pkts=%" PRIu64 " tx_pkts=%" PRIu64 " tx_drop=%" PRIu64 "\n",
	       c->port[b->pair.out].rx_pkts, c->port[b->pair.out].tx_pkts,
	       c->port[b->pair.out].tx_drop, c->port[b->pair.in].rx_pkts,
	       c->port[b->pair.in].tx_pkts, c->port[b->pair.in].tx_drop);
	print_list("gateway:", tg_gw_counter_names, c->gw, TG_GW_CNT_MAX);
	if (!b->wk.tracking)
		return;
	printf("  flows: active=%" PRIu64 " max=%u bytes_per_flow=%" PRIu64 "\n",
	       c->flows_active, b->fp.max_flows, tg_flow_table_bytes_per_flow(&b->wk.flows));
	print_list("flow:", tg_flow_counter_names, c->flow, TG_FLOW_CNT_MAX);
	print_list("tcp:", tg_tcp_counter_names, c->tcp, TG_TCP_CNT_MAX);
	printf("  stream: held_now=%" PRIu64 " rings_used=%" PRIu64 " rings=%u\n",
	       c->segs_held, c->rings_used, b->fp.nb_rings);
	print_list("stream:", tg_stream_counter_names, c->stream, TG_STREAM_CNT_MAX);
}

/*
 * Every refusal the dataplane can count, plus the generator's own:
 * anything but zero means some figure is wrong.
 */
static uint64_t
drops(const struct bench *b, const struct tg_worker_counters *c)
{
	uint64_t n = c->port[b->pair.out].tx_drop + c->port[b->pair.in].tx_drop;
	unsigned int i;

	for (i = 0; i < TG_PKT_ERR_MAX; i++)
		if (i != TG_PKT_OK)
			n += c->parse[i];
	/* every gateway counter but the two that sort frames counts a refusal */
	for (i = 0; i < TG_GW_CNT_MAX; i++)
		if (i != TG_GW_CNT_BRIDGED && i != TG_GW_CNT_SERVICE)
			n += c->gw[i];
	n += b->unexpected + b->out_of_order + b->verify_fail;
	if (!b->wk.tracking)
		return n;
	n += c->flow[TG_FLOW_CNT_TABLE_FULL] + c->flow[TG_FLOW_CNT_EVICTED_EMBRYONIC];
	/* by name, so the list follows the dataplane's X-macros */
	for (i = 0; i < TG_TCP_CNT_MAX; i++)
		if (strncmp(tg_tcp_counter_names[i], "drop_", 5) == 0)
			n += c->tcp[i];
	for (i = 0; i < TG_STREAM_CNT_MAX; i++)
		if (strncmp(tg_stream_counter_names[i], "drop_", 5) == 0 ||
		    strcmp(tg_stream_counter_names[i], "ack_invalid") == 0)
			n += c->stream[i];
	return n;
}

static void
print_series(const char *what, const struct series *s, int digits, const char *unit)
{
	double lo, hi;

	tg_bench_calc_range(s->v, s->nb, &lo, &hi);
	printf("  %-26s %12.*f %s (%.*f-%.*f)\n", what, digits, series_median(s), unit, digits,
	       lo, digits, hi);
}

/*
 * Resident memory around tg_worker_init(), in KiB. The reassembly pools
 * (rings, held slots) are per worker, not per flow: what
 * tg_stream_mem_init() makes resident is measured apart, on a scratch
 * instance, and kept out of the bytes per flow.
 */
struct memfig {
	uint64_t rss_before;	/* before tg_worker_init() */
	uint64_t rss_init;	/* after it */
	uint64_t rss_after;	/* after the run */
	uint64_t pools_kb;	/* reassembly pools alone */
	uint64_t heap_init;	/* DPDK heap bytes the init allocated (the rte_hash) */
};

/* Resident KiB the flow table added between before and at, per slot or per session. */
static double
table_bytes(const struct memfig *mf, uint64_t at, uint64_t per)
{
	return ((double)at - (double)mf->rss_before - (double)mf->pools_kb) * 1024 / (double)per;
}

static void
report_setup(const struct bench *b, const struct tg_worker_counters *c, const struct memfig *mf)
{
	double hs = series_median(&b->setup_cyc), lo, hi, clo, chi;
	uint64_t formula = tg_flow_table_bytes_per_flow(&b->wk.flows);
	double init = table_bytes(mf, mf->rss_init, b->fp.max_flows);

	printf("%s: setup: %u sessions per round, %u in flight, table of %u; median of %u "
	       "rounds; cycles are the worker's TSC cycles on a CPU\n", PROG, b->o.nb_flows,
	       b->o.inflight, b->fp.max_flows, b->setup_cyc.nb);
	print_series("handshake (3 frames)", &b->setup_cyc, 1, "cycles");
	print_series("teardown (3 frames)", &b->teardown_cyc, 1, "cycles");
	print_series("expiry of a closed session", &b->expire_cyc, 1, "cycles");
	tg_bench_calc_range(b->setup_rate.v, b->setup_rate.nb, &lo, &hi);
	printf("  %-26s %12.0f per second per core (%.0f-%.0f); generator %.0f cycles/frame, "
	       "not charged; on-CPU %.0f%%\n", "handshakes", series_median(&b->setup_rate), lo,
	       hi, series_median(&b->gen_cpp), series_median(&b->oncpu));
	tg_bench_calc_range(b->setup_cyc.v, b->setup_cyc.nb, &clo, &chi);
	printf("  bytes per flow: tg_flow_table_bytes_per_flow()=%" PRIu64 "; resident after "
	       "init, flow table / max_flows = %.1f (struct tg_flow %zu, prefaulted; the "
	       "rte_hash's %.1f of DPDK heap become resident as slots are used, see --test "
	       "memory); reassembly pools %.1f MiB per worker on top\n", formula, init,
	       sizeof(struct tg_flow), (double)mf->heap_init / b->fp.max_flows,
	       (double)mf->pools_kb / 1024);
	printf("RESULT name=flow_setup flows=%u inflight=%u max_flows=%u rounds=%u "
	       "handshakes_per_sec=%.0f cycles_per_handshake=%.1f cycles_per_handshake_min=%.1f "
	       "cycles_per_handshake_max=%.1f cycles_per_pkt=%.1f cycles_per_teardown=%.1f "
	       "cycles_per_expiry=%.1f gen_cycles_per_pkt=%.1f oncpu_pct=%.1f drops=%" PRIu64
	       "\n", b->o.nb_flows, b->o.inflight, b->fp.max_flows, b->setup_cyc.nb,
	       series_median(&b->setup_rate), hs, clo, chi, hs / 3,
	       series_median(&b->teardown_cyc), series_median(&b->expire_cyc),
	       series_median(&b->gen_cpp), series_median(&b->oncpu), drops(b, c));
	printf("RESULT name=flow_bytes max_flows=%u bytes_per_flow_formula=%" PRIu64
	       " sizeof_flow=%zu bytes_per_flow_rss_init=%.1f heap_bytes_per_flow=%.1f "
	       "pools_kb=%" PRIu64 " rss_before_kb=%" PRIu64 " rss_init_kb=%" PRIu64 "\n",
	       b->fp.max_flows, formula, sizeof(struct tg_flow), init,
	       (double)mf->heap_init / b->fp.max_flows, mf->pools_kb, mf->rss_before,
	       mf->rss_init);
}

static void
report_memory(const struct bench *b, const struct tg_worker_counters *c, const struct memfig *mf)
{
	uint64_t formula = tg_flow_table_bytes_per_flow(&b->wk.flows);
	double init = table_bytes(mf, mf->rss_init, b->fp.max_flows);
	double open = table_bytes(mf, mf->rss_after, b->o.nb_flows);
	double total = ((double)mf->rss_after - (double)mf->rss_before) * 1024 / b->o.nb_flows;
	unsigned int i;

	printf("%s: memory: %u sessions opened in a table of %u, %u in flight\n", PROG,
	       b->o.nb_flows, b->fp.max_flows, b->o.inflight);
	printf("  VmRSS before init  %10" PRIu64 " KiB\n", mf->rss_before);
	printf("  VmRSS after init   %10" PRIu64 " KiB  +%.1f MiB: reassembly pools %.1f MiB "
	       "(measured apart), flow table %.1f MiB = %.1f bytes per slot; DPDK heap "
	       "allocated %.1f MiB\n", mf->rss_init,
	       ((double)mf->rss_init - (double)mf->rss_before) / 1024,
	       (double)mf->pools_kb / 1024, init * b->fp.max_flows / (1 << 20), init,
	       (double)mf->heap_init / (1 << 20));
	printf("  VmRSS at %u open  %10" PRIu64 " KiB  +%.1f MiB more; flow table %.1f bytes "
	       "per open session (tg_flow_table_bytes_per_flow() %" PRIu64 "), %.1f with the "
	       "pools\n", b->o.nb_flows, mf->rss_after,
	       ((double)mf->rss_after - (double)mf->rss_init) / 1024, open, formula, total);
	printf("  flows: active=%" PRIu64 " created=%" PRIu64 " table_full=%" PRIu64
	       " new_refused=%" PRIu64 " evicted_embryonic=%" PRIu64 " established=%" PRIu64 "\n",
	       c->flows_active, c->flow[TG_FLOW_CNT_CREATED], c->flow[TG_FLOW_CNT_TABLE_FULL],
	       c->gw[TG_GW_CNT_NEW_REFUSED], c->flow[TG_FLOW_CNT_EVICTED_EMBRYONIC],
	       c->tcp[TG_TCP_CNT_ESTABLISHED]);
	printf("  handshake cycles by tenth of the fill:");
	for (i = 0; i < SEGMENTS; i++)
		printf(" %.0f", b->seg_cyc[i]);
	printf(" (%.0f overall); %" PRIu64 " page faults in the worker thread during the fill\n",
	       b->fill.busy / b->o.nb_flows, b->fill.minflt);
	printf("RESULT name=flow_memory max_flows=%u sessions=%u active=%" PRIu64
	       " rss_before_kb=%" PRIu64 " rss_init_kb=%" PRIu64 " rss_open_kb=%" PRIu64
	       " pools_kb=%" PRIu64 " heap_init_kb=%" PRIu64 " bytes_per_flow_init=%.1f"
	       " bytes_per_flow_open=%.1f bytes_per_flow_open_with_pools=%.1f"
	       " bytes_per_flow_formula=%" PRIu64 " table_full=%" PRIu64 " new_refused=%" PRIu64
	       " evicted=%" PRIu64 " cycles_per_handshake=%.1f cycles_first_tenth=%.1f"
	       " cycles_last_tenth=%.1f fill_faults=%" PRIu64 " drops=%" PRIu64 "\n",
	       b->fp.max_flows, b->o.nb_flows,
	       c->flows_active, mf->rss_before, mf->rss_init, mf->rss_after, mf->pools_kb,
	       mf->heap_init / 1024, init, open, total, formula,
	       c->flow[TG_FLOW_CNT_TABLE_FULL], c->gw[TG_GW_CNT_NEW_REFUSED],
	       c->flow[TG_FLOW_CNT_EVICTED_EMBRYONIC], b->fill.busy / b->o.nb_flows,
	       b->seg_cyc[0], b->seg_cyc[SEGMENTS - 1], b->fill.minflt, drops(b, c));
}

static void
report_stream(const struct bench *b, const struct tg_worker_counters *c, const struct memfig *mf)
{
	const char *name = b->o.no_services ? "stream_forward" : "stream_reassembly";
	uint64_t segs = c->stream[TG_STREAM_CNT_SEGS], held = c->stream[TG_STREAM_CNT_HELD];
	uint64_t rel = c->stream[TG_STREAM_CNT_RELEASED], passed = c->stream[TG_STREAM_CNT_PASSED];
	double lo, hi;

	printf("%s: stream, %s: %u sessions, %u server segments per client segment, "
	       "1460-byte segments; median of %u rounds of %gs\n", PROG,
	       b->o.no_services ? "no service (plain bridging)" :
	       "service tcp (tracking + reassembly, no parser)", b->nb_sf, b->o.ratio,
	       b->cpb.nb, b->o.seconds);
	print_series("cycles per payload byte", &b->cpb, 3, "");
	print_series("cycles per frame", &b->cpp, 1, "");
	print_series("cycles per data segment", &b->cps, 1, "");
	tg_bench_calc_range(b->gbps.v, b->gbps.nb, &lo, &hi);
	printf("  %-26s %12.2f Gbit/s of frames (%.2f-%.2f), %.2f Gbit/s of payload, per core; "
	       "on-CPU %.0f%%\n", "rate", series_median(&b->gbps), lo, hi,
	       series_median(&b->pgbps), series_median(&b->oncpu));
	if (b->wk.tracking)
		printf("  segments: %" PRIu64 " data segments tracked, held %" PRIu64 " (%.1f%%), "
		       "released %" PRIu64 " (%.1f%% of held), passed at once %" PRIu64
		       "; VmRSS %" PRIu64 " -> %" PRIu64 " KiB during the run\n", segs, held,
		       segs ? 100.0 * held / segs : 0, rel, held ? 100.0 * rel / held : 0, passed,
		       mf->rss_init, mf->rss_after);
	printf("  page faults in the worker thread: %" PRIu64 " in the handshakes and warm-up, "
	       "%" PRIu64 " in the measured rounds\n", b->warm_minflt, b->round_minflt);
	printf("RESULT name=%s flows=%u ratio=%u cycles_per_byte=%.3f cycles_per_pkt=%.1f "
	       "cycles_per_seg=%.1f gbps=%.3f payload_gbps=%.3f gbps_min=%.3f gbps_max=%.3f "
	       "oncpu_pct=%.1f gen_cycles_per_pkt=%.1f rounds=%u warmup_faults=%" PRIu64
	       " round_faults=%" PRIu64, name, b->nb_sf, b->o.ratio,
	       series_median(&b->cpb), series_median(&b->cpp), series_median(&b->cps),
	       series_median(&b->gbps), series_median(&b->pgbps), lo, hi,
	       series_median(&b->oncpu), series_median(&b->gen_cpp), b->cpb.nb,
	       b->warm_minflt, b->round_minflt);
	if (b->wk.tracking)
		printf(" segs=%" PRIu64 " held=%" PRIu64 " released=%" PRIu64 " passed=%" PRIu64
		       " held_pct=%.2f released_pct=%.2f", segs, held, rel, passed,
		       segs ? 100.0 * held / segs : 0, held ? 100.0 * rel / held : 0);
	printf(" drops=%" PRIu64 "\n", drops(b, c));
}

/* ---- main ---- */

static int
run(struct bench *b)
{
	struct tg_worker_counters c;
	struct tg_dp_config cfg;
	struct memfig mf = { 0 };
	uint64_t heap0;
	unsigned int nb_hs = RTE_MIN(b->o.inflight, b->o.nb_flows);
	unsigned int nb_s2c = 0, nb_c2s = 0, nb_ack = 0;
	char lead[64];
	int rc;

	tg_config_defaults(&cfg);
	b->fp = cfg.flow;
	b->fp.max_flows = b->o.max_flows;
	if (b->o.test == TEST_MEMORY && b->o.nb_flows > b->fp.max_flows) {
		fprintf(stderr, PROG ": --flows %u exceeds --max-flows %u\n", b->o.nb_flows,
			b->fp.max_flows);
		return -EINVAL;
	}
	if (b->o.test == TEST_STREAM) {
		b->nb_sf = b->o.nb_flows;
		b->sf = calloc(b->nb_sf, sizeof(*b->sf));
		if (b->sf == NULL)
			return -ENOMEM;
		nb_s2c = b->nb_sf * (WIN_BYTES / MSS + TRAIN);
		nb_c2s = b->nb_sf * 4;
		nb_ack = b->nb_sf * 16;
	}
	if ((rc = services_make(b)) < 0) {
		fprintf(stderr, PROG ": service %s: %s\n", SERVER_PREFIX, rte_strerror(-rc));
		return rc;
	}
	b->pool = rte_pktmbuf_pool_create("tgf_mbuf", nb_hs + nb_s2c + nb_c2s + nb_ack + POOL_SLACK,
					  0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (b->pool == NULL) {
		fprintf(stderr, PROG ": mbuf pool: %s\n", rte_strerror(rte_errno));
		return -rte_errno;
	}
	/* SP/SC rings: the worker and the generator share one lcore */
	if ((rc = tg_bench_create_rings(&b->rings, "tgf",
					nb_hs + nb_s2c + nb_c2s + nb_ack + POOL_SLACK)) < 0) {
		fprintf(stderr, PROG ": rings: %s\n", rte_strerror(-rc));
		goto err_rings;
	}
	/* port out (clients) and port in (servers) */
	if ((rc = tg_bench_open_pair(&b->pair, "tgf_out", "tgf_in", &b->rings, b->pool)) < 0) {
		fprintf(stderr, PROG ": net_ring ports: %s\n", rte_strerror(-rc));
		goto err_ports;
	}
	if ((rc = gen_init(b, nb_hs, nb_s2c, nb_c2s, nb_ack)) < 0) {
		fprintf(stderr, PROG ": generator: %s\n", rte_strerror(-rc));
		goto err_gen;
	}

	snprintf(lead, sizeof(lead), PROG ": test %s; ", test_names[b->o.test]);
	tg_bench_print_clock(lead, b->hz);

	if ((rc = pools_measure(b, &mf.pools_kb)) < 0)
		goto err_worker;
	mf.rss_before = rss_kb();
	heap0 = heap_bytes();
	if ((rc = worker_init(b)) < 0)
		goto err_worker;
	mf.rss_init = rss_kb();
	mf.heap_init = heap_bytes() - heap0;

	b->gt.max = b->hz / 1000;
	b->last_progress = rte_rdtsc();
	b->progress_mark = b->wk.tracking ? b->wk.flows.nb_flows : 0;
	if (b->o.test == TEST_MEMORY)
		hs_begin(b, PH_SETUP, 0, b->o.nb_flows, b->o.nb_flows / SEGMENTS);
	else
		hs_begin(b, PH_SETUP, 0, b->o.nb_flows, b->o.nb_flows);
	sample_take(b, &b->s0);
	b->tick_t0 = rte_rdtsc();
	if (flush(b) < 0) {
		rc = -ENOBUFS;
		goto err_run;
	}
	tg_worker_run(&b->wk);
	mf.rss_after = rss_kb();
	tg_worker_counters_read(&b->wk, &c);
	if (b->err < 0) {
		rc = b->err;
		print_counters(b, &c);
		goto err_run;
	}

	switch (b->o.test) {
	case TEST_SETUP:
		report_setup(b, &c, &mf);
		break;
	case TEST_MEMORY:
		report_memory(b, &c, &mf);
		break;
	case TEST_STREAM:
		report_stream(b, &c, &mf);
		break;
	}
	print_counters(b, &c);
	if (drops(b, &c) != 0) {
		fprintf(stderr, PROG ": check failed: %" PRIu64 " frames dropped, refused or "
			"unexpected (generator: unexpected=%" PRIu64 " out_of_order=%" PRIu64
			" verify_fail=%" PRIu64 ")\n", drops(b, &c), b->unexpected, b->out_of_order,
			b->verify_fail);
		rc = -EPROTO;
	}

err_run:
	tg_worker_fini(&b->wk);
err_worker:
err_gen:
	gen_free(b);
	tg_bench_close_pair(&b->pair);
err_ports:
	tg_bench_free_rings(&b->rings);
err_rings:
	/* frees every mbuf, wherever it was left */
	rte_mempool_free(b->pool);
	return rc;
}

int
main(int argc, char **argv)
{
	struct bench *b = &bench;
	int rc;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, PROG ": EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;

	if ((rc = parse_args(&b->o, argc, argv)) != 0) {
		rc = rc < 0 ? 2 : 0;
		goto out;
	}
	b->hz = rte_get_tsc_hz();
	rc = run(b) < 0 ? 1 : 0;
out:
	rte_eal_cleanup();
	return rc;
}
