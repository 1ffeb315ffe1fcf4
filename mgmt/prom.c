/* SPDX-License-Identifier: MIT */
/*
 * prom.c — the stats method's result as Prometheus text. See prom.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

#define PROM_DEPTH_MAX 8	/* components of a dotted path */
#define PROM_NAME_MAX 192
#define PROM_LABEL_MAX 128

/* A dotted path whose '*' component becomes a label; prefix: more may follow. */
struct rule {
	const char *pat[PROM_DEPTH_MAX];
	const char *label;
	const char *metric;	/* after "tollgate_"; the rest of the path follows */
	bool prefix;
};

static const struct rule rules[] = {
	{ { "dataplane", "port", "*" }, "port", "dataplane_port", true },
	{ { "dataplane", "worker", "*" }, "worker", "dataplane_worker", true },
	{ { "dataplane", "control", "disconnect", "*" }, "reason", "dataplane_control_disconnect",
	  false },
	{ { "dataplane", "control", "protocol", "*" }, "reason", "dataplane_control_protocol",
	  false },
	{ { "dataplane", "pg", "violations", "*" }, "reason", "dataplane_pg_violations", false },
	{ { "dataplane", "pg", "fe", "*" }, "message", "dataplane_pg_fe_messages", false },
	{ { "dataplane", "pg", "be", "*" }, "message", "dataplane_pg_be_messages", false },
	{ { "slowpath", "disconnects", "*" }, "reason", "slowpath_disconnects_by_reason", false },
	{ { "mgmt", "errors", "*" }, "reason", "mgmt_errors_by_reason", false },
	{ { "siem", "*" }, "sink", "siem", true },
};

/* What is a level, not a count: no _total. Dotted, '*' for any component. */
static const char *const TG_PROM_GAUGES[] = {
	"dataplane.connected",
	"dataplane.uptime_s",
	"dataplane.mbufs.pool",
	"dataplane.mbufs.free",
	"dataplane.worker.*.lcore",
	"dataplane.worker.*.flows_active",
	"dataplane.worker.*.segs_held",
	"dataplane.flows.active",
	"dataplane.flows.max",
	"dataplane.stream.held",
	"dataplane.stream.held_now",
	"dataplane.stream.rings_used",
	"dataplane.stream.rings",
	"dataplane.control.connected",
	"dataplane.control.events_pending",
	"slowpath.store_size",
	"slowpath.store_durable",
	"mgmt.clients",
	"mgmt.subscribers",
	"mgmt.pending",
	"siem.*.connected",
	"siem.*.delivered",
	"siem.*.next",
	"siem.*.durable",
	"siem.*.lag",
	"siem.*.in_flight",
	"siem.*.backoff_ms",
};

struct sample {
	char name[PROM_NAME_MAX];	/* with _total for a counter */
	char help[PROM_NAME_MAX];	/* the dotted source, the label as <label> */
	const char *label;		/* NULL: none */
	char value_label[PROM_LABEL_MAX];
	bool gauge;
	bool done;
	const json_t *v;
};

struct walk {
	struct sample *s;
	size_t n, cap;
	const char *comp[PROM_DEPTH_MAX];
};

/* Appends src to dst (size bytes) with every byte outside [a-zA-Z0-9_:] as '_'. */
static void
name_cat(char *dst, size_t size, const char *src)
{
	size_t len = strlen(dst);

	for (; *src != '\0' && len + 1 < size; src++) {
		char c = *src;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == ':';

		dst[len++] = ok ? c : '_';
	}
	dst[len] = '\0';
}

static bool
gauge(const char *const *comp, size_t n)
{
	size_t g, i;

	for (g = 0; g < sizeof(TG_PROM_GAUGES) / sizeof(TG_PROM_GAUGES[0]); g++) {
		const char *p = TG_PROM_GAUGES[g];

		for (i = 0; i < n; i++) {
			size_t len = strcspn(p, ".");

			if (!(len == 1 && p[0] == '*') &&
			    (strlen(comp[i]) != len || strncmp(comp[i], p, len) != 0))
				break;
			p += len;
			if (*p == '.')
				p++;
			else if (i + 1 < n)
				break;
		}
		if (i == n && *p == '\0')
			return true;
	}
	return false;
}

static const struct rule *
rule_find(const char *const *comp, size_t n, size_t *npat)
{
	size_t r, i;

	for (r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		for (i = 0; i < PROM_DEPTH_MAX && rules[r].pat[i] != NULL; i++)
			if (i >= n || (strcmp(rules[r].pat[i], "*") != 0 &&
				       strcmp(rules[r].pat[i], comp[i]) != 0))
				break;
		if (i < PROM_DEPTH_MAX && rules[r].pat[i] != NULL)
			continue;
		if (rules[r].prefix ? n > i : n == i) {
			*npat = i;
			return &rules[r];
		}
	}
	return NULL;
}

/* The sample of the leaf v at w->comp[0..n). */
static int
leaf(struct walk *w, size_t n, const json_t *v)
{
	const struct rule *r;
	struct sample *s;
	size_t i, npat = 0;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;

		if ((s = realloc(w->s, cap * sizeof(*s))) == NULL)
			return -ENOMEM;
		w->s = s;
		w->cap = cap;
	}
	s = &w->s[w->n++];
	memset(s, 0, sizeof(*s));
	s->v = v;
	s->gauge = gauge(w->comp, n);
	snprintf(s->name, sizeof(s->name), "tollgate");
	snprintf(s->help, sizeof(s->help), "tollgate");
	if ((r = rule_find(w->comp, n, &npat)) != NULL) {
		name_cat(s->name, sizeof(s->name), "_");
		name_cat(s->name, sizeof(s->name), r->metric);
		s->label = r->label;
	}
	for (i = 0; i < n; i++) {
		bool star = r != NULL && i < npat && strcmp(r->pat[i], "*") == 0;
		size_t hl = strlen(s->help);

		snprintf(s->help + hl, sizeof(s->help) - hl, "%s%s%s%s", i ? "." : " ",
			 star ? "<" : "", star ? r->label : w->comp[i], star ? ">" : "");
		if (star)
			snprintf(s->value_label, sizeof(s->value_label), "%s", w->comp[i]);
		if (r != NULL && i < npat)
			continue;
		if (r == NULL && i == 1 && strcmp(w->comp[i], "counters") == 0)
			continue;
		name_cat(s->name, sizeof(s->name), "_");
		name_cat(s->name, sizeof(s->name), w->comp[i]);
	}
	if (!s->gauge) {
		size_t len = strlen(s->name);

		if (len < 6 || strcmp(s->name + len - 6, "_total") != 0)
			name_cat(s->name, sizeof(s->name), "_total");
	}
	return 0;
}

static int
walk(struct walk *w, size_t depth, const json_t *v)
{
	const char *k;
	json_t *e;
	int rc;

	if (json_is_object(v)) {
		if (depth == PROM_DEPTH_MAX)
			return 0;
		json_object_foreach((json_t *)v, k, e) {
			w->comp[depth] = k;
			if ((rc = walk(w, depth + 1, e)) < 0)
				return rc;
		}
		return 0;
	}
	if (depth == 0 || !(json_is_number(v) || json_is_boolean(v)))
		return 0;
	return leaf(w, depth, v);
}

/*
 * Escaped as exposition format 0.0.4 says: backslash and newline in HELP
 * text, and the double quote too in a label value.
 */
static void
put_escaped(FILE *out, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || (quote && *s == '"'))
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void
put_sample(FILE *out, const struct sample *s)
{
	fputs(s->name, out);
	if (s->label != NULL) {
		fprintf(out, "{%s=\"", s->label);
		put_escaped(out, s->value_label, true);
		fputs("\"}", out);
	}
	if (json_is_integer(s->v))
		fprintf(out, " %" JSON_INTEGER_FORMAT "\n", json_integer_value(s->v));
	else if (json_is_real(s->v))
		fprintf(out, " %.17g\n", json_real_value(s->v));
	else
		fprintf(out, " %d\n", json_is_true(s->v) ? 1 : 0);
}

int
tg_prom_write(FILE *out, const json_t *stats)
{
	struct walk w = { 0 };
	size_t i, j;
	int rc;

	if (!json_is_object(stats))
		return -EINVAL;
	if ((rc = walk(&w, 0, stats)) < 0)
		goto out;
	for (i = 0; i < w.n; i++) {
		if (w.s[i].done)
			continue;
		fprintf(out, "# HELP %s ", w.s[i].name);
		put_escaped(out, w.s[i].help, false);
		fprintf(out, "\n# TYPE %s %s\n", w.s[i].name, w.s[i].gauge ? "gauge" : "counter");
		for (j = i; j < w.n; j++) {
			if (w.s[j].done || strcmp(w.s[j].name, w.s[i].name) != 0)
				continue;
			put_sample(out, &w.s[j]);
			w.s[j].done = true;
		}
	}
	rc = ferror(out) ? -EIO : 0;
out:
	free(w.s);
	return rc;
}
