/* SPDX-License-Identifier: MIT */
/*
 * detect.h — sensitive-value detectors over result fields: card numbers,
 * IBANs, e-mail addresses, US SSNs, phone numbers and user regexes, found
 * with Hyperscan and confirmed in C, then masked in place.
 *
 * Design. tg_detect_compile() runs off the fast path (slowpath or control
 * thread) and builds ONE Hyperscan block-mode database, the prefilter, over
 * every enabled detector. No pattern in it carries HS_FLAG_SOM_LEFTMOST:
 * tracking the start of match cost 4x the scan on this project's row text
 * (notes/measured.md), so Hyperscan only reports end offsets. Each built-in
 * pattern is a short trigger that every true value must contain (e.g. for
 * cards, thirteen digits with optional single separators between them);
 * the C confirmer then walks from the reported end over the
 * detector's character class to find the whole candidate, validates it
 * (Luhn, ISO 7064 mod-97 and the country's length, the SSA rules, e-mail
 * and phone structure) and records [start, end). Workers each own a scratch
 * (tg_detect_scratch_alloc() once, tg_detect_scratch_clone() for the rest,
 * as Suricata does with hs_clone_scratch()); the database is read-only and
 * shared.
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
 * Buffers shorter than the shortest possible match are not scanned at all,
 * which is most short fields (numbers, flags, dates).
 *
 * Caveats:
 * - Block mode: a value split across two scans is not found. The caller
 *   scans whole fields (DataRow columns), not segments.
 * - The built-ins read ASCII: full-width digits, non-ASCII e-mail
 *   addresses (RFC 6531), quoted local parts and IP-literal domains are not
 *   detected. Lower-case IBANs are not detected.
 * - IBANs are accepted only for the countries in the length table of
 *   detect.c (89 countries of the SWIFT registry); add a row for another.
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

/* X(enum suffix, name): the detector kinds. */
#define TG_DETECT_KINDS(X) \
	X(CARD, "card") \
	X(IBAN, "iban") \
	X(EMAIL, "email") \
	X(SSN, "ssn") \
	X(PHONE, "phone") \
	X(REGEX, "regex")

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
 * User regexes: Hyperscan's hs_expression_info() gives the match width. A
 * fixed-width pattern (min == max) is located from its end offset alone.
 * A variable-width one goes into the prefilter with SINGLEMATCH and into a
 * second, "locate" database with HS_FLAG_SOM_LEFTMOST, scanned only over
 * buffers where the trigger fired: the start-of-match cost is paid on
 * those buffers and never on the rest.
 */
int tg_detect_compile(const struct tg_detect_spec *specs, unsigned n, struct tg_detect_db **out,
		      char *err, size_t errlen);

void tg_detect_free(struct tg_detect_db *db);

/* The name of detector id, or NULL. */
const char *tg_detect_name(const struct tg_detect_db *db, uint32_t id);

/* Bytes of Hyperscan database (both passes). */
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
 *   -EIO     any other Hyperscan error.
 * No allocation, no logging; s holds Hyperscan's state and the work area,
 * the rest of the confirmation state is on the stack (under 200 bytes).
 */
int tg_detect_scan(const struct tg_detect_db *db, struct tg_detect_scratch *s,
		   const uint8_t *buf, uint32_t len, struct tg_detect_match *out, unsigned max);

/*
 * The prefilter alone: hs_scan() of the same database with a callback that
 * only counts. Returns the number of end offsets Hyperscan reported, or
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
