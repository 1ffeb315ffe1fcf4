/* SPDX-License-Identifier: MIT */
/*
 * siem_syslog.c — RFC 5424 headers and RFC 6587 framing; see siem_syslog.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "siem_syslog.h"

/* Appends a header field of at most max bytes: PRINTUSASCII, or '-' when empty. */
static int
field(char *buf, size_t size, size_t *n, const char *s, size_t max)
{
	size_t len = s != NULL ? strlen(s) : 0, i;

	if (len > max)
		len = max;
	if (len == 0) {
		s = "-";
		len = 1;
	}
	if (*n + len + 1 >= size)
		return -EMSGSIZE;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[(*n)++] = c >= 33 && c <= 126 ? (char)c : '_';
	}
	buf[(*n)++] = ' ';
	buf[*n] = '\0';
	return 0;
}

int
tg_syslog_sd_escape(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		bool esc = src[i] == '"' || src[i] == '\\' || src[i] == ']';

		if (n + (esc ? 2 : 1) >= size)
			return -EMSGSIZE;
		if (esc)
			dst[n++] = '\\';
		dst[n++] = src[i];
	}
	if (n >= size)
		return -EMSGSIZE;
	dst[n] = '\0';
	return (int)n;
}

int
tg_syslog_sd_id_valid(const char *s)
{
	size_t len = strlen(s), i;
	const char *at = strchr(s, '@');

	if (len == 0 || len > TG_SYSLOG_SDNAME_MAX || s[0] == '@')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126 || c == '=' || c == ']' || c == '"')
			return 0;
	}
	if (at == NULL)
		return 1;
	/* name@PEN: the enterprise number is digits (and dots for sub-numbers) */
	if (at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (i = 1; at[i] != '\0'; i++)
		if ((at[i] < '0' || at[i] > '9') && at[i] != '.')
			return 0;
	return 1;
}

/* ` name="value"` with the value escaped */
static int
param(char *buf, size_t size, size_t *n, const char *name, const char *value)
{
	int m;

	m = snprintf(buf + *n, size - *n, " %s=\"", name);
	if (m < 0 || (size_t)m >= size - *n)
		return -EMSGSIZE;
	*n += (size_t)m;
	m = tg_syslog_sd_escape(buf + *n, size - *n, value, strlen(value));
	if (m < 0)
		return m;
	*n += (size_t)m;
	if (*n + 2 >= size)
		return -EMSGSIZE;
	buf[(*n)++] = '"';
	buf[*n] = '\0';
	return 0;
}

int
tg_syslog_head(char *buf, size_t size, const struct tg_syslog_header *h, uint64_t seq,
	       const char *leaf, const char *prev, const char *fmt)
{
	char seqs[24];
	size_t n;
	int m, rc;

	if (h->facility > 23 || h->severity > 7 || !tg_syslog_sd_id_valid(h->sd_id))
		return -EINVAL;
	m = snprintf(buf, size, "<%u>1 ", h->facility * 8 + h->severity);
	if (m < 0 || (size_t)m >= size)
		return -EMSGSIZE;
	n = (size_t)m;
	if ((rc = field(buf, size, &n, h->ts, 64)) < 0 ||
	    (rc = field(buf, size, &n, h->hostname, TG_SYSLOG_HOSTNAME_MAX)) < 0 ||
	    (rc = field(buf, size, &n, h->app_name, TG_SYSLOG_APPNAME_MAX)) < 0 ||
	    (rc = field(buf, size, &n, h->procid, TG_SYSLOG_PROCID_MAX)) < 0 ||
	    (rc = field(buf, size, &n, h->msgid, TG_SYSLOG_MSGID_MAX)) < 0)
		return rc;
	m = snprintf(buf + n, size - n, "[%s", h->sd_id);
	if (m < 0 || (size_t)m >= size - n)
		return -EMSGSIZE;
	n += (size_t)m;
	snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
	if ((rc = param(buf, size, &n, "seq", seqs)) < 0 ||
	    (rc = param(buf, size, &n, "leaf", leaf)) < 0 ||
	    (rc = param(buf, size, &n, "prev", prev)) < 0 ||
	    (rc = param(buf, size, &n, "fmt", fmt)) < 0)
		return rc;
	if (n + 3 > size)
		return -EMSGSIZE;
	buf[n++] = ']';
	buf[n++] = ' ';
	buf[n] = '\0';
	return (int)n;
}

int
tg_syslog_frame_prefix(char *dst, size_t size, size_t len)
{
	int m = snprintf(dst, size, "%zu ", len);

	if (m < 0 || (size_t)m >= size)
		return -EMSGSIZE;
	return m;
}
