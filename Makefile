# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit slow proto bench clean compose-up compose-down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,plot,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/chordshare demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# Regenerate the gRPC stubs from the .proto contract (the generated files are committed).
proto: $(STAMP)
	$(BIN)/python -m chordshare.transport.grpc.codegen

# Benchmarks print figures against a baseline measured in the same run (about 15 minutes).
bench: $(STAMP)
	$(BIN)/python bench/content_hash.py
	$(BIN)/python bench/transfer.py
	$(BIN)/python bench/lookup_latency.py
	$(BIN)/python bench/ring_formation.py
	$(BIN)/python bench/node_footprint.py
	$(BIN)/python bench/host_flood.py
	$(BIN)/python bench/tls_cost.py

# A ring of 3 containers on this host (deploy/compose.yaml); node1's REST on 127.0.0.1:8000.
compose-up:
	docker-compose -f deploy/compose.yaml -p chordshare up -d --build

compose-down:
	docker-compose -f deploy/compose.yaml -p chordshare down --volumes

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
