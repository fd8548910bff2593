#!/usr/bin/env bash
# The repository stands alone: the committed tree (git archive HEAD) is
# unpacked into an empty temporary directory with nothing beside it, and the
# tests that once read files from outside the repository run there — the
# LIC1 vector tests (keysat-client) and the BTCPay conformance test (Prism on
# docs/btcpay/greenfield.openapi.json). No tracked file outside Markdown may
# read from the project's shared folder beside the repository.
#
# Reuses this checkout's target/ (CARGO_TARGET_DIR) so dependencies are not
# rebuilt, and the npm tools already installed in licensing-service/tests/js.
# Also says (without failing) when an in-repository copy of a shared fact
# differs from the project's shared folder, when one sits beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# (The pattern is written so that this line does not match it.)
if refs=$(git grep -n -e '[.][.]/shared[/]' -- ':!*.md'); then
  echo "standalone-check: tracked files still name the shared folder beside the repository:" >&2
  echo "$refs" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
copy="$tmp/keysat"
mkdir "$copy"
git archive --format=tar HEAD | tar -x -C "$copy"
[ ! -e "$tmp/shared" ] || { echo "standalone-check: $tmp/shared exists" >&2; exit 1; }

js=licensing-service/tests/js
if [ -d "$root/$js/node_modules" ]; then
  ln -s "$root/$js/node_modules" "$copy/$js/node_modules"
else
  (cd "$copy/$js" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "standalone-check: running the vector and conformance tests in $copy (nothing beside it)"
(
  cd "$copy"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
  cargo test -q -p keysat-client --no-fail-fast
  cargo test -q -p keysat --test integration btcpay_conformance::
)

# Informational: are the copies still those of the shared folder?
shared="$root/../shared"
if [ -d "$shared" ]; then
  for pair in \
    "PROTOCOL.md:docs/PROTOCOL.md" \
    "vectors/lic1.json:licensing-client/tests/vectors/lic1.json" \
    "btcpay/greenfield.openapi.json:docs/btcpay/greenfield.openapi.json"; do
    from="$shared/${pair%%:*}" to="$root/${pair#*:}"
    if [ -f "$from" ] && ! cmp -s "$from" "$to"; then
      if [ "${pair#*:}" = "docs/PROTOCOL.md" ]; then
        # The repository's copy is the one the project extends (§6 onwards).
        echo "standalone-check: note: docs/PROTOCOL.md differs from shared/PROTOCOL.md: bring any change to §1–§5 of the shared one in by hand"
      else
        echo "standalone-check: note: ${pair#*:} differs from shared/${pair%%:*}: copy it in if the shared one is newer"
      fi
    fi
  done
fi
echo "standalone-check: ok"
