"""The drift gate (:func:`check`): the arithmetic fingerprint first, then the book rebuilt from the
committed results training nothing, every output compared with the committed one, and a sample
of the committed runs retrained within a budget (:func:`audit_runs`).
"""

from __future__ import annotations

import difflib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import TrainConfig
from ..experiments.study import Sweep, lean_result, load_sweep
from ..paths import SWEEP_DIR
from ..progress import progress_bar
from ..store.drift import compare, format_drift
from ..store.results import ResultsError, ResultSet, git_output, load_results
from ..store.schema import config_key
from ..tasks import get_task
from ..train import fingerprint as fp
from ..train import pool
from ..train.pool import close_workers
from . import audit
from .audit import Entry, retrain_cost
from .build import FULL, GATE, Layout, build

__all__ = [
    "AUDIT_MODES",
    "audit_runs",
    "check",
    "check_fingerprint",
    "committed_runs",
]


def _differing_files(committed: Path, new: Path) -> list[str]:
    """Names of files that differ between two folders (present in one only, or other bytes)."""
    a = {p.name for p in committed.glob("*") if p.is_file()} if committed.is_dir() else set()
    b = {p.name for p in new.glob("*") if p.is_file()} if new.is_dir() else set()
    out = []
    for name in sorted(a | b):
        if name not in a:
            out.append(f"{name}: new, not committed")
        elif name not in b:
            out.append(f"{name}: committed, not produced")
        elif (committed / name).read_bytes() != (new / name).read_bytes():
            out.append(f"{name}: differs")
    return out


def check_fingerprint(root: str | os.PathLike = ".") -> list[str]:
    """The gate's first step: this host's arithmetic fingerprint against the committed one.

    Returns:
        One line naming the first architecture whose bits differ (and what differs), or the
        problem with the committed file; empty when they match.
    """
    path = Path(root) / fp.FINGERPRINT_PATH
    try:
        committed = fp.load(path)
    except FileNotFoundError:
        return [
            f"{fp.FINGERPRINT_PATH}: not committed (python -m richneuron fingerprint --out ...)"
        ]
    except ValueError as err:
        return [str(err)]
    t0 = time.perf_counter()
    print(f"arithmetic fingerprint ({len(committed['archs'])} architectures) ...", flush=True)
    try:
        with progress_bar() as bar:
            new = fp.compute(progress=bar)
    finally:
        close_workers()
    lines = fp.differences(committed, new)
    if not lines:
        print(f"arithmetic fingerprint matches in {time.perf_counter() - t0:.0f} s", flush=True)
        return []
    more = f" ({len(lines) - 1} more differ)" if len(lines) > 1 else ""
    return [
        f"arithmetic fingerprint differs from {fp.FINGERPRINT_PATH}: this host "
        f"({fp.describe_host(new)}) computes other bits than the one that made data/ "
        f"({fp.describe_host(committed)}), so every number would drift; first: {lines[0]}{more}. "
        "See the Method chapter, section Determinism."
    ]


#: ``check --audit``: a sample of the committed runs within the budget, all of them, or none.
AUDIT_MODES = ("sample", "all", "none")


@dataclass
class _Copy:
    """A committed run where one results file holds it (a chapter's, or a sweep's lean one)."""

    source: str
    name: str  # the results set's name (the drift table's first column)
    config: dict
    result: object
    lean: bool


def committed_runs(root: str | os.PathLike = ".") -> tuple[list, dict]:
    """Every committed run, each once: ``(entries, copies)``, the
    :class:`richneuron.report.audit.Entry` of each distinct (run, protocol) and, by the same key,
    every file's copy of it.

    A chapter's run is in the cell of its architecture under its chapter's protocol; a sweep's
    in the cell its sweep's ``audit_cell`` gives, within that sweep.
    """
    root = Path(root)
    entries: list = []
    copies: dict[tuple, list[_Copy]] = {}

    def add(source, name, run, config, result, cell, lean) -> None:
        key = (run, config_key(config))
        if key not in copies:
            copies[key] = []
            points = get_task(run.task).n_train
            cost = retrain_cost(result.wall_time)
            entries.append(Entry(source, run, config, cost, cell, points))
        copies[key].append(_Copy(source, name, config.to_dict(), result, lean))

    for path in sorted((root / FULL.data).glob("*.json")):
        if path.name == "published.json":
            continue
        rs = load_results(path)
        config = TrainConfig(**rs.config)
        source = f"{FULL.data}/{path.name}"
        for r in rs.runs:
            cell = ("chapters", *Sweep.audit_cell(r.run, config))
            add(source, rs.name, r.run, config, r, cell, lean=False)
    for path in sorted((root / SWEEP_DIR).glob("*.json")):
        result = load_sweep(path)
        source = f"{SWEEP_DIR}/{path.name}"
        for r, config in result.stored():
            cell = (source, *result.sweep.audit_cell(r.run, config))
            add(source, source, r.run, config, r, cell, lean=True)
    return entries, copies


def audit_runs(
    root: str | os.PathLike = ".", mode: str = "sample", budget: float | None = None
) -> list[str]:
    """Retrain committed runs, chapters' and sweeps' alike, and compare them with the files.

    ``mode`` ``"sample"``: the plan of :func:`richneuron.report.audit.plan` for this commit (a
    rotation of the (architecture, setting) cells and a random share, within ``budget`` seconds of
    estimated retraining time, :func:`richneuron.report.audit.retrain_cost`; default
    :data:`richneuron.report.audit.DEFAULT_BUDGET`); ``"all"``: every run (for a
    cluster); ``"none"``: nothing. The chosen runs train afresh (no cache) in one
    :func:`richneuron.train.pool.train_jobs` call (runs of one shape share chunks across files; a
    run two files hold trains once), with a progress line on stderr; each file's copy is then
    compared at the compared fields' default tolerances (a sweep's lean copy with the lean
    result). Prints one line per results file and a summary.

    Returns:
        One line per problem (drift); empty when none.
    """
    if mode not in AUDIT_MODES:
        raise ValueError(f"--audit: expected one of {', '.join(AUDIT_MODES)}, got {mode!r}")
    budget = audit.DEFAULT_BUDGET if budget is None else budget
    root = Path(root).resolve()
    entries, copies = committed_runs(root)
    if mode == "none" or not entries:
        if entries:
            print(f"audit: skipped ({len(entries)} committed runs not checked)")
        return []
    draw = git_output("rev-parse", "HEAD") or "no-commit"
    index = int(git_output("rev-list", "--count", "HEAD") or 0)
    chosen = audit.plan(entries, draw, index, math.inf if mode == "all" else budget)
    jobs = [(entries[i].run, entries[i].config) for i in chosen.chosen]
    start = time.perf_counter()
    with progress_bar() as bar:
        fresh = pool.train_jobs(jobs, progress=bar) if jobs else []
    seconds = time.perf_counter() - start
    problems = _compare_retrained(entries, copies, chosen.chosen, fresh)
    estimate = chosen.cell_cost + chosen.random_cost
    print(
        f"audit: {len(jobs)} of {len(entries)} committed runs (estimated {estimate:.0f} s; "
        f"{_how(chosen, mode, draw, budget)}) retrained in {seconds:.0f} s",
        flush=True,
    )
    return problems


def _compare_retrained(entries: list, copies: dict, chosen: list[int], fresh: list) -> list[str]:
    """Each file's copy of every retrained run against the fresh result (a sweep's lean copy
    with the lean result), a line printed per results file; one problem per file that drifted."""
    problems: list[str] = []
    per_file: dict[str, list[int]] = {}  # source -> [runs held, runs retrained]
    for held in copies.values():
        for c in held:
            per_file.setdefault(c.source, [0, 0])[0] += 1
    drifts: dict[str, list] = {}
    for i, res in zip(chosen, fresh, strict=True):
        e = entries[i]
        for c in copies[(e.run, config_key(e.config))]:
            per_file[c.source][1] += 1
            new = lean_result(res) if c.lean else res
            drifts.setdefault(c.source, []).extend(
                compare(ResultSet(c.name, c.config, {}, [c.result]),
                        ResultSet(c.name, c.config, {}, [new]))
            )
    for source, (held, retrained) in per_file.items():
        moved = drifts.get(source, [])
        print(
            f"audit {source}: retrained {retrained} of {held} runs"
            + (f"; {len(moved)} value(s) drifted" if moved else "; no drift"),
            flush=True,
        )
        if moved:
            problems.append(f"{source}: {len(moved)} value(s) drifted:\n{format_drift(moved)}")
    return problems


def _how(chosen, mode: str, draw: str, budget: float) -> str:
    """How the audit chose its runs, for its summary line."""
    if mode == "all":
        return "every run"
    return (
        f"cells of group {chosen.group + 1} of {chosen.window} (each of the {chosen.cells} "
        f"(architecture, setting) cells is retrained "
        + ("by every commit" if chosen.window == 1 else
           f"in any {chosen.window} consecutive commits")
        + f") and a share drawn from commit {draw[:12]}, within a budget of "
        f"{budget:.0f} s"
    )


def check(
    root: str | os.PathLike = ".",
    layout: Layout = GATE,
    rebuild: bool = True,
    fingerprint: bool = True,
    audit: str = "sample",
    budget: float | None = None,
    timings: dict[str, float] | None = None,
) -> list[str]:
    """The drift gate: fingerprint, rebuild in ``layout`` from the committed store, compare with
    what is committed, and retrain a sample of the committed runs.

    First :func:`check_fingerprint` (unless ``fingerprint`` is false); if it fails, nothing is
    rebuilt and its line is returned. Then the book is built from ``data/`` training nothing (a
    chapter that finds a run missing fails, naming it); every results file the chapters wrote
    is compared with the committed one run by run (:func:`richneuron.store.drift.compare` at its
    default tolerances), then the CSV files, ``PAPER.md`` and ``paper_figures/`` byte for byte.
    Last, :func:`audit_runs` retrains committed runs and compares them. Prints what moved.

    Args:
        root: repository root.
        layout: where the rebuild goes (its ``data`` must differ from ``data/``).
        rebuild: build first (False: compare an existing rebuild).
        fingerprint: check the arithmetic fingerprint first.
        audit: which committed runs to retrain (:func:`audit_runs`).
        budget: the audit's budget in seconds (:func:`richneuron.report.audit.retrain_cost`).
        timings: filled with each stage's seconds (``fingerprint``, ``book``, ``audit``).

    Returns:
        One line per problem found; empty when nothing drifted.
    """
    root = Path(root).resolve()
    if layout.data == FULL.data:
        raise ValueError("layout: the gate must not write into data/")
    t0 = time.perf_counter()
    if fingerprint:
        problems = check_fingerprint(root)
        if timings is not None:
            timings["fingerprint"] = time.perf_counter() - t0
        if problems:
            return problems
    t0 = time.perf_counter()
    if rebuild:
        build(root, layout)
    problems = _compare_results(root / FULL.data, root / layout.data)
    problems += _compare_csv(root / FULL.data, root / layout.data)
    problems += _compare_paper(root, layout)
    for line in _differing_files(root / FULL.figures, root / layout.figures):
        problems.append(f"{FULL.figures}/{line}")
    if timings is not None:
        timings["book"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    problems += audit_runs(root, audit, budget)
    if timings is not None:
        timings["audit"] = time.perf_counter() - t0
    return problems


def _compare_results(committed_dir: Path, new_dir: Path) -> list[str]:
    """Every results file of the rebuild against the committed one, run by run."""
    problems: list[str] = []
    names = sorted(
        {p.name for p in committed_dir.glob("*.json")} | {p.name for p in new_dir.glob("*.json")}
    )
    names = [n for n in names if n != "published.json"]
    drifts = []
    for name in names:
        old, new = committed_dir / name, new_dir / name
        if not old.exists():
            problems.append(f"data/{name}: produced by the build but not committed")
            continue
        if not new.exists():
            problems.append(f"data/{name}: committed but no chapter produced it")
            continue
        try:
            drifts += compare(load_results(old), load_results(new))
        except ResultsError as err:
            problems.append(str(err))
    if drifts:
        problems.append(f"{len(drifts)} value(s) drifted from data/:\n{format_drift(drifts)}")
    return problems


def _compare_csv(committed_dir: Path, new_dir: Path) -> list[str]:
    """Every CSV file of the rebuild against the committed one, byte for byte."""
    problems = []
    for csv in sorted(
        {p.name for p in committed_dir.glob("*.csv")} | {p.name for p in new_dir.glob("*.csv")}
    ):
        old, new = committed_dir / csv, new_dir / csv
        if not old.exists():
            problems.append(f"data/{csv}: produced by the build but not committed")
        elif not new.exists():
            problems.append(f"data/{csv}: committed but no chapter produced it")
        elif old.read_bytes() != new.read_bytes():
            problems.append(f"data/{csv}: differs from the rebuild ({new})")
    return problems


def _compare_paper(root: Path, layout: Layout) -> list[str]:
    """The rebuilt PAPER.md against the committed one, byte for byte (the first 60 diff lines
    shown)."""
    committed_paper, new_paper = root / FULL.paper, root / layout.paper
    if not committed_paper.exists():
        return ["PAPER.md: not committed"]
    if committed_paper.read_bytes() == new_paper.read_bytes():
        return []
    diff = difflib.unified_diff(
        committed_paper.read_text(encoding="utf-8").splitlines(),
        new_paper.read_text(encoding="utf-8").splitlines(),
        "PAPER.md (committed)",
        f"{layout.paper} (rebuilt)",
        lineterm="",
        n=1,
    )
    shown = list(diff)
    more = f"\n... {len(shown) - 60} more diff lines" if len(shown) > 60 else ""
    return ["PAPER.md differs from the rebuild:\n" + "\n".join(shown[:60]) + more]
