/* SPDX-License-Identifier: MIT */
/*
 * corpus.h — the benchmarks' deterministic inputs: a fixed xorshift64 and,
 * for the DPDK-free ones (detect.c, inspect.c), the text of table rows and
 * the sensitive values planted in them, so that both scan the same kinds
 * of values built the same way.
 *
 * Every generator appends at b[at] and returns the new end, truncating at
 * cap (b[cap - 1] is left for a NUL); each draws from the caller's
 * xorshift state, so a seed gives the same bytes on every run and the
 * figures of one tree can be compared with those of another.
 *
 * The values are valid by construction: card numbers of a real scheme's
 * prefix and length with a right Luhn digit (ISO/IEC 7812-1), IBANs of
 * eight countries with right check digits (ISO 7064 mod 97-10), e-mail
 * addresses, phone numbers (E.164 and NANP) and SSNs of the ranges the SSA
 * issues; each may come grouped with spaces or dashes, as people type them.
 *
 * Caveats:
 * - Not for secrets: xorshift64 (Marsaglia 2003) is predictable.
 * - The name tables are short (twenty, twenty, sixteen, five): text is
 *   realistic in shape, not in variety; a cache of matches would find it
 *   repetitive.
 */
#ifndef TG_BENCH_CORPUS_H
#define TG_BENCH_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The seed of tg_bench_xorshift() by default, so every run builds the same input. */
#define TG_BENCH_SEED 0x9e3779b97f4a7c15ULL

/* A fixed xorshift64 (Marsaglia 2003): deterministic, not for secrets. */
static inline uint64_t
tg_bench_xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* A number in [0, n), n > 0. */
static inline unsigned int
tg_bench_rnd(uint64_t *s, unsigned int n)
{
	return (unsigned int)(tg_bench_xorshift(s) % n);
}

/* Names for text fields: 20 first, 20 last, 16 cities, 5 e-mail domains. */
extern const char *const tg_bench_first_names[20];
extern const char *const tg_bench_last_names[20];
extern const char *const tg_bench_cities[16];
extern const char *const tg_bench_domains[5];

/* printf of fmt at b[at], truncated at cap; returns the new end. */
size_t tg_bench_put(uint8_t *b, size_t cap, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A Luhn-valid card number of a real scheme's prefix, plain, spaced or dashed. */
size_t tg_bench_put_card(uint8_t *b, size_t cap, size_t at, uint64_t *s);

/* An IBAN with valid check digits (ISO 7064 mod 97-10), grouped by four or not. */
size_t tg_bench_put_iban(uint8_t *b, size_t cap, size_t at, uint64_t *s);

/* first.last<n>@domain */
size_t tg_bench_put_email(uint8_t *b, size_t cap, size_t at, uint64_t *s);

/* A UK number in E.164 form, or a NANP one with or without its country code. */
size_t tg_bench_put_phone(uint8_t *b, size_t cap, size_t at, uint64_t *s);

/* Area 001-665, group 01-99, serial 0001-9999: numbers the SSA issues. */
size_t tg_bench_put_ssn(uint8_t *b, size_t cap, size_t at, uint64_t *s);

/*
 * A bare reference number of 13-16 digits that is no card number: Luhn
 * fails. The card detector sees these, walks them and refuses them: the
 * cost of near misses.
 */
size_t tg_bench_put_long_ref(uint8_t *b, size_t cap, size_t at, uint64_t *s);

/*
 * Free text of the kind found in notes columns, digits included. clean:
 * nothing in it a detector may take for a value (tracking and reference
 * numbers that fail Luhn), for a corpus whose every match is checked
 * against what was planted; else two of the ten kinds of note join
 * random numbers into digit runs, as the corpus of tools/bench/detect
 * always has, so that its figures stay comparable with earlier ones.
 */
size_t tg_bench_put_note(uint8_t *b, size_t cap, size_t at, uint64_t *s, bool clean);

#endif /* TG_BENCH_CORPUS_H */
