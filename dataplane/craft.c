/* SPDX-License-Identifier: MIT */
/*
 * craft.c — segments the gateway sends on its own behalf. See craft.h.
 */
#include <string.h>

#include <rte_mbuf.h>

#include "craft.h"
#include "csum.h"
#include "wire.h"

#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20

/* TCP checksum over the pseudo-header of the IP header at ip (version v) and the segment th. */
static void
tcp_csum(uint8_t *ip, int v, const uint8_t *dst6, uint8_t *th, uint32_t seg_len)
{
	uint32_t sum;

	if (v == 4)
		sum = tg_csum_partial(ip + 12, 8, 0);
	else
		sum = tg_csum_partial(ip + 8, 16, tg_csum_partial(dst6, 16, 0));
	sum += 6 + seg_len;
	th[16] = th[17] = 0;
	tg_wr16(th + 16, tg_csum_fold(tg_csum_partial(th, seg_len, sum)));
}

struct rte_mbuf *
tg_craft_seg(struct rte_mempool *mp, const uint8_t *tpl, const struct tg_pkt *tp, bool back,
	     const struct tg_craft_tcp *h, const uint8_t *payload, uint16_t plen)
{
	const uint8_t *ip = tpl + tp->l3_off;
	uint16_t l3 = tp->ip_ver == 4 ? IP4_HLEN : IP6_HLEN;
	uint16_t thl = TCP_HLEN + (h->ts ? 12 : 0);
	uint32_t len = (uint32_t)tp->l3_off + l3 + thl + plen;
	struct rte_mbuf *m;
	uint8_t *o, *oip, *th;
	int i;

	if (len > UINT16_MAX || (m = rte_pktmbuf_alloc(mp)) == NULL)
		return NULL;
	o = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(len < 60 ? 60 : len));
	if (o == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(o, 0, len < 60 ? 60 : len);
	for (i = 0; i < 6; i++) {
		o[i] = tpl[back ? 6 + i : i];
		o[6 + i] = tpl[back ? i : 6 + i];
	}
	memcpy(o + 12, tpl + 12, tp->l3_off - 12u);
	oip = o + tp->l3_off;
	th = oip + l3;
	if (tp->ip_ver == 4) {
		oip[0] = 0x45;
		tg_wr16(oip + 2, (uint16_t)(IP4_HLEN + thl + plen));
		tg_wr16(oip + 6, 0x4000);	/* DF */
		oip[8] = 64;
		oip[9] = 6;
		memcpy(oip + 12, ip + (back ? 16 : 12), 4);
		memcpy(oip + 16, ip + (back ? 12 : 16), 4);
		tg_wr16(oip + 10, tg_csum_fold(tg_csum_partial(oip, IP4_HLEN, 0)));
	} else {
		oip[0] = 0x60;
		tg_wr16(oip + 4, (uint16_t)(thl + plen));
		oip[6] = 6;
		oip[7] = 64;
		memcpy(oip + 8, ip + (back ? 24 : 8), 16);
		memcpy(oip + 24, ip + (back ? 8 : 24), 16);
	}
	tg_wr16(th, back ? tp->dport : tp->sport);
	tg_wr16(th + 2, back ? tp->sport : tp->dport);
	tg_wr32(th + 4, h->seq);
	tg_wr32(th + 8, h->ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = h->flags;
	tg_wr16(th + 14, h->win);
	if (h->ts) {
		/* NOP, NOP, TS (RFC 7323 appendix A layout) */
		th[20] = 1;
		th[21] = 1;
		th[22] = 8;
		th[23] = 10;
		tg_wr32(th + 24, h->tsval);
		tg_wr32(th + 28, h->tsecr);
	}
	if (plen != 0)
		memcpy(th + thl, payload, plen);
	tcp_csum(oip, tp->ip_ver, oip + 24, th, (uint32_t)thl + plen);
	return m;
}

struct rte_mbuf *
tg_craft_piece(struct rte_mempool *mp, const uint8_t *frame, const struct tg_pkt *p, uint32_t seq,
	       uint8_t flags, const uint8_t *payload, uint16_t plen)
{
	uint32_t hdr = p->payload_off, len = hdr + plen;
	uint16_t thl = (uint16_t)(p->payload_off - p->l4_off);
	struct rte_mbuf *m;
	uint8_t *o, *oip, *th;

	if (len > UINT16_MAX || (m = rte_pktmbuf_alloc(mp)) == NULL)
		return NULL;
	o = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(len < 60 ? 60 : len));
	if (o == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (len < 60)
		memset(o + len, 0, 60 - len);
	memcpy(o, frame, hdr);
	if (plen != 0)
		memcpy(o + hdr, payload, plen);
	oip = o + p->l3_off;
	th = o + p->l4_off;
	if (p->ip_ver == 4) {
		uint16_t ihl = (uint16_t)((oip[0] & 0x0f) * 4);

		tg_wr16(oip + 2, (uint16_t)(p->l4_off - p->l3_off + thl + plen));
		oip[10] = oip[11] = 0;
		tg_wr16(oip + 10, tg_csum_fold(tg_csum_partial(oip, ihl, 0)));
	} else {
		tg_wr16(oip + 4, (uint16_t)(p->l4_off - p->l3_off - IP6_HLEN + thl + plen));
	}
	tg_wr32(th + 4, seq);
	th[13] = flags;
	tcp_csum(oip, p->ip_ver, o + p->ip6_dst_off, th, (uint32_t)thl + plen);
	return m;
}

struct rte_mbuf *
tg_craft_rst(struct rte_mempool *mp, const uint8_t *frame, const struct tg_pkt *p, bool back,
	     uint32_t seq, bool ack_valid, uint32_t ack)
{
	const struct tg_craft_tcp h = {
		.seq = seq,
		.ack = ack_valid ? ack : 0,
		.flags = TG_TCP_RST | (ack_valid ? TG_TCP_ACK : 0),
	};

	return tg_craft_seg(mp, frame, p, back, &h, NULL, 0);
}
