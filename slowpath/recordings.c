/* SPDX-License-Identifier: MIT */
/*
 * recordings.c — the recordings store; see recordings.h for the chunk
 * format, the LMDB layout and retention.
 *
 * Pieces come from the dataplane, a peer: every item's type and length
 * are checked before any field is read, and a bad one ends the piece
 * (counted, and a "malformed" line says where), never the session.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "canon.h"
#include "recordings.h"
#include "seterr.h"
#include "sesstrack.h"

#define ITEM_HDR 3
#define KEY_MAX (TG_SESSTRACK_SID_MAX + 1 + 4 + 8)

/* dataplane/record.h's item types */
enum item {
	I_STMT = 1,
	I_COLUMNS = 2,
	I_FIELD = 3,
	I_ROW = 4,
	I_COMPLETE = 5,
	I_ERROR = 6,
	I_NOTICE = 7,
	I_READY = 8,
	I_SKIPPED = 9,
};

const char *const tg_recordings_counter_names[TG_RECORDINGS_CNT_MAX] = {
#define TG_RECORDINGS_X(e, n, d) n,
	TG_RECORDINGS_COUNTERS(TG_RECORDINGS_X)
#undef TG_RECORDINGS_X
};

/* A session's recording under way (the sesstrack entry's rec). */
struct rsess {
	char *buf; /* JSON lines of the chunk being filled */
	size_t len, cap;
	json_t *row; /* the row being assembled from FIELD items */
	uint32_t next_piece;
	uint64_t offset; /* of the chunk being filled */
};

struct tg_recordings {
	MDB_env *env;
	MDB_dbi chunk, age, meta;
	struct tg_sesstrack *track;
	tg_recordings_record_fn record_fn;
	void *arg;
	uint32_t chunk_bytes;
	uint64_t max_bytes, max_age_s;
	uint64_t bytes; /* meta's "bytes" */
	uint64_t cnt[TG_RECORDINGS_CNT_MAX];
	char err[256];
};

static void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* ------------------------------------------------------------------ */
/* Items to JSON lines                                                 */

static int
line(char **buf, size_t *len, size_t *cap, json_t *o)
{
	char *s;
	size_t n;
	int rc = 0;

	if (o == NULL)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	n = strlen(s);
	if (*len + n + 1 > *cap) {
		size_t c = (*cap ? *cap * 2 : 4096);
		char *b;

		while (c < *len + n + 1)
			c *= 2;
		if ((b = realloc(*buf, c)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	(*buf)[*len + n] = '\n';
	*len += n + 1;
out:
	free(s);
	return rc;
}

/* A b16 at *p of the payload [*p, end): the string, or NULL when it runs past. */
static json_t *
take_b16(const uint8_t **p, const uint8_t *end, bool *bad)
{
	uint16_t n;
	json_t *s;

	if (end - *p < 2 || end - *p - 2 < (n = be16(*p))) {
		*bad = true;
		return NULL;
	}
	s = tg_canon_string_lossy((const char *)*p + 2, n);
	*p += 2 + n;
	return s;
}

static const char *
kind_name(uint8_t k)
{
	static const char *const names[] = { "query", "execute", "function_call" };

	return k < 3 ? names[k] : "unknown";
}

static const char *
verdict_name(uint8_t v)
{
	static const char *const names[] = { "allow", "log", "block" };

	return v < 3 ? names[v] : "unknown";
}

static const char *
notice_key(uint8_t code)
{
	switch (code) {
	case 'V':
		return "severity";
	case 'C':
		return "code";
	case 'M':
		return "message";
	case 'D':
		return "detail";
	case 'H':
		return "hint";
	default:
		return NULL;
	}
}

/* The item's line, unless its fields did not use its payload exactly (bad). */
static int
done(json_t *o, bool bad, char **buf, size_t *blen, size_t *bcap)
{
	if (bad) {
		json_decref(o);
		return -EBADMSG;
	}
	return line(buf, blen, bcap, o);
}

/* One item's payload [p, end) as a line (or a row's field); -EBADMSG when malformed. */
static int
item(uint8_t type, const uint8_t *p, const uint8_t *end, char **buf, size_t *blen, size_t *bcap,
     json_t **row, struct tg_sesstrack_entry *e)
{
	size_t n = (size_t)(end - p);
	bool bad = false;
	json_t *o, *v;

	switch (type) {
	case I_STMT:
		if (n < 14)
			return -EBADMSG;
		o = json_pack("{s:I, s:s, s:I, s:s, s:s}", "ns", (json_int_t)(be64(p) & INT64_MAX),
			      "type", "statement", "stmt", (json_int_t)be32(p + 8), "kind",
			      kind_name(p[12]), "verdict", verdict_name(p[13]));
		p += 14;
		v = take_b16(&p, end, &bad);
		json_object_set_new(o, "text", v != NULL ? v : json_string(""));
		v = take_b16(&p, end, &bad);
		if (v != NULL && json_string_length(v) != 0)
			json_object_set_new(o, "params", v);
		else
			json_decref(v);
		return done(o, bad || p != end, buf, blen, bcap);
	case I_COLUMNS: {
		uint16_t ncols, kept;
		json_t *names;

		if (n < 12)
			return -EBADMSG;
		ncols = be16(p + 8);
		kept = be16(p + 10);
		if (kept > ncols)
			return -EBADMSG;
		o = json_pack("{s:I, s:s, s:i}", "ns", (json_int_t)(be64(p) & INT64_MAX), "type",
			      "columns", "ncols", ncols);
		names = json_array();
		json_object_set_new(o, "names", names);
		p += 12;
		for (uint16_t i = 0; i < kept; i++) {
			if (p >= end || end - p - 1 < p[0]) {
				json_decref(o);
				return -EBADMSG;
			}
			json_array_append_new(names,
					      tg_canon_string_lossy((const char *)p + 1, p[0]));
			p += 1 + p[0];
		}
		return done(o, p != end, buf, blen, bcap);
	}
	case I_FIELD: {
		int32_t flen;
		uint16_t idx;

		if (n < 6)
			return -EBADMSG;
		idx = be16(p);
		flen = (int32_t)be32(p + 2);
		if (flen < -1 || (flen >= 0 && n - 6 > (size_t)flen) || (flen < 0 && n != 6))
			return -EBADMSG;
		/* the row being assembled: {"values": [...], "cut": true when a value is cut} */
		if (*row == NULL && (*row = json_pack("{s:[]}", "values")) == NULL)
			return -ENOMEM;
		v = json_object_get(*row, "values");
		if (idx != json_array_size(v))
			return -EBADMSG; /* fields come in order, one each */
		json_array_append_new(v,
				      flen < 0 ? json_null()
					       : tg_canon_string_lossy((const char *)p + 6, n - 6));
		if (flen >= 0 && n - 6 < (size_t)flen)
			json_object_set_new(*row, "cut", json_true());
		return 0;
	}
	case I_ROW:
		if (n != 10)
			return -EBADMSG;
		o = *row != NULL ? *row : json_pack("{s:[]}", "values");
		*row = NULL;
		if (o == NULL)
			return -ENOMEM;
		if (json_array_size(json_object_get(o, "values")) != be16(p + 8)) {
			json_decref(o);
			return -EBADMSG;
		}
		json_object_set_new(o, "ns", json_integer((json_int_t)(be64(p) & INT64_MAX)));
		json_object_set_new(o, "type", json_string("row"));
		return line(buf, blen, bcap, o);
	case I_COMPLETE:
		if (n < 8)
			return -EBADMSG;
		o = json_pack("{s:I, s:s, s:o}", "ns", (json_int_t)(be64(p) & INT64_MAX), "type",
			      "complete", "tag", tg_canon_string_lossy((const char *)p + 8, n - 8));
		return line(buf, blen, bcap, o);
	case I_ERROR:
	case I_NOTICE: {
		uint8_t k;

		if (n < 9)
			return -EBADMSG;
		o = json_pack("{s:I, s:s}", "ns", (json_int_t)(be64(p) & INT64_MAX), "type",
			      type == I_ERROR ? "error" : "notice");
		k = p[8];
		p += 9;
		for (uint8_t i = 0; i < k; i++) {
			const char *key;
			uint8_t code;

			if (p >= end) {
				bad = true;
				break;
			}
			code = *p++;
			v = take_b16(&p, end, &bad);
			if (bad)
				break;
			if ((key = notice_key(code)) != NULL)
				json_object_set_new(o, key, v);
			else
				json_decref(v);
		}
		return done(o, bad || p != end, buf, blen, bcap);
	}
	case I_READY: {
		char st[2] = { 0, 0 };

		if (n != 9)
			return -EBADMSG;
		st[0] = p[8] == 'I' || p[8] == 'T' || p[8] == 'E' ? (char)p[8] : '?';
		o = json_pack("{s:I, s:s, s:s}", "ns", (json_int_t)(be64(p) & INT64_MAX), "type",
			      "ready", "status", st);
		return line(buf, blen, bcap, o);
	}
	case I_SKIPPED:
		if (n != 24)
			return -EBADMSG;
		if (e != NULL) {
			e->truncated = true;
			e->dropped_rows += be64(p + 8);
			e->dropped_bytes += be64(p + 16);
		}
		o = json_pack("{s:I, s:s, s:I, s:I}", "ns", (json_int_t)(be64(p) & INT64_MAX),
			      "type", "skipped", "rows", (json_int_t)(be64(p + 8) & INT64_MAX),
			      "bytes", (json_int_t)(be64(p + 16) & INT64_MAX));
		return line(buf, blen, bcap, o);
	default:
		return -EBADMSG;
	}
}

int
tg_recordings_items(const uint8_t *data, size_t len, char **buf, size_t *blen, size_t *bcap,
		    json_t **row, struct tg_sesstrack_entry *e)
{
	const uint8_t *p = data, *end = data + len;
	int rc, lines = 0;

	while (p < end) {
		uint16_t n;

		if (end - p < ITEM_HDR || end - p - ITEM_HDR < (n = be16(p + 1)))
			return -EBADMSG;
		rc = item(p[0], p + ITEM_HDR, p + ITEM_HDR + n, buf, blen, bcap, row, e);
		if (rc < 0)
			return rc;
		if (p[0] != I_FIELD) {
			lines++;
			if (e != NULL)
				e->events++;
		}
		p += ITEM_HDR + n;
	}
	return lines;
}

/* ------------------------------------------------------------------ */
/* The store                                                           */

static int
lmdb_rc(int rc)
{
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc == MDB_MAP_FULL)
		return -ENOSPC;
	if (rc > 0 && rc < MDB_KEYEXIST)
		return -rc;
	return -EIO;
}

const char *
tg_recordings_error(const struct tg_recordings *rs)
{
	return rs->err;
}

const uint64_t *
tg_recordings_counters(const struct tg_recordings *rs)
{
	return rs->cnt;
}

static void rsess_free(void *rec);

struct tg_recordings *
tg_recordings_open(const struct tg_recordings_config *cfg, struct tg_sesstrack *track,
		   tg_recordings_record_fn record_fn, void *arg, char *err, size_t errlen)
{
	struct tg_recordings *rs = calloc(1, sizeof(*rs));
	size_t map = cfg->map_size ? cfg->map_size : TG_RECORDINGS_MAP_DEFAULT;
	MDB_txn *txn;
	MDB_val k = { 5, "bytes" }, v;
	int rc;

	if (rs == NULL)
		return NULL;
	rs->track = track;
	tg_sesstrack_set_free(track, rsess_free);
	rs->record_fn = record_fn;
	rs->arg = arg;
	rs->chunk_bytes = cfg->chunk_bytes ? cfg->chunk_bytes : TG_RECORDINGS_CHUNK_DEFAULT;
	rs->max_bytes = cfg->max_bytes ? cfg->max_bytes : map / 4 * 3;
	rs->max_age_s = cfg->max_age_s;
	if (mkdir(cfg->dir, 0700) < 0 && errno != EEXIST) {
		rc = errno;
		tg_sp_seterr(err, errlen, "create %s: %s", cfg->dir, strerror(rc));
		free(rs);
		errno = rc;
		return NULL;
	}
	if ((rc = mdb_env_create(&rs->env)) != 0 || (rc = mdb_env_set_maxdbs(rs->env, 3)) != 0 ||
	    (rc = mdb_env_set_mapsize(rs->env, map)) != 0 ||
	    (rc = mdb_env_open(rs->env, cfg->dir, 0, 0600)) != 0)
		goto err;
	if ((rc = mdb_txn_begin(rs->env, NULL, 0, &txn)) != 0)
		goto err;
	if ((rc = mdb_dbi_open(txn, "chunk", MDB_CREATE, &rs->chunk)) != 0 ||
	    (rc = mdb_dbi_open(txn, "age", MDB_CREATE, &rs->age)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &rs->meta)) != 0) {
		mdb_txn_abort(txn);
		goto err;
	}
	if (mdb_get(txn, rs->meta, &k, &v) == 0 && v.mv_size == 8)
		rs->bytes = be64(v.mv_data);
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto err;
	return rs;
err:
	tg_sp_seterr(err, errlen, "open recordings store %s: %s", cfg->dir, mdb_strerror(rc));
	if (rs->env != NULL)
		mdb_env_close(rs->env);
	free(rs);
	errno = -lmdb_rc(rc);
	return NULL;
}

static void
rsess_free(void *rec)
{
	struct rsess *s = rec;

	if (s == NULL)
		return;
	free(s->buf);
	json_decref(s->row);
	free(s);
}

void
tg_recordings_close(struct tg_recordings *rs)
{
	if (rs == NULL)
		return;
	mdb_env_close(rs->env);
	free(rs);
}

static size_t
chunk_key(uint8_t *key, const char *sid, uint32_t index)
{
	size_t n = strlen(sid);

	memcpy(key, sid, n);
	key[n] = 0;
	be32_put(key + n + 1, index);
	return n + 5;
}

static void
hexs(const uint8_t *h, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[h[i] >> 4];
		out[2 * i + 1] = d[h[i] & 0xf];
	}
	out[2 * n] = '\0';
}

/* Puts chunk index of sid; -ENOSPC when the map is full. */
static int
put_chunk(struct tg_recordings *rs, const char *sid, uint32_t index, uint64_t t, const char *data,
	  size_t len)
{
	uint8_t key[KEY_MAX], akey[KEY_MAX], lenb[4], bytes[8];
	size_t kl = chunk_key(key, sid, index);
	MDB_val k = { kl, key }, v = { len + 8, NULL }, ak = { kl + 8, akey }, av = { 4, lenb };
	MDB_val mk = { 5, "bytes" }, mv = { 8, bytes };
	MDB_txn *txn;
	int rc;

	be64_put(akey, t);
	memcpy(akey + 8, key, kl);
	be32_put(lenb, (uint32_t)len);
	be64_put(bytes, rs->bytes + len);
	if ((rc = mdb_txn_begin(rs->env, NULL, 0, &txn)) != 0)
		return lmdb_rc(rc);
	if ((rc = mdb_put(txn, rs->chunk, &k, &v, MDB_RESERVE)) == 0) {
		be64_put(v.mv_data, t);
		memcpy((uint8_t *)v.mv_data + 8, data, len);
		if ((rc = mdb_put(txn, rs->age, &ak, &av, 0)) == 0)
			rc = mdb_put(txn, rs->meta, &mk, &mv, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_rc(rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_rc(rc);
	rs->bytes += len;
	return 0;
}

/* The pending lines of session e become chunk number e->chunks: stored, then recorded. */
static int
cut(struct tg_recordings *rs, struct tg_sesstrack_entry *e, uint64_t t)
{
	struct rsess *s = e->rec;
	uint8_t h[32];
	unsigned int hl = 32;
	char hex[65];
	bool stored = true;
	json_t *rec;
	int rc;

	if (s == NULL || s->len == 0)
		return 0;
	if (EVP_Digest(s->buf, s->len, h, &hl, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	hexs(h, 32, hex);
	rc = put_chunk(rs, e->sid, (uint32_t)e->chunks, t, s->buf, s->len);
	if (rc == -ENOSPC) {
		/* the map is full: retention makes room, or the chunk is only recorded */
		rs->max_bytes = rs->bytes / 2;
		tg_recordings_retain(rs, t);
		rs->max_bytes = rs->max_bytes * 2;
		rc = put_chunk(rs, e->sid, (uint32_t)e->chunks, t, s->buf, s->len);
	}
	if (rc < 0) {
		tg_sp_seterr(rs->err, sizeof(rs->err), "store chunk %" PRIu64 " of %s: %s",
			     e->chunks, e->sid, strerror(-rc));
		rs->cnt[TG_RECORDINGS_CNT_NOT_STORED]++;
		stored = false;
	} else {
		rs->cnt[TG_RECORDINGS_CNT_CHUNKS]++;
		rs->cnt[TG_RECORDINGS_CNT_BYTES] += s->len;
	}
	rec = json_pack("{s:{s:s}, s:s, s:{s:s}, s:{s:I, s:I, s:I, s:s, s:b}}", "event", "type",
			"recording.chunk", "outcome", stored ? "success" : "failure", "session",
			"id", e->sid, "recording", "index", (json_int_t)e->chunks, "offset",
			(json_int_t)s->offset, "length", (json_int_t)s->len, "sha256", hex,
			"stored", stored);
	rc = rec != NULL ? rs->record_fn(rs->arg, rec) : -ENOMEM;
	json_decref(rec);
	if (rc < 0) {
		rs->cnt[TG_RECORDINGS_CNT_ERRORS]++;
		tg_sp_seterr(rs->err, sizeof(rs->err), "record chunk %" PRIu64 " of %s: %s",
			     e->chunks, e->sid, strerror(-rc));
		return rc;
	}
	e->recorded = true;
	e->chunks++;
	e->bytes += s->len;
	s->offset += s->len;
	s->len = 0;
	return 0;
}

static struct tg_sesstrack_entry *
session(struct tg_recordings *rs, const char *sid)
{
	struct tg_sesstrack_entry *e = tg_sesstrack_get(rs->track, sid, true);

	if (e != NULL && e->rec == NULL) {
		e->rec = calloc(1, sizeof(struct rsess));
		if (e->rec == NULL)
			return NULL;
		e->recorded = true;
	}
	return e;
}

int
tg_recordings_piece(struct tg_recordings *rs, const char *sid, uint32_t piece, const uint8_t *data,
		    size_t len)
{
	struct tg_sesstrack_entry *e = session(rs, sid);
	struct rsess *s;
	int rc;

	rs->cnt[TG_RECORDINGS_CNT_PIECES]++;
	if (e == NULL) {
		rs->cnt[TG_RECORDINGS_CNT_ERRORS]++;
		return 0; /* untracked: the table is full (counted there) */
	}
	s = e->rec;
	if (piece > s->next_piece) {
		uint64_t lost = piece - s->next_piece;

		rs->cnt[TG_RECORDINGS_CNT_PIECES_LOST] += lost;
		e->lost += lost;
		/* a row cut in two by the hole is not a row */
		json_decref(s->row);
		s->row = NULL;
		if ((rc = line(&s->buf, &s->len, &s->cap,
			       json_pack("{s:s, s:I}", "type", "lost", "pieces",
					 (json_int_t)lost))) < 0)
			return rc;
	}
	s->next_piece = piece + 1;
	rc = tg_recordings_items(data, len, &s->buf, &s->len, &s->cap, &s->row, e);
	if (rc == -EBADMSG) {
		rs->cnt[TG_RECORDINGS_CNT_MALFORMED]++;
		json_decref(s->row);
		s->row = NULL;
		rc = line(&s->buf, &s->len, &s->cap, json_pack("{s:s}", "type", "malformed"));
	}
	if (rc < 0)
		return rc;
	if (s->len >= rs->chunk_bytes) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		return cut(rs, e, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	}
	return 0;
}

int
tg_recordings_end(struct tg_recordings *rs, const char *sid, uint64_t t_ns)
{
	struct tg_sesstrack_entry *e = tg_sesstrack_get(rs->track, sid, false);
	struct rsess *s;
	int rc;

	if (e == NULL || e->rec == NULL)
		return 0; /* nothing recorded */
	s = e->rec;
	rc = line(&s->buf, &s->len, &s->cap,
		  json_pack("{s:I, s:s}", "ns", (json_int_t)(t_ns & INT64_MAX), "type", "end"));
	if (rc == 0)
		rc = cut(rs, e, t_ns);
	rsess_free(e->rec);
	e->rec = NULL;
	return rc;
}

int
tg_recordings_chunk(struct tg_recordings *rs, const char *sid, uint64_t index, uint8_t **data,
		    size_t *len)
{
	uint8_t key[KEY_MAX];
	MDB_val k, v;
	MDB_txn *txn;
	int rc;

	*data = NULL;
	if (strlen(sid) > TG_SESSTRACK_SID_MAX || index > UINT32_MAX)
		return -ENOENT;
	k = (MDB_val){ chunk_key(key, sid, (uint32_t)index), key };
	if ((rc = mdb_txn_begin(rs->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_rc(rc);
	rc = mdb_get(txn, rs->chunk, &k, &v);
	if (rc == 0 && v.mv_size >= 8) {
		*len = v.mv_size - 8;
		*data = malloc(*len ? *len : 1);
		if (*data != NULL)
			memcpy(*data, (uint8_t *)v.mv_data + 8, *len);
		else
			rc = ENOMEM;
	} else if (rc == 0) {
		rc = MDB_NOTFOUND;
	}
	mdb_txn_abort(txn);
	return rc == ENOMEM ? -ENOMEM : rc != 0 ? lmdb_rc(rc) : 0;
}

/* recording.expired records: one per session, its chunks first..last removed. */
static int
expired(struct tg_recordings *rs, json_t *gone, const char *reason)
{
	const char *sid;
	json_t *v;
	int rc = 0;

	json_object_foreach(gone, sid, v) {
		json_t *rec = json_pack("{s:{s:s}, s:s, s:s, s:{s:s}, s:{s:O, s:O, s:O}}", "event",
					"type", "recording.expired", "outcome", "success",
					"reason_code", reason, "session", "id", sid, "recording",
					"chunks_expired", json_array_get(v, 0), "first_index",
					json_array_get(v, 1), "last_index", json_array_get(v, 2));

		if (rec == NULL || rs->record_fn(rs->arg, rec) < 0) {
			rs->cnt[TG_RECORDINGS_CNT_ERRORS]++;
			rc = -EIO;
		}
		json_decref(rec);
	}
	return rc;
}

int
tg_recordings_retain(struct tg_recordings *rs, uint64_t now_ns)
{
	uint64_t cutoff = rs->max_age_s && now_ns > rs->max_age_s * 1000000000ull
				  ? now_ns - rs->max_age_s * 1000000000ull
				  : 0;
	json_t *gone = json_object();
	const char *reason = "size";
	uint8_t bytes[8];
	MDB_val k, v, mk = { 5, "bytes" }, mv = { 8, bytes };
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	uint64_t total = rs->bytes;
	int rc, n = 0;

	if (gone == NULL)
		return -ENOMEM;
	if ((rc = mdb_txn_begin(rs->env, NULL, 0, &txn)) != 0)
		goto out;
	if ((rc = mdb_cursor_open(txn, rs->age, &c)) != 0)
		goto abort;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		uint64_t t;
		MDB_val ck;
		json_t *e;
		char sid[TG_SESSTRACK_SID_MAX + 1];
		size_t sl;
		uint32_t idx;

		if (k.mv_size < 8 + 1 + 4 || k.mv_size > KEY_MAX || v.mv_size != 4)
			continue;
		t = be64(key);
		if (total <= rs->max_bytes && (cutoff == 0 || t >= cutoff))
			break;
		if (total <= rs->max_bytes)
			reason = "age";
		sl = k.mv_size - 8 - 5;
		memcpy(sid, key + 8, sl);
		sid[sl] = '\0';
		idx = be32(key + k.mv_size - 4);
		ck = (MDB_val){ k.mv_size - 8, (void *)(key + 8) };
		if ((rc = mdb_del(txn, rs->chunk, &ck, NULL)) != 0 && rc != MDB_NOTFOUND)
			goto abort;
		total -= be32(v.mv_data) < total ? be32(v.mv_data) : total;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			goto abort;
		e = json_object_get(gone, sid);
		if (e == NULL) {
			e = json_pack("[i, i, i]", 0, idx, idx);
			json_object_set_new(gone, sid, e);
		}
		json_array_set_new(e, 0,
				   json_integer(json_integer_value(json_array_get(e, 0)) + 1));
		if (idx < json_integer_value(json_array_get(e, 1)))
			json_array_set_new(e, 1, json_integer(idx));
		if (idx > json_integer_value(json_array_get(e, 2)))
			json_array_set_new(e, 2, json_integer(idx));
		n++;
	}
	mdb_cursor_close(c);
	c = NULL;
	if (n == 0) {
		mdb_txn_abort(txn);
		rc = 0;
		goto out;
	}
	be64_put(bytes, total);
	if ((rc = mdb_put(txn, rs->meta, &mk, &mv, 0)) != 0)
		goto abort;
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto out;
	rs->bytes = total;
	rs->cnt[TG_RECORDINGS_CNT_EXPIRED] += (uint64_t)n;
	rc = expired(rs, gone, reason);
	json_decref(gone);
	return rc < 0 ? rc : n;
abort:
	if (c != NULL)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
out:
	json_decref(gone);
	if (rc != 0) {
		rs->cnt[TG_RECORDINGS_CNT_ERRORS]++;
		tg_sp_seterr(rs->err, sizeof(rs->err), "retention: %s", mdb_strerror(rc));
		return lmdb_rc(rc);
	}
	return 0;
}

int
tg_recordings_bundle_chunk(void *arg, uint64_t seq, const json_t *rec, uint8_t **data, size_t *len)
{
	const char *sid = json_string_value(json_object_get(json_object_get(rec, "session"), "id"));
	const json_t *idx = json_object_get(json_object_get(rec, "recording"), "index");

	(void)seq;
	if (sid == NULL || !json_is_integer(idx) || json_integer_value(idx) < 0)
		return -ENOENT;
	return tg_recordings_chunk(arg, sid, (uint64_t)json_integer_value(idx), data, len);
}
