/* SPDX-License-Identifier: MIT */
/*
 * spolicy.h — the policy as the slowpath owns it: read from its file,
 * validated against the services a dataplane stated (SERVICES, punt.h),
 * compiled into Hyperscan databases here, off every fast path, and made
 * into the policy object that POLICY_GEN carries (the JSON text and the
 * serialised databases, policy.h tg_policy_serialize()). The dataplane
 * parses the same text against its own services and deserialises the
 * databases instead of compiling them.
 *
 * A generation is the pair (file text, services): the same text is
 * compiled again for a dataplane whose services differ. Generation
 * numbers are the slowpath's, kept in the audit store (a cursor) so they
 * rise across restarts.
 *
 * Caveats:
 * - The compiled databases are only as portable as Hyperscan makes them:
 *   the dataplane refuses a blob built for another platform (it checks
 *   with hs_serialized_database_info), and the generation is refused.
 */
#ifndef TG_SP_POLICY_H
#define TG_SP_POLICY_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "service.h"

struct tg_sp_policy {
	char path[PATH_MAX];
	char *text;		/* the file's bytes, len of them, NUL-terminated */
	size_t len;
	uint8_t sha256[32];	/* of text */
	char sha256_hex[65];
	uint64_t gen;
	struct tg_policy *pol;	/* compiled */
	uint8_t *obj;		/* the policy object (punt.h), obj_len bytes */
	size_t obj_len;
};

/*
 * Reads path (at most TG_POLICY_FILE_MAX bytes), parses it against svcs,
 * compiles and serialises it into out as generation gen. Returns 0, or
 * -errno with "path:line:column: reason" (or "path: reason") in err;
 * out is then empty.
 */
int tg_sp_policy_build(struct tg_sp_policy *out, const char *path, const struct tg_services *svcs,
		       uint64_t gen, char *err, size_t errlen);

void tg_sp_policy_free(struct tg_sp_policy *p);

#endif /* TG_SP_POLICY_H */
