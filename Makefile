# duban: two commands do all the set-up on a fresh clone (see README.md).
#   make up     create .venv if needed, install, start the embedded stack (Ctrl-C stops it)
#   make test   create .venv if needed, install, run the whole test suite
#   make lint   ruff, mypy and import-linter (the layers' import directions, docs/architecture.md)
#   make reset  delete var/ (Temporal's database, the Maildir, blobs, logs)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Touched after a successful install; pyproject.toml newer than it means "install again".
STAMP  := $(VENV)/.installed
PACKAGES := domain workflows activities workers schemas console

.PHONY: up test lint reset venv

venv: $(STAMP)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; duban needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: duban needs Python 3.11 or newer, but $(PYTHON) is $$($(PYTHON) --version 2>&1); run e.g. 'make PYTHON=python3.12 up'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

up: $(STAMP)
	$(BIN)/duban dev

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/lint-imports

# Only the default data directory; a custom DUBAN_DATA_DIR is yours to delete.
reset:
	@if [ -f var/run/dev.pid ] && kill -0 "$$(cat var/run/dev.pid)" 2>/dev/null; then \
	  echo "error: duban dev (pid $$(cat var/run/dev.pid)) is running on var/; stop it first" >&2; exit 1; fi
	rm -rf var
