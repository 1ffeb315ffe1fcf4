/* SPDX-License-Identifier: MIT */
/*
 * test_watch.c — unit tests of the watch subscription's filter
 * (slowpath/watch.c): the params it takes and refuses, and which records
 * it lets through. The records are shaped as the slowpath writes them
 * (main.c event_record(), mgmt_audit(), checkpoints).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "watch.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* db.query of alice on service pg */
static const char REC_QUERY[] = "{\"seq\": 5, \"event\": {\"type\": \"db.query\"}, "
				"\"db\": {\"user\": \"alice\"}, \"dst\": {\"service\": \"pg\"}}";
/* db.query.begin of bob on service billing */
static const char REC_BEGIN[] = "{\"event\": {\"type\": \"db.query.begin\"}, "
				"\"db\": {\"user\": \"bob\"}, \"dst\": {\"service\": \"billing\"}}";
/* session.start of alice on billing */
static const char REC_SESSION[] = "{\"event\": {\"type\": \"session.start\"}, "
				  "\"db\": {\"user\": \"alice\"}, "
				  "\"dst\": {\"service\": \"billing\"}}";
/* admin.change by the tgctl user alice: no db, no dst */
static const char REC_ADMIN[] = "{\"event\": {\"type\": \"admin.change\"}, "
				"\"operator\": {\"user\": \"alice\", \"uid\": 1000}}";
/* log.checkpoint: no user, no service */
static const char REC_CHECKPOINT[] = "{\"event\": {\"type\": \"log.checkpoint\"}}";
/* a type that shares a prefix of characters but not of components */
static const char REC_QUERYX[] = "{\"event\": {\"type\": \"db.queryx\"}}";

static const char *const records[] = { REC_QUERY, REC_BEGIN,	  REC_SESSION,
				       REC_ADMIN, REC_CHECKPOINT, REC_QUERYX };

/* Which of records[] pass the filter made of params (JSON): a bit each. */
static unsigned int
passing(const char *params)
{
	struct tg_watch_filter f;
	char msg[256] = "";
	json_t *p = json_loads(params, 0, NULL);
	unsigned int bits = 0;

	assert_non_null(p);
	if (tg_watch_filter_parse(&f, p, msg, sizeof(msg)) != 0)
		fail_msg("params %s refused: %s", params, msg);
	json_decref(p);
	for (size_t i = 0; i < ARRAY_SIZE(records); i++) {
		json_t *r = json_loads(records[i], 0, NULL);

		assert_non_null(r);
		if (tg_watch_filter_match(&f, r))
			bits |= 1u << i;
		json_decref(r);
	}
	return bits;
}

enum { Q = 1, B = 2, S = 4, A = 8, C = 16, X = 32 };

static void
test_match(void **state)
{
	static const struct {
		const char *params;
		unsigned int want;
	} cases[] = {
		{ "{}", Q | B | S | A | C | X },
		/* type prefixes by whole components */
		{ "{\"type\": \"db.query\"}", Q | B },
		{ "{\"type\": \"db\"}", Q | B | X },
		{ "{\"type\": \"db.query.begin\"}", B },
		{ "{\"type\": \"db.q\"}", 0 },
		{ "{\"type\": \"session\"}", S },
		{ "{\"type\": [\"session\", \"admin\"]}", S | A },
		/* service: exact; records without one never match */
		{ "{\"service\": \"pg\"}", Q },
		{ "{\"service\": \"billing\"}", B | S },
		{ "{\"service\": \"bill\"}", 0 },
		{ "{\"service\": [\"pg\", \"billing\"]}", Q | B | S },
		/* user: db.user or operator.user */
		{ "{\"user\": \"alice\"}", Q | S | A },
		{ "{\"user\": \"bob\"}", B },
		{ "{\"user\": \"Alice\"}", 0 },
		/* every param given must match */
		{ "{\"type\": \"db\", \"user\": \"alice\"}", Q },
		{ "{\"type\": \"db\", \"service\": \"billing\", \"user\": \"alice\"}", 0 },
		{ "{\"type\": [\"db\", \"session\"], \"service\": \"billing\"}", B | S },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned int got = passing(cases[i].params);

		if (got != cases[i].want)
			fail_msg("%s: records %#x pass, expected %#x", cases[i].params, got,
				 cases[i].want);
	}
}

static void
test_refused(void **state)
{
	static const struct {
		const char *params;
		const char *says; /* a part of the message */
	} cases[] = {
		{ "{\"kind\": \"db\"}", "unknown param \"kind\"" },
		{ "{\"type\": 1}", "params.type" },
		{ "{\"type\": \"\"}", "params.type" },
		{ "{\"type\": \"db.\"}", "prefix of whole components" },
		{ "{\"type\": \".db\"}", "prefix of whole components" },
		{ "{\"type\": \"db..query\"}", "prefix of whole components" },
		{ "{\"type\": \"DB\"}", "prefix of whole components" },
		{ "{\"type\": \"db*\"}", "prefix of whole components" },
		{ "{\"service\": []}", "empty array" },
		{ "{\"service\": [\"pg\", 2]}", "params.service" },
		{ "{\"user\": {\"name\": \"x\"}}", "params.user" },
		{ "{\"user\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
		  "at most 8" },
		{ "{\"user\": "
		  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		  "1..64 bytes" },
	};
	struct tg_watch_filter f;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *p = json_loads(cases[i].params, 0, NULL);

		assert_non_null(p);
		msg[0] = '\0';
		if (tg_watch_filter_parse(&f, p, msg, sizeof(msg)) != -EINVAL)
			fail_msg("%s: taken", cases[i].params);
		if (strstr(msg, cases[i].says) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", cases[i].params, msg,
				 cases[i].says);
		/* a refused filter is left empty, never half set */
		assert_false(tg_watch_filter_active(&f));
		json_decref(p);
	}
}

static void
test_active(void **state)
{
	struct tg_watch_filter f;
	json_t *p = json_pack("{s:s}", "service", "pg");

	(void)state;
	assert_int_equal(tg_watch_filter_parse(&f, NULL, NULL, 0), 0);
	assert_false(tg_watch_filter_active(&f));
	assert_int_equal(tg_watch_filter_parse(&f, p, NULL, 0), 0);
	assert_true(tg_watch_filter_active(&f));
	assert_int_equal(f.nb[TG_WATCH_K_SERVICE], 1);
	assert_string_equal(f.v[TG_WATCH_K_SERVICE][0], "pg");
	json_decref(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_active),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
