"""Intervals over seeds and the one beyond-noise rule (issue 14's foundation; issue 33's
coverage).

Every interval is a 95% *studentised* bootstrap confidence interval over seeds (the bootstrap-t
of Efron and Tibshirani, 1993, ch. 12): each resample's estimate is divided by its own standard
error, so the interval widens by how uncertain the spread itself is at a handful of seeds, which
the percentile method ignores (its 95% covers about 85-90% at five seeds; the tests measure
both by simulation). The resampling is seeded, so a book built twice prints the same interval.
Resamples whose standard error is 0 (every value drawn the same) carry no t and are left out;
below :data:`MIN_BOOTSTRAP` seeds a side the interval takes Student's t quantiles instead.

* :func:`mean_interval`: the mean of one sample of seeds.
* :func:`log_mean_interval`: the geometric mean of positive values (an MSE), the mean of their
  logarithms exponentiated.
* :func:`difference_interval`: mean(a) − mean(b) for two independent samples (their seeds are
  resampled independently; the standard error is Welch's).
* :func:`ratio_interval`: geometric mean(a) / geometric mean(b), the difference of the mean
  logarithms exponentiated (MSEs span orders of magnitude, so they are compared on the log
  scale, where a factor is symmetric in which side is the numerator).

The rule (:func:`beyond_noise`): a difference counts only if its interval excludes the null value
(0 for a difference, 1 for a ratio); otherwise it is *within noise*. :func:`compare` applies it to
two architectures' test metrics (a ratio of geometric means for MSE, a difference for accuracy,
oriented so that above the null favours the first) and :func:`outcome` reads the result as +1,
-1 or 0; :func:`settle` turns a claim's best and worst case under the unresolved comparisons
into a verdict ("not established" when noise decides it).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONFIDENCE",
    "COVERAGE_TRIALS",
    "MIN_BOOTSTRAP",
    "RESAMPLES",
    "SEED",
    "Interval",
    "agreement",
    "band",
    "beyond_noise",
    "compare",
    "difference_interval",
    "geometric_mean",
    "log_mean_interval",
    "mean_interval",
    "outcome",
    "percentile_interval",
    "ratio_interval",
    "settle",
    "simulated_coverage",
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


def _t_interval(
    estimate: float, se: float, star: np.ndarray, star_se: np.ndarray, null: float
) -> Interval:
    """The studentised interval from the resamples' estimates ``star`` and standard errors
    ``star_se`` (resamples with no spread left out)."""
    keep = star_se > 0
    t = (star[keep] - estimate) / star_se[keep]
    low_q, high_q = np.quantile(t, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return Interval(estimate, float(estimate - high_q * se), float(estimate - low_q * se), null)


def _draws(x: np.ndarray) -> np.ndarray:
    """:data:`RESAMPLES` resamples of ``x`` with replacement, one per row, drawn from a
    generator seeded by :data:`SEED` and ``x``'s own bytes: a sample is resampled the same way
    whatever it is set against, so swapping the sides of a comparison mirrors its interval."""
    digest = hashlib.sha256(np.ascontiguousarray(x, dtype=np.float64).tobytes()).digest()
    rng = np.random.default_rng([SEED, *np.frombuffer(digest, dtype=np.uint32).tolist()])
    return x[rng.integers(0, x.size, size=(RESAMPLES, x.size))]


def _mean_se(x: np.ndarray) -> tuple:
    """The mean over the last axis and the variance of that mean (``ddof=1``)."""
    return np.mean(x, axis=-1), np.var(x, axis=-1, ddof=1) / x.shape[-1]


#: Below this many seeds a side, too few distinct resamples exist for a bootstrap t
#: distribution (at two seeds every resample's t is 0 or undefined), and the interval takes
#: Student's t quantiles instead (Welch's degrees of freedom for two samples): the
#: distribution the studentised bootstrap estimates, for normal data.
MIN_BOOTSTRAP = 4


def _student(estimate: float, se: float, df: float, null: float) -> Interval:
    from scipy.stats import t

    q = float(t.ppf((1 + CONFIDENCE) / 2, df))
    return Interval(estimate, estimate - q * se, estimate + q * se, null)


def _studentised_mean(x: np.ndarray, null: float) -> Interval:
    estimate = float(np.mean(x))
    if np.ptp(x) == 0:  # no spread: every resample gives the estimate
        return Interval(estimate, estimate, estimate, null)
    se = math.sqrt(float(np.var(x, ddof=1)) / x.size)
    if x.size < MIN_BOOTSTRAP:
        return _student(estimate, se, x.size - 1, null)
    star, star_var = _mean_se(_draws(x))
    return _t_interval(estimate, se, star, np.sqrt(star_var), null)


def _studentised_difference(x: np.ndarray, y: np.ndarray) -> Interval:
    estimate = float(np.mean(x) - np.mean(y))
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return Interval(estimate, estimate, estimate, 0.0)
    vx, vy = float(np.var(x, ddof=1)) / x.size, float(np.var(y, ddof=1)) / y.size
    se = math.sqrt(vx + vy)
    if min(x.size, y.size) < MIN_BOOTSTRAP:  # Welch-Satterthwaite degrees of freedom
        df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
        return _student(estimate, se, df, 0.0)
    (mx, sx), (my, sy) = _mean_se(_draws(x)), _mean_se(_draws(y))
    return _t_interval(estimate, se, mx - my, np.sqrt(sx + sy), 0.0)


def mean_interval(values: Sequence[float]) -> Interval:
    """The mean of ``values`` (one per seed) with its studentised bootstrap interval.

    Raises:
        ValueError: on fewer than 2 values or a non-finite one.
    """
    return _mean_interval(tuple(float(v) for v in values))


@functools.lru_cache(maxsize=65536)
def _mean_interval(values: tuple[float, ...]) -> Interval:
    return _studentised_mean(_sample("values", values), math.nan)


def log_mean_interval(values: Sequence[float]) -> Interval:
    """The geometric mean of ``values`` (positive, one per seed) with its interval: the mean of
    their logarithms with its studentised bootstrap interval, exponentiated.

    Raises:
        ValueError: on fewer than 2 values, a non-finite or a non-positive one.
    """
    return _log_mean_interval(tuple(float(v) for v in values))


@functools.lru_cache(maxsize=65536)
def _log_mean_interval(values: tuple[float, ...]) -> Interval:
    log = _studentised_mean(np.log(_sample("values", values, positive=True)), math.nan)
    return Interval(math.exp(log.estimate), math.exp(log.low), math.exp(log.high), math.nan)


def geometric_mean(values: Sequence[float]) -> float:
    """The geometric mean of positive ``values`` (NaN if one is not positive or finite)."""
    array = np.asarray(list(values), dtype=float)
    if array.size == 0 or not np.all(np.isfinite(array) & (array > 0)):
        return math.nan
    return float(np.exp(np.mean(np.log(array))))


def difference_interval(a: Sequence[float], b: Sequence[float]) -> Interval:
    """mean(a) − mean(b) with its studentised bootstrap interval (independent resampling of
    each side, Welch's standard error).

    Raises:
        ValueError: naming ``a`` or ``b``: fewer than 2 values or a non-finite one.
    """
    return _difference_interval(tuple(map(float, a)), tuple(map(float, b)))


@functools.lru_cache(maxsize=65536)
def _difference_interval(a: tuple[float, ...], b: tuple[float, ...]) -> Interval:
    return _studentised_difference(_sample("a", a), _sample("b", b))


def ratio_interval(a: Sequence[float], b: Sequence[float]) -> Interval:
    """geometric mean(a) / geometric mean(b) with its interval: mean(log a) − mean(log b) by
    :func:`difference_interval`, exponentiated (``null`` is 1).

    Raises:
        ValueError: naming ``a`` or ``b``: fewer than 2 values, a non-finite or a non-positive
            one.
    """
    return _ratio_interval(tuple(map(float, a)), tuple(map(float, b)))


@functools.lru_cache(maxsize=65536)
def _ratio_interval(a: tuple[float, ...], b: tuple[float, ...]) -> Interval:
    x, y = _sample("a", a, positive=True), _sample("b", b, positive=True)
    log = _studentised_difference(np.log(x), np.log(y))
    return Interval(math.exp(log.estimate), math.exp(log.low), math.exp(log.high), null=1.0)


def percentile_interval(values: Sequence[float]) -> Interval:
    """The mean of ``values`` with the percentile bootstrap interval the book used before its
    studentised one (``scipy.stats.bootstrap``), kept to measure what the change bought
    (:func:`simulated_coverage`).

    Raises:
        ValueError: on fewer than 2 values or a non-finite one.
    """
    from scipy.stats import bootstrap

    x = _sample("values", values)
    ci = bootstrap(
        (x,), np.mean, n_resamples=RESAMPLES, confidence_level=CONFIDENCE, method="percentile",
        rng=np.random.default_rng(SEED),
    ).confidence_interval
    return Interval(float(np.mean(x)), float(ci.low), float(ci.high), math.nan)


#: Simulated samples behind each coverage :func:`simulated_coverage` reports (a standard error
#: of about 1% at 95%).
COVERAGE_TRIALS = 400


def simulated_coverage(n: int, trials: int = COVERAGE_TRIALS) -> dict[str, float]:
    """How often the 95% interval of a mean holds the true mean, over ``trials`` samples of
    ``n`` seeds drawn from a normal distribution (seeded): ``{"studentised": share,
    "percentile": share}``, for :func:`mean_interval` and :func:`percentile_interval`.

    Raises:
        ValueError: naming ``n`` (below 2) or ``trials`` (below 1).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n: must be an integer >= 2, got {n!r}")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials: must be an integer >= 1, got {trials!r}")
    rng = np.random.default_rng(SEED)
    hits = {"studentised": 0, "percentile": 0}
    for _ in range(trials):
        sample = rng.normal(0.0, 1.0, n)
        for name, interval in (("studentised", mean_interval), ("percentile", percentile_interval)):
            ci = interval(sample)
            hits[name] += ci.low < 0.0 < ci.high
    return {name: count / trials for name, count in hits.items()}


def beyond_noise(interval: Interval) -> bool:
    """The book's one rule: a difference (or ratio) counts only if its interval excludes the
    null value (0, or 1 for a ratio); otherwise it is within noise."""
    return interval.excludes_null()


#: An interval that cannot be computed (fewer than two usable seeds on a side).
UNKNOWN = Interval(math.nan, math.nan, math.nan)


def compare(a: Sequence[float], b: Sequence[float], metric: str) -> Interval:
    """How much better sample ``a`` is than ``b`` (one test metric per seed), with its interval.

    * ``metric == "mse"`` (lower is better): the ratio of geometric means b / a, on the log
      scale (``null`` 1; above 1: ``a`` lower);
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
