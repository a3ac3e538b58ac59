# cardlake: `make run` shows the whole pipeline on embedded defaults; `make test` runs the full suite.
SHELL := /bin/bash
VENV := .venv
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN_HISTORY_START ?= 2025-03-01
RUN_START ?= 2025-06-01
RUN_END ?= 2025-07-01
RUN_CARDS ?= 300
DASHBOARD_PORT ?= 8501

.PHONY: run test setup check-java check lint format bench clean dashboard

check-java:
	@scripts/check_java.sh

setup: check-java
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	@$(UV) sync --locked --extra dev --quiet
	@echo "environment ready in $(VENV) (Python $$($(VENV)/bin/python -c 'import sys; print(sys.version.split()[0])'))"

run: setup
	@RUN_HISTORY_START=$(RUN_HISTORY_START) RUN_START=$(RUN_START) RUN_END=$(RUN_END) RUN_CARDS=$(RUN_CARDS) scripts/make_run.sh

# The Streamlit dashboard over the warehouse that `make run` filled (read-only); Ctrl-C stops it.
dashboard: setup
	@$(VENV)/bin/cardlake dashboard --port $(DASHBOARD_PORT)

test: setup
	@scripts/make_test.sh

lint: setup
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# What CI runs before the suite: lint, formatting, types and the import layers (pyproject.toml holds each setting).
check: lint
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache

format: setup
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf .cardlake spark-warehouse metastore_db derby.log
