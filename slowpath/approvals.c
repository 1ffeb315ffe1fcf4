/* SPDX-License-Identifier: MIT */
/*
 * approvals.c — the table of approval requests of held statements. See
 * approvals.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "approvals.h"
#include "canon.h"

struct tg_approvals {
	struct tg_approval *v; /* [0, n): oldest first */
	size_t n;
	tg_approvals_random_fn rnd;
	void *rnd_arg;
	uint64_t cnt[TG_APPROVALS_CNT_MAX];
};

static const char *const counter_names[TG_APPROVALS_CNT_MAX] = {
#define TG_APPROVALS_X(e, n) [TG_APPROVALS_CNT_##e] = n,
	TG_APPROVALS_COUNTERS(TG_APPROVALS_X)
#undef TG_APPROVALS_X
};

static const char *const state_names[TG_APPROVAL_STATE_MAX] = {
	[TG_APPROVAL_PENDING] = "pending",     [TG_APPROVAL_APPROVED] = "approved",
	[TG_APPROVAL_DENIED] = "denied",       [TG_APPROVAL_EXPIRED] = "expired",
	[TG_APPROVAL_CANCELLED] = "cancelled",
};

const char *
tg_approvals_counter_name(enum tg_approvals_counter c)
{
	return (unsigned int)c < TG_APPROVALS_CNT_MAX ? counter_names[c] : "?";
}

const char *
tg_approval_state_name(enum tg_approval_state s)
{
	return (unsigned int)s < TG_APPROVAL_STATE_MAX ? state_names[s] : "?";
}

static int
sys_random(void *arg, void *buf, size_t len)
{
	(void)arg;
	return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -EIO;
}

struct tg_approvals *
tg_approvals_new(tg_approvals_random_fn rnd, void *rnd_arg)
{
	struct tg_approvals *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->v = calloc(TG_APPROVALS_MAX, sizeof(*a->v));
	if (a->v == NULL) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->rnd = rnd != NULL ? rnd : sys_random;
	a->rnd_arg = rnd_arg;
	return a;
}

void
tg_approvals_free(struct tg_approvals *a)
{
	if (a == NULL)
		return;
	free(a->v);
	free(a);
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */

/* UTF-8 of 0..cap-1 bytes (1.. when !empty_ok), no control character; NULL is "". */
static bool
text_ok(const char *s, size_t cap, bool empty_ok)
{
	size_t n;

	if (s == NULL)
		return empty_ok;
	n = strlen(s);
	if ((n == 0 && !empty_ok) || n >= cap || !tg_canon_utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/*
 * Copies src into dst[cap] as UTF-8: a byte that starts no valid
 * sequence becomes '?'. False when src does not fit.
 */
static bool
copy_utf8(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0, i = 0;

	if (n >= cap)
		return false;
	while (i < n) {
		unsigned char c = (unsigned char)src[i];
		size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		if (k <= n - i && tg_canon_utf8_valid(src + i, k)) {
			memcpy(dst + i, src + i, k);
			i += k;
		} else {
			dst[i++] = '?';
		}
	}
	dst[n] = '\0';
	return true;
}

static void msgf(char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
msgf(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msglen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
}

/* The first field of spec out of bounds, or NULL. */
static const char *
spec_bad(const struct tg_approval_spec *s)
{
	if (!text_ok(s->service, TG_APPROVAL_NAME_MAX, false))
		return "service: 1..63 bytes of UTF-8, no control characters";
	if (!text_ok(s->rule, TG_APPROVAL_NAME_MAX, false))
		return "rule: 1..63 bytes of UTF-8, no control characters";
	if (!text_ok(s->user, TG_APPROVAL_NAME_MAX, false))
		return "user: 1..63 bytes of UTF-8, no control characters";
	if (!text_ok(s->database, TG_APPROVAL_NAME_MAX, true))
		return "database: at most 63 bytes of UTF-8, no control characters";
	if (!text_ok(s->client, TG_APPROVAL_CLIENT_MAX, true))
		return "client: at most 63 bytes of UTF-8, no control characters";
	if (!text_ok(s->session_id, TG_APPROVAL_SID_MAX, true))
		return "session_id: at most 63 bytes of UTF-8, no control characters";
	if (!text_ok(s->approvers, TG_APPROVAL_NAME_MAX, true))
		return "approvers: a group name of at most 63 bytes";
	if (!text_ok(s->iss, TG_APPROVAL_IDENT_MAX, true) ||
	    !text_ok(s->sub, TG_APPROVAL_IDENT_MAX, true) ||
	    !text_ok(s->email, TG_APPROVAL_IDENT_MAX, true))
		return "iss, sub, email: at most 255 bytes of UTF-8, no control characters";
	if (s->text == NULL || s->text[0] == '\0' || strlen(s->text) >= TG_APPROVAL_TEXT_MAX)
		return "text: 1..1024 bytes";
	if (s->params != NULL && strlen(s->params) >= TG_APPROVAL_PARAMS_MAX)
		return "params: at most 512 bytes";
	if (s->quorum > TG_APPROVAL_QUORUM_MAX)
		return "quorum: 1..16 approvers";
	if (s->timeout_s > TG_APPROVAL_TIMEOUT_MAX)
		return "timeout_s: 1..86400 seconds";
	return NULL;
}

static int
new_id(struct tg_approvals *a, char out[TG_APPROVAL_ID_MAX])
{
	static const char d[] = "0123456789abcdef";
	uint8_t b[8];

	for (int tries = 0; tries < 8; tries++) {
		if (a->rnd(a->rnd_arg, b, sizeof(b)) < 0)
			return -EIO;
		memcpy(out, "ap-", 3);
		for (int i = 0; i < 8; i++) {
			out[3 + 2 * i] = d[b[i] >> 4];
			out[4 + 2 * i] = d[b[i] & 15];
		}
		out[19] = '\0';
		if (tg_approvals_get(a, out) == NULL)
			return 0;
	}
	return -EIO; /* 2^64 ids: eight collisions in a row is a broken generator */
}

/* ------------------------------------------------------------------ */
/* Changes                                                             */

static void
remove_at(struct tg_approvals *a, size_t i)
{
	memmove(&a->v[i], &a->v[i + 1], (a->n - i - 1) * sizeof(a->v[0]));
	a->n--;
}

static void
prune(struct tg_approvals *a, int64_t now)
{
	for (size_t i = 0; i < a->n;) {
		if (a->v[i].state != TG_APPROVAL_PENDING &&
		    now - a->v[i].ended >= TG_APPROVALS_KEEP_ENDED_S) {
			remove_at(a, i);
			a->cnt[TG_APPROVALS_CNT_PRUNED]++;
			continue;
		}
		i++;
	}
}

/* Drops the oldest ended request, to make room; false when all are pending. */
static bool
drop_oldest_ended(struct tg_approvals *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].state != TG_APPROVAL_PENDING) {
			remove_at(a, i);
			a->cnt[TG_APPROVALS_CNT_PRUNED]++;
			return true;
		}
	return false;
}

static struct tg_approval *
find_hold(struct tg_approvals *a, uint16_t worker, uint64_t session, uint32_t hold)
{
	for (size_t i = 0; i < a->n; i++) {
		struct tg_approval *r = &a->v[i];

		if (r->state == TG_APPROVAL_PENDING && r->worker == worker &&
		    r->session == session && r->hold == hold)
			return r;
	}
	return NULL;
}

#define SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src) != NULL ? (src) : "")

int
tg_approvals_add(struct tg_approvals *a, const struct tg_approval_spec *spec, int64_t now,
		 struct tg_approval *out, char *msg, size_t msglen)
{
	struct tg_approval *r;
	const char *bad = spec_bad(spec);
	int rc;

	if (bad != NULL) {
		msgf(msg, msglen, "%s", bad);
		a->cnt[TG_APPROVALS_CNT_REFUSED]++;
		return -EINVAL;
	}
	if (find_hold(a, spec->worker, spec->session, spec->hold) != NULL) {
		msgf(msg, msglen,
		     "hold %" PRIu32 " of session %" PRIu64 " on worker %u is pending "
		     "already",
		     spec->hold, spec->session, spec->worker);
		a->cnt[TG_APPROVALS_CNT_REFUSED]++;
		return -EEXIST;
	}
	if (a->n == TG_APPROVALS_MAX)
		prune(a, now);
	if (a->n == TG_APPROVALS_MAX && !drop_oldest_ended(a)) {
		msgf(msg, msglen, "too many pending requests (%d)", TG_APPROVALS_MAX);
		a->cnt[TG_APPROVALS_CNT_REFUSED]++;
		return -ENOSPC;
	}
	r = &a->v[a->n];
	memset(r, 0, sizeof(*r));
	if ((rc = new_id(a, r->id)) < 0) {
		msgf(msg, msglen, "no random id");
		a->cnt[TG_APPROVALS_CNT_REFUSED]++;
		return rc;
	}
	r->worker = spec->worker;
	r->session = spec->session;
	r->hold = spec->hold;
	SET(r->session_id, spec->session_id);
	SET(r->service, spec->service);
	SET(r->rule, spec->rule);
	copy_utf8(r->text, sizeof(r->text), spec->text);
	copy_utf8(r->params, sizeof(r->params), spec->params);
	SET(r->client, spec->client);
	SET(r->user, spec->user);
	SET(r->database, spec->database);
	SET(r->iss, spec->iss);
	SET(r->sub, spec->sub);
	SET(r->email, spec->email);
	SET(r->approvers, spec->approvers);
	r->quorum = spec->quorum != 0 ? spec->quorum : TG_APPROVAL_QUORUM_DEFAULT;
	r->timeout_s = spec->timeout_s != 0 ? spec->timeout_s : TG_APPROVAL_TIMEOUT_DEFAULT;
	r->self_approval = spec->self_approval;
	r->created = now;
	r->deadline = now + r->timeout_s;
	r->state = TG_APPROVAL_PENDING;
	a->n++;
	a->cnt[TG_APPROVALS_CNT_REQUESTED]++;
	if (out != NULL)
		*out = *r;
	return 0;
}

/* Ends r in state st at now. */
static void
end(struct tg_approval *r, enum tg_approval_state st, int64_t now, const char *by,
    const char *reason)
{
	r->state = st;
	r->ended = now > 0 ? now : 1; /* 0 is "pending" */
	SET(r->decided_by, by);
	SET(r->reason, reason);
}

/* "user (uid N)", as a grant's granted_by. */
static void
operator_text(char *out, size_t size, const struct tg_approval_operator *op)
{
	snprintf(out, size, "%s (uid %" PRIu32 ")",
		 op->user != NULL && op->user[0] != '\0' ? op->user : "?", op->uid);
}

/*
 * The checks a vote and a deny share: the request exists, is pending,
 * and the operator is in its group. NULL with the error in *rc.
 */
static struct tg_approval *
decidable(struct tg_approvals *a, const char *id, const struct tg_approval_operator *op,
	  struct tg_approval *out, int *rc, char *msg, size_t msglen)
{
	struct tg_approval *r = (struct tg_approval *)tg_approvals_get(a, id);

	if (r == NULL) {
		msgf(msg, msglen, "no approval request %.40s", id != NULL ? id : "");
		*rc = -ENOENT;
		return NULL;
	}
	if (r->state != TG_APPROVAL_PENDING) {
		if (out != NULL)
			*out = *r;
		msgf(msg, msglen, "approval request %s is %s already", r->id,
		     state_names[r->state]);
		*rc = -EALREADY;
		return NULL;
	}
	if (!op->member) {
		msgf(msg, msglen,
		     "%s (uid %" PRIu32 ") is not in the approvers group \"%s\" of rule %s",
		     op->user != NULL && op->user[0] != '\0' ? op->user : "?", op->uid,
		     r->approvers, r->rule);
		*rc = -EPERM;
		return NULL;
	}
	return r;
}

int
tg_approvals_approve(struct tg_approvals *a, const char *id, const struct tg_approval_operator *op,
		     const char *comment, int64_t now, struct tg_approval *out, char *msg,
		     size_t msglen)
{
	struct tg_approval *r;
	struct tg_approval_vote *v;
	char by[TG_APPROVAL_NOTE_MAX];
	int rc = 0;

	if (!text_ok(comment, TG_APPROVAL_NOTE_MAX, true)) {
		msgf(msg, msglen, "comment: at most 255 bytes of UTF-8 on one line");
		a->cnt[TG_APPROVALS_CNT_VOTES_REFUSED]++;
		return -EINVAL;
	}
	r = decidable(a, id, op, out, &rc, msg, msglen);
	if (r == NULL)
		goto refused;
	if (!r->self_approval && tg_approval_is_requester(r, op->user)) {
		msgf(msg, msglen,
		     "%s may not approve their own request: self-approval is not allowed by rule "
		     "%s",
		     op->user, r->rule);
		rc = -EACCES;
		goto refused;
	}
	for (unsigned int i = 0; i < r->nb_votes; i++)
		if (r->votes[i].uid == op->uid) {
			msgf(msg, msglen, "%s (uid %" PRIu32 ") voted on %s already",
			     r->votes[i].user[0] ? r->votes[i].user : "?", op->uid, r->id);
			rc = -EEXIST;
			goto refused;
		}
	/* pending means nb_votes < quorum <= TG_APPROVAL_QUORUM_MAX */
	v = &r->votes[r->nb_votes++];
	v->uid = op->uid;
	SET(v->user, op->user);
	v->at = now;
	SET(v->comment, comment);
	a->cnt[TG_APPROVALS_CNT_VOTES]++;
	if (r->nb_votes >= r->quorum) {
		operator_text(by, sizeof(by), op);
		end(r, TG_APPROVAL_APPROVED, now, by, NULL);
		a->cnt[TG_APPROVALS_CNT_APPROVED]++;
	}
	if (out != NULL)
		*out = *r;
	return 0;
refused:
	a->cnt[TG_APPROVALS_CNT_VOTES_REFUSED]++;
	return rc;
}

int
tg_approvals_deny(struct tg_approvals *a, const char *id, const struct tg_approval_operator *op,
		  const char *reason, int64_t now, struct tg_approval *out, char *msg,
		  size_t msglen)
{
	struct tg_approval *r;
	char by[TG_APPROVAL_NOTE_MAX];
	int rc = 0;

	if (!text_ok(reason, TG_APPROVAL_NOTE_MAX, false)) {
		msgf(msg, msglen,
		     "reason: 1..255 bytes of UTF-8 on one line (the client is told it)");
		a->cnt[TG_APPROVALS_CNT_VOTES_REFUSED]++;
		return -EINVAL;
	}
	r = decidable(a, id, op, out, &rc, msg, msglen);
	if (r == NULL) {
		a->cnt[TG_APPROVALS_CNT_VOTES_REFUSED]++;
		return rc;
	}
	operator_text(by, sizeof(by), op);
	end(r, TG_APPROVAL_DENIED, now, by, reason);
	a->cnt[TG_APPROVALS_CNT_DENIED]++;
	if (out != NULL)
		*out = *r;
	return 0;
}

unsigned int
tg_approvals_expire(struct tg_approvals *a, int64_t now,
		    void (*cb)(void *arg, const struct tg_approval *r), void *arg)
{
	unsigned int n = 0;

	for (size_t i = 0; i < a->n; i++) {
		struct tg_approval *r = &a->v[i];
		struct tg_approval copy;

		if (r->state != TG_APPROVAL_PENDING || now < r->deadline)
			continue;
		end(r, TG_APPROVAL_EXPIRED, r->deadline, "timeout", NULL);
		a->cnt[TG_APPROVALS_CNT_EXPIRED]++;
		n++;
		copy = *r;
		if (cb != NULL)
			cb(arg, &copy);
	}
	prune(a, now);
	return n;
}

unsigned int
tg_approvals_cancel_session(struct tg_approvals *a, uint16_t worker, uint64_t session,
			    bool all_sessions, const char *reason, int64_t now,
			    void (*cb)(void *arg, const struct tg_approval *r), void *arg)
{
	unsigned int n = 0;

	for (size_t i = 0; i < a->n; i++) {
		struct tg_approval *r = &a->v[i];
		struct tg_approval copy;

		if (r->state != TG_APPROVAL_PENDING ||
		    (!all_sessions && (r->worker != worker || r->session != session)))
			continue;
		end(r, TG_APPROVAL_CANCELLED, now, "cancel", reason);
		a->cnt[TG_APPROVALS_CNT_CANCELLED]++;
		n++;
		copy = *r;
		if (cb != NULL)
			cb(arg, &copy);
	}
	return n;
}

int
tg_approvals_cancel(struct tg_approvals *a, const char *id, const char *reason, int64_t now,
		    struct tg_approval *out)
{
	struct tg_approval *r = (struct tg_approval *)tg_approvals_get(a, id);

	if (r == NULL)
		return -ENOENT;
	if (r->state == TG_APPROVAL_PENDING) {
		end(r, TG_APPROVAL_CANCELLED, now, "cancel", reason);
		a->cnt[TG_APPROVALS_CNT_CANCELLED]++;
	} else {
		if (out != NULL)
			*out = *r;
		return -EALREADY;
	}
	if (out != NULL)
		*out = *r;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reads                                                               */

const struct tg_approval *
tg_approvals_get(const struct tg_approvals *a, const char *id)
{
	if (a == NULL || id == NULL)
		return NULL;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].id, id) == 0)
			return &a->v[i];
	return NULL;
}

bool
tg_approval_is_requester(const struct tg_approval *r, const char *user)
{
	const char *at;

	if (user == NULL || user[0] == '\0')
		return false;
	if (strcasecmp(user, r->user) == 0 || (r->sub[0] != '\0' && strcasecmp(user, r->sub) == 0))
		return true;
	if (r->email[0] == '\0')
		return false;
	if (strcasecmp(user, r->email) == 0)
		return true;
	at = strchr(r->email, '@');
	return at != NULL && (size_t)(at - r->email) == strlen(user) &&
	       strncasecmp(user, r->email, strlen(user)) == 0;
}

void
tg_approval_verdict(const struct tg_approval *r, struct tg_approval_verdict *v)
{
	memset(v, 0, sizeof(*v));
	switch (r->state) {
	case TG_APPROVAL_APPROVED:
		v->approve = true;
		break;
	case TG_APPROVAL_DENIED:
		/* 42501 insufficient_privilege: the statement was not allowed */
		snprintf(v->sqlstate, sizeof(v->sqlstate), "42501");
		snprintf(v->text, sizeof(v->text),
			 "statement held for approval %s (rule %s) was denied by %s: %s", r->id,
			 r->rule, r->decided_by, r->reason);
		break;
	case TG_APPROVAL_EXPIRED:
		/* 57014 query_canceled, as a statement_timeout is told */
		snprintf(v->sqlstate, sizeof(v->sqlstate), "57014");
		snprintf(v->text, sizeof(v->text),
			 "statement held for approval %s (rule %s) expired after %u s with %u of "
			 "%u approvals",
			 r->id, r->rule, r->timeout_s, r->nb_votes, r->quorum);
		break;
	default: /* pending or cancelled: nobody should be told; deny if asked */
		snprintf(v->sqlstate, sizeof(v->sqlstate), "57014");
		snprintf(v->text, sizeof(v->text),
			 "statement held for approval %s (rule %s) was %s", r->id, r->rule,
			 state_names[r->state]);
		break;
	}
}

json_t *
tg_approval_json(const struct tg_approval *r)
{
	json_t *o, *votes = json_array();

	if (votes == NULL)
		return NULL;
	for (unsigned int i = 0; i < r->nb_votes; i++) {
		const struct tg_approval_vote *v = &r->votes[i];

		if (json_array_append_new(votes, json_pack("{s:I, s:s, s:I, s:s}", "uid",
							   (json_int_t)v->uid, "user", v->user,
							   "at", (json_int_t)v->at, "comment",
							   v->comment)) < 0) {
			json_decref(votes);
			return NULL;
		}
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I}", "id",
		      r->id, "state", state_names[r->state], "service", r->service, "rule", r->rule,
		      "user", r->user, "database", r->database, "client", r->client, "statement",
		      r->text, "params", r->params, "session_id", r->session_id, "worker",
		      (int)r->worker, "session", (json_int_t)r->session, "hold",
		      (json_int_t)r->hold);
	if (o == NULL) {
		json_decref(votes);
		return NULL;
	}
	if (json_object_set_new(o, "requester",
				json_pack("{s:s, s:s, s:s}", "iss", r->iss, "sub", r->sub, "email",
					  r->email)) < 0 ||
	    json_object_set_new(o, "approvers", json_string(r->approvers)) < 0 ||
	    json_object_set_new(o, "quorum", json_integer(r->quorum)) < 0 ||
	    json_object_set_new(o, "timeout_s", json_integer(r->timeout_s)) < 0 ||
	    json_object_set_new(o, "self_approval", json_boolean(r->self_approval)) < 0 ||
	    json_object_set_new(o, "created", json_integer((json_int_t)r->created)) < 0 ||
	    json_object_set_new(o, "deadline", json_integer((json_int_t)r->deadline)) < 0 ||
	    json_object_set_new(o, "ended", json_integer((json_int_t)r->ended)) < 0 ||
	    json_object_set_new(o, "votes", votes) < 0 ||
	    json_object_set_new(o, "decided_by", json_string(r->decided_by)) < 0 ||
	    json_object_set_new(o, "reason", json_string(r->reason)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static bool
append_part(const struct tg_approvals *a, json_t *arr, bool pending)
{
	for (size_t i = a->n; i-- > 0;) {
		const struct tg_approval *r = &a->v[i];

		if ((r->state == TG_APPROVAL_PENDING) != pending)
			continue;
		if (json_array_append_new(arr, tg_approval_json(r)) < 0)
			return false;
	}
	return true;
}

json_t *
tg_approvals_json(const struct tg_approvals *a, bool all)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	if (!append_part(a, arr, true) || (all && !append_part(a, arr, false))) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

void
tg_approvals_stats(const struct tg_approvals *a, struct tg_approvals_stats *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->cnt, a->cnt, sizeof(st->cnt));
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].state == TG_APPROVAL_PENDING)
			st->pending++;
	st->total = (unsigned int)a->n;
}
