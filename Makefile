# The README's two quickstart commands: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
VENV := .venv
# Python 3.11 is the project's main interpreter; scripts/pythons finds it (and 3.12/3.13) via pyenv or PATH.
PYTHON ?= $(shell scripts/pythons 3.11 | head -n 1)
INSTALLED := $(VENV)/.installed

.PHONY: demo test unit venv stack-up stack-down bench clean

venv: $(INSTALLED)

$(INSTALLED): setup.cfg pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: no Python 3.11 found (pyenv or PATH)"; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -q --upgrade pip
	@$(VENV)/bin/python -m pip install -q -e '.[test,bench]'
	@touch $@

demo: venv
	@$(VENV)/bin/clickstream demo

# Unit and integration tests together, against the real local stack (scripts/stack), which is
# brought down again even when tests fail; then the inline-runner tests on every Python present.
test: venv
	@scripts/run-tests

unit: venv
	@$(VENV)/bin/python -m pytest -q -m "not integration"

# Every benchmark against its baseline (QUICK=1 for a smoke run); a full run writes bench/results/
# and renders docs/BENCHMARKS.md (python -m bench.report).
bench: venv
	@scripts/run-bench

stack-up:
	@scripts/stack up

stack-down:
	@scripts/stack down

clean:
	rm -rf $(VENV) .venv-3.* *.egg-info .pytest_cache
