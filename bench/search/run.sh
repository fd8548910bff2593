#!/usr/bin/env bash
# Benchmark of license search (not a test): 100,000 licenses (half of them
# sold, with invoices; half holding a seat on a named machine), then every
# search form of GET /v1/admin/licenses/search, timed over HTTP, reporting
# p50 and p99 per form and over all of them.
#
# BENCH_LICENSES (default 100000) sets the size; BENCH_ROUNDS (200) the
# searches per form. KEYSAT_BIN picks the binary (default: the debug build,
# `cargo build -p keysat`; BENCH_RELEASE=1 builds and uses release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ "${BENCH_RELEASE:-0}" = 1 ]; then
  (cd "$root" && cargo build --release -q -p keysat)
  bin="$root/target/release/keysat"
else
  bin=${KEYSAT_BIN:-$root/target/debug/keysat}
  [ -x "$bin" ] || (cd "$root" && CARGO_INCREMENTAL=0 cargo build -q -p keysat)
fi

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="bench-admin-key-$(date +%s)-0123456789"
base="http://127.0.0.1:$port"
log="$data/keysat.log"
pid=""
start() {
  KEYSAT_BIND="127.0.0.1:$port" KEYSAT_DATA_DIR="$data" KEYSAT_ADMIN_API_KEY="$key" KEYSAT_NOSTR_RELAYS= RUST_LOG=warn \
    "$bin" serve >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "bench: keysat did not start" >&2; cat "$log" >&2; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

start
admin() { curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
admin -X POST "$base/v1/admin/products" -d '{"slug":"bench","name":"Bench","price_sats":1000}' >/dev/null
admin -X POST "$base/v1/admin/products/bench/policies" -d '{"slug":"default","name":"Default","max_machines":3}' >/dev/null
stop

python3 "$here/search.py" fill "$data/keysat.db" "${BENCH_LICENSES:-100000}"
start
python3 "$here/search.py" measure "$data/keysat.db" "$base" "$key" "${BENCH_ROUNDS:-200}"
stop
