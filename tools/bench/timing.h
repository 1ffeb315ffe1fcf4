/* SPDX-License-Identifier: MIT */
/*
 * timing.h — the clocks and the statistics of rounds every benchmark
 * shares, with no DPDK in them: the DPDK-free benchmarks (detect.c,
 * inspect.c) use them alone, the DPDK ones through common.h, so that every
 * figure is timed and summed up the same way.
 *
 * Clocks: on-CPU nanoseconds of the calling thread
 * (CLOCK_THREAD_CPUTIME_ID), so a preempted round is not charged for the
 * time it did not run; the TSC, read by rdtsc and calibrated against
 * CLOCK_MONOTONIC_RAW where DPDK's rte_get_tsc_hz() is not at hand; and the
 * core clock, by chains of dependent adds, shown beside the TSC because
 * TSC cycles are not core cycles when the core runs faster (turbo).
 *
 * Caveats:
 * - tg_bench_read_tsc() is rdtsc on x86 only; elsewhere it reads
 *   CLOCK_MONOTONIC_RAW in nanoseconds, and tg_bench_calibrate_tsc() then
 *   finds about 1e9.
 * - tg_bench_calibrate_tsc() spins for 200 ms, tg_bench_measure_core_ghz()
 *   for about 0.1 s; the latter knows only x86-64: elsewhere it returns 0.
 * - tg_bench_calc_median() and tg_bench_calc_range() read at most
 *   TG_BENCH_ROUNDS_MAX values.
 */
#ifndef TG_BENCH_TIMING_H
#define TG_BENCH_TIMING_H

#include <stdint.h>

/* Measured rounds at most, and the values tg_bench_calc_median() reads. */
#define TG_BENCH_ROUNDS_MAX 100

/* ---- clocks ---- */

/* On-CPU nanoseconds of the calling thread, or 0 if the clock fails. */
uint64_t tg_bench_read_cpu_ns(void);

/* CLOCK_MONOTONIC_RAW in nanoseconds, or 0 if the clock fails. */
uint64_t tg_bench_read_mono_ns(void);

/* The TSC; CLOCK_MONOTONIC_RAW nanoseconds off x86. Inline: it is read around every run. */
static inline uint64_t
tg_bench_read_tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
#else
	return tg_bench_read_mono_ns();
#endif
}

/* TSC ticks per second, against CLOCK_MONOTONIC_RAW over 200 ms. */
double tg_bench_calibrate_tsc(void);

/*
 * The core clock in GHz, by chains of dependent adds timed in on-CPU
 * nanoseconds; 0 off x86-64. Costs about 0.1 s.
 */
double tg_bench_measure_core_ghz(void);

/*
 * Prints "clock: TSC x GHz, core y GHz (dependent adds)" and the
 * "RESULT name=clock" line for a TSC of hz and a core of ghz.
 */
void tg_bench_print_tsc(double hz, double ghz);

/* ---- statistics of rounds ---- */

/* The median of v[0..n), 0 for none; at most TG_BENCH_ROUNDS_MAX are read. */
double tg_bench_calc_median(const double *v, unsigned int n);

/* The least and the greatest of v[0..n), both 0 for none. */
void tg_bench_calc_range(const double *v, unsigned int n, double *lo, double *hi);

/* The least of v[0..n), 0 for none: the best round of a time. */
double tg_bench_calc_best(const double *v, unsigned int n);

#endif /* TG_BENCH_TIMING_H */
