/* SPDX-License-Identifier: MIT */
/*
 * test_grants.c — unit tests of the just-in-time grant store
 * (slowpath/grants.c): validation, ids, match by subject, issuer and
 * service, revoke, expiry with its callback, pruning, the file (round
 * trip, strict parser, atomic save) and the durability rule (an add that
 * cannot be saved is not made; a revoke holds in memory and stays dirty).
 * Sources (tcp grants): parsed and written canonically, refused with host
 * bits or a bad length, kept by the file (and absent from older files),
 * never matched by a login; grant ids as the wire's numbers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "grants.h"

#define NOW 1700000000LL

static struct tg_grant_spec
spec(const char *sub, const char *svc, int64_t ttl)
{
	return (struct tg_grant_spec){ .sub = sub,
				       .service = svc,
				       .ttl_s = ttl,
				       .reason = "INC-42 schema fix",
				       .granted_by = "ops (uid 1000)" };
}

static void
test_add_and_match(void **state)
{
	struct tg_grants *g = tg_grants_new(NULL);
	struct tg_grant_spec sp = spec("alice", "demo-pg", 1800);
	struct tg_grant a, b;
	struct tg_grants_stats st;
	char msg[128];

	(void)state;
	assert_non_null(g);
	assert_int_equal(tg_grants_add(g, &sp, NOW, &a, msg, sizeof(msg)), 0);
	assert_int_equal(strlen(a.id), 18);
	assert_memory_equal(a.id, "g-", 2);
	assert_int_equal(a.expires, NOW + 1800);
	assert_int_equal(a.state, TG_GRANT_LIVE);
	assert_string_equal(a.iss, "");
	assert_int_equal(tg_grants_add(g, &sp, NOW, &b, msg, sizeof(msg)), 0);
	assert_string_not_equal(a.id, b.id);
	/* live until expires, exclusive; by sub and service; any issuer */
	assert_non_null(tg_grants_match(g, "https://idp", "alice", "demo-pg", NOW + 1799));
	assert_null(tg_grants_match(g, "https://idp", "alice", "demo-pg", NOW + 1800));
	assert_null(tg_grants_match(g, "https://idp", "alicia", "demo-pg", NOW));
	assert_null(tg_grants_match(g, "https://idp", "alice", "other-pg", NOW));
	assert_null(tg_grants_match(NULL, "https://idp", "alice", "demo-pg", NOW));
	/* an issuer-bound grant matches only its issuer; the longest of several wins */
	sp = spec("carol", "demo-pg", 60);
	sp.iss = "https://idp";
	assert_int_equal(tg_grants_add(g, &sp, NOW, &a, NULL, 0), 0);
	assert_null(tg_grants_match(g, "https://evil", "carol", "demo-pg", NOW));
	assert_null(tg_grants_match(g, NULL, "carol", "demo-pg", NOW));
	assert_non_null(tg_grants_match(g, "https://idp", "carol", "demo-pg", NOW));
	sp = spec("carol", "demo-pg", 120);
	assert_int_equal(tg_grants_add(g, &sp, NOW, &b, NULL, 0), 0);
	assert_string_equal(tg_grants_match(g, "https://idp", "carol", "demo-pg", NOW)->id, b.id);
	assert_string_equal(tg_grants_get(g, a.id)->sub, "carol");
	assert_null(tg_grants_get(g, "g-0000000000000000"));
	tg_grants_stats(g, &st);
	assert_int_equal(st.live, 4);
	assert_int_equal(st.cnt[TG_GRANTS_CNT_ADDED], 4);
	tg_grants_free(g);
}

static void
test_validation(void **state)
{
	static const struct {
		const char *sub, *iss, *svc, *reason, *by;
		int64_t ttl;
		const char *msg;
	} bad[] = {
		{ "", NULL, "pg", "r", "o", 60, "subject" },
		{ NULL, NULL, "pg", "r", "o", 60, "subject" },
		{ "a\nb", NULL, "pg", "r", "o", 60, "subject" },
		{ "a", "i\x01", "pg", "r", "o", 60, "issuer" },
		{ "a", NULL, "", "r", "o", 60, "service" },
		{ "a", NULL, "pg x", "r", "o", 60, "service" },
		{ "a", NULL, "pg", "r", "o", 0, "ttl" },
		{ "a", NULL, "pg", "r", "o", -5, "ttl" },
		{ "a", NULL, "pg", "r", "o", TG_GRANTS_TTL_MAX + 1, "ttl" },
		{ "a", NULL, "pg", "", "o", 60, "reason" },
		{ "a", NULL, "pg", NULL, "o", 60, "reason" },
		{ "a", NULL, "pg", "r", "", 60, "granted_by" },
	};
	struct tg_grants *g = tg_grants_new(NULL);
	char longsub[TG_GRANT_SUB_MAX + 1], msg[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tg_grant_spec sp = { .sub = bad[i].sub,
					    .iss = bad[i].iss,
					    .service = bad[i].svc,
					    .ttl_s = bad[i].ttl,
					    .reason = bad[i].reason,
					    .granted_by = bad[i].by };

		msg[0] = '\0';
		assert_int_equal(tg_grants_add(g, &sp, NOW, NULL, msg, sizeof(msg)), -EINVAL);
		assert_non_null(strstr(msg, bad[i].msg));
	}
	memset(longsub, 'x', sizeof(longsub) - 1);
	longsub[sizeof(longsub) - 1] = '\0';
	{
		struct tg_grant_spec sp = spec(longsub, "pg", 60);

		assert_int_equal(tg_grants_add(g, &sp, NOW, NULL, NULL, 0), -EINVAL);
		longsub[TG_GRANT_SUB_MAX - 1] = '\0'; /* 255 bytes: the most */
		assert_int_equal(tg_grants_add(g, &sp, NOW, NULL, NULL, 0), 0);
	}
	tg_grants_free(g);
}

static unsigned int expired_seen;
static char expired_id[TG_GRANT_ID_MAX];

static void
on_expired(void *arg, const struct tg_grant *gr)
{
	(void)arg;
	expired_seen++;
	snprintf(expired_id, sizeof(expired_id), "%s", gr->id);
	assert_int_equal(gr->state, TG_GRANT_EXPIRED);
	assert_int_equal(gr->ended, gr->expires);
}

static void
test_revoke_expire_prune(void **state)
{
	struct tg_grants *g = tg_grants_new(NULL);
	struct tg_grant_spec sp = spec("alice", "pg", 100);
	struct tg_grant a, b, out;
	struct tg_grants_stats st;
	bool saved = false;
	json_t *j;

	(void)state;
	tg_grants_add(g, &sp, NOW, &a, NULL, 0);
	sp.ttl_s = 50;
	tg_grants_add(g, &sp, NOW, &b, NULL, 0);
	assert_int_equal(tg_grants_revoke(g, "g-nope", "ops", NULL, NOW, &out, &saved), -ENOENT);
	assert_int_equal(tg_grants_revoke(g, a.id, "ops (uid 1)", "done", NOW + 10, &out, &saved),
			 0);
	assert_true(saved); /* memory only: nothing to fail */
	assert_int_equal(out.state, TG_GRANT_REVOKED);
	assert_int_equal(out.ended, NOW + 10);
	assert_string_equal(out.end_reason, "done");
	assert_string_equal(out.ended_by, "ops (uid 1)");
	assert_int_equal(tg_grants_revoke(g, a.id, "ops", NULL, NOW + 11, &out, NULL), -EALREADY);
	assert_int_equal(out.state, TG_GRANT_REVOKED);
	/* b is the live one until NOW + 50 */
	assert_string_equal(tg_grants_match(g, NULL, "alice", "pg", NOW + 20)->id, b.id);
	assert_int_equal(tg_grants_expire(g, NOW + 49, on_expired, NULL), 0);
	assert_int_equal(tg_grants_expire(g, NOW + 50, on_expired, NULL), 1);
	assert_int_equal(expired_seen, 1);
	assert_string_equal(expired_id, b.id);
	assert_int_equal(tg_grants_expire(g, NOW + 51, on_expired, NULL), 0);
	assert_int_equal(tg_grants_revoke(g, b.id, "ops", NULL, NOW + 60, &out, NULL), -EALREADY);
	assert_int_equal(out.state, TG_GRANT_EXPIRED);
	/* listed: live only by default, all with all, newest first */
	j = tg_grants_json(g, false, NULL, NULL);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	j = tg_grants_json(g, true, "pg", "alice");
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")), b.id);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "state")),
			    "expired");
	json_decref(j);
	j = tg_grants_json(g, true, "other", NULL);
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	/* ended grants are kept a day, then pruned */
	tg_grants_expire(g, NOW + 10 + TG_GRANTS_KEEP_ENDED_S - 1, NULL, NULL);
	tg_grants_stats(g, &st);
	assert_int_equal(st.total, 2);
	tg_grants_expire(g, NOW + 50 + TG_GRANTS_KEEP_ENDED_S, NULL, NULL);
	tg_grants_stats(g, &st);
	assert_int_equal(st.total, 0);
	assert_int_equal(st.cnt[TG_GRANTS_CNT_PRUNED], 2);
	assert_int_equal(st.cnt[TG_GRANTS_CNT_REVOKED], 1);
	assert_int_equal(st.cnt[TG_GRANTS_CNT_EXPIRED], 1);
	tg_grants_free(g);
}

static void
test_full(void **state)
{
	struct tg_grants *g = tg_grants_new(NULL);
	struct tg_grant_spec sp = spec("alice", "pg", 100);
	struct tg_grant first;
	char msg[128];

	(void)state;
	for (int i = 0; i < TG_GRANTS_MAX; i++)
		assert_int_equal(tg_grants_add(g, &sp, NOW, i == 0 ? &first : NULL, NULL, 0), 0);
	assert_int_equal(tg_grants_add(g, &sp, NOW, NULL, msg, sizeof(msg)), -ENOSPC);
	/* an ended grant makes room */
	tg_grants_revoke(g, first.id, "ops", NULL, NOW, NULL, NULL);
	assert_int_equal(tg_grants_add(g, &sp, NOW, NULL, msg, sizeof(msg)), 0);
	assert_null(tg_grants_get(g, first.id));
	tg_grants_free(g);
}

/* The file: a round trip through dump and parse, and through save and load. */
static void
test_file_round_trip(void **state)
{
	char dir[] = "/tmp/tg-grants-XXXXXX", path[256], err[256];
	struct tg_grants *g, *h;
	struct tg_grant_spec sp = spec("alice", "pg", 100);
	struct tg_grant a, b;
	struct stat st;
	char *t1, *t2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/grants.json", dir);
	g = tg_grants_new(path);
	assert_int_equal(tg_grants_load(g, err, sizeof(err)), 0); /* missing: empty */
	tg_grants_add(g, &sp, NOW, &a, NULL, 0);
	sp.iss = "https://idp";
	sp.sub = "b\xc3\xb6rje \"quoted\"";
	tg_grants_add(g, &sp, NOW, &b, NULL, 0);
	tg_grants_revoke(g, a.id, "ops", "done", NOW + 5, NULL, NULL);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	h = tg_grants_new(path);
	assert_int_equal(tg_grants_load(h, err, sizeof(err)), 0);
	t1 = tg_grants_dump(g);
	t2 = tg_grants_dump(h);
	assert_string_equal(t1, t2);
	assert_int_equal(tg_grants_get(h, a.id)->state, TG_GRANT_REVOKED);
	assert_string_equal(tg_grants_get(h, b.id)->iss, "https://idp");
	assert_string_equal(tg_grants_match(h, "https://idp", sp.sub, "pg", NOW)->id, b.id);
	free(t1);
	free(t2);
	tg_grants_free(h);
	tg_grants_free(g);
	unlink(path);
	rmdir(dir);
}

static void
test_parse_strict(void **state)
{
	static const char ok1[] = "{\"version\": 1, \"grants\": []}";
#define G(extra)                                                                          \
	"{\"version\": 1, \"grants\": [{\"id\": \"g-0123456789abcdef\", \"sub\": \"a\", " \
	"\"iss\": \"\", \"service\": \"pg\", \"reason\": \"r\", \"granted_by\": \"o\", "  \
	"\"created\": 100, \"expires\": 200, \"state\": \"live\", \"ended\": 0, "         \
	"\"ended_by\": \"\", \"end_reason\": \"\"" extra "}]}"
	static const char *const bad[] = {
		"",
		"[]",
		"{\"version\": 2, \"grants\": []}",
		"{\"version\": 1, \"grants\": [], \"x\": 1}",
		"{\"version\": 1, \"grants\": {}}",
		"{\"version\": 1, \"version\": 1, \"grants\": []}",
		G(", \"x\": 1"),
		"{\"version\": 1, \"grants\": [1]}",
		/* an id of the wrong shape, state, times, ended while live */
		"{\"version\": 1, \"grants\": [{\"id\": \"g-XYZ\", \"sub\": \"a\", \"iss\": \"\", "
		"\"service\": \"pg\", \"reason\": \"r\", \"granted_by\": \"o\", \"created\": 100, "
		"\"expires\": 200, \"state\": \"live\", \"ended\": 0, \"ended_by\": \"\", "
		"\"end_reason\": \"\"}]}",
	};
	struct tg_grants *g = tg_grants_new(NULL);
	char err[256], *dup;
	size_t n;

	(void)state;
	assert_int_equal(tg_grants_parse(g, ok1, strlen(ok1), err, sizeof(err)), 0);
	assert_int_equal(tg_grants_parse(g, G(""), strlen(G("")), err, sizeof(err)), 0);
	assert_non_null(tg_grants_get(g, "g-0123456789abcdef"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tg_grants_parse(g, bad[i], strlen(bad[i]), err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
		assert_null(tg_grants_get(g, "g-0123456789abcdef")); /* left empty */
	}
	/* mutations of the one good grant */
	{
		static const struct {
			const char *from, *to;
		} mut[] = {
			{ "\"live\"", "\"gone\"" },
			{ "\"ended\": 0", "\"ended\": 5" },
			{ "\"expires\": 200", "\"expires\": 50" },
			{ "\"sub\": \"a\"", "\"sub\": \"\"" },
			{ "\"service\": \"pg\"", "\"service\": \"p g\"" },
			{ "\"created\": 100", "\"created\": -1" },
			{ "\"reason\": \"r\"", "\"reason\": 7" },
		};
		const char *good = G("");

		for (size_t i = 0; i < sizeof(mut) / sizeof(mut[0]); i++) {
			char buf[1024];
			const char *p = strstr(good, mut[i].from);

			assert_non_null(p);
			n = (size_t)(p - good);
			snprintf(buf, sizeof(buf), "%.*s%s%s", (int)n, good, mut[i].to,
				 p + strlen(mut[i].from));
			assert_int_equal(tg_grants_parse(g, buf, strlen(buf), err, sizeof(err)),
					 -EINVAL);
		}
	}
	/* a duplicate id */
	n = strlen(G(""));
	dup = malloc(2 * n + 8);
	snprintf(dup, 2 * n + 8, "%.*s, %s", (int)(n - 2), G(""), strchr(G(""), '[') + 1);
	assert_int_equal(tg_grants_parse(g, dup, strlen(dup), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));
	free(dup);
	tg_grants_free(g);
#undef G
}

/*
 * The durability rule: an add that cannot be saved is not made; a revoke
 * holds anyway. The save is made to fail by a directory where the file
 * goes (rename(2) of a file over a directory: EISDIR, root or not).
 */
static void
test_save_failure(void **state)
{
	char dir[] = "/tmp/tg-grants-XXXXXX", path[256], inner[300];
	struct tg_grants *g;
	struct tg_grant_spec sp = spec("alice", "pg", 100);
	struct tg_grants_stats st;
	struct tg_grant a;
	char msg[256];
	bool saved = true;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/grants.json", dir);
	snprintf(inner, sizeof(inner), "%s/x", path);
	g = tg_grants_new(path);
	assert_int_equal(tg_grants_add(g, &sp, NOW, &a, NULL, 0), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	f = fopen(inner, "w");
	assert_non_null(f);
	fclose(f);
	assert_true(tg_grants_add(g, &sp, NOW, NULL, msg, sizeof(msg)) < 0);
	assert_non_null(strstr(msg, "could not save"));
	tg_grants_stats(g, &st);
	assert_int_equal(st.total, 1);
	assert_false(st.dirty);
	assert_int_equal(tg_grants_revoke(g, a.id, "ops", NULL, NOW, NULL, &saved), 0);
	assert_false(saved);
	assert_null(tg_grants_match(g, NULL, "alice", "pg", NOW));
	tg_grants_stats(g, &st);
	assert_true(st.dirty);
	assert_true(st.cnt[TG_GRANTS_CNT_SAVE_FAILURES] >= 2);
	assert_true(tg_grants_save(g) < 0);
	unlink(inner);
	rmdir(path);
	assert_int_equal(tg_grants_save(g), 0);
	tg_grants_stats(g, &st);
	assert_false(st.dirty);
	tg_grants_free(g);
	unlink(path);
	rmdir(dir);
}

/* A file of one live grant for lab-ssh, with member (", \"source\": ...") added. */
static int
parse_with(struct tg_grants *g, const char *member, char *msg, size_t msglen)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"grants\": [{\"id\": \"g-0123456789abcdef\", \"sub\": \"erin\", "
		 "\"iss\": \"\", \"service\": \"lab-ssh\", \"reason\": \"r\", \"granted_by\": \"o\", "
		 "\"created\": 1, \"expires\": 2, \"state\": \"live\", \"ended\": 0, "
		 "\"ended_by\": \"\", \"end_reason\": \"\"%s}]}",
		 member);
	return tg_grants_parse(g, text, strlen(text), msg, msglen);
}

/* A tcp grant's source: canonical, strict, kept, and not a login's grant. */
static void
test_source(void **state)
{
	static const struct {
		const char *in, *out;
		uint8_t family, len;
	} ok[] = {
		{ "198.18.0.1", "198.18.0.1/32", 4, 32 },
		{ "198.18.0.0/24", "198.18.0.0/24", 4, 24 },
		{ "0.0.0.0/0", "0.0.0.0/0", 4, 0 },
		{ "2001:DB8:0::/32", "2001:db8::/32", 6, 32 },
		{ "2001:db8::1", "2001:db8::1/128", 6, 128 },
	};
	static const char *const bad[] = {
		"198.18.0.1/24", /* host bits */
		"198.18.0.1/33", "2001:db8::/129", "198.18.0.1/", "198.18.0.1/+8", "198.18.0.1/08x",
		"/24", "", "198.18.0", "host.example", "198.18.0.1/1000", "198.18.0.1 ",
	};
	struct tg_grants *g = tg_grants_new(NULL);
	struct tg_grant_spec sp = spec("erin", "lab-ssh", 600);
	struct tg_grant_prefix p;
	struct tg_grant a;
	char out[TG_GRANT_SOURCE_MAX], msg[256], *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(tg_grant_source_parse(ok[i].in, &p, out), 0);
		assert_string_equal(out, ok[i].out);
		assert_int_equal(p.family, ok[i].family);
		assert_int_equal(p.len, ok[i].len);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tg_grant_source_parse(bad[i], &p, out) != -EINVAL)
			fail_msg("source \"%s\" taken as %s", bad[i], out);
	assert_int_equal(tg_grant_source_parse(NULL, &p, out), -EINVAL);

	/* an add keeps the canonical text; a bad one is refused with why */
	sp.source = "198.18.0.1";
	assert_int_equal(tg_grants_add(g, &sp, NOW, &a, msg, sizeof(msg)), 0);
	assert_string_equal(a.source, "198.18.0.1/32");
	sp.source = "198.18.0.1/24";
	assert_int_equal(tg_grants_add(g, &sp, NOW, NULL, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "no host bits set"));
	/* a grant with a source is for flows: a login of its subject does not match it */
	assert_null(tg_grants_match(g, NULL, "erin", "lab-ssh", NOW));
	sp.source = NULL;
	assert_int_equal(tg_grants_add(g, &sp, NOW, NULL, msg, sizeof(msg)), 0);
	assert_non_null(tg_grants_match(g, NULL, "erin", "lab-ssh", NOW));
	assert_int_equal(tg_grants_count(g), 2);
	assert_string_equal(tg_grants_at(g, 0)->id, a.id);
	assert_null(tg_grants_at(g, 2));

	/* the file keeps it; a non-canonical or bad one in a file is refused */
	text = tg_grants_dump(g);
	assert_non_null(strstr(text, "\"source\": \"198.18.0.1/32\""));
	assert_int_equal(tg_grants_parse(g, text, strlen(text), msg, sizeof(msg)), 0);
	assert_string_equal(tg_grants_get(g, a.id)->source, "198.18.0.1/32");
	free(text);
	assert_int_equal(parse_with(g, "", msg, sizeof(msg)), 0);
	assert_string_equal(tg_grants_at(g, 0)->source, ""); /* a file of before: a login grant */
	assert_int_equal(parse_with(g, ", \"source\": \"10.0.0.0/8\"", msg, sizeof(msg)), 0);
	assert_int_equal(parse_with(g, ", \"source\": \"10.0.0.1/8\"", msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "source"));
	assert_int_equal(parse_with(g, ", \"source\": \"10.0.0.1\"", msg, sizeof(msg)), -EINVAL);
	assert_int_equal(parse_with(g, ", \"source\": 7", msg, sizeof(msg)), -EINVAL);
	/* ids as the control channel's numbers */
	assert_int_equal(tg_grant_id_num("g-0123456789abcdef"), 0x0123456789abcdefull);
	assert_int_equal(tg_grant_id_num("g-ffffffffffffffff"), UINT64_MAX);
	assert_int_equal(tg_grant_id_num("g-0123456789ABCDEF"), 0);
	assert_int_equal(tg_grant_id_num("g-0123"), 0);
	assert_int_equal(tg_grant_id_num(NULL), 0);
	tg_grants_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_match),	    cmocka_unit_test(test_validation),
		cmocka_unit_test(test_revoke_expire_prune), cmocka_unit_test(test_full),
		cmocka_unit_test(test_file_round_trip),	    cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_save_failure),	    cmocka_unit_test(test_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
