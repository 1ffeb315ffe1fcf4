/* SPDX-License-Identifier: MIT */
/*
 * idmap.c — identity mapping from the policy's "identity" section
 * (idmap.h). Positions in errors come from the dataplane's jsonpos
 * (jsonpos.h), as the policy parser's do, so that a mistake in any part
 * of the policy file is reported the same way.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "jsonpos.h"
#include "seterr.h"

#define PATTERN_MAX 256

struct rule {
	const char *id;	  /* "" when none */
	json_t *sub;	  /* string or array of strings, or NULL */
	json_t *email;	  /* same */
	json_t *groups;	  /* array of strings, or NULL */
	json_t *services; /* array of strings; NULL: every service (deny only) */
	const char *role; /* allow rule */
	const char *deny; /* deny rule: its reason */
};

struct svc_opt {
	const char *name;
	enum tg_idmap_expiry expiry;
	bool require_grant;
	enum tg_idmap_grant_end grant_end;
};

struct tg_idmap {
	json_t *root; /* the whole policy document: everything points into it */
	const char *claim_path[TG_IDMAP_CLAIM_PATH_MAX];
	unsigned int claim_depth;
	bool require_email_verified;
	struct rule *rules;
	size_t nrules;
	struct svc_opt *svcs;
	size_t nsvcs;
};

/* ------------------------------------------------------------------ */
/* Parse                                                               */

struct ctx {
	const char *text;
	size_t len;
	const char *source;
	const char *const *known;
	size_t nknown;
	char *err;
	size_t errlen;
	struct tg_jsonpos_path path;
};

static int fail(struct ctx *c, int at_key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "source:line:column: reason" at the current path; always -EINVAL. */
static int
fail(struct ctx *c, int at_key, const char *fmt, ...)
{
	unsigned int d = tg_jsonpos_path_len(&c->path);
	char msg[256];
	uint32_t line, col;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc = at_key ? tg_jsonpos_find_key(c->text, c->len, c->path.step, d, &line, &col)
		    : tg_jsonpos_find(c->text, c->len, c->path.step, d, &line, &col);
	if (rc == 0)
		tg_sp_seterr(c->err, c->errlen, "%s:%u:%u: %s", c->source, line, col, msg);
	else
		tg_sp_seterr(c->err, c->errlen, "%s: %s", c->source, msg);
	return -EINVAL;
}

static int
nomem(struct ctx *c)
{
	tg_sp_seterr(c->err, c->errlen, "%s: out of memory", c->source);
	return -ENOMEM;
}

/* Every key of obj is in allowed[] (NULL-terminated); else an error at the key. */
static int
check_keys(struct ctx *c, json_t *obj, const char *const *allowed, const char *what)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		unsigned int i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			tg_jsonpos_push_key(&c->path, key);
			return fail(c, 1, "unknown key \"%.40s\" in %s", key, what);
		}
	}
	return 0;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= TG_IDMAP_NAME_MAX;
}

static bool
known_service(const struct ctx *c, const char *s)
{
	size_t i;

	if (c->known == NULL)
		return true;
	for (i = 0; i < c->nknown; i++)
		if (c->known[i] != NULL && strcmp(c->known[i], s) == 0)
			return true;
	return false;
}

/* A pattern, or a non-empty array of them: non-empty strings, at most PATTERN_MAX. */
static int
parse_patterns(struct ctx *c, json_t *v, const char *what)
{
	json_t *x;
	size_t i;

	if (json_is_string(v)) {
		if (json_string_length(v) == 0 || json_string_length(v) > PATTERN_MAX)
			return fail(c, 0, "%s must be 1..%d bytes", what, PATTERN_MAX);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(c, 0, "%s must be a pattern or a non-empty list of them", what);
	json_array_foreach(v, i, x) {
		tg_jsonpos_push_index(&c->path, i);
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    json_string_length(x) > PATTERN_MAX)
			return fail(c, 0, "%s must be strings of 1..%d bytes", what, PATTERN_MAX);
		tg_jsonpos_pop(&c->path);
	}
	return 0;
}

/* A non-empty array of strings (names); services are checked against the known ones. */
static int
parse_names(struct ctx *c, json_t *v, const char *what, bool service)
{
	json_t *x;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(c, 0, "%s must be a non-empty list of names", what);
	json_array_foreach(v, i, x) {
		tg_jsonpos_push_index(&c->path, i);
		if (!json_is_string(x) || json_string_length(x) == 0 ||
		    strlen(json_string_value(x)) != json_string_length(x) ||
		    json_string_length(x) > (service ? TG_IDMAP_NAME_MAX : PATTERN_MAX))
			return fail(c, 0, "%s must be names of 1..%d bytes", what,
				    service ? TG_IDMAP_NAME_MAX : PATTERN_MAX);
		if (service && !known_service(c, json_string_value(x)))
			return fail(c, 0, "unknown service \"%.63s\"", json_string_value(x));
		tg_jsonpos_pop(&c->path);
	}
	return 0;
}

static int
parse_match(struct ctx *c, json_t *v, struct rule *r)
{
	static const char *const keys[] = { "sub", "email", "groups", NULL };
	int rc;

	if (!json_is_object(v))
		return fail(c, 0, "match must be an object");
	if ((rc = check_keys(c, v, keys, "match (known: sub, email, groups)")) < 0)
		return rc;
	if (json_object_size(v) == 0)
		return fail(c, 0, "match needs a condition; {\"sub\": \"*\"} matches everyone");
	if ((r->sub = json_object_get(v, "sub")) != NULL) {
		tg_jsonpos_push_key(&c->path, "sub");
		if ((rc = parse_patterns(c, r->sub, "sub")) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	if ((r->email = json_object_get(v, "email")) != NULL) {
		tg_jsonpos_push_key(&c->path, "email");
		if ((rc = parse_patterns(c, r->email, "email")) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	if ((r->groups = json_object_get(v, "groups")) != NULL) {
		tg_jsonpos_push_key(&c->path, "groups");
		if ((rc = parse_names(c, r->groups, "groups", false)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	return 0;
}

static int
parse_rule(struct ctx *c, json_t *v, struct rule *r)
{
	static const char *const keys[] = { "id", "match", "services", "role", "deny", NULL };
	json_t *x;
	int rc;

	if (!json_is_object(v))
		return fail(c, 0, "a rule must be an object");
	if ((rc = check_keys(c, v, keys, "a rule (known: id, match, services, role, deny)")) < 0)
		return rc;
	r->id = "";
	if ((x = json_object_get(v, "id")) != NULL) {
		tg_jsonpos_push_key(&c->path, "id");
		if (!json_is_string(x) || !name_ok(json_string_value(x)))
			return fail(c, 0, "id must be a name of 1..%d bytes", TG_IDMAP_NAME_MAX);
		r->id = json_string_value(x);
		tg_jsonpos_pop(&c->path);
	}
	if ((x = json_object_get(v, "match")) == NULL)
		return fail(c, 0, "a rule needs \"match\"");
	tg_jsonpos_push_key(&c->path, "match");
	if ((rc = parse_match(c, x, r)) < 0)
		return rc;
	tg_jsonpos_pop(&c->path);
	if ((r->services = json_object_get(v, "services")) != NULL) {
		tg_jsonpos_push_key(&c->path, "services");
		if ((rc = parse_names(c, r->services, "services", true)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	if ((x = json_object_get(v, "deny")) != NULL) {
		tg_jsonpos_push_key(&c->path, "deny");
		if (!json_is_string(x) || json_string_length(x) == 0 || json_string_length(x) > 120)
			return fail(c, 0, "deny must be a reason of 1..120 bytes");
		r->deny = json_string_value(x);
		tg_jsonpos_pop(&c->path);
		if (json_object_get(v, "role") != NULL) {
			tg_jsonpos_push_key(&c->path, "role");
			return fail(c, 1, "a deny rule has no role");
		}
		return 0;
	}
	if (r->services == NULL)
		return fail(c, 0, "an allow rule needs \"services\" and \"role\" (or \"deny\")");
	if ((x = json_object_get(v, "role")) == NULL)
		return fail(c, 0, "an allow rule needs \"role\"");
	tg_jsonpos_push_key(&c->path, "role");
	if (!json_is_string(x) || !name_ok(json_string_value(x)) ||
	    strlen(json_string_value(x)) != json_string_length(x))
		return fail(c, 0, "role must be a name of 1..%d bytes", TG_IDMAP_NAME_MAX);
	r->role = json_string_value(x);
	tg_jsonpos_pop(&c->path);
	return 0;
}

static int
parse_claim_path(struct ctx *c, struct tg_idmap *m, json_t *v)
{
	json_t *x;
	size_t i;

	if (json_is_string(v) && json_string_length(v) > 0) {
		/* one claim name, dots and all (Auth0 claims are URLs) */
		m->claim_path[0] = json_string_value(v);
		m->claim_depth = 1;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > TG_IDMAP_CLAIM_PATH_MAX)
		return fail(c, 0, "claim_groups must be a claim name or a path of 1..%d names",
			    TG_IDMAP_CLAIM_PATH_MAX);
	json_array_foreach(v, i, x) {
		tg_jsonpos_push_index(&c->path, i);
		if (!json_is_string(x) || json_string_length(x) == 0)
			return fail(c, 0, "claim_groups path elements must be claim names");
		m->claim_path[i] = json_string_value(x);
		tg_jsonpos_pop(&c->path);
	}
	m->claim_depth = (unsigned int)json_array_size(v);
	return 0;
}

static int
parse_services(struct ctx *c, struct tg_idmap *m, json_t *v)
{
	static const char *const keys[] = { "on_token_expiry", "require_grant", "on_grant_expiry",
					    NULL };
	const char *name;
	json_t *o, *x;

	if (!json_is_object(v))
		return fail(c, 0, "services must be an object of service options");
	m->svcs = calloc(json_object_size(v) ? json_object_size(v) : 1, sizeof(*m->svcs));
	if (m->svcs == NULL)
		return nomem(c);
	json_object_foreach(v, name, o) {
		struct svc_opt *s = &m->svcs[m->nsvcs];
		int rc;

		tg_jsonpos_push_key(&c->path, name);
		if (!name_ok(name) || !known_service(c, name))
			return fail(c, 1, "unknown service \"%.63s\"", name);
		if (!json_is_object(o))
			return fail(c, 0, "options of a service must be an object");
		if ((rc = check_keys(c, o, keys,
				     "service options (known: on_token_expiry, require_grant, "
				     "on_grant_expiry)")) < 0)
			return rc;
		s->name = name;
		s->expiry = TG_IDMAP_EXPIRY_IGNORE;
		if ((x = json_object_get(o, "on_token_expiry")) != NULL) {
			tg_jsonpos_push_key(&c->path, "on_token_expiry");
			if (json_is_string(x) && strcmp(json_string_value(x), "fatal") == 0)
				s->expiry = TG_IDMAP_EXPIRY_FATAL;
			else if (!json_is_string(x) || strcmp(json_string_value(x), "ignore") != 0)
				return fail(c, 0,
					    "on_token_expiry must be \"fatal\" or \"ignore\"");
			tg_jsonpos_pop(&c->path);
		}
		if ((x = json_object_get(o, "require_grant")) != NULL) {
			tg_jsonpos_push_key(&c->path, "require_grant");
			if (!json_is_boolean(x))
				return fail(c, 0, "require_grant must be true or false");
			s->require_grant = json_is_true(x);
			tg_jsonpos_pop(&c->path);
		}
		s->grant_end = TG_IDMAP_GRANT_CONTINUE;
		if ((x = json_object_get(o, "on_grant_expiry")) != NULL) {
			tg_jsonpos_push_key(&c->path, "on_grant_expiry");
			if (json_is_string(x) && strcmp(json_string_value(x), "end") == 0)
				s->grant_end = TG_IDMAP_GRANT_END;
			else if (!json_is_string(x) ||
				 strcmp(json_string_value(x), "continue") != 0)
				return fail(c, 0,
					    "on_grant_expiry must be \"continue\" or \"end\"");
			tg_jsonpos_pop(&c->path);
		}
		m->nsvcs++;
		tg_jsonpos_pop(&c->path);
	}
	return 0;
}

static int
parse_identity(struct ctx *c, struct tg_idmap *m, json_t *id)
{
	static const char *const keys[] = { "claim_groups", "require_email_verified",
					    "services",	    "rules",
					    "default",	    NULL };
	json_t *v, *x;
	size_t i;
	int rc;

	if (!json_is_object(id))
		return fail(c, 0, "identity must be an object");
	if ((rc = check_keys(c, id, keys,
			     "identity (known: claim_groups, require_email_verified, services, "
			     "rules, default)")) < 0)
		return rc;
	m->claim_path[0] = "groups";
	m->claim_depth = 1;
	m->require_email_verified = true;
	if ((v = json_object_get(id, "claim_groups")) != NULL) {
		tg_jsonpos_push_key(&c->path, "claim_groups");
		if ((rc = parse_claim_path(c, m, v)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	if ((v = json_object_get(id, "require_email_verified")) != NULL) {
		tg_jsonpos_push_key(&c->path, "require_email_verified");
		if (!json_is_boolean(v))
			return fail(c, 0, "require_email_verified must be true or false");
		m->require_email_verified = json_is_true(v);
		tg_jsonpos_pop(&c->path);
	}
	if ((v = json_object_get(id, "default")) != NULL) {
		tg_jsonpos_push_key(&c->path, "default");
		if (!json_is_string(v) || strcmp(json_string_value(v), "deny") != 0)
			return fail(c, 0, "default must be \"deny\": allowing is always a rule");
		tg_jsonpos_pop(&c->path);
	}
	if ((v = json_object_get(id, "services")) != NULL) {
		tg_jsonpos_push_key(&c->path, "services");
		if ((rc = parse_services(c, m, v)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	if ((v = json_object_get(id, "rules")) == NULL)
		return fail(c, 0, "identity needs \"rules\"");
	tg_jsonpos_push_key(&c->path, "rules");
	if (!json_is_array(v) || json_array_size(v) > TG_IDMAP_RULES_MAX)
		return fail(c, 0, "rules must be a list of at most %d rules", TG_IDMAP_RULES_MAX);
	m->rules = calloc(json_array_size(v) ? json_array_size(v) : 1, sizeof(*m->rules));
	if (m->rules == NULL)
		return nomem(c);
	json_array_foreach(v, i, x) {
		tg_jsonpos_push_index(&c->path, i);
		if ((rc = parse_rule(c, x, &m->rules[i])) < 0)
			return rc;
		m->nrules++;
		tg_jsonpos_pop(&c->path);
	}
	tg_jsonpos_pop(&c->path);
	return 0;
}

int
tg_idmap_parse(const char *text, size_t len, const char *source, const char *const *services,
	       size_t nservices, struct tg_idmap **out, char *err, size_t errlen)
{
	struct ctx c = { .text = text,
			 .len = len,
			 .source = source ? source : "policy",
			 .known = services,
			 .nknown = nservices,
			 .err = err,
			 .errlen = errlen };
	struct tg_idmap *m;
	json_error_t je;
	json_t *root, *id;
	int rc;

	if (out == NULL || (text == NULL && len > 0)) {
		tg_sp_seterr(err, errlen, "%s: no text or no output", c.source);
		return -EINVAL;
	}
	*out = NULL;
	root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return nomem(&c);
		tg_sp_seterr(err, errlen, "%s:%d:%d: %s", c.source, je.line > 0 ? je.line : 1,
			     je.column > 0 ? je.column : 1, je.text);
		return -EINVAL;
	}
	if (!json_is_object(root) || (id = json_object_get(root, "identity")) == NULL) {
		json_decref(root);
		tg_sp_seterr(err, errlen, "%s: no \"identity\" section", c.source);
		return -ENOENT;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		json_decref(root);
		return nomem(&c);
	}
	m->root = root;
	tg_jsonpos_push_key(&c.path, "identity");
	rc = parse_identity(&c, m, id);
	if (rc < 0) {
		tg_idmap_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void
tg_idmap_free(struct tg_idmap *m)
{
	if (m == NULL)
		return;
	free(m->rules);
	free(m->svcs);
	json_decref(m->root);
	free(m);
}

size_t
tg_idmap_rules(const struct tg_idmap *m)
{
	return m != NULL ? m->nrules : 0;
}

unsigned int
tg_idmap_claim_path(const struct tg_idmap *m, const char *const **path)
{
	*path = m->claim_path;
	return m->claim_depth;
}

enum tg_idmap_expiry
tg_idmap_on_expiry(const struct tg_idmap *m, const char *service)
{
	size_t i;

	if (m == NULL || service == NULL)
		return TG_IDMAP_EXPIRY_IGNORE;
	for (i = 0; i < m->nsvcs; i++)
		if (strcmp(m->svcs[i].name, service) == 0)
			return m->svcs[i].expiry;
	return TG_IDMAP_EXPIRY_IGNORE;
}

static const struct svc_opt *
svc_of(const struct tg_idmap *m, const char *service)
{
	if (m == NULL || service == NULL)
		return NULL;
	for (size_t i = 0; i < m->nsvcs; i++)
		if (strcmp(m->svcs[i].name, service) == 0)
			return &m->svcs[i];
	return NULL;
}

bool
tg_idmap_require_grant(const struct tg_idmap *m, const char *service)
{
	const struct svc_opt *s = svc_of(m, service);

	return s != NULL && s->require_grant;
}

enum tg_idmap_grant_end
tg_idmap_on_grant_end(const struct tg_idmap *m, const char *service)
{
	const struct svc_opt *s = svc_of(m, service);

	return s != NULL ? s->grant_end : TG_IDMAP_GRANT_CONTINUE;
}

/* ------------------------------------------------------------------ */
/* Resolve                                                             */

static bool
ch_eq(char a, char b, bool icase)
{
	if (icase)
		return tolower((unsigned char)a) == tolower((unsigned char)b);
	return a == b;
}

/*
 * '*' matches any run; everything else itself. Backtracks only to the
 * last star, so a match costs O(len(p) x len(s)) at worst.
 */
static bool
glob(const char *p, const char *s, bool icase)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' && ch_eq(*p, *s, icase)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool
any_pattern(const json_t *pats, const char *s, bool icase)
{
	const json_t *x;
	size_t i;

	if (s == NULL)
		return false;
	if (json_is_string(pats))
		return glob(json_string_value(pats), s, icase);
	json_array_foreach(pats, i, x) {
		if (glob(json_string_value(x), s, icase))
			return true;
	}
	return false;
}

static bool
in_names(const json_t *names, const char *s)
{
	const json_t *x;
	size_t i;

	json_array_foreach(names, i, x) {
		if (strcmp(json_string_value(x), s) == 0)
			return true;
	}
	return false;
}

/* The token's view, checked once. */
struct who {
	const char *sub;
	const char *email;
	bool email_verified;
	const json_t *groups; /* string or array of strings, or NULL */
};

static bool
has_group(const struct who *w, const json_t *want)
{
	const json_t *g;
	size_t i;

	if (w->groups == NULL)
		return false;
	if (json_is_string(w->groups))
		return in_names(want, json_string_value(w->groups));
	json_array_foreach(w->groups, i, g) {
		if (in_names(want, json_string_value(g)))
			return true;
	}
	return false;
}

static bool
matches(const struct tg_idmap *m, const struct rule *r, const struct who *w, bool *unverified)
{
	if (r->sub != NULL && !any_pattern(r->sub, w->sub, false))
		return false;
	if (r->email != NULL) {
		if (!any_pattern(r->email, w->email, true))
			return false;
		/* deny rules match unverified addresses too: they fail closed */
		if (r->deny == NULL && m->require_email_verified && !w->email_verified) {
			*unverified = true;
			return false;
		}
	}
	if (r->groups != NULL && !has_group(w, r->groups))
		return false;
	return true;
}

static void decide(struct tg_idmap_decision *d, bool allow, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
decide(struct tg_idmap_decision *d, bool allow, const char *fmt, ...)
{
	va_list ap;

	d->allow = allow;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* A claim string for a reason: bounded, and "-" when absent. */
#define SHOW(s) ((s) != NULL ? (s) : "-")

int
tg_idmap_resolve(const struct tg_idmap *m, const json_t *claims, const char *service,
		 struct tg_idmap_decision *d)
{
	struct who w = { 0 };
	const json_t *v, *g;
	bool unverified = false;
	unsigned int i;
	size_t k;

	if (m == NULL || claims == NULL || service == NULL || d == NULL)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	d->rule = -1;
	d->rule_id = "";
	d->on_expiry = tg_idmap_on_expiry(m, service);
	d->require_grant = tg_idmap_require_grant(m, service);
	d->on_grant_end = tg_idmap_on_grant_end(m, service);
	if (!json_is_object(claims)) {
		decide(d, false, "token claims are not an object");
		return 0;
	}
	/* a claim of the wrong type is refused rather than read as absent: fail closed */
	v = json_object_get(claims, "sub");
	if (v != NULL && !json_is_string(v)) {
		decide(d, false, "sub claim is not a string");
		return 0;
	}
	w.sub = v != NULL ? json_string_value(v) : NULL;
	v = json_object_get(claims, "email");
	if (v != NULL && !json_is_string(v)) {
		decide(d, false, "email claim is not a string");
		return 0;
	}
	w.email = v != NULL ? json_string_value(v) : NULL;
	v = json_object_get(claims, "email_verified");
	w.email_verified =
		json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);

	v = claims;
	for (i = 0; i < m->claim_depth && v != NULL; i++) {
		/* a path through a non-object is malformed, not absent: fail closed */
		if (!json_is_object(v)) {
			decide(d, false, "groups claim path leads through a non-object");
			return 0;
		}
		v = json_object_get(v, m->claim_path[i]);
	}
	if (v != NULL && !json_is_string(v)) {
		if (!json_is_array(v) || json_array_size(v) > TG_IDMAP_GROUPS_MAX) {
			decide(d, false, "groups claim is not a list of at most %d strings",
			       TG_IDMAP_GROUPS_MAX);
			return 0;
		}
		json_array_foreach(v, k, g) {
			if (!json_is_string(g)) {
				decide(d, false, "groups claim holds a non-string");
				return 0;
			}
		}
	}
	w.groups = v;

	for (k = 0; k < m->nrules; k++) {
		const struct rule *r = &m->rules[k];

		if (r->services != NULL && !in_names(r->services, service))
			continue;
		if (!matches(m, r, &w, &unverified))
			continue;
		d->rule = (int)k;
		d->rule_id = r->id;
		if (r->deny != NULL) {
			decide(d, false, "rule %zu%s%s denies sub %.60s: %s", k,
			       r->id[0] ? " " : "", r->id, SHOW(w.sub), r->deny);
			return 0;
		}
		d->role = r->role;
		decide(d, true, "rule %zu%s%s maps sub %.60s to role %s on %.63s", k,
		       r->id[0] ? " " : "", r->id, SHOW(w.sub), r->role, service);
		return 0;
	}
	decide(d, false, "no identity rule maps sub %.60s to service %.63s%s", SHOW(w.sub), service,
	       unverified ? " (an email rule matched but email_verified is not true)" : "");
	return 0;
}
