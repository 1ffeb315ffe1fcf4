/* SPDX-License-Identifier: MIT */
/*
 * control.c — the control channel, dataplane side. See control.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "control.h"
#include "log.h"

RTE_LOG_REGISTER(tg_logtype_control, tg.dataplane.control, INFO);

const char *const tg_control_disconnect_names[TG_CONTROL_DISC_MAX] = {
#define NAME(e, n, d) [TG_CONTROL_DISC_##e] = n,
	TG_CONTROL_DISCONNECTS(NAME)
#undef NAME
};

const char *const tg_control_counter_names[TG_CONTROL_CNT_MAX] = {
#define NAME(e, n, d) [TG_CONTROL_CNT_##e] = n,
	TG_CONTROL_COUNTERS(NAME)
#undef NAME
};

#define CNT(c, name) ((c)->cnt[TG_CONTROL_CNT_##name]++)

/* Slots moved per ring operation */
#define DRAIN_BURST 64
/* Datagrams read, and batches sent, per poll: the rest waits for the next one */
#define RX_PER_POLL 64
#define TX_PER_POLL 64
#define NS_PER_MS 1000000ull
/* after a login message, the control thread waits 1 ms at most for this long */
#define AUTH_BUSY_NS (5000ull * NS_PER_MS)

#define SOFTWARE "tollgate-dataplane " TG_VERSION

uint8_t tg_control_refuse_new;
uint8_t tg_control_audit_full;
uint8_t tg_control_record;
/* Does the slowpath take logins now (up, and both stated TG_PUNT_CAP_AUTH)? Relaxed. */
static uint8_t auth_ok;
/* Does the slowpath decide holds now (up, and both stated TG_PUNT_CAP_HOLD)? Relaxed. */
static uint8_t hold_ok;
uint32_t tg_control_auth_epoch;

/* A snapshot for STATS_REQUEST (control.h): pairs, grown up to TG_CONTROL_STATS_MAX. */
struct tg_control_stat {
	char name[TG_PUNT_NAME_MAX + 1];
	uint64_t value;
};

struct tg_control_stats {
	struct tg_control_stat *v;
	unsigned int n, cap;
	uint64_t dropped;	/* pairs left out: added to stats_dropped once answered */
};

enum state {
	ST_IDLE,	/* no socket: connect at next_try */
	ST_CONNECTING,	/* connect(2) in progress */
	ST_HELLO,	/* HELLO sent, waiting for HELLO_ACK */
	ST_UP,
};

struct tg_control {
	char path[TG_CONTROL_SOCKET_MAX];
	bool required;
	enum state st;
	int fd;
	uint64_t next_try;	/* ns, CLOCK_MONOTONIC */
	uint64_t backoff;	/* ns: the ceiling of the next delay */
	uint64_t deadline;	/* ns: CONNECTING or HELLO gives up */
	bool quiet;		/* a failure to connect was logged: not again until up */
	bool tx_blocked;	/* the last send met a full socket buffer */

	uint64_t instance;
	struct tg_punt_hello hello;	/* what was sent: HELLO_ACK is checked against it */
	uint16_t version;
	uint64_t tx_seq;	/* of the next message sent */
	uint64_t rx_seq;	/* expected of the next message received */
	struct tg_punt_policy_rx prx;

	/* POLICY_ACK or SERVICES waiting for room */
	uint8_t reply[TG_PUNT_HDR_LEN + 2 + TG_PUNT_SERVICES_MAX * (1 + TG_PUNT_NAME_MAX)];
	int reply_len;

	tg_control_policy_fn policy;
	void *policy_arg;
	bool need_policy;
	bool have_policy;	/* a generation from the slowpath applied */
	const char *const *services;
	unsigned int nb_services;
	uint8_t *pobj;		/* the policy object being reassembled, prx.total bytes */

	/*
	 * STATS_REQUESTs to answer, oldest first: the first one's snapshot is
	 * snap (once taken), of which snap_at pairs are sent.
	 */
	tg_control_stats_fn stats;
	void *stats_arg;
	uint64_t sreq[TG_CONTROL_STATS_QUEUE];
	unsigned int sreq_head, sreq_n;
	struct tg_control_stats snap;
	bool snap_taken;
	unsigned int snap_at;

	/*
	 * The SESSIONS_REQUEST being served (sr.active): its workers' commands
	 * are out until each is done or the deadline; then (ready) the answer
	 * is sent from their buffers, worker w entry i next. sbusy: requests
	 * that came meanwhile, answered BUSY.
	 */
	bool sessions;
	struct {
		bool active, ready;
		uint64_t seq;		/* of the request */
		uint64_t deadline;	/* ns */
		uint8_t kind;
		uint64_t session;
		uint32_t limit, sent;
		unsigned int w, i;
	} sr;
	uint64_t sbusy[TG_CONTROL_STATS_QUEUE];
	unsigned int sbusy_n;

	struct tg_evbuf eb;
	unsigned int nb_q;
	struct tg_control_q *q;
	uint8_t *tx, *rx;	/* TG_PUNT_MSG_MAX each */
	bool logins;		/* TG_PUNT_CAP_AUTH stated */
	bool holds;		/* TG_PUNT_CAP_HOLD stated */
	bool peer_audit_state;	/* the slowpath stated TG_PUNT_CAP_AUDIT_STATE: AUDIT_STATE valid */
	tg_control_tcp_grants_fn tcp_grants;	/* NULL: TG_PUNT_CAP_TCP_GRANTS not stated */
	void *tcp_grants_arg;
	const char *const *tcp_services;
	unsigned int nb_tcp_services;
	bool peer_tcp_grants;	/* both stated TG_PUNT_CAP_TCP_GRANTS: TCP_GRANTS valid */
	uint64_t auth_busy_until;	/* ns: a login message went by lately; short waits */

	uint64_t cnt[TG_CONTROL_CNT_MAX];
	uint64_t disc[TG_CONTROL_DISC_MAX];
	uint64_t proto[TG_PUNT_ERR_MAX];
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
set_auth_ok(const struct tg_control *c, uint64_t peer_caps)
{
	__atomic_store_n(&auth_ok,
			 (uint8_t)(c->logins && c->st == ST_UP && (peer_caps & TG_PUNT_CAP_AUTH)),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&hold_ok,
			 (uint8_t)(c->holds && c->st == ST_UP && (peer_caps & TG_PUNT_CAP_HOLD)),
			 __ATOMIC_RELAXED);
}

static void
set_refuse(const struct tg_control *c)
{
	__atomic_store_n(&tg_control_refuse_new,
			 (uint8_t)(c->st != ST_UP || (c->need_policy && !c->have_policy)),
			 __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ queues */

static void
mbox_free(struct tg_control_mbox *b)
{
	rte_ring_free(b->free);
	rte_ring_free(b->full);
	rte_free(b->slots);
}

static int
mbox_init(struct tg_control_mbox *b, const char *tag, unsigned int made, unsigned int w, int numa)
{
	unsigned int flags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
	char name[RTE_RING_NAMESIZE];
	unsigned int i;

	b->slots = rte_zmalloc_socket("tg_ctl_auth", sizeof(*b->slots) * TG_CONTROL_AUTH_SLOTS,
				      RTE_CACHE_LINE_SIZE, numa);
	snprintf(name, sizeof(name), "tg_ctl_%sf_%u_%u", tag, made, w);
	b->free = rte_ring_create(name, TG_CONTROL_AUTH_SLOTS, numa, flags);
	snprintf(name, sizeof(name), "tg_ctl_%sq_%u_%u", tag, made, w);
	b->full = rte_ring_create(name, TG_CONTROL_AUTH_SLOTS, numa, flags);
	if (b->slots == NULL || b->free == NULL || b->full == NULL)
		return -ENOMEM;
	for (i = 0; i < TG_CONTROL_AUTH_SLOTS; i++)
		rte_ring_sp_enqueue(b->free, &b->slots[i]);
	return 0;
}

static void
queue_free(struct tg_control_q *q)
{
	mbox_free(&q->auth_up);
	mbox_free(&q->auth_down);
	rte_ring_free(q->full);
	rte_ring_free(q->free);
	rte_ring_free(q->cmds);
	rte_free(q->cmd.ent);
	rte_free(q->slots);
	memset(q, 0, sizeof(*q));
}

static int
queue_init(struct tg_control_q *q, unsigned int w, int numa)
{
	static unsigned int made;	/* ring names are global to the process */
	char name[RTE_RING_NAMESIZE];
	unsigned int flags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
	unsigned int i;

	q->slots = rte_zmalloc_socket("tg_ctl_slots", sizeof(*q->slots) * TG_CONTROL_RING,
				      RTE_CACHE_LINE_SIZE, numa);
	snprintf(name, sizeof(name), "tg_ctl_full_%u_%u", made, w);
	q->full = rte_ring_create(name, TG_CONTROL_RING, numa, flags);
	snprintf(name, sizeof(name), "tg_ctl_free_%u_%u", made, w);
	q->free = rte_ring_create(name, TG_CONTROL_RING, numa, flags);
	/* one command at a time: a ring of one */
	snprintf(name, sizeof(name), "tg_ctl_cmd_%u_%u", made, w);
	q->cmds = rte_ring_create(name, 1, numa, flags);
	q->cmd.ent = rte_zmalloc_socket("tg_ctl_sess", sizeof(*q->cmd.ent) * TG_CONTROL_SESS_MAX,
					RTE_CACHE_LINE_SIZE, numa);
	if (q->slots == NULL || q->full == NULL || q->free == NULL || q->cmds == NULL ||
	    q->cmd.ent == NULL || mbox_init(&q->auth_up, "au", made, w, numa) < 0 ||
	    mbox_init(&q->auth_down, "ad", made++, w, numa) < 0) {
		queue_free(q);
		return -ENOMEM;
	}
	for (i = 0; i < TG_CONTROL_RING; i++)
		rte_ring_sp_enqueue(q->free, &q->slots[i]);
	return 0;
}

uint64_t
tg_control_emit(struct tg_control_q *q, const struct tg_punt_event *ev)
{
	struct tg_control_slot *s;
	void *p;
	int n;

	if (unlikely(rte_ring_sc_dequeue(q->free, &p) != 0)) {
		__atomic_store_n(&q->drops, q->drops + 1, __ATOMIC_RELAXED);
		return 0;
	}
	s = p;
	n = tg_evbuf_encode(s->buf, sizeof(s->buf), ev);
	/* a refused event still goes back through the full ring: only the control thread frees */
	s->len = n > 0 ? (uint16_t)n : 0;
	if (unlikely(n <= 0))
		q->invalid++;
	rte_ring_sp_enqueue(q->full, s);	/* never full: it holds every slot */
	q->emitted++;
	return n > 0 ? q->emitted : 0;
}

/*
 * Slots 1..drained of worker q are in the buffer, numbered at most seq:
 * once seq is acknowledged, so are they. Merged into the newest entry
 * when the map is full (the worker then learns a little later).
 */
static void
map_push(struct tg_control_q *q, uint64_t seq)
{
	unsigned int i;

	if (q->map_n == TG_CONTROL_MAP) {
		i = (q->map_head + q->map_n - 1) % TG_CONTROL_MAP;
	} else {
		i = (q->map_head + q->map_n++) % TG_CONTROL_MAP;
	}
	q->map[i].seq = seq;
	q->map[i].drained = q->drained;
}

/* Every event up to acked is durable: advance each worker's durable count. */
static void
map_ack(struct tg_control *c, uint64_t acked)
{
	unsigned int w;

	for (w = 0; w < c->nb_q; w++) {
		struct tg_control_q *q = &c->q[w];
		uint64_t d = 0;

		while (q->map_n != 0 && q->map[q->map_head].seq <= acked) {
			d = q->map[q->map_head].drained;
			q->map_head = (q->map_head + 1) % TG_CONTROL_MAP;
			q->map_n--;
		}
		if (d != 0)
			__atomic_store_n(&q->durable, d, __ATOMIC_RELEASE);
	}
}

/* Worker w's refused events not yet reported, as a LOST event; false when the buffer is full. */
static bool
report_lost(struct tg_control *c, unsigned int w)
{
	struct tg_control_q *q = &c->q[w];
	uint64_t drops = __atomic_load_n(&q->drops, __ATOMIC_RELAXED);
	uint8_t buf[TG_EVBUF_ENC_SIZE];
	struct tg_punt_event ev = {
		.type = TG_PUNT_EV_LOST,
		.worker = (uint16_t)w,
		.lost = drops - q->lost_reported,
	};
	struct timespec ts;
	int n;

	if (ev.lost == 0)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.t_end_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	n = tg_evbuf_encode(buf, sizeof(buf), &ev);
	if (n <= 0 || !tg_evbuf_fits(&c->eb, (size_t)n) ||
	    tg_evbuf_push(&c->eb, buf + TG_EVBUF_ENC_OFF, (size_t)n) == 0)
		return false;
	q->lost_reported = drops;
	CNT(c, LOST_REPORTED);
	return true;
}

/*
 * Keeps one slot's event; false when the buffer is full (the slot waits
 * in the stash).
 */
static bool
keep(struct tg_control *c, struct tg_control_q *q, const struct tg_control_slot *s)
{
	if (s->len != 0 && !tg_evbuf_fits(&c->eb, s->len))
		return false;
	if (s->len != 0)
		tg_evbuf_push(&c->eb, s->buf + TG_EVBUF_ENC_OFF, s->len);
	q->drained++;
	return true;
}

/*
 * Every event the workers handed over, into the buffer, and the slots
 * back to them; a full buffer stops at the first event that does not
 * fit, which waits in the worker's stash (backpressure, see control.h).
 */
static void
drain(struct tg_control *c)
{
	unsigned int w, n, i, rounds;

	for (w = 0; w < c->nb_q; w++) {
		struct tg_control_q *q = &c->q[w];
		uint64_t before = q->drained;
		bool full = false;

		for (rounds = 0; rounds < TG_CONTROL_RING / DRAIN_BURST && !full; rounds++) {
			if (q->nb_stash == 0) {
				q->nb_stash = rte_ring_sc_dequeue_burst(q->full, q->stash,
									 DRAIN_BURST, NULL);
				q->stash_at = 0;
			}
			n = q->nb_stash;
			for (i = q->stash_at; i < n; i++)
				if (!keep(c, q, q->stash[i])) {
					full = true;
					break;
				}
			rte_ring_sp_enqueue_burst(q->free, q->stash + q->stash_at, i - q->stash_at,
						  NULL);
			q->stash_at = i;
			if (i == n)
				q->nb_stash = 0;
			if (full || n < DRAIN_BURST)
				break;
		}
		if (q->drained != before)
			map_push(q, c->eb.next_seq - 1);
		if (!full)
			report_lost(c, w);
	}
	/* slots of refused events only: durable as soon as what came before is */
	map_ack(c, c->eb.acked);
}

/* -------------------------------------------------------------- connection */

static const char *
state_name(enum state st)
{
	switch (st) {
	case ST_IDLE: return "idle";
	case ST_CONNECTING: return "connecting";
	case ST_HELLO: return "hello";
	case ST_UP: return "up";
	}
	return "?";
}

/* The next attempt in [backoff/2, backoff], then the back-off doubles up to its cap. */
static void
schedule(struct tg_control *c, uint64_t now)
{
	uint64_t half = c->backoff / 2;

	c->next_try = now + half + rte_rand() % (half + 1);
	c->backoff = RTE_MIN(c->backoff * 2, TG_CONTROL_BACKOFF_MAX_MS * NS_PER_MS);
}

static void
disconnect(struct tg_control *c, enum tg_control_disconnect why, const char *detail)
{
	enum state was = c->st;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = ST_IDLE;
	c->tx_blocked = false;
	c->reply_len = 0;
	c->sreq_n = 0;		/* a new connection asks again */
	c->snap_taken = false;
	c->sbusy_n = 0;
	c->sr.active = false;	/* commands still out stay busy until their workers answer */
	for (unsigned int k = 0; k < c->nb_q; k++)
		c->q[k].cmd_asked = false;
	set_refuse(c);
	set_auth_ok(c, 0);
	__atomic_store_n(&tg_control_record, 0, __ATOMIC_RELAXED);
	/* the slowpath forgets the logins and holds it was running: the workers refuse theirs */
	if ((c->logins || c->holds) && (was == ST_UP || was == ST_HELLO))
		__atomic_add_fetch(&tg_control_auth_epoch, 1, __ATOMIC_RELAXED);
	if (was == ST_IDLE || was == ST_CONNECTING)
		return;
	c->disc[why]++;
	CNT(c, DISCONNECTS);
	TG_LOG(WARNING, tg_logtype_control, "slowpath %s: disconnected in state %s: %s%s%s%s",
	       c->path, state_name(was), tg_control_disconnect_names[why],
	       detail != NULL ? " (" : "", detail != NULL ? detail : "", detail != NULL ? ")" : "");
	if (was == ST_UP && c->required && why != TG_CONTROL_DISC_STOP)
		TG_LOG(WARNING, tg_logtype_control,
		       "new sessions of postgres services refusing them are refused until the "
		       "slowpath is back");
	c->quiet = false;
	schedule(c, now_ns());
}

static void
protocol_error(struct tg_control *c, enum tg_punt_err e)
{
	c->proto[e]++;
	disconnect(c, TG_CONTROL_DISC_PROTOCOL, tg_punt_err_descs[e]);
}

/* Sends one whole datagram: 1 sent, 0 no room now, -1 the connection was ended. */
static int
send_msg(struct tg_control *c, const uint8_t *buf, size_t len)
{
	ssize_t n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n == (ssize_t)len) {
		c->tx_blocked = false;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
		c->tx_blocked = true;
		return 0;
	}
	disconnect(c, TG_CONTROL_DISC_IO, n < 0 ? strerror(errno) : "short send");
	return -1;
}

static void
send_hello(struct tg_control *c, uint64_t now)
{
	int len;

	c->hello = (struct tg_punt_hello){
		.role = TG_PUNT_ROLE_DATAPLANE,
		.vmin = TG_PUNT_VERSION_MIN,
		.vmax = TG_PUNT_VERSION_MAX,
		.instance = c->instance,
		.caps = (c->policy != NULL ? TG_PUNT_CAP_POLICY : 0) |
			(c->stats != NULL ? TG_PUNT_CAP_STATS : 0) |
			(c->sessions ? TG_PUNT_CAP_SESSIONS : 0) |
			(c->logins ? TG_PUNT_CAP_AUTH : 0) | (c->holds ? TG_PUNT_CAP_HOLD : 0) |
			TG_PUNT_CAP_AUDIT_STATE | (c->tcp_grants != NULL ? TG_PUNT_CAP_TCP_GRANTS : 0) |
			TG_PUNT_CAP_RECORD,
		.software = { .p = SOFTWARE, .len = sizeof(SOFTWARE) - 1 },
	};
	c->tx_seq = 1;
	c->rx_seq = 1;
	c->version = 0;
	memset(&c->prx, 0, sizeof(c->prx));
	free(c->pobj);
	c->pobj = NULL;
	c->st = ST_HELLO;
	c->deadline = now + TG_CONTROL_HELLO_TIMEOUT_MS * NS_PER_MS;
	len = tg_punt_encode_hello(c->tx, TG_PUNT_MSG_MAX, c->tx_seq, &c->hello);
	if (len < 0) {
		disconnect(c, TG_CONTROL_DISC_IO, "hello does not encode");
		return;
	}
	/* a fresh socket has room for 60 bytes: no room is an error like any other */
	if (send_msg(c, c->tx, (size_t)len) == 1)
		c->tx_seq++;
	else if (c->fd >= 0)
		disconnect(c, TG_CONTROL_DISC_IO, "no room for the hello");
}

static void
connect_failed(struct tg_control *c, const char *what, int err, uint64_t now)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = ST_IDLE;
	CNT(c, CONNECT_FAIL);
	if (!c->quiet)
		TG_LOG(WARNING, tg_logtype_control,
		       "slowpath %s: %s: %s; retrying every %u ms to %u s%s", c->path, what,
		       strerror(err), TG_CONTROL_BACKOFF_MIN_MS, TG_CONTROL_BACKOFF_MAX_MS / 1000,
		       c->required ? "; new postgres sessions are refused meanwhile" : "");
	c->quiet = true;
	schedule(c, now);
}

static void
start_connect(struct tg_control *c, uint64_t now)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		connect_failed(c, "socket", errno, now);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		send_hello(c, now);
		return;
	}
	if (errno == EINPROGRESS) {
		c->st = ST_CONNECTING;
		c->deadline = now + TG_CONTROL_HELLO_TIMEOUT_MS * NS_PER_MS;
		return;
	}
	connect_failed(c, "connect", errno, now);
}

static void
check_connect(struct tg_control *c, uint64_t now)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int err = 0;

	if (poll(&pfd, 1, 0) == 0) {
		if (now >= c->deadline)
			connect_failed(c, "connect", ETIMEDOUT, now);
		return;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err != 0) {
		connect_failed(c, "connect", err, now);
		return;
	}
	send_hello(c, now);
}

static void reply(struct tg_control *c, int len);

/*
 * TCP grants at the handshake: our tcp services go to a slowpath that
 * pushes grants (its table follows); one that does not leaves no service
 * needing a grant, said to the workers with an empty table.
 */
static void
tcp_grants_up(struct tg_control *c, const struct tg_punt_hello_ack *a)
{
	c->peer_tcp_grants = c->tcp_grants != NULL && (a->caps & TG_PUNT_CAP_TCP_GRANTS);
	if (c->tcp_grants == NULL || c->st != ST_UP)
		return;
	if (!c->peer_tcp_grants) {
		TG_LOG(WARNING, tg_logtype_control,
		       "slowpath %s pushes no tcp grants: no tcp service requires one", c->path);
		c->tcp_grants(c->tcp_grants_arg, NULL);
		return;
	}
	if (c->reply_len != 0) {
		disconnect(c, TG_CONTROL_DISC_BACKLOG, "tcp services");
		return;
	}
	reply(c, tg_punt_encode_tcp_services(c->reply, sizeof(c->reply), c->tx_seq,
					     c->tcp_services, c->nb_tcp_services));
}

/* TCP_GRANTS: a new table for the workers. */
static void
on_tcp_grants(struct tg_control *c, const struct tg_punt_tcp_grants *m)
{
	int rc;

	if (!c->peer_tcp_grants) {
		disconnect(c, TG_CONTROL_DISC_UNEXPECTED, "tcp_grants");
		return;
	}
	rc = c->tcp_grants(c->tcp_grants_arg, m);
	if (rc < 0) {
		TG_LOG(ERR, tg_logtype_control,
		       "slowpath %s: tcp grants %" PRIu64 " not taken, the last table stays: %s",
		       c->path, m->gen, strerror(-rc));
		return;
	}
	CNT(c, TCP_GRANTS);
}

static void
up(struct tg_control *c, const struct tg_punt_hello_ack *a, uint16_t version)
{
	c->st = ST_UP;
	c->version = version;
	c->backoff = TG_CONTROL_BACKOFF_MIN_MS * NS_PER_MS;
	c->quiet = false;
	CNT(c, CONNECTS);
	/* what the last connection left unacknowledged goes again, first */
	tg_evbuf_rewind(&c->eb);
	set_refuse(c);
	set_auth_ok(c, a->caps);
	__atomic_store_n(&tg_control_record, (a->caps & TG_PUNT_CAP_RECORD) != 0, __ATOMIC_RELAXED);
	/*
	 * AU-5(4): a slowpath that says when its store is full sends its state
	 * next, and the last one holds until then; one that never will cannot
	 * leave the statements refused.
	 */
	c->peer_audit_state = (a->caps & TG_PUNT_CAP_AUDIT_STATE) != 0;
	if (!c->peer_audit_state && __atomic_exchange_n(&tg_control_audit_full, 0,
							 __ATOMIC_RELAXED) != 0)
		TG_LOG(WARNING, tg_logtype_control,
		       "slowpath %s does not state its audit store's state: statements run again",
		       c->path);
	if (c->logins && !(a->caps & TG_PUNT_CAP_AUTH))
		TG_LOG(WARNING, tg_logtype_control,
		       "slowpath %s does not take logins: logins of identity services are refused",
		       c->path);
	if (c->holds && !(a->caps & TG_PUNT_CAP_HOLD))
		TG_LOG(WARNING, tg_logtype_control,
		       "slowpath %s does not decide holds: statements of hold rules are denied",
		       c->path);
	TG_LOG(NOTICE, tg_logtype_control,
	       "slowpath %s: connected (protocol %u, instance %016" PRIx64 ", slowpath %.*s); "
	       "%" PRIu64 " event(s) to send", c->path, version, c->instance,
	       (int)a->software.len, a->software.p, tg_evbuf_unsent(&c->eb));
	if (c->policy != NULL && (a->caps & TG_PUNT_CAP_POLICY))
		reply(c, tg_punt_encode_services(c->reply, sizeof(c->reply), c->tx_seq, c->services,
						 c->nb_services));
	else if (c->need_policy)
		TG_LOG(WARNING, tg_logtype_control,
		       "slowpath %s does not push policies: new sessions stay refused", c->path);
	tcp_grants_up(c, a);
}

/* Sends the waiting reply, if any: true when none is left. */
static bool
flush_reply(struct tg_control *c)
{
	int rc;

	if (c->reply_len == 0)
		return true;
	rc = send_msg(c, c->reply, (size_t)c->reply_len);
	if (rc == 1)
		c->reply_len = 0;
	return rc == 1;
}

/* A reply of len bytes is in c->reply, numbered c->tx_seq: takes the number, tries to send it. */
static void
reply(struct tg_control *c, int len)
{
	if (len < 0) {
		disconnect(c, TG_CONTROL_DISC_BACKLOG, "reply does not encode");
		return;
	}
	c->tx_seq++;
	c->reply_len = len;
	flush_reply(c);
}

static void
policy_ack(struct tg_control *c, uint64_t gen, const char *reason)
{
	struct tg_punt_policy_ack a = {
		.gen = gen,
		.status = reason == NULL ? TG_PUNT_POLICY_APPLIED : TG_PUNT_POLICY_REFUSED,
		.reason = { .p = reason, .len = reason != NULL ? (uint32_t)strnlen(reason,
						TG_PUNT_REASON_MAX) : 0 },
	};

	if (c->reply_len != 0) {
		disconnect(c, TG_CONTROL_DISC_BACKLOG, "policy ack");
		return;
	}
	reply(c, tg_punt_encode_policy_ack(c->reply, sizeof(c->reply), c->tx_seq, &a));
}

/*
 * A POLICY_GEN chunk: copied into the object; a whole object is decoded
 * and handed to the policy callback, whose answer goes back.
 */
static void
on_policy(struct tg_control *c, const struct tg_punt_policy_chunk *chunk)
{
	enum tg_punt_err e = tg_punt_policy_rx_add(&c->prx, chunk);
	struct tg_punt_policy p;
	char err[TG_PUNT_REASON_MAX + 1];
	int rc;

	if (e != TG_PUNT_OK) {
		protocol_error(c, e);
		return;
	}
	if (chunk->offset == 0) {
		free(c->pobj);
		c->pobj = malloc(chunk->total);
		if (c->pobj == NULL) {
			disconnect(c, TG_CONTROL_DISC_IO, "no memory for a policy object");
			return;
		}
	}
	memcpy(c->pobj + chunk->offset, chunk->data, chunk->len);
	if (!tg_punt_policy_rx_done(&c->prx))
		return;
	err[0] = '\0';
	if (c->policy == NULL) {
		snprintf(err, sizeof(err), "this dataplane takes no policy from the slowpath");
		rc = -EPERM;
	} else if ((e = tg_punt_policy_decode(c->pobj, c->prx.total, &p)) != TG_PUNT_OK) {
		snprintf(err, sizeof(err), "policy object: %s", tg_punt_err_descs[e]);
		rc = -EINVAL;
	} else {
		rc = c->policy(c->policy_arg, chunk->gen, p.json.p, p.json.len, p.db.p, p.db.len,
			       err, sizeof(err));
		if (rc < 0 && err[0] == '\0')
			snprintf(err, sizeof(err), "%s", strerror(-rc));
	}
	free(c->pobj);
	c->pobj = NULL;
	memset(&c->prx, 0, sizeof(c->prx));
	if (rc < 0) {
		CNT(c, POLICY_REFUSED);
		TG_LOG(WARNING, tg_logtype_control, "slowpath %s: policy generation %" PRIu64
		       " refused, the running one stays: %s", c->path, chunk->gen, err);
		policy_ack(c, chunk->gen, err);
		return;
	}
	CNT(c, POLICY_APPLIED);
	c->have_policy = true;
	set_refuse(c);
	policy_ack(c, chunk->gen, NULL);
}

/* ------------------------------------------------------------------ stats */

int
tg_control_stats_add(struct tg_control_stats *s, const char *name, uint64_t value)
{
	size_t len = strnlen(name, TG_PUNT_NAME_MAX + 1), i;
	struct tg_control_stat *v;

	if (len == 0 || len > TG_PUNT_NAME_MAX)
		goto bad;
	for (i = 0; i < len; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f)
			goto bad;
	if (s->n == s->cap) {
		unsigned int cap = RTE_MIN(s->cap ? 2 * s->cap : 256u, TG_CONTROL_STATS_MAX);

		if (s->cap == cap || (v = realloc(s->v, cap * sizeof(*v))) == NULL) {
			s->dropped++;
			return -ENOSPC;
		}
		s->v = v;
		s->cap = cap;
	}
	memcpy(s->v[s->n].name, name, len + 1);
	s->v[s->n++].value = value;
	return 0;
bad:
	s->dropped++;
	return -EINVAL;
}

int
tg_control_stats_addf(struct tg_control_stats *s, uint64_t value, const char *fmt, ...)
{
	char name[TG_PUNT_NAME_MAX + 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || n > TG_PUNT_NAME_MAX) {
		s->dropped++;
		return -EINVAL;
	}
	return tg_control_stats_add(s, name, value);
}

struct tg_control_stats *
tg_control_stats_create(void)
{
	return calloc(1, sizeof(struct tg_control_stats));
}

void
tg_control_stats_destroy(struct tg_control_stats *s)
{
	if (s == NULL)
		return;
	free(s->v);
	free(s);
}

void
tg_control_stats_reset(struct tg_control_stats *s)
{
	s->n = 0;
	s->dropped = 0;
}

unsigned int
tg_control_stats_count(const struct tg_control_stats *s)
{
	return s->n;
}

const char *
tg_control_stats_get(const struct tg_control_stats *s, unsigned int i, uint64_t *value)
{
	if (i >= s->n)
		return NULL;
	*value = s->v[i].value;
	return s->v[i].name;
}

uint64_t
tg_control_stats_dropped(const struct tg_control_stats *s)
{
	return s->dropped;
}

/* --------------------------------------------------------------- sessions */

static bool flush_pending(struct tg_control *c);

bool
tg_control_cmd_pending(const struct tg_control_q *q)
{
	return rte_ring_count(q->cmds) != 0;
}

struct tg_control_cmd *
tg_control_cmd_take(struct tg_control_q *q)
{
	void *p;

	return rte_ring_sc_dequeue(q->cmds, &p) == 0 ? p : NULL;
}

void
tg_control_cmd_done(struct tg_control_cmd *cmd, uint32_t n)
{
	cmd->n = n;
	__atomic_store_n(&cmd->done, 1, __ATOMIC_RELEASE);
}

void
tg_control_cmd_attach(struct tg_control_q *q)
{
	__atomic_store_n(&q->cmd_live, 1, __ATOMIC_RELEASE);
}

static struct tg_punt_str
pstr(const char *s)
{
	return (struct tg_punt_str){ .p = s, .len = (uint32_t)strnlen(s, TG_PUNT_NAME_MAX) };
}

static void
to_punt_sess(const struct tg_control_sess *e, struct tg_punt_sess *o)
{
	memset(o, 0, sizeof(*o));
	o->pg = e->pg && e->session != 0;
	o->worker = e->worker;
	o->tcp_state = e->tcp_state < TG_PUNT_TCP_MAX ? e->tcp_state : TG_PUNT_TCP_NONE;
	o->t_start_ns = e->t_start_ns;
	o->bytes_up = e->bytes[0];
	o->bytes_down = e->bytes[1];
	o->service = pstr(e->service);
	o->client = pstr(e->client);
	o->server = pstr(e->server);
	o->user = o->database = o->application = pstr("");
	if (o->pg) {
		o->session = e->session;
		o->stmts = e->stmts;
		o->user = pstr(e->user);
		o->database = pstr(e->database);
		o->application = pstr(e->application);
	}
}

/*
 * Sends the BUSY answers, then the answer of the request served once it
 * is ready, in SESSIONS_RESPONSEs as full as a datagram allows. True when
 * nothing is left to send.
 */
static bool
send_sessions(struct tg_control *c)
{
	struct tg_punt_sess ps;
	struct tg_punt_enc e;
	unsigned int w, i, k;
	uint32_t sent, total = 0;
	uint8_t status = TG_PUNT_SESS_OK;
	int len, rc = 0;

	while (c->sbusy_n > 0) {
		len = tg_punt_sess_begin(&e, c->tx, TG_PUNT_MSG_MAX, c->tx_seq, c->sbusy[0],
					 TG_PUNT_SESS_BUSY);
		if (len >= 0)
			len = tg_punt_sess_end(&e, true);
		if (len < 0) {
			disconnect(c, TG_CONTROL_DISC_BACKLOG, "sessions response does not encode");
			return false;
		}
		if (send_msg(c, c->tx, (size_t)len) != 1)
			return false;
		c->tx_seq++;
		memmove(c->sbusy, c->sbusy + 1, --c->sbusy_n * sizeof(c->sbusy[0]));
	}
	if (!c->sr.active || !c->sr.ready)
		return true;
	for (k = 0; k < c->nb_q; k++)
		if (c->q[k].cmd_asked)
			total += c->q[k].cmd.n;
	/* a KILL, or a LIST of one session, that found nothing */
	if (total == 0 && c->sr.session != 0)
		status = TG_PUNT_SESS_NOT_FOUND;
	for (;;) {
		w = c->sr.w;
		i = c->sr.i;
		sent = c->sr.sent;
		len = tg_punt_sess_begin(&e, c->tx, TG_PUNT_MSG_MAX, c->tx_seq, c->sr.seq, status);
		for (; len >= 0 && status == TG_PUNT_SESS_OK && w < c->nb_q; w++, i = 0) {
			if (!c->q[w].cmd_asked)
				continue;
			for (; i < c->q[w].cmd.n && sent < c->sr.limit; i++) {
				to_punt_sess(&c->q[w].cmd.ent[i], &ps);
				rc = tg_punt_sess_add(&e, &ps);
				if (rc == -ENOSPC)
					break;
				if (rc == 0)
					sent++;
			}
			if (rc == -ENOSPC)
				break;
		}
		if (len >= 0)
			len = tg_punt_sess_end(&e, rc != -ENOSPC);
		if (len < 0) {
			disconnect(c, TG_CONTROL_DISC_BACKLOG, "sessions response does not encode");
			return false;
		}
		if (send_msg(c, c->tx, (size_t)len) != 1)
			return false;
		c->tx_seq++;
		c->sr.w = w;
		c->sr.i = i;
		c->sr.sent = sent;
		if (rc != -ENOSPC)
			break;
		rc = 0;
	}
	for (k = 0; k < c->nb_q; k++)
		c->q[k].cmd_asked = false;
	c->sr.active = false;
	CNT(c, SESSIONS_ANSWERED);
	return true;
}

/* The commands out: done, or given up at the deadline? Then the answer is ready. */
static void
check_sessions(struct tg_control *c, uint64_t now)
{
	struct tg_control_q *q;
	bool waiting = false;
	unsigned int w;

	for (w = 0; w < c->nb_q; w++) {
		q = &c->q[w];
		if (q->cmd_busy && __atomic_load_n(&q->cmd.done, __ATOMIC_ACQUIRE) != 0)
			q->cmd_busy = false;
		if (q->cmd_asked && q->cmd_busy)
			waiting = true;
	}
	if (!c->sr.active || c->sr.ready || (waiting && now < c->sr.deadline))
		return;
	for (w = 0; w < c->nb_q; w++)
		if (c->q[w].cmd_asked && c->q[w].cmd_busy) {
			/* its buffer stays the worker's until it answers */
			c->q[w].cmd_asked = false;
			CNT(c, SESSIONS_TIMEOUT);
		}
	c->sr.ready = true;
}

static void
on_sessions_request(struct tg_control *c, uint64_t req_seq, const struct tg_punt_sess_request *r)
{
	struct tg_control_q *q;
	unsigned int w;

	if (c->sr.active || !c->sessions) {
		if (c->sbusy_n == TG_CONTROL_STATS_QUEUE) {
			disconnect(c, TG_CONTROL_DISC_BACKLOG, "sessions requests");
			return;
		}
		/* without sessions (not invited): BUSY too, the slowpath says unavailable */
		c->sbusy[c->sbusy_n++] = req_seq;
		flush_pending(c);
		return;
	}
	/* workers left out of an earlier answer may have answered since */
	for (w = 0; w < c->nb_q; w++)
		if (c->q[w].cmd_busy && __atomic_load_n(&c->q[w].cmd.done, __ATOMIC_ACQUIRE) != 0)
			c->q[w].cmd_busy = false;
	c->sr.active = true;
	c->sr.ready = false;
	c->sr.seq = req_seq;
	c->sr.kind = r->kind;
	c->sr.session = r->session;
	c->sr.limit = r->kind == TG_PUNT_SESS_KILL ? 1 : r->limit;
	c->sr.sent = 0;
	c->sr.w = c->sr.i = 0;
	c->sr.deadline = now_ns() + TG_CONTROL_SESS_TIMEOUT_MS * NS_PER_MS;
	for (w = 0; w < c->nb_q; w++) {
		q = &c->q[w];
		q->cmd_asked = false;
		if (r->worker != TG_PUNT_SESS_ANY_WORKER && r->worker != w)
			continue;
		if (q->cmd_busy || __atomic_load_n(&q->cmd_live, __ATOMIC_ACQUIRE) == 0)
			continue;
		q->cmd.kind = r->kind;
		q->cmd.session = r->session;
		memcpy(q->cmd.service, r->service.p, r->service.len);
		q->cmd.service[r->service.len] = '\0';
		q->cmd.max = RTE_MIN(c->sr.limit, TG_CONTROL_SESS_MAX);
		q->cmd.n = 0;
		q->cmd.done = 0;
		/* the ring's release orders the fields above before the worker sees the command */
		if (rte_ring_sp_enqueue(q->cmds, &q->cmd) != 0)
			continue;
		q->cmd_asked = true;
		q->cmd_busy = true;
	}
	check_sessions(c, now_ns());
	flush_pending(c);
}

/*
 * Sends the answers of the STATS_REQUESTs waiting, each a snapshot taken
 * when its turn comes, in STATS_RESPONSEs as full as a datagram allows,
 * numbered as they are sent (from c->tx, like event batches). True when
 * none is left; false when the socket is full (the rest goes at the next
 * poll) or the connection was ended.
 */
static bool
send_stats(struct tg_control *c)
{
	struct tg_control_stats *s = &c->snap;
	struct tg_punt_enc e;
	unsigned int i;
	int len, rc;

	while (c->sreq_n > 0) {
		if (!c->snap_taken) {
			s->n = 0;
			s->dropped = 0;
			if (c->stats != NULL)
				c->stats(c->stats_arg, s);
			c->snap_taken = true;
			c->snap_at = 0;
		}
		len = tg_punt_stats_begin(&e, c->tx, TG_PUNT_MSG_MAX, c->tx_seq,
					  c->sreq[c->sreq_head]);
		/* a datagram takes at least one pair: every round makes progress */
		for (i = c->snap_at; len >= 0 && i < s->n; i++) {
			rc = tg_punt_stats_add(&e, s->v[i].name, s->v[i].value);
			if (rc == -ENOSPC)
				break;
			if (rc < 0)	/* cannot happen: tg_control_stats_add() checked it */
				s->dropped++;
		}
		if (len >= 0)
			len = tg_punt_stats_end(&e, i == s->n);
		if (len < 0) {
			disconnect(c, TG_CONTROL_DISC_BACKLOG, "stats response does not encode");
			return false;
		}
		if (send_msg(c, c->tx, (size_t)len) != 1)
			return false;
		c->tx_seq++;
		c->snap_at = i;
		if (i < s->n)
			continue;
		c->sreq_head = (c->sreq_head + 1) % TG_CONTROL_STATS_QUEUE;
		c->sreq_n--;
		c->snap_taken = false;
		c->cnt[TG_CONTROL_CNT_STATS_DROPPED] += s->dropped;
		CNT(c, STATS_ANSWERED);
	}
	return true;
}

/* What waits to be sent before any event: the reply, the stats answers, the sessions answers. */
static bool
flush_pending(struct tg_control *c)
{
	return flush_reply(c) && send_stats(c) && send_sessions(c);
}

static void
on_stats_request(struct tg_control *c, uint64_t req_seq)
{
	if (c->sreq_n == TG_CONTROL_STATS_QUEUE) {
		disconnect(c, TG_CONTROL_DISC_BACKLOG, "stats requests");
		return;
	}
	c->sreq[(c->sreq_head + c->sreq_n) % TG_CONTROL_STATS_QUEUE] = req_seq;
	c->sreq_n++;
	flush_pending(c);
}

/* ------------------------------------------------------------------ logins */

/*
 * A free slot of the worker's "up" mailbox while *ok (the slowpath takes
 * such messages), else NULL with *rc -ENOTCONN or -ENOBUFS (counted).
 */
static struct tg_control_auth *
up_take(struct tg_control_q *q, const uint8_t *ok, int *rc)
{
	void *p;

	if (!__atomic_load_n(ok, __ATOMIC_RELAXED)) {
		__atomic_store_n(&q->auth_unavailable, q->auth_unavailable + 1, __ATOMIC_RELAXED);
		*rc = -ENOTCONN;
		return NULL;
	}
	if (rte_ring_sc_dequeue(q->auth_up.free, &p) != 0) {
		__atomic_store_n(&q->auth_full, q->auth_full + 1, __ATOMIC_RELAXED);
		*rc = -ENOBUFS;
		return NULL;
	}
	return p;
}

/* Hands slot s, encoded (n: the encoder's result), to the control thread. */
static int
up_put(struct tg_control_q *q, struct tg_control_auth *s, int n)
{
	s->len = n > 0 ? (uint32_t)n : 0;
	/* a slot goes back through the full ring either way: only the control thread frees */
	rte_ring_sp_enqueue(q->auth_up.full, s);
	return n > 0 ? 0 : n;
}

int
tg_control_auth_send(struct tg_control_q *q, uint16_t type, const struct tg_punt_auth *a)
{
	int rc;
	struct tg_control_auth *s = up_take(q, &auth_ok, &rc);

	if (s == NULL)
		return rc;
	/* numbered by the control thread when it sends it */
	return up_put(q, s, tg_punt_encode_auth(s->buf, sizeof(s->buf), 1, type, a));
}

int
tg_control_hold_send(struct tg_control_q *q, const struct tg_punt_hold *h)
{
	int rc;
	struct tg_control_auth *s = up_take(q, &hold_ok, &rc);

	if (s == NULL)
		return rc;
	return up_put(q, s, tg_punt_encode_hold(s->buf, sizeof(s->buf), 1, TG_PUNT_T_HOLD_REQUEST, h));
}

/* The type of the datagram in a mailbox slot (its header is whole). */
static uint16_t
slot_type(const struct tg_control_auth *s)
{
	return (uint16_t)(s->buf[6] << 8 | s->buf[7]);
}

bool
tg_control_auth_pending(const struct tg_control_q *q)
{
	return rte_ring_count(q->auth_down.full) != 0;
}

struct tg_control_auth *
tg_control_auth_take(struct tg_control_q *q)
{
	void *p;

	return rte_ring_sc_dequeue(q->auth_down.full, &p) == 0 ? p : NULL;
}

void
tg_control_auth_done(struct tg_control_q *q, struct tg_control_auth *s)
{
	/* a reply to the server may carry a password or a SCRAM proof */
	explicit_bzero(s->buf, s->len);
	s->len = 0;
	rte_ring_sp_enqueue(q->auth_down.free, s);
}

/* An AUTH_REPLY (the datagram buf[0..len)) for worker q's mailbox; dropped when it is full. */
static void
auth_deliver(struct tg_control *c, struct tg_control_q *q, const uint8_t *buf, size_t len)
{
	struct tg_control_auth *s;
	void *p;

	c->auth_busy_until = now_ns() + AUTH_BUSY_NS;
	if (len > sizeof(s->buf) || rte_ring_sc_dequeue(q->auth_down.free, &p) != 0) {
		/* the worker gives the login up at its deadline */
		CNT(c, AUTH_DROPPED);
		return;
	}
	s = p;
	memcpy(s->buf, buf, len);
	s->len = (uint32_t)len;
	rte_ring_sp_enqueue(q->auth_down.full, s);
	CNT(c, AUTH_REPLIES);
}

/*
 * A hold asked of a slowpath it will not reach: its worker gets a DENY in
 * its stead, so the client is answered now. A CANCEL needs nothing.
 */
static void
hold_deny_here(struct tg_control *c, struct tg_control_q *q, const struct tg_punt_hold *ask)
{
	static const char why[] = "the approval service of the gateway is not reachable";
	uint8_t buf[TG_PUNT_HDR_LEN + 64 + sizeof(why)];
	struct tg_punt_hold h;
	int n;

	if (ask->op != TG_PUNT_HOLD_ASK)
		return;
	h = (struct tg_punt_hold){
		.worker = ask->worker,
		.session = ask->session,
		.hold = ask->hold,
		.decision = TG_PUNT_HOLD_DENY,
		.id = { .p = "none", .len = 4 },
		.sqlstate = { .p = "57P03", .len = 5 },
		.reason = { .p = why, .len = sizeof(why) - 1 },
	};
	n = tg_punt_encode_hold(buf, sizeof(buf), 1, TG_PUNT_T_HOLD_REPLY, &h);
	if (n > 0) {
		CNT(c, AUTH_REFUSED);
		auth_deliver(c, q, buf, (size_t)n);
	}
}

/*
 * A login message that will not reach the slowpath (the channel is down,
 * or went down): its worker gets a REFUSE in its stead, so the client is
 * told now.
 */
static void
auth_refuse_here(struct tg_control *c, struct tg_control_q *q, const struct tg_control_auth *s)
{
	static const char why[] = "the identity service of the gateway is not reachable";
	struct tg_punt_msg m;
	struct tg_punt_auth a;
	uint8_t buf[TG_PUNT_HDR_LEN + 64 + sizeof(why)];
	int n;

	if (tg_punt_decode(s->buf, s->len, &m) != TG_PUNT_OK)
		return;
	if (m.hdr.type == TG_PUNT_T_HOLD_REQUEST) {
		hold_deny_here(c, q, &m.u.hold);
		return;
	}
	a = (struct tg_punt_auth){
		.worker = m.u.auth.worker,
		.session = m.u.auth.session,
		.action = TG_PUNT_AUTH_REFUSE,
		.sqlstate = { .p = "08006", .len = 5 },
		.text = { .p = why, .len = sizeof(why) - 1 },
	};
	n = tg_punt_encode_auth(buf, sizeof(buf), 1, TG_PUNT_T_AUTH_REPLY, &a);
	if (n > 0) {
		CNT(c, AUTH_REFUSED);
		auth_deliver(c, q, buf, (size_t)n);
	}
}

/* The workers' login messages: sent, numbered now, in each worker's order. */
static void
auth_send(struct tg_control *c)
{
	unsigned int w;
	void *p;
	int rc;

	for (w = 0; w < c->nb_q; w++) {
		struct tg_control_q *q = &c->q[w];

		for (;;) {
			struct tg_control_auth *s = q->auth_stash;

			if (s == NULL) {
				if (rte_ring_sc_dequeue(q->auth_up.full, &p) != 0)
					break;
				s = p;
			}
			q->auth_stash = NULL;
			if (s->len >= TG_PUNT_HDR_LEN) {
				rc = -1;
				if (c->st == ST_UP &&
				    __atomic_load_n(slot_type(s) == TG_PUNT_T_HOLD_REQUEST ? &hold_ok
												: &auth_ok,
						    __ATOMIC_RELAXED)) {
					if (!flush_pending(c)) {
						q->auth_stash = s;	/* no room: at the next poll */
						return;
					}
					for (int k = 0; k < 8; k++)
						s->buf[16 + k] = (uint8_t)(c->tx_seq >> (56 - 8 * k));
					rc = send_msg(c, s->buf, s->len);
					if (rc == 0) {
						q->auth_stash = s;
						return;
					}
				}
				if (rc == 1) {
					c->tx_seq++;
					CNT(c, AUTH_SENT);
					c->auth_busy_until = now_ns() + AUTH_BUSY_NS;
				} else {
					auth_refuse_here(c, q, s);
				}
			}
			/* the token travels in these: wiped before reuse */
			explicit_bzero(s->buf, s->len);
			s->len = 0;
			rte_ring_sp_enqueue(q->auth_up.free, s);
		}
	}
}

/*
 * AUDIT_STATE (punt.h): the slowpath's audit store is full, or ok again.
 * Workers read the flag at each statement (inspect.h, "Audit full").
 */
static void
on_audit_state(struct tg_control *c, const struct tg_punt_audit_state *st)
{
	uint8_t full = st->state == TG_PUNT_AUDIT_FULL;

	if (full)
		CNT(c, AUDIT_FULL);
	else
		CNT(c, AUDIT_OK);
	if (__atomic_exchange_n(&tg_control_audit_full, full, __ATOMIC_RELAXED) == full)
		return;
	if (full)
		TG_LOG(ERR, tg_logtype_control,
		       "slowpath %s: the audit store is full (%.*s): new statements are refused "
		       "(SQLSTATE 53100) until it has room",
		       c->path, (int)st->reason.len, st->reason.p);
	else
		TG_LOG(NOTICE, tg_logtype_control,
		       "slowpath %s: the audit store has room again: statements run", c->path);
}

/* One datagram of n bytes in c->rx. */
static void
on_message(struct tg_control *c, size_t n)
{
	struct tg_punt_msg m;
	enum tg_punt_err e;
	uint16_t version;
	int rc;

	if (n > TG_PUNT_MSG_MAX) {
		protocol_error(c, TG_PUNT_ERR_TOO_BIG);
		return;
	}
	if ((e = tg_punt_decode(c->rx, n, &m)) != TG_PUNT_OK) {
		protocol_error(c, e);
		return;
	}
	if (tg_punt_type_sender(m.hdr.type) != TG_PUNT_ROLE_SLOWPATH) {
		disconnect(c, TG_CONTROL_DISC_UNEXPECTED, tg_punt_type_name(m.hdr.type));
		return;
	}
	if (m.hdr.seq != c->rx_seq) {
		disconnect(c, TG_CONTROL_DISC_SEQ, tg_punt_type_name(m.hdr.type));
		return;
	}
	c->rx_seq++;
	if (c->st == ST_HELLO) {
		if (m.hdr.type != TG_PUNT_T_HELLO_ACK) {
			disconnect(c, TG_CONTROL_DISC_UNEXPECTED, "before the handshake");
			return;
		}
		e = tg_punt_hello_check(&c->hello, &m.u.hello_ack, &version);
		if (e == TG_PUNT_ERR_HELLO_REFUSED) {
			char why[TG_PUNT_REASON_MAX + 1];

			CNT(c, HELLO_REFUSED);
			snprintf(why, sizeof(why), "%.*s", (int)m.u.hello_ack.reason.len,
				 m.u.hello_ack.reason.p);
			disconnect(c, TG_CONTROL_DISC_REFUSED, why);
		} else if (e != TG_PUNT_OK) {
			protocol_error(c, e);
		} else {
			up(c, &m.u.hello_ack, version);
		}
		return;
	}
	if (m.hdr.version != c->version) {
		disconnect(c, TG_CONTROL_DISC_UNEXPECTED, "version other than the negotiated one");
		return;
	}
	switch (m.hdr.type) {
	case TG_PUNT_T_BATCH_ACK:
		if ((rc = tg_evbuf_ack(&c->eb, m.u.durable_seq)) < 0)
			disconnect(c, TG_CONTROL_DISC_ACK, NULL);
		else
			map_ack(c, c->eb.acked);
		break;
	case TG_PUNT_T_POLICY_GEN:
		on_policy(c, &m.u.policy);
		break;
	case TG_PUNT_T_STATS_REQUEST:
		on_stats_request(c, m.hdr.seq);
		break;
	case TG_PUNT_T_SESSIONS_REQUEST:
		on_sessions_request(c, m.hdr.seq, &m.u.sreq);
		break;
	case TG_PUNT_T_AUDIT_STATE:
		if (!c->peer_audit_state) {
			disconnect(c, TG_CONTROL_DISC_UNEXPECTED, "audit_state");
			break;
		}
		on_audit_state(c, &m.u.audit);
		break;
	case TG_PUNT_T_TCP_GRANTS:
		on_tcp_grants(c, &m.u.tcpg);
		break;
	case TG_PUNT_T_AUTH_REPLY:
		if (!__atomic_load_n(&auth_ok, __ATOMIC_RELAXED) || m.u.auth.worker >= c->nb_q) {
			disconnect(c, TG_CONTROL_DISC_UNEXPECTED, "auth_reply");
			break;
		}
		auth_deliver(c, &c->q[m.u.auth.worker], c->rx, n);
		break;
	case TG_PUNT_T_HOLD_REPLY:
		if (!__atomic_load_n(&hold_ok, __ATOMIC_RELAXED) || m.u.hold.worker >= c->nb_q) {
			disconnect(c, TG_CONTROL_DISC_UNEXPECTED, "hold_reply");
			break;
		}
		auth_deliver(c, &c->q[m.u.hold.worker], c->rx, n);
		break;
	default:	/* HELLO_ACK again */
		disconnect(c, TG_CONTROL_DISC_UNEXPECTED, tg_punt_type_name(m.hdr.type));
		break;
	}
}

static void
receive(struct tg_control *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < RX_PER_POLL && c->fd >= 0; i++) {
		/* MSG_TRUNC: the real length of an oversized datagram, refused as too_big */
		n = recv(c->fd, c->rx, TG_PUNT_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				disconnect(c, TG_CONTROL_DISC_IO, strerror(errno));
			return;
		}
		if (n == 0) {
			disconnect(c, TG_CONTROL_DISC_CLOSED, NULL);
			return;
		}
		on_message(c, (size_t)n);
	}
}

static void
send_events(struct tg_control *c)
{
	uint16_t count;
	int i, len;

	for (i = 0; i < TX_PER_POLL && c->st == ST_UP; i++) {
		if (!flush_pending(c))
			return;
		len = tg_evbuf_batch(&c->eb, c->tx, TG_PUNT_MSG_MAX, c->tx_seq, &count);
		if (len == 0)
			return;
		if (len < 0) {
			/* cannot happen: the events were encoded by the same codec */
			TG_LOG(ERR, tg_logtype_control, "event batch: %s", strerror(-len));
			return;
		}
		if (send_msg(c, c->tx, (size_t)len) != 1)
			return;
		c->tx_seq++;
		tg_evbuf_sent(&c->eb, count);
	}
}

void
tg_control_poll(struct tg_control *c)
{
	uint64_t now = now_ns();

	drain(c);
	if (c->st == ST_IDLE && now >= c->next_try)
		start_connect(c, now);
	else if (c->st == ST_CONNECTING)
		check_connect(c, now);
	if (c->st == ST_HELLO || c->st == ST_UP)
		receive(c);
	if (c->st == ST_HELLO && now >= c->deadline)
		disconnect(c, TG_CONTROL_DISC_TIMEOUT, NULL);
	if (c->sr.active && !c->sr.ready) {
		check_sessions(c, now);
		if (c->sr.ready && c->st == ST_UP)
			flush_pending(c);
	}
	if (c->logins || c->holds)
		auth_send(c);
	if (c->st == ST_UP)
		send_events(c);
}

void
tg_control_wait(struct tg_control *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (c->st == ST_IDLE || c->fd < 0) {
		uint64_t now = now_ns(), ms = (uint64_t)timeout_ms;
		struct timespec ts;

		if (c->next_try > now)
			ms = RTE_MIN(ms, (c->next_try - now + NS_PER_MS - 1) / NS_PER_MS);
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		return;
	}
	if (c->st == ST_CONNECTING || c->tx_blocked)
		pfd.events |= POLLOUT;
	/* a login waits on each hop through here */
	if (timeout_ms > 1 && c->auth_busy_until > now_ns())
		timeout_ms = 1;
	poll(&pfd, 1, timeout_ms);
}

bool
tg_control_connect_wait(struct tg_control *c, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * NS_PER_MS;

	for (;;) {
		tg_control_poll(c);
		if ((c->st == ST_UP && (!c->need_policy || c->have_policy)) ||
		    now_ns() >= deadline)
			return c->st == ST_UP;
		tg_control_wait(c, 10);
	}
}

uint64_t
tg_control_flush(struct tg_control *c, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * NS_PER_MS;

	for (;;) {
		tg_control_poll(c);
		if (tg_evbuf_pending(&c->eb) == 0 || (c->st != ST_UP && c->st != ST_HELLO) ||
		    now_ns() >= deadline)
			return tg_evbuf_pending(&c->eb);
		tg_control_wait(c, 10);
	}
}

bool
tg_control_up(const struct tg_control *c)
{
	return c->st == ST_UP;
}

/* ---------------------------------------------------------------- lifetime */

struct tg_control *
tg_control_create(const struct tg_control_params *p)
{
	struct tg_control *c;
	unsigned int w;
	int rc;

	if (p->socket_path == NULL || p->socket_path[0] == '\0' ||
	    strlen(p->socket_path) >= TG_CONTROL_SOCKET_MAX) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = -1;
	memcpy(c->path, p->socket_path, strlen(p->socket_path) + 1);
	c->required = p->required;
	c->policy = p->policy;
	c->policy_arg = p->policy_arg;
	c->need_policy = p->need_policy && p->policy != NULL;
	c->services = p->services;
	c->nb_services = p->nb_services;
	c->stats = p->stats;
	c->stats_arg = p->stats_arg;
	c->sessions = p->sessions;
	c->logins = p->logins;
	c->holds = p->holds;
	c->tcp_grants = p->tcp_grants;
	c->tcp_grants_arg = p->tcp_grants_arg;
	c->tcp_services = p->tcp_services;
	c->nb_tcp_services = p->nb_tcp_services;
	c->backoff = TG_CONTROL_BACKOFF_MIN_MS * NS_PER_MS;
	/* names this process's event numbering: never 0, new at every start */
	while (c->instance == 0)
		if (getrandom(&c->instance, sizeof(c->instance), 0) != sizeof(c->instance))
			c->instance = rte_rand();
	rc = tg_evbuf_init(&c->eb, p->event_buffer, tg_evbuf_ring_bytes(p->event_buffer));
	if (rc < 0)
		goto err;
	rc = -ENOMEM;
	c->tx = malloc(TG_PUNT_MSG_MAX);
	c->rx = malloc(TG_PUNT_MSG_MAX);
	c->q = calloc(p->nb_workers ? p->nb_workers : 1, sizeof(*c->q));
	if (c->tx == NULL || c->rx == NULL || c->q == NULL)
		goto err;
	for (w = 0; w < p->nb_workers; w++) {
		rc = queue_init(&c->q[w], w, p->numa != NULL ? p->numa[w] : SOCKET_ID_ANY);
		if (rc < 0)
			goto err;
		c->nb_q++;
	}
	set_refuse(c);
	return c;
err:
	tg_control_destroy(c);
	errno = -rc;
	return NULL;
}

void
tg_control_destroy(struct tg_control *c)
{
	unsigned int w;

	if (c == NULL)
		return;
	if (c->fd >= 0)
		disconnect(c, TG_CONTROL_DISC_STOP, NULL);
	__atomic_store_n(&tg_control_refuse_new, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&tg_control_audit_full, 0, __ATOMIC_RELAXED);
	for (w = 0; w < c->nb_q; w++)
		queue_free(&c->q[w]);
	free(c->q);
	free(c->tx);
	free(c->rx);
	free(c->pobj);
	free(c->snap.v);
	tg_evbuf_free(&c->eb);
	free(c);
}

struct tg_control_q *
tg_control_queue(struct tg_control *c, unsigned int w)
{
	return w < c->nb_q ? &c->q[w] : NULL;
}

void
tg_control_counters_read(const struct tg_control *c, struct tg_control_counters *out)
{
	unsigned int w;

	memset(out, 0, sizeof(*out));
	out->connected = c->st == ST_UP;
	out->audit_full = __atomic_load_n(&tg_control_audit_full, __ATOMIC_RELAXED);
	out->pending = tg_evbuf_pending(&c->eb);
	memcpy(out->cnt, c->cnt, sizeof(out->cnt));
	memcpy(out->ev, c->eb.cnt, sizeof(out->ev));
	memcpy(out->disc, c->disc, sizeof(out->disc));
	memcpy(out->proto, c->proto, sizeof(out->proto));
	for (w = 0; w < c->nb_q; w++) {
		out->ring_drops += __atomic_load_n(&c->q[w].drops, __ATOMIC_RELAXED);
		out->invalid += __atomic_load_n(&c->q[w].invalid, __ATOMIC_RELAXED);
	}
}
