/* SPDX-License-Identifier: MIT */
/*
 * edit.c — the stream editor's sequence map and injection store. See edit.h.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "edit.h"

void
tg_edit_start(struct tg_edit *e, uint64_t acked, uint64_t rwnd)
{
	if (e->active)
		return;
	memset(e, 0, offsetof(struct tg_edit, buf));
	e->active = true;
	e->tack = acked;
	e->told = acked;
	e->rwnd = rwnd;
	e->rto_ms = TG_EDIT_RTO_MS;
}

/* Room for n more injected bytes at the end of buf, moving the live ones to its start. */
static int
buf_room(struct tg_edit *e, uint16_t n)
{
	if (e->buf_len + n > TG_EDIT_INJECT_MAX)
		return -ENOBUFS;
	if (e->buf_head + e->buf_len + n > TG_EDIT_INJECT_MAX) {
		memmove(e->buf, e->buf + e->buf_head, e->buf_len);
		e->buf_head = 0;
	}
	return 0;
}

int
tg_edit_replace(struct tg_edit *e, uint64_t off, uint64_t consume, const void *bytes,
		uint16_t n)
{
	struct tg_edit_point *last = e->n != 0 ? &e->pt[e->n - 1] : NULL, *p;
	int64_t before;

	if (off < e->floor || (last != NULL && off < last->off + last->consume &&
				!(off == last->off && last->consume == 0)))
		return -ERANGE;
	if (n != 0 && buf_room(e, n) != 0)
		return -ENOBUFS;
	if (last != NULL && n == 0 && off == last->off + last->consume) {
		/* consumed bytes right after the last point: one longer point */
		last->consume += consume;
		last->delta -= (int64_t)consume;
		return 0;
	}
	if (last != NULL && off == last->off && last->consume == 0 && !last->sent) {
		/* more for the same place: its injection grows, its bytes are the newest in buf */
		if ((uint32_t)last->inject + n > UINT16_MAX)
			return -ENOBUFS;
		memcpy(e->buf + e->buf_head + e->buf_len, bytes, n);
		e->buf_len += n;
		last->inject = (uint16_t)(last->inject + n);
		last->consume = consume;
		last->delta += (int64_t)n - (int64_t)consume;
		return 0;
	}
	if (e->n == TG_EDIT_POINTS)
		return -ENOSPC;
	before = last != NULL ? last->delta : e->delta0;
	p = &e->pt[e->n++];
	p->off = off;
	p->consume = consume;
	p->tinj = (uint64_t)((int64_t)off + before);
	p->delta = before + (int64_t)n - (int64_t)consume;
	p->inj_pos = e->buf_base + e->buf_len;
	p->inject = n;
	p->sent = false;
	if (n != 0) {
		memcpy(e->buf + e->buf_head + e->buf_len, bytes, n);
		e->buf_len += n;
	}
	return 0;
}

uint64_t
tg_edit_map(const struct tg_edit *e, uint64_t o)
{
	int64_t d = e->delta0;
	unsigned int i;

	for (i = 0; i < e->n; i++) {
		const struct tg_edit_point *p = &e->pt[i];

		if (o < p->off)
			break;
		if (o < p->off + p->consume)
			return p->tinj + p->inject;
		d = p->delta;
	}
	return (uint64_t)((int64_t)o + d);
}

uint64_t
tg_edit_unmap_ack(const struct tg_edit *e, uint64_t a)
{
	int64_t d = e->delta0, o;
	uint64_t start = 0;
	unsigned int i;

	for (i = 0; i < e->n; i++) {
		const struct tg_edit_point *p = &e->pt[i];

		if (a <= p->tinj) {
			o = (int64_t)a - d;
			if (o < (int64_t)start)
				return start;
			/* everything before the point: its consumed bytes go with it */
			if ((uint64_t)o >= p->off)
				return p->off + p->consume;
			return (uint64_t)o;
		}
		start = p->off + p->consume;
		d = p->delta;
	}
	o = (int64_t)a - d;
	return o < (int64_t)start ? start : (uint64_t)o;
}

uint64_t
tg_edit_ack(struct tg_edit *e, uint64_t a, uint64_t win, uint64_t *owin)
{
	uint64_t o = tg_edit_unmap_ack(e, a), right = tg_edit_unmap_ack(e, a + win);

	if (a > e->tack) {
		/* progress: the retransmission timer starts over */
		e->tack = a;
		e->rto_at = 0;
		e->rto_ms = TG_EDIT_RTO_MS;
		e->rto_tries = 0;
	}
	e->rwnd = win;
	*owin = right > o ? right - o : 0;
	return o;
}

static struct tg_edit_piece
inject_piece(const struct tg_edit *e, unsigned int i)
{
	const struct tg_edit_point *p = &e->pt[i];

	return (struct tg_edit_piece){
		.off = 0, .t = p->tinj, .len = p->inject, .inject = true, .pt = (uint8_t)i,
	};
}

unsigned int
tg_edit_pieces(struct tg_edit *e, uint64_t off, uint64_t len, struct tg_edit_piece *out,
	       unsigned int max)
{
	uint64_t pos = off, end = off + len;
	unsigned int i, n = 0;

	for (i = 0; i < e->n && n < max; i++) {
		const struct tg_edit_point *p = &e->pt[i];

		if (p->off > end)
			break;
		if (p->off + p->consume <= pos && p->off < off && (p->inject == 0 || p->sent))
			continue;
		if (p->off > pos) {
			out[n++] = (struct tg_edit_piece){
				.off = pos, .t = tg_edit_map(e, pos), .len = (uint32_t)(p->off - pos),
			};
			pos = p->off;
			if (n == max)
				break;
		}
		if (p->inject != 0 && !p->sent)
			out[n++] = inject_piece(e, i);
		if (p->off + p->consume > pos)
			pos = p->off + p->consume < end ? p->off + p->consume : end;
	}
	if (pos < end && n < max)
		out[n++] = (struct tg_edit_piece){
			.off = pos, .t = tg_edit_map(e, pos), .len = (uint32_t)(end - pos),
		};
	return n;
}

unsigned int
tg_edit_due(struct tg_edit *e, uint64_t released, struct tg_edit_piece *out, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < e->n && n < max; i++) {
		if (e->pt[i].off > released)
			break;
		if (e->pt[i].inject != 0 && !e->pt[i].sent)
			out[n++] = inject_piece(e, i);
	}
	return n;
}

void
tg_edit_mark_sent(struct tg_edit *e, uint8_t pt)
{
	if (pt < e->n)
		e->pt[pt].sent = true;
}

const uint8_t *
tg_edit_bytes(const struct tg_edit *e, const struct tg_edit_piece *pc)
{
	const struct tg_edit_point *p = &e->pt[pc->pt];

	return e->buf + e->buf_head + (p->inj_pos - e->buf_base) + pc->off;
}

unsigned int
tg_edit_unacked(const struct tg_edit *e, struct tg_edit_piece *out, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < e->n && n < max; i++) {
		const struct tg_edit_point *p = &e->pt[i];
		uint64_t skip;

		if (p->inject == 0 || !p->sent || e->tack >= p->tinj + p->inject)
			continue;
		skip = e->tack > p->tinj ? e->tack - p->tinj : 0;
		out[n] = inject_piece(e, i);
		out[n].off = skip;
		out[n].t = p->tinj + skip;
		out[n].len = (uint32_t)(p->inject - skip);
		n++;
	}
	return n;
}

unsigned int
tg_edit_prune(struct tg_edit *e, uint64_t sender_acked)
{
	unsigned int k = 0;

	while (k < e->n) {
		const struct tg_edit_point *p = &e->pt[k];

		if (p->inject != 0 && (!p->sent || e->tack < p->tinj + p->inject))
			break;
		if (sender_acked < p->off + p->consume)
			break;
		e->delta0 = p->delta;
		e->floor = p->off + p->consume;
		e->buf_base += p->inject;
		e->buf_head += p->inject;
		e->buf_len -= p->inject;
		k++;
	}
	if (k != 0) {
		memmove(e->pt, e->pt + k, (e->n - k) * sizeof(e->pt[0]));
		e->n = (uint8_t)(e->n - k);
		if (e->buf_len == 0)
			e->buf_head = 0;
	}
	return k;
}

bool
tg_edit_pending(const struct tg_edit *e)
{
	unsigned int i;

	for (i = 0; i < e->n; i++) {
		const struct tg_edit_point *p = &e->pt[i];

		if (p->inject != 0 && p->sent && e->tack < p->tinj + p->inject)
			return true;
	}
	return false;
}

void
tg_edit_rto_arm(struct tg_edit *e, uint64_t now_ns)
{
	if (!tg_edit_pending(e)) {
		e->rto_at = 0;
		e->rto_ms = TG_EDIT_RTO_MS;
		e->rto_tries = 0;
		return;
	}
	if (e->rto_at == 0)
		e->rto_at = now_ns + (uint64_t)e->rto_ms * 1000000u;
}

bool
tg_edit_rto_due(struct tg_edit *e, uint64_t now_ns, bool *give_up)
{
	*give_up = false;
	if (e->rto_at == 0 || now_ns < e->rto_at)
		return false;
	if (++e->rto_tries > TG_EDIT_RTO_TRIES) {
		*give_up = true;
		return true;
	}
	e->rto_ms = e->rto_ms * 2 > TG_EDIT_RTO_MAX_MS ? TG_EDIT_RTO_MAX_MS : e->rto_ms * 2;
	e->rto_at = now_ns + (uint64_t)e->rto_ms * 1000000u;
	return true;
}
