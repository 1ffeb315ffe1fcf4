/* SPDX-License-Identifier: MIT */
/*
 * bundle_build.c — an evidence bundle (bundle.h) from a reader of the
 * audit log: the session's records below the latest signed checkpoint,
 * each with its inclusion proof, the note and the key.
 *
 * The log has no index by session, so the records are read once, in one
 * read transaction, and only those whose bytes hold the session id (a
 * memmem()) are parsed: about a microsecond a record, a second for a
 * million. Each record kept then costs one proof, O(log n) node reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "audit_int.h"
#include "bundle.h"
#include "merkle.h"
#include "note.h"
#include "seterr.h"

struct scan {
	const char *sid;
	char needle[TG_BUNDLE_SESSION_MAX + 16];
	size_t needle_len;
	json_t *found; /* [[seq, "bytes"], ...] */
};

/* tg_audit_record_fn: the records of the session, by their session.id. */
static int
scan_one(void *arg, uint64_t seq, const char *rec, size_t len)
{
	struct scan *s = arg;
	const char *id;
	json_t *r;
	int rc = 0;

	if (memmem(rec, len, s->needle, s->needle_len) == NULL)
		return 0;
	r = json_loadb(rec, len, JSON_REJECT_DUPLICATES, NULL);
	id = json_string_value(json_object_get(json_object_get(r, "session"), "id"));
	if (id != NULL && strcmp(id, s->sid) == 0 &&
	    json_array_append_new(s->found, json_pack("[I, s%]", (json_int_t)seq, rec, len)) < 0)
		rc = -ENOMEM;
	json_decref(r);
	return rc;
}

static json_t *
hex_json(const uint8_t *h, size_t len)
{
	char buf[2 * TG_MERKLE_HASH + 1];

	tg_audit_hex(h, len, buf);
	return json_string(buf);
}

static json_t *
b64_json(const uint8_t *data, size_t len)
{
	size_t size = (len + 2) / 3 * 4 + 1;
	char *buf = malloc(size);
	json_t *j;

	if (buf == NULL)
		return NULL;
	tg_note_b64_encode(data, len, buf, size);
	j = json_string(buf);
	free(buf);
	return j;
}

/* The chunk of a recording.chunk record, when the recordings store still has it. */
static int
add_chunk(json_t *chunks, uint64_t seq, const json_t *r, tg_bundle_chunk_fn fn, void *arg)
{
	const char *type = json_string_value(json_object_get(json_object_get(r, "event"), "type"));
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if (fn == NULL || type == NULL || strcmp(type, "recording.chunk") != 0)
		return 0;
	rc = fn(arg, seq, r, &data, &len);
	if (rc == -ENOENT)
		return 0; /* expired: the record says what it was */
	if (rc < 0)
		return rc;
	rc = json_array_append_new(chunks, json_pack("{s:I, s:o}", "seq", (json_int_t)seq, "data",
						     b64_json(data, len)));
	free(data);
	return rc < 0 ? -ENOMEM : 0;
}

int
tg_bundle_build(struct tg_audit_log *l, const char *sid, const uint8_t pub[TG_NOTE_PUB],
		tg_bundle_chunk_fn chunk_fn, void *chunk_arg, json_t **out, char *err,
		size_t errlen)
{
	struct scan s = { .sid = sid };
	struct tg_audit_inclusion *p = NULL;
	struct tg_audit_info info;
	uint8_t key_id[TG_NOTE_KEY_ID];
	json_t *recs = NULL, *chunks = NULL, *item, *b = NULL;
	char b64[64];
	size_t i;
	int rc;

	*out = NULL;
	if (strlen(sid) == 0 || strlen(sid) > TG_BUNDLE_SESSION_MAX || strchr(sid, '"') != NULL ||
	    strchr(sid, '\\') != NULL) {
		tg_sp_seterr(err, errlen, "\"%s\" is not a session id", sid);
		return -EINVAL;
	}
	if ((rc = tg_audit_log_info(l, &info, err, errlen)) < 0)
		return rc;
	if (info.last_checkpoint == 0) {
		tg_sp_seterr(err, errlen, "the log has no signed checkpoint yet");
		return -ENOENT;
	}
	s.needle_len = (size_t)snprintf(s.needle, sizeof(s.needle), "\"id\":\"%s\"", sid);
	s.found = json_array();
	recs = json_array();
	chunks = json_array();
	p = calloc(1, sizeof(*p));
	if (s.found == NULL || recs == NULL || chunks == NULL || p == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = tg_audit_log_records(l, 0, info.last_checkpoint, scan_one, &s, err, errlen);
	if (rc < 0)
		goto out;
	if (json_array_size(s.found) == 0) {
		tg_sp_seterr(err, errlen,
			     "no record of session %s in the %" PRIu64
			     " records the latest checkpoint signs",
			     sid, info.last_checkpoint);
		rc = -ENOENT;
		goto out;
	}
	json_array_foreach(s.found, i, item) {
		uint64_t seq = (uint64_t)json_integer_value(json_array_get(item, 0));
		json_t *path = json_array(), *r;

		rc = tg_audit_log_inclusion(l, seq, info.last_checkpoint, pub, p, err, errlen);
		if (rc < 0) {
			json_decref(path);
			goto out;
		}
		if (!p->verified || !p->checkpoint || p->note_rc != 0) {
			tg_sp_seterr(err, errlen,
				     "record %" PRIu64 " does not prove against the checkpoint for "
				     "size %" PRIu64 " (%s): verify the log",
				     seq, info.last_checkpoint,
				     tg_audit_note_status_name(p->note_rc));
			tg_audit_inclusion_release(p);
			json_decref(path);
			rc = -EBADMSG;
			goto out;
		}
		for (unsigned int k = 0; k < p->len && path != NULL; k++)
			json_array_append_new(path, hex_json(p->path[k], TG_MERKLE_HASH));
		if (b == NULL)
			b = json_pack("{s:s, s:i, s:s, s:s, s:{s:I, s:s%}}", "bundle",
				      TG_BUNDLE_NAME, "version", TG_BUNDLE_VERSION, "origin",
				      info.origin, "session", sid, "checkpoint", "size",
				      (json_int_t)info.last_checkpoint, "note", p->note,
				      p->note_len);
		rc = json_array_append_new(recs, json_pack("{s:I, s:s%, s:o}", "seq",
							   (json_int_t)seq, "record", p->record,
							   p->record_len, "path", path));
		r = json_loadb(p->record, p->record_len, JSON_REJECT_DUPLICATES, NULL);
		if (rc == 0)
			rc = add_chunk(chunks, seq, r, chunk_fn, chunk_arg);
		json_decref(r);
		tg_audit_inclusion_release(p);
		if (rc < 0 || b == NULL) {
			rc = rc < 0 ? rc : -ENOMEM;
			goto out;
		}
	}
	tg_note_key_id(info.origin, pub, key_id);
	tg_note_b64_encode(pub, TG_NOTE_PUB, b64, sizeof(b64));
	if (json_object_set_new(b, "key",
				json_pack("{s:s, s:o, s:s}", "name", info.origin, "id",
					  hex_json(key_id, TG_NOTE_KEY_ID), "ed25519", b64)) < 0 ||
	    json_object_set(b, "records", recs) < 0 || json_object_set(b, "chunks", chunks) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	*out = b;
	b = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM)
		tg_sp_seterr(err, errlen, "out of memory");
	json_decref(b);
	json_decref(recs);
	json_decref(chunks);
	json_decref(s.found);
	free(p);
	return rc;
}
