/* SPDX-License-Identifier: MIT */
/*
 * tcpgrants.h — the dataplane's table of just-in-time grants for
 * "protocol": "tcp" services (punt.h, "TCP GRANTS"): which tcp services
 * admit a new flow only on a grant, what their "on_grant_expiry" says,
 * and which client prefixes hold a live grant for each until when.
 *
 * The slowpath owns the grants (slowpath/grants.h) and the policy that
 * says which services require one (the identity section's "services",
 * slowpath/idmap.h, as for postgres services); it pushes the whole table
 * as TCP_GRANTS at every change. The control thread builds a table from
 * each message (tg_tcp_grants_build()) and publishes it like a policy
 * generation: workers read the published pointer at a SYN, the old table
 * is freed after an RCU grace period of the workers' QSBR variable
 * (main.c). A table never changes once built, so readers take no lock.
 *
 * Lookup (tg_tcp_grants_check(), once per SYN of a tcp service): the
 * service's flags by index, then a walk of that service's grants only
 * (entries are grouped by service), comparing the client address with
 * each prefix and the expiry with the time. A grant whose expiry has
 * passed is not taken even before the slowpath pushes the table without
 * it. When several grants cover the address, the one that lasts longest
 * admits the flow and names it in the audit.
 *
 * This module is DPDK-free (no EAL, no allocation but the table itself),
 * so it is unit tested alone.
 *
 * Caveats:
 *   - Cost: O(grants of the service) per SYN of a grant-requiring service,
 *     a few nanoseconds per grant; the slowpath caps the table at
 *     TG_PUNT_TCP_GRANTS_MAX entries. A per-service LPM would replace the
 *     walk if a service ever held thousands.
 *   - Services named in a table that are not tcp services of this
 *     configuration are ignored (counted in the build's result): a grant
 *     for a postgres service is the login's business (slowpath/authn.h).
 *   - Times are realtime seconds of both hosts' clocks (one host: the same).
 */
#ifndef TG_TCPGRANTS_H
#define TG_TCPGRANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "punt.h"
#include "service.h"

/* A grant as the dataplane keeps it. */
struct tg_tcp_grant_ent {
	uint64_t id;		/* the grant, "g-<16 hex>" as a number */
	int64_t expires;	/* Unix seconds */
	uint8_t family;		/* 4 or 6 */
	uint8_t prefix;
	uint8_t addr[16];	/* network order, host bits zero */
};

/* Per configured service. */
struct tg_tcp_grants_svc {
	bool required;		/* new flows need a grant */
	bool end;		/* on_grant_expiry "end": running flows are reset */
	uint16_t first, n;	/* its grants: ent[first, first + n) */
};

struct tg_tcp_grants {
	uint64_t gen;		/* of the TCP_GRANTS it was built from; 0: built empty */
	int64_t next_expiry;	/* the earliest expiry of its grants; INT64_MAX: none */
	struct tg_tcp_grants_svc svc[TG_MAX_SERVICES];
	uint32_t nb;		/* entries */
	struct tg_tcp_grant_ent ent[];
};

/* What a build left out. */
struct tg_tcp_grants_built {
	unsigned int services;		/* services taken */
	unsigned int ignored_services;	/* named, but not a tcp service here */
	unsigned int ignored_grants;	/* of ignored services */
};

enum tg_tcp_grants_verdict {
	TG_TCPG_NOT_REQUIRED,	/* the service admits any flow */
	TG_TCPG_ADMIT,		/* a live grant covers the address: *grant */
	TG_TCPG_NO_GRANT,	/* the service needs a grant and none covers the address */
};

/*
 * A table from a decoded TCP_GRANTS m (NULL: an empty one, for a slowpath
 * that pushes none: no service requires a grant) for the services svcs.
 * Returns it (malloc'd, free with tg_tcp_grants_free()), or NULL with
 * errno ENOMEM. *b (optional) says what was left out.
 */
struct tg_tcp_grants *tg_tcp_grants_build(const struct tg_punt_tcp_grants *m,
					  const struct tg_services *svcs,
					  struct tg_tcp_grants_built *b);
void tg_tcp_grants_free(struct tg_tcp_grants *t);

/*
 * The verdict for a new flow of service svc from the client address addr
 * (family 4: 4 bytes, 6: 16 bytes) at now (Unix seconds). ADMIT sets
 * *grant to the grant that lasts longest.
 */
enum tg_tcp_grants_verdict tg_tcp_grants_check(const struct tg_tcp_grants *t, uint16_t svc,
					       uint8_t family, const uint8_t *addr, int64_t now,
					       uint64_t *grant);

/*
 * Does grant id of service svc still hold at now (in the table, not
 * expired)? For running flows when a new table comes or a grant expires.
 */
bool tg_tcp_grants_holds(const struct tg_tcp_grants *t, uint16_t svc, uint64_t id, int64_t now);

/* Does the service reset its running flows when their grant ends? */
bool tg_tcp_grants_ends_flows(const struct tg_tcp_grants *t, uint16_t svc);

#endif /* TG_TCPGRANTS_H */
