/* SPDX-License-Identifier: MIT */
/*
 * inspect.c — tg-bench-inspect: what the PostgreSQL inspector
 * (dataplane/inspect.c) costs per byte of a result stream, against plain
 * forwarding through the same reassembly engine and against the Hyperscan
 * scan of the same fields, in one run on the same bytes.
 *
 * Session: one PostgreSQL session, both directions, built once with a
 * fixed xorshift64: the client's StartupMessage; the server's
 * AuthenticationOk, ParameterStatus, BackendKeyData and ReadyForQuery; the
 * client's Query; then the result, about --mib MiB (default 32): a
 * RowDescription of eight text-format columns (id, name, username, city,
 * created_at, amount, reference, note), DataRows, CommandComplete and
 * ReadyForQuery. Field text is what such tables hold: names, numbers,
 * timestamps, amounts, order and tracking references, long reference
 * numbers (Luhn-invalid by construction, so not cards), free-text notes,
 * one note in twenty NULL. --sensitive percent of fields (default 10)
 * hold one sensitive value instead: a Luhn-valid card number (plain,
 * spaced or dashed), an IBAN with valid check digits (grouped or not), an
 * e-mail address, a phone number (E.164 or NANP) or an SSN, one kind in
 * five; in the note column inside a sentence, elsewhere bare. The
 * generators are tools/bench/corpus.c's, as tools/bench/detect.c's.
 *
 * Query-heavy mix (--mix query): after the same startup and pgbench's
 * prepared statement made once (Parse "P0_1", Sync; untimed), --statements
 * statements (default 100000), each kind drawn by qkind_weight[]:
 * - 35% pgbench -S, simple protocol: "SELECT abalance FROM
 *   pgbench_accounts WHERE aid = N;", one row;
 * - 20% pgbench -S -M prepared: Bind of P0_1 with the aid, Describe of
 *   the portal, Execute, Sync; BindComplete, one row;
 * - 10% pgbench's writes, simple protocol: its UPDATE of an account or
 *   INSERT into pgbench_history, CommandComplete alone;
 * - 10% an application lookup, extended protocol, unnamed statement:
 *   Parse, Bind (the id), Describe, Execute, Sync; one customer row with
 *   name, e-mail, phone and city (the e-mail and the phone are sensitive);
 * - 10% payments by card number: a SELECT whose text holds a card number
 *   literal, 0-5 rows of id, timestamp, amount and status;
 * - 10% writes with literals: an UPDATE setting an e-mail address and a
 *   phone number, or an INSERT of a card number;
 * - 5% an UPDATE over the extended protocol with an IBAN parameter.
 * Each request is one client write (libpq sends a request at once) and
 * each answer one server write (the server flushes at ReadyForQuery), so
 * each is one segment unless longer than --block. Values in statement
 * texts and parameters reach the server as sent: the inspector masks them
 * in the events only (checked in the warm-up round: no detector finds
 * anything in an event's text or parameters); result values are masked on
 * the wire, as in the rows mix. Every figure then counts the bytes of both
 * directions after the set-up; hs_raw and detect also scan every
 * statement text (hs_scan() of the command database, or
 * tg_policy_match_cmd(), then the detectors: what the inspector must do
 * for a statement's verdict and its event) and every parameter, once
 * each; an Execute of the prepared statement counts its text again, as
 * the inspector scans it again for that statement's event. Statements per
 * second per core are statements over TSC time.
 *
 * Segments: the server's answer to the startup is one segment; the
 * result is cut into --block byte segments (default 1460, a TCP MSS on
 * Ethernet). A segment is a payload pointer into a working copy of the
 * stream and a TCP checksum field (over the payload alone, which is all
 * the engine's incremental patching needs). The client's two messages are
 * a segment each.
 *
 * Driving the engine as the worker does (tests/unit/test_stream.c has the
 * same harness): tg_stream_segment() with the inspector's consumer for the
 * direction, then tg_stream_release() of every held segment that may
 * leave, handed to a receiver that checks it arrives in order, and that
 * ACKs every second segment (delayed ACK, RFC 9293 3.8.6.3), or before a
 * segment its last window would not take (the delayed-ACK timer, as the
 * sender waits), with tg_stream_ack() and a window of the ring size (what
 * the tracker clamps windows to). Sequence numbers wrap 64 KiB into the
 * server's stream.
 *
 * Policy: built from JSON with tg_policy_parse() and tg_policy_compile()
 * for one postgres service: the three command rules of
 * appliance/policy.json, and a detector of each kind of --kinds (default
 * the five planted) with that file's mask styles (last4 for cards, IBANs
 * and phone numbers, keep-domain for e-mail, full for the rest). The
 * inspector runs one session; hs_raw and detect scan with a scratch of
 * their own for the same database.
 *
 * Figures, each over the result segments only (the startup, the
 * authentication and the Query are sent untimed before the clock starts),
 * --rounds times interleaved (memcpy, forward, hs_raw, detect, inspect,
 * memcpy, ...) so that drift hits all alike, after an untimed warm-up
 * round; best and median:
 * - memcpy: each segment's payload copied into a ring of the ring size,
 *   as the engine stores it: for scale;
 * - forward: the engine with no consumer (every byte inspected on
 *   arrival): reassembly, hold, release and ACK without inspection, the
 *   plain-forwarding baseline of the dataplane's inline path;
 * - hs_raw: tg_detect_scan_raw(), hs_scan() of the policy's detector
 *   database with a counting callback, over every DataRow field the
 *   inspector scans (non-NULL, non-empty), one call each: Hyperscan's own
 *   cost, the floor;
 * - detect: tg_detect_scan(), the confirmed scan, over the same fields;
 * - inspect: the engine with the inspector as consumer: PostgreSQL
 *   parsing, one confirmed scan per field, masking in place (in the ring;
 *   the engine copies the masks into the held segments and patches their
 *   checksums on release), the statement's verdict and its event;
 * - the ratios inspect/forward, inspect/hs_raw, inspect/detect of the
 *   cycles: the median of the rounds' ratios, best over best, and the
 *   median of the rounds' ratios of on-CPU time.
 * Every figure is in cycles per byte of the result stream and Gbit/s of
 * it, so the ratios are those of the totals; hs_raw and detect read only
 * the field bytes.
 *
 * Masking edits the working copy: before every timed run of every figure
 * the pristine stream and checksums are copied back, untimed (the copy's
 * cost is shown apart), so every figure starts from the same bytes and
 * the same cache state.
 *
 * Checks, after every run, untimed: the inspector masked exactly the
 * values planted (of the kinds enabled), scanned every field, counted
 * every row, gave one event whose rows and masks agree, and did not fail
 * the session; every byte that changed lies in a field holding a planted
 * value and every such field changed; every segment's checksum is right
 * after patching; nothing is found in the masked fields again (warm-up
 * round only); the
 * receiver got every byte in order, nothing was dropped or left held;
 * forwarding leaves every byte as it was; the confirmed scan finds the
 * planted values exactly. Before timing, each field is scanned once and
 * compared with what was planted in it. A failed check makes the exit
 * status 1.
 *
 * Measure: rdtsc around each run, the TSC rate calibrated against
 * CLOCK_MONOTONIC_RAW; Gbit/s per core is bytes over TSC time. The
 * thread's on-CPU time (CLOCK_THREAD_CPUTIME_ID) is read too: a run whose
 * on-CPU time is under 95% of its TSC time was preempted, and is counted
 * beside the figure with the on-CPU median in cycles (TSC rate times
 * on-CPU time, as tools/bench/detect measures). On a busy machine the
 * long runs (the scans, inspection) are preempted far more often than the
 * short ones (memcpy, forwarding): read the best and on-CPU figures then.
 * TSC cycles are not core cycles when the core runs faster than the TSC
 * (turbo); the core clock is shown for the conversion.
 *
 * Caveats:
 * - The query mix's statement texts come from a dozen templates: realistic
 *   in shape and length, not in variety (see corpus.h).
 * - One session, no loss, reordering or retransmission: the inspector's
 *   per-session set-up and the engine's out-of-order paths are not in the
 *   figures (tools/bench/flows measures the engine under the worker).
 * - No DPDK: segments are not mbufs and nothing crosses a port; the cost
 *   of rx/tx bursts and of the flow table is in tools/bench/forward and
 *   tools/bench/flows, not here.
 * - The stream is about --mib MiB: by default it does not stay wholly in
 *   the last-level cache, so every figure includes memory bandwidth, as
 *   memcpy's does.
 * - With --kinds leaving out a planted kind, another detector may still
 *   find part of such a value (digits of a spaced IBAN as a card number):
 *   the exact check then fails, as it should, since generation and
 *   detection disagree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

#include "csum.h"
#include "inspect.h"
#include "wire.h"

#include "corpus.h"
#include "opts.h"
#include "timing.h"

#define PROG "tg-bench-inspect"
#define ROUNDS_MAX 21
#define NCOLS 8
#define COL_NOTE 7
#define MATCHES_MAX 64		/* as inspect.c's scans */
#define RELEASE_BURST 16
#define ISN1_FE 0x00001000u
#define ISN1_BE 0xffff0000u	/* wraps 64 KiB into the server's stream */
#define CLIENT "192.0.2.1:40000"
#define SOURCE "bench policy"

struct opts {
	unsigned int mib;
	unsigned int block;
	unsigned int rounds;
	unsigned int ring_kib;
	unsigned int sensitive;	/* percent of fields */
	uint64_t seed;
	const char *dump;	/* write the server stream here and stop */
	const char *kinds;	/* comma-separated kind names, "all"; NULL: the five planted */
	const char *mix;	/* "rows" (default) or "query" */
	unsigned int statements;	/* --mix query: statements in the session */
};

/* A non-NULL, non-empty DataRow field: what the inspector scans. */
struct field {
	uint32_t off;		/* in the server stream */
	uint16_t len;
	uint8_t kind;		/* enum tg_detect_kind planted in it, TG_DETECT_NONE */
};

/*
 * --mix query: a client text the inspector scans: a statement's text (the
 * command rules and the detectors) or a Bind parameter (the detectors).
 */
struct text {
	uint32_t off;		/* in the client stream */
	uint16_t len;
	uint8_t param;		/* a parameter: no command scan */
	uint8_t planted;	/* sensitive values planted in it */
};

/* The kinds of statement of --mix query (see make_query_session()). */
enum qkind {
	Q_PGBENCH_SELECT,	/* pgbench -S, simple protocol */
	Q_PGBENCH_PREPARED,	/* pgbench -S -M prepared: Bind, Describe, Execute, Sync */
	Q_PGBENCH_WRITE,	/* pgbench's UPDATE or INSERT, simple protocol */
	Q_APP_LOOKUP,		/* extended, unnamed: a customer by id, e-mail and phone returned */
	Q_APP_CARD_SELECT,	/* simple: payments by card number literal, 0-5 rows */
	Q_APP_WRITE_LITERALS,	/* simple: UPDATE/INSERT with e-mail, phone, card literals */
	Q_APP_WRITE_PARAMS,	/* extended, unnamed: UPDATE with an IBAN parameter */
	Q_KINDS
};

static const char *const qkind_names[Q_KINDS] = {
	"pgbench_select", "pgbench_prepared", "pgbench_write", "app_lookup",
	"app_card_select", "app_write_literals", "app_write_params",
};

/* Percent of statements of each kind. */
static const unsigned int qkind_weight[Q_KINDS] = { 35, 20, 10, 10, 10, 10, 5 };

/* A segment: its payload in the working copy, its TCP checksum field. */
struct bseg {
	uint8_t *payload;
	uint32_t off;		/* stream offset */
	uint16_t len;
	uint8_t csum[2];	/* network order, patched by the engine */
	uint8_t csum0[2];	/* as built */
};

/* The receiver of one direction. */
struct peer {
	uint64_t nxt;		/* bytes received in order */
	unsigned int unacked;	/* segments since the last ACK */
};

/* What the event callback saw. */
struct evstat {
	uint64_t events;
	uint64_t rows;
	uint64_t masked;
	uint64_t masked_columns;
	uint64_t not_allowed, not_ok;	/* verdicts other than allow, results other than ok */
	uint64_t found_again;		/* values found in event texts (rescan set) */
	bool rescan;
	const struct tg_detect_db *db;
	struct tg_detect_scratch *ds;
};

/* Outcome of the checks: counts of the last run, faults summed over every run. */
struct checks {
	uint64_t failed;	/* any check failed */
	uint64_t masked, expected, rows, fields, events, csum_bad, seg_total;
	uint64_t changed_outside, sensitive_unchanged, found_again, forward_diff;
	uint64_t detect_matches;
	uint64_t truth_missed, truth_flagged, truth_extra;
};

struct figure {
	const char *name;
	double cyc[ROUNDS_MAX];
	double cpu_ns[ROUNDS_MAX];
	unsigned int nb;
	unsigned int preempted;
	uint64_t count;		/* reports or matches, last run */
};

struct bench {
	struct opts o;
	double hz;
	bool enabled[TG_DETECT_KIND_MAX];
	char kind_list[160];

	/* the session's bytes */
	uint8_t *pristine, *work;	/* server to client */
	size_t len, cap;
	size_t pre_len;			/* the answer to the startup: segment 0 */
	uint8_t *fe_pristine, *fe_work;	/* client to server */
	size_t fe_len, fe_cap;
	size_t fe_pre_len;		/* the StartupMessage (and untimed set-up) */
	struct bseg *fsegs;		/* client segments: [0] the StartupMessage */
	size_t nfsegs;
	struct bseg *segs;		/* [0] the answer to the startup, then the result */
	size_t nsegs;
	size_t res_bytes;		/* bytes timed: both directions' after set-up */
	/*
	 * The order segments are sent in: index | STEP_FE for a client one.
	 * The first nsteps_pre are the untimed set-up.
	 */
	uint32_t *steps;
	size_t nsteps, nsteps_pre, steps_cap;

	/* --mix query */
	bool query;
	struct text *t;
	size_t nt, nt_cap;
	size_t statements, text_bytes, param_bytes, fe_expected;
	size_t written;			/* rows the writes' CommandComplete tags count */
	size_t qcount[Q_KINDS];
	void *cmd_hs;			/* hs_scratch_t of the command database, for hs_raw */
	struct tg_policy_scratch *ps;	/* for detect's command matching */

	/* what was planted */
	struct field *f;
	size_t nf, nf_cap;
	size_t rows, nulls, sensitive, field_bytes;
	size_t planted[TG_DETECT_KIND_MAX];
	size_t expected;		/* planted values of the enabled kinds */

	/* policy, engine, inspector */
	struct tg_services svcs;
	struct tg_policy *pol;
	struct tg_detect_scratch *ds;	/* for hs_raw and detect */
	struct tg_stream_mem m;
	struct tg_stream st[2];
	struct peer rx[2];
	struct tg_inspect in;
	struct evstat ev;
	uint8_t *ringbuf;		/* memcpy's destination */
	bool rescan;			/* scan event texts (the warm-up round) */
	struct checks ck;
};

/* ------------------------------------------------------------------ */
/* Text                                                                */

static const char *const lead_words[] = { "contact", "paid with", "customer gave", "confirmed" };
static const char *const tail_words[] = { "by phone", "yesterday", "on the call", "for refund" };

/* A field's text of column col, nothing sensitive. */
static size_t
put_plain(uint8_t *b, size_t cap, size_t at, uint64_t *s, unsigned int col, size_t row)
{
	switch (col) {
	case 0:
		return tg_bench_put(b, cap, at, "%zu", 10000000 + row);
	case 1:
		return tg_bench_put(b, cap, at, "%s %s", tg_bench_first_names[tg_bench_rnd(s, 20)],
				    tg_bench_last_names[tg_bench_rnd(s, 20)]);
	case 2:
		return tg_bench_put(b, cap, at, "%s_%s%u",
				    tg_bench_first_names[tg_bench_rnd(s, 20)],
				    tg_bench_last_names[tg_bench_rnd(s, 20)], tg_bench_rnd(s, 100));
	case 3:
		return tg_bench_put(b, cap, at, "%s", tg_bench_cities[tg_bench_rnd(s, 16)]);
	case 4:
		return tg_bench_put(b, cap, at, "2024-%02u-%02u %02u:%02u:%02u.%06u+00",
				    1 + tg_bench_rnd(s, 12), 1 + tg_bench_rnd(s, 28),
				    tg_bench_rnd(s, 24), tg_bench_rnd(s, 60), tg_bench_rnd(s, 60),
				    tg_bench_rnd(s, 1000000));
	case 5:
		return tg_bench_put(b, cap, at, "%u.%02u", tg_bench_rnd(s, 5000),
				    tg_bench_rnd(s, 100));
	case 6:
		switch (tg_bench_rnd(s, 4)) {
		case 0:
			return tg_bench_put(b, cap, at, "ORD-%08u", tg_bench_rnd(s, 100000000));
		case 1:
			return tg_bench_put(b, cap, at, "INV-2024-%06u", tg_bench_rnd(s, 1000000));
		case 2:
			return tg_bench_put_long_ref(b, cap, at, s);
		default:
			return tg_bench_put(b, cap, at, "1Z999AA1%08u", tg_bench_rnd(s, 100000000));
		}
	default:
		return tg_bench_put_note(b, cap, at, s, true);
	}
}

/* One sensitive value, alone or (in a note) in a sentence; *kind gets its kind. */
static size_t
put_sensitive(uint8_t *b, size_t cap, size_t at, uint64_t *s, bool sentence, uint8_t *kind)
{
	static const struct {
		uint8_t kind;
		size_t (*put)(uint8_t *b, size_t cap, size_t at, uint64_t *s);
	} values[5] = {
		{ TG_DETECT_CARD, tg_bench_put_card }, { TG_DETECT_IBAN, tg_bench_put_iban },
		{ TG_DETECT_EMAIL, tg_bench_put_email }, { TG_DETECT_PHONE, tg_bench_put_phone },
		{ TG_DETECT_SSN, tg_bench_put_ssn },
	};
	unsigned int k;

	if (sentence)
		at = tg_bench_put(b, cap, at, "%s ", lead_words[tg_bench_rnd(s, 4)]);
	k = tg_bench_rnd(s, 5);
	*kind = values[k].kind;
	at = values[k].put(b, cap, at, s);
	if (sentence)
		at = tg_bench_put(b, cap, at, " %s", tail_words[tg_bench_rnd(s, 4)]);
	return at;
}

/* ------------------------------------------------------------------ */
/* The session                                                         */

/* Appends a NUL-terminated string. */
static size_t
put_z(uint8_t *b, size_t at, const char *str)
{
	size_t n = strlen(str) + 1;

	memcpy(b + at, str, n);
	return at + n;
}

/* Writes the Int32 length of the typed message at b[msg] that ends at end. */
static void
end_msg(uint8_t *b, size_t msg, size_t end)
{
	tg_wr32(b + msg + 1, (uint32_t)(end - msg - 1));
}

/* StartupMessage (55.7) at fe_pristine[0]; returns its end. */
static size_t
make_startup(struct bench *b)
{
	uint8_t *p = b->fe_pristine;
	size_t at = 4;

	tg_wr32(p + at, 3u << 16);	/* protocol 3.0 */
	at += 4;
	at = put_z(p, at, "user");
	at = put_z(p, at, "app");
	at = put_z(p, at, "database");
	at = put_z(p, at, "shop");
	at = put_z(p, at, "application_name");
	at = put_z(p, at, PROG);
	p[at++] = 0;
	tg_wr32(p, (uint32_t)at);
	return at;
}

/* StartupMessage and Query (55.7), into fe_pristine. */
static void
make_client(struct bench *b)
{
	uint8_t *p = b->fe_pristine;
	size_t at = make_startup(b), q = at;

	b->fe_pre_len = at;
	p[at] = 'Q';
	at = put_z(p, at + 5, "SELECT id, name, username, city, created_at, amount, reference, "
		   "note FROM orders ORDER BY id");
	end_msg(p, q, at);
	b->fe_len = at;
}

/* AuthenticationOk, ParameterStatus, BackendKeyData, ReadyForQuery. */
static size_t
make_auth(uint8_t *p)
{
	static const char *const params[][2] = {
		{ "server_version", "16.4" }, { "client_encoding", "UTF8" },
		{ "DateStyle", "ISO, MDY" }, { "TimeZone", "UTC" },
	};
	size_t at = 0, msg, i;

	p[at] = 'R';
	tg_wr32(p + at + 1, 8);
	tg_wr32(p + at + 5, 0);
	at += 9;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		msg = at;
		p[at] = 'S';
		at = put_z(p, at + 5, params[i][0]);
		at = put_z(p, at, params[i][1]);
		end_msg(p, msg, at);
	}
	p[at] = 'K';
	tg_wr32(p + at + 1, 12);
	tg_wr32(p + at + 5, 4242);
	tg_wr32(p + at + 9, 0x5eed);
	at += 13;
	p[at] = 'Z';
	tg_wr32(p + at + 1, 5);
	p[at + 5] = 'I';
	return at + 6;
}

/* RowDescription (55.7) of the eight columns, all text format. */
static size_t
make_rowdesc(uint8_t *p, size_t at)
{
	static const struct {
		const char *name;
		uint32_t oid;
		int16_t typlen;
	} cols[NCOLS] = {
		{ "id", 20, 8 }, { "name", 25, -1 }, { "username", 25, -1 }, { "city", 25, -1 },
		{ "created_at", 1184, 8 }, { "amount", 1700, -1 }, { "reference", 25, -1 },
		{ "note", 25, -1 },
	};
	size_t msg = at, i;

	p[at] = 'T';
	tg_wr16(p + at + 5, NCOLS);
	at += 7;
	for (i = 0; i < NCOLS; i++) {
		at = put_z(p, at, cols[i].name);
		tg_wr32(p + at, 16384);			/* table OID */
		tg_wr16(p + at + 4, (uint16_t)(i + 1));	/* attnum */
		tg_wr32(p + at + 6, cols[i].oid);
		tg_wr16(p + at + 10, (uint16_t)cols[i].typlen);
		tg_wr32(p + at + 12, UINT32_MAX);	/* typmod -1 */
		tg_wr16(p + at + 16, 0);		/* text */
		at += 18;
	}
	end_msg(p, msg, at);
	return at;
}

static int
add_field(struct bench *b, size_t off, size_t len, uint8_t kind)
{
	if (b->nf == b->nf_cap) {
		size_t cap = b->nf_cap ? b->nf_cap * 2 : 1 << 16;
		struct field *f = realloc(b->f, cap * sizeof(*f));

		if (f == NULL)
			return -ENOMEM;
		b->f = f;
		b->nf_cap = cap;
	}
	b->f[b->nf++] = (struct field){ .off = (uint32_t)off, .len = (uint16_t)len, .kind = kind };
	b->field_bytes += len;
	if (kind != TG_DETECT_NONE) {
		b->sensitive++;
		b->planted[kind]++;
	}
	return 0;
}

/* One DataRow (55.7) at b->len. */
static int
make_row(struct bench *b, uint64_t *s)
{
	uint8_t *p = b->pristine;
	size_t msg = b->len, at = msg + 7, v, e;
	unsigned int col;

	p[msg] = 'D';
	tg_wr16(p + msg + 5, NCOLS);
	for (col = 0; col < NCOLS; col++) {
		uint8_t kind = TG_DETECT_NONE;

		v = at + 4;
		if (tg_bench_rnd(s, 100) < b->o.sensitive) {
			e = put_sensitive(p, b->cap, v, s, col == COL_NOTE, &kind);
		} else if (col == COL_NOTE && tg_bench_rnd(s, 20) == 0) {
			tg_wr32(p + at, UINT32_MAX);	/* NULL */
			at += 4;
			b->nulls++;
			continue;
		} else {
			e = put_plain(p, b->cap, v, s, col, b->rows);
		}
		tg_wr32(p + at, (uint32_t)(e - v));
		if (add_field(b, v, e - v, kind) < 0)
			return -ENOMEM;
		at = e;
	}
	end_msg(p, msg, at);
	b->len = at;
	b->rows++;
	return 0;
}

#define STEP_FE 0x80000000u

/* Appends the next segment sent to the schedule. */
static int
add_step(struct bench *b, uint32_t step)
{
	if (b->nsteps == b->steps_cap) {
		size_t cap = b->steps_cap ? b->steps_cap * 2 : 1 << 12;
		uint32_t *st = realloc(b->steps, cap * sizeof(*st));

		if (st == NULL)
			return -ENOMEM;
		b->steps = st;
		b->steps_cap = cap;
	}
	b->steps[b->nsteps++] = step;
	return 0;
}

/*
 * Cuts [from, to) of the client's (fe) or the server's stream into
 * segments of at most block bytes, sent next.
 */
static int
cut(struct bench *b, bool fe, size_t from, size_t to)
{
	struct bseg **segs = fe ? &b->fsegs : &b->segs;
	size_t *n = fe ? &b->nfsegs : &b->nsegs;

	while (from < to) {
		size_t len = to - from < b->o.block ? to - from : b->o.block;

		/* the arrays grow by powers of two from 4096 */
		if (*n >= 4096 && (*n & (*n - 1)) == 0) {
			struct bseg *g = realloc(*segs, *n * 2 * sizeof(**segs));

			if (g == NULL)
				return -ENOMEM;
			*segs = g;
		}
		(*segs)[*n] = (struct bseg){ .off = (uint32_t)from, .len = (uint16_t)len };
		if (add_step(b, (uint32_t)*n | (fe ? STEP_FE : 0)) < 0)
			return -ENOMEM;
		(*n)++;
		from += len;
	}
	return 0;
}

/* The checksum of a payload alone, as a segment starting at an even offset carries it. */
static void
set_csum(struct bseg *g, const uint8_t *payload)
{
	tg_wr16(g->csum0, tg_csum_fold(tg_csum_partial(payload, g->len, 0)));
	memcpy(g->csum, g->csum0, 2);
}

static int make_query_session(struct bench *b);

/* Payload pointers, checksums, the working copies, the timed bytes and what is expected. */
static void
finish_session(struct bench *b)
{
	size_t i;

	memcpy(b->work, b->pristine, b->len);
	memcpy(b->fe_work, b->fe_pristine, b->fe_len);
	for (i = 0; i < b->nsegs; i++) {
		b->segs[i].payload = b->work + b->segs[i].off;
		set_csum(&b->segs[i], b->pristine + b->segs[i].off);
	}
	for (i = 0; i < b->nfsegs; i++) {
		b->fsegs[i].payload = b->fe_work + b->fsegs[i].off;
		set_csum(&b->fsegs[i], b->fe_pristine + b->fsegs[i].off);
	}
	b->res_bytes = 0;
	for (i = b->nsteps_pre; i < b->nsteps; i++)
		b->res_bytes += b->steps[i] & STEP_FE ? b->fsegs[b->steps[i] & ~STEP_FE].len
						       : b->segs[b->steps[i]].len;
	for (i = TG_DETECT_NONE + 1; i < TG_DETECT_KIND_MAX; i++)
		if (b->enabled[i])
			b->expected += b->planted[i];
}

static int
make_session(struct bench *b)
{
	size_t target = (size_t)b->o.mib << 20, i;
	uint64_t s = b->o.seed;
	uint8_t *p;

	b->fsegs = malloc(4096 * sizeof(*b->fsegs));
	b->segs = malloc(4096 * sizeof(*b->segs));
	if (b->fsegs == NULL || b->segs == NULL)
		return -ENOMEM;
	if (b->query)
		return make_query_session(b);
	b->fe_cap = 512;
	b->cap = target + (1 << 20);
	b->fe_pristine = malloc(b->fe_cap);
	b->fe_work = malloc(b->fe_cap);
	b->pristine = malloc(b->cap);
	b->work = malloc(b->cap);
	if (b->pristine == NULL || b->work == NULL || b->fe_pristine == NULL ||
	    b->fe_work == NULL)
		return -ENOMEM;
	make_client(b);
	p = b->pristine;
	b->pre_len = b->len = make_auth(p);
	b->len = make_rowdesc(p, b->len);
	while (b->len - b->pre_len < target - 64)
		if (make_row(b, &s) < 0)
			return -ENOMEM;
	i = b->len;
	p[i] = 'C';
	b->len = tg_bench_put(p, b->cap, i + 5, "SELECT %zu", b->rows) + 1;
	end_msg(p, i, b->len);
	p[b->len] = 'Z';
	tg_wr32(p + b->len + 1, 5);
	p[b->len + 5] = 'I';
	b->len += 6;

	/* untimed: the startup, its answer, the Query; timed: the result */
	if (cut(b, true, 0, b->fe_pre_len) < 0 || cut(b, false, 0, b->pre_len) < 0 ||
	    cut(b, true, b->fe_pre_len, b->fe_len) < 0)
		return -ENOMEM;
	b->nsteps_pre = b->nsteps;
	if (cut(b, false, b->pre_len, b->len) < 0)
		return -ENOMEM;
	finish_session(b);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The query-heavy session (--mix query)                              */

/*
 * Room for one more exchange in both pristine streams: none is longer
 * than a few KiB (five rows at most).
 */
static int
ensure_room(struct bench *b)
{
	const size_t room = 16384;
	uint8_t *n;

	if (b->fe_len + room > b->fe_cap) {
		if ((n = realloc(b->fe_pristine, b->fe_cap * 2)) == NULL)
			return -ENOMEM;
		b->fe_pristine = n;
		b->fe_cap *= 2;
	}
	if (b->len + room > b->cap) {
		if ((n = realloc(b->pristine, b->cap * 2)) == NULL)
			return -ENOMEM;
		b->pristine = n;
		b->cap *= 2;
	}
	return 0;
}

static int
add_text(struct bench *b, size_t off, size_t len, bool param, unsigned int planted)
{
	if (b->nt == b->nt_cap) {
		size_t cap = b->nt_cap ? b->nt_cap * 2 : 1 << 14;
		struct text *t = realloc(b->t, cap * sizeof(*t));

		if (t == NULL)
			return -ENOMEM;
		b->t = t;
		b->nt_cap = cap;
	}
	b->t[b->nt++] = (struct text){ .off = (uint32_t)off, .len = (uint16_t)len,
				       .param = param, .planted = (uint8_t)planted };
	if (param)
		b->param_bytes += len;
	else
		b->text_bytes += len;
	b->fe_expected += planted;
	return 0;
}

/* A value of a result field or a parameter, and the kind planted in it. */
struct val {
	uint8_t buf[160];
	size_t len;
	uint8_t kind;		/* TG_DETECT_NONE: none */
};

/* v gets printf of its arguments, no value planted. */
#define VAL_FMT(v, ...) \
	((v)->len = tg_bench_put((v)->buf, sizeof((v)->buf), 0, __VA_ARGS__), \
	 (v)->kind = TG_DETECT_NONE)

static void
val_str(struct val *v, const char *str)
{
	v->len = tg_bench_put(v->buf, sizeof(v->buf), 0, "%s", str);
	v->kind = TG_DETECT_NONE;
}

static void
val_gen(struct val *v, size_t (*put)(uint8_t *, size_t, size_t, uint64_t *), uint64_t *s,
	uint8_t kind)
{
	v->len = put(v->buf, sizeof(v->buf), 0, s);
	v->kind = kind;
}

static void
val_name(struct val *v, uint64_t *s)
{
	v->len = tg_bench_put(v->buf, sizeof(v->buf), 0, "%s %s",
			      tg_bench_first_names[tg_bench_rnd(s, 20)],
			      tg_bench_last_names[tg_bench_rnd(s, 20)]);
	v->kind = TG_DETECT_NONE;
}

/* The enabled kind planted in v: 1, else 0. */
static unsigned int
val_planted(const struct bench *b, const struct val *v)
{
	return v->kind != TG_DETECT_NONE && b->enabled[v->kind];
}

/* ---- client messages (55.7), appended to fe_pristine ---- */

/* Query of text[0..len) holding planted values. */
static int
fe_query(struct bench *b, const uint8_t *text, size_t len, unsigned int planted)
{
	uint8_t *p = b->fe_pristine;
	size_t msg = b->fe_len, at = msg + 5;

	p[msg] = 'Q';
	memcpy(p + at, text, len);
	at += len;
	p[at++] = 0;
	end_msg(p, msg, at);
	b->fe_len = at;
	return add_text(b, msg + 5, len, false, planted);
}

/* Parse of a statement named name (no parameter types); returns the text's offset. */
static size_t
fe_parse(struct bench *b, const char *name, const char *text)
{
	uint8_t *p = b->fe_pristine;
	size_t msg = b->fe_len, at, t;

	p[msg] = 'P';
	at = put_z(p, msg + 5, name);
	t = at;
	at = put_z(p, at, text);
	tg_wr16(p + at, 0);
	at += 2;
	end_msg(p, msg, at);
	b->fe_len = at;
	return t;
}

/* Bind of the unnamed portal to statement stmt, text parameters v[0..n). */
static int
fe_bind(struct bench *b, const char *stmt, const struct val *v, unsigned int n)
{
	uint8_t *p = b->fe_pristine;
	size_t msg = b->fe_len, at;
	unsigned int i;

	p[msg] = 'B';
	at = put_z(p, msg + 5, "");
	at = put_z(p, at, stmt);
	tg_wr16(p + at, 0);		/* parameter formats: all text */
	tg_wr16(p + at + 2, (uint16_t)n);
	at += 4;
	for (i = 0; i < n; i++) {
		tg_wr32(p + at, (uint32_t)v[i].len);
		memcpy(p + at + 4, v[i].buf, v[i].len);
		if (add_text(b, at + 4, v[i].len, true, val_planted(b, &v[i])) < 0)
			return -ENOMEM;
		at += 4 + v[i].len;
	}
	tg_wr16(p + at, 0);		/* result formats: all text */
	at += 2;
	end_msg(p, msg, at);
	b->fe_len = at;
	return 0;
}

/* Describe of the unnamed portal, Execute of it with no row limit, Sync. */
static void
fe_describe_execute_sync(struct bench *b)
{
	uint8_t *p = b->fe_pristine;
	size_t at = b->fe_len;

	p[at] = 'D';
	tg_wr32(p + at + 1, 6);
	p[at + 5] = 'P';
	p[at + 6] = 0;
	at += 7;
	p[at] = 'E';
	tg_wr32(p + at + 1, 9);
	p[at + 5] = 0;
	tg_wr32(p + at + 6, 0);
	at += 10;
	p[at] = 'S';
	tg_wr32(p + at + 1, 4);
	b->fe_len = at + 5;
}

/* ---- server messages (55.7), appended to pristine ---- */

/* A message with no body: ParseComplete '1', BindComplete '2', NoData 'n'. */
static void
be_empty(struct bench *b, uint8_t type)
{
	b->pristine[b->len] = type;
	tg_wr32(b->pristine + b->len + 1, 4);
	b->len += 5;
}

struct col {
	const char *name;
	uint32_t oid;
	int16_t typlen;
};

/* RowDescription of cols[0..n), all text format. */
static void
be_rowdesc(struct bench *b, const struct col *cols, unsigned int n)
{
	uint8_t *p = b->pristine;
	size_t msg = b->len, at = msg + 7;
	unsigned int i;

	p[msg] = 'T';
	tg_wr16(p + msg + 5, (uint16_t)n);
	for (i = 0; i < n; i++) {
		at = put_z(p, at, cols[i].name);
		tg_wr32(p + at, 16390);			/* table OID */
		tg_wr16(p + at + 4, (uint16_t)(i + 1));	/* attnum */
		tg_wr32(p + at + 6, cols[i].oid);
		tg_wr16(p + at + 10, (uint16_t)cols[i].typlen);
		tg_wr32(p + at + 12, UINT32_MAX);	/* typmod -1 */
		tg_wr16(p + at + 16, 0);		/* text */
		at += 18;
	}
	end_msg(p, msg, at);
	b->len = at;
}

/* DataRow of v[0..n); every field is recorded for the checks. */
static int
be_datarow(struct bench *b, const struct val *v, unsigned int n)
{
	uint8_t *p = b->pristine;
	size_t msg = b->len, at = msg + 7;
	unsigned int i;

	p[msg] = 'D';
	tg_wr16(p + msg + 5, (uint16_t)n);
	for (i = 0; i < n; i++) {
		tg_wr32(p + at, (uint32_t)v[i].len);
		memcpy(p + at + 4, v[i].buf, v[i].len);
		if (v[i].len > 0 && add_field(b, at + 4, v[i].len, v[i].kind) < 0)
			return -ENOMEM;
		at += 4 + v[i].len;
	}
	end_msg(p, msg, at);
	b->len = at;
	b->rows++;
	return 0;
}

/* CommandComplete with tag, then ReadyForQuery (idle). */
static void
be_complete(struct bench *b, const char *tag)
{
	uint8_t *p = b->pristine;
	size_t msg = b->len, at;

	p[msg] = 'C';
	at = put_z(p, msg + 5, tag);
	end_msg(p, msg, at);
	p[at] = 'Z';
	tg_wr32(p + at + 1, 5);
	p[at + 5] = 'I';
	b->len = at + 6;
}

#define PGBENCH_SELECT "SELECT abalance FROM pgbench_accounts WHERE aid = "
#define PGBENCH_STMT "P0_1"
#define STATUSES 4

static const char *const statuses[STATUSES] = { "settled", "pending", "refunded", "disputed" };

/*
 * One statement of kind k: the client's messages, then the server's
 * answer, each sent as one write (libpq flushes a request at once, the
 * server its answer at ReadyForQuery), so each is a segment unless
 * longer than --block.
 */
static int
make_statement(struct bench *b, enum qkind k, uint64_t *s, size_t prepared_text)
{
	static const struct col c_abalance[] = { { "abalance", 23, 4 } };
	static const struct col c_customer[] = {
		{ "id", 20, 8 }, { "name", 25, -1 }, { "email", 25, -1 }, { "phone", 25, -1 },
		{ "city", 25, -1 },
	};
	static const struct col c_payment[] = {
		{ "id", 20, 8 }, { "created_at", 1184, 8 }, { "amount", 1700, -1 },
		{ "status", 25, -1 },
	};
	uint8_t text[512];
	struct val v[5];
	size_t fe0, be0, n;
	unsigned int planted = 0, i, rows;
	char tag[32];

	if (ensure_room(b) < 0)
		return -ENOMEM;
	fe0 = b->fe_len;
	be0 = b->len;
	switch (k) {
	case Q_PGBENCH_SELECT:
		n = tg_bench_put(text, sizeof(text), 0, PGBENCH_SELECT "%u;",
				 1 + tg_bench_rnd(s, 10000000));
		if (fe_query(b, text, n, 0) < 0)
			return -ENOMEM;
		be_rowdesc(b, c_abalance, 1);
		VAL_FMT(&v[0], "%u", tg_bench_rnd(s, 100000));
		if (be_datarow(b, v, 1) < 0)
			return -ENOMEM;
		be_complete(b, "SELECT 1");
		break;
	case Q_PGBENCH_PREPARED:
		VAL_FMT(&v[0], "%u", 1 + tg_bench_rnd(s, 10000000));
		if (fe_bind(b, PGBENCH_STMT, v, 1) < 0 ||
		    add_text(b, prepared_text, strlen(PGBENCH_SELECT "$1"), false, 0) < 0)
			return -ENOMEM;
		fe_describe_execute_sync(b);
		be_empty(b, '2');
		be_rowdesc(b, c_abalance, 1);
		VAL_FMT(&v[0], "%u", tg_bench_rnd(s, 100000));
		if (be_datarow(b, v, 1) < 0)
			return -ENOMEM;
		be_complete(b, "SELECT 1");
		break;
	case Q_PGBENCH_WRITE:
		if (tg_bench_rnd(s, 2) == 0) {
			n = tg_bench_put(text, sizeof(text), 0,
					 "UPDATE pgbench_accounts SET abalance = abalance + %d "
					 "WHERE aid = %u;", (int)tg_bench_rnd(s, 10001) - 5000,
					 1 + tg_bench_rnd(s, 10000000));
			snprintf(tag, sizeof(tag), "UPDATE 1");
		} else {
			n = tg_bench_put(text, sizeof(text), 0,
					 "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
					 "VALUES (%u, %u, %u, %d, CURRENT_TIMESTAMP);",
					 1 + tg_bench_rnd(s, 1000), 1 + tg_bench_rnd(s, 100),
					 1 + tg_bench_rnd(s, 10000000),
					 (int)tg_bench_rnd(s, 10001) - 5000);
			snprintf(tag, sizeof(tag), "INSERT 0 1");
		}
		if (fe_query(b, text, n, 0) < 0)
			return -ENOMEM;
		be_complete(b, tag);
		b->written++;
		break;
	case Q_APP_LOOKUP: {
		static const char q[] = "SELECT id, name, email, phone, city FROM customers "
					"WHERE id = $1";

		if (add_text(b, fe_parse(b, "", q), strlen(q), false, 0) < 0)
			return -ENOMEM;
		VAL_FMT(&v[0], "%u", 1 + tg_bench_rnd(s, 2000000));
		if (fe_bind(b, "", v, 1) < 0)
			return -ENOMEM;
		fe_describe_execute_sync(b);
		be_empty(b, '1');
		be_empty(b, '2');
		be_rowdesc(b, c_customer, 5);
		/* v[0] is the id asked for */
		val_name(&v[1], s);
		val_gen(&v[2], tg_bench_put_email, s, TG_DETECT_EMAIL);
		val_gen(&v[3], tg_bench_put_phone, s, TG_DETECT_PHONE);
		val_str(&v[4], tg_bench_cities[tg_bench_rnd(s, 16)]);
		if (be_datarow(b, v, 5) < 0)
			return -ENOMEM;
		be_complete(b, "SELECT 1");
		break;
	}
	case Q_APP_CARD_SELECT:
		n = tg_bench_put(text, sizeof(text), 0, "SELECT id, created_at, amount, status "
				 "FROM payments WHERE card_number = '");
		n = tg_bench_put_card(text, sizeof(text), n, s);
		n = tg_bench_put(text, sizeof(text), n, "' ORDER BY created_at DESC LIMIT 5");
		planted = b->enabled[TG_DETECT_CARD];
		if (fe_query(b, text, n, planted) < 0)
			return -ENOMEM;
		be_rowdesc(b, c_payment, 4);
		rows = tg_bench_rnd(s, 6);
		for (i = 0; i < rows; i++) {
			VAL_FMT(&v[0], "%u", 1 + tg_bench_rnd(s, 90000000));
			v[1].len = tg_bench_put(v[1].buf, sizeof(v[1].buf), 0,
						"2026-%02u-%02u %02u:%02u:%02u.%06u+00",
						1 + tg_bench_rnd(s, 12), 1 + tg_bench_rnd(s, 28),
						tg_bench_rnd(s, 24), tg_bench_rnd(s, 60),
						tg_bench_rnd(s, 60), tg_bench_rnd(s, 1000000));
			v[1].kind = TG_DETECT_NONE;
			VAL_FMT(&v[2], "%u.%02u", tg_bench_rnd(s, 5000), tg_bench_rnd(s, 100));
			val_str(&v[3], statuses[tg_bench_rnd(s, STATUSES)]);
			if (be_datarow(b, v, 4) < 0)
				return -ENOMEM;
		}
		snprintf(tag, sizeof(tag), "SELECT %u", rows);
		be_complete(b, tag);
		break;
	case Q_APP_WRITE_LITERALS:
		if (tg_bench_rnd(s, 2) == 0) {
			n = tg_bench_put(text, sizeof(text), 0, "UPDATE customers SET email = '");
			n = tg_bench_put_email(text, sizeof(text), n, s);
			n = tg_bench_put(text, sizeof(text), n, "', phone = '");
			n = tg_bench_put_phone(text, sizeof(text), n, s);
			n = tg_bench_put(text, sizeof(text), n, "', updated_at = now() WHERE id = %u",
					 1 + tg_bench_rnd(s, 2000000));
			planted = b->enabled[TG_DETECT_EMAIL] + b->enabled[TG_DETECT_PHONE];
			snprintf(tag, sizeof(tag), "UPDATE 1");
		} else {
			n = tg_bench_put(text, sizeof(text), 0, "INSERT INTO payment_methods "
					 "(customer_id, card_number, holder, created_at) VALUES (%u, '",
					 1 + tg_bench_rnd(s, 2000000));
			n = tg_bench_put_card(text, sizeof(text), n, s);
			n = tg_bench_put(text, sizeof(text), n, "', '%s %s', now())",
					 tg_bench_first_names[tg_bench_rnd(s, 20)],
					 tg_bench_last_names[tg_bench_rnd(s, 20)]);
			planted = b->enabled[TG_DETECT_CARD];
			snprintf(tag, sizeof(tag), "INSERT 0 1");
		}
		if (fe_query(b, text, n, planted) < 0)
			return -ENOMEM;
		be_complete(b, tag);
		b->written++;
		break;
	case Q_APP_WRITE_PARAMS: {
		static const char q[] = "UPDATE accounts SET iban = $1, updated_at = now() "
					"WHERE customer_id = $2";

		if (add_text(b, fe_parse(b, "", q), strlen(q), false, 0) < 0)
			return -ENOMEM;
		val_gen(&v[0], tg_bench_put_iban, s, TG_DETECT_IBAN);
		VAL_FMT(&v[1], "%u", 1 + tg_bench_rnd(s, 2000000));
		if (fe_bind(b, "", v, 2) < 0)
			return -ENOMEM;
		fe_describe_execute_sync(b);
		be_empty(b, '1');
		be_empty(b, '2');
		be_empty(b, 'n');
		be_complete(b, "UPDATE 1");
		b->written++;
		break;
	}
	default:
		return -EINVAL;
	}
	b->statements++;
	b->qcount[k]++;
	if (cut(b, true, fe0, b->fe_len) < 0 || cut(b, false, be0, b->len) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * The query-heavy session: the startup and its answer, pgbench's
 * prepared statement made once (Parse, Sync), untimed; then --statements
 * statements drawn by qkind_weight, each its request and its answer.
 */
static int
make_query_session(struct bench *b)
{
	uint64_t s = b->o.seed;
	size_t i, fe0, be0, prepared_text;
	unsigned int k, r, acc;

	b->fe_cap = (size_t)b->o.statements * 256 + (1 << 16);
	b->cap = (size_t)b->o.statements * 512 + (1 << 16);
	b->fe_pristine = malloc(b->fe_cap);
	b->pristine = malloc(b->cap);
	if (b->pristine == NULL || b->fe_pristine == NULL)
		return -ENOMEM;
	b->fe_len = b->fe_pre_len = make_startup(b);
	b->pre_len = b->len = make_auth(b->pristine);
	if (cut(b, true, 0, b->fe_len) < 0 || cut(b, false, 0, b->len) < 0)
		return -ENOMEM;
	fe0 = b->fe_len;
	be0 = b->len;
	prepared_text = fe_parse(b, PGBENCH_STMT, PGBENCH_SELECT "$1");
	b->fe_pristine[b->fe_len] = 'S';
	tg_wr32(b->fe_pristine + b->fe_len + 1, 4);
	b->fe_len += 5;
	be_empty(b, '1');
	b->pristine[b->len] = 'Z';
	tg_wr32(b->pristine + b->len + 1, 5);
	b->pristine[b->len + 5] = 'I';
	b->len += 6;
	if (cut(b, true, fe0, b->fe_len) < 0 || cut(b, false, be0, b->len) < 0)
		return -ENOMEM;
	b->fe_pre_len = b->fe_len;
	b->pre_len = b->len;
	b->nsteps_pre = b->nsteps;

	for (i = 0; i < b->o.statements; i++) {
		r = tg_bench_rnd(&s, 100);
		for (k = 0, acc = qkind_weight[0]; k + 1 < Q_KINDS && r >= acc; k++)
			acc += qkind_weight[k + 1];
		if (make_statement(b, (enum qkind)k, &s, prepared_text) < 0)
			return -ENOMEM;
	}
	b->fe_work = malloc(b->fe_len);
	b->work = malloc(b->len);
	if (b->fe_work == NULL || b->work == NULL)
		return -ENOMEM;
	finish_session(b);
	return 0;
}

/* The pristine bytes and checksums back into the working copy: masking edits it. */
static void
restore(struct bench *b)
{
	size_t i;

	memcpy(b->work, b->pristine, b->len);
	memcpy(b->fe_work, b->fe_pristine, b->fe_len);
	for (i = 0; i < b->nsegs; i++)
		memcpy(b->segs[i].csum, b->segs[i].csum0, 2);
	for (i = 0; i < b->nfsegs; i++)
		memcpy(b->fsegs[i].csum, b->fsegs[i].csum0, 2);
}

/* ------------------------------------------------------------------ */
/* Policy                                                              */

/* The mask style a policy of the appliance gives each kind. */
static const char *
mask_of(unsigned int k)
{
	switch (k) {
	case TG_DETECT_CARD:
	case TG_DETECT_IBAN:
	case TG_DETECT_PHONE:
		return "last4";
	case TG_DETECT_EMAIL:
		return "keep-domain";
	default:
		return "full";
	}
}

/* enabled[] from a comma-separated list of built-in kinds, "all", or NULL: the five planted. */
static int
select_kinds(struct bench *b)
{
	static const char five[] = "card,iban,email,ssn,phone";
	const char *list = b->o.kinds != NULL ? b->o.kinds : five;
	unsigned int k, n = 0;
	size_t at = 0;
	bool all = strcmp(list, "all") == 0;

	b->kind_list[0] = '\0';
	for (k = TG_DETECT_NONE + 1; k < TG_DETECT_KIND_MAX; k++) {
		const char *name = tg_detect_kind_names[k], *p = list;
		size_t l = strlen(name);
		bool want = all;

		if (k == TG_DETECT_REGEX)
			continue;
		while (*p != '\0' && !want) {
			size_t w = strcspn(p, ",");

			want = w == l && strncmp(p, name, l) == 0;
			p += w + (p[w] == ',');
		}
		if (!want)
			continue;
		b->enabled[k] = true;
		n++;
		at += (size_t)snprintf(b->kind_list + at,
				       at < sizeof(b->kind_list) ? sizeof(b->kind_list) - at : 0,
				       "%s%s", at ? "," : "", name);
	}
	if (n == 0) {
		fprintf(stderr, PROG ": --kinds: no built-in detector named in '%s'\n", list);
		return -EINVAL;
	}
	return 0;
}

/*
 * The appliance's policy (appliance/policy.json) for one service: its
 * three command rules, and a detector of each enabled kind with the
 * appliance's mask styles.
 */
static int
make_policy(struct bench *b)
{
	static const char rules[] =
		"{\"commands\":{\"default\":\"allow\",\"rules\":["
		"{\"id\":\"no-drop\","
		"\"patterns\":[\"\\\\bdrop\\\\s+(table|database|schema)\\\\b\"],"
		"\"caseless\":true,\"action\":\"block\"},"
		"{\"id\":\"no-truncate\",\"patterns\":[\"\\\\btruncate\\\\b\"],"
		"\"caseless\":true,\"action\":\"block\"},"
		"{\"id\":\"log-ddl\",\"patterns\":[\"\\\\b(alter|create)\\\\b\"],"
		"\"caseless\":true,\"action\":\"log\"}]},"
		"\"detectors\":[";
	struct tg_service *svc = &b->svcs.svc[0];
	char json[2048], err[256];
	size_t at;
	unsigned int k;
	int rc;

	memset(&b->svcs, 0, sizeof(b->svcs));
	snprintf(svc->name, sizeof(svc->name), "demo-pg");
	if (tg_service_parse_prefix(svc, "198.51.100.2/32") != 0)
		return -EINVAL;
	svc->port = 5432;
	svc->proto = TG_SERVICE_POSTGRES;
	b->svcs.nb = 1;

	at = (size_t)snprintf(json, sizeof(json), "%s", rules);
	for (k = TG_DETECT_NONE + 1; k < TG_DETECT_KIND_MAX && at < sizeof(json); k++)
		if (b->enabled[k])
			at += (size_t)snprintf(json + at, sizeof(json) - at,
					       "%s{\"id\":\"%s\",\"kind\":\"%s\",\"mask\":\"%s\"}",
					       json[at - 1] == '[' ? "" : ",",
					       tg_detect_kind_names[k], tg_detect_kind_names[k],
					       mask_of(k));
	if (at < sizeof(json))
		at += (size_t)snprintf(json + at, sizeof(json) - at, "]}");
	if (at >= sizeof(json)) {
		fprintf(stderr, PROG ": policy text too long\n");
		return -ENOSPC;
	}
	if ((rc = tg_policy_parse(json, at, SOURCE, &b->svcs, &b->pol, err, sizeof(err))) < 0 ||
	    (rc = tg_policy_compile(b->pol, SOURCE, err, sizeof(err))) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Driving the engine                                                  */

static void
on_event(void *arg, const struct tg_inspect_event *ev)
{
	struct evstat *e = arg;
	unsigned int k;

	e->events++;
	e->rows += ev->rows;
	for (k = 0; k < TG_DETECT_KIND_MAX; k++)
		e->masked += ev->masked[k];
	e->masked_columns += ev->masked_columns;
	e->not_allowed += ev->verdict != TG_ACT_ALLOW;
	e->not_ok += ev->result != TG_INSPECT_OK;
	if (e->rescan) {
		/* untimed round: nothing a detector finds may be left in the event's texts */
		struct tg_detect_match m[MATCHES_MAX];

		if (tg_detect_scan(e->db, e->ds, (const uint8_t *)ev->text, ev->text_len, m,
				   MATCHES_MAX) != 0 ||
		    tg_detect_scan(e->db, e->ds, (const uint8_t *)ev->params, ev->params_len, m,
				   MATCHES_MAX) != 0)
			e->found_again++;
	}
}

/* The receiver takes a segment; it must be the next in order. */
static int
rx_take(struct bench *b, int dir, const struct bseg *g)
{
	struct peer *p = &b->rx[dir];

	if (g->off != p->nxt)
		return -EPROTO;
	p->nxt += g->len;
	p->unacked++;
	return 0;
}

/* The receiver ACKs what it has, with a window of the ring. */
static int
rx_ack(struct bench *b, int dir)
{
	struct tg_stream *s = &b->st[dir];

	b->rx[dir].unacked = 0;
	return tg_stream_ack(&b->m, s, s->isn1 + (uint32_t)b->rx[dir].nxt, b->m.ring_size) == 0
		       ? 0
		       : -EPROTO;
}

/* One segment through the engine, what may leave to the receiver, its ACK. */
static int
send_seg(struct bench *b, int dir, struct bseg *g, const struct tg_stream_consumer *c)
{
	struct tg_stream *s = &b->st[dir];
	struct tg_stream_seg seg = {
		.pkt = g,
		.payload = g->payload,
		.csum = g->csum,
		.seq = s->isn1 + g->off,
		.len = g->len,
	};
	void *pkts[RELEASE_BURST];
	unsigned int n, i;

	/* what a peer sends carries its ACK of what it has received */
	if (b->rx[!dir].unacked && rx_ack(b, !dir) < 0)
		return -EPROTO;
	/* a sender waits for the window: the delayed ACK's timer fires first */
	if (g->off + g->len > s->wnd_end && b->rx[dir].unacked && rx_ack(b, dir) < 0)
		return -EPROTO;
	switch (tg_stream_segment(&b->m, s, &seg, c)) {
	case TG_STREAM_HOLD:
		break;
	case TG_STREAM_FORWARD:
		if (rx_take(b, dir, g) < 0)
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}
	do {
		n = tg_stream_release(&b->m, s, pkts, RELEASE_BURST);
		for (i = 0; i < n; i++)
			if (rx_take(b, dir, pkts[i]) < 0)
				return -EPROTO;
	} while (n == RELEASE_BURST);
	if (b->rx[dir].unacked >= 2)
		return rx_ack(b, dir);
	return 0;
}

/* The segment of a step, and its direction: 0 the client's, 1 the server's. */
static struct bseg *
step_seg(struct bench *b, uint32_t step, int *dir)
{
	*dir = step & STEP_FE ? 0 : 1;
	return step & STEP_FE ? &b->fsegs[step & ~STEP_FE] : &b->segs[step];
}

static int
send_step(struct bench *b, uint32_t step, const struct tg_stream_consumer *cfe,
	  const struct tg_stream_consumer *cbe)
{
	int dir;
	struct bseg *g = step_seg(b, step, &dir);

	return send_seg(b, dir, g, dir == 0 ? cfe : cbe);
}

static uint64_t
stream_drops(const struct tg_stream_mem *m)
{
	uint64_t n = m->cnt[TG_STREAM_CNT_ACK_INVALID] + m->cnt[TG_STREAM_CNT_DISCARDED];
	unsigned int i;

	for (i = 0; i < TG_STREAM_CNT_MAX; i++)
		if (strncmp(tg_stream_counter_names[i], "drop_", 5) == 0)
			n += m->cnt[i];
	return n;
}

/* Why a session went wrong: the engine's refusals and the inspector's failures. */
static void
explain(const struct bench *b, const uint64_t *smem_before, const uint64_t *in_before)
{
	unsigned int i;

	fprintf(stderr, PROG ": server bytes received %" PRIu64 " of %zu, client %" PRIu64
		" of %zu; held %u and %u\n", b->rx[1].nxt, b->len, b->rx[0].nxt, b->fe_len,
		b->st[0].nb_held, b->st[1].nb_held);
	for (i = 0; i < TG_STREAM_CNT_MAX; i++)
		if ((strncmp(tg_stream_counter_names[i], "drop_", 5) == 0 ||
		     i == TG_STREAM_CNT_ACK_INVALID) && b->m.cnt[i] != smem_before[i])
			fprintf(stderr, PROG ": stream %s +%" PRIu64 "\n",
				tg_stream_counter_names[i], b->m.cnt[i] - smem_before[i]);
	for (i = TG_INSPECT_CNT_FAIL_VIOLATION; i < TG_INSPECT_CNT_MAX; i++)
		if (b->in.cnt[i] != in_before[i])
			fprintf(stderr, PROG ": inspect %s +%" PRIu64 "\n",
				tg_inspect_counter_names[i], b->in.cnt[i] - in_before[i]);
}

/*
 * One session through the engine, with the inspector or with no consumer
 * (forwarding). Only the result segments are timed. Returns 0, or -EPROTO
 * when the engine refused a segment, the receiver got one out of order,
 * something stayed held, or the inspector failed the session.
 */
static int
run_session(struct bench *b, bool inspect, uint64_t *cyc, uint64_t *cpu)
{
	const struct tg_stream_consumer *cfe = inspect ? &b->in.consumer[0] : NULL;
	const struct tg_stream_consumer *cbe = inspect ? &b->in.consumer[1] : NULL;
	uint64_t drops = stream_drops(&b->m), t0, c0;
	uint64_t smem_before[TG_STREAM_CNT_MAX], in_before[TG_INSPECT_CNT_MAX];
	void *pkts[RELEASE_BURST];
	bool failed = false;
	size_t i;
	int rc = 0;

	memcpy(smem_before, b->m.cnt, sizeof(smem_before));
	memcpy(in_before, b->in.cnt, sizeof(in_before));
	memset(b->st, 0, sizeof(b->st));
	memset(b->rx, 0, sizeof(b->rx));
	tg_stream_init(&b->st[0], ISN1_FE);
	tg_stream_init(&b->st[1], ISN1_BE);
	if (inspect && tg_inspect_open(&b->in, b->st, 0, CLIENT) != 0)
		return -ENOSPC;
	if (rx_ack(b, 0) < 0 || rx_ack(b, 1) < 0)
		rc = -EPROTO;
	for (i = 0; i < b->nsteps_pre && rc == 0; i++)
		rc = send_step(b, b->steps[i], cfe, cbe);
	if (rc == 0 && (rx_ack(b, 0) < 0 || rx_ack(b, 1) < 0))
		rc = -EPROTO;

	c0 = tg_bench_read_cpu_ns();
	t0 = tg_bench_read_tsc();
	for (i = b->nsteps_pre; i < b->nsteps && rc == 0; i++)
		rc = send_step(b, b->steps[i], cfe, cbe);
	if (rc == 0 && (rx_ack(b, 0) < 0 || rx_ack(b, 1) < 0))
		rc = -EPROTO;
	*cyc = tg_bench_read_tsc() - t0;
	*cpu = tg_bench_read_cpu_ns() - c0;

	if (inspect) {
		failed = tg_inspect_failed(&b->in, b->st);
		tg_inspect_close(&b->in, b->st);
	}
	if (b->st[0].nb_held || b->st[1].nb_held || b->rx[1].nxt != b->len ||
	    b->rx[0].nxt != b->fe_len || failed || stream_drops(&b->m) != drops)
		rc = -EPROTO;
	if (rc < 0)
		explain(b, smem_before, in_before);
	while (tg_stream_drop_all(&b->m, &b->st[0], pkts, RELEASE_BURST) != 0)
		;
	while (tg_stream_drop_all(&b->m, &b->st[1], pkts, RELEASE_BURST) != 0)
		;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Figures                                                             */

static void
record(struct figure *f, uint64_t cyc, uint64_t cpu, double hz)
{
	f->cyc[f->nb] = (double)cyc;
	f->cpu_ns[f->nb] = (double)cpu;
	if ((double)cpu < 0.95 * (double)cyc * 1e9 / hz)
		f->preempted++;
	f->nb++;
}

static void
run_memcpy(struct bench *b, struct figure *f)
{
	uint32_t mask = b->m.ring_size - 1;
	uint64_t t0, c0;
	size_t i;

	c0 = tg_bench_read_cpu_ns();
	t0 = tg_bench_read_tsc();
	for (i = b->nsteps_pre; i < b->nsteps; i++) {
		int dir;
		const struct bseg *g = step_seg(b, b->steps[i], &dir);
		uint32_t at = g->off & mask, n = g->len;

		if (n > b->m.ring_size - at)
			n = b->m.ring_size - at;
		memcpy(b->ringbuf + at, g->payload, n);
		memcpy(b->ringbuf, g->payload + n, g->len - n);
		__asm__ volatile("" : : "r"(b->ringbuf) : "memory");
	}
	record(f, tg_bench_read_tsc() - t0, tg_bench_read_cpu_ns() - c0, b->hz);
}

/* hs_scan()'s callback for hs_raw over the command database: counts. */
static int
on_count_cmd(unsigned int id, unsigned long long from, unsigned long long to,
	     unsigned int flags, void *arg)
{
	(void)id;
	(void)from;
	(void)to;
	(void)flags;
	(*(uint64_t *)arg)++;
	return 0;
}

static int
run_scan(struct bench *b, bool raw, struct figure *f)
{
	struct tg_detect_match m[MATCHES_MAX];
	const struct tg_detect_db *db = b->pol->det_db;
	uint64_t t0, c0, count = 0;
	size_t i;

	c0 = tg_bench_read_cpu_ns();
	t0 = tg_bench_read_tsc();
	for (i = 0; i < b->nf; i++) {
		const uint8_t *v = b->work + b->f[i].off;
		long r = raw ? tg_detect_scan_raw(db, b->ds, v, b->f[i].len)
			     : tg_detect_scan(db, b->ds, v, b->f[i].len, m, MATCHES_MAX);

		if (r < 0)
			return (int)r;
		count += (uint64_t)r;
	}
	/* --mix query: statement texts against the command rules, texts and parameters */
	for (i = 0; i < b->nt; i++) {
		const struct text *t = &b->t[i];
		const char *v = (const char *)b->fe_work + t->off;
		long r;

		if (!t->param && b->pol->cmd_db != NULL) {
			uint32_t rule;

			if (raw)
				r = hs_scan(b->pol->cmd_db, v, t->len, 0, b->cmd_hs, on_count_cmd,
					    &count) == HS_SUCCESS ? 0 : -EIO;
			else
				r = tg_policy_match_cmd(b->pol, b->ps, v, t->len, 0, &rule, 1);
			if (r < 0)
				return (int)r;
		}
		r = raw ? tg_detect_scan_raw(db, b->ds, (const uint8_t *)v, t->len)
			: tg_detect_scan(db, b->ds, (const uint8_t *)v, t->len, m, MATCHES_MAX);
		if (r < 0)
			return (int)r;
		count += (uint64_t)r;
	}
	record(f, tg_bench_read_tsc() - t0, tg_bench_read_cpu_ns() - c0, b->hz);
	f->count = count;
	return 0;
}

static int
run_forward(struct bench *b, struct figure *f)
{
	uint64_t cyc, cpu;
	int rc = run_session(b, false, &cyc, &cpu);

	if (rc < 0)
		return rc;
	record(f, cyc, cpu, b->hz);
	return 0;
}

static int
run_inspect(struct bench *b, struct figure *f)
{
	uint64_t before[TG_INSPECT_CNT_MAX], cyc, cpu;
	int rc;

	memcpy(before, b->in.cnt, sizeof(before));
	b->ev = (struct evstat){ .rescan = b->rescan, .db = b->pol->det_db, .ds = b->ds };
	if ((rc = run_session(b, true, &cyc, &cpu)) < 0)
		return rc;
	record(f, cyc, cpu, b->hz);
	f->count = b->in.cnt[TG_INSPECT_CNT_VALUES_MASKED] - before[TG_INSPECT_CNT_VALUES_MASKED];
	b->ck.rows = b->in.cnt[TG_INSPECT_CNT_ROWS] - before[TG_INSPECT_CNT_ROWS];
	b->ck.fields = b->in.cnt[TG_INSPECT_CNT_FIELDS_SCANNED] -
		       before[TG_INSPECT_CNT_FIELDS_SCANNED];
	if (b->in.cnt[TG_INSPECT_CNT_OVERFLOW] != before[TG_INSPECT_CNT_OVERFLOW] ||
	    b->in.cnt[TG_INSPECT_CNT_COLUMNS_MASKED] != before[TG_INSPECT_CNT_COLUMNS_MASKED])
		b->ck.failed++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

/*
 * Before timing: each field scanned once with confirmation, against what
 * was planted in it: one value in a field of an enabled kind, none
 * elsewhere.
 */
static int
check_truth(struct bench *b)
{
	struct tg_detect_match m[MATCHES_MAX];
	size_t i;

	for (i = 0; i < b->nf; i++) {
		const struct field *f = &b->f[i];
		int n = tg_detect_scan(b->pol->det_db, b->ds, b->pristine + f->off, f->len, m,
				       MATCHES_MAX);
		int want = f->kind != TG_DETECT_NONE && b->enabled[f->kind];

		if (n < 0)
			return n;
		if (n < want)
			b->ck.truth_missed++;
		else if (want == 0 && n > 0)
			b->ck.truth_flagged++;
		else if (n > want)
			b->ck.truth_extra++;
	}
	/* --mix query: the values planted in statement texts and parameters */
	for (i = 0; i < b->nt; i++) {
		const struct text *t = &b->t[i];
		int n = tg_detect_scan(b->pol->det_db, b->ds, b->fe_pristine + t->off, t->len, m,
				       MATCHES_MAX);

		if (n < 0)
			return n;
		if (n < t->planted)
			b->ck.truth_missed++;
		else if (t->planted == 0 && n > 0)
			b->ck.truth_flagged++;
		else if (n > t->planted)
			b->ck.truth_extra++;
	}
	if (b->ck.truth_missed || b->ck.truth_flagged || b->ck.truth_extra)
		b->ck.failed++;
	return 0;
}

/* After forwarding: every byte as it was, every checksum as built. */
static void
check_forward(struct bench *b)
{
	size_t i;

	if (memcmp(b->work, b->pristine, b->len) != 0 ||
	    memcmp(b->fe_work, b->fe_pristine, b->fe_len) != 0) {
		b->ck.forward_diff++;
		b->ck.failed++;
	}
	for (i = 0; i < b->nsegs; i++)
		if (memcmp(b->segs[i].csum, b->segs[i].csum0, 2) != 0) {
			b->ck.forward_diff++;
			b->ck.failed++;
		}
	for (i = 0; i < b->nfsegs; i++)
		if (memcmp(b->fsegs[i].csum, b->fsegs[i].csum0, 2) != 0) {
			b->ck.forward_diff++;
			b->ck.failed++;
		}
}

/* After inspection: the counts, the events, which bytes changed, the checksums. */
static void
check_inspect(struct bench *b, const struct figure *f, bool rescan)
{
	struct tg_detect_match m[MATCHES_MAX];
	struct checks *ck = &b->ck;
	size_t i, at = 0;

	ck->masked = f->count;
	ck->expected = b->expected;
	ck->events = b->ev.events;
	ck->found_again += b->ev.found_again;
	/* one event a statement: the rows' one Query, or every statement of the mix */
	if (f->count != b->expected || ck->rows != b->rows || ck->fields != b->nf ||
	    b->ev.events != (b->query ? b->statements : 1) ||
	    b->ev.rows != b->rows + b->written ||
	    b->ev.masked != b->expected || b->ev.masked_columns != 0 || b->ev.not_allowed != 0 ||
	    b->ev.not_ok != 0)
		ck->failed++;

	/* bytes between fields, and fields without a value, are as they were */
	for (i = 0; i < b->nf; i++) {
		const struct field *fl = &b->f[i];
		bool changed;

		if (memcmp(b->work + at, b->pristine + at, fl->off - at) != 0)
			ck->changed_outside++;
		changed = memcmp(b->work + fl->off, b->pristine + fl->off, fl->len) != 0;
		if (fl->kind != TG_DETECT_NONE && b->enabled[fl->kind]) {
			if (!changed)
				ck->sensitive_unchanged++;
			if (rescan && tg_detect_scan(b->pol->det_db, b->ds, b->work + fl->off,
						     fl->len, m, MATCHES_MAX) != 0)
				ck->found_again++;
		} else if (changed) {
			ck->changed_outside++;
		}
		at = fl->off + fl->len;
	}
	if (memcmp(b->work + at, b->pristine + at, b->len - at) != 0 ||
	    memcmp(b->fe_work, b->fe_pristine, b->fe_len) != 0)
		ck->changed_outside++;

	/* what the engine patched is what a receiver verifies */
	ck->seg_total += b->nsegs + b->nfsegs;
	for (i = 0; i < b->nsegs + b->nfsegs; i++) {
		const struct bseg *g = i < b->nsegs ? &b->segs[i] : &b->fsegs[i - b->nsegs];

		if (tg_csum_fold(tg_csum_partial(g->payload, g->len, tg_rd16(g->csum))) != 0)
			ck->csum_bad++;
	}
	if (ck->changed_outside || ck->sensitive_unchanged || ck->found_again || ck->csum_bad)
		ck->failed++;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */

static void
report(const struct bench *b, const struct figure *f, const char *extra)
{
	double bytes = (double)b->res_bytes;
	double cm = tg_bench_calc_median(f->cyc, f->nb), cb = tg_bench_calc_best(f->cyc, f->nb);
	double gm = bytes * 8 * b->hz / cm / 1e9, gb = bytes * 8 * b->hz / cb / 1e9;
	double oc = tg_bench_calc_median(f->cpu_ns, f->nb) * b->hz / 1e9 / bytes;

	printf("  %-8s %8.3f Gbit/s %7.3f cycles/byte  best %8.3f Gbit/s %7.3f cycles/byte",
	       f->name, gm, cm / bytes, gb, cb / bytes);
	if (f->preempted)
		printf("  on-CPU %.3f (%u preempted)", oc, f->preempted);
	printf("\n");
	printf("RESULT name=%s gbps=%.3f cycles_per_byte=%.3f gbps_best=%.3f "
	       "cycles_per_byte_best=%.3f cycles_per_byte_oncpu=%.3f bytes=%zu rounds=%u "
	       "preempted=%u%s\n", f->name, gm, cm / bytes, gb, cb / bytes, oc, b->res_bytes,
	       f->nb, f->preempted, extra);
}

/*
 * inspect over base, in cycles: the median of the rounds' ratios, best
 * over best, and the median of the rounds' ratios of on-CPU time.
 */
static void
ratio(const struct figure *in, const struct figure *base, double *med, double *bb, double *oc)
{
	double r[ROUNDS_MAX], c[ROUNDS_MAX];
	unsigned int i;

	for (i = 0; i < in->nb; i++) {
		r[i] = in->cyc[i] / base->cyc[i];
		c[i] = in->cpu_ns[i] / base->cpu_ns[i];
	}
	*med = tg_bench_calc_median(r, in->nb);
	*bb = tg_bench_calc_best(in->cyc, in->nb) / tg_bench_calc_best(base->cyc, base->nb);
	*oc = tg_bench_calc_median(c, in->nb);
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [options]\n"
		"  --mib N         result stream size in MiB (default 32)\n"
		"  --block N       bytes per TCP segment (default 1460)\n"
		"  --rounds N      timed rounds of each figure: median, best (default 5, max %u)\n"
		"  --ring-kib N    reassembly ring per direction, KiB, power of two (default 64)\n"
		"  --sensitive N   percent of fields holding a sensitive value (default 10)\n"
		"  --seed N        xorshift64 seed (default 0x9e3779b97f4a7c15)\n"
		"  --kinds LIST    detector kinds, comma-separated, or all\n"
		"                  (default card,iban,email,ssn,phone)\n"
		"  --mix rows|query  rows (default): one query's DataRow-heavy result;\n"
		"                  query: a pgbench-like mix of short statements (see the source)\n"
		"  --statements N  --mix query: statements in the session (default 100000)\n"
		"  --dump FILE     write the server's stream to FILE and stop\n",
		ROUNDS_MAX);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	const struct tg_bench_opt t[] = {
		{ "mib", TG_BENCH_OPT_UINT, &o->mib, 1, 2048 },
		{ "block", TG_BENCH_OPT_UINT, &o->block, 64, 65535 },
		{ "rounds", TG_BENCH_OPT_UINT, &o->rounds, 1, ROUNDS_MAX },
		{ "ring-kib", TG_BENCH_OPT_UINT, &o->ring_kib, 4, 1024 },
		{ "sensitive", TG_BENCH_OPT_UINT, &o->sensitive, 0, 100 },
		{ "seed", TG_BENCH_OPT_U64, &o->seed, 1, UINT64_MAX },
		{ "dump", TG_BENCH_OPT_STR, &o->dump, 0, 0 },
		{ "kinds", TG_BENCH_OPT_STR, &o->kinds, 0, 0 },
		{ "mix", TG_BENCH_OPT_STR, &o->mix, 0, 0 },
		{ "statements", TG_BENCH_OPT_UINT, &o->statements, 100, 10000000 },
	};

	*o = (struct opts){ .mib = 32, .block = 1460, .rounds = 5, .ring_kib = 64,
			    .sensitive = 10, .seed = TG_BENCH_SEED, .statements = 100000 };
	if (tg_bench_parse_opts(PROG, argc, argv, t, sizeof(t) / sizeof(t[0]), usage) < 0)
		return -EINVAL;
	if (o->mix != NULL && strcmp(o->mix, "rows") != 0 && strcmp(o->mix, "query") != 0) {
		fprintf(stderr, PROG ": --mix: rows or query\n");
		return -EINVAL;
	}
	/* the ring is a power of two that holds two segments at least */
	if ((o->ring_kib & (o->ring_kib - 1)) != 0 || o->block > o->ring_kib * 512) {
		fprintf(stderr, PROG ": option out of range (--help)\n");
		return -EINVAL;
	}
	return 0;
}

static void
print_setup_query(const struct bench *b)
{
	size_t fe = b->fe_len - b->fe_pre_len, be = b->len - b->pre_len;
	unsigned int k;

	printf("mix: %zu statements after an untimed startup and Parse of pgbench's statement:",
	       b->statements);
	for (k = 0; k < Q_KINDS; k++)
		printf(" %s %zu", qkind_names[k], b->qcount[k]);
	printf("\n  client %zu bytes (%zu of statement text scanned, %zu of parameters), "
	       "server %zu bytes: %zu DataRows, %zu fields scanned (%zu bytes)\n", fe,
	       b->text_bytes, b->param_bytes, be, b->rows, b->nf, b->field_bytes);
	printf("  sensitive values: %zu in result fields (%zu of enabled kinds, masked on the "
	       "wire), %zu in statement texts and parameters (masked in the events only)\n",
	       b->sensitive, b->expected, b->fe_expected);
	printf("  %zu client and %zu server segments (at most %u bytes), ring %u KiB, one "
	       "session; %.1f bytes a statement\n", b->nfsegs - 2, b->nsegs - 2, b->o.block,
	       b->o.ring_kib, (double)b->res_bytes / (double)b->statements);
	printf("RESULT name=mix statements=%zu bytes=%zu fe_bytes=%zu be_bytes=%zu rows=%zu "
	       "scanned_fields=%zu field_bytes=%zu texts=%zu text_bytes=%zu param_bytes=%zu "
	       "sensitive=%zu expected=%zu fe_expected=%zu fe_segments=%zu be_segments=%zu "
	       "block=%u ring=%u", b->statements, b->res_bytes, fe, be, b->rows, b->nf,
	       b->field_bytes, b->nt, b->text_bytes, b->param_bytes, b->sensitive, b->expected,
	       b->fe_expected, b->nfsegs - 2, b->nsegs - 2, b->o.block, b->o.ring_kib << 10);
	for (k = 0; k < Q_KINDS; k++)
		printf(" %s=%zu", qkind_names[k], b->qcount[k]);
	printf("\n");
	printf("ground truth: every field, text and parameter scanned once before timing: "
	       "%" PRIu64 " planted values missed, %" PRIu64 " flagged with none, %" PRIu64
	       " with more than planted\n", b->ck.truth_missed, b->ck.truth_flagged,
	       b->ck.truth_extra);
	fflush(stdout);
}

static void
print_setup(const struct bench *b, double ghz)
{
	static const unsigned int order[] = {
		TG_DETECT_CARD, TG_DETECT_IBAN, TG_DETECT_EMAIL, TG_DETECT_PHONE, TG_DETECT_SSN,
	};
	unsigned int i;

	tg_bench_print_tsc(b->hz, ghz);
	printf("policy: %u command rules; detectors %s, database %zu bytes\n", b->pol->nb_cmds,
	       b->kind_list, tg_detect_db_bytes(b->pol->det_db));
	printf("RESULT name=database detectors=%u kinds=%s bytes=%zu\n", b->pol->nb_dets,
	       b->kind_list, tg_detect_db_bytes(b->pol->det_db));
	if (b->query) {
		print_setup_query(b);
		return;
	}
	printf("stream: %zu result bytes after %zu of startup: %zu DataRows of %u columns, "
	       "%zu fields (%zu NULL), %zu bytes of field text (%.1f%%)\n", b->res_bytes,
	       b->pre_len, b->rows, NCOLS, b->nf + b->nulls, b->nulls, b->field_bytes,
	       100.0 * (double)b->field_bytes / (double)b->res_bytes);
	printf("  %zu fields sensitive (%.1f%%), one value each:", b->sensitive,
	       100.0 * (double)b->sensitive / (double)(b->nf + b->nulls));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		printf(" %s %zu", tg_detect_kind_names[order[i]], b->planted[order[i]]);
	printf("; %zu of enabled kinds\n", b->expected);
	printf("  %zu segments of %u bytes, ring %u KiB, one session\n", b->nsegs - 1, b->o.block,
	       b->o.ring_kib);
	printf("RESULT name=stream bytes=%zu rows=%zu fields=%zu scanned_fields=%zu "
	       "field_bytes=%zu sensitive=%zu expected=%zu segments=%zu block=%u ring=%u\n",
	       b->res_bytes, b->rows, b->nf + b->nulls, b->nf, b->field_bytes, b->sensitive,
	       b->expected, b->nsegs - 1, b->o.block, b->o.ring_kib << 10);
	printf("ground truth: every field scanned once before timing: %" PRIu64
	       " planted values missed, %" PRIu64 " fields flagged with none, %" PRIu64
	       " with more than one\n", b->ck.truth_missed, b->ck.truth_flagged,
	       b->ck.truth_extra);
	fflush(stdout);
}

static void
print_results(const struct bench *b, const struct figure *fm, const struct figure *ff,
	      const struct figure *fr, const struct figure *fd, const struct figure *fi,
	      const struct figure *frs)
{
	const struct checks *ck = &b->ck;
	double bytes = (double)b->res_bytes, rf, rfb, rfc, rr, rrb, rrc, rd, rdb, rdc;
	double ci = tg_bench_calc_median(fi->cyc, fi->nb) / bytes,
	       cf = tg_bench_calc_median(ff->cyc, ff->nb) / bytes;
	double cd = tg_bench_calc_median(fd->cyc, fd->nb) / bytes;
	char extra[160];

	printf("\nper byte of the %s (TSC cycles by rdtsc; median of %u rounds, and best):\n",
	       b->query ? "session, both directions" : "result stream", fi->nb);
	report(b, fm, "");
	report(b, ff, "");
	snprintf(extra, sizeof(extra), " fields=%zu field_bytes=%zu reports=%" PRIu64, b->nf,
		 b->field_bytes, fr->count);
	report(b, fr, extra);
	snprintf(extra, sizeof(extra), " fields=%zu field_bytes=%zu matches=%" PRIu64, b->nf,
		 b->field_bytes, fd->count);
	report(b, fd, extra);
	snprintf(extra, sizeof(extra), " masked=%" PRIu64 " expected=%zu", fi->count,
		 b->expected);
	report(b, fi, extra);
	printf("  (restore of the pristine stream before each run, excluded: %.3f cycles/byte)\n",
	       tg_bench_calc_median(frs->cyc, frs->nb) / (double)b->len);
	if (b->query) {
		double st = (double)b->statements;
		double cim = tg_bench_calc_median(fi->cyc, fi->nb);
		double cib = tg_bench_calc_best(fi->cyc, fi->nb);
		double cio = tg_bench_calc_median(fi->cpu_ns, fi->nb) * b->hz / 1e9;
		double cfm = tg_bench_calc_median(ff->cyc, ff->nb);

		printf("  per statement: forward %.0f, hs_raw %.0f, detect %.0f, inspect %.0f "
		       "cycles\n", cfm / st, tg_bench_calc_median(fr->cyc, fr->nb) / st,
		       tg_bench_calc_median(fd->cyc, fd->nb) / st, cim / st);
		printf("  statements per second per core: inspect %.0f (best %.0f, on-CPU %.0f), "
		       "forward %.0f\n", st * b->hz / cim, st * b->hz / cib, st * b->hz / cio,
		       st * b->hz / cfm);
		printf("RESULT name=statements statements=%zu per_s=%.0f per_s_best=%.0f "
		       "per_s_oncpu=%.0f cycles_per_statement=%.1f forward_per_s=%.0f "
		       "forward_cycles_per_statement=%.1f hs_raw_cycles_per_statement=%.1f "
		       "detect_cycles_per_statement=%.1f\n", b->statements, st * b->hz / cim,
		       st * b->hz / cib, st * b->hz / cio, cim / st, st * b->hz / cfm, cfm / st,
		       tg_bench_calc_median(fr->cyc, fr->nb) / st,
		       tg_bench_calc_median(fd->cyc, fd->nb) / st);
	} else {
		printf("  hs_raw %.0f, detect %.0f, inspect %.0f cycles per field scanned\n",
		       tg_bench_calc_median(fr->cyc, fr->nb) / (double)b->nf,
		       tg_bench_calc_median(fd->cyc, fd->nb) / (double)b->nf,
		       tg_bench_calc_median(fi->cyc, fi->nb) / (double)b->nf);
	}

	ratio(fi, ff, &rf, &rfb, &rfc);
	ratio(fi, fr, &rr, &rrb, &rrc);
	ratio(fi, fd, &rd, &rdb, &rdc);
	printf("\ninspect+mask against (cycles: median of the rounds' ratios; best over best; "
	       "on-CPU):\n");
	printf("  forward  %6.2fx (best %.2fx, on-CPU %.2fx): %.3f of forwarding's throughput\n",
	       rf, rfb, rfc, 1 / rf);
	printf("  hs_raw   %6.2fx (best %.2fx, on-CPU %.2fx): %.3f of raw hs_scan's throughput\n",
	       rr, rrb, rrc, 1 / rr);
	printf("  detect   %6.2fx (best %.2fx, on-CPU %.2fx): %.3f of the confirmed scan's "
	       "throughput\n", rd, rdb, rdc, 1 / rd);
	printf("  inspection adds %.3f cycles/byte to forwarding's %.3f; the confirmed scan of "
	       "the same fields\n  alone costs %.3f, leaving %.3f for parsing, masking and the "
	       "rest\n", ci - cf, cf, cd, ci - cf - cd);
	printf("RESULT name=inspect_ratio vs_forward=%.3f vs_forward_best=%.3f "
	       "vs_forward_oncpu=%.3f vs_hs_raw=%.3f vs_hs_raw_best=%.3f vs_hs_raw_oncpu=%.3f "
	       "vs_detect=%.3f vs_detect_best=%.3f vs_detect_oncpu=%.3f "
	       "added_cycles_per_byte=%.3f\n", rf, rfb, rfc, rr, rrb, rrc, rd, rdb, rdc, ci - cf);

	printf("\nchecks (every run): values masked %" PRIu64 " of %" PRIu64 " planted (%s); "
	       "rows %" PRIu64 " of %zu; fields scanned %" PRIu64 " of %zu; events %" PRIu64 "\n",
	       ck->masked, ck->expected, ck->masked == ck->expected ? "exact" : "NOT exact",
	       ck->rows, b->rows, ck->fields, b->nf, ck->events);
	printf("  confirmed scan %" PRIu64 " matches; bytes changed outside planted values %" PRIu64
	       ", planted fields unchanged %" PRIu64 ", values found again after masking %" PRIu64
	       "\n", ck->detect_matches, ck->changed_outside, ck->sensitive_unchanged,
	       ck->found_again);
	printf("  checksums wrong %" PRIu64 " of %" PRIu64 " segments; forwarding changed %" PRIu64
	       " segments or bytes\n", ck->csum_bad, ck->seg_total, ck->forward_diff);
	printf("  %s\n", ck->failed ? "FAILED" : "all passed");
	printf("RESULT name=check masked=%" PRIu64 " expected=%" PRIu64 " exact=%s rows=%" PRIu64
	       " fields=%" PRIu64 " events=%" PRIu64 " changed_outside=%" PRIu64
	       " unchanged=%" PRIu64 " found_again=%" PRIu64 " csum_bad=%" PRIu64
	       " forward_diff=%" PRIu64 " passed=%s\n", ck->masked, ck->expected,
	       ck->masked == ck->expected ? "yes" : "no", ck->rows, ck->fields, ck->events,
	       ck->changed_outside, ck->sensitive_unchanged, ck->found_again, ck->csum_bad,
	       ck->forward_diff, ck->failed ? "no" : "yes");
}

/*
 * One round: every figure once, each from the pristine bytes, then the
 * checks; rescan also scans the masked fields again (the warm-up round).
 */
static int
round_all(struct bench *b, struct figure *fm, struct figure *ff, struct figure *fr,
	  struct figure *fd, struct figure *fi, struct figure *frs, bool rescan)
{
	uint64_t t0, c0;
	int rc;

	c0 = tg_bench_read_cpu_ns();
	t0 = tg_bench_read_tsc();
	restore(b);
	record(frs, tg_bench_read_tsc() - t0, tg_bench_read_cpu_ns() - c0, b->hz);
	run_memcpy(b, fm);
	restore(b);
	if ((rc = run_forward(b, ff)) < 0) {
		fprintf(stderr, PROG ": forwarding: a segment refused, lost or left held\n");
		return rc;
	}
	check_forward(b);
	restore(b);
	if ((rc = run_scan(b, true, fr)) < 0)
		return rc;
	restore(b);
	if ((rc = run_scan(b, false, fd)) < 0)
		return rc;
	b->ck.detect_matches = fd->count;
	if (fd->count != b->expected + b->fe_expected)
		b->ck.failed++;
	restore(b);
	b->rescan = rescan;
	if ((rc = run_inspect(b, fi)) < 0) {
		fprintf(stderr, PROG ": inspection: session failed, or a segment refused, lost "
			"or left held\n");
		return rc;
	}
	check_inspect(b, fi, rescan);
	return 0;
}

int
main(int argc, char **argv)
{
	struct figure fm = { .name = "memcpy" }, ff = { .name = "forward" },
		      fr = { .name = "hs_raw" }, fd = { .name = "detect" },
		      fi = { .name = "inspect" }, frs = { .name = "restore" };
	struct bench *b;
	unsigned int r;
	int rc = 1;

	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return 1;
	if (parse_opts(argc, argv, &b->o) < 0 || select_kinds(b) < 0) {
		free(b);
		return 2;
	}
	b->query = b->o.mix != NULL && strcmp(b->o.mix, "query") == 0;
	if (make_session(b) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		goto err_session;
	}
	if (b->o.dump != NULL) {
		FILE *f = fopen(b->o.dump, "wb");

		if (f == NULL || fwrite(b->pristine, 1, b->len, f) != b->len || fclose(f) != 0) {
			fprintf(stderr, PROG ": %s: %s\n", b->o.dump, strerror(errno));
			goto err_session;
		}
		rc = 0;
		goto err_session;
	}
	if (make_policy(b) < 0)
		goto err_policy;
	if ((b->ds = tg_detect_scratch_alloc(b->pol->det_db)) == NULL) {
		fprintf(stderr, PROG ": detect scratch: %s\n", strerror(errno));
		goto err_scratch;
	}
	/* the command database's own scratch (hs_raw) and a policy scratch (detect) */
	if ((b->ps = tg_policy_scratch_alloc(b->pol)) == NULL ||
	    (b->pol->cmd_db != NULL &&
	     hs_alloc_scratch(b->pol->cmd_db, (hs_scratch_t **)&b->cmd_hs) != HS_SUCCESS)) {
		fprintf(stderr, PROG ": policy scratch: out of memory\n");
		goto err_smem;
	}
	if (tg_stream_mem_init(&b->m, 4, b->o.ring_kib << 10, 1024) < 0) {
		fprintf(stderr, PROG ": stream memory: out of memory\n");
		goto err_smem;
	}
	if (tg_inspect_init(&b->in, &b->m, b->pol, 1, on_event, &b->ev) < 0) {
		fprintf(stderr, PROG ": inspector: out of memory\n");
		goto err_inspect;
	}
	if ((b->ringbuf = malloc(b->m.ring_size)) == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		goto err_ringbuf;
	}
	if (check_truth(b) < 0) {
		fprintf(stderr, PROG ": scan failed\n");
		goto err_run;
	}

	b->hz = tg_bench_calibrate_tsc();
	print_setup(b, tg_bench_measure_core_ghz());

	/* warm-up: page everything in, train the branch predictors; figures dropped */
	if (round_all(b, &fm, &ff, &fr, &fd, &fi, &frs, true) < 0)
		goto err_run;
	fm.nb = ff.nb = fr.nb = fd.nb = fi.nb = frs.nb = 0;
	fm.preempted = ff.preempted = fr.preempted = fd.preempted = fi.preempted = 0;
	for (r = 0; r < b->o.rounds; r++)
		if (round_all(b, &fm, &ff, &fr, &fd, &fi, &frs, false) < 0)
			goto err_run;
	print_results(b, &fm, &ff, &fr, &fd, &fi, &frs);
	rc = b->ck.failed ? 1 : 0;
	goto out;

err_run:
	fprintf(stderr, PROG ": run failed\n");
out:
	free(b->ringbuf);
err_ringbuf:
	tg_inspect_fini(&b->in);
err_inspect:
	tg_stream_mem_free(&b->m);
err_smem:
	if (b->cmd_hs != NULL)
		hs_free_scratch(b->cmd_hs);
	tg_policy_scratch_free(b->ps);
	tg_detect_scratch_free(b->ds);
err_scratch:
	tg_policy_free(b->pol);
err_policy:
err_session:
	free(b->segs);
	free(b->fsegs);
	free(b->steps);
	free(b->t);
	free(b->fe_work);
	free(b->fe_pristine);
	free(b->f);
	free(b->work);
	free(b->pristine);
	free(b);
	return rc;
}
