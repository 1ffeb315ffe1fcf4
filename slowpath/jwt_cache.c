/* SPDX-License-Identifier: MIT */
/*
 * jwt_cache.c — the verified-token cache (jwt_cache.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_cache.h"

#define NIL UINT32_MAX

struct entry {
	struct tg_jwt_identity id; /* id.token_sha256 is the key */
	int64_t until;
	uint32_t hnext; /* next in the bucket's chain, or in the free list */
	uint32_t prev;	/* LRU list: head is the most recent */
	uint32_t next;
};

struct tg_jwt_cache {
	unsigned int max;
	unsigned int count;
	uint32_t mask; /* buckets - 1 */
	uint32_t head; /* most recently used */
	uint32_t tail; /* least recently used: evicted first */
	uint32_t free; /* free list through hnext */
	uint32_t *buckets;
	struct entry *e;
};

static uint32_t
bucket_of(const struct tg_jwt_cache *c, const uint8_t *sha)
{
	uint32_t h;

	memcpy(&h, sha, sizeof(h));
	return h & c->mask;
}

static void
lru_unlink(struct tg_jwt_cache *c, uint32_t i)
{
	struct entry *x = &c->e[i];

	if (x->prev != NIL)
		c->e[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next != NIL)
		c->e[x->next].prev = x->prev;
	else
		c->tail = x->prev;
	x->prev = x->next = NIL;
}

static void
lru_push(struct tg_jwt_cache *c, uint32_t i)
{
	struct entry *x = &c->e[i];

	x->prev = NIL;
	x->next = c->head;
	if (c->head != NIL)
		c->e[c->head].prev = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

/* Finds sha's entry; *link is where the chain points at it (for removal). */
static uint32_t
find(struct tg_jwt_cache *c, const uint8_t *sha, uint32_t **link)
{
	uint32_t *l = &c->buckets[bucket_of(c, sha)];

	while (*l != NIL) {
		if (memcmp(c->e[*l].id.token_sha256, sha, TG_JWT_SHA256_LEN) == 0) {
			if (link != NULL)
				*link = l;
			return *l;
		}
		l = &c->e[*l].hnext;
	}
	return NIL;
}

static void
remove_entry(struct tg_jwt_cache *c, uint32_t i, uint32_t *link)
{
	*link = c->e[i].hnext;
	lru_unlink(c, i);
	/* the identity is no secret, but it was a credential's content */
	explicit_bzero(&c->e[i].id, sizeof(c->e[i].id));
	c->e[i].hnext = c->free;
	c->free = i;
	c->count--;
}

struct tg_jwt_cache *
tg_jwt_cache_new(unsigned int max)
{
	struct tg_jwt_cache *c;
	uint32_t nb = 1, i;

	if (max == 0 || max > TG_JWT_CACHE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	/* at least twice the entries: chains of about one */
	while (nb < 2 * max)
		nb <<= 1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->buckets = malloc(nb * sizeof(c->buckets[0]));
	c->e = calloc(max, sizeof(c->e[0]));
	if (c->buckets == NULL || c->e == NULL) {
		tg_jwt_cache_free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->max = max;
	c->mask = nb - 1;
	for (i = 0; i < nb; i++)
		c->buckets[i] = NIL;
	c->head = c->tail = NIL;
	c->free = NIL;
	for (i = max; i-- > 0;) {
		c->e[i].hnext = c->free;
		c->e[i].prev = c->e[i].next = NIL;
		c->free = i;
	}
	return c;
}

void
tg_jwt_cache_free(struct tg_jwt_cache *c)
{
	if (c == NULL)
		return;
	if (c->e != NULL)
		explicit_bzero(c->e, (size_t)c->max * sizeof(c->e[0]));
	free(c->e);
	free(c->buckets);
	free(c);
}

enum tg_jwt_cache_res
tg_jwt_cache_get(struct tg_jwt_cache *c, const uint8_t sha[TG_JWT_SHA256_LEN], int64_t now,
		 struct tg_jwt_identity *id)
{
	uint32_t *link = NULL;
	uint32_t i = find(c, sha, &link);

	if (i == NIL)
		return TG_JWT_CACHE_MISS;
	if (now >= c->e[i].until) {
		remove_entry(c, i, link);
		return TG_JWT_CACHE_EXPIRED;
	}
	lru_unlink(c, i);
	lru_push(c, i);
	*id = c->e[i].id;
	return TG_JWT_CACHE_HIT;
}

bool
tg_jwt_cache_put(struct tg_jwt_cache *c, const struct tg_jwt_identity *id, int64_t until)
{
	uint32_t *link = NULL;
	uint32_t i = find(c, id->token_sha256, &link);
	uint32_t b;
	bool evicted = false;

	if (i != NIL) {
		/* the same token again: refresh in place */
		c->e[i].id = *id;
		c->e[i].until = until;
		lru_unlink(c, i);
		lru_push(c, i);
		return false;
	}
	if (c->free == NIL) {
		uint32_t victim = c->tail;

		/* the tail exists: the list is full (free is empty, max >= 1) */
		i = find(c, c->e[victim].id.token_sha256, &link);
		remove_entry(c, i, link);
		evicted = true;
	}
	i = c->free;
	c->free = c->e[i].hnext;
	c->e[i].id = *id;
	c->e[i].until = until;
	b = bucket_of(c, id->token_sha256);
	c->e[i].hnext = c->buckets[b];
	c->buckets[b] = i;
	lru_push(c, i);
	c->count++;
	return evicted;
}

void
tg_jwt_cache_drop(struct tg_jwt_cache *c, const uint8_t sha[TG_JWT_SHA256_LEN])
{
	uint32_t *link = NULL;
	uint32_t i = find(c, sha, &link);

	if (i != NIL)
		remove_entry(c, i, link);
}

void
tg_jwt_cache_clear(struct tg_jwt_cache *c)
{
	while (c->head != NIL)
		tg_jwt_cache_drop(c, c->e[c->head].id.token_sha256);
}

unsigned int
tg_jwt_cache_count(const struct tg_jwt_cache *c)
{
	return c->count;
}
