# shellcheck shell=bash
# tools/bench/run-plain.sh — sourced by the wrappers of the DPDK-free
# benchmarks (tools/bench/detect, tools/bench/inspect), which run the same
# way: tg_bench_run_plain BIN [ARGS...] builds, then runs
# $TG_BENCH_BUILD/tools/bench/BIN with ARGS (--help and -h go straight to
# it); TG_BENCH_BUILD is the build directory (default build). Prints
# the machine, its load and the Hyperscan version first: figures from a
# busy machine are not comparable with figures from an idle one. The line
# starting "MACHINE " is for scripts. Call it from the top of the tree.
tg_bench_run_plain() {
	local dir=${TG_BENCH_BUILD:-build} bin a cpu pressure load1 load5 now rev hs
	bin=$dir/tools/bench/$1
	shift

	tools/build "$dir" >&2
	for a in "$@"; do
		if [ "$a" = --help ] || [ "$a" = -h ]; then
			exec "$bin" --help
		fi
	done

	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	pressure=$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu 2>/dev/null || true)
	read -r load1 load5 _ < /proc/loadavg
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo none)
	git diff --quiet HEAD 2>/dev/null || rev="$rev+changes"
	hs=$(pkg-config --modversion libhs 2>/dev/null || echo unknown)
	echo "machine: $(uname -sr), $(nproc) CPUs, ${cpu:-unknown CPU}; Hyperscan $hs; $now"
	echo "load: $load1 $load5 (1, 5 min), CPU pressure ${pressure:-n/a}% (10 s); tree $rev"
	echo "MACHINE nproc=$(nproc) cpu=$(printf '%s' "${cpu:-unknown}" | tr -s ' \t' '__')" \
	     "hs=$hs date=$now load1=$load1 cpu_pressure=${pressure:-na} rev=$rev"
	echo
	exec "$bin" "$@"
}
