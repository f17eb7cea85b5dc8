#!/usr/bin/env bash
# Runs the store-level unit tests against PostgreSQL: starts a throwaway
# cluster (tests/tools/pg-cluster.sh), runs each binary with
# PORTCULLIS_TEST_STORE_URL pointing at it, stops and removes the cluster.
# The binaries are those of Meson's suite 'store' (tests/unit/meson.build,
# store_tests), as `meson introspect --tests` lists them.
# Prints one line per binary and a closing "N passed, N failed" line.
#   scripts/pg-unit.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-test}
mapfile -t tests < <(meson introspect --tests "$build" 2>/dev/null | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if any(s == "store" or s.endswith(":store") for s in t["suite"]):
        print(os.path.basename(t["cmd"][0]))' | sort -u)
if [ ${#tests[@]} -eq 0 ]; then
  echo "pg-unit: no tests in Meson's suite 'store' of $build"
  printf '%-28s %3d passed, %d failed\n' "pg-unit" 0 1
  exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

dir=$(mktemp -d /tmp/pc-pg-unit.XXXXXX)
chmod 0755 "$dir" # the postgres user must reach it when we are root
trap 'tests/tools/pg-cluster.sh stop "$dir/cluster"; rm -rf "$dir"' EXIT
if ! url=$(tests/tools/pg-cluster.sh start "$dir/cluster"); then
  echo "pg-unit: cannot start a PostgreSQL cluster"
  printf '%-28s %3d passed, %d failed\n' "pg-unit" 0 1
  exit 1
fi
export PORTCULLIS_TEST_STORE_URL=$url

pass=0
fail=0
for name in "${tests[@]}"; do
  t=$build/tests/unit/$name
  if [ ! -x "$t" ]; then
    echo "pg-unit: $t missing"; fail=$((fail + 1)); continue
  fi
  out=$(cd tests/unit && CMOCKA_MESSAGE_OUTPUT=TAP "$OLDPWD/$t" 2>&1)
  rc=$?
  ok=$(grep -cE '^ok ' <<<"$out")
  nok=$(grep -cE '^not ok ' <<<"$out")
  if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then nok=1; fi
  pass=$((pass + ok)); fail=$((fail + nok))
  printf '%-28s %3d passed, %d failed\n' "$name (pg)" "$ok" "$nok"
  if [ "$nok" -ne 0 ]; then echo "$out" | grep -vE '^ok ' | grep -v store.migrated | tail -40; fi
done
printf '%-28s %3d passed, %d failed\n' "pg-unit" "$pass" "$fail"
[ "$fail" -eq 0 ]
