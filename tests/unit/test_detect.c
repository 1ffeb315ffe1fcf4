/* SPDX-License-Identifier: MIT */
/*
 * test_detect.c — unit tests of the sensitive-value detectors (detect.c):
 * compilation and its error texts, each built-in detector on values that
 * must and must not match, values in free text, adjacent and overlapping
 * candidates, buffer edges, the match array running out, the masking
 * styles, user regexes of fixed and variable width, and a seeded sweep of
 * random text with planted values; databases supplied from elsewhere
 * (tg_detect_build(): serialised, deserialised, then the same answers as
 * compiled ones; a source's errors; databases with wrong ids, which the
 * scan refuses).
 *
 * The test values are the usual public test numbers: card numbers from
 * the card schemes' test ranges (4111 1111 1111 1111 is Visa's), IBANs
 * from the examples of the SWIFT IBAN registry, SSNs outside any issued
 * range, phone numbers from the fictional ranges (555-01xx aside, Ofcom's
 * 020 7946 0xxx drama range). Each was checked with an independent Luhn and
 * mod-97 implementation; a number that must fail says why beside it. AWS
 * key ids are the documentation's AKIAIOSFODNN7EXAMPLE and made-up ones;
 * JWTs were built with Python's base64.urlsafe_b64encode and carry the
 * JSON they encode beside them; PEM bodies are short made-up base64.
 *
 * Every scan reads a heap copy of exactly the input's length, so ASan
 * reports any byte read past the end. Deterministic: the random sweep uses
 * a fixed-seed xorshift.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hs/hs.h>

#include "detect.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum { ID_CARD = 1, ID_IBAN, ID_EMAIL, ID_SSN, ID_PHONE, ID_ORD, ID_SECRET, ID_AWS, ID_JWT,
       ID_PKEY };

#define MAXM 64

/* All built-ins, SSN with dashes only. */
static const struct tg_detect_spec builtin_specs[] = {
	{ .id = ID_CARD, .kind = TG_DETECT_CARD },
	{ .id = ID_IBAN, .kind = TG_DETECT_IBAN },
	{ .id = ID_EMAIL, .kind = TG_DETECT_EMAIL },
	{ .id = ID_SSN, .kind = TG_DETECT_SSN },
	{ .id = ID_PHONE, .kind = TG_DETECT_PHONE },
	{ .id = ID_AWS, .kind = TG_DETECT_AWS_KEY },
	{ .id = ID_JWT, .kind = TG_DETECT_JWT },
	{ .id = ID_PKEY, .kind = TG_DETECT_PRIVATE_KEY },
};

struct fixture {
	struct tg_detect_db *db;
	struct tg_detect_scratch *s;
};

static struct fixture all;

static void
fixture_make(struct fixture *f, const struct tg_detect_spec *sp, unsigned int n)
{
	char err[256];
	int rc = tg_detect_compile(sp, n, &f->db, err, sizeof(err));

	if (rc != 0)
		fail_msg("compile: %d: %s", rc, err);
	f->s = tg_detect_scratch_alloc(f->db);
	assert_non_null(f->s);
}

static void
fixture_free(struct fixture *f)
{
	tg_detect_scratch_free(f->s);
	tg_detect_free(f->db);
	f->s = NULL;
	f->db = NULL;
}

static int
group_setup(void **state)
{
	(void)state;
	fixture_make(&all, builtin_specs, ARRAY_SIZE(builtin_specs));
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	fixture_free(&all);
	return 0;
}

/* Heap copy of exactly len bytes (one byte for len 0, never read). */
static uint8_t *
heap_copy(const void *p, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	if (len)
		memcpy(b, p, len);
	return b;
}

/* Checks the invariants of tg_detect_scan()'s output. */
static void
check_out(const struct tg_detect_match *m, int n, uint32_t len)
{
	int i;

	for (i = 0; i < n; i++) {
		assert_true(m[i].start < m[i].end);
		assert_true(m[i].end <= len);
		if (i > 0)
			assert_true(m[i - 1].end <= m[i].start);
	}
}

static int
scan_f(const struct fixture *f, const char *str, size_t len, struct tg_detect_match *m,
       unsigned int max)
{
	uint8_t *b = heap_copy(str, len);
	int n = tg_detect_scan(f->db, f->s, b, (uint32_t)len, m, max);

	free(b);
	if (n > 0)
		check_out(m, n, (uint32_t)len);
	return n;
}

/*
 * Expects exactly the matches listed: id and text, in order; each text is
 * searched from the end of the previous match.
 */
struct want {
	uint32_t id;
	const char *text;
};

static void
expect_f(const struct fixture *f, const char *str, const struct want *w, unsigned int nw)
{
	struct tg_detect_match m[MAXM];
	int n = scan_f(f, str, strlen(str), m, MAXM);
	const char *from = str;
	unsigned int i;

	if (n != (int)nw) {
		int k;

		for (k = 0; k < n; k++)
			print_message("  got id %u [%u,%u) \"%.*s\"\n", m[k].id, m[k].start, m[k].end,
				      (int)(m[k].end - m[k].start), str + m[k].start);
		fail_msg("\"%s\": %d matches, want %u", str, n, nw);
	}
	for (i = 0; i < nw; i++) {
		const char *at = strstr(from, w[i].text);

		assert_non_null(at);
		if (m[i].id != w[i].id || m[i].start != (uint32_t)(at - str) ||
		    m[i].end != (uint32_t)(at - str + strlen(w[i].text)))
			fail_msg("\"%s\": match %u is id %u \"%.*s\", want id %u \"%s\"", str, i,
				 m[i].id, (int)(m[i].end - m[i].start), str + m[i].start, w[i].id,
				 w[i].text);
		from = at + strlen(w[i].text);
	}
}

static void
expect_one(const char *str, uint32_t id, const char *text)
{
	struct want w = { id, text };

	expect_f(&all, str, &w, 1);
}

static void
expect_whole(const char *str, uint32_t id)
{
	expect_one(str, id, str);
}

static void
expect_none_f(const struct fixture *f, const char *str)
{
	expect_f(f, str, NULL, 0);
}

static void
expect_none(const char *str)
{
	expect_none_f(&all, str);
}

/* Sets the last of digits[0..n) so the whole passes Luhn. */
static void
luhn_fill(char *d, size_t n)
{
	unsigned int sum = 0, k;
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		k = (unsigned int)(d[n - 2 - i] - '0');
		if ((i & 1) == 0) {
			k *= 2;
			if (k > 9)
				k -= 9;
		}
		sum += k;
	}
	d[n - 1] = (char)('0' + (10 - sum % 10) % 10);
	d[n] = '\0';
}

/* ------------------------------------------------------------------ */

static void
test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(tg_detect_kind_names[TG_DETECT_CARD], "card");
	assert_string_equal(tg_detect_kind_names[TG_DETECT_REGEX], "regex");
	/* the policy loader maps these names to kinds */
	assert_string_equal(tg_detect_kind_names[TG_DETECT_AWS_KEY], "aws_access_key");
	assert_string_equal(tg_detect_kind_names[TG_DETECT_JWT], "jwt");
	assert_string_equal(tg_detect_kind_names[TG_DETECT_PRIVATE_KEY], "private_key");
	/* the kinds that were there before keep their values */
	assert_int_equal(TG_DETECT_CARD, 1);
	assert_int_equal(TG_DETECT_PHONE, 5);
	assert_int_equal(TG_DETECT_REGEX, 6);
	assert_string_equal(tg_detect_name(all.db, ID_IBAN), "iban");
	assert_string_equal(tg_detect_name(all.db, ID_JWT), "jwt");
	assert_null(tg_detect_name(all.db, 999));
	assert_true(tg_detect_db_bytes(all.db) > 0);
}

static void
test_card_valid(void **state)
{
	static const char *const cards[] = {
		"4111111111111111",		/* Visa, 16 */
		"4111 1111 1111 1111",
		"4111-1111-1111-1111",
		"5500 0000 0000 0004",		/* Mastercard 5-series */
		"2221 0000 0000 0009",		/* Mastercard 2-series */
		"378282246310005",		/* Amex, 15 */
		"3782 822463 10005",		/* Amex grouping 4-6-5 */
		"30569309025904",		/* Diners, 14 */
		"4222222222222",		/* Visa, 13 */
		"6011-0000-0000-0004",		/* Discover */
		"3530111333300000",		/* JCB */
		"6234567890123456780",		/* 19 digits */
		"6234 5678 9012 3456 780",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cards); i++)
		expect_whole(cards[i], ID_CARD);
	/* punctuation around it does not glue */
	expect_one("card: 4111111111111111.", ID_CARD, "4111111111111111");
	expect_one("(4111-1111-1111-1111)", ID_CARD, "4111-1111-1111-1111");
	expect_one("'4111 1111 1111 1111',", ID_CARD, "4111 1111 1111 1111");
	expect_one("no=-4111111111111111;", ID_CARD, "4111111111111111");
}

static void
test_card_lengths_and_iin(void **state)
{
	char d[32];
	unsigned int len, first;

	(void)state;
	/* Luhn-valid numbers of 12 to 20 digits: only 13-19 are cards */
	for (len = 12; len <= 20; len++) {
		memset(d, '1', sizeof(d));
		d[0] = '4';
		luhn_fill(d, len);
		if (len >= 13 && len <= 19)
			expect_whole(d, ID_CARD);
		else
			expect_none(d);
	}
	/* Luhn-valid, 16 digits, every first digit: only 2-7 are card IINs */
	for (first = 0; first <= 9; first++) {
		memset(d, '3', sizeof(d));
		d[0] = (char)('0' + first);
		luhn_fill(d, 16);
		if (first >= 2 && first <= 7)
			expect_whole(d, ID_CARD);
		else
			expect_none(d);
	}
}

static void
test_card_invalid(void **state)
{
	static const char *const bad[] = {
		"4111111111111112",		/* Luhn: last digit off by one */
		"4111 1111 1111 1121",		/* Luhn: one digit changed */
		"5500 0000 0000 0005",
		"4111  1111 1111 1111",		/* double space breaks the run */
		"4111_1111_1111_1111",		/* not a separator */
		"x4111111111111111",		/* glued to a word */
		"4111111111111111x",
		"0.4111111111111111",		/* a decimal fraction */
		"4111111111111111.5",
		"12,4111111111111111",		/* a thousands group */
		"4111111111111111,25",
		"41111111111111110",		/* 17 digits, Luhn fails */
		"4111 1111 1111 111",		/* 15 digits, Luhn fails */
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_none(bad[i]);
}

static void
test_card_in_longer_run(void **state)
{
	struct want two[] = { { ID_CARD, "4111111111111111" }, { ID_CARD, "5500000000000004" } };
	struct want two_g[] = { { ID_CARD, "4111 1111 1111 1111" },
				{ ID_CARD, "5500 0000 0000 0004" } };

	(void)state;
	/* a trailing group that is not part of the number */
	expect_one("order 4111 1111 1111 1111 2020 shipped", ID_CARD, "4111 1111 1111 1111");
	/* two numbers in one run, one separator apart: two matches */
	expect_f(&all, "4111111111111111 5500000000000004", two, 2);
	expect_f(&all, "4111 1111 1111 1111 5500 0000 0000 0004", two_g, 2);
	/* one 32-digit number is no card */
	expect_none("41111111111111115500000000000004");
}

static const char *const good_ibans[] = {
	"DE89 3704 0044 0532 0130 00",
	"DE89370400440532013000",
	"GB29 NWBK 6016 1331 9268 19",
	"GB29NWBK60161331926819",
	"FR14 2004 1010 0505 0001 3M02 606",
	"NL91 ABNA 0417 1643 00",
	"BE68 5390 0754 7034",			/* 16 */
	"CH93 0076 2011 6238 5295 7",		/* 21 */
	"NO93 8601 1117 947",			/* 15, the shortest */
	"ES91 2100 0418 4502 0005 1332",
	"IT60 X054 2811 1010 0000 0123 456",
	"MT84 MALT 0110 0001 2345 MTLC AST0 01S",
	"PL61 1090 1014 0000 0712 1981 2874",
	"LC55 HEMM 0001 0001 0012 0012 0002 3015",	/* 32 */
	"AT611904300234573201",
	"SE4550000000058398257466",
};

static void
test_iban_valid(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good_ibans); i++)
		expect_whole(good_ibans[i], ID_IBAN);
	expect_one("IBAN: DE89 3704 0044 0532 0130 00.", ID_IBAN, "DE89 3704 0044 0532 0130 00");
	expect_one("IBAN DE89370400440532013000 EUR", ID_IBAN, "DE89370400440532013000");
	expect_one("PAY TO NL91 ABNA 0417 1643 00 NOW", ID_IBAN, "NL91 ABNA 0417 1643 00");
}

/*
 * With the IBAN detector alone: a mangled IBAN's digits can still be a
 * Luhn-valid card number ("DE89 3704 0044 0532 0130 01" holds one).
 */
static void
test_iban_invalid(void **state)
{
	static const struct tg_detect_spec sp[] = { { .id = ID_IBAN, .kind = TG_DETECT_IBAN } };
	struct fixture f;
	char b[64];
	size_t i, k;

	(void)state;
	fixture_make(&f, sp, ARRAY_SIZE(sp));
	/* every good IBAN with one digit changed: mod 97 catches it */
	for (i = 0; i < ARRAY_SIZE(good_ibans); i++) {
		snprintf(b, sizeof(b), "%s", good_ibans[i]);
		for (k = strlen(b); k > 4; k--)
			if (b[k - 1] >= '0' && b[k - 1] <= '9')
				break;
		b[k - 1] = (char)('0' + (b[k - 1] - '0' + 1) % 10);
		expect_none_f(&f, b);
	}
	expect_none_f(&f, "DE89 3704 0044 0532 0130 01");	/* last digit off by one */
	expect_none_f(&f, "DE88 3704 0044 0532 0130 00");
	expect_none_f(&f, "DE5137040044053201300");		/* mod 97 right, 21 bytes: DE is 22 */
	expect_none_f(&f, "ZZ22370400440532013000");		/* mod 97 right, no such country */
	expect_none_f(&f, "de89 3704 0044 0532 0130 00");	/* lower case */
	expect_none_f(&f, "XDE89370400440532013000");	/* glued */
	expect_none_f(&f, "DE89370400440532013000X");
	expect_none_f(&f, "DE89 37040044 0532 0130 00");	/* broken grouping */
	expect_none_f(&f, "DE89 3704 0044 0532 0130 001");	/* one byte too many */
	/* a short last group may be followed by more words */
	expect_f(&f, "DE89 3704 0044 0532 0130 00 EUR",
		 (struct want[]){ { ID_IBAN, "DE89 3704 0044 0532 0130 00" } }, 1);
	fixture_free(&f);
}

static void
test_email(void **state)
{
	static const char *const good[] = {
		"x@example.org",
		"john.doe+tag@mail.example.co.uk",
		"a_b%c-d@sub-domain.example.com",
		"JOHN.DOE@EXAMPLE.COM",
		"u1@x1.io",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		expect_whole(good[i], ID_EMAIL);
	expect_one("<john@example.org>", ID_EMAIL, "john@example.org");
	expect_one("mail john@example.org.", ID_EMAIL, "john@example.org");
	expect_one("..john@example.org", ID_EMAIL, "john@example.org");
	expect_one("a..john@example.org", ID_EMAIL, "john@example.org");
	expect_one("john@example.org.123", ID_EMAIL, "john@example.org");
	expect_one("'ann@example.net'", ID_EMAIL, "ann@example.net");
	expect_one("ann@example.net;bob", ID_EMAIL, "ann@example.net");

	expect_none("john@localhost");		/* one label */
	expect_none("john@example.c");		/* one-letter TLD */
	expect_none("john@example.123");	/* numeric TLD */
	expect_none("john.@example.org");	/* trailing dot in the local part */
	expect_none("john@-example.org");	/* label starts with '-' */
	expect_none("john@example-.org");	/* label ends with '-' */
	expect_none("@example.org");
	expect_none("john@@example.org");
	expect_none("john at example dot org");
	/* a local part of 65 bytes */
	expect_none("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org");
	expect_whole("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org",
		     ID_EMAIL);
}

static void
test_ssn(void **state)
{
	struct fixture nodash;
	static const struct tg_detect_spec sp[] = {
		{ .id = ID_SSN, .kind = TG_DETECT_SSN, .flags = TG_DETECT_F_SSN_NODASH },
	};

	(void)state;
	expect_whole("123-45-6789", ID_SSN);
	expect_whole("078-05-1120", ID_SSN);
	expect_whole("899-99-9999", ID_SSN);
	expect_one("SSN: 123-45-6789.", ID_SSN, "123-45-6789");
	/* the SSA rules, one each */
	expect_none("000-12-3456");	/* area 000 */
	expect_none("666-12-3456");	/* area 666 */
	expect_none("900-12-3456");	/* area 9xx */
	expect_none("999-12-3456");
	expect_none("123-00-4567");	/* group 00 */
	expect_none("123-45-0000");	/* serial 0000 */
	/* glued to more digits or letters */
	expect_none("1123-45-6789");
	expect_none("123-45-67890");
	expect_none("A123-45-6789");
	expect_none("123-45-6789-1");
	expect_none("1.123-45-6789");
	/* without dashes only when configured */
	expect_none("123456789");
	fixture_make(&nodash, sp, ARRAY_SIZE(sp));
	expect_f(&nodash, "ssn 123456789.", (struct want[]){ { ID_SSN, "123456789" } }, 1);
	expect_f(&nodash, "123-45-6789", (struct want[]){ { ID_SSN, "123-45-6789" } }, 1);
	expect_none_f(&nodash, "000123456");
	expect_none_f(&nodash, "666123456");
	expect_none_f(&nodash, "123006789");
	expect_none_f(&nodash, "123450000");
	expect_none_f(&nodash, "1234567890");
	fixture_free(&nodash);
}

static void
test_phone(void **state)
{
	static const char *const good[] = {
		"+44 20 7946 0958",
		"+442079460958",
		"+1 415 555 2671",
		"+1-415-555-2671",
		"+1.415.555.2671",
		"+49 30 12345678",
		"+353 1 234 5678",
		"(415) 555-2671",
		"(415)555-2671",
		"415-555-2671",
		"415.555.2671",
		"415 555 2671",
		"1-415-555-2671",
		"1 (415) 555-2671",
		"+1 (415) 555-2671",
		"+1(415)555-2671",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		expect_whole(good[i], ID_PHONE);
	expect_one("call +44 20 7946 0958, ask for Ann", ID_PHONE, "+44 20 7946 0958");
	expect_one("tel:415-555-2671", ID_PHONE, "415-555-2671");

	expect_none("+0 123 456 7890");		/* country code 0 */
	expect_none("+123 4567");		/* 7 digits */
	expect_none("+1234567890123456");	/* 16 digits */
	expect_none("4155552671");		/* bare ten digits */
	expect_none("415-155-2671");		/* exchange 1xx */
	expect_none("115-555-2671");		/* area 1xx */
	expect_none("415-555-26711");
	expect_none("a415-555-2671");
	expect_none("5415-555-2671");
	expect_none("x+44 20 7946 0958");
}

/* ------------------------------------------------------------------ */
/* AWS access key ids                                                  */

static void
test_aws(void **state)
{
	static const char *const good[] = {
		"AKIAIOSFODNN7EXAMPLE",		/* the AWS documentation's */
		"ASIAY34FZKBOKMUTVV7A",		/* temporary (STS) */
		"ABIAZZZZ2222777AAAAA",		/* STS service bearer token */
		"ACCAQQQQRRRRSSSSTTTT",		/* context-specific credential */
	};
	struct want two[] = { { ID_AWS, "AKIAIOSFODNN7EXAMPLE" },
			      { ID_AWS, "ASIAY34FZKBOKMUTVV7A" } };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		expect_whole(good[i], ID_AWS);
	expect_one("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", ID_AWS, "AKIAIOSFODNN7EXAMPLE");
	expect_one("{\"AccessKeyId\":\"AKIAIOSFODNN7EXAMPLE\"}", ID_AWS, "AKIAIOSFODNN7EXAMPLE");
	expect_one("?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1", ID_AWS,
		   "AKIAIOSFODNN7EXAMPLE");
	/* '_' is no letter or digit */
	expect_one("key_AKIAIOSFODNN7EXAMPLE", ID_AWS, "AKIAIOSFODNN7EXAMPLE");
	expect_f(&all, "AKIAIOSFODNN7EXAMPLE,ASIAY34FZKBOKMUTVV7A", two, 2);
	expect_f(&all, "AKIAIOSFODNN7EXAMPLE ASIAY34FZKBOKMUTVV7A", two, 2);

	expect_none("AKIAIOSFODNN7EXAMP");		/* prefix and 14 */
	expect_none("AKIAIOSFODNN7EXAMPL");		/* prefix and 15 */
	expect_none("AKIAIOSFODNN7EXAMPLEE");		/* prefix and 17 */
	expect_none("akiaiosfodnn7example");		/* lower case */
	expect_none("AKIAiosfodnn7example");
	expect_none("AkiaIOSFODNN7EXAMPLE");
	expect_none("AKIAIOSFODNN8EXAMPLE");		/* 8 is not base32 */
	expect_none("AKIAIOSFODNN0EXAMPLE");		/* nor 0 */
	expect_none("AKIAIOSFODNN1EXAMPLE");		/* nor 1 */
	expect_none("xAKIAIOSFODNN7EXAMPLE");		/* inside a word */
	expect_none("9AKIAIOSFODNN7EXAMPLE");
	expect_none("AKIAIOSFODNN7EXAMPLE9");
	expect_none("AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPLE");	/* 40 bytes: no key */
	expect_none("AIDAJQABLZS4A3QDU576");		/* IAM user id: names, no secret */
	expect_none("AROADBQP57FF2AEXAMPLE");		/* IAM role id */
	expect_none("AGPAIOSFODNN7EXAMPLE");		/* IAM group id */
	expect_none("ASIA PACIFIC OFFICE, ASIA-EUROPE");
	expect_none("xx AKIA");				/* the prefix at the end */
	expect_none("xx AKIAIOSFODNN7");
}

/* ------------------------------------------------------------------ */
/* JSON Web Tokens                                                     */

/* {"alg":"HS256","typ":"JWT"} . {"sub":"1234567890","name":"John Doe","iat":1516239022} . sig */
#define JWT_HS256 \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." \
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ." \
	"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
/* {"alg":"none"} . {"sub":"1"} . (empty): an unsecured JWS, RFC 7519 6.1 */
#define JWT_NONE "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."
/* {"sub":"1"} */
#define JWT_PAYLOAD "eyJzdWIiOiIxIn0"

static void
test_jwt(void **state)
{
	static const char *const good[] = {
		JWT_HS256,
		JWT_NONE,
		/* {"alg":"NONE"}: "none" in any case, empty signature */
		"eyJhbGciOiJOT05FIn0." JWT_PAYLOAD ".",
		/* {"alg": "HS256"}: JSON whitespace */
		"eyJhbGciOiAiSFMyNTYifQ." JWT_PAYLOAD ".0123456789abcdef",
		/* {"kid":"k1","alg":"ES256"}: alg not first, '-' and '_' */
		"eyJraWQiOiJrMSIsImFsZyI6IkVTMjU2In0." JWT_PAYLOAD ".ab-_cdefghijklmnop",
		/* {"x":"alg","alg":"none"}: "alg" as a value first */
		"eyJ4IjoiYWxnIiwiYWxnIjoibm9uZSJ9." JWT_PAYLOAD ".",
		/* {"alg":"none"} . "eyJ" : the shortest value, 24 bytes */
		"eyJhbGciOiJub25lIn0.eyJ.",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		expect_whole(good[i], ID_JWT);
	expect_one("Authorization: Bearer " JWT_HS256 "\r\n", ID_JWT, JWT_HS256);
	expect_one("{\"token\":\"" JWT_HS256 "\"}", ID_JWT, JWT_HS256);
	/* a '.' before the header is no base64url: the token is still whole */
	expect_one("jwt." JWT_HS256, ID_JWT, JWT_HS256);
	/* a fourth segment is not part of it */
	expect_one(JWT_HS256 ".more", ID_JWT, JWT_HS256);
	expect_f(&all, JWT_HS256 " " JWT_NONE,
		 (struct want[]){ { ID_JWT, JWT_HS256 }, { ID_JWT, JWT_NONE } }, 2);
	/* signature of 16 characters with alg HS256: enough; 15: not */
	expect_whole("eyJhbGciOiAiSFMyNTYifQ." JWT_PAYLOAD ".0123456789abcdef", ID_JWT);
	expect_none("eyJhbGciOiAiSFMyNTYifQ." JWT_PAYLOAD ".0123456789abcde");
	expect_none("eyJhbGciOiAiSFMyNTYifQ." JWT_PAYLOAD ".");

	/* {"foo":"bar"}: no "alg" */
	expect_none("eyJmb28iOiJiYXIifQ." JWT_PAYLOAD ".0123456789abcdef0123");
	/* {"typ":"alg"}: "alg" only as a value */
	expect_none("eyJ0eXAiOiJhbGcifQ." JWT_PAYLOAD ".0123456789abcdef0123");
	/* {"alg":"HS256" cut: not an object */
	expect_none("eyJhbGciOiJIUzI1NiI." JWT_PAYLOAD ".0123456789abcdef0123");
	/* {"alg":5}: not a string */
	expect_none("eyJhbGciOjV9." JWT_PAYLOAD ".0123456789abcdef0123");
	/* {"alg":"nonex"}: not "none", so the empty signature is too short */
	expect_none("eyJhbGciOiJub25leCJ9." JWT_PAYLOAD ".");
	/* a header of 21 characters: 1 mod 4 is no base64 */
	expect_none("eyJhbGciOiJIUzI1NiJ9X." JWT_PAYLOAD ".0123456789abcdef0123");
	/* a header that decodes to bytes that are not JSON */
	expect_none("eyJ____________________." JWT_PAYLOAD ".0123456789abcdef0123");
	/* "eyJ" strings that are not JWTs */
	expect_none("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");		/* a header alone */
	expect_none("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." JWT_PAYLOAD);	/* two segments */
	expect_none("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.abcdefghijk.0123456789abcdef");
	expect_none("eyJfoo.eyJbar.bazbazbazbazbazbazbaz");
	expect_none("see eyJ and .eyJ and eyJ.eyJ. in the docs");
	/* glued to a word: the header does not start the run */
	expect_none("x" JWT_HS256);
	expect_none("-" JWT_HS256);
}

/* With the JWT detector alone, the literal database's floor is 24 bytes. */
static void
test_jwt_alone(void **state)
{
	static const struct tg_detect_spec sp[] = { { .id = ID_JWT, .kind = TG_DETECT_JWT } };
	static const char min[] = "eyJhbGciOiJub25lIn0.eyJ.";
	struct tg_detect_match m[2];
	struct fixture f;

	(void)state;
	fixture_make(&f, sp, ARRAY_SIZE(sp));
	assert_int_equal(strlen(min), 24);
	expect_f(&f, min, (struct want[]){ { ID_JWT, min } }, 1);
	assert_int_equal(scan_f(&f, min, 23, m, 2), 0);
	expect_f(&f, "x " JWT_HS256, (struct want[]){ { ID_JWT, JWT_HS256 } }, 1);
	fixture_free(&f);
}

/* ------------------------------------------------------------------ */
/* Private keys                                                        */

#define PEM_BODY "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAq7BFUpkGp3+XQ\n"
#define PKCS8 "-----BEGIN PRIVATE KEY-----\n" PEM_BODY "-----END PRIVATE KEY-----"
#define PKCS1 "-----BEGIN RSA PRIVATE KEY-----\n" PEM_BODY "-----END RSA PRIVATE KEY-----"

static void
test_private_key(void **state)
{
	static const char *const good[] = {
		PKCS8,
		PKCS1,
		"-----BEGIN EC PRIVATE KEY-----\n" PEM_BODY "-----END EC PRIVATE KEY-----",
		"-----BEGIN DSA PRIVATE KEY-----\n" PEM_BODY "-----END DSA PRIVATE KEY-----",
		"-----BEGIN OPENSSH PRIVATE KEY-----\n" PEM_BODY
		"-----END OPENSSH PRIVATE KEY-----",
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\n" PEM_BODY
		"-----END ENCRYPTED PRIVATE KEY-----",
		"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" PEM_BODY "=twTO\n"
		"-----END PGP PRIVATE KEY BLOCK-----",
		/* JSON-escaped newlines, as a key stored in a JSON column */
		"-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIIm\\n-----END EC PRIVATE KEY-----",
		/* the header alone, and a header that is the whole buffer */
		"-----BEGIN PRIVATE KEY-----",
		"-----BEGIN PGP PRIVATE KEY BLOCK-----",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		expect_whole(good[i], ID_PKEY);
	/* header, body and footer masked whole; what follows is not */
	expect_one("key: " PKCS8 "\nnext line", ID_PKEY, PKCS8);
	/* no footer: from the header to the end of the buffer (fail closed) */
	expect_one("key: -----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vc", ID_PKEY,
		   "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vc");
	/* a footer of another label does not end it */
	expect_whole("-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END EC PRIVATE KEY-----\nrest",
		     ID_PKEY);
	/* two keys in one buffer: two matches, the text between them kept */
	expect_f(&all, PKCS8 "\nand\n" PKCS1 "\n",
		 (struct want[]){ { ID_PKEY, PKCS8 }, { ID_PKEY, PKCS1 } }, 2);
	expect_f(&all, PKCS1 PKCS1, (struct want[]){ { ID_PKEY, PKCS1 }, { ID_PKEY, PKCS1 } }, 2);
	/* a footer before the header does not end it */
	expect_one("-----END PRIVATE KEY----- x -----BEGIN PRIVATE KEY-----\nabc", ID_PKEY,
		   "-----BEGIN PRIVATE KEY-----\nabc");
	/* headers sharing their dashes, no footer: one match to the end */
	expect_one("x-----BEGIN PRIVATE KEY-----BEGIN PRIVATE KEY-----\nabc", ID_PKEY,
		   "-----BEGIN PRIVATE KEY-----BEGIN PRIVATE KEY-----\nabc");
	/* the second header without footer after a whole first key */
	expect_f(&all, PKCS8 " then -----BEGIN EC PRIVATE KEY-----\nabc",
		 (struct want[]){ { ID_PKEY, PKCS8 },
				  { ID_PKEY, "-----BEGIN EC PRIVATE KEY-----\nabc" } }, 2);

	expect_none("-----BEGIN PUBLIC KEY-----\n" PEM_BODY "-----END PUBLIC KEY-----");
	expect_none("-----BEGIN RSA PUBLIC KEY-----\n" PEM_BODY "-----END RSA PUBLIC KEY-----");
	expect_none("-----BEGIN CERTIFICATE-----\n" PEM_BODY "-----END CERTIFICATE-----");
	expect_none("-----BEGIN PGP PUBLIC KEY BLOCK-----\n" PEM_BODY
		    "-----END PGP PUBLIC KEY BLOCK-----");
	expect_none("-----END PRIVATE KEY-----");			/* a footer alone */
	expect_none("-----begin private key-----\nabc");		/* lower case */
	expect_none("-----BEGIN PRIVATE KEY----\nabc");			/* four dashes */
	expect_none("BEGIN PRIVATE KEY\nabc");
	expect_none("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nabc");	/* not PEM */
	expect_none("-----BEGIN PRIVATE  KEY-----\nabc");
}

/*
 * Thousands of headers without a footer: one footer search per label
 * however many headers (struct pem_end in detect.c), and one match.
 */
static void
test_private_key_many(void **state)
{
	static const char h1[] = "-----BEGIN RSA PRIVATE KEY-----\n";
	static const char h2[] = "-----BEGIN EC PRIVATE KEY-----\n";
	size_t n = 4000, l1 = strlen(h1), l2 = strlen(h2), len = 0, i;
	char *buf = malloc(n * (l1 + l2) + 1);
	struct tg_detect_match m[2];

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		memcpy(buf + len, h1, l1);
		len += l1;
		memcpy(buf + len, h2, l2);
		len += l2;
	}
	assert_int_equal(scan_f(&all, buf, len, m, 2), 1);
	assert_int_equal(m[0].id, ID_PKEY);
	assert_int_equal(m[0].start, 0);
	assert_int_equal(m[0].end, len);
	/* with a footer at the end, the same */
	memcpy(buf + len - 30, "\n-----END EC PRIVATE KEY-----", 29);
	assert_int_equal(scan_f(&all, buf, len - 1, m, 2), 1);
	assert_int_equal(m[0].start, 0);
	assert_int_equal(m[0].end, len - 1);
	free(buf);
}

/* Each new kind alone: its floor, and nothing of the others found. */
static void
test_new_kinds_alone(void **state)
{
	static const struct tg_detect_spec aws[] = { { .id = ID_AWS, .kind = TG_DETECT_AWS_KEY } };
	static const struct tg_detect_spec pk[] = {
		{ .id = ID_PKEY, .kind = TG_DETECT_PRIVATE_KEY },
	};
	static const char row[] = "4111111111111111 x@example.org AKIAIOSFODNN7EXAMPLE " JWT_HS256
				  " -----BEGIN PRIVATE KEY-----";
	struct fixture f;

	(void)state;
	fixture_make(&f, aws, 1);
	expect_f(&f, "AKIAIOSFODNN7EXAMPLE",
		 (struct want[]){ { ID_AWS, "AKIAIOSFODNN7EXAMPLE" } }, 1);
	expect_f(&f, row, (struct want[]){ { ID_AWS, "AKIAIOSFODNN7EXAMPLE" } }, 1);
	fixture_free(&f);
	fixture_make(&f, pk, 1);
	expect_f(&f, "-----BEGIN PRIVATE KEY-----",
		 (struct want[]){ { ID_PKEY, "-----BEGIN PRIVATE KEY-----" } }, 1);
	expect_f(&f, row, (struct want[]){ { ID_PKEY, "-----BEGIN PRIVATE KEY-----" } }, 1);
	fixture_free(&f);
	/* and the old kinds alone find none of the new ones */
	fixture_make(&f, builtin_specs, 5);
	expect_f(&f, row, (struct want[]){ { ID_CARD, "4111111111111111" },
					   { ID_EMAIL, "x@example.org" } }, 2);
	fixture_free(&f);
}

static void
test_free_text(void **state)
{
	static const char text[] =
		"Dear Ann, call about card 4111 1111 1111 1111 or mail x@example.org; "
		"refund to DE89 3704 0044 0532 0130 00 (ref 2024-06-01, 3 items, EUR 129.90). "
		"SSN 078-05-1120, phone +44 20 7946 0958 or (415) 555-2671.";
	struct want w[] = {
		{ ID_CARD, "4111 1111 1111 1111" },
		{ ID_EMAIL, "x@example.org" },
		{ ID_IBAN, "DE89 3704 0044 0532 0130 00" },
		{ ID_SSN, "078-05-1120" },
		{ ID_PHONE, "+44 20 7946 0958" },
		{ ID_PHONE, "(415) 555-2671" },
	};
	struct want brief[] = { { ID_CARD, "4111 1111 1111 1111" }, { ID_EMAIL, "x@example.org" } };

	(void)state;
	expect_f(&all, "call about card 4111 1111 1111 1111 or mail x@example.org", brief, 2);
	expect_f(&all, text, w, ARRAY_SIZE(w));
	expect_none("Order 1234 shipped on 2024-06-01 to Jane Roe, total 1299.00 EUR, qty 12.");
}

/*
 * The gate before the main prefilter (detect.c gate()): with built-ins
 * alone, a buffer with fewer digits than any of them needs and no '@' is
 * not scanned. Every value at the least count of digits must still be
 * found, and a database with a user regex must scan every buffer.
 */
static void
test_gate(void **state)
{
	static const struct tg_detect_spec card_email[] = {
		{ .id = ID_CARD, .kind = TG_DETECT_CARD },
		{ .id = ID_EMAIL, .kind = TG_DETECT_EMAIL },
	};
	static const struct tg_detect_spec ssn[] = { { .id = ID_SSN, .kind = TG_DETECT_SSN } };
	static const struct tg_detect_spec iban[] = { { .id = ID_IBAN, .kind = TG_DETECT_IBAN } };
	static const struct tg_detect_spec phone[] = {
		{ .id = ID_PHONE, .kind = TG_DETECT_PHONE },
	};
	static const struct tg_detect_spec with_regex[] = {
		{ .id = ID_CARD, .kind = TG_DETECT_CARD },
		{ .id = ID_SECRET, .kind = TG_DETECT_REGEX, .pattern = "secret[a-z]*" },
	};
	struct fixture f;

	(void)state;
	fixture_make(&f, card_email, ARRAY_SIZE(card_email));
	/* an e-mail address with no digit at all passes on its '@' */
	expect_f(&f, "Jane Roe <jane.roe@example.org>",
		 (struct want[]){ { ID_EMAIL, "jane.roe@example.org" } }, 1);
	/* thirteen digits, the least a card number has, spread by separators */
	expect_f(&f, "card 4222 2222 22222 ok", (struct want[]){ { ID_CARD, "4222 2222 22222" } },
		 1);
	expect_none_f(&f, "Jane Roe, Paris");
	/* the deciding bytes in the last, partial eight, and at every length */
	expect_f(&f, "Dear Jane Roe, Re: a@b.io", (struct want[]){ { ID_EMAIL, "a@b.io" } }, 1);
	expect_f(&f, "Dear Ann, re: 4222222222222",
		 (struct want[]){ { ID_CARD, "4222222222222" } }, 1);
	{
		static const char card[] = "4222222222222";
		char b[64];
		unsigned int pad;

		for (pad = 0; pad < 20; pad++) {
			memset(b, 'x', pad);
			b[pad] = ' ';
			memcpy(b + pad + 1, card, sizeof(card));
			expect_f(&f, b, (struct want[]){ { ID_CARD, card } }, 1);
			memcpy(b + pad + 1, "a@b.io", 7);
			expect_f(&f, b, (struct want[]){ { ID_EMAIL, "a@b.io" } }, 1);
		}
	}
	expect_none_f(&f, "order 123456789012 of 12 items");
	fixture_free(&f);

	fixture_make(&f, ssn, 1);
	expect_f(&f, "ssn 078-05-1120.", (struct want[]){ { ID_SSN, "078-05-1120" } }, 1);
	expect_none_f(&f, "ssn 78-05-1120.");
	fixture_free(&f);

	fixture_make(&f, iban, 1);
	expect_f(&f, "GB29 NWBK 6016 1331 9268 19",
		 (struct want[]){ { ID_IBAN, "GB29 NWBK 6016 1331 9268 19" } }, 1);
	fixture_free(&f);

	fixture_make(&f, phone, 1);
	expect_f(&f, "+44 20 7946 0958", (struct want[]){ { ID_PHONE, "+44 20 7946 0958" } }, 1);
	expect_f(&f, "(415) 555-2671", (struct want[]){ { ID_PHONE, "(415) 555-2671" } }, 1);
	fixture_free(&f);

	/* a user regex may match without digits: no gate */
	fixture_make(&f, with_regex, ARRAY_SIZE(with_regex));
	expect_f(&f, "top secretword here", (struct want[]){ { ID_SECRET, "secretword" } }, 1);
	fixture_free(&f);
}

static void
test_adjacent(void **state)
{
	struct fixture f;
	static const struct tg_detect_spec sp[] = {
		{ .id = ID_ORD, .kind = TG_DETECT_REGEX, .pattern = "ORD-[0-9]{6}" },
	};
	struct want w1[] = { { ID_CARD, "4111111111111111" }, { ID_EMAIL, "x@example.org" } };
	struct want w2[] = { { ID_ORD, "ORD-123456" }, { ID_ORD, "ORD-654321" } };
	struct want w3[] = { { ID_EMAIL, "ann@example.org" }, { ID_EMAIL, "bob@example.net" } };

	(void)state;
	expect_f(&all, "4111111111111111,x@example.org", w1, 2);
	expect_f(&all, "ann@example.org,bob@example.net", w3, 2);
	/* touching matches stay apart */
	fixture_make(&f, sp, ARRAY_SIZE(sp));
	expect_f(&f, "ORD-123456ORD-654321", w2, 2);
	fixture_free(&f);
}

static void
test_overlap(void **state)
{
	struct fixture cards, mix;
	static const struct tg_detect_spec card_only[] = {
		{ .id = ID_CARD, .kind = TG_DETECT_CARD },
	};
	static const struct tg_detect_spec mixed[] = {
		{ .id = ID_CARD, .kind = TG_DETECT_CARD },
		{ .id = ID_ORD, .kind = TG_DETECT_REGEX, .pattern = "1111 1111" },
		{ .id = ID_SECRET, .kind = TG_DETECT_REGEX, .pattern = "secret[a-z]*" },
	};
	/* an IBAN whose 18 BBAN digits are also a Luhn-valid card number */
	static const char iban[] = "DE62 3704 0044 0532 0130 01";

	(void)state;
	fixture_make(&cards, card_only, ARRAY_SIZE(card_only));
	expect_f(&cards, iban, (struct want[]){ { ID_CARD, "3704 0044 0532 0130 01" } }, 1);
	fixture_free(&cards);
	/* with both detectors, one match: the longer one's id */
	expect_whole(iban, ID_IBAN);

	fixture_make(&mix, mixed, ARRAY_SIZE(mixed));
	/* a regex match inside a card number merges into the card */
	expect_f(&mix, "4111 1111 1111 1111", (struct want[]){ { ID_CARD, "4111 1111 1111 1111" } },
		 1);
	/* overlapping regex matches of one detector merge */
	expect_f(&mix, "xx secretsecret yy", (struct want[]){ { ID_SECRET, "secretsecret" } }, 1);
	/* a regex match longer than the card: the merged match is the regex's */
	expect_f(&mix, "1111 1111 1111 1111 1111 1111",
		 (struct want[]){ { ID_ORD, "1111 1111 1111 1111 1111 1111" } }, 1);
	fixture_free(&mix);
}

static void
test_buffer_edges(void **state)
{
	struct want w[] = { { ID_PHONE, "+44 20 7946 0958" }, { ID_EMAIL, "x@example.org" } };
	struct tg_detect_match m[4];

	(void)state;
	expect_f(&all, "+44 20 7946 0958 x@example.org", w, 2);
	expect_one("4111111111111111 is it", ID_CARD, "4111111111111111");
	expect_one("it is 4111111111111111", ID_CARD, "4111111111111111");
	expect_one("iban NO9386011117947", ID_IBAN, "NO9386011117947");
	expect_one("NO9386011117947 iban", ID_IBAN, "NO9386011117947");
	expect_one("ssn 123-45-6789", ID_SSN, "123-45-6789");
	expect_one("mail x@example.org", ID_EMAIL, "x@example.org");
	/* every prefix of a value: nothing until it is whole, no over-read */
	{
		static const char v[] = "x 4111 1111 1111 1111";
		size_t k;

		for (k = 0; k <= strlen(v); k++) {
			int n = scan_f(&all, v, k, m, 4);

			assert_int_equal(n, k == strlen(v) ? 1 : 0);
		}
	}
}

static void
test_empty(void **state)
{
	struct tg_detect_match m[1];
	struct fixture none;
	uint8_t one = '4';

	(void)state;
	assert_int_equal(tg_detect_scan(all.db, all.s, NULL, 0, m, 1), 0);
	assert_int_equal(tg_detect_scan(all.db, all.s, &one, 0, m, 1), 0);
	assert_int_equal(tg_detect_scan(all.db, all.s, &one, 1, NULL, 0), 0);
	assert_int_equal(tg_detect_scan_raw(all.db, all.s, NULL, 0), 0);
	assert_int_equal(tg_detect_scan(NULL, all.s, &one, 1, m, 1), -EINVAL);
	assert_int_equal(tg_detect_scan(all.db, NULL, &one, 1, m, 1), -EINVAL);
	assert_int_equal(tg_detect_scan(all.db, all.s, NULL, 1, m, 1), -EINVAL);
	assert_int_equal(tg_detect_scan(all.db, all.s, &one, 1, NULL, 1), -EINVAL);
	/* no detector at all */
	fixture_make(&none, NULL, 0);
	assert_int_equal(scan_f(&none, "4111111111111111", 16, m, 1), 0);
	assert_int_equal(tg_detect_scan_raw(none.db, none.s, &one, 1), 0);
	fixture_free(&none);
}

static void
test_enospc(void **state)
{
	static const char three[] = "4111111111111111 x 5500000000000004 y 4012888888881881";
	struct tg_detect_match m[3];

	(void)state;
	assert_int_equal(scan_f(&all, three, strlen(three), m, 3), 3);
	assert_int_equal(scan_f(&all, three, strlen(three), m, 2), -ENOSPC);
	assert_int_equal(scan_f(&all, three, strlen(three), NULL, 0), -ENOSPC);
	assert_int_equal(scan_f(&all, "nothing to see here", 19, NULL, 0), 0);
	/* merging frees room: many reports, one match */
	assert_int_equal(scan_f(&all, "4111 1111 1111 1111", 19, m, 1), 1);
}

static void
test_many(void **state)
{
	char buf[100 * 20 + 1];
	struct tg_detect_match m[128];
	int i, n;

	(void)state;
	for (i = 0; i < 100; i++)
		memcpy(buf + i * 20, "4111111111111111 ab ", 20);
	buf[sizeof(buf) - 1] = '\0';
	n = scan_f(&all, buf, strlen(buf), m, 128);
	assert_int_equal(n, 100);
	for (i = 0; i < 100; i++) {
		assert_int_equal(m[i].id, ID_CARD);
		assert_int_equal(m[i].start, i * 20);
		assert_int_equal(m[i].end, i * 20 + 16);
	}
}

static void
mask_check(const char *in, enum tg_detect_mask_style style, const char *want)
{
	struct tg_detect_match m[MAXM];
	size_t len = strlen(in);
	uint8_t *b = heap_copy(in, len);
	int n = tg_detect_scan(all.db, all.s, b, (uint32_t)len, m, MAXM);

	assert_true(n >= 0);
	tg_detect_mask(b, m, (unsigned int)n, style);
	assert_int_equal(strlen(want), len);
	if (memcmp(b, want, len) != 0)
		fail_msg("mask \"%s\" style %d: \"%.*s\", want \"%s\"", in, (int)style, (int)len,
			 (const char *)b, want);
	free(b);
}

static void
test_mask(void **state)
{
	(void)state;
	mask_check("card 4111 1111 1111 1111 ok", TG_DETECT_MASK_FULL, "card ******************* ok");
	mask_check("card 4111 1111 1111 1111 ok", TG_DETECT_MASK_FULL_X,
		   "card XXXXXXXXXXXXXXXXXXX ok");
	mask_check("card 4111 1111 1111 1111 ok", TG_DETECT_MASK_KEEP_LAST4,
		   "card **** **** **** 1111 ok");
	mask_check("4111-1111-1111-1111", TG_DETECT_MASK_KEEP_LAST4, "****-****-****-1111");
	mask_check("378282246310005", TG_DETECT_MASK_KEEP_LAST4, "***********0005");
	mask_check("DE89 3704 0044 0532 0130 00", TG_DETECT_MASK_KEEP_LAST4,
		   "**** **** **** **** **30 00");
	/* fewer than 12 letters and digits: nothing kept */
	mask_check("ssn 123-45-6789!", TG_DETECT_MASK_KEEP_LAST4, "ssn ***-**-****!");
	mask_check("to john.doe@example.org now", TG_DETECT_MASK_EMAIL_DOMAIN,
		   "to ********@example.org now");
	/* e-mail style on a match with no '@': all of it */
	mask_check("ssn 123-45-6789", TG_DETECT_MASK_EMAIL_DOMAIN, "ssn ***********");
	/* two values, one call */
	mask_check("a@b.co 4111111111111111", TG_DETECT_MASK_FULL, "****** ****************");
	/* an unknown style masks fully */
	mask_check("x 123-45-6789", TG_DETECT_MASK_MAX, "x ***********");
	/* the new kinds: every byte of the value, the length kept */
	mask_check("id AKIAIOSFODNN7EXAMPLE.", TG_DETECT_MASK_FULL, "id ********************.");
	mask_check("id AKIAIOSFODNN7EXAMPLE.", TG_DETECT_MASK_KEEP_LAST4,
		   "id ****************MPLE.");
	mask_check("t=" JWT_NONE ";", TG_DETECT_MASK_FULL,
		   "t=************************************;");
	mask_check("k " PKCS8 "\nok", TG_DETECT_MASK_FULL_X,
		   "k XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
		   "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\nok");
	mask_check("k -----BEGIN EC PRIVATE KEY-----\nMHc", TG_DETECT_MASK_FULL,
		   "k **********************************");
	/* nothing found, nothing changed */
	mask_check("nothing here 12345", TG_DETECT_MASK_FULL, "nothing here 12345");
	tg_detect_mask(NULL, NULL, 0, TG_DETECT_MASK_FULL);
}

static void
expect_compile_err(const struct tg_detect_spec *sp, unsigned int n, const char *a,
		   const char *b)
{
	struct tg_detect_db *db = (struct tg_detect_db *)1;
	char err[256];
	int rc = tg_detect_compile(sp, n, &db, err, sizeof(err));

	assert_int_equal(rc, -EINVAL);
	assert_null(db);
	if (strstr(err, a) == NULL || (b != NULL && strstr(err, b) == NULL))
		fail_msg("error \"%s\" does not say \"%s\" and \"%s\"", err, a, b ? b : "");
}

static void
test_compile_errors(void **state)
{
	struct tg_detect_db *db;
	char small[12];
	const struct tg_detect_spec bad_paren[] = {
		{ .id = 100, .kind = TG_DETECT_REGEX, .pattern = "(abc", .name = "orders" },
	};
	const struct tg_detect_spec empty_match[] = {
		{ .id = 101, .kind = TG_DETECT_REGEX, .pattern = "a*" },
	};
	const struct tg_detect_spec backref[] = {
		{ .id = 1, .kind = TG_DETECT_CARD },
		{ .id = 102, .kind = TG_DETECT_REGEX, .pattern = "(a)\\1" },
	};
	const struct tg_detect_spec dup_id[] = {
		{ .id = 7, .kind = TG_DETECT_CARD },
		{ .id = 7, .kind = TG_DETECT_EMAIL },
	};
	const struct tg_detect_spec dup_kind[] = {
		{ .id = 1, .kind = TG_DETECT_CARD },
		{ .id = 2, .kind = TG_DETECT_CARD },
	};
	const struct tg_detect_spec bad_kind[] = { { .id = 3, .kind = (enum tg_detect_kind)42 } };
	const struct tg_detect_spec no_pattern[] = { { .id = 4, .kind = TG_DETECT_REGEX } };
	const struct tg_detect_spec builtin_pattern[] = {
		{ .id = 5, .kind = TG_DETECT_CARD, .pattern = "x" },
	};
	const struct tg_detect_spec bad_flags[] = {
		{ .id = 6, .kind = TG_DETECT_CARD, .flags = TG_DETECT_F_CASELESS },
	};
	const struct tg_detect_spec long_name[] = {
		{ .id = 8, .kind = TG_DETECT_CARD, .name = "a name far longer than thirty-one bytes" },
	};

	(void)state;
	expect_compile_err(bad_paren, 1, "detector 100 (orders)", "Missing close parenthesis");
	expect_compile_err(empty_match, 1, "detector 101 (regex)", "empty");
	expect_compile_err(backref, 2, "detector 102", "\\1");
	expect_compile_err(dup_id, 2, "detector 7", "id used twice");
	expect_compile_err(dup_kind, 2, "detector 2", "card given twice");
	expect_compile_err(bad_kind, 1, "detector 3", "unknown kind 42");
	expect_compile_err(no_pattern, 1, "detector 4", "empty pattern");
	expect_compile_err(builtin_pattern, 1, "detector 5", "takes no pattern");
	expect_compile_err(bad_flags, 1, "detector 6", "flags 0x1");
	expect_compile_err(long_name, 1, "detector 8", "name longer");
	assert_int_equal(tg_detect_compile(NULL, 1, &db, NULL, 0), -EINVAL);
	assert_int_equal(tg_detect_compile(builtin_specs, 1, NULL, NULL, 0), -EINVAL);
	/* a short error buffer is cut and terminated; NULL is allowed */
	memset(small, 'z', sizeof(small));
	assert_int_equal(tg_detect_compile(bad_paren, 1, &db, small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(tg_detect_compile(bad_paren, 1, &db, NULL, 0), -EINVAL);
	/* success clears it */
	assert_int_equal(tg_detect_compile(builtin_specs, 1, &db, small, sizeof(small)), 0);
	assert_string_equal(small, "");
	tg_detect_free(db);
	tg_detect_free(NULL);
}

static void
test_regex(void **state)
{
	struct fixture f;
	static const struct tg_detect_spec sp[] = {
		{ .id = ID_ORD, .kind = TG_DETECT_REGEX, .pattern = "ORD-[0-9]{6}", .name = "order" },
		{ .id = ID_SECRET, .kind = TG_DETECT_REGEX, .pattern = "secret[a-z]*",
		  .flags = TG_DETECT_F_CASELESS },
		{ .id = 20, .kind = TG_DETECT_REGEX, .pattern = "^HDR[0-9]" },
		{ .id = 21, .kind = TG_DETECT_REGEX, .pattern = "q." },
		{ .id = 22, .kind = TG_DETECT_REGEX, .pattern = "z.", .flags = TG_DETECT_F_UTF8 },
	};
	struct want w[] = {
		{ ID_ORD, "ORD-000001" }, { ID_SECRET, "Secretx" }, { ID_ORD, "ORD-999999" },
		{ ID_SECRET, "SECRETyy" },  { ID_SECRET, "secret" },
	};
	struct tg_detect_match m[1];

	(void)state;
	fixture_make(&f, sp, ARRAY_SIZE(sp));
	assert_string_equal(tg_detect_name(f.db, ID_ORD), "order");
	assert_string_equal(tg_detect_name(f.db, ID_SECRET), "regex");
	/* fixed and variable width, every occurrence (the variable-width
	 * trigger is SINGLEMATCH: the locate pass must still find all) */
	expect_f(&f, "ORD-000001 Secretx, ORD-999999 SECRETyy and secret", w, ARRAY_SIZE(w));
	expect_f(&f, "HDR1 HDR2", (struct want[]){ { 20, "HDR1" } }, 1);
	/*
	 * Found by fuzz_detect: start-of-match reports "Secret" first, which
	 * only touches "ORD-123456", then "SecretO", which joins both; with
	 * room for one match the answer is still that one.
	 */
	assert_int_equal(scan_f(&f, "SecretORD-123456", 16, m, 1), 1);
	assert_int_equal(m[0].id, ID_ORD);
	assert_int_equal(m[0].start, 0);
	assert_int_equal(m[0].end, 16);
	/* a match ending inside a UTF-8 sequence is widened to it */
	expect_f(&f, "aq\xc3\xa9 b", (struct want[]){ { 21, "q\xc3\xa9" } }, 1);
	expect_f(&f, "az\xe2\x82\xac b", (struct want[]){ { 22, "z\xe2\x82\xac" } }, 1);
	fixture_free(&f);
}

static void
test_dedupe(void **state)
{
	char run[201];
	struct tg_detect_match m[4];
	long raw;

	(void)state;
	/* a 200-digit run fires the card trigger at nearly every digit */
	memset(run, '2', 200);
	run[200] = '\0';
	raw = tg_detect_scan_raw(all.db, all.s, (const uint8_t *)run, 200);
	assert_true(raw >= 150);
	assert_int_equal(scan_f(&all, run, 200, m, 4), 0);
	/* one card number, several reports, one match */
	raw = tg_detect_scan_raw(all.db, all.s, (const uint8_t *)"4242424242424242", 16);
	assert_int_equal(raw, 4);
	assert_int_equal(scan_f(&all, "4242424242424242", 16, m, 4), 1);
	raw = tg_detect_scan_raw(all.db, all.s, (const uint8_t *)"DE89370400440532013000", 22);
	assert_true(raw >= 2);
	assert_int_equal(scan_f(&all, "DE89370400440532013000", 22, m, 4), 1);
}

static void
test_scratch(void **state)
{
	struct tg_detect_scratch *c;
	struct fixture other;
	struct tg_detect_match m[2];
	static const struct tg_detect_spec sp[] = { { .id = 1, .kind = TG_DETECT_EMAIL } };

	(void)state;
	c = tg_detect_scratch_clone(all.s);
	assert_non_null(c);
	assert_int_equal(tg_detect_scan(all.db, c, (const uint8_t *)"4111111111111111", 16, m, 2),
			 1);
	fixture_make(&other, sp, 1);
	/* a scratch belongs to its database */
	assert_int_equal(tg_detect_scan(other.db, c, (const uint8_t *)"x@example.org", 13, m, 2),
			 -EINVAL);
	assert_int_equal(tg_detect_scan_raw(other.db, c, (const uint8_t *)"x", 1), -EINVAL);
	fixture_free(&other);
	tg_detect_scratch_free(c);
	tg_detect_scratch_free(NULL);
	errno = 0;
	assert_null(tg_detect_scratch_alloc(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(tg_detect_scratch_clone(NULL));
	assert_int_equal(errno, EINVAL);
}

/* The field-at-a-time use: one call per DataRow column. */
static void
test_fields(void **state)
{
	static const struct {
		const char *v;
		uint32_t id;	/* 0: nothing */
	} row[] = {
		{ "42", 0 },
		{ "t", 0 },
		{ "Jane Roe", 0 },
		{ "jane.roe@example.com", ID_EMAIL },
		{ "4111111111111111", ID_CARD },
		{ "2024-06-01 12:00:00+00", 0 },
		{ "NL91ABNA0417164300", ID_IBAN },
		{ "1299.00", 0 },
		{ "+1 415 555 2671", ID_PHONE },
		{ "", 0 },
		{ "AKIAIOSFODNN7EXAMPLE", ID_AWS },
		{ JWT_HS256, ID_JWT },
		{ PKCS1, ID_PKEY },
		{ "-----BEGIN CERTIFICATE-----", 0 },
		{ "ASIA PACIFIC", 0 },
	};
	struct tg_detect_match m[4];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(row); i++) {
		int n = scan_f(&all, row[i].v, strlen(row[i].v), m, 4);

		assert_int_equal(n, row[i].id ? 1 : 0);
		if (row[i].id) {
			assert_int_equal(m[0].id, row[i].id);
			assert_int_equal(m[0].start, 0);
			assert_int_equal(m[0].end, strlen(row[i].v));
		}
	}
}

/* xorshift32 (Marsaglia 2003): fixed seed, same sequence on every run. */
static uint32_t
xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/*
 * Random text of digits, separators, letters and '@', with known values
 * planted between " | " fences: every match keeps the invariants, masking
 * keeps the length and touches nothing outside the matches, and every
 * planted value lies inside one match.
 */
static void
test_random_sweep(void **state)
{
	static const char noise[] = "0123456789 -.+@()abcXYZ|,";
	static const char *const planted[] = {
		"4111 1111 1111 1111", "x@example.org", "DE89 3704 0044 0532 0130 00",
		"078-05-1120", "+44 20 7946 0958", "378282246310005",
		"AKIAIOSFODNN7EXAMPLE", JWT_NONE, PKCS1,
	};
	uint32_t seed = 0x2545f491;
	char buf[600];
	struct tg_detect_match m[MAXM];
	int round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		size_t len = 0, pos[4], np = 0, which[4], i, k;
		uint8_t *b, *c;
		int n;

		while (len < 400) {
			uint32_t r = xorshift32(&seed);

			if (r % 40 == 0 && np < 4) {
				const char *v = planted[(r >> 8) % ARRAY_SIZE(planted)];

				len += (size_t)snprintf(buf + len, sizeof(buf) - len, " | ");
				pos[np] = len;
				which[np] = (r >> 8) % ARRAY_SIZE(planted);
				np++;
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s | ", v);
			} else {
				buf[len++] = noise[(r >> 8) % (sizeof(noise) - 1)];
			}
		}
		b = heap_copy(buf, len);
		n = tg_detect_scan(all.db, all.s, b, (uint32_t)len, m, MAXM);
		assert_true(n >= 0);
		check_out(m, n, (uint32_t)len);
		for (i = 0; i < np; i++) {
			size_t vl = strlen(planted[which[i]]);
			int found = 0;

			for (k = 0; k < (size_t)n; k++)
				if (m[k].start <= pos[i] && m[k].end >= pos[i] + vl)
					found = 1;
			if (!found)
				fail_msg("round %d: \"%s\" at %zu not found in \"%.*s\"", round,
					 planted[which[i]], pos[i], (int)len, buf);
		}
		c = heap_copy(b, len);
		tg_detect_mask(c, m, (unsigned int)n, TG_DETECT_MASK_KEEP_LAST4);
		for (i = 0, k = 0; i < len; i++) {
			while (k < (size_t)n && m[k].end <= i)
				k++;
			if (k < (size_t)n && m[k].start <= i)
				assert_true(c[i] == b[i] || c[i] == '*');
			else
				assert_int_equal(c[i], b[i]);
		}
		free(c);
		free(b);
	}
}

/* ------------------------------------------------------------------ */
/* Databases from elsewhere: tg_detect_build()                         */

/* Every kind, SSN without dashes too, a fixed and two variable-width regexes. */
static const struct tg_detect_spec build_specs[] = {
	{ .id = ID_CARD, .kind = TG_DETECT_CARD },
	{ .id = ID_IBAN, .kind = TG_DETECT_IBAN },
	{ .id = ID_EMAIL, .kind = TG_DETECT_EMAIL },
	{ .id = ID_SSN, .kind = TG_DETECT_SSN, .flags = TG_DETECT_F_SSN_NODASH },
	{ .id = ID_PHONE, .kind = TG_DETECT_PHONE },
	{ .id = ID_AWS, .kind = TG_DETECT_AWS_KEY },
	{ .id = ID_JWT, .kind = TG_DETECT_JWT },
	{ .id = ID_PKEY, .kind = TG_DETECT_PRIVATE_KEY },
	{ .id = ID_ORD, .kind = TG_DETECT_REGEX, .pattern = "ORD-[0-9]{6}", .name = "order" },
	{ .id = ID_SECRET, .kind = TG_DETECT_REGEX, .pattern = "secret[a-z]*",
	  .flags = TG_DETECT_F_CASELESS },
	{ .id = 30, .kind = TG_DETECT_REGEX, .pattern = "t\xc3\xa9l=[0-9]+",
	  .flags = TG_DETECT_F_UTF8 },
};

/*
 * The databases of a compiled detect database, serialised, and what a
 * source of databases for tg_detect_build() saw and should do.
 */
struct hs_src {
	char *bytes[TG_DETECT_HS_MAX];
	size_t len[TG_DETECT_HS_MAX];
	unsigned int n[TG_DETECT_HS_MAX];	/* expressions of each list seen */
	unsigned int calls;
	int fail_at;		/* this database: an error; -1 none */
	int supply_none;	/* return 0 and no database */
	unsigned int bad_id;	/* not 0: compile this one with ids + bad_id instead */
	int bad_which;
};

static void
hs_src_init(struct hs_src *s, const struct tg_detect_db *db)
{
	unsigned int w;

	memset(s, 0, sizeof(*s));
	s->fail_at = -1;
	s->bad_which = -1;
	for (w = 0; w < TG_DETECT_HS_MAX; w++) {
		const hs_database_t *h = tg_detect_hs_db(db, (enum tg_detect_hs)w);

		if (h != NULL)
			assert_int_equal(hs_serialize_database(h, &s->bytes[w], &s->len[w]),
					 HS_SUCCESS);
	}
}

static void
hs_src_free(struct hs_src *s)
{
	unsigned int w;

	for (w = 0; w < TG_DETECT_HS_MAX; w++)
		free(s->bytes[w]);
}

static int
from_src(void *arg, enum tg_detect_hs which, const struct tg_detect_exprs *x, void **hs,
	 char *err, size_t errlen)
{
	struct hs_src *s = arg;
	hs_database_t *db = NULL;

	s->calls++;
	assert_true((unsigned int)which < TG_DETECT_HS_MAX);
	assert_true(x->n >= 1);
	s->n[which] = x->n;
	if ((int)which == s->fail_at) {
		snprintf(err, errlen, "no database %u", (unsigned int)which);
		return -EPROTO;
	}
	if (hs == NULL || s->supply_none)
		return 0;
	if ((int)which == s->bad_which) {
		/* the right expressions under ids the detect database never gave */
		unsigned int ids[64], k;
		hs_compile_error_t *cerr = NULL;

		assert_true(x->n <= ARRAY_SIZE(ids));
		for (k = 0; k < x->n; k++)
			ids[k] = x->ids[k] + s->bad_id;
		assert_int_equal(hs_compile_multi(x->re, x->flags, ids, x->n, HS_MODE_BLOCK, NULL,
						  &db, &cerr), HS_SUCCESS);
	} else {
		assert_non_null(s->bytes[which]);
		assert_int_equal(hs_deserialize_database(s->bytes[which], s->len[which], &db),
				 HS_SUCCESS);
	}
	*hs = db;
	return 0;
}

/* Same matches from a and b for text: the compiled and the rebuilt database. */
static int
expect_same_scan(const struct fixture *a, const struct fixture *b, const char *text, size_t len)
{
	struct tg_detect_match ma[MAXM], mb[MAXM];
	uint8_t *buf = heap_copy(text, len);
	int na = tg_detect_scan(a->db, a->s, buf, (uint32_t)len, ma, MAXM);
	int nb = tg_detect_scan(b->db, b->s, buf, (uint32_t)len, mb, MAXM);

	assert_int_equal(na, nb);
	if (na > 0)
		assert_memory_equal(ma, mb, (size_t)na * sizeof(ma[0]));
	assert_int_equal(tg_detect_scan_raw(a->db, a->s, buf, (uint32_t)len),
			 tg_detect_scan_raw(b->db, b->s, buf, (uint32_t)len));
	free(buf);
	return na;
}

static void
test_build_deserialised(void **state)
{
	static const char *const texts[] = {
		"4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "jane.doe@example.com",
		"078-05-1120", "078051120", "+44 20 7946 0958", "(415) 555-2671",
		"AKIAIOSFODNN7EXAMPLE", JWT_HS256, PKCS8, "ORD-123456", "SecretSauce",
		"t\xc3\xa9l=0612 and t\xc3\xa9l=99", "nothing to see", "",
		"card 4111111111111111, mail x@example.org, key AKIAIOSFODNN7EXAMPLE, "
		"ORD-000001 secretx " JWT_NONE " " PKCS1,
	};
	const unsigned int n = ARRAY_SIZE(build_specs);
	struct fixture a, b;
	struct hs_src src;
	char err[256];
	uint32_t seed = 0x1b873593;
	unsigned int i, w, found = 0;

	(void)state;
	fixture_make(&a, build_specs, n);
	for (w = 0; w < TG_DETECT_HS_MAX; w++)
		assert_non_null(tg_detect_hs_db(a.db, (enum tg_detect_hs)w));
	assert_null(tg_detect_hs_db(a.db, TG_DETECT_HS_MAX));
	assert_null(tg_detect_hs_db(NULL, TG_DETECT_HS_MAIN));
	hs_src_init(&src, a.db);

	/* the walk: every list, in order, and nothing kept */
	assert_int_equal(tg_detect_build(build_specs, n, from_src, &src, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(src.calls, 3);
	/* locate: the two variable-width regexes; lit: the AWS, JWT and PEM triggers */
	assert_int_equal(src.n[TG_DETECT_HS_LOCATE], 2);
	assert_int_equal(src.n[TG_DETECT_HS_LIT], 3);

	/* rebuilt from the serialised databases: the same answers */
	src.calls = 0;
	b.db = (struct tg_detect_db *)&b;
	assert_int_equal(tg_detect_build(build_specs, n, from_src, &src, &b.db, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
	assert_int_equal(src.calls, 3);
	b.s = tg_detect_scratch_alloc(b.db);
	assert_non_null(b.s);
	assert_int_equal(tg_detect_db_bytes(a.db), tg_detect_db_bytes(b.db));
	for (i = 0; i < n; i++)
		assert_string_equal(tg_detect_name(a.db, build_specs[i].id),
				    tg_detect_name(b.db, build_specs[i].id));
	for (i = 0; i < ARRAY_SIZE(texts); i++)
		found += expect_same_scan(&a, &b, texts[i], strlen(texts[i])) > 0;
	assert_int_equal(found, ARRAY_SIZE(texts) - 2);
	for (i = 0; i < 500; i++) {
		char buf[160];
		size_t len = 0;

		while (len < sizeof(buf) - 48) {
			uint32_t r = xorshift32(&seed);

			if (r % 23 == 0)
				len += (size_t)snprintf(buf + len, sizeof(buf) - len, " %s ",
							texts[(r >> 8) % ARRAY_SIZE(texts)]);
			else
				buf[len++] = "0123456789 -.+@()aA|"[(r >> 8) % 20];
			if (len >= sizeof(buf))
				len = sizeof(buf) - 1;
		}
		expect_same_scan(&a, &b, buf, len);
	}
	fixture_free(&b);
	fixture_free(&a);
	hs_src_free(&src);
}

static void
test_build_errors(void **state)
{
	static const struct tg_detect_spec rx[] = {
		{ .id = 1, .kind = TG_DETECT_REGEX, .pattern = "ab+c" },
		{ .id = 2, .kind = TG_DETECT_AWS_KEY },
	};
	/* a database whose ids are off by id, and a text that makes it report */
	static const struct {
		enum tg_detect_hs which;
		unsigned int id;
		const char *text;
	} bad[] = {
		{ TG_DETECT_HS_LOCATE, 7, "xx abbbc yy" },
		{ TG_DETECT_HS_MAIN, 100, "xx abbbc yy" },
		{ TG_DETECT_HS_LIT, 1000, "id AKIAIOSFODNN7EXAMPLE." },
	};
	struct tg_detect_match m[4];
	struct fixture a, b;
	struct hs_src src;
	char err[256];
	unsigned int i;

	(void)state;
	fixture_make(&a, rx, 2);
	hs_src_init(&src, a.db);

	/* the source's error, as it said it; what it gave before is freed */
	src.fail_at = TG_DETECT_HS_LOCATE;
	b.db = (struct tg_detect_db *)&b;
	assert_int_equal(tg_detect_build(rx, 2, from_src, &src, &b.db, err, sizeof(err)), -EPROTO);
	assert_null(b.db);
	assert_string_equal(err, "no database 2");
	/* the walk stops there too */
	assert_int_equal(tg_detect_build(rx, 2, from_src, &src, NULL, err, sizeof(err)), -EPROTO);

	/* a source that supplies nothing */
	src.fail_at = -1;
	src.supply_none = 1;
	assert_int_equal(tg_detect_build(rx, 2, from_src, &src, &b.db, err, sizeof(err)), -EINVAL);
	assert_null(b.db);
	assert_non_null(strstr(err, "not supplied"));
	src.supply_none = 0;

	/* no source; bad specs are refused before any source is asked */
	assert_int_equal(tg_detect_build(rx, 2, NULL, NULL, &b.db, err, sizeof(err)), -EINVAL);
	assert_int_equal(tg_detect_build(NULL, 2, from_src, &src, &b.db, err, sizeof(err)),
			 -EINVAL);
	src.calls = 0;
	assert_int_equal(tg_detect_build((const struct tg_detect_spec[]){
			{ .id = 1, .kind = TG_DETECT_REGEX } }, 1, from_src, &src, &b.db, err,
			sizeof(err)), -EINVAL);
	assert_int_equal(src.calls, 0);
	assert_non_null(strstr(err, "detector 1"));

	/*
	 * Databases that report ids the tables do not have (a wrong database
	 * from another process): the scan fails with -EIO and reads nothing
	 * out of bounds.
	 */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		src.bad_which = bad[i].which;
		src.bad_id = bad[i].id;
		assert_int_equal(tg_detect_build(rx, 2, from_src, &src, &b.db, err, sizeof(err)),
				 0);
		b.s = tg_detect_scratch_alloc(b.db);
		assert_non_null(b.s);
		assert_int_equal(scan_f(&b, bad[i].text, strlen(bad[i].text), m, 4), -EIO);
		assert_int_equal(scan_f(&b, "nothing", 7, m, 4), 0);
		/* the right one finds it */
		assert_int_equal(scan_f(&a, bad[i].text, strlen(bad[i].text), m, 4), 1);
		fixture_free(&b);
	}
	fixture_free(&a);
	hs_src_free(&src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_card_valid),
		cmocka_unit_test(test_card_lengths_and_iin),
		cmocka_unit_test(test_card_invalid),
		cmocka_unit_test(test_card_in_longer_run),
		cmocka_unit_test(test_iban_valid),
		cmocka_unit_test(test_iban_invalid),
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_ssn),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_aws),
		cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_jwt_alone),
		cmocka_unit_test(test_private_key),
		cmocka_unit_test(test_private_key_many),
		cmocka_unit_test(test_new_kinds_alone),
		cmocka_unit_test(test_free_text),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_adjacent),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_buffer_edges),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_dedupe),
		cmocka_unit_test(test_scratch),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_random_sweep),
		cmocka_unit_test(test_build_deserialised),
		cmocka_unit_test(test_build_errors),
	};

	return cmocka_run_group_tests_name("detect", tests, group_setup, group_teardown);
}
