/* SPDX-License-Identifier: MIT */
/*
 * test_bundle.c — unit tests of the evidence bundle (bundle.c,
 * bundle_build.c): built from a real audit store (audit.c) in a mkdtemp()
 * directory, verified with the store's key, then changed one way at a
 * time as someone holding the file would change it, each change named by
 * its fault.
 *
 * The log: session S's start, two statements (the second begun and
 * ended), a record of another session between them, two recording.chunk
 * records whose chunks chunk_fn serves, and S's end stating 2 chunks;
 * then a checkpoint.
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
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "audit.h"
#include "bundle.h"
#include "note.h"

#define ORIGIN "gw1.example/audit"
#define SID "00000000000000aa-1-7"
#define OTHER "00000000000000aa-1-8"

static char tmp[64], dir[128], key_path[128], err[512];
static uint8_t pub[TG_NOTE_PUB];
static struct tg_audit *store;

static const char *const chunk_text[2] = {
	"{\"t\":1,\"type\":\"query\",\"text\":\"SELECT 1\"}\n",
	"{\"t\":2,\"type\":\"row\",\"values\":[\"****\"]}\n",
};
static uint64_t chunk_seq[2];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
hexs(const uint8_t *h, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void
append(json_t *ev, uint64_t *seq)
{
	assert_non_null(ev);
	assert_int_equal(tg_audit_append(store, ev, seq), 0);
	json_decref(ev);
}

static void
append_chunk(unsigned int i, uint64_t offset)
{
	uint8_t h[32];
	char hex[65];
	unsigned int n = 32;

	EVP_Digest(chunk_text[i], strlen(chunk_text[i]), h, &n, EVP_sha256(), NULL);
	hexs(h, 32, hex);
	append(json_pack("{s:{s:s}, s:s, s:{s:s}, s:{s:i, s:I, s:I, s:s}}", "event", "type",
			 "recording.chunk", "outcome", "success", "session", "id", SID, "recording",
			 "index", i, "offset", (json_int_t)offset, "length",
			 (json_int_t)strlen(chunk_text[i]), "sha256", hex),
	       &chunk_seq[i]);
}

static json_t *
query(const char *sid, const char *type, int n)
{
	return json_pack("{s:{s:s}, s:s, s:{s:s}, s:{s:s, s:i}}", "event", "type", type, "outcome",
			 "success", "session", "id", sid, "db", "statement", "SELECT 1",
			 "statement_number", n);
}

static int
setup(void **state)
{
	struct tg_audit_config cfg = { .origin = ORIGIN, .checkpoint_records = 1000 };

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/tg-bundle-XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/log", tmp);
	snprintf(key_path, sizeof(key_path), "%s/audit.key", tmp);
	cfg.dir = dir;
	cfg.key_path = key_path;
	store = tg_audit_open(&cfg, err, sizeof(err));
	if (store == NULL || tg_note_pubkey_load(key_path, pub, err, sizeof(err)) < 0)
		return -1;
	append(json_pack("{s:{s:s}, s:s, s:{s:s}}", "event", "type", "session.start", "outcome",
			 "success", "session", "id", SID),
	       NULL);
	append(query(SID, "db.query", 1), NULL);
	append(query(OTHER, "db.query", 1), NULL);
	append(query(SID, "db.query.begin", 2), NULL);
	append(query(SID, "db.query", 2), NULL);
	append_chunk(0, 0);
	append_chunk(1, strlen(chunk_text[0]));
	append(json_pack("{s:{s:s}, s:s, s:{s:s}, s:{s:i}, s:{s:i}}", "event", "type",
			 "session.end", "outcome", "success", "session", "id", SID, "db",
			 "statements", 2, "recording", "chunks", 2),
	       NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (store != NULL)
		tg_audit_close(store);
	store = NULL;
	return nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
chunk_fn(void *arg, uint64_t seq, const json_t *rec, uint8_t **data, size_t *len)
{
	json_int_t i =
		json_integer_value(json_object_get(json_object_get(rec, "recording"), "index"));

	(void)arg;
	assert_true(i == 0 || i == 1);
	assert_int_equal(seq, chunk_seq[i]);
	if (arg != NULL && i == 1)
		return -ENOENT; /* expired */
	*len = strlen(chunk_text[i]);
	*data = malloc(*len);
	memcpy(*data, chunk_text[i], *len);
	return 0;
}

static json_t *
build(void *arg)
{
	json_t *b = NULL;
	int rc;

	assert_int_equal(tg_audit_checkpoint(store, NULL), 0);
	assert_int_equal(tg_audit_commit(store, NULL), 0);
	rc = tg_bundle_build(tg_audit_reader(store), SID, pub, chunk_fn, arg, &b, err, sizeof(err));
	if (rc != 0)
		print_error("tg_bundle_build: %s\n", err);
	assert_int_equal(rc, 0);
	return b;
}

/* Verifies b (not consumed) with key k; returns the fault. */
static enum tg_bundle_fault
check(const json_t *b, const uint8_t *k, struct tg_bundle_report *rep)
{
	char *s = json_dumps(b, JSON_COMPACT);

	assert_non_null(s);
	assert_int_equal(tg_bundle_verify(s, strlen(s), k, rep), 0);
	free(s);
	if (!rep->ok)
		assert_true(rep->detail[0] != '\0');
	return rep->fault;
}

static json_t *
record_at(json_t *b, size_t i)
{
	return json_array_get(json_object_get(b, "records"), i);
}

/* ------------------------------------------------------------------ */

static void
test_build_verify(void **state)
{
	struct tg_bundle_report rep;
	json_t *b = build(NULL), *out = NULL;
	char *s;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(b, "records")), 7);
	assert_int_equal(json_array_size(json_object_get(b, "chunks")), 2);
	s = json_dumps(b, 0);
	assert_null(strstr(s, OTHER));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_NONE);
	assert_true(rep.ok && rep.pinned && rep.ended);
	assert_int_equal(rep.records, 7);
	assert_int_equal(rep.statements, 2);
	assert_int_equal(rep.chunks, 2);
	assert_int_equal(rep.chunks_expired, 0);
	assert_int_equal(rep.recording_bytes, strlen(chunk_text[0]) + strlen(chunk_text[1]));
	assert_string_equal(rep.session, SID);
	/* without a pinned key: the bundle's own */
	assert_int_equal(check(b, NULL, &rep), TG_BUNDLE_FAULT_NONE);
	assert_false(rep.pinned);
	/* tg_bundle_load gives the parsed bundle once verified */
	assert_int_equal(tg_bundle_load(s, strlen(s), pub, &out, &rep), 0);
	assert_true(json_equal(out, b));
	json_decref(out);
	free(s);
	json_decref(b);
}

static void
test_not_found(void **state)
{
	json_t *b = NULL;

	(void)state;
	/* nothing signed yet */
	assert_int_equal(tg_audit_commit(store, NULL), 0);
	assert_int_equal(
		tg_bundle_build(tg_audit_reader(store), SID, pub, NULL, NULL, &b, err, sizeof(err)),
		-ENOENT);
	assert_non_null(strstr(err, "no signed checkpoint"));
	json_decref(build(NULL));
	assert_int_equal(tg_bundle_build(tg_audit_reader(store), "00000000000000aa-1-9", pub, NULL,
					 NULL, &b, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(tg_bundle_build(tg_audit_reader(store), "a\"b", pub, NULL, NULL, &b, err,
					 sizeof(err)),
			 -EINVAL);
	assert_null(b);
}

static void
test_chunk_changed(void **state)
{
	struct tg_bundle_report rep;
	json_t *b = build(NULL), *c = json_array_get(json_object_get(b, "chunks"), 1);
	char data[256], enc[512];
	int n;

	(void)state;
	n = tg_note_b64_decode(json_string_value(json_object_get(c, "data")),
			       json_string_length(json_object_get(c, "data")), (uint8_t *)data,
			       sizeof(data));
	assert_true(n > 10);
	data[10] ^= 1; /* one bit of one byte */
	tg_note_b64_encode((uint8_t *)data, (size_t)n, enc, sizeof(enc));
	json_object_set_new(c, "data", json_string(enc));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_CHUNK_MODIFIED);
	assert_int_equal(rep.seq, (int64_t)chunk_seq[1]);
	json_decref(b);
}

static void
test_chunk_expired_and_unknown(void **state)
{
	struct tg_bundle_report rep;
	json_t *b = build((void *)1), *chunks;

	(void)state;
	/* the recordings store has lost chunk 1 to retention: stated, not a fault */
	assert_int_equal(json_array_size(json_object_get(b, "chunks")), 1);
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_NONE);
	assert_int_equal(rep.chunks, 2);
	assert_int_equal(rep.chunks_expired, 1);
	/* a chunk under a record that is no recording.chunk, and one twice */
	chunks = json_object_get(b, "chunks");
	json_object_set_new(
		json_array_get(chunks, 0), "seq",
		json_integer(json_integer_value(json_object_get(record_at(b, 0), "seq"))));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_CHUNK_UNKNOWN);
	json_decref(b);
	b = build(NULL);
	chunks = json_object_get(b, "chunks");
	json_array_append(chunks, json_array_get(chunks, 0));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_CHUNK_UNKNOWN);
	json_decref(b);
}

static void
test_removed(void **state)
{
	struct tg_bundle_report rep;
	json_t *b = build(NULL), *recs = json_object_get(b, "records");
	json_t *copy = json_deep_copy(b);

	(void)state;
	/* db.query of statement 1 (records: start, q1, begin2, q2, chunk0, chunk1, end) */
	json_array_remove(recs, 1);
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_RECORD_MISSING);
	assert_non_null(strstr(rep.detail, "statement 1"));
	/* the last statement, begin and end: session.end states 2 */
	json_decref(b);
	b = build(NULL);
	recs = json_object_get(b, "records");
	json_array_remove(recs, 3);
	json_array_remove(recs, 2);
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_RECORD_MISSING);
	assert_non_null(strstr(rep.detail, "states 2 statements"));
	/* the first chunk's record: chunk 1 then starts in the wrong place */
	recs = json_object_get(copy, "records");
	json_array_remove(recs, 4);
	assert_int_equal(check(copy, pub, &rep), TG_BUNDLE_FAULT_RECORD_MISSING);
	/* the last chunk's record: session.end states 2 */
	json_decref(copy);
	copy = build(NULL);
	recs = json_object_get(copy, "records");
	json_array_remove(recs, 5);
	json_array_remove(json_object_get(copy, "chunks"), 1);
	assert_int_equal(check(copy, pub, &rep), TG_BUNDLE_FAULT_RECORD_MISSING);
	assert_non_null(strstr(rep.detail, "states 2 recording chunks"));
	/* session.end gone as well: the session looks open, and that is said */
	json_array_remove(recs, 5);
	assert_int_equal(check(copy, pub, &rep), TG_BUNDLE_FAULT_NONE);
	assert_false(rep.ended);
	json_decref(copy);
	json_decref(b);
}

static void
test_proof_and_record(void **state)
{
	struct tg_bundle_report rep;
	json_t *b = build(NULL), *copy = json_deep_copy(b), *path, *r;
	char h[65], *text;

	(void)state;
	path = json_object_get(record_at(b, 2), "path");
	snprintf(h, sizeof(h), "%s", json_string_value(json_array_get(path, 0)));
	h[63] = h[63] == '0' ? '1' : '0';
	json_array_set_new(path, 0, json_string(h));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_PROOF);
	assert_int_equal(rep.seq, json_integer_value(json_object_get(record_at(b, 2), "seq")));
	/* a path of the wrong length, or a hash that is not hex */
	json_array_append_new(path, json_string(h));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_PROOF);
	json_array_set_new(path, 0, json_string("zz"));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_MALFORMED);

	r = record_at(copy, 1);
	text = strdup(json_string_value(json_object_get(r, "record")));
	*strstr(text, "SELECT 1") = 'X';
	json_object_set_new(r, "record", json_string(text));
	free(text);
	assert_int_equal(check(copy, pub, &rep), TG_BUNDLE_FAULT_PROOF);
	json_decref(copy);
	/* a record moved to another seq */
	copy = build(NULL);
	json_object_set_new(record_at(copy, 1), "seq", json_integer(2));
	assert_int_equal(check(copy, pub, &rep), TG_BUNDLE_FAULT_PROOF);
	json_decref(copy);
	json_decref(b);
}

static void
test_keys(void **state)
{
	struct tg_bundle_report rep;
	json_t *b = build(NULL), *cp;
	uint8_t other[TG_NOTE_PUB];
	EVP_PKEY *k;
	char note[TG_NOTE_MAX], *text, b64[64];
	size_t text_len, len;

	(void)state;
	/* another key: the pinned one differs from the bundle's */
	memcpy(other, pub, sizeof(other));
	other[0] ^= 0x80;
	assert_int_equal(check(b, other, &rep), TG_BUNDLE_FAULT_KEY);

	/* the checkpoint re-signed by another key under the same name */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k);
	cp = json_object_get(b, "checkpoint");
	text = strdup(json_string_value(json_object_get(cp, "note")));
	assert_int_equal(tg_note_text(text, strlen(text), &text_len), 0);
	assert_int_equal(tg_note_sign(k, ORIGIN, text, text_len, note, sizeof(note), &len), 0);
	json_object_set_new(cp, "note", json_string(note));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_CHECKPOINT_SIGNATURE);
	/* and the bundle's key swapped to match: only a pinned key tells */
	assert_int_equal(tg_note_key_public(k, other), 0);
	tg_note_b64_encode(other, sizeof(other), b64, sizeof(b64));
	json_object_set_new(json_object_get(b, "key"), "ed25519", json_string(b64));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_KEY);
	assert_int_equal(check(b, NULL, &rep), TG_BUNDLE_FAULT_NONE);
	assert_false(rep.pinned);
	/* a note of another size than the bundle says */
	json_object_set_new(cp, "size", json_integer(3));
	assert_int_equal(check(b, NULL, &rep), TG_BUNDLE_FAULT_CHECKPOINT_MALFORMED);
	EVP_PKEY_free(k);
	free(text);
	json_decref(b);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"bundle\":\"tollgate-evidence\",\"version\":2}",
		"{\"bundle\":\"x\",\"version\":1}",
		"{\"bundle\":\"tollgate-evidence\",\"version\":1,\"origin\":\"a b\"}",
		"{\"a\":1,\"a\":2}",
	};
	struct tg_bundle_report rep;
	json_t *b;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tg_bundle_verify(bad[i], strlen(bad[i]), pub, &rep), 0);
		assert_false(rep.ok);
		assert_int_equal(rep.fault, TG_BUNDLE_FAULT_MALFORMED);
	}
	b = build(NULL);
	json_object_del(b, "key");
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_MALFORMED);
	json_decref(b);
	b = build(NULL);
	json_array_insert(json_object_get(b, "records"), 0, record_at(b, 1));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_RECORD_ORDER);
	json_decref(b);
	/* a record of another session, proven but not the bundle's */
	b = build(NULL);
	json_object_set_new(b, "session", json_string(OTHER));
	assert_int_equal(check(b, pub, &rep), TG_BUNDLE_FAULT_RECORD_MALFORMED);
	json_decref(b);
}

static void
test_report_json(void **state)
{
	struct tg_bundle_report rep;
	json_t *b = build(NULL), *j;

	(void)state;
	check(b, pub, &rep);
	j = tg_bundle_report_json(&rep);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "records")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "key")), "given");
	json_decref(j);
	json_array_remove(json_object_get(b, "records"), 0);
	check(b, pub, &rep);
	j = tg_bundle_report_json(&rep);
	assert_string_equal(json_string_value(json_object_get(j, "fault")), "record_missing");
	json_decref(j);
	json_decref(b);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_build_verify),  T(test_not_found),
		T(test_chunk_changed), T(test_chunk_expired_and_unknown),
		T(test_removed),       T(test_proof_and_record),
		T(test_keys),	       T(test_malformed),
		T(test_report_json),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
