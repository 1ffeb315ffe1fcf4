/* SPDX-License-Identifier: MIT */
/*
 * record.h — a session's recording: what the client saw, in order and
 * with timestamps, as the inspector (inspect.c) passes it on, after
 * masking (issue 13; NIST SP 800-53 AU-14). DPDK-free: the inspector's
 * unit tests and fuzz target run it as it is.
 *
 * What is recorded: each statement when it is decided (its masked text
 * and parameter display, kind, verdict, number), the columns of a
 * RowDescription, every DataRow field as the client receives it (masked:
 * called after the field was masked in the ring), each row's end,
 * CommandComplete tags, ErrorResponse and NoticeResponse fields (severity,
 * SQLSTATE, message, detail, hint: masked as the client gets them) and
 * ReadyForQuery. Raw values never enter it: every byte comes from what
 * leaves towards the client.
 *
 * Items, packed into pieces of at most TG_RECORD_PIECE bytes, each piece
 * one RECORD event of punt.h. An item is type u8, len u16 (the payload's
 * bytes), payload; integers big-endian:
 *
 *   STMT     t u64, stmt u32, kind u8, verdict u8, text b16, params b16
 *   COLUMNS  t u64, ncols u16, kept u16, kept x name b8
 *   FIELD    idx u16, len i32 (-1 NULL), the value's first bytes
 *            (at most TG_RECORD_VALUE_MAX: fewer than len means cut)
 *   ROW      t u64, nfields u16
 *   COMPLETE t u64, tag
 *   ERROR    t u64, n u8, n x (code u8, value b16)
 *   NOTICE   as ERROR
 *   READY    t u64, status u8
 *   SKIPPED  t u64, rows u64, bytes u64: rows of the statement past the
 *            session's limit, counted and not kept
 *
 * b8/b16: a u8/u16 length, then the bytes. t is CLOCK_REALTIME ns.
 *
 * The limit. Rows (FIELD and ROW items) are kept while the session's
 * recording holds fewer than limit bytes; past it they are counted, rows
 * and value bytes, and a SKIPPED item says so before the statement's
 * COMPLETE, ERROR or READY. Everything else is kept up to 4 x limit;
 * past that nothing more is (counted in dropped).
 *
 * Pieces leave when the next item would not fit, at each READY, and at
 * the session's end (tg_record_flush()). emit() returns false when the
 * piece could not be handed over (the worker's ring too full to spare
 * it: statement events come first); the piece's number is used anyway,
 * so the slowpath sees the hole, and the piece is counted lost.
 *
 * Cost: one memcpy of each recorded byte into the session's piece
 * buffer (TG_RECORD_PIECE bytes a session, allocated with the session),
 * one clock read per row and per other item, one event per piece.
 */
#ifndef TG_RECORD_H
#define TG_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#define TG_RECORD_PIECE 1536	 /* = TG_PUNT_RECORD_MAX */
#define TG_RECORD_VALUE_MAX 256	 /* bytes of a field value kept */
#define TG_RECORD_NOTICE_MAX 256 /* bytes of an error or notice field kept */
#define TG_RECORD_NAME_MAX 63	 /* bytes of a column name kept */

enum tg_record_item {
	TG_RECORD_STMT = 1,
	TG_RECORD_COLUMNS = 2,
	TG_RECORD_FIELD = 3,
	TG_RECORD_ROW = 4,
	TG_RECORD_COMPLETE = 5,
	TG_RECORD_ERROR = 6,
	TG_RECORD_NOTICE = 7,
	TG_RECORD_READY = 8,
	TG_RECORD_SKIPPED = 9,
	TG_RECORD_ITEM_MAX
};

struct tg_record {
	uint8_t buf[TG_RECORD_PIECE];
	uint16_t len;			/* bytes in buf */
	bool on;			/* this session is recorded */
	uint32_t piece;			/* the next piece's number */
	uint64_t kept;			/* bytes of items kept so far */
	uint64_t skip_rows, skip_bytes; /* rows past the limit, since the last SKIPPED */
	uint64_t lost;			/* pieces emit() refused */
	uint64_t dropped;		/* items past 4 x limit */
};

/* Hands a piece over (a RECORD event): true when it was taken. */
typedef bool (*tg_record_emit_fn)(void *arg, uint64_t session, uint16_t service, uint32_t piece,
				  const uint8_t *data, uint16_t len);

/* Where a session's pieces go, and its limit. */
struct tg_record_out {
	tg_record_emit_fn emit;
	void *arg;
	uint64_t session;
	uint16_t service;
	uint64_t limit; /* bytes; 0: not recorded */
};

/* A new session: recorded when o->limit is not 0. */
void tg_record_start(struct tg_record *r, const struct tg_record_out *o);

void tg_record_stmt(struct tg_record *r, const struct tg_record_out *o, uint64_t t, uint32_t stmt,
		    uint8_t kind, uint8_t verdict, const char *text, uint32_t text_len,
		    const char *params, uint32_t params_len);

/* A RowDescription's columns: names[i] of lens[i] bytes, n of ncols given. */
void tg_record_columns(struct tg_record *r, const struct tg_record_out *o, uint64_t t,
		       uint16_t ncols, const char *const *names, const uint32_t *lens, uint16_t n);

/* A DataRow field: len -1 is NULL; value holds min(len, kept) bytes, NULL when none. */
void tg_record_field(struct tg_record *r, const struct tg_record_out *o, uint16_t idx, int32_t len,
		     const uint8_t *value, uint32_t kept);

void tg_record_row(struct tg_record *r, const struct tg_record_out *o, uint64_t t,
		   uint16_t nfields);

void tg_record_complete(struct tg_record *r, const struct tg_record_out *o, uint64_t t,
			const char *tag, uint32_t len);

/* An ErrorResponse (error) or NoticeResponse: n fields, codes[i] and values[i] of lens[i]. */
void tg_record_notice(struct tg_record *r, const struct tg_record_out *o, uint64_t t, bool error,
		      const uint8_t *codes, const uint8_t *const *values, const uint32_t *lens,
		      uint8_t n);

/* ReadyForQuery: ends a request; the piece leaves. */
void tg_record_ready(struct tg_record *r, const struct tg_record_out *o, uint64_t t,
		     uint8_t status);

/* Sends what is buffered (the session's end). */
void tg_record_flush(struct tg_record *r, const struct tg_record_out *o);

#endif /* TG_RECORD_H */
