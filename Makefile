# fetcher: a cron container that lands an HTTP JSON API as Parquet and CSV files.
IMAGE ?= fetcher
CONTAINER ?= fetcher
CONFIG ?= fetcher.toml
OUTPUT ?= ./output
RUN_FLAGS ?=
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
# The config is mounted only if it exists: otherwise Docker would create a directory in its place.
MOUNTS = -v $(abspath $(OUTPUT)):/out $(if $(wildcard $(CONFIG)),-v $(abspath $(CONFIG)):/etc/fetcher/fetcher.toml:ro)

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m [VARIABLE=value ...]\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } /^##= / { name = substr($$0, 5); sub(/ .*/, "", name); desc = substr($$0, 5 + length(name)); sub(/^ +/, "", desc); printf "  \033[36m%-12s\033[0m %s\n", name, desc } ' $(MAKEFILE_LIST)

##@ Container

# The state of $(CONTAINER) (running, exited, ...), or nothing when there is no such container.
STATE = $$(docker container inspect -f '{{.State.Status}}' $(CONTAINER) 2>/dev/null || true)
# Stop a target that needs the container running, saying what to do instead of Docker's error.
define require_running
	@state=$(STATE); \
	if [ -z "$$state" ]; then \
		echo "make $@: no container named $(CONTAINER); start it with: make run (or fetch once: make run-once)" >&2; exit 1; \
	elif [ "$$state" != running ]; then \
		echo "make $@: the container $(CONTAINER) is $$state, not running; see why: docker logs $(CONTAINER); then: make stop && make run" >&2; exit 1; \
	fi
endef

.PHONY: build
build: ## Build the runtime image (IMAGE=fetcher); never the test stage.
	docker build --network host --target runtime -t $(IMAGE) .

.PHONY: run
run: ## Start the fetcher: docker run -d -v ./output:/out, configured by ./fetcher.toml.
	@test -f $(CONFIG) || { echo "make run: no $(CONFIG); copy fetcher.example.toml and edit it" >&2; exit 2; }
	@state=$(STATE); [ -z "$$state" ] || { \
		echo "make run: a container named $(CONTAINER) already exists ($$state); make stop removes it (files in $(OUTPUT) stay), or choose another name: make run CONTAINER=fetcher2" >&2; exit 1; }
	docker run -d --name $(CONTAINER) $(RUN_FLAGS) $(MOUNTS) $(IMAGE)

.PHONY: run-once
run-once: ## Fetch now, as the scheduled job would; in a throwaway container if none runs.
	@if [ "$$(docker container inspect -f '{{.State.Running}}' $(CONTAINER) 2>/dev/null)" = true ]; then \
		docker exec $(CONTAINER) run-job --tee; \
	else \
		docker run --rm $(RUN_FLAGS) $(MOUNTS) $(IMAGE) once; \
	fi || { code=$$?; [ $$code -eq 75 ] && echo "run-once: a run is already in progress; nothing to do"; [ $$code -eq 75 ] || exit $$code; }

.PHONY: logs
logs: ## Follow the fetch log (tail -f /var/log/fetch.log).
	$(require_running)
	docker exec $(CONTAINER) tail -n 50 -F /var/log/fetch.log

.PHONY: status
status: ## Show each source's last run, its error, last success and next run.
	$(require_running)
	docker exec $(CONTAINER) python -m fetcher status

.PHONY: stop
stop: ## Stop and remove the container (files in ./output stay).
	@[ -n "$(STATE)" ] || { echo "make stop: no container named $(CONTAINER); nothing to stop" >&2; exit 0; }; \
	docker stop $(CONTAINER) && docker rm $(CONTAINER)

.PHONY: shell
shell: ## Open a shell in the running container.
	$(require_running)
	docker exec -it $(CONTAINER) bash

# The demo API is not a fetcher: it answers its own health check, not the image's `fetcher health`.
DEMO_API_HEALTH = --health-cmd "python /app/demo/api.py --check --port 8900" --health-interval 10s --health-retries 3

.PHONY: demo
demo: build ## Offline demo: a bundled API and the fetcher, one run, then the landed columns and rows.
	docker rm -f $(CONTAINER)-demo-api $(CONTAINER)-demo >/dev/null 2>&1 || true
	docker run -d --name $(CONTAINER)-demo-api --network host $(DEMO_API_HEALTH) $(IMAGE) python /app/demo/api.py --port 8900
	docker run -d --name $(CONTAINER)-demo --network host -e FETCH_ON_START=never \
		-v $(abspath $(OUTPUT)):/out -v $(CURDIR)/demo/fetcher.toml:/etc/fetcher/fetcher.toml:ro $(IMAGE)
	docker exec $(CONTAINER)-demo run-job --tee
	docker exec $(CONTAINER)-demo fetcher show demo-orders --limit 8
	@echo; echo "The demo fetcher keeps running every minute: make logs CONTAINER=$(CONTAINER)-demo"
	@echo "Stop it with: make demo-stop"

.PHONY: demo-stop
demo-stop: ## Stop and remove the demo's containers.
	docker rm -f $(CONTAINER)-demo-api $(CONTAINER)-demo

##@ Development

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.txt -r requirements-test.txt
	touch $@

.PHONY: test
test: $(VENV)/.installed ## Run the tests (container tests too, when a Docker engine answers).
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

$(VENV)/.lint-installed: $(VENV)/.installed requirements-lint.txt
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-lint.txt
	touch $@

.PHONY: lint
lint: $(VENV)/.lint-installed ## Lint and format-check Python (ruff), the layers (lint-imports), the Dockerfile, shell.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/shellcheck docker/entrypoint docker/run-job .ci/run

.PHONY: bench
bench: $(VENV)/.installed ## Benchmarks (throughput, latency, many sources, memory, cold start, image) against the raw floor and dlt; writes bench/RESULTS.md (about 15 min).
	$(MAKE) -C bench bench PYTHON=$(abspath $(VENV))/bin/python

.PHONY: lock
lock: ## Re-pin requirements*.txt from requirements*.in, with hashes (needs uv).
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header requirements.in -o requirements.txt
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header requirements-test.in -o requirements-test.txt
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header requirements-lint.in -o requirements-lint.txt
	uv pip compile --universal --python-version 3.11 --generate-hashes --no-header requirements-build.in -o requirements-build.txt

.PHONY: clean
clean: ## Remove the virtual environment, caches and build output (never ./output, never images).
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

##@ Variables (make run CONFIG=prod.toml RUN_FLAGS=--network=host)

##= IMAGE        the image to build and run (fetcher)
##= CONTAINER    the container's name (fetcher)
##= CONFIG       the configuration file mounted at /etc/fetcher/fetcher.toml (fetcher.toml)
##= OUTPUT       the host directory mounted at /out, where files land (./output)
##= RUN_FLAGS    extra `docker run` flags: --network=host to reach an API on the host, -e TZ=...
