# The two commands of the README: `make book` and `make test`. Both create or reuse .venv and
# install the pinned dependencies (requirements.lock) and this package into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PEERS := $(VENV)/.peers
# The CPU wheel of torch 2.13.0 lies in /opt/wheels on this machine kind; an unpinned torch
# would pull several GB of CUDA packages.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)

.PHONY: setup peers book test browser qemu fingerprint benchmark clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check $(FIND_LINKS) -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Test-only extras: the related neurons' reference implementations (tests/test_peers.py),
# without their declared dependencies (see requirements-peers.lock).
peers: $(PEERS)

$(PEERS): $(STAMP) requirements-peers.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-peers.lock
	touch $(PEERS)

# Execute every chapter at its committed parameters (writes data/), build the HTML book with
# warnings as errors and regenerate PAPER.md. `$(PY) -m richneuron.book build --quick` is the
# smoke test: a few steps, one seed, two tasks per chapter, everything under _build/quick/.
book: $(STAMP)
	$(PY) -m richneuron.book build $(if $(RETRAIN),--retrain)

# Lint; the drift gate (the arithmetic fingerprint first, then every chapter re-executed from an
# empty run cache under _build/gate, compared with data/, PAPER.md and paper_figures/, and a
# sample of every committed sweep retrained); then the test suite (with the peers' packages),
# whose browser test opens the gate's HTML in headless Chromium and whose cross-CPU test
# computes the fingerprint under qemu-x86_64 (an Intel and an AMD CPU). It prints its 20
# slowest tests: CI allows the whole target 90 minutes.
test: $(STAMP) $(PEERS) browser qemu
	$(PY) -m ruff check richneuron tests benchmarks book
	$(PY) -m richneuron.book check
	RICHNEURON_BOOK_HTML=_build/gate/_build/html $(PY) -m pytest -q --durations=20

# Debian's Chromium and its WebDriver, for the browser test (root installs them with apt).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Debian's qemu-user, for the cross-CPU test (qemu-x86_64 emulates an Intel and an AMD CPU).
qemu:
	@command -v qemu-x86_64 >/dev/null || { \
	  apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null; }

# Recompute the committed arithmetic fingerprint (after a deliberate change of the arithmetic).
fingerprint: $(STAMP)
	$(PY) -m richneuron fingerprint --out data/arithmetic/fingerprint.json

benchmark: $(STAMP)
	$(PY) benchmarks/trainer.py
	$(PY) benchmarks/sweep.py

clean:
	rm -rf _build build .pytest_cache
