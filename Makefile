# Keysat — the commands that matter: `make run` and `make test`.
CARGO ?= cargo
NPM ?= npm
DATA_DIR ?= ./data
MUSL_TARGET ?= x86_64-unknown-linux-musl
# Architecture of `make s9pk`: x86_64 or aarch64.
ARCH ?= x86_64
# The architectures `make s9pk-all` packs (the SDK's s9pk.mk names).
ARCHES := x86 arm

.PHONY: run demo doctor test test-release standalone js-deps lint fmt check test-startos bench bench-scale admin-key build musl musl-check s9pk s9pk-all npm-deps distclean

## Run the daemon on embedded SQLite in ./data (prints the admin key on first start and the URLs).
run:
	@scripts/doctor.sh --run
	KEYSAT_DATA_DIR=$(DATA_DIR) $(CARGO) run --release -p keysat -- serve

## The same, in demo mode: simulated payments with a built-in checkout page (no BTCPay, no money).
demo:
	@scripts/doctor.sh --run
	KEYSAT_DATA_DIR=$(DATA_DIR)-demo $(CARGO) run --release -p keysat -- serve --demo

## What `make test` needs (Node >= 20, a C compiler, Chromium, rustfmt/clippy, the npm packages):
## one line per missing thing with the command that installs it; installs what needs no root.
doctor:
	@scripts/doctor.sh

## Every test: first the doctor, then formatting, clippy, the package's type-check, unit,
## integration and doc tests of the whole workspace (the stable proptest fuzz target
## included), the release-mode tests (test-release), then the StartOS package's tests.
test: doctor
	$(MAKE) --no-print-directory lint check js-deps
	$(CARGO) test --workspace --no-fail-fast
	$(MAKE) --no-print-directory test-release
	$(NPM) test

## What is too slow for a debug build, in release: the exhaustive tamper test (every
## single-character change of every reference key) and the parsers' proptest fuzz
## targets (LIC1; leases, activation codes, nonces) with 4,096 cases per property.
test-release:
	$(CARGO) test --release -p keysat-client --test tamper -- --ignored
	PROPTEST_CASES=4096 $(CARGO) test --release -p keysat-client --test fuzz_parse
	PROPTEST_CASES=4096 $(CARGO) test --release -p keysat-client --test fuzz_formats

## The repository stands alone: the committed tree, unpacked with nothing beside it, passes the
## tests that once read the project's shared folder (LIC1 vectors, BTCPay conformance).
standalone:
	scripts/standalone-check.sh

## JavaScript tools the tests drive (Prism, Ajv, Playwright), from the lock file.
js-deps:
	@[ -d licensing-service/tests/js/node_modules ] || (cd licensing-service/tests/js && npm ci --no-audit --no-fund --loglevel=error)

## Formatting and lints, warnings as errors.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## The StartOS package's TypeScript: type-checked (tsc --noEmit) and the SDK's own lint rules.
check: npm-deps
	$(NPM) run check
	$(NPM) run lint

## The StartOS package's tests alone: every action against a live daemon, manifest drift, backups.
test-startos: npm-deps
	$(NPM) test

## The package's npm dependencies, from the lock file (once).
npm-deps:
	@[ -d node_modules/@start9labs/start-sdk ] || $(NPM) ci --no-audit --no-fund --loglevel=error

## Benchmark of the validation hot path (needs wrk); BENCH_SECONDS=60 by default.
bench:
	bench/validate/run.sh

## Benchmark with many licenses (needs wrk, sqlite3): issues N licenses (default 100000), then prints
## issuance rate, bytes per license, cold and warm random-key validation against /healthz in the
## same run, dropped events, RSS, restart time, the expiry probe and /v1/admin/stats, one line each.
N ?= 100000
bench-scale:
	bench/scale/run.sh $(N)

## Print the admin key stored in ./data.
admin-key:
	KEYSAT_DATA_DIR=$(DATA_DIR) $(CARGO) run --release -q -p keysat -- admin-key

build:
	$(CARGO) build --release -p keysat

## Fully static binary target/$(MUSL_TARGET)/dist/keysat (needs musl-tools and the rustup target),
## its symbol table cut to Keysat's own functions (scripts/dist-symbols.sh), then proof: `file` and
## `ldd` say static, `--version` runs, a real panic's backtrace (RUST_BACKTRACE=1) names Keysat's
## functions, `keysat serve` answers /healthz. The Dockerfile runs this same target and copies this
## same file. MUSL_RUSTFLAGS: relative relocations packed (DT_RELR, which musl >= 1.2.4 applies:
## 0.4 MB less than RELA entries, still position-independent).
MUSL_RUSTFLAGS ?= -C link-arg=-Wl,-z,pack-relative-relocs
musl:
	@scripts/doctor.sh --run --musl
	RUSTFLAGS="$(MUSL_RUSTFLAGS)" $(CARGO) build --profile dist --locked -p keysat --target $(MUSL_TARGET)
	scripts/dist-symbols.sh target/$(MUSL_TARGET)/dist/keysat
	scripts/musl-check.sh target/$(MUSL_TARGET)/dist/keysat

## The proof alone, on the binary `make musl` built.
musl-check:
	scripts/musl-check.sh target/$(MUSL_TARGET)/dist/keysat

## The StartOS package for one architecture, keysat_$(ARCH).s9pk (ARCH=x86_64 or aarch64), built by
## the SDK's own s9pk.mk (type-check, SDK lint, ncc bundle, start-cli pack). Needs start-cli
## (StartOS's SDK command line), jq, and docker with buildx, which build the image from the
## Dockerfile for that architecture (aarch64 under emulation on an x86_64 machine).
s9pk: npm-deps
	@command -v docker >/dev/null || { echo "make s9pk: docker (with buildx) is needed to build the image" >&2; exit 1; }
	@$(MAKE) --no-print-directory arch/$(ARCH)

## Both architectures (ARCHES), as Start9's own packages build them.
s9pk-all: npm-deps
	@$(MAKE) --no-print-directory arches

## What `make` built, the npm packages and the Rust build (s9pk.mk's `clean` leaves target/).
distclean: clean
	$(CARGO) clean

# The SDK's packaging rules (all, arches, arch/%, install, publish, clean, javascript/index.js,
# node_modules). Included last, so `make` alone still runs `run`; absent until `npm ci`.
-include node_modules/@start9labs/start-sdk/s9pk.mk
