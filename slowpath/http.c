/* SPDX-License-Identifier: MIT */
/*
 * http.c — the request-head parser of the /metrics listener. See http.h.
 *
 * One pass over the bytes held, line by line; the line being received
 * (no LF yet) is checked as far as it goes, so garbage is refused on its
 * first bytes rather than after the cap or the timeout.
 */
#include <string.h>

#include "http.h"

struct parse {
	struct tg_http_req *req;
	const char *path;
	unsigned int hosts; /* Host fields */
	unsigned int clens; /* Content-Length fields */
	bool body;	    /* a Content-Length above 0, or a Transfer-Encoding */
	bool line_done;	    /* the request line was read */
};

static int
bad(struct parse *ps, int status, const char *why)
{
	ps->req->why = why;
	return status;
}

/* tchar of RFC 9110 5.6.2 */
static bool
tchar(unsigned char c)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && memchr(extra, c, sizeof(extra) - 1) != NULL);
}

/* field-vchar, SP or HTAB (RFC 9110 5.5): what a field value may hold */
static bool
value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The k-th byte of "HTTP/" DIGIT "." DIGIT. */
static bool
version_char(size_t k, unsigned char c)
{
	static const char prefix[] = "HTTP/";

	if (k < 5)
		return c == (unsigned char)prefix[k];
	if (k == 6)
		return c == '.';
	return k < 8 && c >= '0' && c <= '9';
}

static bool
ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/*
 * The path of a request target, origin-form or absolute-form (RFC 9112
 * 3.2.1, 3.2.2), without its query: false for another form.
 */
static bool
target_path(const char *t, size_t n, const char **path, size_t *plen)
{
	size_t i = 0, end;

	if (n > 0 && t[0] == '/') {
		i = 0;
	} else {
		if (n >= 7 && ieq(t, 7, "http://"))
			i = 7;
		else if (n >= 8 && ieq(t, 8, "https://"))
			i = 8;
		else
			return false;
		end = i;
		while (end < n && t[end] != '/' && t[end] != '?')
			end++;
		if (end == i)
			return false; /* no authority */
		i = end;
		if (i == n || t[i] == '?') {
			*path = "/"; /* an empty path is "/" (RFC 9112 3.2.2) */
			*plen = 1;
			return true;
		}
	}
	for (end = i; end < n && t[end] != '?' && t[end] != '#'; end++)
		;
	*path = t + i;
	*plen = end - i;
	return true;
}

/* The request line, whole (complete) or as far as it has come. */
static int
request_line(struct parse *ps, const char *p, size_t n, bool complete)
{
	struct tg_http_req *req = ps->req;
	size_t part = 0, start[3] = { 0, 0, 0 }, i, tlen, plen;
	const char *t, *path;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ' ') {
			if (part == 2 || i == start[part])
				return bad(ps, 400,
					   "the request line is METHOD SP TARGET SP "
					   "HTTP/1.1, single spaces");
			start[++part] = i + 1;
			continue;
		}
		if (part == 0 && !tchar(c))
			return bad(ps, 400, "the method is not a token");
		if (part == 1 && (c < 0x21 || c > 0x7e))
			return bad(ps, 400,
				   "the request target holds a byte outside visible ASCII");
		if (part == 2 && !version_char(i - start[2], c))
			return bad(ps, 400, "the version is not HTTP/DIGIT.DIGIT");
	}
	if (!complete)
		return 0;
	if (part != 2 || n - start[2] != 8)
		return bad(ps, 400, "the request line is METHOD SP TARGET SP HTTP/1.1");
	req->get = start[1] - 1 == 3 && memcmp(p, "GET", 3) == 0;
	req->major = (unsigned int)(p[start[2] + 5] - '0');
	req->minor = (unsigned int)(p[start[2] + 7] - '0');
	t = p + start[1];
	tlen = start[2] - 1 - start[1];
	if (!target_path(t, tlen, &path, &plen))
		return bad(ps, 400, "the request target is neither /path nor http://host/path");
	req->path_match = plen == strlen(ps->path) && memcmp(path, ps->path, plen) == 0;
	ps->line_done = true;
	return 0;
}

/* Leading and trailing SP and HTAB off a field value (OWS, RFC 9110 5.6.3). */
static void
trim(const char **v, size_t *n)
{
	while (*n > 0 && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*n)--;
	}
	while (*n > 0 && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

/* A field line, whole (complete) or as far as it has come. */
static int
field_line(struct parse *ps, const char *p, size_t n, bool complete)
{
	const char *colon, *v;
	size_t i, nlen, vlen;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t'))
		return bad(ps, 400, "a field line folded onto the next (obs-fold)");
	colon = memchr(p, ':', n);
	nlen = colon != NULL ? (size_t)(colon - p) : n;
	for (i = 0; i < nlen; i++)
		if (!tchar((unsigned char)p[i]))
			return bad(ps, 400,
				   "a field name is not a token (space before the colon?)");
	for (i = nlen + 1; i < n; i++)
		if (!value_char((unsigned char)p[i]))
			return bad(ps, 400, "a field value holds a control character");
	if (!complete)
		return 0;
	if (colon == NULL || nlen == 0)
		return bad(ps, 400, "a field line is NAME: VALUE");
	if (++ps->req->fields > TG_HTTP_FIELDS_MAX)
		return bad(ps, 431, "more field lines than taken");
	v = colon + 1;
	vlen = n - nlen - 1;
	trim(&v, &vlen);
	if (ieq(p, nlen, "host")) {
		ps->hosts++;
	} else if (ieq(p, nlen, "content-length")) {
		bool nonzero = false;

		ps->clens++;
		/* 1*DIGIT (RFC 9110 8.6); 19 digits cannot overflow, more is no head we serve */
		if (vlen == 0 || vlen > 19)
			return bad(ps, 400, "Content-Length is not a number");
		for (i = 0; i < vlen; i++) {
			if (v[i] < '0' || v[i] > '9')
				return bad(ps, 400, "Content-Length is not a number");
			nonzero |= v[i] != '0';
		}
		ps->body |= nonzero;
	} else if (ieq(p, nlen, "transfer-encoding")) {
		ps->body = true;
	}
	return 0;
}

/* The head is complete: the status, in http.h's order. */
static int
decide(struct parse *ps)
{
	const struct tg_http_req *req = ps->req;

	if (req->major != 1)
		return bad(ps, 505, "only HTTP/1.x is served");
	if (ps->hosts > 1 || (req->minor >= 1 && ps->hosts == 0))
		return bad(ps, 400, "HTTP/1.1 needs exactly one Host field");
	if (ps->clens > 1)
		return bad(ps, 400, "more than one Content-Length");
	if (!req->get)
		return bad(ps, 405, "only GET is served");
	if (ps->body)
		return bad(ps, 413, "a request with a body is not taken");
	if (!req->path_match)
		return bad(ps, 404, "only /metrics is served");
	return 200;
}

int
tg_http_parse_head(const char *buf, size_t len, size_t cap, const char *path,
		   struct tg_http_req *req)
{
	struct parse ps = { .req = req, .path = path };
	size_t pos = 0, n;
	const char *p, *lf;
	int rc;

	memset(req, 0, sizeof(*req));
	if (cap > TG_HTTP_HEAD_MAX)
		cap = TG_HTTP_HEAD_MAX;
	if (len > cap)
		len = cap; /* past the cap is not part of any head we take */
	while (pos < len) {
		p = buf + pos;
		lf = memchr(p, '\n', len - pos);
		if (lf == NULL)
			break;
		n = (size_t)(lf - p);
		pos += n + 1;
		if (n > 0 && p[n - 1] == '\r')
			n--; /* CRLF; a bare LF is taken too (RFC 9112 2.2) */
		if (n == 0) {
			if (!ps.line_done)
				continue; /* empty lines before the request line (2.2) */
			req->head_len = pos;
			return decide(&ps);
		}
		rc = ps.line_done ? field_line(&ps, p, n, true) : request_line(&ps, p, n, true);
		if (rc != 0)
			return rc;
	}
	/* the line being received: as far as it has come (a CR may be its end) */
	p = buf + pos;
	n = len - pos;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > 0) {
		rc = ps.line_done ? field_line(&ps, p, n, false) : request_line(&ps, p, n, false);
		if (rc != 0)
			return rc;
	}
	if (len >= cap)
		return bad(&ps, 431, "the request head is larger than taken");
	return 0;
}

const char *
tg_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}
