#!/usr/bin/env bash
# The test command: installs what is missing, builds in a fresh folder with
# clang + ASan/UBSan + libFuzzer instrumentation and warnings as errors,
# checks formatting, runs every Criterion suite through ctest, then runs each
# fuzz target for a bounded time on its committed corpus.
#
#   ./deploy/test.sh            whole suite
#   AW_FUZZ_SECONDS=5 ./deploy/test.sh     shorter fuzzing
#   AW_BUILD_DIR=/tmp/b ./deploy/test.sh   build elsewhere
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${AW_BUILD_DIR:-$root/build-test}
fuzz_seconds=${AW_FUZZ_SECONDS:-30}
jobs=${AW_TEST_JOBS:-$(nproc)}

step() { printf '\n== %s\n' "$*"; }

step "bootstrap"
"$root/deploy/bootstrap.sh"

step "format check"
"$root/deploy/check-format.sh"

step "configure and build ($build)"
rm -rf "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAW_SANITIZE=ON -DAW_FUZZ=ON -DAW_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"

step "unit, property, crash and integration tests (ctest -j$jobs)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log="$build/ctest.log"
set +e
ctest --test-dir "$build" -j "$jobs" --output-on-failure -V >"$log" 2>&1
ctest_rc=$?
set -e
grep -E 'Synthesis:' "$log" | sed 's/^[0-9]*: //' || true
grep -E '^(Test project|[0-9]+% tests passed|The following tests FAILED|Total Test time)' -A 20 "$log" |
  grep -vE '^\s*[0-9]+: ' | tail -n 25
if [ "$ctest_rc" -ne 0 ]; then
  echo "ctest failed (rc=$ctest_rc); full log: $log" >&2
  grep -E '\[FAIL\]|Assertion|ERROR: AddressSanitizer|runtime error' "$log" | head -n 40 >&2 || true
fi

step "fuzzing (${fuzz_seconds}s per target)"
fuzz_rc=0
"$root/tests/fuzz/run.sh" "$build" "$fuzz_seconds" || fuzz_rc=$?

step "summary"
# Criterion's per-suite "Synthesis" lines, summed; a suite that died before
# printing one still shows in ctest's count of failed suites.
sum() { grep -E 'Synthesis: Tested' "$log" | grep -oE "$1: [0-9]+" | awk '{ n += $2 } END { print n + 0 }'; }
cases=$(sum Tested)
failing=$(($(sum Failing) + $(sum Crashing)))
suites_failed=$(grep -oE '[0-9]+ tests failed out of' "$log" | tail -n 1 | awk '{print $1}')
grep -E '[0-9]+% tests passed' "$log" | tail -n 1 | sed 's/tests/suites/g'
echo "fuzzing: $([ "$fuzz_rc" -eq 0 ] && echo ok || echo FAILED)"
failed=$failing
[ "${suites_failed:-0}" -gt "$failed" ] && failed=${suites_failed:-0}
echo "tests: $((cases - failing)) passed, ${failed} failed"
[ "$ctest_rc" -eq 0 ] && [ "$fuzz_rc" -eq 0 ]
