/* SPDX-License-Identifier: MIT */
/*
 * fuzz_recordings.c — libFuzzer target for the recording pieces the
 * slowpath takes from the dataplane (slowpath/recordings.c
 * tg_recordings_items(): dataplane/record.h's items into JSON lines).
 *
 * Input: one piece's bytes, copied into a buffer of their exact size (a
 * read past len is caught by ASan), then the same bytes again as a second
 * piece of the same session (a row may span pieces). Beyond memory errors
 * and UB, the target aborts when:
 * - the result is neither a count of lines nor -EBADMSG (or -ENOMEM);
 * - the output is not JSON lines: every line parses as an object with a
 *   "type" string, and the count of lines is what was returned;
 * - a truncation counted (SKIPPED) is not marked on the session.
 *
 * Seeds: tests/fuzz/gen-corpus recordings_seeds(). Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "recordings.h"
#include "sesstrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static int
check_lines(const char *buf, size_t from, size_t len)
{
	const char *p, *end, *nl;
	int n = 0;

	if (buf == NULL)
		return 0; /* nothing written yet */
	p = buf + from;
	end = buf + len;

	for (; p < end; p = nl + 1) {
		json_t *o;

		nl = memchr(p, '\n', (size_t)(end - p));
		CHECK(nl != NULL); /* every line ends */
		o = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
		CHECK(json_is_object(o));
		CHECK(json_is_string(json_object_get(o, "type")));
		json_decref(o);
		n++;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_sesstrack_entry e = { .sid = "fuzz" };
	uint8_t *copy = malloc(size ? size : 1);
	char *buf = NULL;
	size_t len = 0, cap = 0, before;
	json_t *row = NULL;
	int rc;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	for (int k = 0; k < 2; k++) {
		before = len;
		rc = tg_recordings_items(copy, size, &buf, &len, &cap, &row, &e);
		CHECK(rc >= 0 || rc == -EBADMSG || rc == -ENOMEM);
		if (rc >= 0)
			CHECK(check_lines(buf, before, len) == rc);
		else
			check_lines(buf, before, len); /* the lines before the bad item */
		if (rc == -EBADMSG) {
			json_decref(row); /* as the store does */
			row = NULL;
		}
	}
	if (e.dropped_rows != 0 || e.dropped_bytes != 0)
		CHECK(e.truncated);
	json_decref(row);
	free(buf);
	free(copy);
	return 0;
}
