/* SPDX-License-Identifier: MIT */
/*
 * fuzz_policy.c — libFuzzer target for tg_policy_parse() and the JSON
 * position locator under it (jsonpos.c), with tg_policy_compile() and
 * tg_policy_match_cmd() on small results.
 *
 * Input: the bytes of a policy file. Services: "pg-a" (0) and "pg-b" (1).
 *
 * Beyond memory errors, UB and leaks, the target aborts when:
 * - a refusal is not -EINVAL with "fuzz:LINE:COL: " (both >= 1) and a
 *   line inside the input, or -ENOMEM: every refusal must say where;
 * - an accepted policy breaks the contract of policy.h: an id empty, too
 *   long, outside [A-Za-z0-9_.-] or used twice; a rule without a pattern
 *   or an action out of range; a pattern whose rule is out of range or
 *   not in file order, or whose recorded position is not a '"' of the
 *   input, or not after the previous pattern's; a regex detector without
 *   pattern or a built-in with one, a built-in twice, a flag the kind does
 *   not take; a mask style out of range; an empty or too long column;
 * - the locator, over any document jansson accepts, puts a value where
 *   the text has no value of that type, or a key where there is no '"'
 *   (every member and element is visited, up to a cap, from its parent's
 *   offset, and array elements with tg_jsonpos_next());
 * - a compiled policy (at most 8 patterns of at most 24 bytes: compiling
 *   is milliseconds and is not what is fuzzed) reports rules out of order,
 *   out of scope, or more written than counted, for the input as text.
 *
 * policy.c, jsonpos.c and detect.c are compiled into this executable with
 * the fuzzer's instrumentation (tests/fuzz/meson.build).
 *
 * Seeds: tests/fuzz/gen-corpus policy DIR. Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonpos.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_PATTERNS 8
#define SMALL_PATTERN_LEN 24
#define NODES_MAX 2048
#define DEPTH_MAX 64

static struct tg_services svcs;

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static unsigned int
count_lines(const char *t, size_t len)
{
	unsigned int n = 1;
	size_t i;

	for (i = 0; i < len; i++)
		n += t[i] == '\n';
	return n;
}

/* The byte offset of 1-based line:col (columns count characters), or SIZE_MAX. */
static size_t
offset_of(const char *t, size_t len, uint32_t line, uint32_t col)
{
	size_t i = 0;
	uint32_t l = 1, c = 1;

	while (i < len && l < line) {
		if (t[i++] == '\n')
			l++;
	}
	if (l != line)
		return SIZE_MAX;
	for (;;) {
		if (i >= len || t[i] == '\n')
			return SIZE_MAX;
		if (c == col)
			return i;
		i++;
		while (i < len && ((unsigned char)t[i] & 0xC0) == 0x80)
			i++;
		c++;
	}
}

static void
check_refusal(int rc, const char *err, const char *text, size_t len)
{
	unsigned int line = 0, col = 0;
	int used = 0;

	if (rc == -ENOMEM)
		return;
	check(rc == -EINVAL);
	check(strncmp(err, "fuzz:", 5) == 0);
	check(sscanf(err + 4, ":%u:%u: %n", &line, &col, &used) == 2 && used > 0);
	check(line >= 1 && col >= 1);
	check(line <= count_lines(text, len));
}

static bool
id_ok(const char *id, size_t max)
{
	size_t n = strnlen(id, max), i;

	if (n == 0 || n >= max)
		return false;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool
pos_before(struct tg_policy_pos a, struct tg_policy_pos b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

static void
check_policy(const struct tg_policy *p, const char *text, size_t len)
{
	static const char *ids[TG_POLICY_RULES_MAX * 2 + TG_DETECT_SPECS_MAX];
	unsigned int nids = 0, i, j, seen[TG_DETECT_KIND_MAX] = { 0 };

	check(p->cmd_default < TG_ACT_MAX);
	check(p->cmd_db == NULL && p->det_db == NULL);
	check(p->nb_cmds <= TG_POLICY_RULES_MAX && p->nb_dets <= TG_DETECT_SPECS_MAX &&
	      p->nb_cols <= TG_POLICY_RULES_MAX);
	for (i = 0; i < p->nb_cmds; i++) {
		check(id_ok(p->cmds[i].id, TG_POLICY_ID_MAX));
		check(p->cmds[i].action < TG_ACT_MAX);
		check(p->cmds[i].services != 0);
		ids[nids++] = p->cmds[i].id;
	}
	for (i = 0; i < p->nb_patterns; i++) {
		const struct tg_cmd_pattern *pt = &p->patterns[i];
		size_t off = offset_of(text, len, pt->pos.line, pt->pos.col);

		check(pt->rule < p->nb_cmds);
		check(pt->expr != NULL && pt->expr[0] != '\0');
		check(off != SIZE_MAX && text[off] == '"');
		if (i > 0) {
			check(pt->rule >= p->patterns[i - 1].rule);
			check(pos_before(p->patterns[i - 1].pos, pt->pos));
		}
	}
	/* every rule has a pattern */
	for (i = 0, j = 0; i < p->nb_cmds; i++) {
		while (j < p->nb_patterns && p->patterns[j].rule < i)
			j++;
		check(j < p->nb_patterns && p->patterns[j].rule == i);
	}
	for (i = 0; i < p->nb_dets; i++) {
		const struct tg_policy_detector *d = &p->dets[i];
		size_t off = offset_of(text, len, d->pos.line, d->pos.col);

		check(id_ok(d->id, TG_DETECT_NAME_MAX));
		check(d->kind > TG_DETECT_NONE && d->kind < TG_DETECT_KIND_MAX);
		check(d->style < TG_DETECT_MASK_MAX);
		check(d->services != 0);
		check(off != SIZE_MAX);
		if (d->kind == TG_DETECT_REGEX) {
			check(d->pattern != NULL && d->pattern[0] != '\0');
			check((d->flags & ~(uint32_t)(TG_DETECT_F_CASELESS | TG_DETECT_F_UTF8)) == 0);
			check(text[off] == '"');
		} else {
			check(d->pattern == NULL);
			check(seen[d->kind]++ == 0);
			check(d->kind == TG_DETECT_SSN ? (d->flags & ~TG_DETECT_F_SSN_NODASH) == 0 :
							 d->flags == 0);
			check(text[off] == '{');
		}
		ids[nids++] = d->id;
	}
	for (i = 0; i < p->nb_cols; i++) {
		size_t n = strnlen(p->cols[i].column, TG_POLICY_COLUMN_MAX);

		check(id_ok(p->cols[i].id, TG_POLICY_ID_MAX));
		check(n > 0 && n < TG_POLICY_COLUMN_MAX);
		check(p->cols[i].style < TG_DETECT_MASK_MAX);
		check(p->cols[i].services != 0);
		ids[nids++] = p->cols[i].id;
	}
	for (i = 0; i < nids; i++)
		for (j = 0; j < i; j++)
			check(strcmp(ids[i], ids[j]) != 0);
}

static bool
small(const struct tg_policy *p)
{
	unsigned int i, n = p->nb_patterns;

	for (i = 0; i < p->nb_patterns; i++)
		if (strlen(p->patterns[i].expr) > SMALL_PATTERN_LEN)
			return false;
	for (i = 0; i < p->nb_dets; i++) {
		if (p->dets[i].pattern == NULL)
			continue;
		if (strlen(p->dets[i].pattern) > SMALL_PATTERN_LEN)
			return false;
		n++;
	}
	return n <= SMALL_PATTERNS;
}

static void
compile_and_match(struct tg_policy *p, const char *text, size_t len)
{
	char err[512] = "";
	struct tg_policy_scratch *s;
	uint32_t rules[4];
	uint16_t svc;
	int rc = tg_policy_compile(p, "fuzz", err, sizeof(err));

	if (rc != 0) {
		check(rc == -EINVAL || rc == -ENOMEM);
		check(strncmp(err, "fuzz:", 5) == 0);
		check(p->cmd_db == NULL && p->det_db == NULL);
		return;
	}
	check((p->cmd_db != NULL) == (p->nb_patterns > 0));
	check((p->det_db != NULL) == (p->nb_dets > 0));
	s = tg_policy_scratch_alloc(p);
	if (s == NULL)
		return;
	for (svc = 0; svc < 3; svc++) {
		int n = tg_policy_match_cmd(p, s, text, (uint32_t)len, svc, rules, 4);
		int k;

		check(n >= 0 && (unsigned int)n <= p->nb_cmds);
		for (k = 0; k < n && k < 4; k++) {
			check(rules[k] < p->nb_cmds);
			check(k == 0 || rules[k - 1] < rules[k]);
			check(svc >= 64 || ((p->cmds[rules[k]].services >> svc) & 1));
		}
	}
	tg_policy_scratch_free(s);
}

/* The first byte a value of v's type starts with. */
static bool
starts_like(const json_t *v, char c)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return c == '{';
	case JSON_ARRAY:
		return c == '[';
	case JSON_STRING:
		return c == '"';
	case JSON_INTEGER:
	case JSON_REAL:
		return c == '-' || (c >= '0' && c <= '9');
	case JSON_TRUE:
		return c == 't';
	case JSON_FALSE:
		return c == 'f';
	case JSON_NULL:
		return c == 'n';
	}
	return false;
}

/* Visits v at text[off] and its children, up to *budget nodes. */
static void
walk(const char *text, size_t len, const json_t *v, size_t off, unsigned int depth,
     unsigned int *budget)
{
	check(off < len && starts_like(v, text[off]));
	if (*budget == 0 || depth >= DEPTH_MAX)
		return;
	(*budget)--;
	if (json_is_object(v)) {
		const char *key;
		json_t *child;

		json_object_foreach((json_t *)v, key, child) {
			struct tg_jsonpos_step s = { .key = key };
			size_t coff, koff;

			if (*budget == 0)
				return;
			check(tg_jsonpos_offset(text, len, off, &s, 1, 0, &coff) == 0);
			check(tg_jsonpos_offset(text, len, off, &s, 1, 1, &koff) == 0);
			check(text[koff] == '"' && koff > off && koff < coff);
			walk(text, len, child, coff, depth + 1, budget);
		}
	} else if (json_is_array(v)) {
		size_t i, coff = 0, n = json_array_size(v);

		for (i = 0; i < n && *budget > 0; i++) {
			if (i == 0) {
				struct tg_jsonpos_step s = { .key = NULL, .index = 0 };

				check(tg_jsonpos_offset(text, len, off, &s, 1, 0, &coff) == 0);
			} else {
				check(tg_jsonpos_next(text, len, coff, &coff) == 0);
			}
			walk(text, len, json_array_get(v, i), coff, depth + 1, budget);
		}
		if (i == n && n > 0)
			check(tg_jsonpos_next(text, len, coff, &coff) == -ENOENT);
	}
}

static void
check_locator(const char *text, size_t len)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	unsigned int budget = NODES_MAX;
	size_t off;

	if (root == NULL)
		return;
	check(tg_jsonpos_offset(text, len, 0, NULL, 0, 0, &off) == 0);
	walk(text, len, root, off, 0, &budget);
	json_decref(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct tg_policy *p = NULL;
	char err[512] = "";
	int rc;

	if (svcs.nb == 0) {
		snprintf(svcs.svc[0].name, sizeof(svcs.svc[0].name), "pg-a");
		snprintf(svcs.svc[1].name, sizeof(svcs.svc[1].name), "pg-b");
		svcs.nb = 2;
	}
	check_locator(text, size);
	rc = tg_policy_parse(text, size, "fuzz", &svcs, &p, err, sizeof(err));
	if (rc != 0) {
		check(p == NULL);
		check_refusal(rc, err, text, size);
		return 0;
	}
	check(p != NULL);
	check_policy(p, text, size);
	if (small(p))
		compile_and_match(p, text, size);
	tg_policy_free(p);
	return 0;
}
