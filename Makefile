# Provisio: `make run` serves the portal, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
TOOLS ?= $(HOME)/.cache/provisio
export PATH := $(TOOLS)/bin:$(HOME)/.cargo/bin:$(PATH)
export PROVISIO_TOOLS := $(TOOLS)
export PROVISIO_ALLOW_PRIVATE_TARGETS ?= true
BENCH ?=

.PHONY: help tools run build test test-unit lint wasm-check e2e bench fuzz fmt clean-data

help:
	@echo "make run    - build and serve the portal on http://127.0.0.1:3000 (SQLite in ./data)"
	@echo "make test   - lint, unit, store (SQLite + PostgreSQL), API and end-to-end tests"
	@echo "make bench  - benchmarks (BENCH=<name> for one)"
	@echo "make fuzz   - fuzz the expression engine for FUZZ_SECONDS (default 120)"

tools:
	@scripts/tools.sh build

build: tools
	cargo leptos build --release

run: build
	LEPTOS_SITE_ROOT=target/site ./target/release/provisio serve

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p provisio-app --features hydrate --target wasm32-unknown-unknown -- -D warnings

wasm-check:
	cargo check -p provisio --no-default-features --target wasm32-unknown-unknown

test-unit:
	cargo test --workspace

e2e:
	cargo leptos build
	cd end2end && npx playwright test

test:
	@scripts/tools.sh test
	$(MAKE) lint
	$(MAKE) wasm-check
	$(MAKE) test-unit
	$(MAKE) e2e

bench: tools
	@scripts/bench.sh $(BENCH)

fuzz:
	@scripts/fuzz.sh

clean-data:
	rm -rf ./data
