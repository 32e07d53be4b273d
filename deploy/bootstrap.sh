#!/usr/bin/env bash
# Installs every Debian package that anwang's build, tests, benchmarks and
# demo need. Non-interactive and idempotent: when everything is present it
# only checks (dpkg-query) and returns in well under a second.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang clang-format
  libclang-rt-14-dev llvm
  # libraries
  liblmdb-dev lmdb-utils            # store: LMDB
  libzmq3-dev libczmq-dev           # uplink: ZeroMQ + CZMQ (CURVE, zauth, zcert)
  libprotobuf-c-dev protobuf-c-compiler  # wire schema
  libcoap3-dev libcoap3-bin         # edge CoAP server; coap-client for tests
  libjansson-dev                    # JSON (registry, SenML JSON, API)
  libcbor-dev                       # SenML CBOR
  libmicrohttpd-dev                 # center HTTP API
  libcurl4-gnutls-dev               # anwang CLI
  libsystemd-dev                    # sd_notify
  libinih-dev                       # config files
  libcriterion-dev                  # unit tests
  # test and benchmark tools
  faketime mosquitto mosquitto-clients wrk iproute2 procps psmisc curl jq
  nodejs                            # dashboard tests (node --test)
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages: ${missing[*]}" >&2
  echo "bootstrap: run this script as root (it uses apt-get) or install them yourself" >&2
  exit 1
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/anwang-bootstrap.XXXXXX.log)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
     </dev/null >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "bootstrap: apt-get failed; full log in $log" >&2
  exit 1
fi
rm -f "$log"
echo "bootstrap: done"
