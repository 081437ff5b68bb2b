# autobot-monitor: two commands for a fresh clone.
#   make run   - set up (venv + install) and start the hub on http://127.0.0.1:9090
#   make test  - set up (venv, test tools, promtool/redis-server where installable) and run the tests
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test venv sysdeps lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/autobot-monitor start $(ARGS)

# redis-server and promtool are what the tests talk to; install them when we can (root + apt).
sysdeps:
	@./scripts/ensure-test-tools.sh

test: $(STAMP) sysdeps
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests

bench: $(STAMP)
	$(PY) bench/scrape_cpu.py

clean:
	rm -rf $(VENV) build dist *.egg-info
