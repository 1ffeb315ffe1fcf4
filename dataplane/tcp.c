/* SPDX-License-Identifier: MIT */
/*
 * tcp.c — TCP session tracking for protected flows. See tcp.h.
 */
#include "csum.h"
#include "tcp.h"
#include "wire.h"

const char *const tg_tcp_counter_names[TG_TCP_CNT_MAX] = {
#define NAME(e, n, d) [TG_TCP_CNT_##e] = n,
	TG_TCP_COUNTERS(NAME)
#undef NAME
};

#define CNT(ctx, c) ((ctx)->cnt[TG_TCP_CNT_##c]++)
#define DROP(ctx, c) (CNT(ctx, c), TG_TCP_DROP)

/* RFC 7323 2.3: a shift above 14 is used as 14. */
#define WSCALE_MAX 14

static void
side_syn(struct tg_tcp_side *s, const struct tg_pkt *p)
{
	s->isn = p->tcp_seq;
	s->syn = 1;
	s->ws = !!(p->tcp_opts & TG_TCP_OPT_WSCALE);
	s->wscale = s->ws ? (p->tcp_wscale > WSCALE_MAX ? WSCALE_MAX : p->tcp_wscale) : 0;
	s->sack_perm = !!(p->tcp_opts & TG_TCP_OPT_SACK_PERM);
	s->ts = !!(p->tcp_opts & TG_TCP_OPT_TS);
	s->mss = (p->tcp_opts & TG_TCP_OPT_MSS) ? p->tcp_mss : 536;
}

/*
 * The window this segment advertises (for the other direction's data), in
 * bytes, after clamping it to the reassembly ring: the field is rewritten
 * and the checksum patched when it is larger. SYN windows are never scaled
 * (RFC 7323 2.2).
 */
static uint64_t
clamp_window(struct tg_tcp_ctx *ctx, const struct tg_flow *f, int dir, uint8_t *frame,
	     const struct tg_pkt *p)
{
	unsigned int shift = 0;
	uint64_t ring = ctx->mem->ring_size, win;
	uint8_t *th = frame + p->l4_off;
	uint16_t nw, c;

	if (!(p->tcp_flags & TG_TCP_SYN) && f->wscale_ok)
		shift = f->side[dir].wscale;
	win = (uint64_t)p->tcp_win << shift;
	if (win <= ring)
		return win;
	/* never 0: a ring smaller than one scaled unit still lets a segment through */
	nw = (uint16_t)((ring >> shift) > 0xffff ? 0xffff : ((ring >> shift) ? (ring >> shift) : 1));
	c = tg_csum_adjust(tg_rd16(th + 16), p->tcp_win, nw);
	tg_wr16(th + 14, nw);
	tg_wr16(th + 16, c);
	CNT(ctx, WINDOW_CLAMPED);
	return (uint64_t)nw << shift;
}

static enum tg_tcp_verdict
rst(struct tg_tcp_ctx *ctx, struct tg_flow *f, int dir, const struct tg_pkt *p)
{
	const struct tg_stream *s = &f->stream[dir];
	int64_t off;

	if (f->state == TG_TCP_SYN_SENT) {
		/* RFC 9293 3.10.7.3: in SYN-SENT only a RST that ACKs the SYN */
		if (dir == 1 && (p->tcp_flags & TG_TCP_ACK) && p->tcp_ack == f->side[0].isn + 1)
			goto accept;
		return DROP(ctx, DROP_RST_WINDOW);
	}
	if (!f->side[dir].syn)
		return DROP(ctx, DROP_RST_WINDOW);
	/* [RCV.NXT, RCV.NXT + RCV.WND), or exactly RCV.NXT when the window is closed */
	off = tg_stream_offset(s, p->tcp_seq);
	if (off < (int64_t)s->base || ((uint64_t)off >= s->wnd_end && (uint64_t)off != s->base))
		return DROP(ctx, DROP_RST_WINDOW);
accept:
	f->state = TG_TCP_CLOSED;
	CNT(ctx, RST);
	return TG_TCP_CLOSE;
}

/*
 * Replaces a SACK-permitted option (kind 4, length 2; RFC 2018) by two
 * NOPs, the checksum patched for each 16-bit word of the header it
 * touches (the option may start at an odd offset).
 */
static void
strip_sack_perm(struct tg_tcp_ctx *ctx, uint8_t *frame, const struct tg_pkt *p)
{
	uint8_t *th = frame + p->l4_off;
	uint32_t hl = (uint32_t)(th[12] >> 4) * 4, i = 20, w;
	uint16_t c;

	while (i < hl) {
		uint8_t kind = th[i];

		if (kind == 0)
			return;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl || th[i + 1] < 2 || i + th[i + 1] > hl)
			return;
		if (kind == 4 && th[i + 1] == 2) {
			c = tg_rd16(th + 16);
			for (w = i & ~1u; w <= ((i + 1) & ~1u); w += 2) {
				uint16_t old = tg_rd16(th + w);

				if (w == i || w + 1 == i)
					th[i] = 1;
				if (w == i + 1 || w + 1 == i + 1)
					th[i + 1] = 1;
				c = tg_csum_adjust(c, old, tg_rd16(th + w));
			}
			tg_wr16(th + 16, c);
			CNT(ctx, SACK_STRIPPED);
			return;
		}
		i += th[i + 1];
	}
}

static enum tg_tcp_verdict
syn(struct tg_tcp_ctx *ctx, struct tg_flow *f, int dir, uint8_t *frame, const struct tg_pkt *p)
{
	struct tg_tcp_side *me = &f->side[dir], *peer = &f->side[!dir];

	if (p->payload_len)
		return DROP(ctx, DROP_SYN_DATA);
	if (p->tcp_opts & TG_TCP_OPT_SACK_PERM)
		strip_sack_perm(ctx, frame, p);

	if (!(p->tcp_flags & TG_TCP_ACK)) {
		if (me->syn) {
			if (p->tcp_seq != me->isn || f->state > TG_TCP_SYN_RCVD)
				return DROP(ctx, DROP_SYN_BAD);
			CNT(ctx, SYN_RETRANS);
		} else if (dir == 0 && f->state == TG_TCP_NONE) {
			side_syn(me, p);
			tg_stream_init(&f->stream[0], p->tcp_seq + 1);
			f->state = TG_TCP_SYN_SENT;
			CNT(ctx, SYN);
		} else if (dir == 1 && f->state == TG_TCP_SYN_SENT) {
			/* crossing SYNs, RFC 9293 3.5 figure 8 */
			side_syn(me, p);
			tg_stream_init(&f->stream[1], p->tcp_seq + 1);
			f->wscale_ok = me->ws && peer->ws;
			f->state = TG_TCP_SYN_RCVD;
			CNT(ctx, SIMUL_OPEN);
		} else {
			return DROP(ctx, DROP_SYN_BAD);
		}
		clamp_window(ctx, f, dir, frame, p);
		return TG_TCP_FORWARD;
	}

	/* SYN-ACK: must ACK the other side's SYN */
	if (!peer->syn || p->tcp_ack != peer->isn + 1)
		return DROP(ctx, DROP_SYN_BAD);
	if (!me->syn) {
		if (f->state != TG_TCP_SYN_SENT)
			return DROP(ctx, DROP_SYN_BAD);
		side_syn(me, p);
		tg_stream_init(&f->stream[dir], p->tcp_seq + 1);
		f->state = TG_TCP_SYN_RCVD;
		CNT(ctx, SYNACK);
	} else if (p->tcp_seq != me->isn) {
		return DROP(ctx, DROP_SYN_BAD);
	} else if (peer->syn_acked) {
		CNT(ctx, SYN_RETRANS);
	} else {
		CNT(ctx, SYNACK);
	}
	f->wscale_ok = me->ws && peer->ws;
	peer->syn_acked = 1;
	tg_stream_ack(ctx->mem, &f->stream[!dir], p->tcp_ack, clamp_window(ctx, f, dir, frame, p));
	if (me->syn_acked && peer->syn_acked && f->state < TG_TCP_ESTABLISHED) {
		f->state = TG_TCP_ESTABLISHED;
		CNT(ctx, ESTABLISHED);
	}
	return TG_TCP_FORWARD;
}

/* The ACK of a segment in direction dir, for the data of direction !dir. */
static int
ack(struct tg_tcp_ctx *ctx, struct tg_flow *f, int dir, uint8_t *frame, const struct tg_pkt *p)
{
	struct tg_tcp_side *peer = &f->side[!dir];
	struct tg_stream *s = &f->stream[!dir];
	uint64_t win = clamp_window(ctx, f, dir, frame, p);

	if (!peer->syn_acked && p->tcp_ack == peer->isn + 1) {
		peer->syn_acked = 1;
		if (f->side[dir].syn_acked && f->state == TG_TCP_SYN_RCVD) {
			f->state = TG_TCP_ESTABLISHED;
			CNT(ctx, ESTABLISHED);
		}
	}
	if (!peer->syn_acked)
		return -1;
	if (tg_stream_ack(ctx->mem, s, p->tcp_ack, win) < 0)
		return -1;
	if (s->fin_released && s->fin_off != UINT64_MAX &&
	    tg_stream_offset(s, p->tcp_ack) == (int64_t)s->fin_off + 1)
		peer->fin_acked = 1;
	if (f->side[0].fin_acked && f->side[1].fin_acked)
		f->state = TG_TCP_CLOSED;
	return 0;
}

enum tg_tcp_verdict
tg_tcp_packet(struct tg_tcp_ctx *ctx, struct tg_flow *f, int dir, uint8_t *frame,
	      const struct tg_pkt *p, void *pkt)
{
	struct tg_stream_seg seg;
	enum tg_stream_verdict v;
	uint8_t fl = p->tcp_flags;
	bool fin = fl & TG_TCP_FIN;

	if (!tg_pkt_l4_csum_ok(frame, p))
		return DROP(ctx, DROP_CSUM);
	if (f->state == TG_TCP_CLOSED)
		return DROP(ctx, DROP_CLOSED);
	if (fl & TG_TCP_RST)
		return rst(ctx, f, dir, p);
	if (fl & TG_TCP_SYN)
		return syn(ctx, f, dir, frame, p);
	if (f->state < TG_TCP_SYN_RCVD || !(fl & TG_TCP_ACK) || !f->side[dir].syn)
		return DROP(ctx, DROP_NO_HANDSHAKE);
	if (ack(ctx, f, dir, frame, p) < 0)
		return DROP(ctx, DROP_BAD_ACK);
	if (p->payload_len == 0 && !fin)
		return TG_TCP_FORWARD;
	if (f->state < TG_TCP_ESTABLISHED)
		return DROP(ctx, DROP_NO_HANDSHAKE);

	seg = (struct tg_stream_seg){
		.pkt = pkt,
		.payload = frame + p->payload_off,
		.csum = frame + p->l4_off + 16,
		.seq = p->tcp_seq,
		.len = p->payload_len,
		.fin = fin,
	};
	v = tg_stream_segment(ctx->mem, &f->stream[dir], &seg, ctx->consumer[dir]);
	if (v == TG_STREAM_DROP)
		return TG_TCP_DROP;
	if (v == TG_STREAM_EXCEPTION)
		return TG_TCP_EXCEPTION;
	if (fin && !f->side[dir].fin) {
		f->side[dir].fin = 1;
		CNT(ctx, FIN);
		if (f->state == TG_TCP_ESTABLISHED)
			f->state = TG_TCP_CLOSING;
	}
	return v == TG_STREAM_HOLD ? TG_TCP_HOLD : TG_TCP_FORWARD;
}

enum tg_flow_class
tg_tcp_class(const struct tg_flow *f)
{
	switch (f->state) {
	case TG_TCP_ESTABLISHED:
		return TG_FLOW_ESTABLISHED;
	case TG_TCP_CLOSING:
		return TG_FLOW_CLOSING;
	case TG_TCP_CLOSED:
		return TG_FLOW_CLOSED;
	default:
		return TG_FLOW_EMBRYONIC;
	}
}
