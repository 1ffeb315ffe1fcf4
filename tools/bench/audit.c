/* SPDX-License-Identifier: MIT */
/*
 * audit.c — tg-bench-audit: what the audit store (slowpath/audit.c:
 * canonical encoding, hash chain, RFC 9162 tree, Ed25519 checkpoints,
 * synchronous LMDB commits) costs per record, against raw LMDB
 * MDB_APPEND of the same bytes with the same synchronous commits, in one
 * run (issue 5, "Benchmarks").
 *
 * Records: --records (default 50000) db.query events with the fields
 * slowpath/main.c's event_record() gives a statement: event.type,
 * .sequence, .start, .end, .duration; outcome and, for a failure,
 * reason_code; db.user, .name, .statement (60-200 bytes of SQL), .kind,
 * .result, .rows, .sqlstate on an error, .masked and .masked_columns when
 * values were masked; client.app; policy.decision and policy.rule_id
 * when a rule matched; gw.host, .instance, .worker; protocol;
 * session.id; src.ip, src.port; dst.service, dst.service_id. Built once
 * with a fixed xorshift64, in sessions of 5-100 statements over four
 * client profiles: about 93% succeed, the rest fail (an error with its
 * SQLSTATE, or a statement the policy blocked), 6% have masked values.
 * The jansson objects are built before timing: what is timed is the
 * store, not event_record().
 *
 * The same bytes. An untimed priming run appends every event through the
 * store (commit every 4096) with a fixed clock for "ts" and the signing
 * key every run shares, so every later audit run writes exactly the
 * priming log's bytes again (checked after each run, record by record).
 * The records the store wrote for the events, canonical JSON from
 * tg_canon_encode() with the store's members (schema_v, origin, seq,
 * prev_chain, ts), are the raw runs' values: both paths write the same
 * record bytes, and the audit store writes its checkpoint records, tree
 * nodes, signed notes and meta besides. Every priming record is checked
 * to be canonical (parsed and re-encoded, it gives its own bytes) and the
 * priming log is verified with tg_audit_log_verify().
 *
 * Figures, for commits every 1 record (group size 1, strict mode at its
 * worst), every --batch records (default 256) and every 4096, each run
 * on a fresh directory made by mkdtemp(3) under --dir (default /var/tmp)
 * and removed after it, --rounds times (default 3) interleaved (audit,
 * raw, raw_nosync, then rotated) so that drift hits all alike; median and
 * best:
 * - audit: tg_audit_open(), then tg_audit_append() of each event and
 *   tg_audit_commit() after every batch and after the last record,
 *   checkpoints every --checkpoint records (default 1024, the store's);
 *   open and tg_audit_close() (a last checkpoint and commit) are timed
 *   apart, outside the figure;
 * - raw: an LMDB environment of the same map size, flags 0 as the
 *   store's (synchronous: data and meta page synced at every commit), one
 *   named database; the same record bytes put with MDB_APPEND under
 *   big-endian u64 keys 0, 1, ..., in a write transaction committed
 *   after every batch and after the last record;
 * - raw_nosync: raw with MDB_NOSYNC, for scale only: LMDB's own work
 *   without the two fsyncs of a commit;
 * - audit/raw: the ratio of the times (so of µs per record): the median
 *   of the rounds' ratios, best over best, and the median of the ratios
 *   of on-CPU time.
 * A run of a batch has at most --max-commits commits (default 256):
 * min(--records, batch x --max-commits) records, so group size 1 writes
 * 256 records by default and the larger batches every event. Each figure
 * shows where its time went: in tg_audit_append() (or mdb_txn_begin() and
 * mdb_put()) and in the commit, and the commit's on-CPU time; what the
 * commit spends off-CPU is waiting for the disk.
 *
 * fsync: a 4 KiB pwrite(2) and fdatasync(2) on a fresh file in a fresh
 * directory, 32 times a round: what one sync costs on this disk. An LMDB
 * commit syncs twice (the data pages, then the meta page), so two of
 * these are the floor of a commit, and with small batches the figures
 * are mostly this.
 *
 * Breakdown of an append, on-CPU work outside LMDB, in --rounds passes
 * over every event after an untimed one, timed by section with rdtsc:
 * building the record (a copy of the event with the store's five
 * members, freed after), the canonical encoding, the leaf hash, the
 * chain step (a fresh EVP context per hash, as audit.c's), the tree
 * (tg_merkle_append() over in-memory nodes) and, every --checkpoint
 * records, the signing (the root, the note's text, Ed25519). Each
 * section's cycles are scaled by its pass's on-CPU share (on-CPU time
 * over TSC time: a preempted pass is charged for what it ran, assuming
 * preemption hits the sections alike) and compared with the store's own
 * appends on-CPU (a run's on-CPU time less its commits'), the rest being
 * the store's checks, its checkpoint records and batch buffers (within
 * the noise: the passes and the runs are timed apart, and on a busy
 * machine the rest comes out a little below zero as often as above).
 * LMDB is the commit: its wall and on-CPU time, and raw_nosync's.
 *
 * Measure: rdtsc around each run and each call, the TSC rate calibrated
 * against CLOCK_MONOTONIC_RAW: wall time, since a synchronous commit
 * waits for the disk; and the thread's on-CPU time
 * (CLOCK_THREAD_CPUTIME_ID) of each run and each commit. µs per record
 * is wall time over records; appends/s its inverse.
 *
 * Caveats:
 * - The figures are those of the disk under --dir first: fsync latency
 *   differs by orders of magnitude between NVMe with power-loss
 *   protection, a virtual disk and tmpfs (where fsync is free and the
 *   figures are not durability). The storage line names the file system,
 *   the device, whether it rotates and its write cache.
 * - One writer, one thread, no concurrent readers, an empty store at the
 *   start of each run: LMDB's B-tree is small, and its cost for a store of
 *   millions of records is a little higher (one more level per ~100x).
 * - Group size 1 runs only --max-commits records: fewer than one
 *   checkpoint's worth, so signing is not in that figure (it is ~0.1
 *   µs/record, beside a fraction of a millisecond or more of syncing).
 * - The event objects are built before timing; the slowpath builds each
 *   from the control channel's event (event_record()) first, not counted.
 * - Killing the benchmark leaves its directories under --dir
 *   (tg-bench-audit.*).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "audit.h"
#include "canon.h"
#include "merkle.h"
#include "note.h"

#include "corpus.h"
#include "opts.h"
#include "timing.h"

#define PROG "tg-bench-audit"
#define ROUNDS_MAX 21
#define ORIGIN "bench.tollgate.example/audit"
#define BATCH_LARGE 4096	/* the large batch, and the priming run's */
#define NB_BATCH 3
#define FSYNC_WRITES 32		/* 4 KiB writes and syncs a round */
#define TREE_LEVELS 64
#define TIME_BASE 1741942800	/* 2025-03-14T09:00:00Z: events and "ts" start here */
#define CLOCK_STEP_US 40	/* the fixed clock's "ts" advances this much a record */
#define LMDB_MAP_MIN ((size_t)1 << 30)
#define AUDIT_DBS 4		/* audit.h: rec, node, cp, meta */

struct opts {
	unsigned int records;
	unsigned int batch;
	unsigned int max_commits;
	unsigned int rounds;
	unsigned int checkpoint;
	uint64_t seed;
	const char *dir;
};

/* One timed run. Cycles are TSC, cpu on-CPU nanoseconds. */
struct run {
	double wall, cpu;	/* the appends or puts and the commits */
	double put;		/* in tg_audit_append(), or mdb_txn_begin() and mdb_put() */
	double commit, commit_cpu;
	double open, close;	/* outside the figure */
	uint64_t commits;
	uint64_t size;		/* audit: records in the log before close */
};

struct figure {
	const char *name;
	double wall[ROUNDS_MAX], cpu[ROUNDS_MAX];
	double put[ROUNDS_MAX], commit[ROUNDS_MAX], commit_cpu[ROUNDS_MAX];
	double open[ROUNDS_MAX], close[ROUNDS_MAX];
	unsigned int nb;
	uint64_t commits;
	uint64_t file_bytes;	/* data.mdb after the last run */
};

/* The figures of one batch size. */
struct batch {
	unsigned int size;
	unsigned int records;
	struct figure audit, raw, nosync;
};

/* A record's bytes, in an arena. */
struct bytes {
	size_t off, len;
};

/* The breakdown's sections, TSC cycles over one pass, and the pass's clocks. */
struct parts {
	double copy, canon, leaf, chain, tree, sign;
	double wall, cpu;	/* TSC cycles, on-CPU ns */
	uint64_t signs;
};

struct storage {
	char fs[32], source[128], cache[32], rot[8];
};

/* What the checks found, summed over every run. */
struct checks {
	uint64_t audit_runs, audit_differ, raw_runs, raw_differ;
	uint64_t not_canonical;
	bool verified;
	uint64_t verify_records, verify_checkpoints;
	double verify_ns;
};

struct bench {
	struct opts o;
	double hz;
	size_t map_size;
	char keydir[PATH_MAX], keypath[PATH_MAX + 16];

	/* the events */
	json_t **ev;
	size_t stmt_bytes, stmt_min, stmt_max;
	uint64_t failures, masked;

	/* the priming log: every record, and which are the events' */
	char *arena;
	size_t arena_len;
	struct bytes *prec;
	uint64_t nb_prec;
	uint64_t *ev_seq;
	size_t ev_bytes, ev_min, ev_max;
	uint64_t checkpoints;

	struct batch bt[NB_BATCH];
	unsigned int nb_bt;
	double fsync[ROUNDS_MAX];
	unsigned int nb_fsync;
	struct parts parts[ROUNDS_MAX];
	unsigned int nb_parts;
	struct checks ck;
};

/* ------------------------------------------------------------------ */
/* Events                                                              */

/* Who talks to which service: one profile a session. */
static const struct profile {
	const char *user, *db, *app, *service;
	int service_id;
} profiles[] = {
	{ "orders_app", "shop", "orders-api", "pg-orders", 1 },
	{ "billing", "billing", "billing-worker", "pg-billing", 2 },
	{ "alice_ops", "shop", "psql", "pg-orders", 1 },
	{ "reporting", "warehouse", "metabase", "pg-warehouse", 3 },
};

static const char *const order_statuses[] = { "PAID", "SHIPPED", "PENDING", "REFUNDED" };

/* The event stream's state: the session under way and the clock. */
struct gen {
	uint64_t s;
	uint64_t t_ns;		/* CLOCK_REALTIME of the next statement */
	uint64_t seq;		/* event.sequence: the dataplane's event number */
	uint64_t session;	/* the worker's session counter */
	unsigned int left;	/* statements left in this session */
	unsigned int worker, port;
	const struct profile *p;
	char inst[17], sid[64], ip[16];
};

/* What one statement did: its text and how it ended. */
struct stmt {
	char text[256];
	const char *result, *outcome, *reason, *sqlstate, *decision, *rule;
	unsigned int rows, masked_card, masked_iban, masked_columns;
};

static void
new_session(struct gen *g)
{
	g->p = &profiles[tg_bench_rnd(&g->s, sizeof(profiles) / sizeof(profiles[0]))];
	g->worker = tg_bench_rnd(&g->s, 4);
	g->session++;
	g->left = 5 + tg_bench_rnd(&g->s, 96);
	g->port = 32768 + tg_bench_rnd(&g->s, 28232);
	snprintf(g->sid, sizeof(g->sid), "%s-%u-%" PRIu64, g->inst, g->worker, g->session);
	snprintf(g->ip, sizeof(g->ip), "10.%u.%u.%u", tg_bench_rnd(&g->s, 4),
		 tg_bench_rnd(&g->s, 256), 1 + tg_bench_rnd(&g->s, 254));
}

/* One statement of the mix: 60-200 bytes of SQL and its outcome. */
static void
make_stmt(uint64_t *s, struct stmt *st)
{
	unsigned int k = tg_bench_rnd(s, 100), id = 100000 + tg_bench_rnd(s, 900000);
	char *t = st->text;
	size_t n = sizeof(st->text);

	*st = (struct stmt){ .result = "ok", .outcome = "success", .decision = "allow" };
	if (k < 30) {
		snprintf(t, n, "SELECT id, status, total, created_at FROM orders WHERE "
			 "customer_id = %u AND created_at >= '2024-%02u-%02u' ORDER BY created_at "
			 "DESC LIMIT %u",
			 id, 1 + tg_bench_rnd(s, 12), 1 + tg_bench_rnd(s, 28),
			 10 * (1 + tg_bench_rnd(s, 10)));
		st->rows = tg_bench_rnd(s, 51);
	} else if (k < 42) {
		snprintf(t, n, "SELECT c.id, c.name, c.city, c.created_at FROM customers c WHERE "
			 "c.id = %u", id);
		st->rows = 1;
	} else if (k < 55) {
		snprintf(t, n, "UPDATE accounts SET balance = balance - %u.%02u, updated_at = "
			 "now() WHERE id = %u AND balance >= %u.%02u", tg_bench_rnd(s, 500),
			 tg_bench_rnd(s, 100), id, tg_bench_rnd(s, 500), tg_bench_rnd(s, 100));
		st->rows = 1;
		if (tg_bench_rnd(s, 20) == 0) {
			st->result = "error";
			st->sqlstate = "40001"; /* serialization_failure */
			st->rows = 0;
		}
	} else if (k < 70) {
		snprintf(t, n, "INSERT INTO order_items (order_id, sku, quantity, unit_price) "
			 "VALUES (%u, 'SKU-%05u', %u, %u.%02u) RETURNING id", id,
			 tg_bench_rnd(s, 100000), 1 + tg_bench_rnd(s, 9), tg_bench_rnd(s, 300),
			 tg_bench_rnd(s, 100));
		st->rows = 1;
		if (tg_bench_rnd(s, 25) == 0) {
			st->result = "error";
			st->sqlstate = "23505"; /* unique_violation */
			st->rows = 0;
		}
	} else if (k < 80) {
		snprintf(t, n, "SELECT o.id, o.total, c.name, c.city FROM orders o JOIN customers "
			 "c ON c.id = o.customer_id WHERE o.status = '%s' AND o.total > %u "
			 "ORDER BY o.total DESC LIMIT 50", order_statuses[tg_bench_rnd(s, 4)],
			 tg_bench_rnd(s, 1000));
		st->rows = 50;
	} else if (k < 86) {
		snprintf(t, n, "DELETE FROM web_sessions WHERE user_id = %u AND last_seen < now() "
			 "- interval '%u days'", id, 1 + tg_bench_rnd(s, 90));
		st->rows = tg_bench_rnd(s, 8);
	} else if (k < 92) {
		/* values masked in the result: card and IBAN detectors, the ssn column */
		snprintf(t, n, "SELECT id, holder, card_number, iban, ssn FROM payment_methods "
			 "WHERE customer_id = %u ORDER BY id", id);
		st->rows = 1 + tg_bench_rnd(s, 4);
		st->masked_card = st->rows;
		st->masked_iban = tg_bench_rnd(s, st->rows + 1);
		st->masked_columns = st->rows;
	} else if (k < 94) {
		snprintf(t, n, "ALTER TABLE customers ADD COLUMN loyalty_tier_%u text NOT NULL "
			 "DEFAULT 'bronze'", tg_bench_rnd(s, 100));
		st->decision = "log";
		st->rule = "log-ddl";
	} else if (k < 97) {
		snprintf(t, n, "TRUNCATE TABLE order_items, orders, payment_methods RESTART "
			 "IDENTITY CASCADE");
		st->decision = "block";
		st->rule = "no-truncate";
		st->result = "not_run";
	} else {
		snprintf(t, n, "SELECT * FROM order_archive_%u WHERE customer_id = %u AND status = "
			 "'REFUNDED'", 2015 + tg_bench_rnd(s, 9), id);
		st->result = "error";
		st->sqlstate = "42P01"; /* undefined_table */
	}
	/* as event_record(): an error fails, a blocked statement fails unrun */
	if (strcmp(st->result, "error") == 0) {
		st->outcome = "failure";
		st->reason = "error";
	} else if (strcmp(st->result, "not_run") == 0) {
		st->outcome = "failure";
		st->reason = "blocked";
	}
}

/* CLOCK_REALTIME nanoseconds as RFC 3339 UTC with microseconds, as main.c's jtime(). */
static json_t *
jtime(uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[48];

	if (gmtime_r(&sec, &tm) == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ns % 1000000000u / 1000u));
	return json_string(buf);
}

/* The next db.query event, shaped as event_record() shapes one. */
static json_t *
make_event(struct gen *g, struct bench *b)
{
	uint64_t start, dur;
	struct stmt st;
	json_t *ev, *db, *masked = NULL, *policy;
	size_t len;

	if (g->left == 0)
		new_session(g);
	g->left--;
	make_stmt(&g->s, &st);
	len = strlen(st.text);
	b->stmt_bytes += len;
	b->stmt_min = len < b->stmt_min ? len : b->stmt_min;
	b->stmt_max = len > b->stmt_max ? len : b->stmt_max;
	b->failures += strcmp(st.outcome, "failure") == 0;
	b->masked += st.masked_card != 0;

	start = g->t_ns;
	dur = 50000 + (uint64_t)tg_bench_rnd(&g->s, 20000) * 1000; /* 50 us - 20 ms */
	g->t_ns += dur + (uint64_t)tg_bench_rnd(&g->s, 2000) * 1000;

	db = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "user", g->p->user, "name", g->p->db,
		       "statement", st.text, "kind", "query", "result", st.result, "rows",
		       (json_int_t)st.rows);
	if (db != NULL && st.sqlstate != NULL &&
	    json_object_set_new(db, "sqlstate", json_string(st.sqlstate)) < 0)
		goto err_db;
	if (db != NULL && st.masked_card != 0) {
		masked = st.masked_iban != 0
				 ? json_pack("{s:I, s:I}", "card", (json_int_t)st.masked_card,
					     "iban", (json_int_t)st.masked_iban)
				 : json_pack("{s:I}", "card", (json_int_t)st.masked_card);
		if (json_object_set_new(db, "masked", masked) < 0 ||
		    json_object_set_new(db, "masked_columns",
					json_integer(st.masked_columns)) < 0)
			goto err_db;
	}
	policy = st.rule != NULL ? json_pack("{s:s, s:s}", "decision", st.decision, "rule_id",
					     st.rule)
				 : json_pack("{s:s}", "decision", st.decision);
	ev = json_pack("{s:{s:s, s:I, s:o, s:o, s:I}, s:s, s:o, s:{s:s}, s:o, s:{s:s, s:s, s:I},"
		       " s:s, s:{s:s}, s:{s:s, s:I}, s:{s:s, s:I}}",
		       "event", "type", "db.query", "sequence", (json_int_t)g->seq++, "start",
		       jtime(start), "end", jtime(start + dur), "duration", (json_int_t)dur,
		       "outcome", st.outcome, "db", db, "client", "app", g->p->app, "policy",
		       policy, "gw", "host", "tg-gw-01", "instance", g->inst, "worker",
		       (json_int_t)g->worker, "protocol", "postgres", "session", "id", g->sid,
		       "src", "ip", g->ip, "port", (json_int_t)g->port, "dst", "service",
		       g->p->service, "service_id", (json_int_t)g->p->service_id);
	if (ev != NULL && st.reason != NULL &&
	    json_object_set_new(ev, "reason_code", json_string(st.reason)) < 0) {
		json_decref(ev);
		return NULL;
	}
	return ev;

err_db:
	json_decref(db);
	return NULL;
}

static int
make_events(struct bench *b)
{
	struct gen g = { .s = b->o.seed, .t_ns = (uint64_t)TIME_BASE * 1000000000u };

	snprintf(g.inst, sizeof(g.inst), "%016" PRIx64, tg_bench_xorshift(&g.s));
	b->stmt_min = SIZE_MAX;
	b->ev = calloc(b->o.records, sizeof(*b->ev));
	if (b->ev == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < b->o.records; i++)
		if ((b->ev[i] = make_event(&g, b)) == NULL)
			return -ENOMEM;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Directories and the disk                                            */

/* The store's "ts": TIME_BASE and CLOCK_STEP_US a call, from 0 at every open. */
static uint64_t clock_calls;

static void
fixed_clock(struct timespec *now)
{
	uint64_t us = clock_calls++ * CLOCK_STEP_US;

	now->tv_sec = (time_t)(TIME_BASE + us / 1000000u);
	now->tv_nsec = (long)(us % 1000000u * 1000u);
}

/* A fresh directory under --dir, into path. */
static int
make_dir(const struct bench *b, char *path, size_t len)
{
	if (snprintf(path, len, "%s/tg-bench-audit.XXXXXX", b->o.dir) >= (int)len)
		return -ENAMETOOLONG;
	if (mkdtemp(path) == NULL) {
		fprintf(stderr, PROG ": mkdtemp %s: %s\n", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Removes a directory of plain files (what LMDB and the store leave). */
static void
remove_dir(const char *path)
{
	struct dirent *d;
	DIR *dir = opendir(path);

	if (dir == NULL)
		return;
	while ((d = readdir(dir)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0 &&
		    unlinkat(dirfd(dir), d->d_name, 0) < 0)
			fprintf(stderr, PROG ": remove %s/%s: %s\n", path, d->d_name,
				strerror(errno));
	closedir(dir);
	if (rmdir(path) < 0)
		fprintf(stderr, PROG ": remove %s: %s\n", path, strerror(errno));
}

static uint64_t
data_bytes(const char *dir)
{
	char path[PATH_MAX + 16];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* The first line of a sysfs file, "n/a" if none; spaces become '_'. */
static void
read_sys(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	snprintf(out, len, "n/a");
	if (f == NULL)
		return;
	if (fgets(out, (int)len, f) == NULL)
		snprintf(out, len, "n/a");
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	for (char *p = out; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
}

/*
 * The file system under dir (the longest mount point of its device in
 * /proc/self/mountinfo that is a prefix of it), and the block device's
 * queue: rotational, write cache.
 */
static void
storage_info(const char *dir, struct storage *st)
{
	char real[PATH_MAX], line[1024], mnt[512], sys[128];
	unsigned int maj, min, dmaj = 0, dmin = 0;
	size_t best = 0, l;
	struct stat sb;
	FILE *f;

	snprintf(st->fs, sizeof(st->fs), "unknown");
	snprintf(st->source, sizeof(st->source), "unknown");
	snprintf(st->cache, sizeof(st->cache), "n/a");
	snprintf(st->rot, sizeof(st->rot), "n/a");
	if (realpath(dir, real) == NULL || stat(real, &sb) < 0 ||
	    (f = fopen("/proc/self/mountinfo", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *sep = strstr(line, " - ");
		char fs[32], source[128];

		if (sscanf(line, "%*u %*u %u:%u %*s %511s", &maj, &min, mnt) != 3 ||
		    makedev(maj, min) != sb.st_dev || sep == NULL ||
		    sscanf(sep + 3, "%31s %127s", fs, source) != 2)
			continue;
		l = strlen(mnt);
		if (strncmp(real, mnt, l) != 0 || (l > 1 && real[l] != '/' && real[l] != '\0') ||
		    l < best)
			continue;
		best = l;
		dmaj = maj;
		dmin = min;
		snprintf(st->fs, sizeof(st->fs), "%s", fs);
		snprintf(st->source, sizeof(st->source), "%s", source);
	}
	fclose(f);
	if (best == 0)
		return;
	/* a partition's queue is its disk's */
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/queue/rotational", dmaj, dmin);
	if (access(sys, R_OK) != 0)
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/../queue/rotational", dmaj, dmin);
	read_sys(sys, st->rot, sizeof(st->rot));
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/queue/write_cache", dmaj, dmin);
	if (access(sys, R_OK) != 0)
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/../queue/write_cache", dmaj, dmin);
	read_sys(sys, st->cache, sizeof(st->cache));
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */

static void
record(struct figure *f, const struct run *r, uint64_t file)
{
	unsigned int i = f->nb++;

	f->wall[i] = r->wall;
	f->cpu[i] = r->cpu;
	f->put[i] = r->put;
	f->commit[i] = r->commit;
	f->commit_cpu[i] = r->commit_cpu;
	f->open[i] = r->open;
	f->close[i] = r->close;
	f->commits = r->commits;
	f->file_bytes = file;
}

/*
 * One audit run of the first n events in the fresh directory dir,
 * committing every batch records; seq (may be NULL) gets each event's
 * record number. Leaves the closed store in dir.
 */
static int
audit_once(struct bench *b, const char *dir, unsigned int batch, unsigned int n, uint64_t *seq,
	   struct run *r)
{
	struct tg_audit_config cfg = {
		.origin = ORIGIN,
		.dir = dir,
		.key_path = b->keypath,
		.checkpoint_records = b->o.checkpoint,
		.map_size = b->map_size,
		.clock = fixed_clock,
	};
	uint64_t t0, t1, t2, c0, c1;
	struct tg_audit *a;
	char err[256];
	int rc;

	*r = (struct run){ 0 };
	clock_calls = 0;
	t0 = tg_bench_read_tsc();
	if ((a = tg_audit_open(&cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": audit open: %s\n", err);
		return -EIO;
	}
	t1 = tg_bench_read_tsc();
	r->open = (double)(t1 - t0);

	c0 = tg_bench_read_cpu_ns();
	t0 = tg_bench_read_tsc();
	for (unsigned int i = 0; i < n; i++) {
		t1 = tg_bench_read_tsc();
		rc = tg_audit_append(a, b->ev[i], seq != NULL ? &seq[i] : NULL);
		t2 = tg_bench_read_tsc();
		r->put += (double)(t2 - t1);
		if (rc < 0)
			goto err;
		if ((i + 1) % batch != 0 && i + 1 != n)
			continue;
		c1 = tg_bench_read_cpu_ns();
		rc = tg_audit_commit(a, NULL);
		r->commit_cpu += (double)(tg_bench_read_cpu_ns() - c1);
		r->commit += (double)(tg_bench_read_tsc() - t2);
		r->commits++;
		if (rc < 0)
			goto err;
	}
	r->wall = (double)(tg_bench_read_tsc() - t0);
	r->cpu = (double)(tg_bench_read_cpu_ns() - c0);
	r->size = tg_audit_size(a);

	t0 = tg_bench_read_tsc();
	rc = tg_audit_close(a);
	r->close = (double)(tg_bench_read_tsc() - t0);
	if (rc < 0) {
		fprintf(stderr, PROG ": audit close: %s\n", strerror(-rc));
		return rc;
	}
	return 0;

err:
	fprintf(stderr, PROG ": audit: %s\n", tg_audit_error(a));
	tg_audit_close(a);
	return rc;
}

static int
mdb_fail(const char *what, int rc)
{
	fprintf(stderr, PROG ": LMDB %s: %s\n", what, mdb_strerror(rc));
	return -EIO;
}

/*
 * One raw run: the first n events' record bytes put with MDB_APPEND
 * under keys 0..n-1 in dir, committed every batch records; flags 0
 * (synchronous, as the store) or MDB_NOSYNC.
 */
static int
raw_once(struct bench *b, const char *dir, unsigned int batch, unsigned int n,
	 unsigned int flags, struct run *r)
{
	uint64_t t0, t1, t2, c0, c1;
	MDB_env *env;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	uint8_t key[8];
	int rc;

	*r = (struct run){ 0 };
	t0 = tg_bench_read_tsc();
	if ((rc = mdb_env_create(&env)) != 0)
		return mdb_fail("create", rc);
	if ((rc = mdb_env_set_maxdbs(env, 1)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, b->map_size)) != 0 ||
	    (rc = mdb_env_open(env, dir, flags, 0600)) != 0) {
		mdb_env_close(env);
		return mdb_fail("open", rc);
	}
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "rec", MDB_CREATE, &dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		if (txn != NULL)
			mdb_txn_abort(txn);
		mdb_env_close(env);
		return mdb_fail("open rec", rc);
	}
	txn = NULL;
	r->open = (double)(tg_bench_read_tsc() - t0);

	c0 = tg_bench_read_cpu_ns();
	t0 = tg_bench_read_tsc();
	for (unsigned int i = 0; i < n; i++) {
		const struct bytes *rec = &b->prec[b->ev_seq[i]];
		MDB_val k = { sizeof(key), key }, d = { rec->len, b->arena + rec->off };

		t1 = tg_bench_read_tsc();
		for (int j = 7; j >= 0; j--)
			key[7 - j] = (uint8_t)((uint64_t)i >> (8 * j));
		if (txn == NULL && (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
			goto err;
		if ((rc = mdb_put(txn, dbi, &k, &d, MDB_APPEND)) != 0)
			goto err;
		t2 = tg_bench_read_tsc();
		r->put += (double)(t2 - t1);
		if ((i + 1) % batch != 0 && i + 1 != n)
			continue;
		c1 = tg_bench_read_cpu_ns();
		rc = mdb_txn_commit(txn);
		txn = NULL;
		r->commit_cpu += (double)(tg_bench_read_cpu_ns() - c1);
		r->commit += (double)(tg_bench_read_tsc() - t2);
		r->commits++;
		if (rc != 0)
			goto err;
	}
	r->wall = (double)(tg_bench_read_tsc() - t0);
	r->cpu = (double)(tg_bench_read_cpu_ns() - c0);
	r->size = n;

	t0 = tg_bench_read_tsc();
	mdb_env_close(env);
	r->close = (double)(tg_bench_read_tsc() - t0);
	return 0;

err:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return mdb_fail("write", rc);
}

/* Calls fn for each record of the database "rec" in dir, in key order; *count gets how many. */
static int
walk_rec(const char *dir, unsigned int maxdbs,
	 int (*fn)(void *arg, uint64_t i, const MDB_val *k, const MDB_val *v), void *arg,
	 uint64_t *count)
{
	MDB_env *env;
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc, frc = 0;

	*count = 0;
	if ((rc = mdb_env_create(&env)) != 0)
		return mdb_fail("create", rc);
	if ((rc = mdb_env_set_maxdbs(env, maxdbs)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_RDONLY, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "rec", 0, &dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		goto out;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && frc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		frc = fn(arg, (*count)++, &k, &v);
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	if (c != NULL)
		mdb_cursor_close(c);
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc != 0)
		return mdb_fail("read back", rc);
	return frc;
}

static bool
key_is(const MDB_val *k, uint64_t i)
{
	const uint8_t *p = k->mv_data;
	uint64_t v = 0;

	if (k->mv_size != 8)
		return false;
	for (int j = 0; j < 8; j++)
		v = v << 8 | p[j];
	return v == i;
}

/* Keeps a priming record, and checks it is canonical. */
static int
keep_prime(void *arg, uint64_t i, const MDB_val *k, const MDB_val *v)
{
	struct bench *b = arg;
	json_error_t jerr;
	char *enc = NULL;
	size_t len = 0;
	json_t *j;
	char *p;

	if (!key_is(k, i) || i >= b->nb_prec)
		return -EBADMSG;
	if ((p = realloc(b->arena, b->arena_len + v->mv_size)) == NULL)
		return -ENOMEM;
	b->arena = p;
	memcpy(b->arena + b->arena_len, v->mv_data, v->mv_size);
	b->prec[i] = (struct bytes){ b->arena_len, v->mv_size };
	b->arena_len += v->mv_size;

	j = json_loadb(v->mv_data, v->mv_size, 0, &jerr);
	if (j == NULL || tg_canon_encode(j, &enc, &len) != 0 || len != v->mv_size ||
	    memcmp(enc, v->mv_data, len) != 0)
		b->ck.not_canonical++;
	free(enc);
	json_decref(j);
	return 0;
}

/* The comparison of a run's records with what it should have written. */
struct cmp {
	const struct bench *b;
	uint64_t n;	/* records to compare */
	bool raw;	/* keys are event numbers, values the events' records */
	uint64_t differ;
};

static int
cmp_rec(void *arg, uint64_t i, const MDB_val *k, const MDB_val *v)
{
	struct cmp *c = arg;
	const struct bytes *want;

	if (i >= c->n)
		return 0;
	want = &c->b->prec[c->raw ? c->b->ev_seq[i] : i];
	if (!key_is(k, i) || v->mv_size != want->len ||
	    memcmp(v->mv_data, c->b->arena + want->off, want->len) != 0)
		c->differ++;
	return 0;
}

/* Did the run in dir write what it should have? Counts into the checks. */
static int
check_run(struct bench *b, const char *dir, bool raw, uint64_t n)
{
	struct cmp c = { .b = b, .n = n, .raw = raw };
	uint64_t count;
	int rc;

	if ((rc = walk_rec(dir, raw ? 1 : AUDIT_DBS, cmp_rec, &c, &count)) < 0)
		return rc;
	/* raw holds exactly n; audit n and the close checkpoint */
	if (raw ? count != n : count < n)
		c.differ++;
	if (raw) {
		b->ck.raw_runs++;
		b->ck.raw_differ += c.differ != 0;
	} else {
		b->ck.audit_runs++;
		b->ck.audit_differ += c.differ != 0;
	}
	return 0;
}

/*
 * The priming run: every event through the store, commit every
 * BATCH_LARGE; keeps every record of the log and verifies it.
 */
static int
prime(struct bench *b)
{
	struct tg_audit_report rep;
	struct tg_audit_info info;
	struct tg_audit_log *l;
	uint8_t pub[TG_NOTE_PUB];
	char dir[PATH_MAX], err[256];
	uint64_t t0, count;
	struct run r;
	int rc;

	b->ev_seq = calloc(b->o.records, sizeof(*b->ev_seq));
	if (b->ev_seq == NULL)
		return -ENOMEM;
	if ((rc = make_dir(b, dir, sizeof(dir))) < 0)
		return rc;
	if ((rc = audit_once(b, dir, BATCH_LARGE, b->o.records, b->ev_seq, &r)) < 0)
		goto out;
	if ((l = tg_audit_log_open(dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": priming log: %s\n", err);
		rc = -EIO;
		goto out;
	}
	if ((rc = tg_audit_log_info(l, &info, err, sizeof(err))) < 0) {
		fprintf(stderr, PROG ": priming log: %s\n", err);
		tg_audit_log_close(l);
		goto out;
	}
	b->nb_prec = info.size;
	b->checkpoints = info.checkpoints;
	memcpy(pub, info.pubkey, sizeof(pub));
	t0 = tg_bench_read_mono_ns();
	rc = tg_audit_log_verify(l, pub, NULL, 0, &rep);
	b->ck.verify_ns = (double)(tg_bench_read_mono_ns() - t0);
	tg_audit_log_close(l);
	if (rc < 0) {
		fprintf(stderr, PROG ": verify: %s\n", rep.detail);
		goto out;
	}
	b->ck.verified = rep.ok;
	b->ck.verify_records = rep.records;
	b->ck.verify_checkpoints = rep.checkpoints;
	if (!rep.ok)
		fprintf(stderr, PROG ": the priming log does not verify: record %" PRIu64 ": %s\n",
			rep.index, rep.detail);

	b->prec = calloc(b->nb_prec, sizeof(*b->prec));
	if (b->prec == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = walk_rec(dir, AUDIT_DBS, keep_prime, b, &count)) < 0)
		goto out;
	if (count != b->nb_prec) {
		fprintf(stderr, PROG ": priming log: %" PRIu64 " records, meta says %" PRIu64 "\n",
			count, b->nb_prec);
		rc = -EBADMSG;
		goto out;
	}
	b->ev_min = SIZE_MAX;
	for (unsigned int i = 0; i < b->o.records; i++) {
		size_t len = b->prec[b->ev_seq[i]].len;

		b->ev_bytes += len;
		b->ev_min = len < b->ev_min ? len : b->ev_min;
		b->ev_max = len > b->ev_max ? len : b->ev_max;
	}
out:
	remove_dir(dir);
	return rc;
}

static int
measure_audit(struct bench *b, struct batch *bt)
{
	char dir[PATH_MAX];
	struct run r;
	int rc;

	if ((rc = make_dir(b, dir, sizeof(dir))) < 0)
		return rc;
	if ((rc = audit_once(b, dir, bt->size, bt->records, NULL, &r)) == 0 &&
	    (rc = check_run(b, dir, false, r.size)) == 0)
		record(&bt->audit, &r, data_bytes(dir));
	remove_dir(dir);
	return rc;
}

static int
measure_raw(struct bench *b, struct batch *bt, bool nosync)
{
	char dir[PATH_MAX];
	struct run r;
	int rc;

	if ((rc = make_dir(b, dir, sizeof(dir))) < 0)
		return rc;
	if ((rc = raw_once(b, dir, bt->size, bt->records, nosync ? MDB_NOSYNC : 0, &r)) == 0 &&
	    (rc = check_run(b, dir, true, bt->records)) == 0)
		record(nosync ? &bt->nosync : &bt->raw, &r, data_bytes(dir));
	remove_dir(dir);
	return rc;
}

/* FSYNC_WRITES x (4 KiB pwrite, fdatasync) on a fresh file: TSC cycles a sync. */
static int
measure_fsync(struct bench *b)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	static const uint8_t page[4096];
	uint64_t t0;
	int fd, rc = 0;

	if ((rc = make_dir(b, dir, sizeof(dir))) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/fsync", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, PROG ": open %s: %s\n", path, strerror(errno));
		goto out;
	}
	t0 = tg_bench_read_tsc();
	for (unsigned int i = 0; i < FSYNC_WRITES; i++) {
		if (pwrite(fd, page, sizeof(page), (off_t)i * (off_t)sizeof(page)) !=
			    (ssize_t)sizeof(page) ||
		    fdatasync(fd) < 0) {
			rc = errno != 0 ? -errno : -EIO;
			fprintf(stderr, PROG ": write and sync %s: %s\n", path, strerror(-rc));
			break;
		}
	}
	if (rc == 0)
		b->fsync[b->nb_fsync++] = (double)(tg_bench_read_tsc() - t0) / FSYNC_WRITES;
	close(fd);
out:
	remove_dir(dir);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Breakdown                                                           */

/* Every node of the tree, level by level: what tg_merkle_append() reads and writes. */
struct tree {
	uint8_t (*lv[TREE_LEVELS])[TG_MERKLE_HASH];
	uint64_t cap[TREE_LEVELS];
};

static int
tree_get(void *arg, unsigned int level, uint64_t index, uint8_t out[TG_MERKLE_HASH])
{
	struct tree *t = arg;

	if (level >= TREE_LEVELS || index >= t->cap[level])
		return -ENOENT;
	memcpy(out, t->lv[level][index], TG_MERKLE_HASH);
	return 0;
}

static int
tree_put(void *arg, unsigned int level, uint64_t index, const uint8_t hash[TG_MERKLE_HASH])
{
	struct tree *t = arg;

	if (level >= TREE_LEVELS || index >= t->cap[level])
		return -ENOSPC;
	memcpy(t->lv[level][index], hash, TG_MERKLE_HASH);
	return 0;
}

static int
tree_init(struct tree *t, uint64_t n)
{
	memset(t, 0, sizeof(*t));
	for (unsigned int l = 0; l < TREE_LEVELS && (n >> l) != 0; l++) {
		t->cap[l] = n >> l;
		if ((t->lv[l] = calloc(t->cap[l], TG_MERKLE_HASH)) == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void
tree_free(struct tree *t)
{
	for (unsigned int l = 0; l < TREE_LEVELS; l++)
		free(t->lv[l]);
}

/* SHA-256 of parts, with a fresh EVP context as audit.c's chain step. */
static int
sha256_fresh(const void *a, size_t alen, const void *b, size_t blen, const void *c, size_t clen,
	     uint8_t out[TG_MERKLE_HASH])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
	     EVP_DigestUpdate(ctx, c, clen) == 1 && EVP_DigestFinal_ex(ctx, out, &n) == 1 &&
	     n == TG_MERKLE_HASH;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static void
hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* The record of event i as push() builds it: a copy of the event and the store's members. */
static json_t *
build_record(const struct bench *b, unsigned int i, const uint8_t chain[TG_MERKLE_HASH])
{
	char prev[2 * TG_MERKLE_HASH + 1], ts[96];
	struct timespec now;
	struct tm tm;
	json_t *r;

	r = json_copy(b->ev[i]);
	if (r == NULL)
		return NULL;
	fixed_clock(&now);
	if (gmtime_r(&now.tv_sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000);
	hex(chain, TG_MERKLE_HASH, prev);
	if (json_object_set_new(r, "schema_v", json_integer(TG_AUDIT_SCHEMA_V)) < 0 ||
	    json_object_set_new(r, "origin", json_string(ORIGIN)) < 0 ||
	    json_object_set_new(r, "seq", json_integer((json_int_t)i)) < 0 ||
	    json_object_set_new(r, "prev_chain", json_string(prev)) < 0 ||
	    json_object_set_new(r, "ts", json_string(ts)) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* One pass of the breakdown over every event; p gets each section's TSC cycles. */
static int
run_parts(struct bench *b, struct tree *t, EVP_PKEY *key, struct parts *p)
{
	static const uint8_t chain_prefix = 0x02;
	uint8_t chain[TG_MERKLE_HASH], leaf[TG_MERKLE_HASH], root[TG_MERKLE_HASH];
	char text[TG_NOTE_MAX], note[TG_NOTE_MAX];
	uint64_t t0, t1, t2, t3, t4, t5, t6, t7, w0, c0;
	size_t len, note_len;
	char *bytes;
	json_t *r;
	int n;

	*p = (struct parts){ 0 };
	clock_calls = 0;
	c0 = tg_bench_read_cpu_ns();
	w0 = tg_bench_read_tsc();
	if (sha256_fresh(ORIGIN, strlen(ORIGIN), NULL, 0, NULL, 0, chain) < 0)
		return -EIO;
	for (unsigned int i = 0; i < b->o.records; i++) {
		t0 = tg_bench_read_tsc();
		r = build_record(b, i, chain);
		if (r == NULL)
			return -ENOMEM;
		t1 = tg_bench_read_tsc();
		if (tg_canon_encode(r, &bytes, &len) != 0) {
			json_decref(r);
			return -EINVAL;
		}
		t2 = tg_bench_read_tsc();
		json_decref(r);
		t3 = tg_bench_read_tsc();
		tg_merkle_leaf_hash(bytes, len, leaf);
		t4 = tg_bench_read_tsc();
		if (sha256_fresh(&chain_prefix, 1, chain, TG_MERKLE_HASH, leaf, TG_MERKLE_HASH,
				 chain) < 0) {
			free(bytes);
			return -EIO;
		}
		t5 = tg_bench_read_tsc();
		if (tg_merkle_append(i, leaf, tree_get, tree_put, t) != 0) {
			free(bytes);
			return -EIO;
		}
		t6 = tg_bench_read_tsc();
		free(bytes);
		t7 = tg_bench_read_tsc();
		p->copy += (double)((t1 - t0) + (t3 - t2) + (t7 - t6));
		p->canon += (double)(t2 - t1);
		p->leaf += (double)(t4 - t3);
		p->chain += (double)(t5 - t4);
		p->tree += (double)(t6 - t5);
		if ((i + 1) % b->o.checkpoint != 0)
			continue;
		/* the note of a checkpoint: the root, its text, the signature */
		t0 = tg_bench_read_tsc();
		if (tg_merkle_root(i + 1, tree_get, t, root) != 0 ||
		    (n = tg_note_checkpoint_text(ORIGIN, i + 1, root, text, sizeof(text))) < 0 ||
		    tg_note_sign(key, ORIGIN, text, (size_t)n, note, sizeof(note), &note_len) != 0)
			return -EIO;
		p->sign += (double)(tg_bench_read_tsc() - t0);
		p->signs++;
	}
	p->wall = (double)(tg_bench_read_tsc() - w0);
	p->cpu = (double)(tg_bench_read_cpu_ns() - c0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */

static double
med(const double *v, unsigned int n)
{
	return tg_bench_calc_median(v, n);
}

/* Microseconds per record of TSC cycles over n records. */
static double
us_per(const struct bench *b, double cyc, uint64_t n)
{
	return cyc / b->hz * 1e6 / (double)n;
}

static void
report(const struct bench *b, const struct batch *bt, const struct figure *f, const char *note)
{
	double w = med(f->wall, f->nb), wb = tg_bench_calc_best(f->wall, f->nb);
	double us = us_per(b, w, bt->records), usb = us_per(b, wb, bt->records);
	double oc = med(f->cpu, f->nb) / 1e3 / bt->records;

	printf("  %-10s %9.0f appends/s %9.2f us/record  best %9.0f appends/s %9.2f us/record  "
	       "on-CPU %.2f%s\n", f->name, 1e6 / us, us, 1e6 / usb, usb, oc, note);
	printf("RESULT name=%s batch=%u records=%u commits=%" PRIu64 " appends_per_s=%.0f "
	       "us_per_record=%.3f appends_per_s_best=%.0f us_per_record_best=%.3f "
	       "us_per_record_oncpu=%.3f put_us=%.3f commit_us=%.3f commit_us_oncpu=%.3f "
	       "ms_per_commit=%.3f open_ms=%.3f close_ms=%.3f file_bytes=%" PRIu64
	       " rounds=%u\n", f->name, bt->size, bt->records, f->commits, 1e6 / us, us,
	       1e6 / usb, usb, oc, us_per(b, med(f->put, f->nb), bt->records),
	       us_per(b, med(f->commit, f->nb), bt->records),
	       med(f->commit_cpu, f->nb) / 1e3 / bt->records,
	       med(f->commit, f->nb) / b->hz * 1e3 / (double)f->commits,
	       med(f->open, f->nb) / b->hz * 1e3, med(f->close, f->nb) / b->hz * 1e3,
	       f->file_bytes, f->nb);
}

/* audit over raw: the median of the rounds' ratios, best over best, on-CPU. */
static void
ratio(const struct figure *a, const struct figure *r, double *m, double *bb, double *oc)
{
	double w[ROUNDS_MAX], c[ROUNDS_MAX];

	for (unsigned int i = 0; i < a->nb; i++) {
		w[i] = a->wall[i] / r->wall[i];
		c[i] = a->cpu[i] / r->cpu[i];
	}
	*m = med(w, a->nb);
	*bb = tg_bench_calc_best(a->wall, a->nb) / tg_bench_calc_best(r->wall, r->nb);
	*oc = med(c, a->nb);
}

static void
print_batch(const struct bench *b, const struct batch *bt)
{
	const struct figure *a = &bt->audit, *r = &bt->raw;
	double rm, rb, rc, n = bt->records;

	printf("\ncommit every %u record%s: %u records, %" PRIu64 " commits a run\n", bt->size,
	       bt->size == 1 ? "" : "s", bt->records, a->commits);
	report(b, bt, a, "");
	report(b, bt, r, "");
	report(b, bt, &bt->nosync, "  (MDB_NOSYNC: for scale)");
	printf("  where: audit %.2f us/record in append, %.2f in commit (on-CPU %.2f); raw %.2f "
	       "in put, %.2f in commit (on-CPU %.2f)\n", us_per(b, med(a->put, a->nb), bt->records),
	       us_per(b, med(a->commit, a->nb), bt->records), med(a->commit_cpu, a->nb) / 1e3 / n,
	       us_per(b, med(r->put, r->nb), bt->records),
	       us_per(b, med(r->commit, r->nb), bt->records), med(r->commit_cpu, r->nb) / 1e3 / n);
	printf("  a commit: audit %.2f ms, raw %.2f ms; data.mdb audit %.1f MiB, raw %.1f MiB; "
	       "audit open %.1f ms, close %.1f ms (untimed)\n",
	       med(a->commit, a->nb) / b->hz * 1e3 / (double)a->commits,
	       med(r->commit, r->nb) / b->hz * 1e3 / (double)r->commits,
	       (double)a->file_bytes / 1048576.0, (double)r->file_bytes / 1048576.0,
	       med(a->open, a->nb) / b->hz * 1e3, med(a->close, a->nb) / b->hz * 1e3);
	ratio(a, r, &rm, &rb, &rc);
	printf("  audit/raw  %.2fx (best %.2fx, on-CPU %.2fx): %.3f of raw LMDB's appends/s\n", rm,
	       rb, rc, 1 / rm);
	printf("RESULT name=audit_ratio batch=%u vs_raw=%.3f vs_raw_best=%.3f vs_raw_oncpu=%.3f "
	       "throughput=%.3f\n", bt->size, rm, rb, rc, 1 / rm);
}

/*
 * The store's appends on-CPU, µs a record: each run's on-CPU time less
 * its commits', median of the rounds.
 */
static double
append_oncpu(const struct batch *bt)
{
	const struct figure *a = &bt->audit;
	double v[ROUNDS_MAX];

	for (unsigned int i = 0; i < a->nb; i++)
		v[i] = (a->cpu[i] - a->commit_cpu[i]) / 1e3 / bt->records;
	return med(v, a->nb);
}

static void
print_parts(const struct bench *b)
{
	double v[6][ROUNDS_MAX], oncpu[ROUNDS_MAX], m[6], n = b->o.records, sign_one, sum, hash;
	double app = 0, other = 0;
	const struct batch *def = NULL;
	uint64_t signs = b->parts[0].signs;

	/*
	 * Each section's TSC cycles scaled by its pass's on-CPU share: a busy
	 * machine preempts the passes, and what the sections are compared
	 * with, the store's appends, is on-CPU time too.
	 */
	for (unsigned int i = 0; i < b->nb_parts; i++) {
		const struct parts *p = &b->parts[i];
		double f = p->cpu * b->hz / 1e9 / p->wall;

		f = f > 1 ? 1 : f;
		oncpu[i] = f;
		v[0][i] = p->copy * f;
		v[1][i] = p->canon * f;
		v[2][i] = p->leaf * f;
		v[3][i] = p->chain * f;
		v[4][i] = p->tree * f;
		v[5][i] = p->sign * f;
	}
	for (unsigned int k = 0; k < 6; k++)
		m[k] = us_per(b, med(v[k], b->nb_parts), b->o.records);
	sign_one = signs != 0 ? m[5] * n / (double)signs : 0;
	hash = m[2] + m[3] + m[4];
	sum = m[0] + m[1] + hash + m[5];
	for (unsigned int i = 0; i < b->nb_bt; i++)
		if (b->bt[i].size == b->o.batch)
			def = &b->bt[i];

	printf("\nbreakdown of an append: on-CPU work outside LMDB, by section (TSC, scaled to "
	       "each pass's on-CPU\n  time, %.0f%% of its wall time; median of %u passes over %u "
	       "records):\n", 100 * med(oncpu, b->nb_parts), b->nb_parts, b->o.records);
	printf("  record  %7.3f us/record  json_copy of the event, the store's five members, "
	       "decref, free\n", m[0]);
	printf("  canon   %7.3f us/record  tg_canon_encode() of the record (%.0f bytes average)\n",
	       m[1], (double)b->ev_bytes / n);
	printf("  leaf    %7.3f us/record  SHA-256(0x00 || record)\n", m[2]);
	printf("  chain   %7.3f us/record  SHA-256(0x02 || C || leaf), a fresh EVP context as "
	       "audit.c's\n", m[3]);
	printf("  tree    %7.3f us/record  tg_merkle_append(): 1 + ctz(i + 1) nodes, ~1 node "
	       "hash\n", m[4]);
	printf("  sign    %7.3f us/record  %.1f us a checkpoint (root, note text, Ed25519), one "
	       "per %u records\n", m[5], sign_one, b->o.checkpoint);
	printf("  hashing (leaf + chain + tree) %.3f us/record; sum of the sections %.3f "
	       "us/record\n", hash, sum);
	if (def != NULL) {
		const struct figure *a = &def->audit;

		app = append_oncpu(def);
		other = app - sum;
		printf("  the store's appends, on-CPU at batch %u: %.3f us/record; the sections "
		       "sum to %.0f%% of it,\n  the store's checks, checkpoint records and batch "
		       "buffers being the rest (%+.3f): the\n  passes and the store's runs are "
		       "timed apart, and on a busy machine differ by several\n  percent either "
		       "way\n", def->size, app, 100 * sum / app, other);
		printf("  LMDB at batch %u: the commit %.3f us/record wall, %.3f on-CPU; LMDB "
		       "without its syncs\n  (raw_nosync) %.3f us/record in all; the rest of the "
		       "commit is waiting for the disk\n", def->size,
		       us_per(b, med(a->commit, a->nb), def->records),
		       med(a->commit_cpu, a->nb) / 1e3 / def->records,
		       us_per(b, med(def->nosync.wall, def->nosync.nb), def->records));
	}
	printf("RESULT name=breakdown record_us=%.3f canon_us=%.3f leaf_us=%.3f chain_us=%.3f "
	       "tree_us=%.3f hash_us=%.3f sign_us=%.3f sign_us_per_checkpoint=%.1f "
	       "sum_us=%.3f append_us_oncpu=%.3f other_us=%.3f oncpu_share=%.3f records=%u "
	       "checkpoint=%u\n", m[0], m[1], m[2], m[3], m[4], hash, m[5], sign_one, sum, app,
	       other, med(oncpu, b->nb_parts), b->o.records, b->o.checkpoint);
}

static void
print_setup(const struct bench *b, const struct storage *st, double ghz)
{
	int maj, min, pat;
	const char *ossl = OpenSSL_version(OPENSSL_VERSION);

	mdb_version(&maj, &min, &pat);
	tg_bench_print_tsc(b->hz, ghz);
	printf("storage: %s on %s (%s; rotational %s, write cache %s); LMDB %d.%d.%d, %s, "
	       "jansson %s\n", b->o.dir, st->fs, st->source, st->rot, st->cache, maj, min, pat,
	       ossl, jansson_version_str());
	printf("RESULT name=storage dir=%s fs=%s dev=%s rotational=%s write_cache=%s "
	       "lmdb=%d.%d.%d\n", b->o.dir, st->fs, st->source, st->rot, st->cache, maj, min, pat);
	printf("records: %u db.query events (%" PRIu64 " failed, %" PRIu64 " with masked values); "
	       "statements %zu-%zu bytes, %.0f average;\n  as stored %zu-%zu bytes, %.0f "
	       "average; priming log %" PRIu64 " records with %" PRIu64 " checkpoints (every %u)\n",
	       b->o.records, b->failures, b->masked, b->stmt_min, b->stmt_max,
	       (double)b->stmt_bytes / b->o.records, b->ev_min, b->ev_max,
	       (double)b->ev_bytes / b->o.records, b->nb_prec, b->checkpoints, b->o.checkpoint);
	printf("RESULT name=records events=%u record_bytes_avg=%.1f record_bytes_min=%zu "
	       "record_bytes_max=%zu statement_bytes_avg=%.1f log_records=%" PRIu64
	       " checkpoints=%" PRIu64 " checkpoint_every=%u\n", b->o.records,
	       (double)b->ev_bytes / b->o.records, b->ev_min, b->ev_max,
	       (double)b->stmt_bytes / b->o.records, b->nb_prec, b->checkpoints, b->o.checkpoint);
	printf("verify: the priming log %s (%" PRIu64 " records, %" PRIu64 " checkpoints) in "
	       "%.2f s, %.0f records/s\n", b->ck.verified ? "verifies" : "DOES NOT verify",
	       b->ck.verify_records, b->ck.verify_checkpoints, b->ck.verify_ns / 1e9,
	       (double)b->ck.verify_records / (b->ck.verify_ns / 1e9));
	printf("RESULT name=verify ok=%s records=%" PRIu64 " checkpoints=%" PRIu64 " s=%.3f "
	       "records_per_s=%.0f\n", b->ck.verified ? "yes" : "no", b->ck.verify_records,
	       b->ck.verify_checkpoints, b->ck.verify_ns / 1e9,
	       (double)b->ck.verify_records / (b->ck.verify_ns / 1e9));
	fflush(stdout);
}

static void
print_results(const struct bench *b)
{
	double fm = med(b->fsync, b->nb_fsync) / b->hz * 1e3,
	       fb = tg_bench_calc_best(b->fsync, b->nb_fsync) / b->hz * 1e3;
	const struct checks *ck = &b->ck;

	printf("\nfsync: 4 KiB pwrite + fdatasync on a fresh file, %u a round: %.3f ms median, "
	       "best %.3f;\n  an LMDB commit syncs twice (data, then meta page): %.2f ms is its "
	       "floor here\n", FSYNC_WRITES, fm, fb, 2 * fm);
	printf("RESULT name=fsync ms=%.3f ms_best=%.3f syncs=%u rounds=%u\n", fm, fb, FSYNC_WRITES,
	       b->nb_fsync);

	printf("\nper record, wall clock (TSC; median of %u rounds, and best), each run on a "
	       "fresh directory:\n", b->bt[0].audit.nb);
	for (unsigned int i = 0; i < b->nb_bt; i++)
		print_batch(b, &b->bt[i]);
	print_parts(b);

	printf("\nchecks: every audit run wrote the priming log's bytes: %" PRIu64 " of %" PRIu64
	       " runs differ; every raw run\n  read back equal: %" PRIu64 " of %" PRIu64
	       " differ; records not canonical %" PRIu64 "; priming log verifies: %s\n  %s\n",
	       ck->audit_differ, ck->audit_runs, ck->raw_differ, ck->raw_runs, ck->not_canonical,
	       ck->verified ? "yes" : "NO",
	       ck->audit_differ || ck->raw_differ || ck->not_canonical || !ck->verified
		       ? "FAILED"
		       : "all passed");
	printf("RESULT name=check audit_runs=%" PRIu64 " audit_differ=%" PRIu64 " raw_runs=%" PRIu64
	       " raw_differ=%" PRIu64 " not_canonical=%" PRIu64 " verified=%s passed=%s\n",
	       ck->audit_runs, ck->audit_differ, ck->raw_runs, ck->raw_differ, ck->not_canonical,
	       ck->verified ? "yes" : "no",
	       ck->audit_differ || ck->raw_differ || ck->not_canonical || !ck->verified ? "no"
											: "yes");
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [options]\n"
		"  --records N      db.query events (default 50000)\n"
		"  --batch N        records per commit of the main figure (default 256); commits\n"
		"                   every 1 and every %u are measured too\n"
		"  --max-commits N  commits a run at most: a batch writes min(records,\n"
		"                   batch x N) records (default 256)\n"
		"  --rounds N       timed rounds of each figure: median, best (default 3, max %u)\n"
		"  --checkpoint N   records per checkpoint (default %u, the store's)\n"
		"  --dir DIR        where the fresh directories are made (default /var/tmp)\n"
		"  --seed N         xorshift64 seed (default 0x9e3779b97f4a7c15)\n",
		BATCH_LARGE, ROUNDS_MAX, TG_AUDIT_CHECKPOINT_RECORDS);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	const struct tg_bench_opt t[] = {
		{ "records", TG_BENCH_OPT_UINT, &o->records, 1, 1000000 },
		{ "batch", TG_BENCH_OPT_UINT, &o->batch, 1, 32768 },
		{ "max-commits", TG_BENCH_OPT_UINT, &o->max_commits, 1, 1000000 },
		{ "rounds", TG_BENCH_OPT_UINT, &o->rounds, 1, ROUNDS_MAX },
		{ "checkpoint", TG_BENCH_OPT_UINT, &o->checkpoint, 1, 1000000 },
		{ "dir", TG_BENCH_OPT_STR, &o->dir, 0, 0 },
		{ "seed", TG_BENCH_OPT_U64, &o->seed, 1, UINT64_MAX },
	};

	*o = (struct opts){ .records = 50000, .batch = 256, .max_commits = 256, .rounds = 3,
			    .checkpoint = TG_AUDIT_CHECKPOINT_RECORDS, .seed = TG_BENCH_SEED,
			    .dir = "/var/tmp" };
	return tg_bench_parse_opts(PROG, argc, argv, t, sizeof(t) / sizeof(t[0]), usage);
}

/* The batch sizes 1, --batch and BATCH_LARGE, ascending, each once. */
static void
make_batches(struct bench *b)
{
	unsigned int sizes[NB_BATCH] = { 1, b->o.batch, BATCH_LARGE }, s;

	if (sizes[1] > sizes[2]) {
		sizes[1] = BATCH_LARGE;
		sizes[2] = b->o.batch;
	}
	for (unsigned int i = 0; i < NB_BATCH; i++) {
		struct batch *bt;
		uint64_t n;

		s = sizes[i];
		if (b->nb_bt > 0 && s == b->bt[b->nb_bt - 1].size)
			continue;
		bt = &b->bt[b->nb_bt++];
		n = (uint64_t)s * b->o.max_commits;
		bt->size = s;
		bt->records = n < b->o.records ? (unsigned int)n : b->o.records;
		bt->audit.name = "audit";
		bt->raw.name = "raw";
		bt->nosync.name = "raw_nosync";
	}
}

/* A directory of its own for the signing key every run shares. */
static int
make_key_dir(struct bench *b)
{
	if (snprintf(b->keydir, sizeof(b->keydir), "%s/tg-bench-audit-key.XXXXXX", b->o.dir) >=
	    (int)sizeof(b->keydir))
		return -ENAMETOOLONG;
	if (mkdtemp(b->keydir) == NULL) {
		fprintf(stderr, PROG ": mkdtemp %s: %s\n", b->keydir, strerror(errno));
		b->keydir[0] = '\0';
		return -errno;
	}
	snprintf(b->keypath, sizeof(b->keypath), "%s/audit.key", b->keydir);
	return 0;
}

/* One round: every figure of every batch size, in an order rotated each round. */
static int
round_all(struct bench *b, unsigned int r)
{
	int rc;

	if ((rc = measure_fsync(b)) < 0)
		return rc;
	for (unsigned int i = 0; i < b->nb_bt; i++) {
		for (unsigned int k = 0; k < 3; k++) {
			switch ((k + r) % 3) {
			case 0:
				rc = measure_audit(b, &b->bt[i]);
				break;
			case 1:
				rc = measure_raw(b, &b->bt[i], false);
				break;
			default:
				rc = measure_raw(b, &b->bt[i], true);
				break;
			}
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* The breakdown: an untimed pass, then --rounds timed ones. */
static int
run_breakdown(struct bench *b)
{
	struct tree t;
	EVP_PKEY *key;
	char err[256];
	int rc;

	if ((key = tg_note_key_load(b->keypath, false, err, sizeof(err))) == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		return -EIO;
	}
	if ((rc = tree_init(&t, b->o.records)) < 0)
		goto out;
	/* the untimed pass pages the tree in */
	if ((rc = run_parts(b, &t, key, &b->parts[0])) < 0)
		goto out;
	for (unsigned int r = 0; r < b->o.rounds; r++)
		if ((rc = run_parts(b, &t, key, &b->parts[b->nb_parts++])) < 0)
			goto out;
out:
	tree_free(&t);
	EVP_PKEY_free(key);
	return rc;
}

int
main(int argc, char **argv)
{
	struct storage st;
	struct bench *b;
	int rc = 1;

	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return 1;
	if (parse_opts(argc, argv, &b->o) < 0) {
		free(b);
		return 2;
	}
	/* ~1.2 KiB a record with its nodes and page overhead; the store's 1 GiB at least */
	b->map_size = LMDB_MAP_MIN + (size_t)b->o.records * 4096;
	make_batches(b);
	if (make_events(b) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		goto err_events;
	}
	if (make_key_dir(b) < 0)
		goto err_key;
	b->hz = tg_bench_calibrate_tsc();
	if (prime(b) < 0) {
		fprintf(stderr, PROG ": priming run failed\n");
		goto err_run;
	}
	storage_info(b->o.dir, &st);
	print_setup(b, &st, tg_bench_measure_core_ghz());

	for (unsigned int r = 0; r < b->o.rounds; r++)
		if (round_all(b, r) < 0)
			goto err_run;
	if (run_breakdown(b) < 0) {
		fprintf(stderr, PROG ": breakdown failed\n");
		goto err_run;
	}
	print_results(b);
	rc = b->ck.audit_differ || b->ck.raw_differ || b->ck.not_canonical || !b->ck.verified;
	goto out;

err_run:
	fprintf(stderr, PROG ": run failed\n");
out:
	free(b->ev_seq);
	free(b->prec);
	free(b->arena);
	remove_dir(b->keydir);
err_key:
err_events:
	for (unsigned int i = 0; b->ev != NULL && i < b->o.records; i++)
		json_decref(b->ev[i]);
	free(b->ev);
	free(b);
	return rc;
}
