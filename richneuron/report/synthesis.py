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
from ..analysis.references import NOT_TESTABLE, beats, learners, reference_text
from ..analysis.rules import published_metric
from ..formatting import format_advantage, format_detectable, format_metric, format_p
from ..store.atomic import atomic_file
from ..store.results import ResultSet, decide, versus
from ..tables import Markdown, Table, markdown_table
from ..tasks import TASKS, get_task, higher_is_better
from .book import (
    _format_row,
    archs_of,
    best_of_task,
    chapter_tasks,
    metric_cell,
    reference_cell,
    task_references,
)

#: The regime map's verdict where the runner-up, which does not learn the task, leads the best
#: architecture that does beyond noise.
NO_CLEAR_WINNER = "no clear winner"

__all__ = [
    "NO_CLEAR_WINNER",
    "clear_wins",
    "comparison_rows",
    "environment_table",
    "first_version_table",
    "mean_metric",
    "published_table",
    "regime_rows",
    "removed_calls",
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
    """Architectures as rows and tasks as columns (mean, 95% interval, skill score), the best
    reference predictor of each task as the last row, and the best mean of each task in bold
    where some network beats that reference beyond noise.

    Three significant figures; in the HTML book the interval is on a second, smaller line.
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
    tasks = chapter_tasks(rs)
    refs = task_references(rs)
    best = {t: best_of_task(summary, archs, t, refs[t]) for t in tasks}
    rows = [
        [a, *[metric_cell(summary.get((a, t)), best[t] == a, refs[t]) for t in tasks]]
        for a in archs
    ]
    learned = {t: bool(learners(summary, archs, refs[t])) for t in tasks}
    rows.append(["best reference", *[reference_cell(refs[t], learned[t]) for t in tasks]])
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
    task, where some architecture beats the task's best reference predictor beyond noise; none
    on a task no network learns), ``within_noise`` (the winner itself, or a mean within noise of
    the winner's: :func:`richneuron.store.results.versus`), ``score``: the mean normalised
    per task to [0, 1], 1 the best and 0 the worst (on log10 scale for MSE, linear for
    accuracy; NaN when every seed diverged; 1 when all architectures tie), ``reference`` and
    ``reference_name`` (the task's best reference predictor, :func:`book.task_references`),
    ``skill`` (:meth:`richneuron.store.schema.Reference.skill` of the mean) and ``learns``
    (:func:`richneuron.analysis.references.beats`).
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
    values: dict[tuple[str, str], list[float]] = {}
    for r in sorted(rs.runs, key=lambda r: r.run.seed):
        v = math.nan if r.diverged else r.test_metric
        values.setdefault((r.run.arch, r.run.task), []).append(v)
    tasks = chapter_tasks(rs)
    refs = task_references(rs)
    best = {t: best_of_task(summary, archs, t, refs[t]) for t in tasks}
    scale = {t: _scale(summary, archs, t) for t in tasks}
    rows = []
    for a in archs:
        for t in tasks:
            s = summary.get((a, t))
            if s is None:
                continue
            (lo, hi), x = scale[t], _position(s)
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
                    "reference": refs[t].best[1],
                    "reference_name": refs[t].best[0],
                    "skill": refs[t].skill(s["mean"]),
                    "learns": beats(s, refs[t]),
                }
            )
    return rows


def _position(row: dict) -> float:
    """Where a mean lies on its task's scale, higher better: -log10 of an MSE, an accuracy."""
    m = row["mean"]
    return (-math.log10(m) if m > 0 else math.inf) if row["metric"] == "mse" else m


def _scale(summary: dict, archs: Sequence[str], task: str) -> tuple[float, float]:
    """The lowest and highest :func:`_position` of ``archs`` on ``task`` (NaN where none)."""
    ok = [_position(summary[(a, task)]) for a in archs if (a, task) in summary]
    ok = [p for p in ok if not math.isnan(p)]
    return (min(ok), max(ok)) if ok else (math.nan, math.nan)


def write_comparison_csv(rows: Sequence[dict], path: str | os.PathLike) -> Path:
    """:func:`comparison_rows` as a CSV file (written atomically; full float precision).

    Columns: ``arch, task, metric, n_seeds, n_diverged, mean, low, high`` (the 95% bootstrap
    interval of the mean), ``std, params, winner, within_noise, score``, ``reference,
    reference_name`` (the task's best reference predictor), ``skill`` (the mean's skill against
    the constant predictor: 1 - MSE / MSE of the training mean, or the accuracy above the
    majority class), ``learns`` and one ``seed_<i>`` column per seed (empty for a diverged seed).
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
    fields += ["winner", "within_noise", "score", "reference", "reference_name", "skill", "learns"]
    fields += [f"seed_{i}" for i in range(n)]
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
            + [number(r["reference"]), r["reference_name"], number(r["skill"])]
            + [str(r["learns"]).lower()]
            + seeds
        )
    text = buffer.getvalue()
    if not (path.is_file() and path.read_text(encoding="utf-8") == text):
        with atomic_file(path) as f:
            f.write(text)
    return path


def regime_rows(
    rs: ResultSet, halves: tuple[ResultSet, ResultSet] | None = None
) -> list[dict]:
    """Per task: the best architecture (best mean), the runner-up, and the book's reading of the
    margin between them.

    Each row has ``task, metric, best, best_value, runner_up, runner_up_value``, ``interval``
    (:func:`richneuron.stats.compare` of the best against the runner-up), ``reference`` (the
    task's best reference predictor, :func:`richneuron.report.book.task_references`),
    ``learned`` (some architecture beats it beyond noise), ``clear`` (the task is learned and
    the margin is beyond noise: the tasks learned are one family, decided together by
    :func:`richneuron.store.results.decide`, whose ``p``, ``alone`` and ``detectable`` each
    row carries) and ``verdict``: the best's id when ``clear``, ``"within
    noise"``, or :data:`~richneuron.analysis.references.NOT_TESTABLE` where no architecture
    learns the task (no winner is named among networks that all lose to the reference), or
    :data:`NO_CLEAR_WINNER` where a runner-up that does not learn the task (a diverged seed) is
    ahead of the best that does, beyond noise.
    With ``halves`` (``rs``'s seeds split in two disjoint sets,
    :func:`richneuron.report.seeds.halves`), also ``first_verdict`` and ``second_verdict``
    (the verdict recomputed on each) and ``stability`` (:func:`richneuron.stats.agreement` of
    the two: ``"agrees"`` or ``"flips"``).
    """
    summary = rs.summary_by_key()
    first, other = (
        [{r["task"]: r for r in regime_rows(half)} for half in halves] if halves else ({}, {})
    )
    refs = task_references(rs)
    tops = {task: _top_two(summary, archs_of(rs), task, refs[task]) for task in chapter_tasks(rs)}
    learned = [t for t, (_, able) in tops.items() if able]
    family = dict(zip(learned, decide([_pair(summary, tops[t][0], t) for t in learned])))
    rows = []
    for task, (ranked, able) in tops.items():
        best, runner = _pair(summary, ranked, task)
        decision = family[task] if able else decide([(best, runner)])[0]
        outcome = decision.outcome
        clear = able and outcome == 1  # the best learner ahead of the runner-up
        verdict = (
            NOT_TESTABLE
            if not able
            else ranked[0] if clear else "within noise" if outcome == 0 else NO_CLEAR_WINNER
        )
        row = {
            "task": task,
            "metric": best["metric"],
            "best": ranked[0],
            "best_value": best["mean"],
            "runner_up": ranked[1],
            "runner_up_value": runner["mean"],
            "interval": decision.interval,
            "p": decision.p,
            "alone": decision.alone,
            "detectable": decision.detectable,
            "reference": refs[task],
            "learned": able,
            "clear": clear,
            "verdict": verdict,
        }
        if halves is not None:
            row["first_verdict"] = first[task]["verdict"] if task in first else "not run"
            row["second_verdict"] = other[task]["verdict"] if task in other else "not run"
            row["stability"] = stats.agreement(row["first_verdict"], row["second_verdict"])
        rows.append(row)
    return rows


def _top_two(summary: dict, archs: Sequence[str], task: str, reference) -> tuple[list, bool]:
    """The architectures of ``task`` ranked best first, the best of those that learn it (beat
    ``reference`` beyond noise) in first place, and whether any does."""
    ranked = [
        a for a in archs if (a, task) in summary and math.isfinite(summary[(a, task)]["mean"])
    ]
    sign = -1.0 if higher_is_better(summary[(ranked[0], task)]["metric"]) else 1.0
    ranked.sort(key=lambda a: sign * summary[(a, task)]["mean"])
    able = learners(summary, ranked, reference)
    if able:  # the best is the best of those that learn the task, the runner-up any
        ranked.remove(able[0])
        ranked.insert(0, able[0])
    return ranked, bool(able)


def _pair(summary: dict, ranked: Sequence[str], task: str) -> tuple[dict, dict]:
    return summary[(ranked[0], task)], summary[(ranked[1], task)]


def removed_calls(regime: Sequence[dict]) -> int:
    """Tasks of the regime map (:func:`regime_rows`) some network learns whose best leads the
    runner-up beyond noise by the interval alone, but not after the family's correction."""
    return sum(r["learned"] and r["alone"] == 1 and not r["clear"] for r in regime)


def clear_wins(rs: ResultSet) -> int:
    """Tasks some architecture learns whose best architecture leads the runner-up beyond noise
    (:func:`regime_rows`' ``clear``)."""
    return sum(r["clear"] for r in regime_rows(rs))


def mean_metric(rs: ResultSet, arch: str, task: str) -> float:
    """Mean test metric of ``arch`` on ``task`` over seeds that did not diverge (the geometric
    mean of an MSE, :meth:`richneuron.store.results.ResultSet.summary`).

    Raises:
        KeyError: if ``rs`` has no run of ``arch`` on ``task``.
    """
    for r in rs.summary():
        if (r["arch"], r["task"]) == (arch, task):
            return r["mean"]
    raise KeyError(f"{rs.name}: no runs of {arch!r} on task {task!r}")


def regime_table(rows: Sequence[dict], seeds: tuple[str, str] = ("0–4", "5–9")) -> Markdown:
    """:func:`regime_rows` as a Markdown table: the task's best reference predictor, the best
    and the runner-up, the margin with its 95% interval, the verdict, and for rows made with
    halves of the seeds (named by ``seeds``, e.g. :func:`richneuron.report.seeds.seed_span`)
    the verdict on each half and whether the two agree."""
    second = bool(rows) and "stability" in rows[0]
    header = ["task", "best reference", "best", "runner-up", "margin [95% CI]", "p", "verdict"]
    if second:
        header += [f"on seeds {seeds[0]}", f"on seeds {seeds[1]}", "stability"]
    body = []
    for r in rows:
        cells = [
            r["task"],
            reference_text(r["reference"]),
            f"{r['best']} ({format_metric(r['best_value'], r['metric'])})",
            f"{r['runner_up']} ({format_metric(r['runner_up_value'], r['metric'])})",
            format_advantage(r["interval"], r["metric"]),
            format_p(r["p"], bare=True),
            _verdict_text(r),
        ]
        if second:
            mark = "**flips**" if r["stability"] == "flips" else "agrees"
            cells += [r["first_verdict"], r["second_verdict"], mark]
        body.append(cells)
    return markdown_table(header, body)


def _verdict_text(row: dict) -> str:
    """A regime-map verdict as the table prints it: a within-noise verdict with the smallest
    margin these seeds would detect, and one the family's correction removed saying so."""
    if row["verdict"] != "within noise":
        return row["verdict"]
    removed = "; beyond noise alone, not after the correction" if row["alone"] != 0 else ""
    return (
        f"within noise (would detect {format_detectable(row['detectable'], row['metric'])}"
        f"{removed})"
    )


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
