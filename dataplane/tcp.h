/* SPDX-License-Identifier: MIT */
/*
 * tcp.h — TCP session tracking for protected flows.
 *
 * tg_tcp_packet() takes every segment of a tracked session, in the
 * direction it travels (0: client to server, 1: server to client), and
 * decides what happens to it. It follows the handshake (including
 * simultaneous open) and records each side's ISN, MSS, window scale,
 * SACK-permitted and timestamps; it feeds payload and FIN to the inline
 * reassembly of that direction (stream.h); it moves each direction's base
 * with the other side's ACKs and takes the receiver's window from them.
 *
 * Windows: each advertised window is clamped to the reassembly ring size
 * before it leaves (field rewritten, checksum patched), so a sender never
 * has more unacknowledged bytes in flight than the gateway can hold.
 *
 * RST is accepted only in window: its sequence number must lie between
 * what the receiver has ACKed and the right edge of the receiver's window
 * (the check of RFC 5961 3.2 as a gateway can make it). In SYN-SENT, only a
 * RST that ACKs the SYN counts (RFC 9293 3.10.7.3).
 *
 * SACK: SACK-permitted is removed from every SYN (replaced by NOPs), so
 * neither end sends SACK blocks, whose sequence numbers the stream editor
 * would have to map (edit.h).
 *
 * Caveats:
 * - A SYN carrying data (TCP Fast Open) is dropped, so no payload reaches
 *   the server before the session is tracked; clients retry without it.
 * - Timestamps are recorded, not enforced (no PAWS).
 */
#ifndef TG_TCP_H
#define TG_TCP_H

#include <stdint.h>

#include "flow.h"
#include "pkt.h"
#include "stream.h"

enum tg_tcp_state {
	TG_TCP_NONE,
	TG_TCP_SYN_SENT,	/* client SYN seen */
	TG_TCP_SYN_RCVD,	/* SYN-ACK (or crossing SYNs) seen */
	TG_TCP_ESTABLISHED,
	TG_TCP_CLOSING,		/* a FIN has been seen */
	TG_TCP_CLOSED,		/* RST, or both FINs ACKed */
};

#define TG_TCP_COUNTERS(X) \
	X(SYN, "syn", "client SYNs starting a session") \
	X(SYN_RETRANS, "syn_retrans", "SYN or SYN-ACK retransmissions") \
	X(SYNACK, "synack", "SYN-ACKs accepted") \
	X(SIMUL_OPEN, "simul_open", "simultaneous opens") \
	X(ESTABLISHED, "established", "handshakes completed") \
	X(FIN, "fin", "FINs seen") \
	X(RST, "rst", "RSTs accepted") \
	X(DROP_RST_WINDOW, "drop_rst_window", "RSTs outside the window") \
	X(DROP_SYN_DATA, "drop_syn_data", "SYNs carrying data") \
	X(DROP_SYN_BAD, "drop_syn_bad", "SYNs that fit no handshake step") \
	X(DROP_BAD_ACK, "drop_bad_ack", "ACKs for bytes never sent on") \
	X(DROP_NO_HANDSHAKE, "drop_no_handshake", "segments before the handshake completes") \
	X(DROP_CSUM, "drop_csum", "TCP checksum wrong") \
	X(DROP_CLOSED, "drop_closed", "segments after the session closed") \
	X(WINDOW_CLAMPED, "window_clamped", "windows clamped to the reassembly ring") \
	X(SACK_STRIPPED, "sack_stripped", "SACK-permitted options removed from SYNs")

enum tg_tcp_counter {
#define TG_TCP_CNT_ENUM(e, n, d) TG_TCP_CNT_##e,
	TG_TCP_COUNTERS(TG_TCP_CNT_ENUM)
#undef TG_TCP_CNT_ENUM
	TG_TCP_CNT_MAX
};

extern const char *const tg_tcp_counter_names[TG_TCP_CNT_MAX];

enum tg_tcp_verdict {
	TG_TCP_FORWARD,		/* send it on now */
	TG_TCP_HOLD,		/* reassembly keeps it (see tg_stream_release()) */
	TG_TCP_DROP,		/* free it, counted */
	TG_TCP_CLOSE,		/* send it on (an accepted RST), then the session is over */
	TG_TCP_EXCEPTION,	/* a cap was hit: the service's exception policy applies */
};

struct tg_tcp_ctx {
	struct tg_stream_mem *mem;
	const struct tg_stream_consumer *consumer[2];	/* per direction, NULL: no parser */
	uint64_t cnt[TG_TCP_CNT_MAX];
};

/*
 * One segment of a flow in direction dir. frame is writable: the window
 * field and, for retransmissions, payload bytes may be rewritten. pkt is
 * the caller's handle, kept by reassembly on TG_TCP_HOLD.
 */
enum tg_tcp_verdict tg_tcp_packet(struct tg_tcp_ctx *ctx, struct tg_flow *f, int dir,
				  uint8_t *frame, const struct tg_pkt *p, void *pkt);

/* The LRU class a flow's state files it under. */
enum tg_flow_class tg_tcp_class(const struct tg_flow *f);

#endif /* TG_TCP_H */
