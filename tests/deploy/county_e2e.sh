#!/usr/bin/env bash
# county_e2e: the demo county end to end through the center's HTTP API
# (issue "County center", Tests: end-to-end on loopback).
#
#   tests/deploy/county_e2e.sh BUILD_DIR
#
# Runs deploy/quickstart.sh --no-sim on this build's programs (the registry
# is imported over PUT /api/v1/registry and pushed to the edges), then:
#  - devsim steady on yueyang/gongyeyuan: the zone's devices online in the
#    picture equal the devices whose readings devsim got acknowledged;
#  - devsim dropout on yueyang/matang: stale devices appear in the picture,
#    then go back to 0 when the devices return;
#  - readings posted over CoAP for two devices of one monitored item at a
#    low-risk site of yueyang/rongjiawan, both above their orange threshold:
#    two orange alarms, and the site (and zone) red by GB 51108 escalation;
#    the alarm is acknowledged over the API and the edge's acknowledgement
#    comes back; values back to normal clear both and the site returns to its
#    static colour;
#  - a hazard reported and assigned over the API with a deadline a few
#    seconds away becomes overdue in the picture, gets exactly one automatic
#    notify, and reaches its zone's edge;
#  - a drill issued over the API reaches every siren of gongyeyuan (the
#    delivery report and the sirens' own log agree; none sounds as Actual);
#  - a bad registry is refused with JSON paths and changes nothing.
# Addresses and ports are this run's own (derived from the PID), so
# `ctest -j` and a real demo county can run beside it.
set -euo pipefail

build=${1:?usage: county_e2e.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$build/bin" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/aw-e2e.XXXXXX")
dir=$work/county
out=$work/quickstart.out
qs_pid=
sims=()
checks=0
failed=0

a=$((64 + ($$ + 7) % 128))
b=$((1 + (($$ + 7) / 128) % 250))
export AW_QS_EDGE_NET=127.$a.$b
export AW_QS_SIREN_HOST=127.$a.$b.9
port_busy() {
  command -v ss >/dev/null 2>&1 || return 1
  [ -n "$(ss -Htuln "sport = :$1" 2>/dev/null)" ]
}
off=$((($$ + 4111) % 9000))
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
# until DESCRIPTION SECONDS COMMAND...: polls COMMAND once a second
until_ok() {
  local what=$1 secs=$2 end
  shift 2
  end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do
    if "$@" >/dev/null 2>&1; then ok "$what"; return 0; fi
    sleep 1
  done
  if "$@"; then ok "$what"; return 0; fi
  bad "$what (not within $secs s)"
  return 1
}

cleanup() {
  local rc=$? p
  for p in "${sims[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  if [ -n "$qs_pid" ] && kill -0 "$qs_pid" 2>/dev/null; then
    kill -TERM "$qs_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$qs_pid" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$qs_pid" 2>/dev/null || true
  fi
  for p in "${sims[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "--- quickstart output"
    cat "$out" 2>/dev/null || true
    for f in "$dir"/logs/*.log "$work"/*.log; do
      [ -f "$f" ] || continue
      echo "--- $f (last 20 lines)"
      tail -n 20 "$f"
    done
    echo "kept $work for a look"
  fi
}
trap cleanup EXIT

echo "county e2e: edges on $AW_QS_EDGE_NET.1-3:$AW_QS_COAP_PORT, API http://$AW_QS_HTTP, dir $dir"
"$root/deploy/quickstart.sh" --no-build --no-sim --duration 900 --dir "$dir" >"$out" 2>&1 &
qs_pid=$!
end=$((SECONDS + 90))
while [ ! -f "$dir/env" ] && kill -0 "$qs_pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.3; done
[ -f "$dir/env" ] || { bad "the county came up (DIR/env) within 90 s"; exit 1; }
ok "the county came up with the registry imported over the API"
set -a
# shellcheck disable=SC1091
. "$dir/env"
set +a
reg=$dir/registry.json

api() { # METHOD PATH [TOKEN] [BODY-FILE]: prints the body; fails unless 2xx
  local m=$1 p=$2 t=${3:-$ANWANG_TOKEN_VIEWER} body=${4:-}
  local args=(-sS -m 20 -X "$m" -H "Authorization: Bearer $t" -w '\n%{http_code}')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
  local res code
  res=$(curl "${args[@]}" "$ANWANG_API$p") || return 1
  code=${res##*$'\n'}
  printf '%s\n' "${res%$'\n'*}"
  [ "${code:0:1}" = 2 ]
}
node() { # PATH: the picture node of PATH (depth 0)
  api GET "/api/v1/picture?root=$1&depth=0" | jq -c '.root'
}
zone_of() { echo "$1" | cut -d/ -f1-2; }

# ------------------------------------------------------------ counts
acked=$work/acked-gongyeyuan.txt
"$bin/anwang-devsim" -r "$reg" -z yueyang/gongyeyuan --interval 2s --psk-file "$ANWANG_PSK_FILE" \
  -e "yueyang/gongyeyuan=coap://$AW_QS_EDGE_NET.3:$AW_QS_COAP_PORT" \
  --dtls "yueyang/gongyeyuan=coaps://$AW_QS_EDGE_NET.3:$AW_QS_DTLS_PORT" \
  --acked-log "$acked" --sirens --siren-log "$work/sirens.jsonl" >"$work/devsim-steady.log" 2>&1 &
sims+=($!)
"$bin/anwang-devsim" -r "$reg" -z yueyang/matang --interval 2s --psk-file "$ANWANG_PSK_FILE" \
  -e "yueyang/matang=coap://$AW_QS_EDGE_NET.2:$AW_QS_COAP_PORT" \
  --dtls "yueyang/matang=coaps://$AW_QS_EDGE_NET.2:$AW_QS_DTLS_PORT" \
  -s dropout --dropout-fraction 0.25 --start-after 15s --dropout-for 75s \
  >"$work/devsim-dropout.log" 2>&1 &
sims+=($!)

total_gy=$(jq '[.zones[] | select(.path == "yueyang/gongyeyuan") | .villages[].sites[].devices[]] | length' "$reg")
sensors_gy=$(jq '[.zones[] | select(.path == "yueyang/gongyeyuan") | .villages[].sites[].devices[] | select((.metrics // []) | length > 0)] | length' "$reg")
online_matches() {
  local n want
  n=$(node yueyang/gongyeyuan | jq '.devices.online')
  want=$(cut -d/ -f1 "$acked" 2>/dev/null | sort -u | wc -l)
  [ "$want" -eq "$sensors_gy" ] && [ "$n" -eq "$want" ]
}
until_ok "gongyeyuan: every sensor online in the picture ($sensors_gy, as devsim's acked readings say)" 90 online_matches
total_ok() { [ "$(node yueyang/gongyeyuan | jq '.devices.total')" -eq "$total_gy" ]; }
until_ok "gongyeyuan: devices total is the registry's $total_gy" 5 total_ok
linked() { node yueyang/gongyeyuan | jq -e '.link.connected == true and .link.edge == "gongyeyuan-1"'; }
until_ok "gongyeyuan: the zone shows its edge's link" 5 linked

# ------------------------------------------------------------ stale after dropout
stale_some() { [ "$(node yueyang/matang | jq '.devices.stale')" -gt 0 ]; }
until_ok "matang: devices that dropped out show as stale" 120 stale_some
stale_none() { [ "$(node yueyang/matang | jq '.devices.stale')" -eq 0 ]; }
until_ok "matang: stale back to 0 once they report again" 150 stale_none

# ------------------------------------------------------------ alarms, escalation
# a site of rongjiawan that no DTLS identity owns, static risk blue or yellow,
# with two devices whose metrics share one monitored item with an orange
# threshold (GB 51108: two orange points on one item make it red)
pick=$(jq -c '
  [.zones[] | select(.path == "yueyang/rongjiawan") | .villages[].sites[]
   | select(.risk == "blue" or .risk == "yellow") | . as $s
   | [.devices[] | .id as $d | (.metrics // [])[] | select(.high.orange and .high.red)
      | {d: $d, m: .name, item: (.item // .name), u: .unit, o: .high.orange, r: .high.red}]
   | group_by(.item) | map(select((map(.d) | unique | length) >= 2)) | .[0] // empty
   | {site: $s.path, risk: $s.risk, pts: (unique_by(.d) | .[0:2])}] | first // empty' "$reg")
owned=$(grep -v '^#' "$ANWANG_PSK_FILE" | awk '{print $3}' | tr ',' '\n')
site=$(jq -r '.site' <<<"$pick" 2>/dev/null || true)
if [ -z "$site" ] || grep -qx "$(jq -r '.pts[0].d' <<<"$pick")" <<<"$owned"; then
  bad "found a low-risk rongjiawan site with two devices on one item (pick: $pick)"
else
  risk=$(jq -r '.risk' <<<"$pick")
  post() { # device metric unit value (coap-client 4.3.1 mangles some -e payloads: use -f)
    printf '[{"n":"%s/%s","u":"%s","v":%s}]' "$1" "$2" "$3" "$4" >"$work/pack.json"
    coap-client-notls -m post -t 110 -B 5 -f "$work/pack.json" \
      "coap://$AW_QS_EDGE_NET.1:$AW_QS_COAP_PORT/readings" >/dev/null 2>&1
  }
  drive() { # value expression in jq over a point (e.g. '(.o + .r) / 2')
    local i p
    for i in 1 2 3 4 5; do
      for p in 0 1; do
        post "$(jq -r ".pts[$p].d" <<<"$pick")" "$(jq -r ".pts[$p].m" <<<"$pick")" \
          "$(jq -r ".pts[$p].u" <<<"$pick")" "$(jq ".pts[$p] | $1" <<<"$pick")" || true
      done
      sleep 0.3
    done
  }
  echo "escalation at $site (static $risk): $(jq -c '.pts' <<<"$pick")"
  drive '(.o + .r) / 2'
  escalated() {
    node "$site" | jq -e '.colour == "red" and .alarms.orange == 2 and .alarms.red == 0'
  }
  until_ok "two orange points on one item make $site red (GB 51108)" 60 escalated
  zone_red() { node yueyang/rongjiawan | jq -e '.colour == "red"'; }
  until_ok "and its zone red" 5 zone_red
  aid=$(api GET "/api/v1/alarms?root=$site" | jq -r '.alarms[0].id // empty')
  if [ -n "$aid" ] && api POST "/api/v1/alarms/$aid/ack" "$ANWANG_TOKEN_OPERATOR" >/dev/null; then
    ok "alarm $aid acknowledged over the API (202)"
    acked_back() {
      api GET "/api/v1/alarms?root=$site" | jq -e --arg id "$aid" \
        '.alarms[] | select(.id == $id) | .acknowledged == true'
    }
    until_ok "the edge's acknowledgement came back up" 60 acked_back
  else
    bad "alarm of $site listed and acknowledged over the API (id '$aid')"
  fi
  viewer_ack=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $ANWANG_TOKEN_VIEWER" "$ANWANG_API/api/v1/alarms/$aid/ack")
  [ "$viewer_ack" = 403 ] && ok "a viewer cannot ack (403)" || bad "a viewer cannot ack (got $viewer_ack)"
  drive '0'
  cleared() { node "$site" | jq -e --arg r "$risk" '.colour == $r and .alarms.orange == 0'; }
  until_ok "values back to normal: alarms cleared, $site back to $risk" 60 cleared
fi

# ------------------------------------------------------------ overdue hazard
hsite=$(jq -r '[.zones[] | select(.path == "yueyang/gongyeyuan") | .villages[].sites[]][0] | .path + " " + .sector' "$reg")
cat >"$work/report.json" <<JSON
{"site": "${hsite% *}", "sector": "${hsite#* }", "level": "general", "title": "消防通道堵塞 e2e",
 "source": "inspection", "reporter": "e2e"}
JSON
if hid=$(api POST /api/v1/hazards "$ANWANG_TOKEN_OPERATOR" "$work/report.json" | jq -re '.id'); then
  ok "hazard $hid reported over the API (201)"
  deadline=$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%SZ)
  printf '{"op": "assign", "unit": "园区安监站", "person": "李工", "deadline": "%s"}\n' "$deadline" >"$work/assign.json"
  if api POST "/api/v1/hazards/$hid/events" "$ANWANG_TOKEN_OPERATOR" "$work/assign.json" >/dev/null; then
    ok "hazard assigned with a deadline 4 s away"
  else
    bad "hazard assigned"
  fi
  overdue() {
    api GET "/api/v1/hazards/$hid" | jq -e '.overdue == true and
      ([.ledger[] | select(.op == "notify" and .origin != null and .by == "anwang-center")] | length == 1)'
  }
  until_ok "the hazard turned overdue with one automatic notify" 60 overdue
  pic_overdue() { node yueyang/gongyeyuan | jq -e '.hazards.overdue.general >= 1'; }
  until_ok "the picture counts it overdue" 10 pic_overdue
  at_edge() {
    "$bin/anwang" edge status "coap://$AW_QS_EDGE_NET.3:$AW_QS_COAP_PORT" --json >/dev/null &&
      coap-client-notls -m get -B 5 "coap://$AW_QS_EDGE_NET.3:$AW_QS_COAP_PORT/hazards/$hid" 2>/dev/null |
      grep -q '"assigned"\|"status": *"assigned"'
  }
  until_ok "the hazard and its assignment reached the zone's edge" 60 at_edge
  sleep 12 # two more overdue ticks of the center: still one notify
  until_ok "still exactly one automatic notify after more ticks" 5 overdue
else
  bad "hazard reported over the API"
fi

# ------------------------------------------------------------ drill
printf '{"status": "Exercise", "event": "危化品泄漏演练 e2e", "area": ["yueyang/gongyeyuan"], "urgency": "Immediate", "severity": "Severe", "certainty": "Observed", "headline": "演练 drill"}\n' >"$work/drill.json"
if did=$(api POST /api/v1/alerts "$ANWANG_TOKEN_OPERATOR" "$work/drill.json" | jq -re '.id'); then
  ok "drill $did issued over the API (201)"
  reached_all() {
    api GET "/api/v1/alerts/$did" | jq -e '.report.devices.targeted > 0 and
      .report.devices.reached == .report.devices.targeted and .report.edges.reached == 1'
  }
  until_ok "the drill reached every siren of gongyeyuan (delivery report)" 90 reached_all
  targeted=$(api GET "/api/v1/alerts/$did" | jq '.report.devices.targeted')
  heard=$(jq -r --arg id "$did" 'select(.identifier == $id) | .device' "$work/sirens.jsonl" 2>/dev/null | sort -u | wc -l)
  as_actual=$(jq -r --arg id "$did" 'select(.identifier == $id and .status != "Exercise") | .device' \
    "$work/sirens.jsonl" 2>/dev/null | wc -l)
  if [ "$heard" -eq "$targeted" ] && [ "$as_actual" -eq 0 ]; then
    ok "the sirens logged it ($heard of $targeted), each as a drill, none as Actual"
  else
    bad "the sirens logged it ($heard of $targeted; $as_actual not as Exercise)"
  fi
else
  bad "drill issued over the API"
fi

# ------------------------------------------------------------ bad registry
v_before=$(api GET /api/v1/registry | jq '.version')
jq '.zones[0].villages[0].sites[0].risk = "purple" | .version += 1' "$reg" >"$work/bad.json"
code=$(curl -s -o "$work/bad.out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $ANWANG_TOKEN_ADMIN" \
  -H 'Content-Type: application/json' --data-binary "@$work/bad.json" "$ANWANG_API/api/v1/registry")
if [ "$code" = 400 ] && jq -e '.errors | map(select(test("risk"))) | length >= 1' "$work/bad.out" >/dev/null &&
   [ "$(api GET /api/v1/registry | jq '.version')" = "$v_before" ]; then
  ok "a bad registry is refused (400, the JSON path named) and changes nothing"
else
  bad "a bad registry is refused (HTTP $code: $(head -c 300 "$work/bad.out"))"
fi

# ------------------------------------------------------------ stop
for p in "${sims[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${sims[@]}"; do wait "$p" 2>/dev/null || true; done
sims=()
kill -TERM "$qs_pid"
qs_rc=0
wait "$qs_pid" || qs_rc=$?
qs_pid=
[ "$qs_rc" -eq 0 ] && ok "the county stopped cleanly" || bad "the county stopped cleanly (rc $qs_rc)"

echo "county e2e: $checks checks, $failed failed"
[ "$failed" -eq 0 ]
