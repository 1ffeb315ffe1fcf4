/* SPDX-License-Identifier: MIT */
/*
 * jwt_cache.h — the verified-token cache of jwt.h: identities of tokens
 * that passed, keyed by the token's SHA-256 (never the token), each until
 * a time the verifier gives (its exp plus skew), at most max entries,
 * the least recently used evicted first.
 *
 * A hash table over the digest's first four bytes (already uniform: no
 * keyed hash needed, as only verified tokens get in and their digests
 * cannot be steered to one bucket without a signing key) with chains, and
 * a doubly linked LRU list, both through indices into one array
 * allocated at creation: lookup and insert are O(1) and allocate nothing.
 * Memory: max * (sizeof(struct tg_jwt_identity) + 56) bytes, about
 * 5.3 KiB per entry, 5.3 MiB at the default 1024.
 *
 * Caveats:
 *   - Expired entries are dropped when looked up or evicted, not swept.
 *   - Single-threaded.
 */
#ifndef TG_SP_JWT_CACHE_H
#define TG_SP_JWT_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "jwt.h"

struct tg_jwt_cache;

/* A cache of max entries (1..TG_JWT_CACHE_MAX); NULL with errno EINVAL or ENOMEM. */
struct tg_jwt_cache *tg_jwt_cache_new(unsigned int max);

void tg_jwt_cache_free(struct tg_jwt_cache *c);

/* Outcome of tg_jwt_cache_get(). */
enum tg_jwt_cache_res {
	TG_JWT_CACHE_MISS,
	TG_JWT_CACHE_HIT,
	TG_JWT_CACHE_EXPIRED, /* was there, past its time at now: dropped */
};

/* Copies the identity cached for sha into *id when it is valid at now. */
enum tg_jwt_cache_res tg_jwt_cache_get(struct tg_jwt_cache *c, const uint8_t sha[TG_JWT_SHA256_LEN],
				       int64_t now, struct tg_jwt_identity *id);

/*
 * Caches *id (keyed by id->token_sha256) until the time until (exclusive).
 * Returns true when that evicted another entry.
 */
bool tg_jwt_cache_put(struct tg_jwt_cache *c, const struct tg_jwt_identity *id, int64_t until);

/* Drops the entry of sha, if any. */
void tg_jwt_cache_drop(struct tg_jwt_cache *c, const uint8_t sha[TG_JWT_SHA256_LEN]);

/* Drops every entry. */
void tg_jwt_cache_clear(struct tg_jwt_cache *c);

/* Entries held. */
unsigned int tg_jwt_cache_count(const struct tg_jwt_cache *c);

#endif /* TG_SP_JWT_CACHE_H */
