/* SPDX-License-Identifier: MIT */
/*
 * credstore.h — the upstream credentials: one secret per (service,
 * upstream role), which the slowpath uses to authenticate to PostgreSQL
 * on behalf of a client whose identity it has mapped to that role
 * (DESIGN.md, "Identity (auth takeover)"; upstream_auth.h). Users never
 * hold these passwords; only this file does.
 *
 * File (JSON, one object per service, one per role in it):
 *
 *   { "demo-pg": {
 *       "app_reader": { "method": "scram-sha-256", "password": "..." },
 *       "app_admin":  { "method": "md5", "password": "..." },
 *       "app_batch":  { "method": "trust" } } }
 *
 * "method" is what the server is expected to ask for, and bounds what the
 * gateway will answer (upstream_auth.h, its table): "scram-sha-256",
 * "md5", "password" (cleartext, or anything stronger), "trust" (no
 * password; "password" must then be absent).
 *
 * The file is refused unless, checked with fstat() on the opened
 * descriptor (so that what is checked is what is read, not whatever a
 * path names a moment later): a regular file, owned by the running
 * (effective) user, by root, or by the user the process is about to run
 * as (owner: the slowpath loads it as root, before it drops to that
 * user, and again as that user on SIGHUP, so that user owning it is the
 * deployment that works both times), no permission bits for group or others
 * (chmod 600 or 400), at most TG_CRED_FILE_MAX bytes.
 *
 * Secrets: never in an error message or log line. The file's bytes, the
 * parsed JSON (jansson's allocations, through a wiping allocator for the
 * duration of the load) and the store's copies are wiped when freed.
 *
 * Caveats:
 * - For scram-sha-256, passwords must be printable ASCII: SASLprep is not
 *   implemented (upstream_auth.h), and for ASCII it changes nothing.
 * - tg_credstore_load() swaps jansson's allocator while it runs (json_set_
 *   alloc_funcs is process-wide): call it from one thread, with no other
 *   jansson use running at the same time (the slowpath is one thread).
 * - Lookup is a linear scan: stores are small (at most TG_CRED_MAX).
 * - Secrets are not mlock()ed: swap could hold them. Run without swap or
 *   with encrypted swap.
 */
#ifndef TG_SP_CREDSTORE_H
#define TG_SP_CREDSTORE_H

#include <stddef.h>
#include <sys/types.h>

#include "upstream_auth.h"

#define TG_CRED_FILE_MAX (1 << 20)
#define TG_CRED_MAX 4096
/* a service name as the dataplane's services carry it */
#define TG_CRED_SERVICE_MAX 63

struct tg_credstore;

/* One credential. Borrowed: valid until tg_credstore_free(). */
struct tg_cred {
	const char *service;
	const char *role;
	enum tg_upauth_method method;
	const char *password; /* "" for trust */
	size_t password_len;
};

/*
 * Loads path, which may also be owned by owner ((uid_t)-1: nobody more).
 * Returns 0 with *out set, or -errno with "path: reason" or
 * "path:line:column: reason" in err (never a secret): -EACCES (mode,
 * owner), -EINVAL (content), -EFBIG, -ENOMEM, or open()'s errno.
 */
int tg_credstore_load(const char *path, uid_t owner, struct tg_credstore **out, char *err,
		      size_t errlen);

/* Same, from text already in memory (tests, fuzzing): no file checks. */
int tg_credstore_parse(const char *text, size_t len, const char *source, struct tg_credstore **out,
		       char *err, size_t errlen);

/* The credential of (service, role): 0 with *cred set, or -ENOENT. */
int tg_credstore_lookup(const struct tg_credstore *cs, const char *service, const char *role,
			const struct tg_cred **cred);

size_t tg_credstore_count(const struct tg_credstore *cs);

/* Wipes every secret and frees. NULL is a no-op. */
void tg_credstore_free(struct tg_credstore *cs);

/* "scram-sha-256" etc. to a method: 0 or -EINVAL. */
int tg_credstore_method(const char *name, enum tg_upauth_method *m);

#endif /* TG_SP_CREDSTORE_H */
