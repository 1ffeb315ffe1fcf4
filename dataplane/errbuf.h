/* SPDX-License-Identifier: MIT */
/*
 * errbuf.h — the reason for an error, written into a caller's buffer, for
 * the functions off the fast path (config, policy, detector compilation)
 * that return -errno and say why in one line.
 */
#ifndef TG_ERRBUF_H
#define TG_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void tg_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats into err[0..errlen); nothing when err is NULL or errlen 0. */
static inline void
tg_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* TG_ERRBUF_H */
