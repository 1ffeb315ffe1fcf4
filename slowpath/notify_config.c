/* SPDX-License-Identifier: MIT */
/*
 * notify_config.c — the "approvals.notify" member of the slowpath config;
 * see notify_config.h. The path of the value being checked is kept in a
 * struct tg_jsonpos_path (the dataplane's jsonpos.h, inline part only), so
 * that every refusal names where it is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "jsonpos.h"
#include "notify_config.h"
#include "seterr.h"

struct ctx {
	const char *base;
	char *err;
	size_t errlen;
	struct tg_jsonpos_path path;
};

static int bad(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "BASE: approvals.notify.webhooks[0].url: reason" at the current path; always -EINVAL. */
static int
bad(struct ctx *c, const char *fmt, ...)
{
	char where[512], what[256];
	size_t n;
	va_list ap;
	int m;

	n = (size_t)snprintf(where, sizeof(where), "approvals.notify");
	for (unsigned int i = 0; i < tg_jsonpos_path_len(&c->path) && n < sizeof(where); i++) {
		const struct tg_jsonpos_step *s = &c->path.step[i];

		if (s->key != NULL)
			m = snprintf(where + n, sizeof(where) - n, ".%.64s", s->key);
		else
			m = snprintf(where + n, sizeof(where) - n, "[%zu]", s->index);
		n += m > 0 ? (size_t)m : 0;
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tg_sp_seterr(c->err, c->errlen, "%s: %s: %s", c->base, where, what);
	return -EINVAL;
}

/* Every key of o is in allowed[] (NULL-terminated); else an error at the key. */
static int
check_keys(struct ctx *c, const json_t *o, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		unsigned int i;

		for (i = 0; allowed[i] != NULL && strcmp(key, allowed[i]) != 0; i++)
			;
		if (allowed[i] == NULL) {
			tg_jsonpos_push_key(&c->path, key);
			return bad(c, "unknown key");
		}
	}
	return 0;
}

static int
get_u32(struct ctx *c, uint32_t *out, const json_t *o, const char *key, uint32_t min, uint32_t max)
{
	const json_t *v = json_object_get(o, key);
	int rc = 0;

	if (v == NULL)
		return 0;
	tg_jsonpos_push_key(&c->path, key);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		rc = bad(c, "must be an integer in %u..%u", min, max);
	else
		*out = (uint32_t)json_integer_value(v);
	tg_jsonpos_pop(&c->path);
	return rc;
}

/* A path relative to the config file's directory, like config.c's. */
static int
get_path(struct ctx *c, char *dst, size_t size, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v), *slash;
	int n, rc = 0;

	if (v == NULL)
		return 0;
	tg_jsonpos_push_key(&c->path, key);
	if (s == NULL || s[0] == '\0' || strlen(s) != json_string_length(v)) {
		rc = bad(c, "must be a non-empty string (a path)");
		goto out;
	}
	slash = s[0] != '/' ? strrchr(c->base, '/') : NULL;
	if (slash != NULL)
		n = snprintf(dst, size, "%.*s/%s", (int)(slash - c->base), c->base, s);
	else
		n = snprintf(dst, size, "%s", s);
	if (n < 0 || (size_t)n >= size)
		rc = bad(c, "path longer than %zu bytes", size - 1);
out:
	tg_jsonpos_pop(&c->path);
	return rc;
}

static bool
name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= TG_NOTIFY_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

/* RFC 9110 §5.6.2 token characters: what a field name is made of. */
static bool
token_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s <= 32 || *s >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *s) != NULL)
			return false;
	return true;
}

/* A field value (RFC 9110 §5.5): no CR, LF, NUL or other control but HTAB. */
static bool
field_value_ok(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 32 && s[i] != '\t') || s[i] == 127)
			return false;
	return true;
}

/* The host of an http URL is a loopback address: 127.0.0.0/8, [::1] or localhost. */
static bool
loopback_url(const char *url)
{
	const char *h = url + 7, *end;
	char host[64];
	struct in_addr a4;
	size_t n;

	if (*h == '[') {
		end = strchr(h, ']');
		if (end == NULL)
			return false;
		h++;
	} else {
		end = h + strcspn(h, ":/?#");
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(host) || memchr(h, '@', n) != NULL)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static int
get_url(struct ctx *c, struct tg_notify_sink_config *s, const json_t *o)
{
	const json_t *v = json_object_get(o, "url");
	const char *u = json_string_value(v);
	size_t len = json_string_length(v);
	int rc = 0;

	tg_jsonpos_push_key(&c->path, "url");
	if (u == NULL || strlen(u) != len)
		rc = bad(c, "is required: an https URL");
	else if (len >= sizeof(s->url))
		rc = bad(c, "longer than %zu bytes", sizeof(s->url) - 1);
	else if (!field_value_ok(u, len) || strchr(u, ' ') != NULL)
		rc = bad(c, "must not contain spaces or control characters");
	else if (strncasecmp(u, "https://", 8) == 0 && u[8] != '\0' && u[8] != '/')
		memcpy(s->url, u, len + 1);
	else if (strncasecmp(u, "http://", 7) == 0 && loopback_url(u))
		memcpy(s->url, u, len + 1);
	else
		rc = bad(c, "must be an https URL (http only to a loopback address)");
	tg_jsonpos_pop(&c->path);
	return rc;
}

static int
get_headers(struct ctx *c, struct tg_notify_sink_config *s, const json_t *o)
{
	static const char *const ours[] = { "Content-Type", "Content-Length",	 "Host",
					    "Expect",	    "Transfer-Encoding", "Connection" };
	const json_t *h = json_object_get(o, "headers");
	const char *key;
	json_t *v;
	int rc = 0;

	if (h == NULL)
		return 0;
	tg_jsonpos_push_key(&c->path, "headers");
	if (!json_is_object(h)) {
		rc = bad(c, "must be an object of header names to string values");
		goto out;
	}
	if (json_object_size(h) > TG_NOTIFY_HEADERS_MAX) {
		rc = bad(c, "more than %u headers", TG_NOTIFY_HEADERS_MAX);
		goto out;
	}
	json_object_foreach((json_t *)h, key, v) {
		const char *val = json_string_value(v);
		int n;

		tg_jsonpos_push_key(&c->path, key);
		if (!token_ok(key))
			return bad(c, "is not a header name (RFC 9110 token characters)");
		for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
			if (strcasecmp(key, ours[i]) == 0)
				return bad(c, "is set by tollgate, not by the config");
		if (strncasecmp(key, "X-Tollgate-", 11) == 0)
			return bad(c, "X-Tollgate-* headers are set by tollgate");
		if (val == NULL || !field_value_ok(val, json_string_length(v)))
			return bad(c, "must be a string without control characters");
		n = snprintf(s->headers[s->nb_headers], sizeof(s->headers[0]), "%s: %s", key, val);
		if (n < 0 || (size_t)n >= sizeof(s->headers[0]))
			return bad(c, "header longer than %zu bytes", sizeof(s->headers[0]) - 1);
		s->nb_headers++;
		tg_jsonpos_pop(&c->path);
	}
out:
	tg_jsonpos_pop(&c->path);
	return rc;
}

/* Appends str to s->strings; -EINVAL when it does not fit. */
static int
pack(struct ctx *c, struct tg_notify_sink_config *s, size_t *used, const char *str, size_t len)
{
	if (len + 1 > sizeof(s->strings) - *used)
		return bad(c, "argv and env together exceed %zu bytes", sizeof(s->strings));
	memcpy(s->strings + *used, str, len + 1);
	*used += len + 1;
	return 0;
}

static int
get_argv(struct ctx *c, struct tg_notify_sink_config *s, const json_t *o, size_t *used)
{
	const json_t *a = json_object_get(o, "argv");
	int rc = 0;

	tg_jsonpos_push_key(&c->path, "argv");
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > TG_NOTIFY_ARGS_MAX) {
		rc = bad(c, "is required: an array of 1..%u strings, the program first",
			 TG_NOTIFY_ARGS_MAX);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *v = json_array_get(a, i);
		const char *str = json_string_value(v);

		tg_jsonpos_push_index(&c->path, i);
		if (str == NULL || strlen(str) != json_string_length(v))
			return bad(c, "must be a string without NUL");
		if (i == 0 && str[0] != '/')
			return bad(c, "must be an absolute path (no shell, no PATH search)");
		if ((rc = pack(c, s, used, str, json_string_length(v))) < 0)
			return rc;
		s->argc++;
		tg_jsonpos_pop(&c->path);
	}
out:
	tg_jsonpos_pop(&c->path);
	return rc;
}

static int
get_env(struct ctx *c, struct tg_notify_sink_config *s, const json_t *o, size_t *used)
{
	const json_t *e = json_object_get(o, "env");
	const char *key;
	json_t *v;
	int rc = 0;

	if (e == NULL)
		return 0;
	tg_jsonpos_push_key(&c->path, "env");
	if (!json_is_object(e) || json_object_size(e) > TG_NOTIFY_ENV_MAX) {
		rc = bad(c, "must be an object of at most %u names to string values",
			 TG_NOTIFY_ENV_MAX);
		goto out;
	}
	json_object_foreach((json_t *)e, key, v) {
		const char *val = json_string_value(v);
		char kv[TG_NOTIFY_STRINGS_MAX];
		size_t klen = strlen(key);
		int n;

		tg_jsonpos_push_key(&c->path, key);
		/* POSIX.1-2017 §8.1: portable names are [A-Za-z_][A-Za-z0-9_]* */
		if (klen == 0 || (key[0] >= '0' && key[0] <= '9') ||
		    strspn(key,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
			    klen)
			return bad(c,
				   "is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
		if (strncmp(key, "TOLLGATE_", 9) == 0)
			return bad(c, "TOLLGATE_* variables are set by tollgate");
		if (val == NULL || strlen(val) != json_string_length(v))
			return bad(c, "must be a string without NUL");
		n = snprintf(kv, sizeof(kv), "%s=%s", key, val);
		if (n < 0 || (size_t)n >= sizeof(kv) || (rc = pack(c, s, used, kv, (size_t)n)) < 0)
			return n < 0 || (size_t)n >= sizeof(kv) ? bad(c, "too long") : rc;
		s->envc++;
		tg_jsonpos_pop(&c->path);
	}
out:
	tg_jsonpos_pop(&c->path);
	return rc;
}

static int
sink(struct ctx *c, struct tg_notify_config *cfg, const json_t *o, enum tg_notify_sink_type type,
     size_t index)
{
	static const char *const webhook_keys[] = { "name",	"url",	       "headers",
						    "ca_file",	"secret_file", "timeout_ms",
						    "parallel", NULL };
	static const char *const command_keys[] = { "name",	  "argv",     "env",
						    "timeout_ms", "parallel", NULL };
	struct tg_notify_sink_config *s;
	const json_t *name;
	size_t used = 0;
	int rc;

	if (!json_is_object(o))
		return bad(c, "a %s must be an object",
			   type == TG_NOTIFY_WEBHOOK ? "webhook" : "command");
	if (cfg->nb_sinks == TG_NOTIFY_SINKS_MAX)
		return bad(c, "more than %u webhooks and commands", TG_NOTIFY_SINKS_MAX);
	if ((rc = check_keys(c, o, type == TG_NOTIFY_WEBHOOK ? webhook_keys : command_keys)) < 0)
		return rc;
	s = &cfg->sinks[cfg->nb_sinks];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->timeout_ms = TG_NOTIFY_TIMEOUT_DEFAULT;
	s->parallel = TG_NOTIFY_PARALLEL_DEFAULT;
	name = json_object_get(o, "name");
	if (name != NULL) {
		tg_jsonpos_push_key(&c->path, "name");
		if (!json_is_string(name) ||
		    !name_ok(json_string_value(name), json_string_length(name)))
			return bad(c, "must be 1..%u characters of A-Z a-z 0-9 _ . -",
				   TG_NOTIFY_NAME_MAX - 1);
		tg_jsonpos_pop(&c->path);
		snprintf(s->name, sizeof(s->name), "%s", json_string_value(name));
	} else {
		snprintf(s->name, sizeof(s->name), "%s%zu",
			 type == TG_NOTIFY_WEBHOOK ? "webhook" : "command", index);
	}
	for (unsigned int i = 0; i < cfg->nb_sinks; i++) {
		if (strcmp(cfg->sinks[i].name, s->name) == 0) {
			if (name != NULL)
				tg_jsonpos_push_key(&c->path, "name");
			return bad(c, "the name \"%s\" is taken by another sink", s->name);
		}
	}
	if ((rc = get_u32(c, &s->timeout_ms, o, "timeout_ms", TG_NOTIFY_TIMEOUT_MIN,
			  TG_NOTIFY_TIMEOUT_MAX)) < 0 ||
	    (rc = get_u32(c, &s->parallel, o, "parallel", 1, TG_NOTIFY_PARALLEL_MAX)) < 0)
		return rc;
	if (type == TG_NOTIFY_WEBHOOK) {
		if ((rc = get_url(c, s, o)) < 0 || (rc = get_headers(c, s, o)) < 0 ||
		    (rc = get_path(c, s->ca_file, sizeof(s->ca_file), o, "ca_file")) < 0 ||
		    (rc = get_path(c, s->secret_file, sizeof(s->secret_file), o, "secret_file")) <
			    0)
			return rc;
	} else {
		if ((rc = get_argv(c, s, o, &used)) < 0 || (rc = get_env(c, s, o, &used)) < 0)
			return rc;
	}
	cfg->nb_sinks++;
	return 0;
}

static int
sinks(struct ctx *c, struct tg_notify_config *cfg, const json_t *v, const char *key,
      enum tg_notify_sink_type type)
{
	const json_t *a = json_object_get(v, key);
	int rc = 0;

	if (a == NULL)
		return 0;
	tg_jsonpos_push_key(&c->path, key);
	if (!json_is_array(a)) {
		rc = bad(c, "must be an array");
		goto out;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		tg_jsonpos_push_index(&c->path, i);
		if ((rc = sink(c, cfg, json_array_get(a, i), type, i)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
out:
	tg_jsonpos_pop(&c->path);
	return rc;
}

static int
retry(struct ctx *c, struct tg_notify_config *cfg, const json_t *v)
{
	static const char *const keys[] = { "max_attempts", "initial_ms", "max_ms", NULL };
	const json_t *r = json_object_get(v, "retry");
	int rc;

	if (r == NULL)
		return 0;
	tg_jsonpos_push_key(&c->path, "retry");
	if (!json_is_object(r))
		return bad(c, "must be an object");
	if ((rc = check_keys(c, r, keys)) < 0 ||
	    (rc = get_u32(c, &cfg->max_attempts, r, "max_attempts", 1, TG_NOTIFY_ATTEMPTS_MAX)) <
		    0 ||
	    (rc = get_u32(c, &cfg->initial_ms, r, "initial_ms", 1, TG_NOTIFY_BACKOFF_INITIAL_MAX)) <
		    0)
		return rc;
	/* a max_ms left out follows a large initial_ms up */
	if (json_object_get(r, "max_ms") == NULL && cfg->max_ms < cfg->initial_ms)
		cfg->max_ms = cfg->initial_ms;
	if ((rc = get_u32(c, &cfg->max_ms, r, "max_ms", cfg->initial_ms, TG_NOTIFY_BACKOFF_LIMIT)) <
	    0)
		return rc;
	tg_jsonpos_pop(&c->path);
	return 0;
}

void
tg_notify_config_init(struct tg_notify_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_attempts = TG_NOTIFY_ATTEMPTS_DEFAULT;
	c->initial_ms = TG_NOTIFY_BACKOFF_INITIAL_DEFAULT;
	c->max_ms = TG_NOTIFY_BACKOFF_MAX_DEFAULT;
	c->queue_max = TG_NOTIFY_QUEUE_DEFAULT;
}

int
tg_notify_config_parse(struct tg_notify_config *cfg, const json_t *v, const char *base, char *err,
		       size_t errlen)
{
	static const char *const keys[] = { "webhooks", "commands", "retry", "queue_max", NULL };
	struct ctx c = { .base = base != NULL ? base : "config", .err = err, .errlen = errlen };
	int rc;

	tg_notify_config_init(cfg);
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return bad(&c, "must be an object (webhooks, commands, retry, queue_max)");
	if ((rc = check_keys(&c, v, keys)) < 0 ||
	    (rc = sinks(&c, cfg, v, "webhooks", TG_NOTIFY_WEBHOOK)) < 0 ||
	    (rc = sinks(&c, cfg, v, "commands", TG_NOTIFY_COMMAND)) < 0 ||
	    (rc = retry(&c, cfg, v)) < 0 ||
	    (rc = get_u32(&c, &cfg->queue_max, v, "queue_max", 1, TG_NOTIFY_QUEUE_LIMIT)) < 0) {
		tg_notify_config_init(cfg);
		return rc;
	}
	return 0;
}

const char *
tg_notify_config_string(const struct tg_notify_sink_config *s, unsigned int i)
{
	const char *p = s->strings;

	if (i >= s->argc + s->envc)
		return NULL;
	while (i-- > 0)
		p += strlen(p) + 1;
	return p;
}
