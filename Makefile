# The two commands of the README: `make book` and `make test`. Both create or reuse .venv and
# install the pinned dependencies (requirements.lock) and this package into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The CPU wheel of torch 2.13.0 lies in /opt/wheels on this machine kind; an unpinned torch
# would pull several GB of CUDA packages.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: setup book test lint benchmark clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(FIND_LINKS) -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Execute every chapter at its committed parameters (writes data/), build the HTML book with
# warnings as errors and regenerate PAPER.md. `$(PY) -m richneuron.book build --quick` is the
# smoke test: a few steps, one seed, two tasks per chapter, results under _build/quick/.
book: $(STAMP)
	$(PY) -m richneuron.book build

test: $(STAMP)
	$(PY) -m ruff check richneuron tests benchmarks book
	$(PY) -m pytest -q

benchmark: $(STAMP)
	$(PY) benchmarks/trainer.py

clean:
	rm -rf _build build .pytest_cache
