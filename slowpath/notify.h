/* SPDX-License-Identifier: MIT */
/*
 * notify.h — the notification hook of approval requests: each request
 * (and each decision) is handed, as JSON, to the configured webhooks
 * (HTTP POST) and commands (JSON on stdin), besides the event stream, so
 * that teams can wire up chat or ticketing. The configuration is
 * notify_config.h ("approvals": {"notify": {...}}).
 *
 * Wiring it into the slowpath, in a few lines:
 *
 *   // config.c: a struct tg_notify_config notify in the config; a NULL
 *   // section (no "approvals.notify") gives no sink: a notifier that does nothing
 *   tg_notify_config_parse(&c->notify, json_object_get(approvals, "notify"), path,
 *                          err, errlen);
 *   // slowpath/meson.build: sp_notify_lib (it holds notify_config.c too) in
 *   // the link_with of tollgate-slowpath, and of sp_config_lib for the parser
 *   // main.c: after drop_privileges(), so that hooks run as the slowpath's
 *   // user and secret files are read as it (mode 0600 or 0400, its own)
 *   struct tg_notify_hooks h = { .log = notify_log, .on_giveup = notify_giveup };
 *   sp.notify = tg_notify_new(&sp.cfg.notify, &h, err, sizeof(err));
 *   epoll_set(EPOLL_CTL_ADD, tg_notify_fd(sp.notify), EPOLLIN, TAG_NOTIFY);
 *   case TAG_NOTIFY: tg_notify_on_ready(sp.notify); break;       // the loop
 *   tg_notify_tick(sp.notify, now_ms());                          // on_timer()
 *   tg_notify_submit(sp.notify, "approval.requested", json_text, NULL); // per request
 *   json_object_set_new(stats, "notify", tg_notify_stats_json(sp.notify));
 *   tg_notify_free(sp.notify);                  // at exit, before the store closes
 *
 * Delivery. tg_notify_submit() queues one delivery per sink (one shared
 * copy of the body) and starts what the sink's "parallel" allows at once.
 * An attempt succeeds on a 2xx answer (webhook) or exit status 0
 * (command); anything else is a failed attempt: a transport error or
 * another status, a non-zero exit, a signal, or the timeout (the command's
 * process group is sent SIGKILL). A failed attempt is tried again after
 * initial_ms * 2^(n-1), capped at max_ms, with equal jitter (half fixed,
 * half random), until max_attempts. A delivery is never lost silently:
 * it is delivered, or dropped with a counter and a log line saying why —
 * the sink's queue was full at submit, its attempts ran out, or the
 * process stopped with it undelivered (tg_notify_free()) — and then
 * hooks->on_giveup is called, so the caller can audit the loss. Order
 * between deliveries of a sink is not kept once one is retried.
 *
 * Webhook request: POST of the body with Content-Type: application/json
 * and, besides the configured headers,
 *   X-Tollgate-Event: <kind>           e.g. approval.requested
 *   X-Tollgate-Delivery: <id>          the same on every attempt: dedupe on it
 *   X-Tollgate-Attempt: <n>            1 for the first attempt
 *   X-Tollgate-Timestamp: <unix s>     when this attempt was made
 *   X-Tollgate-Signature: sha256=<hex> with a secret_file only
 * Signing (the Standard Webhooks scheme, with hex): HMAC-SHA256 keyed with
 * the secret file's bytes (one trailing newline dropped) over
 * "<delivery>.<timestamp>.<body>"; a receiver recomputes it, compares in
 * constant time, and refuses a timestamp too far from its clock (replay).
 * No redirect is followed; https is verified (peer and host name, TLS 1.2
 * or later) against ca_file or the system bundle; the answer's body is
 * read up to 4 KiB and dropped.
 *
 * Command: argv[0] is executed directly (posix_spawn: no shell, no PATH
 * search) in a process group of its own, with the body on stdin (a
 * socket, shut down for writing after the body, so EOF follows it), the
 * environment PATH=/usr/local/bin:/usr/bin:/bin, TOLLGATE_EVENT=<kind>,
 * TOLLGATE_DELIVERY=<id>, TOLLGATE_ATTEMPT=<n> and the configured env
 * (nothing of the slowpath's own environment), no signal blocked or
 * ignored, and every other descriptor closed. Its stdout and stderr are
 * read into the first 200 bytes of a buffer, which a failed attempt's
 * error quotes. Exit is seen through a pidfd in the notify epoll, then
 * reaped with waitpid(pid, WNOHANG): no SIGCHLD handler, and no wait for
 * any other child, so the slowpath's signalfd is untouched.
 *
 * Cost: one epoll fd in the caller's loop; per attempt in flight one
 * libcurl easy handle, or a child process and three fds. Bodies are
 * capped at TG_NOTIFY_BODY_MAX and shared between the sinks.
 *
 * Caveats:
 *   - Name resolution uses libcurl's resolver; with a synchronous-resolver
 *     build a webhook named by host may block the loop up to its timeout
 *     (a URL with an IP literal never does), as in jwks_fetch.h.
 *   - A command's children that leave its process group outlive its
 *     timeout; what stays in the group is killed with it.
 *   - If the process ignores SIGCHLD (SA_NOCLDWAIT), the kernel reaps the
 *     child itself: the attempt then counts as failed ("exit status
 *     lost"). The slowpath leaves SIGCHLD at its default.
 *   - Queued deliveries live in memory only: a restart drops them
 *     (counted, logged and given to on_giveup by tg_notify_free()).
 *   - curl_global_init() runs on the first tg_notify_new() (as in
 *     jwks_fetch.h); single-threaded.
 */
#ifndef TG_SP_NOTIFY_H
#define TG_SP_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "notify_config.h"

#define TG_NOTIFY_BODY_MAX (1u << 20) /* bytes of a JSON body */
#define TG_NOTIFY_KIND_MAX 64	      /* bytes of a kind and NUL: [a-z0-9._-] */
#define TG_NOTIFY_ERROR_MAX 256	      /* bytes of a sink's last error text */
#define TG_NOTIFY_ID_MAX 40	      /* bytes of a delivery id and NUL */

/* clang-format off */
#define TG_NOTIFY_COUNTERS(X) \
	X(SUBMITTED, "submitted")		/* deliveries queued for the sink */ \
	X(DELIVERED, "delivered")		/* deliveries that succeeded */ \
	X(ATTEMPTS, "attempts")			/* attempts started */ \
	X(FAILED, "failed")			/* attempts that failed */ \
	X(RETRIES, "retries")			/* attempts after the first */ \
	X(TIMEOUTS, "timeouts")			/* attempts over timeout_ms */ \
	X(DROPPED_FULL, "dropped_full")		/* refused at submit: queue_max reached */ \
	X(DROPPED_EXHAUSTED, "dropped_exhausted")	/* given up after max_attempts */ \
	X(DROPPED_SHUTDOWN, "dropped_shutdown")	/* undelivered at tg_notify_free() */
/* clang-format on */

enum tg_notify_counter {
#define TG_NOTIFY_X(e, n) TG_NOTIFY_CNT_##e,
	TG_NOTIFY_COUNTERS(TG_NOTIFY_X)
#undef TG_NOTIFY_X
		TG_NOTIFY_CNT_MAX
};

/* Why a delivery was given up (the DROPPED_* counters). */
enum tg_notify_drop {
	TG_NOTIFY_DROP_FULL,
	TG_NOTIFY_DROP_EXHAUSTED,
	TG_NOTIFY_DROP_SHUTDOWN,
};

struct tg_notify_sink_stats {
	char name[TG_NOTIFY_NAME_MAX];
	enum tg_notify_sink_type type;
	uint64_t cnt[TG_NOTIFY_CNT_MAX];
	uint64_t dropped;	/* the DROPPED_* counters summed */
	unsigned int queued;	/* deliveries waiting for an attempt (first or retry) */
	unsigned int in_flight; /* attempts running */
	char last_error[TG_NOTIFY_ERROR_MAX]; /* of the last failed attempt; "" none */
};

/* A delivery given up, for hooks->on_giveup; the strings live for the call only. */
struct tg_notify_giveup {
	const char *sink;
	const char *kind;
	const char *id;
	enum tg_notify_drop reason;
	unsigned int attempts; /* made, 0 for DROP_FULL */
	const char *error;     /* the last attempt's, or why it was not made */
};

struct tg_notify_hooks {
	/* one line, without the body, headers or secrets; may be NULL */
	void (*log)(void *arg, int prio, const char *msg);
	/* a delivery given up; from submit, on_ready, tick or free; may be NULL */
	void (*on_giveup)(void *arg, const struct tg_notify_giveup *g);
	void *arg;
};

struct tg_notify;

/*
 * The notifier of cfg (copied; hooks copied, may be NULL). Reads each
 * webhook's secret_file (1..4096 bytes; kept in memory, wiped at free,
 * never logged) and checks each command's argv[0] is an executable file.
 * Starts nothing. NULL with errno EINVAL (the reason in err, naming the
 * sink's JSON path), ENOMEM, EMFILE, ...
 */
struct tg_notify *tg_notify_new(const struct tg_notify_config *cfg,
				const struct tg_notify_hooks *hooks, char *err, size_t errlen);

/*
 * Kills the commands in flight (SIGKILL to their groups) and reaps them,
 * aborts the transfers, and gives up every undelivered delivery
 * (DROPPED_SHUTDOWN, logged, on_giveup), then frees. NULL is a no-op.
 */
void tg_notify_free(struct tg_notify *n);

/* The fd to watch for EPOLLIN in the caller's loop. */
int tg_notify_fd(const struct tg_notify *n);

/* Moves transfers, commands and retries on; call when tg_notify_fd() is readable. Never blocks. */
void tg_notify_on_ready(struct tg_notify *n);

/*
 * The 1 s backstop: starts the retries due by now_ms (CLOCK_MONOTONIC,
 * ms) and kills the commands past their timeout. The notifier's own
 * timer does the same on time through tg_notify_fd(); this only makes
 * sure a missed wakeup costs at most a tick.
 */
void tg_notify_tick(struct tg_notify *n, uint64_t now_ms);

/*
 * Queues one delivery of json_body (NUL-terminated) as event kind
 * ([a-z0-9._-], 1..63 bytes: "approval.requested", "approval.decided")
 * to every sink, and starts the attempts the sinks have room for.
 * Returns the number of sinks that took it (a sink whose queue is full
 * drops it: counted, logged, on_giveup), or -EINVAL (bad kind, body NULL),
 * -EMSGSIZE (body over TG_NOTIFY_BODY_MAX), -ENOMEM. The body is not
 * parsed: the caller hands over JSON. id, when not NULL, gets the
 * delivery id (TG_NOTIFY_ID_MAX bytes), the same for every sink.
 */
int tg_notify_submit(struct tg_notify *n, const char *kind, const char *json_body, char *id);

/* Sinks, in config order (webhooks then commands). */
unsigned int tg_notify_sinks(const struct tg_notify *n);

/* Copies sink i's stats into st (caller-owned): 0, or -ENOENT past the last. */
int tg_notify_stats(const struct tg_notify *n, unsigned int i, struct tg_notify_sink_stats *st);

/*
 * The stats as JSON for the management API's stats result:
 * {"sinks": [{"name", "type", <counters>, "dropped", "queued",
 * "in_flight", "last_error"}]}; NULL when out of memory.
 */
json_t *tg_notify_stats_json(const struct tg_notify *n);

/* True when nothing is queued or in flight (tools and tests). */
int tg_notify_idle(const struct tg_notify *n);

const char *tg_notify_counter_name(enum tg_notify_counter c);
const char *tg_notify_drop_name(enum tg_notify_drop r);

#endif /* TG_SP_NOTIFY_H */
