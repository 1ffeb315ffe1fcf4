/* SPDX-License-Identifier: MIT */
/*
 * tcpgrants.c — the table of tcp grants. See tcpgrants.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcpgrants.h"

/* The configured tcp service named s, or -1. */
static int
tcp_service(const struct tg_services *svcs, const struct tg_punt_str *s)
{
	unsigned int i;

	for (i = 0; i < svcs->nb; i++)
		if (svcs->svc[i].proto == TG_SERVICE_TCP && strlen(svcs->svc[i].name) == s->len &&
		    memcmp(svcs->svc[i].name, s->p, s->len) == 0)
			return (int)i;
	return -1;
}

struct tg_tcp_grants *
tg_tcp_grants_build(const struct tg_punt_tcp_grants *m, const struct tg_services *svcs,
		    struct tg_tcp_grants_built *b)
{
	struct tg_tcp_grants_built dummy;
	struct tg_punt_tcp_grant ge;
	struct tg_punt_iter it;
	struct tg_tcp_grants *t;
	int map[TG_PUNT_SERVICES_MAX];
	uint16_t count = m != NULL ? m->count : 0;
	unsigned int i;
	int s;

	if (b == NULL)
		b = &dummy;
	memset(b, 0, sizeof(*b));
	t = calloc(1, sizeof(*t) + (size_t)count * sizeof(t->ent[0]));
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->next_expiry = INT64_MAX;
	if (m == NULL)
		return t;
	t->gen = m->gen;
	for (i = 0; i < m->nsvc; i++) {
		map[i] = tcp_service(svcs, &m->svc[i].name);
		if (map[i] < 0) {
			b->ignored_services++;
			continue;
		}
		t->svc[map[i]].required = true;
		t->svc[map[i]].end = (m->svc[i].flags & TG_PUNT_TCPG_F_END) != 0;
		b->services++;
	}
	/* the message groups grants by its service index: each maps to one of ours */
	it = m->entries;
	while (tg_punt_tcp_grant_next(&it, &ge)) {
		s = ge.svc < m->nsvc ? map[ge.svc] : -1;
		if (s < 0) {
			b->ignored_grants++;
			continue;
		}
		if (t->svc[s].n == 0)
			t->svc[s].first = (uint16_t)t->nb;
		t->svc[s].n++;
		t->ent[t->nb] = (struct tg_tcp_grant_ent){
			.id = ge.id,
			.expires = ge.expires > INT64_MAX ? INT64_MAX : (int64_t)ge.expires,
			.family = ge.family,
			.prefix = ge.prefix,
		};
		memcpy(t->ent[t->nb].addr, ge.addr, sizeof(ge.addr));
		if (t->ent[t->nb].expires < t->next_expiry)
			t->next_expiry = t->ent[t->nb].expires;
		t->nb++;
	}
	return t;
}

void
tg_tcp_grants_free(struct tg_tcp_grants *t)
{
	free(t);
}

/* Does the prefix of e cover addr (of e's family)? Whole bytes, then the partial one. */
static bool
covers(const struct tg_tcp_grant_ent *e, const uint8_t *addr)
{
	unsigned int whole = e->prefix / 8, rest = e->prefix % 8;

	if (memcmp(e->addr, addr, whole) != 0)
		return false;
	return rest == 0 || ((e->addr[whole] ^ addr[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

enum tg_tcp_grants_verdict
tg_tcp_grants_check(const struct tg_tcp_grants *t, uint16_t svc, uint8_t family,
		    const uint8_t *addr, int64_t now, uint64_t *grant)
{
	const struct tg_tcp_grant_ent *e, *best = NULL;
	unsigned int i;

	if (t == NULL || svc >= TG_MAX_SERVICES || !t->svc[svc].required)
		return TG_TCPG_NOT_REQUIRED;
	for (i = 0; i < t->svc[svc].n; i++) {
		e = &t->ent[t->svc[svc].first + i];
		if (e->family != family || now >= e->expires || !covers(e, addr))
			continue;
		if (best == NULL || e->expires > best->expires)
			best = e;
	}
	if (best == NULL)
		return TG_TCPG_NO_GRANT;
	*grant = best->id;
	return TG_TCPG_ADMIT;
}

bool
tg_tcp_grants_holds(const struct tg_tcp_grants *t, uint16_t svc, uint64_t id, int64_t now)
{
	const struct tg_tcp_grant_ent *e;
	unsigned int i;

	if (t == NULL || svc >= TG_MAX_SERVICES)
		return false;
	for (i = 0; i < t->svc[svc].n; i++) {
		e = &t->ent[t->svc[svc].first + i];
		if (e->id == id)
			return now < e->expires;
	}
	return false;
}

bool
tg_tcp_grants_ends_flows(const struct tg_tcp_grants *t, uint16_t svc)
{
	return t != NULL && svc < TG_MAX_SERVICES && t->svc[svc].required && t->svc[svc].end;
}
