/* SPDX-License-Identifier: MIT */
/*
 * fuzz_credstore.c — libFuzzer target for the credential store's parser
 * (slowpath/credstore.c, tg_credstore_parse()): the file's content, which
 * jansson parses through the store's wiping allocator.
 *
 * Input: the file's bytes.
 *
 * Beyond memory errors and UB (the text is copied into a buffer of its
 * exact size, so a read past len is caught; a mismatch of the wiping
 * allocator and jansson's own shows up as a bad free), the target aborts
 * when:
 * - a refusal comes without a reason or with a store, or returns other
 *   than -EINVAL or -ENOMEM; an acceptance without a store;
 * - a stored credential cannot be looked up by its own service and role,
 *   or has a password whose length is not password_len, or a trust one
 *   with a password, or another one without;
 * - jansson, used after the load, does not work (its allocator was not
 *   put back).
 *
 * Seeds: tests/fuzz/gen-corpus credstore_seeds(). Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "credstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_credstore *cs = (struct tg_credstore *)1;
	json_t *after;
	char err[512];
	char *text;
	int rc;

	text = malloc(size ? size : 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	err[0] = '\0';
	rc = tg_credstore_parse(text, size, "creds.json", &cs, err, sizeof(err));
	free(text);
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		CHECK(err[0] != '\0' && cs == NULL);
	} else {
		json_t *root = json_loadb((const char *)data, size, 0, NULL);
		const char *svc, *role;
		json_t *sv, *rv;
		size_t n = 0;

		CHECK(cs != NULL && root != NULL);
		json_object_foreach(root, svc, sv) {
			json_object_foreach(sv, role, rv) {
				const struct tg_cred *c;

				(void)rv;
				CHECK(tg_credstore_lookup(cs, svc, role, &c) == 0);
				CHECK(strlen(c->password) == c->password_len);
				CHECK((c->method == TG_UPAUTH_TRUST) == (c->password_len == 0));
				n++;
			}
		}
		CHECK(n == tg_credstore_count(cs));
		json_decref(root);
		tg_credstore_free(cs);
	}
	/* jansson's own allocator is back */
	after = json_pack("{s:s}", "k", "v");
	CHECK(after != NULL);
	json_decref(after);
	return 0;
}
