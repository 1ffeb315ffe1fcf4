/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http.c — libFuzzer target for the /metrics listener's request-head
 * parser (slowpath/http.c, tg_http_parse_head()).
 *
 * Input: byte 0 picks the cap (TG_HTTP_HEAD_MAX, or a small one so the
 * 431 paths are near); the rest is the bytes received. The parser is run
 * on the whole input and on every prefix of it, as the listener would
 * see the head arrive.
 *
 * Beyond memory errors and UB (the input is copied into a buffer of its
 * exact size, so a read past len is caught), the target aborts when:
 * - the status is not one of http.h's (0, 200, 400, 404, 405, 413, 431,
 *   505), or a refusal comes without a reason;
 * - a complete head (200, 404, 405, 413, 505) has a head_len of 0 or past
 *   the bytes given, or does not end in LF;
 * - 0 (incomplete) is answered for a buffer at the cap;
 * - a prefix gets an answer and a longer prefix another one: a decision,
 *   once made, must not change as more bytes arrive (the listener acts on
 *   the first). Only 0 may turn into an answer.
 *
 * Seeds: tests/fuzz/gen-corpus http_seeds(). Run: tests/fuzz/run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static bool
known(int status)
{
	switch (status) {
	case 0:
	case 200:
	case 400:
	case 404:
	case 405:
	case 413:
	case 431:
	case 505:
		return true;
	default:
		return false;
	}
}

/* A status given once the empty line ending the head was read. */
static bool
after_head(int status)
{
	return status == 200 || status == 404 || status == 405 || status == 413 || status == 505;
}

static int
check(const char *buf, size_t len, size_t cap, struct tg_http_req *req)
{
	int status = tg_http_parse_head(buf, len, cap, "/metrics", req);
	size_t held = len < cap ? len : cap;

	CHECK(known(status));
	CHECK(status == 0 || status == 200 || req->why != NULL);
	if (after_head(status)) {
		CHECK(req->head_len > 0 && req->head_len <= held);
		CHECK(buf[req->head_len - 1] == '\n');
	}
	if (held >= cap)
		CHECK(status != 0);
	return status;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_http_req req;
	size_t cap, len;
	char *buf;
	int whole, first = 0;

	if (size < 1)
		return 0;
	cap = data[0] & 1 ? 64 + data[0] : TG_HTTP_HEAD_MAX;
	len = size - 1;
	if (len > TG_HTTP_HEAD_MAX + 64)
		len = TG_HTTP_HEAD_MAX + 64;
	buf = malloc(len ? len : 1);
	CHECK(buf != NULL);
	memcpy(buf, data + 1, len);

	whole = check(buf, len, cap, &req);
	/*
	 * As it arrives: the first answer stands. Every prefix of a short
	 * input; of a long one, the prefixes ending at or after an LF and a
	 * sample of the rest, so that a run stays linear-ish in the input.
	 */
	for (size_t k = 0; k <= len && k <= cap; k++) {
		int st;

		if (len > 512 && k != len && k != cap && k % 97 != 0 &&
		    buf[k ? k - 1 : 0] != '\n' && (k < 1 || buf[k - 1] != '\r'))
			continue;
		st = check(buf, k, cap, &req);

		if (first == 0)
			first = st;
		else
			CHECK(st == first);
	}
	CHECK(first == whole);
	free(buf);
	return 0;
}
