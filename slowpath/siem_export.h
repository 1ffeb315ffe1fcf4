/* SPDX-License-Identifier: MIT */
/*
 * siem_export.h — a range of audit records as SIEM events, one after the
 * other: `tgctl audit export` offline (from the store's files) and the
 * audit.export method online (from the writer's handle) walk the log the
 * same way, through a source of records, and format with siem_format.h,
 * the sinks' formatters. A log.checkpoint record's event carries its
 * signed note, fetched outside the read transaction (LMDB allows one per
 * thread) before the record is read again.
 */
#ifndef TG_SIEM_EXPORT_H
#define TG_SIEM_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "siem_format.h"

struct tg_siem_source {
	/* tg_audit_read() or tg_audit_log_records() */
	int (*read)(void *arg, uint64_t from, uint64_t n, tg_audit_record_fn fn, void *fnarg);
	/* the note of the checkpoint record seq into buf (NUL-terminated), "" if none */
	void (*note)(void *arg, uint64_t seq, char *buf, size_t size);
	void *arg;
};

/* One event (without a line end); 0 to go on, or a negative value to stop with it. */
typedef int (*tg_siem_emit_fn)(void *arg, uint64_t seq, const char *event, size_t len);

/*
 * Passes the events of records from .. from + n - 1 (as far as the log
 * goes) in format fmt to emit. *next gets the first record not passed.
 * Returns the number passed, or emit's, the source's or the formatter's
 * negative value.
 */
int tg_siem_export(const struct tg_siem_source *src, enum tg_siem_format fmt, uint64_t from,
		   uint64_t n, const char *version, tg_siem_emit_fn emit, void *arg,
		   uint64_t *next);

#endif /* TG_SIEM_EXPORT_H */
