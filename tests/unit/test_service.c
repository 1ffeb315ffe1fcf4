/* SPDX-License-Identifier: MIT */
/*
 * test_service.c — unit tests of protected services (service.c): prefix
 * parsing and the classification of every frame.
 *
 * Frames are built by build() from a struct spec (addresses as text, so a
 * case reads like the packet it is): Ethernet (optionally one 802.1Q tag),
 * IPv4 with a correct header checksum or IPv6, then a TCP SYN, a UDP
 * datagram or an ICMP/ICMPv6 header, or an IP fragment. Each is parsed
 * with tg_pkt_parse() from a heap block of exactly its length and must
 * parse cleanly, so a surprise points at the classifier, not the fixture.
 *
 * The service table of most cases (struct tg_services built with
 * tg_service_parse_prefix()):
 *   0 "pg"   198.51.100.2/32  tcp/5432  postgres  deny
 *   1 "web"  198.51.100.0/24  tcp/443   tcp       deny
 *   2 "lab"  203.0.113.0/24   tcp/22    tcp       allow
 *   3 "pg6"  2001:db8:1::/64  tcp/5432  postgres  deny
 * The client outside is 192.0.2.1 (2001:db8::1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csum.h"
#include "pkt.h"
#include "service.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ICMP6 58

/* ---------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------- */

struct spec {
	const char *src, *dst; /* IPv4 or IPv6 text; the family follows */
	uint8_t proto;
	uint16_t sport, dport; /* TCP, UDP */
	uint8_t type, code;    /* ICMP, ICMPv6 */
	uint16_t frag;	       /* IPv4: flags/offset word; IPv6: fragment header offset/M word */
	bool fraghdr;	       /* IPv6: a fragment header even when frag is 0 (atomic) */
	uint16_t vlan;	       /* 0: untagged */
	uint16_t ethertype;    /* non-IP frames only */
};

/*
 * Frames by what they carry, written as the packet reads:
 * TCP("192.0.2.1", 40000, "198.51.100.2", 5432) is 192.0.2.1:40000 >
 * 198.51.100.2:5432.
 */
#define TCP(s, sp, d, dp)                                                            \
	{                                                                            \
		.src = (s), .dst = (d), .proto = P_TCP, .sport = (sp), .dport = (dp) \
	}
#define UDP(s, sp, d, dp)                                                            \
	{                                                                            \
		.src = (s), .dst = (d), .proto = P_UDP, .sport = (sp), .dport = (dp) \
	}
#define ICMP(s, d, t)                                                \
	{                                                            \
		.src = (s), .dst = (d), .proto = P_ICMP, .type = (t) \
	}

struct frame {
	uint32_t len;
	struct tg_pkt p;
	uint8_t *b;
};

static void
wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void
build(const struct spec *s, struct frame *f)
{
	uint8_t buf[128], src[16], dst[16], *ip, *l4;
	uint32_t off = 12, l4len, l3hlen;
	bool v6 = strchr(s->src ? s->src : "", ':') != NULL;

	memset(buf, 0, sizeof(buf));
	/* Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02 */
	buf[0] = 0x02;
	buf[5] = 0x02;
	buf[6] = 0x02;
	buf[11] = 0x01;
	if (s->vlan) {
		wr16(buf + off, 0x8100);
		wr16(buf + off + 2, s->vlan);
		off += 4;
	}
	if (s->src == NULL) {
		/* not IP: 28 bytes of an ARP request's size, content irrelevant */
		wr16(buf + off, s->ethertype);
		f->len = off + 2 + 28;
		goto out;
	}
	wr16(buf + off, v6 ? 0x86dd : 0x0800);
	off += 2;
	ip = buf + off;
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, s->src, src), 1);
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, s->dst, dst), 1);

	switch (s->proto) {
	case P_TCP:
		l4len = 20;
		break;
	case P_UDP:
	case P_ICMP:
	case P_ICMP6:
		l4len = 8;
		break;
	default:
		l4len = 8; /* opaque */
		break;
	}

	if (v6) {
		bool fh = s->frag || s->fraghdr;

		l3hlen = 40 + (fh ? 8 : 0);
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(l3hlen - 40 + l4len));
		ip[6] = fh ? 44 : s->proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		if (fh) {
			ip[40] = s->proto;
			wr16(ip + 42, s->frag);
			ip[47] = 0x42; /* identification */
		}
	} else {
		l3hlen = 20;
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(l3hlen + l4len));
		wr16(ip + 6, s->frag);
		ip[8] = 64;
		ip[9] = s->proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		wr16(ip + 10, tg_csum_fold(tg_csum_partial(ip, 20, 0)));
	}
	l4 = ip + l3hlen;
	switch (s->proto) {
	case P_TCP:
		wr16(l4, s->sport);
		wr16(l4 + 2, s->dport);
		l4[12] = 5 << 4;
		l4[13] = 0x02; /* SYN */
		wr16(l4 + 14, 1024);
		break;
	case P_UDP:
		wr16(l4, s->sport);
		wr16(l4 + 2, s->dport);
		wr16(l4 + 4, 8);
		break;
	case P_ICMP:
	case P_ICMP6:
		l4[0] = s->type;
		l4[1] = s->code;
		break;
	default:
		break;
	}
	f->len = off + l3hlen + l4len;
out:
	f->b = malloc(f->len);
	assert_non_null(f->b);
	memcpy(f->b, buf, f->len);
	assert_int_equal(tg_pkt_parse(f->b, f->len, &f->p), TG_PKT_OK);
}

/*
 * Classifies the frame of s arriving from_outside; *svc and *to_server
 * start at sentinels so that a result the classifier did not set shows.
 */
static enum tg_class
classify(const struct tg_services *t, const struct spec *s, bool from_outside, uint16_t *svc,
	 bool *to_server)
{
	struct frame f;
	enum tg_class c;
	uint16_t sv = 0xffff;
	bool ts = !from_outside;

	build(s, &f);
	c = tg_service_classify(t, f.b, &f.p, from_outside, &sv, &ts);
	free(f.b);
	if (svc)
		*svc = sv;
	if (to_server)
		*to_server = ts;
	return c;
}

static enum tg_class
cls_out(const struct tg_services *t, const struct spec *s)
{
	return classify(t, s, true, NULL, NULL);
}

static enum tg_class
cls_in(const struct tg_services *t, const struct spec *s)
{
	return classify(t, s, false, NULL, NULL);
}

static const char *
class_name(enum tg_class c)
{
	switch (c) {
	case TG_CLASS_BRIDGE:
		return "BRIDGE";
	case TG_CLASS_SERVICE:
		return "SERVICE";
	case TG_CLASS_DENY:
		return "DENY";
	case TG_CLASS_FRAG:
		return "FRAG";
	}
	return "?";
}

#define ASSERT_CLASS(got, want, what)                                                             \
	do {                                                                                      \
		enum tg_class got_ = (got), want_ = (want);                                       \
		if (got_ != want_)                                                                \
			fail_msg("%s: %s, want %s", (what), class_name(got_), class_name(want_)); \
	} while (0)

/* ---------------------------------------------------------------------
 * Service tables
 * ------------------------------------------------------------------- */

static void
add(struct tg_services *t, const char *name, const char *prefix, uint16_t port, uint8_t proto,
    uint8_t policy)
{
	struct tg_service *s = &t->svc[t->nb];

	assert_true(t->nb < TG_MAX_SERVICES);
	memset(s, 0, sizeof(*s));
	assert_true(strlen(name) < sizeof(s->name));
	memcpy(s->name, name, strlen(name) + 1);
	if (tg_service_parse_prefix(s, prefix) != 0)
		fail_msg("prefix %s refused", prefix);
	s->port = port;
	s->proto = proto;
	s->subnet_policy = policy;
	s->exception_policy = TG_EXC_DROP_FLOW;
	t->nb++;
}

static struct tg_services *
table(void)
{
	static struct tg_services t;

	memset(&t, 0, sizeof(t));
	add(&t, "pg", "198.51.100.2/32", 5432, TG_SERVICE_POSTGRES, TG_SUBNET_DENY);
	add(&t, "web", "198.51.100.0/24", 443, TG_SERVICE_TCP, TG_SUBNET_DENY);
	add(&t, "lab", "203.0.113.0/24", 22, TG_SERVICE_TCP, TG_SUBNET_ALLOW);
	add(&t, "pg6", "2001:db8:1::/64", 5432, TG_SERVICE_POSTGRES, TG_SUBNET_DENY);
	return &t;
}

/* ---------------------------------------------------------------------
 * tg_service_parse_prefix()
 * ------------------------------------------------------------------- */

struct prefix_case {
	const char *text;
	uint8_t family, len;
	uint8_t addr[16];
};

static void
check_prefix(const struct prefix_case *c)
{
	struct tg_service s;
	int rc;

	memset(&s, 0xa5, sizeof(s));
	rc = tg_service_parse_prefix(&s, c->text);
	if (rc != 0)
		fail_msg("\"%s\": refused (%d)", c->text, rc);
	if (s.family != c->family || s.prefix_len != c->len)
		fail_msg("\"%s\": family %u len %u, want %u /%u", c->text, s.family, s.prefix_len,
			 c->family, c->len);
	/* the bytes past an IPv4 address are zero too */
	assert_memory_equal(s.addr, c->addr, 16);
}

static void
test_prefix_v4(void **state)
{
	static const struct prefix_case cases[] = {
		{ "198.51.100.0/24", 4, 24, { 198, 51, 100, 0 } },
		{ "198.51.100.2", 4, 32, { 198, 51, 100, 2 } },
		{ "198.51.100.2/32", 4, 32, { 198, 51, 100, 2 } },
		{ "0.0.0.0/0", 4, 0, { 0 } },
		{ "10.0.0.0/8", 4, 8, { 10 } },
		{ "198.51.100.128/25", 4, 25, { 198, 51, 100, 128 } },
		{ "198.51.100.0/23", 4, 23, { 198, 51, 100, 0 } },
		{ "255.255.255.255/32", 4, 32, { 255, 255, 255, 255 } },
		{ "128.0.0.0/1", 4, 1, { 128 } },
		{ "10.0.0.0/08", 4, 8, { 10 } },
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_prefix(&cases[i]);
}

static void
test_prefix_v6(void **state)
{
	static const struct prefix_case cases[] = {
		{ "2001:db8::/32", 6, 32, { 0x20, 0x01, 0x0d, 0xb8 } },
		{ "2001:db8:1::/64", 6, 64, { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 } },
		{ "2001:db8::1", 6, 128, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
		{ "2001:db8::1/128", 6, 128, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
		{ "::/0", 6, 0, { 0 } },
		{ "::1", 6, 128, { [15] = 1 } },
		{ "fe80::/10", 6, 10, { 0xfe, 0x80 } },
		{ "::ffff:192.0.2.1", 6, 128, { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 } },
		{ "2001:db8:0:0:0:0:0:0/48", 6, 48, { 0x20, 0x01, 0x0d, 0xb8 } },
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_prefix(&cases[i]);
}

/* Host bits set usually mean a typo (10.0.0.1/8 for 10.0.0.0/8): refused. */
static void
test_prefix_host_bits(void **state)
{
	/* clang-format off */
	static const char *const bad[] = {
		"198.51.100.1/24", "198.51.100.3/31", "10.0.0.1/0", "198.51.101.0/23",
		"198.51.100.129/25", "128.0.0.0/0",
		"2001:db8::1/64", "2001:db8::/16", "::1/127", "fe80::1/10", "fec0::/9", "8000::/0",
	};
	/* clang-format on */
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tg_service s;

		memset(&s, 0, sizeof(s));
		if (tg_service_parse_prefix(&s, bad[i]) != -EINVAL)
			fail_msg("\"%s\": accepted", bad[i]);
	}
}

static void
test_prefix_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"/24",
		"198.51.100.0/",
		"198.51.100.0/33",
		"198.51.100.0/-1",
		"198.51.100.0/+8",
		"198.51.100.0/ 8",
		"198.51.100.0/8x",
		"198.51.100.0/24/1",
		"198.51.100.0/0x10",
		"198.51.100.0/99999999999999999999999",
		"198.51.100.0 /24",
		" 198.51.100.0/24",
		"198.51.100",
		"198.51.100.0.1",
		"256.1.1.1",
		"1.2.3.04x",
		"hello",
		"::/129",
		"2001:db8::/1280",
		"2001:db8:::/32",
		"2001:db8::g/64",
		"fe80::1%eth0",
		"fe80::1%eth0/128",
		"[2001:db8::1]",
		/* 70 characters: past the parser's buffer */
		"2001:0db8:0000:0000:0000:0000:0000:0001:2001:0db8:0000:0000:0000:0000:1",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tg_service s;

		memset(&s, 0, sizeof(s));
		if (tg_service_parse_prefix(&s, bad[i]) != -EINVAL)
			fail_msg("\"%s\": accepted as family %u /%u", bad[i], s.family,
				 s.prefix_len);
	}
}

/* ---------------------------------------------------------------------
 * tg_service_classify()
 * ------------------------------------------------------------------- */

/* From outside to a service's address and port: that service, client to server. */
static void
test_service_from_outside(void **state)
{
	const struct tg_services *t = table();
	/* clang-format off */
	static const struct {
		const char *dst;
		uint16_t dport, svc;
	} cases[] = {
		{ "198.51.100.2", 5432, 0 },
		{ "198.51.100.2", 443, 1 },	/* the /24 of "web" covers .2 */
		{ "198.51.100.200", 443, 1 },
		{ "203.0.113.9", 22, 2 },
	};
	/* clang-format on */
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		/* TCP SYN 192.0.2.1:40000 > dst:dport */
		const struct spec s = TCP("192.0.2.1", 40000, cases[i].dst, cases[i].dport);
		uint16_t svc;
		bool ts;

		ASSERT_CLASS(classify(t, &s, true, &svc, &ts), TG_CLASS_SERVICE, cases[i].dst);
		assert_int_equal(svc, cases[i].svc);
		assert_true(ts);
	}
}

/* From inside with a service's address and port as source: the server side. */
static void
test_service_from_inside(void **state)
{
	const struct tg_services *t = table();
	/* TCP 198.51.100.2:5432 > 192.0.2.1:40000 */
	const struct spec s = TCP("198.51.100.2", 5432, "192.0.2.1", 40000);
	/* TCP 203.0.113.9:22 > 192.0.2.1:40000 */
	const struct spec s2 = TCP("203.0.113.9", 22, "192.0.2.1", 40000);
	uint16_t svc;
	bool ts;

	(void)state;
	ASSERT_CLASS(classify(t, &s, false, &svc, &ts), TG_CLASS_SERVICE, "pg reply");
	assert_int_equal(svc, 0);
	assert_false(ts);
	ASSERT_CLASS(classify(t, &s2, false, &svc, &ts), TG_CLASS_SERVICE, "lab reply");
	assert_int_equal(svc, 2);
	assert_false(ts);
}

/*
 * The port that matters is the server's: the destination port from
 * outside, the source port from inside.
 */
static void
test_service_port_side(void **state)
{
	const struct tg_services *t = table();
	/* TCP 192.0.2.1:5432 > 198.51.100.2:40000: the client's port is 5432 */
	const struct spec a = TCP("192.0.2.1", 5432, "198.51.100.2", 40000);
	/* TCP 198.51.100.2:40000 > 192.0.2.1:5432: a protected host connects out */
	const struct spec b = TCP("198.51.100.2", 40000, "192.0.2.1", 5432);

	(void)state;
	ASSERT_CLASS(cls_out(t, &a), TG_CLASS_DENY, "outside, sport 5432");
	ASSERT_CLASS(cls_in(t, &b), TG_CLASS_BRIDGE, "inside, dport 5432");
}

/* A protected address, no service port: the subnet policy decides. */
static void
test_subnet_policy(void **state)
{
	const struct tg_services *t = table();
	/* clang-format off */
	static const struct {
		const char *dst;
		uint8_t proto;
		uint16_t dport;
		enum tg_class want;
	} cases[] = {
		{ "198.51.100.2", P_TCP, 80, TG_CLASS_DENY },
		{ "198.51.100.2", P_TCP, 22, TG_CLASS_DENY },	/* lab's port, not lab's subnet */
		{ "198.51.100.9", P_TCP, 5432, TG_CLASS_DENY },	/* pg is .2 only; web's /24 denies */
		{ "198.51.100.2", P_UDP, 5432, TG_CLASS_DENY },	/* a service port, but UDP */
		{ "198.51.100.2", P_UDP, 53, TG_CLASS_DENY },
		{ "198.51.100.2", 47, 0, TG_CLASS_DENY },		/* GRE */
		{ "203.0.113.9", P_TCP, 80, TG_CLASS_BRIDGE },	/* lab allows */
		{ "203.0.113.9", P_UDP, 5432, TG_CLASS_BRIDGE },
		{ "203.0.113.9", 47, 0, TG_CLASS_BRIDGE },
	};
	/* clang-format on */
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct spec s = TCP("192.0.2.1", 40000, cases[i].dst, cases[i].dport);
		char what[64];

		s.proto = cases[i].proto;
		snprintf(what, sizeof(what), "%s proto %u port %u", cases[i].dst, cases[i].proto,
			 cases[i].dport);
		ASSERT_CLASS(cls_out(t, &s), cases[i].want, what);
	}
}

/*
 * The most specific prefix covering the address decides, whatever the
 * order of the services: 10.0.0.0/8 allow, 10.1.0.0/16 deny,
 * 10.1.2.0/24 allow, 10.1.2.128/25 deny, in all 24 orders.
 */
static void
test_most_specific(void **state)
{
	static const struct {
		const char *prefix;
		uint8_t policy;
	} svcs[] = {
		{ "10.0.0.0/8", TG_SUBNET_ALLOW },
		{ "10.1.0.0/16", TG_SUBNET_DENY },
		{ "10.1.2.0/24", TG_SUBNET_ALLOW },
		{ "10.1.2.128/25", TG_SUBNET_DENY },
	};
	/* clang-format off */
	static const struct {
		const char *dst;
		enum tg_class want;
	} cases[] = {
		{ "10.2.0.1", TG_CLASS_BRIDGE },
		{ "10.1.3.1", TG_CLASS_DENY },
		{ "10.1.2.1", TG_CLASS_BRIDGE },
		{ "10.1.2.127", TG_CLASS_BRIDGE },
		{ "10.1.2.128", TG_CLASS_DENY },
		{ "10.1.2.255", TG_CLASS_DENY },
		{ "11.0.0.1", TG_CLASS_BRIDGE },
	};
	/* clang-format on */
	static const uint8_t perms[24][4] = {
		{ 0, 1, 2, 3 }, { 0, 1, 3, 2 }, { 0, 2, 1, 3 }, { 0, 2, 3, 1 }, { 0, 3, 1, 2 },
		{ 0, 3, 2, 1 }, { 1, 0, 2, 3 }, { 1, 0, 3, 2 }, { 1, 2, 0, 3 }, { 1, 2, 3, 0 },
		{ 1, 3, 0, 2 }, { 1, 3, 2, 0 }, { 2, 0, 1, 3 }, { 2, 0, 3, 1 }, { 2, 1, 0, 3 },
		{ 2, 1, 3, 0 }, { 2, 3, 0, 1 }, { 2, 3, 1, 0 }, { 3, 0, 1, 2 }, { 3, 0, 2, 1 },
		{ 3, 1, 0, 2 }, { 3, 1, 2, 0 }, { 3, 2, 0, 1 }, { 3, 2, 1, 0 },
	};
	struct tg_services t;
	unsigned int p, i, k;

	(void)state;
	for (p = 0; p < ARRAY_SIZE(perms); p++) {
		memset(&t, 0, sizeof(t));
		for (k = 0; k < 4; k++) {
			char name[8];

			snprintf(name, sizeof(name), "s%u", perms[p][k]);
			add(&t, name, svcs[perms[p][k]].prefix, (uint16_t)(1000 + k),
			    TG_SERVICE_TCP, svcs[perms[p][k]].policy);
		}
		for (i = 0; i < ARRAY_SIZE(cases); i++) {
			/* TCP 192.0.2.1:40000 > dst:80 */
			const struct spec s = TCP("192.0.2.1", 40000, cases[i].dst, 80);
			char what[64];

			snprintf(what, sizeof(what), "order %u%u%u%u, %s", perms[p][0], perms[p][1],
				 perms[p][2], perms[p][3], cases[i].dst);
			ASSERT_CLASS(cls_out(&t, &s), cases[i].want, what);
		}
	}
}

/* Two services with the same prefix and opposite policies: deny wins, in either order. */
static void
test_deny_wins_tie(void **state)
{
	/* TCP 192.0.2.1:40000 > 198.51.100.7:80 */
	const struct spec s = TCP("192.0.2.1", 40000, "198.51.100.7", 80);
	struct tg_services t;
	int order;

	(void)state;
	for (order = 0; order < 2; order++) {
		memset(&t, 0, sizeof(t));
		add(&t, "a", "198.51.100.0/24", 1, TG_SERVICE_TCP,
		    order ? TG_SUBNET_DENY : TG_SUBNET_ALLOW);
		add(&t, "b", "198.51.100.0/24", 2, TG_SERVICE_TCP,
		    order ? TG_SUBNET_ALLOW : TG_SUBNET_DENY);
		ASSERT_CLASS(cls_out(&t, &s), TG_CLASS_DENY, order ? "deny first" : "allow first");
	}
	/* a tie of allows, after a less specific deny, stays allowed */
	memset(&t, 0, sizeof(t));
	add(&t, "a", "198.51.0.0/16", 1, TG_SERVICE_TCP, TG_SUBNET_DENY);
	add(&t, "b", "198.51.100.0/24", 2, TG_SERVICE_TCP, TG_SUBNET_ALLOW);
	add(&t, "c", "198.51.100.0/24", 3, TG_SERVICE_TCP, TG_SUBNET_ALLOW);
	ASSERT_CLASS(cls_out(&t, &s), TG_CLASS_BRIDGE, "allow tie over a /16 deny");
	/* a tie at a less specific level does not override a more specific allow */
	memset(&t, 0, sizeof(t));
	add(&t, "a", "198.51.100.0/24", 1, TG_SERVICE_TCP, TG_SUBNET_ALLOW);
	add(&t, "b", "198.51.0.0/16", 2, TG_SERVICE_TCP, TG_SUBNET_ALLOW);
	add(&t, "c", "198.51.0.0/16", 3, TG_SERVICE_TCP, TG_SUBNET_DENY);
	ASSERT_CLASS(cls_out(&t, &s), TG_CLASS_BRIDGE, "/16 deny tie under a /24 allow");
}

/*
 * Two services on one port whose prefixes nest (a /24 "tcp" service and a
 * /32 "postgres" one): the most specific should own its host, as it does
 * for the subnet policy, whatever the order in the file. Otherwise the
 * /32 service's parser never runs when the /24 comes first, and the config
 * accepts that table without a word.
 */
static void
test_service_most_specific(void **state)
{
	/* TCP 192.0.2.1:40000 > 198.51.100.2:5432 */
	const struct spec s = TCP("192.0.2.1", 40000, "198.51.100.2", 5432);
	struct tg_services t;
	uint16_t svc;
	int order;

	(void)state;
	for (order = 0; order < 2; order++) {
		memset(&t, 0, sizeof(t));
		if (order == 0) {
			add(&t, "all", "198.51.100.0/24", 5432, TG_SERVICE_TCP, TG_SUBNET_DENY);
			add(&t, "pg", "198.51.100.2/32", 5432, TG_SERVICE_POSTGRES, TG_SUBNET_DENY);
		} else {
			add(&t, "pg", "198.51.100.2/32", 5432, TG_SERVICE_POSTGRES, TG_SUBNET_DENY);
			add(&t, "all", "198.51.100.0/24", 5432, TG_SERVICE_TCP, TG_SUBNET_DENY);
		}
		ASSERT_CLASS(classify(&t, &s, true, &svc, NULL), TG_CLASS_SERVICE, "pg");
		if (strcmp(t.svc[svc].name, "pg") != 0)
			fail_msg("order %d: 198.51.100.2:5432 went to \"%s\", not the /32 \"pg\"",
				 order, t.svc[svc].name);
	}
}

/*
 * ICMP errors (RFC 792: unreachable 3, time exceeded 11, parameter
 * problem 12; RFC 4443: 1-4) and ND/RD (RFC 4861: 133-137) pass under
 * deny; echo and everything else do not.
 */
static void
test_icmp(void **state)
{
	const struct tg_services *t = table();
	/* clang-format off */
	static const struct {
		uint8_t proto, type;
		enum tg_class want;
	} cases[] = {
		{ P_ICMP, 3, TG_CLASS_BRIDGE },   { P_ICMP, 11, TG_CLASS_BRIDGE },
		{ P_ICMP, 12, TG_CLASS_BRIDGE },  { P_ICMP, 0, TG_CLASS_DENY },
		{ P_ICMP, 8, TG_CLASS_DENY },	  { P_ICMP, 4, TG_CLASS_DENY },
		{ P_ICMP, 5, TG_CLASS_DENY },	  { P_ICMP, 13, TG_CLASS_DENY },
		{ P_ICMP, 255, TG_CLASS_DENY },	  { P_ICMP6, 1, TG_CLASS_BRIDGE },
		{ P_ICMP6, 2, TG_CLASS_BRIDGE },  { P_ICMP6, 3, TG_CLASS_BRIDGE },
		{ P_ICMP6, 4, TG_CLASS_BRIDGE },  { P_ICMP6, 133, TG_CLASS_BRIDGE },
		{ P_ICMP6, 134, TG_CLASS_BRIDGE }, { P_ICMP6, 135, TG_CLASS_BRIDGE },
		{ P_ICMP6, 136, TG_CLASS_BRIDGE }, { P_ICMP6, 137, TG_CLASS_BRIDGE },
		{ P_ICMP6, 0, TG_CLASS_DENY },	  { P_ICMP6, 5, TG_CLASS_DENY },
		{ P_ICMP6, 128, TG_CLASS_DENY },  { P_ICMP6, 129, TG_CLASS_DENY },
		{ P_ICMP6, 132, TG_CLASS_DENY },  { P_ICMP6, 138, TG_CLASS_DENY },
		{ P_ICMP6, 143, TG_CLASS_DENY },
	};
	/* clang-format on */
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool v6 = cases[i].proto == P_ICMP6;
		/* ICMP 192.0.2.1 > 198.51.100.2, or ICMPv6 2001:db8::1 > 2001:db8:1::2 */
		struct spec s = ICMP(v6 ? "2001:db8::1" : "192.0.2.1",
				     v6 ? "2001:db8:1::2" : "198.51.100.2", cases[i].type);
		char what[48];

		s.proto = cases[i].proto;
		snprintf(what, sizeof(what), "%s type %u", v6 ? "ICMPv6" : "ICMP", s.type);
		ASSERT_CLASS(cls_out(t, &s), cases[i].want, what);
		/* from inside, nothing is refused */
		s.src = v6 ? "2001:db8:1::2" : "198.51.100.2";
		s.dst = v6 ? "2001:db8::1" : "192.0.2.1";
		ASSERT_CLASS(cls_in(t, &s), TG_CLASS_BRIDGE, what);
	}
}

/*
 * The exceptions are per IP version: ICMPv6 types mean nothing in an IPv4
 * datagram (protocol 58 over IPv4) nor ICMP types in an IPv6 packet (next
 * header 1). A deny subnet must not let either through.
 */
static void
test_icmp_wrong_family(void **state)
{
	const struct tg_services *t = table();
	static const struct {
		const char *src, *dst;
		uint8_t proto, type;
		const char *what;
	} cases[] = {
		/* IPv4 192.0.2.1 > 198.51.100.2, protocol 58, type 135 (an NS in ICMPv6) */
		{ "192.0.2.1", "198.51.100.2", P_ICMP6, 135, "IPv4 protocol 58 type 135" },
		/* IPv4 192.0.2.1 > 198.51.100.2, protocol 58, type 1 */
		{ "192.0.2.1", "198.51.100.2", P_ICMP6, 1, "IPv4 protocol 58 type 1" },
		/* IPv6 2001:db8::1 > 2001:db8:1::2, next header 1, type 3 (ICMPv4 unreachable) */
		{ "2001:db8::1", "2001:db8:1::2", P_ICMP, 3, "IPv6 next header 1 type 3" },
		/* IPv6 2001:db8::1 > 2001:db8:1::2, next header 1, type 11 */
		{ "2001:db8::1", "2001:db8:1::2", P_ICMP, 11, "IPv6 next header 1 type 11" },
	};
	char bridged[256] = "";
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct spec s = { .src = cases[i].src,
					.dst = cases[i].dst,
					.proto = cases[i].proto,
					.type = cases[i].type };
		enum tg_class c = cls_out(t, &s);

		if (c != TG_CLASS_DENY)
			snprintf(bridged + strlen(bridged), sizeof(bridged) - strlen(bridged),
				 "%s%s: %s", bridged[0] ? "; " : "", cases[i].what, class_name(c));
	}
	if (bridged[0])
		fail_msg("to a deny subnet, want DENY: %s", bridged);
}

/* Fragments towards a protected address cannot be matched to a port: refused. */
static void
test_fragments(void **state)
{
	const struct tg_services *t = table();
	/* clang-format off */
	static const struct {
		const char *src, *dst;
		uint16_t frag;
		bool outside;
		enum tg_class want;
		const char *what;
	} cases[] = {
		/* IPv4 MF, offset 0: the first fragment of a SYN to pg */
		{ "192.0.2.1", "198.51.100.2", 0x2000, true, TG_CLASS_FRAG, "v4 first" },
		/* IPv4 offset 8 (64 bytes), MF clear: the last fragment */
		{ "192.0.2.1", "198.51.100.2", 0x0008, true, TG_CLASS_FRAG, "v4 last" },
		/* DF with MF: still a fragment */
		{ "192.0.2.1", "198.51.100.2", 0x6000, true, TG_CLASS_FRAG, "v4 DF|MF" },
		/* to an allow subnet: refused all the same */
		{ "192.0.2.1", "203.0.113.9", 0x2000, true, TG_CLASS_FRAG, "v4 allow" },
		/* to an unprotected host */
		{ "192.0.2.1", "192.0.2.99", 0x2000, true, TG_CLASS_BRIDGE, "v4 unprotected" },
		/* from inside, leaving */
		{ "198.51.100.2", "192.0.2.1", 0x2000, false, TG_CLASS_BRIDGE, "v4 inside" },
		/* IPv6 fragment header, offset 0, M set */
		{ "2001:db8::1", "2001:db8:1::2", 0x0001, true, TG_CLASS_FRAG, "v6 first" },
		/* IPv6 fragment header, offset 8 (64 bytes), M clear */
		{ "2001:db8::1", "2001:db8:1::2", 0x0040, true, TG_CLASS_FRAG, "v6 last" },
		{ "2001:db8::1", "2001:db8:2::2", 0x0001, true, TG_CLASS_BRIDGE, "v6 unprotected" },
		{ "2001:db8:1::2", "2001:db8::1", 0x0001, false, TG_CLASS_BRIDGE, "v6 inside" },
	};
	/* clang-format on */
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct spec s = TCP(cases[i].src, 40000, cases[i].dst, 5432);

		s.frag = cases[i].frag;

		ASSERT_CLASS(classify(t, &s, cases[i].outside, NULL, NULL), cases[i].want,
			     cases[i].what);
	}
}

/* An IPv6 atomic fragment (offset 0, M clear) is a whole packet: classified by its port. */
static void
test_fragment_atomic_v6(void **state)
{
	const struct tg_services *t = table();
	/* TCP 2001:db8::1:40000 > 2001:db8:1::2:5432 behind a fragment header, offset 0, M 0 */
	struct spec s = TCP("2001:db8::1", 40000, "2001:db8:1::2", 5432);
	struct spec s2;
	uint16_t svc;

	(void)state;
	s.fraghdr = true;
	s2 = s;
	ASSERT_CLASS(classify(t, &s, true, &svc, NULL), TG_CLASS_SERVICE, "atomic");
	assert_int_equal(svc, 3);
	s2.dport = 80;
	ASSERT_CLASS(cls_out(t, &s2), TG_CLASS_DENY, "atomic, port 80");
}

/* From inside, anything that is not a service's reply leaves untouched. */
static void
test_leaving(void **state)
{
	const struct tg_services *t = table();
	static const struct spec cases[] = {
		/* TCP 198.51.100.2:40000 > 192.0.2.1:80 */
		TCP("198.51.100.2", 40000, "192.0.2.1", 80),
		/* TCP 198.51.100.2:5433 > 192.0.2.1:40000 */
		TCP("198.51.100.2", 5433, "192.0.2.1", 40000),
		/* UDP 198.51.100.2:5432 > 192.0.2.1:53 */
		UDP("198.51.100.2", 5432, "192.0.2.1", 53),
		/* ICMP echo 198.51.100.2 > 192.0.2.1 */
		ICMP("198.51.100.2", "192.0.2.1", 8),
		/* TCP 2001:db8:1::2:40000 > 2001:db8::1:443 */
		TCP("2001:db8:1::2", 40000, "2001:db8::1", 443),
		/* TCP 198.51.100.2:40000 > 198.51.100.3:80: inside to inside */
		TCP("198.51.100.2", 40000, "198.51.100.3", 80),
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ASSERT_CLASS(cls_in(t, &cases[i]), TG_CLASS_BRIDGE, cases[i].src);
}

/* Non-IP frames, and any frame with no services configured, are bridged. */
static void
test_non_ip(void **state)
{
	const struct tg_services *t = table();
	struct tg_services empty;
	static const uint16_t types[] = { 0x0806, 0x88cc, 0x8035, 0x88f7 };
	/* TCP 192.0.2.1:40000 > 198.51.100.2:80 */
	const struct spec tcp = TCP("192.0.2.1", 40000, "198.51.100.2", 80);
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		const struct spec s = { .ethertype = types[i] };
		const struct spec tagged = { .ethertype = types[i], .vlan = 100 };

		ASSERT_CLASS(cls_out(t, &s), TG_CLASS_BRIDGE, "non-IP");
		ASSERT_CLASS(cls_in(t, &s), TG_CLASS_BRIDGE, "non-IP");
		ASSERT_CLASS(cls_out(t, &tagged), TG_CLASS_BRIDGE, "non-IP, VLAN");
	}
	memset(&empty, 0, sizeof(empty));
	ASSERT_CLASS(cls_out(&empty, &tcp), TG_CLASS_BRIDGE, "no services");
}

/* Hosts outside every service prefix are bridged, both ways. */
static void
test_unprotected(void **state)
{
	const struct tg_services *t = table();
	static const struct spec cases[] = {
		/* TCP 192.0.2.1:40000 > 192.0.2.2:5432 */
		TCP("192.0.2.1", 40000, "192.0.2.2", 5432),
		/* TCP 192.0.2.1:40000 > 198.51.101.2:443: next to web's /24 */
		TCP("192.0.2.1", 40000, "198.51.101.2", 443),
		/* ICMP echo 192.0.2.1 > 198.51.99.255 */
		ICMP("192.0.2.1", "198.51.99.255", 8),
		/* TCP 2001:db8::1:40000 > 2001:db8:1:1::2:5432: next to pg6's /64 */
		TCP("2001:db8::1", 40000, "2001:db8:1:1::2", 5432),
		/* UDP 2001:db8::1:40000 > 2001:db8::2:53 */
		UDP("2001:db8::1", 40000, "2001:db8::2", 53),
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_CLASS(cls_out(t, &cases[i]), TG_CLASS_BRIDGE, cases[i].dst);
		/* the same frame arriving inside: its source is not protected either */
		ASSERT_CLASS(cls_in(t, &cases[i]), TG_CLASS_BRIDGE, cases[i].dst);
	}
}

/* IPv6 services, and the families kept apart. */
static void
test_ipv6(void **state)
{
	const struct tg_services *t = table();
	/* TCP 2001:db8::1:40000 > 2001:db8:1::2:5432 */
	const struct spec to = TCP("2001:db8::1", 40000, "2001:db8:1::2", 5432);
	/* the reply: TCP 2001:db8:1::2:5432 > 2001:db8::1:40000 */
	const struct spec from = TCP("2001:db8:1::2", 5432, "2001:db8::1", 40000);
	/* TCP 2001:db8::1:40000 > 2001:db8:1::2:443 */
	const struct spec other = TCP("2001:db8::1", 40000, "2001:db8:1::2", 443);
	/* TCP 2001:db8::1:40000 > c633:6402:: port 5432: pg's IPv4 bytes, as IPv6 */
	const struct spec look = TCP("2001:db8::1", 40000, "c633:6402::", 5432);
	/* TCP 2001:db8::1:40000 > ::ffff:198.51.100.2:5432: v4-mapped, an IPv6 packet */
	const struct spec mapped = TCP("2001:db8::1", 40000, "::ffff:198.51.100.2", 5432);
	/* TCP 2001:db8::1:40000 > 2001:db8:1::2:5432 tagged VLAN 100 */
	struct spec tagged = TCP("2001:db8::1", 40000, "2001:db8:1::2", 5432);
	uint16_t svc;
	bool ts;

	(void)state;
	tagged.vlan = 100;
	ASSERT_CLASS(classify(t, &to, true, &svc, &ts), TG_CLASS_SERVICE, "to pg6");
	assert_int_equal(svc, 3);
	assert_true(ts);
	ASSERT_CLASS(classify(t, &from, false, &svc, &ts), TG_CLASS_SERVICE, "from pg6");
	assert_int_equal(svc, 3);
	assert_false(ts);
	ASSERT_CLASS(cls_out(t, &other), TG_CLASS_DENY, "pg6 subnet, port 443");
	ASSERT_CLASS(cls_out(t, &look), TG_CLASS_BRIDGE, "IPv4 bytes in IPv6");
	ASSERT_CLASS(cls_out(t, &mapped), TG_CLASS_BRIDGE, "v4-mapped");
	ASSERT_CLASS(classify(t, &tagged, true, &svc, &ts), TG_CLASS_SERVICE, "VLAN");
	assert_int_equal(svc, 3);
}

/* Prefixes that are not byte-aligned, and /0. */
static void
test_prefix_bits(void **state)
{
	struct tg_services t;
	/* clang-format off */
	static const struct {
		const char *dst;
		enum tg_class want;
	} cases[] = {
		{ "198.51.100.128", TG_CLASS_DENY },  { "198.51.100.255", TG_CLASS_DENY },
		{ "198.51.100.127", TG_CLASS_BRIDGE }, { "198.51.100.0", TG_CLASS_BRIDGE },
		{ "198.51.101.128", TG_CLASS_BRIDGE },
	};
	/* clang-format on */
	/* TCP 192.0.2.1:40000 > 192.0.2.77:5432, TCP 192.0.2.1:40000 > 192.0.2.77:80 */
	const struct spec any_svc = TCP("192.0.2.1", 40000, "192.0.2.77", 5432);
	const struct spec any_other = TCP("192.0.2.1", 40000, "192.0.2.77", 80);
	const struct spec v6 = TCP("2001:db8::1", 40000, "2001:db8::2", 80);
	unsigned int i;
	uint16_t svc;

	(void)state;
	memset(&t, 0, sizeof(t));
	add(&t, "half", "198.51.100.128/25", 5432, TG_SERVICE_TCP, TG_SUBNET_DENY);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct spec s = TCP("192.0.2.1", 40000, cases[i].dst, 80);

		ASSERT_CLASS(cls_out(&t, &s), cases[i].want, cases[i].dst);
	}

	/* 0.0.0.0/0: every IPv4 address is protected, no IPv6 one */
	memset(&t, 0, sizeof(t));
	add(&t, "all", "0.0.0.0/0", 5432, TG_SERVICE_TCP, TG_SUBNET_DENY);
	ASSERT_CLASS(classify(&t, &any_svc, true, &svc, NULL), TG_CLASS_SERVICE, "/0 service");
	assert_int_equal(svc, 0);
	ASSERT_CLASS(cls_out(&t, &any_other), TG_CLASS_DENY, "/0 other port");
	ASSERT_CLASS(cls_out(&t, &v6), TG_CLASS_BRIDGE, "/0 v4, IPv6 frame");
}

/* clang-format off */
#define TEST(f) { .name = #f, .test_func = test_##f }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(prefix_v4),
		TEST(prefix_v6),
		TEST(prefix_host_bits),
		TEST(prefix_garbage),
		TEST(service_from_outside),
		TEST(service_from_inside),
		TEST(service_port_side),
		TEST(subnet_policy),
		TEST(most_specific),
		TEST(deny_wins_tie),
		TEST(service_most_specific),
		TEST(icmp),
		TEST(icmp_wrong_family),
		TEST(fragments),
		TEST(fragment_atomic_v6),
		TEST(leaving),
		TEST(non_ip),
		TEST(unprotected),
		TEST(ipv6),
		TEST(prefix_bits),
	};

	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
/* clang-format on */
