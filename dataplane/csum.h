/* SPDX-License-Identifier: MIT */
/*
 * csum.h — Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624), independent of DPDK so the parser can be unit-tested and
 * fuzzed without EAL.
 *
 * The fast path never recomputes a TCP checksum over a whole segment when
 * it changes a few bytes: tg_csum_adjust() folds the old and new 16-bit
 * words into the stored checksum, HC' = ~(~HC + ~m + m') (RFC 1624, eqn. 3),
 * which costs a handful of instructions per changed word.
 */
#ifndef TG_CSUM_H
#define TG_CSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Ones-complement sum of len bytes, as big-endian 16-bit words, added to
 * sum. buf must start at an even offset of the checksummed data.
 *
 * Eight bytes at a time in native order with an end-around carry, folded
 * and byte-swapped at the end: the ones-complement sum commutes with byte
 * swapping (RFC 1071 2(B)), so this equals the word-by-word sum at about a
 * quarter of the cost.
 */
static inline uint32_t
tg_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = 0, v;
	uint32_t folded;

	while (len >= 8) {
		memcpy(&v, p, 8);
		acc += v;
		acc += acc < v;
		p += 8;
		len -= 8;
	}
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffffffff) + (acc >> 32);
	folded = (uint32_t)((acc & 0xffff) + ((acc >> 16) & 0xffff) + (acc >> 32));
	folded = (folded & 0xffff) + (folded >> 16);
	folded = (folded & 0xffff) + (folded >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	folded = (uint32_t)(((folded & 0xff) << 8) | (folded >> 8));
#endif
	sum += folded;
	while (len >= 2) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* Folds a 32-bit partial sum to 16 bits and complements it. */
static inline uint16_t
tg_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * RFC 1624 incremental update of a checksum (host order) when one 16-bit
 * word (host order) changes from old to new.
 */
static inline uint16_t
tg_csum_adjust(uint16_t csum, uint16_t old, uint16_t new)
{
	uint32_t sum = (uint16_t)~csum;

	sum += (uint16_t)~old;
	sum += new;
	return tg_csum_fold(sum);
}

#endif /* TG_CSUM_H */
