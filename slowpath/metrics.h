/* SPDX-License-Identifier: MIT */
/*
 * metrics.h — the optional loopback HTTP listener that serves GET /metrics:
 * the "stats" method's result (mgmt/api.h) as Prometheus text format 0.0.4,
 * rendered by mgmt/prom.c, the same code as `tgctl stats -o prometheus`, so
 * a scrape and the CLI cannot disagree on a name.
 *
 * Configured as "mgmt": {"metrics": "127.0.0.1:9464"} (config.h); the
 * config refuses an address that is not loopback, since the listener has
 * no authentication: it is for a node-local agent (Prometheus agent,
 * node-exporter's sidecar, an SSH tunnel), and the counters it serves name
 * services and ports.
 *
 * The stats come from the dataplane asynchronously. The listener does not
 * know how: when a request head is complete and valid it calls cfg->ask
 * with a token and waits; the owner (main.c, through the same path as the
 * stats method: a STATS_REQUEST answered by STATS_RESPONSE or a ~2 s
 * timeout) answers with tg_metrics_answer(), now or later. A token whose
 * connection has gone is ignored, so the owner never holds a pointer into
 * the listener.
 *
 * One request per connection: every response says Connection: close, is
 * sent, the write side shut down, and what the client still sends is read
 * and dropped until it closes (a lingering close, so that a response to a
 * request not read whole is not lost to a reset). Statuses: http.h.
 *
 * Event loop. Like the management server (mgmt.h): one descriptor of the
 * listener's own epoll, tg_metrics_fd(), watched for EPOLLIN; then
 * tg_metrics_on_ready(). No call blocks. tg_metrics_tick(), called every
 * second, ends connections past their deadline.
 *
 * Caps and costs:
 *   - cfg->max_clients connections at a time (default 16); one more is
 *     accepted and closed at once (counted refused), so a flood cannot
 *     fill the backlog and starve the scraper forever.
 *   - Per connection: the head buffer (TG_HTTP_HEAD_MAX, 8 KiB) and the
 *     response (some KiB per port and worker) while it is sent.
 *   - Deadlines, each phase cfg->timeout_ms (default 5 s; checked by the
 *     1 s tick, so up to 1 s more): receiving the head (then 408, best
 *     effort, and close), waiting for the stats (503), sending the
 *     response (close), and draining after it (close).
 *
 * Caveats:
 *   - Every scrape asks the dataplane for a snapshot, as tgctl stats does;
 *     scrape intervals of seconds are fine, a scrape storm is capped by
 *     max_clients and by the stats path's own cap of requests waiting.
 *   - A client that leaves while its scrape waits is noticed when the
 *     response is sent to it (a half-close may be a client still waiting,
 *     RFC 9112 9.6): its slot is held until then, at most the deadline.
 *   - IPv4 and IPv6 loopback only; no TLS, no keep-alive, no gzip.
 *   - Single-threaded, like the slowpath.
 */
#ifndef TG_SP_METRICS_H
#define TG_SP_METRICS_H

#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#define TG_METRICS_CLIENTS_MAX 16  /* default connections at a time; at most 256 */
#define TG_METRICS_TIMEOUT_MS 5000 /* default deadline of each phase */
#define TG_METRICS_DRAIN_MAX 65536 /* bytes read and dropped after a response */
#define TG_METRICS_PATH "/metrics"

/* clang-format off */
#define TG_METRICS_COUNTERS(X) \
	X(ACCEPTED, "accepted")		/* connections accepted */ \
	X(REFUSED, "refused")		/* closed at once: max_clients */ \
	X(SCRAPES, "scrapes")		/* 200 responses */ \
	X(BAD_REQUEST, "bad_request")	/* 400 */ \
	X(NOT_FOUND, "not_found")	/* 404 */ \
	X(BAD_METHOD, "bad_method")	/* 405 */ \
	X(TOO_LARGE, "too_large")	/* 413 and 431 */ \
	X(BAD_VERSION, "bad_version")	/* 505 */ \
	X(UNAVAILABLE, "unavailable")	/* 503: no stats in time */ \
	X(FAILED, "failed")		/* 500: the rendering failed */ \
	X(TIMEOUTS, "timeouts")		/* connections ended by a deadline */ \
	X(ABANDONED, "abandoned")	/* closed by the client before the response */ \
	X(IO_ERRORS, "io_errors")	/* recv/send failures (not EOF, not reset) */

enum tg_metrics_counter {
#define TG_METRICS_X(e, n) TG_METRICS_CNT_##e,
	TG_METRICS_COUNTERS(TG_METRICS_X)
#undef TG_METRICS_X
	TG_METRICS_CNT_MAX
};
/* clang-format on */

struct tg_metrics_config {
	const struct sockaddr *addr; /* where to listen; the config checked it is loopback */
	socklen_t addrlen;
	unsigned int max_clients; /* 0: TG_METRICS_CLIENTS_MAX */
	unsigned int timeout_ms;  /* 0: TG_METRICS_TIMEOUT_MS */

	void *arg; /* passed to the hooks below */
	/* Asks for the stats of a scrape; answer with tg_metrics_answer(token). Required. */
	void (*ask)(void *arg, uint64_t token);
	/* One line, syslog priority; NULL: silent. */
	void (*log)(void *arg, int prio, const char *msg);
	/* CLOCK_MONOTONIC milliseconds; NULL: clock_gettime(). */
	uint64_t (*clock_ms)(void *arg);
};

struct tg_metrics;

/*
 * Binds and listens (SO_REUSEADDR, so a restart does not wait for
 * TIME_WAIT). Returns the listener, or NULL with errno set and the reason
 * in err.
 */
struct tg_metrics *tg_metrics_open(const struct tg_metrics_config *cfg, char *err, size_t errlen);

/* Closes every connection and the socket. NULL is a no-op. */
void tg_metrics_close(struct tg_metrics *mx);

/* The one descriptor to watch for EPOLLIN. */
int tg_metrics_fd(const struct tg_metrics *mx);

/* Accepts, reads heads, sends responses: what is ready. */
void tg_metrics_on_ready(struct tg_metrics *mx);

/* Ends connections past their deadline; call it every second or so. */
void tg_metrics_tick(struct tg_metrics *mx);

/*
 * Answers the scrape of token with stats (the stats method's result, not
 * taken); NULL answers 503. A token whose connection has gone, or that
 * was answered already, is ignored. mx NULL is a no-op.
 */
void tg_metrics_answer(struct tg_metrics *mx, uint64_t token, const json_t *stats);

/* The counters as {"counters": {..}}, for the stats result; NULL on memory failure. */
json_t *tg_metrics_stats_json(const struct tg_metrics *mx);

/* The port bound (host order): for a config that asked for port 0, and for logs. */
unsigned int tg_metrics_port(const struct tg_metrics *mx);

#endif /* TG_SP_METRICS_H */
