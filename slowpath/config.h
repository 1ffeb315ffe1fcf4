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
 *       "commit_delay_ms": 50,       // fast mode: a record is durable (and acked)
 *                                    // at most this long after it arrived,
 *                                    // 1..1000; a strict statement's record
 *                                    // is committed at once
 *       // AU-5(4), audit storage full (audit_space.h): above the high
 *       // watermark the store is "full": one audit.full record, and the
 *       // dataplane refuses every new statement (SQLSTATE 53100) until
 *       // the store is below the low watermark again (audit.resumed)
 *       "full_pct": 90,              // full at this % of map_mb used, 2..99;
 *                                    // the rest is the reserve that takes
 *                                    // the alert and what arrives while full
 *       "resume_pct": 80,            // ok again below this %, 1..full_pct-1
 *                                    // (default: full_pct - 10, at least 1)
 *       "disk_min_mb": 64,           // also full with less free on the
 *                                    // store's filesystem, 0..1048576 (0: no
 *                                    // disk check)
 *       "disk_resume_mb": 128        // ok again with this much free,
 *                                    // >= disk_min_mb (default: twice it)
 *     },
 *     "recordings": {      // optional: session recordings (recordings.h), the
 *                          // dataplane's (its inspect.record_kb); absent: none
 *       "dir": "/var/lib/tollgate/recordings", // REQUIRED: an LMDB store of
 *                          // its own, created 0700 and owned by user
 *       "map_mb": 256,     // its cap, 1..1048576
 *       "chunk_kb": 64,    // a chunk (hashed into the audit chain) is cut
 *                          // past this, and at the session's end, 1..16384
 *       "max_mb": 192,     // retention: the oldest chunks go past this
 *                          // (default 3/4 of map_mb), 1..1048576
 *       "max_age_days": 90 // retention: and past this age, 1..36500
 *                          // (default: none)
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
 *     "approvals": {       // optional: approval requests of hold rules
 *       "notify": {...}    // webhooks and commands told of each request and
 *     },                   // decision (notify_config.h); absent: none
 *     "identity": {        // optional: the OIDC login takeover (DESIGN.md
 *                          // "Identity"); absent: AUTH is not offered
 *       "issuer": "https://idp.example.com/realms/db",  // REQUIRED: "iss",
 *                          // byte for byte (and the discovery "issuer")
 *       "audience": "tollgate",     // REQUIRED: must be in "aud"
 *       "azp": "tollgate",          // optional: "azp" when present; default
 *                                   // the audience
 *       // the keys, exactly one of:
 *       "jwks_file": "jwks.json",   // a JWK Set read at start (and on SIGHUP)
 *       "discovery_url": "https://idp.example.com/realms/db/.well-known/openid-configuration",
 *                                   // must be the issuer's own; the set is
 *                                   // fetched from its jwks_uri over HTTPS
 *       "jwks_uri": "https://...",  // the set's https URL, no discovery
 *       "ca_file": "idp-ca.pem",    // optional, with discovery_url/jwks_uri:
 *                                   // the PEM bundle that HTTPS trusts
 *                                   // (default: the system's)
 *       "skew_s": 30,               // clock skew allowed, 0..60 (default 30)
 *       "max_age_s": 43200,         // optional: refuse tokens issued longer
 *                                   // ago (1..31536000); default: no bound
 *       "algs": ["RS256", "ES256"], // allowed (RS256, PS256, ES256, EdDSA);
 *                                   // default all four. Never none or HS*
 *       "groups_claim": "groups",   // optional: a claim name, or a path
 *                                   // ["realm_access", "roles"]; when given
 *                                   // the policy's identity.claim_groups
 *                                   // must say the same (else the policy's
 *                                   // identity section is refused); absent:
 *                                   // the policy's is used
 *       "credentials": "/etc/tollgate/credentials.json", // REQUIRED: the
 *                                   // upstream credentials (credstore.h),
 *                                   // mode 0600
 *       "login_timeout_ms": 10000,  // a login not done by then is refused
 *                                   // (100..120000)
 *       "max_logins": 256,          // logins in flight (1..65536); more are
 *                                   // refused at once
 *       "max_sessions": 65536,      // identity sessions kept (1..1048576)
 *       "cache_max": 1024,          // verified tokens cached (jwt.h), 1..65536
 *       "refetch_cooldown_s": 30    // with discovery_url/jwks_uri: at most one
 *                                   // unknown-kid refetch per this many
 *                                   // seconds (10..3600, default 30)
 *     }
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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "audit_space.h"
#include "note.h"
#include "notify_config.h"
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
#define TG_SP_URL_MAX 1024   /* issuer and URLs, NUL included (= TG_JWKS_URL_MAX) */
#define TG_SP_ID_STR_MAX 256 /* audience, azp, NUL included (= TG_JWT_STR_MAX) */
#define TG_SP_CLAIM_DEPTH 8  /* names in groups_claim (= TG_IDMAP_CLAIM_PATH_MAX) */
#define TG_SP_CLAIM_NAME 128 /* a name of it, NUL included (= TG_JWT_CLAIM_PATH_MAX) */
#define TG_SP_SKEW_DEFAULT 30
#define TG_SP_SKEW_MAX 60 /* = TG_JWT_SKEW_MAX */
#define TG_SP_LOGIN_TIMEOUT_DEFAULT 10000
#define TG_SP_MAX_LOGINS_DEFAULT 256
#define TG_SP_MAX_SESSIONS_DEFAULT 65536

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
		uint32_t full_pct;	     /* audit_space.h: checked at load */
		uint32_t resume_pct;
		uint32_t disk_min_mb; /* 0: no disk check */
		uint32_t disk_resume_mb;
	} audit;
	struct {
		char dir[PATH_MAX]; /* "": no recordings */
		uint32_t map_mb, chunk_kb, max_mb, max_age_days; /* 0: the store's defaults */
	} recordings;
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
	struct tg_notify_config notify; /* "approvals.notify" (notify_config.h): none by default */
	struct {
		bool enabled; /* the "identity" section is there */
		char issuer[TG_SP_URL_MAX];
		char audience[TG_SP_ID_STR_MAX];
		char azp[TG_SP_ID_STR_MAX]; /* "": the audience */
		char jwks_file[PATH_MAX];   /* one of these three */
		char discovery_url[TG_SP_URL_MAX];
		char jwks_uri[TG_SP_URL_MAX];
		char ca_file[PATH_MAX]; /* "": the system's bundle */
		uint32_t skew_s;	/* 0..60 */
		uint32_t max_age_s;	/* 0: no bound */
		unsigned int algs;	/* bits (1u << enum tg_jws_alg); 0: all */
		char groups_claim[TG_SP_CLAIM_DEPTH][TG_SP_CLAIM_NAME];
		unsigned int groups_claim_len; /* 0: the policy's claim_groups */
		char credentials[PATH_MAX];
		uint32_t login_timeout_ms;
		uint32_t max_logins;
		uint32_t max_sessions;
		uint32_t cache_max; /* 0: jwt.h's default */
		uint32_t refetch_cooldown_s; /* 0: jwks_fetch.h's default */
	} identity;
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

/* The watermarks of cfg->audit as audit_space.h takes them (bytes). */
void tg_sp_config_space(const struct tg_sp_config *cfg, struct tg_audit_space_config *sc);

#endif /* TG_SP_CONFIG_H */
