/* SPDX-License-Identifier: MIT */
/*
 * maudit.c — the audit.* methods of the management API; see maudit.h for
 * what each returns and why audit.verify runs in a child.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "api.h"
#include "audit.h"
#include "bundle.h"
#include "maudit.h"
#include "merkle.h"
#include "mgmt.h"
#include "siem_export.h"

#define HEX_HASH (2 * TG_AUDIT_HASH + 1)
#define ROLES (TG_MGMT_ROLE_AUDITOR | TG_MGMT_ROLE_ADMIN)

/* What the verifier child writes to its pipe: one write, under PIPE_BUF. */
struct verdict {
	int rc; /* tg_audit_log_open() or tg_audit_log_verify(): 0 or -errno */
	struct tg_audit_report rep;
};

_Static_assert(sizeof(struct verdict) <= PIPE_BUF, "a verdict is one atomic pipe write");

static void bundle_tick(void);

static struct {
	struct tg_audit *const *audit;
	pid_t pid; /* the verifier child, 0: none */
	int fd;	   /* its pipe's read end */
	struct tg_mgmt_call *waiters[SP_AUDIT_VERIFY_WAITERS];
	size_t nb_waiters;
	struct bundle_wait {
		struct tg_mgmt_call *call;
		char sid[TG_BUNDLE_SESSION_MAX + 1];
		uint64_t until; /* answered once this many records are durable */
		unsigned int ticks;
	} bundles[SP_AUDIT_BUNDLE_WAITERS];
	size_t nb_bundles;
	tg_bundle_chunk_fn chunk_fn;
	void *chunk_arg;
} ma = { .fd = -1 };

/* ---------------------------------------------------------------------
 * Params
 * ------------------------------------------------------------------- */

/*
 * params.name as an integer in [min, max]: 1 when present, 0 when absent
 * (*out untouched), -1 when refused (the call is answered).
 */
static int
param_u64(struct tg_mgmt_call *call, const json_t *params, const char *name, uint64_t min,
	  uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(params, name);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min || (uint64_t)json_integer_value(v) > max) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params: \"%s\" must be an integer in %" PRIu64 "..%" PRIu64, name,
			     min, max);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

/* The required params.seq: 0, or -1 when refused (the call is answered). */
static int
param_seq(struct tg_mgmt_call *call, const json_t *params, uint64_t *seq)
{
	int rc = param_u64(call, params, "seq", 0, INT64_MAX, seq);

	if (rc == 0)
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params: \"seq\" is required");
	return rc == 1 ? 0 : -1;
}

/* The store, or NULL with the call answered unavailable. */
static struct tg_audit *
store(struct tg_mgmt_call *call)
{
	struct tg_audit *a = ma.audit != NULL ? *ma.audit : NULL;

	if (a == NULL)
		tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE, "the audit store is not open");
	return a;
}

/* ---------------------------------------------------------------------
 * audit.tail, audit.show, audit.proof
 * ------------------------------------------------------------------- */

/* tg_audit_record_fn: the stored record, parsed, onto a JSON array. */
static int
append_record(void *arg, uint64_t seq, const char *rec, size_t len)
{
	json_t *r = json_loadb(rec, len, JSON_REJECT_DUPLICATES, NULL);

	(void)seq;
	if (r == NULL)
		return -EBADMSG; /* the store writes canonical JSON only: audit.verify says more */
	return json_array_append_new(arg, r) == 0 ? 0 : -ENOMEM;
}

static void
m_tail(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "n", "from" };
	uint64_t n = SP_AUDIT_TAIL_DEFAULT, from = 0, durable;
	struct tg_audit *a;
	json_t *recs;
	int has_from, rc;

	(void)arg;
	if (!tg_mgmt_params_known(call, params, names, 2) ||
	    param_u64(call, params, "n", 1, SP_AUDIT_TAIL_MAX, &n) < 0 ||
	    (has_from = param_u64(call, params, "from", 0, INT64_MAX, &from)) < 0 ||
	    (a = store(call)) == NULL)
		return;
	durable = tg_audit_durable(a);
	if (!has_from)
		from = durable > n ? durable - n : 0;
	recs = json_array();
	if (recs == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "out of memory");
		return;
	}
	rc = tg_audit_read(a, from, n, append_record, recs);
	if (rc < 0) {
		json_decref(recs);
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "read the audit store: %s",
			     rc == -EBADMSG || rc == -ENOMEM ? strerror(-rc) : tg_audit_error(a));
		return;
	}
	tg_mgmt_reply(call,
		      json_pack("{s:o, s:I, s:I}", "records", recs, "size",
				(json_int_t)tg_audit_size(a), "durable", (json_int_t)durable));
}

/* tg_audit_record_fn: the record's bytes as the "record" string of a show result. */
static int
show_record(void *arg, uint64_t seq, const char *rec, size_t len)
{
	json_t **out = arg;
	const char *prev;
	uint8_t leaf[TG_AUDIT_HASH];
	char hex[HEX_HASH];
	json_t *r;

	r = json_loadb(rec, len, JSON_REJECT_DUPLICATES, NULL);
	prev = json_string_value(json_object_get(r, "prev_chain"));
	tg_merkle_leaf_hash(rec, len, leaf);
	for (size_t i = 0; i < TG_AUDIT_HASH; i++)
		snprintf(hex + 2 * i, 3, "%02x", leaf[i]);
	*out = json_pack("{s:I, s:s%, s:s, s:s?}", "seq", (json_int_t)seq, "record", rec, len,
			 "leaf", hex, "prev_chain", prev);
	json_decref(r);
	return *out != NULL ? 0 : -ENOMEM;
}

static void
m_show(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "seq" };
	struct tg_audit *a;
	json_t *res = NULL;
	uint64_t seq;
	int rc;

	(void)arg;
	if (!tg_mgmt_params_known(call, params, names, 1) || param_seq(call, params, &seq) < 0 ||
	    (a = store(call)) == NULL)
		return;
	rc = tg_audit_read(a, seq, 1, show_record, &res);
	if (rc == 1)
		tg_mgmt_reply(call, res);
	else if (rc == 0)
		tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND,
			     "no durable record %" PRIu64 " (%" PRIu64 " are durable)", seq,
			     tg_audit_durable(a));
	else
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "read the audit store: %s",
			     rc == -ENOMEM ? strerror(-rc) : tg_audit_error(a));
}

static void
m_proof(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "seq", "size" };
	struct tg_audit_inclusion *p;
	uint64_t seq, size = 0;
	struct tg_audit *a;
	int rc;

	(void)arg;
	if (!tg_mgmt_params_known(call, params, names, 2) || param_seq(call, params, &seq) < 0 ||
	    param_u64(call, params, "size", 1, INT64_MAX, &size) < 0 || (a = store(call)) == NULL)
		return;
	/* TG_MERKLE_PATH_MAX hashes and a note: too large for the stack of a handler */
	if ((p = malloc(sizeof(*p))) == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "out of memory");
		return;
	}
	rc = tg_audit_prove(a, seq, size, p);
	if (rc == -ERANGE)
		tg_mgmt_fail(call, TG_MGMT_E_NOT_FOUND, "%s", tg_audit_error(a));
	else if (rc < 0)
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "prove record %" PRIu64 ": %s", seq,
			     tg_audit_error(a));
	else
		tg_mgmt_reply(call, tg_audit_inclusion_json(p));
	if (rc == 0)
		tg_audit_inclusion_release(p);
	free(p);
}

/* ---------------------------------------------------------------------
 * audit.verify: the whole verifier, in a child
 * ------------------------------------------------------------------- */

/* The child: never returns. */
static void __attribute__((noreturn))
verify_child(int fd, const char *dir, const uint8_t pub[TG_NOTE_PUB])
{
	struct verdict v = { 0 };
	struct tg_audit_log *l;
	sigset_t none;

	/* the slowpath blocks its signals for its signalfd: a stop must reach the child */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(1); /* the parent died before prctl() */
	l = tg_audit_log_open(dir, v.rep.detail, sizeof(v.rep.detail));
	if (l == NULL)
		v.rc = -errno;
	else
		v.rc = tg_audit_log_verify(l, pub, NULL, 0, &v.rep);
	tg_audit_log_close(l);
	_exit(write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 1);
}

static int
verify_start(struct tg_audit *a)
{
	uint8_t pub[TG_NOTE_PUB], key_id[TG_NOTE_KEY_ID];
	int p[2];
	pid_t pid;

	tg_audit_public_key(a, pub, key_id);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid == 0) {
		close(p[0]);
		verify_child(p[1], tg_audit_dir(a), pub);
	}
	close(p[1]);
	ma.pid = pid;
	ma.fd = p[0];
	return 0;
}

static void
m_verify(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	struct tg_audit *a;
	int rc;

	(void)arg;
	if (!tg_mgmt_params_known(call, params, NULL, 0) || (a = store(call)) == NULL)
		return;
	if (ma.nb_waiters == SP_AUDIT_VERIFY_WAITERS) {
		tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE,
			     "%d calls already wait for the running verification",
			     SP_AUDIT_VERIFY_WAITERS);
		return;
	}
	if (ma.pid == 0 && (rc = verify_start(a)) < 0) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "start the verifier: %s", strerror(-rc));
		return;
	}
	ma.waiters[ma.nb_waiters++] = call; /* answered by sp_audit_methods_tick() */
}

void
sp_audit_methods_tick(void)
{
	struct verdict v;
	int status = 0;
	ssize_t n = 0;
	pid_t r;

	bundle_tick();
	if (ma.pid == 0)
		return;
	r = waitpid(ma.pid, &status, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return; /* still verifying */
	/* the child has exited: what it wrote is in the pipe, whose writer is closed */
	if (r == ma.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		while ((n = read(ma.fd, &v, sizeof(v))) < 0 && errno == EINTR)
			;
	close(ma.fd);
	ma.fd = -1;
	ma.pid = 0;
	for (size_t i = 0; i < ma.nb_waiters; i++) {
		struct tg_mgmt_call *call = ma.waiters[i];

		if (n != (ssize_t)sizeof(v))
			tg_mgmt_fail(call, TG_MGMT_E_INTERNAL,
				     "the verifier ended without a verdict (wait status %d)",
				     status);
		else if (v.rc < 0)
			tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "verify: %.*s",
				     (int)sizeof(v.rep.detail), v.rep.detail);
		else
			tg_mgmt_reply(call, tg_audit_report_json(&v.rep));
	}
	ma.nb_waiters = 0;
}

/* ---------------------------------------------------------------------
 * audit.export: records as SIEM events (siem_export.h), a page at a time
 * ------------------------------------------------------------------- */

static int
export_read(void *arg, uint64_t from, uint64_t n, tg_audit_record_fn fn, void *fnarg)
{
	return tg_audit_read(arg, from, n, fn, fnarg);
}

static void
export_note(void *arg, uint64_t seq, char *buf, size_t size)
{
	struct tg_audit_inclusion *p = calloc(1, sizeof(*p));

	buf[0] = '\0';
	if (p == NULL)
		return;
	if (tg_audit_prove(arg, seq, seq + 1, p) == 0) {
		if (p->checkpoint && p->note_len < size) {
			memcpy(buf, p->note, p->note_len);
			buf[p->note_len] = '\0';
		}
		tg_audit_inclusion_release(p);
	}
	free(p);
}

static int
export_emit(void *arg, uint64_t seq, const char *event, size_t len)
{
	(void)seq;
	return json_array_append_new(arg, json_stringn(event, len)) == 0 ? 0 : -ENOMEM;
}

static void
m_export(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "format", "since", "until", "n" };
	uint64_t since = 0, until = INT64_MAX, n = SP_AUDIT_EXPORT_MAX, next = 0, durable;
	const char *fmt_name = json_string_value(json_object_get(params, "format"));
	struct tg_siem_source src = { export_read, export_note, NULL };
	struct tg_audit *a;
	json_t *events;
	int fmt, rc;

	(void)arg;
	if (!tg_mgmt_params_known(call, params, names, 4) ||
	    param_u64(call, params, "since", 0, INT64_MAX, &since) < 0 ||
	    param_u64(call, params, "until", 0, INT64_MAX, &until) < 0 ||
	    param_u64(call, params, "n", 1, SP_AUDIT_EXPORT_MAX, &n) < 0)
		return;
	fmt = tg_siem_format_by_name(fmt_name != NULL ? fmt_name : "jsonl");
	if (fmt < 0) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params: \"format\" must be ocsf, cef, ecs or jsonl");
		return;
	}
	if ((a = store(call)) == NULL)
		return;
	durable = tg_audit_durable(a);
	if (until < since) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST, "params: \"until\" is below \"since\"");
		return;
	}
	if (until - since + 1 < n)
		n = until - since + 1;
	if ((events = json_array()) == NULL) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "out of memory");
		return;
	}
	src.arg = a;
	rc = tg_siem_export(&src, (enum tg_siem_format)fmt, since, n, TG_VERSION, export_emit,
			    events, &next);
	if (rc < 0) {
		json_decref(events);
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "export from record %" PRIu64 ": %s", next,
			     rc == -EBADMSG || rc == -ENOMEM ? strerror(-rc) : tg_audit_error(a));
		return;
	}
	tg_mgmt_reply(call, json_pack("{s:o, s:I, s:I}", "events", events, "next",
				      (json_int_t)next, "durable", (json_int_t)durable));
}

/* ---------------------------------------------------------------------
 * audit.bundle: a session's evidence bundle (bundle.h)
 * ------------------------------------------------------------------- */

static void
bundle_answer(struct tg_mgmt_call *call, const char *sid)
{
	struct tg_audit *a = store(call);
	struct tg_audit_log *l;
	uint8_t pub[TG_NOTE_PUB], key_id[TG_NOTE_KEY_ID];
	char err[320];
	json_t *b;
	int rc;

	if (a == NULL)
		return;
	tg_audit_public_key(a, pub, key_id);
	l = tg_audit_reader(a);
	rc = tg_bundle_build(l, sid, pub, ma.chunk_fn, ma.chunk_arg, &b, err, sizeof(err));
	if (rc == -ENOENT || rc == -EINVAL)
		tg_mgmt_fail(call, rc == -EINVAL ? TG_MGMT_E_BAD_REQUEST : TG_MGMT_E_NOT_FOUND,
			     "%s", err);
	else if (rc < 0)
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "bundle of session %s: %s", sid, err);
	else
		tg_mgmt_reply(call, json_pack("{s:o}", "bundle", b));
}

static void
m_bundle(struct tg_mgmt_call *call, const json_t *params, void *arg)
{
	static const char *const names[] = { "session" };
	const char *sid = json_string_value(json_object_get(params, "session"));
	struct bundle_wait *w;
	struct tg_audit *a;
	int rc;

	(void)arg;
	if (!tg_mgmt_params_known(call, params, names, 1))
		return;
	if (sid == NULL || sid[0] == '\0' || strlen(sid) > TG_BUNDLE_SESSION_MAX) {
		tg_mgmt_fail(call, TG_MGMT_E_BAD_REQUEST,
			     "params: \"session\" is required: a session id of at most %d bytes",
			     TG_BUNDLE_SESSION_MAX);
		return;
	}
	if ((a = store(call)) == NULL)
		return;
	if (ma.nb_bundles == SP_AUDIT_BUNDLE_WAITERS) {
		tg_mgmt_fail(call, TG_MGMT_E_UNAVAILABLE, "%d bundles are being made",
			     SP_AUDIT_BUNDLE_WAITERS);
		return;
	}
	/* sign what is appended: the bundle then covers every record of the session so far */
	if ((rc = tg_audit_checkpoint(a, "requested")) < 0) {
		tg_mgmt_fail(call, TG_MGMT_E_INTERNAL, "checkpoint: %s", tg_audit_error(a));
		return;
	}
	if (tg_audit_durable(a) >= tg_audit_size(a)) {
		bundle_answer(call, sid);
		return;
	}
	w = &ma.bundles[ma.nb_bundles++]; /* answered by sp_audit_methods_tick() once durable */
	w->call = call;
	snprintf(w->sid, sizeof(w->sid), "%s", sid);
	w->until = tg_audit_size(a);
	w->ticks = 0;
}

static void
bundle_tick(void)
{
	struct tg_audit *a = ma.audit != NULL ? *ma.audit : NULL;
	size_t i = 0;

	while (i < ma.nb_bundles) {
		struct bundle_wait *w = &ma.bundles[i];

		if (a != NULL && tg_audit_durable(a) < w->until &&
		    ++w->ticks < SP_AUDIT_BUNDLE_WAIT_S) {
			i++;
			continue;
		}
		if (a != NULL && tg_audit_durable(a) >= w->until)
			bundle_answer(w->call, w->sid);
		else
			tg_mgmt_fail(w->call, TG_MGMT_E_UNAVAILABLE,
				     "the checkpoint for the bundle was not committed within %d s",
				     SP_AUDIT_BUNDLE_WAIT_S);
		ma.bundles[i] = ma.bundles[--ma.nb_bundles];
	}
}

void
sp_audit_methods_recordings(tg_bundle_chunk_fn fn, void *arg)
{
	ma.chunk_fn = fn;
	ma.chunk_arg = arg;
}

/* ---------------------------------------------------------------------
 * Registration
 * ------------------------------------------------------------------- */

static const struct tg_mgmt_method methods[] = {
	{ "audit.tail", ROLES, false, "the last durable audit records (n, from)", m_tail, NULL },
	{ "audit.show", ROLES, false, "one durable audit record, its leaf hash and prev_chain",
	  m_show, NULL },
	{ "audit.proof", ROLES, false,
	  "inclusion proof of a record against the latest signed checkpoint", m_proof, NULL },
	{ "audit.export", ROLES, false,
	  "durable records as SIEM events (format ocsf|cef|ecs|jsonl, since, until, n)",
	  m_export, NULL },
	{ "audit.bundle", ROLES, false,
	  "a session's evidence bundle: its records with inclusion proofs, the signed "
	  "checkpoint, the key and the recording (session)",
	  m_bundle, NULL },
	{ "audit.verify", ROLES, false,
	  "verify the whole audit log (records, chain, tree, checkpoints) in a child", m_verify,
	  NULL },
};

int
sp_audit_methods_register(struct tg_mgmt *m, struct tg_audit *const *audit)
{
	int rc;

	ma.audit = audit;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if ((rc = tg_mgmt_register(m, &methods[i])) < 0)
			return rc;
	return 0;
}
