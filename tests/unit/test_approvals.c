/* SPDX-License-Identifier: MIT */
/*
 * test_approvals.c — unit tests of the table of approval requests
 * (slowpath/approvals.c): validation and ids (from a counter as the
 * random source), quorum of distinct approvers, a second vote refused,
 * self-approval refused (by db user, sub, email, email local part) and
 * allowed by the rule, the approvers group, deny, expiry with its
 * callback, cancel by session and by id, pruning, list order, the
 * verdict told to the client, and the JSON of a request.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "approvals.h"

#define NOW 1700000000LL

/* Ids from a counter: ap-0000000000000001, ...; fail: the next call fails. */
static struct {
	uint64_t next;
	bool fail;
} rnd;

static int
counter_random(void *arg, void *buf, size_t len)
{
	uint8_t *b = buf;
	uint64_t v;

	(void)arg;
	if (rnd.fail)
		return -EIO;
	v = ++rnd.next;
	for (size_t i = len; i-- > 0; v >>= 8)
		b[i] = (uint8_t)v;
	return 0;
}

static struct tg_approvals *
table(void)
{
	struct tg_approvals *a;

	rnd.next = 0;
	rnd.fail = false;
	a = tg_approvals_new(counter_random, NULL);
	assert_non_null(a);
	return a;
}

static struct tg_approval_spec
spec(uint64_t session, unsigned int quorum)
{
	return (struct tg_approval_spec){ .worker = 1,
					  .session = session,
					  .hold = 1,
					  .session_id = "0123456789abcdef-1-7",
					  .service = "demo-pg",
					  .rule = "drop-needs-two",
					  .text = "DROP TABLE orders",
					  .params = "",
					  .client = "10.0.0.5:51234",
					  .user = "app_rw",
					  .database = "shop",
					  .iss = "https://idp.example",
					  .sub = "u-alice",
					  .email = "Alice@example.com",
					  .approvers = "dba",
					  .quorum = quorum,
					  .timeout_s = 300 };
}

static const struct tg_approval_operator bob = { 1001, "bob", true };
static const struct tg_approval_operator carol = { 1002, "carol", true };

static void
test_add(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(7, 0);
	struct tg_approval r, r2;
	struct tg_approvals_stats st;
	char msg[256];

	(void)state;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	assert_string_equal(r.id, "ap-0000000000000001");
	assert_int_equal(r.state, TG_APPROVAL_PENDING);
	assert_int_equal(r.quorum, TG_APPROVAL_QUORUM_DEFAULT); /* 0: the default */
	assert_int_equal(r.deadline, NOW + 300);
	assert_int_equal(r.ended, 0);
	assert_string_equal(r.text, "DROP TABLE orders");
	assert_string_equal(tg_approvals_get(a, r.id)->user, "app_rw");
	/* the same hold of the same session again: refused */
	assert_int_equal(tg_approvals_add(a, &sp, NOW, NULL, msg, sizeof(msg)), -EEXIST);
	assert_non_null(strstr(msg, "pending already"));
	/* another hold of it is another request; the timeout defaults to 600 s */
	sp.hold = 2;
	sp.timeout_s = 0;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r2, msg, sizeof(msg)), 0);
	assert_string_equal(r2.id, "ap-0000000000000002");
	assert_int_equal(r2.deadline, NOW + TG_APPROVAL_TIMEOUT_DEFAULT);
	/* a generator that repeats itself: a new id is looked for, then given up */
	rnd.next = 0;
	sp.hold = 3;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	assert_string_equal(r.id, "ap-0000000000000003");
	rnd.fail = true;
	sp.hold = 4;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, NULL, msg, sizeof(msg)), -EIO);
	assert_null(tg_approvals_get(a, "ap-0000000000000004"));
	assert_null(tg_approvals_get(a, NULL));
	tg_approvals_stats(a, &st);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.cnt[TG_APPROVALS_CNT_REQUESTED], 3);
	assert_int_equal(st.cnt[TG_APPROVALS_CNT_REFUSED], 2);
	tg_approvals_free(a);
}

static void
test_validation(void **state)
{
	static const char long_name[] =
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; /* 64 */
	struct tg_approvals *a = table();
	struct tg_approval_spec sp;
	struct tg_approval r;
	char msg[256], big[TG_APPROVAL_TEXT_MAX + 1];

	(void)state;
#define REFUSED(mut, what)                                                                        \
	do {                                                                                      \
		sp = spec(1, 1);                                                                  \
		mut;                                                                              \
		msg[0] = '\0';                                                                    \
		assert_int_equal(tg_approvals_add(a, &sp, NOW, NULL, msg, sizeof(msg)), -EINVAL); \
		assert_non_null(strstr(msg, what));                                               \
	} while (0)
	REFUSED(sp.service = NULL, "service");
	REFUSED(sp.service = "", "service");
	REFUSED(sp.service = long_name, "service");
	REFUSED(sp.rule = NULL, "rule");
	REFUSED(sp.user = "", "user");
	REFUSED(sp.user = "a\nb", "user");
	REFUSED(sp.database = "\xff", "database");
	REFUSED(sp.approvers = long_name, "approvers");
	REFUSED(sp.sub = "x\ty", "sub");
	REFUSED(sp.text = "", "text");
	REFUSED(sp.text = NULL, "text");
	REFUSED(sp.quorum = TG_APPROVAL_QUORUM_MAX + 1, "quorum");
	REFUSED(sp.timeout_s = TG_APPROVAL_TIMEOUT_MAX + 1, "timeout_s");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	REFUSED(sp.text = big, "text");
	big[TG_APPROVAL_PARAMS_MAX] = '\0';
	REFUSED(sp.params = big, "params");
#undef REFUSED
	/* a statement with newlines is fine; bytes that are no UTF-8 are stored as '?' */
	sp = spec(1, 1);
	sp.text = "SELECT 1\n  -- \xc3\xa9t\xc3\xa9 \xff\xfe end";
	sp.params = "$1 = '\x80'";
	sp.iss = sp.sub = sp.email = NULL;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	assert_string_equal(r.text, "SELECT 1\n  -- \xc3\xa9t\xc3\xa9 ?? end");
	assert_string_equal(r.params, "$1 = '?'");
	assert_string_equal(r.sub, "");
	tg_approvals_free(a);
}

static void
test_quorum_distinct(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(7, 2);
	struct tg_approval r;
	struct tg_approval_operator bob_again = { 1001, "robert", true };
	char msg[256];

	(void)state;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	assert_int_equal(
		tg_approvals_approve(a, r.id, &bob, "looks right", NOW + 5, &r, msg, sizeof(msg)),
		0);
	assert_int_equal(r.state, TG_APPROVAL_PENDING);
	assert_int_equal(r.nb_votes, 1);
	assert_string_equal(r.votes[0].user, "bob");
	assert_string_equal(r.votes[0].comment, "looks right");
	assert_int_equal(r.votes[0].at, NOW + 5);
	/* the same operator (uid), under any name: refused, nothing changes */
	assert_int_equal(
		tg_approvals_approve(a, r.id, &bob_again, NULL, NOW + 6, &r, msg, sizeof(msg)),
		-EEXIST);
	assert_non_null(strstr(msg, "voted on"));
	assert_int_equal(tg_approvals_get(a, r.id)->nb_votes, 1);
	/* a second operator makes the quorum */
	assert_int_equal(tg_approvals_approve(a, r.id, &carol, NULL, NOW + 9, &r, msg, sizeof(msg)),
			 0);
	assert_int_equal(r.state, TG_APPROVAL_APPROVED);
	assert_int_equal(r.nb_votes, 2);
	assert_int_equal(r.ended, NOW + 9);
	assert_string_equal(r.decided_by, "carol (uid 1002)");
	/* decided: every further step is refused as such */
	assert_int_equal(
		tg_approvals_approve(a, r.id, &bob_again, NULL, NOW + 10, &r, msg, sizeof(msg)),
		-EALREADY);
	assert_non_null(strstr(msg, "approved already"));
	assert_int_equal(tg_approvals_deny(a, r.id, &bob, "no", NOW + 10, &r, msg, sizeof(msg)),
			 -EALREADY);
	assert_int_equal(r.state, TG_APPROVAL_APPROVED);
	assert_int_equal(tg_approvals_approve(a, "ap-ffffffffffffffff", &bob, NULL, NOW, &r, msg,
					      sizeof(msg)),
			 -ENOENT);
	assert_non_null(strstr(msg, "no approval request ap-ffffffffffffffff"));
	/* a comment of two lines is refused before anything */
	assert_int_equal(tg_approvals_approve(a, r.id, &bob, "a\nb", NOW, &r, msg, sizeof(msg)),
			 -EINVAL);
	tg_approvals_free(a);
}

static void
test_self_approval(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(7, 1);
	struct tg_approval r;
	char msg[256];
	static const char *const selves[] = { "app_rw", "APP_RW", "u-alice", "alice",
					      "alice@example.com" };

	(void)state;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	for (size_t i = 0; i < sizeof(selves) / sizeof(selves[0]); i++) {
		struct tg_approval_operator op = { 2000 + (uint32_t)i, selves[i], true };

		assert_true(tg_approval_is_requester(&r, selves[i]));
		assert_int_equal(
			tg_approvals_approve(a, r.id, &op, NULL, NOW, NULL, msg, sizeof(msg)),
			-EACCES);
		assert_non_null(strstr(msg, "self-approval is not allowed by rule drop-needs-two"));
	}
	/* not the requester: a prefix, another domain's local part, no name at all */
	assert_false(tg_approval_is_requester(&r, "alic"));
	assert_false(tg_approval_is_requester(&r, "example.com"));
	assert_false(tg_approval_is_requester(&r, ""));
	assert_false(tg_approval_is_requester(&r, NULL));
	assert_int_equal(tg_approvals_get(a, r.id)->nb_votes, 0);
	/* the requester may deny their own request */
	{
		struct tg_approval_operator self = { 3000, "alice", true };

		assert_int_equal(tg_approvals_deny(a, r.id, &self, "withdrawn", NOW + 1, &r, msg,
						   sizeof(msg)),
				 0);
		assert_int_equal(r.state, TG_APPROVAL_DENIED);
	}
	/* a rule that allows it */
	sp = spec(8, 1);
	sp.self_approval = true;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	{
		struct tg_approval_operator self = { 3000, "alice", true };

		assert_int_equal(
			tg_approvals_approve(a, r.id, &self, "my own", NOW, &r, msg, sizeof(msg)),
			0);
		assert_int_equal(r.state, TG_APPROVAL_APPROVED);
	}
	/* without an OIDC identity only the db user is compared */
	sp = spec(9, 1);
	sp.iss = sp.sub = sp.email = "";
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	assert_false(tg_approval_is_requester(&r, "alice"));
	assert_true(tg_approval_is_requester(&r, "app_rw"));
	tg_approvals_free(a);
}

static void
test_group(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(7, 1);
	struct tg_approval_operator outsider = { 1500, "mallory", false };
	struct tg_approval r;
	struct tg_approvals_stats st;
	char msg[256];

	(void)state;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	assert_int_equal(tg_approvals_approve(a, r.id, &outsider, NULL, NOW, &r, msg, sizeof(msg)),
			 -EPERM);
	assert_non_null(strstr(msg, "mallory (uid 1500) is not in the approvers group \"dba\""));
	assert_int_equal(tg_approvals_deny(a, r.id, &outsider, "no", NOW, &r, msg, sizeof(msg)),
			 -EPERM);
	assert_int_equal(tg_approvals_get(a, r.id)->state, TG_APPROVAL_PENDING);
	tg_approvals_stats(a, &st);
	assert_int_equal(st.cnt[TG_APPROVALS_CNT_VOTES_REFUSED], 2);
	assert_int_equal(st.cnt[TG_APPROVALS_CNT_VOTES], 0);
	tg_approvals_free(a);
}

static void
test_deny(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(7, 3);
	struct tg_approval r;
	struct tg_approval_verdict v;
	char msg[256];

	(void)state;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	assert_int_equal(tg_approvals_approve(a, r.id, &bob, NULL, NOW, &r, msg, sizeof(msg)), 0);
	/* a reason is required */
	assert_int_equal(tg_approvals_deny(a, r.id, &carol, NULL, NOW, &r, msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(tg_approvals_deny(a, r.id, &carol, "", NOW, &r, msg, sizeof(msg)),
			 -EINVAL);
	assert_non_null(strstr(msg, "reason"));
	/* one deny decides, whatever the votes */
	assert_int_equal(tg_approvals_deny(a, r.id, &carol, "not in a change window", NOW + 3, &r,
					   msg, sizeof(msg)),
			 0);
	assert_int_equal(r.state, TG_APPROVAL_DENIED);
	assert_string_equal(r.decided_by, "carol (uid 1002)");
	assert_string_equal(r.reason, "not in a change window");
	assert_int_equal(r.ended, NOW + 3);
	tg_approval_verdict(&r, &v);
	assert_false(v.approve);
	assert_string_equal(v.sqlstate, "42501");
	assert_non_null(strstr(v.text, r.id));
	assert_non_null(strstr(v.text, "denied by carol (uid 1002): not in a change window"));
	tg_approvals_free(a);
}

static unsigned int seen_cb;
static char seen_id[TG_APPROVAL_ID_MAX];
static enum tg_approval_state seen_state;

static void
on_end(void *arg, const struct tg_approval *r)
{
	(void)arg;
	seen_cb++;
	snprintf(seen_id, sizeof(seen_id), "%s", r->id);
	seen_state = r->state;
}

static void
test_expiry_and_pruning(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(7, 2);
	struct tg_approval r, q;
	struct tg_approval_verdict v;
	struct tg_approvals_stats st;
	char msg[256];

	(void)state;
	seen_cb = 0;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	sp = spec(8, 1);
	assert_int_equal(tg_approvals_add(a, &sp, NOW + 100, &q, msg, sizeof(msg)), 0);
	assert_int_equal(tg_approvals_approve(a, r.id, &bob, NULL, NOW, NULL, msg, sizeof(msg)), 0);
	/* one second before the deadline: nothing */
	assert_int_equal(tg_approvals_expire(a, NOW + 299, on_end, NULL), 0);
	assert_int_equal(seen_cb, 0);
	/* at it: expired, told once, ended at the deadline */
	assert_int_equal(tg_approvals_expire(a, NOW + 305, on_end, NULL), 1);
	assert_int_equal(seen_cb, 1);
	assert_string_equal(seen_id, r.id);
	assert_int_equal(seen_state, TG_APPROVAL_EXPIRED);
	r = *tg_approvals_get(a, r.id);
	assert_int_equal(r.ended, NOW + 300);
	assert_string_equal(r.decided_by, "timeout");
	assert_int_equal(tg_approvals_expire(a, NOW + 306, on_end, NULL), 0);
	assert_int_equal(
		tg_approvals_approve(a, r.id, &carol, NULL, NOW + 306, NULL, msg, sizeof(msg)),
		-EALREADY);
	tg_approval_verdict(&r, &v);
	assert_string_equal(v.sqlstate, "57014");
	assert_non_null(strstr(v.text, "expired after 300 s with 1 of 2 approvals"));
	/* kept an hour after its end, then pruned; the other expires meanwhile */
	assert_int_equal(
		tg_approvals_expire(a, NOW + 300 + TG_APPROVALS_KEEP_ENDED_S - 1, NULL, NULL), 1);
	assert_non_null(tg_approvals_get(a, r.id));
	tg_approvals_expire(a, NOW + 300 + TG_APPROVALS_KEEP_ENDED_S, NULL, NULL);
	assert_null(tg_approvals_get(a, r.id));
	assert_non_null(tg_approvals_get(a, q.id));
	tg_approvals_stats(a, &st);
	assert_int_equal(st.cnt[TG_APPROVALS_CNT_EXPIRED], 2);
	assert_int_equal(st.cnt[TG_APPROVALS_CNT_PRUNED], 1);
	assert_int_equal(st.total, 1);
	assert_int_equal(st.pending, 0);
	tg_approvals_free(a);
}

static void
test_cancel(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(7, 1);
	struct tg_approval r1, r2, r3, r;
	struct tg_approval_verdict v;
	char msg[256];

	(void)state;
	seen_cb = 0;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r1, msg, sizeof(msg)), 0);
	sp.hold = 2;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r2, msg, sizeof(msg)), 0);
	sp = spec(8, 1);
	assert_int_equal(tg_approvals_add(a, &sp, NOW, &r3, msg, sizeof(msg)), 0);
	/* another worker's session 7 is another session */
	assert_int_equal(
		tg_approvals_cancel_session(a, 2, 7, false, "client_gone", NOW, on_end, NULL), 0);
	/* both holds of session 7 on worker 1 */
	assert_int_equal(
		tg_approvals_cancel_session(a, 1, 7, false, "client_gone", NOW + 2, on_end, NULL),
		2);
	assert_int_equal(seen_cb, 2);
	assert_int_equal(seen_state, TG_APPROVAL_CANCELLED);
	r = *tg_approvals_get(a, r1.id);
	assert_int_equal(r.state, TG_APPROVAL_CANCELLED);
	assert_string_equal(r.reason, "client_gone");
	assert_int_equal(r.ended, NOW + 2);
	tg_approval_verdict(&r, &v);
	assert_false(v.approve);
	assert_int_equal(tg_approvals_get(a, r3.id)->state, TG_APPROVAL_PENDING);
	/* a cancelled request cannot be approved */
	assert_int_equal(tg_approvals_approve(a, r2.id, &bob, NULL, NOW, NULL, msg, sizeof(msg)),
			 -EALREADY);
	assert_non_null(strstr(msg, "cancelled already"));
	/* by id */
	assert_int_equal(tg_approvals_cancel(a, r3.id, "shutdown", NOW, &r), 0);
	assert_string_equal(r.reason, "shutdown");
	assert_int_equal(tg_approvals_cancel(a, r3.id, "again", NOW, &r), -EALREADY);
	assert_int_equal(tg_approvals_cancel(a, "ap-nope", "x", NOW, NULL), -ENOENT);
	/* every session: nothing pending is left */
	sp = spec(9, 1);
	assert_int_equal(tg_approvals_add(a, &sp, NOW, NULL, msg, sizeof(msg)), 0);
	assert_int_equal(
		tg_approvals_cancel_session(a, 0, 0, true, "dataplane_gone", NOW, NULL, NULL), 1);
	tg_approvals_free(a);
}

static void
test_full(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp = spec(1, 1);
	struct tg_approval r;
	char msg[256];

	(void)state;
	for (unsigned int i = 0; i < TG_APPROVALS_MAX; i++) {
		sp.session = i;
		assert_int_equal(tg_approvals_add(a, &sp, NOW, &r, msg, sizeof(msg)), 0);
	}
	sp.session = TG_APPROVALS_MAX;
	assert_int_equal(tg_approvals_add(a, &sp, NOW, NULL, msg, sizeof(msg)), -ENOSPC);
	assert_non_null(strstr(msg, "too many pending"));
	/* an ended request makes room, even one not an hour old yet */
	assert_int_equal(tg_approvals_deny(a, r.id, &bob, "no", NOW, NULL, msg, sizeof(msg)), 0);
	assert_int_equal(tg_approvals_add(a, &sp, NOW, NULL, msg, sizeof(msg)), 0);
	assert_null(tg_approvals_get(a, r.id));
	tg_approvals_free(a);
}

/* The ids of a list, in order, "a,b,c". */
static void
ids_of(json_t *list, char *out, size_t size)
{
	size_t i, off = 0;
	json_t *e;

	out[0] = '\0';
	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));

		off += (size_t)snprintf(out + off, size - off, "%s%s", i ? "," : "", id + 15);
	}
}

static void
test_list_order_and_json(void **state)
{
	struct tg_approvals *a = table();
	struct tg_approval_spec sp;
	struct tg_approval r;
	json_t *list, *o, *votes;
	char msg[256], ids[256];

	(void)state;
	for (uint64_t s = 1; s <= 4; s++) {
		sp = spec(s, 2);
		assert_int_equal(tg_approvals_add(a, &sp, NOW + (int64_t)s, NULL, msg, sizeof(msg)),
				 0);
	}
	/* 2 and 3 end; 1 and 4 stay pending */
	assert_int_equal(tg_approvals_deny(a, "ap-0000000000000002", &bob, "no", NOW + 10, NULL,
					   msg, sizeof(msg)),
			 0);
	assert_int_equal(
		tg_approvals_cancel(a, "ap-0000000000000003", "client_gone", NOW + 11, NULL), 0);
	list = tg_approvals_json(a, false);
	ids_of(list, ids, sizeof(ids));
	assert_string_equal(ids, "0004,0001"); /* pending, newest first */
	json_decref(list);
	list = tg_approvals_json(a, true);
	ids_of(list, ids, sizeof(ids));
	assert_string_equal(ids, "0004,0001,0003,0002"); /* then the ended, newest first */
	json_decref(list);

	assert_int_equal(tg_approvals_approve(a, "ap-0000000000000001", &bob, "ok \"quoted\"",
					      NOW + 12, &r, msg, sizeof(msg)),
			 0);
	o = tg_approval_json(&r);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "ap-0000000000000001");
	assert_string_equal(json_string_value(json_object_get(o, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(o, "statement")),
			    "DROP TABLE orders");
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "drop-needs-two");
	assert_string_equal(json_string_value(json_object_get(o, "approvers")), "dba");
	assert_string_equal(json_string_value(json_object_get(o, "session_id")),
			    "0123456789abcdef-1-7");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(o, "requester"), "sub")),
		"u-alice");
	assert_int_equal(json_integer_value(json_object_get(o, "quorum")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "worker")), 1);
	assert_int_equal(json_integer_value(json_object_get(o, "created")), NOW + 1);
	assert_int_equal(json_integer_value(json_object_get(o, "deadline")), NOW + 301);
	assert_false(json_is_true(json_object_get(o, "self_approval")));
	votes = json_object_get(o, "votes");
	assert_int_equal(json_array_size(votes), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(votes, 0), "comment")),
			    "ok \"quoted\"");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(votes, 0), "uid")),
			 1001);
	json_decref(o);
	assert_string_equal(tg_approval_state_name(TG_APPROVAL_CANCELLED), "cancelled");
	assert_string_equal(tg_approval_state_name(TG_APPROVAL_STATE_MAX), "?");
	assert_string_equal(tg_approvals_counter_name(TG_APPROVALS_CNT_VOTES_REFUSED),
			    "votes_refused");
	tg_approvals_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_quorum_distinct),
		cmocka_unit_test(test_self_approval),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_deny),
		cmocka_unit_test(test_expiry_and_pruning),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_list_order_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
