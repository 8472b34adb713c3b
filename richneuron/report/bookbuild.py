"""The command line of the book's build and drift gate:
``python -m richneuron.report.bookbuild build|check|stages``.

:func:`richneuron.report.build.build` executes every chapter of ``_toc.yml`` with papermill into
``<out>/exec/``, stages ``<out>/src/`` (configuration, Markdown chapters, executed notebooks),
builds the HTML with Jupyter Book (warnings are errors) and writes ``PAPER.md`` through
:mod:`richneuron.report.paper`. Chapters run at their committed parameters, except where their
results go: a chapter's ``out`` and the synthesis's ``data_dir`` are pointed at the build's data
folder.

Three kinds of build, one function (:mod:`richneuron.report.build`):

* ``make book`` (``FULL``): results in ``data/``, HTML in ``_build/html``, ``PAPER.md`` and
  ``paper_figures/`` at the root. ``data/`` is the store: a chapter keeps the runs its results
  file holds under its protocol, takes others from the run cache ``.cache/runs`` and trains only
  what is missing, so a fresh clone with a complete ``data/`` builds without training.
  ``make book RETRAIN=1`` (``--retrain``) trains everything again. A results file whose runs did
  not change is not rewritten, so an unchanged rebuild leaves the work tree clean.
* ``--quick`` (``QUICK``): a smoke test (few steps, one seed, two tasks per chapter);
  everything under ``_build/quick``.
* ``check`` (``GATE``, run by ``make test``; :func:`richneuron.report.gate.check`): first the
  arithmetic fingerprint (:mod:`richneuron.train.fingerprint`): if this host computes other bits
  than the one that made ``data/``, it stops there, naming the first architecture that differs.
  Otherwise every results file is checked (:func:`richneuron.report.build.check_store`), and
  every chapter runs again under ``_build/gate`` from the committed results (copied there) with
  an empty run cache, training nothing: a chapter that finds a run missing fails, naming it. The
  gate then compares each results file the chapters wrote with the committed one
  (:func:`richneuron.store.drift.compare`, tolerances per metric), and the new CSV files of
  ``data/``, ``PAPER.md`` and figures with the committed ones, byte for byte; last,
  :func:`richneuron.report.gate.audit_runs` retrains a sample of the committed runs within a
  budget (:mod:`richneuron.report.audit`). Any difference is printed as a table (or a diff) and
  fails the gate.
* ``stages``: the time of each stage of ``make test``.

What a reader sees: before Jupyter Book renders, the build tags papermill's injected-parameters
cell and every cell made only of ``glue(...)`` calls ``remove-cell``
(:func:`richneuron.report.build.hide_plumbing`), copies the build's CSV files for the pages'
download links, and writes the execution report (per chapter: seconds, runs trained, runs from
the store), which the ``{execution-report}`` directive of :mod:`richneuron.report.sphinxext`
shows on its own page. The build prints one line per chapter and a total.

Nothing in the work tree is touched except by the full build (``data/``, ``PAPER.md``,
``paper_figures/``), and every file is written all or nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..store.atomic import atomic_file
from .build import FULL, GATE, QUICK, build
from .gate import AUDIT_MODES, check

__all__ = ["main", "print_stages"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m richneuron.report.bookbuild build [--quick] | check | stages``; returns the
    exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "stages":
        print_stages(args.times, args.setup, args.lint, args.gate, args.tests)
        return 0
    start = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        if args.command == "build":
            build(args.root, QUICK if args.quick else FULL, retrain=args.retrain)
            return 0
        problems = check(
            args.root,
            GATE,
            rebuild=not args.no_rebuild,
            fingerprint=not args.no_fingerprint,
            audit=args.audit,
            budget=args.budget,
            timings=timings,
        )
    except (RuntimeError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if args.command == "check" and args.times:
            _write_times(Path(args.times), timings)
    if problems:
        print("drift gate FAILED:", file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    print(
        f"drift gate passed: data/, PAPER.md and paper_figures/ reproduced "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``build``, ``check`` (the drift gate) and ``stages``."""
    parser = argparse.ArgumentParser(
        prog="python -m richneuron.report.bookbuild",
        description="Build the book (execute, HTML, PAPER.md), or check it for drift.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute every chapter, build HTML and PAPER.md")
    b.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: every chapter with quick=True, everything under _build/quick",
    )
    b.add_argument(
        "--retrain",
        action="store_true",
        help="train every run again: ignore data/ and the run cache (make book RETRAIN=1)",
    )
    b.add_argument("--root", default=".", help="repository root (default: .)")
    _add_check(
        sub.add_parser(
            "check",
            help="the drift gate: the fingerprint; the book built from data/ under _build/gate, "
            "training nothing, compared with data/, PAPER.md and paper_figures/; a sample of "
            "the committed runs retrained within a budget",
        )
    )
    t = sub.add_parser("stages", help="print the time of each stage of make test")
    t.add_argument("--times", help="the gate's stage times (check --times)")
    for stage in ("setup", "lint", "gate", "tests"):
        t.add_argument(f"--{stage}", type=float, default=None, help=f"seconds of {stage}")
    return parser


def _add_check(c: argparse.ArgumentParser) -> None:
    c.add_argument("--root", default=".", help="repository root (default: .)")
    c.add_argument("--no-rebuild", action="store_true", help="compare an existing _build/gate only")
    c.add_argument(
        "--no-fingerprint", action="store_true", help="skip the arithmetic fingerprint check"
    )
    c.add_argument(
        "--audit",
        choices=AUDIT_MODES,
        default="sample",
        help="committed runs to retrain: a sample within the budget, drawn from the commit "
        "(default), all (for a cluster), none",
    )
    c.add_argument(
        "--budget",
        type=_seconds,
        default=None,
        help="the audit's budget in seconds of estimated retraining time: each run's stored "
        "training time and richneuron.report.audit.RUN_OVERHEAD (default: "
        "richneuron.report.audit.DEFAULT_BUDGET)",
    )
    c.add_argument(
        "--times",
        default=None,
        help="write each stage's seconds to this JSON file (make test prints them)",
    )


def _seconds(text: str) -> float:
    """``--budget``: a positive number of seconds, or ``inf``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _write_times(path: Path, timings: dict[str, float]) -> None:
    with atomic_file(path) as f:
        f.write(json.dumps({k: round(v, 1) for k, v in timings.items()}) + "\n")


def print_stages(
    times: str | None,
    setup: float | None,
    lint: float | None,
    gate: float | None,
    tests: float | None,
) -> None:
    """``make test``'s closing table: seconds of setup, lint, the gate's fingerprint, book and
    audit (from the gate's ``--times`` file, where it ran that far), the tests, and the total."""
    parts: dict[str, float | None] = {}
    try:
        gate_parts = json.loads(Path(times).read_text(encoding="utf-8")) if times else {}
    except (OSError, ValueError):
        gate_parts = {}
    parts["setup"], parts["lint"] = setup, lint
    for stage in ("fingerprint", "book", "audit"):
        parts[stage] = gate_parts.get(stage)
    if gate is not None:  # the gate's own start-up and comparisons, beyond its three stages
        parts["gate, other"] = max(0.0, gate - sum(gate_parts.get(k, 0.0) for k in gate_parts))
    parts["tests"] = tests
    total = sum(v for v in parts.values() if v is not None)
    print("make test, seconds per stage:")
    for name, value in parts.items():
        print(f"  {name:<12} {'-' if value is None else f'{value:.0f}':>7}")
    print(f"  {'total':<12} {total:7.0f}  ({total / 60:.1f} min)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
