#!/usr/bin/env bash
# Benchmark of Keysat with many licenses (issue 19; not a test): builds
# release, starts keysat on a fresh data dir, issues N licenses through the
# admin API (wrk, exact.lua: exactly N, every key kept), then measures,
# printing one line per figure (with the load average beside it: the machine
# may be shared):
#   issuance rate; database bytes per license; the expiry probe and
#   /v1/admin/stats at N; restart to the first validation; healthz, then
#   cold validation (first sight of each key + machine: a seat is taken) and
#   warm validation (random key, its machine already seated) against it;
#   dropped events; bytes kept per validation; RSS; the buyer pages
#   (/buy/{slug} and the storefront) against healthz; a backup through the
#   admin API (the daily backup is off while measuring, see spawn); validation right after a restart;
#   and the fulfillment of paid invoices: the daemon restarted in demo mode
#   (KEYSAT_DEMO: the simulated provider, no network), N_PAY pending invoices
#   opened through POST /v1/purchase, then all paid at once through the demo
#   checkout's "Pay" (POST /demo/checkout/{id}/pay), which is the real
#   fulfillment path (fulfillment::apply_invoice_news: the invoice settled,
#   its license issued with audit and events, answered once committed) that
#   BTCPay's and Stripe's webhooks and reconciliation take after talking to
#   their provider; printed as licenses/s.
# Every ratio to healthz is taken from alternated runs: SCALE_ROUNDS (5)
# rounds of healthz (SCALE_HEALTHZ_SECONDS, 5) then the measured load, each
# round's ratio printed and their median the figure, because this machine's
# speed drifts by a third within minutes (healthz 65-100k req/s) and one
# healthz run beside one long run compared two different machines. Each
# round also prints the daemon's CPU time a request of both runs, and the
# figure's line their median ratio (what a change to the hot path moves
# first, since the host moves it less than the rates).
# Usage: bench/scale/run.sh [N]   (or make bench-scale N=…); SCALE_SECONDS (10)
# sets each warm round, SCALE_COLD_SECONDS (3) each round of the measured cold walk
# (five rounds of 3 s walk as far as the one 15 s run before them did: past
# that the walk has wrapped to second and third machines of every license),
# SCALE_BIN a daemon already built (compare two builds without rebuilding),
# SCALE_ISSUE_CONNECTIONS (64) the issuing and paying connections, N_PAY (5000)
# the invoices paid, SCALE_CPUS=split the daemon on the first half of the CPUs
# and wrk on the other (a diagnostic, see below; the goals are read without it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
n=${1:-${N:-100000}}
wsecs=${SCALE_SECONDS:-10}
csecs=${SCALE_COLD_SECONDS:-3}
hsecs=${SCALE_HEALTHZ_SECONDS:-5}
rounds=${SCALE_ROUNDS:-5}
conns=32
threads=2
iconns=${SCALE_ISSUE_CONNECTIONS:-64}
npay=${N_PAY:-5000}

command -v wrk >/dev/null || { echo "bench-scale: wrk is missing (apt-get install wrk)" >&2; exit 1; }
# SCALE_CPUS=split: the daemon pinned to the first half of the CPUs and every
# wrk to the rest (taskset), so the two never share a CPU. By default they
# share all of them, as the goals are set; then a load the daemon cannot keep
# up with leaves wrk waiting, and each answer wakes it, on a CPU the daemon was
# using or by an interrupt to the other: costs that healthz (a load wrk cannot
# keep up with) mostly does not pay, and that swing from run to run with how
# the scheduler places the four busy threads. Split, each rate is set by the
# daemon's own CPU time a request (the cold walk's writer shares the daemon's
# CPUs too): for comparing builds, not for the goals.
server=(); wrk=(wrk)
if [ "${SCALE_CPUS:-}" = split ]; then
  cpus=$(nproc)
  [ "$cpus" -ge 2 ] || { echo "bench-scale: SCALE_CPUS=split needs two CPUs or more" >&2; exit 1; }
  server=(taskset -c "0-$(( cpus / 2 - 1 ))"); wrk=(taskset -c "$(( cpus / 2 ))-$(( cpus - 1 ))" wrk)
fi
# SCALE_BIN: a daemon already built (e.g. to compare two builds); else release is built.
bin=${SCALE_BIN:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --release -q -p keysat)
  bin="$root/target/release/keysat"
fi

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="bench-admin-key-$(date +%s)-0123456789"
base="http://127.0.0.1:$port"
log="$data/keysat.log"
db="$data/keysat.db"
export SCALE_KEYS="$data/keys.txt" SCALE_FPS="$data/fingerprints.txt" SCALE_THREADS=$threads

line() { printf '%-34s %s   [load %s]\n' "$1" "$2" "$(cut -d' ' -f1 /proc/loadavg)"; }
ms_since() { python3 -c "import time,sys; print(round((time.time()-float(sys.argv[1]))*1000))" "$1"; }
# RSS now, and the most the process has had (VmHWM): a burst between two
# readings shows in the second.
rss() { awk '/VmHWM/ {h = $2} /VmRSS/ {r = $2} END {printf "%.1f MB (peak %.1f MB)", r/1024, h/1024}' "/proc/$pid/status"; }

# The daily backup is off: on a fresh data dir the first one is taken at the
# scheduler's first minute, which fell inside the first warm round (1.4 s of
# CPU for VACUUM INTO and the copy's integrity check, on this machine's two
# cores); it is measured on its own instead ("backup" below).
spawn() {
  env "$@" KEYSAT_BIND="127.0.0.1:$port" KEYSAT_DATA_DIR="$data" KEYSAT_ADMIN_API_KEY="$key" KEYSAT_BACKUP_HOUR=off \
  KEYSAT_TRUSTED_PROXIES=127.0.0.1 KEYSAT_NOSTR_RELAYS= KEYSAT_VALIDATION_LOG_MAX_ROWS=1000000000 \
  RUST_LOG=warn,keysat::delivery::expiry=debug "${server[@]}" "$bin" serve >>"$log" 2>&1 &
  pid=$!
}
wait_up() {
  for _ in $(seq 600); do curl -fs "$base/healthz" >/dev/null && return; sleep 0.05; done
  echo "bench-scale: keysat did not start" >&2; tail "$log" >&2; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

admin() { curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
stat_of() { admin "$base/v1/admin/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# Bytes the database holds (pages in use, WAL included), read beside the running daemon.
kept() { python3 -c "
import sqlite3,sys; c=sqlite3.connect('file:$db?mode=ro', uri=True)
p=c.execute('pragma page_size').fetchone()[0]; print((c.execute('pragma page_count').fetchone()[0]-c.execute('pragma freelist_count').fetchone()[0])*p)"; }
# exact MODE N OUT [IN]: exactly N requests of MODE (exact.lua) over $iconns
# connections; what each answer gives is written to OUT, one a line; prints
# the seconds from start until the last answer.
exact() {
  local mode=$1 count=$2 out=$3 in=${4:-} t0 wpid i done
  rm -f "$out".*
  t0=$(date +%s.%N)
  SCALE_MODE=$mode SCALE_N=$count SCALE_OUT=$out SCALE_IN=$in SCALE_ADMIN_KEY=$key \
    "${wrk[@]}" -t$threads -c$iconns -d3600s -s "$here/exact.lua" "$base" >"$out.wrk" 2>&1 &
  wpid=$!
  while :; do
    done=0
    for ((i = 0; i < threads; i++)); do [ -e "$out.$i.done" ] && done=$((done + 1)); done
    [ "$done" -eq "$threads" ] && break
    if compgen -G "$out.*.failed" >/dev/null || ! kill -0 "$wpid" 2>/dev/null; then
      kill -INT "$wpid" 2>/dev/null || true
      echo "bench-scale: $mode failed:" >&2; cat "$out".*.failed "$out.wrk" >&2 2>/dev/null || true; exit 1
    fi
    sleep 0.02
  done
  ms_since "$t0" | awk '{printf "%.3f", $1/1000}'
  kill -INT "$wpid" 2>/dev/null || true; wait "$wpid" || true
  cat "$out".[0-9]* >"$out"
  [ "$(wc -l <"$out")" -eq "$count" ] || [ "$mode" = pay ] || { echo "bench-scale: $mode gave $(wc -l <"$out") of $count" >&2; exit 1; }
}
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.3f}' if b else 'nan')" "$1" "$2"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(a) for a in sys.argv[1:]):.3f}')" "$@"; }
# The slowest of some wrk latencies ("3.41ms", "1.02s", "950.00us").
slowest() { python3 -c "
import sys; u={'us':1e-3,'ms':1,'s':1e3}
ms=[float(a.rstrip('usm'))*u[a[len(a.rstrip('usm')):]] for a in sys.argv[1:]]; print(f'{max(ms):.2f}ms')" "$@"; }
rps() { awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$1"; }
p99() { awk '$1=="99%" {print $2}' <<<"$1"; }
total() { awk '/requests in/ {print $1}' <<<"$1"; }
# A measured run's failed answers: printed on its line, and counted (in a
# file: each call runs in a subshell) so the bench fails at the end if any.
non2xx() { awk '/Non-2xx/ {print $5}' <<<"$1" | tee -a "$data/non2xx"; }
# What the timed runs do not read: the answers. Keys picked at random, each
# with the fingerprint the runs send for it, must be ok and name a seat, and
# no seat is taken for them (after the walk every key holds its own).
answers() {
  local good=0 i k body before
  before=$(stat_of active_machines)
  for _ in $(seq 20); do
    i=$(( (RANDOM * 32768 + RANDOM) % n + 1 ))
    k=$(sed -n "${i}p" "$SCALE_KEYS"); fp=$(sed -n "${i}p" "$SCALE_FPS")
    body=$(curl -fsS -H 'Content-Type: application/json' \
      -d "{\"key\":\"$k\",\"fingerprint\":\"$fp\",\"product_slug\":\"scale\"}" "$base/v1/validate")
    if grep -q '"ok":true' <<<"$body" && grep -q '"machine_id"' <<<"$body"; then good=$(( good + 1 )); fi
  done
  echo "$good of 20 ok with a seat (active machines $before, then $(stat_of active_machines))"
}
healthz() { "${wrk[@]}" -t$threads -c$conns -d${hsecs}s --latency "$base/healthz"; }
# The daemon's CPU time so far, in clock ticks (user + system, /proc/PID/stat).
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# micros TICKS REQUESTS: the daemon's CPU time a request, in microseconds.
micros() { python3 -c "import os,sys; print(f'{int(sys.argv[1]) * 1e6 / os.sysconf(\"SC_CLK_TCK\") / max(int(sys.argv[2]), 1):.1f}')" "$1" "$2"; }
# alternated KIND LABEL RUN: $rounds rounds of healthz then RUN (a function
# writing wrk's output to $data/round.out, called in this shell so that it may
# keep state from one round to the next), a line per round and LABEL's line
# with the median ratio; leaves the requests sent in $sent, the rates in $rates.
# Each round also gives the daemon's CPU time a request of both runs: on this
# shared machine a rate moves with the host (healthz alone swings by a third
# from one run to the next), while the daemon's own cost a request moves less,
# so a change to the hot path shows in it first.
alternated() {
  local kind=$1 label=$2 run=$3 r h hout out rate t0 t1 t2 hc c ratios=() p99s=() costs=()
  rates=(); sent=0
  for r in $(seq "$rounds"); do
    t0=$(ticks); hout=$(healthz); t1=$(ticks); h=$(rps "$hout"); hc=$(micros $(( t1 - t0 )) "$(total "$hout")")
    "$run"; t2=$(ticks); out=$(<"$data/round.out"); rate=$(rps "$out"); c=$(micros $(( t2 - t1 )) "$(total "$out")")
    ratios+=("$(ratio "$rate" "$h")"); rates+=("$rate"); p99s+=("$(p99 "$out")"); sent=$(( sent + $(total "$out") ))
    costs+=("$(ratio "$c" "$hc")")
    line "  $kind round $r" "healthz $h req/s ($hc us CPU each), then $kind $rate req/s ($c us) = ${ratios[-1]} x, p99 ${p99s[-1]}, non-2xx $(non2xx "$out")"
  done
  line "$label" "$(median "${ratios[@]}") x healthz (median of $rounds alternated rounds), $(median "${rates[@]}" | cut -d. -f1) req/s, p99 at most $(slowest "${p99s[@]}"); daemon CPU a request $(median "${costs[@]}") x healthz's"
}

# Key i's machine: the hex SHA-256 of "scale-machine-i", as a client library
# sends a fingerprint (docs/PROTOCOL.md §3): random, so a seat's index entry
# lands at a random place, as in a real deployment (the plain names sorted
# beside each other and made a seat take cheaper: by a tenth over the first
# 100,000 seats, more as the index grows).
python3 -c "
import hashlib, sys
with open(sys.argv[2], 'w') as f:
    for i in range(1, int(sys.argv[1]) + 1): f.write(hashlib.sha256(b'scale-machine-%d' % i).hexdigest() + '\n')" "$n" "$SCALE_FPS"

spawn; wait_up
admin -X POST "$base/v1/admin/products" -d '{"slug":"scale","name":"Scale","price_sats":1000}' >/dev/null
admin -X POST "$base/v1/admin/products/scale/policies" \
  -d '{"slug":"default","name":"Default","max_machines":0,"duration_seconds":31536000}' >/dev/null
echo "bench-scale: N=$n, $(nproc) cores, wrk $threads threads x $conns connections${server:+; daemon on CPUs ${server[2]}, wrk on ${wrk[2]}}"
line "RSS idle" "$(rss)"
bytes0=$(kept)

secs=$(exact issue "$n" "$SCALE_KEYS")
line "issuance (admin API, wrk $threads x $iconns)" "$(awk -v n="$n" '{printf "%.0f licenses/s (issued %d in %.1f s)", n/$1, n, $1}' <<<"$secs")"
line "RSS after issuing" "$(rss)"
sleep 2.5
line "expiry probe (last 3 runs)" "$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'expiry probe micros=[0-9]*' | tail -3 | awk -F= '{printf "%.2f ms ", $2/1000}')"
st=""; for _ in 1 2 3; do st="$st$(curl -fsS -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $key" "$base/v1/admin/stats" | awk '{printf "%.1f ms ", $1*1000}')"; done
line "/v1/admin/stats (3 calls)" "$st"
stop
bytes1=$(stat -c %s "$db")
line "database bytes per license" "$(( (bytes1 - bytes0) / n )) ($(( bytes1 / 1048576 )) MiB file)"
sqlite3 "$db" "SELECT 'outbox_events ' || count(*) FROM outbox_events" 2>/dev/null | sed 's/^/  /' || true

# Restart with N licenses: time to the first answered validation.
t0=$(date +%s.%N); spawn; wait_up
first=$(head -1 "$SCALE_KEYS")
until curl -fsS -H 'Content-Type: application/json' -d "{\"key\":\"$first\",\"product_slug\":\"scale\"}" "$base/v1/validate" 2>/dev/null | grep -q '"ok":true'; do sleep 0.01; done
line "restart to first validation" "$(ms_since "$t0") ms"

# The measured walk, in rounds alternated with healthz; each thread of a
# round goes on from where it got to in the last, less the requests a stopped
# wrk may have left unanswered (one a connection: those few, at most 0.2 % of
# a round's, are found held the second time).
# Its requests are built before each round starts, as the warm run's are (as
# many as a walk of 20,000/s sends; any past those are built as sent).
prebuild=$(( csecs * 20000 / threads ))
d0=$(stat_of validation_events_dropped); k0=$(kept)
walked=0; positions=0
cold_round() {
  local start
  start=$(tr , '\n' <<<"$positions" | awk -v back=$(( conns / threads )) '{printf "%s%d", (NR > 1 ? "," : ""), ($1 > back ? $1 - back : 0)}')
  SCALE_MODE=walk SCALE_WRAP=1 SCALE_START=$start SCALE_PREBUILD=$prebuild \
    "${wrk[@]}" -t$threads -c$conns -d${csecs}s --latency -s "$here/keys.lua" "$base" >"$data/round.out"
  walked=$(awk '/^walked/ {print $2}' "$data/round.out"); positions=$(awk '/^positions/ {print $2}' "$data/round.out")
}
alternated cold "cold validate (seat taken)" cold_round
walk_rate=$(median "${rates[@]}")
sleep 1
k1=$(kept)
line "bytes kept per cold validation" "$(( (k1 - k0) / sent ))"
# The rest of the walk, unmeasured, so that every key holds its seat: again
# from where the last run got to until none is left (at a million keys the
# walk slows down as it goes, so one run sized by the measured rate falls short).
while [ $(( n - walked * threads )) -gt 0 ]; do
  secs=$(python3 -c "print(int($(( n - walked * threads )) / max(float($walk_rate), 100.0) * 1.3) + 3)")
  wout=$(SCALE_MODE=walk SCALE_START=$walked "${wrk[@]}" -t$threads -c$conns -d${secs}s -s "$here/keys.lua" "$base")
  now=$(awk '/^walked/ {print $2}' <<<"$wout")
  [ "${now:-0}" -gt "$walked" ] || { echo "bench-scale: the walk stopped at $walked:" >&2; echo "$wout" >&2; exit 1; }
  walked=$now
done
# A run's last requests may be cut off unanswered when wrk stops, though
# counted as walked: the last positions again (a seat already held is found held).
SCALE_MODE=walk SCALE_START=$(( walked > conns ? walked - conns : 0 )) "${wrk[@]}" -t$threads -c$conns -d2s -s "$here/keys.lua" "$base" >/dev/null
line "active machines after the walk" "$(stat_of active_machines) (every one of the $n keys holds one or more)"
line "RSS after the cold walk" "$(rss) ($(awk '/RssAnon|RssFile/ {printf "%s %.1f MB ", $1, $2/1024}' "/proc/$pid/status"))"

d1=$(stat_of validation_events_dropped); sleep 1; k2=$(kept)
warm_round() { SCALE_MODE=warm "${wrk[@]}" -t$threads -c$conns -d${wsecs}s --latency -s "$here/keys.lua" "$base" >"$data/round.out"; }
alternated warm "warm validate (random key)" warm_round
sleep 1.5
d2=$(stat_of validation_events_dropped); k3=$(kept)
line "validation events dropped (warm)" "$(( d2 - d1 )) (cold walk: $(( d1 - d0 )))"
line "bytes kept per warm validation" "$(( (k3 - k2) / sent ))"
line "RSS after validating" "$(rss)"
line "  of which" "$(awk '/RssAnon|RssFile|RssShmem/ {printf "%s %.1f MB ", $1, $2/1024}' "/proc/$pid/status")"
line "answers (sampled after warm)" "$(answers)"

# The buyer pages (a browser asks for HTML), each right after healthz.
for page in "buy page (/buy/scale)|/buy/scale" "storefront (/)|/"; do
  hout=$(healthz); h=$(rps "$hout")
  pout=$("${wrk[@]}" -t$threads -c$conns -d${hsecs}s --latency -H 'Accept: text/html' "$base${page#*|}")
  pr=$(rps "$pout")
  line "${page%%|*}" "$pr req/s = $(ratio "$pr" "$h") x healthz ($h req/s just before), p99 $(p99 "$pout"), non-2xx $(non2xx "$pout")"
done

# The backup an operator takes (the daily one is the same): a consistent
# copy by VACUUM INTO, checked, flushed and renamed into place.
t0=$(date +%s.%N)
bytes=$(admin -X POST "$base/v1/admin/backups" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')
line "backup (POST /v1/admin/backups)" "$(ms_since "$t0") ms for $(( bytes / 1048576 )) MiB"

stop
t0=$(date +%s.%N); spawn; wait_up
until curl -fsS -H 'Content-Type: application/json' -d "{\"key\":\"$first\",\"product_slug\":\"scale\"}" "$base/v1/validate" 2>/dev/null | grep -q '"ok":true'; do sleep 0.01; done
line "restart to first validation (2)" "$(ms_since "$t0") ms"
for r in first next; do
  rout=$(SCALE_MODE=warm "${wrk[@]}" -t$threads -c$conns -d${wsecs}s --latency -s "$here/keys.lua" "$base")
  rr=$(rps "$rout"); hout=$(healthz); h=$(rps "$hout")
  line "warm validate, $r ${wsecs} s after restart" "$rr req/s = $(ratio "$rr" "$h") x healthz (run right after), p99 $(p99 "$rout")"
done
line "RSS after restart runs" "$(rss)"
line "answers (sampled after restart)" "$(answers)"

# Fulfillment of paid invoices: demo mode (the simulated provider), N_PAY
# pending invoices opened (not timed), then all paid at once.
stop
spawn KEYSAT_DEMO=1 KEYSAT_PURCHASE_RATE_PER_MINUTE=1000000 KEYSAT_PURCHASE_GLOBAL_RATE_PER_MINUTE=1000000 \
  KEYSAT_MAX_PENDING_INVOICES=1000000 KEYSAT_MAX_PENDING_PER_ADDRESS=1000000
wait_up
exact buy "$npay" "$data/invoices.txt" >/dev/null
licenses0=$(sqlite3 "$db" "SELECT count(*) FROM licenses")
secs=$(exact pay "$npay" "$data/paid.txt" "$data/invoices.txt")
issued=$(( $(sqlite3 "$db" "SELECT count(*) FROM licenses") - licenses0 ))
line "fulfillment of paid invoices (wrk $threads x $iconns)" "$(awk -v n="$issued" '{printf "%.0f licenses/s (%d invoices paid, %d licenses in %.1f s)", n/$1, '"$npay"', n, $1}' <<<"$secs")"
[ "$issued" -eq "$npay" ] || { echo "bench-scale: $npay invoices paid gave $issued licenses" >&2; exit 1; }
failed=$(cat "$data/non2xx" 2>/dev/null | awk '{n += $1} END {print n + 0}')
[ "$failed" -eq 0 ] || { echo "bench-scale: $failed answers in the measured runs were not 2xx (see the server log)" >&2; exit 1; }
