/* SPDX-License-Identifier: MIT */
/*
 * idmap.h — identity mapping: which verified OIDC identities may use
 * which service, and as which upstream PostgreSQL role (DESIGN.md,
 * "Identity (auth takeover)"). Read from the "identity" section of the
 * policy file; consulted by the slowpath after the token is verified and
 * before it authenticates upstream with the role's credential
 * (credstore.h, upstream_auth.h).
 *
 *   "identity": {
 *     "claim_groups": "groups",             claim holding the groups: a name,
 *                                           or a path ["realm_access","roles"]
 *     "require_email_verified": true,       default true
 *     "services": { "demo-pg": { "on_token_expiry": "fatal",
 *                                "require_grant": true, "on_grant_expiry": "end" } },
 *     "rules": [
 *       { "id": "suspended", "match": { "groups": ["suspended"] }, "deny": "suspended" },
 *       { "id": "dba", "match": { "groups": ["dba"] }, "services": ["demo-pg"],
 *         "role": "app_admin" },
 *       { "match": { "sub": "svc-reporting" }, "services": ["demo-pg"], "role": "app_reader" },
 *       { "match": { "email": "*@example.com" }, "services": ["demo-pg"], "role": "app_reader" }
 *     ],
 *     "default": "deny"
 *   }
 *
 * Rules are tried in order; the first that applies decides:
 * - "match" holds when every condition in it holds (at least one is
 *   required; {"sub": "*"} is the explicit catch-all):
 *     "sub":    a pattern or a list of them (any), on the sub claim;
 *     "email":  same, on the email claim, case-insensitive; for an allow
 *               rule the token's email_verified must be true (JSON true or
 *               "true") unless "require_email_verified" is false;
 *     "groups": a list; holds when the groups claim holds any of them
 *               (exact, case-sensitive).
 *   Patterns: '*' matches any run of characters; nothing else is special.
 * - an allow rule ("services" and "role") applies when its match holds
 *   and the requested service is one of its services: the identity may
 *   use that service as role;
 * - a deny rule ("deny": "reason", optional "services" to limit it)
 *   applies when its match holds (for that service): refused with its
 *   reason. Deny conditions fail closed: an email matches whether or not
 *   it is verified.
 * "default" is "deny" and nothing else: allowing is always a rule.
 *
 * A token whose groups claim is there but is not a string or an array
 * of strings, or has more than TG_IDMAP_GROUPS_MAX entries, or whose
 * claim path runs through something that is not an object, is refused
 * outright (as is a sub or email claim that is not a string), so that a
 * deny rule can never be skipped by a malformed token.
 *
 * "on_token_expiry" (per service; default "ignore", as a PostgreSQL
 * password is checked at login only): "fatal" ends the session with a
 * FATAL when its token expires.
 *
 * "require_grant" (per service; default false): a login is admitted only
 * while its subject holds a live just-in-time grant for the service
 * (grants.h; tgctl grants add), on top of a rule that maps it.
 * "on_grant_expiry" ("continue", the default, or "end"): what running
 * sessions do when that grant expires or is revoked: run on, or end with
 * a FATAL. New logins are refused at once either way.
 *
 * Caveats:
 * - The map keeps the parsed JSON (jansson) and points into it.
 * - Cost: resolving is O(rules x conditions x groups); maps and tokens
 *   are small.
 */
#ifndef TG_SP_IDMAP_H
#define TG_SP_IDMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define TG_IDMAP_RULES_MAX 1024
#define TG_IDMAP_GROUPS_MAX 1024 /* in a token */
#define TG_IDMAP_CLAIM_PATH_MAX 8
#define TG_IDMAP_NAME_MAX 63 /* a role or service name */

enum tg_idmap_expiry {
	TG_IDMAP_EXPIRY_IGNORE,
	TG_IDMAP_EXPIRY_FATAL,
};

enum tg_idmap_grant_end {
	TG_IDMAP_GRANT_CONTINUE,
	TG_IDMAP_GRANT_END,
};

struct tg_idmap;

struct tg_idmap_decision {
	bool allow;
	const char *role;		/* when allow; borrowed from the map */
	enum tg_idmap_expiry on_expiry; /* of the service */
	bool require_grant;		/* of the service */
	enum tg_idmap_grant_end on_grant_end; /* of the service */
	int rule;			/* index of the deciding rule, -1: none (default) */
	const char *rule_id;		/* its "id", or "" */
	char reason[192];		/* why (allowed or not), for the audit record */
};

/*
 * Parses the "identity" section of the policy text[0..len) (source names
 * it in errors). services[0..nservices), when not NULL, are the known
 * service names: a rule or option naming another is an error. Returns 0
 * with *out set, -ENOENT when the policy has no "identity" (*out NULL),
 * -EINVAL with "source:line:column: reason" in err, or -ENOMEM.
 */
int tg_idmap_parse(const char *text, size_t len, const char *source, const char *const *services,
		   size_t nservices, struct tg_idmap **out, char *err, size_t errlen);

/*
 * Decides for the verified token's claims (its payload object) and the
 * requested service. Returns 0 with *d filled (d->allow says which), or
 * -EINVAL for NULL arguments.
 */
int tg_idmap_resolve(const struct tg_idmap *m, const json_t *claims, const char *service,
		     struct tg_idmap_decision *d);

/* The service's on_token_expiry. */
enum tg_idmap_expiry tg_idmap_on_expiry(const struct tg_idmap *m, const char *service);

/* The service's require_grant (false for NULL arguments), and its on_grant_expiry. */
bool tg_idmap_require_grant(const struct tg_idmap *m, const char *service);
enum tg_idmap_grant_end tg_idmap_on_grant_end(const struct tg_idmap *m, const char *service);

size_t tg_idmap_rules(const struct tg_idmap *m);

/*
 * The groups claim's path (claim_groups: 1..TG_IDMAP_CLAIM_PATH_MAX names,
 * ["groups"] by default) into *path, borrowed from the map; returns its
 * length. The slowpath gives the verifier the same path (jwt.h
 * groups_path), so that the groups it keeps are the ones rules match.
 */
unsigned int tg_idmap_claim_path(const struct tg_idmap *m, const char *const **path);

void tg_idmap_free(struct tg_idmap *m);

#endif /* TG_SP_IDMAP_H */
