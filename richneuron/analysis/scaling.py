"""The Scaling chapter: the panel's comparisons at each budget (who beats whom, the winners, where
one architecture overtakes another), from the multiverse's protocols of budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..store.results import versus
from ..tables import Markdown, markdown_table
from ..tasks import TASKS, get_task, higher_is_better
from .multiverse import Protocol

__all__ = [
    "at_budget",
    "budgets",
    "budgets_text",
    "by_budget",
    "largest_tolerance",
    "overtakes",
    "overtakes_text",
    "scaling_rows",
    "tally_text",
    "tally_versus",
    "versus_rows",
    "versus_table",
    "winner_table",
    "winners",
]


def by_budget(protocols: Sequence[Protocol]) -> list[Protocol]:
    """The protocols that differ in the budget alone, the chapters' among them, by budget."""
    chosen = [p for p in protocols if p.factor in ("default", "budget")]
    return sorted(chosen, key=lambda p: p.config.budget)


def at_budget(protocols: Sequence[Protocol], budget: int) -> Protocol:
    """The budget protocol (:func:`by_budget`) at ``budget``.

    Raises:
        ValueError: naming the budget and those there are, if none is at it.
    """
    for p in by_budget(protocols):
        if p.config.budget == budget:
            return p
    there = budgets_text(by_budget(protocols))
    raise ValueError(f"budget: no protocol at {budget:,}; budgets: {there}")


def budgets(protocols: Sequence[Protocol]) -> list[int]:
    """The budgets of ``protocols``, in their order."""
    return [p.config.budget for p in protocols]


def budgets_text(protocols: Sequence[Protocol]) -> str:
    """The budgets as text: ``"1,000, 2,000, 4,000"``."""
    return ", ".join(f"{b:,}" for b in budgets(protocols))


def largest_tolerance(protocols: Sequence[Protocol]) -> float:
    """The widest budget tolerance any of ``protocols`` allows."""
    return max(p.config.tolerance for p in protocols)


def scaling_rows(protocols: Sequence[Protocol]) -> list[dict]:
    """:meth:`ResultSet.summary` rows of every budget protocol (:func:`by_budget`), each with
    its ``budget``."""
    return [
        {**row, "budget": p.config.budget}
        for p in by_budget(protocols)
        for row in p.results.summary()
    ]


def _rows_at(p: Protocol) -> dict[tuple[str, str], dict]:
    return p.results.summary_by_key()


def versus_rows(protocols: Sequence[Protocol], a: str, b: str) -> list[dict]:
    """``a`` against ``b`` on every task at every budget by the book's rule
    (:func:`richneuron.store.results.versus`): ``{"task", "budget", "interval", "outcome",
    "metric"}``."""
    out = []
    for p in by_budget(protocols):
        rows = _rows_at(p)
        for task in sorted({t for (_, t) in rows}, key=_task_order):
            if (a, task) in rows and (b, task) in rows:
                interval, result = versus(rows[(a, task)], rows[(b, task)])
                out.append(
                    {
                        "task": task,
                        "budget": p.config.budget,
                        "interval": interval,
                        "outcome": result,
                        "metric": rows[(a, task)]["metric"],
                    }
                )
    return out


def _task_order(task: str) -> int:
    return list(TASKS).index(task)


_SIGN = {1: "better", -1: "worse", 0: "≈"}


def versus_table(rows: Sequence[dict], a: str, b: str) -> Markdown:
    """:func:`versus_rows` as a table: a row per task, a column per budget, each cell ``a``'s
    standing against ``b`` beyond noise (**better**, *worse*, ≈ within noise) with the
    comparison's estimate (``b / a`` MSE ratio, or ``a − b`` accuracy points)."""
    budgets = sorted({r["budget"] for r in rows})
    return _task_grid(rows, "budget", budgets, _versus_cell)


def _versus_cell(r: dict) -> str:
    e = r["interval"].estimate
    size = (
        ""
        if not math.isfinite(e)
        else (f" {e:.3g}x" if r["metric"] == "mse" else f" {100 * e:+.1f}")
    )
    word = _SIGN[r["outcome"]]
    word = f"**{word}**" if r["outcome"] == 1 else (f"*{word}*" if r["outcome"] else word)
    return word + size


def _task_grid(rows: Sequence[dict], key: str, columns: Sequence, cell) -> Markdown:
    """A table of a row per task (in the book's order) and a column per value of ``key``
    (``columns``, in order): ``cell(row)`` where a row has the pair, else ``-``."""
    tasks = sorted({r["task"] for r in rows}, key=_task_order)
    at = {(r["task"], r[key]): r for r in rows}
    body = [
        [task, *(cell(at[(task, c)]) if (task, c) in at else "-" for c in columns)]
        for task in tasks
    ]
    names = [f"{c:,}" if isinstance(c, int) else str(c) for c in columns]
    return markdown_table(["task", *names], body)


def tally_versus(rows: Sequence[dict]) -> dict[int, tuple[int, int, int]]:
    """Per budget: (tasks better beyond noise, within noise, worse beyond noise)."""
    out: dict[int, list[int]] = {}
    for r in rows:
        t = out.setdefault(r["budget"], [0, 0, 0])
        t[{1: 0, 0: 1, -1: 2}[r["outcome"]]] += 1
    return {b: tuple(v) for b, v in sorted(out.items())}


def winners(protocols: Sequence[Protocol], key: str = "budget") -> list[dict]:
    """At every protocol and task, the panel's best architecture by mean, and whether it leads
    the runner-up beyond noise: ``{"task", "column", "best", "second", "clear"}``. ``key``
    ``"budget"``: the budget protocols (:func:`by_budget`), columns their budgets; ``"name"``:
    ``protocols`` as given, columns their names.

    Raises:
        ValueError: on another ``key``.
    """
    if key not in ("budget", "name"):
        raise ValueError(f"key: must be 'budget' or 'name', got {key!r}")
    chosen = by_budget(protocols) if key == "budget" else list(protocols)
    out = []
    for p in chosen:
        rows = _rows_at(p)
        for task in sorted({t for (_, t) in rows}, key=_task_order):
            here = [r for (a, t), r in rows.items() if t == task and math.isfinite(r["mean"])]
            metric = get_task(task).metric
            ranked = sorted(here, key=lambda r: r["mean"], reverse=higher_is_better(metric))
            if len(ranked) < 2:
                continue
            best, second = ranked[0], ranked[1]
            out.append(
                {
                    "task": task,
                    "column": p.config.budget if key == "budget" else p.name,
                    "best": best["arch"],
                    "second": second["arch"],
                    "clear": versus(best, second)[1] == 1,
                }
            )
    return out


def winner_table(rows: Sequence[dict]) -> Markdown:
    """:func:`winners` as a table: a row per task, a column per protocol, the best architecture
    (in bold when it leads the runner-up beyond noise, else with the runner-up)."""
    columns = list(dict.fromkeys(r["column"] for r in rows))
    return _task_grid(
        rows, "column", columns,
        lambda r: f"**{r['best']}**" if r["clear"] else f"{r['best']} ≈ {r['second']}",
    )


def overtakes(
    protocols: Sequence[Protocol], archs: Sequence[str] = ("v10", "v13", "v15"), baseline="singlu"
) -> list[dict]:
    """Every (architecture of ``archs``, task, budget) at which the architecture beats
    ``baseline`` beyond noise: ``{"arch", "task", "budget"}``, by budget."""
    out = [
        {"arch": a, "task": r["task"], "budget": r["budget"]}
        for a in archs
        for r in versus_rows(protocols, a, baseline)
        if r["outcome"] == 1
    ]
    return sorted(out, key=lambda r: (r["budget"], _task_order(r["task"]), r["arch"]))


def tally_text(tally: dict[int, tuple[int, int, int]], budget: int) -> str:
    """``"4 of 9 (worse beyond noise on 2)"`` for one budget of :func:`tally_versus`."""
    if budget not in tally:
        return "none (not trained)"
    better, within, worse = tally[budget]
    return f"{better} of {better + within + worse} (worse beyond noise on {worse})"


def overtakes_text(rows: Sequence[dict], budgets: Sequence[int]) -> str:
    """A paragraph on :func:`overtakes`: which adaptive variant beats SinGLU beyond noise, on
    which tasks, at which budgets, and whether that grows with the budget."""
    if not rows:
        return (
            f"No: at none of the {len(budgets)} budgets does v10, v13 or v15 beat SinGLU beyond "
            "noise on any task."
        )
    per_budget = {b: [r for r in rows if r["budget"] == b] for b in budgets}
    parts = [
        f"{b:,}: " + (", ".join(f"{r['arch']} on {r['task']}" for r in per_budget[b]) or "none")
        for b in budgets
    ]
    first, last = len(per_budget[budgets[0]]), len(per_budget[budgets[-1]])
    trend = "more" if last > first else ("fewer" if last < first else "as many")
    return (
        "The (variant, task) pairs where v10, v13 or v15 beats SinGLU beyond noise, by budget: "
        + "; ".join(parts)
        + f". At the largest budget there are {trend} such pairs ({last}) than at the smallest "
        f"({first})."
    )
