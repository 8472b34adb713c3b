"""Cost beyond parameters (the Scaling chapter; issue 34): each run's FLOPs per training point
(:func:`richneuron.analysis.flops.flops` of its matched widths), each architecture's score
against FLOPs across the budgets of the scaling sweeps, the Pareto front per task, and the
panel's claims judged at matched FLOPs beside matched parameters.

**Matched FLOPs.** The chapters match parameters: every network has 5,000. Here every
architecture is instead brought to the FLOPs per training point of :data:`ANCHOR` at the
chapters' budget, task by task: between the two scaling budgets whose FLOPs bracket that
target, each seed's test score is interpolated linearly in log FLOPs (an MSE in log MSE, an
accuracy as it is), so each architecture gets one score per seed at the anchor's cost, and the
claims are judged on those as on any protocol (their intervals from the seeds). An architecture
whose FLOPs at every scaling budget lie above or below the target is left out there (its
comparisons read "not tested"). Pure: the runs come from the multiverse's budget protocols.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from ..config import DEFAULT_BUDGET
from ..store.results import ResultSet
from ..tables import Markdown, markdown_table
from ..tasks import get_task, higher_is_better
from .flops import flops
from .multiverse import Protocol
from .scaling import by_budget

__all__ = [
    "ANCHOR",
    "MATCHED",
    "cost_rows",
    "matched_flops",
    "pareto",
    "pareto_table",
    "run_flops",
    "with_times",
]

#: The architecture whose FLOPs at the chapters' budget every other is matched to.
ANCHOR = "vanilla"
#: The factor of the matched-FLOPs protocol.
MATCHED = "matched FLOPs"


def run_flops(r, config) -> int:
    """FLOPs per training point (forward and backward) of run ``r`` under ``config``."""
    t = get_task(r.run.task)
    return flops(r.run.arch, t.in_dim, t.out_dim, r.widths, config.rank, config.kan_grid).total


def _cells(protocols: Sequence[Protocol]) -> dict[tuple[str, str], list[tuple[int, int, dict]]]:
    """``(arch, task) -> [(budget, flops, {seed: run})]`` over the budget protocols, by budget."""
    cells: dict[tuple[str, str], list] = {}
    for p in by_budget(protocols):
        config = p.config
        groups: dict[tuple[str, str], dict[int, object]] = {}
        for r in p.results.runs:
            groups.setdefault((r.run.arch, r.run.task), {})[r.run.seed] = r
        for key, runs in groups.items():
            f = run_flops(next(iter(runs.values())), config)
            cells.setdefault(key, []).append((config.budget, f, runs))
    return cells


def cost_rows(protocols: Sequence[Protocol]) -> list[dict]:
    """The summary rows of every budget protocol (:meth:`ResultSet.summary`: the book's mean
    over seeds, a geometric mean for an MSE, diverged seeds left out), each with its
    ``budget`` and its ``flops`` per training point (from the row's widths)."""
    rows = []
    for p in by_budget(protocols):
        config = p.config
        for row in p.results.summary():
            t = get_task(row["task"])
            f = flops(row["arch"], t.in_dim, t.out_dim, row["widths"], config.rank,
                      config.kan_grid)
            rows.append({**row, "budget": config.budget, "flops": f.total})
    return rows


def pareto(rows: Sequence[dict], task: str, cost: str = "flops") -> list[dict]:
    """The rows of ``task`` (:func:`cost_rows`) on its Pareto front in ``cost`` (``"flops"``, or
    another key of the rows such as ``"seconds"``): no other is as cheap or cheaper and at
    least as good in score (of two equal points, the first by architecture). By cost."""
    sign = 1 if higher_is_better(get_task(task).metric) else -1
    here = sorted(
        (r for r in rows if r["task"] == task and math.isfinite(r["mean"]) and cost in r),
        key=lambda r: (r[cost], -sign * r["mean"], r["arch"]),
    )
    front, best = [], -math.inf
    for r in here:
        if sign * r["mean"] > best:
            front.append(r)
            best = sign * r["mean"]
    return front


def pareto_table(rows: Sequence[dict], tasks: Sequence[str]) -> Markdown:
    """Per task, the Pareto front in FLOPs and, where the rows carry a time per step
    (:func:`with_times`), in time: each point as ``arch budget``, cheapest first."""
    body = []
    timed = any("seconds" in r for r in rows)
    for task in tasks:
        row = [task]
        for cost in ("flops", "seconds") if timed else ("flops",):
            front = pareto(rows, task, cost)
            row.append("; ".join(f"{r['arch']} {r['budget'] / 1000:g}K" for r in front))
        body.append(row)
    header = ["task", "front in FLOPs, cheapest first"]
    return markdown_table(header + (["front in time, fastest first"] if timed else []), body)


def with_times(rows: Sequence[dict], times: Sequence[dict]) -> list[dict]:
    """:func:`cost_rows` with each (architecture, budget)'s measured ``seconds`` per training
    step from ``times`` (rows ``{"arch", "budget", "seconds_per_step"}``, measured on one task:
    the book's tasks have 500 training points, Memorize 200); rows without a time keep none."""
    by_key = {(t["arch"], t["budget"]): t["seconds_per_step"] for t in times}
    return [
        {**r, "seconds": by_key[(r["arch"], r["budget"])]} if (r["arch"], r["budget"]) in by_key
        else dict(r)
        for r in rows
    ]


def _interpolate(lo: float, hi: float, t: float, metric: str) -> float:
    if metric == "mse":
        if lo <= 0 or hi <= 0:
            return lo + t * (hi - lo)
        return math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))
    return lo + t * (hi - lo)


def matched_flops(protocols: Sequence[Protocol], budget: int = DEFAULT_BUDGET) -> Protocol:
    """The panel at :data:`ANCHOR`'s FLOPs per point at ``budget``, task by task (see the
    module docstring): a protocol whose runs carry the interpolated test scores (and, as their
    parameter count, the interpolated budget; their other fields, widths and curves, are the
    lower budget's run's). An architecture whose FLOPs at a budget equal the target keeps its
    runs there as they are (the anchor at ``budget``); a task without the anchor at ``budget``
    is left out.

    Raises:
        ValueError: if the budget protocols lack ``budget``.
    """
    cells = _cells(protocols)
    default = next((p for p in by_budget(protocols) if p.config.budget == budget), None)
    if default is None:
        raise ValueError(f"budget: no protocol at {budget:,} parameters")
    runs = []
    for (_, task), found in sorted(cells.items(), key=lambda kv: kv[0]):
        anchor = dict((b, f) for b, f, _ in cells.get((ANCHOR, task), []))
        if budget not in anchor:
            continue
        target = anchor[budget]
        metric = get_task(task).metric
        exact = [runs for _, f, runs in found if f == target]
        if exact:  # an architecture at the target itself (the anchor): its own runs
            runs += [exact[0][seed] for seed in sorted(exact[0])]
            continue
        for (b1, f1, r1), (b2, f2, r2) in zip(found, found[1:]):
            if not (f1 < target < f2):
                continue
            t = (math.log(target) - math.log(f1)) / (math.log(f2) - math.log(f1))
            params = round(math.exp(math.log(b1) + t * (math.log(b2) - math.log(b1))))
            for seed in sorted(set(r1) & set(r2)):
                a, b = r1[seed], r2[seed]
                runs.append(
                    dataclasses.replace(
                        a,
                        params=params,
                        test_metric=_interpolate(a.test_metric, b.test_metric, t, metric),
                        diverged=a.diverged or b.diverged,
                    )
                )
            break
    rs = ResultSet(MATCHED, default.results.config, default.results.provenance, runs)
    return Protocol(MATCHED, None, rs)
