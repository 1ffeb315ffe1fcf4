/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c — unit tests of the /metrics listener (slowpath/metrics.c)
 * over a real loopback socket, with the clock in the test's hand, and of
 * its config key (slowpath/config.c, mgmt.metrics: loopback only).
 *
 * The listener is opened on 127.0.0.1 port 0 (the kernel picks one); the
 * ask hook records the token, and the test answers as main.c would, now
 * or later. Each case is a client that writes, the listener driven by
 * pump() until the client has its answer or EOF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "config.h"
#include "metrics.h"

#define GET "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static struct tg_metrics *mx;
static uint64_t clock_now = 1000000;
static uint64_t asked[8];
static unsigned int nb_asked;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return clock_now;
}

static void
record_ask(void *arg, uint64_t token)
{
	(void)arg;
	assert_true(nb_asked < sizeof(asked) / sizeof(asked[0]));
	asked[nb_asked++] = token;
}

static int
setup(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	struct tg_metrics_config cfg = {
		.addr = (const struct sockaddr *)&sin,
		.addrlen = sizeof(sin),
		.max_clients = 2,
		.timeout_ms = 5000,
		.ask = record_ask,
		.clock_ms = fake_clock,
	};
	char err[256];

	(void)state;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	nb_asked = 0;
	mx = tg_metrics_open(&cfg, err, sizeof(err));
	if (mx == NULL)
		fail_msg("open: %s", err);
	assert_int_not_equal(tg_metrics_port(mx), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tg_metrics_close(mx);
	mx = NULL;
	return 0;
}

static int
client(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)tg_metrics_port(mx));
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Runs the listener until nothing is ready for 50 ms. */
static void
pump(void)
{
	struct pollfd p = { .fd = tg_metrics_fd(mx), .events = POLLIN };

	while (poll(&p, 1, 50) > 0)
		tg_metrics_on_ready(mx);
}

static void
send_all(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* What the client reads until EOF (the listener closes after one response), NUL-terminated. */
static size_t
read_all(int fd, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	for (int rounds = 0; rounds < 100 && len + 1 < size; rounds++) {
		pump();
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

static json_t *
counters(void)
{
	json_t *o = tg_metrics_stats_json(mx);

	assert_non_null(o);
	return o;
}

static json_int_t
counter(const char *name)
{
	json_t *o = counters();
	json_int_t v = json_integer_value(json_object_get(json_object_get(o, "counters"), name));

	json_decref(o);
	return v;
}

static void
test_scrape(void **state)
{
	json_t *stats =
		json_pack("{s:{s:b, s:{s:{s:i}}}, s:{s:{s:i}}}", "dataplane", "connected", 1,
			  "port", "0", "rx_pkts", 5, "slowpath", "counters", "records", 7);
	char buf[8192];
	int fd = client();

	(void)state;
	send_all(fd, GET, strlen(GET));
	pump();
	assert_int_equal(nb_asked, 1);
	tg_metrics_answer(mx, asked[0], stats);
	read_all(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Type: text/plain; version=0.0.4\r\n"));
	assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
	/* prom.c's rendering: a label for the port, _total for counters, 0/1 for booleans */
	assert_non_null(strstr(buf, "\r\n\r\n# HELP "));
	assert_non_null(strstr(buf, "\ntollgate_dataplane_port_rx_pkts_total{port=\"0\"} 5\n"));
	assert_non_null(strstr(buf, "\ntollgate_slowpath_records_total 7\n"));
	assert_non_null(strstr(buf, "\ntollgate_dataplane_connected 1\n"));
	/* the same token again (a second STATS_RESPONSE, a late one) changes nothing */
	tg_metrics_answer(mx, asked[0], stats);
	assert_int_equal(counter("scrapes"), 1);
	close(fd);
	json_decref(stats);
}

/* The head split over several writes is the same request. */
static void
test_split_head(void **state)
{
	static const char *const parts[] = { "GE", "T /metr", "ics HTTP/1.1\r", "\nHost: x\r\n",
					     "\r\n" };
	int fd = client();

	(void)state;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		assert_int_equal(nb_asked, 0);
		send_all(fd, parts[i], strlen(parts[i]));
		pump();
	}
	assert_int_equal(nb_asked, 1);
	close(fd);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *req;
		const char *status;
		const char *counter;
	} cases[] = {
		{ "GET /other HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found\r\n",
		  "not_found" },
		{ "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
		  "HTTP/1.1 405 Method Not Allowed\r\n", "bad_method" },
		{ "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "HTTP/1.1 400 Bad Request\r\n",
		  "bad_request" },
		{ "GET /metrics HTTP/3.0\r\nHost: x\r\n\r\n", "HTTP/1.1 505 ", "bad_version" },
	};
	char buf[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = client();

		send_all(fd, cases[i].req, strlen(cases[i].req));
		read_all(fd, buf, sizeof(buf));
		if (strncmp(buf, cases[i].status, strlen(cases[i].status)) != 0)
			fail_msg("case %zu: %s", i, buf);
		assert_int_equal(counter(cases[i].counter), 1);
		close(fd);
	}
	assert_int_equal(nb_asked, 0);
	assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
}

/* An oversized head is answered 431, and what the client still sends is drained, not reset. */
static void
test_oversized(void **state)
{
	char big[16384], buf[1024];
	int fd = client();
	size_t n;

	(void)state;
	n = (size_t)snprintf(big, sizeof(big), "GET /metrics HTTP/1.1\r\nX: ");
	memset(big + n, 'a', sizeof(big) - n);
	send_all(fd, big, sizeof(big));
	read_all(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
	assert_int_equal(counter("too_large"), 1);
	close(fd);
}

/* A client that stops mid-head is told 408 and closed at the deadline; a whole head is not. */
static void
test_slow_head(void **state)
{
	char buf[1024];
	int slow = client(), fd;

	(void)state;
	send_all(slow, "GET /metrics HTTP/1.1\r\nHo", 25);
	pump();
	clock_now += 4999;
	tg_metrics_tick(mx);
	/* another client is served meanwhile */
	fd = client();
	send_all(fd, GET, strlen(GET));
	pump();
	assert_int_equal(nb_asked, 1);
	clock_now += 1;
	tg_metrics_tick(mx);
	read_all(slow, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 408 Request Timeout\r\n"));
	assert_int_equal(counter("timeouts"), 1);
	close(slow);
	close(fd);
}

/* No answer from the owner within the deadline: 503, and the late answer is dropped. */
static void
test_wait_timeout(void **state)
{
	json_t *stats = json_pack("{s:{}}", "slowpath");
	char buf[1024];
	int fd = client();

	(void)state;
	send_all(fd, GET, strlen(GET));
	pump();
	assert_int_equal(nb_asked, 1);
	clock_now += 5000;
	tg_metrics_tick(mx);
	read_all(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
	tg_metrics_answer(mx, asked[0], stats);
	assert_int_equal(counter("scrapes"), 0);
	assert_int_equal(counter("unavailable"), 1);
	close(fd);
	json_decref(stats);
}

/* max_clients (2 here): a third connection is closed at once; the slot frees for the next. */
static void
test_client_cap(void **state)
{
	char buf[64];
	int a = client(), b = client(), c;

	(void)state;
	pump();
	c = client();
	assert_int_equal(read_all(c, buf, sizeof(buf)), 0); /* EOF, no response */
	assert_int_equal(counter("refused"), 1);
	close(c);
	close(a);
	pump();
	c = client();
	send_all(c, GET, strlen(GET));
	pump();
	assert_int_equal(nb_asked, 1);
	close(b);
	close(c);
}

/*
 * A client that leaves while its scrape waits: the answer goes into the
 * void (a closed peer is only seen when written to, since a half-close
 * may be a client still waiting) and the slot is freed; the next client
 * of that slot has another token, and the old one is ignored.
 */
static void
test_client_gone(void **state)
{
	json_t *stats = json_pack("{s:{}}", "slowpath");
	char buf[1024];
	int fd = client(), fd2;

	(void)state;
	send_all(fd, GET, strlen(GET));
	pump();
	assert_int_equal(nb_asked, 1);
	close(fd);
	pump();
	tg_metrics_answer(mx, asked[0], stats);
	pump();
	fd2 = client();
	send_all(fd2, GET, strlen(GET));
	pump();
	assert_int_equal(nb_asked, 2);
	assert_int_not_equal(asked[0], asked[1]);
	tg_metrics_answer(mx, asked[0], stats);
	assert_int_equal(counter("scrapes"), 1);
	tg_metrics_answer(mx, asked[1], stats);
	assert_int_equal(counter("scrapes"), 2);
	read_all(fd2, buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	close(fd2);
	json_decref(stats);
}

/* ---- config: mgmt.metrics ------------------------------------------------ */

static int
load(const char *metrics, struct tg_sp_config *cfg, char *err, size_t errlen, char *path,
     size_t pathlen)
{
	char dir[] = "/tmp/tg-metrics-XXXXXX";
	FILE *f;
	int rc;

	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/sp.json", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"{\"audit\": {\"origin\": \"gw1.example/audit\"}, "
		"\"mgmt\": {\"metrics\": \"%s\"}}",
		metrics);
	fclose(f);
	tg_sp_config_defaults(cfg);
	rc = tg_sp_config_load_file(cfg, path, err, errlen);
	unlink(path);
	rmdir(dir);
	return rc;
}

static void
test_config(void **state)
{
	static const char *const good[] = { "127.0.0.1:9464", "127.3.2.1:1", "[::1]:65535" };
	static const char *const not_loopback[] = { "10.0.0.1:9464", "0.0.0.0:9464", "[::]:9464",
						    "[::2]:9464", "[::ffff:127.0.0.1]:9464" };
	static const char *const malformed[] = {
		"localhost:9464", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:94a4", "::1:9464",  "[::1]",	      "[127.0.0.1]:9464",
		"127.1:9464",	  "",	       ":9464"
	};
	struct tg_sp_config *cfg = malloc(sizeof(*cfg));
	char err[512], path[96];

	(void)state;
	assert_non_null(cfg);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (load(good[i], cfg, err, sizeof(err), path, sizeof(path)) != 0)
			fail_msg("%s refused: %s", good[i], err);
		assert_string_equal(cfg->mgmt.metrics, good[i]);
		assert_true(cfg->mgmt.metrics_addrlen > 0);
	}
	for (size_t i = 0; i < sizeof(not_loopback) / sizeof(not_loopback[0]); i++) {
		assert_int_equal(load(not_loopback[i], cfg, err, sizeof(err), path, sizeof(path)),
				 -EINVAL);
		/* the file, the key and why */
		if (strstr(err, path) == NULL || strstr(err, "mgmt.metrics") == NULL ||
		    strstr(err, "not a loopback address") == NULL)
			fail_msg("%s: %s", not_loopback[i], err);
	}
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		assert_int_equal(load(malformed[i], cfg, err, sizeof(err), path, sizeof(path)),
				 -EINVAL);
		if (strstr(err, path) == NULL || strstr(err, "mgmt.metrics must be") == NULL)
			fail_msg("%s: %s", malformed[i], err);
	}
	free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scrape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
