/* SPDX-License-Identifier: MIT */
/*
 * control.h — the dataplane's end of the control channel (punt.h): the
 * connection to tollgate-slowpath, owned by the control thread, and the
 * per-worker rings through which workers hand it their audit events.
 *
 * Workers. Each worker has a struct tg_control_q: a pool of fixed-size
 * slots and two single-producer single-consumer rte_rings of slot
 * pointers, "free" (control thread to worker) and "full" (worker to
 * control thread), each as large as the pool. tg_control_emit() takes a
 * free slot, encodes the event into it in wire form (evbuf.h) and
 * enqueues it: no syscall, no lock, no allocation. With no free slot (the
 * control thread is behind by TG_CONTROL_RING events) the event is
 * dropped and counted (ring_drops). Slots and rings are allocated at
 * start on the worker's NUMA socket: 2 KiB per slot, 8 MiB per worker.
 *
 * Control thread. tg_control_poll(), every 10 ms (the single-lcore tick)
 * or when the socket is ready (tg_control_wait()):
 *  - connects when not connected and the back-off delay has passed: 100
 *    ms, doubling to 5 s, each delay drawn in [d/2, d] so that dataplanes
 *    restarted together do not knock in step; a handshake resets it;
 *  - sends HELLO (role dataplane, an instance id drawn at process start)
 *    and checks the HELLO_ACK with tg_punt_hello_check(); the channel is
 *    up only then. No HELLO_ACK within 5 s ends the connection;
 *  - drains every worker's ring into the event buffer (evbuf.h), which
 *    numbers the events and keeps each until a BATCH_ACK covers it, up to
 *    event_buffer events. A full buffer stops the draining (backpressure):
 *    the worker's ring fills, and its next event is refused at
 *    tg_control_emit(), where the worker knows it (a strict statement then
 *    fails its session closed). The refusals of each worker are reported
 *    to the slowpath as a LOST event (punt.h) as soon as there is room, so
 *    the audit log records the gap;
 *  - sends EVENT_BATCHes of the events not yet sent, each as large as a
 *    datagram allows; a full socket buffer waits for the next poll;
 *  - reads BATCH_ACK, and turns it into each worker's durable count
 *    (tg_control_q.durable: its events up to that count are durable),
 *    which the inspector's strict mode waits for (inspect.h);
 *  - with a policy callback: states TG_PUNT_CAP_POLICY in its HELLO, sends
 *    SERVICES after the handshake, reassembles POLICY_GEN objects and hands
 *    each whole one (JSON + serialised databases) to the callback, which
 *    builds and publishes the generation or refuses it; the answer goes
 *    back as POLICY_ACK;
 *  - with a stats callback: states TG_PUNT_CAP_STATS in its HELLO and
 *    answers each STATS_REQUEST with a snapshot the callback takes (name/value
 *    pairs, see tg_control_stats_add()), cut into as many STATS_RESPONSEs
 *    as needed, the last with last = 1. The snapshot is taken when the
 *    request's turn comes, and its responses are numbered as they are sent,
 *    so that a full socket delays them like event batches; requests that
 *    arrive meanwhile wait in a queue of TG_CONTROL_STATS_QUEUE (a slowpath
 *    that asks more than that without reading is disconnected: backlog).
 *  - with sessions set: states TG_PUNT_CAP_SESSIONS and answers
 *    SESSIONS_REQUEST (tgctl sessions, flows). Workers own their flow
 *    tables and inspector sessions, so the control thread never reads
 *    them: it hands each worker concerned a command (struct
 *    tg_control_cmd) through the worker's command ring (single producer,
 *    single consumer, like the event rings), with a buffer of
 *    TG_CONTROL_SESS_MAX entries it owns. The worker, between bursts
 *    (tg_control_cmd_pending(): one ring count per loop), copies up to
 *    that many entries into the buffer or resets the session named
 *    (KILL), then sets the command's done flag with release semantics.
 *    The control thread looks at the flags on its polls, never waiting,
 *    and answers once every worker asked is done, or after
 *    TG_CONTROL_SESS_TIMEOUT_MS with the workers that were (a worker that
 *    has not answered keeps its buffer and is not asked again until it
 *    has). One request is served at a time; one that arrives meanwhile
 *    is answered BUSY at once.
 *  - states TG_PUNT_CAP_AUDIT_STATE: takes AUDIT_STATE from a slowpath
 *    that states it too, and keeps the state in tg_control_audit_full
 *    (AU-5(4): full, the workers refuse new statements; see below);
 *  - with logins set (services with identity "oidc"): states
 *    TG_PUNT_CAP_AUTH, and carries the identity takeover's messages
 *    (punt.h, AUTH) between the workers and the slowpath; with holds
 *    set, TG_PUNT_CAP_HOLD and the approval holds' (punt.h, HOLD) too. A worker hands
 *    an AUTH_REQUEST or AUTH_SERVER over encoded in a slot of its "auth
 *    up" mailbox (tg_control_auth_send()); the control thread sends it at
 *    its next poll, numbering it then. An AUTH_REPLY goes into the "auth
 *    down" mailbox of the worker it names, which takes it between bursts
 *    (tg_control_auth_take()). Logins are interactive, not kept like
 *    events: when the slowpath does not take logins (not up, or it did not
 *    state the capability) a worker's send fails at once, and one that
 *    the channel loses before it is sent is answered REFUSE by the
 *    control thread itself, so the client is told rather than left
 *    waiting. While logins are in flight tg_control_wait() sleeps 1 ms at
 *    most, so that each hop of a login costs about a millisecond.
 * Every message from the slowpath is checked by the codec, then for its
 * sequence number, its sender role and the connection's state; anything
 * wrong ends the connection, counted by reason (and by codec reason). On
 * the next connection every event not acknowledged is sent again.
 *
 * Fail closed. While the channel is not up, or is up but the policy is
 * owned by the slowpath (need_policy) and none has been applied yet,
 * tg_control_refusing() is true: workers refuse new sessions of postgres
 * services whose on_slowpath_down is refuse (the default when the channel
 * is `required`), answering the SYN with RST (counted slowpath_refused).
 * Established sessions continue, and their events wait in the buffer.
 *
 * Caveats:
 * - A LIST or FLOWS command costs its worker one pass over its live
 *   inspector sessions (LIST) or live flows (FLOWS), stopping at the
 *   buffer's size: up to a few hundred microseconds of added latency on
 *   that worker, once per request. The buffers cost TG_CONTROL_SESS_MAX
 *   entries of about 430 bytes per worker (440 KiB), allocated at start.
 * - Flows that are not inspected sessions have no session id and no
 *   start time (the flow table keeps none): their entries carry 0.
 * - Without a stats callback, STATS_REQUEST (not invited: the HELLO states
 *   no TG_PUNT_CAP_STATS) is answered with an empty last response.
 * - A snapshot costs the callback's reads of every worker's counters
 *   (relaxed loads, no lock: a pair may be a few packets older than the
 *   next one) and up to TG_CONTROL_STATS_MAX pairs of 72 bytes, allocated
 *   on the control thread the first time and kept.
 * - A refused event takes no event number; the LOST event that reports it
 *   does, so the slowpath records how many were lost, not which.
 * - The fail-closed flag is read at SYN time with a relaxed load, so a
 *   worker may admit a session a few nanoseconds after the channel fell.
 */
#ifndef TG_CONTROL_H
#define TG_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "evbuf.h"
#include "punt.h"

struct rte_ring;

#define TG_CONTROL_RING 4096		/* event slots per worker */
#define TG_CONTROL_BACKOFF_MIN_MS 100
#define TG_CONTROL_BACKOFF_MAX_MS 5000
#define TG_CONTROL_HELLO_TIMEOUT_MS 5000
#define TG_CONTROL_SOCKET_MAX 108	/* sun_path, NUL included */
#define TG_CONTROL_STATS_MAX 16384u	/* pairs in one snapshot */
#define TG_CONTROL_STATS_QUEUE 8	/* STATS_REQUESTs waiting for their answer */

/* Why a connection ended. X(enum suffix, name, description) */
#define TG_CONTROL_DISCONNECTS(X) \
	X(CLOSED, "closed", "the slowpath closed the connection") \
	X(IO, "io", "send or receive error") \
	X(PROTOCOL, "protocol", "a message the codec refused (by reason: control_protocol)") \
	X(UNEXPECTED, "unexpected", "a message not valid from a slowpath or in this state") \
	X(SEQ, "seq", "a message out of sequence") \
	X(ACK, "ack", "an acknowledgement of events never sent") \
	X(REFUSED, "refused", "the slowpath refused the hello") \
	X(TIMEOUT, "timeout", "no HELLO_ACK in time") \
	X(BACKLOG, "backlog", "a reply that could not be sent") \
	X(STOP, "stop", "the dataplane stopped")

enum tg_control_disconnect {
#define TG_CONTROL_DISC_ENUM(e, n, d) TG_CONTROL_DISC_##e,
	TG_CONTROL_DISCONNECTS(TG_CONTROL_DISC_ENUM)
#undef TG_CONTROL_DISC_ENUM
	TG_CONTROL_DISC_MAX
};

extern const char *const tg_control_disconnect_names[TG_CONTROL_DISC_MAX];

/* The control thread's own counters. X(enum suffix, name, description) */
#define TG_CONTROL_COUNTERS(X) \
	X(AUTH_SENT, "auth_sent", "AUTH_REQUEST and AUTH_SERVER messages sent") \
	X(AUTH_REPLIES, "auth_replies", "AUTH_REPLY messages handed to workers") \
	X(AUTH_REFUSED, "auth_refused", "login messages answered REFUSE here: the channel was lost") \
	X(AUTH_DROPPED, "auth_dropped", "AUTH_REPLY messages dropped: the worker's mailbox was full") \
	X(CONNECTS, "connects", "handshakes completed") \
	X(CONNECT_FAIL, "connect_fail", "connection attempts that failed") \
	X(DISCONNECTS, "disconnects", "connections ended, by reason: control_disconnects") \
	X(HELLO_REFUSED, "hello_refused", "hellos the slowpath refused") \
	X(POLICY_APPLIED, "policy_applied", "policy generations from the slowpath applied") \
	X(POLICY_REFUSED, "policy_refused", "policy generations from the slowpath refused") \
	X(LOST_REPORTED, "lost_reported", "LOST events sent for refused worker events") \
	X(STATS_ANSWERED, "stats_answered", "STATS_REQUESTs answered (every response sent)") \
	X(STATS_DROPPED, "stats_dropped", "counters left out of answers: over the cap, or a bad name") \
	X(SESSIONS_ANSWERED, "sessions_answered", "SESSIONS_REQUESTs answered") \
	X(SESSIONS_TIMEOUT, "sessions_timeout", "workers that did not answer a sessions command in time") \
	X(AUDIT_FULL, "audit_state_full", "AUDIT_STATE full received: the slowpath's audit store is full") \
	X(AUDIT_OK, "audit_state_ok", "AUDIT_STATE ok received") \
	X(TCP_GRANTS, "tcp_grants", "TCP_GRANTS tables received and published")

enum tg_control_counter {
#define TG_CONTROL_CNT_ENUM(e, n, d) TG_CONTROL_CNT_##e,
	TG_CONTROL_COUNTERS(TG_CONTROL_CNT_ENUM)
#undef TG_CONTROL_CNT_ENUM
	TG_CONTROL_CNT_MAX
};

extern const char *const tg_control_counter_names[TG_CONTROL_CNT_MAX];

/* One event slot: the encoded event at buf + TG_EVBUF_ENC_OFF, len bytes. */
struct tg_control_slot {
	uint16_t len;
	uint8_t buf[TG_EVBUF_ENC_SIZE];
};

#define TG_CONTROL_SESS_MAX 1024u	/* entries one worker reports per request */
#define TG_CONTROL_SESS_TIMEOUT_MS 1000	/* a request answered without the workers that did not */

/* One session or flow, as a worker copies it for SESSIONS_REQUEST. */
struct tg_control_sess {
	uint64_t session;		/* inspector session id; 0: a flow not inspected */
	uint64_t t_start_ns;		/* CLOCK_REALTIME; 0: unknown */
	uint64_t bytes[2];		/* released: client to server, back */
	uint32_t stmts;
	uint16_t worker;
	uint8_t tcp_state;		/* enum tg_tcp_state */
	bool pg;			/* an inspected postgres session */
	char service[TG_PUNT_NAME_MAX + 1];
	char client[TG_PUNT_NAME_MAX + 1], server[TG_PUNT_NAME_MAX + 1];
	char user[TG_PUNT_NAME_MAX + 1], database[TG_PUNT_NAME_MAX + 1];
	char application[TG_PUNT_NAME_MAX + 1];
};

/* A command to a worker; the control thread's until handed over, the worker's until done. */
struct tg_control_cmd {
	uint8_t kind;			/* enum tg_punt_sess_kind */
	uint64_t session;		/* 0: any; KILL: the one */
	char service[TG_PUNT_NAME_MAX + 1];	/* "": any */
	uint32_t max;			/* entries ent has room for */
	struct tg_control_sess *ent;	/* TG_CONTROL_SESS_MAX, the control thread's */
	/* the worker's answer */
	uint32_t n;			/* entries written */
	uint32_t done;			/* 1 once answered; store release, load acquire */
};

#define TG_CONTROL_MAP 1024		/* drain rounds awaiting acknowledgement, per worker */

/*
 * Login messages (punt.h AUTH): a slot holds one whole datagram, the
 * largest being an AUTH_SERVER of TG_PUNT_AUTH_MSG_MAX bytes. Each worker
 * has TG_CONTROL_AUTH_SLOTS of them each way (2 x 16 x 32 KiB).
 */
#define TG_CONTROL_AUTH_SLOT (32u << 10)
#define TG_CONTROL_AUTH_SLOTS 16u

struct tg_control_auth {
	uint32_t len;
	uint8_t buf[TG_CONTROL_AUTH_SLOT];
};

/* A pool of slots and two single-producer single-consumer rings of them. */
struct tg_control_mbox {
	struct rte_ring *free, *full;
	struct tg_control_auth *slots;
};

/*
 * A worker's handle: tg_control_emit(), the counters and emitted are the
 * worker's, durable the control thread's; the rest is the control
 * thread's alone.
 */
struct tg_control_q {
	struct rte_ring *full;		/* worker -> control thread */
	struct rte_ring *free;		/* control thread -> worker */
	struct tg_control_slot *slots;
	uint64_t drops;			/* no free slot; written by the worker */
	uint64_t invalid;		/* the codec refused the event; by the worker */
	uint64_t emitted;		/* slots handed over: the last ticket; by the worker */
	uint64_t durable;		/* tickets up to it are durable (or were refused) */
	/* the control thread's */
	uint64_t drained;		/* slots taken from full */
	uint64_t lost_reported;		/* drops reported in LOST events */
	void *stash[64];		/* slots taken but not yet kept: the buffer was full */
	unsigned int nb_stash, stash_at;
	struct {
		uint64_t seq;		/* the highest event number when ... */
		uint64_t drained;	/* ... this many slots had been taken */
	} map[TG_CONTROL_MAP];
	unsigned int map_head, map_n;
	/* commands (sessions): the ring is control -> worker, cmd the one command */
	struct rte_ring *cmds;
	struct tg_control_cmd cmd;
	bool cmd_busy;			/* handed over, not yet seen done; the control thread's */
	bool cmd_asked;			/* part of the request being served; the control thread's */
	uint32_t cmd_live;		/* a worker polls this queue; set by it */
	/* logins: up is worker -> control thread, down the other way */
	struct tg_control_mbox auth_up, auth_down;
	struct tg_control_auth *auth_stash;	/* taken, not yet sent: no room; the control thread's */
	uint64_t auth_unavailable;	/* sends refused: no slowpath taking logins; by the worker */
	uint64_t auth_full;		/* sends refused: no free slot; by the worker */
};

/* A snapshot, for the stats printer. */
struct tg_control_counters {
	uint64_t connected;		/* 0 or 1 */
	uint64_t audit_full;		/* 0 or 1: tg_control_audit_full */
	uint64_t pending;		/* events kept, not acknowledged */
	uint64_t cnt[TG_CONTROL_CNT_MAX];
	uint64_t ev[TG_EVBUF_CNT_MAX];
	uint64_t disc[TG_CONTROL_DISC_MAX];
	uint64_t proto[TG_PUNT_ERR_MAX];	/* codec refusals by reason */
	uint64_t ring_drops;		/* summed over the workers */
	uint64_t invalid;
};

/*
 * A whole policy generation from the slowpath: build it, publish it to the
 * workers and return 0, or return -errno with the reason in err (the
 * running generation stays). Called on the control thread.
 */
typedef int (*tg_control_policy_fn)(void *arg, uint64_t gen, const char *json, size_t json_len,
				    const uint8_t *db, size_t db_len, char *err, size_t errlen);

/*
 * A TCP_GRANTS table from the slowpath (punt.h, "TCP GRANTS"), or NULL
 * when the slowpath stated no TG_PUNT_CAP_TCP_GRANTS (no service needs a
 * grant then): build it and publish it to the workers (tcpgrants.h).
 * Returns 0 or -errno (the last table stays). On the control thread.
 */
typedef int (*tg_control_tcp_grants_fn)(void *arg, const struct tg_punt_tcp_grants *m);

/*
 * A snapshot being taken for STATS_REQUEST (opaque): the stats callback
 * adds its pairs with tg_control_stats_add().
 */
struct tg_control_stats;

/*
 * Adds one counter to a snapshot. Names are dotted paths of 1 to
 * TG_PUNT_NAME_MAX printable ASCII bytes without spaces ("port.0.rx_pkts",
 * "pg.fe.query"): the slowpath nests them into JSON objects by the dots,
 * so a name must not also be the prefix of another one. Returns 0, or
 * -EINVAL (a bad name) or -ENOSPC (TG_CONTROL_STATS_MAX pairs, or no
 * memory), the pair then left out and counted stats_dropped. addf()
 * formats the name (snprintf); a name cut at TG_PUNT_NAME_MAX is -EINVAL.
 */
int tg_control_stats_add(struct tg_control_stats *s, const char *name, uint64_t value);
int tg_control_stats_addf(struct tg_control_stats *s, uint64_t value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A snapshot outside the control channel (telemetry.h: DPDK telemetry's
 * thread takes its own, so that it never touches the channel's). create()
 * returns an empty one or NULL with errno set; reset() empties it for
 * reuse; count() and get() read its pairs in the order they were added
 * (get() returns the name, valid until the next add or reset, and the value
 * through *value; NULL past the end); dropped() counts the pairs refused.
 */
struct tg_control_stats *tg_control_stats_create(void);
void tg_control_stats_destroy(struct tg_control_stats *s);
void tg_control_stats_reset(struct tg_control_stats *s);
unsigned int tg_control_stats_count(const struct tg_control_stats *s);
const char *tg_control_stats_get(const struct tg_control_stats *s, unsigned int i,
				 uint64_t *value);
uint64_t tg_control_stats_dropped(const struct tg_control_stats *s);

/*
 * Takes a snapshot of the dataplane's counters into s, on the control
 * thread, when a STATS_REQUEST's turn comes. Must not block.
 */
typedef void (*tg_control_stats_fn)(void *arg, struct tg_control_stats *s);

struct tg_control_params {
	const char *socket_path;	/* the slowpath's control socket */
	bool required;			/* fail closed while it is not up */
	uint32_t event_buffer;		/* events kept until acknowledged */
	unsigned int nb_workers;
	const int *numa;		/* per worker, NULL: any */
	/* policy generations from the slowpath; NULL: not taken (no TG_PUNT_CAP_POLICY) */
	tg_control_policy_fn policy;
	void *policy_arg;
	bool need_policy;		/* refuse new sessions until a generation is applied */
	const char *const *services;	/* names for SERVICES, nb_services of them */
	unsigned int nb_services;
	/* counters for STATS_REQUEST; NULL: empty answers (no TG_PUNT_CAP_STATS) */
	tg_control_stats_fn stats;
	void *stats_arg;
	/* workers poll their command rings: answer SESSIONS_REQUEST (TG_PUNT_CAP_SESSIONS) */
	bool sessions;
	/* workers take logins over (identity oidc services): TG_PUNT_CAP_AUTH */
	bool logins;
	/* workers park statements of hold rules (postgres services): TG_PUNT_CAP_HOLD */
	bool holds;
	/* tcp grants (TG_PUNT_CAP_TCP_GRANTS): tables from the slowpath, and the tcp services */
	tg_control_tcp_grants_fn tcp_grants;
	void *tcp_grants_arg;
	const char *const *tcp_services;	/* names for TCP_SERVICES */
	unsigned int nb_tcp_services;
};

struct tg_control;

/*
 * Allocates the channel and every worker's ring; connects later
 * (tg_control_poll()). Fail-closed from here until the first handshake
 * when required. Returns NULL with errno set.
 */
struct tg_control *tg_control_create(const struct tg_control_params *p);

/* Ends the connection (counted stop) and frees everything; workers must be done emitting. */
void tg_control_destroy(struct tg_control *c);

/* Worker w's handle. */
struct tg_control_q *tg_control_queue(struct tg_control *c, unsigned int w);

/*
 * From a worker: hands one event over. Returns its ticket (q->emitted
 * after it: 1, 2, 3...; the event is durable once q->durable reaches it),
 * or 0 when there was no free slot (counted drops) or the codec refused
 * it (counted invalid).
 */
uint64_t tg_control_emit(struct tg_control_q *q, const struct tg_punt_event *ev);

/* From a worker: its events up to this ticket are durable. Acquire. */
static inline uint64_t
tg_control_durable(const struct tg_control_q *q)
{
	return __atomic_load_n(&q->durable, __ATOMIC_ACQUIRE);
}

/*
 * From a worker, between bursts: is a command waiting? Then it takes it
 * with tg_control_cmd_take(), carries it out, and tg_control_cmd_done().
 */
bool tg_control_cmd_pending(const struct tg_control_q *q);
struct tg_control_cmd *tg_control_cmd_take(struct tg_control_q *q);
void tg_control_cmd_done(struct tg_control_cmd *cmd, uint32_t n);

/* From a worker, once before its loop: it polls its command ring. */
void tg_control_cmd_attach(struct tg_control_q *q);

/*
 * From a worker: hands a login message over (type AUTH_REQUEST or
 * AUTH_SERVER, encoded here). Returns 0, -ENOTCONN (no slowpath taking
 * logins now), -ENOBUFS (no free slot) or the codec's -EINVAL/-ENOSPC.
 */
int tg_control_auth_send(struct tg_control_q *q, uint16_t type, const struct tg_punt_auth *a);

/*
 * From a worker: a HOLD_REQUEST (punt.h HOLD) into the same mailbox, whose
 * HOLD_REPLY comes back as an AUTH_REPLY does (tg_control_auth_take()).
 * Returns 0, -ENOTCONN (no slowpath deciding holds), -ENOBUFS (no free
 * slot) or the encoder's error. A request the channel then loses is
 * answered DENY by the control thread.
 */
int tg_control_hold_send(struct tg_control_q *q, const struct tg_punt_hold *h);

/*
 * From a worker, between bursts: an AUTH_REPLY for it, as the datagram
 * received (decode it with tg_punt_decode()), or NULL. Give the slot back
 * with tg_control_auth_done() once acted on (it is wiped then).
 */
struct tg_control_auth *tg_control_auth_take(struct tg_control_q *q);
void tg_control_auth_done(struct tg_control_q *q, struct tg_control_auth *s);

/*
 * Counts the connections lost while logins were taken over: a worker that
 * sees it move refuses the logins it had handed to the slowpath (which
 * forgot them with the connection). Relaxed.
 */
extern uint32_t tg_control_auth_epoch;

/* From a worker: is a reply waiting? One ring count. */
bool tg_control_auth_pending(const struct tg_control_q *q);

/* Is the channel up (handshake done)? */
bool tg_control_up(const struct tg_control *c);

/*
 * Must workers refuse new protected sessions now (of the services whose
 * on_slowpath_down is refuse)? Relaxed; for the fast path.
 */
extern uint8_t tg_control_refuse_new;

static inline bool
tg_control_refusing(void)
{
	return __atomic_load_n(&tg_control_refuse_new, __ATOMIC_RELAXED) != 0;
}

/*
 * AU-5(4): is the slowpath's audit store full (its last AUDIT_STATE,
 * punt.h)? Then the inspector refuses every new statement (inspect.h,
 * "Audit full"; worker.c hands it this flag). Set by the control thread
 * only; kept across a reconnection until the next AUDIT_STATE, cleared by
 * a slowpath that does not state TG_PUNT_CAP_AUDIT_STATE. Relaxed.
 */
extern uint8_t tg_control_audit_full;
/* The slowpath takes RECORD events (both stated TG_PUNT_CAP_RECORD); relaxed. */
extern uint8_t tg_control_record;

/* One round of the control thread's duties (see above). Never blocks. */
void tg_control_poll(struct tg_control *c);

/*
 * Sleeps until the socket has something for tg_control_poll() or
 * timeout_ms passes (poll(2) on the socket; a plain sleep when there is
 * none). Not from a worker.
 */
void tg_control_wait(struct tg_control *c, int timeout_ms);

/*
 * Polls until the channel is up, or timeout_ms. Returns true when up. For
 * start, so that the first sessions are not refused for want of a poll.
 */
bool tg_control_connect_wait(struct tg_control *c, int timeout_ms);

/*
 * Polls until every event handed over is acknowledged, the connection is
 * lost, or timeout_ms. Returns the events still not acknowledged. For
 * stop, after the workers' last events (their sessions' ends).
 */
uint64_t tg_control_flush(struct tg_control *c, int timeout_ms);

void tg_control_counters_read(const struct tg_control *c, struct tg_control_counters *out);

#endif /* TG_CONTROL_H */
