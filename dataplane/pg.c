/* SPDX-License-Identifier: MIT */
/*
 * pg.c — incremental PostgreSQL v3 protocol parser. See pg.h for the
 * contract; section numbers are from chapter 55 of the PostgreSQL 15 docs
 * ("Frontend/Backend Protocol"), file names from the PostgreSQL 15 source.
 *
 * Reading a direction is one state machine: gather the header (4 bytes of
 * length for a startup packet, type byte and 4 bytes of length for the
 * rest, 1 byte for the answer to an encryption request), check the type
 * and the length against the phase and the caps before any body byte is
 * looked at, then either decode the body in place (the whole message is in
 * the piece), copy it into the assembly buffer until it is whole, or, for
 * DataRow, FunctionCallResponse and CopyData, walk it as it comes. Bodies
 * are read through struct rd, whose readers check the length before every
 * read and return the violation; decoders leave through their first
 * failing read, and violate() is the one place that counts and reports.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pg.h"
#include "wire.h"

/* Startup packet codes (55.7: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest) */
#define PG_SSL_CODE 80877103u
#define PG_GSSENC_CODE 80877104u
#define PG_CANCEL_CODE 80877102u

/* pqcomm.h PQ_LARGE_MESSAGE_LIMIT: MaxAllocSize - 1 */
#define PG_LARGE_LIMIT 0x3ffffffeu

#define NONE UINT32_MAX
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* Client phases */
enum { C_STARTUP, C_WAIT, C_TYPED, C_DONE };
/* Server phases */
enum { S_IDLE, S_ANSWER, S_AUTH, S_NORMAL };
/* What the reader of a direction is doing */
enum { M_HDR, M_BUF, M_ROW, M_COPY };
/* Within a streamed DataRow or FunctionCallResponse */
enum { R_COUNT, R_LEN, R_DATA };
/* The 'p' message the last Authentication request asked for */
enum { AX_NONE, AX_PASSWORD, AX_SASL_INITIAL, AX_SASL, AX_GSS };

/* Model objects (statements and portals) */
enum { T_STMT, T_PORTAL };
enum { OBJ_FREE, OBJ_LIVE, OBJ_SHADOW, OBJ_CLOSING };

struct tg_pg_obj {
	uint64_t seq;		/* the request that made it */
	uint32_t gen;		/* tells a reused slot from the one a request made */
	uint32_t hash;
	uint32_t next;		/* the next slot in its hash chain, or in the free list */
	uint32_t text;		/* pool block of the statement text, or NONE */
	uint32_t text_len;
	uint32_t params;	/* portals: pool block of the parameter display, or NONE */
	uint16_t nparams, nshown;
	uint8_t state;
	uint8_t name_len;
	uint8_t stmt_len;	/* portals: the statement's name */
	uint32_t stmt_gen;	/* portals: the gen of the statement bound, 0: not in the model */
	char name[TG_PG_NAME_MAX + 1];
	char stmt[TG_PG_NAME_MAX + 1];
};

/* Requests awaiting their reply */
enum {
	OP_NOP,		/* answered by nothing (swallowed by a COPY); popped when first */
	OP_PARSE,
	OP_BIND,
	OP_DESCRIBE_S,
	OP_DESCRIBE_P,
	OP_EXECUTE,
	OP_CLOSE_S,
	OP_CLOSE_P,
	OP_SYNC,
	OP_QUERY,
	OP_FCALL,
	OP_COPYEND,	/* the client's CopyDone/CopyFail, sent before the COPY began */
};
/* What a request did to the model, to be committed or undone */
enum { FX_NONE, FX_NEW, FX_SHADOW, FX_CLOSING };

struct tg_pg_op {
	uint64_t seq;
	uint32_t slot, gen;
	uint8_t kind, fx, table;
};

/*
 * A pool block: this header, then len bytes. size is the whole block,
 * rounded up to 8; fwd is the block's address after compaction.
 */
struct blk {
	uint32_t size;
	uint32_t refs;
	uint32_t fwd;
	uint32_t len;
};
#define BLK_HDR ((uint32_t)sizeof(struct blk))

const char *const tg_pg_fe_names[TG_PG_FE_MAX] = {
#define NAME(e, t, n) [TG_PG_FE_##e] = n,
	TG_PG_FE_MSGS(NAME)
#undef NAME
};

const char *const tg_pg_be_names[TG_PG_BE_MAX] = {
#define NAME(e, t, n) [TG_PG_BE_##e] = n,
	TG_PG_BE_MSGS(NAME)
#undef NAME
};

const char *const tg_pg_err_names[TG_PG_ERR_MAX] = {
	[TG_PG_OK] = "ok",
#define NAME(e, n, d) [TG_PG_ERR_##e] = n,
	TG_PG_ERRORS(NAME)
#undef NAME
};

const char *const tg_pg_err_descs[TG_PG_ERR_MAX] = {
	[TG_PG_OK] = "no violation",
#define DESC(e, n, d) [TG_PG_ERR_##e] = d,
	TG_PG_ERRORS(DESC)
#undef DESC
};

const char *const tg_pg_counter_names[TG_PG_CNT_MAX] = {
#define NAME(e, n, d) [TG_PG_CNT_##e] = n,
	TG_PG_COUNTERS(NAME)
#undef NAME
};

/*
 * Type byte to kind + 1 (0: not a type of that direction). Untyped kinds
 * land past index 255, where no lookup reaches, so that no slot is
 * initialised twice.
 */
static const uint8_t fe_kind_of[256 + TG_PG_FE_MAX] = {
#define IDX(e, t, n) [(t) ? (t) : 256 + TG_PG_FE_##e] = TG_PG_FE_##e + 1,
	TG_PG_FE_MSGS(IDX)
#undef IDX
};

static const uint8_t be_kind_of[256 + TG_PG_BE_MAX] = {
#define IDX(e, t, n) [(t) ? (t) : 256 + TG_PG_BE_##e] = TG_PG_BE_##e + 1,
	TG_PG_BE_MSGS(IDX)
#undef IDX
};

/* ---------------------------------------------------------------------
 * Bounded reader over one message body
 * ------------------------------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
	const uint8_t *base;	/* the message's first byte */
	uint64_t off;		/* its stream offset */
};

#define TRY(e) \
	do { \
		if ((err = (e)) != TG_PG_OK) \
			return err; \
	} while (0)

static inline uint32_t
rd_left(const struct rd *r)
{
	return (uint32_t)(r->end - r->p);
}

static inline uint64_t
rd_off(const struct rd *r, const uint8_t *p)
{
	return r->off + (uint64_t)(p - r->base);
}

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (rd_left(r) < 1)
		return TG_PG_ERR_SHORT;
	*v = *r->p++;
	return TG_PG_OK;
}

static int
rd_i16(struct rd *r, int16_t *v)
{
	if (rd_left(r) < 2)
		return TG_PG_ERR_SHORT;
	*v = (int16_t)tg_rd16(r->p);
	r->p += 2;
	return TG_PG_OK;
}

/* A count (Int16) that must not be negative */
static int
rd_count(struct rd *r, uint16_t *v)
{
	int16_t n;
	int err;

	TRY(rd_i16(r, &n));
	if (n < 0)
		return TG_PG_ERR_BAD_VALUE;
	*v = (uint16_t)n;
	return TG_PG_OK;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (rd_left(r) < 4)
		return TG_PG_ERR_SHORT;
	*v = tg_rd32(r->p);
	r->p += 4;
	return TG_PG_OK;
}

static int
rd_bytes(struct rd *r, uint64_t n, const uint8_t **b)
{
	if (rd_left(r) < n)
		return TG_PG_ERR_SHORT;
	*b = r->p;
	r->p += n;
	return TG_PG_OK;
}

/* A value: Int32 length (-1: NULL) then that many bytes */
static int
rd_value(struct rd *r, int32_t *len, const uint8_t **b)
{
	uint32_t l;
	int err;

	TRY(rd_u32(r, &l));
	*len = (int32_t)l;
	*b = NULL;
	if (*len < -1)
		return TG_PG_ERR_BAD_VALUE;
	if (*len == -1)
		return TG_PG_OK;
	return rd_bytes(r, l, b);
}

/* A String: bytes up to a NUL that must lie inside the message */
static int
rd_str(struct rd *r, struct tg_pg_str *s)
{
	const uint8_t *z = memchr(r->p, 0, rd_left(r));

	if (z == NULL)
		return TG_PG_ERR_STR_NUL;
	s->p = (const char *)r->p;
	s->len = (uint32_t)(z - r->p);
	s->off = rd_off(r, r->p);
	r->p = z + 1;
	return TG_PG_OK;
}

static int
rd_end(const struct rd *r)
{
	return r->p == r->end ? TG_PG_OK : TG_PG_ERR_TRAILING;
}

static void
iter_init(struct tg_pg_iter *it, const struct rd *r, const uint8_t *from, const uint8_t *to,
	  uint32_t count)
{
	it->p = from;
	it->end = to;
	it->off = rd_off(r, from);
	it->left = count;
}

/* ---------------------------------------------------------------------
 * Limits and setup
 * ------------------------------------------------------------------- */

void
tg_pg_limits_default(struct tg_pg_limits *lim)
{
	*lim = (struct tg_pg_limits){
		.startup_max = 10000,
		.fe_small_max = 10000,
		.auth_max = 65535,
		.stmt_max = 1u << 20,
		.data_max = PG_LARGE_LIMIT,
		.be_long_max = 256u << 10,
		.be_small_max = 30000,
		.text_max = 256u << 10,
		.params_max = 64,
		.param_show_max = 256,
		.stmts_max = 512,
		.portals_max = 32,
		.pending_max = 4096,
		.pool_size = 1u << 20,
	};
}

static uint64_t
align8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* Longest buffered message of each direction, type byte included */
static uint32_t
fe_buf_size(const struct tg_pg_limits *l)
{
	uint32_t m = l->startup_max + 4;

	m = m > l->fe_small_max ? m : l->fe_small_max;
	m = m > l->auth_max ? m : l->auth_max;
	m = m > l->stmt_max ? m : l->stmt_max;
	return m + 1;
}

static uint32_t
be_buf_size(const struct tg_pg_limits *l)
{
	return (l->be_long_max > l->be_small_max ? l->be_long_max : l->be_small_max) + 1;
}

/* Hash chain heads per table: a power of two, at least one per slot */
static uint32_t
buckets(uint32_t n)
{
	uint32_t b = 1;

	while (b < n)
		b <<= 1;
	return b;
}

size_t
tg_pg_arena_size(const struct tg_pg_limits *l)
{
	/* A buffered class must hold its fixed-size members; nothing past 1 GiB. */
	const uint32_t lo = 64, hi = PG_LARGE_LIMIT;
	uint64_t n;

	if (l->startup_max < 8 || l->startup_max > hi || l->fe_small_max < lo ||
	    l->fe_small_max > hi || l->auth_max < lo || l->auth_max > hi || l->stmt_max < lo ||
	    l->stmt_max > hi || l->data_max < lo || l->data_max > hi || l->be_long_max < lo ||
	    l->be_long_max > hi || l->be_small_max < lo || l->be_small_max > hi)
		return 0;
	if (l->pool_size < 64 || l->pool_size > hi || l->text_max > l->pool_size ||
	    l->params_max > 65535 || l->param_show_max < 2 || l->param_show_max > 65536 ||
	    l->stmts_max < 1 || l->stmts_max > 65536 || l->portals_max < 1 ||
	    l->portals_max > 65536 || l->pending_max < 1 || l->pending_max > (1u << 20))
		return 0;
	n = align8(fe_buf_size(l)) + align8(be_buf_size(l));
	n += align8((uint64_t)l->stmts_max * sizeof(struct tg_pg_obj));
	n += align8((uint64_t)l->portals_max * sizeof(struct tg_pg_obj));
	n += align8((uint64_t)buckets(l->stmts_max) * sizeof(uint32_t));
	n += align8((uint64_t)buckets(l->portals_max) * sizeof(uint32_t));
	n += align8((uint64_t)l->pending_max * sizeof(struct tg_pg_op));
	n += align8(l->pool_size);
	if (n > SIZE_MAX)
		return 0;
	return (size_t)n;
}

int
tg_pg_init(struct tg_pg_session *s, const struct tg_pg_limits *lim,
	   const struct tg_pg_callbacks *cb, void *ctx, void *arena, size_t arena_size)
{
	static const struct tg_pg_callbacks no_callbacks;
	struct tg_pg_limits def;
	uint8_t *a = arena;
	size_t need;
	uint32_t i;
	int t;

	if (lim == NULL) {
		tg_pg_limits_default(&def);
		lim = &def;
	}
	need = tg_pg_arena_size(lim);
	if (s == NULL || need == 0 || a == NULL || arena_size < need || ((uintptr_t)a & 7) != 0)
		return -EINVAL;

	memset(s, 0, sizeof(*s));
	s->lim = *lim;
	s->cb = cb != NULL ? cb : &no_callbacks;
	s->ctx = ctx;

	s->dir[TG_PG_DIR_FE].buf = a;
	s->dir[TG_PG_DIR_FE].buf_size = fe_buf_size(lim);
	a += align8(fe_buf_size(lim));
	s->dir[TG_PG_DIR_BE].buf = a;
	s->dir[TG_PG_DIR_BE].buf_size = be_buf_size(lim);
	a += align8(be_buf_size(lim));
	for (t = 0; t < 2; t++) {
		struct tg_pg_table *tab = &s->tab[t];

		tab->n = t == T_STMT ? lim->stmts_max : lim->portals_max;
		tab->mask = buckets(tab->n) - 1;
		tab->obj = (struct tg_pg_obj *)(void *)a;
		a += align8((uint64_t)tab->n * sizeof(struct tg_pg_obj));
		tab->bucket = (uint32_t *)(void *)a;
		a += align8((uint64_t)(tab->mask + 1) * sizeof(uint32_t));
		for (i = 0; i <= tab->mask; i++)
			tab->bucket[i] = NONE;
		for (i = 0; i < tab->n; i++)
			tab->obj[i] = (struct tg_pg_obj){ .state = OBJ_FREE, .text = NONE,
							  .params = NONE, .next = i + 1 };
		tab->obj[tab->n - 1].next = NONE;
		tab->free = 0;
		tab->live = 0;
	}
	s->ops = (struct tg_pg_op *)(void *)a;
	a += align8((uint64_t)lim->pending_max * sizeof(struct tg_pg_op));
	s->pool = a;

	s->op_seq = 1;
	s->gen = 1;
	s->dir[TG_PG_DIR_FE].phase = C_STARTUP;
	s->dir[TG_PG_DIR_BE].phase = S_IDLE;
	return 0;
}

/* The one exit for a violation: counted, reported, and the session is broken. */
static uint32_t
violate(struct tg_pg_session *s, int dir, int err, uint64_t off)
{
	s->cnt.err[err]++;
	s->broken = true;
	/* a split password must not outlive the session's use of it */
	tg_pg_fini(s);
	if (s->cb->violation != NULL)
		s->cb->violation(s->ctx, dir, (enum tg_pg_err)err, off);
	return 0;
}

static bool
is_auth(const struct tg_pg_msg *m)
{
	return m->type == (m->dir == TG_PG_DIR_FE ? 'p' : 'R');
}

void
tg_pg_fini(struct tg_pg_session *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct tg_pg_dir *d = &s->dir[i];

		if (d->mode == M_BUF && is_auth(&d->cur) && d->buf != NULL)
			explicit_bzero(d->buf, d->have);
	}
}

enum tg_pg_state
tg_pg_state(const struct tg_pg_session *s)
{
	if (s->broken)
		return TG_PG_BROKEN;
	if (s->opaque)
		return TG_PG_OPAQUE;
	if (s->dir[TG_PG_DIR_FE].phase == C_DONE)
		return TG_PG_CLOSED;
	if (s->dir[TG_PG_DIR_BE].phase == S_NORMAL)
		return TG_PG_READY;
	if (s->dir[TG_PG_DIR_FE].phase == C_TYPED)
		return TG_PG_AUTH;
	return TG_PG_STARTUP;
}

/* ---------------------------------------------------------------------
 * Pool: statement texts and parameter displays
 * ------------------------------------------------------------------- */

static inline struct blk *
blk_at(struct tg_pg_session *s, uint32_t off)
{
	return (struct blk *)(void *)(s->pool + off);
}

static inline uint8_t *
blk_data(struct tg_pg_session *s, uint32_t off)
{
	return s->pool + off + BLK_HDR;
}

static void
blk_unref(struct tg_pg_session *s, uint32_t off)
{
	struct blk *b = blk_at(s, off);

	if (--b->refs == 0)
		s->pool_live -= b->size;
}

/*
 * Slides the live blocks down over the dead ones (mark-compact): forwarding
 * addresses first, then every reference through them, then the moves, in
 * address order so that a block never lands on one not yet moved.
 */
static void
pool_compact(struct tg_pg_session *s)
{
	uint32_t off, size, to = 0, i;

	for (off = 0; off < s->pool_top; off += blk_at(s, off)->size) {
		struct blk *b = blk_at(s, off);

		if (b->refs != 0) {
			b->fwd = to;
			to += b->size;
		}
	}
	for (i = 0; i < s->tab[T_STMT].n + s->tab[T_PORTAL].n; i++) {
		struct tg_pg_obj *o = i < s->tab[T_STMT].n ? &s->tab[T_STMT].obj[i]
							  : &s->tab[T_PORTAL].obj[i - s->tab[T_STMT].n];

		if (o->state == OBJ_FREE)
			continue;
		if (o->text != NONE)
			o->text = blk_at(s, o->text)->fwd;
		if (o->params != NONE)
			o->params = blk_at(s, o->params)->fwd;
	}
	for (off = 0; off < s->pool_top; off += size) {
		struct blk *b = blk_at(s, off);

		size = b->size;
		if (b->refs != 0 && b->fwd != off)
			memmove(s->pool + b->fwd, b, size);
	}
	s->pool_top = to;
	s->cnt.cnt[TG_PG_CNT_COMPACTIONS]++;
}

/* A block of len bytes with one reference, or NONE when the live blocks leave no room. */
static uint32_t
pool_alloc(struct tg_pg_session *s, uint64_t len)
{
	uint64_t need = align8(BLK_HDR + len);
	struct blk *b;
	uint32_t off;

	if (need > s->lim.pool_size - s->pool_live)
		return NONE;
	if (need > s->lim.pool_size - s->pool_top)
		pool_compact(s);
	off = s->pool_top;
	b = blk_at(s, off);
	b->size = (uint32_t)need;
	b->refs = 1;
	b->fwd = 0;
	b->len = (uint32_t)len;
	s->pool_top += (uint32_t)need;
	s->pool_live += (uint32_t)need;
	return off;
}

/* ---------------------------------------------------------------------
 * Statements and portals
 * ------------------------------------------------------------------- */

/* FNV-1a */
static uint32_t
name_hash(const char *p, uint32_t len)
{
	uint32_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

static inline uint32_t
name_len(uint32_t len)
{
	return MIN(len, TG_PG_NAME_MAX);
}

/*
 * Each table chains its objects by name hash (one head per slot, so the
 * chains stay short) and keeps its free slots on a list: finding a name
 * costs a walk of one chain, not of the table.
 */
static inline uint32_t *
chain_head(struct tg_pg_table *tab, uint32_t hash)
{
	return &tab->bucket[hash & tab->mask];
}

static void
obj_clear(struct tg_pg_session *s, int t, struct tg_pg_obj *o)
{
	struct tg_pg_table *tab = &s->tab[t];
	uint32_t idx = (uint32_t)(o - tab->obj), *link = chain_head(tab, o->hash);

	if (o->state == OBJ_FREE)
		return;
	if (o->text != NONE)
		blk_unref(s, o->text);
	if (o->params != NONE)
		blk_unref(s, o->params);
	o->text = NONE;
	o->params = NONE;
	o->state = OBJ_FREE;
	while (*link != idx)
		link = &tab->obj[*link].next;
	*link = o->next;
	o->next = tab->free;
	tab->free = idx;
	tab->live--;
}

static bool
name_is(const struct tg_pg_obj *o, uint32_t hash, const char *name, uint32_t len)
{
	return o->hash == hash && o->name_len == len && memcmp(o->name, name, len) == 0;
}

/* The live object of that name (already cut to TG_PG_NAME_MAX bytes) */
static struct tg_pg_obj *
obj_find(struct tg_pg_session *s, int t, const char *name, uint32_t len)
{
	struct tg_pg_table *tab = &s->tab[t];
	uint32_t h = name_hash(name, len), i;

	for (i = *chain_head(tab, h); i != NONE; i = tab->obj[i].next)
		if (tab->obj[i].state == OBJ_LIVE && name_is(&tab->obj[i], h, name, len))
			return &tab->obj[i];
	return NULL;
}

/*
 * The object a request naming it will reach on the server. A kept-aside
 * Parse or Bind sent since the last Sync wins: if it fails as a duplicate
 * the server discards every request after it up to the Sync, so the
 * requests that do run are those that follow its success. Else the live
 * one, else a kept-aside one (no object holds the name: it will take it).
 */
static struct tg_pg_obj *
obj_lookup(struct tg_pg_session *s, int t, const char *name, uint32_t len)
{
	struct tg_pg_table *tab = &s->tab[t];
	struct tg_pg_obj *live = NULL, *shadow = NULL;
	uint32_t h = name_hash(name, len), i;

	for (i = *chain_head(tab, h); i != NONE; i = tab->obj[i].next) {
		struct tg_pg_obj *o = &tab->obj[i];

		if (!name_is(o, h, name, len))
			continue;
		if (o->state == OBJ_LIVE)
			live = o;
		else if (o->state == OBJ_SHADOW && (shadow == NULL || o->seq > shadow->seq))
			shadow = o;
	}
	if (shadow != NULL && (shadow->seq > s->sync_seq || live == NULL))
		return shadow;
	return live;
}

static struct tg_pg_obj *
obj_new(struct tg_pg_session *s, int t, const char *name, uint32_t len, uint8_t state)
{
	struct tg_pg_table *tab = &s->tab[t];
	uint32_t idx = tab->free, *head;
	struct tg_pg_obj *o;

	if (idx == NONE)
		return NULL;
	o = &tab->obj[idx];
	tab->free = o->next;
	o->seq = s->op_seq;	/* that of the request about to be queued */
	o->gen = s->gen++;
	o->hash = name_hash(name, len);
	o->name_len = (uint8_t)len;
	memcpy(o->name, name, len);
	o->name[len] = '\0';
	o->stmt_len = 0;
	o->stmt[0] = '\0';
	o->stmt_gen = 0;
	o->text = NONE;
	o->text_len = 0;
	o->params = NONE;
	o->nparams = 0;
	o->nshown = 0;
	o->state = state;
	head = chain_head(tab, o->hash);
	o->next = *head;
	*head = idx;
	tab->live++;
	return o;
}

static void
drop_unnamed(struct tg_pg_session *s, int t)
{
	struct tg_pg_obj *o = obj_find(s, t, "", 0);

	if (o != NULL)
		obj_clear(s, t, o);
}

/* Points each parameter's val at its bytes in the block (the pool moves). */
static const struct tg_pg_param *
params_of(struct tg_pg_session *s, const struct tg_pg_obj *o)
{
	struct tg_pg_param *pv;
	char *p;
	uint16_t i;

	if (o->params == NONE)
		return NULL;
	pv = (struct tg_pg_param *)(void *)blk_data(s, o->params);
	p = (char *)(pv + o->nshown);
	for (i = 0; i < o->nshown; i++) {
		pv[i].val = pv[i].wire_len < 0 ? NULL : p;
		p += pv[i].len;
	}
	return pv;
}

static const char *
text_of(struct tg_pg_session *s, const struct tg_pg_obj *o)
{
	return o->text == NONE ? NULL : (const char *)blk_data(s, o->text);
}

/* ---------------------------------------------------------------------
 * Requests awaiting their reply (55.2.3: the server answers in order)
 * ------------------------------------------------------------------- */

/* The ring index i places after the head (i <= pending_max): no division on the fast path. */
static inline uint32_t
op_index(const struct tg_pg_session *s, uint32_t i)
{
	uint32_t k = s->op_head + i;

	return k >= s->lim.pending_max ? k - s->lim.pending_max : k;
}

static inline struct tg_pg_op *
op_at(struct tg_pg_session *s, uint32_t i)
{
	return &s->ops[op_index(s, i)];
}

static void
op_pop(struct tg_pg_session *s, uint32_t n)
{
	s->op_head = op_index(s, n);
	s->op_count -= n;
}

/* The oldest request that expects a reply (markers before it are dropped). */
static struct tg_pg_op *
op_front(struct tg_pg_session *s)
{
	while (s->op_count != 0) {
		struct tg_pg_op *o = op_at(s, 0);

		if (o->kind != OP_NOP && o->kind != OP_COPYEND)
			return o;
		op_pop(s, 1);
	}
	return NULL;
}

static int
op_push(struct tg_pg_session *s, uint8_t kind, int table, const struct tg_pg_obj *obj, uint8_t fx)
{
	struct tg_pg_op *o;

	if (s->op_count == s->lim.pending_max)
		return TG_PG_ERR_PENDING_CAP;
	o = op_at(s, s->op_count);
	o->seq = s->op_seq++;
	o->kind = kind;
	o->fx = obj != NULL ? fx : FX_NONE;
	o->table = (uint8_t)table;
	o->slot = NONE;
	o->gen = 0;
	if (obj != NULL) {
		o->slot = (uint32_t)(obj - s->tab[table].obj);
		o->gen = obj->gen;
	}
	s->op_count++;
	return TG_PG_OK;
}

/* The object a request made or marked, if it is still that one */
static struct tg_pg_obj *
op_obj(struct tg_pg_session *s, const struct tg_pg_op *o)
{
	struct tg_pg_obj *obj;

	if (o->fx == FX_NONE)
		return NULL;
	obj = &s->tab[o->table].obj[o->slot];
	return obj->state != OBJ_FREE && obj->gen == o->gen ? obj : NULL;
}

/* The server did it. */
static void
op_commit(struct tg_pg_session *s, const struct tg_pg_op *op)
{
	struct tg_pg_table *tab = &s->tab[op->table];
	struct tg_pg_obj *o = op_obj(s, op);
	uint32_t i, next;

	if (o == NULL)
		return;
	if (op->fx == FX_CLOSING) {
		obj_clear(s, op->table, o);
		return;
	}
	/*
	 * The server has the name now, so an older object of the name in the
	 * model is gone there (DEALLOCATE, or a kept-aside duplicate whose
	 * elder failed). Newer ones are the client's later, pipelined hopes.
	 */
	for (i = *chain_head(tab, o->hash); i != NONE; i = next) {
		struct tg_pg_obj *x = &tab->obj[i];

		next = x->next;
		if (x != o && x->state == OBJ_LIVE && x->seq < o->seq &&
		    name_is(x, o->hash, o->name, o->name_len))
			obj_clear(s, op->table, x);
	}
	o->state = OBJ_LIVE;
}

/* The server did not do it (it failed, or was discarded until Sync). */
static void
op_undo(struct tg_pg_session *s, const struct tg_pg_op *op)
{
	struct tg_pg_table *tab = &s->tab[op->table];
	struct tg_pg_obj *o = op_obj(s, op);
	uint32_t i;

	if (op->kind != OP_NOP && op->kind != OP_COPYEND)
		s->cnt.cnt[TG_PG_CNT_ROLLED_BACK]++;
	if (o == NULL)
		return;
	if (op->fx != FX_CLOSING) {
		obj_clear(s, op->table, o);
		return;
	}
	if (o->state != OBJ_CLOSING)
		return;
	/* Still there: a newer object of the name will fail as a duplicate. */
	o->state = OBJ_LIVE;
	for (i = *chain_head(tab, o->hash); i != NONE; i = tab->obj[i].next) {
		struct tg_pg_obj *x = &tab->obj[i];

		if (x != o && x->state == OBJ_LIVE && x->seq > o->seq &&
		    name_is(x, o->hash, o->name, o->name_len))
			x->state = OBJ_SHADOW;
	}
}

static bool
op_extended(uint8_t kind)
{
	return kind == OP_PARSE || kind == OP_BIND || kind == OP_DESCRIBE_S ||
	       kind == OP_DESCRIBE_P || kind == OP_EXECUTE || kind == OP_CLOSE_S ||
	       kind == OP_CLOSE_P;
}

/*
 * An ErrorResponse to the extended-query request at the front: it failed,
 * and the server discards every message up to the next Sync (55.2.3
 * "Extended Query"). Undone newest first, so a restored name is restored
 * over what came after it.
 */
static void
op_fail(struct tg_pg_session *s)
{
	uint32_t n = 1, i;

	while (n < s->op_count && op_at(s, n)->kind != OP_SYNC)
		n++;
	if (n == s->op_count)
		s->skip = true;	/* the Sync is still to come */
	for (i = n; i-- > 0;)
		op_undo(s, op_at(s, i));
	op_pop(s, n);
}

/*
 * CopyInResponse or CopyBothResponse: COPY FROM STDIN reads the client's
 * messages itself until CopyDone or CopyFail, ignoring Sync and Flush and
 * failing on anything else, which it has consumed (copyfromparse.c
 * CopyGetData). Requests queued behind the COPY are looked at in that
 * light; if the client's end of the COPY is not there yet, it is awaited.
 */
static void
copy_walk(struct tg_pg_session *s)
{
	uint32_t i;

	for (i = 1; i < s->op_count; i++) {
		struct tg_pg_op *o = op_at(s, i);

		switch (o->kind) {
		case OP_NOP:
			continue;
		case OP_SYNC:
			o->kind = OP_NOP;
			s->cnt.cnt[TG_PG_CNT_COPY_SWALLOWED]++;
			continue;
		case OP_COPYEND:
			o->kind = OP_NOP;
			return;
		default:
			op_undo(s, o);
			o->kind = OP_NOP;
			return;
		}
	}
	s->copy_in = true;
}

/*
 * ReadyForQuery 'I': the transaction is over, and with it every portal
 * bound before (55.2.3). A walk of the portal table up to its last live
 * portal: nothing when none is left.
 */
static void
end_xact(struct tg_pg_session *s, uint64_t seq)
{
	struct tg_pg_table *tab = &s->tab[T_PORTAL];
	uint32_t i, seen = 0, live = tab->live;

	/* most transactions end with no portal left (Execute to completion, Sync) */
	for (i = 0; i < tab->n && seen < live; i++) {
		if (tab->obj[i].state == OBJ_FREE)
			continue;
		seen++;
		if (tab->obj[i].seq < seq)
			obj_clear(s, T_PORTAL, &tab->obj[i]);
	}
}

/*
 * Whether the server will act on a request the client sends now: not
 * while it discards messages until Sync after an error, nor on the first
 * one sent during COPY FROM STDIN, which the COPY consumes and fails on.
 */
static bool
request_live(struct tg_pg_session *s)
{
	if (s->copy_in) {
		s->copy_in = false;
		return false;
	}
	return !s->skip;
}

/* Which requests a backend reply may answer, checked when its header is read. */
static int
reply_check(struct tg_pg_session *s, uint8_t type, uint64_t *seq)
{
	struct tg_pg_op *o = op_front(s);
	uint8_t k = o != NULL ? o->kind : OP_NOP;
	bool ok;

	*seq = o != NULL ? o->seq : 0;
	switch (type) {
	case 'E': /* to anything, or to nothing: FATAL before closing */
	case 'N': /* asynchronous (55.2.6) */
	case 'S':
	case 'A':
		return TG_PG_OK;
	case '1':
		ok = k == OP_PARSE;
		break;
	case '2':
		ok = k == OP_BIND;
		break;
	case '3':
		ok = k == OP_CLOSE_S || k == OP_CLOSE_P;
		break;
	case 't':
		ok = k == OP_DESCRIBE_S;
		break;
	case 'n':
		ok = k == OP_DESCRIBE_S || k == OP_DESCRIBE_P;
		break;
	case 'T':
		ok = k == OP_DESCRIBE_S || k == OP_DESCRIBE_P || k == OP_QUERY;
		break;
	case 's':
		ok = k == OP_EXECUTE;
		break;
	case 'V':
		ok = k == OP_FCALL;
		break;
	case 'Z':
		ok = k == OP_SYNC || k == OP_QUERY || k == OP_FCALL;
		break;
	case 'D':
	case 'C':
	case 'I':
	case 'G':
	case 'H':
	case 'W':
	case 'd':
	case 'c':
		ok = k == OP_QUERY || k == OP_EXECUTE;
		break;
	default:
		ok = false;
		break;
	}
	return ok ? TG_PG_OK : TG_PG_ERR_UNEXPECTED_REPLY;
}

/* A backend reply, whole and valid: what it tells of the requests. */
static void
reply_done(struct tg_pg_session *s, uint8_t type, uint8_t status)
{
	struct tg_pg_op *o = op_front(s);
	uint64_t seq;

	if (o != NULL && o->seq != s->dir[TG_PG_DIR_BE].reply_seq)
		o = NULL;	/* queued after this reply's header: not its request */
	switch (type) {
	case '1':
	case '2':
	case '3':
		if (o != NULL) {
			op_commit(s, o);
			op_pop(s, 1);
		}
		break;
	case 'n':
	case 's':
		if (o != NULL)
			op_pop(s, 1);
		break;
	case 'T':
		if (o != NULL && (o->kind == OP_DESCRIBE_S || o->kind == OP_DESCRIBE_P))
			op_pop(s, 1);
		break;
	case 'C':
	case 'I':
		if (o != NULL && o->kind == OP_EXECUTE)
			op_pop(s, 1);
		break;
	case 'Z':
		if (o != NULL) {
			seq = o->seq;
			op_pop(s, 1);
			if (status == 'I')
				end_xact(s, seq);
		}
		break;
	case 'E':
		s->copy_in = false;
		if (o != NULL && op_extended(o->kind))
			op_fail(s);
		break;
	case 'G':
	case 'W':
		copy_walk(s);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------------------
 * Frontend messages (55.7)
 * ------------------------------------------------------------------- */

/*
 * The untyped startup packets. A StartupMessage's parameters are pairs of
 * Strings ended by one NUL that must be the last byte; a value given twice
 * counts the second time (postmaster.c ProcessStartupPacket).
 */
static int
dec_startup(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_startup st = { 0 };
	struct tg_pg_str name, val;
	const uint8_t *from;
	uint32_t code, pid, key;
	int err;

	TRY(rd_u32(r, &code));
	if (code == PG_SSL_CODE || code == PG_GSSENC_CODE) {
		bool ssl = code == PG_SSL_CODE;

		if (m->len != 8)
			return TG_PG_ERR_STARTUP_LEN;
		if (ssl ? s->ssl_done : s->gss_done)
			return TG_PG_ERR_STARTUP_CODE;
		if (ssl)
			s->ssl_done = true;
		else
			s->gss_done = true;
		m->kind = ssl ? TG_PG_FE_SSL_REQUEST : TG_PG_FE_GSSENC_REQUEST;
		s->enc_req = ssl ? 'S' : 'G';
		s->dir[TG_PG_DIR_FE].phase = C_WAIT;
		s->dir[TG_PG_DIR_BE].phase = S_ANSWER;
		return TG_PG_OK;
	}
	if (code == PG_CANCEL_CODE) {
		if (m->len != 16)
			return TG_PG_ERR_STARTUP_LEN;
		TRY(rd_u32(r, &pid));
		TRY(rd_u32(r, &key));
		m->kind = TG_PG_FE_CANCEL_REQUEST;
		s->dir[TG_PG_DIR_FE].phase = C_DONE;
		if (s->cb->cancel != NULL)
			s->cb->cancel(s->ctx, m, pid, key);
		return TG_PG_OK;
	}
	/* 1234.x are the request codes above; the server speaks 3.x only since 14 */
	if (code >> 16 != 3)
		return TG_PG_ERR_STARTUP_CODE;
	st.major = 3;
	st.minor = (uint16_t)code;
	from = r->p;
	for (;;) {
		if (rd_left(r) == 0)
			return TG_PG_ERR_SHORT;	/* no terminator */
		if (*r->p == 0)
			break;
		TRY(rd_str(r, &name));
		if (rd_left(r) == 0)
			return TG_PG_ERR_SHORT;	/* a name without its value */
		TRY(rd_str(r, &val));
		if (name.len == 4 && memcmp(name.p, "user", 4) == 0)
			st.user = val;
		else if (name.len == 8 && memcmp(name.p, "database", 8) == 0)
			st.database = val;
		else if (name.len == 7 && memcmp(name.p, "options", 7) == 0)
			st.options = val;
		else if (name.len == 16 && memcmp(name.p, "application_name", 16) == 0)
			st.application_name = val;
		else if (name.len == 11 && memcmp(name.p, "replication", 11) == 0)
			st.replication = val;
	}
	iter_init(&st.params, r, from, r->p, 0);
	r->p++;
	TRY(rd_end(r));
	m->kind = TG_PG_FE_STARTUP;
	s->dir[TG_PG_DIR_FE].phase = C_TYPED;
	s->dir[TG_PG_DIR_BE].phase = S_AUTH;
	if (s->cb->startup != NULL)
		s->cb->startup(s->ctx, m, &st);
	return TG_PG_OK;
}

/* 'p': which of the four it is depends on the request it answers (55.2.2). */
static int
dec_password(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_password pw = { 0 };
	int err;

	switch (s->auth_expect) {
	case AX_PASSWORD:
		pw.kind = TG_PG_PW_PASSWORD;
		TRY(rd_str(r, &pw.password));
		break;
	case AX_SASL_INITIAL:
		pw.kind = TG_PG_PW_SASL_INITIAL;
		TRY(rd_str(r, &pw.mechanism));
		TRY(rd_value(r, &pw.len, &pw.data));
		break;
	default:
		pw.kind = s->auth_expect == AX_SASL ? TG_PG_PW_SASL : TG_PG_PW_GSS;
		pw.data = r->p;
		pw.len = (int32_t)rd_left(r);
		r->p = r->end;
		break;
	}
	TRY(rd_end(r));
	s->auth_expect = AX_NONE;
	if (s->cb->password != NULL)
		s->cb->password(s->ctx, m, &pw);
	return TG_PG_OK;
}

static int
dec_query(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_str text;
	int err;

	TRY(rd_str(r, &text));
	TRY(rd_end(r));
	if (request_live(s)) {
		/* exec_simple_query drops the unnamed statement and replaces the unnamed portal */
		drop_unnamed(s, T_STMT);
		drop_unnamed(s, T_PORTAL);
		TRY(op_push(s, OP_QUERY, T_STMT, NULL, FX_NONE));
	}
	if (s->cb->query != NULL)
		s->cb->query(s->ctx, m, &text);
	return TG_PG_OK;
}

/*
 * Parse into the unnamed statement replaces it (the server drops the old
 * one first, even if the new one fails); into a name in use it fails, so
 * the new text is kept aside (shadow) until the server says which.
 */
static int
model_parse(struct tg_pg_session *s, const struct tg_pg_parse *p)
{
	uint32_t nlen = name_len(p->name.len), blk;
	struct tg_pg_obj *old = NULL, *o;
	uint8_t *t;

	if (p->text.len > s->lim.text_max)
		return TG_PG_ERR_TEXT_CAP;
	if (nlen == 0)
		drop_unnamed(s, T_STMT);
	else
		old = obj_find(s, T_STMT, p->name.p, nlen);
	o = obj_new(s, T_STMT, p->name.p, nlen, old != NULL ? OBJ_SHADOW : OBJ_LIVE);
	if (o == NULL)
		return TG_PG_ERR_STMT_CAP;
	blk = pool_alloc(s, (uint64_t)p->text.len + 1);
	if (blk == NONE)
		return TG_PG_ERR_POOL_CAP;
	t = blk_data(s, blk);
	memcpy(t, p->text.p, p->text.len);
	t[p->text.len] = '\0';
	o->text = blk;
	o->text_len = p->text.len;
	o->nparams = p->nparam_types;
	if (old != NULL)
		s->cnt.cnt[TG_PG_CNT_DUPLICATE]++;
	return op_push(s, OP_PARSE, T_STMT, o, old != NULL ? FX_SHADOW : FX_NEW);
}

static int
dec_parse(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_parse p = { 0 };
	int err;

	TRY(rd_str(r, &p.name));
	TRY(rd_str(r, &p.text));
	TRY(rd_count(r, &p.nparam_types));
	TRY(rd_bytes(r, (uint64_t)p.nparam_types * 4, &p.param_types));
	TRY(rd_end(r));
	if (request_live(s))
		TRY(model_parse(s, &p));
	if (s->cb->parse != NULL)
		s->cb->parse(s->ctx, m, &p);
	return TG_PG_OK;
}

/* The parts of a Bind, once validated */
struct bind_raw {
	struct tg_pg_str portal, stmt;
	uint16_t nfmt, nparams;
	const uint8_t *fmts;	/* nfmt Int16 */
	const uint8_t *vals;	/* nparams values */
};

/* The format of parameter i: none given is text, one is for all (55.7 Bind) */
static int16_t
param_format(const struct bind_raw *b, uint16_t i)
{
	if (b->nfmt == 0)
		return 0;
	return (int16_t)tg_rd16(b->fmts + 2 * (b->nfmt == 1 ? 0 : MIN(i, b->nfmt - 1)));
}

static uint32_t
param_show_len(const struct tg_pg_limits *l, int16_t fmt, int32_t len)
{
	if (len < 0)
		return 0;
	if (fmt == 0)
		return MIN((uint32_t)len, l->param_show_max);
	return 2 * MIN((uint32_t)len, l->param_show_max / 2);
}

/*
 * The display of the first nshown parameters: an array of struct
 * tg_pg_param, then their bytes, text as sent and binary as lowercase hex.
 */
static uint32_t
params_keep(struct tg_pg_session *s, const struct bind_raw *b, uint16_t nshown)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *q = b->vals;
	struct tg_pg_param *pv;
	uint64_t size = (uint64_t)nshown * sizeof(*pv);
	uint32_t blk, show, j;
	uint16_t i;
	char *out;

	for (i = 0; i < nshown; i++) {
		int32_t l = (int32_t)tg_rd32(q);

		size += param_show_len(&s->lim, param_format(b, i), l);
		q += 4 + (l > 0 ? (uint32_t)l : 0);
	}
	blk = pool_alloc(s, size);
	if (blk == NONE)
		return NONE;
	pv = (struct tg_pg_param *)(void *)blk_data(s, blk);
	out = (char *)(pv + nshown);
	q = b->vals;
	for (i = 0; i < nshown; i++) {
		int32_t l = (int32_t)tg_rd32(q);
		int16_t f = param_format(b, i);

		q += 4;
		show = param_show_len(&s->lim, f, l);
		pv[i] = (struct tg_pg_param){ .len = show, .wire_len = l, .format = f };
		if (l < 0)
			continue;
		if (f == 0) {
			memcpy(out, q, show);
			pv[i].truncated = show < (uint32_t)l;
		} else {
			for (j = 0; j < show / 2; j++) {
				out[2 * j] = hex[q[j] >> 4];
				out[2 * j + 1] = hex[q[j] & 0xf];
			}
			pv[i].truncated = show / 2 < (uint32_t)l;
		}
		if (pv[i].truncated)
			s->cnt.cnt[TG_PG_CNT_PARAM_TRUNC]++;
		out += show;
		q += l;
	}
	return blk;
}

/*
 * Bind to the unnamed portal replaces it; to a name in use it fails
 * ("cursor already exists"), so it is kept aside like a Parse. The portal
 * takes a reference to the statement's text: it keeps its query when the
 * statement is closed or replaced (exec_bind_message copies it).
 */
static int
model_bind(struct tg_pg_session *s, const struct bind_raw *b, struct tg_pg_obj **out)
{
	uint32_t nlen = name_len(b->portal.len), slen = name_len(b->stmt.len);
	uint16_t nshown = (uint16_t)MIN(b->nparams, s->lim.params_max);
	struct tg_pg_obj *old = NULL, *o, *st;

	if (nlen == 0)
		drop_unnamed(s, T_PORTAL);
	else
		old = obj_find(s, T_PORTAL, b->portal.p, nlen);
	o = obj_new(s, T_PORTAL, b->portal.p, nlen, old != NULL ? OBJ_SHADOW : OBJ_LIVE);
	if (o == NULL)
		return TG_PG_ERR_PORTAL_CAP;
	memcpy(o->stmt, b->stmt.p, slen);
	o->stmt[slen] = '\0';
	o->stmt_len = (uint8_t)slen;
	o->nparams = b->nparams;
	if (nshown != 0) {
		o->params = params_keep(s, b, nshown);
		if (o->params == NONE)
			return TG_PG_ERR_POOL_CAP;
		o->nshown = nshown;
	}
	if (b->nparams > nshown)
		s->cnt.cnt[TG_PG_CNT_PARAMS_CUT]++;
	/* looked up after the allocation, which may have moved the pool */
	st = obj_lookup(s, T_STMT, b->stmt.p, slen);
	if (st != NULL) {
		o->stmt_gen = st->gen;
		o->text = st->text;
		o->text_len = st->text_len;
		blk_at(s, st->text)->refs++;
	} else {
		s->cnt.cnt[TG_PG_CNT_BIND_UNKNOWN]++;
	}
	if (old != NULL)
		s->cnt.cnt[TG_PG_CNT_DUPLICATE]++;
	*out = o;
	return op_push(s, OP_BIND, T_PORTAL, o, old != NULL ? FX_SHADOW : FX_NEW);
}

static int
dec_bind(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_bind ev = { 0 };
	struct tg_pg_obj *o = NULL, *st;
	struct bind_raw b;
	const uint8_t *v;
	int32_t len;
	uint16_t i;
	int err;

	TRY(rd_str(r, &b.portal));
	TRY(rd_str(r, &b.stmt));
	TRY(rd_count(r, &b.nfmt));
	TRY(rd_bytes(r, (uint64_t)b.nfmt * 2, &b.fmts));
	TRY(rd_count(r, &b.nparams));
	b.vals = r->p;
	for (i = 0; i < b.nparams; i++)
		TRY(rd_value(r, &len, &v));
	TRY(rd_count(r, &ev.nresult_formats));
	TRY(rd_bytes(r, (uint64_t)ev.nresult_formats * 2, &ev.result_formats));
	TRY(rd_end(r));
	if (request_live(s))
		TRY(model_bind(s, &b, &o));

	ev.portal = b.portal;
	ev.stmt = b.stmt;
	ev.nparams = b.nparams;
	if (o != NULL) {
		ev.text = text_of(s, o);
		ev.text_len = o->text_len;
		ev.nshown = o->nshown;
		ev.params = params_of(s, o);
	} else {
		/* discarded by the server: the text for the record, no parameters kept */
		st = obj_lookup(s, T_STMT, b.stmt.p, name_len(b.stmt.len));
		if (st != NULL) {
			ev.text = text_of(s, st);
			ev.text_len = st->text_len;
		}
	}
	if (s->cb->bind != NULL)
		s->cb->bind(s->ctx, m, &ev);
	return TG_PG_OK;
}

/* Describe and Close: 'S' statement or 'P' portal, and a name */
static int
dec_target(struct rd *r, uint8_t *what, struct tg_pg_str *name)
{
	int err;

	TRY(rd_u8(r, what));
	if (*what != 'S' && *what != 'P')
		return TG_PG_ERR_BAD_VALUE;
	TRY(rd_str(r, name));
	return rd_end(r);
}

static int
dec_describe(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_str name;
	uint8_t what;
	int err;

	TRY(dec_target(r, &what, &name));
	/* the object described rides on the request, for its RowDescription (no effect) */
	if (request_live(s))
		TRY(op_push(s, what == 'S' ? OP_DESCRIBE_S : OP_DESCRIBE_P,
			    what == 'S' ? T_STMT : T_PORTAL,
			    obj_lookup(s, what == 'S' ? T_STMT : T_PORTAL, name.p,
				       name_len(name.len)),
			    FX_NONE));
	if (s->cb->describe != NULL)
		s->cb->describe(s->ctx, m, what, &name);
	return TG_PG_OK;
}

/*
 * Close is applied when CloseComplete comes; meanwhile the name is gone
 * for the requests after it.
 */
static int
dec_close(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_str name;
	struct tg_pg_obj *o;
	uint8_t what;
	int t, err;

	TRY(dec_target(r, &what, &name));
	if (request_live(s)) {
		t = what == 'S' ? T_STMT : T_PORTAL;
		o = obj_find(s, t, name.p, name_len(name.len));
		if (o != NULL)
			o->state = OBJ_CLOSING;
		TRY(op_push(s, what == 'S' ? OP_CLOSE_S : OP_CLOSE_P, t, o, FX_CLOSING));
	}
	if (s->cb->close != NULL)
		s->cb->close(s->ctx, m, what, &name);
	return TG_PG_OK;
}

static int
dec_execute(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_execute ev = { 0 };
	struct tg_pg_obj *o;
	int err;

	TRY(rd_str(r, &ev.portal));
	TRY(rd_u32(r, &ev.max_rows));
	TRY(rd_end(r));
	o = obj_lookup(s, T_PORTAL, ev.portal.p, name_len(ev.portal.len));
	if (o == NULL) {
		ev.flags = TG_PG_EXEC_NO_PORTAL;
	} else {
		ev.stmt = o->stmt;
		ev.stmt_len = o->stmt_len;
		ev.stmt_gen = o->stmt_gen;
		ev.text = text_of(s, o);
		ev.text_len = o->text_len;
		ev.nparams = o->nparams;
		ev.nshown = o->nshown;
		ev.params = params_of(s, o);
		if (ev.text == NULL)
			ev.flags = TG_PG_EXEC_NO_STMT;
	}
	if (ev.flags != 0)
		s->cnt.cnt[TG_PG_CNT_EXEC_UNKNOWN]++;
	if (request_live(s))
		TRY(op_push(s, OP_EXECUTE, T_PORTAL, NULL, FX_NONE));
	if (s->cb->execute != NULL)
		s->cb->execute(s->ctx, m, &ev);
	return TG_PG_OK;
}

static int
dec_fcall(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_fcall f = { 0 };
	const uint8_t *from, *v;
	int32_t len;
	uint16_t i;
	int err;

	TRY(rd_u32(r, &f.oid));
	TRY(rd_count(r, &f.nformats));
	TRY(rd_bytes(r, (uint64_t)f.nformats * 2, &f.formats));
	TRY(rd_count(r, &f.nargs));
	from = r->p;
	for (i = 0; i < f.nargs; i++)
		TRY(rd_value(r, &len, &v));
	iter_init(&f.args, r, from, r->p, f.nargs);
	TRY(rd_i16(r, &f.result_format));
	TRY(rd_end(r));
	if (request_live(s))
		TRY(op_push(s, OP_FCALL, T_STMT, NULL, FX_NONE));
	if (s->cb->function_call != NULL)
		s->cb->function_call(s->ctx, m, &f);
	return TG_PG_OK;
}

static int
dec_fe(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_str why;
	int err;

	switch (m->type) {
	case 0:
		return dec_startup(s, m, r);
	case 'p':
		return dec_password(s, m, r);
	case 'Q':
		return dec_query(s, m, r);
	case 'P':
		return dec_parse(s, m, r);
	case 'B':
		return dec_bind(s, m, r);
	case 'D':
		return dec_describe(s, m, r);
	case 'E':
		return dec_execute(s, m, r);
	case 'C':
		return dec_close(s, m, r);
	case 'F':
		return dec_fcall(s, m, r);
	case 'S':
		if (s->copy_in) {
			s->cnt.cnt[TG_PG_CNT_COPY_SWALLOWED]++;
			return TG_PG_OK;
		}
		s->skip = false;
		s->sync_seq = s->op_seq;
		return op_push(s, OP_SYNC, T_STMT, NULL, FX_NONE);
	case 'H':
		if (s->copy_in)
			s->cnt.cnt[TG_PG_CNT_COPY_SWALLOWED]++;
		return TG_PG_OK;
	case 'f':
		TRY(rd_str(r, &why));
		TRY(rd_end(r));
		if (s->cb->copy_fail != NULL)
			s->cb->copy_fail(s->ctx, m, &why);
		/* fall through */
	case 'c':
		if (s->copy_in) {
			s->copy_in = false;
			return TG_PG_OK;
		}
		/* sent ahead of the COPY's start, or outside any (ignored then) */
		return op_push(s, OP_COPYEND, T_STMT, NULL, FX_NONE);
	case 'X':
		s->dir[TG_PG_DIR_FE].phase = C_DONE;
		return TG_PG_OK;
	default:
		return TG_PG_ERR_FE_TYPE;	/* not reached: begin_fe() checked the type */
	}
}

/* ---------------------------------------------------------------------
 * Backend messages (55.7)
 * ------------------------------------------------------------------- */

static int
dec_auth(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_auth a = { 0 };
	struct tg_pg_str mech;
	const uint8_t *from;
	int err;

	TRY(rd_u32(r, &a.code));
	switch (a.code) {
	case TG_PG_AUTH_OK:
	case TG_PG_AUTH_KERBEROS_V5:
	case TG_PG_AUTH_SASL_FINAL:
		s->auth_expect = AX_NONE;
		break;
	case TG_PG_AUTH_CLEARTEXT:
		s->auth_expect = AX_PASSWORD;
		break;
	case TG_PG_AUTH_MD5:
		TRY(rd_bytes(r, 4, &a.salt));
		s->auth_expect = AX_PASSWORD;
		break;
	case TG_PG_AUTH_GSS:
	case TG_PG_AUTH_GSS_CONTINUE:
	case TG_PG_AUTH_SSPI:
		s->auth_expect = AX_GSS;
		break;
	case TG_PG_AUTH_SASL:
		/* mechanism names, then an empty String */
		from = r->p;
		for (;;) {
			if (rd_left(r) == 0)
				return TG_PG_ERR_SHORT;
			if (*r->p == 0)
				break;
			TRY(rd_str(r, &mech));
		}
		iter_init(&a.mechanisms, r, from, r->p, 0);
		r->p++;
		s->auth_expect = AX_SASL_INITIAL;
		break;
	case TG_PG_AUTH_SASL_CONTINUE:
		s->auth_expect = AX_SASL;
		break;
	default:
		return TG_PG_ERR_AUTH_CODE;
	}
	if (a.code == TG_PG_AUTH_GSS_CONTINUE || a.code == TG_PG_AUTH_SASL_CONTINUE ||
	    a.code == TG_PG_AUTH_SASL_FINAL) {
		a.data = r->p;
		a.len = rd_left(r);
		r->p = r->end;
	}
	TRY(rd_end(r));
	if (s->cb->auth != NULL)
		s->cb->auth(s->ctx, m, &a);
	return TG_PG_OK;
}

/* The statement a RowDescription answering a Describe is about, if the model has it. */
static void
described(struct tg_pg_session *s, struct tg_pg_rowdesc *rd)
{
	const struct tg_pg_op *o = op_front(s);
	const struct tg_pg_obj *obj;

	rd->stmt = (struct tg_pg_str){ 0 };
	rd->stmt_gen = 0;
	if (o == NULL || o->seq != s->dir[TG_PG_DIR_BE].reply_seq || o->slot == NONE ||
	    (o->kind != OP_DESCRIBE_S && o->kind != OP_DESCRIBE_P))
		return;
	obj = &s->tab[o->table].obj[o->slot];
	if (obj->state == OBJ_FREE || obj->gen != o->gen)
		return;
	if (o->table == T_STMT) {
		rd->stmt = (struct tg_pg_str){ .p = obj->name, .len = obj->name_len };
		rd->stmt_gen = obj->gen;
	} else if (obj->stmt_gen != 0) {
		rd->stmt = (struct tg_pg_str){ .p = obj->stmt, .len = obj->stmt_len };
		rd->stmt_gen = obj->stmt_gen;
	}
}

static int
dec_rowdesc(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_rowdesc rd;
	struct tg_pg_str name;
	const uint8_t *from, *f;
	uint16_t i;
	int err;

	TRY(rd_count(r, &rd.ncols));
	from = r->p;
	for (i = 0; i < rd.ncols; i++) {
		TRY(rd_str(r, &name));
		/* table OID, attnum, type OID, typlen, typmod, format */
		TRY(rd_bytes(r, 18, &f));
		if (tg_rd16(f + 16) > 1)
			return TG_PG_ERR_BAD_VALUE;
	}
	TRY(rd_end(r));
	iter_init(&rd.cols, r, from, r->end, rd.ncols);
	described(s, &rd);
	if (s->cb->row_description != NULL)
		s->cb->row_description(s->ctx, m, &rd);
	return TG_PG_OK;
}

/* ErrorResponse, NoticeResponse: (code, String) fields ended by a zero byte (55.8) */
static int
dec_notice(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_notice n = { 0 };
	struct tg_pg_str v;
	const uint8_t *from = r->p;
	bool have_v = false;
	uint8_t code;
	int err;

	for (;;) {
		TRY(rd_u8(r, &code));
		if (code == 0)
			break;
		TRY(rd_str(r, &v));
		if (code == 'V') {
			n.severity = v;
			have_v = true;
		} else if (code == 'S' && !have_v) {
			n.severity = v;
		} else if (code == 'C') {
			n.code = v;
		} else if (code == 'M') {
			n.message = v;
		}
	}
	TRY(rd_end(r));
	iter_init(&n.fields, r, from, r->end - 1, 0);
	if (m->type == 'E' && s->cb->error != NULL)
		s->cb->error(s->ctx, m, &n);
	else if (m->type == 'N' && s->cb->notice != NULL)
		s->cb->notice(s->ctx, m, &n);
	return TG_PG_OK;
}

static int
dec_copy_resp(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_copy_resp c;
	uint16_t i;
	uint8_t fmt;
	int err;

	TRY(rd_u8(r, &fmt));
	TRY(rd_count(r, &c.ncols));
	TRY(rd_bytes(r, (uint64_t)c.ncols * 2, &c.formats));
	TRY(rd_end(r));
	if (fmt > 1)
		return TG_PG_ERR_BAD_VALUE;
	for (i = 0; i < c.ncols; i++)
		if (tg_rd16(c.formats + 2 * i) > 1)
			return TG_PG_ERR_BAD_VALUE;
	c.format = (int8_t)fmt;
	if (s->cb->copy_response != NULL)
		s->cb->copy_response(s->ctx, m, &c);
	return TG_PG_OK;
}

static int
dec_negotiate(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_negotiate nv;
	struct tg_pg_str opt;
	const uint8_t *from;
	uint32_t i;
	int err;

	TRY(rd_u32(r, &nv.version));
	TRY(rd_u32(r, &nv.nopts));
	from = r->p;
	/* each option takes a byte at least, so the loop ends with the message */
	for (i = 0; i < nv.nopts; i++)
		TRY(rd_str(r, &opt));
	TRY(rd_end(r));
	iter_init(&nv.opts, r, from, r->end, 0);
	if (s->cb->negotiate_version != NULL)
		s->cb->negotiate_version(s->ctx, m, &nv);
	return TG_PG_OK;
}

static int
dec_be(struct tg_pg_session *s, struct tg_pg_msg *m, struct rd *r)
{
	struct tg_pg_str a, b;
	uint32_t pid, key;
	const uint8_t *v;
	uint16_t n;
	uint8_t status = 0;
	int err;

	switch (m->type) {
	case 'R':
		TRY(dec_auth(s, m, r));
		break;
	case 'S':
		TRY(rd_str(r, &a));
		TRY(rd_str(r, &b));
		TRY(rd_end(r));
		if (s->cb->parameter_status != NULL)
			s->cb->parameter_status(s->ctx, m, &a, &b);
		break;
	case 'K':
		TRY(rd_u32(r, &pid));
		TRY(rd_u32(r, &key));
		TRY(rd_end(r));
		if (s->cb->backend_key != NULL)
			s->cb->backend_key(s->ctx, m, pid, key);
		break;
	case 'Z':
		TRY(rd_u8(r, &status));
		TRY(rd_end(r));
		if (status != 'I' && status != 'T' && status != 'E')
			return TG_PG_ERR_BAD_VALUE;
		if (s->cb->ready != NULL)
			s->cb->ready(s->ctx, m, status);
		break;
	case 'T':
		TRY(dec_rowdesc(s, m, r));
		break;
	case 'C':
		TRY(rd_str(r, &a));
		TRY(rd_end(r));
		if (s->cb->command_complete != NULL)
			s->cb->command_complete(s->ctx, m, &a);
		break;
	case 'E':
	case 'N':
		TRY(dec_notice(s, m, r));
		break;
	case 'A':
		TRY(rd_u32(r, &pid));
		TRY(rd_str(r, &a));
		TRY(rd_str(r, &b));
		TRY(rd_end(r));
		if (s->cb->notification != NULL)
			s->cb->notification(s->ctx, m, pid, &a, &b);
		break;
	case 't':
		TRY(rd_count(r, &n));
		TRY(rd_bytes(r, (uint64_t)n * 4, &v));
		TRY(rd_end(r));
		if (s->cb->parameter_description != NULL)
			s->cb->parameter_description(s->ctx, m, n, v);
		break;
	case 'G':
	case 'H':
	case 'W':
		TRY(dec_copy_resp(s, m, r));
		break;
	case 'v':
		TRY(dec_negotiate(s, m, r));
		break;
	default:
		/* 1 2 3 n I s c: no body, the length was checked with the header */
		break;
	}
	if (s->dir[TG_PG_DIR_BE].phase == S_NORMAL)
		reply_done(s, m->type, status);
	else if (m->type == 'Z')
		s->dir[TG_PG_DIR_BE].phase = S_NORMAL;
	return TG_PG_OK;
}

/* ---------------------------------------------------------------------
 * The reader: headers, caps, buffering and streaming
 * ------------------------------------------------------------------- */

/* Types whose length is fixed (55.7): the length field they must carry, or 0 */
static uint32_t
fixed_len(int dir, uint8_t type)
{
	if (dir == TG_PG_DIR_FE)
		return type == 'S' || type == 'H' || type == 'X' || type == 'c' ? 4 : 0;
	switch (type) {
	case '1':
	case '2':
	case '3':
	case 'n':
	case 'I':
	case 's':
	case 'c':
		return 4;
	case 'Z':
		return 5;
	case 'K':
		return 12;
	default:
		return 0;
	}
}

/* The cap of a type's class (tcop/postgres.c SocketBackend for the client side) */
static uint32_t
len_cap(const struct tg_pg_limits *l, int dir, uint8_t type)
{
	if (dir == TG_PG_DIR_FE) {
		switch (type) {
		case 'Q':
		case 'P':
		case 'B':
		case 'F':
			return l->stmt_max;
		case 'p':
			return l->auth_max;
		case 'd':
			return l->data_max;
		default:
			return l->fe_small_max;
		}
	}
	switch (type) {
	case 'D':
	case 'd':
	case 'V':
		return l->data_max;
	case 'T':
	case 'E':
	case 'N':
	case 'A':
		return l->be_long_max;
	default:
		return l->be_small_max;
	}
}

static int
begin_fe(struct tg_pg_session *s, struct tg_pg_dir *d)
{
	struct tg_pg_msg *m = &d->cur;
	uint32_t len, fixed;
	uint8_t k;

	if (d->phase == C_STARTUP) {
		len = tg_rd32(d->hdr);
		if (len < 8 || len - 4 > s->lim.startup_max)
			return TG_PG_ERR_STARTUP_LEN;
		m->type = 0;
		m->kind = TG_PG_FE_STARTUP;
		m->len = len;
		d->mode = M_BUF;
		return TG_PG_OK;
	}
	m->type = d->hdr[0];
	len = tg_rd32(d->hdr + 1);
	k = fe_kind_of[m->type];
	if (k == 0)
		return TG_PG_ERR_FE_TYPE;
	if (m->type == 'p') {
		if (s->auth_expect == AX_NONE)
			return TG_PG_ERR_AUTH_UNEXPECTED;
	} else if (s->auth_expect != AX_NONE && m->type != 'X') {
		return TG_PG_ERR_FE_TYPE;	/* an authentication response is due */
	}
	fixed = fixed_len(TG_PG_DIR_FE, m->type);
	if (len < 4 || (fixed != 0 && len != fixed))
		return TG_PG_ERR_MSG_LEN;
	if (len > len_cap(&s->lim, TG_PG_DIR_FE, m->type))
		return TG_PG_ERR_MSG_TOO_LONG;
	m->kind = (uint16_t)(k - 1);
	m->len = len + 1;
	d->mode = m->type == 'd' ? M_COPY : M_BUF;
	return TG_PG_OK;
}

static bool
auth_phase_type(uint8_t type)
{
	return type == 'R' || type == 'E' || type == 'N' || type == 'v' || type == 'S' ||
	       type == 'K' || type == 'Z';
}

static int
begin_be(struct tg_pg_session *s, struct tg_pg_dir *d)
{
	struct tg_pg_msg *m = &d->cur;
	uint32_t len, fixed;
	uint8_t k;
	int err;

	m->type = d->hdr[0];
	len = tg_rd32(d->hdr + 1);
	k = be_kind_of[m->type];
	if (k == 0)
		return TG_PG_ERR_BE_TYPE;
	if (d->phase == S_AUTH ? !auth_phase_type(m->type)
			       : (m->type == 'R' || m->type == 'v' || m->type == 'K'))
		return TG_PG_ERR_BE_TYPE;
	fixed = fixed_len(TG_PG_DIR_BE, m->type);
	if (len < 4 || (fixed != 0 && len != fixed))
		return TG_PG_ERR_MSG_LEN;
	if (len > len_cap(&s->lim, TG_PG_DIR_BE, m->type))
		return TG_PG_ERR_MSG_TOO_LONG;
	/* a field count (DataRow) or a value length (FunctionCallResponse) at least */
	if ((m->type == 'D' && len < 6) || (m->type == 'V' && len < 8))
		return TG_PG_ERR_SHORT;
	if (d->phase == S_NORMAL)
		TRY(reply_check(s, m->type, &d->reply_seq));
	m->kind = (uint16_t)(k - 1);
	m->len = len + 1;
	switch (m->type) {
	case 'D':
		d->mode = M_ROW;
		d->sub = R_COUNT;
		break;
	case 'V':
		/* one value, walked as a DataRow of one field */
		d->mode = M_ROW;
		d->sub = R_LEN;
		d->nfields = 1;
		d->field = 0;
		break;
	case 'd':
		d->mode = M_COPY;
		break;
	default:
		d->mode = M_BUF;
		break;
	}
	d->word_have = 0;
	return TG_PG_OK;
}

/* A message is whole and valid: count it, report it, move the mark. */
static void
finish(struct tg_pg_session *s, int dir)
{
	struct tg_pg_dir *d = &s->dir[dir];

	if (dir == TG_PG_DIR_FE)
		s->cnt.fe[d->cur.kind]++;
	else
		s->cnt.be[d->cur.kind]++;
	if (s->cb->message != NULL)
		s->cb->message(s->ctx, &d->cur);
	d->mark = d->cur.off + d->cur.len;
	d->reported = d->mark;
	d->mode = M_HDR;
	d->hdr_have = 0;
}

/* Decodes the whole buffered message at d->cur.base, then finishes it. */
static uint32_t
decode(struct tg_pg_session *s, int dir)
{
	struct tg_pg_dir *d = &s->dir[dir];
	struct tg_pg_msg *m = &d->cur;
	struct rd r = {
		.base = m->base,
		.off = m->off,
		.p = m->base + (m->type != 0 ? 5 : 4),
		.end = m->base + m->len,
	};
	int err;

	if (dir == TG_PG_DIR_FE)
		s->fe_op_seq = s->op_seq;
	err = dir == TG_PG_DIR_FE ? dec_fe(s, m, &r) : dec_be(s, m, &r);
	if (err != TG_PG_OK)
		return violate(s, dir, err, m->off);
	if (is_auth(m)) {
		/* Secrets do not stay: wiped from the buffer, hidden from message(). */
		if (!m->in_place)
			explicit_bzero(d->buf, m->len);
		m->base = NULL;
	}
	finish(s, dir);
	return 1;
}

/*
 * The one-byte answer to SSLRequest/GSSENCRequest (55.2.10, 55.2.11): the
 * awaited 'S'/'G' makes the session opaque, 'N' refuses and the client
 * starts over. An 'E' (a server that predates the request) is left to be
 * read as an ErrorResponse by the caller.
 */
static uint32_t
answer(struct tg_pg_session *s, uint8_t *p)
{
	struct tg_pg_dir *d = &s->dir[TG_PG_DIR_BE];
	struct tg_pg_msg *m = &d->cur;

	m->len = 1;
	m->type = p[0];
	m->kind = TG_PG_BE_ENC_ANSWER;
	m->base = p;
	m->in_place = true;
	if (p[0] == s->enc_req) {
		s->opaque = true;
		finish(s, TG_PG_DIR_BE);
		if (s->cb->opaque != NULL)
			s->cb->opaque(s->ctx, m);
		return 1;
	}
	if (p[0] != 'N')
		return violate(s, TG_PG_DIR_BE, TG_PG_ERR_ENC_ANSWER, m->off);
	s->enc_req = 0;
	d->phase = S_IDLE;
	s->dir[TG_PG_DIR_FE].phase = C_STARTUP;
	finish(s, TG_PG_DIR_BE);
	return 1;
}

static uint32_t
step_hdr(struct tg_pg_session *s, int dir, uint8_t *p, uint32_t n, uint64_t off)
{
	struct tg_pg_dir *d = &s->dir[dir];
	uint32_t hl, take, body;
	int err;

	if (d->hdr_have == 0) {
		memset(&d->cur, 0, sizeof(d->cur));
		d->cur.off = off;
		d->cur.dir = (uint8_t)dir;
		if (dir == TG_PG_DIR_FE && d->phase == C_WAIT)
			return violate(s, dir, TG_PG_ERR_EARLY_DATA, off);
		if (dir == TG_PG_DIR_FE && d->phase == C_DONE)
			return violate(s, dir, TG_PG_ERR_AFTER_END, off);
		if (dir == TG_PG_DIR_BE && d->phase == S_IDLE)
			return violate(s, dir, TG_PG_ERR_BE_TYPE, off);
		if (dir == TG_PG_DIR_BE && d->phase == S_ANSWER) {
			if (p[0] != 'E')
				return answer(s, p);
			/* the server closes after it */
			d->phase = S_AUTH;
			s->dir[TG_PG_DIR_FE].phase = C_DONE;
			s->enc_req = 0;
		}
	}
	hl = dir == TG_PG_DIR_FE && d->phase == C_STARTUP ? 4 : 5;
	take = MIN(n, hl - d->hdr_have);
	memcpy(d->hdr + d->hdr_have, p, take);
	d->hdr_have = (uint8_t)(d->hdr_have + take);
	if (d->hdr_have < hl)
		return take;
	err = dir == TG_PG_DIR_FE ? begin_fe(s, d) : begin_be(s, d);
	if (err != TG_PG_OK)
		return violate(s, dir, err, d->cur.off);
	d->have = hl;
	body = d->cur.len - hl;
	switch (d->mode) {
	case M_BUF:
		if (take == hl && n - take >= body) {
			/* all of it in this piece: decoded where it lies */
			d->cur.base = p;
			d->cur.in_place = true;
			d->have = d->cur.len;
			return decode(s, dir) != 0 ? take + body : 0;
		}
		memcpy(d->buf, d->hdr, hl);
		d->cur.base = d->buf;
		s->cnt.cnt[TG_PG_CNT_ASSEMBLED]++;
		if (body == 0 && decode(s, dir) == 0)
			return 0;
		return take;
	case M_COPY:
		if (body == 0)
			finish(s, dir);
		return take;
	default:
		return take;
	}
}

static uint32_t
step_buf(struct tg_pg_session *s, int dir, uint8_t *p, uint32_t n)
{
	struct tg_pg_dir *d = &s->dir[dir];
	uint32_t take = MIN(n, d->cur.len - d->have);

	memcpy(d->buf + d->have, p, take);
	d->have += take;
	if (d->have == d->cur.len && decode(s, dir) == 0)
		return 0;
	return take;
}

static void
field_done(struct tg_pg_session *s, int dir, uint8_t *bytes)
{
	struct tg_pg_dir *d = &s->dir[dir];

	if (d->cur.type == 'V') {
		if (s->cb->function_result != NULL)
			s->cb->function_result(s->ctx, &d->cur, d->fld_off, d->fld_len, bytes);
	} else if (s->cb->data_field != NULL) {
		s->cb->data_field(s->ctx, &d->cur, d->field, d->fld_off, d->fld_len, bytes);
	}
	d->reported = d->fld_off + (d->fld_len > 0 ? (uint32_t)d->fld_len : 0);
	if (++d->field < d->nfields) {
		d->sub = R_LEN;
		return;
	}
	if (d->cur.type == 'D' && s->cb->data_row != NULL)
		s->cb->data_row(s->ctx, &d->cur, d->nfields);
	finish(s, dir);
}

/*
 * DataRow (Int16 count, then per field Int32 length, -1 for NULL, and the
 * bytes) and FunctionCallResponse (one such field), walked as they come.
 * Every length is checked against what is left of the message before the
 * field is reported: the lengths of the fields after it must still fit,
 * and the last one must end exactly with the message.
 */
static uint32_t
step_row(struct tg_pg_session *s, int dir, uint8_t *p, uint32_t n, uint64_t off)
{
	struct tg_pg_dir *d = &s->dir[dir];
	uint32_t need, take, left, rest, body;
	int32_t flen;
	int16_t nf;
	bool whole;

	if (d->sub == R_DATA) {
		take = MIN(n, d->fld_left);
		whole = take == (uint32_t)d->fld_len;
		d->fld_left -= take;
		d->have += take;
		if (d->fld_left == 0)
			field_done(s, dir, whole ? p : NULL);
		return take;
	}
	need = d->sub == R_COUNT ? 2 : 4;
	take = MIN(n, need - d->word_have);
	memcpy(d->word + d->word_have, p, take);
	d->word_have = (uint8_t)(d->word_have + take);
	d->have += take;
	if (d->word_have < need)
		return take;
	d->word_have = 0;
	left = d->cur.len - d->have;
	if (d->sub == R_COUNT) {
		nf = (int16_t)tg_rd16(d->word);
		if (nf < 0)
			return violate(s, dir, TG_PG_ERR_BAD_VALUE, d->cur.off);
		if ((uint32_t)nf * 4 > left)
			return violate(s, dir, TG_PG_ERR_SHORT, d->cur.off);
		if (nf == 0 && left != 0)
			return violate(s, dir, TG_PG_ERR_TRAILING, d->cur.off);
		d->nfields = (uint16_t)nf;
		d->field = 0;
		d->sub = R_LEN;
		if (nf == 0) {
			if (s->cb->data_row != NULL)
				s->cb->data_row(s->ctx, &d->cur, 0);
			finish(s, dir);
		}
		return take;
	}
	flen = (int32_t)tg_rd32(d->word);
	if (flen < -1)
		return violate(s, dir, TG_PG_ERR_BAD_VALUE, d->cur.off);
	rest = (uint32_t)(d->nfields - d->field - 1) * 4;
	body = flen < 0 ? 0 : (uint32_t)flen;
	if ((uint64_t)body + rest > left)
		return violate(s, dir, TG_PG_ERR_SHORT, d->cur.off);
	if (d->field + 1 == d->nfields && body + rest < left)
		return violate(s, dir, TG_PG_ERR_TRAILING, d->cur.off);
	d->fld_len = flen;
	d->fld_off = off + take;
	if (flen <= 0) {
		field_done(s, dir, NULL);
		return take;
	}
	d->fld_left = (uint32_t)flen;
	d->sub = R_DATA;
	return take;
}

static uint32_t
step_copy(struct tg_pg_session *s, int dir, uint8_t *p, uint32_t n, uint64_t off)
{
	struct tg_pg_dir *d = &s->dir[dir];
	uint32_t take = MIN(n, d->cur.len - d->have);

	if (take != 0 && s->cb->copy_data != NULL)
		s->cb->copy_data(s->ctx, &d->cur, off, take, p);
	d->reported = off + take;
	d->have += take;
	if (d->have == d->cur.len)
		finish(s, dir);
	return take;
}

uint64_t
tg_pg_feed(struct tg_pg_session *s, int dir, uint8_t *bytes, uint32_t len, uint64_t off)
{
	struct tg_pg_dir *d;
	uint32_t used;

	dir = dir == TG_PG_DIR_FE ? TG_PG_DIR_FE : TG_PG_DIR_BE;
	d = &s->dir[dir];
	if (s->broken)
		return d->mark;
	if (!d->started) {
		d->started = true;
		d->next = off;
		d->mark = off;
		d->reported = off;
	}
	if (off != d->next) {
		violate(s, dir, TG_PG_ERR_FEED_GAP, off);
		return d->mark;
	}
	d->next = off + len;
	d->paused = false;
	s->cnt.cnt[dir == TG_PG_DIR_FE ? TG_PG_CNT_BYTES_FE : TG_PG_CNT_BYTES_BE] += len;
	while (len != 0 && !s->broken && !s->opaque) {
		switch (d->mode) {
		case M_HDR:
			used = step_hdr(s, dir, bytes, len, off);
			break;
		case M_BUF:
			used = step_buf(s, dir, bytes, len);
			break;
		case M_ROW:
			used = step_row(s, dir, bytes, len, off);
			break;
		default:
			used = step_copy(s, dir, bytes, len, off);
			break;
		}
		if (used == 0)
			break;	/* a violation */
		bytes += used;
		len -= used;
		off += used;
		if (d->paused) {
			/* tg_pg_pause(): the rest is fed again later */
			d->next = off;
			s->cnt.cnt[dir == TG_PG_DIR_FE ? TG_PG_CNT_BYTES_FE : TG_PG_CNT_BYTES_BE] -=
				len;
			break;
		}
	}
	if (s->opaque && !s->broken) {
		d->mark = d->next;
		d->reported = d->next;
	}
	return d->mark;
}

void
tg_pg_pause(struct tg_pg_session *s, int dir)
{
	s->dir[dir == TG_PG_DIR_FE ? TG_PG_DIR_FE : TG_PG_DIR_BE].paused = true;
}

uint64_t
tg_pg_next(const struct tg_pg_session *s, int dir)
{
	return s->dir[dir == TG_PG_DIR_FE ? TG_PG_DIR_FE : TG_PG_DIR_BE].next;
}

bool
tg_pg_current(const struct tg_pg_session *s, int dir, struct tg_pg_msg *m)
{
	const struct tg_pg_dir *d = &s->dir[dir == TG_PG_DIR_FE ? TG_PG_DIR_FE : TG_PG_DIR_BE];

	if (s->broken || s->opaque || d->mode == M_HDR)
		return false;
	*m = d->cur;
	m->base = NULL;
	m->in_place = false;
	return true;
}

uint64_t
tg_pg_streamed_mark(const struct tg_pg_session *s, int dir)
{
	const struct tg_pg_dir *d = &s->dir[dir == TG_PG_DIR_FE ? TG_PG_DIR_FE : TG_PG_DIR_BE];

	return s->broken ? d->mark : d->reported;
}

/* ---------------------------------------------------------------------
 * Iterators (over parts validated before the event)
 * ------------------------------------------------------------------- */

static bool
it_str(struct tg_pg_iter *it, struct tg_pg_str *s)
{
	const uint8_t *z;

	if (it->p >= it->end)
		return false;
	z = memchr(it->p, 0, (size_t)(it->end - it->p));
	if (z == NULL)
		return false;
	s->p = (const char *)it->p;
	s->len = (uint32_t)(z - it->p);
	s->off = it->off;
	it->off += s->len + 1;
	it->p = z + 1;
	return true;
}

bool
tg_pg_next_str(struct tg_pg_iter *it, struct tg_pg_str *s)
{
	return it_str(it, s);
}

bool
tg_pg_next_param(struct tg_pg_iter *it, struct tg_pg_str *name, struct tg_pg_str *value)
{
	return it_str(it, name) && it_str(it, value);
}

bool
tg_pg_next_column(struct tg_pg_iter *it, struct tg_pg_column *col)
{
	const uint8_t *f;

	if (it->left == 0 || !it_str(it, &col->name) || it->end - it->p < 18)
		return false;
	f = it->p;
	col->table_oid = tg_rd32(f);
	col->attnum = (int16_t)tg_rd16(f + 4);
	col->type_oid = tg_rd32(f + 6);
	col->typlen = (int16_t)tg_rd16(f + 10);
	col->typmod = (int32_t)tg_rd32(f + 12);
	col->format = (int16_t)tg_rd16(f + 16);
	it->p += 18;
	it->off += 18;
	it->left--;
	return true;
}

bool
tg_pg_next_field(struct tg_pg_iter *it, uint8_t *code, struct tg_pg_str *val)
{
	if (it->p >= it->end)
		return false;
	*code = *it->p++;
	it->off++;
	return it_str(it, val);
}

bool
tg_pg_next_value(struct tg_pg_iter *it, const uint8_t **val, int32_t *len, uint64_t *off)
{
	int32_t l;

	if (it->left == 0 || it->end - it->p < 4)
		return false;
	l = (int32_t)tg_rd32(it->p);
	if (l < -1 || (l > 0 && it->end - it->p - 4 < l))
		return false;
	it->p += 4;
	it->off += 4;
	*len = l;
	*off = it->off;
	*val = l < 0 ? NULL : it->p;
	if (l > 0) {
		it->p += l;
		it->off += (uint32_t)l;
	}
	it->left--;
	return true;
}

void
tg_pg_fe_withdraw(struct tg_pg_session *s)
{
	while (s->op_count != 0) {
		struct tg_pg_op *o = op_at(s, s->op_count - 1);

		if (o->seq < s->fe_op_seq)
			break;
		op_undo(s, o);
		s->op_count--;
	}
	s->skip = true;
}

void
tg_pg_enc_refused(struct tg_pg_session *s)
{
	if (s->enc_req == 0)
		return;
	s->enc_req = 0;
	s->dir[TG_PG_DIR_BE].phase = S_IDLE;
	s->dir[TG_PG_DIR_FE].phase = C_STARTUP;
}

void
tg_pg_auth_asked(struct tg_pg_session *s)
{
	if (s->dir[TG_PG_DIR_BE].phase == S_AUTH)
		s->auth_expect = AX_PASSWORD;
}
