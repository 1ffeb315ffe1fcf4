/* SPDX-License-Identifier: MIT */
/*
 * siem_config.c — the "siem" member of the slowpath's config; see
 * siem_config.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "seterr.h"
#include "siem_config.h"

const char *const tg_siem_transport_names[TG_SIEM_T_MAX] = {
#define TG_SIEM_X(e, s, port) [TG_SIEM_T_##e] = s,
	TG_SIEM_TRANSPORTS(TG_SIEM_X)
#undef TG_SIEM_X
};

static const uint16_t default_port[TG_SIEM_T_MAX] = {
#define TG_SIEM_X(e, s, port) [TG_SIEM_T_##e] = port,
	TG_SIEM_TRANSPORTS(TG_SIEM_X)
#undef TG_SIEM_X
};

#define T_SYSLOG ((1u << TG_SIEM_T_TCP) | (1u << TG_SIEM_T_TLS) | (1u << TG_SIEM_T_UDP))
#define T_STREAM ((1u << TG_SIEM_T_TCP) | (1u << TG_SIEM_T_TLS))
#define T_TLS (1u << TG_SIEM_T_TLS)
#define T_FILE (1u << TG_SIEM_T_FILE)
#define T_ALL (T_SYSLOG | T_FILE)

/* Where an error is: "FILE: siem.sinks[I]" */
struct where {
	const char *base;
	unsigned int i;
	char *err;
	size_t errlen;
};

static int bad(const struct where *w, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
bad(const struct where *w, const char *key, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tg_sp_seterr(w->err, w->errlen, "%s: siem.sinks[%u]%s%s: %s", w->base, w->i,
		     key != NULL ? "." : "", key != NULL ? key : "", what);
	return -EINVAL;
}

/* A path relative to the config file's directory, like config.c's. */
static int
get_path(char *dst, size_t size, const json_t *v, const struct where *w, const char *key)
{
	const char *s = json_string_value(v), *slash;
	int n;

	if (s == NULL || s[0] == '\0')
		return bad(w, key, "must be a non-empty string (a path)");
	slash = s[0] != '/' ? strrchr(w->base, '/') : NULL;
	if (slash != NULL)
		n = snprintf(dst, size, "%.*s/%s", (int)(slash - w->base), w->base, s);
	else
		n = snprintf(dst, size, "%s", s);
	if (n < 0 || (size_t)n >= size)
		return bad(w, key, "path longer than %zu bytes", size - 1);
	return 0;
}

static int
get_u32(uint32_t *out, const json_t *v, uint32_t min, uint32_t max, const struct where *w,
	const char *key)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return bad(w, key, "must be an integer in %u..%u", min, max);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* A string of 1..size-1 PRINTUSASCII bytes (what a syslog header field takes). */
static int
get_token(char *dst, size_t size, const json_t *v, const struct where *w, const char *key)
{
	const char *s = json_string_value(v);
	size_t len = s != NULL ? strlen(s) : 0;

	if (len == 0 || len >= size)
		goto fail;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			goto fail;
	memcpy(dst, s, len + 1);
	return 0;
fail:
	return bad(w, key, "must be 1..%zu printable ASCII characters without space", size - 1);
}

static int
get_name(char *dst, size_t size, const json_t *v, const struct where *w)
{
	const char *s = json_string_value(v);
	size_t len = s != NULL ? strlen(s) : 0;

	if (len == 0 || len >= size)
		goto fail;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			goto fail;
	}
	memcpy(dst, s, len + 1);
	return 0;
fail:
	return bad(w, "name", "must be 1..%zu characters of A-Z a-z 0-9 _ . -", size - 1);
}

static int
get_host(char *dst, size_t size, const json_t *v, const struct where *w)
{
	const char *s = json_string_value(v);
	unsigned char addr[16];

	if (s == NULL || strlen(s) >= size ||
	    (inet_pton(AF_INET, s, addr) != 1 && inet_pton(AF_INET6, s, addr) != 1))
		return bad(w, "host",
			   "must be an IPv4 or IPv6 address (names are not resolved: a DNS "
			   "lookup would block the slowpath's event loop)");
	snprintf(dst, size, "%s", s);
	return 0;
}

static int
sink(struct tg_siem_sink_config *s, const json_t *o, const struct where *w)
{
	static const struct {
		const char *key;
		unsigned int types;
	} keys[] = {
		{ "name", T_ALL },	   { "type", T_ALL },	     { "format", T_ALL },
		{ "host", T_SYSLOG },	   { "port", T_SYSLOG },     { "ca", T_TLS },
		{ "cert", T_TLS },	   { "key", T_TLS },	     { "server_name", T_TLS },
		{ "facility", T_SYSLOG },  { "app_name", T_SYSLOG }, { "hostname", T_SYSLOG },
		{ "sd_id", T_SYSLOG },	   { "path", T_FILE },	     { "rotate_kb", T_FILE },
		{ "rotate_keep", T_FILE }, { "settle_ms", T_STREAM }, { "batch", T_ALL },
		{ "backoff_min_ms", T_ALL }, { "backoff_max_ms", T_ALL }, { "start", T_ALL },
	};
	const char *key, *ts;
	json_t *v;
	uint32_t u;
	int rc = 0, t;
	size_t k;

	if (!json_is_object(o))
		return bad(w, NULL, "a sink must be an object");
	memset(s, 0, sizeof(*s));
	ts = json_string_value(json_object_get(o, "type"));
	for (t = 0; t < TG_SIEM_T_MAX && (ts == NULL || strcmp(ts, tg_siem_transport_names[t])); t++)
		;
	if (t == TG_SIEM_T_MAX)
		return bad(w, "type", "is required: syslog-tcp, syslog-tls, syslog-udp or file");
	s->transport = (enum tg_siem_transport)t;
	s->format = TG_SIEM_FMT_OCSF;
	s->port = default_port[t];
	s->facility = TG_SYSLOG_FACILITY_DEFAULT;
	snprintf(s->app_name, sizeof(s->app_name), "tollgate");
	snprintf(s->sd_id, sizeof(s->sd_id), "%s", TG_SYSLOG_SDID_DEFAULT);
	s->rotate_bytes = (uint64_t)TG_SIEM_ROTATE_KB_DEFAULT * 1024;
	s->rotate_keep = TG_SIEM_ROTATE_KEEP_DEFAULT;
	s->settle_ms = TG_SIEM_SETTLE_DEFAULT;
	s->batch = TG_SIEM_BATCH_DEFAULT;
	s->backoff_min_ms = TG_SIEM_BACKOFF_MIN_DEFAULT;
	s->backoff_max_ms = TG_SIEM_BACKOFF_MAX_DEFAULT;

	json_object_foreach((json_t *)o, key, v) {
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && strcmp(key, keys[k].key); k++)
			;
		if (k == sizeof(keys) / sizeof(keys[0]))
			return bad(w, key, "unknown key");
		if (!(keys[k].types & (1u << t)))
			return bad(w, key, "not a key of a %s sink", tg_siem_transport_names[t]);
		if (strcmp(key, "name") == 0) {
			rc = get_name(s->name, sizeof(s->name), v, w);
		} else if (strcmp(key, "type") == 0) {
			rc = 0;
		} else if (strcmp(key, "format") == 0) {
			int f = tg_siem_format_by_name(json_string_value(v));

			if (f < 0)
				return bad(w, key, "must be ocsf, cef, ecs or jsonl");
			s->format = (enum tg_siem_format)f;
		} else if (strcmp(key, "host") == 0) {
			rc = get_host(s->host, sizeof(s->host), v, w);
		} else if (strcmp(key, "port") == 0) {
			if ((rc = get_u32(&u, v, 1, 65535, w, key)) == 0)
				s->port = (uint16_t)u;
		} else if (strcmp(key, "ca") == 0) {
			rc = get_path(s->ca, sizeof(s->ca), v, w, key);
		} else if (strcmp(key, "cert") == 0) {
			rc = get_path(s->cert, sizeof(s->cert), v, w, key);
		} else if (strcmp(key, "key") == 0) {
			rc = get_path(s->key, sizeof(s->key), v, w, key);
		} else if (strcmp(key, "server_name") == 0) {
			rc = get_token(s->server_name, sizeof(s->server_name), v, w, key);
		} else if (strcmp(key, "facility") == 0) {
			if ((rc = get_u32(&u, v, 0, 23, w, key)) == 0)
				s->facility = u;
		} else if (strcmp(key, "app_name") == 0) {
			rc = get_token(s->app_name, sizeof(s->app_name), v, w, key);
		} else if (strcmp(key, "hostname") == 0) {
			rc = get_token(s->hostname, sizeof(s->hostname), v, w, key);
		} else if (strcmp(key, "sd_id") == 0) {
			const char *id = json_string_value(v);

			if (id == NULL || !tg_syslog_sd_id_valid(id))
				return bad(w, key, "must be an SD-ID such as \"tollgate@32473\" "
						   "(name@PEN, 1..32 printable characters)");
			snprintf(s->sd_id, sizeof(s->sd_id), "%s", id);
		} else if (strcmp(key, "path") == 0) {
			rc = get_path(s->path, sizeof(s->path), v, w, key);
		} else if (strcmp(key, "rotate_kb") == 0) {
			if ((rc = get_u32(&u, v, 1, TG_SIEM_ROTATE_KB_MAX, w, key)) == 0)
				s->rotate_bytes = (uint64_t)u * 1024;
		} else if (strcmp(key, "rotate_keep") == 0) {
			rc = get_u32(&s->rotate_keep, v, 1, TG_SIEM_ROTATE_KEEP_MAX, w, key);
		} else if (strcmp(key, "settle_ms") == 0) {
			rc = get_u32(&s->settle_ms, v, 0, TG_SIEM_SETTLE_MAX, w, key);
		} else if (strcmp(key, "batch") == 0) {
			rc = get_u32(&s->batch, v, 1, TG_SIEM_BATCH_MAX, w, key);
		} else if (strcmp(key, "backoff_min_ms") == 0) {
			rc = get_u32(&s->backoff_min_ms, v, 1, TG_SIEM_BACKOFF_LIMIT, w, key);
		} else if (strcmp(key, "backoff_max_ms") == 0) {
			rc = get_u32(&s->backoff_max_ms, v, 1, TG_SIEM_BACKOFF_LIMIT, w, key);
		} else { /* start */
			const char *st = json_string_value(v);

			if (st == NULL || (strcmp(st, "oldest") != 0 && strcmp(st, "now") != 0))
				return bad(w, key, "must be \"oldest\" or \"now\"");
			s->start_now = strcmp(st, "now") == 0;
		}
		if (rc < 0)
			return rc;
	}
	if (s->name[0] == '\0')
		return bad(w, "name", "is required");
	if ((1u << t) & T_SYSLOG && s->host[0] == '\0')
		return bad(w, "host", "is required for a %s sink", tg_siem_transport_names[t]);
	if (t == TG_SIEM_T_TLS && s->ca[0] == '\0')
		return bad(w, "ca", "is required: the server's certificate is always verified");
	if ((s->cert[0] == '\0') != (s->key[0] == '\0'))
		return bad(w, s->cert[0] ? "key" : "cert", "cert and key go together");
	if (t == TG_SIEM_T_FILE && s->path[0] == '\0')
		return bad(w, "path", "is required for a file sink");
	if (s->backoff_min_ms > s->backoff_max_ms)
		return bad(w, "backoff_min_ms", "is above backoff_max_ms");
	if (t == TG_SIEM_T_TLS && s->server_name[0] == '\0')
		snprintf(s->server_name, sizeof(s->server_name), "%s", s->host);
	return 0;
}

int
tg_siem_config_parse(struct tg_siem_config *c, const json_t *v, const char *base, char *err,
		     size_t errlen)
{
	struct where w = { .base = base, .err = err, .errlen = errlen };
	const json_t *sinks;
	const char *key;
	json_t *m, *o;
	size_t i;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(v)) {
		tg_sp_seterr(err, errlen, "%s: \"siem\" must be an object: {\"sinks\": [...]}", base);
		return -EINVAL;
	}
	json_object_foreach((json_t *)v, key, m) {
		if (strcmp(key, "sinks") != 0) {
			tg_sp_seterr(err, errlen, "%s: unknown key \"siem.%s\" (known: sinks)", base,
				     key);
			return -EINVAL;
		}
	}
	sinks = json_object_get(v, "sinks");
	if (sinks == NULL)
		return 0;
	if (!json_is_array(sinks) || json_array_size(sinks) > TG_SIEM_SINKS_MAX) {
		tg_sp_seterr(err, errlen, "%s: siem.sinks must be an array of at most %d sinks",
			     base, TG_SIEM_SINKS_MAX);
		return -EINVAL;
	}
	json_array_foreach(sinks, i, o) {
		w.i = (unsigned int)i;
		if ((rc = sink(&c->sinks[i], o, &w)) < 0)
			return rc;
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(c->sinks[j].name, c->sinks[i].name) == 0)
				return bad(&w, "name", "\"%s\" names an earlier sink too",
					   c->sinks[i].name);
		c->nb_sinks = (unsigned int)i + 1;
	}
	return 0;
}
