/* SPDX-License-Identifier: MIT */
/*
 * detect.h — sensitive-value detectors over result fields: card numbers,
 * IBANs, e-mail addresses, US SSNs, phone numbers, AWS access key ids,
 * JSON Web Tokens, PEM private keys and user regexes, found with
 * Hyperscan and confirmed in C, then masked in place.
 *
 * Design. tg_detect_compile() runs off the fast path (slowpath or control
 * thread) and builds one Hyperscan block-mode database, the prefilter, over
 * every enabled detector, plus, for the AWS key, JWT and private key
 * detectors, a second one of pure literals (see tg_detect_compile() for
 * why). No pattern in either carries HS_FLAG_SOM_LEFTMOST: tracking the
 * start of match cost 4x the scan on this project's row text
 * (notes/measured.md), so Hyperscan only reports end offsets. Each built-in
 * pattern is a short trigger that every true value must contain (e.g. for
 * cards, thirteen digits with optional single separators between them;
 * for a JWT, the ".eyJ" that starts its payload; for a private key, its
 * PEM header line); the C confirmer then walks from the reported end over
 * the detector's character class to find the whole candidate, validates it
 * (Luhn, ISO 7064 mod-97 and the country's length, the SSA rules, e-mail
 * and phone structure, the key id's alphabet and word boundaries, the
 * JWT's decoded header, the PEM footer) and records [start, end). Workers
 * each own a scratch (tg_detect_scratch_alloc() once,
 * tg_detect_scratch_clone() for the rest, as Suricata does with
 * hs_clone_scratch()); the databases are read-only and shared.
 *
 * tg_detect_scan() returns confirmed matches sorted by start, with
 * overlapping ones merged, so tg_detect_mask() can rewrite them in place
 * without changing any length: the PostgreSQL message lengths around a
 * masked field stay valid.
 *
 * Cost (measured by tools/bench/detect; see the figures there): the
 * Hyperscan pass dominates, a few cycles per byte. Confirmation costs
 * nothing on bytes that fire no trigger; a candidate run costs O(its
 * length x 19) once however many end offsets Hyperscan reports inside it.
 * A JWT costs a walk over its three segments and a base64url decode of its
 * header; a private key a search for its footer, at most once per byte of
 * the buffer per PEM label however many headers it holds. The triggers of
 * those three are literals ("AKIA", ".eyJ", "-----BEGIN RSA PRIVATE
 * KEY-----") that row text without such values seldom contains; their
 * database costs a second hs_scan() call per buffer long enough for them:
 * on the bench corpus, which holds none, ~2% per 1460-byte block and ~6 ns
 * per field of 8-64 bytes. Buffers shorter than the shortest possible
 * match are not scanned at all, which is most short fields (numbers,
 * flags, dates).
 *
 * Caveats:
 * - Block mode: a value split across two scans is not found. The caller
 *   scans whole fields (DataRow columns), not segments.
 * - The built-ins read ASCII: full-width digits, non-ASCII e-mail
 *   addresses (RFC 6531), quoted local parts and IP-literal domains are not
 *   detected. Lower-case IBANs are not detected.
 * - IBANs are accepted only for the countries in the length table of
 *   detect.c (89 countries of the SWIFT registry); add a row for another.
 * - AWS: only the prefixes of credentials are detected: AKIA (access key),
 *   ASIA (temporary STS key), ABIA (STS service bearer token), ACCA
 *   (context-specific credential). The IAM unique ids (AIDA user, AROA
 *   role, AGPA group, AIPA instance profile, ANPA and ANVA policies, APKA
 *   public key, ASCA certificate) name principals, authenticate nothing and
 *   fill ARNs, policies and logs: they are not sensitive values. The
 *   secret access key (40 bytes of base64, no prefix) is not detected: it
 *   cannot be told from other base64; use a column rule.
 * - JWT: compact JWS only (RFC 7515 7.1), header and payload both JSON
 *   objects whose encoding starts "eyJ" ('{"': no whitespace before the
 *   first key); JWE (five segments) and JSON serialisations are not
 *   detected. The header must decode to an object with an "alg" member;
 *   a signature segment shorter than 16 characters (empty included) is
 *   accepted only with alg "none", in any case. The match is the whole
 *   token, dots included. A header that is not valid JSON but holds
 *   "alg": "..." passes: the check is a filter, not a parser.
 * - Private keys: the PEM labels PRIVATE KEY, RSA, EC, DSA, OPENSSH and
 *   ENCRYPTED PRIVATE KEY (RFC 7468, OpenSSL, OpenSSH) and PGP PRIVATE KEY
 *   BLOCK (RFC 4880 6.2). The match runs from the header through the first
 *   footer of the same label after it, or, with none in the buffer, to
 *   the end of the buffer: the body follows the header, so the rest of the
 *   field is masked (fail closed). A field holding a header but cut before
 *   its footer is thus masked to its end; a key split over two fields is
 *   found in the first only. Headers with other dash counts or spacing
 *   (e.g. "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----") are not detected.
 * - North-American numbers need a separator or parentheses ("415-555-2671",
 *   "(415) 555-2671") or the +1 prefix: ten bare digits are too often
 *   something else (order numbers, timestamps).
 * - Overlapping matches of different detectors merge into one match that
 *   carries the id of the longest constituent; its mask style is then that
 *   detector's (a card number inside a longer IBAN is masked as the IBAN).
 * - Variable-width user regexes cost a second Hyperscan pass, with start
 *   of match tracking, over the buffers in which one of them matched (see
 *   tg_detect_compile()).
 * - More merged matches than the caller's array holds is -ENOSPC: the
 *   caller must then treat the whole field as sensitive (fail closed).
 * - TG_DETECT_F_UTF8 regexes over bytes that are not valid UTF-8 give the
 *   results Hyperscan gives them: undefined, in its own words (matches may
 *   be missed). Text fields of a UTF8-encoded PostgreSQL database are
 *   valid UTF-8: the server checks its input.
 */
#ifndef TG_DETECT_H
#define TG_DETECT_H

#include <stddef.h>
#include <stdint.h>

/*
 * X(enum suffix, name): the detector kinds. New kinds go at the end, so
 * the values of the existing ones do not change; the policy refers to
 * kinds by name.
 */
#define TG_DETECT_KINDS(X) \
	X(CARD, "card") \
	X(IBAN, "iban") \
	X(EMAIL, "email") \
	X(SSN, "ssn") \
	X(PHONE, "phone") \
	X(REGEX, "regex") \
	X(AWS_KEY, "aws_access_key") \
	X(JWT, "jwt") \
	X(PRIVATE_KEY, "private_key")

enum tg_detect_kind {
	TG_DETECT_NONE = 0,
#define TG_DETECT_KIND_ENUM(e, n) TG_DETECT_##e,
	TG_DETECT_KINDS(TG_DETECT_KIND_ENUM)
#undef TG_DETECT_KIND_ENUM
	TG_DETECT_KIND_MAX
};

/* struct tg_detect_spec.flags */
#define TG_DETECT_F_CASELESS 0x01	/* regex: HS_FLAG_CASELESS */
#define TG_DETECT_F_DOTALL 0x02		/* regex: HS_FLAG_DOTALL */
#define TG_DETECT_F_MULTILINE 0x04	/* regex: HS_FLAG_MULTILINE */
#define TG_DETECT_F_UTF8 0x08		/* regex: HS_FLAG_UTF8 | HS_FLAG_UCP */
#define TG_DETECT_F_SSN_NODASH 0x100	/* ssn: also nine bare digits */

#define TG_DETECT_NAME_MAX 32		/* name bytes, NUL included */
#define TG_DETECT_SPECS_MAX 1024

/*
 * One detector to compile. Built-in kinds take no pattern and may appear
 * once each; TG_DETECT_REGEX takes a Hyperscan (PCRE-syntax) pattern and
 * may appear any number of times. ids are the caller's, reported in
 * matches, and must be unique.
 */
struct tg_detect_spec {
	uint32_t id;
	enum tg_detect_kind kind;
	uint32_t flags;		/* TG_DETECT_F_* valid for the kind */
	const char *name;	/* NULL: the kind's name; copied */
	const char *pattern;	/* TG_DETECT_REGEX only; copied by Hyperscan */
};

/* A confirmed value: buf[start, end) is detector id's. */
struct tg_detect_match {
	uint32_t id;
	uint32_t start;
	uint32_t end;
};

enum tg_detect_mask_style {
	TG_DETECT_MASK_FULL = 0,	/* every byte -> '*' */
	TG_DETECT_MASK_FULL_X,		/* every byte -> 'X' */
	/*
	 * Letters and digits -> '*' except the last four, separators kept:
	 * "4111 1111 1111 1111" -> "**** **** **** 1111". A match with fewer
	 * than TG_DETECT_KEEP4_MIN of them is masked whole: four of a short
	 * value would be most of it.
	 */
	TG_DETECT_MASK_KEEP_LAST4,
	/* the local part -> '*', '@' and the domain kept; no '@': FULL */
	TG_DETECT_MASK_EMAIL_DOMAIN,
	TG_DETECT_MASK_MAX
};

#define TG_DETECT_KEEP4_MIN 12

struct tg_detect_db;
struct tg_detect_scratch;

extern const char *const tg_detect_kind_names[TG_DETECT_KIND_MAX];

/*
 * Builds the database of specs[0..n) (n may be 0: nothing is ever found).
 * Off the fast path: Hyperscan compilation takes milliseconds. Returns 0
 * and *out, or -EINVAL (a bad spec or a pattern Hyperscan refuses; err
 * names the detector by id and says why) or -ENOMEM. err may be NULL.
 *
 * Flags. No pattern uses HS_FLAG_SOM_LEFTMOST. HS_FLAG_SINGLEMATCH is used
 * only where one report per scan is all that is needed: the trigger of a
 * variable-width user regex, whose one report starts a second pass that
 * finds every occurrence. Every other pattern must report all its ends,
 * because masking needs every occurrence in the field, and SINGLEMATCH
 * would stop at the first card number of a field holding two.
 *
 * The literal prefilter. The AWS key, JWT and private key triggers are
 * literals ("AKIA", ".eyJ", "-----BEGIN RSA PRIVATE KEY-----"). In the
 * main database, any such literal turns Hyperscan's runtime from a single
 * DFA (ROSE_RUNTIME_SINGLE_OUTFIX) into full Rose, which costs ~20 ns more
 * per hs_scan() call whatever the buffer holds: +40% per field of the
 * bench corpus. Triggers without literals merged into the DFA either
 * overflow it (the 16 base32 bytes of a key id: 2.6x per field) or grow
 * it (13% per byte); which, depends on Hyperscan's heuristics. Alone, the
 * literals make a pure-literal database (Hyperscan's
 * literal matcher only); it is scanned after the main one, and only over
 * buffers at least as long as the shortest value its detectors confirm
 * (20 bytes with aws_access_key, else 24 or 27), so most short fields
 * never pay for the second call. The main database, and so the cost of the
 * other detectors, is what it would be without them.
 *
 * User regexes: Hyperscan's hs_expression_info() gives the match width. A
 * fixed-width pattern (min == max) is located from its end offset alone.
 * A variable-width one goes into the prefilter with SINGLEMATCH and into a
 * second, "locate" database with HS_FLAG_SOM_LEFTMOST, scanned only over
 * buffers where the trigger fired: the start-of-match cost is paid on
 * those buffers and never on the rest.
 */
int tg_detect_compile(const struct tg_detect_spec *specs, unsigned n, struct tg_detect_db **out,
		      char *err, size_t errlen);

/*
 * The Hyperscan databases of a detect database (see tg_detect_compile()),
 * in the order tg_detect_build() visits them. Values are part of the
 * policy blob format (policy.h): do not reorder.
 */
enum tg_detect_hs {
	TG_DETECT_HS_MAIN,	/* the prefilter */
	TG_DETECT_HS_LIT,	/* the literal prefilter */
	TG_DETECT_HS_LOCATE,	/* variable-width user regexes, with start of match */
	TG_DETECT_HS_MAX
};

/*
 * What one of them is compiled from: the arrays hs_compile_multi() takes
 * (block mode, no platform: the host's). spec[i] is the index in specs of
 * the detector expression i belongs to, for errors.
 */
struct tg_detect_exprs {
	const char *const *re;
	const unsigned int *flags;
	const unsigned int *ids;
	const uint16_t *spec;
	unsigned int n;		/* at least 1 */
};

/*
 * Supplies database which, built from x: sets *hs to an hs_database_t,
 * which the detect database then owns, and returns 0; or returns -errno
 * with err set (*hs untouched). hs is NULL when tg_detect_build() only
 * walks the lists (out NULL): fn then sets nothing.
 */
typedef int (*tg_detect_hs_fn)(void *arg, enum tg_detect_hs which,
			       const struct tg_detect_exprs *x, void **hs, char *err,
			       size_t errlen);

/*
 * tg_detect_compile() with the Hyperscan databases taken from fn: checks
 * specs and builds every table tg_detect_compile() builds (expression
 * ids, confirmers, widths, the shortest match), then calls fn for each
 * database specs need, in enum order, with the exact expression list
 * tg_detect_compile() would compile it from. tg_detect_compile() is this
 * with hs_compile_multi() as fn; a process that receives databases
 * compiled elsewhere passes one that deserialises them (policy.c).
 *
 * With out NULL nothing is kept: fn only sees the lists (for the sender,
 * which describes the databases it serialises). Cost without compiling:
 * one hs_expression_info() per expression (parse and width analysis,
 * microseconds each).
 *
 * Returns 0, fn's error, or those of tg_detect_compile() (-EINVAL with
 * "detector N (name): ..." for a bad spec, -ENOMEM). On error *out is
 * NULL and the databases fn supplied before the error are freed.
 */
int tg_detect_build(const struct tg_detect_spec *specs, unsigned n, tg_detect_hs_fn fn,
		    void *arg, struct tg_detect_db **out, char *err, size_t errlen);

/* Database which of db (an hs_database_t), or NULL when db has none. */
const void *tg_detect_hs_db(const struct tg_detect_db *db, enum tg_detect_hs which);

void tg_detect_free(struct tg_detect_db *db);

/* The name of detector id, or NULL. */
const char *tg_detect_name(const struct tg_detect_db *db, uint32_t id);

/* Bytes of Hyperscan database (all of them: prefilters and locate). */
size_t tg_detect_db_bytes(const struct tg_detect_db *db);

/*
 * Scratch for one worker, valid for db only. alloc sizes it for db (off
 * the fast path); clone copies a prototype for the next worker. Return
 * NULL with errno set on failure.
 */
struct tg_detect_scratch *tg_detect_scratch_alloc(const struct tg_detect_db *db);
struct tg_detect_scratch *tg_detect_scratch_clone(const struct tg_detect_scratch *proto);
void tg_detect_scratch_free(struct tg_detect_scratch *s);

/*
 * Matches are collected in a work area of this many in the scratch (12
 * bytes each), or in the caller's array when that is larger: see -ENOSPC.
 */
#define TG_DETECT_WORK 512

/*
 * Finds the confirmed values in buf[0..len) and writes them to
 * out[0..max), sorted by start, non-overlapping (overlaps are merged,
 * matches that only touch are not). Returns their count, or:
 *   -ENOSPC  more than max after merging, and the caller must treat the
 *            whole buffer as sensitive; out holds nothing usable. Exact
 *            while the unmerged matches fit in max(max, TG_DETECT_WORK):
 *            always for buffers shorter than TG_DETECT_WORK times the
 *            database's shortest match (6 bytes for the built-ins), as
 *            the matches held at any time are disjoint. Past that, a buffer whose
 *            many small matches a later long one would have joined can
 *            get -ENOSPC too (fail closed);
 *   -EINVAL  a NULL argument, or s not allocated for db;
 *   -EBUSY   s is in use by another scan (two threads share a scratch);
 *   -EIO     any other Hyperscan error, or a report no database of db
 *            can make (an id or offset out of range: a wrong database
 *            supplied to tg_detect_build()).
 * No allocation, no logging; s holds Hyperscan's state and the work area,
 * the rest of the confirmation state is on the stack (about 210 bytes).
 */
int tg_detect_scan(const struct tg_detect_db *db, struct tg_detect_scratch *s,
		   const uint8_t *buf, uint32_t len, struct tg_detect_match *out, unsigned max);

/*
 * The prefilter alone: hs_scan() of the same databases (the literal one
 * only over buffers long enough for it, as tg_detect_scan() does) with a
 * callback that only counts. Returns the number of end offsets Hyperscan
 * reported, or
 * -errno as above. For benchmarks (the cost of confirmation is the
 * difference) and tests (the dedupe of overlapping reports).
 */
long tg_detect_scan_raw(const struct tg_detect_db *db, struct tg_detect_scratch *s,
			const uint8_t *buf, uint32_t len);

/*
 * Masks buf at m[0..n) in place, keeping every length. m comes from
 * tg_detect_scan() over this buf. An unknown style masks fully.
 */
void tg_detect_mask(uint8_t *buf, const struct tg_detect_match *m, unsigned n,
		    enum tg_detect_mask_style style);

#endif /* TG_DETECT_H */
