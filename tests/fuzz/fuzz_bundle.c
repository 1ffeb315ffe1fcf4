/* SPDX-License-Identifier: MIT */
/*
 * fuzz_bundle.c — libFuzzer target for the evidence bundle reader
 * (slowpath/bundle.c tg_bundle_verify(), tg_bundle_load()): what
 * `tgctl audit verify --bundle FILE` reads from a file anyone may have
 * handed the investigator.
 *
 * Input: the file's bytes, copied into a buffer of their exact size (a
 * read past len is caught by ASan), verified twice: with a pinned key and
 * with the bundle's own. Beyond memory errors and UB, the target aborts
 * when:
 * - a verdict is not ok and names no fault, or ok and names one, or a
 *   failure comes without a detail;
 * - an ok verdict claims what it cannot have checked: more chunks present
 *   than records stating chunks, more records than the input has bytes;
 * - the pinned key accepts a bundle that is not signed by it (the seeds'
 *   key is not the pinned one, so an ok with the pinned key is a forgery
 *   the verifier let through);
 * - tg_bundle_load() disagrees with tg_bundle_verify().
 *
 * Seeds: tests/fuzz/gen-corpus bundle_seeds(). Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

/* A key nobody signs with: 32 bytes of 0x5a, a valid Ed25519 point or not. */
static const uint8_t pinned[TG_NOTE_PUB] = {
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
};

static void
check_report(const struct tg_bundle_report *rep, size_t size)
{
	CHECK(rep->fault < TG_BUNDLE_FAULT_MAX);
	CHECK(rep->ok == (rep->fault == TG_BUNDLE_FAULT_NONE));
	if (!rep->ok) {
		CHECK(rep->detail[0] != '\0');
		return;
	}
	CHECK(rep->records <= size);
	CHECK(rep->chunks <= rep->records);
	CHECK(rep->chunks_expired <= rep->chunks);
	CHECK(rep->recording_bytes <= size);
	CHECK(rep->records >= 1); /* a session.start at least */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_bundle_report rep, rep2;
	char *buf = malloc(size ? size : 1);
	json_t *b = NULL, *j;
	int rc;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);

	rc = tg_bundle_verify(buf, size, pinned, &rep);
	CHECK(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		check_report(&rep, size);
		CHECK(!rep.ok); /* nothing is signed by the pinned key */
	}

	rc = tg_bundle_verify(buf, size, NULL, &rep);
	CHECK(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		check_report(&rep, size);
		j = tg_bundle_report_json(&rep);
		CHECK(j != NULL);
		json_decref(j);
		rc = tg_bundle_load(buf, size, NULL, &b, &rep2);
		CHECK(rc == (rep.ok ? 0 : -EBADMSG) || rc == -ENOMEM);
		CHECK(rc != 0 || (b != NULL && json_is_object(b)));
		CHECK(rc == -ENOMEM || (rep2.ok == rep.ok && rep2.fault == rep.fault));
		json_decref(b);
	}
	free(buf);
	return 0;
}
