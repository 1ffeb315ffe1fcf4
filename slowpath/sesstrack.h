/* SPDX-License-Identifier: MIT */
/*
 * sesstrack.h — what the slowpath keeps of each open session so that the
 * session's session.end record can state it: the number of statements
 * (the highest statement number seen, punt.h numbers them from 1) and,
 * when the session was recorded, the recording's chunks and bytes
 * (recordings.h). An evidence bundle (bundle.h) holds only the session's
 * records, each proven on its own; these counts, in the last record,
 * are what shows that none of the others was left out.
 *
 * A session is tracked from its session.start record. One the slowpath
 * did not see start (it restarted since, or the table was full) states no
 * statement count in its session.end: unknown, not zero. The recordings
 * store (recordings.h) tracks a session from its first piece too, and
 * keeps its own state in the entry (rec), which it frees before the end
 * is recorded.
 *
 * Caveats:
 *   - At most max sessions (TG_SESSTRACK_MAX by default); more are not
 *     tracked (counted). Sessions of a dataplane that died never end and
 *     stay until the slowpath restarts: a dataplane restart leaks its
 *     open sessions' entries (about 150 bytes each).
 *   - Lookups hash the session id (FNV-1a) into a fixed array of chains:
 *     O(1) for the loads the table is sized for.
 */
#ifndef TG_SP_SESSTRACK_H
#define TG_SP_SESSTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TG_SESSTRACK_MAX 65536
#define TG_SESSTRACK_SID_MAX 64

struct tg_sesstrack_entry {
	char sid[TG_SESSTRACK_SID_MAX + 1];
	bool started;	     /* from its session.start: statements is the count */
	uint64_t statements; /* the highest statement number seen */
	/* the recording (recordings.h): set by the recordings store */
	bool recorded;
	bool truncated;
	uint64_t chunks, bytes;		      /* chunks and bytes stored */
	uint64_t events;		      /* events recorded */
	uint64_t dropped_rows, dropped_bytes; /* past the per-session limit */
	uint64_t lost;			      /* pieces that never arrived */
	void *rec;			      /* the recordings store's (recordings.c) */
	struct tg_sesstrack_entry *next;
};

struct tg_sesstrack;

struct tg_sesstrack *tg_sesstrack_new(size_t max);
void tg_sesstrack_free(struct tg_sesstrack *t);

/* The entry of sid, created (at a session.start) when create is set; NULL when untracked. */
struct tg_sesstrack_entry *tg_sesstrack_get(struct tg_sesstrack *t, const char *sid, bool create);

/* What frees an entry's rec when the entry goes (the recordings store's). */
void tg_sesstrack_set_free(struct tg_sesstrack *t, void (*free_rec)(void *rec));

/* Forgets sid (after its session.end). */
void tg_sesstrack_del(struct tg_sesstrack *t, const char *sid);

/* Sessions tracked now, and those refused for a full table. */
size_t tg_sesstrack_count(const struct tg_sesstrack *t);
uint64_t tg_sesstrack_refused(const struct tg_sesstrack *t);

enum tg_sesstrack_kind {
	TG_SESSTRACK_OTHER,
	TG_SESSTRACK_START,
	TG_SESSTRACK_STATEMENT,
	TG_SESSTRACK_END,
};

/*
 * One record of session sid being made (rec, the record's fields): a
 * start begins tracking, a statement (number stmt) raises the count, an
 * end adds "db": {"statements": N} and, when recorded, "recording":
 * {"chunks", "bytes", "events", "truncated", and the rows and bytes
 * past the limit} to rec and forgets the session. Returns 0 or -ENOMEM.
 */
int tg_sesstrack_event(struct tg_sesstrack *t, const char *sid, enum tg_sesstrack_kind kind,
		       uint64_t stmt, json_t *rec);

#endif /* TG_SP_SESSTRACK_H */
