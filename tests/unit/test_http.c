/* SPDX-License-Identifier: MIT */
/*
 * test_http.c — unit tests of the /metrics listener's request-head parser
 * (slowpath/http.c, tg_http_parse_head()): each status of http.h from a
 * head that should give it, incomplete heads, garbage refused on its
 * first bytes, the cap, and a head fed byte by byte giving the same
 * answer as whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HOST "Host: 127.0.0.1:9464\r\n"

static int
parse(const char *s, struct tg_http_req *req)
{
	return tg_http_parse_head(s, strlen(s), TG_HTTP_HEAD_MAX, "/metrics", req);
}

struct head_case {
	const char *head;
	int status;
};

static void
test_statuses(void **state)
{
	static const struct head_case cases[] = {
		/* what curl and Prometheus send */
		{ "GET /metrics HTTP/1.1\r\n" HOST "User-Agent: curl/8\r\nAccept: */*\r\n\r\n",
		  200 },
		/* bare LF lines (RFC 9112 2.2) and an empty line before the request line */
		{ "\r\nGET /metrics HTTP/1.1\nHost: x\n\n", 200 },
		/* HTTP/1.0 needs no Host */
		{ "GET /metrics HTTP/1.0\r\n\r\n", 200 },
		/* the query is ignored; absolute-form is taken */
		{ "GET /metrics?name[]=x HTTP/1.1\r\n" HOST "\r\n", 200 },
		{ "GET http://127.0.0.1:9464/metrics HTTP/1.1\r\n" HOST "\r\n", 200 },
		/* Content-Length: 0 is no body; OWS around values */
		{ "GET /metrics HTTP/1.1\r\n" HOST "Content-Length:  0 \r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\n" HOST "\r\n", 404 },
		{ "GET /metricsx HTTP/1.1\r\n" HOST "\r\n", 404 },
		{ "GET /%6detrics HTTP/1.1\r\n" HOST "\r\n", 404 },
		{ "GET http://127.0.0.1:9464 HTTP/1.1\r\n" HOST "\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\n" HOST "Content-Length: 3\r\n\r\n", 405 },
		{ "HEAD /metrics HTTP/1.1\r\n" HOST "\r\n", 405 },
		{ "get /metrics HTTP/1.1\r\n" HOST "\r\n", 405 },
		{ "GET /metrics HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n", 413 },
		{ "GET /metrics HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n", 413 },
		{ "GET /metrics HTTP/2.0\r\n" HOST "\r\n", 505 },
		/* HTTP/1.1 without Host, or with two (RFC 9112 3.2) */
		{ "GET /metrics HTTP/1.1\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" HOST HOST "\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" HOST "Content-Length: 1x\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" HOST "Content-Length: 0\r\nContent-Length: 0\r\n\r\n",
		  400 },
		/* request-line syntax */
		{ "GET  /metrics HTTP/1.1\r\n" HOST "\r\n", 400 },
		{ "GET /metrics HTTP/1.1 \r\n" HOST "\r\n", 400 },
		{ "GET /metrics\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.10\r\n" HOST "\r\n", 400 },
		{ "GET /metrics http/1.1\r\n" HOST "\r\n", 400 },
		{ "GET metrics HTTP/1.1\r\n" HOST "\r\n", 400 },
		{ "GET * HTTP/1.1\r\n" HOST "\r\n", 400 },
		{ "GET http:///metrics HTTP/1.1\r\n" HOST "\r\n", 400 },
		{ "G(T /metrics HTTP/1.1\r\n" HOST "\r\n", 400 },
		/* field syntax: space before the colon, obs-fold, no colon, a bare CR */
		{ "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" HOST "X-A: 1\r\n  folded\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" HOST "no colon\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" HOST "X-A: a\rb\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" HOST ": empty name\r\n\r\n", 400 },
	};
	struct tg_http_req req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = parse(cases[i].head, &req);

		if (got != cases[i].status)
			fail_msg("case %zu: %d, expected %d: %s (%s)", i, got, cases[i].status,
				 cases[i].head, req.why ? req.why : "");
		if (got != 200)
			assert_non_null(req.why);
	}
}

static void
test_complete_head(void **state)
{
	static const char head[] = "GET /metrics HTTP/1.1\r\n" HOST "\r\n";
	char buf[256];
	struct tg_http_req req;

	(void)state;
	/* a pipelined request after the head is not part of it */
	snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", head);
	assert_int_equal(parse(buf, &req), 200);
	assert_int_equal(req.head_len, strlen(head));
	assert_true(req.get);
	assert_true(req.path_match);
	assert_int_equal(req.major, 1);
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.fields, 1);
}

static void
test_incomplete(void **state)
{
	static const char *const partial[] = {
		"",
		"G",
		"GET",
		"GET /met",
		"GET /metrics HTTP/1",
		"GET /metrics HTTP/1.1\r",
		"GET /metrics HTTP/1.1\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n\r",
		"\r\n\r\n",
	};
	struct tg_http_req req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(partial); i++) {
		if (parse(partial[i], &req) != 0)
			fail_msg("partial %zu (\"%s\") is not incomplete: %s", i, partial[i],
				 req.why ? req.why : "");
		assert_int_equal(req.head_len, 0);
	}
}

/* Garbage is refused on its first bytes, without waiting for a newline or the cap. */
static void
test_garbage_early(void **state)
{
	static const char *const early[] = {
		"\x16\x03\x01\x02\x00", /* a TLS ClientHello */
		"GET\t/",
		"GET /metr\x01",
		"GET /metrics XTTP",
		"GET /metrics HTTP/1.1\r\nHost x",
		"GET /metrics HTTP/1.1\r\nHost: \x7f",
		"GET /metrics HTTP/1.1\r\n folded",
		"\r\n\x00",
	};
	static const size_t len[] = { 5, 5, 10, 17, 29, 30, 30, 3 };
	struct tg_http_req req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(early); i++)
		if (tg_http_parse_head(early[i], len[i], TG_HTTP_HEAD_MAX, "/metrics", &req) != 400)
			fail_msg("garbage %zu is not refused at once", i);
}

static void
test_cap(void **state)
{
	static char buf[TG_HTTP_HEAD_MAX + 100];
	struct tg_http_req req;
	size_t n;

	(void)state;
	/* one long field that never ends */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /metrics HTTP/1.1\r\nX-Long: ");
	memset(buf + n, 'a', sizeof(buf) - n);
	assert_int_equal(
		tg_http_parse_head(buf, TG_HTTP_HEAD_MAX - 1, TG_HTTP_HEAD_MAX, "/metrics", &req),
		0);
	assert_int_equal(
		tg_http_parse_head(buf, TG_HTTP_HEAD_MAX, TG_HTTP_HEAD_MAX, "/metrics", &req), 431);
	/* more bytes than the cap: what is past it is not looked at */
	assert_int_equal(tg_http_parse_head(buf, sizeof(buf), TG_HTTP_HEAD_MAX, "/metrics", &req),
			 431);
	/* a smaller cap of the caller holds too */
	assert_int_equal(tg_http_parse_head(buf, 64, 64, "/metrics", &req), 431);

	/* too many fields, each small */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /metrics HTTP/1.1\r\n" HOST);
	for (int i = 0; i < TG_HTTP_FIELDS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: y\r\n", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	assert_true(n < TG_HTTP_HEAD_MAX);
	assert_int_equal(tg_http_parse_head(buf, n, TG_HTTP_HEAD_MAX, "/metrics", &req), 431);

	/* empty lines alone up to the cap */
	memset(buf, '\n', TG_HTTP_HEAD_MAX);
	assert_int_equal(
		tg_http_parse_head(buf, TG_HTTP_HEAD_MAX, TG_HTTP_HEAD_MAX, "/metrics", &req), 431);
}

/* A head fed byte by byte: incomplete until its last byte, then the answer of the whole. */
static void
test_byte_by_byte(void **state)
{
	static const struct head_case cases[] = {
		{ "GET /metrics HTTP/1.1\r\n" HOST "Accept: */*\r\n\r\n", 200 },
		{ "DELETE /metrics HTTP/1.1\r\n" HOST "\r\n", 405 },
		{ "GET /x HTTP/1.0\n\n", 404 },
	};
	struct tg_http_req req;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *h = cases[i].head;
		size_t len = strlen(h);

		for (size_t k = 0; k < len; k++)
			if (tg_http_parse_head(h, k, TG_HTTP_HEAD_MAX, "/metrics", &req) != 0)
				fail_msg("case %zu: an answer after %zu of %zu bytes", i, k, len);
		assert_int_equal(tg_http_parse_head(h, len, TG_HTTP_HEAD_MAX, "/metrics", &req),
				 cases[i].status);
		assert_int_equal(req.head_len, len);
	}
}

static void
test_reason(void **state)
{
	(void)state;
	assert_string_equal(tg_http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(tg_http_reason(405), "Method Not Allowed");
	assert_string_equal(tg_http_reason(299), "Error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),   cmocka_unit_test(test_complete_head),
		cmocka_unit_test(test_incomplete), cmocka_unit_test(test_garbage_early),
		cmocka_unit_test(test_cap),	   cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
