/* SPDX-License-Identifier: MIT */
/*
 * siem.c — the SIEM sinks: connections, batches, acks, cursors; see
 * siem.h for the delivery guarantees and why they are what they are.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "siem.h"
#include "siem_format.h"
#include "siem_syslog.h"

#define SIEM_OUT_HIGH (256 * 1024) /* unsent bytes a sink holds at most (then some) */
#define SIEM_OUT_CAP (SIEM_OUT_HIGH + TG_SIEM_EVENT_MAX + TG_SYSLOG_FRAME_PREFIX_MAX + 2)
#define SIEM_FLIGHT_MAX 4096	    /* batches sent and not yet delivered */
#define SIEM_CONNECT_TIMEOUT 10000 /* ms to connect and shake hands */
#define SIEM_ACK_POLL_MS 50	    /* how often SIOCOUTQ is read while bytes wait */
#define SIEM_FILE_SYNC_MS 1000
#define SIEM_TIMER_TAG UINT32_MAX
#define SIEM_STOP_FULL (-ENOBUFS)  /* record callback: the out buffer is full */
#define SIEM_STOP_NOTE (-EINPROGRESS) /* record callback: a checkpoint wants its note */

enum state {
	ST_DOWN,
	ST_CONNECTING,
	ST_HANDSHAKE,
	ST_UP,
};

static const char *const state_names[] = { "down", "connecting", "handshake", "up" };

/* A batch on its way: records up to seq_end, plaintext up to plain_end. */
struct flight {
	uint64_t seq_end;
	uint64_t plain_end;
	uint64_t wire_end; /* 0: not yet written */
	uint64_t acked_ms; /* 0: not yet acknowledged by TCP */
};

struct sink {
	struct tg_siem *s;
	struct tg_siem_sink_config cfg;
	unsigned int idx;
	char cursor[TG_AUDIT_CURSOR_NAME_MAX];
	enum state state;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	uint32_t ep_events; /* registered, 0: none */
	uint64_t next;	    /* next record to format */
	uint64_t acked;	    /* records below it are delivered */
	uint64_t saved;	    /* the cursor value given to the store */
	char *out;
	size_t out_off, out_len;
	uint64_t plain_total;	/* bytes queued on this connection */
	uint64_t plain_written; /* of which written */
	struct flight fl[SIEM_FLIGHT_MAX];
	unsigned int fl_head, fl_n;
	uint64_t retry_at, backoff, since;
	uint64_t file_size, last_sync;
	/* counters */
	uint64_t events, bytes, connects, disconnects, errors, trimmed, malformed;
	char last_error[192];
	bool logged_down;
};

struct tg_siem {
	struct tg_audit *audit;
	int ep, timer;
	uint64_t armed_at; /* the timer's deadline, 0: disarmed */
	char hostname[TG_SYSLOG_HOSTNAME_MAX + 1];
	const char *version;
	void (*log)(void *arg, int prio, const char *msg);
	void *log_arg;
	struct tg_audit_inclusion *proof; /* for checkpoint notes */
	char note[TG_NOTE_MAX + 1];
	uint64_t note_seq; /* UINT64_MAX: note holds none */
	char body[TG_SIEM_EVENT_MAX];
	char head[TG_SIEM_EVENT_MAX];
	unsigned int nb;
	struct sink *sinks[TG_SIEM_SINKS_MAX];
};

static void slog(struct tg_siem *s, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
slog(struct tg_siem *s, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (s->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->log(s->log_arg, prio, msg);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The OpenSSL error queue's first reason, or fallback; the queue is emptied. */
static const char *
ssl_reason(char *buf, size_t size, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "%s", fallback);
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/* ---------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------- */

static int
ep_set(struct sink *k, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = k->idx };
	int rc;

	if (k->ep_events == events)
		return 0;
	if (events == 0)
		rc = epoll_ctl(k->s->ep, EPOLL_CTL_DEL, k->fd, NULL);
	else
		rc = epoll_ctl(k->s->ep, k->ep_events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, k->fd, &ev);
	if (rc == 0)
		k->ep_events = events;
	return rc < 0 ? -errno : 0;
}

/*
 * The connection broke (or never came): everything not delivered is sent
 * again on the next one, which is tried after the backoff.
 */
static void
down(struct sink *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
down(struct sink *k, const char *fmt, ...)
{
	uint64_t now = now_ms();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->last_error, sizeof(k->last_error), fmt, ap);
	va_end(ap);
	k->errors++;
	if (k->state == ST_UP)
		k->disconnects++;
	if (k->ssl != NULL) {
		SSL_free(k->ssl); /* no close_notify: the connection is gone or unwanted */
		k->ssl = NULL;
	}
	if (k->fd >= 0) {
		ep_set(k, 0);
		close(k->fd);
		k->fd = -1;
	}
	k->ep_events = 0;
	k->out_off = k->out_len = 0;
	k->fl_head = k->fl_n = 0;
	k->plain_total = k->plain_written = 0;
	k->next = k->acked;
	k->state = ST_DOWN;
	k->retry_at = now + k->backoff;
	if (!k->logged_down)
		slog(k->s, LOG_WARNING,
		     "siem sink %s (%s): %s; resending from record %" PRIu64 " in %" PRIu64
		     " ms, backing off up to %u ms",
		     k->cfg.name, tg_siem_transport_names[k->cfg.transport], k->last_error,
		     k->acked, k->backoff, k->cfg.backoff_max_ms);
	k->logged_down = true;
	k->backoff = k->backoff * 2 > k->cfg.backoff_max_ms ? k->cfg.backoff_max_ms
							  : k->backoff * 2;
}

static void
up(struct sink *k)
{
	k->state = ST_UP;
	k->connects++;
	if (k->logged_down || k->connects == 1)
		slog(k->s, LOG_INFO, "siem sink %s (%s): connected, sending from record %" PRIu64,
		     k->cfg.name, tg_siem_transport_names[k->cfg.transport], k->next);
	k->logged_down = false;
	if (k->cfg.transport != TG_SIEM_T_FILE)
		ep_set(k, EPOLLIN | EPOLLRDHUP);
}

static int
file_open(struct sink *k)
{
	struct stat st;

	k->fd = open(k->cfg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (k->fd < 0 || fstat(k->fd, &st) < 0) {
		down(k, "open %s: %s", k->cfg.path, strerror(errno));
		return -1;
	}
	k->file_size = (uint64_t)st.st_size;
	k->last_sync = now_ms();
	up(k);
	return 0;
}

static void
connect_start(struct sink *k)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int type = k->cfg.transport == TG_SIEM_T_UDP ? SOCK_DGRAM : SOCK_STREAM, one = 1;

	k->since = now_ms();
	if (k->cfg.transport == TG_SIEM_T_FILE) {
		file_open(k);
		return;
	}
	if (inet_pton(AF_INET, k->cfg.host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(k->cfg.port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, k->cfg.host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(k->cfg.port);
		len = sizeof(*in6);
	} else {
		down(k, "host %s is not an address", k->cfg.host); /* siem_config.c checked */
		return;
	}
	k->fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->fd < 0) {
		down(k, "socket: %s", strerror(errno));
		return;
	}
	if (type == SOCK_STREAM)
		setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(k->fd, (struct sockaddr *)&ss, len) == 0) {
		if (k->cfg.transport == TG_SIEM_T_UDP) {
			up(k);
			return;
		}
	} else if (errno != EINPROGRESS) {
		down(k, "connect %s port %u: %s", k->cfg.host, k->cfg.port, strerror(errno));
		return;
	}
	k->state = ST_CONNECTING;
	if (ep_set(k, EPOLLOUT) < 0)
		down(k, "epoll: %s", strerror(errno));
}

/* Drives SSL_connect(); UP when done. */
static void
handshake(struct sink *k)
{
	char why[256];
	int rc = SSL_connect(k->ssl), e;
	long vr;

	if (rc == 1) {
		up(k);
		return;
	}
	e = SSL_get_error(k->ssl, rc);
	if (e == SSL_ERROR_WANT_READ) {
		ep_set(k, EPOLLIN | EPOLLRDHUP);
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		ep_set(k, EPOLLOUT | EPOLLRDHUP);
		return;
	}
	vr = SSL_get_verify_result(k->ssl);
	if (vr != X509_V_OK)
		down(k, "TLS handshake with %s port %u: certificate: %s", k->cfg.host, k->cfg.port,
		     X509_verify_cert_error_string(vr));
	else
		down(k, "TLS handshake with %s port %u: %s", k->cfg.host, k->cfg.port,
		     ssl_reason(why, sizeof(why), e == SSL_ERROR_SYSCALL ? "connection closed"
									 : "failed"));
}

static void
tls_start(struct sink *k)
{
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, k->cfg.server_name, addr) == 1 ||
		     inet_pton(AF_INET6, k->cfg.server_name, addr) == 1;
	X509_VERIFY_PARAM *vp;
	char why[256];

	k->ssl = SSL_new(k->ctx);
	if (k->ssl == NULL || SSL_set_fd(k->ssl, k->fd) != 1) {
		down(k, "TLS: %s", ssl_reason(why, sizeof(why), "out of memory"));
		return;
	}
	/* RFC 5425 5.2: the server's identity is checked against its certificate */
	vp = SSL_get0_param(k->ssl);
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, k->cfg.server_name) != 1
		  : (X509_VERIFY_PARAM_set1_host(vp, k->cfg.server_name, 0) != 1 ||
		     SSL_set_tlsext_host_name(k->ssl, k->cfg.server_name) != 1)) {
		down(k, "TLS: server_name %s: %s", k->cfg.server_name,
		     ssl_reason(why, sizeof(why), "refused"));
		return;
	}
	k->state = ST_HANDSHAKE;
	handshake(k);
}

/* The socket became writable while connecting: did it connect? */
static void
connected(struct sink *k)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		down(k, "connect %s port %u: %s", k->cfg.host, k->cfg.port, strerror(err));
		return;
	}
	if (k->cfg.transport == TG_SIEM_T_TLS)
		tls_start(k);
	else
		up(k);
}

/* The peer sent something or closed: syslog receivers send nothing, so read and drop. */
static void
readable(struct sink *k)
{
	char buf[4096], why[256];
	ssize_t n;
	int rc, e;

	for (int i = 0; i < 16; i++) {
		if (k->ssl != NULL) {
			rc = SSL_read(k->ssl, buf, sizeof(buf));
			if (rc > 0)
				continue; /* e.g. TLS 1.3 session tickets are consumed inside */
			e = SSL_get_error(k->ssl, rc);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return;
			down(k, "TLS connection closed by %s port %u%s%s", k->cfg.host, k->cfg.port,
			     e == SSL_ERROR_ZERO_RETURN ? "" : ": ",
			     e == SSL_ERROR_ZERO_RETURN ? ""
							: ssl_reason(why, sizeof(why), "reset"));
			return;
		}
		n = recv(k->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		down(k, "connection closed by %s port %u%s%s", k->cfg.host, k->cfg.port,
		     n == 0 ? "" : ": ", n == 0 ? "" : strerror(errno));
		return;
	}
}

/* ---------------------------------------------------------------------
 * Records to events
 * ------------------------------------------------------------------- */

static unsigned int
severity(const struct tg_siem_event *ev)
{
	const char *o = json_string_value(json_object_get(ev->obj, "outcome"));

	if (strcmp(ev->type, "log.gap") == 0 || strcmp(ev->type, "audit.failure") == 0 ||
	    strcmp(ev->type, "audit.full") == 0)
		return LOG_ERR;
	if (strcmp(ev->type, "policy.deny") == 0 || (o != NULL && strcmp(o, "failure") == 0))
		return LOG_WARNING;
	return LOG_INFO;
}

/* One UDP datagram; 0 sent, -EAGAIN retry later, another -errno: down. */
static int
udp_send(struct sink *k, const char *msg, size_t len)
{
	ssize_t n = send(k->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n == (ssize_t)len)
		return 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		return -EAGAIN;
	return n < 0 ? -errno : -EMSGSIZE;
}

/* tg_audit_record_fn: one record into the sink's out buffer (or a datagram). */
static int
on_record(void *arg, uint64_t seq, const char *rec, size_t len)
{
	struct sink *k = arg;
	struct tg_siem *s = k->s;
	struct tg_siem_event ev;
	struct tg_syslog_header h;
	unsigned int trimmed = 0;
	int hl = 0, bl, pl = 0, rc;
	char prefix[TG_SYSLOG_FRAME_PREFIX_MAX];
	bool syslog = k->cfg.transport != TG_SIEM_T_FILE;

	if (k->out_len >= SIEM_OUT_HIGH)
		return SIEM_STOP_FULL;
	if (tg_siem_event_init(&ev, seq, rec, len) < 0) {
		/* the store's records are canonical JSON: this is a damaged store */
		k->malformed++;
		k->next = seq + 1;
		return 0;
	}
	if (strcmp(ev.type, "log.checkpoint") == 0 && s->note_seq != seq && s->proof != NULL) {
		tg_siem_event_release(&ev);
		s->note_seq = seq; /* fetched outside the read transaction, then read again */
		return SIEM_STOP_NOTE;
	}
	if (s->note_seq == seq && s->note[0] != '\0')
		ev.note = s->note;
	ev.version = s->version;
	if (syslog) {
		h = (struct tg_syslog_header){
			.facility = k->cfg.facility,
			.severity = severity(&ev),
			.ts = json_string_value(json_object_get(ev.obj, "ts")),
			.hostname = k->cfg.hostname[0] ? k->cfg.hostname : s->hostname,
			.app_name = k->cfg.app_name,
			.procid = NULL,
			.msgid = ev.type,
			.sd_id = k->cfg.sd_id,
		};
		hl = tg_syslog_head(s->head, sizeof(s->head), &h, seq, ev.leaf, ev.prev_chain,
				    tg_siem_format_names[k->cfg.format]);
		if (hl < 0) {
			tg_siem_event_release(&ev);
			return hl;
		}
	}
	/* the whole message, framing included, within TG_SIEM_EVENT_MAX */
	bl = tg_siem_format(k->cfg.format, &ev, s->body,
			    TG_SIEM_EVENT_MAX - (size_t)hl - TG_SYSLOG_FRAME_PREFIX_MAX, &trimmed);
	tg_siem_event_release(&ev);
	if (bl < 0)
		return bl;
	if (trimmed != 0)
		k->trimmed++;
	if (k->cfg.transport == TG_SIEM_T_UDP) {
		memmove(s->head + hl, s->body, (size_t)bl);
		rc = udp_send(k, s->head, (size_t)hl + (size_t)bl);
		if (rc < 0)
			return rc;
		k->next = seq + 1;
		k->acked = seq + 1; /* at most once: RFC 5426 has no ack */
		k->events++;
		k->bytes += (size_t)hl + (size_t)bl;
		return 0;
	}
	if (k->cfg.transport != TG_SIEM_T_FILE)
		pl = tg_syslog_frame_prefix(prefix, sizeof(prefix), (size_t)hl + (size_t)bl);
	if (pl < 0)
		return pl;
	if (k->out_len + (size_t)pl + (size_t)hl + (size_t)bl + 1 > SIEM_OUT_CAP)
		return SIEM_STOP_FULL; /* cannot happen: OUT_CAP leaves room for one more */
	memcpy(k->out + k->out_len, prefix, (size_t)pl);
	memcpy(k->out + k->out_len + pl, s->head, (size_t)hl);
	memcpy(k->out + k->out_len + pl + hl, s->body, (size_t)bl);
	k->out_len += (size_t)pl + (size_t)hl + (size_t)bl;
	if (!syslog)
		k->out[k->out_len++] = '\n';
	k->plain_total += (size_t)pl + (size_t)hl + (size_t)bl + (syslog ? 0 : 1);
	k->next = seq + 1;
	k->events++;
	return 0;
}

/* The signed note of the checkpoint record seq into s->note ("" if none). */
static void
fetch_note(struct tg_siem *s, uint64_t seq)
{
	s->note[0] = '\0';
	if (tg_audit_prove(s->audit, seq, seq + 1, s->proof) == 0) {
		if (s->proof->checkpoint && s->proof->note_len < sizeof(s->note)) {
			memcpy(s->note, s->proof->note, s->proof->note_len);
			s->note[s->proof->note_len] = '\0';
		}
		tg_audit_inclusion_release(s->proof);
	}
}

/* One batch of records into the out buffer; records a flight for it. */
static void
fill(struct sink *k)
{
	uint64_t durable = tg_audit_durable(k->s->audit), from = k->next;
	int rc;

	if (k->next >= durable || k->fl_n == SIEM_FLIGHT_MAX || k->out_len >= SIEM_OUT_HIGH / 2)
		return;
	if (k->out_off > 0) {
		memmove(k->out, k->out + k->out_off, k->out_len - k->out_off);
		k->out_len -= k->out_off;
		k->out_off = 0;
	}
	for (int tries = 0; tries < 4; tries++) {
		rc = tg_audit_read(k->s->audit, k->next, k->cfg.batch, on_record, k);
		if (rc == SIEM_STOP_NOTE) {
			fetch_note(k->s, k->s->note_seq);
			continue;
		}
		break;
	}
	if (rc < 0 && rc != SIEM_STOP_FULL && rc != SIEM_STOP_NOTE && rc != -EAGAIN) {
		k->errors++;
		snprintf(k->last_error, sizeof(k->last_error), "read or format record %" PRIu64 ": %s",
			 k->next, strerror(-rc));
		if (k->cfg.transport == TG_SIEM_T_UDP && rc != -EMSGSIZE)
			down(k, "send to %s port %u: %s", k->cfg.host, k->cfg.port, strerror(-rc));
	}
	/* a full UDP send buffer: wait for room rather than spin */
	if (rc == -EAGAIN && k->cfg.transport == TG_SIEM_T_UDP)
		ep_set(k, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	if (k->next > from && k->cfg.transport != TG_SIEM_T_UDP) {
		struct flight *f = &k->fl[(k->fl_head + k->fl_n) % SIEM_FLIGHT_MAX];

		*f = (struct flight){ .seq_end = k->next, .plain_end = k->plain_total };
		k->fl_n++;
	}
}

/* Marks the flights whose plaintext is all written as written up to wire. */
static void
written(struct sink *k, uint64_t wire)
{
	for (unsigned int i = 0; i < k->fl_n; i++) {
		struct flight *f = &k->fl[(k->fl_head + i) % SIEM_FLIGHT_MAX];

		if (f->wire_end == 0 && f->plain_end <= k->plain_written)
			f->wire_end = wire;
	}
}

/* Writes what the out buffer holds, as far as the socket takes it. */
static void
flush_out(struct sink *k)
{
	char why[256];

	while (k->state == ST_UP && k->out_off < k->out_len) {
		size_t len = k->out_len - k->out_off;
		ssize_t n;

		if (k->ssl != NULL) {
			int rc, e;

			/* OpenSSL wants the same buffer again after WANT_WRITE: it is */
			rc = SSL_write(k->ssl, k->out + k->out_off, len > INT32_MAX ? INT32_MAX
										: (int)len);
			if (rc <= 0) {
				e = SSL_get_error(k->ssl, rc);
				if (e == SSL_ERROR_WANT_WRITE) {
					ep_set(k, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
					return;
				}
				if (e == SSL_ERROR_WANT_READ)
					return;
				down(k, "TLS write to %s port %u: %s", k->cfg.host, k->cfg.port,
				     ssl_reason(why, sizeof(why), "connection lost"));
				return;
			}
			n = rc;
		} else {
			n = k->cfg.transport == TG_SIEM_T_FILE
				    ? write(k->fd, k->out + k->out_off, len)
				    : send(k->fd, k->out + k->out_off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				ep_set(k, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
				return;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				down(k, "write to %s: %s",
				     k->cfg.transport == TG_SIEM_T_FILE ? k->cfg.path : k->cfg.host,
				     n < 0 ? strerror(errno) : "nothing written");
				return;
			}
		}
		k->out_off += (size_t)n;
		k->plain_written += (uint64_t)n;
		k->bytes += (uint64_t)n;
		if (k->cfg.transport == TG_SIEM_T_FILE)
			k->file_size += (uint64_t)n;
		/* TLS: the bytes on the wire so far, records and handshake (BIO count) */
		written(k, k->ssl != NULL ? BIO_number_written(SSL_get_wbio(k->ssl))
					  : k->plain_written);
	}
	if (k->state == ST_UP && k->cfg.transport != TG_SIEM_T_FILE &&
	    (k->ep_events & EPOLLOUT))
		ep_set(k, EPOLLIN | EPOLLRDHUP);
	if (k->out_off == k->out_len)
		k->out_off = k->out_len = 0;
}

/* Delivered: the flights at the head that are done; see siem.h. */
static void
settle(struct sink *k, uint64_t now)
{
	uint64_t wire_total, acked_wire;
	int outq = 0;

	if (k->fl_n == 0 || k->state != ST_UP)
		return;
	if (k->cfg.transport == TG_SIEM_T_FILE) {
		/* durable once synced: once a second, not per batch */
		if (now - k->last_sync < SIEM_FILE_SYNC_MS && k->file_size < k->cfg.rotate_bytes)
			return;
		if (fdatasync(k->fd) < 0) {
			down(k, "fdatasync %s: %s", k->cfg.path, strerror(errno));
			return;
		}
		k->last_sync = now;
		while (k->fl_n > 0 && k->fl[k->fl_head].wire_end != 0) {
			k->acked = k->fl[k->fl_head].seq_end;
			k->fl_head = (k->fl_head + 1) % SIEM_FLIGHT_MAX;
			k->fl_n--;
		}
		return;
	}
	if (ioctl(k->fd, SIOCOUTQ, &outq) < 0 || outq < 0)
		return;
	wire_total = k->ssl != NULL ? BIO_number_written(SSL_get_wbio(k->ssl)) : k->plain_written;
	acked_wire = wire_total - (uint64_t)outq;
	for (unsigned int i = 0; i < k->fl_n; i++) {
		struct flight *f = &k->fl[(k->fl_head + i) % SIEM_FLIGHT_MAX];

		if (f->wire_end == 0 || f->wire_end > acked_wire)
			break;
		if (f->acked_ms == 0)
			f->acked_ms = now;
	}
	while (k->fl_n > 0) {
		struct flight *f = &k->fl[k->fl_head];

		if (f->acked_ms == 0 || now - f->acked_ms < k->cfg.settle_ms)
			break;
		k->acked = f->seq_end;
		k->fl_head = (k->fl_head + 1) % SIEM_FLIGHT_MAX;
		k->fl_n--;
		k->backoff = k->cfg.backoff_min_ms; /* this connection works */
	}
}

/* A file sink past its size: path.N-1 -> path.N ... path -> path.1, then a new path. */
static void
rotate(struct sink *k)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];

	if (k->cfg.transport != TG_SIEM_T_FILE || k->state != ST_UP ||
	    k->file_size < k->cfg.rotate_bytes || k->out_off != k->out_len)
		return;
	settle(k, now_ms()); /* synced and delivered before the file changes name */
	if (k->state != ST_UP)
		return;
	close(k->fd);
	k->fd = -1;
	for (uint32_t i = k->cfg.rotate_keep; i >= 1; i--) {
		/* path is below PATH_MAX (siem_config.c): the suffix always fits */
		if (i == 1)
			snprintf(from, sizeof(from), "%.*s", PATH_MAX, k->cfg.path);
		else
			snprintf(from, sizeof(from), "%.*s.%u", PATH_MAX, k->cfg.path, i - 1);
		snprintf(to, sizeof(to), "%.*s.%u", PATH_MAX, k->cfg.path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			slog(k->s, LOG_WARNING, "siem sink %s: rotate %s to %s: %s", k->cfg.name,
			     from, to, strerror(errno));
	}
	k->state = ST_DOWN;
	file_open(k);
}

/* ---------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------- */

static void
on_event(struct sink *k, uint32_t events)
{
	switch (k->state) {
	case ST_CONNECTING:
		connected(k);
		break;
	case ST_HANDSHAKE:
		handshake(k);
		break;
	case ST_UP:
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			readable(k);
		if (k->state == ST_UP && (events & EPOLLOUT))
			flush_out(k);
		break;
	default:
		break;
	}
}

/* One sink's turn; returns the ms until it wants the loop back (UINT64_MAX: never). */
static uint64_t
step(struct sink *k, uint64_t now)
{
	uint64_t durable = tg_audit_durable(k->s->audit);

	if (k->state == ST_DOWN) {
		if (now < k->retry_at)
			return k->retry_at - now;
		connect_start(k);
		if (k->state == ST_DOWN)
			return k->retry_at > now ? k->retry_at - now : 1;
	}
	if (k->state == ST_CONNECTING || k->state == ST_HANDSHAKE) {
		/* since may be a little after now: connect_start() read the clock again */
		if (now > k->since && now - k->since > SIEM_CONNECT_TIMEOUT) {
			down(k, "connect %s port %u: timed out after %d ms", k->cfg.host, k->cfg.port,
			     SIEM_CONNECT_TIMEOUT);
			return k->backoff;
		}
		return SIEM_CONNECT_TIMEOUT;
	}
	settle(k, now);
	rotate(k);
	if (k->state != ST_UP)
		return 1;
	fill(k);
	flush_out(k);
	if (k->state != ST_UP)
		return 1;
	if (k->next < durable && k->out_len < SIEM_OUT_HIGH / 2 && k->fl_n < SIEM_FLIGHT_MAX &&
	    !(k->ep_events & EPOLLOUT))
		return 0; /* more to read: come back at once */
	if (k->fl_n > 0)
		return k->cfg.transport == TG_SIEM_T_FILE ? SIEM_FILE_SYNC_MS : SIEM_ACK_POLL_MS;
	return UINT64_MAX;
}

static void
arm(struct tg_siem *s, uint64_t now, uint64_t wait)
{
	struct itimerspec its = { 0 };

	if (wait == UINT64_MAX) {
		if (s->armed_at != 0)
			timerfd_settime(s->timer, 0, &its, NULL);
		s->armed_at = 0;
		return;
	}
	if (s->armed_at != 0 && s->armed_at <= now + wait && s->armed_at > now)
		return; /* an earlier wakeup is set */
	its.it_value.tv_sec = (time_t)(wait / 1000);
	its.it_value.tv_nsec = (long)(wait % 1000) * 1000000L + (wait == 0 ? 1 : 0);
	if (timerfd_settime(s->timer, 0, &its, NULL) == 0)
		s->armed_at = now + wait;
}

void
tg_siem_run(struct tg_siem *s)
{
	struct epoll_event evs[TG_SIEM_SINKS_MAX + 1];
	uint64_t now, wait = UINT64_MAX, w, exp;
	int n;

	if (s == NULL)
		return;
	n = epoll_wait(s->ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 0);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u32 == SIEM_TIMER_TAG) {
			if (read(s->timer, &exp, sizeof(exp)) < 0) {
				/* spurious: the deadline is set again below */
			}
			s->armed_at = 0;
		} else if (evs[i].data.u32 < s->nb) {
			on_event(s->sinks[evs[i].data.u32], evs[i].events);
		}
	}
	now = now_ms();
	for (unsigned int i = 0; i < s->nb; i++) {
		w = step(s->sinks[i], now);
		if (w < wait)
			wait = w;
	}
	arm(s, now, wait);
}

int
tg_siem_save(struct tg_siem *s)
{
	int n = 0, rc;

	if (s == NULL)
		return 0;
	for (unsigned int i = 0; i < s->nb; i++) {
		struct sink *k = s->sinks[i];

		if (k->acked == k->saved)
			continue;
		if ((rc = tg_audit_cursor_set(s->audit, k->cursor, k->acked)) < 0)
			return rc;
		k->saved = k->acked;
		n++;
	}
	return n;
}

int
tg_siem_fd(const struct tg_siem *s)
{
	return s->ep;
}

json_t *
tg_siem_stats_json(const struct tg_siem *s)
{
	json_t *all = json_object(), *o;
	uint64_t durable;

	if (all == NULL || s == NULL)
		return all;
	durable = tg_audit_durable(s->audit);
	for (unsigned int i = 0; i < s->nb; i++) {
		const struct sink *k = s->sinks[i];

		o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			      "s:I, s:s, s:s, s:s, s:s}",
			      "connected", k->state == ST_UP, "delivered", (json_int_t)k->acked,
			      "next", (json_int_t)k->next, "durable", (json_int_t)durable, "lag",
			      (json_int_t)(durable > k->acked ? durable - k->acked : 0), "in_flight",
			      (json_int_t)(k->next - k->acked), "events", (json_int_t)k->events,
			      "bytes", (json_int_t)k->bytes, "connects", (json_int_t)k->connects,
			      "disconnects", (json_int_t)k->disconnects, "errors",
			      (json_int_t)k->errors, "trimmed", (json_int_t)k->trimmed, "malformed",
			      (json_int_t)k->malformed, "backoff_ms",
			      (json_int_t)(k->state == ST_DOWN ? k->backoff : 0), "state",
			      state_names[k->state], "type", tg_siem_transport_names[k->cfg.transport],
			      "format", tg_siem_format_names[k->cfg.format], "last_error",
			      k->last_error);
		if (o == NULL || json_object_set_new(all, k->cfg.name, o) < 0) {
			json_decref(all);
			return NULL;
		}
	}
	return all;
}

/* ---------------------------------------------------------------------
 * Open, close
 * ------------------------------------------------------------------- */

static SSL_CTX *
tls_ctx(const struct tg_siem_sink_config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[100];

	if (ctx == NULL) {
		snprintf(err, errlen, "TLS: %s", ssl_reason(why, sizeof(why), "out of memory"));
		return NULL;
	}
	/* RFC 5425 as updated by RFC 9662: TLS 1.2 at least */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* a partial write keeps the frames in order through WANT_WRITE */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_load_verify_locations(ctx, c->ca, NULL) != 1) {
		snprintf(err, errlen, "ca %.128s: %s", c->ca,
			 ssl_reason(why, sizeof(why), "unreadable"));
		goto fail;
	}
	if (c->cert[0] != '\0' &&
	    (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		snprintf(err, errlen, "cert %.96s / key %.96s: %s", c->cert, c->key,
			 ssl_reason(why, sizeof(why), "unusable"));
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void
sink_free(struct sink *k)
{
	if (k == NULL)
		return;
	if (k->ssl != NULL)
		SSL_free(k->ssl);
	if (k->fd >= 0) {
		if (k->cfg.transport == TG_SIEM_T_FILE)
			fdatasync(k->fd);
		close(k->fd);
	}
	SSL_CTX_free(k->ctx);
	free(k->out);
	free(k);
}

struct tg_siem *
tg_siem_open(const struct tg_siem_params *p, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = SIEM_TIMER_TAG };
	struct tg_siem *s = calloc(1, sizeof(*s));
	char why[320];
	uint64_t v;
	int rc, saved;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->audit = p->audit;
	s->version = p->version;
	s->log = p->log;
	s->log_arg = p->log_arg;
	s->note_seq = UINT64_MAX;
	snprintf(s->hostname, sizeof(s->hostname), "%s", p->hostname ? p->hostname : "-");
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->proof = calloc(1, sizeof(*s->proof));
	if (s->ep < 0 || s->timer < 0 || s->proof == NULL ||
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->timer, &ev) < 0) {
		snprintf(err, errlen, "set up: %s", strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	for (unsigned int i = 0; i < p->cfg->nb_sinks; i++) {
		struct sink *k = calloc(1, sizeof(*k));

		if (k == NULL || (k->out = malloc(SIEM_OUT_CAP)) == NULL) {
			free(k);
			snprintf(err, errlen, "out of memory");
			errno = ENOMEM;
			goto fail;
		}
		s->sinks[s->nb++] = k;
		k->s = s;
		k->idx = i;
		k->fd = -1;
		k->cfg = p->cfg->sinks[i];
		k->backoff = k->cfg.backoff_min_ms;
		snprintf(k->cursor, sizeof(k->cursor), "siem.%s", k->cfg.name);
		if (k->cfg.transport == TG_SIEM_T_TLS &&
		    (k->ctx = tls_ctx(&k->cfg, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "siem sink %s: %s", k->cfg.name, why);
			errno = EINVAL;
			goto fail;
		}
		rc = tg_audit_cursor_get(s->audit, k->cursor, &v);
		if (rc == -ENOENT) {
			v = k->cfg.start_now ? tg_audit_size(s->audit) : 0;
			k->saved = UINT64_MAX; /* write the starting point with the next commit */
		} else if (rc < 0) {
			snprintf(err, errlen, "siem sink %s: read cursor %s: %s", k->cfg.name,
				 k->cursor, tg_audit_error(s->audit));
			errno = -rc;
			goto fail;
		} else {
			k->saved = v;
		}
		k->next = k->acked = v;
	}
	return s;
fail:
	saved = errno;
	tg_siem_close(s);
	errno = saved ? saved : EINVAL;
	return NULL;
}

void
tg_siem_close(struct tg_siem *s)
{
	if (s == NULL)
		return;
	for (unsigned int i = 0; i < s->nb; i++)
		sink_free(s->sinks[i]);
	if (s->ep >= 0)
		close(s->ep);
	if (s->timer >= 0)
		close(s->timer);
	free(s->proof);
	free(s);
}
