/* SPDX-License-Identifier: MIT */
/*
 * authn.h — the slowpath's side of the identity takeover (DESIGN.md
 * "Identity (auth takeover)", punt.h "AUTH"): one state machine per
 * login, keyed by the dataplane's (worker, session), that turns an
 * AUTH_REQUEST (the client's StartupMessage and its token) and the
 * server's AUTH_SERVER messages into AUTH_REPLY actions, and every
 * outcome into an audit event. Pure: no sockets, no clock, no store.
 * main.c does the I/O: it feeds requests and server messages in, sends
 * the replies this module hands to cfg->reply, and writes the records
 * of cfg->event and the attribution of tg_authn_who() into the log.
 *
 * A login, in order; the first step that fails refuses it:
 *   1. bounds: max_logins in flight, max_sessions kept (53300, as a
 *      server at max_connections answers);
 *   2. the token (jwt.h) against the key set of cfg->keys. A kid the set
 *      lacks (or no set yet) asks cfg->want_kid for a refetch
 *      (jwks_fetch.h): while it is in flight the login is held, with a
 *      copy of the token (tg_jwt_token_dup(), wiped when dropped), and
 *      verified once more from tg_authn_keys_updated(); a second unknown
 *      kid, the cooldown, or the deadline refuses it (28000);
 *   3. the identity map (idmap.h) for the requested service, over a
 *      claims object built from the verified identity (sub, email,
 *      email_verified, the groups at the map's claim path): the
 *      verified-token cache keeps identities, not payloads (28000);
 *   3b. for a service with "require_grant" (idmap.h), a live grant of
 *      the subject (sub, and iss when the grant names one) for the
 *      service (grants.h, borrowed through tg_authn_set_grants()): none
 *      refuses the login as no_grant (28000, "no access grant for this
 *      service: ..."); the grant's id joins the attribution;
 *   4. the credential of (service, role) (credstore.h) (28000);
 *   5. the upstream StartupMessage (tg_upauth_startup(): the client's
 *      parameters, user = the mapped role; a parameter that would act as
 *      another role is refused, 28000; a malformed one 08P01), sent as
 *      SEND; then each server message through tg_upauth_feed(), its
 *      answer sent as SEND (and wiped), until AuthenticationOk: DONE
 *      with the role; a server ErrorResponse or a failed exchange
 *      refuses the login (28P01, or the server's own SQLSTATE when it
 *      is not of class 28: "database does not exist" is the client's to
 *      see, as it would be without the gateway);
 *   6. running: the identity stays attached to the session (the
 *      attribution of its records) until SESSION_END; with the
 *      service's on_token_expiry "fatal", tg_authn_tick() at the token's
 *      exp sends END (28000) and an expired event. A session admitted
 *      on a grant is checked at each tick (and tg_authn_grants_changed())
 *      : when its grant is no longer live, another live grant of the
 *      same subject and service takes over (the attribution's grant id
 *      changes); without one, "on_grant_expiry" "end" sends END
 *      (28000, "access grant revoked"/"expired") and an expired event
 *      with reason grant_revoked or grant_expired, "continue" lets it
 *      run (counted once as grant_outlived).
 * A login not done by login_timeout_ms is refused by tg_authn_tick().
 *
 * What the client is told. Texts name the failed step the way a DBA or
 * user can act on it ("token expired", "identity not allowed on this
 * service", "no database credential for this identity"), never the
 * rule that denied, the role, the credential or a key: those go to the
 * audit event's detail, for whoever reads the log. The client asked for
 * the service, so naming it reveals nothing.
 *
 * Secrets. Tokens are hashed (token.sha256) and never kept but while
 * held for a refetch (then wiped); SEND bytes (SCRAM proofs, MD5
 * digests, cleartext passwords) are wiped once cfg->reply returns, so
 * the callback must copy what it keeps; upstream handles are freed with
 * tg_upauth_free(), which wipes. Nothing secret is in an event.
 *
 * Caveats:
 *   - Time comes in as arguments (ms monotonic for deadlines, s realtime
 *     for tokens), as tg_jwt_verify() takes it; expiry and timeouts are
 *     only as fine as the caller's tick (main.c: 1 s).
 *   - A session whose SESSION_END never arrives (events lost) keeps its
 *     entry: after END a grace of TG_AUTHN_ENDED_GRACE_MS drops it; a
 *     running session without on_token_expiry fatal stays until
 *     tg_authn_reset() (a new dataplane instance). max_sessions bounds
 *     the table either way.
 *   - Single-threaded.
 */
#ifndef TG_SP_AUTHN_H
#define TG_SP_AUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "credstore.h"
#include "grants.h"
#include "idmap.h"
#include "jwt.h"

#define TG_AUTHN_NAME_MAX 64	      /* service, client, server, role and NUL */
/* an ended session's entry waits this long for its SESSION_END */
#define TG_AUTHN_ENDED_GRACE_MS 60000

/* Why a login was refused (besides the token's own reasons, jwt.h). X(enum, name) */
/* clang-format off */
#define TG_AUTHN_REASONS(X) \
	X(TOKEN, "token")			/* tg_jwt_verify() refused: its reason names it */ \
	X(DENIED, "identity_denied")		/* the identity map refused */ \
	X(NO_CREDENTIAL, "no_credential")	/* no credential for (service, role) */ \
	X(NO_GRANT, "no_grant")			/* require_grant and no live grant */ \
	X(STARTUP, "startup_refused")		/* the client's StartupMessage */ \
	X(UPSTREAM, "upstream_failed")		/* the server refused, or the exchange failed */ \
	X(TIMEOUT, "timeout")			/* not done by the login deadline */ \
	X(CAPACITY, "capacity")			/* max_logins or max_sessions reached */ \
	X(NOT_CONFIGURED, "not_configured")	/* no identity map or credentials loaded */ \
	X(CHANNEL, "channel_lost")		/* the dataplane went away mid-login */ \
	X(INTERNAL, "internal")			/* out of memory */
/* clang-format on */

enum tg_authn_reason {
#define TG_AUTHN_X(e, n) TG_AUTHN_R_##e,
	TG_AUTHN_REASONS(TG_AUTHN_X)
#undef TG_AUTHN_X
		TG_AUTHN_R_MAX
};

/* clang-format off */
#define TG_AUTHN_COUNTERS(X) \
	X(REQUESTS, "requests")		/* AUTH_REQUESTs */ \
	X(VERIFIED, "verified")		/* tokens that passed */ \
	X(HELD, "held_for_keys")	/* logins held for a JWKS refetch */ \
	X(LOGINS, "logins")		/* DONE: logged in upstream */ \
	X(REFUSED, "refused")		/* REFUSE sent (by reason below) */ \
	X(UPSTREAM_FAILED, "upstream_failed") \
	X(EXPIRED, "expired")		/* END sent at the token's exp */ \
	X(GRANT_ENDED, "grant_ended")	/* END sent: the session's grant ended */ \
	X(GRANT_OUTLIVED, "grant_outlived") /* sessions left running past their grant ("continue") */ \
	X(LATE, "late_server_messages")	/* AUTH_SERVER for no login in progress: dropped */ \
	X(DROPPED, "dropped")		/* logins dropped without an answer (channel lost) */
/* clang-format on */

enum tg_authn_counter {
#define TG_AUTHN_X(e, n) TG_AUTHN_CNT_##e,
	TG_AUTHN_COUNTERS(TG_AUTHN_X)
#undef TG_AUTHN_X
		TG_AUTHN_CNT_MAX
};

struct tg_authn_stats {
	uint64_t cnt[TG_AUTHN_CNT_MAX];
	uint64_t refused_by[TG_AUTHN_R_MAX];	      /* REFUSE by step */
	uint64_t token_refused_by[TG_JWT_REASON_MAX]; /* TOKEN refusals by the token's reason */
	unsigned int in_flight;			      /* logins not done */
	unsigned int sessions;			      /* entries kept (logins and running) */
};

/*
 * Who a session is (the attribution of its records, evidence.md §3):
 * never the token, never a credential.
 */
struct tg_authn_who {
	bool verified; /* the token passed: the user and token fields are set */
	char iss[TG_JWT_STR_MAX];
	char sub[TG_JWT_STR_MAX];
	char email[TG_JWT_STR_MAX]; /* "" when absent */
	bool email_verified;
	json_t *groups;		   /* array of the groups (snapshot); NULL until verified */
	char kid[TG_JWKS_KID_MAX]; /* "" when the header had none */
	char jti[TG_JWT_JTI_MAX];
	const char *alg; /* "RS256", ...; NULL when unknown */
	int64_t exp, iat;
	char token_sha256[2 * TG_JWT_SHA256_LEN + 1]; /* "" for a token too malformed to hash */
	char service[TG_AUTHN_NAME_MAX];
	char client[TG_AUTHN_NAME_MAX];
	char server[TG_AUTHN_NAME_MAX];
	char role[TG_AUTHN_NAME_MAX];	 /* the upstream role, once mapped */
	int rule;			 /* the identity rule that mapped it; -1 none */
	char rule_id[TG_AUTHN_NAME_MAX]; /* its "id", or "" */
	const char *method;		 /* the upstream method used, once DONE */
	char grant_id[TG_GRANT_ID_MAX];	 /* the grant that admitted it; "" none */
};

enum tg_authn_event_kind {
	TG_AUTHN_EV_SUCCESS, /* DONE: authn.success */
	TG_AUTHN_EV_FAILURE, /* REFUSE, or dropped: authn.failure */
	TG_AUTHN_EV_EXPIRED, /* END at the token's exp, or its grant's end: authn.expired */
};

/* An outcome, for the audit record. Valid during the callback only. */
struct tg_authn_event {
	enum tg_authn_event_kind kind;
	uint16_t worker;
	uint64_t session;
	const struct tg_authn_who *who;
	const char *reason;	     /* reason_code: a token reason ("expired") or authn's */
	const char *detail;	     /* one line for the record: may name rule, role, service */
	const char *sqlstate;	     /* told to the client; NULL on success */
	const char *text;	     /* told to the client; NULL on success */
	const char *server_sqlstate; /* the server's, for an upstream refusal; else NULL */
	const char *server_message;  /* same */
};

/* An AUTH_REPLY to send. Valid during the callback only; data is wiped after it. */
struct tg_authn_reply {
	uint16_t worker;
	uint64_t session;
	uint8_t action;	     /* enum tg_punt_auth_action */
	const uint8_t *data; /* SEND */
	size_t len;
	const char *sqlstate; /* REFUSE, END */
	const char *text;     /* REFUSE, END */
	const char *role;     /* DONE */
};

struct tg_authn_cfg {
	uint32_t login_timeout_ms; /* > 0 */
	uint32_t max_logins;	   /* > 0 */
	uint32_t max_sessions;	   /* > 0 */
	/* the key set now (NULL: none yet) */
	const struct tg_jwks *(*keys)(void *arg);
	/* jwks_fetch.h tg_jwks_fetch_want_kid(): 0, -EINPROGRESS or -EAGAIN; NULL: never refetch */
	int (*want_kid)(void *arg, const char *kid);
	void (*reply)(void *arg, const struct tg_authn_reply *r);
	void (*event)(void *arg, const struct tg_authn_event *e);
	void *arg;
};

/* What an AUTH_REQUEST carries (punt.h); strings need not be NUL-terminated. */
struct tg_authn_request {
	uint16_t worker;
	uint64_t session;
	const char *service, *client, *server;
	size_t service_len, client_len, server_len;
	const uint8_t *startup;
	size_t startup_len;
	const char *token;
	size_t token_len;
};

struct tg_authn;

/* NULL with errno EINVAL (a zero bound, no reply or event callback) or ENOMEM. */
struct tg_authn *tg_authn_new(const struct tg_authn_cfg *cfg);

/* Wipes and frees every login; no callback is called. NULL is a no-op. */
void tg_authn_free(struct tg_authn *a);

/*
 * The verifier, the identity map and the credential store in force,
 * taken over (the old ones freed; NULL: none, and logins are refused as
 * not_configured). Logins in flight keep what they already resolved.
 */
void tg_authn_set_verifier(struct tg_authn *a, struct tg_jwt *v);
void tg_authn_set_idmap(struct tg_authn *a, struct tg_idmap *m);
void tg_authn_set_credstore(struct tg_authn *a, struct tg_credstore *cs);

/* The identity map in force (NULL: none); borrowed until the next set. */
const struct tg_idmap *tg_authn_idmap(const struct tg_authn *a);
struct tg_jwt *tg_authn_verifier(const struct tg_authn *a);

/*
 * The grant store consulted for services with require_grant (borrowed:
 * the caller keeps it alive while set; NULL: none, and such logins are
 * refused as no_grant).
 */
void tg_authn_set_grants(struct tg_authn *a, const struct tg_grants *g);

/*
 * A grant was revoked or expired: running sessions admitted on a grant
 * are checked now rather than at the next tick (authn.h step 6).
 */
void tg_authn_grants_changed(struct tg_authn *a, uint64_t now_ms, int64_t now_s);

/*
 * An AUTH_REQUEST at now_ms (monotonic) and now_s (realtime). Answers
 * through the callbacks. Returns 0, or -EEXIST when (worker, session) is
 * already known (the peer broke the protocol: nothing was answered).
 */
int tg_authn_request(struct tg_authn *a, const struct tg_authn_request *req, uint64_t now_ms,
		     int64_t now_s);

/*
 * An AUTH_SERVER: one whole backend message. Returns 0, or -ENOENT when
 * no login of (worker, session) waits for the server (a message that
 * crossed a refusal: counted as late, to be dropped).
 */
int tg_authn_server(struct tg_authn *a, uint16_t worker, uint64_t session, const uint8_t *msg,
		    size_t len, uint64_t now_ms, int64_t now_s);

/* The key set changed, or a refetch failed (rc < 0): held logins are verified once more. */
void tg_authn_keys_updated(struct tg_authn *a, int rc, uint64_t now_ms, int64_t now_s);

/* Deadlines and token expiry; call about once a second. */
void tg_authn_tick(struct tg_authn *a, uint64_t now_ms, int64_t now_s);

/* The session ended (SESSION_END): its entry goes, whatever its state. */
void tg_authn_session_end(struct tg_authn *a, uint16_t worker, uint64_t session);

/*
 * The dataplane went away: logins in flight are dropped (a failure event
 * each, no reply); running sessions stay (the same instance may come
 * back). tg_authn_reset() drops everything (a new instance).
 */
void tg_authn_conn_gone(struct tg_authn *a);
void tg_authn_reset(struct tg_authn *a);

/* The attribution of a logged-in session, NULL when it has none. Borrowed. */
const struct tg_authn_who *tg_authn_who(const struct tg_authn *a, uint16_t worker,
					uint64_t session);

void tg_authn_stats(const struct tg_authn *a, struct tg_authn_stats *st);
const char *tg_authn_reason_name(enum tg_authn_reason r);
const char *tg_authn_counter_name(enum tg_authn_counter c);

#endif /* TG_SP_AUTHN_H */
