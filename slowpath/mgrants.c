/* SPDX-License-Identifier: MIT */
/*
 * mgrants.c — the grant store in the running slowpath and its grants.*
 * management methods. See mgrants.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "grants.h"
#include "mgmt.h"
#include "mgrants.h"

#define WRITERS (TG_MGMT_ROLE_ADMIN | TG_MGMT_ROLE_APPROVER)

static struct {
	struct tg_grants *g;
	struct sp_grants_hooks h;
	bool save_failing; /* logged once until a save works */
} mg;

static void logf_(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logf_(int prio, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (mg.h.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mg.h.log(mg.h.arg, prio, buf);
}

/* "user (uid N)": what a grant keeps of who granted or revoked it. */
static void
operator_text(char *out, size_t size, const struct tg_mgmt_peer *p)
{
	snprintf(out, size, "%s (uid %u)", p->user[0] ? p->user : "?", (unsigned int)p->uid);
}

/*
 * A grant.* record: the grant, its subject (user.*), its service
 * (dst.service) and, for add and revoke, the operator.
 */
static void
grant_record(const char *type, const struct tg_grant *gr, const struct tg_mgmt_peer *peer,
	     int saved)
{
	json_t *rec, *grant;

	grant = json_pack("{s:s, s:s, s:s, s:o, s:I, s:s, s:o}", "id", gr->id, "service",
			  gr->service, "reason", gr->reason, "expires", tg_mgmt_time_json(gr->expires),
			  "ttl_s", (json_int_t)(gr->expires - gr->created), "granted_by",
			  gr->granted_by, "created", tg_mgmt_time_json(gr->created));
	if (grant == NULL)
		return;
	if (gr->iss[0] != '\0')
		json_object_set_new(grant, "iss", json_string(gr->iss));
	if (gr->source[0] != '\0')
		json_object_set_new(grant, "source", json_string(gr->source));
	if (gr->state != TG_GRANT_LIVE) {
		json_object_set_new(grant, "ended_by", json_string(gr->ended_by));
		if (gr->end_reason[0] != '\0')
			json_object_set_new(grant, "end_reason", json_string(gr->end_reason));
	}
	if (saved >= 0)
		json_object_set_new(grant, "saved", json_boolean(saved));
	rec = json_pack("{s:{s:s}, s:s, s:o, s:{s:s}, s:{s:s}}", "event", "type", type, "outcome",
			"success", "grant", grant, "user", "sub", gr->sub, "dst", "service",
			gr->service);
	if (rec == NULL)
		return;
	if (gr->iss[0] != '\0')
		json_object_set_new(json_object_get(rec, "user"), "iss", json_string(gr->iss));
	if (peer != NULL)
		json_object_set_new(rec, "operator", tg_mgmt_peer_json(peer));
	mg.h.record(mg.h.arg, rec);
	json_decref(rec);
}

/* ---------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------- */

int
sp_grants_open(const char *path, const struct sp_grants_hooks *hooks, char *err, size_t errlen)
{
	char bad[4200];
	int rc;

	mg.h = *hooks;
	mg.g = tg_grants_new(path);
	if (mg.g == NULL) {
		rc = -errno;
		snprintf(err, errlen, "grants %s: %s", path, strerror(errno));
		return rc;
	}
	rc = tg_grants_load(mg.g, err, errlen);
	if (rc == -EINVAL) {
		/* unreadable state: keep it for a human, start with no grants (fails closed) */
		snprintf(bad, sizeof(bad), "%s.bad-%lld", path, (long long)time(NULL));
		logf_(LOG_CRIT, "grants %s: %s; moved to %s, starting with no grants", path, err,
		      rename(path, bad) == 0 ? bad : "(could not be moved)");
		return 0;
	}
	if (rc < 0) {
		tg_grants_free(mg.g);
		mg.g = NULL;
		return rc;
	}
	{
		struct tg_grants_stats st;

		tg_grants_stats(mg.g, &st);
		logf_(LOG_INFO, "grants %s: %u live, %u kept", path, st.live, st.total);
	}
	return 0;
}

void
sp_grants_close(void)
{
	if (mg.g != NULL && tg_grants_save(mg.g) < 0)
		logf_(LOG_CRIT, "grants: not saved at exit: changes since the last save are lost");
	tg_grants_free(mg.g);
	mg.g = NULL;
}

const struct tg_grants *
sp_grants_store(void)
{
	return mg.g;
}

static void
on_expired(void *arg, const struct tg_grant *gr)
{
	(void)arg;
	logf_(LOG_NOTICE, "grant %s expired: sub %.60s on %s (granted by %s: %.100s)", gr->id,
	      gr->sub, gr->service, gr->granted_by, gr->reason);
	grant_record("grant.expired", gr, NULL, -1);
}

/* Logs a store that stays dirty once, and when it is clean again. */
static void
save_state(void)
{
	struct tg_grants_stats st;

	tg_grants_stats(mg.g, &st);
	if (st.dirty && !mg.save_failing)
		logf_(LOG_CRIT, "grants: could not save the store: ended grants hold in memory "
				"only, retried every second (a restart now would bring them back)");
	else if (!st.dirty && mg.save_failing)
		logf_(LOG_NOTICE, "grants: the store is saved again");
	mg.save_failing = st.dirty;
}

/* Any change: the tcp grants go to the dataplane again. */
static void
updated(void)
{
	if (mg.h.updated != NULL)
		mg.h.updated(mg.h.arg);
}

void
sp_grants_tick(int64_t now)
{
	if (mg.g == NULL)
		return;
	if (tg_grants_expire(mg.g, now, on_expired, NULL) > 0) {
		if (mg.h.changed != NULL)
			mg.h.changed(mg.h.arg);
		updated();
	}
	tg_grants_save(mg.g); /* a no-op when clean */
	save_state();
}

json_t *
sp_grants_stats_json(void)
{
	struct tg_grants_stats st;
	json_t *o;

	if (mg.g == NULL)
		return NULL;
	tg_grants_stats(mg.g, &st);
	o = json_pack("{s:i, s:i, s:b}", "live", (int)st.live, "kept", (int)st.total, "dirty",
		      st.dirty);
	for (unsigned int i = 0; o != NULL && i < TG_GRANTS_CNT_MAX; i++)
		json_object_set_new(o, tg_grants_counter_name(i),
				    json_integer((json_int_t)st.cnt[i]));
	return o;
}

/* ---------------------------------------------------------------------
 * Methods
 * ------------------------------------------------------------------- */

static bool
ready(struct tg_mgmt_call *call)
{
	if (mg.g != NULL)
		return true;
	tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE, "the grant store is not open");
	return false;
}

static void
m_add(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "subject", "service", "ttl_s",
					      "reason",	 "issuer",  "source" };
	const json_t *ttl = json_object_get(params, "ttl_s");
	struct tg_grant_spec spec = { 0 };
	struct tg_grant gr;
	char by[TG_GRANT_TEXT_MAX], msg[TG_MGMT_MESSAGE_MAX - 64];
	int rc, tcp;

	(void)arg;
	if (!ready(call) || !tg_mgmt_params_known(call, params, names, sizeof(names) / sizeof(names[0])) ||
	    !tg_mgmt_param_str(call, params, "subject", &spec.sub) ||
	    !tg_mgmt_param_str(call, params, "service", &spec.service) ||
	    !tg_mgmt_param_str(call, params, "reason", &spec.reason) ||
	    !tg_mgmt_param_str(call, params, "issuer", &spec.iss) ||
	    !tg_mgmt_param_str(call, params, "source", &spec.source))
		return;
	if (spec.sub == NULL || spec.service == NULL || spec.reason == NULL || ttl == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params: subject, service, ttl_s and reason are required");
		return;
	}
	if (!json_is_integer(ttl)) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params.ttl_s: seconds, 1..%d",
			     TG_GRANTS_TTL_MAX);
		return;
	}
	spec.ttl_s = json_integer_value(ttl);
	if (mg.h.service_known != NULL && mg.h.service_known(mg.h.arg, spec.service) == 0) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params.service: no service \"%.63s\" on this gateway", spec.service);
		return;
	}
	/* a tcp service's grant names the client's address; a login's does not */
	tcp = mg.h.service_tcp != NULL ? mg.h.service_tcp(mg.h.arg, spec.service) : -1;
	if (tcp == 1 && (spec.source == NULL || spec.source[0] == '\0')) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params.source: required for \"%.63s\", a tcp service: the client "
			     "address or prefix the grant admits flows from",
			     spec.service);
		return;
	}
	if (tcp == 0 && spec.source != NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params.source: only for tcp services; \"%.63s\" admits logins by "
			     "subject",
			     spec.service);
		return;
	}
	operator_text(by, sizeof(by), tg_mgmt_call_peer(call));
	spec.granted_by = by;
	rc = tg_grants_add(mg.g, &spec, (int64_t)time(NULL), &gr, msg, sizeof(msg));
	if (rc < 0) {
		tg_mgmt_fail(call, rc == -EINVAL ? TG_MGMT_E_BAD_REQUEST : TG_MGMT_E_INTERNAL,
			     "grant not added: %s", msg);
		return;
	}
	logf_(LOG_NOTICE, "grant %s added by %s: sub %.60s on %s%s%s for %" PRId64 " s: %.100s",
	      gr.id, by, gr.sub, gr.service, gr.source[0] ? " from " : "", gr.source,
	      gr.expires - gr.created, gr.reason);
	grant_record("grant.add", &gr, tg_mgmt_call_peer(call), -1);
	updated();
	tg_mgmt_reply(call, json_pack("{s:o}", "grant", tg_grant_json(&gr)));
}

static void
m_list(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "all", "service", "subject" };
	const json_t *all = json_object_get(params, "all");
	const char *service, *sub;
	json_t *list;

	(void)arg;
	if (!ready(call) || !tg_mgmt_params_known(call, params, names, sizeof(names) / sizeof(names[0])) ||
	    !tg_mgmt_param_str(call, params, "service", &service) ||
	    !tg_mgmt_param_str(call, params, "subject", &sub))
		return;
	if (all != NULL && !json_is_boolean(all)) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params.all: true or false");
		return;
	}
	/* expiry first, so that a grant past its time is not listed live */
	sp_grants_tick((int64_t)time(NULL));
	list = tg_grants_json(mg.g, json_is_true(all), service, sub);
	if (list == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "out of memory");
		return;
	}
	tg_mgmt_reply(call, json_pack("{s:o, s:I}", "grants", list, "now", (json_int_t)time(NULL)));
}

static void
m_revoke(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "id", "reason" };
	const char *id, *reason;
	struct tg_grant gr;
	char by[TG_GRANT_TEXT_MAX];
	bool saved;
	int rc;

	(void)arg;
	if (!ready(call) || !tg_mgmt_params_known(call, params, names, sizeof(names) / sizeof(names[0])) ||
	    !tg_mgmt_param_str(call, params, "id", &id) ||
	    !tg_mgmt_param_str(call, params, "reason", &reason))
		return;
	if (id == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params: id is required");
		return;
	}
	if (reason != NULL &&
	    (strlen(reason) >= TG_GRANT_TEXT_MAX || strpbrk(reason, "\n\r\t") != NULL)) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params.reason: at most 255 bytes on one line");
		return;
	}
	sp_grants_tick((int64_t)time(NULL)); /* an expired grant is told as such */
	operator_text(by, sizeof(by), tg_mgmt_call_peer(call));
	rc = tg_grants_revoke(mg.g, id, by, reason, (int64_t)time(NULL), &gr, &saved);
	if (rc == -ENOENT) {
		tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND, "no grant %.40s", id);
		return;
	}
	if (rc == -EALREADY) {
		tg_mgmt_fail(call, TG_MGMT_E_CONFLICT, "grant %s already %s", gr.id,
			     tg_grant_state_name(gr.state));
		return;
	}
	logf_(LOG_NOTICE, "grant %s revoked by %s: sub %.60s on %s%s%.100s", gr.id, by, gr.sub,
	      gr.service, reason != NULL ? ": " : "", reason != NULL ? reason : "");
	grant_record("grant.revoke", &gr, tg_mgmt_call_peer(call), saved);
	save_state();
	if (mg.h.changed != NULL)
		mg.h.changed(mg.h.arg); /* running sessions on it: ended now, not at the tick */
	updated();
	tg_mgmt_reply(call, json_pack("{s:o, s:b}", "grant", tg_grant_json(&gr), "saved", saved));
}

int
sp_grants_methods_register(struct tg_mgmt *m)
{
	static const struct tg_mgmt_method methods[] = {
		{ "grants.add", WRITERS, true,
		  "grant a subject access to a service for a time ({subject, service, ttl_s, "
		  "reason, issuer?, source?})",
		  m_add, NULL },
		{ "grants.list", TG_MGMT_ROLE_ANY, false,
		  "the access grants ({all?, service?, subject?})", m_list, NULL },
		{ "grants.revoke", WRITERS, true, "end an access grant now ({id, reason?})",
		  m_revoke, NULL },
	};
	int rc;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if ((rc = tg_mgmt_register(m, &methods[i])) < 0)
			return rc;
	return 0;
}
