/* SPDX-License-Identifier: MIT */
/*
 * siem_config.h — the "siem" member of the slowpath's config (config.h):
 * where the audit trail is exported (siem.h), sink by sink.
 *
 *   "siem": {
 *     "sinks": [
 *       { "name": "soc",              // REQUIRED: [A-Za-z0-9_.-], 1..32; names the
 *                                     // sink's cursor in the store: renaming a
 *                                     // sink starts it afresh
 *         "type": "syslog-tls",       // REQUIRED: syslog-tcp (RFC 6587 octet
 *                                     // counting), syslog-tls (RFC 5425),
 *                                     // syslog-udp (RFC 5426) or file (JSON lines)
 *         "format": "ocsf",           // ocsf (default), cef, ecs or jsonl
 *         "host": "192.0.2.10",       // syslog: an IP address (no name: a DNS
 *                                     // lookup would block the event loop)
 *         "port": 6514,               // default 601 tcp, 6514 tls, 514 udp
 *         "ca": "ca.pem",             // tls, REQUIRED: the CAs the server's
 *                                     // certificate must chain to
 *         "cert": "client.pem", "key": "client.key",  // tls, optional: a client
 *                                     // certificate (both or neither)
 *         "server_name": "siem.example.com",  // tls: the name (or IP) the
 *                                     // certificate must carry; default host
 *         "facility": 13,             // syslog: 0..23, default 13 (log audit)
 *         "app_name": "tollgate",     // syslog APP-NAME
 *         "hostname": "gw1",          // syslog HOSTNAME; default gethostname()
 *         "sd_id": "tollgate@32473",  // syslog SD-ID: name@<your IANA PEN>
 *         "path": "/var/log/tollgate/audit.jsonl",  // file, REQUIRED
 *         "rotate_kb": 102400,        // file: rotate past this size, 1..16777216
 *         "rotate_keep": 5,           // file: path.1 .. path.N kept, 1..100
 *         "settle_ms": 2000,          // tcp/tls: how long bytes the peer's TCP
 *                                     // acknowledged must stay so, on a live
 *                                     // connection, before they count as
 *                                     // delivered (siem.h), 0..600000
 *         "batch": 256,               // records read per sink per loop turn, 1..4096
 *         "backoff_min_ms": 500, "backoff_max_ms": 30000,  // reconnection
 *         "start": "oldest" }         // a sink without a cursor starts at the
 *                                     // oldest record (default) or "now"
 *     ]
 *   }
 *
 * Relative paths are relative to the config file's directory, like the
 * rest of config.h. Unknown keys, keys of another sink type, and
 * duplicate names are refused.
 */
#ifndef TG_SIEM_CONFIG_H
#define TG_SIEM_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "siem_format.h"
#include "siem_syslog.h"

#define TG_SIEM_SINKS_MAX 8
#define TG_SIEM_NAME_MAX 33 /* 32 bytes and NUL: "siem." name fits a store cursor */
#define TG_SIEM_HOST_MAX 46 /* INET6_ADDRSTRLEN */
#define TG_SIEM_SETTLE_DEFAULT 2000
#define TG_SIEM_SETTLE_MAX 600000
#define TG_SIEM_BATCH_DEFAULT 256
#define TG_SIEM_BATCH_MAX 4096
#define TG_SIEM_BACKOFF_MIN_DEFAULT 500
#define TG_SIEM_BACKOFF_MAX_DEFAULT 30000
#define TG_SIEM_BACKOFF_LIMIT 3600000
#define TG_SIEM_ROTATE_KB_DEFAULT 102400
#define TG_SIEM_ROTATE_KB_MAX 16777216 /* 16 GiB */
#define TG_SIEM_ROTATE_KEEP_DEFAULT 5
#define TG_SIEM_ROTATE_KEEP_MAX 100

/* clang-format off */
#define TG_SIEM_TRANSPORTS(X) \
	X(TCP, "syslog-tcp", 601) \
	X(TLS, "syslog-tls", 6514) \
	X(UDP, "syslog-udp", 514) \
	X(FILE, "file", 0)

enum tg_siem_transport {
#define TG_SIEM_X(e, s, port) TG_SIEM_T_##e,
	TG_SIEM_TRANSPORTS(TG_SIEM_X)
#undef TG_SIEM_X
	TG_SIEM_T_MAX
};
/* clang-format on */

extern const char *const tg_siem_transport_names[TG_SIEM_T_MAX];

struct tg_siem_sink_config {
	char name[TG_SIEM_NAME_MAX];
	enum tg_siem_transport transport;
	enum tg_siem_format format;
	char host[TG_SIEM_HOST_MAX];
	uint16_t port;
	char ca[PATH_MAX];
	char cert[PATH_MAX];
	char key[PATH_MAX];
	char server_name[TG_SYSLOG_HOSTNAME_MAX + 1];
	unsigned int facility;
	char app_name[TG_SYSLOG_APPNAME_MAX + 1];
	char hostname[TG_SYSLOG_HOSTNAME_MAX + 1]; /* "": gethostname() */
	char sd_id[TG_SYSLOG_SDNAME_MAX + 1];
	char path[PATH_MAX];
	uint64_t rotate_bytes;
	uint32_t rotate_keep;
	uint32_t settle_ms;
	uint32_t batch;
	uint32_t backoff_min_ms, backoff_max_ms;
	bool start_now;
};

struct tg_siem_config {
	struct tg_siem_sink_config sinks[TG_SIEM_SINKS_MAX];
	unsigned int nb_sinks;
};

/*
 * Parses the "siem" value v into c (overwritten), paths relative to the
 * directory of the file named base. Returns 0 or -EINVAL with the reason
 * in err, prefixed with base and the key's path (siem.sinks[1].port).
 */
int tg_siem_config_parse(struct tg_siem_config *c, const json_t *v, const char *base, char *err,
			 size_t errlen);

#endif /* TG_SIEM_CONFIG_H */
