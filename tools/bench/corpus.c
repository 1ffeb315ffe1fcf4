/* SPDX-License-Identifier: MIT */
/*
 * corpus.c — row text and sensitive values for the DPDK-free benchmarks
 * (see corpus.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "corpus.h"

const char *const tg_bench_first_names[20] = {
	"Jane", "John", "Maria", "Wei", "Aisha", "Lars", "Sofia", "Mateo", "Yuki", "Olga",
	"Pierre", "Fatima", "Noah", "Emma", "Ivan", "Chloe", "Arjun", "Lena", "Omar", "Ines",
};
const char *const tg_bench_last_names[20] = {
	"Roe", "Smith", "Garcia", "Chen", "Khan", "Larsen", "Rossi", "Lopez", "Tanaka", "Ivanova",
	"Dubois", "Haddad", "Miller", "Schmidt", "Petrov", "Martin", "Patel", "Weber", "Nasser",
	"Silva",
};
const char *const tg_bench_cities[16] = {
	"Berlin", "Paris", "London", "Madrid", "Rome", "Amsterdam", "Zurich", "Oslo", "Austin",
	"Toronto", "Lisbon", "Vienna", "Prague", "Warsaw", "Dublin", "Brussels",
};
const char *const tg_bench_domains[5] = {
	"example.com", "example.org", "mail.example.net", "corp.example.co.uk", "example.de",
};

size_t
tg_bench_put(uint8_t *b, size_t cap, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (at >= cap)
		return cap;
	va_start(ap, fmt);
	n = vsnprintf((char *)b + at, cap - at, fmt, ap);
	va_end(ap);
	if (n < 0)
		return at;
	return (size_t)n >= cap - at ? cap - 1 : at + (size_t)n;
}

/*
 * The Luhn sum of the digits d[0..n) mod 10 (ISO/IEC 7812-1 Annex B):
 * every second digit from the right doubled, 0 when the number passes.
 */
static unsigned int
luhn_mod10(const char *d, unsigned int n)
{
	unsigned int i, k, sum = 0;

	for (i = 0; i < n; i++) {
		k = (unsigned int)(d[n - 1 - i] - '0');
		if (i & 1) {
			k *= 2;
			if (k > 9)
				k -= 9;
		}
		sum += k;
	}
	return sum % 10;
}

/* The check digit, last, makes the Luhn sum a multiple of ten. */
size_t
tg_bench_put_card(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	static const char *const prefixes[] = { "4", "51", "55", "2221", "2720", "37", "6011" };
	const char *p = prefixes[tg_bench_rnd(s, 7)];
	char d[20];
	unsigned int len = p[0] == '3' ? 15 : 16, i, sep;

	memcpy(d, p, strlen(p));
	for (i = (unsigned int)strlen(p); i < len - 1; i++)
		d[i] = (char)('0' + tg_bench_rnd(s, 10));
	d[len - 1] = '0';
	d[len - 1] = (char)('0' + (10 - luhn_mod10(d, len)) % 10);
	sep = tg_bench_rnd(s, 3);	/* none, space, dash */
	for (i = 0; i < len && at + 1 < cap; i++) {
		if (sep && i > 0 && i % 4 == 0)
			b[at++] = sep == 1 ? ' ' : '-';
		if (at + 1 < cap)
			b[at++] = (uint8_t)d[i];
	}
	return at;
}

/* The check digits make BBAN, country and check digits, read as a number, 1 mod 97. */
size_t
tg_bench_put_iban(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	static const struct {
		const char *cc;
		unsigned int len, letters;	/* BBAN starts with this many letters */
	} c[] = {
		{ "DE", 22, 0 }, { "FR", 27, 0 }, { "GB", 22, 4 }, { "NL", 18, 4 },
		{ "ES", 24, 0 }, { "IT", 27, 1 }, { "BE", 16, 0 }, { "CH", 21, 0 },
	};
	unsigned int k = tg_bench_rnd(s, 8), n = c[k].len, i, r = 0;
	char v[34];

	v[0] = c[k].cc[0];
	v[1] = c[k].cc[1];
	for (i = 4; i < n; i++)
		v[i] = i - 4 < c[k].letters ? (char)('A' + tg_bench_rnd(s, 26))
					    : (char)('0' + tg_bench_rnd(s, 10));
	/* BBAN, country, "00" */
	for (i = 4; i < n + 4; i++) {
		char ch = i < n ? v[i] : (i < n + 2 ? v[i - n] : '0');

		if (ch >= '0' && ch <= '9')
			r = (r * 10 + (unsigned int)(ch - '0')) % 97;
		else
			r = (r * 100 + (unsigned int)(ch - 'A' + 10)) % 97;
	}
	r = 98 - r;
	v[2] = (char)('0' + r / 10);
	v[3] = (char)('0' + r % 10);
	k = tg_bench_rnd(s, 2);
	for (i = 0; i < n && at + 1 < cap; i++) {
		if (k && i > 0 && i % 4 == 0)
			b[at++] = ' ';
		if (at + 1 < cap)
			b[at++] = (uint8_t)v[i];
	}
	return at;
}

size_t
tg_bench_put_email(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	return tg_bench_put(b, cap, at, "%s.%s%u@%s", tg_bench_first_names[tg_bench_rnd(s, 20)],
			    tg_bench_last_names[tg_bench_rnd(s, 20)], tg_bench_rnd(s, 100),
			    tg_bench_domains[tg_bench_rnd(s, 5)]);
}

size_t
tg_bench_put_phone(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	switch (tg_bench_rnd(s, 3)) {
	case 0:
		return tg_bench_put(b, cap, at, "+44 20 7946 0%03u", tg_bench_rnd(s, 1000));
	case 1:
		return tg_bench_put(b, cap, at, "(%u) 555-%04u", 200 + tg_bench_rnd(s, 800),
				    tg_bench_rnd(s, 10000));
	default:
		return tg_bench_put(b, cap, at, "+1 %u 555 %04u", 200 + tg_bench_rnd(s, 800),
				    tg_bench_rnd(s, 10000));
	}
}

size_t
tg_bench_put_ssn(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	return tg_bench_put(b, cap, at, "%03u-%02u-%04u", 1 + tg_bench_rnd(s, 665),
			    1 + tg_bench_rnd(s, 99), 1 + tg_bench_rnd(s, 9999));
}

/* The last digit is bumped when the number would pass Luhn. */
size_t
tg_bench_put_long_ref(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	unsigned int n = 13 + tg_bench_rnd(s, 4), i;
	char d[16];

	d[0] = (char)('1' + tg_bench_rnd(s, 9));
	for (i = 1; i < n; i++)
		d[i] = (char)('0' + tg_bench_rnd(s, 10));
	if (luhn_mod10(d, n) == 0)
		d[n - 1] = (char)('0' + (d[n - 1] - '0' + 1) % 10);
	return tg_bench_put(b, cap, at, "%.*s", (int)n, d);
}

size_t
tg_bench_put_note(uint8_t *b, size_t cap, size_t at, uint64_t *s, bool clean)
{
	unsigned int x = tg_bench_rnd(s, 100000), y = tg_bench_rnd(s, 100000);

	switch (tg_bench_rnd(s, 10)) {
	case 0:
		return tg_bench_put(b, cap, at, "customer asked for gift wrapping");
	case 1:
		return tg_bench_put(b, cap, at, "delivered to the neighbour at no. %u", x % 200);
	case 2:
		return tg_bench_put(b, cap, at, "call back after %u pm about the invoice",
				    1 + x % 9);
	case 3:
		return tg_bench_put(b, cap, at, "replacement for order %u, see ticket %u", x, y);
	case 4:
		return tg_bench_put(b, cap, at, "SKU AB%u-XL colour RED size %u", x, y % 50);
	case 5:
		if (!clean)
			return tg_bench_put(b, cap, at, "tracking 1Z999AA1%u%u, carrier UPS", x, y);
		return tg_bench_put(b, cap, at, "tracking 1Z999AA1%08u, carrier UPS",
				    x * 1000 + y % 1000);
	case 6:
		if (!clean)
			return tg_bench_put(b, cap, at, "ref %u%u%u batch %u", x, y, x ^ y,
					    y % 100);
		at = tg_bench_put(b, cap, at, "ref ");
		at = tg_bench_put_long_ref(b, cap, at, s);
		return tg_bench_put(b, cap, at, " batch %u", y % 100);
	case 7:
		return tg_bench_put(b, cap, at, "paid by bank transfer on 2024-0%u-1%u", 1 + x % 9,
				    y % 10);
	case 8:
		return tg_bench_put(b, cap, at, "discount code SPRING%u applied, %u%% off", x % 100,
				    y % 60);
	default:
		return tg_bench_put(b, cap, at, "invoice INV-%u sent to accounts", x);
	}
}
