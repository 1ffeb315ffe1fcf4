/* SPDX-License-Identifier: MIT */
/*
 * test_grants_tcp.c — unit tests of the slowpath's TCP_GRANTS of its
 * grant store (slowpath/grants_tcp.c), decoded with the real codec
 * (punt.c) and built into the dataplane's table (tcpgrants.c), so that
 * what the slowpath sends is what the dataplane admits on:
 * - only live grants with a source, of the services given, are sent;
 *   login grants, ended and expired ones, and grants of other services
 *   are not;
 * - services go sorted whatever their order, with on_grant_expiry end;
 *   grants by (service, id);
 * - a revoked grant is gone from the next table: the dataplane refuses
 *   its address and ends its flows;
 * - no service, or no grant: an empty table; bad input is refused.
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

#include "grants.h"
#include "grants_tcp.h"
#include "punt.h"
#include "service.h"
#include "tcpgrants.h"

#define NOW 1700000000LL

static struct tg_grants *g;
static struct tg_services svcs;	/* the dataplane's: 0 demo-pg, 1 ssh, 2 redis */
static uint8_t buf[TG_PUNT_MSG_MAX];

static int
setup(void **state)
{
	static const char *const names[] = { "demo-pg", "ssh", "redis" };

	(void)state;
	g = tg_grants_new(NULL);
	assert_non_null(g);
	memset(&svcs, 0, sizeof(svcs));
	for (unsigned int i = 0; i < 3; i++) {
		snprintf(svcs.svc[i].name, sizeof(svcs.svc[i].name), "%s", names[i]);
		svcs.svc[i].proto = i == 0 ? TG_SERVICE_POSTGRES : TG_SERVICE_TCP;
	}
	svcs.nb = 3;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tg_grants_free(g);
	return 0;
}

static struct tg_grant
add(const char *sub, const char *service, const char *source, int64_t ttl)
{
	struct tg_grant_spec sp = { .sub = sub, .service = service, .source = source,
				    .ttl_s = ttl, .reason = "INC-90", .granted_by = "ops" };
	struct tg_grant gr;
	char msg[256];

	assert_int_equal(tg_grants_add(g, &sp, NOW, &gr, msg, sizeof(msg)), 0);
	return gr;
}

/* Encodes, decodes and builds the dataplane's table; *n the grants sent. */
static struct tg_tcp_grants *
push(const struct tg_grants_tcp_svc *sv, unsigned int nsv, int64_t now, unsigned int *n)
{
	struct tg_punt_msg m;
	struct tg_tcp_grants *t;
	int len;

	len = tg_grants_tcp_encode(g, sv, nsv, now, 5, buf, sizeof(buf), 9, n);
	assert_true(len > TG_PUNT_HDR_LEN);
	assert_int_equal(tg_punt_decode(buf, (size_t)len, &m), TG_PUNT_OK);
	assert_int_equal(m.hdr.type, TG_PUNT_T_TCP_GRANTS);
	assert_int_equal(m.hdr.seq, 9);
	assert_int_equal(m.u.tcpg.gen, 5);
	t = tg_tcp_grants_build(&m.u.tcpg, &svcs, NULL);
	assert_non_null(t);
	return t;
}

static const uint8_t cli[4] = { 198, 18, 0, 1 }, other[4] = { 198, 18, 0, 9 };

static void
test_what_is_sent(void **state)
{
	/* given in reverse order: sent sorted */
	const struct tg_grants_tcp_svc sv[] = { { "ssh", true }, { "redis", false } };
	struct tg_grant a, b, c, d;
	struct tg_tcp_grants *t;
	unsigned int n = 0;
	uint64_t id = 0;

	(void)state;
	a = add("erin", "ssh", "198.18.0.1", 600);
	b = add("erin", "ssh", NULL, 600);		/* a login grant: not sent */
	c = add("frank", "redis", "198.18.0.0/24", 60);
	d = add("gus", "git", "198.18.0.9", 600);	/* a service that needs none */
	add("hal", "ssh", "198.18.0.9", 600);
	tg_grants_revoke(g, tg_grants_at(g, 4)->id, "ops", "no", NOW + 1, NULL, NULL);
	(void)b;
	(void)d;
	t = push(sv, 2, NOW + 10, &n);
	assert_int_equal(n, 2);
	/* the services on the wire: redis, then ssh with F_END */
	assert_int_equal(buf[TG_PUNT_HDR_LEN + 8], 2);
	assert_true(t->svc[1].required && t->svc[1].end);
	assert_true(t->svc[2].required && !t->svc[2].end);
	assert_false(t->svc[0].required);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, NOW + 10, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, tg_grant_id_num(a.id));
	/* hal's grant was revoked: its address is refused */
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, other, NOW + 10, &id), TG_TCPG_NO_GRANT);
	assert_int_equal(tg_tcp_grants_check(t, 2, 4, other, NOW + 10, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, tg_grant_id_num(c.id));
	/* the expiry travels with the grant */
	assert_int_equal(tg_tcp_grants_check(t, 2, 4, other, NOW + 60, &id), TG_TCPG_NO_GRANT);
	tg_tcp_grants_free(t);

	/* past frank's expiry his grant is not sent any more */
	t = push(sv, 2, NOW + 60, &n);
	assert_int_equal(n, 1);
	tg_tcp_grants_free(t);
}

/* A revocation: the next table drops the grant, and the flow on it ends. */
static void
test_revoke(void **state)
{
	const struct tg_grants_tcp_svc sv[] = { { "ssh", true } };
	struct tg_grant a = add("erin", "ssh", "198.18.0.1", 600);
	struct tg_tcp_grants *t;
	unsigned int n = 0;
	uint64_t id = 0;

	(void)state;
	t = push(sv, 1, NOW, &n);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, NOW, &id), TG_TCPG_ADMIT);
	assert_true(tg_tcp_grants_holds(t, 1, id, NOW));
	tg_tcp_grants_free(t);
	assert_int_equal(tg_grants_revoke(g, a.id, "ops", "done", NOW + 5, NULL, NULL), 0);
	t = push(sv, 1, NOW + 5, &n);
	assert_int_equal(n, 0);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, NOW + 5, &id), TG_TCPG_NO_GRANT);
	assert_false(tg_tcp_grants_holds(t, 1, tg_grant_id_num(a.id), NOW + 5));
	assert_true(tg_tcp_grants_ends_flows(t, 1));
	tg_tcp_grants_free(t);
}

/* No service requires a grant, or none is live: an empty table; bad input refused. */
static void
test_empty_and_bad(void **state)
{
	const struct tg_grants_tcp_svc twice[] = { { "ssh", false }, { "ssh", true } };
	const struct tg_grants_tcp_svc noname[] = { { NULL, false } };
	struct tg_tcp_grants *t;
	unsigned int n = 7;
	uint64_t id;

	(void)state;
	add("erin", "ssh", "198.18.0.1", 600);
	t = push(NULL, 0, NOW, &n);
	assert_int_equal(n, 0);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, NOW, &id), TG_TCPG_NOT_REQUIRED);
	tg_tcp_grants_free(t);
	assert_int_equal(tg_grants_tcp_encode(g, twice, 2, NOW, 5, buf, sizeof(buf), 9, NULL),
			 -EINVAL);
	assert_int_equal(tg_grants_tcp_encode(g, noname, 1, NOW, 5, buf, sizeof(buf), 9, NULL),
			 -EINVAL);
	assert_int_equal(tg_grants_tcp_encode(g, NULL, 1, NOW, 5, buf, sizeof(buf), 9, NULL),
			 -EINVAL);
	assert_int_equal(tg_grants_tcp_encode(g, twice, 1, NOW, 0, buf, sizeof(buf), 9, NULL),
			 -EINVAL); /* generation 0 */
	assert_int_equal(tg_grants_tcp_encode(g, twice, 1, NOW, 5, buf, 40, 9, NULL), -ENOSPC);
	/* no store at all (no identity configured): services, no grant */
	assert_true(tg_grants_tcp_encode(NULL, twice, 1, NOW, 5, buf, sizeof(buf), 9, &n) > 0);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_what_is_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_bad, setup, teardown),
	};

	return cmocka_run_group_tests_name("grants_tcp", tests, NULL, NULL);
}
