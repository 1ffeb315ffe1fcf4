/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c — unit tests of the policy file (policy.c) and of the
 * position locator its errors use (jsonpos.c).
 *
 * jsonpos: values and keys found along paths through escaped strings,
 * unicode escapes and surrogate pairs, nested arrays, CRLF line ends and
 * multi-byte characters (columns count characters, as jansson's do), and
 * every prefix of a document walked without reading past its end.
 *
 * policy: a full policy with every field checked; command rules in file
 * order (an allow before a block), by service, with and without case, the
 * default; one table of refusals with the exact "source:line:column:"
 * each must carry, the position computed apart from the code under test
 * (by searching the text for the offending token); the caps; compile
 * errors at the pattern's position; column lookup; the lab's
 * appliance/policy.json; and every prefix and a seeded set of byte
 * mutations of a valid policy, each accepted or refused with a position
 * (ASan checks that nothing leaks on any path).
 *
 * Compiled policy blobs: the text's SHA-256 at the padding boundaries;
 * compile, serialise, load the blob and get the same answers (every
 * statement for every service, every field, a seeded sweep of fields with
 * card, IBAN, e-mail, SSN, phone, AWS key, JWT, private key and regex
 * values planted) for the lab's policy, one with every kind and all four
 * databases, and smaller ones; the loaded policy serialises to the same
 * bytes. Refusals, each with its reason: every truncation, the magic,
 * version, count and every bit of the text's digest, another text,
 * databases missing, extra, out of order, twice, under unknown tags, of
 * another count or expression list, another policy's in their place, too
 * short; every byte of each database's bytecode flipped (Hyperscan's CRC),
 * and the bytes Hyperscan ignores, which must then answer the same.
 *
 * Services: "pg-a" is index 0, "pg-b" index 1. Deterministic: the
 * mutation sweep uses a fixed-seed xorshift; temporary files are removed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "detect.h"
#include "jsonpos.h"
#include "policy.h"
#include "wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#ifndef TG_SOURCE_ROOT
#error "TG_SOURCE_ROOT must name the source tree (tests/unit/meson.build)"
#endif

static struct tg_services svcs;

static int
group_setup(void **state)
{
	(void)state;
	memset(&svcs, 0, sizeof(svcs));
	snprintf(svcs.svc[0].name, sizeof(svcs.svc[0].name), "pg-a");
	snprintf(svcs.svc[1].name, sizeof(svcs.svc[1].name), "pg-b");
	svcs.nb = 2;
	return 0;
}

/* Heap copy of exactly len bytes, so that ASan sees a read past the end. */
static char *
heap_copy(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, s, len);
	return b;
}

static struct tg_policy *
parse_ok(const char *text)
{
	struct tg_policy *p = NULL;
	char err[512] = "";
	char *b = heap_copy(text, strlen(text));
	int rc = tg_policy_parse(b, strlen(text), "t", &svcs, &p, err, sizeof(err));

	free(b);
	if (rc != 0)
		fail_msg("parse: %d: %s", rc, err);
	assert_non_null(p);
	return p;
}

static struct tg_policy *
load_ok(const char *text)
{
	struct tg_policy *p = parse_ok(text);
	char err[512] = "";
	int rc = tg_policy_compile(p, "t", err, sizeof(err));

	if (rc != 0)
		fail_msg("compile: %d: %s", rc, err);
	return p;
}

/* "src:LINE:COL: " with both numbers at least 1: how every refusal starts. */
static int
has_position(const char *err, const char *src)
{
	size_t n = strlen(src);
	unsigned int line = 0, col = 0;
	int used = 0;

	if (strncmp(err, src, n) != 0 || err[n] != ':')
		return 0;
	if (sscanf(err + n, ":%u:%u: %n", &line, &col, &used) != 2 || used == 0)
		return 0;
	return line >= 1 && col >= 1;
}

/* ------------------------------------------------------------------ */
/* jsonpos                                                             */

#define K(k) { .key = (k) }
#define I(i) { .key = NULL, .index = (i) }

static void
expect_pos(const char *text, const struct tg_jsonpos_step *path, unsigned int depth, int key,
	   uint32_t line, uint32_t col)
{
	char *b = heap_copy(text, strlen(text));
	uint32_t l = 0, c = 0;
	int rc = key ? tg_jsonpos_find_key(b, strlen(text), path, depth, &l, &c) :
		       tg_jsonpos_find(b, strlen(text), path, depth, &l, &c);

	free(b);
	assert_int_equal(rc, 0);
	if (l != line || c != col)
		fail_msg("expected %u:%u, got %u:%u", line, col, l, c);
}

static void
expect_missing(const char *text, const struct tg_jsonpos_step *path, unsigned int depth, int rc)
{
	char *b = heap_copy(text, strlen(text));
	uint32_t l, c;

	assert_int_equal(tg_jsonpos_find(b, strlen(text), path, depth, &l, &c), rc);
	free(b);
}

static void
test_jsonpos_basic(void **state)
{
	const char *t = "{\"a\": 1, \"b\": [10, 20, {\"c\": \"x\"}], \"ab\": null}";
	const struct tg_jsonpos_step a[] = { K("a") };
	const struct tg_jsonpos_step b1[] = { K("b"), I(1) };
	const struct tg_jsonpos_step bc[] = { K("b"), I(2), K("c") };
	const struct tg_jsonpos_step ab[] = { K("ab") };
	const struct tg_jsonpos_step nope[] = { K("abc") };
	const struct tg_jsonpos_step b9[] = { K("b"), I(3) };
	const struct tg_jsonpos_step wrong[] = { K("a"), K("x") };
	const struct tg_jsonpos_step arr_key[] = { K("b"), I(0) };

	(void)state;
	expect_pos(t, NULL, 0, 0, 1, 1);
	expect_pos(t, a, 1, 0, 1, 7);
	expect_pos(t, a, 1, 1, 1, 2);
	expect_pos(t, b1, 2, 0, 1, 20);
	expect_pos(t, bc, 3, 0, 1, 30);
	expect_pos(t, bc, 3, 1, 1, 25);
	/* "ab" is not "a" and "a" is not "ab": whole keys are compared */
	expect_pos(t, ab, 1, 0, 1, 43);
	expect_missing(t, nope, 1, -ENOENT);
	expect_missing(t, b9, 2, -ENOENT);
	expect_missing(t, wrong, 2, -ENOENT);
	{
		uint32_t l, c;

		/* the key of an array element: there is none */
		assert_int_equal(tg_jsonpos_find_key(t, strlen(t), arr_key, 2, &l, &c), -EINVAL);
		assert_int_equal(tg_jsonpos_find_key(t, strlen(t), NULL, 0, &l, &c), -EINVAL);
	}
}

static void
test_jsonpos_strings(void **state)
{
	/*
	 * Strings that hold what ends containers and strings: escaped quotes,
	 * backslashes before quotes, brackets and braces, and keys spelled
	 * with escapes.
	 */
	const char *t = "{\"q\\\"x\": \"va\\\"l}]\\\\\", \"s\": \"[{\\\\\\\"\", "
			"\"\\u00e9t\\u00E9\": 1, \"\\ud83d\\ude00\": 2, \"tab\\t\\/\": 3, \"k\": true}";
	const struct tg_jsonpos_step q[] = { K("q\"x") };
	const struct tg_jsonpos_step s[] = { K("s") };
	const struct tg_jsonpos_step ete[] = { K("\xc3\xa9t\xc3\xa9") };
	const struct tg_jsonpos_step smile[] = { K("\xf0\x9f\x98\x80") };
	const struct tg_jsonpos_step tab[] = { K("tab\t/") };
	const struct tg_jsonpos_step k[] = { K("k") };
	const struct tg_jsonpos_step half[] = { K("\xc3\xa9t") };

	(void)state;
	expect_pos(t, q, 1, 0, 1, 10);
	expect_pos(t, s, 1, 0, 1, 28);
	expect_pos(t, ete, 1, 0, 1, 55);
	expect_pos(t, smile, 1, 0, 1, 74);
	expect_pos(t, tab, 1, 0, 1, 88);
	expect_pos(t, k, 1, 0, 1, 96);
	expect_pos(t, k, 1, 1, 1, 91);
	expect_missing(t, half, 1, -ENOENT);
}

static void
test_jsonpos_nested_crlf_utf8(void **state)
{
	const char *nested = "[[1,[2,3]],[[4]],5,\n [ [ ], {\"x\": [[],[\"y\"]]} ]]";
	const struct tg_jsonpos_step n013[] = { I(0), I(1), I(1) };
	const struct tg_jsonpos_step n100[] = { I(1), I(0), I(0) };
	const struct tg_jsonpos_step n2[] = { I(2) };
	const struct tg_jsonpos_step n31x10[] = { I(3), I(1), K("x"), I(1), I(0) };
	const struct tg_jsonpos_step n30[] = { I(3), I(0) };
	const struct tg_jsonpos_step n300[] = { I(3), I(0), I(0) };
	/* CRLF ends, tabs: '\r' is the last column of its line, as in jansson */
	const char *crlf = "{\r\n\t\"a\": {\r\n\t\t\"b\": [\r\n\t\t\t1,\r\n\t\t\t\"two\"\r\n\t\t]\r\n\t}\r\n}\r\n";
	const struct tg_jsonpos_step b1[] = { K("a"), K("b"), I(1) };
	const struct tg_jsonpos_step bkey[] = { K("a"), K("b") };
	/* multi-byte characters are one column each */
	const char *utf8 = "{\"gr\xc3\xb6\xc3\x9f" "e\": \"\xf0\x9f\x98\x80\xe2\x82\xac\", \"n\": 1}";
	const struct tg_jsonpos_step n[] = { K("n") };

	(void)state;
	expect_pos(nested, n013, 3, 0, 1, 8);
	expect_pos(nested, n100, 3, 0, 1, 14);
	expect_pos(nested, n2, 1, 0, 1, 18);
	expect_pos(nested, n31x10, 5, 0, 2, 20);
	expect_pos(nested, n30, 2, 0, 2, 4);
	expect_missing(nested, n300, 3, -ENOENT);
	expect_pos(crlf, b1, 3, 0, 5, 4);
	expect_pos(crlf, bkey, 2, 1, 3, 3);
	expect_pos(utf8, n, 1, 0, 1, 22);
}

static void
test_jsonpos_next_linecol(void **state)
{
	const char *t = "[ \"a,]\" ,{\"k\":[1,2]}\n, 3e5 , null]";
	const struct tg_jsonpos_step first[] = { I(0) };
	const struct tg_jsonpos_lc start = TG_JSONPOS_LC_INIT;
	struct tg_jsonpos_lc lc = start;
	size_t off, next;

	(void)state;
	assert_int_equal(tg_jsonpos_offset(t, strlen(t), 0, first, 1, 0, &off), 0);
	assert_int_equal(off, 2);
	assert_int_equal(tg_jsonpos_next(t, strlen(t), off, &next), 0);
	assert_int_equal(next, 9);
	assert_int_equal(tg_jsonpos_next(t, strlen(t), next, &next), 0);
	tg_jsonpos_linecol(t, strlen(t), next, &lc);
	assert_int_equal(lc.line, 2);
	assert_int_equal(lc.col, 3);
	assert_int_equal(tg_jsonpos_next(t, strlen(t), next, &next), 0);
	assert_int_equal(t[next], 'n');
	assert_int_equal(tg_jsonpos_next(t, strlen(t), next, &next), -ENOENT);
	/* an earlier offset starts over */
	tg_jsonpos_linecol(t, strlen(t), 1, &lc);
	assert_int_equal(lc.line, 1);
	assert_int_equal(lc.col, 2);
	/* past the end counts as the end */
	tg_jsonpos_linecol(t, strlen(t), 1000, &lc);
	assert_int_equal(lc.line, 2);
	assert_int_equal(lc.off, strlen(t));
	/* a path from an inner offset */
	{
		const struct tg_jsonpos_step k1[] = { K("k"), I(1) };

		assert_int_equal(tg_jsonpos_offset(t, strlen(t), 9, k1, 2, 0, &off), 0);
		assert_int_equal(t[off], '2');
	}
}

/* Every prefix of a document: the walker stays in bounds and finds nothing wrong. */
static void
test_jsonpos_prefixes(void **state)
{
	const char *t = "{\"a\\\"\": [1, {\"b\\u00e9\": \"x\\\\\"}, [[\"\\ud83d\\ude00\"]]], \"c\": 2}";
	const struct tg_jsonpos_step paths[][4] = {
		{ K("a\""), I(1), K("b\xc3\xa9") },
		{ K("a\""), I(2), I(0), I(0) },
		{ K("c") },
	};
	const unsigned int depth[] = { 3, 4, 1 };
	size_t len = strlen(t), n, k;

	(void)state;
	for (n = 0; n <= len; n++) {
		char *b = heap_copy(t, n);

		for (k = 0; k < ARRAY_SIZE(paths); k++) {
			size_t off = 0, next;
			int rc = tg_jsonpos_offset(b, n, 0, paths[k], depth[k], 0, &off);

			if (rc == 0) {
				assert_true(off < n);
				(void)tg_jsonpos_next(b, n, off, &next);
			}
			/* a key only where the last step is a member */
			rc = tg_jsonpos_offset(b, n, 0, paths[k], depth[k], 1, &off);
			if (paths[k][depth[k] - 1].key == NULL)
				assert_int_equal(rc, -EINVAL);
			else
				assert_true(rc == 0 || rc == -ENOENT);
		}
		free(b);
	}
}

/* ------------------------------------------------------------------ */
/* A full policy                                                       */

static const char full_policy[] =
	"{\n"
	"  \"commands\": {\n"
	"    \"default\": \"log\",\n"
	"    \"rules\": [\n"
	"      { \"id\": \"allow-tmp\", \"patterns\": [\"drop\\\\s+table\\\\s+tmp_\"], \"caseless\": true,\n"
	"        \"action\": \"allow\" },\n"
	"      { \"id\": \"no-drop\", \"patterns\": [\"\\\\bdrop\\\\s+table\\\\b\", \"\\\\btruncate\\\\b\"],\n"
	"        \"caseless\": true, \"action\": \"block\", \"services\": [\"pg-a\"] },\n"
	"      { \"id\": \"Audit.Log_1\", \"patterns\": [\"SELECT\"], \"action\": \"log\",\n"
	"        \"services\": [\"pg-b\", \"pg-a\"] }\n"
	"    ]\n"
	"  },\n"
	"  \"detectors\": [\n"
	"    { \"id\": \"card\", \"kind\": \"card\", \"mask\": \"last4\" },\n"
	"    { \"id\": \"ssn\", \"kind\": \"ssn\", \"no_dash\": true },\n"
	"    { \"id\": \"emp\", \"kind\": \"regex\", \"pattern\": \"EMP-[0-9]{6}\", \"caseless\": true,\n"
	"      \"utf8\": true, \"mask\": \"keep-domain\", \"services\": [\"pg-b\"] },\n"
	"    { \"id\": \"mail\", \"kind\": \"email\" }\n"
	"  ],\n"
	"  \"columns\": [\n"
	"    { \"id\": \"ssn-column\", \"column\": \"SSN\", \"mask\": \"full\" },\n"
	"    { \"id\": \"card-col\", \"column\": \"card_number\", \"mask\": \"last4\", \"services\": [\"pg-b\"] }\n"
	"  ]\n"
	"}\n";

static void
test_full_policy(void **state)
{
	struct tg_policy *p = parse_ok(full_policy);
	const struct tg_policy_detector *d;

	(void)state;
	assert_int_equal(p->cmd_default, TG_ACT_LOG);
	assert_null(p->cmd_db);
	assert_null(p->det_db);

	assert_int_equal(p->nb_cmds, 3);
	assert_string_equal(p->cmds[0].id, "allow-tmp");
	assert_int_equal(p->cmds[0].action, TG_ACT_ALLOW);
	assert_int_equal(p->cmds[0].caseless, 1);
	assert_true(p->cmds[0].services == TG_POLICY_ALL_SERVICES);
	assert_string_equal(p->cmds[1].id, "no-drop");
	assert_int_equal(p->cmds[1].action, TG_ACT_BLOCK);
	assert_int_equal(p->cmds[1].caseless, 1);
	assert_true(p->cmds[1].services == 0x1);
	assert_string_equal(p->cmds[2].id, "Audit.Log_1");
	assert_int_equal(p->cmds[2].action, TG_ACT_LOG);
	assert_int_equal(p->cmds[2].caseless, 0);
	assert_true(p->cmds[2].services == 0x3);

	/* patterns: escapes decoded, in file order, with their positions */
	assert_int_equal(p->nb_patterns, 4);
	assert_string_equal(p->patterns[0].expr, "drop\\s+table\\s+tmp_");
	assert_int_equal(p->patterns[0].rule, 0);
	assert_int_equal(p->patterns[0].pos.line, 5);
	assert_int_equal(p->patterns[0].pos.col, 41);
	assert_string_equal(p->patterns[1].expr, "\\bdrop\\s+table\\b");
	assert_int_equal(p->patterns[1].rule, 1);
	assert_int_equal(p->patterns[1].pos.line, 7);
	assert_int_equal(p->patterns[1].pos.col, 39);
	assert_string_equal(p->patterns[2].expr, "\\btruncate\\b");
	assert_int_equal(p->patterns[2].rule, 1);
	assert_int_equal(p->patterns[2].pos.line, 7);
	assert_int_equal(p->patterns[2].pos.col, 62);
	assert_string_equal(p->patterns[3].expr, "SELECT");
	assert_int_equal(p->patterns[3].rule, 2);
	assert_int_equal(p->patterns[3].pos.line, 9);
	assert_int_equal(p->patterns[3].pos.col, 43);

	assert_int_equal(p->nb_dets, 4);
	d = &p->dets[0];
	assert_string_equal(d->id, "card");
	assert_int_equal(d->kind, TG_DETECT_CARD);
	assert_int_equal(d->style, TG_DETECT_MASK_KEEP_LAST4);
	assert_int_equal(d->flags, 0);
	assert_null(d->pattern);
	assert_true(d->services == TG_POLICY_ALL_SERVICES);
	assert_int_equal(d->pos.line, 14);
	assert_int_equal(d->pos.col, 5);
	d = &p->dets[1];
	assert_string_equal(d->id, "ssn");
	assert_int_equal(d->kind, TG_DETECT_SSN);
	assert_int_equal(d->style, TG_DETECT_MASK_FULL);	/* the default */
	assert_int_equal(d->flags, TG_DETECT_F_SSN_NODASH);
	assert_int_equal(d->pos.line, 15);
	assert_int_equal(d->pos.col, 5);
	d = &p->dets[2];
	assert_string_equal(d->id, "emp");
	assert_int_equal(d->kind, TG_DETECT_REGEX);
	assert_int_equal(d->style, TG_DETECT_MASK_EMAIL_DOMAIN);
	assert_int_equal(d->flags, TG_DETECT_F_CASELESS | TG_DETECT_F_UTF8);
	assert_string_equal(d->pattern, "EMP-[0-9]{6}");
	assert_true(d->services == 0x2);
	assert_int_equal(d->pos.line, 16);
	assert_int_equal(d->pos.col, 48);
	d = &p->dets[3];
	assert_string_equal(d->id, "mail");
	assert_int_equal(d->kind, TG_DETECT_EMAIL);
	assert_int_equal(d->pos.line, 18);
	assert_int_equal(d->pos.col, 5);

	assert_int_equal(p->nb_cols, 2);
	assert_string_equal(p->cols[0].id, "ssn-column");
	assert_string_equal(p->cols[0].column, "SSN");
	assert_int_equal(p->cols[0].style, TG_DETECT_MASK_FULL);
	assert_true(p->cols[0].services == TG_POLICY_ALL_SERVICES);
	assert_string_equal(p->cols[1].id, "card-col");
	assert_string_equal(p->cols[1].column, "card_number");
	assert_int_equal(p->cols[1].style, TG_DETECT_MASK_KEEP_LAST4);
	assert_true(p->cols[1].services == 0x2);

	/* compiled: both databases, a scratch for each */
	{
		char err[256];
		struct tg_policy_scratch *s;
		struct tg_detect_match m[8];
		const char *row = "id 4111 1111 1111 1111 emp-123456";
		int n;

		assert_int_equal(tg_policy_compile(p, "t", err, sizeof(err)), 0);
		assert_non_null(p->cmd_db);
		assert_non_null(p->det_db);
		assert_int_equal(tg_policy_compile(p, "t", err, sizeof(err)), -EALREADY);
		s = tg_policy_scratch_alloc(p);
		assert_non_null(s);
		assert_non_null(tg_policy_detect_scratch(s));
		/* a detector's index is its id in the detect database */
		n = tg_detect_scan(p->det_db, tg_policy_detect_scratch(s), (const uint8_t *)row,
				   (uint32_t)strlen(row), m, 8);
		assert_int_equal(n, 2);
		assert_int_equal(m[0].id, 0);
		assert_int_equal(m[1].id, 2);
		assert_string_equal(tg_detect_name(p->det_db, 2), "emp");
		tg_policy_scratch_free(s);
	}
	tg_policy_free(p);
}

static void
test_empty_policies(void **state)
{
	static const char *const texts[] = {
		"{}", " {\n} ", "{\"commands\": {}}", "{\"commands\": {\"rules\": []}}",
		"{\"detectors\": [], \"columns\": []}",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		struct tg_policy *p = load_ok(texts[i]);
		struct tg_policy_scratch *s = tg_policy_scratch_alloc(p);
		uint32_t r[2];

		assert_int_equal(p->cmd_default, TG_ACT_ALLOW);
		assert_null(p->cmd_db);
		assert_null(p->det_db);
		assert_non_null(s);
		assert_null(tg_policy_detect_scratch(s));
		assert_int_equal(tg_policy_match_cmd(p, s, "DROP TABLE x", 12, 0, r, 2), 0);
		assert_null(tg_policy_column(p, "ssn", 3, 0));
		tg_policy_scratch_free(s);
		tg_policy_free(p);
	}
	assert_string_equal(tg_cmd_action_names[TG_ACT_ALLOW], "allow");
	assert_string_equal(tg_cmd_action_names[TG_ACT_LOG], "log");
	assert_string_equal(tg_cmd_action_names[TG_ACT_BLOCK], "block");
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */

static int
match(const struct tg_policy *p, struct tg_policy_scratch *s, const char *text, uint16_t svc,
      uint32_t *rules, unsigned int max)
{
	char *b = heap_copy(text, strlen(text));
	int n = tg_policy_match_cmd(p, s, b, (uint32_t)strlen(text), svc, rules, max);

	free(b);
	return n;
}

static void
test_match_order_scope_case(void **state)
{
	struct tg_policy *p = load_ok(full_policy);
	struct tg_policy_scratch *s = tg_policy_scratch_alloc(p);
	uint32_t r[4];

	(void)state;
	assert_non_null(s);
	/* an allow exception before a broader block: both match, the allow decides */
	assert_int_equal(match(p, s, "drop table tmp_x", 0, r, 4), 2);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 1);
	/* caseless, across lines (DOTALL is not needed for \s, but for the span) */
	assert_int_equal(match(p, s, "DROP\n\tTABLE accounts", 0, r, 4), 1);
	assert_int_equal(r[0], 1);
	/* scope: no-drop is pg-a's only */
	assert_int_equal(match(p, s, "DROP TABLE accounts", 1, r, 4), 0);
	assert_int_equal(match(p, s, "drop table tmp_x", 1, r, 4), 1);
	assert_int_equal(r[0], 0);
	/* case-sensitive: SELECT, not select */
	assert_int_equal(match(p, s, "select 1", 0, r, 4), 0);
	assert_int_equal(match(p, s, "SELECT 1", 1, r, 4), 1);
	assert_int_equal(r[0], 2);
	/* every rule, file order, whatever the order in the text */
	assert_int_equal(match(p, s, "SELECT 1; TRUNCATE t; drop table tmp_1", 0, r, 4), 3);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 1);
	assert_int_equal(r[2], 2);
	/* more matches than room: the count, and the first max written */
	r[1] = 99;
	assert_int_equal(match(p, s, "SELECT 1; TRUNCATE t; drop table tmp_1", 0, r, 1), 3);
	assert_int_equal(r[0], 0);
	assert_int_equal(r[1], 99);
	assert_int_equal(tg_policy_match_cmd(p, s, "SELECT", 6, 0, NULL, 0), 1);
	/* \b: no match inside a word */
	assert_int_equal(match(p, s, "select * from droptables", 0, r, 4), 0);
	/* zero length, with and without a buffer; unknown service index */
	assert_int_equal(tg_policy_match_cmd(p, s, "", 0, 0, r, 4), 0);
	assert_int_equal(tg_policy_match_cmd(p, s, NULL, 0, 0, r, 4), 0);
	assert_int_equal(match(p, s, "DROP TABLE accounts", 63, r, 4), 0);
	assert_int_equal(match(p, s, "drop table tmp_q", 200, r, 4), 1);
	/* no match: the caller takes the default */
	assert_int_equal(match(p, s, "UPDATE t SET x = 1", 0, r, 4), 0);
	assert_int_equal(p->cmd_default, TG_ACT_LOG);
	/* misuse */
	assert_int_equal(tg_policy_match_cmd(p, s, NULL, 3, 0, r, 4), -EINVAL);
	assert_int_equal(tg_policy_match_cmd(p, NULL, "x", 1, 0, r, 4), -EINVAL);
	{
		/* a scratch of another policy */
		struct tg_policy *q = load_ok("{\"commands\": {\"rules\": [{\"id\": \"x\", "
					      "\"patterns\": [\"x\"], \"action\": \"log\"}]}}");
		struct tg_policy_scratch *qs = tg_policy_scratch_alloc(q);

		assert_non_null(qs);
		assert_int_equal(tg_policy_match_cmd(p, qs, "x", 1, 0, r, 4), -EINVAL);
		assert_int_equal(tg_policy_match_cmd(q, qs, "x", 1, 0, r, 4), 1);
		tg_policy_scratch_free(qs);
		tg_policy_free(q);
	}
	tg_policy_scratch_free(s);
	tg_policy_free(p);
}

static void
test_match_uncompiled_and_many(void **state)
{
	struct tg_policy *p = parse_ok(full_policy);
	struct tg_policy_scratch *s;
	uint32_t r[1];
	char *text, *big;
	size_t o = 0, i;
	int n;

	(void)state;
	/* not compiled: no scratch, no match */
	errno = 0;
	assert_null(tg_policy_scratch_alloc(p));
	assert_int_equal(errno, EINVAL);
	tg_policy_free(p);
	assert_null(tg_policy_scratch_alloc(NULL));
	tg_policy_scratch_free(NULL);
	tg_policy_free(NULL);
	assert_null(tg_policy_detect_scratch(NULL));

	/* 200 rules (more than three bitmap words), each matching its own word */
	big = malloc(200 * 80 + 64);
	text = malloc(200 * 8 + 1);
	assert_non_null(big);
	assert_non_null(text);
	o += (size_t)snprintf(big + o, 64, "{\"commands\": {\"rules\": [");
	for (i = 0; i < 200; i++)
		o += (size_t)snprintf(big + o, 80, "%s{\"id\": \"r%zu\", \"patterns\": [\"w%zux\"], "
				      "\"action\": \"block\"}", i ? "," : "", i, i);
	snprintf(big + o, 8, "]}}");
	p = load_ok(big);
	s = tg_policy_scratch_alloc(p);
	assert_non_null(s);
	for (o = 0, i = 199; i < 200; i -= 3)
		o += (size_t)snprintf(text + o, 8, "w%zux ", i);
	/* 199, 196, ..., 1: 67 rules; the first in file order is r1 */
	n = match(p, s, text, 0, r, 1);
	assert_int_equal(n, 67);
	assert_int_equal(r[0], 1);
	assert_int_equal(match(p, s, "w64x w63x", 5, r, 1), 2);
	assert_int_equal(r[0], 63);
	tg_policy_scratch_free(s);
	tg_policy_free(p);
	free(big);
	free(text);
}

static void
test_column_lookup(void **state)
{
	struct tg_policy *p = load_ok(
		"{\"columns\": ["
		"{\"id\": \"a\", \"column\": \"SSN\", \"mask\": \"full\", \"services\": [\"pg-b\"]},"
		"{\"id\": \"b\", \"column\": \"ssn\", \"mask\": \"last4\"},"
		"{\"id\": \"c\", \"column\": \"e_mail\", \"mask\": \"keep-domain\"}]}");
	const struct tg_column_rule *r;

	(void)state;
	/* the first rule in file order whose scope holds the service */
	r = tg_policy_column(p, "ssn", 3, 1);
	assert_non_null(r);
	assert_string_equal(r->id, "a");
	r = tg_policy_column(p, "SsN", 3, 0);
	assert_non_null(r);
	assert_string_equal(r->id, "b");
	assert_int_equal(r->style, TG_DETECT_MASK_KEEP_LAST4);
	/* not NUL-terminated: only len bytes count */
	r = tg_policy_column(p, "E_MAILX", 6, 0);
	assert_non_null(r);
	assert_string_equal(r->id, "c");
	assert_int_equal(r->style, TG_DETECT_MASK_EMAIL_DOMAIN);
	/* exact: no prefix, no longer name */
	assert_null(tg_policy_column(p, "ss", 2, 0));
	assert_null(tg_policy_column(p, "ssn_", 4, 0));
	assert_null(tg_policy_column(p, "e_mai", 5, 0));
	assert_null(tg_policy_column(p, "", 0, 0));
	assert_null(tg_policy_column(p, NULL, 0, 0));
	/* ASCII folding only: the Kelvin sign is not 'k' */
	assert_null(tg_policy_column(p, "ss\xe2\x84\xaa", 5, 0));
	tg_policy_free(p);
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */

static const struct {
	const char *name;
	const char *text;
	const char *err;
} refusals[] = {
	{ "root-array",
	  "[\n"
	  "  {}\n"
	  "]",
	  "t:1:1: a policy must be a JSON object" },
	{ "top-unknown",
	  "{\n"
	  "  \"commands\": {},\n"
	  "  \"comands\": {}\n"
	  "}",
	  "t:3:3: unknown key \"comands\" in the policy (known: commands, detectors, columns, identity)" },
	{ "commands-type",
	  "{\"commands\": [\"x\"]}",
	  "t:1:14: \"commands\" must be an object" },
	{ "commands-unknown",
	  "{\"commands\": {\n"
	  "  \"default\": \"log\",\n"
	  "  \"rule\": []}}",
	  "t:3:3: unknown key \"rule\" in \"commands\" (known: default, rules)" },
	{ "default-type",
	  "{\"commands\": {\"default\": 1}}",
	  "t:1:26: \"default\" must be a string" },
	{ "default-bad",
	  "{\"commands\": {\n"
	  "\t\"default\": \"deny\"}}",
	  "t:2:13: unknown action \"deny\" (allow, log, block, hold)" },
	{ "default-hold",
	  "{\"commands\": {\"default\": \"hold\"}}",
	  "t:1:26: the default cannot be \"hold\": a hold is a rule, which names its approvers" },
	{ "rules-type",
	  "{\"commands\": {\"rules\": {}}}",
	  "t:1:24: \"rules\" must be an array of rules" },
	{ "rule-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"ok\", \"patterns\": [\"x\"], \"action\": \"log\"},\n"
	  "  \"x\"\n"
	  "]}}",
	  "t:3:3: a command rule must be an object" },
	{ "rule-unknown",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"pattern\": \"x\", \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:15: unknown key \"pattern\" in a command rule (known: id, patterns, caseless, action, services, approvers, quorum, timeout, self_approval)" },
	{ "rule-no-id",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"ok\", \"patterns\": [\"x\"], \"action\": \"log\"},\n"
	  "  {\"patterns\": [\"x\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:3:3: a command rule has no \"id\"" },
	{ "id-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": 7, \"patterns\": [\"x\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:10: \"id\" must be a string" },
	{ "id-empty",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"\", \"patterns\": [\"x\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:10: id is empty" },
	{ "id-chars",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"no drop\", \"patterns\": [\"x\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:10: id \"no drop\": only A-Z a-z 0-9 _ . - are allowed" },
	{ "id-chars-escape",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\\\"b\\u00e9\", \"patterns\": [\"x\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:10: id \"a\\\"b\\xc3\\xa9\": only A-Z a-z 0-9 _ . - are allowed" },
	{ "id-long",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"patterns\": [\"x\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:10: id \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is longer than 63 bytes" },
	{ "id-dup",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"log\"},\n"
	  "  {\"id\": \"a\", \"patterns\": [\"y\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:3:10: id \"a\" is used twice (first at 2:10)" },
	{ "id-dup-sections",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"ssn\", \"patterns\": [\"x\"], \"action\": \"log\"}]},\n"
	  " \"columns\": [{\"id\": \"ssn\", \"column\": \"ssn\"}]}",
	  "t:3:21: id \"ssn\" is used twice (first at 2:10)" },
	{ "action-missing",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"]}\n"
	  "]}}",
	  "t:2:3: a command rule has no \"action\"" },
	{ "action-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": true}\n"
	  "]}}",
	  "t:2:44: \"action\" must be a string" },
	{ "action-bad",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"drop\"}\n"
	  "]}}",
	  "t:2:44: unknown action \"drop\" (allow, log, block, hold)" },
	{ "hold-key-on-block",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"],\n"
	  "   \"action\": \"block\", \"quorum\": 2}\n"
	  "]}}",
	  "t:3:23: \"quorum\" is for \"hold\" rules only" },
	{ "hold-quorum-0",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"],\n"
	  "   \"action\": \"hold\", \"quorum\": 0}\n"
	  "]}}",
	  "t:3:32: \"quorum\" must be an integer from 1 to 16" },
	{ "hold-quorum-17",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"],\n"
	  "   \"action\": \"hold\", \"quorum\": 17}\n"
	  "]}}",
	  "t:3:32: \"quorum\" must be an integer from 1 to 16" },
	{ "hold-group",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"],\n"
	  "   \"action\": \"hold\", \"approvers\": \"dba leads\"}\n"
	  "]}}",
	  "t:3:35: \"dba leads\" is not a group name (1 to 32 of A-Z a-z 0-9 . _ -, not starting "
	  "with -)" },
	{ "hold-timeout-unit",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"],\n"
	  "   \"action\": \"hold\", \"timeout\": \"10d\"}\n"
	  "]}}",
	  "t:3:33: \"timeout\" must be seconds, or a duration such as \"90s\", \"10m\", \"2h\"" },
	{ "hold-timeout-range",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"],\n"
	  "   \"action\": \"hold\", \"timeout\": 2}\n"
	  "]}}",
	  "t:3:33: \"timeout\" must be 5 s to 86400 s (24 h)" },
	{ "hold-self-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"],\n"
	  "   \"action\": \"hold\", \"self_approval\": 1}\n"
	  "]}}",
	  "t:3:39: \"self_approval\" must be true or false" },
	{ "caseless-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"log\", \"caseless\": \"yes\"}\n"
	  "]}}",
	  "t:2:63: \"caseless\" must be true or false" },
	{ "patterns-missing",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:3: a command rule has no \"patterns\"" },
	{ "patterns-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": \"x\", \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:27: \"patterns\" must be an array of strings" },
	{ "patterns-empty",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [ ], \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:27: \"patterns\" is empty" },
	{ "pattern-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\", [\"y\"]], \"action\": \"log\"}\n"
	  "]}}",
	  "t:2:33: a pattern must be a string" },
	{ "pattern-empty",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\",\n"
	  "    \"\"], \"action\": \"log\"}\n"
	  "]}}",
	  "t:3:5: a pattern is empty" },
	{ "services-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"log\", \"services\": \"pg-a\"}\n"
	  "]}}",
	  "t:2:63: \"services\" must be an array of service names" },
	{ "services-empty",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"log\", \"services\": []}\n"
	  "]}}",
	  "t:2:63: \"services\" is empty (leave it out for every service)" },
	{ "service-type",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"log\", \"services\": [\"pg-a\", 2]}\n"
	  "]}}",
	  "t:2:72: a service name must be a string" },
	{ "service-unknown",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"log\",\n"
	  "   \"services\": [\"pg-a\", \"pg-c\"]}\n"
	  "]}}",
	  "t:3:25: unknown service \"pg-c\"" },
	{ "service-twice",
	  "{\"commands\": {\"rules\": [\n"
	  "  {\"id\": \"a\", \"patterns\": [\"x\"], \"action\": \"log\", \"services\": [\"pg-b\", \"pg-a\", \"pg-b\"]}\n"
	  "]}}",
	  "t:2:80: service \"pg-b\" is listed twice" },
	{ "detectors-type",
	  "{\"detectors\": {\"card\": {}}}",
	  "t:1:15: \"detectors\" must be an array of detectors" },
	{ "detector-type",
	  "{\"detectors\": [\n"
	  "  \"card\"\n"
	  "]}",
	  "t:2:3: a detector must be an object" },
	{ "detector-unknown",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\", \"masking\": \"full\"}\n"
	  "]}",
	  "t:2:31: unknown key \"masking\" in a detector (known: id, kind, pattern, caseless, utf8, no_dash, mask, services)" },
	{ "detector-no-kind",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"mask\": \"full\"}\n"
	  "]}",
	  "t:2:3: a detector has no \"kind\"" },
	{ "kind-type",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": [\"card\"]}\n"
	  "]}",
	  "t:2:23: \"kind\" must be a string" },
	{ "regex-no-pattern",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\"},\n"
	  "  {\"id\": \"r\", \"kind\": \"regex\"}\n"
	  "]}",
	  "t:3:3: a regex detector has no \"pattern\"" },
	{ "pattern-builtin",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\", \"pattern\": \"[0-9]+\"}\n"
	  "]}",
	  "t:2:31: \"pattern\" is for regex detectors only (card is built in)" },
	{ "regex-pattern-empty",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"r\", \"kind\": \"regex\", \"pattern\": \"\"}\n"
	  "]}",
	  "t:2:43: the pattern is empty" },
	{ "regex-pattern-type",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"r\", \"kind\": \"regex\", \"pattern\": 12}\n"
	  "]}",
	  "t:2:43: \"pattern\" must be a string" },
	{ "builtin-twice",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c1\", \"kind\": \"card\"},\n"
	  "  {\"id\": \"e\", \"kind\": \"email\"},\n"
	  "  {\"id\": \"c2\", \"kind\": \"card\"}\n"
	  "]}",
	  "t:4:24: built-in detector card is given twice (first at 2:24)" },
	{ "mask-bad",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\", \"mask\": \"partial\"}\n"
	  "]}",
	  "t:2:39: unknown mask \"partial\" (full, last4, keep-domain)" },
	{ "mask-type",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\", \"mask\": 4}\n"
	  "]}",
	  "t:2:39: \"mask\" must be a string" },
	{ "caseless-builtin",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\", \"caseless\": true}\n"
	  "]}",
	  "t:2:31: \"caseless\" is for regex detectors only" },
	{ "utf8-builtin",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"email\", \"utf8\": false}\n"
	  "]}",
	  "t:2:32: \"utf8\" is for regex detectors only" },
	{ "utf8-type",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"r\", \"kind\": \"regex\", \"pattern\": \"x\", \"utf8\": 1}\n"
	  "]}",
	  "t:2:56: \"utf8\" must be true or false" },
	{ "nodash-card",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\", \"no_dash\": true}\n"
	  "]}",
	  "t:2:31: \"no_dash\" is for ssn detectors only" },
	{ "nodash-type",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"s\", \"kind\": \"ssn\", \"no_dash\": \"yes\"}\n"
	  "]}",
	  "t:2:41: \"no_dash\" must be true or false" },
	{ "detector-id-long",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"dddddddddddddddddddddddddddddddd\", \"kind\": \"card\"}\n"
	  "]}",
	  "t:2:10: id \"dddddddddddddddddddddddddddddddd\" is longer than 31 bytes" },
	{ "detector-service",
	  "{\"detectors\": [\n"
	  "  {\"id\": \"c\", \"kind\": \"card\", \"services\": [\"pg-z\"]}\n"
	  "]}",
	  "t:2:44: unknown service \"pg-z\"" },
	{ "columns-type",
	  "{\"columns\": \"ssn\"}",
	  "t:1:13: \"columns\" must be an array of column rules" },
	{ "column-type",
	  "{\"columns\": [\n"
	  "  null\n"
	  "]}",
	  "t:2:3: a column rule must be an object" },
	{ "column-unknown",
	  "{\"columns\": [\n"
	  "  {\"id\": \"c\", \"column\": \"x\", \"style\": \"full\"}\n"
	  "]}",
	  "t:2:30: unknown key \"style\" in a column rule (known: id, column, mask, services)" },
	{ "column-missing",
	  "{\"columns\": [\n"
	  "  {\"id\": \"c\"}\n"
	  "]}",
	  "t:2:3: a column rule has no \"column\"" },
	{ "column-empty",
	  "{\"columns\": [\n"
	  "  {\"id\": \"c\", \"column\": \"\"}\n"
	  "]}",
	  "t:2:25: the column name is empty" },
	{ "column-long",
	  "{\"columns\": [\n"
	  "  {\"id\": \"c\", \"column\": \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"}\n"
	  "]}",
	  "t:2:25: column name \"cccccccccccccccccccccccccccccccccccccccccccccccc...\" is longer than 63 bytes" },
	{ "column-mask",
	  "{\"columns\": [\n"
	  "  {\"id\": \"c\", \"column\": \"x\", \"mask\": \"none\"}\n"
	  "]}",
	  "t:2:38: unknown mask \"none\" (full, last4, keep-domain)" },
	{ "utf8-columns",
	  "{\"columns\": [{\"column\": \"größe 😀\", \"id\": \"a b\"}]}",
	  "t:1:42: id \"a b\": only A-Z a-z 0-9 _ . - are allowed" },
	{ "crlf",
	  "{\r\n"
	  "\t\"commands\": {\r\n"
	  "\t\t\"default\": \"block\",\r\n"
	  "\t\t\"rules\": 3\r\n"
	  "\t}\r\n"
	  "}\r\n"
	  "",
	  "t:4:12: \"rules\" must be an array of rules" },
	{ "escaped-keys",
	  "{\"columns\": [{\"id\": \"k\", \"colu\\u006dn\": \"x\", \"m\\u0061sk\": \"half\"}]}",
	  "t:1:59: unknown mask \"half\" (full, last4, keep-domain)" },
	{ "escaped-unknown-key",
	  "{\"columns\": [{\"id\": \"k\", \"column\": \"x\", \"\\\"odd\\u00e9\": 1}]}",
	  "t:1:41: unknown key \"\\\"odd\\xc3\\xa9\" in a column rule (known: id, column, mask, services)" },
};

static void
test_refusals(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(refusals); i++) {
		struct tg_policy *p = (struct tg_policy *)&p;
		char err[512] = "";
		size_t len = strlen(refusals[i].text);
		char *b = heap_copy(refusals[i].text, len);
		int rc = tg_policy_parse(b, len, "t", &svcs, &p, err, sizeof(err));

		free(b);
		if (rc != -EINVAL || strcmp(err, refusals[i].err) != 0)
			fail_msg("%s: rc %d\n  got:      %s\n  expected: %s", refusals[i].name, rc,
				 err, refusals[i].err);
		assert_null(p);
	}
}

/* Syntax errors are jansson's, with its position. */
static void
test_syntax_errors(void **state)
{
	static const struct {
		const char *text;
		const char *prefix;
		const char *contains;
	} cases[] = {
		{ "", "t:1:1: ", "expected" },
		{ "{\"commands\": {\"default\": \"allow\",}}", "t:1:34: ", "'}'" },
		{ "{\n  \"commands\": {},\n  \"commands\": {}\n}", "t:3:12: ", "duplicate" },
		{ "{\"a\": \"\\u0000\"}", "t:1:", "\\u0000" },
		{ "{\"a\": \"\xff\"}", "t:1:", "0xff" },
		{ "{} {}", "t:1:4: ", "end of file expected" },
		{ "\"policy\"", "t:1:", "expected" },
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_policy *p = NULL;
		char err[512] = "";
		int rc = tg_policy_parse(cases[i].text, strlen(cases[i].text), "t", &svcs, &p, err,
					 sizeof(err));

		if (rc != -EINVAL || strncmp(err, cases[i].prefix, strlen(cases[i].prefix)) != 0 ||
		    strstr(err, cases[i].contains) == NULL)
			fail_msg("case %u: rc %d: %s", i, rc, err);
		assert_true(has_position(err, "t"));
		assert_null(p);
	}
	/* err may be NULL or short; source may be NULL */
	{
		struct tg_policy *p;
		char small[8];

		assert_int_equal(tg_policy_parse("[]", 2, "t", &svcs, &p, NULL, 0), -EINVAL);
		assert_int_equal(tg_policy_parse("[]", 2, "t", &svcs, &p, small, sizeof(small)),
				 -EINVAL);
		assert_string_equal(small, "t:1:1: ");
		assert_int_equal(tg_policy_parse("{\"x\": 1}", 8, NULL, &svcs, &p, small,
						 sizeof(small)), -EINVAL);
		assert_string_equal(small, "policy:");
		assert_int_equal(tg_policy_parse(NULL, 1, "t", &svcs, &p, NULL, 0), -EINVAL);
		assert_int_equal(tg_policy_parse("{}", 2, "t", &svcs, NULL, NULL, 0), -EINVAL);
	}
}

/* Without a service table every name is unknown. */
static void
test_no_services(void **state)
{
	const char *t = "{\"columns\": [{\"id\": \"c\", \"column\": \"x\", \"services\": [\"pg-a\"]}]}";
	struct tg_policy *p;
	char err[256];

	(void)state;
	assert_int_equal(tg_policy_parse(t, strlen(t), "t", NULL, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t:1:54: unknown service \"pg-a\"");
	assert_null(p);
}

/* The unknown-kind message lists every kind detect.h has, whatever they are. */
static void
test_kinds(void **state)
{
	const char *t = "{\"detectors\": [{\"id\": \"x\", \"kind\": \"vin\"}]}";
	char err[512], want[512], list[256];
	size_t o = 0;
	struct tg_policy *p;
	unsigned int k;

	(void)state;
	for (k = TG_DETECT_NONE + 1; k < TG_DETECT_KIND_MAX; k++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
				      tg_detect_kind_names[k]);
	snprintf(want, sizeof(want), "t:1:36: unknown detector kind \"vin\" (%s)", list);
	assert_int_equal(tg_policy_parse(t, strlen(t), "t", &svcs, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);

	/* every built-in kind by its name, each once, all in one policy that compiles */
	{
		char text[4096];
		struct tg_policy *q;
		unsigned int n = 0;

		o = (size_t)snprintf(text, sizeof(text), "{\"detectors\": [");
		for (k = TG_DETECT_NONE + 1; k < TG_DETECT_KIND_MAX; k++) {
			if (k == TG_DETECT_REGEX)
				continue;
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "%s{\"id\": \"d%u\", \"kind\": \"%s\"}", n ? "," : "",
					      k, tg_detect_kind_names[k]);
			n++;
		}
		snprintf(text + o, sizeof(text) - o, "]}");
		q = load_ok(text);
		assert_int_equal(q->nb_dets, n);
		for (k = 0; k < n; k++)
			assert_int_not_equal(q->dets[k].kind, TG_DETECT_REGEX);
		tg_policy_free(q);
	}
}

/*
 * head, then n items "<pre>i<post>" one per line, then tail: a heap
 * string. Item i is on line i + 2 when head ends its line.
 */
static char *
many(const char *head, const char *tail, const char *pre, const char *post, unsigned int n)
{
	size_t cap = strlen(head) + strlen(tail) + (size_t)n * (strlen(pre) + strlen(post) + 16) + 1;
	char *t = malloc(cap);
	unsigned int i;
	size_t o;

	assert_non_null(t);
	o = (size_t)snprintf(t, cap, "%s", head);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s%u%s%s", pre, i, post,
				      i + 1 < n ? ",\n" : "");
	snprintf(t + o, cap - o, "%s", tail);
	return t;
}

static void
expect_refusal(const char *text, const char *want)
{
	struct tg_policy *p;
	char err[512] = "";
	int rc = tg_policy_parse(text, strlen(text), "t", &svcs, &p, err, sizeof(err));

	if (rc != -EINVAL || strcmp(err, want) != 0)
		fail_msg("rc %d\n  got:      %s\n  expected: %s", rc, err, want);
}

static void
test_caps(void **state)
{
	char *t;
	struct tg_policy *p;

	(void)state;
	/* rules: line 1 is the head, rule i on line i + 2 */
	t = many("{\"commands\": {\"rules\": [\n",
		 "]}}", "{\"id\": \"r", "\", \"patterns\": [\"x\"], \"action\": \"log\"}",
		 TG_POLICY_RULES_MAX + 1);
	expect_refusal(t, "t:4098:1: more than 4096 command rules");
	free(t);
	t = many("{\"commands\": {\"rules\": [\n",
		 "]}}", "{\"id\": \"r", "\", \"patterns\": [\"x\"], \"action\": \"log\"}",
		 TG_POLICY_RULES_MAX);
	p = parse_ok(t);
	assert_int_equal(p->nb_cmds, TG_POLICY_RULES_MAX);
	assert_int_equal(p->patterns[4095].pos.line, 4097);
	assert_int_equal(p->patterns[4095].pos.col, 30);
	tg_policy_free(p);
	free(t);

	t = many("{\"commands\": {\"rules\": [{\"id\": \"r\", \"action\": \"log\", \"patterns\": [\n",
		 "]}]}}", "\"p", "\"", TG_POLICY_PATTERNS_MAX + 1);
	expect_refusal(t, "t:66:1: more than 64 patterns in one rule");
	free(t);
	t = many("{\"commands\": {\"rules\": [{\"id\": \"r\", \"action\": \"log\", \"patterns\": [\n",
		 "]}]}}", "\"p", "\"", TG_POLICY_PATTERNS_MAX);
	p = parse_ok(t);
	assert_int_equal(p->nb_patterns, TG_POLICY_PATTERNS_MAX);
	assert_int_equal(p->patterns[63].pos.line, 65);
	assert_int_equal(p->patterns[63].pos.col, 1);
	tg_policy_free(p);
	free(t);

	t = many("{\"detectors\": [\n", "]}",
		 "{\"id\": \"r", "\", \"kind\": \"regex\", \"pattern\": \"x\"}",
		 TG_DETECT_SPECS_MAX + 1);
	expect_refusal(t, "t:1026:1: more than 1024 detectors");
	free(t);
	t = many("{\"columns\": [\n", "]}", "{\"id\": \"c", "\", \"column\": \"x\"}",
		 TG_POLICY_RULES_MAX + 1);
	expect_refusal(t, "t:4098:1: more than 4096 column rules");
	free(t);
	/* the last of many ids repeats the first: the id table finds it */
	t = many("{\"columns\": [\n", ",\n{\"id\": \"c0\", \"column\": \"y\"}]}",
		 "{\"id\": \"c", "\", \"column\": \"x\"}", 3000);
	expect_refusal(t, "t:3002:8: id \"c0\" is used twice (first at 2:8)");
	free(t);
}

/* ------------------------------------------------------------------ */
/* Compile errors                                                      */

/*
 * Compiling text fails with an error that starts with want (the position,
 * the rule or detector, the pattern) and goes on with Hyperscan's reason,
 * whose wording is Hyperscan's and not checked.
 */
static void
expect_compile_error(const char *text, const char *want)
{
	struct tg_policy *p = parse_ok(text);
	char err[512] = "";
	int rc = tg_policy_compile(p, "t", err, sizeof(err));

	if (rc != -EINVAL || strncmp(err, want, strlen(want)) != 0 ||
	    strlen(err) <= strlen(want))
		fail_msg("rc %d\n  got:      %s\n  expected: %s...", rc, err, want);
	/* left uncompiled and whole: a second attempt says the same */
	assert_null(p->cmd_db);
	assert_null(p->det_db);
	assert_int_equal(tg_policy_compile(p, "t", err, sizeof(err)), -EINVAL);
	tg_policy_free(p);
}

static void
test_compile_errors(void **state)
{
	(void)state;
	/* the third pattern, of the second rule */
	expect_compile_error("{\"commands\": {\"rules\": [\n"
			     "  {\"id\": \"a\", \"patterns\": [\"ok\"], \"action\": \"log\"},\n"
			     "  {\"id\": \"b\", \"action\": \"log\",\n"
			     "   \"patterns\": [\"fine\", \"(unclosed\"]}]}}",
			     "t:4:25: command rule b: pattern \"(unclosed\": ");
	/* Hyperscan refuses what matches the empty buffer */
	expect_compile_error("{\"commands\": {\"rules\": [\n"
			     "  {\"id\": \"star\", \"patterns\": [\"a*\"], \"action\": \"log\"}]}}",
			     "t:2:31: command rule star: pattern \"a*\": ");
	/* a regex detector's error, at its pattern; the command rules were fine */
	expect_compile_error("{\"commands\": {\"rules\": [\n"
			     "  {\"id\": \"a\", \"patterns\": [\"ok\"], \"action\": \"log\"}]},\n"
			     " \"detectors\": [{\"id\": \"card\", \"kind\": \"card\"},\n"
			     "  {\"id\": \"emp\", \"kind\": \"regex\",\n"
			     "   \"pattern\": \"EMP-(\"}]}",
			     "t:5:15: detector emp: pattern \"EMP-(\": ");
	/* back-references are not Hyperscan's */
	expect_compile_error("{\"detectors\": [{\"id\": \"dup\", \"kind\": \"regex\", "
			     "\"pattern\": \"(a)\\\\1\"}]}",
			     "t:1:58: detector dup: pattern \"(a)\\1\": ");
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static void
test_load_appliance(void **state)
{
	struct tg_services lab;
	struct tg_policy *p;
	struct tg_policy_scratch *s;
	const struct tg_column_rule *c;
	char err[512] = "";
	uint32_t r[4];
	int rc;

	(void)state;
	memset(&lab, 0, sizeof(lab));
	snprintf(lab.svc[0].name, sizeof(lab.svc[0].name), "demo-pg");
	lab.nb = 1;
	rc = tg_policy_load(TG_SOURCE_ROOT "/appliance/policy.json", &lab, &p, err, sizeof(err));
	if (rc != 0)
		fail_msg("load: %d: %s", rc, err);
	assert_int_equal(p->cmd_default, TG_ACT_ALLOW);
	assert_int_equal(p->nb_cmds, 3);
	assert_string_equal(p->cmds[0].id, "no-drop");
	assert_int_equal(p->cmds[0].action, TG_ACT_BLOCK);
	assert_string_equal(p->cmds[1].id, "no-truncate");
	assert_int_equal(p->cmds[1].action, TG_ACT_BLOCK);
	assert_string_equal(p->cmds[2].id, "log-ddl");
	assert_int_equal(p->cmds[2].action, TG_ACT_LOG);
	assert_int_equal(p->nb_dets, 8);
	assert_int_equal(p->dets[0].kind, TG_DETECT_CARD);
	assert_int_equal(p->dets[0].style, TG_DETECT_MASK_KEEP_LAST4);
	assert_int_equal(p->dets[1].kind, TG_DETECT_IBAN);
	assert_int_equal(p->dets[1].style, TG_DETECT_MASK_KEEP_LAST4);
	assert_int_equal(p->dets[2].kind, TG_DETECT_EMAIL);
	assert_int_equal(p->dets[2].style, TG_DETECT_MASK_EMAIL_DOMAIN);
	assert_int_equal(p->dets[3].kind, TG_DETECT_SSN);
	assert_int_equal(p->dets[3].style, TG_DETECT_MASK_FULL);
	assert_int_equal(p->dets[4].kind, TG_DETECT_PHONE);
	assert_int_equal(p->dets[4].style, TG_DETECT_MASK_KEEP_LAST4);
	assert_int_equal(p->dets[5].kind, TG_DETECT_AWS_KEY);
	assert_int_equal(p->dets[6].kind, TG_DETECT_JWT);
	assert_int_equal(p->dets[7].kind, TG_DETECT_PRIVATE_KEY);
	assert_int_equal(p->dets[7].style, TG_DETECT_MASK_FULL);
	c = tg_policy_column(p, "SSN", 3, 0);
	assert_non_null(c);
	assert_string_equal(c->id, "ssn-column");
	assert_int_equal(c->style, TG_DETECT_MASK_FULL);

	s = tg_policy_scratch_alloc(p);
	assert_non_null(s);
	assert_int_equal(match(p, s, "DROP TABLE accounts", 0, r, 4), 1);
	assert_int_equal(r[0], 0);
	assert_int_equal(match(p, s, "drop  database shop", 0, r, 4), 1);
	assert_int_equal(match(p, s, "Drop Schema s CASCADE", 0, r, 4), 1);
	assert_int_equal(match(p, s, "truncate audit", 0, r, 4), 1);
	assert_int_equal(r[0], 1);
	assert_int_equal(match(p, s, "ALTER TABLE t ADD c int", 0, r, 4), 1);
	assert_int_equal(r[0], 2);
	assert_int_equal(match(p, s, "create index i on t (c)", 0, r, 4), 1);
	assert_int_equal(match(p, s, "SELECT * FROM dropped_tables", 0, r, 4), 0);
	assert_int_equal(match(p, s, "SELECT 1", 0, r, 4), 0);
	tg_policy_scratch_free(s);
	tg_policy_free(p);

	/* the lab's policy names demo-pg: another configuration refuses it */
	rc = tg_policy_load(TG_SOURCE_ROOT "/appliance/policy.json", &svcs, &p, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "/appliance/policy.json:10:"));
	assert_non_null(strstr(err, ": unknown service \"demo-pg\""));
	assert_null(p);
}

static char *
tmp_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/test_policy.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_load_errors(void **state)
{
	struct tg_policy *p = (struct tg_policy *)&p;
	char err[512], want[600];
	char *path, *big;

	(void)state;
	assert_int_equal(tg_policy_load("/nonexistent/policy.json", &svcs, &p, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "/nonexistent/policy.json: cannot open: No such file or directory");
	assert_null(p);
	assert_int_equal(tg_policy_load("/tmp", &svcs, &p, err, sizeof(err)), -EISDIR);
	assert_int_equal(tg_policy_load(NULL, &svcs, &p, err, sizeof(err)), -EINVAL);

	/* a file's errors carry its name */
	path = tmp_file("{\n  \"columns\": [{\"id\": \"c\"}]\n}\n", 31);
	assert_int_equal(tg_policy_load(path, &svcs, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:15: a column rule has no \"column\"", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	path = tmp_file("{\"commands\": {\"rules\": [{\"id\": \"a\", \"patterns\": [\"(\"], "
			"\"action\": \"log\"}]}}", 74);
	assert_int_equal(tg_policy_load(path, &svcs, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:1:50: command rule a: pattern \"(\": ", path);
	assert_memory_equal(err, want, strlen(want));
	assert_null(p);
	unlink(path);
	free(path);

	/* an empty file is a syntax error, not a read error */
	path = tmp_file("", 0);
	assert_int_equal(tg_policy_load(path, &svcs, &p, err, sizeof(err)), -EINVAL);
	assert_true(has_position(err, path));
	unlink(path);
	free(path);

	/* the cap: exactly TG_POLICY_FILE_MAX is read, one byte more is refused */
	big = malloc((size_t)TG_POLICY_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', (size_t)TG_POLICY_FILE_MAX + 1);
	big[0] = '{';
	big[TG_POLICY_FILE_MAX - 1] = '}';
	path = tmp_file(big, TG_POLICY_FILE_MAX);
	assert_int_equal(tg_policy_load(path, &svcs, &p, err, sizeof(err)), 0);
	tg_policy_free(p);
	unlink(path);
	free(path);
	path = tmp_file(big, (size_t)TG_POLICY_FILE_MAX + 1);
	assert_int_equal(tg_policy_load(path, &svcs, &p, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 4194304 bytes", path);
	assert_string_equal(err, want);
	assert_null(p);
	unlink(path);
	free(path);
	free(big);
}

/* ------------------------------------------------------------------ */
/* Robustness                                                          */

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Accepted, or refused with a position: never anything else, never a leak. */
static void
parse_any(const char *text, size_t len)
{
	struct tg_policy *p = NULL;
	char err[512] = "";
	char *b = heap_copy(text, len);
	int rc = tg_policy_parse(b, len, "t", &svcs, &p, err, sizeof(err));

	free(b);
	if (rc == 0) {
		assert_non_null(p);
		tg_policy_free(p);
		return;
	}
	assert_int_equal(rc, -EINVAL);
	assert_null(p);
	if (!has_position(err, "t"))
		fail_msg("no position: %s", err);
}

static void
test_prefixes_and_mutations(void **state)
{
	size_t len = strlen(full_policy), n;
	static const char alphabet[] = "{}[],:\"\\ 0a-tfn\n";
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	char *m = malloc(len);
	unsigned int i, k;

	(void)state;
	assert_non_null(m);
	for (n = 0; n <= len; n++)
		parse_any(full_policy, n);
	for (i = 0; i < 3000; i++) {
		memcpy(m, full_policy, len);
		for (k = 0; k < 1 + i % 3; k++) {
			uint64_t r = xorshift(&seed);
			size_t at = (size_t)(r % len);

			m[at] = (r >> 32) & 1 ? alphabet[(r >> 33) % (sizeof(alphabet) - 1)] :
						(char)(r >> 40);
		}
		parse_any(m, len);
	}
	free(m);
}

/* ------------------------------------------------------------------ */
/* Compiled policy blobs                                               */

/*
 * SHA-256 of "{", n - 2 spaces, "}" for lengths around the padding
 * boundaries of FIPS 180-4 5.1.1 (55, 56, 64, 119, 120 bytes), from
 * Python's hashlib.
 */
static const struct {
	size_t len;
	const char *hex;
} text_digests[] = {
	{ 2, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" },
	{ 55, "25147aabc1db144cb193014abeb02e7b240014c9871821e56228a52cb6c58588" },
	{ 56, "57c9391b2ebdec95193a35b4b13cab353c2bb8abf242ba74ffcde2a4a9acd367" },
	{ 57, "8f7d37ac59099ed899343a5f015b4c01f4cfdd462ff6766fc1a70aeaad963cf9" },
	{ 63, "3d635f85aa2eb9f2fe297fe044fc9970094f4db1a30c87a124e5ff9590aedba8" },
	{ 64, "99291a5e83d9f560f6959c69f03b0155c9ca4172bcd8f23517008272db09ac8f" },
	{ 65, "ed646db817ae8b8ac15430e80ef68f5e453fa73386fc5e223e01a19f0009a3c9" },
	{ 119, "66fe6e9bd929ec081bbbfefd4ce1e11bab4c156dffe64b8969149de877989235" },
	{ 120, "347bbef87c9d1796ffbf489dcf1479f814e250d951887f3299ff78eb5e9994ee" },
	{ 121, "e5f649c2435ac74be8f0b9cb2879c736908721eb37cbade5b448c9c14737681b" },
	{ 1000, "1bb67515deb463832a903641fb80d7fb08e6ce6b51239627ca803b12eea28907" },
};

/* Every detector kind, fixed- and variable-width regexes (the locate database), command rules. */
static const char kinds_policy[] =
	"{ \"commands\": { \"default\": \"log\", \"rules\": [\n"
	"    { \"id\": \"allow-tmp\", \"patterns\": [\"drop\\\\s+table\\\\s+tmp_\"],\n"
	"      \"caseless\": true, \"action\": \"allow\" },\n"
	"    { \"id\": \"no-drop\",\n"
	"      \"patterns\": [\"\\\\bdrop\\\\s+table\\\\b\", \"\\\\btruncate\\\\b\"],\n"
	"      \"caseless\": true, \"action\": \"block\", \"services\": [\"pg-a\"] },\n"
	"    { \"id\": \"select\", \"patterns\": [\"^SELECT\\\\b\"], \"action\": \"log\",\n"
	"      \"services\": [\"pg-b\"] } ] },\n"
	"  \"detectors\": [\n"
	"    { \"id\": \"card\", \"kind\": \"card\", \"mask\": \"last4\" },\n"
	"    { \"id\": \"iban\", \"kind\": \"iban\" },\n"
	"    { \"id\": \"mail\", \"kind\": \"email\", \"mask\": \"keep-domain\" },\n"
	"    { \"id\": \"ssn\", \"kind\": \"ssn\", \"no_dash\": true },\n"
	"    { \"id\": \"phone\", \"kind\": \"phone\", \"services\": [\"pg-b\"] },\n"
	"    { \"id\": \"aws\", \"kind\": \"aws_access_key\" },\n"
	"    { \"id\": \"jwt\", \"kind\": \"jwt\" },\n"
	"    { \"id\": \"pkey\", \"kind\": \"private_key\" },\n"
	"    { \"id\": \"emp\", \"kind\": \"regex\", \"pattern\": \"EMP-[0-9]{6}\",\n"
	"      \"caseless\": true },\n"
	"    { \"id\": \"ord\", \"kind\": \"regex\", \"pattern\": \"ORD-[0-9]+x\" },\n"
	"    { \"id\": \"tel\", \"kind\": \"regex\", \"pattern\": \"t\\u00e9l=[0-9]+\",\n"
	"      \"utf8\": true }\n"
	"  ],\n"
	"  \"columns\": [ { \"id\": \"ssn-col\", \"column\": \"ssn\" } ] }\n";

/* Small, with all four databases: for the sweeps over every byte. */
static const char small_policy[] =
	"{\"commands\": {\"rules\": [{\"id\": \"d\", \"patterns\": [\"drop\"],"
	" \"action\": \"block\"}]},"
	" \"detectors\": [{\"id\": \"e\", \"kind\": \"regex\", \"pattern\": \"EMP-[0-9]{6}\"},"
	" {\"id\": \"o\", \"kind\": \"regex\", \"pattern\": \"ORD-[0-9]+x\"},"
	" {\"id\": \"k\", \"kind\": \"aws_access_key\"}]}";

/* {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890","name":"John Doe","iat":1516239022} . sig */
#define JWT_HS256 \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." \
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ." \
	"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
#define PKCS8 \
	"-----BEGIN PRIVATE KEY-----\n" \
	"MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAq7BFUpkGp3+XQ\n" \
	"-----END PRIVATE KEY-----"

static const char *const stmts[] = {
	"DROP TABLE accounts", "drop  table tmp_x", "drop\n table\tx", "TRUNCATE audit",
	"SELECT 1", "select 1", "ALTER TABLE t ADD c int", "create index i on t (c)",
	"drop database shop", "Drop Schema s CASCADE", "SELECT * FROM dropped_tables", "",
};

/* Field values with the detectors' values planted (see test_detect.c for where they come from). */
static const char *const fields[] = {
	"4111 1111 1111 1111", "5500-0000-0000-0004", "GB82 WEST 1234 5698 7654 32",
	"DE89370400440532013000", "jane.doe@example.com", "078-05-1120", "078051120",
	"+44 20 7946 0958", "(415) 555-2671", "AKIAIOSFODNN7EXAMPLE", JWT_HS256, PKCS8,
	"emp-123456", "ORD-42x", "t\xc3\xa9l=0612", "nothing here", "12345",
	"card 4111111111111111, mail x@example.org, id ORD-7x and EMP-000001",
};

/* text parsed and compiled */
static struct tg_policy *
compile_text(const char *text, size_t len, const struct tg_services *sv)
{
	struct tg_policy *p = NULL;
	char err[512] = "";
	char *b = heap_copy(text, len);

	if (tg_policy_parse(b, len, "t", sv, &p, err, sizeof(err)) != 0 ||
	    tg_policy_compile(p, "t", err, sizeof(err)) != 0)
		fail_msg("compile: %s", err);
	free(b);
	return p;
}

static uint8_t *
serialize_ok(const struct tg_policy *p, size_t *len)
{
	uint8_t *blob = NULL;
	char err[256] = "x";

	if (tg_policy_serialize(p, &blob, len, err, sizeof(err)) != 0)
		fail_msg("serialize: %s", err);
	assert_non_null(blob);
	assert_true(*len >= TG_POLICY_BLOB_HDR);
	return blob;
}

/* tg_policy_load_compiled() over heap copies of exactly the given lengths: rc, and err. */
static int
load_blob(const char *text, size_t len, const struct tg_services *sv, const uint8_t *blob,
	  size_t bloblen, struct tg_policy **p, char *err, size_t errlen)
{
	char *t = heap_copy(text, len);
	char *b = blob != NULL ? heap_copy((const char *)blob, bloblen) : NULL;
	int rc;

	*p = (struct tg_policy *)p;
	rc = tg_policy_load_compiled(t, len, "t", sv, (const uint8_t *)b, bloblen, p, err, errlen);
	free(b);
	free(t);
	return rc;
}

static struct tg_policy *
load_blob_ok(const char *text, size_t len, const struct tg_services *sv, const uint8_t *blob,
	     size_t bloblen)
{
	struct tg_policy *p;
	char err[512] = "x";

	if (load_blob(text, len, sv, blob, bloblen, &p, err, sizeof(err)) != 0)
		fail_msg("load_compiled: %s", err);
	assert_non_null(p);
	return p;
}

/* Refused with "t: policy blob: " and why in the error, nothing returned. */
static void
expect_refused(const char *text, const struct tg_services *sv, const uint8_t *blob,
	       size_t bloblen, const char *why)
{
	struct tg_policy *p;
	char err[512] = "";
	int rc = load_blob(text, strlen(text), sv, blob, bloblen, &p, err, sizeof(err));

	if (rc != -EINVAL || p != NULL)
		fail_msg("%zu-byte blob: rc %d, policy %p (%s)", bloblen, rc, (void *)p, err);
	if (strncmp(err, "t: policy blob: ", 16) != 0 || (why != NULL && strstr(err, why) == NULL))
		fail_msg("%zu-byte blob: \"%s\" does not say \"%s\"", bloblen, err, why ? why : "");
}

/* blob with v[0..n) at off is refused for why; then blob is as it was. */
static void
expect_edit_refused(const char *text, uint8_t *blob, size_t len, size_t off, const uint8_t *v,
		    size_t n, const char *why)
{
	uint8_t was[8];

	assert_true(n <= sizeof(was) && off + n <= len);
	memcpy(was, blob + off, n);
	memcpy(blob + off, v, n);
	expect_refused(text, &svcs, blob, len, why);
	memcpy(blob + off, was, n);
}

/*
 * a (compiled) and b (loaded from a's blob) answer alike: every statement
 * for every service, every field, and a seeded sweep of fields with the
 * values planted in noise. Returns the detectors seen matching (bit i:
 * detector i), to check the corpus covers them.
 */
static uint64_t
expect_same(const struct tg_policy *a, const struct tg_policy *b)
{
	struct tg_policy_scratch *sa = tg_policy_scratch_alloc(a);
	struct tg_policy_scratch *sb = tg_policy_scratch_alloc(b);
	uint64_t seed = 0x243F6A8885A308D3ull, seen = 0;
	unsigned int i, k;
	uint16_t svc;

	assert_non_null(sa);
	assert_non_null(sb);
	assert_true((a->cmd_db == NULL) == (b->cmd_db == NULL));
	assert_true((a->det_db == NULL) == (b->det_db == NULL));
	assert_memory_equal(a->text_sha256, b->text_sha256, TG_POLICY_DIGEST_LEN);
	for (i = 0; i < ARRAY_SIZE(stmts); i++) {
		for (svc = 0; svc < 3; svc++) {
			uint32_t ra[8], rb[8];
			int na = match(a, sa, stmts[i], svc, ra, 8);
			int nb = match(b, sb, stmts[i], svc, rb, 8);

			assert_true(na >= 0);
			assert_int_equal(na, nb);
			if (na > 0)
				assert_memory_equal(ra, rb,
						    (size_t)(na < 8 ? na : 8) * sizeof(ra[0]));
		}
	}
	if (a->det_db == NULL)
		goto out;
	assert_int_equal(tg_detect_db_bytes(a->det_db), tg_detect_db_bytes(b->det_db));
	for (i = 0; i < ARRAY_SIZE(fields) + 400; i++) {
		struct tg_detect_match ma[32], mb[32];
		char buf[512];	/* 200 bytes, then at most one field (< 200) */
		size_t len = 0;
		uint8_t *f;
		int na, nb, j;

		if (i < ARRAY_SIZE(fields)) {
			len = strlen(fields[i]);
			memcpy(buf, fields[i], len);
		} else {
			while (len < 200) {
				uint64_t r = xorshift(&seed);

				if (r % 19 == 0) {
					k = (unsigned int)((r >> 8) % ARRAY_SIZE(fields));
					len += (size_t)snprintf(buf + len, sizeof(buf) - len,
								" %s ", fields[k]);
				} else {
					buf[len++] = "0123456789 -.+@()aAx|"[(r >> 8) % 21];
				}
			}
		}
		f = (uint8_t *)heap_copy(buf, len);
		na = tg_detect_scan(a->det_db, tg_policy_detect_scratch(sa), f, (uint32_t)len, ma,
				    32);
		nb = tg_detect_scan(b->det_db, tg_policy_detect_scratch(sb), f, (uint32_t)len, mb,
				    32);
		free(f);
		assert_true(na >= 0);
		assert_int_equal(na, nb);
		for (j = 0; j < na; j++) {
			assert_int_equal(ma[j].id, mb[j].id);
			assert_int_equal(ma[j].start, mb[j].start);
			assert_int_equal(ma[j].end, mb[j].end);
			if (ma[j].id < 64)
				seen |= 1ull << ma[j].id;
		}
	}
out:
	tg_policy_scratch_free(sa);
	tg_policy_scratch_free(sb);
	return seen;
}

/*
 * Compiles text, serialises, loads the blob and checks the loaded policy
 * answers as the compiled one; the loaded one serialises to the same
 * bytes (one encoding per policy). Returns the detectors seen matching.
 */
static uint64_t
round_trip(const char *text, size_t len, const struct tg_services *sv)
{
	struct tg_policy *a = compile_text(text, len, sv), *b;
	uint8_t *blob, *again;
	size_t blen, alen;
	char err[256];
	uint64_t seen;

	blob = serialize_ok(a, &blen);
	b = load_blob_ok(text, len, sv, blob, blen);
	assert_int_equal(b->nb_cmds, a->nb_cmds);
	assert_int_equal(b->nb_dets, a->nb_dets);
	assert_int_equal(b->nb_cols, a->nb_cols);
	seen = expect_same(a, b);
	again = serialize_ok(b, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(again, blob, blen);
	/* loaded is compiled (a policy with no database has nothing to compile) */
	if (a->cmd_db != NULL || a->det_db != NULL)
		assert_int_equal(tg_policy_compile(b, "t", err, sizeof(err)), -EALREADY);
	free(again);
	free(blob);
	tg_policy_free(b);
	tg_policy_free(a);
	return seen;
}

static void
test_text_digest(void **state)
{
	char text[1000];
	unsigned int i, k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(text_digests); i++) {
		size_t n = text_digests[i].len;
		struct tg_policy *p;
		char hex[2 * TG_POLICY_DIGEST_LEN + 1];

		text[0] = '{';
		memset(text + 1, ' ', n - 2);
		text[n - 1] = '}';
		p = compile_text(text, n, &svcs);
		for (k = 0; k < TG_POLICY_DIGEST_LEN; k++)
			snprintf(hex + 2 * k, 3, "%02x", p->text_sha256[k]);
		assert_string_equal(hex, text_digests[i].hex);
		tg_policy_free(p);
	}
}

static char *
read_appliance(size_t *len)
{
	FILE *f = fopen(TG_SOURCE_ROOT "/appliance/policy.json", "rb");
	char *b = malloc(TG_POLICY_FILE_MAX);

	assert_non_null(f);
	assert_non_null(b);
	*len = fread(b, 1, TG_POLICY_FILE_MAX, f);
	assert_true(*len > 0 && *len < TG_POLICY_FILE_MAX);
	fclose(f);
	return b;
}

static void
test_blob_round_trip(void **state)
{
	static const char *const others[] = {
		"{\"commands\": {\"rules\": [{\"id\": \"a\", \"patterns\": [\"x\", \"y+z\"], "
		"\"action\": \"log\"}]}}",
		"{\"detectors\": [{\"id\": \"r\", \"kind\": \"regex\", \"pattern\": \"ab+c\"}]}",
		"{\"detectors\": [{\"id\": \"j\", \"kind\": \"jwt\"}]}",
		"{\"columns\": [{\"id\": \"c\", \"column\": \"ssn\"}]}",
		small_policy,
	};
	struct tg_services lab;
	size_t len;
	char *text;
	unsigned int i;
	uint64_t seen;

	(void)state;
	memset(&lab, 0, sizeof(lab));
	snprintf(lab.svc[0].name, sizeof(lab.svc[0].name), "demo-pg");
	lab.nb = 1;
	/* the lab's policy: its eight built-ins all found by the corpus */
	text = read_appliance(&len);
	seen = round_trip(text, len, &lab);
	assert_int_equal(seen, 0xff);
	free(text);
	/* every kind, the locate database among them: every detector found */
	seen = round_trip(kinds_policy, strlen(kinds_policy), &svcs);
	assert_int_equal(seen, (1u << 11) - 1);
	for (i = 0; i < ARRAY_SIZE(others); i++)
		round_trip(others[i], strlen(others[i]), &svcs);
}

/* {} and the like: a header alone, which loads into a policy with no database */
static void
test_blob_empty(void **state)
{
	static const char text[] = "{\"columns\": [{\"id\": \"c\", \"column\": \"ssn\"}]}";
	struct tg_policy *a = compile_text("{}", 2, &svcs), *b, *c;
	struct tg_policy_scratch *s;
	uint8_t *blob, *other;
	size_t len, olen;
	uint32_t r[2];

	(void)state;
	blob = serialize_ok(a, &len);
	assert_int_equal(len, TG_POLICY_BLOB_HDR);
	assert_int_equal(blob[6], 0);
	assert_int_equal(blob[7], 0);
	b = load_blob_ok("{}", 2, &svcs, blob, len);
	assert_null(b->cmd_db);
	assert_null(b->det_db);
	s = tg_policy_scratch_alloc(b);
	assert_non_null(s);
	assert_int_equal(tg_policy_match_cmd(b, s, "DROP TABLE x", 12, 0, r, 2), 0);
	tg_policy_scratch_free(s);
	/* another text, even one that needs no database either */
	expect_refused(text, &svcs, blob, len, "compiled from another text");
	c = compile_text(text, strlen(text), &svcs);
	other = serialize_ok(c, &olen);
	expect_refused("{}", &svcs, other, olen, "compiled from another text");
	/* a blob of nothing is not a blob */
	expect_refused("{}", &svcs, NULL, 0, "shorter than its 40-byte header");
	free(other);
	free(blob);
	tg_policy_free(c);
	tg_policy_free(b);
	tg_policy_free(a);
}

/* Where each database of a blob is (the test's own reading of policy.h's format). */
struct sect {
	size_t off, len;	/* its header and database */
	uint8_t tag;
};

static unsigned int
sections(const uint8_t *b, size_t len, struct sect *s, unsigned int max)
{
	size_t off = TG_POLICY_BLOB_HDR;
	unsigned int n = 0;

	while (off < len) {
		assert_true(n < max);
		s[n].off = off;
		s[n].tag = b[off];
		s[n].len = 41 + (size_t)tg_rd32(b + off + 37);
		off += s[n].len;
		n++;
	}
	assert_int_equal(off, len);
	assert_int_equal(tg_rd16(b + 6), n);
	return n;
}

/* A piece of a blob: a database of some blob. */
struct piece {
	const uint8_t *blob;
	struct sect s;
};

/* hdr's header (the count set to n) and pieces[0..n): a new blob of *len bytes. */
static uint8_t *
splice(const uint8_t *hdr, const struct piece *pieces, unsigned int n, size_t *len)
{
	size_t total = TG_POLICY_BLOB_HDR, o;
	unsigned int i;
	uint8_t *b;

	for (i = 0; i < n; i++)
		total += pieces[i].s.len;
	b = malloc(total);
	assert_non_null(b);
	memcpy(b, hdr, TG_POLICY_BLOB_HDR);
	tg_wr16(b + 6, (uint16_t)n);
	for (i = 0, o = TG_POLICY_BLOB_HDR; i < n; i++) {
		memcpy(b + o, pieces[i].blob + pieces[i].s.off, pieces[i].s.len);
		o += pieces[i].s.len;
	}
	*len = total;
	return b;
}

/* The blob of hdr and pieces[0..n) is refused for text, for why. */
static void
expect_splice_refused(const char *text, const uint8_t *hdr, const struct piece *pieces,
		      unsigned int n, const char *why)
{
	size_t len;
	uint8_t *b = splice(hdr, pieces, n, &len);

	expect_refused(text, &svcs, b, len, why);
	free(b);
}

/* Every length short of the whole, and a byte more. */
static void
test_blob_truncated(void **state)
{
	struct tg_policy *p = compile_text(small_policy, strlen(small_policy), &svcs);
	struct sect s[8];
	uint8_t *blob, *longer;
	size_t len, n, i;
	unsigned int ns;

	(void)state;
	blob = serialize_ok(p, &len);
	ns = sections(blob, len, s, 8);
	assert_int_equal(ns, 4);	/* command, prefilter, literal, locate */
	for (n = 0; n < len; n++) {
		const char *why = "cut in";

		if (n < TG_POLICY_BLOB_HDR)
			why = "shorter than its 40-byte header";
		for (i = 0; i < ns; i++)
			if (n == s[i].off)
				why = "cut in the header of database";
		expect_refused(small_policy, &svcs, blob, n, why);
	}
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, blob, len);
	longer[len] = 0;
	expect_refused(small_policy, &svcs, longer, len + 1, "1 bytes after the last of 4");
	free(longer);
	free(blob);
	tg_policy_free(p);
}

static void
test_blob_header(void **state)
{
	static const char moved[] = " { \"commands\": {\"rules\": [{\"id\": \"d\", \"patterns\": "
				    "[\"drop\"], \"action\": \"block\"}]}}";
	static const struct {
		size_t off;
		uint8_t v[2];
		const char *why;
	} edits[] = {
		{ 4, { 0, 2 }, "format version 2, this build reads 1" },
		{ 4, { 0xff, 1 }, "format version 65281" },
		{ 6, { 0, 5 }, "cut in the header of database 5 of 5" },
		{ 6, { 0, 3 }, "after the last of 3 databases" },
		{ 6, { 0, 0 }, "after the last of 0 databases" },
		{ 6, { 0xff, 0xff }, "database 5 of 65535" },
	};
	struct tg_policy *p = compile_text(small_policy, strlen(small_policy), &svcs);
	uint8_t *blob;
	size_t len;
	unsigned int i, bit;

	(void)state;
	blob = serialize_ok(p, &len);
	assert_memory_equal(blob, "TGPB\0\1\0\4", 8);
	assert_memory_equal(blob + 8, p->text_sha256, TG_POLICY_DIGEST_LEN);
	for (i = 0; i < 4; i++)
		expect_edit_refused(small_policy, blob, len, i, (uint8_t[]){ blob[i] ^ 0x20 }, 1,
				    "not a compiled policy");
	/* the version; the count: one more, one fewer, none, many */
	for (i = 0; i < ARRAY_SIZE(edits); i++)
		expect_edit_refused(small_policy, blob, len, edits[i].off, edits[i].v, 2,
				    edits[i].why);
	/* every bit of the text's digest */
	for (i = 8; i < TG_POLICY_BLOB_HDR; i++)
		for (bit = 0; bit < 8; bit++)
			expect_edit_refused(small_policy, blob, len, i,
					    (uint8_t[]){ blob[i] ^ (uint8_t)(1u << bit) }, 1,
					    "compiled from another text");
	/* the same policy in other words is another text */
	expect_refused(" " "{\"commands\": {\"rules\": [{\"id\": \"d\", \"patterns\": [\"drop\"], "
		       "\"action\": \"block\"}]}}", &svcs, blob, len, "compiled from another text");
	expect_refused(moved, &svcs, blob, len, "compiled from another text");
	/* still whole */
	tg_policy_free(load_blob_ok(small_policy, strlen(small_policy), &svcs, blob, len));
	free(blob);
	tg_policy_free(p);
}

/* Databases missing, extra, swapped, out of order, of other expressions, corrupt. */
static void
test_blob_databases(void **state)
{
	static const char cmds_only[] = "{\"commands\": {\"rules\": [{\"id\": \"d\", \"patterns\": "
					"[\"drop\"], \"action\": \"block\"}]}}";
	static const char cmds_other[] = "{\"commands\": {\"rules\": [{\"id\": \"d\", "
					 "\"patterns\": [\"delete\"], \"action\": \"block\"}]}}";
	static const char cmds_caseless[] = "{\"commands\": {\"rules\": [{\"id\": \"d\", "
					    "\"patterns\": [\"drop\"], \"caseless\": true, "
					    "\"action\": \"block\"}]}}";
	static const char cmds_two[] = "{\"commands\": {\"rules\": [{\"id\": \"d\", \"patterns\": "
				       "[\"drop\", \"x\"], \"action\": \"block\"}]}}";
	struct tg_policy *p = compile_text(small_policy, strlen(small_policy), &svcs);
	struct tg_policy *q = compile_text(cmds_only, strlen(cmds_only), &svcs);
	struct tg_policy *o = compile_text(cmds_other, strlen(cmds_other), &svcs);
	struct tg_policy *ci = compile_text(cmds_caseless, strlen(cmds_caseless), &svcs);
	struct tg_policy *two = compile_text(cmds_two, strlen(cmds_two), &svcs);
	static const uint8_t tags[] = { 0, TG_POLICY_BLOB_TAG_MAX, 0xff };
	struct sect s[4], sq[1], so[1], sc[1], st[1];
	struct piece pc[5];
	uint8_t v[4];
	uint8_t *blob, *qb, *ob, *cb, *tb;
	size_t len, qlen, olen, clen, tlen, blen;
	unsigned int i;

	(void)state;
	blob = serialize_ok(p, &len);
	qb = serialize_ok(q, &qlen);
	ob = serialize_ok(o, &olen);
	cb = serialize_ok(ci, &clen);
	tb = serialize_ok(two, &tlen);
	assert_int_equal(sections(blob, len, s, 4), 4);
	assert_int_equal(sections(qb, qlen, sq, 1), 1);
	assert_int_equal(sections(ob, olen, so, 1), 1);
	assert_int_equal(sections(cb, clen, sc, 1), 1);
	assert_int_equal(sections(tb, tlen, st, 1), 1);
	assert_int_equal(s[0].tag, TG_POLICY_BLOB_CMD);
	assert_int_equal(s[1].tag, TG_POLICY_BLOB_DETECT + TG_DETECT_HS_MAIN);
	assert_int_equal(s[2].tag, TG_POLICY_BLOB_DETECT + TG_DETECT_HS_LIT);
	assert_int_equal(s[3].tag, TG_POLICY_BLOB_DETECT + TG_DETECT_HS_LOCATE);

	/* each one missing */
	for (i = 0; i < 4; i++) {
		static const char *const missing[] = { "no command database",
						       "no detect prefilter database",
						       "no detect literal database",
						       "no detect locate database" };
		unsigned int k, n = 0;

		for (k = 0; k < 4; k++)
			if (k != i)
				pc[n++] = (struct piece){ blob, s[k] };
		expect_splice_refused(small_policy, blob, pc, n, missing[i]);
	}
	/* one the policy does not need: the detect ones after a command-only text's */
	pc[0] = (struct piece){ qb, sq[0] };
	for (i = 1; i < 4; i++) {
		static const char *const extra[] = { NULL, "a detect prefilter database, which",
						     "a detect literal database, which",
						     "a detect locate database, which" };

		pc[1] = (struct piece){ blob, s[i] };
		expect_splice_refused(cmds_only, qb, pc, 2, extra[i]);
	}
	/* and a command database where there is no command rule */
	{
		static const char dets_only[] = "{\"detectors\": [{\"id\": \"k\", \"kind\": "
						"\"aws_access_key\"}]}";
		struct tg_policy *d = compile_text(dets_only, strlen(dets_only), &svcs);
		struct sect sd[1];
		uint8_t *db = serialize_ok(d, &blen);

		assert_int_equal(sections(db, blen, sd, 1), 1);
		pc[0] = (struct piece){ qb, sq[0] };
		pc[1] = (struct piece){ db, sd[0] };
		expect_splice_refused(dets_only, db, pc, 2, "a command database, which the policy");
		free(db);
		tg_policy_free(d);
	}
	/* out of order, twice, unknown tags */
	pc[0] = (struct piece){ blob, s[1] };
	pc[1] = (struct piece){ blob, s[0] };
	pc[2] = (struct piece){ blob, s[2] };
	pc[3] = (struct piece){ blob, s[3] };
	expect_splice_refused(small_policy, blob, pc, 4, "database 2 of 4: tag 1 after tag 2");
	pc[0] = (struct piece){ blob, s[0] };
	pc[1] = (struct piece){ blob, s[1] };
	pc[2] = (struct piece){ blob, s[1] };
	expect_splice_refused(small_policy, blob, pc, 4, "database 3 of 4: tag 2 after tag 2");
	for (i = 0; i < ARRAY_SIZE(tags); i++)
		expect_edit_refused(small_policy, blob, len, s[3].off, &tags[i], 1,
				    "database 4 of 4: unknown tag");
	/* a database's length past the end, or short of its database */
	expect_edit_refused(small_policy, blob, len, s[3].off + 37, (uint8_t[]){ 0x7f }, 1,
			    "cut in the detect locate database");
	tg_wr32(v, tg_rd32(blob + s[3].off + 37) - 1);
	expect_edit_refused(small_policy, blob, len, s[3].off + 37, v, 4,
			    "1 bytes after the last of 4 databases");
	tg_wr32(v, tg_rd32(blob + s[1].off + 37) - 1);
	expect_edit_refused(small_policy, blob, len, s[1].off + 37, v, 4, NULL);
	/* the expression count or list */
	expect_edit_refused(small_policy, blob, len, s[0].off + 1, (uint8_t[]){ 0, 0, 0, 2 }, 4,
			    "command database of 2 expressions, the policy makes 1");
	expect_edit_refused(small_policy, blob, len, s[2].off + 36,
			    (uint8_t[]){ blob[s[2].off + 36] ^ 1 }, 1,
			    "detect literal database compiled from other expressions");
	tg_policy_free(load_blob_ok(small_policy, strlen(small_policy), &svcs, blob, len));

	/*
	 * Another policy's database in place of this one's, with this text's
	 * digest: other patterns, other flags, more patterns.
	 */
	pc[0] = (struct piece){ ob, so[0] };
	expect_splice_refused(cmds_only, qb, pc, 1, "command database compiled from other "
			      "expressions than this build makes of the policy");
	pc[0] = (struct piece){ cb, sc[0] };
	expect_splice_refused(cmds_only, qb, pc, 1, "compiled from other expressions");
	pc[0] = (struct piece){ tb, st[0] };
	expect_splice_refused(cmds_only, qb, pc, 1, "of 2 expressions, the policy makes 1");
	/*
	 * Another's database under this one's count and list: accepted. The
	 * loader cannot see what a database matches, only that it is whole
	 * and what it says it was compiled from (policy.h, Caveats).
	 */
	{
		uint8_t *x;
		size_t xlen;

		pc[0] = (struct piece){ ob, so[0] };
		x = splice(qb, pc, 1, &xlen);
		memcpy(x + TG_POLICY_BLOB_HDR, qb + sq[0].off, 37);
		tg_policy_free(load_blob_ok(cmds_only, strlen(cmds_only), &svcs, x, xlen));
		free(x);
	}

	/* too short to hold a Hyperscan database */
	{
		uint8_t *x = malloc(TG_POLICY_BLOB_HDR + 41 + 100);

		assert_non_null(x);
		memcpy(x, qb, TG_POLICY_BLOB_HDR + 41);
		memset(x + TG_POLICY_BLOB_HDR + 41, 0xdb, 100);
		tg_wr32(x + TG_POLICY_BLOB_HDR + 37, 100);
		expect_refused(cmds_only, &svcs, x, TG_POLICY_BLOB_HDR + 41 + 100,
			       "command database of 100 bytes: too short");
		free(x);
	}
	free(blob);
	free(qb);
	free(ob);
	free(cb);
	free(tb);
	tg_policy_free(two);
	tg_policy_free(ci);
	tg_policy_free(o);
	tg_policy_free(q);
	tg_policy_free(p);
}

/*
 * Bytes of each database flipped. Hyperscan 5.4 lays a serialised
 * database out as a 32-byte header (magic, version, bytecode length,
 * platform, CRC32C of the bytecode, two reserved words: host byte order),
 * the bytecode, then zeros up to the size of its in-memory header. The
 * bytecode is covered by the CRC: any flip in it must be refused. The
 * header is checked but for the reserved words and the platform bits of
 * the variants this CPU also runs, and the zeros after the bytecode not
 * at all: a flip there is refused or, if accepted, answers as before
 * (Hyperscan ignores those bytes).
 */
static void
test_blob_corrupt(void **state)
{
	struct tg_policy *p = compile_text(small_policy, strlen(small_policy), &svcs);
	struct tg_policy *q;
	struct sect s[4];
	uint8_t *blob;
	size_t len, k;
	unsigned int i, refused = 0, covered = 0;
	char err[512];

	(void)state;
	blob = serialize_ok(p, &len);
	assert_int_equal(sections(blob, len, s, 4), 4);
	for (i = 0; i < 4; i++) {
		const uint8_t *h = blob + s[i].off + 41;
		size_t base = s[i].off + 41, dl = s[i].len - 41;
		/* the bytecode length, at offset 8, little-endian on x86 */
		size_t code = (size_t)h[8] | (size_t)h[9] << 8 | (size_t)h[10] << 16 |
			      (size_t)h[11] << 24;

		assert_true(32 + code <= dl && dl - (32 + code) < 256);
		for (k = 0; k < dl; k += k < 512 || k + 128 > dl ? 1 : 97) {
			int rc;

			blob[base + k] ^= 0x5a;
			if (k >= 32 && k < 32 + code) {
				expect_refused(small_policy, &svcs, blob, len, "is corrupt");
				covered++;
			} else {
				rc = load_blob(small_policy, strlen(small_policy), &svcs, blob, len,
					       &q, err, sizeof(err));
				if (rc == 0) {
					/* only where Hyperscan does not look */
					assert_true(k >= 24 || (k >= 12 && k < 20));
					expect_same(p, q);
					tg_policy_free(q);
				} else {
					assert_int_equal(rc, -EINVAL);
					assert_null(q);
					assert_non_null(strstr(err, "t: policy blob: "));
					refused++;
				}
			}
			blob[base + k] ^= 0x5a;
		}
	}
	/* the magic, version, length and CRC of each are checked */
	assert_true(refused >= 4 * 16);
	assert_true(covered > 4 * 400);
	tg_policy_free(load_blob_ok(small_policy, strlen(small_policy), &svcs, blob, len));
	free(blob);
	tg_policy_free(p);
}

static void
test_blob_api(void **state)
{
	struct tg_policy *p = parse_ok(small_policy), *q = (struct tg_policy *)&q;
	uint8_t *blob = (uint8_t *)&blob;
	size_t len = 7;
	char err[256];

	(void)state;
	/* not compiled */
	assert_int_equal(tg_policy_serialize(p, &blob, &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "policy blob: the policy is not compiled");
	assert_null(blob);
	assert_int_equal(len, 0);
	assert_int_equal(tg_policy_serialize(NULL, &blob, &len, err, sizeof(err)), -EINVAL);
	assert_int_equal(tg_policy_compile(p, "t", err, sizeof(err)), 0);
	assert_int_equal(tg_policy_serialize(p, NULL, &len, err, sizeof(err)), -EINVAL);
	assert_int_equal(tg_policy_serialize(p, &blob, NULL, NULL, 0), -EINVAL);
	assert_int_equal(tg_policy_serialize(p, &blob, &len, NULL, 0), 0);

	/* bad arguments; a syntax error is the parser's, with its position */
	assert_int_equal(tg_policy_load_compiled(small_policy, strlen(small_policy), NULL, &svcs,
						 blob, len, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(tg_policy_load_compiled(small_policy, strlen(small_policy), NULL, &svcs,
						 NULL, len, &q, err, sizeof(err)), -EINVAL);
	assert_null(q);
	assert_int_equal(tg_policy_load_compiled("{\"x\": 1}", 8, "t", &svcs, blob, len, &q, err,
						 sizeof(err)), -EINVAL);
	assert_null(q);
	assert_true(has_position(err, "t"));
	/* source defaults to "policy"; err may be NULL */
	blob[0] ^= 1;
	assert_int_equal(tg_policy_load_compiled(small_policy, strlen(small_policy), NULL, &svcs,
						 blob, len, &q, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "policy: policy blob: magic 0x55475042"));
	assert_int_equal(tg_policy_load_compiled(small_policy, strlen(small_policy), NULL, &svcs,
						 blob, len, &q, NULL, 0), -EINVAL);
	blob[0] ^= 1;
	assert_int_equal(tg_policy_load_compiled(small_policy, strlen(small_policy), NULL, &svcs,
						 blob, len, &q, NULL, 0), 0);
	tg_policy_free(q);
	free(blob);
	tg_policy_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonpos_basic),
		cmocka_unit_test(test_jsonpos_strings),
		cmocka_unit_test(test_jsonpos_nested_crlf_utf8),
		cmocka_unit_test(test_jsonpos_next_linecol),
		cmocka_unit_test(test_jsonpos_prefixes),
		cmocka_unit_test(test_full_policy),
		cmocka_unit_test(test_empty_policies),
		cmocka_unit_test(test_match_order_scope_case),
		cmocka_unit_test(test_match_uncompiled_and_many),
		cmocka_unit_test(test_column_lookup),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_no_services),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_load_appliance),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_prefixes_and_mutations),
		cmocka_unit_test(test_text_digest),
		cmocka_unit_test(test_blob_round_trip),
		cmocka_unit_test(test_blob_empty),
		cmocka_unit_test(test_blob_truncated),
		cmocka_unit_test(test_blob_header),
		cmocka_unit_test(test_blob_databases),
		cmocka_unit_test(test_blob_corrupt),
		cmocka_unit_test(test_blob_api),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
