/* SPDX-License-Identifier: MIT */
/*
 * watch.c — the filter of a watch subscription. See watch.h.
 */
#include <errno.h>
#include <string.h>

#include "seterr.h"
#include "watch.h"

static const char *const key_names[TG_WATCH_K_MAX] = {
#define TG_WATCH_X(e, s) [TG_WATCH_K_##e] = s,
	TG_WATCH_KEYS(TG_WATCH_X)
#undef TG_WATCH_X
};

/* [a-z0-9_]+ components joined by single dots: what event.type names are made of. */
static bool
type_prefix_valid(const char *s, size_t len)
{
	bool comp_empty = true;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (comp_empty)
				return false;
			comp_empty = true;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
			comp_empty = false;
		} else {
			return false;
		}
	}
	return !comp_empty;
}

static int
put_value(struct tg_watch_filter *f, unsigned int k, const json_t *v, char *msg, size_t msglen)
{
	const char *s;
	size_t len;

	if (!json_is_string(v)) {
		tg_sp_seterr(msg, msglen, "params.%s: a string or an array of strings",
			     key_names[k]);
		return -EINVAL;
	}
	if (f->nb[k] == TG_WATCH_VALUES_MAX) {
		tg_sp_seterr(msg, msglen, "params.%s: at most %d values", key_names[k],
			     TG_WATCH_VALUES_MAX);
		return -EINVAL;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	/* the decoder refuses NUL in strings, so strlen() == len; checked all the same */
	if (len == 0 || len >= TG_WATCH_VALUE_MAX || memchr(s, '\0', len) != NULL) {
		tg_sp_seterr(msg, msglen, "params.%s: a value of 1..%d bytes", key_names[k],
			     TG_WATCH_VALUE_MAX - 1);
		return -EINVAL;
	}
	if (k == TG_WATCH_K_TYPE && !type_prefix_valid(s, len)) {
		tg_sp_seterr(msg, msglen,
			     "params.type: an event type or a prefix of whole components, such "
			     "as \"db.query\" or \"session\" ([a-z0-9_] joined by dots)");
		return -EINVAL;
	}
	memcpy(f->v[k][f->nb[k]], s, len);
	f->v[k][f->nb[k]][len] = '\0';
	f->nb[k]++;
	return 0;
}

int
tg_watch_filter_parse(struct tg_watch_filter *f, const json_t *params, char *msg, size_t msglen)
{
	const char *key;
	json_t *v, *e;
	size_t i;
	unsigned int k;
	int rc;

	memset(f, 0, sizeof(*f));
	if (params == NULL)
		return 0;
	if (!json_is_object(params)) {
		tg_sp_seterr(msg, msglen, "params must be an object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)params, key, v) {
		for (k = 0; k < TG_WATCH_K_MAX && strcmp(key, key_names[k]) != 0; k++)
			;
		if (k == TG_WATCH_K_MAX) {
			tg_sp_seterr(msg, msglen,
				     "watch: unknown param \"%.32s\" (known: type, service, user)",
				     key);
			memset(f, 0, sizeof(*f));
			return -EINVAL;
		}
		if (json_is_array(v)) {
			if (json_array_size(v) == 0) {
				tg_sp_seterr(msg, msglen,
					     "params.%s: an empty array matches nothing",
					     key_names[k]);
				rc = -EINVAL;
			} else {
				rc = 0;
				json_array_foreach(v, i, e) {
					if ((rc = put_value(f, k, e, msg, msglen)) < 0)
						break;
				}
			}
		} else {
			rc = put_value(f, k, v, msg, msglen);
		}
		if (rc < 0) {
			memset(f, 0, sizeof(*f));
			return rc;
		}
	}
	return 0;
}

bool
tg_watch_filter_active(const struct tg_watch_filter *f)
{
	for (unsigned int k = 0; k < TG_WATCH_K_MAX; k++)
		if (f->nb[k] != 0)
			return true;
	return false;
}

/* obj.key of event as a string, or NULL. */
static const json_t *
field(const json_t *event, const char *obj, const char *key)
{
	const json_t *v = json_object_get(json_object_get(event, obj), key);

	return json_is_string(v) ? v : NULL;
}

static bool
equals(const json_t *s, const char *want)
{
	size_t len = strlen(want);

	return s != NULL && json_string_length(s) == len &&
	       memcmp(json_string_value(s), want, len) == 0;
}

/* "db.query" is a prefix of "db.query" and "db.query.begin", not of "db.queryx". */
static bool
type_matches(const json_t *type, const char *prefix)
{
	size_t plen = strlen(prefix), tlen;
	const char *t;

	if (type == NULL)
		return false;
	t = json_string_value(type);
	tlen = json_string_length(type);
	return tlen >= plen && memcmp(t, prefix, plen) == 0 && (tlen == plen || t[plen] == '.');
}

static bool
any(const struct tg_watch_filter *f, unsigned int k, const json_t *a, const json_t *b)
{
	for (unsigned int i = 0; i < f->nb[k]; i++)
		if (k == TG_WATCH_K_TYPE ? type_matches(a, f->v[k][i])
					 : equals(a, f->v[k][i]) || equals(b, f->v[k][i]))
			return true;
	return false;
}

bool
tg_watch_filter_match(const struct tg_watch_filter *f, const json_t *event)
{
	if (f->nb[TG_WATCH_K_TYPE] != 0 &&
	    !any(f, TG_WATCH_K_TYPE, field(event, "event", "type"), NULL))
		return false;
	if (f->nb[TG_WATCH_K_SERVICE] != 0 &&
	    !any(f, TG_WATCH_K_SERVICE, field(event, "dst", "service"), NULL))
		return false;
	if (f->nb[TG_WATCH_K_USER] != 0 &&
	    !any(f, TG_WATCH_K_USER, field(event, "db", "user"), field(event, "operator", "user")))
		return false;
	return true;
}
