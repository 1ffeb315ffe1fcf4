/* SPDX-License-Identifier: MIT */
/*
 * grants_tcp.h — the grant store (grants.h) as the dataplane's table of
 * tcp grants: one TCP_GRANTS datagram (punt.h "TCP GRANTS") naming the
 * tcp services that require a grant and every live grant with a source
 * for one of them.
 *
 * Which services require a grant is the policy's identity "services"
 * (idmap.h: "require_grant", "on_grant_expiry"), the same options as for
 * postgres services; which of the dataplane's services are tcp ones is
 * its TCP_SERVICES. The caller (main.c) gives the services that are both,
 * each with its on_grant_expiry; this module sorts and encodes, so it is
 * tested without a socket.
 *
 * Caveats:
 *   - A grant's expiry travels with it: the dataplane refuses past it even
 *     when the push that drops it is late (the slowpath expires grants once
 *     a second and pushes then).
 *   - The table is whole every time: at most TG_GRANTS_MAX grants of about
 *     35 bytes each, well under a datagram (TG_PUNT_MSG_MAX).
 */
#ifndef TG_SP_GRANTS_TCP_H
#define TG_SP_GRANTS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grants.h"

/* A tcp service that requires a grant; end: its on_grant_expiry is "end". */
struct tg_grants_tcp_svc {
	const char *name;
	bool end;
};

/*
 * Encodes into buf[0, size) the TCP_GRANTS datagram numbered seq, of
 * generation gen (not 0), for the nsvc services svcs (distinct names of
 * 1..TG_PUNT_NAME_MAX bytes, any order, at most TG_PUNT_SERVICES_MAX) and
 * the grants of g live at now with a source for one of them. Returns the
 * length (and *ngrants, optional, the grants sent), or -EINVAL / -ENOSPC.
 */
int tg_grants_tcp_encode(const struct tg_grants *g, const struct tg_grants_tcp_svc *svcs,
			 unsigned int nsvc, int64_t now, uint64_t gen, uint8_t *buf, size_t size,
			 uint64_t seq, unsigned int *ngrants);

#endif /* TG_SP_GRANTS_TCP_H */
