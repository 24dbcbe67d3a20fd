# dealcraft build/test entry points. GNU make; recipes are tab-indented.

PY ?= python3
VENV = .venv
BIN = $(VENV)/bin
INSTALLED = $(VENV)/.installed

DEMO_ARGS ?=
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2

DJANGO_SETTINGS_MODULE ?= dealcraft.settings
export DJANGO_SETTINGS_MODULE

# Lint these when they exist (benchmarks/ may not yet).
LINT_PATHS = $(wildcard src tests benchmarks)

.DEFAULT_GOAL := test
.PHONY: install demo test check-migrations lint ruff mypy pytest browser-deps clean distclean

$(INSTALLED): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/dealcraft demo $(DEMO_ARGS)

check-migrations: $(INSTALLED)
	$(BIN)/python -m django makemigrations --check --dry-run

ruff: $(INSTALLED)
	$(BIN)/ruff check $(LINT_PATHS)

mypy: $(INSTALLED)
	$(BIN)/mypy src

lint: ruff mypy

pytest: $(INSTALLED)
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The browser tests drive Debian's chromium (Playwright's own browser downloads are not used).
CHROMIUM = /usr/bin/chromium

browser-deps:
	@if [ -x $(CHROMIUM) ]; then \
		echo "browser-deps: $$($(CHROMIUM) --version 2>/dev/null || echo $(CHROMIUM))"; \
	else \
		echo "browser-deps: $(CHROMIUM) is missing; installing Debian's chromium"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
			|| { echo "browser-deps: cannot install chromium (run as root on Debian:" \
			          "apt-get install chromium)" >&2; exit 1; }; \
		test -x $(CHROMIUM) \
			|| { echo "browser-deps: chromium installed but $(CHROMIUM) is missing" >&2; exit 1; }; \
	fi

# Sequential on purpose: cheap checks first, tests last.
test: $(INSTALLED) browser-deps
	$(MAKE) --no-print-directory check-migrations
	$(MAKE) --no-print-directory ruff
	$(MAKE) --no-print-directory mypy
	$(MAKE) --no-print-directory pytest

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
		test-artifacts benchmarks/out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
