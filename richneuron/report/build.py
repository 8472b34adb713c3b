"""Building the book: every chapter of _toc.yml executed with papermill, the sources staged, the
HTML built with Jupyter Book and PAPER.md written (:func:`build`); the results files checked
before any chapter runs (:func:`check_store`).
"""

from __future__ import annotations

import ast
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..experiments.study import load_sweep
from ..paths import (
    CACHE_DIR,
    CACHE_ENV,
    DATA_DIR,
    NO_TRAIN_ENV,
    RETRAIN_CACHE,
    RETRAIN_ENV,
    SWEEP_DIR,
)
from ..store.atomic import atomic_dir
from ..store.results import ResultsError, load_results
from .paper import join_paper
from .sphinxext import REPORT_FILE

__all__ = [
    "EXTRA_SOURCES",
    "FULL",
    "GATE",
    "HIDDEN_TAG",
    "NOT_IN_PAPER",
    "QUICK",
    "QUICK_BANNER",
    "build",
    "chapter_parameters",
    "check_store",
    "hide_plumbing",
    "is_glue_only",
    "Layout",
    "toc_documents",
]


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
    for path in sorted((root / SWEEP_DIR).glob("*.json")):
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
    docs = toc_documents(root / "_toc.yml")
    sources = [_source(root, d) for d in docs]
    if not layout.quick:  # every results file the chapters read, checked before the first runs
        problems = check_store(root)
        if problems:
            more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise RuntimeError(f"{problems[0]}{more}; no chapter was executed")
    with _chapter_mode(root, layout, retrain) as cache_dir:
        start = time.perf_counter()
        notebooks = [(d, s) for d, s in zip(docs, sources, strict=True) if s.suffix == ".ipynb"]
        chapters = _execute_chapters(root, layout, notebooks, out / "exec", cache_dir)
    trained = sum(r["trained"] or 0 for r in chapters)
    stored = sum(r["from_store"] or 0 for r in chapters)
    print(
        f"{len(chapters)} chapters executed in {time.perf_counter() - start:.0f} s: "
        f"{trained} runs trained, {stored} taken from the store",
        flush=True,
    )
    report = {"layout": layout.name, "chapters": chapters}
    out.mkdir(parents=True, exist_ok=True)
    _stage(root, docs, out / "exec", out / "src", root / layout.data, report)
    _html_and_paper(root, layout, docs)
    print(f"book built in {time.perf_counter() - start:.1f} s", flush=True)


@contextlib.contextmanager
def _chapter_mode(root: Path, layout: Layout, retrain: bool) -> Iterator[Path]:
    """The chapters' mode for the build, in the environment their kernels (and the kernels'
    worker processes) inherit: retrain, train nothing (the committed results are the store),
    the run cache (yielded). A quick build first removes the results of the last quick build,
    so that a chapter's ledger reads only this build's runs. The environment is restored on the
    way out."""
    saved = {k: os.environ.get(k) for k in ("MPLBACKEND", CACHE_ENV, RETRAIN_ENV, NO_TRAIN_ENV)}
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend shows figures
    retrain = retrain or (layout.fresh_cache and not layout.from_store)
    os.environ.pop(RETRAIN_ENV, None)
    os.environ.pop(NO_TRAIN_ENV, None)
    try:
        if retrain:
            os.environ[RETRAIN_ENV] = "1"  # the chapters do not read their results files
        if layout.quick:  # a smoke test starts from nothing: no chapter reads a stale result
            for stale in (root / layout.data).glob("*.json"):
                stale.unlink()
        if layout.from_store:  # the committed results are the store, and a missing run an error
            _seed_store(root, root / layout.data)
            os.environ[NO_TRAIN_ENV] = "1"
        if layout.cache is not None or retrain:
            cache = root / (layout.cache or RETRAIN_CACHE)
            if retrain or layout.fresh_cache:
                shutil.rmtree(cache, ignore_errors=True)
            os.environ[CACHE_ENV] = str(cache)
        yield Path(os.environ.get(CACHE_ENV) or root / CACHE_DIR)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _execute_chapters(
    root: Path, layout: Layout, notebooks: list[tuple[str, Path]], exec_dir: Path,
    cache_dir: Path,
) -> list[dict]:
    """Execute each chapter into ``exec_dir``, printing a line each; the execution report's
    rows. A layout ``from_store`` then removes the committed results files no chapter wrote."""
    chapters: list[dict] = []
    outs: set[str] = set()  # the results files the chapters write
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
        counts = (
            f", {row['trained']} runs trained, {row['from_store']} from the store"
            if row["trained"] is not None
            else ""
        )
        print(f"{row['seconds']:.1f} s{counts}", flush=True)
    if layout.from_store:  # a committed file no chapter wrote is not left as if made
        for path in (root / layout.data).glob("*.json"):
            if path.name not in outs:
                path.unlink()
    return chapters


def _html_and_paper(root: Path, layout: Layout, docs: list[str]) -> None:
    """The HTML book, then the Markdown build joined into PAPER.md with its figures."""
    out = root / layout.out
    path_output = root if layout.out == "_build" else out
    src_dir = out / "src"
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


#: Committed sweep results (``richneuron.sweep/1`` files), audited by the drift gate.
