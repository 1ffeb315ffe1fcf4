/* SPDX-License-Identifier: MIT */
/*
 * inspect.h — the PostgreSQL inspector: the reassembly consumer (stream.h)
 * of "postgres" services. It runs the wire protocol parser (pg.h) over both
 * directions of a session, decides every statement against the command
 * rules of the policy (policy.h), masks sensitive values in the result
 * stream in place, and reports one event per statement.
 *
 * Holding. What the server receives is what was decided on: a client
 * message is held (its segments stay in the reassembly engine) until it is
 * whole and its verdict given, so a statement split across many segments
 * cannot slip its first bytes past the rules. Server messages are held
 * until inspected too, with one exception that keeps long results moving:
 * DataRow (and FunctionCallResponse) bytes are released field by field as
 * each field is scanned and masked, so a row longer than the reassembly
 * ring does not stall. CopyData from the server is held whole (a COPY OUT
 * row is one message) and scanned whole; one longer than half the ring is
 * scanned piece by piece instead (see Caveats).
 *
 * Verdicts. Query and Parse texts are scanned against the command
 * database; the first matching rule of the service decides (policy.h).
 * "allow" and "log" pass (log marks the event). "block", with the stream
 * editor (editor set; edit.h), never reaches the server: a Query is
 * replaced by a Sync, a Parse and what follows it up to the Sync are
 * consumed, and the client gets an ErrorResponse (SQLSTATE 42501, the
 * rule named) injected just before the server's ReadyForQuery for that
 * request, so the transaction status the client sees is the server's and
 * the session goes on. The statement does not run, so an open transaction
 * is not aborted by it. Without the editor, or when it has no room (8
 * replies waiting, its points or buffer full), the text is rewritten in
 * place, at the same length, into "tollgate_blocked_rule_<id>" (or a
 * shorter "tg_blocked_<id>", "tg_blocked") padded with spaces: the server
 * fails it with a syntax error that names the rule (counted as blocked,
 * the fallback). A text shorter than every token cannot be rewritten: the
 * session is reset both ways.
 *
 * Cancellation. With key_known set, a CancelRequest goes to the server
 * only when its process ID and key are those of a live session to that
 * server (key_add at each BackendKeyData, key_del at the session's end);
 * any other is never released, and the session is reset both ways
 * (counted cancel_refused, not as a failure).
 *
 * Encryption. With the editor, an SSLRequest or GSSENCRequest is consumed
 * and answered 'N' by the gateway (sslmode=prefer goes on in cleartext,
 * sslmode=require fails at the client); without it, a server's 'S' or 'G'
 * fails the session closed.
 *
 * Logins taken over (a service with identity "oidc"; DESIGN.md,
 * "Identity"). With the editor and a login callback: the client's
 * StartupMessage is consumed and kept, the client is asked for a cleartext
 * password (AuthenticationCleartextPassword injected), and its
 * PasswordMessage (the OIDC token) is consumed too; both go to the
 * slowpath through login (TG_INSPECT_LOGIN_REQUEST), the token bytes
 * wiped from the ring behind them. The slowpath's answers come back
 * through tg_inspect_login_reply(): bytes for the server (the StartupMessage
 * of the mapped role, then each authentication response), injected where
 * the client's stream stands; every server message from then on is
 * consumed and sent to the slowpath (TG_INSPECT_LOGIN_SERVER), except that
 * AuthenticationOk, or an ErrorResponse, is held (nothing after it
 * leaves) until the slowpath says DONE (it and what follows go to the
 * client, whose user is now the upstream role) or REFUSE (the client gets
 * a FATAL ErrorResponse with the slowpath's SQLSTATE and text, and the
 * session is reset both ways). The client sends nothing but the password
 * until then; anything else fails the session (fail_login). A login not
 * answered within TG_INSPECT_LOGIN_TIMEOUT_MS is refused
 * (tg_inspect_login_expire()), as is one the slowpath cannot be asked
 * about (no slowpath, no editor: login_unavailable). No byte of the
 * client's login reaches the server.
 *
 * Holds (a command rule with action "hold", policy.h). The message that
 * would run the statement (a Query, or an Execute: each execution of a
 * prepared statement is held, not its Parse) is consumed with the stream
 * editor and kept (at most TG_INSPECT_HOLD_MAX bytes; longer is denied at
 * once, hold_too_long). When the segment that carries it ends with it (an
 * interactive client's statement), that segment leaves with the message
 * cut out and the client's TCP sees it acknowledged while it waits; when
 * the client sent more in the same segment, the segment waits whole and
 * the client retransmits it, backing off, until the decision (Linux gives
 * up after tcp_retries2, about 15 minutes: longer than the default 10
 * minute timeout of a hold, not than the 24 h allowed).
 * The parser stops after it (tg_pg_pause()): what the client pipelines
 * behind it stays in the reassembly ring, not parsed, not decided, not
 * released (the ring's size bounds it; segments past it are dropped and
 * retransmitted by the client), until the decision. The slowpath is asked
 * (hold, TG_INSPECT_HOLD_ASK) and answers through tg_inspect_hold_reply():
 *  - approve: the kept message is injected where it stood and goes to
 *    the server; the result reaches the client as for any statement;
 *  - deny (an approver, or the slowpath's timeout): a Query is replaced
 *    by a Sync and the client gets an ErrorResponse with the slowpath's
 *    SQLSTATE and reason before the server's ReadyForQuery, as for a
 *    block (an open transaction is not aborted); an Execute is replaced by
 *    an Execute of a portal that does not exist, and the server's
 *    ErrorResponse to it by the slowpath's (the server skips to the Sync,
 *    and an open transaction is aborted, as a failing statement would).
 * Either way the parser then reads what waited behind it (the stream is
 * delivered again from the pause, tg_stream_redeliver()). With no
 * slowpath to ask, the statement is denied at once (57P03); one with no
 * answer by its timeout plus TG_INSPECT_HOLD_GRACE_S is denied here
 * (57014) and cancelled at the slowpath (tg_inspect_hold_expire()), and
 * all are denied when the slowpath goes away (tg_inspect_hold_lost()). A
 * session that ends while its statement waits cancels the request. One
 * statement per session waits at a time (the parser is stopped behind
 * it). The statement's event has verdict hold and the result it got.
 *
 * Masking. In DataRow fields, server CopyData and the fields of
 * ErrorResponse and NoticeResponse (a unique violation's DETAIL quotes
 * the value): every value a detector of the service confirms is masked
 * with that detector's style; a field of a column named by a column rule
 * is masked whole (binary-format fields are zeroed). Lengths never
 * change. A field or message that lies wholly in the delivered piece is
 * edited there (it is the ring); one split across deliveries is copied
 * out, scanned and written back with tg_stream_write(). The engine patches
 * checksums when the held segments leave, and masks retransmissions from
 * the same ring.
 *
 * Failure is closed. A protocol violation, an encrypted session (TLS or
 * GSSAPI: nothing can be inspected), a message or field longer than half
 * the ring, a Hyperscan error or a statement too short to rewrite marks
 * the session failed: its held bytes never leave, and the worker resets
 * it both ways (tg_inspect_failed()).
 *
 * Events. A statement's event is given when its result is known
 * (CommandComplete, ErrorResponse, EmptyQueryResponse, PortalSuspended,
 * or for a Query its ReadyForQuery), with the text and parameters masked
 * by the same detectors and capped. Raw values never leave the worker.
 * With session_event set, each session's start and end are reported too
 * (tg_inspect_open_peer(), tg_inspect_end()), for the audit log.
 *
 * Durability (service.h). With begin set, a statement of a service is
 * also reported when it is decided, before any of it is released to the
 * server (STATEMENT_BEGIN: text, parameters, verdict, rule; stmt numbers
 * the session's statements and is carried by both events). begin returns
 * the event's ticket, or 0 when it could not be queued. On a strict
 * service the message that runs the statement (Query, Execute,
 * FunctionCall; a blocked Parse) is then held, and what the client sends
 * after it waits behind it, until *durable (the count of the emitter's
 * events known durable) reaches the ticket: tg_inspect_ungate(), called
 * by the worker between bursts, moves the session's inspected mark and
 * hands its streams back to have the held segments sent. A strict
 * statement whose event got no ticket fails the session closed.
 *
 * Audit full (NIST SP 800-53 AU-5(4); punt.h AUDIT_STATE). While
 * *audit_full is set (the slowpath's audit store is above its high
 * watermark), every new statement is refused, whatever the policy says: a
 * Query or a FunctionCall is replaced by a Sync and a Parse consumed with
 * what follows it up to the Sync, as for a block, and the client gets an
 * ErrorResponse with SQLSTATE 53100 (disk_full) and "statement refused:
 * the audit log of the gateway is full" (counted refused_audit_full). The
 * session stays open, and its next statement runs once the flag is clear
 * again. The statement's events are reported as for a block (verdict
 * block, rule "tollgate:audit_full", sqlstate 53100): they go to the
 * store's reserve. Decided on each message, so what the flag says when
 * the message is whole is what happens to it.
 *  - Strict and fast services alike: a refusal runs nothing, so it is not
 *    held for its STATEMENT_BEGIN to be durable (the store being full, it
 *    may not be for long), and one whose event cannot be queued does not
 *    fail the session.
 *  - Logins are not refused: a session may start (its login and start
 *    records take the reserve), and its statements are refused.
 *  - An Execute of a statement parsed before the store filled is not
 *    refused (its Parse was decided then; refusing the Execute would need
 *    the Bind before it undone); it runs and is recorded into the reserve.
 *    Drivers that keep prepared statements across the change (pgJDBC,
 *    pgbench -M prepared) run those until they parse again.
 *  - Without the stream editor, or when it has no room, the refused text
 *    is rewritten into "tollgate_blocked_rule_audit_full" (the server
 *    fails it with a syntax error), or the session is reset, as for a
 *    block.
 *
 * Memory: every session's parser arena is allocated at init, nb sessions
 * per worker (tg_pg_arena_size() each, with the message caps lowered to
 * half the ring); a new session when all are taken is refused (counted).
 *
 * Columns. Column rules apply by the names in RowDescription. The one
 * answering a Describe is kept for the prepared statement it describes
 * (32 statements per session, LRU), and an Execute of that statement uses
 * those columns however long ago it was described: drivers that cache
 * descriptions (pgJDBC) send no RowDescription with later executions.
 *
 * Caveats:
 * - Column formats come from RowDescription: a Describe of a statement
 *   reports text for every column, whatever the later Bind asks, so a
 *   binary field of a masked column is then masked with the text style.
 * - An Execute of a statement never described, or evicted from the 32
 *   kept, uses the columns of the last RowDescription (counted as
 *   columns_unknown); detectors still scan every field.
 * - A server CopyData message longer than half the ring is scanned piece
 *   by piece: a value split across two deliveries is not found.
 * - Statements made by SQL PREPARE run by EXECUTE are decided on the
 *   EXECUTE text, not on the prepared text (pg.h Caveats).
 */
#ifndef TG_INSPECT_H
#define TG_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "edit.h"
#include "pg.h"
#include "policy.h"
#include "record.h"
#include "service.h"
#include "stream.h"

#define TG_INSPECT_COUNTERS(X) \
	X(SESSIONS, "sessions", "sessions inspected") \
	X(NO_SESSION, "no_session", "sessions refused: every inspector session in use") \
	X(STATEMENTS, "statements", "statements decided (Query, Parse)") \
	X(ALLOWED, "allowed", "statements allowed") \
	X(LOGGED, "logged", "statements allowed by a log rule") \
	X(BLOCKED, "blocked", "statements blocked by rewriting them (fallback of the stream editor)") \
	X(BLOCKED_REPLY, "blocked_reply", "statements blocked and answered with an ErrorResponse") \
	X(BLOCKED_RESET, "blocked_reset", "statements blocked by reset: too short to rewrite") \
	X(TLS_REFUSED, "tls_refused", "SSLRequest/GSSENCRequest answered 'N' by the gateway") \
	X(CANCEL_FORWARDED, "cancel_forwarded", "CancelRequests for a live session on this gateway, let through") \
	X(CANCEL_REFUSED, "cancel_refused", "CancelRequests for no live session here: dropped, reset") \
	X(CANCEL_KEYS_FULL, "cancel_keys_full", "sessions whose cancel key the table had no room for") \
	X(ROWS, "rows", "data rows inspected") \
	X(FIELDS_SCANNED, "fields_scanned", "result fields scanned") \
	X(VALUES_MASKED, "values_masked", "values masked by detectors") \
	X(COLUMNS_MASKED, "columns_masked", "fields masked by column rules") \
	X(COLUMNS_UNKNOWN, "columns_unknown", "executions of a statement never described: last columns used") \
	X(COPY_MASKED, "copy_masked", "server CopyData messages with a value masked") \
	X(NOTICES_MASKED, "notices_masked", "ErrorResponse/NoticeResponse fields masked") \
	X(OVERFLOW, "overflow", "fields masked whole: more values than a scan holds") \
	X(EVENTS, "events", "statement events") \
	X(EXEC_CACHED, "exec_cached", "Executes of a prepared statement decided from the session's cache") \
	X(GATED, "gated", "statements held until their record was durable (strict)") \
	X(UNGATED, "ungated", "held statements released: their record is durable") \
	X(FAIL_VIOLATION, "fail_violation", "sessions failed: protocol violation") \
	X(FAIL_ENCRYPTED, "fail_encrypted", "sessions failed: TLS or GSSAPI requested and granted") \
	X(FAIL_WINDOW, "fail_window", "sessions failed: message or field over half the ring") \
	X(FAIL_SCAN, "fail_scan", "sessions failed: Hyperscan error or ring access") \
	X(FAIL_AUDIT, "fail_audit", "sessions failed: a strict statement's record could not be queued") \
	X(FAIL_EDIT, "fail_edit", "sessions failed: the stream editor had no room for a reply") \
	X(LOGINS, "logins", "logins taken over (identity oidc)") \
	X(LOGIN_OK, "login_ok", "logins the slowpath let through (AuthenticationOk released)") \
	X(LOGIN_REFUSED, "login_refused", "logins refused by the slowpath: FATAL, reset") \
	X(LOGIN_UNAVAILABLE, "login_unavailable", "logins refused: no slowpath taking them, or no room") \
	X(LOGIN_TIMEOUT, "login_timeout", "logins refused: no answer in time") \
	X(LOGIN_ENDED, "login_ended", "sessions the slowpath ended (token expired): FATAL, reset") \
	X(FAIL_LOGIN, "fail_login", "sessions failed: a client or server out of turn during a login") \
	X(REFUSED_AUDIT_FULL, "refused_audit_full", "statements refused: the audit store is full (AU-5(4), 53100)") \
	X(HELD, "held", "statements parked for approval (hold rules)") \
	X(HOLD_APPROVED, "hold_approved", "held statements approved: sent to the server") \
	X(HOLD_DENIED, "hold_denied", "held statements denied by an approver or timed out at the slowpath") \
	X(HOLD_TIMEOUT, "hold_timeout", "held statements denied here: no decision by their timeout and a grace") \
	X(HOLD_UNAVAILABLE, "hold_unavailable", "held statements denied at once: no slowpath deciding, or it went away") \
	X(HOLD_TOO_LONG, "hold_too_long", "held statements denied at once: longer than the gateway parks") \
	X(HOLD_CANCELLED, "hold_cancelled", "held statements whose session ended while they waited")

enum tg_inspect_counter {
#define TG_INSPECT_CNT_ENUM(e, n, d) TG_INSPECT_CNT_##e,
	TG_INSPECT_COUNTERS(TG_INSPECT_CNT_ENUM)
#undef TG_INSPECT_CNT_ENUM
	TG_INSPECT_CNT_MAX
};

extern const char *const tg_inspect_counter_names[TG_INSPECT_CNT_MAX];

enum tg_inspect_stmt_kind {
	TG_INSPECT_QUERY,	/* simple Query: its whole text */
	TG_INSPECT_EXECUTE,	/* Execute of a portal */
	TG_INSPECT_FCALL,	/* FunctionCall */
};

enum tg_inspect_result {
	TG_INSPECT_OK,		/* completed */
	TG_INSPECT_ERROR,	/* ErrorResponse: sqlstate set */
	TG_INSPECT_SUSPENDED,	/* PortalSuspended: row limit reached */
	TG_INSPECT_UNFINISHED,	/* the session ended first */
	TG_INSPECT_NOT_RUN,	/* discarded by the server after an earlier error */
};

/* What an event reports (struct tg_inspect_event.type) */
enum tg_inspect_event_type {
	TG_INSPECT_EV_STATEMENT,	/* through event: a statement and its result */
	TG_INSPECT_EV_SESSION_START,	/* through session_event, see tg_inspect_open_peer() */
	TG_INSPECT_EV_SESSION_END,	/* through session_event, see tg_inspect_end() */
	TG_INSPECT_EV_STATEMENT_BEGIN,	/* through begin: a statement decided, no result yet */
};

/* Why a session ended (= enum tg_punt_end_reason) */
enum tg_inspect_end_reason {
	TG_INSPECT_END_CLOSED = 1,	/* FIN both ways */
	TG_INSPECT_END_RESET = 2,	/* RST from either end */
	TG_INSPECT_END_FAILED = 3,	/* reset by the gateway: failed closed, blocked, exception */
	TG_INSPECT_END_EXPIRED = 4,	/* idle timeout or evicted */
	TG_INSPECT_END_SHUTDOWN = 5,	/* the dataplane stopped */
};

#define TG_INSPECT_TEXT_MAX 1024	/* event text bytes */
#define TG_INSPECT_PARAMS_MAX 512	/* event parameter display bytes */
#define TG_INSPECT_NAME_MAX 64

/*
 * Valid during the event callback only. A session event carries the
 * session's fields (session to application, server, t_start_ns: when it
 * opened; t_end_ns and end_reason for its end); the statement fields are
 * zero.
 */
struct tg_inspect_event {
	uint8_t type;		/* enum tg_inspect_event_type */
	uint8_t end_reason;	/* SESSION_END: enum tg_inspect_end_reason */
	const char *server;	/* session events: "addr:port", "" when not given */
	uint64_t session;	/* the worker's session id */
	uint16_t service;
	const char *service_name;	/* NULL when the inspector has no services table */
	uint8_t kind;		/* enum tg_inspect_stmt_kind */
	uint8_t verdict;	/* enum tg_cmd_action */
	uint8_t result;		/* enum tg_inspect_result */
	const char *rule;	/* id of the deciding rule, NULL: the default */
	const char *client;	/* "addr:port" */
	const char *user, *database, *application;
	const char *text;	/* masked, capped; text_cut when longer on the wire */
	uint32_t text_len;
	bool text_cut;
	const char *params;	/* "$1=..., $2=..." masked, capped; "" when none */
	uint32_t params_len;
	uint32_t stmt;		/* statements: the session's statement number, from 1 */
	char sqlstate[6];
	uint64_t rows;
	uint32_t masked[TG_DETECT_KIND_MAX];	/* values masked, by detector kind */
	uint32_t masked_columns;		/* fields masked by column rules */
	uint64_t t_start_ns, t_end_ns;		/* CLOCK_REALTIME */
};

typedef void (*tg_inspect_event_fn)(void *arg, const struct tg_inspect_event *ev);
/* Returns the event's ticket (1, 2, ...: see Durability), or 0: not queued. */
typedef uint64_t (*tg_inspect_ticket_fn)(void *arg, const struct tg_inspect_event *ev);
/* A session whose held statement may now leave: send what st[0] releases. */
typedef void (*tg_inspect_ungate_fn)(void *arg, struct tg_stream st[2]);

#define TG_INSPECT_STARTUP_MAX 2048	/* a StartupMessage kept for a login taken over */
#define TG_INSPECT_LOGIN_TIMEOUT_MS 15000

/* A login message for the slowpath (punt.h AUTH_REQUEST, AUTH_SERVER). Valid during the call. */
enum tg_inspect_login_type {
	TG_INSPECT_LOGIN_REQUEST,	/* the client's StartupMessage and token */
	TG_INSPECT_LOGIN_SERVER,	/* one whole server message */
};

struct tg_inspect_login {
	uint8_t type;			/* enum tg_inspect_login_type */
	uint64_t session;
	uint16_t service;
	const char *service_name;	/* REQUEST: NULL without a services table */
	const char *client, *server;	/* REQUEST */
	const uint8_t *startup;		/* REQUEST */
	uint32_t startup_len;
	const uint8_t *token;		/* REQUEST: the password, no NUL */
	uint32_t token_len;
	const uint8_t *msg;		/* SERVER */
	uint32_t msg_len;
};

/* Returns 0, or -errno when the slowpath cannot be asked (the login is refused). */
typedef int (*tg_inspect_login_fn)(void *arg, const struct tg_inspect_login *l);

/* The slowpath's answer (= enum tg_punt_auth_action). */
enum tg_inspect_login_action {
	TG_INSPECT_LOGIN_SEND = 1,	/* data for the server */
	TG_INSPECT_LOGIN_DONE = 2,	/* AuthenticationOk onwards to the client, as role */
	TG_INSPECT_LOGIN_REFUSE = 3,	/* FATAL sqlstate text to the client, then reset */
	TG_INSPECT_LOGIN_END = 4,	/* a running session: FATAL where it can go, then reset */
};

struct tg_inspect_login_reply {
	uint8_t action;			/* enum tg_inspect_login_action */
	uint64_t session;
	const uint8_t *data;		/* SEND */
	uint32_t len;
	const char *sqlstate;		/* REFUSE, END: 5 characters */
	const char *text;		/* REFUSE, END */
	uint32_t text_len;
	const char *role;		/* DONE */
	uint32_t role_len;
};

/*
 * Holds (inspect.h "Holds"): a message for the slowpath (punt.h HOLD_REQUEST).
 * Valid during the call.
 */
enum tg_inspect_hold_op {
	TG_INSPECT_HOLD_ASK = 1,	/* = TG_PUNT_HOLD_ASK */
	TG_INSPECT_HOLD_CANCEL = 2,	/* = TG_PUNT_HOLD_CANCEL: reason set */
};

struct tg_inspect_hold {
	uint8_t op;			/* enum tg_inspect_hold_op */
	uint64_t session;
	uint32_t hold;			/* the statement's number in the session */
	/* ASK */
	uint8_t kind;			/* enum tg_inspect_stmt_kind */
	uint16_t service;
	const char *service_name;	/* NULL without a services table */
	const char *rule, *approvers;	/* the rule's id and approvers group ("": any) */
	uint8_t quorum;
	bool self_approval;
	uint32_t timeout_s;
	uint64_t t_ns;			/* CLOCK_REALTIME */
	const char *client, *server, *user, *database;
	const char *text;		/* masked, capped, as in the statement's event */
	uint32_t text_len;
	const char *params;
	uint32_t params_len;
	/* CANCEL */
	const char *reason;
};

/* Returns 0, or -errno when the slowpath cannot be asked (the statement is denied at once). */
typedef int (*tg_inspect_hold_fn)(void *arg, const struct tg_inspect_hold *h);

/* The slowpath's decision on a hold (= enum tg_punt_hold_decision). */
enum tg_inspect_hold_decision {
	TG_INSPECT_HOLD_APPROVE = 1,
	TG_INSPECT_HOLD_DENY = 2,
};

struct tg_inspect_hold_reply {
	uint8_t decision;		/* enum tg_inspect_hold_decision */
	uint64_t session;
	uint32_t hold;
	const char *id;			/* the approval request */
	uint32_t id_len;
	const char *sqlstate;		/* DENY: 5 characters */
	const char *text;		/* DENY: why, for the client */
	uint32_t text_len;
};

#define TG_INSPECT_HOLD_MAX 4000	/* bytes of a parked message (a Query's text, mostly) */
#define TG_INSPECT_HOLD_GRACE_S 30	/* past a hold's timeout, the dataplane decides alone */

/* What the caller does after tg_inspect_login_reply() or tg_inspect_hold_reply() */
enum tg_inspect_login_next {
	TG_INSPECT_LOGIN_FLUSH,		/* send what the editor has (injected bytes) */
	TG_INSPECT_LOGIN_RELEASE,	/* that, and what the streams now release */
	TG_INSPECT_LOGIN_RESET,		/* that, then reset the session both ways */
};

struct tg_inspect_sess;

struct tg_inspect {
	struct tg_stream_mem *smem;
	const struct tg_services *svcs;		/* names events carry; the caller's, may be NULL */
	const struct tg_policy *policy;		/* NULL: parse and report only */
	struct tg_policy_scratch *scratch;	/* for policy */
	struct tg_policy_scratch *own_scratch;	/* allocated by init for its policy */
	struct tg_pg_limits lim;
	struct tg_inspect_sess *sess;		/* nb_sess slots */
	uint8_t *arenas;
	size_t arena_size;
	uint32_t nb_sess;
	uint32_t *free;				/* stack of free slots */
	uint32_t nb_free;
	uint8_t *buf;				/* a field or message copied out of the ring */
	struct tg_stream_consumer consumer[2];	/* for tg_tcp_ctx.consumer */
	tg_inspect_event_fn event;
	void *event_arg;
	tg_inspect_event_fn session_event;	/* session starts and ends, NULL: none; with event_arg */
	tg_inspect_ticket_fn begin;		/* STATEMENT_BEGIN events, NULL: none; with event_arg */
	const uint64_t *durable;		/* tickets up to it are durable; read with acquire */
	uint64_t durable_seen;
	uint32_t nb_gated;			/* sessions holding a statement for durability */
	bool editor;				/* block and refuse TLS with the stream editor */
	/* AU-5(4): while *audit_full (relaxed) is not 0, new statements are refused; NULL: never */
	const uint8_t *audit_full;
	/*
	 * Cancel keys (cancelkeys.h), NULL: every CancelRequest goes through.
	 * key_add returns 0 or -ENOSPC; with event_arg.
	 */
	int (*key_add)(void *arg, const char *server, uint32_t pid, uint32_t key);
	void (*key_del)(void *arg, const char *server, uint32_t pid, uint32_t key);
	bool (*key_known)(void *arg, const char *server, uint32_t pid, uint32_t key);
	uint32_t nb_editing;			/* directions with the editor active */
	/* logins taken over (identity oidc), NULL: refused; with event_arg */
	tg_inspect_login_fn login;
	uint32_t nb_login;			/* sessions whose login is under way */
	/* holds (hold rules), NULL: denied at once; with event_arg */
	tg_inspect_hold_fn hold;
	uint32_t nb_held;			/* sessions with a statement parked */
	/* recordings (record.h): pieces through record, with event_arg; NULL: none */
	tg_record_emit_fn record;
	uint64_t record_limit;			/* bytes of rows a session keeps; 0: none */
	const uint8_t *record_on;		/* while *record_on (relaxed) is 0: none; NULL: always */
	uint8_t rec_buf[5][TG_RECORD_NOTICE_MAX]; /* masked bytes read back for it */
	uint32_t policy_gen;			/* tg_inspect_set_policy() calls */
	uint64_t next_id;
	uint64_t cnt[TG_INSPECT_CNT_MAX];
	struct tg_pg_counters pg;		/* of ended sessions; live ones add in */
};

/*
 * Allocates nb_sess sessions for streams in smem (whose ring size bounds
 * the message caps) under policy (may be NULL). Returns 0 or -errno.
 */
int tg_inspect_init(struct tg_inspect *in, struct tg_stream_mem *smem,
		    const struct tg_policy *policy, uint32_t nb_sess, tg_inspect_event_fn event,
		    void *event_arg);

/*
 * The same with the parser's limits (NULL: the defaults). Caps on what is
 * held whole (stmt_max, be_long_max, text_max) are lowered to half the
 * ring.
 */
int tg_inspect_init_limits(struct tg_inspect *in, struct tg_stream_mem *smem,
			   const struct tg_policy *policy, uint32_t nb_sess,
			   const struct tg_pg_limits *lim, tg_inspect_event_fn event,
			   void *event_arg);
void tg_inspect_fini(struct tg_inspect *in);

/*
 * Starts inspecting the session whose two directions are st[0] (client to
 * server) and st[1], of service svc, from client "addr:port". Tags both
 * streams. Returns 0, or -ENOSPC when every session is in use (counted).
 */
int tg_inspect_open(struct tg_inspect *in, struct tg_stream st[2], uint16_t svc,
		    const char *client);

/*
 * The same, naming the server "addr:port" too (NULL: ""), for session
 * events. With session_event set, the session's start is reported when
 * its StartupMessage names the user, database and application, or, for a
 * session that ends without one (a CancelRequest, a probe, a session
 * failed before it), just before its end; so every start has one end and
 * every statement comes between them.
 */
int tg_inspect_open_peer(struct tg_inspect *in, struct tg_stream st[2], uint16_t svc,
			 const char *client, const char *server);

/*
 * Ends it: pending statements are reported unfinished, the session's end
 * is reported with reason (enum tg_inspect_end_reason), the slot is freed.
 * Nothing for streams with no session (already ended).
 */
void tg_inspect_end(struct tg_inspect *in, struct tg_stream st[2], uint8_t reason);

/* tg_inspect_end() with reason closed. */
void tg_inspect_close(struct tg_inspect *in, struct tg_stream st[2]);

/*
 * Switches to another policy generation (NULL: none) with its scratch,
 * both the caller's and kept until the next switch. Between bursts: new
 * statements and result columns are decided under it; statements already
 * decided keep their verdicts (their events carry copies of the rule ids).
 */
void tg_inspect_set_policy(struct tg_inspect *in, const struct tg_policy *policy,
			   struct tg_policy_scratch *scratch);

/*
 * Releases the statements whose records *durable now covers: for each
 * session that has one, moves its inspected mark and calls fn with its
 * streams. Returns how many sessions it called fn for. Cheap when no
 * session waits (nb_gated is 0) or *durable has not moved.
 */
unsigned int tg_inspect_ungate(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg);

/*
 * The stream editor of direction dir (0: client to server) of the session
 * of streams st, or NULL when that direction was never edited: its packets
 * then need no mapping.
 */
struct tg_edit *tg_inspect_edit(struct tg_inspect *in, const struct tg_stream st[2], int dir);

/*
 * Calls fn with the streams of every session with an edited direction
 * (the worker's retransmission timer). Returns how many directions.
 */
unsigned int tg_inspect_edit_each(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg);

/*
 * For an operator's kill: injects the FATAL a server sends when it is
 * told to end a session (SQLSTATE 57P01, "terminating connection due to
 * administrator command") into the server-to-client direction, where the
 * server's stream stands now. Returns 0, -ENOENT (no session, no editor),
 * -EBUSY (a server message half received or held: the kill is a plain
 * RST) or the editor's error. The caller sends it, then resets the flow.
 */
int tg_inspect_kill_reply(struct tg_inspect *in, struct tg_stream st[2]);

/*
 * The slowpath's answer r about a login (or, END, a running session).
 * Returns what the caller does next (enum tg_inspect_login_next) with *st
 * set to the session's streams, or -ENOENT when the session is gone (the
 * answer came too late: nothing to do). An answer out of turn fails the
 * session (RESET).
 */
int tg_inspect_login_reply(struct tg_inspect *in, const struct tg_inspect_login_reply *r,
			   struct tg_stream **st);

/*
 * Refuses the logins under way past their deadline (now_ns: CLOCK_MONOTONIC)
 * with a FATAL, and calls fn with the streams of each, which the caller
 * then flushes and resets. Returns how many. Cheap when nb_login is 0.
 */
unsigned int tg_inspect_login_expire(struct tg_inspect *in, uint64_t now_ns,
				     tg_inspect_ungate_fn fn, void *arg);

/*
 * The slowpath went away: refuses the logins already handed to it (their
 * answers will not come) with a FATAL, and calls fn with the streams of
 * each, as tg_inspect_login_expire() does. Returns how many.
 */
unsigned int tg_inspect_login_lost(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg);

/*
 * The slowpath's decision r on a parked statement. Returns what the caller
 * does next (TG_INSPECT_LOGIN_RELEASE: send what the editor has and what
 * the streams release; RESET), with *st the session's streams, or -ENOENT
 * when the session or that hold is gone (a late answer: nothing to do).
 */
int tg_inspect_hold_reply(struct tg_inspect *in, const struct tg_inspect_hold_reply *r,
			  struct tg_stream **st);

/*
 * Denies the parked statements past their timeout and a grace (now_ns:
 * CLOCK_MONOTONIC; the slowpath is cancelled), and calls fn with the
 * streams of each, which the caller then releases. Cheap when nb_held is 0.
 */
unsigned int tg_inspect_hold_expire(struct tg_inspect *in, uint64_t now_ns,
				    tg_inspect_ungate_fn fn, void *arg);

/* The slowpath went away: denies every parked statement, as tg_inspect_hold_expire(). */
unsigned int tg_inspect_hold_lost(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg);

/* Has the session failed closed? The worker then resets it. */
bool tg_inspect_failed(const struct tg_inspect *in, const struct tg_stream st[2]);

/*
 * What a live session says of itself (tgctl sessions): its strings point
 * into the session and live until it ends; st are its streams (st[0]
 * client to server), inside the worker's flow.
 */
struct tg_inspect_info {
	uint64_t id;
	uint64_t t_open_ns;		/* CLOCK_REALTIME */
	uint32_t stmts;			/* statements numbered so far */
	uint16_t svc;
	const char *client, *server, *user, *database, *application;
	struct tg_stream *st;
};

/*
 * The session of streams st (slot UINT32_MAX), or the one in slot (0 to
 * nb_sess - 1), into out: false when there is none (ended, or never
 * inspected). For the worker's own thread: the session is the worker's.
 */
bool tg_inspect_info(const struct tg_inspect *in, const struct tg_stream st[2], uint32_t slot,
		     struct tg_inspect_info *out);

/* Adds the parser counters of every session, ended and live, into out. */
void tg_inspect_pg_counters(const struct tg_inspect *in, struct tg_pg_counters *out);

/* Writes ev as one JSON line (with '\n') into buf. Returns its length, or 0 if it did not fit. */
size_t tg_inspect_event_json(const struct tg_inspect_event *ev, char *buf, size_t size);

#endif /* TG_INSPECT_H */
