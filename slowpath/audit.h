/* SPDX-License-Identifier: MIT */
/*
 * audit.h — the tamper-evident audit log: canonical records in LMDB, a
 * hash chain and an RFC 9162 Merkle tree over them, Ed25519-signed C2SP
 * checkpoints; and the offline verifier and proofs, which need only the
 * LMDB directory and the public key.
 *
 * Why a chain and a tree (evidence.md sections 1, 2): the chain lets a
 * receiver of single records (a SIEM: seq, prev_chain) see a gap or a
 * rewrite without the tree; the tree gives O(log n) inclusion and
 * consistency proofs against a signed checkpoint. The verifier recomputes
 * both from the same leaves and checks every stored node against them,
 * so neither vouches for records the other does not cover (immudb
 * GHSA-672p checked linear proofs against nothing).
 *
 * Writing. tg_audit_append() encodes a record, hashes it into the chain
 * and the tree (in memory: the tree's right edge, 2 hashes a level) and
 * buffers it; tg_audit_commit() writes the whole batch in one LMDB write
 * transaction, every put an MDB_APPEND, and returns once LMDB has synced
 * it (no MDB_NOSYNC, no MDB_NOMETASYNC: two fsyncs per commit, the price
 * of "acknowledged means on disk"; group commit amortises it). A
 * checkpoint (a log.checkpoint record, then a signed note over the tree
 * that includes it) is added to the batch every checkpoint_records
 * records, by tg_audit_tick() once checkpoint_seconds have passed over
 * unsigned records, and by tg_audit_checkpoint() on demand (session end).
 *
 * ON-DISK FORMAT, version 1 — what an independent verifier implements.
 *
 * The directory is an LMDB environment (data.mdb, lock.mdb) with four
 * named databases; integers in keys and values are big-endian.
 *
 *   rec   key seq (u64)                  value: record seq's bytes
 *   node  key last (u64) || level (u8)   value: 32-byte hash
 *   cp    key size (u64)                 value: signed checkpoint note
 *   meta  key ASCII name                 value: see below
 *
 * rec: seq 0, 1, 2, ... without a hole. Each value is one record, a JSON
 * object in the canonical encoding of canon.h (so re-encoding the parsed
 * record gives the same bytes), at most TG_AUDIT_RECORD_MAX bytes.
 *
 * Hashes, SHA-256 throughout:
 *   leaf_i  = SHA-256(0x00 || rec_i)                   (RFC 9162 2.1.1)
 *   node    = SHA-256(0x01 || left || right)           (RFC 9162 2.1.1)
 *   C_0     = SHA-256(origin)
 *   C_{i+1} = SHA-256(0x02 || C_i || leaf_i)
 * Record i carries prev_chain = hex(C_i); the chain head of a log of n
 * records is C_n. MTH(n) is the RFC 9162 root of leaves 0..n-1.
 *
 * node: node(level, index) of merkle.h, the root of the complete subtree
 * of leaves [index << level, (index + 1) << level), level 0 being the leaf
 * hashes, is stored under the number of its last leaf,
 * last = ((index + 1) << level) - 1, then its level. So keyed, the nodes
 * that leaf i completes, (i, 0) < (i, 1) < ..., sort after every node
 * written before them and every write is an MDB_APPEND; a (level, index)
 * key would make every write an insert into the middle of the tree. About
 * 2n nodes for n records, each written once: enough for any root and any
 * proof of any past size.
 *
 * cp: key n, the note that signs MTH(n). Record n - 1 is always the
 * log.checkpoint record that the note's tree ends with.
 *
 * meta:
 *   "schema_v"    u32  1 (this format)
 *   "origin"      the log's name (the C2SP origin and key name)
 *   "size"        u64  records committed
 *   "chain_head"  32 bytes, C_size
 *   "key_id"      4 bytes, the C2SP key ID of the signing key
 *   "pubkey"      32 bytes, the signing key's public half; a convenience
 *                 for operators, never trusted by a verifier
 *   "clean"       u8, 1 once the writer closed the store, 0 while it is
 *                 open: 0 at open means the last writer crashed
 * meta, like everything else, changes only inside a batch's transaction,
 * so a crash leaves the store at the last committed batch. Beside LMDB's
 * files the directory holds writer.lock, an flock(2) that keeps a second
 * writer out; it is no part of the evidence.
 *
 * Records. The store sets these members:
 *   "schema_v"   1
 *   "origin"     the log's origin
 *   "seq"        the record's number
 *   "prev_chain" hex(C_seq), 64 lowercase hex digits
 *   "ts"         RFC 3339 UTC with microseconds, "2025-01-31T23:59:59.123456Z"
 * The caller supplies the event: at least
 *   "event": {"type": T}, T one of TG_AUDIT_EVENT_TYPES
 *   "outcome": "success" | "failure" | "unknown"
 * and the other fields of evidence.md section 3, a dotted name such as
 * event.type or src.ip being member "type" of object "event". The leaf is
 * not a member: it is derived from the bytes.
 *
 * Checkpoints. At size S the store appends record S:
 *   {"checkpoint": {"chain_head": hex(C_S), "key_id": hex(key ID),
 *                   "root": hex(MTH(S)), "size": S},
 *    "event": {"type": "log.checkpoint"}, "outcome": "success",
 *    "reason_code": "records" | "time" | "requested" | "close", ...}
 * and stores under cp key S + 1 the C2SP signed note (note.h)
 *   "<origin>\n<S + 1>\n<base64(MTH(S + 1))>\n\n— <origin> <base64(key ID || sig)>\n"
 * signed with the Ed25519 key named origin. The signed tree ends with the
 * checkpoint record, so the signature covers the chain head too, without
 * extension lines in the note.
 *
 * Gaps. {"event": {"type": "log.gap"}, "outcome": "unknown",
 * "reason_code": R, "gap": {"lost": N}} says that N records (omitted when
 * unknown) that were acknowledged in fast mode were lost before this one
 * (issue 5 item 7); the chain itself has no hole.
 *
 * Verification (tg_audit_log_verify) walks rec in key order with one read
 * transaction, and for each i: the key is i; the record parses, seq = i,
 * origin matches, prev_chain = hex(C_i); leaf_i matches node(0, i) and
 * every node leaf i completes matches the recomputed one; the record is
 * canonical and has schema_v 1, a ts, a known event.type and an outcome;
 * a log.checkpoint record states size i, C_i, MTH(i) and the key ID, and
 * cp holds a note for i + 1 whose signature verifies with the given key,
 * whose origin and size match, whose root is the recomputed MTH(i + 1),
 * and which a consistency proof from stored nodes links to the previous
 * checkpoint; a note at any other size is refused.
 * After the walk: meta's size and chain head match, no checkpoint (stored
 * or anchored) signs more records than there are. The first failure is
 * reported with the record index it is at.
 *
 * Caveats:
 *   - Records after the last checkpoint are not signed: whoever can write
 *     the directory can rewrite that tail, or cut the log back to a
 *     checkpoint and delete the later notes, and only a checkpoint kept
 *     elsewhere (an anchor: SIEM, witness) shows it. Hence checkpoints
 *     every T seconds, and the anchors argument of tg_audit_log_verify().
 *   - When the checkpoint record's note is missing or forged, the index
 *     reported is that of the checkpoint record (S), the last one it
 *     covers.
 *   - One signing key per log: a store refuses to open with a key whose
 *     ID differs from meta's (rotation is a new key name: not yet).
 *   - The store is single-threaded: one handle, one thread, like the
 *     slowpath's event loop.
 */
#ifndef TG_AUDIT_H
#define TG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "merkle.h"
#include "note.h"

#define TG_AUDIT_SCHEMA_V 1
#define TG_AUDIT_HASH 32
#define TG_AUDIT_RECORD_MAX (64 * 1024)
#define TG_AUDIT_CHECKPOINT_RECORDS 1024 /* evidence.md 2.5 */
#define TG_AUDIT_CHECKPOINT_SECONDS 60
#define TG_AUDIT_MAP_SIZE ((size_t)1 << 30) /* 1 GiB: ~2.5M records of 300 B */
#define TG_AUDIT_BATCH_MAX 65536	    /* records buffered between commits */

/* The record types (evidence.md section 3), as enum values and names. */
#define TG_AUDIT_EVENT_TYPES(X)                     \
	X(AUTHN_SUCCESS, "authn.success")           \
	X(AUTHN_FAILURE, "authn.failure")           \
	X(SESSION_START, "session.start")           \
	X(SESSION_END, "session.end")               \
	X(DB_QUERY, "db.query")                     \
	X(POLICY_DENY, "policy.deny")               \
	X(ADMIN_CHANGE, "admin.change")             \
	X(AUDIT_FAILURE, "audit.failure")           \
	X(LOG_CHECKPOINT, "log.checkpoint")         \
	X(LOG_GAP, "log.gap")                       \
	X(DB_QUERY_BEGIN, "db.query.begin")         \
	X(AUTHN_EXPIRED, "authn.expired")           \
	X(AUDIT_FULL, "audit.full")                 \
	X(AUDIT_RESUMED, "audit.resumed")           \
	X(GRANT_ADD, "grant.add")                   \
	X(GRANT_REVOKE, "grant.revoke")             \
	X(GRANT_EXPIRED, "grant.expired")           \
	X(APPROVAL_REQUESTED, "approval.requested") \
	X(APPROVAL_VOTE, "approval.vote")           \
	X(APPROVAL_APPROVED, "approval.approved")   \
	X(APPROVAL_DENIED, "approval.denied")       \
	X(APPROVAL_EXPIRED, "approval.expired")     \
	X(APPROVAL_CANCELLED, "approval.cancelled") \
	X(FLOW_START, "flow.start")                 \
	X(FLOW_END, "flow.end")                     \
	X(FLOW_REFUSED, "flow.refused")               \
	X(REC_CHUNK, "recording.chunk")             \
	X(REC_EXPIRED, "recording.expired")

/* clang-format off */
enum tg_audit_event_type {
#define TG_AUDIT_X(e, s) TG_AUDIT_EV_##e,
	TG_AUDIT_EVENT_TYPES(TG_AUDIT_X)
#undef TG_AUDIT_X
	TG_AUDIT_EV_MAX
};
/* clang-format on */

extern const char *const tg_audit_event_names[TG_AUDIT_EV_MAX];

/* The type named s, or -1. */
int tg_audit_event_type(const char *s);

/* ------------------------------------------------------------------ */
/* The writer                                                          */

struct tg_audit_config {
	const char *origin;	     /* log name: printable ASCII, no space, no '+' */
	const char *dir;	     /* the LMDB environment; created (0700) if absent */
	const char *key_path;	     /* Ed25519 PEM PKCS#8; created (0600) if absent */
	uint32_t checkpoint_records; /* 0: TG_AUDIT_CHECKPOINT_RECORDS */
	uint32_t checkpoint_seconds; /* 0: TG_AUDIT_CHECKPOINT_SECONDS */
	size_t map_size;	     /* LMDB map, bytes; 0: TG_AUDIT_MAP_SIZE */
	uint32_t batch_max;	     /* 0: TG_AUDIT_BATCH_MAX */
	/* The wall clock of "ts"; NULL: clock_gettime(CLOCK_REALTIME). */
	void (*clock)(struct timespec *now);
};

struct tg_audit;

/*
 * Opens the store in cfg->dir, creating the environment, its databases
 * and the signing key on first start. An existing store must have the
 * same origin and key. Returns the handle, or NULL with errno set and the
 * reason in err.
 */
struct tg_audit *tg_audit_open(const struct tg_audit_config *cfg, char *err, size_t errlen);

/*
 * Commits what is buffered, with a last checkpoint if records are
 * unsigned, marks the store clean and frees the handle. Returns 0 or the
 * commit's -errno (the store then stays as of the last good commit and
 * is not marked clean).
 */
int tg_audit_close(struct tg_audit *a);

/* The reason for the last failure of a call on a, one line. */
const char *tg_audit_error(const struct tg_audit *a);

/*
 * Appends a record of the event fields in ev (an object, not modified),
 * adding the store's members; *seq (may be NULL) gets its number. Adds a
 * checkpoint after it when checkpoint_records are unsigned. Nothing is
 * durable before tg_audit_commit(). Returns 0, -EINVAL (not a valid event:
 * missing or unknown event.type, no outcome, a store member set, a
 * log.* type), -EMSGSIZE (encoded over TG_AUDIT_RECORD_MAX), -EILSEQ
 * (invalid UTF-8), -ENOBUFS (batch_max records are waiting for a commit)
 * or -ENOMEM.
 */
int tg_audit_append(struct tg_audit *a, const json_t *ev, uint64_t *seq);

/*
 * Appends a log.gap record: lost records (-1: unknown) were acknowledged
 * but never made durable, for reason (e.g. "unclean_shutdown").
 */
int tg_audit_append_gap(struct tg_audit *a, const char *reason, int64_t lost, uint64_t *seq);

/*
 * Adds a checkpoint to the batch if any record is unsigned (otherwise does
 * nothing), with reason_code reason ("requested" when NULL). Commit to
 * make it durable.
 */
int tg_audit_checkpoint(struct tg_audit *a, const char *reason);

/*
 * Writes the batch in one synchronous write transaction. On return 0 every
 * record appended so far is durable; *durable (may be NULL) gets the
 * durable size. On failure nothing of the batch is written and it stays
 * buffered for a retry: -ENOSPC (the LMDB map is full: raise map_size),
 * -EIO or another -errno; tg_audit_error() says which.
 */
int tg_audit_commit(struct tg_audit *a, uint64_t *durable);

/*
 * The event loop's timer: now_ms is a monotonic clock in milliseconds.
 * When records have been unsigned for checkpoint_seconds (counted from the
 * first tick that saw them), adds a checkpoint and commits. Returns 1 when
 * it did (then *durable is set), 0 when nothing was due, or -errno.
 */
int tg_audit_tick(struct tg_audit *a, uint64_t now_ms, uint64_t *durable);

/* Did the previous writer stop without tg_audit_close()? Then fast-mode records may be lost. */
bool tg_audit_unclean(const struct tg_audit *a);

/*
 * Cursors: named u64 values kept in meta ("cursor." name) and written in
 * the same transaction as the batch, so a cursor is durable exactly when
 * the records it counts are (the slowpath keeps each dataplane
 * instance's last event appended; SIEM sinks will keep what they
 * delivered). Names are 1..TG_AUDIT_CURSOR_NAME_MAX - 1 printable bytes;
 * at most TG_AUDIT_CURSORS_MAX change per batch. set() returns 0,
 * -EINVAL or -ENOBUFS; get() returns 0 with *v (the batch's value if one
 * is set, else the committed one), -ENOENT, or -errno.
 */
#define TG_AUDIT_CURSOR_NAME_MAX 48
#define TG_AUDIT_CURSORS_MAX 64
int tg_audit_cursor_set(struct tg_audit *a, const char *name, uint64_t v);
int tg_audit_cursor_get(struct tg_audit *a, const char *name, uint64_t *v);

/*
 * How full the store is (audit_space.h decides what that means):
 * map_used is the LMDB map's high-water mark (its last page in use, plus
 * one, times the page size: the store only appends, so pages freed by
 * copy-on-write are reused and the mark grows with the data), map_size
 * the map; disk_free the bytes an unprivileged writer may still take on
 * the store's filesystem (statvfs f_bavail), disk_known false when
 * statvfs failed. Costs two LMDB calls and one statvfs(2). Returns 0 or
 * -errno (mdb_env_info cannot fail on an open environment).
 */
struct tg_audit_usage {
	uint64_t map_used;
	uint64_t map_size;
	uint64_t disk_free;
	bool disk_known;
};

int tg_audit_usage(struct tg_audit *a, struct tg_audit_usage *u);

/* Records appended (durable or buffered), and records durable. */
uint64_t tg_audit_size(const struct tg_audit *a);
uint64_t tg_audit_durable(const struct tg_audit *a);

/* The signing key's public half and C2SP key ID (key name: the origin). */
void tg_audit_public_key(const struct tg_audit *a, uint8_t pub[TG_NOTE_PUB],
			 uint8_t key_id[TG_NOTE_KEY_ID]);

/* ------------------------------------------------------------------ */
/* The reader: verification and proofs, read-only                     */

/* What verification can find wrong, with a short name for -o json. */
#define TG_AUDIT_FAULTS(X)                                                                  \
	X(NONE, "none", "no fault")                                                         \
	X(META, "meta", "store metadata is missing or malformed")                           \
	X(RECORD_MISSING, "record_missing", "record missing")                               \
	X(RECORD_EXTRA, "record_extra", "record that should not exist")                     \
	X(RECORD_MALFORMED, "record_malformed", "record is not a valid record")             \
	X(SEQ, "seq", "seq does not match the record's position")                           \
	X(ORIGIN, "origin", "origin does not match the log's")                              \
	X(PREV_CHAIN, "prev_chain", "prev_chain does not match the chain")                  \
	X(RECORD_MODIFIED, "record_modified", "record differs from the stored tree")        \
	X(NODE, "node", "stored tree node differs from the records")                        \
	X(NODE_MISSING, "node_missing", "stored tree node missing")                         \
	X(CHECKPOINT_RECORD, "checkpoint_record", "checkpoint record is wrong")             \
	X(CHECKPOINT_MISSING, "checkpoint_missing", "signed checkpoint missing")            \
	X(CHECKPOINT_MALFORMED, "checkpoint_malformed", "checkpoint note malformed")        \
	X(CHECKPOINT_SIGNATURE, "checkpoint_signature", "checkpoint not signed by the key") \
	X(CHECKPOINT_ROOT, "checkpoint_root", "checkpoint root differs from the records")   \
	X(CHECKPOINT_CONSISTENCY, "checkpoint_consistency", "checkpoints inconsistent")     \
	X(TRUNCATED, "truncated", "log truncated")                                          \
	X(CHAIN_HEAD, "chain_head", "chain head in metadata differs")                       \
	X(ANCHOR, "anchor", "anchored checkpoint differs from the records")

/* clang-format off */
enum tg_audit_fault {
#define TG_AUDIT_X(e, name, text) TG_AUDIT_FAULT_##e,
	TG_AUDIT_FAULTS(TG_AUDIT_X)
#undef TG_AUDIT_X
	TG_AUDIT_FAULT_MAX
};
/* clang-format on */

extern const char *const tg_audit_fault_names[TG_AUDIT_FAULT_MAX];
extern const char *const tg_audit_fault_texts[TG_AUDIT_FAULT_MAX];

struct tg_audit_log;

/* Opens dir read-only (MDB_RDONLY; without the lock file if it cannot be written). */
struct tg_audit_log *tg_audit_log_open(const char *dir, char *err, size_t errlen);
void tg_audit_log_close(struct tg_audit_log *l);

struct tg_audit_info {
	char origin[TG_NOTE_NAME_MAX + 1];
	uint32_t schema_v;
	uint64_t size; /* meta's */
	uint8_t chain_head[TG_AUDIT_HASH];
	uint8_t key_id[TG_NOTE_KEY_ID];
	uint8_t pubkey[TG_NOTE_PUB]; /* meta's: informational, untrusted */
	bool clean;
	uint64_t checkpoints;	  /* notes in cp */
	uint64_t last_checkpoint; /* the largest note's size, 0 if none */
};

/* meta and the checkpoint count. Returns 0, -EBADMSG (meta malformed) or -errno. */
int tg_audit_log_info(struct tg_audit_log *l, struct tg_audit_info *info, char *err, size_t errlen);

/*
 * A record's bytes, valid only during the call (they point into the LMDB
 * map). Return 0 to go on, or a negative value to stop the walk with it.
 */
typedef int (*tg_audit_record_fn)(void *arg, uint64_t seq, const char *rec, size_t len);

/*
 * Passes records from, from + 1, ... to fn, at most n (capped at INT_MAX)
 * and as far as the log goes, in one read transaction. Returns the number
 * passed (0 when from is past the end), fn's negative value, -EBADMSG (a
 * hole in rec) or -errno. The records are not verified.
 */
int tg_audit_log_records(struct tg_audit_log *l, uint64_t from, uint64_t n, tg_audit_record_fn fn,
			 void *arg, char *err, size_t errlen);

struct tg_audit_report {
	bool ok;
	enum tg_audit_fault fault;
	uint64_t index;	  /* the first bad record, when !ok */
	char detail[320]; /* what is wrong there, for a human */
	/* what was checked (up to the fault) */
	uint64_t records;
	uint64_t checkpoints;		   /* signed notes verified */
	uint64_t anchors;		   /* anchors verified */
	uint64_t last_checkpoint;	   /* size of the last verified note, 0 if none */
	uint8_t chain_head[TG_AUDIT_HASH]; /* C_records */
	uint8_t root[TG_AUDIT_HASH];	   /* MTH(records) */
	char origin[TG_NOTE_NAME_MAX + 1];
};

/*
 * Verifies the whole log against the public key pub (the key name is the
 * log's origin) and the optional anchors: signed checkpoint notes kept
 * elsewhere, each of which must be signed by pub and match the records.
 * Returns 0 when a verdict was reached (rep->ok, else rep->fault,
 * rep->index and rep->detail), -EINVAL when an anchor is unusable, or
 * -errno when the store could not be read (rep->detail says why).
 */
int tg_audit_log_verify(struct tg_audit_log *l, const uint8_t pub[TG_NOTE_PUB],
			const char *const *anchors, size_t nb_anchors, struct tg_audit_report *rep);

struct tg_audit_inclusion {
	uint64_t seq;
	uint64_t size;
	char *record; /* malloc'd copy of the record's bytes */
	size_t record_len;
	uint8_t leaf[TG_AUDIT_HASH];
	uint8_t root[TG_AUDIT_HASH];
	uint8_t path[TG_MERKLE_PATH_MAX][TG_AUDIT_HASH];
	unsigned int len;
	bool checkpoint; /* size is a checkpoint: root is its note's */
	int note_rc;	 /* tg_note_verify() of that note: 0, -errno, 1 unchecked */
	char note[TG_NOTE_MAX];
	size_t note_len;
	bool verified; /* tg_merkle_verify_inclusion() of the above */
};

/*
 * An inclusion proof of record seq in the tree of size records, from
 * stored nodes; size 0 picks the latest checkpoint covering seq, else the
 * log's size. At a checkpoint size the root is the note's, and the note
 * is verified when pub is given. Free with tg_audit_inclusion_release().
 * Returns 0 (see p->verified), -ERANGE (seq or size out of the log),
 * -EBADMSG (a stored note or node is malformed or missing) or -errno.
 */
int tg_audit_log_inclusion(struct tg_audit_log *l, uint64_t seq, uint64_t size, const uint8_t *pub,
			   struct tg_audit_inclusion *p, char *err, size_t errlen);
void tg_audit_inclusion_release(struct tg_audit_inclusion *p);

/*
 * A proof as JSON, the shape `tgctl audit proof -o json` prints and the
 * management method audit.proof returns:
 *   {"ok": B, "seq": N, "size": N, "leaf": HEX, "root": HEX,
 *    "checkpoint": B, "path": [HEX, ...], "record": "the record's bytes",
 *    "signature": "ok"|"unchecked"|"no_signature"|"invalid"|"malformed",
 *    "note": "the C2SP note", "verified": B}
 * signature and note only when size is a checkpoint; ok is verified and,
 * if the note was checked, a good signature. NULL when out of memory.
 */
json_t *tg_audit_inclusion_json(const struct tg_audit_inclusion *p);

/* A note_rc as its "signature" name above. */
const char *tg_audit_note_status_name(int rc);

/*
 * A verdict as JSON (`tgctl audit verify -o json`, audit.verify):
 *   ok:  {"ok": true, "origin", "records", "checkpoints", "last_checkpoint",
 *         "unsigned", "anchors", "chain_head", "root"}
 *   not: {"ok": false, "origin", "index", "fault" (tg_audit_fault_names),
 *         "detail", "records_checked"}
 */
json_t *tg_audit_report_json(const struct tg_audit_report *rep);

struct tg_audit_consistency {
	uint64_t m, n;
	uint8_t root1[TG_AUDIT_HASH], root2[TG_AUDIT_HASH];
	bool checkpoint1, checkpoint2; /* roots from notes */
	int note1_rc, note2_rc;	       /* as note_rc above */
	uint8_t path[TG_MERKLE_PATH_MAX][TG_AUDIT_HASH];
	unsigned int len;
	bool verified; /* tg_merkle_verify_consistency() */
};

/* A consistency proof between sizes m and n (0 < m <= n <= size); as above. */
int tg_audit_log_consistency(struct tg_audit_log *l, uint64_t m, uint64_t n, const uint8_t *pub,
			     struct tg_audit_consistency *p, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Reading through the writer                                          */

/*
 * The writer's own reads, for a running slowpath's management API:
 * read-only transactions on the writer's environment through a reader of
 * the kind above, since LMDB forbids opening one environment twice in a
 * process. They see the last commit, never the batch, so every record
 * read is durable. The store being single-threaded, they never meet a
 * commit. On failure tg_audit_error() says why.
 *
 * tg_audit_read() passes records from .. from + n - 1, as far as the
 * durable log goes, to fn (tg_audit_log_records()) and returns how many.
 * tg_audit_prove() is tg_audit_log_inclusion() with the writer's public
 * key: size 0 means the latest checkpoint above seq, else the durable
 * size; -ERANGE for a record or size not durable yet.
 * tg_audit_dir() is the store's directory, for a reader in another
 * process (a verifier). tg_audit_reader() is that reader itself, for
 * other read-only walks (an evidence bundle, bundle.h); it belongs to the
 * writer and lives as long as it.
 */
int tg_audit_read(struct tg_audit *a, uint64_t from, uint64_t n, tg_audit_record_fn fn, void *arg);
int tg_audit_prove(struct tg_audit *a, uint64_t seq, uint64_t size, struct tg_audit_inclusion *p);
const char *tg_audit_dir(const struct tg_audit *a);
struct tg_audit_log *tg_audit_reader(struct tg_audit *a);

#endif /* TG_AUDIT_H */
