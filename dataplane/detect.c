/* SPDX-License-Identifier: MIT */
/*
 * detect.c — sensitive-value detectors: Hyperscan prefilter, confirmation
 * in C, in-place masking. See detect.h for the contract.
 *
 * The prefilter patterns are triggers, not definitions: each is the
 * shortest thing every true value must contain, so that Hyperscan reports
 * an end offset somewhere inside every candidate, with no start-of-match
 * tracking. The definition of each detector lives in its confirmer below,
 * which finds the candidate around that end offset by walking over the
 * detector's character class, and validates it:
 *
 *   card   \d(?:[ -]?\d){12}
 *          A digit run: digits with single spaces or dashes between them.
 *          Every span of it that starts and ends on a group boundary,
 *          holds 13-19 digits, starts with 2-7 (the major industry
 *          identifiers of card schemes: 2 and 5 Mastercard, 3 Amex, Diners
 *          and JCB, 4 Visa, 6 Discover and UnionPay, 7 fleet cards) and
 *          passes Luhn (ISO/IEC 7812-1 Annex B); per end, the longest.
 *   iban   [A-Z]{2}\d{2}(?: ?[A-Z0-9]){11}
 *          Country code, check digits, then exactly the country's length
 *          (ISO 13616 registry) either run together or in groups of four
 *          separated by single spaces; ISO 7064 mod 97-10 must give 1.
 *   email  [A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z]{2}
 *          Local part of [A-Za-z0-9._%+-], 1-64 bytes, no leading, trailing
 *          or double dot; domain of two or more LDH labels (RFC 1035 2.3.1,
 *          1-63 bytes, no leading or trailing '-'), at most 253 bytes,
 *          ending in an alphabetic label of two or more letters.
 *   ssn    \d{3}-\d{2}-\d{4}   and, with TG_DETECT_F_SSN_NODASH, \d{9}
 *          Area not 000, 666 or 900-999; group not 00; serial not 0000:
 *          the SSA never issues those (900-999 are ITINs).
 *   phone  \+[1-9](?:[ .-]?\d){7}
 *          E.164 (ITU-T E.164 6.1): '+', a country code not starting with
 *          0, 8-15 digits in all with single separators.
 *          (?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}
 *          NANP: NXX NXX XXXX with separators or a parenthesised area
 *          code, optionally after "1" or "+1".
 *
 * The next three are pure literals, in a prefilter database of their own
 * (see tg_detect_compile() for why):
 *
 *   aws_access_key  AKIA|ASIA|ABIA|ACCA
 *          The prefix, then 16 of [A-Z2-7] (RFC 4648 base32); the 20
 *          bytes may not touch a letter or digit on either side (a key id
 *          inside a longer word or base64 string is not one).
 *   jwt    \.eyJ
 *          The start of a compact JWS's payload (RFC 7515 7.1): "eyJ" is
 *          '{"' in base64url. Back over the header segment, which must
 *          start "eyJ" and decode to a JSON object with an "alg" member;
 *          forward over the payload, a '.', and the signature, at least 16
 *          characters unless alg is "none". Each segment is base64url
 *          without padding (RFC 4648 5), of no length that is 1 mod 4.
 *   private_key  -----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?
 *          PRIVATE KEY-----, -----BEGIN PGP PRIVATE KEY BLOCK-----
 *          The header (RFC 7468 2); the match runs to the end of the first
 *          footer of the same label after it, or to the end of the buffer.
 *
 * Every number must stand alone: the bytes around it may not be letters
 * or digits, nor a '.' or ',' (or, for SSNs and phone numbers, '-') that
 * glues it to more digits, so a card number is not found inside a longer
 * reference, a decimal fraction or a hex string. A JWT's segments are
 * maximal runs of base64url; a private key's header stands wherever it is
 * (fail closed: "x-----BEGIN" is masked too).
 *
 * Dedupe. A trigger over a digit run fires at every digit past its
 * thirteenth, so one card number yields several reports, and a 200-digit
 * run nearly 200. The card, IBAN, e-mail and E.164 confirmers therefore
 * evaluate the whole run around the first report, once, and remember its
 * extent (struct memo); any later report whose end falls inside it is
 * dropped with two compares. Hyperscan does not promise to report in order
 * of end offset, so the memo only ever skips reports inside the run it
 * describes; a run evaluated twice yields the same matches twice, and the
 * merge in add() folds them together.
 *
 * Cost. Confirmation only runs where a trigger fires. Per run: one walk
 * back and one walk forward over it, then for cards, per group end, a
 * Luhn walk over at most 19 digits and 18 separators (a run costs at most
 * ~40 steps per group, ~10 per byte worst case, 16 steps for a bare card);
 * for IBANs, a mod-97 walk per candidate start (at most 42 bytes). Each
 * further report in the run costs two compares. An AWS prefix costs a
 * check of the 16 bytes after it. A JWT report costs a walk over the
 * three segments around it and a decode of the header; as a segment holds
 * no '.', each byte is in at most three of the segments walked, so a
 * buffer costs O(its length). A private key header costs a search for its
 * footer, which is cached per label (struct pem_end): headers reported in
 * order of end share one search, so a buffer costs O(its length x 7
 * labels) however many headers it holds. add() is O(1) for matches found
 * in order of start (the usual case), O(n) for one that is not.
 * Measured by tools/bench/detect on 64 MiB of row text in 1460-byte
 * blocks (2-core AMD EPYC, Hyperscan 5.4, a shared machine), the eight
 * built-ins: the prefilters 9.3-9.9 cycles/byte, all of this ~1.3 more
 * (0.89-0.92 of the raw scans' throughput); per field of 8-64 bytes,
 * 80-84 ns of hs_scan() and 20-25 ns of the rest. Before the AWS key,
 * JWT and private key detectors, the same runs gave 9.6-9.9 and ~1.1
 * cycles/byte (0.87-0.95), 72-78 ns and 20-25 ns: their literal
 * prefilter costs ~2% per block and ~6 ns per field (a second hs_scan()
 * on fields of 20 bytes or more).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "errbuf.h"
#include "detect.h"

const char *const tg_detect_kind_names[TG_DETECT_KIND_MAX] = {
	[TG_DETECT_NONE] = "none",
#define NAME(e, n) [TG_DETECT_##e] = n,
	TG_DETECT_KINDS(NAME)
#undef NAME
};

/*
 * What a prefilter report means: which confirmer handles it. Built-in
 * kinds appear at most once per database, so a memo per sub is enough.
 */
enum sub {
	SUB_CARD,
	SUB_IBAN,
	SUB_EMAIL,
	SUB_SSN,
	SUB_SSN_NODASH,
	SUB_E164,
	SUB_NANP,
	SUB_AWS,
	SUB_JWT,
	SUB_PKEY,
	SUB_RX_FIXED,	/* user regex of fixed width: start = end - width */
	SUB_RX_TRIGGER,	/* user regex of variable width: run the locate pass */
	SUB_MAX
};

/* The shortest value each literal-led built-in confirms (see confirm_*). */
#define AWS_KEY_LEN 20
#define JWT_MIN 24	/* {"alg":"none"} is 19 bytes of base64url, ".eyJ." 5 */
#define PEM_MIN 27	/* "-----BEGIN PRIVATE KEY-----" */

struct builtin {
	enum tg_detect_kind kind;
	enum sub sub;
	const char *re;
	/*
	 * 0: the expression goes into the main prefilter. Else it goes into
	 * the literal one (see tg_detect_compile()), and this is the shortest
	 * value it confirms: shorter buffers skip that database.
	 */
	uint32_t lit_min;
};

static const struct builtin builtins[] = {
	/*
	 * Any first digit, not [2-7]: with a start class narrower than what
	 * follows, Hyperscan must track every 2-7 digit among the last 13 as
	 * a start (an NFA); with any digit the trigger is a counter, a small
	 * DFA. On the bench corpus that made the whole database 1.8x faster
	 * and its per-call cost 3x lower; the IIN is checked in C anyway.
	 */
	{ TG_DETECT_CARD, SUB_CARD, "[0-9](?:[ \\-]?[0-9]){12}", 0 },
	{ TG_DETECT_IBAN, SUB_IBAN, "[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11}", 0 },
	{ TG_DETECT_EMAIL, SUB_EMAIL, "[A-Za-z0-9._%+\\-]@[A-Za-z0-9\\-]+\\.[A-Za-z]{2}", 0 },
	{ TG_DETECT_SSN, SUB_SSN, "[0-9]{3}-[0-9]{2}-[0-9]{4}", 0 },
	{ TG_DETECT_SSN, SUB_SSN_NODASH, "[0-9]{9}", 0 },
	{ TG_DETECT_PHONE, SUB_E164, "\\+[1-9](?:[ .\\-]?[0-9]){7}", 0 },
	{ TG_DETECT_PHONE, SUB_NANP,
	  "(?:\\([2-9][0-9]{2}\\) ?|[2-9][0-9]{2}[ .\\-])[2-9][0-9]{2}[ .\\-][0-9]{4}", 0 },
	/*
	 * Pure literals, in a database of their own (tg_detect_compile()):
	 * the key id's prefix (its 16 other bytes are checked in C), the
	 * start of a JWT's payload, the exact PEM headers (so that the
	 * certificates and public keys a database may well hold fire nothing).
	 */
	{ TG_DETECT_AWS_KEY, SUB_AWS, "AKIA|ASIA|ABIA|ACCA", AWS_KEY_LEN },
	{ TG_DETECT_JWT, SUB_JWT, "\\.eyJ", JWT_MIN },
	{ TG_DETECT_PRIVATE_KEY, SUB_PKEY,
	  "-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----|"
	  "-----BEGIN PGP PRIVATE KEY BLOCK-----", PEM_MIN },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The digits every match of a main-database built-in holds, from its
 * pattern above: a card number 13, an IBAN 2 (its check digits), an SSN
 * 9 with or without dashes, an E.164 number 8, a NANP one 10. An e-mail
 * address holds none but its '@' (SUB_EMAIL, 0 here). See gate().
 */
static const uint8_t sub_digits[SUB_MAX] = {
	[SUB_CARD] = 13, [SUB_IBAN] = 2, [SUB_SSN] = 9, [SUB_SSN_NODASH] = 9,
	[SUB_E164] = 8, [SUB_NANP] = 10,
};

/* One prefilter expression; its index is its Hyperscan id. */
struct expr {
	uint16_t spec;		/* index into db->specs */
	uint8_t sub;		/* enum sub */
	uint32_t width;		/* SUB_RX_FIXED: match width in bytes */
};

struct spec_rt {
	uint32_t id;
	uint8_t kind;
	uint32_t flags;
	char name[TG_DETECT_NAME_MAX];
};

struct tg_detect_db {
	hs_database_t *hs;	/* the prefilter; NULL when it has no expression */
	hs_database_t *lit;	/* the literal prefilter; or NULL */
	hs_database_t *locate;	/* variable-width user regexes, with SOM; or NULL */
	struct spec_rt *specs;
	unsigned int nspecs;
	struct expr *expr;
	unsigned int nexpr;
	uint16_t *locate_spec;	/* locate id -> spec index */
	unsigned int nlocate;
	uint32_t min_len;	/* shorter buffers cannot match anything in hs */
	uint32_t lit_min;	/* nor in lit */
	/*
	 * The gate before hs (see gate()): set when every expression of hs
	 * is a built-in; a match of hs then holds need_digits digits at
	 * least (UINT32_MAX: no such built-in) or, with need_at, an '@'.
	 */
	uint8_t gated;
	uint8_t need_at;
	uint32_t need_digits;
};

struct tg_detect_scratch {
	hs_scratch_t *hs;
	const struct tg_detect_db *db;
	/*
	 * Where matches collect before the caller's array: a match found
	 * early may be joined to another by one found later, so the count
	 * can fall back under max after it went over (see detect.h).
	 */
	struct tg_detect_match work[TG_DETECT_WORK];
};

/* ------------------------------------------------------------------ */
/* Character classes                                                   */

#define C_DIGIT 0x01
#define C_UPPER 0x02
#define C_LOWER 0x04
#define C_LOCAL 0x08	/* e-mail local part */
#define C_CSEP 0x10	/* card separator */
#define C_PSEP 0x20	/* phone separator */
#define C_GLUE 0x40	/* joins digits into one number: '.' ',' */
#define C_B64U 0x80	/* base64url, RFC 4648 5 */

#define C_ALNUM (C_DIGIT | C_UPPER | C_LOWER)

static const uint8_t cls[256] = {
	['0' ... '9'] = C_DIGIT | C_LOCAL | C_B64U,
	['A' ... 'Z'] = C_UPPER | C_LOCAL | C_B64U,
	['a' ... 'z'] = C_LOWER | C_LOCAL | C_B64U,
	['.'] = C_LOCAL | C_PSEP | C_GLUE,
	[','] = C_GLUE,
	['-'] = C_LOCAL | C_CSEP | C_PSEP | C_B64U,
	[' '] = C_CSEP | C_PSEP,
	['_'] = C_LOCAL | C_B64U,
	['%'] = C_LOCAL,
	['+'] = C_LOCAL,
};

static inline int
is(uint8_t c, uint8_t mask)
{
	return (cls[c] & mask) != 0;
}

static inline int
digit(uint8_t c)
{
	return (uint8_t)(c - '0') < 10;
}

/* ------------------------------------------------------------------ */
/* Scan state                                                          */

/* The extent of a run already evaluated: reports ending in it are dups. */
struct memo {
	uint32_t start, end;	/* valid only with its bit in ctx.memo_valid */
};

struct ctx {
	const struct tg_detect_db *db;
	const uint8_t *buf;
	uint32_t len;
	struct tg_detect_match *out;
	unsigned int n, max;
	int err;
	int trigger;	/* a variable-width user regex fired */
	uint8_t pem_valid;	/* bit k: pem_end[k] holds a search */
	/*
	 * Bit k: memo[k] holds a run. Only four subs ever set theirs, so a
	 * scan clears one word instead of writing every memo.
	 */
	uint16_t memo_valid;
	struct memo memo[SUB_MAX];
	/*
	 * Per PEM label, the last footer search: the first footer at or
	 * after from is at at (UINT32_MAX: none in the buffer).
	 */
	struct pem_end {
		uint32_t from, at;
	} pem_end[7];
};

/*
 * Inserts spec's match [s, e) into the sorted, disjoint out[0..n), merging
 * every entry it overlaps (touching is not overlapping). A merged entry
 * keeps the id of its longest constituent, the earlier one on a tie.
 * Returns 0, or -1 with c->err = -ENOSPC when out is full.
 */
static int
add(struct ctx *c, uint16_t spec, uint32_t s, uint32_t e)
{
	struct tg_detect_match *o = c->out;
	unsigned int k = c->n, lo, hi, i;
	uint32_t id = c->db->specs[spec].id, best = e - s;

	if (e <= s)
		return 0;
	/* k: after every entry that starts at or before s */
	while (k > 0 && o[k - 1].start > s)
		k--;
	lo = k;
	if (lo > 0 && o[lo - 1].end > s)
		lo--;
	hi = k;
	while (hi < c->n && o[hi].start < e)
		hi++;
	if (lo == hi) {
		if (c->n == c->max) {
			c->err = -ENOSPC;
			return -1;
		}
		memmove(o + k + 1, o + k, (c->n - k) * sizeof(*o));
		o[k].id = id;
		o[k].start = s;
		o[k].end = e;
		c->n++;
		return 0;
	}
	for (i = lo; i < hi; i++) {
		if (o[i].end - o[i].start >= best) {
			best = o[i].end - o[i].start;
			id = o[i].id;
		}
	}
	if (o[lo].start < s)
		s = o[lo].start;
	if (o[hi - 1].end > e)
		e = o[hi - 1].end;
	o[lo].id = id;
	o[lo].start = s;
	o[lo].end = e;
	memmove(o + lo + 1, o + hi, (c->n - hi) * sizeof(*o));
	c->n -= hi - lo - 1;
	return 0;
}

static inline int
memo_hit(const struct ctx *c, unsigned int sub, uint32_t e)
{
	return (c->memo_valid >> sub & 1) && e >= c->memo[sub].start && e <= c->memo[sub].end;
}

static inline void
memo_set(struct ctx *c, unsigned int sub, uint32_t s, uint32_t e)
{
	c->memo_valid |= (uint16_t)(1u << sub);
	c->memo[sub].start = s;
	c->memo[sub].end = e;
}

/*
 * May a number start at b[s] / end before b[e]? Not if a letter or digit
 * touches it, nor a glue byte ('.' ',' and, with dash, '-') with a digit
 * on its other side.
 */
static inline int
free_before(const uint8_t *b, uint32_t s, int dash)
{
	uint8_t p;

	if (s == 0)
		return 1;
	p = b[s - 1];
	if (is(p, C_ALNUM))
		return 0;
	if ((is(p, C_GLUE) || (dash && p == '-')) && s >= 2 && digit(b[s - 2]))
		return 0;
	return 1;
}

static inline int
free_after(const uint8_t *b, uint32_t e, uint32_t len, int dash)
{
	uint8_t n;

	if (e >= len)
		return 1;
	n = b[e];
	if (is(n, C_ALNUM))
		return 0;
	if ((is(n, C_GLUE) || (dash && n == '-')) && e + 1 < len && digit(b[e + 1]))
		return 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Card numbers                                                        */

/*
 * The digit run around b[e - 1]: digits, single separators between
 * digits. Every span of it on group boundaries is a candidate; for each
 * group end, the Luhn sum is extended leftwards digit by digit (doubling
 * every second digit from the check digit, ISO/IEC 7812-1 Annex B) and
 * the leftmost valid start, the longest number, wins.
 */
static void
confirm_card(struct ctx *c, uint16_t spec, uint32_t e)
{
	/* a doubled Luhn digit, its two digits summed */
	static const uint8_t luhn_dbl[10] = { 0, 2, 4, 6, 8, 1, 3, 5, 7, 9 };
	const uint8_t *b = c->buf;
	uint32_t len = c->len, rs = e - 1, re = e, j, nd;
	int first_ok, last_ok;

	while (rs > 0) {
		if (digit(b[rs - 1]))
			rs--;
		else if (rs >= 2 && is(b[rs - 1], C_CSEP) && digit(b[rs - 2]))
			rs -= 2;
		else
			break;
	}
	while (re < len) {
		if (digit(b[re]))
			re++;
		else if (re + 1 < len && is(b[re], C_CSEP) && digit(b[re + 1]))
			re += 2;
		else
			break;
	}
	memo_set(c, SUB_CARD, rs, re);
	first_ok = free_before(b, rs, 0);
	last_ok = free_after(b, re, len, 0);

	for (j = rs + 1, nd = 0; j <= re; j++) {
		uint32_t p = j, best = UINT32_MAX, sum = 0, n = 0;

		nd += (uint32_t)digit(b[j - 1]);
		if (j < re && !is(b[j], C_CSEP))
			continue;	/* not a group end */
		if (j == re && !last_ok)
			continue;
		/* fewer than thirteen digits before this end: no card ends here */
		if (nd < 13)
			continue;
		while (p > rs) {
			uint32_t d;

			p--;
			if (!digit(b[p]))
				continue;
			d = (uint32_t)(b[p] - '0');
			if (n & 1)
				d = luhn_dbl[d];
			sum += d;
			if (++n > 19)
				break;
			if (n >= 13 && sum % 10 == 0 && b[p] >= '2' && b[p] <= '7' &&
			    (p == rs ? first_ok : is(b[p - 1], C_CSEP)))
				best = p;
		}
		if (best != UINT32_MAX && add(c, spec, best, j) < 0)
			return;
	}
}

/* ------------------------------------------------------------------ */
/* IBAN                                                                */

/*
 * IBAN length by country, ISO 13616 registry (SWIFT, IBAN Registry):
 * 89 countries, indexed by the two letters. A country code not listed is
 * not taken for an IBAN: upper-case words followed by digits are common in
 * text.
 */
#define IB(a, b, l) [((a) - 'A') * 26 + ((b) - 'A')] = (l)
static const uint8_t iban_tab[26 * 26] = {
	IB('A', 'D', 24), IB('A', 'E', 23), IB('A', 'L', 28), IB('A', 'T', 20), IB('A', 'Z', 28),
	IB('B', 'A', 20), IB('B', 'E', 16), IB('B', 'G', 22), IB('B', 'H', 22), IB('B', 'I', 27),
	IB('B', 'R', 29), IB('B', 'Y', 28), IB('C', 'H', 21), IB('C', 'R', 22), IB('C', 'Y', 28),
	IB('C', 'Z', 24), IB('D', 'E', 22), IB('D', 'J', 27), IB('D', 'K', 18), IB('D', 'O', 28),
	IB('E', 'E', 20), IB('E', 'G', 29), IB('E', 'S', 24), IB('F', 'I', 18), IB('F', 'K', 18),
	IB('F', 'O', 18), IB('F', 'R', 27), IB('G', 'B', 22), IB('G', 'E', 22), IB('G', 'I', 23),
	IB('G', 'L', 18), IB('G', 'R', 27), IB('G', 'T', 28), IB('H', 'N', 28), IB('H', 'R', 21),
	IB('H', 'U', 28), IB('I', 'E', 22), IB('I', 'L', 23), IB('I', 'Q', 23), IB('I', 'S', 26),
	IB('I', 'T', 27), IB('J', 'O', 30), IB('K', 'W', 30), IB('K', 'Z', 20), IB('L', 'B', 28),
	IB('L', 'C', 32), IB('L', 'I', 21), IB('L', 'T', 20), IB('L', 'U', 20), IB('L', 'V', 21),
	IB('L', 'Y', 25), IB('M', 'C', 27), IB('M', 'D', 24), IB('M', 'E', 22), IB('M', 'K', 19),
	IB('M', 'N', 20), IB('M', 'R', 27), IB('M', 'T', 31), IB('M', 'U', 30), IB('N', 'I', 28),
	IB('N', 'L', 18), IB('N', 'O', 15), IB('O', 'M', 23), IB('P', 'K', 24), IB('P', 'L', 28),
	IB('P', 'S', 29), IB('P', 'T', 25), IB('Q', 'A', 29), IB('R', 'O', 24), IB('R', 'S', 22),
	IB('R', 'U', 33), IB('S', 'A', 24), IB('S', 'C', 31), IB('S', 'D', 18), IB('S', 'E', 24),
	IB('S', 'I', 19), IB('S', 'K', 24), IB('S', 'M', 27), IB('S', 'O', 23), IB('S', 'T', 25),
	IB('S', 'V', 28), IB('T', 'L', 23), IB('T', 'N', 24), IB('T', 'R', 26), IB('U', 'A', 29),
	IB('V', 'A', 22), IB('V', 'G', 24), IB('X', 'K', 20), IB('Y', 'E', 30),
};
#undef IB

static inline uint32_t
mod97_add(uint32_t r, uint8_t ch)
{
	if (digit(ch))
		return (r * 10 + (uint32_t)(ch - '0')) % 97;
	return (r * 100 + (uint32_t)(ch - 'A' + 10)) % 97;
}

/*
 * The IBAN starting at b[p] (country and check digits already seen) with
 * country length l, inside the run ending at re: returns its end, or 0.
 * Grouped (a space after the fourth byte) means a space after every
 * fourth; otherwise none. ISO 7064 mod 97-10 over BBAN then country and
 * check digits must leave 1.
 */
static uint32_t
iban_at(const uint8_t *b, uint32_t p, uint32_t re, uint32_t l, int last_ok)
{
	int grouped = p + 4 < re && b[p + 4] == ' ';
	uint32_t q = p + 4, k, r = 0;

	for (k = 4; k < l; k++) {
		if (grouped && k % 4 == 0) {
			if (q >= re || b[q] != ' ')
				return 0;
			q++;
		}
		if (q >= re || !is(b[q], C_DIGIT | C_UPPER))
			return 0;
		r = mod97_add(r, b[q++]);
	}
	if (q == re ? !last_ok : b[q] != ' ')
		return 0;
	for (k = 0; k < 4; k++)
		r = mod97_add(r, b[p + k]);
	return r == 1 ? q : 0;
}

static void
confirm_iban(struct ctx *c, uint16_t spec, uint32_t e)
{
	const uint8_t *b = c->buf;
	uint32_t len = c->len, rs = e - 1, re = e, p;
	int first_ok, last_ok;

	while (rs > 0) {
		if (is(b[rs - 1], C_DIGIT | C_UPPER))
			rs--;
		else if (rs >= 2 && b[rs - 1] == ' ' && is(b[rs - 2], C_DIGIT | C_UPPER))
			rs -= 2;
		else
			break;
	}
	while (re < len) {
		if (is(b[re], C_DIGIT | C_UPPER))
			re++;
		else if (re + 1 < len && b[re] == ' ' && is(b[re + 1], C_DIGIT | C_UPPER))
			re += 2;
		else
			break;
	}
	memo_set(c, SUB_IBAN, rs, re);
	first_ok = rs == 0 || !is(b[rs - 1], C_ALNUM);
	last_ok = re == len || !is(b[re], C_ALNUM);

	/* candidates: group starts with two letters and two digits */
	p = rs;
	while (p + 15 <= re) {
		uint32_t l, q = 0;

		if ((p == rs ? first_ok : 1) && is(b[p], C_UPPER) && is(b[p + 1], C_UPPER) &&
		    digit(b[p + 2]) && digit(b[p + 3])) {
			l = iban_tab[(b[p] - 'A') * 26 + (b[p + 1] - 'A')];
			if (l != 0)
				q = iban_at(b, p, re, l, last_ok);
		}
		if (q != 0) {
			if (add(c, spec, p, q) < 0)
				return;
			p = q;
		}
		/* the next group start */
		while (p < re && b[p] != ' ')
			p++;
		p++;
	}
}

/* ------------------------------------------------------------------ */
/* E-mail                                                              */

#define EMAIL_LOCAL_MAX 64
#define EMAIL_DOMAIN_MAX 253
#define EMAIL_LABEL_MAX 63

static void
confirm_email(struct ctx *c, uint16_t spec, uint32_t e)
{
	const uint8_t *b = c->buf;
	uint32_t len = c->len, at = e - 1, s, q, end = 0, i, nlab = 0;

	/* back over the domain to the '@' the trigger contains */
	while (b[at] != '@') {
		if (at == 0 || e - at > EMAIL_DOMAIN_MAX)
			return;
		at--;
	}
	if (at == 0)
		return;
	/* the local part: at most 64 bytes, no leading, trailing or double dot */
	s = at;
	while (s > 0 && is(b[s - 1], C_LOCAL) && at - s < EMAIL_LOCAL_MAX)
		s--;
	if (s > 0 && is(b[s - 1], C_LOCAL))
		return;
	if (b[at - 1] == '.')
		return;
	for (i = at - 1; i > s; i--) {
		if (b[i] == '.' && b[i - 1] == '.') {
			s = i + 1;
			break;
		}
	}
	while (s < at && b[s] == '.')
		s++;
	if (s == at)
		return;
	/* the domain: LDH labels; the match ends after the last alphabetic one */
	q = at + 1;
	for (;;) {
		uint32_t ls = q;
		int alpha = 1;

		while (q < len && (is(b[q], C_ALNUM) || b[q] == '-')) {
			if (!is(b[q], C_UPPER | C_LOWER))
				alpha = 0;
			q++;
		}
		if (q == ls || q - ls > EMAIL_LABEL_MAX || b[ls] == '-' || b[q - 1] == '-')
			break;
		if (q - (at + 1) > EMAIL_DOMAIN_MAX)
			break;
		if (++nlab >= 2 && alpha && q - ls >= 2)
			end = q;
		if (q + 1 < len && b[q] == '.' && is(b[q + 1], C_ALNUM))
			q++;
		else
			break;
	}
	memo_set(c, SUB_EMAIL, s, q);
	if (end != 0)
		add(c, spec, s, end);
}

/* ------------------------------------------------------------------ */
/* SSN                                                                 */

static inline uint32_t
num(const uint8_t *b, unsigned int n)
{
	uint32_t v = 0;

	while (n--)
		v = v * 10 + (uint32_t)(*b++ - '0');
	return v;
}

/* SSA: area not 000, 666, 9xx; group not 00; serial not 0000. */
static void
confirm_ssn(struct ctx *c, uint16_t spec, uint32_t e, int dashed)
{
	const uint8_t *b = c->buf;
	uint32_t w = dashed ? 11 : 9, s = e - w, area, group, serial;

	if (e < w || !free_before(b, s, 1) || !free_after(b, e, c->len, 1))
		return;
	area = num(b + s, 3);
	group = num(b + s + (dashed ? 4 : 3), 2);
	serial = num(b + e - 4, 4);
	if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
		return;
	add(c, spec, s, e);
}

/* ------------------------------------------------------------------ */
/* Phone numbers                                                       */

#define E164_MAX_DIGITS 15

/*
 * E.164: back from the trigger's eighth digit to its '+', then forward
 * over the rest of the number; 8-15 digits in all.
 */
static void
confirm_e164(struct ctx *c, uint16_t spec, uint32_t e)
{
	const uint8_t *b = c->buf;
	uint32_t len = c->len, s = e - 1, q = e, nd = 8;

	while (s > 0 && b[s] != '+')
		s--;
	if (b[s] != '+')
		return;
	while (q < len) {
		if (digit(b[q]))
			q++;
		else if (q + 1 < len && is(b[q], C_PSEP) && digit(b[q + 1]))
			q += 2;
		else
			break;
		nd++;
	}
	memo_set(c, SUB_E164, s, q);
	if (nd > E164_MAX_DIGITS)
		return;
	if (s > 0 && (is(b[s - 1], C_ALNUM) || b[s - 1] == '+'))
		return;
	if (!free_after(b, q, len, 1))
		return;
	add(c, spec, s, q);
}

static inline int
nxx(const uint8_t *b)
{
	return b[0] >= '2' && b[0] <= '9' && digit(b[1]) && digit(b[2]);
}

/*
 * NANP, parsed backwards from the end of the line number: XXXX, a
 * separator, the exchange NXX, then the area code NXX after a separator or
 * in parentheses, then an optional "1" or "+1" prefix.
 */
static void
confirm_nanp(struct ctx *c, uint16_t spec, uint32_t e)
{
	const uint8_t *b = c->buf;
	uint32_t p = e - 4, s, t;
	int paren = 0;

	if (e < 8 || p < 4 || !is(b[p - 1], C_PSEP) || !nxx(b + p - 4))
		return;
	p -= 4;
	if (p >= 5 && b[p - 1] == ')') {
		p -= 1;
		paren = 1;
	} else if (p >= 6 && b[p - 1] == ' ' && b[p - 2] == ')') {
		p -= 2;
		paren = 1;
	} else if (p >= 4 && is(b[p - 1], C_PSEP)) {
		p -= 1;
	} else {
		return;
	}
	if (!nxx(b + p - 3))
		return;
	s = p - 3;
	if (paren) {
		if (s == 0 || b[s - 1] != '(')
			return;
		s--;
	}
	/* "1 ", "1-", "+1 ", "1(", "+1(": taken only if it stands alone */
	t = s;
	if (paren && s >= 1 && b[s - 1] == '1')
		t = s - 1;
	else if (s >= 2 && is(b[s - 1], C_PSEP) && b[s - 2] == '1')
		t = s - 2;
	if (t != s) {
		if (t > 0 && b[t - 1] == '+')
			t--;
		if (free_before(b, t, 1))
			s = t;
	}
	if (!free_before(b, s, 1) || (s > 0 && b[s - 1] == '+'))
		return;
	if (!free_after(b, e, c->len, 1))
		return;
	add(c, spec, s, e);
}

/* ------------------------------------------------------------------ */
/* AWS access key ids                                                  */

/* [A-Z2-7]: the RFC 4648 base32 alphabet of the 16 bytes after the prefix */
static inline int
base32(uint8_t ch)
{
	return is(ch, C_UPPER) || (ch >= '2' && ch <= '7');
}

/*
 * The trigger is the prefix, b[e - 4, e); the key id is it and the 16
 * bytes after, and a letter or digit on either side makes it part of a
 * longer word.
 */
static void
confirm_aws(struct ctx *c, uint16_t spec, uint32_t e)
{
	const uint8_t *b = c->buf;
	uint32_t s = e - 4, end = s + AWS_KEY_LEN, i;

	if (e < 4 || end > c->len || (s > 0 && is(b[s - 1], C_ALNUM)) ||
	    (end < c->len && is(b[end], C_ALNUM)))
		return;
	for (i = e; i < end; i++)
		if (!base32(b[i]))
			return;
	add(c, spec, s, end);
}

/* ------------------------------------------------------------------ */
/* JSON Web Tokens                                                     */

#define JWT_SIG_MIN 16	/* characters of signature unless alg is "none" */
#define JWT_ALG_MAX 8	/* bytes of alg value kept: "none" and a little */

static inline uint32_t
b64u_val(uint8_t ch)
{
	if (is(ch, C_UPPER))
		return (uint32_t)(ch - 'A');
	if (is(ch, C_LOWER))
		return (uint32_t)(ch - 'a') + 26;
	if (digit(ch))
		return (uint32_t)(ch - '0') + 52;
	return ch == '-' ? 62 : 63;
}

static inline int
json_ws(uint8_t ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Unpadded base64url (RFC 7515 2): no length of 1 mod 4. */
static inline int
b64u_len_ok(uint32_t n)
{
	return n % 4 != 1;
}

/*
 * Decodes the JOSE header h[0..n) (base64url, already known to be of the
 * alphabet and to start "eyJ", i.e. '{"') and reads it as far as needed:
 * it must end with '}' (JSON whitespace after it aside) and hold "alg"
 * followed by ':' and a string. Not a JSON parser: a member named "alg"
 * inside a nested object or a string would pass too, which only matters
 * for text built to look like a JWT. Returns -1 if it is no JOSE header,
 * 1 if alg is "none" in any case (RFC 7518 3.6: an unsecured JWS, whose
 * signature is empty), else 0.
 */
static int
jwt_header(const uint8_t *h, uint32_t n)
{
	static const char key[] = "\"alg\"";
	enum { FIND, COLON, QUOTE, VALUE, DONE } st = FIND;
	uint32_t acc = 0, bits = 0, i, matched = 0, vlen = 0;
	uint8_t last = 0, val[JWT_ALG_MAX];
	int none = 0;

	for (i = 0; i < n; i++) {
		uint8_t ch;

		acc = (acc << 6 | b64u_val(h[i])) & 0xffffff;
		bits += 6;
		if (bits < 8)
			continue;
		bits -= 8;
		ch = (uint8_t)(acc >> bits);
		if (!json_ws(ch))
			last = ch;
		switch (st) {
		case FIND:
			/* on a mismatch, key[]'s only border is its '"' */
			if (ch == (uint8_t)key[matched])
				matched++;
			else
				matched = ch == (uint8_t)key[0];
			if (matched == sizeof(key) - 1)
				st = COLON;
			break;
		case COLON:
			if (ch == ':') {
				st = QUOTE;
			} else if (!json_ws(ch)) {
				st = FIND;
				matched = ch == '"';
			}
			break;
		case QUOTE:
			if (ch == '"') {
				st = VALUE;
			} else if (!json_ws(ch)) {
				st = FIND;
				matched = 0;
			}
			break;
		case VALUE:
			if (ch == '"') {
				none = vlen == 4 && (val[0] | 0x20) == 'n' &&
				       (val[1] | 0x20) == 'o' && (val[2] | 0x20) == 'n' &&
				       (val[3] | 0x20) == 'e';
				st = DONE;
			} else if (vlen < JWT_ALG_MAX) {
				val[vlen++] = ch;
			} else {
				st = DONE;	/* long, so not "none" */
			}
			break;
		case DONE:
			break;
		}
	}
	if (st != DONE || last != '}')
		return -1;
	return none;
}

/*
 * From the end of the trigger, "eyJ" after the '.' that ends the header:
 * back over the header, forward over the payload, a '.' and the
 * signature. Each segment is a maximal run of base64url, so the token
 * stands alone.
 */
static void
confirm_jwt(struct ctx *c, uint16_t spec, uint32_t e)
{
	const uint8_t *b = c->buf;
	uint32_t len = c->len, dot = e - 4, hs = dot, pe = e, se;
	int none;

	while (hs > 0 && is(b[hs - 1], C_B64U))
		hs--;
	if (dot - hs < 3 || b[hs] != 'e' || b[hs + 1] != 'y' || b[hs + 2] != 'J')
		return;
	while (pe < len && is(b[pe], C_B64U))
		pe++;
	if (pe >= len || b[pe] != '.')
		return;
	se = pe + 1;
	while (se < len && is(b[se], C_B64U))
		se++;
	if (!b64u_len_ok(dot - hs) || !b64u_len_ok(pe - dot - 1) || !b64u_len_ok(se - pe - 1))
		return;
	none = jwt_header(b + hs, dot - hs);
	if (none < 0 || (!none && se - pe - 1 < JWT_SIG_MIN))
		return;
	add(c, spec, hs, se);
}

/* ------------------------------------------------------------------ */
/* Private keys                                                        */

#define PEM_LABEL(l) { "-----BEGIN " l "-----", "-----END " l "-----", \
		       sizeof("-----BEGIN " l "-----") - 1, sizeof("-----END " l "-----") - 1 }

/* The labels of the trigger, in no particular order; ctx.pem_end has one per. */
static const struct pem_label {
	const char *begin, *end;
	uint8_t blen, elen;
} pem_labels[] = {
	PEM_LABEL("PRIVATE KEY"),		/* PKCS #8, RFC 7468 10 */
	PEM_LABEL("RSA PRIVATE KEY"),		/* PKCS #1, OpenSSL */
	PEM_LABEL("EC PRIVATE KEY"),		/* RFC 5915 4 */
	PEM_LABEL("DSA PRIVATE KEY"),		/* OpenSSL */
	PEM_LABEL("OPENSSH PRIVATE KEY"),	/* OpenSSH PROTOCOL.key */
	PEM_LABEL("ENCRYPTED PRIVATE KEY"),	/* PKCS #8, RFC 7468 11 */
	PEM_LABEL("PGP PRIVATE KEY BLOCK"),	/* RFC 4880 6.2 */
};
#undef PEM_LABEL

_Static_assert(ARRAY_SIZE(pem_labels) == ARRAY_SIZE(((struct ctx *)0)->pem_end),
	       "one footer cache per PEM label");
_Static_assert(ARRAY_SIZE(pem_labels) <= 8, "pem_valid is 8 bits");

/*
 * The first footer of label k at or after he, from the cache when the
 * last search of k started at or before he and found nothing or a
 * footer at or after he: reports come in order of end, so one search
 * serves every header before the footer it finds.
 */
static uint32_t
pem_footer(struct ctx *c, unsigned int k, uint32_t he)
{
	const struct pem_label *l = &pem_labels[k];
	struct pem_end *pe = &c->pem_end[k];
	const uint8_t *f;

	if ((c->pem_valid & (1u << k)) && pe->from <= he && (pe->at == UINT32_MAX || pe->at >= he))
		return pe->at;
	f = memmem(c->buf + he, c->len - he, l->end, l->elen);
	pe->from = he;
	pe->at = f != NULL ? (uint32_t)(f - c->buf) : UINT32_MAX;
	c->pem_valid |= (uint8_t)(1u << k);
	return pe->at;
}

static void
confirm_pkey(struct ctx *c, uint16_t spec, uint32_t e)
{
	const uint8_t *b = c->buf;
	const struct pem_label *l = NULL;
	unsigned int k;
	uint32_t f;

	for (k = 0; k < ARRAY_SIZE(pem_labels); k++) {
		l = &pem_labels[k];
		if (e >= l->blen && memcmp(b + e - l->blen, l->begin, l->blen) == 0)
			break;
	}
	if (k == ARRAY_SIZE(pem_labels))
		return;
	/* no footer: the rest of the buffer is the key (fail closed) */
	f = pem_footer(c, k, e);
	add(c, spec, e - l->blen, f == UINT32_MAX ? c->len : f + l->elen);
}

/* ------------------------------------------------------------------ */
/* User regexes                                                        */

/*
 * Widens [*s, *e) to whole UTF-8 sequences (at most three continuation
 * bytes each side), so that masking never leaves half a character. In a
 * field that is not UTF-8 this masks at most three extra bytes.
 */
static inline void
utf8_widen(const uint8_t *b, uint32_t len, uint32_t *s, uint32_t *e)
{
	unsigned int k;

	for (k = 0; k < 3 && *s > 0 && (b[*s] & 0xc0) == 0x80; k++)
		(*s)--;
	for (k = 0; k < 3 && *e < len && (b[*e] & 0xc0) == 0x80; k++)
		(*e)++;
}

static void
regex_match(struct ctx *c, uint16_t spec, uint32_t s, uint32_t e)
{
	utf8_widen(c->buf, c->len, &s, &e);
	add(c, spec, s, e);
}

/* ------------------------------------------------------------------ */
/* Scan                                                                */

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	 void *arg)
{
	struct ctx *c = arg;
	const struct expr *x;
	uint32_t e = (uint32_t)to;

	(void)from;
	(void)flags;
	/*
	 * A database deserialised from another process (tg_detect_build())
	 * is only as right as its sender: its checksum and expression list
	 * were checked, but not what Hyperscan reports. Two compares keep a
	 * wrong one from indexing past expr[] or walking past the buffer.
	 */
	if (id >= c->db->nexpr || to > c->len) {
		c->err = -EIO;
		return 1;
	}
	x = &c->db->expr[id];
	if (memo_hit(c, x->sub, e))
		return 0;
	switch (x->sub) {
	case SUB_CARD:
		confirm_card(c, x->spec, e);
		break;
	case SUB_IBAN:
		confirm_iban(c, x->spec, e);
		break;
	case SUB_EMAIL:
		confirm_email(c, x->spec, e);
		break;
	case SUB_SSN:
		confirm_ssn(c, x->spec, e, 1);
		break;
	case SUB_SSN_NODASH:
		confirm_ssn(c, x->spec, e, 0);
		break;
	case SUB_E164:
		confirm_e164(c, x->spec, e);
		break;
	case SUB_NANP:
		confirm_nanp(c, x->spec, e);
		break;
	case SUB_AWS:
		confirm_aws(c, x->spec, e);
		break;
	case SUB_JWT:
		confirm_jwt(c, x->spec, e);
		break;
	case SUB_PKEY:
		confirm_pkey(c, x->spec, e);
		break;
	case SUB_RX_FIXED:
		if (e >= x->width)
			regex_match(c, x->spec, e - x->width, e);
		break;
	case SUB_RX_TRIGGER:
		c->trigger = 1;
		break;
	default:
		break;
	}
	return c->err != 0;
}

static int
on_locate(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	  void *arg)
{
	struct ctx *c = arg;

	(void)flags;
	/* as in on_match() */
	if (id >= c->db->nlocate || from > to || to > c->len) {
		c->err = -EIO;
		return 1;
	}
	regex_match(c, c->db->locate_spec[id], (uint32_t)from, (uint32_t)to);
	return c->err != 0;
}

static int
hs_errno(hs_error_t rc)
{
	switch (rc) {
	case HS_SCRATCH_IN_USE:
		return -EBUSY;
	case HS_INVALID:
		return -EINVAL;
	case HS_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/*
 * May hs report anything in buf[0..len)? Not when it holds only
 * built-ins and buf has fewer digits than the least any of them needs
 * and no '@' for the e-mail detector: names, cities, words, most notes.
 * Then the hs_scan() call, ~100 cycles however short the buffer, is
 * skipped for a pass of well under a cycle a byte (eight bytes a step),
 * which stops at the deciding eight. Exact: every match of those patterns holds that many
 * digits or the '@' (sub_digits[]), so hs would report nothing there.
 */
static inline int
gate(const struct tg_detect_db *db, const uint8_t *buf, uint32_t len)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL, hi = ~lo7;
	uint32_t i = 0, d = 0, need = db->need_digits;
	uint64_t v, x, dig, at;

	if (!db->gated)
		return 1;
	/*
	 * Eight bytes at a time: bit 7 of a byte of dig is set when the byte
	 * is '0'-'9' (its low seven bits in [0x30, 0x39], bit 7 clear), of at
	 * when the byte is '@' (exact zero-byte test of v ^ '@'s).
	 */
	while (i < len) {
		if (i + 8 <= len) {
			memcpy(&v, buf + i, 8);
			i += 8;
		} else if (len >= 8) {
			/*
			 * The last 1-7 bytes: the eight that end the buffer, shifted
			 * so that the ones already counted fall out (little-endian:
			 * they are the low bytes) and zeros, neither digit nor '@',
			 * come in.
			 */
			memcpy(&v, buf + len - 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			v >>= 8 * (8 - (len - i));
#else
			v <<= 8 * (8 - (len - i));
#endif
			i = len;
		} else {
			break;
		}
		x = v & lo7;
		dig = (x + 0x5050505050505050ULL) & ~(x + 0x4646464646464646ULL) & ~v & hi;
		/* one bit a byte at most: the multiply sums them into the top byte */
		d += (uint32_t)(((dig >> 7) * 0x0101010101010101ULL) >> 56);
		x = v ^ 0x4040404040404040ULL;
		at = ~(((x & lo7) + lo7) | x | lo7);
		if (d >= need || (at != 0 && db->need_at))
			return 1;
	}
	/* a buffer shorter than eight bytes, byte by byte */
	for (; i < len; i++) {
		d += (uint32_t)digit(buf[i]);
		if (d >= need || (buf[i] == '@' && db->need_at))
			return 1;
	}
	return 0;
}

int
tg_detect_scan(const struct tg_detect_db *db, struct tg_detect_scratch *s,
	       const uint8_t *buf, uint32_t len, struct tg_detect_match *out, unsigned max)
{
	struct ctx c;
	hs_error_t rc;

	if (db == NULL || s == NULL || s->db != db || (buf == NULL && len != 0) ||
	    (out == NULL && max != 0))
		return -EINVAL;
	if ((db->hs == NULL || len < db->min_len) && (db->lit == NULL || len < db->lit_min))
		return 0;
	if (max > INT_MAX)
		max = INT_MAX;
	c.db = db;
	c.buf = buf;
	c.len = len;
	/* the caller's array if it is the larger, else the work area */
	if (max >= TG_DETECT_WORK) {
		c.out = out;
		c.max = max;
	} else {
		c.out = s->work;
		c.max = TG_DETECT_WORK;
	}
	c.n = 0;
	c.err = 0;
	c.trigger = 0;
	c.pem_valid = 0;
	c.memo_valid = 0;

	if (db->hs != NULL && len >= db->min_len && gate(db, buf, len)) {
		rc = hs_scan(db->hs, (const char *)buf, len, 0, s->hs, on_match, &c);
		if (rc == HS_SCAN_TERMINATED && c.err != 0)
			return c.err;
		if (rc != HS_SUCCESS)
			return hs_errno(rc);
	}
	if (db->lit != NULL && len >= db->lit_min) {
		rc = hs_scan(db->lit, (const char *)buf, len, 0, s->hs, on_match, &c);
		if (rc == HS_SCAN_TERMINATED && c.err != 0)
			return c.err;
		if (rc != HS_SUCCESS)
			return hs_errno(rc);
	}
	if (c.trigger && db->locate != NULL) {
		rc = hs_scan(db->locate, (const char *)buf, len, 0, s->hs, on_locate, &c);
		if (rc == HS_SCAN_TERMINATED && c.err != 0)
			return c.err;
		if (rc != HS_SUCCESS)
			return hs_errno(rc);
	}
	if (c.n > max)
		return -ENOSPC;
	if (c.out != out && c.n > 0)
		memcpy(out, c.out, c.n * sizeof(*out));
	return (int)c.n;
}

static int
on_count(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
	 void *arg)
{
	(void)id;
	(void)from;
	(void)to;
	(void)flags;
	(*(long *)arg)++;
	return 0;
}

long
tg_detect_scan_raw(const struct tg_detect_db *db, struct tg_detect_scratch *s,
		   const uint8_t *buf, uint32_t len)
{
	long count = 0;
	hs_error_t rc;

	if (db == NULL || s == NULL || s->db != db || (buf == NULL && len != 0))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (db->hs != NULL) {
		rc = hs_scan(db->hs, (const char *)buf, len, 0, s->hs, on_count, &count);
		if (rc != HS_SUCCESS)
			return hs_errno(rc);
	}
	/* as tg_detect_scan() does: buffers too short for it skip lit */
	if (db->lit != NULL && len >= db->lit_min) {
		rc = hs_scan(db->lit, (const char *)buf, len, 0, s->hs, on_count, &count);
		if (rc != HS_SUCCESS)
			return hs_errno(rc);
	}
	return count;
}

/* ------------------------------------------------------------------ */
/* Masking                                                             */

static void
mask_keep4(uint8_t *b, const struct tg_detect_match *m)
{
	uint32_t i, alnum = 0, keep;

	for (i = m->start; i < m->end; i++)
		alnum += is(b[i], C_ALNUM);
	keep = alnum >= TG_DETECT_KEEP4_MIN ? 4 : 0;
	for (i = m->end; i > m->start; i--) {
		if (!is(b[i - 1], C_ALNUM))
			continue;
		if (keep > 0)
			keep--;
		else
			b[i - 1] = '*';
	}
}

void
tg_detect_mask(uint8_t *buf, const struct tg_detect_match *m, unsigned n,
	       enum tg_detect_mask_style style)
{
	unsigned int i;

	if (buf == NULL || m == NULL)
		return;
	for (i = 0; i < n; i++) {
		uint32_t s = m[i].start, e = m[i].end, at;

		if (e <= s)
			continue;
		switch (style) {
		case TG_DETECT_MASK_KEEP_LAST4:
			mask_keep4(buf, &m[i]);
			break;
		case TG_DETECT_MASK_EMAIL_DOMAIN:
			at = e;
			while (at > s && buf[at - 1] != '@')
				at--;
			memset(buf + s, '*', (at > s ? at - 1 : e) - s);
			break;
		case TG_DETECT_MASK_FULL_X:
			memset(buf + s, 'X', e - s);
			break;
		case TG_DETECT_MASK_FULL:
		default:
			memset(buf + s, '*', e - s);
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Compile                                                             */

static unsigned int
hs_flags_of(uint32_t f)
{
	unsigned int h = 0;

	if (f & TG_DETECT_F_CASELESS)
		h |= HS_FLAG_CASELESS;
	if (f & TG_DETECT_F_DOTALL)
		h |= HS_FLAG_DOTALL;
	if (f & TG_DETECT_F_MULTILINE)
		h |= HS_FLAG_MULTILINE;
	if (f & TG_DETECT_F_UTF8)
		h |= HS_FLAG_UTF8 | HS_FLAG_UCP;
	return h;
}

#define REGEX_FLAGS \
	(TG_DETECT_F_CASELESS | TG_DETECT_F_DOTALL | TG_DETECT_F_MULTILINE | TG_DETECT_F_UTF8)

static const char *
spec_name(const struct tg_detect_spec *sp)
{
	if (sp->name != NULL)
		return sp->name;
	if (sp->kind > TG_DETECT_NONE && sp->kind < TG_DETECT_KIND_MAX)
		return tg_detect_kind_names[sp->kind];
	return "?";
}

/* Checks specs[0..n): kinds, flags, names, unique ids and built-ins. */
static int
check_specs(const struct tg_detect_spec *specs, unsigned int n, char *err, size_t errlen)
{
	unsigned int i, j;
	int seen[TG_DETECT_KIND_MAX] = { 0 };

	if (n > TG_DETECT_SPECS_MAX) {
		tg_seterr(err, errlen, "%u detectors, at most %u", n, TG_DETECT_SPECS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		const struct tg_detect_spec *sp = &specs[i];
		uint32_t allowed = 0;

		if (sp->kind <= TG_DETECT_NONE || sp->kind >= TG_DETECT_KIND_MAX) {
			tg_seterr(err, errlen, "detector %u: unknown kind %d", sp->id, (int)sp->kind);
			return -EINVAL;
		}
		if (sp->name != NULL && strnlen(sp->name, TG_DETECT_NAME_MAX) >= TG_DETECT_NAME_MAX) {
			tg_seterr(err, errlen, "detector %u: name longer than %d bytes", sp->id,
			       TG_DETECT_NAME_MAX - 1);
			return -EINVAL;
		}
		if (sp->kind == TG_DETECT_REGEX) {
			allowed = REGEX_FLAGS;
			if (sp->pattern == NULL || sp->pattern[0] == '\0') {
				tg_seterr(err, errlen, "detector %u (%s): empty pattern", sp->id,
				       spec_name(sp));
				return -EINVAL;
			}
		} else {
			if (sp->kind == TG_DETECT_SSN)
				allowed = TG_DETECT_F_SSN_NODASH;
			if (sp->pattern != NULL) {
				tg_seterr(err, errlen, "detector %u (%s): a built-in takes no pattern",
				       sp->id, spec_name(sp));
				return -EINVAL;
			}
			if (seen[sp->kind]++) {
				tg_seterr(err, errlen, "detector %u: built-in %s given twice", sp->id,
				       tg_detect_kind_names[sp->kind]);
				return -EINVAL;
			}
		}
		if (sp->flags & ~allowed) {
			tg_seterr(err, errlen, "detector %u (%s): flags 0x%x not valid for %s", sp->id,
			       spec_name(sp), (unsigned int)(sp->flags & ~allowed),
			       tg_detect_kind_names[sp->kind]);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (specs[j].id == sp->id) {
				tg_seterr(err, errlen, "detector %u: id used twice", sp->id);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/*
 * Compile-time arrays for hs_compile_multi(), one set per database (enum
 * tg_detect_hs), freed once the databases are compiled or supplied. map:
 * array index -> spec index, for errors.
 */
struct hs_list {
	const char **re;
	unsigned int *flags;
	unsigned int *ids;
	uint16_t *map;
	unsigned int n;
};

struct build {
	struct hs_list l[TG_DETECT_HS_MAX];
};

static void
build_free(struct build *bd)
{
	unsigned int i;

	for (i = 0; i < TG_DETECT_HS_MAX; i++) {
		free(bd->l[i].re);
		free(bd->l[i].flags);
		free(bd->l[i].ids);
		free(bd->l[i].map);
	}
}

static int
build_alloc(struct build *bd, unsigned int n)
{
	/* at most two expressions per spec (SSN without dashes) */
	size_t cap = (size_t)n * 2 + 1;
	unsigned int i;

	memset(bd, 0, sizeof(*bd));
	for (i = 0; i < TG_DETECT_HS_MAX; i++) {
		struct hs_list *l = &bd->l[i];

		l->re = calloc(cap, sizeof(*l->re));
		l->flags = calloc(cap, sizeof(*l->flags));
		l->ids = calloc(cap, sizeof(*l->ids));
		l->map = calloc(cap, sizeof(*l->map));
		if (!l->re || !l->flags || !l->ids || !l->map) {
			build_free(bd);
			return -ENOMEM;
		}
	}
	return 0;
}

static void
list_add(struct hs_list *l, const char *re, unsigned int flags, unsigned int id, uint16_t spec)
{
	l->re[l->n] = re;
	l->flags[l->n] = flags;
	l->ids[l->n] = id;
	l->map[l->n] = spec;
	l->n++;
}

/*
 * Adds one prefilter expression, to the literal prefilter if lit_min is
 * not 0 (a built-in's), else to the main one. Its Hyperscan id, in
 * either, is its index in db->expr.
 */
static int
add_expr(struct tg_detect_db *db, struct build *bd, const struct tg_detect_spec *sp,
	 uint16_t spec, const char *re, unsigned int flags, enum sub sub, uint32_t lit_min,
	 char *err, size_t errlen)
{
	struct hs_list *locate = &bd->l[TG_DETECT_HS_LOCATE];
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	struct expr *x = &db->expr[db->nexpr];

	if (hs_expression_info(re, flags, &info, &cerr) != HS_SUCCESS) {
		tg_seterr(err, errlen, "detector %u (%s): pattern \"%s\": %s", sp->id, spec_name(sp),
		       re, cerr != NULL ? cerr->message : "refused");
		hs_free_compile_error(cerr);
		return -EINVAL;
	}
	x->spec = spec;
	x->sub = (uint8_t)sub;
	x->width = 0;
	if (lit_min != 0) {
		free(info);
		if (lit_min < db->lit_min)
			db->lit_min = lit_min;
		list_add(&bd->l[TG_DETECT_HS_LIT], re, flags, db->nexpr++, spec);
		return 0;
	}
	if (info->min_width < db->min_len)
		db->min_len = info->min_width;
	if (sub == SUB_RX_FIXED) {
		db->gated = 0;	/* a user regex may match anything */
	} else if (sub == SUB_EMAIL) {
		db->need_at = 1;
	} else if (sub_digits[sub] < db->need_digits) {
		db->need_digits = sub_digits[sub];
	}
	if (sub == SUB_RX_FIXED) {
		if (info->max_width == info->min_width && info->max_width != UINT_MAX) {
			x->width = info->max_width;
		} else {
			/* variable width: a trigger here, the real thing in locate */
			x->sub = SUB_RX_TRIGGER;
			db->locate_spec[locate->n] = spec;
			list_add(locate, re, flags | HS_FLAG_SOM_LEFTMOST, locate->n, spec);
			flags |= HS_FLAG_SINGLEMATCH;
		}
	}
	free(info);
	list_add(&bd->l[TG_DETECT_HS_MAIN], re, flags, db->nexpr++, spec);
	return 0;
}

/*
 * Checks specs[0..n) and builds every table of a database of them and the
 * expression list of each of its Hyperscan databases: all that
 * tg_detect_compile() does but compiling. The lists point into specs and
 * builtins[]; bd is freed by the caller on success.
 */
static int
plan(const struct tg_detect_spec *specs, unsigned int n, struct tg_detect_db **out,
     struct build *bd, char *err, size_t errlen)
{
	struct tg_detect_db *db;
	unsigned int i, k;
	int rc;

	if ((rc = check_specs(specs, n, err, errlen)) < 0)
		return rc;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		goto err_nomem;
	db->min_len = UINT32_MAX;
	db->lit_min = UINT32_MAX;
	db->gated = 1;
	db->need_digits = UINT32_MAX;
	db->nspecs = n;
	db->specs = calloc(n + 1, sizeof(*db->specs));
	db->expr = calloc((size_t)n * 2 + 1, sizeof(*db->expr));
	db->locate_spec = calloc((size_t)n * 2 + 1, sizeof(*db->locate_spec));
	if (db->specs == NULL || db->expr == NULL || db->locate_spec == NULL)
		goto err_db;
	if (build_alloc(bd, n) < 0)
		goto err_db;

	for (i = 0; i < n; i++) {
		const struct tg_detect_spec *sp = &specs[i];
		struct spec_rt *rt = &db->specs[i];

		rt->id = sp->id;
		rt->kind = (uint8_t)sp->kind;
		rt->flags = sp->flags;
		snprintf(rt->name, sizeof(rt->name), "%s", spec_name(sp));

		if (sp->kind == TG_DETECT_REGEX) {
			rc = add_expr(db, bd, sp, (uint16_t)i, sp->pattern,
				      hs_flags_of(sp->flags), SUB_RX_FIXED, 0, err, errlen);
			if (rc < 0)
				goto err_build;
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(builtins); k++) {
			if (builtins[k].kind != sp->kind)
				continue;
			if (builtins[k].sub == SUB_SSN_NODASH &&
			    !(sp->flags & TG_DETECT_F_SSN_NODASH))
				continue;
			rc = add_expr(db, bd, sp, (uint16_t)i, builtins[k].re, 0, builtins[k].sub,
				      builtins[k].lit_min, err, errlen);
			if (rc < 0)
				goto err_build;
		}
	}
	db->nlocate = bd->l[TG_DETECT_HS_LOCATE].n;
	if (db->min_len == UINT32_MAX || db->min_len == 0)
		db->min_len = 1;
	*out = db;
	return 0;

err_build:
	build_free(bd);
	tg_detect_free(db);
	return rc;
err_db:
	tg_detect_free(db);
err_nomem:
	tg_seterr(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Where database which of db is kept. */
static hs_database_t **
hs_slot(struct tg_detect_db *db, enum tg_detect_hs which)
{
	switch (which) {
	case TG_DETECT_HS_MAIN:
		return &db->hs;
	case TG_DETECT_HS_LIT:
		return &db->lit;
	default:
		return &db->locate;
	}
}

int
tg_detect_build(const struct tg_detect_spec *specs, unsigned n, tg_detect_hs_fn fn, void *arg,
		struct tg_detect_db **out, char *err, size_t errlen)
{
	struct tg_detect_db *db;
	struct build bd;
	unsigned int w;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (fn == NULL || (specs == NULL && n != 0)) {
		tg_seterr(err, errlen, "no database source or no specs");
		return -EINVAL;
	}
	tg_seterr(err, errlen, "%s", "");
	if ((rc = plan(specs, n, &db, &bd, err, errlen)) < 0)
		return rc;
	for (w = 0; w < TG_DETECT_HS_MAX; w++) {
		const struct hs_list *l = &bd.l[w];
		const struct tg_detect_exprs x = {
			.re = l->re, .flags = l->flags, .ids = l->ids, .spec = l->map, .n = l->n,
		};
		void *hs = NULL;

		if (l->n == 0)
			continue;
		if ((rc = fn(arg, (enum tg_detect_hs)w, &x, out != NULL ? &hs : NULL, err,
			     errlen)) < 0)
			goto err;
		if (out != NULL && hs == NULL) {
			tg_seterr(err, errlen, "database %u of %u detectors not supplied", w, n);
			rc = -EINVAL;
			goto err;
		}
		*hs_slot(db, (enum tg_detect_hs)w) = hs;
	}
	build_free(&bd);
	if (out != NULL)
		*out = db;
	else
		tg_detect_free(db);
	return 0;

err:
	build_free(&bd);
	tg_detect_free(db);
	return rc;
}

/* specs[0..n), for compile errors */
struct compile_arg {
	const struct tg_detect_spec *specs;
	unsigned int n;
};

/* tg_detect_compile()'s source of databases: a compile error is mapped back to its detector. */
static int
compile_hs(void *arg, enum tg_detect_hs which, const struct tg_detect_exprs *x, void **hs,
	   char *err, size_t errlen)
{
	const struct compile_arg *a = arg;
	const char *what = which == TG_DETECT_HS_LOCATE ? "start of match for " : "";
	hs_compile_error_t *cerr = NULL;
	hs_database_t *db = NULL;
	const char *msg;

	if (hs_compile_multi(x->re, x->flags, x->ids, x->n, HS_MODE_BLOCK, NULL, &db, &cerr) ==
	    HS_SUCCESS) {
		*hs = db;
		return 0;
	}
	msg = cerr != NULL ? cerr->message : "failed";
	if (cerr != NULL && cerr->expression >= 0 && (unsigned int)cerr->expression < x->n) {
		const struct tg_detect_spec *sp = &a->specs[x->spec[cerr->expression]];

		tg_seterr(err, errlen, "detector %u (%s): %spattern \"%s\": %s", sp->id,
		       spec_name(sp), what, x->re[cerr->expression], msg);
	} else {
		tg_seterr(err, errlen, "%scompiling %u detectors: %s", what, a->n, msg);
	}
	hs_free_compile_error(cerr);
	return -EINVAL;
}

int
tg_detect_compile(const struct tg_detect_spec *specs, unsigned n, struct tg_detect_db **out,
		  char *err, size_t errlen)
{
	struct compile_arg a = { .specs = specs, .n = n };

	if (out == NULL) {
		tg_seterr(err, errlen, "no output or no specs");
		return -EINVAL;
	}
	return tg_detect_build(specs, n, compile_hs, &a, out, err, errlen);
}

void
tg_detect_free(struct tg_detect_db *db)
{
	if (db == NULL)
		return;
	hs_free_database(db->hs);
	hs_free_database(db->lit);
	hs_free_database(db->locate);
	free(db->specs);
	free(db->expr);
	free(db->locate_spec);
	free(db);
}

const void *
tg_detect_hs_db(const struct tg_detect_db *db, enum tg_detect_hs which)
{
	if (db == NULL || (unsigned int)which >= TG_DETECT_HS_MAX)
		return NULL;
	return *hs_slot((struct tg_detect_db *)db, which);
}

const char *
tg_detect_name(const struct tg_detect_db *db, uint32_t id)
{
	unsigned int i;

	if (db == NULL)
		return NULL;
	for (i = 0; i < db->nspecs; i++)
		if (db->specs[i].id == id)
			return db->specs[i].name;
	return NULL;
}

size_t
tg_detect_db_bytes(const struct tg_detect_db *db)
{
	size_t a = 0, b = 0, c = 0;

	if (db == NULL)
		return 0;
	if (db->hs != NULL)
		hs_database_size(db->hs, &a);
	if (db->lit != NULL)
		hs_database_size(db->lit, &b);
	if (db->locate != NULL)
		hs_database_size(db->locate, &c);
	return a + b + c;
}

struct tg_detect_scratch *
tg_detect_scratch_alloc(const struct tg_detect_db *db)
{
	struct tg_detect_scratch *s;

	if (db == NULL) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->db = db;
	/* one Hyperscan scratch grown to fit every database */
	if ((db->hs != NULL && hs_alloc_scratch(db->hs, &s->hs) != HS_SUCCESS) ||
	    (db->lit != NULL && hs_alloc_scratch(db->lit, &s->hs) != HS_SUCCESS) ||
	    (db->locate != NULL && hs_alloc_scratch(db->locate, &s->hs) != HS_SUCCESS)) {
		hs_free_scratch(s->hs);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

struct tg_detect_scratch *
tg_detect_scratch_clone(const struct tg_detect_scratch *proto)
{
	struct tg_detect_scratch *s;

	if (proto == NULL) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->db = proto->db;
	if (proto->hs != NULL && hs_clone_scratch(proto->hs, &s->hs) != HS_SUCCESS) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void
tg_detect_scratch_free(struct tg_detect_scratch *s)
{
	if (s == NULL)
		return;
	hs_free_scratch(s->hs);
	free(s);
}
