/* SPDX-License-Identifier: MIT */
/*
 * pgmsg.h — PostgreSQL v3 messages built byte by byte for the unit tests
 * of the parser (test_pg.c) and of the inspector (test_inspect.c), as
 * PostgreSQL 15 sends them (docs, 55.7 "Message Formats"). Each builder
 * appends one message to a struct mb; its comment gives the layout.
 *
 * The builders are here so that both tests feed the same bytes for the
 * same message; a builder only one test needs (a malformed message, a
 * field layout of its own) stays in that test.
 *
 * Header-only: every function is static inline, so a test that uses some
 * of them is not warned about the rest.
 *
 * Caveats:
 * - A struct mb holds PGMSG_MAX bytes; a builder that would write past
 *   them fails the case (cmocka's assert_true), it does not truncate.
 * - The builders trust their arguments: a String with a NUL in it ends
 *   early, as it would on the wire.
 */
#ifndef TG_TEST_PGMSG_H
#define TG_TEST_PGMSG_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define PGMSG_MAX (64u << 10)

/* Messages being built, back to back: b[0..n). */
struct mb {
	size_t n;
	uint8_t b[PGMSG_MAX];
};

/* ---- fields (55.6 "Message Data Types": big-endian integers) ---- */

static inline void
put8(struct mb *m, uint8_t v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = v;
}

static inline void
put16(struct mb *m, uint16_t v)
{
	put8(m, (uint8_t)(v >> 8));
	put8(m, (uint8_t)v);
}

static inline void
put32(struct mb *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

static inline void
putn(struct mb *m, const void *p, size_t n)
{
	if (n == 0)
		return;
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* a String: the bytes and a NUL */
static inline void
puts0(struct mb *m, const char *s)
{
	putn(m, s, strlen(s) + 1);
}

/* Type byte (none for a startup packet) and a length word to fill in; returns where it is. */
static inline size_t
msg_begin(struct mb *m, char type)
{
	size_t at;

	if (type != 0)
		put8(m, (uint8_t)type);
	at = m->n;
	put32(m, 0);
	return at;
}

/* the length: from the length field to the end, itself included */
static inline void
msg_end(struct mb *m, size_t at)
{
	uint32_t len = (uint32_t)(m->n - at);

	m->b[at] = (uint8_t)(len >> 24);
	m->b[at + 1] = (uint8_t)(len >> 16);
	m->b[at + 2] = (uint8_t)(len >> 8);
	m->b[at + 3] = (uint8_t)len;
}

/* A message whose body is one String: type, Int32 len, String s */
static inline void
msg_string(struct mb *m, char type, const char *s)
{
	size_t at = msg_begin(m, type);

	puts0(m, s);
	msg_end(m, at);
}

/* n values, each Int32 len or -1 for a NULL vals[i], then its bytes (Bind, DataRow) */
static inline void
put_values(struct mb *m, int n, const char *const *vals)
{
	int i;

	for (i = 0; i < n; i++) {
		if (vals[i] == NULL) {
			put32(m, UINT32_MAX);
			continue;
		}
		put32(m, (uint32_t)strlen(vals[i]));
		putn(m, vals[i], strlen(vals[i]));
	}
}

/* ---- the client's messages ---- */

/*
 * StartupMessage: Int32 len, Int32 196608 (3.0), String "user", user,
 * "database", db, then "application_name", app unless app is NULL, a NUL
 */
static inline void
q_startup(struct mb *m, const char *user, const char *db, const char *app)
{
	size_t at = msg_begin(m, 0);

	put32(m, 3u << 16);
	puts0(m, "user");
	puts0(m, user);
	puts0(m, "database");
	puts0(m, db);
	if (app != NULL) {
		puts0(m, "application_name");
		puts0(m, app);
	}
	put8(m, 0);
	msg_end(m, at);
}

/* SSLRequest 80877103 / GSSENCRequest 80877104: Int32 8, Int32 code */
static inline void
q_request(struct mb *m, uint32_t code)
{
	put32(m, 8);
	put32(m, code);
}

/* Query: 'Q', Int32 len, String text */
static inline void
q_query(struct mb *m, const char *text)
{
	msg_string(m, 'Q', text);
}

/* Parse: 'P', Int32 len, String name, String text, Int16 0 parameter types */
static inline void
q_parse(struct mb *m, const char *name, const char *text)
{
	size_t at = msg_begin(m, 'P');

	puts0(m, name);
	puts0(m, text);
	put16(m, 0);
	msg_end(m, at);
}

/*
 * Bind: 'B', Int32 len, String portal, String statement, Int16 0 formats
 * (all text), Int16 n, n x (Int32 len or -1 for a NULL vals[i], bytes),
 * Int16 0 result formats (all text)
 */
static inline void
q_bind(struct mb *m, const char *portal, const char *stmt, int n, const char *const *vals)
{
	size_t at = msg_begin(m, 'B');

	puts0(m, portal);
	puts0(m, stmt);
	put16(m, 0);
	put16(m, (uint16_t)n);
	put_values(m, n, vals);
	put16(m, 0);
	msg_end(m, at);
}

/* Execute: 'E', Int32 len, String portal, Int32 max rows */
static inline void
q_execute(struct mb *m, const char *portal, uint32_t max)
{
	size_t at = msg_begin(m, 'E');

	puts0(m, portal);
	put32(m, max);
	msg_end(m, at);
}

/* Describe 'D' / Close 'C': Int32 len, Byte1 'S' (statement) or 'P' (portal), String name */
static inline void
q_target(struct mb *m, char type, char what, const char *name)
{
	size_t at = msg_begin(m, type);

	put8(m, (uint8_t)what);
	puts0(m, name);
	msg_end(m, at);
}

/* A message with no body: Sync 'S', Flush 'H', CopyDone 'c', ParseComplete '1', ... */
static inline void
q_empty(struct mb *m, char type)
{
	msg_end(m, msg_begin(m, type));
}

/* A message whose body is n bytes from p: CopyData 'd', a password 'p', ... */
static inline void
q_bytes(struct mb *m, char type, const void *p, size_t n)
{
	size_t at = msg_begin(m, type);

	putn(m, p, n);
	msg_end(m, at);
}

/* ---- the server's messages ---- */

/* Authentication: 'R', Int32 len, Int32 code (0: AuthenticationOk), n bytes of extra */
static inline void
r_auth(struct mb *m, uint32_t code, const void *extra, size_t n)
{
	size_t at = msg_begin(m, 'R');

	put32(m, code);
	putn(m, extra, n);
	msg_end(m, at);
}

/* ParameterStatus: 'S', Int32 len, String name, String value */
static inline void
r_param(struct mb *m, const char *name, const char *value)
{
	size_t at = msg_begin(m, 'S');

	puts0(m, name);
	puts0(m, value);
	msg_end(m, at);
}

/* BackendKeyData: 'K', Int32 12, Int32 pid, Int32 key */
static inline void
r_key(struct mb *m, uint32_t pid, uint32_t key)
{
	size_t at = msg_begin(m, 'K');

	put32(m, pid);
	put32(m, key);
	msg_end(m, at);
}

/* ReadyForQuery: 'Z', Int32 5, Byte1 status */
static inline void
r_ready(struct mb *m, char status)
{
	size_t at = msg_begin(m, 'Z');

	put8(m, (uint8_t)status);
	msg_end(m, at);
}

/* CommandComplete: 'C', Int32 len, String tag */
static inline void
r_complete(struct mb *m, const char *tag)
{
	msg_string(m, 'C', tag);
}

/* DataRow: 'D', Int32 len, Int16 n, n x (Int32 len or -1 for a NULL vals[i], bytes) */
static inline void
r_row(struct mb *m, int n, const char *const *vals)
{
	size_t at = msg_begin(m, 'D');

	put16(m, (uint16_t)n);
	put_values(m, n, vals);
	msg_end(m, at);
}

/*
 * ErrorResponse 'E' / NoticeResponse 'N': Int32 len, (Byte1 code, String
 * value)*, a NUL. fields is "code" "value" pairs, NULL-terminated.
 */
static inline void
r_notice(struct mb *m, char type, const char *const *fields)
{
	size_t at = msg_begin(m, type);
	int i;

	for (i = 0; fields[i] != NULL; i += 2) {
		put8(m, (uint8_t)fields[i][0]);
		puts0(m, fields[i + 1]);
	}
	put8(m, 0);
	msg_end(m, at);
}

/*
 * CopyInResponse 'G' / CopyOutResponse 'H': Int32 len, Int8 format 0
 * (text), Int16 n, n x Int16 0
 */
static inline void
r_copy_response(struct mb *m, char type, int ncols)
{
	size_t at = msg_begin(m, type);
	int i;

	put8(m, 0);
	put16(m, (uint16_t)ncols);
	for (i = 0; i < ncols; i++)
		put16(m, 0);
	msg_end(m, at);
}

#endif /* TG_TEST_PGMSG_H */
