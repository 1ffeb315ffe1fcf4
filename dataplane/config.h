/* SPDX-License-Identifier: MIT */
/*
 * config.h — the dataplane's own options, from a JSON file and the command
 * line (after EAL's arguments and "--").
 *
 * The in-memory form (struct tg_dp_config) is separate from both parsers:
 * ports are kept as the names the operator wrote and resolved to port ids
 * only after EAL has probed the devices (tg_port_resolve_pairs()).
 *
 * Precedence: defaults, then the file given by --config, then the other
 * command-line options. A --pair on the command line replaces the file's
 * pairs rather than adding to them, so one invocation always says the whole
 * wiring.
 *
 * Config file (JSON; unknown keys are refused; every key is optional):
 *   {
 *     "pairs": [ ["net_af_packet0", "net_af_packet1"] ],
 *     "stats_interval": 10,
 *     "idle_sleep_max_us": 200,
 *     "services": [
 *       { "name": "pg", "server": "198.18.0.2/32", "port": 5432,
 *         "protocol": "postgres",          // or "tcp": tracked, not parsed; with a
 *                                          // slowpath, new flows may need a
 *                                          // just-in-time grant: "require_grant"
 *                                          // in the policy's identity "services"
 *                                          // (tcpgrants.h), not here
 *         "subnet_policy": "deny",         // or "allow"
 *         "exception_policy": "drop-flow", // or "drop-packet"
 *         "durability": "fast",            // or "strict": with a slowpath, a
 *                                          // statement waits until its record
 *                                          // is durable (service.h)
 *         "on_slowpath_down": "refuse",    // or "allow": new sessions while
 *                                          // the slowpath is away; default:
 *                                          // refuse when slowpath.required.
 *                                          // tcp services needing grants: allow
 *                                          // lets the last grants table decide
 *         "identity": "database"           // or "oidc": the gateway takes the
 *                                          // login over, the password is an
 *                                          // OIDC token (service.h)
 *       } ],
 *     "flows": { "max": 1000000,           // per worker, allocated at start
 *                "timeout_syn": 30, "timeout_established": 3600,
 *                "timeout_closing": 120, "timeout_closed": 10 },   // seconds
 *     "stream": { "ring_kb": 64,           // per direction in flight, power of 2
 *                 "memcap_mb": 128,        // rings per worker
 *                 "held_segments": 16384 },// mbufs a worker may hold
 *     "inspect": { "sessions": 256,        // postgres sessions per worker
 *                  // the parser's caps (pg.h struct tg_pg_limits); a message
 *                  // over its cap is a violation: the session is reset
 *                  "statement_kb": 1024,   // Query/Parse/Bind/FunctionCall
 *                  "result_message_kb": 256, // RowDescription, errors, notices
 *                  "text_kb": 256,         // statement text kept for events
 *                  "params_max": 64, "param_show_max": 256,
 *                  "statements_max": 512, "portals_max": 32,
 *                  "pending_max": 4096, "pool_kb": 1024,
 *                  "record_kb": 1024 },   // rows a session's recording keeps
 *                                          // (record.h); 0: sessions not recorded
 *                  // held whole, so at most half of stream.ring_kb: lowered
 *     "policy": "policy.json",             // policy.h; relative to this file.
 *                                          // With a slowpath that has a policy
 *                                          // it is only the boot policy: the
 *                                          // slowpath's generations replace it;
 *                                          // without one, new postgres sessions
 *                                          // wait for the slowpath's first
 *     "events": "/var/log/tollgate/events.jsonl", // one JSON line per statement
 *     "slowpath": { "socket": "/run/tollgate/control.sock", // control.h; relative
 *                                          // to this file; --slowpath-socket
 *                   "required": true,      // fail closed: refuse new postgres
 *                                          // sessions while it is not connected
 *                   "event_buffer": 65536 }// events kept until acknowledged
 *   }
 *
 * Without "slowpath" (and --slowpath-socket) there is no control channel:
 * nothing is refused for want of one and events go to the events file only.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pg.h"
#include "service.h"

#define TG_MAX_PAIRS 8
#define TG_PORT_NAME_MAX 64
/* Longest back-off sleep accepted: past 10 ms a sleeping worker adds more
 * latency than any host gains from the idle core. */
#define TG_IDLE_SLEEP_MAX_US 10000
#define TG_SLOWPATH_SOCKET_MAX 108	/* sun_path, NUL included */
#define TG_EVENT_BUFFER_DEFAULT 65536
#define TG_EVENT_BUFFER_MIN 16
#define TG_EVENT_BUFFER_MAX (1u << 22)

struct tg_pair_spec {
	char out[TG_PORT_NAME_MAX];	/* towards clients */
	char in[TG_PORT_NAME_MAX];	/* towards the protected subnet */
};

struct tg_flow_params {
	uint32_t max_flows;		/* per worker */
	uint32_t timeout_syn;		/* seconds */
	uint32_t timeout_established;
	uint32_t timeout_closing;
	uint32_t timeout_closed;
	uint32_t ring_size;		/* bytes, power of two */
	uint32_t nb_rings;		/* per worker */
	uint32_t held_segments;		/* per worker */
};

struct tg_dp_config {
	struct tg_pair_spec pairs[TG_MAX_PAIRS];
	unsigned int nb_pairs;
	unsigned int stats_interval;	/* seconds, 0: only at exit */
	uint32_t idle_sleep_max_us;	/* 0: busy polling */
	struct tg_services services;
	struct tg_flow_params flow;
	uint32_t inspect_sessions;	/* per worker, postgres services */
	uint32_t record_kb;		/* a session's recording: rows kept (record.h); 0: none */
	struct tg_pg_limits pg_limits;	/* the PostgreSQL parser's caps */
	char policy_path[256];		/* "" : no policy (parse and report only) */
	char events_path[256];		/* "" : events counted, not written */
	char slowpath_socket[TG_SLOWPATH_SOCKET_MAX];	/* "": no control channel */
	bool slowpath_required;		/* fail closed while it is not connected */
	uint32_t event_buffer;		/* events kept until the slowpath acknowledges them */
	char config_path[256];
};

void tg_config_defaults(struct tg_dp_config *cfg);

/*
 * Parses the dataplane's arguments (those after EAL's "--"). Loads the
 * --config file first wherever it appears. Returns 0, 1 when --help was
 * printed, or -EINVAL with the reason written to err.
 */
int tg_config_parse_args(struct tg_dp_config *cfg, int argc, char **argv, FILE *err);

/* Loads a JSON config file into cfg. Returns 0 or -EINVAL/-errno. */
int tg_config_load_file(struct tg_dp_config *cfg, const char *path, FILE *err);

void tg_config_usage(FILE *out, const char *prog);

#endif /* TG_CONFIG_H */
