/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h — what the libFuzzer targets share: the check that aborts (so
 * that libFuzzer keeps the input), and the reader of the records most
 * targets cut their input into. Header only: each target compiles it in.
 *
 * Caveats:
 * - Older targets still carry their own copy of CHECK; new ones include
 *   this instead.
 */
#ifndef TG_FUZZ_H
#define TG_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under test: abort, naming it, when it does not hold */
#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
			abort(); \
		} \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The record of data[0..size) at *i: a control byte (*ctl) whose bits in
 * mask are the length, all of them set meaning that a 16-bit big-endian
 * length follows, then that many bytes (fewer at the end of the input).
 * Sets *len and moves *i to the record's bytes. Returns false when no
 * record is left.
 */
static inline bool
fuzz_record(const uint8_t *data, size_t size, size_t *i, uint8_t mask, uint8_t *ctl,
	    size_t *len)
{
	if (*i >= size)
		return false;
	*ctl = data[(*i)++];
	*len = *ctl & mask;
	if (*len == mask) {
		if (*i + 2 > size)
			return false;
		*len = (size_t)data[*i] << 8 | data[*i + 1];
		*i += 2;
	}
	if (*len > size - *i)
		*len = size - *i;
	return true;
}

#endif /* TG_FUZZ_H */
