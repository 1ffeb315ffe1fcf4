/* SPDX-License-Identifier: MIT */
/*
 * mapprovals.c — the approval requests in the running slowpath and their
 * approvals.* management methods. See mapprovals.h.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "approvals.h"
#include "mapprovals.h"
#include "mgmt.h"

#define DECIDERS (TG_MGMT_ROLE_ADMIN | TG_MGMT_ROLE_APPROVER)
#define GROUPS_MAX 256 /* supplementary groups looked at */

static struct {
	struct tg_approvals *a;
	struct sp_approvals_hooks h;
} ma;

static void logf_(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logf_(int prio, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (ma.h.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ma.h.log(ma.h.arg, prio, buf);
}

static void
put(json_t *rec, const char *obj, const char *key, json_t *v)
{
	json_t *o = json_object_get(rec, obj);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(rec, obj, o);
	}
	json_object_set_new(o, key, v);
}

static void
put_str(json_t *rec, const char *obj, const char *key, const char *s)
{
	if (s[0] != '\0')
		put(rec, obj, key, json_string(s));
}

/* "ip:port", "[v6]:port" or a bare address, as src.ip and src.port. */
static void
put_client(json_t *rec, const char *client)
{
	const char *colon = strrchr(client, ':');
	char ip[TG_APPROVAL_CLIENT_MAX];
	char *end;
	unsigned long port;
	size_t n;

	if (client[0] == '\0')
		return;
	if (colon == NULL || (client[0] != '[' && strchr(client, ':') != colon)) {
		put(rec, "src", "ip", json_string(client)); /* no port, or a bare IPv6 address */
		return;
	}
	port = strtoul(colon + 1, &end, 10);
	n = (size_t)(colon - client);
	if (client[0] == '[' && n >= 2 && client[n - 1] == ']') {
		client++;
		n -= 2;
	}
	snprintf(ip, sizeof(ip), "%.*s", (int)n, client);
	put(rec, "src", "ip", json_string(ip));
	if (*end == '\0' && end != colon + 1 && port <= 65535)
		put(rec, "src", "port", json_integer((json_int_t)port));
}

/*
 * An approval.* record: the request, its session and requester, and for
 * an operator's step the operator. NULL when out of memory.
 */
static json_t *
approval_record(const char *type, const char *outcome, const char *reason_code,
		const struct tg_approval *r, const struct tg_mgmt_peer *peer)
{
	json_t *rec, *ap;

	ap = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:b, s:i, s:I, s:o, s:o, s:s}", "id", r->id,
		       "rule", r->rule, "service", r->service, "quorum", (int)r->quorum, "votes",
		       (int)r->nb_votes, "approvers", r->approvers, "self_approval",
		       r->self_approval, "timeout_s", (int)r->timeout_s, "hold",
		       (json_int_t)r->hold, "created", tg_mgmt_time_json(r->created), "deadline",
		       tg_mgmt_time_json(r->deadline), "state", tg_approval_state_name(r->state));
	if (ap == NULL)
		return NULL;
	if (r->decided_by[0] != '\0')
		json_object_set_new(ap, "decided_by", json_string(r->decided_by));
	if (r->reason[0] != '\0')
		json_object_set_new(ap, "reason", json_string(r->reason));
	rec = json_pack("{s:{s:s}, s:s, s:o, s:{s:s}, s:{s:s}, s:{s:i}, s:{s:s}}", "event", "type",
			type, "outcome", outcome, "approval", ap, "dst", "service", r->service,
			"policy", "rule_id", r->rule, "gw", "worker", (int)r->worker, "db", "user",
			r->user);
	if (rec == NULL)
		return NULL;
	if (reason_code != NULL)
		json_object_set_new(rec, "reason_code", json_string(reason_code));
	put_str(rec, "session", "id", r->session_id);
	put_str(rec, "db", "name", r->database);
	put_client(rec, r->client);
	put_str(rec, "user", "iss", r->iss);
	put_str(rec, "user", "sub", r->sub);
	put_str(rec, "user", "email", r->email);
	if (peer != NULL)
		json_object_set_new(rec, "operator", tg_mgmt_peer_json(peer));
	return rec;
}

static void
emit(json_t *rec)
{
	if (rec == NULL) {
		logf_(LOG_ERR, "approvals: a record could not be made: out of memory");
		return;
	}
	ma.h.record(ma.h.arg, rec);
	json_decref(rec);
}

/* After approved, denied, expired: the record, then the dataplane is told. */
static void
decided(const struct tg_approval *r, const struct tg_mgmt_peer *peer)
{
	struct tg_approval_verdict v;

	switch (r->state) {
	case TG_APPROVAL_APPROVED:
		emit(approval_record("approval.approved", "success", NULL, r, peer));
		break;
	case TG_APPROVAL_DENIED:
		emit(approval_record("approval.denied", "failure", "denied", r, peer));
		break;
	case TG_APPROVAL_EXPIRED:
		emit(approval_record("approval.expired", "failure", "timeout", r, NULL));
		break;
	default:
		return;
	}
	tg_approval_verdict(r, &v);
	if (ma.h.decided != NULL)
		ma.h.decided(ma.h.arg, r, &v);
}

/* ---------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------- */

int
sp_approvals_open(const struct sp_approvals_hooks *hooks)
{
	ma.h = *hooks;
	ma.a = tg_approvals_new(NULL, NULL);
	if (ma.a == NULL)
		return -ENOMEM;
	return 0;
}

void
sp_approvals_close(void)
{
	if (ma.a == NULL)
		return;
	sp_approvals_cancel_all("shutdown");
	tg_approvals_free(ma.a);
	ma.a = NULL;
}

int
sp_approvals_request(const struct tg_approval_spec *in, char id_out[TG_APPROVAL_ID_MAX], char *err,
		     size_t errlen)
{
	struct tg_approval r;
	int rc;

	if (ma.a == NULL) {
		snprintf(err, errlen, "approvals are not open");
		return -ENODEV;
	}
	rc = tg_approvals_add(ma.a, in, (int64_t)time(NULL), &r, err, errlen);
	if (rc < 0) {
		logf_(LOG_WARNING, "approval request for rule %.63s on %.63s refused: %s",
		      in->rule != NULL ? in->rule : "", in->service != NULL ? in->service : "",
		      err);
		return rc;
	}
	snprintf(id_out, TG_APPROVAL_ID_MAX, "%s", r.id);
	if (r.approvers[0] != '\0' && getgrnam(r.approvers) == NULL)
		logf_(LOG_WARNING,
		      "approval %s: rule %s names approvers group \"%s\", which does not exist: "
		      "nobody can approve it",
		      r.id, r.rule, r.approvers);
	logf_(LOG_NOTICE,
	      "approval %s requested: %s on %s, rule %s, quorum %u, timeout %u s, statement %.80s",
	      r.id, r.user, r.service, r.rule, r.quorum, r.timeout_s, r.text);
	{
		json_t *rec = approval_record("approval.requested", "unknown", NULL, &r, NULL);

		if (rec != NULL) {
			put(rec, "db", "statement", json_string(r.text));
			put_str(rec, "db", "params", r.params);
		}
		emit(rec);
	}
	return 0;
}

static void
on_cancelled(void *arg, const struct tg_approval *r)
{
	(void)arg;
	logf_(LOG_NOTICE, "approval %s cancelled: %s", r->id, r->reason);
	emit(approval_record("approval.cancelled", "failure", "cancelled", r, NULL));
}

unsigned int
sp_approvals_cancel_session(uint16_t worker, uint64_t session, const char *reason)
{
	if (ma.a == NULL)
		return 0;
	return tg_approvals_cancel_session(ma.a, worker, session, false, reason,
					   (int64_t)time(NULL), on_cancelled, NULL);
}

unsigned int
sp_approvals_cancel_all(const char *reason)
{
	if (ma.a == NULL)
		return 0;
	return tg_approvals_cancel_session(ma.a, 0, 0, true, reason, (int64_t)time(NULL),
					   on_cancelled, NULL);
}

static void
on_expired(void *arg, const struct tg_approval *r)
{
	(void)arg;
	logf_(LOG_NOTICE, "approval %s expired: %u of %u approvals in %u s", r->id, r->nb_votes,
	      r->quorum, r->timeout_s);
	decided(r, NULL);
}

void
sp_approvals_tick(int64_t now)
{
	if (ma.a != NULL)
		tg_approvals_expire(ma.a, now, on_expired, NULL);
}

int
sp_approvals_get(const char *id, struct tg_approval *out)
{
	const struct tg_approval *r = ma.a != NULL ? tg_approvals_get(ma.a, id) : NULL;

	if (r == NULL)
		return -ENOENT;
	*out = *r;
	return 0;
}

json_t *
sp_approvals_stats_json(void)
{
	struct tg_approvals_stats st;
	json_t *o;

	if (ma.a == NULL)
		return NULL;
	tg_approvals_stats(ma.a, &st);
	o = json_pack("{s:i, s:i}", "pending", (int)st.pending, "kept", (int)st.total);
	for (unsigned int i = 0; o != NULL && i < TG_APPROVALS_CNT_MAX; i++)
		json_object_set_new(o, tg_approvals_counter_name(i),
				    json_integer((json_int_t)st.cnt[i]));
	return o;
}

/* ---------------------------------------------------------------------
 * Methods
 * ------------------------------------------------------------------- */

/*
 * Whether the peer is in group name: its primary gid, or a group of
 * getgrouplist(3) for its user. "" (no group named): anyone with the role.
 */
static bool
member_of(const struct tg_mgmt_peer *p, const char *name)
{
	gid_t groups[GROUPS_MAX];
	int n = GROUPS_MAX;
	struct group *gr;
	gid_t gid;

	if (name[0] == '\0')
		return true;
	gr = getgrnam(name);
	if (gr == NULL)
		return false;
	gid = gr->gr_gid;
	if (p->gid == gid)
		return true;
	if (p->user[0] == '\0' || getgrouplist(p->user, p->gid, groups, &n) < 0)
		return false; /* more than GROUPS_MAX groups: not looked through, refused */
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static bool
ready(struct tg_mgmt_call *call)
{
	if (ma.a != NULL)
		return true;
	tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE, "approvals are not open");
	return false;
}

static void
m_list(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "all" };
	const json_t *all = json_object_get(params, "all");
	json_t *list;

	(void)arg;
	if (!ready(call) ||
	    !tg_mgmt_params_known(call, params, names, sizeof(names) / sizeof(names[0])))
		return;
	if (all != NULL && !json_is_boolean(all)) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params.all: true or false");
		return;
	}
	/* expiry first, so that a request past its deadline is not listed pending */
	sp_approvals_tick((int64_t)time(NULL));
	list = tg_approvals_json(ma.a, json_is_true(all));
	if (list == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "out of memory");
		return;
	}
	tg_mgmt_reply(call,
		      json_pack("{s:o, s:I}", "approvals", list, "now", (json_int_t)time(NULL)));
}

/* params.id, required; the request after expiry, or NULL (answered). */
static const struct tg_approval *
param_request(struct tg_mgmt_call *call, const json_t *params, const char **id)
{
	const struct tg_approval *r;

	if (!tg_mgmt_param_str(call, params, "id", id))
		return NULL;
	if (*id == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params: id is required");
		return NULL;
	}
	sp_approvals_tick((int64_t)time(NULL)); /* an expired request is told as such */
	r = tg_approvals_get(ma.a, *id);
	if (r == NULL)
		tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND, "no approval request %.40s", *id);
	return r;
}

static void
m_show(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "id" };
	const struct tg_approval *r;
	const char *id;

	(void)arg;
	if (!ready(call) ||
	    !tg_mgmt_params_known(call, params, names, sizeof(names) / sizeof(names[0])) ||
	    (r = param_request(call, params, &id)) == NULL)
		return;
	tg_mgmt_reply(call, json_pack("{s:o, s:I}", "approval", tg_approval_json(r), "now",
				      (json_int_t)time(NULL)));
}

/* A refusal of the table as the method's error. */
static void
refuse(struct tg_mgmt_call *call, int rc, const char *msg)
{
	enum tg_mgmt_err code = rc == -ENOENT			   ? TG_MGMT_E_NOT_FOUND
				: rc == -EALREADY || rc == -EEXIST ? TG_MGMT_E_CONFLICT
				: rc == -EPERM || rc == -EACCES	   ? TG_MGMT_E_FORBIDDEN
				: rc == -EINVAL			   ? TG_MGMT_E_BAD_REQUEST
								   : TG_MGMT_E_INTERNAL;

	tg_mgmt_fail(call, code, "%s", msg);
}

/* approve (deny false) or deny (true): the shared steps. */
static void
decide(struct tg_mgmt_call *call, const json_t *params, bool deny)
{
	static const char *const approve_names[] = { "id", "comment" };
	static const char *const deny_names[] = { "id", "reason" };
	const struct tg_mgmt_peer *peer = tg_mgmt_call_peer(call);
	const struct tg_approval *cur;
	struct tg_approval_operator op = { .uid = (uint32_t)peer->uid, .user = peer->user };
	struct tg_approval r;
	const char *id, *note;
	char msg[TG_MGMT_MESSAGE_MAX - 64];
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (!ready(call) ||
	    !tg_mgmt_params_known(call, params, deny ? deny_names : approve_names, 2) ||
	    !tg_mgmt_param_str(call, params, deny ? "reason" : "comment", &note))
		return;
	if (deny && note == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params: reason is required (the client is told it)");
		return;
	}
	if ((cur = param_request(call, params, &id)) == NULL)
		return;
	op.member = member_of(peer, cur->approvers);
	if (deny)
		rc = tg_approvals_deny(ma.a, id, &op, note, now, &r, msg, sizeof(msg));
	else
		rc = tg_approvals_approve(ma.a, id, &op, note, now, &r, msg, sizeof(msg));
	if (rc < 0) {
		logf_(LOG_NOTICE, "approval %.40s: %s by %s (uid %u) refused: %s", id,
		      deny ? "deny" : "approve", peer->user[0] ? peer->user : "?",
		      (unsigned int)peer->uid, msg);
		refuse(call, rc, msg);
		return;
	}
	if (!deny) {
		json_t *rec = approval_record("approval.vote", "success", NULL, &r, peer);

		if (rec != NULL && note != NULL && note[0] != '\0')
			json_object_set_new(json_object_get(rec, "approval"), "comment",
					    json_string(note));
		logf_(LOG_NOTICE, "approval %s: approved by %s (uid %u), %u of %u%s%.100s", r.id,
		      peer->user[0] ? peer->user : "?", (unsigned int)peer->uid, r.nb_votes,
		      r.quorum, note != NULL ? ": " : "", note != NULL ? note : "");
		emit(rec);
	} else {
		logf_(LOG_NOTICE, "approval %s: denied by %s (uid %u): %.100s", r.id,
		      peer->user[0] ? peer->user : "?", (unsigned int)peer->uid, note);
	}
	decided(&r, peer); /* approved or denied: the record, the dataplane told */
	tg_mgmt_reply(call, json_pack("{s:o}", "approval", tg_approval_json(&r)));
}

static void
m_approve(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	(void)arg;
	decide(call, params, false);
}

static void
m_deny(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	(void)arg;
	decide(call, params, true);
}

int
sp_approvals_methods_register(struct tg_mgmt *m)
{
	static const struct tg_mgmt_method methods[] = {
		{ "approvals.list", TG_MGMT_ROLE_ANY, false,
		  "the approval requests of held statements ({all?})", m_list, NULL },
		{ "approvals.show", TG_MGMT_ROLE_ANY, false, "one approval request ({id})", m_show,
		  NULL },
		{ "approvals.approve", DECIDERS, true,
		  "approve a held statement; quorum approvals release it ({id, comment?})",
		  m_approve, NULL },
		{ "approvals.deny", DECIDERS, true,
		  "deny a held statement; the client is told the reason ({id, reason})", m_deny,
		  NULL },
	};
	int rc;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if ((rc = tg_mgmt_register(m, &methods[i])) < 0)
			return rc;
	return 0;
}
