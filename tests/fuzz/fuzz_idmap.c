/* SPDX-License-Identifier: MIT */
/*
 * fuzz_idmap.c — libFuzzer target for the identity map (slowpath/idmap.c):
 * the "identity" section of a policy file, and tokens' claims resolved
 * against a map that parsed.
 *
 * Input: policy text, then optionally a NUL and the claims (a JSON
 * object, as a verified token's payload). The policy is parsed with the
 * services "demo-pg" and "other-pg" known; when it parses, the claims (or
 * a fixed set when there are none or they are not JSON) are resolved for
 * both services and for one not known.
 *
 * Beyond memory errors and UB (the text is copied into a buffer of its
 * exact size, so a read past len is caught), the target aborts when:
 * - a refused policy comes without a reason, or with a map, or with a
 *   return other than -EINVAL, -ENOENT, -ENOMEM; an accepted one without;
 * - a decision has no reason; an allow has no role, or a role that is not
 *   1..63 bytes, or comes from a rule that does not exist, or is for a
 *   service outside the known ones (every allow rule names its services);
 * - the same claims and service decide differently twice.
 *
 * Seeds: tests/fuzz/gen-corpus idmap_seeds(). Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static const char *const services[] = { "demo-pg", "other-pg" };

static void
decide(const struct tg_idmap *m, const json_t *claims, const char *svc)
{
	struct tg_idmap_decision d, again;

	CHECK(tg_idmap_resolve(m, claims, svc, &d) == 0);
	CHECK(d.reason[0] != '\0');
	CHECK(d.rule >= -1 && (d.rule < 0 || (size_t)d.rule < tg_idmap_rules(m)));
	if (d.allow) {
		CHECK(d.role != NULL && strlen(d.role) >= 1 && strlen(d.role) <= TG_IDMAP_NAME_MAX);
		CHECK(d.rule >= 0);
		CHECK(strcmp(svc, "unknown-pg") != 0);
	}
	CHECK(tg_idmap_resolve(m, claims, svc, &again) == 0);
	CHECK(again.allow == d.allow && again.rule == d.rule);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t plen = nul != NULL ? (size_t)(nul - data) : size;
	struct tg_idmap *m = (struct tg_idmap *)1;
	json_t *claims = NULL;
	char err[512];
	char *text;
	int rc;

	text = malloc(plen ? plen : 1);
	CHECK(text != NULL);
	memcpy(text, data, plen);
	err[0] = '\0';
	rc = tg_idmap_parse(text, plen, "policy.json", services, 2, &m, err, sizeof(err));
	if (rc < 0) {
		CHECK(rc == -EINVAL || rc == -ENOENT || rc == -ENOMEM);
		CHECK(err[0] != '\0');
		CHECK(m == NULL);
		free(text);
		return 0;
	}
	CHECK(rc == 0 && m != NULL);
	/* the map must not depend on the caller's text after parsing */
	memset(text, 'x', plen);
	free(text);

	if (nul != NULL)
		claims = json_loadb((const char *)nul + 1, size - plen - 1, 0, NULL);
	if (claims == NULL)
		claims =
			json_pack("{s:s, s:s, s:b, s:[s, s]}", "sub", "alice", "email",
				  "alice@example.com", "email_verified", 1, "groups", "dba", "dev");
	CHECK(claims != NULL);
	decide(m, claims, "demo-pg");
	decide(m, claims, "other-pg");
	decide(m, claims, "unknown-pg");
	json_decref(claims);
	tg_idmap_free(m);
	return 0;
}
