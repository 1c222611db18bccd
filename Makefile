# Two commands for a fresh machine:  `make run`  and  `make test`.
# Both create what they need on first use: .venv (Python 3.11, the product),
# .venv-rasa (Python 3.10, Rasa 3.6), node_modules (the chat widget's socket.io client);
# `make test` also installs headless Chromium from Debian's packages when it is missing.

PYTHON      ?= python3.11
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
RASA_VENV   := .venv-rasa
RASA_STAMP  := $(RASA_VENV)/.installed
WEB_STAMP   := node_modules/.installed
CHROMIUM    ?= /usr/bin/chromium
HAPROXY     ?= /usr/sbin/haproxy
# Rasa 3.6 runs on Python 3.8-3.10 only: python3.10 on the PATH, else a pyenv install.
PYTHON_RASA ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10; do \
                 $$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null \
                 && { echo $$p; break; }; done)

.PHONY: run test setup bench clean chromium haproxy

run: setup
	$(BIN)/supportbot run

test: setup chromium
	-@$(MAKE) --no-print-directory haproxy  # the scale test skips, saying why, without it
	$(BIN)/ruff check .  # lint first: a finding fails the target before the suite runs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

setup: $(STAMP) $(RASA_STAMP) $(WEB_STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: $(PYTHON) not found. Install Python 3.11 (for example 'pyenv install 3.11')" \
	       "or run 'make PYTHON=/path/to/python3.11 ...'." >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first, so sentence-transformers does not pull a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(RASA_STAMP): bot/conversation/rasa_project/requirements.txt
	@test -n "$(PYTHON_RASA)" || { \
	  echo "error: Python 3.10 not found; Rasa 3.6 needs it (it supports Python 3.8-3.10 only)." \
	       "Install it (for example 'pyenv install 3.10') or run" \
	       "'make PYTHON_RASA=/path/to/python3.10 ...'." >&2; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PYTHON_RASA) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/pip install --quiet -r bot/conversation/rasa_project/requirements.txt
	touch $(RASA_STAMP)

$(WEB_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "error: npm not found; the chat widget needs Node.js and npm to install its" \
	       "socket.io client (for example 'apt-get install nodejs npm')." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }; \
	  else \
	    echo "error: headless Chromium is needed by the browser tests; install Debian's" \
	         "'chromium' package (sudo apt-get install chromium) or set CHROMIUM=/path." >&2; exit 1; \
	  fi; }

# `supportbot run --workers N` (N > 1) puts Debian's HAProxy in front of the processes; the
# scale test uses it too (and skips, saying why, without it).
haproxy:
	@test -x $(HAPROXY) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q haproxy >/dev/null || { apt-get update -q && apt-get install -y -q haproxy; }; \
	  else \
	    echo "error: 'supportbot run --workers N' needs HAProxy; install Debian's 'haproxy'" \
	         "package (sudo apt-get install haproxy) or set HAPROXY=/path." >&2; exit 1; \
	  fi; }

clean:
	rm -rf $(VENV) $(RASA_VENV) node_modules var .pytest_cache
