#!/usr/bin/env bash
# Runs every libFuzzer target of a build for a bounded time on a scratch copy
# of its committed corpus (tests/fuzz/corpus/<target>/), under the sanitizers
# the build was made with. New inputs stay in the scratch copy; a crash input
# is kept in the build folder and fails the run.
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
out="$build/fuzz-out"
mkdir -p "$out"

rc=0
found=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  corpus="$here/corpus/$name"
  if [ ! -d "$corpus" ]; then
    echo "fuzz: $name: no seed corpus at $corpus" >&2
    rc=1
    continue
  fi
  work="$out/$name.corpus"
  rm -rf "$work" && mkdir -p "$work"
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$out/$name-" -print_final_stats=1 \
       "$work" "$corpus" >"$out/$name.log" 2>&1; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$out/$name.log" | grep -oE '[0-9]+$' || echo '?')
    echo "fuzz: $name: ok, $runs executions in ${seconds}s"
  else
    echo "fuzz: $name: FAILED, see $out/$name.log" >&2
    tail -n 30 "$out/$name.log" >&2
    rc=1
  fi
done
if [ "$found" -eq 0 ]; then
  echo "fuzz: no fuzz targets in $build/tests/fuzz (configure with -DAW_FUZZ=ON)" >&2
  rc=1
fi
exit "$rc"
