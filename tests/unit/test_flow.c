/* SPDX-License-Identifier: MIT */
/*
 * test_flow.c — unit tests of the per-worker flow table (flow.c): canonical
 * keys, create/lookup/delete, the LRU list per timeout class, expiry, and
 * the cap with eviction of the oldest embryonic session.
 *
 * The harness:
 * - flow.c sits on rte_hash, so the group setup brings up a minimal EAL:
 *   no hugepages (128 MB of anonymous memory), no PCI, no shared config,
 *   no telemetry, lcore 0, and a file prefix with the pid so that parallel
 *   runs never share a runtime directory (removed again in the group
 *   teardown). Not --in-memory: EAL refuses it with --no-huge. EAL logs
 *   below "error" are muted so the TAP stream on stdout stays readable.
 *   DPDK is not built with ASan, so its own accesses (inside the rte_hash)
 *   are not checked; flow.c's and this file's are, though the flow array
 *   is plain mmap memory without redzones;
 * - each case builds its own table in its setup's fixture (the teardown
 *   frees it, even after a failed assertion), named "tgtest" like no other
 *   rte_hash of the process;
 * - keys are made directly for table cases (key_n()), and from frames
 *   through tg_pkt_parse() and tg_flow_key_make() for key cases;
 * - the release callback records every flow it is given (index and class)
 *   and checks that the flow is still live when it is given: it is how a
 *   worker frees the packets a flow holds;
 * - check_table() walks every class list after each step: each live flow
 *   is on exactly one list, the one of its class, with its links right;
 *   the counts (nb_flows, nb_class) are what the walk finds; the rte_hash
 *   holds exactly the live flows, each at its flow index;
 * - time is TSC cycles, as the worker passes it: "2 s later" is
 *   2 * rte_get_tsc_hz() whatever the machine.
 *
 * Everything is deterministic: the only pseudo-random numbers come from a
 * fixed-seed xorshift.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>

#include "csum.h"
#include "flow.h"
#include "pkt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CNT(fx, c) ((fx)->t.cnt[TG_FLOW_CNT_##c])

#define EMB TG_FLOW_EMBRYONIC
#define EST TG_FLOW_ESTABLISHED
#define CLOSING TG_FLOW_CLOSING
#define CLOSED TG_FLOW_CLOSED

/* Largest table a case builds, for check_table()'s bookkeeping. */
#define MAX_FLOWS 4096

/* ---------------------------------------------------------------------
 * EAL
 * ------------------------------------------------------------------- */

static const char *const eal_args[] = {
	"test_flow",
	"--no-huge",
	"-m",
	"128",
	"--no-pci",
	"--no-shconf",
	"--no-telemetry",
	"--log-level=lib.eal:error",
	"-l",
	"0",
	"--file-prefix",
};

/* EAL may keep pointers into argv: the strings live as long as the process. */
static char eal_argbuf[ARRAY_SIZE(eal_args) + 1][64];

static int
eal_up(void **state)
{
	char *argv[ARRAY_SIZE(eal_args) + 1];
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(eal_args); i++) {
		snprintf(eal_argbuf[i], sizeof(eal_argbuf[i]), "%s", eal_args[i]);
		argv[i] = eal_argbuf[i];
	}
	snprintf(eal_argbuf[i], sizeof(eal_argbuf[i]), "tgtest-flow-%ld", (long)getpid());
	argv[i] = eal_argbuf[i];
	if (rte_eal_init((int)ARRAY_SIZE(argv), argv) < 0) {
		fprintf(stderr, "test_flow: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/*
 * rte_eal_cleanup() leaves the runtime directory (/var/run/dpdk/<prefix>
 * as root) behind, empty since --no-shconf creates no files in it: remove
 * it, or every run would leave one.
 */
static int
eal_down(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (rmdir(dir) < 0)
		fprintf(stderr, "test_flow: rmdir %s: %s\n", dir, strerror(errno));
	return 0;
}

/* ---------------------------------------------------------------------
 * Frames, for the key cases
 * ------------------------------------------------------------------- */

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20
#define FRAME_MAX (ETH_HLEN + VLAN_HLEN + IP6_HLEN + TCP_HLEN)

static const uint8_t ip4_c[4] = { 192, 0, 2, 1 };
static const uint8_t ip4_s[4] = { 198, 51, 100, 2 };
static const uint8_t ip4_hi[4] = { 203, 0, 113, 9 }; /* sorts above ip4_s */
static const uint8_t ip6_c[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };
static const uint8_t ip6_s[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, [15] = 0x02 };
#define PORT_C 40000
#define PORT_S 5432

static void
wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/*
 * A SYN from src:sport to dst:dport: Ethernet 02:00:00:00:00:01 >
 * 02:00:00:00:00:02, optionally one 802.1Q tag (VID 100), IPv4 (TTL 64,
 * DF, header checksummed) or IPv6 (hop limit 64), TCP with no options, seq
 * 1000, window 65535. The TCP checksum is left zero: the parser does not
 * check it and the key does not depend on it. Returns the frame length.
 */
static uint32_t
build_syn(uint8_t *b, bool v6, bool vlan, const uint8_t *src, const uint8_t *dst, uint16_t sport,
	  uint16_t dport)
{
	uint32_t l3 = v6 ? IP6_HLEN : IP4_HLEN;
	uint32_t off = ETH_HLEN + (vlan ? VLAN_HLEN : 0);
	uint32_t len = off + l3 + TCP_HLEN;
	uint8_t *ip = b + off, *th = ip + l3;

	memset(b, 0, len);
	b[0] = 0x02;
	b[5] = 0x02;
	b[6] = 0x02;
	b[11] = 0x01;
	if (vlan) {
		wr16(b + 12, 0x8100);
		wr16(b + 14, 100);
	}
	wr16(b + off - 2, v6 ? 0x86dd : 0x0800);
	if (v6) {
		ip[0] = 0x60;
		wr16(ip + 4, TCP_HLEN);
		ip[6] = 6; /* next header TCP */
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		ip[0] = 0x45;
		wr16(ip + 2, IP4_HLEN + TCP_HLEN);
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		wr16(ip + 10, tg_csum_fold(tg_csum_partial(ip, IP4_HLEN, 0)));
	}
	wr16(th, sport);
	wr16(th + 2, dport);
	wr16(th + 6, 1000); /* seq 1000 */
	th[12] = 5 << 4;
	th[13] = TG_TCP_SYN;
	wr16(th + 14, 65535);
	return len;
}

/* Key of a SYN, through the parser as the worker gets it. */
static void
key_of(struct tg_flow_key *k, bool *reversed, bool v6, bool vlan, const uint8_t *src,
       const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	uint8_t b[FRAME_MAX];
	uint32_t len = build_syn(b, v6, vlan, src, dst, sport, dport);
	struct tg_pkt p;

	assert_int_equal(tg_pkt_parse(b, len, &p), TG_PKT_OK);
	assert_int_equal(p.ip_ver, v6 ? 6 : 4);
	assert_true(p.flags & TG_PKT_F_L4);
	assert_int_equal(p.sport, sport);
	assert_int_equal(p.dport, dport);
	/* garbage first: every byte of the key, padding included, must be written */
	memset(k, 0xa5, sizeof(*k));
	tg_flow_key_make(k, b, &p, reversed);
}

/* ::ffff:a.b.c.d (RFC 4291 2.5.5.2) */
static void
mapped(uint8_t out[16], const uint8_t v4[4])
{
	memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

/* The whole key, padding included, is (a0, p0, a1, p1, family). */
static void
expect_key(const struct tg_flow_key *k, const uint8_t a0[16], uint16_t p0, const uint8_t a1[16],
	   uint16_t p1, uint8_t family)
{
	struct tg_flow_key e;

	memset(&e, 0, sizeof(e));
	memcpy(e.addr[0], a0, 16);
	memcpy(e.addr[1], a1, 16);
	e.port[0] = p0;
	e.port[1] = p1;
	e.family = family;
	assert_memory_equal(k, &e, sizeof(e));
}

/* ---------------------------------------------------------------------
 * Table fixture
 * ------------------------------------------------------------------- */

#define REC_MAX 128

/* What the release callback was given, in call order. */
struct rec {
	const struct tg_flow_table *t;
	uint32_t nb;
	uint32_t idx[REC_MAX];
	uint8_t cls[REC_MAX];
};

struct fx {
	struct tg_flow_table t;
	bool up;
	struct rec rec;
	uint64_t hz;
	uint64_t t0; /* an arbitrary start time, well away from 0 */
};

static const uint32_t timeouts_1s[TG_FLOW_NB_CLASSES] = { 1, 1, 1, 1 };

static void
release_cb(void *arg, struct tg_flow *f)
{
	struct rec *r = arg;
	ptrdiff_t i;

	assert_non_null(r);
	assert_non_null(f);
	i = f - r->t->flows;
	assert_true(i >= 0 && (uint64_t)i < r->t->max_flows);
	/* given before the slot is freed, so its held packets can be */
	assert_true(f->in_use);
	assert_true(r->nb < REC_MAX);
	r->idx[r->nb] = (uint32_t)i;
	r->cls[r->nb] = f->cls;
	r->nb++;
}

static void
rec_reset(struct fx *fx)
{
	fx->rec.nb = 0;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->hz = rte_get_tsc_hz();
	fx->t0 = 1000 * fx->hz;
	fx->rec.t = &fx->t;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->up)
		tg_flow_table_free(&fx->t);
	free(fx);
	return 0;
}

static void
fx_up(struct fx *fx, uint32_t max_flows, const uint32_t timeouts[TG_FLOW_NB_CLASSES])
{
	assert_false(fx->up);
	assert_true(max_flows <= MAX_FLOWS);
	assert_int_equal(tg_flow_table_init(&fx->t, "tgtest", max_flows, timeouts, SOCKET_ID_ANY),
			 0);
	fx->up = true;
}

static void
fx_down(struct fx *fx)
{
	tg_flow_table_free(&fx->t);
	fx->up = false;
}

/* Key number n: ::ffff:10.0.(n >> 8).(n & 255):40000 <> ::ffff:198.51.100.2:5432, canonical. */
static void
key_n(struct tg_flow_key *k, uint32_t n)
{
	const uint8_t a[4] = { 10, 0, (uint8_t)(n >> 8), (uint8_t)n };

	assert_true(n <= 0xffff);
	memset(k, 0, sizeof(*k));
	mapped(k->addr[0], a);
	mapped(k->addr[1], ip4_s);
	k->port[0] = PORT_C;
	k->port[1] = PORT_S;
	k->family = 4;
}

static uint32_t
create_n(struct fx *fx, uint32_t n, uint64_t now)
{
	struct tg_flow_key k;

	key_n(&k, n);
	return tg_flow_create(&fx->t, &k, now, release_cb, &fx->rec);
}

static uint32_t
lookup_n(struct fx *fx, uint32_t n)
{
	struct tg_flow_key k;

	key_n(&k, n);
	return tg_flow_lookup(&fx->t, &k);
}

/*
 * The table agrees with itself: every class list walks from head to tail
 * with each back link right and the tail where the walk ends, holds only
 * live flows of its class, and its count is nb_class; every live
 * flow is on exactly one list; nb_flows is their total; the rte_hash holds
 * exactly the live flows, each at its flow index.
 */
static void
check_table(struct tg_flow_table *t)
{
	static uint8_t seen[MAX_FLOWS];
	uint32_t total = 0, i;
	int c;

	assert_true(t->max_flows <= MAX_FLOWS);
	assert_true(t->nb_flows <= t->max_flows);
	memset(seen, 0, sizeof(seen));
	for (c = 0; c < TG_FLOW_NB_CLASSES; c++) {
		uint32_t prev = TG_FLOW_NONE, n = 0;

		for (i = t->lru_head[c]; i != TG_FLOW_NONE; i = t->flows[i].lru_next) {
			assert_true(i < t->max_flows);
			assert_false(seen[i]);
			seen[i] = 1;
			assert_true(t->flows[i].in_use);
			assert_int_equal(t->flows[i].cls, c);
			assert_int_equal(t->flows[i].lru_prev, prev);
			prev = i;
			n++;
		}
		assert_int_equal(t->lru_tail[c], prev);
		assert_int_equal(t->nb_class[c], n);
		total += n;
	}
	assert_int_equal(t->nb_flows, total);
	assert_int_equal(rte_hash_count(t->hash), total);
	for (i = 0; i < t->max_flows; i++) {
		const void *kp;

		assert_int_equal(t->flows[i].in_use, seen[i]);
		if (!seen[i])
			continue;
		assert_int_equal(rte_hash_get_key_with_position(t->hash, (int32_t)i, (void **)&kp),
				 0);
		assert_int_equal(tg_flow_lookup(t, kp), i);
	}
}

/* Class list cls is exactly idx[0..n), head first. */
static void
expect_list(const struct tg_flow_table *t, int cls, const uint32_t *idx, uint32_t n)
{
	uint32_t i, j = 0;

	for (i = t->lru_head[cls]; i != TG_FLOW_NONE; i = t->flows[i].lru_next) {
		assert_true(j < n);
		assert_int_equal(i, idx[j]);
		j++;
	}
	assert_int_equal(j, n);
}

/* Every counter is what the case expects: the ones it does not name stay at zero. */
static void
expect_counters(const struct fx *fx, const uint64_t want[TG_FLOW_CNT_MAX])
{
	int c;

	for (c = 0; c < TG_FLOW_CNT_MAX; c++) {
		if (fx->t.cnt[c] != want[c])
			fail_msg("counter %s is %llu, expected %llu", tg_flow_counter_names[c],
				 (unsigned long long)fx->t.cnt[c], (unsigned long long)want[c]);
	}
}

/* Fills a table of max flows with keys 0..max-1 created at t0 + n; idx[n] gets key n's index. */
static void
fill(struct fx *fx, uint32_t *idx, uint32_t max)
{
	uint32_t n;

	for (n = 0; n < max; n++) {
		idx[n] = create_n(fx, n, fx->t0 + n);
		assert_true(idx[n] < fx->t.max_flows);
	}
	assert_int_equal(fx->t.nb_flows, max);
	assert_int_equal(fx->rec.nb, 0);
	check_table(&fx->t);
}

/* ---------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------- */

/* 192.0.2.1:40000 > 198.51.100.2:5432 and back: one key, v4-mapped. */
static void
test_key_ipv4_directions(void **state)
{
	struct tg_flow_key k0, k1;
	uint8_t mc[16], ms[16];
	bool r0, r1;

	(void)state;
	key_of(&k0, &r0, false, false, ip4_c, ip4_s, PORT_C, PORT_S);
	key_of(&k1, &r1, false, false, ip4_s, ip4_c, PORT_S, PORT_C);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_false(r0);
	assert_true(r1);
	mapped(mc, ip4_c);
	mapped(ms, ip4_s);
	expect_key(&k0, mc, PORT_C, ms, PORT_S, 4);
}

/* 2001:db8::1:40000 > [2001:db8:1::2]:5432 and back. */
static void
test_key_ipv6_directions(void **state)
{
	struct tg_flow_key k0, k1;
	bool r0, r1;

	(void)state;
	key_of(&k0, &r0, true, false, ip6_c, ip6_s, PORT_C, PORT_S);
	key_of(&k1, &r1, true, false, ip6_s, ip6_c, PORT_S, PORT_C);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_false(r0);
	assert_true(r1);
	expect_key(&k0, ip6_c, PORT_C, ip6_s, PORT_S, 6);
}

/* A client whose address sorts higher is the key's second side. */
static void
test_key_client_sorts_high(void **state)
{
	struct tg_flow_key k0, k1;
	uint8_t mhi[16], ms[16];
	bool r0, r1;

	(void)state;
	/* 203.0.113.9:40000 > 198.51.100.2:5432 and back */
	key_of(&k0, &r0, false, false, ip4_hi, ip4_s, PORT_C, PORT_S);
	key_of(&k1, &r1, false, false, ip4_s, ip4_hi, PORT_S, PORT_C);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_true(r0);
	assert_false(r1);
	mapped(mhi, ip4_hi);
	mapped(ms, ip4_s);
	expect_key(&k0, ms, PORT_S, mhi, PORT_C, 4);

	/* [2001:db8:1::2]:40000 > 2001:db8::1:5432: the client sorts higher */
	key_of(&k0, &r0, true, false, ip6_s, ip6_c, PORT_C, PORT_S);
	key_of(&k1, &r1, true, false, ip6_c, ip6_s, PORT_S, PORT_C);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_true(r0);
	assert_false(r1);
	expect_key(&k0, ip6_c, PORT_S, ip6_s, PORT_C, 6);
}

/*
 * Equal addresses (a host talking to itself through the gateway): the
 * lower port, in host order, comes first. 256 (01 00 on the wire) and 2
 * (00 02) sort the other way as raw little-endian words, so a byte-order
 * slip shows.
 */
static void
test_key_equal_addresses(void **state)
{
	struct tg_flow_key k0, k1;
	uint8_t mc[16];
	bool r0, r1;

	(void)state;
	/* 192.0.2.1:256 > 192.0.2.1:2 and back */
	key_of(&k0, &r0, false, false, ip4_c, ip4_c, 256, 2);
	key_of(&k1, &r1, false, false, ip4_c, ip4_c, 2, 256);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_true(r0);
	assert_false(r1);
	mapped(mc, ip4_c);
	expect_key(&k0, mc, 2, mc, 256, 4);

	/* [2001:db8::1]:40000 > [2001:db8::1]:5432 and back */
	key_of(&k0, &r0, true, false, ip6_c, ip6_c, PORT_C, PORT_S);
	key_of(&k1, &r1, true, false, ip6_c, ip6_c, PORT_S, PORT_C);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_true(r0);
	assert_false(r1);
	expect_key(&k0, ip6_c, PORT_S, ip6_c, PORT_C, 6);

	/* both ports equal too: both directions are the same tuple, not reversed */
	key_of(&k0, &r0, false, false, ip4_c, ip4_c, PORT_S, PORT_S);
	assert_false(r0);
	expect_key(&k0, mc, PORT_S, mc, PORT_S, 4);
}

/* The key comes from the IP header wherever it is: a VLAN tag changes nothing. */
static void
test_key_vlan(void **state)
{
	struct tg_flow_key k0, k1;
	bool r0, r1;

	(void)state;
	key_of(&k0, &r0, false, false, ip4_c, ip4_s, PORT_C, PORT_S);
	key_of(&k1, &r1, false, true, ip4_s, ip4_c, PORT_S, PORT_C);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_false(r0);
	assert_true(r1);
	key_of(&k0, &r0, true, true, ip6_c, ip6_s, PORT_C, PORT_S);
	key_of(&k1, &r1, true, false, ip6_s, ip6_c, PORT_S, PORT_C);
	assert_memory_equal(&k0, &k1, sizeof(k0));
	assert_false(r0);
	assert_true(r1);
}

/* ---------------------------------------------------------------------
 * Table basics
 * ------------------------------------------------------------------- */

static void
test_bytes_per_flow(void **state)
{
	struct fx *fx = *state;

	fx_up(fx, 64, timeouts_1s);
	assert_true(tg_flow_table_bytes_per_flow(&fx->t) >= sizeof(struct tg_flow));
	/* and the hash's key slot on top */
	assert_true(tg_flow_table_bytes_per_flow(&fx->t) >=
		    sizeof(struct tg_flow) + sizeof(struct tg_flow_key));
}

static void
test_init_empty(void **state)
{
	static const uint32_t to[TG_FLOW_NB_CLASSES] = { 5, 7200, 120, 10 };
	static const uint64_t zero[TG_FLOW_CNT_MAX];
	struct fx *fx = *state;
	int c;

	fx_up(fx, 64, to);
	assert_non_null(fx->t.hash);
	assert_non_null(fx->t.flows);
	assert_int_equal(fx->t.max_flows, 64);
	assert_int_equal(fx->t.nb_flows, 0);
	for (c = 0; c < TG_FLOW_NB_CLASSES; c++) {
		assert_int_equal(fx->t.lru_head[c], TG_FLOW_NONE);
		assert_int_equal(fx->t.lru_tail[c], TG_FLOW_NONE);
		assert_int_equal(fx->t.nb_class[c], 0);
		assert_int_equal(fx->t.timeout_cycles[c], (uint64_t)to[c] * fx->hz);
	}
	expect_counters(fx, zero);
	check_table(&fx->t);
}

static void
test_create_lookup_delete(void **state)
{
	struct fx *fx = *state;
	uint64_t want[TG_FLOW_CNT_MAX] = { 0 };
	const struct tg_flow *f;
	uint32_t a, b, a2;

	fx_up(fx, 64, timeouts_1s);
	a = create_n(fx, 1, fx->t0);
	assert_true(a < 64);
	assert_int_equal(lookup_n(fx, 1), a);
	f = &fx->t.flows[a];
	assert_true(f->in_use);
	assert_int_equal(f->cls, EMB);
	assert_int_equal(f->last_tsc, fx->t0);
	assert_int_equal(f->state, 0);
	assert_int_equal(f->service, 0);
	assert_int_equal(fx->t.nb_flows, 1);
	assert_int_equal(fx->t.nb_class[EMB], 1);
	expect_list(&fx->t, EMB, &a, 1);
	want[TG_FLOW_CNT_CREATED] = 1;
	expect_counters(fx, want);
	check_table(&fx->t);

	b = create_n(fx, 2, fx->t0 + 1);
	assert_true(b < 64);
	assert_int_not_equal(a, b);
	assert_int_equal(lookup_n(fx, 1), a);
	assert_int_equal(lookup_n(fx, 2), b);
	check_table(&fx->t);

	tg_flow_delete(&fx->t, a, release_cb, &fx->rec);
	assert_int_equal(fx->rec.nb, 1);
	assert_int_equal(fx->rec.idx[0], a);
	assert_int_equal(fx->rec.cls[0], EMB);
	assert_false(fx->t.flows[a].in_use);
	assert_int_equal(lookup_n(fx, 1), TG_FLOW_NONE);
	assert_int_equal(lookup_n(fx, 2), b);
	assert_int_equal(fx->t.nb_flows, 1);
	expect_list(&fx->t, EMB, &b, 1);
	check_table(&fx->t);

	/* a second delete of the same slot is a no-op: no second release */
	tg_flow_delete(&fx->t, a, release_cb, &fx->rec);
	assert_int_equal(fx->rec.nb, 1);
	assert_int_equal(fx->t.nb_flows, 1);
	check_table(&fx->t);

	/* the key can come back */
	a2 = create_n(fx, 1, fx->t0 + 2);
	assert_true(a2 < 64);
	assert_int_equal(lookup_n(fx, 1), a2);
	assert_int_equal(fx->t.nb_flows, 2);
	check_table(&fx->t);

	tg_flow_delete(&fx->t, b, release_cb, &fx->rec);
	tg_flow_delete(&fx->t, a2, release_cb, &fx->rec);
	assert_int_equal(fx->rec.nb, 3);
	assert_int_equal(fx->rec.idx[1], b);
	assert_int_equal(fx->rec.idx[2], a2);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);
	/* deleting is the caller's decision, not an expiry: only CREATED moved */
	want[TG_FLOW_CNT_CREATED] = 3;
	expect_counters(fx, want);
}

static void
test_lookup_absent(void **state)
{
	struct fx *fx = *state;
	struct tg_flow_key k, k2;
	uint32_t a;

	fx_up(fx, 64, timeouts_1s);
	assert_int_equal(lookup_n(fx, 1), TG_FLOW_NONE);

	a = create_n(fx, 1, fx->t0);
	assert_int_equal(lookup_n(fx, 2), TG_FLOW_NONE);
	key_n(&k, 1);
	/* one field off at a time */
	k2 = k;
	k2.port[1]++;
	assert_int_equal(tg_flow_lookup(&fx->t, &k2), TG_FLOW_NONE);
	k2 = k;
	k2.port[0]--;
	assert_int_equal(tg_flow_lookup(&fx->t, &k2), TG_FLOW_NONE);
	k2 = k;
	k2.family = 6;
	assert_int_equal(tg_flow_lookup(&fx->t, &k2), TG_FLOW_NONE);
	k2 = k;
	k2.addr[1][15] ^= 1;
	assert_int_equal(tg_flow_lookup(&fx->t, &k2), TG_FLOW_NONE);
	/* the sides swapped is not the canonical key */
	memcpy(k2.addr[0], k.addr[1], 16);
	memcpy(k2.addr[1], k.addr[0], 16);
	k2.port[0] = k.port[1];
	k2.port[1] = k.port[0];
	assert_int_equal(tg_flow_lookup(&fx->t, &k2), TG_FLOW_NONE);
	assert_int_equal(tg_flow_lookup(&fx->t, &k), a);

	tg_flow_delete(&fx->t, a, release_cb, &fx->rec);
	assert_int_equal(lookup_n(fx, 1), TG_FLOW_NONE);
	/* looking up changes nothing */
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);
}

/* Deleting a slot that holds no flow is a no-op. */
static void
test_delete_unused(void **state)
{
	struct fx *fx = *state;
	uint32_t a;

	fx_up(fx, 64, timeouts_1s);
	tg_flow_delete(&fx->t, 0, release_cb, &fx->rec);
	tg_flow_delete(&fx->t, 63, release_cb, &fx->rec);
	assert_int_equal(fx->rec.nb, 0);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);

	a = create_n(fx, 1, fx->t0);
	tg_flow_delete(&fx->t, a == 0 ? 1 : 0, release_cb, &fx->rec);
	assert_int_equal(fx->rec.nb, 0);
	assert_int_equal(fx->t.nb_flows, 1);
	assert_int_equal(lookup_n(fx, 1), a);
	check_table(&fx->t);
}

/* A new flow starts zeroed, whatever the slot held before. */
static void
test_create_zeroes_flow(void **state)
{
	static const uint8_t zero[sizeof(struct tg_flow)];
	struct fx *fx = *state;
	uint32_t idx[8], n, a;
	struct tg_flow *f;

	fx_up(fx, 8, timeouts_1s);
	fill(fx, idx, 8);
	for (n = 0; n < 8; n++) {
		f = &fx->t.flows[idx[n]];
		f->service = 0xffff;
		f->state = 0xff;
		f->client_key_side = 1;
		f->wscale_ok = 1;
		memset(f->side, 0xa5, sizeof(f->side));
		memset(f->stream, 0x5a, sizeof(f->stream));
	}
	tg_flow_delete(&fx->t, idx[3], release_cb, &fx->rec);
	assert_int_equal(fx->rec.nb, 1);
	/* the only free slot */
	a = create_n(fx, 100, fx->t0 + 100);
	assert_int_equal(a, idx[3]);
	f = &fx->t.flows[a];
	assert_int_equal(f->service, 0);
	assert_int_equal(f->state, 0);
	assert_int_equal(f->client_key_side, 0);
	assert_int_equal(f->wscale_ok, 0);
	assert_memory_equal(f->side, zero, sizeof(f->side));
	assert_memory_equal(f->stream, zero, sizeof(f->stream));
	assert_int_equal(f->last_tsc, fx->t0 + 100);
	assert_int_equal(f->cls, EMB);
	check_table(&fx->t);
}

/* ---------------------------------------------------------------------
 * LRU lists
 * ------------------------------------------------------------------- */

static void
test_touch_moves_to_tail(void **state)
{
	struct fx *fx = *state;
	uint32_t i[4], l[4];
	uint64_t t0 = fx->t0;

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 4); /* A B C D at t0 .. t0 + 3 */
	expect_list(&fx->t, EMB, i, 4);

	tg_flow_touch(&fx->t, i[0], EMB, t0 + 10); /* A to the tail */
	l[0] = i[1], l[1] = i[2], l[2] = i[3], l[3] = i[0];
	expect_list(&fx->t, EMB, l, 4);
	assert_int_equal(fx->t.flows[i[0]].last_tsc, t0 + 10);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[2], EMB, t0 + 11); /* C from the middle */
	l[0] = i[1], l[1] = i[3], l[2] = i[0], l[3] = i[2];
	expect_list(&fx->t, EMB, l, 4);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[2], EMB, t0 + 12); /* C again, already the tail */
	expect_list(&fx->t, EMB, l, 4);
	assert_int_equal(fx->t.flows[i[2]].last_tsc, t0 + 12);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[1], EMB, t0 + 13); /* B, the head */
	l[0] = i[3], l[1] = i[0], l[2] = i[2], l[3] = i[1];
	expect_list(&fx->t, EMB, l, 4);
	assert_int_equal(fx->t.nb_flows, 4);
	assert_int_equal(fx->t.nb_class[EMB], 4);
	assert_int_equal(fx->rec.nb, 0);
	check_table(&fx->t);
}

static void
test_touch_changes_class(void **state)
{
	struct fx *fx = *state;
	uint32_t i[4], l[4];
	uint64_t t0 = fx->t0;
	uint64_t want[TG_FLOW_CNT_MAX] = { [TG_FLOW_CNT_CREATED] = 4 };

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 4); /* A B C D */

	tg_flow_touch(&fx->t, i[1], EST, t0 + 10); /* B established */
	l[0] = i[0], l[1] = i[2], l[2] = i[3];
	expect_list(&fx->t, EMB, l, 3);
	expect_list(&fx->t, EST, &i[1], 1);
	assert_int_equal(fx->t.flows[i[1]].cls, EST);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[0], EST, t0 + 11); /* A established, after B */
	l[0] = i[1], l[1] = i[0];
	expect_list(&fx->t, EST, l, 2);
	l[0] = i[2], l[1] = i[3];
	expect_list(&fx->t, EMB, l, 2);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[3], CLOSING, t0 + 12); /* D closing */
	expect_list(&fx->t, EMB, &i[2], 1);
	expect_list(&fx->t, CLOSING, &i[3], 1);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[1], CLOSED, t0 + 13); /* B closed */
	expect_list(&fx->t, EST, &i[0], 1);
	expect_list(&fx->t, CLOSED, &i[1], 1);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[2], CLOSED, t0 + 14); /* C closed: no embryonic left */
	expect_list(&fx->t, EMB, NULL, 0);
	assert_int_equal(fx->t.lru_head[EMB], TG_FLOW_NONE);
	assert_int_equal(fx->t.lru_tail[EMB], TG_FLOW_NONE);
	l[0] = i[1], l[1] = i[2];
	expect_list(&fx->t, CLOSED, l, 2);
	check_table(&fx->t);

	tg_flow_touch(&fx->t, i[1], EST, t0 + 15); /* B back to established */
	l[0] = i[0], l[1] = i[1];
	expect_list(&fx->t, EST, l, 2);
	expect_list(&fx->t, CLOSED, &i[2], 1);
	assert_int_equal(fx->t.nb_class[EMB], 0);
	assert_int_equal(fx->t.nb_class[EST], 2);
	assert_int_equal(fx->t.nb_class[CLOSING], 1);
	assert_int_equal(fx->t.nb_class[CLOSED], 1);
	assert_int_equal(fx->t.nb_flows, 4);
	assert_int_equal(fx->t.flows[i[1]].last_tsc, t0 + 15);
	check_table(&fx->t);

	/* moving is not expiring */
	assert_int_equal(fx->rec.nb, 0);
	expect_counters(fx, want);
}

/* ---------------------------------------------------------------------
 * Expiry
 * ------------------------------------------------------------------- */

/* Two flows per class at t0, 1 s timeouts: nothing at 0.5 s, all by 2 s. */
static void
test_expire_per_class(void **state)
{
	struct fx *fx = *state;
	uint64_t t0 = fx->t0, hz = fx->hz;
	uint64_t want[TG_FLOW_CNT_MAX] = { 0 };
	uint32_t i[8], n, per[TG_FLOW_NB_CLASSES] = { 0 };
	uint8_t hits[64] = { 0 };

	fx_up(fx, 64, timeouts_1s);
	for (n = 0; n < 8; n++) {
		i[n] = create_n(fx, n, t0);
		tg_flow_touch(&fx->t, i[n], (enum tg_flow_class)(n % 4), t0);
	}
	check_table(&fx->t);

	assert_int_equal(tg_flow_expire(&fx->t, t0 + hz / 2, 100, release_cb, &fx->rec), 0);
	assert_int_equal(fx->rec.nb, 0);
	assert_int_equal(fx->t.nb_flows, 8);

	assert_int_equal(tg_flow_expire(&fx->t, t0 + 2 * hz, 100, release_cb, &fx->rec), 8);
	assert_int_equal(fx->rec.nb, 8);
	for (n = 0; n < 8; n++) {
		assert_true(fx->rec.idx[n] < 64);
		hits[fx->rec.idx[n]]++;
		per[fx->rec.cls[n]]++;
	}
	for (n = 0; n < 8; n++) {
		assert_int_equal(hits[i[n]], 1);
		assert_int_equal(lookup_n(fx, n), TG_FLOW_NONE);
	}
	for (n = 0; n < TG_FLOW_NB_CLASSES; n++)
		assert_int_equal(per[n], 2);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);
	want[TG_FLOW_CNT_CREATED] = 8;
	want[TG_FLOW_CNT_EXPIRED_EMBRYONIC] = 2;
	want[TG_FLOW_CNT_EXPIRED_ESTABLISHED] = 2;
	want[TG_FLOW_CNT_EXPIRED_CLOSING] = 2;
	want[TG_FLOW_CNT_EXPIRED_CLOSED] = 2;
	expect_counters(fx, want);

	/* nothing left to expire */
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 10 * hz, 100, release_cb, &fx->rec), 0);
	assert_int_equal(fx->rec.nb, 8);
}

/*
 * Each class has its own timeout: embryonic 1 s, established 4 s, closing
 * 3 s, closed 2 s. One flow per class, all last seen at t0; a touch
 * restarts the clock.
 */
static void
test_expire_class_timeouts(void **state)
{
	static const uint32_t to[TG_FLOW_NB_CLASSES] = { 1, 4, 3, 2 };
	static const int order[] = { EMB, CLOSED, CLOSING };
	struct fx *fx = *state;
	uint64_t t0 = fx->t0, hz = fx->hz;
	uint64_t want[TG_FLOW_CNT_MAX] = { [TG_FLOW_CNT_CREATED] = 4 };
	uint32_t i[TG_FLOW_NB_CLASSES], n;

	fx_up(fx, 64, to);
	for (n = 0; n < TG_FLOW_NB_CLASSES; n++) {
		i[n] = create_n(fx, n, t0);
		tg_flow_touch(&fx->t, i[n], (enum tg_flow_class)n, t0);
	}
	check_table(&fx->t);

	for (n = 0; n < ARRAY_SIZE(order); n++) {
		int c = order[n];

		/* one cycle short of the timeout: stays */
		assert_int_equal(
			tg_flow_expire(&fx->t, t0 + to[c] * hz - 1, 100, release_cb, &fx->rec), 0);
		assert_int_equal(fx->rec.nb, n);
		/* one cycle past: goes, alone */
		assert_int_equal(
			tg_flow_expire(&fx->t, t0 + to[c] * hz + 1, 100, release_cb, &fx->rec), 1);
		assert_int_equal(fx->rec.nb, n + 1);
		assert_int_equal(fx->rec.idx[n], i[c]);
		assert_int_equal(fx->rec.cls[n], c);
		assert_int_equal(lookup_n(fx, (uint32_t)c), TG_FLOW_NONE);
		want[TG_FLOW_CNT_EXPIRED_EMBRYONIC + c]++; /* the counters follow the classes */
		expect_counters(fx, want);
		check_table(&fx->t);
	}

	/* the established flow, touched at t0 + 3 s + 2, lives to t0 + 7 s + 2 */
	tg_flow_touch(&fx->t, i[EST], EST, t0 + 3 * hz + 2);
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 4 * hz + 1, 100, release_cb, &fx->rec), 0);
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 7 * hz + 1, 100, release_cb, &fx->rec), 0);
	assert_int_equal(fx->t.nb_flows, 1);
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 7 * hz + 3, 100, release_cb, &fx->rec), 1);
	assert_int_equal(fx->rec.nb, 4);
	assert_int_equal(fx->rec.idx[3], i[EST]);
	want[TG_FLOW_CNT_EXPIRED_ESTABLISHED]++;
	expect_counters(fx, want);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);
}

/* Expiry goes from the head: only the flows idle for a timeout go, oldest first. */
static void
test_expire_lru_order(void **state)
{
	struct fx *fx = *state;
	uint64_t t0 = fx->t0, hz = fx->hz, q = hz / 4;
	uint32_t a, b, c;

	fx_up(fx, 64, timeouts_1s);
	a = create_n(fx, 1, t0);
	b = create_n(fx, 2, t0 + q);
	c = create_n(fx, 3, t0 + 2 * q);
	/* A touched at t0 + 3q: now the youngest */
	tg_flow_touch(&fx->t, a, EMB, t0 + 3 * q);

	/* at t0 + q + 1 s + 1: B is due, C and A are not */
	assert_int_equal(tg_flow_expire(&fx->t, t0 + q + hz + 1, 100, release_cb, &fx->rec), 1);
	assert_int_equal(fx->rec.nb, 1);
	assert_int_equal(fx->rec.idx[0], b);
	assert_int_equal(lookup_n(fx, 1), a);
	assert_int_equal(lookup_n(fx, 3), c);
	check_table(&fx->t);

	/* at t0 + 3q + 1 s + 1: C, then A */
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 3 * q + hz + 1, 100, release_cb, &fx->rec), 2);
	assert_int_equal(fx->rec.nb, 3);
	assert_int_equal(fx->rec.idx[1], c);
	assert_int_equal(fx->rec.idx[2], a);
	assert_int_equal(CNT(fx, EXPIRED_EMBRYONIC), 3);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);
}

/* The budget bounds the work: at most budget flows per call, oldest first. */
static void
test_expire_budget(void **state)
{
	struct fx *fx = *state;
	uint64_t t0 = fx->t0, hz = fx->hz;
	uint32_t i[10], n, k[TG_FLOW_NB_CLASSES] = { 0 };
	uint32_t by_cls[TG_FLOW_NB_CLASSES][2];

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 10); /* embryonic, at t0 .. t0 + 9 */

	assert_int_equal(tg_flow_expire(&fx->t, t0 + 2 * hz, 3, release_cb, &fx->rec), 3);
	assert_int_equal(fx->rec.nb, 3);
	for (n = 0; n < 3; n++)
		assert_int_equal(fx->rec.idx[n], i[n]);
	assert_int_equal(fx->t.nb_flows, 7);
	assert_int_equal(fx->t.lru_head[EMB], i[3]);
	assert_int_equal(CNT(fx, EXPIRED_EMBRYONIC), 3);
	check_table(&fx->t);

	assert_int_equal(tg_flow_expire(&fx->t, t0 + 2 * hz, 0, release_cb, &fx->rec), 0);
	assert_int_equal(fx->rec.nb, 3);
	assert_int_equal(fx->t.nb_flows, 7);

	assert_int_equal(tg_flow_expire(&fx->t, t0 + 2 * hz, 1, release_cb, &fx->rec), 1);
	assert_int_equal(fx->rec.idx[3], i[3]);
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 2 * hz, 100, release_cb, &fx->rec), 6);
	assert_int_equal(fx->rec.nb, 10);
	for (n = 4; n < 10; n++)
		assert_int_equal(fx->rec.idx[n], i[n]);
	assert_int_equal(CNT(fx, EXPIRED_EMBRYONIC), 10);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);

	/*
	 * The budget is shared by the classes: two due flows per class, a
	 * budget of 5 expires 5, and within each class the oldest go first.
	 */
	rec_reset(fx);
	for (n = 0; n < 8; n++) {
		uint32_t idx = create_n(fx, 100 + n, t0 + 10 + n);

		tg_flow_touch(&fx->t, idx, (enum tg_flow_class)(n / 2), t0 + 10 + n);
		by_cls[n / 2][n % 2] = idx;
	}
	check_table(&fx->t);
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 3 * hz, 5, release_cb, &fx->rec), 5);
	assert_int_equal(fx->rec.nb, 5);
	for (n = 0; n < 5; n++) {
		uint8_t c = fx->rec.cls[n];

		assert_true(k[c] < 2);
		assert_int_equal(fx->rec.idx[n], by_cls[c][k[c]]);
		k[c]++;
	}
	assert_int_equal(fx->t.nb_flows, 3);
	check_table(&fx->t);
	assert_int_equal(tg_flow_expire(&fx->t, t0 + 3 * hz, 5, release_cb, &fx->rec), 3);
	for (n = 5; n < 8; n++) {
		uint8_t c = fx->rec.cls[n];

		assert_true(k[c] < 2);
		assert_int_equal(fx->rec.idx[n], by_cls[c][k[c]]);
		k[c]++;
	}
	for (n = 0; n < TG_FLOW_NB_CLASSES; n++)
		assert_int_equal(k[n], 2);
	assert_int_equal(CNT(fx, EXPIRED_EMBRYONIC), 12);
	assert_int_equal(CNT(fx, EXPIRED_ESTABLISHED), 2);
	assert_int_equal(CNT(fx, EXPIRED_CLOSING), 2);
	assert_int_equal(CNT(fx, EXPIRED_CLOSED), 2);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);
}

/* ---------------------------------------------------------------------
 * The cap
 * ------------------------------------------------------------------- */

/* A full table of embryonic flows: a new one evicts the oldest. */
static void
test_full_evicts_oldest_embryonic(void **state)
{
	struct fx *fx = *state;
	uint32_t i[64], a, b, n;
	uint64_t want[TG_FLOW_CNT_MAX] = { 0 };

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 64);

	a = create_n(fx, 64, fx->t0 + 64);
	/* key 0's slot was the only one to free */
	assert_int_equal(a, i[0]);
	assert_int_equal(fx->rec.nb, 1);
	assert_int_equal(fx->rec.idx[0], i[0]);
	assert_int_equal(fx->rec.cls[0], EMB);
	assert_int_equal(lookup_n(fx, 0), TG_FLOW_NONE);
	assert_int_equal(lookup_n(fx, 64), a);
	assert_int_equal(fx->t.nb_flows, 64);
	assert_int_equal(fx->t.nb_class[EMB], 64);
	assert_int_equal(fx->t.lru_head[EMB], i[1]);
	assert_int_equal(fx->t.lru_tail[EMB], a);
	assert_int_equal(fx->t.flows[a].last_tsc, fx->t0 + 64);
	want[TG_FLOW_CNT_CREATED] = 65;
	want[TG_FLOW_CNT_EVICTED_EMBRYONIC] = 1;
	expect_counters(fx, want);
	check_table(&fx->t);

	b = create_n(fx, 65, fx->t0 + 65);
	assert_int_equal(b, i[1]);
	assert_int_equal(fx->rec.nb, 2);
	assert_int_equal(fx->rec.idx[1], i[1]);
	assert_int_equal(lookup_n(fx, 1), TG_FLOW_NONE);
	for (n = 2; n < 64; n++)
		assert_int_equal(lookup_n(fx, n), i[n]);
	want[TG_FLOW_CNT_CREATED] = 66;
	want[TG_FLOW_CNT_EVICTED_EMBRYONIC] = 2;
	expect_counters(fx, want);
	check_table(&fx->t);
}

/* "Oldest" is the least recently seen: a touched flow goes to the back of the queue. */
static void
test_full_eviction_follows_lru(void **state)
{
	struct fx *fx = *state;
	uint32_t i[64], a;

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 64);
	tg_flow_touch(&fx->t, i[0], EMB, fx->t0 + 100); /* a retransmitted SYN */
	tg_flow_touch(&fx->t, i[1], EST, fx->t0 + 101); /* handshake done */
	a = create_n(fx, 64, fx->t0 + 102);
	assert_int_equal(a, i[2]);
	assert_int_equal(fx->rec.nb, 1);
	assert_int_equal(fx->rec.idx[0], i[2]);
	assert_int_equal(lookup_n(fx, 0), i[0]);
	assert_int_equal(lookup_n(fx, 1), i[1]);
	assert_int_equal(lookup_n(fx, 2), TG_FLOW_NONE);
	assert_int_equal(CNT(fx, EVICTED_EMBRYONIC), 1);
	check_table(&fx->t);
}

/* Established and closing sessions are never pushed out: the new one is refused. */
static void
test_full_of_established_refuses(void **state)
{
	struct fx *fx = *state;
	uint32_t i[64], n, a;
	uint64_t want[TG_FLOW_CNT_MAX] = { 0 };

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 64);
	for (n = 0; n < 64; n++)
		tg_flow_touch(&fx->t, i[n], EST, fx->t0 + 100 + n);
	check_table(&fx->t);

	assert_int_equal(create_n(fx, 64, fx->t0 + 200), TG_FLOW_NONE);
	assert_int_equal(fx->rec.nb, 0);
	assert_int_equal(lookup_n(fx, 64), TG_FLOW_NONE);
	assert_int_equal(fx->t.nb_flows, 64);
	for (n = 0; n < 64; n++)
		assert_int_equal(lookup_n(fx, n), i[n]);
	want[TG_FLOW_CNT_CREATED] = 64;
	want[TG_FLOW_CNT_TABLE_FULL] = 1;
	expect_counters(fx, want);
	check_table(&fx->t);

	/* closing sessions are not recycled either */
	tg_flow_touch(&fx->t, i[5], CLOSING, fx->t0 + 201);
	tg_flow_touch(&fx->t, i[6], CLOSING, fx->t0 + 202);
	assert_int_equal(create_n(fx, 64, fx->t0 + 203), TG_FLOW_NONE);
	assert_int_equal(create_n(fx, 65, fx->t0 + 204), TG_FLOW_NONE);
	assert_int_equal(fx->rec.nb, 0);
	want[TG_FLOW_CNT_TABLE_FULL] = 3;
	expect_counters(fx, want);
	check_table(&fx->t);

	/* a slot freed by the caller takes the next one without eviction */
	tg_flow_delete(&fx->t, i[7], release_cb, &fx->rec);
	assert_int_equal(fx->rec.nb, 1);
	a = create_n(fx, 64, fx->t0 + 205);
	assert_int_equal(a, i[7]);
	assert_int_equal(fx->rec.nb, 1);
	want[TG_FLOW_CNT_CREATED] = 65;
	expect_counters(fx, want);
	check_table(&fx->t);
}

/*
 * With no embryonic flow left, the oldest closed one (a session over,
 * absorbing stragglers) makes room, counted as a closed session retired.
 */
static void
test_full_recycles_closed(void **state)
{
	struct fx *fx = *state;
	uint32_t i[64], n, a, b, c;
	uint64_t t0 = fx->t0;
	uint64_t want[TG_FLOW_CNT_MAX] = { 0 };

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 64);
	for (n = 0; n < 64; n++)
		tg_flow_touch(&fx->t, i[n], EST, t0 + 100 + n);
	tg_flow_touch(&fx->t, i[10], CLOSED, t0 + 200);
	tg_flow_touch(&fx->t, i[3], CLOSED, t0 + 201);
	check_table(&fx->t);

	a = create_n(fx, 64, t0 + 300);
	assert_int_equal(a, i[10]);
	assert_int_equal(fx->rec.nb, 1);
	assert_int_equal(fx->rec.idx[0], i[10]);
	assert_int_equal(fx->rec.cls[0], CLOSED);
	assert_int_equal(lookup_n(fx, 10), TG_FLOW_NONE);
	assert_int_equal(lookup_n(fx, 3), i[3]);
	assert_int_equal(fx->t.flows[a].cls, EMB);
	want[TG_FLOW_CNT_CREATED] = 65;
	want[TG_FLOW_CNT_EXPIRED_CLOSED] = 1;
	expect_counters(fx, want);
	check_table(&fx->t);

	/* the new flow is embryonic: the next new one evicts it, not the closed one */
	b = create_n(fx, 65, t0 + 301);
	assert_int_equal(b, a);
	assert_int_equal(fx->rec.nb, 2);
	assert_int_equal(fx->rec.idx[1], a);
	assert_int_equal(fx->rec.cls[1], EMB);
	assert_int_equal(lookup_n(fx, 64), TG_FLOW_NONE);
	assert_int_equal(lookup_n(fx, 3), i[3]);
	want[TG_FLOW_CNT_CREATED] = 66;
	want[TG_FLOW_CNT_EVICTED_EMBRYONIC] = 1;
	expect_counters(fx, want);
	check_table(&fx->t);

	/* once it is established, the last closed flow goes */
	tg_flow_touch(&fx->t, b, EST, t0 + 302);
	c = create_n(fx, 66, t0 + 303);
	assert_int_equal(c, i[3]);
	assert_int_equal(fx->rec.nb, 3);
	assert_int_equal(fx->rec.idx[2], i[3]);
	want[TG_FLOW_CNT_CREATED] = 67;
	want[TG_FLOW_CNT_EXPIRED_CLOSED] = 2;
	expect_counters(fx, want);
	check_table(&fx->t);

	/* and then there is nothing to take */
	tg_flow_touch(&fx->t, c, EST, t0 + 304);
	assert_int_equal(create_n(fx, 67, t0 + 305), TG_FLOW_NONE);
	assert_int_equal(fx->rec.nb, 3);
	want[TG_FLOW_CNT_TABLE_FULL] = 1;
	expect_counters(fx, want);
	check_table(&fx->t);
}

/* An embryonic flow goes before a closed one, even a younger one before an older. */
static void
test_full_prefers_embryonic(void **state)
{
	struct fx *fx = *state;
	uint32_t i[64], n, a;

	fx_up(fx, 64, timeouts_1s);
	fill(fx, i, 64);
	tg_flow_touch(&fx->t, i[0], CLOSED, fx->t0 + 100);
	for (n = 1; n < 63; n++)
		tg_flow_touch(&fx->t, i[n], EST, fx->t0 + 100 + n);
	/* key 63 stays embryonic, created after key 0 */
	a = create_n(fx, 64, fx->t0 + 200);
	assert_int_equal(a, i[63]);
	assert_int_equal(fx->rec.nb, 1);
	assert_int_equal(fx->rec.idx[0], i[63]);
	assert_int_equal(lookup_n(fx, 0), i[0]);
	assert_int_equal(CNT(fx, EVICTED_EMBRYONIC), 1);
	assert_int_equal(CNT(fx, EXPIRED_CLOSED), 0);
	check_table(&fx->t);
}

/*
 * The extendable bucket table makes "full" mean max_flows: every size
 * takes exactly max_flows keys, at distinct indices below max_flows, with
 * no refusal on an unlucky bucket; and one more evicts.
 */
static void
test_fill_to_max(void **state)
{
	static const uint32_t sizes[] = { 8, 64, 100, 1000, MAX_FLOWS };
	static uint32_t idx[MAX_FLOWS];
	static uint8_t used[MAX_FLOWS];
	struct fx *fx = *state;
	unsigned int s;
	uint32_t n, a;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint32_t max = sizes[s];

		fx_up(fx, max, timeouts_1s);
		rec_reset(fx);
		memset(used, 0, sizeof(used));
		fill(fx, idx, max);
		for (n = 0; n < max; n++) {
			assert_false(used[idx[n]]);
			used[idx[n]] = 1;
		}
		assert_int_equal(CNT(fx, TABLE_FULL), 0);
		assert_int_equal(CNT(fx, EVICTED_EMBRYONIC), 0);
		for (n = 0; n < max; n++)
			assert_int_equal(lookup_n(fx, n), idx[n]);

		rec_reset(fx);
		a = create_n(fx, max, fx->t0 + max);
		assert_int_equal(a, idx[0]);
		assert_int_equal(fx->rec.nb, 1);
		assert_int_equal(CNT(fx, EVICTED_EMBRYONIC), 1);
		assert_int_equal(CNT(fx, TABLE_FULL), 0);
		check_table(&fx->t);
		fx_down(fx);
	}
}

/* The callback is optional: every path runs without it. */
static void
test_release_null(void **state)
{
	struct fx *fx = *state;
	struct tg_flow_key k;
	uint32_t i[8], a;

	fx_up(fx, 8, timeouts_1s);
	fill(fx, i, 8);
	key_n(&k, 8);
	a = tg_flow_create(&fx->t, &k, fx->t0 + 8, NULL, NULL); /* evicts */
	assert_int_equal(a, i[0]);
	tg_flow_delete(&fx->t, i[1], NULL, NULL);
	assert_int_equal(tg_flow_expire(&fx->t, fx->t0 + 10 * fx->hz, 100, NULL, NULL), 7);
	assert_int_equal(fx->t.nb_flows, 0);
	check_table(&fx->t);
}

static void
test_counter_names(void **state)
{
	unsigned int i, j;

	(void)state;
	for (i = 0; i < TG_FLOW_CNT_MAX; i++) {
		assert_non_null(tg_flow_counter_names[i]);
		assert_true(strlen(tg_flow_counter_names[i]) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(tg_flow_counter_names[i], tg_flow_counter_names[j]);
	}
}

/* ---------------------------------------------------------------------
 * Randomized against a model
 * ------------------------------------------------------------------- */

#define R_FLOWS 64
#define R_KEYS 96 /* more keys than slots, so the table fills */
#define R_STEPS 20000
#define R_NONE UINT32_MAX

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/*
 * The model: per key, live or not, its index, class, last activity and an
 * order stamp that grows each time the flow is (re)filed at a list's tail,
 * so a class list is its flows by increasing stamp.
 */
struct mflow {
	bool live;
	uint8_t cls;
	uint32_t idx;
	uint64_t last;
	uint64_t order;
};

struct model {
	struct mflow f[R_KEYS];
	uint32_t key_at[R_FLOWS]; /* the key at a flow index, or R_NONE */
	uint32_t nb;
	uint64_t seq;
	uint64_t cnt[TG_FLOW_CNT_MAX];
	uint64_t timeout[TG_FLOW_NB_CLASSES];
};

static void
m_file(struct model *m, uint32_t key, uint8_t cls, uint64_t now)
{
	m->f[key].cls = cls;
	m->f[key].last = now;
	m->f[key].order = ++m->seq;
}

static void
m_add(struct model *m, uint32_t key, uint32_t idx, uint64_t now)
{
	assert_false(m->f[key].live);
	assert_int_equal(m->key_at[idx], R_NONE);
	m->f[key].live = true;
	m->f[key].idx = idx;
	m->key_at[idx] = key;
	m_file(m, key, EMB, now);
	m->nb++;
}

static void
m_remove(struct model *m, uint32_t key)
{
	assert_true(m->f[key].live);
	m->key_at[m->f[key].idx] = R_NONE;
	m->f[key].live = false;
	m->nb--;
}

/* The live key of class cls least recently filed, or R_NONE. */
static uint32_t
m_oldest(const struct model *m, uint8_t cls)
{
	uint32_t k, best = R_NONE;

	for (k = 0; k < R_KEYS; k++) {
		if (m->f[k].live && m->f[k].cls == cls &&
		    (best == R_NONE || m->f[k].order < m->f[best].order))
			best = k;
	}
	return best;
}

/* The table is the model: same flows, indices, classes, times, list order, counters. */
static void
m_check(struct fx *fx, const struct model *m)
{
	struct tg_flow_table *t = &fx->t;
	uint32_t k, i, n[TG_FLOW_NB_CLASSES] = { 0 };
	int c;

	check_table(t);
	assert_int_equal(t->nb_flows, m->nb);
	for (k = 0; k < R_KEYS; k++) {
		const struct mflow *mf = &m->f[k];

		if (!mf->live) {
			assert_int_equal(lookup_n(fx, k), TG_FLOW_NONE);
			continue;
		}
		assert_int_equal(lookup_n(fx, k), mf->idx);
		assert_int_equal(t->flows[mf->idx].cls, mf->cls);
		assert_int_equal(t->flows[mf->idx].last_tsc, mf->last);
		n[mf->cls]++;
	}
	for (c = 0; c < TG_FLOW_NB_CLASSES; c++) {
		uint64_t prev = 0;

		assert_int_equal(t->nb_class[c], n[c]);
		for (i = t->lru_head[c]; i != TG_FLOW_NONE; i = t->flows[i].lru_next) {
			k = m->key_at[i];
			assert_int_not_equal(k, R_NONE);
			assert_true(m->f[k].order > prev);
			prev = m->f[k].order;
		}
	}
	for (c = 0; c < TG_FLOW_CNT_MAX; c++) {
		if (t->cnt[c] != m->cnt[c])
			fail_msg("counter %s is %llu, the model says %llu",
				 tg_flow_counter_names[c], (unsigned long long)t->cnt[c],
				 (unsigned long long)m->cnt[c]);
	}
}

/*
 * The mix of operations, in cumulative percent (what is left moves time
 * on by 0 to 1.5 s), and the classes touches file flows under. Phases of
 * 1000 steps take turns.
 */
struct r_phase {
	uint8_t create, touch, del, expire;
	uint8_t classes; /* 1 << class */
	bool handshakes; /* touches go to embryonic flows first */
};

static const struct r_phase phases[] = {
	{ 40, 70, 80, 90, 0xf, false }, /* a bit of everything */
	{ 75, 85, 88, 95, 0xf, false }, /* SYN flood: full of embryonic flows, evictions */
	/* sessions establish: full of established and closing ones, refusals */
	{ 30, 92, 95, 100, (1 << TG_FLOW_ESTABLISHED) | (1 << TG_FLOW_CLOSING), true },
	/* sessions end: full of established and closed ones, recycling */
	{ 30, 92, 95, 100, (1 << TG_FLOW_ESTABLISHED) | (1 << TG_FLOW_CLOSED), true },
};

struct r_stats {
	uint32_t evicted, recycled, refused, expired, deleted, delete_unused;
};

static void
r_create(struct fx *fx, struct model *m, uint32_t key, uint64_t now, struct r_stats *st)
{
	uint32_t victim = R_NONE, idx;
	enum tg_flow_counter vc = TG_FLOW_CNT_EVICTED_EMBRYONIC;
	bool full = m->nb >= R_FLOWS;

	if (full) {
		victim = m_oldest(m, EMB);
		if (victim == R_NONE) {
			victim = m_oldest(m, CLOSED);
			vc = TG_FLOW_CNT_EXPIRED_CLOSED;
		}
	}
	rec_reset(fx);
	idx = create_n(fx, key, now);
	if (full && victim == R_NONE) {
		assert_int_equal(idx, TG_FLOW_NONE);
		assert_int_equal(fx->rec.nb, 0);
		m->cnt[TG_FLOW_CNT_TABLE_FULL]++;
		st->refused++;
		return;
	}
	if (victim != R_NONE) {
		assert_int_equal(fx->rec.nb, 1);
		assert_int_equal(fx->rec.idx[0], m->f[victim].idx);
		m_remove(m, victim);
		m->cnt[vc]++;
		if (vc == TG_FLOW_CNT_EVICTED_EMBRYONIC)
			st->evicted++;
		else
			st->recycled++;
	} else {
		assert_int_equal(fx->rec.nb, 0);
	}
	assert_true(idx < R_FLOWS);
	m_add(m, key, idx, now);
	m->cnt[TG_FLOW_CNT_CREATED]++;
}

static void
r_expire(struct fx *fx, struct model *m, uint64_t now, unsigned int budget, struct r_stats *st)
{
	static const enum tg_flow_counter why[TG_FLOW_NB_CLASSES] = {
		TG_FLOW_CNT_EXPIRED_EMBRYONIC,
		TG_FLOW_CNT_EXPIRED_ESTABLISHED,
		TG_FLOW_CNT_EXPIRED_CLOSING,
		TG_FLOW_CNT_EXPIRED_CLOSED,
	};
	uint32_t due[TG_FLOW_NB_CLASSES][R_KEYS], nb_due[TG_FLOW_NB_CLASSES] = { 0 };
	uint32_t taken[TG_FLOW_NB_CLASSES] = { 0 }, total = 0, k, i, j, want;
	unsigned int n;
	int c;

	/* the flows due, per class, oldest first */
	for (k = 0; k < R_KEYS; k++) {
		const struct mflow *mf = &m->f[k];

		if (!mf->live || now - mf->last < m->timeout[mf->cls])
			continue;
		due[mf->cls][nb_due[mf->cls]++] = k;
		total++;
	}
	for (c = 0; c < TG_FLOW_NB_CLASSES; c++) {
		for (i = 1; i < nb_due[c]; i++) {
			for (j = i; j > 0 && m->f[due[c][j - 1]].order > m->f[due[c][j]].order;
			     j--) {
				k = due[c][j];
				due[c][j] = due[c][j - 1];
				due[c][j - 1] = k;
			}
		}
	}
	want = total < budget ? total : budget;

	rec_reset(fx);
	n = tg_flow_expire(&fx->t, now, budget, release_cb, &fx->rec);
	assert_int_equal(n, want);
	assert_int_equal(fx->rec.nb, n);
	/* which classes the budget goes to first is flow.c's choice; within one, oldest first */
	for (i = 0; i < fx->rec.nb; i++) {
		k = m->key_at[fx->rec.idx[i]];
		assert_int_not_equal(k, R_NONE);
		c = m->f[k].cls;
		assert_int_equal(fx->rec.cls[i], c);
		assert_true(taken[c] < nb_due[c]);
		assert_int_equal(due[c][taken[c]], k);
		taken[c]++;
		m_remove(m, k);
		m->cnt[why[c]]++;
	}
	st->expired += n;
}

/*
 * 20000 steps over 96 keys and 64 slots: creates of new keys, touches into
 * random classes, deletes (of live flows and of empty slots), expiries
 * with budgets of 0 to 5, time moving on by up to 1/256 s a step and
 * jumps of up to 1.5 s, in phases (see phases[]) so that the table fills
 * with embryonic flows (eviction), with established and closing ones
 * (refusal) and with established and closed ones (recycling). Timeouts 1,
 * 3, 2, 1 s. The table is checked against the model after every step, the
 * callback's calls against the flows the model says leave, and at the end
 * that every path was taken.
 */
static void
test_random_model(void **state)
{
	static const uint32_t to[TG_FLOW_NB_CLASSES] = { 1, 3, 2, 1 };
	static struct model model; /* static: nothing to free when an assertion fails */
	struct fx *fx = *state;
	struct model *m = &model;
	struct r_stats st = { 0 };
	uint64_t s = 0x9e3779b97f4a7c15ull, now = fx->t0, hz = fx->hz;
	uint32_t step, k;
	int c;

	memset(m, 0, sizeof(*m));
	fx_up(fx, R_FLOWS, to);
	for (k = 0; k < R_FLOWS; k++)
		m->key_at[k] = R_NONE;
	for (c = 0; c < TG_FLOW_NB_CLASSES; c++)
		m->timeout[c] = (uint64_t)to[c] * hz;

	for (step = 0; step < R_STEPS; step++) {
		const struct r_phase *ph = &phases[(step / 1000) % ARRAY_SIZE(phases)];
		uint32_t op = (uint32_t)(xorshift64(&s) % 100);

		now += xorshift64(&s) % (hz / 256);
		if (op < ph->create) {
			k = (uint32_t)(xorshift64(&s) % R_KEYS);
			if (!m->f[k].live) /* the worker looks up first: create is for new keys */
				r_create(fx, m, k, now, &st);
		} else if (op < ph->touch) {
			uint32_t start = (uint32_t)(xorshift64(&s) % R_KEYS), j;
			uint8_t cls;

			do
				cls = (uint8_t)(xorshift64(&s) % TG_FLOW_NB_CLASSES);
			while (!(ph->classes & (1u << cls)));

			for (j = 0; ph->handshakes && j < R_KEYS; j++) {
				k = (start + j) % R_KEYS;
				if (m->f[k].live && m->f[k].cls == EMB)
					break;
			}
			if (j == R_KEYS || !ph->handshakes) {
				for (j = 0; j < R_KEYS; j++) {
					k = (start + j) % R_KEYS;
					if (m->f[k].live)
						break;
				}
			}
			if (j < R_KEYS) {
				tg_flow_touch(&fx->t, m->f[k].idx, (enum tg_flow_class)cls, now);
				m_file(m, k, cls, now);
			}
		} else if (op < ph->del) {
			uint32_t idx = (uint32_t)(xorshift64(&s) % R_FLOWS);

			rec_reset(fx);
			tg_flow_delete(&fx->t, idx, release_cb, &fx->rec);
			k = m->key_at[idx];
			if (k == R_NONE) {
				assert_int_equal(fx->rec.nb, 0);
				st.delete_unused++;
			} else {
				assert_int_equal(fx->rec.nb, 1);
				assert_int_equal(fx->rec.idx[0], idx);
				m_remove(m, k);
				st.deleted++;
			}
		} else if (op < ph->expire) {
			r_expire(fx, m, now, (unsigned int)(xorshift64(&s) % 6), &st);
		} else {
			now += (xorshift64(&s) % 4) * (hz / 2);
		}
		m_check(fx, m);
	}

	/* everything goes in the end, each flow once */
	r_expire(fx, m, now + 10 * hz, R_FLOWS, &st);
	m_check(fx, m);
	assert_int_equal(fx->t.nb_flows, 0);

	/* the sequence did reach every path */
	assert_true(st.evicted > 0);
	assert_true(st.recycled > 0);
	assert_true(st.refused > 0);
	assert_true(st.deleted > 0);
	assert_true(st.delete_unused > 0);
	for (c = TG_FLOW_CNT_EXPIRED_EMBRYONIC; c <= TG_FLOW_CNT_EXPIRED_CLOSED; c++)
		assert_true(m->cnt[c] > 0);
}

/* clang-format off */
#define TEST(f) { .name = #f, .test_func = test_##f, .setup_func = setup, \
		  .teardown_func = teardown }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(key_ipv4_directions),
		TEST(key_ipv6_directions),
		TEST(key_client_sorts_high),
		TEST(key_equal_addresses),
		TEST(key_vlan),
		TEST(bytes_per_flow),
		TEST(init_empty),
		TEST(create_lookup_delete),
		TEST(lookup_absent),
		TEST(delete_unused),
		TEST(create_zeroes_flow),
		TEST(touch_moves_to_tail),
		TEST(touch_changes_class),
		TEST(expire_per_class),
		TEST(expire_class_timeouts),
		TEST(expire_lru_order),
		TEST(expire_budget),
		TEST(full_evicts_oldest_embryonic),
		TEST(full_eviction_follows_lru),
		TEST(full_of_established_refuses),
		TEST(full_recycles_closed),
		TEST(full_prefers_embryonic),
		TEST(fill_to_max),
		TEST(release_null),
		TEST(counter_names),
		TEST(random_model),
	};

	return cmocka_run_group_tests_name("flow", tests, eal_up, eal_down);
}
/* clang-format on */
