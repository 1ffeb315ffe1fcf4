/* SPDX-License-Identifier: MIT */
/*
 * siem_export.c — a range of records as events; see siem_export.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "siem_export.h"

#define EXPORT_BATCH 256

struct exp {
	const struct tg_siem_source *src;
	enum tg_siem_format fmt;
	const char *version;
	tg_siem_emit_fn emit;
	void *arg;
	uint64_t next, passed;
	uint64_t note_seq; /* the record note[] belongs to; UINT64_MAX: none */
	char note[TG_NOTE_MAX + 1];
	char buf[TG_SIEM_EVENT_MAX];
};

static int
on_record(void *arg, uint64_t seq, const char *rec, size_t len)
{
	struct exp *e = arg;
	struct tg_siem_event ev;
	int n, rc;

	if ((rc = tg_siem_event_init(&ev, seq, rec, len)) < 0)
		return rc;
	if (strcmp(ev.type, "log.checkpoint") == 0 && e->note_seq != seq) {
		tg_siem_event_release(&ev);
		e->note_seq = seq;
		return -EAGAIN; /* the caller fetches the note and reads again from here */
	}
	if (e->note_seq == seq && e->note[0] != '\0')
		ev.note = e->note;
	ev.version = e->version;
	n = tg_siem_format(e->fmt, &ev, e->buf, sizeof(e->buf), NULL);
	tg_siem_event_release(&ev);
	if (n < 0)
		return n;
	if ((rc = e->emit(e->arg, seq, e->buf, (size_t)n)) < 0)
		return rc;
	e->next = seq + 1;
	e->passed++;
	return 0;
}

int
tg_siem_export(const struct tg_siem_source *src, enum tg_siem_format fmt, uint64_t from,
	       uint64_t n, const char *version, tg_siem_emit_fn emit, void *arg, uint64_t *next)
{
	struct exp *e = calloc(1, sizeof(*e));
	uint64_t end = n > UINT64_MAX - from ? UINT64_MAX : from + n;
	int rc = 0;

	if (e == NULL)
		return -ENOMEM;
	*e = (struct exp){ .src = src, .fmt = fmt, .version = version, .emit = emit, .arg = arg,
			   .next = from, .note_seq = UINT64_MAX };
	while (e->next < end) {
		uint64_t want = end - e->next < EXPORT_BATCH ? end - e->next : EXPORT_BATCH;

		rc = src->read(src->arg, e->next, want, on_record, e);
		if (rc == -EAGAIN) {
			src->note(src->arg, e->note_seq, e->note, sizeof(e->note));
			continue;
		}
		if (rc <= 0)
			break;
	}
	*next = e->next;
	if (rc >= 0)
		rc = e->passed > INT32_MAX ? INT32_MAX : (int)e->passed;
	free(e);
	return rc;
}
