/* SPDX-License-Identifier: MIT */
/*
 * siem.h — delivery of the audit trail to SIEMs: every sink of the config
 * (siem_config.h) reads the durable records from the store and sends each
 * as one event (siem_format.h) over syslog TCP, TLS or UDP
 * (siem_syslog.h), or appends it to a JSON-lines file, from the slowpath's
 * single-threaded event loop.
 *
 * Never blocking. Sockets are non-blocking and live in an epoll set of
 * this module, whose descriptor (tg_siem_fd()) sits in the main loop's;
 * a timerfd in the set brings the loop back for reconnections, for ack
 * polling and for the next batch. Each loop turn a sink reads at most
 * "batch" records in one LMDB read transaction (tg_audit_read(): durable
 * records only, never a writer lock) and holds at most
 * SIEM_OUT_HIGH bytes unsent: a slow or absent SIEM costs memory
 * bounded per sink, never the dataplane's acks or the store's commits.
 * Names are not resolved (siem_config.h): a DNS lookup would block.
 *
 * At least once. Each sink has a cursor in the store, "siem.<name>": every
 * record below it was delivered. tg_siem_save() puts the cursors that
 * moved into the store's batch (tg_audit_cursor_set()), so they are
 * written with the next commit, at most once a second; after a restart
 * of the slowpath, a sink resumes at its cursor and repeats what it had
 * sent but not yet saved. Receivers deduplicate by seq. Delivered means:
 *   - tcp, tls: the peer's TCP acknowledged the bytes (SIOCOUTQ; for TLS
 *     the socket BIO's count, BIO_number_written), and the connection then
 *     stayed up for settle_ms. Syslog has no application-level ack
 *     (RFC 5425 and 6587 define none); a receiver killed with data in its
 *     socket buffer or its queue loses what TCP acknowledged, so on a
 *     broken connection the sink resends everything not yet settled. What a
 *     receiver loses more than settle_ms after its TCP acknowledged it is
 *     lost: settle_ms is the bound on a receiver's processing delay that
 *     the operator accepts.
 *   - udp: sent (RFC 5426 has no delivery at all): at most once.
 *   - file: written and fdatasync()ed (once a second, and before a
 *     rotation).
 * A broken connection is retried after backoff_min_ms, doubling up to
 * backoff_max_ms; the backoff resets once a connection delivers.
 *
 * Caveats:
 *   - Only durable records leave: a record waits for its commit (at most
 *     commit_delay_ms in fast mode).
 *   - A file sink's writes and fdatasync() run in the loop; a local disk's
 *     latency, like the store's own fsyncs.
 *   - The sink files are opened after privileges are dropped, as the
 *     slowpath's user; TLS keys are read at start, as root.
 *   - A sink removed from the config leaves its cursor in the store; one
 *     added with "start": "now" starts at the store's size.
 */
#ifndef TG_SIEM_H
#define TG_SIEM_H

#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "siem_config.h"

struct tg_siem;

struct tg_siem_params {
	const struct tg_siem_config *cfg;
	struct tg_audit *audit;
	const char *hostname; /* the syslog HOSTNAME default */
	const char *version;  /* the product version in events */
	void (*log)(void *arg, int prio, const char *msg);
	void *log_arg;
};

/*
 * Sets up the sinks of p->cfg (TLS contexts: CA, client key) and reads
 * their cursors; connects nothing yet. Returns the handle, or NULL with
 * errno set and the reason in err.
 */
struct tg_siem *tg_siem_open(const struct tg_siem_params *p, char *err, size_t errlen);

/* Closes every sink (what is unsent is sent again after the next start). */
void tg_siem_close(struct tg_siem *s);

/* The descriptor for the main loop's epoll (EPOLLIN): call tg_siem_run() when ready. */
int tg_siem_fd(const struct tg_siem *s);

/*
 * Does what is due: connections, TLS handshakes, acks, reconnections,
 * and one batch of records per sink. Call it when tg_siem_fd() is
 * readable and after every loop turn (new records may be durable).
 */
void tg_siem_run(struct tg_siem *s);

/*
 * Puts the cursors that moved into the store's batch. Returns how many
 * (the caller commits when > 0, to write them) or -errno.
 */
int tg_siem_save(struct tg_siem *s);

/*
 * Per sink, for the stats method: {"<name>": {"connected", "delivered",
 * "next", "durable", "lag", "in_flight", "events", "bytes", "connects",
 * "disconnects", "errors", "trimmed", "backoff_ms", "state", "type",
 * "format", "last_error"}}. NULL when out of memory.
 */
json_t *tg_siem_stats_json(const struct tg_siem *s);

#endif /* TG_SIEM_H */
