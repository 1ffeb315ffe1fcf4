/* SPDX-License-Identifier: MIT */
/*
 * config.c — dataplane options from a JSON file and the command line.
 * See config.h.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"

enum {
	OPT_PAIR = 256,
	OPT_CONFIG,
	OPT_STATS_INTERVAL,
	OPT_IDLE_SLEEP_MAX,
	OPT_POLICY,
	OPT_EVENTS,
	OPT_SLOWPATH_SOCKET,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "pair", required_argument, NULL, OPT_PAIR },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "idle-sleep-max", required_argument, NULL, OPT_IDLE_SLEEP_MAX },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "slowpath-socket", required_argument, NULL, OPT_SLOWPATH_SOCKET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void
tg_config_defaults(struct tg_dp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->flow = (struct tg_flow_params){
		.max_flows = 1000000,
		.timeout_syn = 30,
		.timeout_established = 3600,
		.timeout_closing = 120,
		.timeout_closed = 10,
		.ring_size = 64 * 1024,
		.nb_rings = 2048,
		.held_segments = 16384,
	};
	cfg->inspect_sessions = 256;
	cfg->record_kb = 1024;
	cfg->slowpath_required = true;
	cfg->event_buffer = TG_EVENT_BUFFER_DEFAULT;
	tg_pg_limits_default(&cfg->pg_limits);
}

void
tg_config_usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [EAL options] -- [options]\n"
		"\n"
		"Bridges pairs of DPDK ports transparently, in both directions.\n"
		"\n"
		"Options:\n"
		"  --pair OUT:IN           bridge port OUT (clients) with port IN (protected\n"
		"                          subnet); ports by id or device name; repeatable;\n"
		"                          write OUT,IN when a name contains ':'.\n"
		"                          Default: ports 0:1, 2:3, ...\n"
		"  --config FILE           JSON config file (see dataplane/config.h)\n"
		"  --stats-interval S      print counters every S seconds (0: only at exit)\n"
		"  --idle-sleep-max US     adaptive idle back-off: sleep up to US microseconds\n"
		"                          when no packets arrive (0: busy polling, default;\n"
		"                          at most %u)\n"
		"  --policy FILE           policy of the postgres services (dataplane/policy.h)\n"
		"  --events FILE           append one JSON line per statement to FILE\n"
		"  --slowpath-socket PATH  send audit events to tollgate-slowpath over its\n"
		"                          control socket PATH; new postgres sessions are\n"
		"                          refused while it is not connected (fail closed)\n"
		"  --help                  this text\n",
		prog, TG_IDLE_SLEEP_MAX_US);
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
copy_name(char *dst, const char *src, size_t len)
{
	if (len == 0 || len >= TG_PORT_NAME_MAX)
		return -EINVAL;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* "OUT:IN", or "OUT,IN" for device names that contain ':' (PCI addresses). */
static int
parse_pair(struct tg_dp_config *cfg, const char *s, FILE *err)
{
	const char *sep = strchr(s, ',');
	struct tg_pair_spec *p;

	if (sep == NULL) {
		sep = strchr(s, ':');
		if (sep != NULL && strchr(sep + 1, ':') != NULL)
			sep = NULL;
	}
	if (cfg->nb_pairs == TG_MAX_PAIRS) {
		fprintf(err, "--pair %s: at most %d pairs\n", s, TG_MAX_PAIRS);
		return -EINVAL;
	}
	p = &cfg->pairs[cfg->nb_pairs];
	if (sep == NULL || copy_name(p->out, s, (size_t)(sep - s)) < 0 ||
	    copy_name(p->in, sep + 1, strlen(sep + 1)) < 0) {
		fprintf(err, "--pair %s: expected OUT:IN (or OUT,IN), two port ids or names\n", s);
		return -EINVAL;
	}
	cfg->nb_pairs++;
	return 0;
}

static int
set_stats_interval(struct tg_dp_config *cfg, const char *s, const char *where, FILE *err)
{
	unsigned long v;

	if (parse_uint(s, 86400, &v) < 0) {
		fprintf(err, "%s: stats interval '%s' is not a number of seconds in 0..86400\n",
			where, s);
		return -EINVAL;
	}
	cfg->stats_interval = (unsigned int)v;
	return 0;
}

static int
set_idle_sleep(struct tg_dp_config *cfg, const char *s, const char *where, FILE *err)
{
	unsigned long v;

	if (parse_uint(s, TG_IDLE_SLEEP_MAX_US, &v) < 0) {
		fprintf(err, "%s: idle sleep '%s' is not a number of microseconds in 0..%u\n",
			where, s, TG_IDLE_SLEEP_MAX_US);
		return -EINVAL;
	}
	cfg->idle_sleep_max_us = (uint32_t)v;
	return 0;
}

static int
json_uint(json_t *v, const char *path, const char *key, unsigned long max, unsigned long *out,
	  FILE *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (unsigned long long)json_integer_value(v) > max) {
		fprintf(err, "%s: \"%s\" must be an integer in 0..%lu\n", path, key, max);
		return -EINVAL;
	}
	*out = (unsigned long)json_integer_value(v);
	return 0;
}

static int
json_pairs(struct tg_dp_config *cfg, json_t *arr, const char *path, FILE *err)
{
	size_t i;
	json_t *pair;

	if (!json_is_array(arr) || json_array_size(arr) > TG_MAX_PAIRS) {
		fprintf(err, "%s: \"pairs\" must be an array of at most %d [OUT, IN] pairs\n", path,
			TG_MAX_PAIRS);
		return -EINVAL;
	}
	cfg->nb_pairs = 0;
	json_array_foreach(arr, i, pair) {
		json_t *o = json_array_get(pair, 0), *n = json_array_get(pair, 1);
		struct tg_pair_spec *p = &cfg->pairs[i];

		if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_string(o) ||
		    !json_is_string(n) ||
		    copy_name(p->out, json_string_value(o), strlen(json_string_value(o))) < 0 ||
		    copy_name(p->in, json_string_value(n), strlen(json_string_value(n))) < 0) {
			fprintf(err,
				"%s: pairs[%zu]: expected [\"OUT\", \"IN\"], two port names or ids "
				"of 1..%d characters\n",
				path, i, TG_PORT_NAME_MAX - 1);
			return -EINVAL;
		}
		cfg->nb_pairs++;
	}
	return 0;
}

static int
json_enum(json_t *v, const char *path, const char *what, const char *const *names,
	  unsigned int n, uint8_t *out, FILE *err)
{
	unsigned int i;

	if (json_is_string(v))
		for (i = 0; i < n; i++)
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*out = (uint8_t)i;
				return 0;
			}
	fprintf(err, "%s: %s must be one of", path, what);
	for (i = 0; i < n; i++)
		fprintf(err, "%s \"%s\"", i ? "," : "", names[i]);
	fprintf(err, "\n");
	return -EINVAL;
}

static const char *const proto_names[] = { "tcp", "postgres" };
static const char *const subnet_names[] = { "deny", "allow" };
static const char *const exc_names[] = { "drop-flow", "drop-packet" };
static const char *const durability_names[] = { "fast", "strict" };
static const char *const spdown_names[] = { "default", "refuse", "allow" };
static const char *const identity_names[] = { "database", "oidc" };

static int
json_service(struct tg_service *s, json_t *o, const char *path, size_t idx, FILE *err)
{
	char where[320];
	const char *key;
	json_t *v;
	unsigned long n = 0;
	int rc = 0;

	snprintf(where, sizeof(where), "%s: services[%zu]", path, idx);
	if (!json_is_object(o)) {
		fprintf(err, "%s: must be an object\n", where);
		return -EINVAL;
	}
	memset(s, 0, sizeof(*s));
	s->subnet_policy = TG_SUBNET_DENY;
	s->exception_policy = TG_EXC_DROP_FLOW;
	if (!json_is_string(json_object_get(o, "name")) || !json_is_string(json_object_get(o, "server")) ||
	    !json_object_get(o, "port")) {
		fprintf(err, "%s: \"name\", \"server\" and \"port\" are required\n", where);
		return -EINVAL;
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "name") == 0) {
			const char *name = json_string_value(v);

			if (strlen(name) == 0 || strlen(name) >= sizeof(s->name)) {
				fprintf(err, "%s: \"name\" must have 1..%zu characters\n", where,
					sizeof(s->name) - 1);
				rc = -EINVAL;
			} else {
				memcpy(s->name, name, strlen(name) + 1);
			}
		} else if (strcmp(key, "server") == 0) {
			if (tg_service_parse_prefix(s, json_string_value(v)) < 0) {
				fprintf(err,
					"%s: \"server\" \"%s\" is not an IPv4 or IPv6 address or "
					"prefix without host bits\n",
					where, json_string_value(v));
				rc = -EINVAL;
			}
		} else if (strcmp(key, "port") == 0) {
			rc = json_uint(v, where, key, 65535, &n, err);
			if (rc == 0 && n == 0) {
				fprintf(err, "%s: \"port\" must be in 1..65535\n", where);
				rc = -EINVAL;
			}
			s->port = (uint16_t)n;
		} else if (strcmp(key, "protocol") == 0) {
			rc = json_enum(v, where, "\"protocol\"", proto_names, 2, &s->proto, err);
		} else if (strcmp(key, "subnet_policy") == 0) {
			rc = json_enum(v, where, "\"subnet_policy\"", subnet_names, 2,
				       &s->subnet_policy, err);
		} else if (strcmp(key, "exception_policy") == 0) {
			rc = json_enum(v, where, "\"exception_policy\"", exc_names, 2,
				       &s->exception_policy, err);
		} else if (strcmp(key, "durability") == 0) {
			rc = json_enum(v, where, "\"durability\"", durability_names, 2,
				       &s->durability, err);
		} else if (strcmp(key, "identity") == 0) {
			rc = json_enum(v, where, "\"identity\"", identity_names, 2, &s->identity,
				       err);
		} else if (strcmp(key, "on_slowpath_down") == 0) {
			rc = json_enum(v, where, "\"on_slowpath_down\"", spdown_names + 1, 2,
				       &s->slowpath_down, err);
			s->slowpath_down++;
		} else {
			fprintf(err, "%s: unknown key \"%s\"\n", where, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	if (s->identity == TG_IDENTITY_OIDC && s->proto != TG_SERVICE_POSTGRES) {
		fprintf(err, "%s: \"identity\": \"oidc\" needs \"protocol\": \"postgres\"\n",
			where);
		return -EINVAL;
	}
	return 0;
}

static int
json_services(struct tg_services *t, json_t *arr, const char *path, FILE *err)
{
	size_t i, j;
	json_t *o;
	int rc;

	if (!json_is_array(arr) || json_array_size(arr) > TG_MAX_SERVICES) {
		fprintf(err, "%s: \"services\" must be an array of at most %d services\n", path,
			TG_MAX_SERVICES);
		return -EINVAL;
	}
	t->nb = 0;
	json_array_foreach(arr, i, o) {
		if ((rc = json_service(&t->svc[i], o, path, i, err)) < 0)
			return rc;
		for (j = 0; j < i; j++) {
			const struct tg_service *a = &t->svc[j], *b = &t->svc[i];

			if (strcmp(a->name, b->name) == 0) {
				fprintf(err, "%s: services[%zu]: name \"%s\" is already used\n",
					path, i, b->name);
				return -EINVAL;
			}
			if (a->family == b->family && a->prefix_len == b->prefix_len &&
			    a->port == b->port && memcmp(a->addr, b->addr, 16) == 0) {
				fprintf(err, "%s: services[%zu]: same server and port as \"%s\"\n",
					path, i, a->name);
				return -EINVAL;
			}
		}
		t->nb++;
	}
	return 0;
}

struct uint_key {
	const char *key;
	uint32_t *dst;
	unsigned long min, max, scale;
};

static int
json_uint_keys(json_t *o, const char *path, const char *section, const struct uint_key *keys,
	       FILE *err)
{
	char where[320];
	const struct uint_key *k;
	const char *key;
	unsigned long n;
	json_t *v;

	snprintf(where, sizeof(where), "%s: %s", path, section);
	if (!json_is_object(o)) {
		fprintf(err, "%s: must be an object\n", where);
		return -EINVAL;
	}
	json_object_foreach(o, key, v) {
		for (k = keys; k->key && strcmp(k->key, key) != 0; k++)
			;
		if (k->key == NULL) {
			fprintf(err, "%s: unknown key \"%s\"\n", where, key);
			return -EINVAL;
		}
		if (json_uint(v, where, key, k->max, &n, err) < 0)
			return -EINVAL;
		if (n < k->min) {
			fprintf(err, "%s: \"%s\" must be at least %lu\n", where, key, k->min);
			return -EINVAL;
		}
		*k->dst = (uint32_t)(n * k->scale);
	}
	return 0;
}

static int
json_flows(struct tg_flow_params *f, json_t *o, const char *path, FILE *err)
{
	const struct uint_key keys[] = {
		{ "max", &f->max_flows, 16, 1u << 26, 1 },
		{ "timeout_syn", &f->timeout_syn, 1, 3600, 1 },
		{ "timeout_established", &f->timeout_established, 1, 7 * 86400, 1 },
		{ "timeout_closing", &f->timeout_closing, 1, 86400, 1 },
		{ "timeout_closed", &f->timeout_closed, 1, 3600, 1 },
		{ NULL, NULL, 0, 0, 0 },
	};

	return json_uint_keys(o, path, "flows", keys, err);
}

static int
json_stream(struct tg_flow_params *f, json_t *o, const char *path, FILE *err)
{
	uint32_t memcap_mb = (uint32_t)((uint64_t)f->nb_rings * f->ring_size >> 20);
	const struct uint_key keys[] = {
		{ "ring_kb", &f->ring_size, 4, 1024, 1024 },
		{ "memcap_mb", &memcap_mb, 1, 65536, 1 },
		{ "held_segments", &f->held_segments, 64, 1u << 22, 1 },
		{ NULL, NULL, 0, 0, 0 },
	};
	int rc = json_uint_keys(o, path, "stream", keys, err);

	if (rc < 0)
		return rc;
	if (f->ring_size & (f->ring_size - 1)) {
		fprintf(err, "%s: stream: \"ring_kb\" must be a power of two\n", path);
		return -EINVAL;
	}
	f->nb_rings = (uint32_t)(((uint64_t)memcap_mb << 20) / f->ring_size);
	if (f->nb_rings == 0) {
		fprintf(err, "%s: stream: \"memcap_mb\" is smaller than one ring\n", path);
		return -EINVAL;
	}
	return 0;
}

static int
json_inspect(struct tg_dp_config *cfg, json_t *o, const char *path, FILE *err)
{
	struct tg_pg_limits *l = &cfg->pg_limits;
	const struct uint_key keys[] = {
		{ "sessions", &cfg->inspect_sessions, 1, 1u << 20, 1 },
		{ "statement_kb", &l->stmt_max, 1, 1u << 20, 1024 },
		{ "result_message_kb", &l->be_long_max, 1, 1u << 20, 1024 },
		{ "text_kb", &l->text_max, 1, 1u << 20, 1024 },
		{ "params_max", &l->params_max, 1, 65535, 1 },
		{ "param_show_max", &l->param_show_max, 1, 1u << 20, 1 },
		{ "statements_max", &l->stmts_max, 1, 1u << 16, 1 },
		{ "portals_max", &l->portals_max, 1, 1u << 16, 1 },
		{ "pending_max", &l->pending_max, 1, 1u << 20, 1 },
		{ "pool_kb", &l->pool_size, 4, 1u << 20, 1024 },
		{ "record_kb", &cfg->record_kb, 0, 1u << 20, 1 },
		{ NULL, NULL, 0, 0, 0 },
	};
	int rc = json_uint_keys(o, path, "inspect", keys, err);

	if (rc == 0 && tg_pg_arena_size(l) == 0) {
		fprintf(err, "%s: inspect: the parser's limits are not consistent\n", path);
		return -EINVAL;
	}
	return rc;
}

/*
 * A path option: copied into dst; a relative path in the file is taken
 * relative to the file's directory, so a config and its policy travel
 * together.
 */
static int
set_path(char *dst, size_t size, const char *val, const char *base, const char *what, FILE *err)
{
	const char *slash = base != NULL && val[0] != '/' ? strrchr(base, '/') : NULL;
	int n;

	if (val[0] == '\0') {
		fprintf(err, "%s: must not be empty\n", what);
		return -EINVAL;
	}
	if (slash != NULL)
		n = snprintf(dst, size, "%.*s/%s", (int)(slash - base), base, val);
	else
		n = snprintf(dst, size, "%s", val);
	if (n < 0 || (size_t)n >= size) {
		fprintf(err, "%s: path too long\n", what);
		return -EINVAL;
	}
	return 0;
}

static int
json_path(char *dst, size_t size, json_t *v, const char *path, const char *key, FILE *err)
{
	char what[320];

	snprintf(what, sizeof(what), "%s: \"%s\"", path, key);
	if (!json_is_string(v)) {
		fprintf(err, "%s: must be a string\n", what);
		return -EINVAL;
	}
	return set_path(dst, size, json_string_value(v), path, what, err);
}

/* A socket path: as set_path(), and short enough for sun_path. */
static int
set_socket_path(struct tg_dp_config *cfg, const char *val, const char *base, const char *what,
		FILE *err)
{
	char tmp[sizeof(cfg->config_path) + TG_SLOWPATH_SOCKET_MAX];
	int rc = set_path(tmp, sizeof(tmp), val, base, what, err);

	if (rc < 0)
		return rc;
	if (strlen(tmp) >= sizeof(cfg->slowpath_socket)) {
		fprintf(err, "%s: socket path longer than %zu bytes\n", what,
			sizeof(cfg->slowpath_socket) - 1);
		return -EINVAL;
	}
	memcpy(cfg->slowpath_socket, tmp, strlen(tmp) + 1);
	return 0;
}

static int
json_slowpath(struct tg_dp_config *cfg, json_t *o, const char *path, FILE *err)
{
	char where[320];
	const char *key;
	unsigned long n = 0;
	json_t *v;
	int rc = 0;

	snprintf(where, sizeof(where), "%s: slowpath", path);
	if (!json_is_object(o)) {
		fprintf(err, "%s: must be an object\n", where);
		return -EINVAL;
	}
	if (!json_is_string(json_object_get(o, "socket"))) {
		fprintf(err, "%s: \"socket\" (a string) is required\n", where);
		return -EINVAL;
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "socket") == 0) {
			char what[340];

			snprintf(what, sizeof(what), "%s: \"socket\"", where);
			rc = set_socket_path(cfg, json_string_value(v), path, what, err);
		} else if (strcmp(key, "required") == 0) {
			if (!json_is_boolean(v)) {
				fprintf(err, "%s: \"required\" must be true or false\n", where);
				rc = -EINVAL;
			}
			cfg->slowpath_required = json_is_true(v);
		} else if (strcmp(key, "event_buffer") == 0) {
			rc = json_uint(v, where, key, TG_EVENT_BUFFER_MAX, &n, err);
			if (rc == 0 && n < TG_EVENT_BUFFER_MIN) {
				fprintf(err, "%s: \"event_buffer\" must be at least %u\n", where,
					TG_EVENT_BUFFER_MIN);
				rc = -EINVAL;
			}
			cfg->event_buffer = (uint32_t)n;
		} else {
			fprintf(err, "%s: unknown key \"%s\"\n", where, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
tg_config_load_file(struct tg_dp_config *cfg, const char *path, FILE *err)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	unsigned long n = 0;
	int rc = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (jerr.line < 0)
			fprintf(err, "%s: %s\n", path, jerr.text);
		else
			fprintf(err, "%s:%d:%d: %s\n", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		fprintf(err, "%s: the top level must be an object\n", path);
		rc = -EINVAL;
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "pairs") == 0) {
			rc = json_pairs(cfg, v, path, err);
		} else if (strcmp(key, "stats_interval") == 0) {
			rc = json_uint(v, path, key, 86400, &n, err);
			cfg->stats_interval = (unsigned int)n;
		} else if (strcmp(key, "idle_sleep_max_us") == 0) {
			rc = json_uint(v, path, key, TG_IDLE_SLEEP_MAX_US, &n, err);
			cfg->idle_sleep_max_us = (uint32_t)n;
		} else if (strcmp(key, "services") == 0) {
			rc = json_services(&cfg->services, v, path, err);
		} else if (strcmp(key, "flows") == 0) {
			rc = json_flows(&cfg->flow, v, path, err);
		} else if (strcmp(key, "stream") == 0) {
			rc = json_stream(&cfg->flow, v, path, err);
		} else if (strcmp(key, "inspect") == 0) {
			rc = json_inspect(cfg, v, path, err);
		} else if (strcmp(key, "policy") == 0) {
			rc = json_path(cfg->policy_path, sizeof(cfg->policy_path), v, path, key, err);
		} else if (strcmp(key, "events") == 0) {
			rc = json_path(cfg->events_path, sizeof(cfg->events_path), v, path, key, err);
		} else if (strcmp(key, "slowpath") == 0) {
			rc = json_slowpath(cfg, v, path, err);
		} else {
			fprintf(err, "%s: unknown key \"%s\"\n", path, key);
			rc = -EINVAL;
		}
		if (rc < 0)
			break;
	}
out:
	json_decref(root);
	return rc;
}

/*
 * --config is applied before every other option, wherever it appears: a
 * first getopt pass (which also takes its abbreviations, --conf) finds it.
 * optind = 0 makes glibc start afresh, inside option clusters too.
 */
static const char *
find_config_arg(int argc, char **argv)
{
	const char *path = NULL;
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1)
		if (opt == OPT_CONFIG)
			path = optarg;
	return path;
}

int
tg_config_parse_args(struct tg_dp_config *cfg, int argc, char **argv, FILE *err)
{
	const char *path = find_config_arg(argc, argv);
	int opt, rc, cli_pairs = 0;

	if (path != NULL) {
		if (strlen(path) >= sizeof(cfg->config_path)) {
			fprintf(err, "--config: path too long\n");
			return -EINVAL;
		}
		if ((rc = tg_config_load_file(cfg, path, err)) < 0)
			return rc;
		memcpy(cfg->config_path, path, strlen(path) + 1);
	}

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PAIR:
			if (!cli_pairs++)
				cfg->nb_pairs = 0;
			if ((rc = parse_pair(cfg, optarg, err)) < 0)
				return rc;
			break;
		case OPT_CONFIG:
			break;
		case OPT_STATS_INTERVAL:
			if ((rc = set_stats_interval(cfg, optarg, "--stats-interval", err)) < 0)
				return rc;
			break;
		case OPT_IDLE_SLEEP_MAX:
			if ((rc = set_idle_sleep(cfg, optarg, "--idle-sleep-max", err)) < 0)
				return rc;
			break;
		case OPT_POLICY:
			if ((rc = set_path(cfg->policy_path, sizeof(cfg->policy_path), optarg, NULL,
					   "--policy", err)) < 0)
				return rc;
			break;
		case OPT_EVENTS:
			if ((rc = set_path(cfg->events_path, sizeof(cfg->events_path), optarg, NULL,
					   "--events", err)) < 0)
				return rc;
			break;
		case OPT_SLOWPATH_SOCKET:
			if ((rc = set_socket_path(cfg, optarg, NULL, "--slowpath-socket", err)) < 0)
				return rc;
			break;
		case OPT_HELP:
			tg_config_usage(stdout, argv[0]);
			return 1;
		case ':':
			fprintf(err, "%s: option needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			/*
			 * optopt is the character of an unknown short option, or
			 * a long option's value (>= 256) when it was misused.
			 */
			if (optopt > 0 && optopt < 256)
				fprintf(err, "unknown option '-%c' (see --help)\n", optopt);
			else
				fprintf(err, "unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(err, "unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
