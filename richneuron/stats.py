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
(0 for a difference, 1 for a ratio); otherwise it is *within noise*. :func:`compare` applies it to
two architectures' test metrics (a ratio of means for MSE, a difference for accuracy, oriented so
that above the null favours the first) and :func:`outcome` reads the result as +1, -1 or 0;
:func:`settle` turns a claim's best and worst case under the unresolved comparisons into a
verdict ("not established" when noise decides it).

With five seeds the percentile bootstrap is somewhat narrow (it ignores the small-sample t
correction: nominal 95%, nearer 85-90% in coverage for normal data); the book states this and
shows the second opinion of a disjoint set of seeds (:func:`agreement`) beside every verdict.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "SEED",
    "Interval",
    "agreement",
    "band",
    "beyond_noise",
    "compare",
    "difference_interval",
    "mean_interval",
    "outcome",
    "ratio_interval",
    "settle",
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
    return _mean_interval(tuple(float(v) for v in values))


@functools.lru_cache(maxsize=65536)
def _mean_interval(values: tuple[float, ...]) -> Interval:
    a = _sample("values", values)
    return _bootstrap(
        (a,), lambda x, axis: np.mean(x, axis=axis), float(np.mean(a)), null=math.nan
    )


def difference_interval(a: Sequence[float], b: Sequence[float]) -> Interval:
    """mean(a) − mean(b) with its bootstrap interval (independent resampling of each side).

    Raises:
        ValueError: naming ``a`` or ``b``: fewer than 2 values or a non-finite one.
    """
    return _difference_interval(tuple(map(float, a)), tuple(map(float, b)))


@functools.lru_cache(maxsize=65536)
def _difference_interval(a: tuple[float, ...], b: tuple[float, ...]) -> Interval:
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
    return _ratio_interval(tuple(map(float, a)), tuple(map(float, b)))


@functools.lru_cache(maxsize=65536)
def _ratio_interval(a: tuple[float, ...], b: tuple[float, ...]) -> Interval:
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


#: An interval that cannot be computed (fewer than two usable seeds on a side).
UNKNOWN = Interval(math.nan, math.nan, math.nan)


def compare(a: Sequence[float], b: Sequence[float], metric: str) -> Interval:
    """How much better sample ``a`` is than ``b`` (one test metric per seed), with its interval.

    * ``metric == "mse"`` (lower is better): the ratio mean(b) / mean(a), on the log scale
      (``null`` 1; above 1: ``a`` lower);
    * ``metric == "accuracy"`` (higher is better): the difference mean(a) − mean(b) (``null``
      0; above 0: ``a`` higher).

    Non-finite values (diverged seeds) are left out; with fewer than two seeds left on a side
    (or a non-positive MSE) the interval is unknown (NaN): nothing is beyond noise.

    Raises:
        ValueError: naming ``metric`` if it is neither ``"mse"`` nor ``"accuracy"``.
    """
    if metric not in ("mse", "accuracy"):
        raise ValueError(f"metric: must be 'mse' or 'accuracy', got {metric!r}")
    x = [float(v) for v in a if math.isfinite(v)]
    y = [float(v) for v in b if math.isfinite(v)]
    if len(x) < 2 or len(y) < 2:
        return Interval(math.nan, math.nan, math.nan, 1.0 if metric == "mse" else 0.0)
    if metric == "accuracy":
        return difference_interval(x, y)
    if min(x) <= 0 or min(y) <= 0:
        return Interval(math.nan, math.nan, math.nan, 1.0)
    return ratio_interval(y, x)


def outcome(interval: Interval) -> int:
    """+1 if the interval lies above its null (the first side better, beyond noise), -1 if
    below, 0 within noise (or unknown)."""
    if not beyond_noise(interval):
        return 0
    return 1 if interval.low > interval.null else -1


def settle(holds_at_best: bool, holds_at_worst: bool) -> str:
    """A finding's verdict from its two extreme readings: every within-noise comparison
    resolved in the finding's favour (``holds_at_best``) and against it (``holds_at_worst``).

    ``"holds"`` when it holds even at worst, ``"fails"`` when it fails even at best, and
    ``"not established"`` when noise decides it.
    """
    if holds_at_worst:
        return "holds"
    return "not established" if holds_at_best else "fails"


def agreement(first: str, second: str) -> str:
    """The stability column: ``"agrees"`` when a verdict recomputed on a disjoint set of seeds
    is the same, ``"flips"`` otherwise."""
    return "agrees" if first == second else "flips"


def band(series: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds of curves (one row per seed) with the 95% bootstrap interval of the mean
    at every point (seeds resampled together, seeded): ``(mean, low, high)``.

    Non-finite values are left out of a point's mean; a point with fewer than two finite seeds
    has its interval equal to its mean (NaN where every seed is non-finite).
    """
    values = np.array(series, dtype=float)
    if values.ndim != 2 or values.shape[0] < 1:
        raise ValueError(f"series: must be one curve per seed, got shape {values.shape}")
    values[~np.isfinite(values)] = np.nan
    import warnings

    from scipy.stats import bootstrap

    with warnings.catch_warnings():  # a point where every seed diverged stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
    low, high = mean.copy(), mean.copy()
    finite = np.sum(np.isfinite(values), axis=0)
    whole = finite == values.shape[0]
    spread = np.ptp(np.where(np.isfinite(values), values, 0.0), axis=0) > 0
    full = whole & spread & (values.shape[0] > 1)
    if full.any():  # every seed finite: one vectorised bootstrap over these points
        ci = bootstrap(
            (values[:, full],),
            lambda x, axis: np.mean(x, axis=axis),
            n_resamples=RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            vectorized=True,
            axis=0,
            rng=np.random.default_rng(SEED),
        ).confidence_interval
        low[full], high[full] = ci.low, ci.high
    for j in np.flatnonzero(~whole & (finite > 1)):  # some seeds diverged: the others' interval
        ci1 = mean_interval(values[np.isfinite(values[:, j]), j])
        low[j], high[j] = ci1.low, ci1.high
    few = np.sum(np.isfinite(values), axis=0) < 2
    low[few], high[few] = mean[few], mean[few]
    return mean, low, high
