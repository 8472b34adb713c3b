"""The second opinion: every verdict recomputed on each half of the ten pooled seeds (the
chapters' seeds 0-4 and the stability sweep's 5-9, :mod:`richneuron.report.seeds`), and how wide
the intervals are at each seed count.
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from ..analysis.claims import evaluate
from ..analysis.rules import Facts
from ..experiments.study import load_sweep
from ..formatting import format_p
from ..paths import sweep_file
from ..stats import FALSE_DISCOVERY_RATE
from ..store.results import ResultSet
from ..tables import Markdown, markdown_table
from ..tasks import STANDARD_TASKS
from .book import (
    chapter_tasks,
    compare_to_baseline,
)
from .seeds import STABILITY_PATH, halves, seed_span
from .synthesis import clear_wins

__all__ = [
    "CAPACITY_STABILITY_PATH",
    "capacity_runs",
    "flip_table",
    "half_spans",
    "interval_width_table",
    "interval_widths",
    "load_sweep_sets",
    "pooled_facts",
    "stability_ledgers",
    "stability_summary",
]


#: The label capacity of vanilla, SinGLU and the sine-free GLUs on the chapters' seeds (chapter
#: "Capacity in bits"), which claim 12 reads.
CAPACITY_PATH = sweep_file("capacity-glu")


#: The same runs on disjoint seeds (5..9): the capacity claim's second opinion.
CAPACITY_STABILITY_PATH = sweep_file("capacity-glu-stability")


def half_spans(rs: ResultSet) -> tuple[str, str]:
    """The seeds of each half of ``rs`` (:func:`~richneuron.report.seeds.halves`) as text,
    ``("0–4", "5–9")``; ``("none", "none")`` when it has too few seeds to split."""
    split = halves(rs)
    return (seed_span(split[0]), seed_span(split[1])) if split else ("none", "none")


def pooled_facts(
    facts: Facts, capacity_stability: str | os.PathLike | None = CAPACITY_STABILITY_PATH
) -> Facts:
    """``facts`` (the chapters' seeds' capacity runs) with the capacity runs of the disjoint
    seeds ``capacity_stability`` beside them: the headline claim on every seed (``facts``
    itself for None, a quick build)."""
    if capacity_stability is None:
        return facts
    more = load_sweep_sets(capacity_stability)
    own = getattr(facts.capacity_sweep, "sets", facts.capacity_sweep) or []  # a sweep, or its sets
    return dataclasses.replace(facts, capacity_sweep=[*own, *more])


def stability_ledgers(
    rs: ResultSet,
    published: dict,
    facts: Facts,
    capacity_stability: str | os.PathLike = CAPACITY_STABILITY_PATH,
) -> tuple[list | None, list | None]:
    """The claims ledger on each half of ``rs``'s seeds alone (:func:`~richneuron.report.seeds
    .halves`), with the chapters' ``facts`` (:func:`~richneuron.report.book.claim_facts`; the
    halves share their protocol) and the capacity claim on the chapters' capacity runs (in
    ``facts``) for the first half and on ``capacity_stability``'s for the second;
    ``(None, None)`` when ``rs`` has too few seeds to split."""
    split = halves(rs)
    if split is None:
        return None, None
    first, second = split
    alone = dataclasses.replace(facts, capacity_sweep=load_sweep_sets(capacity_stability))
    return evaluate(first, published, facts=facts), evaluate(second, published, facts=alone)


def flip_table(regime: Sequence[dict], ledger: Sequence[dict], seeds: tuple[str, str]) -> Markdown:
    """Every verdict on which the two halves of the seeds disagree (:func:`regime_rows` with
    halves and :func:`richneuron.analysis.ledgers.stability_rows`), beside the verdict on all
    the seeds together, which the book reports."""
    rows = [
        [f"regime map: {r['task']}", r["verdict"], r["first_verdict"], r["second_verdict"]]
        for r in regime
        if r.get("stability") == "flips"
    ]
    rows += [
        [
            f"claim {r['number']}: {r['finding']}",
            f"{r['verdict']}: {r['ours']}",
            r["first_verdict"],
            r["second_verdict"],
        ]
        for r in ledger
        if r["stability"] == "flips"
    ]
    if not rows:
        return Markdown("No verdict flips.\n")
    return markdown_table(
        ["verdict", "all seeds (the book's)", f"seeds {seeds[0]}", f"seeds {seeds[1]}"], rows
    )


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


def stability_summary(
    regime: Sequence[dict], ledger: Sequence[dict], seeds: tuple[str, str]
) -> Markdown:
    """One paragraph on the second opinion: how many verdicts of the regime map
    (:func:`regime_rows` with halves) and of the claims ledger
    (:func:`richneuron.analysis.ledgers.stability_rows`) differ between the two halves of the
    seeds, naming them; or, without halves (empty ``regime``), that the stability was not
    checked."""
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
        f"Between seeds {seeds[0]} and seeds {seeds[1]}, each on its own, "
        f"{len(flipped_tasks)} of the {len(regime)} verdicts of the regime map flip"
        + (f" ({', '.join(flipped_tasks)})" if flipped_tasks else "")
        + f", and {len(flipped_claims)} of the {checked} claim verdicts checked"
        + (f" ({', '.join(flipped_claims)})" if flipped_claims else "")
        + "."
    )
    if unchecked:
        text += f" Not checked for want of runs on one half: {', '.join(unchecked)}."
    return Markdown(text)


def interval_widths(rs: ResultSet) -> dict:
    """How wide the book's intervals are on ``rs``: the median over (architecture, task) of the
    95% interval of the mean, as a factor ``high / low`` for MSE and in points for accuracy,
    the regime map's tasks whose winner leads beyond noise, and the standard tasks on which
    SinGLU and vanilla differ beyond noise, and the smallest p-value a permutation test of two
    architectures at these seeds can reach (two-sided, ``2 / C(2n, n)``: above the 5% false
    discovery rate, no comparison can be beyond noise). ``{"seeds", "smallest_p", "mse_factor",
    "accuracy_points", "clear_winners", "tasks", "singlu_vanilla", "standard"}``."""
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
    count = len({r.run.seed for r in rs.runs})
    return {
        "seeds": seed_span(rs),
        "smallest_p": 2 / math.comb(2 * count, count) if count else math.nan,
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
            "smallest p-value",
            "median 95% interval, MSE (high / low)",
            "median 95% interval, accuracy (points)",
            "tasks with a winner beyond noise",
            "standard tasks: SinGLU vs vanilla beyond noise",
        ],
        [
            [
                r["seeds"],
                format_p(r["smallest_p"], bare=True)
                + (" (nothing can pass)" if r["smallest_p"] > FALSE_DISCOVERY_RATE else ""),
                f"{r['mse_factor']:.2f}x",
                f"{r['accuracy_points']:.1f}",
                f"{r['clear_winners']} of {r['tasks']}",
                f"{r['singlu_vanilla']} of {r['standard']}",
            ]
            for r in rows
        ],
    )
