/* SPDX-License-Identifier: MIT */
/*
 * detect.c — tg-bench-detect: what the sensitive-value detectors
 * (dataplane/detect.c) cost per byte and per field, against the Hyperscan
 * scan they are built on and against memcpy, in one run.
 *
 * Corpus: --mib MiB (default 64) of PostgreSQL-result-like row text, built
 * with a fixed xorshift64: '|'-separated fields, one row per line. Nine rows
 * in ten carry nothing sensitive but plenty that looks close (order
 * numbers, long reference numbers, dates and times, amounts, quantities,
 * upper-case product codes, free-text notes); one in ten carries an
 * e-mail address, a Luhn-valid card number (plain, spaced or dashed), an
 * IBAN with valid check digits (grouped or not, eight countries), a phone
 * number and sometimes an SSN; with --secrets, one in three of those also
 * an AWS access key id, a JWT or a PEM private key block (off by default:
 * the default corpus is the one earlier figures were taken on, and the
 * cost of detectors on text that holds none of their values is the figure
 * that matters most). The corpus is cut into --block byte blocks
 * (default 1460, a TCP segment's payload), each scanned on its own, as
 * the dataplane scans what it holds.
 *
 * Database: every built-in detector (eight), or those named by --kinds
 * (e.g. --kinds card,iban,email,ssn,phone, the five of earlier figures).
 *
 * Figures, each over the whole corpus, --rounds times interleaved (memcpy,
 * raw, detect, memcpy, ...) so that drift hits all alike; medians:
 * - memcpy: each block copied to one destination block;
 * - hs_raw: tg_detect_scan_raw(), hs_scan() of the same database with a
 *   callback that only counts: Hyperscan's own cost, the floor;
 * - detect: tg_detect_scan() with confirmation, dedupe and merging, into a
 *   256-entry match array;
 * - detect/hs_raw: the ratio of their throughputs (target >= 0.7);
 * - fields: --field-mib MiB (default 8) of single field values of 8-64
 *   bytes (10% sensitive), one call each, raw and detect: per-call cost.
 *   Also how many sensitive fields were found and how many others were
 *   (wrongly) flagged.
 *
 * Measure: on-CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), so a
 * preempted round is not charged for the time it did not run; cycles are
 * that time at the TSC rate (calibrated against CLOCK_MONOTONIC_RAW), and
 * the core clock is shown beside it (dependent adds, as forward.c). Gbit/s
 * is per on-CPU second: the rate of a dedicated core.
 *
 * Caveats:
 * - Values split across two blocks are not found (block mode); in the
 *   dataplane the scan is per DataRow field, which the fields figure
 *   models.
 * - The corpus stays in the last-level cache only in part (64 MiB): the
 *   figures include memory bandwidth, as memcpy's does.
 * - The same database serves raw and detect; nothing else runs in the
 *   thread. One core.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

#include "corpus.h"
#include "opts.h"
#include "timing.h"

#define PROG "tg-bench-detect"
#define ROUNDS_MAX 21
#define OUT_MAX 256

struct opts {
	unsigned int mib;
	unsigned int block;
	unsigned int rounds;
	unsigned int field_mib;
	uint64_t seed;
	const char *dump;	/* write the corpus here and stop */
	const char *kinds;	/* comma-separated kind names; NULL: every built-in */
	int secrets;		/* plant AWS keys, JWTs and private keys too */
};

struct corpus {
	uint8_t *buf;
	size_t len;
	size_t rows, sensitive_rows, planted;
};

struct field {
	uint32_t off;
	uint8_t len;
	uint8_t sensitive;
};

struct fields {
	uint8_t *buf;
	size_t len;
	struct field *f;
	size_t n, sensitive;
};

/* ------------------------------------------------------------------ */
/* Corpus                                                              */

static const char *const statuses[] = {
	"PAID", "SHIPPED", "PENDING", "REFUNDED", "CANCELLED", "ON HOLD",
};
static const char b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Appends text[0..n) in unpadded base64url (RFC 4648 5). */
static size_t
put_b64u(uint8_t *b, size_t cap, size_t at, const char *text, size_t n)
{
	size_t i;

	for (i = 0; i < n && at + 5 < cap; i += 3) {
		uint32_t v = (uint32_t)(uint8_t)text[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(uint8_t)text[i + 1] << 8;
		if (i + 2 < n)
			v |= (uint8_t)text[i + 2];
		b[at++] = (uint8_t)b64u[v >> 18];
		b[at++] = (uint8_t)b64u[(v >> 12) & 63];
		if (i + 1 < n)
			b[at++] = (uint8_t)b64u[(v >> 6) & 63];
		if (i + 2 < n)
			b[at++] = (uint8_t)b64u[v & 63];
	}
	return at;
}

/* An AWS access key id: AKIA or ASIA and 16 of the base32 alphabet. */
static size_t
put_aws(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned int i;

	at = tg_bench_put(b, cap, at, "%s", tg_bench_rnd(s, 2) ? "AKIA" : "ASIA");
	for (i = 0; i < 16 && at + 1 < cap; i++)
		b[at++] = (uint8_t)b32[tg_bench_rnd(s, 32)];
	return at;
}

/* A JWT of HS256 or ES256: JSON header and claims, random signature. */
static size_t
put_jwt(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	static const char *const hdr[] = {
		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
	};
	char claims[128];
	unsigned int k = tg_bench_rnd(s, 2), i, sig = k ? 86 : 43;
	int n;

	n = snprintf(claims, sizeof(claims), "{\"sub\":\"%u\",\"name\":\"%s %s\",\"iat\":%u}",
		     tg_bench_rnd(s, 1000000), tg_bench_first_names[tg_bench_rnd(s, 20)],
		     tg_bench_last_names[tg_bench_rnd(s, 20)],
		     1700000000 + tg_bench_rnd(s, 10000000));
	at = put_b64u(b, cap, at, hdr[k], strlen(hdr[k]));
	at = tg_bench_put(b, cap, at, ".");
	at = put_b64u(b, cap, at, claims, n > 0 ? (size_t)n : 0);
	at = tg_bench_put(b, cap, at, ".");
	for (i = 0; i < sig && at + 1 < cap; i++)
		b[at++] = (uint8_t)b64u[tg_bench_rnd(s, 64)];
	return at;
}

/* A PEM private key block: header, three lines of base64, footer. */
static size_t
put_pem(uint8_t *b, size_t cap, size_t at, uint64_t *s)
{
	static const char *const label[] = { "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY" };
	const char *l = label[tg_bench_rnd(s, 3)];
	unsigned int line, i;

	at = tg_bench_put(b, cap, at, "-----BEGIN %s-----\n", l);
	for (line = 0; line < 3; line++) {
		for (i = 0; i < 64 && at + 1 < cap; i++)
			b[at++] = (uint8_t)b64u[tg_bench_rnd(s, 62)];
		at = tg_bench_put(b, cap, at, "\n");
	}
	return tg_bench_put(b, cap, at, "-----END %s-----", l);
}

/* One row; returns the number of sensitive values it holds. */
static size_t
put_row(uint8_t *b, size_t cap, size_t *at, uint64_t *s, size_t row, int secrets)
{
	size_t a = *at, planted = 0;

	a = tg_bench_put(b, cap, a, "%zu|%s %s|", row, tg_bench_first_names[tg_bench_rnd(s, 20)],
			 tg_bench_last_names[tg_bench_rnd(s, 20)]);
	if (tg_bench_rnd(s, 10) == 0) {
		a = tg_bench_put_email(b, cap, a, s);
		a = tg_bench_put(b, cap, a, "|");
		a = tg_bench_put_card(b, cap, a, s);
		a = tg_bench_put(b, cap, a, "|");
		a = tg_bench_put_iban(b, cap, a, s);
		a = tg_bench_put(b, cap, a, "|");
		a = tg_bench_put_phone(b, cap, a, s);
		planted += 4;
		if (tg_bench_rnd(s, 3) == 0) {
			a = tg_bench_put(b, cap, a, "|");
			a = tg_bench_put_ssn(b, cap, a, s);
			planted++;
		}
		if (secrets && tg_bench_rnd(s, 3) == 0) {
			unsigned int k = tg_bench_rnd(s, 3);

			a = tg_bench_put(b, cap, a, "|");
			a = k == 0 ? put_aws(b, cap, a, s)
				   : k == 1 ? put_jwt(b, cap, a, s) : put_pem(b, cap, a, s);
			planted++;
		}
		a = tg_bench_put(b, cap, a, "|");
		a = tg_bench_put_note(b, cap, a, s, false);
	} else {
		a = tg_bench_put(b, cap, a,
				 "%s|2024-%02u-%02u %02u:%02u:%02u+00|%u.%02u|%u|%s|ORD-%08u|",
				 tg_bench_cities[tg_bench_rnd(s, 16)], 1 + tg_bench_rnd(s, 12),
				 1 + tg_bench_rnd(s, 28), tg_bench_rnd(s, 24), tg_bench_rnd(s, 60),
				 tg_bench_rnd(s, 60), tg_bench_rnd(s, 5000), tg_bench_rnd(s, 100),
				 1 + tg_bench_rnd(s, 20), statuses[tg_bench_rnd(s, 6)],
				 tg_bench_rnd(s, 100000000));
		a = tg_bench_put_note(b, cap, a, s, false);
	}
	a = tg_bench_put(b, cap, a, "\n");
	*at = a;
	return planted;
}

static int
corpus_make(struct corpus *c, size_t bytes, uint64_t seed, int secrets)
{
	uint64_t s = seed;

	memset(c, 0, sizeof(*c));
	c->buf = malloc(bytes + 512);
	if (c->buf == NULL)
		return -ENOMEM;
	while (c->len < bytes) {
		size_t before = c->planted;

		c->planted += put_row(c->buf, bytes + 512, &c->len, &s, c->rows, secrets);
		c->sensitive_rows += c->planted != before;
		c->rows++;
	}
	c->len = bytes;
	return 0;
}

/*
 * Single values of 8-64 bytes, one in ten sensitive; with secrets, an AWS
 * key id or a PEM header and the start of its body are among them (a JWT
 * or a whole key is longer than 64 bytes).
 */
static int
fields_make(struct fields *fs, size_t bytes, uint64_t seed, int secrets)
{
	uint64_t s = seed;
	size_t cap = bytes + 128, maxn = bytes / 8 + 1;

	memset(fs, 0, sizeof(*fs));
	fs->buf = malloc(cap);
	fs->f = calloc(maxn, sizeof(*fs->f));
	if (fs->buf == NULL || fs->f == NULL)
		return -ENOMEM;
	while (fs->len < bytes && fs->n < maxn) {
		size_t a = fs->len, e;
		int sens = tg_bench_rnd(&s, 10) == 0;
		unsigned int k = tg_bench_rnd(&s, sens ? (secrets ? 7 : 5) : 7);

		if (sens) {
			/* by k: the five kinds of earlier figures, then two secrets */
			static size_t (*const put_value[7])(uint8_t *, size_t, size_t,
							    uint64_t *) = {
				tg_bench_put_email, tg_bench_put_card, tg_bench_put_iban,
				tg_bench_put_phone, tg_bench_put_ssn, put_aws, put_pem,
			};

			e = put_value[k](fs->buf, cap, a, &s);
		} else {
			switch (k) {
			case 0:
				e = tg_bench_put(fs->buf, cap, a, "%s %s",
						 tg_bench_first_names[tg_bench_rnd(&s, 20)],
						 tg_bench_last_names[tg_bench_rnd(&s, 20)]);
				break;
			case 1:
				e = tg_bench_put(fs->buf, cap, a,
						 "2024-%02u-%02u %02u:%02u:%02u+00",
						 1 + tg_bench_rnd(&s, 12), 1 + tg_bench_rnd(&s, 28),
						 tg_bench_rnd(&s, 24), tg_bench_rnd(&s, 60),
						 tg_bench_rnd(&s, 60));
				break;
			case 2:
				e = tg_bench_put(fs->buf, cap, a, "%08u.%02u",
						 tg_bench_rnd(&s, 100000), tg_bench_rnd(&s, 100));
				break;
			case 3:
				e = tg_bench_put(fs->buf, cap, a, "ORD-%08u",
						 tg_bench_rnd(&s, 100000000));
				break;
			case 4:
				e = tg_bench_put(fs->buf, cap, a, "%s, %s",
						 tg_bench_cities[tg_bench_rnd(&s, 16)],
						 statuses[tg_bench_rnd(&s, 6)]);
				break;
			case 5:
				e = tg_bench_put(fs->buf, cap, a, "%u%u%u",
						 100000 + tg_bench_rnd(&s, 900000),
						 tg_bench_rnd(&s, 1000000),
						 tg_bench_rnd(&s, 1000000));
				break;
			default:
				e = tg_bench_put_note(fs->buf, cap, a, &s, false);
				break;
			}
		}
		while (e - a < 8)
			e = tg_bench_put(fs->buf, cap, e, " ");
		if (e - a > 64)
			e = a + 64;
		fs->f[fs->n].off = (uint32_t)a;
		fs->f[fs->n].len = (uint8_t)(e - a);
		fs->f[fs->n].sensitive = (uint8_t)sens;
		fs->sensitive += (size_t)sens;
		fs->n++;
		fs->len = e;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */

struct figure {
	const char *name;
	double cpu_ns[ROUNDS_MAX];
	unsigned int nb;
	uint64_t count;		/* reports or matches, last round */
};

static uint8_t sink[65536];

static int
run_memcpy(const struct corpus *c, unsigned int block, struct figure *f)
{
	uint64_t t0 = tg_bench_read_cpu_ns();
	size_t off;

	for (off = 0; off < c->len; off += block) {
		size_t n = c->len - off < block ? c->len - off : block;

		memcpy(sink, c->buf + off, n);
		__asm__ volatile("" : : "r"(sink) : "memory");
	}
	f->cpu_ns[f->nb++] = (double)(tg_bench_read_cpu_ns() - t0);
	return 0;
}

static int
run_raw(const struct tg_detect_db *db, struct tg_detect_scratch *s, const struct corpus *c,
	unsigned int block, struct figure *f)
{
	uint64_t t0 = tg_bench_read_cpu_ns(), reports = 0;
	size_t off;

	for (off = 0; off < c->len; off += block) {
		size_t n = c->len - off < block ? c->len - off : block;
		long r = tg_detect_scan_raw(db, s, c->buf + off, (uint32_t)n);

		if (r < 0)
			return (int)r;
		reports += (uint64_t)r;
	}
	f->cpu_ns[f->nb++] = (double)(tg_bench_read_cpu_ns() - t0);
	f->count = reports;
	return 0;
}

static int
run_detect(const struct tg_detect_db *db, struct tg_detect_scratch *s,
	   const struct corpus *c, unsigned int block, struct figure *f)
{
	static struct tg_detect_match out[OUT_MAX];
	uint64_t t0 = tg_bench_read_cpu_ns(), matches = 0;
	size_t off;

	for (off = 0; off < c->len; off += block) {
		size_t n = c->len - off < block ? c->len - off : block;
		int r = tg_detect_scan(db, s, c->buf + off, (uint32_t)n, out, OUT_MAX);

		if (r < 0)
			return r;
		matches += (uint64_t)r;
	}
	f->cpu_ns[f->nb++] = (double)(tg_bench_read_cpu_ns() - t0);
	f->count = matches;
	return 0;
}

struct field_stats {
	uint64_t found_sensitive, flagged_other;
};

static int
run_fields(const struct tg_detect_db *db, struct tg_detect_scratch *s,
	   const struct fields *fs, int raw, struct figure *f, struct field_stats *st)
{
	struct tg_detect_match out[16];
	uint64_t t0 = tg_bench_read_cpu_ns(), count = 0;
	size_t i;

	if (st != NULL)
		memset(st, 0, sizeof(*st));
	for (i = 0; i < fs->n; i++) {
		const uint8_t *b = fs->buf + fs->f[i].off;
		long r = raw ? tg_detect_scan_raw(db, s, b, fs->f[i].len)
			     : tg_detect_scan(db, s, b, fs->f[i].len, out, 16);

		if (r < 0)
			return (int)r;
		count += (uint64_t)r;
		if (st != NULL && r > 0) {
			if (fs->f[i].sensitive)
				st->found_sensitive++;
			else
				st->flagged_other++;
		}
	}
	f->cpu_ns[f->nb++] = (double)(tg_bench_read_cpu_ns() - t0);
	f->count = count;
	return 0;
}

static void
report(const struct figure *f, size_t bytes, double hz, const char *extra)
{
	double ns = tg_bench_calc_median(f->cpu_ns, f->nb);
	double gbps = (double)bytes * 8 / ns;
	double cpb = ns * hz / 1e9 / (double)bytes;

	printf("  %-14s %7.3f Gbit/s  %7.3f cycles/byte  (%u rounds, on-CPU median)\n",
	       f->name, gbps, cpb, f->nb);
	printf("RESULT name=%s gbps=%.3f cycles_per_byte=%.3f bytes=%zu%s\n", f->name, gbps, cpb,
	       bytes, extra);
}

/*
 * specs[0..*n) from a comma-separated list of kind names, or every
 * built-in (not "regex") when list is NULL; names gets them, joined.
 */
static int
select_kinds(const char *list, struct tg_detect_spec *specs, unsigned int *n, char *names,
	     size_t nlen)
{
	unsigned int k;
	size_t at = 0;

	*n = 0;
	names[0] = '\0';
	for (k = TG_DETECT_NONE + 1; k < TG_DETECT_KIND_MAX; k++) {
		const char *name = tg_detect_kind_names[k], *p = list;
		size_t l = strlen(name);
		int want = list == NULL;

		if (k == TG_DETECT_REGEX)
			continue;
		while (p != NULL && *p != '\0' && !want) {
			size_t w = strcspn(p, ",");

			want = w == l && strncmp(p, name, l) == 0;
			p += w + (p[w] == ',');
		}
		if (!want)
			continue;
		specs[*n] = (struct tg_detect_spec){ .id = k, .kind = (enum tg_detect_kind)k };
		(*n)++;
		at += (size_t)snprintf(names + at, at < nlen ? nlen - at : 0, "%s%s",
				       at ? "," : "", name);
	}
	if (*n == 0) {
		fprintf(stderr, PROG ": --kinds: no built-in detector named in '%s'\n",
			list != NULL ? list : "");
		return -EINVAL;
	}
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [options]\n"
		"  --mib N         corpus size in MiB (default 64)\n"
		"  --block N       bytes per scan (default 1460)\n"
		"  --rounds N      rounds of each figure, median reported (default 5, max %u)\n"
		"  --field-mib N   MiB of 8-64 byte fields for the per-field figure (default 8)\n"
		"  --seed N        xorshift64 seed (default 0x9e3779b97f4a7c15)\n"
		"  --dump FILE     write the corpus to FILE and stop (e.g. for hsbench)\n"
		"  --kinds LIST    comma-separated detector kinds (default: every built-in)\n"
		"  --secrets       plant AWS key ids, JWTs and private keys too\n",
		ROUNDS_MAX);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	const struct tg_bench_opt t[] = {
		{ "mib", TG_BENCH_OPT_UINT, &o->mib, 1, 4096 },
		{ "block", TG_BENCH_OPT_UINT, &o->block, 16, sizeof(sink) },
		{ "rounds", TG_BENCH_OPT_UINT, &o->rounds, 1, ROUNDS_MAX },
		{ "field-mib", TG_BENCH_OPT_UINT, &o->field_mib, 1, 1024 },
		{ "seed", TG_BENCH_OPT_U64, &o->seed, 1, UINT64_MAX },
		{ "dump", TG_BENCH_OPT_STR, &o->dump, 0, 0 },
		{ "kinds", TG_BENCH_OPT_STR, &o->kinds, 0, 0 },
		{ "secrets", TG_BENCH_OPT_FLAG, &o->secrets, 0, 0 },
	};

	*o = (struct opts){ .mib = 64, .block = 1460, .rounds = 5, .field_mib = 8,
			    .seed = TG_BENCH_SEED };
	return tg_bench_parse_opts(PROG, argc, argv, t, sizeof(t) / sizeof(t[0]), usage);
}

int
main(int argc, char **argv)
{
	struct tg_detect_spec specs[TG_DETECT_KIND_MAX];
	unsigned int nspecs;
	char names[256];
	struct opts o;
	struct corpus c;
	struct fields fs;
	struct tg_detect_db *db = NULL;
	struct tg_detect_scratch *s = NULL;
	struct figure fm = { .name = "memcpy" }, fr = { .name = "hs_raw" },
		      fd = { .name = "detect" }, ffr = { .name = "field_raw" },
		      ffd = { .name = "field_detect" };
	struct field_stats st;
	double hz, ratios[ROUNDS_MAX], fratios[ROUNDS_MAX], ratio, fratio;
	char err[256], extra[160];
	unsigned int r;
	int rc = 1;

	memset(&c, 0, sizeof(c));
	memset(&fs, 0, sizeof(fs));
	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (select_kinds(o.kinds, specs, &nspecs, names, sizeof(names)) < 0)
		return 2;
	if (tg_detect_compile(specs, nspecs, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, PROG ": compile: %s\n", err);
		return 1;
	}
	s = tg_detect_scratch_alloc(db);
	if (s == NULL || corpus_make(&c, (size_t)o.mib << 20, o.seed, o.secrets) < 0 ||
	    fields_make(&fs, (size_t)o.field_mib << 20, o.seed ^ 0x5555, o.secrets) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	if (o.dump != NULL) {
		FILE *f = fopen(o.dump, "wb");

		if (f == NULL || fwrite(c.buf, 1, c.len, f) != c.len || fclose(f) != 0) {
			fprintf(stderr, PROG ": %s: %s\n", o.dump, strerror(errno));
			goto out;
		}
		rc = 0;
		goto out;
	}
	hz = tg_bench_calibrate_tsc();
	tg_bench_print_tsc(hz, tg_bench_measure_core_ghz());
	printf("database: %u built-in detectors (%s), %zu bytes\n", nspecs, names,
	       tg_detect_db_bytes(db));
	printf("RESULT name=database detectors=%u kinds=%s bytes=%zu secrets=%s\n", nspecs, names,
	       tg_detect_db_bytes(db), o.secrets ? "yes" : "no");
	printf("corpus: %zu bytes in %zu rows, %zu sensitive (%.1f%%), %zu values planted; "
	       "%u-byte blocks\n", c.len, c.rows, c.sensitive_rows,
	       100.0 * (double)c.sensitive_rows / (double)c.rows, c.planted, o.block);
	printf("RESULT name=corpus bytes=%zu rows=%zu sensitive_rows=%zu planted=%zu block=%u\n",
	       c.len, c.rows, c.sensitive_rows, c.planted, o.block);
	printf("fields: %zu of 8-64 bytes, %zu bytes, %zu sensitive\n", fs.n, fs.len, fs.sensitive);

	/* warm-up: page in the corpus, train the branch predictors */
	if (run_raw(db, s, &c, o.block, &fr) < 0 || run_detect(db, s, &c, o.block, &fd) < 0)
		goto out_scan;
	fr.nb = fd.nb = 0;

	for (r = 0; r < o.rounds; r++) {
		if (run_memcpy(&c, o.block, &fm) < 0 || run_raw(db, s, &c, o.block, &fr) < 0 ||
		    run_detect(db, s, &c, o.block, &fd) < 0 ||
		    run_fields(db, s, &fs, 1, &ffr, NULL) < 0 ||
		    run_fields(db, s, &fs, 0, &ffd, &st) < 0)
			goto out_scan;
		ratios[r] = fr.cpu_ns[r] / fd.cpu_ns[r];
		fratios[r] = ffr.cpu_ns[r] / ffd.cpu_ns[r];
	}
	ratio = tg_bench_calc_median(ratios, o.rounds);
	fratio = tg_bench_calc_median(fratios, o.rounds);

	printf("\nblocks:\n");
	report(&fm, c.len, hz, "");
	snprintf(extra, sizeof(extra), " reports=%" PRIu64, fr.count);
	report(&fr, c.len, hz, extra);
	snprintf(extra, sizeof(extra), " matches=%" PRIu64, fd.count);
	report(&fd, c.len, hz, extra);
	printf("  detect/hs_raw  %.3f of raw throughput (target >= 0.70): %s; "
	       "%" PRIu64 " reports -> %" PRIu64 " matches (%zu planted)\n", ratio,
	       ratio >= 0.7 ? "met" : "NOT met", fr.count, fd.count, c.planted);
	printf("RESULT name=detect_ratio ratio=%.3f target=0.70 met=%s\n", ratio,
	       ratio >= 0.7 ? "yes" : "no");

	printf("\nfields (one call each):\n");
	{
		double nr = tg_bench_calc_median(ffr.cpu_ns, ffr.nb),
		       nd = tg_bench_calc_median(ffd.cpu_ns, ffd.nb);

		printf("  %-14s %7.1f ns/field %7.0f cycles/field %7.3f Gbit/s\n", "field_raw",
		       nr / (double)fs.n, nr * hz / 1e9 / (double)fs.n,
		       (double)fs.len * 8 / nr);
		printf("  %-14s %7.1f ns/field %7.0f cycles/field %7.3f Gbit/s\n", "field_detect",
		       nd / (double)fs.n, nd * hz / 1e9 / (double)fs.n,
		       (double)fs.len * 8 / nd);
		printf("  detect/raw     %.3f; sensitive fields found %" PRIu64 " of %zu, "
		       "others flagged %" PRIu64 " of %zu\n", fratio, st.found_sensitive,
		       fs.sensitive, st.flagged_other, fs.n - fs.sensitive);
		printf("RESULT name=field_raw fields=%zu avg_len=%.1f ns_per_field=%.1f "
		       "cycles_per_field=%.0f gbps=%.3f\n", fs.n, (double)fs.len / (double)fs.n,
		       nr / (double)fs.n, nr * hz / 1e9 / (double)fs.n, (double)fs.len * 8 / nr);
		printf("RESULT name=field_detect fields=%zu avg_len=%.1f ns_per_field=%.1f "
		       "cycles_per_field=%.0f gbps=%.3f ratio=%.3f found=%" PRIu64
		       " sensitive=%zu false_flags=%" PRIu64 "\n", fs.n,
		       (double)fs.len / (double)fs.n, nd / (double)fs.n,
		       nd * hz / 1e9 / (double)fs.n, (double)fs.len * 8 / nd, fratio,
		       st.found_sensitive, fs.sensitive, st.flagged_other);
	}
	rc = 0;
	goto out;
out_scan:
	fprintf(stderr, PROG ": scan failed\n");
out:
	free(c.buf);
	free(fs.buf);
	free(fs.f);
	tg_detect_scratch_free(s);
	tg_detect_free(db);
	return rc;
}
