/* SPDX-License-Identifier: MIT */
/*
 * flow.c — per-worker flow table. See flow.h.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "flow.h"

const char *const tg_flow_counter_names[TG_FLOW_CNT_MAX] = {
#define NAME(e, n, d) [TG_FLOW_CNT_##e] = n,
	TG_FLOW_COUNTERS(NAME)
#undef NAME
};

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void
tg_flow_key_make(struct tg_flow_key *k, const uint8_t *frame, const struct tg_pkt *p,
		 bool *reversed)
{
	const uint8_t *ip = frame + p->l3_off;
	uint8_t a[16], b[16];
	int c;

	if (p->ip_ver == 4) {
		memcpy(a, v4_mapped, 12);
		memcpy(a + 12, ip + 12, 4);
		memcpy(b, v4_mapped, 12);
		memcpy(b + 12, ip + 16, 4);
	} else {
		memcpy(a, ip + 8, 16);
		memcpy(b, ip + 24, 16);
	}
	c = memcmp(a, b, 16);
	if (c == 0)
		c = (int)p->sport - (int)p->dport;
	*reversed = c > 0;
	memset(k, 0, sizeof(*k));
	memcpy(k->addr[0], *reversed ? b : a, 16);
	memcpy(k->addr[1], *reversed ? a : b, 16);
	k->port[0] = *reversed ? p->dport : p->sport;
	k->port[1] = *reversed ? p->sport : p->dport;
	k->family = p->ip_ver;
}

int
tg_flow_table_init(struct tg_flow_table *t, const char *name, uint32_t max_flows,
		   const uint32_t timeout_s[TG_FLOW_NB_CLASSES], int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = max_flows,
		.key_len = sizeof(struct tg_flow_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	size_t bytes = sizeof(struct tg_flow) * (size_t)max_flows;
	int c;

	memset(t, 0, sizeof(*t));
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL)
		return -ENOMEM;
	/* committed now, not on first use: the fast path never page-faults its way to a cap */
	t->flows = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (t->flows == MAP_FAILED) {
		t->flows = NULL;
		rte_hash_free(t->hash);
		t->hash = NULL;
		return -ENOMEM;
	}
	t->max_flows = max_flows;
	for (c = 0; c < TG_FLOW_NB_CLASSES; c++) {
		t->lru_head[c] = t->lru_tail[c] = TG_FLOW_NONE;
		t->timeout_cycles[c] = (uint64_t)timeout_s[c] * rte_get_tsc_hz();
	}
	return 0;
}

void
tg_flow_table_free(struct tg_flow_table *t)
{
	if (t->flows)
		munmap(t->flows, sizeof(struct tg_flow) * (size_t)t->max_flows);
	rte_hash_free(t->hash);
	memset(t, 0, sizeof(*t));
}

uint32_t
tg_flow_lookup(struct tg_flow_table *t, const struct tg_flow_key *k)
{
	int32_t pos = rte_hash_lookup(t->hash, k);

	return pos < 0 ? TG_FLOW_NONE : (uint32_t)pos;
}

static void
lru_unlink(struct tg_flow_table *t, uint32_t idx)
{
	struct tg_flow *f = &t->flows[idx];

	if (f->lru_prev != TG_FLOW_NONE)
		t->flows[f->lru_prev].lru_next = f->lru_next;
	else
		t->lru_head[f->cls] = f->lru_next;
	if (f->lru_next != TG_FLOW_NONE)
		t->flows[f->lru_next].lru_prev = f->lru_prev;
	else
		t->lru_tail[f->cls] = f->lru_prev;
	t->nb_class[f->cls]--;
}

static void
lru_append(struct tg_flow_table *t, uint32_t idx, uint8_t cls)
{
	struct tg_flow *f = &t->flows[idx];

	f->cls = cls;
	f->lru_next = TG_FLOW_NONE;
	f->lru_prev = t->lru_tail[cls];
	if (f->lru_prev != TG_FLOW_NONE)
		t->flows[f->lru_prev].lru_next = idx;
	else
		t->lru_head[cls] = idx;
	t->lru_tail[cls] = idx;
	t->nb_class[cls]++;
}

void
tg_flow_touch(struct tg_flow_table *t, uint32_t idx, enum tg_flow_class cls, uint64_t now)
{
	struct tg_flow *f = &t->flows[idx];

	f->last_tsc = now;
	if (f->cls == cls && t->lru_tail[cls] == idx)
		return;
	lru_unlink(t, idx);
	lru_append(t, idx, (uint8_t)cls);
}

void
tg_flow_delete(struct tg_flow_table *t, uint32_t idx, tg_flow_release_fn release, void *arg)
{
	struct tg_flow *f = &t->flows[idx];
	struct tg_flow_key k;
	const void *kp;

	if (!f->in_use)
		return;
	if (release)
		release(arg, f);
	lru_unlink(t, idx);
	if (rte_hash_get_key_with_position(t->hash, (int32_t)idx, (void **)&kp) == 0) {
		memcpy(&k, kp, sizeof(k));
		rte_hash_del_key(t->hash, &k);
	}
	f->in_use = 0;
	t->nb_flows--;
}

uint32_t
tg_flow_create(struct tg_flow_table *t, const struct tg_flow_key *k, uint64_t now,
	       tg_flow_release_fn release, void *arg)
{
	struct tg_flow *f;
	int32_t pos;

	if (t->nb_flows >= t->max_flows) {
		if (t->lru_head[TG_FLOW_EMBRYONIC] != TG_FLOW_NONE) {
			tg_flow_delete(t, t->lru_head[TG_FLOW_EMBRYONIC], release, arg);
			t->cnt[TG_FLOW_CNT_EVICTED_EMBRYONIC]++;
		} else if (t->lru_head[TG_FLOW_CLOSED] != TG_FLOW_NONE) {
			tg_flow_delete(t, t->lru_head[TG_FLOW_CLOSED], release, arg);
			t->cnt[TG_FLOW_CNT_EXPIRED_CLOSED]++;
		} else {
			t->cnt[TG_FLOW_CNT_TABLE_FULL]++;
			return TG_FLOW_NONE;
		}
	}
	pos = rte_hash_add_key(t->hash, k);
	if (pos < 0 || (uint32_t)pos >= t->max_flows) {
		if (pos >= 0)
			rte_hash_del_key(t->hash, k);
		t->cnt[TG_FLOW_CNT_TABLE_FULL]++;
		return TG_FLOW_NONE;
	}
	f = &t->flows[pos];
	/* the key was there already: the caller broke the precondition */
	if (f->in_use)
		return TG_FLOW_NONE;
	memset(f, 0, sizeof(*f));
	f->in_use = 1;
	f->last_tsc = now;
	lru_append(t, (uint32_t)pos, TG_FLOW_EMBRYONIC);
	t->nb_flows++;
	t->cnt[TG_FLOW_CNT_CREATED]++;
	return (uint32_t)pos;
}

unsigned int
tg_flow_expire(struct tg_flow_table *t, uint64_t now, unsigned int budget,
	       tg_flow_release_fn release, void *arg)
{
	static const enum tg_flow_counter why[TG_FLOW_NB_CLASSES] = {
		TG_FLOW_CNT_EXPIRED_EMBRYONIC, TG_FLOW_CNT_EXPIRED_ESTABLISHED,
		TG_FLOW_CNT_EXPIRED_CLOSING, TG_FLOW_CNT_EXPIRED_CLOSED,
	};
	unsigned int n = 0;
	int c;

	for (c = 0; c < TG_FLOW_NB_CLASSES; c++) {
		while (n < budget && t->lru_head[c] != TG_FLOW_NONE) {
			uint32_t idx = t->lru_head[c];

			if (now - t->flows[idx].last_tsc < t->timeout_cycles[c])
				break;
			tg_flow_delete(t, idx, release, arg);
			t->cnt[why[c]]++;
			n++;
		}
	}
	return n;
}

uint64_t
tg_flow_table_bytes_per_flow(const struct tg_flow_table *t)
{
	/*
	 * rte_hash: one key slot (key + data pointer) per entry, and buckets of
	 * 8 entries at 64 bytes plus as many extendable buckets, i.e. 16 bytes
	 * per entry; see rte_cuckoo_hash.c.
	 */
	(void)t;
	return sizeof(struct tg_flow) + sizeof(struct tg_flow_key) + sizeof(void *) + 16;
}
