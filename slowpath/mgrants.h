/* SPDX-License-Identifier: MIT */
/*
 * mgrants.h — just-in-time grants in the running slowpath: the store
 * (grants.h) opened from its file, its audit records, its expiry tick,
 * and the grants.* methods of the management API (mgmt/api.h):
 *
 *   grants.add    admin, approver; mutating
 *                 {"subject": S, "service": X, "ttl_s": 1..2592000,
 *                  "reason": R, "issuer": I (optional: only tokens of I),
 *                  "source": ADDR[/LEN] (a "protocol": "tcp" service's
 *                  grant: required for one, refused for any other)}
 *                 -> {"grant": GRANT}
 *   grants.list   any role
 *                 {"all": false, "service": X, "subject": S (optional filters)}
 *                 -> {"grants": [GRANT, ...], "now": T}: live ones, newest
 *                 first; all: ended ones too (kept a day)
 *   grants.revoke admin, approver; mutating
 *                 {"id": ID, "reason": R (optional)}
 *                 -> {"grant": GRANT, "saved": true|false}
 *
 * GRANT is tg_grant_json(): id, sub, iss, service, reason, granted_by,
 * created, expires (Unix seconds), state (live, revoked, expired),
 * ended, ended_by, end_reason, source ("" for a login grant).
 *
 * TCP grants (punt.h "TCP GRANTS"). A grant with a source admits new
 * flows of a tcp service (SSH and the like) from that prefix while it
 * lives; the dataplane is sent the whole table of them at every change
 * (the updated hook). Whether a service is a tcp one is the dataplane's
 * to say (TCP_SERVICES); until one has, a source is taken for any
 * service and a grant without one for any service too.
 *
 * Who may grant: admin and approver. A grant is an approval of access
 * (AC-6, least privilege with a time limit): the approvers who decide on
 * held statements (issue 9 part 2) are the ones who decide on access; the
 * auditor only reads. granted_by and ended_by are the operator as the
 * kernel told at accept (SO_PEERCRED: user and uid).
 *
 * Records (on top of the admin.change record mgmt.c makes of every
 * mutating call, success or not):
 *   grant.add      outcome success; grant.{id, service, reason, expires,
 *                  ttl_s, iss, source}, user.sub (the subject), dst.service,
 *                  operator.{uid, pid, user, roles}
 *   grant.revoke   the same, with grant.end_reason and grant.saved
 *   grant.expired  the same, without operator (the clock ended it)
 * A session ended by its grant's end is an authn.expired record (authn.h)
 * with reason_code grant_revoked or grant_expired and identity.grant_id.
 *
 * Caveats:
 *   - One store per process, like maudit.h.
 *   - A revocation or expiry that could not be saved holds in memory and
 *     is saved again every tick (grants.h "Durability rule"); it is
 *     logged at LOG_CRIT until it is.
 *   - The service is checked against the dataplane's services once a
 *     dataplane has stated them; before that any service name is taken.
 */
#ifndef TG_SP_MGRANTS_H
#define TG_SP_MGRANTS_H

#include <stdint.h>

#include <jansson.h>

#include "grants.h"
#include "mgmt.h"

#define SP_GRANTS_FILE "grants.json" /* in the audit directory */

struct sp_grants_hooks {
	void *arg;
	/* Appends rec (an audit record without the store's members) and publishes it. */
	void (*record)(void *arg, json_t *rec);
	/* A grant ended: running sessions are checked (tg_authn_grants_changed()). */
	void (*changed)(void *arg);
	/* One log line, syslog priority. */
	void (*log)(void *arg, int prio, const char *msg);
	/* 1 a known service, 0 unknown, -1 not known yet (no dataplane); NULL: -1. */
	int (*service_known)(void *arg, const char *service);
	/* 1 a "protocol": "tcp" service, 0 another, -1 not known yet; NULL: -1. */
	int (*service_tcp)(void *arg, const char *service);
	/* Any change (add, revoke, expiry): the tcp grants go to the dataplane again. */
	void (*updated)(void *arg);
};

/*
 * Opens the store at path and loads it. A file that does not parse is
 * moved aside to path.bad-<time> and the store starts empty (access fails
 * closed), logged at LOG_CRIT. Returns 0, or -errno when the store cannot
 * be made or the file cannot be read (err says why).
 */
int sp_grants_open(const char *path, const struct sp_grants_hooks *hooks, char *err, size_t errlen);
void sp_grants_close(void);

/* The store for tg_authn_set_grants(); NULL before sp_grants_open(). */
const struct tg_grants *sp_grants_store(void);

/* Registers grants.add, grants.list, grants.revoke; unavailable until opened. */
int sp_grants_methods_register(struct tg_mgmt *m);

/* Expiry (grant.expired records), pruning and saving again; call every second. */
void sp_grants_tick(int64_t now);

/* {"live", "total", "dirty", counters...}; NULL before open. */
json_t *sp_grants_stats_json(void);

#endif /* TG_SP_MGRANTS_H */
