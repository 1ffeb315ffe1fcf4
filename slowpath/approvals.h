/* SPDX-License-Identifier: MIT */
/*
 * approvals.h — the approval requests of held statements (issue 9 part
 * 2; NIST AC-3(2) dual authorization, AC-5 separation of duties). A
 * policy rule with action "hold" parks a statement in the dataplane and
 * asks the slowpath for a decision (HOLD_REQUEST); operators with the
 * approver role approve or deny it (mapprovals.h); the answer goes back
 * (HOLD_REPLY): the statement is injected towards the server, or the
 * client gets an ErrorResponse naming the request and the reason.
 *
 * This module is the table: a bounded set of requests in memory, with
 * their votes and their end. No clock (time is passed in), no log, no
 * records, no I/O but the random id (a source the caller gives, else
 * getrandom(2)), so it is tested and fuzzed alone; mapprovals.h writes the
 * records and answers the dataplane.
 *
 * A request is pending until one of:
 *   approved   quorum distinct operators voted approve
 *   denied     one operator denied it (one deny decides, whatever the votes)
 *   expired    its deadline (created + timeout_s) passed while pending
 *   cancelled  its session went (the client disconnected, the dataplane
 *              went away): nobody waits for the answer any more
 * Ended requests stay listed for TG_APPROVALS_KEEP_ENDED_S, then are
 * pruned (at expiry ticks, and at an add that finds the table full).
 *
 * Who may decide. The methods (mapprovals.h) take admin or approver. On
 * top of the role, a rule that names an "approvers" Unix group admits
 * only operators in it (the caller checks membership, uid's primary
 * group and supplementary groups, and passes the answer in
 * tg_approval_operator.member: this module stays free of NSS). The
 * check holds for admin too, uid 0 included: the rule's group is the
 * separation of duties, the role only opens the door. A vote of an
 * operator who voted already is refused, so quorum counts people (uids),
 * not calls. A deny needs the group too; it needs no quorum.
 *
 * Self-approval. Unless the rule says "self_approval": true, an operator
 * may not approve a request they made. The requester is a database login
 * (db user, and the OIDC identity when the session logged in with a
 * token) and the operator is a Unix user: they are different namespaces,
 * so "the same person" is a name comparison. The operator is the
 * requester when the operator's Unix user name equals, ignoring case:
 *   - the request's db user, or
 *   - the requester's OIDC sub, or
 *   - the requester's email, or the email's local part (before the '@').
 * Ignoring case errs towards refusing. An operator without a user name
 * (a uid with no passwd entry) is compared by nothing and so never
 * counts as the requester: the record names the uid. Denying one's own
 * request is allowed (withdrawing a statement is no privilege).
 *
 * Caveats:
 *   - Memory: TG_APPROVALS_MAX entries of sizeof(struct tg_approval)
 *     (about 8 KiB) are allocated at tg_approvals_new(), ~2 MiB.
 *   - Not durable: a restart of the slowpath ends every pending request
 *     (the dataplane's held statements are answered by its own timeout).
 *   - The name comparison above is only as good as the naming
 *     convention: an operator "ops7" who logs in to the database as
 *     "alice" is not caught. The records name both, for review.
 *   - Cost: every call is a linear walk of at most TG_APPROVALS_MAX.
 *   - Single-threaded.
 */
#ifndef TG_SP_APPROVALS_H
#define TG_SP_APPROVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TG_APPROVALS_MAX 256	       /* requests kept, pending and ended */
#define TG_APPROVALS_KEEP_ENDED_S 3600 /* ended requests stay listed this long */
#define TG_APPROVAL_ID_MAX 20	       /* "ap-" 16 hex digits, NUL */
#define TG_APPROVAL_QUORUM_MAX 16      /* distinct approvers a rule may ask for */
#define TG_APPROVAL_TIMEOUT_MAX 86400  /* the longest a statement may wait: a day */
#define TG_APPROVAL_NAME_MAX 64	       /* service, rule, db user, database, group: 63 and NUL */
#define TG_APPROVAL_CLIENT_MAX 64      /* "address:port" */
#define TG_APPROVAL_SID_MAX 64	       /* the records' session.id */
#define TG_APPROVAL_TEXT_MAX 1025      /* the masked statement: TG_PUNT_TEXT_MAX and NUL */
#define TG_APPROVAL_PARAMS_MAX 513     /* its parameters: TG_PUNT_PARAMS_MAX and NUL */
#define TG_APPROVAL_IDENT_MAX 256      /* iss, sub, email: as jwt.h TG_JWT_STR_MAX */
#define TG_APPROVAL_NOTE_MAX 256       /* comment, reason, decided_by */
#define TG_APPROVAL_USER_MAX 33	       /* a Unix user name and NUL (TG_MGMT_NAME_MAX) */
#define TG_APPROVAL_REPLY_MAX 1024     /* the client's error text: TG_PUNT_REASON_MAX */

enum tg_approval_state {
	TG_APPROVAL_PENDING,
	TG_APPROVAL_APPROVED,
	TG_APPROVAL_DENIED,
	TG_APPROVAL_EXPIRED,
	TG_APPROVAL_CANCELLED,
	TG_APPROVAL_STATE_MAX
};

struct tg_approval_vote {
	uint32_t uid;
	char user[TG_APPROVAL_USER_MAX]; /* "" when the uid has no name */
	int64_t at;
	char comment[TG_APPROVAL_NOTE_MAX];
};

struct tg_approval {
	char id[TG_APPROVAL_ID_MAX];
	/* where the statement waits: the dataplane's names for it */
	uint16_t worker;
	uint64_t session;
	uint32_t hold;
	char session_id[TG_APPROVAL_SID_MAX]; /* as the records name the session; may be "" */
	/* what waits */
	char service[TG_APPROVAL_NAME_MAX];
	char rule[TG_APPROVAL_NAME_MAX];
	char text[TG_APPROVAL_TEXT_MAX];
	char params[TG_APPROVAL_PARAMS_MAX];
	char client[TG_APPROVAL_CLIENT_MAX];
	char user[TG_APPROVAL_NAME_MAX]; /* the db role */
	char database[TG_APPROVAL_NAME_MAX];
	/* the requester's identity after an OIDC login; "" otherwise */
	char iss[TG_APPROVAL_IDENT_MAX];
	char sub[TG_APPROVAL_IDENT_MAX];
	char email[TG_APPROVAL_IDENT_MAX];
	/* the rule's terms */
	char approvers[TG_APPROVAL_NAME_MAX]; /* a Unix group; "": any approver */
	unsigned int quorum;		      /* 1..TG_APPROVAL_QUORUM_MAX */
	unsigned int timeout_s;		      /* 1..TG_APPROVAL_TIMEOUT_MAX */
	bool self_approval;
	int64_t created, deadline; /* realtime seconds */
	/* where it is */
	enum tg_approval_state state;
	int64_t ended; /* 0 while pending */
	unsigned int nb_votes;
	struct tg_approval_vote votes[TG_APPROVAL_QUORUM_MAX];
	char decided_by[TG_APPROVAL_NOTE_MAX]; /* "user (uid N)", "timeout", "cancel" */
	char reason[TG_APPROVAL_NOTE_MAX];     /* a deny's or a cancel's */
};

/*
 * What a HOLD_REQUEST asks for; strings NUL-terminated (NULL: ""). The
 * text and params are stored as UTF-8: a byte that starts no valid
 * sequence is stored as '?' (the records are JSON). Other strings must
 * be UTF-8 without control characters.
 */
struct tg_approval_spec {
	uint16_t worker;
	uint64_t session;
	uint32_t hold;
	const char *session_id;
	const char *service; /* required */
	const char *rule;    /* required: the rule's id */
	const char *text;    /* required */
	const char *params;
	const char *client;
	const char *user; /* required: the db role */
	const char *database;
	const char *iss, *sub, *email;
	const char *approvers;
	unsigned int quorum;	/* 0: 1 */
	unsigned int timeout_s; /* 0: 600 */
	bool self_approval;
};

#define TG_APPROVAL_QUORUM_DEFAULT 1
#define TG_APPROVAL_TIMEOUT_DEFAULT 600

/* Who votes or denies, as the management socket's peer credentials say. */
struct tg_approval_operator {
	uint32_t uid;
	const char *user; /* the uid's user name; NULL or "": none */
	bool member;	  /* in the request's approvers group (true when it names none) */
};

/* What the dataplane is told (HOLD_REPLY) once a request is decided. */
struct tg_approval_verdict {
	bool approve;
	char sqlstate[6];		  /* deny: "42501" (denied), "57014" (expired) */
	char text[TG_APPROVAL_REPLY_MAX]; /* deny: names the request and the reason */
};

/* clang-format off */
#define TG_APPROVALS_COUNTERS(X) \
	X(REQUESTED, "requested")	/* requests added */ \
	X(REFUSED, "refused")		/* adds refused: a bad field, full, a duplicate hold */ \
	X(VOTES, "votes")		/* approve votes counted */ \
	X(VOTES_REFUSED, "votes_refused") /* votes and denies refused (group, self, twice, ended) */ \
	X(APPROVED, "approved")		/* requests that reached quorum */ \
	X(DENIED, "denied")		/* requests denied */ \
	X(EXPIRED, "expired")		/* requests that reached their deadline */ \
	X(CANCELLED, "cancelled")	/* requests whose session went */ \
	X(PRUNED, "pruned")		/* ended requests dropped after TG_APPROVALS_KEEP_ENDED_S */
/* clang-format on */

enum tg_approvals_counter {
#define TG_APPROVALS_X(e, n) TG_APPROVALS_CNT_##e,
	TG_APPROVALS_COUNTERS(TG_APPROVALS_X)
#undef TG_APPROVALS_X
		TG_APPROVALS_CNT_MAX
};

struct tg_approvals_stats {
	uint64_t cnt[TG_APPROVALS_CNT_MAX];
	unsigned int pending;
	unsigned int total; /* entries kept */
};

struct tg_approvals;

/*
 * Fills buf[0..len) with random bytes: 0, or -errno. The ids are
 * "ap-" and 16 hex digits of it.
 */
typedef int (*tg_approvals_random_fn)(void *arg, void *buf, size_t len);

/* An empty table; rnd NULL: getrandom(2). NULL with errno ENOMEM. */
struct tg_approvals *tg_approvals_new(tg_approvals_random_fn rnd, void *rnd_arg);
void tg_approvals_free(struct tg_approvals *a);

/*
 * Adds a pending request at now. Returns 0 with *out a copy, -EINVAL (a
 * field out of bounds: msg says which), -EEXIST (a pending request for
 * the same worker, session and hold), -ENOSPC (TG_APPROVALS_MAX pending)
 * or -EIO (no random id).
 */
int tg_approvals_add(struct tg_approvals *a, const struct tg_approval_spec *spec, int64_t now,
		     struct tg_approval *out, char *msg, size_t msglen);

/*
 * An approve vote on request id at now. Returns 0 with *out a copy
 * (state approved when this vote made the quorum), or, with the reason in
 * msg and nothing changed:
 *   -ENOENT   no request id
 *   -EALREADY it ended already (*out says how)
 *   -EPERM    the operator is not in the rule's approvers group
 *   -EACCES   the operator is the requester and the rule does not allow
 *             self-approval
 *   -EEXIST   the operator (uid) voted on it already
 *   -EINVAL   the comment is too long or holds control characters
 */
int tg_approvals_approve(struct tg_approvals *a, const char *id,
			 const struct tg_approval_operator *op, const char *comment, int64_t now,
			 struct tg_approval *out, char *msg, size_t msglen);

/*
 * Denies request id at now with reason (required). Returns 0 with *out a
 * copy (state denied), or -ENOENT, -EALREADY, -EPERM, -EINVAL as above.
 */
int tg_approvals_deny(struct tg_approvals *a, const char *id, const struct tg_approval_operator *op,
		      const char *reason, int64_t now, struct tg_approval *out, char *msg,
		      size_t msglen);

/*
 * Ends as expired every pending request whose deadline is reached,
 * calling cb for each (a copy, valid during the call), and prunes ended
 * requests older than TG_APPROVALS_KEEP_ENDED_S. Returns the number expired.
 */
unsigned int tg_approvals_expire(struct tg_approvals *a, int64_t now,
				 void (*cb)(void *arg, const struct tg_approval *r), void *arg);

/*
 * Cancels the pending requests of (worker, session) (all_sessions: of
 * every session: the dataplane went), with reason, calling cb for each.
 * Returns the number cancelled.
 */
unsigned int tg_approvals_cancel_session(struct tg_approvals *a, uint16_t worker, uint64_t session,
					 bool all_sessions, const char *reason, int64_t now,
					 void (*cb)(void *arg, const struct tg_approval *r),
					 void *arg);

/* Cancels pending request id: 0 with *out a copy, -ENOENT or -EALREADY. */
int tg_approvals_cancel(struct tg_approvals *a, const char *id, const char *reason, int64_t now,
			struct tg_approval *out);

/* Request id, NULL when unknown. Borrowed until the next change. */
const struct tg_approval *tg_approvals_get(const struct tg_approvals *a, const char *id);

/*
 * True when the operator's user name is the requester's (see
 * "Self-approval" above).
 */
bool tg_approval_is_requester(const struct tg_approval *r, const char *user);

/* What to tell the dataplane of a decided request (approved, denied, expired, cancelled). */
void tg_approval_verdict(const struct tg_approval *r, struct tg_approval_verdict *v);

/*
 * The requests as a new JSON array of objects: pending ones first, then
 * the ended ones (all), each part newest first.
 */
json_t *tg_approvals_json(const struct tg_approvals *a, bool all);
json_t *tg_approval_json(const struct tg_approval *r);

void tg_approvals_stats(const struct tg_approvals *a, struct tg_approvals_stats *st);
const char *tg_approvals_counter_name(enum tg_approvals_counter c);
const char *tg_approval_state_name(enum tg_approval_state s);

#endif /* TG_SP_APPROVALS_H */
