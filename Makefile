# The two commands of the README: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.chariots-installed

.PHONY: demo test lint unit docs bench soak clean venv

$(BIN)/python:
	@echo "==> creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	@echo "==> installing chariots with its test, docs, sklearn and keras extras"
	$(BIN)/python -m pip install --quiet -e '.[test,docs,sklearn,keras]'
	@touch $(STAMP)

DEMO_STAMP := $(VENV)/.chariots-demo-installed

$(DEMO_STAMP): $(BIN)/python setup.cfg pyproject.toml
	@echo "==> installing chariots with its sklearn extra"
	$(BIN)/python -m pip install --quiet -e '.[sklearn]'
	@touch $(DEMO_STAMP)

venv: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python -m chariots.demo

lint: $(STAMP)
	$(BIN)/ruff check chariots tests benchmarks
	$(BIN)/lint-imports

# the package's doctests, the test suite and the documentation pages' doctests
PYTEST_ARGS := --doctest-modules chariots --ignore=chariots/op_store/migrations/env.py --doctest-glob='*.rst' tests docs

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# the generative tests of the promises, with many more examples (CHARIOTS_SOAK=<n> asks for n each)
soak: $(STAMP)
	CHARIOTS_SOAK=$${CHARIOTS_SOAK:-1} $(BIN)/python -m pytest -q -m generative tests

docs: $(STAMP)
	$(BIN)/sphinx-build -W -b html docs docs/_build/html

bench: $(STAMP)
	for bench in benchmarks/[!_]*.py; do $(BIN)/python -m benchmarks.$$(basename $$bench .py) || exit 1; done

clean:
	rm -rf build dist *.egg-info docs/_build .pytest_cache
