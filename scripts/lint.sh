#!/usr/bin/env bash
# The house rules (scripts/checksrc.py, and its self-test), then clang-tidy,
# cppcheck and clang-format over the project's C sources; one
# "lint <check>: ok|FAILED" line each, non-zero exit if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-test}
rc=0
mapfile -t srcs < <(git ls-files 'src/*.c' 'tests/unit/*.c' 'tests/tools/*.c' 'tests/fuzz/*.c' 'bench/*.c' | grep -v '^tests/fuzz/' )
mapfile -t all < <(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c')

# The checker's own tests first: a rule that stopped firing would pass the
# tree below for the wrong reason.
out=$(python3 tests/lint/test_checksrc.py 2>&1)
if [ $? -ne 0 ]; then
  echo "$out" | tail -40
  echo "lint checksrc self-test: FAILED"; rc=1
else
  echo "lint checksrc self-test: ok"
fi

out=$(python3 scripts/checksrc.py 2>&1)
if [ $? -ne 0 ]; then
  echo "$out" | grep -v '^checksrc: controls without' | head -80
  echo "lint checksrc: FAILED"; rc=1
else
  grep '^checksrc: controls without' <<<"$out"
  echo "lint checksrc: ok"
fi

# One clang-tidy per core, a few files each: the slowest check, halved.
out=$(printf '%s\0' "${srcs[@]}" |
  xargs -0 -n 4 -P "$(nproc)" clang-tidy -p "$build" --quiet 2>&1)
if grep -qE '(warning|error):' <<<"$out"; then
  grep -E '(warning|error):' <<<"$out" | head -60
  echo "lint clang-tidy: FAILED"; rc=1
else
  echo "lint clang-tidy: ok"
fi

out=$(cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
  --inline-suppr --suppress=missingIncludeSystem --suppress=ctunullpointer -I src -I "$build" \
  -D__GNUC__ -DPC_VERSION='"x"' "${srcs[@]}" 2>&1)
if [ $? -ne 0 ] || [ -n "$out" ]; then
  echo "$out" | head -60
  echo "lint cppcheck: FAILED"; rc=1
else
  echo "lint cppcheck: ok"
fi

bad=$(clang-format --dry-run --Werror "${all[@]}" 2>&1 | grep -E '^[^ ].*: error' | cut -d: -f1 | sort -u)
if [ -n "$bad" ]; then
  echo "not formatted (make format): $bad"
  echo "lint clang-format: FAILED"; rc=1
else
  echo "lint clang-format: ok"
fi
exit $rc
