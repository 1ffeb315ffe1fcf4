/* SPDX-License-Identifier: MIT */
/*
 * bundle.h — the evidence bundle of one session: a self-contained file
 * that an investigator checks with nothing but the log's public key, on
 * any machine, with no access to the appliance (issue 13 item 3;
 * evidence.md section 2.8, "per-session bundle": records + indices +
 * paths + checkpoint; C2SP tlog-proof is the same idea for one entry).
 *
 * Why records with inclusion proofs, not a slice of the log: a session's
 * records are spread among every other session's, and a bundle must not
 * carry other users' statements. An RFC 9162 inclusion proof against one
 * signed checkpoint shows each record to be in the log as signed, in
 * O(log n) hashes, without the records around it.
 *
 * FORMAT, version 1. One JSON object (UTF-8, any member order):
 *
 *   {"bundle": "tollgate-evidence", "version": 1,
 *    "origin": ORIGIN, "session": SESSION_ID,
 *    "key": {"name": ORIGIN, "id": HEX(4), "ed25519": BASE64(32)},
 *    "checkpoint": {"size": S, "note": "the C2SP signed note of MTH(S)"},
 *    "records": [{"seq": N, "record": "the record's bytes",
 *                 "path": [HEX(32), ...]}, ...],
 *    "chunks": [{"seq": N, "data": BASE64}, ...]}
 *
 * records: every record of the log below S whose session.id is SESSION_ID,
 * by ascending seq, each with its inclusion proof in the tree of S
 * records (RFC 9162 2.1.3.1, leaf side first). chunks: the recording's
 * bytes, each under the seq of the recording.chunk record that states its
 * SHA-256 (recording.h); may be absent or empty (no recording kept, or it
 * expired).
 *
 * key is informational: the verifier is given the key it trusts (pinned)
 * and refuses a bundle whose key differs. Without a pinned key it uses the
 * bundle's and says so, which proves integrity against that key only.
 *
 * Verification (tg_bundle_verify), in order; the first failure is the
 * verdict, with the fault's name and the seq it is at:
 *   1. the shape above (malformed);
 *   2. the key: bundle's = pinned (key); the note verifies with it for
 *      the origin (checkpoint_signature), is a checkpoint of the origin
 *      and of size S (checkpoint_malformed);
 *   3. each record: seq ascending, below S (record_order); canonical
 *      JSON of the origin with that seq and the session's id
 *      (record_malformed); its leaf and path give the note's root
 *      (proof: the record or its path was changed);
 *   4. the session is whole: a session.start record; db.query records
 *      for every statement number from 1 to the highest any record
 *      names, which is the count session.end states (db.statements,
 *      sesstrack.h) when it states one; recording.chunk records
 *      numbered 0.. without a hole, each starting where the one before
 *      ended, as many as session.end states (recording.chunks)
 *      (record_missing);
 *   5. each chunk: under a recording.chunk record of the bundle, once;
 *      its SHA-256 and length are those the record states
 *      (chunk_modified). A chunk record without its chunk is reported as
 *      expired (the record stays in the log after retention removed the
 *      bytes), not as a fault.
 *
 * Caveats:
 *   - The checkpoint signs the log up to S, not the session's end: a
 *     session still open at S, or one whose last records (session.end
 *     with them) were left out, shows no session.end; the report says
 *     "ended": false, and the statements it holds are proven, not that
 *     none follow. A session.end record carries the statement count and
 *     the recording's chunk count (when the slowpath saw the session
 *     start), so a bundle that drops trailing records is caught.
 *   - Bundles are read whole into memory; TG_BUNDLE_MAX caps them.
 */
#ifndef TG_BUNDLE_H
#define TG_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "note.h"

#define TG_BUNDLE_NAME "tollgate-evidence"
#define TG_BUNDLE_VERSION 1
#define TG_BUNDLE_MAX ((size_t)256 << 20) /* bytes of a bundle file */
#define TG_BUNDLE_SESSION_MAX 64	  /* bytes of a session id */

#define TG_BUNDLE_FAULTS(X)                                                                    \
	X(NONE, "none", "no fault")                                                            \
	X(MALFORMED, "malformed", "not a well-formed evidence bundle")                         \
	X(KEY, "key", "the bundle's key is not the given key")                                 \
	X(CHECKPOINT_SIGNATURE, "checkpoint_signature", "checkpoint not signed by the key")    \
	X(CHECKPOINT_MALFORMED, "checkpoint_malformed", "checkpoint note malformed")           \
	X(RECORD_ORDER, "record_order", "records out of order or beyond the checkpoint")       \
	X(RECORD_MALFORMED, "record_malformed", "record is not a record of the session")       \
	X(PROOF, "proof", "a record or its inclusion proof was changed")                       \
	X(RECORD_MISSING, "record_missing", "a record of the session is missing")              \
	X(CHUNK_MODIFIED, "chunk_modified", "a recording chunk differs from its audit record") \
	X(CHUNK_UNKNOWN, "chunk_unknown", "a recording chunk no audit record states")

/* clang-format off */
enum tg_bundle_fault {
#define TG_BUNDLE_X(e, name, text) TG_BUNDLE_FAULT_##e,
	TG_BUNDLE_FAULTS(TG_BUNDLE_X)
#undef TG_BUNDLE_X
	TG_BUNDLE_FAULT_MAX
};
/* clang-format on */

extern const char *const tg_bundle_fault_names[TG_BUNDLE_FAULT_MAX];

struct tg_bundle_report {
	bool ok;
	enum tg_bundle_fault fault;
	int64_t seq; /* the record (or chunk's record) at fault, -1 when none */
	char detail[320];
	char origin[TG_NOTE_NAME_MAX + 1];
	char session[TG_BUNDLE_SESSION_MAX + 1];
	bool pinned; /* verified with the caller's key, not the bundle's */
	uint8_t key_id[TG_NOTE_KEY_ID];
	uint64_t size;		      /* the checkpoint's */
	uint64_t records, statements; /* records verified; the highest statement number */
	uint64_t chunks, chunks_expired;
	uint64_t recording_bytes; /* of the chunks present */
	bool ended;		  /* a session.end record is in the bundle */
};

/*
 * Verifies the bundle in buf[0..len) against pub (the pinned key; NULL:
 * the bundle's own). Returns 0 with the verdict in rep, or -ENOMEM.
 */
int tg_bundle_verify(const char *buf, size_t len, const uint8_t *pub, struct tg_bundle_report *rep);

/* The verdict as JSON (tgctl audit verify --bundle -o json); NULL when out of memory. */
json_t *tg_bundle_report_json(const struct tg_bundle_report *rep);

/*
 * A verified bundle's contents for a reader (replay): the parsed bundle
 * (*bundle, the caller json_decref()s it) after tg_bundle_verify() said
 * ok. Returns 0, -EBADMSG (not ok: rep says why) or -ENOMEM.
 */
int tg_bundle_load(const char *buf, size_t len, const uint8_t *pub, json_t **bundle,
		   struct tg_bundle_report *rep);

/*
 * Builds the bundle of session sid from a reader of the log, against the
 * latest signed checkpoint, verified with pub; chunk_fn (may be NULL)
 * gives the bytes of the recording chunk stated by record seq (0 with
 * *data malloc'd, or -ENOENT when the recording expired). Reads every
 * record below the checkpoint once in one read transaction (a memmem()
 * for the session id each, a parse of the session's own): time linear in
 * the log's size, O(log size) hashes a proof. Returns 0 with
 * *out, -ENOENT (no checkpoint yet, or no record of sid under it),
 * -EBADMSG or -errno, the reason in err.
 */
typedef int (*tg_bundle_chunk_fn)(void *arg, uint64_t seq, const json_t *rec, uint8_t **data,
				  size_t *len);

int tg_bundle_build(struct tg_audit_log *l, const char *sid, const uint8_t pub[TG_NOTE_PUB],
		    tg_bundle_chunk_fn chunk_fn, void *chunk_arg, json_t **out, char *err,
		    size_t errlen);

#endif /* TG_BUNDLE_H */
