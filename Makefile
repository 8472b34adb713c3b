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

# Test-only extras: the related neurons' reference implementations (tests/neurons/test_peers.py),
# without their declared dependencies (see requirements-peers.lock).
peers: $(PEERS)

$(PEERS): $(STAMP) requirements-peers.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-peers.lock
	touch $(PEERS)

# Execute every chapter at its committed parameters (writes data/), build the HTML book with
# warnings as errors and regenerate PAPER.md. `$(PY) -m richneuron.report.bookbuild build --quick` is the
# smoke test: a few steps, one seed, two tasks per chapter, everything under _build/quick/.
book: $(STAMP)
	$(PY) -m richneuron.report.bookbuild build $(if $(RETRAIN),--retrain)

# Lint; the drift gate (the arithmetic fingerprint first, then the book built from data/ under
# _build/gate, training nothing, compared with data/, PAPER.md and paper_figures/, then a sample
# of the committed runs retrained within a budget: `python -m richneuron.report.bookbuild check --help`);
# then the test suite (with the peers' packages), whose browser test opens the gate's HTML in
# headless Chromium and whose cross-CPU test computes a small fingerprint under qemu-x86_64 (an
# Intel and an AMD CPU). It prints its 20 slowest tests, and at the end the time of each stage:
# CI allows the whole target 90 minutes. GATE_FLAGS passes options to the gate (--budget 600).
test:
	@t0=$$(date +%s); \
	$(MAKE) --no-print-directory setup peers browser qemu || exit 1; \
	t1=$$(date +%s); \
	$(PY) -m ruff check richneuron tests benchmarks book || exit 1; \
	t2=$$(date +%s); \
	$(PY) -m richneuron.report.bookbuild check --times _build/gate/times.json $(GATE_FLAGS); gate=$$?; \
	t3=$$(date +%s); tests=0; \
	if [ $$gate -eq 0 ]; then \
	  RICHNEURON_BOOK_HTML=_build/gate/_build/html $(PY) -m pytest -q --durations=20; tests=$$?; \
	fi; \
	t4=$$(date +%s); \
	$(PY) -m richneuron.report.bookbuild stages --times _build/gate/times.json --setup $$((t1-t0)) \
	  --lint $$((t2-t1)) --gate $$((t3-t2)) --tests $$((t4-t3)); \
	[ $$gate -eq 0 ] && [ $$tests -eq 0 ]

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
	$(PY) -m richneuron fingerprint --small --out data/arithmetic/fingerprint-small.json

benchmark: $(STAMP)
	$(PY) benchmarks/trainer.py
	$(PY) benchmarks/sweep.py

clean:
	rm -rf _build build .pytest_cache
