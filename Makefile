# The project's entry points. `make run` and `make test` work on a fresh machine.
#
# Every environment is installed from a committed lock (requirements/*.txt: every package pinned,
# with hashes, `pip install --require-hashes`), then the project itself without dependencies and
# without build isolation (its build backend is in the lock too). When a lock changes, its
# environment is made anew, so what is installed is exactly the lock.
PYTHON ?= python3
VENV ?= .venv
RUN_VENV ?= .venv-run
BIN := $(VENV)/bin

.PHONY: install run test pytest lint peers proto bench fuzz chaos hostile screenshots sweep soak lock test-latest dist clean

# $(call venv,DIR,LOCK): make DIR anew from LOCK and install the project into it, editable.
define venv
	rm -rf $(1)
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(2)
	$(1)/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(1)/.installed-stamp
endef

$(VENV)/.installed-stamp: requirements/test.txt pyproject.toml
	$(call venv,$(VENV),requirements/test.txt)

$(RUN_VENV)/.installed-stamp: requirements/run.txt pyproject.toml
	$(call venv,$(RUN_VENV),requirements/run.txt)

install: $(VENV)/.installed-stamp

## Run the exporter on the bundled demo config (no hardware needed): http://localhost:9860/
## Its environment holds what serving needs and nothing else (no test or lint tools).
run: $(RUN_VENV)/.installed-stamp
	$(RUN_VENV)/bin/power-exporter serve --config examples/demo.yaml

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

## Refresh every lock from pyproject.toml (newest versions its bounds allow). Run `make test-latest`
## first: it runs the suite against exactly those versions.
LOCK_TOOLS := .venv-lock
lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install -q --disable-pip-version-check 'pip-tools==7.6.2'
	scripts/lock $(LOCK_TOOLS)/bin/pip-compile

## The whole suite against the newest versions pyproject.toml allows, in .venv-latest (not the lock).
test-latest: peers
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install -q --disable-pip-version-check --upgrade -e '.[test,hid]'
	.venv-latest/bin/pip freeze --exclude-editable > .venv-latest/versions.txt
	.venv-latest/bin/ruff check . && .venv-latest/bin/mypy && POWER_EXPORTER_UNLOCKED=1 .venv-latest/bin/pytest

## An sdist and a wheel in dist/, checked with twine.
dist: install
	rm -rf dist
	$(BIN)/hatchling build -t sdist -t wheel
	$(BIN)/twine check --strict dist/*

## Regenerate the committed protobuf code from the .proto files.
proto: install
	scripts/gen-proto

## Benchmarks (not tests): ratios against baselines measured in the same run, into bench/RESULTS.md.
.venv-bench/.installed-stamp: requirements/bench.txt pyproject.toml
	$(call venv,.venv-bench,requirements/bench.txt)
bench: .venv-bench/.installed-stamp peers
	.venv-bench/bin/python -m bench

## Fuzz every parser with atheris: FUZZ_RUNS inputs each (default 1000000), into bench/runs/fuzz.md.
.venv-fuzz/.installed-stamp: requirements/fuzz.txt pyproject.toml
	$(call venv,.venv-fuzz,requirements/fuzz.txt)
fuzz: .venv-fuzz/.installed-stamp
	.venv-fuzz/bin/python -m bench.fuzz

## Kill -9 upsd, then mosquitto under EcoFlow devices, CHAOS_KILLS times each (default 20) under a
## scraped exporter, into bench/runs/chaos.md.
CHAOS_KILLS ?= 20
chaos: install peers
	$(BIN)/python -m bench.chaos $(CHAOS_KILLS)

## Regenerate docs/images/status-*.png from the demo in headless Chromium (about 90 s).
screenshots: install peers
	$(BIN)/python scripts/screenshots

## Every dump of the NUT device library through a real upsd: nothing implausible in power_*.
sweep: install peers
	$(BIN)/python -m bench.nut_sweep

## Hostile clients against a real serve process (half-open heads, pipelining, slow connections,
## wrong passwords), full size, into bench/runs/hostile.md.
hostile: install
	$(BIN)/python -m bench.hostile
	$(BIN)/python -m bench.hostile_upsd

## 50 scrapes/s of 100 devices for SOAK_SECONDS (default 3600), into bench/runs/soak.md.
soak: install
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) $(RUN_VENV) .venv-bench .venv-fuzz .venv-latest $(LOCK_TOOLS) dist \
		.mypy_cache .ruff_cache .pytest_cache .hypothesis
