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

struct rte_mbuf *
tg_craft_rst(struct rte_mempool *mp, const uint8_t *frame, const struct tg_pkt *p, bool back,
	     uint32_t seq, bool ack_valid, uint32_t ack)
{
	const uint8_t *ip = frame + p->l3_off;
	uint16_t l3 = p->ip_ver == 4 ? IP4_HLEN : IP6_HLEN;
	uint16_t len = (uint16_t)(p->l3_off + l3 + TCP_HLEN);
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *o, *oip, *th;
	uint32_t sum;
	int i;

	if (m == NULL)
		return NULL;
	o = (uint8_t *)rte_pktmbuf_append(m, len < 60 ? 60 : len);
	if (o == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(o, 0, len < 60 ? 60 : len);
	/* Ethernet and VLAN tags as they were, the MACs swapped when going back */
	for (i = 0; i < 6; i++) {
		o[i] = frame[back ? 6 + i : i];
		o[6 + i] = frame[back ? i : 6 + i];
	}
	memcpy(o + 12, frame + 12, p->l3_off - 12u);
	oip = o + p->l3_off;
	th = oip + l3;
	if (p->ip_ver == 4) {
		oip[0] = 0x45;
		tg_wr16(oip + 2, IP4_HLEN + TCP_HLEN);
		tg_wr16(oip + 6, 0x4000);	/* DF */
		oip[8] = 64;
		oip[9] = 6;
		memcpy(oip + 12, ip + (back ? 16 : 12), 4);
		memcpy(oip + 16, ip + (back ? 12 : 16), 4);
		tg_wr16(oip + 10, tg_csum_fold(tg_csum_partial(oip, IP4_HLEN, 0)));
		sum = tg_csum_partial(oip + 12, 8, 0);
	} else {
		oip[0] = 0x60;
		tg_wr16(oip + 4, TCP_HLEN);
		oip[6] = 6;
		oip[7] = 64;
		memcpy(oip + 8, ip + (back ? 24 : 8), 16);
		memcpy(oip + 24, ip + (back ? 8 : 24), 16);
		sum = tg_csum_partial(oip + 8, 32, 0);
	}
	tg_wr16(th, back ? p->dport : p->sport);
	tg_wr16(th + 2, back ? p->sport : p->dport);
	tg_wr32(th + 4, seq);
	tg_wr32(th + 8, ack_valid ? ack : 0);
	th[12] = 5 << 4;
	th[13] = TG_TCP_RST | (ack_valid ? TG_TCP_ACK : 0);
	sum += 6 + TCP_HLEN;
	tg_wr16(th + 16, tg_csum_fold(tg_csum_partial(th, TCP_HLEN, sum)));
	return m;
}
