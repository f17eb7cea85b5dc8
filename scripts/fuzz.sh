#!/usr/bin/env bash
# Runs every libFuzzer driver built in build-fuzz for N seconds each
# (default: $FUZZ_SECONDS, else 60) over a scratch copy of its committed
# corpus, so a run never changes tests/fuzz/corpus/. Crashes, leaks and
# timeouts land in tests/fuzz/artifacts/ with the fuzzer's log.
#
#   scripts/fuzz.sh [seconds [name...]]	FUZZ_BUILD=dir overrides build-fuzz
#
# `make fuzz` runs it with FUZZ_SECONDS (default 600); `make test` runs a
# 10-second smoke pass. Names (config, router, ...) pick drivers.
#
# Prints per driver (tests/fuzz/fuzz_<name>.c) "fuzz <name>: N executions
# in S s (R exec/s)" and then "fuzz <name>: ok" or "fuzz <name>: FAILED",
# then "N passed, M failed"; exits 1 if anything failed, or a driver in
# the tree was not built.
set -u

secs=${1:-${FUZZ_SECONDS:-60}}
case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [seconds [name...]]" >&2
	exit 2
	;;
esac
[ "$secs" -gt 0 ] || secs=1
[ $# -gt 0 ] && shift
only=" $* "

top=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
srcdir=$top/tests/fuzz
artifacts=$srcdir/artifacts

if [ ! -d "$build/tests/fuzz" ]; then
	echo "fuzz: no fuzzers in $build; configure it with:" >&2
	echo "  CC=clang meson setup build-fuzz -Dfuzz=true" \
	    "-Db_sanitize=address,undefined -Db_lundef=false" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/pc-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts" || exit 1

# UBSan recovers by default; a fuzzer must stop at the first report.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
# A 16 MB quarantine (ASan's default is 256 MB) still holds every block an
# execution frees; cycling through 256 MB of fresh pages costs the small
# harnesses half their speed in page faults.
case $ASAN_OPTIONS in
*quarantine_size_mb=*) ;;
*) ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=16 ;;
esac

# "fuzz NAME: N executions in S s (R exec/s)" from -print_final_stats.
stats() {
	local n r t
	n=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$2" |
	    tail -n 1)
	r=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$2" |
	    tail -n 1)
	t=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$2" |
	    tail -n 1)
	echo "fuzz $1: ${n:-?} executions in ${t:-?} s (${r:-?} exec/s)"
}

pass=0
fail=0
for src in "$srcdir"/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	short=${name#fuzz_}
	if [ "$only" != "  " ] && [ "${only#* "$short" }" = "$only" ]; then
		continue
	fi
	bin=$build/tests/fuzz/$name
	if [ ! -x "$bin" ]; then
		# A driver in the tree that is not built is a hole, not a pass.
		echo "fuzz $name: not built in $build (reconfigure it)" >&2
		echo "fuzz $short: FAILED"
		fail=$((fail + 1))
		continue
	fi
	work=$scratch/$name
	mkdir -p "$work" || exit 1
	corpus=$srcdir/corpus/$short
	if [ -d "$corpus" ]; then
		cp -R "$corpus"/. "$work"/ || exit 1
	fi
	log=$artifacts/$name.log
	# The outer timeout only guards against a wedged fuzzer.
	if timeout -k 10 $((secs + 120)) "$bin" \
	    -max_total_time="$secs" -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$artifacts/$name-" "$work" >"$log" 2>&1; then
		stats "$short" "$log"
		echo "fuzz $short: ok"
		pass=$((pass + 1))
		rm -f "$log"
	else
		stats "$short" "$log"
		tail -n 30 "$log" >&2
		echo "fuzz $name: see $log and $artifacts/$name-*" >&2
		echo "fuzz $short: FAILED"
		fail=$((fail + 1))
	fi
done

if [ $((pass + fail)) -eq 0 ]; then
	echo "fuzz: no drivers found in $srcdir" >&2
	fail=1
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
