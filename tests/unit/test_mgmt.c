/* SPDX-License-Identifier: MIT */
/*
 * test_mgmt.c — unit tests of the management API server (slowpath/mgmt.c)
 * over real Unix sockets, with no mocks: each case opens a server on a
 * socket in its own mkdtemp() directory and talks to it with plain client
 * sockets from the same thread.
 *
 * The server runs only when the test pumps it (tg_mgmt_on_ready() while
 * its fd is readable), so every exchange is deterministic: a client
 * writes, the test pumps, the client reads. Clients are non-blocking; a
 * read that would wait pumps the server instead, and gives up (failing
 * the case) after a bounded number of rounds.
 *
 * Roles: most cases give the peer its roles through cfg->roles_of (the
 * test's own credentials cannot be changed without root); the group
 * mapping itself is tested through tg_mgmt_roles_of(), one case reads the
 * test's own credentials through SO_PEERCRED, and as root one case forks
 * a child that becomes nobody in a granted group and is refused for real.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "mgmt.h"

#define ROUNDS 2000 /* pumps a client waits for a line before the case fails */
#define AUDITS_MAX 16
#define DEFERRED_MAX 4

struct audit_seen {
	uid_t uid;
	char user[TG_MGMT_NAME_MAX];
	char method[TG_MGMT_METHOD_MAX];
	enum tg_mgmt_err code;
	bool mutating;
	char params[128];
};

static struct {
	char dir[64];
	char path[96];
	struct tg_mgmt *m;
	struct tg_mgmt_config cfg;
	struct tg_mgmt_grant grants[4];
	bool hook_roles; /* roles from next_roles, not the groups */
	unsigned int next_roles;
	uint64_t clock;
	struct audit_seen audits[AUDITS_MAX];
	size_t nb_audits;
	struct tg_mgmt_call *deferred[DEFERRED_MAX];
	size_t nb_deferred;
	unsigned int logs;
	bool audit_publishes; /* the audit hook publishes, as the slowpath does */
} fx;

/* ---------------------------------------------------------------------
 * Hooks and test methods
 * ------------------------------------------------------------------- */

static void
audit_hook(void *arg, const struct tg_mgmt_audit_info *info)
{
	struct audit_seen *a;
	char *p;

	assert_ptr_equal(arg, &fx);
	assert_true(fx.nb_audits < AUDITS_MAX);
	a = &fx.audits[fx.nb_audits++];
	a->uid = info->peer->uid;
	snprintf(a->user, sizeof(a->user), "%s", info->peer->user);
	snprintf(a->method, sizeof(a->method), "%s", info->method);
	a->code = info->code;
	a->mutating = info->mutating;
	p = json_dumps(info->params, JSON_COMPACT);
	snprintf(a->params, sizeof(a->params), "%s", p ? p : "?");
	free(p);
	assert_non_null(info->message);
	if (info->code != TG_MGMT_OK)
		assert_true(info->message[0] != '\0');
	if (fx.audit_publishes) {
		json_t *ev = json_pack("{s:s, s:s}", "method", info->method, "outcome",
				       tg_mgmt_err_names[info->code]);

		assert_true(tg_mgmt_publish(fx.m, ev) >= 0);
		json_decref(ev);
	}
}

static void
log_hook(void *arg, int prio, const char *msg)
{
	fx.logs++;
	assert_non_null(msg);
}

static unsigned int
roles_hook(void *arg, const struct tg_mgmt_peer *peer, const gid_t *groups, size_t n)
{
	return fx.next_roles;
}

static uint64_t
clock_hook(void *arg)
{
	return fx.clock;
}

/* test.echo: the params back */
static void
m_echo(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	tg_mgmt_reply(call, json_deep_copy(params));
}

/* test.change (mutating, admin): {"fail": true} fails with not_found */
static void
m_change(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	if (json_is_true(json_object_get(params, "fail")))
		tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND, "no such thing: %d", 42);
	else
		tg_mgmt_reply(call, json_pack("{s:b}", "changed", 1));
}

/* test.later: answered by the test, later */
static void
m_later(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	assert_true(fx.nb_deferred < DEFERRED_MAX);
	assert_string_equal(tg_mgmt_call_method(call), "test.later");
	fx.deferred[fx.nb_deferred++] = call;
}

/* test.publish: publishes an event from inside a handler, then answers */
static void
m_publish(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	json_t *ev = json_pack("{s:s}", "from", "handler");

	tg_mgmt_publish(fx.m, ev);
	json_decref(ev);
	tg_mgmt_reply(call, json_pack("{}"));
}

static const struct tg_mgmt_method test_methods[] = {
	{ .name = "test.echo", .roles = TG_MGMT_ROLE_ANY, .summary = "params back", .fn = m_echo },
	{ .name = "test.change",
	  .roles = TG_MGMT_ROLE_ADMIN,
	  .mutating = true,
	  .summary = "change something",
	  .fn = m_change },
	{ .name = "test.later", .roles = TG_MGMT_ROLE_NONE, .fn = m_later },
	{ .name = "test.publish", .roles = TG_MGMT_ROLE_NONE, .fn = m_publish },
};

/* ---------------------------------------------------------------------
 * Server and clients
 * ------------------------------------------------------------------- */

static int
setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/tg-mgmt-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/mgmt.sock", fx.dir);
	fx.cfg = (struct tg_mgmt_config){
		.path = fx.path,
		.uid = (uid_t)-1,
		.software = "test 1.0",
		.arg = &fx,
		.audit = audit_hook,
		.log = log_hook,
		.clock_ms = clock_hook,
	};
	fx.hook_roles = true;
	fx.next_roles = TG_MGMT_ROLE_ADMIN;
	fx.clock = 1000000;
	return 0;
}

static int
teardown(void **state)
{
	tg_mgmt_close(fx.m);
	fx.m = NULL;
	for (size_t i = 0; i < fx.nb_deferred; i++)
		if (fx.deferred[i] != NULL)
			tg_mgmt_reply(fx.deferred[i], json_null());
	unlink(fx.path);
	rmdir(fx.dir);
	return 0;
}

static void
start(void)
{
	char err[256];

	fx.cfg.roles_of = fx.hook_roles ? roles_hook : NULL;
	fx.m = tg_mgmt_open(&fx.cfg, err, sizeof(err));
	if (fx.m == NULL)
		fail_msg("tg_mgmt_open: %s", err);
	for (size_t i = 0; i < sizeof(test_methods) / sizeof(test_methods[0]); i++)
		assert_int_equal(tg_mgmt_register(fx.m, &test_methods[i]), 0);
}

/* Runs the server while it has something to do; true when it did anything. */
static bool
pump(void)
{
	struct pollfd p = { .fd = tg_mgmt_fd(fx.m), .events = POLLIN };
	bool did = false;

	if (fx.m == NULL)
		return false;
	for (int i = 0; i < 1000 && poll(&p, 1, 0) == 1; i++) {
		tg_mgmt_on_ready(fx.m);
		did = true;
	}
	return did;
}

struct client {
	int fd;
	char *buf;
	size_t len, cap;
};

static struct client *
cl_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	pump();
	return c;
}

static void
cl_close(struct client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

/* Writes all of p, pumping the server when the socket is full. */
static void
cl_write(struct client *c, const void *p, size_t len)
{
	const char *s = p;
	int stuck = 0;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, s, len, MSG_NOSIGNAL);
		if (n > 0) {
			s += n;
			len -= (size_t)n;
			stuck = 0;
			continue;
		}
		assert_true(n < 0 && errno == EAGAIN);
		if (!pump() && ++stuck > 100)
			fail_msg("the server does not read");
	}
}

static void
cl_send(struct client *c, const char *line)
{
	cl_write(c, line, strlen(line));
}

/* The next line (malloc'd, no newline), or NULL at the end of the stream. */
static char *
cl_line(struct client *c)
{
	char *nl, *line;
	size_t n;
	ssize_t r;

	for (int round = 0; round < ROUNDS; round++) {
		nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl != NULL) {
			n = (size_t)(nl - c->buf);
			line = malloc(n + 1);
			assert_non_null(line);
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return line;
		}
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap);
			assert_non_null(c->buf);
		}
		r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r > 0) {
			c->len += (size_t)r;
			continue;
		}
		if (r == 0 || (r < 0 && errno == ECONNRESET)) {
			assert_int_equal(c->len, 0); /* no partial line before the end */
			return NULL;
		}
		assert_int_equal(errno, EAGAIN);
		pump();
	}
	fail_msg("no line from the server after %d rounds", ROUNDS);
	return NULL;
}

/* The next line as JSON; every line the server sends is one JSON object. */
static json_t *
cl_json(struct client *c)
{
	json_error_t jerr;
	char *line = cl_line(c);
	json_t *j;

	if (line == NULL)
		fail_msg("the server closed the connection");
	j = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j))
		fail_msg("not a JSON object from the server: %s", line);
	free(line);
	return j;
}

static void
cl_expect_eof(struct client *c)
{
	char *line = cl_line(c);

	if (line != NULL)
		fail_msg("expected the end of the stream, got: %s", line);
}

/* Nothing more to read, after the server has done all it can. */
static void
cl_expect_quiet(struct client *c)
{
	char b;

	pump();
	assert_int_equal(c->len, 0);
	assert_int_equal(recv(c->fd, &b, 1, MSG_PEEK), -1);
	assert_int_equal(errno, EAGAIN);
}

/* The response's id equals want (a JSON text). */
static void
check_id(const json_t *resp, const char *want)
{
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);

	assert_non_null(w);
	if (!json_equal(json_object_get(resp, "id"), w)) {
		char *s = json_dumps(resp, JSON_COMPACT);

		fail_msg("response %s: id is not %s", s, want);
	}
	json_decref(w);
}

/* A result response with that id; returns its result (borrowed from resp). */
static json_t *
check_result(const json_t *resp, const char *id)
{
	json_t *r = json_object_get(resp, "result");

	check_id(resp, id);
	if (r == NULL || json_object_size(resp) != 2) {
		char *s = json_dumps(resp, JSON_COMPACT);

		fail_msg("not a result: %s", s);
	}
	return r;
}

/* An error response with that id and code; returns its message. */
static const char *
check_error(const json_t *resp, const char *id, const char *code)
{
	json_t *e = json_object_get(resp, "error");
	const char *got;

	check_id(resp, id);
	if (e == NULL || json_object_size(resp) != 2 || json_object_size(e) != 2 ||
	    !json_is_string(json_object_get(e, "message"))) {
		char *s = json_dumps(resp, JSON_COMPACT);

		fail_msg("not an error response: %s", s);
	}
	got = json_string_value(json_object_get(e, "code"));
	if (got == NULL || strcmp(got, code) != 0)
		fail_msg("error code %s, expected %s (message: %s)", got ? got : "(none)", code,
			 json_string_value(json_object_get(e, "message")));
	return json_string_value(json_object_get(e, "message"));
}

/* Sends one line and checks a result with that id; returns the response. */
static json_t *
call_ok(struct client *c, const char *line, const char *id)
{
	json_t *r;

	cl_send(c, line);
	r = cl_json(c);
	check_result(r, id);
	return r;
}

static void
ping_ok(struct client *c)
{
	json_decref(call_ok(c, "{\"id\":\"p\",\"method\":\"ping\"}\n", "\"p\""));
}

static struct tg_mgmt_stats
stats(void)
{
	struct tg_mgmt_stats s;

	tg_mgmt_stats(fx.m, &s);
	return s;
}

/* ---------------------------------------------------------------------
 * Basics
 * ------------------------------------------------------------------- */

static void
test_ping(void **state)
{
	struct client *c;
	struct stat st;
	json_t *r, *res;

	start();
	assert_int_equal(stat(fx.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	c = cl_open();
	r = call_ok(c, "{\"id\":1,\"method\":\"ping\"}\n", "1");
	res = json_object_get(r, "result");
	assert_true(json_is_true(json_object_get(res, "pong")));
	assert_string_equal(json_string_value(json_object_get(res, "software")), "test 1.0");
	json_decref(r);
	/* no id: answered with null; params {} is the same as none */
	json_decref(call_ok(c, "{\"method\":\"ping\",\"params\":{}}\n", "null"));
	json_decref(call_ok(c, "{\"id\":null,\"method\":\"ping\"}\n", "null"));
	assert_int_equal(stats().clients, 1);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_REPLIES], 3);
	cl_close(c);
	pump();
	assert_int_equal(stats().clients, 0);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_CLOSED], 1);
	assert_int_equal(fx.nb_audits, 0); /* nothing mutating, nothing refused */
}

/*
 * A request cut anywhere arrives whole: byte by byte, inside a UTF-8
 * sequence, with CRLF, blank lines between, and two requests in one write.
 */
static void
test_framing_partial_writes(void **state)
{
	/* id "é" is 0xc3 0xa9: the cut between the two bytes is at offset 8 */
	static const char req[] = "{\"id\":\"\xc3\xa9\",\"method\":\"test.echo\",\"params\":"
				  "{\"k\":\"v\"}}\r\n";
	struct client *c;
	json_t *r;

	start();
	c = cl_open();
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		cl_write(c, req + i, 1);
		pump();
		if (i + 1 < sizeof(req) - 1)
			cl_expect_quiet(c); /* nothing answered before the newline */
	}
	r = cl_json(c);
	assert_string_equal(
		json_string_value(json_object_get(check_result(r, "\"\xc3\xa9\""), "k")), "v");
	json_decref(r);

	cl_write(c, req, 8);
	pump();
	cl_write(c, req + 8, sizeof(req) - 1 - 8);
	json_decref(call_ok(c, "", "\"\xc3\xa9\""));

	cl_send(c, "\n\r\n{\"id\":1,\"method\":\"ping\"}\n\n{\"id\":2,\"method\":\"ping\"}\n");
	r = cl_json(c);
	check_result(r, "1");
	json_decref(r);
	r = cl_json(c);
	check_result(r, "2");
	json_decref(r);
	cl_expect_quiet(c); /* blank lines get no answer */
	assert_int_equal(stats().cnt[TG_MGMT_CNT_REQUESTS], 4);
	cl_close(c);
}

/* Many requests in one write: one response each, in order, with their ids. */
static void
test_pipelined_in_order(void **state)
{
	enum { N = 300 };
	struct client *c;
	char *buf, id[16];
	size_t len = 0;
	json_t *r;

	start();
	c = cl_open();
	buf = malloc(N * 96);
	assert_non_null(buf);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, 96, "{\"id\":%d,\"method\":\"%s\"}\n", i,
					i % 3 == 0   ? "ping"
					: i % 3 == 1 ? "test.echo"
						     : "no.such");
	cl_write(c, buf, len);
	free(buf);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "%d", i);
		r = cl_json(c);
		if (i % 3 == 2)
			check_error(r, id, "unknown_method");
		else
			check_result(r, id);
		json_decref(r);
	}
	cl_expect_quiet(c);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_REQUESTS], N);
	assert_int_equal(stats().err[TG_MGMT_E_UNKNOWN_METHOD], N / 3);
	cl_close(c);
}

/* ---------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------- */

/* A line of exactly the cap is taken; one byte more is too_large and the end. */
static void
test_oversize(void **state)
{
	static const char head[] =
		"{\"id\":\"big\",\"method\":\"test.echo\",\"params\":{\"pad\":\"";
	struct client *c, *other;
	char *line;
	size_t len;
	json_t *r;

	start();
	c = cl_open();
	other = cl_open();
	/* head, padding, "\"}}": exactly TG_MGMT_REQUEST_MAX bytes, then the newline */
	line = malloc(TG_MGMT_REQUEST_MAX + 2);
	assert_non_null(line);
	len = sizeof(head) - 1;
	memcpy(line, head, len);
	memset(line + len, 'x', TG_MGMT_REQUEST_MAX - len - 3);
	memcpy(line + TG_MGMT_REQUEST_MAX - 3, "\"}}\n", 4);
	cl_write(c, line, TG_MGMT_REQUEST_MAX + 1);
	r = cl_json(c);
	assert_int_equal(json_string_length(json_object_get(check_result(r, "\"big\""), "pad")),
			 TG_MGMT_REQUEST_MAX - len - 3);
	json_decref(r);

	/* one more byte of padding: refused before the newline arrives */
	memset(line + len, 'x', TG_MGMT_REQUEST_MAX - len - 2);
	memcpy(line + TG_MGMT_REQUEST_MAX - 2, "\"}}\n", 4);
	cl_write(c, line, TG_MGMT_REQUEST_MAX + 2);
	free(line);
	r = cl_json(c);
	assert_non_null(strstr(check_error(r, "null", "too_large"), "65536"));
	json_decref(r);
	cl_expect_eof(c);
	assert_int_equal(stats().err[TG_MGMT_E_TOO_LARGE], 1);

	/* the other connection never noticed */
	ping_ok(other);
	assert_int_equal(stats().clients, 1);
	cl_close(c);
	cl_close(other);
}

/* Bad input gets bad_request, with the id when it could be read, and the connection goes on. */
static void
test_malformed(void **state)
{
	static const struct {
		const char *line;
		const char *id;
		const char *code;
		const char *says;
	} cases[] = {
		{ "hello\n", "null", "bad_request", "not valid JSON" },
		{ "{\"id\":1,\"method\":\"ping\"\n", "null", "bad_request", "not valid JSON" },
		{ "{\"id\":1,\"method\":\"ping\"} {}\n", "null", "bad_request", "not valid JSON" },
		{ "   \n", "null", "bad_request", "not valid JSON" },
		{ "[1,2]\n", "null", "bad_request", "object" },
		{ "\"ping\"\n", "null", "bad_request", "not valid JSON" },
		{ "{}\n", "null", "bad_request", "no method" },
		{ "{\"id\":3}\n", "3", "bad_request", "no method" },
		{ "{\"id\":4,\"method\":1}\n", "4", "bad_request", "method must be" },
		{ "{\"id\":5,\"method\":\"Ping\"}\n", "5", "bad_request", "method must be" },
		{ "{\"id\":5,\"method\":\"\"}\n", "5", "bad_request", "method must be" },
		{ "{\"id\":6,\"method\":\"ping\",\"params\":[]}\n", "6", "bad_request",
		  "params must be an object" },
		{ "{\"id\":6,\"method\":\"ping\",\"params\":null}\n", "6", "bad_request",
		  "params must be an object" },
		{ "{\"id\":1.5,\"method\":\"ping\"}\n", "null", "bad_request", "id must be" },
		{ "{\"id\":{\"a\":1},\"method\":\"ping\"}\n", "null", "bad_request", "id must be" },
		{ "{\"id\":true,\"method\":\"ping\"}\n", "null", "bad_request", "id must be" },
		{ "{\"id\":7,\"method\":\"ping\",\"extra\":1}\n", "7", "bad_request",
		  "unknown member \"extra\"" },
		{ "{\"id\":8,\"method\":\"ping\",\"method\":\"ping\"}\n", "null", "bad_request",
		  "duplicate" },
		/* 0xff is no UTF-8 */
		{ "{\"id\":9,\"method\":\"ping\",\"params\":{\"a\":\"\xff\"}}\n", "null",
		  "bad_request", "not valid JSON" },
		/* \u0000 would cut a C string */
		{ "{\"id\":10,\"method\":\"pi\\u0000ng\"}\n", "null", "bad_request",
		  "not valid JSON" },
		/* a key that is not ASCII is shown as '?' */
		{ "{\"id\":11,\"method\":\"ping\",\"\xc3\xa9\":1}\n", "11", "bad_request",
		  "unknown member \"??\"" },
		{ "{\"id\":12,\"method\":\"ping\",\"params\":{\"x\":1}}\n", "12", "bad_request",
		  "ping takes no params" },
		{ "{\"id\":13,\"method\":\"no.such\"}\n", "13", "unknown_method", "no.such" },
	};
	static const char rawnul[] = "{\"id\":1,\"meth\0od\":\"ping\"}\n";
	char longid[TG_MGMT_ID_MAX + 64];
	struct client *c;
	json_t *r;

	start();
	c = cl_open();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *msg;

		cl_send(c, cases[i].line);
		r = cl_json(c);
		msg = check_error(r, cases[i].id, cases[i].code);
		if (strstr(msg, cases[i].says) == NULL)
			fail_msg("case %zu: message \"%s\" does not say \"%s\"", i, msg,
				 cases[i].says);
		json_decref(r);
		ping_ok(c); /* the connection is still good */
	}
	/* a raw NUL byte in the line */
	cl_write(c, rawnul, sizeof(rawnul) - 1);
	r = cl_json(c);
	check_error(r, "null", "bad_request");
	json_decref(r);
	/* ids: the longest string taken, one byte more refused */
	snprintf(longid, sizeof(longid), "{\"id\":\"%0*d\",\"method\":\"ping\"}\n", TG_MGMT_ID_MAX,
		 0);
	cl_send(c, longid);
	r = cl_json(c);
	assert_int_equal(json_string_length(json_object_get(r, "id")), TG_MGMT_ID_MAX);
	json_decref(r);
	snprintf(longid, sizeof(longid), "{\"id\":\"%0*d\",\"method\":\"ping\"}\n",
		 TG_MGMT_ID_MAX + 1, 0);
	cl_send(c, longid);
	r = cl_json(c);
	check_error(r, "null", "bad_request");
	json_decref(r);
	ping_ok(c);
	assert_int_equal(stats().clients, 1);
	assert_int_equal(fx.nb_audits, 0);
	cl_close(c);
}

/* The decoder itself, as the fuzz target calls it. */
static void
test_decode(void **state)
{
	struct tg_mgmt_request req;
	char msg[TG_MGMT_MESSAGE_MAX];
	const char *s;

	s = "{\"method\":\"audit.tail\",\"id\":\"x\"}";
	assert_int_equal(tg_mgmt_request_decode(s, strlen(s), &req, msg, sizeof(msg)), TG_MGMT_OK);
	assert_string_equal(req.method, "audit.tail");
	assert_string_equal(json_string_value(req.id), "x");
	assert_true(json_is_object(req.params) && json_object_size(req.params) == 0);
	tg_mgmt_request_release(&req);

	/* not NUL-terminated: only len bytes are read */
	s = "{\"method\":\"ping\"}GARBAGE";
	assert_int_equal(tg_mgmt_request_decode(s, 17, &req, msg, sizeof(msg)), TG_MGMT_OK);
	assert_null(req.id);
	tg_mgmt_request_release(&req);

	s = "{\"id\":-9223372036854775808,\"method\":\"a.b_c\",\"params\":{\"n\":[1]}}";
	assert_int_equal(tg_mgmt_request_decode(s, strlen(s), &req, msg, sizeof(msg)), TG_MGMT_OK);
	assert_true(json_integer_value(req.id) == INT64_MIN);
	assert_non_null(json_object_get(req.params, "n"));
	tg_mgmt_request_release(&req);

	assert_int_equal(tg_mgmt_request_decode("", 0, &req, msg, sizeof(msg)),
			 TG_MGMT_E_BAD_REQUEST);
	assert_null(req.id);
	tg_mgmt_request_release(&req);

	assert_true(tg_mgmt_method_name_valid("sessions.kill", 13));
	assert_false(tg_mgmt_method_name_valid("sessions kill", 13));
	assert_false(tg_mgmt_method_name_valid("", 0));
	assert_false(tg_mgmt_method_name_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		TG_MGMT_METHOD_MAX));
}

/* ---------------------------------------------------------------------
 * Roles and the audit hook
 * ------------------------------------------------------------------- */

static bool
has_method(const json_t *list, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e)
		if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
			return true;
	return false;
}

static void
test_roles_refusal_audited(void **state)
{
	struct client *aud, *adm, *none;
	struct passwd *pw = getpwuid(getuid());
	json_t *r, *res, *peer;
	const char *msg;

	start();
	fx.next_roles = TG_MGMT_ROLE_AUDITOR;
	aud = cl_open();
	fx.next_roles = TG_MGMT_ROLE_ADMIN;
	adm = cl_open();
	fx.next_roles = TG_MGMT_ROLE_NONE;
	none = cl_open();

	/* an auditor: refused the admin method, audited with who and what */
	cl_send(aud, "{\"id\":1,\"method\":\"test.change\",\"params\":{\"what\":\"x\"}}\n");
	r = cl_json(aud);
	msg = check_error(r, "1", "forbidden");
	assert_non_null(strstr(msg, "admin"));
	assert_non_null(strstr(msg, "auditor"));
	json_decref(r);
	assert_int_equal(fx.nb_audits, 1);
	assert_int_equal(fx.audits[0].uid, getuid());
	assert_string_equal(fx.audits[0].user, pw ? pw->pw_name : "");
	assert_string_equal(fx.audits[0].method, "test.change");
	assert_int_equal(fx.audits[0].code, TG_MGMT_E_FORBIDDEN);
	assert_true(fx.audits[0].mutating);
	assert_string_equal(fx.audits[0].params, "{\"what\":\"x\"}");
	/* what it may call: its roles, and the methods it may call, by name */
	r = call_ok(aud, "{\"id\":2,\"method\":\"methods\"}\n", "2");
	res = json_object_get(r, "result");
	peer = json_object_get(res, "peer");
	assert_int_equal(json_integer_value(json_object_get(peer, "uid")), getuid());
	assert_int_equal(json_integer_value(json_object_get(peer, "pid")), getpid());
	assert_int_equal(json_array_size(json_object_get(peer, "roles")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(peer, "roles"), 0)),
			    "auditor");
	assert_true(has_method(json_object_get(res, "methods"), "test.echo"));
	assert_true(has_method(json_object_get(res, "methods"), "watch"));
	assert_false(has_method(json_object_get(res, "methods"), "test.change"));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(res, "methods"), 0), "name")),
			    "methods"); /* sorted */
	json_decref(r);
	json_decref(call_ok(aud, "{\"id\":3,\"method\":\"test.echo\"}\n", "3"));
	assert_int_equal(fx.nb_audits, 1); /* reading is not audited */

	/* no role at all: ping and methods only; watch refused and audited */
	ping_ok(none);
	cl_send(none, "{\"id\":4,\"method\":\"watch\"}\n");
	r = cl_json(none);
	check_error(r, "4", "forbidden");
	json_decref(r);
	cl_send(none, "{\"id\":5,\"method\":\"test.echo\"}\n");
	r = cl_json(none);
	check_error(r, "5", "forbidden");
	json_decref(r);
	assert_int_equal(fx.nb_audits, 3);
	assert_string_equal(fx.audits[1].method, "watch");
	assert_false(fx.audits[1].mutating);
	r = call_ok(none, "{\"id\":6,\"method\":\"methods\"}\n", "6");
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "result"), "methods")),
			 4); /* methods, ping, test.later, test.publish */
	json_decref(r);

	/* an admin: the mutation goes through and is audited, success and failure */
	r = call_ok(adm, "{\"id\":7,\"method\":\"test.change\"}\n", "7");
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "changed")));
	json_decref(r);
	assert_int_equal(fx.nb_audits, 4);
	assert_int_equal(fx.audits[3].code, TG_MGMT_OK);
	assert_true(fx.audits[3].mutating);
	cl_send(adm, "{\"id\":8,\"method\":\"test.change\",\"params\":{\"fail\":true}}\n");
	r = cl_json(adm);
	assert_string_equal(check_error(r, "8", "not_found"), "no such thing: 42");
	json_decref(r);
	assert_int_equal(fx.nb_audits, 5);
	assert_int_equal(fx.audits[4].code, TG_MGMT_E_NOT_FOUND);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_AUDITED], 5);
	assert_int_equal(stats().err[TG_MGMT_E_FORBIDDEN], 3);
	cl_close(aud);
	cl_close(adm);
	cl_close(none);
}

/* Up to n distinct groups of the system other than gid 0, for the mapping. */
static size_t
some_groups(gid_t *gids, char names[][64], size_t n)
{
	struct group *g;
	size_t k = 0;

	setgrent();
	while (k < n && (g = getgrent()) != NULL) {
		if (g->gr_gid == 0 || strlen(g->gr_name) >= 64)
			continue;
		gids[k] = g->gr_gid;
		snprintf(names[k], 64, "%s", g->gr_name);
		k++;
	}
	endgrent();
	return k;
}

/* tg_mgmt_roles_of(): root is admin; otherwise the union of the granted groups. */
static void
test_role_mapping(void **state)
{
	gid_t gids[3], other = 4242424;
	char names[3][64], err[256];
	struct tg_mgmt *bad;

	if (some_groups(gids, names, 3) < 3)
		skip();
	fx.grants[0] = (struct tg_mgmt_grant){ names[0], TG_MGMT_ROLE_ADMIN };
	fx.grants[1] = (struct tg_mgmt_grant){ names[1], TG_MGMT_ROLE_AUDITOR };
	fx.grants[2] =
		(struct tg_mgmt_grant){ names[2], TG_MGMT_ROLE_APPROVER | TG_MGMT_ROLE_AUDITOR };
	fx.cfg.grants = fx.grants;
	fx.cfg.nb_grants = 3;
	start();
	assert_int_equal(tg_mgmt_roles_of(fx.m, 0, other, NULL, 0), TG_MGMT_ROLE_ADMIN);
	assert_int_equal(tg_mgmt_roles_of(fx.m, 1000, other, NULL, 0), 0);
	assert_int_equal(tg_mgmt_roles_of(fx.m, 1000, gids[0], NULL, 0), TG_MGMT_ROLE_ADMIN);
	assert_int_equal(tg_mgmt_roles_of(fx.m, 1000, other, &gids[1], 1), TG_MGMT_ROLE_AUDITOR);
	assert_int_equal(tg_mgmt_roles_of(fx.m, 1000, gids[1], &gids[2], 1),
			 TG_MGMT_ROLE_APPROVER | TG_MGMT_ROLE_AUDITOR);
	assert_int_equal(tg_mgmt_roles_of(fx.m, 1000, other, gids, 3), TG_MGMT_ROLE_ANY);
	tg_mgmt_close(fx.m);
	fx.m = NULL;

	/* a group that does not exist is a config error, named */
	fx.grants[1].group = "tg-no-such-group-x";
	bad = tg_mgmt_open(&fx.cfg, err, sizeof(err));
	assert_null(bad);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "tg-no-such-group-x"));
	/* a grant without roles */
	fx.grants[1] = (struct tg_mgmt_grant){ names[1], 0 };
	assert_null(tg_mgmt_open(&fx.cfg, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
}

/* The real thing: SO_PEERCRED and the group mapping of the test's own credentials. */
static void
test_peercred_self(void **state)
{
	struct group *g = getgrgid(getegid());
	struct client *c;
	json_t *r, *peer, *roles;
	char name[64];

	if (g == NULL || strlen(g->gr_name) >= sizeof(name))
		skip();
	snprintf(name, sizeof(name), "%s", g->gr_name);
	fx.grants[0] = (struct tg_mgmt_grant){ name, TG_MGMT_ROLE_AUDITOR };
	fx.cfg.grants = fx.grants;
	fx.cfg.nb_grants = 1;
	fx.hook_roles = false;
	start();
	c = cl_open();
	r = call_ok(c, "{\"id\":1,\"method\":\"methods\"}\n", "1");
	peer = json_object_get(json_object_get(r, "result"), "peer");
	assert_int_equal(json_integer_value(json_object_get(peer, "uid")), geteuid());
	assert_int_equal(json_integer_value(json_object_get(peer, "gid")), getegid());
	assert_int_equal(json_integer_value(json_object_get(peer, "pid")), getpid());
	roles = json_object_get(peer, "roles");
	/* root is admin besides; admin is listed first */
	assert_int_equal(json_array_size(roles), geteuid() == 0 ? 2 : 1);
	assert_string_equal(json_string_value(json_array_get(roles, json_array_size(roles) - 1)),
			    "auditor");
	json_decref(r);
	cl_close(c);
}

/*
 * As root: a child that is nobody, in a group granted auditor, connects
 * for real (the socket's group lets it) and is refused the admin method.
 */
static void
test_peercred_other_user(void **state)
{
	gid_t gid;
	char name[1][64];
	pid_t pid;
	int status = -1;

	if (geteuid() != 0 || some_groups(&gid, name, 1) < 1)
		skip();
	fx.grants[0] = (struct tg_mgmt_grant){ name[0], TG_MGMT_ROLE_AUDITOR };
	fx.cfg.grants = fx.grants;
	fx.cfg.nb_grants = 1;
	fx.cfg.group = name[0];
	fx.hook_roles = false;
	assert_int_equal(chmod(fx.dir, 0711), 0);
	start();

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct timeval tv = { .tv_sec = 5 };
		char buf[4096];
		size_t len = 0;
		ssize_t n;
		int fd;
		static const char req[] = "{\"id\":1,\"method\":\"methods\"}\n{\"id\":2,\"method\":"
					  "\"test.change\"}\n";

		if (setgroups(1, &gid) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(11);
		if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
			_exit(12);
		while (len < sizeof(buf) - 1) {
			char *nl = memchr(buf, '\n', len);

			if (nl != NULL && memchr(nl + 1, '\n', len - (size_t)(nl + 1 - buf)))
				break;
			n = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				_exit(13);
			len += (size_t)n;
		}
		buf[len] = '\0';
		if (strstr(buf, "\"uid\":65534") == NULL ||
		    strstr(buf, "\"roles\":[\"auditor\"]") == NULL)
			_exit(14);
		if (strstr(buf, "{\"id\":2,\"error\":{\"code\":\"forbidden\"") == NULL)
			_exit(15);
		_exit(0);
	}
	for (int i = 0; i < 500; i++) {
		struct pollfd p = { .fd = tg_mgmt_fd(fx.m), .events = POLLIN };

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (poll(&p, 1, 10) == 1)
			tg_mgmt_on_ready(fx.m);
	}
	if (!WIFEXITED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the child did not finish");
	}
	if (WEXITSTATUS(status) != 0)
		fail_msg("the child failed at step %d", WEXITSTATUS(status));
	pump();
	assert_int_equal(fx.nb_audits, 1);
	assert_int_equal(fx.audits[0].uid, 65534);
	assert_int_equal(fx.audits[0].code, TG_MGMT_E_FORBIDDEN);
	assert_string_equal(fx.audits[0].method, "test.change");
}

/* ---------------------------------------------------------------------
 * Watch
 * ------------------------------------------------------------------- */

static json_t *
event(int seq, size_t pad)
{
	char *p = malloc(pad + 1);
	json_t *e;

	assert_non_null(p);
	memset(p, 'e', pad);
	p[pad] = '\0';
	e = json_pack("{s:{s:s}, s:i, s:s}", "event", "type", "session.start", "seq", seq, "pad",
		      p);
	free(p);
	assert_non_null(e);
	return e;
}

/* The next line is the event numbered seq. */
static void
expect_event(struct client *c, int seq)
{
	json_t *r = cl_json(c), *e = json_object_get(r, "event");

	if (e == NULL || json_object_size(r) != 1) {
		char *s = json_dumps(r, JSON_COMPACT);

		fail_msg("expected event %d, got %s", seq, s);
	}
	assert_int_equal(json_integer_value(json_object_get(e, "seq")), seq);
	json_decref(r);
}

static void
test_watch_in_order(void **state)
{
	struct client *w, *other;
	json_t *r, *e;

	start();
	/* nobody watches: publishing costs nothing and reaches nobody */
	e = event(0, 0);
	assert_int_equal(tg_mgmt_publish(fx.m, e), 0);
	json_decref(e);

	w = cl_open();
	other = cl_open();
	r = call_ok(w, "{\"id\":\"w\",\"method\":\"watch\"}\n", "\"w\"");
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "watching")));
	json_decref(r);
	json_decref(call_ok(w, "{\"id\":\"w2\",\"method\":\"watch\"}\n", "\"w2\""));
	assert_int_equal(stats().subscribers, 1); /* twice is once */
	for (int i = 1; i <= 5; i++) {
		e = event(i, 10);
		assert_int_equal(tg_mgmt_publish(fx.m, e), 1);
		json_decref(e);
	}
	for (int i = 1; i <= 5; i++)
		expect_event(w, i);
	/* requests still work on a watching connection, between events */
	ping_ok(w);
	/* an event published by a handler reaches the watcher before the response */
	cl_send(w, "{\"id\":9,\"method\":\"test.publish\"}\n");
	r = cl_json(w);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "event"), "from")),
			    "handler");
	json_decref(r);
	json_decref(cl_json(w));
	/* the other connection got no event */
	ping_ok(other);
	cl_expect_quiet(other);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_EVENTS], 6);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_EVENT_LINES], 6);
	cl_close(w);
	pump();
	assert_int_equal(stats().subscribers, 0);
	cl_close(other);
}

/*
 * A watcher that does not read is dropped at its cap; another watcher and
 * a plain client go on; the dropped one reads what was queued, then the
 * too_slow line, then the end.
 */
static void
test_slow_subscriber_dropped(void **state)
{
	struct client *slow, *fast, *plain;
	int n = 0, seen;
	json_t *e, *r;

	fx.cfg.out_max = 16384;
	start();
	slow = cl_open();
	fast = cl_open();
	plain = cl_open();
	json_decref(call_ok(slow, "{\"id\":1,\"method\":\"watch\"}\n", "1"));
	json_decref(call_ok(fast, "{\"id\":1,\"method\":\"watch\"}\n", "1"));
	while (stats().cnt[TG_MGMT_CNT_DROPPED_SLOW] == 0) {
		assert_true(n < 5000); /* socket buffers are far smaller than 5 MB */
		e = event(n, 1000);
		assert_true(tg_mgmt_publish(fx.m, e) >= 1);
		json_decref(e);
		pump();
		expect_event(fast, n);
		n++;
	}
	assert_int_equal(stats().subscribers, 1);
	/* the others never noticed */
	ping_ok(plain);
	e = event(n, 10);
	assert_int_equal(tg_mgmt_publish(fx.m, e), 1);
	json_decref(e);
	expect_event(fast, n);
	/* the slow one: a prefix of the events in order, then too_slow, then the end */
	for (seen = 0;; seen++) {
		r = cl_json(slow);
		if (json_object_get(r, "error") != NULL)
			break;
		assert_int_equal(
			json_integer_value(json_object_get(json_object_get(r, "event"), "seq")),
			seen);
		json_decref(r);
	}
	assert_true(seen > 0 && seen < n);
	assert_non_null(strstr(check_error(r, "null", "too_slow"), "16384"));
	json_decref(r);
	cl_expect_eof(slow);
	assert_int_equal(stats().clients, 2);
	cl_close(slow);
	cl_close(fast);
	cl_close(plain);
}

/*
 * A client that pipelines and does not read: the server stops reading it
 * at the output cap (its sends then block), and answers everything in
 * order once it reads. Meanwhile another client is served.
 */
static void
test_backpressure_not_reading(void **state)
{
	enum { N = 20000 };
	static const char pad[] =
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	struct client *c, *other;
	char *buf, id[16];
	size_t len = 0, off = 0, lines = 0;
	json_t *r;
	ssize_t k;

	fx.cfg.out_max = 8192;
	start();
	c = cl_open();
	other = cl_open();
	buf = malloc((size_t)N * 256);
	assert_non_null(buf);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, 256,
					"{\"id\":%d,\"method\":\"test.echo\",\"params\":{\"p\":"
					"\"%s%s\"}}\n",
					i, pad, pad);
	/* write until the server stops taking it */
	for (int stuck = 0; off < len && stuck < 3;) {
		k = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (k > 0) {
			off += (size_t)k;
			stuck = 0;
		} else {
			assert_int_equal(errno, EAGAIN);
			stuck += !pump();
		}
	}
	assert_true(off < len); /* it did stop: about 8 KiB of answers plus the socket buffers */
	ping_ok(other);
	/* now read, and send the rest as the server takes it */
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "%d", i);
		if (off < len) {
			k = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
			if (k > 0)
				off += (size_t)k;
		}
		r = cl_json(c);
		check_result(r, id);
		json_decref(r);
		lines++;
	}
	assert_int_equal(off, len);
	assert_int_equal(lines, N);
	free(buf);
	cl_expect_quiet(c);
	cl_close(c);
	cl_close(other);
}

/* ---------------------------------------------------------------------
 * Deferred answers, limits, timeouts, end of input
 * ------------------------------------------------------------------- */

static void
test_deferred_keeps_order(void **state)
{
	struct client *c;
	json_t *r;

	start();
	c = cl_open();
	cl_send(c, "{\"id\":1,\"method\":\"test.later\"}\n{\"id\":2,\"method\":\"ping\"}\n");
	pump();
	cl_expect_quiet(c); /* the ping waits behind the call */
	assert_int_equal(fx.nb_deferred, 1);
	assert_int_equal(stats().pending, 1);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_DEFERRED], 1);
	assert_int_equal(tg_mgmt_call_peer(fx.deferred[0])->uid, getuid());
	tg_mgmt_reply(fx.deferred[0], json_pack("{s:i}", "late", 1));
	fx.deferred[0] = NULL;
	r = cl_json(c);
	assert_int_equal(json_integer_value(json_object_get(check_result(r, "1"), "late")), 1);
	json_decref(r);
	r = cl_json(c);
	check_result(r, "2");
	json_decref(r);
	assert_int_equal(stats().pending, 0);

	/* the client leaves before the answer: the answer goes nowhere, safely */
	cl_send(c, "{\"id\":3,\"method\":\"test.later\"}\n");
	pump();
	assert_int_equal(fx.nb_deferred, 2);
	cl_close(c);
	pump();
	assert_int_equal(stats().clients, 0);
	tg_mgmt_fail(fx.deferred[1], TG_MGMT_E_UNAVAILABLE, "the dataplane did not answer");
	fx.deferred[1] = NULL;
	assert_int_equal(stats().cnt[TG_MGMT_CNT_ORPHANED], 1);
	assert_int_equal(stats().pending, 0);

	/* the client leaves and the server has not noticed yet: the answer finds out */
	c = cl_open();
	cl_send(c, "{\"id\":5,\"method\":\"test.later\"}\n");
	pump();
	assert_int_equal(fx.nb_deferred, 3);
	cl_close(c);
	tg_mgmt_reply(fx.deferred[2], json_pack("{}"));
	fx.deferred[2] = NULL;
	assert_int_equal(stats().clients, 0);
	pump();

	/* the server closes with a call outstanding: answering it later only frees it */
	c = cl_open();
	cl_send(c, "{\"id\":4,\"method\":\"test.later\"}\n");
	pump();
	tg_mgmt_close(fx.m);
	fx.m = NULL;
	tg_mgmt_reply(fx.deferred[3], json_pack("{}"));
	fx.deferred[3] = NULL;
	cl_expect_eof(c);
	cl_close(c);
}

/* The slowpath's audit hook publishes the record it writes: from inside an answer. */
static void
test_audit_hook_publishes(void **state)
{
	struct client *w, *c;
	json_t *r, *e;

	fx.audit_publishes = true;
	start();
	w = cl_open();
	c = cl_open();
	json_decref(call_ok(w, "{\"id\":1,\"method\":\"watch\"}\n", "1"));
	json_decref(call_ok(c, "{\"id\":2,\"method\":\"test.change\"}\n", "2"));
	r = cl_json(w);
	e = json_object_get(r, "event");
	assert_string_equal(json_string_value(json_object_get(e, "method")), "test.change");
	assert_string_equal(json_string_value(json_object_get(e, "outcome")), "ok");
	json_decref(r);
	/* the watcher itself: the event comes before the response that caused it */
	cl_send(w, "{\"id\":3,\"method\":\"test.change\",\"params\":{\"fail\":true}}\n");
	r = cl_json(w);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(r, "event"), "outcome")),
		"not_found");
	json_decref(r);
	r = cl_json(w);
	check_error(r, "3", "not_found");
	json_decref(r);
	/* a refusal is audited, so published too */
	fx.next_roles = TG_MGMT_ROLE_NONE;
	cl_close(c);
	c = cl_open();
	cl_send(c, "{\"id\":4,\"method\":\"test.change\"}\n");
	r = cl_json(c);
	check_error(r, "4", "forbidden");
	json_decref(r);
	json_decref(cl_json(w)); /* the refusal's event */
	cl_close(c);
	cl_close(w);
	pump();
	assert_int_equal(stats().clients, 0);
}

static void
test_max_clients(void **state)
{
	struct client *a, *b, *c;
	json_t *r;

	fx.cfg.max_clients = 2;
	start();
	a = cl_open();
	b = cl_open();
	c = cl_open();
	r = cl_json(c);
	assert_non_null(strstr(check_error(r, "null", "unavailable"), "too many connections"));
	json_decref(r);
	cl_expect_eof(c);
	ping_ok(a);
	ping_ok(b);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_REFUSED], 1);
	cl_close(a);
	pump();
	cl_close(c);
	c = cl_open(); /* a slot is free again */
	ping_ok(c);
	cl_close(b);
	cl_close(c);
}

/* A client that stops mid-line is told and closed by tg_mgmt_tick(); the others are not. */
static void
test_partial_line_timeout(void **state)
{
	struct client *c, *other;
	json_t *r;

	fx.cfg.idle_ms = 10000;
	start();
	c = cl_open();
	other = cl_open();
	cl_send(c, "{\"id\":1,\"meth");
	pump();
	fx.clock += 9999;
	tg_mgmt_tick(fx.m);
	cl_expect_quiet(c);
	/* a complete line is progress: the clock starts again for the next one */
	cl_send(c, "od\":\"ping\"}\n{\"id\":2,");
	json_decref(cl_json(c));
	fx.clock += 5000;
	cl_send(other, "{\"id\":1,");
	pump();
	fx.clock += 4999;
	tg_mgmt_tick(fx.m);
	cl_expect_quiet(c);
	fx.clock += 1;
	tg_mgmt_tick(fx.m);
	r = cl_json(c);
	assert_non_null(strstr(check_error(r, "null", "bad_request"), "incomplete request"));
	json_decref(r);
	cl_expect_eof(c);
	assert_int_equal(stats().cnt[TG_MGMT_CNT_TIMEOUTS], 1);
	/* the other's partial line started later: it has time left */
	cl_send(other, "\"method\":\"ping\"}\n");
	json_decref(cl_json(other));
	cl_close(c);
	cl_close(other);
}

/* Shutting down the sending side ends the last line; answered, then the end. */
static void
test_eof_ends_last_line(void **state)
{
	struct client *c;
	json_t *r;

	start();
	c = cl_open();
	cl_send(c, "{\"id\":1,\"method\":\"ping\"}\n{\"id\":2,\"method\":\"ping\"}");
	assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
	r = cl_json(c);
	check_result(r, "1");
	json_decref(r);
	r = cl_json(c);
	check_result(r, "2");
	json_decref(r);
	cl_expect_eof(c);
	cl_close(c);
	pump();
	assert_int_equal(stats().clients, 0);
}

/* ---------------------------------------------------------------------
 * Registration, open, stats
 * ------------------------------------------------------------------- */

static void
test_register(void **state)
{
	struct tg_mgmt_method e = { .name = "x", .fn = m_echo };
	char name[16];
	int rc = 0;

	start();
	e.name = "Upper";
	assert_int_equal(tg_mgmt_register(fx.m, &e), -EINVAL);
	e.name = "";
	assert_int_equal(tg_mgmt_register(fx.m, &e), -EINVAL);
	e.name = "a b";
	assert_int_equal(tg_mgmt_register(fx.m, &e), -EINVAL);
	e.name = "ok.name";
	e.roles = 1u << 8;
	assert_int_equal(tg_mgmt_register(fx.m, &e), -EINVAL);
	e.roles = TG_MGMT_ROLE_AUDITOR;
	e.fn = NULL;
	assert_int_equal(tg_mgmt_register(fx.m, &e), -EINVAL);
	e.fn = m_echo;
	e.name = "ping";
	assert_int_equal(tg_mgmt_register(fx.m, &e), -EEXIST);
	for (int i = 0; rc == 0; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		e.name = name;
		rc = tg_mgmt_register(fx.m, &e);
		assert_true(i < TG_MGMT_METHODS_MAX);
	}
	assert_int_equal(rc, -ENOSPC);
}

static void
test_open_errors(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char err[256], longpath[200];
	struct stat st, st2;
	struct tg_mgmt *m2;
	int fd;

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	fx.cfg.path = longpath;
	assert_null(tg_mgmt_open(&fx.cfg, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	fx.cfg.path = fx.path;

	/* a file that is not a socket is never removed */
	fd = open(fx.path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_null(tg_mgmt_open(&fx.cfg, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(stat(fx.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(fx.path);

	/* a stale socket (nobody listens) is replaced */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(lstat(fx.path, &st), 0);
	fx.cfg.mode = 0600;
	start();
	assert_int_equal(lstat(fx.path, &st2), 0);
	assert_int_equal(st2.st_mode & 0777, 0600);
	assert_true(fx.logs > 0); /* "remove stale management socket" */

	/* a live one is refused, and left alone */
	m2 = tg_mgmt_open(&fx.cfg, err, sizeof(err));
	assert_null(m2);
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(err, "in use"));
	tg_mgmt_close(fx.m);
	fx.m = NULL;
	/* closing removes it */
	assert_int_equal(lstat(fx.path, &st), -1);

	fx.cfg.group = "tg-no-such-group-x";
	assert_null(tg_mgmt_open(&fx.cfg, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
}

static void
test_stats_json(void **state)
{
	struct client *c;
	json_t *j;

	start();
	c = cl_open();
	ping_ok(c);
	cl_send(c, "nope\n");
	json_decref(cl_json(c));
	j = tg_mgmt_stats_json(fx.m);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "clients")), 1);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "counters"), "requests")), 2);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "errors"), "bad_request")),
		1);
	assert_int_equal(json_object_size(json_object_get(j, "errors")), TG_MGMT_E_MAX - 1);
	json_decref(j);
	j = tg_mgmt_roles_json(TG_MGMT_ROLE_ADMIN | TG_MGMT_ROLE_AUDITOR);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_array_get(j, 0)), "admin");
	assert_string_equal(json_string_value(json_array_get(j, 1)), "auditor");
	json_decref(j);
	cl_close(c);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ping),
		T(test_framing_partial_writes),
		T(test_pipelined_in_order),
		T(test_oversize),
		T(test_malformed),
		T(test_decode),
		T(test_roles_refusal_audited),
		T(test_role_mapping),
		T(test_peercred_self),
		T(test_peercred_other_user),
		T(test_watch_in_order),
		T(test_slow_subscriber_dropped),
		T(test_backpressure_not_reading),
		T(test_deferred_keeps_order),
		T(test_audit_hook_publishes),
		T(test_max_clients),
		T(test_partial_line_timeout),
		T(test_eof_ends_last_line),
		T(test_register),
		T(test_open_errors),
		T(test_stats_json),
	};
#undef T

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
