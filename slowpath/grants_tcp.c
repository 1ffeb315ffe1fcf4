/* SPDX-License-Identifier: MIT */
/*
 * grants_tcp.c — the grant store as a TCP_GRANTS datagram. See grants_tcp.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grants_tcp.h"
#include "punt.h"

/* Byte order of names, as the decoder wants the services (punt.c). */
static int
by_name(const void *a, const void *b)
{
	const struct tg_punt_tcpg_svc *x = a, *y = b;
	int c = memcmp(x->name.p, y->name.p, x->name.len < y->name.len ? x->name.len : y->name.len);

	return c != 0 ? c : x->name.len < y->name.len ? -1 : x->name.len > y->name.len;
}

/* By (service index, id): the grants' order on the wire. */
static int
by_svc_id(const void *a, const void *b)
{
	const struct tg_punt_tcp_grant *x = a, *y = b;

	if (x->svc != y->svc)
		return x->svc < y->svc ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int
tg_grants_tcp_encode(const struct tg_grants *g, const struct tg_grants_tcp_svc *svcs,
		     unsigned int nsvc, int64_t now, uint64_t gen, uint8_t *buf, size_t size,
		     uint64_t seq, unsigned int *ngrants)
{
	struct tg_punt_tcp_grants m = { .gen = gen };
	struct tg_punt_tcp_grant *list;
	struct tg_grant_prefix pfx;
	char canon[TG_GRANT_SOURCE_MAX];
	const struct tg_grant *gr;
	size_t i, n = tg_grants_count(g);
	unsigned int k;
	int len;

	if (nsvc > TG_PUNT_SERVICES_MAX || (svcs == NULL && nsvc != 0))
		return -EINVAL;
	for (k = 0; k < nsvc; k++) {
		if (svcs[k].name == NULL)
			return -EINVAL;
		m.svc[k].name.p = svcs[k].name;
		m.svc[k].name.len = (uint32_t)strnlen(svcs[k].name, TG_PUNT_NAME_MAX + 1);
		m.svc[k].flags = svcs[k].end ? TG_PUNT_TCPG_F_END : 0;
	}
	m.nsvc = (uint8_t)nsvc;
	qsort(m.svc, nsvc, sizeof(m.svc[0]), by_name);
	list = calloc(n != 0 ? n : 1, sizeof(*list));
	if (list == NULL)
		return -ENOMEM;
	for (i = 0; i < n && m.count < TG_PUNT_TCP_GRANTS_MAX; i++) {
		gr = tg_grants_at(g, i);
		if (!tg_grant_live(gr, now) || gr->source[0] == '\0' ||
		    tg_grant_source_parse(gr->source, &pfx, canon) < 0)
			continue;
		for (k = 0; k < nsvc; k++)
			if (strlen(gr->service) == m.svc[k].name.len &&
			    memcmp(gr->service, m.svc[k].name.p, m.svc[k].name.len) == 0)
				break;
		if (k == nsvc)
			continue;
		list[m.count] = (struct tg_punt_tcp_grant){
			.id = tg_grant_id_num(gr->id),
			.svc = (uint8_t)k,
			.family = pfx.family,
			.prefix = pfx.len,
			.expires = (uint64_t)gr->expires,
		};
		memcpy(list[m.count].addr, pfx.addr, sizeof(pfx.addr));
		m.count++;
	}
	qsort(list, m.count, sizeof(*list), by_svc_id);
	m.list = list;
	len = tg_punt_encode_tcp_grants(buf, size, seq, &m);
	if (len > 0 && ngrants != NULL)
		*ngrants = m.count;
	free(list);
	return len;
}
