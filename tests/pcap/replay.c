/* SPDX-License-Identifier: MIT */
/*
 * replay.c — tg-replay: one pcap, one frame at a time, through one worker.
 *
 * The golden tests of inline reassembly (tests/pcap/run-reassembly) need
 * the client's and the server's frames to reach the gateway in exactly the
 * order of a script: whether a retransmission is rewritten depends on
 * whether the server's ACK came before it. net_pcap cannot give that order,
 * because DPDK reads the two ports' rx files concurrently. This program
 * takes one file holding both sides, in order, and feeds it frame by frame
 * to tg_worker_forward(), the function the worker loop calls for every
 * burst:
 *
 *   - a frame whose source MAC is the client MAC arrives on port 0
 *     (outside, towards the clients); every other frame on port 1 (inside);
 *   - after each frame, what left each port is taken off the ring under that
 *     port's tx queue and appended to its output pcap (port 1 to
 *     --out-inside, port 0 to --out-outside), with the timestamp of the input
 *     frame that caused it, so the two files merge back into one timeline.
 *
 * Ports, mbuf pool and worker are set up as main.c sets them up: two
 * net_ring ports started as a pair by tg_port_pair_start(), the pool from
 * tg_port_pool_create(), the config from tg_config_defaults() and
 * tg_config_load_file(), one worker with the rx queue of each port and the
 * tx queue of the other. When the config names a policy, it is loaded
 * (tg_policy_load()) and the worker's PostgreSQL inspector started under
 * it (tg_worker_inspect_init()), as main.c does; statement events go to
 * --events, else to the config's "events" file, else nowhere (counted).
 * At the end the worker's counters are printed as the dataplane prints
 * them (port, parse, gateway, flows, tcp, stream lines, and inspect and pg
 * lines when inspecting), then a "replay:" line with frame counts.
 *
 * Usage:
 *   tg-replay EAL-ARGS -- --config FILE --in IN.pcap --out-inside OUT_IN.pcap
 *             --out-outside OUT_OUT.pcap [--client-mac MAC] [--events FILE]
 * with EAL-ARGS such as "--no-huge -m 256 --no-pci --no-shconf
 * --no-telemetry --file-prefix X -l 0". Exits 0, or 1 on a set-up or I/O
 * error, 2 on bad arguments, a bad config or a bad policy.
 *
 * Caveats:
 * - One frame per burst: effects of several frames of a flow in one burst
 *   are not exercised.
 * - No rx poll and no expiry: the clock never matters, so timeouts never
 *   fire and the replay is deterministic.
 * - Frames longer than an mbuf's data room are refused (exit 1).
 * - Events carry wall-clock times (CLOCK_REALTIME): the events file is the
 *   one output that differs from run to run.
 * - Sessions still open at the end are closed by tg_worker_fini() after
 *   the counters are printed: their "unfinished" events are written to the
 *   events file but not counted in the printed "events".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "config.h"
#include "policy.h"
#include "port.h"
#include "stats.h"
#include "worker.h"

#include "common.h"	/* tools/bench: net_ring ports */

#define PROG "tg-replay"
#define RING_COUNT 4095		/* a 4096-slot ring: far more than one burst can release */
#define DRAIN_BURST 64
#define SNAPLEN 65535

enum { OUTSIDE, INSIDE, NB_SIDES };

static const char *const side_names[NB_SIDES] = { "outside", "inside" };

struct opts {
	const char *config;
	const char *in;
	const char *out[NB_SIDES];	/* what leaves port OUTSIDE / INSIDE */
	const char *events;		/* NULL: the config's "events", if any */
	bool no_editor;			/* --no-stream-editor: block by rewriting (the fallback) */
	uint8_t client_mac[6];
};

struct replay {
	struct opts o;
	struct tg_dp_config cfg;
	struct tg_bench_rings rings;	/* rx never fed: the worker is called directly */
	struct tg_pair pair;
	struct rte_mempool *pool;
	struct tg_worker w;
	struct tg_policy *policy;	/* NULL: none configured */
	int events_fd;			/* -1: events counted only */
	pcap_t *in;
	pcap_t *dead;
	pcap_dumper_t *out[NB_SIDES];
	uint64_t frames, from[NB_SIDES], left[NB_SIDES];
};

static struct replay rp;

static void
usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [EAL options] -- --config FILE --in IN.pcap\n"
		"       --out-inside OUT_IN.pcap --out-outside OUT_OUT.pcap [--client-mac MAC]\n"
		"       [--events FILE] [--no-stream-editor]\n"
		"\n"
		"Feeds IN.pcap, frame by frame in file order, through one tollgate worker:\n"
		"frames from the client MAC (default 02:00:00:00:00:01) arrive on the\n"
		"outside port, all others on the inside port. What leaves the inside port\n"
		"goes to OUT_IN.pcap, what leaves the outside port to OUT_OUT.pcap.\n"
		"Prints the worker's counters at the end. When the config names a policy,\n"
		"postgres services are inspected under it; statement events are appended\n"
		"to FILE (default: the config's \"events\", if any).\n");
}

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Returns 0, 1 for --help, or -EINVAL. */
static int
parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "in", required_argument, NULL, 'i' },
		{ "out-inside", required_argument, NULL, 'I' },
		{ "out-outside", required_argument, NULL, 'O' },
		{ "client-mac", required_argument, NULL, 'm' },
		{ "events", required_argument, NULL, 'e' },
		{ "no-stream-editor", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	parse_mac("02:00:00:00:00:01", o->client_mac);
	optind = 0;	/* the EAL has used getopt: start afresh */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			o->in = optarg;
			break;
		case 'I':
			o->out[INSIDE] = optarg;
			break;
		case 'O':
			o->out[OUTSIDE] = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, o->client_mac) < 0) {
				fprintf(stderr, PROG ": --client-mac %s: not a MAC address\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'N':
			o->no_editor = true;
			break;
		case 'e':
			o->events = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	if (o->config == NULL || o->in == NULL || o->out[INSIDE] == NULL ||
	    o->out[OUTSIDE] == NULL) {
		fprintf(stderr, PROG ": --config, --in, --out-inside and --out-outside are "
			"required\n");
		return -EINVAL;
	}
	return 0;
}

static int
pcaps_open(struct replay *r)
{
	char err[PCAP_ERRBUF_SIZE];
	int s;

	if ((r->in = pcap_open_offline(r->o.in, err)) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", r->o.in, err);
		goto err_in;
	}
	if (pcap_datalink(r->in) != DLT_EN10MB) {
		fprintf(stderr, PROG ": %s: link type %d, not Ethernet\n", r->o.in,
			pcap_datalink(r->in));
		goto err_dead;
	}
	if ((r->dead = pcap_open_dead(DLT_EN10MB, SNAPLEN)) == NULL) {
		fprintf(stderr, PROG ": pcap_open_dead failed\n");
		goto err_dead;
	}
	for (s = 0; s < NB_SIDES; s++) {
		if ((r->out[s] = pcap_dump_open(r->dead, r->o.out[s])) == NULL) {
			fprintf(stderr, PROG ": %s: %s\n", r->o.out[s], pcap_geterr(r->dead));
			goto err_out;
		}
	}
	return 0;

err_out:
	while (--s >= 0)
		pcap_dump_close(r->out[s]);
	pcap_close(r->dead);
err_dead:
	pcap_close(r->in);
err_in:
	return -EIO;
}

static void
pcaps_close(struct replay *r)
{
	int s;

	for (s = 0; s < NB_SIDES; s++)
		pcap_dump_close(r->out[s]);
	pcap_close(r->dead);
	pcap_close(r->in);
}

/* Writes everything that left port `side` since the last call, frees it. */
static int
drain(struct replay *r, int side, const struct timeval *ts)
{
	static uint8_t flat[RTE_MBUF_DEFAULT_BUF_SIZE * 8];
	struct rte_ring *tx = side == INSIDE ? r->rings.in_tx : r->rings.out_tx;
	void *objs[DRAIN_BURST];
	unsigned int n, i;
	int rc = 0;

	do {
		n = rte_ring_dequeue_burst(tx, objs, DRAIN_BURST, NULL);
		for (i = 0; i < n; i++) {
			struct rte_mbuf *m = objs[i];
			struct pcap_pkthdr h = { .ts = *ts };
			const void *bytes;

			h.caplen = h.len = m->pkt_len;
			if (m->pkt_len > sizeof(flat)) {
				fprintf(stderr, PROG ": a frame of %u bytes left the %s port: too long\n",
					m->pkt_len, side_names[side]);
				rc = -EMSGSIZE;
			} else {
				bytes = rte_pktmbuf_read(m, 0, m->pkt_len, flat);
				pcap_dump((u_char *)r->out[side], &h, bytes);
				r->left[side]++;
			}
			rte_pktmbuf_free(m);
		}
	} while (n == DRAIN_BURST);
	return rc;
}

static int
replay_frames(struct replay *r)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc, side;

	while ((rc = pcap_next_ex(r->in, &h, &data)) == 1) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(r->pool);
		char *dst;

		r->frames++;
		if (m == NULL) {
			fprintf(stderr, PROG ": frame %" PRIu64 ": mbuf pool empty\n", r->frames);
			return -ENOBUFS;
		}
		if (h->caplen > UINT16_MAX ||
		    (dst = rte_pktmbuf_append(m, (uint16_t)h->caplen)) == NULL) {
			fprintf(stderr, PROG ": frame %" PRIu64 ": %u bytes do not fit an mbuf\n",
				r->frames, h->caplen);
			rte_pktmbuf_free(m);
			return -EMSGSIZE;
		}
		memcpy(dst, data, h->caplen);
		/* the client side's frames arrive outside, everything else inside */
		side = INSIDE;
		if (h->caplen >= 12 && memcmp(data + 6, r->o.client_mac, 6) == 0)
			side = OUTSIDE;
		r->from[side]++;
		tg_worker_forward(&r->w, &r->w.rxq[side], &m, 1);
		if ((rc = drain(r, INSIDE, &h->ts)) < 0 || (rc = drain(r, OUTSIDE, &h->ts)) < 0)
			return rc;
	}
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, PROG ": %s: %s\n", r->o.in, pcap_geterr(r->in));
		return -EIO;
	}
	return 0;
}

/*
 * The policy of the config, compiled now (Hyperscan takes milliseconds,
 * before the first frame), and the events file, appended to (several
 * replays may share one). Returns 0, or -errno with the reason printed.
 */
static int
inspect_open(struct replay *r)
{
	const char *events = r->o.events != NULL ? r->o.events : r->cfg.events_path;
	char err[512];
	int rc;

	r->events_fd = -1;
	if (r->cfg.policy_path[0] != '\0') {
		rc = tg_policy_load(r->cfg.policy_path, &r->cfg.services, &r->policy, err,
				    sizeof(err));
		if (rc < 0) {
			fprintf(stderr, PROG ": policy: %s\n", err);
			goto err_policy;
		}
	}
	if (events[0] != '\0') {
		r->events_fd = open(events, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (r->events_fd < 0) {
			rc = -errno;
			fprintf(stderr, PROG ": events file %s: %s\n", events, strerror(errno));
			goto err_events;
		}
	}
	return 0;

err_events:
	tg_policy_free(r->policy);
	r->policy = NULL;
err_policy:
	return rc;
}

/* After tg_worker_fini(): the inspector's scratch and events refer to both. */
static void
inspect_close(struct replay *r)
{
	if (r->events_fd >= 0)
		close(r->events_fd);
	r->events_fd = -1;
	tg_policy_free(r->policy);
	r->policy = NULL;
}

/* main.c's counter lines for the one worker, then the replay's own. */
static void
print_counters(FILE *out, struct replay *r)
{
	tg_stats_print(out, &r->w, 1, &r->pair, 1, &r->cfg, NULL);
	fprintf(out,
		"replay: frames=%" PRIu64 " from_outside=%" PRIu64 " from_inside=%" PRIu64
		" left_inside=%" PRIu64 " left_outside=%" PRIu64 "\n",
		r->frames, r->from[OUTSIDE], r->from[INSIDE], r->left[INSIDE], r->left[OUTSIDE]);
	fflush(out);
}

int
main(int argc, char **argv)
{
	struct replay *r = &rp;
	int rc, status = 1;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, PROG ": EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;

	if ((rc = parse_args(&r->o, argc, argv)) != 0) {
		status = rc < 0 ? 2 : 0;
		goto err_args;
	}
	tg_config_defaults(&r->cfg);
	if (tg_config_load_file(&r->cfg, r->o.config, stderr) < 0) {
		status = 2;
		goto err_args;
	}
	if (inspect_open(r) < 0) {
		status = 2;
		goto err_args;
	}

	if ((rc = tg_bench_create_rings(&r->rings, "tgr", RING_COUNT)) < 0) {
		fprintf(stderr, PROG ": rings: %s\n", rte_strerror(-rc));
		goto err_rings;
	}
	/* the ports before the pool, which is sized on the pair; started after it */
	if ((rc = tg_bench_create_pair(&r->pair, "tgr_out", "tgr_in", &r->rings)) < 0) {
		fprintf(stderr, PROG ": net_ring ports: %s\n", rte_strerror(-rc));
		goto err_ports;
	}
	r->pool = tg_port_pool_create(&r->pair, 1, 1,
				      r->cfg.services.nb ? r->cfg.flow.held_segments : 0);
	if (r->pool == NULL) {
		fprintf(stderr, PROG ": mbuf pool: %s (give EAL more memory with -m)\n",
			rte_strerror(rte_errno));
		goto err_pool;
	}
	if ((rc = tg_port_pair_start(&r->pair, 1, r->pool)) < 0) {
		fprintf(stderr, PROG ": start ports %u:%u: %s\n", r->pair.out, r->pair.in,
			rte_strerror(-rc));
		goto err_start;
	}

	r->w.id = 0;
	r->w.lcore = rte_get_main_lcore();
	r->w.rxq[OUTSIDE] = (struct tg_worker_rxq){
		.port = r->pair.out, .queue = 0, .peer = r->pair.in, .peer_queue = 0,
		.outside = true,
	};
	r->w.rxq[INSIDE] = (struct tg_worker_rxq){
		.port = r->pair.in, .queue = 0, .peer = r->pair.out, .peer_queue = 0,
		.outside = false,
	};
	r->w.nb_rxq = NB_SIDES;
	if ((rc = tg_worker_init(&r->w, &r->cfg.services, &r->cfg.flow, r->pool)) < 0) {
		fprintf(stderr, PROG ": worker: flow table of %u flows and %u reassembly rings: %s\n",
			r->cfg.flow.max_flows, r->cfg.flow.nb_rings, strerror(-rc));
		goto err_worker;
	}
	if ((rc = tg_worker_inspect_init(&r->w, r->policy, r->cfg.inspect_sessions, &r->cfg.pg_limits,
					 r->events_fd)) < 0) {
		fprintf(stderr, PROG ": worker: inspector of %u sessions: %s\n",
			r->cfg.inspect_sessions, strerror(-rc));
		goto err_inspect;
	}
	/* the golden cases of blocking by rewriting, the editor's fallback */
	if (r->o.no_editor)
		r->w.inspect.editor = false;
	if (pcaps_open(r) < 0)
		goto err_pcaps;

	if (replay_frames(r) == 0)
		status = 0;
	print_counters(stdout, r);

	pcaps_close(r);
err_pcaps:
err_inspect:
	tg_worker_fini(&r->w);
err_worker:
	rte_eth_dev_stop(r->pair.in);
	rte_eth_dev_stop(r->pair.out);
err_start:
	rte_mempool_free(r->pool);
err_pool:
	rte_eth_dev_close(r->pair.in);
	rte_eth_dev_close(r->pair.out);
err_ports:
	tg_bench_free_rings(&r->rings);
err_rings:
	inspect_close(r);
err_args:
	rte_eal_cleanup();
	return status;
}
