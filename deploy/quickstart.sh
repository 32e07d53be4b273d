#!/usr/bin/env bash
# Runs a local demo county (SPEC §10): the center, three edges on their own
# loopback addresses and the device simulator.
#
#   ./deploy/quickstart.sh [--duration SECONDS] [--no-sim] [--dir DIR]
#
# Installs missing Debian packages (deploy/bootstrap.sh), builds a release
# build in ./build, then starts the county. State lives in DIR
# (default ./demo-county).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
duration=0
sim=1
dir=$root/demo-county

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=${2:?--duration needs a number of seconds}; shift 2 ;;
    --no-sim) sim=0; shift ;;
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quickstart: unknown option '$1' (try --help)" >&2; exit 64 ;;
  esac
done
case "$duration" in
  ''|*[!0-9]*) echo "quickstart: --duration must be whole seconds, got '$duration'" >&2; exit 64 ;;
esac

"$root/deploy/bootstrap.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAW_TESTS=OFF >/dev/null
cmake --build "$root/build"

for prog in anwang-center anwang-edge anwang-devsim; do
  if [ ! -x "$root/build/bin/$prog" ]; then
    cat <<MSG
quickstart: built the libraries; $prog does not exist yet.
When the center and edges exist (issues 3-5), this script will run:
  - anwang-center  HTTP 127.0.0.1:8080, ZeroMQ tcp://127.0.0.1:7700, data in $dir/center
  - anwang-edge x3 on 127.0.1.1, 127.0.1.2, 127.0.1.3 (CoAP 5683, DTLS 5684)
  - anwang-devsim  $([ "$sim" -eq 1 ] && echo "with a live scenario" || echo "(skipped: --no-sim)")
and write $dir/env and $dir/pids$([ "$duration" -gt 0 ] && echo ", stopping after ${duration}s").
MSG
    exit 0
  fi
done
