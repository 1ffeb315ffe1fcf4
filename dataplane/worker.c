/* SPDX-License-Identifier: MIT */
/*
 * worker.c — the worker loop. See worker.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "control.h"
#include "cancelkeys.h"
#include "craft.h"
#include "csum.h"
#include "edit.h"
#include "wire.h"
#include "punt.h"
#include "tcpgrants.h"
#include "worker.h"

/* Events cross the control channel with the inspector's codes (punt.h). */
_Static_assert(TG_PUNT_DETECT_MAX == (int)TG_DETECT_KIND_MAX, "detector kinds");
_Static_assert(TG_PUNT_END_CLOSED == (int)TG_INSPECT_END_CLOSED &&
		       TG_PUNT_END_RESET == (int)TG_INSPECT_END_RESET &&
		       TG_PUNT_END_FAILED == (int)TG_INSPECT_END_FAILED &&
		       TG_PUNT_END_EXPIRED == (int)TG_INSPECT_END_EXPIRED &&
		       TG_PUNT_END_SHUTDOWN == (int)TG_INSPECT_END_SHUTDOWN,
	       "end reasons");
_Static_assert(TG_INSPECT_TEXT_MAX <= TG_PUNT_TEXT_MAX &&
		       TG_INSPECT_PARAMS_MAX <= TG_PUNT_PARAMS_MAX &&
		       TG_INSPECT_NAME_MAX - 1 <= TG_PUNT_NAME_MAX &&
		       TG_SERVICE_NAME_MAX - 1 <= TG_PUNT_NAME_MAX &&
		       TG_POLICY_ID_MAX - 1 <= TG_PUNT_NAME_MAX,
	       "the wire holds what the inspector reports");

const char *const tg_gw_counter_names[TG_GW_CNT_MAX] = {
#define NAME(e, n, d) [TG_GW_CNT_##e] = n,
	TG_GW_COUNTERS(NAME)
#undef NAME
};

#define GW(w, c) ((w)->cnt.gw[TG_GW_CNT_##c]++)

/* A full tx queue usually drains within a few polls; past that, drop. */
#define TX_RETRIES 4

static volatile bool stopping;

/* The policy generation workers adopt; written by the control thread only. */
static struct tg_policy_gen *published;

struct tg_policy_gen *
tg_worker_policy_publish(struct tg_policy_gen *gen)
{
	return __atomic_exchange_n(&published, gen, __ATOMIC_ACQ_REL);
}

void
tg_worker_policy_adopt(struct tg_worker *w)
{
	const struct tg_policy_gen *g = __atomic_load_n(&published, __ATOMIC_ACQUIRE);

	if (g == w->gen || !w->inspecting)
		return;
	tg_inspect_set_policy(&w->inspect, g != NULL ? g->policy : NULL,
			      g != NULL ? g->scratch[w->id] : NULL);
	w->gen = g;
}

/* The table of tcp grants workers check SYNs against; written by the control thread only. */
static struct tg_tcp_grants *tcpg_published;

struct tg_tcp_grants *
tg_worker_tcp_grants_publish(struct tg_tcp_grants *t)
{
	return __atomic_exchange_n(&tcpg_published, t, __ATOMIC_ACQ_REL);
}

void
tg_worker_stop(void)
{
	stopping = true;
}

bool
tg_worker_stopping(void)
{
	return stopping;
}

int
tg_worker_init(struct tg_worker *w, const struct tg_services *services,
	       const struct tg_flow_params *fp, struct rte_mempool *pool)
{
	const uint32_t timeouts[TG_FLOW_NB_CLASSES] = {
		[TG_FLOW_EMBRYONIC] = fp->timeout_syn,
		[TG_FLOW_ESTABLISHED] = fp->timeout_established,
		[TG_FLOW_CLOSING] = fp->timeout_closing,
		[TG_FLOW_CLOSED] = fp->timeout_closed,
	};
	char name[32];
	int rc;

	w->services = services;
	w->pool = pool;
	w->events_fd = -1;
	w->ctl = NULL;
	if (services == NULL || services->nb == 0)
		return 0;
	snprintf(name, sizeof(name), "tg_flows_%u", w->id);
	rc = tg_flow_table_init(&w->flows, name, fp->max_flows, timeouts,
				(int)rte_lcore_to_socket_id(w->lcore));
	if (rc < 0)
		goto err_flows;
	rc = tg_stream_mem_init(&w->smem, fp->nb_rings, fp->ring_size, fp->held_segments);
	if (rc < 0)
		goto err_stream;
	w->tcp.mem = &w->smem;
	w->tcp.consumer[0] = NULL;
	w->tcp.consumer[1] = NULL;
	w->tracking = true;
	return 0;

err_stream:
	tg_flow_table_free(&w->flows);
err_flows:
	return rc;
}

static struct tg_punt_str
wire_str(const char *s, uint32_t len, uint32_t cap)
{
	if (s == NULL)
		return (struct tg_punt_str){ .p = "", .len = 0 };
	return (struct tg_punt_str){ .p = s, .len = len < cap ? len : cap };
}

#define WIRE_NAME(s) wire_str((s), (s) != NULL ? (uint32_t)strnlen((s), TG_PUNT_NAME_MAX) : 0, \
			      TG_PUNT_NAME_MAX)

/*
 * An event for the slowpath: copied into a slot of the worker's ring
 * (tg_control_emit()); the strings are capped by the inspector already,
 * and again here to the wire's caps.
 */
static uint64_t
to_slowpath(struct tg_worker *w, const struct tg_inspect_event *ev)
{
	struct tg_punt_event pe = {
		.worker = (uint16_t)w->id,
		.service = ev->service,
		.session = ev->session,
		.t_start_ns = ev->t_start_ns,
		.service_name = WIRE_NAME(ev->service_name),
		.client = WIRE_NAME(ev->client),
		.user = WIRE_NAME(ev->user),
		.database = WIRE_NAME(ev->database),
		.application = WIRE_NAME(ev->application),
	};
	unsigned int k;

	switch (ev->type) {
	case TG_INSPECT_EV_STATEMENT_BEGIN:
	case TG_INSPECT_EV_STATEMENT:
		pe.type = ev->type == TG_INSPECT_EV_STATEMENT ? TG_PUNT_EV_STATEMENT
							      : TG_PUNT_EV_STATEMENT_BEGIN;
		pe.stmt = ev->stmt;
		pe.strict = ev->type == TG_INSPECT_EV_STATEMENT_BEGIN &&
			    ev->service < w->services->nb &&
			    w->services->svc[ev->service].durability == TG_DURABILITY_STRICT;
		pe.t_end_ns = ev->t_end_ns;
		pe.kind = ev->kind;
		pe.verdict = ev->verdict;
		pe.result = ev->result;
		pe.text_cut = ev->text_cut || ev->text_len > TG_PUNT_TEXT_MAX;
		for (k = 1; k < TG_DETECT_KIND_MAX; k++)
			pe.masked[k] = ev->masked[k];
		pe.masked_columns = ev->masked_columns;
		pe.rows = ev->rows;
		pe.rule = WIRE_NAME(ev->rule);
		pe.sqlstate = wire_str(ev->sqlstate, (uint32_t)strnlen(ev->sqlstate, 6),
				       TG_PUNT_SQLSTATE_MAX);
		pe.text = wire_str(ev->text, ev->text_len, TG_PUNT_TEXT_MAX);
		pe.params = wire_str(ev->params, ev->params_len, TG_PUNT_PARAMS_MAX);
		break;
	case TG_INSPECT_EV_SESSION_START:
		pe.type = TG_PUNT_EV_SESSION_START;
		pe.server = WIRE_NAME(ev->server);
		break;
	default:
		pe.type = TG_PUNT_EV_SESSION_END;
		pe.t_end_ns = ev->t_end_ns;
		pe.end_reason = ev->end_reason;
		pe.user = pe.database = pe.application = wire_str(NULL, 0, 0);
		break;
	}
	return tg_control_emit(w->ctl, &pe);
}

/* A login message for the slowpath (inspect.h, Logins): into the auth mailbox. */
static int
worker_login(void *arg, const struct tg_inspect_login *l)
{
	struct tg_worker *w = arg;
	struct tg_punt_auth a = {
		.worker = (uint16_t)w->id,
		.session = l->session,
	};

	if (l->type == TG_INSPECT_LOGIN_REQUEST) {
		if (l->token_len > TG_PUNT_AUTH_TOKEN_MAX)
			return -EMSGSIZE;
		a.service = WIRE_NAME(l->service_name);
		a.client = WIRE_NAME(l->client);
		a.server = WIRE_NAME(l->server);
		a.startup = (struct tg_punt_bytes){ l->startup, l->startup_len };
		a.token = (struct tg_punt_bytes){ l->token, l->token_len };
		return tg_control_auth_send(w->ctl, TG_PUNT_T_AUTH_REQUEST, &a);
	}
	if (l->msg_len > TG_PUNT_AUTH_MSG_MAX)
		return -EMSGSIZE;
	a.data = (struct tg_punt_bytes){ l->msg, l->msg_len };
	return tg_control_auth_send(w->ctl, TG_PUNT_T_AUTH_SERVER, &a);
}

/* A statement parked for approval, or given up (inspect.h, Holds): into the auth mailbox. */
static int
worker_hold(void *arg, const struct tg_inspect_hold *h)
{
	struct tg_worker *w = arg;
	struct tg_punt_hold p = {
		.worker = (uint16_t)w->id,
		.session = h->session,
		.hold = h->hold,
		.op = h->op,
	};

	if (h->op == TG_INSPECT_HOLD_CANCEL) {
		p.reason = WIRE_NAME(h->reason);
		return tg_control_hold_send(w->ctl, &p);
	}
	p.kind = h->kind;
	p.quorum = h->quorum;
	p.self_approval = h->self_approval;
	p.timeout_s = h->timeout_s;
	p.t_ns = h->t_ns;
	p.service = WIRE_NAME(h->service_name);
	p.rule = WIRE_NAME(h->rule);
	p.approvers = WIRE_NAME(h->approvers);
	p.client = WIRE_NAME(h->client);
	p.server = WIRE_NAME(h->server);
	p.user = WIRE_NAME(h->user);
	p.database = WIRE_NAME(h->database);
	p.text = (struct tg_punt_str){ h->text, h->text_len };
	p.params = (struct tg_punt_str){ h->params, h->params_len };
	return tg_control_hold_send(w->ctl, &p);
}

/*
 * A piece of a session's recording (record.h) as a RECORD event, while
 * the slowpath takes them. Statement events come first: a piece takes a
 * slot only while half the worker's ring is free, so a burst of rows never
 * costs a statement its event; a piece refused is a hole the slowpath
 * sees in the numbering.
 */
static bool
worker_record(void *arg, uint64_t session, uint16_t service, uint32_t piece, const uint8_t *data,
	      uint16_t len)
{
	struct tg_worker *w = arg;
	struct tg_punt_event pe = {
		.type = TG_PUNT_EV_RECORD,
		.worker = (uint16_t)w->id,
		.service = service,
		.session = session,
		.piece = piece,
		.rec = data,
		.rec_len = len,
	};

	if (!__atomic_load_n(&tg_control_record, __ATOMIC_RELAXED) ||
	    rte_ring_count(w->ctl->free) < TG_CONTROL_RING / 2)
		return false;
	return tg_control_emit(w->ctl, &pe) != 0;
}

void
tg_worker_record(struct tg_worker *w, uint64_t limit)
{
	_Static_assert(TG_RECORD_PIECE == TG_PUNT_RECORD_MAX, "a piece is one RECORD event");
	if (w->ctl == NULL || w->inspect.sess == NULL)
		return;
	w->inspect.record = worker_record;
	w->inspect.record_limit = limit;
	w->inspect.record_on = &tg_control_record;
}

/* A statement decided: its STATEMENT_BEGIN event; the ticket gates a strict one. */
static uint64_t
worker_begin(void *arg, const struct tg_inspect_event *ev)
{
	struct tg_worker *w = arg;

	return to_slowpath(w, ev);
}

static inline void tx(struct tg_worker *w, uint16_t port, uint16_t queue, struct rte_mbuf *m);
static void edit_egress(struct tg_worker *w, struct tg_flow *f, int d, struct rte_mbuf *m,
			unsigned int *force);
static void edit_flush(struct tg_worker *w, struct tg_flow *f, unsigned int force);

/*
 * A strict statement's record is durable, or a login's held
 * AuthenticationOk may go: send what the session's streams now release.
 */
static void
worker_ungate(void *arg, struct tg_stream st[2])
{
	struct tg_worker *w = arg;
	struct tg_flow *f = container_of(st, struct tg_flow, stream[0]);
	void *out[TG_BURST];
	unsigned int n, i, force = 0;
	int d;

	for (d = 0; d < 2; d++) {
		const struct tg_worker_rxq *q = &w->rxq[f->rxq[d]];

		do {
			n = tg_stream_release(&w->smem, &f->stream[d], out, RTE_DIM(out));
			for (i = 0; i < n; i++) {
				if (w->inspect.nb_editing != 0)
					edit_egress(w, f, d, out[i], &force);
				else
					tx(w, q->peer, q->peer_queue, out[i]);
			}
		} while (n == RTE_DIM(out));
	}
	if (w->inspect.nb_editing != 0)
		edit_flush(w, f, force);
}

/* A session's start or end: for the slowpath only (the events file has statements). */
static void
worker_session_event(void *arg, const struct tg_inspect_event *ev)
{
	struct tg_worker *w = arg;

	if (w->ctl != NULL)
		to_slowpath(w, ev);
}

/*
 * One statement event: to the slowpath when the channel is configured,
 * and, independently, a JSON line to the events file, written whole with
 * one write() (O_APPEND).
 */
static void
worker_event(void *arg, const struct tg_inspect_event *ev)
{
	struct tg_worker *w = arg;
	size_t n;

	if (w->ctl != NULL)
		to_slowpath(w, ev);
	if (w->events_fd < 0)
		return;
	n = tg_inspect_event_json(ev, w->event_line, sizeof(w->event_line));
	if (n == 0 || write(w->events_fd, w->event_line, n) != (ssize_t)n)
		GW(w, EVENT_LOST);
}

static int
worker_key_add(void *arg, const char *server, uint32_t pid, uint32_t key)
{
	return tg_cancel_keys_add(((struct tg_worker *)arg)->cancel_keys, server, pid, key);
}

static void
worker_key_del(void *arg, const char *server, uint32_t pid, uint32_t key)
{
	tg_cancel_keys_del(((struct tg_worker *)arg)->cancel_keys, server, pid, key);
}

static bool
worker_key_known(void *arg, const char *server, uint32_t pid, uint32_t key)
{
	return tg_cancel_keys_known(((struct tg_worker *)arg)->cancel_keys, server, pid, key);
}

int
tg_worker_inspect_init(struct tg_worker *w, const struct tg_policy *policy, uint32_t nb_sess,
		       const struct tg_pg_limits *lim, int events_fd)
{
	unsigned int i;
	int rc;

	w->events_fd = events_fd;
	if (!w->tracking)
		return 0;
	for (i = 0; i < w->services->nb; i++)
		if (w->services->svc[i].proto == TG_SERVICE_POSTGRES)
			break;
	if (i == w->services->nb)
		return 0;
	rc = tg_inspect_init_limits(&w->inspect, &w->smem, policy, nb_sess, lim, worker_event, w);
	if (rc < 0)
		return rc;
	w->inspect.svcs = w->services;
	w->inspect.session_event = worker_session_event;
	if (w->ctl != NULL) {
		w->inspect.begin = worker_begin;
		w->inspect.durable = &w->ctl->durable;
		w->inspect.audit_full = &tg_control_audit_full; /* AU-5(4), control.h */
		w->inspect.login = worker_login;
		w->inspect.hold = worker_hold;
	}
	/* each session's client SYN: what KILL's RSTs and the stream editor's segments are built on */
	w->tpl = rte_zmalloc_socket("tg_worker_tpl", sizeof(*w->tpl) * nb_sess, RTE_CACHE_LINE_SIZE,
				    (int)rte_lcore_to_socket_id(w->lcore));
	if (w->tpl == NULL) {
		tg_inspect_fini(&w->inspect);
		return -ENOMEM;
	}
	w->inspect.editor = true;
	if (w->cancel_keys != NULL) {
		w->inspect.key_add = worker_key_add;
		w->inspect.key_del = worker_key_del;
		w->inspect.key_known = worker_key_known;
	}
	w->tcp.consumer[0] = &w->inspect.consumer[0];
	w->tcp.consumer[1] = &w->inspect.consumer[1];
	w->inspecting = true;
	return 0;
}

static void grant_flow_end(struct tg_worker *w, struct tg_flow *f, uint8_t reason);

/* Frees every packet a flow holds, in both directions. */
static void
release_flow(void *arg, struct tg_flow *f)
{
	struct tg_worker *w = arg;
	void *pkts[TG_STREAM_HELD_MAX];
	unsigned int d, n, i;

	/* an end not said otherwise before: the flow timed out or was evicted */
	if (unlikely(f->grant != 0))
		grant_flow_end(w, f, f->grant_end ? TG_PUNT_END_GRANT_ENDED : TG_PUNT_END_EXPIRED);
	if (w->inspecting)
		tg_inspect_end(&w->inspect, f->stream, TG_INSPECT_END_EXPIRED);
	for (d = 0; d < 2; d++) {
		if (!f->side[d].syn)
			continue;
		do {
			n = tg_stream_drop_all(&w->smem, &f->stream[d], pkts, RTE_DIM(pkts));
			for (i = 0; i < n; i++)
				rte_pktmbuf_free(pkts[i]);
		} while (n == RTE_DIM(pkts));
	}
}

void
tg_worker_end_sessions(struct tg_worker *w)
{
	uint32_t i;

	for (i = 0; w->tracking && w->nb_grant_flows != 0 && i < w->flows.max_flows; i++)
		if (w->flows.flows[i].in_use && w->flows.flows[i].grant != 0)
			grant_flow_end(w, &w->flows.flows[i], TG_PUNT_END_SHUTDOWN);
	if (!w->inspecting)
		return;
	for (i = 0; i < w->flows.max_flows; i++)
		if (w->flows.flows[i].in_use)
			tg_inspect_end(&w->inspect, w->flows.flows[i].stream,
				       TG_INSPECT_END_SHUTDOWN);
}

void
tg_worker_fini(struct tg_worker *w)
{
	uint32_t i;

	if (!w->tracking)
		return;
	tg_worker_end_sessions(w);
	for (i = 0; i < w->flows.max_flows; i++)
		if (w->flows.flows[i].in_use)
			release_flow(w, &w->flows.flows[i]);
	if (w->inspecting)
		tg_inspect_fini(&w->inspect);
	w->inspecting = false;
	rte_free(w->tpl);
	w->tpl = NULL;
	tg_stream_mem_free(&w->smem);
	tg_flow_table_free(&w->flows);
	w->tracking = false;
}

static void
tx_flush(struct tg_worker *w, uint16_t port)
{
	struct tg_txbuf *b = &w->tx[port];
	struct tg_port_counters *c = &w->cnt.port[port];
	uint16_t sent = 0, i;
	int tries = 0;

	if (b->n == 0)
		return;
	do
		sent += rte_eth_tx_burst(port, b->queue, b->pkts + sent, b->n - sent);
	while (sent < b->n && ++tries < TX_RETRIES);
	for (i = 0; i < sent; i++)
		c->tx_bytes += b->pkts[i]->pkt_len;
	c->tx_pkts += sent;
	if (unlikely(sent < b->n)) {
		for (i = sent; i < b->n; i++)
			rte_pktmbuf_free(b->pkts[i]);
		c->tx_drop += b->n - sent;
	}
	b->n = 0;
}

static inline void
tx(struct tg_worker *w, uint16_t port, uint16_t queue, struct rte_mbuf *m)
{
	struct tg_txbuf *b = &w->tx[port];

	b->queue = queue;
	b->pkts[b->n++] = m;
	if (b->n == TG_TXBUF)
		tx_flush(w, port);
}

static void
send_rst(struct tg_worker *w, const struct tg_worker_rxq *q, const uint8_t *frame,
	 const struct tg_pkt *p, bool back, uint32_t seq, bool ack_valid, uint32_t ack)
{
	struct rte_mbuf *m = tg_craft_rst(w->pool, frame, p, back, seq, ack_valid, ack);

	if (m == NULL) {
		GW(w, ALLOC_FAIL);
		return;
	}
	GW(w, RST_SENT);
	if (back)
		tx(w, q->port, q->queue, m);
	else
		tx(w, q->peer, q->peer_queue, m);
}

/*
 * A segment of a protected service with no session: the session's identity
 * can never be established, so both ends are told to give up (RFC 9293
 * 3.10.7.1 values: the sender gets its own ACK as our SEQ).
 */
static void
refuse_midstream(struct tg_worker *w, const struct tg_worker_rxq *q, const uint8_t *frame,
		 const struct tg_pkt *p)
{
	uint32_t seg_len = p->payload_len + !!(p->tcp_flags & TG_TCP_SYN) +
			   !!(p->tcp_flags & TG_TCP_FIN);

	GW(w, MIDSTREAM);
	if (p->tcp_flags & TG_TCP_RST)
		return;
	send_rst(w, q, frame, p, false, p->tcp_seq, false, 0);
	if (p->tcp_flags & TG_TCP_ACK)
		send_rst(w, q, frame, p, true, p->tcp_ack, true, p->tcp_seq + seg_len);
	else
		send_rst(w, q, frame, p, true, 0, true, p->tcp_seq + seg_len);
}

/*
 * Exception policy drop-flow: RST to both ends at the point each receiver
 * has reached (what the gateway released to it), then forget the session.
 */
static void
reset_flow(struct tg_worker *w, const struct tg_worker_rxq *q, uint32_t idx, int dir,
	   const uint8_t *frame, const struct tg_pkt *p)
{
	struct tg_flow *f = &w->flows.flows[idx];
	const struct tg_stream *me = &f->stream[dir], *other = &f->stream[!dir];
	const struct tg_edit *em = NULL, *eo = NULL;
	uint32_t my_seq, other_seq;

	if (w->inspecting) {
		em = tg_inspect_edit(&w->inspect, f->stream, dir);
		eo = tg_inspect_edit(&w->inspect, f->stream, !dir);
	}
	/* each receiver gets a SEQ in its own space, the sender an ACK in its */
	my_seq = me->isn1 + (uint32_t)(em != NULL ? tg_edit_map(em, me->released) : me->released);
	other_seq = other->isn1 +
		    (uint32_t)(eo != NULL ? tg_edit_map(eo, other->released) : other->released);
	send_rst(w, q, frame, p, false, my_seq, false, 0);
	send_rst(w, q, frame, p, true, other_seq, true, me->isn1 + (uint32_t)me->released);
	if (w->inspecting)
		tg_inspect_end(&w->inspect, f->stream, TG_INSPECT_END_FAILED);
	if (unlikely(f->grant != 0))
		grant_flow_end(w, f, TG_PUNT_END_FAILED);
	tg_flow_delete(&w->flows, idx, release_flow, w);
}

/* "addr:port" ("[addr]:port" for IPv6) of the source (dst false) or destination of a frame. */
static void
endpoint(char *out, size_t size, const uint8_t *frame, const struct tg_pkt *p, bool dst)
{
	char addr[INET6_ADDRSTRLEN];
	size_t at = p->ip_ver == 4 ? (dst ? 16 : 12) : (dst ? 24 : 8);

	if (inet_ntop(p->ip_ver == 4 ? AF_INET : AF_INET6, frame + p->l3_off + at, addr,
		      sizeof(addr)) == NULL)
		addr[0] = '\0';
	snprintf(out, size, p->ip_ver == 4 ? "%s:%u" : "[%s]:%u", addr,
		 (unsigned int)(dst ? p->dport : p->sport));
}

/* ---------------------------------------------------------------------
 * The stream editor on the wire (edit.h): the inspector decides what is
 * consumed and injected; here every packet of an edited direction is
 * mapped, cut and completed. Only sessions the editor touched pay for it.
 * ------------------------------------------------------------------- */

#define EDIT_PIECES 16

static inline uint32_t
seq_at(const struct tg_stream *s, uint64_t off)
{
	return s->isn1 + (uint32_t)off;
}

/*
 * A clock in nanoseconds: CLOCK_MONOTONIC is the inspector's for login
 * deadlines, CLOCK_REALTIME the audit's and the grants' expiries'.
 */
static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t
now_ns_tsc(void)
{
	static uint64_t per_us;

	if (per_us == 0)
		per_us = rte_get_tsc_hz() / 1000000 ? rte_get_tsc_hz() / 1000000 : 1;
	return rte_rdtsc() / per_us * 1000;
}

/* The ACK owed to the sender of direction d (o-offset): its receiver's, mapped. */
static uint64_t
sender_ack(const struct tg_flow *f, const struct tg_edit *e, int d)
{
	const struct tg_stream *s = &f->stream[d];
	uint64_t o = s->base, u;

	if (e != NULL) {
		u = tg_edit_unmap_ack(e, e->tack);
		if (u > s->released)
			u = s->released;
		if (u > o)
			o = u;
	}
	return o;
}

/*
 * The sender of direction d's next byte as its receiver numbers it
 * (t-offset): injections not sent yet are not counted, or a pure ACK
 * would run ahead of what the receiver has.
 */
static uint64_t
sender_next(const struct tg_flow *f, const struct tg_edit *e, int d)
{
	uint64_t r = f->stream[d].released + (f->stream[d].fin_released ? 1 : 0), t;
	unsigned int i;

	if (e == NULL)
		return r;
	t = tg_edit_map(e, r);
	for (i = 0; i < e->n && e->pt[i].off <= r; i++)
		if (e->pt[i].inject != 0 && !e->pt[i].sent)
			t -= e->pt[i].inject;
	return t;
}

/* The session's client SYN, parsed: what the gateway's own segments are built on. */
static const uint8_t *
edit_tpl(const struct tg_worker *w, const struct tg_flow *f, struct tg_pkt *tp)
{
	const struct tg_worker_tpl *t;

	if (w->tpl == NULL || f->stream[0].app == 0 || f->stream[0].app > w->inspect.nb_sess)
		return NULL;
	t = &w->tpl[f->stream[0].app - 1];
	if (t->len == 0 || tg_pkt_parse(t->frame, t->len, tp) != TG_PKT_OK)
		return NULL;
	return t->frame;
}

/* Sends m towards the receiver of direction d (d 0: the server's side). */
static void
edit_tx(struct tg_worker *w, const struct tg_flow *f, int d, struct rte_mbuf *m)
{
	const struct tg_worker_rxq *q = &w->rxq[f->rxq[0] < w->nb_rxq ? f->rxq[0] : 0];

	if (d == 0)
		tx(w, q->peer, q->peer_queue, m);
	else
		tx(w, q->port, q->queue, m);
}

/*
 * A segment the gateway sends in direction d as that direction's sender:
 * SEQ at t-offset t, ACK what the other direction's sender is owed, the
 * sender's last window and timestamps, so nothing tells it from one of
 * the sender's own.
 */
static bool
edit_send(struct tg_worker *w, struct tg_flow *f, int d, uint64_t t, uint8_t flags,
	  const uint8_t *bytes, uint16_t len)
{
	struct tg_edit *back = tg_inspect_edit(&w->inspect, f->stream, !d);
	struct tg_craft_tcp h;
	const uint8_t *tpl;
	struct rte_mbuf *m;
	struct tg_pkt tp;
	uint64_t a = sender_ack(f, back, !d);

	tpl = edit_tpl(w, f, &tp);
	if (tpl == NULL)
		return false;
	h = (struct tg_craft_tcp){
		.seq = seq_at(&f->stream[d], t),
		.ack = seq_at(&f->stream[!d], a),
		.win = f->side[d].win,
		.flags = flags,
		.ts = f->side[0].ts && f->side[1].ts,
		.tsval = f->side[d].tsval,
		.tsecr = f->side[!d].tsval,
	};
	/* the template is the client's SYN: direction 1 goes back to the client */
	m = tg_craft_seg(w->pool, tpl, &tp, d == 1, &h, bytes, len);
	if (m == NULL) {
		GW(w, ALLOC_FAIL);
		return false;
	}
	if (back != NULL && a > back->told)
		back->told = a;
	edit_tx(w, f, d, m);
	return true;
}

/*
 * Injected bytes of a piece, in segments of at most the receiver's MSS.
 * A first transmission waits while the receiver's window cannot take it
 * (unless nothing of the direction is in flight before it).
 */
static bool
edit_inject(struct tg_worker *w, struct tg_flow *f, int d, struct tg_edit *e,
	    const struct tg_edit_piece *pc, bool retrans)
{
	const uint8_t *b = tg_edit_bytes(e, pc);
	uint32_t mss = f->side[!d].mss ? f->side[!d].mss : 536, k, n;

	if (!retrans && pc->t + pc->len > e->tack + e->rwnd && e->tack < pc->t)
		return false;
	for (k = 0; k < pc->len; k += n) {
		n = pc->len - k < mss ? pc->len - k : mss;
		if (!edit_send(w, f, d, pc->t + k, TG_TCP_ACK | TG_TCP_PSH, b + k, (uint16_t)n))
			return false;
		if (retrans)
			GW(w, EDIT_RETRANS);
		else
			GW(w, EDIT_INJECTED);
	}
	return true;
}

/*
 * What the editor owes after a packet of the flow: injections whose place
 * has been released, an ACK to a sender whose consumed bytes are now
 * covered (or, with force, one again: it retransmitted consumed bytes),
 * pruning, and the retransmission timer.
 */
static void
edit_flush(struct tg_worker *w, struct tg_flow *f, unsigned int force)
{
	struct tg_edit_piece pcs[EDIT_PIECES];
	unsigned int i, n;
	uint64_t o, now = 0;
	int d;

	/* injections first: they carry the ACKs a pure ACK would */
	for (d = 0; d < 2; d++) {
		struct tg_edit *e = tg_inspect_edit(&w->inspect, f->stream, d);

		if (e == NULL)
			continue;
		n = tg_edit_due(e, f->stream[d].released, pcs, EDIT_PIECES);
		for (i = 0; i < n; i++)
			if (edit_inject(w, f, d, e, &pcs[i], false))
				tg_edit_mark_sent(e, pcs[i].pt);
	}
	for (d = 0; d < 2; d++) {
		struct tg_edit *e = tg_inspect_edit(&w->inspect, f->stream, d);
		struct tg_edit *back;

		if (e == NULL)
			continue;
		o = sender_ack(f, e, d);
		if (o > e->told || (force & (1u << d))) {
			/* as the receiver of d, i.e. the sender of the other direction */
			back = tg_inspect_edit(&w->inspect, f->stream, !d);
			if (edit_send(w, f, !d, sender_next(f, back, !d), TG_TCP_ACK, NULL, 0))
				GW(w, EDIT_ACKS);
		}
		tg_edit_prune(e, e->told);
		if (now == 0)
			now = now_ns_tsc();
		tg_edit_rto_arm(e, now);
	}
}

/*
 * A packet of the other direction carries the receiver's ACK and window
 * for the edited direction !d: both are mapped back to the sender's
 * space, in the frame (checksum patched) and in p, before TCP tracking
 * sees them. Returns true for a packet the gateway keeps (counted).
 */
static bool
edit_ingress(struct tg_worker *w, struct tg_flow *f, int d, uint8_t *frame, struct tg_pkt *p)
{
	struct tg_edit *e = tg_inspect_edit(&w->inspect, f->stream, !d);
	struct tg_stream *s = &f->stream[!d];
	uint8_t *th = frame + p->l4_off;
	unsigned int shift = f->wscale_ok ? f->side[d].wscale : 0;
	uint64_t o, owin, nw, tack, told;
	uint32_t ack;
	int64_t a;
	uint16_t c;

	if (e == NULL || !(p->tcp_flags & TG_TCP_ACK) || (p->tcp_flags & (TG_TCP_SYN | TG_TCP_RST)))
		return false;
	a = (int64_t)e->tack + (int32_t)(p->tcp_ack - seq_at(s, e->tack));
	tack = e->tack;
	told = e->told;
	o = tg_edit_ack(e, a < 0 ? 0 : (uint64_t)a, (uint64_t)p->tcp_win << shift, &owin);
	if (o > s->released + (s->fin_released ? 1 : 0))
		o = s->released + (s->fin_released ? 1 : 0);
	if (o > e->told)
		e->told = o;
	/*
	 * A pure ACK of injected bytes only is for the gateway: mapped, it
	 * would reach the sender as a duplicate ACK (and count towards a
	 * fast retransmit of nothing).
	 */
	if (p->payload_len == 0 && !(p->tcp_flags & TG_TCP_FIN) && (uint64_t)a > tack && o <= told)
		return true;
	ack = seq_at(s, o);
	nw = owin >> shift;
	if (nw > 0xffff)
		nw = 0xffff;
	c = tg_rd16(th + 16);
	c = tg_csum_adjust(c, tg_rd16(th + 8), (uint16_t)(ack >> 16));
	c = tg_csum_adjust(c, tg_rd16(th + 10), (uint16_t)ack);
	c = tg_csum_adjust(c, tg_rd16(th + 14), (uint16_t)nw);
	tg_wr32(th + 8, ack);
	tg_wr16(th + 14, (uint16_t)nw);
	tg_wr16(th + 16, c);
	p->tcp_ack = ack;
	p->tcp_win = (uint16_t)nw;
	return false;
}

/* Rewrites the SEQ of a frame in place, the checksum patched. */
static void
set_seq(uint8_t *th, uint32_t seq)
{
	uint16_t c = tg_rd16(th + 16);

	c = tg_csum_adjust(c, tg_rd16(th + 4), (uint16_t)(seq >> 16));
	c = tg_csum_adjust(c, tg_rd16(th + 6), (uint16_t)seq);
	tg_wr32(th + 4, seq);
	tg_wr16(th + 16, c);
}

/*
 * A packet leaving in direction d. Unedited: sent as it is. Edited: its
 * SEQ is mapped; a segment with consumed bytes or an injection inside is
 * cut into pieces (kept bytes that meet in t go in one segment; the
 * injection in between is sent at its place). Returns a bit for d in
 * *force when nothing of the segment was kept (a retransmission of
 * consumed bytes: the sender is ACKed again).
 */
static void
edit_egress(struct tg_worker *w, struct tg_flow *f, int d, struct rte_mbuf *m,
	    unsigned int *force)
{
	struct tg_edit *e = tg_inspect_edit(&w->inspect, f->stream, d);
	struct tg_edit_piece pcs[EDIT_PIECES];
	uint8_t buf[RTE_MBUF_DEFAULT_DATAROOM];
	const struct tg_stream *s = &f->stream[d];
	uint8_t *frame, *th, flags;
	unsigned int n, i, j;
	struct tg_pkt p;
	bool kept = false;
	uint64_t skip;
	int64_t o;

	if (e == NULL) {
		edit_tx(w, f, d, m);
		return;
	}
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	if (tg_pkt_parse(frame, rte_pktmbuf_data_len(m), &p) != TG_PKT_OK ||
	    p.l4_proto != IPPROTO_TCP) {
		rte_pktmbuf_free(m);
		return;
	}
	th = frame + p.l4_off;
	flags = th[13];
	o = tg_stream_offset(s, p.tcp_seq);
	if (o < 0)
		o = 0;
	if (p.payload_len == 0) {
		set_seq(th, seq_at(s, tg_edit_map(e, (uint64_t)o)));
		edit_tx(w, f, d, m);
		return;
	}
	/*
	 * Bytes below what the sender was told is ACKed were received or
	 * consumed: they never go again (a point pruned since may no longer
	 * say where they belong). All of them: the sender is ACKed again.
	 */
	skip = e->told > (uint64_t)o ? e->told - (uint64_t)o : 0;
	if (skip > p.payload_len)
		skip = p.payload_len;
	n = tg_edit_pieces(e, (uint64_t)o + skip, p.payload_len - skip, pcs, EDIT_PIECES);
	if (skip == 0 && n == 1 && !pcs[0].inject && pcs[0].off == (uint64_t)o &&
	    pcs[0].len == p.payload_len) {
		set_seq(th, seq_at(s, pcs[0].t));
		edit_tx(w, f, d, m);
		return;
	}
	GW(w, EDIT_CUT);
	for (i = 0; i < n; i = j) {
		uint32_t len = 0;
		struct rte_mbuf *c;
		bool last;

		if (pcs[i].inject) {
			if (edit_inject(w, f, d, e, &pcs[i], false))
				tg_edit_mark_sent(e, pcs[i].pt);
			j = i + 1;
			continue;
		}
		/* kept runs that meet in t: one segment */
		for (j = i; j < n && !pcs[j].inject && pcs[j].t == pcs[i].t + len; j++) {
			memcpy(buf + len, frame + p.payload_off + (pcs[j].off - (uint64_t)o), pcs[j].len);
			len += pcs[j].len;
		}
		last = j == n;
		c = tg_craft_piece(w->pool, frame, &p, seq_at(s, pcs[i].t),
				   (uint8_t)(last ? flags : flags & ~(TG_TCP_FIN | TG_TCP_PSH)), buf,
				   (uint16_t)len);
		if (c == NULL) {
			GW(w, ALLOC_FAIL);
			continue;
		}
		kept = true;
		edit_tx(w, f, d, c);
	}
	if (!kept && (flags & TG_TCP_FIN)) {
		/* everything consumed but the FIN: it goes on alone, at its place */
		struct rte_mbuf *c = tg_craft_piece(
			w->pool, frame, &p, seq_at(s, tg_edit_map(e, (uint64_t)o + p.payload_len)),
			flags, NULL, 0);

		if (c != NULL)
			edit_tx(w, f, d, c);
		kept = true;
	}
	/* a retransmission of bytes all consumed: its sender missed the ACK, send it again */
	if (!kept && (uint64_t)o + p.payload_len <= e->told)
		*force |= 1u << d;
	rte_pktmbuf_free(m);
}

/* Starts inspecting a new postgres session, named by its client's and server's addresses. */
static int
open_inspection(struct tg_worker *w, struct tg_flow *f, uint16_t svc, const uint8_t *frame,
		const struct tg_pkt *p)
{
	char client[INET6_ADDRSTRLEN + 8], server[INET6_ADDRSTRLEN + 8];
	struct tg_worker_tpl *t;
	uint16_t len;
	int rc;

	endpoint(client, sizeof(client), frame, p, false);
	/* session events and cancel keys name the server */
	endpoint(server, sizeof(server), frame, p, true);
	rc = tg_inspect_open_peer(&w->inspect, f->stream, svc, client, server);
	/* the client SYN, kept to reset the session on command: one small copy per session */
	if (rc == 0 && w->tpl != NULL) {
		len = (uint16_t)(p->l4_off + p->l4_len <= TG_WORKER_TPL ? p->l4_off + p->l4_len : 0);
		t = &w->tpl[f->stream[0].app - 1];
		t->len = len;
		if (len != 0)
			memcpy(t->frame, frame, len);
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * TCP grants (tcpgrants.h): the admission of a tcp service's new flows,
 * and the audit events of the flows admitted on a grant.
 * ------------------------------------------------------------------- */

/* A flow event of service svc for the slowpath; client and server "addr:port". */
static void
flow_event(struct tg_worker *w, struct tg_punt_event *pe, uint16_t svc, const char *client,
	   const char *server)
{
	pe->worker = (uint16_t)w->id;
	pe->service = svc;
	pe->service_name = WIRE_NAME(w->services->svc[svc].name);
	pe->client = WIRE_NAME(client);
	pe->server = WIRE_NAME(server);
	tg_control_emit(w->ctl, pe);
}

/*
 * A SYN of tcp service svc: admitted (true; *grant set when on a grant),
 * or refused with a RST to the client and a FLOW_REFUSED event. Before
 * any table the service's need is unknown; while the slowpath is away a
 * service that needs grants follows its on_slowpath_down (allow: the last
 * table decides alone). Costs one atomic load for a service that needs no
 * grant, and a walk of the service's grants for one that does.
 */
static bool
tcp_admit(struct tg_worker *w, const struct tg_worker_rxq *q, const uint8_t *frame,
	  const struct tg_pkt *p, uint16_t svc, uint64_t *grant)
{
	const struct tg_tcp_grants *t = __atomic_load_n(&tcpg_published, __ATOMIC_ACQUIRE);
	bool down_allow = w->services->svc[svc].slowpath_down == TG_SPDOWN_ALLOW;
	struct tg_punt_event pe = { .type = TG_PUNT_EV_FLOW_REFUSED };
	char client[INET6_ADDRSTRLEN + 8], server[INET6_ADDRSTRLEN + 8];
	uint64_t now = 0;

	if (t == NULL) {
		if (down_allow)
			return true;
		GW(w, TCPG_UNKNOWN);
		pe.refusal = TG_PUNT_REFUSAL_UNKNOWN;
	} else if (!t->svc[svc].required) {
		return true;
	} else if (tg_control_refusing() && !down_allow) {
		GW(w, TCPG_DOWN);
		pe.refusal = TG_PUNT_REFUSAL_SLOWPATH_DOWN;
	} else {
		now = clock_ns(CLOCK_REALTIME);
		if (tg_tcp_grants_check(t, svc, p->ip_ver,
					frame + p->l3_off + (p->ip_ver == 4 ? 12 : 8),
					(int64_t)(now / 1000000000u), grant) == TG_TCPG_ADMIT) {
			GW(w, TCPG_ADMITTED);
			return true;
		}
		GW(w, TCPG_NO_GRANT);
		pe.refusal = TG_PUNT_REFUSAL_NO_GRANT;
	}
	send_rst(w, q, frame, p, true, 0, true, p->tcp_seq + 1);
	endpoint(client, sizeof(client), frame, p, false);
	endpoint(server, sizeof(server), frame, p, true);
	pe.t_start_ns = now != 0 ? now : clock_ns(CLOCK_REALTIME);
	flow_event(w, &pe, svc, client, server);
	return false;
}

/* A flow admitted on a grant: numbered, timed, and its FLOW_START. */
static void
grant_flow_start(struct tg_worker *w, struct tg_flow *f, uint64_t grant, const uint8_t *frame,
		 const struct tg_pkt *p)
{
	char client[INET6_ADDRSTRLEN + 8], server[INET6_ADDRSTRLEN + 8];
	struct tg_punt_event pe = { .type = TG_PUNT_EV_FLOW_START };

	f->grant = grant;
	f->gflow = ++w->gflow_next;
	f->t_start_ns = clock_ns(CLOCK_REALTIME);
	w->nb_grant_flows++;
	endpoint(client, sizeof(client), frame, p, false);
	endpoint(server, sizeof(server), frame, p, true);
	pe.session = f->gflow;
	pe.grant = grant;
	pe.t_start_ns = f->t_start_ns;
	flow_event(w, &pe, f->service, client, server);
}

static void
service(struct tg_worker *w, const struct tg_worker_rxq *q, struct rte_mbuf *m, uint8_t *frame,
	const struct tg_pkt *p, uint16_t svc, bool to_server, uint64_t now)
{
	uint64_t grant = 0;
	void *out[TG_BURST];
	struct tg_flow_key key;
	enum tg_tcp_verdict v;
	struct tg_flow *f;
	struct tg_pkt pe = *p;
	bool reversed, syn = (p->tcp_flags & (TG_TCP_SYN | TG_TCP_ACK)) == TG_TCP_SYN;
	uint32_t idx;
	unsigned int n, i, force = 0;
	int dir = to_server ? 0 : 1;

	GW(w, SERVICE);
	tg_flow_key_make(&key, frame, p, &reversed);
	idx = tg_flow_lookup(&w->flows, &key);
	/* a new SYN on a closed session's 4-tuple starts a new session (port reuse) */
	if (idx != TG_FLOW_NONE && syn && to_server && w->flows.flows[idx].state == TG_TCP_CLOSED) {
		tg_flow_delete(&w->flows, idx, release_flow, w);
		idx = TG_FLOW_NONE;
	}
	if (idx == TG_FLOW_NONE) {
		if (!syn || !to_server) {
			refuse_midstream(w, q, frame, p);
			goto drop;
		}
		/* fail closed: no new audited session while its events could not be kept */
		if (unlikely(w->ctl != NULL && tg_control_refusing()) && w->inspecting &&
		    w->services->svc[svc].proto == TG_SERVICE_POSTGRES &&
		    w->services->svc[svc].slowpath_down != TG_SPDOWN_ALLOW) {
			GW(w, SLOWPATH_REFUSED);
			send_rst(w, q, frame, p, true, 0, true, p->tcp_seq + 1);
			goto drop;
		}
		/* a tcp service may admit new flows on a grant only (tcpgrants.h) */
		if (w->ctl != NULL && w->services->svc[svc].proto == TG_SERVICE_TCP &&
		    !tcp_admit(w, q, frame, p, svc, &grant))
			goto drop;
		idx = tg_flow_create(&w->flows, &key, now, release_flow, w);
		if (idx == TG_FLOW_NONE) {
			GW(w, NEW_REFUSED);
			goto drop;
		}
		w->flows.flows[idx].service = svc;
		w->flows.flows[idx].client_key_side = reversed;
		if (grant != 0)
			grant_flow_start(w, &w->flows.flows[idx], grant, frame, p);
		if (w->inspecting && w->services->svc[svc].proto == TG_SERVICE_POSTGRES &&
		    open_inspection(w, &w->flows.flows[idx], svc, frame, p) < 0) {
			/* nothing could watch it: the client is told at once */
			GW(w, INSPECT_REFUSED);
			tg_flow_delete(&w->flows, idx, release_flow, w);
			send_rst(w, q, frame, p, true, 0, true, p->tcp_seq + 1);
			goto drop;
		}
	}
	f = &w->flows.flows[idx];
	f->rxq[dir] = (uint8_t)(q - w->rxq);
	if (unlikely(f->grant != 0)) {
		if (f->grant_end) {
			/* its grant ended (on_grant_expiry end): RST both ways from this segment */
			GW(w, TCPG_ENDED);
			grant_flow_end(w, f, TG_PUNT_END_GRANT_ENDED);
			reset_flow(w, q, idx, dir, frame, p);
			goto drop;
		}
		f->pkts[dir]++;
	}

	if (unlikely(w->inspect.nb_editing != 0) && edit_ingress(w, f, dir, frame, &pe)) {
		GW(w, EDIT_ABSORBED);
		edit_flush(w, f, 0);
		goto drop;
	}
	v = tg_tcp_packet(&w->tcp, f, dir, frame, &pe, m);
	/* what the stream editor's own segments borrow from this side */
	f->side[dir].win = tg_rd16(frame + p->l4_off + 14);
	if (p->tcp_opts & TG_TCP_OPT_TS)
		f->side[dir].tsval = p->tcp_tsval;
	if (unlikely(w->inspecting && tg_inspect_failed(&w->inspect, f->stream))) {
		/*
		 * Failed closed or blocked by reset: RST both ways at what each
		 * side has received; a held frame goes with the flow.
		 */
		GW(w, INSPECT_RESET);
		/* what the gateway answered first (a refused login's FATAL) goes before the RSTs */
		if (w->inspect.nb_editing != 0)
			edit_flush(w, f, 0);
		reset_flow(w, q, idx, dir, frame, p);
		if (v != TG_TCP_HOLD)
			rte_pktmbuf_free(m);
		return;
	}
	switch (v) {
	case TG_TCP_FORWARD:
		if (unlikely(w->inspect.nb_editing != 0))
			edit_egress(w, f, dir, m, &force);
		else
			tx(w, q->peer, q->peer_queue, m);
		break;
	case TG_TCP_HOLD:
		break;
	case TG_TCP_DROP:
		rte_pktmbuf_free(m);
		break;
	case TG_TCP_CLOSE:
		if (unlikely(w->inspect.nb_editing != 0))
			edit_egress(w, f, dir, m, &force);
		else
			tx(w, q->peer, q->peer_queue, m);
		if (w->inspecting)
			tg_inspect_end(&w->inspect, f->stream, TG_INSPECT_END_RESET);
		if (unlikely(f->grant != 0))
			grant_flow_end(w, f, TG_PUNT_END_RESET);
		release_flow(w, f);
		break;
	case TG_TCP_EXCEPTION:
		if (w->services->svc[f->service].exception_policy == TG_EXC_DROP_PACKET) {
			GW(w, EXC_DROP_PACKET);
			rte_pktmbuf_free(m);
		} else {
			/* the RSTs are built from this frame: free it after */
			GW(w, EXC_DROP_FLOW);
			reset_flow(w, q, idx, dir, frame, p);
			rte_pktmbuf_free(m);
			return;
		}
		break;
	}

	do {
		n = tg_stream_release(&w->smem, &f->stream[dir], out, RTE_DIM(out));
		for (i = 0; i < n; i++) {
			if (unlikely(w->inspect.nb_editing != 0))
				edit_egress(w, f, dir, out[i], &force);
			else
				tx(w, q->peer, q->peer_queue, out[i]);
		}
	} while (n == RTE_DIM(out));
	if (unlikely(w->inspect.nb_editing != 0) && f->stream[0].app != 0)
		edit_flush(w, f, force);
	/*
	 * Both FINs acknowledged: every byte was delivered, so inspected; the
	 * session ends now rather than when the closed flow is retired.
	 */
	if (f->state == TG_TCP_CLOSED && f->stream[0].app != 0 && w->inspecting)
		tg_inspect_end(&w->inspect, f->stream, TG_INSPECT_END_CLOSED);
	if (unlikely(f->grant != 0) && f->state == TG_TCP_CLOSED)
		grant_flow_end(w, f, TG_PUNT_END_CLOSED);
	tg_flow_touch(&w->flows, idx, tg_tcp_class(f), now);
	return;
drop:
	rte_pktmbuf_free(m);
}

/* Could this frame concern a protected address at all? */
static bool
protected(const struct tg_worker *w, const uint8_t *frame, const struct tg_pkt *p, bool outside)
{
	struct tg_pkt q = *p;
	uint16_t svc;
	bool ts;

	/* classify on addresses alone: no L4 */
	q.flags &= (uint8_t)~TG_PKT_F_L4;
	q.flags |= TG_PKT_F_FRAG;
	return tg_service_classify(w->services, frame, &q, outside, &svc, &ts) != TG_CLASS_BRIDGE ||
	       tg_service_classify(w->services, frame, &q, !outside, &svc, &ts) != TG_CLASS_BRIDGE;
}

static inline void
handle(struct tg_worker *w, const struct tg_worker_rxq *q, struct rte_mbuf *m, uint64_t now)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	enum tg_pkt_err err;
	struct tg_pkt p;
	uint16_t svc;
	bool to_server;

	if (unlikely(m->nb_segs > 1))
		w->cnt.nonlinear++;
	err = tg_pkt_parse(frame, m->data_len, &p);
	w->cnt.parse[err]++;
	if (err == TG_PKT_OK) {
		if (p.ip_ver == 0)
			w->cnt.non_ip++;
		else if (p.flags & TG_PKT_F_FRAG)
			w->cnt.frag++;
	}
	if (!w->tracking)
		goto bridge;

	if (unlikely(err != TG_PKT_OK)) {
		if (p.ip_ver && protected(w, frame, &p, q->outside)) {
			GW(w, MALFORMED_PROTECTED);
			rte_pktmbuf_free(m);
			return;
		}
		goto bridge;
	}
	switch (tg_service_classify(w->services, frame, &p, q->outside, &svc, &to_server)) {
	case TG_CLASS_SERVICE:
		service(w, q, m, frame, &p, svc, to_server, now);
		return;
	case TG_CLASS_DENY:
		GW(w, DENIED);
		rte_pktmbuf_free(m);
		return;
	case TG_CLASS_FRAG:
		GW(w, FRAG_PROTECTED);
		rte_pktmbuf_free(m);
		return;
	case TG_CLASS_BRIDGE:
		break;
	}
bridge:
	GW(w, BRIDGED);
	tx(w, q->peer, q->peer_queue, m);
}

void
tg_worker_forward(struct tg_worker *w, const struct tg_worker_rxq *q, struct rte_mbuf **pkts,
		  uint16_t n)
{
	struct tg_port_counters *rx = &w->cnt.port[q->port];
	uint64_t now = w->tracking ? rte_rdtsc() : 0;
	uint16_t i, p;

	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		rx->rx_bytes += pkts[i]->pkt_len;
		handle(w, q, pkts[i], now);
	}
	rx->rx_pkts += n;
	for (p = 0; p < TG_MAX_PORTS; p++)
		if (w->tx[p].n)
			tx_flush(w, p);
}

static void
expire(struct tg_worker *w, uint64_t now)
{
	if (w->tracking)
		tg_flow_expire(&w->flows, now, TG_WORKER_EXPIRE_BUDGET, release_flow, w);
}

/* ---------------------------------------------------------------------
 * Commands from the control thread (tgctl sessions, flows): off the
 * per-packet path, between bursts, into the control thread's buffer.
 * ------------------------------------------------------------------- */

static void
cpy(char *dst, const char *src)
{
	snprintf(dst, TG_PUNT_NAME_MAX + 1, "%s", src != NULL ? src : "");
}

/* "addr:port" ("[addr]:port" for IPv6) of side k of a flow's key. */
static void
key_endpoint(char *out, const struct tg_flow_key *k, unsigned int side)
{
	char addr[INET6_ADDRSTRLEN];

	if (inet_ntop(k->family == 4 ? AF_INET : AF_INET6,
		      k->family == 4 ? k->addr[side] + 12 : k->addr[side], addr,
		      sizeof(addr)) == NULL)
		addr[0] = '\0';
	snprintf(out, TG_PUNT_NAME_MAX + 1, k->family == 4 ? "%s:%u" : "[%s]:%u", addr,
		 (unsigned int)k->port[side]);
}

/* An entry for flow idx; its session's fields when it has one (info not NULL). */
static void
fill_entry(const struct tg_worker *w, uint32_t idx, const struct tg_inspect_info *info,
	   struct tg_control_sess *e)
{
	const struct tg_flow *f = &w->flows.flows[idx];
	void *k;

	memset(e, 0, sizeof(*e));
	e->worker = (uint16_t)w->id;
	e->tcp_state = f->state;
	e->bytes[0] = f->stream[0].released;
	e->bytes[1] = f->stream[1].released;
	cpy(e->service, f->service < w->services->nb ? w->services->svc[f->service].name : "");
	if (info != NULL) {
		e->pg = true;
		e->session = info->id;
		e->t_start_ns = info->t_open_ns;
		e->stmts = info->stmts;
		cpy(e->client, info->client);
		cpy(e->server, info->server);
		cpy(e->user, info->user);
		cpy(e->database, info->database);
		cpy(e->application, info->application);
		return;
	}
	/* the key as stored at the flow's position: no lookup */
	if (rte_hash_get_key_with_position(w->flows.hash, (int32_t)idx, &k) == 0) {
		key_endpoint(e->client, k, f->client_key_side);
		key_endpoint(e->server, k, !f->client_key_side);
	}
}

/*
 * The end of a flow admitted on a grant: its FLOW_END (bytes released and
 * segments seen each way, the time), once; the flow forgets its grant.
 */
static void
grant_flow_end(struct tg_worker *w, struct tg_flow *f, uint8_t reason)
{
	char client[TG_PUNT_NAME_MAX + 1] = "", server[TG_PUNT_NAME_MAX + 1] = "";
	struct tg_punt_event pe = {
		.type = TG_PUNT_EV_FLOW_END,
		.session = f->gflow,
		.end_reason = reason,
		.grant = f->grant,
		.t_start_ns = f->t_start_ns,
		.t_end_ns = clock_ns(CLOCK_REALTIME),
		.bytes_up = f->stream[0].released,
		.bytes_down = f->stream[1].released,
		.pkts_up = f->pkts[0],
		.pkts_down = f->pkts[1],
	};
	void *k;

	/* the key as stored at the flow's position: still there until the flow is deleted */
	if (rte_hash_get_key_with_position(w->flows.hash, (int32_t)(f - w->flows.flows), &k) == 0) {
		key_endpoint(client, k, f->client_key_side);
		key_endpoint(server, k, !f->client_key_side);
	}
	f->grant = 0;
	w->nb_grant_flows--;
	flow_event(w, &pe, f->service, client, server);
}

/*
 * A new table of tcp grants, or an expiry passed: flows whose grant no
 * longer holds on a service that ends them are marked, to be reset at
 * their next segment. One pass over the live flows, only while some flow
 * is on a grant.
 */
static void
grant_sweep(struct tg_worker *w)
{
	const struct tg_tcp_grants *t = __atomic_load_n(&tcpg_published, __ATOMIC_ACQUIRE);
	int64_t now = (int64_t)(clock_ns(CLOCK_REALTIME) / 1000000000u);
	bool fresh = t != w->tcpg_seen;
	struct tg_flow *f;
	uint32_t idx;
	unsigned int c;

	w->tcpg_seen = t;
	w->tcpg_next = rte_rdtsc() + rte_get_tsc_hz();
	/* the same table and no expiry reached: nothing can have ended */
	if (t == NULL || (!fresh && t->next_expiry > now))
		return;
	for (c = 0; c < TG_FLOW_NB_CLASSES; c++)
		for (idx = w->flows.lru_head[c]; idx != TG_FLOW_NONE; idx = f->lru_next) {
			f = &w->flows.flows[idx];
			if (f->grant != 0 && !f->grant_end &&
			    tg_tcp_grants_ends_flows(t, f->service) &&
			    !tg_tcp_grants_holds(t, f->service, f->grant, now))
				f->grant_end = 1;
		}
}

static bool
service_match(const struct tg_worker *w, const struct tg_control_cmd *cmd, uint16_t svc)
{
	return cmd->service[0] == '\0' ||
	       (svc < w->services->nb && strcmp(w->services->svc[svc].name, cmd->service) == 0);
}

/* The flow index of the streams of a session: they are inside the flow. */
static uint32_t
flow_of(const struct tg_worker *w, const struct tg_stream *st)
{
	const struct tg_flow *f = (const struct tg_flow *)((const uint8_t *)st -
							   offsetof(struct tg_flow, stream));

	return (uint32_t)(f - w->flows.flows);
}

/*
 * KILL: RSTs both ways at what each side has received, built from the
 * session's client SYN, as for a session failed closed; the session ends
 * failed. Without the SYN (longer than TG_WORKER_TPL), the flow is
 * forgotten and its next segment is refused with RSTs (midstream).
 */
static void
abort_session(struct tg_worker *w, uint32_t idx, uint32_t slot)
{
	struct tg_flow *f = &w->flows.flows[idx];
	const struct tg_worker_tpl *t = &w->tpl[slot];
	struct tg_pkt p;
	unsigned int i;

	if (t->len != 0 && tg_pkt_parse(t->frame, t->len, &p) == TG_PKT_OK &&
	    f->rxq[0] < w->nb_rxq) {
		reset_flow(w, &w->rxq[f->rxq[0]], idx, 0, t->frame, &p);
		for (i = 0; i < TG_MAX_PORTS; i++)
			if (w->tx[i].n)
				tx_flush(w, i);
		return;
	}
	tg_inspect_end(&w->inspect, f->stream, TG_INSPECT_END_FAILED);
	tg_flow_delete(&w->flows, idx, release_flow, w);
}

/*
 * KILL: like a server told to end the session, the client gets a FATAL
 * (57P01) where the stream editor can place one, then RSTs both ways
 * (each after what its receiver was sent, the FATAL included).
 */
static void
kill_session(struct tg_worker *w, uint32_t idx, uint32_t slot)
{
	struct tg_flow *f = &w->flows.flows[idx];

	GW(w, ADMIN_KILL);
	if (tg_inspect_kill_reply(&w->inspect, f->stream) == 0) {
		GW(w, ADMIN_KILL_FATAL);
		edit_flush(w, f, 0);
	}
	abort_session(w, idx, slot);
}

/*
 * The stream editor's timer, for each session it edits: injected bytes
 * unacknowledged past their timeout are sent again (backing off); after
 * TG_EDIT_RTO_TRIES the receiver is taken for gone and the session reset.
 * Injections the receiver's window held back are retried too.
 */
static void
edit_timer(void *arg, struct tg_stream st[2])
{
	struct tg_worker *w = arg;
	struct tg_flow *f = container_of(st, struct tg_flow, stream[0]);
	struct tg_edit_piece pcs[EDIT_PIECES];
	uint64_t now = now_ns_tsc();
	unsigned int i, n;
	bool give_up;
	int d;

	for (d = 0; d < 2; d++) {
		struct tg_edit *e = tg_inspect_edit(&w->inspect, st, d);

		if (e == NULL || !tg_edit_rto_due(e, now, &give_up))
			continue;
		if (give_up) {
			GW(w, EDIT_GAVE_UP);
			abort_session(w, flow_of(w, st), st[0].app - 1);
			return;
		}
		n = tg_edit_unacked(e, pcs, EDIT_PIECES);
		for (i = 0; i < n; i++)
			edit_inject(w, f, d, e, &pcs[i], true);
	}
	edit_flush(w, f, 0);
}

static void
command(struct tg_worker *w)
{
	struct tg_control_cmd *cmd = tg_control_cmd_take(w->ctl);
	struct tg_inspect_info info;
	const struct tg_flow *f;
	uint32_t n = 0, idx, slot;
	unsigned int c;

	if (cmd == NULL)
		return;
	if (!w->tracking)
		goto done;
	switch (cmd->kind) {
	case TG_PUNT_SESS_LIST:
	case TG_PUNT_SESS_KILL:
		/* the live inspector sessions: nb_sess slots, not the whole flow table */
		for (slot = 0; w->inspecting && slot < w->inspect.nb_sess && n < cmd->max; slot++) {
			if (!tg_inspect_info(&w->inspect, NULL, slot, &info))
				continue;
			if ((cmd->session != 0 && info.id != cmd->session) ||
			    !service_match(w, cmd, info.svc))
				continue;
			idx = flow_of(w, info.st);
			fill_entry(w, idx, &info, &cmd->ent[n++]);
			if (cmd->kind == TG_PUNT_SESS_KILL) {
				kill_session(w, idx, slot);
				break;
			}
		}
		break;
	case TG_PUNT_SESS_FLOWS:
		/* every live flow is on one LRU list */
		for (c = 0; c < TG_FLOW_NB_CLASSES && n < cmd->max; c++) {
			for (idx = w->flows.lru_head[c]; idx != TG_FLOW_NONE && n < cmd->max;
			     idx = f->lru_next) {
				f = &w->flows.flows[idx];
				if (!service_match(w, cmd, f->service))
					continue;
				if (w->inspecting && tg_inspect_info(&w->inspect, f->stream, 0, &info))
					fill_entry(w, idx, &info, &cmd->ent[n]);
				else
					fill_entry(w, idx, NULL, &cmd->ent[n]);
				if (cmd->session != 0 && cmd->ent[n].session != cmd->session)
					continue;
				n++;
			}
		}
		break;
	}
done:
	tg_control_cmd_done(cmd, n);
}

/* A login refused or a session ended by the slowpath: its FATAL goes, then the RSTs. */
static void
login_reset(void *arg, struct tg_stream st[2])
{
	struct tg_worker *w = arg;
	struct tg_flow *f = container_of(st, struct tg_flow, stream[0]);

	edit_flush(w, f, 0);
	abort_session(w, flow_of(w, st), st[0].app - 1);
}

/* The slowpath's answers about logins (AUTH_REPLY), carried out. */
static void
login_replies(struct tg_worker *w)
{
	struct tg_control_auth *s;
	struct tg_punt_msg m;
	unsigned int k, i;

	for (k = 0; k < TG_CONTROL_AUTH_SLOTS && (s = tg_control_auth_take(w->ctl)) != NULL; k++) {
		struct tg_inspect_login_reply r;
		struct tg_stream *st = NULL;
		struct tg_flow *f;
		int next;

		/* decoded once by the control thread already: this cannot fail */
		if (tg_punt_decode(s->buf, s->len, &m) != TG_PUNT_OK || !w->inspecting ||
		    (m.hdr.type != TG_PUNT_T_AUTH_REPLY && m.hdr.type != TG_PUNT_T_HOLD_REPLY)) {
			tg_control_auth_done(w->ctl, s);
			continue;
		}
		if (m.hdr.type == TG_PUNT_T_HOLD_REPLY) {
			struct tg_inspect_hold_reply hr = {
				.decision = m.u.hold.decision,
				.session = m.u.hold.session,
				.hold = m.u.hold.hold,
				.id = m.u.hold.id.p,
				.id_len = m.u.hold.id.len,
				.sqlstate = m.u.hold.sqlstate.p,
				.text = m.u.hold.reason.p,
				.text_len = m.u.hold.reason.len,
			};

			next = tg_inspect_hold_reply(&w->inspect, &hr, &st);
			tg_control_auth_done(w->ctl, s);
			if (next == TG_INSPECT_LOGIN_RELEASE)
				worker_ungate(w, st);
			else if (next == TG_INSPECT_LOGIN_RESET)
				login_reset(w, st);
			continue;
		}
		r = (struct tg_inspect_login_reply){
			.action = m.u.auth.action,
			.session = m.u.auth.session,
			.data = m.u.auth.data.p,
			.len = m.u.auth.data.len,
			.sqlstate = m.u.auth.sqlstate.p,
			.text = m.u.auth.text.p,
			.text_len = m.u.auth.text.len,
			.role = m.u.auth.role.p,
			.role_len = m.u.auth.role.len,
		};
		next = tg_inspect_login_reply(&w->inspect, &r, &st);
		tg_control_auth_done(w->ctl, s);
		if (next < 0)
			continue;	/* the session ended meanwhile */
		f = container_of(st, struct tg_flow, stream[0]);
		switch (next) {
		case TG_INSPECT_LOGIN_FLUSH:
			edit_flush(w, f, 0);
			break;
		case TG_INSPECT_LOGIN_RELEASE:
			worker_ungate(w, st);
			break;
		default:
			GW(w, LOGIN_RESET);
			login_reset(w, st);
			break;
		}
	}
	for (i = 0; i < TG_MAX_PORTS; i++)
		if (w->tx[i].n)
			tx_flush(w, i);
}

static void
idle_sleep(struct tg_worker *w, uint32_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
	w->cnt.sleeps++;
	w->cnt.sleep_us += us;
}

int
tg_worker_run(void *arg)
{
	struct tg_worker *w = arg;
	struct rte_mbuf *pkts[TG_BURST];
	uint32_t sleep_us = 0, empty = 0;
	uint64_t next_tick = 0;

	/*
	 * The default 50 us timer slack would turn every short back-off sleep
	 * into a long one; the loop asks for what it means.
	 */
	if (w->idle_sleep_max_us)
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	if (w->tick)
		next_tick = rte_rdtsc() + w->tick_cycles;
	if (w->qsbr != NULL)
		rte_rcu_qsbr_thread_online(w->qsbr, w->id);
	if (w->ctl != NULL)
		tg_control_cmd_attach(w->ctl);

	while (!stopping) {
		uint32_t got = 0;
		uint16_t i, n;

		/* between bursts: a new policy generation, then "nothing of the old one held" */
		if (unlikely(__atomic_load_n(&published, __ATOMIC_RELAXED) != w->gen))
			tg_worker_policy_adopt(w);
		if (w->qsbr != NULL)
			rte_rcu_qsbr_quiescent(w->qsbr, w->id);
		/* tcp grants: a new table, or once a second, flows whose grant ended */
		if (unlikely(w->nb_grant_flows != 0) &&
		    (__atomic_load_n(&tcpg_published, __ATOMIC_RELAXED) != w->tcpg_seen ||
		     rte_rdtsc() >= w->tcpg_next))
			grant_sweep(w);
		/* tgctl sessions and flows: rare, one ring count when there is none */
		if (unlikely(w->ctl != NULL && tg_control_cmd_pending(w->ctl)))
			command(w);
		/* the slowpath's answers about logins taken over */
		if (unlikely(w->ctl != NULL && tg_control_auth_pending(w->ctl))) {
			login_replies(w);
			got++;
		}
		if (unlikely(w->inspect.nb_login != 0) && rte_rdtsc() >= w->login_next) {
			uint32_t epoch = __atomic_load_n(&tg_control_auth_epoch, __ATOMIC_RELAXED);
			unsigned int refused;

			w->login_next = rte_rdtsc() + rte_get_tsc_hz() / 10;
			refused = tg_inspect_login_expire(&w->inspect, clock_ns(CLOCK_MONOTONIC),
							  login_reset, w);
			if (epoch != w->auth_epoch) {
				/*
				 * The slowpath was lost: what it was asked will not be
				 * answered. (A login handed over in the 100 ms between a
				 * reconnection and this check is refused too: rare, and
				 * the client is told to try again.)
				 */
				w->auth_epoch = epoch;
				refused += tg_inspect_login_lost(&w->inspect, login_reset, w);
			}
			if (refused != 0)
				for (i = 0; i < TG_MAX_PORTS; i++)
					if (w->tx[i].n)
						tx_flush(w, i);
		} else if (w->inspect.nb_login == 0 && w->inspect.nb_held == 0) {
			w->auth_epoch = __atomic_load_n(&tg_control_auth_epoch, __ATOMIC_RELAXED);
		}
		/* statements parked for approval: past their deadline, or their slowpath lost */
		if (unlikely(w->inspect.nb_held != 0) && rte_rdtsc() >= w->hold_next) {
			uint32_t epoch = __atomic_load_n(&tg_control_auth_epoch, __ATOMIC_RELAXED);

			w->hold_next = rte_rdtsc() + rte_get_tsc_hz() / 10;
			tg_inspect_hold_expire(&w->inspect, clock_ns(CLOCK_MONOTONIC), worker_ungate,
					       w);
			if (epoch != w->auth_epoch && w->inspect.nb_login == 0) {
				w->auth_epoch = epoch;
				tg_inspect_hold_lost(&w->inspect, worker_ungate, w);
			}
			for (i = 0; i < TG_MAX_PORTS; i++)
				if (w->tx[i].n)
					tx_flush(w, i);
		}

		for (i = 0; i < w->nb_rxq; i++) {
			const struct tg_worker_rxq *q = &w->rxq[i];

			n = rte_eth_rx_burst(q->port, q->queue, pkts, TG_BURST);
			if (n == 0)
				continue;
			got += n;
			tg_worker_forward(w, q, pkts, n);
		}
		w->cnt.polls++;
		if (w->tracking)
			expire(w, rte_rdtsc());
		/* the stream editor's retransmissions, checked every millisecond */
		if (unlikely(w->inspect.nb_editing != 0) && rte_rdtsc() >= w->edit_next) {
			w->edit_next = rte_rdtsc() + rte_get_tsc_hz() / 1000;
			tg_inspect_edit_each(&w->inspect, edit_timer, w);
			for (i = 0; i < TG_MAX_PORTS; i++)
				if (w->tx[i].n)
					tx_flush(w, i);
		}
		/* strict statements whose records became durable leave now */
		if (unlikely(w->inspect.nb_gated != 0) &&
		    tg_inspect_ungate(&w->inspect, worker_ungate, w) != 0) {
			for (i = 0; i < TG_MAX_PORTS; i++)
				if (w->tx[i].n)
					tx_flush(w, i);
			got++;
		}

		if (got) {
			empty = 0;
			sleep_us = 0;
		} else {
			w->cnt.idle_polls++;
			if (w->idle_sleep_max_us && ++empty >= TG_WORKER_IDLE_POLLS) {
				sleep_us = sleep_us ? RTE_MIN(sleep_us * 2, w->idle_sleep_max_us) : 1;
				idle_sleep(w, sleep_us);
			}
		}

		if (w->tick && (got == 0 || (w->cnt.polls & 1023) == 0) && rte_rdtsc() >= next_tick) {
			w->tick(w->tick_arg);
			next_tick = rte_rdtsc() + w->tick_cycles;
		}
	}
	if (w->qsbr != NULL)
		rte_rcu_qsbr_thread_offline(w->qsbr, w->id);
	return 0;
}

static void
load_words(uint64_t *dst, const uint64_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void
tg_worker_counters_read(const struct tg_worker *w, struct tg_worker_counters *out)
{
	memset(out, 0, sizeof(*out));
	load_words((uint64_t *)out->port, (const uint64_t *)w->cnt.port,
		   sizeof(out->port) / (sizeof(uint64_t)));
	load_words(out->parse, w->cnt.parse, TG_PKT_ERR_MAX);
	out->non_ip = __atomic_load_n(&w->cnt.non_ip, __ATOMIC_RELAXED);
	out->frag = __atomic_load_n(&w->cnt.frag, __ATOMIC_RELAXED);
	out->nonlinear = __atomic_load_n(&w->cnt.nonlinear, __ATOMIC_RELAXED);
	out->polls = __atomic_load_n(&w->cnt.polls, __ATOMIC_RELAXED);
	out->idle_polls = __atomic_load_n(&w->cnt.idle_polls, __ATOMIC_RELAXED);
	out->sleeps = __atomic_load_n(&w->cnt.sleeps, __ATOMIC_RELAXED);
	out->sleep_us = __atomic_load_n(&w->cnt.sleep_us, __ATOMIC_RELAXED);
	load_words(out->gw, w->cnt.gw, TG_GW_CNT_MAX);
	if (!w->tracking)
		return;
	load_words(out->flow, w->flows.cnt, TG_FLOW_CNT_MAX);
	load_words(out->tcp, w->tcp.cnt, TG_TCP_CNT_MAX);
	load_words(out->stream, w->smem.cnt, TG_STREAM_CNT_MAX);
	out->flows_active = __atomic_load_n(&w->flows.nb_flows, __ATOMIC_RELAXED);
	out->segs_held = w->smem.nb_held - __atomic_load_n(&w->smem.nb_held_free, __ATOMIC_RELAXED);
	out->rings_used = w->smem.nb_rings - __atomic_load_n(&w->smem.nb_ring_free, __ATOMIC_RELAXED);
	if (!w->inspecting)
		return;
	load_words(out->inspect, w->inspect.cnt, TG_INSPECT_CNT_MAX);
	tg_inspect_pg_counters(&w->inspect, &out->pg);
}

void
tg_worker_counters_add(struct tg_worker_counters *dst, const struct tg_worker_counters *src)
{
	const uint64_t *s = (const uint64_t *)src;
	uint64_t *d = (uint64_t *)dst;
	size_t i;

	for (i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		d[i] += s[i];
}
