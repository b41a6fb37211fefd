# Post16 Lessons — the commands a developer, CI and IT use. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export POST16_TEST_DATABASE_URL ?= postgresql+psycopg://post16:post16-test-only@127.0.0.1:5432/post16_test
export QT_QPA_PLATFORM ?= offscreen

.PHONY: help install provision test test-fast check lint format demo chaos bench load installer clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: ## the Python environment from the lock file (.venv)
	scripts/provision.sh venv

provision: ## install and start everything the tests need (PostgreSQL, Docker, Chromium, axe-core, Qt libs)
	scripts/provision.sh all

test: provision check ## install and start the services, check the code, then run the whole suite
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

test-fast: install ## unit tests only, no services
	$(PY) -m pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

check: install ## lint, format check, types and layer contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: ## run the whole system on SQLite with demo users and lessons (installs Qt's libraries when there is a display)
	scripts/provision.sh venv
	scripts/demo.sh

chaos: provision ## fault-injection suite (PROFILE=quick|long)
	$(PY) tests/e2e/chaos.py --profile $(or $(PROFILE),long)

bench: provision ## run every benchmark in bench/ and print the numbers
	for b in bench/*.py; do $(PY) $$b || exit 1; done

load: provision ## the load suite, one scenario against a real server (SCENARIO=steady WORKERS=2; LOAD_ARGS=--help)
	$(PY) performance/run.py --scenario $(or $(SCENARIO),steady) --workers $(or $(WORKERS),1) $(LOAD_ARGS)

installer: install ## desktop app installers: PyInstaller bundle + .deb in dist/ (cached in build/installer-cache)
	$(PY) packaging/build.py --out dist

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
