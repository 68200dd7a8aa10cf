# Two entry points for a fresh machine (see README):  make main   and   make test
# Both set up .venv first. DATA points at the instruction data (MANIFEST layout).
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
BANK ?= banks/main
export INSBANK_DATA := $(abspath $(DATA))

.PHONY: setup main test test-fast check-sync experiments experiments-full bench clean-banks

$(BIN)/insbank: settings.ini setup.py .ci/constraints.txt
	bash .ci/setup $(VENV)
	@touch $(BIN)/insbank

setup: $(BIN)/insbank

main: setup
	$(BIN)/insbank timeline --data-dir "$(INSBANK_DATA)" --bank $(BANK)

check-sync: setup
	bash .ci/check-sync $(VENV)

test-fast: setup
	$(BIN)/nbdev_test --n_workers 2
	$(BIN)/pytest -q tests

test: check-sync test-fast experiments-smoke

experiments-smoke: setup
	$(BIN)/insbank reproduce --out build/reports-smoke --check

experiments: setup
	$(BIN)/insbank reproduce --out reports

experiments-full: setup
	$(BIN)/insbank reproduce --out reports --full

bench: setup
	$(BIN)/python benchmarks/bench_ap.py
