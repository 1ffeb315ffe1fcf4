/* SPDX-License-Identifier: MIT */
/*
 * mgmt.h — the server of the management API (mgmt/api.h is the protocol):
 * the Unix socket, the connections, framing, dispatch to a table of
 * methods, authorization by peer credentials, and the event stream of
 * "watch". The slowpath registers one function per method; tgctl and any
 * other client reach the same function (VPP: one action, shared by API
 * and CLI, so validation exists once).
 *
 * Event loop. The server is driven from the caller's loop through one
 * file descriptor, tg_mgmt_fd(): an epoll instance of the server's own,
 * holding the listening socket and every connection (sd-event's
 * sd_event_get_fd() does the same). The caller watches it for EPOLLIN
 * (epoll, poll or select alike) and calls tg_mgmt_on_ready() when it is
 * readable; the server then does the work that is ready and returns. No
 * call blocks: sockets are non-blocking, and what a client does not read
 * waits in that connection's buffer. The cost of nesting is one
 * epoll_wait(2) per wakeup.
 *
 * Methods. tg_mgmt_register() adds a method: its name, the roles that may
 * call it (mgmt/api.h: any one suffices, admin always may), whether it
 * changes state, a one-line summary, and the handler. The handler gets a
 * call and the request's params (an object, {} when absent) and answers
 * exactly once, with tg_mgmt_reply() or tg_mgmt_fail(), either before it
 * returns or later, from anywhere in the caller's loop (a method that asks
 * the dataplane and answers when the dataplane does). While a call is
 * unanswered the server reads no further requests of that connection, so
 * responses keep the order of requests; other connections go on.
 *
 * Authorization. At accept, the peer's pid, uid and gid (SO_PEERCRED) and
 * supplementary groups (SO_PEERGROUPS, else getgrouplist(3) of the uid's
 * user) give its roles: uid 0 is admin, and each group named in
 * cfg->grants adds the roles granted to it (tg_mgmt_roles_of()), unless
 * cfg->roles_of replaces that mapping. The roles are fixed for the life of
 * the connection. A call without the role is answered forbidden without
 * reaching the handler.
 *
 * Audit hook. cfg->audit is called for every response with code forbidden
 * (from the role check or from a handler), and for every response to a
 * method registered as mutating, success or error: the caller makes it an
 * audit record (admin.change, with the operator's uid and user name, the
 * method and the outcome). It is called when the response is made, also
 * for a deferred call whose client has gone, and before the response is
 * queued: it may call tg_mgmt_publish() (a watcher sees the record of its
 * own call before the response), tg_mgmt_reply() and tg_mgmt_fail() of
 * other calls, but not tg_mgmt_close().
 *
 * Counters (TG_MGMT_COUNTERS, VPP style) and one counter per error code;
 * tg_mgmt_stats() copies them out.
 *
 * Caveats:
 *   - The server keeps no timers of its own: tg_mgmt_tick(), called every
 *     second or so, ends connections that hold part of a request line
 *     and completed none for cfg->idle_ms (a client that stopped
 *     mid-line), and connections that should close but whose client does
 *     not read. Without it they stay until the client leaves; they cost
 *     a slot of cfg->max_clients each. Idle connections with nothing
 *     buffered (a watcher, an interactive session) are never ended.
 *   - Memory per connection: an input buffer that grows from 4 KiB to
 *     one request line (64 KiB), and the unsent output: up to
 *     cfg->out_max of events, plus the responses of one read's worth of
 *     pipelined requests (reading stops above out_max).
 *   - A client that closes its socket while its requests wait (behind a
 *     deferred call or the output cap) is closed at once: the waiting
 *     requests are not run; the call in progress is, and is audited.
 *   - A handler must answer every call eventually: the connection waits
 *     for it. A deferred call needs its own timeout in the caller (answer
 *     unavailable when the dataplane does not).
 *   - Roles are taken at connect time: a user added to a group must
 *     reconnect (as with any Unix login).
 *   - The socket's mode and group decide who may connect; with operators
 *     in several groups, make the socket's group one they all share, or
 *     set mode 0666 and rely on the roles (a caller without any role can
 *     call only ping and methods).
 *   - Single-threaded, like the slowpath: one thread calls everything.
 */
#ifndef TG_SP_MGMT_H
#define TG_SP_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "api.h"

#define TG_MGMT_CLIENTS_MAX 64	/* default connections at a time */
#define TG_MGMT_IDLE_MS 10000	/* default: a partial request may wait this long */
#define TG_MGMT_METHODS_MAX 128 /* methods in the table */
#define TG_MGMT_GRANTS_MAX 64	/* groups in the role mapping */
#define TG_MGMT_NAME_MAX 33	/* user name and NUL */
#define TG_MGMT_SUMMARY_MAX 160 /* method summary and NUL */

/* clang-format off */
#define TG_MGMT_COUNTERS(X) \
	X(ACCEPTED, "accepted")		/* connections accepted */ \
	X(REFUSED, "refused")		/* turned away: max_clients, no peer credentials */ \
	X(CLOSED, "closed")		/* connections ended, for any reason */ \
	X(REQUESTS, "requests")		/* request lines */ \
	X(REPLIES, "replies")		/* responses, result or error */ \
	X(ERRORS, "errors")		/* error responses, by code in err[] */ \
	X(DEFERRED, "deferred")		/* calls answered after the handler returned */ \
	X(ORPHANED, "orphaned")		/* answers to calls whose client had gone */ \
	X(AUDITED, "audited")		/* calls of the audit hook */ \
	X(SUBSCRIBED, "subscribed")	/* successful watch calls */ \
	X(EVENTS, "events")		/* tg_mgmt_publish() with a subscriber */ \
	X(EVENT_LINES, "event_lines")	/* event lines queued to subscribers */ \
	X(DROPPED_SLOW, "dropped_slow")	/* subscribers dropped at the output cap */ \
	X(TIMEOUTS, "timeouts")		/* connections ended by tg_mgmt_tick() */ \
	X(IO_ERRORS, "io_errors")	/* recv/send failures (not EOF) */ \
	X(RX_BYTES, "rx_bytes") \
	X(TX_BYTES, "tx_bytes")

enum tg_mgmt_counter {
#define TG_MGMT_X(e, n) TG_MGMT_CNT_##e,
	TG_MGMT_COUNTERS(TG_MGMT_X)
#undef TG_MGMT_X
	TG_MGMT_CNT_MAX
};
/* clang-format on */

extern const char *const tg_mgmt_counter_names[TG_MGMT_CNT_MAX];
extern const char *const tg_mgmt_err_names[TG_MGMT_E_MAX]; /* [TG_MGMT_OK] = "ok" */
extern const char *const tg_mgmt_role_names[TG_MGMT_ROLE_BIT_MAX];

/* Who is on the other end of a connection, as the kernel said at accept. */
struct tg_mgmt_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	unsigned int roles;	     /* TG_MGMT_ROLE_* bits */
	char user[TG_MGMT_NAME_MAX]; /* the uid's user name; "" when it has none */
};

/* A Unix group and the roles its members get. */
struct tg_mgmt_grant {
	const char *group; /* a group name, resolved at open */
	unsigned int roles;
};

/* What the audit hook is told: a refusal, or the outcome of a mutating call. */
struct tg_mgmt_audit_info {
	const struct tg_mgmt_peer *peer;
	const char *method;
	const json_t *params;  /* as the client sent them ({} when absent) */
	bool mutating;	       /* the method changes state */
	enum tg_mgmt_err code; /* TG_MGMT_OK: success */
	const char *message;   /* the error message; "" on success */
};

struct tg_mgmt_config {
	const char *path;		    /* the socket; NULL: TG_MGMT_SOCKET_DEFAULT */
	unsigned int mode;		    /* its mode; 0: 0660 */
	uid_t uid;			    /* its owner; (uid_t)-1: as created */
	const char *group;		    /* its group, a name; NULL or "": as created */
	const struct tg_mgmt_grant *grants; /* group -> roles; copied at open */
	size_t nb_grants;
	unsigned int watch_roles; /* who may watch; 0: TG_MGMT_ROLE_AUDITOR */
	unsigned int max_clients; /* 0: TG_MGMT_CLIENTS_MAX */
	size_t out_max;		  /* a subscriber's unread output cap; 0: TG_MGMT_OUT_MAX */
	unsigned int idle_ms;	  /* see tg_mgmt_tick(); 0: TG_MGMT_IDLE_MS */
	const char *software;	  /* ping's "software"; NULL: "" */

	void *arg; /* passed to the hooks below */
	/* Refusals and mutating calls (see above); NULL: none. */
	void (*audit)(void *arg, const struct tg_mgmt_audit_info *info);
	/* One line, syslog priority; NULL: silent. */
	void (*log)(void *arg, int prio, const char *msg);
	/*
	 * Replaces the group mapping: the roles of a peer (peer->roles is 0
	 * on entry), given its supplementary groups. NULL: tg_mgmt_roles_of().
	 */
	unsigned int (*roles_of)(void *arg, const struct tg_mgmt_peer *peer, const gid_t *groups,
				 size_t nb_groups);
	/* CLOCK_MONOTONIC milliseconds; NULL: clock_gettime(). */
	uint64_t (*clock_ms)(void *arg);
};

struct tg_mgmt;
struct tg_mgmt_call;

/*
 * A method's handler. params is the request's params object, valid until
 * the call is answered. Answer with tg_mgmt_reply() or tg_mgmt_fail(),
 * now or later; the call is freed by the answer.
 */
typedef void (*tg_mgmt_handler_fn)(struct tg_mgmt_call *call, const json_t *params, void *arg);

struct tg_mgmt_method {
	const char *name;    /* [a-z0-9_.], 1..TG_MGMT_METHOD_MAX - 1 characters */
	unsigned int roles;  /* TG_MGMT_ROLE_* bits, any one suffices; TG_MGMT_ROLE_NONE: anyone */
	bool mutating;	     /* changes state: every call goes to the audit hook */
	const char *summary; /* one line, shown by "methods"; may be NULL */
	tg_mgmt_handler_fn fn;
	void *arg;
};

struct tg_mgmt_stats {
	uint64_t cnt[TG_MGMT_CNT_MAX];
	uint64_t err[TG_MGMT_E_MAX]; /* error responses by code */
	uint32_t clients;	     /* connections now */
	uint32_t subscribers;	     /* of which watching */
	uint32_t pending;	     /* calls not answered yet */
};

/*
 * Creates the socket at cfg->path (mode, owner and group as configured;
 * the mode holds from bind on, so there is no moment where others may
 * connect), resolves the grants' group names, and registers the built-in
 * methods ping, methods and watch. A stale socket (nothing accepts on it)
 * is replaced; a live one, or a path that is not a socket, is refused.
 * Call it before dropping privileges when the owner or group are to be
 * set. Returns the server, or NULL with errno set and the reason in err.
 */
struct tg_mgmt *tg_mgmt_open(const struct tg_mgmt_config *cfg, char *err, size_t errlen);

/*
 * Closes every connection and the socket, and unlinks the socket if it is
 * still the one this server bound. Calls not yet answered are detached:
 * answering them later only frees them (no audit hook: the server is
 * gone). NULL is a no-op.
 */
void tg_mgmt_close(struct tg_mgmt *m);

/* The one descriptor to watch for EPOLLIN. */
int tg_mgmt_fd(const struct tg_mgmt *m);

/* Does what is ready: accepts, reads and answers requests, sends output. */
void tg_mgmt_on_ready(struct tg_mgmt *m);

/* Ends stalled connections (see Caveats); call it every second or so. */
void tg_mgmt_tick(struct tg_mgmt *m);

/*
 * Adds a method; its strings are copied. Returns 0, -EINVAL (bad name,
 * roles or no handler), -EEXIST (the name is taken) or -ENOSPC
 * (TG_MGMT_METHODS_MAX).
 */
int tg_mgmt_register(struct tg_mgmt *m, const struct tg_mgmt_method *method);

/*
 * Answers a call with result, whose reference it takes; NULL (a failed
 * json_pack) is answered as an internal error. Frees the call.
 */
void tg_mgmt_reply(struct tg_mgmt_call *call, json_t *result);

void tg_mgmt_fail(struct tg_mgmt_call *call, enum tg_mgmt_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * For a method: true when every member of params is one of names[0..nb);
 * else the call is answered BAD_REQUEST naming the first unknown one.
 */
bool tg_mgmt_params_known(struct tg_mgmt_call *call, const json_t *params,
			  const char *const *names, size_t nb);

/*
 * For a method: params.name as a string into *out (NULL when absent);
 * false when present and not a string without NUL bytes, the call then
 * answered BAD_REQUEST "params.NAME: a string".
 */
bool tg_mgmt_param_str(struct tg_mgmt_call *call, const json_t *params, const char *name,
		       const char **out);

/* The caller of a call, and its method's name; valid until the call is answered. */
const struct tg_mgmt_peer *tg_mgmt_call_peer(const struct tg_mgmt_call *call);
const char *tg_mgmt_call_method(const struct tg_mgmt_call *call);

/*
 * Sends event (not consumed) to every subscriber as {"event": event}. A
 * subscriber whose unread output would pass cfg->out_max is dropped
 * (too_slow) instead. Returns the number of subscribers it was queued
 * for, or -ENOMEM; without subscribers it does nothing and returns 0, so
 * it may be called for every record.
 */
int tg_mgmt_publish(struct tg_mgmt *m, const json_t *event);

/* Copies the counters into caller storage. */
void tg_mgmt_stats(const struct tg_mgmt *m, struct tg_mgmt_stats *out);

/* The same as a JSON object {"clients":..,"counters":{..},"errors":{..}}, for stats methods. */
json_t *tg_mgmt_stats_json(const struct tg_mgmt *m);

/*
 * The default role mapping: uid 0 is admin; otherwise the union of the
 * roles granted to gid and to each of groups.
 */
unsigned int tg_mgmt_roles_of(const struct tg_mgmt *m, uid_t uid, gid_t gid, const gid_t *groups,
			      size_t nb_groups);

/* The roles as a JSON array of names, in TG_MGMT_ROLES order. */
json_t *tg_mgmt_roles_json(unsigned int roles);

/* An operator in a record: {"uid", "pid", "roles", "user" (when it has one)}; NULL: no memory. */
json_t *tg_mgmt_peer_json(const struct tg_mgmt_peer *p);

/* Unix seconds t as "2025-01-31T23:59:59Z" (UTC), as method results and records show times. */
json_t *tg_mgmt_time_json(int64_t t);

/*
 * The request decoder the server runs on every line (mgmt/api.h
 * "Request"), exposed for the tests and the fuzz target. line is len
 * bytes without the newline, not NUL-terminated. On success returns
 * TG_MGMT_OK and fills req, whose root holds the references (release it
 * with tg_mgmt_request_release()); otherwise the error code with the
 * reason in msg, and req->id set to the id if one could be read (else
 * NULL), to be released the same way.
 */
struct tg_mgmt_request {
	json_t *root;	      /* the parsed line */
	const json_t *id;     /* NULL: absent or unusable (answer with null) */
	const char *method;   /* into root */
	const json_t *params; /* an object; {} when absent */
	json_t *own_params;   /* the {} made for an absent params */
};

enum tg_mgmt_err tg_mgmt_request_decode(const char *line, size_t len, struct tg_mgmt_request *req,
					char *msg, size_t msglen);
void tg_mgmt_request_release(struct tg_mgmt_request *req);

/* A method name's syntax: [a-z0-9_.], 1..TG_MGMT_METHOD_MAX - 1 characters. */
bool tg_mgmt_method_name_valid(const char *s, size_t len);

#endif /* TG_SP_MGMT_H */
