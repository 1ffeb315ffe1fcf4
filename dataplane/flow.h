/* SPDX-License-Identifier: MIT */
/*
 * flow.h — the per-worker flow table of protected TCP sessions.
 *
 * Keys are canonical 5-tuples: the (address, port) pair that sorts lower
 * comes first, so both directions of a session find one entry, and a bit
 * in the lookup result says which side sent the packet. IPv4 addresses are
 * stored v4-mapped in 16 bytes, so one key type serves both families.
 *
 * The table is an rte_hash with its extendable bucket table (so a full
 * table means "max flows", never "unlucky bucket"), and a flow array indexed
 * by the hash position. Everything is allocated at start: a worker holds at
 * most max_flows sessions and never allocates on the fast path.
 *
 * Timeouts are kept in O(1) with one LRU list per timeout class (embryonic,
 * established, closing, closed): a packet moves its flow to the tail of its
 * class, and expiry pops heads idle for at least the class timeout. When
 * the table is full, a new session evicts the oldest embryonic one (a SYN
 * flood recycles its own entries and cannot push out established
 * sessions), else the oldest closed one; without either, the new session
 * is refused. All are counted.
 *
 * Bytes per flow: sizeof(struct tg_flow) plus the rte_hash key slot and
 * bucket share, reported by tg_flow_table_bytes_per_flow().
 */
#ifndef TG_FLOW_H
#define TG_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"
#include "stream.h"

struct rte_hash;

#define TG_FLOW_NONE UINT32_MAX

struct tg_flow_key {
	uint8_t addr[2][16];
	uint16_t port[2];
	uint8_t family;
	uint8_t pad[3];
};

enum tg_flow_class {
	TG_FLOW_EMBRYONIC,	/* handshake not complete */
	TG_FLOW_ESTABLISHED,
	TG_FLOW_CLOSING,	/* a FIN seen */
	TG_FLOW_CLOSED,		/* RST or both FINs ACKed: absorbs stragglers */
	TG_FLOW_NB_CLASSES
};

/* One side of the TCP conversation, as the sender of its segments. */
struct tg_tcp_side {
	uint32_t isn;
	uint8_t wscale;		/* applied to this side's advertised windows */
	uint8_t syn:1;		/* its SYN seen */
	uint8_t syn_acked:1;	/* its SYN ACKed by the other side */
	uint8_t fin:1;		/* its FIN seen */
	uint8_t fin_acked:1;	/* its FIN ACKed by the other side */
	uint8_t ws:1;		/* sent the window scale option */
	uint8_t sack_perm:1;
	uint8_t ts:1;
	uint16_t mss;
	uint16_t win;		/* its last window field, as sent on (the stream editor's ACKs) */
	uint32_t tsval;		/* its last TSval */
};

/*
 * Direction index: 0 = client to server, 1 = server to client. side[d] is
 * the sender of direction d, stream[d] its byte stream.
 */
struct tg_flow {
	uint64_t last_tsc;
	uint32_t lru_prev, lru_next;
	uint16_t service;
	uint8_t cls;		/* enum tg_flow_class */
	uint8_t state;		/* enum tg_tcp_state, see tcp.h */
	uint8_t client_key_side; /* which address of the key is the client */
	/* grant_end: its tcp grant ended, on_grant_expiry "end": reset at its next segment */
	uint8_t wscale_ok:1, in_use:1, grant_end:1;
	uint8_t rxq[2];		/* the worker's rx queue each direction last came on */
	uint32_t pkts[2];	/* of a flow on a grant: segments each way */
	uint64_t grant;		/* the tcp grant it was admitted on (tcpgrants.h); 0: none */
	uint64_t gflow;		/* with a grant: its number on the worker, for the audit */
	uint64_t t_start_ns;	/* with a grant: CLOCK_REALTIME of its SYN */
	struct tg_tcp_side side[2];
	struct tg_stream stream[2];
};

#define TG_FLOW_COUNTERS(X) \
	X(CREATED, "created", "sessions created") \
	X(EXPIRED_EMBRYONIC, "expired_embryonic", "embryonic sessions timed out") \
	X(EXPIRED_ESTABLISHED, "expired_established", "idle established sessions timed out") \
	X(EXPIRED_CLOSING, "expired_closing", "closing sessions timed out") \
	X(EXPIRED_CLOSED, "expired_closed", "closed sessions retired") \
	X(EVICTED_EMBRYONIC, "evicted_embryonic", "embryonic sessions evicted by a new one") \
	X(TABLE_FULL, "table_full", "new sessions refused: table full")

enum tg_flow_counter {
#define TG_FLOW_CNT_ENUM(e, n, d) TG_FLOW_CNT_##e,
	TG_FLOW_COUNTERS(TG_FLOW_CNT_ENUM)
#undef TG_FLOW_CNT_ENUM
	TG_FLOW_CNT_MAX
};

extern const char *const tg_flow_counter_names[TG_FLOW_CNT_MAX];

struct tg_flow_table {
	struct rte_hash *hash;
	struct tg_flow *flows;
	uint32_t max_flows;
	uint32_t nb_flows;
	uint32_t lru_head[TG_FLOW_NB_CLASSES], lru_tail[TG_FLOW_NB_CLASSES];
	uint32_t nb_class[TG_FLOW_NB_CLASSES];
	uint64_t timeout_cycles[TG_FLOW_NB_CLASSES];
	uint64_t cnt[TG_FLOW_CNT_MAX];
};

/*
 * Builds the canonical key of a parsed TCP frame; *reversed is set when the
 * frame's source is the key's second side.
 */
void tg_flow_key_make(struct tg_flow_key *k, const uint8_t *frame, const struct tg_pkt *p,
		      bool *reversed);

/* timeouts in seconds, indexed by enum tg_flow_class */
int tg_flow_table_init(struct tg_flow_table *t, const char *name, uint32_t max_flows,
		       const uint32_t timeout_s[TG_FLOW_NB_CLASSES], int socket);
void tg_flow_table_free(struct tg_flow_table *t);

/* The flow index for a key, or TG_FLOW_NONE. */
uint32_t tg_flow_lookup(struct tg_flow_table *t, const struct tg_flow_key *k);

/*
 * Inserts a new zeroed flow for a key that is not in the table (look it up
 * first). When the table is full it evicts the oldest embryonic flow, or
 * else the oldest closed one, calling release() on it first so its held
 * packets are freed. Returns the index, or TG_FLOW_NONE when the table is
 * full of established and closing sessions (counted) or the key was
 * already there.
 */
typedef void (*tg_flow_release_fn)(void *arg, struct tg_flow *f);

uint32_t tg_flow_create(struct tg_flow_table *t, const struct tg_flow_key *k, uint64_t now,
			tg_flow_release_fn release, void *arg);

/* Marks activity and (re)files the flow under its class's LRU list. */
void tg_flow_touch(struct tg_flow_table *t, uint32_t idx, enum tg_flow_class cls,
		   uint64_t now);

/* Removes a flow; release() is called first so held packets are freed. */
void tg_flow_delete(struct tg_flow_table *t, uint32_t idx, tg_flow_release_fn release,
		    void *arg);

/* Expires at most budget flows whose class timeout has passed. Returns how many. */
unsigned int tg_flow_expire(struct tg_flow_table *t, uint64_t now, unsigned int budget,
			    tg_flow_release_fn release, void *arg);

/* Memory per flow slot, flow array and hash together, in bytes. */
uint64_t tg_flow_table_bytes_per_flow(const struct tg_flow_table *t);

#endif /* TG_FLOW_H */
