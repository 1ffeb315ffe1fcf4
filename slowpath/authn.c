/* SPDX-License-Identifier: MIT */
/*
 * authn.c — the identity takeover's logins. See authn.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn.h"
#include "punt.h"
#include "upstream_auth.h"

#define BUCKETS 4096 /* hash buckets: a power of two */

enum state {
	S_KEYS,	    /* held: waiting for the key set */
	S_UPSTREAM, /* StartupMessage sent: the server's messages come */
	S_RUNNING,  /* DONE: logged in */
	S_ENDED,    /* END sent: waits for SESSION_END */
};

struct sess {
	struct sess *hnext;	  /* hash chain */
	struct sess *next, *prev; /* every entry, for the tick */
	uint16_t worker;
	uint64_t session;
	enum state state;
	uint64_t deadline_ms; /* S_KEYS, S_UPSTREAM; S_ENDED: when it is dropped */
	uint8_t *startup;     /* S_KEYS: the client's StartupMessage */
	size_t startup_len;
	char *token; /* S_KEYS: tg_jwt_token_dup(), wiped when freed */
	size_t token_len;
	struct tg_upauth *ua; /* S_UPSTREAM */
	bool expiry_fatal;    /* the service's on_token_expiry */
	bool grant_end;	      /* the service's on_grant_expiry "end" (admitted on a grant) */
	bool grant_outlived;  /* "continue": its grant ended, and it runs on */
	struct tg_authn_who who;
};

struct tg_authn {
	struct tg_authn_cfg cfg;
	struct tg_jwt *jwt;
	struct tg_idmap *map;
	struct tg_credstore *creds;
	const struct tg_grants *grants;
	struct sess *bucket[BUCKETS];
	struct sess *all;
	unsigned int in_flight, nsess;
	struct tg_authn_stats st;
};

static const char *const reason_names[TG_AUTHN_R_MAX] = {
#define TG_AUTHN_X(e, n) [TG_AUTHN_R_##e] = n,
	TG_AUTHN_REASONS(TG_AUTHN_X)
#undef TG_AUTHN_X
};

static const char *const counter_names[TG_AUTHN_CNT_MAX] = {
#define TG_AUTHN_X(e, n) [TG_AUTHN_CNT_##e] = n,
	TG_AUTHN_COUNTERS(TG_AUTHN_X)
#undef TG_AUTHN_X
};

const char *
tg_authn_reason_name(enum tg_authn_reason r)
{
	return (unsigned int)r < TG_AUTHN_R_MAX ? reason_names[r] : "?";
}

const char *
tg_authn_counter_name(enum tg_authn_counter c)
{
	return (unsigned int)c < TG_AUTHN_CNT_MAX ? counter_names[c] : "?";
}

/* ------------------------------------------------------------------ */
/* The table                                                           */

static unsigned int
hash(uint16_t worker, uint64_t session)
{
	uint64_t h = (session ^ ((uint64_t)worker << 48)) * 0x9e3779b97f4a7c15ull;

	return (unsigned int)(h >> 52) & (BUCKETS - 1);
}

static struct sess *
find(const struct tg_authn *a, uint16_t worker, uint64_t session)
{
	struct sess *s;

	for (s = a->bucket[hash(worker, session)]; s != NULL; s = s->hnext)
		if (s->worker == worker && s->session == session)
			return s;
	return NULL;
}

static bool
in_flight(const struct sess *s)
{
	return s->state == S_KEYS || s->state == S_UPSTREAM;
}

/* Frees what a login holds while in flight: the token copy, the startup, the upstream handle. */
static void
release_login(struct sess *s)
{
	if (s->token != NULL)
		tg_jwt_token_free(s->token, s->token_len);
	s->token = NULL;
	s->token_len = 0;
	if (s->startup != NULL) {
		explicit_bzero(s->startup, s->startup_len);
		free(s->startup);
	}
	s->startup = NULL;
	s->startup_len = 0;
	tg_upauth_free(s->ua);
	s->ua = NULL;
}

/* Moves s to state st, keeping the in-flight count. */
static void
set_state(struct tg_authn *a, struct sess *s, enum state st)
{
	if (in_flight(s) && !(st == S_KEYS || st == S_UPSTREAM))
		a->in_flight--;
	s->state = st;
	if (!in_flight(s))
		release_login(s);
}

static void
drop(struct tg_authn *a, struct sess *s)
{
	struct sess **pp = &a->bucket[hash(s->worker, s->session)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		a->all = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	if (in_flight(s))
		a->in_flight--;
	a->nsess--;
	release_login(s);
	json_decref(s->who.groups);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */

static void
reply(struct tg_authn *a, struct sess *s, uint8_t action, const uint8_t *data, size_t len,
      const char *sqlstate, const char *text)
{
	struct tg_authn_reply r = {
		.worker = s->worker,
		.session = s->session,
		.action = action,
		.data = data,
		.len = len,
		.sqlstate = sqlstate,
		.text = text,
		.role = action == TG_PUNT_AUTH_DONE ? s->who.role : NULL,
	};

	a->cfg.reply(a->cfg.arg, &r);
}

static void
event(struct tg_authn *a, struct sess *s, enum tg_authn_event_kind kind, const char *reason,
      const char *detail, const char *sqlstate, const char *text, const struct tg_upauth *ua)
{
	struct tg_authn_event e = {
		.kind = kind,
		.worker = s->worker,
		.session = s->session,
		.who = &s->who,
		.reason = reason,
		.detail = detail,
		.sqlstate = sqlstate,
		.text = text,
	};

	if (ua != NULL && tg_upauth_sqlstate(ua)[0] != '\0') {
		e.server_sqlstate = tg_upauth_sqlstate(ua);
		e.server_message = tg_upauth_message(ua);
	}
	a->cfg.event(a->cfg.arg, &e);
}

/*
 * Refuses the login: the event, then REFUSE, then the entry goes (a
 * refused session needs no attribution: its record is the failure).
 * token_reason is the token's when why is TG_AUTHN_R_TOKEN.
 */
static void
refuse(struct tg_authn *a, struct sess *s, enum tg_authn_reason why,
       enum tg_jwt_reason token_reason, const char *sqlstate, const char *text, const char *detail)
{
	const char *reason =
		why == TG_AUTHN_R_TOKEN ? tg_jwt_reason_name(token_reason) : reason_names[why];

	a->st.cnt[TG_AUTHN_CNT_REFUSED]++;
	a->st.refused_by[why]++;
	if (why == TG_AUTHN_R_TOKEN && (unsigned int)token_reason < TG_JWT_REASON_MAX)
		a->st.token_refused_by[token_reason]++;
	if (why == TG_AUTHN_R_UPSTREAM)
		a->st.cnt[TG_AUTHN_CNT_UPSTREAM_FAILED]++;
	event(a, s, TG_AUTHN_EV_FAILURE, reason, detail, sqlstate, text, s->ua);
	reply(a, s, TG_PUNT_AUTH_REFUSE, NULL, 0, sqlstate, text);
	drop(a, s);
}

/* ------------------------------------------------------------------ */
/* The steps                                                           */

static void
copy_name(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] > 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[n] = '\0';
}

static void
hex(char *dst, const uint8_t *b, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = d[b[i] >> 4];
		dst[2 * i + 1] = d[b[i] & 15];
	}
	dst[2 * n] = '\0';
}

/* What a verification told, kept in the attribution (refusals included: kid, alg, hash). */
static void
keep_token(struct sess *s, const struct tg_jwt_identity *id, enum tg_jwt_reason r)
{
	struct tg_authn_who *w = &s->who;

	snprintf(w->kid, sizeof(w->kid), "%s", id->kid);
	w->alg = r != TG_JWT_MALFORMED && r != TG_JWT_HEADER && r != TG_JWT_ALG_NONE &&
				 r != TG_JWT_ALG_HMAC && r != TG_JWT_ALG_UNSUPPORTED
			 ? tg_jws_alg_name(id->alg)
			 : NULL;
	if (r != TG_JWT_MALFORMED)
		hex(w->token_sha256, id->token_sha256, TG_JWT_SHA256_LEN);
	if (r != TG_JWT_OK)
		return;
	w->verified = true;
	memcpy(w->iss, id->iss, sizeof(w->iss));
	memcpy(w->sub, id->sub, sizeof(w->sub));
	memcpy(w->email, id->email, sizeof(w->email));
	w->email_verified = id->email_verified;
	memcpy(w->jti, id->jti, sizeof(w->jti));
	w->exp = id->exp;
	w->iat = id->iat;
	json_decref(w->groups);
	w->groups = json_array();
	for (unsigned int i = 0; i < id->n_groups && w->groups != NULL; i++)
		json_array_append_new(w->groups, json_string(id->groups[i]));
}

/*
 * The claims object the identity map decides on, from the verified
 * identity: sub, email, email_verified, and the groups at the map's
 * claim path (nested objects for a path of several names).
 */
static json_t *
claims_of(const struct tg_idmap *m, const struct tg_authn_who *w)
{
	const char *const *path;
	unsigned int depth = tg_idmap_claim_path(m, &path);
	json_t *c = json_object(), *o;

	if (c == NULL)
		return NULL;
	if (json_object_set_new(c, "sub", json_string(w->sub)) < 0 ||
	    (w->email[0] != '\0' && json_object_set_new(c, "email", json_string(w->email)) < 0) ||
	    json_object_set_new(c, "email_verified", json_boolean(w->email_verified)) < 0)
		goto fail;
	if (depth == 0 || w->groups == NULL || json_array_size(w->groups) == 0)
		return c;
	o = c;
	for (unsigned int i = 0; i + 1 < depth; i++) {
		json_t *n = json_object();

		if (n == NULL || json_object_set_new(o, path[i], n) < 0)
			goto fail;
		o = n;
	}
	if (json_object_set(o, path[depth - 1], w->groups) < 0)
		goto fail;
	return c;
fail:
	json_decref(c);
	return NULL;
}

/*
 * Step 3b (authn.h): a live grant for a service that requires one. true
 * with the grant's id in the attribution; false with the login refused.
 */
static bool
granted(struct tg_authn *a, struct sess *s, const struct tg_idmap_decision *d, int64_t now_s)
{
	const struct tg_grant *gr;
	char detail[512];

	if (!d->require_grant)
		return true;
	gr = tg_grants_match(a->grants, s->who.iss, s->who.sub, s->who.service, now_s);
	if (gr == NULL) {
		snprintf(detail, sizeof(detail), "%s; no live grant for sub %.60s on service %s%s",
			 d->reason, s->who.sub, s->who.service,
			 a->grants == NULL ? " (no grant store)" : "");
		refuse(a, s, TG_AUTHN_R_NO_GRANT, TG_JWT_OK, "28000",
		       "no access grant for this service: ask for one (tgctl grants add)", detail);
		return false;
	}
	snprintf(s->who.grant_id, sizeof(s->who.grant_id), "%s", gr->id);
	s->grant_end = d->on_grant_end == TG_IDMAP_GRANT_END;
	return true;
}

/* Steps 3 to 5 (authn.h): map, grant, credential, upstream StartupMessage, SEND. */
static void
proceed(struct tg_authn *a, struct sess *s, int64_t now_s)
{
	struct tg_idmap_decision d;
	const struct tg_cred *cred;
	uint8_t out[TG_UPAUTH_STARTUP_MAX];
	char err[256], detail[512];
	size_t olen = 0;
	json_t *claims;
	int rc;

	if (a->map == NULL || a->creds == NULL) {
		refuse(a, s, TG_AUTHN_R_NOT_CONFIGURED, TG_JWT_OK, "28000",
		       "identity login is not available on this gateway",
		       a->map == NULL ? "no identity map loaded (the policy's \"identity\")"
				      : "no credentials loaded");
		return;
	}
	claims = claims_of(a->map, &s->who);
	if (claims == NULL) {
		refuse(a, s, TG_AUTHN_R_INTERNAL, TG_JWT_OK, "28000", "login failed at the gateway",
		       "out of memory");
		return;
	}
	rc = tg_idmap_resolve(a->map, claims, s->who.service, &d);
	json_decref(claims);
	if (rc < 0 || !d.allow) {
		s->who.rule = d.rule;
		snprintf(s->who.rule_id, sizeof(s->who.rule_id), "%s", rc < 0 ? "" : d.rule_id);
		refuse(a, s, TG_AUTHN_R_DENIED, TG_JWT_OK, "28000",
		       "identity not allowed on this service",
		       rc < 0 ? "resolve failed" : d.reason);
		return;
	}
	s->who.rule = d.rule;
	snprintf(s->who.rule_id, sizeof(s->who.rule_id), "%s", d.rule_id);
	snprintf(s->who.role, sizeof(s->who.role), "%s", d.role);
	s->expiry_fatal = d.on_expiry == TG_IDMAP_EXPIRY_FATAL;
	if (!granted(a, s, &d, now_s))
		return;
	if (tg_credstore_lookup(a->creds, s->who.service, s->who.role, &cred) < 0) {
		snprintf(detail, sizeof(detail), "%s; no credential for role %s on service %s",
			 d.reason, s->who.role, s->who.service);
		refuse(a, s, TG_AUTHN_R_NO_CREDENTIAL, TG_JWT_OK, "28000",
		       "no database credential is available for this identity", detail);
		return;
	}
	rc = tg_upauth_startup(s->startup, s->startup_len, s->who.role, NULL, out, sizeof(out),
			       &olen, err, sizeof(err));
	if (rc < 0) {
		/* err names the client's own parameter: nothing of ours */
		snprintf(detail, sizeof(detail), "%s; client StartupMessage refused: %s", d.reason,
			 err);
		refuse(a, s, TG_AUTHN_R_STARTUP, TG_JWT_OK, rc == -EPERM ? "28000" : "08P01",
		       rc == -EPERM ? "a startup parameter is not allowed through the gateway "
				      "(role, session_authorization, replication or a protocol "
				      "option)"
				    : "invalid startup packet",
		       detail);
		return;
	}
	s->ua = tg_upauth_new(s->who.role, cred->password, cred->method);
	if (s->ua == NULL) {
		explicit_bzero(out, olen);
		refuse(a, s, TG_AUTHN_R_INTERNAL, TG_JWT_OK, "28000", "login failed at the gateway",
		       "tg_upauth_new failed");
		return;
	}
	/* the startup is sent: the client's copy (and the token, if held) can go */
	if (s->token != NULL)
		tg_jwt_token_free(s->token, s->token_len);
	s->token = NULL;
	s->token_len = 0;
	explicit_bzero(s->startup, s->startup_len);
	free(s->startup);
	s->startup = NULL;
	s->startup_len = 0;
	s->state = S_UPSTREAM;
	reply(a, s, TG_PUNT_AUTH_SEND, out, olen, NULL, NULL);
	explicit_bzero(out, olen);
}

/*
 * Step 2: the token. again: this is the retry after a refetch (a second
 * unknown kid refuses). Returns with the login refused, held, or moved on.
 */
static void
verify(struct tg_authn *a, struct sess *s, const char *tok, size_t len, bool again, uint64_t now_ms,
       int64_t now_s)
{
	const struct tg_jwks *keys = a->cfg.keys != NULL ? a->cfg.keys(a->cfg.arg) : NULL;
	struct tg_jwt_identity id;
	enum tg_jwt_reason r;
	char detail[256];
	int rc;

	(void)now_ms;
	if (a->jwt == NULL) {
		refuse(a, s, TG_AUTHN_R_NOT_CONFIGURED, TG_JWT_OK, "28000",
		       "identity login is not available on this gateway", "no verifier");
		return;
	}
	memset(&id, 0, sizeof(id));
	r = tg_jwt_verify(a->jwt, keys, tok, len, now_s, &id);
	if ((r == TG_JWT_KID_UNKNOWN || r == TG_JWT_NO_KEYS) && !again && a->cfg.want_kid != NULL) {
		rc = a->cfg.want_kid(a->cfg.arg, id.kid);
		if (rc == -EINPROGRESS) {
			/* held until the refetch ends (tg_authn_keys_updated) or the deadline */
			if (s->token == NULL) {
				s->token = tg_jwt_token_dup(tok, len);
				if (s->token == NULL) {
					explicit_bzero(&id, sizeof(id));
					refuse(a, s, TG_AUTHN_R_INTERNAL, TG_JWT_OK, "28000",
					       "login failed at the gateway", "out of memory");
					return;
				}
				s->token_len = len;
			}
			keep_token(s, &id, r);
			explicit_bzero(&id, sizeof(id));
			s->state = S_KEYS;
			a->st.cnt[TG_AUTHN_CNT_HELD]++;
			return;
		}
		if (rc == 0 && r == TG_JWT_KID_UNKNOWN) {
			/* the set changed meanwhile: once more, now */
			keys = a->cfg.keys(a->cfg.arg);
			memset(&id, 0, sizeof(id));
			r = tg_jwt_verify(a->jwt, keys, tok, len, now_s, &id);
		}
	}
	keep_token(s, &id, r);
	explicit_bzero(&id, sizeof(id));
	if (r != TG_JWT_OK) {
		snprintf(detail, sizeof(detail), "token refused: %s%s", tg_jwt_reason_text(r),
			 again ? " (after a key set refetch)" : "");
		refuse(a, s, TG_AUTHN_R_TOKEN, r, "28000", tg_jwt_reason_text(r), detail);
		return;
	}
	a->st.cnt[TG_AUTHN_CNT_VERIFIED]++;
	proceed(a, s, now_s);
}

/* ------------------------------------------------------------------ */
/* API                                                                 */

struct tg_authn *
tg_authn_new(const struct tg_authn_cfg *cfg)
{
	struct tg_authn *a;

	if (cfg == NULL || cfg->login_timeout_ms == 0 || cfg->max_logins == 0 ||
	    cfg->max_sessions == 0 || cfg->reply == NULL || cfg->event == NULL) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->cfg = *cfg;
	return a;
}

void
tg_authn_reset(struct tg_authn *a)
{
	while (a->all != NULL)
		drop(a, a->all);
}

void
tg_authn_free(struct tg_authn *a)
{
	if (a == NULL)
		return;
	tg_authn_reset(a);
	tg_jwt_free(a->jwt);
	tg_idmap_free(a->map);
	tg_credstore_free(a->creds);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

void
tg_authn_set_verifier(struct tg_authn *a, struct tg_jwt *v)
{
	if (a->jwt != v)
		tg_jwt_free(a->jwt);
	a->jwt = v;
}

void
tg_authn_set_idmap(struct tg_authn *a, struct tg_idmap *m)
{
	if (a->map != m)
		tg_idmap_free(a->map);
	a->map = m;
}

const struct tg_idmap *
tg_authn_idmap(const struct tg_authn *a)
{
	return a != NULL ? a->map : NULL;
}

void
tg_authn_set_grants(struct tg_authn *a, const struct tg_grants *g)
{
	a->grants = g;
}

void
tg_authn_set_credstore(struct tg_authn *a, struct tg_credstore *cs)
{
	if (a->creds != cs)
		tg_credstore_free(a->creds);
	a->creds = cs;
}

struct tg_jwt *
tg_authn_verifier(const struct tg_authn *a)
{
	return a->jwt;
}

int
tg_authn_request(struct tg_authn *a, const struct tg_authn_request *req, uint64_t now_ms,
		 int64_t now_s)
{
	struct sess *s;
	bool full;
	unsigned int h;

	if (find(a, req->worker, req->session) != NULL)
		return -EEXIST;
	a->st.cnt[TG_AUTHN_CNT_REQUESTS]++;
	s = calloc(1, sizeof(*s));
	full = a->in_flight >= a->cfg.max_logins || a->nsess >= a->cfg.max_sessions;
	if (s == NULL) {
		/* nothing to hang a refusal on: answer without an entry */
		struct sess tmp = { .worker = req->worker,
				    .session = req->session,
				    .who.rule = -1 };

		a->st.cnt[TG_AUTHN_CNT_REFUSED]++;
		a->st.refused_by[TG_AUTHN_R_INTERNAL]++;
		event(a, &tmp, TG_AUTHN_EV_FAILURE, reason_names[TG_AUTHN_R_INTERNAL],
		      "out of memory", "53200", "out of memory at the gateway", NULL);
		reply(a, &tmp, TG_PUNT_AUTH_REFUSE, NULL, 0, "53200",
		      "out of memory at the gateway");
		return 0;
	}
	s->worker = req->worker;
	s->session = req->session;
	s->state = S_KEYS;
	s->deadline_ms = now_ms + a->cfg.login_timeout_ms;
	s->who.rule = -1;
	copy_name(s->who.service, sizeof(s->who.service), req->service, req->service_len);
	copy_name(s->who.client, sizeof(s->who.client), req->client, req->client_len);
	copy_name(s->who.server, sizeof(s->who.server), req->server, req->server_len);
	h = hash(s->worker, s->session);
	s->hnext = a->bucket[h];
	a->bucket[h] = s;
	s->next = a->all;
	if (a->all != NULL)
		a->all->prev = s;
	a->all = s;
	a->nsess++;
	a->in_flight++;
	if (full) {
		/* 53300 too_many_connections: what a server at max_connections answers */
		refuse(a, s, TG_AUTHN_R_CAPACITY, TG_JWT_OK, "53300",
		       "too many logins in progress at the gateway",
		       a->in_flight > a->cfg.max_logins ? "max_logins reached"
							: "max_sessions reached");
		return 0;
	}
	s->startup = malloc(req->startup_len ? req->startup_len : 1);
	if (s->startup == NULL) {
		refuse(a, s, TG_AUTHN_R_INTERNAL, TG_JWT_OK, "53200",
		       "out of memory at the gateway", "out of memory");
		return 0;
	}
	memcpy(s->startup, req->startup, req->startup_len);
	s->startup_len = req->startup_len;
	verify(a, s, req->token, req->token_len, false, now_ms, now_s);
	return 0;
}

/* Five digits or upper-case letters (PostgreSQL docs, Appendix A): what punt.h carries. */
static bool
sqlstate_valid(const char *c)
{
	for (int i = 0; i < 5; i++)
		if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'A' && c[i] <= 'Z')))
			return false;
	return c[5] == '\0';
}

int
tg_authn_server(struct tg_authn *a, uint16_t worker, uint64_t session, const uint8_t *msg,
		size_t len, uint64_t now_ms, int64_t now_s)
{
	struct sess *s = find(a, worker, session);
	uint8_t out[TG_UPAUTH_OUT_MAX];
	char detail[512];
	size_t mlen = 0, olen = 0;
	int rc;

	(void)now_ms;
	(void)now_s;
	if (s == NULL || s->state != S_UPSTREAM) {
		a->st.cnt[TG_AUTHN_CNT_LATE]++;
		return -ENOENT;
	}
	if (tg_upauth_msg_len(msg, len, &mlen) < 0 || mlen != len) {
		refuse(a, s, TG_AUTHN_R_UPSTREAM, TG_JWT_OK, "08P01",
		       "the database server's login answer was malformed",
		       "AUTH_SERVER is not one whole backend message");
		return 0;
	}
	rc = tg_upauth_feed(s->ua, msg, len, out, sizeof(out), &olen);
	if (olen > 0 && rc >= 0)
		reply(a, s, TG_PUNT_AUTH_SEND, out, olen, NULL, NULL);
	explicit_bzero(out, sizeof(out));
	if (rc == TG_UPAUTH_MORE)
		return 0;
	if (rc == TG_UPAUTH_OK) {
		s->who.method = tg_upauth_method_name(tg_upauth_used(s->ua));
		set_state(a, s, S_RUNNING);
		a->st.cnt[TG_AUTHN_CNT_LOGINS]++;
		snprintf(detail, sizeof(detail), "logged in to %s as role %s (%s)%s%s",
			 s->who.service, s->who.role, s->who.method,
			 s->who.grant_id[0] ? " on grant " : "", s->who.grant_id);
		event(a, s, TG_AUTHN_EV_SUCCESS, "ok", detail, NULL, NULL, NULL);
		reply(a, s, TG_PUNT_AUTH_DONE, NULL, 0, NULL, NULL);
		return 0;
	}
	snprintf(detail, sizeof(detail), "upstream login as role %s on %s failed: %s", s->who.role,
		 s->who.service, tg_upauth_reason(s->ua));
	if (rc == -EACCES && sqlstate_valid(tg_upauth_sqlstate(s->ua)) &&
	    strncmp(tg_upauth_sqlstate(s->ua), "28", 2) != 0) {
		/*
		 * Not an authentication failure ("database does not exist",
		 * "too many connections"): what the client would have seen
		 * without the gateway, so its own SQLSTATE and message.
		 */
		char text[TG_PUNT_REASON_MAX + 1];

		snprintf(text, sizeof(text), "%s", tg_upauth_message(s->ua));
		refuse(a, s, TG_AUTHN_R_UPSTREAM, TG_JWT_OK, tg_upauth_sqlstate(s->ua),
		       text[0] ? text : "the database server refused the login", detail);
		return 0;
	}
	refuse(a, s, TG_AUTHN_R_UPSTREAM, TG_JWT_OK, "28P01",
	       "the gateway could not log in to the database server for this identity", detail);
	return 0;
}

void
tg_authn_keys_updated(struct tg_authn *a, int rc, uint64_t now_ms, int64_t now_s)
{
	struct sess *s, *next;
	char *tok;
	size_t len;

	(void)rc; /* a failed refetch: verified again all the same, and refused as it fails */
	for (s = a->all; s != NULL; s = next) {
		next = s->next;
		if (s->state != S_KEYS || s->token == NULL)
			continue;
		/*
		 * verify() may refuse (and free) s; the token is moved out
		 * first so that it is freed here, once, either way.
		 */
		tok = s->token;
		len = s->token_len;
		s->token = NULL;
		s->token_len = 0;
		verify(a, s, tok, len, true, now_ms, now_s);
		tg_jwt_token_free(tok, len);
	}
}

/*
 * A running session admitted on a grant (authn.h step 6): true when it
 * was ended here. Its grant still live, or another live one of the same
 * subject and service, keeps it; else on_grant_expiry decides.
 */
static bool
grant_check(struct tg_authn *a, struct sess *s, uint64_t now_ms, int64_t now_s)
{
	const struct tg_grant *gr, *other;
	const char *why, *text;
	char detail[384];

	if (s->who.grant_id[0] == '\0' || s->grant_outlived)
		return false;
	gr = tg_grants_get(a->grants, s->who.grant_id);
	if (gr != NULL && tg_grant_live(gr, now_s))
		return false;
	other = tg_grants_match(a->grants, s->who.iss, s->who.sub, s->who.service, now_s);
	if (other != NULL) {
		snprintf(s->who.grant_id, sizeof(s->who.grant_id), "%s", other->id);
		return false;
	}
	if (gr != NULL && gr->state == TG_GRANT_REVOKED) {
		why = "grant_revoked";
		text = "access grant revoked: this session ends";
	} else {
		why = "grant_expired";
		text = "access grant expired: this session ends";
	}
	if (!s->grant_end) {
		s->grant_outlived = true;
		a->st.cnt[TG_AUTHN_CNT_GRANT_OUTLIVED]++;
		return false;
	}
	a->st.cnt[TG_AUTHN_CNT_GRANT_ENDED]++;
	snprintf(detail, sizeof(detail), "grant %s of sub %.60s on %s %s%s%.100s; session ended",
		 s->who.grant_id, s->who.sub, s->who.service,
		 gr == NULL			 ? "is gone"
		 : gr->state == TG_GRANT_REVOKED ? "revoked"
						 : "expired",
		 gr != NULL && gr->end_reason[0] ? ": " : "", gr != NULL ? gr->end_reason : "");
	event(a, s, TG_AUTHN_EV_EXPIRED, why, detail, "28000", text, NULL);
	reply(a, s, TG_PUNT_AUTH_END, NULL, 0, "28000", text);
	s->state = S_ENDED;
	s->deadline_ms = now_ms + TG_AUTHN_ENDED_GRACE_MS;
	return true;
}

void
tg_authn_grants_changed(struct tg_authn *a, uint64_t now_ms, int64_t now_s)
{
	struct sess *s, *next;

	for (s = a->all; s != NULL; s = next) {
		next = s->next;
		if (s->state == S_RUNNING)
			grant_check(a, s, now_ms, now_s);
	}
}

void
tg_authn_tick(struct tg_authn *a, uint64_t now_ms, int64_t now_s)
{
	struct sess *s, *next;
	char detail[256];

	for (s = a->all; s != NULL; s = next) {
		next = s->next;
		switch (s->state) {
		case S_KEYS:
			if (now_ms < s->deadline_ms)
				break;
			refuse(a, s, TG_AUTHN_R_TIMEOUT, TG_JWT_OK, "28000",
			       tg_jwt_reason_text(TG_JWT_KID_UNKNOWN),
			       "the issuer's key set did not bring the token's kid in time");
			break;
		case S_UPSTREAM:
			if (now_ms < s->deadline_ms)
				break;
			/* 08006 connection_failure: the server did not finish the login */
			snprintf(detail, sizeof(detail),
				 "upstream login as role %s on %s not done within %u ms",
				 s->who.role, s->who.service, a->cfg.login_timeout_ms);
			refuse(a, s, TG_AUTHN_R_TIMEOUT, TG_JWT_OK, "08006",
			       "the database server did not complete the login in time", detail);
			break;
		case S_RUNNING:
			if (grant_check(a, s, now_ms, now_s))
				break;
			if (!s->expiry_fatal || now_s < s->who.exp)
				break;
			a->st.cnt[TG_AUTHN_CNT_EXPIRED]++;
			snprintf(detail, sizeof(detail),
				 "token exp %" PRId64 " reached; session ended", s->who.exp);
			event(a, s, TG_AUTHN_EV_EXPIRED, "token_expired", detail, "28000",
			      "token expired: log in again with a new token", NULL);
			reply(a, s, TG_PUNT_AUTH_END, NULL, 0, "28000",
			      "token expired: log in again with a new token");
			s->state = S_ENDED;
			s->deadline_ms = now_ms + TG_AUTHN_ENDED_GRACE_MS;
			break;
		case S_ENDED:
			if (now_ms >= s->deadline_ms)
				drop(a, s);
			break;
		}
	}
}

void
tg_authn_session_end(struct tg_authn *a, uint16_t worker, uint64_t session)
{
	struct sess *s = find(a, worker, session);

	if (s != NULL)
		drop(a, s);
}

void
tg_authn_conn_gone(struct tg_authn *a)
{
	struct sess *s, *next;

	for (s = a->all; s != NULL; s = next) {
		next = s->next;
		if (!in_flight(s))
			continue;
		a->st.cnt[TG_AUTHN_CNT_DROPPED]++;
		a->st.refused_by[TG_AUTHN_R_CHANNEL]++;
		event(a, s, TG_AUTHN_EV_FAILURE, reason_names[TG_AUTHN_R_CHANNEL],
		      "the dataplane disconnected during the login", NULL, NULL, s->ua);
		drop(a, s);
	}
}

const struct tg_authn_who *
tg_authn_who(const struct tg_authn *a, uint16_t worker, uint64_t session)
{
	const struct sess *s = a != NULL ? find(a, worker, session) : NULL;

	return s != NULL && (s->state == S_RUNNING || s->state == S_ENDED) ? &s->who : NULL;
}

void
tg_authn_stats(const struct tg_authn *a, struct tg_authn_stats *st)
{
	*st = a->st;
	st->in_flight = a->in_flight;
	st->sessions = a->nsess;
}
