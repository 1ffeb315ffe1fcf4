/* SPDX-License-Identifier: MIT */
/*
 * canon.c — see canon.h.
 *
 * One pass over the value into a growing buffer. Object members are
 * sorted through a temporary array of (key, length, value) per object:
 * O(k log k) for k members, and records have a few dozen at most.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "canon.h"

struct buf {
	char *p;
	size_t len;
	size_t cap;
};

static int
reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (p == NULL)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int
put(struct buf *b, const char *s, size_t n)
{
	int rc = reserve(b, n);

	if (rc < 0)
		return rc;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int
putc1(struct buf *b, char c)
{
	return put(b, &c, 1);
}

bool
tg_canon_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t n, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		/* RFC 3629 section 4: the well-formed byte sequences. */
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* above U+10FFFF */
		} else {
			return false; /* continuation byte, C0, C1, F5..FF */
		}
		if (len - i - 1 < n)
			return false;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

static int
put_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	int rc;

	if (!tg_canon_utf8_valid(s, len))
		return -EILSEQ;
	if ((rc = putc1(b, '"')) < 0)
		return rc;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = { '\\', 0, 0, 0, 0, 0 };
		size_t n = 2;

		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			if (c >= 0x20)
				continue;
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
		}
		/* the unescaped bytes before this one, in one copy */
		if ((rc = put(b, s + run, i - run)) < 0 || (rc = put(b, esc, n)) < 0)
			return rc;
		run = i + 1;
	}
	if ((rc = put(b, s + run, len - run)) < 0)
		return rc;
	return putc1(b, '"');
}

struct member {
	const char *key;
	size_t len;
	json_t *value;
};

static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static int encode(struct buf *b, const json_t *v, unsigned int depth);

static int
encode_object(struct buf *b, const json_t *v, unsigned int depth)
{
	size_t n = json_object_size(v), i = 0, key_len;
	struct member *m = NULL;
	const char *key;
	json_t *value;
	int rc;

	if (n > 0) {
		m = calloc(n, sizeof(*m));
		if (m == NULL)
			return -ENOMEM;
	}
	/* json_object_foreach takes a non-const object; it does not modify it. */
	json_object_keylen_foreach((json_t *)v, key, key_len, value)
	{
		m[i].key = key;
		m[i].len = key_len;
		m[i].value = value;
		i++;
	}
	if (n > 1)
		qsort(m, n, sizeof(*m), member_cmp);
	if ((rc = putc1(b, '{')) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (i > 0 && (rc = putc1(b, ',')) < 0)
			goto out;
		if ((rc = put_string(b, m[i].key, m[i].len)) < 0 || (rc = putc1(b, ':')) < 0 ||
		    (rc = encode(b, m[i].value, depth + 1)) < 0)
			goto out;
	}
	rc = putc1(b, '}');
out:
	free(m);
	return rc;
}

static int
encode(struct buf *b, const json_t *v, unsigned int depth)
{
	char num[24];
	size_t i;
	int rc, n;

	if (depth >= TG_CANON_DEPTH_MAX)
		return -ELOOP;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return encode_object(b, v, depth);
	case JSON_ARRAY:
		if ((rc = putc1(b, '[')) < 0)
			return rc;
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0 && (rc = putc1(b, ',')) < 0)
				return rc;
			if ((rc = encode(b, json_array_get(v, i), depth + 1)) < 0)
				return rc;
		}
		return putc1(b, ']');
	case JSON_STRING:
		return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		if (n < 0 || (size_t)n >= sizeof(num))
			return -EINVAL;
		return put(b, num, (size_t)n);
	case JSON_TRUE:
		return put(b, "true", 4);
	case JSON_FALSE:
		return put(b, "false", 5);
	case JSON_NULL:
		return put(b, "null", 4);
	case JSON_REAL:
	default:
		return -EINVAL;
	}
}

int
tg_canon_encode(const json_t *v, char **out, size_t *len)
{
	struct buf b = { NULL, 0, 0 };
	int rc;

	*out = NULL;
	*len = 0;
	if (v == NULL)
		return -EINVAL;
	rc = encode(&b, v, 0);
	if (rc == 0)
		rc = reserve(&b, 0);
	if (rc < 0) {
		free(b.p);
		return rc;
	}
	b.p[b.len] = '\0';
	*out = b.p;
	*len = b.len;
	return 0;
}

json_t *
tg_canon_string_lossy(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, n = 0, k;
	json_t *v;
	char *buf;

	if (tg_canon_utf8_valid(s, len))
		return json_stringn(s, len);
	buf = malloc(len * 3);
	if (buf == NULL)
		return NULL;
	while (i < len) {
		k = p[i] < 0x80 ? 1 : p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		if (k <= len - i && tg_canon_utf8_valid((const char *)p + i, k)) {
			memcpy(buf + n, p + i, k);
			n += k;
			i += k;
		} else {
			memcpy(buf + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		}
	}
	v = json_stringn(buf, n);
	free(buf);
	return v;
}
