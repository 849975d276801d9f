# Talent Data Hub. `make run` and `make test` do all set-up on a machine with only Python 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install schema clean-db help

help:
	@echo "make run    - install, start the embedded PostgreSQL, migrate, load demo data, serve on :8000"
	@echo "make test   - install, then run the whole test suite against a real PostgreSQL"
	@echo "make schema - re-export graphql/schema.graphql from the code"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/hub serve --migrate --demo small

test: $(STAMP)
	$(BIN)/python -m pytest

schema: $(STAMP)
	$(BIN)/hub schema export

clean-db:
	rm -rf .hub/pgdata
