/* SPDX-License-Identifier: MIT */
/*
 * telemetry.c — the dataplane's counters through DPDK telemetry. See
 * telemetry.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "log.h"
#include "stats.h"
#include "telemetry.h"

RTE_LOG_REGISTER(tg_logtype_telemetry, tg.dataplane.telemetry, INFO);

/*
 * DPDK 22.11's reply buffer (lib/telemetry: MAX_OUTPUT_LEN, the socket's
 * "max_output_len"); not exported, so stated here. The JSON of a reply is
 * estimated from above and kept under it, less TEL_RESERVE for the command
 * name that prefixes it and the "omitted" entries that end it.
 */
#define TEL_OUTPUT_MAX 16384u
#define TEL_RESERVE 1024u
#define TEL_OMITTED_NAMES_MAX 768u	/* bytes of "omitted_groups" */

struct topic {
	const char *cmd;
	const char *help;	/* < RTE_TEL_MAX_STRING_LEN, or the command is refused */
	const char *prefix[6];	/* pairs whose name starts with one; none: all */
	size_t strip;		/* leading bytes of the group's name not shown */
};

static const struct topic topics[] = {
	{ "/tollgate/stats", "tollgate-dataplane: every counter (tgctl stats). "
	  "Parameters: a dotted prefix, e.g. pg or port.0", { NULL }, 0 },
	{ "/tollgate/ports", "tollgate-dataplane: counters per port. No parameters",
	  { "port." }, sizeof("port.") - 1 },
	{ "/tollgate/workers", "tollgate-dataplane: counters per worker. No parameters", { "worker." }, sizeof("worker.") - 1 },
	{ "/tollgate/gateway", "tollgate-dataplane: mbufs, parse, gw, flows, tcp, "
	  "stream counters. No parameters",
	  { "mbufs.", "parse.", "gw.", "flows.", "tcp.", "stream." }, 0 },
	{ "/tollgate/inspect", "tollgate-dataplane: inspector and pg counters. "
	  "No parameters", { "inspect.", "pg." }, 0 },
	{ "/tollgate/control", "tollgate-dataplane: control channel counters. No parameters", { "control." }, 0 },
};

/* A reply's object: the pairs sharing a name less its last component. */
struct group {
	const char *name;	/* into the snapshot; NULL: top-level values */
	size_t len;
	size_t cost;		/* JSON bytes, from above */
	unsigned int n;
	bool in;		/* fits: part of the reply */
	struct rte_tel_data *d;
};

static struct {
	pthread_mutex_t lock;	/* one thread per telemetry client: one snapshot */
	bool live;
	struct tg_telemetry_params p;
	struct tg_control_stats *snap;
} tel = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const struct topic *
topic_find(const char *cmd)
{
	size_t i;

	for (i = 0; i < RTE_DIM(topics); i++)
		if (strcmp(topics[i].cmd, cmd) == 0)
			return &topics[i];
	return NULL;
}

static bool
selected(const struct topic *t, const char *param, const char *name)
{
	size_t i, len;

	if (param != NULL && param[0] != '\0') {
		len = strlen(param);
		if (strncmp(name, param, len) != 0 || (name[len] != '\0' && name[len] != '.'))
			return false;
	}
	if (t->prefix[0] == NULL)
		return true;
	for (i = 0; i < RTE_DIM(t->prefix) && t->prefix[i] != NULL; i++)
		if (strncmp(name, t->prefix[i], strlen(t->prefix[i])) == 0)
			return true;
	return false;
}

/* "leaf":value, (digits counted as 20) */
static size_t
pair_cost(size_t leaf_len)
{
	return leaf_len + 24;
}

/* The group of name (its index in g[0..*ng)), added when new. */
static unsigned int
group_of(struct group *g, unsigned int *ng, const char *name, const struct topic *t)
{
	const char *dot = strrchr(name, '.');
	size_t len = dot != NULL ? (size_t)(dot - name) : 0;
	unsigned int i;

	for (i = 0; i < *ng; i++)
		if (g[i].len == len && (len == 0 || strncmp(g[i].name, name, len) == 0))
			return i;
	g[i].name = len ? name : NULL;
	g[i].len = len;
	/* "name":{}, with the prefix the topic strips left out */
	g[i].cost = len ? len - RTE_MIN(t->strip, len) + 6 : 0;
	g[i].n = 0;
	g[i].in = false;
	g[i].d = NULL;
	(*ng)++;
	return i;
}

/*
 * The group's name as a telemetry key: DPDK 22.11 takes names of
 * [A-Za-z0-9_/] only, so the dots become slashes ("port/0", "pg/fe").
 */
static void
group_key(char *key, size_t size, const struct group *g, size_t strip)
{
	size_t i;

	strip = RTE_MIN(strip, g->len);
	snprintf(key, size, "%.*s", (int)(g->len - strip), g->name + strip);
	for (i = 0; key[i] != '\0'; i++)
		if (key[i] == '.')
			key[i] = '/';
}

/*
 * Builds the reply from the snapshot: groups that fit (in entries and bytes)
 * in order, the rest counted in "omitted" and named in "omitted_groups".
 */
static int
reply(const struct topic *t, const char *param, struct rte_tel_data *d)
{
	struct tg_control_stats *s = tel.snap;
	unsigned int n = tg_control_stats_count(s), i, ng = 0, entries = 0, omitted = 0;
	size_t budget = TEL_OUTPUT_MAX - TEL_RESERVE, used = 2, names = 0;
	struct rte_tel_data *onames = NULL;
	struct group *g, *gr;
	const char *name;
	uint64_t v;
	char key[TG_PUNT_NAME_MAX + 1];

	rte_tel_data_start_dict(d);
	if (n == 0)
		return 0;
	if ((g = calloc(n, sizeof(*g))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		name = tg_control_stats_get(s, i, &v);
		if (!selected(t, param, name))
			continue;
		gr = &g[group_of(g, &ng, name, t)];
		gr->n++;
		gr->cost += pair_cost(strlen(name) - (gr->len ? gr->len + 1 : 0));
	}
	/* top-level values count one entry each; an object counts one */
	for (i = 0; i < ng; i++) {
		unsigned int need = g[i].name ? 1 : g[i].n;

		if (g[i].n > RTE_TEL_MAX_DICT_ENTRIES || entries + need > RTE_TEL_MAX_DICT_ENTRIES - 2 ||
		    used + g[i].cost > budget)
			continue;
		if (g[i].name != NULL && (g[i].d = rte_tel_data_alloc()) == NULL)
			continue;
		if (g[i].d != NULL)
			rte_tel_data_start_dict(g[i].d);
		g[i].in = true;
		entries += need;
		used += g[i].cost;
	}
	for (i = 0; i < n; i++) {
		name = tg_control_stats_get(s, i, &v);
		if (!selected(t, param, name))
			continue;
		gr = &g[group_of(g, &ng, name, t)];
		if (!gr->in || rte_tel_data_add_dict_u64(gr->d ? gr->d : d,
				name + (gr->len ? gr->len + 1 : 0), v) < 0)
			omitted++;
	}
	for (i = 0; i < ng; i++) {
		if (g[i].in && g[i].d != NULL) {
			group_key(key, sizeof(key), &g[i], t->strip);
			if (rte_tel_data_add_dict_container(d, key, g[i].d, 0) < 0) {
				rte_tel_data_free(g[i].d);
				g[i].in = false;
				omitted += g[i].n;
			}
		}
		if (g[i].in)
			continue;
		if (onames == NULL && (onames = rte_tel_data_alloc()) != NULL)
			rte_tel_data_start_array(onames, RTE_TEL_STRING_VAL);
		if (onames != NULL && g[i].name != NULL &&
		    names + g[i].len + 3 <= TEL_OMITTED_NAMES_MAX) {
			snprintf(key, sizeof(key), "%.*s", (int)g[i].len, g[i].name);
			if (rte_tel_data_add_array_string(onames, key) == 0)
				names += g[i].len + 3;
		}
	}
	if (omitted != 0) {
		rte_tel_data_add_dict_u64(d, "omitted", omitted);
		if (onames != NULL && rte_tel_data_add_dict_container(d, "omitted_groups",
								       onames, 0) == 0)
			onames = NULL;
	}
	rte_tel_data_free(onames);
	free(g);
	return 0;
}

static int
on_cmd(const char *cmd, const char *param, struct rte_tel_data *d)
{
	const struct topic *t = topic_find(cmd);
	int rc = 0;

	if (t == NULL)
		return -EINVAL;
	pthread_mutex_lock(&tel.lock);
	/* stopping: main may be freeing what the pairs read (telemetry.h) */
	if (!tel.live || tg_worker_stopping()) {
		rte_tel_data_start_dict(d);
		goto out;
	}
	if (tel.snap == NULL && (tel.snap = tg_control_stats_create()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	tg_control_stats_reset(tel.snap);
	tg_stats_pairs(tel.snap, tel.p.workers, tel.p.nb_workers, tel.p.pairs, tel.p.nb_pairs,
		       tel.p.cfg, tel.p.pool, tel.p.ctl);
	rc = reply(t, param, d);
out:
	pthread_mutex_unlock(&tel.lock);
	return rc;
}

int
tg_telemetry_init(const struct tg_telemetry_params *p)
{
	size_t i;
	int rc;

	pthread_mutex_lock(&tel.lock);
	tel.p = *p;
	tel.live = true;
	pthread_mutex_unlock(&tel.lock);
	for (i = 0; i < RTE_DIM(topics); i++) {
		rc = rte_telemetry_register_cmd(topics[i].cmd, on_cmd, topics[i].help);
		if (rc < 0) {
			TG_LOG(WARNING, tg_logtype_telemetry, "telemetry command %s not registered: %s",
			       topics[i].cmd, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void
tg_telemetry_fini(void)
{
	pthread_mutex_lock(&tel.lock);
	tel.live = false;
	tg_control_stats_destroy(tel.snap);
	tel.snap = NULL;
	pthread_mutex_unlock(&tel.lock);
}
