/* SPDX-License-Identifier: MIT */
/*
 * fuzz_policy_blob.c — libFuzzer target for tg_policy_load_compiled(): a
 * compiled policy blob from the slowpath, against a fixed policy text.
 *
 * Input, used twice per run:
 * - as the blob itself, whole;
 * - as an edit of the blob tg_policy_serialize() made of the fixed text
 *   at start (so that the runs reach past the text's digest, which random
 *   bytes never match, into each database's checks and Hyperscan's): a
 *   big-endian u32, whose bit 31 says "cut the blob after the edit" and
 *   bits 0-30 give the offset (modulo the blob's length + 1), then the
 *   bytes to write there, growing the blob if they run past its end.
 *   The input of 4 zero bytes is the blob as made: accepted.
 *
 * The text (services "pg-a", "pg-b") has a command rule and detectors of
 * all four Hyperscan databases: prefilter, literal, locate.
 *
 * Beyond memory errors, UB and leaks, the target aborts when:
 * - a refusal is not -EINVAL with "fuzz: policy blob: " (or -ENOMEM), or
 *   leaves a policy in *out;
 * - an accepted blob gives a policy that answers otherwise than the one
 *   compiled from the text: every statement of a small corpus for every
 *   service, every field (nothing that Hyperscan runs is left unchecked
 *   by the loader: bytes it accepts differing are ones Hyperscan ignores).
 *
 * policy.c, jsonpos.c and detect.c are compiled into this executable with
 * the fuzzer's instrumentation (tests/fuzz/meson.build); libhs is not, so
 * the fuzzer cannot learn its CRC: edits of a database's bytecode are
 * refused, which is what is checked.
 *
 * Seeds: tests/fuzz/gen-corpus policy_blob DIR. Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EDIT_CUT 0x80000000u
#define MAXM 16

static const char text[] =
	"{\"commands\": {\"rules\": ["
	"{\"id\": \"no-drop\", \"patterns\": [\"\\\\bdrop\\\\s+table\\\\b\"], \"caseless\": true,"
	" \"action\": \"block\", \"services\": [\"pg-a\"]},"
	"{\"id\": \"sel\", \"patterns\": [\"^select\", \"from\\\\s+t\"], \"action\": \"log\"}]},"
	" \"detectors\": ["
	"{\"id\": \"card\", \"kind\": \"card\", \"mask\": \"last4\"},"
	"{\"id\": \"aws\", \"kind\": \"aws_access_key\"},"
	"{\"id\": \"emp\", \"kind\": \"regex\", \"pattern\": \"EMP-[0-9]{6}\"},"
	"{\"id\": \"ord\", \"kind\": \"regex\", \"pattern\": \"ORD-[0-9]+x\"}]}";

static const char *const stmts[] = {
	"DROP TABLE accounts", "select 1 from t", "SELECT 1", "drop\ntable x", "",
};

static const char *const fields[] = {
	"4111 1111 1111 1111", "id AKIAIOSFODNN7EXAMPLE.", "EMP-123456 and ORD-12345x",
	"card 4111111111111111 ORD-7x", "nothing",
};

/* What the compiled policy answers: the oracle for every accepted blob. */
static struct {
	struct tg_services svcs;
	struct tg_policy *p;
	uint8_t *blob;
	size_t len;
	int nrules[ARRAY_SIZE(stmts)][3];
	uint32_t rules[ARRAY_SIZE(stmts)][3][4];
	int nm[ARRAY_SIZE(fields)];
	struct tg_detect_match m[ARRAY_SIZE(fields)][MAXM];
} ref;

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
answers(const struct tg_policy *p, int nrules[][3], uint32_t rules[][3][4], int *nm,
	struct tg_detect_match m[][MAXM])
{
	struct tg_policy_scratch *s = tg_policy_scratch_alloc(p);
	unsigned int i;
	uint16_t svc;

	check(s != NULL);
	for (i = 0; i < ARRAY_SIZE(stmts); i++)
		for (svc = 0; svc < 3; svc++)
			nrules[i][svc] = tg_policy_match_cmd(p, s, stmts[i],
							     (uint32_t)strlen(stmts[i]), svc,
							     rules[i][svc], 4);
	for (i = 0; i < ARRAY_SIZE(fields); i++)
		nm[i] = tg_detect_scan(p->det_db, tg_policy_detect_scratch(s),
				       (const uint8_t *)fields[i], (uint32_t)strlen(fields[i]),
				       m[i], MAXM);
	tg_policy_scratch_free(s);
}

static void
init(void)
{
	char err[512];

	snprintf(ref.svcs.svc[0].name, sizeof(ref.svcs.svc[0].name), "pg-a");
	snprintf(ref.svcs.svc[1].name, sizeof(ref.svcs.svc[1].name), "pg-b");
	ref.svcs.nb = 2;
	check(tg_policy_parse(text, strlen(text), "fuzz", &ref.svcs, &ref.p, err,
			      sizeof(err)) == 0);
	check(tg_policy_compile(ref.p, "fuzz", err, sizeof(err)) == 0);
	check(tg_policy_serialize(ref.p, &ref.blob, &ref.len, err, sizeof(err)) == 0);
	answers(ref.p, ref.nrules, ref.rules, ref.nm, ref.m);
}

static void
expect_same(const struct tg_policy *p)
{
	static int nrules[ARRAY_SIZE(stmts)][3];
	static uint32_t rules[ARRAY_SIZE(stmts)][3][4];
	static int nm[ARRAY_SIZE(fields)];
	static struct tg_detect_match m[ARRAY_SIZE(fields)][MAXM];
	unsigned int i, s;

	check(p->cmd_db != NULL && p->det_db != NULL);
	answers(p, nrules, rules, nm, m);
	for (i = 0; i < ARRAY_SIZE(stmts); i++) {
		for (s = 0; s < 3; s++) {
			int n = nrules[i][s];

			check(n == ref.nrules[i][s]);
			check(n <= 0 || memcmp(rules[i][s], ref.rules[i][s],
					       (size_t)(n < 4 ? n : 4) * sizeof(uint32_t)) == 0);
		}
	}
	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		check(nm[i] == ref.nm[i]);
		check(nm[i] <= 0 || memcmp(m[i], ref.m[i], (size_t)nm[i] * sizeof(m[i][0])) == 0);
	}
}

/* Loads blob[0..len) (a heap copy of exactly that, for ASan) against the text. */
static void
try_blob(const uint8_t *blob, size_t len)
{
	struct tg_policy *p = (struct tg_policy *)&p;
	char err[512] = "";
	uint8_t *b = malloc(len ? len : 1);
	int rc;

	check(b != NULL);
	if (len > 0)
		memcpy(b, blob, len);
	rc = tg_policy_load_compiled(text, strlen(text), "fuzz", &ref.svcs, b, len, &p, err,
				     sizeof(err));
	free(b);
	if (rc == 0) {
		check(p != NULL);
		expect_same(p);
		tg_policy_free(p);
		return;
	}
	check(p == NULL);
	if (rc == -ENOMEM)
		return;
	check(rc == -EINVAL);
	check(strncmp(err, "fuzz: policy blob: ", 19) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t head;
	size_t off, wlen, len;
	uint8_t *b;

	if (ref.p == NULL)
		init();
	try_blob(data, size);
	if (size < 4)
		return 0;

	head = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 |
	       data[3];
	off = (head & ~EDIT_CUT) % (ref.len + 1);
	wlen = size - 4;
	len = off + wlen;
	if (!(head & EDIT_CUT) && len < ref.len)
		len = ref.len;
	b = malloc(len ? len : 1);
	check(b != NULL);
	memcpy(b, ref.blob, off);
	memcpy(b + off, data + 4, wlen);
	if (len > off + wlen)
		memcpy(b + off + wlen, ref.blob + off + wlen, len - off - wlen);
	try_blob(b, len);
	free(b);
	return 0;
}
