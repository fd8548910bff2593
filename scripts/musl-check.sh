#!/usr/bin/env bash
# Proves a `keysat` binary is fully static and works: `file` says statically
# linked, `ldd` finds no shared library, `--version` runs, a real panic's
# backtrace names Keysat's functions, and `keysat serve` on a throw-away data
# directory answers GET /healthz.
# Usage: scripts/musl-check.sh target/x86_64-unknown-linux-musl/dist/keysat
set -euo pipefail
bin=${1:?usage: musl-check.sh <path to keysat>}

kind=$(file -b "$bin")
echo "file: $kind"
case "$kind" in
  *"statically linked"* | *"static-pie linked"*) ;;
  *) echo "musl-check: $bin is not statically linked" >&2; exit 1 ;;
esac
# glibc's ldd exits non-zero with "not a dynamic executable" (or says
# "statically linked" for static-pie); any listed library is a failure.
ldd_out=$(ldd "$bin" 2>&1 || true)
echo "ldd: $ldd_out"
case "$ldd_out" in
  *"not a dynamic executable"* | *"statically linked"*) ;;
  *) echo "musl-check: ldd found shared libraries" >&2; exit 1 ;;
esac

"$bin" --version

# A real panic in the shipped binary, with no hook for it: `keysat serve`
# writing its standard output to /dev/full panics at its first `println!`
# (the start banner, in keysat::main; std ignores a closed stdout, not ENOSPC). With RUST_BACKTRACE=1 the backtrace must name
# Keysat's own frames (scripts/dist-symbols.sh keeps their symbols).
bt_data=$(mktemp -d)
bt_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18481)
bt=$(env -i RUST_BACKTRACE=1 RUST_LOG=off KEYSAT_DATA_DIR="$bt_data" KEYSAT_BIND="127.0.0.1:$bt_port" \
  timeout 60 "$bin" serve 2>&1 >/dev/full || true)
rm -rf "$bt_data"
case "$bt" in
  *"panicked at"*"keysat::"*) echo "backtrace: $(printf '%s\n' "$bt" | grep -c 'keysat::') frames name Keysat's functions:"
    printf '%s\n' "$bt" | grep -m 3 'keysat::' ;;
  *) echo "musl-check: a panic's backtrace names no Keysat function; it was:" >&2
    printf '%s\n' "$bt" >&2
    exit 1 ;;
esac

data=$(mktemp -d)
log="$data/serve.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18480)
env -i KEYSAT_DATA_DIR="$data" KEYSAT_BIND="127.0.0.1:$port" "$bin" serve >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if body=$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null); then
    echo "healthz: $body"
    size=$(stat -c %s "$bin")
    echo "musl-check: OK, static binary of $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }'))"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
echo "musl-check: the binary did not answer /healthz; its output:" >&2
cat "$log" >&2
exit 1
