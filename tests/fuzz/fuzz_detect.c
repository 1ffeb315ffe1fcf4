/* SPDX-License-Identifier: MIT */
/*
 * fuzz_detect.c — libFuzzer target for tg_detect_scan(),
 * tg_detect_scan_raw() and tg_detect_mask().
 *
 * Input: byte 0 picks the detector subset (one bit each: card, IBAN,
 * e-mail, SSN, phone, SSN without dashes, a fixed-width and a
 * variable-width user regex, the latter in UTF-8 mode over bytes that
 * mostly are not UTF-8); byte 1 the match array size (bits 0-5,
 * 0..63), the mask style (bits 6-7); byte 2 bits 0-2 more detectors (AWS
 * key id, JWT, private key; the other bits are ignored); the rest is the
 * buffer. The 2048 databases are compiled on first use and kept
 * (compiling is milliseconds; scanning is what is fuzzed).
 *
 * Beyond memory errors and UB, the target aborts when a result breaks the
 * contract of detect.h: a match out of bounds, empty, out of order or
 * overlapping the previous one; an id not enabled; a match too short to
 * hold what its detector confirms (a merged match keeps the id of its
 * longest part, so the part is inside it: an AWS key id's 20 letters and
 * digits, a JWT's two dots and 24 bytes, a PEM header); a different answer
 * for the same
 * bytes, or for a larger match array when the smaller one sufficed; a
 * mask that changes a byte outside the matches or writes anything but its
 * mask character inside them. The buffer is also scanned field by field
 * (split at '|'), the DataRow use. detect.c is compiled into this
 * executable with the fuzzer's instrumentation (tests/fuzz/meson.build).
 *
 * Seeds: tests/fuzz/gen-corpus detect DIR. Run: tests/fuzz/run.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXM 64
#define BIG 4096

enum { ID_CARD = 1, ID_IBAN, ID_EMAIL, ID_SSN, ID_PHONE, ID_FIXED, ID_VAR, ID_AWS, ID_JWT,
       ID_PKEY };

/* set: byte 0, then byte 2's bits 0-2 as bits 8-10 */
#define SETS 2048

static struct {
	struct tg_detect_db *db;
	struct tg_detect_scratch *s;
	int done;
} dbs[SETS];

static struct tg_detect_match big[BIG];

static void
compile_subset(unsigned int set)
{
	struct tg_detect_spec sp[11];
	unsigned int n = 0;
	char err[256];

	memset(sp, 0, sizeof(sp));
	if (set & 0x01)
		sp[n++] = (struct tg_detect_spec){ .id = ID_CARD, .kind = TG_DETECT_CARD };
	if (set & 0x02)
		sp[n++] = (struct tg_detect_spec){ .id = ID_IBAN, .kind = TG_DETECT_IBAN };
	if (set & 0x04)
		sp[n++] = (struct tg_detect_spec){ .id = ID_EMAIL, .kind = TG_DETECT_EMAIL };
	if (set & 0x08)
		sp[n++] = (struct tg_detect_spec){ .id = ID_SSN, .kind = TG_DETECT_SSN,
						   .flags = (set & 0x20) ? TG_DETECT_F_SSN_NODASH
									 : 0u };
	if (set & 0x10)
		sp[n++] = (struct tg_detect_spec){ .id = ID_PHONE, .kind = TG_DETECT_PHONE };
	if (set & 0x40)
		sp[n++] = (struct tg_detect_spec){ .id = ID_FIXED, .kind = TG_DETECT_REGEX,
						   .pattern = "ORD-[0-9]{6}" };
	if (set & 0x80)
		sp[n++] = (struct tg_detect_spec){ .id = ID_VAR, .kind = TG_DETECT_REGEX,
						   .pattern = "secret[^ |]*",
						   .flags = TG_DETECT_F_CASELESS | TG_DETECT_F_UTF8 };
	if (set & 0x100)
		sp[n++] = (struct tg_detect_spec){ .id = ID_AWS, .kind = TG_DETECT_AWS_KEY };
	if (set & 0x200)
		sp[n++] = (struct tg_detect_spec){ .id = ID_JWT, .kind = TG_DETECT_JWT };
	if (set & 0x400)
		sp[n++] = (struct tg_detect_spec){ .id = ID_PKEY, .kind = TG_DETECT_PRIVATE_KEY };
	if (tg_detect_compile(sp, n, &dbs[set].db, err, sizeof(err)) != 0)
		abort();
	dbs[set].s = tg_detect_scratch_alloc(dbs[set].db);
	if (dbs[set].s == NULL)
		abort();
	dbs[set].done = 1;
}

static int
enabled(unsigned int set, uint32_t id)
{
	switch (id) {
	case ID_CARD:
		return (set & 0x01) != 0;
	case ID_IBAN:
		return (set & 0x02) != 0;
	case ID_EMAIL:
		return (set & 0x04) != 0;
	case ID_SSN:
		return (set & 0x08) != 0;
	case ID_PHONE:
		return (set & 0x10) != 0;
	case ID_FIXED:
		return (set & 0x40) != 0;
	case ID_VAR:
		return (set & 0x80) != 0;
	case ID_AWS:
		return (set & 0x100) != 0;
	case ID_JWT:
		return (set & 0x200) != 0;
	case ID_PKEY:
		return (set & 0x400) != 0;
	default:
		return 0;
	}
}

static unsigned int
count(const uint8_t *b, const struct tg_detect_match *m, int (*pred)(uint8_t))
{
	unsigned int n = 0;
	uint32_t i;

	for (i = m->start; i < m->end; i++)
		n += (unsigned int)pred(b[i]);
	return n;
}

static int
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(uint8_t c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_at(uint8_t c)
{
	return c == '@';
}

static int
is_dot(uint8_t c)
{
	return c == '.';
}

static int
has(const uint8_t *b, const struct tg_detect_match *m, const char *s)
{
	return memmem(b + m->start, m->end - m->start, s, strlen(s)) != NULL;
}

/* The least each detector's confirmed value holds. */
static void
check_content(const uint8_t *b, const struct tg_detect_match *m)
{
	switch (m->id) {
	case ID_CARD:
		if (count(b, m, is_digit) < 13)
			abort();
		break;
	case ID_IBAN:
		if (count(b, m, is_alnum) < 15)
			abort();
		break;
	case ID_EMAIL:
		if (count(b, m, is_at) < 1 || m->end - m->start < 6)
			abort();
		break;
	case ID_SSN:
		if (count(b, m, is_digit) < 9)
			abort();
		break;
	case ID_PHONE:
		if (count(b, m, is_digit) < 8)
			abort();
		break;
	case ID_FIXED:
		if (m->end - m->start < 10)
			abort();
		break;
	case ID_VAR:
		if (m->end - m->start < 6)
			abort();
		break;
	case ID_AWS:
		if (count(b, m, is_alnum) < 20)
			abort();
		break;
	case ID_JWT:
		if (count(b, m, is_dot) < 2 || m->end - m->start < 24 || !has(b, m, "eyJ"))
			abort();
		break;
	case ID_PKEY:
		if (m->end - m->start < 27 || !has(b, m, "-----BEGIN ") ||
		    !has(b, m, "PRIVATE KEY"))
			abort();
		break;
	default:
		abort();
	}
}

static void
check(unsigned int set, const uint8_t *b, uint32_t len, const struct tg_detect_match *m, int n)
{
	int i;

	if (n < 0 || n > BIG)
		abort();
	for (i = 0; i < n; i++) {
		if (m[i].start >= m[i].end || m[i].end > len)
			abort();
		if (i > 0 && m[i - 1].end > m[i].start)
			abort();
		if (!enabled(set, m[i].id))
			abort();
		check_content(b, &m[i]);
	}
}

static void
check_mask(const uint8_t *b, uint32_t len, const struct tg_detect_match *m, int n,
	   enum tg_detect_mask_style style)
{
	uint8_t *c = malloc(len ? len : 1);
	uint8_t mc = style == TG_DETECT_MASK_FULL_X ? 'X' : '*';
	uint32_t i;
	int k = 0;

	if (c == NULL)
		abort();
	if (len)
		memcpy(c, b, len);
	tg_detect_mask(c, m, (unsigned int)n, style);
	for (i = 0; i < len; i++) {
		while (k < n && m[k].end <= i)
			k++;
		if (k < n && m[k].start <= i) {
			if (c[i] != b[i] && c[i] != mc)
				abort();
			if ((style == TG_DETECT_MASK_FULL || style == TG_DETECT_MASK_FULL_X) &&
			    c[i] != mc)
				abort();
		} else if (c[i] != b[i]) {
			abort();
		}
	}
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_detect_match m[MAXM], again[MAXM];
	unsigned int set, max;
	enum tg_detect_mask_style style;
	const uint8_t *b;
	uint32_t len, f0, i;
	int n, nb;

	if (size < 3)
		return 0;
	set = data[0] | (unsigned int)(data[2] & 0x07) << 8;
	max = data[1] & 0x3f;
	style = (enum tg_detect_mask_style)(data[1] >> 6);
	b = data + 3;
	len = (uint32_t)(size - 3 > 1u << 20 ? 1u << 20 : size - 3);
	if (!dbs[set].done)
		compile_subset(set);

	/* the whole buffer, with a large array: the reference answer */
	nb = tg_detect_scan(dbs[set].db, dbs[set].s, b, len, big, BIG);
	if (nb == -ENOSPC)
		return 0;
	check(set, b, len, big, nb);
	check_mask(b, len, big, nb, style);
	if (tg_detect_scan_raw(dbs[set].db, dbs[set].s, b, len) < 0)
		abort();

	/* a small array: the same answer, or -ENOSPC when it cannot hold it */
	n = tg_detect_scan(dbs[set].db, dbs[set].s, b, len, m, max);
	if (n == -ENOSPC) {
		/* exact while the unmerged matches fit (detect.h): the fuzz
		 * databases' shortest match is 6 bytes */
		if ((unsigned int)nb <= max && len < TG_DETECT_WORK * 6)
			abort();
	} else {
		if (n != nb || memcmp(m, big, (size_t)n * sizeof(*m)) != 0)
			abort();
		if (tg_detect_scan(dbs[set].db, dbs[set].s, b, len, again, max) != n ||
		    memcmp(m, again, (size_t)n * sizeof(*m)) != 0)
			abort();
	}

	/* field by field, split at '|' */
	for (f0 = 0, i = 0; i <= len; i++) {
		if (i < len && b[i] != '|')
			continue;
		n = tg_detect_scan(dbs[set].db, dbs[set].s, b + f0, i - f0, m, MAXM);
		if (n != -ENOSPC) {
			check(set, b + f0, i - f0, m, n);
			check_mask(b + f0, i - f0, m, n, style);
		}
		f0 = i + 1;
	}
	return 0;
}
