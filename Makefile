# autobot-monitor: two commands for a fresh clone.
#   make run   - set up (venv + install) and start the hub on http://127.0.0.1:9090
#   make test  - set up (venv with test tools; redis-server, promtool, chromium... where
#                installable) and run the tests
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test venv sysdeps lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# `make run` installs only what the product needs; `make test` adds the test tools.
$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $(TEST_STAMP) $(RUN_STAMP)

venv: $(TEST_STAMP)

run: $(RUN_STAMP)
	$(VENV)/bin/autobot-monitor start $(ARGS)

# the real tools the tests talk to; installed when we can (root + apt), see the script.
sysdeps:
	@./scripts/ensure-test-tools.sh

test: $(TEST_STAMP) sysdeps
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy

bench: $(TEST_STAMP)
	$(PY) bench/scrape_cpu.py

clean:
	rm -rf $(VENV) build dist *.egg-info
