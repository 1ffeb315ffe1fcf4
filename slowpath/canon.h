/* SPDX-License-Identifier: MIT */
/*
 * canon.h — the deterministic encoding of an audit record: canonical JSON,
 * the subset of RFC 8785 (JSON Canonicalization Scheme) without floating
 * point numbers.
 *
 * A record is hashed as bytes (audit.h: leaf = SHA-256(0x00 || record)),
 * so two encoders must write one value as exactly the same bytes, or a
 * verifier that re-encodes would disagree with the log. The rules:
 *
 *   - No whitespace anywhere.
 *   - Objects: members sorted by key, comparing the keys' UTF-8 bytes as
 *     unsigned bytes (memcmp; a key that is a prefix of another sorts
 *     first); "key":value separated by ','. A jansson object cannot hold a
 *     key twice.
 *   - Arrays: elements in order, separated by ','.
 *   - Strings: '"' and '\' escaped as \" and \\; the control characters
 *     U+0008, U+0009, U+000A, U+000C, U+000D as \b \t \n \f \r; every other
 *     byte below 0x20 as \u00xx with lowercase hex; every other character,
 *     DEL and non-ASCII included, as its UTF-8 bytes. Strings and keys
 *     must be valid UTF-8 (no overlong forms, no surrogates, nothing above
 *     U+10FFFF); U+0000 is allowed and written \u0000.
 *   - Numbers: integers only (json_integer), in decimal, '-' for negatives,
 *     no '+', no leading zeros, no exponent: the exact 64-bit value.
 *   - true, false, null.
 *
 * Differences from RFC 8785, both deliberate:
 *   - RFC 8785 3.2.3 sorts keys by UTF-16 code units. Byte order of UTF-8
 *     is code point order, which differs from UTF-16 order only between a
 *     key character in U+E000..U+FFFF and one above U+FFFF at the same
 *     position. Record keys are ASCII, where the two agree.
 *   - RFC 8785 numbers are IEEE 754 doubles; here there are no floats at
 *     all (a real is refused) and integers beyond 2^53 keep every digit.
 *
 * Caveats:
 *   - Nesting deeper than TG_CANON_DEPTH_MAX is refused, which also stops
 *     a cyclic value (jansson permits building one).
 */
#ifndef TG_CANON_H
#define TG_CANON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define TG_CANON_DEPTH_MAX 32

/*
 * Encodes v. On success *out is a malloc'd buffer of *len bytes, followed
 * by a NUL that *len does not count; the caller frees it. Returns 0,
 * -EILSEQ (a string or key that is not valid UTF-8), -EINVAL (a real or a
 * type outside the subset), -ELOOP (deeper than TG_CANON_DEPTH_MAX) or
 * -ENOMEM; on error *out is NULL.
 */
int tg_canon_encode(const json_t *v, char **out, size_t *len);

/* Is s[0..len) valid UTF-8 as defined above? */
bool tg_canon_utf8_valid(const char *s, size_t len);

/*
 * Bytes from the network as a JSON string: those that are not valid UTF-8
 * become U+FFFD, so odd bytes cost a character, not the record (NUL is
 * kept, as \u0000). NULL when out of memory.
 */
json_t *tg_canon_string_lossy(const char *s, size_t len);

#endif /* TG_CANON_H */
