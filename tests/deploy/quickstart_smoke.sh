#!/usr/bin/env bash
# quickstart_smoke: runs deploy/quickstart.sh for 20 s on the programs of an
# existing build (no apt-get, no build) and checks what SPEC §10 promises:
# DIR/env and DIR/pids with the right lines, the processes running, readings
# reaching all three edges (devices online), the three edges at the center
# when the edges have an uplink, and exit status 0 after a clean stop.
#
#   tests/deploy/quickstart_smoke.sh BUILD_DIR
#
# It runs on addresses and ports of its own (AW_QS_* test overrides of
# quickstart.sh, derived from its PID), so `ctest -j` and a real demo county
# on 127.0.1.x can run beside it.
set -euo pipefail

build=${1:?usage: quickstart_smoke.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$build/bin" && pwd)
duration=${AW_QS_SMOKE_DURATION:-20}

work=$(mktemp -d "${TMPDIR:-/tmp}/aw-qs-smoke.XXXXXX")
dir=$work/county
out=$work/quickstart.out
qs_pid=
checks=0
failed=0

# this run's addresses: 127.A.B.1-3 for the edges, 127.A.B.9 for the sirens
a=$((64 + $$ % 128))
b=$((1 + ($$ / 128) % 250))
export AW_QS_EDGE_NET=127.$a.$b
export AW_QS_SIREN_HOST=127.$a.$b.9
port_busy() { # port: in use over TCP or UDP on any address
  command -v ss >/dev/null 2>&1 || return 1
  [ -n "$(ss -Htuln "sport = :$1" 2>/dev/null)" ]
}
off=$(($$ % 9000))
for _ in $(seq 1 20); do
  port_busy $((20000 + off)) || port_busy $((30000 + off)) || port_busy $((40000 + off)) ||
    port_busy $((50000 + off)) || break
  off=$(((off + 997) % 9000))
done
export AW_QS_CENTER_PORT=$((20000 + off))
export AW_QS_HTTP=127.$a.$b.10:$((30000 + off))
export AW_QS_COAP_PORT=$((40000 + off))
export AW_QS_DTLS_PORT=$((50000 + off))
export AW_BIN_DIR=$bin

ok() { checks=$((checks + 1)); printf '[PASS] %s\n' "$*"; }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); printf '[FAIL] %s\n' "$*"; }
check() { # description command...
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

cleanup() {
  local rc=$? name pid
  if [ -n "$qs_pid" ] && kill -0 "$qs_pid" 2>/dev/null; then
    kill -TERM "$qs_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$qs_pid" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$qs_pid" 2>/dev/null || true
  fi
  # stragglers the quickstart left (it removes DIR/pids when it stops cleanly)
  if [ -f "$work/pids.seen" ]; then
    while read -r name pid; do
      if kill -0 "$pid" 2>/dev/null && grep -q "$dir" "/proc/$pid/cmdline" 2>/dev/null; then
        echo "cleanup: $name (pid $pid) still running: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done <"$work/pids.seen"
  fi
  if [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "--- quickstart output"
    cat "$out" 2>/dev/null || true
    for f in "$dir"/logs/*.log; do
      [ -f "$f" ] || continue
      echo "--- $f (last 15 lines)"
      tail -n 15 "$f"
    done
    echo "kept $work for a look"
  fi
}
trap cleanup EXIT

# the committed registry is what its committed generator writes
if command -v python3 >/dev/null 2>&1; then
  check "deploy/registry/county.json is make-county.py's output" \
    cmp -s <(python3 "$root/deploy/registry/make-county.py" -o -) "$root/deploy/registry/county.json"
fi

echo "quickstart smoke: edges on $AW_QS_EDGE_NET.1-3:$AW_QS_COAP_PORT, center tcp://127.0.0.1:$AW_QS_CENTER_PORT, dir $dir"
"$root/deploy/quickstart.sh" --no-build --duration "$duration" --dir "$dir" >"$out" 2>&1 &
qs_pid=$!

# --- up: DIR/env appears once the county runs
deadline=$((SECONDS + 60))
while [ ! -f "$dir/env" ] && kill -0 "$qs_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
  sleep 0.3
done
if [ ! -f "$dir/env" ]; then
  bad "the county came up and wrote DIR/env within 60 s"
  exit 1
fi
ok "the county came up and wrote DIR/env"
cp "$dir/pids" "$work/pids.seen"

# --- DIR/env: shell-sourceable, the lines of SPEC §10
env_ok() {
  (
    set +u
    # shellcheck disable=SC1091
    . "$dir/env"
    net=$AW_QS_EDGE_NET port=$AW_QS_COAP_PORT
    [ "$ANWANG_EDGE_1" = "yueyang/rongjiawan coap://$net.1:$port" ] || { echo "ANWANG_EDGE_1='$ANWANG_EDGE_1'"; exit 1; }
    [ "$ANWANG_EDGE_2" = "yueyang/matang coap://$net.2:$port" ] || { echo "ANWANG_EDGE_2='$ANWANG_EDGE_2'"; exit 1; }
    [ "$ANWANG_EDGE_3" = "yueyang/gongyeyuan coap://$net.3:$port" ] || { echo "ANWANG_EDGE_3='$ANWANG_EDGE_3'"; exit 1; }
    [ "$ANWANG_ZMQ" = "tcp://127.0.0.1:$AW_QS_CENTER_PORT" ] || { echo "ANWANG_ZMQ='$ANWANG_ZMQ'"; exit 1; }
    [ ${#ANWANG_CENTER_KEY} -eq 40 ] || { echo "ANWANG_CENTER_KEY='$ANWANG_CENTER_KEY'"; exit 1; }
    [ -s "$ANWANG_PSK_FILE" ] || { echo "ANWANG_PSK_FILE='$ANWANG_PSK_FILE' is not a file"; exit 1; }
    # SPEC §3 key file: <identity> <hex key> <device>[,<device>...]
    grep -v '^#' "$ANWANG_PSK_FILE" | grep -qvE '^[!-~]{1,64} ([0-9a-f]{2})+ [a-z0-9._-]+(,[a-z0-9._-]+)*$' &&
      { echo "malformed key file line"; exit 1; }
    [ "$ANWANG_API" = "http://$AW_QS_HTTP" ] || { echo "ANWANG_API='$ANWANG_API'"; exit 1; }
    for t in "$ANWANG_TOKEN_VIEWER" "$ANWANG_TOKEN_OPERATOR" "$ANWANG_TOKEN_ADMIN"; do
      [ ${#t} -ge 16 ] || { echo "a token is missing or short: '$t'"; exit 1; }
    done
  )
}
check "DIR/env has the API, its tokens, the edges, key file, ZeroMQ endpoint and center key" env_ok

# --- DIR/pids: one line per process, each running the right program
pids_ok() {
  local want=(center edge-1 edge-2 edge-3 devsim) got name pid prog
  got=$(awk '{print $1}' "$dir/pids" | tr '\n' ' ')
  [ "$got" = "${want[*]} " ] || { echo "names in DIR/pids: $got"; return 1; }
  while read -r name pid; do
    case "$name" in center) prog=anwang-center ;; edge-*) prog=anwang-edge ;; devsim) prog=anwang-devsim ;; esac
    kill -0 "$pid" 2>/dev/null || { echo "$name (pid $pid) is not running"; return 1; }
    [ "$(basename "$(readlink "/proc/$pid/exe")")" = "$prog" ] || { echo "$name (pid $pid) is not $prog"; return 1; }
  done <"$dir/pids"
}
check "DIR/pids names center, edge-1..3 and devsim, all running" pids_ok

# --- readings reach every edge; the center sees every edge (with an uplink)
field() { # JSON text, key: the first integer value of "key"
  grep -oE "\"$2\": *[0-9]+" <<<"$1" | head -n 1 | grep -oE '[0-9]+$'
}
online=(0 0 0)
uplink=disabled
deadline=$((SECONDS + duration - 4))
while [ $SECONDS -lt $deadline ]; do
  all=1
  for n in 1 2 3; do
    # the DIR/env line itself ("ZONE URI") is what the CLI takes
    line=$(sed -n "s/^ANWANG_EDGE_$n='\\(.*\\)'\$/\\1/p" "$dir/env")
    js=$("$bin/anwang" edge status "$line" --json --timeout 2 2>/dev/null) || js=
    online[n - 1]=$(field "$js" online || echo 0)
    [ "${online[n - 1]:-0}" -gt 0 ] || all=0
    st=$(grep -A3 '"uplink"' <<<"$js" | grep -oE '"state": *"[a-z-]+"' | head -n 1 | cut -d'"' -f4 || true)
    [ -n "$st" ] && uplink=$st
  done
  [ "$all" -eq 1 ] && break
  sleep 1
done
if [ "${online[0]}" -gt 0 ] && [ "${online[1]}" -gt 0 ] && [ "${online[2]}" -gt 0 ]; then
  ok "readings reached all three edges (devices online: ${online[*]})"
else
  bad "readings reached all three edges (devices online: ${online[*]})"
fi

if [ "$uplink" = disabled ]; then
  echo "[SKIP] the edges have no uplink: the center is not checked"
else
  ups=0
  while [ $SECONDS -lt $deadline ]; do
    ups=$("$bin/anwang" center status --data "$dir/center" --json 2>/dev/null | grep -cE '"state": *"up"' || true)
    [ "$ups" -ge 3 ] && break
    sleep 1
  done
  if [ "$ups" -ge 3 ]; then ok "the center shows 3 edges up"; else bad "the center shows 3 edges up (got $ups)"; fi
fi

# --- the API: the picture shows the three zones linked, through the CLI
api_ok() {
  local js n
  for _ in $(seq 1 30); do
    js=$(set -a; . "$dir/env"; "$bin/anwang" picture --depth 1 --json 2>&1) || js=
    n=$(grep -cE '"connected": *true' <<<"$js" || true)
    [ "$n" -ge 3 ] && return 0
    sleep 1
  done
  echo "picture: ${js:0:600}"
  return 1
}
check "anwang picture (HTTP API) shows the three zones connected" api_ok

# --- it stops by itself after --duration and exits 0
qs_rc=0
wait "$qs_pid" || qs_rc=$?
qs_pid=
check "quickstart exited 0 after --duration (rc=$qs_rc)" test "$qs_rc" -eq 0
check "quickstart reported a clean stop" grep -q "everything stopped cleanly" "$out"
stopped() {
  local name pid
  while read -r name pid; do
    kill -0 "$pid" 2>/dev/null && grep -q "$dir" "/proc/$pid/cmdline" 2>/dev/null &&
      { echo "$name (pid $pid) still runs"; return 1; }
  done <"$work/pids.seen"
  return 0
}
check "no process of the county is left" stopped

# a Criterion-style line, so deploy/test.sh counts these checks
echo "[====] Synthesis: Tested: $checks | Passing: $((checks - failed)) | Failing: $failed | Crashing: 0"
[ "$failed" -eq 0 ]
