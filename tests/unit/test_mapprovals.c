/* SPDX-License-Identifier: MIT */
/*
 * test_mapprovals.c — unit tests of the approvals.* management methods
 * and the entry points main.c calls (slowpath/mapprovals.c), through a
 * real tg_mgmt server on a socket in a mkdtemp() directory. The roles
 * hook hands the peer the role a case sets; the peer is this process,
 * so the approvers group of a request is this process's own group (a
 * member) or a group that does not exist (nobody is), and the requester
 * is this process's user (self) or another name. The hooks keep the
 * records and the verdicts. Quorums of several people are
 * test_approvals.c's: one process is one uid.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "approvals.h"
#include "mapprovals.h"
#include "mgmt.h"

#define ROUNDS 2000

static struct {
	char tmp[64], sock[96];
	char me[64], my_group[64]; /* this process's user and primary group */
	struct tg_mgmt *m;
	unsigned int roles;
	int fd;
	json_t *records;
	unsigned int decided;
	struct tg_approval_verdict verdict;
	char decided_id[TG_APPROVAL_ID_MAX];
} fx;

static unsigned int
roles_hook(void *arg, const struct tg_mgmt_peer *peer, const gid_t *groups, size_t n)
{
	(void)arg;
	(void)peer;
	(void)groups;
	(void)n;
	return fx.roles;
}

static void
on_record(void *arg, json_t *rec)
{
	(void)arg;
	json_array_append(fx.records, rec);
}

static void
on_decided(void *arg, const struct tg_approval *r, const struct tg_approval_verdict *v)
{
	(void)arg;
	fx.decided++;
	fx.verdict = *v;
	snprintf(fx.decided_id, sizeof(fx.decided_id), "%s", r->id);
}

static void
connect_as(unsigned int roles)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (fx.fd >= 0)
		close(fx.fd);
	fx.roles = roles;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx.sock);
	fx.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fx.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(fcntl(fx.fd, F_SETFL, O_NONBLOCK), 0);
}

static int
setup(void **state)
{
	struct tg_mgmt_config mc = { .uid = (uid_t)-1, .roles_of = roles_hook };
	struct sp_approvals_hooks h = { .record = on_record, .decided = on_decided };
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = getgrgid(getgid());
	char err[512];

	(void)state;
	memset(&fx, 0, sizeof(fx));
	if (pw == NULL || gr == NULL)
		return -1;
	snprintf(fx.me, sizeof(fx.me), "%s", pw->pw_name);
	snprintf(fx.my_group, sizeof(fx.my_group), "%s", gr->gr_name);
	snprintf(fx.tmp, sizeof(fx.tmp), "/tmp/tg-mapprovals-XXXXXX");
	if (mkdtemp(fx.tmp) == NULL)
		return -1;
	snprintf(fx.sock, sizeof(fx.sock), "%s/mgmt.sock", fx.tmp);
	mc.path = fx.sock;
	fx.m = tg_mgmt_open(&mc, err, sizeof(err));
	if (fx.m == NULL)
		fail_msg("tg_mgmt_open: %s", err);
	assert_int_equal(sp_approvals_methods_register(fx.m), 0);
	fx.records = json_array();
	assert_int_equal(sp_approvals_open(&h), 0);
	fx.fd = -1;
	connect_as(TG_MGMT_ROLE_APPROVER);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sp_approvals_close();
	close(fx.fd);
	tg_mgmt_close(fx.m);
	json_decref(fx.records);
	rmdir(fx.tmp);
	return 0;
}

/* One call: the request line, then the server runs until the response. */
static json_t *
call(const char *method, const char *fmt, ...)
{
	static char buf[1 << 18];
	char line[2048], params[1024];
	size_t len = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(params, sizeof(params), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line), "{\"id\":1,\"method\":\"%s\",\"params\":%s}\n", method,
		     params);
	assert_int_equal(write(fx.fd, line, (size_t)n), n);
	for (int round = 0; round < ROUNDS; round++) {
		struct pollfd p = { .fd = tg_mgmt_fd(fx.m), .events = POLLIN };
		ssize_t r;

		while (poll(&p, 1, 1) == 1)
			tg_mgmt_on_ready(fx.m);
		r = recv(fx.fd, buf + len, sizeof(buf) - len - 1, 0);
		if (r > 0)
			len += (size_t)r;
		if (len > 0 && buf[len - 1] == '\n') {
			json_t *resp = json_loadb(buf, len - 1, 0, NULL);

			assert_non_null(resp);
			return resp;
		}
	}
	fail_msg("no answer to %s", method);
	return NULL;
}

/* The error of a call: its code must be code and its message hold text. */
static void
expect_error(const char *code, const char *text, const char *method, const char *params)
{
	json_t *resp = call(method, "%s", params);
	json_t *e = json_object_get(resp, "error");
	const char *got = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	if (got == NULL || strcmp(got, code) != 0 || msg == NULL || strstr(msg, text) == NULL)
		fail_msg("%s %s: %s \"%s\", expected %s \"%s\"", method, params,
			 got ? got : "a result", msg ? msg : "", code, text);
	json_decref(resp);
}

/* The approval object of a successful call (a reference the caller drops). */
static json_t *
approval_of(json_t *resp)
{
	json_t *r = json_object_get(json_object_get(resp, "result"), "approval");

	if (r == NULL)
		fail_msg("an error: %s", json_string_value(json_object_get(
						 json_object_get(resp, "error"), "message")));
	json_incref(r);
	json_decref(resp);
	return r;
}

/* A request as main.c makes one; approvers and user as the case needs. */
static void
request(uint64_t session, const char *approvers, const char *user, unsigned int timeout_s,
	char id[TG_APPROVAL_ID_MAX])
{
	struct tg_approval_spec sp = { .worker = 2,
				       .session = session,
				       .hold = 1,
				       .session_id = "00000000000000aa-2-9",
				       .service = "demo-pg",
				       .rule = "ddl-hold",
				       .text = "ALTER TABLE t DROP COLUMN c",
				       .params = "$1 = '***'",
				       .client = "192.0.2.7:40000",
				       .user = user,
				       .database = "shop",
				       .sub = "u-1",
				       .email = "someone@example.com",
				       .approvers = approvers,
				       .quorum = 1,
				       .timeout_s = timeout_s };
	char err[256];

	assert_int_equal(sp_approvals_request(&sp, id, err, sizeof(err)), 0);
	assert_int_equal(strlen(id), 19);
}

/* Record i's event.type. */
static const char *
rec_type(size_t i)
{
	return json_string_value(
		json_object_get(json_object_get(json_array_get(fx.records, i), "event"), "type"));
}

static const char *
rec_str(size_t i, const char *obj, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(json_array_get(fx.records, i), obj), key));
}

static void
test_params_and_roles(void **state)
{
	json_t *resp;

	(void)state;
	resp = call("approvals.list", "{}");
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(resp, "result"), "approvals")), 0);
	json_decref(resp);
	expect_error("not_found", "no approval request ap-0000000000000000", "approvals.show",
		     "{\"id\":\"ap-0000000000000000\"}");
	expect_error("bad_request", "id is required", "approvals.show", "{}");
	expect_error("bad_request", "params.id: a string", "approvals.show", "{\"id\":7}");
	expect_error("bad_request", "params.all", "approvals.list", "{\"all\":\"yes\"}");
	expect_error("bad_request", "verbose", "approvals.list", "{\"verbose\":true}");
	expect_error("not_found", "no approval request", "approvals.approve",
		     "{\"id\":\"ap-0000000000000000\"}");
	expect_error("bad_request", "reason is required", "approvals.deny",
		     "{\"id\":\"ap-0000000000000000\"}");
	expect_error("bad_request", "comment", "approvals.deny",
		     "{\"id\":\"ap-0000000000000000\",\"comment\":\"x\"}");
	expect_error("bad_request", "params.comment: a string", "approvals.approve",
		     "{\"id\":\"ap-0000000000000000\",\"comment\":[]}");
	/* an auditor reads but does not decide */
	connect_as(TG_MGMT_ROLE_AUDITOR);
	expect_error("not_found", "no approval request", "approvals.show",
		     "{\"id\":\"ap-0000000000000000\"}");
	expect_error("forbidden", "", "approvals.approve", "{\"id\":\"ap-0000000000000000\"}");
	expect_error("forbidden", "", "approvals.deny",
		     "{\"id\":\"ap-0000000000000000\",\"reason\":\"r\"}");
	assert_int_equal(json_array_size(fx.records), 0);
}

static void
test_approve(void **state)
{
	char id[TG_APPROVAL_ID_MAX];
	json_t *ap, *resp, *list;

	(void)state;
	request(9, fx.my_group, "app_owner", 600, id);
	assert_int_equal(json_array_size(fx.records), 1);
	assert_string_equal(rec_type(0), "approval.requested");
	assert_string_equal(rec_str(0, "approval", "id"), id);
	assert_string_equal(rec_str(0, "db", "statement"), "ALTER TABLE t DROP COLUMN c");
	assert_string_equal(rec_str(0, "db", "params"), "$1 = '***'");
	assert_string_equal(rec_str(0, "db", "user"), "app_owner");
	assert_string_equal(rec_str(0, "session", "id"), "00000000000000aa-2-9");
	assert_string_equal(rec_str(0, "src", "ip"), "192.0.2.7");
	assert_string_equal(rec_str(0, "user", "email"), "someone@example.com");
	assert_string_equal(rec_str(0, "policy", "rule_id"), "ddl-hold");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(fx.records, 0), "outcome")),
		"unknown");

	resp = call("approvals.list", "{}");
	list = json_object_get(json_object_get(resp, "result"), "approvals");
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), id);
	json_decref(resp);

	ap = approval_of(call("approvals.approve", "{\"id\":\"%s\",\"comment\":\"CHG-7\"}", id));
	assert_string_equal(json_string_value(json_object_get(ap, "state")), "approved");
	json_decref(ap);
	/* the vote, then the decision; the dataplane told once, to approve */
	assert_int_equal(json_array_size(fx.records), 3);
	assert_string_equal(rec_type(1), "approval.vote");
	assert_string_equal(rec_str(1, "approval", "comment"), "CHG-7");
	assert_string_equal(rec_str(1, "operator", "user"), fx.me);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(json_array_get(fx.records, 1), "operator"), "uid")),
		getuid());
	assert_string_equal(rec_type(2), "approval.approved");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(fx.records, 2), "outcome")),
		"success");
	assert_int_equal(fx.decided, 1);
	assert_true(fx.verdict.approve);
	assert_string_equal(fx.decided_id, id);
	/* decided: a second vote is a conflict, and nothing is told again */
	{
		char p[64];

		snprintf(p, sizeof(p), "{\"id\":\"%s\"}", id);
		expect_error("conflict", "approved already", "approvals.approve", p);
		ap = approval_of(call("approvals.show", "%s", p));
		assert_int_equal(json_array_size(json_object_get(ap, "votes")), 1);
		json_decref(ap);
	}
	assert_int_equal(fx.decided, 1);
	/* an ended one is listed with all only */
	resp = call("approvals.list", "{}");
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(resp, "result"), "approvals")), 0);
	json_decref(resp);
	resp = call("approvals.list", "{\"all\":true}");
	assert_int_equal(
		json_array_size(json_object_get(json_object_get(resp, "result"), "approvals")), 1);
	json_decref(resp);
	resp = sp_approvals_stats_json();
	assert_int_equal(json_integer_value(json_object_get(resp, "pending")), 0);
	assert_int_equal(json_integer_value(json_object_get(resp, "kept")), 1);
	assert_int_equal(json_integer_value(json_object_get(resp, "approved")), 1);
	assert_int_equal(json_integer_value(json_object_get(resp, "votes_refused")), 1);
	json_decref(resp);
}

static void
test_refusals_and_deny(void **state)
{
	char outside[TG_APPROVAL_ID_MAX], mine[TG_APPROVAL_ID_MAX], p[256];
	json_t *ap;

	(void)state;
	/* a group that does not exist has no members */
	request(10, "tg-no-such-group-x", "app_owner", 600, outside);
	snprintf(p, sizeof(p), "{\"id\":\"%s\"}", outside);
	expect_error("forbidden", "is not in the approvers group \"tg-no-such-group-x\"",
		     "approvals.approve", p);
	snprintf(p, sizeof(p), "{\"id\":\"%s\",\"reason\":\"no\"}", outside);
	expect_error("forbidden", "not in the approvers group", "approvals.deny", p);
	/* the requester is this process's user: no self-approval under rule ddl-hold */
	request(11, "", fx.me, 600, mine);
	snprintf(p, sizeof(p), "{\"id\":\"%s\"}", mine);
	expect_error("forbidden", "self-approval is not allowed by rule ddl-hold",
		     "approvals.approve", p);
	assert_int_equal(fx.decided, 0);
	/* a deny decides, with the reason to the client */
	snprintf(p, sizeof(p), "{\"id\":\"%s\",\"reason\":\"use the migration tool\"}", mine);
	ap = approval_of(call("approvals.deny", "%s", p));
	assert_string_equal(json_string_value(json_object_get(ap, "state")), "denied");
	assert_string_equal(json_string_value(json_object_get(ap, "reason")),
			    "use the migration tool");
	json_decref(ap);
	assert_int_equal(fx.decided, 1);
	assert_false(fx.verdict.approve);
	assert_string_equal(fx.verdict.sqlstate, "42501");
	assert_non_null(strstr(fx.verdict.text, mine));
	assert_non_null(strstr(fx.verdict.text, "use the migration tool"));
	/* two requested, one denied: no records of the refusals (admin.change has them) */
	assert_int_equal(json_array_size(fx.records), 3);
	assert_string_equal(rec_type(2), "approval.denied");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(fx.records, 2), "reason_code")),
		"denied");
	assert_string_equal(rec_str(2, "operator", "user"), fx.me);
}

static void
test_expire_and_cancel(void **state)
{
	char a[TG_APPROVAL_ID_MAX], b[TG_APPROVAL_ID_MAX], err[256];
	struct tg_approval_spec bad = { .service = "demo-pg" };
	char id[TG_APPROVAL_ID_MAX];

	(void)state;
	request(20, "", "app_owner", 1, a);
	request(21, "", "app_owner", 600, b);
	sp_approvals_tick((int64_t)time(NULL) + 2);
	assert_int_equal(fx.decided, 1);
	assert_string_equal(fx.decided_id, a);
	assert_string_equal(fx.verdict.sqlstate, "57014");
	assert_string_equal(rec_type(2), "approval.expired");
	{
		struct tg_approval r;

		assert_int_equal(sp_approvals_get(a, &r), 0);
		assert_int_equal(r.state, TG_APPROVAL_EXPIRED);
		assert_int_equal(sp_approvals_get("ap-0000000000000000", &r), -ENOENT);
	}
	/* the client went: cancelled, recorded, nobody told */
	assert_int_equal(sp_approvals_cancel_session(2, 99, "client_gone"), 0);
	assert_int_equal(sp_approvals_cancel_session(2, 21, "client_gone"), 1);
	assert_int_equal(fx.decided, 1);
	assert_string_equal(rec_type(3), "approval.cancelled");
	assert_string_equal(rec_str(3, "approval", "reason"), "client_gone");
	/* a request that cannot be made says why and adds nothing */
	assert_int_equal(sp_approvals_request(&bad, id, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "rule"));
	assert_int_equal(json_array_size(fx.records), 4);
}

static void
test_not_open(void **state)
{
	char id[TG_APPROVAL_ID_MAX], err[128];
	struct tg_approval_spec sp = { 0 };

	(void)state;
	sp_approvals_close();
	expect_error("unavailable", "not open", "approvals.list", "{}");
	expect_error("unavailable", "not open", "approvals.approve", "{\"id\":\"ap-1\"}");
	assert_int_equal(sp_approvals_request(&sp, id, err, sizeof(err)), -ENODEV);
	assert_int_equal(sp_approvals_cancel_session(1, 1, "x"), 0);
	assert_null(sp_approvals_stats_json());
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_params_and_roles),  T(test_approve),  T(test_refusals_and_deny),
		T(test_expire_and_cancel), T(test_not_open),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
