/* SPDX-License-Identifier: MIT */
/*
 * watch.h — the filter of a "watch" subscription (mgmt/api.h): which
 * events a subscriber is sent. The server (mgmt.c) keeps one per
 * watching connection and tests every published event against it, so
 * a filtered stream carries only what was asked, and a subscriber that
 * wants one service's statements is not dropped as too_slow for the
 * records it never wanted.
 *
 * Params of watch (all optional; each a string or an array of
 * 1..TG_WATCH_VALUES_MAX strings, any one of which matches):
 *   "type"     event.type prefixes, by whole dot-separated components:
 *              "db.query" matches db.query and db.query.begin, "session"
 *              matches session.start and session.end, "db.q" matches
 *              neither. [a-z0-9_], components joined by single dots.
 *   "service"  dst.service, exactly (the dataplane's service name).
 *   "user"     db.user (the database user of sessions and statements)
 *              or operator.user (the tgctl caller of an admin.change),
 *              exactly.
 * An event passes when it matches every param given. An event without
 * the field a param names does not match it: with "service", the
 * records of no service (checkpoints, admin changes) are not sent.
 *
 * Caveats:
 *   - Values are compared byte for byte: no case folding, no globbing.
 *   - The filter costs a few string compares per subscriber and event;
 *     the event is encoded once for all subscribers as before.
 */
#ifndef TG_SP_WATCH_H
#define TG_SP_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define TG_WATCH_VALUES_MAX 8 /* values of one param */
#define TG_WATCH_VALUE_MAX 65 /* bytes of a value and NUL: postgres names are <= 63 */

/* clang-format off */
#define TG_WATCH_KEYS(X) \
	X(TYPE, "type") \
	X(SERVICE, "service") \
	X(USER, "user")

enum tg_watch_key {
#define TG_WATCH_X(e, s) TG_WATCH_K_##e,
	TG_WATCH_KEYS(TG_WATCH_X)
#undef TG_WATCH_X
	TG_WATCH_K_MAX
};
/* clang-format on */

struct tg_watch_filter {
	unsigned int nb[TG_WATCH_K_MAX]; /* 0: the key is not filtered on */
	char v[TG_WATCH_K_MAX][TG_WATCH_VALUES_MAX][TG_WATCH_VALUE_MAX];
};

/*
 * Reads the params of a watch call into f (cleared first). Returns 0, or
 * -EINVAL with the reason in msg (an unknown param, a value of the wrong
 * type, too many or too long values, a type prefix of another syntax).
 */
int tg_watch_filter_parse(struct tg_watch_filter *f, const json_t *params, char *msg,
			  size_t msglen);

/* Whether f lets event through; an empty filter lets everything through. */
bool tg_watch_filter_match(const struct tg_watch_filter *f, const json_t *event);

/* Whether f filters on anything. */
bool tg_watch_filter_active(const struct tg_watch_filter *f);

#endif /* TG_SP_WATCH_H */
