/* SPDX-License-Identifier: MIT */
/*
 * main.c — tollgate-slowpath: one single-threaded epoll loop that takes the
 * dataplane's audit events off the control channel (dataplane/punt.h) and
 * makes each one a record of the audit store (audit.h).
 *
 * Start, in this order (OpenSSH privsep: acquire, then drop):
 *   1. the config (config.h); signals blocked, so a TERM during start is
 *      handled by the loop rather than leaving the store unclean;
 *   2. the control socket: AF_UNIX SOCK_SEQPACKET, mode 0660, owned by the
 *      configured user and group; a stale socket is removed, a live one
 *      (another slowpath answers on it) is refused;
 *   3. the audit store; when its last writer did not close it, a log.gap
 *      record says so before anything else is written;
 *   4. privileges dropped to the configured user (as root: setgroups,
 *      setgid, setuid, and a check that root cannot be regained). The
 *      audit directory is created 0700 and owned by that user, and the
 *      store's files and a key created here are given to it, so a later
 *      start without root still opens them.
 *
 * The channel. One dataplane at a time: a second connection is closed at
 * once and counted as refused. The first message must be HELLO, answered
 * with HELLO_ACK by tg_punt_hello_answer(); after it, every message must
 * decode (tg_punt_decode), carry the next header seq and the negotiated
 * version, and be one the dataplane sends and the slowpath expects. Any
 * other message ends the connection, counted under its reason (the punt
 * codec's TG_PUNT_ERRORS, or SP_DISC_REASONS below): a peer that broke the
 * protocol once is not talked to further.
 *
 * Events. Every event of an EVENT_BATCH becomes one audit record (see
 * event_record() for the mapping to evidence.md section 3). Events are
 * numbered per dataplane instance; the highest seq appended is kept per
 * instance (SP_INSTANCES_MAX of them), so a batch sent again after a
 * reconnection is skipped event by event (dedup_skips) and acked again. A
 * known instance that skips numbers lost events: a log.gap record says
 * how many. Group commit: what arrives is committed with one
 * tg_audit_commit() — one LMDB transaction, two fsyncs — and then one
 * BATCH_ACK names the highest durable seq. The commit comes at the end of
 * the wakeup that read a strict statement's STATEMENT_BEGIN (the statement
 * waits for it), otherwise once the oldest record waiting is
 * audit.commit_delay_ms old (default 50 ms: fast mode's bound), so a busy
 * stream pays one synchronous commit per delay. A session end adds a
 * checkpoint before the commit; a 1 s timerfd drives tg_audit_tick() for
 * time-based checkpoints, and retries a commit that failed.
 *
 * Logging: one line per event on stderr, "<N>tollgate-slowpath: ..." with
 * N the syslog priority (sd-daemon(3)), so journald files it at the right
 * level; a line says the action, the object and the reason.
 *
 * Caveats:
 *   - Deduplication survives a crash: the highest event appended per
 *     instance is a cursor of the store (tg_audit_cursor_set()), committed
 *     with the records, so a batch committed but not yet acked when the
 *     slowpath died is skipped when the dataplane sends it again.
 *   - A commit that fails (disk full, I/O error) keeps the records in the
 *     store's batch and is retried every second; nothing is acked
 *     meanwhile, and once the store's batch is full the connection is
 *     closed (audit), so the dataplane's own caps and policy apply. The
 *     watermarks of audit_space.h are there so that this is the last
 *     resort: the store is called full (AU-5(4), new statements refused)
 *     while a reserve is left (see "Audit storage full" below).
 *   - The socket is unlinked at exit only if the user the process runs as
 *     may write its directory; a stale socket is removed at the next start.
 *   - A generation the dataplane refused is not sent to that connection
 *     again; the next SIGHUP with a changed file builds a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "audit.h"
#include "audit_space.h"
#include "authn.h"
#include "canon.h"
#include "config.h"
#include "credstore.h"
#include "grants_tcp.h"
#include "idmap.h"
#include "jwks.h"
#include "jwks_fetch.h"
#include "jwt.h"
#include "maudit.h"
#include "metrics.h"
#include "mgmt.h"
#include "mapprovals.h"
#include "mgrants.h"
#include "notify.h"
#include "punt.h"
#include "recordings.h"
#include "sesstrack.h"
#include "seterr.h"
#include "siem.h"
#include "spolicy.h"
#include "unixsock.h"

#define PROG "tollgate-slowpath"
#define SOFTWARE PROG " " TG_VERSION

/*
 * Datagrams per wakeup, so per commit: at most 16384 events, as many
 * session-end checkpoints and 16 gap records, well within the store's
 * TG_AUDIT_BATCH_MAX of records waiting for a commit.
 */
#define SP_RX_BURST 16
#define SP_INSTANCES_MAX 16 /* dataplane instances remembered for deduplication */
#define SP_TICK_MS 1000
#define SP_LOG_MAX 1024

/* ---------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------- */

static void sp_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line "<prio>tollgate-slowpath: ...\n" in one write(2), so lines never interleave. */
static void
sp_log(int prio, const char *fmt, ...)
{
	char line[SP_LOG_MAX];
	va_list ap;
	int n, m;
	size_t len, i;

	n = snprintf(line, sizeof(line), "<%d>" PROG ": ", prio);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	for (i = (size_t)n; i < len; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0) {
		/* nowhere else to say it */
	}
}

/* ---------------------------------------------------------------------
 * Counters (VPP style: one X-macro gives the enum and the names)
 * ------------------------------------------------------------------- */

/* clang-format off */
#define SP_COUNTERS(X) \
	X(CONNECTIONS, "connections")		/* accepted as the dataplane */ \
	X(REFUSED, "refused")			/* a second connection */ \
	X(DISCONNECTS, "disconnects")		/* by reason below */ \
	X(BATCHES, "batches")			/* EVENT_BATCH received */ \
	X(EVENTS, "events")			/* events in them */ \
	X(RECORDS, "records")			/* event records appended */ \
	X(DEDUP_SKIPS, "dedup_skips")		/* events already appended */ \
	X(GAPS, "gaps")				/* log.gap records */ \
	X(CHECKPOINTS, "checkpoints")		/* log.checkpoint records */ \
	X(COMMITS, "commits")			/* write transactions */ \
	X(COMMIT_FAILURES, "commit_failures") \
	X(APPEND_FAILURES, "append_failures")	/* events the store refused */ \
	X(ACKS, "acks")				/* BATCH_ACK sent */ \
	X(POLICY_LOADS, "policy_loads")		/* generations built */ \
	X(POLICY_REFUSED, "policy_refused")	/* files refused: the running one stays */ \
	X(POLICY_PUSHED, "policy_pushed")	/* generations sent whole */ \
	X(POLICY_APPLIED, "policy_applied")	/* POLICY_ACK applied */ \
	X(POLICY_DP_REFUSED, "policy_dp_refused") /* POLICY_ACK refused */ \
	X(STATS_REQUESTS, "stats_requests")	/* STATS_REQUEST sent for a stats call */ \
	X(STATS_RESPONSES, "stats_responses")	/* STATS_RESPONSE received */ \
	X(STATS_TIMEOUTS, "stats_timeouts")	/* stats calls answered without the dataplane's */ \
	X(SESSIONS_REQUESTS, "sessions_requests") /* SESSIONS_REQUEST sent */ \
	X(SESSIONS_RESPONSES, "sessions_responses") /* SESSIONS_RESPONSE received */ \
	X(SESSIONS_TIMEOUTS, "sessions_timeouts") /* sessions calls answered unavailable: no answer */ \
	X(AUDIT_FULL, "audit_full")		/* the store became full (audit.full records) */ \
	X(AUDIT_RESUMED, "audit_resumed")	/* and ok again (audit.resumed records) */ \
	X(RECORDS_WHILE_FULL, "records_while_full") /* records written into the reserve */ \
	X(AUDIT_STATE_SENT, "audit_state_sent")	/* AUDIT_STATE messages sent */

enum sp_counter {
#define X(e, n) SP_CNT_##e,
	SP_COUNTERS(X)
#undef X
	SP_CNT_MAX
};
/* clang-format on */

static const char *const sp_counter_names[SP_CNT_MAX] = {
#define X(e, n) [SP_CNT_##e] = n,
	SP_COUNTERS(X)
#undef X
};

/*
 * Why a connection ended, besides the codec's TG_PUNT_ERRORS (whose
 * values come first: a disconnect reason below TG_PUNT_ERR_MAX is one of
 * them). X(enum suffix, counter name, description, protocol violation)
 */
/* clang-format off */
#define SP_DISC_REASONS(X) \
	X(CLOSED, "closed", "the peer closed the connection", false) \
	X(IO, "io", "socket error", false) \
	X(BEFORE_HELLO, "before_hello", "a message before the hello", true) \
	X(HELLO_AGAIN, "hello_again", "a second hello", true) \
	X(SENDER, "sender", "a message type only the slowpath sends", true) \
	X(SEQ_ORDER, "seq_order", "header seq is not the next one", true) \
	X(VERSION_MISMATCH, "version_mismatch", "header version is not the negotiated one", true) \
	X(UNEXPECTED, "unexpected", "a message the slowpath did not ask for", true) \
	X(AUDIT, "audit", "the audit store refused an event", false) \
	X(SHUTDOWN, "shutdown", "the slowpath is stopping", false)

enum sp_disc {
	SP_DISC_BASE = TG_PUNT_ERR_MAX - 1,
#define X(e, n, d, v) SP_DISC_##e,
	SP_DISC_REASONS(X)
#undef X
	SP_DISC_MAX
};
/* clang-format on */

static const char *const sp_disc_names[SP_DISC_MAX - TG_PUNT_ERR_MAX] = {
#define X(e, n, d, v) [SP_DISC_##e - TG_PUNT_ERR_MAX] = n,
	SP_DISC_REASONS(X)
#undef X
};

static const char *const sp_disc_descs[SP_DISC_MAX - TG_PUNT_ERR_MAX] = {
#define X(e, n, d, v) [SP_DISC_##e - TG_PUNT_ERR_MAX] = d,
	SP_DISC_REASONS(X)
#undef X
};

static const bool sp_disc_violation[SP_DISC_MAX - TG_PUNT_ERR_MAX] = {
#define X(e, n, d, v) [SP_DISC_##e - TG_PUNT_ERR_MAX] = v,
	SP_DISC_REASONS(X)
#undef X
};

static const char *
disc_name(unsigned int r)
{
	return r < TG_PUNT_ERR_MAX ? tg_punt_err_names[r] : sp_disc_names[r - TG_PUNT_ERR_MAX];
}

static const char *
disc_desc(unsigned int r)
{
	return r < TG_PUNT_ERR_MAX ? tg_punt_err_descs[r] : sp_disc_descs[r - TG_PUNT_ERR_MAX];
}

static bool
disc_violation(unsigned int r)
{
	return r < TG_PUNT_ERR_MAX || sp_disc_violation[r - TG_PUNT_ERR_MAX];
}

/* ---------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------- */

/* A dataplane process, by the instance id of its HELLO. */
struct sp_instance {
	uint64_t id;	   /* 0: free slot */
	uint64_t appended; /* highest event seq appended to the store */
	uint64_t durable;  /* highest event seq committed */
	uint64_t used;	   /* last use, for eviction */
	char cursor[24];   /* its cursor in the store: "dp." hex id */
};

struct sp_conn {
	int fd;		  /* -1: none */
	bool hello;	  /* handshake done */
	bool ack_due;	  /* a batch arrived since the last ack */
	bool out_armed;	  /* EPOLLOUT: an ack or a policy chunk waits for room */
	bool takes_policy; /* its HELLO stated TG_PUNT_CAP_POLICY */
	bool gives_stats;  /* its HELLO stated TG_PUNT_CAP_STATS: stats calls ask it */
	bool gives_sessions; /* its HELLO stated TG_PUNT_CAP_SESSIONS: sessions and flows ask it */
	bool auth;	     /* both stated TG_PUNT_CAP_AUTH: AUTH_* messages are valid */
	bool holds;	     /* both stated TG_PUNT_CAP_HOLD: HOLD_* messages are valid */
	bool audit_state;    /* it stated TG_PUNT_CAP_AUDIT_STATE: AUDIT_STATE goes to it */
	int state_sent;	     /* the last AUDIT_STATE sent (enum tg_punt_audit_state_code), -1: none */
	bool have_svcs;	  /* its SERVICES arrived */
	bool tcp_grants;  /* both stated TG_PUNT_CAP_TCP_GRANTS: TCP_SERVICES in, TCP_GRANTS out */
	bool have_tcp_svcs; /* its TCP_SERVICES arrived: its table can go */
	uint64_t tcpg_sent; /* the tcp grants generation it was sent last, 0: none */
	uint64_t push_gen; /* generation being sent, 0: none */
	size_t push_off;  /* bytes of it sent */
	uint64_t sent_gen; /* the last generation sent whole: it or earlier ones get answers */
	uint64_t answered_gen; /* the last generation it answered */
	uint64_t applied_gen; /* the last generation it applied */
	uint64_t refused_gen; /* the last generation it refused: not sent again */
	uint16_t version; /* negotiated */
	uint64_t rx_seq;  /* last header seq received */
	uint64_t tx_seq;  /* last header seq sent */
	struct sp_instance *inst;
	pid_t pid;
	uid_t uid;
	char name[64]; /* for the logs: "dataplane 0123456789abcdef (pid 42)" */
};

enum sp_tag {
	TAG_LISTEN = 1,
	TAG_CONN,
	TAG_SIGNAL,
	TAG_TIMER,
	TAG_COMMIT,
	TAG_MGMT,
	TAG_METRICS,
	TAG_SIEM,
	TAG_JWKS,
	TAG_NOTIFY,
};

/* An AUTH_REPLY waiting for room in the socket; its header seq is set when it leaves. */
struct sp_auth_out {
	struct sp_auth_out *next;
	size_t len;
	uint8_t buf[];
};

struct sp {
	struct tg_sp_config cfg;
	struct tg_audit *audit;
	struct tg_sesstrack *track; /* what session.end records state (sesstrack.h) */
	struct tg_recordings *recs; /* session recordings (recordings.h), NULL: none */
	unsigned int rec_ticks;	    /* timer ticks since the last retention pass */
	int listen_fd, sig_fd, timer_fd, ep_fd;
	bool watchdog;		/* systemd's WatchdogSec is set: WATCHDOG=1 every tick */
	int commit_fd;	   /* one-shot: the fast-mode commit deadline */
	bool commit_now;   /* a strict statement waits for the next commit */
	bool commit_armed;
	uint64_t pending_since; /* ms: the oldest record not committed, 0: none */
	ino_t sock_ino; /* of the socket we bound, to unlink only ours */
	bool sock_bound;
	uid_t uid; /* the configured user's, when root */
	gid_t gid;
	bool root;
	struct sp_conn conn;
	/* the policy this slowpath owns (cfg.policy): built for svcs */
	struct tg_services svcs;
	bool have_svcs;
	/* the last dataplane's tcp services (TCP_SERVICES), and the tcp grants' generation */
	char tcp_svcs[TG_PUNT_SERVICES_MAX][TG_PUNT_NAME_MAX + 1];
	unsigned int nb_tcp_svcs;
	bool have_tcp_svcs;
	uint64_t tcpg_gen; /* bumped at every change of the grants or the policy */
	struct tg_sp_policy pol;	/* pol.gen 0: none built */
	uint64_t pol_loaded;		/* CLOCK_REALTIME s of pol's load */
	struct tg_mgmt *mgmt;		/* the management API; NULL: not configured */
	struct tg_metrics *metrics;	/* GET /metrics (metrics.h); NULL: not configured */
	struct tg_siem *siem;		/* the SIEM sinks (siem.h); NULL: none configured */
	/* the identity takeover (cfg.identity; authn.h): NULL when not configured */
	struct tg_authn *authn;
	struct tg_notify *notify;	/* approvals.notify (notify.h): always made, maybe sinkless */
	struct tg_jwks_fetch *fetch; /* discovery_url / jwks_uri: the set over HTTPS */
	struct tg_jwks *jwks;	     /* jwks_file: the set read from the file */
	char vpath[TG_SP_CLAIM_DEPTH][TG_SP_CLAIM_NAME]; /* the verifier's groups claim path */
	unsigned int vdepth;
	uint64_t authn_inst;		       /* the dataplane instance its sessions belong to */
	struct sp_auth_out *aq_head, *aq_tail; /* AUTH_REPLYs waiting for room */
	time_t started;
	struct sp_instance inst[SP_INSTANCES_MAX];
	uint64_t inst_clock;
	struct tg_punt_hello self;
	char host[HOST_NAME_MAX + 1];
	uint64_t size_at_open;
	bool commit_failing; /* log a failing commit once, and its recovery */
	/* AU-5(4): the store's watermarks (audit_space.h) */
	struct tg_audit_space space;
	uint64_t full_seq;	/* while full: the audit.full record's seq */
	bool usage_failing;	/* log a failing sample once */
	bool full_at_start;	/* full since before this start: for how long is unknown */
	bool stop;
	uint64_t cnt[SP_CNT_MAX];
	uint64_t disc[SP_DISC_MAX];
	uint8_t rx[TG_PUNT_MSG_MAX];
	uint8_t tx[2048]; /* HELLO_ACK (at most ~1.2 KiB) and BATCH_ACK */
	uint8_t pol_tx[TG_PUNT_MSG_MAX]; /* POLICY_GEN chunks */
	uint8_t tcpg_tx[TG_PUNT_MSG_MAX]; /* TCP_GRANTS */
};

static struct sp sp;

static void
hex64(uint64_t v, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, v);
}

/* ---------------------------------------------------------------------
 * Events to records (evidence.md section 3; audit.h "Records")
 * ------------------------------------------------------------------- */

static const char *const stmt_kind_names[TG_PUNT_STMT_MAX] = {
	[TG_PUNT_STMT_QUERY] = "query",
	[TG_PUNT_STMT_EXECUTE] = "execute",
	[TG_PUNT_STMT_FCALL] = "function_call",
};

static const char *const verdict_names[TG_PUNT_VERDICT_MAX] = {
	[TG_PUNT_VERDICT_ALLOW] = "allow",
	[TG_PUNT_VERDICT_LOG] = "log",
	[TG_PUNT_VERDICT_BLOCK] = "block",
	[TG_PUNT_VERDICT_HOLD] = "hold",
};

static const char *const result_names[TG_PUNT_RESULT_MAX] = {
	[TG_PUNT_RESULT_OK] = "ok",
	[TG_PUNT_RESULT_ERROR] = "error",
	[TG_PUNT_RESULT_SUSPENDED] = "suspended",
	[TG_PUNT_RESULT_UNFINISHED] = "unfinished",
	[TG_PUNT_RESULT_NOT_RUN] = "not_run",
};

static const char *const end_reason_names[TG_PUNT_END_MAX] = {
	[TG_PUNT_END_CLOSED] = "closed",     [TG_PUNT_END_RESET] = "reset",
	[TG_PUNT_END_FAILED] = "failed",     [TG_PUNT_END_EXPIRED] = "expired",
	[TG_PUNT_END_SHUTDOWN] = "shutdown", [TG_PUNT_END_GRANT_ENDED] = "grant_ended",
};

static const char *const refusal_names[TG_PUNT_REFUSAL_MAX] = {
	[TG_PUNT_REFUSAL_NO_GRANT] = "no_grant",
	[TG_PUNT_REFUSAL_SLOWPATH_DOWN] = "slowpath_down",
	[TG_PUNT_REFUSAL_UNKNOWN] = "grants_unknown",
};

/*
 * A string from the network as a JSON string: bytes that are not valid
 * UTF-8 (canon.h's definition) become U+FFFD, so a client's odd bytes
 * cost a character, not the record. NUL cannot occur (the codec refuses
 * it).
 */
static json_t *
jstr(const struct tg_punt_str *s)
{
	return tg_canon_string_lossy(s->p, s->len);
}

/* CLOCK_REALTIME nanoseconds as RFC 3339 UTC with microseconds, like the store's "ts". */
static json_t *
jtime(uint64_t ns)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[48];

	if (gmtime_r(&s, &tm) == NULL)
		return json_null();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ns % 1000000000u / 1000u));
	return json_string(buf);
}

/* A record under construction; the first allocation failure sticks. */
struct rec {
	json_t *root;
	bool oom;
};

/* Sets obj.key (obj NULL: a top-level member) to v, whose reference it takes. */
static void
put(struct rec *r, const char *obj, const char *key, json_t *v)
{
	json_t *o = r->root;

	if (v == NULL) {
		r->oom = true;
		return;
	}
	if (obj != NULL) {
		o = json_object_get(r->root, obj);
		if (o == NULL) {
			o = json_object();
			if (json_object_set_new(r->root, obj, o) < 0) {
				json_decref(v);
				r->oom = true;
				return;
			}
		}
	}
	if (json_object_set_new(o, key, v) < 0)
		r->oom = true;
}

/* obj.key = s, when s is not empty (empty means absent, punt.h) */
static void
put_str(struct rec *r, const char *obj, const char *key, const struct tg_punt_str *s)
{
	if (s->len != 0)
		put(r, obj, key, jstr(s));
}

static void
put_int(struct rec *r, const char *obj, const char *key, uint64_t v)
{
	/* canon.h integers are json_int_t; a value past INT64_MAX is capped, not wrapped */
	put(r, obj, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

/*
 * "addr:port" or "[addr6]:port" (the dataplane's client and server) into
 * obj.ip and obj.port; anything else goes whole into obj.ip.
 */
static void
put_endpoint(struct rec *r, const char *obj, const struct tg_punt_str *s)
{
	const char *p = s->p, *end = s->p + s->len, *colon = NULL, *ip = p, *c;
	size_t iplen = 0;
	unsigned long port = 0;

	if (s->len == 0)
		return;
	for (c = end; c > p; c--)
		if (c[-1] == ':') {
			colon = c - 1;
			break;
		}
	if (colon != NULL && colon + 1 < end && end - colon <= 6) {
		for (c = colon + 1; c < end && *c >= '0' && *c <= '9'; c++)
			port = port * 10 + (unsigned long)(*c - '0');
		if (c == end && port <= 65535) {
			ip = p;
			iplen = (size_t)(colon - p);
			if (iplen >= 2 && p[0] == '[' && colon[-1] == ']') {
				ip = p + 1;
				iplen -= 2;
			} else if (memchr(p, ':', iplen) != NULL) {
				iplen = 0; /* a bare IPv6 address: its last group is no port */
			}
		}
	}
	if (iplen == 0) {
		put_str(r, obj, "ip", s);
		return;
	}
	put(r, obj, "ip", jstr(&(struct tg_punt_str){ .p = ip, .len = (uint32_t)iplen }));
	put_int(r, obj, "port", port);
}

static void
put_times(struct rec *r, uint64_t start, uint64_t end)
{
	if (start != 0)
		put(r, "event", "start", jtime(start));
	if (end != 0)
		put(r, "event", "end", jtime(end));
	if (start != 0 && end >= start)
		put_int(r, "event", "duration", end - start); /* ECS: nanoseconds */
}

/* What both records of a statement carry: who, what, and the verdict. */
static void
put_statement(struct rec *r, const struct tg_punt_event *ev)
{
	put_str(r, "db", "user", &ev->user);
	put_str(r, "db", "name", &ev->database);
	put_str(r, "client", "app", &ev->application);
	put(r, "db", "statement", jstr(&ev->text));
	if (ev->text_cut)
		put(r, "db", "statement_cut", json_true());
	put_str(r, "db", "params", &ev->params);
	put(r, "db", "kind", json_string(stmt_kind_names[ev->kind]));
	put_int(r, "db", "statement_number", ev->stmt);
	put(r, "policy", "decision", json_string(verdict_names[ev->verdict]));
	put_str(r, "policy", "rule_id", &ev->rule);
}

/*
 * Who a session is, after an identity login (authn.h; evidence.md §3:
 * user.iss + user.sub, user.email, the roles snapshot, auth.method,
 * token.jti/kid/alg/exp and token.sha256): on every record of the
 * session and on the authn.* records. Never the token, never a
 * credential. The upstream role and the identity rule that mapped it
 * are identity.role and identity.rule_id (policy.rule_id is the command
 * rule of a statement).
 */
static void
put_who(struct rec *r, const struct tg_authn_who *w)
{
	put(r, "auth", "method", json_string("oidc"));
	if (w->verified) {
		put(r, "user", "iss", json_string(w->iss));
		put(r, "user", "sub", json_string(w->sub));
		if (w->email[0] != '\0') {
			put(r, "user", "email", json_string(w->email));
			put(r, "user", "email_verified", json_boolean(w->email_verified));
		}
		put(r, "user", "roles",
		    w->groups != NULL ? json_deep_copy(w->groups) : json_array());
		if (w->jti[0] != '\0')
			put(r, "token", "jti", json_string(w->jti));
		put_int(r, "token", "exp", w->exp > 0 ? (uint64_t)w->exp : 0);
		put_int(r, "token", "iat", w->iat > 0 ? (uint64_t)w->iat : 0);
	}
	if (w->kid[0] != '\0')
		put(r, "token", "kid", json_string(w->kid));
	if (w->alg != NULL)
		put(r, "token", "alg", json_string(w->alg));
	if (w->token_sha256[0] != '\0')
		put(r, "token", "sha256", json_string(w->token_sha256));
	if (w->role[0] != '\0')
		put(r, "identity", "role", json_string(w->role));
	if (w->rule >= 0) {
		put_int(r, "identity", "rule", (uint64_t)w->rule);
		if (w->rule_id[0] != '\0')
			put(r, "identity", "rule_id", json_string(w->rule_id));
	}
	if (w->method != NULL)
		put(r, "auth", "upstream_method", json_string(w->method));
	if (w->grant_id[0] != '\0')
		put(r, "identity", "grant_id", json_string(w->grant_id));
}

/*
 * A tcp flow of a grant-requiring service (punt.h "TCP GRANTS"): flow.start
 * names the grant and its subject (from the store: the dataplane knows only
 * the grant's number), flow.end adds what crossed each way (network.*,
 * up is client to server) and why it ended, flow.refused why the SYN was
 * refused. The common members (src, dst.service, gw) follow in
 * event_record().
 */
static const char *
flow_record(struct rec *r, const struct tg_punt_event *ev, const char **outcome,
	    const char **reason)
{
	char gid[24];

	put_endpoint(r, "dst", &ev->server);
	if (ev->type == TG_PUNT_EV_FLOW_REFUSED) {
		*outcome = "failure";
		*reason = refusal_names[ev->refusal];
		put_times(r, ev->t_start_ns, 0);
		return tg_audit_event_names[TG_AUDIT_EV_FLOW_REFUSED];
	}
	snprintf(gid, sizeof(gid), "g-%016" PRIx64, ev->grant);
	put(r, "grant", "id", json_string(gid));
	{
		const struct tg_grant *gr = tg_grants_get(sp_grants_store(), gid);

		if (gr != NULL) {
			put(r, "user", "sub", json_string(gr->sub));
			put(r, "grant", "source", json_string(gr->source));
		}
	}
	if (ev->type == TG_PUNT_EV_FLOW_START) {
		put_times(r, ev->t_start_ns, 0);
		return tg_audit_event_names[TG_AUDIT_EV_FLOW_START];
	}
	*reason = end_reason_names[ev->end_reason];
	*outcome = ev->end_reason == TG_PUNT_END_CLOSED || ev->end_reason == TG_PUNT_END_EXPIRED
			   ? "success"
		   : ev->end_reason == TG_PUNT_END_FAILED ? "failure"
							  : "unknown";
	put_times(r, ev->t_start_ns, ev->t_end_ns);
	put_int(r, "network", "bytes_up", ev->bytes_up);
	put_int(r, "network", "bytes_down", ev->bytes_down);
	put_int(r, "network", "packets_up", ev->pkts_up);
	put_int(r, "network", "packets_down", ev->pkts_down);
	put_int(r, "network", "bytes", ev->bytes_up + ev->bytes_down);
	put_int(r, "network", "packets", ev->pkts_up + ev->pkts_down);
	return tg_audit_event_names[TG_AUDIT_EV_FLOW_END];
}

/*
 * One event as the fields of its record. Every record names its source,
 * gw.instance (the dataplane's instance id) and event.sequence (the
 * event's number there), the key of deduplication; session.id is that
 * instance, the worker and the worker's session id, unique across
 * dataplane restarts.
 */
static json_t *
event_record(const struct tg_punt_event *ev, uint64_t instance)
{
	struct rec r = { .root = json_object() };
	const char *type, *outcome = "success", *reason = NULL;
	char inst[17], sid[64];

	if (r.root == NULL)
		return NULL;
	hex64(instance, inst);
	snprintf(sid, sizeof(sid), "%s-%u-%" PRIu64, inst, ev->worker, ev->session);

	switch (ev->type) {
	case TG_PUNT_EV_STATEMENT_BEGIN:
		/* decided, released to the server once this is durable (strict) or at once (fast) */
		type = tg_audit_event_names[TG_AUDIT_EV_DB_QUERY_BEGIN];
		put_times(&r, ev->t_start_ns, 0);
		put_statement(&r, ev);
		break;
	case TG_PUNT_EV_STATEMENT:
		type = tg_audit_event_names[TG_AUDIT_EV_DB_QUERY];
		switch (ev->result) {
		case TG_PUNT_RESULT_OK:
		case TG_PUNT_RESULT_SUSPENDED:
			break;
		case TG_PUNT_RESULT_ERROR:
			outcome = "failure";
			reason = "error";
			break;
		case TG_PUNT_RESULT_NOT_RUN:
			outcome = "failure";
			reason = ev->verdict == TG_PUNT_VERDICT_BLOCK ? "blocked" : "not_run";
			break;
		default:
			outcome = "unknown";
			reason = "unfinished";
			break;
		}
		put_times(&r, ev->t_start_ns, ev->t_end_ns);
		put_statement(&r, ev);
		put(&r, "db", "result", json_string(result_names[ev->result]));
		put_int(&r, "db", "rows", ev->rows);
		put_str(&r, "db", "sqlstate", &ev->sqlstate);
		for (unsigned int k = 1; k < TG_PUNT_DETECT_MAX; k++) {
			json_t *m;

			if (ev->masked[k] == 0)
				continue;
			m = json_object_get(json_object_get(r.root, "db"), "masked");
			if (m == NULL) {
				put(&r, "db", "masked", json_object());
				m = json_object_get(json_object_get(r.root, "db"), "masked");
			}
			if (m == NULL || json_object_set_new(m, tg_punt_detect_names[k],
							     json_integer(ev->masked[k])) < 0)
				r.oom = true;
		}
		if (ev->masked_columns != 0)
			put_int(&r, "db", "masked_columns", ev->masked_columns);
		break;
	case TG_PUNT_EV_SESSION_START:
		type = tg_audit_event_names[TG_AUDIT_EV_SESSION_START];
		put_times(&r, ev->t_start_ns, 0);
		put_endpoint(&r, "dst", &ev->server);
		put_str(&r, "db", "user", &ev->user);
		put_str(&r, "db", "name", &ev->database);
		put_str(&r, "client", "app", &ev->application);
		break;
	case TG_PUNT_EV_FLOW_START:
	case TG_PUNT_EV_FLOW_END:
	case TG_PUNT_EV_FLOW_REFUSED:
		/* a worker numbers its flows apart from its postgres sessions */
		snprintf(sid, sizeof(sid), "%s-%u-f%" PRIu64, inst, ev->worker, ev->session);
		type = flow_record(&r, ev, &outcome, &reason);
		break;
	default: /* TG_PUNT_EV_SESSION_END: the codec admits no other */
		type = tg_audit_event_names[TG_AUDIT_EV_SESSION_END];
		reason = end_reason_names[ev->end_reason];
		outcome = ev->end_reason == TG_PUNT_END_CLOSED ||
					  ev->end_reason == TG_PUNT_END_EXPIRED
				  ? "success"
			  : ev->end_reason == TG_PUNT_END_FAILED ? "failure"
								 : "unknown";
		put_times(&r, ev->t_start_ns, ev->t_end_ns);
		break;
	}
	put(&r, "event", "type", json_string(type));
	put_int(&r, "event", "sequence", ev->seq);
	put(&r, NULL, "outcome", json_string(outcome));
	if (reason != NULL)
		put(&r, NULL, "reason_code", json_string(reason));
	put(&r, "gw", "host", json_string(sp.host));
	put(&r, "gw", "instance", json_string(inst));
	put_int(&r, "gw", "worker", ev->worker);
	put(&r, NULL, "protocol", json_string(TG_PUNT_EV_IS_FLOW(ev->type) ? "tcp" : "postgres"));
	if (ev->type != TG_PUNT_EV_FLOW_REFUSED)
		put(&r, "session", "id", json_string(sid));
	put_endpoint(&r, "src", &ev->client);
	put_str(&r, "dst", "service", &ev->service_name);
	put_int(&r, "dst", "service_id", ev->service);
	if (sp.authn != NULL && ev->type != TG_PUNT_EV_LOST && !TG_PUNT_EV_IS_FLOW(ev->type) &&
	    instance == sp.authn_inst) {
		const struct tg_authn_who *w = tg_authn_who(sp.authn, ev->worker, ev->session);

		if (w != NULL)
			put_who(&r, w);
	}
	/* session.end states what the session held (sesstrack.h) */
	if (tg_sesstrack_event(sp.track, sid,
			       ev->type == TG_PUNT_EV_SESSION_START ? TG_SESSTRACK_START
			       : ev->type == TG_PUNT_EV_SESSION_END ? TG_SESSTRACK_END
			       : TG_PUNT_EV_HAS_TEXT(ev->type)	    ? TG_SESSTRACK_STATEMENT
								    : TG_SESSTRACK_OTHER,
			       ev->stmt, r.root) < 0)
		r.oom = true;
	if (r.oom) {
		json_decref(r.root);
		return NULL;
	}
	return r.root;
}

/* ---------------------------------------------------------------------
 * The audit store
 * ------------------------------------------------------------------- */

/*
 * Appends a record of the fields in rec and, when tgctl watches, streams
 * it (with its seq) on the management API. Returns tg_audit_append()'s.
 */
static int
record_at(json_t *rec, uint64_t *at)
{
	uint64_t seq;
	int rc = tg_audit_append(sp.audit, rec, &seq);

	if (rc == 0 && at != NULL)
		*at = seq;
	if (rc == 0 && sp.mgmt != NULL && json_object_set_new(rec, "seq", json_integer(
						(json_int_t)seq)) == 0)
		tg_mgmt_publish(sp.mgmt, rec);
	return rc;
}

static int
record(json_t *rec)
{
	return record_at(rec, NULL);
}

/* ---------------------------------------------------------------------
 * Recordings (recordings.h): the RECORD pieces of the dataplane's sessions
 * ------------------------------------------------------------------- */

/* recordings.h's record_fn: a recording.chunk or recording.expired record. */
static int
recording_record(void *arg, json_t *rec)
{
	(void)arg;
	if (record(rec) < 0) {
		sp.cnt[SP_CNT_APPEND_FAILURES]++;
		sp_log(LOG_ERR, "append recording record: %s", tg_audit_error(sp.audit));
		return -EIO;
	}
	sp.cnt[SP_CNT_RECORDS]++;
	return 0;
}

/* A RECORD piece, or the end of a session (its last chunk, before its session.end). */
static void
recording_event(const struct tg_punt_event *ev, uint64_t instance)
{
	char inst[17], sid[64];
	int rc;

	if (sp.recs == NULL)
		return;
	hex64(instance, inst);
	snprintf(sid, sizeof(sid), "%s-%u-%" PRIu64, inst, ev->worker, ev->session);
	if (ev->type == TG_PUNT_EV_RECORD)
		rc = tg_recordings_piece(sp.recs, sid, ev->piece, ev->rec, ev->rec_len);
	else
		rc = tg_recordings_end(sp.recs, sid, ev->t_end_ns);
	if (rc < 0)
		sp_log(LOG_ERR, "recording of session %s: %s", sid, tg_recordings_error(sp.recs));
}

/* After a commit: everything appended is durable, for every instance. */
static void
committed(void)
{
	for (unsigned int i = 0; i < SP_INSTANCES_MAX; i++)
		sp.inst[i].durable = sp.inst[i].appended;
	if (sp.commit_failing)
		sp_log(LOG_NOTICE,
		       "commit audit store %s: working again, %" PRIu64 " records durable",
		       sp.cfg.audit.dir, tg_audit_durable(sp.audit));
	sp.commit_failing = false;
}

static void space_force(int rc);
static void space_check(void);

static void
commit_failed(int rc)
{
	sp.cnt[SP_CNT_COMMIT_FAILURES]++;
	if (!sp.commit_failing)
		sp_log(LOG_CRIT,
		       "commit audit store %s: %s; %" PRIu64
		       " records wait, nothing is acked until a retry succeeds (every %d ms)",
		       sp.cfg.audit.dir, tg_audit_error(sp.audit),
		       tg_audit_size(sp.audit) - tg_audit_durable(sp.audit), SP_TICK_MS);
	sp.commit_failing = true;
	space_force(rc);
}

/* Commits what is buffered; returns true when everything appended is durable. */
static bool
commit(void)
{
	int rc;

	if (tg_audit_size(sp.audit) == tg_audit_durable(sp.audit))
		return true;
	tg_siem_save(sp.siem); /* delivered-cursors of the SIEM sinks ride along */
	rc = tg_audit_commit(sp.audit, NULL);
	if (rc < 0) {
		commit_failed(rc);
		return false;
	}
	sp.cnt[SP_CNT_COMMITS]++;
	committed();
	space_check();
	return true;
}


/* ---------------------------------------------------------------------
 * The control connection
 * ------------------------------------------------------------------- */

static int
epoll_set(int op, int fd, uint32_t events, enum sp_tag tag)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	return epoll_ctl(sp.ep_fd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev);
}

/* The stats method's calls waiting for the dataplane (below, with m_stats). */
static void stats_conn_gone(void);
static bool stats_send(void);
static unsigned int on_stats(const struct tg_punt_stats *st);
static void stats_tick(void);
/* The sessions and flows methods' calls waiting (below, with m_sessions). */
static void sess_conn_gone(void);
static bool sess_send(void);
static unsigned int on_sessions(const struct tg_punt_sess_response *sr);
static void sess_tick(void);
static void auth_queue_free(void);
static void pump(void);

static void
disconnect(unsigned int reason, const char *detail)
{
	struct sp_conn *c = &sp.conn;
	int prio = disc_violation(reason)    ? LOG_WARNING
		   : reason == SP_DISC_AUDIT ? LOG_ERR
		   : reason == SP_DISC_IO    ? LOG_WARNING
					     : LOG_NOTICE;

	sp.cnt[SP_CNT_DISCONNECTS]++;
	sp.disc[reason]++;
	sp_log(prio, "disconnect %s: %s%s (%s)%s%s", c->name,
	       disc_violation(reason) ? "protocol violation: " : "", disc_desc(reason),
	       disc_name(reason), detail != NULL ? "; " : "", detail != NULL ? detail : "");
	stats_conn_gone();
	sess_conn_gone();
	auth_queue_free();
	if (sp.authn != NULL && c->auth)
		tg_authn_conn_gone(sp.authn); /* logins in flight: the dataplane resets them */
	sp_approvals_cancel_all("dataplane_gone"); /* its held statements went with it */
	epoll_set(EPOLL_CTL_DEL, c->fd, 0, TAG_CONN);
	close(c->fd);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Sends one datagram; 0, -EAGAIN (no room), or -errno. */
static int
send_msg(const uint8_t *buf, int len)
{
	ssize_t n;

	do
		n = send(sp.conn.fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

/* Asks for EPOLLOUT (something waits for room in the socket) or stops asking. */
static void
want_out(bool on)
{
	struct sp_conn *c = &sp.conn;

	if (c->fd < 0 || c->out_armed == on)
		return;
	if (epoll_set(EPOLL_CTL_MOD, c->fd, on ? EPOLLIN | EPOLLOUT : EPOLLIN, TAG_CONN) == 0)
		c->out_armed = on;
}

/*
 * Sends the len-byte message in buf, numbered c->tx_seq + 1 (what, for
 * the logs, names it). Returns 1 when it left (the number is taken), 0
 * when the socket has no room (EPOLLOUT is asked for: send it again
 * then), -1 when the connection was closed on an error.
 */
static int
send_next(const uint8_t *buf, int len, const char *what)
{
	char detail[64];
	int rc;

	if (len < 0)
		abort(); /* every caller encodes values checked before: cannot fail */
	rc = send_msg(buf, len);
	if (rc == -EAGAIN || rc == -ENOBUFS) {
		want_out(true);
		return 0;
	}
	if (rc < 0) {
		snprintf(detail, sizeof(detail), "send %s: %s", what, strerror(-rc));
		disconnect(SP_DISC_IO, detail);
		return -1;
	}
	sp.conn.tx_seq++;
	return 1;
}

/*
 * BATCH_ACK with the instance's highest durable seq. When the socket has
 * no room the ack waits for EPOLLOUT (acks are cumulative: the one sent
 * then is the latest). Returns false when the connection was closed.
 */
static bool
send_ack(void)
{
	struct sp_conn *c = &sp.conn;
	int len, rc;

	if (c->fd < 0 || !c->hello || c->inst->durable == 0)
		return true;
	len = tg_punt_encode_batch_ack(sp.tx, sizeof(sp.tx), c->tx_seq + 1, c->inst->durable);
	rc = send_next(sp.tx, len, "batch_ack");
	if (rc <= 0)
		return rc == 0;
	c->ack_due = false;
	sp.cnt[SP_CNT_ACKS]++;
	return true;
}

/* The instance id's slot: found, or a free one, or the least recently used. */
static struct sp_instance *
instance_get(uint64_t id)
{
	struct sp_instance *victim = &sp.inst[0];
	char old[17];

	for (unsigned int i = 0; i < SP_INSTANCES_MAX; i++) {
		if (sp.inst[i].id == id)
			return &sp.inst[i];
		if (sp.inst[i].id == 0 || (victim->id != 0 && sp.inst[i].used < victim->used))
			victim = &sp.inst[i];
	}
	if (victim->id != 0) {
		hex64(victim->id, old);
		sp_log(LOG_INFO,
		       "forget dataplane instance %s, the least recently seen of %d: its events "
		       "up to %" PRIu64 " are durable",
		       old, SP_INSTANCES_MAX, victim->durable);
	}
	memset(victim, 0, sizeof(*victim));
	victim->id = id;
	snprintf(victim->cursor, sizeof(victim->cursor), "dp.%016" PRIx64, id);
	return victim;
}

/* Software name from the peer, printable for the logs. */
static void
printable(char *dst, size_t size, const struct tg_punt_str *s)
{
	size_t n = s->len < size - 1 ? s->len : size - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = s->p[i] > 0x20 && s->p[i] < 0x7f ? s->p[i] : s->p[i] == ' ' ? ' ' : '?';
	dst[n] = '\0';
}

/* HELLO: answer it; returns 0 or the disconnect reason. */
static unsigned int
on_hello(const struct tg_punt_hello *h)
{
	struct sp_conn *c = &sp.conn;
	struct tg_punt_hello_ack ack;
	char inst[17], software[TG_PUNT_NAME_MAX + 1], detail[128];
	int len, rc;

	tg_punt_hello_answer(&sp.self, h, &ack);
	len = tg_punt_encode_hello_ack(sp.tx, sizeof(sp.tx), 1, &ack);
	if (len < 0)
		abort(); /* the answer is built to encode */
	rc = send_msg(sp.tx, len);
	if (rc < 0) {
		snprintf(detail, sizeof(detail), "send hello_ack: %s", strerror(-rc));
		disconnect(SP_DISC_IO, detail);
		return 0;
	}
	c->tx_seq = 1;
	c->rx_seq = 1;
	hex64(h->instance, inst);
	printable(software, sizeof(software), &h->software);
	if (ack.status != TG_PUNT_HELLO_ACCEPT) {
		snprintf(detail, sizeof(detail), "hello from %s (role %u, versions %u..%u) refused",
			 software, h->role, h->vmin, h->vmax);
		disconnect(ack.refuse == TG_PUNT_REFUSE_ROLE ? TG_PUNT_ERR_HELLO_ROLE
							     : TG_PUNT_ERR_HELLO_VERSION,
			   detail);
		return 0;
	}
	c->hello = true;
	c->version = ack.version;
	c->takes_policy = (h->caps & TG_PUNT_CAP_POLICY) != 0 && sp.cfg.policy[0] != '\0';
	c->gives_stats = (h->caps & TG_PUNT_CAP_STATS) != 0;
	c->gives_sessions = (h->caps & TG_PUNT_CAP_SESSIONS) != 0;
	c->auth = (h->caps & TG_PUNT_CAP_AUTH) != 0 && (sp.self.caps & TG_PUNT_CAP_AUTH) != 0;
	c->holds = (h->caps & TG_PUNT_CAP_HOLD) != 0;
	c->audit_state = (h->caps & TG_PUNT_CAP_AUDIT_STATE) != 0;
	c->tcp_grants = (h->caps & TG_PUNT_CAP_TCP_GRANTS) != 0 &&
			(sp.self.caps & TG_PUNT_CAP_TCP_GRANTS) != 0;
	c->state_sent = -1; /* the state goes right after the HELLO_ACK (pump) */
	if (c->auth && sp.authn_inst != h->instance) {
		/* another dataplane process: the sessions of the last one are gone */
		tg_authn_reset(sp.authn);
		sp.authn_inst = h->instance;
	}
	c->inst = instance_get(h->instance);
	c->inst->used = ++sp.inst_clock;
	if (c->inst->appended == 0) {
		/* the store remembers what an earlier slowpath appended for it */
		uint64_t v = 0;

		rc = tg_audit_cursor_get(sp.audit, c->inst->cursor, &v);
		if (rc == 0)
			c->inst->appended = c->inst->durable = v;
		else if (rc != -ENOENT)
			sp_log(LOG_ERR, "read the event cursor of %s: %s; duplicates are possible",
			       inst, tg_audit_error(sp.audit));
	}
	snprintf(c->name, sizeof(c->name), "dataplane %s (pid %d)", inst, (int)c->pid);
	if (c->inst->appended != 0)
		sp_log(LOG_INFO,
		       "resume %s: %s, protocol version %u; events up to %" PRIu64
		       " are durable, later ones are expected again",
		       c->name, software, c->version, c->inst->durable);
	else
		sp_log(LOG_INFO, "accept %s: %s, protocol version %u, a new instance", c->name,
		       software, c->version);
	pump(); /* the store's state (AUDIT_STATE), when it takes it */
	return 0;
}

/* EVENT_BATCH: append what is new; the commit and the ack follow in flush(). */
static unsigned int
on_batch(const struct tg_punt_batch *b)
{
	struct sp_conn *c = &sp.conn;
	struct sp_instance *in = c->inst;
	struct tg_punt_iter it = b->events;
	struct tg_punt_event ev;
	json_t *rec;
	int rc;

	sp.cnt[SP_CNT_BATCHES]++;
	in->used = ++sp.inst_clock;
	c->ack_due = true;
	if (in->appended != 0 && b->first_seq > in->appended + 1) {
		uint64_t lost = b->first_seq - in->appended - 1;

		sp_log(LOG_WARNING,
		       "record gap for %s: events %" PRIu64 "..%" PRIu64 " never arrived (%" PRIu64
		       " lost by the dataplane)",
		       c->name, in->appended + 1, b->first_seq - 1, lost);
		rc = tg_audit_append_gap(sp.audit, "dataplane_events_lost",
					 lost > INT64_MAX ? -1 : (int64_t)lost, NULL);
		if (rc < 0) {
			sp.cnt[SP_CNT_APPEND_FAILURES]++;
			sp_log(LOG_ERR, "append gap record for %s: %s", c->name,
			       tg_audit_error(sp.audit));
			return SP_DISC_AUDIT;
		}
		sp.cnt[SP_CNT_GAPS]++;
		in->appended = b->first_seq - 1;
	} else if (in->appended == 0 && b->first_seq != 1) {
		sp_log(LOG_NOTICE,
		       "take events of %s from %" PRIu64
		       ": the earlier ones were acked before this slowpath started, or lost",
		       c->name, b->first_seq);
	}
	while (tg_punt_batch_next(&it, &ev)) {
		sp.cnt[SP_CNT_EVENTS]++;
		if (ev.seq <= in->appended) {
			sp.cnt[SP_CNT_DEDUP_SKIPS]++;
			continue;
		}
		if (ev.type == TG_PUNT_EV_STATEMENT_BEGIN && ev.strict)
			sp.commit_now = true;
		if (ev.type == TG_PUNT_EV_LOST) {
			/* events a worker could not hand over: the log says how many */
			sp_log(LOG_WARNING, "record gap for %s: worker %u lost %" PRIu64
			       " event(s), its buffers were full", c->name, ev.worker, ev.lost);
			rc = tg_audit_append_gap(sp.audit, "dataplane_buffer_full",
						 ev.lost > INT64_MAX ? -1 : (int64_t)ev.lost, NULL);
			if (rc < 0) {
				sp.cnt[SP_CNT_APPEND_FAILURES]++;
				sp_log(LOG_ERR, "append gap record for %s: %s", c->name,
				       tg_audit_error(sp.audit));
				return SP_DISC_AUDIT;
			}
			sp.cnt[SP_CNT_GAPS]++;
			in->appended = ev.seq;
			continue;
		}
		if (ev.type == TG_PUNT_EV_RECORD) {
			recording_event(&ev, in->id);
			in->appended = ev.seq;
			continue;
		}
		if (ev.type == TG_PUNT_EV_SESSION_END)
			recording_event(&ev, in->id);
		rec = event_record(&ev, in->id);
		rc = rec != NULL ? record(rec) : -ENOMEM;
		json_decref(rec);
		if (rc < 0) {
			sp.cnt[SP_CNT_APPEND_FAILURES]++;
			sp_log(LOG_ERR, "append event %" PRIu64 " of %s: %s", ev.seq, c->name,
			       rec != NULL ? tg_audit_error(sp.audit) : "out of memory");
			return SP_DISC_AUDIT;
		}
		sp.cnt[SP_CNT_RECORDS]++;
		if (sp.space.full)
			sp.cnt[SP_CNT_RECORDS_WHILE_FULL]++;
		in->appended = ev.seq;
		/* the session's identity served its last record (authn.h) */
		if (ev.type == TG_PUNT_EV_SESSION_END && sp.authn != NULL &&
		    in->id == sp.authn_inst)
			tg_authn_session_end(sp.authn, ev.worker, ev.session);
		/* a statement held in it waits for nobody now */
		if (ev.type == TG_PUNT_EV_SESSION_END)
			sp_approvals_cancel_session(ev.worker, ev.session, "client_gone");
		/* evidence.md 2.5: a signed checkpoint at each session end */
		if ((ev.type == TG_PUNT_EV_SESSION_END || ev.type == TG_PUNT_EV_FLOW_END) &&
		    tg_audit_checkpoint(sp.audit, "session_end") < 0)
			sp_log(LOG_ERR, "checkpoint after the session end %" PRIu64 " of %s: %s",
			       ev.seq, c->name, tg_audit_error(sp.audit));
	}
	/* durable with these records: after a crash, a batch sent again is not recorded twice */
	if (tg_audit_cursor_set(sp.audit, in->cursor, in->appended) < 0) {
		sp_log(LOG_ERR, "keep the event cursor of %s: %s", c->name, tg_audit_error(sp.audit));
		return SP_DISC_AUDIT;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * The policy: built here, pushed to the dataplane (spolicy.h)
 * ------------------------------------------------------------------- */

#define SP_POLICY_GEN_CURSOR "policy.gen"

static int identity_load(const struct tg_sp_policy *p, char *err, size_t errlen);
static uint64_t now_ms(void);

/*
 * An admin.change record of the policy: action "policy.load" (a file
 * read, validated and compiled, or refused) or "policy.apply" (the
 * dataplane's answer). p may be NULL for a refusal before any parse.
 */
static void
policy_record(const char *action, bool ok, const char *why, const char *actor,
	      const struct tg_sp_policy *p, const char *path, uint64_t gen)
{
	struct rec r = { .root = json_object() };
	char inst[17];

	if (r.root == NULL)
		return;
	put(&r, "event", "type", json_string(tg_audit_event_names[TG_AUDIT_EV_ADMIN_CHANGE]));
	put(&r, NULL, "outcome", json_string(ok ? "success" : "failure"));
	if (!ok)
		put(&r, NULL, "reason_code", json_string("refused"));
	put(&r, "admin", "action", json_string(action));
	put(&r, "admin", "actor", json_string(actor));
	put(&r, "gw", "host", json_string(sp.host));
	if (sp.conn.fd >= 0 && sp.conn.inst != NULL) {
		hex64(sp.conn.inst->id, inst);
		put(&r, "gw", "instance", json_string(inst));
	}
	put(&r, "policy", "source", json_string(path));
	if (gen != 0)
		put_int(&r, "policy", "generation", gen);
	if (p != NULL && p->pol != NULL) {
		put(&r, "policy", "sha256", json_string(p->sha256_hex));
		put_int(&r, "policy", "command_rules", p->pol->nb_cmds);
		put_int(&r, "policy", "detectors", p->pol->nb_dets);
		put_int(&r, "policy", "column_rules", p->pol->nb_cols);
		put_int(&r, "policy", "bytes", p->obj_len);
	}
	if (why != NULL)
		put(&r, "error", "message", json_string(why));
	if (!r.oom && record(r.root) < 0)
		sp_log(LOG_ERR, "append the %s record: %s", action, tg_audit_error(sp.audit));
	else if (r.oom)
		sp_log(LOG_ERR, "append the %s record: out of memory", action);
	json_decref(r.root);
}

static void pump(void);
static bool auth_send(void);
static bool audit_state_send(void);
static bool tcp_grants_send(void);
static void tcp_grants_changed(void);

/* Starts sending the current generation to the dataplane, if it takes one. */
static void
policy_push(void)
{
	struct sp_conn *c = &sp.conn;

	if (c->fd < 0 || !c->takes_policy || !c->have_svcs || sp.pol.gen == 0 ||
	    c->push_gen == sp.pol.gen || c->sent_gen == sp.pol.gen ||
	    c->applied_gen == sp.pol.gen || c->refused_gen == sp.pol.gen)
		return;
	c->push_gen = sp.pol.gen;
	c->push_off = 0;
	pump();
}

/*
 * Reads, validates and compiles the policy file for the services known
 * (the last dataplane's), as the next generation; a refusal keeps the
 * running one. Each attempt is an audit record. actor says who asked.
 */
enum sp_load {
	SP_LOAD_NEW,		/* a new generation, pushed */
	SP_LOAD_UNCHANGED,	/* the file is the running generation's */
	SP_LOAD_REFUSED,	/* err says why; the running generation stays */
	SP_LOAD_WAITING,	/* no dataplane has stated its services yet */
	SP_LOAD_NONE,		/* no policy configured */
};

static enum sp_load
policy_load(const char *actor, char *err, size_t errlen)
{
	struct tg_sp_policy next;
	uint64_t gen = 0;
	int rc;

	if (sp.cfg.policy[0] == '\0')
		return SP_LOAD_NONE;
	if (!sp.have_svcs) {
		sp_log(LOG_INFO, "load policy %s: waiting for a dataplane to state its services",
		       sp.cfg.policy);
		return SP_LOAD_WAITING;
	}
	if (tg_audit_cursor_get(sp.audit, SP_POLICY_GEN_CURSOR, &gen) < 0)
		gen = 0;
	rc = tg_sp_policy_build(&next, sp.cfg.policy, &sp.svcs, gen + 1, err, errlen);
	if (rc < 0) {
		sp.cnt[SP_CNT_POLICY_REFUSED]++;
		sp_log(LOG_ERR, "load policy (%s): refused, generation %" PRIu64 " stays: %s", actor,
		       sp.pol.gen, err);
		policy_record("policy.load", false, err, actor, NULL, sp.cfg.policy, 0);
		return SP_LOAD_REFUSED;
	}
	if (sp.pol.gen != 0 && sp.pol.len == next.len &&
	    memcmp(sp.pol.sha256, next.sha256, sizeof(next.sha256)) == 0 &&
	    sp.conn.applied_gen == sp.pol.gen) {
		sp_log(LOG_INFO, "load policy (%s): %s unchanged (sha256 %s), generation %" PRIu64
		       " stays", actor, sp.cfg.policy, next.sha256_hex, sp.pol.gen);
		tg_sp_policy_free(&next);
		return SP_LOAD_UNCHANGED;
	}
	/* the identity map is part of the file: a broken one refuses the generation */
	if (sp.authn != NULL && identity_load(&next, err, errlen) < 0) {
		sp.cnt[SP_CNT_POLICY_REFUSED]++;
		sp_log(LOG_ERR, "load policy (%s): refused, generation %" PRIu64 " stays: %s",
		       actor, sp.pol.gen, err);
		policy_record("policy.load", false, err, actor, NULL, sp.cfg.policy, 0);
		tg_sp_policy_free(&next);
		return SP_LOAD_REFUSED;
	}
	tg_audit_cursor_set(sp.audit, SP_POLICY_GEN_CURSOR, next.gen);
	tg_sp_policy_free(&sp.pol);
	sp.pol = next;
	tcp_grants_changed(); /* require_grant and on_grant_expiry come with it */
	sp.cnt[SP_CNT_POLICY_LOADS]++;
	sp_log(LOG_NOTICE,
	       "load policy (%s): generation %" PRIu64 " from %s (sha256 %s): %u command rule(s), "
	       "%u detector(s), %u column rule(s), %zu bytes with its databases",
	       actor, sp.pol.gen, sp.cfg.policy, sp.pol.sha256_hex, sp.pol.pol->nb_cmds,
	       sp.pol.pol->nb_dets, sp.pol.pol->nb_cols, sp.pol.obj_len);
	sp.pol_loaded = (uint64_t)time(NULL);
	policy_record("policy.load", true, NULL, actor, &sp.pol, sp.cfg.policy, sp.pol.gen);
	policy_push();
	return SP_LOAD_NEW;
}

/*
 * Sends what waits for room, in order: the ack, the STATS_REQUESTs of
 * stats calls, then the chunks of the generation being pushed. Asks for
 * EPOLLOUT while something is left.
 */
static void
pump(void)
{
	struct sp_conn *c = &sp.conn;
	struct tg_punt_policy_chunk ch;
	int len;

	if (c->fd < 0)
		return;
	if (!audit_state_send())
		return;
	if (c->ack_due && !send_ack())
		return;
	if (!stats_send())
		return;
	if (!sess_send())
		return;
	if (!auth_send())
		return;
	if (!tcp_grants_send())
		return;
	while (c->fd >= 0 && c->push_gen != 0) {
		if (c->push_gen != sp.pol.gen) {
			/* a newer generation replaced it: start that one */
			c->push_gen = sp.pol.gen;
			c->push_off = 0;
			if (c->push_gen == 0)
				break;
		}
		ch.gen = c->push_gen;
		ch.total = (uint32_t)sp.pol.obj_len;
		ch.offset = (uint32_t)c->push_off;
		ch.len = (uint32_t)(sp.pol.obj_len - c->push_off < TG_PUNT_POLICY_CHUNK_MAX
					    ? sp.pol.obj_len - c->push_off
					    : TG_PUNT_POLICY_CHUNK_MAX);
		ch.data = sp.pol.obj + c->push_off;
		len = tg_punt_encode_policy_gen(sp.pol_tx, sizeof(sp.pol_tx), c->tx_seq + 1, &ch);
		if (send_next(sp.pol_tx, len, "policy_gen") <= 0)
			return;
		c->push_off += ch.len;
		if (c->push_off == sp.pol.obj_len) {
			sp.cnt[SP_CNT_POLICY_PUSHED]++;
			sp_log(LOG_INFO, "push policy generation %" PRIu64 " to %s: %zu bytes sent",
			       c->push_gen, c->name, sp.pol.obj_len);
			c->sent_gen = c->push_gen;
			c->push_gen = 0;
		}
	}
	if (c->fd >= 0 && !c->ack_due)
		want_out(false);
}

/* ---------------------------------------------------------------------
 * Audit storage full (NIST SP 800-53 AU-5(4); audit_space.h)
 *
 * After each commit and every second the store is sampled against the
 * watermarks of the config (audit.full_pct, resume_pct, disk_min_mb,
 * disk_resume_mb). Becoming full writes one audit.full record (into the
 * reserve the watermark keeps), logs it at LOG_CRIT and tells the
 * dataplane (AUDIT_STATE full): it refuses every new statement until the
 * state goes back to ok, which writes audit.resumed and tells it again.
 * While full, records still arrive (session ends, checkpoints, the
 * refused statements' own records) and take the reserve; they are
 * counted (records_while_full). A commit that fails with -ENOSPC before
 * a sample saw it coming makes the state full at once; its records then
 * wait for space like any failing commit (main.c Caveats), and the
 * alert is written once they can be.
 *
 * The state survives a restart: the cursor "audit.full" holds the
 * audit.full record's seq + 1 while full, 0 once resumed. A slowpath that
 * starts with the store still full says so to its dataplane without a
 * second alert; one that starts below the low watermark (audit.map_mb
 * raised, disk freed) writes audit.resumed.
 * ------------------------------------------------------------------- */

#define SP_FULL_CURSOR "audit.full"

/* The record of a change: audit.full or audit.resumed, with the numbers behind it. */
static int
space_record(bool full, uint64_t since_seq, uint64_t full_ms, uint64_t *seq)
{
	const struct tg_audit_space *s = &sp.space;
	struct rec r = { .root = json_object() };
	int rc;

	put(&r, "event", "type",
	    json_string(tg_audit_event_names[full ? TG_AUDIT_EV_AUDIT_FULL
						  : TG_AUDIT_EV_AUDIT_RESUMED]));
	put(&r, NULL, "outcome", json_string(full ? "failure" : "success"));
	put(&r, NULL, "reason_code", json_string(s->code));
	put(&r, "gw", "host", json_string(sp.host));
	put(&r, "store", "detail", json_string(s->reason));
	put_int(&r, "store", "map_used", s->last.map_used);
	put_int(&r, "store", "map_size", s->last.map_size);
	if (s->last.disk_known)
		put_int(&r, "store", "disk_free", s->last.disk_free);
	put_int(&r, "store", "full_pct", s->cfg.full_pct);
	put_int(&r, "store", "resume_pct", s->cfg.resume_pct);
	put_int(&r, "store", "disk_min_mb", s->cfg.disk_min >> 20);
	put(&r, "store", "action",
	    json_string(full ? "new statements are refused until the store is below the low "
			       "watermark"
			     : "statements run again"));
	if (!full) {
		put_int(&r, "full", "since_seq", since_seq);
		if (full_ms != UINT64_MAX) /* unknown when it was full before this start */
			put_int(&r, "full", "ms", full_ms);
	}
	if (r.oom) {
		json_decref(r.root);
		return -ENOMEM;
	}
	rc = record_at(r.root, seq);
	json_decref(r.root);
	return rc;
}

/*
 * Writes and commits the record of a change (or, for a change found at
 * start, of a full state that ended while the slowpath was down), keeps
 * the cursor, logs, and tells the dataplane.
 */
static void
space_changed(enum tg_audit_space_change ch, uint64_t since_seq, uint64_t full_ms)
{
	bool full = ch == TG_AUDIT_SPACE_FULL;
	uint64_t seq = 0;
	int rc;

	if (ch == TG_AUDIT_SPACE_SAME)
		return;
	sp.cnt[full ? SP_CNT_AUDIT_FULL : SP_CNT_AUDIT_RESUMED]++;
	rc = space_record(full, since_seq, full_ms, &seq);
	if (rc == 0)
		rc = tg_audit_cursor_set(sp.audit, SP_FULL_CURSOR, full ? seq + 1 : 0);
	if (full)
		sp_log(LOG_CRIT,
		       "audit store %s is full: %s; new statements are refused (AU-5(4)) until "
		       "it is below %u%% of the map%s; raise audit.map_mb and restart, or free "
		       "the disk (record %" PRIu64 ")",
		       sp.cfg.audit.dir, sp.space.reason, sp.space.cfg.resume_pct,
		       sp.space.cfg.disk_min != 0 ? " with disk_resume_mb free" : "", seq);
	else if (full_ms != UINT64_MAX)
		sp_log(LOG_NOTICE,
		       "audit store %s has room again: %s; statements run again after %" PRIu64
		       " ms refused (record %" PRIu64 ")",
		       sp.cfg.audit.dir, sp.space.reason, full_ms, seq);
	else
		sp_log(LOG_NOTICE,
		       "audit store %s has room again: %s; statements run again, refused since "
		       "record %" PRIu64 " before this start (record %" PRIu64 ")",
		       sp.cfg.audit.dir, sp.space.reason, since_seq, seq);
	if (rc < 0) {
		sp.cnt[SP_CNT_APPEND_FAILURES]++;
		sp_log(LOG_ERR, "append %s record to %s: %s", full ? "audit.full" : "audit.resumed",
		       sp.cfg.audit.dir, tg_audit_error(sp.audit));
	} else {
		sp.full_seq = full ? seq : 0;
		if (!sp.commit_failing) {
			/* at once: the alert is the point; a failure waits for the retries */
			tg_siem_save(sp.siem);
			rc = tg_audit_commit(sp.audit, NULL);
			if (rc == 0) {
				sp.cnt[SP_CNT_COMMITS]++;
				committed();
			} else {
				commit_failed(rc);
			}
		}
	}
	pump(); /* AUDIT_STATE to the dataplane */
}

/* Samples the store against the watermarks. */
static void
space_check(void)
{
	struct tg_audit_usage u;
	struct tg_audit_space_sample x;
	uint64_t now = now_ms(), since = sp.full_seq, was_ms;
	enum tg_audit_space_change ch;

	if (tg_audit_usage(sp.audit, &u) < 0) {
		if (!sp.usage_failing)
			sp_log(LOG_ERR, "sample audit store %s: %s", sp.cfg.audit.dir,
			       tg_audit_error(sp.audit));
		sp.usage_failing = true;
		return;
	}
	sp.usage_failing = false;
	x = (struct tg_audit_space_sample){ .map_used = u.map_used, .map_size = u.map_size,
					    .disk_free = u.disk_free, .disk_known = u.disk_known };
	was_ms = !sp.space.full ? 0 : sp.full_at_start ? UINT64_MAX : now - sp.space.since_ms;
	ch = tg_audit_space_update(&sp.space, &x, now);
	if (ch != TG_AUDIT_SPACE_SAME)
		sp.full_at_start = false;
	space_changed(ch, since, was_ms);
}

/* A commit failed: -ENOSPC (map or disk) makes the store full now. */
static void
space_force(int rc)
{
	char why[TG_AUDIT_SPACE_REASON_MAX];

	if (rc != -ENOSPC || sp.space.full)
		return;
	snprintf(why, sizeof(why), "a commit failed: %s", tg_audit_error(sp.audit));
	space_changed(tg_audit_space_force(&sp.space, why, now_ms()), 0, 0);
}

/* At start, after the store is open: the state the last run left, and the one now. */
static void
space_start(void)
{
	struct tg_audit_space_config sc;
	uint64_t v = 0;
	bool was_full;

	tg_sp_config_space(&sp.cfg, &sc);
	tg_audit_space_init(&sp.space, &sc);
	was_full = tg_audit_cursor_get(sp.audit, SP_FULL_CURSOR, &v) == 0 && v != 0;
	if (!was_full) {
		space_check();
		return;
	}
	/* the last run ended full: its alert is in the log, not written again */
	sp.full_seq = v - 1;
	sp.space.full = true;
	sp.space.since_ms = now_ms();
	snprintf(sp.space.reason, sizeof(sp.space.reason),
		 "full since record %" PRIu64 " (before this start)", sp.full_seq);
	sp.space.code = "restart";
	sp.full_at_start = true; /* how long it was full: unknown (the record says since when) */
	space_check();
	if (sp.space.full)
		sp_log(LOG_CRIT,
		       "audit store %s is still full (since record %" PRIu64 "): %s; new "
		       "statements stay refused",
		       sp.cfg.audit.dir, sp.full_seq, sp.space.reason);
}

/* Sends the store's state to a dataplane that takes it, when it changed. Cf. pump(). */
static bool
audit_state_send(void)
{
	struct sp_conn *c = &sp.conn;
	struct tg_punt_audit_state st;
	char reason[TG_AUDIT_SPACE_REASON_MAX];
	int len, rc;
	size_t i;

	st.state = sp.space.full ? TG_PUNT_AUDIT_FULL : TG_PUNT_AUDIT_OK;
	if (c->fd < 0 || !c->hello || !c->audit_state || c->state_sent == (int)st.state)
		return true;
	/* printable, as the codec wants: the reason may quote an LMDB message */
	snprintf(reason, sizeof(reason), "%s", sp.space.full ? sp.space.reason : "");
	for (i = 0; reason[i] != '\0'; i++)
		if ((unsigned char)reason[i] < 0x20 || (unsigned char)reason[i] >= 0x7f)
			reason[i] = '?';
	if (sp.space.full && i == 0)
		snprintf(reason, sizeof(reason), "audit store full");
	st.reason.p = reason;
	st.reason.len = (uint32_t)strlen(reason);
	len = tg_punt_encode_audit_state(sp.tx, sizeof(sp.tx), c->tx_seq + 1, &st);
	rc = send_next(sp.tx, len, "audit_state");
	if (rc <= 0)
		return rc == 0;
	c->state_sent = st.state;
	sp.cnt[SP_CNT_AUDIT_STATE_SENT]++;
	sp_log(LOG_INFO, "tell %s: audit store %s", c->name, sp.space.full ? "full" : "ok");
	return true;
}

/* SERVICES: the names the policy is validated against; then the policy, built and pushed. */
static unsigned int
on_services(const struct tg_punt_services *sv)
{
	struct sp_conn *c = &sp.conn;
	struct tg_services svcs;
	bool same;

	if (!c->takes_policy || c->have_svcs)
		return SP_DISC_UNEXPECTED;
	memset(&svcs, 0, sizeof(svcs));
	for (uint16_t i = 0; i < sv->count && i < TG_MAX_SERVICES; i++) {
		uint32_t n = sv->name[i].len < TG_SERVICE_NAME_MAX - 1 ? sv->name[i].len
									: TG_SERVICE_NAME_MAX - 1;

		memcpy(svcs.svc[i].name, sv->name[i].p, n);
		svcs.nb++;
	}
	c->have_svcs = true;
	same = sp.have_svcs && svcs.nb == sp.svcs.nb;
	for (unsigned int i = 0; same && i < svcs.nb; i++)
		same = strcmp(svcs.svc[i].name, sp.svcs.svc[i].name) == 0;
	sp.svcs = svcs;
	sp.have_svcs = true;
	sp_log(LOG_INFO, "%s states %u service(s)%s", c->name, svcs.nb,
	       sp.cfg.policy[0] == '\0' ? "; no policy configured here, it keeps its own" : "");
	if (!same || sp.pol.gen == 0) {
		char err[1024];

		policy_load("dataplane services", err, sizeof(err));
	} else
		policy_push();
	return 0;
}

/* POLICY_ACK: the dataplane applied a generation, or refused it and kept its own. */
static unsigned int
on_policy_ack(const struct tg_punt_policy_ack *a)
{
	struct sp_conn *c = &sp.conn;
	char why[TG_PUNT_REASON_MAX + 1];
	bool ok = a->status == TG_PUNT_POLICY_APPLIED;

	/*
	 * Answers come in the order the generations were sent: one sent before
	 * a newer one replaced it may still be answered, once.
	 */
	if (a->gen == 0 || a->gen > c->sent_gen || a->gen <= c->answered_gen)
		return SP_DISC_UNEXPECTED;
	c->answered_gen = a->gen;
	printable(why, sizeof(why), &a->reason);
	if (ok) {
		c->applied_gen = a->gen;
		c->refused_gen = 0;
		sp.cnt[SP_CNT_POLICY_APPLIED]++;
		sp_log(LOG_NOTICE, "%s applied policy generation %" PRIu64, c->name, a->gen);
	} else {
		c->refused_gen = a->gen;
		sp.cnt[SP_CNT_POLICY_DP_REFUSED]++;
		sp_log(LOG_ERR, "%s refused policy generation %" PRIu64 ", its own stays: %s",
		       c->name, a->gen, why);
	}
	policy_record("policy.apply", ok, ok ? NULL : why, c->name,
		      a->gen == sp.pol.gen ? &sp.pol : NULL, sp.cfg.policy, a->gen);
	/* a newer generation may have been built meanwhile (a refused one is not sent again) */
	policy_push();
	return 0;
}

/* ---------------------------------------------------------------------
 * The identity takeover (DESIGN.md "Identity"; punt.h "AUTH"; authn.h)
 *
 * authn.c decides; this does its I/O. AUTH_REQUEST and AUTH_SERVER go
 * in (only on a connection where both sides stated TG_PUNT_CAP_AUTH:
 * otherwise they are unexpected, a violation like any other); its
 * replies come out of authn_reply() into a queue that pump() sends in
 * order (an AUTH_REPLY SEND is wiped once sent or dropped), and its
 * outcomes become authn.* records (authn_event()). The replies are only
 * queued inside the callback, never sent from it: a send that fails
 * disconnects, which drops logins, which must not happen while authn.c
 * walks them. The key set is the file's (jwks_file) or the fetcher's
 * (jwks_fetch.h, its fd in the loop); the identity map is the policy
 * file's "identity" section, parsed when the policy loads (a broken
 * section refuses the whole generation: the running one and its map
 * stay); the credentials are read at start, before privileges drop
 * (the file may be root's), and again on SIGHUP.
 * ------------------------------------------------------------------- */

static void
put_seq(uint8_t *buf, uint64_t seq)
{
	for (int i = 0; i < 8; i++)
		buf[16 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

static void
auth_queue_free(void)
{
	struct sp_auth_out *q;

	while ((q = sp.aq_head) != NULL) {
		sp.aq_head = q->next;
		explicit_bzero(q->buf, q->len);
		free(q);
	}
	sp.aq_tail = NULL;
}

/* Sends the queued AUTH_REPLYs in order; false when the socket is full or closed. */
static bool
auth_send(void)
{
	struct sp_conn *c = &sp.conn;
	struct sp_auth_out *q;
	int rc;

	while ((q = sp.aq_head) != NULL && c->fd >= 0) {
		/* the header is frozen (punt.h): seq at offset 16, set as it leaves */
		put_seq(q->buf, c->tx_seq + 1);
		rc = send_next(q->buf, (int)q->len, "auth_reply");
		if (rc <= 0)
			return false;
		sp.aq_head = q->next;
		if (sp.aq_head == NULL)
			sp.aq_tail = NULL;
		explicit_bzero(q->buf, q->len);
		free(q);
	}
	return c->fd >= 0;
}

static void
authn_reply(void *arg, const struct tg_authn_reply *r)
{
	struct tg_punt_auth pa = {
		.worker = r->worker,
		.session = r->session,
		.action = r->action,
		.data = { .p = r->data, .len = (uint32_t)r->len },
	};
	struct sp_auth_out *q;
	size_t cap = TG_PUNT_HDR_LEN + 64 + r->len + TG_PUNT_REASON_MAX + 2 * TG_PUNT_NAME_MAX;
	int len;

	(void)arg;
	if (sp.conn.fd < 0 || !sp.conn.auth)
		return; /* nobody to tell: the dataplane resets its sessions itself */
	if (r->sqlstate != NULL)
		pa.sqlstate = (struct tg_punt_str){ .p = r->sqlstate, .len = 5 };
	if (r->text != NULL)
		pa.text = (struct tg_punt_str){
			.p = r->text,
			.len = (uint32_t)strnlen(r->text, TG_PUNT_REASON_MAX),
		};
	if (r->role != NULL)
		pa.role = (struct tg_punt_str){
			.p = r->role,
			.len = (uint32_t)strnlen(r->role, TG_PUNT_NAME_MAX),
		};
	q = malloc(sizeof(*q) + cap);
	if (q == NULL) {
		sp_log(LOG_ERR,
		       "answer login %u/%" PRIu64 ": out of memory; the dataplane's "
		       "login deadline ends it",
		       r->worker, r->session);
		return;
	}
	len = tg_punt_encode_auth(q->buf, cap, 1, TG_PUNT_T_AUTH_REPLY, &pa);
	if (len < 0) {
		sp_log(LOG_ERR, "answer login %u/%" PRIu64 ": cannot encode the %u reply: %s",
		       r->worker, r->session, r->action, strerror(-len));
		explicit_bzero(q->buf, cap);
		free(q);
		return;
	}
	q->len = (size_t)len;
	q->next = NULL;
	if (sp.aq_tail != NULL)
		sp.aq_tail->next = q;
	else
		sp.aq_head = q;
	sp.aq_tail = q;
	if (!sp.conn.out_armed)
		want_out(true); /* sent by pump() from the loop, after authn.c returned */
}

/* An authn.success, authn.failure or authn.expired record, and one log line. */
static void
authn_event(void *arg, const struct tg_authn_event *e)
{
	static const enum tg_audit_event_type types[] = {
		[TG_AUTHN_EV_SUCCESS] = TG_AUDIT_EV_AUTHN_SUCCESS,
		[TG_AUTHN_EV_FAILURE] = TG_AUDIT_EV_AUTHN_FAILURE,
		[TG_AUTHN_EV_EXPIRED] = TG_AUDIT_EV_AUTHN_EXPIRED,
	};
	const struct tg_authn_who *w = e->who;
	struct rec r = { .root = json_object() };
	char inst[17], sid[64];
	const char *what = tg_audit_event_names[types[e->kind]];

	(void)arg;
	hex64(sp.authn_inst, inst);
	snprintf(sid, sizeof(sid), "%s-%u-%" PRIu64, inst, e->worker, e->session);
	if (e->kind == TG_AUTHN_EV_SUCCESS)
		sp_log(LOG_INFO, "%s: session %s: sub %.64s on %s as role %s", what, sid, w->sub,
		       w->service, w->role);
	else
		sp_log(LOG_NOTICE, "%s: session %s on %s: %s (%s)%s%s", what, sid, w->service,
		       e->reason, e->detail != NULL ? e->detail : "",
		       e->sqlstate != NULL ? "; told " : "",
		       e->sqlstate != NULL ? e->sqlstate : "");
	if (r.root == NULL)
		return;
	put(&r, "event", "type", json_string(what));
	put(&r, NULL, "outcome",
	    json_string(e->kind == TG_AUTHN_EV_SUCCESS ? "success" : "failure"));
	if (e->kind != TG_AUTHN_EV_SUCCESS)
		put(&r, NULL, "reason_code", json_string(e->reason));
	put(&r, "gw", "host", json_string(sp.host));
	put(&r, "gw", "instance", json_string(inst));
	put_int(&r, "gw", "worker", e->worker);
	put(&r, NULL, "protocol", json_string("postgres"));
	put(&r, "session", "id", json_string(sid));
	put_endpoint(&r, "src",
		     &(struct tg_punt_str){ .p = w->client, .len = (uint32_t)strlen(w->client) });
	put_endpoint(&r, "dst",
		     &(struct tg_punt_str){ .p = w->server, .len = (uint32_t)strlen(w->server) });
	if (w->service[0] != '\0')
		put(&r, "dst", "service", json_string(w->service));
	put_who(&r, w);
	if (e->detail != NULL && e->kind != TG_AUTHN_EV_SUCCESS)
		put(&r, "error", "message", json_string(e->detail));
	if (e->sqlstate != NULL)
		put(&r, "error", "sqlstate", json_string(e->sqlstate));
	if (e->text != NULL)
		put(&r, "error", "client_message", json_string(e->text));
	if (e->server_sqlstate != NULL) {
		put(&r, "upstream", "sqlstate", json_string(e->server_sqlstate));
		put(&r, "upstream", "message",
		    jstr(&(struct tg_punt_str){ .p = e->server_message,
						.len = (uint32_t)strlen(e->server_message) }));
	}
	if (r.oom || record(r.root) < 0) {
		sp.cnt[SP_CNT_APPEND_FAILURES]++;
		sp_log(LOG_ERR, "append the %s record of session %s: %s", what, sid,
		       r.oom ? "out of memory" : tg_audit_error(sp.audit));
	} else {
		sp.cnt[SP_CNT_RECORDS]++;
	}
	json_decref(r.root);
}

static const struct tg_jwks *
authn_keys(void *arg)
{
	(void)arg;
	return sp.fetch != NULL ? tg_jwks_fetch_keys(sp.fetch) : sp.jwks;
}

static int
authn_want_kid(void *arg, const char *kid)
{
	(void)arg;
	return tg_jwks_fetch_want_kid(sp.fetch, kid);
}

/* The fetcher's on_update, from inside tg_jwks_fetch_on_ready(). */
static void
on_keys(void *arg, int rc)
{
	(void)arg;
	if (rc == 0)
		sp_log(LOG_INFO, "identity: key set of %s fetched: %u key(s)",
		       sp.cfg.identity.issuer, tg_jwks_count(tg_jwks_fetch_keys(sp.fetch)));
	else
		sp_log(LOG_WARNING,
		       "identity: fetch the key set of %s: %s; the last good set "
		       "stays",
		       sp.cfg.identity.issuer, tg_jwks_fetch_error(sp.fetch));
	if (sp.authn != NULL)
		tg_authn_keys_updated(sp.authn, rc, now_ms(), (int64_t)time(NULL));
}

/* A verifier for the configured issuer whose groups are at path[0..depth). */
static struct tg_jwt *
make_verifier(const char (*path)[TG_SP_CLAIM_NAME], unsigned int depth, char *err, size_t errlen)
{
	const char *names[TG_SP_CLAIM_DEPTH];
	struct tg_jwt_cfg jc = {
		.issuer = sp.cfg.identity.issuer,
		.audience = sp.cfg.identity.audience,
		.azp = sp.cfg.identity.azp[0] ? sp.cfg.identity.azp : NULL,
		.groups_path = names,
		.groups_path_len = depth,
		.skew_s = sp.cfg.identity.skew_s,
		.max_age_s = sp.cfg.identity.max_age_s,
		.algs = sp.cfg.identity.algs,
		.cache_max = sp.cfg.identity.cache_max,
	};

	for (unsigned int i = 0; i < depth; i++)
		names[i] = path[i];
	return tg_jwt_new(&jc, err, errlen);
}

/* ["a", "b"] of a claim path, for messages */
static void
path_text(char *out, size_t size, const char *const *p, unsigned int depth)
{
	size_t n = 0;
	int m;

	out[0] = '\0';
	for (unsigned int i = 0; i < depth && n < size; i++) {
		m = snprintf(out + n, size - n, "%s\"%s\"%s", i ? ", " : "[", p[i],
			     i + 1 == depth ? "]" : "");
		n += m > 0 ? (size_t)m : 0;
	}
}

/*
 * The "identity" section of a policy being loaded (p, not yet in force),
 * parsed against the dataplane's services; its claim path must be the
 * configured groups_claim when one is configured. On success the map
 * (and, for a new claim path, a new verifier) is put in force. 0, or
 * -EINVAL with err.
 */
static int
identity_load(const struct tg_sp_policy *p, char *err, size_t errlen)
{
	const char *names[TG_MAX_SERVICES];
	const char *const *path;
	char(*want)[TG_SP_CLAIM_NAME];
	unsigned int depth, wdepth;
	struct tg_idmap *m = NULL;
	struct tg_jwt *v;
	char a[512], b[512];
	bool same;
	int rc;

	for (unsigned int i = 0; i < sp.svcs.nb; i++)
		names[i] = sp.svcs.svc[i].name;
	rc = tg_idmap_parse(p->text, p->len, sp.cfg.policy, names, sp.svcs.nb, &m, err, errlen);
	if (rc == -ENOENT) {
		sp_log(LOG_WARNING,
		       "identity: policy %s has no \"identity\" section: every "
		       "identity login is refused",
		       sp.cfg.policy);
		tg_authn_set_idmap(sp.authn, NULL);
		return 0;
	}
	if (rc < 0)
		return rc;
	depth = tg_idmap_claim_path(m, &path);
	if (sp.cfg.identity.groups_claim_len != 0) {
		const char *cfgp[TG_SP_CLAIM_DEPTH];

		for (unsigned int i = 0; i < sp.cfg.identity.groups_claim_len; i++)
			cfgp[i] = sp.cfg.identity.groups_claim[i];
		same = depth == sp.cfg.identity.groups_claim_len;
		for (unsigned int i = 0; same && i < depth; i++)
			same = strcmp(path[i], cfgp[i]) == 0;
		if (!same) {
			path_text(a, sizeof(a), path, depth);
			path_text(b, sizeof(b), cfgp, sp.cfg.identity.groups_claim_len);
			tg_sp_seterr(
				err, errlen,
				"%s: identity.claim_groups %s differs from "
				"identity.groups_claim %s of %s: the verifier and the map must "
				"read the same claim",
				sp.cfg.policy, a, b, sp.cfg.config_path);
			tg_idmap_free(m);
			return -EINVAL;
		}
	}
	same = depth == sp.vdepth;
	for (unsigned int i = 0; same && i < depth; i++)
		same = strcmp(path[i], sp.vpath[i]) == 0;
	if (!same) {
		want = calloc(TG_SP_CLAIM_DEPTH, sizeof(*want));
		if (want == NULL) {
			tg_idmap_free(m);
			tg_sp_seterr(err, errlen, "identity: out of memory");
			return -ENOMEM;
		}
		wdepth = depth;
		for (unsigned int i = 0; i < depth; i++)
			snprintf(want[i], TG_SP_CLAIM_NAME, "%s", path[i]);
		v = make_verifier((const char(*)[TG_SP_CLAIM_NAME])want, wdepth, b, sizeof(b));
		if (v == NULL) {
			tg_sp_seterr(err, errlen, "%s: identity.claim_groups: %s", sp.cfg.policy,
				     b);
			free(want);
			tg_idmap_free(m);
			return -EINVAL;
		}
		memcpy(sp.vpath, want, sizeof(sp.vpath));
		sp.vdepth = wdepth;
		free(want);
		tg_authn_set_verifier(sp.authn, v); /* the cache goes with the old one */
	}
	tg_authn_set_idmap(sp.authn, m);
	sp_log(LOG_INFO, "identity: %zu rule(s) from %s", tg_idmap_rules(m), sp.cfg.policy);
	return 0;
}

/* identity.credentials, at start (as root, before the drop) and on SIGHUP; 0 or -1. */
static int
identity_creds(const char *why)
{
	struct tg_credstore *cs = NULL;
	char err[512];
	int rc;

	rc = tg_credstore_load(sp.cfg.identity.credentials, sp.root ? sp.uid : (uid_t)-1, &cs, err,
			       sizeof(err));
	if (rc < 0) {
		sp_log(LOG_ERR, "identity: load credentials (%s): %s%s", why, err,
		       sp.authn != NULL ? "; the loaded ones stay" : "");
		return -1;
	}
	sp_log(LOG_INFO, "identity: %zu credential(s) from %s (%s)", tg_credstore_count(cs),
	       sp.cfg.identity.credentials, why);
	tg_authn_set_credstore(sp.authn, cs);
	return 0;
}

/* identity.jwks_file, after the drop and on SIGHUP; 0 or -1. */
static int
identity_jwks_file(const char *why)
{
	struct tg_jwks *set = NULL;
	char err[512];

	if (tg_jwks_load_file(sp.cfg.identity.jwks_file, &set, err, sizeof(err)) < 0) {
		sp_log(LOG_ERR, "identity: load key set %s (%s): %s%s", sp.cfg.identity.jwks_file,
		       why, err, sp.jwks != NULL ? "; the loaded one stays" : "");
		return -1;
	}
	tg_jwks_free(sp.jwks);
	sp.jwks = set;
	sp_log(LOG_INFO, "identity: key set %s: %u key(s) (%s)", sp.cfg.identity.jwks_file,
	       tg_jwks_count(set), why);
	return 0;
}

/* Before the drop: the login machine and the credentials (the file may be root's). */
static int
open_identity(void)
{
	struct tg_authn_cfg ac = {
		.login_timeout_ms = sp.cfg.identity.login_timeout_ms,
		.max_logins = sp.cfg.identity.max_logins,
		.max_sessions = sp.cfg.identity.max_sessions,
		.keys = authn_keys,
		.want_kid = sp.cfg.identity.jwks_file[0] == '\0' ? authn_want_kid : NULL,
		.reply = authn_reply,
		.event = authn_event,
	};
	char err[512];
	struct tg_jwt *v;

	if (!sp.cfg.identity.enabled)
		return 0;
	sp.authn = tg_authn_new(&ac);
	if (sp.authn == NULL) {
		sp_log(LOG_ERR, "identity: %s", strerror(errno));
		return -1;
	}
	/* the configured groups claim, or "groups" until the policy names its own */
	if (sp.cfg.identity.groups_claim_len != 0) {
		memcpy(sp.vpath, sp.cfg.identity.groups_claim, sizeof(sp.vpath));
		sp.vdepth = sp.cfg.identity.groups_claim_len;
	} else {
		snprintf(sp.vpath[0], sizeof(sp.vpath[0]), "groups");
		sp.vdepth = 1;
	}
	v = make_verifier((const char(*)[TG_SP_CLAIM_NAME])sp.vpath, sp.vdepth, err, sizeof(err));
	if (v == NULL) {
		sp_log(LOG_ERR, "identity: %s: %s", sp.cfg.config_path, err);
		return -1;
	}
	tg_authn_set_verifier(sp.authn, v);
	return identity_creds("start");
}

/* After the drop: the key set (a file, or fetched over HTTPS as the unprivileged user). */
static int
open_identity_keys(void)
{
	struct tg_jwks_fetch_cfg fc = {
		.issuer = sp.cfg.identity.issuer,
		.jwks_uri = sp.cfg.identity.jwks_uri[0] ? sp.cfg.identity.jwks_uri : NULL,
		.ca_file = sp.cfg.identity.ca_file[0] ? sp.cfg.identity.ca_file : NULL,
		.cooldown_s = sp.cfg.identity.refetch_cooldown_s,
		.on_update = on_keys,
	};
	char err[512];
	int rc;

	if (sp.authn == NULL)
		return 0;
	if (sp.cfg.identity.jwks_file[0] != '\0')
		return identity_jwks_file("start");
	sp.fetch = tg_jwks_fetch_new(&fc, err, sizeof(err));
	if (sp.fetch == NULL) {
		sp_log(LOG_ERR, "identity: key set of %s: %s", sp.cfg.identity.issuer, err);
		return -1;
	}
	if (epoll_set(EPOLL_CTL_ADD, tg_jwks_fetch_fd(sp.fetch), EPOLLIN, TAG_JWKS) < 0) {
		sp_log(LOG_ERR, "identity: watch the key set fetcher: %s", strerror(errno));
		return -1;
	}
	rc = tg_jwks_fetch_start(sp.fetch);
	if (rc < 0 && rc != -EINPROGRESS)
		sp_log(LOG_WARNING, "identity: start fetching the key set of %s: %s; retried",
		       sp.cfg.identity.issuer, strerror(-rc));
	sp_log(LOG_INFO, "identity: issuer %s, keys from %s", sp.cfg.identity.issuer,
	       sp.cfg.identity.jwks_uri[0] ? sp.cfg.identity.jwks_uri
					   : sp.cfg.identity.discovery_url);
	return 0;
}

/* AUTH_REQUEST: a login to take over. The token's bytes are wiped here, answered or not. */
static unsigned int
on_auth_request(const struct tg_punt_auth *pa)
{
	struct tg_authn_request req = {
		.worker = pa->worker,
		.session = pa->session,
		.service = pa->service.p,
		.service_len = pa->service.len,
		.client = pa->client.p,
		.client_len = pa->client.len,
		.server = pa->server.p,
		.server_len = pa->server.len,
		.startup = pa->startup.p,
		.startup_len = pa->startup.len,
		.token = (const char *)pa->token.p,
		.token_len = pa->token.len,
	};
	int rc;

	rc = tg_authn_request(sp.authn, &req, now_ms(), (int64_t)time(NULL));
	if (pa->token.len != 0)
		explicit_bzero((void *)(uintptr_t)pa->token.p, pa->token.len);
	return rc == -EEXIST ? SP_DISC_UNEXPECTED : 0;
}

/* AUTH_SERVER: the server's next message of a login; one for no login is dropped (late). */
static unsigned int
on_auth_server(const struct tg_punt_auth *pa)
{
	tg_authn_server(sp.authn, pa->worker, pa->session, pa->data.p, pa->data.len, now_ms(),
			(int64_t)time(NULL));
	return 0;
}

/* The "identity" part of stats: the login counters, the verifier's and the fetcher's. */
static json_t *
identity_stats(void)
{
	struct tg_authn_stats st;
	struct tg_jwt_stats js;
	json_t *o, *cnt = json_object(), *by = json_object(), *tok = json_object(), *jw;

	if (sp.authn == NULL)
		return NULL;
	tg_authn_stats(sp.authn, &st);
	for (unsigned int i = 0; i < TG_AUTHN_CNT_MAX; i++)
		json_object_set_new(cnt, tg_authn_counter_name(i),
				    json_integer((json_int_t)st.cnt[i]));
	for (unsigned int i = 0; i < TG_AUTHN_R_MAX; i++)
		if (st.refused_by[i] != 0)
			json_object_set_new(by, tg_authn_reason_name(i),
					    json_integer((json_int_t)st.refused_by[i]));
	for (unsigned int i = 0; i < TG_JWT_REASON_MAX; i++)
		if (st.token_refused_by[i] != 0)
			json_object_set_new(tok, tg_jwt_reason_name(i),
					    json_integer((json_int_t)st.token_refused_by[i]));
	jw = json_object();
	if (tg_authn_verifier(sp.authn) != NULL) {
		tg_jwt_stats(tg_authn_verifier(sp.authn), &js);
		for (unsigned int i = 0; i < TG_JWT_CNT_MAX; i++)
			json_object_set_new(jw, tg_jwt_counter_name(i),
					    json_integer((json_int_t)js.cnt[i]));
	}
	o = json_pack("{s:o, s:o, s:o, s:o, s:i, s:i}", "counters", cnt, "refused_by", by,
		      "token_refused_by", tok, "jwt", jw, "logins_in_flight", (int)st.in_flight,
		      "sessions", (int)st.sessions);
	if (o != NULL && sp.fetch != NULL) {
		struct tg_jwks_fetch_stats fs;
		json_t *f = json_object();

		tg_jwks_fetch_stats(sp.fetch, &fs);
		for (unsigned int i = 0; i < TG_JWKS_FETCH_CNT_MAX; i++)
			json_object_set_new(f, tg_jwks_fetch_counter_name(i),
					    json_integer((json_int_t)fs.cnt[i]));
		json_object_set_new(f, "keys", json_integer(fs.keys));
		json_object_set_new(o, "jwks_fetch", f);
	}
	if (o != NULL && sp_grants_store() != NULL) {
		json_t *g = sp_grants_stats_json();

		/* the logins it refused and the sessions it ended are authn's counters */
		if (g != NULL) {
			json_object_set_new(
				g, "refused_no_grant",
				json_integer((json_int_t)st.refused_by[TG_AUTHN_R_NO_GRANT]));
			json_object_set_new(
				g, "sessions_ended",
				json_integer((json_int_t)st.cnt[TG_AUTHN_CNT_GRANT_ENDED]));
			json_object_set_new(o, "grants", g);
		}
	}
	return o;
}

/* ---------------------------------------------------------------------
 * Just-in-time grants (mgrants.h): the store in the audit directory, its
 * records, and running sessions checked when a grant ends.
 * ------------------------------------------------------------------- */

static void
grants_record(void *arg, json_t *rec)
{
	const char *type =
		json_string_value(json_object_get(json_object_get(rec, "event"), "type"));

	(void)arg;
	json_object_set_new(rec, "gw", json_pack("{s:s}", "host", sp.host));
	if (record(rec) < 0) {
		sp.cnt[SP_CNT_APPEND_FAILURES]++;
		sp_log(LOG_ERR, "append the %s record: %s", type != NULL ? type : "grant",
		       tg_audit_error(sp.audit));
	} else {
		sp.cnt[SP_CNT_RECORDS]++;
	}
}

/* A grant ended: sessions on it end now (answered only to a dataplane there). */
static void
grants_changed(void *arg)
{
	(void)arg;
	if (sp.authn != NULL && sp.conn.fd >= 0 && sp.conn.auth) {
		tg_authn_grants_changed(sp.authn, now_ms(), (int64_t)time(NULL));
		pump();
	}
}

static void
grants_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	sp_log(prio, "%s", msg);
}

static int
grants_service_known(void *arg, const char *service)
{
	(void)arg;
	if (!sp.have_svcs)
		return -1;
	for (unsigned int i = 0; i < sp.svcs.nb; i++)
		if (strcmp(sp.svcs.svc[i].name, service) == 0)
			return 1;
	return 0;
}

/* 1: a tcp service of the last dataplane, 0: another, -1: not stated yet (mgrants.h). */
static int
grants_service_tcp(void *arg, const char *service)
{
	(void)arg;
	if (!sp.have_tcp_svcs)
		return -1;
	for (unsigned int i = 0; i < sp.nb_tcp_svcs; i++)
		if (strcmp(sp.tcp_svcs[i], service) == 0)
			return 1;
	return 0;
}

static void
grants_updated(void *arg)
{
	(void)arg;
	tcp_grants_changed();
}

/* ---------------------------------------------------------------------
 * TCP grants (punt.h "TCP GRANTS"; grants_tcp.h): the dataplane's tcp
 * services in, the whole table of live tcp grants out at every change.
 * ------------------------------------------------------------------- */

/* TCP_SERVICES: the dataplane's tcp services; its table follows. */
static unsigned int
on_tcp_services(const struct tg_punt_services *sv)
{
	struct sp_conn *c = &sp.conn;

	if (!c->tcp_grants || c->have_tcp_svcs)
		return SP_DISC_UNEXPECTED;
	for (uint16_t i = 0; i < sv->count; i++)
		snprintf(sp.tcp_svcs[i], sizeof(sp.tcp_svcs[i]), "%.*s", (int)sv->name[i].len,
			 sv->name[i].p);
	sp.nb_tcp_svcs = sv->count;
	sp.have_tcp_svcs = true;
	c->have_tcp_svcs = true;
	sp_log(LOG_INFO, "%s states %u tcp service(s)", c->name, sv->count);
	pump();
	return 0;
}

/* The grants or the policy changed: the dataplane gets the table again. */
static void
tcp_grants_changed(void)
{
	sp.tcpg_gen++;
	pump();
}

/*
 * TCP_GRANTS, when the dataplane has not the latest: the tcp services
 * whose policy options say require_grant, and their live grants. Returns
 * false when it must wait for room (EPOLLOUT) or the connection closed.
 */
static bool
tcp_grants_send(void)
{
	struct sp_conn *c = &sp.conn;
	struct tg_grants_tcp_svc svcs[TG_PUNT_SERVICES_MAX];
	const struct tg_idmap *m = tg_authn_idmap(sp.authn);
	unsigned int n = 0, ngrants = 0;
	int len, rc;

	if (sp.tcpg_gen == 0)
		sp.tcpg_gen = 1;
	if (c->fd < 0 || !c->hello || !c->tcp_grants || !c->have_tcp_svcs ||
	    c->tcpg_sent == sp.tcpg_gen)
		return true;
	for (unsigned int i = 0; i < sp.nb_tcp_svcs; i++)
		if (tg_idmap_require_grant(m, sp.tcp_svcs[i]))
			svcs[n++] = (struct tg_grants_tcp_svc){
				.name = sp.tcp_svcs[i],
				.end = tg_idmap_on_grant_end(m, sp.tcp_svcs[i]) ==
				       TG_IDMAP_GRANT_END,
			};
	len = tg_grants_tcp_encode(sp_grants_store(), svcs, n, (int64_t)time(NULL), sp.tcpg_gen,
				   sp.tcpg_tx, sizeof(sp.tcpg_tx), c->tx_seq + 1, &ngrants);
	if (len < 0) {
		/* the names and grants were checked when they came: cannot happen */
		sp_log(LOG_ERR, "tcp grants %" PRIu64 " do not encode: %s", sp.tcpg_gen,
		       strerror(-len));
		c->tcpg_sent = sp.tcpg_gen;
		return true;
	}
	rc = send_next(sp.tcpg_tx, len, "tcp_grants");
	if (rc <= 0)
		return rc == 0;
	c->tcpg_sent = sp.tcpg_gen;
	sp_log(LOG_INFO, "tell %s: tcp grants %" PRIu64 ", %u service(s) require one, %u live",
	       c->name, sp.tcpg_gen, n, ngrants);
	return true;
}

/* After the drop: <audit.dir>/grants.json, owned by the slowpath's user. */
static int
open_grants(void)
{
	struct sp_grants_hooks h = {
		.record = grants_record,
		.changed = grants_changed,
		.log = grants_log,
		.service_known = grants_service_known,
		.service_tcp = grants_service_tcp,
		.updated = grants_updated,
	};
	char path[PATH_MAX], err[512];

	if (sp.authn == NULL)
		return 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", sp.cfg.audit.dir, SP_GRANTS_FILE) >=
	    sizeof(path) - 8) {
		sp_log(LOG_ERR, "grants: %s/%s: path too long", sp.cfg.audit.dir, SP_GRANTS_FILE);
		return -1;
	}
	if (sp_grants_open(path, &h, err, sizeof(err)) < 0) {
		sp_log(LOG_ERR, "grants: %s", err);
		return -1;
	}
	tg_authn_set_grants(sp.authn, sp_grants_store());
	return 0;
}

/* ---------------------------------------------------------------------
 * The notification hook of approval requests (notify.h)
 * ------------------------------------------------------------------- */

static void
notify_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	sp_log(prio, "approvals notify: %s", msg);
}

/* A request or decision no hook will hear of: logged loudly (the audit log has it). */
static void
notify_giveup(void *arg, const struct tg_notify_giveup *g)
{
	(void)arg;
	sp_log(LOG_ERR,
	       "approvals notify: %s of delivery %s given up at sink %s after %u attempt(s): %s",
	       g->kind, g->id, g->sink, g->attempts, g->error != NULL ? g->error : "");
}

/* After the drop: hooks run as the slowpath's user, secrets read as it. */
static int
open_notify(void)
{
	struct tg_notify_hooks h = { .log = notify_log, .on_giveup = notify_giveup };
	char err[512];

	sp.notify = tg_notify_new(&sp.cfg.notify, &h, err, sizeof(err));
	if (sp.notify == NULL) {
		sp_log(LOG_ERR, "approvals notify: %s", err);
		return -1;
	}
	if (epoll_set(EPOLL_CTL_ADD, tg_notify_fd(sp.notify), EPOLLIN, TAG_NOTIFY) < 0) {
		sp_log(LOG_ERR, "approvals notify: epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------
 * Approval requests of held statements (mapprovals.h): their records,
 * and the answer to the dataplane once one is decided.
 * ------------------------------------------------------------------- */

/*
 * A HOLD_REPLY for the dataplane, queued with the AUTH_REPLYs and sent by
 * pump() in order. The reason reaches the client's ErrorResponse:
 * printable ASCII only (an operator's comment may hold anything).
 */
static void
hold_reply(uint16_t worker, uint64_t session, uint32_t hold, const char *id, bool approve,
	   const char *sqlstate, const char *text)
{
	char reason[TG_PUNT_REASON_MAX + 1];
	struct tg_punt_hold h = {
		.worker = worker,
		.session = session,
		.hold = hold,
		.decision = approve ? TG_PUNT_HOLD_APPROVE : TG_PUNT_HOLD_DENY,
		.id = { .p = id, .len = (uint32_t)strnlen(id, TG_PUNT_HOLD_ID_MAX) },
	};
	size_t cap = TG_PUNT_HDR_LEN + 64 + TG_PUNT_HOLD_ID_MAX + TG_PUNT_REASON_MAX;
	struct sp_auth_out *q;
	size_t i, n;
	int len;

	if (sp.conn.fd < 0 || !sp.conn.holds)
		return; /* the dataplane denies what it held when the channel went */
	if (!approve) {
		n = strnlen(text, TG_PUNT_REASON_MAX);
		for (i = 0; i < n; i++)
			reason[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
		h.sqlstate = (struct tg_punt_str){ .p = sqlstate, .len = 5 };
		h.reason = (struct tg_punt_str){ .p = reason, .len = (uint32_t)n };
	}
	q = malloc(sizeof(*q) + cap);
	if (q == NULL) {
		sp_log(LOG_ERR, "answer hold %u-%" PRIu64 "/%" PRIu32 ": out of memory; the "
				"dataplane denies it at its deadline", worker, session, hold);
		return;
	}
	len = tg_punt_encode_hold(q->buf, cap, 1, TG_PUNT_T_HOLD_REPLY, &h);
	if (len < 0) {
		sp_log(LOG_ERR, "answer hold %u-%" PRIu64 "/%" PRIu32 ": cannot encode it: %s",
		       worker, session, hold, strerror(-len));
		free(q);
		return;
	}
	q->len = (size_t)len;
	q->next = NULL;
	if (sp.aq_tail != NULL)
		sp.aq_tail->next = q;
	else
		sp.aq_head = q;
	sp.aq_tail = q;
	if (!sp.conn.out_armed)
		want_out(true); /* sent by pump() from the loop */
}

/* Approved, denied or expired: the held statement's answer. */
static void
approvals_decided(void *arg, const struct tg_approval *r, const struct tg_approval_verdict *v)
{
	(void)arg;
	sp_log(LOG_INFO, "approval %s %s: hold %" PRIu32 " of session %u-%" PRIu64 "%s%s%s%s",
	       r->id, tg_approval_state_name(r->state), r->hold, r->worker, r->session,
	       v->approve ? "" : " (", v->sqlstate, v->approve ? "" : ") ", v->text);
	hold_reply(r->worker, r->session, r->hold, r->id, v->approve, v->sqlstate, v->text);
}

/*
 * An approval record: appended and published like a grant's, and handed
 * to the notification hook (notify.h) as it was recorded, seq included,
 * so a chat message or ticket names the same facts as the audit log.
 */
static void
approvals_record(void *arg, json_t *rec)
{
	const char *type =
		json_string_value(json_object_get(json_object_get(rec, "event"), "type"));
	char *text;

	grants_record(arg, rec);
	if (sp.notify == NULL || type == NULL || strcmp(type, "approval.vote") == 0)
		return;
	text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		sp_log(LOG_ERR, "approvals notify: %s: out of memory", type);
		return;
	}
	if (tg_notify_submit(sp.notify, type, text, NULL) < 0)
		sp_log(LOG_ERR, "approvals notify: %s: the hook refused it", type);
	free(text);
}

/* HOLD_REQUEST: a statement parked for approval, or one the dataplane gave up on. */
static unsigned int
on_hold_request(const struct tg_punt_hold *ph)
{
	char inst[17], sid[64], id[TG_APPROVAL_ID_MAX], err[256];
	char service[TG_PUNT_NAME_MAX + 1], rule[TG_PUNT_NAME_MAX + 1];
	char approvers[TG_PUNT_NAME_MAX + 1], client[TG_PUNT_NAME_MAX + 1];
	char user[TG_PUNT_NAME_MAX + 1], database[TG_PUNT_NAME_MAX + 1];
	char text[TG_PUNT_TEXT_MAX + 1], params[TG_PUNT_PARAMS_MAX + 1];
	const struct tg_authn_who *w = NULL;
	struct tg_approval_spec spec;

#define CSTR(dst, s) snprintf(dst, sizeof(dst), "%.*s", (int)(s).len, (s).p)
	if (ph->op == TG_PUNT_HOLD_CANCEL) {
		char reason[TG_PUNT_REASON_MAX + 1];

		CSTR(reason, ph->reason);
		sp_approvals_cancel_session(ph->worker, ph->session, reason);
		return 0;
	}
	hex64(sp.conn.inst != NULL ? sp.conn.inst->id : 0, inst);
	snprintf(sid, sizeof(sid), "%s-%u-%" PRIu64, inst, ph->worker, ph->session);
	CSTR(service, ph->service);
	CSTR(rule, ph->rule);
	CSTR(approvers, ph->approvers);
	CSTR(client, ph->client);
	CSTR(user, ph->user);
	CSTR(database, ph->database);
	CSTR(text, ph->text);
	CSTR(params, ph->params);
#undef CSTR
	if (sp.authn != NULL && sp.conn.inst != NULL && sp.conn.inst->id == sp.authn_inst)
		w = tg_authn_who(sp.authn, ph->worker, ph->session);
	spec = (struct tg_approval_spec){
		.worker = ph->worker,
		.session = ph->session,
		.hold = ph->hold,
		.session_id = sid,
		.service = service,
		.rule = rule,
		.text = text,
		.params = params,
		.client = client,
		.user = w != NULL && w->role[0] != '\0' ? w->role : user,
		.database = database,
		.iss = w != NULL && w->verified ? w->iss : NULL,
		.sub = w != NULL && w->verified ? w->sub : NULL,
		.email = w != NULL && w->verified && w->email[0] != '\0' ? w->email : NULL,
		.approvers = approvers,
		.quorum = ph->quorum,
		.timeout_s = ph->timeout_s,
		.self_approval = ph->self_approval != 0,
	};
	if (sp_approvals_request(&spec, id, err, sizeof(err)) < 0) {
		char why[sizeof(err) + 64];

		sp_log(LOG_ERR, "hold %s/%" PRIu32 " (rule %s): no approval request: %s", sid,
		       ph->hold, rule, err);
		snprintf(why, sizeof(why), "no approval request could be made: %s", err);
		hold_reply(ph->worker, ph->session, ph->hold, "none", false, "57P03", why);
	}
	return 0;
}

static int
open_approvals(void)
{
	struct sp_approvals_hooks h = {
		.record = approvals_record, /* as a grant's: gw.host, append, publish; and notify */
		.decided = approvals_decided,
		.log = grants_log,
	};

	if (sp_approvals_open(&h) < 0) {
		sp_log(LOG_ERR, "approvals: out of memory");
		return -1;
	}
	return 0;
}

/* One datagram: 0, or why the connection must end. */
static unsigned int
on_msg(size_t len, char *detail, size_t dlen)
{
	struct sp_conn *c = &sp.conn;
	struct tg_punt_msg msg;
	enum tg_punt_err err;
	uint16_t type;

	err = tg_punt_decode(sp.rx, len, &msg);
	if (err != TG_PUNT_OK) {
		snprintf(detail, dlen, "a datagram of %zu bytes", len);
		return err;
	}
	type = msg.hdr.type;
	snprintf(detail, dlen, "%s, seq %" PRIu64, tg_punt_type_name(type), msg.hdr.seq);
	if (!c->hello) {
		if (type != TG_PUNT_T_HELLO)
			return SP_DISC_BEFORE_HELLO;
		if (msg.hdr.seq != 1)
			return SP_DISC_SEQ_ORDER;
		return on_hello(&msg.u.hello);
	}
	if (msg.hdr.seq != c->rx_seq + 1)
		return SP_DISC_SEQ_ORDER;
	c->rx_seq = msg.hdr.seq;
	if (tg_punt_type_sender(type) != TG_PUNT_ROLE_DATAPLANE)
		return SP_DISC_SENDER;
	if (type == TG_PUNT_T_HELLO)
		return SP_DISC_HELLO_AGAIN;
	if (msg.hdr.version != c->version)
		return SP_DISC_VERSION_MISMATCH;
	if (type == TG_PUNT_T_EVENT_BATCH)
		return on_batch(&msg.u.batch);
	if (type == TG_PUNT_T_SERVICES)
		return on_services(&msg.u.services);
	if (type == TG_PUNT_T_TCP_SERVICES)
		return on_tcp_services(&msg.u.services);
	if (type == TG_PUNT_T_POLICY_ACK)
		return on_policy_ack(&msg.u.policy_ack);
	if (type == TG_PUNT_T_STATS_RESPONSE)
		return on_stats(&msg.u.stats);
	if (type == TG_PUNT_T_SESSIONS_RESPONSE)
		return on_sessions(&msg.u.sresp);
	/* AUTH_* only where both sides stated TG_PUNT_CAP_AUTH */
	if (type == TG_PUNT_T_AUTH_REQUEST) {
		if (c->auth)
			return on_auth_request(&msg.u.auth);
		if (msg.u.auth.token.len != 0) /* refused, but the token goes all the same */
			explicit_bzero((void *)(uintptr_t)msg.u.auth.token.p, msg.u.auth.token.len);
		return SP_DISC_UNEXPECTED;
	}
	if (type == TG_PUNT_T_AUTH_SERVER && c->auth)
		return on_auth_server(&msg.u.auth);
	/* HOLD_REQUEST only where both sides stated TG_PUNT_CAP_HOLD */
	if (type == TG_PUNT_T_HOLD_REQUEST && c->holds)
		return on_hold_request(&msg.u.hold);
	return SP_DISC_UNEXPECTED;
}

static void
on_readable(void)
{
	char detail[160];
	unsigned int r;
	ssize_t n;

	for (int i = 0; i < SP_RX_BURST && sp.conn.fd >= 0; i++) {
		n = recv(sp.conn.fd, sp.rx, sizeof(sp.rx), MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			snprintf(detail, sizeof(detail), "recv: %s", strerror(errno));
			disconnect(SP_DISC_IO, detail);
			return;
		}
		if (n == 0) {
			disconnect(SP_DISC_CLOSED, NULL);
			return;
		}
		if ((size_t)n > sizeof(sp.rx)) {
			/* MSG_TRUNC: n is the datagram's real length */
			snprintf(detail, sizeof(detail), "a datagram of %zd bytes", n);
			disconnect(TG_PUNT_ERR_TOO_BIG, detail);
			return;
		}
		r = on_msg((size_t)n, detail, sizeof(detail));
		if (r != 0) {
			disconnect(r, detail);
			return;
		}
	}
}

static void
on_accept(void)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd;

	fd = accept4(sp.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			sp_log(LOG_WARNING, "accept on %s: %s", sp.cfg.control_socket,
			       strerror(errno));
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
		cred.pid = 0, cred.uid = (uid_t)-1;
	if (sp.conn.fd >= 0) {
		sp.cnt[SP_CNT_REFUSED]++;
		sp_log(LOG_WARNING,
		       "refuse connection from pid %d uid %d on %s: %s is connected, one at a time",
		       (int)cred.pid, (int)cred.uid, sp.cfg.control_socket, sp.conn.name);
		close(fd);
		return;
	}
	if (epoll_set(EPOLL_CTL_ADD, fd, EPOLLIN, TAG_CONN) < 0) {
		sp_log(LOG_ERR, "accept connection from pid %d: epoll: %s", (int)cred.pid,
		       strerror(errno));
		close(fd);
		return;
	}
	sp.cnt[SP_CNT_CONNECTIONS]++;
	memset(&sp.conn, 0, sizeof(sp.conn));
	sp.conn.fd = fd;
	sp.conn.pid = cred.pid;
	sp.conn.uid = cred.uid;
	snprintf(sp.conn.name, sizeof(sp.conn.name), "connection from pid %d", (int)cred.pid);
	sp_log(LOG_INFO, "accept connection from pid %d uid %d on %s: waiting for its hello",
	       (int)cred.pid, (int)cred.uid, sp.cfg.control_socket);
}

/*
 * After a wakeup: one commit for everything read, then one cumulative
 * ack. Group commit with a bound: at once when a strict statement waits
 * (commit_now), else once the oldest record not committed is
 * commit_delay_ms old (a one-shot timer wakes the loop then), so that a
 * busy fast-mode stream pays one synchronous commit per delay, not per
 * wakeup.
 */
static void
flush(void)
{
	uint64_t delay = sp.cfg.audit.commit_delay_ms ? sp.cfg.audit.commit_delay_ms
						      : TG_SP_COMMIT_DELAY_DEFAULT;
	uint64_t now;

	if (tg_audit_size(sp.audit) != tg_audit_durable(sp.audit) && !sp.commit_now &&
	    !sp.commit_failing) {
		now = now_ms();
		if (sp.pending_since == 0)
			sp.pending_since = now;
		if (now - sp.pending_since < delay) {
			if (!sp.commit_armed) {
				struct itimerspec its = { 0 };
				uint64_t left = delay - (now - sp.pending_since);

				its.it_value.tv_sec = (time_t)(left / 1000);
				its.it_value.tv_nsec = (long)(left % 1000) * 1000000L;
				if (timerfd_settime(sp.commit_fd, 0, &its, NULL) == 0)
					sp.commit_armed = true;
				else
					goto now; /* no timer: no delay */
			}
			return;
		}
	}
now:
	if (!commit())
		return;
	sp.commit_now = false;
	sp.pending_since = 0;
	if (sp.conn.fd >= 0 && sp.conn.ack_due)
		send_ack();
}

static void
on_commit_timer(void)
{
	uint64_t expirations;

	if (read(sp.commit_fd, &expirations, sizeof(expirations)) < 0) {
		/* a spurious wakeup: flush() re-arms what is needed */
	}
	sp.commit_armed = false;
}

/* ---------------------------------------------------------------------
 * Counters, timer, signals
 * ------------------------------------------------------------------- */

static void
print_counters(const char *when)
{
	char line[SP_LOG_MAX];
	size_t n = 0;
	int m;

	/* the store adds checkpoints on its own (records, time): count them from its size */
	sp.cnt[SP_CNT_CHECKPOINTS] = tg_audit_size(sp.audit) - sp.size_at_open -
				     sp.cnt[SP_CNT_RECORDS] - sp.cnt[SP_CNT_GAPS];
	for (unsigned int i = 0; i < SP_CNT_MAX && n < sizeof(line); i++) {
		m = snprintf(line + n, sizeof(line) - n, "%s%s=%" PRIu64, i ? " " : "",
			     sp_counter_names[i], sp.cnt[i]);
		n += m > 0 ? (size_t)m : 0;
	}
	for (unsigned int r = 1; r < SP_DISC_MAX && n < sizeof(line); r++) {
		if (sp.disc[r] == 0)
			continue;
		m = snprintf(line + n, sizeof(line) - n, " disconnect.%s=%" PRIu64, disc_name(r),
			     sp.disc[r]);
		n += m > 0 ? (size_t)m : 0;
	}
	sp_log(LOG_INFO, "counters (%s): %s store_size=%" PRIu64 " store_durable=%" PRIu64, when,
	       line, tg_audit_size(sp.audit), tg_audit_durable(sp.audit));
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
on_timer(void)
{
	uint64_t expirations;
	int rc;

	if (read(sp.timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	if (sp.watchdog)
		sd_notify(0, "WATCHDOG=1");
	if (sp.mgmt != NULL)
		tg_mgmt_tick(sp.mgmt);
	if (sp.metrics != NULL)
		tg_metrics_tick(sp.metrics);
	stats_tick();
	sess_tick();
	sp_audit_methods_tick();
	sp_grants_tick((int64_t)time(NULL)); /* before authn's: sessions see the expiry */
	tg_notify_tick(sp.notify, now_ms());
	sp_approvals_tick((int64_t)time(NULL));
	/* login deadlines and token expiry (authn.h): answered only to a dataplane there */
	if (sp.authn != NULL && sp.conn.fd >= 0 && sp.conn.auth) {
		tg_authn_tick(sp.authn, now_ms(), (int64_t)time(NULL));
		pump();
	}
	/* the watermarks (AU-5(4)): also while a commit fails, so disk freed is seen */
	space_check();
	/* recordings past their age or the store's size: each minute */
	if (sp.recs != NULL && sp.rec_ticks++ % 60 == 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		if (tg_recordings_retain(sp.recs, (uint64_t)now.tv_sec * 1000000000ull +
							  (uint64_t)now.tv_nsec) < 0)
			sp_log(LOG_ERR, "recordings: %s", tg_recordings_error(sp.recs));
	}
	/* a commit that failed before is retried by flush() after this */
	if (sp.commit_failing)
		return;
	rc = tg_audit_tick(sp.audit, now_ms(), NULL);
	if (rc < 0) {
		commit_failed(rc);
		return;
	}
	if (rc == 1) {
		sp.cnt[SP_CNT_COMMITS]++;
		committed();
	}
	/*
	 * SIEM cursors that moved and found no commit to ride with: one
	 * commit a second at most (two fsyncs), so a restart resends at most
	 * about a second of delivered events.
	 */
	if (tg_siem_save(sp.siem) > 0) {
		if ((rc = tg_audit_commit(sp.audit, NULL)) < 0) {
			commit_failed(rc);
			return;
		}
		sp.cnt[SP_CNT_COMMITS]++;
		committed();
	}
}

static void
on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(sp.sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			sp_log(LOG_NOTICE, "stop: %s from pid %u", strsignal((int)si.ssi_signo),
			       si.ssi_pid);
			sp.stop = true;
			break;
		case SIGUSR1:
			print_counters("SIGUSR1");
			break;
		case SIGHUP: {
			char actor[48], err[1024];

			snprintf(actor, sizeof(actor), "SIGHUP from pid %u", si.ssi_pid);
			if (sp.cfg.policy[0] == '\0')
				sp_log(LOG_NOTICE, "reload on %s: no policy configured", actor);
			else
				policy_load(actor, err, sizeof(err));
			if (sp.authn != NULL) {
				identity_creds(actor);
				if (sp.cfg.identity.jwks_file[0] != '\0')
					identity_jwks_file(actor);
			}
			break;
		}
		}
	}
}

/* ---------------------------------------------------------------------
 * The management API (mgmt.h, mgmt/api.h): what tgctl talks to
 * ------------------------------------------------------------------- */

static void
mgmt_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	sp_log(prio, "mgmt: %s", msg);
}

static void
siem_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	sp_log(prio, "%s", msg);
}

/* "user (uid N)" of a caller, for actors in records and logs. */
static void
operator_name(char *out, size_t size, const struct tg_mgmt_peer *p)
{
	snprintf(out, size, "tgctl: %s (uid %u, pid %d)", p->user[0] ? p->user : "?",
		 (unsigned int)p->uid, (int)p->pid);
}

/*
 * The audit hook: every refusal and every mutating call becomes an
 * admin.change record naming the operator (uid, user, pid and roles, as
 * the kernel told at accept: SO_PEERCRED).
 */
static void
mgmt_audit(void *arg, const struct tg_mgmt_audit_info *in)
{
	struct rec r = { .root = json_object() };
	char action[TG_MGMT_METHOD_MAX + 8];

	(void)arg;
	if (r.root == NULL)
		return;
	snprintf(action, sizeof(action), "mgmt.%s", in->method);
	put(&r, "event", "type", json_string(tg_audit_event_names[TG_AUDIT_EV_ADMIN_CHANGE]));
	put(&r, NULL, "outcome", json_string(in->code == TG_MGMT_OK ? "success" : "failure"));
	if (in->code != TG_MGMT_OK) {
		put(&r, NULL, "reason_code", json_string(tg_mgmt_err_names[in->code]));
		put(&r, "error", "message", json_string(in->message));
	}
	put(&r, "admin", "action", json_string(action));
	if (in->mutating && in->params != NULL)
		put(&r, "admin", "params", json_deep_copy(in->params));
	put_int(&r, "operator", "uid", in->peer->uid);
	put_int(&r, "operator", "pid", (uint64_t)in->peer->pid);
	if (in->peer->user[0] != '\0')
		put(&r, "operator", "user", json_string(in->peer->user));
	put(&r, "operator", "roles", tg_mgmt_roles_json(in->peer->roles));
	put(&r, "gw", "host", json_string(sp.host));
	if (!r.oom && record(r.root) < 0)
		sp_log(LOG_ERR, "append the %s record: %s", action, tg_audit_error(sp.audit));
	json_decref(r.root);
}

/* status: what runs, since when, under which policy, with which dataplane. */
static void
m_status(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	struct tg_mgmt_stats ms;
	struct sp_conn *c = &sp.conn;
	json_t *res, *dp = json_object(), *pol = json_object();
	char inst[17];

	(void)params;
	(void)arg;
	tg_mgmt_stats(sp.mgmt, &ms);
	if (sp.cfg.policy[0] != '\0')
		json_object_set_new(pol, "file", json_string(sp.cfg.policy));
	if (sp.pol.gen != 0) {
		json_object_set_new(pol, "generation", json_integer((json_int_t)sp.pol.gen));
		json_object_set_new(pol, "sha256", json_string(sp.pol.sha256_hex));
		json_object_set_new(pol, "loaded", jtime(sp.pol_loaded * 1000000000ull));
	}
	json_object_set_new(dp, "connected", json_boolean(c->fd >= 0 && c->hello));
	if (c->fd >= 0 && c->hello) {
		hex64(c->inst->id, inst);
		json_object_set_new(dp, "instance", json_string(inst));
		json_object_set_new(dp, "pid", json_integer(c->pid));
		json_object_set_new(dp, "protocol", json_integer(c->version));
		json_object_set_new(dp, "policy_generation", json_integer((json_int_t)c->applied_gen));
		json_object_set_new(dp, "services", json_integer(sp.have_svcs ? sp.svcs.nb : 0));
	}
	res = json_pack("{s:s, s:o, s:I, s:s, s:o, s:o, s:{s:s, s:I, s:I}, s:{s:i, s:i}}",
			"software", SOFTWARE, "started",
			jtime((uint64_t)sp.started * 1000000000ull), "uptime_s",
			(json_int_t)(time(NULL) - sp.started), "host", sp.host, "policy", pol,
			"dataplane", dp, "audit", "origin", sp.cfg.audit.origin, "records",
			(json_int_t)tg_audit_size(sp.audit), "durable",
			(json_int_t)tg_audit_durable(sp.audit), "mgmt", "clients", (int)ms.clients,
			"subscribers", (int)ms.subscribers);
	/* AU-5(4): is the store refusing statements, and why */
	json_object_set_new(json_object_get(res, "audit"), "state",
			    json_string(sp.space.full ? "full" : "ok"));
	if (sp.space.full)
		json_object_set_new(json_object_get(res, "audit"), "full_reason",
				    json_string(sp.space.reason));
	tg_mgmt_reply(call, res);
}

/*
 * stats: the slowpath's counters and the management API's, and the
 * dataplane's, asked over the channel.
 *
 * With a dataplane that stated TG_PUNT_CAP_STATS the call is deferred: a
 * STATS_REQUEST goes out (through pump(), after any ack waiting, with the
 * next header seq), and the call waits in sp_stats[] under that seq. The
 * STATS_RESPONSEs naming it bring name/value pairs, nested into a JSON
 * object by the dots of their names ("port.0.rx_pkts" ->
 * {"port": {"0": {"rx_pkts": N}}}); the one with last = 1 answers the call
 * {"slowpath": .., "mgmt": .., "dataplane": {"connected": true, ...}}, the
 * slowpath's counters as they are then. A STATS_RESPONSE naming no
 * request this slowpath sent is a protocol violation (unexpected).
 *
 * A GET /metrics scrape (metrics.h) takes the same path: stats_ask() with
 * the scrape's token instead of a call, and the same result object,
 * rendered by mgmt/prom.c as tgctl stats -o prometheus renders it.
 *
 * Never unanswered: without a dataplane, or with one that does not state
 * the capability, the call is answered at once with "dataplane":
 * {"connected": ..}; the second tick of the 1 s timer after the call (1 to
 * 2 s) answers it with an "error" instead of the pairs; a disconnection
 * answers every call waiting.
 *
 * Caveats:
 * - A request that timed out keeps its slot until its last response comes
 *   (or the connection ends), so that a late answer is not taken for one
 *   never asked; with SP_STATS_PENDING_MAX such slots taken, calls are
 *   answered with an error without asking.
 * - One request per call: two tgctl stats at once cost the dataplane two
 *   snapshots.
 * - Values above INT64_MAX (JSON integers are signed here) show as
 *   INT64_MAX; a name that is both a counter and the prefix of another
 *   keeps the one that came first.
 */
#define SP_STATS_PENDING_MAX 16 /* STATS_REQUESTs not answered whole */
#define SP_STATS_TICKS 2	/* ticks of the 1 s timer a call waits: 1 to 2 s */

struct sp_stats_req {
	bool used;
	uint64_t seq;		   /* of the STATS_REQUEST; 0: not sent yet (no room) */
	unsigned int ticks;	   /* of the timer since the call */
	struct tg_mgmt_call *call; /* NULL: answered already (timed out), or a scrape */
	uint64_t scrape;	   /* or a /metrics scrape's token (metrics.h); 0: none */
	json_t *dp;		   /* the pairs so far, nested */
};

static struct sp_stats_req sp_stats[SP_STATS_PENDING_MAX];

static json_t *identity_stats(void);

/* The slowpath's own part of the answer: {"slowpath": {..}, "mgmt": {..}}. */
static json_t *
stats_local(void)
{
	const struct tg_audit_space *as = &sp.space;
	json_t *cnt = json_object(), *disc = json_object(), *space;

	for (unsigned int i = 0; i < SP_CNT_MAX; i++)
		json_object_set_new(cnt, sp_counter_names[i], json_integer((json_int_t)sp.cnt[i]));
	for (unsigned int r = 1; r < SP_DISC_MAX; r++)
		if (sp.disc[r] != 0)
			json_object_set_new(disc, disc_name(r), json_integer((json_int_t)sp.disc[r]));
	/* AU-5(4): numbers only, so that the Prometheus rendering has them all */
	space = json_pack(
		"{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i}", "full", as->full ? 1 : 0, "full_ms",
		(json_int_t)tg_audit_space_full_ms(as, now_ms()), "entered", (json_int_t)as->entered,
		"resumed", (json_int_t)as->resumed, "map_used", (json_int_t)as->last.map_used,
		"map_size", (json_int_t)as->last.map_size, "disk_free",
		(json_int_t)(as->last.disk_known ? as->last.disk_free : 0), "full_pct",
		(int)as->cfg.full_pct, "resume_pct", (int)as->cfg.resume_pct);

	return json_pack(
		"{s:{s:o, s:o, s:I, s:I, s:o*}, s:o, s:o*, s:o*, s:o*, s:o*, s:o*}", "slowpath",
		"counters",
		cnt, "disconnects", disc, "store_size", (json_int_t)tg_audit_size(sp.audit),
		"store_durable", (json_int_t)tg_audit_durable(sp.audit), "audit_space", space, "mgmt",
		tg_mgmt_stats_json(sp.mgmt), "metrics",
		sp.metrics != NULL ? tg_metrics_stats_json(sp.metrics) : NULL, "siem",
		sp.siem != NULL ? tg_siem_stats_json(sp.siem) : NULL, "identity", identity_stats(),
		"notify", sp.notify != NULL ? tg_notify_stats_json(sp.notify) : NULL, "approvals",
		sp_approvals_stats_json());
}

/*
 * Answers call, or else the /metrics scrape of token scrape, with the
 * slowpath's counters and dp (taken): one result for both, so a scrape
 * and tgctl stats -o prometheus render the same object.
 */
static void
stats_reply(struct tg_mgmt_call *call, uint64_t scrape, json_t *dp)
{
	json_t *res = stats_local();

	if (res != NULL && dp != NULL)
		json_object_set_new(res, "dataplane", dp);
	else
		json_decref(dp);
	if (call != NULL) {
		tg_mgmt_reply(call, res);
	} else {
		tg_metrics_answer(sp.metrics, scrape, res);
		json_decref(res);
	}
}

/* Whether a request still has someone waiting: a call or a scrape. */
static bool
stats_waiting(const struct sp_stats_req *r)
{
	return r->call != NULL || r->scrape != 0;
}

/* Answers whoever waits on r with dp (taken). */
static void
stats_answer(struct sp_stats_req *r, json_t *dp)
{
	struct tg_mgmt_call *call = r->call;
	uint64_t scrape = r->scrape;

	r->call = NULL;
	r->scrape = 0;
	stats_reply(call, scrape, dp);
}

/* {"connected": connected, "error": why} for an answer without the dataplane's pairs. */
static json_t *
stats_without(bool connected, const char *why)
{
	json_t *dp = json_pack("{s:b}", "connected", connected);

	if (dp != NULL && why != NULL)
		json_object_set_new(dp, "error", json_string(why));
	return dp;
}

static void
stats_free(struct sp_stats_req *r)
{
	json_decref(r->dp);
	memset(r, 0, sizeof(*r));
}

/* Puts value at the dotted path name under root; false when the path is taken otherwise. */
static bool
stats_nest(json_t *root, const char *name, uint64_t value)
{
	char key[TG_PUNT_NAME_MAX + 1];
	const char *dot;
	json_t *o = root, *next;
	size_t n;

	while ((dot = strchr(name, '.')) != NULL) {
		n = (size_t)(dot - name);
		memcpy(key, name, n);
		key[n] = '\0';
		next = json_object_get(o, key);
		if (next == NULL) {
			next = json_object();
			if (next == NULL || json_object_set_new(o, key, next) < 0)
				return false;
		} else if (!json_is_object(next)) {
			return false;
		}
		o = next;
		name = dot + 1;
	}
	if (json_object_get(o, name) != NULL)
		return false;
	return json_object_set_new(o, name,
				   json_integer(value > INT64_MAX ? INT64_MAX
								  : (json_int_t)value)) == 0;
}

/* Sends the STATS_REQUESTs not sent yet: true when none is left, false to stop pump(). */
static bool
stats_send(void)
{
	struct sp_conn *c = &sp.conn;
	int len;

	for (unsigned int i = 0; i < SP_STATS_PENDING_MAX && c->fd >= 0; i++) {
		struct sp_stats_req *r = &sp_stats[i];

		if (!r->used || r->seq != 0)
			continue;
		len = tg_punt_encode_stats_request(sp.tx, sizeof(sp.tx), c->tx_seq + 1);
		if (send_next(sp.tx, len, "stats_request") <= 0)
			return false;
		r->seq = c->tx_seq;
		sp.cnt[SP_CNT_STATS_REQUESTS]++;
	}
	return c->fd >= 0;
}

/* STATS_RESPONSE: pairs for the request it names; the last one answers its call. */
static unsigned int
on_stats(const struct tg_punt_stats *st)
{
	struct tg_punt_iter it = st->pairs;
	struct sp_stats_req *r = NULL;
	char cname[TG_PUNT_NAME_MAX + 1];
	struct tg_punt_str name;
	uint64_t value;

	for (unsigned int i = 0; i < SP_STATS_PENDING_MAX && r == NULL; i++)
		if (sp_stats[i].used && sp_stats[i].seq != 0 &&
		    sp_stats[i].seq == st->in_reply_to)
			r = &sp_stats[i];
	if (r == NULL)
		return SP_DISC_UNEXPECTED;
	sp.cnt[SP_CNT_STATS_RESPONSES]++;
	while (stats_waiting(r) && tg_punt_stats_next(&it, &name, &value)) {
		printable(cname, sizeof(cname), &name);
		stats_nest(r->dp, cname, value);
	}
	if (!st->last)
		return 0;
	if (stats_waiting(r)) {
		json_t *dp = r->dp;

		r->dp = NULL;
		json_object_set_new(dp, "connected", json_true());
		stats_answer(r, dp);
	}
	stats_free(r);
	return 0;
}

/* Every second: calls that waited SP_STATS_TICKS are answered without the dataplane's pairs. */
static void
stats_tick(void)
{
	for (unsigned int i = 0; i < SP_STATS_PENDING_MAX; i++) {
		struct sp_stats_req *r = &sp_stats[i];

		if (!r->used || !stats_waiting(r) || ++r->ticks < SP_STATS_TICKS)
			continue;
		sp.cnt[SP_CNT_STATS_TIMEOUTS]++;
		sp_log(LOG_WARNING, "stats: %s did not answer stats_request %" PRIu64 " in time",
		       sp.conn.name, r->seq);
		stats_answer(r, stats_without(true, "the dataplane did not answer in time"));
		if (r->seq == 0)
			stats_free(r); /* never sent: no answer to wait for */
	}
}

/* The connection ends: every call waiting is answered, every slot freed. */
static void
stats_conn_gone(void)
{
	for (unsigned int i = 0; i < SP_STATS_PENDING_MAX; i++) {
		struct sp_stats_req *r = &sp_stats[i];

		if (r->used && stats_waiting(r))
			stats_answer(r, stats_without(false, "the dataplane disconnected before it "
							     "answered"));
		if (r->used)
			stats_free(r);
	}
}

/* A stats call (call) or a /metrics scrape (call NULL, its token): answered now or deferred. */
static void
stats_ask(struct tg_mgmt_call *call, uint64_t scrape)
{
	struct sp_conn *c = &sp.conn;
	struct sp_stats_req *r = NULL;

	if (c->fd < 0 || !c->hello) {
		stats_reply(call, scrape, stats_without(false, NULL));
		return;
	}
	if (!c->gives_stats) {
		stats_reply(call, scrape,
			    stats_without(true, "this dataplane does not give its counters "
						"(no TG_PUNT_CAP_STATS)"));
		return;
	}
	for (unsigned int i = 0; i < SP_STATS_PENDING_MAX && r == NULL; i++)
		if (!sp_stats[i].used)
			r = &sp_stats[i];
	if (r == NULL || (r->dp = json_object()) == NULL) {
		stats_reply(call, scrape,
			    stats_without(true, "too many stats requests unanswered by the "
						"dataplane"));
		return;
	}
	r->used = true;
	r->call = call;
	r->scrape = call == NULL ? scrape : 0;
	pump();
}

static void
m_stats(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	(void)params;
	(void)arg;
	stats_ask(call, 0);
}

/* metrics.h's ask hook: a scrape takes the stats method's path. */
static void
metrics_ask(void *arg, uint64_t token)
{
	(void)arg;
	stats_ask(NULL, token);
}

static void
metrics_log(void *arg, int prio, const char *msg)
{
	(void)arg;
	sp_log(prio, "%s", msg);
}

/*
 * sessions.list, sessions.show, sessions.kill, flows: the dataplane's live
 * postgres sessions and tracked flows, asked over the channel like stats
 * (SESSIONS_REQUEST, punt.h), and the reset of one session.
 *
 * A session is named as the audit log names it (event_record()):
 * "<instance hex>-<worker>-<session id>", so an operator goes from a
 * record to sessions kill. An id of another instance than the connected
 * dataplane's is not found (that process is gone, and its sessions with
 * it).
 *
 * Each call is deferred under the seq of its request; the
 * SESSIONS_RESPONSEs naming it bring entries, and the last one answers
 * it. Never unanswered: without a dataplane stating TG_PUNT_CAP_SESSIONS,
 * or when it is serving another request (BUSY), or on the second tick of
 * the 1 s timer (1 to 2 s), or at a disconnection, the call fails
 * "unavailable". sessions.kill is an admin method and mutating: the
 * management API's audit hook records it with the operator and the id.
 *
 * Caveats:
 * - The dataplane serves one request at a time: two operators listing at
 *   the same instant may see "unavailable" (busy) and try again.
 * - A kill answered by timeout may still happen: the worker carries it
 *   out when it gets to it; the session.end record (reason failed) says.
 */
#define SP_SESS_PENDING_MAX 16	/* SESSIONS_REQUESTs not answered whole */
#define SP_SESS_TICKS 2		/* ticks of the 1 s timer a call waits: 1 to 2 s */
#define SP_SESS_LIMIT_DEFAULT 1000

enum sp_sess_method {
	SP_SESS_M_LIST,
	SP_SESS_M_SHOW,
	SP_SESS_M_KILL,
	SP_SESS_M_FLOWS,
};

struct sp_sess_req {
	bool used;
	uint64_t seq;		   /* of the SESSIONS_REQUEST; 0: not sent yet */
	unsigned int ticks;
	struct tg_mgmt_call *call; /* NULL: answered already (timed out) */
	enum sp_sess_method method;
	struct tg_punt_sess_request q;
	char service[TG_PUNT_NAME_MAX + 1];	/* q.service points here */
	char id[80];
	json_t *list;		   /* entries so far */
	uint8_t status;
};

static struct sp_sess_req sp_sess[SP_SESS_PENDING_MAX];

static void
sess_free(struct sp_sess_req *r)
{
	json_decref(r->list);
	memset(r, 0, sizeof(*r));
}

/* One entry as JSON, its session named as the audit log names it. */
static json_t *
sess_json(const struct tg_punt_sess *e, uint64_t instance)
{
	char buf[TG_PUNT_NAME_MAX + 1], inst[17], id[80];
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (e->pg) {
		hex64(instance, inst);
		snprintf(id, sizeof(id), "%s-%u-%" PRIu64, inst, (unsigned int)e->worker,
			 e->session);
		json_object_set_new(o, "id", json_string(id));
		json_object_set_new(o, "session", json_integer((json_int_t)e->session));
	}
	json_object_set_new(o, "worker", json_integer(e->worker));
	printable(buf, sizeof(buf), &e->service);
	json_object_set_new(o, "service", json_string(buf));
	printable(buf, sizeof(buf), &e->client);
	json_object_set_new(o, "client", json_string(buf));
	printable(buf, sizeof(buf), &e->server);
	json_object_set_new(o, "server", json_string(buf));
	json_object_set_new(o, "state", json_string(e->tcp_state < TG_PUNT_TCP_MAX
							    ? tg_punt_tcp_state_names[e->tcp_state]
							    : "unknown"));
	if (e->pg) {
		printable(buf, sizeof(buf), &e->user);
		json_object_set_new(o, "user", json_string(buf));
		printable(buf, sizeof(buf), &e->database);
		json_object_set_new(o, "database", json_string(buf));
		printable(buf, sizeof(buf), &e->application);
		json_object_set_new(o, "application", json_string(buf));
		json_object_set_new(o, "statements", json_integer(e->stmts));
	}
	if (e->t_start_ns != 0)
		json_object_set_new(o, "started", jtime(e->t_start_ns));
	json_object_set_new(o, "bytes_up", json_integer(e->bytes_up > INT64_MAX
								? INT64_MAX
								: (json_int_t)e->bytes_up));
	json_object_set_new(o, "bytes_down", json_integer(e->bytes_down > INT64_MAX
								  ? INT64_MAX
								  : (json_int_t)e->bytes_down));
	return o;
}

static void
sess_unavailable(struct tg_mgmt_call *call, const char *why)
{
	tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE, "%s", why);
}

/* The last response came: the call's answer, by method. */
static void
sess_answer(struct sp_sess_req *r)
{
	char inst[17];

	if (r->status == TG_PUNT_SESS_BUSY) {
		sess_unavailable(r->call, "the dataplane is answering another sessions request: "
					  "try again");
		return;
	}
	switch (r->method) {
	case SP_SESS_M_LIST:
	case SP_SESS_M_FLOWS:
		hex64(sp.conn.inst->id, inst);
		tg_mgmt_reply(r->call, json_pack("{s:s, s:O}", "instance", inst,
						 r->method == SP_SESS_M_LIST ? "sessions" : "flows",
						 r->list));
		return;
	case SP_SESS_M_SHOW:
	case SP_SESS_M_KILL:
		if (r->status == TG_PUNT_SESS_NOT_FOUND || json_array_size(r->list) == 0) {
			tg_mgmt_fail(r->call, TG_MGMT_E_NOT_FOUND, "no session %s on the dataplane",
				     r->id);
			return;
		}
		tg_mgmt_reply(r->call, json_pack("{s:O}", r->method == SP_SESS_M_SHOW ? "session"
										  : "killed",
						 json_array_get(r->list, 0)));
		return;
	}
}

/* Sends the SESSIONS_REQUESTs not sent yet: true when none is left, false to stop pump(). */
static bool
sess_send(void)
{
	struct sp_conn *c = &sp.conn;
	int len;

	for (unsigned int i = 0; i < SP_SESS_PENDING_MAX && c->fd >= 0; i++) {
		struct sp_sess_req *r = &sp_sess[i];

		if (!r->used || r->seq != 0 || r->call == NULL)
			continue;
		len = tg_punt_encode_sess_request(sp.tx, sizeof(sp.tx), c->tx_seq + 1, &r->q);
		if (send_next(sp.tx, len, "sessions_request") <= 0)
			return false;
		r->seq = c->tx_seq;
		sp.cnt[SP_CNT_SESSIONS_REQUESTS]++;
	}
	return c->fd >= 0;
}

/* SESSIONS_RESPONSE: entries for the request it names; the last one answers its call. */
static unsigned int
on_sessions(const struct tg_punt_sess_response *sr)
{
	struct tg_punt_iter it = sr->entries;
	struct sp_sess_req *r = NULL;
	struct tg_punt_sess e;

	for (unsigned int i = 0; i < SP_SESS_PENDING_MAX && r == NULL; i++)
		if (sp_sess[i].used && sp_sess[i].seq != 0 && sp_sess[i].seq == sr->in_reply_to)
			r = &sp_sess[i];
	if (r == NULL)
		return SP_DISC_UNEXPECTED;
	sp.cnt[SP_CNT_SESSIONS_RESPONSES]++;
	r->status = sr->status;
	while (r->call != NULL && tg_punt_sess_next(&it, &e))
		json_array_append_new(r->list, sess_json(&e, sp.conn.inst->id));
	if (!sr->last)
		return 0;
	if (r->call != NULL)
		sess_answer(r);
	sess_free(r);
	return 0;
}

static void
sess_tick(void)
{
	for (unsigned int i = 0; i < SP_SESS_PENDING_MAX; i++) {
		struct sp_sess_req *r = &sp_sess[i];

		if (!r->used || r->call == NULL || ++r->ticks < SP_SESS_TICKS)
			continue;
		sp.cnt[SP_CNT_SESSIONS_TIMEOUTS]++;
		sp_log(LOG_WARNING, "sessions: %s did not answer sessions_request %" PRIu64
		       " in time", sp.conn.name, r->seq);
		sess_unavailable(r->call, "the dataplane did not answer in time");
		r->call = NULL;
		if (r->seq == 0)
			sess_free(r);
	}
}

static void
sess_conn_gone(void)
{
	for (unsigned int i = 0; i < SP_SESS_PENDING_MAX; i++) {
		struct sp_sess_req *r = &sp_sess[i];

		if (r->used && r->call != NULL)
			sess_unavailable(r->call, "the dataplane disconnected before it answered");
		if (r->used)
			sess_free(r);
	}
}

/* "<instance hex>-<worker>-<session id>" of the connected dataplane: 0, or -ENOENT, -EINVAL. */
static int
sess_parse_id(const char *id, uint16_t *worker, uint64_t *session)
{
	unsigned long long inst, w, sess;
	int end = 0;

	if (sscanf(id, "%16llx-%5llu-%20llu%n", &inst, &w, &sess, &end) != 3 ||
	    id[end] != '\0' || id[0] == '-' || w >= TG_PUNT_SESS_ANY_WORKER || sess == 0)
		return -EINVAL;
	if (inst != sp.conn.inst->id)
		return -ENOENT;
	*worker = (uint16_t)w;
	*session = sess;
	return 0;
}

/* Common to the four methods: checks, a slot, the request; deferred. */
static void
sess_call(struct tg_mgmt_call *call, const json_t *params, enum sp_sess_method method)
{
	struct sp_conn *c = &sp.conn;
	struct sp_sess_req *r = NULL;
	const json_t *v;
	const char *str;
	json_int_t limit = SP_SESS_LIMIT_DEFAULT;
	int rc;

	if (c->fd < 0 || !c->hello) {
		sess_unavailable(call, "no dataplane is connected");
		return;
	}
	if (!c->gives_sessions) {
		sess_unavailable(call, "this dataplane does not list its sessions "
				       "(no TG_PUNT_CAP_SESSIONS)");
		return;
	}
	for (unsigned int i = 0; i < SP_SESS_PENDING_MAX && r == NULL; i++)
		if (!sp_sess[i].used)
			r = &sp_sess[i];
	if (r == NULL) {
		sess_unavailable(call, "too many sessions requests unanswered by the dataplane");
		return;
	}
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->q.worker = TG_PUNT_SESS_ANY_WORKER;
	r->q.kind = method == SP_SESS_M_FLOWS  ? TG_PUNT_SESS_FLOWS
		    : method == SP_SESS_M_KILL ? TG_PUNT_SESS_KILL
					       : TG_PUNT_SESS_LIST;
	if (method == SP_SESS_M_SHOW || method == SP_SESS_M_KILL) {
		v = json_object_get(params, "id");
		if ((str = json_string_value(v)) == NULL || strlen(str) >= sizeof(r->id)) {
			tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
				     "params.id: a session id, \"<instance>-<worker>-<session>\"");
			return;
		}
		snprintf(r->id, sizeof(r->id), "%s", str);
		rc = sess_parse_id(str, &r->q.worker, &r->q.session);
		if (rc == -EINVAL) {
			tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
				     "params.id: %s is not \"<instance hex>-<worker>-<session>\"",
				     str);
			return;
		}
		if (rc == -ENOENT) {
			tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND,
				     "no session %s: not of the connected dataplane", str);
			return;
		}
		limit = 1;
	} else {
		v = json_object_get(params, "service");
		if (v != NULL) {
			str = json_string_value(v);
			if (str == NULL || strlen(str) > TG_PUNT_NAME_MAX ||
			    strchr(str, '\n') != NULL) {
				tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params.service: a service name");
				return;
			}
			snprintf(r->service, sizeof(r->service), "%s", str);
		}
		v = json_object_get(params, "limit");
		if (v != NULL) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > TG_PUNT_SESS_LIMIT_MAX) {
				tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
					     "params.limit: an integer from 1 to %u",
					     TG_PUNT_SESS_LIMIT_MAX);
				return;
			}
			limit = json_integer_value(v);
		}
	}
	r->q.limit = (uint32_t)limit;
	r->q.service = (struct tg_punt_str){ r->service, (uint32_t)strlen(r->service) };
	if ((r->list = json_array()) == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "out of memory");
		return;
	}
	r->used = true;
	r->call = call;
	pump();
}

/* sessions.list, sessions.show, sessions.kill, flows: arg is the enum sp_sess_method. */
static void
m_sessions(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	sess_call(call, params, (enum sp_sess_method)(uintptr_t)arg);
}

/* policy.show: the running generation, its file's text as JSON. */
static void
m_policy_show(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	json_t *text;

	(void)params;
	(void)arg;
	if (sp.pol.gen == 0) {
		tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND, "%s",
			     sp.cfg.policy[0] == '\0' ? "no policy is configured here"
						      : "no generation built yet: no dataplane has "
							"stated its services");
		return;
	}
	text = json_loadb(sp.pol.text, sp.pol.len, 0, NULL);
	tg_mgmt_reply(call, json_pack("{s:I, s:s, s:s, s:o, s:I, s:o*}", "generation",
				      (json_int_t)sp.pol.gen, "file", sp.cfg.policy, "sha256",
				      sp.pol.sha256_hex, "loaded",
				      jtime(sp.pol_loaded * 1000000000ull), "applied",
				      (json_int_t)sp.conn.applied_gen, "policy", text));
}

/* policy.reload: the policy file again, as SIGHUP does; the operator is the actor. */
static void
m_policy_reload(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	char actor[96], err[1024];

	(void)params;
	(void)arg;
	operator_name(actor, sizeof(actor), tg_mgmt_call_peer(call));
	switch (policy_load(actor, err, sizeof(err))) {
	case SP_LOAD_NEW:
	case SP_LOAD_UNCHANGED:
		tg_mgmt_reply(call, json_pack("{s:I, s:s, s:b}", "generation",
					      (json_int_t)sp.pol.gen, "sha256", sp.pol.sha256_hex,
					      "pushed", sp.conn.fd >= 0 && sp.conn.takes_policy));
		break;
	case SP_LOAD_REFUSED:
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "refused, generation %" PRIu64 " stays: %s",
			     sp.pol.gen, err);
		break;
	case SP_LOAD_WAITING:
		tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE,
			     "no dataplane has stated its services yet: the policy is built then");
		break;
	case SP_LOAD_NONE:
		tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND, "no policy is configured here");
		break;
	}
}

/*
 * policy.check: would this text load? Parsed against the dataplane's
 * services and compiled, nothing kept: {text, source?} -> the counts, or
 * bad_request with "source:line:column: reason".
 */
static void
m_policy_check(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	const char *text = json_string_value(json_object_get(params, "text"));
	const char *source = json_string_value(json_object_get(params, "source"));
	struct tg_policy *p = NULL;
	char err[1024];

	(void)arg;
	if (text == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params: \"text\" (a string) is required");
		return;
	}
	if (!sp.have_svcs) {
		tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE,
			     "no dataplane has stated its services yet: nothing to check against");
		return;
	}
	if (source == NULL || source[0] == '\0')
		source = "policy";
	if (tg_policy_parse(text, json_string_length(json_object_get(params, "text")), source,
			    &sp.svcs, &p, err, sizeof(err)) < 0 ||
	    tg_policy_compile(p, source, err, sizeof(err)) < 0) {
		tg_policy_free(p);
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "%s", err);
		return;
	}
	tg_mgmt_reply(call, json_pack("{s:b, s:i, s:i, s:i}", "ok", 1, "command_rules",
				      (int)p->nb_cmds, "detectors", (int)p->nb_dets,
				      "column_rules", (int)p->nb_cols));
	tg_policy_free(p);
}

static const struct tg_mgmt_method sp_methods[] = {
	{ "status", TG_MGMT_ROLE_ANY, false, "versions, uptime, policy, dataplane link, audit store",
	  m_status, NULL },
	{ "stats", TG_MGMT_ROLE_ANY, false,
	  "the slowpath's counters, the API's and the dataplane's (asked live)", m_stats, NULL },
	{ "policy.show", TG_MGMT_ROLE_ANY, false, "the running policy generation and its text",
	  m_policy_show, NULL },
	{ "policy.check", TG_MGMT_ROLE_ANY, false,
	  "would this policy text load? (validated and compiled, nothing kept)", m_policy_check,
	  NULL },
	{ "policy.reload", TG_MGMT_ROLE_ADMIN, true,
	  "read, validate, compile and push the policy file", m_policy_reload, NULL },
	{ "sessions.list", TG_MGMT_ROLE_ANY, false,
	  "the dataplane's live postgres sessions ({service?, limit?})", m_sessions,
	  (void *)SP_SESS_M_LIST },
	{ "sessions.show", TG_MGMT_ROLE_ANY, false, "one session ({id})", m_sessions,
	  (void *)SP_SESS_M_SHOW },
	{ "sessions.kill", TG_MGMT_ROLE_ADMIN, true,
	  "reset one session both ways ({id}), recorded as failed", m_sessions,
	  (void *)SP_SESS_M_KILL },
	{ "flows", TG_MGMT_ROLE_ANY, false, "the dataplane's tracked flows ({service?, limit?})",
	  m_sessions, (void *)SP_SESS_M_FLOWS },
};

/* The socket, before privileges drop (its owner and group are set as root). */
static int
open_mgmt(void)
{
	struct tg_mgmt_grant grants[TG_SP_GRANTS_MAX];
	static const unsigned int role_bits[TG_SP_ROLES] = { TG_MGMT_ROLE_ADMIN,
							     TG_MGMT_ROLE_APPROVER,
							     TG_MGMT_ROLE_AUDITOR };
	struct tg_mgmt_config mc = {
		.path = sp.cfg.mgmt.socket,
		.mode = sp.cfg.mgmt.mode,
		.uid = sp.root ? sp.uid : (uid_t)-1,
		.group = sp.cfg.mgmt.group[0] ? sp.cfg.mgmt.group
			 : sp.root	       ? (sp.cfg.group[0] ? sp.cfg.group : NULL)
					       : NULL,
		.grants = grants,
		.nb_grants = sp.cfg.mgmt.nb_grants,
		.software = SOFTWARE,
		.audit = mgmt_audit,
		.log = mgmt_log,
	};
	char err[512];

	if (sp.cfg.mgmt.socket[0] == '\0')
		return 0;
	for (unsigned int i = 0; i < sp.cfg.mgmt.nb_grants; i++)
		grants[i] = (struct tg_mgmt_grant){ .group = sp.cfg.mgmt.grants[i].group,
						    .roles = role_bits[sp.cfg.mgmt.grants[i].role] };
	sp.mgmt = tg_mgmt_open(&mc, err, sizeof(err));
	if (sp.mgmt == NULL) {
		sp_log(LOG_ERR, "management socket %s: %s", sp.cfg.mgmt.socket, err);
		return -1;
	}
	for (size_t i = 0; i < sizeof(sp_methods) / sizeof(sp_methods[0]); i++)
		if (tg_mgmt_register(sp.mgmt, &sp_methods[i]) < 0)
			abort(); /* a fixed table: names and roles are valid */
	/* &sp.audit: the store opens after the socket (open_store()) */
	if (sp_audit_methods_register(sp.mgmt, &sp.audit) < 0 ||
	    sp_grants_methods_register(sp.mgmt) < 0 || sp_approvals_methods_register(sp.mgmt) < 0)
		abort();
	sp_log(LOG_INFO, "management socket %s: %u group grant(s)", sp.cfg.mgmt.socket,
	       sp.cfg.mgmt.nb_grants);
	return 0;
}

/* GET /metrics on loopback (metrics.h), before privileges drop: a port below 1024 needs root. */
static int
open_metrics(void)
{
	struct tg_metrics_config mc = {
		.addr = (const struct sockaddr *)&sp.cfg.mgmt.metrics_addr,
		.addrlen = sp.cfg.mgmt.metrics_addrlen,
		.ask = metrics_ask,
		.log = metrics_log,
	};
	char err[512];

	if (sp.cfg.mgmt.metrics[0] == '\0' || sp.mgmt == NULL)
		return 0;
	sp.metrics = tg_metrics_open(&mc, err, sizeof(err));
	if (sp.metrics == NULL) {
		sp_log(LOG_ERR, "metrics listener %s: %s", sp.cfg.mgmt.metrics, err);
		return -1;
	}
	sp_log(LOG_INFO, "metrics listener: GET http://%s/metrics", sp.cfg.mgmt.metrics);
	return 0;
}

/* ---------------------------------------------------------------------
 * Start: socket, store, privileges
 * ------------------------------------------------------------------- */

static int
resolve_user(void)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];
	int rc;

	rc = getpwnam_r(sp.cfg.user, &pw, buf, sizeof(buf), &pwp);
	if (pwp == NULL) {
		sp_log(LOG_ERR,
		       "look up user %s: %s; create it (useradd --system --no-create-home "
		       "--shell /usr/sbin/nologin %s) or set \"user\" in %s",
		       sp.cfg.user, rc ? strerror(rc) : "no such user", sp.cfg.user,
		       sp.cfg.config_path);
		return -1;
	}
	if (pw.pw_uid == 0) {
		sp_log(LOG_ERR,
		       "user %s is root: refusing to run with privileges; set \"user\" in %s",
		       sp.cfg.user, sp.cfg.config_path);
		return -1;
	}
	sp.uid = pw.pw_uid;
	sp.gid = pw.pw_gid;
	if (sp.cfg.group[0] != '\0') {
		rc = getgrnam_r(sp.cfg.group, &gr, buf, sizeof(buf), &grp);
		if (grp == NULL) {
			sp_log(LOG_ERR, "look up group %s: %s; set \"group\" in %s", sp.cfg.group,
			       rc ? strerror(rc) : "no such group", sp.cfg.config_path);
			return -1;
		}
		if (gr.gr_gid == 0) {
			sp_log(LOG_ERR, "group %s is root's: refusing; set \"group\" in %s",
			       sp.cfg.group, sp.cfg.config_path);
			return -1;
		}
		sp.gid = gr.gr_gid;
	}
	return 0;
}

static int
open_listener(void)
{
	const char *path = sp.cfg.control_socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		sp_log(LOG_ERR, "open control socket %s: path longer than %zu bytes", path,
		       sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			sp_log(LOG_ERR,
			       "open control socket %s: the path exists and is not a "
			       "socket; not removing it",
			       path);
			return -1;
		}
		if (tg_sp_socket_live(&sa, SOCK_SEQPACKET)) {
			sp_log(LOG_ERR,
			       "open control socket %s: in use, another slowpath "
			       "listens there",
			       path);
			return -1;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			sp_log(LOG_ERR, "remove stale control socket %s: %s", path,
			       strerror(errno));
			return -1;
		}
		sp_log(LOG_NOTICE, "remove stale control socket %s: nothing listens on it", path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sp_log(LOG_ERR, "open control socket %s: socket: %s", path, strerror(errno));
		return -1;
	}
	/* mode 0660 from the start: no moment where others may connect */
	old = umask(0117);
	rc = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		sp_log(LOG_ERR, "open control socket %s: bind: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	sp.sock_bound = true;
	if (lstat(path, &st) == 0)
		sp.sock_ino = st.st_ino;
	if (chmod(path, 0660) < 0 || (sp.root && lchown(path, sp.uid, sp.gid) < 0)) {
		sp_log(LOG_ERR, "open control socket %s: set mode 0660 and owner: %s", path,
		       strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, 4) < 0) {
		sp_log(LOG_ERR, "open control socket %s: listen: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	sp.listen_fd = fd;
	return 0;
}

static void
unlink_socket(void)
{
	struct stat st;

	if (!sp.sock_bound)
		return;
	sp.sock_bound = false;
	/* only ours: a slowpath started after us may have replaced it */
	if (lstat(sp.cfg.control_socket, &st) < 0 || st.st_ino != sp.sock_ino)
		return;
	if (unlink(sp.cfg.control_socket) < 0)
		sp_log(LOG_NOTICE, "remove control socket %s: %s; the next start removes it",
		       sp.cfg.control_socket, strerror(errno));
}

/* As root: the audit directory exists, 0700, owned by the user when created here. */
static int
prepare_dir(const char *dir, const char *what)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0) {
		if (chown(dir, sp.uid, sp.gid) < 0) {
			sp_log(LOG_ERR, "create %s directory %s: chown to %s: %s", what, dir,
			       sp.cfg.user, strerror(errno));
			return -1;
		}
		sp_log(LOG_INFO, "create %s directory %s: mode 0700, owner %s", what, dir,
		       sp.cfg.user);
		return 0;
	}
	if (errno != EEXIST) {
		sp_log(LOG_ERR, "create %s directory %s: %s", what, dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		sp_log(LOG_ERR, "open %s directory %s: %s", what, dir,
		       errno ? strerror(errno) : "not a directory");
		return -1;
	}
	if (st.st_uid != sp.uid)
		sp_log(LOG_WARNING,
		       "%s directory %s is owned by uid %d, not %s: a start without root "
		       "could not open it",
		       what, dir, (int)st.st_uid, sp.cfg.user);
	return 0;
}

/* As root, after the store is open: its files and a key made here belong to the user. */
static int
give_store(bool key_created)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "writer.lock" };
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", sp.cfg.audit.dir, files[i]) >=
		    (int)sizeof(path))
			continue;
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid == sp.uid)
			continue;
		if (lchown(path, sp.uid, sp.gid) < 0) {
			sp_log(LOG_ERR, "give %s to %s: %s", path, sp.cfg.user, strerror(errno));
			return -1;
		}
	}
	if (key_created && lchown(sp.cfg.audit.key, sp.uid, sp.gid) < 0) {
		sp_log(LOG_ERR, "give signing key %s to %s: %s", sp.cfg.audit.key, sp.cfg.user,
		       strerror(errno));
		return -1;
	}
	return 0;
}

/* The recordings store (recordings.h), beside the audit store, its files the user's. */
static int
open_recordings(void)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	struct tg_recordings_config rc = {
		.dir = sp.cfg.recordings.dir,
		.map_size = (size_t)sp.cfg.recordings.map_mb << 20,
		.chunk_bytes = sp.cfg.recordings.chunk_kb << 10,
		.max_bytes = (uint64_t)sp.cfg.recordings.max_mb << 20,
		.max_age_s = (uint64_t)sp.cfg.recordings.max_age_days * 86400,
	};
	char err[512], path[PATH_MAX];

	if (sp.root && prepare_dir(rc.dir, "recordings") < 0)
		return -1;
	sp.recs = tg_recordings_open(&rc, sp.track, recording_record, NULL, err, sizeof(err));
	if (sp.recs == NULL) {
		sp_log(LOG_ERR, "%s", err);
		return -1;
	}
	for (size_t i = 0; sp.root && i < sizeof(files) / sizeof(files[0]); i++)
		if (snprintf(path, sizeof(path), "%s/%s", rc.dir, files[i]) < (int)sizeof(path) &&
		    lchown(path, sp.uid, sp.gid) < 0) {
			sp_log(LOG_ERR, "give %s to %s: %s", path, sp.cfg.user, strerror(errno));
			return -1;
		}
	sp_audit_methods_recordings(tg_recordings_bundle_chunk, sp.recs);
	sp_log(LOG_INFO, "open recordings store %s", rc.dir);
	return 0;
}

static int
open_store(void)
{
	struct tg_audit_config ac = {
		.origin = sp.cfg.audit.origin,
		.dir = sp.cfg.audit.dir,
		.key_path = sp.cfg.audit.key,
		.checkpoint_records = sp.cfg.audit.checkpoint_records,
		.checkpoint_seconds = sp.cfg.audit.checkpoint_seconds,
		.map_size = (size_t)sp.cfg.audit.map_mb << 20,
	};
	uint8_t pub[TG_NOTE_PUB], id[TG_NOTE_KEY_ID];
	char err[512], key_id[2 * TG_NOTE_KEY_ID + 1];
	struct stat st;
	bool key_created;
	int rc;

	if (sp.root && prepare_dir(sp.cfg.audit.dir, "audit") < 0)
		return -1;
	key_created = lstat(sp.cfg.audit.key, &st) < 0 && errno == ENOENT;
	sp.audit = tg_audit_open(&ac, err, sizeof(err));
	if (sp.audit == NULL) {
		sp_log(LOG_ERR, "open audit store %s: %s", sp.cfg.audit.dir, err);
		return -1;
	}
	sp.size_at_open = tg_audit_size(sp.audit);
	tg_audit_public_key(sp.audit, pub, id);
	for (int i = 0; i < TG_NOTE_KEY_ID; i++)
		snprintf(key_id + 2 * i, 3, "%02x", id[i]);
	if (key_created)
		sp_log(LOG_NOTICE,
		       "create signing key %s (mode 0600): key id %s; export the "
		       "public key with tgctl audit pubkey",
		       sp.cfg.audit.key, key_id);
	if (tg_audit_unclean(sp.audit)) {
		sp_log(LOG_WARNING,
		       "open audit store %s: the last writer did not close it (crash or kill); "
		       "appending a gap record",
		       sp.cfg.audit.dir);
		rc = tg_audit_append_gap(sp.audit, "unclean_shutdown", -1, NULL);
		if (rc == 0)
			rc = tg_audit_commit(sp.audit, NULL);
		if (rc < 0) {
			sp_log(LOG_ERR, "append gap record to %s: %s", sp.cfg.audit.dir,
			       tg_audit_error(sp.audit));
			return -1;
		}
		sp.cnt[SP_CNT_GAPS]++;
		sp.cnt[SP_CNT_COMMITS]++;
	}
	if (sp.root && give_store(key_created) < 0)
		return -1;
	sp_log(LOG_INFO, "open audit store %s: origin %s, key id %s, %" PRIu64 " records",
	       sp.cfg.audit.dir, sp.cfg.audit.origin, key_id, tg_audit_size(sp.audit));
	if ((sp.track = tg_sesstrack_new(0)) == NULL) {
		sp_log(LOG_ERR, "open audit store %s: out of memory", sp.cfg.audit.dir);
		return -1;
	}
	if (sp.cfg.recordings.dir[0] != '\0' && open_recordings() < 0)
		return -1;
	space_start();
	return 0;
}

/*
 * The SIEM sinks (siem.h), after the store (their cursors are in it) and
 * before the drop (TLS keys may be root's); nothing connects yet.
 */
static int
open_siem(void)
{
	struct tg_siem_params p = {
		.cfg = &sp.cfg.siem,
		.audit = sp.audit,
		.hostname = sp.host,
		.version = TG_VERSION,
		.log = siem_log,
	};
	char err[512];

	if (sp.cfg.siem.nb_sinks == 0)
		return 0;
	sp.siem = tg_siem_open(&p, err, sizeof(err));
	if (sp.siem == NULL) {
		sp_log(LOG_ERR, "siem: %s", err);
		return -1;
	}
	sp_log(LOG_INFO, "siem: %u sink(s)", sp.cfg.siem.nb_sinks);
	return 0;
}

/* setgroups, setgid, setuid; then make sure root cannot be had back. */
static int
drop_privileges(void)
{
	if (!sp.root) {
		sp_log(LOG_NOTICE,
		       "not started as root: running as uid %d, user \"%s\" not applied",
		       (int)getuid(), sp.cfg.user);
		return 0;
	}
	if (setgroups(1, &sp.gid) < 0) {
		sp_log(LOG_ERR, "drop privileges: setgroups: %s; refusing to run as root",
		       strerror(errno));
		return -1;
	}
	if (setresgid(sp.gid, sp.gid, sp.gid) < 0) {
		sp_log(LOG_ERR, "drop privileges: setgid %d: %s; refusing to run as root",
		       (int)sp.gid, strerror(errno));
		return -1;
	}
	if (setresuid(sp.uid, sp.uid, sp.uid) < 0) {
		sp_log(LOG_ERR, "drop privileges: setuid %s: %s; refusing to run as root",
		       sp.cfg.user, strerror(errno));
		return -1;
	}
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 || getegid() == 0 || setuid(0) == 0) {
		sp_log(LOG_ERR, "drop privileges: still root after the drop; refusing to run");
		return -1;
	}
	sp_log(LOG_INFO, "drop privileges: running as user %s (uid %d, gid %d)", sp.cfg.user,
	       (int)sp.uid, (int)sp.gid);
	return 0;
}

static int
open_loop(const sigset_t *sigs)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = SP_TICK_MS / 1000,
				 .tv_nsec = SP_TICK_MS % 1000 * 1000000L },
		.it_value = { .tv_sec = SP_TICK_MS / 1000,
			      .tv_nsec = SP_TICK_MS % 1000 * 1000000L },
	};

	sp.ep_fd = epoll_create1(EPOLL_CLOEXEC);
	sp.sig_fd = signalfd(-1, sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	sp.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sp.commit_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sp.ep_fd < 0 || sp.sig_fd < 0 || sp.timer_fd < 0 || sp.commit_fd < 0 ||
	    timerfd_settime(sp.timer_fd, 0, &its, NULL) < 0 ||
	    epoll_set(EPOLL_CTL_ADD, sp.commit_fd, EPOLLIN, TAG_COMMIT) < 0 ||
	    epoll_set(EPOLL_CTL_ADD, sp.listen_fd, EPOLLIN, TAG_LISTEN) < 0 ||
	    epoll_set(EPOLL_CTL_ADD, sp.sig_fd, EPOLLIN, TAG_SIGNAL) < 0 ||
	    epoll_set(EPOLL_CTL_ADD, sp.timer_fd, EPOLLIN, TAG_TIMER) < 0 ||
	    (sp.mgmt != NULL &&
	     epoll_set(EPOLL_CTL_ADD, tg_mgmt_fd(sp.mgmt), EPOLLIN, TAG_MGMT) < 0) ||
	    (sp.metrics != NULL &&
	     epoll_set(EPOLL_CTL_ADD, tg_metrics_fd(sp.metrics), EPOLLIN, TAG_METRICS) < 0) ||
	    (sp.siem != NULL && epoll_set(EPOLL_CTL_ADD, tg_siem_fd(sp.siem), EPOLLIN, TAG_SIEM) < 0)) {
		sp_log(LOG_ERR, "set up the event loop: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
init_self(void)
{
	uint64_t id = 0;

	while (id == 0)
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
	sp.self = (struct tg_punt_hello){
		.role = TG_PUNT_ROLE_SLOWPATH,
		.vmin = TG_PUNT_VERSION_MIN,
		.vmax = TG_PUNT_VERSION_MAX,
		.instance = id,
		/* pushes policies: the dataplane sends SERVICES and takes POLICY_GEN */
		.caps = (sp.cfg.policy[0] != '\0' ? TG_PUNT_CAP_POLICY : 0) | TG_PUNT_CAP_STATS |
			TG_PUNT_CAP_SESSIONS |
			/* says when the store is full (AU-5(4), audit_space.h) */
			TG_PUNT_CAP_AUDIT_STATE | TG_PUNT_CAP_HOLD |
			/* stores session recordings (recordings.h) */
			(sp.cfg.recordings.dir[0] != '\0' ? TG_PUNT_CAP_RECORD : 0) |
			/* answers identity logins (authn.h); pushes tcp grants (grants_tcp.h) */
			(sp.cfg.identity.enabled ? TG_PUNT_CAP_AUTH | TG_PUNT_CAP_TCP_GRANTS : 0),
		.software = { .p = SOFTWARE, .len = sizeof(SOFTWARE) - 1 },
	};
	if (gethostname(sp.host, sizeof(sp.host) - 1) < 0 || sp.host[0] == '\0')
		snprintf(sp.host, sizeof(sp.host), "localhost");
}

/* Stop: commit, sign, close the store cleanly, remove the socket. */
static int
shut_down(void)
{
	int rc = 0;

	if (sp.audit != NULL) {
		flush();
		if (sp.conn.fd >= 0)
			disconnect(SP_DISC_SHUTDOWN, NULL);
		sp_approvals_close(); /* what is pending ends as a record in the store */
		tg_siem_save(sp.siem); /* committed below or by tg_audit_close() */
		tg_siem_close(sp.siem);
		sp.siem = NULL;
		/* the closing checkpoint here rather than in tg_audit_close(), to count it */
		if (tg_audit_checkpoint(sp.audit, "close") < 0 || !commit()) {
			sp_log(LOG_ERR, "close audit store %s: %s", sp.cfg.audit.dir,
			       tg_audit_error(sp.audit));
			rc = -1;
		}
		print_counters("exit");
		if (rc == 0)
			sp_log(LOG_INFO, "close audit store %s: %" PRIu64 " records, signed, clean",
			       sp.cfg.audit.dir, tg_audit_size(sp.audit));
		if (tg_audit_close(sp.audit) < 0 && rc == 0) {
			sp_log(LOG_ERR, "close audit store %s: cannot mark it clean",
			       sp.cfg.audit.dir);
			rc = -1;
		}
		sp.audit = NULL;
	}
	tg_recordings_close(sp.recs);
	sp.recs = NULL;
	tg_sesstrack_free(sp.track);
	sp.track = NULL;
	auth_queue_free();
	tg_authn_free(sp.authn);
	sp.authn = NULL;
	sp_grants_close();
	tg_notify_free(sp.notify);
	sp.notify = NULL;
	sp_approvals_close(); /* a start that failed before the store: nothing is pending */
	tg_jwks_fetch_free(sp.fetch);
	sp.fetch = NULL;
	tg_jwks_free(sp.jwks);
	sp.jwks = NULL;
	tg_mgmt_close(sp.mgmt);
	sp.mgmt = NULL;
	tg_metrics_close(sp.metrics);
	sp.metrics = NULL;
	unlink_socket();
	return rc;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[8];
	char err[512];
	sigset_t sigs;
	int n, rc;

	sp.listen_fd = sp.sig_fd = sp.timer_fd = sp.ep_fd = sp.conn.fd = sp.commit_fd = -1;
	tg_sp_config_defaults(&sp.cfg);
	rc = tg_sp_config_parse_args(&sp.cfg, argc, argv, err, sizeof(err));
	if (rc == 1) {
		tg_sp_config_usage(stdout, PROG);
		return EXIT_SUCCESS;
	}
	if (rc < 0) {
		sp_log(LOG_ERR, "config: %s", err);
		return 2;
	}

	/* signals are taken by the loop (signalfd), from the start */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	init_self();
	sp.root = geteuid() == 0;
	sp.started = time(NULL);
	if ((sp.root && resolve_user() < 0) || open_listener() < 0 || open_mgmt() < 0 ||
	    open_metrics() < 0 || open_store() < 0 || open_siem() < 0 || open_identity() < 0 ||
	    drop_privileges() < 0 || open_loop(&sigs) < 0 || open_identity_keys() < 0 ||
	    open_grants() < 0 || open_notify() < 0 || open_approvals() < 0)
		goto fail;
	/* read on a dataplane's SERVICES and on SIGHUP, as the unprivileged user */
	if (sp.cfg.policy[0] != '\0' && access(sp.cfg.policy, R_OK) < 0) {
		sp_log(LOG_ERR, "policy %s: %s (read as user %s)", sp.cfg.policy, strerror(errno),
		       sp.cfg.user);
		goto fail;
	}
	sp_log(LOG_INFO, "ready: %s on %s, audit store %s%s%s", SOFTWARE, sp.cfg.control_socket,
	       sp.cfg.audit.dir, sp.cfg.policy[0] != '\0' ? ", policy " : "", sp.cfg.policy);
	/*
	 * systemd (Type=notify, appliance/tollgate-slowpath.service): ready once
	 * the sockets and the store are open; with WatchdogSec, the 1 s timer
	 * proves the event loop turns. Nothing outside systemd.
	 */
	sd_notify(0, "READY=1");
	sp.watchdog = sd_watchdog_enabled(0, NULL) > 0;

	while (!sp.stop) {
		n = epoll_wait(sp.ep_fd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sp_log(LOG_CRIT, "event loop: epoll_wait: %s", strerror(errno));
			goto fail;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case TAG_LISTEN:
				on_accept();
				break;
			case TAG_CONN:
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					on_readable();
				if ((evs[i].events & EPOLLOUT) && sp.conn.fd >= 0)
					pump();
				break;
			case TAG_SIGNAL:
				on_signal();
				break;
			case TAG_TIMER:
				on_timer();
				break;
			case TAG_COMMIT:
				on_commit_timer();
				break;
			case TAG_MGMT:
				tg_mgmt_on_ready(sp.mgmt);
				break;
			case TAG_METRICS:
				tg_metrics_on_ready(sp.metrics);
				break;
			case TAG_SIEM: /* tg_siem_run() below */
				break;
			case TAG_JWKS:
				/* on_keys() may verify held logins: their replies go now */
				tg_jwks_fetch_on_ready(sp.fetch);
				pump();
				break;
			case TAG_NOTIFY:
				tg_notify_on_ready(sp.notify);
				break;
			}
		}
		flush();
		tg_siem_run(sp.siem); /* new durable records, sockets, timers */
	}
	sd_notify(0, "STOPPING=1");
	rc = shut_down();
	sp_log(LOG_INFO, "exit%s", rc == 0 ? "" : " with errors");
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;

fail:
	shut_down();
	sp_log(LOG_ERR, "exit: could not start or run");
	return EXIT_FAILURE;
}
