/* SPDX-License-Identifier: MIT */
/*
 * credstore.c — the upstream credential store (credstore.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "credstore.h"
#include "jsonpos.h"
#include "seterr.h"

struct ent {
	struct tg_cred c; /* points into this entry */
	char service[TG_CRED_SERVICE_MAX + 1];
	char role[TG_UPAUTH_NAME_MAX + 1];
	char *password; /* password_len + 1 bytes, wiped on free */
};

struct tg_credstore {
	struct ent *ents;
	size_t n;
};

/* ------------------------------------------------------------------ */
/* A wiping allocator for jansson while a secret-bearing text is parsed */

/*
 * jansson frees its strings and its lexer's buffers without clearing
 * them, so the passwords would stay in freed heap. While a store loads,
 * every jansson allocation carries its size in a header and is wiped on
 * free. The header is 16 bytes to keep malloc's alignment.
 */
#define WIPE_HDR 16

static void *
wipe_malloc(size_t n)
{
	uint8_t *p;

	if (n > SIZE_MAX - WIPE_HDR)
		return NULL;
	p = malloc(n + WIPE_HDR);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + WIPE_HDR;
}

static void
wipe_free(void *q)
{
	uint8_t *p;
	size_t n;

	if (q == NULL)
		return;
	p = (uint8_t *)q - WIPE_HDR;
	memcpy(&n, p, sizeof(n));
	explicit_bzero(p, n + WIPE_HDR);
	free(p);
}

/* ------------------------------------------------------------------ */
/* Parse                                                               */

int
tg_credstore_method(const char *name, enum tg_upauth_method *m)
{
	static const struct {
		const char *name;
		enum tg_upauth_method m;
	} tab[] = {
		{ "scram-sha-256", TG_UPAUTH_SCRAM },
		{ "md5", TG_UPAUTH_MD5 },
		{ "password", TG_UPAUTH_PASSWORD },
		{ "trust", TG_UPAUTH_TRUST },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(name, tab[i].name) == 0) {
			*m = tab[i].m;
			return 0;
		}
	return -EINVAL;
}

struct ctx {
	const char *text;
	size_t len;
	const char *source;
	char *err;
	size_t errlen;
};

static int fail_at(const struct ctx *c, const struct tg_jsonpos_step *path, unsigned int depth,
		   int key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * "source:line:column: reason" at path (its last key with key set);
 * "source: reason" when the position cannot be found. -EINVAL. The
 * reason never quotes a password: only names and kinds.
 */
static int
fail_at(const struct ctx *c, const struct tg_jsonpos_step *path, unsigned int depth, int key,
	const char *fmt, ...)
{
	char msg[256];
	uint32_t line, col;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc = key ? tg_jsonpos_find_key(c->text, c->len, path, depth, &line, &col)
		 : tg_jsonpos_find(c->text, c->len, path, depth, &line, &col);
	if (rc == 0)
		tg_sp_seterr(c->err, c->errlen, "%s:%u:%u: %s", c->source, line, col, msg);
	else
		tg_sp_seterr(c->err, c->errlen, "%s: %s", c->source, msg);
	return -EINVAL;
}

static bool
printable_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static int
parse_role(const struct ctx *c, struct tg_credstore *cs, const char *svc, const char *role,
	   json_t *v)
{
	struct tg_jsonpos_step path[3] = { { .key = svc }, { .key = role }, { .key = NULL } };
	json_t *jm, *jp, *x;
	const char *k, *pw = NULL;
	enum tg_upauth_method m;
	size_t pl = 0, rl = strlen(role);
	struct ent *e;

	if (rl == 0 || rl > TG_UPAUTH_NAME_MAX)
		return fail_at(c, path, 2, 1, "role name must be 1..%d bytes", TG_UPAUTH_NAME_MAX);
	if (!json_is_object(v))
		return fail_at(c, path, 2, 0, "credential of %s/%s must be an object", svc, role);
	json_object_foreach(v, k, x) {
		if (strcmp(k, "method") != 0 && strcmp(k, "password") != 0) {
			path[2].key = k;
			return fail_at(c, path, 3, 1,
				       "unknown key \"%.40s\" (known: method, "
				       "password)",
				       k);
		}
	}
	jm = json_object_get(v, "method");
	jp = json_object_get(v, "password");
	path[2].key = "method";
	if (jm == NULL)
		return fail_at(c, path, 2, 0, "credential of %s/%s has no \"method\"", svc, role);
	if (!json_is_string(jm) || tg_credstore_method(json_string_value(jm), &m) < 0)
		return fail_at(c, path, 3, 0,
			       "method must be one of scram-sha-256, md5, "
			       "password, trust");
	path[2].key = "password";
	if (m == TG_UPAUTH_TRUST) {
		if (jp != NULL)
			return fail_at(c, path, 3, 1, "a trust credential has no password");
	} else {
		if (jp == NULL)
			return fail_at(c, path, 2, 0, "credential of %s/%s has no \"password\"",
				       svc, role);
		if (!json_is_string(jp))
			return fail_at(c, path, 3, 0, "password must be a string");
		pw = json_string_value(jp);
		pl = json_string_length(jp);
		if (pl == 0 || pl > TG_UPAUTH_PASSWORD_MAX || strlen(pw) != pl)
			return fail_at(c, path, 3, 0, "password must be 1..%d bytes without NUL",
				       TG_UPAUTH_PASSWORD_MAX);
		if (m == TG_UPAUTH_SCRAM && !printable_ascii(pw, pl))
			return fail_at(c, path, 3, 0,
				       "a scram-sha-256 password must be printable "
				       "ASCII (SASLprep is not implemented)");
	}
	if (cs->n >= TG_CRED_MAX)
		return fail_at(c, path, 2, 1, "more than %d credentials", TG_CRED_MAX);

	e = &cs->ents[cs->n];
	memset(e, 0, sizeof(*e));
	e->password = malloc(pl + 1);
	if (e->password == NULL) {
		tg_sp_seterr(c->err, c->errlen, "%s: out of memory", c->source);
		return -ENOMEM;
	}
	if (pl > 0)
		memcpy(e->password, pw, pl);
	e->password[pl] = '\0';
	memcpy(e->service, svc, strlen(svc));
	memcpy(e->role, role, rl);
	e->c.service = e->service;
	e->c.role = e->role;
	e->c.method = m;
	e->c.password = e->password;
	e->c.password_len = pl;
	cs->n++;
	return 0;
}

static int
parse_root(const struct ctx *c, struct tg_credstore *cs, json_t *root)
{
	struct tg_jsonpos_step path[1];
	const char *svc, *role;
	json_t *sv, *rv;
	size_t total = 0;
	int rc;

	if (!json_is_object(root))
		return fail_at(c, NULL, 0, 0,
			       "the credential store must be a JSON object of "
			       "services");
	json_object_foreach(root, svc, sv) {
		if (json_is_object(sv))
			total += json_object_size(sv);
	}
	if (total > TG_CRED_MAX)
		return fail_at(c, NULL, 0, 0, "more than %d credentials", TG_CRED_MAX);
	cs->ents = calloc(total ? total : 1, sizeof(*cs->ents));
	if (cs->ents == NULL) {
		tg_sp_seterr(c->err, c->errlen, "%s: out of memory", c->source);
		return -ENOMEM;
	}
	json_object_foreach(root, svc, sv) {
		size_t sl = strlen(svc);

		path[0].key = svc;
		if (sl == 0 || sl > TG_CRED_SERVICE_MAX)
			return fail_at(c, path, 1, 1, "service name must be 1..%d bytes",
				       TG_CRED_SERVICE_MAX);
		if (!json_is_object(sv))
			return fail_at(c, path, 1, 0, "service %s must be an object of roles", svc);
		json_object_foreach(sv, role, rv) {
			if ((rc = parse_role(c, cs, svc, role, rv)) < 0)
				return rc;
		}
	}
	return 0;
}

int
tg_credstore_parse(const char *text, size_t len, const char *source, struct tg_credstore **out,
		   char *err, size_t errlen)
{
	struct ctx c = { .text = text,
			 .len = len,
			 .source = source ? source : "credentials",
			 .err = err,
			 .errlen = errlen };
	json_malloc_t om;
	json_free_t of;
	struct tg_credstore *cs;
	json_error_t je;
	json_t *root;
	int rc;

	if (out == NULL || (text == NULL && len > 0)) {
		tg_sp_seterr(err, errlen, "%s: no text or no output", c.source);
		return -EINVAL;
	}
	*out = NULL;
	cs = calloc(1, sizeof(*cs));
	if (cs == NULL) {
		tg_sp_seterr(err, errlen, "%s: out of memory", c.source);
		return -ENOMEM;
	}
	/* every jansson allocation from here to json_decref() is wiped on free */
	json_get_alloc_funcs(&om, &of);
	json_set_alloc_funcs(wipe_malloc, wipe_free);
	root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory) {
			tg_sp_seterr(err, errlen, "%s: out of memory", c.source);
			rc = -ENOMEM;
		} else {
			/* jansson's error text may quote the token at fault: keep it out */
			tg_sp_seterr(err, errlen, "%s:%d:%d: not valid JSON", c.source,
				     je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1);
			rc = -EINVAL;
		}
		explicit_bzero(&je, sizeof(je));
	} else {
		rc = parse_root(&c, cs, root);
		json_decref(root);
	}
	json_set_alloc_funcs(om, of);
	if (rc < 0) {
		tg_credstore_free(cs);
		return rc;
	}
	*out = cs;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Load                                                                */

int
tg_credstore_load(const char *path, uid_t owner, struct tg_credstore **out, char *err,
		  size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	uid_t me = geteuid();
	int fd, rc;

	if (path == NULL || out == NULL) {
		tg_sp_seterr(err, errlen, "credentials: no path");
		return -EINVAL;
	}
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	/* the descriptor, not the path: a swapped file cannot slip in between */
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		tg_sp_seterr(err, errlen, "%s: cannot stat: %s", path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		tg_sp_seterr(err, errlen, "%s: not a regular file", path);
		rc = -EACCES;
		goto out;
	}
	if (st.st_uid != me && st.st_uid != 0 && (owner == (uid_t)-1 || st.st_uid != owner)) {
		tg_sp_seterr(err, errlen,
			     "%s: owned by uid %u, not by the running user (uid %u), "
			     "the user it runs as, or root",
			     path, (unsigned int)st.st_uid, (unsigned int)me);
		rc = -EACCES;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		tg_sp_seterr(err, errlen,
			     "%s: mode %04o lets group or others at it; it must be "
			     "0600 or 0400",
			     path, (unsigned int)(st.st_mode & 07777));
		rc = -EACCES;
		goto out;
	}
	if (st.st_size > TG_CRED_FILE_MAX) {
		tg_sp_seterr(err, errlen, "%s: over %d bytes", path, TG_CRED_FILE_MAX);
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)TG_CRED_FILE_MAX + 1);
	if (buf == NULL) {
		tg_sp_seterr(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
		goto out;
	}
	/* read to EOF, bounded: the size may have changed since fstat */
	for (;;) {
		ssize_t r = read(fd, buf + len, (size_t)TG_CRED_FILE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			tg_sp_seterr(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > TG_CRED_FILE_MAX) {
			tg_sp_seterr(err, errlen, "%s: over %d bytes", path, TG_CRED_FILE_MAX);
			rc = -EFBIG;
			goto out;
		}
	}
	rc = tg_credstore_parse(buf, len, path, out, err, errlen);
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return rc;
}

int
tg_credstore_lookup(const struct tg_credstore *cs, const char *service, const char *role,
		    const struct tg_cred **cred)
{
	size_t i;

	if (cs == NULL || service == NULL || role == NULL || cred == NULL)
		return -EINVAL;
	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->ents[i].service, service) == 0 &&
		    strcmp(cs->ents[i].role, role) == 0) {
			*cred = &cs->ents[i].c;
			return 0;
		}
	return -ENOENT;
}

size_t
tg_credstore_count(const struct tg_credstore *cs)
{
	return cs != NULL ? cs->n : 0;
}

void
tg_credstore_free(struct tg_credstore *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++) {
		if (cs->ents[i].password != NULL) {
			explicit_bzero(cs->ents[i].password, cs->ents[i].c.password_len);
			free(cs->ents[i].password);
		}
	}
	if (cs->ents != NULL) {
		explicit_bzero(cs->ents, cs->n * sizeof(*cs->ents));
		free(cs->ents);
	}
	free(cs);
}
