/* SPDX-License-Identifier: MIT */
/*
 * test_recordings.c — a session's recording from end to end in one
 * process: the dataplane's recorder (dataplane/record.c) packs items into
 * pieces, each handed straight to the slowpath's store
 * (slowpath/recordings.c) as a RECORD event would bring it; the store
 * writes chunks to a real LMDB environment in a mkdtemp() directory and
 * its records (recording.chunk, recording.expired) are collected here as
 * the audit store would take them. Also: the per-session limit and its
 * truncation, a piece lost, a malformed piece, retention by age and by
 * size, and what session.end then states (sesstrack.c).
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "record.h"
#include "recordings.h"
#include "sesstrack.h"

#define SID "00000000000000aa-0-1"
#define T0 1700000000000000000ull

static char tmp[64];
static struct tg_sesstrack *track;
static struct tg_recordings *rs;
static json_t *recs; /* the records the store appended */
static bool refuse_piece;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
take_record(void *arg, json_t *rec)
{
	(void)arg;
	return json_array_append(recs, rec);
}

/* record.h's emit: the piece goes to the store as the slowpath gets it. */
static bool
emit(void *arg, uint64_t session, uint16_t service, uint32_t piece, const uint8_t *data,
     uint16_t len)
{
	(void)arg;
	(void)session;
	(void)service;
	if (refuse_piece)
		return false;
	assert_int_equal(tg_recordings_piece(rs, SID, piece, data, len), 0);
	return true;
}

static int
open_store(uint64_t max_bytes, uint64_t max_age_s)
{
	char dir[128];
	struct tg_recordings_config cfg = {
		.map_size = 4u << 20,
		.chunk_bytes = 512,
		.max_bytes = max_bytes,
		.max_age_s = max_age_s,
	};
	char err[256];

	snprintf(dir, sizeof(dir), "%s/rec", tmp);
	cfg.dir = dir;
	rs = tg_recordings_open(&cfg, track, take_record, NULL, err, sizeof(err));
	if (rs == NULL)
		print_error("%s\n", err);
	return rs != NULL ? 0 : -1;
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/tg-rec-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	track = tg_sesstrack_new(0);
	recs = json_array();
	refuse_piece = false;
	return open_store(0, 0);
}

static int
teardown(void **state)
{
	(void)state;
	tg_recordings_close(rs);
	tg_sesstrack_free(track);
	json_decref(recs);
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* One statement of the session: n rows of two columns, then its tag and ready. */
static void
statement(struct tg_record *r, const struct tg_record_out *o, uint32_t stmt, int n)
{
	static const char *const names[] = { "id", "card" };
	static const uint32_t lens[] = { 2, 4 };
	char id[16], tag[32];

	tg_record_stmt(r, o, T0 + stmt, stmt, 0, 0, "SELECT id, card FROM t", 22, NULL, 0);
	tg_record_columns(r, o, T0 + stmt, 2, names, lens, 2);
	for (int i = 0; i < n; i++) {
		int l = snprintf(id, sizeof(id), "%d", i);

		tg_record_field(r, o, 0, l, (const uint8_t *)id, (uint32_t)l);
		tg_record_field(r, o, 1, 19, (const uint8_t *)"****-****-****-1234", 19);
		tg_record_row(r, o, T0 + stmt, 2);
	}
	snprintf(tag, sizeof(tag), "SELECT %d", n);
	tg_record_complete(r, o, T0 + stmt, tag, (uint32_t)strlen(tag));
	tg_record_ready(r, o, T0 + stmt, 'I');
}

/* Every chunk of the session, concatenated, checked against its record's hash. */
static char *
recording(size_t *total)
{
	char *all = NULL;
	json_t *rec;
	size_t i;

	*total = 0;
	json_array_foreach(recs, i, rec) {
		const json_t *rc = json_object_get(rec, "recording");
		uint8_t *data, h[32];
		unsigned int hl = 32;
		char hex[65];
		size_t len;

		if (strcmp(json_string_value(
				   json_object_get(json_object_get(rec, "event"), "type")),
			   "recording.chunk") != 0)
			continue;
		assert_int_equal(tg_recordings_chunk(
					 rs, SID,
					 (uint64_t)json_integer_value(json_object_get(rc, "index")),
					 &data, &len),
				 0);
		assert_int_equal(json_integer_value(json_object_get(rc, "offset")), *total);
		assert_int_equal(json_integer_value(json_object_get(rc, "length")), len);
		EVP_Digest(data, len, h, &hl, EVP_sha256(), NULL);
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", h[k]);
		assert_string_equal(json_string_value(json_object_get(rc, "sha256")), hex);
		all = realloc(all, *total + len + 1);
		memcpy(all + *total, data, len);
		*total += len;
		all[*total] = '\0';
		free(data);
	}
	return all;
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* ------------------------------------------------------------------ */

static void
test_session(void **state)
{
	struct tg_record_out o = { emit, NULL, 1, 0, 1 << 20 };
	static struct tg_record r;
	static const uint8_t codes[] = { 'V', 'C', 'M' };
	static const uint8_t *const vals[] = { (const uint8_t *)"ERROR", (const uint8_t *)"42P01",
					       (const uint8_t *)"relation \"x\" does not exist" };
	static const uint32_t vlens[] = { 5, 5, 27 };
	json_t *end = json_object();
	size_t len;
	char *all;

	(void)state;
	assert_int_equal(tg_sesstrack_event(track, SID, TG_SESSTRACK_START, 0, NULL), 0);
	tg_record_start(&r, &o);
	statement(&r, &o, 1, 30);
	tg_record_stmt(&r, &o, T0 + 9, 2, 0, 0, "SELECT * FROM x", 15, NULL, 0);
	tg_sesstrack_event(track, SID, TG_SESSTRACK_STATEMENT, 2, NULL);
	tg_record_notice(&r, &o, T0 + 9, true, codes, vals, vlens, 3);
	tg_record_ready(&r, &o, T0 + 9, 'I');
	tg_record_flush(&r, &o);
	assert_int_equal(r.lost, 0);
	assert_int_equal(tg_recordings_end(rs, SID, T0 + 10), 0);

	all = recording(&len);
	assert_non_null(all);
	assert_true(json_array_size(recs) > 2); /* 512-byte chunks */
	assert_int_equal(count(all, "\"type\":\"row\""), 30);
	assert_int_equal(count(all, "\"type\":\"statement\""), 2);
	assert_non_null(strstr(all, "\"values\":[\"29\",\"****-****-****-1234\"]"));
	assert_non_null(strstr(all, "\"tag\":\"SELECT 30\""));
	assert_non_null(strstr(
		all, "\"code\":\"42P01\",\"message\":\"relation \\\"x\\\" does not exist\""));
	assert_non_null(strstr(all, "\"type\":\"end\""));
	assert_null(strstr(all, "skipped"));
	/* session.end states what was recorded */
	assert_int_equal(tg_sesstrack_event(track, SID, TG_SESSTRACK_END, 0, end), 0);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(end, "recording"), "chunks")),
		json_array_size(recs));
	assert_false(json_is_true(json_object_get(json_object_get(end, "recording"), "truncated")));
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(end, "db"), "statements")), 2);
	assert_int_equal(tg_recordings_counters(rs)[TG_RECORDINGS_CNT_CHUNKS],
			 json_array_size(recs));
	json_decref(end);
	free(all);
}

static void
test_limit(void **state)
{
	struct tg_record_out o = { emit, NULL, 1, 0, 1024 }; /* 1 KiB of rows */
	static struct tg_record r;
	json_t *end = json_object(), *rc;
	size_t len;
	char *all;

	(void)state;
	tg_sesstrack_event(track, SID, TG_SESSTRACK_START, 0, NULL);
	tg_record_start(&r, &o);
	statement(&r, &o, 1, 500);
	statement(&r, &o, 2, 3); /* past the limit: its statement and tag still kept */
	tg_record_flush(&r, &o);
	tg_recordings_end(rs, SID, T0 + 10);
	all = recording(&len);
	assert_true(count(all, "\"type\":\"row\"") < 40);
	assert_int_equal(count(all, "\"type\":\"skipped\""), 2);
	assert_non_null(strstr(all, "\"tag\":\"SELECT 500\""));
	assert_non_null(strstr(all, "\"tag\":\"SELECT 3\""));
	tg_sesstrack_event(track, SID, TG_SESSTRACK_END, 0, end);
	rc = json_object_get(end, "recording");
	assert_true(json_is_true(json_object_get(rc, "truncated")));
	assert_int_equal(json_integer_value(json_object_get(rc, "rows_not_kept")) +
				 (json_int_t)count(all, "\"type\":\"row\""),
			 503);
	json_decref(end);
	free(all);
}

static void
test_lost_and_malformed(void **state)
{
	struct tg_record_out o = { emit, NULL, 1, 0, 1 << 20 };
	static struct tg_record r;
	static const uint8_t junk[] = { 3, 0, 2, 0 }; /* a FIELD shorter than its header */
	json_t *end = json_object();
	size_t len;
	char *all;

	(void)state;
	tg_record_start(&r, &o);
	statement(&r, &o, 1, 2);
	refuse_piece = true; /* the worker's ring too full: the piece is not sent */
	statement(&r, &o, 2, 2);
	refuse_piece = false;
	assert_int_equal(r.lost, 1);
	statement(&r, &o, 3, 2);
	assert_int_equal(tg_recordings_piece(rs, SID, r.piece++, junk, sizeof(junk)), 0);
	tg_recordings_end(rs, SID, T0 + 10);
	all = recording(&len);
	assert_non_null(strstr(all, "{\"pieces\":1,\"type\":\"lost\"}"));
	assert_non_null(strstr(all, "{\"type\":\"malformed\"}"));
	assert_int_equal(count(all, "\"type\":\"statement\""), 2);
	assert_int_equal(tg_recordings_counters(rs)[TG_RECORDINGS_CNT_PIECES_LOST], 1);
	assert_int_equal(tg_recordings_counters(rs)[TG_RECORDINGS_CNT_MALFORMED], 1);
	/* a session the slowpath never saw start: no statement count */
	tg_sesstrack_event(track, SID, TG_SESSTRACK_END, 0, end);
	assert_null(json_object_get(end, "db"));
	assert_int_equal(json_integer_value(
				 json_object_get(json_object_get(end, "recording"), "pieces_lost")),
			 1);
	json_decref(end);
	free(all);
}

static void
test_retention(void **state)
{
	struct tg_record_out o = { emit, NULL, 1, 0, 1 << 20 };
	static struct tg_record r;
	json_t *rec;
	uint8_t *data;
	size_t len, n;

	(void)state;
	tg_recordings_close(rs);
	assert_int_equal(open_store(0, 3600), 0); /* an hour */
	tg_record_start(&r, &o);
	statement(&r, &o, 1, 40);
	tg_record_flush(&r, &o);
	tg_recordings_end(rs, SID, T0);
	n = json_array_size(recs);
	assert_true(n >= 2);
	/* the last chunk was cut at T0 (the end), the others at the wall clock */
	assert_int_equal(tg_recordings_retain(rs, T0 + 1800ull * 1000000000ull), 0);
	assert_int_equal(tg_recordings_retain(rs, T0 + 7200ull * 1000000000ull), 1);
	rec = json_array_get(recs, n);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(rec, "event"), "type")),
		"recording.expired");
	assert_string_equal(json_string_value(json_object_get(rec, "reason_code")), "age");
	assert_int_equal(json_integer_value(
				 json_object_get(json_object_get(rec, "recording"), "first_index")),
			 n - 1);
	assert_int_equal(tg_recordings_chunk(rs, SID, n - 1, &data, &len), -ENOENT);
	assert_int_equal(tg_recordings_chunk(rs, SID, 0, &data, &len), 0);
	free(data);

	/* by size: past max_bytes the oldest go */
	tg_recordings_close(rs);
	assert_int_equal(open_store(100, 0), 0);
	assert_true(tg_recordings_retain(rs, T0) >= 1);
	rec = json_array_get(recs, json_array_size(recs) - 1);
	assert_string_equal(json_string_value(json_object_get(rec, "reason_code")), "size");
	assert_int_equal(tg_recordings_chunk(rs, SID, 0, &data, &len), -ENOENT);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_session),
		T(test_limit),
		T(test_lost_and_malformed),
		T(test_retention),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
