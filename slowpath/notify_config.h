/* SPDX-License-Identifier: MIT */
/*
 * notify_config.h — the "notify" member of the slowpath config's
 * "approvals" section: where an approval request (and its decision) is
 * announced besides the event stream, so that teams can wire up chat or
 * ticketing (notify.h does the delivering).
 *
 *   "approvals": {
 *     "notify": {
 *       "webhooks": [
 *         { "name": "chat",               // [A-Za-z0-9_.-], 1..32; default webhook<i>
 *           "url": "https://chat.example/hook",  // REQUIRED: https; http only to
 *                                         // a loopback address (a local relay)
 *           "headers": { "Authorization": "Bearer ..." },  // sent as given; never
 *                                         // logged. Content-Type, Content-Length,
 *                                         // Host, Expect and X-Tollgate-* are ours
 *           "ca_file": "ca.pem",          // PEM bundle to trust; default the system's
 *           "secret_file": "hook.secret", // signs each request (notify.h, Signing)
 *           "timeout_ms": 5000,           // per attempt, 100..600000
 *           "parallel": 4 }               // attempts in flight at once, 1..64
 *       ],
 *       "commands": [
 *         { "name": "pager",              // default command<i>
 *           "argv": ["/usr/local/bin/page-oncall", "--json"],  // REQUIRED: argv[0]
 *                                         // an absolute path; no shell, no PATH search
 *           "env": { "PAGER_ROUTE": "db" },  // added to the hook's environment
 *           "timeout_ms": 5000,           // then SIGKILL to its process group
 *           "parallel": 4 }
 *       ],
 *       "retry": { "max_attempts": 8,     // attempts per delivery, 1..100
 *                  "initial_ms": 1000,    // first backoff, 1..3600000
 *                  "max_ms": 60000 },     // backoff cap, initial_ms..86400000
 *       "queue_max": 1024                 // deliveries a sink holds (waiting and
 *     }                                   // in flight), 1..65536
 *   }
 *
 * Relative paths (ca_file, secret_file) are relative to the config file's
 * directory, as in config.h. Unknown keys, duplicate sink names, header
 * names or values with control characters, and more than
 * TG_NOTIFY_SINKS_MAX sinks are refused; the error names the key's path
 * ("approvals.notify.webhooks[1].headers.X-Foo"). Parsing reads no file:
 * tg_notify_new() opens the secrets and checks the commands.
 */
#ifndef TG_NOTIFY_CONFIG_H
#define TG_NOTIFY_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TG_NOTIFY_SINKS_MAX 8	   /* webhooks and commands together */
#define TG_NOTIFY_NAME_MAX 33	   /* 32 bytes and NUL */
#define TG_NOTIFY_URL_MAX 1024	   /* bytes of a URL and NUL */
#define TG_NOTIFY_HEADERS_MAX 16   /* configured headers of a webhook */
#define TG_NOTIFY_HEADER_MAX 1024  /* bytes of one "Name: value" and NUL */
#define TG_NOTIFY_ARGS_MAX 32	   /* argv entries of a command */
#define TG_NOTIFY_ENV_MAX 16	   /* configured environment entries */
#define TG_NOTIFY_STRINGS_MAX 8192 /* bytes of a command's argv and env, packed */
#define TG_NOTIFY_TIMEOUT_DEFAULT 5000
#define TG_NOTIFY_TIMEOUT_MIN 100
#define TG_NOTIFY_TIMEOUT_MAX 600000
#define TG_NOTIFY_PARALLEL_DEFAULT 4
#define TG_NOTIFY_PARALLEL_MAX 64
#define TG_NOTIFY_ATTEMPTS_DEFAULT 8
#define TG_NOTIFY_ATTEMPTS_MAX 100
#define TG_NOTIFY_BACKOFF_INITIAL_DEFAULT 1000
#define TG_NOTIFY_BACKOFF_INITIAL_MAX 3600000
#define TG_NOTIFY_BACKOFF_MAX_DEFAULT 60000
#define TG_NOTIFY_BACKOFF_LIMIT 86400000
#define TG_NOTIFY_QUEUE_DEFAULT 1024
#define TG_NOTIFY_QUEUE_LIMIT 65536

enum tg_notify_sink_type {
	TG_NOTIFY_WEBHOOK,
	TG_NOTIFY_COMMAND,
};

struct tg_notify_sink_config {
	char name[TG_NOTIFY_NAME_MAX];
	enum tg_notify_sink_type type;
	uint32_t timeout_ms;
	uint32_t parallel;
	/* webhook */
	char url[TG_NOTIFY_URL_MAX];
	char ca_file[PATH_MAX];					   /* "": the system's */
	char secret_file[PATH_MAX];				   /* "": requests are not signed */
	char headers[TG_NOTIFY_HEADERS_MAX][TG_NOTIFY_HEADER_MAX]; /* "Name: value" */
	unsigned int nb_headers;
	/* command: argv then env ("NAME=value"), NUL-terminated strings back to back */
	char strings[TG_NOTIFY_STRINGS_MAX];
	unsigned int argc, envc;
};

struct tg_notify_config {
	struct tg_notify_sink_config sinks[TG_NOTIFY_SINKS_MAX];
	unsigned int nb_sinks;
	uint32_t max_attempts;
	uint32_t initial_ms, max_ms;
	uint32_t queue_max;
};

/* The defaults: no sink (nothing is delivered), the retry and queue defaults above. */
void tg_notify_config_init(struct tg_notify_config *c);

/*
 * Parses the "notify" value v into c (overwritten), paths relative to the
 * directory of the file named base; v NULL (no such section) leaves the
 * defaults of tg_notify_config_init(). Returns 0 or -EINVAL with the reason
 * in err: "BASE: approvals.notify.commands[0].argv[0]: must be an
 * absolute path".
 */
int tg_notify_config_parse(struct tg_notify_config *c, const json_t *v, const char *base, char *err,
			   size_t errlen);

/*
 * The i-th string of a command's argv (i < argc) or env (argc <= i <
 * argc + envc) in s->strings; NULL past them.
 */
const char *tg_notify_config_string(const struct tg_notify_sink_config *s, unsigned int i);

#endif /* TG_NOTIFY_CONFIG_H */
