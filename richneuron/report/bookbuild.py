"""Building the book, and the drift gate (``python -m richneuron.report.book build|check``).

:func:`build` executes every chapter of ``_toc.yml`` with papermill into ``<out>/exec/``, stages
``<out>/src/`` (configuration, Markdown chapters, executed notebooks), builds the HTML with
Jupyter Book (warnings are errors) and writes ``PAPER.md`` through :mod:`richneuron.report.paper`.
Chapters run at their committed parameters, except where their results go: a chapter's ``out``
and the synthesis's ``data_dir`` are pointed at the build's data folder.

Three kinds of build, one function:

* ``make book`` (:data:`FULL`): results in ``data/``, HTML in ``_build/html``, ``PAPER.md`` and
  ``paper_figures/`` at the root. ``data/`` is the store: a chapter keeps the runs its results
  file holds under its protocol, takes others from the run cache ``.cache/runs`` and trains only
  what is missing, so a fresh clone with a complete ``data/`` builds without training.
  ``make book RETRAIN=1`` (``--retrain``) trains everything again. A results file whose runs did
  not change is not rewritten, so an unchanged rebuild leaves the work tree clean.
* ``--quick`` (:data:`QUICK`): a smoke test (few steps, one seed, two tasks per chapter);
  everything under ``_build/quick``.
* ``check`` (:data:`GATE`, run by ``make test``): first the arithmetic fingerprint
  (:mod:`richneuron.train.fingerprint`): if this host computes other bits than the one that made
  ``data/``, it stops there, naming the first architecture that differs. Otherwise every
  results file is checked (:func:`check_store`), and every chapter runs again under
  ``_build/gate`` from the committed results (copied there) with an empty run cache, training
  nothing: a chapter that finds a run missing fails, naming it. :func:`check` then compares
  each results file the chapters wrote with the committed one (:func:`richneuron.store.results
  .compare`, tolerances per metric), and the new CSV files of ``data/``, ``PAPER.md`` and
  figures with the committed ones, byte for byte; last, :func:`audit_runs` retrains a sample of
  the committed runs within a budget (:mod:`richneuron.report.audit`). Any difference is printed as
  a
  table (or a diff) and fails the gate.

What a reader sees: before Jupyter Book renders, :func:`_stage` tags papermill's
injected-parameters cell and every cell made only of ``glue(...)`` calls ``remove-cell``
(:func:`hide_plumbing`), copies the build's CSV files for the pages' download links, and writes
the execution report (per chapter: seconds, runs trained, runs from the store), which the
``{execution-report}`` directive of :mod:`richneuron.report.sphinxext` shows on its own page. The
build
prints one line per chapter and a total.

Nothing in the work tree is touched except by the full build (``data/``, ``PAPER.md``,
``paper_figures/``), and every file is written all or nothing.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import TrainConfig
from ..experiments.study import Sweep, lean_result, load_sweep
from ..paths import (
    CACHE_DIR,
    CACHE_ENV,
    DATA_DIR,
    NO_TRAIN_ENV,
    RETRAIN_CACHE,
    RETRAIN_ENV,
    SWEEP_DIR,
)
from ..progress import progress_bar
from ..store.atomic import atomic_dir, atomic_file
from ..store.results import ResultsError, ResultSet, compare, format_drift, git_output, load_results
from ..store.schema import config_key
from ..tasks import get_task
from ..train import fingerprint as fp
from ..train import trainer
from ..train.trainer import close_workers
from . import audit
from .audit import Entry, retrain_cost
from .paper import join_paper
from .sphinxext import REPORT_FILE

__all__ = ["FULL", "GATE", "QUICK", "Layout", "build", "check", "main", "toc_documents"]

@dataclass(frozen=True)
class Layout:
    """Where one kind of build reads and writes, relative to the repository root."""

    name: str
    out: str  # exec/, src/, markdown/ and the HTML (``<out>/html`` or ``<out>/_build/html``)
    data: str  # results files of the chapters
    paper: str  # PAPER.md
    figures: str  # PAPER.md's figures
    cache: str | None  # run cache; None: the chapters' default (.cache/runs)
    quick: bool = False
    fresh_cache: bool = False  # empty the cache first
    from_store: bool = False  # start from the committed data/ and train nothing (the gate)

    def html(self, root: Path) -> Path:
        return (
            root / "_build" / "html"
            if self.out == "_build"
            else root / self.out / "_build" / "html"
        )


FULL = Layout("full", "_build", DATA_DIR, "PAPER.md", "paper_figures", None)
QUICK = Layout(
    "quick",
    "_build/quick",
    "_build/quick",
    "_build/quick/PAPER.md",
    "_build/quick/paper_figures",
    None,
    quick=True,
)
GATE = Layout(
    "gate",
    "_build/gate",
    "_build/gate/data",
    "_build/gate/PAPER.md",
    "_build/gate/paper_figures",
    "_build/gate/cache",
    fresh_cache=True,
    from_store=True,
)

QUICK_BANNER = (
    "> **Quick build.** These numbers come from a smoke test (few steps, one seed, two "
    "tasks per chapter), not from the study. Run `make book` for the real ones.\n"
)


def toc_documents(toc: str | os.PathLike) -> list[str]:
    """Documents of a Jupyter Book ``_toc.yml`` in reading order (paths without suffix)."""
    import yaml

    data = yaml.safe_load(Path(toc).read_text(encoding="utf-8"))
    docs = [data["root"]]

    def walk(entries: list) -> None:
        for entry in entries:
            if "file" in entry:
                docs.append(entry["file"])
            walk(entry.get("chapters", []) + entry.get("sections", []))

    walk(data.get("parts", []) + data.get("chapters", []))
    return docs


def _source(root: Path, doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (root / f"{doc}{suffix}").is_file():
            return root / f"{doc}{suffix}"
    raise FileNotFoundError(f"_toc.yml lists {doc!r}, but neither {doc}.ipynb nor {doc}.md exists")


def chapter_parameters(source: Path, layout: Layout) -> dict:
    """The papermill overrides of one chapter in ``layout``: where its results go, quick mode."""
    import papermill

    declared = papermill.inspect_notebook(str(source))
    params: dict = {}
    if "quick" in declared:
        params["quick"] = layout.quick
    if "out" in declared:
        default = ast.literal_eval(declared["out"]["default"])
        params["out"] = f"{layout.data}/{Path(default).name}"
    if "data_dir" in declared:
        params["data_dir"] = layout.data
    return params


def _execute(source: Path, target: Path, root: Path, parameters: dict) -> None:
    """Run ``source`` with papermill into ``target`` (written only when execution succeeds)."""
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.running.ipynb")
    try:
        papermill.execute_notebook(
            str(source),
            str(tmp),
            parameters=parameters,
            cwd=str(root),
            progress_bar=False,
            execution_timeout=3600,
            # ipykernel warns on every start that its local TCP sockets are unencrypted; the
            # kernel runs on loopback for this build only, so keep its log to errors.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except Exception:
        failed = target.with_name(f"{target.stem}.failed.ipynb")
        if tmp.exists():
            os.replace(tmp, failed)
            print(f"  the executed copy, with the error, is {failed}", file=sys.stderr)
        raise
    os.replace(tmp, target)


#: Cell tags the build adds to the staged notebooks (never to the committed ones): papermill's
#: injected-parameters cell and cells made only of ``glue(...)`` calls are not shown.
HIDDEN_TAG = "remove-cell"
#: Pages of the HTML book left out of PAPER.md: the execution report (times differ per build).
NOT_IN_PAPER = ("book/95-execution-report",)
#: Files beside the chapters that the book needs (copied into the staged sources).
EXTRA_SOURCES = ("references.bib",)


def is_glue_only(source: str) -> bool:
    """Whether a code cell's ``source`` is nothing but ``glue(...)`` calls (plumbing)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return bool(tree.body) and all(
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "glue"
        for node in tree.body
    )


def hide_plumbing(nb: dict) -> int:
    """Tag papermill's injected cell and glue-only cells of ``nb`` for removal; returns how many."""
    hidden = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "injected-parameters" in tags or is_glue_only(source):
            if HIDDEN_TAG not in tags:
                tags.append(HIDDEN_TAG)
            hidden += 1
    return hidden


def _stage(
    root: Path, docs: list[str], exec_dir: Path, src_dir: Path, data_dir: Path, report: dict
) -> None:
    """Stage the sources Jupyter Book renders in ``src_dir`` (replaced whole).

    Configuration, :data:`EXTRA_SOURCES`, Markdown chapters, the executed notebooks with their
    plumbing tagged (:func:`hide_plumbing`), the build's CSV files under ``data/`` (for the
    pages' download links) and the execution report (:mod:`richneuron.report.sphinxext`).
    """
    import json

    with atomic_dir(src_dir) as staging:
        for name in ("_config.yml", "_toc.yml", *EXTRA_SOURCES):
            shutil.copy2(root / name, staging / name)
        for doc in docs:
            source = _source(root, doc)
            (staging / doc).parent.mkdir(parents=True, exist_ok=True)
            if source.suffix == ".ipynb":
                nb = json.loads((exec_dir / f"{doc}.ipynb").read_text(encoding="utf-8"))
                hide_plumbing(nb)
                (staging / f"{doc}.ipynb").write_text(
                    json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
                )
            else:
                shutil.copy2(source, staging / f"{doc}{source.suffix}")
        (staging / "data").mkdir()
        for csv in sorted(data_dir.glob("*.csv")):
            shutil.copy2(csv, staging / "data" / csv.name)
        (staging / REPORT_FILE).write_text(
            json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )


def _jupyter_book(root: Path, src_dir: Path, path_output: Path, *builder: str) -> int:
    """Run ``jupyter-book build`` on ``src_dir``; returns the number of warnings (0 or raises)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [
        str(exe if exe.exists() else "jupyter-book"),
        "build",
        str(src_dir.relative_to(root)),
        "--path-output",
        str(path_output.relative_to(root)) if path_output != root else ".",
        "--all",
        "-W",
        "-n",
        "--keep-going",
        *builder,
    ]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    for line in warnings:
        print(f"  {line}", file=sys.stderr)
    if proc.returncode != 0:
        print(log[-4000:], file=sys.stderr)
        raise RuntimeError(
            f"jupyter-book {' '.join(builder) or 'html'} failed "
            f"(exit {proc.returncode}, {len(warnings)} warnings)"
        )
    return len(warnings)


def check_store(root: str | os.PathLike = ".") -> list[str]:
    """Every committed results file read and checked (:func:`richneuron.store.results.load_results`
    for the chapters' files, :func:`richneuron.experiments.study.load_sweep` for the sweeps'),
    before any
    chapter runs: one line per file that cannot be read, naming the file and the field."""
    import json

    root = Path(root)
    problems = []
    for path in sorted((root / FULL.data).glob("*.json")):
        try:
            if path.name == "published.json":
                json.loads(path.read_text(encoding="utf-8"))
            else:
                load_results(path)
        except (ResultsError, ValueError, OSError) as err:
            problems.append(str(err) if isinstance(err, ResultsError) else f"{path}: {err}")
    for path in sorted((root / SWEEPS).glob("*.json")):
        try:
            load_sweep(path)
        except (ResultsError, ValueError, OSError) as err:
            problems.append(str(err) if isinstance(err, ResultsError) else f"{path}: {err}")
    return problems


def _seed_store(root: Path, data_dir: Path) -> None:
    """Start ``data_dir`` (the gate's) from the committed results files of ``data/``: the
    chapters keep their runs from there, and rewrite a file only if its runs changed."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    for path in sorted((root / FULL.data).glob("*.json")):
        if path.name != "published.json":
            shutil.copy2(path, data_dir / path.name)


def _cached_runs(cache_dir: Path) -> int:
    """How many runs the run cache holds (one ``<key>.json`` per run)."""
    return sum(1 for _ in cache_dir.glob("*.json")) if cache_dir.is_dir() else 0


def _run_counts(root: Path, params: dict, trained: int) -> dict:
    """A chapter's runs: ``trained`` (new in the cache) and ``from_store`` (the rest of its
    results file); both None for a chapter that writes no results file."""
    import json

    out = params.get("out")
    path = root / out if out else None
    if path is None or not path.is_file():
        return {"trained": None, "from_store": None}
    total = len(json.loads(path.read_text(encoding="utf-8"))["runs"])
    return {"trained": trained, "from_store": max(total - trained, 0)}


def build(root: str | os.PathLike = ".", layout: Layout = FULL, retrain: bool = False) -> None:
    """Execute every chapter, build the HTML book and PAPER.md (see the module docstring).

    Every results file is checked first (:func:`check_store`; not in quick mode). With
    ``retrain`` (and for a layout with ``fresh_cache`` that does not build ``from_store``),
    every run is trained again: the chapters do not read their results files and the run cache
    starts empty (``_build/retrain-cache`` for a layout that uses the default cache). A layout
    ``from_store`` (the gate) starts its data folder from the committed results and trains
    nothing: a chapter that misses a run fails.

    Raises:
        RuntimeError: when a chapter fails to execute or the book builds with a warning.
    """
    root = Path(root).resolve()
    out = root / layout.out
    exec_dir, src_dir = out / "exec", out / "src"
    docs = toc_documents(root / "_toc.yml")
    sources = [_source(root, d) for d in docs]
    if not layout.quick:  # every results file the chapters read, checked before the first runs
        problems = check_store(root)
        if problems:
            more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise RuntimeError(f"{problems[0]}{more}; no chapter was executed")
    saved = {k: os.environ.get(k) for k in ("MPLBACKEND", CACHE_ENV, RETRAIN_ENV, NO_TRAIN_ENV)}
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend shows figures
    retrain = retrain or (layout.fresh_cache and not layout.from_store)
    os.environ.pop(RETRAIN_ENV, None)
    os.environ.pop(NO_TRAIN_ENV, None)
    if retrain:
        os.environ[RETRAIN_ENV] = "1"  # the chapters do not read their results files
    if layout.from_store:  # the committed results are the store, and a missing run an error
        _seed_store(root, root / layout.data)
        os.environ[NO_TRAIN_ENV] = "1"
    if layout.cache is not None or retrain:
        cache = root / (layout.cache or RETRAIN_CACHE)
        if retrain or layout.fresh_cache:
            shutil.rmtree(cache, ignore_errors=True)
        os.environ[CACHE_ENV] = str(cache)
    start = time.perf_counter()
    cache_dir = Path(os.environ.get(CACHE_ENV) or root / CACHE_DIR)
    chapters: list[dict] = []
    outs: set[str] = set()  # the results files the chapters write
    try:
        notebooks = [(d, s) for d, s in zip(docs, sources, strict=True) if s.suffix == ".ipynb"]
        for i, (doc, source) in enumerate(notebooks, 1):
            t0 = time.perf_counter()
            name = source.relative_to(root)
            params = chapter_parameters(source, layout)
            print(f"[{i}/{len(notebooks)}] {name} ", end="", flush=True)
            before = _cached_runs(cache_dir)
            try:
                _execute(source, exec_dir / f"{doc}.ipynb", root, params)
            except Exception as err:
                print("FAILED", flush=True)
                # papermill's error carries the notebook's traceback; its last line is the one
                # a reader needs (the library's errors name the parameter, run or file).
                why = getattr(err, "evalue", None) or err
                raise RuntimeError(f"{name} failed: {why}") from None
            row = {"chapter": str(name), "seconds": round(time.perf_counter() - t0, 1)}
            row.update(_run_counts(root, params, _cached_runs(cache_dir) - before))
            row["status"] = "executed"
            chapters.append(row)
            if params.get("out"):
                outs.add(Path(params["out"]).name)
            print(
                f"{row['seconds']:.1f} s"
                + (
                    f", {row['trained']} runs trained, {row['from_store']} from the store"
                    if row["trained"] is not None
                    else ""
                ),
                flush=True,
            )
        if layout.from_store:  # a committed file no chapter wrote is not left as if made
            for path in (root / layout.data).glob("*.json"):
                if path.name not in outs:
                    path.unlink()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    trained = sum(r["trained"] or 0 for r in chapters)
    stored = sum(r["from_store"] or 0 for r in chapters)
    print(
        f"{len(chapters)} chapters executed in {time.perf_counter() - start:.0f} s: "
        f"{trained} runs trained, {stored} taken from the store",
        flush=True,
    )
    report = {"layout": layout.name, "chapters": chapters}
    out.mkdir(parents=True, exist_ok=True)
    _stage(root, docs, exec_dir, src_dir, root / layout.data, report)
    path_output = root if layout.out == "_build" else out
    t0 = time.perf_counter()
    shutil.rmtree(layout.html(root), ignore_errors=True)
    n = _jupyter_book(root, src_dir, path_output)
    print(
        f"html: {layout.html(root).relative_to(root)}/index.html in "
        f"{time.perf_counter() - t0:.1f} s, {n} warnings",
        flush=True,
    )
    t0 = time.perf_counter()
    markdown = layout.html(root).parent / "markdown"
    shutil.rmtree(markdown, ignore_errors=True)
    n = _jupyter_book(
        root, src_dir, path_output, "--builder", "custom", "--custom-builder", "markdown"
    )
    images = join_paper(
        markdown,
        [d for d in docs if d not in NOT_IN_PAPER],
        root / layout.paper,
        root / layout.figures,
        QUICK_BANNER if layout.quick else "",
    )
    print(
        f"{layout.paper}: {len(docs)} chapters, {images} figures in {layout.figures}/ in "
        f"{time.perf_counter() - t0:.1f} s, {n} warnings",
        flush=True,
    )
    print(f"book built in {time.perf_counter() - start:.1f} s", flush=True)


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


#: Committed sweep results (``richneuron.sweep/1`` files), audited by the drift gate.
SWEEPS = SWEEP_DIR

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
    :class:`richneuron.report.audit.Entry`
    of each distinct (run, protocol) and, by the same key, every file's copy of it.

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
    for path in sorted((root / SWEEPS).glob("*.json")):
        result = load_sweep(path)
        source = f"{SWEEPS}/{path.name}"
        for r, config in result.stored():
            cell = (source, *result.sweep.audit_cell(r.run, config))
            add(source, source, r.run, config, r, cell, lean=True)
    return entries, copies


def audit_runs(
    root: str | os.PathLike = ".", mode: str = "sample", budget: float | None = None
) -> list[str]:
    """Retrain committed runs, chapters' and sweeps' alike, and compare them with the files.

    ``mode`` ``"sample"``: the plan of :func:`richneuron.report.audit.plan` for this commit (a
    rotation
    of the (architecture, setting) cells and a random share, within ``budget`` seconds of
    estimated retraining time, :func:`richneuron.report.audit.retrain_cost`; default
    :data:`richneuron.report.audit.DEFAULT_BUDGET`); ``"all"``: every run (for a
    cluster); ``"none"``: nothing. The chosen runs train afresh (no cache) in one
    :func:`richneuron.train.trainer.train_jobs` call (runs of one shape share chunks across files; a
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
        fresh = trainer.train_jobs(jobs, progress=bar) if jobs else []
    seconds = time.perf_counter() - start
    problems: list[str] = []
    per_file: dict[str, list[int]] = {}  # source -> [runs held, runs retrained]
    for held in copies.values():
        for c in held:
            per_file.setdefault(c.source, [0, 0])[0] += 1
    drifts: dict[str, list] = {}
    for i, res in zip(chosen.chosen, fresh, strict=True):
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
    estimate = chosen.cell_cost + chosen.random_cost
    if mode == "all":
        how = "every run"
    else:
        how = (
            f"cells of group {chosen.group + 1} of {chosen.window} (each of the {chosen.cells} "
            f"(architecture, setting) cells is retrained "
            + ("by every commit" if chosen.window == 1 else
               f"in any {chosen.window} consecutive commits")
            + f") and a share drawn from commit {draw[:12]}, within a budget of "
            f"{budget:.0f} s"
        )
    print(
        f"audit: {len(jobs)} of {len(entries)} committed runs (estimated {estimate:.0f} s; "
        f"{how}) retrained in {seconds:.0f} s",
        flush=True,
    )
    return problems


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
    is compared with the committed one run by run (:func:`richneuron.store.results.compare` at its
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
    problems: list[str] = []
    committed_dir, new_dir = root / FULL.data, root / layout.data
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
    committed_paper, new_paper = root / FULL.paper, root / layout.paper
    if not committed_paper.exists():
        problems.append("PAPER.md: not committed")
    elif committed_paper.read_bytes() != new_paper.read_bytes():
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
        problems.append("PAPER.md differs from the rebuild:\n" + "\n".join(shown[:60]) + more)
    for line in _differing_files(root / FULL.figures, root / layout.figures):
        problems.append(f"{FULL.figures}/{line}")
    if timings is not None:
        timings["book"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    problems += audit_runs(root, audit, budget)
    if timings is not None:
        timings["audit"] = time.perf_counter() - t0
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m richneuron.report.book build [--quick] | check``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m richneuron.report.book",
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
    c = sub.add_parser(
        "check",
        help="the drift gate: the fingerprint; the book built from data/ under _build/gate, "
        "training nothing, compared with data/, PAPER.md and paper_figures/; a sample of the "
        "committed runs retrained within a budget",
    )
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
    t = sub.add_parser("stages", help="print the time of each stage of make test")
    t.add_argument("--times", help="the gate's stage times (check --times)")
    for stage in ("setup", "lint", "gate", "tests"):
        t.add_argument(f"--{stage}", type=float, default=None, help=f"seconds of {stage}")
    args = parser.parse_args(argv)
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
    import json

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
    import json

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
