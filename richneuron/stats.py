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
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONFIDENCE",
    "COVERAGE_FLOOR",
    "COVERAGE_TRIALS",
    "EXACT_SPLITS",
    "FALSE_DISCOVERY_RATE",
    "MIN_BOOTSTRAP",
    "POWER",
    "RESAMPLES",
    "SEED",
    "Interval",
    "agreement",
    "band",
    "beyond_noise",
    "compare",
    "detectable",
    "difference_interval",
    "discoveries",
    "geometric_mean",
    "log_mean_interval",
    "mean_interval",
    "outcome",
    "percentile_interval",
    "permutation_p",
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
    estimate: float, se: float, star: np.ndarray, star_se: np.ndarray, null: float, df: float
) -> Interval:
    """The studentised interval from the resamples' estimates ``star`` and standard errors
    ``star_se``. A resample with no spread has an infinite t (or none, where its estimate is
    the sample's); where more than the interval's tail share of them have none, ties in the
    data leave the bootstrap t undefined (accuracies at a ceiling), and the interval takes
    Student's t quantiles with ``df`` degrees of freedom instead."""
    flat = star_se == 0
    if np.count_nonzero(flat) > (1 - CONFIDENCE) / 2 * star.size:
        return _student(estimate, se, df, null)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (star - estimate) / star_se
    t = t[~(flat & (star == estimate))]  # 0/0: no t
    low_q, high_q = np.quantile(t, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return Interval(estimate, float(estimate - high_q * se), float(estimate - low_q * se), null)


def _draws(x: np.ndarray, salt: bytes = b"") -> np.ndarray:
    """:data:`RESAMPLES` resamples of ``x`` with replacement, one per row, drawn from a
    generator seeded by :data:`SEED` and ``x``'s own bytes (and ``salt``): a sample is
    resampled the same way whatever it is set against, so swapping the sides of a comparison
    mirrors its interval."""
    data = np.ascontiguousarray(x, dtype=np.float64).tobytes() + salt
    digest = hashlib.sha256(data).digest()
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
    return _t_interval(estimate, se, star, np.sqrt(star_var), null, x.size - 1)


def _studentised_difference(x: np.ndarray, y: np.ndarray) -> Interval:
    estimate = float(np.mean(x) - np.mean(y))
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return Interval(estimate, estimate, estimate, 0.0)
    vx, vy = float(np.var(x, ddof=1)) / x.size, float(np.var(y, ddof=1)) / y.size
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))  # Welch-Satterthwaite
    if min(x.size, y.size) < MIN_BOOTSTRAP:
        return _student(estimate, se, df, 0.0)
    same = np.array_equal(x, y)  # two equal samples must not be resampled alike
    (mx, sx), (my, sy) = _mean_se(_draws(x)), _mean_se(_draws(y, b"second" if same else b""))
    return _t_interval(estimate, se, mx - my, np.sqrt(sx + sy), 0.0, df)


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


#: The least coverage the tests accept of a nominal 95% interval at five and ten seeds.
COVERAGE_FLOOR = 0.92


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


# ---------------------------------------------------------------------------------------------
# Multiplicity (issue 33): p-values over seeds, families, detectable effects.

#: The false discovery rate each family of comparisons is held to (Benjamini-Hochberg).
FALSE_DISCOVERY_RATE = 0.05


#: The statistical power at which :func:`detectable` reads the smallest effect.
POWER = 0.8


#: Above this many splits of the pooled seeds, :func:`permutation_p` draws :data:`RESAMPLES`
#: of them (seeded) instead of enumerating every one (ten seeds a side give 184,756).
EXACT_SPLITS = 200_000


def _scale(values: Sequence[float], metric: str, name: str) -> np.ndarray:
    """``values`` on the scale they are compared on: the logarithm of an MSE, an accuracy as is."""
    array = _sample(name, values, positive=metric == "mse")
    return np.log(array) if metric == "mse" else array


@functools.lru_cache(maxsize=8)
def _splits(n: int, m: int) -> np.ndarray:
    """Every way of taking ``n`` of ``n + m`` pooled values as the first sample: one row of
    indices per split (``C(n + m, n)`` rows of ``n`` small integers, 1.8 MB at ten seeds a
    side, so the cache stays small)."""
    count = math.comb(n + m, n)
    chosen = np.fromiter(
        itertools.chain.from_iterable(itertools.combinations(range(n + m), n)),
        dtype=np.int8 if n + m <= np.iinfo(np.int8).max else np.intp,
        count=count * n,
    ).reshape(count, n)
    chosen.setflags(write=False)
    return chosen


def permutation_p(a: Sequence[float], b: Sequence[float], metric: str) -> float:
    """The two-sided permutation p-value of mean(a) − mean(b) (of log MSEs for ``"mse"``) over
    every split of the pooled seeds into two samples of their sizes: the seeds of two
    architectures are independent initialisations, so under no difference any split is as
    likely. Two-sided as ``scipy.stats.permutation_test`` reads it (twice the smaller tail);
    exact up to :data:`EXACT_SPLITS` splits, a seeded draw of :data:`RESAMPLES` beyond (the
    same draw whichever side comes first, so the value is symmetric in ``a`` and ``b``).

    Raises:
        ValueError: naming ``metric``, ``a`` or ``b``: an unknown metric, fewer than 2 values,
            a non-finite one, or a non-positive MSE.
    """
    if metric not in ("mse", "accuracy"):
        raise ValueError(f"metric: must be 'mse' or 'accuracy', got {metric!r}")
    x, y = tuple(map(float, a)), tuple(map(float, b))
    if (len(y), y) < (len(x), x):  # one order of the two sides, so a drawn p is symmetric too
        x, y = y, x
    return _permutation_p(x, y, metric)


@functools.lru_cache(maxsize=65536)
def _permutation_p(a: tuple[float, ...], b: tuple[float, ...], metric: str) -> float:
    x, y = _scale(a, metric, "a"), _scale(b, metric, "b")
    pooled = np.concatenate([x, y])
    n, m = x.size, y.size
    if math.comb(n + m, n) <= EXACT_SPLITS:
        first = pooled[_splits(n, m)].sum(axis=1)
    else:
        rng = np.random.default_rng(SEED)
        picks = np.argsort(rng.random((RESAMPLES, n + m)), axis=1)[:, :n]
        first = pooled[picks].sum(axis=1)
    null = first / n - (pooled.sum() - first) / m
    observed = float(np.mean(x) - np.mean(y))
    slack = 1e-12 * max(1.0, abs(observed))  # sums in another order: the same split
    greater = np.count_nonzero(null >= observed - slack)
    less = np.count_nonzero(null <= observed + slack)
    if math.comb(n + m, n) > EXACT_SPLITS:  # a draw: count the observed split itself
        return min(1.0, 2 * (min(greater, less) + 1) / (null.size + 1))
    return min(1.0, 2 * min(greater, less) / null.size)


def detectable(a: Sequence[float], b: Sequence[float], metric: str) -> float:
    """The smallest difference the seeds at hand would detect with :data:`POWER` power at 95%
    confidence, by Welch's t approximation on the compared scale: a factor of MSE (at least 1)
    or a difference of accuracy (a fraction). NaN with fewer than two values a side.

    Raises:
        ValueError: naming ``metric`` if it is neither ``"mse"`` nor ``"accuracy"``.
    """
    from scipy.stats import t

    if metric not in ("mse", "accuracy"):
        raise ValueError(f"metric: must be 'mse' or 'accuracy', got {metric!r}")
    x = [float(v) for v in a if math.isfinite(v) and (metric != "mse" or v > 0)]
    y = [float(v) for v in b if math.isfinite(v) and (metric != "mse" or v > 0)]
    if len(x) < 2 or len(y) < 2:
        return math.nan
    x, y = _scale(x, metric, "a"), _scale(y, metric, "b")
    vx, vy = float(np.var(x, ddof=1)) / x.size, float(np.var(y, ddof=1)) / y.size
    if vx + vy == 0:
        return 1.0 if metric == "mse" else 0.0
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    effect = (t.ppf((1 + CONFIDENCE) / 2, df) + t.ppf(POWER, df)) * math.sqrt(vx + vy)
    return math.exp(effect) if metric == "mse" else effect


def discoveries(pvalues: Sequence[float]) -> list[bool]:
    """Which of a family's p-values are discoveries at :data:`FALSE_DISCOVERY_RATE` by the
    Benjamini-Hochberg procedure (``scipy.stats.false_discovery_control``: a discovery's
    adjusted p-value is at most the rate); a NaN p-value (a comparison that could not be made)
    is none, and does not count in the family."""
    from scipy.stats import false_discovery_control

    values = [float(p) for p in pvalues]
    known = [i for i, p in enumerate(values) if math.isfinite(p)]
    out = [False] * len(values)
    if known:
        adjusted = false_discovery_control([values[i] for i in known], method="bh")
        for i, q in zip(known, np.atleast_1d(adjusted)):
            out[i] = bool(q <= FALSE_DISCOVERY_RATE)
    return out


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
