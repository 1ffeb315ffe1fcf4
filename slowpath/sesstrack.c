/* SPDX-License-Identifier: MIT */
/*
 * sesstrack.c — the open sessions' counts (sesstrack.h): a fixed array of
 * chains keyed by FNV-1a of the session id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sesstrack.h"

#define BUCKETS 4096 /* a power of two */

struct tg_sesstrack {
	struct tg_sesstrack_entry *b[BUCKETS];
	size_t n, max;
	uint64_t refused;
	void (*free_rec)(void *rec);
};

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

struct tg_sesstrack *
tg_sesstrack_new(size_t max)
{
	struct tg_sesstrack *t = calloc(1, sizeof(*t));

	if (t != NULL)
		t->max = max ? max : TG_SESSTRACK_MAX;
	return t;
}

void
tg_sesstrack_free(struct tg_sesstrack *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		while (t->b[i] != NULL) {
			struct tg_sesstrack_entry *e = t->b[i];

			t->b[i] = e->next;
			if (t->free_rec != NULL)
				t->free_rec(e->rec);
			free(e);
		}
	free(t);
}

struct tg_sesstrack_entry *
tg_sesstrack_get(struct tg_sesstrack *t, const char *sid, bool create)
{
	struct tg_sesstrack_entry **head, *e;

	if (t == NULL || strlen(sid) > TG_SESSTRACK_SID_MAX)
		return NULL;
	head = &t->b[fnv1a(sid) & (BUCKETS - 1)];
	for (e = *head; e != NULL; e = e->next)
		if (strcmp(e->sid, sid) == 0)
			return e;
	if (!create)
		return NULL;
	if (t->n == t->max || (e = calloc(1, sizeof(*e))) == NULL) {
		t->refused++;
		return NULL;
	}
	snprintf(e->sid, sizeof(e->sid), "%s", sid);
	e->next = *head;
	*head = e;
	t->n++;
	return e;
}

void
tg_sesstrack_del(struct tg_sesstrack *t, const char *sid)
{
	struct tg_sesstrack_entry **p, *e;

	if (t == NULL)
		return;
	for (p = &t->b[fnv1a(sid) & (BUCKETS - 1)]; (e = *p) != NULL; p = &e->next)
		if (strcmp(e->sid, sid) == 0) {
			*p = e->next;
			if (t->free_rec != NULL)
				t->free_rec(e->rec);
			free(e);
			t->n--;
			return;
		}
}

void
tg_sesstrack_set_free(struct tg_sesstrack *t, void (*free_rec)(void *rec))
{
	if (t != NULL)
		t->free_rec = free_rec;
}

size_t
tg_sesstrack_count(const struct tg_sesstrack *t)
{
	return t != NULL ? t->n : 0;
}

uint64_t
tg_sesstrack_refused(const struct tg_sesstrack *t)
{
	return t != NULL ? t->refused : 0;
}

/* rec.obj, created if absent; NULL when out of memory or not an object. */
static json_t *
member(json_t *rec, const char *obj)
{
	json_t *o = json_object_get(rec, obj);

	if (o == NULL && json_object_set_new(rec, obj, json_object()) == 0)
		o = json_object_get(rec, obj);
	return json_is_object(o) ? o : NULL;
}

static int
set_u64(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

int
tg_sesstrack_event(struct tg_sesstrack *t, const char *sid, enum tg_sesstrack_kind kind,
		   uint64_t stmt, json_t *rec)
{
	struct tg_sesstrack_entry *e;
	json_t *o;
	int rc = 0;

	if (t == NULL)
		return 0;
	e = tg_sesstrack_get(t, sid, kind == TG_SESSTRACK_START);
	if (e == NULL)
		return 0;
	if (kind == TG_SESSTRACK_START)
		e->started = true;
	if (kind == TG_SESSTRACK_STATEMENT && stmt > e->statements)
		e->statements = stmt;
	if (kind != TG_SESSTRACK_END)
		return 0;
	if (e->started) {
		o = member(rec, "db");
		rc |= o == NULL || set_u64(o, "statements", e->statements) < 0;
	}
	if (e->recorded) {
		o = member(rec, "recording");
		rc |= o == NULL || set_u64(o, "chunks", e->chunks) < 0 ||
		      set_u64(o, "bytes", e->bytes) < 0 || set_u64(o, "events", e->events) < 0 ||
		      json_object_set_new(o, "truncated", json_boolean(e->truncated)) < 0;
		if (rc == 0 && e->truncated)
			rc |= set_u64(o, "rows_not_kept", e->dropped_rows) < 0 ||
			      set_u64(o, "bytes_not_kept", e->dropped_bytes) < 0;
		if (rc == 0 && e->lost)
			rc |= set_u64(o, "pieces_lost", e->lost) < 0;
	}
	tg_sesstrack_del(t, sid);
	return rc ? -ENOMEM : 0;
}
