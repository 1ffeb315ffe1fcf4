/* SPDX-License-Identifier: MIT */
/*
 * fuzz_grants.c — libFuzzer target for the grant store's file parser
 * (slowpath/grants.c tg_grants_parse()): what the slowpath reads from
 * <audit.dir>/grants.json at start.
 *
 * Input: the file's text. It is copied into a buffer of its exact size
 * (a read past len is caught by ASan) and parsed into a memory-only
 * store. Beyond memory errors and UB, the target aborts when:
 * - a refusal comes without a reason, or with a return other than
 *   -EINVAL, or leaves grants behind;
 * - an accepted store does not survive its own dump: dump, parse again,
 *   dump again must give the same text (the file the slowpath writes is
 *   one it reads back);
 * - an accepted grant breaks the invariants the rest relies on: an id
 *   found by tg_grants_get(), created < expires, ended 0 exactly while
 *   live; and matching, revoking and expiring on it run clean.
 *
 * Seeds: tests/fuzz/gen-corpus grants_seeds(). Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static void
check_grant(void *arg, const struct tg_grant *gr)
{
	(void)arg;
	CHECK(gr->state == TG_GRANT_EXPIRED);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_grants *g = tg_grants_new(NULL), *h;
	struct tg_grants_stats st;
	char err[256], *text, *t1, *t2;
	json_t *list, *e;
	size_t i;
	int rc;

	if (g == NULL || size > TG_GRANTS_FILE_MAX + 16)
		goto out;
	text = malloc(size ? size : 1);
	if (text == NULL)
		goto out;
	memcpy(text, data, size);
	err[0] = '\0';
	rc = tg_grants_parse(g, text, size, err, sizeof(err));
	free(text);
	tg_grants_stats(g, &st);
	if (rc < 0) {
		CHECK(rc == -EINVAL);
		CHECK(err[0] != '\0');
		CHECK(st.total == 0);
		goto out;
	}
	CHECK(rc == 0);
	t1 = tg_grants_dump(g);
	CHECK(t1 != NULL);
	h = tg_grants_new(NULL);
	CHECK(h != NULL);
	CHECK(tg_grants_parse(h, t1, strlen(t1), err, sizeof(err)) == 0);
	t2 = tg_grants_dump(h);
	CHECK(t2 != NULL && strcmp(t1, t2) == 0);
	free(t1);
	free(t2);
	tg_grants_free(h);
	list = tg_grants_json(g, true, NULL, NULL);
	CHECK(list != NULL && json_array_size(list) == st.total);
	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));
		const struct tg_grant *gr = tg_grants_get(g, id);

		CHECK(gr != NULL);
		CHECK(gr->created < gr->expires);
		CHECK((gr->state == TG_GRANT_LIVE) == (gr->ended == 0));
		(void)tg_grants_match(g, gr->iss, gr->sub, gr->service, gr->created);
	}
	json_array_foreach(list, i, e) {
		struct tg_grant out;

		rc = tg_grants_revoke(g, json_string_value(json_object_get(e, "id")), "fuzz", NULL,
				      1, &out, NULL);
		CHECK(rc == 0 || rc == -EALREADY);
		CHECK(out.state != TG_GRANT_LIVE);
		break; /* one is enough */
	}
	json_decref(list);
	(void)tg_grants_expire(g, INT64_MAX / 2, check_grant, NULL);
	tg_grants_stats(g, &st);
	CHECK(st.live == 0);
out:
	tg_grants_free(g);
	return 0;
}
