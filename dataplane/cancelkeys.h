/* SPDX-License-Identifier: MIT */
/*
 * cancelkeys.h — the cancel keys of the live sessions, across workers.
 *
 * A PostgreSQL CancelRequest (55.2.8) is a session of its own: it names a
 * backend by process ID and secret key, and a server that finds the pair
 * cancels whatever that backend runs. The gateway lets one through only
 * when the pair is that of a session it carries to the same server (its
 * BackendKeyData was seen); any other is dropped, so a client cannot
 * cancel work of sessions it never saw, whoever's they are.
 *
 * The session and its CancelRequest may land on different workers (RSS
 * spreads connections), so the table is shared: an rte_hash keyed by the
 * server "addr:port", the process ID and the key. With several workers it
 * is lock-free for readers and takes concurrent adds
 * (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | MULTI_WRITER_ADD); a deleted
 * entry's slot is reused after an RCU grace period of the workers' QSBR
 * variable (rte_hash_rcu_qsbr_add, defer-queue mode), so a reader never
 * sees a slot change under it. A worker touches it only at a session's
 * BackendKeyData, at its end and at a CancelRequest, never per packet.
 *
 * Caveats:
 * - A full table refuses new keys (counted by the caller): their sessions
 *   cannot be cancelled through the gateway, the safe side.
 */
#ifndef TG_CANCELKEYS_H
#define TG_CANCELKEYS_H

#include <stdbool.h>
#include <stdint.h>

struct rte_hash;
struct rte_rcu_qsbr;

/* Creates the table for entries keys; qsbr: the workers' (NULL with one worker). */
struct rte_hash *tg_cancel_keys_create(uint32_t entries, struct rte_rcu_qsbr *qsbr);
void tg_cancel_keys_free(struct rte_hash *h);

/* Returns 0, or -ENOSPC when the table is full. */
int tg_cancel_keys_add(struct rte_hash *h, const char *server, uint32_t pid, uint32_t key);
void tg_cancel_keys_del(struct rte_hash *h, const char *server, uint32_t pid, uint32_t key);
bool tg_cancel_keys_known(struct rte_hash *h, const char *server, uint32_t pid, uint32_t key);

#endif /* TG_CANCELKEYS_H */
