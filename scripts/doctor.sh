#!/usr/bin/env bash
# What `make run` and `make test` need, checked before anything is built.
# One line per missing thing, with the command that installs it; what needs
# no root is installed here (rustup components, npm packages from the lock
# files). Run by `make test` (and so by `.ci/run`).
#
#   scripts/doctor.sh              checks for `make test`; installs rustup components and npm packages
#   scripts/doctor.sh --run        only what `make run` needs (cargo and a C compiler)
#   scripts/doctor.sh --musl       also what `make musl` needs (musl-tools, the rustup target)
#   scripts/doctor.sh --install    also installs Debian packages with apt-get (as root: CI does)
#
# Exit status 1 when something is still missing, after saying what.
set -uo pipefail
cd "$(dirname "$0")/.."

want_test=1 want_musl=0 apt_install=0
rerun=()
for arg in "$@"; do
  [ "$arg" = --install ] || rerun+=("$arg")
  case "$arg" in
    --run) want_test=0 ;;
    --musl) want_musl=1 ;;
    --install) apt_install=1 ;;
    *) echo "doctor: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=0
apt_wanted=()
ok() { printf 'doctor: ok       %s\n' "$1"; }
need() { printf 'doctor: MISSING  %s\n' "$1" >&2; missing=1; }
# A Debian package: installed now with --install (as root), else asked for.
need_apt() {
  local what=$1 pkg=$2
  if [ "$apt_install" = 1 ] && [ "$(id -u)" = 0 ]; then
    apt_wanted+=("$pkg")
  else
    need "$what: sudo apt-get install -y $pkg"
  fi
}

# --- Rust ------------------------------------------------------------------
if command -v cargo >/dev/null && command -v rustc >/dev/null; then
  ok "cargo ($(rustc --version | cut -d' ' -f2))"
else
  need "cargo and rustc: install rustup (https://rustup.rs), then open a new shell"
fi
# A C toolchain: cc links the binary and builds the C parts of some crates.
if command -v cc >/dev/null; then ok "C compiler (cc)"; else need_apt "a C compiler (cc)" build-essential; fi

if [ "$want_test" = 1 ] && command -v rustup >/dev/null; then
  for comp in rustfmt clippy; do
    if rustup component list --installed 2>/dev/null | grep -q "^$comp"; then
      ok "rustup component $comp"
    elif rustup component add "$comp" >/dev/null 2>&1; then
      ok "rustup component $comp (installed now)"
    else
      need "rustup component $comp: rustup component add $comp"
    fi
  done
elif [ "$want_test" = 1 ]; then
  command -v cargo-fmt >/dev/null || need "rustfmt: rustup component add rustfmt"
  command -v cargo-clippy >/dev/null || need "clippy: rustup component add clippy"
fi

# --- Node.js: the StartOS package and the JavaScript test tools -----------------
node_ok=0
# Debian 13 ships Node.js 20; on Debian 12 it comes from NodeSource (or nvm).
node20="curl -fsSL https://deb.nodesource.com/setup_20.x | sudo -E bash - && sudo apt-get install -y nodejs   (or, without root: nvm install 20)"
if [ "$want_test" = 1 ]; then
  if command -v node >/dev/null; then
    node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "$node_major" -ge 20 ]; then
      ok "Node.js $(node --version)"
      node_ok=1
    else
      need "Node.js >= 20 (found $(node --version); Debian 12's own nodejs is 18): $node20"
    fi
  else
    # Debian 13's nodejs is 20; Debian 12's is too old (see above).
    if grep -qs '^VERSION_ID="12"' /etc/os-release; then
      need "Node.js >= 20 (Debian 12's own nodejs is 18): $node20"
    else
      need_apt "Node.js >= 20 and npm" "nodejs npm"
    fi
  fi
  if [ "$node_ok" = 1 ] && ! command -v npm >/dev/null; then
    need_apt "npm" npm
    node_ok=0
  fi

  # Debian's Chromium drives the buyer pages' browser tests (licensing-service/tests/integration/pages_browser.rs).
  if [ -x /usr/bin/chromium ]; then ok "Chromium (/usr/bin/chromium)"; else need_apt "Chromium at /usr/bin/chromium" chromium; fi
  command -v curl >/dev/null || need_apt "curl" curl
fi

if [ "$want_musl" = 1 ]; then
  if command -v musl-gcc >/dev/null; then ok "musl-gcc"; else need_apt "musl-gcc (for make musl)" musl-tools; fi
  command -v file >/dev/null || need_apt "file (for make musl's check)" file
  command -v objcopy >/dev/null || need_apt "objcopy (binutils, for make musl's symbol table)" binutils
  if command -v rustup >/dev/null; then
    target=${MUSL_TARGET:-x86_64-unknown-linux-musl}
    if rustup target list --installed 2>/dev/null | grep -qx "$target"; then
      ok "rustup target $target"
    elif rustup target add "$target" >/dev/null 2>&1; then
      ok "rustup target $target (installed now)"
    else
      need "rustup target $target: rustup target add $target"
    fi
  fi
fi

if [ ${#apt_wanted[@]} -gt 0 ]; then
  echo "doctor: installing with apt-get: ${apt_wanted[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2068 # "nodejs npm" is two packages
  if apt-get update -qq && apt-get install -y -qq ${apt_wanted[@]}; then
    exec "$0" ${rerun[@]+"${rerun[@]}"} # check again, now without installing
  fi
  need "apt-get install ${apt_wanted[*]} failed (see above)"
fi

# --- npm packages, from the lock files (no root needed) ---------------------------
if [ "$want_test" = 1 ] && [ "$node_ok" = 1 ]; then
  for dir in . licensing-service/tests/js; do
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
      ok "npm packages in $dir"
    elif (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error); then
      ok "npm packages in $dir (installed now: npm ci)"
    else
      need "npm packages in $dir: (cd $dir && npm ci)"
    fi
  done
fi

if [ "$missing" = 1 ]; then
  echo "doctor: install what is MISSING above, then run the command again" >&2
  exit 1
fi
echo "doctor: everything needed is here"
