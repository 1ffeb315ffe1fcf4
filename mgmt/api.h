/* SPDX-License-Identifier: MIT */
/*
 * api.h — the management API of tollgate: what tollgate-slowpath serves on
 * its management socket and tgctl speaks. This header is the contract
 * (DESIGN.md: interface headers belong to the side that defines them); it
 * holds constants and names only and includes nothing, so the server
 * (slowpath/mgmt.c) and any client can include it alone.
 *
 * Transport. A Unix stream socket, by default TG_MGMT_SOCKET_DEFAULT,
 * mode 0660. The server knows who connected from the kernel
 * (SO_PEERCRED, SO_PEERGROUPS): there is no login and no token, and the
 * socket's mode and group decide who may connect at all.
 *
 * Framing. Newline-delimited JSON ("JSON Lines"): every request and every
 * response is one JSON object on one line, ended by "\n" (a "\r" before
 * it is dropped, blank lines are ignored). A client may pipeline: send
 * several requests without waiting; responses come back in the order of
 * the requests, one each. A request line is at most TG_MGMT_REQUEST_MAX
 * bytes, the newline excluded; a longer one is answered with too_large
 * and the server closes the connection after that response, since it
 * cannot tell where the next request would start. When the client shuts
 * down its sending side, what it sent last is taken as a last request
 * even without a newline, answered, and the connection closed once
 * everything is answered (so `printf '{"method":"ping"}' | socat -
 * UNIX:...` works).
 *
 * Request:
 *   {"id": ID, "method": "status", "params": {...}}
 *     id      optional: a string of at most TG_MGMT_ID_MAX bytes, an
 *             integer, or null; echoed in the response, untouched. An id
 *             of another type is a bad_request answered with id null.
 *     method  required: 1..TG_MGMT_METHOD_MAX - 1 characters of
 *             [a-z0-9_.], e.g. "audit.tail".
 *     params  optional: an object (absent: {}). What it may hold is the
 *             method's; an unknown param is refused by the method.
 *   Any other member, a duplicated member, or a line that is not a JSON
 *   object in valid UTF-8 is a bad_request.
 *
 * Response, exactly one per request line:
 *   {"id": ID, "result": RESULT}                  success; RESULT is any
 *                                                 JSON value (the method's)
 *   {"id": ID, "error": {"code": C, "message": M}}
 *     C is one of TG_MGMT_ERRORS below (a client acts on the code), M a
 *     one-line text for a human (its wording may change).
 *
 * Events. After the "watch" method succeeded on a connection, the server
 * also sends event lines on it, as they happen, between responses:
 *   {"event": EVENT}
 * EVENT is an object, for now an audit record as the audit store wrote it
 * (slowpath/audit.h "Records": seq, ts, event.type, outcome, ...); more
 * kinds come with their issues and carry their own event.type (the
 * approval.* records of held statements are audit records: mapprovals.h).
 * A subscriber that does not read falls behind: once more than the
 * server's output cap (TG_MGMT_OUT_MAX by default) waits for it, the
 * server stops sending events to it, sends one last line
 *   {"id": null, "error": {"code": "too_slow", "message": M}}
 * and closes the connection once that line is read. The server never
 * waits for a client.
 *
 * Authorization. Every method requires one of a set of roles (or none:
 * ping, methods). The roles come from the caller's Unix groups, mapped in
 * the slowpath's config (group name -> roles); uid 0 is admin, and admin
 * may call everything. A caller without the role gets error forbidden,
 * and the refusal is an audit record naming the caller's uid, user name,
 * method and outcome; so is every call of a method that changes state,
 * successful or not.
 *
 * Methods (version 1). "roles" is who may call: any one of them suffices.
 *
 *   ping       anyone     -> {"pong": true, "software": "tollgate-slowpath 0.1.0"}
 *   methods    anyone     -> {"peer": {"uid": 1000, "gid": 1000, "pid": 42,
 *                                      "user": "alice", "roles": ["auditor"]},
 *                             "methods": [{"name": "ping", "roles": [],
 *                                          "mutating": false, "summary": "..."},
 *                                         ...]}
 *                             the methods the caller may call, by name
 *   watch      auditor    -> {"watching": true}, then event lines (above).
 *                             The role is the server's config (default
 *                             auditor); admin always. Optional params
 *                             filter the stream server-side (slowpath/
 *                             watch.h), each a string or an array of up
 *                             to 8 (any one matches), all given must match:
 *                               "type": event.type prefix by whole
 *                                 components ("db.query": db.query and
 *                                 db.query.begin; "session")
 *                               "service": dst.service
 *                               "user": db.user or operator.user
 *                             A record without the field does not match.
 *                             A second watch on the connection replaces
 *                             the filter.
 *   status     any role   -> an object; every member is optional and a
 *                             client prints what it finds:
 *     {"software": "tollgate-slowpath 0.1.0",
 *      "started": "2025-01-31T23:59:59.123456Z", "uptime_s": 3600,
 *      "host": "gw1",
 *      "policy": {"generation": 3, "loaded": TS, "file": "/etc/..."},
 *      "dataplane": {"connected": true, "software": "tollgate-dataplane 0.1.0",
 *                    "instance": "0123456789abcdef", "pid": 42,
 *                    "protocol": 1, "since": TS},
 *      "ports": [{"name": "outside", "port": 0, "link": "up",
 *                 "speed_mbps": 10000, "rx_packets": 1, "tx_packets": 1,
 *                 "drops": 0}, ...],
 *      "audit": {"origin": "gw1.example/tollgate", "records": 1234,
 *                "durable": 1234, "last_checkpoint": 1024},
 *      "mgmt": {"clients": 2, "subscribers": 1}}
 *     "ports" is an array of flat objects (tgctl prints it as a table),
 *     other objects are sections of scalars.
 *   stats, flows, sessions.*, policy.*, audit.*: with their issues (issue 6
 *     items 3-5); their results follow the same rules as status: objects
 *     of scalars, arrays of flat objects for tables.
 *   grants.add, grants.revoke (admin, approver), grants.list (any role):
 *     just-in-time access grants (issue 9 part 4), for logins and, with a
 *     "source", for the flows of "protocol": "tcp" services; params and
 *     results in slowpath/mgrants.h.
 *   approvals.approve, approvals.deny (admin, approver), approvals.list,
 *     approvals.show (any role): the approval requests of held statements
 *     (issue 9 part 2); params and results in slowpath/mapprovals.h.
 *
 * Caveats:
 *   - No request ids are generated or checked for uniqueness by the
 *     server: a client that pipelines matches responses by order, and
 *     may use ids only to check itself.
 *   - Large results (audit tails) are sent whole: a method that can return
 *     much takes a limit param. The output cap applies to events only; a
 *     client that pipelines requests and does not read its responses is
 *     simply not read from any more until it does (backpressure).
 */
#ifndef TG_MGMT_API_H
#define TG_MGMT_API_H

#define TG_MGMT_SOCKET_DEFAULT "/run/tollgate/mgmt.sock"
#define TG_MGMT_REQUEST_MAX (64 * 1024)	 /* bytes of one request line, "\n" excluded */
#define TG_MGMT_RESPONSE_MAX (16u << 20) /* a larger result is answered with internal */
#define TG_MGMT_OUT_MAX (1u << 20)	 /* default cap of a subscriber's unread output */
#define TG_MGMT_ID_MAX 128		 /* bytes of a string id */
#define TG_MGMT_METHOD_MAX 64		 /* method name and NUL */
#define TG_MGMT_MESSAGE_MAX 512		 /* error message and NUL */

/*
 * Error codes: X(enum suffix, code on the wire, what it means). The wire
 * names are stable; new codes may be added, so a client treats an unknown
 * code like internal.
 */
/* clang-format off */
#define TG_MGMT_ERRORS(X) \
	X(BAD_REQUEST, "bad_request", "the request is not valid JSON, not an object, or its " \
		"id, method or params are malformed or not what the method takes") \
	X(TOO_LARGE, "too_large", "the request line is longer than the server takes; " \
		"the connection is closed") \
	X(UNKNOWN_METHOD, "unknown_method", "no such method") \
	X(FORBIDDEN, "forbidden", "the caller lacks the role the method requires") \
	X(NOT_FOUND, "not_found", "the object named by the params does not exist") \
	X(CONFLICT, "conflict", "the object is not in a state that allows the call") \
	X(UNAVAILABLE, "unavailable", "the server cannot serve this now (dataplane not " \
		"connected, too many connections); try again later") \
	X(TOO_SLOW, "too_slow", "a subscriber did not read its events; the connection is " \
		"closed") \
	X(INTERNAL, "internal", "the server failed; its log says why")

enum tg_mgmt_err {
	TG_MGMT_OK = 0,
#define TG_MGMT_X(e, s, d) TG_MGMT_E_##e,
	TG_MGMT_ERRORS(TG_MGMT_X)
#undef TG_MGMT_X
	TG_MGMT_E_MAX
};
/* clang-format on */

/*
 * Roles: X(enum suffix, name on the wire and in the config). A method
 * requires a set of roles (bits), any one of which suffices; admin may
 * call everything.
 */
/* clang-format off */
#define TG_MGMT_ROLES(X) \
	X(ADMIN, "admin") \
	X(APPROVER, "approver") \
	X(AUDITOR, "auditor")

enum tg_mgmt_role_bit {
#define TG_MGMT_X(e, s) TG_MGMT_ROLE_BIT_##e,
	TG_MGMT_ROLES(TG_MGMT_X)
#undef TG_MGMT_X
	TG_MGMT_ROLE_BIT_MAX
};
/* clang-format on */

#define TG_MGMT_ROLE_ADMIN (1u << TG_MGMT_ROLE_BIT_ADMIN)
#define TG_MGMT_ROLE_APPROVER (1u << TG_MGMT_ROLE_BIT_APPROVER)
#define TG_MGMT_ROLE_AUDITOR (1u << TG_MGMT_ROLE_BIT_AUDITOR)
/* any one of the roles: read-only methods such as status */
#define TG_MGMT_ROLE_ANY (TG_MGMT_ROLE_ADMIN | TG_MGMT_ROLE_APPROVER | TG_MGMT_ROLE_AUDITOR)
/* nobody needs a role: anyone who can connect (ping, methods) */
#define TG_MGMT_ROLE_NONE 0u

/* Built-in method names (served by the library itself) and the slowpath's. */
#define TG_MGMT_M_PING "ping"
#define TG_MGMT_M_METHODS "methods"
#define TG_MGMT_M_WATCH "watch"
#define TG_MGMT_M_STATUS "status"

#endif /* TG_MGMT_API_H */
