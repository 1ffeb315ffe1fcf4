/* SPDX-License-Identifier: MIT */
/*
 * pg.h — incremental parser of the PostgreSQL v3 frontend/backend protocol,
 * both directions of one session (PostgreSQL 15 docs, chapter 55,
 * "Frontend/Backend Protocol"; section numbers below are from it).
 *
 * The reassembly consumer (stream.h) hands each direction's in-order bytes
 * over once, in pieces split anywhere; tg_pg_feed() takes a piece and
 * returns the direction's "complete up to" offset, the end of the last
 * whole message, which the consumer returns as its inspected mark: bytes
 * of an unfinished message stay held until the message is whole and its
 * events have been given. Messages may be split at any byte or packed many
 * to a piece.
 *
 * Decoding. A message that lies wholly inside the piece is decoded in place
 * (no copy). One split across pieces is copied into the direction's
 * assembly buffer and decoded when whole; the buffer is as long as the
 * longest message of a buffered class. Three types are never buffered, as
 * they may be as long as the server allows (1 GiB) and are what a masking
 * step edits: DataRow and FunctionCallResponse are decoded as a stream of
 * fields, each reported with its stream offset and length once its last
 * byte has been seen (and a pointer when it lies wholly in the piece), and
 * CopyData is reported piece by piece.
 *
 * State machine. The client starts with untyped packets (55.2.1, 55.2.10,
 * 55.2.11, 55.2.7): SSLRequest and GSSENCRequest wait for the server's one
 * byte answer ('S' or 'G': the session becomes opaque and nothing more is
 * parsed; 'N': back to the start), CancelRequest ends the session,
 * StartupMessage opens the authentication phase (55.2.2), whose 'p'
 * message is read as the response that the last Authentication request
 * asked for. The first ReadyForQuery opens normal operation.
 *
 * Statements and portals. Parse, Bind and Close change a per-session model
 * of the server's prepared statements and portals (55.2.3), so an Execute
 * is reported with the text and the bind parameters of the portal it runs
 * (text-format values as sent, binary ones as hex, both capped). The model
 * is speculative, as the client pipelines: every request is assumed to
 * succeed and is queued until the server answers it. The answers are
 * matched to the queue (ParseComplete to Parse, ...); an ErrorResponse
 * undoes the failed request and every request after it up to the next
 * Sync, which the server discards (55.2.3); a ReadyForQuery 'I' ends the
 * transaction and with it every portal bound before it. As on the server,
 * a Parse or Bind of a name in use fails; the new object is kept aside
 * until the server answers, and the requests after it up to the next Sync
 * use it (they run only if it succeeded). Names compare on their first 63
 * bytes (NAMEDATALEN), Query drops the unnamed statement and portal, and
 * COPY FROM STDIN swallows Sync and Flush (copyfromparse.c). A reply that
 * matches no pending request is a violation.
 *
 * Memory: struct tg_pg_session is fixed-size (about 1 KiB); the assembly
 * buffers, the statement and portal tables, the request queue and a pool
 * for statement texts and parameter displays live in an arena the caller
 * gives to tg_pg_init(), of tg_pg_arena_size() bytes for the limits: 2.4
 * MiB with the defaults, most of it the 1 MiB client buffer (stmt_max)
 * and the 1 MiB pool, so a service with many sessions lowers those. The
 * pool is a bump allocator with reference counts (a portal shares its
 * statement's text) that compacts itself when the free space at its end
 * runs out: one memmove of the live blocks. Nothing is allocated after
 * init. Statements and portals are found through chains by name hash,
 * as many heads as slots.
 *
 * Violations: a malformed message, a type not allowed in the phase, a
 * length over its class's cap, a reply out of turn, or a cap of the model
 * hit, is reported once through the violation callback with one reason
 * from TG_PG_ERRORS, counted, and the session is broken: it reports
 * nothing more and its marks stop, so the caller's exception policy
 * decides (fail-closed by default: the held bytes never leave).
 *
 * Secrets: password and SASL/GSS messages ('p', and the server's 'R') are
 * given to their callback and then wiped from the assembly buffer if they
 * were copied there (explicit_bzero); no part of them enters the model.
 *
 * Caveats:
 * - Statements and portals made by SQL (PREPARE, DECLARE) are not known:
 *   an Execute of such a portal is reported with TG_PG_EXEC_NO_PORTAL.
 *   DEALLOCATE and DISCARD are not seen either: a Parse of a name the
 *   model thinks taken is kept aside (right for the requests after it in
 *   its batch) and takes the name when the server answers ParseComplete;
 *   a Bind in a later batch sent before that answer gets the old text.
 * - A Query that the server discards after an error still drops the
 *   unnamed statement and portal in the model (an Execute of them is then
 *   reported as unknown, never with a wrong text).
 * - Protocol 3.x only (3.0 messages; a newer minor is answered by the
 *   server with NegotiateProtocolVersion, which is parsed). Protocol 2 was
 *   removed from the server in 14. PostgreSQL 17's direct TLS (a TLS
 *   record where the first startup packet should be) is a STARTUP_LEN
 *   violation.
 * - The model follows the server where the protocol says what happens;
 *   where only a server error would tell (a Bind with the wrong number of
 *   parameters, an unsupported format code), the request is assumed to
 *   succeed and the ErrorResponse undoes it.
 * - Each session keeps its own assembly buffers, sized for the longest
 *   buffered message, though a message is split only briefly; lending
 *   them from a per-worker pool while a message is split (as stream.h
 *   lends rings) would cut the memory, at the cost of a pool cap.
 * - Callbacks must not feed the same session.
 */
#ifndef TG_PG_H
#define TG_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_PG_DIR_FE 0	/* client to server */
#define TG_PG_DIR_BE 1	/* server to client */

/* NAMEDATALEN - 1: the server compares statement and portal names on this many bytes */
#define TG_PG_NAME_MAX 63

/* Frontend messages: X(enum suffix, type byte (0: untyped startup packet), counter name) */
#define TG_PG_FE_MSGS(X) \
	X(STARTUP, 0, "startup") \
	X(SSL_REQUEST, 0, "ssl_request") \
	X(GSSENC_REQUEST, 0, "gssenc_request") \
	X(CANCEL_REQUEST, 0, "cancel_request") \
	X(PASSWORD, 'p', "password") \
	X(QUERY, 'Q', "query") \
	X(PARSE, 'P', "parse") \
	X(BIND, 'B', "bind") \
	X(DESCRIBE, 'D', "describe") \
	X(EXECUTE, 'E', "execute") \
	X(SYNC, 'S', "sync") \
	X(CLOSE, 'C', "close") \
	X(FLUSH, 'H', "flush") \
	X(FUNCTION_CALL, 'F', "function_call") \
	X(COPY_DATA, 'd', "copy_data") \
	X(COPY_DONE, 'c', "copy_done") \
	X(COPY_FAIL, 'f', "copy_fail") \
	X(TERMINATE, 'X', "terminate")

/* Backend messages; ENC_ANSWER is the one-byte answer to SSLRequest/GSSENCRequest. */
#define TG_PG_BE_MSGS(X) \
	X(ENC_ANSWER, 0, "enc_answer") \
	X(AUTH, 'R', "auth") \
	X(PARAMETER_STATUS, 'S', "parameter_status") \
	X(BACKEND_KEY, 'K', "backend_key") \
	X(READY, 'Z', "ready") \
	X(ROW_DESCRIPTION, 'T', "row_description") \
	X(DATA_ROW, 'D', "data_row") \
	X(COMMAND_COMPLETE, 'C', "command_complete") \
	X(ERROR, 'E', "error") \
	X(NOTICE, 'N', "notice") \
	X(NOTIFICATION, 'A', "notification") \
	X(PARSE_COMPLETE, '1', "parse_complete") \
	X(BIND_COMPLETE, '2', "bind_complete") \
	X(CLOSE_COMPLETE, '3', "close_complete") \
	X(NO_DATA, 'n', "no_data") \
	X(EMPTY_QUERY, 'I', "empty_query") \
	X(PORTAL_SUSPENDED, 's', "portal_suspended") \
	X(PARAMETER_DESCRIPTION, 't', "parameter_description") \
	X(COPY_IN, 'G', "copy_in") \
	X(COPY_OUT, 'H', "copy_out") \
	X(COPY_BOTH, 'W', "copy_both") \
	X(COPY_DATA, 'd', "copy_data") \
	X(COPY_DONE, 'c', "copy_done") \
	X(FUNCTION_RESULT, 'V', "function_result") \
	X(NEGOTIATE_VERSION, 'v', "negotiate_version")

enum tg_pg_fe_kind {
#define TG_PG_FE_ENUM(e, t, n) TG_PG_FE_##e,
	TG_PG_FE_MSGS(TG_PG_FE_ENUM)
#undef TG_PG_FE_ENUM
	TG_PG_FE_MAX
};

enum tg_pg_be_kind {
#define TG_PG_BE_ENUM(e, t, n) TG_PG_BE_##e,
	TG_PG_BE_MSGS(TG_PG_BE_ENUM)
#undef TG_PG_BE_ENUM
	TG_PG_BE_MAX
};

/* Violations: X(enum suffix, counter name, description) */
#define TG_PG_ERRORS(X) \
	X(FEED_GAP, "feed_gap", "a piece does not start where the last one ended") \
	X(STARTUP_LEN, "startup_len", "startup packet too short, too long, or wrong for its code") \
	X(STARTUP_CODE, "startup_code", "protocol not 3.x, or an encryption request repeated") \
	X(EARLY_DATA, "early_data", "client bytes before the answer to SSLRequest/GSSENCRequest") \
	X(ENC_ANSWER, "enc_answer", "answer to SSLRequest/GSSENCRequest not S/G, N or E") \
	X(FE_TYPE, "fe_type", "frontend message type unknown or not allowed in the phase") \
	X(BE_TYPE, "be_type", "backend message type unknown or not allowed in the phase") \
	X(MSG_LEN, "msg_len", "length below 4, or not the fixed length of the type") \
	X(MSG_TOO_LONG, "msg_too_long", "length over the cap of the message's class") \
	X(STR_NUL, "str_nul", "a string without its NUL inside the message") \
	X(SHORT, "short", "fields or counts run past the end of the message") \
	X(TRAILING, "trailing", "bytes left after the last field") \
	X(BAD_VALUE, "bad_value", "a negative count or length, or a code the protocol lacks") \
	X(AUTH_CODE, "auth_code", "unknown authentication request code") \
	X(AUTH_UNEXPECTED, "auth_unexpected", "password message while no authentication is due") \
	X(UNEXPECTED_REPLY, "unexpected_reply", "backend reply to no pending request of its kind") \
	X(PENDING_CAP, "pending_cap", "too many requests awaiting their reply") \
	X(STMT_CAP, "stmt_cap", "too many prepared statements") \
	X(PORTAL_CAP, "portal_cap", "too many portals") \
	X(TEXT_CAP, "text_cap", "statement text over the kept-text cap") \
	X(POOL_CAP, "pool_cap", "statement text and parameter pool full") \
	X(AFTER_END, "after_end", "client bytes after Terminate or CancelRequest")

enum tg_pg_err {
	TG_PG_OK = 0,
#define TG_PG_ERR_ENUM(e, n, d) TG_PG_ERR_##e,
	TG_PG_ERRORS(TG_PG_ERR_ENUM)
#undef TG_PG_ERR_ENUM
	TG_PG_ERR_MAX
};

/* Other counters: X(enum suffix, counter name, description) */
#define TG_PG_COUNTERS(X) \
	X(BYTES_FE, "bytes_fe", "client bytes fed") \
	X(BYTES_BE, "bytes_be", "server bytes fed") \
	X(ASSEMBLED, "assembled", "messages split across pieces, copied to be decoded") \
	X(EXEC_UNKNOWN, "exec_unknown", "Execute of a portal or statement not in the model") \
	X(BIND_UNKNOWN, "bind_unknown", "Bind of a statement not in the model") \
	X(PARAMS_CUT, "params_cut", "Binds with more parameters than params_max") \
	X(PARAM_TRUNC, "param_trunc", "parameter values shown truncated") \
	X(DUPLICATE, "duplicate", "Parse or Bind of a name in use, kept aside") \
	X(ROLLED_BACK, "rolled_back", "requests undone: failed, or discarded until Sync") \
	X(COPY_SWALLOWED, "copy_swallowed", "Sync or Flush swallowed by COPY FROM STDIN") \
	X(COMPACTIONS, "compactions", "pool compactions")

enum tg_pg_counter {
#define TG_PG_CNT_ENUM(e, n, d) TG_PG_CNT_##e,
	TG_PG_COUNTERS(TG_PG_CNT_ENUM)
#undef TG_PG_CNT_ENUM
	TG_PG_CNT_MAX
};

extern const char *const tg_pg_fe_names[TG_PG_FE_MAX];
extern const char *const tg_pg_be_names[TG_PG_BE_MAX];
extern const char *const tg_pg_err_names[TG_PG_ERR_MAX];
extern const char *const tg_pg_err_descs[TG_PG_ERR_MAX];
extern const char *const tg_pg_counter_names[TG_PG_CNT_MAX];

struct tg_pg_counters {
	uint64_t fe[TG_PG_FE_MAX];	/* complete client messages by kind */
	uint64_t be[TG_PG_BE_MAX];	/* complete server messages by kind */
	uint64_t err[TG_PG_ERR_MAX];	/* violations (at most one per session) */
	uint64_t cnt[TG_PG_CNT_MAX];
};

/*
 * Caps. Message caps apply to the length field, as the server checks it;
 * the startup cap to the length minus its own 4 bytes, as the server does.
 */
struct tg_pg_limits {
	uint32_t startup_max;	/* 10000: MAX_STARTUP_PACKET_LENGTH */
	uint32_t fe_small_max;	/* C D E H S X c f: 10000, PQ_SMALL_MESSAGE_LIMIT */
	uint32_t auth_max;	/* 'p': 65535, PG_MAX_AUTH_TOKEN_LENGTH */
	uint32_t stmt_max;	/* Q P B F, buffered: 1 MiB (the server takes 1 GiB) */
	uint32_t data_max;	/* streamed d D V: 1 GiB - 1, PQ_LARGE_MESSAGE_LIMIT */
	uint32_t be_long_max;	/* buffered T E N A: 256 KiB */
	uint32_t be_small_max;	/* other backend messages: 30000, as libpq */
	uint32_t text_max;	/* statement text kept for attribution: 256 KiB */
	uint32_t params_max;	/* parameters kept per Bind (more are counted, not shown): 64 */
	uint32_t param_show_max; /* display bytes per parameter: 256 */
	uint32_t stmts_max;	/* statements, kept-aside ones included: 512 (pgjdbc caches 256) */
	uint32_t portals_max;	/* 32 */
	uint32_t pending_max;	/* requests awaiting their reply (pipelines, batches): 4096 */
	uint32_t pool_size;	/* texts and parameter displays: 1 MiB */
};

enum tg_pg_state {
	TG_PG_STARTUP,	/* before the StartupMessage: encryption negotiation */
	TG_PG_AUTH,	/* StartupMessage sent, first ReadyForQuery not yet seen */
	TG_PG_READY,	/* normal operation */
	TG_PG_OPAQUE,	/* TLS or GSSAPI encryption: nothing is parsed any more */
	TG_PG_CLOSED,	/* Terminate or CancelRequest sent */
	TG_PG_BROKEN,	/* a violation was reported: nothing more is */
};

/*
 * The message an event is about. base points at its first byte (type byte,
 * or length of a startup packet): into the piece given to tg_pg_feed() when
 * in_place (the reassembly ring: writes there reach the receiver), else
 * into the parser's assembly buffer. base is NULL for streamed messages
 * (DataRow, CopyData, FunctionCallResponse) and, in message(), for
 * authentication messages, which are wiped by then.
 */
struct tg_pg_msg {
	uint64_t off;		/* stream offset of the first byte */
	uint32_t len;		/* bytes on the wire, type byte and length included */
	uint8_t dir;		/* TG_PG_DIR_* */
	uint8_t type;		/* type byte, 0 for startup packets, the byte for ENC_ANSWER */
	uint16_t kind;		/* enum tg_pg_fe_kind or tg_pg_be_kind */
	uint8_t *base;
	bool in_place;
};

/* A string of a message, without its NUL. p is NULL when the field is absent. */
struct tg_pg_str {
	const char *p;
	uint32_t len;
	uint64_t off;		/* stream offset of p[0] */
};

/* Iterates over a part of a message already validated; see the tg_pg_next_*() below. */
struct tg_pg_iter {
	const uint8_t *p, *end;
	uint64_t off;		/* stream offset of p */
	uint32_t left;		/* items left, for counted lists */
};

struct tg_pg_startup {
	uint16_t major, minor;
	/* the last value given for each, as the server takes it */
	struct tg_pg_str user, database, options, application_name, replication;
	struct tg_pg_iter params;	/* every pair: tg_pg_next_param() */
};

enum tg_pg_pw_kind {
	TG_PG_PW_PASSWORD,	/* PasswordMessage: cleartext, or "md5" and 32 hex digits */
	TG_PG_PW_SASL_INITIAL,	/* SASLInitialResponse */
	TG_PG_PW_SASL,		/* SASLResponse */
	TG_PG_PW_GSS,		/* GSSResponse */
};

/* Valid during the callback only: the parser keeps none of it. */
struct tg_pg_password {
	enum tg_pg_pw_kind kind;
	struct tg_pg_str password;	/* PASSWORD */
	struct tg_pg_str mechanism;	/* SASL_INITIAL */
	const uint8_t *data;		/* SASL data or GSS token */
	int32_t len;			/* -1: SASL_INITIAL without initial data */
};

/* Authentication request codes (55.7, AuthenticationXXX) */
#define TG_PG_AUTH_OK 0
#define TG_PG_AUTH_KERBEROS_V5 2
#define TG_PG_AUTH_CLEARTEXT 3
#define TG_PG_AUTH_MD5 5
#define TG_PG_AUTH_GSS 7
#define TG_PG_AUTH_GSS_CONTINUE 8
#define TG_PG_AUTH_SSPI 9
#define TG_PG_AUTH_SASL 10
#define TG_PG_AUTH_SASL_CONTINUE 11
#define TG_PG_AUTH_SASL_FINAL 12

struct tg_pg_auth {
	uint32_t code;			/* TG_PG_AUTH_* */
	const uint8_t *salt;		/* MD5: 4 bytes */
	struct tg_pg_iter mechanisms;	/* SASL: tg_pg_next_str() */
	const uint8_t *data;		/* GSS_CONTINUE, SASL_CONTINUE, SASL_FINAL */
	uint32_t len;
};

struct tg_pg_parse {
	struct tg_pg_str name;		/* as sent (the model keeps TG_PG_NAME_MAX bytes) */
	struct tg_pg_str text;
	uint16_t nparam_types;
	const uint8_t *param_types;	/* nparam_types big-endian Int32 OIDs */
};

/* One bind parameter as kept for display. */
struct tg_pg_param {
	const char *val;	/* text as sent (format 0) or lowercase hex; NULL for SQL NULL */
	uint32_t len;		/* display bytes */
	int32_t wire_len;	/* bytes on the wire, -1 for NULL */
	int16_t format;		/* as sent: 0 text, 1 binary (any other is shown as hex) */
	bool truncated;		/* val shows only the first param_show_max bytes (hex: half) */
};

struct tg_pg_bind {
	struct tg_pg_str portal, stmt;
	const char *text;	/* the statement's text, NULL when not in the model */
	uint32_t text_len;
	uint16_t nparams;	/* in the message */
	uint16_t nshown;	/* params[]: the first min(nparams, params_max) */
	const struct tg_pg_param *params;
	uint16_t nresult_formats;
	const uint8_t *result_formats;	/* big-endian Int16 each */
};

#define TG_PG_EXEC_NO_PORTAL 0x1	/* no such portal in the model */
#define TG_PG_EXEC_NO_STMT 0x2		/* bound from a statement not in the model */

struct tg_pg_execute {
	struct tg_pg_str portal;
	uint32_t max_rows;	/* 0: no limit */
	const char *stmt;	/* name of the statement the portal was bound from */
	uint32_t stmt_len;
	uint32_t stmt_gen;	/* its generation (see tg_pg_rowdesc), 0 with TG_PG_EXEC_NO_STMT */
	const char *text;	/* NULL with either flag */
	uint32_t text_len;
	uint16_t nparams, nshown;
	const struct tg_pg_param *params;
	uint32_t flags;		/* TG_PG_EXEC_* */
};

struct tg_pg_fcall {
	uint32_t oid;
	uint16_t nformats;
	const uint8_t *formats;		/* big-endian Int16 each */
	uint16_t nargs;
	struct tg_pg_iter args;		/* tg_pg_next_value() */
	int16_t result_format;
};

struct tg_pg_column {
	struct tg_pg_str name;
	uint32_t table_oid;
	int16_t attnum;
	uint32_t type_oid;
	int16_t typlen;
	int32_t typmod;
	int16_t format;
};

struct tg_pg_rowdesc {
	uint16_t ncols;
	struct tg_pg_iter cols;		/* tg_pg_next_column() */
	/*
	 * Answering a Describe: the prepared statement it is about (for a
	 * portal, the statement it was bound from) and that statement's
	 * generation in the model, which tells it from a later statement of
	 * the same name. p NULL: a Query's result, or not in the model.
	 */
	struct tg_pg_str stmt;
	uint32_t stmt_gen;
};

/* ErrorResponse, NoticeResponse (55.8 "Error and Notice Message Fields") */
struct tg_pg_notice {
	struct tg_pg_str severity;	/* 'V' (not localized) if sent, else 'S' */
	struct tg_pg_str code;		/* 'C' SQLSTATE */
	struct tg_pg_str message;	/* 'M' */
	struct tg_pg_iter fields;	/* every field: tg_pg_next_field() */
};

struct tg_pg_copy_resp {
	int8_t format;			/* 0 text, 1 binary */
	uint16_t ncols;
	const uint8_t *formats;		/* big-endian Int16 each */
};

struct tg_pg_negotiate {
	uint32_t version;		/* as sent: PostgreSQL sends its newest (3 << 16 | minor) */
	uint32_t nopts;
	struct tg_pg_iter opts;		/* unrecognized options: tg_pg_next_str() */
};

/*
 * One function per event kind; any may be NULL. Every complete message
 * gets message(), after its own callback if it has one (messages without
 * fields — Sync, Flush, Terminate, CopyDone, ParseComplete, BindComplete,
 * CloseComplete, NoData, EmptyQueryResponse, PortalSuspended, SSLRequest,
 * GSSENCRequest and the answer byte — only get message()). Pointers are
 * valid during the call.
 */
struct tg_pg_callbacks {
	void (*message)(void *ctx, const struct tg_pg_msg *m);
	/* The session is broken after this. off: where the offending message (or byte) starts. */
	void (*violation)(void *ctx, int dir, enum tg_pg_err err, uint64_t off);
	/* The server answered 'S' or 'G' (m->type): both directions are opaque from here. */
	void (*opaque)(void *ctx, const struct tg_pg_msg *m);

	/* frontend */
	void (*startup)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_startup *st);
	void (*cancel)(void *ctx, const struct tg_pg_msg *m, uint32_t pid, uint32_t key);
	void (*password)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_password *pw);
	void (*query)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_str *text);
	void (*parse)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_parse *p);
	void (*bind)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_bind *b);
	/* what: 'S' statement or 'P' portal */
	void (*describe)(void *ctx, const struct tg_pg_msg *m, uint8_t what,
			 const struct tg_pg_str *name);
	void (*execute)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_execute *e);
	void (*close)(void *ctx, const struct tg_pg_msg *m, uint8_t what,
		      const struct tg_pg_str *name);
	void (*function_call)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_fcall *f);
	void (*copy_fail)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_str *why);

	/*
	 * CopyData, either direction (m->dir): one call per piece of the
	 * payload as it arrives; bytes is in the piece (writable).
	 */
	void (*copy_data)(void *ctx, const struct tg_pg_msg *m, uint64_t off, uint32_t len,
			  uint8_t *bytes);

	/* backend */
	void (*auth)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_auth *a);
	void (*parameter_status)(void *ctx, const struct tg_pg_msg *m,
				 const struct tg_pg_str *name, const struct tg_pg_str *value);
	void (*backend_key)(void *ctx, const struct tg_pg_msg *m, uint32_t pid, uint32_t key);
	void (*ready)(void *ctx, const struct tg_pg_msg *m, uint8_t status);
	void (*row_description)(void *ctx, const struct tg_pg_msg *m,
				const struct tg_pg_rowdesc *rd);
	/*
	 * A DataRow field, once its last byte has been seen: len -1 is NULL.
	 * bytes points at it (in the piece, writable) when it lies wholly in
	 * the piece being fed; it is NULL for NULL and empty fields and for a
	 * field split across pieces, which the caller reaches at off in the
	 * reassembly ring. data_row() follows the last field.
	 */
	void (*data_field)(void *ctx, const struct tg_pg_msg *m, uint16_t idx, uint64_t off,
			   int32_t len, uint8_t *bytes);
	void (*data_row)(void *ctx, const struct tg_pg_msg *m, uint16_t nfields);
	void (*command_complete)(void *ctx, const struct tg_pg_msg *m,
				 const struct tg_pg_str *tag);
	void (*error)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_notice *n);
	void (*notice)(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_notice *n);
	void (*notification)(void *ctx, const struct tg_pg_msg *m, uint32_t pid,
			     const struct tg_pg_str *channel, const struct tg_pg_str *payload);
	void (*parameter_description)(void *ctx, const struct tg_pg_msg *m, uint16_t n,
				      const uint8_t *oids);
	void (*copy_response)(void *ctx, const struct tg_pg_msg *m,
			      const struct tg_pg_copy_resp *c);
	/* The function's result, as a DataRow field (len -1: NULL). */
	void (*function_result)(void *ctx, const struct tg_pg_msg *m, uint64_t off, int32_t len,
				uint8_t *bytes);
	void (*negotiate_version)(void *ctx, const struct tg_pg_msg *m,
				  const struct tg_pg_negotiate *nv);
};

struct tg_pg_obj;
struct tg_pg_op;

/* Statements or portals: slots chained by name hash, and a free list. Private to pg.c. */
struct tg_pg_table {
	struct tg_pg_obj *obj;	/* n slots, in the arena */
	uint32_t *bucket;	/* mask + 1 chain heads, in the arena */
	uint32_t n, mask;
	uint32_t free;		/* first free slot */
	uint32_t live;		/* slots not free */
};

/* One direction's reader. Private to pg.c. */
struct tg_pg_dir {
	uint64_t next;		/* offset of the next byte expected */
	uint64_t mark;		/* end of the last complete message */
	uint64_t reported;	/* end of what callbacks were given, streamed fields included */
	uint64_t reply_seq;	/* backend: the request this reply answers, 0: none */
	uint64_t fld_off;	/* streamed field: stream offset of its bytes */
	struct tg_pg_msg cur;	/* the message being read */
	uint8_t *buf;		/* assembly buffer, in the arena */
	uint32_t buf_size;
	uint32_t have;		/* bytes of cur consumed */
	uint32_t fld_left;	/* streamed field: bytes still to come */
	int32_t fld_len;
	uint16_t nfields, field;
	uint8_t hdr[5], hdr_have;
	uint8_t word[4], word_have;	/* a field count or length being gathered */
	uint8_t phase, mode, sub;
	bool started;
	bool paused;		/* tg_pg_pause(): the next feed stops after the current message */
};

struct tg_pg_session {
	struct tg_pg_limits lim;
	const struct tg_pg_callbacks *cb;
	void *ctx;
	struct tg_pg_dir dir[2];

	/* model (in the arena) */
	struct tg_pg_table tab[2];	/* statements, portals */
	struct tg_pg_op *ops;	/* ring of requests awaiting their reply */
	uint8_t *pool;
	uint32_t pool_top;	/* bump pointer */
	uint32_t pool_live;	/* bytes in blocks still referenced */
	uint32_t op_head, op_count;
	uint64_t op_seq;	/* sequence number of the next request */
	uint64_t sync_seq;	/* that of the last Sync */
	uint64_t fe_op_seq;	/* op_seq when the current frontend message was decoded */
	uint32_t gen;		/* generation of the next object made */

	uint8_t enc_req;	/* 'S' or 'G' while an encryption request awaits its answer */
	uint8_t auth_expect;	/* the 'p' message the last Authentication request asked for */
	bool ssl_done, gss_done;
	bool skip;		/* the server discards requests until the next Sync */
	bool copy_in;		/* COPY FROM STDIN running, the client's CopyDone not yet sent */
	bool opaque;
	bool broken;

	struct tg_pg_counters cnt;
};

/* Fills lim with the defaults above. */
void tg_pg_limits_default(struct tg_pg_limits *lim);

/* Arena bytes a session needs under lim (8-byte aligned), or 0 if lim is not sane. */
size_t tg_pg_arena_size(const struct tg_pg_limits *lim);

/*
 * Starts a session. lim NULL means the defaults; it is copied. The arena
 * (8-byte aligned, at least tg_pg_arena_size(lim) bytes, any content) is
 * the caller's and is used until the session is dropped; nothing needs
 * to be freed. Returns 0, or -EINVAL for insane limits or a short or
 * misaligned arena.
 */
int tg_pg_init(struct tg_pg_session *s, const struct tg_pg_limits *lim,
	       const struct tg_pg_callbacks *cb, void *ctx, void *arena, size_t arena_size);

/*
 * Feeds len bytes of direction dir (TG_PG_DIR_*) starting at stream offset
 * off, which must be where the direction's previous piece ended (the first
 * piece sets the start). Events are given before it returns. bytes is
 * never written by the parser; callbacks may write the pointers they are
 * given into it. Returns the offset up to which the direction's messages
 * are complete; once opaque, everything fed; once broken, the mark as it
 * was at the violation.
 */
uint64_t tg_pg_feed(struct tg_pg_session *s, int dir, uint8_t *bytes, uint32_t len,
		    uint64_t off);

/*
 * The end of what the callbacks have been given, the fields of a DataRow
 * or FunctionCallResponse and the pieces of a CopyData still coming in
 * included (before the next field's length word). A caller that decides
 * field by field (masking) may release up to it rather than up to
 * tg_pg_feed()'s mark, so that a row or a copy longer than the reassembly
 * ring does not stall. Equal to the mark between messages, once opaque,
 * and once broken.
 */
uint64_t tg_pg_streamed_mark(const struct tg_pg_session *s, int dir);

/*
 * The message being read in direction dir, once its header is whole and
 * until its last byte: true with *m (off, len, type, kind; base NULL).
 * False between messages, while a header is split, once opaque or broken.
 */
bool tg_pg_current(const struct tg_pg_session *s, int dir, struct tg_pg_msg *m);

enum tg_pg_state tg_pg_state(const struct tg_pg_session *s);

/*
 * Ends a session: wipes what a split authentication message left in the
 * assembly buffers (a session may end in the middle of one). The arena
 * may then be given to another session.
 */
void tg_pg_fini(struct tg_pg_session *s);

/*
 * For the stream editor, from a frontend callback: the gateway keeps the
 * message being reported, and every one after it up to the next Sync,
 * from the server (a blocked Parse answered by the gateway). What the
 * message queued is undone, and the model skips to the Sync as the
 * server would after an error (55.2.3), so the replies still match.
 */
void tg_pg_fe_withdraw(struct tg_pg_session *s);

/*
 * From a callback: stops the feed of direction dir after the message
 * being reported, so that nothing after it is parsed (or decided) until
 * the caller feeds it again; the bytes of that feed not parsed stay the
 * caller's (tg_pg_feed() returns, next is where they start). Cleared by
 * the next tg_pg_feed() of dir, which must start at tg_pg_next().
 */
void tg_pg_pause(struct tg_pg_session *s, int dir);

/* The offset of the next byte direction dir expects. */
uint64_t tg_pg_next(const struct tg_pg_session *s, int dir);

/*
 * For the stream editor, from the frontend callback of an SSLRequest or
 * GSSENCRequest: the gateway answered it 'N' itself and the server never
 * saw it, so no answer is awaited and the client starts over.
 */
void tg_pg_enc_refused(struct tg_pg_session *s);

/*
 * For the stream editor, from the frontend callback of a StartupMessage:
 * the gateway asked the client for its password itself (it injected
 * AuthenticationCleartextPassword), so the client's next message is the
 * PasswordMessage that answers it. The server's own authentication
 * requests, later, are read as ever.
 */
void tg_pg_auth_asked(struct tg_pg_session *s);

/* Iterators over the lists of an event; each returns false at the end. */
bool tg_pg_next_param(struct tg_pg_iter *it, struct tg_pg_str *name, struct tg_pg_str *value);
bool tg_pg_next_str(struct tg_pg_iter *it, struct tg_pg_str *s);
bool tg_pg_next_column(struct tg_pg_iter *it, struct tg_pg_column *col);
bool tg_pg_next_field(struct tg_pg_iter *it, uint8_t *code, struct tg_pg_str *val);
/* FunctionCall arguments: len -1 is NULL (val NULL) */
bool tg_pg_next_value(struct tg_pg_iter *it, const uint8_t **val, int32_t *len, uint64_t *off);

#endif /* TG_PG_H */
