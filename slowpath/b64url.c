/* SPDX-License-Identifier: MIT */
/*
 * b64url.c — strict base64url decoding (b64url.h).
 */
#include <errno.h>

#include "b64url.h"

/* 0..63 for the alphabet of RFC 4648 §5, -1 for anything else. */
static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
tg_b64url_decode(const char *src, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	unsigned int bits = 0;

	/* One character alone carries 6 bits: less than a byte. */
	if (len % 4 == 1)
		return -EINVAL;
	if (tg_b64url_decoded_max(len) > cap)
		return -ENOSPC;
	for (i = 0; i < len; i++) {
		int v = b64url_val((unsigned char)src[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Left-over bits must be zero: one encoding per byte string. */
	if (acc != 0)
		return -EINVAL;
	return (long)n;
}
