"""The book's chapter helpers; ``python -m richneuron.report.book build|check`` builds the book.

A version chapter calls :func:`run_chapter` once (validate; take the runs ``data/<chapter>.json``
already holds, then the run cache; train the rest; save), then shows :func:`results_table`,
figures from :mod:`richneuron.report.plots` and a verdict built from :func:`compare_to_baseline`.
The
Tasks and Method chapters print their tables from the library (:func:`task_table`,
:func:`budget_table`, :func:`assumptions`), so no number in the book is typed by hand. Tables
are :class:`~richneuron.tables.Markdown` strings (a notebook renders them, ``myst_nb.glue``
stores them as ``text/markdown``), or, for the results tables, :class:`~richneuron.tables.Table`:
HTML in the HTML book, Markdown in PAPER.md, numbers to three significant figures.

The synthesis chapter merges every chapter's results with :func:`load_book_data` and shows
the heat map of :func:`comparison_rows` (:func:`richneuron.report.plots.plot_score_map`), the
compact
:func:`summary_table`, the CSV of :func:`write_comparison_csv`, :func:`regime_table` and the
claims of :mod:`richneuron.analysis.claims`.
The build and the drift gate are in :mod:`richneuron.report.bookbuild`.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import neurons, stats
from ..analysis.claims import (
    CAPACITY_PATH,
    PUBLISHED_VERDICTS,
    STANDARD_TASKS,
    evaluate,
    final_diagnostic,
    published_metric,
)
from ..arithmetic.determinism import ARITHMETIC_ENV, SIMDLEN, THREADS
from ..config import TrainConfig, assumptions_table
from ..experiments.study import load_sweep, run_study, sweep_rows
from ..formatting import compact, format_advantage, format_interval, format_metric
from ..neurons import (
    ARCHITECTURES,
    PAU_DENOMINATOR,
    PAU_NUMERATOR,
    SHAPE_KEYS,
    SHAPE_POINTS,
    Rational,
    get_arch,
    parse_archs,
)
from ..neurons.matching import BudgetError, match_width
from ..paths import CACHE_DIR, CACHE_ENV, DATA_DIR, NO_TRAIN_ENV, RETRAIN_ENV, sweep_file
from ..store.atomic import atomic_file
from ..store.results import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    ResultsError,
    ResultSet,
    RunCache,
    check_output_path,
    load_results,
    result_to_dict,
    save_results,
    versus,
    volatile_free,
)
from ..store.schema import Run
from ..tables import Cell, Latex, Markdown, Table, markdown_table
from ..tasks import TASKS, better, get_task, higher_is_better, parse_tasks
from ..train import fingerprint as fp
from . import audit
from .bookbuild import committed_runs, main

__all__ = [
    "BASELINES",
    "Latex",
    "Markdown",
    "assumptions",
    "budget_table",
    "capacity_runs",
    "chapter_runs",
    "chapter_tasks",
    "comparison_rows",
    "compare_to_baseline",
    "count_losses",
    "count_ties",
    "count_wins",
    "equation",
    "final_diagnostic",
    "flip_table",
    "pooled_regime",
    "stability_ledgers",
    "format_advantage",
    "format_interval",
    "format_metric",
    "initial_shape",
    "load_sweep_sets",
    "interval_width_table",
    "interval_widths",
    "load_second",
    "implementation",
    "markdown_table",
    "metric_cell",
    "omega_range_rows",
    "pooled",
    "relatives_table",
    "results_rows",
    "results_table",
    "run_chapter",
    "seed_agreement",
    "seed_count",
    "seed_span",
    "shape_change",
    "stability_summary",
    "sweep_omegas",
    "task_formula",
    "task_table",
    "tie_counts",
    "verdict",
    "with_seeds",
    "write_comparison_csv",
]

#: Baselines every version chapter trains beside its own architecture.
BASELINES = ("vanilla", "singlu")

#: Seeds every version chapter trains by default (seeds 0..4): with fewer, the 95% intervals of
#: the book's comparisons are too wide to call most differences (see the Synthesis, "How many
#: seeds"); the verdicts' second opinion trains as many again (seeds 5..9,
#: ``sweeps/stability.yaml``).
DEFAULT_SEEDS = 5

#: Quick mode, a smoke test of the whole pipeline: few steps, one seed, the chapter's first two
#: tasks (chapters list the tasks their prose names first). Its results go to QUICK_DIR.
QUICK_STEPS, QUICK_LOG_EVERY, QUICK_SEEDS, QUICK_TASKS = 30, 10, 1, 2
QUICK_DIR = Path("_build") / "quick"


# ---------------------------------------------------------------------------------------------
# Running a chapter.


def chapter_archs(arch: str | Sequence[str]) -> tuple[str, ...]:
    """The architectures a chapter trains: ``arch`` (one id or several), then the baselines.

    Raises:
        ValueError: naming the parameter ``arch``, on an unknown, empty or repeated id.
    """
    try:
        archs = parse_archs([arch] if isinstance(arch, str) else list(arch))
    except (TypeError, ValueError) as err:
        raise ValueError(f"arch: {err}") from None
    return (*archs, *(b for b in BASELINES if b not in archs))


def chapter_runs(arch: str | Sequence[str], tasks: str | Sequence[str], seeds: int) -> list[Run]:
    """Every run of a version chapter: ``arch`` and the baselines, on ``tasks``, seeds ``0..n-1``.

    Args:
        arch: the chapter's architecture id, or several (e.g. the three v4 fixes).
        tasks: task ids, or a selection such as ``"all"`` (see :func:`parse_tasks`).
        seeds: number of seeds.

    Returns:
        Runs ordered by architecture (``arch``, then ``vanilla``, ``singlu``), task, seed.
    """
    return [
        Run(a, t, s) for a in chapter_archs(arch) for t in parse_tasks(tasks) for s in range(seeds)
    ]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
    return value


def _validate(
    name: str,
    arch: str | Sequence[str],
    tasks: object,
    seeds: int,
    steps: int,
    budget: int,
    out: object,
    quick: object,
    lr: object = None,
) -> tuple[tuple[str, ...], TrainConfig]:
    """Check every parameter of :func:`run_chapter` (each error names its parameter)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name: must be a non-empty string, got {name!r}")
    archs = chapter_archs(arch)
    try:
        tasks = parse_tasks(tasks)
    except (TypeError, ValueError) as err:
        raise ValueError(f"tasks: {err}") from None
    _positive_int("seeds", seeds)
    _positive_int("steps", steps)
    _positive_int("budget", budget)
    if not isinstance(out, str | os.PathLike) or Path(out).suffix != ".json":
        raise ValueError(f"out: must be a path ending in .json, got {out!r}")
    try:
        check_output_path(out)
    except ValueError as err:
        raise ValueError(f"out: {err}") from None
    if not isinstance(quick, bool):
        raise ValueError(f"quick: must be True or False, got {quick!r}")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < math.inf
    ):
        raise ValueError(f"lr: must be a positive finite number, got {lr!r}")
    config = TrainConfig(steps=steps, budget=budget)
    if lr is not None:
        config = config.replace(lr=float(lr))
    for a in archs:
        for t in tasks:
            try:
                match_width(a, t, config.budget_for(t), config)
            except BudgetError as err:
                raise ValueError(f"budget: {err}") from None
    return tasks, config


def run_chapter(
    name: str,
    arch: str | Sequence[str],
    tasks: str | Sequence[str],
    seeds: int,
    steps: int,
    budget: int,
    out: str | os.PathLike,
    quick: bool = False,
    cache_dir: str | os.PathLike | None = None,
    lr: float | None = None,
) -> ResultSet:
    """Produce a version chapter's runs and save them: the runs of its results file ``out``
    made under the same protocol are kept, the rest come from the run cache or are trained.
    With ``RICHNEURON_RETRAIN=1`` the results file is not read.

    Every parameter is checked before anything trains. With ``quick``, the chapter runs as a
    smoke test: at most :data:`QUICK_STEPS` steps logged every :data:`QUICK_LOG_EVERY`, one
    seed, the first :data:`QUICK_TASKS` tasks, and the results go to ``_build/quick/<out name>``
    instead of ``out``.

    Args:
        name: the chapter, e.g. ``"20-v10-free-phase"`` (stored in the results file).
        arch: the chapter's architecture, or a list of them (e.g. the three v4 fixes);
            :data:`BASELINES` are trained beside it.
        tasks: task ids in the order the chapter discusses them, or ``"all"``.
        seeds: seeds ``0..seeds-1``.
        steps: training steps of every run.
        budget: parameters per network; every (architecture, task) must be matchable.
        out: results file, e.g. ``"data/20-v10-free-phase.json"`` (written atomically).
        quick: smoke-test mode (see above).
        cache_dir: the run cache (default: ``$RICHNEURON_CACHE_DIR``, else :data:`CACHE_DIR`);
            ``""`` trains everything afresh.
        lr: learning rate (default: the protocol's, :attr:`TrainConfig.lr`).

    Returns:
        The :class:`ResultSet` that was saved.

    Raises:
        ValueError: naming the parameter: unknown ``arch`` or task, ``seeds``, ``steps`` or
            ``budget`` below 1, a ``budget`` no width can meet, ``out`` not a ``.json`` path,
            ``lr`` not a positive number.
    """
    tasks, config = _validate(name, arch, tasks, seeds, steps, budget, out, quick, lr)
    out = Path(out)
    if quick:
        tasks, seeds = tasks[:QUICK_TASKS], QUICK_SEEDS
        config = config.replace(steps=min(steps, QUICK_STEPS), log_every=QUICK_LOG_EVERY)
        out = QUICK_DIR / out.name
    runs = chapter_runs(arch, tasks, seeds)
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV, CACHE_DIR)
    stored = {}  # the committed results file is the store: its runs of this protocol are kept
    previous = None
    if os.environ.get(RETRAIN_ENV) != "1" and out.is_file():
        previous = load_results(out)  # a corrupt file stops here, naming it: never overwritten
        if config_of(previous) == config:
            stored = {r.run: r for r in previous.runs}
    if os.environ.get(NO_TRAIN_ENV) == "1":
        _refuse_missing(name, runs, stored, out, previous, config)
    cache = RunCache(cache_dir) if cache_dir else None
    rs = run_study(name, runs, config, cache, stored=stored)
    save_results(rs, out, keep_same=True)
    return rs


def _refuse_missing(
    name: str,
    runs: Sequence[Run],
    stored: dict,
    out: Path,
    previous: ResultSet | None,
    config: TrainConfig,
) -> None:
    """Under :data:`NO_TRAIN_ENV`: one line naming the chapter, the first run its results file
    does not hold and why (no file, another protocol, the run absent), if any."""
    missing = [r for r in runs if r not in stored]
    if not missing:
        return
    first = missing[0]
    if previous is None:
        why = f"{out} does not exist"
    elif config_of(previous) != config:
        old, new = config_of(previous).to_dict(), config.to_dict()
        changed = ", ".join(f"{k} {old[k]!r} -> {new[k]!r}" for k in new if old.get(k) != new[k])
        why = f"the chapter's protocol differs from the one in {out} ({changed})"
    else:
        why = f"{out} does not hold it"
    raise ValueError(
        f"chapter {name}: {len(missing)} of {len(runs)} runs are not in the store, first "
        f"{first.arch} on {first.task}, seed {first.seed} ({why}); the drift gate trains "
        "nothing: run `make book` and commit data/"
    )


# ---------------------------------------------------------------------------------------------
# Tables and verdicts.


def _format_row(row: dict) -> str:
    n, bad = row["n_seeds"], row["n_diverged"]
    if bad == n:
        return f"diverged ({bad}/{n})"
    metric = row["metric"]
    interval = format_interval(row["low"], row["high"], metric)
    text = f"{format_metric(row['mean'], metric)} {interval}"
    return text + (f" (diverged {bad}/{n})" if bad else "")


def archs_of(rs: ResultSet) -> list[str]:
    """Architectures of ``rs``: the chapter's own first, then the baselines."""
    seen = list(dict.fromkeys(r.run.arch for r in rs.runs))
    return [a for a in seen if a not in BASELINES] + [b for b in BASELINES if b in seen]


def results_rows(rs: ResultSet, archs: Sequence[str] | None = None) -> list[dict[str, str]]:
    """One row per task: ``task``, ``metric``, and ``mean [95% interval]`` over seeds per
    architecture.

    A cell reads ``diverged (k/n)`` when every seed diverged and ends in ``(diverged k/n)`` when
    some did (the mean is over the others); ``-`` when the run is absent.
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
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


def _best_of_task(summary: dict, archs: Sequence[str], task: str) -> str | None:
    """The architecture with the best mean on ``task`` (None when none has a finite mean)."""
    best = None
    for a in archs:
        s = summary.get((a, task))
        if s is None or not math.isfinite(s["mean"]):
            continue
        if best is None or better(s["mean"], summary[(best, task)]["mean"], s["metric"]):
            best = a
    return best


def metric_cell(row: dict | None, bold: bool = False) -> Cell:
    """One summary row as a compact table cell: the mean, its 95% bootstrap interval below
    (``[low, high]``), divergence noted.

    Three significant figures (:func:`richneuron.formatting.compact`); ``-`` when absent.
    """
    if row is None:
        return Cell("-")
    n, bad = row["n_seeds"], row["n_diverged"]
    if bad == n:
        return Cell("diverged", note=f"({bad}/{n} seeds)")
    metric = row["metric"]
    low, high = row["low"], row["high"]
    interval = (
        f"[{compact(low, metric)}, {compact(high, metric)}]"
        if math.isfinite(low) and math.isfinite(high)
        else "[no interval]"
    )
    return Cell(
        compact(row["mean"], metric),
        sub=interval,
        bold=bold,
        note=f"(diverged {bad}/{n})" if bad else "",
    )


def results_table(rs: ResultSet, archs: Sequence[str] | None = None) -> Table:
    """Tasks as rows, architectures as columns: the mean over seeds with its 95% bootstrap
    interval, the best mean in bold.

    Three significant figures; in the HTML book the interval is on a second, smaller line.
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
    rows = []
    for row in results_rows(rs, archs):
        task = row["task"]
        best = _best_of_task(summary, archs, task)
        cells = [metric_cell(summary.get((a, task)), bold=a == best) for a in archs]
        rows.append([task, row["metric"], *cells])
    return Table(["task", "metric", *archs], rows)


def compare_to_baseline(rs: ResultSet, arch: str, task: str, baseline: str = "singlu") -> dict:
    """How ``arch`` fares against ``baseline`` on ``task``, by the book's beyond-noise rule.

    Returns:
        ``{"task", "metric", "mean", "low", "high", "std", "base_mean", "base_low",
        "base_high", "base_std", "n_seeds", "better", "interval", "outcome", "clear"}``:
        ``better`` is True when ``arch``'s mean is better (lower MSE, higher accuracy; a fully
        diverged side loses); ``interval`` is :func:`richneuron.stats.compare` of ``arch``
        against ``baseline`` (a ratio of MSEs, a difference of accuracies); ``outcome`` is +1
        (``arch`` better beyond noise), -1 (``baseline`` better beyond noise) or 0 (within
        noise, or fewer than two seeds a side); ``clear`` is ``outcome != 0``.

    Raises:
        KeyError: if ``rs`` lacks either architecture on ``task``.
    """
    summary = rs.summary_by_key()
    for a in (arch, baseline):
        if (a, task) not in summary:
            raise KeyError(f"{rs.name}: no runs of {a!r} on task {task!r}")
    s, b = summary[(arch, task)], summary[(baseline, task)]
    interval, result = versus(s, b)
    return {
        "task": task,
        "metric": s["metric"],
        "mean": s["mean"],
        "low": s["low"],
        "high": s["high"],
        "std": s["std"],
        "base_mean": b["mean"],
        "base_low": b["low"],
        "base_high": b["high"],
        "base_std": b["std"],
        "n_seeds": s["n_seeds"],
        "better": better(s["mean"], b["mean"], s["metric"]),
        "interval": interval,
        "outcome": result,
        "clear": result != 0,
    }


def chapter_tasks(rs: ResultSet, arch: str | None = None) -> list[str]:
    """Tasks of ``rs`` (of ``arch``'s runs if given), in registry order."""
    tasks = {r.run.task for r in rs.select(arch)}
    return [t for t in TASKS if t in tasks]


def seed_count(rs: ResultSet) -> int:
    """Number of distinct seeds in ``rs``."""
    return len({r.run.seed for r in rs.runs})


def count_wins(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` on which ``arch`` beats ``baseline`` beyond noise (the book's rule)."""
    tasks = chapter_tasks(rs, arch)
    return sum(compare_to_baseline(rs, arch, t, baseline)["outcome"] == 1 for t in tasks)


def count_losses(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` on which ``baseline`` beats ``arch`` beyond noise."""
    tasks = chapter_tasks(rs, arch)
    return sum(compare_to_baseline(rs, arch, t, baseline)["outcome"] == -1 for t in tasks)


def count_ties(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` on which ``arch`` and ``baseline`` are within noise of each other."""
    tasks = chapter_tasks(rs, arch)
    return sum(compare_to_baseline(rs, arch, t, baseline)["outcome"] == 0 for t in tasks)


def verdict(rs: ResultSet, arch: str, baseline: str = "singlu") -> Markdown:
    """One bullet per task: both means with their 95% intervals, the interval of the comparison
    (a ratio of MSEs or a difference of accuracies) and the book's reading of it: better beyond
    noise, or within noise."""
    lines = []
    for task in chapter_tasks(rs, arch):
        c = compare_to_baseline(rs, arch, task, baseline)
        fmt = c["metric"]
        ours = f"{format_metric(c['mean'], fmt)} {format_interval(c['low'], c['high'], fmt)}"
        theirs = (
            f"{format_metric(c['base_mean'], fmt)} "
            f"{format_interval(c['base_low'], c['base_high'], fmt)}"
        )
        gap = format_advantage(c["interval"], fmt, arch, baseline)
        if c["outcome"] == 0:
            how = "within noise (the interval includes " + (
                "1)" if fmt == "mse" else "0)"
            )
            if not math.isfinite(c["interval"].estimate):
                how = "not comparable (fewer than two seeds a side)"
        else:
            how = f"{arch if c['outcome'] == 1 else baseline} is better beyond noise"
        lines.append(
            f"- **{task}** ({fmt}): {arch} {ours} vs {baseline} {theirs}; {gap}: {how}."
        )
    return Markdown("\n".join(lines) + "\n")


def published_verdict(version: str) -> Markdown:
    """The original study's verdict on ``version`` (in this book's words), for a verdict."""
    if version not in PUBLISHED_VERDICTS:
        raise ValueError(
            f"version: no published verdict for {version!r}; known: {', '.join(PUBLISHED_VERDICTS)}"
        )
    return Markdown(PUBLISHED_VERDICTS[version])


def claim_sentence(claim) -> Markdown:
    """One claim as a sentence: our number, the published one, the verdict (for ``glue:md``)."""
    return Markdown(
        f"{claim.finding}: ours {claim.ours}, published {claim.published}; "
        f"**{claim.verdict}** (check: {claim.rule})."
    )


def claim_verdict(claim) -> Markdown:
    """A claim's verdict as inline text (``replicated``, ``not replicated``, ...)."""
    return Markdown(claim.verdict)


def load_book_data(data_dir: str | os.PathLike = DATA_DIR) -> ResultSet:
    """Every chapter's results file in ``data_dir`` merged into one result set.

    Runs that several chapters trained (the baselines) appear once; they must agree bit for
    bit, as the trainer is deterministic. An alias (``v4_glu``, the same neuron as ``singlu``)
    is left out: its runs are its canonical architecture's.

    Raises:
        ResultsError: naming the file, when a file is corrupt, when two files were made under
            different protocols, or when one run has two different results.
        FileNotFoundError: when ``data_dir`` holds no results file.
    """
    paths = sorted(p for p in Path(data_dir).glob("*.json") if p.name != "published.json")
    if not paths:
        raise FileNotFoundError(f"data_dir: no results files in {data_dir}")
    merged: dict[tuple, tuple] = {}
    config, provenance = None, None
    for path in paths:
        rs = load_results(path)
        if config is None:
            config, provenance, first = rs.config, rs.provenance, path
        elif rs.config != config:
            diff = sorted(
                k for k in config.keys() | rs.config.keys() if config.get(k) != rs.config.get(k)
            )
            raise ResultsError(
                f"{path}: config.{diff[0]}: {rs.config.get(diff[0])!r} differs from "
                f"{config.get(diff[0])!r} in {first}; re-run every chapter at one protocol"
            )
        for r in rs.runs:
            if get_arch(r.run.arch).canonical != r.run.arch:
                continue
            key = (r.run.arch, r.run.task, r.run.seed)
            doc = volatile_free({"runs": [result_to_dict(r)]})
            if key in merged and merged[key][1] != doc:
                raise ResultsError(
                    f"{path}: run {key} differs from the same run in {merged[key][2]}"
                )
            merged.setdefault(key, (r, doc, path))
    return ResultSet("book", config, provenance, [v[0] for v in merged.values()])


def config_of(rs: ResultSet) -> TrainConfig:
    """The training protocol a result set was made under."""
    return TrainConfig(**rs.config)


#: The second opinion: every architecture on every task on seeds disjoint from the chapters'.
STABILITY_PATH = sweep_file("stability")
#: The same for the capacity claim: vanilla and SinGLU's capacity runs on disjoint seeds.
CAPACITY_STABILITY_PATH = sweep_file("capacity-stability")


def load_second(path: str | os.PathLike, rs: ResultSet | None = None) -> ResultSet | None:
    """The one result set of a sweep file of disjoint seeds (:data:`STABILITY_PATH`), or None
    when the file does not exist (a fresh fork that has not trained it yet).

    With ``rs``, its protocol must be ``rs``'s and its seeds disjoint from ``rs``'s.

    Raises:
        ResultsError: naming the file: corrupt, more than one protocol, another protocol than
            ``rs``'s, or seeds shared with ``rs``.
    """
    path = Path(path)
    if not path.is_file():
        return None
    result = load_sweep(path)
    if len(result.sets) != 1:
        raise ResultsError(f"{path}: expected one protocol, found {len(result.sets)}")
    second = result.sets[0]
    if rs is not None:
        if config_of(second) != config_of(rs):
            raise ResultsError(f"{path}: its protocol differs from the chapters'")
        shared = {r.run.seed for r in second.runs} & {r.run.seed for r in rs.runs}
        if shared:
            raise ResultsError(
                f"{path}: seeds {sorted(shared)} are also the chapters': not a disjoint set"
            )
    return second


def environment_table(rs: ResultSet) -> Markdown:
    """Software and pinned arithmetic the results were made with (no times, no commits)."""
    p = rs.provenance
    arithmetic = p.get("arithmetic", {})
    env = arithmetic.get("env", {}) if isinstance(arithmetic, dict) else {}
    rows = [
        ["richneuron", p.get("package_version", "?")],
        ["Python", p.get("python", "?")],
        ["torch", p.get("torch", "?")],
        ["numpy", p.get("numpy", "?")],
        ["threads", p.get("threads", "?")],
        ["arithmetic pinned", arithmetic.get("pinned", "?") if arithmetic else "?"],
        *[[k, f"`{v}`"] for k, v in env.items()],
    ]
    return markdown_table(["setting", "value"], rows)


def summary_table(rs: ResultSet, archs: Sequence[str] | None = None) -> Table:
    """Architectures as rows and tasks as columns (mean, 95% interval), the best mean of each task
    in bold.

    Three significant figures; in the HTML book the interval is on a second, smaller line.
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
    tasks = chapter_tasks(rs)
    best = {t: _best_of_task(summary, archs, t) for t in tasks}
    rows = [
        [a, *[metric_cell(summary.get((a, t)), bold=best[t] == a) for t in tasks]] for a in archs
    ]
    return Table(["architecture", *tasks], rows)


def tie_counts(comparison: Sequence[dict]) -> dict[str, int]:
    """Of the rows of :func:`comparison_rows`: ``"cells"``, those that are not their task's
    winner, and ``"ties"``, those of them within noise of the winner."""
    others = [r for r in comparison if not r["winner"]]
    return {"cells": len(others), "ties": sum(bool(r["within_noise"]) for r in others)}


def comparison_rows(rs: ResultSet, archs: Sequence[str] | None = None) -> list[dict]:
    """Every (architecture, task) of ``rs`` against the task's winner, for the heat map and CSV.

    One dict per pair present, in architecture then task order: the :meth:`ResultSet.summary`
    fields (``arch, task, metric, n_seeds, n_diverged, mean, std, params``), the per-seed test
    metrics ``values`` (seed order; NaN for a diverged seed), ``winner`` (best mean of the
    task), ``within_noise`` (the winner itself, or a mean within noise of the winner's: not
    :func:`richneuron.store.results.versus`) and ``score``: the mean normalised
    per task to [0, 1], 1 the best and 0 the worst (on log10 scale for MSE, linear for
    accuracy; NaN when every seed diverged; 1 when all architectures tie).
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
    values: dict[tuple[str, str], list[float]] = {}
    for r in sorted(rs.runs, key=lambda r: r.run.seed):
        v = math.nan if r.diverged else r.test_metric
        values.setdefault((r.run.arch, r.run.task), []).append(v)
    def position(row: dict) -> float:  # where a mean lies on its task's scale, higher better
        m = row["mean"]
        return (-math.log10(m) if m > 0 else math.inf) if row["metric"] == "mse" else m

    tasks = chapter_tasks(rs)
    best = {t: _best_of_task(summary, archs, t) for t in tasks}
    scale = {}
    for t in tasks:
        ok = [position(summary[(a, t)]) for a in archs if (a, t) in summary]
        ok = [p for p in ok if not math.isnan(p)]
        scale[t] = (min(ok), max(ok)) if ok else (math.nan, math.nan)
    rows = []
    for a in archs:
        for t in tasks:
            s = summary.get((a, t))
            if s is None:
                continue
            (lo, hi), x = scale[t], position(s)
            if math.isnan(x):
                score = math.nan
            elif x == math.inf or not hi > lo:
                score = 1.0
            else:
                score = (x - lo) / (hi - lo)
            winner = best[t] == a
            tie = best[t] is not None and not math.isnan(x)
            tie = tie and versus(s, summary[(best[t], t)])[1] == 0
            rows.append(
                {
                    **{k: v for k, v in s.items() if k != "widths"},
                    "values": values[(a, t)],
                    "winner": winner,
                    "within_noise": winner or tie,
                    "score": score,
                }
            )
    return rows


def write_comparison_csv(rows: Sequence[dict], path: str | os.PathLike) -> Path:
    """:func:`comparison_rows` as a CSV file (written atomically; full float precision).

    Columns: ``arch, task, metric, n_seeds, n_diverged, mean, low, high`` (the 95% bootstrap
    interval of the mean), ``std, params, winner, within_noise, score`` and one ``seed_<i>``
    column per seed (empty for a diverged seed).
    The file is rewritten only when its bytes change.

    Returns:
        ``path``.
    """
    import csv
    import io

    path = Path(path)
    n = max((len(r["values"]) for r in rows), default=0)
    fields = ["arch", "task", "metric", "n_seeds", "n_diverged", "mean", "low", "high", "std"]
    fields += ["params"]
    fields += ["winner", "within_noise", "score", *[f"seed_{i}" for i in range(n)]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)

    def number(v: float) -> str:
        return "" if not math.isfinite(v) else repr(float(v))

    for r in rows:
        seeds = [number(v) for v in r["values"]] + [""] * (n - len(r["values"]))
        writer.writerow(
            [r["arch"], r["task"], r["metric"], r["n_seeds"], r["n_diverged"]]
            + [number(r["mean"]), number(r["low"]), number(r["high"])]
            + [number(r["std"]), number(r["params"])]
            + [str(r["winner"]).lower(), str(r["within_noise"]).lower(), number(r["score"])]
            + seeds
        )
    text = buffer.getvalue()
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        with atomic_file(path) as f:
            f.write(text)
    return path


def regime_rows(rs: ResultSet, second: ResultSet | None = None) -> list[dict]:
    """Per task: the best architecture (best mean), the runner-up, and the book's reading of the
    margin between them.

    Each row has ``task, metric, best, best_value, runner_up, runner_up_value``, ``interval``
    (:func:`richneuron.stats.compare` of the best against the runner-up), ``clear`` (the margin
    is beyond noise) and ``verdict``: the best's id when ``clear``, else ``"within noise"``.
    With ``second`` (the same architectures and tasks on a disjoint set of seeds), also
    ``second_verdict`` (the verdict recomputed there) and ``stability``
    (:func:`richneuron.stats.agreement`: ``"agrees"`` or ``"flips"``).
    """
    summary = rs.summary_by_key()
    others = regime_rows(second) if second is not None else []
    other = {r["task"]: r for r in others}
    rows = []
    for task in chapter_tasks(rs):
        ranked = [
            a
            for a in archs_of(rs)
            if (a, task) in summary and math.isfinite(summary[(a, task)]["mean"])
        ]
        metric = summary[(ranked[0], task)]["metric"]
        sign = -1.0 if higher_is_better(metric) else 1.0
        ranked.sort(key=lambda a: sign * summary[(a, task)]["mean"])
        best, runner = summary[(ranked[0], task)], summary[(ranked[1], task)]
        interval, outcome = versus(best, runner)
        clear = outcome != 0
        row = {
            "task": task,
            "metric": metric,
            "best": ranked[0],
            "best_value": best["mean"],
            "runner_up": ranked[1],
            "runner_up_value": runner["mean"],
            "interval": interval,
            "clear": clear,
            "verdict": ranked[0] if clear else "within noise",
        }
        if second is not None:
            row["second_verdict"] = other[task]["verdict"] if task in other else "not run"
            row["stability"] = stats.agreement(row["verdict"], row["second_verdict"])
        rows.append(row)
    return rows


def clear_wins(rs: ResultSet) -> int:
    """Tasks whose best architecture leads the runner-up beyond noise."""
    return sum(r["clear"] for r in regime_rows(rs))


def mean_metric(rs: ResultSet, arch: str, task: str) -> float:
    """Mean test metric of ``arch`` on ``task`` over seeds that did not diverge.

    Raises:
        KeyError: if ``rs`` has no run of ``arch`` on ``task``.
    """
    for r in rs.summary():
        if (r["arch"], r["task"]) == (arch, task):
            return r["mean"]
    raise KeyError(f"{rs.name}: no runs of {arch!r} on task {task!r}")


def regime_table(rows: Sequence[dict], seeds: str = "") -> Markdown:
    """:func:`regime_rows` as a Markdown table: the best and the runner-up, the margin with its
    95% interval, the verdict, and for rows made with a second set of seeds (named by
    ``seeds``, e.g. :func:`seed_span`) the verdict on them and whether it agrees."""
    second = bool(rows) and "stability" in rows[0]
    header = ["task", "best", "runner-up", "margin [95% CI]", "verdict"]
    if second:
        header += [f"on seeds {seeds}" if seeds else "on the other seeds", "stability"]
    body = []
    for r in rows:
        cells = [
            r["task"],
            f"{r['best']} ({format_metric(r['best_value'], r['metric'])})",
            f"{r['runner_up']} ({format_metric(r['runner_up_value'], r['metric'])})",
            format_advantage(r["interval"], r["metric"]),
            r["verdict"],
        ]
        if second:
            mark = "**flips**" if r["stability"] == "flips" else "agrees"
            cells += [r["second_verdict"], mark]
        body.append(cells)
    return markdown_table(header, body)


def pooled(rs: ResultSet, second: ResultSet) -> ResultSet:
    """``rs`` and ``second`` (the same protocol, disjoint seeds) as one result set: every
    verdict recomputed on twice the seeds.

    Raises:
        ValueError: if the two share a run.
    """
    keys = {(r.run.arch, r.run.task, r.run.seed) for r in rs.runs}
    if any((r.run.arch, r.run.task, r.run.seed) in keys for r in second.runs):
        raise ValueError("second: shares runs with rs; pooling needs disjoint seeds")
    return ResultSet(rs.name, rs.config, rs.provenance, [*rs.runs, *second.runs])


def stability_ledgers(
    rs: ResultSet,
    second: ResultSet | None,
    published: dict,
    capacity_stability: str | os.PathLike = CAPACITY_STABILITY_PATH,
) -> tuple[list | None, list | None]:
    """The claims ledger on the disjoint seeds ``second`` alone and on both sets of seeds
    pooled (:func:`pooled`), the capacity claim on ``capacity_stability``'s runs (and the
    chapters' capacity sweep with them); ``(None, None)`` when ``second`` is None."""
    if second is None:
        return None, None
    second_capacity = load_sweep_sets(capacity_stability)
    all_capacity = [*capacity_runs(), *second_capacity]
    return (
        evaluate(second, published, capacity_sweep=second_capacity),
        evaluate(pooled(rs, second), published, capacity_sweep=all_capacity),
    )


def pooled_regime(rs: ResultSet, second: ResultSet | None) -> list[dict]:
    """:func:`regime_rows` on both sets of seeds together; empty when ``second`` is None."""
    return regime_rows(pooled(rs, second)) if second is not None else []


def flip_table(
    regime: Sequence[dict], regime_pooled: Sequence[dict], ledger: Sequence[dict]
) -> Markdown:
    """Every verdict that flips on the disjoint seeds (:func:`regime_rows` with a second set and
    :func:`richneuron.analysis.claims.stability_rows` with a pooled evaluation), beside the verdict
    on
    both sets of seeds together (``regime_pooled``: :func:`regime_rows` of :func:`pooled`)."""
    pooled_by_task = {r["task"]: r for r in regime_pooled}
    rows = [
        [
            f"regime map: {r['task']}",
            r["verdict"],
            r["second_verdict"],
            pooled_by_task[r["task"]]["verdict"] if r["task"] in pooled_by_task else "not run",
        ]
        for r in regime
        if r.get("stability") == "flips"
    ]
    rows += [
        [
            f"claim {r['number']}: {r['finding']}",
            r["verdict"],
            r["second_verdict"],
            f"{r['pooled_verdict']}: {r['pooled_ours']}" if "pooled_verdict" in r else "-",
        ]
        for r in ledger
        if r["stability"] == "flips"
    ]
    if not rows:
        return Markdown("No verdict flips.\n")
    return markdown_table(["verdict", "the book's seeds", "the other seeds", "all seeds"], rows)


def load_sweep_sets(path: str | os.PathLike = CAPACITY_STABILITY_PATH) -> list[ResultSet]:
    """The result sets of a sweep file (default: the capacity claim's disjoint seeds,
    :data:`CAPACITY_STABILITY_PATH`), or an empty list when the file does not exist (a claim
    that needs them is then not checked there).

    Raises:
        ResultsError: naming the file, when it is corrupt.
    """
    path = Path(path)
    return load_sweep(path).sets if path.is_file() else []


def capacity_runs(sweep_dir: str | os.PathLike | None = None) -> list[ResultSet]:
    """The capacity sweep's result sets (:data:`richneuron.analysis.claims.CAPACITY_PATH`, or its
    file
    in ``sweep_dir``): the runs the headline claim's capacity comparison reads; empty where the
    file does not exist."""
    path = CAPACITY_PATH if sweep_dir is None else Path(sweep_dir) / Path(CAPACITY_PATH).name
    return load_sweep_sets(path)


def stability_summary(regime: Sequence[dict], ledger: Sequence[dict], seeds: str) -> Markdown:
    """One paragraph on the second opinion: how many verdicts of the regime map
    (:func:`regime_rows` with a second set) and of the claims ledger
    (:func:`richneuron.analysis.claims.stability_rows`) flip on the disjoint seeds, naming them; or,
    with
    no second set (empty ``regime``), that the stability was not checked."""
    if not regime or "stability" not in regime[0]:
        return Markdown(
            f"No disjoint set of seeds is stored ({STABILITY_PATH}), so this build does not "
            "check the verdicts' stability."
        )
    flipped_tasks = [r["task"] for r in regime if r["stability"] == "flips"]
    flipped_claims = [f"{r['id']} (#{r['number']})" for r in ledger if r["stability"] == "flips"]
    unchecked = [f"{r['id']} (#{r['number']})" for r in ledger if r["stability"] == "not checked"]
    checked = len(ledger) - len(unchecked)
    text = (
        f"On seeds {seeds}, {len(flipped_tasks)} of the {len(regime)} verdicts of the regime map "
        "flip"
        + (f" ({', '.join(flipped_tasks)})" if flipped_tasks else "")
        + f", and {len(flipped_claims)} of the {checked} claim verdicts checked"
        + (f" ({', '.join(flipped_claims)})" if flipped_claims else "")
        + "."
    )
    if unchecked:
        text += f" Not checked for want of runs on those seeds: {', '.join(unchecked)}."
    return Markdown(text)


def with_seeds(rs: ResultSet, seeds: Sequence[int]) -> ResultSet:
    """``rs`` restricted to the runs of ``seeds``."""
    keep = set(seeds)
    return ResultSet(rs.name, rs.config, rs.provenance, [r for r in rs.runs if r.run.seed in keep])


def interval_widths(rs: ResultSet) -> dict:
    """How wide the book's intervals are on ``rs``: the median over (architecture, task) of the
    95% interval of the mean, as a factor ``high / low`` for MSE and in points for accuracy,
    the regime map's tasks whose winner leads beyond noise, and the standard tasks on which
    SinGLU and vanilla differ beyond noise. ``{"seeds", "mse_factor", "accuracy_points",
    "clear_winners", "tasks", "singlu_vanilla", "standard"}``."""
    import statistics

    mse, acc = [], []
    for row in rs.summary():
        if not (math.isfinite(row["low"]) and math.isfinite(row["high"])):
            continue
        if row["metric"] == "mse" and row["low"] > 0:
            mse.append(row["high"] / row["low"])
        elif row["metric"] == "accuracy":
            acc.append(100 * (row["high"] - row["low"]))
    have = {(r.run.arch, r.run.task) for r in rs.runs}
    standard = [t for t in STANDARD_TASKS if {("singlu", t), ("vanilla", t)} <= have]
    return {
        "seeds": seed_span(rs),
        "mse_factor": statistics.median(mse) if mse else math.nan,
        "accuracy_points": statistics.median(acc) if acc else math.nan,
        "clear_winners": clear_wins(rs),
        "tasks": len(chapter_tasks(rs)),
        "singlu_vanilla": sum(
            compare_to_baseline(rs, "singlu", t, "vanilla")["clear"] for t in standard
        ),
        "standard": len(standard),
    }


def interval_width_table(rows: Sequence[dict]) -> Markdown:
    """:func:`interval_widths` of several seed sets as a Markdown table."""
    return markdown_table(
        [
            "seeds",
            "median 95% interval, MSE (high / low)",
            "median 95% interval, accuracy (points)",
            "tasks with a winner beyond noise",
            "standard tasks: SinGLU vs vanilla beyond noise",
        ],
        [
            [
                r["seeds"],
                f"{r['mse_factor']:.2f}x",
                f"{r['accuracy_points']:.1f}",
                f"{r['clear_winners']} of {r['tasks']}",
                f"{r['singlu_vanilla']} of {r['standard']}",
            ]
            for r in rows
        ],
    )


def seed_span(rs: ResultSet) -> str:
    """The seeds of ``rs`` as text: ``"5-9"`` for a run of consecutive seeds, else a list."""
    seeds = sorted({r.run.seed for r in rs.runs})
    if not seeds:
        return "none"
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def published_table(rs: ResultSet, published: dict) -> Markdown:
    """Every published number beside ours: architecture, task, published, ours (mean [95% CI])."""
    summary = rs.summary_by_key()
    rows = []
    for arch in ("vanilla", "singlu", "v10", "v15"):
        for task in TASKS:
            theirs = published_metric(published, arch, task)
            if theirs is None:
                continue
            s = summary.get((arch, task))
            ours = "not run" if s is None else _format_row(s)
            rows.append(
                [
                    arch,
                    task,
                    get_task(task).metric,
                    format_metric(theirs, get_task(task).metric),
                    ours,
                ]
            )
    return markdown_table(["architecture", "task", "metric", "published", "ours"], rows)


def first_version_table(rs: ResultSet, published: dict) -> Markdown:
    """The original's first table (v1 against vanilla) beside our v1 and vanilla runs."""
    table = published["first_version_table"]
    names = {"nested": "nested_2d", "complex": "complex_4d"}
    summary = rs.summary_by_key()
    rows = []
    for i, name in enumerate(table["tasks"]):
        task = names.get(name, name)
        metric = "accuracy" if table["metric"][i] == "acc_percent" else "mse"
        scale = 0.01 if metric == "accuracy" else 1.0
        ours = []
        for arch in ("vanilla", "v1"):
            s = summary.get((arch, task))
            ours.append(
                "not a task here"
                if task not in TASKS
                else ("not run" if s is None else _format_row(s))
            )
        rows.append(
            [
                name,
                metric,
                format_metric(table["vanilla"][i] * scale, metric),
                format_metric(table["richneuron"][i] * scale, metric),
                *ours,
            ]
        )
    return markdown_table(
        ["task", "metric", "vanilla (published)", "v1 (published)", "vanilla (ours)", "v1 (ours)"],
        rows,
    )


def equation(arch: str) -> Latex:
    """The layer equation of ``arch`` as the library implements it (for ``{glue:math}``)."""
    return Latex(get_arch(arch).equation)


def implementation(arch: str) -> Markdown:
    """Inline Markdown naming the class that implements ``arch`` as the package exports it,
    e.g. ``richneuron.neurons.V10FreePhase``."""
    layer = get_arch(arch).layer
    if getattr(neurons, layer.__name__, None) is not layer:
        raise ValueError(f"{layer.__name__} is not exported by {neurons.__name__}")
    return Markdown(f"`{neurons.__name__}.{layer.__name__}`")


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


def arithmetic_table() -> Markdown:
    """The pinned arithmetic (see :mod:`richneuron.arithmetic.determinism`): setting, value, what it
    fixes."""
    why = {
        "MKL_CBWR": "MKL's vector math (the products are richneuron::bmm's): its vendor-neutral "
        "branch (SSE2, no approximate reciprocals), in strict reproducibility mode",
        "ATEN_CPU_CAPABILITY": "PyTorch's vectorised CPU kernels (sin, tanh, reductions)",
        "TORCHINDUCTOR_CPP_MARCH": "the instruction set the compiled training step is built for",
    }
    rows = [[f"`{k}`", f"`{v}`", why[k]] for k, v in ARITHMETIC_ENV.items()]
    rows.append(["vector width (Inductor)", f"{SIMDLEN} bits", "the compiled kernels' SIMD width"])
    rows.append(["threads", THREADS, "compiled kernels split their work by the thread count"])
    return markdown_table(["setting", "value", "what it fixes"], rows)


def fingerprint_facts() -> dict[str, object]:
    """The fingerprint workload, for the Method chapter's prose
    (:mod:`richneuron.train.fingerprint`)."""
    work, small = fp.workload(), fp.workload(small=True)
    return {
        "archs": len(work["archs"]),
        "seeds": len(work["seeds"]),
        "task": work["task"],
        "steps": work["config"]["steps"],
        "budget": f"{work['config']['budget']:,}",
        "reference": work["reference_steps"],
        "small_steps": small["config"]["steps"],
        "small_budget": f"{small['config']['budget']:,}",
        "small_reference": small["reference_steps"],
        "cpus": " and ".join(fp.EMULATED_CPUS),
    }


def gate_facts(root: str | os.PathLike = ".", k: Sequence[int] = (10, 50)) -> dict[str, object]:
    """What the drift gate's audit guarantees, from the committed runs (Method chapter): the
    runs and cells, the budget, the window of commits within which every cell is retrained,
    the runs one commit retrains, each run's chance per commit (mean over runs, estimated over
    200 draws by :func:`richneuron.report.audit.inclusion`) and the chance that one changed run
    escapes ``k`` commits at that mean (:func:`richneuron.report.audit.escape`)."""
    entries, _ = committed_runs(root)
    plan = audit.plan(entries, "0" * 40, 0)
    chances = audit.inclusion(entries, draws=200)
    mean = sum(chances) / len(chances)
    facts: dict[str, object] = {
        "runs": f"{len(entries):,}",
        "hours": f"{sum(e.cost for e in entries) / 3600:.1f}",
        "overhead": f"{audit.RUN_OVERHEAD:g}",
        "cells": plan.cells,
        "budget": f"{plan.budget:.0f}",
        "cell_share": f"{audit.CELL_SHARE:.0%}",
        "window": plan.window,
        "per_commit": f"{len(plan.chosen):,}",
        "chance": f"{mean:.2%}",
    }
    for n in k:
        facts[f"escape_{n}"] = f"{audit.escape(mean, n):.0%}"
    return facts


def tolerance_table() -> Markdown:
    """The drift gate's tolerances per compared quantity
    (:func:`richneuron.store.results.compare`)."""
    what = {
        "mse": "test metric of regression tasks (MSE)",
        "accuracy": "test metric of classification tasks (accuracy)",
        "train_loss": "final training loss",
    }
    rows = [
        [what[k], f"{DEFAULT_RTOL[k]:g}", f"{DEFAULT_ATOL[k]:g}"]
        for k in ("mse", "accuracy", "train_loss")
    ]
    rows.append(["widths, parameter count, divergence flag and step", "exact", "exact"])
    return markdown_table(["compared", "relative tolerance", "absolute tolerance"], rows)


def assumptions(config: TrainConfig | None = None) -> Markdown:
    """The reproduction-assumptions table: every protocol choice, its value and why."""
    rows = [[r["setting"], r["value"], r["why"]] for r in assumptions_table(config)]
    return markdown_table(["setting", "value", "why"], rows)


# ---------------------------------------------------------------------------------------------
# The part "Related neurons".


def relatives_table(rs: ResultSet, archs: Sequence[str]) -> Markdown:
    """One row per related neuron of a chapter: matrices per neuron, matched width (first hidden
    layer on Nested), and against SinGLU and ReLU on how many tasks it is better beyond noise,
    within noise, and worse beyond noise (the book's rule)."""
    config = config_of(rs)
    rows = []
    for arch in archs:
        tasks = chapter_tasks(rs, arch)
        widths, _ = match_width(arch, "nested_2d", config.budget_for("nested_2d"), config)
        cells = [arch, get_arch(arch).matrices, widths[0]]
        for base in BASELINES[::-1]:  # SinGLU, then ReLU
            cs = [compare_to_baseline(rs, arch, t, base)["outcome"] for t in tasks]
            cells.append(f"{cs.count(1)} / {cs.count(0)} / {cs.count(-1)}")
        rows.append(cells)
    return markdown_table(
        [
            "architecture",
            "matrices",
            "width",
            "vs SinGLU: better / within noise / worse",
            "vs ReLU: better / within noise / worse",
        ],
        rows,
    )


def seed_agreement(rs: ResultSet, arch: str, rel: float = 1e-3) -> int:
    """Tasks on which every seed of ``arch`` ends within ``rel`` of the others: the seed
    standard deviation of the test metric below ``rel`` times its mean's magnitude."""
    return sum(
        1
        for row in rs.summary()
        if row["arch"] == arch
        and row["n_seeds"] > 1
        and math.isfinite(row["mean"])
        and row["std"] <= rel * abs(row["mean"])
    )


def initial_shape(arch: str) -> list[float] | None:
    """A learned activation's shape at initialisation on :data:`SHAPE_POINTS` (the same for
    every seed), or ``None`` where it depends on the seed (KAN's edges)."""
    import torch

    if get_arch(arch).layer is not Rational:
        return None
    t = torch.tensor(SHAPE_POINTS).view(1, 1, -1)
    num = torch.tensor(PAU_NUMERATOR).view(1, -1, 1)
    den = torch.tensor(PAU_DENOMINATOR).view(1, -1, 1)
    return [float(v) for v in Rational.rational(t, num, den).flatten()]


def shape_change(rs: ResultSet, arch: str) -> float:
    """Largest change of ``arch``'s learned activation (on :data:`SHAPE_POINTS`) from its first
    to its last record, averaged over runs."""
    runs = rs.recording(arch, SHAPE_KEYS)
    changes = [
        max(abs(r.diagnostics[k][-1] - r.diagnostics[k][0]) for k in SHAPE_KEYS) for r in runs
    ]
    return sum(changes) / len(changes)


def sweep_omegas(sets: Sequence[ResultSet], arch: str = "singlu") -> str:
    """The frequencies at which a sweep trained ``arch``, as text: ``"0.25, 1, 4, 16"``."""
    omegas = sorted({w for by_omega in sweep_rows(sets, arch).values() for w in by_omega})
    return ", ".join(f"{w:g}" for w in omegas)


def omega_range_rows(
    sets: Sequence[ResultSet], arch: str = "singlu", control: str = "bilinear"
) -> list[dict]:
    """Per task of an ``omega`` sweep: ``arch``'s best frequency and whether it beats
    ``control`` there, and at ``omega = 1``, beyond noise (the book's rule)."""
    rows = sweep_rows(sets, arch)
    base = {t: next(iter(by_omega.values())) for t, by_omega in sweep_rows(sets, control).items()}
    out = []
    for task in [t for t in TASKS if t in rows and t in base]:
        by_omega = rows[task]
        metric = base[task]["metric"]
        best = next(iter(by_omega))
        for omega, row in by_omega.items():
            if better(row["mean"], by_omega[best]["mean"], metric):
                best = omega
        one = by_omega.get(1.0)
        out.append(
            {
                "task": task,
                "best_omega": best,
                "best_beats_control": versus(by_omega[best], base[task])[1] == 1,
                "one_beats_control": one is not None and versus(one, base[task])[1] == 1,
            }
        )
    return out


# ``python -m richneuron.report.book build|check``: the build's command line
if __name__ == "__main__":
    sys.exit(main())
