#!/usr/bin/env bash
# Runs a local demo county (SPEC §10): the center, three edges on their own
# loopback addresses and the device simulator.
#
#   ./deploy/quickstart.sh [--duration SECONDS] [--no-sim] [--dir DIR]
#                          [--fresh] [--no-build]
#
#   --duration SECONDS  stop everything after this long (default: run until
#                       Ctrl-C / SIGTERM)
#   --no-sim            do not start anwang-devsim (no readings, no sirens)
#   --dir DIR           where the county's state lives (default ./demo-county)
#   --fresh             wipe DIR first (keys, stores, logs); without it a re-run
#                       reuses DIR: keys, key file and stores are kept, configs
#                       and the registry copy are written again
#   --no-build          skip deploy/bootstrap.sh and the build; use the
#                       programs in $AW_BIN_DIR (default ./build/bin)
#
# Installs missing Debian packages (deploy/bootstrap.sh), builds a release
# build in ./build, then starts the county: anwang-center (ZeroMQ CURVE on
# tcp://127.0.0.1:7700, data in DIR/center), anwang-edge x3 on 127.0.1.1-3
# (CoAP 5683, DTLS-PSK 5684) for yueyang/rongjiawan, yueyang/matang and
# yueyang/gongyeyuan with the demo registry deploy/registry/county.json, and
# anwang-devsim (a gas leak at 华鑫化工, every other device steady, the sirens).
# Once the county is up it writes DIR/env (source it) and DIR/pids (removed
# again once everything has stopped). A daemon that dies is restarted, up to
# 5 times (DIR/pids follows). Exits 0 when everything stopped cleanly.
#
# DIR holds: env, pids, registry.json (the registry in use), psk.keys (the
# DTLS key file), keys/ (CURVE certificates), allow/ (the center's
# allow-list), conf/ (center.conf, edge-N.conf), center/ and edge-N/ (LMDB
# stores), logs/ (one log per process, sirens.jsonl: what the sirens got).
#
# Exit status: 0 everything stopped cleanly; 1 a process did not stop cleanly
# or kept dying; 64 bad usage; 69 a program is missing or did not come up;
# 75 a county already runs in DIR or on its addresses; 78 a config refused.
#
# Test-only environment (so tests can run beside a real demo, `ctest -j`):
#   AW_QS_EDGE_NET=127.0.12      edges on 127.0.12.1-3 instead of 127.0.1.1-3
#   AW_QS_CENTER_PORT=17700      the center's ZeroMQ port instead of 7700
#   AW_QS_HTTP=127.0.12.10:18080 the center's HTTP API there instead of 127.0.0.1:8080
#   AW_QS_COAP_PORT / AW_QS_DTLS_PORT    the edges' ports (5683 / 5684)
#   AW_QS_SIREN_HOST=127.0.12.9  sirens there instead of 127.0.0.1 (the copy
#                                of the registry in DIR is rewritten to match)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
duration=0
sim=1
fresh=0
build=1
dir=$root/demo-county

usage() { # the comment block at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=${2:?--duration needs a number of seconds}; shift 2 ;;
    --no-sim) sim=0; shift ;;
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quickstart: unknown option '$1' (try --help)" >&2; exit 64 ;;
  esac
done
case "$duration" in
  ''|*[!0-9]*) echo "quickstart: --duration must be whole seconds, got '$duration'" >&2; exit 64 ;;
esac

if [ "$build" -eq 1 ]; then
  "$root/deploy/bootstrap.sh"
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAW_TESTS=OFF >/dev/null
  cmake --build "$root/build"
fi
bin=${AW_BIN_DIR:-$root/build/bin}
for prog in anwang anwang-center anwang-edge anwang-devsim; do
  if [ ! -x "$bin/$prog" ]; then
    echo "quickstart: $bin/$prog is missing; build first (or drop --no-build, or set AW_BIN_DIR)" >&2
    exit 69
  fi
done

# ------------------------------------------------------------------ the county

net=${AW_QS_EDGE_NET:-127.0.1}
center_port=${AW_QS_CENTER_PORT:-7700}
coap_port=${AW_QS_COAP_PORT:-5683}
dtls_port=${AW_QS_DTLS_PORT:-5684}
siren_host=${AW_QS_SIREN_HOST:-127.0.0.1}
zmq="tcp://127.0.0.1:$center_port"
http=${AW_QS_HTTP:-127.0.0.1:8080}
api="http://$http"
registry_src=$root/deploy/registry/county.json
county=yueyang
# edge N: id, zone; devsim's gas leak is at the SPEC's example site
edge_ids=(rongjiawan-1 matang-1 gongyeyuan-1)
edge_zones=("$county/rongjiawan" "$county/matang" "$county/gongyeyuan")
leak_site=$county/rongjiawan/xinqiang/huaxin-chem

# a closed stdout (| head, a gone terminal) must not kill the script before it
# has stopped what it started: writes may fail, they do not end it
say() { printf 'quickstart: %s\n' "$*" 2>/dev/null || true; }
die() { printf 'quickstart: %s\n' "$1" >&2; exit "${2:-1}"; }

# ------------------------------------------------------------------ DIR

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
marker=$dir/.anwang-demo-county
if [ -e "$dir/pids" ]; then
  while read -r name pid; do
    if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null &&
       tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$dir"; then
      die "$name (pid $pid) of a county in $dir is still running; stop that quickstart first" 75
    fi
  done <"$dir/pids"
fi
if [ "$fresh" -eq 1 ] && [ -n "$(ls -A "$dir")" ]; then
  [ -e "$marker" ] || die "--fresh: $dir is not a demo county folder (no $marker); not wiping it" 64
  say "--fresh: wiping $dir"
  find "$dir" -mindepth 1 -delete
fi
if [ ! -e "$marker" ] && [ -n "$(ls -A "$dir")" ]; then
  die "$dir exists and is not a demo county folder; choose another --dir" 64
fi
: >"$marker"
mkdir -p "$dir/keys" "$dir/allow" "$dir/conf" "$dir/logs"
chmod 700 "$dir/keys"
rm -f "$dir/env" "$dir/pids"

# the registry the edges and devsim use: the demo's, sirens moved for tests
sed "s#coap://127\\.0\\.0\\.1:#coap://$siren_host:#g" "$registry_src" >"$dir/registry.json.tmp"
mv "$dir/registry.json.tmp" "$dir/registry.json"

# keys: the center's certificate (Z85 public key on stdout), one per edge
center_key=$("$bin/anwang-center" --init-cert "$dir/keys/center.cert" 2>>"$dir/logs/keys.log")
[ ${#center_key} -eq 40 ] || die "anwang-center --init-cert gave no key (see $dir/logs/keys.log)"
for i in 0 1 2; do
  id=${edge_ids[$i]}
  if [ ! -e "$dir/keys/$id.cert_secret" ]; then
    "$bin/anwang" keygen "$id" --zone "${edge_zones[$i]}" --out "$dir/keys" >>"$dir/logs/keys.log" 2>&1 ||
      die "anwang keygen $id failed (see $dir/logs/keys.log)"
  fi
  cp "$dir/keys/$id.cert" "$dir/allow/$id.cert"
done

# the DTLS key file (SPEC §3): one gateway identity per major hazard site
# (chemicals, mines, fireworks, tailings dams) owning the site's sensors;
# other sites post over plain CoAP, as on an isolated field LAN
psk=$dir/psk.keys
if [ ! -s "$psk" ]; then
  umask_old=$(umask)
  umask 077
  {
    echo "# anwang demo county DTLS-PSK keys: <identity> <key as hex> <device>[,<device>...]"
    awk '
      /"path": "yueyang\/[^"]*\/[^"]*\/[^"]*",/ { split($0, a, "\""); site = a[4]; next }
      /"sector": / { split($0, a, "\""); sector = a[4]; next }
      /^ *\{"id": "[^"]*", .*"kind": "sensor"/ {
        if (sector !~ /^(hazardous-chemicals|non-coal-mine|fireworks|tailings-dam)$/) next
        split($0, a, "\""); n = split(site, p, "/")
        if (site in devs) devs[site] = devs[site] "," a[4]
        else { order[++count] = site; devs[site] = a[4]; slug[site] = p[n] }
      }
      END { for (i = 1; i <= count; i++) print slug[order[i]] "-gw", devs[order[i]] }
    ' "$dir/registry.json" | while read -r ident devices; do
      printf '%s %s %s\n' "$ident" "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" "$devices"
    done
  } >"$psk.tmp"
  umask "$umask_old"
  [ "$(grep -vc '^#' "$psk.tmp")" -gt 0 ] || die "no gateway identities found in $dir/registry.json"
  mv "$psk.tmp" "$psk"
fi

# API tokens, one per role (kept across re-runs, like the keys)
tokens=$dir/keys/tokens
if [ ! -s "$tokens" ]; then
  umask 077
  for role in viewer operator admin; do
    printf '%s %s demo-%s\n' "$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32)" "$role" "$role"
  done >"$tokens.tmp"
  mv "$tokens.tmp" "$tokens"
  umask 022
fi
token_of() { awk -v r="$1" '$2 == r { print $1; exit }' "$tokens"; }

# configs
cat >"$dir/conf/center.conf" <<CONF
# anwang-center of the demo county (written by deploy/quickstart.sh)
[center]
id = $county
name = 岳阳县
data_dir = $dir/center

[store]
map_size = 64M

[zmq]
bind = $zmq
cert = $dir/keys/center.cert
allow_dir = $dir/allow

[http]
bind = $http
tokens = $tokens

[log]
level = info
CONF
for i in 0 1 2; do
  n=$((i + 1))
  cat >"$dir/conf/edge-$n.conf" <<CONF
# anwang-edge $n of the demo county (written by deploy/quickstart.sh)
[edge]
id = ${edge_ids[$i]}
zone = ${edge_zones[$i]}
data_dir = $dir/edge-$n

[store]
map_size = 512M
max_bytes = 256M

[coap]
bind = $net.$n
port = $coap_port
plain = yes
dtls = yes
dtls_port = $dtls_port
psk_file = $psk

[uplink]
center = $zmq
center_key = $center_key
cert = $dir/keys/${edge_ids[$i]}.cert_secret

[log]
level = info
CONF
done

for n in 1 2 3; do
  "$bin/anwang-edge" --check-config -c "$dir/conf/edge-$n.conf" --registry "$dir/registry.json" \
    >>"$dir/logs/check.log" 2>&1 || die "edge-$n config refused: $(tail -n 3 "$dir/logs/check.log")" 78
done
"$bin/anwang-center" --check-config -c "$dir/conf/center.conf" >>"$dir/logs/check.log" 2>&1 ||
  die "center config refused: $(tail -n 3 "$dir/logs/check.log")" 78

# the addresses must be free: a second county (or anything else) on them would
# make a daemon fail at start with a less friendly message
if command -v ss >/dev/null 2>&1; then
  busy=$(
    ss -Hltn "sport = :$center_port" 2>/dev/null | awk '{print "tcp " $4}'
    for n in 1 2 3; do
      ss -Hlun "( sport = :$coap_port or sport = :$dtls_port )" 2>/dev/null |
        awk -v a="$net.$n" '$4 ~ "^(" a "|0\\.0\\.0\\.0|\\*|\\[::\\]):" {print "udp " $4}'
    done | sort -u
  )
  [ -z "$busy" ] || die "in use already: $(echo "$busy" | tr '\n' ' ')(another demo county? see ss -lntup)" 75
fi

# ------------------------------------------------------------------ processes

names=(center edge-1 edge-2 edge-3)
[ "$sim" -eq 1 ] && names+=(devsim)
declare -A pid=() restarts=() log_from=()
stopping=0
gave_up=()

start() { # name
  local name=$1 log=$dir/logs/$1.log
  touch "$log"
  log_from[$name]=$(($(stat -c %s "$log") + 1))
  printf -- '--- %s quickstart: starting %s\n' "$(date -u +%FT%TZ)" "$name" >>"$log"
  case "$name" in
    center) "$bin/anwang-center" -c "$dir/conf/center.conf" >>"$log" 2>&1 & ;;
    edge-*) "$bin/anwang-edge" -c "$dir/conf/$name.conf" >>"$log" 2>&1 & ;;
    devsim)
      local args=(-r "$dir/registry.json" --psk-file "$psk" --progress 30s
                  -s gas-leak --site "$leak_site" --repeat 10m --sirens
                  --siren-log "$dir/logs/sirens.jsonl")
      for i in 0 1 2; do
        args+=(-e "${edge_zones[$i]}=coap://$net.$((i + 1)):$coap_port"
               --dtls "${edge_zones[$i]}=coaps://$net.$((i + 1)):$dtls_port")
      done
      "$bin/anwang-devsim" "${args[@]}" >>"$log" 2>&1 &
      ;;
  esac
  pid[$name]=$!
  write_pids
}

write_pids() {
  local name
  for name in "${names[@]}"; do
    [ -n "${pid[$name]:-}" ] && printf '%s %s\n' "$name" "${pid[$name]}"
  done >"$dir/pids.tmp"
  mv "$dir/pids.tmp" "$dir/pids"
}

alive() { [ -n "${pid[$1]:-}" ] && kill -0 "${pid[$1]}" 2>/dev/null; }

# waits until the center logs that it serves, or fails
wait_center() {
  local deadline=$((SECONDS + 20))
  while [ $SECONDS -lt $deadline ]; do
    alive center || return 1
    tail -c "+${log_from[center]}" "$dir/logs/center.log" | grep -q "serving on $zmq" && return 0
    sleep 0.2
  done
  return 1
}

# waits until the HTTP API answers
wait_api() {
  local deadline=$((SECONDS + 20))
  while [ $SECONDS -lt $deadline ]; do
    alive center || return 1
    curl -fsS -m 2 -H "Authorization: Bearer $(token_of viewer)" "$api/api/v1/status" >/dev/null 2>&1 &&
      return 0
    sleep 0.2
  done
  return 1
}

# imports DIR/registry.json at the center (a 409 means this version is there
# already: a re-run); the center pushes each edge its zone
import_registry() {
  local out code
  out=$(mktemp)
  code=$(curl -sS -m 60 -o "$out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $(token_of admin)" \
    -H 'Content-Type: application/json' --data-binary "@$dir/registry.json" "$api/api/v1/registry") || code=000
  case "$code" in
    200) say "registry imported: $(cat "$out")" ;;
    409) say "registry: the center has this version already" ;;
    *) say "registry import failed (HTTP $code): $(head -c 2000 "$out")"; rm -f "$out"; return 1 ;;
  esac
  rm -f "$out"
}

# waits until edge N answers GET /status with a registry loaded (the center
# pushes it over the down channel right after the edge's Hello)
wait_edge() {
  local n=$1 deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    alive "edge-$n" || return 1
    "$bin/anwang" edge status "coap://$net.$n:$coap_port" --json --timeout 1 2>/dev/null |
      grep -q '"loaded": *true' && return 0
    sleep 0.3
  done
  return 1
}

# SIGTERM to each process (devsim first, the center last), wait with a
# deadline, SIGKILL stragglers; returns non-zero unless all exited with 0
stop_all() {
  local rc=0 name deadline status order=()
  [ -n "${pid[devsim]:-}" ] && order+=(devsim)
  order+=(edge-1 edge-2 edge-3 center)
  for name in "${order[@]}"; do
    [ -n "${pid[$name]:-}" ] || continue
    kill -TERM "${pid[$name]}" 2>/dev/null || true
    [ "$name" = devsim ] && sleep 1 # let the last answers in before the edges go
  done
  deadline=$((SECONDS + 20))
  for name in "${order[@]}"; do
    [ -n "${pid[$name]:-}" ] || continue
    while kill -0 "${pid[$name]}" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "${pid[$name]}" 2>/dev/null; then
      say "$name (pid ${pid[$name]}) did not stop within 20 s: SIGKILL"
      kill -KILL "${pid[$name]}" 2>/dev/null || true
    fi
    status=0
    wait "${pid[$name]}" 2>/dev/null || status=$?
    if [ "$status" -eq 0 ]; then
      say "$name stopped"
    else
      say "$name exited with status $status (see $dir/logs/$name.log)"
      rc=1
    fi
  done
  return "$rc"
}

# shellcheck disable=SC2317 # invoked by the trap
on_signal() { stopping=1; }
# shellcheck disable=SC2317 # invoked by the trap
on_exit() { # an unexpected exit (a failed command under set -e): stop what runs
  if [ "$stopped" -eq 0 ] && [ ${#pid[@]} -gt 0 ]; then
    say "exiting early: stopping what was started"
    stop_all >/dev/null 2>&1 || true
  fi
}
stopped=0
trap '' PIPE
trap on_signal INT TERM
trap on_exit EXIT

say "county $county in $dir (logs in $dir/logs)"
start center
wait_center || { stop_all || true; die "the center did not come up; see $dir/logs/center.log" 69; }
wait_api || { stop_all || true; die "the center's HTTP API ($api) did not answer; see $dir/logs/center.log" 69; }
import_registry || { stop_all || true; die "the center refused the registry $dir/registry.json" 78; }
for n in 1 2 3; do start "edge-$n"; done
for n in 1 2 3; do
  wait_edge "$n" || { stop_all || true; die "edge-$n did not answer /status with the registry from the center; see $dir/logs/edge-$n.log" 69; }
done
if [ "$sim" -eq 1 ]; then
  start devsim
  sleep 1
  alive devsim || { stop_all || true; die "devsim did not start; see $dir/logs/devsim.log" 69; }
fi

# ------------------------------------------------------------------ DIR/env

{
  echo "# the demo county in $dir (deploy/quickstart.sh); source this file"
  echo "ANWANG_API='$api'"
  echo "ANWANG_TOKEN_VIEWER='$(token_of viewer)'"
  echo "ANWANG_TOKEN_OPERATOR='$(token_of operator)'"
  echo "ANWANG_TOKEN_ADMIN='$(token_of admin)'"
  for i in 0 1 2; do
    n=$((i + 1))
    echo "ANWANG_EDGE_$n='${edge_zones[$i]} coap://$net.$n:$coap_port'"
  done
  echo "ANWANG_PSK_FILE='$psk'"
  echo "ANWANG_ZMQ='$zmq'"
  echo "ANWANG_CENTER_KEY='$center_key'"
  echo "ANWANG_CENTER_DATA='$dir/center'"
  echo "export ANWANG_API ANWANG_TOKEN_VIEWER ANWANG_TOKEN_OPERATOR ANWANG_TOKEN_ADMIN ANWANG_PSK_FILE ANWANG_ZMQ ANWANG_CENTER_KEY"
} >"$dir/env.tmp"
mv "$dir/env.tmp" "$dir/env"

summary() {
  cat <<MSG

  岳阳县 demo county is up ($(grep -c '"kind": "sensor"' "$dir/registry.json") sensors in $(grep -c '"sector"' "$dir/registry.json") sites)
    center   $zmq (CURVE; allow-list $dir/allow)    pid ${pid[center]}
    edge-1   ${edge_zones[0]}   coap://$net.1:$coap_port  coaps://$net.1:$dtls_port   pid ${pid[edge-1]}
    edge-2   ${edge_zones[1]}       coap://$net.2:$coap_port  coaps://$net.2:$dtls_port   pid ${pid[edge-2]}
    edge-3   ${edge_zones[2]}   coap://$net.3:$coap_port  coaps://$net.3:$dtls_port   pid ${pid[edge-3]}
MSG
  if [ "$sim" -eq 1 ]; then
    echo "    devsim   every sensor; gas leak at $leak_site (repeats every 10 min); sirens on $siren_host:5690-5692   pid ${pid[devsim]}"
  else
    echo "    devsim   not started (--no-sim)"
  fi
  cat <<MSG

  Look at it:
    . $dir/env
    $bin/anwang center status --data $dir/center
    $bin/anwang edge status coap://$net.1:$coap_port
    tail -f $dir/logs/*.log
    $bin/anwang picture --depth 3
    $bin/anwang alarms
  Dashboard: $api/  (sign in with ANWANG_TOKEN_OPERATOR from $dir/env)
  $([ "$duration" -gt 0 ] && echo "Stopping after ${duration}s; Ctrl-C stops earlier." || echo "Ctrl-C stops the county.")

MSG
}
summary 2>/dev/null || true

# ------------------------------------------------------------------ supervise

end=$((SECONDS + duration))
while [ "$stopping" -eq 0 ]; do
  [ "$duration" -gt 0 ] && [ $SECONDS -ge $end ] && break
  sleep 1 &
  wait $! 2>/dev/null || true
  [ "$stopping" -eq 0 ] || break
  for name in "${names[@]}"; do
    [ -n "${pid[$name]:-}" ] || continue
    alive "$name" && continue
    status=0
    wait "${pid[$name]}" 2>/dev/null || status=$?
    restarts[$name]=$((${restarts[$name]:-0} + 1))
    if [ "${restarts[$name]}" -gt 5 ]; then
      say "$name exited (status $status) again; gave up after 5 restarts (see $dir/logs/$name.log)"
      unset "pid[$name]"
      gave_up+=("$name")
      write_pids
      continue
    fi
    say "$name (pid ${pid[$name]}) exited with status $status; restarting it (see $dir/logs/$name.log)"
    start "$name"
  done
done

say "stopping the county"
rc=0
stop_all || rc=1
stopped=1
rm -f "$dir/pids"
if [ ${#gave_up[@]} -gt 0 ]; then
  say "not running at the end: ${gave_up[*]}"
  rc=1
fi
if [ "$rc" -eq 0 ]; then
  say "everything stopped cleanly"
else
  say "not everything stopped cleanly"
fi
exit "$rc"
