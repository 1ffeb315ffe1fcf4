/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mgmt.c — libFuzzer target for the management API's request decoder
 * and framer (slowpath/mgmt.c): tg_mgmt_request_decode() on its own, and
 * the whole server fed the input as one client's byte stream over a real
 * Unix socket.
 *
 * Input: byte 0 says how to play it: bits 0-2 the client's roles
 * (TG_MGMT_ROLE_* bits), bit 3 shut down the sending side at the end, bit
 * 4 let the idle clock run out at the end (tg_mgmt_tick()), bit 5 publish
 * an event at the end, bit 6 the rest is tokens (below). Byte 1 seeds the
 * sizes of the writes the stream is cut into, so a request arrives split
 * anywhere. The rest is the stream: its bytes, or with bit 6 one token of
 * tokens[] per byte (JSON fragments, method names, whole requests), so
 * that well-formed requests are near at hand without a seed corpus.
 *
 * Beyond memory errors, UB and leaks, the target aborts when:
 * - the decoder accepts a request that breaks mgmt/api.h: a method of
 *   another syntax, params that are not an object, an id of another type;
 * - a line from the server is not one JSON object of the three shapes
 *   (result, error with a known code and a message, event);
 * - the responses are not one per request line, in order, each with the
 *   id the decoder reads from its line (null when it cannot), and with
 *   the decoder's error code when the decoder refuses the line; extras
 *   are only the id-null errors that end a connection (too_large,
 *   too_slow, an incomplete request);
 * - the server holds a connection or a call after the client has gone.
 *
 * The server lives for the whole run (one socket in a directory of its
 * own under /tmp, removed at exit); each input is one connection. mgmt.c
 * is compiled into this executable with the fuzzer's coverage
 * instrumentation (tests/fuzz/meson.build).
 *
 * Seeds: tests/fuzz/gen-corpus mgmt_seeds(): valid and near-valid
 * requests of every method (the built-ins, this target's echo, later and
 * change, and the slowpath's, unknown here), pipelined and split. Run:
 * tests/fuzz/run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "mgmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

#define DEFERRED_MAX 4096
#define EXPECT_MAX 4096

static struct tg_mgmt *srv;
static char dir[64], path[96];
static unsigned int next_roles;
static uint64_t clock_now = 1000000;
static struct tg_mgmt_call *deferred[DEFERRED_MAX];
static size_t nb_deferred;

/* Stream fragments for token mode; byte b is tokens[b % TOKENS]. */
static const char *const tokens[] = {
	"{",
	"}",
	"\"id\":",
	"1",
	"\"x\"",
	"null",
	"\"method\":",
	"\"ping\"",
	"\"echo\"",
	"\"later\"",
	"\"change\"",
	"\"watch\"",
	"\"methods\"",
	"\"params\":",
	"{}",
	"[]",
	",",
	"\n",
	"\r\n",
	"\"fail\":true",
	"{\"method\":\"ping\"}\n",
	/* id 7, params {"a": "é"} */
	"{\"id\":7,\"method\":\"echo\",\"params\":{\"a\":\"\xc3\xa9\"}}\n",
	"{\"method\":\"later\"}\n",
	"{\"id\":\"w\",\"method\":\"watch\"}\n",
	"{\"method\":\"change\",\"params\":{\"fail\":1}}\n",
	"\"",
	":",
	" ",
	"\xff",
	"\\u0000",
	"\"no.such\"",
	"1.5",
	"\"extra\":0",
	/* watch filters (slowpath/watch.h): the event published matches the first */
	"{\"id\":\"f\",\"method\":\"watch\",\"params\":{\"type\":\"db\",\"user\":[\"alice\"]}}\n",
	"{\"method\":\"watch\",\"params\":{\"service\":\"billing\"}}\n",
	"\"type\":",
	"\"service\":",
	"\"db.query\"",
};
#define TOKENS (sizeof(tokens) / sizeof(tokens[0]))
#define STREAM_MAX (256 * 1024)

/* ---------------------------------------------------------------------
 * The server
 * ------------------------------------------------------------------- */

static unsigned int
roles_hook(void *arg, const struct tg_mgmt_peer *peer, const gid_t *groups, size_t n)
{
	return next_roles;
}

static uint64_t
clock_hook(void *arg)
{
	return clock_now;
}

static void
audit_hook(void *arg, const struct tg_mgmt_audit_info *info)
{
	CHECK(info->code == TG_MGMT_E_FORBIDDEN || info->mutating);
	CHECK(info->method != NULL && info->message != NULL && json_is_object(info->params));
}

static void
m_echo(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	tg_mgmt_reply(call, json_deep_copy(params));
}

static void
m_change(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	if (json_object_get(params, "fail") != NULL)
		tg_mgmt_fail(call, TG_MGMT_E_CONFLICT, "refused %s", "here");
	else
		tg_mgmt_reply(call, json_true());
}

static void
m_later(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	if (nb_deferred == DEFERRED_MAX) {
		tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE, "busy");
		return;
	}
	deferred[nb_deferred++] = call;
}

static void
cleanup(void)
{
	tg_mgmt_close(srv);
	srv = NULL;
	unlink(path);
	rmdir(dir);
}

static void
server_open(void)
{
	static const struct tg_mgmt_method methods[] = {
		{ .name = "echo", .roles = TG_MGMT_ROLE_ANY, .fn = m_echo },
		{ .name = "change", .roles = TG_MGMT_ROLE_ADMIN, .mutating = true, .fn = m_change },
		{ .name = "later", .roles = TG_MGMT_ROLE_NONE, .fn = m_later },
	};
	struct tg_mgmt_config cfg = {
		.uid = (uid_t)-1,
		.out_max = 4096,
		.idle_ms = 1000,
		.software = "fuzz",
		.audit = audit_hook,
		.roles_of = roles_hook,
		.clock_ms = clock_hook,
	};
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/tg-fuzz-mgmt-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/mgmt.sock", dir);
	cfg.path = path;
	srv = tg_mgmt_open(&cfg, err, sizeof(err));
	if (srv == NULL) {
		fprintf(stderr, "fuzz_mgmt: %s\n", err);
		abort();
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		CHECK(tg_mgmt_register(srv, &methods[i]) == 0);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
}

static void
pump(void)
{
	struct pollfd p = { .fd = tg_mgmt_fd(srv), .events = POLLIN };

	for (int i = 0; i < 10000 && poll(&p, 1, 0) == 1; i++)
		tg_mgmt_on_ready(srv);
}

/* ---------------------------------------------------------------------
 * What the server must answer
 * ------------------------------------------------------------------- */

/* The decoder's contract, on one line. Returns its code; *id a new reference (or NULL). */
static enum tg_mgmt_err
decode_checked(const char *line, size_t len, json_t **id)
{
	struct tg_mgmt_request req;
	char msg[TG_MGMT_MESSAGE_MAX];
	enum tg_mgmt_err code;

	code = tg_mgmt_request_decode(line, len, &req, msg, sizeof(msg));
	CHECK(code == TG_MGMT_OK || code == TG_MGMT_E_BAD_REQUEST || code == TG_MGMT_E_INTERNAL);
	if (req.id != NULL)
		CHECK(json_is_null(req.id) || json_is_integer(req.id) ||
		      (json_is_string(req.id) && json_string_length(req.id) <= TG_MGMT_ID_MAX));
	if (code == TG_MGMT_OK) {
		CHECK(req.method != NULL &&
		      tg_mgmt_method_name_valid(req.method, strlen(req.method)));
		CHECK(json_is_object(req.params));
	} else {
		CHECK(strlen(msg) > 0);
	}
	if (id != NULL)
		*id = req.id != NULL ? json_incref((json_t *)req.id) : NULL;
	tg_mgmt_request_release(&req);
	return code;
}

struct expect {
	json_t *id;	       /* NULL: null */
	enum tg_mgmt_err code; /* the decoder's refusal, or TG_MGMT_OK: any answer */
};

/*
 * The request lines of the stream as the server frames them (mgmt/api.h
 * "Framing"); a stream with a line over the cap ends there.
 */
static size_t
expected(const uint8_t *s, size_t len, bool eof, struct expect *ex, size_t max)
{
	size_t n = 0, start = 0, i, l;

	for (i = 0; i <= len && n < max; i++) {
		bool end = i == len;

		if (!end && s[i] != '\n') {
			if (i - start >= TG_MGMT_REQUEST_MAX)
				break; /* too_large */
			continue;
		}
		if (end && (!eof || i == start))
			break;
		l = i - start;
		if (l > 0 && s[start + l - 1] == '\r')
			l--;
		if (l > 0) {
			ex[n].code = decode_checked((const char *)s + start, l, &ex[n].id);
			n++;
		}
		start = i + 1;
	}
	return n;
}

/* One line from the server: its shape. Returns the response (NULL: an event). */
static json_t *
check_line(const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL), *e, *code;
	bool known = false;

	CHECK(j != NULL && json_is_object(j));
	if (json_object_get(j, "event") != NULL) {
		CHECK(json_object_size(j) == 1);
		json_decref(j);
		return NULL;
	}
	CHECK(json_object_size(j) == 2 && json_object_get(j, "id") != NULL);
	if (json_object_get(j, "result") != NULL)
		return j;
	e = json_object_get(j, "error");
	CHECK(json_is_object(e) && json_object_size(e) == 2);
	CHECK(json_is_string(json_object_get(e, "message")));
	code = json_object_get(e, "code");
	CHECK(json_is_string(code));
	for (unsigned int i = 1; i < TG_MGMT_E_MAX; i++)
		known |= strcmp(json_string_value(code), tg_mgmt_err_names[i]) == 0;
	CHECK(known);
	return j;
}

static const char *
error_code(const json_t *resp)
{
	return json_string_value(json_object_get(json_object_get(resp, "error"), "code"));
}

/* ---------------------------------------------------------------------
 * One input: one connection
 * ------------------------------------------------------------------- */

struct rx {
	char *buf;
	size_t len, cap;
	bool eof;
};

static void
drain(int fd, struct rx *rx)
{
	ssize_t n;

	while (!rx->eof) {
		if (rx->cap - rx->len < 65536) {
			rx->cap = rx->cap ? 2 * rx->cap : 262144;
			rx->buf = realloc(rx->buf, rx->cap);
			CHECK(rx->buf != NULL);
		}
		n = recv(fd, rx->buf + rx->len, rx->cap - rx->len, MSG_DONTWAIT);
		if (n > 0) {
			rx->len += (size_t)n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET)
			rx->eof = true;
		else
			CHECK(errno == EAGAIN);
		return;
	}
}

/* Answers the deferred calls, so that what waits behind them goes on. */
static void
answer_deferred(void)
{
	size_t n = nb_deferred;

	nb_deferred = 0;
	for (size_t i = 0; i < n; i++)
		tg_mgmt_reply(deferred[i], json_pack("{s:b}", "late", 1));
}

static void
stream(const uint8_t *s, size_t len, unsigned int seed, int fd, struct rx *rx)
{
	size_t off = 0, chunk;
	ssize_t n;

	while (off < len && !rx->eof) {
		seed = seed * 1103515245u + 12345u; /* a fixed sequence: the input decides */
		/* mostly small writes, cut anywhere; some large, for long token streams */
		chunk = (seed >> 30) == 0 ? 1 + (seed >> 12) % 8192 : 1 + (seed >> 16) % 97;
		if (chunk > len - off)
			chunk = len - off;
		n = send(fd, s + off, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			off += (size_t)n;
		else
			CHECK(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET);
		if (n < 0 && errno != EAGAIN)
			break; /* the server closed it (too_large) */
		if (n < 0)
			answer_deferred(); /* the server may wait for one: not reading */
		pump();
		drain(fd, rx);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct expect ex[EXPECT_MAX];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tg_mgmt_stats st;
	static struct rx
		rx; /* kept across inputs: a large buffer per run costs more than the run */
	static uint8_t expanded[STREAM_MAX];
	const uint8_t *s;
	size_t nex, nresp = 0, off, len;
	bool eof, idle, publish;
	int fd;

	/* the decoder alone, on the whole input */
	decode_checked((const char *)data, size, NULL);
	if (size < 2)
		return 0;
	if (srv == NULL)
		server_open();
	next_roles = data[0] & TG_MGMT_ROLE_ANY;
	eof = data[0] & 0x08;
	idle = data[0] & 0x10;
	publish = data[0] & 0x20;
	s = data + 2;
	len = size - 2;
	if (data[0] & 0x40) {
		size_t n = 0, k;

		for (size_t i = 2; i < size; i++) {
			k = strlen(tokens[data[i] % TOKENS]);
			if (n + k > sizeof(expanded))
				break;
			memcpy(expanded + n, tokens[data[i] % TOKENS], k);
			n += k;
		}
		s = expanded;
		len = n;
	}
	nex = expected(s, len, eof, ex, EXPECT_MAX);
	rx.len = 0;
	rx.eof = false;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	pump();
	stream(s, len, data[1], fd, &rx);
	if (eof)
		shutdown(fd, SHUT_WR);
	pump();
	/* deferred calls are answered, and what waited behind them goes on */
	for (int round = 0; nb_deferred > 0 && round < 10000; round++) {
		answer_deferred();
		pump();
		drain(fd, &rx);
	}
	CHECK(nb_deferred == 0);
	if (publish) {
		/* shaped like an audit record, so that watch filters match it or not */
		json_t *ev = json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "event", "type", "db.query",
				       "db", "user", "alice", "dst", "service", "pg");

		CHECK(tg_mgmt_publish(srv, ev) >= 0);
		json_decref(ev);
		pump();
	}
	if (idle) {
		drain(fd, &rx);
		pump();
		clock_now += 1000;
		tg_mgmt_tick(srv);
		pump();
	}
	for (int i = 0; i < 1000; i++) {
		size_t before = rx.len;

		drain(fd, &rx);
		pump();
		if (rx.eof || (rx.len == before && i > 2))
			break;
	}

	/* every line a JSON object; responses in order, one per request line */
	off = 0;
	while (off < rx.len) {
		char *nl = memchr(rx.buf + off, '\n', rx.len - off);
		json_t *resp;

		if (nl == NULL) {
			/* whole lines only, unless the idle clock cut a connection off */
			CHECK(rx.eof && idle);
			break;
		}
		resp = check_line(rx.buf + off, (size_t)(nl - (rx.buf + off)));
		off = (size_t)(nl - rx.buf) + 1;
		if (resp == NULL)
			continue;
		if (nresp < nex) {
			json_t *id = json_object_get(resp, "id");

			CHECK(ex[nresp].id != NULL ? json_equal(id, ex[nresp].id)
						   : json_is_null(id));
			if (ex[nresp].code != TG_MGMT_OK)
				CHECK(error_code(resp) != NULL &&
				      strcmp(error_code(resp), tg_mgmt_err_names[ex[nresp].code]) ==
					      0);
		} else if (nex < EXPECT_MAX) {
			/* the last words of a connection the server ends */
			const char *c = error_code(resp);

			CHECK(json_is_null(json_object_get(resp, "id")) && c != NULL);
			CHECK(strcmp(c, "too_large") == 0 || strcmp(c, "too_slow") == 0 ||
			      strcmp(c, "bad_request") == 0);
		}
		nresp++;
		json_decref(resp);
	}
	/* all answered, unless the server ended the connection first */
	CHECK(nresp >= nex || rx.eof);

	close(fd);
	pump();
	tg_mgmt_stats(srv, &st);
	CHECK(st.clients == 0 && st.subscribers == 0 && st.pending == 0);
	for (size_t i = 0; i < nex; i++)
		json_decref(ex[i].id);
	return 0;
}
