"""The second opinion: the verdicts on seeds 5-9 (sweeps/stability.yaml) beside the chapters' seeds
0-4, pooled, and how wide the intervals are at each seed count.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path

from ..analysis.claims import evaluate
from ..analysis.rules import Facts
from ..experiments.study import load_sweep
from ..paths import sweep_file
from ..store.results import ResultsError, ResultSet
from ..tables import Markdown, markdown_table
from ..tasks import STANDARD_TASKS
from .book import (
    chapter_tasks,
    compare_to_baseline,
    config_of,
)
from .synthesis import clear_wins, regime_rows

__all__ = [
    "CAPACITY_STABILITY_PATH",
    "STABILITY_PATH",
    "capacity_runs",
    "flip_table",
    "interval_width_table",
    "interval_widths",
    "load_second",
    "load_sweep_sets",
    "pooled",
    "pooled_regime",
    "seed_span",
    "stability_ledgers",
    "stability_summary",
    "with_seeds",
]


#: The capacity sweep of the chapters' seeds (chapter "Capacity in bits"), which claim 12 reads.
CAPACITY_PATH = sweep_file("capacity")

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
    facts: Facts,
    capacity_stability: str | os.PathLike = CAPACITY_STABILITY_PATH,
) -> tuple[list | None, list | None]:
    """The claims ledger on the disjoint seeds ``second`` alone and on both sets of seeds
    pooled (:func:`pooled`), with the chapters' ``facts`` (:func:`~richneuron.report.book
    .claim_facts`: ``second`` shares their protocol) and the capacity claim on
    ``capacity_stability``'s runs (and, pooled, the chapters' capacity runs in ``facts`` with
    them); ``(None, None)`` when ``second`` is None."""
    if second is None:
        return None, None
    second_capacity = load_sweep_sets(capacity_stability)
    alone = dataclasses.replace(facts, capacity_sweep=second_capacity)
    together = dataclasses.replace(
        facts, capacity_sweep=[*(facts.capacity_sweep or []), *second_capacity]
    )
    return (
        evaluate(second, published, facts=alone),
        evaluate(pooled(rs, second), published, facts=together),
    )


def pooled_regime(rs: ResultSet, second: ResultSet | None) -> list[dict]:
    """:func:`regime_rows` on both sets of seeds together; empty when ``second`` is None."""
    return regime_rows(pooled(rs, second)) if second is not None else []


def flip_table(
    regime: Sequence[dict], regime_pooled: Sequence[dict], ledger: Sequence[dict]
) -> Markdown:
    """Every verdict that flips on the disjoint seeds (:func:`regime_rows` with a second set and
    :func:`richneuron.analysis.ledgers.stability_rows` with a pooled evaluation), beside the verdict
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
    """The capacity sweep's result sets (:data:`CAPACITY_PATH`, or its
    file in ``sweep_dir``): the runs the headline claim's capacity comparison reads; empty where the
    file does not exist."""
    path = CAPACITY_PATH if sweep_dir is None else Path(sweep_dir) / Path(CAPACITY_PATH).name
    return load_sweep_sets(path)


def stability_summary(regime: Sequence[dict], ledger: Sequence[dict], seeds: str) -> Markdown:
    """One paragraph on the second opinion: how many verdicts of the regime map
    (:func:`regime_rows` with a second set) and of the claims ledger
    (:func:`richneuron.analysis.ledgers.stability_rows`) flip on the disjoint seeds, naming them;
    or, with
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
