/* SPDX-License-Identifier: MIT */
/*
 * service.h — protected services and the classification of every frame.
 *
 * A service is a server prefix, a TCP port and a protocol. The union of the
 * service prefixes is the protected address space. A frame that arrives on
 * an outside port towards a protected address:
 *   - to a service's port: belongs to that service (flow tracking, reassembly,
 *     parsing for "postgres"); the most specific prefix wins when several
 *     services share a port;
 *   - otherwise: the subnet policy of the most specific service prefix
 *     covering the address decides, and "deny" (the default) wins a tie.
 * A frame from the inside with a service's address and port as its source is
 * the server side of that service. Everything else is bridged untouched:
 * ARP, ND and router discovery, and traffic between unprotected hosts.
 *
 * This is the in-memory form only; the config file parser builds it (and
 * the slowpath will push it), so the fast path never sees where it came
 * from.
 *
 * Caveats:
 * - Fragments towards a protected address cannot be matched to a port and
 *   are refused (counted): the gateway does not reassemble IP.
 * - ICMP errors (unreachable, time exceeded, packet too big, parameter
 *   problem) towards a protected address pass under "deny", so path MTU
 *   discovery keeps working; ICMP echo does not.
 * - Hosts in a "deny" subnet cannot receive replies to connections they
 *   open themselves (there is no state for them).
 * - A linear scan: fine for tens of services; an LPM table replaces it when
 *   there are hundreds.
 */
#ifndef TG_SERVICE_H
#define TG_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"

#define TG_MAX_SERVICES 64
#define TG_SERVICE_NAME_MAX 32

enum tg_service_proto {
	TG_SERVICE_TCP,		/* tracked and reassembled, not parsed */
	TG_SERVICE_POSTGRES,	/* parsed, decided and masked by the inspector (inspect.h) */
};

enum tg_subnet_policy {
	TG_SUBNET_DENY,
	TG_SUBNET_ALLOW,
};

/*
 * When a statement's audit record must be durable (with a slowpath). The
 * statement's STATEMENT_BEGIN event is given when it is decided:
 *  - fast: the statement is released to the server at once; its record
 *    is durable within the control thread's batching delay plus a commit;
 *  - strict: the statement is held until the slowpath acknowledges the
 *    record durable (a group commit), then released; a record that cannot
 *    be queued fails the session closed.
 */
enum tg_durability {
	TG_DURABILITY_FAST,
	TG_DURABILITY_STRICT,
};

/*
 * Who a client of a postgres service is (DESIGN.md, "Identity"):
 *  - database: whoever the server lets in; the gateway only watches the
 *    login;
 *  - oidc: the gateway takes the login over. The client presents an OIDC
 *    token as its password; the slowpath verifies it, maps the identity
 *    to an upstream role and logs in to the server with that role's
 *    credential. Needs the stream editor and a slowpath that takes
 *    logins (TG_PUNT_CAP_AUTH); without one the login is refused.
 */
enum tg_identity {
	TG_IDENTITY_DATABASE,
	TG_IDENTITY_OIDC,
};

/* New sessions of a postgres service while the slowpath is not connected. */
enum tg_slowpath_down {
	TG_SPDOWN_DEFAULT,	/* slowpath "required": refuse when true, else allow */
	TG_SPDOWN_REFUSE,
	TG_SPDOWN_ALLOW,
};

/* What to do with a flow when a cap (memcap, held segments) is hit. */
enum tg_exception_policy {
	TG_EXC_DROP_FLOW,	/* RST both ways, forget the flow */
	TG_EXC_DROP_PACKET,	/* drop the segment; the sender retransmits */
};

struct tg_service {
	char name[TG_SERVICE_NAME_MAX];
	uint8_t family;		/* 4 or 6 */
	uint8_t prefix_len;
	uint8_t addr[16];	/* network order, host bits zero */
	uint16_t port;
	uint8_t proto;		/* enum tg_service_proto */
	uint8_t subnet_policy;	/* enum tg_subnet_policy */
	uint8_t exception_policy; /* enum tg_exception_policy */
	uint8_t durability;	/* enum tg_durability */
	uint8_t slowpath_down;	/* enum tg_slowpath_down; resolved by the config */
	uint8_t identity;	/* enum tg_identity */
};

struct tg_services {
	struct tg_service svc[TG_MAX_SERVICES];
	unsigned int nb;
};

enum tg_class {
	TG_CLASS_BRIDGE,	/* not protected: forward untouched */
	TG_CLASS_SERVICE,	/* a service flow; *svc and *to_server set */
	TG_CLASS_DENY,		/* protected address, no service, subnet policy deny */
	TG_CLASS_FRAG,		/* a fragment towards a protected address */
};

/*
 * Classifies a parsed frame. from_outside says which port of the pair it
 * arrived on. For TG_CLASS_SERVICE, *svc is the service index and
 * *to_server is true for the client-to-server direction.
 */
enum tg_class tg_service_classify(const struct tg_services *t, const uint8_t *frame,
				  const struct tg_pkt *p, bool from_outside, uint16_t *svc,
				  bool *to_server);

/*
 * Parses "ADDR/LEN" or "ADDR" (IPv4 or IPv6) into s. Host bits set are
 * refused, as they usually mean a typo. Returns 0 or -EINVAL.
 */
int tg_service_parse_prefix(struct tg_service *s, const char *text);

#endif /* TG_SERVICE_H */
