/* SPDX-License-Identifier: MIT */
/*
 * audit.c — the audit store's writer; see audit.h for the format.
 *
 * Appending never touches LMDB: the record is encoded, hashed into the
 * chain and into the tree's right edge (struct tg_audit_edge), and its
 * bytes and new nodes go to the batch. The batch is all-or-nothing in
 * memory too: every allocation an append needs is made before the first
 * change of state, so a failed append leaves nothing behind. A commit is
 * one write transaction of MDB_APPEND puts (the keys only grow, audit.h),
 * then meta; on failure the batch stays for a retry.
 *
 * Costs per record: one canonical encoding, two SHA-256 for the leaf and
 * the chain, about one more for the tree; per checkpoint one Ed25519
 * signature (tens of microseconds); per commit LMDB's two fsyncs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "audit.h"
#include "audit_int.h"
#include "canon.h"
#include "merkle.h"
#include "note.h"
#include "seterr.h"

/* The writer's own lock, beside LMDB's: one writer per store, ever. */
#define WRITER_LOCK "writer.lock"

const char *const tg_audit_event_names[TG_AUDIT_EV_MAX] = {
#define TG_AUDIT_X(e, s) [TG_AUDIT_EV_##e] = s,
	TG_AUDIT_EVENT_TYPES(TG_AUDIT_X)
#undef TG_AUDIT_X
};

const char *const tg_audit_fault_names[TG_AUDIT_FAULT_MAX] = {
#define TG_AUDIT_X(e, name, text) [TG_AUDIT_FAULT_##e] = name,
	TG_AUDIT_FAULTS(TG_AUDIT_X)
#undef TG_AUDIT_X
};

const char *const tg_audit_fault_texts[TG_AUDIT_FAULT_MAX] = {
#define TG_AUDIT_X(e, name, text) [TG_AUDIT_FAULT_##e] = text,
	TG_AUDIT_FAULTS(TG_AUDIT_X)
#undef TG_AUDIT_X
};

/* Members only the store sets. "leaf" is derived, never stored. */
static const char *const store_members[] = {
	"schema_v", "origin", "seq", "prev_chain", "ts", "leaf",
};

struct pending_rec {
	size_t off; /* in the arena */
	size_t len;
};

struct pending_node {
	uint8_t key[TG_AUDIT_NODE_KEY];
	uint8_t hash[TG_AUDIT_HASH];
};

struct pending_cp {
	uint64_t size;
	size_t off;
	size_t len;
};

struct tg_audit {
	MDB_env *env;
	MDB_dbi rec, node, cp, meta;
	struct tg_audit_log *reader; /* reads through env (tg_audit_read()) */
	char dir[PATH_MAX];
	int lock_fd;
	EVP_PKEY *key;
	uint8_t pub[TG_NOTE_PUB];
	uint8_t key_id[TG_NOTE_KEY_ID];
	char origin[TG_NOTE_NAME_MAX + 1];
	uint32_t cp_records;
	uint32_t cp_seconds;
	uint32_t batch_max;
	size_t map_size;
	void (*clock)(struct timespec *now);

	/* the log as appended: durable, then the batch */
	uint64_t size;
	uint8_t chain[TG_AUDIT_HASH]; /* C_size */
	struct tg_audit_edge edge;
	uint64_t durable;
	uint64_t last_cp;   /* size of the last note, 0 if none */
	uint64_t cp_due_ms; /* the time checkpoint's deadline, 0: none */
	bool unclean;

	/* the batch */
	char *arena; /* record bytes and notes */
	size_t arena_len, arena_cap;
	struct pending_rec *recs;
	size_t nb_recs, cap_recs;
	struct pending_node *nodes;
	size_t nb_nodes, cap_nodes;
	struct pending_cp *cps;
	size_t nb_cps, cap_cps;
	struct {
		char key[TG_AUDIT_CURSOR_NAME_MAX + 8]; /* "cursor." name */
		uint64_t v;
	} cursors[TG_AUDIT_CURSORS_MAX];
	size_t nb_cursors;

	char err[256];
};

/* ------------------------------------------------------------------ */
/* Shared with audit_verify.c (audit_int.h)                            */

static void
sha256_parts(const void *a, size_t alen, const void *b, size_t blen, const void *c, size_t clen,
	     uint8_t out[TG_AUDIT_HASH])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
	     EVP_DigestUpdate(ctx, c, clen) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
	     n == TG_AUDIT_HASH;
	EVP_MD_CTX_free(ctx);
	/* as in merkle.c: a log that cannot hash stops rather than write a wrong hash */
	if (!ok)
		abort();
}

void
tg_audit_chain_start(const char *origin, uint8_t out[TG_AUDIT_HASH])
{
	sha256_parts(origin, strlen(origin), NULL, 0, NULL, 0, out);
}

void
tg_audit_chain_next(const uint8_t prev[TG_AUDIT_HASH], const uint8_t leaf[TG_AUDIT_HASH],
		    uint8_t out[TG_AUDIT_HASH])
{
	static const uint8_t prefix = TG_AUDIT_CHAIN_PREFIX;
	uint8_t p[TG_AUDIT_HASH];

	memcpy(p, prev, TG_AUDIT_HASH);
	sha256_parts(&prefix, 1, p, TG_AUDIT_HASH, leaf, TG_AUDIT_HASH, out);
}

void
tg_audit_edge_put(struct tg_audit_edge *e, unsigned int level, uint64_t index,
		  const uint8_t hash[TG_AUDIT_HASH])
{
	struct tg_audit_edge_level *lv = &e->lv[level];

	lv->index[0] = lv->index[1];
	memcpy(lv->hash[0], lv->hash[1], TG_AUDIT_HASH);
	lv->index[1] = index;
	memcpy(lv->hash[1], hash, TG_AUDIT_HASH);
	if (lv->n < 2)
		lv->n++;
}

int
tg_audit_edge_get(void *arg, unsigned int level, uint64_t index, uint8_t out[TG_AUDIT_HASH])
{
	struct tg_audit_edge *e = arg;

	if (level >= TG_AUDIT_LEVELS)
		return -ENOENT;
	for (int k = 1; k >= 2 - e->lv[level].n; k--) {
		if (e->lv[level].index[k] == index) {
			memcpy(out, e->lv[level].hash[k], TG_AUDIT_HASH);
			return 0;
		}
	}
	return -ENOENT;
}

bool
tg_audit_ts_valid(const char *s, size_t len)
{
	/* "2025-01-31T23:59:59.123456Z": digits where the template has 'd' */
	static const char tmpl[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

	if (len != TG_AUDIT_TS_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (tmpl[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != tmpl[i])
			return false;
	}
	return true;
}

bool
tg_audit_outcome_valid(const char *s)
{
	return strcmp(s, "success") == 0 || strcmp(s, "failure") == 0 || strcmp(s, "unknown") == 0;
}

int
tg_audit_event_type(const char *s)
{
	for (int t = 0; t < TG_AUDIT_EV_MAX; t++)
		if (strcmp(s, tg_audit_event_names[t]) == 0)
			return t;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static int fail(struct tg_audit *a, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct tg_audit *a, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* An LMDB return code as -errno: its own codes are not errno values. */
static int
mdb_errno(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_MAP_FULL:
		return -ENOSPC;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_TXN_FULL:
		return -E2BIG;
	case MDB_READERS_FULL:
		return -EBUSY;
	case MDB_INVALID:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		return -EUCLEAN;
	default:
		return rc > 0 && rc < MDB_KEYEXIST ? -rc : -EIO;
	}
}

const char *
tg_audit_error(const struct tg_audit *a)
{
	return a->err;
}

/* ------------------------------------------------------------------ */
/* The batch                                                           */

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = reallocarray(*p, n, elem);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Room for one more record of len bytes, its nodes (at most one a level) and a note. */
static int
reserve(struct tg_audit *a, size_t len)
{
	if (grow((void **)&a->recs, &a->cap_recs, a->nb_recs + 1, sizeof(*a->recs)) < 0 ||
	    grow((void **)&a->nodes, &a->cap_nodes, a->nb_nodes + TG_AUDIT_LEVELS + 1,
		 sizeof(*a->nodes)) < 0 ||
	    grow((void **)&a->cps, &a->cap_cps, a->nb_cps + 1, sizeof(*a->cps)) < 0 ||
	    grow((void **)&a->arena, &a->arena_cap, a->arena_len + len + TG_NOTE_MAX, 1) < 0)
		return fail(a, -ENOMEM, "append record %" PRIu64 ": out of memory", a->size);
	return 0;
}

/* tg_merkle_put_fn of the writer: the node joins the batch and the right edge. */
static int
batch_put(void *arg, unsigned int level, uint64_t index, const uint8_t hash[TG_AUDIT_HASH])
{
	struct tg_audit *a = arg;
	struct pending_node *n = &a->nodes[a->nb_nodes];

	/* reserve() made room; the key fits 64 bits below TG_MERKLE_SIZE_MAX */
	if (a->nb_nodes >= a->cap_nodes || tg_audit_node_key(level, index, n->key) < 0)
		abort();
	memcpy(n->hash, hash, TG_AUDIT_HASH);
	a->nb_nodes++;
	tg_audit_edge_put(&a->edge, level, index, hash);
	return 0;
}

/* tg_merkle_get_fn of the writer: the left halves are on the right edge. */
static int
batch_get(void *arg, unsigned int level, uint64_t index, uint8_t out[TG_AUDIT_HASH])
{
	struct tg_audit *a = arg;

	return tg_audit_edge_get(&a->edge, level, index, out);
}

static void
now_ts(struct tg_audit *a, char out[TG_AUDIT_TS_LEN + 1])
{
	struct timespec ts;
	struct tm tm;

	if (a->clock != NULL)
		a->clock(&ts);
	else
		clock_gettime(CLOCK_REALTIME, &ts);
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    snprintf(out, TG_AUDIT_TS_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000) != TG_AUDIT_TS_LEN)
		snprintf(out, TG_AUDIT_TS_LEN + 1, "0000-00-00T00:00:00.000000Z");
}

/*
 * Adds the store's members to a shallow copy of ev, encodes it, and
 * appends it: chain, tree, batch. All or nothing.
 */
static int
push(struct tg_audit *a, const json_t *ev, uint64_t *seq)
{
	char ts[TG_AUDIT_TS_LEN + 1], prev[2 * TG_AUDIT_HASH + 1];
	uint8_t leaf[TG_AUDIT_HASH];
	json_t *r;
	char *bytes = NULL;
	size_t len = 0;
	int rc;

	r = json_copy((json_t *)ev);
	if (r == NULL)
		return fail(a, -ENOMEM, "append record %" PRIu64 ": out of memory", a->size);
	now_ts(a, ts);
	tg_audit_hex(a->chain, TG_AUDIT_HASH, prev);
	if (json_object_set_new(r, "schema_v", json_integer(TG_AUDIT_SCHEMA_V)) < 0 ||
	    json_object_set_new(r, "origin", json_string(a->origin)) < 0 ||
	    json_object_set_new(r, "seq", json_integer((json_int_t)a->size)) < 0 ||
	    json_object_set_new(r, "prev_chain", json_string(prev)) < 0 ||
	    json_object_set_new(r, "ts", json_string(ts)) < 0) {
		json_decref(r);
		return fail(a, -ENOMEM, "append record %" PRIu64 ": out of memory", a->size);
	}
	rc = tg_canon_encode(r, &bytes, &len);
	json_decref(r);
	if (rc == -EILSEQ)
		return fail(a, rc, "append record %" PRIu64 ": a string is not valid UTF-8",
			    a->size);
	if (rc < 0)
		return fail(a, rc, "append record %" PRIu64 ": cannot encode: %s", a->size,
			    rc == -EINVAL ? "a value is not an integer, string, bool, null, "
					    "object or array"
					  : strerror(-rc));
	if (len > TG_AUDIT_RECORD_MAX) {
		free(bytes);
		return fail(a, -EMSGSIZE, "append record %" PRIu64 ": %zu bytes, over %d", a->size,
			    len, TG_AUDIT_RECORD_MAX);
	}
	if ((rc = reserve(a, len)) < 0) {
		free(bytes);
		return rc;
	}

	/* from here on nothing fails */
	tg_merkle_leaf_hash(bytes, len, leaf);
	if (tg_merkle_append(a->size, leaf, batch_get, batch_put, a) != 0)
		abort(); /* the edge holds every left half; batch_put cannot fail */
	tg_audit_chain_next(a->chain, leaf, a->chain);
	memcpy(a->arena + a->arena_len, bytes, len);
	a->recs[a->nb_recs].off = a->arena_len;
	a->recs[a->nb_recs].len = len;
	a->arena_len += len;
	a->nb_recs++;
	free(bytes);
	if (seq != NULL)
		*seq = a->size;
	a->size++;
	return 0;
}

/* State to undo a checkpoint whose note cannot be signed. */
struct mark {
	uint64_t size;
	uint8_t chain[TG_AUDIT_HASH];
	struct tg_audit_edge edge;
	size_t nb_recs, nb_nodes, arena_len;
};

/*
 * Appends the log.checkpoint record of size S and queues the note for
 * S + 1 (audit.h, "Checkpoints"). All or nothing.
 */
static int
take_checkpoint(struct tg_audit *a, const char *reason)
{
	char hex_chain[2 * TG_AUDIT_HASH + 1], hex_root[2 * TG_AUDIT_HASH + 1];
	char hex_id[2 * TG_NOTE_KEY_ID + 1], text[TG_NOTE_MAX];
	uint8_t root[TG_AUDIT_HASH];
	uint64_t s = a->size;
	struct mark *m;
	json_t *ev;
	size_t len;
	int rc, n;

	m = malloc(sizeof(*m));
	if (m == NULL)
		return fail(a, -ENOMEM, "checkpoint at %" PRIu64 ": out of memory", s);
	m->size = a->size;
	memcpy(m->chain, a->chain, TG_AUDIT_HASH);
	m->edge = a->edge;
	m->nb_recs = a->nb_recs;
	m->nb_nodes = a->nb_nodes;
	m->arena_len = a->arena_len;

	if (tg_merkle_root(s, tg_audit_edge_get, &a->edge, root) != 0)
		abort(); /* the edge holds every node of the root */
	tg_audit_hex(a->chain, TG_AUDIT_HASH, hex_chain);
	tg_audit_hex(root, TG_AUDIT_HASH, hex_root);
	tg_audit_hex(a->key_id, TG_NOTE_KEY_ID, hex_id);
	ev = json_pack("{s:{s:s, s:s, s:s, s:I}, s:{s:s}, s:s, s:s}", "checkpoint", "chain_head",
		       hex_chain, "key_id", hex_id, "root", hex_root, "size", (json_int_t)s,
		       "event", "type", tg_audit_event_names[TG_AUDIT_EV_LOG_CHECKPOINT], "outcome",
		       "success", "reason_code", reason);
	if (ev == NULL) {
		free(m);
		return fail(a, -ENOMEM, "checkpoint at %" PRIu64 ": out of memory", s);
	}
	rc = push(a, ev, NULL);
	json_decref(ev);
	if (rc < 0) {
		free(m);
		return rc;
	}

	/* the note signs the tree that ends with the checkpoint record */
	if (tg_merkle_root(s + 1, tg_audit_edge_get, &a->edge, root) != 0)
		abort();
	n = tg_note_checkpoint_text(a->origin, s + 1, root, text, sizeof(text));
	rc = n < 0 ? n
		   : tg_note_sign(a->key, a->origin, text, (size_t)n, a->arena + a->arena_len,
				  TG_NOTE_MAX, &len);
	if (rc < 0) {
		a->size = m->size;
		memcpy(a->chain, m->chain, TG_AUDIT_HASH);
		a->edge = m->edge;
		a->nb_recs = m->nb_recs;
		a->nb_nodes = m->nb_nodes;
		a->arena_len = m->arena_len;
		free(m);
		return fail(a, rc, "checkpoint at %" PRIu64 ": signing the note failed", s);
	}
	free(m);
	/* push() reserved TG_NOTE_MAX arena bytes and one cp slot */
	a->cps[a->nb_cps].size = s + 1;
	a->cps[a->nb_cps].off = a->arena_len;
	a->cps[a->nb_cps].len = len;
	a->nb_cps++;
	a->arena_len += len;
	a->last_cp = s + 1;
	a->cp_due_ms = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Appending                                                           */

static int
check_event(struct tg_audit *a, const json_t *ev)
{
	const json_t *event, *type, *outcome;
	int t;

	if (!json_is_object(ev))
		return fail(a, -EINVAL, "append: the event is not a JSON object");
	for (size_t i = 0; i < sizeof(store_members) / sizeof(store_members[0]); i++)
		if (json_object_get(ev, store_members[i]) != NULL)
			return fail(a, -EINVAL, "append: \"%s\" is set by the store",
				    store_members[i]);
	event = json_object_get(ev, "event");
	type = json_object_get(event, "type");
	if (!json_is_string(type))
		return fail(a, -EINVAL, "append: event.type is missing or not a string");
	t = tg_audit_event_type(json_string_value(type));
	if (t < 0)
		return fail(a, -EINVAL, "append: unknown event.type \"%.64s\"",
			    json_string_value(type));
	if (t == TG_AUDIT_EV_LOG_CHECKPOINT || t == TG_AUDIT_EV_LOG_GAP)
		return fail(a, -EINVAL, "append: %s records are written by the store only",
			    tg_audit_event_names[t]);
	outcome = json_object_get(ev, "outcome");
	if (!json_is_string(outcome) || !tg_audit_outcome_valid(json_string_value(outcome)))
		return fail(a, -EINVAL,
			    "append: outcome must be \"success\", \"failure\" or \"unknown\"");
	return 0;
}

/* After a record: the records-driven checkpoint, if due. */
static int
after_append(struct tg_audit *a, uint64_t seq)
{
	int rc;

	if (a->size - a->last_cp < a->cp_records)
		return 0;
	rc = take_checkpoint(a, "records");
	if (rc < 0)
		fail(a, rc, "record %" PRIu64 " appended, but the checkpoint after it failed", seq);
	return rc;
}

int
tg_audit_append(struct tg_audit *a, const json_t *ev, uint64_t *seq)
{
	uint64_t s;
	int rc;

	if ((rc = check_event(a, ev)) < 0)
		return rc;
	if (a->nb_recs >= a->batch_max)
		return fail(a, -ENOBUFS, "append: %zu records wait for a commit", a->nb_recs);
	if ((rc = push(a, ev, &s)) < 0)
		return rc;
	if (seq != NULL)
		*seq = s;
	return after_append(a, s);
}

int
tg_audit_append_gap(struct tg_audit *a, const char *reason, int64_t lost, uint64_t *seq)
{
	json_t *ev, *gap;
	uint64_t s;
	int rc;

	if (reason == NULL || reason[0] == '\0')
		return fail(a, -EINVAL, "append gap: a reason is required");
	if (a->nb_recs >= a->batch_max)
		return fail(a, -ENOBUFS, "append gap: %zu records wait for a commit", a->nb_recs);
	gap = lost >= 0 ? json_pack("{s:I}", "lost", (json_int_t)lost) : json_object();
	ev = json_pack("{s:{s:s}, s:s, s:s, s:o}", "event", "type",
		       tg_audit_event_names[TG_AUDIT_EV_LOG_GAP], "outcome", "unknown",
		       "reason_code", reason, "gap", gap);
	if (ev == NULL)
		return fail(a, -ENOMEM, "append gap: out of memory");
	rc = push(a, ev, &s);
	json_decref(ev);
	if (rc < 0)
		return rc;
	if (seq != NULL)
		*seq = s;
	return after_append(a, s);
}

int
tg_audit_checkpoint(struct tg_audit *a, const char *reason)
{
	if (a->size == a->last_cp)
		return 0; /* the last note already signs everything */
	return take_checkpoint(a, reason ? reason : "requested");
}

/* ------------------------------------------------------------------ */
/* Committing                                                          */

static int
put_meta(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *v, size_t len)
{
	MDB_val k = { strlen(name), (void *)name }, d = { len, (void *)v };

	return mdb_put(txn, dbi, &k, &d, 0);
}

static int
commit(struct tg_audit *a, bool clean, uint64_t *durable)
{
	uint8_t key[8], size_be[8], flag = clean ? 1 : 0;
	const char *what = "begin";
	MDB_txn *txn;
	size_t i;
	int rc;

	if (a->nb_recs == 0 && a->nb_cursors == 0 && !clean)
		goto done;
	if ((rc = mdb_txn_begin(a->env, NULL, 0, &txn)) != 0)
		goto err;
	for (i = 0; rc == 0 && i < a->nb_recs; i++) {
		MDB_val k = { 8, key };
		MDB_val d = { a->recs[i].len, a->arena + a->recs[i].off };

		what = "write record";
		tg_audit_be64_put(key, a->durable + i);
		rc = mdb_put(txn, a->rec, &k, &d, MDB_APPEND);
	}
	for (i = 0; rc == 0 && i < a->nb_nodes; i++) {
		MDB_val k = { TG_AUDIT_NODE_KEY, a->nodes[i].key };
		MDB_val d = { TG_AUDIT_HASH, a->nodes[i].hash };

		what = "write tree node";
		rc = mdb_put(txn, a->node, &k, &d, MDB_APPEND);
	}
	for (i = 0; rc == 0 && i < a->nb_cps; i++) {
		MDB_val k = { 8, key };
		MDB_val d = { a->cps[i].len, a->arena + a->cps[i].off };

		what = "write checkpoint";
		tg_audit_be64_put(key, a->cps[i].size);
		rc = mdb_put(txn, a->cp, &k, &d, MDB_APPEND);
	}
	if (rc == 0) {
		what = "write meta";
		tg_audit_be64_put(size_be, a->size);
		rc = put_meta(txn, a->meta, TG_AUDIT_META_SIZE, size_be, 8);
		if (rc == 0)
			rc = put_meta(txn, a->meta, TG_AUDIT_META_CHAIN_HEAD, a->chain,
				      TG_AUDIT_HASH);
		if (rc == 0)
			rc = put_meta(txn, a->meta, TG_AUDIT_META_CLEAN, &flag, 1);
		for (i = 0; rc == 0 && i < a->nb_cursors; i++) {
			uint8_t v[8];

			tg_audit_be64_put(v, a->cursors[i].v);
			rc = put_meta(txn, a->meta, a->cursors[i].key, v, 8);
		}
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		goto err;
	}
	/* the fsync: without MDB_NOSYNC this returns once the batch is on disk */
	what = "commit";
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto err;
	a->durable = a->size;
	a->nb_recs = a->nb_nodes = a->nb_cps = a->nb_cursors = 0;
	a->arena_len = 0;
done:
	if (durable != NULL)
		*durable = a->durable;
	return 0;

err:
	/* records durable..size-1, or none when only the clean flag was written */
	if (rc == MDB_MAP_FULL)
		return fail(a, -ENOSPC,
			    "audit store full: the LMDB map of %zu MiB cannot take the %" PRIu64
			    " records from %" PRIu64 "; raise the map size (the batch is kept)",
			    a->map_size >> 20, a->size - a->durable, a->durable);
	return fail(a, mdb_errno(rc), "commit of %" PRIu64 " records from %" PRIu64 ": %s: %s",
		    a->size - a->durable, a->durable, what, mdb_strerror(rc));
}

int
tg_audit_commit(struct tg_audit *a, uint64_t *durable)
{
	return commit(a, false, durable);
}

int
tg_audit_tick(struct tg_audit *a, uint64_t now_ms, uint64_t *durable)
{
	int rc;

	if (a->size == a->last_cp) {
		a->cp_due_ms = 0;
		return 0;
	}
	if (a->cp_due_ms == 0) {
		/* the first tick that sees unsigned records starts the clock */
		a->cp_due_ms = now_ms + (uint64_t)a->cp_seconds * 1000;
		if (a->cp_due_ms == 0)
			a->cp_due_ms = 1;
		return 0;
	}
	if (now_ms < a->cp_due_ms)
		return 0;
	if ((rc = take_checkpoint(a, "time")) < 0)
		return rc;
	if ((rc = commit(a, false, durable)) < 0)
		return rc;
	return 1;
}

bool
tg_audit_unclean(const struct tg_audit *a)
{
	return a->unclean;
}

static int get_meta(MDB_txn *txn, MDB_dbi dbi, const char *name, MDB_val *v);

static bool
cursor_name_ok(const char *name)
{
	size_t n = name != NULL ? strnlen(name, TG_AUDIT_CURSOR_NAME_MAX) : 0;

	if (n == 0 || n >= TG_AUDIT_CURSOR_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f)
			return false;
	return true;
}

int
tg_audit_cursor_set(struct tg_audit *a, const char *name, uint64_t v)
{
	size_t i;

	if (!cursor_name_ok(name))
		return fail(a, -EINVAL, "cursor name \"%s\": 1..%d printable bytes",
			    name != NULL ? name : "", TG_AUDIT_CURSOR_NAME_MAX - 1);
	for (i = 0; i < a->nb_cursors; i++)
		if (strcmp(a->cursors[i].key + 7, name) == 0)
			break;
	if (i == a->nb_cursors) {
		if (i == TG_AUDIT_CURSORS_MAX)
			return fail(a, -ENOBUFS, "more than %d cursors changed in one batch",
				    TG_AUDIT_CURSORS_MAX);
		snprintf(a->cursors[i].key, sizeof(a->cursors[i].key), "cursor.%s", name);
		a->nb_cursors++;
	}
	a->cursors[i].v = v;
	return 0;
}

int
tg_audit_cursor_get(struct tg_audit *a, const char *name, uint64_t *v)
{
	char key[TG_AUDIT_CURSOR_NAME_MAX + 8];
	MDB_txn *txn;
	MDB_val d;
	size_t i;
	int rc;

	if (!cursor_name_ok(name))
		return fail(a, -EINVAL, "cursor name \"%s\": 1..%d printable bytes",
			    name != NULL ? name : "", TG_AUDIT_CURSOR_NAME_MAX - 1);
	snprintf(key, sizeof(key), "cursor.%s", name);
	for (i = 0; i < a->nb_cursors; i++)
		if (strcmp(a->cursors[i].key, key) == 0) {
			*v = a->cursors[i].v;
			return 0;
		}
	if ((rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn)) != 0)
		return fail(a, mdb_errno(rc), "read cursor %s: %s", name, mdb_strerror(rc));
	rc = get_meta(txn, a->meta, key, &d);
	if (rc == 0 && d.mv_size == 8)
		*v = tg_audit_be64_get(d.mv_data);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc != 0)
		return fail(a, mdb_errno(rc), "read cursor %s: %s", name, mdb_strerror(rc));
	if (d.mv_size != 8)
		return fail(a, -EUCLEAN, "cursor %s: %zu bytes, not 8", name, d.mv_size);
	return 0;
}

int
tg_audit_usage(struct tg_audit *a, struct tg_audit_usage *u)
{
	struct statvfs vfs;
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	memset(u, 0, sizeof(*u));
	if ((rc = mdb_env_info(a->env, &info)) != 0 || (rc = mdb_env_stat(a->env, &st)) != 0)
		return fail(a, mdb_errno(rc), "usage of %s: %s", a->dir, mdb_strerror(rc));
	u->map_size = info.me_mapsize;
	u->map_used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	if (u->map_used > u->map_size)
		u->map_used = u->map_size;
	if (statvfs(a->dir, &vfs) == 0) {
		u->disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		u->disk_known = true;
	}
	return 0;
}

uint64_t
tg_audit_size(const struct tg_audit *a)
{
	return a->size;
}

uint64_t
tg_audit_durable(const struct tg_audit *a)
{
	return a->durable;
}

void
tg_audit_public_key(const struct tg_audit *a, uint8_t pub[TG_NOTE_PUB],
		    uint8_t key_id[TG_NOTE_KEY_ID])
{
	memcpy(pub, a->pub, TG_NOTE_PUB);
	memcpy(key_id, a->key_id, TG_NOTE_KEY_ID);
}

/* ------------------------------------------------------------------ */
/* Opening and closing                                                 */

static int
get_meta(MDB_txn *txn, MDB_dbi dbi, const char *name, MDB_val *v)
{
	MDB_val k = { strlen(name), (void *)name };

	return mdb_get(txn, dbi, &k, v);
}

/* A new store: meta from scratch. */
static int
init_meta(struct tg_audit *a, MDB_txn *txn)
{
	uint8_t schema[4] = { 0, 0, 0, TG_AUDIT_SCHEMA_V }, zero[8] = { 0 };
	MDB_stat st;
	int rc;

	if ((rc = mdb_stat(txn, a->rec, &st)) != 0)
		return rc;
	if (st.ms_entries != 0)
		return fail(a, -EUCLEAN, "store has %zu records but no metadata", st.ms_entries);
	tg_audit_chain_start(a->origin, a->chain);
	if ((rc = put_meta(txn, a->meta, TG_AUDIT_META_SCHEMA_V, schema, 4)) != 0 ||
	    (rc = put_meta(txn, a->meta, TG_AUDIT_META_ORIGIN, a->origin, strlen(a->origin))) ||
	    (rc = put_meta(txn, a->meta, TG_AUDIT_META_SIZE, zero, 8)) != 0 ||
	    (rc = put_meta(txn, a->meta, TG_AUDIT_META_CHAIN_HEAD, a->chain, TG_AUDIT_HASH)) ||
	    (rc = put_meta(txn, a->meta, TG_AUDIT_META_KEY_ID, a->key_id, TG_NOTE_KEY_ID)) ||
	    (rc = put_meta(txn, a->meta, TG_AUDIT_META_PUBKEY, a->pub, TG_NOTE_PUB)) != 0)
		return rc;
	return 0;
}

/* An existing store: check it is ours, then load size, chain, edge and last note. */
static int
load_meta(struct tg_audit *a, MDB_txn *txn, const char *dir)
{
	MDB_val v, k, d;
	MDB_cursor *c;
	uint8_t key[TG_AUDIT_NODE_KEY];
	int rc;

	if ((rc = get_meta(txn, a->meta, TG_AUDIT_META_SCHEMA_V, &v)) != 0 || v.mv_size != 4 ||
	    tg_audit_be32_get(v.mv_data) != TG_AUDIT_SCHEMA_V)
		return fail(a, -EPROTO, "%s: not an audit store of format %d", dir,
			    TG_AUDIT_SCHEMA_V);
	if ((rc = get_meta(txn, a->meta, TG_AUDIT_META_ORIGIN, &v)) != 0 ||
	    v.mv_size != strlen(a->origin) || memcmp(v.mv_data, a->origin, v.mv_size) != 0)
		return fail(a, -EINVAL, "%s holds the log of another origin, not \"%s\"", dir,
			    a->origin);
	if ((rc = get_meta(txn, a->meta, TG_AUDIT_META_KEY_ID, &v)) != 0 ||
	    v.mv_size != TG_NOTE_KEY_ID || memcmp(v.mv_data, a->key_id, TG_NOTE_KEY_ID) != 0)
		return fail(a, -EKEYREJECTED,
			    "%s was signed with another key than the one given (key ids differ)",
			    dir);
	if ((rc = get_meta(txn, a->meta, TG_AUDIT_META_SIZE, &v)) != 0 || v.mv_size != 8)
		return fail(a, -EUCLEAN, "%s: meta size missing", dir);
	a->size = a->durable = tg_audit_be64_get(v.mv_data);
	if ((rc = get_meta(txn, a->meta, TG_AUDIT_META_CHAIN_HEAD, &v)) != 0 ||
	    v.mv_size != TG_AUDIT_HASH)
		return fail(a, -EUCLEAN, "%s: meta chain_head missing", dir);
	memcpy(a->chain, v.mv_data, TG_AUDIT_HASH);
	a->unclean = get_meta(txn, a->meta, TG_AUDIT_META_CLEAN, &v) != 0 || v.mv_size != 1 ||
		     ((uint8_t *)v.mv_data)[0] != 1;

	/* the last record must be size - 1: appending after anything else breaks the chain */
	if ((rc = mdb_cursor_open(txn, a->rec, &c)) != 0)
		return rc;
	rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (a->size == 0 ? rc == 0
			 : rc != 0 || k.mv_size != 8 || tg_audit_be64_get(k.mv_data) != a->size - 1)
		return fail(a, -EUCLEAN,
			    "%s: the last record is not the %" PRIu64 " meta says; run tgctl audit "
			    "verify",
			    dir, a->size);

	/* the right edge: the last node of each level */
	for (unsigned int l = 0; l < TG_AUDIT_LEVELS && (a->size >> l) != 0; l++) {
		uint64_t idx = (a->size >> l) - 1;
		MDB_val nk = { TG_AUDIT_NODE_KEY, key };

		if (tg_audit_node_key(l, idx, key) < 0 || mdb_get(txn, a->node, &nk, &v) != 0 ||
		    v.mv_size != TG_AUDIT_HASH)
			return fail(a, -EUCLEAN,
				    "%s: tree node (level %u, index %" PRIu64 ") missing; run "
				    "tgctl audit verify",
				    dir, l, idx);
		tg_audit_edge_put(&a->edge, l, idx, v.mv_data);
	}

	if ((rc = mdb_cursor_open(txn, a->cp, &c)) != 0)
		return rc;
	rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == 0 && k.mv_size == 8)
		a->last_cp = tg_audit_be64_get(k.mv_data);
	else if (rc != MDB_NOTFOUND)
		return fail(a, -EUCLEAN, "%s: checkpoint table unreadable", dir);
	if (a->last_cp > a->size)
		return fail(a, -EUCLEAN,
			    "%s: a checkpoint signs %" PRIu64 " records, meta says %" PRIu64
			    "; run tgctl audit verify",
			    dir, a->last_cp, a->size);
	return 0;
}

static int
open_env(struct tg_audit *a, const struct tg_audit_config *cfg)
{
	uint8_t zero = 0;
	MDB_txn *txn;
	MDB_val v;
	int rc;

	if ((rc = mdb_env_create(&a->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(a->env, TG_AUDIT_NB_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(a->env, a->map_size)) != 0)
		return fail(a, mdb_errno(rc), "%s: %s", cfg->dir, mdb_strerror(rc));
	/* flags 0: synchronous commits, data and meta pages both synced */
	if ((rc = mdb_env_open(a->env, cfg->dir, 0, 0600)) != 0)
		return fail(a, mdb_errno(rc), "open LMDB environment %s: %s", cfg->dir,
			    mdb_strerror(rc));
	if ((rc = mdb_txn_begin(a->env, NULL, 0, &txn)) != 0)
		return fail(a, mdb_errno(rc), "%s: %s", cfg->dir, mdb_strerror(rc));
	if ((rc = mdb_dbi_open(txn, TG_AUDIT_DB_REC, MDB_CREATE, &a->rec)) != 0 ||
	    (rc = mdb_dbi_open(txn, TG_AUDIT_DB_NODE, MDB_CREATE, &a->node)) != 0 ||
	    (rc = mdb_dbi_open(txn, TG_AUDIT_DB_CP, MDB_CREATE, &a->cp)) != 0 ||
	    (rc = mdb_dbi_open(txn, TG_AUDIT_DB_META, MDB_CREATE, &a->meta)) != 0)
		goto err;
	rc = get_meta(txn, a->meta, TG_AUDIT_META_SCHEMA_V, &v);
	if (rc == MDB_NOTFOUND)
		rc = init_meta(a, txn);
	else if (rc == 0)
		rc = load_meta(a, txn, cfg->dir);
	/* open means not clean until tg_audit_close() says otherwise */
	if (rc == 0)
		rc = put_meta(txn, a->meta, TG_AUDIT_META_CLEAN, &zero, 1);
	if (rc != 0)
		goto err;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return fail(a, mdb_errno(rc), "%s: %s", cfg->dir, mdb_strerror(rc));
	return 0;

err:
	mdb_txn_abort(txn);
	if (rc < 0)
		return rc; /* load_meta() or init_meta() said why */
	return fail(a, mdb_errno(rc), "%s: %s", cfg->dir, mdb_strerror(rc));
}

static int
lock_writer(struct tg_audit *a, const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, WRITER_LOCK) >= (int)sizeof(path))
		return fail(a, -ENAMETOOLONG, "%s: path too long", dir);
	a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (a->lock_fd < 0)
		return fail(a, -errno, "open %s: %s", path, strerror(errno));
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return fail(a, errno == EWOULDBLOCK ? -EBUSY : -errno,
			    "%s is open by another writer", dir);
	return 0;
}

static void
destroy(struct tg_audit *a)
{
	tg_audit_log_close(a->reader);
	if (a->env != NULL)
		mdb_env_close(a->env);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	EVP_PKEY_free(a->key);
	free(a->arena);
	free(a->recs);
	free(a->nodes);
	free(a->cps);
	free(a);
}

struct tg_audit *
tg_audit_open(const struct tg_audit_config *cfg, char *err, size_t errlen)
{
	struct tg_audit *a;
	int rc;

	if (cfg == NULL || cfg->dir == NULL || cfg->key_path == NULL ||
	    !tg_note_name_valid(cfg->origin)) {
		tg_sp_seterr(err, errlen,
			     "audit: the origin must be 1..%d printable ASCII "
			     "characters without space or '+', and dir and key_path are required",
			     TG_NOTE_NAME_MAX);
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->lock_fd = -1;
	snprintf(a->origin, sizeof(a->origin), "%s", cfg->origin);
	snprintf(a->dir, sizeof(a->dir), "%s", cfg->dir);
	a->cp_records =
		cfg->checkpoint_records ? cfg->checkpoint_records : TG_AUDIT_CHECKPOINT_RECORDS;
	a->cp_seconds =
		cfg->checkpoint_seconds ? cfg->checkpoint_seconds : TG_AUDIT_CHECKPOINT_SECONDS;
	a->batch_max = cfg->batch_max ? cfg->batch_max : TG_AUDIT_BATCH_MAX;
	a->map_size = cfg->map_size ? cfg->map_size : TG_AUDIT_MAP_SIZE;
	a->clock = cfg->clock;

	if (mkdir(cfg->dir, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		fail(a, rc, "create %s: %s", cfg->dir, strerror(errno));
		goto err;
	}
	if ((rc = lock_writer(a, cfg->dir)) < 0)
		goto err;
	a->key = tg_note_key_load(cfg->key_path, true, a->err, sizeof(a->err));
	if (a->key == NULL) {
		rc = -errno;
		goto err;
	}
	if ((rc = tg_note_key_public(a->key, a->pub)) < 0) {
		fail(a, rc, "%s: not an Ed25519 key", cfg->key_path);
		goto err;
	}
	tg_note_key_id(a->origin, a->pub, a->key_id);
	if ((rc = open_env(a, cfg)) < 0)
		goto err;
	a->reader = tg_audit_log_borrow(a->env, a->rec, a->node, a->cp, a->meta, cfg->dir);
	if (a->reader == NULL) {
		rc = -ENOMEM;
		fail(a, rc, "%s: out of memory", cfg->dir);
		goto err;
	}
	return a;

err:
	tg_sp_seterr(err, errlen, "%s", a->err);
	destroy(a);
	errno = rc < 0 ? -rc : EIO;
	return NULL;
}

int
tg_audit_close(struct tg_audit *a)
{
	int rc = 0, rc2;

	if (a == NULL)
		return 0;
	if (a->size != a->last_cp)
		rc = take_checkpoint(a, "close");
	/* clean only if everything appended is durable and signed */
	rc2 = commit(a, rc == 0, NULL);
	destroy(a);
	return rc < 0 ? rc : rc2;
}

/* ------------------------------------------------------------------ */
/* Reading through the writer                                          */

int
tg_audit_read(struct tg_audit *a, uint64_t from, uint64_t n, tg_audit_record_fn fn, void *arg)
{
	return tg_audit_log_records(a->reader, from, n, fn, arg, a->err, sizeof(a->err));
}

int
tg_audit_prove(struct tg_audit *a, uint64_t seq, uint64_t size, struct tg_audit_inclusion *p)
{
	return tg_audit_log_inclusion(a->reader, seq, size, a->pub, p, a->err, sizeof(a->err));
}

const char *
tg_audit_dir(const struct tg_audit *a)
{
	return a->dir;
}

struct tg_audit_log *
tg_audit_reader(struct tg_audit *a)
{
	return a->reader;
}
