# fetcher: a cron container that lands an HTTP JSON API as Parquet and CSV files.
IMAGE ?= fetcher
CONTAINER ?= fetcher
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.txt -r requirements-test.txt
	touch $@

.PHONY: test
test: $(VENV)/.installed ## Run the tests (container tests too, when a Docker engine answers).
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

.PHONY: lock
lock: ## Re-pin requirements*.txt from requirements*.in, with hashes (needs uv).
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header requirements.in -o requirements.txt
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header requirements-test.in -o requirements-test.txt

.PHONY: clean
clean: ## Remove the virtual environment and caches (never ./output).
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
