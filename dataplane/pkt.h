/* SPDX-License-Identifier: MIT */
/*
 * pkt.h — L2 to L4 header parsing for the fast path.
 *
 * tg_pkt_parse() walks one contiguous frame: Ethernet, up to two VLAN tags
 * (802.1Q, 802.1ad), then IPv4 with options or IPv6 with its extension
 * header chain, then TCP with options, UDP, ICMP or ICMPv6. It reads the
 * frame and writes only the struct tg_pkt it is given; it never allocates,
 * logs or touches the mbuf, so the same code runs in workers, unit tests and
 * the fuzzer.
 *
 * Every length is checked before the bytes it covers are read. A malformed
 * frame ends the walk with exactly one reason from TG_PKT_ERRORS, which the
 * caller counts; the fields parsed before the fault stay valid. The X-macro
 * list is the single source of the enum, the counter names and their
 * descriptions, in the manner of VPP's per-node error lists.
 *
 * Cost: the walk touches only header bytes; the IPv4 header checksum is
 * verified here (at most 60 bytes, a few ns) because a header the receiver
 * drops must not be taken for one it accepts. L4 checksums cover the payload
 * and are verified by tg_pkt_l4_csum_ok() only where a verdict depends on
 * the payload.
 *
 * Caveats:
 * - Fragments (IPv4 MF/offset, IPv6 fragment header) set TG_PKT_F_FRAG and
 *   stop before L4: a non-first fragment has no L4 header, and a first one
 *   is not trusted on its own. IP reassembly is not done here.
 * - ESP, No Next Header and unknown protocols end the walk with l4_off set
 *   and TG_PKT_F_L4 clear: the payload is opaque.
 * - Ethernet padding after the IP datagram is allowed and ignored:
 *   payload_len comes from the IP length fields, never from the frame size.
 * - Frames are at most 65535 bytes (offsets are 16-bit).
 */
#ifndef TG_PKT_H
#define TG_PKT_H

#include <stdint.h>

/* X(enum suffix, counter name, description) */
#define TG_PKT_ERRORS(X) \
	X(ETH_SHORT, "eth_short", "frame shorter than an Ethernet header") \
	X(VLAN_SHORT, "vlan_short", "VLAN tag runs past the frame") \
	X(VLAN_DEPTH, "vlan_depth", "more than two VLAN tags") \
	X(IP4_SHORT, "ip4_short", "shorter than a minimal IPv4 header") \
	X(IP4_VERSION, "ip4_version", "IPv4 ethertype, other IP version") \
	X(IP4_HDR_LEN, "ip4_hdr_len", "IPv4 IHL below 5") \
	X(IP4_HDR_TRUNC, "ip4_hdr_trunc", "IPv4 header runs past the frame") \
	X(IP4_TOTLEN, "ip4_totlen", "IPv4 total length below IHL or past the frame") \
	X(IP4_CSUM, "ip4_csum", "IPv4 header checksum wrong") \
	X(IP4_OPT, "ip4_opt", "IPv4 option malformed") \
	X(IP4_FRAG, "ip4_frag", "IPv4 fragment ends past 65535") \
	X(IP6_SHORT, "ip6_short", "shorter than an IPv6 header") \
	X(IP6_VERSION, "ip6_version", "IPv6 ethertype, other IP version") \
	X(IP6_TRUNC, "ip6_trunc", "IPv6 payload length past the frame") \
	X(IP6_JUMBO, "ip6_jumbo", "IPv6 payload length zero (jumbogram)") \
	X(IP6_EXT_TRUNC, "ip6_ext_trunc", "IPv6 extension header past the payload") \
	X(IP6_EXT_ORDER, "ip6_ext_order", "IPv6 hop-by-hop options not first") \
	X(IP6_EXT_DEPTH, "ip6_ext_depth", "IPv6 extension header chain too long") \
	X(IP6_FRAG, "ip6_frag", "IPv6 fragment ends past 65535") \
	X(TCP_SHORT, "tcp_short", "shorter than a TCP header") \
	X(TCP_DOFF, "tcp_doff", "TCP data offset below 5 or past the segment") \
	X(TCP_OPT, "tcp_opt", "TCP option malformed") \
	X(TCP_FLAGS, "tcp_flags", "TCP flag combination invalid") \
	X(UDP_SHORT, "udp_short", "shorter than a UDP header") \
	X(UDP_LEN, "udp_len", "UDP length below 8 or past the datagram") \
	X(ICMP_SHORT, "icmp_short", "shorter than an ICMP header") \
	X(L4_PORT_ZERO, "l4_port_zero", "TCP or UDP port zero")

enum tg_pkt_err {
	TG_PKT_OK = 0,
#define TG_PKT_ERR_ENUM(e, n, d) TG_PKT_ERR_##e,
	TG_PKT_ERRORS(TG_PKT_ERR_ENUM)
#undef TG_PKT_ERR_ENUM
	TG_PKT_ERR_MAX
};

extern const char *const tg_pkt_err_names[TG_PKT_ERR_MAX];
extern const char *const tg_pkt_err_descs[TG_PKT_ERR_MAX];

/* struct tg_pkt.flags */
#define TG_PKT_F_L4 0x01	/* TCP/UDP/ICMP header parsed and valid */
#define TG_PKT_F_FRAG 0x02	/* an IP fragment: no L4 */
#define TG_PKT_F_IP4_OPTS 0x04	/* IPv4 header carries options */
#define TG_PKT_F_IP6_EXT 0x08	/* IPv6 extension headers present */

/* struct tg_pkt.tcp_opts: which TCP options the segment carries */
#define TG_TCP_OPT_MSS 0x01
#define TG_TCP_OPT_WSCALE 0x02
#define TG_TCP_OPT_SACK_PERM 0x04
#define TG_TCP_OPT_SACK 0x08
#define TG_TCP_OPT_TS 0x10

#define TG_TCP_FIN 0x01
#define TG_TCP_SYN 0x02
#define TG_TCP_RST 0x04
#define TG_TCP_PSH 0x08
#define TG_TCP_ACK 0x10
#define TG_TCP_URG 0x20
#define TG_TCP_ECE 0x40
#define TG_TCP_CWR 0x80

/*
 * What the parser learnt about one frame. Offsets are from the first byte
 * of the frame; numeric fields are in host byte order.
 */
struct tg_pkt {
	uint16_t ethertype;	/* innermost, after VLAN tags */
	uint16_t vlan_tci[2];	/* outer first */
	uint8_t nb_vlan;
	uint8_t ip_ver;		/* 0 (not IP), 4 or 6 */
	uint8_t l4_proto;	/* IPPROTO_* after the extension chain */
	uint8_t flags;		/* TG_PKT_F_* */

	uint16_t l3_off;
	uint16_t l3_len;	/* IP datagram length, header included */
	uint16_t l4_off;
	uint16_t l4_len;	/* from l4_off to the end of the datagram */
	uint16_t payload_off;	/* L4 payload */
	uint16_t payload_len;
	/*
	 * IPv6: where the final destination address is, for the L4 checksum's
	 * pseudo-header: the last hop of a routing header with segments left
	 * (RFC 8200 8.1), else the header's destination.
	 */
	uint16_t ip6_dst_off;

	uint16_t sport, dport;	/* TCP/UDP */
	uint8_t icmp_type, icmp_code;

	/* TCP */
	uint8_t tcp_flags;
	uint8_t tcp_opts;	/* TG_TCP_OPT_* */
	uint16_t tcp_win;	/* unscaled */
	uint32_t tcp_seq, tcp_ack;
	uint16_t tcp_mss;
	uint8_t tcp_wscale;
	uint8_t tcp_nb_sack;	/* SACK blocks in the segment */
	uint32_t tcp_tsval, tcp_tsecr;
};

/*
 * Parses frame[0..len) into p. Returns TG_PKT_OK, or the reason the frame
 * is malformed. Non-IP frames (ARP, LLDP, ...) return TG_PKT_OK with
 * ip_ver 0.
 */
enum tg_pkt_err tg_pkt_parse(const uint8_t *frame, uint32_t len, struct tg_pkt *p);

/*
 * Verifies the TCP, UDP or ICMPv6 checksum of a frame that tg_pkt_parse()
 * accepted with TG_PKT_F_L4 set (ICMPv4 has no pseudo-header). Returns 1
 * when it is right, 0 when not; a UDP/IPv4 checksum of zero means none and
 * is accepted (RFC 768).
 */
int tg_pkt_l4_csum_ok(const uint8_t *frame, const struct tg_pkt *p);

#endif /* TG_PKT_H */
