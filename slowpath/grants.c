/* SPDX-License-Identifier: MIT */
/*
 * grants.c — the just-in-time grant store. See grants.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grants.h"

struct tg_grants {
	char path[PATH_MAX]; /* "": memory only */
	struct tg_grant *v;  /* [0, n): oldest first */
	size_t n;
	bool dirty;
	uint64_t cnt[TG_GRANTS_CNT_MAX];
};

static const char *const counter_names[TG_GRANTS_CNT_MAX] = {
#define TG_GRANTS_X(e, n) [TG_GRANTS_CNT_##e] = n,
	TG_GRANTS_COUNTERS(TG_GRANTS_X)
#undef TG_GRANTS_X
};

static const char *const state_names[TG_GRANT_STATE_MAX] = {
	[TG_GRANT_LIVE] = "live",
	[TG_GRANT_REVOKED] = "revoked",
	[TG_GRANT_EXPIRED] = "expired",
};

const char *
tg_grants_counter_name(enum tg_grants_counter c)
{
	return (unsigned int)c < TG_GRANTS_CNT_MAX ? counter_names[c] : "?";
}

const char *
tg_grant_state_name(enum tg_grant_state s)
{
	return (unsigned int)s < TG_GRANT_STATE_MAX ? state_names[s] : "?";
}

bool
tg_grant_live(const struct tg_grant *gr, int64_t now)
{
	return gr->state == TG_GRANT_LIVE && now < gr->expires;
}

struct tg_grants *
tg_grants_new(const char *path)
{
	struct tg_grants *g;

	if (path != NULL && strlen(path) + 5 >= sizeof(g->path)) { /* room for ".tmp" */
		errno = ENAMETOOLONG;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->v = calloc(TG_GRANTS_MAX, sizeof(*g->v));
	if (g->v == NULL) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	if (path != NULL)
		snprintf(g->path, sizeof(g->path), "%s", path);
	return g;
}

void
tg_grants_free(struct tg_grants *g)
{
	if (g == NULL)
		return;
	free(g->v);
	free(g);
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */

/* 1..cap-1 bytes, none a control character (the text ends up in records and tables). */
static bool
text_ok(const char *s, size_t cap, bool empty_ok)
{
	size_t n;

	if (s == NULL)
		return empty_ok;
	n = strlen(s);
	if ((n == 0 && !empty_ok) || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* A service name: what the dataplane's config allows, [A-Za-z0-9_.-]{1,63}. */
static bool
service_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n >= TG_GRANT_SERVICE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* "g-" and 16 lower-case hex digits. */
static bool
id_ok(const char *s)
{
	if (s == NULL || strlen(s) != 18 || s[0] != 'g' || s[1] != '-')
		return false;
	for (int i = 2; i < 18; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int
new_id(const struct tg_grants *g, char out[TG_GRANT_ID_MAX])
{
	static const char d[] = "0123456789abcdef";
	uint8_t b[8];

	for (int tries = 0; tries < 8; tries++) {
		if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
			return -EIO;
		out[0] = 'g';
		out[1] = '-';
		for (int i = 0; i < 8; i++) {
			out[2 + 2 * i] = d[b[i] >> 4];
			out[3 + 2 * i] = d[b[i] & 15];
		}
		out[18] = '\0';
		if (tg_grants_get(g, out) == NULL)
			return 0;
	}
	return -EIO; /* 2^64 ids: eight collisions in a row is a broken generator */
}

int
tg_grant_source_parse(const char *text, struct tg_grant_prefix *p, char out[TG_GRANT_SOURCE_MAX])
{
	char addr[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN];
	const char *slash;
	unsigned long len;
	unsigned int bytes, i;
	size_t n;
	char *end;

	if (text == NULL)
		return -EINVAL;
	slash = strchr(text, '/');
	n = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, text, n);
	addr[n] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		p->family = 4;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		p->family = 6;
	else
		return -EINVAL;
	bytes = p->family == 4 ? 4 : 16;
	len = bytes * 8;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || len > bytes * 8)
			return -EINVAL;
	}
	p->len = (uint8_t)len;
	/* host bits set usually mean a typo (as the dataplane's service prefixes) */
	for (i = p->len; i < bytes * 8; i++)
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	if (inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, canon, sizeof(canon)) == NULL)
		return -EINVAL;
	snprintf(out, TG_GRANT_SOURCE_MAX, "%s/%u", canon, (unsigned int)p->len);
	return 0;
}

uint64_t
tg_grant_id_num(const char *id)
{
	uint64_t v = 0;

	if (!id_ok(id))
		return 0;
	for (int i = 2; i < 18; i++)
		v = v << 4 | (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
	return v;
}

size_t
tg_grants_count(const struct tg_grants *g)
{
	return g != NULL ? g->n : 0;
}

const struct tg_grant *
tg_grants_at(const struct tg_grants *g, size_t i)
{
	return g != NULL && i < g->n ? &g->v[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* The file                                                            */

json_t *
tg_grant_json(const struct tg_grant *gr)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:s, s:s, s:s}", "id",
			 gr->id, "sub", gr->sub, "iss", gr->iss, "service", gr->service, "reason",
			 gr->reason, "granted_by", gr->granted_by, "created",
			 (json_int_t)gr->created, "expires", (json_int_t)gr->expires, "state",
			 state_names[gr->state], "ended", (json_int_t)gr->ended, "ended_by",
			 gr->ended_by, "end_reason", gr->end_reason, "source", gr->source);
}

char *
tg_grants_dump(const struct tg_grants *g)
{
	json_t *arr = json_array(), *root;
	char *s;

	if (arr == NULL)
		goto oom;
	for (size_t i = 0; i < g->n; i++)
		if (json_array_append_new(arr, tg_grant_json(&g->v[i])) < 0) {
			json_decref(arr);
			goto oom;
		}
	root = json_pack("{s:i, s:o}", "version", 1, "grants", arr);
	if (root == NULL)
		goto oom;
	s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s == NULL)
		goto oom;
	return s;
oom:
	errno = ENOMEM;
	return NULL;
}

static int
fail(char *err, size_t errlen, size_t idx, const char *what)
{
	if (err != NULL && errlen > 0) {
		if (idx == (size_t)-1)
			snprintf(err, errlen, "%s", what);
		else
			snprintf(err, errlen, "grants[%zu]: %s", idx, what);
	}
	return -EINVAL;
}

/* Copies string member key of o into dst[cap]; false when absent, not a string or too long. */
static bool
get_str(const json_t *o, const char *key, char *dst, size_t cap, bool empty_ok)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
	    !text_ok(json_string_value(v), cap, empty_ok))
		return false;
	snprintf(dst, cap, "%s", json_string_value(v));
	return true;
}

static bool
get_time(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = json_integer_value(v);
	return true;
}

static int
parse_one(const json_t *o, size_t i, struct tg_grant *gr, char *err, size_t errlen)
{
	static const char *const keys[] = { "id",	  "sub",	"iss",	    "service",
					    "reason",	  "granted_by", "created",  "expires",
					    "state",	  "ended",	"ended_by", "end_reason",
					    "source" };
	struct tg_grant_prefix pfx;
	char canon[TG_GRANT_SOURCE_MAX];
	const char *key, *st;
	json_t *v;
	size_t k;

	if (!json_is_object(o))
		return fail(err, errlen, i, "not an object");
	json_object_foreach((json_t *)o, key, v) {
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && strcmp(key, keys[k]) != 0; k++)
			;
		if (k == sizeof(keys) / sizeof(keys[0]))
			return fail(err, errlen, i, "unknown member");
	}
	memset(gr, 0, sizeof(*gr));
	if (!get_str(o, "id", gr->id, sizeof(gr->id), false) || !id_ok(gr->id))
		return fail(err, errlen, i, "id: \"g-\" and 16 hex digits");
	if (!get_str(o, "sub", gr->sub, sizeof(gr->sub), false))
		return fail(err, errlen, i, "sub: a non-empty string");
	if (!get_str(o, "iss", gr->iss, sizeof(gr->iss), true))
		return fail(err, errlen, i, "iss: a string");
	if (!get_str(o, "service", gr->service, sizeof(gr->service), false) ||
	    !service_ok(gr->service))
		return fail(err, errlen, i, "service: a service name");
	if (!get_str(o, "reason", gr->reason, sizeof(gr->reason), false) ||
	    !get_str(o, "granted_by", gr->granted_by, sizeof(gr->granted_by), false))
		return fail(err, errlen, i, "reason, granted_by: non-empty strings");
	if (!get_time(o, "created", &gr->created) || !get_time(o, "expires", &gr->expires) ||
	    !get_time(o, "ended", &gr->ended) || gr->expires <= gr->created ||
	    gr->expires - gr->created > TG_GRANTS_TTL_MAX)
		return fail(err, errlen, i, "created, expires, ended: times, created < expires");
	st = json_string_value(json_object_get(o, "state"));
	for (k = 0; st != NULL && k < TG_GRANT_STATE_MAX && strcmp(st, state_names[k]) != 0; k++)
		;
	if (st == NULL || k == TG_GRANT_STATE_MAX)
		return fail(err, errlen, i, "state: live, revoked or expired");
	gr->state = (enum tg_grant_state)k;
	if ((gr->state == TG_GRANT_LIVE) != (gr->ended == 0))
		return fail(err, errlen, i, "ended: 0 exactly while live");
	if (!get_str(o, "ended_by", gr->ended_by, sizeof(gr->ended_by), true) ||
	    !get_str(o, "end_reason", gr->end_reason, sizeof(gr->end_reason), true))
		return fail(err, errlen, i, "ended_by, end_reason: strings");
	/* optional: files of before tcp grants have none */
	if (json_object_get(o, "source") != NULL &&
	    (!get_str(o, "source", gr->source, sizeof(gr->source), true) ||
	     (gr->source[0] != '\0' && (tg_grant_source_parse(gr->source, &pfx, canon) < 0 ||
					 strcmp(canon, gr->source) != 0))))
		return fail(err, errlen, i, "source: \"\" or a canonical \"ADDR/LEN\"");
	return 0;
}

int
tg_grants_parse(struct tg_grants *g, const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *arr, *v;
	size_t i;
	int rc = 0;

	g->n = 0;
	if (len > TG_GRANTS_FILE_MAX)
		return fail(err, errlen, (size_t)-1, "file too large");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}
	arr = json_object_get(root, "grants");
	if (!json_is_object(root) || json_object_size(root) != 2 ||
	    !json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) != 1 || !json_is_array(arr)) {
		rc = fail(err, errlen, (size_t)-1,
			  "expected {\"version\": 1, \"grants\": [...]} and nothing else");
		goto out;
	}
	if (json_array_size(arr) > TG_GRANTS_MAX) {
		rc = fail(err, errlen, (size_t)-1, "more grants than TG_GRANTS_MAX");
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if ((rc = parse_one(v, i, &g->v[g->n], err, errlen)) < 0)
			goto out;
		if (tg_grants_get(g, g->v[g->n].id) != NULL) {
			rc = fail(err, errlen, i, "duplicate id");
			goto out;
		}
		g->n++;
	}
out:
	json_decref(root);
	if (rc < 0)
		g->n = 0;
	g->dirty = false;
	return rc;
}

int
tg_grants_load(struct tg_grants *g, char *err, size_t errlen)
{
	char *buf = NULL;
	struct stat st;
	ssize_t r;
	size_t off = 0;
	int fd, rc;

	g->n = 0;
	if (g->path[0] == '\0')
		return 0;
	fd = open(g->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		snprintf(err, errlen, "open %s: %s", g->path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > TG_GRANTS_FILE_MAX) {
		rc = fstat(fd, &st) < 0 ? -errno : -EINVAL;
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", g->path,
			 TG_GRANTS_FILE_MAX);
		close(fd);
		return rc;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (size_t)st.st_size) {
		r = read(fd, buf + off, (size_t)st.st_size - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	rc = tg_grants_parse(g, buf, off, err, errlen);
	free(buf);
	return rc;
}

/* fsync of the directory that holds path, so the rename is durable. */
static int
sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
tg_grants_save(struct tg_grants *g)
{
	char tmp[PATH_MAX + 8];
	char *s;
	size_t len, off = 0;
	ssize_t w;
	int fd, rc = 0;

	if (g->path[0] == '\0' || !g->dirty) {
		g->dirty = false;
		return 0;
	}
	s = tg_grants_dump(g);
	if (s == NULL) {
		g->cnt[TG_GRANTS_CNT_SAVE_FAILURES]++;
		return -ENOMEM;
	}
	len = strlen(s);
	snprintf(tmp, sizeof(tmp), "%s.tmp", g->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (off < len) {
		w = write(fd, s + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, g->path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	else
		rc = sync_dir(g->path);
out:
	free(s);
	if (rc < 0) {
		g->cnt[TG_GRANTS_CNT_SAVE_FAILURES]++;
		return rc;
	}
	g->cnt[TG_GRANTS_CNT_SAVES]++;
	g->dirty = false;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Changes                                                             */

static void
msgf(char *msg, size_t msglen, const char *text)
{
	if (msg != NULL && msglen > 0)
		snprintf(msg, msglen, "%s", text);
}

/* Drops entry i, keeping the order. */
static void
remove_at(struct tg_grants *g, size_t i)
{
	memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof(g->v[0]));
	g->n--;
}

/* Drops ended grants older than TG_GRANTS_KEEP_ENDED_S; true when any went. */
static bool
prune(struct tg_grants *g, int64_t now)
{
	bool any = false;

	for (size_t i = 0; i < g->n;) {
		const struct tg_grant *gr = &g->v[i];

		if (gr->state != TG_GRANT_LIVE && now - gr->ended >= TG_GRANTS_KEEP_ENDED_S) {
			remove_at(g, i);
			g->cnt[TG_GRANTS_CNT_PRUNED]++;
			any = true;
			continue;
		}
		i++;
	}
	return any;
}

int
tg_grants_add(struct tg_grants *g, const struct tg_grant_spec *spec, int64_t now,
	      struct tg_grant *out, char *msg, size_t msglen)
{
	char source[TG_GRANT_SOURCE_MAX] = "";
	struct tg_grant_prefix pfx;
	struct tg_grant *gr;
	bool was_dirty = g->dirty;
	int rc;

	if (!text_ok(spec->sub, TG_GRANT_SUB_MAX, false)) {
		msgf(msg, msglen, "subject: 1..255 bytes, no control characters");
		return -EINVAL;
	}
	if (!text_ok(spec->iss, TG_GRANT_SUB_MAX, true)) {
		msgf(msg, msglen, "issuer: at most 255 bytes, no control characters");
		return -EINVAL;
	}
	if (!service_ok(spec->service)) {
		msgf(msg, msglen, "service: a service name, [A-Za-z0-9_.-], 1..63 characters");
		return -EINVAL;
	}
	if (spec->ttl_s < 1 || spec->ttl_s > TG_GRANTS_TTL_MAX) {
		msgf(msg, msglen, "ttl: 1 second to 30 days");
		return -EINVAL;
	}
	if (!text_ok(spec->reason, TG_GRANT_TEXT_MAX, false)) {
		msgf(msg, msglen,
		     "reason: 1..255 bytes, no control characters (it is the evidence "
		     "of why)");
		return -EINVAL;
	}
	if (!text_ok(spec->granted_by, TG_GRANT_TEXT_MAX, false)) {
		msgf(msg, msglen, "granted_by: 1..255 bytes");
		return -EINVAL;
	}
	if (spec->source != NULL && spec->source[0] != '\0' &&
	    tg_grant_source_parse(spec->source, &pfx, source) < 0) {
		msgf(msg, msglen,
		     "source: an IPv4 or IPv6 address or ADDR/LEN prefix, no host bits set "
		     "(198.18.0.1, 198.18.0.0/24, 2001:db8::/32)");
		return -EINVAL;
	}
	if (g->n == TG_GRANTS_MAX)
		prune(g, now + TG_GRANTS_KEEP_ENDED_S); /* room: ended ones go first */
	if (g->n == TG_GRANTS_MAX) {
		msgf(msg, msglen, "the store is full (TG_GRANTS_MAX live grants)");
		return -ENOSPC;
	}
	gr = &g->v[g->n];
	memset(gr, 0, sizeof(*gr));
	if ((rc = new_id(g, gr->id)) < 0) {
		msgf(msg, msglen, "no random id");
		return rc;
	}
	snprintf(gr->sub, sizeof(gr->sub), "%s", spec->sub);
	snprintf(gr->iss, sizeof(gr->iss), "%s", spec->iss != NULL ? spec->iss : "");
	snprintf(gr->service, sizeof(gr->service), "%s", spec->service);
	snprintf(gr->reason, sizeof(gr->reason), "%s", spec->reason);
	snprintf(gr->granted_by, sizeof(gr->granted_by), "%s", spec->granted_by);
	snprintf(gr->source, sizeof(gr->source), "%s", source);
	gr->created = now;
	gr->expires = now + spec->ttl_s;
	gr->state = TG_GRANT_LIVE;
	g->n++;
	g->dirty = true;
	/* access is given only once it is durable */
	if ((rc = tg_grants_save(g)) < 0) {
		g->n--;
		g->dirty = was_dirty;
		if (msg != NULL && msglen > 0)
			snprintf(msg, msglen, "could not save %s: %s", g->path, strerror(-rc));
		return rc;
	}
	g->cnt[TG_GRANTS_CNT_ADDED]++;
	if (out != NULL)
		*out = *gr;
	return 0;
}

int
tg_grants_revoke(struct tg_grants *g, const char *id, const char *by, const char *reason,
		 int64_t now, struct tg_grant *out, bool *saved)
{
	struct tg_grant *gr = (struct tg_grant *)tg_grants_get(g, id);

	if (saved != NULL)
		*saved = false;
	if (gr == NULL)
		return -ENOENT;
	if (gr->state != TG_GRANT_LIVE) {
		if (out != NULL)
			*out = *gr;
		return -EALREADY;
	}
	gr->state = TG_GRANT_REVOKED;
	gr->ended = now > 0 ? now : 1;
	snprintf(gr->ended_by, sizeof(gr->ended_by), "%s", by != NULL ? by : "");
	snprintf(gr->end_reason, sizeof(gr->end_reason), "%s", reason != NULL ? reason : "");
	g->cnt[TG_GRANTS_CNT_REVOKED]++;
	g->dirty = true;
	if (out != NULL)
		*out = *gr;
	/* taking access away holds in memory whatever the disk says */
	if (tg_grants_save(g) == 0 && saved != NULL)
		*saved = true;
	return 0;
}

unsigned int
tg_grants_expire(struct tg_grants *g, int64_t now, void (*cb)(void *arg, const struct tg_grant *gr),
		 void *arg)
{
	unsigned int n = 0;

	for (size_t i = 0; i < g->n; i++) {
		struct tg_grant *gr = &g->v[i];
		struct tg_grant copy;

		if (gr->state != TG_GRANT_LIVE || now < gr->expires)
			continue;
		gr->state = TG_GRANT_EXPIRED;
		gr->ended = gr->expires;
		snprintf(gr->ended_by, sizeof(gr->ended_by), "expiry");
		g->cnt[TG_GRANTS_CNT_EXPIRED]++;
		g->dirty = true;
		n++;
		copy = *gr;
		if (cb != NULL)
			cb(arg, &copy);
	}
	if (prune(g, now))
		g->dirty = true;
	if (g->dirty)
		tg_grants_save(g);
	return n;
}

/* ------------------------------------------------------------------ */
/* Reads                                                               */

const struct tg_grant *
tg_grants_match(const struct tg_grants *g, const char *iss, const char *sub, const char *service,
		int64_t now)
{
	const struct tg_grant *best = NULL;

	if (g == NULL || sub == NULL || service == NULL)
		return NULL;
	for (size_t i = 0; i < g->n; i++) {
		const struct tg_grant *gr = &g->v[i];

		/* a grant with a source is a tcp service's, for flows, not logins */
		if (!tg_grant_live(gr, now) || gr->source[0] != '\0' || strcmp(gr->sub, sub) != 0 ||
		    strcmp(gr->service, service) != 0 ||
		    (gr->iss[0] != '\0' && (iss == NULL || strcmp(gr->iss, iss) != 0)))
			continue;
		if (best == NULL || gr->expires > best->expires)
			best = gr;
	}
	return best;
}

const struct tg_grant *
tg_grants_get(const struct tg_grants *g, const char *id)
{
	if (g == NULL || id == NULL)
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->v[i].id, id) == 0)
			return &g->v[i];
	return NULL;
}

json_t *
tg_grants_json(const struct tg_grants *g, bool all, const char *service, const char *sub)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	for (size_t i = g->n; i-- > 0;) {
		const struct tg_grant *gr = &g->v[i];

		if ((!all && gr->state != TG_GRANT_LIVE) ||
		    (service != NULL && strcmp(service, gr->service) != 0) ||
		    (sub != NULL && strcmp(sub, gr->sub) != 0))
			continue;
		if (json_array_append_new(arr, tg_grant_json(gr)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

void
tg_grants_stats(const struct tg_grants *g, struct tg_grants_stats *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->cnt, g->cnt, sizeof(st->cnt));
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].state == TG_GRANT_LIVE)
			st->live++;
	st->total = (unsigned int)g->n;
	st->dirty = g->dirty;
}
