/* SPDX-License-Identifier: MIT */
/*
 * jsonpos.c — see jsonpos.h.
 *
 * A walker over JSON text (RFC 8259) that jansson has already accepted.
 * Every read is checked against len; every malformed spot it can meet
 * (only on text jansson would refuse) ends the walk with -ENOENT.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonpos.h"

static bool
is_ws(char c)
{
	/* RFC 8259 section 2: the four insignificant whitespace bytes */
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t
skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && is_ws(t[i]))
		i++;
	return i;
}

/* Can a value start here? Rules out the end of a container and separators. */
static bool
value_start(const char *t, size_t len, size_t i)
{
	return i < len && t[i] != ',' && t[i] != ':' && t[i] != ']' && t[i] != '}';
}

/* t[i] is the opening quote: the offset after the closing one in *end. */
static int
skip_string(const char *t, size_t len, size_t i, size_t *end)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\') {
			i++;	/* the escaped byte: never a closing quote */
			continue;
		}
		if (t[i] == '"') {
			*end = i + 1;
			return 0;
		}
	}
	return -ENOENT;
}

/* Skips the value at t[i] (no leading whitespace): *end is just past it. */
static int
skip_value(const char *t, size_t len, size_t i, size_t *end)
{
	size_t depth = 0;

	if (i >= len)
		return -ENOENT;
	if (t[i] == '"')
		return skip_string(t, len, i, end);
	if (t[i] != '{' && t[i] != '[') {
		/* number, true, false, null: up to the next delimiter */
		size_t s = i;

		while (i < len && !is_ws(t[i]) && t[i] != ',' && t[i] != ']' && t[i] != '}' &&
		       t[i] != ':')
			i++;
		if (i == s)
			return -ENOENT;
		*end = i;
		return 0;
	}
	/* a container: count brackets outside strings, no recursion */
	while (i < len) {
		char c = t[i];

		if (c == '"') {
			if (skip_string(t, len, i, &i) < 0)
				return -ENOENT;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				*end = i + 1;
				return 0;
			}
		}
		i++;
	}
	return -ENOENT;
}

static int
hex4(const char *t, size_t len, size_t i, uint32_t *u)
{
	uint32_t v = 0;
	size_t k;

	if (len < 4 || i > len - 4)
		return -ENOENT;
	for (k = 0; k < 4; k++) {
		char c = t[i + k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -ENOENT;
	}
	*u = v;
	return 0;
}

static unsigned int
utf8_encode(uint32_t cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Decodes one escape at t[i] == '\\' into out[]: the byte count, with *i
 * moved past it, or 0 on a malformed escape. A \uXXXX high surrogate
 * followed by a \uXXXX low one is one code point (RFC 8259 section 7).
 */
static unsigned int
unescape(const char *t, size_t len, size_t *i, unsigned char out[4])
{
	size_t j = *i + 1;
	uint32_t cp, lo;

	if (j >= len)
		return 0;
	switch (t[j]) {
	case '"':
	case '\\':
	case '/':
		out[0] = (unsigned char)t[j];
		break;
	case 'b':
		out[0] = '\b';
		break;
	case 'f':
		out[0] = '\f';
		break;
	case 'n':
		out[0] = '\n';
		break;
	case 'r':
		out[0] = '\r';
		break;
	case 't':
		out[0] = '\t';
		break;
	case 'u':
		if (hex4(t, len, j + 1, &cp) < 0)
			return 0;
		j += 5;
		if (cp >= 0xD800 && cp <= 0xDBFF && j + 1 < len && t[j] == '\\' &&
		    t[j + 1] == 'u' && hex4(t, len, j + 2, &lo) == 0 && lo >= 0xDC00 &&
		    lo <= 0xDFFF) {
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			j += 6;
		}
		*i = j;
		return utf8_encode(cp, out);
	default:
		return 0;
	}
	*i = j + 1;
	return 1;
}

/*
 * Compares the string at t[i] (its opening quote) with key, escapes
 * decoded. Returns 1 (equal) or 0 with *end past the closing quote, or
 * -ENOENT on a malformed string.
 */
static int
string_equals(const char *t, size_t len, size_t i, const char *key, size_t *end)
{
	const unsigned char *k = (const unsigned char *)key;
	bool same = true;

	i++;
	while (i < len) {
		unsigned char b[4];
		unsigned int n, m;

		if (t[i] == '"') {
			*end = i + 1;
			return same && *k == '\0';
		}
		if (t[i] == '\\') {
			n = unescape(t, len, &i, b);
			if (n == 0)
				return -ENOENT;
		} else {
			b[0] = (unsigned char)t[i++];
			n = 1;
		}
		/* a decoded NUL never equals the key's terminator: keys hold no NUL */
		for (m = 0; m < n && same; m++) {
			if (*k == '\0' || *k != b[m])
				same = false;
			else
				k++;
		}
	}
	return -ENOENT;
}

/* At the '{' of t[*i]: moves *i to the value of member key (or its key). */
static int
enter_member(const char *t, size_t len, size_t *i, const char *key, int want_key)
{
	size_t j = skip_ws(t, len, *i + 1);

	while (j < len && t[j] == '"') {
		size_t kpos = j;
		int eq = string_equals(t, len, j, key, &j);

		if (eq < 0)
			return -ENOENT;
		j = skip_ws(t, len, j);
		if (j >= len || t[j] != ':')
			return -ENOENT;
		j = skip_ws(t, len, j + 1);
		if (eq) {
			if (!value_start(t, len, j))
				return -ENOENT;
			*i = want_key ? kpos : j;
			return 0;
		}
		if (skip_value(t, len, j, &j) < 0)
			return -ENOENT;
		j = skip_ws(t, len, j);
		if (j >= len || t[j] != ',')
			return -ENOENT;
		j = skip_ws(t, len, j + 1);
	}
	return -ENOENT;
}

/* At the '[' of t[*i]: moves *i to element index. */
static int
enter_element(const char *t, size_t len, size_t *i, size_t index)
{
	size_t j = skip_ws(t, len, *i + 1), n;

	for (n = 0; n < index; n++) {
		if (!value_start(t, len, j) || skip_value(t, len, j, &j) < 0)
			return -ENOENT;
		j = skip_ws(t, len, j);
		if (j >= len || t[j] != ',')
			return -ENOENT;
		j = skip_ws(t, len, j + 1);
	}
	if (!value_start(t, len, j))
		return -ENOENT;
	*i = j;
	return 0;
}

int
tg_jsonpos_offset(const char *text, size_t len, size_t from, const struct tg_jsonpos_step *path,
		  unsigned int depth, int want_key, size_t *off)
{
	size_t i;
	unsigned int d;

	if (text == NULL || off == NULL || (path == NULL && depth > 0))
		return -EINVAL;
	if (want_key && (depth == 0 || path[depth - 1].key == NULL))
		return -EINVAL;
	i = skip_ws(text, len, from);
	if (!value_start(text, len, i))
		return -ENOENT;
	for (d = 0; d < depth; d++) {
		const struct tg_jsonpos_step *s = &path[d];
		int rc;

		if (s->key != NULL)
			rc = text[i] == '{' ?
				enter_member(text, len, &i, s->key, want_key && d == depth - 1) :
				-ENOENT;
		else
			rc = text[i] == '[' ? enter_element(text, len, &i, s->index) : -ENOENT;
		if (rc < 0)
			return rc;
	}
	*off = i;
	return 0;
}

int
tg_jsonpos_next(const char *text, size_t len, size_t off, size_t *next)
{
	size_t j;

	if (text == NULL || next == NULL)
		return -EINVAL;
	if (!value_start(text, len, off) || skip_value(text, len, off, &j) < 0)
		return -ENOENT;
	j = skip_ws(text, len, j);
	if (j >= len || text[j] != ',')
		return -ENOENT;
	j = skip_ws(text, len, j + 1);
	if (!value_start(text, len, j))
		return -ENOENT;
	*next = j;
	return 0;
}

void
tg_jsonpos_linecol(const char *text, size_t len, size_t off, struct tg_jsonpos_lc *lc)
{
	size_t i;

	if (off > len)
		off = len;
	if (off < lc->off) {
		lc->off = 0;
		lc->line = 1;
		lc->col = 1;
	}
	for (i = lc->off; i < off; i++) {
		if (text[i] == '\n') {
			lc->line++;
			lc->col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			/* one column per character: UTF-8 continuation bytes add none */
			lc->col++;
		}
	}
	lc->off = off;
}

static int
find(const char *text, size_t len, const struct tg_jsonpos_step *path, unsigned int depth,
     int want_key, uint32_t *line, uint32_t *col)
{
	struct tg_jsonpos_lc lc = TG_JSONPOS_LC_INIT;
	size_t off;
	int rc;

	if (line == NULL || col == NULL)
		return -EINVAL;
	rc = tg_jsonpos_offset(text, len, 0, path, depth, want_key, &off);
	if (rc < 0)
		return rc;
	tg_jsonpos_linecol(text, len, off, &lc);
	*line = lc.line;
	*col = lc.col;
	return 0;
}

int
tg_jsonpos_find(const char *text, size_t len, const struct tg_jsonpos_step *path,
		unsigned int depth, uint32_t *line, uint32_t *col)
{
	return find(text, len, path, depth, 0, line, col);
}

int
tg_jsonpos_find_key(const char *text, size_t len, const struct tg_jsonpos_step *path,
		    unsigned int depth, uint32_t *line, uint32_t *col)
{
	return find(text, len, path, depth, 1, line, col);
}
