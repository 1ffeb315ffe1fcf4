/* SPDX-License-Identifier: MIT */
/*
 * opts.h — the command line of the DPDK-free benchmarks (detect.c,
 * inspect.c): long options described by a table, so that each benchmark
 * says which options it has, where each goes and in what range, and the
 * parsing, the checks and the messages are one piece of code.
 *
 * Numbers are written in C syntax (decimal, 0x hex, leading 0 octal)
 * without a sign; one outside its [min, max] is refused, as is anything
 * that is not an option. --help and -h print the usage to stdout and exit
 * with status 0.
 *
 * Caveats:
 * - At most TG_BENCH_OPTS_MAX options a table.
 * - Checks between options (one bounded by another) are the caller's,
 *   after tg_bench_parse_opts().
 */
#ifndef TG_BENCH_OPTS_H
#define TG_BENCH_OPTS_H

#include <stdint.h>
#include <stdio.h>

#define TG_BENCH_OPTS_MAX 16

enum tg_bench_opt_type {
	TG_BENCH_OPT_UINT,	/* unsigned int *, a number in [min, max] */
	TG_BENCH_OPT_U64,	/* uint64_t *, a number in [min, max] */
	TG_BENCH_OPT_STR,	/* const char **, the argument as given */
	TG_BENCH_OPT_FLAG,	/* int *, set to 1; takes no argument */
};

/* One long option: --name, where its value goes and, for a number, its range. */
struct tg_bench_opt {
	const char *name;
	enum tg_bench_opt_type type;
	void *dst;
	uint64_t min, max;
};

/*
 * Parses argv[1..argc) by opts[0..n), into what the table points at; what
 * no option names keeps its value. Returns 0, or -EINVAL having said why
 * on stderr ("<prog>: bad number '<arg>'", "<prog>: option out of range
 * (--help)", or getopt's word and usage(stderr) for an unknown option).
 */
int tg_bench_parse_opts(const char *prog, int argc, char **argv, const struct tg_bench_opt *opts,
			unsigned int n, void (*usage)(FILE *out));

#endif /* TG_BENCH_OPTS_H */
