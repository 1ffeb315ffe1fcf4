/* SPDX-License-Identifier: MIT */
/*
 * test_canon.c — unit tests of the canonical record encoding (canon.c):
 * fixed vectors, byte for byte, for key order, string escapes, integers
 * and nesting; the refusals (invalid UTF-8, reals, too deep); and that
 * parsing the output and encoding it again gives the same bytes, which is
 * what the verifier relies on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "canon.h"

/* Encodes v (and drops it), compares with want[0..want_len). */
static void
check_bytes(json_t *v, const char *want, size_t want_len)
{
	char *out = NULL;
	size_t len = 0;

	assert_non_null(v);
	assert_int_equal(tg_canon_encode(v, &out, &len), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[len], '\0');
	free(out);
	json_decref(v);
}

#define check(v, want) check_bytes((v), (want), sizeof(want) - 1)

static int
encode_rc(json_t *v)
{
	char *out = (char *)1;
	size_t len = 1;
	int rc;

	assert_non_null(v);
	rc = tg_canon_encode(v, &out, &len);
	if (rc < 0) {
		assert_null(out);
		assert_int_equal(len, 0);
	}
	free(rc < 0 ? NULL : out);
	json_decref(v);
	return rc;
}

static void
test_sorted_compact(void **state)
{
	(void)state;
	check(json_pack("{s:i, s:[b, b, n, i, s]}", "b", 1, "a", 1, 0, -5, "x"),
	      "{\"a\":[true,false,null,-5,\"x\"],\"b\":1}");
}

static void
test_key_byte_order(void **state)
{
	(void)state;
	/* "" < "B" (0x42) < "a" < "aa" (a prefix sorts first) < "b" < "é" (0xc3 0xa9) */
	check(json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "b", 0, "B", 0, "aa", 0, "a", 0,
			"\xc3\xa9", 0, "", 0),
	      "{\"\":0,\"B\":0,\"a\":0,\"aa\":0,\"b\":0,\"\xc3\xa9\":0}");
}

/*
 * RFC 8785 3.2.3's sorting example, with its number value left out. JCS
 * orders by UTF-16 code units and puts U+1F600 (surrogates d83d de00)
 * before U+FB33; byte order, documented in canon.h, puts it after.
 */
static void
test_rfc8785_sorting_example(void **state)
{
	(void)state;
	check(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "\xe2\x82\xac", "Euro Sign", "\r",
			"Carriage Return", "\xef\xac\xb3", "Hebrew Letter Dalet With Dagesh", "1",
			"One", "\xf0\x9f\x98\x80", "Emoji: Grinning Face", "\xc2\x80", "Control",
			"\xc3\xb6", "Latin Small Letter O With Diaeresis"),
	      "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
	      "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
	      "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\","
	      "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\"}");
}

static void
test_string_escapes(void **state)
{
	(void)state;
	/* quote, backslash, the five short escapes, other controls as \u00xx
	 * lowercase; DEL, '/', and non-ASCII as they are */
	check(json_string("\"\\\b\f\n\r\t\x01\x1f\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
	      "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* U+0000 inside a string */
	check(json_stringn("a\0b", 3), "\"a\\u0000b\"");
	/* controls that have no short form: 0x0b, 0x1b */
	check(json_string("\x0b\x1b"), "\"\\u000b\\u001b\"");
}

static void
test_integers(void **state)
{
	(void)state;
	check(json_pack("[I, I, i, i, i]", (json_int_t)INT64_MIN, (json_int_t)INT64_MAX, 0, -1,
			1000000),
	      "[-9223372036854775808,9223372036854775807,0,-1,1000000]");
}

static void
test_nesting_and_empty(void **state)
{
	(void)state;
	check(json_pack("{s:{}, s:[], s:[[]], s:{s:{s:b}}}", "o", "a", "n", "d", "e", "f", 0),
	      "{\"a\":[],\"d\":{\"e\":{\"f\":false}},\"n\":[[]],\"o\":{}}");
	check(json_object(), "{}");
	check(json_null(), "null");
}

/* A record as the store writes it: one fixed vector for the whole schema shape. */
static void
test_record_vector(void **state)
{
	(void)state;
	check(json_pack("{s:i, s:s, s:I, s:s, s:s, s:{s:s}, s:s, s:{s:s, s:s}, s:{s:s, s:i}}",
			"schema_v", 1, "origin", "gw1.example/audit", "seq", (json_int_t)42,
			"prev_chain",
			"0000000000000000000000000000000000000000000000000000000000000000", "ts",
			"2025-01-31T23:59:59.123456Z", "event", "type", "db.query", "outcome",
			"success", "db", "statement", "SELECT * FROM t WHERE a = $1", "user",
			"alice", "src", "ip", "192.0.2.1", "port", 51234),
	      "{\"db\":{\"statement\":\"SELECT * FROM t WHERE a = $1\",\"user\":\"alice\"},"
	      "\"event\":{\"type\":\"db.query\"},\"origin\":\"gw1.example/audit\","
	      "\"outcome\":\"success\","
	      "\"prev_chain\":\"0000000000000000000000000000000000000000000000000000000000000000\","
	      "\"schema_v\":1,\"seq\":42,\"src\":{\"ip\":\"192.0.2.1\",\"port\":51234},"
	      "\"ts\":\"2025-01-31T23:59:59.123456Z\"}");
}

static void
test_insertion_order_irrelevant(void **state)
{
	json_t *x = json_object(), *y = json_object();
	char *a, *b;
	size_t la, lb;

	(void)state;
	json_object_set_new(x, "zeta", json_integer(1));
	json_object_set_new(x, "alpha", json_integer(2));
	json_object_set_new(x, "mid", json_string("m"));
	json_object_set_new(y, "mid", json_string("m"));
	json_object_set_new(y, "zeta", json_integer(1));
	json_object_set_new(y, "alpha", json_integer(2));
	assert_int_equal(tg_canon_encode(x, &a, &la), 0);
	assert_int_equal(tg_canon_encode(y, &b, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	json_decref(x);
	json_decref(y);
}

static void
test_invalid_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
		{ "\xc3\x28", 2 },	       /* 2-byte lead, ASCII after */
		{ "\xc0\xaf", 2 },	       /* overlong '/' */
		{ "\xc1\xbf", 2 },	       /* overlong */
		{ "\xe0\x80\xaf", 3 },	       /* overlong 3-byte */
		{ "\xed\xa0\x80", 3 },	       /* U+D800, a surrogate */
		{ "\xf0\x80\x80\xaf", 4 },     /* overlong 4-byte */
		{ "\xf4\x90\x80\x80", 4 },     /* U+110000 */
		{ "\xe2\x82", 2 },	       /* truncated */
		{ "\x80", 1 },		       /* lone continuation */
		{ "\xf8\x88\x80\x80\x80", 5 }, /* 5-byte form */
		{ "\xff", 1 },
	};
	static const struct {
		const char *s;
		size_t len;
	} good[] = {
		{ "\xed\x9f\xbf", 3 },	   /* U+D7FF */
		{ "\xee\x80\x80", 3 },	   /* U+E000 */
		{ "\xef\xbf\xbf", 3 },	   /* U+FFFF */
		{ "\xf0\x90\x80\x80", 4 }, /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", 4 }, /* U+10FFFF */
	};
	json_t *o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(tg_canon_utf8_valid(bad[i].s, bad[i].len));
		assert_int_equal(encode_rc(json_stringn_nocheck(bad[i].s, bad[i].len)), -EILSEQ);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(tg_canon_utf8_valid(good[i].s, good[i].len));
		assert_int_equal(encode_rc(json_stringn(good[i].s, good[i].len)), 0);
	}
	/* in a key, and deep inside a value */
	o = json_object();
	json_object_setn_new_nocheck(o, "\xff", 1, json_true());
	assert_int_equal(encode_rc(o), -EILSEQ);
	assert_int_equal(encode_rc(json_pack("{s:[i, {s:o}]}", "a", 1, "b",
					     json_stringn_nocheck("\xc0\xaf", 2))),
			 -EILSEQ);
}

static void
test_refusals(void **state)
{
	json_t *deep = json_array(), *inner = deep;

	(void)state;
	assert_int_equal(encode_rc(json_real(1.5)), -EINVAL);
	assert_int_equal(encode_rc(json_pack("{s:[i, f]}", "a", 1, 0.0)), -EINVAL);
	assert_int_equal(tg_canon_encode(NULL, &(char *){ NULL }, &(size_t){ 0 }), -EINVAL);

	/* 32 nested arrays are allowed, the 33rd is refused */
	for (int i = 1; i < TG_CANON_DEPTH_MAX; i++) {
		json_t *a = json_array();

		json_array_append_new(inner, a);
		inner = a;
	}
	json_incref(deep);
	assert_int_equal(encode_rc(deep), 0);
	json_array_append_new(inner, json_array());
	assert_int_equal(encode_rc(deep), -ELOOP);
}

/* parse(encode(v)) encodes to the same bytes: the verifier's check. */
static void
test_round_trip(void **state)
{
	json_t *v = json_pack("{s:s, s:s%, s:[I, b, n], s:{s:s}}", "k\x01", "\"\\\n\x7f", "nul",
			      "a\0b", (size_t)3, "n", (json_int_t)INT64_MIN, 1, "\xc3\xa9",
			      "\xf0\x9f\x98\x80", "x");
	char *a, *b;
	size_t la, lb;
	json_t *back;

	(void)state;
	assert_non_null(v);
	assert_int_equal(tg_canon_encode(v, &a, &la), 0);
	back = json_loadb(a, la, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	assert_non_null(back);
	assert_int_equal(tg_canon_encode(back, &b, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	json_decref(back);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_compact),
		cmocka_unit_test(test_key_byte_order),
		cmocka_unit_test(test_rfc8785_sorting_example),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_nesting_and_empty),
		cmocka_unit_test(test_record_vector),
		cmocka_unit_test(test_insertion_order_irrelevant),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
