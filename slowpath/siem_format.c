/* SPDX-License-Identifier: MIT */
/*
 * siem_format.c — audit records as OCSF, CEF, ECS and JSON-lines events.
 * See siem_format.h for the mapping, the integrity fields and the trim
 * levels.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "siem_format.h"

#define PRODUCT "tollgate"
#define VENDOR "tollgate"

const char *const tg_siem_format_names[TG_SIEM_FMT_MAX] = {
#define TG_SIEM_X(e, s) [TG_SIEM_FMT_##e] = s,
	TG_SIEM_FORMATS(TG_SIEM_X)
#undef TG_SIEM_X
};

/* Statement bytes kept at each trim level (siem_format.h). */
static const size_t stmt_keep[TG_SIEM_TRIM_LEVELS] = { TG_SIEM_STATEMENT_MAX, 1024, 128, 0 };

int
tg_siem_format_by_name(const char *s)
{
	for (int i = 0; i < TG_SIEM_FMT_MAX; i++)
		if (s != NULL && strcmp(s, tg_siem_format_names[i]) == 0)
			return i;
	return -1;
}

/* ---------------------------------------------------------------------
 * The record
 * ------------------------------------------------------------------- */

static void
hex(const uint8_t *h, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * len] = '\0';
}

/* hex SHA-256(prefix || data), prefix < 0 for none; 0 or -ENOMEM */
static int
sha256_hex(int prefix, const char *data, size_t len, char out[TG_SIEM_HEX])
{
	uint8_t h[32], p = (uint8_t)prefix;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	if (c == NULL)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	     (prefix < 0 || EVP_DigestUpdate(c, &p, 1) == 1) &&
	     EVP_DigestUpdate(c, data, len) == 1 && EVP_DigestFinal_ex(c, h, NULL) == 1;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -ENOMEM;
	hex(h, sizeof(h), out);
	return 0;
}

static const json_t *
jget(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);

	return b == NULL ? v : json_object_get(v, b);
}

/* o.a.b as a string, or NULL */
static const char *
jstr(const json_t *o, const char *a, const char *b)
{
	return json_string_value(jget(o, a, b));
}

int
tg_siem_event_init(struct tg_siem_event *ev, uint64_t seq, const char *rec, size_t len)
{
	const char *prev;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	ev->rec = rec;
	ev->rec_len = len;
	ev->obj = json_loadb(rec, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(ev->obj)) {
		json_decref(ev->obj);
		ev->obj = NULL;
		return -EBADMSG;
	}
	if ((rc = sha256_hex(0x00, rec, len, ev->leaf)) < 0) { /* RFC 9162 2.1.1 leaf */
		tg_siem_event_release(ev);
		return rc;
	}
	prev = jstr(ev->obj, "prev_chain", NULL);
	snprintf(ev->prev_chain, sizeof(ev->prev_chain), "%s", prev != NULL ? prev : "");
	ev->type = jstr(ev->obj, "event", "type");
	if (ev->type == NULL)
		ev->type = "";
	return 0;
}

void
tg_siem_event_release(struct tg_siem_event *ev)
{
	json_decref(ev->obj);
	ev->obj = NULL;
}

size_t
tg_siem_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	if (n == len)
		return n;
	/* back off continuation bytes (10xxxxxx): s[n] must start a character */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* ---------------------------------------------------------------------
 * What the formats share
 * ------------------------------------------------------------------- */

enum kind {
	K_AUTHN,
	K_LOGOFF,
	K_CONNECT,
	K_QUERY,
	K_ADMIN,
	K_APPROVAL, /* approval.*: a held statement's request, votes and end */
	K_LOG,
	K_OTHER,
};

static enum kind
kind_of(const char *type)
{
	if (strncmp(type, "authn.", 6) == 0)
		return K_AUTHN;
	if (strcmp(type, "session.end") == 0)
		return K_LOGOFF;
	if (strcmp(type, "session.start") == 0)
		return K_CONNECT;
	if (strcmp(type, "db.query") == 0 || strcmp(type, "db.query.begin") == 0 ||
	    strcmp(type, "policy.deny") == 0)
		return K_QUERY;
	if (strcmp(type, "admin.change") == 0)
		return K_ADMIN;
	if (strncmp(type, "approval.", 9) == 0)
		return K_APPROVAL;
	if (strncmp(type, "log.", 4) == 0 || strncmp(type, "audit.", 6) == 0)
		return K_LOG;
	return K_OTHER;
}

/* The facts every format takes from a record, at one trim level. */
struct facts {
	const json_t *o;
	enum kind kind;
	const char *outcome; /* success, failure, unknown */
	const char *reason;
	const char *ts;
	int64_t ms; /* ts as milliseconds since the epoch, 0 if unreadable */
	const char *origin;
	const char *user; /* db.user, else user.sub, else operator.user, admin.actor */
	const char *session;
	bool blocked;
	bool alarm; /* log.gap, audit.failure */
	/* the statement, cut to the trim level */
	const char *stmt;
	size_t stmt_len;
	bool stmt_cut;
	char stmt_sha[TG_SIEM_HEX];
};

/* "2025-01-31T23:59:59.123456Z" as ms since the epoch, or 0. */
static int64_t
ts_ms(const char *ts)
{
	struct tm tm = { 0 };
	unsigned int us = 0;
	int n = 0;

	if (ts == NULL ||
	    sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%6uZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us, &n) != 7 ||
	    n == 0)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + us / 1000;
}

static int
facts_get(const struct tg_siem_event *ev, unsigned int trim, struct facts *f)
{
	const char *s;
	size_t keep = stmt_keep[trim < TG_SIEM_TRIM_LEVELS ? trim : TG_SIEM_TRIM_LEVELS - 1];
	int rc;

	memset(f, 0, sizeof(*f));
	f->o = ev->obj;
	f->kind = kind_of(ev->type);
	f->outcome = jstr(f->o, "outcome", NULL);
	if (f->outcome == NULL)
		f->outcome = "unknown";
	f->reason = jstr(f->o, "reason_code", NULL);
	f->ts = jstr(f->o, "ts", NULL);
	f->ms = ts_ms(f->ts);
	f->origin = jstr(f->o, "origin", NULL);
	f->user = jstr(f->o, "db", "user");
	if (f->user == NULL)
		f->user = jstr(f->o, "user", "sub");
	if (f->user == NULL)
		f->user = jstr(f->o, "operator", "user");
	if (f->user == NULL)
		f->user = jstr(f->o, "admin", "actor");
	f->session = jstr(f->o, "session", "id");
	s = jstr(f->o, "policy", "decision");
	f->blocked = strcmp(ev->type, "policy.deny") == 0 ||
		     (f->reason != NULL && strcmp(f->reason, "blocked") == 0) ||
		     (s != NULL && strcmp(s, "block") == 0);
	f->alarm = strcmp(ev->type, "log.gap") == 0 || strcmp(ev->type, "audit.failure") == 0 ||
		   strcmp(ev->type, "audit.full") == 0;
	s = jstr(f->o, "db", "statement");
	if (s != NULL) {
		size_t len = json_string_length(jget(f->o, "db", "statement"));

		f->stmt = s;
		f->stmt_len = tg_siem_utf8_cut(s, len, keep);
		f->stmt_cut = f->stmt_len < len;
		/* the dataplane cut it already: the record says so */
		if (json_is_true(jget(f->o, "db", "statement_cut")))
			f->stmt_cut = true;
		if (f->stmt_cut && (rc = sha256_hex(-1, s, len, f->stmt_sha)) < 0)
			return rc;
		if (f->stmt_len == 0)
			f->stmt = NULL;
	}
	return 0;
}

static void
set(json_t *o, const char *key, json_t *v)
{
	if (v != NULL)
		json_object_set_new(o, key, v);
}

static void
set_str(json_t *o, const char *key, const char *s)
{
	if (s != NULL)
		set(o, key, json_string(s));
}

static void
set_int(json_t *o, const char *key, json_int_t v)
{
	set(o, key, json_integer(v));
}

/* o.key = a copy of src.a.b, when present */
static void
set_copy(json_t *o, const char *key, const json_t *src, const char *a, const char *b)
{
	const json_t *v = jget(src, a, b);

	if (v != NULL)
		set(o, key, json_deep_copy(v));
}

/* A non-empty object, or NULL (freed). */
static json_t *
nonempty(json_t *o)
{
	if (o != NULL && json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {ip, port} of record member which ("src", "dst"), or NULL */
static json_t *
endpoint(const json_t *o, const char *which, const char *ip_key)
{
	json_t *e = json_object();

	if (e == NULL)
		return NULL;
	set_copy(e, ip_key, o, which, "ip");
	set_copy(e, "port", o, which, "port");
	return nonempty(e);
}

/* Serialises j (taken) into buf; the formatters' common tail. */
static int
dump(json_t *j, char *buf, size_t size)
{
	size_t n;

	if (j == NULL)
		return -ENOMEM;
	n = json_dumpb(j, buf, size, JSON_COMPACT);
	json_decref(j);
	if (n == 0)
		return -ENOMEM;
	if (n >= size)
		return -EMSGSIZE;
	buf[n] = '\0';
	return (int)n;
}

/* The statement as a JSON string, or NULL. */
static json_t *
stmt_json(const struct facts *f)
{
	return f->stmt != NULL ? json_stringn(f->stmt, f->stmt_len) : NULL;
}

/* ---------------------------------------------------------------------
 * OCSF
 * ------------------------------------------------------------------- */

struct ocsf_class {
	int class_uid, activity_id;
	const char *class_name, *activity_name;
	int category_uid;
	const char *category_name;
};

static struct ocsf_class
ocsf_class_of(const struct tg_siem_event *ev, enum kind k)
{
	switch (k) {
	case K_AUTHN:
		return (struct ocsf_class){ 3002, 1, "Authentication", "Logon", 3,
					    "Identity & Access Management" };
	case K_LOGOFF:
		return (struct ocsf_class){ 3002, 2, "Authentication", "Logoff", 3,
					    "Identity & Access Management" };
	case K_CONNECT:
		return (struct ocsf_class){ 6005, 3, "Datastore Activity", "Connect", 6,
					    "Application Activity" };
	case K_QUERY:
	case K_APPROVAL: /* the decision on a statement: its disposition says which */
		return (struct ocsf_class){ 6005, 4, "Datastore Activity", "Query", 6,
					    "Application Activity" };
	case K_ADMIN:
		return (struct ocsf_class){ 6003, 3, "API Activity", "Update", 6,
					    "Application Activity" };
	default:
		return (struct ocsf_class){ 1008, 99, "Event Log Activity",
					    strcmp(ev->type, "log.checkpoint") == 0 ? "Checkpoint"
					    : strcmp(ev->type, "log.gap") == 0	    ? "Gap"
										    : "Other",
					    1, "System Activity" };
	}
}

/* OCSF user object: name and uid when known, else type Unknown. */
static json_t *
ocsf_user(const struct facts *f)
{
	json_t *u = json_object();

	if (u == NULL)
		return NULL;
	set_str(u, "name", f->user);
	set_copy(u, "uid", f->o, "user", "sub");
	set_copy(u, "email_addr", f->o, "user", "email");
	if (f->user == NULL) {
		set_int(u, "type_id", 0);
		set_str(u, "type", "Unknown");
	}
	return u;
}

static json_t *
ocsf_src(const struct facts *f)
{
	json_t *e = endpoint(f->o, "src", "ip");

	if (e == NULL && (e = json_object()) != NULL) /* required by 6003 and 6005 */
		set_str(e, "hostname", jstr(f->o, "gw", "host"));
	return e;
}

static json_t *
ocsf_build(const struct tg_siem_event *ev, unsigned int trim)
{
	struct facts f;
	struct ocsf_class c;
	json_t *j, *md, *prod, *tg, *v;
	int status_id, sev;

	if (facts_get(ev, trim, &f) < 0 || (j = json_object()) == NULL)
		return NULL;
	c = ocsf_class_of(ev, f.kind);
	status_id = strcmp(f.outcome, "success") == 0 ? 1 : strcmp(f.outcome, "failure") == 0 ? 2 : 0;
	sev = f.alarm ? 4 : status_id == 2 || f.blocked ? 3 : status_id == 0 ? 2 : 1;

	/* the base event's required attributes */
	set_int(j, "class_uid", c.class_uid);
	set_str(j, "class_name", c.class_name);
	set_int(j, "category_uid", c.category_uid);
	set_str(j, "category_name", c.category_name);
	set_int(j, "activity_id", c.activity_id);
	set_str(j, "activity_name", c.activity_name);
	set_int(j, "type_uid", (json_int_t)c.class_uid * 100 + c.activity_id);
	set_int(j, "severity_id", sev);
	set_str(j, "severity", sev == 1 ? "Informational" : sev == 2 ? "Low" : sev == 3 ? "Medium"
											: "High");
	set_int(j, "time", f.ms);
	set_int(j, "status_id", status_id);
	set_str(j, "status", status_id == 1 ? "Success" : status_id == 2 ? "Failure" : "Unknown");
	set_str(j, "status_code", f.reason);
	set_str(j, "message", ev->type);
	md = json_object();
	prod = json_object();
	set_str(prod, "name", PRODUCT);
	set_str(prod, "vendor_name", VENDOR);
	set_str(prod, "version", ev->version);
	set(md, "product", prod);
	set_str(md, "version", TG_SIEM_OCSF_VERSION);
	set_int(md, "sequence", (json_int_t)ev->seq);
	set_str(md, "log_name", f.origin);
	set_str(md, "original_time", f.ts);
	set_str(md, "correlation_uid", f.session);
	set(j, "metadata", md);

	/* the class's own */
	switch (c.class_uid) {
	case 3002:
		set(j, "user", ocsf_user(&f));
		set(j, "src_endpoint", endpoint(f.o, "src", "ip"));
		if ((v = endpoint(f.o, "dst", "ip")) != NULL)
			set_copy(v, "svc_name", f.o, "dst", "service");
		set(j, "dst_endpoint", v);
		if ((v = json_object()) != NULL)
			set_copy(v, "uid", f.o, "session", "id");
		set(j, "session", nonempty(v));
		set_copy(j, "auth_protocol", f.o, "auth", "method");
		break;
	case 6005:
		if ((v = json_object()) != NULL) {
			json_t *s = json_object();

			set(v, "user", ocsf_user(&f));
			set_copy(s, "uid", f.o, "session", "id");
			set(v, "session", nonempty(s));
			set_copy(v, "app_name", f.o, "client", "app");
		}
		set(j, "actor", v);
		set(j, "src_endpoint", ocsf_src(&f));
		if ((v = endpoint(f.o, "dst", "ip")) != NULL)
			set_copy(v, "svc_name", f.o, "dst", "service");
		set(j, "dst_endpoint", v);
		set_int(j, "type_id", 1);
		set_str(j, "type", "Database");
		if ((v = json_object()) != NULL) {
			set_copy(v, "name", f.o, "db", "name");
			set_int(v, "type_id", 1);
			set_str(v, "type", "Relational");
		}
		set(j, "database", v);
		if ((v = json_object()) != NULL) {
			set(v, "query_string", stmt_json(&f));
			set_copy(v, "uid", f.o, "db", "statement_number");
		}
		set(j, "query_info", nonempty(v));
		if (f.blocked || strcmp(ev->type, "approval.denied") == 0 ||
		    strcmp(ev->type, "approval.expired") == 0) {
			set_int(j, "disposition_id", 2);
			set_str(j, "disposition", "Blocked");
		} else if (strcmp(ev->type, "approval.approved") == 0) {
			set_int(j, "disposition_id", 1);
			set_str(j, "disposition", "Allowed");
		}
		break;
	case 6003:
		if ((v = json_object()) != NULL) {
			json_t *u = ocsf_user(&f);

			set_copy(u, "uid", f.o, "operator", "uid");
			set(v, "user", u);
		}
		set(j, "actor", v);
		if ((v = json_object()) != NULL) {
			json_t *svc = json_object();
			const char *op = jstr(f.o, "admin", "action");

			set_str(v, "operation", op != NULL ? op : ev->type);
			set_str(svc, "name", "tollgate-mgmt");
			set(v, "service", svc);
		}
		set(j, "api", v);
		set(j, "src_endpoint", ocsf_src(&f));
		break;
	default:
		if ((v = json_object()) != NULL) {
			set_str(v, "hostname", jstr(f.o, "gw", "host"));
			set_int(v, "type_id", 0);
		}
		set(j, "device", v);
		set_str(j, "log_name", f.origin);
		set_str(j, "log_provider", PRODUCT);
		break;
	}

	/* integrity, and what OCSF has no attribute for */
	tg = json_object();
	set_int(tg, "seq", (json_int_t)ev->seq);
	set_str(tg, "leaf", ev->leaf);
	set_str(tg, "prev_chain", ev->prev_chain);
	set_str(tg, "origin", f.origin);
	set_str(tg, "event_type", ev->type);
	if (f.stmt_cut) {
		set(tg, "statement_truncated", json_true());
		set_str(tg, "statement_sha256", f.stmt_sha);
	}
	if (trim < 3) {
		set_copy(tg, "policy", f.o, "policy", NULL);
		set_copy(tg, "checkpoint", f.o, "checkpoint", NULL);
		set_copy(tg, "gap", f.o, "gap", NULL);
		set_copy(tg, "approval", f.o, "approval", NULL);
		if (f.kind == K_APPROVAL)
			set_copy(tg, "operator", f.o, "operator", NULL);
		if (ev->note != NULL)
			set_str(tg, "note", ev->note);
		if ((v = json_object()) != NULL) {
			set_copy(v, "kind", f.o, "db", "kind");
			set_copy(v, "result", f.o, "db", "result");
			set_copy(v, "rows", f.o, "db", "rows");
			set_copy(v, "sqlstate", f.o, "db", "sqlstate");
			set_copy(v, "masked", f.o, "db", "masked");
			if (trim < 1)
				set_copy(v, "params", f.o, "db", "params");
		}
		set(tg, "db", nonempty(v));
	}
	if (trim < 2) {
		set_copy(tg, "admin", f.o, "admin", NULL);
		set_copy(tg, "error", f.o, "error", NULL);
	}
	if (trim < 1)
		set(tg, "record", json_stringn(ev->rec, ev->rec_len));
	if ((v = json_object()) != NULL)
		set(v, "tollgate", tg);
	set(j, "unmapped", v);
	return j;
}

int
tg_siem_format_ocsf(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size)
{
	return dump(ocsf_build(ev, trim), buf, size);
}

/* ---------------------------------------------------------------------
 * ECS
 * ------------------------------------------------------------------- */

static json_t *
strings(const char *a, const char *b)
{
	json_t *v = json_array();

	if (v != NULL && a != NULL)
		json_array_append_new(v, json_string(a));
	if (v != NULL && b != NULL)
		json_array_append_new(v, json_string(b));
	return v;
}

/* event.type of an approval.* record: what happened to the held statement. */
static const char *
ecs_approval_type(const char *type)
{
	if (strcmp(type, "approval.approved") == 0)
		return "allowed";
	if (strcmp(type, "approval.denied") == 0 || strcmp(type, "approval.expired") == 0)
		return "denied";
	if (strcmp(type, "approval.requested") == 0)
		return "creation";
	if (strcmp(type, "approval.cancelled") == 0)
		return "end";
	return "change"; /* approval.vote */
}

static json_t *
ecs_build(const struct tg_siem_event *ev, unsigned int trim)
{
	struct facts f;
	json_t *j, *e, *tg, *v;
	const char *cat1, *cat2 = NULL, *type1, *type2 = NULL;

	if (facts_get(ev, trim, &f) < 0 || (j = json_object()) == NULL)
		return NULL;
	switch (f.kind) {
	case K_AUTHN:
		cat1 = "authentication";
		type1 = strcmp(f.outcome, "success") == 0 ? "start" : "info";
		break;
	case K_LOGOFF:
		cat1 = "session";
		cat2 = "authentication";
		type1 = "end";
		break;
	case K_CONNECT:
		cat1 = "session";
		cat2 = "database";
		type1 = "start";
		break;
	case K_QUERY:
		cat1 = "database";
		type1 = "access";
		type2 = f.blocked ? "denied" : NULL;
		break;
	case K_ADMIN:
		cat1 = "configuration";
		cat2 = "iam";
		type1 = "change";
		break;
	case K_APPROVAL:
		cat1 = "database";
		cat2 = "iam";
		type1 = ecs_approval_type(ev->type);
		break;
	default:
		cat1 = "configuration";
		type1 = f.alarm ? "error" : "info";
		break;
	}
	set_str(j, "@timestamp", f.ts);
	if ((v = json_object()) != NULL)
		set_str(v, "version", TG_SIEM_ECS_VERSION);
	set(j, "ecs", v);
	e = json_object();
	set_str(e, "kind", f.alarm ? "alert" : "event");
	set(e, "category", strings(cat1, cat2));
	set(e, "type", strings(type1, type2));
	set_str(e, "action", ev->type);
	set_str(e, "outcome", f.outcome);
	set_str(e, "reason", f.reason);
	set_int(e, "sequence", (json_int_t)ev->seq);
	set_str(e, "hash", ev->leaf);
	set_str(e, "dataset", "tollgate.audit");
	set_str(e, "module", PRODUCT);
	set_str(e, "provider", f.origin);
	set_copy(e, "start", f.o, "event", "start");
	set_copy(e, "end", f.o, "event", "end");
	set_copy(e, "duration", f.o, "event", "duration");
	if (trim < 1)
		set(e, "original", json_stringn(ev->rec, ev->rec_len));
	set(j, "event", e);
	if ((v = json_object()) != NULL) {
		set_str(v, "name", f.user);
		set_copy(v, "id", f.o, "user", "sub");
		set_copy(v, "email", f.o, "user", "email");
	}
	set(j, "user", nonempty(v));
	set(j, "source", endpoint(f.o, "src", "ip"));
	set(j, "destination", endpoint(f.o, "dst", "ip"));
	if ((v = json_object()) != NULL) {
		set_copy(v, "name", f.o, "dst", "service");
		if (json_object_size(v) != 0)
			set_str(v, "type", "postgresql");
	}
	set(j, "service", nonempty(v));
	if ((v = json_object()) != NULL) {
		set_copy(v, "hostname", f.o, "gw", "host");
		set_str(v, "product", PRODUCT);
		set_str(v, "vendor", VENDOR);
		set_str(v, "type", "gateway");
		set_str(v, "version", ev->version);
	}
	set(j, "observer", v);
	if ((v = json_object()) != NULL)
		set_copy(v, "id", f.o, "policy", "rule_id");
	set(j, "rule", nonempty(v));
	if ((v = json_object()) != NULL)
		set_copy(v, "name", f.o, "client", "app");
	set(j, "process", nonempty(v));

	tg = json_object();
	set_int(tg, "seq", (json_int_t)ev->seq);
	set_str(tg, "leaf", ev->leaf);
	set_str(tg, "prev_chain", ev->prev_chain);
	set_str(tg, "origin", f.origin);
	set_str(tg, "session_id", f.session);
	if ((v = json_object()) != NULL) {
		set(v, "statement", stmt_json(&f));
		if (f.stmt_cut) {
			set(v, "statement_truncated", json_true());
			set_str(v, "statement_sha256", f.stmt_sha);
		}
		set_copy(v, "name", f.o, "db", "name");
		set_copy(v, "user", f.o, "db", "user");
		if (trim < 3) {
			set_copy(v, "kind", f.o, "db", "kind");
			set_copy(v, "result", f.o, "db", "result");
			set_copy(v, "rows", f.o, "db", "rows");
			set_copy(v, "sqlstate", f.o, "db", "sqlstate");
			set_copy(v, "masked", f.o, "db", "masked");
			set_copy(v, "statement_number", f.o, "db", "statement_number");
		}
		if (trim < 1)
			set_copy(v, "params", f.o, "db", "params");
	}
	set(tg, "db", nonempty(v));
	if (trim < 3) {
		set_copy(tg, "policy", f.o, "policy", NULL);
		set_copy(tg, "checkpoint", f.o, "checkpoint", NULL);
		set_copy(tg, "gap", f.o, "gap", NULL);
		set_copy(tg, "operator", f.o, "operator", NULL);
		set_copy(tg, "approval", f.o, "approval", NULL);
		if (ev->note != NULL)
			set_str(tg, "note", ev->note);
	}
	if (trim < 2) {
		set_copy(tg, "admin", f.o, "admin", NULL);
		set_copy(tg, "error", f.o, "error", NULL);
	}
	set(j, "tollgate", tg);
	return j;
}

int
tg_siem_format_ecs(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size)
{
	return dump(ecs_build(ev, trim), buf, size);
}

/* ---------------------------------------------------------------------
 * JSON lines: the record itself
 * ------------------------------------------------------------------- */

int
tg_siem_format_jsonl(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size)
{
	json_t *j, *e;

	if (trim < 3) {
		if (ev->rec_len >= size)
			return -EMSGSIZE;
		memcpy(buf, ev->rec, ev->rec_len);
		buf[ev->rec_len] = '\0';
		return (int)ev->rec_len;
	}
	/*
	 * Too long to be sent whole: its seq, leaf and chain hashes only,
	 * which keep the chain verifiable (a record never has a "leaf"
	 * member, so a reader tells the two apart).
	 */
	if ((j = json_object()) == NULL)
		return -ENOMEM;
	set_int(j, "seq", (json_int_t)ev->seq);
	set_str(j, "prev_chain", ev->prev_chain);
	set_str(j, "leaf", ev->leaf);
	set_copy(j, "origin", ev->obj, "origin", NULL);
	set_copy(j, "ts", ev->obj, "ts", NULL);
	set_copy(j, "outcome", ev->obj, "outcome", NULL);
	if ((e = json_object()) != NULL)
		set_str(e, "type", ev->type);
	set(j, "event", e);
	set(j, "truncated", json_true());
	return dump(j, buf, size);
}

/* ---------------------------------------------------------------------
 * CEF
 * ------------------------------------------------------------------- */

int
tg_siem_cef_header_escape(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		size_t need = (c == '\\' || c == '|') ? 2 : 1;

		if (n + need >= size)
			return -EMSGSIZE;
		if (need == 2)
			dst[n++] = '\\';
		dst[n++] = (c == '\r' || c == '\n') ? ' ' : c;
	}
	if (n >= size)
		return -EMSGSIZE;
	dst[n] = '\0';
	return (int)n;
}

int
tg_siem_cef_ext_escape(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i], out = c;
		bool esc = true;

		switch (c) {
		case '\\':
		case '=':
			break;
		case '\r':
			out = 'r';
			break;
		case '\n':
			out = 'n';
			break;
		default:
			esc = false;
			break;
		}
		if (n + (esc ? 2 : 1) >= size)
			return -EMSGSIZE;
		if (esc)
			dst[n++] = '\\';
		dst[n++] = out;
	}
	if (n >= size)
		return -EMSGSIZE;
	dst[n] = '\0';
	return (int)n;
}

struct sb {
	char *buf;
	size_t size, len;
	bool over;
};

static void
sb_raw(struct sb *b, const char *s)
{
	size_t n = strlen(s);

	if (b->over || b->len + n >= b->size) {
		b->over = true;
		return;
	}
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n;
}

static void
sb_header(struct sb *b, const char *s)
{
	int n;

	if (b->over)
		return;
	n = tg_siem_cef_header_escape(b->buf + b->len, b->size - b->len, s, strlen(s));
	if (n < 0)
		b->over = true;
	else
		b->len += (size_t)n;
	sb_raw(b, "|");
}

/* " key=value" with value[0..len) escaped; nothing when value is NULL */
static void
sb_kvn(struct sb *b, const char *key, const char *value, size_t len)
{
	int n;

	if (value == NULL || b->over)
		return;
	if (b->buf[b->len - 1] != '|')
		sb_raw(b, " ");
	sb_raw(b, key);
	sb_raw(b, "=");
	if (b->over)
		return;
	n = tg_siem_cef_ext_escape(b->buf + b->len, b->size - b->len, value, len);
	if (n < 0)
		b->over = true;
	else
		b->len += (size_t)n;
}

static void
sb_kv(struct sb *b, const char *key, const char *value)
{
	if (value != NULL)
		sb_kvn(b, key, value, strlen(value));
}

/* a scalar member (string or integer) as text into tmp, or NULL */
static const char *
scalar(const json_t *v, char *tmp, size_t size)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(tmp, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return tmp;
	}
	return NULL;
}

/* cs<i>Label=label cs<i>=value */
static void
sb_cs(struct sb *b, int i, const char *label, const char *value)
{
	char k[16];

	if (value == NULL)
		return;
	snprintf(k, sizeof(k), "cs%dLabel", i);
	sb_kv(b, k, label);
	snprintf(k, sizeof(k), "cs%d", i);
	sb_kv(b, k, value);
}

int
tg_siem_format_cef(const struct tg_siem_event *ev, unsigned int trim, char *buf, size_t size)
{
	struct sb b = { .buf = buf, .size = size };
	struct facts f;
	char tmp[64], name[96];
	const char *s;
	int sev, rc;

	if (size == 0)
		return -EMSGSIZE;
	buf[0] = '\0';
	if ((rc = facts_get(ev, trim, &f)) < 0)
		return rc;
	sev = f.alarm ? 8 : strcmp(f.outcome, "failure") == 0 || f.blocked ? 6
			  : strcmp(f.outcome, "success") == 0	  ? 3
								  : 5;
	snprintf(name, sizeof(name), "%s %s%s", ev->type, f.outcome, f.blocked ? " blocked" : "");
	sb_raw(&b, "CEF:0|");
	sb_header(&b, VENDOR);
	sb_header(&b, PRODUCT);
	sb_header(&b, ev->version != NULL ? ev->version : "");
	sb_header(&b, ev->type);
	sb_header(&b, name);
	snprintf(tmp, sizeof(tmp), "%d", sev);
	sb_header(&b, tmp);

	snprintf(tmp, sizeof(tmp), "%" PRIu64, ev->seq);
	sb_kv(&b, "externalId", tmp);
	if (f.ms != 0) {
		snprintf(tmp, sizeof(tmp), "%" PRId64, f.ms);
		sb_kv(&b, "rt", tmp);
	}
	sb_kv(&b, "outcome", f.outcome);
	sb_kv(&b, "reason", f.reason);
	sb_kv(&b, "suser", f.user);
	sb_kv(&b, "src", jstr(f.o, "src", "ip"));
	sb_kv(&b, "spt", scalar(jget(f.o, "src", "port"), tmp, sizeof(tmp)));
	sb_kv(&b, "dst", jstr(f.o, "dst", "ip"));
	sb_kv(&b, "dpt", scalar(jget(f.o, "dst", "port"), tmp, sizeof(tmp)));
	s = jstr(f.o, "admin", "action");
	sb_kv(&b, "act", s != NULL ? s : jstr(f.o, "policy", "decision"));
	sb_kv(&b, "dvchost", jstr(f.o, "gw", "host"));
	sb_kv(&b, "deviceExternalId", jstr(f.o, "gw", "instance"));
	sb_kv(&b, "app", jstr(f.o, "protocol", NULL));
	sb_kv(&b, "sproc", jstr(f.o, "client", "app"));
	sb_kv(&b, "destinationServiceName", jstr(f.o, "dst", "service"));
	sb_kv(&b, "deviceFacility", f.origin);
	sb_cs(&b, 1, "leaf", ev->leaf);
	sb_cs(&b, 2, "prevChain", ev->prev_chain);
	if (f.kind == K_LOG) {
		sb_cs(&b, 3, "treeRoot", jstr(f.o, "checkpoint", "root"));
		sb_cs(&b, 4, "chainHead", jstr(f.o, "checkpoint", "chain_head"));
		if (trim < 3)
			sb_cs(&b, 6, "note", ev->note);
		if (jget(f.o, "checkpoint", "size") != NULL) {
			sb_kv(&b, "cn2Label", "treeSize");
			sb_kv(&b, "cn2", scalar(jget(f.o, "checkpoint", "size"), tmp, sizeof(tmp)));
		}
	} else {
		sb_cs(&b, 3, "sessionId", f.session);
		sb_cs(&b, 6, "ruleId", jstr(f.o, "policy", "rule_id"));
	}
	if (f.stmt_cut)
		sb_cs(&b, 5, "statementSha256", f.stmt_sha);
	if (jget(f.o, "db", "rows") != NULL) {
		sb_kv(&b, "cn1Label", "rows");
		sb_kv(&b, "cn1", scalar(jget(f.o, "db", "rows"), tmp, sizeof(tmp)));
	}
	/* the statement last, being the longest */
	if (f.stmt != NULL && f.kind != K_LOG) {
		sb_kv(&b, "cs4Label", "statement");
		sb_kvn(&b, "cs4", f.stmt, f.stmt_len);
	}
	if (trim < 2)
		sb_kv(&b, "msg", jstr(f.o, "error", "message"));
	if (b.over)
		return -EMSGSIZE;
	return (int)b.len;
}

/* ---------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------- */

int
tg_siem_format(enum tg_siem_format fmt, const struct tg_siem_event *ev, char *buf, size_t size,
	       unsigned int *trimmed)
{
	static int (*const fn[TG_SIEM_FMT_MAX])(const struct tg_siem_event *, unsigned int,
						   char *, size_t) = {
		[TG_SIEM_FMT_OCSF] = tg_siem_format_ocsf,
		[TG_SIEM_FMT_CEF] = tg_siem_format_cef,
		[TG_SIEM_FMT_ECS] = tg_siem_format_ecs,
		[TG_SIEM_FMT_JSONL] = tg_siem_format_jsonl,
	};
	int rc = -EINVAL;

	if ((unsigned int)fmt >= TG_SIEM_FMT_MAX || ev->obj == NULL)
		return -EINVAL;
	for (unsigned int t = 0; t < TG_SIEM_TRIM_LEVELS; t++) {
		rc = fn[fmt](ev, t, buf, size);
		if (rc != -EMSGSIZE) {
			if (rc >= 0 && trimmed != NULL)
				*trimmed = t;
			return rc;
		}
	}
	return rc;
}
