/* SPDX-License-Identifier: MIT */
/*
 * evidence.c — tgctl's evidence bundle commands (evidence.h): the file
 * written by `sessions export`, read and checked by `audit verify
 * --bundle` with no slowpath and no store, only the file and a key.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle.h"
#include "evidence.h"
#include "note.h"

#define PROG "tgctl"
#define EXIT_OK 0
#define EXIT_BAD 1
#define EXIT_USAGE 2

/* The whole file, at most TG_BUNDLE_MAX bytes; NULL with a message. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, PROG ": open %s: %s\n", path, strerror(errno));
		goto err;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > TG_BUNDLE_MAX) {
		fprintf(stderr, PROG ": %s: not a file of at most %zu bytes\n", path,
			TG_BUNDLE_MAX);
		goto err;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		fprintf(stderr, PROG ": %s: out of memory\n", path);
		goto err;
	}
	while (n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, PROG ": read %s: %s\n", path, strerror(errno));
			goto err;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
err:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

int
tgctl_bundle_verify(const char *path, const char *key, bool json)
{
	struct tg_bundle_report rep;
	uint8_t pub[TG_NOTE_PUB];
	char err[256], *buf;
	size_t len;
	json_t *j;
	char *s;
	int rc;

	if (key != NULL && tg_note_pubkey_load(key, pub, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_USAGE;
	}
	if ((buf = slurp(path, &len)) == NULL)
		return EXIT_USAGE;
	rc = tg_bundle_verify(buf, len, key != NULL ? pub : NULL, &rep);
	free(buf);
	if (rc < 0) {
		fprintf(stderr, PROG ": verify %s: %s\n", path, strerror(-rc));
		return EXIT_USAGE;
	}
	if (json) {
		j = tg_bundle_report_json(&rep);
		s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(j);
		return rep.ok ? EXIT_OK : EXIT_BAD;
	}
	if (!rep.ok) {
		if (rep.seq >= 0)
			printf("FAIL (%s) at record %" PRId64 ": %s\n",
			       tg_bundle_fault_names[rep.fault], rep.seq, rep.detail);
		else
			printf("FAIL (%s): %s\n", tg_bundle_fault_names[rep.fault], rep.detail);
		return EXIT_BAD;
	}
	printf("ok: session %s of %s: %" PRIu64 " records, %" PRIu64
	       " statements, each proven in the checkpoint of %" PRIu64 " records\n",
	       rep.session, rep.origin, rep.records, rep.statements, rep.size);
	printf("ok: checkpoint signed by key %s (key id %02x%02x%02x%02x, %s)\n", rep.origin,
	       rep.key_id[0], rep.key_id[1], rep.key_id[2], rep.key_id[3],
	       rep.pinned ? "the given key" : "the bundle's own key: pin one with --key");
	if (rep.chunks > 0)
		printf("ok: recording: %" PRIu64 " chunks, %" PRIu64
		       " bytes, each as its audit record states\n",
		       rep.chunks - rep.chunks_expired, rep.recording_bytes);
	if (rep.chunks_expired > 0)
		printf("note: %" PRIu64 " of %" PRIu64
		       " recording chunks expired (retention): their audit records remain\n",
		       rep.chunks_expired, rep.chunks);
	if (!rep.ended)
		printf("note: no session.end record: the session was open at the checkpoint, "
		       "or its last records are not in the bundle\n");
	return EXIT_OK;
}

int
tgctl_bundle_write(json_t *res, const char *path, bool json)
{
	const json_t *b = json_object_get(res, "bundle");
	char tmp[4096];
	int fd, rc = EXIT_USAGE;
	FILE *f;

	if (!json_is_object(b)) {
		fprintf(stderr, PROG ": the answer holds no bundle\n");
		goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, PROG ": create %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (json_dumpf(b, f, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 || fputc('\n', f) == EOF ||
	    fflush(f) == EOF || fsync(fileno(f)) < 0) {
		fprintf(stderr, PROG ": write %s: %s\n", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		goto out;
	}
	if (fclose(f) == EOF || rename(tmp, path) < 0) {
		fprintf(stderr, PROG ": write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (json) {
		json_t *j = json_pack(
			"{s:s, s:O, s:O, s:I, s:I}", "bundle", path, "session",
			json_object_get(b, "session"), "checkpoint",
			json_object_get(json_object_get(b, "checkpoint"), "size"), "records",
			(json_int_t)json_array_size(json_object_get(b, "records")), "chunks",
			(json_int_t)json_array_size(json_object_get(b, "chunks")));
		char *s = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		printf("wrote %s: session %s, %zu records, %zu recording chunks, proven in the "
		       "signed checkpoint of %" JSON_INTEGER_FORMAT " records\n",
		       path, json_string_value(json_object_get(b, "session")),
		       json_array_size(json_object_get(b, "records")),
		       json_array_size(json_object_get(b, "chunks")),
		       json_integer_value(
			       json_object_get(json_object_get(b, "checkpoint"), "size")));
	}
	rc = EXIT_OK;
out:
	json_decref(res);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Replay                                                              */

static const char *
get_str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "";
}

/* s for a terminal: control characters and backslash escaped, as the rest of tgctl does. */
static void
put_esc(FILE *f, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static size_t
esc_len(const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			n += 2;
		else if (c < 0x20 || c == 0x7f)
			n += 4;
		else if ((c & 0xc0) != 0x80) /* a character, not a continuation byte */
			n++;
	}
	return n;
}

static void
pad(size_t n)
{
	while (n-- > 0)
		putchar(' ');
}

static void
print_time(int64_t ns)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || gmtime_r(&s, &tm) == NULL)
		return;
	printf("-- %04d-%02d-%02d %02d:%02d:%02d.%06lldZ\n", tm.tm_year + 1900, tm.tm_mon + 1,
	       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(ns % 1000000000 / 1000));
}

/* A result being replayed: its columns and rows, printed as psql prints a table. */
struct result {
	json_t *names; /* NULL: no RowDescription since the statement */
	json_t *rows;
	uint64_t skipped_rows, skipped_bytes;
};

static void
result_reset(struct result *r)
{
	json_decref(r->names);
	json_decref(r->rows);
	memset(r, 0, sizeof(*r));
}

static void
print_table(struct result *r, const char *tag)
{
	size_t nc = json_array_size(r->names), i, k, w[1600];
	unsigned long long total = json_array_size(r->rows) + r->skipped_rows;
	const char *sp = tag != NULL ? strrchr(tag, ' ') : NULL;
	json_t *row;

	if (nc > 1600)
		nc = 1600;
	for (k = 0; k < nc; k++)
		w[k] = esc_len(json_string_value(json_array_get(r->names, k)));
	json_array_foreach(r->rows, i, row)
		for (k = 0; k < nc; k++)
			if (esc_len(json_string_value(json_array_get(row, k))) > w[k])
				w[k] = esc_len(json_string_value(json_array_get(row, k)));
	for (k = 0; k < nc; k++) {
		const char *n = json_string_value(json_array_get(r->names, k));
		size_t l = esc_len(n);

		printf("%s", k ? "|" : "");
		pad(1 + (w[k] - l) / 2);
		put_esc(stdout, n);
		pad(w[k] - l - (w[k] - l) / 2 + (k + 1 < nc));
	}
	printf("\n");
	for (k = 0; k < nc; k++) {
		printf("%s", k ? "+" : "");
		for (size_t d = 0; d < w[k] + 2; d++)
			putchar('-');
	}
	printf("\n");
	json_array_foreach(r->rows, i, row) {
		for (k = 0; k < nc; k++) {
			const char *v = json_string_value(json_array_get(row, k));

			printf("%s ", k ? "|" : "");
			put_esc(stdout, v);
			if (k + 1 < nc) /* psql pads all but the last column */
				pad(w[k] - esc_len(v) + 1);
		}
		printf("\n");
	}
	if (r->skipped_rows != 0)
		printf("-- %" PRIu64 " more rows (%" PRIu64 " bytes) not kept: past the session's "
		       "recording limit\n",
		       r->skipped_rows, r->skipped_bytes);
	/* psql counts the rows it got: the tag's number when there is one */
	if (sp != NULL && (strncmp(tag, "SELECT ", 7) == 0 || strncmp(tag, "FETCH ", 6) == 0))
		total = strtoull(sp + 1, NULL, 10);
	printf("(%llu row%s)\n\n", total, total == 1 ? "" : "s");
}

static void
print_notice(const json_t *ev)
{
	static const char *const keys[] = { "message", "detail", "hint" };
	static const char *const labels[] = { NULL, "DETAIL", "HINT" };

	for (size_t i = 0; i < 3; i++) {
		const char *v = json_string_value(json_object_get(ev, keys[i]));

		if (v == NULL)
			continue;
		printf("%s:  ", labels[i] != NULL ? labels[i] : get_str(ev, "severity"));
		put_esc(stdout, v);
		printf("\n");
	}
}

/* One event of the recording, as psql would have shown it. */
static void
render(const json_t *ev, struct result *r)
{
	const char *type = get_str(ev, "type");

	if (strcmp(type, "statement") == 0) {
		result_reset(r);
		print_time(json_integer_value(json_object_get(ev, "ns")));
		printf("=> ");
		put_esc(stdout, get_str(ev, "text"));
		if (json_object_get(ev, "params") != NULL) {
			printf("  -- parameters: ");
			put_esc(stdout, get_str(ev, "params"));
		}
		if (strcmp(get_str(ev, "verdict"), "block") == 0)
			printf("  -- blocked by policy");
		printf("\n");
	} else if (strcmp(type, "columns") == 0) {
		result_reset(r);
		r->names = json_incref(json_object_get(ev, "names"));
		r->rows = json_array();
	} else if (strcmp(type, "row") == 0) {
		if (r->rows == NULL)
			r->rows = json_array();
		json_array_append(r->rows, json_object_get(ev, "values"));
	} else if (strcmp(type, "skipped") == 0) {
		r->skipped_rows += (uint64_t)json_integer_value(json_object_get(ev, "rows"));
		r->skipped_bytes += (uint64_t)json_integer_value(json_object_get(ev, "bytes"));
	} else if (strcmp(type, "complete") == 0) {
		if (r->names != NULL)
			print_table(r, get_str(ev, "tag"));
		else
			printf("%s\n\n", get_str(ev, "tag"));
		result_reset(r);
	} else if (strcmp(type, "error") == 0 || strcmp(type, "notice") == 0) {
		if (r->names != NULL && strcmp(type, "error") == 0)
			result_reset(r); /* psql shows no partial result before an error */
		print_notice(ev);
		if (strcmp(type, "error") == 0)
			printf("\n");
	} else if (strcmp(type, "lost") == 0) {
		printf("-- %" JSON_INTEGER_FORMAT " piece(s) of the recording were lost: the "
		       "dataplane could not send them\n",
		       json_integer_value(json_object_get(ev, "pieces")));
	} else if (strcmp(type, "malformed") == 0) {
		printf("-- a piece of the recording was malformed and is missing\n");
	} else if (strcmp(type, "end") == 0) {
		print_time(json_integer_value(json_object_get(ev, "ns")));
		printf("-- session ended\n");
	}
}

static void
wait_for(int64_t *prev, const json_t *ev, const struct tgctl_replay *o)
{
	int64_t ns = json_integer_value(json_object_get(ev, "ns"));
	double speed = o->speed > 0 ? o->speed : 1;

	if (ns <= 0)
		return;
	if (!o->no_wait && *prev > 0 && ns > *prev) {
		double s = (double)(ns - *prev) / 1e9 / speed;
		struct timespec t = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

		fflush(stdout);
		nanosleep(&t, NULL);
	}
	*prev = ns;
}

/* The chunk a recording.chunk record (r, parsed) states, decoded from the bundle; NULL: absent. */
static uint8_t *
chunk_of(const json_t *b, json_int_t seq, size_t *len)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(b, "chunks"), i, c) {
		const char *d = get_str(c, "data");
		size_t dl = strlen(d);
		uint8_t *raw;
		int n;

		if (json_integer_value(json_object_get(c, "seq")) != seq)
			continue;
		raw = malloc(dl / 4 * 3 + 3);
		if (raw == NULL)
			return NULL;
		n = tg_note_b64_decode(d, dl, raw, dl / 4 * 3 + 3);
		if (n < 0) {
			free(raw);
			return NULL;
		}
		*len = (size_t)n;
		return raw;
	}
	return NULL;
}

/* The lines of one chunk: rendered or, with json, printed; paced. */
static void
replay_chunk(const char *data, size_t len, const struct tgctl_replay *o, int64_t *prev,
	     struct result *res)
{
	const char *p = data, *end = data + len, *nl;

	for (; p < end; p = nl + 1) {
		json_t *ev;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		ev = json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL, NULL);
		if (ev == NULL)
			continue; /* the chunk verified: not ours to judge further */
		wait_for(prev, ev, o);
		if (o->json)
			printf("%.*s\n", (int)(nl - p), p);
		else
			render(ev, res);
		json_decref(ev);
	}
}

int
tgctl_replay(const struct tgctl_replay *o)
{
	struct tg_bundle_report rep;
	struct result res = { 0 };
	uint8_t pub[TG_NOTE_PUB];
	char err[256], *buf = NULL;
	json_t *b = NULL, *item, *start = NULL;
	int64_t prev = 0;
	size_t len = 0, i;
	int rc;

	if (o->key_path != NULL && tg_note_pubkey_load(o->key_path, pub, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		json_decref(o->res);
		return EXIT_USAGE;
	}
	if (o->path != NULL) {
		buf = slurp(o->path, &len);
	} else {
		buf = json_dumps(json_object_get(o->res, "bundle"), JSON_COMPACT);
		len = buf != NULL ? strlen(buf) : 0;
		json_decref(o->res);
	}
	if (buf == NULL)
		return EXIT_USAGE;
	rc = tg_bundle_load(buf, len, o->key_path != NULL ? pub : NULL, &b, &rep);
	free(buf);
	if (rc == -ENOMEM)
		return EXIT_USAGE;
	if (rc < 0) {
		printf("FAIL (%s): %s: not replayed\n", tg_bundle_fault_names[rep.fault],
		       rep.detail);
		return EXIT_BAD;
	}
	json_array_foreach(json_object_get(b, "records"), i, item) {
		json_t *r = json_loads(get_str(item, "record"), 0, NULL);

		if (strcmp(get_str(json_object_get(r, "event"), "type"), "session.start") == 0 &&
		    start == NULL)
			start = json_incref(r);
		json_decref(r);
	}
	if (!o->json) {
		const json_t *db = json_object_get(start, "db");

		printf("-- session %s of %s: user %s, database %s, application %s, from %s\n",
		       rep.session, rep.origin, get_str(db, "user"), get_str(db, "name"),
		       get_str(json_object_get(start, "client"), "app"),
		       get_str(json_object_get(start, "src"), "ip"));
		printf("-- verified: %" PRIu64 " audit records, %" PRIu64
		       " recording chunks, signed checkpoint of %" PRIu64
		       " records, key id %02x%02x%02x%02x (%s)\n\n",
		       rep.records, rep.chunks, rep.size, rep.key_id[0], rep.key_id[1],
		       rep.key_id[2], rep.key_id[3],
		       rep.pinned ? "the given key" : "the bundle's own key");
		if (rep.chunks == 0)
			printf("-- no recording was kept for this session\n");
	}
	/* the records are in log order, so the chunks are in recording order (verified) */
	json_array_foreach(json_object_get(b, "records"), i, item) {
		json_t *r = json_loads(get_str(item, "record"), 0, NULL);
		const json_t *rc_ = json_object_get(r, "recording");
		json_int_t seq = json_integer_value(json_object_get(item, "seq"));
		uint8_t *data;
		size_t dl = 0;

		if (strcmp(get_str(json_object_get(r, "event"), "type"), "recording.chunk") != 0) {
			json_decref(r);
			continue;
		}
		data = chunk_of(b, seq, &dl);
		if (data != NULL)
			replay_chunk((const char *)data, dl, o, &prev, &res);
		else if (!o->json)
			printf("-- chunk %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT
			       " bytes, sha256 %s) expired: its audit record %" JSON_INTEGER_FORMAT
			       " remains\n",
			       json_integer_value(json_object_get(rc_, "index")),
			       json_integer_value(json_object_get(rc_, "length")),
			       get_str(rc_, "sha256"), seq);
		free(data);
		json_decref(r);
	}
	result_reset(&res);
	json_decref(start);
	json_decref(b);
	return fflush(stdout) == EOF ? EXIT_USAGE : EXIT_OK;
}
