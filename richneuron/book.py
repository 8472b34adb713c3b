"""The book's chapter helpers and its build (``python -m richneuron.book build [--quick]``).

A version chapter calls :func:`run_chapter` once (validate, train through the run cache, save
``data/<chapter>.json``), then shows :func:`results_table`, figures from :mod:`richneuron.plots`
and a verdict built from :func:`compare_to_baseline`. The Tasks and Method chapters print their
tables from the library (:func:`task_table`, :func:`budget_table`, :func:`assumptions`), so no
number in the book is typed by hand. Tables are :class:`Markdown` strings: a notebook renders them,
``myst_nb.glue`` stores them as ``text/markdown``.

:func:`build` executes every chapter of ``_toc.yml`` with papermill into ``_build/exec/``, stages
``_build/src/`` (configuration, Markdown chapters, executed notebooks), builds the HTML with
Jupyter Book (warnings are errors) and writes ``PAPER.md`` through :mod:`richneuron.paper`.
The work tree is never touched except for ``data/`` (full build), ``PAPER.md`` and
``paper_figures/``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .atomic import atomic_dir
from .config import TrainConfig, assumptions_table
from .matching import BudgetError, match_width
from .neurons import ARCHITECTURES, get_arch
from .results import ResultSet, RunCache, run_study, save_results
from .tasks import TASKS, get_task, parse_tasks
from .trainer import Run

__all__ = [
    "BASELINES",
    "Latex",
    "Markdown",
    "assumptions",
    "budget_table",
    "build",
    "chapter_runs",
    "chapter_tasks",
    "compare_to_baseline",
    "count_wins",
    "equation",
    "final_diagnostic",
    "format_metric",
    "implementation",
    "main",
    "replicated",
    "markdown_table",
    "results_rows",
    "results_table",
    "run_chapter",
    "seed_count",
    "task_formula",
    "task_table",
    "toc_documents",
    "verdict",
]

#: Baselines every version chapter trains beside its own architecture.
BASELINES = ("vanilla", "singlu")
#: The run cache shared by every chapter (relative to the repository root).
CACHE_DIR = ".cache/runs"
#: Quick mode, a smoke test of the whole pipeline: few steps, one seed, the chapter's first two
#: tasks (chapters list the tasks their prose names first). Its results go to QUICK_DIR.
QUICK_STEPS, QUICK_LOG_EVERY, QUICK_SEEDS, QUICK_TASKS = 30, 10, 1, 2
QUICK_DIR = Path("_build") / "quick"


class Markdown(str):
    """Markdown text: a notebook renders it; ``glue`` keeps it as ``text/markdown``."""

    def _repr_markdown_(self) -> str:
        return str(self)

    def __repr__(self) -> str:  # text/plain, as {glue:text} shows it: no quotes
        return str(self)


class Latex(str):
    """A LaTeX formula without delimiters, for ``{glue:math}`` (``text/latex``)."""

    def _repr_latex_(self) -> str:
        return f"$$ {self} $$"

    def __repr__(self) -> str:
        return str(self)


# ---------------------------------------------------------------------------------------------
# Running a chapter.


def _chapter_archs(arch: str) -> tuple[str, ...]:
    return (arch, *(b for b in BASELINES if b != arch))


def chapter_runs(arch: str, tasks: str | Sequence[str], seeds: int) -> list[Run]:
    """Every run of a version chapter: ``arch`` and the baselines, on ``tasks``, seeds ``0..n-1``.

    Args:
        arch: the chapter's architecture id.
        tasks: task ids, or a selection such as ``"all"`` (see :func:`parse_tasks`).
        seeds: number of seeds.

    Returns:
        Runs ordered by architecture (``arch``, then ``vanilla``, ``singlu``), task, seed.
    """
    return [
        Run(a, t, s) for a in _chapter_archs(arch) for t in parse_tasks(tasks) for s in range(seeds)
    ]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
    return value


def _validate(
    name: str,
    arch: str,
    tasks: object,
    seeds: int,
    steps: int,
    budget: int,
    out: object,
    quick: object,
) -> tuple[tuple[str, ...], TrainConfig]:
    """Check every parameter of :func:`run_chapter` (each error names its parameter)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name: must be a non-empty string, got {name!r}")
    try:
        get_arch(arch)
    except ValueError as err:
        raise ValueError(f"arch: {err}") from None
    try:
        tasks = parse_tasks(tasks)
    except (TypeError, ValueError) as err:
        raise ValueError(f"tasks: {err}") from None
    _positive_int("seeds", seeds)
    _positive_int("steps", steps)
    _positive_int("budget", budget)
    if not isinstance(out, str | os.PathLike) or Path(out).suffix != ".json":
        raise ValueError(f"out: must be a path ending in .json, got {out!r}")
    if not isinstance(quick, bool):
        raise ValueError(f"quick: must be True or False, got {quick!r}")
    config = TrainConfig(steps=steps, budget=budget)
    for a in _chapter_archs(arch):
        for t in tasks:
            try:
                match_width(a, t, config.budget_for(t), config)
            except BudgetError as err:
                raise ValueError(f"budget: {err}") from None
    return tasks, config


def run_chapter(
    name: str,
    arch: str,
    tasks: str | Sequence[str],
    seeds: int,
    steps: int,
    budget: int,
    out: str | os.PathLike,
    quick: bool = False,
    cache_dir: str | os.PathLike | None = CACHE_DIR,
) -> ResultSet:
    """Train a version chapter's runs through the run cache and save them.

    Every parameter is checked before anything trains. With ``quick``, the chapter runs as a
    smoke test: at most :data:`QUICK_STEPS` steps logged every :data:`QUICK_LOG_EVERY`, one
    seed, the first :data:`QUICK_TASKS` tasks, and the results go to ``_build/quick/<out name>``
    instead of ``out``.

    Args:
        name: the chapter, e.g. ``"20-v10-free-phase"`` (stored in the results file).
        arch: the chapter's architecture; :data:`BASELINES` are trained beside it.
        tasks: task ids in the order the chapter discusses them, or ``"all"``.
        seeds: seeds ``0..seeds-1``.
        steps: training steps of every run.
        budget: parameters per network; every (architecture, task) must be matchable.
        out: results file, e.g. ``"data/20-v10-free-phase.json"`` (written atomically).
        quick: smoke-test mode (see above).
        cache_dir: the run cache, or ``None`` to train everything afresh.

    Returns:
        The :class:`ResultSet` that was saved.

    Raises:
        ValueError: naming the parameter: unknown ``arch`` or task, ``seeds``, ``steps`` or
            ``budget`` below 1, a ``budget`` no width can meet, ``out`` not a ``.json`` path.
    """
    tasks, config = _validate(name, arch, tasks, seeds, steps, budget, out, quick)
    out = Path(out)
    if quick:
        tasks, seeds = tasks[:QUICK_TASKS], QUICK_SEEDS
        config = config.replace(steps=min(steps, QUICK_STEPS), log_every=QUICK_LOG_EVERY)
        out = QUICK_DIR / out.name
    runs = chapter_runs(arch, tasks, seeds)
    rs = run_study(name, runs, config, RunCache(cache_dir) if cache_dir else None)
    save_results(rs, out)
    return rs


# ---------------------------------------------------------------------------------------------
# Tables and verdicts.


def _cell(value: object) -> str:
    return str(value).replace("|", r"\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Markdown:
    """A Markdown (GFM) table; ``|`` in cells is escaped."""
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return Markdown("\n".join(lines) + "\n")


def format_metric(value: float, metric: str) -> str:
    """``value`` as the book prints it: MSE to 3 significant digits, accuracy in percent."""
    if not math.isfinite(value):
        return str(value)
    return f"{100 * value:.1f}%" if metric == "accuracy" else f"{value:.3g}"


def _format_row(row: dict) -> str:
    n, bad = row["n_seeds"], row["n_diverged"]
    if bad == n:
        return f"diverged ({bad}/{n})"
    text = (
        f"{format_metric(row['mean'], row['metric'])} ± {format_metric(row['std'], row['metric'])}"
    )
    return text + (f" (diverged {bad}/{n})" if bad else "")


def _better(a: float, b: float, metric: str) -> bool:
    """``a`` better than ``b`` (NaN, i.e. every seed diverged, is worst)."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if metric == "accuracy" else a < b


def _archs(rs: ResultSet) -> list[str]:
    seen = list(dict.fromkeys(r.run.arch for r in rs.runs))
    return [a for a in seen if a not in BASELINES] + [b for b in BASELINES if b in seen]


def results_rows(rs: ResultSet, archs: Sequence[str] | None = None) -> list[dict[str, str]]:
    """One row per task: ``task``, ``metric``, and ``mean ± std`` over seeds per architecture.

    A cell reads ``diverged (k/n)`` when every seed diverged and ends in ``(diverged k/n)`` when
    some did (the mean is over the others); ``-`` when the run is absent.
    """
    archs = list(archs) if archs is not None else _archs(rs)
    summary = {(r["arch"], r["task"]): r for r in rs.summary()}
    metrics = {r["task"]: r["metric"] for r in rs.summary()}
    order = list(TASKS)
    rows = []
    for task in sorted(metrics, key=lambda t: order.index(t) if t in order else len(order)):
        row = {"task": task, "metric": metrics[task]}
        for arch in archs:
            s = summary.get((arch, task))
            row[arch] = "-" if s is None else _format_row(s)
        rows.append(row)
    return rows


def results_table(rs: ResultSet, archs: Sequence[str] | None = None) -> Markdown:
    """:func:`results_rows` as a Markdown table; the best mean per task in bold."""
    archs = list(archs) if archs is not None else _archs(rs)
    summary = {(r["arch"], r["task"]): r for r in rs.summary()}
    rows = []
    for row in results_rows(rs, archs):
        present = [a for a in archs if (a, row["task"]) in summary]
        best = None
        for a in present:
            s = summary[(a, row["task"])]
            if best is None or _better(
                s["mean"], summary[(best, row["task"])]["mean"], s["metric"]
            ):
                best = a
        cells = [f"**{row[a]}**" if a == best and row[a][0].isdigit() else row[a] for a in archs]
        rows.append([row["task"], row["metric"], *cells])
    return markdown_table(["task", "metric", *archs], rows)


def compare_to_baseline(rs: ResultSet, arch: str, task: str, baseline: str = "singlu") -> dict:
    """How ``arch`` fares against ``baseline`` on ``task``.

    Returns:
        ``{"task", "metric", "mean", "std", "base_mean", "base_std", "n_seeds", "better",
        "clear"}``: ``better`` is True when ``arch``'s mean is better (lower MSE, higher
        accuracy; a fully diverged side loses); ``clear`` when the means differ by more than the
        sum of the two standard deviations (False with one seed: no spread to compare against).

    Raises:
        KeyError: if ``rs`` lacks either architecture on ``task``.
    """
    summary = {(r["arch"], r["task"]): r for r in rs.summary()}
    for a in (arch, baseline):
        if (a, task) not in summary:
            raise KeyError(f"{rs.name}: no runs of {a!r} on task {task!r}")
    s, b = summary[(arch, task)], summary[(baseline, task)]
    gap = abs(s["mean"] - b["mean"])
    return {
        "task": task,
        "metric": s["metric"],
        "mean": s["mean"],
        "std": s["std"],
        "base_mean": b["mean"],
        "base_std": b["std"],
        "n_seeds": s["n_seeds"],
        "better": _better(s["mean"], b["mean"], s["metric"]),
        "clear": s["n_seeds"] > 1 and b["n_seeds"] > 1 and gap > s["std"] + b["std"],
    }


def chapter_tasks(rs: ResultSet, arch: str | None = None) -> list[str]:
    """Tasks of ``rs`` (of ``arch``'s runs if given), in registry order."""
    tasks = {r.run.task for r in rs.select(arch)}
    return [t for t in TASKS if t in tasks]


def seed_count(rs: ResultSet) -> int:
    """Number of distinct seeds in ``rs``."""
    return len({r.run.seed for r in rs.runs})


def count_wins(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` on which ``arch`` has the better mean than ``baseline``."""
    tasks = chapter_tasks(rs, arch)
    return sum(compare_to_baseline(rs, arch, t, baseline)["better"] for t in tasks)


def replicated(holds: bool) -> Markdown:
    """How the verdict of a published claim reads: ``replicated`` or ``not replicated``."""
    return Markdown("replicated" if holds else "not replicated")


def final_diagnostic(rs: ResultSet, arch: str, key: str) -> float:
    """Mean over ``arch``'s runs (all tasks and seeds) of the last logged value of ``key``.

    Raises:
        KeyError: if no run of ``arch`` records ``key``.
    """
    values = [r.diagnostics[key][-1] for r in rs.select(arch) if r.diagnostics.get(key)]
    if not values:
        raise KeyError(f"{rs.name}: no run of {arch!r} records diagnostic {key!r}")
    return math.fsum(values) / len(values)


def verdict(rs: ResultSet, arch: str, baseline: str = "singlu") -> Markdown:
    """One bullet per task: both means ± std, who is better, and whether the gap is clear."""
    lines = []
    for task in chapter_tasks(rs, arch):
        c = compare_to_baseline(rs, arch, task, baseline)
        fmt = c["metric"]
        ours = f"{format_metric(c['mean'], fmt)} ± {format_metric(c['std'], fmt)}"
        theirs = f"{format_metric(c['base_mean'], fmt)} ± {format_metric(c['base_std'], fmt)}"
        winner = arch if c["better"] else baseline
        if c["n_seeds"] < 2:
            how = "one seed, so the seed spread is unknown"
        else:
            how = "by more than the seed spread" if c["clear"] else "within the seed spread"
        lines.append(
            f"- **{task}** ({fmt}): {arch} {ours} vs {baseline} {theirs}; "
            f"{winner} is better, {how}."
        )
    return Markdown("\n".join(lines) + "\n")


def equation(arch: str) -> Latex:
    """The layer equation of ``arch`` as the library implements it (for ``{glue:math}``)."""
    return Latex(get_arch(arch).equation)


def implementation(arch: str) -> Markdown:
    """Inline Markdown naming the class that implements ``arch``, e.g. ``V10FreePhase``."""
    layer = get_arch(arch).layer
    return Markdown(f"`{layer.__module__}.{layer.__name__}`")


def task_formula(name: str) -> Markdown:
    """A task's generating formula as display math, then its domains and noise."""
    t = get_task(name)
    return Markdown(
        f"$$\n{t.formula}\n$$\n\n"
        f"- train: {t.n_train} points, {t.train_domain}\n"
        f"- test: {t.n_test} points, {t.test_domain}\n"
        f"- noise: {t.noise}; metric: {t.metric}\n"
    )


def task_table(tasks: Sequence[str] | None = None) -> Markdown:
    """The tasks at a glance: kind, metric, dimensions and point counts of each."""
    rows = []
    for name in tasks or TASKS:
        t = get_task(name)
        rows.append(
            [name, t.title, t.group, t.metric, f"{t.in_dim} → {t.out_dim}", t.n_train, t.n_test]
        )
    return markdown_table(["task", "title", "group", "metric", "in → out", "train", "test"], rows)


def budget_table(
    config: TrainConfig | None = None,
    archs: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
) -> tuple[Markdown, float]:
    """Matched hidden widths and exact parameter counts for every architecture on every task.

    Returns:
        ``(table, worst)``: a Markdown table, one row per architecture and one column per
        task, each cell ``widths: count (deviation)``; and the largest relative deviation from
        the budget over all cells.
    """
    config = config or TrainConfig()
    archs, tasks = list(archs or ARCHITECTURES), list(tasks or TASKS)
    rows, worst = [], 0.0
    for arch in archs:
        row = [arch]
        for task in tasks:
            budget = config.budget_for(task)
            widths, count = match_width(arch, task, budget, config)
            deviation = (count - budget) / budget
            worst = max(worst, abs(deviation))
            row.append(f"{'×'.join(map(str, widths))}: {count} ({deviation:+.1%})")
        rows.append(row)
    return markdown_table(["architecture", *tasks], rows), worst


def assumptions(config: TrainConfig | None = None) -> Markdown:
    """The reproduction-assumptions table: every protocol choice, its value and why."""
    rows = [[r["setting"], r["value"], r["why"]] for r in assumptions_table(config)]
    return markdown_table(["setting", "value", "why"], rows)


# ---------------------------------------------------------------------------------------------
# The build.


def toc_documents(toc: str | os.PathLike) -> list[str]:
    """Documents of a Jupyter Book ``_toc.yml`` in reading order (paths without suffix)."""
    import yaml

    data = yaml.safe_load(Path(toc).read_text(encoding="utf-8"))
    docs = [data["root"]]

    def walk(entries: list) -> None:
        for entry in entries or []:
            if "file" in entry:
                docs.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk(data.get("parts", []) + data.get("chapters", []))
    return [re.sub(r"\.(ipynb|md)$", "", d) for d in docs]


def _source(root: Path, doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (root / f"{doc}{suffix}").is_file():
            return root / f"{doc}{suffix}"
    raise FileNotFoundError(f"_toc.yml lists {doc!r}, but neither {doc}.ipynb nor {doc}.md exists")


def _execute(source: Path, target: Path, root: Path, quick: bool) -> None:
    """Run ``source`` with papermill into ``target`` (written only when execution succeeds)."""
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem}.running.ipynb")
    try:
        papermill.execute_notebook(
            str(source),
            str(tmp),
            parameters={"quick": True} if quick else {},
            cwd=str(root),
            progress_bar=False,
            execution_timeout=3600,
        )
    except Exception:
        failed = target.with_name(f"{target.stem}.failed.ipynb")
        if tmp.exists():
            os.replace(tmp, failed)
            print(f"  the executed copy, with the error, is {failed}", file=sys.stderr)
        raise
    os.replace(tmp, target)


def _stage(root: Path, docs: list[str], exec_dir: Path, src_dir: Path) -> None:
    """Copy configuration, Markdown chapters and executed notebooks into ``src_dir`` (replaced)."""
    with atomic_dir(src_dir) as staging:
        for name in ("_config.yml", "_toc.yml"):
            shutil.copy2(root / name, staging / name)
        for doc in docs:
            source = _source(root, doc)
            origin = exec_dir / f"{doc}.ipynb" if source.suffix == ".ipynb" else source
            (staging / doc).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, staging / f"{doc}{source.suffix}")


def _jupyter_book(root: Path, src_dir: Path, *builder: str) -> int:
    """Run ``jupyter-book build`` on ``src_dir`` (output under ``root/_build``); warnings count."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [
        str(exe if exe.exists() else "jupyter-book"),
        "build",
        str(src_dir.relative_to(root)),
        "--path-output",
        ".",
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


def build(root: str | os.PathLike = ".", quick: bool = False) -> None:
    """Execute every chapter, build the HTML book and PAPER.md (see the module docstring).

    Raises:
        RuntimeError: when a chapter fails to execute or the book builds with a warning.
    """
    from .paper import join_paper

    root = Path(root).resolve()
    out = root / "_build"
    exec_dir, src_dir = out / "exec", out / "src"
    docs = toc_documents(root / "_toc.yml")
    sources = [_source(root, d) for d in docs]
    env_backend = os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend shows figures
    start = time.perf_counter()
    try:
        notebooks = [(d, s) for d, s in zip(docs, sources) if s.suffix == ".ipynb"]
        for i, (doc, source) in enumerate(notebooks, 1):
            t0 = time.perf_counter()
            print(f"[{i}/{len(notebooks)}] {source.relative_to(root)} ...", flush=True)
            try:
                _execute(source, exec_dir / f"{doc}.ipynb", root, quick)
            except Exception as err:
                raise RuntimeError(f"{source.relative_to(root)} failed: {err}") from None
            print(
                f"[{i}/{len(notebooks)}] {source.relative_to(root)} executed in "
                f"{time.perf_counter() - t0:.1f} s",
                flush=True,
            )
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend
    out.mkdir(exist_ok=True)
    _stage(root, docs, exec_dir, src_dir)
    t0 = time.perf_counter()
    shutil.rmtree(out / "html", ignore_errors=True)
    n = _jupyter_book(root, src_dir)
    print(
        f"html: {out.relative_to(root)}/html/index.html in {time.perf_counter() - t0:.1f} s, "
        f"{n} warnings",
        flush=True,
    )
    t0 = time.perf_counter()
    shutil.rmtree(out / "markdown", ignore_errors=True)
    n = _jupyter_book(root, src_dir, "--builder", "custom", "--custom-builder", "markdown")
    banner = (
        "> **Quick build.** These numbers come from a smoke test (few steps, one seed, two "
        "tasks per chapter), not from the study. Run `make book` for the real ones.\n"
    )
    images = join_paper(
        out / "markdown", docs, root / "PAPER.md", root / "paper_figures", banner if quick else ""
    )
    print(
        f"PAPER.md: {len(docs)} chapters, {images} figures in paper_figures/ in "
        f"{time.perf_counter() - t0:.1f} s, {n} warnings",
        flush=True,
    )
    print(f"book built in {time.perf_counter() - start:.1f} s", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m richneuron.book build [--quick] [--root DIR]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m richneuron.book", description="Build the book: execute, HTML, PAPER.md."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="execute every chapter, build HTML and PAPER.md")
    b.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: every chapter with quick=True (results under _build/quick)",
    )
    b.add_argument("--root", default=".", help="repository root (default: .)")
    args = parser.parse_args(argv)
    try:
        build(args.root, quick=args.quick)
    except (RuntimeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
