#!/usr/bin/env bash
# Shrinks a `keysat` binary's symbol table to Keysat's own functions, in place.
#
# A release build has no DWARF for Keysat's code, so a panic's backtrace
# (RUST_BACKTRACE=1) names its frames from the ELF symbol table alone. The
# whole table is 2.7 MB of a 20 MB binary, mostly the dependencies' generic
# instantiations (drop glue alone is 0.3 MB of names); the frames worth
# reading are Keysat's. Kept (about 0.2 MB):
#   - every function of the keysat and keysat_client crates (`keysat::…`),
#     and their trait impls (`<keysat::X as axum::…>::…`), except SQLite's
#     callbacks into Keysat (the page cache layer's and the WAL writer's
#     `x_…` functions, db/pcache.rs and db/walfile.rs): they cannot panic
#     and sit between SQLite's frames, which are unnamed anyway; and except
#     what `#[derive(Serialize, Deserialize)]` generates (in the anonymous
#     `_` module serde_derive wraps it in): it answers errors, never panics,
#     and its long names cost about 9 KB (hand-written impls are kept);
#   - axum's handler glue (`<F as axum::handler::Handler<…>>::call`), into
#     which a route handler's body is often inlined;
#   - the panic machinery (`core::panicking::…`, `…::unwrap_failed`, …, and
#     `std::io::stdio::_print`, which panics when stdout fails) and
#     the short-backtrace markers std trims a backtrace at.
# Any other frame prints as `<unknown>` (with its address), never under a
# wrong name: std only names an address inside a symbol's extent.
# scripts/musl-check.sh then proves a real panic's backtrace names Keysat's
# functions. Needs binutils (nm, objcopy).
# Usage: scripts/dist-symbols.sh target/x86_64-unknown-linux-musl/dist/keysat
set -euo pipefail
bin=${1:?usage: dist-symbols.sh <path to keysat>}

keep=$(mktemp)
trap 'rm -f "$keep"' EXIT
nm --defined-only "$bin" | awk '{ print $3 }' \
  | grep -E '^_ZN(6keysat|13keysat_client)|^_ZN[0-9]+_\$LT\$(keysat|F\$u20\$as\$u20\$axum\.\.handler\.\.Handler)|panic|begin_unwind|unwrap_failed|expect_failed|short_backtrace|stdio6__print' \
  | grep -vE '^_ZN6keysat2db(6pcache|7walfile)[0-9]+x_|(1_[0-9]+_|\.\._\.\.)\$LT\$impl\$u20\$serde_core\.\.' \
  | sort -u >"$keep" || true
if [ "$(grep -c '^_ZN6keysat' "$keep")" -lt 100 ]; then
  echo "dist-symbols: $bin does not look like keysat with its symbols (already stripped?)" >&2
  exit 1
fi
if [ "$(nm --defined-only "$bin" | awk '{ print $3 }' | sort -u | wc -l)" -eq "$(wc -l <"$keep")" ]; then
  echo "dist-symbols: $bin holds only Keysat's symbols already"
  exit 0
fi
before=$(stat -c %s "$bin")
objcopy --strip-all --keep-symbols="$keep" "$bin"
echo "dist-symbols: kept $(wc -l <"$keep") symbols; $before -> $(stat -c %s "$bin") bytes"
