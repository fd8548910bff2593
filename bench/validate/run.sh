#!/usr/bin/env bash
# Benchmark of the validation hot path (not a test): builds release, starts
# keysat on a fresh data dir, issues a key, then drives GET /healthz and
# POST /v1/validate with wrk at 32 connections and reports
#   validate req/s, healthz req/s, their ratio, validate p99,
#   bytes of database + WAL retained per 10,000 validations,
#   the largest WAL seen during the validate run.
# Goals (issue 2): ratio >= 0.5, p99 <= 5 ms, <= 500 bytes per validation,
# WAL <= 64 MiB throughout.
#
# BENCH_SECONDS (default 60) sets the validate run; BENCH_HEALTHZ_SECONDS (15) the healthz run;
# BENCH_BIN a daemon already built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${BENCH_SECONDS:-60}
hsecs=${BENCH_HEALTHZ_SECONDS:-15}
conns=32
threads=2

command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
# BENCH_BIN: a daemon already built (to compare two builds); else release is built.
bin=${BENCH_BIN:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release -q -p keysat)
  bin="$root/target/release/keysat"
fi

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="bench-admin-key-$(date +%s)-0123456789"
base="http://127.0.0.1:$port"
log="$data/keysat.log"

start() {
  KEYSAT_BIND="127.0.0.1:$port" KEYSAT_DATA_DIR="$data" KEYSAT_ADMIN_API_KEY="$key" \
  KEYSAT_TRUSTED_PROXIES=127.0.0.1 KEYSAT_NOSTR_RELAYS= KEYSAT_VALIDATION_LOG_MAX_ROWS=1000000000 RUST_LOG=warn \
    "$bin" serve >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "bench: keysat did not start" >&2; cat "$log" >&2; exit 1
}
# A graceful stop flushes the queue, checkpoints and truncates the WAL, so
# the database file alone is then everything retained.
stop() { kill -TERM "$pid"; wait "$pid" || true; }
pid=""
start
sampler=""
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

admin() { curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
admin -X POST "$base/v1/admin/products" -d '{"slug":"bench","name":"Bench","price_sats":1000,"entitlements_catalog":[{"slug":"pro","name":"Pro"}]}' >/dev/null
admin -X POST "$base/v1/admin/products/bench/policies" -d '{"slug":"default","name":"Default","max_machines":1,"duration_seconds":31536000,"entitlements":["pro"]}' >/dev/null
lic=$(admin -X POST "$base/v1/admin/licenses" -d '{"product_slug":"bench"}')
license_key=$(printf '%s' "$lic" | python3 -c 'import json,sys; print(json.load(sys.stdin)["license_key"])')
export BENCH_BODY="{\"key\":\"$license_key\",\"fingerprint\":\"3f2a9c0e5b7d41f6a8c2e9b0d4f61a7c3e5b9d2f0a4c6e8b1d3f5a7c9e0b2d4f\",\"product_slug\":\"bench\"}"
first=$(curl -fsS -H 'Content-Type: application/json' -d "$BENCH_BODY" "$base/v1/validate")
case "$first" in *'"ok":true'*) ;; *) echo "bench: validation failed: $first" >&2; exit 1;; esac

wal="$data/keysat.db-wal"
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# Start again from a checkpointed database: its size is the baseline, and
# every validation from here on (warm-up included) is counted.
stop
start
bytes0=$(size "$data/keysat.db")
[ "$(size "$wal")" -eq 0 ] || { echo "bench: WAL not empty after restart" >&2; exit 1; }

echo "warming up..."
wrk -t$threads -c$conns -d3s -s "$here/validate.lua" "$base" >/dev/null

echo "healthz: ${hsecs}s at $conns connections"
hout=$(wrk -t$threads -c$conns -d${hsecs}s --latency "$base/healthz")
hrps=$(awk '/Requests\/sec/ {print $2}' <<<"$hout")

maxwal_file="$data/maxwal"; echo 0 >"$maxwal_file"
( m=0; while sleep 0.2; do w=$(size "$wal"); [ "$w" -gt "$m" ] && m=$w && echo "$m" >"$maxwal_file"; done ) &
sampler=$!

echo "validate: ${secs}s at $conns connections"
vout=$(wrk -t$threads -c$conns -d${secs}s --latency -s "$here/validate.lua" "$base")
vrps=$(awk '/Requests\/sec/ {print $2}' <<<"$vout")
p99=$(awk '$1=="99%" {print $2}' <<<"$vout")
vtotal=$(awk '/requests in/ {print $1}' <<<"$vout")
non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$vout")

sleep 1.5
stats=$(admin "$base/v1/admin/stats")
written1=$(printf '%s' "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["validation_events_written"])')
dropped=$(printf '%s' "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["validation_events_dropped"])')
kill "$sampler"; sampler=""
maxwal=$(cat "$maxwal_file")
bytes_run=$(( $(size "$data/keysat.db") + $(size "$wal") ))

stop; pid=""
bytes1=$(( $(size "$data/keysat.db") + $(size "$wal") ))
# Bytes per validation over the requests answered: activity is folded and
# written once per KEYSAT_ACTIVITY_FOLD_SECONDS, so a short run may have
# written no activity row yet.
validations=$vtotal

python3 - "$vrps" "$hrps" "$p99" "$bytes0" "$bytes1" "$bytes_run" "$validations" "$maxwal" "$vtotal" "${non2xx:-0}" "$dropped" "$written1" <<'PY'
import sys
vrps, hrps, p99, b0, b1, brun, n, maxwal, total, non2xx, dropped, written = sys.argv[1:]
vrps, hrps = float(vrps), float(hrps)
def ms(s):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)
b0, b1, brun, n, maxwal = int(b0), int(b1), int(brun), int(n), int(maxwal)
per = (b1 - b0) / n if n else float("nan")
ratio = vrps / hrps if hrps else 0
p99ms = ms(p99)
print()
print(f"validate req/s            {vrps:,.0f}   ({total} requests, non-2xx: {non2xx})")
print(f"healthz req/s             {hrps:,.0f}")
print(f"ratio validate/healthz    {ratio:.2f}    (goal >= 0.5)")
print(f"validate p99              {p99ms:.2f} ms (goal <= 5 ms)")
print(f"validations answered      {n:,}   (counted in activity rows so far: {int(written):,}; dropped: {dropped})")
print(f"db+WAL retained per 10k   {per * 10000:,.0f} bytes  = {per:.0f} bytes/validation (goal <= 500)")
print(f"db+WAL right after run    {(brun - b0) / max(n, 1):.0f} bytes/validation before the shutdown checkpoint")
print(f"largest WAL during run    {maxwal / 1048576:.1f} MiB (goal <= 64 MiB)")
ok = ratio >= 0.5 and p99ms <= 5 and per <= 500 and maxwal <= 64 * 1048576
print("goals met" if ok else "GOALS NOT MET")
PY
