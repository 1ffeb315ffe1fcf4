/* SPDX-License-Identifier: MIT */
/*
 * http.h — the HTTP/1.1 request-head parser of the /metrics listener
 * (metrics.h). Stateless: it reads the bytes received so far and says
 * whether the head is complete and, if so (or as soon as the bytes are
 * bad), which status to answer. The listener calls it again when a new
 * line has arrived; the head is capped (TG_HTTP_HEAD_MAX), so a re-parse
 * costs at most that many bytes, and only per line, not per byte.
 *
 * What is taken (RFC 9112, strictly, since the only client is a scraper):
 *   - any number of empty lines before the request line (2.2);
 *   - request-line = method SP request-target SP HTTP-version (3), single
 *     spaces; lines end in CRLF or a bare LF (2.2); a bare CR elsewhere,
 *     a NUL or another control character is refused (400);
 *   - request-target in origin-form ("/metrics", "/metrics?x") or
 *     absolute-form ("http://127.0.0.1:9464/metrics") (3.2);
 *   - field lines "name: value" (5), name a token with no space before
 *     the colon, value of VCHAR, obs-text, SP and HTAB; obs-fold (a line
 *     starting with SP or HTAB) is refused (5.2);
 *   - HTTP/1.1 needs exactly one Host field; HTTP/1.0 at most one (3.2).
 *
 * The statuses, in the order they are decided once the head is complete:
 *   505 an HTTP major version other than 1;
 *   400 Host missing (HTTP/1.1) or repeated, Content-Length malformed or
 *       repeated;
 *   405 a method other than GET (HEAD included: /metrics is GET only);
 *   413 a body announced (Content-Length > 0, or any Transfer-Encoding):
 *       the listener takes none;
 *   404 a path other than the one served (the query is ignored);
 *   200 GET of the path.
 * Before that: 400 as soon as a complete line, or the start of an
 * incomplete one, is malformed; 431 when the cap is reached without the
 * end of the head, or the head has more than TG_HTTP_FIELDS_MAX fields.
 *
 * Caveats:
 *   - No percent-decoding: "/%6detrics" is not "/metrics" (404).
 *   - Field values are not interpreted beyond Host, Content-Length and
 *     Transfer-Encoding; Connection is ignored (the listener always
 *     closes after one response).
 */
#ifndef TG_SP_HTTP_H
#define TG_SP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define TG_HTTP_HEAD_MAX 8192 /* bytes of a request head, its empty line included */
#define TG_HTTP_FIELDS_MAX 64 /* field lines of a head */

struct tg_http_req {
	size_t head_len;    /* bytes of the head with its empty line; 0: not complete */
	bool get;	    /* the method is GET */
	bool path_match;    /* the target's path is the one asked for */
	unsigned int major; /* HTTP/major.minor */
	unsigned int minor;
	unsigned int fields; /* field lines */
	const char *why;     /* for a status other than 200: what was wrong, static */
};

/*
 * Parses buf[0..len), the bytes received so far (not NUL-terminated), as
 * the head of a request for path (such as "/metrics"); cap is the most
 * the caller will hold (at most TG_HTTP_HEAD_MAX). Returns 0 when more
 * bytes are needed, else the status to answer (200 to serve), with req
 * filled as far as the parse went.
 */
int tg_http_parse_head(const char *buf, size_t len, size_t cap, const char *path,
		       struct tg_http_req *req);

/* The reason phrase of a status this listener sends; "Error" for others. */
const char *tg_http_reason(int status);

#endif /* TG_SP_HTTP_H */
