/* SPDX-License-Identifier: MIT */
/*
 * mgmt.c — the management API server: socket, connections, framing,
 * dispatch, roles and the watch stream. See mgmt.h for the interface and
 * mgmt/api.h for the protocol.
 *
 * A connection's life. accept4() and the peer's credentials give a struct
 * conn with a fixed input buffer of one request line and a growing output
 * buffer. Input is read once per readiness (level-triggered, so a busy
 * client cannot starve the others), split at newlines and answered line by
 * line until a call is left pending, the unread output passes the cap, or
 * the input runs out. A connection is closed at once on a socket error or
 * when its peer has gone, and after its output is sent when it must close
 * (too_large, too_slow, end of input). The struct of a closed connection
 * is freed only once on_ready() is done with the epoll events that may
 * still point at it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mgmt.h"
#include "seterr.h"
#include "unixsock.h"
#include "watch.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux 4.13 */
#endif

#define IN_CAP (TG_MGMT_REQUEST_MAX + 1) /* one line and its newline */
#define IN_FIRST 4096			 /* the input buffer grows from this to IN_CAP */
#define ACCEPT_BURST 16
#define EVENTS_BURST 32
#define GROUPS_INLINE 64
#define LOG_LINE_MAX 512

/* clang-format off */
const char *const tg_mgmt_counter_names[TG_MGMT_CNT_MAX] = {
#define TG_MGMT_X(e, n) [TG_MGMT_CNT_##e] = n,
	TG_MGMT_COUNTERS(TG_MGMT_X)
#undef TG_MGMT_X
};

const char *const tg_mgmt_err_names[TG_MGMT_E_MAX] = {
	[TG_MGMT_OK] = "ok",
#define TG_MGMT_X(e, s, d) [TG_MGMT_E_##e] = s,
	TG_MGMT_ERRORS(TG_MGMT_X)
#undef TG_MGMT_X
};

const char *const tg_mgmt_role_names[TG_MGMT_ROLE_BIT_MAX] = {
#define TG_MGMT_X(e, s) [TG_MGMT_ROLE_BIT_##e] = s,
	TG_MGMT_ROLES(TG_MGMT_X)
#undef TG_MGMT_X
};
/* clang-format on */

struct method {
	char name[TG_MGMT_METHOD_MAX];
	char summary[TG_MGMT_SUMMARY_MAX];
	unsigned int roles;
	bool mutating;
	tg_mgmt_handler_fn fn;
	void *arg;
};

struct grant {
	gid_t gid;
	unsigned int roles;
};

struct conn {
	struct tg_mgmt *m;
	struct conn *next; /* m->conns while open, m->graveyard once closed */
	int fd;		   /* -1 once closed */
	struct tg_mgmt_peer peer;
	char *in; /* in_cap bytes, grown up to IN_CAP */
	size_t in_cap;
	size_t in_off;	/* first byte not consumed */
	size_t in_len;	/* bytes in the buffer */
	size_t scanned; /* in[in_off..scanned) holds no newline */
	char *out;
	size_t out_off, out_len, out_cap; /* unsent: out[out_off..out_len) */
	struct tg_mgmt_call *pending;	  /* the call being answered */
	uint32_t armed;			  /* epoll interest registered */
	uint64_t since_ms;		  /* partial request or closing since then */
	bool partial;			  /* holds part of a request line */
	bool subscribed;		  /* watch */
	bool rd_eof;			  /* the client shut down its side */
	bool closing;			  /* close once the output is sent */
	bool in_dispatch;		  /* a handler of this connection is running */
	bool resume;			  /* a deferred answer came: read on */
	struct tg_watch_filter filter;	  /* which events a subscriber is sent */
};

struct tg_mgmt_call {
	struct tg_mgmt *m;		  /* NULL: the server was closed */
	struct conn *c;			  /* NULL: the client has gone */
	struct tg_mgmt_call *prev, *next; /* m->calls */
	struct tg_mgmt_peer peer;
	json_t *id; /* NULL: answer with null */
	json_t *params;
	char method[TG_MGMT_METHOD_MAX];
	bool mutating;
	bool deferred;
};

struct tg_mgmt {
	int listen_fd, ep_fd, wake_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ino_t sock_ino;
	char software[128];
	unsigned int watch_roles, max_clients, idle_ms;
	size_t out_max;
	struct grant grants[TG_MGMT_GRANTS_MAX];
	size_t nb_grants;
	struct method methods[TG_MGMT_METHODS_MAX];
	size_t nb_methods;
	void *arg;
	void (*audit)(void *arg, const struct tg_mgmt_audit_info *info);
	void (*log)(void *arg, int prio, const char *msg);
	unsigned int (*roles_of)(void *arg, const struct tg_mgmt_peer *peer, const gid_t *groups,
				 size_t nb_groups);
	uint64_t (*clock_ms)(void *arg);
	struct conn *conns;
	struct conn *graveyard;
	struct tg_mgmt_call *calls;   /* calls not answered yet */
	struct tg_mgmt_call *current; /* the call whose handler runs */
	unsigned int busy;	      /* inside on_ready(): frees wait */
	uint32_t nb_clients, nb_subscribers, nb_pending;
	uint64_t cnt[TG_MGMT_CNT_MAX];
	uint64_t err[TG_MGMT_E_MAX];
	char tag_listen, tag_wake; /* epoll data.ptr of the two fds */
};

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

static void mlog(struct tg_mgmt *m, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
mlog(struct tg_mgmt *m, int prio, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;

	if (m->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->log(m->arg, prio, line);
}

static uint64_t
now_ms(struct tg_mgmt *m)
{
	struct timespec ts;

	if (m->clock_ms != NULL)
		return m->clock_ms(m->arg);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Text for an error message or a log line: printable ASCII only, so that
 * bytes of a client (a JSON key, jansson's "near '...'") can neither break
 * the response's UTF-8 nor a log line.
 */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static size_t
unsent(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/* "admin, auditor", or "no role" */
static void
roles_text(unsigned int roles, const char *sep, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < TG_MGMT_ROLE_BIT_MAX; i++) {
		int k;

		if (!(roles & (1u << i)))
			continue;
		k = snprintf(buf + n, size - n, "%s%s", n ? sep : "", tg_mgmt_role_names[i]);
		if (k < 0 || (size_t)k >= size - n)
			break;
		n += (size_t)k;
	}
	if (n == 0)
		snprintf(buf, size, "no role");
}

json_t *
tg_mgmt_roles_json(unsigned int roles)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a != NULL && i < TG_MGMT_ROLE_BIT_MAX; i++)
		if ((roles & (1u << i)) &&
		    json_array_append_new(a, json_string(tg_mgmt_role_names[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *
tg_mgmt_peer_json(const struct tg_mgmt_peer *p)
{
	json_t *op = json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)p->uid, "pid",
			       (json_int_t)p->pid, "roles", tg_mgmt_roles_json(p->roles));

	if (op != NULL && p->user[0] != '\0')
		json_object_set_new(op, "user", json_string(p->user));
	return op;
}

json_t *
tg_mgmt_time_json(int64_t t)
{
	time_t s = (time_t)t;
	struct tm tm;
	char buf[32];

	if (gmtime_r(&s, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

static bool
allowed(unsigned int have, unsigned int need)
{
	return need == TG_MGMT_ROLE_NONE || (have & TG_MGMT_ROLE_ADMIN) || (have & need) != 0;
}

bool
tg_mgmt_method_name_valid(const char *s, size_t len)
{
	if (len == 0 || len >= TG_MGMT_METHOD_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '.'))
			return false;
	return true;
}

/* ---------------------------------------------------------------------
 * The request decoder (mgmt/api.h "Request")
 * ------------------------------------------------------------------- */

void
tg_mgmt_request_release(struct tg_mgmt_request *req)
{
	json_decref(req->own_params);
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

static bool
id_valid(const json_t *id)
{
	return json_is_null(id) || json_is_integer(id) ||
	       (json_is_string(id) && json_string_length(id) <= TG_MGMT_ID_MAX);
}

enum tg_mgmt_err
tg_mgmt_request_decode(const char *line, size_t len, struct tg_mgmt_request *req, char *msg,
		       size_t msglen)
{
	json_error_t jerr;
	const char *key;
	json_t *v, *id, *method, *params;

	memset(req, 0, sizeof(*req));
	/* no JSON_ALLOW_NUL: a NUL in a string is refused, so C strings hold */
	req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req->root == NULL) {
		tg_sp_seterr(msg, msglen, "not valid JSON at byte %d: %s", jerr.position,
			     jerr.text);
		return TG_MGMT_E_BAD_REQUEST;
	}
	if (!json_is_object(req->root)) {
		tg_sp_seterr(msg, msglen, "a request is a JSON object, not an array");
		return TG_MGMT_E_BAD_REQUEST;
	}
	id = json_object_get(req->root, "id");
	if (id != NULL && !id_valid(id)) {
		tg_sp_seterr(msg, msglen,
			     "id must be a string of at most %d bytes, an integer or null",
			     TG_MGMT_ID_MAX);
		return TG_MGMT_E_BAD_REQUEST;
	}
	req->id = id;
	json_object_foreach(req->root, key, v) {
		if (strcmp(key, "id") != 0 && strcmp(key, "method") != 0 &&
		    strcmp(key, "params") != 0) {
			tg_sp_seterr(msg, msglen,
				     "unknown member \"%.32s\" (a request has id, method, params)",
				     key);
			return TG_MGMT_E_BAD_REQUEST;
		}
	}
	method = json_object_get(req->root, "method");
	if (method == NULL) {
		tg_sp_seterr(msg, msglen,
			     "no method: a request is {\"id\": ..., \"method\": "
			     "\"...\", \"params\": {...}}");
		return TG_MGMT_E_BAD_REQUEST;
	}
	if (!json_is_string(method) ||
	    !tg_mgmt_method_name_valid(json_string_value(method), json_string_length(method))) {
		tg_sp_seterr(msg, msglen,
			     "method must be a string of 1..%d characters of [a-z0-9_.]",
			     TG_MGMT_METHOD_MAX - 1);
		return TG_MGMT_E_BAD_REQUEST;
	}
	req->method = json_string_value(method);
	params = json_object_get(req->root, "params");
	if (params == NULL) {
		req->own_params = json_object();
		if (req->own_params == NULL) {
			tg_sp_seterr(msg, msglen, "out of memory");
			return TG_MGMT_E_INTERNAL;
		}
		params = req->own_params;
	} else if (!json_is_object(params)) {
		tg_sp_seterr(msg, msglen, "params must be an object");
		return TG_MGMT_E_BAD_REQUEST;
	}
	req->params = params;
	return TG_MGMT_OK;
}

/* ---------------------------------------------------------------------
 * Connections: output, interest, closing
 * ------------------------------------------------------------------- */

static void
wake(struct tg_mgmt *m)
{
	uint64_t one = 1;

	if (write(m->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is already far from zero, a wakeup is due */
	}
}

static void
free_conn(struct conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

/*
 * Frees the closed connections, once no caller up the stack can still
 * hold one: every entry point (on_ready, tick, publish, an answer, close)
 * counts itself in m->busy and reaps on the way out.
 */
static void
reap(struct tg_mgmt *m)
{
	struct conn *c;

	if (m->busy != 0)
		return;
	while ((c = m->graveyard) != NULL) {
		m->graveyard = c->next;
		free_conn(c);
	}
}

static void
close_conn(struct conn *c, const char *why)
{
	struct tg_mgmt *m = c->m;
	struct conn **pp;

	if (c->fd < 0)
		return;
	mlog(m, LOG_DEBUG, "close management connection of uid %d (pid %d): %s", (int)c->peer.uid,
	     (int)c->peer.pid, why);
	epoll_ctl(m->ep_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	for (pp = &m->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->next = m->graveyard;
	m->graveyard = c;
	if (c->subscribed)
		m->nb_subscribers--;
	c->subscribed = false;
	if (c->pending != NULL)
		c->pending->c = NULL; /* answered later, to nobody */
	c->pending = NULL;
	m->nb_clients--;
	m->cnt[TG_MGMT_CNT_CLOSED]++;
	/* freed by reap(), when the entry point that got here returns */
}

/* Registers the epoll interest the connection's state calls for. */
static void
update_interest(struct conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev = { .data.ptr = c };

	if (c->fd < 0)
		return;
	if (!c->closing && !c->rd_eof && c->pending == NULL && unsent(c) <= c->m->out_max &&
	    c->in_len - c->in_off < IN_CAP)
		want |= EPOLLIN;
	if (unsent(c) > 0)
		want |= EPOLLOUT;
	if (want == c->armed)
		return;
	ev.events = want;
	if (epoll_ctl(c->m->ep_fd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		mlog(c->m, LOG_ERR, "management connection of uid %d: epoll: %s", (int)c->peer.uid,
		     strerror(errno));
		close_conn(c, "epoll failed");
		return;
	}
	c->armed = want;
}

/* Sends what the socket takes; closes a connection that is done. */
static void
flush(struct conn *c)
{
	struct tg_mgmt *m = c->m;
	ssize_t n;

	while (c->fd >= 0 && unsent(c) > 0) {
		n = send(c->fd, c->out + c->out_off, unsent(c), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			if (errno != EPIPE && errno != ECONNRESET)
				m->cnt[TG_MGMT_CNT_IO_ERRORS]++;
			close_conn(c, strerror(errno));
			return;
		}
		c->out_off += (size_t)n;
		m->cnt[TG_MGMT_CNT_TX_BYTES] += (uint64_t)n;
	}
	if (c->fd < 0)
		return;
	if (unsent(c) == 0) {
		c->out_off = c->out_len = 0;
		/* a burst (a long result) is not kept for the connection's life */
		if (c->out_cap > 65536) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		if (c->closing && c->pending == NULL) {
			close_conn(c, "done");
			return;
		}
	}
	update_interest(c);
}

/* Appends bytes to the output; false (the connection closed) when memory fails. */
static bool
out_append(struct conn *c, const char *s, size_t len)
{
	size_t need, cap;
	char *p;

	if (c->out_off > 0 && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, unsent(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len;
	if (need > c->out_cap) {
		cap = c->out_cap ? c->out_cap : 4096;
		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			mlog(c->m, LOG_ERR,
			     "management connection of uid %d: out of memory for %zu bytes of "
			     "output; closing it",
			     (int)c->peer.uid, need);
			close_conn(c, "out of memory");
			return false;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	return true;
}

/* The line of a response: {"id":..,"result":..} or {"id":..,"error":{..}}, newline included. */
static char *
encode_response(const json_t *id, enum tg_mgmt_err code, json_t *result, const char *msg,
		size_t *len)
{
	json_t *o;
	char *s;

	if (code == TG_MGMT_OK)
		o = json_pack("{s:O, s:O}", "id", id ? (json_t *)id : json_null(), "result",
			      result ? result : json_null());
	else
		o = json_pack("{s:O, s:{s:s, s:s}}", "id", id ? (json_t *)id : json_null(), "error",
			      "code", tg_mgmt_err_names[code], "message", msg);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return NULL;
	*len = strlen(s);
	if (*len > TG_MGMT_RESPONSE_MAX) {
		free(s);
		return NULL;
	}
	s[(*len)++] = '\n'; /* over the NUL: the line is not a C string any more */
	return s;
}

/*
 * Queues one response (result's reference is taken). A response that
 * cannot be encoded (memory, size) becomes an internal error, which
 * always can.
 */
static void
respond(struct conn *c, const json_t *id, enum tg_mgmt_err code, json_t *result, const char *msg)
{
	struct tg_mgmt *m = c->m;
	char text[TG_MGMT_MESSAGE_MAX], fallback[256];
	size_t len = 0;
	char *line;

	snprintf(text, sizeof(text), "%s", msg ? msg : "");
	printable(text);
	line = encode_response(id, code, result, text, &len);
	json_decref(result);
	if (line == NULL && code == TG_MGMT_OK) {
		code = TG_MGMT_E_INTERNAL;
		snprintf(text, sizeof(text),
			 "the result could not be encoded (out of memory, or "
			 "more than %u bytes)",
			 TG_MGMT_RESPONSE_MAX);
		mlog(m, LOG_ERR, "management: %s", text);
		line = encode_response(id, code, NULL, text, &len);
	}
	m->cnt[TG_MGMT_CNT_REPLIES]++;
	if (code != TG_MGMT_OK) {
		m->cnt[TG_MGMT_CNT_ERRORS]++;
		m->err[code]++;
	}
	if (line == NULL) {
		/* no memory even for an error: a fixed line, without the id */
		int n = snprintf(fallback, sizeof(fallback),
				 "{\"id\":null,\"error\":{\"code\":\"%s\",\"message\":\"out of "
				 "memory\"}}\n",
				 tg_mgmt_err_names[TG_MGMT_E_INTERNAL]);
		out_append(c, fallback, (size_t)n);
		return;
	}
	out_append(c, line, len);
	free(line);
}

/* ---------------------------------------------------------------------
 * Calls
 * ------------------------------------------------------------------- */

static void
call_free(struct tg_mgmt_call *call)
{
	json_decref(call->id);
	json_decref(call->params);
	free(call);
}

static void
answer(struct tg_mgmt_call *call, enum tg_mgmt_err code, json_t *result, const char *msg)
{
	struct tg_mgmt *m = call->m;
	struct conn *c = call->c;

	if (m == NULL) { /* the server was closed */
		json_decref(result);
		call_free(call);
		return;
	}
	/* the audit hook may publish, which may close connections: c stays until reap() */
	m->busy++;
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		m->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	m->nb_pending--;
	if (m->current == call)
		m->current = NULL;
	if (code == TG_MGMT_E_FORBIDDEN)
		mlog(m, LOG_NOTICE, "management: refuse %s to uid %d (%s, pid %d): %s",
		     call->method, (int)call->peer.uid,
		     call->peer.user[0] ? call->peer.user : "no user name", (int)call->peer.pid,
		     msg);
	if (m->audit != NULL && (code == TG_MGMT_E_FORBIDDEN || call->mutating)) {
		struct tg_mgmt_audit_info info = {
			.peer = &call->peer,
			.method = call->method,
			.params = call->params,
			.mutating = call->mutating,
			.code = code,
			.message = msg ? msg : "",
		};

		m->cnt[TG_MGMT_CNT_AUDITED]++;
		m->audit(m->arg, &info);
	}
	c = call->c; /* the hook may have closed it */
	if (c == NULL) {
		m->cnt[TG_MGMT_CNT_ORPHANED]++;
		json_decref(result);
		call_free(call);
		goto out;
	}
	if (c->pending == call)
		c->pending = NULL;
	respond(c, call->id, code, result, msg);
	call_free(call);
	if (c->fd >= 0 && !c->in_dispatch) {
		/* a deferred answer: send it now, and read on at the next wakeup */
		c->resume = true;
		wake(m);
		flush(c);
	}
out:
	m->busy--;
	reap(m);
}

void
tg_mgmt_reply(struct tg_mgmt_call *call, json_t *result)
{
	if (result == NULL) {
		answer(call, TG_MGMT_E_INTERNAL, NULL, "out of memory building the result");
		return;
	}
	answer(call, TG_MGMT_OK, result, NULL);
}

bool
tg_mgmt_params_known(struct tg_mgmt_call *call, const json_t *params, const char *const *names,
		     size_t nb)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)params, key, v) {
		for (i = 0; i < nb && strcmp(key, names[i]) != 0; i++)
			;
		if (i == nb) {
			tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params: unknown \"%s\"", key);
			return false;
		}
	}
	return true;
}

bool
tg_mgmt_param_str(struct tg_mgmt_call *call, const json_t *params, const char *name,
		  const char **out)
{
	const json_t *v = json_object_get(params, name);

	*out = NULL;
	if (v == NULL)
		return true;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params.%s: a string", name);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

void
tg_mgmt_fail(struct tg_mgmt_call *call, enum tg_mgmt_err code, const char *fmt, ...)
{
	char msg[TG_MGMT_MESSAGE_MAX];
	va_list ap;

	if (code <= TG_MGMT_OK || code >= TG_MGMT_E_MAX)
		code = TG_MGMT_E_INTERNAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	answer(call, code, NULL, msg);
}

const struct tg_mgmt_peer *
tg_mgmt_call_peer(const struct tg_mgmt_call *call)
{
	return &call->peer;
}

const char *
tg_mgmt_call_method(const struct tg_mgmt_call *call)
{
	return call->method;
}

static const struct method *
find_method(const struct tg_mgmt *m, const char *name)
{
	for (size_t i = 0; i < m->nb_methods; i++)
		if (strcmp(m->methods[i].name, name) == 0)
			return &m->methods[i];
	return NULL;
}

/* One decoded request: the method's handler, or the refusal. */
static void
dispatch(struct conn *c, const struct tg_mgmt_request *req)
{
	struct tg_mgmt *m = c->m;
	const struct method *meth = find_method(m, req->method);
	struct tg_mgmt_call *call;
	char have[64], need[64];

	if (meth == NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "no method \"%s\" (the method \"methods\" lists them)",
			 req->method);
		respond(c, req->id, TG_MGMT_E_UNKNOWN_METHOD, NULL, msg);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (call == NULL) {
		respond(c, req->id, TG_MGMT_E_INTERNAL, NULL, "out of memory");
		return;
	}
	call->m = m;
	call->c = c;
	call->peer = c->peer;
	call->id = req->id ? json_incref((json_t *)req->id) : NULL;
	call->params = json_incref((json_t *)req->params);
	snprintf(call->method, sizeof(call->method), "%s", meth->name);
	call->mutating = meth->mutating;
	call->next = m->calls;
	if (m->calls != NULL)
		m->calls->prev = call;
	m->calls = call;
	m->nb_pending++;
	c->pending = call;
	c->in_dispatch = true;
	if (!allowed(c->peer.roles, meth->roles)) {
		roles_text(meth->roles, ", ", need, sizeof(need));
		roles_text(c->peer.roles, ", ", have, sizeof(have));
		tg_mgmt_fail(call, TG_MGMT_E_FORBIDDEN, "%s requires %s %s; uid %d has %s",
			     meth->name,
			     (meth->roles & (meth->roles - 1)) ? "one of the roles" : "the role",
			     need, (int)c->peer.uid, have);
		c->in_dispatch = false;
		return;
	}
	m->current = call;
	meth->fn(call, call->params, meth->arg);
	c->in_dispatch = false;
	if (m->current == call) {
		/* not answered yet: the handler answers later; this connection waits */
		m->current = NULL;
		call->deferred = true;
		m->cnt[TG_MGMT_CNT_DEFERRED]++;
	}
}

/* One line, newline and a trailing CR removed. */
static void
on_line(struct conn *c, const char *line, size_t len)
{
	struct tg_mgmt_request req;
	enum tg_mgmt_err code;
	char msg[TG_MGMT_MESSAGE_MAX];

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* blank lines are allowed, and ignored */
	c->m->cnt[TG_MGMT_CNT_REQUESTS]++;
	code = tg_mgmt_request_decode(line, len, &req, msg, sizeof(msg));
	if (code != TG_MGMT_OK)
		respond(c, req.id, code, NULL, msg);
	else
		dispatch(c, &req);
	tg_mgmt_request_release(&req);
}

/* Answers the buffered lines, as far as the connection's state allows. */
static void
process(struct conn *c)
{
	struct tg_mgmt *m = c->m;
	bool progress = false;
	char msg[128];
	char *nl;

	while (c->fd >= 0 && !c->closing && c->pending == NULL && unsent(c) <= m->out_max) {
		if (c->scanned < c->in_off)
			c->scanned = c->in_off;
		nl = memchr(c->in + c->scanned, '\n', c->in_len - c->scanned);
		if (nl == NULL) {
			c->scanned = c->in_len;
			if (c->in_len - c->in_off > TG_MGMT_REQUEST_MAX) {
				snprintf(msg, sizeof(msg),
					 "a request line is at most %d bytes; closing the "
					 "connection",
					 TG_MGMT_REQUEST_MAX);
				mlog(m, LOG_NOTICE,
				     "management: request of uid %d (pid %d) over %d bytes: "
				     "too_large, closing",
				     (int)c->peer.uid, (int)c->peer.pid, TG_MGMT_REQUEST_MAX);
				c->m->cnt[TG_MGMT_CNT_REQUESTS]++;
				respond(c, NULL, TG_MGMT_E_TOO_LARGE, NULL, msg);
				c->in_off = c->in_len = c->scanned = 0;
				c->closing = true;
				c->since_ms = now_ms(m);
				break;
			}
			if (c->rd_eof && c->in_len > c->in_off) {
				/* the end of input ends the last line */
				size_t off = c->in_off;

				c->in_off = c->scanned = c->in_len;
				on_line(c, c->in + off, c->in_len - off);
				progress = true;
				continue;
			}
			break;
		}
		{
			size_t off = c->in_off, len = (size_t)(nl - (c->in + off));

			c->in_off = c->scanned = off + len + 1;
			on_line(c, c->in + off, len);
			progress = true;
		}
	}
	if (c->fd < 0)
		return;
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = c->scanned = 0;
	if (c->rd_eof && c->pending == NULL && c->in_len == 0 && !c->subscribed && !c->closing) {
		c->closing = true;
		c->since_ms = now_ms(m);
	}
	if (c->in_len > c->in_off && c->pending == NULL && !c->closing) {
		/* a partial line: its clock starts with it, or after the last full line */
		if (!c->partial || progress) {
			c->partial = true;
			c->since_ms = now_ms(m);
		}
	} else {
		c->partial = false;
	}
}

/* Buffered input that process() has not looked at, or a last line at the end of input. */
static bool
has_input(const struct conn *c)
{
	return c->in_len > c->scanned || (c->rd_eof && c->in_len > c->in_off);
}

/*
 * Answers and sends, again while the output drains at once and requests
 * wait (they stopped at the output cap and no event would bring them
 * back); bounded, then continued at the next wakeup.
 */
static void
serve(struct conn *c)
{
	for (int i = 0; i < 16; i++) {
		process(c);
		flush(c);
		if (c->fd < 0 || c->pending != NULL || c->closing || unsent(c) > c->m->out_max ||
		    !has_input(c))
			return;
	}
	c->resume = true;
	wake(c->m);
}

/* One recv(2) into the input buffer. */
static void
on_readable(struct conn *c)
{
	struct tg_mgmt *m = c->m;
	ssize_t n;

	if (c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->scanned -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap * 2 < IN_CAP ? c->in_cap * 2 : IN_CAP;
		char *p;

		if (c->in_cap == IN_CAP)
			return; /* process() refuses it */
		p = realloc(c->in, cap);
		if (p == NULL) {
			mlog(m, LOG_ERR,
			     "management connection of uid %d: out of memory for its "
			     "request; closing it",
			     (int)c->peer.uid);
			close_conn(c, "out of memory");
			return;
		}
		c->in = p;
		c->in_cap = cap;
	}
	do
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n < 0) {
		if (errno != ECONNRESET)
			m->cnt[TG_MGMT_CNT_IO_ERRORS]++;
		close_conn(c, strerror(errno));
		return;
	}
	if (n == 0) {
		c->rd_eof = true;
		return;
	}
	c->in_len += (size_t)n;
	m->cnt[TG_MGMT_CNT_RX_BYTES] += (uint64_t)n;
}

static void
on_conn_event(struct conn *c, uint32_t events)
{
	if (events & EPOLLOUT)
		serve(c); /* room again: requests held back by the output cap go on */
	if (c->fd < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (!(c->armed & EPOLLIN)) {
		/* not reading (a call pending, output backed up): only a peer gone matters */
		if (events & (EPOLLHUP | EPOLLERR))
			close_conn(c, "the client has gone");
		return;
	}
	on_readable(c);
	if (c->fd >= 0)
		serve(c);
}

/* ---------------------------------------------------------------------
 * Accepting: credentials and roles
 * ------------------------------------------------------------------- */

unsigned int
tg_mgmt_roles_of(const struct tg_mgmt *m, uid_t uid, gid_t gid, const gid_t *groups,
		 size_t nb_groups)
{
	unsigned int roles = uid == 0 ? TG_MGMT_ROLE_ADMIN : 0;

	for (size_t g = 0; g < m->nb_grants; g++) {
		if (m->grants[g].gid == gid) {
			roles |= m->grants[g].roles;
			continue;
		}
		for (size_t i = 0; i < nb_groups; i++)
			if (groups[i] == m->grants[g].gid) {
				roles |= m->grants[g].roles;
				break;
			}
	}
	return roles;
}

/*
 * The peer's supplementary groups at connect time (SO_PEERGROUPS); on a
 * kernel without it, those of its uid's user from the group database.
 * Returns the count; *out is groups or a malloc'd array.
 */
static size_t
peer_groups(int fd, const struct tg_mgmt_peer *p, gid_t groups[GROUPS_INLINE], gid_t **out)
{
	socklen_t len = GROUPS_INLINE * sizeof(gid_t);
	int n = GROUPS_INLINE;
	gid_t *big;

	*out = groups;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		return len / sizeof(gid_t);
	if (errno == ERANGE && len > 0) {
		big = malloc(len);
		if (big != NULL && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &len) == 0) {
			*out = big;
			return len / sizeof(gid_t);
		}
		free(big);
		return 0;
	}
	if (p->user[0] == '\0')
		return 0;
	if (getgrouplist(p->user, p->gid, groups, &n) >= 0)
		return (size_t)n;
	big = malloc((size_t)n * sizeof(gid_t));
	if (big != NULL && getgrouplist(p->user, p->gid, big, &n) >= 0) {
		*out = big;
		return (size_t)n;
	}
	free(big);
	return 0;
}

static void
refuse_full(struct tg_mgmt *m, int fd)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line),
		     "{\"id\":null,\"error\":{\"code\":\"%s\",\"message\":\"too many "
		     "connections (%u); try again later\"}}\n",
		     tg_mgmt_err_names[TG_MGMT_E_UNAVAILABLE], m->max_clients);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* best effort: it is being closed anyway */
	}
	m->cnt[TG_MGMT_CNT_REPLIES]++;
	m->cnt[TG_MGMT_CNT_ERRORS]++;
	m->err[TG_MGMT_E_UNAVAILABLE]++;
}

static void
accept_one(struct tg_mgmt *m, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	gid_t gbuf[GROUPS_INLINE], *groups;
	struct passwd pw, *pwp = NULL;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char pwbuf[4096], roles[64];
	struct conn *c;
	size_t ng;

	if (m->nb_clients >= m->max_clients) {
		m->cnt[TG_MGMT_CNT_REFUSED]++;
		mlog(m, LOG_WARNING, "management: refuse a connection: %u connections already",
		     m->max_clients);
		refuse_full(m, fd);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		m->cnt[TG_MGMT_CNT_REFUSED]++;
		mlog(m, LOG_WARNING, "management: refuse a connection: SO_PEERCRED: %s",
		     strerror(errno));
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->in = malloc(IN_FIRST)) == NULL) {
		free(c);
		m->cnt[TG_MGMT_CNT_REFUSED]++;
		mlog(m, LOG_ERR, "management: refuse a connection: out of memory");
		close(fd);
		return;
	}
	c->m = m;
	c->fd = fd;
	c->in_cap = IN_FIRST;
	c->peer.pid = cred.pid;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	if (getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp != NULL)
		snprintf(c->peer.user, sizeof(c->peer.user), "%s", pw.pw_name);
	ng = peer_groups(fd, &c->peer, gbuf, &groups);
	if (m->roles_of != NULL)
		c->peer.roles = m->roles_of(m->arg, &c->peer, groups, ng) & TG_MGMT_ROLE_ANY;
	else
		c->peer.roles = tg_mgmt_roles_of(m, cred.uid, cred.gid, groups, ng);
	if (groups != gbuf)
		free(groups);
	ev.data.ptr = c;
	if (epoll_ctl(m->ep_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		m->cnt[TG_MGMT_CNT_REFUSED]++;
		mlog(m, LOG_ERR, "management: refuse a connection: epoll: %s", strerror(errno));
		close(fd);
		free_conn(c);
		return;
	}
	c->armed = EPOLLIN;
	c->next = m->conns;
	m->conns = c;
	m->nb_clients++;
	m->cnt[TG_MGMT_CNT_ACCEPTED]++;
	roles_text(c->peer.roles, ", ", roles, sizeof(roles));
	mlog(m, LOG_DEBUG, "management: accept uid %d (%s, pid %d): %s", (int)cred.uid,
	     c->peer.user[0] ? c->peer.user : "no user name", (int)cred.pid, roles);
}

static void
on_accept(struct tg_mgmt *m)
{
	int fd;

	for (int i = 0; i < ACCEPT_BURST; i++) {
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				mlog(m, LOG_WARNING, "management: accept on %s: %s", m->path,
				     strerror(errno));
			return;
		}
		accept_one(m, fd);
	}
}

/* ---------------------------------------------------------------------
 * The loop's entry points
 * ------------------------------------------------------------------- */

int
tg_mgmt_fd(const struct tg_mgmt *m)
{
	return m->ep_fd;
}

void
tg_mgmt_on_ready(struct tg_mgmt *m)
{
	struct epoll_event evs[EVENTS_BURST];
	struct conn *c, *next;
	uint64_t v;
	int n;

	m->busy++;
	n = epoll_wait(m->ep_fd, evs, EVENTS_BURST, 0);
	if (n < 0 && errno != EINTR)
		mlog(m, LOG_ERR, "management: epoll_wait: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &m->tag_listen) {
			on_accept(m);
		} else if (evs[i].data.ptr == &m->tag_wake) {
			if (read(m->wake_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: drained already */
			}
		} else {
			c = evs[i].data.ptr;
			if (c->fd >= 0)
				on_conn_event(c, evs[i].events);
		}
	}
	/* connections whose deferred call was answered read on */
	for (c = m->conns; c != NULL; c = next) {
		next = c->next; /* once closed, c->next leads through the graveyard */
		if (c->fd < 0 || !c->resume)
			continue;
		c->resume = false;
		serve(c);
	}
	m->busy--;
	reap(m);
}

void
tg_mgmt_tick(struct tg_mgmt *m)
{
	uint64_t now = now_ms(m);
	struct conn *c, *next;
	char msg[128];

	m->busy++;
	for (c = m->conns; c != NULL; c = next) {
		next = c->next;
		if (c->fd < 0)
			continue;
		if (c->closing && unsent(c) > 0 && now - c->since_ms >= m->idle_ms) {
			m->cnt[TG_MGMT_CNT_TIMEOUTS]++;
			mlog(m, LOG_NOTICE,
			     "management: close the connection of uid %d (pid %d): %zu bytes "
			     "unread for %u ms",
			     (int)c->peer.uid, (int)c->peer.pid, unsent(c), m->idle_ms);
			close_conn(c, "output not read");
		} else if (c->partial && !c->closing && now - c->since_ms >= m->idle_ms) {
			m->cnt[TG_MGMT_CNT_TIMEOUTS]++;
			mlog(m, LOG_NOTICE,
			     "management: close the connection of uid %d (pid %d): an incomplete "
			     "request for %u ms",
			     (int)c->peer.uid, (int)c->peer.pid, m->idle_ms);
			snprintf(msg, sizeof(msg),
				 "incomplete request: no newline within %u ms; closing the "
				 "connection",
				 m->idle_ms);
			c->m->cnt[TG_MGMT_CNT_REQUESTS]++;
			respond(c, NULL, TG_MGMT_E_BAD_REQUEST, NULL, msg);
			c->in_off = c->in_len = c->scanned = 0;
			c->partial = false;
			c->closing = true;
			c->since_ms = now;
			flush(c);
		}
	}
	m->busy--;
	reap(m);
}

/* ---------------------------------------------------------------------
 * Methods and events
 * ------------------------------------------------------------------- */

int
tg_mgmt_register(struct tg_mgmt *m, const struct tg_mgmt_method *method)
{
	struct method *e;

	if (method == NULL || method->name == NULL || method->fn == NULL ||
	    !tg_mgmt_method_name_valid(method->name, strlen(method->name)) ||
	    (method->roles & ~TG_MGMT_ROLE_ANY) != 0)
		return -EINVAL;
	if (find_method(m, method->name) != NULL)
		return -EEXIST;
	if (m->nb_methods == TG_MGMT_METHODS_MAX)
		return -ENOSPC;
	e = &m->methods[m->nb_methods++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", method->name);
	snprintf(e->summary, sizeof(e->summary), "%s", method->summary ? method->summary : "");
	printable(e->summary);
	e->roles = method->roles;
	e->mutating = method->mutating;
	e->fn = method->fn;
	e->arg = method->arg;
	return 0;
}

static void
drop_slow(struct conn *c)
{
	struct tg_mgmt *m = c->m;
	char msg[160];

	c->subscribed = false;
	m->nb_subscribers--;
	m->cnt[TG_MGMT_CNT_DROPPED_SLOW]++;
	mlog(m, LOG_WARNING,
	     "management: drop the watch of uid %d (pid %d): %zu bytes of events unread, the "
	     "cap is %zu",
	     (int)c->peer.uid, (int)c->peer.pid, unsent(c), m->out_max);
	snprintf(msg, sizeof(msg),
		 "%zu bytes of events were not read (the cap is %zu): watch dropped, later "
		 "events are not sent",
		 unsent(c), m->out_max);
	respond(c, NULL, TG_MGMT_E_TOO_SLOW, NULL, msg);
	c->closing = true;
	c->since_ms = now_ms(m);
	flush(c);
}

int
tg_mgmt_publish(struct tg_mgmt *m, const json_t *event)
{
	struct conn *c, *next;
	json_t *o;
	char *line;
	size_t len;
	int count = 0;

	if (m->nb_subscribers == 0)
		return 0;
	o = json_pack("{s:O}", "event", (json_t *)event);
	line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (line == NULL)
		return -ENOMEM;
	len = strlen(line);
	line[len++] = '\n';
	m->cnt[TG_MGMT_CNT_EVENTS]++;
	m->busy++;
	for (c = m->conns; c != NULL; c = next) {
		next = c->next;
		if (!c->subscribed || c->fd < 0)
			continue;
		/* filtered before the cap: what a watcher did not ask for cannot drop it */
		if (!tg_watch_filter_match(&c->filter, event))
			continue;
		if (unsent(c) + len > m->out_max) {
			drop_slow(c);
			continue;
		}
		if (!out_append(c, line, len))
			continue;
		m->cnt[TG_MGMT_CNT_EVENT_LINES]++;
		count++;
		if (!c->in_dispatch)
			flush(c);
	}
	m->busy--;
	reap(m);
	free(line);
	return count;
}

void
tg_mgmt_stats(const struct tg_mgmt *m, struct tg_mgmt_stats *out)
{
	memcpy(out->cnt, m->cnt, sizeof(out->cnt));
	memcpy(out->err, m->err, sizeof(out->err));
	out->clients = m->nb_clients;
	out->subscribers = m->nb_subscribers;
	out->pending = m->nb_pending;
}

json_t *
tg_mgmt_stats_json(const struct tg_mgmt *m)
{
	json_t *o, *cnt, *err;

	o = json_pack("{s:I, s:I, s:I, s:{}, s:{}}", "clients", (json_int_t)m->nb_clients,
		      "subscribers", (json_int_t)m->nb_subscribers, "pending",
		      (json_int_t)m->nb_pending, "counters", "errors");
	if (o == NULL)
		return NULL;
	cnt = json_object_get(o, "counters");
	err = json_object_get(o, "errors");
	for (unsigned int i = 0; i < TG_MGMT_CNT_MAX; i++)
		if (json_object_set_new(cnt, tg_mgmt_counter_names[i],
					json_integer((json_int_t)m->cnt[i])) < 0)
			goto fail;
	for (unsigned int i = 1; i < TG_MGMT_E_MAX; i++)
		if (json_object_set_new(err, tg_mgmt_err_names[i],
					json_integer((json_int_t)m->err[i])) < 0)
			goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---------------------------------------------------------------------
 * Built-in methods: ping, methods, watch
 * ------------------------------------------------------------------- */

/* Refuses any param: the built-ins take none. */
static bool
no_params(struct tg_mgmt_call *call, const json_t *params)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)params, key, v) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "%s takes no params (got \"%.32s\")",
			     call->method, key);
		return false;
	}
	return true;
}

static void
m_ping(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	struct tg_mgmt *m = arg;

	if (no_params(call, params))
		tg_mgmt_reply(call, json_pack("{s:b, s:s}", "pong", 1, "software", m->software));
}

static int
cmp_method(const void *a, const void *b)
{
	const struct method *x = *(const struct method *const *)a;
	const struct method *y = *(const struct method *const *)b;

	return strcmp(x->name, y->name);
}

static void
m_methods(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	struct tg_mgmt *m = arg;
	const struct tg_mgmt_peer *p = &call->peer;
	const struct method *sorted[TG_MGMT_METHODS_MAX];
	json_t *res, *list;
	size_t n = 0;

	if (!no_params(call, params))
		return;
	for (size_t i = 0; i < m->nb_methods; i++)
		if (allowed(p->roles, m->methods[i].roles))
			sorted[n++] = &m->methods[i];
	qsort(sorted, n, sizeof(sorted[0]), cmp_method);
	res = json_pack("{s:{s:I, s:I, s:I, s:s, s:o?}, s:[]}", "peer", "uid", (json_int_t)p->uid,
			"gid", (json_int_t)p->gid, "pid", (json_int_t)p->pid, "user", p->user,
			"roles", tg_mgmt_roles_json(p->roles), "methods");
	list = json_object_get(res, "methods");
	for (size_t i = 0; res != NULL && i < n; i++) {
		const struct method *e = sorted[i];

		if (json_array_append_new(list, json_pack("{s:s, s:o?, s:b, s:s}", "name", e->name,
							  "roles", tg_mgmt_roles_json(e->roles),
							  "mutating", e->mutating, "summary",
							  e->summary)) < 0) {
			json_decref(res);
			res = NULL;
		}
	}
	tg_mgmt_reply(call, res);
}

static void
m_watch(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	struct tg_mgmt *m = arg;
	struct conn *c = call->c;
	struct tg_watch_filter f;
	char msg[TG_MGMT_MESSAGE_MAX];

	if (tg_watch_filter_parse(&f, params, msg, sizeof(msg)) < 0) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "%s", msg);
		return;
	}
	/* a second watch on the connection replaces the filter of the first */
	if (c != NULL && !c->closing)
		c->filter = f;
	if (c != NULL && !c->subscribed && !c->closing) {
		c->subscribed = true;
		m->nb_subscribers++;
		m->cnt[TG_MGMT_CNT_SUBSCRIBED]++;
	}
	tg_mgmt_reply(call, json_pack("{s:b}", "watching", 1));
}

/* ---------------------------------------------------------------------
 * Open and close
 * ------------------------------------------------------------------- */

static int
lookup_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct group gr, *grp = NULL;
	char buf[4096];
	int rc;

	rc = getgrnam_r(name, &gr, buf, sizeof(buf), &grp);
	if (grp == NULL) {
		tg_sp_seterr(err, errlen, "look up group %s: %s", name,
			     rc ? strerror(rc) : "no such group");
		return rc ? -rc : -ENOENT;
	}
	*gid = gr.gr_gid;
	return 0;
}

static int
open_socket(struct tg_mgmt *m, const struct tg_mgmt_config *cfg, mode_t mode, gid_t gid, char *err,
	    size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int rc;

	memcpy(sa.sun_path, m->path, strlen(m->path) + 1);
	if (lstat(m->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			tg_sp_seterr(err, errlen,
				     "open management socket %s: the path exists and is not a "
				     "socket; not removing it",
				     m->path);
			return -EEXIST;
		}
		if (tg_sp_socket_live(&sa, SOCK_STREAM)) {
			tg_sp_seterr(err, errlen,
				     "open management socket %s: in use, another server listens "
				     "there",
				     m->path);
			return -EADDRINUSE;
		}
		if (unlink(m->path) < 0 && errno != ENOENT) {
			rc = -errno;
			tg_sp_seterr(err, errlen, "remove stale management socket %s: %s", m->path,
				     strerror(errno));
			return rc;
		}
		mlog(m, LOG_NOTICE, "remove stale management socket %s: nothing listens on it",
		     m->path);
	}
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "open management socket %s: socket: %s", m->path,
			     strerror(errno));
		return rc;
	}
	/* the mode from bind on: no moment where others may connect */
	old = umask(~mode & 0777);
	rc = bind(m->listen_fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "open management socket %s: bind: %s", m->path,
			     strerror(errno));
		return rc;
	}
	if (lstat(m->path, &st) == 0)
		m->sock_ino = st.st_ino;
	if (chmod(m->path, mode) < 0 ||
	    ((cfg->uid != (uid_t)-1 || gid != (gid_t)-1) && lchown(m->path, cfg->uid, gid) < 0)) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "open management socket %s: set mode %04o and owner: %s",
			     m->path, (unsigned int)mode, strerror(errno));
		return rc;
	}
	if (listen(m->listen_fd, 16) < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "open management socket %s: listen: %s", m->path,
			     strerror(errno));
		return rc;
	}
	return 0;
}

static void
unlink_socket(struct tg_mgmt *m)
{
	struct stat st;

	if (m->sock_ino == 0)
		return;
	/* only ours: a server started after us may have replaced it */
	if (lstat(m->path, &st) == 0 && st.st_ino == m->sock_ino && unlink(m->path) < 0)
		mlog(m, LOG_NOTICE, "remove management socket %s: %s; the next start removes it",
		     m->path, strerror(errno));
	m->sock_ino = 0;
}

static int
ep_add(struct tg_mgmt *m, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(m->ep_fd, EPOLL_CTL_ADD, fd, &ev);
}

struct tg_mgmt *
tg_mgmt_open(const struct tg_mgmt_config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->path ? cfg->path : TG_MGMT_SOCKET_DEFAULT;
	mode_t mode = cfg->mode ? (mode_t)cfg->mode : 0660;
	gid_t gid = (gid_t)-1;
	struct tg_mgmt *m;
	int rc;

	if (strlen(path) == 0 || strlen(path) >= sizeof(m->path)) {
		tg_sp_seterr(err, errlen, "management socket %s: the path must be 1..%zu bytes",
			     path, sizeof(m->path) - 1);
		errno = EINVAL;
		return NULL;
	}
	if ((mode & ~0777u) != 0 || cfg->nb_grants > TG_MGMT_GRANTS_MAX ||
	    (cfg->nb_grants > 0 && cfg->grants == NULL) ||
	    (cfg->watch_roles & ~TG_MGMT_ROLE_ANY) != 0) {
		tg_sp_seterr(err, errlen,
			     "management socket %s: bad config (mode %04o, %zu grants of at most "
			     "%d, watch roles %#x)",
			     path, (unsigned int)mode, cfg->nb_grants, TG_MGMT_GRANTS_MAX,
			     cfg->watch_roles);
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		tg_sp_seterr(err, errlen, "management socket %s: out of memory", path);
		return NULL;
	}
	m->listen_fd = m->ep_fd = m->wake_fd = -1;
	snprintf(m->path, sizeof(m->path), "%s", path);
	snprintf(m->software, sizeof(m->software), "%s", cfg->software ? cfg->software : "");
	m->watch_roles = cfg->watch_roles ? cfg->watch_roles : TG_MGMT_ROLE_AUDITOR;
	m->max_clients = cfg->max_clients ? cfg->max_clients : TG_MGMT_CLIENTS_MAX;
	m->out_max = cfg->out_max ? cfg->out_max : TG_MGMT_OUT_MAX;
	m->idle_ms = cfg->idle_ms ? cfg->idle_ms : TG_MGMT_IDLE_MS;
	m->arg = cfg->arg;
	m->audit = cfg->audit;
	m->log = cfg->log;
	m->roles_of = cfg->roles_of;
	m->clock_ms = cfg->clock_ms;

	for (size_t i = 0; i < cfg->nb_grants; i++) {
		const struct tg_mgmt_grant *g = &cfg->grants[i];

		if (g->group == NULL || g->roles == 0 || (g->roles & ~TG_MGMT_ROLE_ANY) != 0) {
			tg_sp_seterr(err, errlen,
				     "management roles: grant %zu needs a group and roles among "
				     "admin, approver, auditor",
				     i);
			rc = -EINVAL;
			goto err_config;
		}
		if ((rc = lookup_group(g->group, &m->grants[i].gid, err, errlen)) < 0)
			goto err_config;
		m->grants[i].roles = g->roles;
		m->nb_grants++;
	}
	if (cfg->group != NULL && cfg->group[0] != '\0' &&
	    (rc = lookup_group(cfg->group, &gid, err, errlen)) < 0)
		goto err_config;

	if ((rc = open_socket(m, cfg, mode, gid, err, errlen)) < 0)
		goto err_socket;
	m->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->ep_fd < 0 || m->wake_fd < 0 || ep_add(m, m->listen_fd, &m->tag_listen) < 0 ||
	    ep_add(m, m->wake_fd, &m->tag_wake) < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "management socket %s: epoll: %s", path, strerror(errno));
		goto err_loop;
	}
	rc = tg_mgmt_register(m, &(struct tg_mgmt_method){
					 .name = TG_MGMT_M_PING,
					 .roles = TG_MGMT_ROLE_NONE,
					 .summary = "check that the server answers",
					 .fn = m_ping,
					 .arg = m,
				 });
	if (rc == 0)
		rc = tg_mgmt_register(m, &(struct tg_mgmt_method){
						 .name = TG_MGMT_M_METHODS,
						 .roles = TG_MGMT_ROLE_NONE,
						 .summary = "who you are and what you may call",
						 .fn = m_methods,
						 .arg = m,
					 });
	if (rc == 0)
		rc = tg_mgmt_register(m, &(struct tg_mgmt_method){
						 .name = TG_MGMT_M_WATCH,
						 .roles = m->watch_roles,
						 .summary = "stream events (audit records) to this "
							    "connection ({type?, service?, user?})",
						 .fn = m_watch,
						 .arg = m,
					 });
	if (rc < 0) {
		tg_sp_seterr(err, errlen, "management: register the built-in methods: %s",
			     strerror(-rc));
		goto err_loop;
	}
	return m;

err_loop:
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	if (m->ep_fd >= 0)
		close(m->ep_fd);
err_socket:
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	unlink_socket(m);
err_config:
	free(m);
	errno = -rc;
	return NULL;
}

void
tg_mgmt_close(struct tg_mgmt *m)
{
	struct tg_mgmt_call *call;

	if (m == NULL)
		return;
	m->busy++;
	while (m->conns != NULL)
		close_conn(m->conns, "the server is closing");
	m->busy--;
	reap(m);
	for (call = m->calls; call != NULL; call = call->next) {
		call->m = NULL;
		call->c = NULL;
	}
	close(m->listen_fd);
	unlink_socket(m);
	close(m->wake_fd);
	close(m->ep_fd);
	free(m);
}
