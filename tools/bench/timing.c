/* SPDX-License-Identifier: MIT */
/*
 * timing.c — clocks and statistics of rounds for every benchmark, with no
 * DPDK in them (see timing.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timing.h"

/* ---- clocks ---- */

static uint64_t
read_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
tg_bench_read_cpu_ns(void)
{
	return read_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t
tg_bench_read_mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC_RAW);
}

double
tg_bench_calibrate_tsc(void)
{
	uint64_t n0 = tg_bench_read_mono_ns(), t0 = tg_bench_read_tsc(), n1, t1;

	do
		n1 = tg_bench_read_mono_ns();
	while (n1 - n0 < 200000000ULL);
	t1 = tg_bench_read_tsc();
	return (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
}

/*
 * Chains of dependent adds retire one per cycle on any x86 core of the
 * last fifteen years.
 */
double
tg_bench_measure_core_ghz(void)
{
#if defined(__x86_64__)
	const uint64_t iters = 50 * 1000 * 1000;
	uint64_t x = 0, i, c0, c1;

	c0 = tg_bench_read_cpu_ns();
	for (i = 0; i < iters; i++)
		__asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
				 "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
				 : "+r"(x));
	c1 = tg_bench_read_cpu_ns();
	return c1 > c0 ? (double)(iters * 8) / (double)(c1 - c0) : 0.0;
#else
	return 0.0;
#endif
}

void
tg_bench_print_tsc(double hz, double ghz)
{
	printf("clock: TSC %.3f GHz, core %.3f GHz (dependent adds)\n", hz / 1e9, ghz);
	printf("RESULT name=clock tsc_ghz=%.3f core_ghz=%.3f\n", hz / 1e9, ghz);
}

/* ---- statistics of rounds ---- */

double
tg_bench_calc_median(const double *v, unsigned int n)
{
	double s[TG_BENCH_ROUNDS_MAX], t;
	unsigned int i, j;

	if (n > TG_BENCH_ROUNDS_MAX)
		n = TG_BENCH_ROUNDS_MAX;
	if (n == 0)
		return 0;
	memcpy(s, v, n * sizeof(*v));
	/* insertion sort: a hundred values at most */
	for (i = 1; i < n; i++) {
		t = s[i];
		for (j = i; j > 0 && s[j - 1] > t; j--)
			s[j] = s[j - 1];
		s[j] = t;
	}
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void
tg_bench_calc_range(const double *v, unsigned int n, double *lo, double *hi)
{
	unsigned int i;

	*lo = *hi = n ? v[0] : 0;
	for (i = 1; i < n; i++) {
		*lo = v[i] < *lo ? v[i] : *lo;
		*hi = v[i] > *hi ? v[i] : *hi;
	}
}

double
tg_bench_calc_best(const double *v, unsigned int n)
{
	double lo, hi;

	tg_bench_calc_range(v, n, &lo, &hi);
	return lo;
}
