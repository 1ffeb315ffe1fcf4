/* SPDX-License-Identifier: MIT */
/*
 * opts.c — table-driven long options for the DPDK-free benchmarks (see
 * opts.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "opts.h"

/* getopt_long's val for opts[i]: above every character, so -h stays itself. */
#define VAL_BASE 256

/* A number in C syntax, no sign, into *v; -EINVAL if arg is none. */
static int
parse_number(const char *prog, const char *arg, uint64_t *v)
{
	unsigned long long x;
	char *end = NULL;

	errno = 0;
	x = strtoull(arg, &end, 0);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-') {
		fprintf(stderr, "%s: bad number '%s'\n", prog, arg);
		return -EINVAL;
	}
	*v = x;
	return 0;
}

/* Sets what o points at from its argument arg (NULL for a flag). */
static int
set_opt(const char *prog, const struct tg_bench_opt *o, const char *arg)
{
	uint64_t v;

	switch (o->type) {
	case TG_BENCH_OPT_STR:
		*(const char **)o->dst = arg;
		return 0;
	case TG_BENCH_OPT_FLAG:
		*(int *)o->dst = 1;
		return 0;
	default:
		break;
	}
	if (parse_number(prog, arg, &v) < 0)
		return -EINVAL;
	if (v < o->min || v > o->max) {
		fprintf(stderr, "%s: option out of range (--help)\n", prog);
		return -EINVAL;
	}
	if (o->type == TG_BENCH_OPT_UINT)
		*(unsigned int *)o->dst = (unsigned int)v;
	else
		*(uint64_t *)o->dst = v;
	return 0;
}

int
tg_bench_parse_opts(const char *prog, int argc, char **argv, const struct tg_bench_opt *opts,
		    unsigned int n, void (*usage)(FILE *out))
{
	struct option lo[TG_BENCH_OPTS_MAX + 2];
	unsigned int i;
	int c;

	if (n > TG_BENCH_OPTS_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		lo[i] = (struct option){
			.name = opts[i].name,
			.has_arg =
				opts[i].type == TG_BENCH_OPT_FLAG ? no_argument : required_argument,
			.val = VAL_BASE + (int)i,
		};
	lo[n] = (struct option){ .name = "help", .has_arg = no_argument, .val = 'h' };
	lo[n + 1] = (struct option){ 0 };
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c < VAL_BASE || c >= VAL_BASE + (int)n) {
			usage(stderr);
			return -EINVAL;
		}
		if (set_opt(prog, &opts[c - VAL_BASE], optarg) < 0)
			return -EINVAL;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: option out of range (--help)\n", prog);
		return -EINVAL;
	}
	return 0;
}
