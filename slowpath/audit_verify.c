/* SPDX-License-Identifier: MIT */
/*
 * audit_verify.c — the audit store's reader: offline verification,
 * inclusion and consistency proofs; see audit.h for the format and the
 * order of the checks.
 *
 * Verification recomputes everything from the record bytes and trusts
 * nothing stored beside them: not meta (origin, size and chain head are
 * checked against the records, the public key comes from the caller), not
 * the nodes (each is compared with the recomputed one as the walk passes
 * it), not the notes (each must verify with the caller's key and match the
 * recomputed root). One read transaction covers the walk, so a writer
 * appending meanwhile does not disturb it. Memory is the tree's right edge
 * and one record at a time, whatever the log's size; time is one JSON
 * parse, one canonical encoding and about three SHA-256 per record.
 *
 * The first failure stops the walk. Its index is the record where the
 * evidence first disagrees: a modified record is caught at its own index
 * by its stored leaf node (the next record's prev_chain then tells a
 * modified record from a modified node); a removed, inserted or reordered
 * one by its key or its seq; a cut log by checkpoints or meta that claim
 * more records than there are.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <lmdb.h>
#include <openssl/crypto.h>

#include "audit.h"
#include "audit_int.h"
#include "canon.h"
#include "merkle.h"
#include "note.h"
#include "seterr.h"

#define HEX_HASH (2 * TG_AUDIT_HASH + 1)

struct tg_audit_log {
	MDB_env *env;
	MDB_dbi rec, node, cp, meta;
	bool borrowed; /* env is the writer's: not closed here */
	char dir[PATH_MAX];
};

/* ------------------------------------------------------------------ */
/* Opening                                                             */

static int
lmdb_rc(int rc)
{
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc > 0 && rc < MDB_KEYEXIST)
		return -rc;
	return -EIO;
}

static int
try_open(struct tg_audit_log *l, unsigned int flags)
{
	int rc;

	if ((rc = mdb_env_create(&l->env)) != 0)
		return rc;
	if ((rc = mdb_env_set_maxdbs(l->env, TG_AUDIT_NB_DBS)) != 0 ||
	    (rc = mdb_env_open(l->env, l->dir, flags, 0)) != 0) {
		mdb_env_close(l->env);
		l->env = NULL;
	}
	return rc;
}

struct tg_audit_log *
tg_audit_log_open(const char *dir, char *err, size_t errlen)
{
	struct tg_audit_log *l;
	struct stat st;
	MDB_txn *txn;
	int rc;

	if (stat(dir, &st) < 0) {
		rc = errno;
		tg_sp_seterr(err, errlen, "%s: %s", dir, strerror(rc));
		errno = rc;
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		tg_sp_seterr(err, errlen, "%s: not a directory", dir);
		errno = ENOTDIR;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	rc = try_open(l, MDB_RDONLY);
	/* a copy on read-only media or in someone else's directory: no lock file */
	if (rc == EACCES || rc == EROFS)
		rc = try_open(l, MDB_RDONLY | MDB_NOLOCK);
	if (rc != 0) {
		tg_sp_seterr(err, errlen, "open LMDB environment %s: %s", dir, mdb_strerror(rc));
		goto err;
	}
	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0) {
		tg_sp_seterr(err, errlen, "%s: %s", dir, mdb_strerror(rc));
		goto err;
	}
	if ((rc = mdb_dbi_open(txn, TG_AUDIT_DB_REC, 0, &l->rec)) != 0 ||
	    (rc = mdb_dbi_open(txn, TG_AUDIT_DB_NODE, 0, &l->node)) != 0 ||
	    (rc = mdb_dbi_open(txn, TG_AUDIT_DB_CP, 0, &l->cp)) != 0 ||
	    (rc = mdb_dbi_open(txn, TG_AUDIT_DB_META, 0, &l->meta)) != 0) {
		mdb_txn_abort(txn);
		tg_sp_seterr(err, errlen, "%s is not an audit store (%s)", dir,
			     rc == MDB_NOTFOUND ? "a database is missing" : mdb_strerror(rc));
		rc = rc == MDB_NOTFOUND ? EINVAL : rc;
		goto err;
	}
	/* committing a read transaction keeps its database handles */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		tg_sp_seterr(err, errlen, "%s: %s", dir, mdb_strerror(rc));
		goto err;
	}
	return l;

err:
	tg_audit_log_close(l);
	errno = -lmdb_rc(rc);
	return NULL;
}

struct tg_audit_log *
tg_audit_log_borrow(MDB_env *env, MDB_dbi rec, MDB_dbi node, MDB_dbi cp, MDB_dbi meta,
		    const char *dir)
{
	struct tg_audit_log *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	*l = (struct tg_audit_log){ env, rec, node, cp, meta, true, "" };
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	return l;
}

void
tg_audit_log_close(struct tg_audit_log *l)
{
	if (l == NULL)
		return;
	if (l->env != NULL && !l->borrowed)
		mdb_env_close(l->env);
	free(l);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static int
get_meta(struct tg_audit_log *l, MDB_txn *txn, const char *name, MDB_val *v)
{
	MDB_val k = { strlen(name), (void *)name };

	return mdb_get(txn, l->meta, &k, v);
}

/* meta, checked for shape (its content is checked against the records). */
static int
read_info(struct tg_audit_log *l, MDB_txn *txn, struct tg_audit_info *info, char *err,
	  size_t errlen)
{
	MDB_cursor *c;
	MDB_val v, k;
	int rc;

	memset(info, 0, sizeof(*info));
	if (get_meta(l, txn, TG_AUDIT_META_SCHEMA_V, &v) != 0 || v.mv_size != 4)
		goto bad;
	info->schema_v = tg_audit_be32_get(v.mv_data);
	if (info->schema_v != TG_AUDIT_SCHEMA_V) {
		tg_sp_seterr(err, errlen, "%s: format %" PRIu32 ", this tool reads %d", l->dir,
			     info->schema_v, TG_AUDIT_SCHEMA_V);
		return -EPROTO;
	}
	if (get_meta(l, txn, TG_AUDIT_META_ORIGIN, &v) != 0 || v.mv_size == 0 ||
	    v.mv_size > TG_NOTE_NAME_MAX)
		goto bad;
	memcpy(info->origin, v.mv_data, v.mv_size);
	info->origin[v.mv_size] = '\0';
	if (!tg_note_name_valid(info->origin))
		goto bad;
	if (get_meta(l, txn, TG_AUDIT_META_SIZE, &v) != 0 || v.mv_size != 8)
		goto bad;
	info->size = tg_audit_be64_get(v.mv_data);
	if (get_meta(l, txn, TG_AUDIT_META_CHAIN_HEAD, &v) != 0 || v.mv_size != TG_AUDIT_HASH)
		goto bad;
	memcpy(info->chain_head, v.mv_data, TG_AUDIT_HASH);
	if (get_meta(l, txn, TG_AUDIT_META_KEY_ID, &v) == 0 && v.mv_size == TG_NOTE_KEY_ID)
		memcpy(info->key_id, v.mv_data, TG_NOTE_KEY_ID);
	if (get_meta(l, txn, TG_AUDIT_META_PUBKEY, &v) == 0 && v.mv_size == TG_NOTE_PUB)
		memcpy(info->pubkey, v.mv_data, TG_NOTE_PUB);
	info->clean = get_meta(l, txn, TG_AUDIT_META_CLEAN, &v) == 0 && v.mv_size == 1 &&
		      ((uint8_t *)v.mv_data)[0] == 1;

	if ((rc = mdb_cursor_open(txn, l->cp, &c)) != 0)
		return lmdb_rc(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	if (rc == 0 && k.mv_size == 8)
		info->last_checkpoint = tg_audit_be64_get(k.mv_data);
	{
		MDB_stat st;

		if (mdb_stat(txn, l->cp, &st) == 0)
			info->checkpoints = st.ms_entries;
	}
	return 0;

bad:
	tg_sp_seterr(err, errlen, "%s: store metadata is missing or malformed", l->dir);
	return -EBADMSG;
}

int
tg_audit_log_info(struct tg_audit_log *l, struct tg_audit_info *info, char *err, size_t errlen)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0) {
		tg_sp_seterr(err, errlen, "%s: %s", l->dir, mdb_strerror(rc));
		return lmdb_rc(rc);
	}
	rc = read_info(l, txn, info, err, errlen);
	mdb_txn_abort(txn);
	return rc;
}

int
tg_audit_log_records(struct tg_audit_log *l, uint64_t from, uint64_t n, tg_audit_record_fn fn,
		     void *arg, char *err, size_t errlen)
{
	uint8_t kb[8];
	MDB_val k = { 8, kb }, v;
	MDB_cursor *c;
	MDB_txn *txn;
	uint64_t i;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0) {
		tg_sp_seterr(err, errlen, "%s: %s", l->dir, mdb_strerror(rc));
		return lmdb_rc(rc);
	}
	if ((rc = mdb_cursor_open(txn, l->rec, &c)) != 0) {
		mdb_txn_abort(txn);
		tg_sp_seterr(err, errlen, "%s: %s", l->dir, mdb_strerror(rc));
		return lmdb_rc(rc);
	}
	if (n > INT_MAX)
		n = INT_MAX;
	tg_audit_be64_put(kb, from);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	for (i = 0; i < n && rc == 0; i++) {
		if (k.mv_size != 8 || tg_audit_be64_get(k.mv_data) != from + i) {
			tg_sp_seterr(err, errlen, "%s: record %" PRIu64 " missing", l->dir,
				     from + i);
			rc = -EBADMSG;
			break;
		}
		if ((rc = fn(arg, from + i, v.mv_data, v.mv_size)) < 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND) /* the end of the log */
		rc = 0;
	else if (rc > 0) {
		tg_sp_seterr(err, errlen, "%s: %s", l->dir, mdb_strerror(rc));
		rc = lmdb_rc(rc);
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc < 0 ? rc : (int)i;
}

/* tg_merkle_get_fn over the stored nodes. */
struct db_get {
	struct tg_audit_log *l;
	MDB_txn *txn;
};

static int
db_get(void *arg, unsigned int level, uint64_t index, uint8_t out[TG_AUDIT_HASH])
{
	struct db_get *g = arg;
	uint8_t key[TG_AUDIT_NODE_KEY];
	MDB_val k = { TG_AUDIT_NODE_KEY, key }, v;
	int rc;

	if ((rc = tg_audit_node_key(level, index, key)) < 0)
		return rc;
	if ((rc = mdb_get(g->txn, g->l->node, &k, &v)) != 0)
		return lmdb_rc(rc);
	if (v.mv_size != TG_AUDIT_HASH)
		return -EBADMSG;
	memcpy(out, v.mv_data, TG_AUDIT_HASH);
	return 0;
}

static int
get_u64(MDB_txn *txn, MDB_dbi dbi, uint64_t key, MDB_val *v)
{
	uint8_t kb[8];
	MDB_val k = { 8, kb };

	tg_audit_be64_put(kb, key);
	return mdb_get(txn, dbi, &k, v);
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

struct anchor {
	uint64_t size;
	uint8_t root[TG_AUDIT_HASH];
};

struct vctx {
	struct tg_audit_log *l;
	MDB_txn *txn;
	struct tg_audit_report *rep;
	const uint8_t *pub;
	uint8_t key_id[TG_NOTE_KEY_ID];
	struct tg_audit_info meta;

	struct tg_audit_edge edge;    /* recomputed */
	uint64_t i;		      /* the record being checked */
	uint8_t chain[TG_AUDIT_HASH]; /* C_i */
	uint8_t next[TG_AUDIT_HASH];  /* C_{i+1}, once leaf i is known */
	bool failed;
	int io; /* an LMDB read error, -errno */

	MDB_cursor *cpc;
	bool cp_more;
	MDB_val cp_key, cp_val;
	uint64_t prev_cp;
	uint8_t prev_root[TG_AUDIT_HASH];

	struct anchor *anchors;
	size_t nb_anchors, next_anchor;
};

static int fault(struct vctx *v, enum tg_audit_fault f, uint64_t index, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fault(struct vctx *v, enum tg_audit_fault f, uint64_t index, const char *fmt, ...)
{
	va_list ap;

	if (v->failed)
		return -EBADMSG;
	v->failed = true;
	v->rep->ok = false;
	v->rep->fault = f;
	v->rep->index = index;
	va_start(ap, fmt);
	vsnprintf(v->rep->detail, sizeof(v->rep->detail), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static int
io_error(struct vctx *v, int rc, const char *what)
{
	v->io = lmdb_rc(rc);
	tg_sp_seterr(v->rep->detail, sizeof(v->rep->detail), "%s: %s at record %" PRIu64 ": %s",
		     v->l->dir, what, v->i, mdb_strerror(rc));
	return v->io;
}

/* The chain value a later record (or meta) claims for C_{i+1}; false if none does. */
static bool
claimed_next_chain(struct vctx *v, uint8_t out[TG_AUDIT_HASH])
{
	const json_t *pc;
	json_t *r;
	MDB_val d;
	bool ok = false;

	if (get_u64(v->txn, v->l->rec, v->i + 1, &d) != 0) {
		if (v->meta.size != v->i + 1)
			return false;
		memcpy(out, v->meta.chain_head, TG_AUDIT_HASH);
		return true;
	}
	r = json_loadb(d.mv_data, d.mv_size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	pc = json_object_get(r, "prev_chain");
	if (json_is_string(pc))
		ok = tg_audit_unhex(json_string_value(pc), json_string_length(pc), out,
				    TG_AUDIT_HASH);
	json_decref(r);
	return ok;
}

/* tg_merkle_get_fn of the walk: the left halves, recomputed, on the right edge. */
static int
walk_get(void *arg, unsigned int level, uint64_t index, uint8_t out[TG_AUDIT_HASH])
{
	struct vctx *v = arg;

	return tg_audit_edge_get(&v->edge, level, index, out);
}

/* tg_merkle_put_fn of the walk: every node the records complete must be stored as computed. */
static int
walk_put(void *arg, unsigned int level, uint64_t index, const uint8_t hash[TG_AUDIT_HASH])
{
	struct vctx *v = arg;
	uint8_t key[TG_AUDIT_NODE_KEY], claim[TG_AUDIT_HASH];
	MDB_val k = { TG_AUDIT_NODE_KEY, key }, d;
	uint64_t first = index << level;
	int rc;

	tg_audit_edge_put(&v->edge, level, index, hash);
	if ((rc = tg_audit_node_key(level, index, key)) < 0)
		return rc;
	rc = mdb_get(v->txn, v->l->node, &k, &d);
	if (rc == MDB_NOTFOUND)
		return fault(v, TG_AUDIT_FAULT_NODE_MISSING, v->i,
			     "the stored tree has no node (level %u, index %" PRIu64
			     ") over records %" PRIu64 "..%" PRIu64,
			     level, index, first, v->i);
	if (rc != 0)
		return io_error(v, rc, "read tree node");
	if (d.mv_size == TG_AUDIT_HASH && CRYPTO_memcmp(d.mv_data, hash, TG_AUDIT_HASH) == 0)
		return 0;
	if (level > 0)
		return fault(v, TG_AUDIT_FAULT_NODE, v->i,
			     "stored tree node (level %u, index %" PRIu64 ") over records %" PRIu64
			     "..%" PRIu64 " differs from the hash of those records",
			     level, index, first, v->i);
	/* the record or its leaf node: the next link of the chain was made from the original */
	if (claimed_next_chain(v, claim) && memcmp(claim, v->next, TG_AUDIT_HASH) == 0)
		return fault(v, TG_AUDIT_FAULT_NODE, v->i,
			     "stored leaf node (level 0, index %" PRIu64 ") differs from the hash "
			     "of record %" PRIu64
			     ", which the chain confirms: the node was modified",
			     index, v->i);
	return fault(v, TG_AUDIT_FAULT_RECORD_MODIFIED, v->i,
		     "record %" PRIu64 " does not hash to its stored leaf: it was modified, "
		     "replaced or inserted",
		     v->i);
}

static const char *
hex_of(const uint8_t *h, size_t len, char *buf)
{
	tg_audit_hex(h, len, buf);
	return buf;
}

/*
 * A note for size n (which the walk has just reached when n == i + 1):
 * signature, body, root, and consistency with the previous checkpoint.
 */
static int
check_note(struct vctx *v, uint64_t n, const char *note, size_t len)
{
	uint8_t root[TG_AUDIT_HASH], mine[TG_AUDIT_HASH];
	uint8_t path[TG_MERKLE_PATH_MAX][TG_AUDIT_HASH];
	char origin[TG_NOTE_NAME_MAX + 1], hex[HEX_HASH], hex2[HEX_HASH], id[9];
	struct db_get g = { v->l, v->txn };
	uint64_t size, at = n ? n - 1 : 0;
	size_t text_len;
	unsigned int plen;
	int rc;

	hex_of(v->key_id, TG_NOTE_KEY_ID, id);
	rc = tg_note_verify(note, len, v->meta.origin, v->pub, &text_len);
	if (rc == -ENOKEY)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_SIGNATURE, at,
			     "checkpoint for size %" PRIu64 " has no signature by the given key "
			     "(%s, key id %s)",
			     n, v->meta.origin, id);
	if (rc == -EKEYREJECTED)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_SIGNATURE, at,
			     "checkpoint for size %" PRIu64 ": the signature by key %s (key id %s) "
			     "does not verify",
			     n, v->meta.origin, id);
	if (rc < 0 ||
	    tg_note_checkpoint_parse(note, text_len, origin, sizeof(origin), &size, root) < 0)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_MALFORMED, at,
			     "checkpoint for size %" PRIu64 " is not a well-formed signed note", n);
	if (strcmp(origin, v->meta.origin) != 0 || size != n)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_MALFORMED, at,
			     "checkpoint stored for size %" PRIu64
			     " says origin \"%s\", size %" PRIu64,
			     n, origin, size);
	if (tg_merkle_root(n, tg_audit_edge_get, &v->edge, mine) != 0)
		abort(); /* the edge is at size n */
	if (CRYPTO_memcmp(root, mine, TG_AUDIT_HASH) != 0)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_ROOT, at,
			     "checkpoint for size %" PRIu64 " signs root %s, the records give %s",
			     n, hex_of(root, TG_AUDIT_HASH, hex),
			     hex_of(mine, TG_AUDIT_HASH, hex2));
	if (v->prev_cp != 0) {
		rc = tg_merkle_consistency_proof(v->prev_cp, n, db_get, &g, path, &plen);
		if (rc < 0 ||
		    !tg_merkle_verify_consistency(v->prev_cp, n, v->prev_root, root,
						  (const uint8_t(*)[TG_AUDIT_HASH])path, plen))
			return fault(
				v, TG_AUDIT_FAULT_CHECKPOINT_CONSISTENCY, at,
				"the stored tree proves no consistency from checkpoint %" PRIu64
				" to %" PRIu64,
				v->prev_cp, n);
	}
	v->prev_cp = n;
	memcpy(v->prev_root, root, TG_AUDIT_HASH);
	v->rep->checkpoints++;
	v->rep->last_checkpoint = n;
	return 0;
}

/* A log.checkpoint record i: its statements about the log before it. */
static int
check_cp_record(struct vctx *v, const json_t *r, const uint8_t root_i[TG_AUDIT_HASH])
{
	const json_t *cp = json_object_get(r, "checkpoint");
	const json_t *size = json_object_get(cp, "size"), *ch = json_object_get(cp, "chain_head");
	const json_t *root = json_object_get(cp, "root"), *kid = json_object_get(cp, "key_id");
	uint8_t h[TG_AUDIT_HASH], id[TG_NOTE_KEY_ID];
	char hex[HEX_HASH];

	if (!json_is_integer(size) || !json_is_string(ch) || !json_is_string(root) ||
	    !json_is_string(kid))
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_RECORD, v->i,
			     "checkpoint record %" PRIu64 " lacks size, chain_head, root or key_id",
			     v->i);
	if ((uint64_t)json_integer_value(size) != v->i)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_RECORD, v->i,
			     "checkpoint record %" PRIu64 " says size %" JSON_INTEGER_FORMAT, v->i,
			     json_integer_value(size));
	if (!tg_audit_unhex(json_string_value(ch), json_string_length(ch), h, TG_AUDIT_HASH) ||
	    memcmp(h, v->chain, TG_AUDIT_HASH) != 0)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_RECORD, v->i,
			     "checkpoint record %" PRIu64 " states a chain head that is not the "
			     "chain of records 0..%" PRIu64,
			     v->i, v->i ? v->i - 1 : 0);
	if (!tg_audit_unhex(json_string_value(root), json_string_length(root), h, TG_AUDIT_HASH) ||
	    memcmp(h, root_i, TG_AUDIT_HASH) != 0)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_RECORD, v->i,
			     "checkpoint record %" PRIu64
			     " states a root that is not the tree's, %s",
			     v->i, hex_of(root_i, TG_AUDIT_HASH, hex));
	if (!tg_audit_unhex(json_string_value(kid), json_string_length(kid), id, TG_NOTE_KEY_ID) ||
	    memcmp(id, v->key_id, TG_NOTE_KEY_ID) != 0)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_RECORD, v->i,
			     "checkpoint record %" PRIu64
			     " names key id %.8s, the given key's is %s",
			     v->i, json_string_value(kid), hex_of(v->key_id, TG_NOTE_KEY_ID, hex));
	return 0;
}

static void
cp_advance(struct vctx *v)
{
	int rc = mdb_cursor_get(v->cpc, &v->cp_key, &v->cp_val, MDB_NEXT);

	v->cp_more = rc == 0;
	if (rc != 0 && rc != MDB_NOTFOUND)
		io_error(v, rc, "read checkpoints");
}

static uint64_t
cp_size(const struct vctx *v)
{
	return v->cp_key.mv_size == 8 ? tg_audit_be64_get(v->cp_key.mv_data) : UINT64_MAX;
}

/* After record i: the notes and anchors for size i + 1. */
static int
check_sizes(struct vctx *v, bool is_cp)
{
	uint64_t n = v->i + 1;
	uint8_t mine[TG_AUDIT_HASH];
	char hex[HEX_HASH], hex2[HEX_HASH];
	bool noted = false;
	int rc;

	while (v->cp_more && !v->io) {
		uint64_t k = cp_size(v);

		if (v->cp_key.mv_size != 8)
			return fault(v, TG_AUDIT_FAULT_CHECKPOINT_MALFORMED, v->i,
				     "a checkpoint key of %zu bytes is not a size",
				     v->cp_key.mv_size);
		if (k > n)
			break;
		if (k < n || !is_cp)
			return fault(v, TG_AUDIT_FAULT_CHECKPOINT_MALFORMED, k ? k - 1 : 0,
				     "a checkpoint is stored for size %" PRIu64
				     " but record %" PRIu64 " is not a log.checkpoint record",
				     k, k ? k - 1 : 0);
		if ((rc = check_note(v, n, v->cp_val.mv_data, v->cp_val.mv_size)) < 0)
			return rc;
		noted = true;
		cp_advance(v);
	}
	if (v->io)
		return v->io;
	if (is_cp && !noted)
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_MISSING, v->i,
			     "checkpoint record %" PRIu64
			     " has no signed checkpoint for size %" PRIu64 " (note removed)",
			     v->i, n);
	while (v->next_anchor < v->nb_anchors && v->anchors[v->next_anchor].size == n) {
		if (tg_merkle_root(n, tg_audit_edge_get, &v->edge, mine) != 0)
			abort();
		if (memcmp(mine, v->anchors[v->next_anchor].root, TG_AUDIT_HASH) != 0)
			return fault(v, TG_AUDIT_FAULT_ANCHOR, v->i,
				     "the anchored checkpoint for size %" PRIu64
				     " signs root %s, the records give %s",
				     n, hex_of(v->anchors[v->next_anchor].root, TG_AUDIT_HASH, hex),
				     hex_of(mine, TG_AUDIT_HASH, hex2));
		v->rep->anchors++;
		v->next_anchor++;
	}
	return 0;
}

static const char *
type_of(const json_t *r)
{
	const json_t *t = json_object_get(json_object_get(r, "event"), "type");

	return json_is_string(t) ? json_string_value(t) : NULL;
}

/* Record i, whose bytes are d (audit.h, "Verification", in that order). */
static int
check_record(struct vctx *v, const MDB_val *d)
{
	uint8_t leaf[TG_AUDIT_HASH], h[TG_AUDIT_HASH], root_i[TG_AUDIT_HASH];
	const json_t *seq, *origin, *pc, *sv, *ts, *outcome;
	const char *type;
	json_error_t je;
	json_t *r;
	char *canon = NULL;
	size_t clen = 0;
	bool is_cp;
	int rc = -EBADMSG;

	if (d->mv_size > TG_AUDIT_RECORD_MAX)
		return fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
			     "record %" PRIu64 " has %zu bytes, over %d", v->i, d->mv_size,
			     TG_AUDIT_RECORD_MAX);
	r = json_loadb(d->mv_data, d->mv_size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!json_is_object(r)) {
		fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
		      "record %" PRIu64 " is not a JSON object (%s, byte %d)", v->i,
		      r ? "another value" : je.text, je.position);
		goto out;
	}
	seq = json_object_get(r, "seq");
	if (!json_is_integer(seq)) {
		fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
		      "record %" PRIu64 " has no integer seq", v->i);
		goto out;
	}
	if (json_integer_value(seq) < 0 || (uint64_t)json_integer_value(seq) != v->i) {
		fault(v, TG_AUDIT_FAULT_SEQ, v->i,
		      "the record stored at %" PRIu64 " says seq %" JSON_INTEGER_FORMAT
		      ": records removed, inserted or reordered",
		      v->i, json_integer_value(seq));
		goto out;
	}
	origin = json_object_get(r, "origin");
	if (!json_is_string(origin) || strcmp(json_string_value(origin), v->meta.origin) != 0) {
		fault(v, TG_AUDIT_FAULT_ORIGIN, v->i, "record %" PRIu64 " is not of origin \"%s\"",
		      v->i, v->meta.origin);
		goto out;
	}
	pc = json_object_get(r, "prev_chain");
	if (!json_is_string(pc) ||
	    !tg_audit_unhex(json_string_value(pc), json_string_length(pc), h, TG_AUDIT_HASH) ||
	    memcmp(h, v->chain, TG_AUDIT_HASH) != 0) {
		if (v->i == 0)
			fault(v, TG_AUDIT_FAULT_PREV_CHAIN, 0,
			      "prev_chain of record 0 is not SHA-256 of the origin");
		else
			fault(v, TG_AUDIT_FAULT_PREV_CHAIN, v->i,
			      "prev_chain does not match the chain of record %" PRIu64, v->i - 1);
		goto out;
	}

	type = type_of(r);
	is_cp = type != NULL && strcmp(type, tg_audit_event_names[TG_AUDIT_EV_LOG_CHECKPOINT]) == 0;
	if (is_cp && tg_merkle_root(v->i, tg_audit_edge_get, &v->edge, root_i) != 0)
		abort(); /* the edge is at size i */

	tg_merkle_leaf_hash(d->mv_data, d->mv_size, leaf);
	tg_audit_chain_next(v->chain, leaf, v->next);
	rc = tg_merkle_append(v->i, leaf, walk_get, walk_put, v);
	if (rc != 0) {
		if (!v->failed && !v->io)
			fault(v, TG_AUDIT_FAULT_NODE, v->i,
			      "tree update at record %" PRIu64 " failed: %s", v->i, strerror(-rc));
		goto out;
	}
	rc = -EBADMSG;

	if (tg_canon_encode(r, &canon, &clen) < 0 || clen != d->mv_size ||
	    memcmp(canon, d->mv_data, clen) != 0) {
		fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
		      "record %" PRIu64 " is not in the canonical encoding", v->i);
		goto out;
	}
	sv = json_object_get(r, "schema_v");
	ts = json_object_get(r, "ts");
	outcome = json_object_get(r, "outcome");
	if (!json_is_integer(sv) || json_integer_value(sv) != TG_AUDIT_SCHEMA_V) {
		fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
		      "record %" PRIu64 " is not of schema_v %d", v->i, TG_AUDIT_SCHEMA_V);
		goto out;
	}
	if (!json_is_string(ts) ||
	    !tg_audit_ts_valid(json_string_value(ts), json_string_length(ts))) {
		fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
		      "record %" PRIu64 " has no RFC 3339 UTC ts with microseconds", v->i);
		goto out;
	}
	if (type == NULL || tg_audit_event_type(type) < 0) {
		fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
		      "record %" PRIu64 " has no known event.type", v->i);
		goto out;
	}
	if (!json_is_string(outcome) || !tg_audit_outcome_valid(json_string_value(outcome))) {
		fault(v, TG_AUDIT_FAULT_RECORD_MALFORMED, v->i,
		      "record %" PRIu64 " has no valid outcome", v->i);
		goto out;
	}
	if (is_cp && (rc = check_cp_record(v, r, root_i)) < 0)
		goto out;

	memcpy(v->chain, v->next, TG_AUDIT_HASH);
	rc = check_sizes(v, is_cp);
out:
	free(canon);
	json_decref(r);
	return rc;
}

static int
anchor_cmp(const void *a, const void *b)
{
	const struct anchor *x = a, *y = b;

	return (x->size > y->size) - (x->size < y->size);
}

/* The caller's anchors: each signed by pub for this origin. */
static int
load_anchors(struct vctx *v, const char *const *anchors, size_t nb)
{
	char origin[TG_NOTE_NAME_MAX + 1];
	size_t text_len, i;
	int rc;

	if (nb == 0)
		return 0;
	v->anchors = calloc(nb, sizeof(*v->anchors));
	if (v->anchors == NULL)
		return -ENOMEM;
	for (i = 0; i < nb; i++) {
		size_t len = strlen(anchors[i]);

		rc = tg_note_verify(anchors[i], len, v->meta.origin, v->pub, &text_len);
		if (rc < 0) {
			tg_sp_seterr(
				v->rep->detail, sizeof(v->rep->detail),
				"anchor %zu is not a checkpoint signed by the given key for %s",
				i + 1, v->meta.origin);
			return -EINVAL;
		}
		if (tg_note_checkpoint_parse(anchors[i], text_len, origin, sizeof(origin),
					     &v->anchors[i].size, v->anchors[i].root) < 0 ||
		    strcmp(origin, v->meta.origin) != 0) {
			tg_sp_seterr(v->rep->detail, sizeof(v->rep->detail),
				     "anchor %zu is not a checkpoint of %s", i + 1, v->meta.origin);
			return -EINVAL;
		}
	}
	v->nb_anchors = nb;
	qsort(v->anchors, nb, sizeof(*v->anchors), anchor_cmp);
	return 0;
}

/* After the walk: what claims more (or other) than the records hold. */
static int
check_end(struct vctx *v)
{
	uint64_t m = v->i, k;
	size_t text_len;

	if (v->cp_more) {
		k = cp_size(v);
		if (v->cp_key.mv_size == 8 &&
		    tg_note_verify(v->cp_val.mv_data, v->cp_val.mv_size, v->meta.origin, v->pub,
				   &text_len) == 0)
			return fault(v, TG_AUDIT_FAULT_TRUNCATED, m,
				     "a signed checkpoint covers %" PRIu64
				     " records, the log has %" PRIu64 ": records %" PRIu64
				     "..%" PRIu64 " were removed",
				     k, m, m, k - 1);
		return fault(v, TG_AUDIT_FAULT_CHECKPOINT_SIGNATURE, m,
			     "a checkpoint beyond the end of the log (%" PRIu64 " records) is not "
			     "signed by the given key",
			     m);
	}
	if (v->next_anchor < v->nb_anchors) {
		k = v->anchors[v->next_anchor].size;
		return fault(v, TG_AUDIT_FAULT_TRUNCATED, m,
			     "the anchored checkpoint signs %" PRIu64
			     " records, the log has %" PRIu64 ": records %" PRIu64 "..%" PRIu64
			     " were removed",
			     k, m, m, k - 1);
	}
	if (v->meta.size > m)
		return fault(v, TG_AUDIT_FAULT_TRUNCATED, m,
			     "meta says %" PRIu64 " records were committed, the log has %" PRIu64,
			     v->meta.size, m);
	if (v->meta.size < m)
		return fault(v, TG_AUDIT_FAULT_RECORD_EXTRA, v->meta.size,
			     "record %" PRIu64 " is beyond the committed size %" PRIu64
			     " (records appended outside the store)",
			     v->meta.size, v->meta.size);
	if (memcmp(v->meta.chain_head, v->chain, TG_AUDIT_HASH) != 0)
		return fault(v, TG_AUDIT_FAULT_CHAIN_HEAD, m ? m - 1 : 0,
			     "meta's chain head is not the chain of the %" PRIu64 " records", m);
	return 0;
}

int
tg_audit_log_verify(struct tg_audit_log *l, const uint8_t pub[TG_NOTE_PUB],
		    const char *const *anchors, size_t nb_anchors, struct tg_audit_report *rep)
{
	struct vctx *v;
	MDB_cursor *c = NULL;
	MDB_val k, d;
	char err[200];
	int rc;

	memset(rep, 0, sizeof(*rep));
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	v->l = l;
	v->rep = rep;
	v->pub = pub;
	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &v->txn)) != 0) {
		tg_sp_seterr(rep->detail, sizeof(rep->detail), "%s: %s", l->dir, mdb_strerror(rc));
		rc = lmdb_rc(rc);
		goto out;
	}
	rc = read_info(l, v->txn, &v->meta, err, sizeof(err));
	if (rc == -EBADMSG) {
		rc = 0;
		fault(v, TG_AUDIT_FAULT_META, 0, "%s", err);
		goto out;
	}
	if (rc < 0) {
		tg_sp_seterr(rep->detail, sizeof(rep->detail), "%s", err);
		goto out;
	}
	snprintf(rep->origin, sizeof(rep->origin), "%s", v->meta.origin);
	tg_note_key_id(v->meta.origin, pub, v->key_id);
	tg_audit_chain_start(v->meta.origin, v->chain);
	if ((rc = load_anchors(v, anchors, nb_anchors)) < 0)
		goto out;
	for (size_t i = 0; i < v->nb_anchors && v->anchors[i].size == 0; i++) {
		uint8_t empty[TG_AUDIT_HASH];

		tg_merkle_root(0, tg_audit_edge_get, &v->edge, empty);
		if (memcmp(empty, v->anchors[i].root, TG_AUDIT_HASH) != 0) {
			fault(v, TG_AUDIT_FAULT_ANCHOR, 0,
			      "the anchored checkpoint for size 0 "
			      "does not sign the empty tree");
			goto done;
		}
		v->rep->anchors++;
		v->next_anchor++;
	}

	if ((rc = mdb_cursor_open(v->txn, l->cp, &v->cpc)) != 0) {
		rc = io_error(v, rc, "read checkpoints");
		goto out;
	}
	rc = mdb_cursor_get(v->cpc, &v->cp_key, &v->cp_val, MDB_FIRST);
	v->cp_more = rc == 0;
	if (rc != 0 && rc != MDB_NOTFOUND) {
		rc = io_error(v, rc, "read checkpoints");
		goto out;
	}
	if ((rc = mdb_cursor_open(v->txn, l->rec, &c)) != 0) {
		rc = io_error(v, rc, "read records");
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size != 8) {
			fault(v, TG_AUDIT_FAULT_RECORD_EXTRA, v->i,
			      "a record key of %zu bytes is not a sequence number", k.mv_size);
			goto done;
		}
		if (tg_audit_be64_get(k.mv_data) != v->i) {
			fault(v, TG_AUDIT_FAULT_RECORD_MISSING, v->i,
			      "record %" PRIu64 " is missing (the next stored record is %" PRIu64
			      ")",
			      v->i, tg_audit_be64_get(k.mv_data));
			goto done;
		}
		if (check_record(v, &d) < 0)
			break;
		v->i++;
		rep->records = v->i;
	}
	if (v->io) {
		rc = v->io;
		goto out;
	}
	if (v->failed)
		goto done;
	if (rc != MDB_NOTFOUND) {
		rc = io_error(v, rc, "read records");
		goto out;
	}
	if (check_end(v) < 0)
		goto done;
	rep->ok = true;
	rep->fault = TG_AUDIT_FAULT_NONE;
	memcpy(rep->chain_head, v->chain, TG_AUDIT_HASH);
	if (tg_merkle_root(v->i, tg_audit_edge_get, &v->edge, rep->root) != 0)
		abort();
done:
	rc = 0;
out:
	if (c != NULL)
		mdb_cursor_close(c);
	if (v->cpc != NULL)
		mdb_cursor_close(v->cpc);
	if (v->txn != NULL)
		mdb_txn_abort(v->txn);
	free(v->anchors);
	free(v);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Proofs                                                              */

/* The root of size n: a stored note's (then *is_cp, *note_rc), else computed from nodes. */
static int
root_of(struct tg_audit_log *l, MDB_txn *txn, const char *origin, uint64_t n, const uint8_t *pub,
	uint8_t root[TG_AUDIT_HASH], bool *is_cp, int *note_rc, char *note, size_t *note_len,
	char *err, size_t errlen)
{
	char o[TG_NOTE_NAME_MAX + 1];
	struct db_get g = { l, txn };
	uint64_t size;
	size_t text_len;
	MDB_val v;
	int rc;

	*is_cp = false;
	*note_rc = 1;
	rc = get_u64(txn, l->cp, n, &v);
	if (rc == MDB_NOTFOUND) {
		rc = tg_merkle_root(n, db_get, &g, root);
		if (rc < 0)
			tg_sp_seterr(err, errlen,
				     "%s: the stored tree cannot give the root of %" PRIu64
				     " records: %s",
				     l->dir, n, strerror(-rc));
		return rc < 0 ? -EBADMSG : 0;
	}
	if (rc != 0) {
		tg_sp_seterr(err, errlen, "%s: %s", l->dir, mdb_strerror(rc));
		return lmdb_rc(rc);
	}
	if (v.mv_size >= TG_NOTE_MAX || tg_note_text(v.mv_data, v.mv_size, &text_len) < 0 ||
	    tg_note_checkpoint_parse(v.mv_data, text_len, o, sizeof(o), &size, root) < 0 ||
	    size != n || strcmp(o, origin) != 0) {
		tg_sp_seterr(err, errlen, "%s: the checkpoint for size %" PRIu64 " is malformed",
			     l->dir, n);
		return -EBADMSG;
	}
	*is_cp = true;
	if (note != NULL) {
		memcpy(note, v.mv_data, v.mv_size);
		note[v.mv_size] = '\0';
		*note_len = v.mv_size;
	}
	if (pub != NULL)
		*note_rc = tg_note_verify(v.mv_data, v.mv_size, origin, pub, &text_len);
	return 0;
}

/* The latest checkpoint size above seq, or 0. */
static uint64_t
checkpoint_after(struct tg_audit_log *l, MDB_txn *txn, uint64_t seq)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t n = 0;

	if (mdb_cursor_open(txn, l->cp, &c) != 0)
		return 0;
	if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 && k.mv_size == 8 &&
	    tg_audit_be64_get(k.mv_data) > seq)
		n = tg_audit_be64_get(k.mv_data);
	mdb_cursor_close(c);
	return n;
}

int
tg_audit_log_inclusion(struct tg_audit_log *l, uint64_t seq, uint64_t size, const uint8_t *pub,
		       struct tg_audit_inclusion *p, char *err, size_t errlen)
{
	struct tg_audit_info info;
	struct db_get g = { l, NULL };
	MDB_txn *txn;
	MDB_val v;
	int rc;

	memset(p, 0, sizeof(*p));
	p->note_rc = 1;
	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0) {
		tg_sp_seterr(err, errlen, "%s: %s", l->dir, mdb_strerror(rc));
		return lmdb_rc(rc);
	}
	g.txn = txn;
	if ((rc = read_info(l, txn, &info, err, errlen)) < 0)
		goto out;
	if (size == 0) {
		size = checkpoint_after(l, txn, seq);
		if (size == 0)
			size = info.size;
	}
	if (seq >= size || size > info.size) {
		tg_sp_seterr(err, errlen,
			     "record %" PRIu64 " in a tree of %" PRIu64
			     " records: out of the log's %" PRIu64,
			     seq, size, info.size);
		rc = -ERANGE;
		goto out;
	}
	if ((rc = get_u64(txn, l->rec, seq, &v)) != 0) {
		tg_sp_seterr(err, errlen, "%s: record %" PRIu64 ": %s", l->dir, seq,
			     mdb_strerror(rc));
		rc = rc == MDB_NOTFOUND ? -EBADMSG : lmdb_rc(rc);
		goto out;
	}
	p->record = malloc(v.mv_size + 1);
	if (p->record == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(p->record, v.mv_data, v.mv_size);
	p->record[v.mv_size] = '\0';
	p->record_len = v.mv_size;
	p->seq = seq;
	p->size = size;
	tg_merkle_leaf_hash(p->record, p->record_len, p->leaf);
	rc = tg_merkle_inclusion_proof(seq, size, db_get, &g, p->path, &p->len);
	if (rc < 0) {
		tg_sp_seterr(err, errlen,
			     "%s: the stored tree cannot prove record %" PRIu64 " in %" PRIu64
			     ": %s",
			     l->dir, seq, size, strerror(-rc));
		rc = -EBADMSG;
		goto out;
	}
	rc = root_of(l, txn, info.origin, size, pub, p->root, &p->checkpoint, &p->note_rc, p->note,
		     &p->note_len, err, errlen);
	if (rc < 0)
		goto out;
	p->verified = tg_merkle_verify_inclusion(
		seq, size, p->leaf, (const uint8_t(*)[TG_AUDIT_HASH])p->path, p->len, p->root);
out:
	mdb_txn_abort(txn);
	if (rc < 0)
		tg_audit_inclusion_release(p);
	return rc;
}

static json_t *
json_hash(const uint8_t h[TG_AUDIT_HASH])
{
	char buf[HEX_HASH];

	tg_audit_hex(h, TG_AUDIT_HASH, buf);
	return json_string(buf);
}

const char *
tg_audit_note_status_name(int rc)
{
	switch (rc) {
	case 1:
		return "unchecked";
	case 0:
		return "ok";
	case -ENOKEY:
		return "no_signature";
	case -EKEYREJECTED:
		return "invalid";
	default:
		return "malformed";
	}
}

json_t *
tg_audit_inclusion_json(const struct tg_audit_inclusion *p)
{
	/* a checked note must verify; an unchecked one (no key) is reported as such */
	bool ok = p->verified && (!p->checkpoint || p->note_rc == 0 || p->note_rc == 1);
	json_t *path = json_array(), *j;

	for (unsigned int i = 0; i < p->len && path != NULL; i++)
		json_array_append_new(path, json_hash(p->path[i]));
	j = json_pack("{s:b, s:I, s:I, s:o, s:o, s:b, s:o, s:s%}", "ok", ok, "seq",
		      (json_int_t)p->seq, "size", (json_int_t)p->size, "leaf", json_hash(p->leaf),
		      "root", json_hash(p->root), "checkpoint", p->checkpoint, "path", path,
		      "record", p->record, p->record_len);
	if (j == NULL)
		return NULL;
	if (p->checkpoint) {
		json_object_set_new(j, "signature", json_string(tg_audit_note_status_name(p->note_rc)));
		json_object_set_new(j, "note", json_stringn(p->note, p->note_len));
	}
	json_object_set_new(j, "verified", json_boolean(p->verified));
	return j;
}

json_t *
tg_audit_report_json(const struct tg_audit_report *rep)
{
	json_t *j = json_pack("{s:b, s:s}", "ok", rep->ok, "origin", rep->origin);

	if (j == NULL)
		return NULL;
	if (rep->ok) {
		json_object_set_new(j, "records", json_integer((json_int_t)rep->records));
		json_object_set_new(j, "checkpoints", json_integer((json_int_t)rep->checkpoints));
		json_object_set_new(j, "last_checkpoint",
				    json_integer((json_int_t)rep->last_checkpoint));
		json_object_set_new(j, "unsigned",
				    json_integer((json_int_t)(rep->records - rep->last_checkpoint)));
		json_object_set_new(j, "anchors", json_integer((json_int_t)rep->anchors));
		json_object_set_new(j, "chain_head", json_hash(rep->chain_head));
		json_object_set_new(j, "root", json_hash(rep->root));
	} else {
		json_object_set_new(j, "index", json_integer((json_int_t)rep->index));
		json_object_set_new(j, "fault", json_string(tg_audit_fault_names[rep->fault]));
		json_object_set_new(j, "detail", json_string(rep->detail));
		json_object_set_new(j, "records_checked", json_integer((json_int_t)rep->records));
	}
	return j;
}

void
tg_audit_inclusion_release(struct tg_audit_inclusion *p)
{
	free(p->record);
	p->record = NULL;
	p->record_len = 0;
}

int
tg_audit_log_consistency(struct tg_audit_log *l, uint64_t m, uint64_t n, const uint8_t *pub,
			 struct tg_audit_consistency *p, char *err, size_t errlen)
{
	struct tg_audit_info info;
	struct db_get g = { l, NULL };
	MDB_txn *txn;
	int rc;

	memset(p, 0, sizeof(*p));
	p->note1_rc = p->note2_rc = 1;
	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0) {
		tg_sp_seterr(err, errlen, "%s: %s", l->dir, mdb_strerror(rc));
		return lmdb_rc(rc);
	}
	g.txn = txn;
	if ((rc = read_info(l, txn, &info, err, errlen)) < 0)
		goto out;
	if (m == 0 || m > n || n > info.size) {
		tg_sp_seterr(err, errlen,
			     "sizes %" PRIu64 " and %" PRIu64 ": need 0 < m <= n <= %" PRIu64, m, n,
			     info.size);
		rc = -ERANGE;
		goto out;
	}
	p->m = m;
	p->n = n;
	if ((rc = root_of(l, txn, info.origin, m, pub, p->root1, &p->checkpoint1, &p->note1_rc,
			  NULL, NULL, err, errlen)) < 0 ||
	    (rc = root_of(l, txn, info.origin, n, pub, p->root2, &p->checkpoint2, &p->note2_rc,
			  NULL, NULL, err, errlen)) < 0)
		goto out;
	rc = tg_merkle_consistency_proof(m, n, db_get, &g, p->path, &p->len);
	if (rc < 0) {
		tg_sp_seterr(err, errlen,
			     "%s: the stored tree cannot prove %" PRIu64 " -> %" PRIu64 ": %s",
			     l->dir, m, n, strerror(-rc));
		rc = -EBADMSG;
		goto out;
	}
	p->verified = tg_merkle_verify_consistency(
		m, n, p->root1, p->root2, (const uint8_t(*)[TG_AUDIT_HASH])p->path, p->len);
out:
	mdb_txn_abort(txn);
	return rc;
}
