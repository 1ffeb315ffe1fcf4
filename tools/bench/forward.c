/* SPDX-License-Identifier: MIT */
/*
 * forward.c — tg-bench-forward: plain forwarding through the dataplane's own
 * worker loop, tg_worker_run(), over in-memory ports, in Mpps and cycles
 * per packet.
 *
 * This is the baseline that inspection figures (reassembly, Hyperscan,
 * masking) are divided by, so the same run also measures what one packet
 * costs to parse alone, to copy, and to cross the in-memory ports, and
 * prints one RESULT line per figure for scripts to divide.
 *
 * Set-up: four net_ring ports made with rte_eth_from_rings() and started
 * as two pairs by tg_port_pair_start(), as the dataplane starts real ones.
 * - Pair "fwd": the worker has one rx queue, port out q0 -> port in q0. A
 *   fixed set of mbufs, filled once with the frames of the chosen mix,
 *   circulates: the generator takes what the worker sent from the ring
 *   under port in's tx queue and puts it back on the ring under port out's
 *   rx queue. It copies no frame bytes; by default it rewrites the rx
 *   fields of each mbuf as an rx PMD would (--recycle). With --lcores 2
 *   those writes, and with --recycle frame a write to the frame's first
 *   line, make the worker fetch the lines from the other core as it would
 *   after a real PMD and NIC; with --lcores 1 they only cost the
 *   generator, which is not charged to the worker.
 * - Pair "loop": one ring under port lpb's tx queue and port lpa's rx
 *   queue, for the cost of one rte_eth_tx_burst() plus one
 *   rte_eth_rx_burst() on one core: the I/O a forwarded packet pays here.
 *
 * Two ways to drive the worker (--lcores):
 * - 1 (default): tg_worker_run() on the main lcore, and the generator in
 *   the loop's tick hook, which the loop calls whenever its rx ring is
 *   empty. The tick times itself, so the figure is the worker's own
 *   cycles; the generator's are reported apart. No cross-core traffic.
 * - 2: tg_worker_run() on the next lcore, the generator busy-polling on the
 *   main lcore; the tick only publishes samples of the worker's counters
 *   and clocks every millisecond. This adds what a real rx/tx path adds
 *   between cores (ring heads, slots and mbuf lines change owner each
 *   burst), and on a shared or virtualised host it mostly measures the
 *   hand-off: see idle_pct.
 *
 * Measure: cycles are TSC cycles of on-CPU time (CLOCK_THREAD_CPUTIME_ID
 * of the measuring thread times the TSC rate), so time the thread spent
 * preempted by other processes is not charged to the packets; wall_mpps
 * and oncpu_pct show how much that was. mpps and gbps are per on-CPU
 * second, the rate of a dedicated core. Warm-up, then --rounds windows of
 * --seconds each (parse, memcpy, ring and ethdev_ring at most 0.5 s each);
 * the median and the min-max are printed.
 *
 * Caveats:
 * - The core may run faster than the TSC (boost); the run prints both
 *   clocks. Ratios within a run are unaffected.
 * - A guest cannot see time its vCPU was descheduled by the host unless
 *   the hypervisor reports steal time: such time is counted as on-CPU.
 * - No NIC: no DMA, no descriptor writes, no PCIe. Frame headers stay in
 *   the worker's cache unless --recycle frame dirties them. Treat the
 *   figure as the cost of the worker's code, not the rate of a port.
 * - The same frames repeat every pass. Stateless forwarding does not care;
 *   a reassembly benchmark will have to advance sequence numbers per pass
 *   in the generator's recycle step.
 * - tg_worker_stop() cannot be undone within a process, so one process
 *   runs the worker loop once, across warm-up and every round, in one of
 *   the two modes.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "config.h"
#include "pkt.h"
#include "port.h"
#include "worker.h"

#include "common.h"

#define PROG "tg-bench-forward"

#define FRAME_MAX_LEN 1514		/* a 1500-byte MTU, no FCS */
#define MIX_MAX 8			/* sizes in one mix */
#define MIX_WEIGHT_MAX 64		/* sum of a mix's weights */
#define MBUFS_MAX 32768
#define FLOWS_MAX 65536
#define ROUNDS_MAX TG_BENCH_ROUNDS_MAX	/* what tg_bench_calc_median() reads */
#define GEN_BURST 64
#define AUX_SECONDS_MAX 0.5		/* parse, memcpy, ring: converge fast */
#define SAMPLE_HZ 1000			/* worker samples per second, --lcores 2 */
#define SERVER_PORT 5432

/* Frame lengths are the bytes in the mbuf: no preamble, FCS or gap. */
struct mix_entry {
	uint16_t len;
	uint16_t weight;
};

struct frame_mix {
	const char *name;
	const char *desc;
	unsigned int nb;
	struct mix_entry e[MIX_MAX];
};

static const struct frame_mix mixes[] = {
	{ "tcp64", "64-byte TCP/IPv4 frames, 10 payload bytes", 1, { { 64, 1 } } },
	{ "tcp1514", "1514-byte TCP/IPv4 data segments, 1460 payload bytes", 1, { { 1514, 1 } } },
	{ "mix", "IMIX-like, 7:4:1 of 64/594/1514-byte TCP/IPv4 frames", 3,
	  { { 64, 7 }, { 594, 4 }, { 1514, 1 } } },
};

/* What the generator does to each mbuf it hands back to the worker. */
enum recycle {
	RECYCLE_NONE,	/* pointers only: mbufs and frames stay as they are */
	RECYCLE_MBUF,	/* rewrite the rx fields, as an rx PMD does */
	RECYCLE_FRAME,	/* and dirty the frame's first line, as a NIC's DMA does */
};

static const char *const recycle_names[] = { "none", "mbuf", "frame" };

struct opts {
	struct frame_mix mix;
	double seconds;
	double warmup;
	unsigned int rounds;
	unsigned int nb_mbufs;
	unsigned int nb_flows;
	unsigned int lcores;
	enum recycle recycle;
};

/* The traffic: pre-built frames, one per mbuf, in the order they are sent. */
struct frame_set {
	struct rte_mbuf **m;
	unsigned int nb;
	uint64_t bytes;		/* sum of the frame lengths */
};

struct flow {
	uint32_t saddr, daddr;	/* host order */
	uint16_t sport, dport;
	uint32_t seq, ack;
};

/* One figure over its rounds. busy: cycles charged to the packets. */
struct figure {
	const char *name;
	unsigned int nb;
	double mpps[ROUNDS_MAX];	/* per busy second */
	double cpp[ROUNDS_MAX];		/* busy cycles per packet */
	double gbps[ROUNDS_MAX];	/* frame bytes per busy second */
	double wall_mpps[ROUNDS_MAX];
	double oncpu[ROUNDS_MAX];	/* % of wall time the thread was on a CPU */
	double bpp;			/* frame bytes per packet */
};

/* The worker's counters and clocks at one instant, taken on its lcore. */
struct sample {
	uint64_t tsc;
	uint64_t cpu_ns;
	uint64_t pkts;
	uint64_t bytes;
	uint64_t polls;
	uint64_t idle_polls;
};

/* Single-writer sequence lock: odd while the worker writes the sample. */
struct sampler {
	uint32_t seq;
	struct sample s;
} __rte_cache_aligned;

struct gen {
	struct rte_ring *feed;	/* under port out's rx queue */
	struct rte_ring *drain;	/* under port in's tx queue */
	enum recycle recycle;
	uint16_t port;
	uint64_t empty;		/* drain polls that found nothing */
};

/* The generator as the worker loop's tick, --lcores 1. */
struct solo {
	struct bench *b;
	struct gen g;
	unsigned int round;	/* 0: warm-up */
	uint64_t end;		/* TSC at which the current phase ends */
	struct tg_bench_gen_time gt;	/* during the round */
	struct sample s0;
	int err;
};

struct bench {
	struct opts o;
	uint64_t hz;
	unsigned int worker_lcore;
	struct rte_mempool *pool;
	struct rte_ring *feed, *drain, *loop, *null;
	struct tg_pair fwd, lp;
	struct frame_set fs;
	struct tg_dp_config cfg;	/* defaults: no service, plain bridging */
	struct tg_worker wk;
	struct sampler smp;
	struct figure parse, copy, ring, ethdev, forward;
	/* per forward round */
	unsigned int nb_fwd_rounds;
	double idle_pct[ROUNDS_MAX];	/* worker polls that found nothing */
	double gen_cpp[ROUNDS_MAX];	/* generator cycles per packet, --lcores 1 */
};

static struct bench bench;

/* Scratch destination of the memcpy figure; the barrier keeps the copies. */
static uint8_t copy_buf[RTE_MBUF_DEFAULT_DATAROOM] __rte_cache_aligned;

static void
usage(FILE *out)
{
	unsigned int i;

	fprintf(out,
		"usage: " PROG " [EAL options] -- [options]\n"
		"  --frames MIX      traffic (default tcp64): a name below, or LEN[:WEIGHT],...\n"
		"                    with LEN in %zu..%u bytes, weights summing to at most %u\n"
		"  --lcores 1|2      1: worker and generator on the main lcore (default);\n"
		"                    2: generator on the main lcore, worker on the next\n"
		"  --seconds S       length of one measured round (default 5)\n"
		"  --rounds N        measured rounds, median reported (default 3, max %u)\n"
		"  --warmup S        forwarding before the first round (default 0.5)\n"
		"  --mbufs N         mbufs in circulation (default 1024, max %u)\n"
		"  --flows N         TCP flows the frames belong to (default 64, max %u)\n"
		"  --recycle MODE    none | mbuf (default) | frame: what the generator rewrites\n"
		"                    per mbuf (rx fields; and a frame byte); see forward.c\n"
		"mixes:\n",
		TG_BENCH_HDR_LEN, FRAME_MAX_LEN, MIX_WEIGHT_MAX, ROUNDS_MAX, MBUFS_MAX, FLOWS_MAX);
	for (i = 0; i < RTE_DIM(mixes); i++)
		fprintf(out, "  %-9s %s\n", mixes[i].name, mixes[i].desc);
}

/* A named mix, or LEN[:WEIGHT] entries separated by commas. */
static int
parse_mix(const char *s, struct frame_mix *mix)
{
	unsigned long len, weight, total = 0;
	const char *c = s;
	char *end;
	unsigned int i;

	for (i = 0; i < RTE_DIM(mixes); i++) {
		if (strcmp(s, mixes[i].name) == 0) {
			*mix = mixes[i];
			return 0;
		}
	}
	memset(mix, 0, sizeof(*mix));
	mix->name = s;
	mix->desc = "custom mix of TCP/IPv4 frames";
	do {
		if (mix->nb == MIX_MAX || !isdigit((unsigned char)*c))
			return -EINVAL;
		len = strtoul(c, &end, 10);
		weight = 1;
		if (*end == ':') {
			c = end + 1;
			if (!isdigit((unsigned char)*c))
				return -EINVAL;
			weight = strtoul(c, &end, 10);
		}
		if (len < TG_BENCH_HDR_LEN || len > FRAME_MAX_LEN || weight == 0 ||
		    weight > MIX_WEIGHT_MAX)
			return -EINVAL;
		total += weight;
		if (total > MIX_WEIGHT_MAX)
			return -EINVAL;
		mix->e[mix->nb++] = (struct mix_entry){ .len = (uint16_t)len,
							.weight = (uint16_t)weight };
		if (*end != ',' && *end != '\0')
			return -EINVAL;
		c = *end == ',' ? end + 1 : end;
	} while (*end != '\0');
	return 0;
}

/* Returns 0, 1 after --help, or -EINVAL with the reason printed. */
static int
parse_args(struct opts *o, int argc, char **argv)
{
	/* in the order of longopts[], which the error message indexes */
	enum { O_FRAMES = 256, O_LCORES, O_SECONDS, O_ROUNDS, O_WARMUP, O_MBUFS, O_FLOWS,
	       O_RECYCLE };
	static const struct option longopts[] = {
		{ "frames", required_argument, NULL, O_FRAMES },
		{ "lcores", required_argument, NULL, O_LCORES },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "mbufs", required_argument, NULL, O_MBUFS },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "recycle", required_argument, NULL, O_RECYCLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	unsigned int i;
	int c, rc = 0;

	o->mix = mixes[0];
	o->lcores = 1;
	o->seconds = 5.0;
	o->warmup = 0.5;
	o->rounds = 3;
	o->nb_mbufs = 1024;
	o->nb_flows = 64;
	o->recycle = RECYCLE_MBUF;

	optind = 0;	/* the EAL has used getopt: start afresh */
	while (rc == 0 && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_FRAMES:
			rc = parse_mix(optarg, &o->mix);
			break;
		case O_LCORES:
			if ((rc = tg_bench_parse_ulong(optarg, 1, 2, &v)) == 0)
				o->lcores = (unsigned int)v;
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
		case O_MBUFS:
			if ((rc = tg_bench_parse_ulong(optarg, 2 * TG_BURST, MBUFS_MAX, &v)) == 0)
				o->nb_mbufs = (unsigned int)v;
			break;
		case O_FLOWS:
			if ((rc = tg_bench_parse_ulong(optarg, 1, FLOWS_MAX, &v)) == 0)
				o->nb_flows = (unsigned int)v;
			break;
		case O_RECYCLE:
			rc = -EINVAL;
			for (i = 0; i < RTE_DIM(recycle_names); i++) {
				if (strcmp(optarg, recycle_names[i]) == 0) {
					o->recycle = (enum recycle)i;
					rc = 0;
				}
			}
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
				longopts[c - O_FRAMES].name);
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		rc = -EINVAL;
	}
	return rc;
}

/*
 * One TCP/IPv4 data segment of len bytes from the client side of flow f,
 * with valid IPv4 and TCP checksums, into d. Advances the flow's sequence.
 */
static void
frame_fill(uint8_t *d, uint16_t len, struct flow *f, uint16_t ip_id, uint64_t *xs)
{
	uint16_t plen = (uint16_t)(len - TG_BENCH_HDR_LEN), i;
	const struct tg_bench_seg seg = {
		.from_client = true,
		.saddr = f->saddr, .daddr = f->daddr, .sport = f->sport, .dport = f->dport,
		.seq = f->seq, .ack = f->ack,
		.flags = plen ? RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG : RTE_TCP_ACK_FLAG,
		.win = 502, .ip_id = ip_id, .plen = plen,
	};
	uint8_t *payload = d + TG_BENCH_HDR_LEN;

	tg_bench_write_hdrs(d, &seg);
	/* printable bytes, so later detectors scan something text-like */
	for (i = 0; i < plen; i++)
		payload[i] = (uint8_t)(' ' + tg_bench_xorshift(xs) % 95);
	tg_bench_write_tcp_csum(d);
	f->seq += plen;
}

/* The parser must take every frame whole, or every figure is wrong. */
static int
frame_check(const struct rte_mbuf *m, unsigned int i)
{
	struct tg_pkt p;
	enum tg_pkt_err err;

	if (tg_bench_check_frame(m, &p, &err) < 0 ||
	    p.payload_len != m->data_len - TG_BENCH_HDR_LEN) {
		fprintf(stderr, PROG ": frame %u (%u bytes) does not parse clean: %s\n", i,
			m->data_len,
			err == TG_PKT_OK ? "fields or checksum" : tg_pkt_err_names[err]);
		return -EPROTO;
	}
	return 0;
}

static int
frames_build(struct frame_set *fs, const struct opts *o, struct rte_mempool *mp)
{
	uint64_t xs = TG_BENCH_SEED;
	uint16_t pattern[MIX_WEIGHT_MAX], *lens, tmp;
	unsigned int i, k, w = 0, j;
	struct flow *flows;
	int rc = -ENOMEM;

	for (i = 0; i < o->mix.nb; i++)
		for (k = 0; k < o->mix.e[i].weight; k++)
			pattern[w++] = o->mix.e[i].len;

	fs->nb = o->nb_mbufs;
	fs->bytes = 0;
	fs->m = calloc(fs->nb, sizeof(*fs->m));
	lens = calloc(fs->nb, sizeof(*lens));
	flows = calloc(o->nb_flows, sizeof(*flows));
	if (fs->m == NULL || lens == NULL || flows == NULL)
		goto err_alloc;

	/* exact proportions (nb_mbufs is a multiple of w), order shuffled */
	for (i = 0; i < fs->nb; i++)
		lens[i] = pattern[i % w];
	for (i = fs->nb - 1; i > 0; i--) {
		j = (unsigned int)(tg_bench_xorshift(&xs) % (i + 1));
		tmp = lens[i];
		lens[i] = lens[j];
		lens[j] = tmp;
	}
	for (i = 0; i < o->nb_flows; i++) {
		flows[i].saddr = RTE_IPV4(10, 1, 0, 0) |
				 (uint32_t)(tg_bench_xorshift(&xs) & 0xffff);
		flows[i].daddr = RTE_IPV4(10, 2, 0, 1 + i % 8);
		flows[i].sport = (uint16_t)(32768 + tg_bench_xorshift(&xs) % 28000);
		flows[i].dport = SERVER_PORT;
		flows[i].seq = (uint32_t)tg_bench_xorshift(&xs);
		flows[i].ack = (uint32_t)tg_bench_xorshift(&xs);
	}

	if ((rc = rte_pktmbuf_alloc_bulk(mp, fs->m, fs->nb)) < 0)
		goto err_alloc;
	for (i = 0; i < fs->nb; i++) {
		struct rte_mbuf *m = fs->m[i];
		struct flow *f = &flows[tg_bench_xorshift(&xs) % o->nb_flows];
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, lens[i]);

		if (d == NULL) {
			rc = -ENOSPC;
			goto err_fill;
		}
		frame_fill(d, lens[i], f, (uint16_t)i, &xs);
		m->packet_type = RTE_PTYPE_L2_ETHER | RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
		if ((rc = frame_check(m, i)) < 0)
			goto err_fill;
		fs->bytes += lens[i];
	}
	free(flows);
	free(lens);
	return 0;

err_fill:
	rte_pktmbuf_free_bulk(fs->m, fs->nb);
err_alloc:
	free(flows);
	free(lens);
	free(fs->m);
	fs->m = NULL;
	return rc;
}

/* The mbufs go back with the pool, wherever they were left. */
static void
frames_free(struct frame_set *fs)
{
	free(fs->m);
	fs->m = NULL;
}

/*
 * One round: pkts packets of bytes frame bytes in wall TSC cycles, of
 * which the thread was on a CPU for cpu cycles and busy ones are charged
 * to the packets. A round with no packet is dropped.
 */
static void
figure_add(struct figure *f, uint64_t pkts, uint64_t bytes, uint64_t wall, double cpu,
	   double busy, uint64_t hz)
{
	double secs = busy / (double)hz;

	if (f->nb == ROUNDS_MAX || pkts == 0 || wall == 0 || !(busy > 0))
		return;
	f->mpps[f->nb] = (double)pkts / secs / 1e6;
	f->cpp[f->nb] = busy / (double)pkts;
	f->gbps[f->nb] = (double)bytes * 8 / secs / 1e9;
	f->wall_mpps[f->nb] = (double)pkts / ((double)wall / (double)hz) / 1e6;
	f->oncpu[f->nb] = 100.0 * cpu / (double)wall;
	f->bpp = (double)bytes / (double)pkts;
	f->nb++;
}

/* The human line and the RESULT line, the latter left open for extra keys. */
static void
figure_print(const struct figure *f, const char *frames)
{
	double mpps, cpp, gbps, wall, oncpu, mlo, mhi, clo, chi;

	if (f->nb == 0) {
		printf("  %-12s no packets\n", f->name);
		printf("RESULT name=%s frames=%s error=no_packets", f->name, frames);
		return;
	}
	mpps = tg_bench_calc_median(f->mpps, f->nb);
	cpp = tg_bench_calc_median(f->cpp, f->nb);
	gbps = tg_bench_calc_median(f->gbps, f->nb);
	wall = tg_bench_calc_median(f->wall_mpps, f->nb);
	oncpu = tg_bench_calc_median(f->oncpu, f->nb);
	tg_bench_calc_range(f->mpps, f->nb, &mlo, &mhi);
	tg_bench_calc_range(f->cpp, f->nb, &clo, &chi);
	printf("  %-12s %8.2f Mpps %8.1f cycles/pkt (%.1f-%.1f) %7.2f Gbit/s  "
	       "[wall %.2f Mpps, on-CPU %.0f%%]\n", f->name, mpps, cpp, clo, chi, gbps, wall,
	       oncpu);
	printf("RESULT name=%s frames=%s mpps=%.3f cycles_per_pkt=%.1f gbps=%.3f mpps_min=%.3f "
	       "mpps_max=%.3f cycles_min=%.1f cycles_max=%.1f bytes_per_pkt=%.1f "
	       "wall_mpps=%.3f oncpu_pct=%.1f rounds=%u",
	       f->name, frames, mpps, cpp, gbps, mlo, mhi, clo, chi, f->bpp, wall, oncpu, f->nb);
}

/* One pass over the frame set; returns the packets handled. */
typedef unsigned int (*pass_fn)(struct bench *b);

/* tg_pkt_parse() over the frames, prefetching the next one as the worker does. */
static unsigned int
parse_pass(struct bench *b)
{
	const struct frame_set *fs = &b->fs;
	uint64_t acc = 0;
	struct tg_pkt p;
	unsigned int i;

	for (i = 0; i < fs->nb; i++) {
		const struct rte_mbuf *m = fs->m[i];

		if (i + 1 < fs->nb)
			rte_prefetch0(rte_pktmbuf_mtod(fs->m[i + 1], void *));
		acc += tg_pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &p);
		acc += p.payload_len;
	}
	/* keep the work: the compiler must assume acc is used */
	__asm__ volatile("" : : "r"(acc) : "memory");
	return fs->nb;
}

static unsigned int
copy_pass(struct bench *b)
{
	const struct frame_set *fs = &b->fs;
	unsigned int i;

	for (i = 0; i < fs->nb; i++) {
		const struct rte_mbuf *m = fs->m[i];

		memcpy(copy_buf, rte_pktmbuf_mtod(m, const void *), m->data_len);
		__asm__ volatile("" : : "r"(copy_buf) : "memory");
	}
	return fs->nb;
}

/* rte_ring enqueue + dequeue of TG_BURST pointers, one core, no ethdev. */
static unsigned int
ring_pass(struct bench *b)
{
	struct rte_mbuf *pkts[TG_BURST];
	unsigned int i, n, done = 0;

	for (i = 0; i + TG_BURST <= b->fs.nb; i += TG_BURST) {
		n = rte_ring_sp_enqueue_burst(b->loop, (void **)&b->fs.m[i], TG_BURST, NULL);
		done += rte_ring_sc_dequeue_burst(b->loop, (void **)pkts, n, NULL);
	}
	return done;
}

/* rte_eth_tx_burst + rte_eth_rx_burst through net_ring, one core. */
static unsigned int
ethdev_pass(struct bench *b)
{
	struct rte_mbuf *pkts[TG_BURST];
	unsigned int i, done = 0;

	for (i = 0; i + TG_BURST <= b->fs.nb; i += TG_BURST) {
		rte_eth_tx_burst(b->lp.in, 0, &b->fs.m[i], TG_BURST);
		done += rte_eth_rx_burst(b->lp.out, 0, pkts, TG_BURST);
	}
	return done;
}

/*
 * Rounds of passes on the calling lcore after one warm-up pass. The ring
 * figures move pointers, not frames: they count no bytes.
 */
static void
run_passes(struct bench *b, struct figure *f, pass_fn fn, bool frame_bytes)
{
	double secs = RTE_MIN(b->o.seconds, AUX_SECONDS_MAX), cpu;
	uint64_t t0, t1, c0, pkts, passes, pass_bytes;
	unsigned int r, n;

	fn(b);
	for (r = 0; r < b->o.rounds; r++) {
		pkts = passes = 0;
		c0 = tg_bench_read_cpu_ns();
		t0 = rte_rdtsc_precise();
		t1 = t0 + (uint64_t)(secs * (double)b->hz);
		do {
			n = fn(b);
			pkts += n;
			passes++;
		} while (rte_rdtsc() < t1);
		t1 = rte_rdtsc_precise();
		cpu = (double)(tg_bench_read_cpu_ns() - c0) * (double)b->hz / 1e9;
		pass_bytes = frame_bytes ? b->fs.bytes : 0;
		figure_add(f, pkts, pass_bytes * passes, t1 - t0, cpu, cpu, b->hz);
	}
}

/* What an rx PMD writes into each mbuf it hands up, and a NIC's DMA with RECYCLE_FRAME. */
static inline void
recycle_one(struct rte_mbuf *m, enum recycle mode, uint16_t port)
{
	tg_bench_reset_rx_fields(m, port, (uint16_t)m->pkt_len);
	if (mode == RECYCLE_FRAME) {
		volatile uint8_t *d = rte_pktmbuf_mtod(m, volatile uint8_t *);

		d[0] = d[0];
	}
}

/*
 * Moves up to GEN_BURST mbufs the worker sent back to its rx ring. Returns
 * how many, or -ENOBUFS: the rx ring holds every mbuf, so a refusal is a
 * bug, not back-pressure.
 */
static inline int
gen_move(struct gen *g)
{
	struct rte_mbuf *pkts[GEN_BURST];
	unsigned int i, n;

	n = rte_ring_sc_dequeue_burst(g->drain, (void **)pkts, GEN_BURST, NULL);
	if (n == 0) {
		g->empty++;
		return 0;
	}
	if (g->recycle != RECYCLE_NONE)
		for (i = 0; i < n; i++)
			recycle_one(pkts[i], g->recycle, g->port);
	if (unlikely(rte_ring_sp_enqueue_bulk(g->feed, (void **)pkts, n, NULL) != n))
		return -ENOBUFS;
	return (int)n;
}

/* On the worker's lcore: its counters, its on-CPU time and the TSC. */
static void
sample_take(const struct bench *b, struct sample *s)
{
	struct tg_worker_counters c;

	tg_worker_counters_read(&b->wk, &c);
	s->cpu_ns = tg_bench_read_cpu_ns();
	s->tsc = rte_rdtsc();
	s->pkts = c.port[b->fwd.out].rx_pkts;
	s->bytes = c.port[b->fwd.out].rx_bytes;
	s->polls = c.polls;
	s->idle_polls = c.idle_polls;
}

/* A forward round from two samples of the worker's lcore. */
static void
round_record(struct bench *b, const struct sample *s0, const struct sample *s1,
	     uint64_t gen_cycles)
{
	uint64_t pkts = s1->pkts - s0->pkts, polls = s1->polls - s0->polls;
	double cpu = (double)(s1->cpu_ns - s0->cpu_ns) * (double)b->hz / 1e9;
	struct figure *f = &b->forward;
	unsigned int r = b->nb_fwd_rounds;

	if (r == ROUNDS_MAX)
		return;
	figure_add(f, pkts, s1->bytes - s0->bytes, s1->tsc - s0->tsc, cpu,
		   cpu - (double)gen_cycles, b->hz);
	b->idle_pct[r] = polls ? 100.0 * (double)(s1->idle_polls - s0->idle_polls) / polls : 100;
	b->gen_cpp[r] = pkts ? (double)gen_cycles / (double)pkts : 0;
	b->nb_fwd_rounds++;
	printf("  forward round %u/%u: %.2f Mpps, %.1f cycles/pkt, on-CPU %.0f%%, "
	       "worker idle polls %.2f%%\n", r + 1, b->o.rounds,
	       pkts ? f->mpps[f->nb - 1] : 0.0, pkts ? f->cpp[f->nb - 1] : 0.0,
	       pkts ? f->oncpu[f->nb - 1] : 0.0, b->idle_pct[r]);
	fflush(stdout);
}

/*
 * --lcores 1: the loop calls this whenever its rx ring is empty (tick
 * period 0). It refills the ring with everything the worker sent, times
 * itself so its cycles are not charged to the worker, and ends rounds.
 * A tick that took longer than tick_max was preempted: its mbufs are
 * charged at the average of the others, since on-CPU time cannot be read
 * per tick for less than the tick costs.
 */
static void
solo_tick(void *arg)
{
	struct solo *s = arg;
	struct bench *b = s->b;
	struct sample s1;
	uint64_t t0 = rte_rdtsc(), t1, gen;
	unsigned int moved = 0;
	int n;

	while ((n = gen_move(&s->g)) > 0)
		moved += (unsigned int)n;
	t1 = rte_rdtsc();
	tg_bench_charge_tick(&s->gt, t1 - t0, moved);
	if (n < 0) {
		s->err = n;
		tg_worker_stop();
		return;
	}
	if (t1 < s->end)
		return;
	/* the round's generator cycles; the warm-up's are dropped */
	gen = (uint64_t)tg_bench_take_gen_cycles(&s->gt);
	if (s->round > 0) {
		sample_take(b, &s1);
		round_record(b, &s->s0, &s1, gen);
	}
	if (s->round == b->o.rounds) {
		tg_worker_stop();
		return;
	}
	s->round++;
	sample_take(b, &s->s0);
	s->end = s->s0.tsc + (uint64_t)(b->o.seconds * (double)b->hz);
}

static int
run_solo(struct bench *b)
{
	struct solo s = {
		.b = b,
		.g = { .feed = b->feed, .drain = b->drain, .recycle = b->o.recycle,
		       .port = b->fwd.out },
	};

	s.end = rte_rdtsc() + (uint64_t)(b->o.warmup * (double)b->hz);
	s.gt.max = b->hz / 1000;
	b->wk.tick = solo_tick;
	b->wk.tick_arg = &s;
	b->wk.tick_cycles = 0;
	tg_worker_run(&b->wk);
	if (s.err < 0)
		fprintf(stderr, PROG ": generator: rx ring refused mbufs\n");
	printf("  forward (1 lcore): %" PRIu64 " empty tx-ring polls in the generator\n",
	       s.g.empty);
	return s.err;
}

/* --lcores 2: the worker publishes a sample every 1/SAMPLE_HZ s. */
static void
sampler_tick(void *arg)
{
	struct bench *b = arg;
	struct sample s;
	uint32_t seq = b->smp.seq;

	sample_take(b, &s);
	__atomic_store_n(&b->smp.seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	b->smp.s = s;
	__atomic_store_n(&b->smp.seq, seq + 2, __ATOMIC_RELEASE);
}

/* The latest sample; 0 if the worker has published none yet. */
static uint32_t
sampler_read(struct bench *b, struct sample *out)
{
	uint32_t s0, s1;

	for (;;) {
		s0 = __atomic_load_n(&b->smp.seq, __ATOMIC_ACQUIRE);
		*out = b->smp.s;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s1 = __atomic_load_n(&b->smp.seq, __ATOMIC_RELAXED);
		if (s0 == s1 && !(s0 & 1))
			return s0;
		rte_pause();
	}
}

/* Generates until the TSC reaches until. */
static int
gen_until(struct gen *g, uint64_t until)
{
	int n;

	while (rte_rdtsc() < until)
		if ((n = gen_move(g)) < 0)
			return n;
	return 0;
}

static int
run_pair(struct bench *b)
{
	struct gen g = {
		.feed = b->feed, .drain = b->drain, .recycle = b->o.recycle, .port = b->fwd.out,
	};
	uint64_t slice = b->hz / SAMPLE_HZ, t0 = 0, c0 = 0;
	struct sample s0, s1;
	unsigned int r;
	int rc;

	b->wk.tick = sampler_tick;
	b->wk.tick_arg = b;
	b->wk.tick_cycles = slice;
	if ((rc = rte_eal_remote_launch(tg_worker_run, &b->wk, b->worker_lcore)) < 0)
		return rc;

	rc = gen_until(&g, rte_rdtsc() + (uint64_t)(b->o.warmup * (double)b->hz));
	while (rc == 0 && sampler_read(b, &s0) == 0)
		rc = gen_until(&g, rte_rdtsc() + slice);
	c0 = tg_bench_read_cpu_ns();
	t0 = rte_rdtsc();
	for (r = 0; rc == 0 && r < b->o.rounds; r++) {
		rc = gen_until(&g, s0.tsc + (uint64_t)(b->o.seconds * (double)b->hz));
		/* the latest sample closes the round; wait for one if there is none since s0 */
		sampler_read(b, &s1);
		while (rc == 0 && s1.tsc == s0.tsc) {
			rc = gen_until(&g, rte_rdtsc() + slice);
			sampler_read(b, &s1);
		}
		if (rc < 0)
			break;
		round_record(b, &s0, &s1, 0);
		sampler_read(b, &s0);
	}
	tg_worker_stop();
	rte_eal_wait_lcore(b->worker_lcore);
	if (rc < 0)
		fprintf(stderr, PROG ": generator: rx ring refused mbufs\n");
	printf("  forward (2 lcores): generator on-CPU %.0f%% of the rounds, found the tx ring "
	       "empty %" PRIu64 " times\n",
	       100.0 * (double)(tg_bench_read_cpu_ns() - c0) * 1e-9 /
	       ((double)(rte_rdtsc() - t0) / (double)b->hz), g.empty);
	return rc;
}

/*
 * The worker as the dataplane sets one up with no service configured:
 * plain bridging, outside -> inside. Then every frame must have been
 * forwarded, parsed clean, none dropped and none lost.
 */
static int
run_forward(struct bench *b)
{
	struct tg_worker_counters c;
	unsigned int queued;
	int rc;

	tg_config_defaults(&b->cfg);
	b->wk.id = 0;
	b->wk.lcore = b->o.lcores == 1 ? rte_get_main_lcore() : b->worker_lcore;
	b->wk.nb_rxq = 1;
	b->wk.rxq[0] = (struct tg_worker_rxq){
		.port = b->fwd.out, .queue = 0, .peer = b->fwd.in, .peer_queue = 0, .outside = true,
	};
	b->wk.idle_sleep_max_us = 0;
	if ((rc = tg_worker_init(&b->wk, &b->cfg.services, &b->cfg.flow, b->pool)) < 0) {
		fprintf(stderr, PROG ": worker init: %s\n", rte_strerror(-rc));
		return rc;
	}

	queued = rte_ring_sp_enqueue_bulk(b->feed, (void **)b->fs.m, b->fs.nb, NULL);
	if (queued != b->fs.nb) {
		rc = -ENOBUFS;
		goto out;
	}
	rc = b->o.lcores == 1 ? run_solo(b) : run_pair(b);
	if (rc < 0)
		goto out;

	tg_worker_counters_read(&b->wk, &c);
	queued = rte_ring_count(b->feed) + rte_ring_count(b->drain);
	if (c.port[b->fwd.in].tx_drop != 0 || c.parse[TG_PKT_OK] != c.port[b->fwd.out].rx_pkts ||
	    c.nonlinear != 0 || queued != b->fs.nb) {
		fprintf(stderr, PROG ": check failed: tx_drop=%" PRIu64 " parsed_ok=%" PRIu64
			" rx_pkts=%" PRIu64 " nonlinear=%" PRIu64 " mbufs back=%u of %u\n",
			c.port[b->fwd.in].tx_drop, c.parse[TG_PKT_OK], c.port[b->fwd.out].rx_pkts,
			c.nonlinear, queued, b->fs.nb);
		rc = -EPROTO;
		goto out;
	}
	printf("  forward total: %" PRIu64 " packets, all parsed clean, none dropped\n",
	       c.port[b->fwd.out].rx_pkts);
	rc = 0;
out:
	tg_worker_fini(&b->wk);
	return rc;
}

static int
rings_create(struct bench *b)
{
	unsigned int n = b->o.nb_mbufs;

	if ((b->feed = tg_bench_create_ring("tgb_feed", n)) == NULL)
		goto err_feed;
	if ((b->drain = tg_bench_create_ring("tgb_drain", n)) == NULL)
		goto err_drain;
	if ((b->loop = tg_bench_create_ring("tgb_loop", n)) == NULL)
		goto err_loop;
	/* under the queues nothing uses: port out's tx, port in's rx, ... */
	if ((b->null = tg_bench_create_ring("tgb_null", TG_BURST)) == NULL)
		goto err_null;
	return 0;

err_null:
	rte_ring_free(b->loop);
err_loop:
	rte_ring_free(b->drain);
err_drain:
	rte_ring_free(b->feed);
err_feed:
	return -rte_errno;
}

static void
rings_free(struct bench *b)
{
	rte_ring_free(b->null);
	rte_ring_free(b->loop);
	rte_ring_free(b->drain);
	rte_ring_free(b->feed);
}

/*
 * Two net_ring ports, out receiving from rx and in sending into tx (their
 * other queues on the null ring), started as a pair by the dataplane's own
 * tg_port_pair_start().
 */
static int
pair_open(struct bench *b, struct tg_pair *p, const char *name_out, struct rte_ring *rx,
	  const char *name_in, struct rte_ring *tx)
{
	const struct tg_bench_rings r = {
		.out_rx = rx, .out_tx = b->null, .in_rx = b->null, .in_tx = tx,
	};
	int rc;

	if ((rc = tg_bench_open_pair(p, name_out, name_in, &r, b->pool)) < 0)
		fprintf(stderr, PROG ": net_ring pair %s/%s: %s\n", name_out, name_in,
			rte_strerror(-rc));
	return rc;
}

static void
print_setup(const struct bench *b)
{
	printf("%s: frames %s (%s), %u mbufs, %.1f bytes/frame on average, %u flows, "
	       "recycle %s, %u lcore(s)\n", PROG, b->o.mix.name, b->o.mix.desc, b->fs.nb,
	       (double)b->fs.bytes / b->fs.nb, b->o.nb_flows, recycle_names[b->o.recycle],
	       b->o.lcores);
	tg_bench_print_clock(PROG ": ", b->hz);
}

static void
print_results(struct bench *b)
{
	const char *frames = b->o.mix.name;
	double lo = 0, hi = 0, fwd, parse, ethdev;
	unsigned int n = b->nb_fwd_rounds;

	printf("%s: median of %u rounds; cycles are TSC cycles on a CPU; Mpps and Gbit/s "
	       "per on-CPU second; Gbit/s counts frame bytes\n", PROG, b->o.rounds);
	figure_print(&b->parse, frames);
	printf("\n");
	figure_print(&b->copy, frames);
	printf("\n");
	figure_print(&b->ring, frames);
	printf("\n");
	figure_print(&b->ethdev, frames);
	printf("\n");
	b->forward.name = b->o.lcores == 1 ? "forward" : "forward_2lcore";
	figure_print(&b->forward, frames);
	if (n) {
		tg_bench_calc_range(b->idle_pct, n, &lo, &hi);
		printf(" lcores=%u idle_pct=%.2f", b->o.lcores,
		       tg_bench_calc_median(b->idle_pct, n));
		if (b->o.lcores == 1)
			printf(" gen_cycles_per_pkt=%.1f", tg_bench_calc_median(b->gen_cpp, n));
		printf(" recycle=%s mbufs=%u flows=%u seconds=%g", recycle_names[b->o.recycle],
		       b->fs.nb, b->o.nb_flows, b->o.seconds);
	}
	printf("\n");
	if (b->forward.nb == 0 || b->parse.nb == 0 || b->ethdev.nb == 0)
		return;
	fwd = tg_bench_calc_median(b->forward.cpp, b->forward.nb);
	parse = tg_bench_calc_median(b->parse.cpp, b->parse.nb);
	ethdev = tg_bench_calc_median(b->ethdev.cpp, b->ethdev.nb);
	printf("%s: %s %.1f cycles/pkt = parse %.1f (%.0f%%) + net_ring tx+rx on one core "
	       "%.1f (%.0f%%) + the rest %.1f\n", PROG, b->forward.name, fwd, parse,
	       100 * parse / fwd, ethdev, 100 * ethdev / fwd, fwd - parse - ethdev);
	if (b->o.lcores == 2 && hi > 1.0)
		printf("%s: note: the worker found its rx ring empty in up to %.1f%% of polls: "
		       "the hand-off between lcores, not the worker, sets the rate\n", PROG, hi);
}

int
main(int argc, char **argv)
{
	struct bench *b = &bench;
	unsigned int w = 0, i;
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
		goto err_args;
	}
	if (rte_lcore_count() < b->o.lcores) {
		fprintf(stderr, PROG ": --lcores %u needs as many EAL lcores (-l 0,1)\n",
			b->o.lcores);
		rc = 2;
		goto err_args;
	}
	b->worker_lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
	b->hz = rte_get_tsc_hz();
	for (i = 0; i < b->o.mix.nb; i++)
		w += b->o.mix.e[i].weight;
	b->o.nb_mbufs = (b->o.nb_mbufs + w - 1) / w * w;
	b->parse.name = "parse";
	b->copy.name = "memcpy";
	b->ring.name = "ring";
	b->ethdev.name = "ethdev_ring";

	b->pool = rte_pktmbuf_pool_create("tgb_mbuf", b->o.nb_mbufs, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (b->pool == NULL) {
		fprintf(stderr, PROG ": mbuf pool of %u: %s\n", b->o.nb_mbufs,
			rte_strerror(rte_errno));
		rc = 1;
		goto err_pool;
	}
	if ((rc = rings_create(b)) < 0) {
		fprintf(stderr, PROG ": rings: %s\n", rte_strerror(-rc));
		rc = 1;
		goto err_rings;
	}
	if (pair_open(b, &b->fwd, "tgb_out", b->feed, "tgb_in", b->drain) < 0) {
		rc = 1;
		goto err_fwd;
	}
	/* the loop pair: port lpb sends into the ring that port lpa receives from */
	if (pair_open(b, &b->lp, "tgb_lpa", b->loop, "tgb_lpb", b->loop) < 0) {
		rc = 1;
		goto err_lp;
	}
	if ((rc = frames_build(&b->fs, &b->o, b->pool)) < 0) {
		fprintf(stderr, PROG ": frames: %s\n", rte_strerror(-rc));
		rc = 1;
		goto err_frames;
	}

	print_setup(b);
	run_passes(b, &b->parse, parse_pass, true);
	run_passes(b, &b->copy, copy_pass, true);
	run_passes(b, &b->ring, ring_pass, false);
	run_passes(b, &b->ethdev, ethdev_pass, false);
	if ((rc = run_forward(b)) < 0) {
		rc = 1;
		goto err_run;
	}
	print_results(b);
	rc = 0;

err_run:
	frames_free(&b->fs);
err_frames:
	tg_bench_close_pair(&b->lp);
err_lp:
	tg_bench_close_pair(&b->fwd);
err_fwd:
	rings_free(b);
err_rings:
	/* frees every mbuf, wherever it was left */
	rte_mempool_free(b->pool);
err_pool:
err_args:
	rte_eal_cleanup();
	return rc;
}
