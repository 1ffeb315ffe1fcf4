/* SPDX-License-Identifier: MIT */
/*
 * inspect.c — the PostgreSQL inspector. See inspect.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#include "inspect.h"
#include "wire.h"

const char *const tg_inspect_counter_names[TG_INSPECT_CNT_MAX] = {
#define NAME(e, n, d) [TG_INSPECT_CNT_##e] = n,
	TG_INSPECT_COUNTERS(NAME)
#undef NAME
};

#define CNT(in, c) ((in)->cnt[TG_INSPECT_CNT_##c]++)

/* Statements awaiting their result; more (a deep pipeline) report the oldest early. */
#define PENDING_MAX 8
/* Result columns whose masks are kept (the server's limit is 1664) */
#define COLS_MAX 1664
/*
 * Column masks of prepared statements, kept from the RowDescription that
 * answered their Describe: a driver that caches a statement's description
 * (pgJDBC) executes it again with no RowDescription at all, so the masks
 * must come from here, not from the last RowDescription seen. LRU.
 */
#define COLSETS 32
#define COLSET_COLS 64	/* masked columns kept per statement; more: not kept */
/* An event's text is scanned this far past its cap (longer than any value detected whole) */
#define TEXT_SCAN_MAX (TG_INSPECT_TEXT_MAX + 320)
/* Matches per scan; more: the whole buffer is masked (fail closed) */
#define MATCHES_MAX 64
/* Strict statements held per session; more merge into the last (held longer, never shorter) */
#define GATES_MAX 8
/* Blocked statements whose error reply is not placed yet; more fall back to rewriting */
#define INJ_MAX 8
/*
 * Prepared statements whose verdict and masked text are kept, per session
 * (LRU): an Execute of one of them under the same policy generation costs
 * a copy, not two Hyperscan scans (the command rules and the detectors)
 * of a text that has not changed. pgbench -M prepared and JDBC's
 * server-side statements execute the same few statements over and over.
 */
#define EXEC_CACHE 4
/*
 * The "rule" of a statement refused because the audit store is full
 * (inspect.h, "Audit full"): not a policy rule (-1 is the default), and
 * named in events by an id no policy can use (ids are A-Z a-z 0-9 _ . -).
 */
#define RULE_AUDIT_FULL (-2)
#define RULE_AUDIT_FULL_ID "tollgate:audit_full"
#define SQLSTATE_AUDIT_FULL "53100" /* disk_full: the closest class-53 code */
/* A denied hold's ErrorResponse, bytes */
#define HOLD_ERR_MAX 768
/* The portal a denied Execute is replaced with: no client can have made it (a dot, no quotes) */
#define HOLD_NO_PORTAL "tollgate.denied"

enum pend_kind {
	P_QUERY = TG_INSPECT_QUERY,
	P_EXECUTE = TG_INSPECT_EXECUTE,
	P_FCALL = TG_INSPECT_FCALL,
	P_PARSE,	/* a blocked Parse: its ErrorResponse ends it */
};

struct pending {
	uint8_t kind;
	uint8_t verdict;
	uint8_t result;
	bool text_cut;
	int32_t rule;		/* -1: the default */
	char rule_id[TG_POLICY_ID_MAX];	/* a copy: the policy may be replaced before the event */
	uint64_t rows;
	uint32_t masked[TG_DETECT_KIND_MAX];
	uint32_t masked_columns;
	char sqlstate[6];
	uint64_t t_start;
	uint64_t seq;		/* the parser's next request number when it came (see cb_ready()) */
	uint32_t number;	/* the session's statement number */
	uint32_t stmt_gen;	/* Execute: the statement run (pg.h generation), 0: unknown */
	uint8_t stmt_len;
	bool cols_done;		/* its result columns resolved (resolve_cols()) */
	char stmt[TG_PG_NAME_MAX];
	uint32_t text_len, params_len;
	char text[TG_INSPECT_TEXT_MAX];
	char params[TG_INSPECT_PARAMS_MAX];
};

/* A statement parked for approval: see "Holds" in inspect.h. */
enum hold_state {
	HS_NONE,
	HS_WAIT,	/* asked; the parser stopped behind it */
};

/* A login taken over (identity oidc): see "Logins" in inspect.h. */
enum login {
	L_NONE,		/* not taken over, or over */
	L_PASSWORD,	/* the client was asked for its password */
	L_VERDICT,	/* its token is with the slowpath */
	L_UPSTREAM,	/* the gateway logs in to the server: its messages are consumed */
};

enum login_hold {
	H_NONE,
	H_OK,		/* the server's AuthenticationOk is held */
	H_ERROR,	/* the server's ErrorResponse is held */
};

struct colset {
	uint32_t gen;		/* of the statement; 0: a free entry */
	uint8_t name_len;
	uint8_t n;		/* masked columns listed */
	uint16_t ncols;
	uint64_t used;
	char name[TG_PG_NAME_MAX];
	uint16_t idx[COLSET_COLS];
	uint8_t style[COLSET_COLS];	/* style + 1, bit 7: binary format */
};

struct tg_inspect_sess {
	struct tg_pg_session pg;
	struct tg_inspect *in;
	struct tg_stream *st;		/* st[0] client to server, st[1] back */
	uint64_t id;
	uint16_t svc;
	uint8_t failed;			/* 0, or the TG_INSPECT_CNT_FAIL_* that failed it */
	bool in_use;
	bool query_error;		/* the running Query met an ErrorResponse */
	bool started;			/* its start reported (session_event) */
	char client[48];
	char server[48];
	uint64_t t_open;		/* CLOCK_REALTIME ns */
	char user[TG_INSPECT_NAME_MAX], database[TG_INSPECT_NAME_MAX];
	char application[TG_INSPECT_NAME_MAX];
	/* a login taken over */
	uint8_t login;			/* enum login */
	uint8_t login_held;		/* enum login_hold */
	uint16_t startup_len;		/* bytes in startup */
	uint64_t login_deadline;	/* CLOCK_MONOTONIC ns: refused after it */
	uint64_t login_fe;		/* client stream: where the gateway's bytes for the server go */
	uint64_t login_be;		/* server stream: where those for the client go; what is held */
	uint64_t be_mark;		/* the server direction's mark, before a login's hold */
	uint16_t ncols;
	uint8_t col_style[COLS_MAX];	/* 0: no rule, else style + 1 */
	uint8_t col_binary[COLS_MAX / 8];
	struct colset colsets[COLSETS];
	uint64_t col_tick;
	struct pending pend[PENDING_MAX];
	uint32_t p_head, p_count;
	uint32_t stmt_no;		/* statements numbered so far */
	uint64_t fe_mark;		/* the client direction's mark, before any gate */
	uint8_t ngates;
	struct {
		uint64_t off;		/* the held message's first byte */
		uint64_t ticket;	/* its event's */
	} gates[GATES_MAX];
	bool key_set;			/* its BackendKeyData was seen and registered */
	uint32_t be_pid, be_key;
	/* the stream editor (in->editor): see "Verdicts" in inspect.h */
	bool gw_skip;			/* client messages are consumed up to the next Sync */
	uint64_t gw_skip_from;		/* from this offset (the blocked Parse's end) */
	int32_t skip_rule;		/* the blocked Parse's rule, text: for the Executes after it */
	uint32_t skip_text_len;
	char skip_text[TG_INSPECT_TEXT_MAX];
	uint8_t ninj;			/* error replies waiting for their ReadyForQuery */
	struct {
		uint64_t after;		/* before the first ReadyForQuery answering a request >= */
		bool audit_full;	/* refused for the audit store (RULE_AUDIT_FULL) */
		/*
		 * A denied hold's: err is the reply (err_len bytes) and sqlstate
		 * its code; replace: an Execute's, put in place of the server's
		 * ErrorResponse answering request after (not before a ReadyForQuery).
		 */
		bool replace;
		uint16_t err_len;
		char sqlstate[6];
		char rule_id[TG_POLICY_ID_MAX];
		uint8_t err[HOLD_ERR_MAX];
	} inj[INJ_MAX];
	/* a statement parked for approval: see "Holds" in inspect.h */
	struct {
		uint8_t state;		/* enum hold_state */
		uint8_t kind;		/* P_QUERY, P_EXECUTE */
		uint16_t len;		/* bytes kept */
		uint32_t number;	/* the statement's number in the session */
		uint64_t end;		/* the end of the parked message: what comes in its place goes there */
		uint64_t req;		/* its request in the parser's queue */
		uint64_t deadline;	/* CLOCK_MONOTONIC ns: denied here after it */
		char rule_id[TG_POLICY_ID_MAX];
		uint8_t bytes[TG_INSPECT_HOLD_MAX];
	} hold;
	struct tg_edit edit[2];		/* per direction, st[0] client to server */
	uint8_t startup[TG_INSPECT_STARTUP_MAX];	/* the client's StartupMessage, for the slowpath */
	struct {
		uint32_t stmt_gen;	/* pg.h generation of the statement; 0: a free entry */
		uint32_t policy_gen;	/* in->policy_gen when decided */
		uint64_t used;
		int32_t rule;
		uint8_t verdict;
		bool text_cut;
		uint16_t text_len;
		char text[TG_INSPECT_TEXT_MAX];	/* masked */
	} exec_cache[EXEC_CACHE];
	uint64_t exec_tick;
	struct tg_record rec;		/* what the client saw (record.h) */
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
copy_name(char *dst, size_t size, const struct tg_pg_str *s)
{
	size_t n = 0;

	if (s->p != NULL)
		n = s->len < size - 1 ? s->len : size - 1;
	memcpy(dst, s->p != NULL ? s->p : "", n);
	dst[n] = '\0';
}

static void
fail(struct tg_inspect_sess *ss, enum tg_inspect_counter why)
{
	if (ss->failed)
		return;
	ss->failed = (uint8_t)why;
	ss->in->cnt[why]++;
}

static inline struct tg_stream_mem *
smem(const struct tg_inspect_sess *ss)
{
	return ss->in->smem;
}

/* ---------------------------------------------------------------------
 * Scanning and masking
 * ------------------------------------------------------------------- */

static inline bool
in_scope(uint64_t services, uint16_t svc)
{
	return svc < 64 && (services >> svc & 1);
}

/*
 * Masks every value the service's detectors confirm in buf[0..len).
 * Returns how many, or -1 when the session failed. A scan with more
 * values than it holds masks the whole buffer (fail closed).
 */
static int
mask_values(struct tg_inspect_sess *ss, uint8_t *buf, uint32_t len, struct pending *pe)
{
	struct tg_inspect *in = ss->in;
	const struct tg_policy *p = in->policy;
	struct tg_detect_match m[MATCHES_MAX];
	int n, i, k = 0;

	if (p == NULL || p->det_db == NULL || len == 0)
		return 0;
	n = tg_detect_scan(p->det_db, tg_policy_detect_scratch(in->scratch), buf, len, m,
			   MATCHES_MAX);
	if (n == -ENOSPC) {
		/* each byte to '*': the result is ASCII, so valid UTF-8 */
		memset(buf, '*', len);
		CNT(in, OVERFLOW);
		return 1;
	}
	if (n < 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_SCAN);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const struct tg_policy_detector *d = &p->dets[m[i].id];

		if (!in_scope(d->services, ss->svc))
			continue;
		tg_detect_mask(buf, &m[i], 1, (enum tg_detect_mask_style)d->style);
		if (pe != NULL)
			pe->masked[d->kind]++;
		k++;
	}
	return k;
}

/*
 * A writable view of bytes [off, off + len) of direction dir: p itself when
 * the caller has them in the delivered piece (the ring), else a copy in
 * in->buf that commit() writes back. NULL when the session failed.
 */
static uint8_t *
view(struct tg_inspect_sess *ss, int dir, uint64_t off, uint32_t len, uint8_t *p)
{
	if (p != NULL)
		return p;
	if (len > smem(ss)->ring_size ||
	    tg_stream_read(smem(ss), &ss->st[dir], off, ss->in->buf, len) != 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_SCAN);
		return NULL;
	}
	return ss->in->buf;
}

static void
commit(struct tg_inspect_sess *ss, int dir, uint64_t off, uint32_t len, const uint8_t *v,
       const uint8_t *p)
{
	if (v == p)
		return;
	if (tg_stream_write(smem(ss), &ss->st[dir], off, v, len) != 0)
		fail(ss, TG_INSPECT_CNT_FAIL_SCAN);
}

/* Scans and masks bytes of the stream; returns values masked or -1. */
static int
mask_at(struct tg_inspect_sess *ss, int dir, uint64_t off, uint32_t len, uint8_t *p,
	struct pending *pe)
{
	uint8_t *v = view(ss, dir, off, len, p);
	int n;

	if (v == NULL)
		return -1;
	n = mask_values(ss, v, len, pe);
	if (n > 0)
		commit(ss, dir, off, len, v, p);
	return n;
}

/* ---------------------------------------------------------------------
 * The recording (record.h): what the client sees, read after masking
 * ------------------------------------------------------------------- */

static struct tg_record_out
rec_out(const struct tg_inspect_sess *ss)
{
	const struct tg_inspect *in = ss->in;
	/* nothing is recorded while nobody takes it (a slowpath without recordings) */
	bool on = in->record_on == NULL || __atomic_load_n(in->record_on, __ATOMIC_RELAXED);

	return (struct tg_record_out){ in->record, in->event_arg, ss->id, ss->svc,
				       on ? in->record_limit : 0 };
}

/*
 * The first n bytes at off of the server's stream, as they leave for the
 * client: p when the caller has them in place, else read back from the
 * ring into rec_buf[k]. NULL when they cannot be read.
 */
static const uint8_t *
rec_bytes(struct tg_inspect_sess *ss, unsigned int k, uint64_t off, uint32_t n, const uint8_t *p)
{
	if (p != NULL || n == 0)
		return p;
	if (n > TG_RECORD_NOTICE_MAX ||
	    tg_stream_read(smem(ss), &ss->st[TG_PG_DIR_BE], off, ss->in->rec_buf[k], n) != 0)
		return NULL;
	return ss->in->rec_buf[k];
}

static void
rec_field(struct tg_inspect_sess *ss, uint16_t idx, uint64_t off, int32_t len,
	  const uint8_t *bytes)
{
	uint32_t n = len > 0 ? ((uint32_t)len < TG_RECORD_VALUE_MAX ? (uint32_t)len
								     : TG_RECORD_VALUE_MAX)
			     : 0;
	struct tg_record_out o = rec_out(ss);

	if (!ss->rec.on || ss->failed)
		return;
	if (ss->rec.kept >= o.limit) {
		tg_record_field(&ss->rec, &o, idx, len, NULL, 0); /* counted only */
		return;
	}
	tg_record_field(&ss->rec, &o, idx, len, rec_bytes(ss, 0, off, n, bytes), n);
}

/* An ErrorResponse or NoticeResponse, masked: severity, SQLSTATE, message, detail, hint. */
static void
rec_notice(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, const struct tg_pg_notice *n,
	   bool error)
{
	struct tg_record_out o = rec_out(ss);
	const uint8_t *vals[5];
	struct tg_pg_iter it = n->fields;
	struct tg_pg_str val;
	uint8_t codes[5], code, k = 0;
	uint32_t lens[5];

	if (!ss->rec.on || ss->failed)
		return;
	while (k < 5 && tg_pg_next_field(&it, &code, &val)) {
		uint32_t len = val.len < TG_RECORD_NOTICE_MAX ? val.len : TG_RECORD_NOTICE_MAX;

		if (strchr("VCMDH", code) == NULL || code == '\0')
			continue;
		vals[k] = rec_bytes(ss, k, val.off, len,
				    m->in_place ? (const uint8_t *)val.p : NULL);
		if (vals[k] == NULL && len != 0)
			continue;
		codes[k] = code;
		lens[k++] = len;
	}
	tg_record_notice(&ss->rec, &o, now_ns(), error, codes, vals, lens, k);
}

/* An ErrorResponse the gateway injects for the client (msg, len bytes), as the server's are. */
static void
rec_injected(struct tg_inspect_sess *ss, const uint8_t *msg, uint32_t len)
{
	struct tg_record_out o = rec_out(ss);
	const uint8_t *vals[5], *p = msg + 5, *end = msg + len;
	uint8_t codes[5], k = 0;
	uint32_t lens[5];

	if (!ss->rec.on || ss->failed || len < 6)
		return;
	/* fields: a code byte, a NUL-terminated value; a NUL ends them */
	while (p < end && *p != 0 && k < 5) {
		const uint8_t *v = p + 1, *nul = memchr(v, 0, (size_t)(end - v));

		if (nul == NULL)
			break;
		if (strchr("VCMDH", *p) != NULL) {
			codes[k] = *p;
			vals[k] = v;
			lens[k++] = (uint32_t)(nul - v);
		}
		p = nul + 1;
	}
	tg_record_notice(&ss->rec, &o, now_ns(), true, codes, vals, lens, k);
}

/*
 * An approval wait in the recording (inspect.h "Holds"): a notice of
 * severity TOLLGATE, which the client never saw, so that a replay shows
 * where the session waited and what ended the wait.
 */
static void
rec_hold(struct tg_inspect_sess *ss, const char *text)
{
	static const uint8_t codes[2] = { 'V', 'M' };
	struct tg_record_out o = rec_out(ss);
	const uint8_t *vals[2] = { (const uint8_t *)"TOLLGATE", (const uint8_t *)text };
	uint32_t lens[2] = { 8, (uint32_t)strlen(text) };

	if (!ss->rec.on || ss->failed)
		return;
	tg_record_notice(&ss->rec, &o, now_ns(), false, codes, vals, lens, 2);
}

/* ---------------------------------------------------------------------
 * Pending statements and events
 * ------------------------------------------------------------------- */

static struct pending *
head(struct tg_inspect_sess *ss)
{
	return ss->p_count ? &ss->pend[ss->p_head] : NULL;
}

/* The event of a pending statement, now. */
static void
fill(struct tg_inspect_sess *ss, const struct pending *pe, struct tg_inspect_event *ev)
{
	struct tg_inspect *in = ss->in;

	*ev = (struct tg_inspect_event){
		.session = ss->id,
		.service = ss->svc,
		.service_name = in->svcs != NULL && ss->svc < in->svcs->nb
					? in->svcs->svc[ss->svc].name
					: NULL,
		.kind = pe->kind == P_PARSE ? TG_INSPECT_EXECUTE : pe->kind,
		.verdict = pe->verdict,
		.result = pe->result,
		.rule = pe->rule >= 0			? pe->rule_id
			: pe->rule == RULE_AUDIT_FULL ? RULE_AUDIT_FULL_ID
						      : NULL,
		.client = ss->client,
		.user = ss->user,
		.database = ss->database,
		.application = ss->application,
		.text = pe->text,
		.text_len = pe->text_len,
		.text_cut = pe->text_cut,
		.params = pe->params,
		.params_len = pe->params_len,
		.rows = pe->rows,
		.masked_columns = pe->masked_columns,
		.stmt = pe->number,
		.t_start_ns = pe->t_start,
		.t_end_ns = now_ns(),
	};
	memcpy(ev->sqlstate, pe->sqlstate, sizeof(ev->sqlstate));
	memcpy(ev->masked, pe->masked, sizeof(ev->masked));
}

static void
emit(struct tg_inspect_sess *ss, struct pending *pe)
{
	struct tg_inspect *in = ss->in;
	struct tg_inspect_event ev;

	fill(ss, pe, &ev);
	CNT(in, EVENTS);
	if (in->event != NULL)
		in->event(in->event_arg, &ev);
}

/*
 * A statement decided, about to be released: its STATEMENT_BEGIN event,
 * and on a strict service a gate at the message m that runs it.
 */
static void
begin(struct tg_inspect_sess *ss, const struct pending *pe, const struct tg_pg_msg *m)
{
	struct tg_inspect *in = ss->in;
	struct tg_inspect_event ev;
	uint64_t ticket;

	if (ss->rec.on && !ss->failed) {
		struct tg_record_out o = rec_out(ss);

		tg_record_stmt(&ss->rec, &o, now_ns(), pe->number,
			       pe->kind == P_PARSE ? TG_INSPECT_EXECUTE : pe->kind, pe->verdict,
			       pe->text, pe->text_len, pe->params, pe->params_len);
	}
	if (in->begin == NULL || ss->failed)
		return;
	fill(ss, pe, &ev);
	ev.type = TG_INSPECT_EV_STATEMENT_BEGIN;
	ev.result = TG_INSPECT_OK;
	ev.t_end_ns = 0;
	ticket = in->begin(in->event_arg, &ev);
	/*
	 * A refusal for a full audit store runs nothing: it is not held for
	 * its record (which may wait long, the store being full), and a
	 * record that could not be queued does not fail the session.
	 */
	if (pe->rule == RULE_AUDIT_FULL)
		return;
	if (in->svcs == NULL || ss->svc >= in->svcs->nb ||
	    in->svcs->svc[ss->svc].durability != TG_DURABILITY_STRICT)
		return;
	if (ticket == 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_AUDIT);
		return;
	}
	if (ss->ngates == GATES_MAX) {
		/* the last gate holds this one too: released when both are durable */
		ss->gates[GATES_MAX - 1].ticket = ticket;
		return;
	}
	CNT(in, GATED);
	if (ss->ngates++ == 0)
		in->nb_gated++;
	ss->gates[ss->ngates - 1].off = m->off;
	ss->gates[ss->ngates - 1].ticket = ticket;
}

/* A session's start or end, through session_event. */
static void
session_event(struct tg_inspect_sess *ss, uint8_t type, uint8_t reason)
{
	struct tg_inspect *in = ss->in;
	struct tg_inspect_event ev = {
		.type = type,
		.end_reason = reason,
		.server = ss->server,
		.session = ss->id,
		.service = ss->svc,
		.service_name = in->svcs != NULL && ss->svc < in->svcs->nb
					? in->svcs->svc[ss->svc].name
					: NULL,
		.client = ss->client,
		.user = ss->user,
		.database = ss->database,
		.application = ss->application,
		.text = "",
		.params = "",
		.t_start_ns = ss->t_open,
		.t_end_ns = type == TG_INSPECT_EV_SESSION_END ? now_ns() : 0,
	};

	if (in->session_event != NULL)
		in->session_event(in->event_arg, &ev);
}

static void
session_start(struct tg_inspect_sess *ss)
{
	if (ss->started)
		return;
	ss->started = true;
	session_event(ss, TG_INSPECT_EV_SESSION_START, 0);
}

static void
pop(struct tg_inspect_sess *ss, uint8_t result)
{
	struct pending *pe = head(ss);

	if (pe == NULL)
		return;
	if (pe->result == TG_INSPECT_OK)
		pe->result = result;
	emit(ss, pe);
	ss->p_head = (ss->p_head + 1) % PENDING_MAX;
	ss->p_count--;
}

/* A new pending statement, its text copied and masked for the event. */
/* A new pending statement of kind, with no text yet. */
static struct pending *
push_bare(struct tg_inspect_sess *ss, uint8_t kind)
{
	struct pending *pe;

	if (ss->p_count == PENDING_MAX)
		pop(ss, TG_INSPECT_UNFINISHED);
	pe = &ss->pend[(ss->p_head + ss->p_count++) % PENDING_MAX];
	memset(pe, 0, offsetof(struct pending, text));
	pe->kind = kind;
	pe->rule = -1;
	pe->number = ++ss->stmt_no;
	pe->t_start = now_ns();
	/* its own request, if the server acts on it, is the one before (pg.c queues it first) */
	pe->seq = ss->pg.op_seq;
	return pe;
}

static struct pending *
push(struct tg_inspect_sess *ss, uint8_t kind, const char *text, uint32_t len)
{
	struct pending *pe = push_bare(ss, kind);

	if (text == NULL)
		len = 0;
	pe->text_len = len < TG_INSPECT_TEXT_MAX ? len : TG_INSPECT_TEXT_MAX;
	pe->text_cut = pe->text_len < len;
	if (!pe->text_cut) {
		if (pe->text_len != 0)	/* text may be NULL (an Execute of an unknown portal) */
			memcpy(pe->text, text, pe->text_len);
		/* counts of the event's own text are not result counts */
		mask_values(ss, (uint8_t *)pe->text, pe->text_len, NULL);
	} else {
		/*
		 * Scanned past the cap, so that a value the cap cuts in two is
		 * still recognised and masked in the part kept.
		 */
		uint32_t n = len < TEXT_SCAN_MAX ? len : TEXT_SCAN_MAX;

		memcpy(ss->in->buf, text, n);
		mask_values(ss, ss->in->buf, n, NULL);
		memcpy(pe->text, ss->in->buf, pe->text_len);
	}
	return pe;
}

/* Appends to the params display of pe, as much as fits. */
static void
params_add(struct pending *pe, const char *s, uint32_t len)
{
	uint32_t room = TG_INSPECT_PARAMS_MAX - pe->params_len;

	if (len > room)
		len = room;
	memcpy(pe->params + pe->params_len, s, len);
	pe->params_len += len;
}

static void
params_render(struct tg_inspect_sess *ss, struct pending *pe, const struct tg_pg_param *pr,
	      uint16_t nshown, uint16_t nparams)
{
	char num[24];
	uint16_t i;
	int n;

	for (i = 0; i < nshown; i++) {
		n = snprintf(num, sizeof(num), "%s$%u=", i ? ", " : "", i + 1u);
		params_add(pe, num, (uint32_t)n);
		if (pr[i].val == NULL) {
			params_add(pe, "NULL", 4);
			continue;
		}
		params_add(pe, pr[i].format == 0 ? "'" : "x'", pr[i].format == 0 ? 1 : 2);
		params_add(pe, pr[i].val, pr[i].len);
		params_add(pe, pr[i].truncated ? "...'" : "'", pr[i].truncated ? 4 : 1);
	}
	if (nparams > nshown) {
		n = snprintf(num, sizeof(num), ", +%u more", (unsigned)(nparams - nshown));
		params_add(pe, num, (uint32_t)n);
	}
	mask_values(ss, (uint8_t *)pe->params, pe->params_len, NULL);
}

/* ---------------------------------------------------------------------
 * Statements: verdicts and blocking
 * ------------------------------------------------------------------- */

/* AU-5(4): is the slowpath's audit store full now? Relaxed, one load per statement. */
static inline bool
audit_full(const struct tg_inspect *in)
{
	return in->audit_full != NULL && __atomic_load_n(in->audit_full, __ATOMIC_RELAXED) != 0;
}

/* The verdict on a statement text; *rule is the deciding rule or -1. */
static uint8_t
decide(struct tg_inspect_sess *ss, const char *text, uint32_t len, int32_t *rule)
{
	const struct tg_policy *p = ss->in->policy;
	uint32_t r;
	int n;

	*rule = -1;
	if (p == NULL || p->cmd_db == NULL)
		return p != NULL ? p->cmd_default : TG_ACT_ALLOW;
	n = tg_policy_match_cmd(p, ss->in->scratch, text != NULL ? text : "", len, ss->svc, &r,
				1);
	if (n < 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_SCAN);
		return TG_ACT_BLOCK;
	}
	if (n == 0)
		return p->cmd_default;
	*rule = (int32_t)r;
	return p->cmds[r].action;
}

/*
 * Rewrites a blocked statement's text [off, off + len) in place into a
 * token naming the rule, padded with spaces: the server's raw parser fails
 * on the first token before anything of the string runs. Returns false
 * when the text is too short for any token.
 */
static bool
rewrite_blocked(struct tg_inspect_sess *ss, uint64_t off, uint32_t len, int32_t rule)
{
	const char *id = rule >= 0		  ? ss->in->policy->cmds[rule].id
			 : rule == RULE_AUDIT_FULL ? "audit_full"
						   : "default";
	char tok[3][96];
	uint8_t *out = ss->in->buf;
	size_t i, t, n;

	snprintf(tok[0], sizeof(tok[0]), "tollgate_blocked_rule_%s", id);
	snprintf(tok[1], sizeof(tok[1]), "tg_blocked_%s", id);
	snprintf(tok[2], sizeof(tok[2]), "tg_blocked");
	for (t = 0; t < 3; t++) {
		n = strlen(tok[t]);
		if (n <= len)
			break;
	}
	if (t == 3 || len > smem(ss)->ring_size)
		return false;
	/* an identifier: rule ids may hold '-' and '.' */
	for (i = 0; i < n; i++) {
		char c = tok[t][i];

		out[i] = (uint8_t)((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
					   ? c
				   : (c >= 'A' && c <= 'Z') ? c - 'A' + 'a'
							    : '_');
	}
	memset(out + n, ' ', len - n);
	if (tg_stream_write(smem(ss), &ss->st[0], off, out, len) != 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_SCAN);
		return false;
	}
	return true;
}

/* Starts the stream editor on direction dir of the session, from where its receiver is. */
static struct tg_edit *
edit_of(struct tg_inspect_sess *ss, int dir)
{
	struct tg_edit *e = &ss->edit[dir];
	const struct tg_stream *st = &ss->st[dir];

	if (!e->active) {
		tg_edit_start(e, st->base, st->wnd_end > st->base ? st->wnd_end - st->base : 0);
		ss->in->nb_editing++;
	}
	return e;
}

/*
 * The ErrorResponse sent for a blocked statement (55.7): severity, SQLSTATE
 * 42501 (insufficient_privilege, as for a permission denied by the server),
 * a message naming the rule. Returns its length.
 */
static uint16_t
blocked_reply(uint8_t *out, size_t size, const char *rule_id, bool full)
{
	int n;

	if (full)
		/*
		 * AU-5(4): 53100 (disk_full, class 53 insufficient resources), as
		 * the server says when it cannot write; the session stays usable
		 * and the same statement works once the store has room.
		 */
		n = snprintf((char *)out + 5, size - 6,
			     "SERROR%cVERROR%cC" SQLSTATE_AUDIT_FULL "%cMstatement refused: the "
			     "audit log of the gateway is full%cDthe statement was not sent to the "
			     "server; tollgate refuses statements it cannot record (NIST SP 800-53 "
			     "AU-5(4))%cHretry once the operator has made room in the audit store%c",
			     0, 0, 0, 0, 0, 0);
	else
		n = snprintf((char *)out + 5, size - 6,
			     "SERROR%cVERROR%cC42501%cMstatement blocked by tollgate policy rule "
			     "\"%s\"%cDthe statement was not sent to the server%c",
			     0, 0, 0, rule_id[0] != '\0' ? rule_id : "default", 0, 0);
	if (n < 0 || (size_t)n >= size - 6)
		n = 0;
	out[0] = 'E';
	out[5 + n] = 0;
	tg_wr32(out + 1, (uint32_t)n + 5);
	return (uint16_t)(n + 6);
}

/*
 * A block carried out by the stream editor: the statement never reaches
 * the server and the client gets an ErrorResponse, then the server's own
 * ReadyForQuery, so the transaction status is the server's.
 * - Query: replaced by a Sync (5 bytes), which the server answers with a
 *   ReadyForQuery and nothing else, whatever the transaction state.
 * - Parse: it and every message after it up to the Sync are consumed (the
 *   server skips the same messages after an error); the Sync goes on.
 * The ErrorResponse is injected in front of the ReadyForQuery that answers
 * that request (cb_ready()). False when the editor cannot take it (not
 * enabled, no room): the caller falls back to rewriting.
 */
static bool
block_reply(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, bool parse, int32_t rule)
{
	static const uint8_t sync[5] = { 'S', 0, 0, 0, 4 };
	struct tg_inspect *in = ss->in;
	uint64_t after;

	if (!in->editor || m == NULL || ss->ninj == INJ_MAX || m->off < ss->st[0].released)
		return false;
	if (parse) {
		if (tg_edit_replace(edit_of(ss, 0), m->off, m->len, NULL, 0) != 0)
			return false;
		tg_pg_fe_withdraw(&ss->pg);
		ss->gw_skip = true;
		ss->gw_skip_from = m->off + m->len;
		ss->skip_rule = rule;
		ss->skip_text_len = 0;
		if (ss->p_count != 0) {
			/* the blocked Parse's pending statement, just pushed (cb_parse()) */
			const struct pending *pe =
				&ss->pend[(ss->p_head + ss->p_count - 1) % PENDING_MAX];

			ss->skip_text_len = pe->text_len;
			memcpy(ss->skip_text, pe->text, pe->text_len);
		}
		after = ss->pg.op_seq;
	} else {
		/* the Query must have been queued: its ReadyForQuery is the Sync's */
		if (ss->pg.op_seq == ss->pg.fe_op_seq ||
		    tg_edit_replace(edit_of(ss, 0), m->off, m->len, sync, sizeof(sync)) != 0)
			return false;
		after = ss->pg.op_seq - 1;
	}
	ss->inj[ss->ninj].after = after;
	ss->inj[ss->ninj].audit_full = rule == RULE_AUDIT_FULL;
	ss->inj[ss->ninj].replace = false;
	ss->inj[ss->ninj].err_len = 0;
	snprintf(ss->inj[ss->ninj].rule_id, sizeof(ss->inj[0].rule_id), "%s",
		 rule >= 0 ? in->policy->cmds[rule].id : "");
	ss->ninj++;
	return true;
}

/*
 * Counts the verdict v on a Query or Parse text and carries out a block:
 * with the stream editor an error reply (block_reply()); else the text is
 * rewritten in place (it may be the ring text->p points into), so
 * whatever must see the client's text copies it first.
 */
static void
enforce(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, bool parse,
	const struct tg_pg_str *text, uint8_t v, int32_t rule)
{
	struct tg_inspect *in = ss->in;

	CNT(in, STATEMENTS);
	switch (v) {
	case TG_ACT_ALLOW:
		CNT(in, ALLOWED);
		break;
	case TG_ACT_LOG:
		CNT(in, LOGGED);
		break;
	case TG_ACT_HOLD:
		/* a Query is parked by cb_query(); a Parse goes on: each Execute of it is held */
		break;
	default:
		if (rule == RULE_AUDIT_FULL)
			CNT(in, REFUSED_AUDIT_FULL);
		if (ss->failed)
			break;
		if (block_reply(ss, m, parse, rule)) {
			CNT(in, BLOCKED_REPLY);
		} else if (text->p != NULL && rewrite_blocked(ss, text->off, text->len, rule)) {
			CNT(in, BLOCKED);
		} else if (!ss->failed) {
			CNT(in, BLOCKED_RESET);
			/* counted as blocked, not as a failure: the reset is the verdict */
			ss->failed = TG_INSPECT_CNT_BLOCKED_RESET;
		}
		break;
	}
}

/* Decides a Query text; returns the verdict after blocking. */
static uint8_t
judge(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, const struct tg_pg_str *text,
      int32_t *rule)
{
	uint8_t v;

	if (audit_full(ss->in)) {
		*rule = RULE_AUDIT_FULL;
		v = TG_ACT_BLOCK;
	} else {
		v = decide(ss, text->p, text->p != NULL ? text->len : 0, rule);
	}
	enforce(ss, m, false, text, v, *rule);
	return v;
}

/* Records the deciding rule of a pending statement, its id copied. */
static void
set_rule(struct tg_inspect_sess *ss, struct pending *pe, int32_t rule)
{
	const struct tg_policy *p = ss->in->policy;

	pe->rule = rule;
	pe->rule_id[0] = '\0';
	if (rule == RULE_AUDIT_FULL)
		snprintf(pe->rule_id, sizeof(pe->rule_id), "%s", RULE_AUDIT_FULL_ID);
	if (rule >= 0 && p != NULL)
		snprintf(pe->rule_id, sizeof(pe->rule_id), "%s", p->cmds[rule].id);
}

/* The oldest error reply is placed (or will never be): the next one is first. */
static void
inj_drop(struct tg_inspect_sess *ss)
{
	ss->ninj--;
	memmove(ss->inj, ss->inj + 1, ss->ninj * sizeof(ss->inj[0]));
}

/* ---------------------------------------------------------------------
 * Holds: see "Holds" in inspect.h
 * ------------------------------------------------------------------- */

/*
 * A denied hold's ErrorResponse: the slowpath's SQLSTATE and reason, and
 * the rule. Returns its length, 0 when it does not fit.
 */
static uint16_t
hold_error(uint8_t *out, size_t size, const char *sqlstate, const char *text, size_t len,
	   const char *rule_id)
{
	int n;

	if (len > 400)
		len = 400;
	n = snprintf((char *)out + 5, size - 6,
		     "SERROR%cVERROR%cC%.5s%cMstatement not run: %.*s%cDheld for approval by "
		     "tollgate policy rule \"%s\"; the statement was not sent to the server%c",
		     0, 0, sqlstate, 0, (int)len, text, 0, rule_id, 0);
	if (n < 0 || (size_t)n >= size - 6)
		return 0;
	out[0] = 'E';
	out[5 + n] = 0;
	tg_wr32(out + 1, (uint32_t)n + 5);
	return (uint16_t)(n + 6);
}

/*
 * Puts what stands in for the parked statement where it was (its end: the
 * message itself is consumed already) and queues the client's error reply:
 * a Query becomes a Sync, the reply going before its ReadyForQuery; an
 * Execute becomes an Execute of HOLD_NO_PORTAL, the reply replacing the
 * server's ErrorResponse to it. Returns 0 or -errno (no room).
 */
static int
hold_deny(struct tg_inspect_sess *ss, const char *sqlstate, const char *text, size_t len)
{
	static const uint8_t sync[5] = { 'S', 0, 0, 0, 4 };
	static const uint8_t noportal[] = { 'E', 0, 0, 0, 4 + sizeof(HOLD_NO_PORTAL) + 4,
					    't', 'o', 'l', 'l', 'g', 'a', 't', 'e',
					    '.', 'd', 'e', 'n', 'i', 'e', 'd', 0,
					    0, 0, 0, 0 };
	typeof(ss->inj[0]) *j;
	bool query = ss->hold.kind == P_QUERY;
	int rc;

	_Static_assert(sizeof(noportal) == 1 + 4 + sizeof(HOLD_NO_PORTAL) + 4, "Execute layout");
	if (ss->ninj == INJ_MAX)
		return -ENOSPC;
	j = &ss->inj[ss->ninj];
	j->err_len = hold_error(j->err, sizeof(j->err), sqlstate, text, len, ss->hold.rule_id);
	if (j->err_len == 0)
		return -ENOSPC;
	rc = tg_edit_replace(edit_of(ss, 0), ss->hold.end, 0, query ? sync : noportal,
			     query ? sizeof(sync) : sizeof(noportal));
	if (rc != 0)
		return rc;
	j->after = ss->hold.req;
	j->audit_full = false;
	j->replace = !query;
	memcpy(j->sqlstate, sqlstate, 5);
	j->sqlstate[5] = '\0';
	memcpy(j->rule_id, ss->hold.rule_id, sizeof(j->rule_id));
	ss->ninj++;
	return 0;
}

/* The server's ErrorResponse m to a denied Execute: the hold's reply goes in its place. */
static void
hold_error_here(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, struct pending *pe)
{
	typeof(ss->inj[0]) *j = &ss->inj[0];

	if (m->off < ss->st[1].released ||
	    tg_edit_replace(edit_of(ss, 1), m->off, m->len, j->err, j->err_len) != 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	rec_injected(ss, j->err, j->err_len);
	if (pe != NULL && pe->kind == P_EXECUTE && pe->verdict == TG_ACT_HOLD) {
		if (pe->result == TG_INSPECT_OK) {
			pe->result = TG_INSPECT_ERROR;
			memcpy(pe->sqlstate, j->sqlstate, sizeof(pe->sqlstate));
		}
		pop(ss, TG_INSPECT_ERROR);
	}
	inj_drop(ss);
}

/* A hold decided: the parser reads what the client sent behind the statement. */
static void
hold_resume(struct tg_inspect_sess *ss)
{
	struct tg_inspect *in = ss->in;

	ss->hold.state = HS_NONE;
	in->nb_held--;
	explicit_bzero(ss->hold.bytes, ss->hold.len);
	tg_stream_redeliver(in->smem, &ss->st[0], tg_pg_next(&ss->pg, TG_PG_DIR_FE),
			    &in->consumer[0]);
}

/* Denies the parked statement of ss with a reply, or fails the session when none fits. */
static void
hold_refuse(struct tg_inspect_sess *ss, enum tg_inspect_counter why, const char *sqlstate,
	    const char *text, size_t len)
{
	ss->in->cnt[why]++;
	if (hold_deny(ss, sqlstate, text, len) != 0)
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
}

#define HOLD_REFUSE(ss, why, state, text) hold_refuse(ss, why, state, text, sizeof(text) - 1)

/* Tells the slowpath it will not decide the parked statement of ss (a CANCEL). */
static void
hold_tell_cancel(struct tg_inspect_sess *ss, const char *reason)
{
	struct tg_inspect *in = ss->in;
	struct tg_inspect_hold h = {
		.op = TG_INSPECT_HOLD_CANCEL,
		.session = ss->id,
		.hold = ss->hold.number,
		.reason = reason,
	};

	if (in->hold != NULL)
		(void)in->hold(in->event_arg, &h);
}

/* The session ends while its statement waits: the request is cancelled. */
static void
hold_cancel(struct tg_inspect_sess *ss, const char *reason)
{
	if (ss->hold.state == HS_NONE)
		return;
	CNT(ss->in, HOLD_CANCELLED);
	hold_tell_cancel(ss, reason);
	ss->hold.state = HS_NONE;
	ss->in->nb_held--;
}

/*
 * A statement of a hold rule (pe, decided on message m, which runs it):
 * consumed, kept and asked about, the parser stopped behind it; or denied
 * at once when it cannot be parked or asked about.
 */
static void
hold_start(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, struct pending *pe)
{
	struct tg_inspect *in = ss->in;
	const struct tg_cmd_rule *r;
	struct tg_inspect_hold h;

	/* the server would not act on it (it skips to the Sync after an error): nothing to hold */
	if (ss->failed || ss->pg.op_seq == ss->pg.fe_op_seq || pe->rule < 0 ||
	    in->policy == NULL || (unsigned int)pe->rule >= in->policy->nb_cmds)
		return;
	r = &in->policy->cmds[pe->rule];
	CNT(in, HELD);
	if (!in->editor || m->off < ss->st[0].released ||
	    tg_edit_replace(edit_of(ss, 0), m->off, m->len, NULL, 0) != 0) {
		/* nothing can stand in for it: the session goes */
		CNT(in, HOLD_UNAVAILABLE);
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	ss->hold.kind = pe->kind;
	ss->hold.number = pe->number;
	ss->hold.end = m->off + m->len;
	ss->hold.req = ss->pg.op_seq - 1;
	memcpy(ss->hold.rule_id, r->id, sizeof(ss->hold.rule_id));
	if (m->len > TG_INSPECT_HOLD_MAX) {
		HOLD_REFUSE(ss, TG_INSPECT_CNT_HOLD_TOO_LONG, "54000",
			    "the statement is too long to be held for approval by the gateway");
		return;
	}
	if (tg_stream_read(smem(ss), &ss->st[0], m->off, ss->hold.bytes, m->len) != 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	ss->hold.len = (uint16_t)m->len;
	h = (struct tg_inspect_hold){
		.op = TG_INSPECT_HOLD_ASK,
		.session = ss->id,
		.hold = pe->number,
		.kind = pe->kind,
		.service = ss->svc,
		.service_name = in->svcs != NULL && ss->svc < in->svcs->nb
					? in->svcs->svc[ss->svc].name
					: NULL,
		.rule = r->id,
		.approvers = r->approvers,
		.quorum = r->quorum,
		.self_approval = r->self_approval,
		.timeout_s = r->timeout_s,
		.t_ns = now_ns(),
		.client = ss->client,
		.server = ss->server,
		.user = ss->user,
		.database = ss->database,
		.text = pe->text,
		.text_len = pe->text_len,
		.params = pe->params,
		.params_len = pe->params_len,
	};
	if (in->hold == NULL || in->hold(in->event_arg, &h) != 0) {
		HOLD_REFUSE(ss, TG_INSPECT_CNT_HOLD_UNAVAILABLE, "57P03",
			    "the approval service of the gateway is not reachable");
		return;
	}
	ss->hold.state = HS_WAIT;
	ss->hold.deadline = mono_ns() + ((uint64_t)r->timeout_s + TG_INSPECT_HOLD_GRACE_S) *
						1000000000ull;
	{
		char note[96 + TG_POLICY_ID_MAX];

		snprintf(note, sizeof(note),
			 "statement held for approval by policy rule \"%s\" (quorum %u, timeout %u s)",
			 r->id, r->quorum, r->timeout_s);
		rec_hold(ss, note);
	}
	in->nb_held++;
	tg_pg_pause(&ss->pg, TG_PG_DIR_FE);
}

/* ---------------------------------------------------------------------
 * Parser callbacks
 * ------------------------------------------------------------------- */

static void
cb_violation(void *ctx, int dir, enum tg_pg_err err, uint64_t off)
{
	(void)dir;
	(void)err;
	(void)off;
	fail(ctx, TG_INSPECT_CNT_FAIL_VIOLATION);
}

static void
cb_opaque(void *ctx, const struct tg_pg_msg *m)
{
	(void)m;
	fail(ctx, TG_INSPECT_CNT_FAIL_ENCRYPTED);
}

static void login_start(struct tg_inspect_sess *ss, const struct tg_pg_msg *m);

static void
cb_startup(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_startup *st)
{
	struct tg_inspect_sess *ss = ctx;

	copy_name(ss->user, sizeof(ss->user), &st->user);
	copy_name(ss->database, sizeof(ss->database), &st->database);
	copy_name(ss->application, sizeof(ss->application), &st->application_name);
	session_start(ss);
	if (ss->in->svcs != NULL && ss->in->svcs->svc[ss->svc].identity == TG_IDENTITY_OIDC)
		login_start(ss, m);
}

static void
cb_query(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_str *text)
{
	struct tg_inspect_sess *ss = ctx;
	struct pending *pe = push(ss, P_QUERY, text->p, text->len);
	int32_t rule;

	if (ss->gw_skip) {
		/* consumed with the blocked batch it follows: the server never sees it */
		pe->verdict = decide(ss, text->p, text->p != NULL ? text->len : 0, &rule);
		set_rule(ss, pe, rule);
		pe->result = TG_INSPECT_NOT_RUN;
		return;
	}
	pe->verdict = judge(ss, m, text, &rule);
	set_rule(ss, pe, rule);
	ss->query_error = false;
	begin(ss, pe, m);
	if (pe->verdict == TG_ACT_HOLD)
		hold_start(ss, m, pe);
}

static void
cb_parse(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_parse *p)
{
	struct tg_inspect_sess *ss = ctx;
	int32_t rule;
	uint8_t v;

	if (ss->gw_skip)
		return;	/* consumed with the blocked batch: never parsed by the server */
	if (audit_full(ss->in)) {
		rule = RULE_AUDIT_FULL;
		v = TG_ACT_BLOCK;
	} else {
		v = decide(ss, p->text.p, p->text.p != NULL ? p->text.len : 0, &rule);
	}
	if (v == TG_ACT_BLOCK) {
		/*
		 * The Executes after it never run: this is the statement's one
		 * event. Pushed before enforce() rewrites the text, so that it
		 * names what the client sent, however the Parse was segmented.
		 */
		struct pending *pe = push(ss, P_PARSE, p->text.p, p->text.len);

		pe->verdict = v;
		set_rule(ss, pe, rule);
		begin(ss, pe, m);
	}
	enforce(ss, m, true, &p->text, v, rule);
}

/*
 * An Execute of a statement whose verdict and masked text are kept
 * (EXEC_CACHE): a pending statement with them, or NULL.
 */
static struct pending *
exec_cached(struct tg_inspect_sess *ss, const struct tg_pg_execute *e)
{
	struct pending *pe;
	unsigned int i;

	if (e->text == NULL || e->stmt_gen == 0)
		return NULL;
	for (i = 0; i < EXEC_CACHE; i++) {
		typeof(ss->exec_cache[0]) *c = &ss->exec_cache[i];

		if (c->stmt_gen != e->stmt_gen || c->policy_gen != ss->in->policy_gen)
			continue;
		c->used = ++ss->exec_tick;
		pe = push_bare(ss, P_EXECUTE);
		pe->text_len = c->text_len;
		pe->text_cut = c->text_cut;
		memcpy(pe->text, c->text, c->text_len);
		pe->verdict = c->verdict;
		pe->rule = c->rule;
		ss->in->cnt[TG_INSPECT_CNT_EXEC_CACHED]++;
		return pe;
	}
	return NULL;
}

/* Keeps what was decided of an Execute's statement, in place of the least recently used. */
static void
exec_keep(struct tg_inspect_sess *ss, const struct tg_pg_execute *e, const struct pending *pe)
{
	unsigned int i, lru = 0;

	if (e->text == NULL || e->stmt_gen == 0 || ss->failed)
		return;
	for (i = 1; i < EXEC_CACHE; i++)
		if (ss->exec_cache[i].used < ss->exec_cache[lru].used)
			lru = i;
	ss->exec_cache[lru].stmt_gen = e->stmt_gen;
	ss->exec_cache[lru].policy_gen = ss->in->policy_gen;
	ss->exec_cache[lru].used = ++ss->exec_tick;
	ss->exec_cache[lru].rule = pe->rule;
	ss->exec_cache[lru].verdict = pe->verdict;
	ss->exec_cache[lru].text_cut = pe->text_cut;
	ss->exec_cache[lru].text_len = (uint16_t)pe->text_len;
	memcpy(ss->exec_cache[lru].text, pe->text, pe->text_len);
}

static void
cb_execute(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_execute *e)
{
	struct tg_inspect_sess *ss = ctx;
	struct pending *pe;
	int32_t rule;

	if (ss->gw_skip) {
		/*
		 * Consumed with the batch of a blocked Parse: the server never
		 * sees it. The model no longer has the blocked statement (it was
		 * withdrawn), so the Execute is reported as that statement, not
		 * run, as the server would have skipped it.
		 */
		pe = push(ss, P_EXECUTE, ss->skip_text, ss->skip_text_len);
		pe->verdict = TG_ACT_BLOCK;
		set_rule(ss, pe, ss->skip_rule);
		pe->result = TG_INSPECT_NOT_RUN;
		return;
	}
	pe = exec_cached(ss, e);
	if (pe == NULL) {
		pe = push(ss, P_EXECUTE, e->text, e->text != NULL ? e->text_len : 0);
		/* decided at Parse; the verdict is recomputed for the event (a blocked Parse never runs) */
		pe->verdict = decide(ss, e->text, e->text != NULL ? e->text_len : 0, &rule);
		set_rule(ss, pe, rule);
		exec_keep(ss, e, pe);
	} else {
		set_rule(ss, pe, pe->rule);
	}
	if (pe->verdict == TG_ACT_BLOCK)
		pe->result = TG_INSPECT_NOT_RUN;
	if (e->text != NULL && e->stmt != NULL) {
		pe->stmt_len = (uint8_t)(e->stmt_len < TG_PG_NAME_MAX ? e->stmt_len : TG_PG_NAME_MAX);
		memcpy(pe->stmt, e->stmt, pe->stmt_len);
		pe->stmt_gen = e->stmt_gen;
	}
	params_render(ss, pe, e->params, e->nshown, e->nparams);
	begin(ss, pe, m);
	if (pe->verdict == TG_ACT_HOLD)
		hold_start(ss, m, pe);
}

static void
cb_function_call(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_fcall *f)
{
	struct tg_inspect_sess *ss = ctx;
	char text[32];
	int n = snprintf(text, sizeof(text), "function %u", f->oid);
	struct pending *pe = push(ss, P_FCALL, text, (uint32_t)n);

	pe->verdict = TG_ACT_ALLOW;
	if (audit_full(ss->in)) {
		/* a Query's way: replaced by a Sync, the error reply before its ReadyForQuery */
		struct tg_pg_str none = { 0 };

		pe->verdict = TG_ACT_BLOCK;
		set_rule(ss, pe, RULE_AUDIT_FULL);
		enforce(ss, m, false, &none, TG_ACT_BLOCK, RULE_AUDIT_FULL);
	}
	begin(ss, pe, m);
}

static struct colset *
colset_find(struct tg_inspect_sess *ss, const char *name, uint32_t len, uint32_t gen)
{
	unsigned int i;

	for (i = 0; i < COLSETS; i++) {
		struct colset *c = &ss->colsets[i];

		if (c->gen == gen && c->name_len == len && memcmp(c->name, name, len) == 0)
			return c;
	}
	return NULL;
}

/* Keeps the column masks just computed for the statement a Describe was about. */
static void
colset_keep(struct tg_inspect_sess *ss, const struct tg_pg_rowdesc *rd)
{
	uint32_t len = rd->stmt.len < TG_PG_NAME_MAX ? rd->stmt.len : TG_PG_NAME_MAX;
	struct colset *c = colset_find(ss, rd->stmt.p, len, rd->stmt_gen);
	uint16_t i;
	unsigned int k;

	if (c == NULL) {
		c = &ss->colsets[0];
		for (k = 1; k < COLSETS; k++)
			if (ss->colsets[k].used < c->used)
				c = &ss->colsets[k];
	}
	c->gen = 0;
	c->n = 0;
	for (i = 0; i < ss->ncols; i++) {
		if (!ss->col_style[i])
			continue;
		if (c->n == COLSET_COLS)
			return;	/* too many to keep: its executions fall back (resolve_cols()) */
		c->idx[c->n] = i;
		c->style[c->n++] = (uint8_t)(ss->col_style[i] |
					     ((ss->col_binary[i / 8] >> (i % 8) & 1) << 7));
	}
	c->ncols = ss->ncols;
	c->name_len = (uint8_t)len;
	memcpy(c->name, rd->stmt.p, len);
	c->gen = rd->stmt_gen;
	c->used = ++ss->col_tick;
}

/*
 * Before the first field of an Execute's result: the column masks of the
 * statement it runs, which may have been described long before (or, with
 * no RowDescription since, stay those of the last one seen, counted).
 */
static void
resolve_cols(struct tg_inspect_sess *ss, struct pending *pe)
{
	const struct tg_policy *p = ss->in->policy;
	const struct colset *c;
	unsigned int k;

	pe->cols_done = true;
	if (p == NULL || p->nb_cols == 0)
		return;
	c = pe->stmt_gen != 0 ? colset_find(ss, pe->stmt, pe->stmt_len, pe->stmt_gen) : NULL;
	if (c == NULL) {
		CNT(ss->in, COLUMNS_UNKNOWN);
		return;
	}
	memset(ss->col_style, 0, ss->ncols);
	memset(ss->col_binary, 0, sizeof(ss->col_binary));
	ss->ncols = c->ncols;
	for (k = 0; k < c->n; k++) {
		ss->col_style[c->idx[k]] = c->style[k] & 0x7f;
		if (c->style[k] & 0x80)
			ss->col_binary[c->idx[k] / 8] |= (uint8_t)(1u << (c->idx[k] % 8));
	}
}

static void
cb_row_description(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_rowdesc *rd)
{
	struct tg_inspect_sess *ss = ctx;
	const struct tg_policy *p = ss->in->policy;
	struct tg_pg_iter it = rd->cols;
	struct tg_pg_column col;
	uint16_t i = 0;

	(void)m;
	ss->ncols = rd->ncols < COLS_MAX ? rd->ncols : COLS_MAX;
	memset(ss->col_style, 0, ss->ncols);
	memset(ss->col_binary, 0, sizeof(ss->col_binary));
	while (i < ss->ncols && tg_pg_next_column(&it, &col)) {
		const struct tg_column_rule *r =
			p != NULL ? tg_policy_column(p, col.name.p, col.name.len, ss->svc) : NULL;

		if (r != NULL)
			ss->col_style[i] = (uint8_t)(r->style + 1);
		if (col.format == 1)
			ss->col_binary[i / 8] |= (uint8_t)(1u << (i % 8));
		i++;
	}
	if (rd->stmt.p != NULL && p != NULL && p->nb_cols != 0)
		colset_keep(ss, rd);
	if (ss->rec.on && !ss->failed) {
		struct tg_record_out o = rec_out(ss);
		const char *names[COLS_MAX];
		uint32_t lens[COLS_MAX];

		it = rd->cols;
		for (i = 0; i < COLS_MAX && tg_pg_next_column(&it, &col); i++) {
			names[i] = col.name.p;
			lens[i] = col.name.p != NULL ? col.name.len : 0;
		}
		tg_record_columns(&ss->rec, &o, now_ns(), rd->ncols, names, lens, i);
	}
}

static void
mask_field(struct tg_inspect_sess *ss, uint16_t idx, uint64_t off, int32_t len, uint8_t *bytes)
{
	struct tg_inspect *in = ss->in;
	struct pending *pe = head(ss);
	uint8_t *v;
	int n;

	if (pe != NULL && pe->kind == P_EXECUTE && !pe->cols_done)
		resolve_cols(ss, pe);
	if (len <= 0 || ss->failed)
		return;
	CNT(in, FIELDS_SCANNED);
	if (idx < ss->ncols && ss->col_style[idx]) {
		struct tg_detect_match all = { .id = 0, .start = 0, .end = (uint32_t)len };

		v = view(ss, TG_PG_DIR_BE, off, (uint32_t)len, bytes);
		if (v == NULL)
			return;
		if (ss->col_binary[idx / 8] >> (idx % 8) & 1)
			memset(v, 0, (size_t)len);
		else
			tg_detect_mask(v, &all, 1,
				       (enum tg_detect_mask_style)(ss->col_style[idx] - 1));
		commit(ss, TG_PG_DIR_BE, off, (uint32_t)len, v, bytes);
		CNT(in, COLUMNS_MASKED);
		if (pe != NULL)
			pe->masked_columns++;
		return;
	}
	n = mask_at(ss, TG_PG_DIR_BE, off, (uint32_t)len, bytes, pe);
	if (n > 0)
		in->cnt[TG_INSPECT_CNT_VALUES_MASKED] += (uint64_t)n;
}

/* A field: masked, then recorded as it leaves. */
static void
cb_data_field(void *ctx, const struct tg_pg_msg *m, uint16_t idx, uint64_t off, int32_t len,
	      uint8_t *bytes)
{
	struct tg_inspect_sess *ss = ctx;

	(void)m;
	mask_field(ss, idx, off, len, bytes);
	if (idx != UINT16_MAX)
		rec_field(ss, idx, off, len, bytes);
}

static void
cb_data_row(void *ctx, const struct tg_pg_msg *m, uint16_t nfields)
{
	struct tg_inspect_sess *ss = ctx;
	struct pending *pe = head(ss);

	(void)m;
	CNT(ss->in, ROWS);
	if (pe != NULL)
		pe->rows++;
	if (ss->rec.on && !ss->failed) {
		struct tg_record_out o = rec_out(ss);

		tg_record_row(&ss->rec, &o, now_ns(), nfields);
	}
}

static void
cb_function_result(void *ctx, const struct tg_pg_msg *m, uint64_t off, int32_t len,
		   uint8_t *bytes)
{
	cb_data_field(ctx, m, UINT16_MAX, off, len, bytes);
}

/* Is server CopyData m too long to hold whole? Then it is scanned piece by piece. */
static bool
copy_streamed(const struct tg_inspect_sess *ss, const struct tg_pg_msg *m)
{
	return m->len > smem(ss)->ring_size / 2;
}

static void
cb_copy_data(void *ctx, const struct tg_pg_msg *m, uint64_t off, uint32_t len, uint8_t *bytes)
{
	struct tg_inspect_sess *ss = ctx;

	if (m->dir != TG_PG_DIR_BE || !copy_streamed(ss, m) || ss->failed)
		return;
	if (mask_at(ss, TG_PG_DIR_BE, off, len, bytes, head(ss)) > 0)
		CNT(ss->in, COPY_MASKED);
}

/* The rows count of a CommandComplete tag: its last number ("INSERT 0 5", "SELECT 5"). */
static uint64_t
tag_rows(const struct tg_pg_str *tag, bool *has)
{
	uint64_t v = 0;
	uint32_t i = tag->len;

	*has = false;
	while (i > 0 && tag->p[i - 1] >= '0' && tag->p[i - 1] <= '9')
		i--;
	if (i == tag->len || i == 0 || tag->p[i - 1] != ' ')
		return 0;
	for (; i < tag->len && v < UINT64_MAX / 10; i++)
		v = v * 10 + (uint64_t)(tag->p[i] - '0');
	*has = true;
	return v;
}

static void
cb_command_complete(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_str *tag)
{
	struct tg_inspect_sess *ss = ctx;
	struct pending *pe = head(ss);
	uint64_t rows;
	bool has;

	(void)m;
	if (ss->rec.on && !ss->failed) {
		struct tg_record_out o = rec_out(ss);

		tg_record_complete(&ss->rec, &o, now_ns(), tag->p, tag->p != NULL ? tag->len : 0);
	}
	if (pe == NULL)
		return;
	rows = tag_rows(tag, &has);
	if (pe->kind == P_QUERY) {
		/* a Query of several statements: its rows add up; it ends at ReadyForQuery */
		if (has && strncmp(tag->p, "SELECT", 6) != 0 && strncmp(tag->p, "FETCH", 5) != 0)
			pe->rows += rows;
		return;
	}
	if (has)
		pe->rows = rows;
	pop(ss, TG_INSPECT_OK);
}

static void
mask_notice(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, const struct tg_pg_notice *n)
{
	struct tg_pg_iter it = n->fields;
	struct tg_pg_str val;
	uint8_t code;

	while (!ss->failed && tg_pg_next_field(&it, &code, &val)) {
		/* severity, SQLSTATE, position, file, line, routine: never values */
		if (strchr("SVCPpFLR", code) != NULL || val.len == 0)
			continue;
		if (mask_at(ss, TG_PG_DIR_BE, val.off, val.len,
			    m->in_place ? (uint8_t *)(uintptr_t)val.p : NULL, NULL) > 0)
			CNT(ss->in, NOTICES_MASKED);
	}
}

static void
cb_error(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_notice *n)
{
	struct tg_inspect_sess *ss = ctx;
	struct pending *pe = head(ss);
	uint64_t req = ss->pg.dir[TG_PG_DIR_BE].reply_seq;

	if (ss->ninj != 0 && ss->inj[0].replace && ss->inj[0].after == req && req != 0) {
		hold_error_here(ss, m, pe);
		return;
	}
	mask_notice(ss, m, n);
	rec_notice(ss, m, n, true);
	if (pe == NULL)
		return;
	if (req != 0 && pe->seq > req + 1) {
		/*
		 * The error answers an earlier request with no statement of its
		 * own (a Parse or Bind that failed): the server now skips to the
		 * Sync, so the oldest statement waiting will not run, for this
		 * reason; cb_ready() ends it.
		 */
		if (pe->result == TG_INSPECT_OK) {
			pe->result = TG_INSPECT_NOT_RUN;
			copy_name(pe->sqlstate, sizeof(pe->sqlstate), &n->code);
		}
		return;
	}
	if (pe->result == TG_INSPECT_OK) {
		pe->result = TG_INSPECT_ERROR;
		copy_name(pe->sqlstate, sizeof(pe->sqlstate), &n->code);
	}
	if (pe->kind == P_QUERY)
		ss->query_error = true;
	else
		pop(ss, TG_INSPECT_ERROR);
}

static void
cb_notice(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_notice *n)
{
	mask_notice(ctx, m, n);
	rec_notice(ctx, m, n, false);
}

/*
 * The ReadyForQuery m answers request req, which a blocked statement's
 * reply goes in front of: the ErrorResponse is injected there, and the
 * blocked statements it ends get their result.
 */
static void
reply_blocked(struct tg_inspect_sess *ss, const struct tg_pg_msg *m, uint64_t req)
{
	uint8_t msg[8 + 256 + TG_POLICY_ID_MAX];
	bool full = ss->inj[0].audit_full;
	const uint8_t *reply = msg;
	uint16_t len;
	char sqlstate[6];
	uint32_t i;

	if (ss->inj[0].replace) {
		/* a denied Execute whose server error never came (the server was skipping) */
		inj_drop(ss);
		return;
	}
	if (ss->inj[0].err_len != 0) {
		reply = ss->inj[0].err;
		len = ss->inj[0].err_len;
	} else {
		len = blocked_reply(msg, sizeof(msg), ss->inj[0].rule_id, full);
	}
	memcpy(sqlstate, ss->inj[0].err_len != 0 ? ss->inj[0].sqlstate
			 : full			? SQLSTATE_AUDIT_FULL
						: "42501",
	       sizeof(sqlstate));
	if (m->off < ss->st[1].released ||
	    tg_edit_replace(edit_of(ss, 1), m->off, 0, reply, len) != 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	rec_injected(ss, reply, len);
	inj_drop(ss);
	for (i = 0; i < ss->p_count; i++) {
		struct pending *pe = &ss->pend[(ss->p_head + i) % PENDING_MAX];

		if (pe->seq > req + 1)
			break;
		if ((pe->verdict == TG_ACT_BLOCK || pe->verdict == TG_ACT_HOLD) &&
		    pe->result == TG_INSPECT_OK &&
		    (pe->kind == P_QUERY || pe->kind == P_PARSE || pe->kind == P_FCALL)) {
			pe->result = TG_INSPECT_ERROR;
			memcpy(pe->sqlstate, sqlstate, sizeof(pe->sqlstate));
			break;
		}
	}
}

static void
cb_ready(void *ctx, const struct tg_pg_msg *m, uint8_t status)
{
	struct tg_inspect_sess *ss = ctx;
	uint64_t req = ss->pg.dir[TG_PG_DIR_BE].reply_seq;
	struct pending *pe;

	if (ss->ninj != 0 && ss->inj[0].after <= req)
		reply_blocked(ss, m, req);
	/*
	 * This answers one Query, FunctionCall or Sync: the request req of
	 * the parser's queue (pg.c matched it). It ends the statements sent up
	 * to that request, not those a pipelining client queued behind it. A
	 * Query or FunctionCall answered here ran; an Execute still open was
	 * discarded after an error (or, like any statement sent while the
	 * server skipped to Sync, never acted on).
	 */
	while ((pe = head(ss)) != NULL && pe->seq <= req + 1)
		pop(ss, pe->seq == req + 1 ? TG_INSPECT_OK : TG_INSPECT_NOT_RUN);
	if (ss->rec.on && !ss->failed) {
		struct tg_record_out o = rec_out(ss);

		tg_record_ready(&ss->rec, &o, now_ns(), status);
	}
}

/*
 * Client messages the stream editor acts on, once whole: after a blocked
 * Parse, everything up to the Sync is consumed (a Terminate goes on, and
 * ends the skipping as it ends the session); an SSLRequest or
 * GSSENCRequest is consumed and answered 'N' for the server, so a client
 * with sslmode=prefer goes on in cleartext and one that requires TLS
 * gives up with a clear error.
 */
static void
fe_message(struct tg_inspect_sess *ss, const struct tg_pg_msg *m)
{
	struct tg_inspect *in = ss->in;

	if (ss->gw_skip && m->off >= ss->gw_skip_from) {
		if (m->type == 'S' || m->type == 'X') {
			ss->gw_skip = false;
			return;
		}
		if (tg_edit_replace(edit_of(ss, 0), m->off, m->len, NULL, 0) != 0)
			fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	if (!in->editor ||
	    (m->kind != TG_PG_FE_SSL_REQUEST && m->kind != TG_PG_FE_GSSENC_REQUEST))
		return;
	if (tg_edit_replace(edit_of(ss, 0), m->off, m->len, NULL, 0) != 0 ||
	    tg_edit_replace(edit_of(ss, 1), ss->st[1].contiguous, 0, "N", 1) != 0) {
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	tg_pg_enc_refused(&ss->pg);
	CNT(in, TLS_REFUSED);
}

/* ---------------------------------------------------------------------
 * Logins taken over (identity oidc): see "Logins" in inspect.h
 * ------------------------------------------------------------------- */

/* Appends field code with s[0..len) and its NUL to out at *n: false if out[0..size) is full. */
static bool
put_field(uint8_t *out, size_t size, size_t *n, char code, const char *s, size_t len)
{
	if (*n + len + 3 > size)
		return false;
	out[(*n)++] = (uint8_t)code;
	memcpy(out + *n, s, len);
	*n += len;
	out[(*n)++] = 0;
	return true;
}

/*
 * A FATAL ErrorResponse (55.7): severity, SQLSTATE, message text[0..len),
 * and detail when not NULL. Returns its length, 0 if it does not fit in
 * size bytes.
 */
static uint16_t
fatal_msg(uint8_t *out, size_t size, const char *sqlstate, const char *text, size_t len,
	  const char *detail)
{
	size_t n = 5;

	if (size > UINT16_MAX || !put_field(out, size, &n, 'S', "FATAL", 5) ||
	    !put_field(out, size, &n, 'V', "FATAL", 5) ||
	    !put_field(out, size, &n, 'C', sqlstate, strnlen(sqlstate, 5)) ||
	    !put_field(out, size, &n, 'M', text, len) ||
	    (detail != NULL && !put_field(out, size, &n, 'D', detail, strlen(detail))) ||
	    n + 1 > size)
		return 0;
	out[n++] = 0;
	out[0] = 'E';
	tg_wr32(out + 1, (uint32_t)n - 1);
	return (uint16_t)n;
}

static void
login_over(struct tg_inspect_sess *ss)
{
	if (ss->login == L_NONE)
		return;
	ss->login = L_NONE;
	ss->login_held = H_NONE;
	ss->startup_len = 0;
	ss->in->nb_login--;
}

/*
 * Refuses the login: the client gets FATAL sqlstate text where the
 * gateway's bytes for it go, and the session fails (why, counted); the
 * worker sends the FATAL, then resets both ways.
 */
static void
login_refuse(struct tg_inspect_sess *ss, enum tg_inspect_counter why, const char *sqlstate,
	     const char *text, size_t len)
{
	uint8_t msg[64 + TG_INSPECT_TEXT_MAX];
	uint16_t n;

	if (ss->in->editor && !ss->failed && ss->login_be >= ss->st[1].released) {
		n = fatal_msg(msg, sizeof(msg), sqlstate, text, len, NULL);
		if (n != 0)
			(void)tg_edit_replace(edit_of(ss, 1), ss->login_be, 0, msg, n);
	}
	login_over(ss);
	fail(ss, why);
}

#define REFUSE(ss, why, state, text) login_refuse(ss, why, state, text, sizeof(text) - 1)

/*
 * The client's StartupMessage m: kept and consumed, and the client is
 * asked for its password (the token) by the gateway.
 */
static void
login_start(struct tg_inspect_sess *ss, const struct tg_pg_msg *m)
{
	static const uint8_t ask[9] = { 'R', 0, 0, 0, 8, 0, 0, 0, TG_PG_AUTH_CLEARTEXT };
	struct tg_inspect *in = ss->in;

	CNT(in, LOGINS);
	in->nb_login++;
	ss->login = L_PASSWORD;
	ss->login_held = H_NONE;
	ss->login_deadline = mono_ns() + TG_INSPECT_LOGIN_TIMEOUT_MS * 1000000ull;
	ss->login_be = ss->st[1].contiguous;
	if (!in->editor || in->login == NULL) {
		REFUSE(ss, TG_INSPECT_CNT_LOGIN_UNAVAILABLE, "57P03",
		       "this gateway cannot verify identities");
		return;
	}
	if (m->base == NULL || m->len > sizeof(ss->startup)) {
		REFUSE(ss, TG_INSPECT_CNT_FAIL_LOGIN, "08P01",
		       "startup packet too long for an identity login");
		return;
	}
	memcpy(ss->startup, m->base, m->len);
	ss->startup_len = (uint16_t)m->len;
	if (tg_edit_replace(edit_of(ss, 0), m->off, m->len, NULL, 0) != 0 ||
	    tg_edit_replace(edit_of(ss, 1), ss->login_be, 0, ask, sizeof(ask)) != 0) {
		login_over(ss);
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	tg_pg_auth_asked(&ss->pg);
}

/* The client's PasswordMessage: its token goes to the slowpath with the StartupMessage. */
static void
cb_password(void *ctx, const struct tg_pg_msg *m, const struct tg_pg_password *pw)
{
	struct tg_inspect_sess *ss = ctx;
	struct tg_inspect *in = ss->in;
	struct tg_inspect_login l;
	int rc;

	if (ss->login != L_PASSWORD || ss->failed)
		return;		/* a login the server runs itself */
	if (pw->kind != TG_PG_PW_PASSWORD || pw->password.p == NULL) {
		REFUSE(ss, TG_INSPECT_CNT_FAIL_LOGIN, "08P01", "expected a password message");
		return;
	}
	if (tg_edit_replace(edit_of(ss, 0), m->off, m->len, NULL, 0) != 0) {
		login_over(ss);
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	ss->login_fe = m->off + m->len;
	l = (struct tg_inspect_login){
		.type = TG_INSPECT_LOGIN_REQUEST,
		.session = ss->id,
		.service = ss->svc,
		.service_name = in->svcs != NULL ? in->svcs->svc[ss->svc].name : NULL,
		.client = ss->client,
		.server = ss->server,
		.startup = ss->startup,
		.startup_len = ss->startup_len,
		.token = (const uint8_t *)pw->password.p,
		.token_len = pw->password.len,
	};
	rc = in->login(in->event_arg, &l);
	/*
	 * The token is the slowpath's alone now: the copies here go, the one
	 * given (in the ring or the parser's buffer) and the ring's (the
	 * message may have been assembled from several pieces). The bytes are
	 * consumed: never sent on.
	 */
	explicit_bzero((void *)(uintptr_t)pw->password.p, pw->password.len);
	memset(in->buf, 0, pw->password.len);
	if (tg_stream_write(smem(ss), &ss->st[0], pw->password.off, in->buf, pw->password.len) != 0)
		fail(ss, TG_INSPECT_CNT_FAIL_SCAN);
	ss->startup_len = 0;
	if (rc == -EMSGSIZE) {
		REFUSE(ss, TG_INSPECT_CNT_LOGIN_REFUSED, "28000", "password too long for a token");
		return;
	}
	if (rc != 0) {
		REFUSE(ss, TG_INSPECT_CNT_LOGIN_UNAVAILABLE, "57P03",
		       "the identity service of the gateway is not reachable");
		return;
	}
	ss->login = L_VERDICT;
}

/*
 * A whole message during a login. The client's StartupMessage and password
 * were dealt with in their callbacks; it may send nothing else until its
 * login is over. The server speaks only once the gateway has logged in to
 * it: each message goes to the slowpath and is consumed, but
 * AuthenticationOk and ErrorResponse are held (what follows with them)
 * until the slowpath says what becomes of them.
 */
static void
login_message(struct tg_inspect_sess *ss, const struct tg_pg_msg *m)
{
	struct tg_inspect *in = ss->in;
	struct tg_inspect_login l;
	const uint8_t *v;
	bool ok;

	if (m->dir == TG_PG_DIR_FE) {
		if (m->kind != TG_PG_FE_STARTUP && m->type != 'p')
			REFUSE(ss, TG_INSPECT_CNT_FAIL_LOGIN, "08P01",
			       "a message sent before the login was over");
		return;
	}
	if (ss->login_held != H_NONE)
		return;		/* held with the message before it */
	if (ss->login != L_UPSTREAM) {
		REFUSE(ss, TG_INSPECT_CNT_FAIL_LOGIN, "08P01",
		       "the server spoke before the gateway logged in");
		return;
	}
	v = view(ss, TG_PG_DIR_BE, m->off, m->len, NULL);
	if (v == NULL)
		return;
	ok = m->type == 'R' && m->len >= 9 && tg_rd32(v + 5) == TG_PG_AUTH_OK;
	l = (struct tg_inspect_login){
		.type = TG_INSPECT_LOGIN_SERVER,
		.session = ss->id,
		.service = ss->svc,
		.msg = v,
		.msg_len = m->len,
	};
	if (in->login(in->event_arg, &l) != 0) {
		REFUSE(ss, TG_INSPECT_CNT_LOGIN_UNAVAILABLE, "57P03",
		       "the identity service of the gateway is not reachable");
		return;
	}
	if (ok || m->type == 'E') {
		ss->login_held = ok ? H_OK : H_ERROR;
		return;
	}
	if (tg_edit_replace(edit_of(ss, 1), m->off, m->len, NULL, 0) != 0) {
		login_over(ss);
		fail(ss, TG_INSPECT_CNT_FAIL_EDIT);
		return;
	}
	ss->login_be = m->off + m->len;
}

static void
cb_message(void *ctx, const struct tg_pg_msg *m)
{
	struct tg_inspect_sess *ss = ctx;
	struct pending *pe;

	if (ss->failed)
		return;
	if (ss->login != L_NONE) {
		login_message(ss, m);
		return;
	}
	if (m->dir == TG_PG_DIR_FE) {
		fe_message(ss, m);
		return;
	}
	switch (m->kind) {
	case TG_PG_BE_COPY_DATA:
		if (!copy_streamed(ss, m) &&
		    mask_at(ss, TG_PG_DIR_BE, m->off + 5, m->len - 5, NULL, head(ss)) > 0)
			CNT(ss->in, COPY_MASKED);
		break;
	case TG_PG_BE_EMPTY_QUERY:
	case TG_PG_BE_PORTAL_SUSPENDED:
		pe = head(ss);
		if (pe != NULL && pe->kind != P_QUERY)
			pop(ss, m->kind == TG_PG_BE_PORTAL_SUSPENDED ? TG_INSPECT_SUSPENDED
								     : TG_INSPECT_OK);
		break;
	default:
		break;
	}
}

static void
cb_backend_key(void *ctx, const struct tg_pg_msg *m, uint32_t pid, uint32_t key)
{
	struct tg_inspect_sess *ss = ctx;
	struct tg_inspect *in = ss->in;

	(void)m;
	if (in->key_add == NULL || ss->key_set)
		return;
	if (in->key_add(in->event_arg, ss->server, pid, key) != 0) {
		CNT(in, CANCEL_KEYS_FULL);
		return;
	}
	ss->key_set = true;
	ss->be_pid = pid;
	ss->be_key = key;
}

static void
cb_cancel(void *ctx, const struct tg_pg_msg *m, uint32_t pid, uint32_t key)
{
	struct tg_inspect_sess *ss = ctx;
	struct tg_inspect *in = ss->in;

	(void)m;
	if (in->key_known == NULL)
		return;
	if (in->key_known(in->event_arg, ss->server, pid, key)) {
		CNT(in, CANCEL_FORWARDED);
		return;
	}
	/* the verdict, not a failure: held, then reset both ways by the worker */
	CNT(in, CANCEL_REFUSED);
	if (!ss->failed)
		ss->failed = TG_INSPECT_CNT_CANCEL_REFUSED;
}

static const struct tg_pg_callbacks callbacks = {
	.message = cb_message,
	.violation = cb_violation,
	.opaque = cb_opaque,
	.startup = cb_startup,
	.password = cb_password,
	.cancel = cb_cancel,
	.backend_key = cb_backend_key,
	.query = cb_query,
	.parse = cb_parse,
	.execute = cb_execute,
	.function_call = cb_function_call,
	.copy_data = cb_copy_data,
	.row_description = cb_row_description,
	.data_field = cb_data_field,
	.data_row = cb_data_row,
	.command_complete = cb_command_complete,
	.error = cb_error,
	.notice = cb_notice,
	.ready = cb_ready,
	.function_result = cb_function_result,
};

/* ---------------------------------------------------------------------
 * The stream consumer
 * ------------------------------------------------------------------- */

static uint64_t
consume(struct tg_inspect *in, int dir, struct tg_stream *s, uint8_t *bytes, uint64_t off,
	uint32_t len)
{
	struct tg_inspect_sess *ss;
	struct tg_pg_msg cur;
	uint64_t mark, end;

	if (s->app == 0 || s->app > in->nb_sess)
		return off + len;
	ss = &in->sess[s->app - 1];
	if (ss->failed)
		return s->inspected;
	if (dir == TG_PG_DIR_FE && ss->hold.state != HS_NONE) {
		/* a statement is parked: what follows waits in the ring, unread (hold_resume()) */
		mark = ss->fe_mark;
		if (ss->ngates != 0 && ss->gates[0].off < mark)
			mark = ss->gates[0].off;
		return mark;
	}
	mark = tg_pg_feed(&ss->pg, dir, bytes, len, off);
	if (tg_pg_current(&ss->pg, dir, &cur)) {
		bool streamed = cur.dir == TG_PG_DIR_BE
					? cur.kind == TG_PG_BE_DATA_ROW ||
						  cur.kind == TG_PG_BE_FUNCTION_RESULT ||
						  (cur.kind == TG_PG_BE_COPY_DATA &&
						   copy_streamed(ss, &cur))
					: cur.kind == TG_PG_FE_COPY_DATA;

		if (streamed)
			mark = tg_pg_streamed_mark(&ss->pg, dir);
	}
	if (ss->failed)
		return s->inspected;
	/*
	 * What must stay held to be decided may not outgrow the ring: the
	 * sender would stall. Behind a statement parked here (hold_start())
	 * the rest is not read yet: it waits, bounded by the ring.
	 */
	end = off + len;
	if (dir == TG_PG_DIR_FE && ss->hold.state != HS_NONE)
		end = tg_pg_next(&ss->pg, TG_PG_DIR_FE);
	if (end - mark > in->smem->ring_size / 2) {
		fail(ss, TG_INSPECT_CNT_FAIL_WINDOW);
		return s->inspected;
	}
	if (dir == TG_PG_DIR_BE) {
		ss->be_mark = mark;
		/* a login's AuthenticationOk or ErrorResponse waits for the slowpath */
		if (ss->login_held != H_NONE && mark > ss->login_be)
			mark = ss->login_be;
	}
	if (dir == TG_PG_DIR_FE) {
		ss->fe_mark = mark;
		/* a strict statement waits for its record: what follows waits behind it */
		if (ss->ngates != 0 && ss->gates[0].off < mark)
			mark = ss->gates[0].off;
	}
	return mark;
}

static uint64_t
consume_fe(void *ctx, struct tg_stream *s, uint8_t *bytes, uint64_t off, uint32_t len)
{
	return consume(ctx, TG_PG_DIR_FE, s, bytes, off, len);
}

static uint64_t
consume_be(void *ctx, struct tg_stream *s, uint8_t *bytes, uint64_t off, uint32_t len)
{
	return consume(ctx, TG_PG_DIR_BE, s, bytes, off, len);
}

/* ---------------------------------------------------------------------
 * Sessions
 * ------------------------------------------------------------------- */

int
tg_inspect_init(struct tg_inspect *in, struct tg_stream_mem *sm, const struct tg_policy *policy,
		uint32_t nb_sess, tg_inspect_event_fn event, void *event_arg)
{
	return tg_inspect_init_limits(in, sm, policy, nb_sess, NULL, event, event_arg);
}

int
tg_inspect_init_limits(struct tg_inspect *in, struct tg_stream_mem *sm,
		       const struct tg_policy *policy, uint32_t nb_sess,
		       const struct tg_pg_limits *lim, tg_inspect_event_fn event, void *event_arg)
{
	uint32_t half = sm->ring_size / 2, i;
	size_t bytes;
	int rc;

	memset(in, 0, sizeof(*in));
	if (nb_sess == 0)
		return -EINVAL;
	in->smem = sm;
	in->policy = policy;
	in->event = event;
	in->event_arg = event_arg;
	in->nb_sess = nb_sess;
	/* what the inspector must hold whole fits in half the ring (see consume()) */
	if (lim != NULL)
		in->lim = *lim;
	else
		tg_pg_limits_default(&in->lim);
	in->lim.stmt_max = in->lim.stmt_max < half ? in->lim.stmt_max : half;
	in->lim.be_long_max = in->lim.be_long_max < half ? in->lim.be_long_max : half;
	in->lim.text_max = in->lim.text_max < half ? in->lim.text_max : half;
	in->lim.pool_size = in->lim.pool_size < in->lim.stmt_max ? in->lim.pool_size
								  : in->lim.stmt_max;
	in->arena_size = tg_pg_arena_size(&in->lim);
	if (in->arena_size == 0)
		return -EINVAL;
	bytes = in->arena_size * nb_sess;

	rc = -ENOMEM;
	in->sess = calloc(nb_sess, sizeof(*in->sess));
	in->free = malloc(sizeof(*in->free) * nb_sess);
	/* a field out of the ring, or an event's text scanned past its cap */
	in->buf = malloc(sm->ring_size > TEXT_SCAN_MAX ? sm->ring_size : TEXT_SCAN_MAX);
	if (in->sess == NULL || in->free == NULL || in->buf == NULL)
		goto err;
	/* committed now: the fast path never page-faults its way to a cap */
	in->arenas = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (in->arenas == MAP_FAILED) {
		in->arenas = NULL;
		goto err;
	}
	if (policy != NULL) {
		in->own_scratch = tg_policy_scratch_alloc(policy);
		if (in->own_scratch == NULL) {
			rc = -errno;
			goto err;
		}
		in->scratch = in->own_scratch;
	}
	for (i = 0; i < nb_sess; i++)
		in->free[i] = nb_sess - 1 - i;
	in->nb_free = nb_sess;
	in->consumer[0] = (struct tg_stream_consumer){ .data = consume_fe, .ctx = in };
	in->consumer[1] = (struct tg_stream_consumer){ .data = consume_be, .ctx = in };
	return 0;
err:
	tg_inspect_fini(in);
	return rc;
}

void
tg_inspect_fini(struct tg_inspect *in)
{
	uint32_t i;

	if (in->sess != NULL)
		for (i = 0; i < in->nb_sess; i++)
			if (in->sess[i].in_use)
				tg_pg_fini(&in->sess[i].pg);
	if (in->arenas != NULL)
		munmap(in->arenas, in->arena_size * in->nb_sess);
	tg_policy_scratch_free(in->own_scratch);
	free(in->sess);
	free(in->free);
	free(in->buf);
	memset(in, 0, sizeof(*in));
}

int
tg_inspect_open(struct tg_inspect *in, struct tg_stream st[2], uint16_t svc, const char *client)
{
	return tg_inspect_open_peer(in, st, svc, client, NULL);
}

int
tg_inspect_open_peer(struct tg_inspect *in, struct tg_stream st[2], uint16_t svc,
		     const char *client, const char *server)
{
	struct tg_inspect_sess *ss;
	uint32_t idx;

	if (in->nb_free == 0) {
		CNT(in, NO_SESSION);
		return -ENOSPC;
	}
	idx = in->free[--in->nb_free];
	ss = &in->sess[idx];
	memset(ss, 0, offsetof(struct tg_inspect_sess, col_style));
	ss->in = in;
	ss->st = st;
	ss->svc = svc;
	ss->id = ++in->next_id;
	ss->in_use = true;
	ss->stmt_no = 0;
	ss->fe_mark = 0;
	ss->ngates = 0;
	ss->gw_skip = false;
	ss->ninj = 0;
	ss->key_set = false;
	ss->edit[0].active = ss->edit[1].active = false;
	for (unsigned int k = 0; k < EXEC_CACHE; k++)
		ss->exec_cache[k].stmt_gen = 0;
	snprintf(ss->client, sizeof(ss->client), "%s", client != NULL ? client : "");
	snprintf(ss->server, sizeof(ss->server), "%s", server != NULL ? server : "");
	/* a clock read per session, only when someone listens */
	ss->t_open = in->session_event != NULL ? now_ns() : 0;
	if (tg_pg_init(&ss->pg, &in->lim, &callbacks, ss, in->arenas + in->arena_size * idx,
		       in->arena_size) != 0) {
		ss->in_use = false;
		in->free[in->nb_free++] = idx;
		return -EINVAL;
	}
	st[0].app = st[1].app = idx + 1;
	{
		struct tg_record_out o = rec_out(ss);

		tg_record_start(&ss->rec, &o);
	}
	CNT(in, SESSIONS);
	return 0;
}

static void
add_pg(struct tg_pg_counters *dst, const struct tg_pg_counters *src)
{
	const uint64_t *s = (const uint64_t *)src;
	uint64_t *d = (uint64_t *)dst;
	size_t i;

	for (i = 0; i < sizeof(*src) / sizeof(uint64_t); i++)
		d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

void
tg_inspect_close(struct tg_inspect *in, struct tg_stream st[2])
{
	tg_inspect_end(in, st, TG_INSPECT_END_CLOSED);
}

void
tg_inspect_end(struct tg_inspect *in, struct tg_stream st[2], uint8_t reason)
{
	struct tg_inspect_sess *ss;
	uint32_t idx = st[0].app;

	if (idx == 0 || idx > in->nb_sess)
		return;
	ss = &in->sess[idx - 1];
	/* a session that never sent a StartupMessage still has a start, before its end */
	session_start(ss);
	while (ss->p_count)
		pop(ss, TG_INSPECT_UNFINISHED);
	{
		struct tg_record_out o = rec_out(ss);

		tg_record_flush(&ss->rec, &o); /* before the end, on the same ring */
	}
	session_event(ss, TG_INSPECT_EV_SESSION_END, reason);
	login_over(ss);
	hold_cancel(ss, "the session ended while the statement waited for approval");
	if (ss->ngates != 0) {
		/* its held statements go with the session's held segments */
		ss->ngates = 0;
		in->nb_gated--;
	}
	if (ss->key_set && in->key_del != NULL)
		in->key_del(in->event_arg, ss->server, ss->be_pid, ss->be_key);
	ss->key_set = false;
	in->nb_editing -= (uint32_t)ss->edit[0].active + (uint32_t)ss->edit[1].active;
	ss->edit[0].active = ss->edit[1].active = false;
	add_pg(&in->pg, &ss->pg.cnt);
	tg_pg_fini(&ss->pg);
	ss->in_use = false;
	in->free[in->nb_free++] = idx - 1;
	st[0].app = st[1].app = 0;
}

void
tg_inspect_set_policy(struct tg_inspect *in, const struct tg_policy *policy,
		      struct tg_policy_scratch *scratch)
{
	in->policy = policy;
	in->scratch = policy != NULL ? scratch : NULL;
	in->policy_gen++;	/* what was decided under the last one is decided again */
}

unsigned int
tg_inspect_ungate(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg)
{
	uint32_t i, seen = 0, waiting = in->nb_gated;
	unsigned int called = 0;
	uint64_t d;

	if (waiting == 0 || in->durable == NULL)
		return 0;
	d = __atomic_load_n(in->durable, __ATOMIC_ACQUIRE);
	if (d == in->durable_seen)
		return 0;
	in->durable_seen = d;
	for (i = 0; i < in->nb_sess && seen < waiting; i++) {
		struct tg_inspect_sess *ss = &in->sess[i];
		uint64_t mark;
		uint8_t k = 0;

		if (!ss->in_use || ss->ngates == 0)
			continue;
		seen++;
		while (k < ss->ngates && ss->gates[k].ticket <= d)
			k++;
		if (k == 0 || ss->failed)
			continue;
		in->cnt[TG_INSPECT_CNT_UNGATED] += k;
		ss->ngates -= k;
		memmove(ss->gates, ss->gates + k, ss->ngates * sizeof(ss->gates[0]));
		if (ss->ngates == 0)
			in->nb_gated--;
		mark = ss->fe_mark;
		if (ss->ngates != 0 && ss->gates[0].off < mark)
			mark = ss->gates[0].off;
		tg_stream_set_inspected(&ss->st[0], mark);
		fn(arg, ss->st);
		called++;
	}
	return called;
}

bool
tg_inspect_failed(const struct tg_inspect *in, const struct tg_stream st[2])
{
	uint32_t idx = st[0].app;

	return idx != 0 && idx <= in->nb_sess && in->sess[idx - 1].failed;
}

bool
tg_inspect_info(const struct tg_inspect *in, const struct tg_stream st[2], uint32_t slot,
		struct tg_inspect_info *out)
{
	const struct tg_inspect_sess *ss;

	if (st != NULL)
		slot = st[0].app != 0 ? st[0].app - 1 : UINT32_MAX;
	if (slot >= in->nb_sess || !in->sess[slot].in_use)
		return false;
	ss = &in->sess[slot];
	out->id = ss->id;
	out->t_open_ns = ss->t_open;
	out->stmts = ss->stmt_no;
	out->svc = ss->svc;
	out->client = ss->client;
	out->server = ss->server;
	out->user = ss->user;
	out->database = ss->database;
	out->application = ss->application;
	out->st = ss->st;
	return true;
}

void
tg_inspect_pg_counters(const struct tg_inspect *in, struct tg_pg_counters *out)
{
	uint32_t i;

	add_pg(out, &in->pg);
	for (i = 0; i < in->nb_sess; i++)
		if (__atomic_load_n(&in->sess[i].in_use, __ATOMIC_RELAXED))
			add_pg(out, &in->sess[i].pg.cnt);
}

/* ---------------------------------------------------------------------
 * Events as JSON
 * ------------------------------------------------------------------- */

struct out {
	char *p;
	size_t n, size;
	bool full;
};

static void
put(struct out *o, const char *s, size_t len)
{
	if (o->full || o->n + len >= o->size) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, len);
	o->n += len;
}

/* prefix, then v in decimal */
static void
put_num(struct out *o, const char *prefix, unsigned long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%llu", v);

	put(o, prefix, strlen(prefix));
	put(o, b, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0. */
static size_t
utf8_seq(const uint8_t *s, size_t len)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	c = n == 2 ? 0 : n == 3 ? (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6
				: (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12;
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void
put_str(struct out *o, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, n;

	put(o, "\"", 1);
	while (i < len) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\') {
			put(o, "\\", 1);
			put(o, (const char *)&p[i], 1);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char esc[8];

			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(o, esc, 6);
			i++;
		} else if (c < 0x80) {
			put(o, (const char *)&p[i], 1);
			i++;
		} else if ((n = utf8_seq(p + i, len - i)) != 0) {
			put(o, (const char *)&p[i], n);
			i += n;
		} else {
			put(o, "\\ufffd", 6);
			i++;
		}
	}
	put(o, "\"", 1);
}

static void
put_key_str(struct out *o, const char *key, const char *s, size_t len)
{
	put(o, ",\"", 2);
	put(o, key, strlen(key));
	put(o, "\":", 2);
	put_str(o, s, len);
}

static const char *const kind_names[] = { "query", "execute", "function_call" };
static const char *const result_names[] = { "ok", "error", "suspended", "unfinished",
					     "not_run" };

size_t
tg_inspect_event_json(const struct tg_inspect_event *ev, char *buf, size_t size)
{
	struct out o = { .p = buf, .size = size };
	unsigned int k;
	bool first = true;

	put_num(&o, "{\"session\":", ev->session);
	put_num(&o, ",\"service\":", ev->service);
	if (ev->service_name != NULL)
		put_key_str(&o, "service_name", ev->service_name, strlen(ev->service_name));
	put_key_str(&o, "client", ev->client, strlen(ev->client));
	put_key_str(&o, "user", ev->user, strlen(ev->user));
	put_key_str(&o, "database", ev->database, strlen(ev->database));
	put_key_str(&o, "application", ev->application, strlen(ev->application));
	put_key_str(&o, "kind", kind_names[ev->kind % 3], strlen(kind_names[ev->kind % 3]));
	put_key_str(&o, "verdict", tg_cmd_action_names[ev->verdict % TG_ACT_MAX],
		    strlen(tg_cmd_action_names[ev->verdict % TG_ACT_MAX]));
	if (ev->rule != NULL)
		put_key_str(&o, "rule", ev->rule, strlen(ev->rule));
	put_key_str(&o, "result", result_names[ev->result % 5],
		    strlen(result_names[ev->result % 5]));
	if (ev->sqlstate[0] != '\0')
		put_key_str(&o, "sqlstate", ev->sqlstate, strlen(ev->sqlstate));
	put_num(&o, ",\"rows\":", ev->rows);
	put(&o, ",\"masked\":{", 11);
	for (k = 1; k < TG_DETECT_KIND_MAX; k++) {
		if (ev->masked[k] == 0)
			continue;
		if (!first)
			put(&o, ",", 1);
		first = false;
		put_str(&o, tg_detect_kind_names[k], strlen(tg_detect_kind_names[k]));
		put_num(&o, ":", ev->masked[k]);
	}
	put(&o, "}", 1);
	put_num(&o, ",\"masked_columns\":", ev->masked_columns);
	put_key_str(&o, "text", ev->text, ev->text_len);
	if (ev->text_cut)
		put(&o, ",\"text_cut\":true", 16);
	if (ev->params_len)
		put_key_str(&o, "params", ev->params, ev->params_len);
	put_num(&o, ",\"start_ns\":", ev->t_start_ns);
	put_num(&o, ",\"end_ns\":", ev->t_end_ns);
	put(&o, "}\n", 2);
	return o.full ? 0 : o.n;
}

struct tg_edit *
tg_inspect_edit(struct tg_inspect *in, const struct tg_stream st[2], int dir)
{
	uint32_t idx = st[0].app;
	struct tg_edit *e;

	if (idx == 0 || idx > in->nb_sess)
		return NULL;
	e = &in->sess[idx - 1].edit[dir];
	return e->active ? e : NULL;
}

unsigned int
tg_inspect_edit_each(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg)
{
	uint32_t i, seen = 0;

	for (i = 0; i < in->nb_sess && seen < in->nb_editing; i++) {
		struct tg_inspect_sess *ss = &in->sess[i];

		if (!ss->in_use || (!ss->edit[0].active && !ss->edit[1].active))
			continue;
		seen += (uint32_t)ss->edit[0].active + (uint32_t)ss->edit[1].active;
		fn(arg, ss->st);
	}
	return seen;
}

/*
 * A FATAL to the client of a running session, where the server's stream
 * stands: between two server messages, everything received already sent
 * on. 0, -EBUSY (not between messages) or the editor's error.
 */
static int
fatal_here(struct tg_inspect_sess *ss, const char *sqlstate, const char *text, size_t len,
	   const char *detail)
{
	uint8_t msg[64 + TG_INSPECT_TEXT_MAX + 128];
	const struct tg_stream *be = &ss->st[1];
	struct tg_pg_msg cur;
	uint16_t n;

	if (ss->failed || tg_pg_current(&ss->pg, TG_PG_DIR_BE, &cur) ||
	    be->released != be->contiguous || be->fin_off != UINT64_MAX)
		return -EBUSY;
	n = fatal_msg(msg, sizeof(msg), sqlstate, text, len, detail);
	if (n == 0)
		return -ENOSPC;
	return tg_edit_replace(edit_of(ss, 1), be->contiguous, 0, msg, n);
}

int
tg_inspect_kill_reply(struct tg_inspect *in, struct tg_stream st[2])
{
	static const char text[] = "terminating connection due to administrator command";
	uint32_t idx = st[0].app;

	if (!in->editor || idx == 0 || idx > in->nb_sess)
		return -ENOENT;
	return fatal_here(&in->sess[idx - 1], "57P01", text, sizeof(text) - 1,
			  "the session was ended by a tollgate operator");
}

static struct tg_inspect_sess *
session_by_id(struct tg_inspect *in, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < in->nb_sess; i++)
		if (in->sess[i].in_use && in->sess[i].id == id)
			return &in->sess[i];
	return NULL;
}

int
tg_inspect_login_reply(struct tg_inspect *in, const struct tg_inspect_login_reply *r,
		       struct tg_stream **st)
{
	struct tg_inspect_sess *ss = session_by_id(in, r->session);
	size_t n;

	if (ss == NULL)
		return -ENOENT;
	*st = ss->st;
	if (ss->failed)
		return TG_INSPECT_LOGIN_RESET;
	switch (r->action) {
	case TG_INSPECT_LOGIN_SEND:
		if ((ss->login != L_VERDICT && ss->login != L_UPSTREAM) ||
		    ss->login_held != H_NONE)
			break;
		if (r->len == 0 || r->len > UINT16_MAX ||
		    tg_edit_replace(edit_of(ss, 0), ss->login_fe, 0, r->data, (uint16_t)r->len) !=
			    0) {
			REFUSE(ss, TG_INSPECT_CNT_FAIL_EDIT, "08P01",
			       "login message too long for the gateway");
			return TG_INSPECT_LOGIN_RESET;
		}
		ss->login = L_UPSTREAM;
		return TG_INSPECT_LOGIN_FLUSH;
	case TG_INSPECT_LOGIN_DONE:
		if (ss->login != L_UPSTREAM || ss->login_held != H_OK)
			break;
		n = r->role_len < sizeof(ss->user) - 1 ? r->role_len : sizeof(ss->user) - 1;
		memcpy(ss->user, r->role, n);
		ss->user[n] = '\0';
		login_over(ss);
		CNT(in, LOGIN_OK);
		tg_stream_set_inspected(&ss->st[1], ss->be_mark);
		return TG_INSPECT_LOGIN_RELEASE;
	case TG_INSPECT_LOGIN_REFUSE:
	case TG_INSPECT_LOGIN_END:
		if (ss->login != L_NONE) {
			login_refuse(ss, TG_INSPECT_CNT_LOGIN_REFUSED, r->sqlstate, r->text,
				     r->text_len);
			return TG_INSPECT_LOGIN_RESET;
		}
		if (r->action == TG_INSPECT_LOGIN_REFUSE)
			break;
		/* a running session: a FATAL if it can go in now, the reset anyway */
		(void)fatal_here(ss, r->sqlstate, r->text, r->text_len, NULL);
		fail(ss, TG_INSPECT_CNT_LOGIN_ENDED);
		return TG_INSPECT_LOGIN_RESET;
	}
	/* an answer out of turn: the login cannot go on */
	if (ss->login != L_NONE)
		REFUSE(ss, TG_INSPECT_CNT_FAIL_LOGIN, "08P01", "the gateway's login went out of turn");
	else
		fail(ss, TG_INSPECT_CNT_FAIL_LOGIN);
	return TG_INSPECT_LOGIN_RESET;
}

/*
 * Refuses, with a FATAL, the logins under way that are past their deadline
 * (now), or (lost) were handed to a slowpath that went away; calls fn with
 * the streams of each. Returns how many.
 */
static unsigned int
login_sweep(struct tg_inspect *in, uint64_t now, bool lost, tg_inspect_ungate_fn fn, void *arg)
{
	uint32_t i, seen = 0, waiting = in->nb_login;
	unsigned int n = 0;

	for (i = 0; i < in->nb_sess && seen < waiting; i++) {
		struct tg_inspect_sess *ss = &in->sess[i];

		if (!ss->in_use || ss->login == L_NONE)
			continue;
		seen++;
		if (lost && ss->login != L_PASSWORD)	/* one not handed over asks whoever is there */
			REFUSE(ss, TG_INSPECT_CNT_LOGIN_UNAVAILABLE, "57P03",
			       "the identity service of the gateway went away during the login");
		else if (!lost && now >= ss->login_deadline)
			REFUSE(ss, TG_INSPECT_CNT_LOGIN_TIMEOUT, "57P03",
			       "the identity service of the gateway did not answer in time");
		else
			continue;
		fn(arg, ss->st);
		n++;
	}
	return n;
}

unsigned int
tg_inspect_login_lost(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg)
{
	return login_sweep(in, 0, true, fn, arg);
}

unsigned int
tg_inspect_login_expire(struct tg_inspect *in, uint64_t now, tg_inspect_ungate_fn fn, void *arg)
{
	return login_sweep(in, now, false, fn, arg);
}

int
tg_inspect_hold_reply(struct tg_inspect *in, const struct tg_inspect_hold_reply *r,
		      struct tg_stream **st)
{
	struct tg_inspect_sess *ss = session_by_id(in, r->session);

	if (ss == NULL || ss->hold.state != HS_WAIT || ss->hold.number != r->hold)
		return -ENOENT;
	*st = ss->st;
	if (ss->failed)
		return TG_INSPECT_LOGIN_RESET;
	if (r->decision == TG_INSPECT_HOLD_APPROVE) {
		if (tg_edit_replace(edit_of(ss, 0), ss->hold.end, 0, ss->hold.bytes,
				    ss->hold.len) == 0) {
			char note[128];

			CNT(in, HOLD_APPROVED);
			snprintf(note, sizeof(note),
				 "approval request %.*s approved: the statement was sent to the server",
				 (int)(r->id_len < 32 ? r->id_len : 32), r->id != NULL ? r->id : "");
			rec_hold(ss, note);
		} else {
			HOLD_REFUSE(ss, TG_INSPECT_CNT_HOLD_UNAVAILABLE, "57P03",
				    "the statement was approved, but the gateway had no room to send it");
		}
	} else {
		hold_refuse(ss, TG_INSPECT_CNT_HOLD_DENIED,
			    r->sqlstate != NULL ? r->sqlstate : "42501",
			    r->text != NULL ? r->text : "", r->text != NULL ? r->text_len : 0);
	}
	hold_resume(ss);
	return ss->failed ? TG_INSPECT_LOGIN_RESET : TG_INSPECT_LOGIN_RELEASE;
}

/*
 * Denies the parked statements past their deadline (now), or (lost) all
 * of them; calls fn with the streams of each. Returns how many.
 */
static unsigned int
hold_sweep(struct tg_inspect *in, uint64_t now, bool lost, tg_inspect_ungate_fn fn, void *arg)
{
	uint32_t i, seen = 0, waiting = in->nb_held;
	unsigned int n = 0;

	for (i = 0; i < in->nb_sess && seen < waiting; i++) {
		struct tg_inspect_sess *ss = &in->sess[i];

		if (!ss->in_use || ss->hold.state != HS_WAIT)
			continue;
		seen++;
		if (lost) {
			HOLD_REFUSE(ss, TG_INSPECT_CNT_HOLD_UNAVAILABLE, "57P03",
				    "the approval service of the gateway went away");
		} else if (now >= ss->hold.deadline) {
			/* the slowpath forgot it, or is stuck: it is told, the client answered */
			hold_tell_cancel(ss, "no decision reached the gateway in time");
			HOLD_REFUSE(ss, TG_INSPECT_CNT_HOLD_TIMEOUT, "57014",
				    "no approval decision reached the gateway in time");
		} else {
			continue;
		}
		hold_resume(ss);
		fn(arg, ss->st);
		n++;
	}
	return n;
}

unsigned int
tg_inspect_hold_expire(struct tg_inspect *in, uint64_t now, tg_inspect_ungate_fn fn, void *arg)
{
	if (in->nb_held == 0)
		return 0;
	return hold_sweep(in, now, false, fn, arg);
}

unsigned int
tg_inspect_hold_lost(struct tg_inspect *in, tg_inspect_ungate_fn fn, void *arg)
{
	if (in->nb_held == 0)
		return 0;
	return hold_sweep(in, 0, true, fn, arg);
}
