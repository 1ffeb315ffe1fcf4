/* SPDX-License-Identifier: MIT */
/*
 * grants.h — just-in-time access grants (issue 9 part 4; NIST AC-6, AC-2):
 * "subject S may log in to service X until T, because R, granted by O".
 * A service whose identity options say "require_grant" (idmap.h) admits
 * an identity login only while its subject holds a live grant for it
 * (authn.h); when the grant ends (expiry, revocation), new logins are
 * refused at once and running sessions follow the service's
 * "on_grant_expiry" ("end": a FATAL, "continue": they run on).
 *
 * This module is the store: a bounded table of grants, kept in memory and
 * in one small JSON file the slowpath owns, written whole on each change
 * (write to "<file>.tmp", fsync, rename, fsync the directory: a crash
 * leaves the old file or the new one, never half of either). The audit
 * records (grant.add, grant.revoke, grant.expired) are written by its
 * caller (mgrants.h), not here: this module has no clock, no log and no
 * records, so it is tested and fuzzed alone.
 *
 * Why a file, not an LMDB db in the audit environment: the audit
 * environment is the evidence, append-only and committed in batches by
 * audit.c; a grant is mutable state that must be durable before the
 * operator is told "added", independent of the audit batch, and a few
 * hundred entries at most. A file written whole (microseconds to
 * milliseconds, two fsyncs) is the smallest thing that does that without
 * a second writer on the audit environment. The evidence of every change
 * stays in the audit log; the file is not evidence.
 *
 *   {"version": 1, "grants": [
 *     {"id": "g-3f9c0a1b2c4d5e6f", "sub": "alice", "iss": "",
 *      "service": "demo-pg", "reason": "INC-42", "granted_by": "ops (uid 1000)",
 *      "created": 1700000000, "expires": 1700001800, "state": "live",
 *      "ended": 0, "ended_by": "", "end_reason": "", "source": ""}]}
 *
 * "source" is the client prefix of a grant for a "protocol": "tcp"
 * service (SSH and the like, whose stream is not inspected: punt.h "TCP
 * GRANTS"): such a grant admits new flows from that prefix while it
 * lives, and the flows' records name its subject. It is written
 * canonically, "ADDR/LEN" with no host bit set ("198.18.0.1/32",
 * "2001:db8::/32"); "" (or absent, in files written before it existed)
 * for a login grant.
 *
 * A grant is live while its state is "live" and now < expires; an empty
 * iss matches any issuer (the verifier admits one issuer per gateway
 * today). Ended grants (revoked, expired) stay listed for
 * TG_GRANTS_KEEP_ENDED_S, so that a running session can be told which way
 * its grant ended and an operator can see what just ended; then they are
 * pruned.
 *
 * Durability rule. A change that gives access (add) is saved before it
 * takes effect: if the file cannot be written, the add fails and nothing
 * changed. A change that takes access away (revoke, expiry) takes effect
 * in memory at once whether or not the save works; the store stays dirty
 * and tg_grants_save() is retried by the caller (each tick) until it
 * works. So a failing disk never keeps access alive, but a restart while
 * dirty would bring a revoked grant back until its expiry: the caller logs
 * it loudly.
 *
 * Caveats:
 *   - One appliance: several appliances behind ECMP each have their own
 *     grants (DESIGN.md "Scale": grants belong in a shared store then).
 *   - The subject is the token's sub (and optionally iss), not a Unix
 *     user: nothing stops an approver granting their own OIDC identity;
 *     the grant.add record names both, for review.
 *   - Time is realtime seconds from the caller; a clock step moves every
 *     expiry with it.
 *   - Cost: lookups are a linear walk of at most TG_GRANTS_MAX entries
 *     (once per login, and once a second per running session on a
 *     grant-requiring service); a save rewrites the whole file.
 *   - Single-threaded.
 */
#ifndef TG_SP_GRANTS_H
#define TG_SP_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TG_GRANTS_MAX 1024	       /* grants kept, live and ended */
#define TG_GRANTS_FILE_MAX (4u << 20)  /* bytes of a grants file */
#define TG_GRANTS_TTL_MAX (30 * 86400) /* the longest grant: 30 days */
#define TG_GRANTS_KEEP_ENDED_S 86400   /* ended grants stay listed this long */
#define TG_GRANT_ID_MAX 24	       /* "g-" 16 hex digits, NUL */
#define TG_GRANT_SUB_MAX 256	       /* sub, iss: as jwt.h TG_JWT_STR_MAX */
#define TG_GRANT_SERVICE_MAX 64	       /* a service name and NUL */
#define TG_GRANT_TEXT_MAX 256	       /* reason, granted_by, ended_by, end_reason */
#define TG_GRANT_SOURCE_MAX 56	       /* "ADDR/LEN": INET6_ADDRSTRLEN (46), "/128", NUL */

enum tg_grant_state { TG_GRANT_LIVE, TG_GRANT_REVOKED, TG_GRANT_EXPIRED, TG_GRANT_STATE_MAX };

struct tg_grant {
	char id[TG_GRANT_ID_MAX];
	char sub[TG_GRANT_SUB_MAX];
	char iss[TG_GRANT_SUB_MAX]; /* "": any issuer */
	char service[TG_GRANT_SERVICE_MAX];
	char reason[TG_GRANT_TEXT_MAX];
	char granted_by[TG_GRANT_TEXT_MAX];
	int64_t created, expires; /* realtime seconds */
	enum tg_grant_state state;
	int64_t ended; /* when it was revoked or expired; 0 while live */
	char ended_by[TG_GRANT_TEXT_MAX];
	char end_reason[TG_GRANT_TEXT_MAX];
	char source[TG_GRANT_SOURCE_MAX]; /* tcp services: "ADDR/LEN"; "": a login grant */
};

/* A grant's source, parsed: family 4 or 6, the prefix, the address (4 or 16 bytes). */
struct tg_grant_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

/* What an add asks for; strings NUL-terminated. */
struct tg_grant_spec {
	const char *sub;
	const char *iss; /* NULL or "": any */
	const char *service;
	int64_t ttl_s; /* 1..TG_GRANTS_TTL_MAX */
	const char *reason;
	const char *granted_by;
	const char *source; /* NULL or "": a login grant; else "ADDR" or "ADDR/LEN" */
};

/* clang-format off */
#define TG_GRANTS_COUNTERS(X) \
	X(ADDED, "added")		/* grants added */ \
	X(REVOKED, "revoked")		/* grants revoked */ \
	X(EXPIRED, "expired")		/* grants that reached their expiry */ \
	X(PRUNED, "pruned")		/* ended grants dropped after TG_GRANTS_KEEP_ENDED_S */ \
	X(SAVES, "saves")		/* the file written */ \
	X(SAVE_FAILURES, "save_failures") /* the file could not be written */
/* clang-format on */

enum tg_grants_counter {
#define TG_GRANTS_X(e, n) TG_GRANTS_CNT_##e,
	TG_GRANTS_COUNTERS(TG_GRANTS_X)
#undef TG_GRANTS_X
		TG_GRANTS_CNT_MAX
};

struct tg_grants_stats {
	uint64_t cnt[TG_GRANTS_CNT_MAX];
	unsigned int live;  /* state live (an expiry not yet ticked counts) */
	unsigned int total; /* entries kept */
	bool dirty;	    /* a change is not saved yet */
};

struct tg_grants;

/*
 * An empty store saved to path (NULL: memory only, for tests). NULL with
 * errno ENOMEM or ENAMETOOLONG.
 */
struct tg_grants *tg_grants_new(const char *path);
void tg_grants_free(struct tg_grants *g);

/*
 * Reads the store's file: 0 (a missing file is an empty store), -EINVAL
 * with the reason in err (the store is left empty), or -errno of the read.
 */
int tg_grants_load(struct tg_grants *g, char *err, size_t errlen);

/*
 * Replaces the store's grants with those of text[0..len) (the file's
 * format): 0, or -EINVAL with the reason in err and the store left
 * empty. Strict: unknown members, wrong types, bad ids, duplicate ids,
 * over TG_GRANTS_MAX entries are refused. The fuzz target's entry point.
 */
int tg_grants_parse(struct tg_grants *g, const char *text, size_t len, char *err, size_t errlen);

/* The file's text (malloc'd, NUL-terminated), or NULL with errno ENOMEM. */
char *tg_grants_dump(const struct tg_grants *g);

/* Writes the file if dirty (see the durability rule): 0 or -errno. Memory only: 0. */
int tg_grants_save(struct tg_grants *g);

/*
 * Adds a grant at now with a fresh random id, saved first. Returns 0
 * with *out a copy, -EINVAL (a field out of bounds: msg says which),
 * -ENOSPC (TG_GRANTS_MAX live grants), or the save's -errno (nothing
 * added).
 */
int tg_grants_add(struct tg_grants *g, const struct tg_grant_spec *spec, int64_t now,
		  struct tg_grant *out, char *msg, size_t msglen);

/*
 * Revokes grant id at now. Returns 0 with *out a copy (saved or not:
 * *saved says, see the durability rule), -ENOENT (no such id) or
 * -EALREADY (it ended already; *out says how).
 */
int tg_grants_revoke(struct tg_grants *g, const char *id, const char *by, const char *reason,
		     int64_t now, struct tg_grant *out, bool *saved);

/*
 * Marks every live grant whose expiry is reached as expired, calling
 * cb for each (a copy, valid during the call), prunes ended grants older
 * than TG_GRANTS_KEEP_ENDED_S, and saves when anything changed. Returns
 * the number expired.
 */
unsigned int tg_grants_expire(struct tg_grants *g, int64_t now,
			      void (*cb)(void *arg, const struct tg_grant *gr), void *arg);

/*
 * The live grant at now for (iss, sub, service), the one that lasts
 * longest when several do; NULL when none. Borrowed until the next change.
 */
const struct tg_grant *tg_grants_match(const struct tg_grants *g, const char *iss, const char *sub,
				       const char *service, int64_t now);

/* Grant id (live or ended), NULL when unknown. Borrowed until the next change. */
const struct tg_grant *tg_grants_get(const struct tg_grants *g, const char *id);

/*
 * Parses "ADDR" (a host: /32 or /128) or "ADDR/LEN", IPv4 or IPv6, into
 * *p and its canonical text into out[TG_GRANT_SOURCE_MAX]: 0, or -EINVAL
 * (not an address, a length out of range, or host bits set).
 */
int tg_grant_source_parse(const char *text, struct tg_grant_prefix *p,
			  char out[TG_GRANT_SOURCE_MAX]);

/* The number of a grant id ("g-" and 16 hex digits), the wire's; 0 for a bad id. */
uint64_t tg_grant_id_num(const char *id);

/* The grants kept, live and ended, oldest first: [0, tg_grants_count()). */
size_t tg_grants_count(const struct tg_grants *g);
const struct tg_grant *tg_grants_at(const struct tg_grants *g, size_t i);

/* Live at now (state live and now < expires). */
bool tg_grant_live(const struct tg_grant *gr, int64_t now);

/*
 * The grants as a new JSON array of objects (copies), newest first;
 * all: ended ones too; service/sub: only those (NULL: any).
 */
json_t *tg_grants_json(const struct tg_grants *g, bool all, const char *service, const char *sub);
json_t *tg_grant_json(const struct tg_grant *gr);

void tg_grants_stats(const struct tg_grants *g, struct tg_grants_stats *st);
const char *tg_grants_counter_name(enum tg_grants_counter c);
const char *tg_grant_state_name(enum tg_grant_state s);

#endif /* TG_SP_GRANTS_H */
