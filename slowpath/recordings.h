/* SPDX-License-Identifier: MIT */
/*
 * recordings.h — the recordings store: each session's recording (what the
 * client saw, after masking; dataplane/record.h) as JSON lines, cut into
 * chunks kept in an LMDB environment of their own, apart from the audit
 * log and with its own size cap (issue 13; NIST SP 800-53 AU-14).
 *
 * Evidence. Each chunk's SHA-256, index, offset and length go into the
 * audit chain as a recording.chunk record of the session, appended once
 * the chunk is in this store (synced), so a chunk changed here no longer
 * matches its record, and a bundle (bundle.h) carries both. The session's
 * session.end record states the chunk count (sesstrack.h). Retention
 * removes chunks, never their records: an expired chunk is known to have
 * been there, and a recording.expired record says when and why.
 *
 * A chunk is JSON lines, one event each, keys sorted, no spaces:
 *   {"ns":T,"type":"statement","stmt":N,"kind":"query"|"execute"|
 *     "function_call","verdict":"allow"|"log"|"block","text":S,"params":S}
 *   {"ns":T,"type":"columns","ncols":N,"names":[S,...]}
 *   {"ns":T,"type":"row","values":[S|null,...],"cut":true (a value cut)}
 *   {"ns":T,"type":"complete","tag":S}
 *   {"ns":T,"type":"error"|"notice","severity":S,"code":S,"message":S,
 *     "detail":S,"hint":S}               (those the server sent)
 *   {"ns":T,"type":"ready","status":"I"|"T"|"E"}
 *   {"ns":T,"type":"skipped","rows":N,"bytes":N}   (past the session's limit)
 *   {"type":"lost","pieces":N}          (pieces the dataplane could not send)
 *   {"type":"malformed"}                (a piece the codec refused, counted)
 *   {"ns":T,"type":"end"}               (the session ended)
 * T is CLOCK_REALTIME nanoseconds; strings are the bytes the client got,
 * with invalid UTF-8 replaced (U+FFFD).
 *
 * LMDB layout (the directory: data.mdb, lock.mdb):
 *   chunk  key sid 0x00 index (u32 BE)      value t (u64 BE), the chunk
 *   age    key t (u64 BE) sid 0x00 index     value length (u32 BE)
 *   meta   "bytes" (u64 BE): chunk bytes kept
 * One synchronous write transaction a chunk (two fsyncs).
 *
 * Retention (tg_recordings_retain(), each minute, and when the map is
 * full): the oldest chunks go, while the chunks hold more than max_bytes
 * or are older than max_age_s.
 *
 * Caveats:
 *   - Pieces are acknowledged to the dataplane with the audit batch they
 *     came in, but a chunk is cut only every chunk_bytes and at the
 *     session's end: a slowpath that dies loses the pieces of open
 *     sessions not yet in a chunk, and the recording of such a session
 *     restarts at the next piece with nothing to say what is missing
 *     (the piece numbers seen died with it). The audit records of its
 *     statements stay, and its session.end states no statement count.
 *   - One session's pending JSON is in memory until its chunk is cut: at
 *     most chunk_bytes plus a piece's worth.
 *   - Single-threaded, like the slowpath's event loop.
 */
#ifndef TG_SP_RECORDINGS_H
#define TG_SP_RECORDINGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sesstrack.h"

#define TG_RECORDINGS_CHUNK_DEFAULT (64u << 10)
#define TG_RECORDINGS_MAP_DEFAULT ((size_t)256 << 20)

struct tg_recordings_config {
	const char *dir;      /* created (0700) if absent */
	size_t map_size;      /* the store's cap; 0: TG_RECORDINGS_MAP_DEFAULT */
	uint32_t chunk_bytes; /* 0: TG_RECORDINGS_CHUNK_DEFAULT */
	uint64_t max_bytes;   /* retention by size; 0: 3/4 of the map */
	uint64_t max_age_s;   /* retention by age; 0: none */
};

/* Appends an audit record (recording.chunk, recording.expired) of rec's fields. */
typedef int (*tg_recordings_record_fn)(void *arg, json_t *rec);

#define TG_RECORDINGS_COUNTERS(X)                                        \
	X(PIECES, "pieces", "RECORD pieces taken")                       \
	X(PIECES_LOST, "pieces_lost", "pieces missing in the numbering") \
	X(MALFORMED, "malformed", "pieces refused: malformed items")     \
	X(CHUNKS, "chunks", "chunks stored")                             \
	X(BYTES, "bytes", "chunk bytes stored")                          \
	X(NOT_STORED, "not_stored", "chunks the store had no room for")  \
	X(EXPIRED, "expired", "chunks removed by retention")             \
	X(ERRORS, "errors", "store or record errors")

enum tg_recordings_counter {
#define TG_RECORDINGS_X(e, n, d) TG_RECORDINGS_CNT_##e,
	TG_RECORDINGS_COUNTERS(TG_RECORDINGS_X)
#undef TG_RECORDINGS_X
		TG_RECORDINGS_CNT_MAX
};

extern const char *const tg_recordings_counter_names[TG_RECORDINGS_CNT_MAX];

struct tg_recordings;

/*
 * Opens (creates) the store in cfg->dir. Sessions are tracked in track;
 * records go through record_fn. NULL with errno and err set.
 */
struct tg_recordings *tg_recordings_open(const struct tg_recordings_config *cfg,
					 struct tg_sesstrack *track,
					 tg_recordings_record_fn record_fn, void *arg, char *err,
					 size_t errlen);
void tg_recordings_close(struct tg_recordings *rs);
const char *tg_recordings_error(const struct tg_recordings *rs);
const uint64_t *tg_recordings_counters(const struct tg_recordings *rs);

/*
 * A RECORD piece of session sid (punt.h): its items become JSON lines of
 * the session's pending chunk, cut once past chunk_bytes. Returns 0, or
 * -errno when a chunk or its record could not be written (tg_recordings_error()).
 * A malformed piece is counted and noted, not an error.
 */
int tg_recordings_piece(struct tg_recordings *rs, const char *sid, uint32_t piece,
			const uint8_t *data, size_t len);

/* The session ended at t_ns: its last chunk is cut. Before its session.end record. */
int tg_recordings_end(struct tg_recordings *rs, const char *sid, uint64_t t_ns);

/*
 * The bytes of chunk index of sid: 0 with *data (malloc'd) and *len, or
 * -ENOENT (never stored, or expired).
 */
int tg_recordings_chunk(struct tg_recordings *rs, const char *sid, uint64_t index, uint8_t **data,
			size_t *len);

/* tg_recordings_chunk() as bundle.h's tg_bundle_chunk_fn, arg the store: by the record's fields. */
int tg_recordings_bundle_chunk(void *arg, uint64_t seq, const json_t *rec, uint8_t **data,
			       size_t *len);

/* Retention at now_ns (realtime). Returns the chunks removed, or -errno. */
int tg_recordings_retain(struct tg_recordings *rs, uint64_t now_ns);

/*
 * The items of one piece as JSON lines appended to *buf (*len, *cap;
 * realloc'd), with the row being assembled in *row (an array or NULL, the
 * caller's). Returns the lines written, or -EBADMSG at the first
 * malformed item (the lines before it stay), -ENOMEM. Pure: for the
 * store and its fuzz target.
 */
int tg_recordings_items(const uint8_t *data, size_t len, char **buf, size_t *blen, size_t *bcap,
			json_t **row, struct tg_sesstrack_entry *e);

#endif /* TG_SP_RECORDINGS_H */
