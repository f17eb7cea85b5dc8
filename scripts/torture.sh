#!/usr/bin/env bash
# Fault injection over the store-level unit tests (issue 12, item 2; the
# idea of curl's torture tests). For each test of each binary of Meson's
# suite 'store', each mode (error: the Nth store call fails with
# PC_ERR_STORE; busy: with PC_ERR_BUSY) and each backend (SQLite, and
# PostgreSQL on a throwaway cluster), it replays the test alone for N = 1,
# 2, ... K, where a first run that fails nothing (PC_FAULT_N=0) counted K
# store calls: a run with N = K + 1 would complete without the fault
# firing. tests/unit/fault.c
# checks each injected failure (the injected error reached the caller, no
# partial write, no transaction left open) and ASan/LSan check memory; any
# other end of a run (a check failed, a leak, a crash, a hang, a test that
# failed) counts as a failure of that test.
#
#   scripts/torture.sh [options] [BUILD_DIR]
#     --unique       only the first N of each distinct failure point (the
#                    outer store function, the operation, the statement,
#                    first/second/later time in that call: fault.c's trace)
#     --every K      sample: every K-th of the chosen N only, from an offset
#                    fixed by --seed and the test's name (default 1: every
#                    N, the exhaustive replay of `make torture`)
#     --seed S       the sampling seed (default 12)
#     --backend B    sqlite, pg or both (default both)
#     --mode M       error, busy, both (default) or alternate (one mode per
#                    N, alternating: the bounded pass of `make test`)
#     --jobs J       parallel workers (default 2)
#     --only PAT     only test binaries whose name matches PAT (grep -E)
#
# Each test on each backend is first run once counting its store calls
# (PC_FAULT_N=0): K, the failure points, and their signatures
# (PC_FAULT_TRACE). Prints a line per (backend, binary), the failures with
# their output, the number of injected runs and failure points, and a
# closing "torture  N passed, N failed" line counting (backend, test) cases.
set -uo pipefail
cd "$(dirname "$0")/.."

every=1
unique=0
seed=12
backends=both
modes=both
jobs=2
only=.
while [ $# -gt 0 ]; do
  case $1 in
  --every) every=$2; shift 2 ;;
  --unique) unique=1; shift ;;
  --seed) seed=$2; shift 2 ;;
  --backend) backends=$2; shift 2 ;;
  --mode) modes=$2; shift 2 ;;
  --jobs) jobs=$2; shift 2 ;;
  --only) only=$2; shift 2 ;;
  -*) echo "torture: unknown option $1" >&2; exit 2 ;;
  *) break ;;
  esac
done
build=${1:-build-test}
[ "$backends" = both ] && backends="sqlite pg"
[ "$modes" = both ] && modes="error busy"
case $modes in error | busy | "error busy" | alternate) ;;
*) echo "torture: --mode error, busy, both or alternate" >&2; exit 2 ;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export CMOCKA_MESSAGE_OUTPUT=TAP
# The fixture makes its stores under TMPDIR: tmpfs spares the fsyncs.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR=/dev/shm
fi
MAX_N=${TORTURE_MAX_N:-20000} # a test that never stops failing
RUN_TIMEOUT=${TORTURE_RUN_TIMEOUT:-120}

# The store-level test binaries, as Meson lists them (suite 'store').
mapfile -t bins < <(meson introspect --tests "$build" | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if any(s == "store" or s.endswith(":store") for s in t["suite"]):
        print(t["cmd"][0])' | sort -u | grep -E "$only")
if [ ${#bins[@]} -eq 0 ]; then
  echo "torture: no store tests in $build (meson introspect --tests)"
  printf '%-28s %3d passed, %d failed\n' "torture" 0 1
  exit 1
fi

tmp=$(mktemp -d /tmp/pc-torture.XXXXXX)
chmod 0755 "$tmp" # the postgres user must reach it when we are root
# Copies: a rebuild while this runs must not change (or break) the tests.
mkdir "$tmp/bin"
for ((i = 0; i < ${#bins[@]}; i++)); do
  cp "${bins[$i]}" "$tmp/bin/" && bins[$i]=$tmp/bin/$(basename "${bins[$i]}")
done
pgdir=
cleanup() {
  [ -n "$pgdir" ] && tests/tools/pg-cluster.sh stop "$pgdir/cluster" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# One test on one backend: a counting run (PC_FAULT_N=0) gives the number
# of store calls K and their signatures; then one run per chosen N and
# mode. Appends "backend bin test K chosen runs failed" to $tmp/results.*
# and the failures' output to $tmp/log.*.
run_one() { # BIN TEST URL N MODE [TRACE]
  (cd tests/unit && PORTCULLIS_TEST_STORE_URL=$3 PC_FAULT_TEST=$2 \
    PC_FAULT_N=$4 PC_FAULT_MODE=$5 PC_FAULT_TRACE=${6:-} \
    timeout "$RUN_TIMEOUT" "$1" 2>&1)
}
sequence() {
  local bin=$1 test=$2 backend=$3 url=$4 name seedn off k=0 out rc i n mode
  local runs=0 failed=0 trace=$tmp/trace.$BASHPID
  name=$(basename "$bin")
  log() { echo "$*" >>"$tmp/log.$BASHPID"; }
  out=$(run_one "$bin" "$test" "$url" 0 error "$trace"); rc=$?
  if [ $rc -ne 0 ] || ! grep -q '^fault: not reached' <<<"$out"; then
    log "--- FAILED: $backend $name $test fails without any fault (exit $rc)"
    grep -vE 'store.migrated|^ok ' <<<"$out" | tail -20 >>"$tmp/log.$BASHPID"
    echo "$backend $name $test 0 0 0 1" >>"$tmp/results.$BASHPID"
    return
  fi
  k=$(sed -nE 's/^fault: not reached \(([0-9]+) calls counted\)$/\1/p' <<<"$out")
  if [ "$unique" = 1 ]; then
    mapfile -t ns < <(awk '!seen[$2]++ { print $1 }' "$trace")
  else
    mapfile -t ns < <(seq 1 "$k")
  fi
  seedn=$(printf '%s' "$seed:$name:$test:$backend" | cksum | cut -d' ' -f1)
  off=$((seedn % every))
  chosen=0
  for ((i = off; i < ${#ns[@]}; i += every)); do
    n=${ns[$i]}
    chosen=$((chosen + 1))
    if [ "$modes" = alternate ]; then
      set -- $([ $(( (i / every + seedn) % 2 )) -eq 0 ] && echo error || echo busy)
    else
      set -- $modes
    fi
    for mode in "$@"; do
      out=$(run_one "$bin" "$test" "$url" "$n" "$mode"); rc=$?
      runs=$((runs + 1))
      if [ $rc -eq 0 ] && grep -qE '^fault: (survived|not reached)' <<<"$out"; then
        continue # not reached: a concurrent phase counted differently
      fi
      failed=$((failed + 1))
      log "--- FAILED: $backend $mode $name $test N=$n (exit $rc)"
      grep -E '^fault: |^not ok|ERROR|SUMMARY|runtime error|    #[0-9]+ 0x' <<<"$out" |
        grep -v store.migrated | head -30 >>"$tmp/log.$BASHPID"
    done
  done
  rm -f "$trace"
  echo "$backend $name $test $k ${#ns[@]} $runs $failed" >>"$tmp/results.$BASHPID"
}

# A worker runs its share of the sequences one after the other, on its own
# PostgreSQL database (the fixture empties the database it is given).
worker() { # WORKER_INDEX URL_PREFIX
  local i=$1 url line
  while read -r line; do
    set -- $line
    url=
    [ "$3" = pg ] && url=$(sed "s|/portcullis?|/portcullis_w$i?|" <<<"$pgurl")
    sequence "$1" "$2" "$3" "$url"
  done
}

if grep -qw pg <<<"$backends"; then
  pgdir=$tmp/pg
  mkdir -p "$pgdir" && chmod 0755 "$pgdir"
  if ! pgurl=$(tests/tools/pg-cluster.sh start "$pgdir/cluster"); then
    echo "torture: cannot start a PostgreSQL cluster"
    printf '%-28s %3d passed, %d failed\n' "torture" 0 1
    exit 1
  fi
  port=$(cat "$pgdir/cluster/port")
  for ((i = 0; i < jobs; i++)); do
    createdb -h "$pgdir/cluster" -p "$port" -U postgres "portcullis_w$i"
  done
fi

# The tests of each binary: its static test_* functions (cmocka runs one
# alone when PC_FAULT_TEST names it; a name that is no test runs nothing).
: >"$tmp/jobs"
for bin in "${bins[@]}"; do
  mapfile -t names < <(nm "$bin" | awk '$2 ~ /^[tT]$/ && $3 ~ /^test_/ { print $3 }' |
    grep -vxE 'test_store_url|test_store_is_pg' | sort -u)
  for backend in $backends; do
    for t in "${names[@]}"; do echo "$bin $t $backend" >>"$tmp/jobs"; done
  done
done

start=$(date +%s)
# Deal the sequences to the workers round-robin (the pg ones too).
for ((i = 0; i < jobs; i++)); do
  awk -v j="$jobs" -v i="$i" 'NR % j == i' "$tmp/jobs" | worker "$i" &
done
wait
secs=$(( $(date +%s) - start ))

cat "$tmp"/results.* >"$tmp/all" 2>/dev/null
pass=0
fail=0
points=0
runs=0
while read -r backend bin test k nn r f; do
  points=$((points + k)); runs=$((runs + r))
  if [ "$f" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done <"$tmp/all"
# Per backend and binary: store calls (failure points), distinct ones,
# injected runs, failed runs.
awk '{ k = $1 " " $2; p[k] += $4; u[k] += $5; r[k] += $6; f[k] += $7; t[k]++ }
  END { for (k in p) printf "%-34s %3d tests %6d points %5d distinct %5d runs %d failed\n", k, t[k], p[k], u[k], r[k], f[k] }' \
  "$tmp/all" | sort
cat "$tmp"/log.* 2>/dev/null | head -600
what="every N"; [ "$unique" = 1 ] && what="every distinct N"
[ "$every" -gt 1 ] && what="$what, 1 in $every (seed $seed)"
echo "torture: $runs injected runs over $points failure points ($what; $backends; $modes) in ${secs}s"
printf '%-28s %3d passed, %d failed\n' "torture" "$pass" "$fail"
[ "$fail" -eq 0 ]
