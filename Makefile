# Two entry points for people: `make run` and `make test`. Everything else is plumbing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo
# The Rust core's sources: a change rebuilds wafpipe._native on the next make.
NATIVE_SRC := $(shell find native/src -name '*.rs') native/build.rs native/Cargo.toml Cargo.toml Cargo.lock
# Cargo's build cache lives outside the clone, so a fresh clone on the same machine reuses the
# compiled dependencies; it is created when missing (never required to exist).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/wafpipe/cargo-target
# The web UI's libraries and map data, from npm at the locked versions (src/wafpipe/web/assets),
# copied into the package and served from it (never a CDN).
WEB_ASSETS := src/wafpipe/web/assets
WEB_VENDOR := src/wafpipe/web/static/vendor
WEB_VENDORED := $(WEB_VENDOR)/.copied

.PHONY: run demo test install install-test opensearch-node azurite sshd chromium rsyslog lint native-test bench dist generate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { echo "python3-venv is missing: installing it with apt"; \
	  rm -rf $(VENV); apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip

# A list in pyproject.toml, one item per line: `$(PYPROJECT_LIST) tool wafpipe no-deps-dependencies`.
PYPROJECT_LIST = $(BIN)/python -c 'import functools, operator, sys, tomllib; \
  print("\n".join(functools.reduce(operator.getitem, sys.argv[1:], tomllib.load(open("pyproject.toml", "rb")))))'
# [tool.wafpipe] no-deps-dependencies of pyproject.toml: pySigma's backends, whose declared pysigma<2
# would otherwise pull pySigma back to 1.x (see the comment there).
NO_DEPS = $(PYPROJECT_LIST) tool wafpipe no-deps-dependencies

# The core is built with profile-guided optimisation (native/pgo/install.sh: an instrumented build
# reads a sample workload, and the core is built again with what it counted).
PGO_PROFILE := $(CARGO_TARGET_DIR)/pgo/wafpipe.profdata

$(VENV)/.installed: $(BIN)/python pyproject.toml $(NATIVE_SRC) $(WEB_VENDORED) native/pgo/install.sh native/pgo/train.py
	bash native/pgo/install.sh $(BIN)
	$(BIN)/pip install -q --no-deps $$($(NO_DEPS))
	touch $@

$(WEB_VENDORED): $(WEB_ASSETS)/package-lock.json
	cd $(WEB_ASSETS) && npm ci --no-audit --no-fund --silent
	mkdir -p $(WEB_VENDOR)
	cp $(WEB_ASSETS)/node_modules/chart.js/dist/chart.umd.js $(WEB_VENDOR)/chart.umd.js
	cp $(WEB_ASSETS)/node_modules/topojson-client/dist/topojson-client.min.js $(WEB_VENDOR)/topojson-client.min.js
	cp $(WEB_ASSETS)/node_modules/world-atlas/countries-110m.json $(WEB_VENDOR)/countries-110m.json
	cp $(WEB_ASSETS)/node_modules/i18n-iso-countries/codes.json $(WEB_VENDOR)/iso-3166-codes.json
	touch $@

# The test extras, installed by name: `pip install -e '.[test]'` would build the core again, without
# its profile.
TEST_DEPS = $(PYPROJECT_LIST) project optional-dependencies test

$(VENV)/.installed-test: $(VENV)/.installed
	$(TEST_DEPS) | xargs -d '\n' $(BIN)/pip install -q
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test opensearch-node azurite sshd chromium rsyslog

# Azurite, the Azure Storage emulator of the azure_blob source tests, from npm at the locked version.
AZURITE := tests/servers/azurite/node_modules/.bin/azurite-blob
azurite: $(AZURITE)
$(AZURITE): tests/servers/azurite/package-lock.json
	cd tests/servers/azurite && npm ci --no-audit --no-fund --silent
	touch $@

# Debian's OpenSSH server for the sftp source tests, which start their own sshd on a free port
# (tests/servers/sshd_server.py); the system's ssh service is not used.
SSHD := /usr/sbin/sshd
sshd:
	@test -x $(SSHD) || { echo "installing openssh-server (apt) for the sftp source tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null; }

# Debian's rsyslogd (with its GnuTLS driver) as the real receiver of the syslog sink's tests, which
# start their own on a free port (tests/servers/rsyslog.py); the system's syslog service is not used.
RSYSLOGD := /usr/sbin/rsyslogd
rsyslog:
	@test -x $(RSYSLOGD) && dpkg -s rsyslog-gnutls >/dev/null 2>&1 || { echo "installing rsyslog (apt) for the syslog sink tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsyslog rsyslog-gnutls >/dev/null; }

# Debian's Chromium for the web UI's browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@test -x /usr/bin/chromium || { echo "installing chromium (apt) for the web UI tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The real single-node OpenSearch of the tests (tests/servers/opensearch): offline first, online once.
opensearch-node:
	cd tests/servers/opensearch && { mvn -B -q -o package >/dev/null 2>&1 || \
	  { echo "OpenSearch test node: resolving its Maven dependencies"; mvn -B -q dependency:go-offline && mvn -B -q -o package; }; }

# The demo, then its web UI on http://127.0.0.1:8080 until Ctrl-C (`make demo` stops after the summary).
run: demo
	$(BIN)/wafpipe serve -c $(DEMO)/wafpipe.toml

demo: install
	$(BIN)/wafpipe demo --dir $(DEMO)

lint: install-test
	$(BIN)/ruff check src tests bench native/pgo
	$(BIN)/lint-imports
	cargo clippy -q --locked -p wafpipe-native --all-targets -- -D warnings
	cargo clippy -q --locked -p wafpipe-native --all-targets --features python -- -D warnings

# The core's own tests: unit and integration tests, and the fuzz corpus seeds replayed.
native-test:
	cargo test -q --locked -p wafpipe-native

test: install-test lint native-test
	$(BIN)/pytest -q

# Rust tables generated from the field table (a test fails when they are stale).
generate: install
	$(BIN)/python -m wafpipe.fields.codegen

# A wheel with the compiled core, in dist/ (with the profile of the last install, when there is one).
dist: install-test
	RUSTFLAGS="$${RUSTFLAGS:-} $$(test -f $(PGO_PROFILE) && echo -Cprofile-use=$(PGO_PROFILE))" \
	  $(BIN)/maturin build --release --locked --out dist

bench: install-test
	$(BIN)/python bench/decode.py
	$(BIN)/python bench/redaction.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache dist src/wafpipe/_native*.so
