/* SPDX-License-Identifier: MIT */
/*
 * mapprovals.h — approval requests of held statements in the running
 * slowpath: the table (approvals.h), its audit records, its expiry tick,
 * the group check of an operator, and the approvals.* methods of the
 * management API (mgmt/api.h):
 *
 *   approvals.list    any role
 *                     {"all": false (optional)}
 *                     -> {"approvals": [APPROVAL, ...], "now": T}: pending
 *                     ones, newest first; all: the ended ones after them
 *                     (kept an hour)
 *   approvals.show    any role
 *                     {"id": ID} -> {"approval": APPROVAL, "now": T}
 *   approvals.approve admin, approver; mutating
 *                     {"id": ID, "comment": C (optional)}
 *                     -> {"approval": APPROVAL}: state "approved" when this
 *                     vote made the quorum, else still "pending"
 *   approvals.deny    admin, approver; mutating
 *                     {"id": ID, "reason": R (required: the client is told)}
 *                     -> {"approval": APPROVAL}
 *
 * APPROVAL is tg_approval_json(): id, state (pending, approved, denied,
 * expired, cancelled), service, rule, user, database, client, statement,
 * params, session_id, worker, session, hold, requester {iss, sub,
 * email}, approvers, quorum, timeout_s, self_approval, created, deadline,
 * ended (Unix seconds), votes [{uid, user, at, comment}], decided_by,
 * reason.
 *
 * Errors of approve and deny: not_found (no such id), conflict (it ended
 * already; the operator voted already), forbidden (not in the rule's
 * approvers group; self-approval not allowed by the rule), bad_request
 * (params). Each call, refused or not, is also an admin.change record
 * (mgmt.c's audit hook: the method is mutating).
 *
 * Group check. When the rule names an approvers group, the operator is
 * in it when the group's gid is the operator's primary gid or one of
 * the groups getgrouplist(3) gives for the operator's user name (the
 * group database now, not the connection's credentials: a member removed
 * from the group is refused at once). A group that does not exist has no
 * members: the request can only expire or be denied by nobody, and that
 * is logged at LOG_WARNING when the request is made.
 *
 * Records (each with approval.{id, rule, service, quorum, votes,
 * approvers, self_approval, timeout_s, hold, created, deadline},
 * session.id, gw.worker, dst.service, policy.rule_id, db.{user, name},
 * src.{ip, port} and user.{iss, sub, email} of the requester where
 * known; main.c's record hook adds gw.host):
 *   approval.requested  outcome unknown; db.statement, db.params
 *   approval.vote       outcome success; each approve vote: operator.{uid,
 *                       pid, user, roles}, approval.comment, approval.votes
 *                       (n of approval.quorum)
 *   approval.approved   outcome success; the operator whose vote made it,
 *                       approval.decided_by
 *   approval.denied     outcome failure, reason_code denied; the operator,
 *                       approval.reason
 *   approval.expired    outcome failure, reason_code timeout
 *   approval.cancelled  outcome failure, reason_code cancelled,
 *                       approval.reason (client_gone, dataplane_gone, ...)
 * main.c's record hook appends them to the audit store and publishes them
 * on the event stream (tgctl watch --type approval).
 *
 * Caveats:
 *   - One table per process, like mgrants.h.
 *   - decided() is called once per request, from the method or the tick,
 *     after the record; the dataplane may have gone by then (main.c
 *     decides what a reply to nobody means).
 *   - The group lookup is NSS (getgrnam, getgrouplist): with a remote
 *     directory it may block the loop for its timeout.
 */
#ifndef TG_SP_MAPPROVALS_H
#define TG_SP_MAPPROVALS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "approvals.h"
#include "mgmt.h"

struct sp_approvals_hooks {
	void *arg;
	/* Appends rec (an audit record) and publishes it. */
	void (*record)(void *arg, json_t *rec);
	/*
	 * Request r was decided (approved, denied, expired): send the
	 * dataplane v (HOLD_REPLY to r->worker for r->session, r->hold).
	 * Not called for a cancelled request. r and v are valid during the call.
	 */
	void (*decided)(void *arg, const struct tg_approval *r,
			const struct tg_approval_verdict *v);
	/* One log line, syslog priority. */
	void (*log)(void *arg, int prio, const char *msg);
};

/* Makes the table. 0, or -ENOMEM. */
int sp_approvals_open(const struct sp_approvals_hooks *hooks);
/* Cancels what is pending (reason "shutdown", records) and frees the table. */
void sp_approvals_close(void);

/*
 * A HOLD_REQUEST: adds the request and writes its approval.requested
 * record. Returns 0 with the id in id_out, or -EINVAL, -EEXIST, -ENOSPC,
 * -EIO, -ENODEV (not open) with the reason in err: then nothing was
 * added, and the caller denies the statement at once.
 */
int sp_approvals_request(const struct tg_approval_spec *in, char id_out[TG_APPROVAL_ID_MAX],
			 char *err, size_t errlen);

/*
 * The session (worker, session) ended: its pending requests are
 * cancelled with reason (e.g. "client_gone"), each an approval.cancelled
 * record. Returns the number cancelled.
 */
unsigned int sp_approvals_cancel_session(uint16_t worker, uint64_t session, const char *reason);

/* The dataplane went: every pending request is cancelled with reason. */
unsigned int sp_approvals_cancel_all(const char *reason);

/* A copy of request id into *out: 0, or -ENOENT (unknown, pruned, or not open). */
int sp_approvals_get(const char *id, struct tg_approval *out);

/* Expiry (approval.expired records, decided()) and pruning; call every second. */
void sp_approvals_tick(int64_t now);

/* Registers approvals.list, .show, .approve, .deny; unavailable until opened. */
int sp_approvals_methods_register(struct tg_mgmt *m);

/* {"pending", "kept", counters...}; NULL before open. */
json_t *sp_approvals_stats_json(void);

#endif /* TG_SP_MAPPROVALS_H */
