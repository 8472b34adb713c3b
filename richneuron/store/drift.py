"""Comparing a rebuilt results file with the committed one (the drift gate): which runs moved
beyond the tolerance of their metric, as a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .results import ResultSet, run_key

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_RTOL",
    "compare",
    "Drift",
    "format_drift",
]


#: Relative tolerance of :func:`compare`, keyed by metric (for ``test_metric``) or field.
#: MSE and training loss come from float32 arithmetic pinned to the bit, so 1e-6 only forgives
#: printing and summation-order noise. The final training loss keeps 1e-5 for results made
#: before cache version 5, when the final evaluation ran over the whole chunk and its last
#: elements went through ATen's scalar tail loop, so the last bits of the last member's
#: evaluation depended on the grouping (seen: 1.24e-6 relative, KAN on ood_shift). Since then
#: the evaluation appends a spare copy of the last member for the tail (``trainer._with_spare``).
DEFAULT_RTOL = {"mse": 1e-6, "accuracy": 0.0, "train_loss": 1e-5}


#: Absolute tolerance of :func:`compare`. Accuracies are multiples of ``1/n_test``: any real
#: change moves them by at least that, so only representation noise (1e-9) is forgiven.
DEFAULT_ATOL = {"mse": 0.0, "accuracy": 1e-9, "train_loss": 0.0}


_COMPARED = ("metric", "params", "widths", "diverged", "diverged_step", "test_metric", "train_loss")


@dataclass
class Drift:
    """One value that moved: ``field`` of run (arch, task, seed), or ``"missing"``/``"extra"``."""

    arch: str
    task: str
    seed: int
    field: str
    old: object
    new: object
    name: str = ""  # the result set (chapter) it belongs to


def _tolerance(tol: dict[str, float] | float, key: str) -> float:
    return tol if isinstance(tol, int | float) else tol.get(key, 0.0)


def _moved(old: object, new: object, rtol: float, atol: float) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        if math.isnan(old) or math.isnan(new):
            return not (math.isnan(old) and math.isnan(new))
        if math.isinf(old) or math.isinf(new):
            return old != new
        return abs(new - old) > atol + rtol * abs(old)
    return old != new


def compare(
    old: ResultSet,
    new: ResultSet,
    rtol: dict[str, float] | float = DEFAULT_RTOL,
    atol: dict[str, float] | float = DEFAULT_ATOL,
) -> list[Drift]:
    """Every compared field that moved beyond tolerance, and runs only one side has.

    A float moved if ``|new - old| > atol + rtol * |old|`` (NaN equals only NaN); ``test_metric``
    takes the tolerances of its metric (``"mse"``, ``"accuracy"``), ``train_loss`` those of
    ``"train_loss"``; other fields (params, widths, diverged, ...) must match exactly. A float
    ``rtol``/``atol`` applies to every float field. Runs of ``old`` absent from ``new`` give field
    ``"missing"``, runs only in ``new`` ``"extra"`` (with their test metric as the value).
    """
    olds, news = {run_key(r): r for r in old.runs}, {run_key(r): r for r in new.runs}
    drifts = []
    for key in sorted(olds.keys() | news.keys()):
        a, b = olds.get(key), news.get(key)
        if a is None or b is None:
            field = "missing" if b is None else "extra"
            x, y = (a.test_metric if a else None), (b.test_metric if b else None)
            drifts.append(Drift(*key, field, x, y, new.name))
            continue
        for field in _COMPARED:
            tol_key = a.metric if field == "test_metric" else field
            x, y = getattr(a, field), getattr(b, field)
            if _moved(x, y, _tolerance(rtol, tol_key), _tolerance(atol, tol_key)):
                drifts.append(Drift(*key, field, x, y, new.name))
    return drifts


def format_drift(drifts: Sequence[Drift]) -> str:
    """A plain-text table: chapter, arch, task, seed, field, committed value, new value."""
    if not drifts:
        return "no drift"
    header = ("chapter", "arch", "task", "seed", "field", "committed", "new")
    shown = [header] + [
        (
            d.name,
            d.arch,
            d.task,
            str(d.seed),
            d.field,
            "-" if d.old is None else repr(d.old),
            "-" if d.new is None else repr(d.new),
        )
        for d in drifts
    ]
    widths = [max(len(row[i]) for row in shown) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in shown
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
