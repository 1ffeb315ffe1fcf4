/* SPDX-License-Identifier: MIT */
/*
 * punt.h — the control channel between tollgate-dataplane and
 * tollgate-slowpath: its wire format, and a DPDK-free codec (punt.c) that
 * both processes link. This header is the contract (DESIGN.md: interface
 * headers belong to the side that defines them); it includes nothing of
 * the dataplane, so the slowpath can include it alone.
 *
 * Transport. A Unix SOCK_SEQPACKET socket: reliable, ordered, one message
 * per datagram, so no framing beyond the datagram is needed and a message
 * is never split or joined. The dataplane connects, the slowpath listens.
 * A datagram is at most TG_PUNT_MSG_MAX (64 KiB) bytes: that fits the
 * default Unix socket buffers (net.core.wmem_default is 208 KiB) without
 * tuning, and every message but a policy is far smaller. A receiver reads
 * into a TG_PUNT_MSG_MAX buffer with MSG_TRUNC in the flags of recv(2), so
 * an oversized datagram reports its real length and is refused as too_big
 * rather than taken for a shorter one.
 *
 * Why hand-rolled: the messages are few and flat, both ends are this
 * project, and a decoder that is a page of bounds checks over caller
 * memory is easier to audit (and to fuzz) than a generic serialiser.
 *
 * Byte order is big-endian (network order) throughout; fields are packed,
 * never aligned, and read byte by byte (wire.h), so no cast is ever made on
 * received memory.
 *
 * Header (24 bytes, every message):
 *
 *   0  magic   u32  0x54475043 ("TGPC")
 *   4  version u16  protocol version of this message (HELLO, HELLO_ACK: 1)
 *   6  type    u16  TG_PUNT_T_*
 *   8  flags   u32  none defined in version 1: must be 0
 *  12  length  u32  the whole datagram, header included
 *  16  seq     u64  per sender and connection: 1 for the first message
 *                   (HELLO, HELLO_ACK), one more for each message after
 *
 * The decoder checks, in this order and before reading any body byte: the
 * datagram is at most TG_PUNT_MSG_MAX bytes and holds a header; the magic;
 * the length field equals the datagram's length; the type is known; the
 * version (HELLO and HELLO_ACK: exactly 1, others: one this build speaks);
 * no flag is set; seq is not 0.
 * Then the body of the type, every length before the bytes it covers; the
 * body must end exactly at the datagram's end. Whether the version is the
 * negotiated one, the seq the next one and the type one this peer may send
 * (tg_punt_type_sender()) is the connection's to check: the codec keeps no
 * state. Any refusal is one reason of TG_PUNT_ERRORS, which the
 * connection counts before it disconnects: a peer that breaks the protocol
 * is not talked to further.
 *
 * Strings are a length (u8 or u16, as marked: s8 or s16) and that many
 * bytes, with no terminator; none may hold a NUL byte (the receiver turns
 * them into C strings) or exceed its cap. Decoded strings point into the
 * datagram (struct tg_punt_str) and live as long as it does. An empty
 * string means "absent" wherever a value may be missing.
 *
 * Canonical encoding. Every value has exactly one encoding (counts are
 * exact, entries ascending, no padding, flags and booleans strict), so a
 * datagram that decodes re-encodes to the same bytes; the fuzz target
 * checks that.
 *
 * Handshake. The dataplane sends HELLO first: its role, the range of
 * versions it speaks, its instance id (random, not 0, new at every process
 * start: it names the dataplane's event sequence space, see EVENT_BATCH),
 * its capabilities and its software version. The slowpath answers
 * HELLO_ACK: its own role, range, instance id and capabilities, and either
 * the version chosen (the highest both speak) or a refusal with a code and
 * a reason text. Both use the chosen version from then on; the
 * capabilities in force are those both stated (bitwise and). Nothing but
 * HELLO/HELLO_ACK is valid before the handshake. HELLO and HELLO_ACK keep
 * their version 1 layout in every later version, so peers of any two
 * versions can always negotiate (the header magic, version and length are
 * frozen too).
 *
 * Message catalogue (version 1; "dp" is the dataplane, "sp" the slowpath):
 *
 *  1 HELLO           dp->sp  role u8, vmin u16, vmax u16, instance u64,
 *                            caps u64, software s8
 *  2 HELLO_ACK       sp->dp  role u8, status u8, refuse u8, version u16,
 *                            vmin u16, vmax u16, instance u64, caps u64,
 *                            software s8, reason s16
 *  3 EVENT_BATCH     dp->sp  first_seq u64, count u16, count events
 *  4 BATCH_ACK       sp->dp  durable_seq u64
 *  5 POLICY_GEN      sp->dp  gen u64, total u32, offset u32, len u32,
 *                            len bytes of the policy object
 *  6 POLICY_ACK      dp->sp  gen u64, status u8, reason s16
 *  7 STATS_REQUEST   sp->dp  (no body)
 *  8 STATS_RESPONSE  dp->sp  in_reply_to u64, count u16, last u8,
 *                            count x (name s8, value u64)
 *  9 SERVICES        dp->sp  count u16, count x name s8
 * 10 SESSIONS_REQUEST sp->dp kind u8, worker u16, session u64, limit u32,
 *                            service s8
 * 11 SESSIONS_RESPONSE dp->sp in_reply_to u64, status u8, count u16,
 *                            last u8, count x entry
 * 12 AUTH_REQUEST    dp->sp  worker u16, session u64, service s8, client s8,
 *                            server s8, startup b16, token b16
 * 13 AUTH_SERVER     dp->sp  worker u16, session u64, message b16
 * 14 AUTH_REPLY      sp->dp  worker u16, session u64, action u8, data b16,
 *                            sqlstate s8, text s16, role s8
 * 15 AUDIT_STATE     sp->dp  state u8, reason s16
 * 18 TCP_GRANTS      sp->dp  gen u64, nsvc u8, nsvc x (flags u8, name s8),
 *                            count u16, count x grant
 * 19 TCP_SERVICES    dp->sp  count u16, count x name s8
 *
 * b16 is a byte string: a u16 length and that many bytes, any of them NUL.
 *
 * A SESSIONS_RESPONSE entry is: flags u8, worker u16, session u64,
 * tcp_state u8, t_start u64, bytes_up u64, bytes_down u64, stmts u32,
 * service s8, client s8, server s8, user s8, database s8, application s8.
 *
 * Events (EVENT_BATCH). Every event is numbered: the first of a batch is
 * first_seq and the others follow one by one. Event numbers start at 1 and
 * rise by one per event for the life of the dataplane process (its
 * instance id), across reconnections, so the slowpath can deduplicate a
 * batch sent again after a reconnection by (instance, seq). BATCH_ACK is
 * cumulative: every event numbered up to durable_seq is durable (in the
 * audit log, committed). The dataplane keeps events until they are acked;
 * strict durability mode releases a statement only then.
 *
 * Each event is: type u8, flags u8, len u16 (the event's bytes, these four
 * included), worker u16, service u16, session u64, then by type:
 *
 *   STATEMENT      kind u8, verdict u8, result u8, nmasked u8, stmt u32,
 *                  masked_columns u32, rows u64, t_start u64, t_end u64,
 *                  nmasked x (detector kind u8, count u32), service_name s8,
 *                  client s8, user s8, database s8, application s8,
 *                  rule s8, sqlstate s8, text s16, params s16
 *   SESSION_START  t_start u64, service_name s8, client s8, server s8,
 *                  user s8, database s8, application s8
 *   SESSION_END    reason u8, t_start u64, t_end u64, service_name s8,
 *                  client s8
 *   STATEMENT_BEGIN kind u8, verdict u8, stmt u32, t_start u64,
 *                  service_name s8, client s8, user s8, database s8,
 *                  application s8, rule s8, text s16, params s16
 *   LOST           lost u64, t_end u64 (service 0, session 0)
 *   FLOW_START     grant u64, t_start u64, service_name s8, client s8,
 *                  server s8
 *   FLOW_END       reason u8, grant u64, t_start u64, t_end u64,
 *                  bytes_up u64, bytes_down u64, pkts_up u64,
 *                  pkts_down u64, service_name s8, client s8, server s8
 *   FLOW_REFUSED   refusal u8, t_start u64, service_name s8, client s8,
 *                  server s8 (session 0)
 *   RECORD (20)    piece u32, data b16 (1..TG_PUNT_RECORD_MAX bytes)
 *
 * RECORD carries a piece of a session's recording (dataplane/record.h:
 * what the client saw, after masking, as items), only between a
 * dataplane and a slowpath that both state TG_PUNT_CAP_RECORD. piece
 * numbers the session's pieces from 0, so the slowpath sees one that was
 * not sent (the worker's ring was too full to spare it). Its code is 20,
 * apart from the statement events 1..5.
 *
 * A statement has two events on a service with a durability mode (its
 * configuration: strict or fast): STATEMENT_BEGIN when it is decided, just
 * before it is released to the server (in strict mode, released only once
 * that event is acknowledged durable), and STATEMENT when its result is
 * known. stmt numbers the statements of a session from 1 and ties the two
 * together; STATEMENT carries every field again, so each record stands
 * alone. LOST is the control thread's: worker's events that could not be
 * queued (its ring or the event buffer full), lost counted since the last
 * LOST of that worker; the slowpath records it as a gap.
 *
 * Event flags: TG_PUNT_EV_F_TEXT_CUT on statements (both kinds), and
 * TG_PUNT_EV_F_STRICT on the STATEMENT_BEGIN of a strict service: the
 * statement waits for it, so the slowpath commits at once rather than
 * within its fast-mode delay. The masked
 * counts are the non-zero ones only, by ascending detector kind. Times are
 * CLOCK_REALTIME nanoseconds. The statement fields are those of struct
 * tg_inspect_event (inspect.h), whose enum values these wire codes equal
 * (test_punt.c asserts it at compile time).
 *
 * Policy generations (POLICY_GEN). A policy file may be 4 MiB
 * (TG_POLICY_FILE_MAX) and compiled Hyperscan databases more, so a
 * generation travels as a "policy object" of up to TG_PUNT_POLICY_MAX
 * bytes, cut into chunks that each fit one datagram and are sent in
 * order: every chunk carries the generation id (not 0), the object's total
 * size, its offset and its length. The receiver checks the sequence with
 * tg_punt_policy_rx_add(), copies the chunks into a buffer of the total
 * size, and when the object is whole decodes it with
 * tg_punt_policy_decode(). It answers POLICY_ACK for that generation:
 * applied (no reason) or refused (with the reason; the running generation
 * stays).
 *
 * The object is a list of TLVs, type u16, length u32, value, in ascending
 * type order, each at most once. Version 1 defines TG_PUNT_POL_JSON (the
 * policy's JSON text, required) and TG_PUNT_POL_DB (the policy's
 * Hyperscan databases as tg_policy_serialize() writes them, bound to that
 * JSON text by its digest; sent to a dataplane stating TG_PUNT_CAP_POLICY,
 * which then deserialises instead of compiling). A TLV type the decoder
 * does not know is refused: new TLVs are sent only to a peer whose HELLO
 * stated the capability that defines them.
 *
 * SERVICES. Sent by a dataplane stating TG_PUNT_CAP_POLICY right after the
 * handshake: the names of its services in configuration order (1 to
 * TG_PUNT_SERVICES_MAX, distinct, non-empty), against which the slowpath
 * validates the policy it pushes (a rule's "services" must name them).
 *
 * STATS. The slowpath asks (STATS_REQUEST); a dataplane that stated
 * TG_PUNT_CAP_STATS answers with one or more STATS_RESPONSEs naming the
 * request's seq, the last one with last = 1. Counters are name/value
 * pairs; names are printable ASCII without spaces.
 *
 * SESSIONS. The slowpath asks a dataplane that stated TG_PUNT_CAP_SESSIONS
 * (SESSIONS_REQUEST) for its live postgres sessions (kind LIST), every
 * tracked flow (FLOWS), or to reset one session both ways (KILL). worker
 * is one worker's id or TG_PUNT_SESS_ANY_WORKER; session (not 0) selects
 * one session, required for KILL; service (empty: any) filters LIST and
 * FLOWS by service name; limit (1..TG_PUNT_SESS_LIMIT_MAX) bounds the
 * entries. The dataplane answers one or more SESSIONS_RESPONSEs naming
 * the request's seq, the last with last = 1; status is OK, or NOT_FOUND
 * (a KILL, or a LIST of one session, found nothing; no entries) or BUSY
 * (another request is being answered; no entries). A KILL answers with
 * the entry of the session it reset. An entry's flags say
 * TG_PUNT_SESS_F_PG (a postgres session, inspected): only then are
 * session, user, database, application and stmts set (zero or empty
 * otherwise, refused if not). tcp_state is enum tg_punt_tcp_state;
 * t_start is CLOCK_REALTIME ns (0 for a flow that is not a session: the
 * flow table keeps no start time); bytes are those released each way
 * (up: client to server).
 *
 * AUTH (the identity takeover, DESIGN.md "Identity"). Between a dataplane
 * and a slowpath that both stated TG_PUNT_CAP_AUTH. For a session of a
 * service with identity "oidc", the dataplane keeps the client's
 * StartupMessage and PasswordMessage from the server and sends them as
 * AUTH_REQUEST: startup is the whole StartupMessage (length word
 * included, 8..TG_PUNT_AUTH_STARTUP_MAX bytes), token the password it
 * carried (0..TG_PUNT_AUTH_TOKEN_MAX bytes, no NUL, no terminator: the
 * OIDC token). The slowpath answers with AUTH_REPLYs naming the worker
 * and session:
 *   SEND    data (1..TG_PUNT_AUTH_SEND_MAX bytes) is for the server: the
 *           StartupMessage of the mapped role first, then each response
 *           the server's authentication asks for;
 *   DONE    the server's AuthenticationOk (held by the dataplane) and
 *           all that follows go to the client; role is the upstream role;
 *   REFUSE  the client gets an ErrorResponse FATAL with sqlstate (five
 *           characters) and text, and the session is reset both ways;
 *   END     the same for a session already running (its token expired):
 *           FATAL sqlstate and text where the server's stream is between
 *           messages, then the reset.
 * Fields an action does not carry are empty. From the StartupMessage the
 * dataplane sends upstream to AuthenticationOk, every server message is
 * kept from the client and sent to the slowpath as AUTH_SERVER (message:
 * one whole backend message, type byte and length included, 5..
 * TG_PUNT_AUTH_MSG_MAX bytes); AuthenticationOk is the last of them. The
 * token never leaves the slowpath again except as its SHA-256.
 *
 * HOLD (approval holds, issue 9). Between a dataplane and a slowpath that
 * both stated TG_PUNT_CAP_HOLD, over the same per-worker mailboxes as
 * AUTH. When a statement matches a "hold" rule the dataplane parks it and
 * sends HOLD_REQUEST ASK naming the worker, session and hold (the
 * statement's number in the session), with the service, the rule and its
 * approvers (a group, may be empty), quorum, timeout_s and self_approval,
 * the session's client, server, user and database, and the statement's
 * masked text and parameters. The slowpath answers, once, with HOLD_REPLY
 * APPROVE (the statement goes on) or DENY (sqlstate and reason for the
 * client's ErrorResponse), naming the approval request by id. A session
 * that ends, or a hold the dataplane gives up on (no answer by its
 * timeout plus a grace), is sent as HOLD_REQUEST CANCEL with a reason;
 * the slowpath then answers nothing.
 *
 * AUDIT_STATE (NIST SP 800-53 AU-5(4): refuse when the audit log cannot
 * take more). Between a dataplane and a slowpath that both stated
 * TG_PUNT_CAP_AUDIT_STATE. The slowpath sends its store's state right
 * after HELLO_ACK and again at every change: OK (statements run) or FULL
 * (the store is above its high watermark: the dataplane refuses every new
 * statement with an ErrorResponse, sessions stay open). reason is for the
 * logs and the refusal's detail, printable, at most TG_PUNT_REASON_MAX
 * bytes: not empty with FULL, any with OK. A dataplane keeps the last state
 * across a reconnection until the next AUDIT_STATE (sent at once by a
 * slowpath that states the capability; one that does not clears it).
 *
 * TCP GRANTS (just-in-time access to "protocol": "tcp" services, whose
 * stream is not inspected: SSH and the like). Between a dataplane and a
 * slowpath that both stated TG_PUNT_CAP_TCP_GRANTS. Right after SERVICES
 * (or the handshake) the dataplane states the names of its tcp services
 * (TCP_SERVICES, 0 to TG_PUNT_SERVICES_MAX distinct names), so that the
 * slowpath can tell a grant for one (it names a source address) from a
 * grant for a login. The slowpath then pushes the whole table of live tcp
 * grants (TCP_GRANTS), and again at every change (add, revoke, expiry,
 * policy reload), each time a higher gen:
 *   - the services that require a grant ("require_grant" in the policy's
 *     identity "services"), ascending by name, each with flags
 *     TG_PUNT_TCPG_F_END when its "on_grant_expiry" is "end";
 *   - the live grants, ascending by (service index, id), each: id u64
 *     (not 0; the grant "g-<16 hex>" as a number), svc u8 (an index into
 *     the services above), family u8 (4 or 6), prefix u8 (0..32 or
 *     0..128), addr (4 or 16 bytes, host bits zero), expires u64 (Unix
 *     seconds: the dataplane refuses past it even before the next push).
 * The dataplane admits a new flow (SYN) to a listed service only when a
 * grant of that service covers the client's address; otherwise the
 * client gets a RST and the slowpath a FLOW_REFUSED event (refusal
 * NO_GRANT). An admitted flow has FLOW_START (with the grant) and
 * FLOW_END (bytes and packets each way, the reason) events. When a table
 * drops the grant of a running flow, the flow runs on, or with
 * TG_PUNT_TCPG_F_END is reset both ways (FLOW_END reason GRANT_ENDED).
 * A dataplane keeps the last table across a reconnection; while the
 * slowpath is away a service's "on_slowpath_down" decides: refuse (new
 * flows of listed services are refused, refusal SLOWPATH_DOWN) or allow
 * (the last table decides alone). Before the first table of its life
 * the dataplane does not know which services need a grant: new flows of
 * its tcp services are refused (UNKNOWN) unless "on_slowpath_down" is
 * allow.
 *
 * Caveats:
 * - Event strings come from the network (user names, statement texts,
 *   parameter values: a text-format Bind parameter may hold a NUL byte,
 *   and the inspector's params display copies it); a NUL in one is sent
 *   as '?' (tg_punt_batch_add()) rather than costing an audit record or
 *   the connection.
 * - A new detector kind, verdict or statement kind is a new protocol
 *   version: the decoder refuses codes it does not know.
 * - The policy object is bounded by TG_PUNT_POLICY_MAX; the receiver
 *   allocates its buffer when the first chunk states the total, off the
 *   fast path.
 */
#ifndef TG_PUNT_H
#define TG_PUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_PUNT_MAGIC 0x54475043u	/* "TGPC" */
#define TG_PUNT_VERSION_HELLO 1		/* of HELLO and HELLO_ACK, forever */
#define TG_PUNT_VERSION_MIN 1		/* spoken by this build */
#define TG_PUNT_VERSION_MAX 1
#define TG_PUNT_HDR_LEN 24
#define TG_PUNT_MSG_MAX 65536		/* bytes in a datagram, header included */

/* Caps, in bytes without any terminator. */
#define TG_PUNT_NAME_MAX 63		/* names and addresses: NAMEDATALEN - 1 */
#define TG_PUNT_SQLSTATE_MAX 5
#define TG_PUNT_TEXT_MAX 1024		/* statement text */
#define TG_PUNT_PARAMS_MAX 512		/* parameter display */
#define TG_PUNT_REASON_MAX 1024		/* refusal reasons */
#define TG_PUNT_BATCH_MAX 1024		/* events in one EVENT_BATCH */
#define TG_PUNT_STATS_MAX 1024		/* pairs in one STATS_RESPONSE */
#define TG_PUNT_POLICY_MAX (64u << 20)	/* policy object */
#define TG_PUNT_SERVICES_MAX 64		/* names in SERVICES (= TG_SERVICES_MAX) */
#define TG_PUNT_SESS_LIMIT_MAX 65535	/* entries a SESSIONS_REQUEST may ask for */
#define TG_PUNT_SESS_ANY_WORKER 0xffff	/* SESSIONS_REQUEST: every worker */
#define TG_PUNT_AUTH_STARTUP_MAX 10000	/* StartupMessage: MAX_STARTUP_PACKET_LENGTH */
#define TG_PUNT_AUTH_TOKEN_MAX 16384	/* a token presented as the password */
#define TG_PUNT_AUTH_MSG_MAX 30000	/* a server message during authentication */
#define TG_PUNT_AUTH_SEND_MAX 10000	/* bytes for the server in one AUTH_REPLY */
#define TG_PUNT_HOLD_QUORUM_MAX 16	/* = TG_POLICY_QUORUM_MAX */
#define TG_PUNT_HOLD_ID_MAX 32		/* an approval request's id */
#define TG_PUNT_TCP_GRANTS_MAX 1024	/* grants in TCP_GRANTS (= TG_GRANTS_MAX) */

/* Capabilities (HELLO, HELLO_ACK); bits not defined here are ignored. */
#define TG_PUNT_CAP_STATS (1ull << 0)	/* dp: answers STATS_REQUEST */
#define TG_PUNT_CAP_POLICY (1ull << 1)	/* dp: takes policy generations (JSON + databases), sends SERVICES */
#define TG_PUNT_CAP_SESSIONS (1ull << 2)	/* dp: answers SESSIONS_REQUEST */
#define TG_PUNT_CAP_AUTH (1ull << 3)	/* dp: takes over identity logins; sp: answers them */
#define TG_PUNT_CAP_AUDIT_STATE (1ull << 4)	/* dp: refuses statements on AUDIT_STATE full; sp: sends it */
#define TG_PUNT_CAP_HOLD (1ull << 5)	/* dp: parks statements of hold rules; sp: decides them */
#define TG_PUNT_CAP_TCP_GRANTS (1ull << 6)	/* dp: states tcp services, takes tcp grants */
#define TG_PUNT_CAP_RECORD (1ull << 7)	/* dp: sends RECORD events; sp: takes them */

/* X(enum suffix, code, name, sender role) */
#define TG_PUNT_TYPES(X) \
	X(HELLO, 1, "hello", TG_PUNT_ROLE_DATAPLANE) \
	X(HELLO_ACK, 2, "hello_ack", TG_PUNT_ROLE_SLOWPATH) \
	X(EVENT_BATCH, 3, "event_batch", TG_PUNT_ROLE_DATAPLANE) \
	X(BATCH_ACK, 4, "batch_ack", TG_PUNT_ROLE_SLOWPATH) \
	X(POLICY_GEN, 5, "policy_gen", TG_PUNT_ROLE_SLOWPATH) \
	X(POLICY_ACK, 6, "policy_ack", TG_PUNT_ROLE_DATAPLANE) \
	X(STATS_REQUEST, 7, "stats_request", TG_PUNT_ROLE_SLOWPATH) \
	X(STATS_RESPONSE, 8, "stats_response", TG_PUNT_ROLE_DATAPLANE) \
	X(SERVICES, 9, "services", TG_PUNT_ROLE_DATAPLANE) \
	X(SESSIONS_REQUEST, 10, "sessions_request", TG_PUNT_ROLE_SLOWPATH) \
	X(SESSIONS_RESPONSE, 11, "sessions_response", TG_PUNT_ROLE_DATAPLANE) \
	X(AUTH_REQUEST, 12, "auth_request", TG_PUNT_ROLE_DATAPLANE) \
	X(AUTH_SERVER, 13, "auth_server", TG_PUNT_ROLE_DATAPLANE) \
	X(AUTH_REPLY, 14, "auth_reply", TG_PUNT_ROLE_SLOWPATH) \
	X(AUDIT_STATE, 15, "audit_state", TG_PUNT_ROLE_SLOWPATH) \
	X(HOLD_REQUEST, 16, "hold_request", TG_PUNT_ROLE_DATAPLANE) \
	X(HOLD_REPLY, 17, "hold_reply", TG_PUNT_ROLE_SLOWPATH) \
	X(TCP_GRANTS, 18, "tcp_grants", TG_PUNT_ROLE_SLOWPATH) \
	X(TCP_SERVICES, 19, "tcp_services", TG_PUNT_ROLE_DATAPLANE)

enum tg_punt_type {
#define TG_PUNT_T_ENUM(e, c, n, r) TG_PUNT_T_##e = c,
	TG_PUNT_TYPES(TG_PUNT_T_ENUM)
#undef TG_PUNT_T_ENUM
	TG_PUNT_T_MAX
};

enum tg_punt_role {
	TG_PUNT_ROLE_NONE = 0,		/* tg_punt_type_sender() of an unknown type */
	TG_PUNT_ROLE_DATAPLANE = 1,
	TG_PUNT_ROLE_SLOWPATH = 2,
};

/*
 * Why a datagram, an object or a handshake was refused.
 * X(enum suffix, counter name, description)
 */
#define TG_PUNT_ERRORS(X) \
	X(SHORT, "short", "datagram shorter than the header") \
	X(TOO_BIG, "too_big", "datagram longer than TG_PUNT_MSG_MAX") \
	X(MAGIC, "magic", "header magic wrong") \
	X(LENGTH, "length", "header length differs from the datagram's") \
	X(TYPE, "type", "unknown message type") \
	X(VERSION, "version", "header version not spoken here (HELLO, HELLO_ACK: not 1)") \
	X(FLAGS, "flags", "a flag bit not defined is set") \
	X(SEQ, "seq", "header sequence number zero") \
	X(TRUNC, "trunc", "a field runs past the end of its message, event or TLV") \
	X(TRAILING, "trailing", "bytes after the last field") \
	X(EVENT_TYPE, "event_type", "unknown event type") \
	X(EVENT_LEN, "event_len", "event length differs from its fields") \
	X(COUNT, "count", "a count is zero where entries are needed, or over its cap") \
	X(STR_LEN, "str_len", "string or value longer than its cap") \
	X(STR_NUL, "str_nul", "string holds a NUL byte") \
	X(VALUE, "value", "field value outside its range") \
	X(ORDER, "order", "entries not ascending, or repeated") \
	X(TLV_TYPE, "tlv_type", "unknown policy TLV type") \
	X(TLV_MISSING, "tlv_missing", "required policy TLV absent") \
	X(POLICY_CHUNK, "policy_chunk", "policy chunk outside its object, or object over the cap") \
	X(POLICY_ORDER, "policy_order", "policy chunk out of sequence") \
	X(HELLO_REFUSED, "hello_refused", "the peer refused the hello") \
	X(HELLO_ROLE, "hello_role", "the peer states the wrong role") \
	X(HELLO_VERSION, "hello_version", "no common version, or one outside the range offered")

enum tg_punt_err {
	TG_PUNT_OK = 0,
#define TG_PUNT_ERR_ENUM(e, n, d) TG_PUNT_ERR_##e,
	TG_PUNT_ERRORS(TG_PUNT_ERR_ENUM)
#undef TG_PUNT_ERR_ENUM
	TG_PUNT_ERR_MAX
};

extern const char *const tg_punt_err_names[TG_PUNT_ERR_MAX];
extern const char *const tg_punt_err_descs[TG_PUNT_ERR_MAX];

/* HELLO_ACK status and refusal codes */
enum tg_punt_hello_status {
	TG_PUNT_HELLO_ACCEPT = 0,
	TG_PUNT_HELLO_REFUSE = 1,
};

enum tg_punt_refuse {
	TG_PUNT_REFUSE_NONE = 0,	/* with ACCEPT only */
	TG_PUNT_REFUSE_VERSION = 1,	/* no version in common */
	TG_PUNT_REFUSE_ROLE = 2,	/* the peer has the answerer's role, or none */
	TG_PUNT_REFUSE_MAX
};

/* Event types */
enum tg_punt_ev_type {
	TG_PUNT_EV_STATEMENT = 1,
	TG_PUNT_EV_SESSION_START = 2,
	TG_PUNT_EV_SESSION_END = 3,
	TG_PUNT_EV_STATEMENT_BEGIN = 4,
	TG_PUNT_EV_LOST = 5,
	/* tcp flows of grant-requiring services (TCP GRANTS above) */
	TG_PUNT_EV_FLOW_START = 8,
	TG_PUNT_EV_FLOW_END = 9,
	TG_PUNT_EV_FLOW_REFUSED = 10,
	TG_PUNT_EV_MAX
};

#define TG_PUNT_EV_IS_FLOW(t) ((t) >= TG_PUNT_EV_FLOW_START && (t) <= TG_PUNT_EV_FLOW_REFUSED)

/* A known event type: the codes are not contiguous (6 and 7 are not defined). */
#define TG_PUNT_EV_KNOWN(t) \
	(((t) >= TG_PUNT_EV_STATEMENT && (t) <= TG_PUNT_EV_LOST) || \
	 ((t) >= TG_PUNT_EV_FLOW_START && (t) <= TG_PUNT_EV_FLOW_REFUSED))

#define TG_PUNT_EV_F_TEXT_CUT 0x01	/* statement text longer on the wire than sent */
#define TG_PUNT_EV_F_STRICT 0x02	/* STATEMENT_BEGIN: held until durable, commit now */
#define TG_PUNT_EV_HAS_TEXT(t) ((t) == TG_PUNT_EV_STATEMENT || (t) == TG_PUNT_EV_STATEMENT_BEGIN)
#define TG_PUNT_EV_RECORD 20		/* a piece of a session's recording */
#define TG_PUNT_EV_VALID(t) (TG_PUNT_EV_KNOWN(t) || (t) == TG_PUNT_EV_RECORD)
#define TG_PUNT_RECORD_MAX 1536		/* bytes of recording in one RECORD event */

/* = enum tg_inspect_stmt_kind */
enum tg_punt_stmt_kind {
	TG_PUNT_STMT_QUERY = 0,
	TG_PUNT_STMT_EXECUTE = 1,
	TG_PUNT_STMT_FCALL = 2,
	TG_PUNT_STMT_MAX
};

/* = enum tg_cmd_action */
enum tg_punt_verdict {
	TG_PUNT_VERDICT_ALLOW = 0,
	TG_PUNT_VERDICT_LOG = 1,
	TG_PUNT_VERDICT_BLOCK = 2,
	TG_PUNT_VERDICT_HOLD = 3,	/* held for approval: result says how it ended */
	TG_PUNT_VERDICT_MAX
};

/* = enum tg_inspect_result */
enum tg_punt_result {
	TG_PUNT_RESULT_OK = 0,
	TG_PUNT_RESULT_ERROR = 1,
	TG_PUNT_RESULT_SUSPENDED = 2,
	TG_PUNT_RESULT_UNFINISHED = 3,
	TG_PUNT_RESULT_NOT_RUN = 4,
	TG_PUNT_RESULT_MAX
};

/* Why a session ended (SESSION_END) */
enum tg_punt_end_reason {
	TG_PUNT_END_CLOSED = 1,		/* FIN both ways */
	TG_PUNT_END_RESET = 2,		/* RST from either end */
	TG_PUNT_END_FAILED = 3,		/* failed closed or blocked by reset, by the gateway */
	TG_PUNT_END_EXPIRED = 4,	/* idle timeout or evicted */
	TG_PUNT_END_SHUTDOWN = 5,	/* the dataplane stopped */
	TG_PUNT_END_GRANT_ENDED = 6,	/* FLOW_END: its grant ended, on_grant_expiry "end" */
	TG_PUNT_END_MAX
};

/* Why a new tcp flow was refused (FLOW_REFUSED) */
enum tg_punt_refusal {
	TG_PUNT_REFUSAL_NO_GRANT = 1,	/* no live grant covers the client's address */
	TG_PUNT_REFUSAL_SLOWPATH_DOWN = 2,	/* the slowpath is away, on_slowpath_down refuse */
	TG_PUNT_REFUSAL_UNKNOWN = 3,	/* no TCP_GRANTS yet: is a grant needed? */
	TG_PUNT_REFUSAL_MAX
};

#define TG_PUNT_TCPG_F_END 0x01		/* TCP_GRANTS service: on_grant_expiry "end" */

/* Detector kinds, = enum tg_detect_kind (0 is none). X(enum suffix, code, name) */
#define TG_PUNT_DETECT_KINDS(X) \
	X(CARD, 1, "card") \
	X(IBAN, 2, "iban") \
	X(EMAIL, 3, "email") \
	X(SSN, 4, "ssn") \
	X(PHONE, 5, "phone") \
	X(REGEX, 6, "regex") \
	X(AWS_KEY, 7, "aws_access_key") \
	X(JWT, 8, "jwt") \
	X(PRIVATE_KEY, 9, "private_key")

enum tg_punt_detect_kind {
	TG_PUNT_DETECT_NONE = 0,
#define TG_PUNT_DETECT_ENUM(e, c, n) TG_PUNT_DETECT_##e = c,
	TG_PUNT_DETECT_KINDS(TG_PUNT_DETECT_ENUM)
#undef TG_PUNT_DETECT_ENUM
	TG_PUNT_DETECT_MAX
};

extern const char *const tg_punt_detect_names[TG_PUNT_DETECT_MAX];

/* Policy object TLV types */
enum tg_punt_pol_tlv {
	TG_PUNT_POL_JSON = 1,		/* the policy's JSON text, required */
	TG_PUNT_POL_DB = 2,		/* its serialised databases (TG_PUNT_CAP_POLICY) */
};

/* POLICY_ACK status */
enum tg_punt_policy_status {
	TG_PUNT_POLICY_APPLIED = 0,
	TG_PUNT_POLICY_REFUSED = 1,
};

/* SESSIONS_REQUEST kinds */
enum tg_punt_sess_kind {
	TG_PUNT_SESS_LIST = 1,		/* live postgres sessions */
	TG_PUNT_SESS_FLOWS = 2,		/* every tracked flow */
	TG_PUNT_SESS_KILL = 3,		/* reset one session both ways */
	TG_PUNT_SESS_KIND_MAX
};

/* SESSIONS_RESPONSE status */
enum tg_punt_sess_status {
	TG_PUNT_SESS_OK = 0,
	TG_PUNT_SESS_NOT_FOUND = 1,
	TG_PUNT_SESS_BUSY = 2,
	TG_PUNT_SESS_STATUS_MAX
};

#define TG_PUNT_SESS_F_PG 0x01		/* entry: an inspected postgres session */

/* AUTH_REPLY actions */
enum tg_punt_auth_action {
	TG_PUNT_AUTH_SEND = 1,		/* data to the server */
	TG_PUNT_AUTH_DONE = 2,		/* AuthenticationOk onwards to the client */
	TG_PUNT_AUTH_REFUSE = 3,	/* FATAL to the client, then reset */
	TG_PUNT_AUTH_END = 4,		/* a running session: FATAL, then reset */
	TG_PUNT_AUTH_ACTION_MAX
};

/* HOLD_REQUEST operations */
enum tg_punt_hold_op {
	TG_PUNT_HOLD_ASK = 1,		/* a statement is parked: ask for approval */
	TG_PUNT_HOLD_CANCEL = 2,	/* the session ended, or the dataplane gave up on it */
	TG_PUNT_HOLD_OP_MAX
};

/* HOLD_REPLY decisions */
enum tg_punt_hold_decision {
	TG_PUNT_HOLD_APPROVE = 1,	/* the statement goes to the server */
	TG_PUNT_HOLD_DENY = 2,		/* the client gets an ErrorResponse; the session goes on */
	TG_PUNT_HOLD_DECISION_MAX
};

/* AUDIT_STATE states */
enum tg_punt_audit_state_code {
	TG_PUNT_AUDIT_OK = 0,		/* statements run */
	TG_PUNT_AUDIT_FULL = 1,		/* the audit store is full: new statements are refused */
	TG_PUNT_AUDIT_STATE_MAX
};

/* = enum tg_tcp_state (tcp.h). X(enum suffix, code, name) */
#define TG_PUNT_TCP_STATES(X) \
	X(NONE, 0, "none") \
	X(SYN_SENT, 1, "syn_sent") \
	X(SYN_RCVD, 2, "syn_rcvd") \
	X(ESTABLISHED, 3, "established") \
	X(CLOSING, 4, "closing") \
	X(CLOSED, 5, "closed")

enum tg_punt_tcp_state {
#define TG_PUNT_TCP_ENUM(e, c, n) TG_PUNT_TCP_##e = c,
	TG_PUNT_TCP_STATES(TG_PUNT_TCP_ENUM)
#undef TG_PUNT_TCP_ENUM
	TG_PUNT_TCP_MAX
};

extern const char *const tg_punt_tcp_state_names[TG_PUNT_TCP_MAX];

/* Bytes on the wire: the largest event, and the largest chunk of a policy. */
#define TG_PUNT_EVENT_MAX \
	(16 + 36 + 5 * (TG_PUNT_DETECT_MAX - 1) + 6 * (1 + TG_PUNT_NAME_MAX) + \
	 (1 + TG_PUNT_SQLSTATE_MAX) + (2 + TG_PUNT_TEXT_MAX) + (2 + TG_PUNT_PARAMS_MAX))
#define TG_PUNT_POLICY_CHUNK_MAX (TG_PUNT_MSG_MAX - TG_PUNT_HDR_LEN - 20)

/* A string in a datagram: len bytes at p, no terminator. */
struct tg_punt_str {
	const char *p;
	uint32_t len;
};

struct tg_punt_hdr {
	uint16_t version;
	uint16_t type;		/* enum tg_punt_type */
	uint32_t flags;
	uint32_t length;
	uint64_t seq;
};

struct tg_punt_hello {
	uint8_t role;		/* enum tg_punt_role */
	uint16_t vmin, vmax;	/* 1 <= vmin <= vmax */
	uint64_t instance;	/* not 0 */
	uint64_t caps;		/* TG_PUNT_CAP_* */
	struct tg_punt_str software;	/* "tollgate 0.1.0", for the logs */
};

struct tg_punt_hello_ack {
	uint8_t role;
	uint8_t status;		/* enum tg_punt_hello_status */
	uint8_t refuse;		/* enum tg_punt_refuse: NONE if accepted */
	uint16_t version;	/* chosen, in [vmin, vmax]; 0 if refused */
	uint16_t vmin, vmax;	/* the answerer's */
	uint64_t instance;
	uint64_t caps;
	struct tg_punt_str software;
	struct tg_punt_str reason;	/* refused: why, for the logs; accepted: empty */
};

/*
 * One event. Fields a type does not carry are zero (decoded) or ignored
 * (encoded); see the layouts above.
 */
struct tg_punt_event {
	uint64_t seq;		/* decoded: first_seq + index; ignored by the encoder */
	uint8_t type;		/* enum tg_punt_ev_type */
	uint16_t worker;
	uint16_t service;
	uint64_t session;	/* the worker's session id */
	uint64_t t_start_ns, t_end_ns;	/* SESSION_START: t_start only */
	struct tg_punt_str service_name, client;	/* every type; client "addr:port" */
	struct tg_punt_str server;			/* SESSION_START */
	struct tg_punt_str user, database, application;	/* STATEMENT, SESSION_START */
	/* STATEMENT */
	uint8_t kind;		/* enum tg_punt_stmt_kind */
	uint8_t verdict;	/* enum tg_punt_verdict */
	uint8_t result;		/* enum tg_punt_result */
	bool text_cut;
	bool strict;		/* STATEMENT_BEGIN: TG_PUNT_EV_F_STRICT */
	uint32_t masked[TG_PUNT_DETECT_MAX];	/* values masked, by detector kind; [0] is 0 */
	uint32_t masked_columns;
	uint64_t rows;
	struct tg_punt_str rule;	/* empty: the default */
	struct tg_punt_str sqlstate;	/* empty, or the server's code */
	struct tg_punt_str text, params;
	uint32_t stmt;		/* STATEMENT, STATEMENT_BEGIN: the session's statement number, not 0 */
	/* SESSION_END */
	uint8_t end_reason;	/* enum tg_punt_end_reason */
	/* LOST */
	uint64_t lost;		/* not 0 */
	/* FLOW_START, FLOW_END: the grant's id (not 0); FLOW_END: counts, up is client to server */
	uint64_t grant;
	uint64_t bytes_up, bytes_down, pkts_up, pkts_down;
	/* FLOW_REFUSED */
	uint8_t refusal;	/* enum tg_punt_refusal */
	/* RECORD */
	uint32_t piece;
	const uint8_t *rec;	/* rec_len bytes, 1..TG_PUNT_RECORD_MAX */
	uint16_t rec_len;
};

/* Over entries already validated by tg_punt_decode(). */
struct tg_punt_iter {
	const uint8_t *p;
	uint32_t left;		/* bytes */
	uint16_t n;		/* entries */
	uint64_t seq;		/* of the next event */
};

struct tg_punt_batch {
	uint64_t first_seq;	/* not 0 */
	uint16_t count;		/* 1..TG_PUNT_BATCH_MAX */
	struct tg_punt_iter events;
};

struct tg_punt_policy_chunk {
	uint64_t gen;		/* not 0 */
	uint32_t total;		/* object bytes, 1..TG_PUNT_POLICY_MAX */
	uint32_t offset;
	uint32_t len;		/* at least 1; offset + len <= total */
	const uint8_t *data;
};

struct tg_punt_policy_ack {
	uint64_t gen;
	uint8_t status;		/* enum tg_punt_policy_status */
	struct tg_punt_str reason;	/* refused: not empty; applied: empty */
};

struct tg_punt_stats {
	uint64_t in_reply_to;	/* seq of the STATS_REQUEST */
	uint16_t count;		/* 0..TG_PUNT_STATS_MAX */
	bool last;
	struct tg_punt_iter pairs;
};

struct tg_punt_sess_request {
	uint8_t kind;		/* enum tg_punt_sess_kind */
	uint16_t worker;	/* TG_PUNT_SESS_ANY_WORKER: all */
	uint64_t session;	/* 0: any (LIST, FLOWS); KILL: not 0 */
	uint32_t limit;		/* 1..TG_PUNT_SESS_LIMIT_MAX */
	struct tg_punt_str service;	/* empty: any */
};

/* One SESSIONS_RESPONSE entry; the pg fields are zero or empty without TG_PUNT_SESS_F_PG. */
struct tg_punt_sess {
	bool pg;
	uint16_t worker;
	uint64_t session;
	uint8_t tcp_state;	/* enum tg_punt_tcp_state */
	uint64_t t_start_ns;
	uint64_t bytes_up, bytes_down;
	uint32_t stmts;
	struct tg_punt_str service, client, server;
	struct tg_punt_str user, database, application;
};

struct tg_punt_sess_response {
	uint64_t in_reply_to;	/* seq of the SESSIONS_REQUEST */
	uint8_t status;		/* enum tg_punt_sess_status */
	uint16_t count;
	bool last;
	struct tg_punt_iter entries;
};

/* Bytes in a datagram: len bytes at p (NULL when len is 0), any values. */
struct tg_punt_bytes {
	const uint8_t *p;
	uint32_t len;
};

/* AUTH_REQUEST, AUTH_SERVER and AUTH_REPLY; the fields a type does not carry are empty. */
struct tg_punt_auth {
	uint16_t worker;
	uint64_t session;	/* not 0 */
	/* AUTH_REQUEST */
	struct tg_punt_str service, client, server;	/* service not empty */
	struct tg_punt_bytes startup, token;
	/* AUTH_SERVER: message; AUTH_REPLY SEND: data */
	struct tg_punt_bytes data;
	/* AUTH_REPLY */
	uint8_t action;		/* enum tg_punt_auth_action */
	struct tg_punt_str sqlstate;	/* REFUSE, END: five characters */
	struct tg_punt_str text;	/* REFUSE, END: not empty, <= TG_PUNT_REASON_MAX */
	struct tg_punt_str role;	/* DONE: not empty */
};

/* HOLD_REQUEST, HOLD_REPLY: see HOLD above */
struct tg_punt_hold {
	uint16_t worker;
	uint64_t session;	/* not 0 */
	uint32_t hold;		/* the session's statement number, not 0 */
	uint8_t op;		/* HOLD_REQUEST: enum tg_punt_hold_op */
	/* HOLD_REQUEST ASK */
	uint8_t kind;		/* enum tg_punt_stmt_kind */
	uint8_t quorum;		/* 1..TG_PUNT_HOLD_QUORUM_MAX */
	uint8_t self_approval;	/* 0 or 1 */
	uint32_t timeout_s;	/* not 0 */
	uint64_t t_ns;		/* CLOCK_REALTIME ns: when it was parked */
	struct tg_punt_str service, rule, approvers;	/* service and rule not empty */
	struct tg_punt_str client, server, user, database;
	struct tg_punt_str text, params;	/* masked */
	/* HOLD_REQUEST CANCEL: reason; HOLD_REPLY */
	uint8_t decision;	/* HOLD_REPLY: enum tg_punt_hold_decision */
	struct tg_punt_str id;	/* HOLD_REPLY: the approval request's id, not empty */
	struct tg_punt_str sqlstate;	/* DENY: five characters */
	struct tg_punt_str reason;	/* DENY: not empty; CANCEL: not empty; printable */
};

struct tg_punt_audit_state {
	uint8_t state;		/* enum tg_punt_audit_state_code */
	struct tg_punt_str reason;	/* FULL: not empty; printable ASCII */
};

struct tg_punt_services {
	uint16_t count;		/* 1..TG_PUNT_SERVICES_MAX */
	struct tg_punt_str name[TG_PUNT_SERVICES_MAX];
};

/* A TCP_GRANTS service: a name and TG_PUNT_TCPG_F_* flags. */
struct tg_punt_tcpg_svc {
	struct tg_punt_str name;
	uint8_t flags;
};

/* One TCP_GRANTS grant. */
struct tg_punt_tcp_grant {
	uint64_t id;		/* not 0 */
	uint8_t svc;		/* index into the message's services */
	uint8_t family;		/* 4 or 6 */
	uint8_t prefix;		/* 0..32 or 0..128 */
	uint8_t addr[16];	/* network order, the first 4 for IPv4; host bits zero */
	uint64_t expires;	/* Unix seconds */
};

/* TCP_GRANTS. Decoded: entries iterates the grants; encoded: list holds count of them. */
struct tg_punt_tcp_grants {
	uint64_t gen;		/* not 0 */
	uint8_t nsvc;		/* 0..TG_PUNT_SERVICES_MAX */
	struct tg_punt_tcpg_svc svc[TG_PUNT_SERVICES_MAX];
	uint16_t count;		/* 0..TG_PUNT_TCP_GRANTS_MAX */
	struct tg_punt_iter entries;
	const struct tg_punt_tcp_grant *list;
};

struct tg_punt_msg {
	struct tg_punt_hdr hdr;
	union {
		struct tg_punt_hello hello;
		struct tg_punt_hello_ack hello_ack;
		struct tg_punt_batch batch;
		uint64_t durable_seq;		/* BATCH_ACK */
		struct tg_punt_policy_chunk policy;
		struct tg_punt_policy_ack policy_ack;
		struct tg_punt_stats stats;
		struct tg_punt_services services;	/* SERVICES, TCP_SERVICES */
		struct tg_punt_tcp_grants tcpg;		/* TCP_GRANTS */
		struct tg_punt_sess_request sreq;
		struct tg_punt_sess_response sresp;
		struct tg_punt_auth auth;	/* AUTH_REQUEST, AUTH_SERVER, AUTH_REPLY */
		struct tg_punt_audit_state audit;	/* AUDIT_STATE */
		struct tg_punt_hold hold;	/* HOLD_REQUEST, HOLD_REPLY */
		/* STATS_REQUEST has no body */
	} u;
};

/* A decoded policy object: pointers into it. */
struct tg_punt_policy {
	struct tg_punt_str json;
	struct {
		const uint8_t *p;	/* NULL: absent */
		uint32_t len;
	} db;
};

/*
 * Decodes one datagram of len bytes into msg, whose strings and iterators
 * then point into buf. Reads nothing outside buf[0, len), allocates
 * nothing. Returns TG_PUNT_OK or the first reason found; msg is then
 * unspecified.
 */
enum tg_punt_err tg_punt_decode(const uint8_t *buf, size_t len, struct tg_punt_msg *msg);

/* The next event of a decoded batch into ev; false after the last. */
bool tg_punt_batch_next(struct tg_punt_iter *it, struct tg_punt_event *ev);

/* The next pair of a decoded STATS_RESPONSE; false after the last. */
bool tg_punt_stats_next(struct tg_punt_iter *it, struct tg_punt_str *name, uint64_t *value);

/* The next entry of a decoded SESSIONS_RESPONSE; false after the last. */
bool tg_punt_sess_next(struct tg_punt_iter *it, struct tg_punt_sess *s);

/* The next grant of a decoded TCP_GRANTS; false after the last. */
bool tg_punt_tcp_grant_next(struct tg_punt_iter *it, struct tg_punt_tcp_grant *g);

/* The role that sends messages of type t, or TG_PUNT_ROLE_NONE for an unknown type. */
enum tg_punt_role tg_punt_type_sender(uint16_t t);

/* The name of message type t ("hello", ...), or "unknown". */
const char *tg_punt_type_name(uint16_t t);

/*
 * Encoders write one datagram into buf[0, size) (at most TG_PUNT_MSG_MAX
 * bytes of it are used) and return its length, or -ENOSPC when it does not
 * fit, or -EINVAL when a value would not decode (seq 0, a string over its
 * cap or with a NUL, a code out of range). They write what the decoder
 * accepts and nothing else.
 */
int tg_punt_encode_hello(uint8_t *buf, size_t size, uint64_t seq, const struct tg_punt_hello *h);
int tg_punt_encode_hello_ack(uint8_t *buf, size_t size, uint64_t seq,
			     const struct tg_punt_hello_ack *a);
int tg_punt_encode_batch_ack(uint8_t *buf, size_t size, uint64_t seq, uint64_t durable_seq);
int tg_punt_encode_policy_gen(uint8_t *buf, size_t size, uint64_t seq,
			      const struct tg_punt_policy_chunk *c);
int tg_punt_encode_policy_ack(uint8_t *buf, size_t size, uint64_t seq,
			      const struct tg_punt_policy_ack *a);
int tg_punt_encode_stats_request(uint8_t *buf, size_t size, uint64_t seq);
/* SERVICES: n (1..TG_PUNT_SERVICES_MAX) distinct names of 1..TG_PUNT_NAME_MAX bytes. */
int tg_punt_encode_services(uint8_t *buf, size_t size, uint64_t seq, const char *const *names,
			    unsigned int n);

/* TCP_SERVICES: n (0..TG_PUNT_SERVICES_MAX) distinct names of 1..TG_PUNT_NAME_MAX bytes. */
int tg_punt_encode_tcp_services(uint8_t *buf, size_t size, uint64_t seq,
				const char *const *names, unsigned int n);

/*
 * TCP_GRANTS from g (gen, nsvc, svc, count, list): services ascending by
 * name, grants ascending by (svc, id), as the decoder wants.
 */
int tg_punt_encode_tcp_grants(uint8_t *buf, size_t size, uint64_t seq,
			      const struct tg_punt_tcp_grants *g);

/* SESSIONS_REQUEST: kind in range, limit 1..max, KILL with a session, service a name. */
int tg_punt_encode_sess_request(uint8_t *buf, size_t size, uint64_t seq,
				const struct tg_punt_sess_request *r);

/*
 * AUTH_REQUEST, AUTH_SERVER or AUTH_REPLY (type), with the fields of that
 * type as described above and the others empty.
 */
/* HOLD_REQUEST or HOLD_REPLY (type), checked as the decoder checks it. */
int tg_punt_encode_hold(uint8_t *buf, size_t size, uint64_t seq, uint16_t type,
			const struct tg_punt_hold *h);

int tg_punt_encode_auth(uint8_t *buf, size_t size, uint64_t seq, uint16_t type,
			const struct tg_punt_auth *a);

/* AUDIT_STATE: state in range, reason printable (no NUL), not empty when FULL. */
int tg_punt_encode_audit_state(uint8_t *buf, size_t size, uint64_t seq,
			       const struct tg_punt_audit_state *s);

/* A datagram being filled with entries: EVENT_BATCH, STATS_RESPONSE or SESSIONS_RESPONSE. */
struct tg_punt_enc {
	uint8_t *buf;
	size_t size;		/* min(caller's size, TG_PUNT_MSG_MAX) */
	size_t len;		/* bytes written */
	size_t count_off;	/* where the count goes */
	uint64_t first;		/* first_seq or in_reply_to */
	uint16_t count;
	uint16_t max;
	uint16_t type;
	uint8_t status;		/* SESSIONS_RESPONSE */
};

/*
 * EVENT_BATCH. begin() writes the header and first_seq (not 0); add()
 * appends one event, or returns -ENOSPC (the buffer or TG_PUNT_BATCH_MAX
 * is full: end this batch, send it, begin the next) or -EINVAL, and in
 * both cases leaves the batch as it was; end() completes the datagram and
 * returns its length, or -EINVAL for a batch with no event. A buffer of
 * TG_PUNT_MSG_MAX bytes always takes at least one event. In event
 * strings a NUL byte is written as '?' (see Caveats).
 */
int tg_punt_batch_begin(struct tg_punt_enc *e, uint8_t *buf, size_t size, uint64_t seq,
			uint64_t first_seq);
int tg_punt_batch_add(struct tg_punt_enc *e, const struct tg_punt_event *ev);
int tg_punt_batch_end(struct tg_punt_enc *e);

/*
 * STATS_RESPONSE, the same way: add() appends one pair (name: 1 to
 * TG_PUNT_NAME_MAX printable ASCII bytes, no space), end() sets last and
 * returns the length (a response may have no pair).
 */
int tg_punt_stats_begin(struct tg_punt_enc *e, uint8_t *buf, size_t size, uint64_t seq,
			uint64_t in_reply_to);
int tg_punt_stats_add(struct tg_punt_enc *e, const char *name, uint64_t value);
int tg_punt_stats_end(struct tg_punt_enc *e, bool last);

/*
 * SESSIONS_RESPONSE, the same way: begin() with the status, add() one
 * entry (strings capped at TG_PUNT_NAME_MAX, no NUL; -EINVAL for pg
 * fields set on an entry without pg, or any entry with a status other than
 * OK), end() sets last and returns the length.
 */
int tg_punt_sess_begin(struct tg_punt_enc *e, uint8_t *buf, size_t size, uint64_t seq,
		       uint64_t in_reply_to, uint8_t status);
int tg_punt_sess_add(struct tg_punt_enc *e, const struct tg_punt_sess *s);
int tg_punt_sess_end(struct tg_punt_enc *e, bool last);

/*
 * Policy objects. size() is the bytes encode() writes (0 if p would not
 * encode); encode() writes the object into buf and returns its length, or
 * -ENOSPC or -EINVAL (JSON empty, over TG_PUNT_POLICY_MAX or with a NUL,
 * or a db of length 0).
 * decode() reads a whole object into p, pointing into obj.
 */
size_t tg_punt_policy_size(const struct tg_punt_policy *p);
int tg_punt_policy_encode(const struct tg_punt_policy *p, uint8_t *buf, size_t size);
enum tg_punt_err tg_punt_policy_decode(const uint8_t *obj, size_t len, struct tg_punt_policy *p);

/*
 * Reassembly of a policy object from its chunks. Zero the state (or after
 * a reconnection). add() checks that c starts a generation (offset 0, and
 * none is incomplete) or continues the incomplete one (same gen and total,
 * offset where the last chunk ended), and records it; the caller allocates
 * its buffer of c->total bytes on a chunk at offset 0, and copies every
 * chunk to its offset. Returns TG_PUNT_OK or TG_PUNT_ERR_POLICY_ORDER
 * (state unchanged), or TG_PUNT_ERR_POLICY_CHUNK for a chunk that is not
 * one tg_punt_decode() accepts. done() says the object is whole.
 */
struct tg_punt_policy_rx {
	uint64_t gen;		/* 0: none started */
	uint32_t total;
	uint32_t got;
};

enum tg_punt_err tg_punt_policy_rx_add(struct tg_punt_policy_rx *rx,
				       const struct tg_punt_policy_chunk *c);
bool tg_punt_policy_rx_done(const struct tg_punt_policy_rx *rx);

/*
 * Handshake. answer() is the slowpath's: given its own statement self and
 * the peer's HELLO, it fills ack, accepting with the highest version both
 * speak, or refusing (TG_PUNT_REFUSE_ROLE if the peer's role is not the
 * other one, TG_PUNT_REFUSE_VERSION if no version is common, with a reason
 * text that is a static string). check() is the dataplane's, of the answer
 * to the HELLO it sent: TG_PUNT_OK and *version, or HELLO_REFUSED,
 * HELLO_ROLE or HELLO_VERSION (the version chosen is outside what was
 * offered).
 */
void tg_punt_hello_answer(const struct tg_punt_hello *self, const struct tg_punt_hello *peer,
			  struct tg_punt_hello_ack *ack);
enum tg_punt_err tg_punt_hello_check(const struct tg_punt_hello *sent,
				     const struct tg_punt_hello_ack *ack, uint16_t *version);

#endif /* TG_PUNT_H */
