/* SPDX-License-Identifier: MIT */
/*
 * record.c — a session's recording, packed into pieces; see record.h for
 * the items and the limit.
 */
#include <string.h>

#include "record.h"

#define ITEM_HDR 3 /* type u8, len u16 */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

void
tg_record_flush(struct tg_record *r, const struct tg_record_out *o)
{
	if (!r->on || r->len == 0)
		return;
	if (!o->emit(o->arg, o->session, o->service, r->piece, r->buf, r->len))
		r->lost++;
	r->piece++;
	r->len = 0;
}

/*
 * Room for an item of payload len (at most TG_RECORD_PIECE - ITEM_HDR):
 * its payload's first byte, after the header; NULL when it is not kept.
 */
static uint8_t *
item(struct tg_record *r, const struct tg_record_out *o, uint8_t type, uint32_t len)
{
	uint8_t *p;

	if (!r->on)
		return NULL;
	if (r->kept >= 4 * o->limit) {
		r->dropped++;
		return NULL;
	}
	if (r->len + ITEM_HDR + len > TG_RECORD_PIECE)
		tg_record_flush(r, o);
	p = r->buf + r->len;
	p[0] = type;
	put16(p + 1, (uint16_t)len);
	r->len = (uint16_t)(r->len + ITEM_HDR + len);
	r->kept += ITEM_HDR + len;
	return p + ITEM_HDR;
}

static uint8_t *
put_b16(uint8_t *p, const void *s, uint32_t len)
{
	put16(p, (uint16_t)len);
	if (len != 0)
		memcpy(p + 2, s, len);
	return p + 2 + len;
}

void
tg_record_start(struct tg_record *r, const struct tg_record_out *o)
{
	r->len = 0;
	r->on = o->limit != 0 && o->emit != NULL;
	r->piece = 0;
	r->kept = 0;
	r->skip_rows = r->skip_bytes = 0;
	r->lost = r->dropped = 0;
}

/* Rows past the limit are said before what ends their statement. */
static void
skipped(struct tg_record *r, const struct tg_record_out *o, uint64_t t)
{
	uint8_t *p;

	if (r->skip_rows == 0 && r->skip_bytes == 0)
		return;
	if ((p = item(r, o, TG_RECORD_SKIPPED, 24)) != NULL) {
		put64(p, t);
		put64(p + 8, r->skip_rows);
		put64(p + 16, r->skip_bytes);
	}
	r->skip_rows = r->skip_bytes = 0;
}

void
tg_record_stmt(struct tg_record *r, const struct tg_record_out *o, uint64_t t, uint32_t stmt,
	       uint8_t kind, uint8_t verdict, const char *text, uint32_t text_len,
	       const char *params, uint32_t params_len)
{
	uint8_t *p;

	/* the event caps (1024 + 512) fit a piece; longer is cut to fit */
	if (text_len > 1024)
		text_len = 1024;
	if (params_len > 512)
		params_len = 512;
	if (text == NULL)
		text_len = 0;
	if (params == NULL)
		params_len = 0;
	p = item(r, o, TG_RECORD_STMT, 18 + text_len + params_len);
	if (p == NULL)
		return;
	put64(p, t);
	put32(p + 8, stmt);
	p[12] = kind;
	p[13] = verdict;
	p = put_b16(p + 14, text, text_len);
	put_b16(p, params, params_len);
}

void
tg_record_columns(struct tg_record *r, const struct tg_record_out *o, uint64_t t, uint16_t ncols,
		  const char *const *names, const uint32_t *lens, uint16_t n)
{
	uint32_t len = 12, k = 0;
	uint8_t *p;

	/* as many names as fit one piece */
	while (k < n && len + 1 + (lens[k] < TG_RECORD_NAME_MAX ? lens[k] : TG_RECORD_NAME_MAX) <=
				TG_RECORD_PIECE - ITEM_HDR) {
		len += 1 + (lens[k] < TG_RECORD_NAME_MAX ? lens[k] : TG_RECORD_NAME_MAX);
		k++;
	}
	if ((p = item(r, o, TG_RECORD_COLUMNS, len)) == NULL)
		return;
	put64(p, t);
	put16(p + 8, ncols);
	put16(p + 10, (uint16_t)k);
	p += 12;
	for (uint32_t i = 0; i < k; i++) {
		uint8_t l = (uint8_t)(lens[i] < TG_RECORD_NAME_MAX ? lens[i] : TG_RECORD_NAME_MAX);

		*p++ = l;
		memcpy(p, names[i], l);
		p += l;
	}
}

void
tg_record_field(struct tg_record *r, const struct tg_record_out *o, uint16_t idx, int32_t len,
		const uint8_t *value, uint32_t kept)
{
	uint8_t *p;

	if (!r->on)
		return;
	if (r->kept >= o->limit) {
		r->skip_bytes += len > 0 ? (uint64_t)len : 0;
		return;
	}
	if (value == NULL || len <= 0)
		kept = 0;
	if (kept > TG_RECORD_VALUE_MAX)
		kept = TG_RECORD_VALUE_MAX;
	if (len > 0 && kept > (uint32_t)len)
		kept = (uint32_t)len;
	if ((p = item(r, o, TG_RECORD_FIELD, 6 + kept)) == NULL)
		return;
	put16(p, idx);
	put32(p + 2, (uint32_t)len);
	if (kept != 0)
		memcpy(p + 6, value, kept);
}

void
tg_record_row(struct tg_record *r, const struct tg_record_out *o, uint64_t t, uint16_t nfields)
{
	uint8_t *p;

	if (!r->on)
		return;
	if (r->kept >= o->limit) {
		r->skip_rows++;
		return;
	}
	if ((p = item(r, o, TG_RECORD_ROW, 10)) == NULL)
		return;
	put64(p, t);
	put16(p + 8, nfields);
}

void
tg_record_complete(struct tg_record *r, const struct tg_record_out *o, uint64_t t, const char *tag,
		   uint32_t len)
{
	uint8_t *p;

	if (!r->on)
		return;
	skipped(r, o, t);
	if (len > 255)
		len = 255;
	if ((p = item(r, o, TG_RECORD_COMPLETE, 8 + len)) == NULL)
		return;
	put64(p, t);
	if (len != 0)
		memcpy(p + 8, tag, len);
}

void
tg_record_notice(struct tg_record *r, const struct tg_record_out *o, uint64_t t, bool error,
		 const uint8_t *codes, const uint8_t *const *values, const uint32_t *lens,
		 uint8_t n)
{
	uint32_t len = 9;
	uint8_t *p, i;

	if (!r->on)
		return;
	skipped(r, o, t);
	for (i = 0; i < n; i++)
		len += 3 + (lens[i] < TG_RECORD_NOTICE_MAX ? lens[i] : TG_RECORD_NOTICE_MAX);
	if ((p = item(r, o, error ? TG_RECORD_ERROR : TG_RECORD_NOTICE, len)) == NULL)
		return;
	put64(p, t);
	p[8] = n;
	p += 9;
	for (i = 0; i < n; i++) {
		*p++ = codes[i];
		p = put_b16(p, values[i],
			    lens[i] < TG_RECORD_NOTICE_MAX ? lens[i] : TG_RECORD_NOTICE_MAX);
	}
}

void
tg_record_ready(struct tg_record *r, const struct tg_record_out *o, uint64_t t, uint8_t status)
{
	uint8_t *p;

	if (!r->on)
		return;
	skipped(r, o, t);
	if ((p = item(r, o, TG_RECORD_READY, 9)) != NULL) {
		put64(p, t);
		p[8] = status;
	}
	tg_record_flush(r, o);
}
