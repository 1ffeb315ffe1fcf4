/* SPDX-License-Identifier: MIT */
/*
 * siem_format.h — one audit record as one SIEM event: OCSF JSON, CEF, ECS
 * JSON, or the record itself (JSON lines). One function per format,
 * shared by the sinks (siem.h) and `tgctl audit export`, so what a SIEM
 * receives live and what an auditor exports later are the same bytes.
 *
 * Integrity (evidence.md sections 1, 4): every event carries the record's
 * seq, its leaf hash SHA-256(0x00 || record) and the chain hash before it
 * (prev_chain), so a receiver sees a gap (a missing seq) and checks the
 * chain, C_{i+1} = SHA-256(0x02 || C_i || leaf_i), from events alone.
 * Where it fits, the record's exact bytes ride along too (OCSF
 * unmapped.tollgate.record, ECS event.original, JSON lines: the line is
 * the record), so the leaf itself can be recomputed (tools/siem-verify).
 * A log.checkpoint record's event also carries the C2SP signed note of
 * its checkpoint, when the caller has it: a SIEM that keeps it holds an
 * anchor for `tgctl audit verify --anchor`.
 *
 * Size. An event is at most size bytes (TG_SIEM_EVENT_MAX: RFC 5424
 * receivers SHOULD take 8192 octets, evidence.md 4). tg_siem_format()
 * tries trim levels in turn until one fits:
 *   0  everything; the statement cut at TG_SIEM_STATEMENT_MAX bytes
 *   1  no raw record; the statement cut at 1024 bytes, no params
 *   2  the statement cut at 128 bytes, no admin params or error text
 *   3  the integrity fields, the type, the outcome, the time: always fits
 * A cut statement carries statement_sha256 (hex SHA-256 of the whole
 * statement) and statement_truncated, so the cut text is still tied to
 * the record. Cuts fall on UTF-8 character boundaries.
 *
 * Mapping (OCSF 1.3.0, class_uid, activity_id; type_uid = class*100+act):
 *   authn.success/failure   3002 Authentication, 1 Logon
 *   session.end             3002 Authentication, 2 Logoff
 *   session.start           6005 Datastore Activity, 3 Connect
 *   db.query, db.query.begin, policy.deny
 *                           6005 Datastore Activity, 4 Query
 *                           (a blocked statement: disposition Blocked)
 *   admin.change            6003 API Activity, 3 Update (the management
 *                           API, approvals and grants included: api.operation
 *                           says which)
 *   log.checkpoint, log.gap, audit.failure, audit.full, audit.resumed
 *                           1008 Event Log Activity, 99 Other
 * CEF (ArcSight CEF 25): CEF:0|tollgate|tollgate|VER|event.type|name|sev|
 * extension, with externalId=seq, rt, suser, src, spt, dst, dpt, act,
 * outcome, reason, dvchost and cs1..cs6 (leaf, prev_chain, session or
 * checkpoint root, statement, statement hash, rule or note).
 * ECS 8.11: event.{kind,category,type,action,outcome,sequence,hash,
 * original}, user, source, destination, service, observer; the rest under
 * tollgate.*.
 *
 * Caveats:
 *   - Events are one line: JSON escapes newlines, CEF writes them as \n;
 *     JSON lines are the stored canonical bytes, which have none.
 *   - The formatters trust the record's shape only as far as they read
 *     it: a member of an unexpected type is left out, never fatal.
 */
#ifndef TG_SIEM_FORMAT_H
#define TG_SIEM_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TG_SIEM_EVENT_MAX 8192	    /* bytes, syslog header and framing included */
#define TG_SIEM_STATEMENT_MAX 4096  /* bytes of statement at trim level 0 */
#define TG_SIEM_TRIM_LEVELS 4
#define TG_SIEM_HEX (2 * 32 + 1)
#define TG_SIEM_OCSF_VERSION "1.3.0"
#define TG_SIEM_ECS_VERSION "8.11.0"

/* clang-format off */
#define TG_SIEM_FORMATS(X) \
	X(OCSF, "ocsf") \
	X(CEF, "cef") \
	X(ECS, "ecs") \
	X(JSONL, "jsonl")

enum tg_siem_format {
#define TG_SIEM_X(e, s) TG_SIEM_FMT_##e,
	TG_SIEM_FORMATS(TG_SIEM_X)
#undef TG_SIEM_X
	TG_SIEM_FMT_MAX
};
/* clang-format on */

extern const char *const tg_siem_format_names[TG_SIEM_FMT_MAX];

/* The format named s, or -1. */
int tg_siem_format_by_name(const char *s);

/* One record, parsed, with what the formatters derive from it. */
struct tg_siem_event {
	uint64_t seq;
	const char *rec; /* the stored bytes (not NUL-terminated) */
	size_t rec_len;
	json_t *obj;			 /* rec parsed; owned */
	const char *type;		 /* event.type, "" if absent */
	char leaf[TG_SIEM_HEX];		 /* hex SHA-256(0x00 || rec) */
	char prev_chain[TG_SIEM_HEX];	 /* the record's, "" if absent */
	const char *note;		 /* log.checkpoint: its signed note, or NULL */
	const char *version;		 /* the product version, for the headers */
};

/*
 * Parses rec[0..len) (record seq) into ev and hashes it. rec must stay
 * valid while ev is used. Returns 0, -EBADMSG (not a JSON object) or
 * -ENOMEM. Release with tg_siem_event_release().
 */
int tg_siem_event_init(struct tg_siem_event *ev, uint64_t seq, const char *rec, size_t len);
void tg_siem_event_release(struct tg_siem_event *ev);

/*
 * The formatters: ev as one event at trim level trim (above) into
 * buf[0..size), NUL-terminated. Return the length (without the NUL),
 * -EMSGSIZE when it does not fit, or -ENOMEM.
 */
int tg_siem_format_ocsf(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size);
int tg_siem_format_cef(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size);
int tg_siem_format_ecs(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size);
int tg_siem_format_jsonl(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size);

/*
 * ev in format fmt, at the lowest trim level that fits size; *trimmed
 * (may be NULL) gets that level. Returns the length, -EMSGSIZE (size too
 * small even for level 3) or -ENOMEM.
 */
int tg_siem_format(enum tg_siem_format fmt, const struct tg_siem_event *ev, char *buf, size_t size,
		   unsigned int *trimmed);

/*
 * CEF escaping (CEF 25, "Character encoding"): a header field escapes '\'
 * and '|' and turns CR and LF into spaces (a header is one line); an
 * extension value escapes '\' and '=' and writes CR and LF as \r and \n,
 * '|' as is. Write src[0..len) into dst[0..size) NUL-terminated; return
 * the length, or -EMSGSIZE when it does not fit.
 */
int tg_siem_cef_header_escape(char *dst, size_t size, const char *src, size_t len);
int tg_siem_cef_ext_escape(char *dst, size_t size, const char *src, size_t len);

/*
 * The longest prefix of s[0..len) of at most max bytes that ends on a
 * UTF-8 character boundary.
 */
size_t tg_siem_utf8_cut(const char *s, size_t len, size_t max);

#endif /* TG_SIEM_FORMAT_H */
