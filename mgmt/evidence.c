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
