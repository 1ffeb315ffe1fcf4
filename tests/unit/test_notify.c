/* SPDX-License-Identifier: MIT */
/*
 * test_notify.c — unit tests of the approval notifications
 * (slowpath/notify.c, notify_config.c) against real receivers: an HTTP
 * server on a thread of this test (127.0.0.1, an ephemeral port) that
 * answers each request with the next status of a script and keeps what
 * it was sent, and command hooks that are shell scripts written to a
 * temporary directory. Backoffs are a few ms, so the suite takes about a
 * second.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "notify.h"
#include "notify_config.h"

#define BODY "{\"request\":{\"id\":\"r-17\",\"user\":\"ana@example.com\",\"sql\":\"DROP TABLE t\"}}"
#define SECRET "s3cret-for-tests"
#define TOKEN "Bearer tok-123"

static char dir[64];

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* The file's text ("" when it does not exist), up to cap - 1 bytes. */
static const char *
read_file(const char *name, char *buf, size_t cap)
{
	char path[128];
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f != NULL) {
		n = fread(buf, 1, cap - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
setup(void **state)
{
	DIR *dp;
	struct dirent *e;
	char path[512];

	(void)state;
	if (dir[0] != '\0' && (dp = opendir(dir)) != NULL) {
		while ((e = readdir(dp)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(dp);
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/tg-notify.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	setup(state);
	rmdir(dir);
	return 0;
}

/* ---------------------------------------------------------------------
 * Hooks: what the notifier logs and gives up
 * ------------------------------------------------------------------- */

static char logged[8192];
static unsigned int giveups[3];
static char giveup_error[256];
static unsigned int giveup_attempts;

static void
log_hook(void *arg, int prio, const char *msg)
{
	size_t n = strlen(logged);

	(void)arg;
	(void)prio;
	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

static void
giveup_hook(void *arg, const struct tg_notify_giveup *g)
{
	(void)arg;
	assert_true((unsigned int)g->reason < 3);
	giveups[g->reason]++;
	giveup_attempts = g->attempts;
	snprintf(giveup_error, sizeof(giveup_error), "%s", g->error);
	assert_non_null(g->id);
	assert_true(strncmp(g->kind, "approval.", 9) == 0);
}

static const struct tg_notify_hooks hooks = { .log = log_hook, .on_giveup = giveup_hook };

static void
reset_hooks(void)
{
	logged[0] = '\0';
	memset(giveups, 0, sizeof(giveups));
	giveup_error[0] = '\0';
	giveup_attempts = 0;
}

/* ---------------------------------------------------------------------
 * The HTTP receiver
 * ------------------------------------------------------------------- */

#define SRV_REQS 8

struct request {
	char path[128];
	char body[1024];
	char ctype[64], event[64], delivery[64], attempt[8], ts[32], sig[128], auth[64];
};

struct srv {
	int lfd;
	uint16_t port;
	pthread_t th;
	int status[SRV_REQS]; /* for request i; past nstatus, the last */
	unsigned int nstatus;
	unsigned int nreq;
	struct request req[SRV_REQS];
	atomic_bool stop;
};

/* Copies header name's value (case-insensitive name) from head into dst. */
static void
header(const char *head, const char *name, char *dst, size_t cap)
{
	const char *p = head;
	size_t nl = strlen(name);

	dst[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *end;

			while (*v == ' ')
				v++;
			end = strstr(v, "\r\n");
			snprintf(dst, cap, "%.*s", (int)(end - v), v);
			return;
		}
	}
}

static void
serve_one(struct srv *s, int fd)
{
	char buf[8192], reply[128];
	size_t len = 0;
	char *end = NULL, clen[16];
	struct request *r = &s->req[s->nreq < SRV_REQS ? s->nreq : SRV_REQS - 1];
	size_t want;
	ssize_t k;
	int status = s->status[s->nreq < s->nstatus ? s->nreq : s->nstatus - 1];

	while (len < sizeof(buf) - 1 && end == NULL) {
		k = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			return;
		len += (size_t)k;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	if (end == NULL)
		return;
	header(buf, "Content-Length", clen, sizeof(clen));
	want = (size_t)(end + 4 - buf) + strtoul(clen, NULL, 10);
	while (len < want && len < sizeof(buf) - 1) {
		k = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (k <= 0)
			return;
		len += (size_t)k;
	}
	buf[len] = '\0';
	memset(r, 0, sizeof(*r));
	sscanf(buf, "POST %127s ", r->path);
	snprintf(r->body, sizeof(r->body), "%s", end + 4);
	header(buf, "Content-Type", r->ctype, sizeof(r->ctype));
	header(buf, "X-Tollgate-Event", r->event, sizeof(r->event));
	header(buf, "X-Tollgate-Delivery", r->delivery, sizeof(r->delivery));
	header(buf, "X-Tollgate-Attempt", r->attempt, sizeof(r->attempt));
	header(buf, "X-Tollgate-Timestamp", r->ts, sizeof(r->ts));
	header(buf, "X-Tollgate-Signature", r->sig, sizeof(r->sig));
	header(buf, "Authorization", r->auth, sizeof(r->auth));
	s->nreq++;
	snprintf(reply, sizeof(reply),
		 "HTTP/1.1 %d Test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
	if (write(fd, reply, strlen(reply)) < 0) {
		/* the client went away: its attempt fails, as it should */
	}
}

static void *
serve(void *arg)
{
	struct srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve_one(s, fd);
		close(fd);
	}
	return NULL;
}

static void
srv_start(struct srv *s, const int *status, unsigned int nstatus)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	memcpy(s->status, status, nstatus * sizeof(*status));
	s->nstatus = nstatus;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

/* Stops the thread: what it kept is then safe to read. */
static void
srv_stop(struct srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

/* Parses text as the "notify" section; asserts it is accepted. */
static void
parse_ok(struct tg_notify_config *c, const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	char err[512] = "";
	char base[128];

	assert_non_null(v);
	snprintf(base, sizeof(base), "%s/slowpath.json", dir);
	if (tg_notify_config_parse(c, v, base, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	json_decref(v);
}

static struct tg_notify *
new_ok(const char *text)
{
	static struct tg_notify_config c;
	struct tg_notify *n;
	char err[512] = "";

	parse_ok(&c, text);
	n = tg_notify_new(&c, &hooks, err, sizeof(err));
	if (n == NULL)
		fail_msg("tg_notify_new: %s", err);
	return n;
}

/* Turns the caller's loop until the notifier is idle; fails after limit_ms. */
static void
run_idle(struct tg_notify *n, unsigned int limit_ms)
{
	uint64_t end = now_ms() + limit_ms;

	while (!tg_notify_idle(n)) {
		struct pollfd p = { .fd = tg_notify_fd(n), .events = POLLIN };

		if (now_ms() > end)
			fail_msg("not idle after %u ms", limit_ms);
		if (poll(&p, 1, 50) > 0)
			tg_notify_on_ready(n);
		tg_notify_tick(n, now_ms());
	}
}

static struct tg_notify_sink_stats
stats(struct tg_notify *n, unsigned int i)
{
	struct tg_notify_sink_stats st;

	assert_int_equal(tg_notify_stats(n, i, &st), 0);
	return st;
}

/* The signature a receiver computes: sha256=hex(HMAC(secret, id.ts.body)). */
static void
expect_signature(const struct request *r)
{
	unsigned char mac[32];
	unsigned int len = 0;
	char msg[2048], want[80] = "sha256=";

	snprintf(msg, sizeof(msg), "%s.%s.%s", r->delivery, r->ts, r->body);
	assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)msg,
			     strlen(msg), mac, &len));
	assert_int_equal(len, 32);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
	assert_string_equal(r->sig, want);
}

/* ---------------------------------------------------------------------
 * Config
 * ------------------------------------------------------------------- */

static void
test_config_full(void **state)
{
	static struct tg_notify_config c;
	const struct tg_notify_sink_config *w, *k;
	char want[256];

	(void)state;
	parse_ok(&c, "{\"webhooks\": [{\"name\": \"chat\", \"url\": \"https://chat.example/hook\","
		     " \"headers\": {\"Authorization\": \"Bearer x\"}, \"timeout_ms\": 2500,"
		     " \"ca_file\": \"ca.pem\", \"secret_file\": \"/etc/hook.secret\"},"
		     " {\"url\": \"http://127.0.0.1:8080/relay\"}],"
		     " \"commands\": [{\"argv\": [\"/usr/local/bin/page-oncall\", \"--json\"],"
		     " \"env\": {\"ROUTE\": \"db\"}, \"timeout_ms\": 100, \"parallel\": 1}],"
		     " \"retry\": {\"max_attempts\": 3, \"initial_ms\": 10, \"max_ms\": 20},"
		     " \"queue_max\": 7}");
	assert_int_equal(c.nb_sinks, 3);
	w = &c.sinks[0];
	assert_string_equal(w->name, "chat");
	assert_int_equal(w->type, TG_NOTIFY_WEBHOOK);
	assert_int_equal(w->timeout_ms, 2500);
	assert_int_equal(w->parallel, TG_NOTIFY_PARALLEL_DEFAULT);
	assert_int_equal(w->nb_headers, 1);
	assert_string_equal(w->headers[0], "Authorization: Bearer x");
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	assert_string_equal(w->ca_file, want); /* relative to the config file */
	assert_string_equal(w->secret_file, "/etc/hook.secret");
	assert_string_equal(c.sinks[1].name, "webhook1");
	assert_int_equal(c.sinks[1].timeout_ms, TG_NOTIFY_TIMEOUT_DEFAULT);
	k = &c.sinks[2];
	assert_string_equal(k->name, "command0");
	assert_int_equal(k->type, TG_NOTIFY_COMMAND);
	assert_int_equal(k->argc, 2);
	assert_int_equal(k->envc, 1);
	assert_string_equal(tg_notify_config_string(k, 0), "/usr/local/bin/page-oncall");
	assert_string_equal(tg_notify_config_string(k, 1), "--json");
	assert_string_equal(tg_notify_config_string(k, 2), "ROUTE=db");
	assert_null(tg_notify_config_string(k, 3));
	assert_int_equal(c.max_attempts, 3);
	assert_int_equal(c.initial_ms, 10);
	assert_int_equal(c.max_ms, 20);
	assert_int_equal(c.queue_max, 7);

	parse_ok(&c, "{}");
	assert_int_equal(c.nb_sinks, 0);
	assert_int_equal(c.max_attempts, TG_NOTIFY_ATTEMPTS_DEFAULT);
	assert_int_equal(c.initial_ms, TG_NOTIFY_BACKOFF_INITIAL_DEFAULT);
	assert_int_equal(c.max_ms, TG_NOTIFY_BACKOFF_MAX_DEFAULT);
	assert_int_equal(c.queue_max, TG_NOTIFY_QUEUE_DEFAULT);
	/* no "notify" section at all: the same defaults */
	c.nb_sinks = 1;
	assert_int_equal(tg_notify_config_parse(&c, NULL, "x.json", NULL, 0), 0);
	assert_int_equal(c.nb_sinks, 0);
	assert_int_equal(c.queue_max, TG_NOTIFY_QUEUE_DEFAULT);
	/* a large initial_ms alone raises the default cap with it */
	parse_ok(&c, "{\"retry\": {\"initial_ms\": 120000}}");
	assert_int_equal(c.max_ms, 120000);
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *json;
		const char *want; /* in the error */
	} cases[] = {
		{ "[]", "approvals.notify: must be an object" },
		{ "{\"hooks\": []}", "approvals.notify.hooks: unknown key" },
		{ "{\"webhooks\": {}}", "approvals.notify.webhooks: must be an array" },
		{ "{\"webhooks\": [7]}",
		  "approvals.notify.webhooks[0]: a webhook must be an object" },
		{ "{\"webhooks\": [{}]}", "approvals.notify.webhooks[0].url: is required" },
		{ "{\"webhooks\": [{\"url\": \"ftp://x/\"}]}",
		  "approvals.notify.webhooks[0].url: must be an https URL" },
		{ "{\"webhooks\": [{\"url\": \"http://chat.example/hook\"}]}",
		  "approvals.notify.webhooks[0].url: must be an https URL (http only to a "
		  "loopback" },
		{ "{\"webhooks\": [{\"url\": \"http://127.0.0.1@evil.example/\"}]}",
		  "webhooks[0].url: must be an https URL" },
		{ "{\"webhooks\": [{\"url\": \"https://a/\"}, {\"url\": \"https://b/\", "
		  "\"colour\": 1}]}",
		  "approvals.notify.webhooks[1].colour: unknown key" },
		{ "{\"webhooks\": [{\"url\": \"https://a/\", \"headers\": {\"X-A\": \"v\\r\\nX-B: "
		  "w\"}}]}",
		  "approvals.notify.webhooks[0].headers.X-A: must be a string without control" },
		{ "{\"webhooks\": [{\"url\": \"https://a/\", \"headers\": {\"content-type\": "
		  "\"t\"}}]}",
		  "webhooks[0].headers.content-type: is set by tollgate" },
		{ "{\"webhooks\": [{\"url\": \"https://a/\", \"headers\": {\"X-Tollgate-Event\": "
		  "\"t\"}}]}",
		  "webhooks[0].headers.X-Tollgate-Event: X-Tollgate-* headers" },
		{ "{\"webhooks\": [{\"url\": \"https://a/\", \"headers\": {\"Bad Name\": \"t\"}}]}",
		  "webhooks[0].headers.Bad Name: is not a header name" },
		{ "{\"webhooks\": [{\"url\": \"https://a/\", \"timeout_ms\": 50}]}",
		  "approvals.notify.webhooks[0].timeout_ms: must be an integer in 100..600000" },
		{ "{\"webhooks\": [{\"url\": \"https://a/\", \"secret_file\": \"\"}]}",
		  "webhooks[0].secret_file: must be a non-empty string" },
		{ "{\"webhooks\": [{\"name\": \"a\", \"url\": \"https://a/\"}],"
		  " \"commands\": [{\"name\": \"a\", \"argv\": [\"/bin/true\"]}]}",
		  "approvals.notify.commands[0].name: the name \"a\" is taken" },
		{ "{\"webhooks\": [{\"name\": \"a b\", \"url\": \"https://a/\"}]}",
		  "webhooks[0].name: must be 1..32 characters" },
		{ "{\"commands\": [{\"argv\": []}]}",
		  "approvals.notify.commands[0].argv: is required: an array of 1..32 strings" },
		{ "{\"commands\": [{\"argv\": [\"page-oncall\"]}]}",
		  "approvals.notify.commands[0].argv[0]: must be an absolute path" },
		{ "{\"commands\": [{\"argv\": [\"/bin/x\", 3]}]}",
		  "approvals.notify.commands[0].argv[1]: must be a string" },
		{ "{\"commands\": [{\"argv\": [\"/bin/x\"], \"env\": {\"TOLLGATE_EVENT\": "
		  "\"x\"}}]}",
		  "commands[0].env.TOLLGATE_EVENT: TOLLGATE_* variables are set by tollgate" },
		{ "{\"commands\": [{\"argv\": [\"/bin/x\"], \"env\": {\"1X\": \"x\"}}]}",
		  "commands[0].env.1X: is not an environment variable name" },
		{ "{\"commands\": [{\"argv\": [\"/bin/x\"], \"parallel\": 0}]}",
		  "commands[0].parallel: must be an integer in 1..64" },
		{ "{\"retry\": {\"max_attempts\": 0}}",
		  "approvals.notify.retry.max_attempts: must be an integer in 1..100" },
		{ "{\"retry\": {\"initial_ms\": 100, \"max_ms\": 10}}",
		  "approvals.notify.retry.max_ms: must be an integer in 100..86400000" },
		{ "{\"retry\": {\"jitter\": true}}", "approvals.notify.retry.jitter: unknown key" },
		{ "{\"queue_max\": 0}",
		  "approvals.notify.queue_max: must be an integer in 1..65536" },
		{ "{\"commands\": [{\"argv\": [\"/a\"]}, {\"argv\": [\"/a\"]}, {\"argv\": "
		  "[\"/a\"]},"
		  " {\"argv\": [\"/a\"]}, {\"argv\": [\"/a\"]}, {\"argv\": [\"/a\"]}, {\"argv\": "
		  "[\"/a\"]},"
		  " {\"argv\": [\"/a\"]}, {\"argv\": [\"/a\"]}]}",
		  "approvals.notify.commands[8]: more than 8 webhooks and commands" },
	};
	static struct tg_notify_config c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v =
			json_loads(cases[i].json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
		char err[512] = "";

		if (v == NULL)
			fail_msg("case %zu is not JSON", i);
		assert_int_equal(tg_notify_config_parse(&c, v, "/etc/tollgate/slowpath.json", err,
							sizeof(err)),
				 -EINVAL);
		json_decref(v);
		if (strstr(err, cases[i].want) == NULL ||
		    strncmp(err, "/etc/tollgate/slowpath.json: ", 29) != 0)
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].want);
		assert_int_equal(c.nb_sinks, 0); /* nothing half-parsed is left */
	}
}

/* What only tg_notify_new() can see: the files. */
static void
test_new_errors(void **state)
{
	static struct tg_notify_config c;
	char text[512], err[512] = "";

	(void)state;
	parse_ok(&c, "{\"commands\": [{\"argv\": [\"/nonexistent/page-oncall\"]}]}");
	assert_null(tg_notify_new(&c, &hooks, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err,
			       "approvals.notify.commands[0].argv[0]: /nonexistent/page-oncall: "
			       "No such file"));

	write_file("notexec", "#!/bin/sh\n", 0644);
	snprintf(text, sizeof(text), "{\"commands\": [{\"argv\": [\"%s/notexec\"]}]}", dir);
	parse_ok(&c, text);
	assert_null(tg_notify_new(&c, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "notexec: Permission denied"));

	parse_ok(&c,
		 "{\"webhooks\": [{\"url\": \"https://a.example/\", \"secret_file\": \"nope\"}]}");
	assert_null(tg_notify_new(&c, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "approvals.notify.webhooks[0].secret_file: "));
	assert_non_null(strstr(err, "/nope: No such file"));

	write_file("open.secret", SECRET, 0644);
	parse_ok(&c, "{\"webhooks\": [{\"url\": \"https://a.example/\","
		     " \"secret_file\": \"open.secret\"}]}");
	assert_null(tg_notify_new(&c, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "open.secret: must be a regular file of mode 0600 or 0400 "
				    "(mode 0644)"));
	assert_null(strstr(err, SECRET));

	write_file("empty.secret", "\n", 0600);
	parse_ok(&c, "{\"webhooks\": [{\"url\": \"https://a.example/\","
		     " \"secret_file\": \"empty.secret\"}]}");
	assert_null(tg_notify_new(&c, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "empty.secret: must hold 1..4096 bytes"));
}

/* ---------------------------------------------------------------------
 * Webhooks
 * ------------------------------------------------------------------- */

/* 500, then 200: one retry, the same delivery id, a valid signature on each. */
static void
test_webhook_retry(void **state)
{
	static const int status[] = { 500, 200 };
	struct tg_notify_sink_stats st;
	struct tg_notify *n;
	struct srv s;
	char text[1024], id[TG_NOTIFY_ID_MAX];

	(void)state;
	reset_hooks();
	write_file("hook.secret", SECRET "\n", 0600);
	srv_start(&s, status, 2);
	snprintf(text, sizeof(text),
		 "{\"webhooks\": [{\"name\": \"chat\", \"url\": "
		 "\"http://127.0.0.1:%u/hook/T0/B0/path-secret\","
		 " \"headers\": {\"Authorization\": \"" TOKEN
		 "\"}, \"secret_file\": \"hook.secret\","
		 " \"timeout_ms\": 2000}],"
		 " \"retry\": {\"max_attempts\": 4, \"initial_ms\": 5, \"max_ms\": 10}}",
		 s.port);
	n = new_ok(text);
	assert_int_equal(tg_notify_sinks(n), 1);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, id), 1);
	run_idle(n, 5000);
	srv_stop(&s);

	assert_int_equal(s.nreq, 2);
	for (unsigned int i = 0; i < 2; i++) {
		const struct request *r = &s.req[i];

		assert_string_equal(r->path, "/hook/T0/B0/path-secret");
		assert_string_equal(r->body, BODY);
		assert_string_equal(r->ctype, "application/json");
		assert_string_equal(r->event, "approval.requested");
		assert_string_equal(r->delivery, id); /* receivers dedupe on it */
		assert_int_equal(atoi(r->attempt), (int)i + 1);
		assert_string_equal(r->auth, TOKEN);
		assert_true(labs(atol(r->ts) - (long)time(NULL)) < 60);
		expect_signature(r);
	}
	st = stats(n, 0);
	assert_string_equal(st.name, "chat");
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_SUBMITTED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_DELIVERED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_ATTEMPTS], 2);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_FAILED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_RETRIES], 1);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.queued + st.in_flight, 0);
	/* the error names the receiver, not its URL path (often the secret) */
	assert_non_null(strstr(st.last_error, "HTTP status 500"));
	assert_non_null(strstr(st.last_error, "POST http://127.0.0.1:"));
	assert_null(strstr(st.last_error, "path-secret"));
	assert_non_null(strstr(logged, "attempt 1 of 4 failed"));
	assert_non_null(strstr(logged, "delivered at attempt 2"));
	assert_null(strstr(logged, SECRET));
	assert_null(strstr(logged, "tok-123"));
	assert_null(strstr(logged, "path-secret"));
	assert_int_equal(giveups[0] + giveups[1] + giveups[2], 0);
	tg_notify_free(n);
	assert_int_equal(giveups[TG_NOTIFY_DROP_SHUTDOWN], 0); /* nothing was left */
}

/* Always 503: given up after max_attempts, counted, logged, handed to on_giveup. */
static void
test_webhook_exhausted(void **state)
{
	static const int status[] = { 503 };
	struct tg_notify_sink_stats st;
	struct tg_notify *n;
	struct srv s;
	char text[512];
	json_t *j, *o;

	(void)state;
	reset_hooks();
	srv_start(&s, status, 1);
	snprintf(text, sizeof(text),
		 "{\"webhooks\": [{\"url\": \"http://127.0.0.1:%u/\"}],"
		 " \"retry\": {\"max_attempts\": 3, \"initial_ms\": 1, \"max_ms\": 4}}",
		 s.port);
	n = new_ok(text);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 1);
	run_idle(n, 5000);
	srv_stop(&s);
	assert_int_equal(s.nreq, 3);
	assert_null(s.req[0].sig[0] != '\0' ? s.req[0].sig : NULL); /* no secret: unsigned */
	st = stats(n, 0);
	assert_string_equal(st.name, "webhook0");
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_DELIVERED], 0);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_FAILED], 3);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_RETRIES], 2);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_DROPPED_EXHAUSTED], 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(giveups[TG_NOTIFY_DROP_EXHAUSTED], 1);
	assert_int_equal(giveup_attempts, 3);
	assert_non_null(strstr(giveup_error, "HTTP status 503"));
	assert_non_null(strstr(logged, "give up delivery"));
	assert_non_null(strstr(logged, "attempts exhausted"));

	j = tg_notify_stats_json(n);
	assert_non_null(j);
	o = json_array_get(json_object_get(j, "sinks"), 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "webhook0");
	assert_string_equal(json_string_value(json_object_get(o, "type")), "webhook");
	assert_int_equal(json_integer_value(json_object_get(o, "failed")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "dropped_exhausted")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "dropped")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "in_flight")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(o, "last_error")), "503"));
	json_decref(j);
	tg_notify_free(n);
}

/* Nobody listens: a transport error is a failed attempt like any other. */
static void
test_webhook_refused(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct tg_notify_sink_stats st;
	struct tg_notify *n;
	char text[512];
	int fd;

	(void)state;
	reset_hooks();
	/* a port that was free a moment ago, now closed */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	snprintf(text, sizeof(text),
		 "{\"webhooks\": [{\"url\": \"http://127.0.0.1:%u/\"}], \"retry\": "
		 "{\"max_attempts\": 1}}",
		 ntohs(a.sin_port));
	n = new_ok(text);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 1);
	run_idle(n, 5000);
	st = stats(n, 0);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_FAILED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_RETRIES], 0);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_DROPPED_EXHAUSTED], 1);
	assert_non_null(strstr(st.last_error, "Couldn't connect"));
	assert_int_equal(giveups[TG_NOTIFY_DROP_EXHAUSTED], 1);
	tg_notify_free(n);
}

/* ---------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------- */

/* Fails once (exit 3, a line on stderr), then takes the body on stdin. */
static void
test_command_retry(void **state)
{
	struct tg_notify_sink_stats st;
	struct tg_notify *n;
	char text[1024], buf[2048];

	(void)state;
	reset_hooks();
	write_file("hook.sh",
		   "#!/bin/sh\n"
		   "d=$(dirname \"$0\")\n"
		   "if [ ! -e \"$d/failed-once\" ]; then\n"
		   "  : > \"$d/failed-once\"; echo 'first try fails' >&2; exit 3\n"
		   "fi\n"
		   "cat > \"$d/body\"\n"
		   "printf '%s|%s|%s|%s|%s|%s' \"$TOLLGATE_EVENT\" \"$TOLLGATE_ATTEMPT\" "
		   "\"$ROUTE\" \"$1\" "
		   "\"${TG_TEST_LEAK:-unset}\" \"$TOLLGATE_DELIVERY\" > \"$d/env\"\n",
		   0755);
	setenv("TG_TEST_LEAK", "the slowpath's own environment", 1);
	snprintf(text, sizeof(text),
		 "{\"commands\": [{\"name\": \"pager\", \"argv\": [\"%s/hook.sh\", \"--json\"],"
		 " \"env\": {\"ROUTE\": \"db\"}, \"timeout_ms\": 5000}],"
		 " \"retry\": {\"max_attempts\": 3, \"initial_ms\": 5, \"max_ms\": 10}}",
		 dir);
	n = new_ok(text);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 1);
	run_idle(n, 5000);
	unsetenv("TG_TEST_LEAK");

	assert_string_equal(read_file("body", buf, sizeof(buf)), BODY);
	read_file("env", buf, sizeof(buf));
	assert_true(strncmp(buf, "approval.requested|2|db|--json|unset|", 37) == 0);
	assert_true(strlen(buf) > 37); /* the delivery id */
	st = stats(n, 0);
	assert_string_equal(st.name, "pager");
	assert_int_equal(st.type, TG_NOTIFY_COMMAND);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_DELIVERED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_FAILED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_RETRIES], 1);
	assert_int_equal(st.dropped, 0);
	assert_non_null(strstr(st.last_error, "hook.sh: exit status 3: first try fails"));
	tg_notify_free(n);
}

/* Hangs: killed at its timeout with what it started; the attempt fails. */
static void
test_command_timeout(void **state)
{
	struct tg_notify_sink_stats st;
	struct tg_notify *n;
	char text[512], buf[64], proc[64];
	uint64_t t0;
	pid_t child;
	bool gone = false;

	(void)state;
	reset_hooks();
	write_file("hang.sh",
		   "#!/bin/sh\n"
		   "sleep 30 &\n"
		   "echo $! > \"$(dirname \"$0\")/child\"\n"
		   "echo waiting\n"
		   "wait\n",
		   0755);
	snprintf(text, sizeof(text),
		 "{\"commands\": [{\"argv\": [\"%s/hang.sh\"], \"timeout_ms\": 1000}],"
		 " \"retry\": {\"max_attempts\": 1}}",
		 dir);
	n = new_ok(text);
	t0 = now_ms();
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 1);
	run_idle(n, 5000);
	assert_true(now_ms() - t0 < 3000);
	st = stats(n, 0);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_TIMEOUTS], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_FAILED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_DROPPED_EXHAUSTED], 1);
	if (strstr(st.last_error, "hang.sh: killed after the timeout of 1000 ms: waiting") == NULL)
		fail_msg("last error: %s", st.last_error);
	assert_int_equal(giveups[TG_NOTIFY_DROP_EXHAUSTED], 1);

	/* the sleep was in the hook's process group: it died too (gone, or a zombie) */
	child = (pid_t)atoi(read_file("child", buf, sizeof(buf)));
	assert_true(child > 0);
	snprintf(proc, sizeof(proc), "/proc/%d/stat", (int)child);
	for (int i = 0; i < 100 && !gone; i++) {
		char stat[256];
		FILE *f = fopen(proc, "r");
		const char *p;

		if (f == NULL) {
			gone = true;
			break;
		}
		stat[fread(stat, 1, sizeof(stat) - 1, f)] = '\0';
		fclose(f);
		p = strrchr(stat, ')');
		gone = p != NULL && p[1] == ' ' && p[2] == 'Z';
		if (!gone)
			usleep(10000);
	}
	assert_true(gone);
	tg_notify_free(n);
}

/* A hook killed by a signal of its own, and one that never reads its stdin. */
static void
test_command_signal(void **state)
{
	struct tg_notify_sink_stats st;
	struct tg_notify *n;
	char text[512], big[200000];

	(void)state;
	reset_hooks();
	write_file("abort.sh", "#!/bin/sh\nkill -TERM $$\n", 0755);
	snprintf(
		text, sizeof(text),
		"{\"commands\": [{\"argv\": [\"%s/abort.sh\"]}], \"retry\": {\"max_attempts\": 1}}",
		dir);
	n = new_ok(text);
	/* more than a socket buffer: the hook exits without reading; no SIGPIPE here */
	memset(big, ' ', sizeof(big) - 3);
	big[0] = '{';
	big[sizeof(big) - 3] = '}';
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tg_notify_submit(n, "approval.requested", big, NULL), 1);
	run_idle(n, 5000);
	st = stats(n, 0);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_FAILED], 1);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_TIMEOUTS], 0);
	assert_non_null(strstr(st.last_error, "abort.sh: killed by signal 15"));
	tg_notify_free(n);
}

/* ---------------------------------------------------------------------
 * Queue and submit
 * ------------------------------------------------------------------- */

/* queue_max 2, one at a time, a hook that hangs: the third is dropped; free drops the rest. */
static void
test_queue_full(void **state)
{
	struct tg_notify_sink_stats st;
	struct tg_notify *n;
	char text[512];
	uint64_t t0;

	(void)state;
	reset_hooks();
	write_file("slow.sh", "#!/bin/sh\nexec sleep 30\n", 0755);
	snprintf(text, sizeof(text),
		 "{\"commands\": [{\"argv\": [\"%s/slow.sh\"], \"parallel\": 1, \"timeout_ms\": "
		 "60000}],"
		 " \"queue_max\": 2}",
		 dir);
	n = new_ok(text);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 1);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 1);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 0);
	st = stats(n, 0);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_SUBMITTED], 2);
	assert_int_equal(st.cnt[TG_NOTIFY_CNT_DROPPED_FULL], 1);
	assert_int_equal(st.in_flight, 1);
	assert_int_equal(st.queued, 1);
	assert_int_equal(giveups[TG_NOTIFY_DROP_FULL], 1);
	assert_int_equal(giveup_attempts, 0);
	assert_non_null(strstr(logged, "queue full"));
	assert_false(tg_notify_idle(n));
	/* stopping gives up both, the one in flight killed at once */
	t0 = now_ms();
	tg_notify_free(n);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(giveups[TG_NOTIFY_DROP_SHUTDOWN], 2);
	assert_non_null(strstr(logged, "shutdown"));
}

/* Several sinks share a submit; a bad kind or body is refused before any. */
static void
test_submit(void **state)
{
	static const int status[] = { 204 };
	struct tg_notify *n;
	struct srv s;
	char text[1024], *huge;

	(void)state;
	reset_hooks();
	write_file("cat.sh", "#!/bin/sh\ncat > \"$(dirname \"$0\")/got-$TOLLGATE_EVENT\"\n", 0755);
	srv_start(&s, status, 1);
	snprintf(text, sizeof(text),
		 "{\"webhooks\": [{\"url\": \"http://localhost:%u/a\"}, {\"url\": "
		 "\"http://[::1]:1/\"}],"
		 " \"commands\": [{\"argv\": [\"%s/cat.sh\"]}], \"retry\": {\"max_attempts\": 1}}",
		 s.port, dir);
	n = new_ok(text);
	assert_int_equal(tg_notify_sinks(n), 3);
	assert_int_equal(tg_notify_submit(n, "Approval Requested", BODY, NULL), -EINVAL);
	assert_int_equal(tg_notify_submit(n, "", BODY, NULL), -EINVAL);
	assert_int_equal(tg_notify_submit(n, "approval.decided", NULL, NULL), -EINVAL);
	huge = malloc(TG_NOTIFY_BODY_MAX + 2);
	assert_non_null(huge);
	memset(huge, ' ', TG_NOTIFY_BODY_MAX + 1);
	huge[TG_NOTIFY_BODY_MAX + 1] = '\0';
	assert_int_equal(tg_notify_submit(n, "approval.decided", huge, NULL), -EMSGSIZE);
	free(huge);
	assert_int_equal(stats(n, 0).cnt[TG_NOTIFY_CNT_SUBMITTED], 0);

	assert_int_equal(tg_notify_submit(n, "approval.decided", "{\"approved\":true}", NULL), 3);
	run_idle(n, 5000);
	srv_stop(&s);
	assert_int_equal(s.nreq, 1);
	assert_string_equal(s.req[0].body, "{\"approved\":true}");
	assert_int_equal(stats(n, 0).cnt[TG_NOTIFY_CNT_DELIVERED], 1);	       /* 204 is a 2xx */
	assert_int_equal(stats(n, 1).cnt[TG_NOTIFY_CNT_DROPPED_EXHAUSTED], 1); /* nobody on :1 */
	assert_int_equal(stats(n, 2).cnt[TG_NOTIFY_CNT_DELIVERED], 1);
	assert_string_equal(read_file("got-approval.decided", text, sizeof(text)),
			    "{\"approved\":true}");
	assert_int_equal(tg_notify_stats(n, 3, &(struct tg_notify_sink_stats){ 0 }), -ENOENT);
	tg_notify_free(n);

	/* no sink configured: a notifier that takes nothing and is always idle */
	n = new_ok("{}");
	assert_int_equal(tg_notify_sinks(n), 0);
	assert_int_equal(tg_notify_submit(n, "approval.requested", BODY, NULL), 0);
	assert_true(tg_notify_idle(n));
	tg_notify_free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_config_full, setup),
		cmocka_unit_test_setup(test_config_errors, setup),
		cmocka_unit_test_setup(test_new_errors, setup),
		cmocka_unit_test_setup(test_webhook_retry, setup),
		cmocka_unit_test_setup(test_webhook_exhausted, setup),
		cmocka_unit_test_setup(test_webhook_refused, setup),
		cmocka_unit_test_setup(test_command_retry, setup),
		cmocka_unit_test_setup(test_command_timeout, setup),
		cmocka_unit_test_setup(test_command_signal, setup),
		cmocka_unit_test_setup(test_queue_full, setup),
		cmocka_unit_test_setup(test_submit, setup),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
