/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pg.c — libFuzzer target for the PostgreSQL v3 protocol parser
 * (pg.c), both directions of one session.
 *
 * Input: byte 0 configures the run (bit 0: small caps, so the model's
 * caps and the pool's compaction are reached; bit 1: start after a canned
 * trust startup, StartupMessage / AuthenticationOk / ReadyForQuery, so
 * typed messages are reached at once). Then records: a control byte, whose
 * bit 7 is the direction (client, server) and bits 0-6 the piece's length
 * (127: plus twice the next byte), then the piece's bytes, as many as are
 * left. Every piece is fed from a heap block of exactly its size, so ASan
 * reports a read past it.
 *
 * Beyond memory errors and UB it aborts when a result breaks the contract
 * of pg.h:
 * - a returned mark goes back, or passes what was fed; the streamed mark
 *   goes back (but to the mark once broken), falls behind the mark, or
 *   passes what was fed;
 * - complete messages do not tile their direction (each starts where the
 *   last ended), or one ends past what was fed;
 * - an in-place base, a field or CopyData pointer is not in the piece at
 *   its offset, a string's offset does not hold its bytes, or a field,
 *   string or piece lies outside its message;
 * - a violation is reported twice, or any event comes after it;
 * - an iterator or a parameter array walks past what it should.
 *
 * Seeds: tests/fuzz/gen-corpus pg DIR. Run: tests/fuzz/run.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct tg_pg_session s;
	uint8_t *stream[2];	/* everything fed, per direction */
	uint64_t fed[2];
	uint64_t mark[2];
	uint64_t streamed[2];	/* tg_pg_streamed_mark() */
	uint64_t expect[2];	/* end of the last complete message */
	uint8_t *piece;
	uint64_t piece_off;
	uint32_t piece_len;
	int piece_dir;
	int violations;
	uint64_t sink;		/* reads that must not be optimised away */
};

static void
touch(struct run *r, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		r->sink += b[i];
}

static void
live(struct run *r)
{
	CHECK(r->violations == 0);
	CHECK(tg_pg_state(&r->s) != TG_PG_BROKEN);
}

static void
in_piece(struct run *r, const struct tg_pg_msg *m, uint64_t off, uint64_t len, const uint8_t *p)
{
	CHECK(m->dir == r->piece_dir);
	CHECK(off >= r->piece_off && off + len <= r->piece_off + r->piece_len);
	CHECK(p == r->piece + (off - r->piece_off));
}

/* A streamed message (DataRow, CopyData, FunctionCallResponse) still coming in */
static void
check_streamed(struct run *r, const struct tg_pg_msg *m)
{
	live(r);
	CHECK(m->dir == TG_PG_DIR_FE || m->dir == TG_PG_DIR_BE);
	CHECK(m->off == r->expect[m->dir]);
	CHECK(m->base == NULL);
	CHECK(m->kind < (m->dir == TG_PG_DIR_FE ? TG_PG_FE_MAX : TG_PG_BE_MAX));
}

static void
check_msg(struct run *r, const struct tg_pg_msg *m)
{
	live(r);
	CHECK(m->dir == TG_PG_DIR_FE || m->dir == TG_PG_DIR_BE);
	CHECK(m->off >= r->expect[m->dir]);
	CHECK(m->off + m->len <= r->fed[m->dir]);
	CHECK(m->kind < (m->dir == TG_PG_DIR_FE ? TG_PG_FE_MAX : TG_PG_BE_MAX));
	if (m->base == NULL)
		return;
	if (m->in_place)
		in_piece(r, m, m->off, m->len, m->base);
	CHECK(memcmp(m->base, r->stream[m->dir] + m->off, m->len) == 0);
}

static void
check_str(struct run *r, const struct tg_pg_msg *m, const struct tg_pg_str *s)
{
	if (s->p == NULL)
		return;
	CHECK(s->off >= m->off && s->off + s->len < m->off + m->len);
	CHECK(memcmp(r->stream[m->dir] + s->off, s->p, s->len) == 0);
}

static void
check_params(struct run *r, uint16_t nshown, const struct tg_pg_param *pv)
{
	uint16_t i;

	for (i = 0; i < nshown; i++) {
		CHECK((pv[i].val == NULL) == (pv[i].wire_len < 0));
		if (pv[i].val != NULL)
			touch(r, pv[i].val, pv[i].len);
	}
}

static void
on_message(void *ctx, const struct tg_pg_msg *m)
{
	struct run *r = ctx;

	check_msg(r, m);
	CHECK(m->off == r->expect[m->dir]);
	r->expect[m->dir] = m->off + m->len;
}

static void
on_violation(void *ctx, int dir, enum tg_pg_err err, uint64_t off)
{
	struct run *r = ctx;

	CHECK(err > TG_PG_OK && err < TG_PG_ERR_MAX);
	CHECK(dir == TG_PG_DIR_FE || dir == TG_PG_DIR_BE);
	CHECK(r->violations == 0);
	r->violations++;
}

static void
on_opaque(void *ctx, const struct tg_pg_msg *m)
{
	struct run *r = ctx;

	CHECK(m->type == 'S' || m->type == 'G');
	CHECK(r->expect[TG_PG_DIR_BE] == m->off + 1);
}

static void
on_startup(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_startup *st)
{
	struct run *r = ctx;
	struct tg_pg_iter it = st->params;
	struct tg_pg_str k, v;

	check_msg(r, m);
	check_str(r, m, &st->user);
	check_str(r, m, &st->database);
	check_str(r, m, &st->options);
	check_str(r, m, &st->application_name);
	check_str(r, m, &st->replication);
	while (tg_pg_next_param(&it, &k, &v)) {
		check_str(r, m, &k);
		check_str(r, m, &v);
	}
}

static void
on_password(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_password *pw)
{
	struct run *r = ctx;

	check_msg(r, m);
	check_str(r, m, &pw->password);
	check_str(r, m, &pw->mechanism);
	if (pw->len > 0) {
		CHECK(pw->data > m->base && pw->data + pw->len <= m->base + m->len);
		touch(r, pw->data, (size_t)pw->len);
	}
}

static void
on_query(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_str *text)
{
	check_msg(ctx, m);
	check_str(ctx, m, text);
}

static void
on_parse(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_parse *p)
{
	struct run *r = ctx;

	check_msg(r, m);
	check_str(r, m, &p->name);
	check_str(r, m, &p->text);
	touch(r, p->param_types, (size_t)p->nparam_types * 4);
}

static void
on_bind(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_bind *b)
{
	struct run *r = ctx;

	check_msg(r, m);
	check_str(r, m, &b->portal);
	check_str(r, m, &b->stmt);
	CHECK(b->nshown <= b->nparams);
	if (b->text != NULL)
		touch(r, b->text, b->text_len);
	check_params(r, b->nshown, b->params);
	touch(r, b->result_formats, (size_t)b->nresult_formats * 2);
}

static void
on_target(void *ctx, const struct tg_pg_msg *m, uint8_t what, const struct tg_pg_str *name)
{
	check_msg(ctx, m);
	CHECK(what == 'S' || what == 'P');
	check_str(ctx, m, name);
}

static void
on_execute(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_execute *e)
{
	struct run *r = ctx;

	check_msg(r, m);
	check_str(r, m, &e->portal);
	CHECK((e->text == NULL) == (e->flags != 0));
	CHECK(e->nshown <= e->nparams);
	if (e->stmt != NULL)
		touch(r, e->stmt, e->stmt_len);
	if (e->text != NULL)
		touch(r, e->text, e->text_len);
	check_params(r, e->nshown, e->params);
}

static void
on_function_call(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_fcall *f)
{
	struct run *r = ctx;
	struct tg_pg_iter it = f->args;
	const uint8_t *v;
	uint64_t off;
	int32_t len;
	uint16_t n = 0;

	check_msg(r, m);
	touch(r, f->formats, (size_t)f->nformats * 2);
	while (tg_pg_next_value(&it, &v, &len, &off)) {
		if (v != NULL) {
			CHECK(off >= m->off && off + (uint32_t)len <= m->off + m->len);
			CHECK(memcmp(r->stream[m->dir] + off, v, (size_t)len) == 0);
		}
		n++;
	}
	CHECK(n == f->nargs);
}

static void
on_copy_fail(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_str *why)
{
	check_msg(ctx, m);
	check_str(ctx, m, why);
}

static void
on_copy_data(void *ctx, const struct tg_pg_msg *m, uint64_t off, uint32_t len, uint8_t *bytes)
{
	struct run *r = ctx;

	check_streamed(r, m);
	CHECK(len > 0);
	CHECK(off >= m->off + 5 && off + len <= m->off + m->len);
	CHECK(off + len <= r->fed[m->dir]);
	in_piece(r, m, off, len, bytes);
}

static void
on_auth(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_auth *a)
{
	struct run *r = ctx;
	struct tg_pg_iter it = a->mechanisms;
	struct tg_pg_str s;

	check_msg(r, m);
	if (a->salt != NULL)
		touch(r, a->salt, 4);
	while (tg_pg_next_str(&it, &s))
		check_str(r, m, &s);
	if (a->data != NULL)
		touch(r, a->data, a->len);
}

static void
on_parameter_status(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_str *name,
		    const struct tg_pg_str *value)
{
	check_msg(ctx, m);
	check_str(ctx, m, name);
	check_str(ctx, m, value);
}

static void
on_key(void *ctx, const struct tg_pg_msg *m, uint32_t pid, uint32_t key)
{
	check_msg(ctx, m);
}

static void
on_ready(void *ctx, const struct tg_pg_msg *m, uint8_t status)
{
	check_msg(ctx, m);
	CHECK(status == 'I' || status == 'T' || status == 'E');
}

static void
on_row_description(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_rowdesc *rd)
{
	struct run *r = ctx;
	struct tg_pg_iter it = rd->cols;
	struct tg_pg_column c;
	uint16_t n = 0;

	check_msg(r, m);
	while (tg_pg_next_column(&it, &c)) {
		check_str(r, m, &c.name);
		CHECK(c.format == 0 || c.format == 1);
		n++;
	}
	CHECK(n == rd->ncols);
}

static void
on_field(void *ctx, const struct tg_pg_msg *m, uint16_t idx, uint64_t off, int32_t len,
	 uint8_t *bytes)
{
	struct run *r = ctx;

	check_streamed(r, m);
	CHECK(len >= -1);
	if (len <= 0) {
		CHECK(bytes == NULL);
		return;
	}
	CHECK(off >= m->off + 5 && off + (uint32_t)len <= m->off + m->len);
	CHECK(off + (uint32_t)len <= r->fed[m->dir]);
	if (bytes != NULL)
		in_piece(r, m, off, (uint32_t)len, bytes);
}

static void
on_data_field(void *ctx, const struct tg_pg_msg *m, uint16_t idx, uint64_t off, int32_t len,
	      uint8_t *bytes)
{
	CHECK(m->type == 'D');
	on_field(ctx, m, idx, off, len, bytes);
}

static void
on_function_result(void *ctx, const struct tg_pg_msg *m, uint64_t off, int32_t len,
		   uint8_t *bytes)
{
	CHECK(m->type == 'V');
	on_field(ctx, m, 0, off, len, bytes);
}

static void
on_data_row(void *ctx, const struct tg_pg_msg *m, uint16_t nfields)
{
	check_msg(ctx, m);
}

static void
on_notice(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_notice *n)
{
	struct run *r = ctx;
	struct tg_pg_iter it = n->fields;
	struct tg_pg_str v;
	uint8_t code;

	check_msg(r, m);
	check_str(r, m, &n->severity);
	check_str(r, m, &n->code);
	check_str(r, m, &n->message);
	while (tg_pg_next_field(&it, &code, &v)) {
		CHECK(code != 0);
		check_str(r, m, &v);
	}
}

static void
on_notification(void *ctx, const struct tg_pg_msg *m, uint32_t pid,
		const struct tg_pg_str *channel, const struct tg_pg_str *payload)
{
	check_msg(ctx, m);
	check_str(ctx, m, channel);
	check_str(ctx, m, payload);
}

static void
on_parameter_description(void *ctx, const struct tg_pg_msg *m, uint16_t n, const uint8_t *oids)
{
	check_msg(ctx, m);
	touch(ctx, oids, (size_t)n * 4);
}

static void
on_copy_response(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_copy_resp *c)
{
	check_msg(ctx, m);
	CHECK(c->format == 0 || c->format == 1);
	touch(ctx, c->formats, (size_t)c->ncols * 2);
}

static void
on_negotiate(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_negotiate *nv)
{
	struct run *r = ctx;
	struct tg_pg_iter it = nv->opts;
	struct tg_pg_str s;
	uint32_t n = 0;

	check_msg(r, m);
	while (tg_pg_next_str(&it, &s)) {
		check_str(r, m, &s);
		n++;
	}
	CHECK(n == nv->nopts);
}

static const struct tg_pg_callbacks callbacks = {
	.message = on_message,
	.violation = on_violation,
	.opaque = on_opaque,
	.startup = on_startup,
	.cancel = on_key,
	.password = on_password,
	.query = on_query,
	.parse = on_parse,
	.bind = on_bind,
	.describe = on_target,
	.execute = on_execute,
	.close = on_target,
	.function_call = on_function_call,
	.copy_fail = on_copy_fail,
	.copy_data = on_copy_data,
	.auth = on_auth,
	.parameter_status = on_parameter_status,
	.backend_key = on_key,
	.ready = on_ready,
	.row_description = on_row_description,
	.data_field = on_data_field,
	.data_row = on_data_row,
	.command_complete = on_copy_fail,
	.error = on_notice,
	.notice = on_notice,
	.notification = on_notification,
	.parameter_description = on_parameter_description,
	.copy_response = on_copy_response,
	.function_result = on_function_result,
	.negotiate_version = on_negotiate,
};

static void
feed(struct run *r, int dir, const uint8_t *p, uint32_t n)
{
	uint64_t off = r->fed[dir], mark, streamed;
	bool broken = tg_pg_state(&r->s) == TG_PG_BROKEN;

	memcpy(r->stream[dir] + off, p, n);
	r->piece = malloc(n != 0 ? n : 1);
	CHECK(r->piece != NULL);
	memcpy(r->piece, p, n);
	r->piece_off = off;
	r->piece_len = n;
	r->piece_dir = dir;
	r->fed[dir] += n;
	mark = tg_pg_feed(&r->s, dir, r->piece, n, off);
	free(r->piece);
	r->piece = NULL;
	CHECK(mark >= r->mark[dir]);
	CHECK(mark <= r->fed[dir]);
	/* the mark is the end of the last complete message, or all once opaque */
	if (tg_pg_state(&r->s) != TG_PG_OPAQUE)
		CHECK(mark == r->expect[dir]);
	if (broken)
		CHECK(mark == r->mark[dir]);
	if (tg_pg_state(&r->s) == TG_PG_OPAQUE)
		CHECK(mark == r->fed[dir]);
	r->mark[dir] = mark;
	streamed = tg_pg_streamed_mark(&r->s, dir);
	CHECK(streamed >= mark && streamed <= r->fed[dir]);
	if (tg_pg_state(&r->s) == TG_PG_BROKEN)
		CHECK(streamed == mark);
	else
		CHECK(streamed >= r->streamed[dir]);
	r->streamed[dir] = streamed;
}

/* StartupMessage user=u; AuthenticationOk; ReadyForQuery 'I' */
static const uint8_t pre_fe[] = "\x00\x00\x00\x10\x00\x03\x00\x00user\x00u\x00\x00";
static const uint8_t pre_be[] = "R\x00\x00\x00\x08\x00\x00\x00\x00Z\x00\x00\x00\x05I";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	struct tg_pg_limits lim;
	static uint8_t *arena;
	static size_t arena_size;
	size_t need, i = 1;
	uint8_t cfg;

	if (size < 1 || size > (1u << 20))
		return 0;
	cfg = data[0];
	tg_pg_limits_default(&lim);
	if (cfg & 1) {
		lim.startup_max = 512;
		lim.fe_small_max = 128;
		lim.auth_max = 128;
		lim.stmt_max = 512;
		lim.data_max = 4096;
		lim.be_long_max = 512;
		lim.be_small_max = 128;
		lim.text_max = 256;
		lim.params_max = 4;
		lim.param_show_max = 8;
		lim.stmts_max = 4;
		lim.portals_max = 2;
		lim.pending_max = 8;
		lim.pool_size = 512;
	}
	need = tg_pg_arena_size(&lim);
	CHECK(need != 0);
	if (arena_size < need) {
		free(arena);
		arena = malloc(need);
		CHECK(arena != NULL);
		arena_size = need;
	}
	memset(&r, 0, sizeof(r));
	CHECK(tg_pg_init(&r.s, &lim, &callbacks, &r, arena, need) == 0);
	r.stream[0] = malloc(size + sizeof(pre_fe));
	r.stream[1] = malloc(size + sizeof(pre_be));
	CHECK(r.stream[0] != NULL && r.stream[1] != NULL);
	if (cfg & 2) {
		feed(&r, TG_PG_DIR_FE, pre_fe, sizeof(pre_fe) - 1);
		feed(&r, TG_PG_DIR_BE, pre_be, sizeof(pre_be) - 1);
		CHECK(tg_pg_state(&r.s) == TG_PG_READY);
	}
	while (i < size) {
		uint8_t c = data[i++];
		int dir = c >> 7;
		size_t n = c & 0x7f;

		if (n == 0x7f && i < size)
			n += 2u * data[i++];
		if (n > size - i)
			n = size - i;
		feed(&r, dir, data + i, (uint32_t)n);
		i += n;
	}
	tg_pg_fini(&r.s);
	free(r.stream[0]);
	free(r.stream[1]);
	return 0;
}
