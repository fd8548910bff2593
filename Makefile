# Keysat — the commands that matter: `make run` and `make test`.
CARGO ?= cargo
DATA_DIR ?= ./data
MUSL_TARGET ?= x86_64-unknown-linux-musl

.PHONY: run demo test js-deps lint fmt bench admin-key build musl clean

## Run the daemon on embedded SQLite in ./data (prints the admin key on first start and the URLs).
run:
	KEYSAT_DATA_DIR=$(DATA_DIR) $(CARGO) run --release -p keysat -- serve

## The same, in demo mode: simulated payments with a built-in checkout page (no BTCPay, no money).
demo:
	KEYSAT_DATA_DIR=$(DATA_DIR)-demo $(CARGO) run --release -p keysat -- serve --demo

## Every test: formatting, clippy, unit, integration and doc tests of the whole workspace.
test: lint js-deps
	$(CARGO) test --workspace --no-fail-fast

## JavaScript tools the tests drive (Prism, Ajv, Playwright), from the lock file.
js-deps:
	@[ -d licensing-service/tests/js/node_modules ] || (cd licensing-service/tests/js && npm ci --no-audit --no-fund --loglevel=error)

## Formatting and lints, warnings as errors.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Benchmark of the validation hot path (needs wrk); BENCH_SECONDS=60 by default.
bench:
	bench/validate/run.sh

## Print the admin key stored in ./data.
admin-key:
	KEYSAT_DATA_DIR=$(DATA_DIR) $(CARGO) run --release -q -p keysat -- admin-key

build:
	$(CARGO) build --release -p keysat

## Fully static binary target/$(MUSL_TARGET)/release/keysat (needs musl-tools and the rustup target),
## then proof: `file` and `ldd` say static, `--version` runs, `keysat serve` answers /healthz.
## The Dockerfile runs this same target and copies this same file.
musl:
	$(CARGO) build --release --locked -p keysat --target $(MUSL_TARGET)
	scripts/musl-check.sh target/$(MUSL_TARGET)/release/keysat

clean:
	$(CARGO) clean
