/* SPDX-License-Identifier: MIT */
/*
 * test_tcpgrants.c — unit tests of the dataplane's table of tcp grants
 * (tcpgrants.c), built from TCP_GRANTS datagrams encoded and decoded by
 * the real codec (punt.c):
 * - services: a tcp service listed requires a grant, one not listed does
 *   not, a postgres or unknown service listed is ignored with its grants
 *   (counted); on_grant_expiry "end" is kept per service;
 * - lookups: an exact address, a prefix (whole bytes and a partial byte),
 *   the address just outside, the other family, an expired grant, the
 *   longest-lasting of several grants, grants of another service;
 * - running flows: a grant holds until it leaves the table or expires;
 * - an empty table (a slowpath that pushes none) requires nothing;
 * - the earliest expiry, for the workers' sweep.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "punt.h"
#include "service.h"
#include "tcpgrants.h"

#define S(lit) ((struct tg_punt_str){ .p = (lit), .len = sizeof(lit) - 1 })

/* services: 0 demo-pg (postgres), 1 ssh (tcp), 2 redis (tcp), 3 git (tcp) */
static struct tg_services svcs;

static int
setup(void **state)
{
	static const char *const names[] = { "demo-pg", "ssh", "redis", "git" };
	unsigned int i;

	(void)state;
	memset(&svcs, 0, sizeof(svcs));
	for (i = 0; i < 4; i++) {
		snprintf(svcs.svc[i].name, sizeof(svcs.svc[i].name), "%s", names[i]);
		svcs.svc[i].proto = i == 0 ? TG_SERVICE_POSTGRES : TG_SERVICE_TCP;
	}
	svcs.nb = 4;
	return 0;
}

/*
 * The table for services (sorted names) and grants, through a real
 * datagram: encoded, decoded, built.
 */
static struct tg_tcp_grants *
table(const struct tg_punt_tcpg_svc *sv, uint8_t nsvc, const struct tg_punt_tcp_grant *g,
      uint16_t count, struct tg_tcp_grants_built *b)
{
	static uint8_t buf[TG_PUNT_MSG_MAX];
	struct tg_punt_tcp_grants m = { .gen = 9, .nsvc = nsvc, .count = count, .list = g };
	struct tg_punt_msg msg;
	struct tg_tcp_grants *t;
	int len;

	if (nsvc != 0)
		memcpy(m.svc, sv, nsvc * sizeof(sv[0]));
	len = tg_punt_encode_tcp_grants(buf, sizeof(buf), 1, &m);
	assert_true(len > 0);
	assert_int_equal(tg_punt_decode(buf, (size_t)len, &msg), TG_PUNT_OK);
	t = tg_tcp_grants_build(&msg.u.tcpg, &svcs, b);
	assert_non_null(t);
	assert_int_equal(t->gen, 9);
	return t;
}

static const uint8_t cli[4] = { 198, 18, 0, 1 };

#define V4(a, b, c, d) { a, b, c, d }

/* a postgres service, an unknown one, and two tcp services; ssh ends its flows */
static const struct tg_punt_tcpg_svc four[] = {
	{ .name = { "demo-pg", 7 } },
	{ .name = { "nosuch", 6 } },
	{ .name = { "redis", 5 } },
	{ .name = { "ssh", 3 }, .flags = TG_PUNT_TCPG_F_END },
};

static void
test_services(void **state)
{
	static const struct tg_punt_tcp_grant g[] = {
		{ .id = 1, .svc = 0, .family = 4, .prefix = 32, .addr = V4(198, 18, 0, 1),
		  .expires = 2000 },
		{ .id = 2, .svc = 1, .family = 4, .prefix = 32, .addr = V4(198, 18, 0, 1),
		  .expires = 2000 },
		{ .id = 3, .svc = 3, .family = 4, .prefix = 32, .addr = V4(198, 18, 0, 1),
		  .expires = 2000 },
	};
	struct tg_tcp_grants_built b;
	struct tg_tcp_grants *t = table(four, 4, g, 3, &b);
	uint64_t id = 0;

	(void)state;
	/* demo-pg is postgres, nosuch unknown: both ignored with their grant */
	assert_int_equal(b.services, 2);
	assert_int_equal(b.ignored_services, 2);
	assert_int_equal(b.ignored_grants, 2);
	assert_int_equal(t->nb, 1);
	assert_false(t->svc[0].required);
	assert_true(t->svc[1].required && t->svc[1].end);
	assert_true(t->svc[2].required && !t->svc[2].end);
	assert_false(t->svc[3].required);
	assert_true(tg_tcp_grants_ends_flows(t, 1));
	assert_false(tg_tcp_grants_ends_flows(t, 2));
	assert_false(tg_tcp_grants_ends_flows(t, 3));
	/* git is not listed: any flow; redis is, with no grant: none */
	assert_int_equal(tg_tcp_grants_check(t, 3, 4, cli, 1000, &id), TG_TCPG_NOT_REQUIRED);
	assert_int_equal(tg_tcp_grants_check(t, 0, 4, cli, 1000, &id), TG_TCPG_NOT_REQUIRED);
	assert_int_equal(tg_tcp_grants_check(t, 2, 4, cli, 1000, &id), TG_TCPG_NO_GRANT);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, 1000, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, 3);
	/* out of range: nothing required */
	assert_int_equal(tg_tcp_grants_check(t, TG_MAX_SERVICES, 4, cli, 1000, &id),
			 TG_TCPG_NOT_REQUIRED);
	tg_tcp_grants_free(t);
}

static void
test_prefixes(void **state)
{
	static const struct tg_punt_tcpg_svc one[] = { { .name = { "ssh", 3 } } };
	static const struct tg_punt_tcp_grant g[] = {
		/* 198.18.0.0/22 and 10.0.0.7/32 until 2000; 2001:db8::/32 until 5000 */
		{ .id = 4, .svc = 0, .family = 4, .prefix = 22, .addr = V4(198, 18, 0, 0),
		  .expires = 2000 },
		{ .id = 5, .svc = 0, .family = 4, .prefix = 32, .addr = V4(10, 0, 0, 7),
		  .expires = 2000 },
		{ .id = 6, .svc = 0, .family = 6, .prefix = 32, .addr = { 0x20, 0x01, 0x0d, 0xb8 },
		  .expires = 5000 },
	};
	static const uint8_t in22[4] = { 198, 18, 3, 255 }, out22[4] = { 198, 18, 4, 0 },
			     host[4] = { 10, 0, 0, 7 }, host1[4] = { 10, 0, 0, 6 },
			     v6in[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
			     v6out[16] = { 0x20, 0x01, 0x0d, 0xb9, [15] = 1 };
	struct tg_tcp_grants *t = table(one, 1, g, 3, NULL);
	uint64_t id = 0;

	(void)state;
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, in22, 1999, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, 4);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, out22, 1999, &id), TG_TCPG_NO_GRANT);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, host, 1999, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, 5);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, host1, 1999, &id), TG_TCPG_NO_GRANT);
	/* at the expiry second the grant is over */
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, host, 2000, &id), TG_TCPG_NO_GRANT);
	assert_int_equal(tg_tcp_grants_check(t, 1, 6, v6in, 2000, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, 6);
	assert_int_equal(tg_tcp_grants_check(t, 1, 6, v6out, 2000, &id), TG_TCPG_NO_GRANT);
	/* an IPv4 address whose bytes begin an IPv6 prefix's is not in it */
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, (const uint8_t[4]){ 0x20, 0x01, 0x0d, 0xb8 },
					     100, &id),
			 TG_TCPG_NO_GRANT);
	assert_int_equal(t->next_expiry, 2000);
	tg_tcp_grants_free(t);
}

/* Of several grants covering the client, the one that lasts longest names the flow. */
static void
test_longest(void **state)
{
	static const struct tg_punt_tcpg_svc two[] = { { .name = { "redis", 5 } },
						       { .name = { "ssh", 3 } } };
	static const struct tg_punt_tcp_grant g[] = {
		{ .id = 10, .svc = 0, .family = 4, .prefix = 0, .addr = V4(0, 0, 0, 0),
		  .expires = 9000 },
		{ .id = 11, .svc = 1, .family = 4, .prefix = 32, .addr = V4(198, 18, 0, 1),
		  .expires = 3000 },
		{ .id = 12, .svc = 1, .family = 4, .prefix = 16, .addr = V4(198, 18, 0, 0),
		  .expires = 4000 },
		{ .id = 13, .svc = 1, .family = 4, .prefix = 24, .addr = V4(198, 18, 0, 0),
		  .expires = 3500 },
	};
	struct tg_tcp_grants *t = table(two, 2, g, 4, NULL);
	uint64_t id = 0;

	(void)state;
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, 1000, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, 12);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, 3999, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, 12);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, 4000, &id), TG_TCPG_NO_GRANT);
	/* redis's /0 grant is redis's only */
	assert_int_equal(tg_tcp_grants_check(t, 2, 4, cli, 8999, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, 10);
	/* running flows: a grant holds while it is in the table and not expired */
	assert_true(tg_tcp_grants_holds(t, 1, 11, 2999));
	assert_false(tg_tcp_grants_holds(t, 1, 11, 3000));
	assert_false(tg_tcp_grants_holds(t, 1, 10, 10));	/* redis's, not ssh's */
	assert_false(tg_tcp_grants_holds(t, 1, 99, 10));
	assert_false(tg_tcp_grants_holds(NULL, 1, 11, 10));
	assert_int_equal(t->next_expiry, 3000);
	tg_tcp_grants_free(t);
}

/* No TCP_GRANTS from the slowpath, or an empty one: nothing is required. */
static void
test_empty(void **state)
{
	struct tg_tcp_grants *t = tg_tcp_grants_build(NULL, &svcs, NULL);
	uint64_t id = 0;
	unsigned int i;

	(void)state;
	assert_non_null(t);
	assert_int_equal(t->gen, 0);
	assert_int_equal(t->next_expiry, INT64_MAX);
	for (i = 0; i < svcs.nb; i++)
		assert_int_equal(tg_tcp_grants_check(t, (uint16_t)i, 4, cli, 1, &id),
				 TG_TCPG_NOT_REQUIRED);
	tg_tcp_grants_free(t);
	t = table(NULL, 0, NULL, 0, NULL);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, cli, 1, &id), TG_TCPG_NOT_REQUIRED);
	tg_tcp_grants_free(t);
	/* a NULL table (none published yet) requires nothing by itself: the worker decides */
	assert_int_equal(tg_tcp_grants_check(NULL, 1, 4, cli, 1, &id), TG_TCPG_NOT_REQUIRED);
	assert_false(tg_tcp_grants_ends_flows(NULL, 1));
}

/* The most the wire carries, one service: the last grant is found. */
static void
test_full(void **state)
{
	static const struct tg_punt_tcpg_svc one[] = { { .name = { "ssh", 3 } } };
	static struct tg_punt_tcp_grant g[TG_PUNT_TCP_GRANTS_MAX];
	const uint8_t last[4] = { 10, 0, 3, 255 };
	struct tg_tcp_grants *t;
	uint64_t id = 0;
	unsigned int i;

	(void)state;
	for (i = 0; i < TG_PUNT_TCP_GRANTS_MAX; i++)
		g[i] = (struct tg_punt_tcp_grant){ .id = i + 1, .family = 4, .prefix = 32,
						   .addr = V4(10, 0, (uint8_t)(i >> 8), (uint8_t)i),
						   .expires = 100 + i };
	t = table(one, 1, g, TG_PUNT_TCP_GRANTS_MAX, NULL);
	assert_int_equal(t->nb, TG_PUNT_TCP_GRANTS_MAX);
	assert_int_equal(tg_tcp_grants_check(t, 1, 4, last, 50, &id), TG_TCPG_ADMIT);
	assert_int_equal(id, TG_PUNT_TCP_GRANTS_MAX);
	assert_int_equal(t->next_expiry, 100);
	tg_tcp_grants_free(t);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_services, setup),
		cmocka_unit_test_setup(test_prefixes, setup),
		cmocka_unit_test_setup(test_longest, setup),
		cmocka_unit_test_setup(test_empty, setup),
		cmocka_unit_test_setup(test_full, setup),
	};

	return cmocka_run_group_tests_name("tcpgrants", tests, NULL, NULL);
}
