/* SPDX-License-Identifier: MIT */
/*
 * seterr.h — the reason for an error, written into a caller's buffer, for
 * slowpath functions that return -errno (or NULL) and say why in one line.
 * The slowpath's counterpart of dataplane/errbuf.h: the two processes
 * share no headers (DESIGN.md, "Interface headers").
 */
#ifndef TG_SP_SETERR_H
#define TG_SP_SETERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void tg_sp_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats into err[0..errlen); nothing when err is NULL or errlen 0. */
static inline void
tg_sp_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* TG_SP_SETERR_H */
