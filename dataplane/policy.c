/* SPDX-License-Identifier: MIT */
/*
 * policy.c — see policy.h.
 *
 * Parsing is two tools: jansson validates the syntax and builds the tree
 * (it rejects duplicate keys, NUL in strings and invalid UTF-8), and
 * jsonpos.c finds in the raw text the line and column of whatever value
 * a semantic check refuses. The parser keeps the JSON path it is at in
 * its context, so every refusal is one call with that path. Positions for
 * the compiler (each pattern, each detector) are recorded on the way with
 * a cursor that moves forward through the text, so that recording them
 * costs one pass over the text, not one walk per pattern.
 *
 * A compiled policy blob (policy.h) is loaded by the same parse, then
 * the same tables: the command patterns' list (cmd_exprs_make()) and
 * detect.c's tg_detect_build(), which the compiler uses too, with a
 * source of databases that checks and deserialises the blob's instead of
 * compiling. The expression lists a blob records are those same lists,
 * so both ends derive them in one place.
 *
 * Nothing here runs on the fast path except tg_policy_match_cmd() and
 * tg_policy_column(), which allocate nothing and take no lock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>
#include <jansson.h>

#include "errbuf.h"
#include "jsonpos.h"
#include <openssl/evp.h>

#include "policy.h"
#include "wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *const tg_cmd_action_names[TG_ACT_MAX] = {
	[TG_ACT_ALLOW] = "allow",
	[TG_ACT_LOG] = "log",
	[TG_ACT_BLOCK] = "block",
	[TG_ACT_HOLD] = "hold",
};

static const struct {
	const char *name;
	enum tg_detect_mask_style style;
} mask_names[] = {
	{ "full", TG_DETECT_MASK_FULL },
	{ "last4", TG_DETECT_MASK_KEEP_LAST4 },
	{ "keep-domain", TG_DETECT_MASK_EMAIL_DOMAIN },
};

/* User text quoted in a message: enough to recognise it. */
#define QUOTE_MAX 48

/*
 * s as a double-quoted string for a message: quotes, backslashes and
 * bytes outside printable ASCII escaped, so that a key or id from the file
 * cannot break the one-line message, and cut at QUOTE_MAX bytes.
 */
struct quoted {
	char s[QUOTE_MAX * 4 + 8];
};

static const char *
quote(struct quoted *q, const char *s)
{
	size_t o = 0, i;

	q->s[o++] = '"';
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == QUOTE_MAX) {
			memcpy(q->s + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(q->s + o, 5, "\\x%02x", c);
			o += 4;
		} else {
			q->s[o++] = (char)c;
		}
	}
	q->s[o++] = '"';
	q->s[o] = '\0';
	return q->s;
}

/* ------------------------------------------------------------------ */
/* SHA-256 (libcrypto's EVP), of the policy text and of the expression  */
/* lists in a compiled policy blob: once per policy, off the fast path.  */

struct sha256 {
	EVP_MD_CTX *ctx;	/* NULL after a failure: the digest is then all ones */
};

static void
sha256_init(struct sha256 *s)
{
	s->ctx = EVP_MD_CTX_new();
	if (s->ctx != NULL && EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s->ctx);
		s->ctx = NULL;
	}
}

static void
sha256_update(struct sha256 *s, const void *data, size_t len)
{
	if (s->ctx != NULL && EVP_DigestUpdate(s->ctx, data, len) != 1) {
		EVP_MD_CTX_free(s->ctx);
		s->ctx = NULL;
	}
}

/*
 * The digest; a failure (no memory for libcrypto's context) gives all
 * ones, which matches no text's digest: a blob is then refused, never
 * taken for another's.
 */
static void
sha256_final(struct sha256 *s, uint8_t out[TG_POLICY_DIGEST_LEN])
{
	unsigned int n = 0;

	if (s->ctx == NULL || EVP_DigestFinal_ex(s->ctx, out, &n) != 1 ||
	    n != TG_POLICY_DIGEST_LEN)
		memset(out, 0xff, TG_POLICY_DIGEST_LEN);
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

static void
sha256(const void *data, size_t len, uint8_t out[TG_POLICY_DIGEST_LEN])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

/* ------------------------------------------------------------------ */
/* Parse context, path and errors                                      */

/* Where an id was first seen, to locate it for a "used twice" error. */
struct id_entry {
	const char *id;		/* points into the policy's arrays: stable */
	const char *section;	/* "commands" or "detectors" or "columns" */
	unsigned int index;
};

struct ctx {
	const char *text;
	size_t len;
	const char *source;
	const struct tg_services *svcs;
	char *err;
	size_t errlen;
	struct tg_policy *p;
	unsigned int patterns_cap;
	/* the JSON path of the value being checked */
	struct tg_jsonpos_path path;
	/* every id so far: open addressing, sized up front for all of them */
	struct id_entry *ids;
	size_t ids_mask;
	/* positions for the compiler: offsets and a forward cursor */
	struct tg_jsonpos_lc lc;
};

enum at { AT_VALUE, AT_KEY };

/* Line and column of the current path, or 0 when it cannot be found. */
static int
locate(const struct ctx *c, enum at at, uint32_t *line, uint32_t *col)
{
	unsigned int d = tg_jsonpos_path_len(&c->path);

	if (at == AT_KEY)
		return tg_jsonpos_find_key(c->text, c->len, c->path.step, d, line, col);
	return tg_jsonpos_find(c->text, c->len, c->path.step, d, line, col);
}

static int fail(struct ctx *c, enum at at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "source:line:column: reason" at the current path; always -EINVAL. */
static int
fail(struct ctx *c, enum at at, const char *fmt, ...)
{
	char msg[384];
	uint32_t line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (locate(c, at, &line, &col) == 0)
		tg_seterr(c->err, c->errlen, "%s:%u:%u: %s", c->source, line, col, msg);
	else
		tg_seterr(c->err, c->errlen, "%s: %s", c->source, msg);
	return -EINVAL;
}

static int
nomem(struct ctx *c)
{
	tg_seterr(c->err, c->errlen, "%s: out of memory", c->source);
	return -ENOMEM;
}

/* The recorded position of byte offset off (moving c->lc forward). */
static struct tg_policy_pos
pos_of(struct ctx *c, size_t off)
{
	tg_jsonpos_linecol(c->text, c->len, off, &c->lc);
	return (struct tg_policy_pos){ .line = c->lc.line, .col = c->lc.col };
}

/* Offset of the value at the current path, walked from the top; SIZE_MAX if not found. */
static size_t
here(const struct ctx *c)
{
	unsigned int d = tg_jsonpos_path_len(&c->path);
	size_t off;

	if (tg_jsonpos_offset(c->text, c->len, 0, c->path.step, d, 0, &off) < 0)
		return SIZE_MAX;
	return off;
}

/*
 * Offset of element i of the array at offset arr, given prev, the offset
 * of element i - 1: one step forward, so that visiting every element costs
 * one pass. SIZE_MAX when not found (only on a jsonpos bug: the text is
 * valid JSON), which leaves the recorded position {0, 0}.
 */
static size_t
elem_offset(const struct ctx *c, size_t arr, size_t i, size_t prev)
{
	struct tg_jsonpos_step s = { .key = NULL, .index = i };
	size_t off;

	if (i > 0 && prev != SIZE_MAX && tg_jsonpos_next(c->text, c->len, prev, &off) == 0)
		return off;
	if (arr != SIZE_MAX && tg_jsonpos_offset(c->text, c->len, arr, &s, 1, 0, &off) == 0)
		return off;
	return SIZE_MAX;
}

/* Checks that every key of obj is one of allowed[] (NULL-terminated). */
static int
check_keys(struct ctx *c, json_t *obj, const char *const *allowed, const char *what)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		char list[256];
		size_t o = 0;
		unsigned int i;
		struct quoted q;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		list[0] = '\0';
		for (i = 0; allowed[i] != NULL && o < sizeof(list); i++) {
			int n = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
					 allowed[i]);

			if (n < 0)
				break;
			o += (size_t)n;
		}
		tg_jsonpos_push_key(&c->path, key);
		return fail(c, AT_KEY, "unknown key %s in %s (known: %s)", quote(&q, key), what,
			    list);
	}
	return 0;
}

/* obj[key] when present, else NULL; a missing required key is an error at obj. */
static int
member(struct ctx *c, json_t *obj, const char *key, bool required, const char *what,
       json_t **out)
{
	*out = json_object_get(obj, key);
	if (*out == NULL && required)
		return fail(c, AT_VALUE, "%s has no \"%s\"", what, key);
	return 0;
}

/* A string member (optional unless required): *s stays as it was when absent. */
static int
member_string(struct ctx *c, json_t *obj, const char *key, bool required, const char *what,
	      const char **s)
{
	json_t *v;
	int rc = member(c, obj, key, required, what, &v);

	if (rc < 0 || v == NULL)
		return rc;
	if (!json_is_string(v)) {
		tg_jsonpos_push_key(&c->path, key);
		return fail(c, AT_VALUE, "\"%s\" must be a string", key);
	}
	*s = json_string_value(v);
	return 0;
}

static int
member_bool(struct ctx *c, json_t *obj, const char *key, bool *b)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		tg_jsonpos_push_key(&c->path, key);
		return fail(c, AT_VALUE, "\"%s\" must be true or false", key);
	}
	*b = json_is_true(v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */

static uint64_t
hash_id(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/*
 * Checks the "id" of the object at the current path and copies it to id:
 * the character set, the length (max bytes with the NUL), and that no
 * earlier object of the file has it.
 */
static int
parse_id(struct ctx *c, json_t *obj, const char *what, const char *section, unsigned int index,
	 size_t max, char *id)
{
	const char *s = NULL;
	struct quoted q;
	size_t n, i, slot;
	int rc;

	rc = member_string(c, obj, "id", true, what, &s);
	if (rc < 0)
		return rc;
	tg_jsonpos_push_key(&c->path, "id");
	n = strlen(s);
	if (n == 0)
		return fail(c, AT_VALUE, "id is empty");
	if (n >= max)
		return fail(c, AT_VALUE, "id %s is longer than %zu bytes", quote(&q, s), max - 1);
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return fail(c, AT_VALUE, "id %s: only A-Z a-z 0-9 _ . - are allowed",
				    quote(&q, s));
	}
	for (slot = hash_id(s) & c->ids_mask; c->ids[slot].id != NULL;
	     slot = (slot + 1) & c->ids_mask) {
		const struct id_entry *e = &c->ids[slot];
		struct tg_jsonpos_step first[4];
		unsigned int d = 0;
		uint32_t line = 0, col = 0;

		if (strcmp(e->id, s) != 0)
			continue;
		first[d++] = (struct tg_jsonpos_step){ .key = e->section };
		if (strcmp(e->section, "commands") == 0)
			first[d++] = (struct tg_jsonpos_step){ .key = "rules" };
		first[d++] = (struct tg_jsonpos_step){ .key = NULL, .index = e->index };
		first[d++] = (struct tg_jsonpos_step){ .key = "id" };
		tg_jsonpos_find(c->text, c->len, first, d, &line, &col);
		return fail(c, AT_VALUE, "id %s is used twice (first at %u:%u)", quote(&q, s),
			    line, col);
	}
	memcpy(id, s, n + 1);
	c->ids[slot] = (struct id_entry){ .id = id, .section = section, .index = index };
	tg_jsonpos_pop(&c->path);
	return 0;
}

/* The action named by the string at the current path. */
static int
parse_action(struct ctx *c, const char *s, uint8_t *action)
{
	struct quoted q;
	unsigned int i;

	for (i = 0; i < TG_ACT_MAX; i++) {
		if (strcmp(s, tg_cmd_action_names[i]) == 0) {
			*action = (uint8_t)i;
			return 0;
		}
	}
	return fail(c, AT_VALUE, "unknown action %s (allow, log, block, hold)", quote(&q, s));
}

/* obj["mask"] into *style; "full" when absent. */
static int
parse_mask(struct ctx *c, json_t *obj, const char *what, uint8_t *style)
{
	const char *s = NULL;
	struct quoted q;
	unsigned int i;
	int rc;

	*style = TG_DETECT_MASK_FULL;
	rc = member_string(c, obj, "mask", false, what, &s);
	if (rc < 0 || s == NULL)
		return rc;
	for (i = 0; i < ARRAY_SIZE(mask_names); i++) {
		if (strcmp(s, mask_names[i].name) == 0) {
			*style = (uint8_t)mask_names[i].style;
			return 0;
		}
	}
	tg_jsonpos_push_key(&c->path, "mask");
	return fail(c, AT_VALUE, "unknown mask %s (full, last4, keep-domain)", quote(&q, s));
}

/* obj["services"] into a bitmask of service indices; every one when absent. */
static int
parse_services(struct ctx *c, json_t *obj, uint64_t *services)
{
	json_t *arr = json_object_get(obj, "services"), *v;
	struct quoted q;
	size_t i;

	*services = TG_POLICY_ALL_SERVICES;
	if (arr == NULL)
		return 0;
	tg_jsonpos_push_key(&c->path, "services");
	if (!json_is_array(arr))
		return fail(c, AT_VALUE, "\"services\" must be an array of service names");
	if (json_array_size(arr) == 0)
		return fail(c, AT_VALUE,
			    "\"services\" is empty (leave it out for every service)");
	*services = 0;
	json_array_foreach(arr, i, v) {
		const char *name;
		unsigned int k, nb;

		tg_jsonpos_push_index(&c->path, i);
		if (!json_is_string(v))
			return fail(c, AT_VALUE, "a service name must be a string");
		name = json_string_value(v);
		nb = c->svcs == NULL ? 0 : c->svcs->nb;
		if (nb > TG_MAX_SERVICES)
			nb = TG_MAX_SERVICES;
		for (k = 0; k < nb; k++)
			if (strncmp(c->svcs->svc[k].name, name, TG_SERVICE_NAME_MAX) == 0 &&
			    strlen(name) < TG_SERVICE_NAME_MAX)
				break;
		if (k == nb)
			return fail(c, AT_VALUE, "unknown service %s", quote(&q, name));
		if (*services & (1ull << k))
			return fail(c, AT_VALUE, "service %s is listed twice", quote(&q, name));
		*services |= 1ull << k;
		tg_jsonpos_pop(&c->path);
	}
	tg_jsonpos_pop(&c->path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */

static int
add_pattern(struct ctx *c, const char *s, unsigned int rule, struct tg_policy_pos pos)
{
	struct tg_policy *p = c->p;
	struct tg_cmd_pattern *pt;

	if (p->nb_patterns == c->patterns_cap) {
		unsigned int cap = c->patterns_cap ? c->patterns_cap * 2 : 16;

		pt = realloc(p->patterns, (size_t)cap * sizeof(*pt));
		if (pt == NULL)
			return nomem(c);
		p->patterns = pt;
		c->patterns_cap = cap;
	}
	pt = &p->patterns[p->nb_patterns];
	pt->expr = strdup(s);
	if (pt->expr == NULL)
		return nomem(c);
	pt->rule = rule;
	pt->pos = pos;
	p->nb_patterns++;
	return 0;
}

/* A hold's timeout: seconds, or a string of digits and a unit (s, m, h). */
static int
parse_timeout(struct ctx *c, json_t *v, uint32_t *out)
{
	unsigned long long n = 0;
	const char *s, *e;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			goto range;
		n = (unsigned long long)json_integer_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		for (e = s; *e >= '0' && *e <= '9' && e - s < 9; e++)
			n = n * 10 + (unsigned long long)(*e - '0');
		if (e == s || e[0] == '\0' || e[1] != '\0' || strchr("smh", e[0]) == NULL)
			return fail(c, AT_VALUE, "\"timeout\" must be seconds, or a duration "
						 "such as \"90s\", \"10m\", \"2h\"");
		n *= e[0] == 'h' ? 3600 : e[0] == 'm' ? 60 : 1;
	} else {
		return fail(c, AT_VALUE, "\"timeout\" must be seconds, or a duration such as "
					 "\"10m\"");
	}
	if (n < TG_POLICY_HOLD_TIMEOUT_MIN_S || n > TG_POLICY_HOLD_TIMEOUT_MAX_S)
		goto range;
	*out = (uint32_t)n;
	return 0;
range:
	return fail(c, AT_VALUE, "\"timeout\" must be %d s to %d s (24 h)",
		    TG_POLICY_HOLD_TIMEOUT_MIN_S, TG_POLICY_HOLD_TIMEOUT_MAX_S);
}

/* A hold rule's approvers, quorum, timeout and self_approval; refused on other actions. */
static int
parse_hold(struct ctx *c, json_t *obj, struct tg_cmd_rule *r)
{
	static const char *const hold_keys[] = { "approvers", "quorum", "timeout",
						  "self_approval" };
	const char *group = NULL;
	struct quoted q;
	unsigned int k;
	json_t *v;
	int rc;

	if (r->action != TG_ACT_HOLD) {
		for (k = 0; k < ARRAY_SIZE(hold_keys); k++) {
			if (json_object_get(obj, hold_keys[k]) == NULL)
				continue;
			tg_jsonpos_push_key(&c->path, hold_keys[k]);
			return fail(c, AT_KEY, "\"%s\" is for \"hold\" rules only", hold_keys[k]);
		}
		return 0;
	}
	r->quorum = 1;
	r->timeout_s = TG_POLICY_HOLD_TIMEOUT_S;
	if ((rc = member_string(c, obj, "approvers", false, "a hold rule", &group)) < 0 ||
	    (rc = member_bool(c, obj, "self_approval", &r->self_approval)) < 0)
		return rc;
	if (group != NULL) {
		size_t n = strlen(group);

		tg_jsonpos_push_key(&c->path, "approvers");
		/* a POSIX portable group name, as useradd takes it */
		if (n == 0 || n >= TG_POLICY_GROUP_MAX || group[0] == '-' ||
		    strspn(group, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789._-") != n)
			return fail(c, AT_VALUE, "%s is not a group name (1 to %d of A-Z a-z 0-9 "
						 ". _ -, not starting with -)",
				    quote(&q, group), TG_POLICY_GROUP_MAX - 1);
		memcpy(r->approvers, group, n + 1);
		tg_jsonpos_pop(&c->path);
	}
	if ((v = json_object_get(obj, "quorum")) != NULL) {
		tg_jsonpos_push_key(&c->path, "quorum");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > TG_POLICY_QUORUM_MAX)
			return fail(c, AT_VALUE, "\"quorum\" must be an integer from 1 to %d",
				    TG_POLICY_QUORUM_MAX);
		r->quorum = (uint8_t)json_integer_value(v);
		tg_jsonpos_pop(&c->path);
	}
	if ((v = json_object_get(obj, "timeout")) != NULL) {
		tg_jsonpos_push_key(&c->path, "timeout");
		if ((rc = parse_timeout(c, v, &r->timeout_s)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	return 0;
}

/* commands.rules[i], at the current path; off is its offset in the text (or SIZE_MAX). */
static int
parse_rule(struct ctx *c, json_t *obj, unsigned int i, size_t off)
{
	static const char *const keys[] = { "id",	 "patterns", "caseless",  "action",
					    "services",	 "approvers", "quorum",	   "timeout",
					    "self_approval", NULL };
	struct tg_cmd_rule *r = &c->p->cmds[i];
	const char *action = NULL;
	bool caseless = false;
	json_t *pats, *v;
	size_t k, poff = SIZE_MAX, arr;
	int rc;

	if (!json_is_object(obj))
		return fail(c, AT_VALUE, "a command rule must be an object");
	if ((rc = check_keys(c, obj, keys, "a command rule")) < 0 ||
	    (rc = parse_id(c, obj, "a command rule", "commands", i, TG_POLICY_ID_MAX, r->id)) < 0 ||
	    (rc = member_string(c, obj, "action", true, "a command rule", &action)) < 0 ||
	    (rc = member_bool(c, obj, "caseless", &caseless)) < 0)
		return rc;
	tg_jsonpos_push_key(&c->path, "action");
	if ((rc = parse_action(c, action, &r->action)) < 0)
		return rc;
	tg_jsonpos_pop(&c->path);
	r->caseless = caseless;
	if ((rc = parse_hold(c, obj, r)) < 0)
		return rc;

	if ((rc = member(c, obj, "patterns", true, "a command rule", &pats)) < 0)
		return rc;
	tg_jsonpos_push_key(&c->path, "patterns");
	if (!json_is_array(pats))
		return fail(c, AT_VALUE, "\"patterns\" must be an array of strings");
	if (json_array_size(pats) == 0)
		return fail(c, AT_VALUE, "\"patterns\" is empty");
	if (json_array_size(pats) > TG_POLICY_PATTERNS_MAX) {
		tg_jsonpos_push_index(&c->path, TG_POLICY_PATTERNS_MAX);
		return fail(c, AT_VALUE, "more than %d patterns in one rule",
			    TG_POLICY_PATTERNS_MAX);
	}
	/* the patterns array from the rule's own offset: O(rule), not O(file) */
	if (off == SIZE_MAX ||
	    tg_jsonpos_offset(c->text, c->len, off, &c->path.step[c->path.depth - 1], 1, 0, &arr) < 0)
		arr = here(c);
	json_array_foreach(pats, k, v) {
		struct tg_policy_pos pos = { 0, 0 };
		const char *s;

		tg_jsonpos_push_index(&c->path, k);
		if (!json_is_string(v))
			return fail(c, AT_VALUE, "a pattern must be a string");
		s = json_string_value(v);
		if (s[0] == '\0')
			return fail(c, AT_VALUE, "a pattern is empty");
		poff = elem_offset(c, arr, k, poff);
		if (poff != SIZE_MAX)
			pos = pos_of(c, poff);
		if ((rc = add_pattern(c, s, i, pos)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	tg_jsonpos_pop(&c->path);
	return parse_services(c, obj, &r->services);
}

static int
parse_commands(struct ctx *c, json_t *cmds)
{
	static const char *const keys[] = { "default", "rules", NULL };
	struct tg_policy *p = c->p;
	const char *def = NULL;
	json_t *rules, *v;
	size_t i, arr, off = SIZE_MAX;
	int rc;

	tg_jsonpos_push_key(&c->path, "commands");
	if (!json_is_object(cmds))
		return fail(c, AT_VALUE, "\"commands\" must be an object");
	if ((rc = check_keys(c, cmds, keys, "\"commands\"")) < 0 ||
	    (rc = member_string(c, cmds, "default", false, "\"commands\"", &def)) < 0)
		return rc;
	if (def != NULL) {
		tg_jsonpos_push_key(&c->path, "default");
		if ((rc = parse_action(c, def, &p->cmd_default)) < 0)
			return rc;
		if (p->cmd_default == TG_ACT_HOLD)
			return fail(c, AT_VALUE, "the default cannot be \"hold\": a hold is a rule, "
						 "which names its approvers");
		tg_jsonpos_pop(&c->path);
	}
	rules = json_object_get(cmds, "rules");
	if (rules != NULL) {
		tg_jsonpos_push_key(&c->path, "rules");
		if (!json_is_array(rules))
			return fail(c, AT_VALUE, "\"rules\" must be an array of rules");
		if (json_array_size(rules) > TG_POLICY_RULES_MAX) {
			tg_jsonpos_push_index(&c->path, TG_POLICY_RULES_MAX);
			return fail(c, AT_VALUE, "more than %d command rules",
				    TG_POLICY_RULES_MAX);
		}
		if (json_array_size(rules) > 0) {
			p->cmds = calloc(json_array_size(rules), sizeof(*p->cmds));
			if (p->cmds == NULL)
				return nomem(c);
		}
		arr = here(c);
		json_array_foreach(rules, i, v) {
			off = elem_offset(c, arr, i, off);
			tg_jsonpos_push_index(&c->path, i);
			if ((rc = parse_rule(c, v, (unsigned int)i, off)) < 0)
				return rc;
			p->nb_cmds++;
			tg_jsonpos_pop(&c->path);
		}
		tg_jsonpos_pop(&c->path);
	}
	tg_jsonpos_pop(&c->path);
	return 0;
}

/* Kind names from detect.h, so that a new kind needs no change here. */
static int
parse_kind(struct ctx *c, const char *s, uint8_t *kind)
{
	char list[256];
	size_t o = 0;
	struct quoted q;
	unsigned int k;

	for (k = TG_DETECT_NONE + 1; k < TG_DETECT_KIND_MAX; k++) {
		if (tg_detect_kind_names[k] != NULL && strcmp(s, tg_detect_kind_names[k]) == 0) {
			*kind = (uint8_t)k;
			return 0;
		}
	}
	list[0] = '\0';
	for (k = TG_DETECT_NONE + 1; k < TG_DETECT_KIND_MAX && o < sizeof(list); k++) {
		int n;

		if (tg_detect_kind_names[k] == NULL)
			continue;
		n = snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
			     tg_detect_kind_names[k]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return fail(c, AT_VALUE, "unknown detector kind %s (%s)", quote(&q, s), list);
}

/* A boolean that only one kind takes: refused on the others. */
static int
kind_flag(struct ctx *c, json_t *obj, const char *key, bool ok, const char *for_what,
	  uint32_t flag, uint32_t *flags)
{
	bool b = false;
	int rc;

	if (json_object_get(obj, key) == NULL)
		return 0;
	if (!ok) {
		tg_jsonpos_push_key(&c->path, key);
		return fail(c, AT_KEY, "\"%s\" is for %s detectors only", key, for_what);
	}
	if ((rc = member_bool(c, obj, key, &b)) < 0)
		return rc;
	if (b)
		*flags |= flag;
	return 0;
}

/* detectors[i], at the current path; off is its offset in the text (or SIZE_MAX). */
static int
parse_detector(struct ctx *c, json_t *obj, unsigned int i, size_t off, int *first_of_kind)
{
	static const char *const keys[] = { "id", "kind", "pattern", "caseless", "utf8",
					    "no_dash", "mask", "services", NULL };
	struct tg_policy_detector *d = &c->p->dets[i];
	const char *kind = NULL, *pattern = NULL;
	struct tg_jsonpos_step pstep = { .key = "pattern" };
	size_t poff;
	bool regex;
	int rc;

	if (!json_is_object(obj))
		return fail(c, AT_VALUE, "a detector must be an object");
	/* the name goes into the detect database, whose names are shorter */
	if ((rc = check_keys(c, obj, keys, "a detector")) < 0 ||
	    (rc = parse_id(c, obj, "a detector", "detectors", i, TG_DETECT_NAME_MAX, d->id)) < 0 ||
	    (rc = member_string(c, obj, "kind", true, "a detector", &kind)) < 0)
		return rc;
	tg_jsonpos_push_key(&c->path, "kind");
	if ((rc = parse_kind(c, kind, &d->kind)) < 0)
		return rc;
	regex = d->kind == TG_DETECT_REGEX;
	if (!regex) {
		if (first_of_kind[d->kind] >= 0) {
			struct tg_jsonpos_step first[3] = {
				{ .key = "detectors" },
				{ .key = NULL, .index = (size_t)first_of_kind[d->kind] },
				{ .key = "kind" },
			};
			uint32_t line = 0, col = 0;

			tg_jsonpos_find(c->text, c->len, first, 3, &line, &col);
			return fail(c, AT_VALUE,
				    "built-in detector %s is given twice (first at %u:%u)",
				    tg_detect_kind_names[d->kind], line, col);
		}
		first_of_kind[d->kind] = (int)i;
	}
	tg_jsonpos_pop(&c->path);

	if ((rc = member_string(c, obj, "pattern", regex, "a regex detector", &pattern)) < 0)
		return rc;
	if (pattern != NULL) {
		tg_jsonpos_push_key(&c->path, "pattern");
		if (!regex)
			return fail(c, AT_KEY, "\"pattern\" is for regex detectors only (%s is "
				    "built in)", tg_detect_kind_names[d->kind]);
		if (pattern[0] == '\0')
			return fail(c, AT_VALUE, "the pattern is empty");
		tg_jsonpos_pop(&c->path);
		d->pattern = strdup(pattern);
		if (d->pattern == NULL)
			return nomem(c);
	}
	/* the position a compile error points at */
	if (off != SIZE_MAX) {
		if (regex && tg_jsonpos_offset(c->text, c->len, off, &pstep, 1, 0, &poff) == 0)
			d->pos = pos_of(c, poff);
		else if (!regex)
			d->pos = pos_of(c, off);
	}

	if ((rc = kind_flag(c, obj, "caseless", regex, "regex", TG_DETECT_F_CASELESS,
			    &d->flags)) < 0 ||
	    (rc = kind_flag(c, obj, "utf8", regex, "regex", TG_DETECT_F_UTF8, &d->flags)) < 0 ||
	    (rc = kind_flag(c, obj, "no_dash", d->kind == TG_DETECT_SSN, "ssn",
			    TG_DETECT_F_SSN_NODASH, &d->flags)) < 0 ||
	    (rc = parse_mask(c, obj, "a detector", &d->style)) < 0)
		return rc;
	return parse_services(c, obj, &d->services);
}

static int
parse_detectors(struct ctx *c, json_t *dets)
{
	struct tg_policy *p = c->p;
	int first_of_kind[TG_DETECT_KIND_MAX];
	size_t i, arr, off = SIZE_MAX;
	json_t *v;
	int rc;

	for (i = 0; i < TG_DETECT_KIND_MAX; i++)
		first_of_kind[i] = -1;
	tg_jsonpos_push_key(&c->path, "detectors");
	if (!json_is_array(dets))
		return fail(c, AT_VALUE, "\"detectors\" must be an array of detectors");
	if (json_array_size(dets) > TG_DETECT_SPECS_MAX) {
		tg_jsonpos_push_index(&c->path, TG_DETECT_SPECS_MAX);
		return fail(c, AT_VALUE, "more than %d detectors", TG_DETECT_SPECS_MAX);
	}
	if (json_array_size(dets) > 0) {
		p->dets = calloc(json_array_size(dets), sizeof(*p->dets));
		if (p->dets == NULL)
			return nomem(c);
	}
	arr = here(c);
	json_array_foreach(dets, i, v) {
		off = elem_offset(c, arr, i, off);
		tg_jsonpos_push_index(&c->path, i);
		/* counted first: tg_policy_free() frees a half-parsed one's pattern */
		p->nb_dets++;
		if ((rc = parse_detector(c, v, (unsigned int)i, off, first_of_kind)) < 0)
			return rc;
		tg_jsonpos_pop(&c->path);
	}
	tg_jsonpos_pop(&c->path);
	return 0;
}

/* columns[i], at the current path. */
static int
parse_column(struct ctx *c, json_t *obj, unsigned int i)
{
	static const char *const keys[] = { "id", "column", "mask", "services", NULL };
	struct tg_column_rule *r = &c->p->cols[i];
	const char *col = NULL;
	struct quoted q;
	size_t n;
	int rc;

	if (!json_is_object(obj))
		return fail(c, AT_VALUE, "a column rule must be an object");
	if ((rc = check_keys(c, obj, keys, "a column rule")) < 0 ||
	    (rc = parse_id(c, obj, "a column rule", "columns", i, TG_POLICY_ID_MAX, r->id)) < 0 ||
	    (rc = member_string(c, obj, "column", true, "a column rule", &col)) < 0)
		return rc;
	tg_jsonpos_push_key(&c->path, "column");
	n = strlen(col);
	if (n == 0)
		return fail(c, AT_VALUE, "the column name is empty");
	if (n >= TG_POLICY_COLUMN_MAX)
		return fail(c, AT_VALUE, "column name %s is longer than %d bytes", quote(&q, col),
			    TG_POLICY_COLUMN_MAX - 1);
	memcpy(r->column, col, n + 1);
	tg_jsonpos_pop(&c->path);
	if ((rc = parse_mask(c, obj, "a column rule", &r->style)) < 0)
		return rc;
	return parse_services(c, obj, &r->services);
}

static int
parse_columns(struct ctx *c, json_t *cols)
{
	struct tg_policy *p = c->p;
	json_t *v;
	size_t i;
	int rc;

	tg_jsonpos_push_key(&c->path, "columns");
	if (!json_is_array(cols))
		return fail(c, AT_VALUE, "\"columns\" must be an array of column rules");
	if (json_array_size(cols) > TG_POLICY_RULES_MAX) {
		tg_jsonpos_push_index(&c->path, TG_POLICY_RULES_MAX);
		return fail(c, AT_VALUE, "more than %d column rules", TG_POLICY_RULES_MAX);
	}
	if (json_array_size(cols) > 0) {
		p->cols = calloc(json_array_size(cols), sizeof(*p->cols));
		if (p->cols == NULL)
			return nomem(c);
	}
	json_array_foreach(cols, i, v) {
		tg_jsonpos_push_index(&c->path, i);
		if ((rc = parse_column(c, v, (unsigned int)i)) < 0)
			return rc;
		p->nb_cols++;
		tg_jsonpos_pop(&c->path);
	}
	tg_jsonpos_pop(&c->path);
	return 0;
}

/* How many ids the file can hold, for sizing the id table; 0 for a wrong type. */
static size_t
count_ids(json_t *root)
{
	json_t *cmds = json_object_get(root, "commands");
	json_t *rules = json_is_object(cmds) ? json_object_get(cmds, "rules") : NULL;
	json_t *dets = json_object_get(root, "detectors");
	json_t *cols = json_object_get(root, "columns");
	size_t n = 0;

	/* the caps are checked before any id is added, so they bound the count */
	if (json_is_array(rules))
		n += json_array_size(rules) < TG_POLICY_RULES_MAX ? json_array_size(rules) :
								     TG_POLICY_RULES_MAX;
	if (json_is_array(dets))
		n += json_array_size(dets) < TG_DETECT_SPECS_MAX ? json_array_size(dets) :
								    TG_DETECT_SPECS_MAX;
	if (json_is_array(cols))
		n += json_array_size(cols) < TG_POLICY_RULES_MAX ? json_array_size(cols) :
								    TG_POLICY_RULES_MAX;
	return n;
}

static int
parse_root(struct ctx *c, json_t *root)
{
	/* "identity" is the slowpath's (slowpath/idmap.h): who may log in, as which role */
	static const char *const keys[] = { "commands", "detectors", "columns", "identity", NULL };
	json_t *v;
	size_t cap = 16;
	int rc;

	if (!json_is_object(root))
		return fail(c, AT_VALUE, "a policy must be a JSON object");
	if ((rc = check_keys(c, root, keys, "the policy")) < 0)
		return rc;
	/* at most half full: probes stay short */
	while (cap < 2 * count_ids(root))
		cap *= 2;
	c->ids = calloc(cap, sizeof(*c->ids));
	if (c->ids == NULL)
		return nomem(c);
	c->ids_mask = cap - 1;

	if ((v = json_object_get(root, "commands")) != NULL && (rc = parse_commands(c, v)) < 0)
		return rc;
	if ((v = json_object_get(root, "detectors")) != NULL && (rc = parse_detectors(c, v)) < 0)
		return rc;
	if ((v = json_object_get(root, "columns")) != NULL && (rc = parse_columns(c, v)) < 0)
		return rc;
	return 0;
}

int
tg_policy_parse(const char *text, size_t len, const char *source, const struct tg_services *svcs,
		struct tg_policy **out, char *err, size_t errlen)
{
	struct ctx c;
	json_error_t je;
	json_t *root;
	int rc;

	if (source == NULL)
		source = "policy";
	if (out == NULL || (text == NULL && len > 0)) {
		tg_seterr(err, errlen, "%s: no text or no output", source);
		return -EINVAL;
	}
	*out = NULL;
	if (text == NULL)
		text = "";
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory) {
			tg_seterr(err, errlen, "%s: out of memory", source);
			return -ENOMEM;
		}
		/* jansson's column is that of the last character it read */
		tg_seterr(err, errlen, "%s:%d:%d: %s", source, je.line > 0 ? je.line : 1,
		       je.column > 0 ? je.column : 1, je.text);
		return -EINVAL;
	}
	memset(&c, 0, sizeof(c));
	c.text = text;
	c.len = len;
	c.source = source;
	c.svcs = svcs;
	c.err = err;
	c.errlen = errlen;
	c.lc = (struct tg_jsonpos_lc)TG_JSONPOS_LC_INIT;
	c.p = calloc(1, sizeof(*c.p));
	if (c.p == NULL) {
		json_decref(root);
		return nomem(&c);
	}
	c.p->cmd_default = TG_ACT_ALLOW;
	sha256(text, len, c.p->text_sha256);
	rc = parse_root(&c, root);
	free(c.ids);
	json_decref(root);
	if (rc < 0) {
		tg_policy_free(c.p);
		return rc;
	}
	*out = c.p;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Compile                                                             */

/*
 * The command patterns as hs_compile_multi() takes them: what
 * tg_policy_compile() compiles and a compiled policy blob describes.
 * Free with cmd_exprs_free(). Returns 0, -ENOMEM, or -EINVAL (a pattern
 * of a rule that does not exist: only for a policy not from the parser).
 */
struct cmd_exprs {
	struct tg_detect_exprs x;
	const char **re;
	unsigned int *flags;
	unsigned int *ids;
};

static void
cmd_exprs_free(struct cmd_exprs *c)
{
	free(c->re);
	free(c->flags);
	free(c->ids);
}

static int
cmd_exprs_make(const struct tg_policy *p, struct cmd_exprs *c, const char *source, char *err,
	       size_t errlen)
{
	unsigned int k, n = p->nb_patterns;

	memset(c, 0, sizeof(*c));
	c->re = calloc(n, sizeof(*c->re));
	c->flags = calloc(n, sizeof(*c->flags));
	c->ids = calloc(n, sizeof(*c->ids));
	if (c->re == NULL || c->flags == NULL || c->ids == NULL) {
		cmd_exprs_free(c);
		tg_seterr(err, errlen, "%s: out of memory", source);
		return -ENOMEM;
	}
	for (k = 0; k < n; k++) {
		const struct tg_cmd_pattern *pt = &p->patterns[k];

		if (pt->rule >= p->nb_cmds) {
			cmd_exprs_free(c);
			tg_seterr(err, errlen, "%s: pattern %u: rule %u of %u", source, k, pt->rule,
			       p->nb_cmds);
			return -EINVAL;
		}
		c->re[k] = pt->expr;
		/*
		 * One report per rule and scan is all a decision needs, and no
		 * start of match: both keep the scan at its cheapest. DOTALL so
		 * that a pattern spans the lines of a multi-line statement.
		 */
		c->flags[k] = HS_FLAG_SINGLEMATCH | HS_FLAG_DOTALL |
			      (p->cmds[pt->rule].caseless ? HS_FLAG_CASELESS : 0u);
		c->ids[k] = pt->rule;
	}
	c->x = (struct tg_detect_exprs){ .re = c->re, .flags = c->flags, .ids = c->ids, .n = n };
	return 0;
}

static int
compile_cmds(struct tg_policy *p, const char *source, char *err, size_t errlen)
{
	hs_compile_error_t *cerr = NULL;
	hs_database_t *db = NULL;
	struct cmd_exprs c;
	unsigned int n = p->nb_patterns;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = cmd_exprs_make(p, &c, source, err, errlen)) < 0)
		return rc;
	if (hs_compile_multi(c.x.re, c.x.flags, c.x.ids, n, HS_MODE_BLOCK, NULL, &db, &cerr) !=
	    HS_SUCCESS) {
		const char *msg = cerr != NULL && cerr->message != NULL ? cerr->message : "failed";
		struct quoted q;

		if (cerr != NULL && cerr->expression >= 0 && (unsigned int)cerr->expression < n) {
			const struct tg_cmd_pattern *pt = &p->patterns[cerr->expression];

			tg_seterr(err, errlen, "%s:%u:%u: command rule %s: pattern %s: %s", source,
			       pt->pos.line, pt->pos.col, p->cmds[pt->rule].id,
			       quote(&q, pt->expr), msg);
		} else {
			tg_seterr(err, errlen, "%s: compiling %u command patterns: %s", source, n,
			       msg);
		}
		hs_free_compile_error(cerr);
		rc = -EINVAL;
	}
	cmd_exprs_free(&c);
	p->cmd_db = db;
	return rc;
}

/*
 * Re-points an error of tg_detect_compile(), "detector N (name): reason"
 * with N the detector's index here, at the detector's position.
 */
static void
detect_err(const struct tg_policy *p, const char *source, const char *msg, char *err,
	   size_t errlen)
{
	const char *rest;
	char *end;
	unsigned long i;

	if (strncmp(msg, "detector ", 9) != 0)
		goto plain;
	i = strtoul(msg + 9, &end, 10);
	if (end == msg + 9 || i >= p->nb_dets)
		goto plain;
	rest = end;
	if (rest[0] == ' ' && rest[1] == '(') {
		/* our ids have no ')' */
		rest = strchr(rest, ')');
		if (rest == NULL)
			goto plain;
		rest++;
	}
	if (rest[0] == ':')
		rest++;
	if (rest[0] == ' ')
		rest++;
	tg_seterr(err, errlen, "%s:%u:%u: detector %s: %s", source, p->dets[i].pos.line,
	       p->dets[i].pos.col, p->dets[i].id, rest);
	return;
plain:
	tg_seterr(err, errlen, "%s: %s", source, msg);
}

/*
 * A compiled policy blob being loaded (policy.h): where each database of
 * it is, from blob_parse(), and which of them the policy has taken.
 */
struct blob_db {
	const uint8_t *bytes;	/* hs_serialize_database() output */
	uint32_t len;
	uint32_t nexpr;
	const uint8_t *list;	/* SHA-256 of the expression list */
	bool present, used;
};

struct blob {
	const char *source;
	struct blob_db db[TG_POLICY_BLOB_TAG_MAX];	/* by tag */
	bool refused;	/* the error is a refusal of the blob, in full */
};

/* The detect specs of p's detectors, a detector's index its id; NULL when out of memory. */
static struct tg_detect_spec *
det_specs(const struct tg_policy *p)
{
	struct tg_detect_spec *specs = calloc(p->nb_dets + 1, sizeof(*specs));
	unsigned int i;

	if (specs == NULL)
		return NULL;
	for (i = 0; i < p->nb_dets; i++) {
		const struct tg_policy_detector *d = &p->dets[i];

		specs[i] = (struct tg_detect_spec){
			.id = i,
			.kind = (enum tg_detect_kind)d->kind,
			.flags = d->flags,
			.name = d->id,
			.pattern = d->pattern,
		};
	}
	return specs;
}

static int load_det_hs(void *arg, enum tg_detect_hs which, const struct tg_detect_exprs *x,
		       void **hs, char *err, size_t errlen);

/*
 * Builds p->det_db: compiled (b NULL) or from the databases of blob b.
 * A blob's refusal is already "source: policy blob: reason" in msg.
 */
static int
build_dets(struct tg_policy *p, const char *source, struct blob *b, char *err, size_t errlen)
{
	struct tg_detect_spec *specs;
	struct tg_detect_db *db = NULL;
	char msg[512];
	int rc;

	if (p->nb_dets == 0)
		return 0;
	specs = det_specs(p);
	if (specs == NULL) {
		tg_seterr(err, errlen, "%s: out of memory", source);
		return -ENOMEM;
	}
	msg[0] = '\0';
	if (b == NULL)
		rc = tg_detect_compile(specs, p->nb_dets, &db, msg, sizeof(msg));
	else
		rc = tg_detect_build(specs, p->nb_dets, load_det_hs, b, &db, msg, sizeof(msg));
	free(specs);
	if (rc == -ENOMEM) {
		tg_seterr(err, errlen, "%s: out of memory", source);
		return rc;
	}
	if (rc < 0 && b != NULL && b->refused) {
		tg_seterr(err, errlen, "%s", msg);
		return rc;
	}
	if (rc < 0) {
		detect_err(p, source, msg, err, errlen);
		return rc;
	}
	p->det_db = db;
	return 0;
}

int
tg_policy_compile(struct tg_policy *p, const char *source, char *err, size_t errlen)
{
	int rc;

	if (source == NULL)
		source = "policy";
	if (p == NULL) {
		tg_seterr(err, errlen, "%s: no policy", source);
		return -EINVAL;
	}
	if (p->cmd_db != NULL || p->det_db != NULL) {
		tg_seterr(err, errlen, "%s: already compiled", source);
		return -EALREADY;
	}
	if ((rc = compile_cmds(p, source, err, errlen)) < 0)
		return rc;
	if ((rc = build_dets(p, source, NULL, err, errlen)) < 0) {
		hs_free_database(p->cmd_db);
		p->cmd_db = NULL;
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Compiled policy blob                                                */

#define BLOB_DB_HDR (1 + 4 + TG_POLICY_DIGEST_LEN + 4)	/* tag, exprs, list, length */

/*
 * The shortest serialised database looked at. hs_serialized_database_info()
 * reads the mode from the bytecode after Hyperscan's 32-byte header
 * without checking that the length covers it (Hyperscan 5.4,
 * database.c); the smallest real database is about 900 bytes.
 */
#define HS_SERIALIZED_MIN 256

static const char *const blob_db_names[TG_POLICY_BLOB_TAG_MAX] = {
	[TG_POLICY_BLOB_CMD] = "command",
	[TG_POLICY_BLOB_DETECT + TG_DETECT_HS_MAIN] = "detect prefilter",
	[TG_POLICY_BLOB_DETECT + TG_DETECT_HS_LIT] = "detect literal",
	[TG_POLICY_BLOB_DETECT + TG_DETECT_HS_LOCATE] = "detect locate",
};

/* The SHA-256 of an expression list, as policy.h lays it out. */
static void
exprs_digest(const struct tg_detect_exprs *x, uint8_t out[TG_POLICY_DIGEST_LEN])
{
	struct sha256 s;
	unsigned int i;

	sha256_init(&s);
	for (i = 0; i < x->n; i++) {
		size_t n = strlen(x->re[i]);
		uint8_t b[12];

		tg_wr32(b, x->ids[i]);
		tg_wr32(b + 4, x->flags[i]);
		tg_wr32(b + 8, (uint32_t)n);
		sha256_update(&s, b, sizeof(b));
		sha256_update(&s, x->re[i], n);
	}
	sha256_final(&s, out);
}

/* A blob being written. The first error sticks; why names its database. */
struct wbuf {
	uint8_t *b;
	size_t len, cap;
	unsigned int count;	/* databases written */
	int err;
	const char *why;
};

static void
put(struct wbuf *w, const void *p, size_t n)
{
	size_t cap;
	uint8_t *nb;

	if (w->err != 0)
		return;
	if (n > TG_POLICY_BLOB_MAX - w->len) {
		w->err = -EFBIG;
		return;
	}
	if (w->len + n > w->cap) {
		for (cap = w->cap ? w->cap : 4096; cap < w->len + n; cap *= 2)
			;
		nb = realloc(w->b, cap);
		if (nb == NULL) {
			w->err = -ENOMEM;
			return;
		}
		w->b = nb;
		w->cap = cap;
	}
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

/* Appends database db of tag, compiled from x. */
static void
put_db(struct wbuf *w, enum tg_policy_blob_tag tag, const struct tg_detect_exprs *x,
       const hs_database_t *db)
{
	uint8_t h[BLOB_DB_HDR];
	char *bytes = NULL;
	size_t n = 0;
	hs_error_t hrc;

	if (w->err != 0)
		return;
	hrc = hs_serialize_database(db, &bytes, &n);
	if (hrc != HS_SUCCESS) {
		w->err = hrc == HS_NOMEM ? -ENOMEM : -EIO;
		w->why = blob_db_names[tag];
		return;
	}
	if (n > TG_POLICY_BLOB_MAX) {
		w->err = -EFBIG;
	} else {
		h[0] = (uint8_t)tag;
		tg_wr32(h + 1, x->n);
		exprs_digest(x, h + 5);
		tg_wr32(h + 5 + TG_POLICY_DIGEST_LEN, (uint32_t)n);
		put(w, h, sizeof(h));
		put(w, bytes, n);
		w->count++;
	}
	/* Hyperscan's misc allocator is malloc(): tollgate sets no other */
	free(bytes);
}

struct save_ctx {
	struct wbuf *w;
	const struct tg_detect_db *db;
	unsigned int seen;	/* bit which: written */
};

/* tg_detect_build()'s walk when serialising: each database with its list. */
static int
save_det_hs(void *arg, enum tg_detect_hs which, const struct tg_detect_exprs *x, void **hs,
	    char *err, size_t errlen)
{
	struct save_ctx *c = arg;
	const hs_database_t *db = tg_detect_hs_db(c->db, which);

	(void)hs;
	if (db == NULL) {
		tg_seterr(err, errlen, "the compiled policy has no %s database",
		       blob_db_names[TG_POLICY_BLOB_DETECT + which]);
		return -EINVAL;
	}
	c->seen |= 1u << which;
	put_db(c->w, TG_POLICY_BLOB_DETECT + which, x, db);
	return 0;
}

/* The detect databases of p, written by a walk over the lists they are compiled from. */
static int
save_dets(const struct tg_policy *p, struct wbuf *w, char *err, size_t errlen)
{
	struct save_ctx c = { .w = w, .db = p->det_db };
	struct tg_detect_spec *specs;
	char msg[384];
	unsigned int k;
	int rc;

	if (p->det_db == NULL)
		return 0;
	specs = det_specs(p);
	if (specs == NULL) {
		tg_seterr(err, errlen, "policy blob: out of memory");
		return -ENOMEM;
	}
	msg[0] = '\0';
	rc = tg_detect_build(specs, p->nb_dets, save_det_hs, &c, NULL, msg, sizeof(msg));
	free(specs);
	if (rc < 0) {
		tg_seterr(err, errlen, "policy blob: %s", rc == -ENOMEM ? "out of memory" : msg);
		return rc;
	}
	for (k = 0; k < TG_DETECT_HS_MAX; k++) {
		if (tg_detect_hs_db(p->det_db, k) != NULL && !(c.seen & (1u << k))) {
			tg_seterr(err, errlen, "policy blob: the compiled policy has a %s database "
			       "its detectors do not make",
			       blob_db_names[TG_POLICY_BLOB_DETECT + k]);
			return -EINVAL;
		}
	}
	return 0;
}

int
tg_policy_serialize(const struct tg_policy *p, uint8_t **blob, size_t *len, char *err,
		    size_t errlen)
{
	uint8_t h[TG_POLICY_BLOB_HDR];
	struct wbuf w = { 0 };
	struct cmd_exprs c;
	int rc;

	if (blob == NULL || len == NULL) {
		tg_seterr(err, errlen, "policy blob: no output");
		return -EINVAL;
	}
	*blob = NULL;
	*len = 0;
	if (p == NULL || (p->nb_patterns > 0) != (p->cmd_db != NULL) ||
	    (p->nb_dets > 0) != (p->det_db != NULL)) {
		tg_seterr(err, errlen, "policy blob: the policy is not compiled");
		return -EINVAL;
	}
	tg_wr32(h, TG_POLICY_BLOB_MAGIC);
	tg_wr16(h + 4, TG_POLICY_BLOB_VERSION);
	tg_wr16(h + 6, 0);	/* the count, once known */
	memcpy(h + 8, p->text_sha256, TG_POLICY_DIGEST_LEN);
	put(&w, h, sizeof(h));
	if (p->cmd_db != NULL) {
		if ((rc = cmd_exprs_make(p, &c, "policy blob", err, errlen)) < 0)
			goto err;
		put_db(&w, TG_POLICY_BLOB_CMD, &c.x, p->cmd_db);
		cmd_exprs_free(&c);
	}
	if ((rc = save_dets(p, &w, err, errlen)) < 0)
		goto err;
	rc = w.err;
	if (rc == -ENOMEM)
		tg_seterr(err, errlen, "policy blob: out of memory");
	else if (rc == -EFBIG)
		tg_seterr(err, errlen, "policy blob: larger than %u bytes", TG_POLICY_BLOB_MAX);
	else if (rc < 0)
		tg_seterr(err, errlen, "policy blob: Hyperscan cannot serialise the %s database",
		       w.why);
	if (rc < 0)
		goto err;
	tg_wr16(w.b + 6, (uint16_t)w.count);
	*blob = w.b;
	*len = w.len;
	return 0;

err:
	free(w.b);
	return rc;
}

static int blob_fail(struct blob *b, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "source: policy blob: reason"; always -EINVAL. */
static int
blob_fail(struct blob *b, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tg_seterr(err, errlen, "%s: policy blob: %s", b->source, msg);
	b->refused = true;
	return -EINVAL;
}

/* Splits p[0..len) into its databases: the framing, and the text it belongs to. */
static int
blob_parse(struct blob *b, const uint8_t *p, size_t len, const uint8_t *text_sha256, char *err,
	   size_t errlen)
{
	size_t off = TG_POLICY_BLOB_HDR;
	unsigned int count, i, tag, prev = 0;
	uint32_t magic;

	if (len > TG_POLICY_BLOB_MAX)
		return blob_fail(b, err, errlen, "%zu bytes, more than %u", len,
				 TG_POLICY_BLOB_MAX);
	if (len < TG_POLICY_BLOB_HDR)
		return blob_fail(b, err, errlen, "%zu bytes, shorter than its %u-byte header", len,
				 TG_POLICY_BLOB_HDR);
	magic = tg_rd32(p);
	if (magic != TG_POLICY_BLOB_MAGIC)
		return blob_fail(b, err, errlen, "magic 0x%08x: not a compiled policy", magic);
	if (tg_rd16(p + 4) != TG_POLICY_BLOB_VERSION)
		return blob_fail(b, err, errlen, "format version %u, this build reads %u",
				 tg_rd16(p + 4), TG_POLICY_BLOB_VERSION);
	count = tg_rd16(p + 6);
	for (i = 0; i < count; i++) {
		struct blob_db *d;

		if (len - off < BLOB_DB_HDR)
			return blob_fail(b, err, errlen, "cut in the header of database %u of %u",
					 i + 1, count);
		tag = p[off];
		if (tag == 0 || tag >= TG_POLICY_BLOB_TAG_MAX)
			return blob_fail(b, err, errlen, "database %u of %u: unknown tag %u", i + 1,
					 count, tag);
		if (tag <= prev)
			return blob_fail(b, err, errlen, "database %u of %u: tag %u after tag %u",
					 i + 1, count, tag, prev);
		d = &b->db[tag];
		d->nexpr = tg_rd32(p + off + 1);
		d->list = p + off + 5;
		d->len = tg_rd32(p + off + 5 + TG_POLICY_DIGEST_LEN);
		off += BLOB_DB_HDR;
		if (d->len > len - off)
			return blob_fail(b, err, errlen,
					 "cut in the %s database (%u bytes, %zu left)",
					 blob_db_names[tag], d->len, len - off);
		d->bytes = p + off;
		d->present = true;
		off += d->len;
		prev = tag;
	}
	if (off != len)
		return blob_fail(b, err, errlen, "%zu bytes after the last of %u databases",
				 len - off, count);
	if (memcmp(p + 8, text_sha256, TG_POLICY_DIGEST_LEN) != 0)
		return blob_fail(b, err, errlen, "compiled from another text (SHA-256 "
				 "%02x%02x%02x%02x..., this text's %02x%02x%02x%02x...)", p[8],
				 p[9], p[10], p[11], text_sha256[0], text_sha256[1],
				 text_sha256[2], text_sha256[3]);
	return 0;
}

/*
 * Database tag of b, which the policy makes of x, deserialised into *out
 * once the checks of policy.h pass.
 */
static int
load_hs(struct blob *b, enum tg_policy_blob_tag tag, const struct tg_detect_exprs *x,
	hs_database_t **out, char *err, size_t errlen)
{
	struct blob_db *d = &b->db[tag];
	const char *name = blob_db_names[tag];
	uint8_t list[TG_POLICY_DIGEST_LEN];
	hs_database_t *db = NULL;
	char *info = NULL;
	const char *mode;
	hs_error_t hrc;
	bool block;

	if (!d->present)
		return blob_fail(b, err, errlen, "no %s database, which the policy needs", name);
	d->used = true;
	if (d->nexpr != x->n)
		return blob_fail(b, err, errlen,
				 "%s database of %u expressions, the policy makes %u", name,
				 d->nexpr, x->n);
	exprs_digest(x, list);
	if (memcmp(list, d->list, sizeof(list)) != 0)
		return blob_fail(b, err, errlen, "%s database compiled from other expressions than "
				 "this build makes of the policy (another version?)", name);
	if (d->len < HS_SERIALIZED_MIN)
		return blob_fail(b, err, errlen, "%s database of %u bytes: too short to be one",
				 name, d->len);
	hrc = hs_serialized_database_info((const char *)d->bytes, d->len, &info);
	if (hrc == HS_SUCCESS) {
		mode = strstr(info, " Mode: ");
		block = mode != NULL && strcmp(mode + 7, "BLOCK") == 0;
		free(info);
		if (!block)
			return blob_fail(b, err, errlen, "%s database is not in block mode", name);
		hrc = hs_deserialize_database((const char *)d->bytes, d->len, &db);
	}
	switch (hrc) {
	case HS_SUCCESS:
		*out = db;
		return 0;
	case HS_NOMEM:
		tg_seterr(err, errlen, "%s: out of memory", b->source);
		return -ENOMEM;
	case HS_DB_VERSION_ERROR:
		return blob_fail(b, err, errlen, "%s database made by another Hyperscan than %s",
				 name, hs_version());
	case HS_DB_PLATFORM_ERROR:
		return blob_fail(b, err, errlen,
				 "%s database made for CPU features this host lacks", name);
	default:
		return blob_fail(b, err, errlen, "%s database is corrupt (Hyperscan error %d: its "
				 "header, length or checksum)", name, (int)hrc);
	}
}

/* tg_detect_build()'s source of databases when loading a blob. */
static int
load_det_hs(void *arg, enum tg_detect_hs which, const struct tg_detect_exprs *x, void **hs,
	    char *err, size_t errlen)
{
	hs_database_t *db = NULL;
	int rc = load_hs(arg, TG_POLICY_BLOB_DETECT + which, x, &db, err, errlen);

	if (rc == 0)
		*hs = db;
	return rc;
}

static int
load_cmds(struct tg_policy *p, struct blob *b, char *err, size_t errlen)
{
	hs_database_t *db = NULL;
	struct cmd_exprs c;
	int rc;

	if (p->nb_patterns == 0)
		return 0;
	if ((rc = cmd_exprs_make(p, &c, b->source, err, errlen)) < 0)
		return rc;
	rc = load_hs(b, TG_POLICY_BLOB_CMD, &c.x, &db, err, errlen);
	cmd_exprs_free(&c);
	p->cmd_db = db;
	return rc;
}

int
tg_policy_load_compiled(const char *text, size_t len, const char *source,
			const struct tg_services *svcs, const uint8_t *blob, size_t bloblen,
			struct tg_policy **out, char *err, size_t errlen)
{
	struct tg_policy *p = NULL;
	struct blob b;
	unsigned int t;
	int rc;

	if (source == NULL)
		source = "policy";
	if (out != NULL)
		*out = NULL;
	if (out == NULL || (blob == NULL && bloblen > 0)) {
		tg_seterr(err, errlen, "%s: no blob or no output", source);
		return -EINVAL;
	}
	if ((rc = tg_policy_parse(text, len, source, svcs, &p, err, errlen)) < 0)
		return rc;
	memset(&b, 0, sizeof(b));
	b.source = source;
	if ((rc = blob_parse(&b, blob, bloblen, p->text_sha256, err, errlen)) < 0 ||
	    (rc = load_cmds(p, &b, err, errlen)) < 0 ||
	    (rc = build_dets(p, source, &b, err, errlen)) < 0)
		goto err;
	for (t = 0; t < TG_POLICY_BLOB_TAG_MAX; t++) {
		if (b.db[t].present && !b.db[t].used) {
			rc = blob_fail(&b, err, errlen,
				       "a %s database, which the policy does not need",
				       blob_db_names[t]);
			goto err;
		}
	}
	*out = p;
	return 0;

err:
	tg_policy_free(p);
	return rc;
}

/* Reads the whole of f, at most TG_POLICY_FILE_MAX bytes, into a new buffer. */
static int
read_all(FILE *f, const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	const size_t limit = (size_t)TG_POLICY_FILE_MAX + 1;	/* one more tells "too big" */
	size_t cap = 64 * 1024, n = 0, want, r;
	char *b = malloc(cap), *nb;

	if (b == NULL)
		goto err_nomem;
	for (;;) {
		if (n == cap) {
			cap = cap * 2 < limit ? cap * 2 : limit;
			nb = realloc(b, cap);
			if (nb == NULL)
				goto err_nomem;
			b = nb;
		}
		want = cap - n;
		r = fread(b + n, 1, want, f);
		n += r;
		if (n > TG_POLICY_FILE_MAX) {
			free(b);
			tg_seterr(err, errlen, "%s: larger than %u bytes", path,
			       (unsigned int)TG_POLICY_FILE_MAX);
			return -EFBIG;
		}
		if (r < want)
			break;	/* end of file or an error: fread() says which */
	}
	if (ferror(f)) {
		int e = errno != 0 ? errno : EIO;

		free(b);
		tg_seterr(err, errlen, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	*buf = b;
	*len = n;
	return 0;
err_nomem:
	free(b);
	tg_seterr(err, errlen, "%s: out of memory", path);
	return -ENOMEM;
}

int
tg_policy_load(const char *path, const struct tg_services *svcs, struct tg_policy **out,
	       char *err, size_t errlen)
{
	struct tg_policy *p = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (out == NULL || path == NULL) {
		tg_seterr(err, errlen, "policy: no path or no output");
		return -EINVAL;
	}
	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL) {
		rc = -errno;
		tg_seterr(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	rc = read_all(f, path, &buf, &len, err, errlen);
	fclose(f);
	if (rc < 0)
		return rc;
	rc = tg_policy_parse(buf, len, path, svcs, &p, err, errlen);
	free(buf);
	if (rc < 0)
		return rc;
	if ((rc = tg_policy_compile(p, path, err, errlen)) < 0) {
		tg_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void
tg_policy_free(struct tg_policy *p)
{
	unsigned int i;

	if (p == NULL)
		return;
	hs_free_database(p->cmd_db);
	tg_detect_free(p->det_db);
	for (i = 0; i < p->nb_patterns; i++)
		free(p->patterns[i].expr);
	free(p->patterns);
	free(p->cmds);
	for (i = 0; i < p->nb_dets; i++)
		free(p->dets[i].pattern);
	free(p->dets);
	free(p->cols);
	free(p);
}

/* ------------------------------------------------------------------ */
/* Scanning                                                            */

struct tg_policy_scratch {
	const void *cmd_db;		/* the database this scratch is for */
	hs_scratch_t *hs;		/* NULL when there is no command rule */
	struct tg_detect_scratch *det;	/* NULL when there is no detector */
	unsigned int nb_cmds;
	unsigned int nb_words;
	uint64_t matched[];		/* one bit per command rule */
};

struct tg_policy_scratch *
tg_policy_scratch_alloc(const struct tg_policy *p)
{
	struct tg_policy_scratch *s;
	unsigned int words;

	if (p == NULL || (p->nb_patterns > 0 && p->cmd_db == NULL) ||
	    (p->nb_dets > 0 && p->det_db == NULL)) {
		errno = EINVAL;
		return NULL;
	}
	words = (p->nb_cmds + 63) / 64;
	s = calloc(1, sizeof(*s) + (size_t)words * sizeof(s->matched[0]));
	if (s == NULL)
		return NULL;
	s->cmd_db = p->cmd_db;
	s->nb_cmds = p->nb_cmds;
	s->nb_words = words;
	if (p->cmd_db != NULL && hs_alloc_scratch(p->cmd_db, &s->hs) != HS_SUCCESS) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	if (p->det_db != NULL) {
		s->det = tg_detect_scratch_alloc(p->det_db);
		if (s->det == NULL) {
			int e = errno;

			hs_free_scratch(s->hs);
			free(s);
			errno = e;
			return NULL;
		}
	}
	return s;
}

void
tg_policy_scratch_free(struct tg_policy_scratch *s)
{
	if (s == NULL)
		return;
	hs_free_scratch(s->hs);
	tg_detect_scratch_free(s->det);
	free(s);
}

struct tg_detect_scratch *
tg_policy_detect_scratch(struct tg_policy_scratch *s)
{
	return s == NULL ? NULL : s->det;
}

static bool
in_scope(uint64_t services, uint16_t svc)
{
	/* service indices stop at TG_MAX_SERVICES (64); past that only "every" holds */
	if (svc >= 64)
		return services == TG_POLICY_ALL_SERVICES;
	return (services >> svc) & 1u;
}

static int
on_cmd_match(unsigned int id, unsigned long long from, unsigned long long to,
	     unsigned int flags, void *ctx)
{
	struct tg_policy_scratch *s = ctx;

	(void)from;
	(void)to;
	(void)flags;
	if (id < s->nb_cmds)
		s->matched[id / 64] |= 1ull << (id % 64);
	return 0;	/* carry on: every rule that matches is reported */
}

int
tg_policy_match_cmd(const struct tg_policy *p, struct tg_policy_scratch *s, const char *text,
		    uint32_t len, uint16_t svc, uint32_t *rules, unsigned int max)
{
	unsigned int w, n = 0;

	if (p == NULL || s == NULL || (text == NULL && len > 0) || (rules == NULL && max > 0))
		return -EINVAL;
	if (p->cmd_db == NULL)
		return p->nb_patterns > 0 ? -EINVAL : 0;
	if (s->cmd_db != p->cmd_db || s->nb_cmds != p->nb_cmds || s->hs == NULL)
		return -EINVAL;
	memset(s->matched, 0, (size_t)s->nb_words * sizeof(s->matched[0]));
	/* Hyperscan refuses a NULL buffer even for length 0 */
	if (hs_scan(p->cmd_db, text != NULL ? text : "", len, 0, s->hs, on_cmd_match, s) !=
	    HS_SUCCESS)
		return -EIO;
	/* bit order is rule order is file order: the first written decides */
	for (w = 0; w < s->nb_words; w++) {
		uint64_t bits = s->matched[w];

		while (bits != 0) {
			unsigned int r = w * 64 + (unsigned int)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (!in_scope(p->cmds[r].services, svc))
				continue;
			if (n < max)
				rules[n] = r;
			n++;
		}
	}
	return (int)n;
}

/* ASCII case folding, not the locale's: PostgreSQL folds identifiers so. */
static bool
same_name(const char *a, const char *b, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

const struct tg_column_rule *
tg_policy_column(const struct tg_policy *p, const char *name, uint32_t len, uint16_t svc)
{
	unsigned int i;

	if (p == NULL || (name == NULL && len > 0) || len >= TG_POLICY_COLUMN_MAX)
		return NULL;
	for (i = 0; i < p->nb_cols; i++) {
		const struct tg_column_rule *r = &p->cols[i];

		if (strnlen(r->column, TG_POLICY_COLUMN_MAX) == len &&
		    same_name(r->column, name, len) && in_scope(r->services, svc))
			return r;
	}
	return NULL;
}
