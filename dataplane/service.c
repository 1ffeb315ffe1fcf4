/* SPDX-License-Identifier: MIT */
/*
 * service.c — protected services and frame classification. See service.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_ICMPV6 58

static bool
prefix_match(const struct tg_service *s, const uint8_t *addr)
{
	unsigned int full = s->prefix_len / 8, rest = s->prefix_len % 8;

	if (memcmp(s->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((addr[full] ^ s->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* ICMP errors carry a quoted header, not a conversation (RFC 792, RFC 4443 2.1). */
static bool
icmp_error(const struct tg_pkt *p)
{
	if (!(p->flags & TG_PKT_F_L4))
		return false;
	if (p->ip_ver == 4 && p->l4_proto == PROTO_ICMP)
		return p->icmp_type == 3 || p->icmp_type == 11 || p->icmp_type == 12;
	if (p->ip_ver == 6 && p->l4_proto == PROTO_ICMPV6)
		return p->icmp_type >= 1 && p->icmp_type <= 4;
	return false;
}

/* Router and neighbor discovery (RFC 4861): link-local machinery, always bridged. */
static bool
icmp6_nd(const struct tg_pkt *p)
{
	return p->ip_ver == 6 && p->l4_proto == PROTO_ICMPV6 && (p->flags & TG_PKT_F_L4) &&
	       p->icmp_type >= 133 && p->icmp_type <= 137;
}

enum tg_class
tg_service_classify(const struct tg_services *t, const uint8_t *frame, const struct tg_pkt *p,
		    bool from_outside, uint16_t *svc, bool *to_server)
{
	const uint8_t *ip = frame + p->l3_off, *addr;
	int best = -1, match = -1;
	unsigned int i;
	bool deny = false;

	if (p->ip_ver == 0 || t->nb == 0)
		return TG_CLASS_BRIDGE;
	if (p->ip_ver == 4)
		addr = ip + (from_outside ? 16 : 12);
	else
		addr = ip + (from_outside ? 24 : 8);

	for (i = 0; i < t->nb; i++) {
		const struct tg_service *s = &t->svc[i];

		if (s->family != p->ip_ver || !prefix_match(s, addr))
			continue;
		/* the most specific service prefix wins, whatever the order */
		if (p->l4_proto == PROTO_TCP && (p->flags & TG_PKT_F_L4) &&
		    (from_outside ? p->dport : p->sport) == s->port) {
			if (match < 0 || s->prefix_len > t->svc[match].prefix_len)
				match = (int)i;
			continue;
		}
		if (best < 0 || s->prefix_len > t->svc[best].prefix_len) {
			best = (int)i;
			deny = s->subnet_policy == TG_SUBNET_DENY;
		} else if (s->prefix_len == t->svc[best].prefix_len &&
			   s->subnet_policy == TG_SUBNET_DENY) {
			deny = true;
		}
	}
	if (match >= 0) {
		*svc = (uint16_t)match;
		*to_server = from_outside;
		return TG_CLASS_SERVICE;
	}
	if (best < 0)
		return TG_CLASS_BRIDGE;
	/* traffic leaving the protected subnet is not refused here */
	if (!from_outside)
		return TG_CLASS_BRIDGE;
	if (p->flags & TG_PKT_F_FRAG)
		return TG_CLASS_FRAG;
	if (!deny || icmp6_nd(p) || icmp_error(p))
		return TG_CLASS_BRIDGE;
	return TG_CLASS_DENY;
}

int
tg_service_parse_prefix(struct tg_service *s, const char *text)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long len;
	unsigned int i, max;
	char *end;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	memset(s->addr, 0, sizeof(s->addr));
	if (inet_pton(AF_INET, buf, s->addr) == 1) {
		s->family = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, s->addr) == 1) {
		s->family = 6;
		max = 128;
	} else {
		return -EINVAL;
	}
	len = max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end != '\0' || len > max)
			return -EINVAL;
	}
	s->prefix_len = (uint8_t)len;
	for (i = (unsigned int)len; i < max; i++)
		if (s->addr[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	return 0;
}
