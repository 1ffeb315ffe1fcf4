/* SPDX-License-Identifier: MIT */
/*
 * bundle.c — the evidence bundle's reader and verifier; see bundle.h for
 * the format and the order of the checks.
 *
 * Everything in a bundle is untrusted input: every member is checked for
 * type and range before use, hex and base64 strictly, and nothing in it is
 * believed until the signature, the proofs and the hashes say so. No LMDB
 * here (bundle_build.c reads the log), so the fuzz target and tgctl's
 * offline verifier link only this, note.c, merkle.c and canon.c. Memory is
 * the parsed bundle plus one small entry per record.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit_int.h"
#include "bundle.h"
#include "canon.h"
#include "merkle.h"
#include "note.h"

#define HASH TG_MERKLE_HASH

const char *const tg_bundle_fault_names[TG_BUNDLE_FAULT_MAX] = {
#define TG_BUNDLE_X(e, name, text) name,
	TG_BUNDLE_FAULTS(TG_BUNDLE_X)
#undef TG_BUNDLE_X
};

/* What the completeness checks need of one record. */
enum kind { K_OTHER, K_START, K_END, K_QUERY, K_BEGIN, K_CHUNK };

struct entry {
	uint64_t seq;
	enum kind kind;
	uint64_t stmt;			/* K_QUERY, K_BEGIN */
	uint64_t index, offset, length; /* K_CHUNK */
	uint8_t sha256[HASH];		/* K_CHUNK */
	bool has_chunk;			/* K_CHUNK: its bytes are in the bundle */
};

struct vb {
	struct tg_bundle_report *rep;
	bool failed;
	struct entry *e;
	size_t n;
	int64_t end_chunks; /* session.end's recording.chunks, -1 if it states none */
	int64_t end_stmts;  /* session.end's db.statements, -1 if it states none */
};

static int fault(struct vb *v, enum tg_bundle_fault f, int64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fault(struct vb *v, enum tg_bundle_fault f, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (v->failed)
		return -EBADMSG;
	v->failed = true;
	v->rep->ok = false;
	v->rep->fault = f;
	v->rep->seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->rep->detail, sizeof(v->rep->detail), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Strict lowercase hex of exactly len bytes (audit_int.h's, on a JSON string). */
static bool
unhex(const json_t *s, uint8_t *out, size_t len)
{
	return json_is_string(s) &&
	       tg_audit_unhex(json_string_value(s), json_string_length(s), out, len);
}

/* A non-negative integer member, or -1. */
static int64_t
get_u(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	return json_integer_value(v);
}

static const char *
get_s(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
sha256(const void *data, size_t len, uint8_t out[HASH])
{
	unsigned int n = HASH;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		abort(); /* only when OpenSSL cannot allocate: as merkle.h */
}

/* ------------------------------------------------------------------ */
/* The key and the checkpoint                                          */

static int
check_key(struct vb *v, const json_t *b, const uint8_t *pinned, uint8_t pub[TG_NOTE_PUB])
{
	const json_t *k = json_object_get(b, "key");
	const char *name = get_s(k, "name"), *ed = get_s(k, "ed25519");
	uint8_t mine[TG_NOTE_PUB];

	if (!json_is_object(k) || name == NULL || ed == NULL || strcmp(name, v->rep->origin) != 0 ||
	    tg_note_b64_decode(ed, strlen(ed), mine, sizeof(mine)) != TG_NOTE_PUB)
		return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1,
			     "key: not {\"name\": the origin, \"ed25519\": base64 of 32 bytes}");
	if (pinned != NULL && CRYPTO_memcmp(pinned, mine, TG_NOTE_PUB) != 0) {
		uint8_t id[TG_NOTE_KEY_ID];

		tg_note_key_id(v->rep->origin, mine, id);
		return fault(v, TG_BUNDLE_FAULT_KEY, -1,
			     "the bundle names key id %02x%02x%02x%02x, not the given key", id[0],
			     id[1], id[2], id[3]);
	}
	memcpy(pub, pinned != NULL ? pinned : mine, TG_NOTE_PUB);
	v->rep->pinned = pinned != NULL;
	tg_note_key_id(v->rep->origin, pub, v->rep->key_id);
	return 0;
}

static int
check_checkpoint(struct vb *v, const json_t *b, const uint8_t pub[TG_NOTE_PUB], uint8_t root[HASH])
{
	const json_t *cp = json_object_get(b, "checkpoint");
	const char *note = get_s(cp, "note");
	int64_t size = get_u(cp, "size");
	char origin[TG_NOTE_NAME_MAX + 1];
	size_t text_len, len;
	uint64_t n;
	int rc;

	if (note == NULL || size < 1)
		return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1,
			     "checkpoint: not {\"size\": N > 0, \"note\": TEXT}");
	len = json_string_length(json_object_get(cp, "note"));
	v->rep->size = (uint64_t)size;
	rc = tg_note_verify(note, len, v->rep->origin, pub, &text_len);
	if (rc == -ENOKEY)
		return fault(v, TG_BUNDLE_FAULT_CHECKPOINT_SIGNATURE, -1,
			     "the checkpoint for size %" PRId64 " has no signature by key %s "
			     "(key id %02x%02x%02x%02x)",
			     size, v->rep->origin, v->rep->key_id[0], v->rep->key_id[1],
			     v->rep->key_id[2], v->rep->key_id[3]);
	if (rc == -EKEYREJECTED)
		return fault(v, TG_BUNDLE_FAULT_CHECKPOINT_SIGNATURE, -1,
			     "the checkpoint for size %" PRId64 ": its signature by key %s does "
			     "not verify",
			     size, v->rep->origin);
	if (rc < 0 ||
	    tg_note_checkpoint_parse(note, text_len, origin, sizeof(origin), &n, root) < 0)
		return fault(v, TG_BUNDLE_FAULT_CHECKPOINT_MALFORMED, -1,
			     "the checkpoint is not a well-formed signed checkpoint note");
	if (strcmp(origin, v->rep->origin) != 0 || n != (uint64_t)size)
		return fault(v, TG_BUNDLE_FAULT_CHECKPOINT_MALFORMED, -1,
			     "the checkpoint note is of log %s, size %" PRIu64
			     ", the bundle says %s, size %" PRId64,
			     origin, n, v->rep->origin, size);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static int
classify(struct vb *v, struct entry *e, const json_t *r)
{
	const char *type = get_s(json_object_get(r, "event"), "type");
	const json_t *db = json_object_get(r, "db"), *rc = json_object_get(r, "recording");
	int64_t x;

	if (type == NULL)
		return fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, (int64_t)e->seq,
			     "record %" PRIu64 " has no event.type", e->seq);
	if (strcmp(type, "session.start") == 0) {
		e->kind = K_START;
	} else if (strcmp(type, "session.end") == 0) {
		e->kind = K_END;
		x = get_u(rc, "chunks");
		if (rc != NULL && x < 0)
			return fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, (int64_t)e->seq,
				     "session.end record %" PRIu64
				     ": recording.chunks is not a count",
				     e->seq);
		v->end_chunks = x;
		x = get_u(db, "statements");
		if (json_object_get(db, "statements") != NULL && x < 0)
			return fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, (int64_t)e->seq,
				     "session.end record %" PRIu64 ": db.statements is not a count",
				     e->seq);
		v->end_stmts = x;
		v->rep->ended = true;
	} else if (strcmp(type, "db.query") == 0 || strcmp(type, "db.query.begin") == 0) {
		e->kind = type[8] == '\0' ? K_QUERY : K_BEGIN;
		x = get_u(db, "statement_number");
		if (x < 1)
			return fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, (int64_t)e->seq,
				     "record %" PRIu64 " (%s) has no db.statement_number", e->seq,
				     type);
		e->stmt = (uint64_t)x;
	} else if (strcmp(type, "recording.chunk") == 0) {
		int64_t idx = get_u(rc, "index"), off = get_u(rc, "offset"),
			len = get_u(rc, "length");

		e->kind = K_CHUNK;
		if (idx < 0 || off < 0 || len < 1 ||
		    !unhex(json_object_get(rc, "sha256"), e->sha256, HASH))
			return fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, (int64_t)e->seq,
				     "recording.chunk record %" PRIu64
				     " lacks recording.index, offset, length or sha256",
				     e->seq);
		e->index = (uint64_t)idx;
		e->offset = (uint64_t)off;
		e->length = (uint64_t)len;
	}
	return 0;
}

/* Record i of the bundle: its proof first (any change shows there), then what it says. */
static int
check_record(struct vb *v, size_t i, const json_t *item, const uint8_t root[HASH])
{
	uint8_t path[TG_MERKLE_PATH_MAX][HASH];
	const json_t *bytes = json_object_get(item, "record"), *p = json_object_get(item, "path");
	const json_t *sid;
	int64_t seq = get_u(item, "seq");
	uint8_t leaf[HASH];
	size_t len, k, clen;
	char *canon = NULL;
	json_t *r, *h;
	int rc = 0;

	if (seq < 0 || !json_is_string(bytes) || !json_is_array(p) ||
	    json_array_size(p) > TG_MERKLE_PATH_MAX)
		return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1,
			     "records[%zu]: not {\"seq\": N, \"record\": TEXT, \"path\": [HEX]}",
			     i);
	if ((uint64_t)seq >= v->rep->size || (i > 0 && (uint64_t)seq <= v->e[i - 1].seq))
		return fault(v, TG_BUNDLE_FAULT_RECORD_ORDER, seq,
			     "records[%zu] is record %" PRId64
			     ": records must ascend and lie below the checkpoint's %" PRIu64,
			     i, seq, v->rep->size);
	json_array_foreach(p, k, h)
		if (!unhex(h, path[k], HASH))
			return fault(v, TG_BUNDLE_FAULT_MALFORMED, seq,
				     "records[%zu].path[%zu] is not a 32-byte hash in hex", i, k);
	v->e[i].seq = (uint64_t)seq;
	len = json_string_length(bytes);
	tg_merkle_leaf_hash(json_string_value(bytes), len, leaf);
	if (!tg_merkle_verify_inclusion((uint64_t)seq, v->rep->size, leaf,
					(const uint8_t(*)[HASH])path, (unsigned int)k, root))
		return fault(v, TG_BUNDLE_FAULT_PROOF, seq,
			     "record %" PRId64 " is not in the signed tree of %" PRIu64
			     " records: the record or its inclusion proof was changed",
			     seq, v->rep->size);

	/* in the signed log: now what it says must fit the bundle */
	r = json_loadb(json_string_value(bytes), len, JSON_REJECT_DUPLICATES, NULL);
	sid = json_object_get(json_object_get(r, "session"), "id");
	if (!json_is_object(r) || tg_canon_encode(r, &canon, &clen) < 0 || clen != len ||
	    memcmp(canon, json_string_value(bytes), len) != 0)
		rc = fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, seq,
			   "record %" PRId64 " is not a canonical JSON record", seq);
	else if (get_s(r, "origin") == NULL || strcmp(get_s(r, "origin"), v->rep->origin) != 0 ||
		 get_u(r, "seq") != seq)
		rc = fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, seq,
			   "record %" PRId64 " does not name log %s and seq %" PRId64, seq,
			   v->rep->origin, seq);
	else if (!json_is_string(sid) || strcmp(json_string_value(sid), v->rep->session) != 0)
		rc = fault(v, TG_BUNDLE_FAULT_RECORD_MALFORMED, seq,
			   "record %" PRId64 " is not of session %s", seq, v->rep->session);
	else
		rc = classify(v, &v->e[i], r);
	free(canon);
	json_decref(r);
	return rc;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The session is whole: its start, every statement's db.query, every chunk's record. */
static int
check_whole(struct vb *v)
{
	uint64_t *q, nq = 0, max = 0, want, next_off = 0, chunks = 0;
	int64_t start = -1;
	size_t i;

	for (i = 0; i < v->n; i++) {
		struct entry *e = &v->e[i];

		if (e->kind == K_START && start < 0)
			start = (int64_t)e->seq;
		if ((e->kind == K_QUERY || e->kind == K_BEGIN) && e->stmt > max)
			max = e->stmt;
		if (e->kind == K_QUERY)
			nq++;
	}
	if (start < 0)
		return fault(v, TG_BUNDLE_FAULT_RECORD_MISSING, -1,
			     "the session's session.start record is not in the bundle");
	q = calloc(nq + 1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	for (i = 0, nq = 0; i < v->n; i++)
		if (v->e[i].kind == K_QUERY)
			q[nq++] = v->e[i].stmt;
	qsort(q, nq, sizeof(*q), u64_cmp);
	/* the session's end says how many there were: the last ones cannot go unnoticed */
	if (v->end_stmts >= 0 && (uint64_t)v->end_stmts != max) {
		free(q);
		return fault(v, TG_BUNDLE_FAULT_RECORD_MISSING, -1,
			     "session.end states %" PRId64 " statements, the bundle has records "
			     "of %" PRIu64,
			     v->end_stmts, max);
	}
	/* db.query for 1..max, except statements still running in an open session */
	for (i = 0, want = 1; want <= max; want++) {
		bool seen = false;

		while (i < nq && q[i] <= want)
			seen |= q[i++] == want;
		if (seen)
			continue;
		if (!v->rep->ended) {
			bool begun = false;

			for (size_t k = 0; k < v->n && !begun; k++)
				begun = v->e[k].kind == K_BEGIN && v->e[k].stmt == want;
			if (begun && want > (nq ? q[nq - 1] : 0))
				continue;
		}
		free(q);
		return fault(v, TG_BUNDLE_FAULT_RECORD_MISSING, -1,
			     "the db.query record of statement %" PRIu64 " of %" PRIu64
			     " is not in the bundle",
			     want, max);
	}
	free(q);
	v->rep->statements = max;

	for (i = 0; i < v->n; i++) {
		struct entry *e = &v->e[i];

		if (e->kind != K_CHUNK)
			continue;
		if (e->index != chunks || e->offset != next_off)
			return fault(v, TG_BUNDLE_FAULT_RECORD_MISSING, (int64_t)e->seq,
				     "recording.chunk record %" PRIu64 " is chunk %" PRIu64
				     " at offset %" PRIu64 "; chunk %" PRIu64 " at offset %" PRIu64
				     " should come first",
				     e->seq, e->index, e->offset, chunks, next_off);
		chunks++;
		next_off += e->length;
	}
	if (v->end_chunks >= 0 && (uint64_t)v->end_chunks != chunks)
		return fault(v, TG_BUNDLE_FAULT_RECORD_MISSING, -1,
			     "session.end states %" PRId64 " recording chunks, the bundle has "
			     "records of %" PRIu64,
			     v->end_chunks, chunks);
	v->rep->chunks = chunks;
	return 0;
}

static int
check_chunks(struct vb *v, const json_t *b)
{
	const json_t *chunks = json_object_get(b, "chunks"), *c;
	uint8_t h[HASH];
	size_t i, k;

	if (chunks == NULL)
		goto count;
	if (!json_is_array(chunks))
		return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1, "chunks: not an array");
	json_array_foreach(chunks, i, c) {
		const char *data = get_s(c, "data");
		int64_t seq = get_u(c, "seq");
		struct entry *e = NULL;
		uint8_t *raw;
		size_t dlen;
		int n;

		if (data == NULL || seq < 0)
			return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1,
				     "chunks[%zu]: not {\"seq\": N, \"data\": BASE64}", i);
		for (k = 0; k < v->n; k++)
			if (v->e[k].seq == (uint64_t)seq && v->e[k].kind == K_CHUNK)
				e = &v->e[k];
		if (e == NULL || e->has_chunk)
			return fault(v, TG_BUNDLE_FAULT_CHUNK_UNKNOWN, seq,
				     "chunks[%zu] claims record %" PRId64 ", %s", i, seq,
				     e == NULL ? "which is no recording.chunk record of the bundle"
					       : "whose chunk came already");
		dlen = json_string_length(json_object_get(c, "data"));
		raw = malloc(dlen / 4 * 3 + 3);
		if (raw == NULL)
			return -ENOMEM;
		n = tg_note_b64_decode(data, dlen, raw, dlen / 4 * 3 + 3);
		if (n < 0) {
			free(raw);
			return fault(v, TG_BUNDLE_FAULT_MALFORMED, seq,
				     "chunks[%zu].data is not base64", i);
		}
		sha256(raw, (size_t)n, h);
		free(raw);
		if ((uint64_t)n != e->length || CRYPTO_memcmp(h, e->sha256, HASH) != 0)
			return fault(v, TG_BUNDLE_FAULT_CHUNK_MODIFIED, seq,
				     "recording chunk %" PRIu64 " (%d bytes) does not have the "
				     "SHA-256 and length (%" PRIu64
				     " bytes) that audit record %" PRId64 " states",
				     e->index, n, e->length, seq);
		e->has_chunk = true;
		v->rep->recording_bytes += (uint64_t)n;
	}
count:
	for (k = 0; k < v->n; k++)
		if (v->e[k].kind == K_CHUNK && !v->e[k].has_chunk)
			v->rep->chunks_expired++;
	return 0;
}

static int
verify(struct vb *v, const json_t *b, const uint8_t *pinned)
{
	const json_t *recs = json_object_get(b, "records"), *item;
	const char *origin = get_s(b, "origin"), *sid = get_s(b, "session");
	uint8_t pub[TG_NOTE_PUB], root[HASH];
	size_t i;
	int rc;

	if (!json_is_object(b) || get_s(b, "bundle") == NULL ||
	    strcmp(get_s(b, "bundle"), TG_BUNDLE_NAME) != 0)
		return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1, "not a " TG_BUNDLE_NAME " bundle");
	if (get_u(b, "version") != TG_BUNDLE_VERSION)
		return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1,
			     "bundle version %" PRId64 ", this tool reads %d", get_u(b, "version"),
			     TG_BUNDLE_VERSION);
	if (origin == NULL || !tg_note_name_valid(origin) || sid == NULL || sid[0] == '\0' ||
	    strlen(sid) > TG_BUNDLE_SESSION_MAX || !json_is_array(recs))
		return fault(v, TG_BUNDLE_FAULT_MALFORMED, -1,
			     "origin, session or records missing or malformed");
	snprintf(v->rep->origin, sizeof(v->rep->origin), "%s", origin);
	snprintf(v->rep->session, sizeof(v->rep->session), "%s", sid);
	if ((rc = check_key(v, b, pinned, pub)) < 0 || (rc = check_checkpoint(v, b, pub, root)) < 0)
		return rc;
	v->n = json_array_size(recs);
	v->e = calloc(v->n + 1, sizeof(*v->e));
	if (v->e == NULL)
		return -ENOMEM;
	json_array_foreach(recs, i, item) {
		if ((rc = check_record(v, i, item, root)) < 0)
			return rc;
		v->rep->records++;
	}
	if ((rc = check_whole(v)) < 0 || (rc = check_chunks(v, b)) < 0)
		return rc;
	v->rep->ok = true;
	v->rep->fault = TG_BUNDLE_FAULT_NONE;
	return 0;
}

static int
load(const char *buf, size_t len, const uint8_t *pub, json_t **out, struct tg_bundle_report *rep)
{
	struct vb v = { .rep = rep, .end_chunks = -1, .end_stmts = -1 };
	json_error_t jerr;
	json_t *b;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->seq = -1;
	if (len > TG_BUNDLE_MAX) {
		fault(&v, TG_BUNDLE_FAULT_MALFORMED, -1, "%zu bytes: over the %zu of a bundle", len,
		      TG_BUNDLE_MAX);
		return 0;
	}
	b = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (b == NULL) {
		fault(&v, TG_BUNDLE_FAULT_MALFORMED, -1, "not JSON: line %d: %s", jerr.line,
		      jerr.text);
		return 0;
	}
	rc = verify(&v, b, pub);
	free(v.e);
	if (rc == -ENOMEM) {
		json_decref(b);
		return rc;
	}
	if (out != NULL && rep->ok)
		*out = b;
	else
		json_decref(b);
	return 0;
}

int
tg_bundle_verify(const char *buf, size_t len, const uint8_t *pub, struct tg_bundle_report *rep)
{
	return load(buf, len, pub, NULL, rep);
}

int
tg_bundle_load(const char *buf, size_t len, const uint8_t *pub, json_t **bundle,
	       struct tg_bundle_report *rep)
{
	int rc;

	*bundle = NULL;
	rc = load(buf, len, pub, bundle, rep);
	if (rc < 0)
		return rc;
	return rep->ok ? 0 : -EBADMSG;
}

json_t *
tg_bundle_report_json(const struct tg_bundle_report *rep)
{
	char id[2 * TG_NOTE_KEY_ID + 1];
	json_t *j;

	snprintf(id, sizeof(id), "%02x%02x%02x%02x", rep->key_id[0], rep->key_id[1], rep->key_id[2],
		 rep->key_id[3]);
	j = json_pack("{s:b, s:s, s:s}", "ok", rep->ok, "origin", rep->origin, "session",
		      rep->session);
	if (j == NULL)
		return NULL;
	if (rep->ok) {
		json_object_set_new(j, "key_id", json_string(id));
		json_object_set_new(j, "key", json_string(rep->pinned ? "given" : "bundle"));
		json_object_set_new(j, "checkpoint", json_integer((json_int_t)rep->size));
		json_object_set_new(j, "records", json_integer((json_int_t)rep->records));
		json_object_set_new(j, "statements", json_integer((json_int_t)rep->statements));
		json_object_set_new(j, "chunks", json_integer((json_int_t)rep->chunks));
		json_object_set_new(j, "chunks_expired",
				    json_integer((json_int_t)rep->chunks_expired));
		json_object_set_new(j, "recording_bytes",
				    json_integer((json_int_t)rep->recording_bytes));
		json_object_set_new(j, "ended", json_boolean(rep->ended));
	} else {
		json_object_set_new(j, "fault", json_string(tg_bundle_fault_names[rep->fault]));
		if (rep->seq >= 0)
			json_object_set_new(j, "seq", json_integer(rep->seq));
		json_object_set_new(j, "detail", json_string(rep->detail));
		json_object_set_new(j, "records_checked", json_integer((json_int_t)rep->records));
	}
	return j;
}
