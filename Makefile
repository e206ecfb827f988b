# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-deps demo test lint pythons pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (headless Chromium, a CJK font, poppler, zbar); each
# script installs only what is missing.
system-deps:
	bash scripts/install-browser.sh
	bash scripts/install-fonts.sh --for-tests
	bash scripts/install-axe.sh

demo: install
	bash scripts/demo.sh

test: install system-deps lint pythons pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy inspect_engine models api simulations
	$(BIN)/lint-imports

# The dependencies resolve to wheels for the other Pythons the metadata allows (a dry run).
pythons: install
	PY=$(BIN)/python bash scripts/check-python-versions.sh

pytest: install
	$(BIN)/pytest

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var out .pytest_cache .mypy_cache .ruff_cache
