# The project's entry points. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test pytest lint peers proto bench fuzz chaos soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,hid]'
	touch $(STAMP)

install: $(STAMP)

## Run the exporter on the bundled demo config (no hardware needed): http://localhost:9860/
run: install
	$(BIN)/power-exporter serve --config examples/demo.yaml

## Everything CI runs: install the real peers, lint, type-check, and the whole test suite.
test: install peers lint pytest

peers:
	scripts/install-peers

pytest: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## Regenerate the committed protobuf code from the .proto files.
proto: install
	scripts/gen-proto

## Benchmarks (not tests): ratios against baselines measured in the same run, into bench/RESULTS.md.
bench: install peers
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench

## Fuzz every parser with atheris: FUZZ_RUNS inputs each (default 1000000), into bench/runs/fuzz.md.
fuzz: install
	$(BIN)/pip install -q -e '.[fuzz]'
	$(BIN)/python -m bench.fuzz

## Kill -9 upsd CHAOS_KILLS times (default 20) under a scraped exporter, into bench/runs/chaos.md.
CHAOS_KILLS ?= 20
chaos: install peers
	$(BIN)/python -m bench.chaos $(CHAOS_KILLS)

## 50 scrapes/s of 100 devices for SOAK_SECONDS (default 600), into bench/runs/soak.md.
soak: install
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
