# The two commands: `make book` and `make test`. Both set up .venv from the pinned versions
# on first use (and again when pyproject.toml or requirements.lock change).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book
BUILD_FLAGS := --path-output . --builder html -W -n --keep-going

.PHONY: book test lint unit unit-single-thread book-tests site-tests setup lock clean clean-cache serve

book: $(STAMP)
	$(JB) build . $(BUILD_FLAGS)

test: lint unit unit-single-thread book book-tests site-tests

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed; found: $$($(PYTHON) --version 2>&1). Run e.g. 'make PYTHON=python3.12 book'."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --no-deps --no-build-isolation -e .
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check ebp tests benchmarks book/_ext
	$(BIN)/ruff format --check ebp tests benchmarks book/_ext
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

unit: $(STAMP)
	$(BIN)/pytest -m "not book and not site" -n 2

# The same tests with single-threaded BLAS and OpenMP: results must not depend on thread count.
unit-single-thread: $(STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
	  $(BIN)/pytest -m "not book and not site" -n 2 -q --no-header -p no:cacheprovider

book-tests: $(STAMP)
	$(BIN)/pytest -m book -n 2

site-tests: $(STAMP)
	$(BIN)/pytest -m site

# View the built site at http://127.0.0.1:8000/ (works offline).
serve:
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory _build/html 8000

# Re-resolve the pinned versions from pyproject.toml into requirements.lock (needs the registry).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet "setuptools" -e ".[book,test]"
	{ echo "# Exact versions of everything the build and the tests use (Python 3.11, Linux x86-64)."; \
	  echo "# Regenerate with: make lock   (see README)"; \
	  .lock-venv/bin/pip freeze --all --exclude-editable | grep -v -E '^(pip|wheel)==' \
	    | sed -E 's/^torch==([0-9.]+)\+cpu$$/torch==\1/'; } > requirements.lock
	rm -rf .lock-venv

clean-cache:
	rm -rf _build/.jupyter_cache

clean:
	rm -rf _build
