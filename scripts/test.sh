#!/usr/bin/env bash
# Runs every suite against the sanitizer build and prints one closing line,
# "N passed, N failed", summing them all: unit (cmocka, on SQLite then the
# store-level ones on PostgreSQL), fault injection (a bounded pass of
# scripts/torture.sh), e2e (node --test), fuzz smoke (libFuzzer), lint
# (clang-tidy, cppcheck, clang-format).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-test}
pass=0
fail=0
failed=()

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

note() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }

# unit: each cmocka binary speaks TAP
note "unit tests (cmocka, ASan+UBSan)"
# Meson refuses an unlisted tests/unit/test_*.c at configuration; one added
# since the build directory was configured has no binary yet: a failure.
for src in tests/unit/test_*.c; do
  name=$(basename "$src" .c)
  if [ ! -x "$build/tests/unit/$name" ]; then
    echo "$name: no binary in $build (reconfigure: meson setup --reconfigure $build)"
    fail=$((fail + 1)); failed+=("$name")
  fi
done
for t in "$build"/tests/unit/test_*; do
  [ -f "$t" ] && [ -x "$t" ] || continue
  name=$(basename "$t")
  out=$(cd tests/unit && CMOCKA_MESSAGE_OUTPUT=TAP "$OLDPWD/$t" 2>&1)
  rc=$?
  ok=$(grep -cE '^ok ' <<<"$out")
  nok=$(grep -cE '^not ok ' <<<"$out")
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
  pass=$((pass + ok)); fail=$((fail + nok))
  printf '%-28s %3d passed, %d failed\n' "$name" "$ok" "$nok"
  if [ "$nok" -ne 0 ]; then failed+=("$name"); echo "$out" | grep -vE '^ok ' | tail -40; fi
done

# unit on PostgreSQL: the store-level tests again, on a throwaway cluster
note "store unit tests on PostgreSQL (scripts/pg-unit.sh)"
out=$(scripts/pg-unit.sh "$build" 2>&1); rc=$?
ok=$(sed -nE 's/^pg-unit +([0-9]+) passed, ([0-9]+) failed$/\1/p' <<<"$out")
nok=$(sed -nE 's/^pg-unit +([0-9]+) passed, ([0-9]+) failed$/\2/p' <<<"$out")
ok=${ok:-0}; nok=${nok:-0}
if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
echo "$out"
pass=$((pass + ok)); fail=$((fail + nok))
[ "$nok" -ne 0 ] && failed+=("pg-unit")

# fault injection: every store-level test, its distinct failure points
# sampled (1 in TORTURE_EVERY, default 40, fixed seed, error and busy
# alternating), on SQLite and PostgreSQL. `make torture` runs them all.
note "fault injection, bounded (scripts/torture.sh)"
out=$(scripts/torture.sh --unique --every "${TORTURE_EVERY:-40}" --mode alternate "$build" 2>&1); rc=$?
ok=$(sed -nE 's/^torture +([0-9]+) passed, ([0-9]+) failed$/\1/p' <<<"$out")
nok=$(sed -nE 's/^torture +([0-9]+) passed, ([0-9]+) failed$/\2/p' <<<"$out")
ok=${ok:-0}; nok=${nok:-0}
if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
echo "$out" | tail -80
pass=$((pass + ok)); fail=$((fail + nok))
[ "$nok" -ne 0 ] && failed+=("torture")

# e2e: node's test runner against the real binary, twice: on SQLite, then
# on a throwaway PostgreSQL cluster where every server gets a database of its
# own (tests/e2e/lib/pg.mjs). Files named pg_*.test.mjs start private
# clusters themselves, and files named host_*.test.mjs test how the server
# fits its host (systemd, nginx, Prometheus, man pages), which no store
# changes, so both run in the first pass only.
export PORTCULLIS_BIN="$PWD/$build/src/portcullis"
export PORTCULLIS_TEST_TOOLS="$PWD/$build/tests/tools"
e2e_pass() { # NAME FILES...
  local name=$1 out rc ok nok
  shift
  out=$(node --test --test-reporter=tap --test-concurrency=2 "$@" 2>&1)
  rc=$?
  ok=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' <<<"$out" | tail -1)
  nok=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' <<<"$out" | tail -1)
  ok=${ok:-0}; nok=${nok:-0}
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
  pass=$((pass + ok)); fail=$((fail + nok))
  printf '%-28s %3d passed, %d failed\n' "$name" "$ok" "$nok"
  if [ "$nok" -ne 0 ]; then
    failed+=("$name")
    grep -nE '^\s*not ok|error:|Error|expected|actual' <<<"$out" | head -80
  fi
}
note "black-box tests (node --test, real binary under ASan+UBSan)"
mapfile -t files < <(ls tests/e2e/*.test.mjs 2>/dev/null)
[ ${#files[@]} -gt 0 ] && e2e_pass e2e "${files[@]}"

note "black-box tests again, on PostgreSQL"
mapfile -t files < <(ls tests/e2e/*.test.mjs 2>/dev/null | grep -vE '/(pg|host)_')
pgdir=$(mktemp -d /tmp/pc-pg-e2e.XXXXXX)
chmod 0755 "$pgdir" # the postgres user must reach it when we are root
if url=$(tests/tools/pg-cluster.sh start "$pgdir/cluster"); then
  PORTCULLIS_TEST_PG=$url e2e_pass "e2e (pg)" "${files[@]}"
else
  echo "cannot start a PostgreSQL cluster"
  fail=$((fail + 1)); failed+=("e2e (pg)")
fi
tests/tools/pg-cluster.sh stop "$pgdir/cluster"
rm -rf "$pgdir"

# fuzz smoke: a short bounded run of every harness
note "fuzz smoke (libFuzzer, 6 s each)"
if command -v clang >/dev/null; then
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true \
      -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  fi
  if ninja -C build-fuzz >/dev/null; then
    out=$(scripts/fuzz.sh 6 2>&1); rc=$?
    ok=$(grep -cE '^fuzz .*: ok$' <<<"$out")
    nok=$(grep -cE '^fuzz .*: FAILED$' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
    echo "$out" | grep -E '^fuzz '
  else
    ok=0; nok=1; echo "fuzz build failed"
  fi
  pass=$((pass + ok)); fail=$((fail + nok))
  [ "$nok" -ne 0 ] && failed+=("fuzz")
fi

# lint: clang-tidy, cppcheck and clang-format, each one check
note "lint"
out=$(scripts/lint.sh "$build" 2>&1); rc=$?
ok=$(grep -cE '^lint .*: ok$' <<<"$out")
nok=$(grep -cE '^lint .*: FAILED$' <<<"$out")
if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
echo "$out" | tail -60
pass=$((pass + ok)); fail=$((fail + nok))
[ "$nok" -ne 0 ] && failed+=("lint")

echo
echo "all suites took $SECONDS s"
[ ${#failed[@]} -gt 0 ] && echo "failed suites: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
