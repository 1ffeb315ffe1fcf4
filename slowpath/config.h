/* SPDX-License-Identifier: MIT */
/*
 * config.h — tollgate-slowpath's options: a JSON file named by --config.
 *
 * The file says everything; the command line only names it, so one file is
 * the whole truth about a running slowpath (and what a unit file points
 * at). Relative paths in it are relative to the file's own directory, so
 * a config and its store can move together.
 *
 * Config file (JSON; unknown keys are refused, duplicate keys too):
 *   {
 *     "control_socket": "/run/tollgate/control.sock",  // default; the
 *                         // dataplane connects here (AF_UNIX SOCK_SEQPACKET,
 *                         // mode 0660, owned by user:group)
 *     "audit": {
 *       "origin": "gw1.example.com/tollgate",  // REQUIRED: the log's name,
 *                         // fixed for its life (a store refuses another);
 *                         // printable ASCII, no space, no '+'
 *       "dir": "/var/lib/tollgate/audit",     // default; the LMDB store,
 *                         // created 0700 and owned by user
 *       "key": "/var/lib/tollgate/audit.key", // default; the Ed25519 signing
 *                         // key, PEM, created 0600 at first start
 *       "checkpoint_records": 1024,  // sign after this many records, 1..1048576
 *       "checkpoint_seconds": 60,    // or once records are this old, 1..86400
 *       "map_mb": 1024,              // LMDB map size: the store's cap, 1..1048576
 *       "commit_delay_ms": 50        // fast mode: a record is durable (and acked)
 *                                    // at most this long after it arrived,
 *                                    // 1..1000; a strict statement's record
 *                                    // is committed at once
 *     },
 *     "mgmt": {            // optional: the management API (slowpath/mgmt.h,
 *                          // mgmt/api.h), for tgctl; absent: none
 *       "socket": "/run/tollgate/mgmt.sock",  // default
 *       "group": "tollgate-ops",  // the socket's group; default: "group" below
 *       "mode": "0660",           // the socket's mode (octal string)
 *       "roles": { "admin": ["tgadmin"], "approver": ["tgapprove"],
 *                  "auditor": ["tgaudit"] }, // Unix groups -> roles; root is admin
 *       "metrics": "127.0.0.1:9464"  // optional: GET /metrics, Prometheus text
 *                          // (slowpath/metrics.h); "ADDR:PORT" or
 *                          // "[ADDR6]:PORT", numeric, loopback only
 *                          // (127.0.0.0/8, ::1): it has no authentication
 *     },
 *     "policy": "policy.json", // optional: the policy (dataplane/policy.h) this
 *                          // slowpath owns, validates, compiles and pushes
 *                          // to the dataplane; SIGHUP reads it again
 *     "user": "tollgate",  // default; privileges are dropped to it after
 *                          // the socket and the store are open
 *     "group": "tollgate", // default: the user's primary group
 *     "siem": { "sinks": [...] }  // optional: export the audit trail to
 *                          // SIEMs (siem_config.h, siem.h)
 *   }
 *
 * Errors are one line in the caller's buffer: where (file, line and column
 * for JSON syntax, or the key's path such as audit.map_mb), what, and what
 * is allowed.
 *
 * Caveats:
 *   - The user and group are names, resolved at start (when running as
 *     root); a numeric id is taken as a name like any other.
 *   - control_socket must fit sun_path (107 bytes), after being made
 *     absolute relative to the config file.
 */
#ifndef TG_SP_CONFIG_H
#define TG_SP_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "note.h"
#include "siem_config.h"

#define TG_SP_CONFIG_DEFAULT "/etc/tollgate/slowpath.json"
#define TG_SP_SOCKET_DEFAULT "/run/tollgate/control.sock"
#define TG_SP_AUDIT_DIR_DEFAULT "/var/lib/tollgate/audit"
#define TG_SP_AUDIT_KEY_DEFAULT "/var/lib/tollgate/audit.key"
#define TG_SP_USER_DEFAULT "tollgate"

#define TG_SP_SOCKET_MAX 108 /* sizeof(sun_path), NUL included */
#define TG_SP_NAME_MAX 33    /* user and group names: 32 bytes (useradd), NUL */
#define TG_SP_CHECKPOINT_RECORDS_MAX 1048576
#define TG_SP_CHECKPOINT_SECONDS_MAX 86400
#define TG_SP_MAP_MB_MAX 1048576 /* 1 TiB */
#define TG_SP_MGMT_SOCKET_DEFAULT "/run/tollgate/mgmt.sock"
#define TG_SP_ROLES 3	    /* admin, approver, auditor: mgmt/api.h's role bits, in order */
#define TG_SP_GRANTS_MAX 64 /* groups in mgmt.roles */
#define TG_SP_COMMIT_DELAY_DEFAULT 50
#define TG_SP_COMMIT_DELAY_MAX 1000
#define TG_SP_METRICS_MAX 64 /* "[v6 address]:port" and NUL */

struct tg_sp_config {
	char config_path[PATH_MAX];
	char control_socket[TG_SP_SOCKET_MAX];
	struct {
		char origin[TG_NOTE_NAME_MAX + 1];
		char dir[PATH_MAX];
		char key[PATH_MAX];
		uint32_t checkpoint_records; /* 0: the store's default */
		uint32_t checkpoint_seconds; /* 0: the store's default */
		uint32_t map_mb;	     /* 0: the store's default */
		uint32_t commit_delay_ms;    /* 0: TG_SP_COMMIT_DELAY_DEFAULT */
	} audit;
	char policy[PATH_MAX];	    /* "": none (the dataplane keeps its own) */
	struct {
		char socket[TG_SP_SOCKET_MAX]; /* "": no management socket */
		char group[TG_SP_NAME_MAX];    /* "": the slowpath's group */
		unsigned int mode;	       /* 0: 0660 */
		struct {
			char group[TG_SP_NAME_MAX];
			unsigned int role; /* 0 admin, 1 approver, 2 auditor */
		} grants[TG_SP_GRANTS_MAX];
		unsigned int nb_grants;
		char metrics[TG_SP_METRICS_MAX]; /* "": no /metrics listener */
		struct sockaddr_storage metrics_addr; /* metrics, parsed: loopback */
		socklen_t metrics_addrlen;
	} mgmt;
	char user[TG_SP_NAME_MAX];
	char group[TG_SP_NAME_MAX]; /* "": the user's primary group */
	struct tg_siem_config siem; /* "siem": the SIEM sinks (siem_config.h), none by default */
};

/* The defaults; audit.origin is left empty (required). */
void tg_sp_config_defaults(struct tg_sp_config *cfg);

/*
 * Loads the JSON file at path over cfg and checks the result (origin
 * given). Returns 0 or -EINVAL (-errno when the file cannot be read),
 * with the reason in err.
 */
int tg_sp_config_load_file(struct tg_sp_config *cfg, const char *path, char *err, size_t errlen);

/*
 * The command line: [--config FILE] [--help]. Loads the file (default
 * TG_SP_CONFIG_DEFAULT). Returns 0, 1 when --help was asked (nothing
 * loaded), or -EINVAL / -errno with the reason in err.
 */
int tg_sp_config_parse_args(struct tg_sp_config *cfg, int argc, char **argv, char *err,
			    size_t errlen);

void tg_sp_config_usage(FILE *out, const char *prog);

#endif /* TG_SP_CONFIG_H */
