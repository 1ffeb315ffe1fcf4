/* SPDX-License-Identifier: MIT */
/*
 * b64url.h — strict base64url (RFC 4648 §5) without padding, the encoding
 * of every JWS segment and of JWK members (RFC 7515 §2, RFC 7518 §6).
 *
 * Strict on purpose: an '=' pad, a character outside the URL-safe
 * alphabet, a length of 1 mod 4, or non-zero bits left over in the last
 * character are refused, so that every byte string has exactly one
 * accepted encoding and a token cannot be altered in its text without
 * altering its bytes (RFC 7515 §2 forbids the padding; RFC 4648 §3.5
 * allows decoders to refuse non-zero pad bits).
 */
#ifndef TG_SP_B64URL_H
#define TG_SP_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes that len characters of base64url decode to. */
static inline size_t
tg_b64url_decoded_max(size_t len)
{
	return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}

/*
 * Decodes src[0..len) into out[0..cap). Returns the number of bytes
 * written, -EINVAL for input that is not canonical base64url without
 * padding, or -ENOSPC when cap is too small.
 */
long tg_b64url_decode(const char *src, size_t len, uint8_t *out, size_t cap);

#endif /* TG_SP_B64URL_H */
