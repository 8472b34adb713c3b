"""The one number formatter: how the book, PAPER.md, the tables and the command line print a
metric, an interval, a ratio and a comparison.

Two styles, each for its place: prose and verdicts print MSE to three significant digits and
accuracy in percent to one decimal (:func:`format_metric`); table cells print three significant
figures, short (:func:`compact`). A ratio is ``3.2x`` or ``1,234x`` (:func:`format_ratio`); a
comparison of two architectures is a ratio of MSEs or a difference of accuracies in points,
with its 95% interval (:func:`format_comparison`). Pure functions of numbers: no torch, no files.
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = [
    "compact",
    "format_advantage",
    "format_comparison",
    "format_interval",
    "format_metric",
    "format_percent",
    "format_ratio",
]


class _Interval(Protocol):
    """An estimate and its interval (:class:`richneuron.stats.Interval`)."""

    estimate: float
    low: float
    high: float


def format_metric(value: float, metric: str) -> str:
    """``value`` as the book prints it: MSE to 3 significant digits, accuracy in percent."""
    if not math.isfinite(value):
        return str(value)
    return format_percent(value) if metric == "accuracy" else f"{value:.3g}"


def format_percent(value: float) -> str:
    """A fraction in percent to one decimal: ``0.4123`` -> ``41.2%``."""
    return f"{100 * value:.1f}%"


def format_interval(low: float, high: float, metric: str) -> str:
    """A 95% interval as the book prints it: ``[low, high]`` in the metric's format."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "[no interval]"
    return f"[{format_metric(low, metric)}, {format_metric(high, metric)}]"


def format_ratio(value: float) -> str:
    """A ratio as the book prints it: ``3.2x``, ``1,234x``."""
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def format_comparison(interval: _Interval, metric: str) -> str:
    """:func:`richneuron.stats.compare`'s interval as the book prints it: for MSE the ratio
    ``3.2x [1.1x, 9.8x]``, for accuracy the difference in points ``+4.1 [+1.0, +7.2] points``;
    ``no interval`` when it is unknown."""
    if not math.isfinite(interval.estimate):
        return "no interval"
    if metric == "mse":
        e, lo, hi = (format_ratio(v) for v in (interval.estimate, interval.low, interval.high))
        return f"{e} [{lo}, {hi}]"
    e, lo, hi = (100 * v for v in (interval.estimate, interval.low, interval.high))
    return f"{e:+.1f} [{lo:+.1f}, {hi:+.1f}] points"


def format_advantage(interval: _Interval, metric: str, a: str = "", b: str = "") -> str:
    """:func:`format_comparison` with what is compared: for MSE the ratio ``b / a MSE 3.2x
    [1.1x, 9.8x]``, for accuracy the difference in points ``a − b +4.1 [+1.0, +7.2] points``;
    ``no interval`` with fewer than two seeds a side."""
    if not math.isfinite(interval.estimate):
        return "no interval (fewer than two seeds a side)"
    if metric == "mse":
        name = f"{b} / {a} MSE " if a and b else "MSE ratio "
    else:
        name = f"{a} − {b} " if a and b else ""
    return name + format_comparison(interval, metric)


def format_detectable(effect: float, metric: str) -> str:
    """:func:`richneuron.stats.detectable` as the book prints it: ``a factor of 2.3`` (MSE) or
    ``4.1 points`` (accuracy); ``unknown`` where it is NaN."""
    if not math.isfinite(effect):
        return "unknown"
    if metric == "mse":
        return f"a factor of {format_ratio(effect).rstrip('x')}"
    return f"{100 * effect:.1f} points"


def format_p(p: float, bare: bool = False) -> str:
    """A p-value, ``p = 0.031`` or ``p < 0.0001`` (``bare``: ``0.031``, ``< 0.0001``, for a
    table's column); ``no p-value`` where it is NaN."""
    if not math.isfinite(p):
        return "no p-value"
    text = "< 0.0001" if p < 1e-4 else f"{p:.2g}"
    return text if bare else f"p {text}" if p < 1e-4 else f"p = {text}"


def compact(value: float, metric: str = "mse") -> str:
    """``value`` to three significant figures, short, for a table cell: accuracy in percent,
    MSE as ``5.41e-4``.

    Numbers from 0.01 to 1000 are written out (``0.0312``, ``41.7``); smaller and larger ones
    get a mantissa and a power of ten without padding (``5.41e-4``, ``2.2e+5`` stays ``2.2e5``).
    Non-finite values are written as Python writes them (``nan``, ``inf``).
    """
    if not math.isfinite(value):
        return str(value)
    if metric == "accuracy":
        return f"{100 * value:.3g}%"
    if value == 0 or 1e-2 <= abs(value) < 1e3:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exponent)}"
