/* SPDX-License-Identifier: MIT */
/*
 * worker.h — the run-to-completion loop of a worker lcore.
 *
 * A worker owns a fixed set of (port, rx queue) pairs and, for each, the tx
 * queue of the same index on the peer port, so no two workers ever share a
 * queue and nothing on this path takes a lock. Per burst: rx, parse L2-L4,
 * classify against the protected services, then either bridge the frame
 * untouched, refuse it (counted), or run it through the worker's flow
 * table, TCP tracking and inline reassembly, which may hold it and release
 * it later. The reassembled bytes of "postgres" services go to the
 * worker's inspector (inspect.h), which decides statements and masks
 * results in the ring before the held segments leave; a session it fails
 * closed (or blocks by reset) is reset both ways here. Frames leave through per-port tx buffers flushed once per
 * burst; what a tx queue does not take is freed and counted, never retried
 * forever.
 *
 * Everything a worker uses is its own and allocated at start: flow table,
 * reassembly rings and held-segment slots. The services table is read-only
 * for now (the slowpath will publish new generations).
 *
 * Control channel (ctl set, control.h): every statement event, and the
 * start and end of every inspected session, is copied into a slot of the
 * worker's ring to the control thread, never blocking (a full ring drops
 * and counts). While the channel fails closed, a client SYN opening a new
 * postgres session is answered with RST (slowpath_refused); sessions
 * already open go on.
 *
 * Commands (control.h): with ctl set, the loop looks at the worker's
 * command ring once per iteration (one ring count) and carries out what
 * the control thread asks for tgctl sessions and flows: a snapshot of its
 * sessions or flows into the control thread's buffer, or the reset of one
 * session both ways (KILL), with RSTs built from a copy of the session's
 * client SYN kept per inspector session (TG_WORKER_TPL bytes each; a SYN
 * longer than that, which no stack sends, leaves the kill to the next
 * segment of the session, refused then as midstream).
 * Idle back-off: with idle_sleep_max_us set, a worker that has seen no
 * packet for TG_WORKER_IDLE_POLLS consecutive polls sleeps, doubling the
 * sleep from 1 us up to the maximum, and returns to busy polling on the
 * first packet (the adaptive mode of OVS-DPDK's pmd-sleep-max and VPP).
 * The cost is up to idle_sleep_max_us of added latency on the first packet
 * after a quiet period; the gain is a core given back to the host, which
 * matters when clients and servers share the machine.
 *
 * TCP grants (tcpgrants.h, punt.h "TCP GRANTS"): with ctl set, a SYN of a
 * tcp service is checked against the published table of grants; refused
 * (no grant, the slowpath away, or no table yet) it gets a RST and the
 * slowpath a FLOW_REFUSED event; admitted on a grant, the flow carries
 * the grant's id and has FLOW_START and FLOW_END events. When a new table
 * comes, or a grant's expiry passes, the worker walks its flows once and
 * marks those whose grant no longer holds on a service whose
 * on_grant_expiry is "end"; such a flow is reset both ways at its next
 * segment from either side (nothing of it passes any more; an idle one
 * ends so, or at its timeout, reported with reason grant_ended).
 *
 * Counters are written only by their worker and read by the control thread
 * with relaxed loads; a reader may see a value one burst old.
 */
#ifndef TG_WORKER_H
#define TG_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "config.h"
#include "flow.h"
#include "inspect.h"
#include "pkt.h"
#include "service.h"
#include "stream.h"
#include "tcp.h"

struct rte_mbuf;
struct rte_mempool;
struct tg_control_q;
struct rte_rcu_qsbr;
struct tg_tcp_grants;

#define TG_MAX_PORTS 16
#define TG_BURST 32
#define TG_TXBUF 64
#define TG_WORKER_IDLE_POLLS 256
/* flows examined for expiry per loop: bounded work, never a sweep */
#define TG_WORKER_EXPIRE_BUDGET 64
/* bytes of a session's client SYN kept to reset it on command */
#define TG_WORKER_TPL 128

#define TG_GW_COUNTERS(X) \
	X(BRIDGED, "bridged", "frames outside the protected space, bridged") \
	X(SERVICE, "service", "frames of protected services") \
	X(DENIED, "denied", "frames refused by a subnet policy") \
	X(FRAG_PROTECTED, "frag_protected", "fragments towards a protected address") \
	X(MALFORMED_PROTECTED, "malformed_protected", "malformed frames of protected addresses") \
	X(MIDSTREAM, "midstream", "service segments with no session, refused with RST") \
	X(NEW_REFUSED, "new_refused", "new sessions refused: flow table full") \
	X(EXC_DROP_FLOW, "exc_drop_flow", "exception policy: sessions reset") \
	X(EXC_DROP_PACKET, "exc_drop_packet", "exception policy: segments dropped") \
	X(RST_SENT, "rst_sent", "RSTs sent by the gateway") \
	X(INSPECT_RESET, "inspect_reset", "sessions reset by the inspector (failed closed, blocked)") \
	X(INSPECT_REFUSED, "inspect_refused", "new sessions refused: no inspector session free") \
	X(EVENT_LOST, "event_lost", "statement events not written (events file)") \
	X(ADMIN_KILL, "admin_kill", "sessions reset on an operator's command (tgctl sessions kill)") \
	X(ADMIN_KILL_FATAL, "admin_kill_fatal", "of those, the client told with a FATAL first") \
	X(LOGIN_RESET, "login_reset", "sessions reset on the slowpath's answer (login refused, token expired)") \
	X(SLOWPATH_REFUSED, "slowpath_refused", "new postgres sessions refused: slowpath not connected (fail closed)") \
	X(ALLOC_FAIL, "alloc_fail", "mbuf allocation failures (pool pressure)") \
	X(EDIT_CUT, "edit_cut", "segments cut by the stream editor (bytes consumed or injected between)") \
	X(EDIT_INJECTED, "edit_injected", "segments of injected bytes sent (first transmission)") \
	X(EDIT_RETRANS, "edit_retrans", "segments of injected bytes sent again (retransmission timer)") \
	X(EDIT_ACKS, "edit_acks", "ACKs sent by the gateway for bytes it consumed") \
	X(EDIT_ABSORBED, "edit_absorbed", "ACKs of injected bytes only, kept by the gateway") \
	X(EDIT_GAVE_UP, "edit_gave_up", "sessions reset: injected bytes never acknowledged") \
	X(TCPG_ADMITTED, "tcp_grant_admitted", "new tcp flows admitted on a grant") \
	X(TCPG_NO_GRANT, "tcp_grant_refused", "new tcp flows refused with RST: no live grant") \
	X(TCPG_DOWN, "tcp_grant_slowpath_refused", "new tcp flows refused: slowpath away") \
	X(TCPG_UNKNOWN, "tcp_grant_unknown_refused", "new tcp flows refused: no grant table yet") \
	X(TCPG_ENDED, "tcp_grant_ended", "tcp flows reset: their grant ended (on_grant_expiry end)")

enum tg_gw_counter {
#define TG_GW_CNT_ENUM(e, n, d) TG_GW_CNT_##e,
	TG_GW_COUNTERS(TG_GW_CNT_ENUM)
#undef TG_GW_CNT_ENUM
	TG_GW_CNT_MAX
};

extern const char *const tg_gw_counter_names[TG_GW_CNT_MAX];

struct tg_port_counters {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t tx_pkts;
	uint64_t tx_bytes;
	uint64_t tx_drop;	/* not taken by the tx queue, freed */
};

/* A snapshot; every field is a uint64_t so snapshots add up word by word. */
struct tg_worker_counters {
	struct tg_port_counters port[TG_MAX_PORTS];	/* rx by rx port, tx by tx port */
	uint64_t parse[TG_PKT_ERR_MAX];			/* [TG_PKT_OK] = parsed */
	uint64_t non_ip;
	uint64_t frag;
	uint64_t nonlinear;	/* multi-segment mbufs: first segment parsed */
	uint64_t polls;
	uint64_t idle_polls;
	uint64_t sleeps;
	uint64_t sleep_us;
	uint64_t gw[TG_GW_CNT_MAX];
	uint64_t flow[TG_FLOW_CNT_MAX];
	uint64_t tcp[TG_TCP_CNT_MAX];
	uint64_t stream[TG_STREAM_CNT_MAX];
	uint64_t inspect[TG_INSPECT_CNT_MAX];
	struct tg_pg_counters pg;
	/* gauges */
	uint64_t flows_active;
	uint64_t segs_held;
	uint64_t rings_used;
};

struct tg_worker_rxq {
	uint16_t port;
	uint16_t queue;
	uint16_t peer;		/* tx port */
	uint16_t peer_queue;
	bool outside;		/* port faces the clients */
};

struct tg_txbuf {
	uint16_t queue;
	uint16_t n;
	struct rte_mbuf *pkts[TG_TXBUF];
};

/*
 * A policy generation: a compiled policy and one scratch per worker (by
 * worker id), built off the fast path and published to every worker at
 * once (tg_worker_policy_publish()).
 */
struct tg_policy_gen {
	struct tg_policy *policy;
	struct tg_policy_scratch *scratch[RTE_MAX_LCORE];
	uint64_t id;
};

/* Called from the loop of a worker about every tick_cycles TSC cycles. */
typedef void (*tg_worker_tick_fn)(void *arg);

struct tg_worker {
	unsigned int id;
	unsigned int lcore;
	uint16_t nb_rxq;
	struct tg_worker_rxq rxq[TG_MAX_PORTS];
	uint32_t idle_sleep_max_us;	/* 0: busy polling */
	tg_worker_tick_fn tick;		/* optional, see tg_worker_run() */
	void *tick_arg;
	uint64_t tick_cycles;

	const struct tg_services *services;
	struct rte_mempool *pool;	/* for frames the gateway sends itself */
	bool tracking;			/* services configured: flow table allocated */
	struct tg_flow_table flows;
	struct tg_stream_mem smem;
	struct tg_stream_consumer consumers[2];
	struct tg_tcp_ctx tcp;
	struct tg_txbuf tx[TG_MAX_PORTS];
	bool inspecting;		/* a postgres service: inspector allocated */
	const struct tg_policy_gen *gen;	/* the generation the inspector uses */
	struct rte_rcu_qsbr *qsbr;	/* reports quiescent states here, if set */
	struct tg_inspect inspect;
	int events_fd;			/* -1: events are counted only */
	struct tg_control_q *ctl;	/* control channel: events to the slowpath; NULL: none */
	struct tg_worker_tpl {
		uint16_t len;		/* 0: none */
		uint8_t frame[TG_WORKER_TPL];
	} *tpl;				/* by inspector slot: its client SYN (KILL, stream editor) */
	uint64_t edit_next;		/* tsc of the stream editor's next timer check */
	uint64_t login_next;		/* tsc of the next check of logins past their deadline */
	uint64_t hold_next;		/* tsc of the next check of holds past their deadline */
	uint32_t auth_epoch;		/* tg_control_auth_epoch when last looked at */
	struct rte_hash *cancel_keys;	/* shared by the workers (cancelkeys.h), NULL: none */
	const void *tcpg_seen;		/* the tcp grant table last swept for (compared only) */
	uint64_t tcpg_next;		/* tsc of the next sweep for expiries */
	uint32_t nb_grant_flows;	/* flows admitted on a grant, live */
	uint64_t gflow_next;		/* the last number given to such a flow */
	char event_line[8192];

	struct {
		struct tg_port_counters port[TG_MAX_PORTS];
		uint64_t parse[TG_PKT_ERR_MAX];
		uint64_t non_ip, frag, nonlinear, polls, idle_polls, sleeps, sleep_us;
		uint64_t gw[TG_GW_CNT_MAX];
	} cnt __rte_cache_aligned;
};

/*
 * Allocates the worker's flow table and reassembly memory when services are
 * configured (the table is named after the worker id). Returns 0 or -errno.
 */
int tg_worker_init(struct tg_worker *w, const struct tg_services *services,
		   const struct tg_flow_params *fp, struct rte_mempool *pool);
void tg_worker_fini(struct tg_worker *w);

/*
 * Sessions of the worker's inspector are recorded (record.h), limit bytes
 * of rows each, as RECORD events to the slowpath; nothing without a
 * control channel or an inspector.
 */
void tg_worker_record(struct tg_worker *w, uint64_t limit);

/*
 * Allocates the inspector of the postgres services (after tg_worker_init()):
 * nb_sess sessions under policy (NULL: parse and report only), with the
 * parser's limits lim (NULL: the defaults); events are
 * appended as JSON lines to events_fd (-1: counted only). The fd is the
 * caller's. Returns 0 (also when no service is postgres) or -errno.
 */
int tg_worker_inspect_init(struct tg_worker *w, const struct tg_policy *policy,
			   uint32_t nb_sess, const struct tg_pg_limits *lim, int events_fd);

/*
 * Ends the inspection of every session still open (reason shutdown), so
 * their ends are reported; the flows and their held segments stay for
 * tg_worker_fini(). After the loop has returned.
 */
void tg_worker_end_sessions(struct tg_worker *w);

/*
 * The loop, until tg_worker_stop() is called. Runs tick (if set) about every
 * tick_cycles: the dataplane uses it when the main lcore is the only one and
 * must both forward and report. Returns 0; its signature fits
 * rte_eal_remote_launch().
 */
int tg_worker_run(void *worker);

/*
 * Makes gen (NULL: none) the policy generation every worker adopts at the
 * top of its next loop iteration, and returns the one it replaces. The
 * caller frees that only once no worker can still use it: after
 * rte_rcu_qsbr_synchronize() on the workers' QSBR variable, or, with a
 * single lcore running the loop itself, after tg_worker_policy_adopt() on
 * that worker from its own tick.
 */
struct tg_policy_gen *tg_worker_policy_publish(struct tg_policy_gen *gen);

/*
 * Makes t (NULL: none yet) the table of tcp grants workers check new
 * flows against, and returns the one it replaces, to be freed as a
 * policy generation is (after an RCU grace period).
 */
struct tg_tcp_grants *tg_worker_tcp_grants_publish(struct tg_tcp_grants *t);

/* Adopts the published generation now; from the worker's own thread. */
void tg_worker_policy_adopt(struct tg_worker *w);

/* Asks every worker loop to return; safe from a signal handler. */
void tg_worker_stop(void);
bool tg_worker_stopping(void);

/* Relaxed snapshot of a worker's counters into caller-owned storage. */
void tg_worker_counters_read(const struct tg_worker *w, struct tg_worker_counters *out);

/* Adds src into dst, field by field. */
void tg_worker_counters_add(struct tg_worker_counters *dst, const struct tg_worker_counters *src);

/*
 * Handles one received burst as the loop does, then flushes the tx
 * buffers. Exposed for the benchmark harness, which drives it without an
 * rx poll.
 */
void tg_worker_forward(struct tg_worker *w, const struct tg_worker_rxq *q,
		       struct rte_mbuf **pkts, uint16_t n);

#endif /* TG_WORKER_H */
