"""The Synthesis chapter's comparisons: every chapter's results merged
(:func:`richneuron.report.book.load_book_data`), the heat map's rows (:func:`comparison_rows`),
the compact summary, the CSV, the regime map and the published and first-version tables.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from .. import stats
from ..analysis.rules import published_metric
from ..formatting import format_advantage, format_metric
from ..store.atomic import atomic_file
from ..store.results import ResultSet, versus
from ..tables import Markdown, Table, markdown_table
from ..tasks import TASKS, get_task, higher_is_better
from .book import (
    _best_of_task,
    _format_row,
    archs_of,
    chapter_tasks,
    metric_cell,
)

__all__ = [
    "clear_wins",
    "comparison_rows",
    "environment_table",
    "first_version_table",
    "mean_metric",
    "published_table",
    "regime_rows",
    "regime_table",
    "summary_table",
    "tie_counts",
    "write_comparison_csv",
]


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
    ``seeds``, e.g. :func:`richneuron.report.second_opinion.seed_span`) the verdict on them and
    whether it agrees."""
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
