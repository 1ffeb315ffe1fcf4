/* SPDX-License-Identifier: MIT */
/*
 * metrics.c — the loopback /metrics listener. See metrics.h; the request
 * head is parsed by http.c, the exposition rendered by mgmt/prom.c.
 *
 * A connection's life, one slot of a fixed table (no allocation per
 * connection but its response, so a stale epoll event or a late answer
 * can name a slot, never freed memory):
 *   HEAD   reading the head into the slot's buffer; parsed again when a
 *          new LF arrives or the buffer is full
 *   WAIT   the head asked for the metrics: cfg->ask() was called with
 *          the slot's token; no epoll interest but errors
 *   SEND   the response goes out
 *   DRAIN  sent, write side shut down; input read and dropped until EOF
 * then the slot is free again. Tokens are (serial << 8 | slot), serial
 * counting every scrape, so the answer to a slot's previous client is
 * told from its current one.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "metrics.h"
#include "prom.h"
#include "seterr.h"

#define ACCEPT_BURST 16
#define EVENTS_BURST 32
#define LOG_LINE_MAX 512
#define SLOT_BITS 8
#define CONTENT_TYPE "text/plain; version=0.0.4"

enum state {
	ST_FREE = 0,
	ST_HEAD,
	ST_WAIT,
	ST_SEND,
	ST_DRAIN,
};

struct slot {
	int fd;
	enum state st;
	uint64_t token;	   /* the scrape waited for (WAIT) */
	uint64_t since_ms; /* the phase began */
	size_t in_len;
	size_t drained;
	char *out;
	size_t out_len, out_off;
	char in[TG_HTTP_HEAD_MAX];
};

struct tg_metrics {
	int listen_fd, ep_fd;
	unsigned int port;
	unsigned int max_clients, timeout_ms, nb_clients;
	uint64_t serial;
	struct slot *slots;
	void *arg;
	void (*ask)(void *arg, uint64_t token);
	void (*log)(void *arg, int prio, const char *msg);
	uint64_t (*clock_ms)(void *arg);
	uint64_t cnt[TG_METRICS_CNT_MAX];
};

static const char *const counter_names[TG_METRICS_CNT_MAX] = {
#define TG_METRICS_X(e, n) [TG_METRICS_CNT_##e] = n,
	TG_METRICS_COUNTERS(TG_METRICS_X)
#undef TG_METRICS_X
};

static void mlog(struct tg_metrics *mx, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
mlog(struct tg_metrics *mx, int prio, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (mx->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	mx->log(mx->arg, prio, line);
}

static uint64_t
now_ms(struct tg_metrics *mx)
{
	struct timespec ts;

	if (mx->clock_ms != NULL)
		return mx->clock_ms(mx->arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
slot_close(struct tg_metrics *mx, struct slot *s)
{
	if (s->st == ST_FREE)
		return;
	epoll_ctl(mx->ep_fd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	free(s->out);
	s->out = NULL;
	s->fd = -1;
	s->st = ST_FREE;
	s->token = 0;
	mx->nb_clients--;
}

static void
interest(struct tg_metrics *mx, struct slot *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(s - mx->slots) + 1 };

	if (epoll_ctl(mx->ep_fd, EPOLL_CTL_MOD, s->fd, &ev) < 0) {
		mlog(mx, LOG_ERR, "metrics: epoll: %s; closing a connection", strerror(errno));
		slot_close(mx, s);
	}
}

/* Reads and drops what the client still sends; closes at EOF, error or the drain cap. */
static void
drain(struct tg_metrics *mx, struct slot *s)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0 || (s->drained += (size_t)n) > TG_METRICS_DRAIN_MAX) {
			slot_close(mx, s);
			return;
		}
	}
}

/* Sends what the socket takes; once all is sent, shuts the write side and drains. */
static void
send_out(struct tg_metrics *mx, struct slot *s)
{
	ssize_t n;

	while (s->out_off < s->out_len) {
		n = send(s->fd, s->out + s->out_off, s->out_len - s->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			interest(mx, s, EPOLLOUT);
			return;
		}
		if (n < 0) {
			if (errno != EPIPE && errno != ECONNRESET)
				mx->cnt[TG_METRICS_CNT_IO_ERRORS]++;
			slot_close(mx, s);
			return;
		}
		s->out_off += (size_t)n;
	}
	free(s->out);
	s->out = NULL;
	s->out_len = s->out_off = 0;
	shutdown(s->fd, SHUT_WR);
	s->st = ST_DRAIN;
	s->since_ms = now_ms(mx);
	interest(mx, s, EPOLLIN);
	if (s->st == ST_DRAIN)
		drain(mx, s);
}

/*
 * Queues a response: the status line, the fields, the body (len bytes).
 * On memory failure the connection is closed: there is nothing smaller
 * to say.
 */
static void
respond(struct tg_metrics *mx, struct slot *s, int status, const char *type, const char *body,
	size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "%s"
		     "Cache-Control: no-store\r\n"
		     "Connection: close\r\n"
		     "\r\n",
		     status, tg_http_reason(status), type, len,
		     status == 405 ? "Allow: GET\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head) || (s->out = malloc((size_t)n + len)) == NULL) {
		mlog(mx, LOG_ERR, "metrics: no memory for a %zu-byte response; closing", len);
		slot_close(mx, s);
		return;
	}
	memcpy(s->out, head, (size_t)n);
	if (len > 0)
		memcpy(s->out + n, body, len);
	s->out_len = (size_t)n + len;
	s->out_off = 0;
	s->st = ST_SEND;
	s->since_ms = now_ms(mx);
	send_out(mx, s);
}

/* An error status with a one-line text body saying why. */
static void
respond_error(struct tg_metrics *mx, struct slot *s, int status, const char *why)
{
	char body[256];
	int n;

	switch (status) {
	case 400:
		mx->cnt[TG_METRICS_CNT_BAD_REQUEST]++;
		break;
	case 404:
		mx->cnt[TG_METRICS_CNT_NOT_FOUND]++;
		break;
	case 405:
		mx->cnt[TG_METRICS_CNT_BAD_METHOD]++;
		break;
	case 413:
	case 431:
		mx->cnt[TG_METRICS_CNT_TOO_LARGE]++;
		break;
	case 505:
		mx->cnt[TG_METRICS_CNT_BAD_VERSION]++;
		break;
	case 503:
		mx->cnt[TG_METRICS_CNT_UNAVAILABLE]++;
		break;
	case 500:
		mx->cnt[TG_METRICS_CNT_FAILED]++;
		break;
	}
	n = snprintf(body, sizeof(body), "%d %s: %s\n", status, tg_http_reason(status),
		     why != NULL ? why : "");
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(body))
		n = (int)sizeof(body) - 1;
	respond(mx, s, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* The head is complete and valid: ask the owner, who may answer before this returns. */
static void
ask(struct tg_metrics *mx, struct slot *s)
{
	mx->serial++;
	s->token = mx->serial << SLOT_BITS | (uint64_t)(s - mx->slots);
	s->st = ST_WAIT;
	s->since_ms = now_ms(mx);
	/* errors and hang-ups only: unread input must not wake the loop over and over */
	interest(mx, s, 0);
	if (s->st == ST_WAIT)
		mx->ask(mx->arg, s->token);
}

static void
read_head(struct tg_metrics *mx, struct slot *s)
{
	struct tg_http_req req;
	ssize_t n;
	int status;

	for (;;) {
		n = recv(s->fd, s->in + s->in_len, sizeof(s->in) - s->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (n < 0 && errno != ECONNRESET)
				mx->cnt[TG_METRICS_CNT_IO_ERRORS]++;
			mx->cnt[TG_METRICS_CNT_ABANDONED]++;
			slot_close(mx, s);
			return;
		}
		s->in_len += (size_t)n;
		/* a line is complete, the start of one may be garbage, or the cap is reached */
		status = tg_http_parse_head(s->in, s->in_len, sizeof(s->in), TG_METRICS_PATH, &req);
		if (status == 0)
			continue;
		if (status == 200)
			ask(mx, s);
		else
			respond_error(mx, s, status, req.why);
		return;
	}
}

static void
on_accept(struct tg_metrics *mx)
{
	struct epoll_event ev;
	struct slot *s;
	int fd;

	for (int k = 0; k < ACCEPT_BURST; k++) {
		fd = accept4(mx->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				mlog(mx, LOG_WARNING, "metrics: accept: %s", strerror(errno));
			return;
		}
		mx->cnt[TG_METRICS_CNT_ACCEPTED]++;
		s = NULL;
		for (unsigned int i = 0; i < mx->max_clients && s == NULL; i++)
			if (mx->slots[i].st == ST_FREE)
				s = &mx->slots[i];
		if (s == NULL) {
			mx->cnt[TG_METRICS_CNT_REFUSED]++;
			close(fd);
			continue;
		}
		ev = (struct epoll_event){ .events = EPOLLIN,
					   .data.u64 = (uint64_t)(s - mx->slots) + 1 };
		if (epoll_ctl(mx->ep_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			mlog(mx, LOG_ERR, "metrics: epoll: %s; closing a connection",
			     strerror(errno));
			close(fd);
			continue;
		}
		s->fd = fd;
		s->st = ST_HEAD;
		s->in_len = 0;
		s->drained = 0;
		s->since_ms = now_ms(mx);
		mx->nb_clients++;
	}
}

static void
on_event(struct tg_metrics *mx, struct slot *s, uint32_t events)
{
	switch (s->st) {
	case ST_HEAD:
		read_head(mx, s);
		break;
	case ST_WAIT:
		/* no interest is registered: only an error or a hang-up gets here */
		if (events & (EPOLLERR | EPOLLHUP)) {
			mx->cnt[TG_METRICS_CNT_ABANDONED]++;
			slot_close(mx, s);
		}
		break;
	case ST_SEND:
		send_out(mx, s);
		break;
	case ST_DRAIN:
		drain(mx, s);
		break;
	case ST_FREE:
		break; /* closed earlier in this batch of events */
	}
}

void
tg_metrics_on_ready(struct tg_metrics *mx)
{
	struct epoll_event evs[EVENTS_BURST];
	int n;

	n = epoll_wait(mx->ep_fd, evs, EVENTS_BURST, 0);
	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;

		if (tag == 0)
			on_accept(mx);
		else if (tag <= mx->max_clients)
			on_event(mx, &mx->slots[tag - 1], evs[i].events);
	}
}

void
tg_metrics_tick(struct tg_metrics *mx)
{
	static const char timeout[] = "HTTP/1.1 408 Request Timeout\r\n"
				      "Content-Length: 0\r\nConnection: close\r\n\r\n";
	uint64_t now = now_ms(mx);

	for (unsigned int i = 0; i < mx->max_clients; i++) {
		struct slot *s = &mx->slots[i];

		if (s->st == ST_FREE || now - s->since_ms < mx->timeout_ms)
			continue;
		if (s->st == ST_WAIT) {
			/* the owner did not answer in time: it may still, to a token gone stale */
			s->token = 0;
			respond_error(mx, s, 503, "the counters did not come in time");
			continue;
		}
		mx->cnt[TG_METRICS_CNT_TIMEOUTS]++;
		/* a slow client is told once, without waiting for it to read (RFC 9110 15.5.9) */
		if (s->st == ST_HEAD &&
		    send(s->fd, timeout, sizeof(timeout) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* best effort: it is closed either way */
		}
		slot_close(mx, s);
	}
}

void
tg_metrics_answer(struct tg_metrics *mx, uint64_t token, const json_t *stats)
{
	struct slot *s;
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (mx == NULL || token == 0 || (token & ((1u << SLOT_BITS) - 1)) >= mx->max_clients)
		return;
	s = &mx->slots[token & ((1u << SLOT_BITS) - 1)];
	if (s->st != ST_WAIT || s->token != token)
		return; /* the client went, or was answered 503 already */
	s->token = 0;
	if (stats == NULL) {
		respond_error(mx, s, 503, "no counters: the slowpath could not build them");
		return;
	}
	/* the same rendering as tgctl stats -o prometheus */
	f = open_memstream(&body, &len);
	if (f == NULL) {
		respond_error(mx, s, 500, "out of memory");
		return;
	}
	rc = tg_prom_write(f, stats);
	if (fclose(f) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc < 0) {
		mlog(mx, LOG_ERR, "metrics: render the counters: %s", strerror(-rc));
		respond_error(mx, s, 500, "the counters could not be rendered");
	} else {
		mx->cnt[TG_METRICS_CNT_SCRAPES]++;
		respond(mx, s, 200, CONTENT_TYPE, body, len);
	}
	free(body);
}

json_t *
tg_metrics_stats_json(const struct tg_metrics *mx)
{
	json_t *cnt = json_object();

	for (unsigned int i = 0; cnt != NULL && i < TG_METRICS_CNT_MAX; i++)
		if (json_object_set_new(cnt, counter_names[i],
					json_integer((json_int_t)mx->cnt[i])) < 0) {
			json_decref(cnt);
			return NULL;
		}
	return cnt != NULL ? json_pack("{s:o}", "counters", cnt) : NULL;
}

unsigned int
tg_metrics_port(const struct tg_metrics *mx)
{
	return mx->port;
}

int
tg_metrics_fd(const struct tg_metrics *mx)
{
	return mx->ep_fd;
}

struct tg_metrics *
tg_metrics_open(const struct tg_metrics_config *cfg, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct tg_metrics *mx;
	int one = 1, rc;

	if (cfg->addr == NULL || cfg->ask == NULL || cfg->addrlen > sizeof(ss) ||
	    (cfg->addr->sa_family != AF_INET && cfg->addr->sa_family != AF_INET6) ||
	    cfg->max_clients > (1u << SLOT_BITS)) {
		tg_sp_seterr(err, errlen,
			     "metrics listener: bad config (an address, an ask hook, "
			     "at most %u clients)",
			     1u << SLOT_BITS);
		errno = EINVAL;
		return NULL;
	}
	mx = calloc(1, sizeof(*mx));
	if (mx == NULL) {
		tg_sp_seterr(err, errlen, "metrics listener: out of memory");
		return NULL;
	}
	mx->listen_fd = mx->ep_fd = -1;
	mx->max_clients = cfg->max_clients ? cfg->max_clients : TG_METRICS_CLIENTS_MAX;
	mx->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : TG_METRICS_TIMEOUT_MS;
	mx->arg = cfg->arg;
	mx->ask = cfg->ask;
	mx->log = cfg->log;
	mx->clock_ms = cfg->clock_ms;
	mx->slots = calloc(mx->max_clients, sizeof(*mx->slots));
	if (mx->slots == NULL) {
		rc = -ENOMEM;
		tg_sp_seterr(err, errlen, "metrics listener: out of memory");
		goto err_alloc;
	}
	for (unsigned int i = 0; i < mx->max_clients; i++)
		mx->slots[i].fd = -1;
	mx->listen_fd = socket(cfg->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (mx->listen_fd < 0 ||
	    setsockopt(mx->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(mx->listen_fd, cfg->addr, cfg->addrlen) < 0 || listen(mx->listen_fd, 16) < 0 ||
	    getsockname(mx->listen_fd, (struct sockaddr *)&ss, &sslen) < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "metrics listener: %s", strerror(errno));
		goto err_socket;
	}
	mx->port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
					   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	mx->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (mx->ep_fd < 0 || epoll_ctl(mx->ep_fd, EPOLL_CTL_ADD, mx->listen_fd, &ev) < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "metrics listener: epoll: %s", strerror(errno));
		goto err_epoll;
	}
	return mx;

err_epoll:
	if (mx->ep_fd >= 0)
		close(mx->ep_fd);
err_socket:
	if (mx->listen_fd >= 0)
		close(mx->listen_fd);
	free(mx->slots);
err_alloc:
	free(mx);
	errno = -rc;
	return NULL;
}

void
tg_metrics_close(struct tg_metrics *mx)
{
	if (mx == NULL)
		return;
	for (unsigned int i = 0; i < mx->max_clients; i++)
		slot_close(mx, &mx->slots[i]);
	close(mx->listen_fd);
	close(mx->ep_fd);
	free(mx->slots);
	free(mx);
}
