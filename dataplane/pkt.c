/* SPDX-License-Identifier: MIT */
/*
 * pkt.c — L2 to L4 header parsing. See pkt.h for the contract.
 *
 * Each stage checks that the bytes it reads lie inside the frame (or, past
 * L3, inside the IP datagram) before reading them, and leaves through one
 * return naming one error. Multi-byte fields are read with tg_rd16()/tg_rd32()
 * so no unaligned cast is ever made on packet memory.
 */
#include <stddef.h>
#include <string.h>

#include "csum.h"
#include "pkt.h"
#include "wire.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100

#define IP4_MIN_HLEN 20
#define IP6_HLEN 40
#define TCP_MIN_HLEN 20
#define UDP_HLEN 8
#define ICMP_MIN_HLEN 4

#define PROTO_HOPOPTS 0
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ROUTING 43
#define PROTO_FRAGMENT 44
#define PROTO_ESP 50
#define PROTO_AH 51
#define PROTO_ICMPV6 58
#define PROTO_NONE 59
#define PROTO_DSTOPTS 60
#define PROTO_MOBILITY 135
#define PROTO_HIP 139
#define PROTO_SHIM6 140

/* RFC 8200 sets no limit; real stacks carry two or three. */
#define IP6_EXT_MAX 8
#define VLAN_MAX 2

const char *const tg_pkt_err_names[TG_PKT_ERR_MAX] = {
	[TG_PKT_OK] = "ok",
#define NAME(e, n, d) [TG_PKT_ERR_##e] = n,
	TG_PKT_ERRORS(NAME)
#undef NAME
};

const char *const tg_pkt_err_descs[TG_PKT_ERR_MAX] = {
	[TG_PKT_OK] = "parsed",
#define DESC(e, n, d) [TG_PKT_ERR_##e] = d,
	TG_PKT_ERRORS(DESC)
#undef DESC
};

/*
 * IPv4 options (RFC 791 3.1): EOL ends the list, NOP is one byte, every
 * other option carries a length of at least 2 that must fit.
 */
static enum tg_pkt_err
parse_ip4_opts(const uint8_t *o, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t kind = o[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (len - i < 2 || o[i + 1] < 2 || o[i + 1] > len - i)
			return TG_PKT_ERR_IP4_OPT;
		i += o[i + 1];
	}
	return TG_PKT_OK;
}

/*
 * TCP options (RFC 9293 3.1, RFC 7323, RFC 2018). Known options must carry
 * their defined length; a later duplicate overrides an earlier one, as in
 * Linux tcp_parse_options().
 */
static enum tg_pkt_err
parse_tcp_opts(const uint8_t *o, uint32_t len, struct tg_pkt *p)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t kind = o[i], olen;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (len - i < 2)
			return TG_PKT_ERR_TCP_OPT;
		olen = o[i + 1];
		if (olen < 2 || olen > len - i)
			return TG_PKT_ERR_TCP_OPT;
		switch (kind) {
		case 2: /* MSS */
			if (olen != 4)
				return TG_PKT_ERR_TCP_OPT;
			p->tcp_mss = tg_rd16(o + i + 2);
			p->tcp_opts |= TG_TCP_OPT_MSS;
			break;
		case 3: /* window scale */
			if (olen != 3)
				return TG_PKT_ERR_TCP_OPT;
			p->tcp_wscale = o[i + 2];
			p->tcp_opts |= TG_TCP_OPT_WSCALE;
			break;
		case 4: /* SACK permitted */
			if (olen != 2)
				return TG_PKT_ERR_TCP_OPT;
			p->tcp_opts |= TG_TCP_OPT_SACK_PERM;
			break;
		case 5: /* SACK blocks, 8 bytes each */
			if ((olen - 2) % 8 != 0 || olen == 2)
				return TG_PKT_ERR_TCP_OPT;
			p->tcp_nb_sack = (uint8_t)((olen - 2) / 8);
			p->tcp_opts |= TG_TCP_OPT_SACK;
			break;
		case 8: /* timestamps */
			if (olen != 10)
				return TG_PKT_ERR_TCP_OPT;
			p->tcp_tsval = tg_rd32(o + i + 2);
			p->tcp_tsecr = tg_rd32(o + i + 6);
			p->tcp_opts |= TG_TCP_OPT_TS;
			break;
		default:
			break;
		}
		i += olen;
	}
	return TG_PKT_OK;
}

/*
 * A segment must carry at least one of SYN, ACK, RST (null and FIN-only
 * or Xmas probes do not), and never SYN with FIN or RST.
 */
static int
tcp_flags_valid(uint8_t f)
{
	if ((f & TG_TCP_SYN) && (f & (TG_TCP_FIN | TG_TCP_RST)))
		return 0;
	return (f & (TG_TCP_SYN | TG_TCP_ACK | TG_TCP_RST)) != 0;
}

static enum tg_pkt_err
parse_l4(const uint8_t *frame, struct tg_pkt *p)
{
	const uint8_t *l4 = frame + p->l4_off;
	uint32_t len = p->l4_len;

	switch (p->l4_proto) {
	case PROTO_TCP: {
		uint32_t doff;
		enum tg_pkt_err err;

		if (len < TCP_MIN_HLEN)
			return TG_PKT_ERR_TCP_SHORT;
		p->sport = tg_rd16(l4);
		p->dport = tg_rd16(l4 + 2);
		p->tcp_seq = tg_rd32(l4 + 4);
		p->tcp_ack = tg_rd32(l4 + 8);
		doff = (uint32_t)(l4[12] >> 4) * 4;
		p->tcp_flags = l4[13];
		p->tcp_win = tg_rd16(l4 + 14);
		if (doff < TCP_MIN_HLEN || doff > len)
			return TG_PKT_ERR_TCP_DOFF;
		err = parse_tcp_opts(l4 + TCP_MIN_HLEN, doff - TCP_MIN_HLEN, p);
		if (err != TG_PKT_OK)
			return err;
		p->payload_off = (uint16_t)(p->l4_off + doff);
		p->payload_len = (uint16_t)(len - doff);
		if (!tcp_flags_valid(p->tcp_flags))
			return TG_PKT_ERR_TCP_FLAGS;
		if (p->sport == 0 || p->dport == 0)
			return TG_PKT_ERR_L4_PORT_ZERO;
		break;
	}
	case PROTO_UDP: {
		uint16_t ulen;

		if (len < UDP_HLEN)
			return TG_PKT_ERR_UDP_SHORT;
		p->sport = tg_rd16(l4);
		p->dport = tg_rd16(l4 + 2);
		ulen = tg_rd16(l4 + 4);
		/* The UDP length may be shorter than the IP payload, not longer. */
		if (ulen < UDP_HLEN || ulen > len)
			return TG_PKT_ERR_UDP_LEN;
		p->payload_off = (uint16_t)(p->l4_off + UDP_HLEN);
		p->payload_len = (uint16_t)(ulen - UDP_HLEN);
		if (p->sport == 0 || p->dport == 0)
			return TG_PKT_ERR_L4_PORT_ZERO;
		break;
	}
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		if (len < ICMP_MIN_HLEN)
			return TG_PKT_ERR_ICMP_SHORT;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		p->payload_off = (uint16_t)(p->l4_off + ICMP_MIN_HLEN);
		p->payload_len = (uint16_t)(len - ICMP_MIN_HLEN);
		break;
	default:
		return TG_PKT_OK;
	}
	p->flags |= TG_PKT_F_L4;
	return TG_PKT_OK;
}

static enum tg_pkt_err
parse_ip4(const uint8_t *frame, uint32_t len, struct tg_pkt *p)
{
	const uint8_t *ip = frame + p->l3_off;
	uint32_t avail = len - p->l3_off, hlen, totlen, frag;
	enum tg_pkt_err err;

	if (avail < IP4_MIN_HLEN)
		return TG_PKT_ERR_IP4_SHORT;
	if (ip[0] >> 4 != 4)
		return TG_PKT_ERR_IP4_VERSION;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if (hlen < IP4_MIN_HLEN)
		return TG_PKT_ERR_IP4_HDR_LEN;
	if (hlen > avail)
		return TG_PKT_ERR_IP4_HDR_TRUNC;
	totlen = tg_rd16(ip + 2);
	if (totlen < hlen || totlen > avail)
		return TG_PKT_ERR_IP4_TOTLEN;
	if (tg_csum_fold(tg_csum_partial(ip, hlen, 0)) != 0)
		return TG_PKT_ERR_IP4_CSUM;
	p->ip_ver = 4;
	p->l3_len = (uint16_t)totlen;
	p->l4_proto = ip[9];
	if (hlen > IP4_MIN_HLEN) {
		p->flags |= TG_PKT_F_IP4_OPTS;
		err = parse_ip4_opts(ip + IP4_MIN_HLEN, hlen - IP4_MIN_HLEN);
		if (err != TG_PKT_OK)
			return err;
	}
	p->l4_off = (uint16_t)(p->l3_off + hlen);
	p->l4_len = (uint16_t)(totlen - hlen);

	/* flags and fragment offset: MF is 0x2000, the offset counts 8 bytes */
	frag = tg_rd16(ip + 6);
	if (frag & 0x3fff) {
		p->flags |= TG_PKT_F_FRAG;
		/* the reassembled datagram, header included, must fit (as Linux checks) */
		if ((frag & 0x1fff) * 8 + totlen > 65535)
			return TG_PKT_ERR_IP4_FRAG;
		return TG_PKT_OK;
	}
	return parse_l4(frame, p);
}

/*
 * The final destination of a routing header with segments left: the last
 * address of type 0 (RFC 2460 4.4), the home address of type 2 (RFC 6275
 * 6.4), Segment List[0] of a segment routing header (RFC 8754 2). Other
 * types are left alone.
 */
static void
routing_final_dst(struct tg_pkt *p, const uint8_t *h, uint32_t hlen, uint16_t h_off)
{
	uint32_t n;

	switch (h[2]) {
	case 0:
		n = h[1] / 2u;
		if (n && 8 + 16 * n <= hlen)
			p->ip6_dst_off = (uint16_t)(h_off + 8 + 16 * (n - 1));
		break;
	case 2:
	case 4:
		if (8 + 16 <= hlen)
			p->ip6_dst_off = (uint16_t)(h_off + 8);
		break;
	default:
		break;
	}
}

/*
 * Walks the IPv6 extension header chain (RFC 8200 4). Hop-by-hop options
 * may only come first. AH counts its length in 4-byte units (RFC 4302),
 * the fragment header is fixed at 8 bytes, the rest in 8-byte units.
 */
static enum tg_pkt_err
parse_ip6(const uint8_t *frame, uint32_t len, struct tg_pkt *p)
{
	const uint8_t *ip = frame + p->l3_off;
	uint32_t avail = len - p->l3_off, plen, off, depth;
	uint8_t nh;

	if (avail < IP6_HLEN)
		return TG_PKT_ERR_IP6_SHORT;
	if (ip[0] >> 4 != 6)
		return TG_PKT_ERR_IP6_VERSION;
	plen = tg_rd16(ip + 4);
	if (plen == 0)
		return TG_PKT_ERR_IP6_JUMBO;
	if (plen > avail - IP6_HLEN)
		return TG_PKT_ERR_IP6_TRUNC;
	p->ip_ver = 6;
	p->l3_len = (uint16_t)(IP6_HLEN + plen);
	p->ip6_dst_off = (uint16_t)(p->l3_off + 24);
	nh = ip[6];
	off = IP6_HLEN;

	for (depth = 0;; depth++) {
		const uint8_t *h = ip + off;
		uint32_t rest = IP6_HLEN + plen - off, hlen;

		switch (nh) {
		case PROTO_HOPOPTS:
			if (depth != 0)
				return TG_PKT_ERR_IP6_EXT_ORDER;
			/* fall through */
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
		case PROTO_MOBILITY:
		case PROTO_HIP:
		case PROTO_SHIM6:
		case PROTO_AH:
		case PROTO_FRAGMENT:
			break;
		default:
			goto l4;
		}
		if (depth >= IP6_EXT_MAX)
			return TG_PKT_ERR_IP6_EXT_DEPTH;
		if (rest < 8)
			return TG_PKT_ERR_IP6_EXT_TRUNC;
		if (nh == PROTO_AH)
			hlen = ((uint32_t)h[1] + 2) * 4;
		else if (nh == PROTO_FRAGMENT)
			hlen = 8;
		else
			hlen = ((uint32_t)h[1] + 1) * 8;
		if (hlen > rest)
			return TG_PKT_ERR_IP6_EXT_TRUNC;
		p->flags |= TG_PKT_F_IP6_EXT;
		if (nh == PROTO_ROUTING && h[3] != 0)
			routing_final_dst(p, h, hlen, (uint16_t)(p->l3_off + off));
		if (nh == PROTO_FRAGMENT) {
			uint16_t fo = tg_rd16(h + 2);

			/* An atomic fragment (offset 0, M clear) is a whole packet. */
			if (fo & 0xfff9) {
				p->flags |= TG_PKT_F_FRAG;
				p->l4_proto = h[0];
				p->l4_off = (uint16_t)(p->l3_off + off + hlen);
				p->l4_len = (uint16_t)(rest - hlen);
				if ((uint32_t)(fo & 0xfff8) + (rest - hlen) > 65535)
					return TG_PKT_ERR_IP6_FRAG;
				return TG_PKT_OK;
			}
		}
		nh = h[0];
		off += hlen;
	}
l4:
	p->l4_proto = nh;
	p->l4_off = (uint16_t)(p->l3_off + off);
	p->l4_len = (uint16_t)(IP6_HLEN + plen - off);
	if (nh == PROTO_ESP || nh == PROTO_NONE)
		return TG_PKT_OK;
	return parse_l4(frame, p);
}

enum tg_pkt_err
tg_pkt_parse(const uint8_t *frame, uint32_t len, struct tg_pkt *p)
{
	uint32_t off = 12;
	uint16_t type;

	memset(p, 0, sizeof(*p));
	if (len > 65535)
		len = 65535;
	if (len < ETH_HLEN)
		return TG_PKT_ERR_ETH_SHORT;
	type = tg_rd16(frame + off);
	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
		if (p->nb_vlan == VLAN_MAX)
			return TG_PKT_ERR_VLAN_DEPTH;
		/* TPID, TCI, then the next ethertype */
		if (len - off < 6)
			return TG_PKT_ERR_VLAN_SHORT;
		p->vlan_tci[p->nb_vlan++] = tg_rd16(frame + off + 2);
		off += 4;
		type = tg_rd16(frame + off);
	}
	p->ethertype = type;
	p->l3_off = (uint16_t)(off + 2);

	switch (type) {
	case ETHERTYPE_IPV4:
		return parse_ip4(frame, len, p);
	case ETHERTYPE_IPV6:
		return parse_ip6(frame, len, p);
	default:
		return TG_PKT_OK;
	}
}

int
tg_pkt_l4_csum_ok(const uint8_t *frame, const struct tg_pkt *p)
{
	const uint8_t *ip = frame + p->l3_off;
	uint32_t sum = 0, l4len = p->l4_len;

	if (!(p->flags & TG_PKT_F_L4))
		return 0;
	/* UDP's own length bounds what its checksum covers (RFC 768). */
	if (p->l4_proto == PROTO_UDP)
		l4len = (uint32_t)p->payload_len + UDP_HLEN;
	if (p->ip_ver == 4) {
		if (p->l4_proto == PROTO_UDP && tg_rd16(frame + p->l4_off + 6) == 0)
			return 1;
		if (p->l4_proto != PROTO_ICMP) {
			sum = tg_csum_partial(ip + 12, 8, 0);
			sum += p->l4_proto;
			sum += l4len;
		}
	} else {
		sum = tg_csum_partial(ip + 8, 16, 0);
		sum = tg_csum_partial(frame + p->ip6_dst_off, 16, sum);
		sum += p->l4_proto;
		sum += l4len;
	}
	sum = tg_csum_partial(frame + p->l4_off, l4len, sum);
	return tg_csum_fold(sum) == 0;
}
