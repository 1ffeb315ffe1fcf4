/* SPDX-License-Identifier: MIT */
/*
 * test_maudit.c — unit tests of the audit.* management methods
 * (slowpath/maudit.c) through a real tg_mgmt server on a socket in a
 * mkdtemp() directory, over a real audit store in the same directory.
 * The roles hook hands the peer the role a case sets. audit.verify forks
 * the verifier: the case ticks until the answer comes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit.h"
#include "maudit.h"
#include "merkle.h"
#include "mgmt.h"

#define ORIGIN "gw1.example/audit"
#define ROUNDS 5000 /* 1 ms pumps a call may take (a verification: a child) */

static struct {
	char tmp[64], dir[96], key[96], sock[96];
	struct tg_mgmt *m;
	struct tg_audit *a;
	struct tg_audit *none; /* a store not open yet */
	unsigned int roles;
	int fd;
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

/* A new client connection, whose peer the server gives roles (at accept). */
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
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A store of 12 durable records (checkpoint records 4 and 9) and 3 buffered (14 a checkpoint). */
static int
setup(void **state)
{
	struct tg_audit_config ac = { .origin = ORIGIN, .checkpoint_records = 4 };
	struct tg_mgmt_config mc = { .uid = (uid_t)-1, .roles_of = roles_hook };
	char err[512];

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.tmp, sizeof(fx.tmp), "/tmp/tg-maudit-XXXXXX");
	if (mkdtemp(fx.tmp) == NULL)
		return -1;
	snprintf(fx.dir, sizeof(fx.dir), "%s/log", fx.tmp);
	snprintf(fx.key, sizeof(fx.key), "%s/audit.key", fx.tmp);
	snprintf(fx.sock, sizeof(fx.sock), "%s/mgmt.sock", fx.tmp);
	ac.dir = fx.dir;
	ac.key_path = fx.key;
	fx.a = tg_audit_open(&ac, err, sizeof(err));
	if (fx.a == NULL)
		fail_msg("tg_audit_open: %s", err);
	for (int k = 0; k < 12; k++) {
		json_t *ev =
			json_pack("{s:{s:s}, s:s, s:{s:I}}", "event", "type", "db.query", "outcome",
				  "success", "db", "statement_number", (json_int_t)k);

		assert_int_equal(tg_audit_append(fx.a, ev, NULL), 0);
		json_decref(ev);
		if (k == 9)
			assert_int_equal(tg_audit_commit(fx.a, NULL), 0);
	}
	assert_int_equal(tg_audit_durable(fx.a), 12);
	assert_int_equal(tg_audit_size(fx.a), 15);
	mc.path = fx.sock;
	fx.m = tg_mgmt_open(&mc, err, sizeof(err));
	if (fx.m == NULL)
		fail_msg("tg_mgmt_open: %s", err);
	fx.fd = -1;
	connect_as(TG_MGMT_ROLE_AUDITOR);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(fx.fd);
	tg_mgmt_close(fx.m);
	tg_audit_close(fx.a);
	return nftw(fx.tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* One call: the request line, then server, ticks and reads until the response. */
static json_t *
call(const char *method, const char *params)
{
	static char buf[1 << 20];
	size_t len = 0;
	char line[1024];
	json_t *resp;
	int n;

	n = snprintf(line, sizeof(line), "{\"id\":1,\"method\":\"%s\",\"params\":%s}\n", method,
		     params);
	assert_int_equal(write(fx.fd, line, (size_t)n), n);
	for (int round = 0; round < ROUNDS; round++) {
		struct pollfd p = { .fd = tg_mgmt_fd(fx.m), .events = POLLIN };
		ssize_t r;

		while (poll(&p, 1, 1) == 1)
			tg_mgmt_on_ready(fx.m);
		sp_audit_methods_tick();
		r = recv(fx.fd, buf + len, sizeof(buf) - len - 1, 0);
		if (r > 0)
			len += (size_t)r;
		if (len > 0 && buf[len - 1] == '\n') {
			resp = json_loadb(buf, len - 1, 0, NULL);
			assert_non_null(resp);
			return resp;
		}
	}
	fail_msg("no answer to %s", method);
	return NULL;
}

static const json_t *
result(json_t *resp)
{
	const json_t *r = json_object_get(resp, "result");

	if (r == NULL)
		fail_msg("an error: %s", json_string_value(json_object_get(
						 json_object_get(resp, "error"), "message")));
	return r;
}

static void
expect_error(const char *method, const char *params, const char *code)
{
	json_t *resp = call(method, params);
	const char *got =
		json_string_value(json_object_get(json_object_get(resp, "error"), "code"));

	if (got == NULL || strcmp(got, code) != 0)
		fail_msg("%s %s: %s, expected %s", method, params, got ? got : "a result", code);
	json_decref(resp);
}

static void
test_tail_show(void **state)
{
	const json_t *r, *recs;
	json_t *resp, *rec;
	uint8_t leaf[TG_AUDIT_HASH];
	char hex[2 * TG_AUDIT_HASH + 1];
	const char *bytes;
	(void)state;

	assert_int_equal(sp_audit_methods_register(fx.m, &fx.a), 0);
	resp = call("audit.tail", "{\"n\":3}");
	r = result(resp);
	recs = json_object_get(r, "records");
	assert_int_equal(json_array_size(recs), 3); /* the last 3 durable: 9, 10, 11 */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, 0), "seq")), 9);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(recs, 2), "seq")), 11);
	assert_int_equal(json_integer_value(json_object_get(r, "durable")), 12);
	assert_int_equal(json_integer_value(json_object_get(r, "size")), 15);
	json_decref(resp);
	resp = call("audit.tail", "{\"from\":0,\"n\":1000}");
	assert_int_equal(json_array_size(json_object_get(result(resp), "records")), 12);
	json_decref(resp);
	resp = call("audit.tail", "{}");
	assert_int_equal(json_array_size(json_object_get(result(resp), "records")), 12);
	json_decref(resp);

	resp = call("audit.show", "{\"seq\":4}");
	r = result(resp);
	bytes = json_string_value(json_object_get(r, "record"));
	assert_non_null(bytes);
	rec = json_loads(bytes, 0, NULL);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(rec, "event"), "type")),
		"log.checkpoint");
	assert_string_equal(json_string_value(json_object_get(r, "prev_chain")),
			    json_string_value(json_object_get(rec, "prev_chain")));
	tg_merkle_leaf_hash(bytes, strlen(bytes), leaf);
	for (size_t i = 0; i < TG_AUDIT_HASH; i++)
		snprintf(hex + 2 * i, 3, "%02x", leaf[i]);
	assert_string_equal(json_string_value(json_object_get(r, "leaf")), hex);
	json_decref(rec);
	json_decref(resp);

	expect_error("audit.show", "{\"seq\":12}", "not_found"); /* buffered, not durable */
	expect_error("audit.show", "{}", "bad_request");
	expect_error("audit.tail", "{\"n\":0}", "bad_request");
	expect_error("audit.tail", "{\"n\":1001}", "bad_request");
	expect_error("audit.tail", "{\"last\":1}", "bad_request");
	connect_as(TG_MGMT_ROLE_APPROVER);
	expect_error("audit.tail", "{}", "forbidden");
	connect_as(TG_MGMT_ROLE_ADMIN);
	resp = call("audit.tail", "{\"n\":1}");
	result(resp);
	json_decref(resp);
}

static void
test_proof_verify(void **state)
{
	struct tg_audit_inclusion p;
	json_t *resp, *want;
	const json_t *r;
	(void)state;

	assert_int_equal(sp_audit_methods_register(fx.m, &fx.a), 0);
	resp = call("audit.proof", "{\"seq\":5}");
	r = result(resp);
	/* what the read API gives, in the offline tool's shape */
	assert_int_equal(tg_audit_prove(fx.a, 5, 0, &p), 0);
	want = tg_audit_inclusion_json(&p);
	tg_audit_inclusion_release(&p);
	assert_true(json_equal((json_t *)r, want));
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "signature")), "ok");
	assert_int_equal(json_integer_value(json_object_get(r, "size")), 10);
	json_decref(want);
	json_decref(resp);
	expect_error("audit.proof", "{\"seq\":12}", "not_found");

	/* the whole verifier, in a child: answered from a tick */
	resp = call("audit.verify", "{}");
	r = result(resp);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "records")), 12);
	assert_int_equal(json_integer_value(json_object_get(r, "checkpoints")), 2);
	json_decref(resp);
	expect_error("audit.verify", "{\"key\":\"x\"}", "bad_request");
}

static void
test_store_not_open(void **state)
{
	(void)state;
	assert_int_equal(sp_audit_methods_register(fx.m, &fx.none), 0);
	expect_error("audit.tail", "{}", "unavailable");
	expect_error("audit.verify", "{}", "unavailable");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_tail_show),
		T(test_proof_verify),
		T(test_store_not_open),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
