/* SPDX-License-Identifier: MIT */
/*
 * cancelkeys.c — the cancel keys of the live sessions. See cancelkeys.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "cancelkeys.h"

struct cancel_key {
	char server[48];	/* "addr:port", zero-padded */
	uint32_t pid;
	uint32_t key;
};

static void
make(struct cancel_key *k, const char *server, uint32_t pid, uint32_t key)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->server, sizeof(k->server), "%s", server != NULL ? server : "");
	k->pid = pid;
	k->key = key;
}

struct rte_hash *
tg_cancel_keys_create(uint32_t entries, struct rte_rcu_qsbr *qsbr)
{
	struct rte_hash_parameters hp = {
		.name = "tg_cancel_keys",
		.entries = entries < 64 ? 64 : entries,
		.key_len = sizeof(struct cancel_key),
		.hash_func = rte_jhash,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = qsbr != NULL ? RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
						     RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD
					   : 0,
	};
	struct rte_hash_rcu_config rc = { .v = qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };
	struct rte_hash *h = rte_hash_create(&hp);

	if (h == NULL)
		return NULL;
	if (qsbr != NULL && rte_hash_rcu_qsbr_add(h, &rc) != 0) {
		rte_hash_free(h);
		return NULL;
	}
	return h;
}

void
tg_cancel_keys_free(struct rte_hash *h)
{
	rte_hash_free(h);
}

int
tg_cancel_keys_add(struct rte_hash *h, const char *server, uint32_t pid, uint32_t key)
{
	struct cancel_key k;

	make(&k, server, pid, key);
	return rte_hash_add_key(h, &k) < 0 ? -ENOSPC : 0;
}

void
tg_cancel_keys_del(struct rte_hash *h, const char *server, uint32_t pid, uint32_t key)
{
	struct cancel_key k;

	make(&k, server, pid, key);
	rte_hash_del_key(h, &k);
}

bool
tg_cancel_keys_known(struct rte_hash *h, const char *server, uint32_t pid, uint32_t key)
{
	struct cancel_key k;

	make(&k, server, pid, key);
	return rte_hash_lookup(h, &k) >= 0;
}
