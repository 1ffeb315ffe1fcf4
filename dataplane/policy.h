/* SPDX-License-Identifier: MIT */
/*
 * policy.h — what the gateway does with the statements and results of its
 * services: command rules (allow, log, block), sensitive-value detectors
 * and column rules, loaded from JSON and compiled into Hyperscan databases
 * off the fast path.
 *
 * File (JSON; unknown keys are refused; errors say file:line:column):
 *   {
 *     "commands": {
 *       "default": "allow",                 // or "log", "block": no rule matched
 *       "rules": [
 *         { "id": "no-drop",                // [A-Za-z0-9_.-], unique, <= 63 bytes
 *           "patterns": ["\\bdrop\\s+table\\b"],   // Hyperscan (PCRE) syntax
 *           "caseless": true,               // default false
 *           "action": "block",              // "allow", "log", "block", "hold"
 *           "services": ["demo-pg"] },      // default: every service
 *         { "id": "review-deletes", "patterns": ["\\bdelete\\s+from\\b"],
 *           "caseless": true, "action": "hold",
 *           "approvers": "dba-leads",       // hold: a Unix group; default: any approver
 *           "quorum": 2,                    // hold: distinct approvers, 1..16; default 1
 *           "timeout": "10m",               // hold: "90s", "10m", "2h" or seconds; default 10m
 *           "self_approval": false }        // hold: default false
 *       ] },
 *     "detectors": [
 *       { "id": "card", "kind": "card", "mask": "last4" },
 *       { "id": "emp", "kind": "regex", "pattern": "EMP-[0-9]{6}",
 *         "caseless": false, "mask": "full", "services": ["demo-pg"] }
 *     ],
 *     "columns": [
 *       { "id": "ssn-column", "column": "ssn", "mask": "full", "services": [...] }
 *     ]
 *   }
 *
 * Command rules: a statement (Query text, Parse text) is scanned once
 * against every pattern of every rule; the first rule in file order that
 * matches and whose scope holds the service decides (firewall order, so an
 * "allow" exception goes before a broader "block"). No match: the default.
 *
 * Detectors: kind is one of tg_detect_kind_names (card, iban, email, ssn,
 * phone, ... ; "regex" takes "pattern"); mask is "full", "last4" or
 * "keep-domain". A detector's index in the array is its id in the detect
 * database.
 *
 * Columns: a result column whose name (from RowDescription) equals
 * "column", compared without case, is masked whole in every row: text
 * fields with the style, binary fields zeroed. Several rules may name the
 * same column; the first in file order whose scope holds the service wins.
 *
 * Keys and defaults. Every top-level key is optional, and {} is a valid
 * policy (allow everything, detect nothing). "commands": "default" is
 * "allow" when absent; a rule needs "id", "patterns" (1 to
 * TG_POLICY_PATTERNS_MAX non-empty strings) and "action"; "caseless"
 * (false) and "services" (every service) are optional. A detector needs
 * "id" and "kind"; "mask" is "full" when absent (fail safe); "pattern" is
 * required for "regex" and refused for a built-in; "caseless" and "utf8"
 * (HS_FLAG_UTF8 | HS_FLAG_UCP) are booleans for "regex" only; "no_dash"
 * (also nine bare digits) is a boolean for "ssn" only; a built-in kind may
 * appear once. A column rule needs "id" and "column" (1 to
 * TG_POLICY_COLUMN_MAX - 1 bytes); "mask" and "services" as for detectors.
 * "services", when given, is a non-empty array of distinct service names
 * of the configuration.
 *
 * ids are unique across the whole file (commands, detectors and columns
 * share one namespace, so a log line's id names one thing). A detector's
 * id is at most TG_DETECT_NAME_MAX - 1 bytes, since detect.c reports it.
 * At most TG_POLICY_RULES_MAX command rules, TG_DETECT_SPECS_MAX detectors
 * and TG_POLICY_RULES_MAX column rules. The action "hold" is reserved and
 * refused ("not supported yet").
 *
 * Compiled policy blob. The slowpath parses and compiles the policy; the
 * dataplane receives the JSON text and a blob of the compiled Hyperscan
 * databases (tg_policy_serialize()), and rebuilds the same policy from
 * both without compiling (tg_policy_load_compiled()): compiling takes
 * milliseconds to seconds of the control thread, deserialising a copy.
 * Big-endian, no padding, nothing optional: one policy has one encoding.
 *
 *   header, TG_POLICY_BLOB_HDR (40) bytes:
 *     magic    4  TG_POLICY_BLOB_MAGIC, "TGPB"
 *     version  2  TG_POLICY_BLOB_VERSION
 *     count    2  databases that follow, 0 to 4
 *     text    32  SHA-256 of the exact JSON text the policy was parsed from
 *   then per database, in increasing order of tag, each tag at most once:
 *     tag      1  enum tg_policy_blob_tag
 *     exprs    4  number of expressions it was compiled from
 *     list    32  SHA-256 of that expression list: per expression in
 *                 Hyperscan id order of the list, its id, its Hyperscan
 *                 flags and its length, 4 bytes each, then its bytes
 *     length   4  bytes of database that follow
 *     database    hs_serialize_database()'s output
 *   and nothing after the last.
 *
 * The loader parses the text as tg_policy_parse() does, then refuses the
 * blob unless: the header is whole, its magic and version are these, the
 * text's SHA-256 is the one in it; every database the parsed policy needs
 * is there and no other; each was compiled from the exact expression list
 * this build derives from the policy (same count, same digest: a blob of
 * another tollgate version, whose built-in detectors or flags differ, is
 * refused rather than misread); and Hyperscan accepts each (block mode,
 * its own version, this CPU, the CRC of the bytecode). Hyperscan does not
 * say how many expressions a database holds, so the count is checked
 * against the list, and detect.c checks every id Hyperscan reports
 * against its tables at scan time.
 *
 * Errors are "source:line:column: reason". Syntax errors carry jansson's
 * position and text (jansson's own duplicate-key refusal included).
 * Semantic ones point at the offending value, or at the key for an
 * unknown key, or at the object for a missing key, found in the text by
 * jsonpos.c; a duplicate id or built-in names the first one's line:column
 * too. Compile errors point at the pattern Hyperscan refused (or at the
 * built-in detector's object); one Hyperscan cannot tie to a pattern is
 * "source: reason".
 *
 * Caveats:
 * - Command patterns are compiled with HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL
 *   and no start of match: a rule only needs to know that it matched.
 *   Hyperscan refuses patterns that match the empty string ("a*") and
 *   back-references; the error points at the pattern.
 * - Statements are matched as bytes, not parsed as SQL: a comment between
 *   "DROP" and "TABLE", or a statement built inside a function (EXECUTE
 *   format(...)), gets past "\\bdrop\\s+table\\b". Rules are a guard
 *   rail over what the client sent, not a SQL firewall.
 * - A compiled policy blob is tied to the Hyperscan build and CPU that
 *   made it: hs_deserialize_database() refuses a database of another
 *   Hyperscan version, or one compiled for CPU features this host lacks
 *   (hs_compile() targets the host it runs on). The slowpath and the
 *   dataplane must run the same tollgate and libhs on the same machine;
 *   a mismatch is refused, never scanned.
 * - The blob is checked for corruption (lengths, Hyperscan's CRC of each
 *   database, its expression list), not for malice: the checks do not
 *   stop a peer that forges a database with a valid CRC, which Hyperscan
 *   would then run. It comes from the slowpath, a peer process of the
 *   same installation, not from the network.
 */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "service.h"

#define TG_POLICY_ID_MAX 64	/* bytes, NUL included */
#define TG_POLICY_COLUMN_MAX 64	/* NAMEDATALEN */
#define TG_POLICY_RULES_MAX 4096
#define TG_POLICY_PATTERNS_MAX 64	/* per command rule */
#define TG_POLICY_ALL_SERVICES UINT64_MAX
#define TG_POLICY_FILE_MAX (4u << 20)	/* bytes: tg_policy_load() refuses more */
#define TG_POLICY_DIGEST_LEN 32		/* SHA-256 */
#define TG_POLICY_GROUP_MAX 33		/* a hold's approvers group, NUL included */
#define TG_POLICY_QUORUM_MAX 16
#define TG_POLICY_HOLD_TIMEOUT_S 600	/* a hold's default timeout */
#define TG_POLICY_HOLD_TIMEOUT_MIN_S 5
#define TG_POLICY_HOLD_TIMEOUT_MAX_S 86400

#define TG_POLICY_BLOB_MAGIC 0x54475042u	/* "TGPB" */
#define TG_POLICY_BLOB_VERSION 1
#define TG_POLICY_BLOB_HDR 40		/* bytes of header */
#define TG_POLICY_BLOB_MAX (256u << 20)	/* bytes: both ends refuse more */

/* The databases of a compiled policy blob (see above), in blob order. */
enum tg_policy_blob_tag {
	TG_POLICY_BLOB_CMD = 1,		/* cmd_db */
	TG_POLICY_BLOB_DETECT,		/* det_db: TG_DETECT_HS_MAIN; + 1: LIT, + 2: LOCATE */
	TG_POLICY_BLOB_TAG_MAX = TG_POLICY_BLOB_DETECT + TG_DETECT_HS_MAX
};

enum tg_cmd_action {
	TG_ACT_ALLOW,
	TG_ACT_LOG,
	TG_ACT_BLOCK,
	TG_ACT_HOLD,	/* parked until approved (inspect.h, "Holds") */
	TG_ACT_MAX
};

extern const char *const tg_cmd_action_names[TG_ACT_MAX];

/*
 * Where in the source file a value was: for compile errors. 1-based, as
 * in the error texts; {0, 0} for a policy not parsed from text.
 */
struct tg_policy_pos {
	uint32_t line, col;
};

struct tg_cmd_pattern {
	char *expr;		/* NUL-terminated, owned */
	uint32_t rule;		/* index in cmds */
	struct tg_policy_pos pos;
};

struct tg_cmd_rule {
	char id[TG_POLICY_ID_MAX];
	uint8_t action;		/* enum tg_cmd_action */
	uint8_t caseless;
	uint64_t services;	/* bit i: service i of the config */
	/* hold only (zero otherwise) */
	char approvers[TG_POLICY_GROUP_MAX];	/* a Unix group; "": any approver */
	uint8_t quorum;		/* distinct approvers, 1..TG_POLICY_QUORUM_MAX */
	bool self_approval;	/* the requester may approve their own statement */
	uint32_t timeout_s;	/* TG_POLICY_HOLD_TIMEOUT_MIN_S..MAX_S */
};

struct tg_policy_detector {
	char id[TG_POLICY_ID_MAX];
	uint8_t kind;		/* enum tg_detect_kind */
	uint8_t style;		/* enum tg_detect_mask_style */
	uint32_t flags;		/* TG_DETECT_F_* */
	char *pattern;		/* regex only, owned */
	uint64_t services;
	struct tg_policy_pos pos;	/* regex: its "pattern"; built-in: the object */
};

struct tg_column_rule {
	char id[TG_POLICY_ID_MAX];
	char column[TG_POLICY_COLUMN_MAX];
	uint8_t style;
	uint64_t services;
};

struct tg_policy {
	uint8_t cmd_default;	/* enum tg_cmd_action */
	struct tg_cmd_rule *cmds;
	unsigned int nb_cmds;
	struct tg_cmd_pattern *patterns;
	unsigned int nb_patterns;
	struct tg_policy_detector *dets;
	unsigned int nb_dets;
	struct tg_column_rule *cols;
	unsigned int nb_cols;
	/*
	 * SHA-256 of text[0..len) of tg_policy_parse(): what a compiled
	 * policy blob is tied to. Zeros for a policy not parsed from text.
	 */
	uint8_t text_sha256[TG_POLICY_DIGEST_LEN];
	/* set by tg_policy_compile() or tg_policy_load_compiled() */
	void *cmd_db;			/* hs_database_t, NULL when there is no pattern */
	struct tg_detect_db *det_db;	/* NULL when there is no detector */
};

/*
 * Parses and validates a policy from text[0..len) into a new policy
 * (nothing compiled), with the SHA-256 of text[0..len) in text_sha256
 * (~4 ns a byte). source names the text in errors (NULL: "policy").
 * Service names are resolved against svcs (NULL: any name is refused).
 * Returns 0, or -EINVAL with "source:line:column: reason" in err, or
 * -ENOMEM; *out is NULL on error. err may be NULL.
 */
int tg_policy_parse(const char *text, size_t len, const char *source,
		    const struct tg_services *svcs, struct tg_policy **out, char *err,
		    size_t errlen);

/*
 * Builds the Hyperscan databases: cmd_db when there is a command rule,
 * det_db when there is a detector. Off the fast path (milliseconds and
 * more). Returns 0, -EINVAL with "source:line:column: reason" at the
 * refused pattern's position, -ENOMEM, or -EALREADY when p is compiled
 * already. On error p is left as it was, uncompiled.
 */
int tg_policy_compile(struct tg_policy *p, const char *source, char *err, size_t errlen);

/*
 * Reads, parses and compiles a file of at most TG_POLICY_FILE_MAX bytes;
 * errors name it as the source. Returns 0, the errors of parse and
 * compile, -EFBIG for a larger file, or the -errno of opening or reading
 * it ("path: reason").
 */
int tg_policy_load(const char *path, const struct tg_services *svcs, struct tg_policy **out,
		   char *err, size_t errlen);

/*
 * Serialises the Hyperscan databases of compiled policy p into a new blob
 * (format above) of *len bytes; free it with free(). Off the fast path: a
 * copy of each database. Returns 0, -EINVAL ("policy blob: not
 * compiled"), -ENOMEM, -EFBIG (more than TG_POLICY_BLOB_MAX bytes) or
 * -EIO (Hyperscan refused to serialise); err says why, prefixed "policy
 * blob: ". On error *blob is NULL and *len 0. A policy with neither
 * command rule nor detector ({}) gives a header alone.
 */
int tg_policy_serialize(const struct tg_policy *p, uint8_t **blob, size_t *len, char *err,
			size_t errlen);

/*
 * tg_policy_parse() of text[0..len), then, instead of compiling, the
 * databases from blob[0..bloblen) (tg_policy_serialize() of the same
 * text's policy): the policy is then exactly what tg_policy_compile()
 * would have made it, ready for tg_policy_scratch_alloc(). No Hyperscan
 * compilation; hs_expression_info() per detector expression (microseconds
 * each) to rebuild detect.c's tables. Returns 0, the errors of parse,
 * -EINVAL with "source: policy blob: reason" for a blob that does not
 * belong to this text or this build or is corrupt (see above), or
 * -ENOMEM. On error *out is NULL and nothing is kept.
 */
int tg_policy_load_compiled(const char *text, size_t len, const char *source,
			    const struct tg_services *svcs, const uint8_t *blob, size_t bloblen,
			    struct tg_policy **out, char *err, size_t errlen);

void tg_policy_free(struct tg_policy *p);

/*
 * Per-worker scan state for a compiled policy, valid for that policy only:
 * Hyperscan scratch for each database and the matched-rule bitmap, so
 * that tg_policy_match_cmd() allocates nothing. NULL with errno set on
 * failure (EINVAL: p is not compiled).
 */
struct tg_policy_scratch;
struct tg_policy_scratch *tg_policy_scratch_alloc(const struct tg_policy *p);
void tg_policy_scratch_free(struct tg_policy_scratch *s);
/* The detect scratch inside, or NULL when the policy has no detector. */
struct tg_detect_scratch *tg_policy_detect_scratch(struct tg_policy_scratch *s);

/*
 * The command rules of service svc whose patterns match text[0..len), in
 * file order: writes up to max rule indices to rules and returns how many
 * matched (which may exceed max), or -EIO on a Hyperscan error, or
 * -EINVAL when s was not allocated for p (or p is not compiled). rules[0]
 * decides; none: p->cmd_default. len may be 0. No allocation; s must not
 * be used by two threads at once.
 */
int tg_policy_match_cmd(const struct tg_policy *p, struct tg_policy_scratch *s,
			const char *text, uint32_t len, uint16_t svc, uint32_t *rules,
			unsigned int max);

/* The column rule of service svc for a column name (not NUL-terminated), or NULL. */
const struct tg_column_rule *tg_policy_column(const struct tg_policy *p, const char *name,
					      uint32_t len, uint16_t svc);

#endif /* TG_POLICY_H */
