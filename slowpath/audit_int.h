/* SPDX-License-Identifier: MIT */
/*
 * audit_int.h — what the audit store's writer (audit.c) and reader
 * (audit_verify.c) share: the names and key encodings of audit.h's
 * on-disk format, hex, the chain step, and the tree's right edge. Not for
 * use outside the audit store.
 */
#ifndef TG_AUDIT_INT_H
#define TG_AUDIT_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

#include "audit.h"
#include "merkle.h"

#define TG_AUDIT_DB_REC "rec"
#define TG_AUDIT_DB_NODE "node"
#define TG_AUDIT_DB_CP "cp"
#define TG_AUDIT_DB_META "meta"
#define TG_AUDIT_NB_DBS 4

#define TG_AUDIT_META_SCHEMA_V "schema_v"
#define TG_AUDIT_META_ORIGIN "origin"
#define TG_AUDIT_META_SIZE "size"
#define TG_AUDIT_META_CHAIN_HEAD "chain_head"
#define TG_AUDIT_META_KEY_ID "key_id"
#define TG_AUDIT_META_PUBKEY "pubkey"
#define TG_AUDIT_META_CLEAN "clean"

#define TG_AUDIT_NODE_KEY 9 /* last leaf (u64 BE), level (u8) */
#define TG_AUDIT_LEVELS 64
/* "2025-01-31T23:59:59.123456Z" */
#define TG_AUDIT_TS_LEN 27

/* The chain step's domain separator, after RFC 9162's 0x00 (leaf) and 0x01 (node). */
#define TG_AUDIT_CHAIN_PREFIX 0x02

static inline void
tg_audit_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint32_t
tg_audit_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
tg_audit_be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The key of node(level, index): its last leaf, then its level. -ERANGE if out of 64 bits. */
static inline int
tg_audit_node_key(unsigned int level, uint64_t index, uint8_t key[TG_AUDIT_NODE_KEY])
{
	if (level >= TG_AUDIT_LEVELS || index >= (UINT64_MAX >> level))
		return -ERANGE;
	tg_audit_be64_put(key, ((index + 1) << level) - 1);
	key[8] = (uint8_t)level;
	return 0;
}

/* Lowercase hex of in[0..len) into out (2 * len + 1 bytes, NUL-terminated). */
static inline void
tg_audit_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* Strict lowercase hex of exactly len bytes. */
static inline bool
tg_audit_unhex(const char *s, size_t slen, uint8_t *out, size_t len)
{
	if (slen != 2 * len)
		return false;
	for (size_t i = 0; i < slen; i++) {
		char c = s[i];
		unsigned int v;

		if (c >= '0' && c <= '9')
			v = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned int)(c - 'a' + 10);
		else
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return true;
}

/* C_0 = SHA-256(origin). */
void tg_audit_chain_start(const char *origin, uint8_t out[TG_AUDIT_HASH]);

/* C_{i+1} = SHA-256(0x02 || C_i || leaf_i); out may alias prev. */
void tg_audit_chain_next(const uint8_t prev[TG_AUDIT_HASH], const uint8_t leaf[TG_AUDIT_HASH],
			 uint8_t out[TG_AUDIT_HASH]);

/*
 * The tree's right edge: per level, the last two nodes put. That is all
 * tg_merkle_append() reads (the left half of a node it closes is the
 * node put before the right half) and all tg_merkle_root() of the current
 * size reads (the last node of each level whose bit is set in the size):
 * 64 levels x 2 x 40 bytes instead of the 2n nodes.
 */
struct tg_audit_edge_level {
	uint64_t index[2]; /* [1] is the last put */
	uint8_t hash[2][TG_AUDIT_HASH];
	uint8_t n; /* how many of the two are set */
};

struct tg_audit_edge {
	struct tg_audit_edge_level lv[TG_AUDIT_LEVELS];
};

void tg_audit_edge_put(struct tg_audit_edge *e, unsigned int level, uint64_t index,
		       const uint8_t hash[TG_AUDIT_HASH]);

/* A tg_merkle_get_fn over a struct tg_audit_edge; -ENOENT for a node it does not hold. */
int tg_audit_edge_get(void *arg, unsigned int level, uint64_t index, uint8_t out[TG_AUDIT_HASH]);

/* Is s[0..len) a ts of the form TG_AUDIT_TS_LEN describes? */
bool tg_audit_ts_valid(const char *s, size_t len);

/* Is s one of "success", "failure", "unknown"? */
bool tg_audit_outcome_valid(const char *s);

/*
 * A reader (audit.h's tg_audit_log_*) over an environment that is already
 * open in this process: the writer's, since LMDB forbids opening the same
 * environment twice in one process (its locks are per process). The
 * reader uses the given database handles in read-only transactions of its
 * own; tg_audit_log_close() frees it and leaves env open. dir is for
 * messages. Returns NULL with errno set.
 */
struct tg_audit_log *tg_audit_log_borrow(MDB_env *env, MDB_dbi rec, MDB_dbi node, MDB_dbi cp,
					 MDB_dbi meta, const char *dir);

#endif /* TG_AUDIT_INT_H */
