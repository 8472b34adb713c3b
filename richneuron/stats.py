"""Intervals over seeds and the one beyond-noise rule (issue 14's foundation).

Every interval is a 95% bootstrap confidence interval over seeds computed by
``scipy.stats.bootstrap`` (percentile method: with a handful of seeds the BCa correction's jackknife
is degenerate), with the resampling seeded so that a book built twice prints the same interval.

* :func:`mean_interval`: the mean of one sample of seeds.
* :func:`difference_interval`: mean(a) − mean(b) for two independent samples (their seeds are
  resampled independently).
* :func:`ratio_interval`: mean(a) / mean(b), resampled on the log scale and returned as a ratio
  (ratios of MSEs span orders of magnitude; a log-scale interval is symmetric in which side is
  the numerator).

The rule (:func:`beyond_noise`): a difference counts only if its interval excludes the null value
(0 for a difference, 1 for a ratio); otherwise it is *within noise*.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "SEED",
    "Interval",
    "beyond_noise",
    "difference_interval",
    "mean_interval",
    "ratio_interval",
]

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Bootstrap resamples of every interval.
RESAMPLES = 9999
#: Seed of the resampling (a fixed seed: the book is deterministic).
SEED = 20261204


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval: ``low <= estimate <= high`` (or NaN throughout
    when it cannot be computed) and the value a "no effect" reading would take (``null``)."""

    estimate: float
    low: float
    high: float
    null: float = 0.0

    def excludes_null(self) -> bool:
        """Whether the interval lies wholly on one side of ``null`` (NaN: no)."""
        return bool(self.low > self.null or self.high < self.null)


def _sample(name: str, values: Sequence[float], positive: bool = False) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    if array.ndim != 1 or array.size < 2:
        raise ValueError(f"{name}: needs at least 2 values (one per seed), got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: every value must be finite, got {array.tolist()}")
    if positive and not np.all(array > 0):
        raise ValueError(f"{name}: every value must be > 0 for a ratio, got {array.tolist()}")
    return array


def _bootstrap(samples: tuple[np.ndarray, ...], statistic, estimate: float, null: float):
    from scipy.stats import bootstrap

    if all(np.ptp(s) == 0 for s in samples):  # no spread: every resample gives the estimate
        return Interval(estimate, estimate, estimate, null)
    result = bootstrap(
        samples,
        statistic,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(SEED),
    )
    ci = result.confidence_interval
    return Interval(estimate, float(ci.low), float(ci.high), null)


def mean_interval(values: Sequence[float]) -> Interval:
    """The mean of ``values`` (one per seed) with its bootstrap interval.

    Raises:
        ValueError: on fewer than 2 values or a non-finite one.
    """
    a = _sample("values", values)
    return _bootstrap(
        (a,), lambda x, axis: np.mean(x, axis=axis), float(np.mean(a)), null=math.nan
    )


def difference_interval(a: Sequence[float], b: Sequence[float]) -> Interval:
    """mean(a) − mean(b) with its bootstrap interval (independent resampling of each side).

    Raises:
        ValueError: naming ``a`` or ``b``: fewer than 2 values or a non-finite one.
    """
    x, y = _sample("a", a), _sample("b", b)
    return _bootstrap(
        (x, y),
        lambda p, q, axis: np.mean(p, axis=axis) - np.mean(q, axis=axis),
        float(np.mean(x) - np.mean(y)),
        null=0.0,
    )


def ratio_interval(a: Sequence[float], b: Sequence[float]) -> Interval:
    """mean(a) / mean(b) with its bootstrap interval, resampled as log(mean(a)) − log(mean(b))
    and returned as a ratio (``null`` is 1).

    Raises:
        ValueError: naming ``a`` or ``b``: fewer than 2 values, a non-finite or a non-positive
            one.
    """
    x, y = _sample("a", a, positive=True), _sample("b", b, positive=True)
    log = _bootstrap(
        (x, y),
        lambda p, q, axis: np.log(np.mean(p, axis=axis)) - np.log(np.mean(q, axis=axis)),
        float(np.log(np.mean(x)) - np.log(np.mean(y))),
        null=0.0,
    )
    return Interval(math.exp(log.estimate), math.exp(log.low), math.exp(log.high), null=1.0)


def beyond_noise(interval: Interval) -> bool:
    """The book's one rule: a difference (or ratio) counts only if its interval excludes the
    null value (0, or 1 for a ratio); otherwise it is within noise."""
    return interval.excludes_null()
