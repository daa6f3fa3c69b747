# Two entry points for people: `make run` and `make test`. Everything else is plumbing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo

.PHONY: run test install install-test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { echo "python3-venv is missing: installing it with apt"; \
	  rm -rf $(VENV); apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test opensearch-node

# The real single-node OpenSearch of the tests (tests/servers/opensearch): offline first, online once.
opensearch-node:
	cd tests/servers/opensearch && { mvn -B -q -o package >/dev/null 2>&1 || \
	  { echo "OpenSearch test node: resolving its Maven dependencies"; mvn -B -q dependency:go-offline && mvn -B -q -o package; }; }

run: install
	$(BIN)/wafpipe demo --dir $(DEMO)

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

test: install-test lint
	$(BIN)/pytest -q

bench: install-test
	$(BIN)/python bench/decode.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
