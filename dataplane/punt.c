/* SPDX-License-Identifier: MIT */
/*
 * punt.c — the control channel codec (punt.h): DPDK-free, no allocation,
 * no state between calls.
 *
 * Reading goes through a cursor whose first failure sticks: every read
 * checks the bytes left before touching them, a failed read yields 0 and
 * records the reason, and later reads do nothing. A decoder reads its
 * fields in wire order, checking each value as soon as it is read, and
 * looks at the cursor once at the end. Writing mirrors it: the first
 * failure (-ENOSPC, -EINVAL) sticks, and the caller sees it at the end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "punt.h"
#include "wire.h"

const char *const tg_punt_err_names[TG_PUNT_ERR_MAX] = {
	[TG_PUNT_OK] = "ok",
#define NAME(e, n, d) [TG_PUNT_ERR_##e] = n,
	TG_PUNT_ERRORS(NAME)
#undef NAME
};

const char *const tg_punt_err_descs[TG_PUNT_ERR_MAX] = {
	[TG_PUNT_OK] = "decoded",
#define DESC(e, n, d) [TG_PUNT_ERR_##e] = d,
	TG_PUNT_ERRORS(DESC)
#undef DESC
};

const char *const tg_punt_detect_names[TG_PUNT_DETECT_MAX] = {
	[TG_PUNT_DETECT_NONE] = "none",
#define NAME(e, c, n) [TG_PUNT_DETECT_##e] = n,
	TG_PUNT_DETECT_KINDS(NAME)
#undef NAME
};

const char *const tg_punt_tcp_state_names[TG_PUNT_TCP_MAX] = {
#define NAME(e, c, n) [TG_PUNT_TCP_##e] = n,
	TG_PUNT_TCP_STATES(NAME)
#undef NAME
};

/* Body bytes before the entries */
#define BATCH_FIXED 10	/* first_seq u64, count u16 */
#define STATS_FIXED 11	/* in_reply_to u64, count u16, last u8 */
#define SESS_FIXED 12	/* in_reply_to u64, status u8, count u16, last u8 */
#define SESS_PER_MSG 1024	/* entries in one SESSIONS_RESPONSE: a datagram holds fewer */
#define EV_COMMON 16	/* type, flags, len, worker, service, session */
#define TLV_HDR 6	/* type u16, len u32 */

_Static_assert(TG_PUNT_HDR_LEN + BATCH_FIXED + TG_PUNT_EVENT_MAX <= TG_PUNT_MSG_MAX,
	       "a datagram must hold the largest event");
_Static_assert(TG_PUNT_EVENT_MAX <= UINT16_MAX, "event length is a u16");
_Static_assert(TG_PUNT_NAME_MAX <= UINT8_MAX && TG_PUNT_SQLSTATE_MAX <= UINT8_MAX,
	       "short strings have a u8 length");
_Static_assert(TG_PUNT_TEXT_MAX <= UINT16_MAX && TG_PUNT_PARAMS_MAX <= UINT16_MAX &&
		       TG_PUNT_REASON_MAX <= UINT16_MAX,
	       "long strings have a u16 length");
_Static_assert(TG_PUNT_DETECT_MAX - 1 <= UINT8_MAX, "nmasked is a u8");

enum tg_punt_role
tg_punt_type_sender(uint16_t t)
{
	switch (t) {
#define SENDER(e, c, n, r) \
	case c: \
		return r;
		TG_PUNT_TYPES(SENDER)
#undef SENDER
	default:
		return TG_PUNT_ROLE_NONE;
	}
}

const char *
tg_punt_type_name(uint16_t t)
{
	switch (t) {
#define TNAME(e, c, n, r) \
	case c: \
		return n;
		TG_PUNT_TYPES(TNAME)
#undef TNAME
	default:
		return "unknown";
	}
}

static inline uint64_t
rd64(const uint8_t *b)
{
	return (uint64_t)tg_rd32(b) << 32 | tg_rd32(b + 4);
}

static inline void
wr64(uint8_t *b, uint64_t v)
{
	tg_wr32(b, (uint32_t)(v >> 32));
	tg_wr32(b + 4, (uint32_t)v);
}

/* ---------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t left;
	enum tg_punt_err err;
};

static void
rd_fail(struct rd *r, enum tg_punt_err e)
{
	if (r->err == TG_PUNT_OK)
		r->err = e;
}

/* Are n more bytes there? Records TRUNC if not. */
static bool
rd_need(struct rd *r, size_t n)
{
	if (r->err != TG_PUNT_OK)
		return false;
	if (r->left < n) {
		r->err = TG_PUNT_ERR_TRUNC;
		return false;
	}
	return true;
}

static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (!rd_need(r, n))
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static uint8_t
rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);

	return p != NULL ? p[0] : 0;
}

static uint16_t
rd_u16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);

	return p != NULL ? tg_rd16(p) : 0;
}

static uint32_t
rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p != NULL ? tg_rd32(p) : 0;
}

static uint64_t
rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);

	return p != NULL ? rd64(p) : 0;
}

/* A string with a u8 (wide false) or u16 length, of at most cap bytes. */
static void
rd_str(struct rd *r, bool wide, uint32_t cap, struct tg_punt_str *s)
{
	uint32_t len = wide ? rd_u16(r) : rd_u8(r);
	const uint8_t *p;

	s->p = "";
	s->len = 0;
	if (r->err != TG_PUNT_OK)
		return;
	if (len > cap) {
		rd_fail(r, TG_PUNT_ERR_STR_LEN);
		return;
	}
	p = rd_take(r, len);
	if (p == NULL)
		return;
	if (memchr(p, 0, len) != NULL) {
		rd_fail(r, TG_PUNT_ERR_STR_NUL);
		return;
	}
	if (len > 0)
		s->p = (const char *)p;
	s->len = len;
}

static bool
rd_check(struct rd *r, bool ok, enum tg_punt_err e)
{
	if (!ok && r->err == TG_PUNT_OK)
		r->err = e;
	return ok && r->err == TG_PUNT_OK;
}

/* A byte string with a u16 length, of min..cap bytes (any values). */
static void
rd_bytes(struct rd *r, uint32_t min, uint32_t cap, struct tg_punt_bytes *b)
{
	uint32_t len = rd_u16(r);

	b->p = NULL;
	b->len = 0;
	if (r->err != TG_PUNT_OK)
		return;
	if (len > cap || len < min) {
		rd_fail(r, len > cap ? TG_PUNT_ERR_STR_LEN : TG_PUNT_ERR_VALUE);
		return;
	}
	b->p = len != 0 ? rd_take(r, len) : NULL;
	if (r->err == TG_PUNT_OK)
		b->len = len;
}

/* Everything read, and nothing left? */
static enum tg_punt_err
rd_end(struct rd *r)
{
	if (r->err == TG_PUNT_OK && r->left != 0)
		r->err = TG_PUNT_ERR_TRAILING;
	return r->err;
}

/* Printable ASCII without space: counter names. */
static bool
is_name(const struct tg_punt_str *s)
{
	uint32_t i;

	if (s->len == 0)
		return false;
	for (i = 0; i < s->len; i++)
		if ((uint8_t)s->p[i] <= 0x20 || (uint8_t)s->p[i] >= 0x7f)
			return false;
	return true;
}

/* Printable ASCII, spaces allowed: AUDIT_STATE reasons (logs, error replies). */
static bool
is_text(const struct tg_punt_str *s)
{
	uint32_t i;

	for (i = 0; i < s->len; i++)
		if ((uint8_t)s->p[i] < 0x20 || (uint8_t)s->p[i] >= 0x7f)
			return false;
	return true;
}

/* ---------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------- */

struct wr {
	uint8_t *p;
	size_t size;
	size_t len;
	int err;
};

static void
wr_init(struct wr *w, uint8_t *buf, size_t size, size_t at)
{
	w->p = buf;
	w->size = size < TG_PUNT_MSG_MAX ? size : TG_PUNT_MSG_MAX;
	w->len = at;
	w->err = 0;
	if (buf == NULL || at > w->size)
		w->err = -EINVAL;
}

static void
wr_fail(struct wr *w, int err)
{
	if (w->err == 0)
		w->err = err;
}

static uint8_t *
wr_room(struct wr *w, size_t n)
{
	uint8_t *p;

	if (w->err != 0)
		return NULL;
	if (w->size - w->len < n) {
		w->err = -ENOSPC;
		return NULL;
	}
	p = w->p + w->len;
	w->len += n;
	return p;
}

static void
wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *p = wr_room(w, 1);

	if (p != NULL)
		p[0] = v;
}

static void
wr_u16(struct wr *w, uint16_t v)
{
	uint8_t *p = wr_room(w, 2);

	if (p != NULL)
		tg_wr16(p, v);
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	uint8_t *p = wr_room(w, 4);

	if (p != NULL)
		tg_wr32(p, v);
}

static void
wr_u64(struct wr *w, uint64_t v)
{
	uint8_t *p = wr_room(w, 8);

	if (p != NULL)
		wr64(p, v);
}

static void
wr_check(struct wr *w, bool ok)
{
	if (!ok)
		wr_fail(w, -EINVAL);
}

/*
 * A string with a u8 or u16 length. A NUL byte is refused, or written as
 * '?' with sanitize (event strings: values from the network).
 */
static void
wr_str(struct wr *w, bool wide, uint32_t cap, const struct tg_punt_str *s, bool sanitize)
{
	uint32_t len = s->len;
	uint8_t *p;
	uint32_t i;

	if (len > cap || (s->p == NULL && len != 0)) {
		wr_fail(w, -EINVAL);
		return;
	}
	if (!sanitize && len != 0 && memchr(s->p, 0, len) != NULL) {
		wr_fail(w, -EINVAL);
		return;
	}
	if (wide)
		wr_u16(w, (uint16_t)len);
	else
		wr_u8(w, (uint8_t)len);
	p = wr_room(w, len);
	if (p == NULL || len == 0)
		return;
	memcpy(p, s->p, len);
	if (sanitize)
		for (i = 0; i < len; i++)
			if (p[i] == 0)
				p[i] = '?';
}

static void
wr_hdr(struct wr *w, uint16_t version, uint16_t type, uint64_t seq)
{
	wr_check(w, seq != 0);
	wr_u32(w, TG_PUNT_MAGIC);
	wr_u16(w, version);
	wr_u16(w, type);
	wr_u32(w, 0);	/* flags */
	wr_u32(w, 0);	/* length, set by wr_finish() */
	wr_u64(w, seq);
}

/* A byte string with a u16 length, of min..cap bytes. */
static void
wr_bytes(struct wr *w, uint32_t min, uint32_t cap, const struct tg_punt_bytes *b)
{
	uint8_t *p;

	if (b->len > cap || b->len < min || (b->p == NULL && b->len != 0)) {
		wr_fail(w, -EINVAL);
		return;
	}
	wr_u16(w, (uint16_t)b->len);
	p = wr_room(w, b->len);
	if (p != NULL && b->len != 0)
		memcpy(p, b->p, b->len);
}

/* Sets the header's length; returns it or the error. */
static int
wr_finish(struct wr *w)
{
	if (w->err != 0)
		return w->err;
	tg_wr32(w->p + 12, (uint32_t)w->len);
	return (int)w->len;
}

/* ---------------------------------------------------------------------
 * Bodies
 * ------------------------------------------------------------------- */

/* Does an AUTH_REPLY carry the fields of its action, and only those? */
static bool
auth_reply_ok(const struct tg_punt_auth *a)
{
	bool data = a->data.len != 0, fatal = a->sqlstate.len != 0 || a->text.len != 0;

	switch (a->action) {
	case TG_PUNT_AUTH_SEND:
		return data && !fatal && a->role.len == 0;
	case TG_PUNT_AUTH_DONE:
		return !data && !fatal && a->role.len != 0;
	case TG_PUNT_AUTH_REFUSE:
	case TG_PUNT_AUTH_END:
		return !data && a->sqlstate.len == TG_PUNT_SQLSTATE_MAX && a->text.len != 0 &&
		       a->role.len == 0;
	default:
		return false;
	}
}

static void
rd_auth(struct rd *r, uint16_t type, struct tg_punt_auth *a)
{
	a->worker = rd_u16(r);
	a->session = rd_u64(r);
	rd_check(r, a->session != 0, TG_PUNT_ERR_VALUE);
	switch (type) {
	case TG_PUNT_T_AUTH_REQUEST:
		rd_str(r, false, TG_PUNT_NAME_MAX, &a->service);
		rd_check(r, a->service.len != 0, TG_PUNT_ERR_VALUE);
		rd_str(r, false, TG_PUNT_NAME_MAX, &a->client);
		rd_str(r, false, TG_PUNT_NAME_MAX, &a->server);
		rd_bytes(r, 8, TG_PUNT_AUTH_STARTUP_MAX, &a->startup);
		rd_bytes(r, 0, TG_PUNT_AUTH_TOKEN_MAX, &a->token);
		rd_check(r, a->token.len == 0 || memchr(a->token.p, 0, a->token.len) == NULL,
			 TG_PUNT_ERR_STR_NUL);
		break;
	case TG_PUNT_T_AUTH_SERVER:
		rd_bytes(r, 5, TG_PUNT_AUTH_MSG_MAX, &a->data);
		break;
	default:
		a->action = rd_u8(r);
		rd_bytes(r, 0, TG_PUNT_AUTH_SEND_MAX, &a->data);
		rd_str(r, false, TG_PUNT_SQLSTATE_MAX, &a->sqlstate);
		rd_str(r, true, TG_PUNT_REASON_MAX, &a->text);
		rd_str(r, false, TG_PUNT_NAME_MAX, &a->role);
		rd_check(r, auth_reply_ok(a), TG_PUNT_ERR_VALUE);
		break;
	}
}

/* Does a HOLD message carry the fields of its type and operation, and only those? */
static bool
hold_ok(uint16_t type, const struct tg_punt_hold *h)
{
	bool ask_fields = h->service.len != 0 || h->rule.len != 0 || h->approvers.len != 0 ||
			  h->client.len != 0 || h->server.len != 0 || h->user.len != 0 ||
			  h->database.len != 0 || h->text.len != 0 || h->params.len != 0 ||
			  h->quorum != 0 || h->timeout_s != 0 || h->self_approval != 0 ||
			  h->t_ns != 0 || h->kind != 0;

	if (h->session == 0 || h->hold == 0 || !is_text(&h->reason))
		return false;
	if (type == TG_PUNT_T_HOLD_REPLY)
		return h->op == 0 && !ask_fields && h->id.len != 0 && is_name(&h->id) &&
		       (h->decision == TG_PUNT_HOLD_APPROVE
				? h->sqlstate.len == 0 && h->reason.len == 0
				: h->decision == TG_PUNT_HOLD_DENY &&
					  h->sqlstate.len == TG_PUNT_SQLSTATE_MAX &&
					  is_name(&h->sqlstate) && h->reason.len != 0);
	if (h->decision != 0 || h->id.len != 0 || h->sqlstate.len != 0)
		return false;
	if (h->op == TG_PUNT_HOLD_CANCEL)
		return !ask_fields && h->reason.len != 0;
	return h->op == TG_PUNT_HOLD_ASK && h->reason.len == 0 && h->service.len != 0 &&
	       h->rule.len != 0 && h->kind < TG_PUNT_STMT_MAX && h->quorum >= 1 &&
	       h->quorum <= TG_PUNT_HOLD_QUORUM_MAX && h->self_approval <= 1 && h->timeout_s != 0;
}

static void
rd_hold(struct rd *r, uint16_t type, struct tg_punt_hold *h)
{
	memset(h, 0, sizeof(*h));
	h->worker = rd_u16(r);
	h->session = rd_u64(r);
	h->hold = rd_u32(r);
	if (type == TG_PUNT_T_HOLD_REPLY) {
		h->decision = rd_u8(r);
		rd_str(r, false, TG_PUNT_HOLD_ID_MAX, &h->id);
		rd_str(r, false, TG_PUNT_SQLSTATE_MAX, &h->sqlstate);
	} else {
		h->op = rd_u8(r);
		if (h->op == TG_PUNT_HOLD_ASK) {
			h->kind = rd_u8(r);
			h->quorum = rd_u8(r);
			h->self_approval = rd_u8(r);
			h->timeout_s = rd_u32(r);
			h->t_ns = rd_u64(r);
			rd_str(r, false, TG_PUNT_NAME_MAX, &h->service);
			rd_str(r, false, TG_PUNT_NAME_MAX, &h->rule);
			rd_str(r, false, TG_PUNT_NAME_MAX, &h->approvers);
			rd_str(r, false, TG_PUNT_NAME_MAX, &h->client);
			rd_str(r, false, TG_PUNT_NAME_MAX, &h->server);
			rd_str(r, false, TG_PUNT_NAME_MAX, &h->user);
			rd_str(r, false, TG_PUNT_NAME_MAX, &h->database);
			rd_str(r, true, TG_PUNT_TEXT_MAX, &h->text);
			rd_str(r, true, TG_PUNT_PARAMS_MAX, &h->params);
		}
	}
	if (type == TG_PUNT_T_HOLD_REPLY || h->op != TG_PUNT_HOLD_ASK)
		rd_str(r, true, TG_PUNT_REASON_MAX, &h->reason);
	rd_check(r, hold_ok(type, h), TG_PUNT_ERR_VALUE);
}

static void
rd_hello(struct rd *r, struct tg_punt_hello *h)
{
	h->role = rd_u8(r);
	rd_check(r, h->role == TG_PUNT_ROLE_DATAPLANE || h->role == TG_PUNT_ROLE_SLOWPATH,
		 TG_PUNT_ERR_VALUE);
	h->vmin = rd_u16(r);
	h->vmax = rd_u16(r);
	rd_check(r, h->vmin >= 1 && h->vmin <= h->vmax, TG_PUNT_ERR_VALUE);
	h->instance = rd_u64(r);
	rd_check(r, h->instance != 0, TG_PUNT_ERR_VALUE);
	h->caps = rd_u64(r);
	rd_str(r, false, TG_PUNT_NAME_MAX, &h->software);
}

static void
rd_hello_ack(struct rd *r, struct tg_punt_hello_ack *a)
{
	a->role = rd_u8(r);
	rd_check(r, a->role == TG_PUNT_ROLE_DATAPLANE || a->role == TG_PUNT_ROLE_SLOWPATH,
		 TG_PUNT_ERR_VALUE);
	a->status = rd_u8(r);
	a->refuse = rd_u8(r);
	a->version = rd_u16(r);
	a->vmin = rd_u16(r);
	a->vmax = rd_u16(r);
	rd_check(r, a->vmin >= 1 && a->vmin <= a->vmax, TG_PUNT_ERR_VALUE);
	if (a->status == TG_PUNT_HELLO_ACCEPT)
		rd_check(r,
			 a->refuse == TG_PUNT_REFUSE_NONE && a->version >= a->vmin &&
				 a->version <= a->vmax,
			 TG_PUNT_ERR_VALUE);
	else
		rd_check(r,
			 a->status == TG_PUNT_HELLO_REFUSE && a->refuse != TG_PUNT_REFUSE_NONE &&
				 a->refuse < TG_PUNT_REFUSE_MAX && a->version == 0,
			 TG_PUNT_ERR_VALUE);
	a->instance = rd_u64(r);
	rd_check(r, a->instance != 0, TG_PUNT_ERR_VALUE);
	a->caps = rd_u64(r);
	rd_str(r, false, TG_PUNT_NAME_MAX, &a->software);
	rd_str(r, true, TG_PUNT_REASON_MAX, &a->reason);
	rd_check(r, a->status == TG_PUNT_HELLO_REFUSE || a->reason.len == 0, TG_PUNT_ERR_VALUE);
}

static void
wr_hello_fields(struct wr *w, uint8_t role, uint16_t vmin, uint16_t vmax)
{
	wr_check(w, role == TG_PUNT_ROLE_DATAPLANE || role == TG_PUNT_ROLE_SLOWPATH);
	wr_check(w, vmin >= 1 && vmin <= vmax);
}

/* A statement's kind and verdict (STATEMENT, STATEMENT_BEGIN). */
static void
rd_kind_verdict(struct rd *r, struct tg_punt_event *ev)
{
	ev->kind = rd_u8(r);
	rd_check(r, ev->kind < TG_PUNT_STMT_MAX, TG_PUNT_ERR_VALUE);
	ev->verdict = rd_u8(r);
	rd_check(r, ev->verdict < TG_PUNT_VERDICT_MAX, TG_PUNT_ERR_VALUE);
}

/* A statement's names: service_name, client, user, database, application, rule. */
static void
rd_statement_names(struct rd *r, struct tg_punt_event *ev)
{
	struct tg_punt_str *s[] = { &ev->service_name, &ev->client, &ev->user,
				    &ev->database, &ev->application, &ev->rule };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		rd_str(r, false, TG_PUNT_NAME_MAX, s[i]);
}

static void
wr_statement_names(struct wr *w, const struct tg_punt_event *ev)
{
	const struct tg_punt_str *s[] = { &ev->service_name, &ev->client, &ev->user,
					  &ev->database, &ev->application, &ev->rule };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		wr_str(w, false, TG_PUNT_NAME_MAX, s[i], true);
}

/*
 * One event, of the bytes the cursor holds (its own len bounds it), into
 * ev. The caller zeroed ev.
 */
/* SESSION_END, FLOW_END: why it ended */
static void
rd_end_reason(struct rd *r, struct tg_punt_event *ev)
{
	ev->end_reason = rd_u8(r);
	rd_check(r, ev->end_reason >= TG_PUNT_END_CLOSED && ev->end_reason < TG_PUNT_END_MAX,
		 TG_PUNT_ERR_VALUE);
}

/* The names every flow event ends with. */
static void
rd_flow_names(struct rd *r, struct tg_punt_event *ev)
{
	rd_str(r, false, TG_PUNT_NAME_MAX, &ev->service_name);
	rd_str(r, false, TG_PUNT_NAME_MAX, &ev->client);
	rd_str(r, false, TG_PUNT_NAME_MAX, &ev->server);
}

static void
wr_flow_names(struct wr *w, const struct tg_punt_event *ev)
{
	wr_str(w, false, TG_PUNT_NAME_MAX, &ev->service_name, true);
	wr_str(w, false, TG_PUNT_NAME_MAX, &ev->client, true);
	wr_str(w, false, TG_PUNT_NAME_MAX, &ev->server, true);
}

static void
rd_event(struct rd *outer, struct tg_punt_event *ev)
{
	const uint8_t *start = outer->p;
	struct rd r = { .p = outer->p, .left = outer->left };
	uint8_t flags, nmasked, prev = 0, k, i;
	uint16_t len;
	uint32_t n;

	ev->type = rd_u8(&r);
	flags = rd_u8(&r);
	len = rd_u16(&r);
	rd_check(&r, TG_PUNT_EV_VALID(ev->type), TG_PUNT_ERR_EVENT_TYPE);
	rd_check(&r,
		 (flags & ~((TG_PUNT_EV_HAS_TEXT(ev->type) ? TG_PUNT_EV_F_TEXT_CUT : 0) |
			    (ev->type == TG_PUNT_EV_STATEMENT_BEGIN ? TG_PUNT_EV_F_STRICT : 0))) == 0,
		 TG_PUNT_ERR_FLAGS);
	rd_check(&r, len >= EV_COMMON, TG_PUNT_ERR_EVENT_LEN);
	/* the event's own length bounds every field read after it */
	if (rd_check(&r, len <= outer->left, TG_PUNT_ERR_TRUNC))
		r.left = len - 4;
	ev->text_cut = (flags & TG_PUNT_EV_F_TEXT_CUT) != 0;
	ev->strict = (flags & TG_PUNT_EV_F_STRICT) != 0;
	ev->worker = rd_u16(&r);
	ev->service = rd_u16(&r);
	ev->session = rd_u64(&r);

	switch (ev->type) {
	case TG_PUNT_EV_STATEMENT:
		rd_kind_verdict(&r, ev);
		ev->result = rd_u8(&r);
		rd_check(&r, ev->result < TG_PUNT_RESULT_MAX, TG_PUNT_ERR_VALUE);
		nmasked = rd_u8(&r);
		rd_check(&r, nmasked < TG_PUNT_DETECT_MAX, TG_PUNT_ERR_COUNT);
		ev->stmt = rd_u32(&r);
		rd_check(&r, ev->stmt != 0, TG_PUNT_ERR_VALUE);
		ev->masked_columns = rd_u32(&r);
		ev->rows = rd_u64(&r);
		ev->t_start_ns = rd_u64(&r);
		ev->t_end_ns = rd_u64(&r);
		for (i = 0; i < nmasked && r.err == TG_PUNT_OK; i++) {
			k = rd_u8(&r);
			n = rd_u32(&r);
			if (!rd_check(&r, k > TG_PUNT_DETECT_NONE && k < TG_PUNT_DETECT_MAX,
				      TG_PUNT_ERR_VALUE) ||
			    !rd_check(&r, k > prev, TG_PUNT_ERR_ORDER) ||
			    !rd_check(&r, n != 0, TG_PUNT_ERR_VALUE))
				break;
			ev->masked[k] = n;
			prev = k;
		}
		rd_statement_names(&r, ev);
		rd_str(&r, false, TG_PUNT_SQLSTATE_MAX, &ev->sqlstate);
		rd_str(&r, true, TG_PUNT_TEXT_MAX, &ev->text);
		rd_str(&r, true, TG_PUNT_PARAMS_MAX, &ev->params);
		break;
	case TG_PUNT_EV_SESSION_START:
		ev->t_start_ns = rd_u64(&r);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->service_name);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->client);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->server);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->user);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->database);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->application);
		break;
	case TG_PUNT_EV_SESSION_END:
		rd_end_reason(&r, ev);
		ev->t_start_ns = rd_u64(&r);
		ev->t_end_ns = rd_u64(&r);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->service_name);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &ev->client);
		break;
	case TG_PUNT_EV_STATEMENT_BEGIN:
		rd_kind_verdict(&r, ev);
		ev->stmt = rd_u32(&r);
		rd_check(&r, ev->stmt != 0, TG_PUNT_ERR_VALUE);
		ev->t_start_ns = rd_u64(&r);
		rd_statement_names(&r, ev);
		rd_str(&r, true, TG_PUNT_TEXT_MAX, &ev->text);
		rd_str(&r, true, TG_PUNT_PARAMS_MAX, &ev->params);
		break;
	case TG_PUNT_EV_LOST:
		rd_check(&r, ev->service == 0 && ev->session == 0, TG_PUNT_ERR_VALUE);
		ev->lost = rd_u64(&r);
		rd_check(&r, ev->lost != 0, TG_PUNT_ERR_VALUE);
		ev->t_end_ns = rd_u64(&r);
		break;
	case TG_PUNT_EV_FLOW_START:
		ev->grant = rd_u64(&r);
		rd_check(&r, ev->grant != 0, TG_PUNT_ERR_VALUE);
		ev->t_start_ns = rd_u64(&r);
		rd_flow_names(&r, ev);
		break;
	case TG_PUNT_EV_FLOW_END:
		rd_end_reason(&r, ev);
		ev->grant = rd_u64(&r);
		rd_check(&r, ev->grant != 0, TG_PUNT_ERR_VALUE);
		ev->t_start_ns = rd_u64(&r);
		ev->t_end_ns = rd_u64(&r);
		ev->bytes_up = rd_u64(&r);
		ev->bytes_down = rd_u64(&r);
		ev->pkts_up = rd_u64(&r);
		ev->pkts_down = rd_u64(&r);
		rd_flow_names(&r, ev);
		break;
	case TG_PUNT_EV_FLOW_REFUSED:
		rd_check(&r, ev->session == 0, TG_PUNT_ERR_VALUE);
		ev->refusal = rd_u8(&r);
		rd_check(&r,
			 ev->refusal >= TG_PUNT_REFUSAL_NO_GRANT &&
				 ev->refusal < TG_PUNT_REFUSAL_MAX,
			 TG_PUNT_ERR_VALUE);
		ev->t_start_ns = rd_u64(&r);
		rd_flow_names(&r, ev);
		break;
	case TG_PUNT_EV_RECORD:
		ev->piece = rd_u32(&r);
		ev->rec_len = rd_u16(&r);
		rd_check(&r, ev->rec_len >= 1 && ev->rec_len <= TG_PUNT_RECORD_MAX,
			 TG_PUNT_ERR_VALUE);
		ev->rec = rd_take(&r, ev->rec_len);
		break;
	}
	/* the fields must fill the event exactly */
	rd_check(&r, r.left == 0, TG_PUNT_ERR_EVENT_LEN);
	if (r.err != TG_PUNT_OK) {
		rd_fail(outer, r.err);
		return;
	}
	outer->p = start + len;
	outer->left -= len;
}

static void
wr_event(struct wr *w, const struct tg_punt_event *ev)
{
	size_t start = w->len;
	uint8_t nmasked = 0, k;

	wr_check(w, TG_PUNT_EV_VALID(ev->type));
	wr_u8(w, ev->type);
	wr_u8(w, (TG_PUNT_EV_HAS_TEXT(ev->type) && ev->text_cut ? TG_PUNT_EV_F_TEXT_CUT : 0) |
			 (ev->type == TG_PUNT_EV_STATEMENT_BEGIN && ev->strict ? TG_PUNT_EV_F_STRICT
										: 0));
	wr_u16(w, 0);	/* len, below */
	wr_u16(w, ev->worker);
	wr_u16(w, ev->service);
	wr_u64(w, ev->session);

	switch (ev->type) {
	case TG_PUNT_EV_STATEMENT:
		wr_check(w, ev->kind < TG_PUNT_STMT_MAX && ev->verdict < TG_PUNT_VERDICT_MAX &&
				    ev->result < TG_PUNT_RESULT_MAX && ev->masked[0] == 0 &&
				    ev->stmt != 0);
		for (k = 1; k < TG_PUNT_DETECT_MAX; k++)
			nmasked += ev->masked[k] != 0;
		wr_u8(w, ev->kind);
		wr_u8(w, ev->verdict);
		wr_u8(w, ev->result);
		wr_u8(w, nmasked);
		wr_u32(w, ev->stmt);
		wr_u32(w, ev->masked_columns);
		wr_u64(w, ev->rows);
		wr_u64(w, ev->t_start_ns);
		wr_u64(w, ev->t_end_ns);
		for (k = 1; k < TG_PUNT_DETECT_MAX; k++) {
			if (ev->masked[k] == 0)
				continue;
			wr_u8(w, k);
			wr_u32(w, ev->masked[k]);
		}
		wr_statement_names(w, ev);
		wr_str(w, false, TG_PUNT_SQLSTATE_MAX, &ev->sqlstate, true);
		wr_str(w, true, TG_PUNT_TEXT_MAX, &ev->text, true);
		wr_str(w, true, TG_PUNT_PARAMS_MAX, &ev->params, true);
		break;
	case TG_PUNT_EV_SESSION_START:
		wr_u64(w, ev->t_start_ns);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->service_name, true);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->client, true);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->server, true);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->user, true);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->database, true);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->application, true);
		break;
	case TG_PUNT_EV_SESSION_END:
		wr_check(w, ev->end_reason >= TG_PUNT_END_CLOSED &&
				    ev->end_reason < TG_PUNT_END_MAX);
		wr_u8(w, ev->end_reason);
		wr_u64(w, ev->t_start_ns);
		wr_u64(w, ev->t_end_ns);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->service_name, true);
		wr_str(w, false, TG_PUNT_NAME_MAX, &ev->client, true);
		break;
	case TG_PUNT_EV_STATEMENT_BEGIN:
		wr_check(w, ev->kind < TG_PUNT_STMT_MAX && ev->verdict < TG_PUNT_VERDICT_MAX &&
				    ev->stmt != 0);
		wr_u8(w, ev->kind);
		wr_u8(w, ev->verdict);
		wr_u32(w, ev->stmt);
		wr_u64(w, ev->t_start_ns);
		wr_statement_names(w, ev);
		wr_str(w, true, TG_PUNT_TEXT_MAX, &ev->text, true);
		wr_str(w, true, TG_PUNT_PARAMS_MAX, &ev->params, true);
		break;
	case TG_PUNT_EV_LOST:
		wr_check(w, ev->service == 0 && ev->session == 0 && ev->lost != 0);
		wr_u64(w, ev->lost);
		wr_u64(w, ev->t_end_ns);
		break;
	case TG_PUNT_EV_FLOW_START:
		wr_check(w, ev->grant != 0);
		wr_u64(w, ev->grant);
		wr_u64(w, ev->t_start_ns);
		wr_flow_names(w, ev);
		break;
	case TG_PUNT_EV_FLOW_END:
		wr_check(w, ev->grant != 0 && ev->end_reason >= TG_PUNT_END_CLOSED &&
				    ev->end_reason < TG_PUNT_END_MAX);
		wr_u8(w, ev->end_reason);
		wr_u64(w, ev->grant);
		wr_u64(w, ev->t_start_ns);
		wr_u64(w, ev->t_end_ns);
		wr_u64(w, ev->bytes_up);
		wr_u64(w, ev->bytes_down);
		wr_u64(w, ev->pkts_up);
		wr_u64(w, ev->pkts_down);
		wr_flow_names(w, ev);
		break;
	case TG_PUNT_EV_FLOW_REFUSED:
		wr_check(w, ev->session == 0 && ev->refusal >= TG_PUNT_REFUSAL_NO_GRANT &&
				    ev->refusal < TG_PUNT_REFUSAL_MAX);
		wr_u8(w, ev->refusal);
		wr_u64(w, ev->t_start_ns);
		wr_flow_names(w, ev);
		break;
	case TG_PUNT_EV_RECORD: {
		uint8_t *p;

		wr_check(w, ev->rec != NULL && ev->rec_len >= 1 &&
				    ev->rec_len <= TG_PUNT_RECORD_MAX);
		wr_u32(w, ev->piece);
		wr_u16(w, ev->rec_len);
		if ((p = wr_room(w, ev->rec_len)) != NULL)
			memcpy(p, ev->rec, ev->rec_len);
		break;
	}
	}
	if (w->err == 0)
		tg_wr16(w->p + start + 2, (uint16_t)(w->len - start));
}

/* A STATS_RESPONSE pair */
static void
rd_pair(struct rd *r, struct tg_punt_str *name, uint64_t *value)
{
	rd_str(r, false, TG_PUNT_NAME_MAX, name);
	rd_check(r, is_name(name), TG_PUNT_ERR_VALUE);
	*value = rd_u64(r);
}

/* A SESSIONS_RESPONSE entry */
static void
rd_sess(struct rd *r, struct tg_punt_sess *s)
{
	uint8_t flags = rd_u8(r);

	rd_check(r, (flags & ~TG_PUNT_SESS_F_PG) == 0, TG_PUNT_ERR_VALUE);
	s->pg = (flags & TG_PUNT_SESS_F_PG) != 0;
	s->worker = rd_u16(r);
	s->session = rd_u64(r);
	s->tcp_state = rd_u8(r);
	rd_check(r, s->tcp_state < TG_PUNT_TCP_MAX, TG_PUNT_ERR_VALUE);
	s->t_start_ns = rd_u64(r);
	s->bytes_up = rd_u64(r);
	s->bytes_down = rd_u64(r);
	s->stmts = rd_u32(r);
	rd_str(r, false, TG_PUNT_NAME_MAX, &s->service);
	rd_str(r, false, TG_PUNT_NAME_MAX, &s->client);
	rd_str(r, false, TG_PUNT_NAME_MAX, &s->server);
	rd_str(r, false, TG_PUNT_NAME_MAX, &s->user);
	rd_str(r, false, TG_PUNT_NAME_MAX, &s->database);
	rd_str(r, false, TG_PUNT_NAME_MAX, &s->application);
	/* without pg, the pg fields are absent: one encoding only */
	rd_check(r,
		 s->pg ? s->session != 0
		       : s->session == 0 && s->stmts == 0 && s->user.len == 0 &&
				 s->database.len == 0 && s->application.len == 0,
		 TG_PUNT_ERR_VALUE);
}

/* ---------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------- */

/* SERVICES and TCP_SERVICES: min..TG_PUNT_SERVICES_MAX distinct names. */
static void
rd_services(struct rd *r, struct tg_punt_services *sv, uint16_t min)
{
	uint16_t i, j;

	sv->count = rd_u16(r);
	rd_check(r, sv->count >= min && sv->count <= TG_PUNT_SERVICES_MAX, TG_PUNT_ERR_COUNT);
	for (i = 0; i < sv->count && r->err == TG_PUNT_OK; i++) {
		rd_str(r, false, TG_PUNT_NAME_MAX, &sv->name[i]);
		rd_check(r, sv->name[i].len != 0, TG_PUNT_ERR_VALUE);
		for (j = 0; j < i && r->err == TG_PUNT_OK; j++)
			rd_check(r,
				 sv->name[j].len != sv->name[i].len ||
					 memcmp(sv->name[j].p, sv->name[i].p, sv->name[i].len) != 0,
				 TG_PUNT_ERR_ORDER);
	}
}

/* Byte order of two strings, the shorter first on a common prefix: <0, 0, >0. */
static int
str_cmp(const struct tg_punt_str *a, const struct tg_punt_str *b)
{
	int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* A prefix of its family's length with no host bit set. */
static bool
prefix_ok(uint8_t family, uint8_t prefix, const uint8_t *addr)
{
	unsigned int bytes = family == 4 ? 4 : 16, i;

	if ((family != 4 && family != 6) || prefix > bytes * 8)
		return false;
	for (i = prefix / 8; i < bytes; i++) {
		uint8_t host = i == prefix / 8 ? (uint8_t)(0xff >> (prefix % 8)) : 0xff;

		if (addr[i] & host)
			return false;
	}
	return true;
}

/* One TCP_GRANTS grant, of a message with nsvc services. */
static void
rd_tcp_grant(struct rd *r, uint8_t nsvc, struct tg_punt_tcp_grant *g)
{
	const uint8_t *a;

	memset(g, 0, sizeof(*g));
	g->id = rd_u64(r);
	rd_check(r, g->id != 0, TG_PUNT_ERR_VALUE);
	g->svc = rd_u8(r);
	rd_check(r, g->svc < nsvc, TG_PUNT_ERR_VALUE);
	g->family = rd_u8(r);
	rd_check(r, g->family == 4 || g->family == 6, TG_PUNT_ERR_VALUE);
	g->prefix = rd_u8(r);
	a = rd_take(r, g->family == 6 ? 16 : 4);
	if (a != NULL)
		memcpy(g->addr, a, g->family == 6 ? 16 : 4);
	rd_check(r, r->err != TG_PUNT_OK || prefix_ok(g->family, g->prefix, g->addr),
		 TG_PUNT_ERR_VALUE);
	g->expires = rd_u64(r);
}

static void
rd_tcp_grants(struct rd *r, struct tg_punt_tcp_grants *t)
{
	struct tg_punt_tcp_grant g, prev = { 0 };
	uint16_t i;

	t->gen = rd_u64(r);
	rd_check(r, t->gen != 0, TG_PUNT_ERR_VALUE);
	t->nsvc = rd_u8(r);
	rd_check(r, t->nsvc <= TG_PUNT_SERVICES_MAX, TG_PUNT_ERR_COUNT);
	for (i = 0; i < t->nsvc && r->err == TG_PUNT_OK; i++) {
		t->svc[i].flags = rd_u8(r);
		rd_check(r, (t->svc[i].flags & ~TG_PUNT_TCPG_F_END) == 0, TG_PUNT_ERR_FLAGS);
		rd_str(r, false, TG_PUNT_NAME_MAX, &t->svc[i].name);
		rd_check(r, t->svc[i].name.len != 0, TG_PUNT_ERR_VALUE);
		rd_check(r, i == 0 || r->err != TG_PUNT_OK ||
				    str_cmp(&t->svc[i - 1].name, &t->svc[i].name) < 0,
			 TG_PUNT_ERR_ORDER);
	}
	t->count = rd_u16(r);
	rd_check(r, t->count <= TG_PUNT_TCP_GRANTS_MAX, TG_PUNT_ERR_COUNT);
	t->entries.p = r->p;
	t->entries.left = (uint32_t)r->left;
	t->entries.n = t->count;
	for (i = 0; i < t->count && r->err == TG_PUNT_OK; i++) {
		rd_tcp_grant(r, t->nsvc, &g);
		rd_check(r, i == 0 || g.svc > prev.svc || (g.svc == prev.svc && g.id > prev.id),
			 TG_PUNT_ERR_ORDER);
		prev = g;
	}
}

static bool
version_ok(uint16_t type, uint16_t version)
{
	if (type == TG_PUNT_T_HELLO || type == TG_PUNT_T_HELLO_ACK)
		return version == TG_PUNT_VERSION_HELLO;
	return version >= TG_PUNT_VERSION_MIN && version <= TG_PUNT_VERSION_MAX;
}

static enum tg_punt_err
rd_header(const uint8_t *buf, size_t len, struct tg_punt_hdr *h)
{
	if (len > TG_PUNT_MSG_MAX)
		return TG_PUNT_ERR_TOO_BIG;
	if (buf == NULL || len < TG_PUNT_HDR_LEN)
		return TG_PUNT_ERR_SHORT;
	if (tg_rd32(buf) != TG_PUNT_MAGIC)
		return TG_PUNT_ERR_MAGIC;
	h->version = tg_rd16(buf + 4);
	h->type = tg_rd16(buf + 6);
	h->flags = tg_rd32(buf + 8);
	h->length = tg_rd32(buf + 12);
	h->seq = rd64(buf + 16);
	if (h->length != len)
		return TG_PUNT_ERR_LENGTH;
	if (tg_punt_type_sender(h->type) == TG_PUNT_ROLE_NONE)
		return TG_PUNT_ERR_TYPE;
	if (!version_ok(h->type, h->version))
		return TG_PUNT_ERR_VERSION;
	if (h->flags != 0)
		return TG_PUNT_ERR_FLAGS;
	if (h->seq == 0)
		return TG_PUNT_ERR_SEQ;
	return TG_PUNT_OK;
}

enum tg_punt_err
tg_punt_decode(const uint8_t *buf, size_t len, struct tg_punt_msg *msg)
{
	struct tg_punt_event ev;
	struct tg_punt_str name;
	struct rd r;
	enum tg_punt_err err;
	uint64_t value;
	uint16_t i;

	memset(msg, 0, sizeof(*msg));
	err = rd_header(buf, len, &msg->hdr);
	if (err != TG_PUNT_OK)
		return err;
	r.p = buf + TG_PUNT_HDR_LEN;
	r.left = len - TG_PUNT_HDR_LEN;
	r.err = TG_PUNT_OK;

	switch (msg->hdr.type) {
	case TG_PUNT_T_HELLO:
		rd_hello(&r, &msg->u.hello);
		break;
	case TG_PUNT_T_HELLO_ACK:
		rd_hello_ack(&r, &msg->u.hello_ack);
		break;
	case TG_PUNT_T_EVENT_BATCH: {
		struct tg_punt_batch *b = &msg->u.batch;

		b->first_seq = rd_u64(&r);
		rd_check(&r, b->first_seq != 0, TG_PUNT_ERR_VALUE);
		b->count = rd_u16(&r);
		rd_check(&r, b->count >= 1 && b->count <= TG_PUNT_BATCH_MAX, TG_PUNT_ERR_COUNT);
		rd_check(&r, b->first_seq - 1 <= UINT64_MAX - b->count, TG_PUNT_ERR_VALUE);
		b->events.p = r.p;
		b->events.left = (uint32_t)r.left;
		b->events.n = b->count;
		b->events.seq = b->first_seq;
		/* every event now, so that a batch is taken or refused whole */
		for (i = 0; i < b->count && r.err == TG_PUNT_OK; i++) {
			memset(&ev, 0, sizeof(ev));
			rd_event(&r, &ev);
		}
		break;
	}
	case TG_PUNT_T_BATCH_ACK:
		msg->u.durable_seq = rd_u64(&r);
		rd_check(&r, msg->u.durable_seq != 0, TG_PUNT_ERR_VALUE);
		break;
	case TG_PUNT_T_POLICY_GEN: {
		struct tg_punt_policy_chunk *c = &msg->u.policy;

		c->gen = rd_u64(&r);
		rd_check(&r, c->gen != 0, TG_PUNT_ERR_VALUE);
		c->total = rd_u32(&r);
		c->offset = rd_u32(&r);
		c->len = rd_u32(&r);
		rd_check(&r,
			 c->total >= 1 && c->total <= TG_PUNT_POLICY_MAX && c->offset < c->total &&
				 c->len >= 1 && c->len <= c->total - c->offset,
			 TG_PUNT_ERR_POLICY_CHUNK);
		c->data = rd_take(&r, c->len);
		break;
	}
	case TG_PUNT_T_POLICY_ACK: {
		struct tg_punt_policy_ack *a = &msg->u.policy_ack;

		a->gen = rd_u64(&r);
		rd_check(&r, a->gen != 0, TG_PUNT_ERR_VALUE);
		a->status = rd_u8(&r);
		rd_check(&r,
			 a->status == TG_PUNT_POLICY_APPLIED ||
				 a->status == TG_PUNT_POLICY_REFUSED,
			 TG_PUNT_ERR_VALUE);
		rd_str(&r, true, TG_PUNT_REASON_MAX, &a->reason);
		rd_check(&r, (a->status == TG_PUNT_POLICY_REFUSED) == (a->reason.len != 0),
			 TG_PUNT_ERR_VALUE);
		break;
	}
	case TG_PUNT_T_STATS_REQUEST:
		break;
	case TG_PUNT_T_SERVICES:
		rd_services(&r, &msg->u.services, 1);
		break;
	case TG_PUNT_T_TCP_SERVICES:
		rd_services(&r, &msg->u.services, 0);
		break;
	case TG_PUNT_T_TCP_GRANTS:
		rd_tcp_grants(&r, &msg->u.tcpg);
		break;
	case TG_PUNT_T_SESSIONS_REQUEST: {
		struct tg_punt_sess_request *q = &msg->u.sreq;

		q->kind = rd_u8(&r);
		rd_check(&r, q->kind >= TG_PUNT_SESS_LIST && q->kind < TG_PUNT_SESS_KIND_MAX,
			 TG_PUNT_ERR_VALUE);
		q->worker = rd_u16(&r);
		q->session = rd_u64(&r);
		rd_check(&r, q->kind != TG_PUNT_SESS_KILL || q->session != 0, TG_PUNT_ERR_VALUE);
		q->limit = rd_u32(&r);
		rd_check(&r, q->limit >= 1 && q->limit <= TG_PUNT_SESS_LIMIT_MAX,
			 TG_PUNT_ERR_VALUE);
		rd_str(&r, false, TG_PUNT_NAME_MAX, &q->service);
		break;
	}
	case TG_PUNT_T_AUTH_REQUEST:
	case TG_PUNT_T_AUTH_SERVER:
	case TG_PUNT_T_AUTH_REPLY:
		rd_auth(&r, msg->hdr.type, &msg->u.auth);
		break;
	case TG_PUNT_T_HOLD_REQUEST:
	case TG_PUNT_T_HOLD_REPLY:
		rd_hold(&r, msg->hdr.type, &msg->u.hold);
		break;
	case TG_PUNT_T_AUDIT_STATE: {
		struct tg_punt_audit_state *as = &msg->u.audit;

		as->state = rd_u8(&r);
		rd_check(&r, as->state < TG_PUNT_AUDIT_STATE_MAX, TG_PUNT_ERR_VALUE);
		rd_str(&r, true, TG_PUNT_REASON_MAX, &as->reason);
		rd_check(&r, is_text(&as->reason), TG_PUNT_ERR_VALUE);
		rd_check(&r, as->state != TG_PUNT_AUDIT_FULL || as->reason.len != 0,
			 TG_PUNT_ERR_VALUE);
		break;
	}
	case TG_PUNT_T_SESSIONS_RESPONSE: {
		struct tg_punt_sess_response *sr = &msg->u.sresp;
		struct tg_punt_sess se;
		uint8_t last;

		sr->in_reply_to = rd_u64(&r);
		rd_check(&r, sr->in_reply_to != 0, TG_PUNT_ERR_VALUE);
		sr->status = rd_u8(&r);
		rd_check(&r, sr->status < TG_PUNT_SESS_STATUS_MAX, TG_PUNT_ERR_VALUE);
		sr->count = rd_u16(&r);
		rd_check(&r, sr->count <= SESS_PER_MSG, TG_PUNT_ERR_COUNT);
		rd_check(&r, sr->status == TG_PUNT_SESS_OK || sr->count == 0, TG_PUNT_ERR_COUNT);
		last = rd_u8(&r);
		rd_check(&r, last <= 1, TG_PUNT_ERR_VALUE);
		sr->last = last == 1;
		sr->entries.p = r.p;
		sr->entries.left = (uint32_t)r.left;
		sr->entries.n = sr->count;
		for (i = 0; i < sr->count && r.err == TG_PUNT_OK; i++)
			rd_sess(&r, &se);
		break;
	}
	case TG_PUNT_T_STATS_RESPONSE: {
		struct tg_punt_stats *s = &msg->u.stats;
		uint8_t last;

		s->in_reply_to = rd_u64(&r);
		rd_check(&r, s->in_reply_to != 0, TG_PUNT_ERR_VALUE);
		s->count = rd_u16(&r);
		rd_check(&r, s->count <= TG_PUNT_STATS_MAX, TG_PUNT_ERR_COUNT);
		last = rd_u8(&r);
		rd_check(&r, last <= 1, TG_PUNT_ERR_VALUE);
		s->last = last == 1;
		s->pairs.p = r.p;
		s->pairs.left = (uint32_t)r.left;
		s->pairs.n = s->count;
		for (i = 0; i < s->count && r.err == TG_PUNT_OK; i++)
			rd_pair(&r, &name, &value);
		break;
	}
	}
	return rd_end(&r);
}

/*
 * Moves an iterator past the entry r has just read; false, and no entry
 * left, when the read failed (cannot happen on a validated message: stop
 * rather than go on).
 */
static bool
iter_step(struct tg_punt_iter *it, const struct rd *r)
{
	if (r->err != TG_PUNT_OK) {
		it->n = 0;
		return false;
	}
	it->p = r->p;
	it->left = (uint32_t)r->left;
	it->n--;
	return true;
}

bool
tg_punt_batch_next(struct tg_punt_iter *it, struct tg_punt_event *ev)
{
	struct rd r = { .p = it->p, .left = it->left };

	if (it->n == 0)
		return false;
	memset(ev, 0, sizeof(*ev));
	rd_event(&r, ev);
	if (!iter_step(it, &r))
		return false;
	ev->seq = it->seq++;
	return true;
}

bool
tg_punt_tcp_grant_next(struct tg_punt_iter *it, struct tg_punt_tcp_grant *g)
{
	struct rd r = { .p = it->p, .left = it->left };

	if (it->n == 0)
		return false;
	/* the services were checked with the message: any index is in range here */
	rd_tcp_grant(&r, UINT8_MAX, g);
	return iter_step(it, &r);
}

bool
tg_punt_stats_next(struct tg_punt_iter *it, struct tg_punt_str *name, uint64_t *value)
{
	struct rd r = { .p = it->p, .left = it->left };

	if (it->n == 0)
		return false;
	rd_pair(&r, name, value);
	return iter_step(it, &r);
}

bool
tg_punt_sess_next(struct tg_punt_iter *it, struct tg_punt_sess *s)
{
	struct rd r = { .p = it->p, .left = it->left };

	if (it->n == 0)
		return false;
	memset(s, 0, sizeof(*s));
	rd_sess(&r, s);
	return iter_step(it, &r);
}

/* ---------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------- */

int
tg_punt_encode_hello(uint8_t *buf, size_t size, uint64_t seq, const struct tg_punt_hello *h)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_HELLO, TG_PUNT_T_HELLO, seq);
	wr_hello_fields(&w, h->role, h->vmin, h->vmax);
	wr_check(&w, h->instance != 0);
	wr_u8(&w, h->role);
	wr_u16(&w, h->vmin);
	wr_u16(&w, h->vmax);
	wr_u64(&w, h->instance);
	wr_u64(&w, h->caps);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &h->software, false);
	return wr_finish(&w);
}

int
tg_punt_encode_hello_ack(uint8_t *buf, size_t size, uint64_t seq,
			 const struct tg_punt_hello_ack *a)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_HELLO, TG_PUNT_T_HELLO_ACK, seq);
	wr_hello_fields(&w, a->role, a->vmin, a->vmax);
	wr_check(&w, a->instance != 0);
	if (a->status == TG_PUNT_HELLO_ACCEPT)
		wr_check(&w, a->refuse == TG_PUNT_REFUSE_NONE && a->version >= a->vmin &&
				     a->version <= a->vmax && a->reason.len == 0);
	else
		wr_check(&w, a->status == TG_PUNT_HELLO_REFUSE &&
				     a->refuse != TG_PUNT_REFUSE_NONE &&
				     a->refuse < TG_PUNT_REFUSE_MAX && a->version == 0);
	wr_u8(&w, a->role);
	wr_u8(&w, a->status);
	wr_u8(&w, a->refuse);
	wr_u16(&w, a->version);
	wr_u16(&w, a->vmin);
	wr_u16(&w, a->vmax);
	wr_u64(&w, a->instance);
	wr_u64(&w, a->caps);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &a->software, false);
	wr_str(&w, true, TG_PUNT_REASON_MAX, &a->reason, false);
	return wr_finish(&w);
}

int
tg_punt_encode_batch_ack(uint8_t *buf, size_t size, uint64_t seq, uint64_t durable_seq)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_BATCH_ACK, seq);
	wr_check(&w, durable_seq != 0);
	wr_u64(&w, durable_seq);
	return wr_finish(&w);
}

int
tg_punt_encode_policy_gen(uint8_t *buf, size_t size, uint64_t seq,
			  const struct tg_punt_policy_chunk *c)
{
	struct wr w;
	uint8_t *p;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_POLICY_GEN, seq);
	wr_check(&w, c->gen != 0 && c->total >= 1 && c->total <= TG_PUNT_POLICY_MAX &&
			     c->offset < c->total && c->len >= 1 &&
			     c->len <= c->total - c->offset && c->data != NULL);
	wr_u64(&w, c->gen);
	wr_u32(&w, c->total);
	wr_u32(&w, c->offset);
	wr_u32(&w, c->len);
	p = wr_room(&w, c->len);
	if (p != NULL)
		memcpy(p, c->data, c->len);
	return wr_finish(&w);
}

int
tg_punt_encode_policy_ack(uint8_t *buf, size_t size, uint64_t seq,
			  const struct tg_punt_policy_ack *a)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_POLICY_ACK, seq);
	wr_check(&w, a->gen != 0);
	wr_check(&w, (a->status == TG_PUNT_POLICY_APPLIED && a->reason.len == 0) ||
			     (a->status == TG_PUNT_POLICY_REFUSED && a->reason.len != 0));
	wr_u64(&w, a->gen);
	wr_u8(&w, a->status);
	wr_str(&w, true, TG_PUNT_REASON_MAX, &a->reason, false);
	return wr_finish(&w);
}

int
tg_punt_encode_audit_state(uint8_t *buf, size_t size, uint64_t seq,
			   const struct tg_punt_audit_state *s)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_AUDIT_STATE, seq);
	wr_check(&w, s->state < TG_PUNT_AUDIT_STATE_MAX &&
			     (s->reason.p != NULL || s->reason.len == 0) && is_text(&s->reason) &&
			     (s->state != TG_PUNT_AUDIT_FULL || s->reason.len != 0));
	wr_u8(&w, s->state);
	wr_str(&w, true, TG_PUNT_REASON_MAX, &s->reason, false);
	return wr_finish(&w);
}

int
tg_punt_encode_stats_request(uint8_t *buf, size_t size, uint64_t seq)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_STATS_REQUEST, seq);
	return wr_finish(&w);
}

/* SERVICES or TCP_SERVICES: min..TG_PUNT_SERVICES_MAX distinct names. */
static int
enc_services(uint8_t *buf, size_t size, uint64_t seq, uint16_t type, const char *const *names,
	     unsigned int n, unsigned int min)
{
	struct tg_punt_str s;
	unsigned int i, j;
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, type, seq);
	wr_check(&w, n >= min && n <= TG_PUNT_SERVICES_MAX && (names != NULL || n == 0));
	wr_u16(&w, (uint16_t)n);
	for (i = 0; i < n && w.err == 0; i++) {
		wr_check(&w, names[i] != NULL && names[i][0] != '\0');
		for (j = 0; j < i && w.err == 0; j++)
			wr_check(&w, strcmp(names[i], names[j]) != 0);
		if (w.err != 0)
			break;
		s.p = names[i];
		s.len = (uint32_t)strnlen(names[i], TG_PUNT_NAME_MAX + 1);
		wr_str(&w, false, TG_PUNT_NAME_MAX, &s, false);
	}
	return wr_finish(&w);
}

int
tg_punt_encode_services(uint8_t *buf, size_t size, uint64_t seq, const char *const *names,
			unsigned int n)
{
	return enc_services(buf, size, seq, TG_PUNT_T_SERVICES, names, n, 1);
}

int
tg_punt_encode_tcp_services(uint8_t *buf, size_t size, uint64_t seq, const char *const *names,
			    unsigned int n)
{
	return enc_services(buf, size, seq, TG_PUNT_T_TCP_SERVICES, names, n, 0);
}

int
tg_punt_encode_tcp_grants(uint8_t *buf, size_t size, uint64_t seq,
			  const struct tg_punt_tcp_grants *t)
{
	const struct tg_punt_tcp_grant *g, *prev = NULL;
	unsigned int i;
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_TCP_GRANTS, seq);
	wr_check(&w, t->gen != 0 && t->nsvc <= TG_PUNT_SERVICES_MAX &&
			     t->count <= TG_PUNT_TCP_GRANTS_MAX &&
			     (t->list != NULL || t->count == 0));
	wr_u64(&w, t->gen);
	wr_u8(&w, t->nsvc);
	for (i = 0; i < t->nsvc && w.err == 0; i++) {
		wr_check(&w, (t->svc[i].flags & ~TG_PUNT_TCPG_F_END) == 0 &&
				     t->svc[i].name.len != 0 && t->svc[i].name.p != NULL &&
				     (i == 0 || str_cmp(&t->svc[i - 1].name, &t->svc[i].name) < 0));
		wr_u8(&w, t->svc[i].flags);
		wr_str(&w, false, TG_PUNT_NAME_MAX, &t->svc[i].name, false);
	}
	wr_u16(&w, t->count);
	for (i = 0; i < t->count && w.err == 0; i++) {
		g = &t->list[i];
		wr_check(&w, g->id != 0 && g->svc < t->nsvc &&
				     prefix_ok(g->family, g->prefix, g->addr) &&
				     (prev == NULL || g->svc > prev->svc ||
				      (g->svc == prev->svc && g->id > prev->id)));
		wr_u64(&w, g->id);
		wr_u8(&w, g->svc);
		wr_u8(&w, g->family);
		wr_u8(&w, g->prefix);
		if (w.err == 0) {
			uint8_t *a = wr_room(&w, g->family == 6 ? 16 : 4);

			if (a != NULL)
				memcpy(a, g->addr, g->family == 6 ? 16 : 4);
		}
		wr_u64(&w, g->expires);
		prev = g;
	}
	return wr_finish(&w);
}

int
tg_punt_encode_sess_request(uint8_t *buf, size_t size, uint64_t seq,
			    const struct tg_punt_sess_request *q)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_SESSIONS_REQUEST, seq);
	wr_check(&w, q->kind >= TG_PUNT_SESS_LIST && q->kind < TG_PUNT_SESS_KIND_MAX &&
			     (q->kind != TG_PUNT_SESS_KILL || q->session != 0) &&
			     q->limit >= 1 && q->limit <= TG_PUNT_SESS_LIMIT_MAX);
	wr_u8(&w, q->kind);
	wr_u16(&w, q->worker);
	wr_u64(&w, q->session);
	wr_u32(&w, q->limit);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &q->service, false);
	return wr_finish(&w);
}

/* Header and the fixed body of a datagram of entries. */
static int
enc_begin(struct tg_punt_enc *e, uint8_t *buf, size_t size, uint16_t type, uint64_t seq,
	  uint64_t first, size_t fixed)
{
	struct wr w;

	memset(e, 0, sizeof(*e));
	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, type, seq);
	wr_check(&w, first != 0);
	wr_u64(&w, first);
	wr_u16(&w, 0);	/* count, at the end */
	if (fixed > BATCH_FIXED)
		wr_u8(&w, 0);	/* last */
	if (w.err != 0)
		return w.err;
	e->buf = buf;
	e->first = first;
	e->size = w.size;
	e->len = w.len;
	e->count_off = TG_PUNT_HDR_LEN + 8;
	e->type = type;
	e->max = type == TG_PUNT_T_EVENT_BATCH ? TG_PUNT_BATCH_MAX : TG_PUNT_STATS_MAX;
	return 0;
}

static int
enc_end(struct tg_punt_enc *e)
{
	if (e->buf == NULL)
		return -EINVAL;
	tg_wr16(e->buf + e->count_off, e->count);
	tg_wr32(e->buf + 12, (uint32_t)e->len);
	return (int)e->len;
}

int
tg_punt_batch_begin(struct tg_punt_enc *e, uint8_t *buf, size_t size, uint64_t seq,
		    uint64_t first_seq)
{
	return enc_begin(e, buf, size, TG_PUNT_T_EVENT_BATCH, seq, first_seq, BATCH_FIXED);
}

int
tg_punt_batch_add(struct tg_punt_enc *e, const struct tg_punt_event *ev)
{
	struct wr w;

	if (e->buf == NULL || e->type != TG_PUNT_T_EVENT_BATCH)
		return -EINVAL;
	if (e->count == e->max)
		return -ENOSPC;
	/* its number, first_seq + count, must not wrap */
	if (e->count > UINT64_MAX - e->first)
		return -EINVAL;
	wr_init(&w, e->buf, e->size, e->len);
	wr_event(&w, ev);
	if (w.err != 0)
		return w.err;
	e->len = w.len;
	e->count++;
	return 0;
}

int
tg_punt_batch_end(struct tg_punt_enc *e)
{
	if (e->type != TG_PUNT_T_EVENT_BATCH || e->count == 0)
		return -EINVAL;
	return enc_end(e);
}

int
tg_punt_stats_begin(struct tg_punt_enc *e, uint8_t *buf, size_t size, uint64_t seq,
		    uint64_t in_reply_to)
{
	return enc_begin(e, buf, size, TG_PUNT_T_STATS_RESPONSE, seq, in_reply_to, STATS_FIXED);
}

int
tg_punt_stats_add(struct tg_punt_enc *e, const char *name, uint64_t value)
{
	struct tg_punt_str s;
	struct wr w;

	if (e->buf == NULL || e->type != TG_PUNT_T_STATS_RESPONSE || name == NULL)
		return -EINVAL;
	s.p = name;
	s.len = (uint32_t)strnlen(name, TG_PUNT_NAME_MAX + 1);
	if (!is_name(&s) || s.len > TG_PUNT_NAME_MAX)
		return -EINVAL;
	if (e->count == e->max)
		return -ENOSPC;
	wr_init(&w, e->buf, e->size, e->len);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &s, false);
	wr_u64(&w, value);
	if (w.err != 0)
		return w.err;
	e->len = w.len;
	e->count++;
	return 0;
}

/* A response of type: its last flag (after the count), then the header's length. */
static int
enc_end_last(struct tg_punt_enc *e, uint16_t type, bool last)
{
	if (e->buf == NULL || e->type != type)
		return -EINVAL;
	e->buf[e->count_off + 2] = last ? 1 : 0;
	return enc_end(e);
}

int
tg_punt_stats_end(struct tg_punt_enc *e, bool last)
{
	return enc_end_last(e, TG_PUNT_T_STATS_RESPONSE, last);
}

int
tg_punt_sess_begin(struct tg_punt_enc *e, uint8_t *buf, size_t size, uint64_t seq,
		   uint64_t in_reply_to, uint8_t status)
{
	struct wr w;

	memset(e, 0, sizeof(*e));
	wr_init(&w, buf, size, 0);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, TG_PUNT_T_SESSIONS_RESPONSE, seq);
	wr_check(&w, in_reply_to != 0 && status < TG_PUNT_SESS_STATUS_MAX);
	wr_u64(&w, in_reply_to);
	wr_u8(&w, status);
	wr_u16(&w, 0);	/* count, at the end */
	wr_u8(&w, 0);	/* last */
	if (w.err != 0)
		return w.err;
	e->buf = buf;
	e->first = in_reply_to;
	e->size = w.size;
	e->len = w.len;
	e->count_off = TG_PUNT_HDR_LEN + 9;
	e->type = TG_PUNT_T_SESSIONS_RESPONSE;
	e->max = SESS_PER_MSG;
	e->status = status;
	return 0;
}

int
tg_punt_sess_add(struct tg_punt_enc *e, const struct tg_punt_sess *s)
{
	struct wr w;

	if (e->buf == NULL || e->type != TG_PUNT_T_SESSIONS_RESPONSE)
		return -EINVAL;
	if (e->status != TG_PUNT_SESS_OK || s->tcp_state >= TG_PUNT_TCP_MAX)
		return -EINVAL;
	if (s->pg ? s->session == 0
		  : s->session != 0 || s->stmts != 0 || s->user.len != 0 ||
			    s->database.len != 0 || s->application.len != 0)
		return -EINVAL;
	if (e->count == e->max)
		return -ENOSPC;
	wr_init(&w, e->buf, e->size, e->len);
	wr_u8(&w, s->pg ? TG_PUNT_SESS_F_PG : 0);
	wr_u16(&w, s->worker);
	wr_u64(&w, s->session);
	wr_u8(&w, s->tcp_state);
	wr_u64(&w, s->t_start_ns);
	wr_u64(&w, s->bytes_up);
	wr_u64(&w, s->bytes_down);
	wr_u32(&w, s->stmts);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &s->service, true);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &s->client, true);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &s->server, true);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &s->user, true);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &s->database, true);
	wr_str(&w, false, TG_PUNT_NAME_MAX, &s->application, true);
	if (w.err != 0)
		return w.err;
	e->len = w.len;
	e->count++;
	return 0;
}

int
tg_punt_sess_end(struct tg_punt_enc *e, bool last)
{
	return enc_end_last(e, TG_PUNT_T_SESSIONS_RESPONSE, last);
}

int
tg_punt_encode_auth(uint8_t *buf, size_t size, uint64_t seq, uint16_t type,
		    const struct tg_punt_auth *a)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_check(&w, type == TG_PUNT_T_AUTH_REQUEST || type == TG_PUNT_T_AUTH_SERVER ||
			     type == TG_PUNT_T_AUTH_REPLY);
	wr_hdr(&w, TG_PUNT_VERSION_MAX, type, seq);
	wr_check(&w, a->session != 0);
	wr_u16(&w, a->worker);
	wr_u64(&w, a->session);
	switch (type) {
	case TG_PUNT_T_AUTH_REQUEST:
		wr_check(&w, a->service.len != 0 &&
				     (a->token.len == 0 || memchr(a->token.p, 0, a->token.len) == NULL));
		wr_str(&w, false, TG_PUNT_NAME_MAX, &a->service, false);
		wr_str(&w, false, TG_PUNT_NAME_MAX, &a->client, false);
		wr_str(&w, false, TG_PUNT_NAME_MAX, &a->server, false);
		wr_bytes(&w, 8, TG_PUNT_AUTH_STARTUP_MAX, &a->startup);
		wr_bytes(&w, 0, TG_PUNT_AUTH_TOKEN_MAX, &a->token);
		break;
	case TG_PUNT_T_AUTH_SERVER:
		wr_bytes(&w, 5, TG_PUNT_AUTH_MSG_MAX, &a->data);
		break;
	default:
		wr_check(&w, auth_reply_ok(a));
		wr_u8(&w, a->action);
		wr_bytes(&w, 0, TG_PUNT_AUTH_SEND_MAX, &a->data);
		wr_str(&w, false, TG_PUNT_SQLSTATE_MAX, &a->sqlstate, false);
		wr_str(&w, true, TG_PUNT_REASON_MAX, &a->text, false);
		wr_str(&w, false, TG_PUNT_NAME_MAX, &a->role, false);
		break;
	}
	return wr_finish(&w);
}

int
tg_punt_encode_hold(uint8_t *buf, size_t size, uint64_t seq, uint16_t type,
		    const struct tg_punt_hold *h)
{
	struct wr w;

	wr_init(&w, buf, size, 0);
	wr_check(&w, (type == TG_PUNT_T_HOLD_REQUEST || type == TG_PUNT_T_HOLD_REPLY) &&
			     hold_ok(type, h));
	wr_hdr(&w, TG_PUNT_VERSION_MAX, type, seq);
	wr_u16(&w, h->worker);
	wr_u64(&w, h->session);
	wr_u32(&w, h->hold);
	if (type == TG_PUNT_T_HOLD_REPLY) {
		wr_u8(&w, h->decision);
		wr_str(&w, false, TG_PUNT_HOLD_ID_MAX, &h->id, false);
		wr_str(&w, false, TG_PUNT_SQLSTATE_MAX, &h->sqlstate, false);
	} else {
		wr_u8(&w, h->op);
		if (h->op == TG_PUNT_HOLD_ASK) {
			wr_u8(&w, h->kind);
			wr_u8(&w, h->quorum);
			wr_u8(&w, h->self_approval);
			wr_u32(&w, h->timeout_s);
			wr_u64(&w, h->t_ns);
			wr_str(&w, false, TG_PUNT_NAME_MAX, &h->service, false);
			wr_str(&w, false, TG_PUNT_NAME_MAX, &h->rule, false);
			wr_str(&w, false, TG_PUNT_NAME_MAX, &h->approvers, false);
			/* from the network: a NUL goes as '?' (see Caveats) */
			wr_str(&w, false, TG_PUNT_NAME_MAX, &h->client, true);
			wr_str(&w, false, TG_PUNT_NAME_MAX, &h->server, true);
			wr_str(&w, false, TG_PUNT_NAME_MAX, &h->user, true);
			wr_str(&w, false, TG_PUNT_NAME_MAX, &h->database, true);
			wr_str(&w, true, TG_PUNT_TEXT_MAX, &h->text, true);
			wr_str(&w, true, TG_PUNT_PARAMS_MAX, &h->params, true);
		}
	}
	if (type == TG_PUNT_T_HOLD_REPLY || h->op != TG_PUNT_HOLD_ASK)
		wr_str(&w, true, TG_PUNT_REASON_MAX, &h->reason, false);
	return wr_finish(&w);
}

/* ---------------------------------------------------------------------
 * Policy objects
 * ------------------------------------------------------------------- */

static size_t
policy_bytes(const struct tg_punt_policy *p)
{
	return TLV_HDR + (size_t)p->json.len + (p->db.p != NULL ? TLV_HDR + (size_t)p->db.len : 0);
}

static bool
policy_ok(const struct tg_punt_policy *p)
{
	return p->json.p != NULL && p->json.len >= 1 &&
	       p->json.len <= TG_PUNT_POLICY_MAX - TLV_HDR &&
	       memchr(p->json.p, 0, p->json.len) == NULL &&
	       (p->db.p == NULL || (p->db.len >= 1 && p->db.len <= TG_PUNT_POLICY_MAX)) &&
	       policy_bytes(p) <= TG_PUNT_POLICY_MAX;
}

size_t
tg_punt_policy_size(const struct tg_punt_policy *p)
{
	return policy_ok(p) ? policy_bytes(p) : 0;
}

int
tg_punt_policy_encode(const struct tg_punt_policy *p, uint8_t *buf, size_t size)
{
	size_t need;

	if (!policy_ok(p) || buf == NULL)
		return -EINVAL;
	need = tg_punt_policy_size(p);
	if (size < need)
		return -ENOSPC;
	tg_wr16(buf, TG_PUNT_POL_JSON);
	tg_wr32(buf + 2, p->json.len);
	memcpy(buf + TLV_HDR, p->json.p, p->json.len);
	if (p->db.p != NULL) {
		uint8_t *d = buf + TLV_HDR + p->json.len;

		tg_wr16(d, TG_PUNT_POL_DB);
		tg_wr32(d + 2, p->db.len);
		memcpy(d + TLV_HDR, p->db.p, p->db.len);
	}
	return (int)need;
}

enum tg_punt_err
tg_punt_policy_decode(const uint8_t *obj, size_t len, struct tg_punt_policy *p)
{
	struct rd r = { .p = obj, .left = len };
	uint16_t type, prev = 0;
	const uint8_t *v;
	uint32_t n;

	memset(p, 0, sizeof(*p));
	if (obj == NULL || len > TG_PUNT_POLICY_MAX)
		return TG_PUNT_ERR_POLICY_CHUNK;
	while (r.left > 0 && r.err == TG_PUNT_OK) {
		type = rd_u16(&r);
		n = rd_u32(&r);
		if (!rd_check(&r, type == TG_PUNT_POL_JSON || type == TG_PUNT_POL_DB,
			      TG_PUNT_ERR_TLV_TYPE) ||
		    !rd_check(&r, type > prev, TG_PUNT_ERR_ORDER))
			break;
		prev = type;
		v = rd_take(&r, n);
		if (v == NULL || !rd_check(&r, n >= 1, TG_PUNT_ERR_VALUE))
			break;
		if (type == TG_PUNT_POL_DB) {
			p->db.p = v;
			p->db.len = n;
		} else if (rd_check(&r, memchr(v, 0, n) == NULL, TG_PUNT_ERR_STR_NUL)) {
			p->json.p = (const char *)v;
			p->json.len = n;
		}
	}
	rd_check(&r, p->json.p != NULL, TG_PUNT_ERR_TLV_MISSING);
	return r.err;
}

enum tg_punt_err
tg_punt_policy_rx_add(struct tg_punt_policy_rx *rx, const struct tg_punt_policy_chunk *c)
{
	bool incomplete = rx->gen != 0 && rx->got < rx->total;

	if (c->gen == 0 || c->len == 0 || c->offset >= c->total || c->len > c->total - c->offset)
		return TG_PUNT_ERR_POLICY_CHUNK;
	if (c->offset == 0) {
		if (incomplete)
			return TG_PUNT_ERR_POLICY_ORDER;
		rx->gen = c->gen;
		rx->total = c->total;
		rx->got = c->len;
		return TG_PUNT_OK;
	}
	if (!incomplete || c->gen != rx->gen || c->total != rx->total || c->offset != rx->got)
		return TG_PUNT_ERR_POLICY_ORDER;
	rx->got += c->len;
	return TG_PUNT_OK;
}

bool
tg_punt_policy_rx_done(const struct tg_punt_policy_rx *rx)
{
	return rx->gen != 0 && rx->got == rx->total;
}

/* ---------------------------------------------------------------------
 * Handshake
 * ------------------------------------------------------------------- */

static bool
role_ok(uint8_t role)
{
	return role == TG_PUNT_ROLE_DATAPLANE || role == TG_PUNT_ROLE_SLOWPATH;
}

void
tg_punt_hello_answer(const struct tg_punt_hello *self, const struct tg_punt_hello *peer,
		     struct tg_punt_hello_ack *ack)
{
	uint16_t lo = self->vmin > peer->vmin ? self->vmin : peer->vmin;
	uint16_t hi = self->vmax < peer->vmax ? self->vmax : peer->vmax;

	memset(ack, 0, sizeof(*ack));
	ack->role = self->role;
	ack->vmin = self->vmin;
	ack->vmax = self->vmax;
	ack->instance = self->instance;
	ack->caps = self->caps;
	ack->software = self->software;
	ack->reason.p = "";
	if (!role_ok(peer->role) || peer->role == self->role) {
		ack->status = TG_PUNT_HELLO_REFUSE;
		ack->refuse = TG_PUNT_REFUSE_ROLE;
		ack->reason.p = "the peer states the answerer's role";
	} else if (lo > hi) {
		ack->status = TG_PUNT_HELLO_REFUSE;
		ack->refuse = TG_PUNT_REFUSE_VERSION;
		ack->reason.p = "no protocol version in common";
	} else {
		ack->status = TG_PUNT_HELLO_ACCEPT;
		ack->version = hi;
	}
	ack->reason.len = (uint32_t)strlen(ack->reason.p);
}

enum tg_punt_err
tg_punt_hello_check(const struct tg_punt_hello *sent, const struct tg_punt_hello_ack *ack,
		    uint16_t *version)
{
	if (ack->status != TG_PUNT_HELLO_ACCEPT)
		return TG_PUNT_ERR_HELLO_REFUSED;
	if (!role_ok(ack->role) || ack->role == sent->role)
		return TG_PUNT_ERR_HELLO_ROLE;
	if (ack->version < sent->vmin || ack->version > sent->vmax || ack->version < ack->vmin ||
	    ack->version > ack->vmax)
		return TG_PUNT_ERR_HELLO_VERSION;
	*version = ack->version;
	return TG_PUNT_OK;
}
