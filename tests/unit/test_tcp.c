/* SPDX-License-Identifier: MIT */
/*
 * test_tcp.c — unit tests of TCP session tracking (tcp.c), driven with
 * whole frames through the parser, as the worker drives it.
 *
 * The harness:
 * - a frame is Ethernet, IPv4 (or IPv6), TCP with options, payload, built
 *   by build() from a struct seg and checksummed with csum.h. The client is
 *   192.0.2.1:40000 (2001:db8::1), the server 198.51.100.2:5432
 *   (2001:db8:1::2); direction 0 is client to server, 1 server to client.
 *   Each frame is one heap block of exactly its length (behind a small
 *   header), so ASan reports any read or write past it;
 * - every frame is parsed with tg_pkt_parse() and handed to tg_tcp_packet()
 *   with the frame block as the packet handle, on a zeroed struct tg_flow
 *   and a small tg_stream_mem;
 * - the wire: a frame the tracker sends on (FORWARD, CLOSE, or released
 *   from a HOLD by tg_stream_release()) is parsed again and its TCP
 *   checksum verified, since the tracker may have rewritten its window and
 *   its payload.
 *
 * Sequence numbers are written as ISN + offset, like a capture with
 * relative sequence numbers; frame comments say what each decodes to.
 * Every case is deterministic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csum.h"
#include "flow.h"
#include "pkt.h"
#include "stream.h"
#include "tcp.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SYN TG_TCP_SYN
#define ACK TG_TCP_ACK
#define FIN TG_TCP_FIN
#define RST TG_TCP_RST
#define PSH TG_TCP_PSH

#define TCNT(h, c) ((h)->ctx.cnt[TG_TCP_CNT_##c])
#define SCNT(h, c) ((h)->mem.cnt[TG_STREAM_CNT_##c])

#define ETH_HLEN 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define TCP_HLEN 20

/* The ISNs most cases use: client 1000, server 5000. */
#define C_ISN 1000u
#define S_ISN 5000u

/* ---------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------- */

/* One segment to build; opts are TG_TCP_OPT_* to include. */
struct seg {
	int dir;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	uint8_t opts;
	uint16_t mss;
	uint8_t wscale;
	const uint8_t *data;
	uint16_t len;
};

struct frame {
	struct frame *next; /* every live frame, for the teardown */
	uint32_t len;
	uint8_t b[]; /* the frame, nothing after it */
};

static const uint8_t mac_c[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_s[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t ip4_c[4] = { 192, 0, 2, 1 };
static const uint8_t ip4_s[4] = { 198, 51, 100, 2 };
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

static void
wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/*
 * Options in a fixed order, each padded to 4 bytes with NOPs:
 *   MSS (02 04 mss), NOP NOP SACK-permitted (04 02),
 *   NOP NOP timestamps (08 0a tsval tsecr), NOP window scale (03 03 ws).
 */
static unsigned int
put_opts(uint8_t *o, const struct seg *s)
{
	unsigned int n = 0;

	if (s->opts & TG_TCP_OPT_MSS) {
		o[n++] = 2;
		o[n++] = 4;
		wr16(o + n, s->mss);
		n += 2;
	}
	if (s->opts & TG_TCP_OPT_SACK_PERM) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 4;
		o[n++] = 2;
	}
	if (s->opts & TG_TCP_OPT_TS) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 8;
		o[n++] = 10;
		wr32(o + n, 12345);
		wr32(o + n + 4, 0);
		n += 8;
	}
	if (s->opts & TG_TCP_OPT_WSCALE) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = s->wscale;
	}
	return n;
}

static struct frame *live_frames;

/* Builds one frame; the caller's struct frame stays live until the teardown. */
static struct frame *
build(const struct seg *s, bool v6)
{
	uint8_t opts[40], *ip, *th;
	unsigned int olen = put_opts(opts, s);
	unsigned int l3 = v6 ? IP6_HLEN : IP4_HLEN;
	unsigned int tcplen = TCP_HLEN + olen + s->len;
	uint32_t len = ETH_HLEN + l3 + tcplen, sum;
	struct frame *f = malloc(offsetof(struct frame, b) + len);
	const uint8_t *src, *dst;
	size_t alen = v6 ? 16 : 4;

	assert_non_null(f);
	f->next = live_frames;
	live_frames = f;
	f->len = len;
	memset(f->b, 0, len);

	/* Ethernet */
	memcpy(f->b, s->dir ? mac_c : mac_s, 6);
	memcpy(f->b + 6, s->dir ? mac_s : mac_c, 6);
	wr16(f->b + 12, v6 ? 0x86dd : 0x0800);

	ip = f->b + ETH_HLEN;
	if (v6) {
		src = s->dir ? ip6_s : ip6_c;
		dst = s->dir ? ip6_c : ip6_s;
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)tcplen);
		ip[6] = 6; /* next header TCP */
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		src = s->dir ? ip4_s : ip4_c;
		dst = s->dir ? ip4_c : ip4_s;
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(l3 + tcplen));
		wr16(ip + 4, 0x1234);
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		wr16(ip + 10, tg_csum_fold(tg_csum_partial(ip, IP4_HLEN, 0)));
	}

	th = ip + l3;
	wr16(th, s->dir ? PORT_S : PORT_C);
	wr16(th + 2, s->dir ? PORT_C : PORT_S);
	wr32(th + 4, s->seq);
	wr32(th + 8, s->ack);
	th[12] = (uint8_t)(((TCP_HLEN + olen) / 4) << 4);
	th[13] = s->flags;
	wr16(th + 14, s->win);
	memcpy(th + TCP_HLEN, opts, olen);
	if (s->len)
		memcpy(th + TCP_HLEN + olen, s->data, s->len);
	/* RFC 9293 3.1 pseudo-header: addresses, zero, protocol, TCP length */
	sum = tg_csum_partial(src, alen, 0);
	sum = tg_csum_partial(dst, alen, sum);
	sum += 6 + tcplen;
	wr16(th + 16, tg_csum_fold(tg_csum_partial(th, tcplen, sum)));
	return f;
}

static void
free_frames(void)
{
	while (live_frames) {
		struct frame *f = live_frames;

		live_frames = f->next;
		free(f);
	}
}

/* Parses f again and checks the TCP checksum: what a receiver would do. */
static void
check_wire(const struct frame *f)
{
	struct tg_pkt p;

	assert_int_equal(tg_pkt_parse(f->b, f->len, &p), TG_PKT_OK);
	if (!tg_pkt_l4_csum_ok(f->b, &p))
		fail_msg("frame seq %u sent on with a wrong TCP checksum", p.tcp_seq);
}

static uint16_t
frame_win(const struct frame *f)
{
	struct tg_pkt p;

	assert_int_equal(tg_pkt_parse(f->b, f->len, &p), TG_PKT_OK);
	return p.tcp_win;
}

/* ---------------------------------------------------------------------
 * Harness
 * ------------------------------------------------------------------- */

struct harness {
	struct tg_stream_mem mem;
	struct tg_tcp_ctx ctx;
	struct tg_flow f;
	bool v6;
	struct frame *last; /* the last frame handed to the tracker */
	uint32_t isn[2];    /* per direction, for sq() */
};

static struct harness *live_h;

static struct harness *
h_new(uint32_t ring_size, bool v6)
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	live_h = h;
	assert_int_equal(tg_stream_mem_init(&h->mem, 4, ring_size, 16), 0);
	h->ctx.mem = &h->mem;
	h->v6 = v6;
	h->isn[0] = C_ISN;
	h->isn[1] = S_ISN;
	return h;
}

static int
teardown(void **state)
{
	(void)state;
	if (live_h) {
		tg_stream_mem_free(&live_h->mem);
		free(live_h);
		live_h = NULL;
	}
	free_frames();
	return 0;
}

/* Sequence number of byte off of direction dir (off 0 is the byte after the SYN). */
static uint32_t
sq(const struct harness *h, int dir, uint32_t off)
{
	return h->isn[dir] + 1 + off;
}

static enum tg_tcp_verdict
h_seg(struct harness *h, const struct seg *s)
{
	struct frame *f = build(s, h->v6);
	enum tg_tcp_verdict v;
	struct tg_pkt p;

	assert_int_equal(tg_pkt_parse(f->b, f->len, &p), TG_PKT_OK);
	assert_true(tg_pkt_l4_csum_ok(f->b, &p));
	h->last = f;
	v = tg_tcp_packet(&h->ctx, &h->f, s->dir, f->b, &p, f);
	if (v == TG_TCP_FORWARD || v == TG_TCP_CLOSE)
		check_wire(f);
	return v;
}

/* A segment without options. */
static enum tg_tcp_verdict
h_tx(struct harness *h, int dir, uint8_t flags, uint32_t seq, uint32_t ackn, uint16_t win,
     const void *data, uint16_t len)
{
	const struct seg s = {
		.dir = dir,
		.flags = flags,
		.seq = seq,
		.ack = ackn,
		.win = win,
		.data = data,
		.len = len,
	};

	return h_seg(h, &s);
}

/* Data (PSH|ACK) at offset off of dir, ACKing offset ackoff of the other side. */
static enum tg_tcp_verdict
h_data(struct harness *h, int dir, uint32_t off, uint32_t ackoff, const void *data, uint16_t len)
{
	return h_tx(h, dir, PSH | ACK, sq(h, dir, off), sq(h, !dir, ackoff), 1000, data, len);
}

/* A pure ACK from dir of offset ackoff of the other side, at its own offset off. */
static enum tg_tcp_verdict
h_ack(struct harness *h, int dir, uint32_t off, uint32_t ackoff, uint16_t win)
{
	return h_tx(h, dir, ACK, sq(h, dir, off), sq(h, !dir, ackoff), win, NULL, 0);
}

/*
 * Pops what direction dir may release, checks each packet's checksum, and
 * returns how many left; want is the frame expected first (or NULL).
 */
static unsigned int
h_release(struct harness *h, int dir, const struct frame *want)
{
	void *pkts[8];
	unsigned int n, i;

	n = tg_stream_release(&h->mem, &h->f.stream[dir], pkts, ARRAY_SIZE(pkts));
	for (i = 0; i < n; i++)
		check_wire(pkts[i]);
	if (want != NULL) {
		assert_true(n >= 1);
		assert_ptr_equal(pkts[0], want);
	}
	return n;
}

static const struct seg syn_full = {
	/* SYN 40000 > 5432, seq 1000, win 64240, MSS 1460, SACK-perm, TS, wscale 7 */
	.dir = 0,
	.flags = SYN,
	.seq = C_ISN,
	.win = 64240,
	.opts = TG_TCP_OPT_MSS | TG_TCP_OPT_SACK_PERM | TG_TCP_OPT_TS | TG_TCP_OPT_WSCALE,
	.mss = 1460,
	.wscale = 7,
};

static const struct seg synack_full = {
	/* SYN|ACK 5432 > 40000, seq 5000, ack 1001, win 65160, MSS 1400, SACK-perm, TS, wscale 8 */
	.dir = 1,
	.flags = SYN | ACK,
	.seq = S_ISN,
	.ack = C_ISN + 1,
	.win = 65160,
	.opts = TG_TCP_OPT_MSS | TG_TCP_OPT_SACK_PERM | TG_TCP_OPT_TS | TG_TCP_OPT_WSCALE,
	.mss = 1400,
	.wscale = 8,
};

/*
 * The three-way handshake with the given SYN and SYN-ACK (ISNs from
 * h->isn), then the client's ACK with window win3; ends ESTABLISHED.
 */
static void
h_handshake_with(struct harness *h, struct seg syn, struct seg synack, uint16_t win3)
{
	syn.seq = h->isn[0];
	synack.seq = h->isn[1];
	synack.ack = h->isn[0] + 1;
	assert_int_equal(h_seg(h, &syn), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_SENT);
	assert_int_equal(h_seg(h, &synack), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_int_equal(h_ack(h, 0, 0, 0, win3), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
}

/* Handshake without options (no window scaling): windows are bytes. */
static void
h_handshake(struct harness *h, uint16_t win_c, uint16_t win_s)
{
	struct seg syn = { .dir = 0, .flags = SYN, .win = win_c };
	struct seg synack = { .dir = 1, .flags = SYN | ACK, .win = win_s };

	h_handshake_with(h, syn, synack, win_c);
}

static uint8_t payload[4096];

static void
fill_payload(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)('a' + i % 26);
}

/* ---------------------------------------------------------------------
 * Handshake
 * ------------------------------------------------------------------- */

/*
 * SYN (MSS 1460, SACK-perm, TS, wscale 7), SYN-ACK (MSS 1400, SACK-perm,
 * TS, wscale 8), ACK: each step's state and class, both sides' ISNs and
 * options, both streams started at ISN + 1, the counters.
 */
static void
test_handshake(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;

	(void)state;
	assert_int_equal(tg_tcp_class(f), TG_FLOW_EMBRYONIC);
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_SYN_SENT);
	assert_int_equal(tg_tcp_class(f), TG_FLOW_EMBRYONIC);
	assert_int_equal(f->side[0].isn, C_ISN);
	assert_int_equal(f->stream[0].isn1, C_ISN + 1);
	assert_int_equal(TCNT(h, SYN), 1);

	assert_int_equal(h_seg(h, &synack_full), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_SYN_RCVD);
	assert_int_equal(tg_tcp_class(f), TG_FLOW_EMBRYONIC);
	assert_int_equal(f->side[1].isn, S_ISN);
	assert_int_equal(f->stream[1].isn1, S_ISN + 1);
	assert_true(f->side[0].syn_acked);
	assert_false(f->side[1].syn_acked);
	assert_int_equal(TCNT(h, SYNACK), 1);
	/* the SYN-ACK's window is never scaled (RFC 7323 2.2): 65160 bytes */
	assert_int_equal(f->stream[0].wnd_end, 65160);

	/* ACK 40000 > 5432, seq 1001, ack 5001, win 502 (x128 = 64256 bytes) */
	assert_int_equal(h_ack(h, 0, 0, 0, 502), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_ESTABLISHED);
	assert_int_equal(tg_tcp_class(f), TG_FLOW_ESTABLISHED);
	assert_true(f->side[1].syn_acked);
	assert_int_equal(TCNT(h, ESTABLISHED), 1);
	assert_int_equal(f->stream[1].wnd_end, 502u << 7);

	assert_true(f->side[0].syn && f->side[1].syn);
	assert_int_equal(f->side[0].mss, 1460);
	assert_int_equal(f->side[1].mss, 1400);
	assert_true(f->side[0].ws && f->side[1].ws);
	assert_int_equal(f->side[0].wscale, 7);
	assert_int_equal(f->side[1].wscale, 8);
	assert_true(f->wscale_ok);
	assert_true(f->side[0].sack_perm && f->side[1].sack_perm);
	assert_true(f->side[0].ts && f->side[1].ts);
	assert_false(f->side[0].fin || f->side[1].fin);
	assert_int_equal(TCNT(h, SYN_RETRANS), 0);
	assert_int_equal(TCNT(h, SIMUL_OPEN), 0);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 0);
}

/* No options at all: MSS 536 (RFC 9293 3.7.1), no scaling, no SACK, no TS. */
static void
test_handshake_no_options(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;
	int d;

	(void)state;
	h_handshake(h, 64000, 65000);
	for (d = 0; d < 2; d++) {
		assert_int_equal(f->side[d].mss, 536);
		assert_false(f->side[d].ws);
		assert_int_equal(f->side[d].wscale, 0);
		assert_false(f->side[d].sack_perm);
		assert_false(f->side[d].ts);
	}
	assert_false(f->wscale_ok);
	/* unscaled windows, in bytes */
	assert_int_equal(f->stream[0].wnd_end, 65000);
	assert_int_equal(f->stream[1].wnd_end, 64000);
}

/*
 * Window scaling is in effect only when both SYNs carry the option
 * (RFC 7323 2.2): with one side only, every later window is taken and
 * clamped as bytes, not shifted.
 */
static void
test_handshake_wscale_one_side(void **state)
{
	struct harness *h = h_new(4096, false);
	struct tg_flow *f = &h->f;
	struct seg syn = syn_full, synack = synack_full;

	(void)state;
	/* the client offers wscale 7, the server answers without it */
	synack.opts &= (uint8_t)~TG_TCP_OPT_WSCALE;
	h_handshake_with(h, syn, synack, 100);
	assert_true(f->side[0].ws);
	assert_int_equal(f->side[0].wscale, 7);
	assert_false(f->side[1].ws);
	assert_false(f->wscale_ok);
	/* 100 from the client is 100 bytes, not 12800 */
	assert_int_equal(f->stream[1].wnd_end, 100);
	assert_int_equal(frame_win(h->last), 100);

	/* 0xffff from the client: 65535 bytes, clamped to the 4096-byte ring, not to 4096 >> 7 */
	assert_int_equal(h_ack(h, 0, 0, 0, 0xffff), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 4096);
	assert_int_equal(f->stream[1].wnd_end, 4096);

	/* and the other way round: the server offers, the client did not */
	teardown(NULL);
	h = h_new(4096, false);
	f = &h->f;
	syn = syn_full;
	syn.opts &= (uint8_t)~TG_TCP_OPT_WSCALE;
	h_handshake_with(h, syn, synack_full, 100);
	assert_false(f->side[0].ws);
	assert_true(f->side[1].ws);
	assert_false(f->wscale_ok);
	assert_int_equal(h_ack(h, 1, 0, 0, 3000), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 3000);
	assert_int_equal(f->stream[0].wnd_end, 4096); /* the SYN-ACK's window, clamped */
}

/* A shift above 14 is used as 14 (RFC 7323 2.3). */
static void
test_handshake_wscale_max(void **state)
{
	struct harness *h = h_new(65536, false);
	struct seg syn = syn_full, synack = synack_full;

	(void)state;
	syn.wscale = 15;
	synack.wscale = 255;
	h_handshake_with(h, syn, synack, 2);
	assert_int_equal(h->f.side[0].wscale, 14);
	assert_int_equal(h->f.side[1].wscale, 14);
	assert_true(h->f.wscale_ok);
	/* 2 << 14 = 32768 bytes */
	assert_int_equal(h->f.stream[1].wnd_end, 32768);
}

/*
 * SYN retransmissions: the same ISN is counted and sent on while the
 * handshake is open; another ISN, or a SYN once established, is dropped.
 */
static void
test_syn_retransmit(void **state)
{
	struct harness *h = h_new(65536, false);
	struct seg syn = syn_full;

	(void)state;
	assert_int_equal(h_seg(h, &syn), TG_TCP_FORWARD);
	assert_int_equal(h_seg(h, &syn), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_SENT);
	assert_int_equal(TCNT(h, SYN), 1);
	assert_int_equal(TCNT(h, SYN_RETRANS), 1);

	/* SYN 40000 > 5432, seq 7777: not this session's ISN */
	syn.seq = 7777;
	assert_int_equal(h_seg(h, &syn), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_SYN_BAD), 1);
	assert_int_equal(h->f.side[0].isn, C_ISN);

	/* still a retransmission after the SYN-ACK */
	assert_int_equal(h_seg(h, &synack_full), TG_TCP_FORWARD);
	syn.seq = C_ISN;
	assert_int_equal(h_seg(h, &syn), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_int_equal(TCNT(h, SYN_RETRANS), 2);

	/* not once established */
	assert_int_equal(h_ack(h, 0, 0, 0, 1000), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	assert_int_equal(h_seg(h, &syn), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_SYN_BAD), 2);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	assert_int_equal(TCNT(h, SYN), 1);
}

/*
 * SYN-ACK retransmissions, before and after the client's ACK, are counted
 * and sent on; a SYN-ACK with another ISN is dropped.
 */
static void
test_synack_retransmit(void **state)
{
	struct harness *h = h_new(65536, false);
	struct seg synack = synack_full;

	(void)state;
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_FORWARD);
	assert_int_equal(h_seg(h, &synack), TG_TCP_FORWARD);
	assert_int_equal(h_seg(h, &synack), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_int_equal(TCNT(h, SYNACK), 1);
	assert_int_equal(TCNT(h, SYN_RETRANS), 1);

	assert_int_equal(h_ack(h, 0, 0, 0, 1000), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	/* the client's ACK was lost: the server retransmits */
	assert_int_equal(h_seg(h, &synack), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	assert_int_equal(TCNT(h, SYN_RETRANS), 2);
	assert_int_equal(TCNT(h, ESTABLISHED), 1);

	/* SYN|ACK 5432 > 40000, seq 9999, ack 1001: another ISN */
	synack.seq = 9999;
	assert_int_equal(h_seg(h, &synack), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_SYN_BAD), 1);
	assert_int_equal(h->f.side[1].isn, S_ISN);
}

/* TCP Fast Open: a SYN (or SYN-ACK) carrying data is dropped. */
static void
test_syn_data(void **state)
{
	struct harness *h = h_new(65536, false);
	struct seg syn = syn_full, synack = synack_full;

	(void)state;
	/* SYN 40000 > 5432, seq 1000, 16 bytes of payload */
	syn.data = payload;
	syn.len = 16;
	assert_int_equal(h_seg(h, &syn), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_SYN_DATA), 1);
	assert_int_equal(h->f.state, TG_TCP_NONE);
	assert_false(h->f.side[0].syn);
	assert_int_equal(TCNT(h, SYN), 0);

	/* the client retries without data */
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_SENT);
	/* SYN|ACK with 16 bytes */
	synack.data = payload;
	synack.len = 16;
	assert_int_equal(h_seg(h, &synack), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_SYN_DATA), 2);
	assert_int_equal(h->f.state, TG_TCP_SYN_SENT);
	assert_false(h->f.side[1].syn);
	assert_int_equal(h_seg(h, &synack_full), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
}

/* A SYN-ACK must ACK the SYN exactly (ISN + 1). */
static void
test_synack_bad_ack(void **state)
{
	struct harness *h = h_new(65536, false);
	static const uint32_t bad[] = { C_ISN, C_ISN + 2, 0, C_ISN + 0x80000000u };
	struct seg synack = synack_full;
	unsigned int i;

	(void)state;
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_FORWARD);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		synack.ack = bad[i];
		assert_int_equal(h_seg(h, &synack), TG_TCP_DROP);
		assert_int_equal(TCNT(h, DROP_SYN_BAD), i + 1);
		assert_int_equal(h->f.state, TG_TCP_SYN_SENT);
		assert_false(h->f.side[1].syn);
		assert_false(h->f.side[0].syn_acked);
	}
	/* the right SYN-ACK is still taken */
	assert_int_equal(h_seg(h, &synack_full), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_int_equal(TCNT(h, SYNACK), 1);
}

/* Steps that fit no handshake: server SYN or SYN-ACK first, client SYN-ACK first. */
static void
test_syn_out_of_place(void **state)
{
	struct harness *h = h_new(65536, false);
	struct seg s;

	(void)state;
	/* SYN 5432 > 40000 with no session: servers do not open */
	s = (struct seg){ .dir = 1, .flags = SYN, .seq = S_ISN, .win = 1000 };
	assert_int_equal(h_seg(h, &s), TG_TCP_DROP);
	assert_int_equal(h_seg(h, &synack_full), TG_TCP_DROP);
	s = (struct seg){
		.dir = 0, .flags = SYN | ACK, .seq = C_ISN, .ack = S_ISN + 1, .win = 1000
	};
	assert_int_equal(h_seg(h, &s), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_SYN_BAD), 3);
	assert_int_equal(h->f.state, TG_TCP_NONE);
	/* nor a pure ACK or data */
	assert_int_equal(h_ack(h, 0, 0, 0, 1000), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_NO_HANDSHAKE), 1);
	assert_int_equal(h->f.state, TG_TCP_NONE);
}

/*
 * Simultaneous open (RFC 9293 3.5, figure 8): crossing SYNs, then each
 * side's SYN-ACK; then data both ways.
 */
static void
test_simultaneous_open(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;
	struct seg s;

	(void)state;
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_FORWARD);
	/* SYN 5432 > 40000, seq 5000, wscale 8 */
	s = synack_full;
	s.flags = SYN;
	s.ack = 0;
	assert_int_equal(h_seg(h, &s), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_SYN_RCVD);
	assert_int_equal(TCNT(h, SIMUL_OPEN), 1);
	assert_int_equal(f->side[1].isn, S_ISN);
	assert_int_equal(f->stream[1].isn1, S_ISN + 1);
	assert_true(f->wscale_ok);

	/* SYN|ACK 40000 > 5432, seq 1000, ack 5001 */
	s = syn_full;
	s.flags = SYN | ACK;
	s.ack = S_ISN + 1;
	assert_int_equal(h_seg(h, &s), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_SYN_RCVD);
	assert_true(f->side[1].syn_acked);
	/* SYN|ACK 5432 > 40000, seq 5000, ack 1001 */
	assert_int_equal(h_seg(h, &synack_full), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_ESTABLISHED);
	assert_int_equal(TCNT(h, SYNACK), 2);
	assert_int_equal(TCNT(h, ESTABLISHED), 1);
	assert_int_equal(TCNT(h, SYN), 1);

	/* data both ways */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	assert_int_equal(h_data(h, 1, 0, 10, payload, 20), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 1, h->last), 1);
	assert_int_equal(f->stream[0].base, 10);
}

/* Crossing SYNs completed by plain ACKs instead of SYN-ACKs. */
static void
test_simultaneous_open_acks(void **state)
{
	struct harness *h = h_new(65536, false);

	(void)state;
	assert_int_equal(h_tx(h, 0, SYN, C_ISN, 0, 1000, NULL, 0), TG_TCP_FORWARD);
	assert_int_equal(h_tx(h, 1, SYN, S_ISN, 0, 1000, NULL, 0), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_false(h->f.wscale_ok);
	assert_int_equal(h_ack(h, 0, 0, 0, 1000), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_int_equal(h_ack(h, 1, 0, 0, 1000), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	assert_int_equal(TCNT(h, ESTABLISHED), 1);
}

/*
 * No payload before the handshake completes: the client's data in
 * SYN-SENT, the server's in SYN-RCVD. The client's ACK may carry data:
 * it completes the handshake first.
 */
static void
test_data_before_handshake(void **state)
{
	struct harness *h = h_new(65536, false);

	(void)state;
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_FORWARD);
	/* PSH|ACK 40000 > 5432, seq 1001, ack 5001, 10 bytes */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 10), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_NO_HANDSHAKE), 1);
	assert_int_equal(h->f.state, TG_TCP_SYN_SENT);

	assert_int_equal(h_seg(h, &synack_full), TG_TCP_FORWARD);
	/* PSH|ACK 5432 > 40000, seq 5001, ack 1001, 10 bytes: the client has not ACKed */
	assert_int_equal(h_data(h, 1, 0, 0, payload, 10), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_NO_HANDSHAKE), 2);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_int_equal(h->f.stream[1].contiguous, 0);
	/* a FIN too */
	assert_int_equal(h_tx(h, 1, FIN | ACK, sq(h, 1, 0), sq(h, 0, 0), 1000, NULL, 0),
			 TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_NO_HANDSHAKE), 3);
	assert_false(h->f.side[1].fin);
	/* an ACK for the wrong SYN-ACK completes nothing */
	assert_int_equal(h_tx(h, 0, ACK, sq(h, 0, 0), S_ISN + 7, 1000, NULL, 0), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_BAD_ACK), 1);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);

	/* the client's third segment carries its first 10 bytes */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	assert_int_equal(h_release(h, 0, h->last), 1);
}

/* A wrong TCP checksum is dropped in every state, and changes nothing. */
static void
test_bad_csum(void **state)
{
	struct harness *h = h_new(65536, false);
	struct frame *fr;
	struct tg_pkt p;
	struct tg_flow before;

	(void)state;
	/* SYN with its checksum off by one */
	fr = build(&syn_full, false);
	assert_int_equal(tg_pkt_parse(fr->b, fr->len, &p), TG_PKT_OK);
	fr->b[p.l4_off + 17] ^= 1;
	assert_int_equal(tg_tcp_packet(&h->ctx, &h->f, 0, fr->b, &p, fr), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_CSUM), 1);
	assert_int_equal(h->f.state, TG_TCP_NONE);
	assert_int_equal(TCNT(h, SYN), 0);

	h_handshake(h, 1000, 1000);
	/* data whose payload changed after the checksum was computed */
	fr = build(&(struct seg){ .dir = 0,
				  .flags = PSH | ACK,
				  .seq = sq(h, 0, 0),
				  .ack = sq(h, 1, 0),
				  .win = 1000,
				  .data = payload,
				  .len = 10 },
		   false);
	assert_int_equal(tg_pkt_parse(fr->b, fr->len, &p), TG_PKT_OK);
	fr->b[p.payload_off + 3] ^= 0x20;
	memcpy(&before, &h->f, sizeof(before));
	assert_int_equal(tg_tcp_packet(&h->ctx, &h->f, 0, fr->b, &p, fr), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_CSUM), 2);
	assert_memory_equal(&before, &h->f, sizeof(before));
	assert_int_equal(SCNT(h, SEGS), 0);

	/* a RST with a wrong checksum does not close */
	fr = build(&(struct seg){ .dir = 1, .flags = RST, .seq = sq(h, 1, 0) }, false);
	assert_int_equal(tg_pkt_parse(fr->b, fr->len, &p), TG_PKT_OK);
	fr->b[p.l4_off + 16] ^= 0x80;
	assert_int_equal(tg_tcp_packet(&h->ctx, &h->f, 1, fr->b, &p, fr), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_CSUM), 3);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	assert_int_equal(TCNT(h, RST), 0);
}

/* ---------------------------------------------------------------------
 * Windows
 * ------------------------------------------------------------------- */

/*
 * Unscaled windows larger than the 4096-byte ring are rewritten to 4096,
 * with the checksum patched (check_wire verifies it); smaller ones are
 * left alone.
 */
static void
test_window_clamp(void **state)
{
	struct harness *h = h_new(4096, false);
	struct tg_flow *f = &h->f;

	(void)state;
	/* SYN, win 64240 -> 4096 */
	assert_int_equal(h_tx(h, 0, SYN, C_ISN, 0, 64240, NULL, 0), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 4096);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 1);
	/* SYN-ACK, win 4096: exactly the ring, untouched */
	assert_int_equal(h_tx(h, 1, SYN | ACK, S_ISN, C_ISN + 1, 4096, NULL, 0), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 4096);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 1);
	assert_int_equal(f->stream[0].wnd_end, 4096);
	/* ACK, win 4097 -> 4096 */
	assert_int_equal(h_ack(h, 0, 0, 0, 4097), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 4096);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 2);
	assert_int_equal(f->stream[1].wnd_end, 4096);
	/* data, win 0xffff -> 4096, and held: the patched checksum must survive release */
	assert_int_equal(h_tx(h, 1, PSH | ACK, sq(h, 1, 0), sq(h, 0, 0), 0xffff, payload, 100),
			 TG_TCP_HOLD);
	assert_int_equal(frame_win(h->last), 4096);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 3);
	assert_int_equal(h_release(h, 1, h->last), 1);
	/* win 100: below the ring, untouched */
	assert_int_equal(h_ack(h, 0, 0, 100, 100), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 100);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 3);
	/* a window never shrinks the right edge already given */
	assert_int_equal(f->stream[1].wnd_end, 4096);

	/* and over IPv6, where the checksum covers a different pseudo-header */
	teardown(NULL);
	h = h_new(4096, true);
	assert_int_equal(h_tx(h, 0, SYN, C_ISN, 0, 65535, NULL, 0), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 4096);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 1);
}

/*
 * With scaling (client 7, server 8, ring 64 KiB), windows are clamped in
 * scaled units: ring >> shift, so the bytes allowed equal the ring.
 */
static void
test_window_clamp_scaled(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;

	(void)state;
	/* SYN win 64240 and SYN-ACK win 65160 are unscaled and fit */
	h_handshake_with(h, syn_full, synack_full, 512);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 0);
	/* ACK win 512 << 7 = 65536: exactly the ring */
	assert_int_equal(f->stream[1].wnd_end, 65536);
	assert_int_equal(frame_win(h->last), 512);

	/* client win 1000 << 7 = 128000 > 65536 -> 512 */
	assert_int_equal(h_ack(h, 0, 0, 0, 1000), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 512);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 1);
	/* server win 0xffff << 8 -> 65536 >> 8 = 256 */
	assert_int_equal(h_ack(h, 1, 0, 0, 0xffff), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 256);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 2);
	assert_int_equal(f->stream[0].wnd_end, 65536);
	/* server win 200 << 8 = 51200: untouched */
	assert_int_equal(h_ack(h, 1, 0, 0, 200), TG_TCP_FORWARD);
	assert_int_equal(frame_win(h->last), 200);
	assert_int_equal(TCNT(h, WINDOW_CLAMPED), 2);

	/* the client may now have 65536 bytes in flight; byte 65536 is beyond */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 1000), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	assert_int_equal(h_data(h, 0, 65535, 0, payload, 2), TG_TCP_DROP);
	assert_int_equal(SCNT(h, DROP_WINDOW), 1);
}

/*
 * Clamping must never close the window. Ring 4096 (the smallest the
 * config accepts, ring_kb 4) and both sides at wscale 14: ring >> 14 is
 * 0, and a window field of 0 leaves the sender probing a closed window
 * forever. Expected: a non-zero field.
 */
static void
test_window_clamp_never_zero(void **state)
{
	struct harness *h = h_new(4096, false);
	struct seg syn = syn_full, synack = synack_full;

	(void)state;
	syn.wscale = 14;
	synack.wscale = 14;
	assert_int_equal(h_seg(h, &syn), TG_TCP_FORWARD);
	assert_int_equal(h_seg(h, &synack), TG_TCP_FORWARD);
	/* ACK 40000 > 5432, win 1 (1 << 14 = 16384 bytes) */
	assert_int_equal(h_ack(h, 0, 0, 0, 1), TG_TCP_FORWARD);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	if (frame_win(h->last) == 0)
		fail_msg("window 1 << 14 over a 4096-byte ring clamped to 0: the server "
			 "sees a closed window (wnd_end %llu)",
			 (unsigned long long)h->f.stream[1].wnd_end);
}

/* xorshift32 (Marsaglia 2003): fixed seed, same sequence on every run. */
static uint32_t
xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/*
 * The incremental checksum patch (RFC 1624) against every kind of
 * checksum value: 4000 SYNs with seeded random ISNs and windows, IPv4 and
 * IPv6, each clamped exactly when its window exceeds the ring, to
 * exactly the ring, with a checksum that still verifies (h_seg checks it).
 */
static void
test_window_clamp_sweep(void **state)
{
	struct harness *h = h_new(1024, false);
	uint32_t rng = 0x2545f491, clamped = 0, i;

	(void)state;
	for (i = 0; i < 4000; i++) {
		uint16_t win = (uint16_t)xorshift32(&rng);
		struct seg s = { .dir = 0, .flags = SYN, .seq = xorshift32(&rng), .win = win };

		if (i % 8 == 0)
			s.win = (uint16_t)(1020 + i % 9); /* around the edge */
		h->v6 = i & 1;
		memset(&h->f, 0, sizeof(h->f));
		assert_int_equal(h_seg(h, &s), TG_TCP_FORWARD);
		assert_int_equal(frame_win(h->last), s.win > 1024 ? 1024 : s.win);
		clamped += s.win > 1024;
		assert_int_equal(TCNT(h, WINDOW_CLAMPED), clamped);
	}
	free_frames();
}

/*
 * Zero window: one byte at the right edge of a closed window is a probe
 * (RFC 9293 3.8.6.1) and goes through; more is refused; the window opens
 * again with a later ACK.
 */
static void
test_zero_window_probe(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;
	static const uint8_t other[1] = { 'Z' };

	(void)state;
	h_handshake(h, 1000, 100);
	assert_int_equal(f->stream[0].wnd_end, 100);
	/* the client fills the server's 100-byte window */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 100), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	/* ACK 5432 > 40000, ack 1101, win 0 */
	assert_int_equal(h_ack(h, 1, 0, 100, 0), TG_TCP_FORWARD);
	assert_int_equal(f->stream[0].base, 100);
	assert_int_equal(f->stream[0].wnd_end, 100);

	/* probe: 1 byte at 1101 */
	assert_int_equal(h_data(h, 0, 100, 0, payload + 100, 1), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	/* the server keeps the window closed: ACK 1101 again, win 0 */
	assert_int_equal(h_ack(h, 1, 0, 100, 0), TG_TCP_FORWARD);
	/* the probe again, with another byte: sent on with the first one */
	assert_int_equal(h_data(h, 0, 100, 0, other, 1), TG_TCP_FORWARD);
	assert_int_equal(h->last->b[h->last->len - 1], payload[100]);
	/* 2 bytes past the edge, or 1 byte not at it: refused */
	assert_int_equal(h_data(h, 0, 100, 0, payload + 100, 2), TG_TCP_DROP);
	assert_int_equal(h_data(h, 0, 101, 0, payload + 101, 1), TG_TCP_DROP);
	assert_int_equal(SCNT(h, DROP_WINDOW), 2);
	assert_int_equal(f->state, TG_TCP_ESTABLISHED);

	/* the server takes the probe and opens: ACK 1102, win 500 */
	assert_int_equal(h_ack(h, 1, 0, 101, 500), TG_TCP_FORWARD);
	assert_int_equal(f->stream[0].wnd_end, 601);
	assert_int_equal(h_data(h, 0, 101, 0, payload + 101, 500), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
}

/* ---------------------------------------------------------------------
 * Data and ACKs
 * ------------------------------------------------------------------- */

/* A consumer that inspects nothing until the test moves the mark. */
static uint64_t
hold_all(void *ctx, struct tg_stream *s, uint8_t *bytes, uint64_t off, uint32_t len)
{
	(void)ctx;
	(void)s;
	(void)bytes;
	(void)off;
	(void)len;
	return 0;
}

/*
 * Data is held (TG_TCP_HOLD) and comes back from tg_stream_release() once
 * inspected; the receiver's ACK moves the base and frees the ring.
 */
static void
test_data_hold_release(void **state)
{
	struct harness *h = h_new(65536, false);
	const struct tg_stream_consumer c = { .data = hold_all };
	struct tg_flow *f = &h->f;
	struct frame *a, *b;

	(void)state;
	h_handshake(h, 8000, 8000);
	h->ctx.consumer[0] = &c;
	/* PSH|ACK 40000 > 5432, seq 1001, ack 5001, 100 bytes; then seq 1101, 50 bytes */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 100), TG_TCP_HOLD);
	a = h->last;
	assert_int_equal(h_data(h, 0, 100, 0, payload + 100, 50), TG_TCP_HOLD);
	b = h->last;
	assert_int_equal(f->stream[0].contiguous, 150);
	assert_int_equal(f->stream[0].nb_held, 2);
	assert_int_equal(h->mem.nb_ring_free, 3);
	/* nothing inspected, nothing leaves */
	assert_int_equal(h_release(h, 0, NULL), 0);
	/* the first segment's bytes are inspected: it leaves alone */
	tg_stream_set_inspected(&f->stream[0], 120);
	assert_int_equal(h_release(h, 0, a), 1);
	tg_stream_set_inspected(&f->stream[0], 150);
	assert_int_equal(h_release(h, 0, b), 1);
	assert_int_equal(f->stream[0].released, 150);

	/* ACK 5432 > 40000, ack 1151: the ring goes back to the pool */
	assert_int_equal(h_ack(h, 1, 0, 150, 8000), TG_TCP_FORWARD);
	assert_int_equal(f->stream[0].base, 150);
	assert_int_equal(f->stream[0].ring, TG_STREAM_NONE);
	assert_int_equal(h->mem.nb_ring_free, 4);

	/* the server's data, no consumer: inspected on arrival, still held until released */
	assert_int_equal(h_data(h, 1, 0, 150, payload, 300), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 1, h->last), 1);
	assert_int_equal(h_ack(h, 0, 150, 300, 8000), TG_TCP_FORWARD);
	assert_int_equal(f->stream[1].base, 300);
	assert_int_equal(SCNT(h, HELD), 3);
	assert_int_equal(SCNT(h, RELEASED), 3);
}

/*
 * A retransmission of released bytes carrying other bytes leaves with the
 * bytes first seen (and inspected), its checksum patched.
 */
static void
test_retransmit_rewritten(void **state)
{
	struct harness *h = h_new(65536, false);
	uint8_t evil[64];
	struct tg_pkt p;

	(void)state;
	h_handshake(h, 8000, 8000);
	assert_int_equal(h_data(h, 0, 0, 0, payload, 64), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	memset(evil, 'X', sizeof(evil));
	/* the same seq 1001, 64 bytes of 'X' */
	assert_int_equal(h_data(h, 0, 0, 0, evil, 64), TG_TCP_FORWARD);
	assert_int_equal(tg_pkt_parse(h->last->b, h->last->len, &p), TG_PKT_OK);
	assert_memory_equal(h->last->b + p.payload_off, payload, 64);
	assert_int_equal(SCNT(h, REWRITTEN), 1);
}

/*
 * An ACK must not cover bytes the gateway has not released (the receiver
 * cannot have them): dropped, whether pure or on data; the base stays.
 */
static void
test_ack_beyond_released(void **state)
{
	struct harness *h = h_new(65536, false);
	const struct tg_stream_consumer c = { .data = hold_all };
	struct tg_flow *f = &h->f;

	(void)state;
	h_handshake(h, 8000, 8000);
	h->ctx.consumer[0] = &c;
	assert_int_equal(h_data(h, 0, 0, 0, payload, 100), TG_TCP_HOLD);
	/* ACK 5432 > 40000, ack 1101: 100 bytes the server was never sent */
	assert_int_equal(h_ack(h, 1, 0, 100, 8000), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_BAD_ACK), 1);
	assert_int_equal(f->stream[0].base, 0);
	/* ack 1002, on data: one byte too many is enough */
	assert_int_equal(h_data(h, 1, 0, 1, payload, 10), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_BAD_ACK), 2);
	assert_int_equal(f->stream[1].contiguous, 0);
	/* ack 1001 is fine */
	assert_int_equal(h_ack(h, 1, 0, 0, 8000), TG_TCP_FORWARD);

	tg_stream_set_inspected(&f->stream[0], 100);
	assert_int_equal(h_release(h, 0, NULL), 1);
	assert_int_equal(h_ack(h, 1, 0, 100, 8000), TG_TCP_FORWARD);
	assert_int_equal(f->stream[0].base, 100);
	/* beyond everything the client ever sent */
	assert_int_equal(h_ack(h, 1, 0, 5000, 8000), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_BAD_ACK), 3);
	assert_int_equal(f->stream[0].base, 100);
	assert_int_equal(f->state, TG_TCP_ESTABLISHED);
	/* an old ACK (before the data) is harmless */
	assert_int_equal(h_ack(h, 1, 0, 50, 8000), TG_TCP_FORWARD);
	assert_int_equal(f->stream[0].base, 100);
}

/* ---------------------------------------------------------------------
 * Close
 * ------------------------------------------------------------------- */

/*
 * Data, FIN from the client, ACK, FIN from the server, ACK: CLOSING, then
 * CLOSED once both FINs are ACKed; later segments are dropped.
 */
static void
test_fin_close(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;

	(void)state;
	h_handshake(h, 8000, 8000);
	assert_int_equal(h_data(h, 0, 0, 0, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	/* FIN|ACK 40000 > 5432, seq 1011, ack 5001 */
	assert_int_equal(h_tx(h, 0, FIN | ACK, sq(h, 0, 10), sq(h, 1, 0), 8000, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_CLOSING);
	assert_int_equal(tg_tcp_class(f), TG_FLOW_CLOSING);
	assert_true(f->side[0].fin);
	assert_int_equal(TCNT(h, FIN), 1);
	/* the FIN again: not counted twice */
	assert_int_equal(h_tx(h, 0, FIN | ACK, sq(h, 0, 10), sq(h, 1, 0), 8000, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(TCNT(h, FIN), 1);
	/* ACK 5432 > 40000, ack 1012: the FIN is ACKed */
	assert_int_equal(h_ack(h, 1, 0, 11, 8000), TG_TCP_FORWARD);
	assert_true(f->side[0].fin_acked);
	assert_int_equal(f->state, TG_TCP_CLOSING);
	/* the server still sends data, then its FIN */
	assert_int_equal(h_data(h, 1, 0, 11, payload, 20), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 1, h->last), 1);
	assert_int_equal(h_tx(h, 1, FIN | ACK, sq(h, 1, 20), sq(h, 0, 11), 8000, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(TCNT(h, FIN), 2);
	assert_int_equal(f->state, TG_TCP_CLOSING);
	/* ACK 40000 > 5432, seq 1012, ack 5022 */
	assert_int_equal(h_ack(h, 0, 11, 21, 8000), TG_TCP_FORWARD);
	assert_true(f->side[1].fin_acked);
	assert_int_equal(f->state, TG_TCP_CLOSED);
	assert_int_equal(tg_tcp_class(f), TG_FLOW_CLOSED);

	/* stragglers */
	assert_int_equal(h_ack(h, 0, 11, 21, 8000), TG_TCP_DROP);
	assert_int_equal(h_data(h, 1, 0, 11, payload, 20), TG_TCP_DROP);
	assert_int_equal(h_tx(h, 1, RST, sq(h, 1, 21), 0, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_CLOSED), 4);
	assert_int_equal(TCNT(h, RST), 0);
}

/*
 * Both FINs on data, the second FIN with the ACK of the first, the
 * client's FIN held behind data the consumer has not inspected yet.
 */
static void
test_fin_on_data(void **state)
{
	struct harness *h = h_new(65536, false);
	const struct tg_stream_consumer c = { .data = hold_all };
	struct tg_flow *f = &h->f;
	struct frame *fin_c;

	(void)state;
	h_handshake(h, 8000, 8000);
	h->ctx.consumer[0] = &c;
	/* FIN|PSH|ACK 40000 > 5432, seq 1001, 30 bytes */
	assert_int_equal(h_tx(h, 0, FIN | PSH | ACK, sq(h, 0, 0), sq(h, 1, 0), 8000, payload, 30),
			 TG_TCP_HOLD);
	fin_c = h->last;
	assert_int_equal(f->state, TG_TCP_CLOSING);
	/* the FIN cannot be ACKed before it is released */
	assert_int_equal(h_ack(h, 1, 0, 31, 8000), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_BAD_ACK), 1);
	tg_stream_set_inspected(&f->stream[0], 30);
	assert_int_equal(h_release(h, 0, fin_c), 1);
	assert_true(f->stream[0].fin_released);
	/* FIN|PSH|ACK 5432 > 40000, seq 5001, ack 1032, 5 bytes */
	assert_int_equal(h_tx(h, 1, FIN | PSH | ACK, sq(h, 1, 0), sq(h, 0, 31), 8000, payload, 5),
			 TG_TCP_HOLD);
	assert_true(f->side[0].fin_acked);
	assert_int_equal(h_release(h, 1, h->last), 1);
	assert_int_equal(f->state, TG_TCP_CLOSING);
	assert_int_equal(h_ack(h, 0, 31, 6, 8000), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_CLOSED);
	assert_int_equal(TCNT(h, FIN), 2);
}

/*
 * Simultaneous close (RFC 9293 3.6, figure 13): the FINs cross, each side
 * then ACKs the other's. Data after a side's own FIN is refused.
 */
static void
test_simultaneous_close(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;

	(void)state;
	h_handshake(h, 8000, 8000);
	assert_int_equal(h_data(h, 0, 0, 0, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	/* FIN|ACK 40000 > 5432, seq 1011, ack 5001; FIN|ACK 5432 > 40000, seq 5001, ack 1011 */
	assert_int_equal(h_tx(h, 0, FIN | ACK, sq(h, 0, 10), sq(h, 1, 0), 8000, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(h_tx(h, 1, FIN | ACK, sq(h, 1, 0), sq(h, 0, 10), 8000, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_CLOSING);
	assert_true(f->side[0].fin && f->side[1].fin);
	assert_false(f->side[0].fin_acked || f->side[1].fin_acked);
	/* the client sends data after its FIN */
	assert_int_equal(h_data(h, 0, 11, 1, payload, 5), TG_TCP_DROP);
	assert_int_equal(SCNT(h, DROP_AFTER_FIN), 1);
	/* ACK 40000 > 5432, seq 1012, ack 5002; ACK 5432 > 40000, seq 5002, ack 1012 */
	assert_int_equal(h_ack(h, 0, 11, 1, 8000), TG_TCP_FORWARD);
	assert_true(f->side[1].fin_acked);
	assert_int_equal(f->state, TG_TCP_CLOSING);
	assert_int_equal(h_ack(h, 1, 1, 11, 8000), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_CLOSED);
	assert_int_equal(TCNT(h, FIN), 2);
}

/* ---------------------------------------------------------------------
 * Caps
 * ------------------------------------------------------------------- */

/*
 * The ring pool empty (memcap): TG_TCP_EXCEPTION, for the service's
 * exception policy; the session itself goes on.
 */
static void
test_exception_ring_pool(void **state)
{
	struct harness *h = h_new(65536, false);

	(void)state;
	tg_stream_mem_free(&h->mem);
	assert_int_equal(tg_stream_mem_init(&h->mem, 1, 65536, 16), 0);
	h_handshake(h, 8000, 8000);
	/* the client's data takes the only ring */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h_data(h, 1, 0, 0, payload, 10), TG_TCP_EXCEPTION);
	assert_int_equal(SCNT(h, DROP_NO_BUF), 1);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	/* the ring comes back once the client's bytes are ACKed */
	assert_int_equal(h_release(h, 0, NULL), 1);
	assert_int_equal(h_data(h, 1, 0, 10, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 1, h->last), 1);
}

/*
 * The worker's held-segment pool empty: a cap, so TG_TCP_EXCEPTION and the
 * service's exception policy (stream.h, Caps); the slots come back on
 * release.
 */
static void
test_held_pool_full(void **state)
{
	struct harness *h = h_new(65536, false);
	const struct tg_stream_consumer c = { .data = hold_all };
	uint32_t i;

	(void)state;
	h_handshake(h, 8000, 8000);
	h->ctx.consumer[0] = &c;
	for (i = 0; i < 16; i++)
		assert_int_equal(h_data(h, 0, i * 10, 0, payload + i * 10, 10), TG_TCP_HOLD);
	assert_int_equal(h_data(h, 0, 160, 0, payload + 160, 10), TG_TCP_EXCEPTION);
	assert_int_equal(SCNT(h, DROP_HELD_POOL), 1);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	tg_stream_set_inspected(&h->f.stream[0], 160);
	assert_int_equal(h_release(h, 0, NULL), 8); /* 8 at a time */
	assert_int_equal(h_release(h, 0, NULL), 8);
	assert_int_equal(h_data(h, 0, 160, 0, payload + 160, 10), TG_TCP_HOLD);
}

/* ---------------------------------------------------------------------
 * RST
 * ------------------------------------------------------------------- */

/* An in-window RST either way is sent on and closes the session. */
static void
test_rst_in_window(void **state)
{
	static const uint32_t offs[] = { 0, 1, 500, 999 };
	unsigned int i;
	int dir;

	(void)state;
	for (dir = 0; dir < 2; dir++)
		for (i = 0; i < ARRAY_SIZE(offs); i++) {
			struct harness *h = h_new(65536, false);

			/* each side's window is 1000 bytes */
			h_handshake(h, 1000, 1000);
			/* RST from dir, seq ISN + 1 + offs[i] */
			assert_int_equal(h_tx(h, dir, RST, sq(h, dir, offs[i]), 0, 0, NULL, 0),
					 TG_TCP_CLOSE);
			assert_int_equal(h->f.state, TG_TCP_CLOSED);
			assert_int_equal(tg_tcp_class(&h->f), TG_FLOW_CLOSED);
			assert_int_equal(TCNT(h, RST), 1);
			assert_int_equal(TCNT(h, DROP_RST_WINDOW), 0);
			/* anything later is a straggler */
			assert_int_equal(h_data(h, !dir, 0, 0, payload, 10), TG_TCP_DROP);
			assert_int_equal(TCNT(h, DROP_CLOSED), 1);
			teardown(NULL);
		}
}

/* Out of window: before what the receiver ACKed, or far past the edge. */
static void
test_rst_out_of_window(void **state)
{
	struct harness *h = h_new(65536, false);
	/* clang-format off */
	static const uint32_t offs[] = { 1001, 5000, 0x7fffffff, 0x80000000u, (uint32_t)-1,
					 (uint32_t)-100 };
	/* clang-format on */
	unsigned int i;

	(void)state;
	h_handshake(h, 1000, 1000);
	assert_int_equal(h_data(h, 0, 0, 0, payload, 200), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	assert_int_equal(h_ack(h, 1, 0, 200, 1000), TG_TCP_FORWARD);
	/* the client's window is now [200, 1200) */
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		assert_int_equal(
			h_tx(h, 0, RST | ACK, sq(h, 0, 200 + offs[i]), sq(h, 1, 0), 0, NULL, 0),
			TG_TCP_DROP);
		assert_int_equal(TCNT(h, DROP_RST_WINDOW), i + 1);
		assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	}
	/* below the base: bytes the server already ACKed */
	assert_int_equal(h_tx(h, 0, RST, sq(h, 0, 199), 0, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(h_tx(h, 0, RST, sq(h, 0, 0), 0, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);
	assert_int_equal(TCNT(h, RST), 0);
	/* the edge itself is in */
	assert_int_equal(h_tx(h, 0, RST, sq(h, 0, 200), 0, 0, NULL, 0), TG_TCP_CLOSE);
	assert_int_equal(h->f.state, TG_TCP_CLOSED);
}

/*
 * The window is [RCV.NXT, RCV.NXT + RCV.WND) (RFC 9293 3.10.7.4, RFC 5961
 * 3.2): with a 1000-byte window, a RST at offset 1000 is outside. Only a
 * zero window makes the left edge acceptable.
 */
static void
test_rst_right_edge(void **state)
{
	struct harness *h = h_new(65536, false);

	(void)state;
	h_handshake(h, 1000, 1000);
	assert_int_equal(h_tx(h, 0, RST, sq(h, 0, 1000), 0, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_RST_WINDOW), 1);
	assert_int_equal(h->f.state, TG_TCP_ESTABLISHED);

	/* zero window: RST at RCV.NXT is accepted */
	teardown(NULL);
	h = h_new(65536, false);
	h_handshake(h, 1000, 0);
	assert_int_equal(h_tx(h, 0, RST, sq(h, 0, 0), 0, 0, NULL, 0), TG_TCP_CLOSE);
}

/*
 * SYN-SENT (RFC 9293 3.10.7.3): only a RST from the server that ACKs the
 * SYN counts.
 */
static void
test_rst_syn_sent(void **state)
{
	struct harness *h = h_new(65536, false);

	(void)state;
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_FORWARD);
	/* RST 5432 > 40000 without ACK */
	assert_int_equal(h_tx(h, 1, RST, 0, 0, 0, NULL, 0), TG_TCP_DROP);
	/* RST|ACK, ack 1000, 1002, 0 */
	assert_int_equal(h_tx(h, 1, RST | ACK, 0, C_ISN, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(h_tx(h, 1, RST | ACK, 0, C_ISN + 2, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(h_tx(h, 1, RST | ACK, 0, 0, 0, NULL, 0), TG_TCP_DROP);
	/* a RST from the client itself */
	assert_int_equal(h_tx(h, 0, RST | ACK, C_ISN + 1, C_ISN + 1, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_RST_WINDOW), 5);
	assert_int_equal(h->f.state, TG_TCP_SYN_SENT);
	/* RST|ACK 5432 > 40000, seq 0, ack 1001: connection refused */
	assert_int_equal(h_tx(h, 1, RST | ACK, 0, C_ISN + 1, 0, NULL, 0), TG_TCP_CLOSE);
	assert_int_equal(h->f.state, TG_TCP_CLOSED);
	assert_int_equal(TCNT(h, RST), 1);
	assert_int_equal(h_seg(h, &syn_full), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_CLOSED), 1);
}

/* RSTs with no session, and in SYN-RCVD. */
static void
test_rst_other_states(void **state)
{
	struct harness *h = h_new(65536, false);

	(void)state;
	assert_int_equal(h_tx(h, 0, RST, C_ISN + 1, 0, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(h_tx(h, 1, RST | ACK, S_ISN + 1, C_ISN + 1, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_RST_WINDOW), 2);
	assert_int_equal(h->f.state, TG_TCP_NONE);

	/* SYN-RCVD: the client gives up, in the window of the SYN-ACK */
	assert_int_equal(h_tx(h, 0, SYN, C_ISN, 0, 1000, NULL, 0), TG_TCP_FORWARD);
	assert_int_equal(h_tx(h, 1, SYN | ACK, S_ISN, C_ISN + 1, 1000, NULL, 0), TG_TCP_FORWARD);
	assert_int_equal(h_tx(h, 0, RST, C_ISN + 1 + 5000, 0, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(h->f.state, TG_TCP_SYN_RCVD);
	assert_int_equal(h_tx(h, 0, RST, C_ISN + 1, 0, 0, NULL, 0), TG_TCP_CLOSE);
	assert_int_equal(h->f.state, TG_TCP_CLOSED);
}

/* ---------------------------------------------------------------------
 * Sequence space
 * ------------------------------------------------------------------- */

/*
 * ISNs just below 2^32 (client 0xfffffff0, server 0xffffffff): the
 * handshake, data across the wrap both ways, ACKs after it, RST window
 * checks and the close all work in 32-bit modular arithmetic.
 */
static void
test_seq_wrap(void **state)
{
	struct harness *h = h_new(65536, false);
	struct tg_flow *f = &h->f;

	(void)state;
	h->isn[0] = 0xfffffff0u;
	h->isn[1] = 0xffffffffu;
	h_handshake_with(h, syn_full, synack_full, 1000);
	assert_int_equal(f->side[0].isn, 0xfffffff0u);
	assert_int_equal(f->side[1].isn, 0xffffffffu);
	assert_int_equal(f->stream[1].isn1, 0);

	/* PSH|ACK 40000 > 5432, seq 0xfffffff1, ack 0, 40 bytes: ends at 0x19 */
	assert_int_equal(h_data(h, 0, 0, 0, payload, 40), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	assert_int_equal(f->stream[0].contiguous, 40);
	/* PSH|ACK 5432 > 40000, seq 0, ack 0x19, 100 bytes */
	assert_int_equal(h_data(h, 1, 0, 40, payload, 100), TG_TCP_HOLD);
	assert_int_equal(f->stream[0].base, 40);
	assert_int_equal(h_release(h, 1, h->last), 1);
	assert_int_equal(h_data(h, 0, 40, 100, payload + 40, 60), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	assert_int_equal(h_ack(h, 1, 100, 100, 1000), TG_TCP_FORWARD);
	assert_int_equal(f->stream[0].base, 100);
	/* ACK of bytes never sent, across the wrap */
	assert_int_equal(h_ack(h, 1, 100, 101, 1000), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_BAD_ACK), 1);
	/* a RST just before the base (seq 0xfffffff1 + 99) is out */
	assert_int_equal(h_tx(h, 0, RST, sq(h, 0, 99), 0, 0, NULL, 0), TG_TCP_DROP);
	assert_int_equal(TCNT(h, DROP_RST_WINDOW), 1);

	/* close */
	assert_int_equal(h_tx(h, 0, FIN | ACK, sq(h, 0, 100), sq(h, 1, 100), 1000, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(h_tx(h, 1, FIN | ACK, sq(h, 1, 100), sq(h, 0, 101), 1000, NULL, 0),
			 TG_TCP_FORWARD);
	assert_true(f->side[0].fin_acked);
	assert_int_equal(h_ack(h, 0, 101, 101, 1000), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_CLOSED);
}

/* The ISN is the last sequence number, so the first data byte is 0. */
static void
test_seq_wrap_at_isn(void **state)
{
	struct harness *h = h_new(65536, false);

	(void)state;
	h->isn[0] = 0xffffffffu;
	h->isn[1] = 0xfffffffeu;
	h_handshake(h, 1000, 1000);
	assert_int_equal(h->f.stream[0].isn1, 0);
	assert_int_equal(h_data(h, 0, 0, 0, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	assert_int_equal(h_data(h, 1, 0, 10, payload, 10), TG_TCP_HOLD);
	assert_int_equal(h->f.stream[0].base, 10);
	assert_int_equal(h_tx(h, 1, RST, sq(h, 1, 5), 0, 0, NULL, 0), TG_TCP_CLOSE);
}

/* ---------------------------------------------------------------------
 * IPv6, classes, names
 * ------------------------------------------------------------------- */

/* The same life over IPv6: handshake, data both ways, close. */
static void
test_ipv6_session(void **state)
{
	struct harness *h = h_new(65536, true);
	struct tg_flow *f = &h->f;

	(void)state;
	h_handshake_with(h, syn_full, synack_full, 1000);
	assert_true(f->wscale_ok);
	assert_int_equal(h_data(h, 0, 0, 0, payload, 1000), TG_TCP_HOLD);
	assert_int_equal(h_release(h, 0, h->last), 1);
	/* server win 0xffff << 8: clamped to 65536 >> 8 = 256 on IPv6 too */
	assert_int_equal(h_tx(h, 1, PSH | ACK, sq(h, 1, 0), sq(h, 0, 1000), 0xffff, payload, 99),
			 TG_TCP_HOLD);
	assert_int_equal(frame_win(h->last), 256);
	assert_int_equal(h_release(h, 1, h->last), 1);
	assert_int_equal(f->stream[0].base, 1000);
	assert_int_equal(h_tx(h, 0, FIN | ACK, sq(h, 0, 1000), sq(h, 1, 99), 100, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(h_tx(h, 1, FIN | ACK, sq(h, 1, 99), sq(h, 0, 1001), 100, NULL, 0),
			 TG_TCP_FORWARD);
	assert_int_equal(h_ack(h, 0, 1001, 100, 100), TG_TCP_FORWARD);
	assert_int_equal(f->state, TG_TCP_CLOSED);
}

static void
test_class(void **state)
{
	/* clang-format off */
	static const struct {
		uint8_t state;
		enum tg_flow_class cls;
	} m[] = {
		{ TG_TCP_NONE, TG_FLOW_EMBRYONIC },
		{ TG_TCP_SYN_SENT, TG_FLOW_EMBRYONIC },
		{ TG_TCP_SYN_RCVD, TG_FLOW_EMBRYONIC },
		{ TG_TCP_ESTABLISHED, TG_FLOW_ESTABLISHED },
		{ TG_TCP_CLOSING, TG_FLOW_CLOSING },
		{ TG_TCP_CLOSED, TG_FLOW_CLOSED },
	};
	/* clang-format on */
	struct tg_flow f;
	unsigned int i;

	(void)state;
	memset(&f, 0, sizeof(f));
	for (i = 0; i < ARRAY_SIZE(m); i++) {
		f.state = m[i].state;
		assert_int_equal(tg_tcp_class(&f), m[i].cls);
	}
}

static void
test_counter_names(void **state)
{
	unsigned int i, j;

	(void)state;
	for (i = 0; i < TG_TCP_CNT_MAX; i++) {
		assert_non_null(tg_tcp_counter_names[i]);
		assert_true(strlen(tg_tcp_counter_names[i]) > 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(tg_tcp_counter_names[i], tg_tcp_counter_names[j]);
	}
}

static int
setup(void **state)
{
	(void)state;
	fill_payload();
	return 0;
}

/* clang-format off */
#define TEST(f) { .name = #f, .test_func = test_##f, .setup_func = setup, \
		  .teardown_func = teardown }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(handshake),
		TEST(handshake_no_options),
		TEST(handshake_wscale_one_side),
		TEST(handshake_wscale_max),
		TEST(syn_retransmit),
		TEST(synack_retransmit),
		TEST(syn_data),
		TEST(synack_bad_ack),
		TEST(syn_out_of_place),
		TEST(simultaneous_open),
		TEST(simultaneous_open_acks),
		TEST(data_before_handshake),
		TEST(bad_csum),
		TEST(window_clamp),
		TEST(window_clamp_scaled),
		TEST(window_clamp_sweep),
		TEST(window_clamp_never_zero),
		TEST(zero_window_probe),
		TEST(data_hold_release),
		TEST(retransmit_rewritten),
		TEST(ack_beyond_released),
		TEST(fin_close),
		TEST(fin_on_data),
		TEST(simultaneous_close),
		TEST(exception_ring_pool),
		TEST(held_pool_full),
		TEST(rst_in_window),
		TEST(rst_out_of_window),
		TEST(rst_right_edge),
		TEST(rst_syn_sent),
		TEST(rst_other_states),
		TEST(seq_wrap),
		TEST(seq_wrap_at_isn),
		TEST(ipv6_session),
		TEST(class),
		TEST(counter_names),
	};

	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
/* clang-format on */
