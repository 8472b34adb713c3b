"""Memorisation capacity in bits (chapter "Capacity in bits").

The study asked whether a richer neuron "stores more information per parameter" and answered with
an MSE ratio. This module counts stored information the way the field does (Collins,
Sohl-Dickstein and Sussillo 2017): train on random data that carries no structure to exploit, and
bound from below the bits the trained network reproduces.

* **Regression** on N points with independent targets ``y_j`` of variance ``σ_j²``: a network
  whose error on output j is ``MSE_j`` reproduces at least
  ``N · Σ_j min(24, max(0, ½·log2(σ_j² / MSE_j)))`` bits (:func:`regression_bits`). ``½·log2
  (σ²/D)`` is the Gaussian rate-distortion bound: the fewest bits per value that reach distortion
  ``D``. Each value is capped at the 24 significant bits of a float32 (:data:`FLOAT32_BITS`), the
  most a float32 output can carry about a value of the target's scale. ``σ_j²`` is the variance of
  output j's targets over the N points (:func:`target_variance`): predicting their mean stores 0
  bits.
* **Classification** of N points with uniformly random labels of K classes:
  ``N · max(0, log2 K − CE / ln 2)`` bits from the cross-entropy ``CE`` (nats per point) on the
  memorised points (:func:`classification_bits`), and for K = 2 the error-rate form
  ``N · (1 − H2(p))`` of Collins et al. (:func:`error_rate_bits`).

A network's **capacity** is the most bits it stores over the point counts tried, with the
learning rate that stores most (:func:`capacity`); **bits per parameter** divides it by the
trainable parameters. An MSE ratio ``r`` between two networks on the same targets is worth
``½·log2(r)`` bits per target value (:func:`mse_ratio_bits`), however large ``r`` is.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Iterable, Sequence

import numpy as np

from .. import stats
from ..formatting import format_comparison
from ..stats import mean_interval
from ..store.results import ResultSet
from ..store.schema import RunResult
from ..tables import Markdown, markdown_table
from ..tasks import get_task

__all__ = [
    "ANCHORS",
    "FLOAT32_BITS",
    "MEASURES",
    "anchors_table",
    "best_lrs",
    "capacity",
    "capacity_points",
    "capacity_table",
    "classification_bits",
    "classes_of",
    "compute_used",
    "error_rate_bits",
    "lead",
    "lead_text",
    "lr_table",
    "mse_ratio_bits",
    "regression_bits",
    "run_bits",
    "scaling",
    "scaling_table",
    "steps_peaks",
    "steps_peaks_table",
    "steps_table",
    "target_variance",
]

#: How a label run's bits are counted (:func:`run_bits`).
MEASURES = ("cross-entropy", "error rate")

#: The most bits one float32 output carries about a target value: its 24-bit significand.
FLOAT32_BITS = 24

#: Capacities published for other architectures, in bits per parameter.
ANCHORS = (
    {
        "source": "Collins, Sohl-Dickstein and Sussillo (2017)",
        "networks": "recurrent networks (every common cell), random data",
        "bits_per_param": 5.0,
    },
    {
        "source": "Morris et al. (2025)",
        "networks": "GPT-style transformers, random sequences",
        "bits_per_param": 3.6,
    },
    {
        "source": "Allen-Zhu and Li (2024)",
        "networks": "language models, stored knowledge",
        "bits_per_param": 2.0,
    },
)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _finite(name: str, value: object, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value) or value < low:
        raise ValueError(f"{name} must be a number >= {low:g}, got {value!r}")
    return value


def regression_bits(
    mse: Sequence[float], variance: Sequence[float], points: int, cap: float = FLOAT32_BITS
) -> float:
    """Bits stored about ``points`` targets: ``N · Σ_j min(cap, max(0, ½·log2(σ_j²/MSE_j)))``.

    Args:
        mse: each output's mean squared error on the memorised points (``inf``: 0 bits).
        variance: each output's target variance over the same points.
        points: N.
        cap: the most bits one value can carry (:data:`FLOAT32_BITS`).

    Raises:
        ValueError: naming the argument: lengths differ, a value is negative or NaN, a
            variance is 0, or ``points`` is not a positive integer.
    """
    points = _count("points", points)
    if len(mse) != len(variance) or not len(mse):
        raise ValueError(
            f"mse and variance must have one value per output, got {len(mse)} and "
            f"{len(variance)}"
        )
    total = 0.0
    for j, (e, s) in enumerate(zip(mse, variance)):
        e = _finite(f"mse[{j}]", e)
        s = _finite(f"variance[{j}]", s)
        if s == 0:
            raise ValueError(f"variance[{j}] must be > 0, got 0.0")
        if math.isinf(e):
            continue  # diverged: nothing stored
        per_value = cap if e == 0 else 0.5 * math.log2(s / e)
        total += min(cap, max(0.0, per_value))
    return points * total


def classification_bits(cross_entropy: float, classes: int, points: int) -> float:
    """Bits stored about ``points`` uniformly random labels: ``N · max(0, log2 K − CE/ln 2)``.

    Args:
        cross_entropy: mean cross-entropy in nats per point on the memorised points
            (``inf``: 0 bits).
        classes: K (at least 2).
        points: N.
    """
    ce = _finite("cross_entropy", cross_entropy)
    classes = _count("classes", classes)
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    return _count("points", points) * max(0.0, math.log2(classes) - ce / math.log(2))


def error_rate_bits(error: float, points: int) -> float:
    """Bits stored about ``points`` random binary labels from the error rate ``p``:
    ``N · (1 − H2(p))`` for ``p <= 1/2`` (Collins et al. 2017), 0 from ``p = 1/2`` on."""
    p = _finite("error", error)
    if p > 1:
        raise ValueError(f"error must be a rate in [0, 1], got {error!r}")
    points = _count("points", points)
    if p >= 0.5:
        return 0.0
    entropy = 0.0 if p == 0 else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
    return points * (1.0 - entropy)


def mse_ratio_bits(ratio: float) -> float:
    """What an MSE ratio ``r`` (higher MSE / lower MSE, on the same targets) is worth: at most
    ``½·log2(r)`` bits per target value (negative when ``r < 1``)."""
    r = _finite("ratio", ratio)
    if r == 0 or math.isinf(r):
        raise ValueError(f"ratio must be a finite number > 0, got {ratio!r}")
    return 0.5 * math.log2(r)


def classes_of(task: str) -> int | None:
    """K of a classification task (2 for a binary one), ``None`` for regression."""
    t = get_task(task)
    if t.kind == "regression":
        return None
    return 2 if t.kind == "classification" else t.out_dim


@functools.lru_cache(maxsize=256)
def target_variance(task: str, data_seed: int = 0) -> tuple[float, ...]:
    """The variance (over the training points, about their mean) of each output's targets of a
    regression task's draw ``data_seed``, in float64."""
    t = get_task(task)
    if t.kind != "regression":
        raise ValueError(f"task {task!r} is {t.kind}, not regression")
    y = t.generate(data_seed).y_train.numpy().astype(np.float64)
    return tuple(float(v) for v in y.var(axis=0))


def run_bits(result: RunResult, data_seed: int = 0, measure: str = "cross-entropy") -> float:
    """The bits one run of a random-data task stores: :func:`regression_bits` from its
    per-output training MSEs (``extra["mse_j"]``); on labels :func:`classification_bits` from its
    training cross-entropy (``measure="cross-entropy"``) or, for two classes,
    :func:`error_rate_bits` from its training error rate (``measure="error rate"``). A diverged
    run stores 0 bits.

    Raises:
        ValueError: if a regression run has no per-output MSEs (not a random-data task), or on
            another ``measure`` (the error rate only for two classes).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    task = get_task(result.run.task)
    if task.kind == "regression":
        mse = [result.extra.get(f"mse_{j}") for j in range(task.out_dim)]
        if any(m is None for m in mse):
            raise ValueError(
                f"run {result.run}: no per-output MSEs (extra mse_0..): not a random-data task"
            )
        mse = [m if math.isfinite(m) else math.inf for m in mse]
        return regression_bits(mse, target_variance(result.run.task, data_seed), task.n_train)
    if measure == "error rate":
        if task.kind != "classification":
            raise ValueError(
                f"measure 'error rate' needs two classes; task {task.name!r} has more"
            )
        if result.diverged or not math.isfinite(result.test_metric):
            return 0.0
        return error_rate_bits(1.0 - result.test_metric, task.n_train)
    ce = result.train_loss if math.isfinite(result.train_loss) else math.inf
    return classification_bits(ce, classes_of(result.run.task), task.n_train)


def capacity_points(sets: Iterable[ResultSet], measure: str = "cross-entropy") -> list[dict]:
    """One row per (architecture, budget, learning rate, task) of a capacity sweep's result sets
    (label bits counted by ``measure``, :func:`run_bits`):
    ``arch``, ``budget``, ``lr``, ``task``, ``points`` (N), ``params``, ``seeds``, ``bits`` (one
    per seed, in seed order), ``mean``, ``low``, ``high`` (the 95% bootstrap interval of the mean
    over seeds, :func:`richneuron.stats.mean_interval`; the mean itself with one seed),
    ``per_param`` (mean /
    params), ``per_value`` (mean bits per target value). Sorted by architecture (first seen),
    budget, lr, N.
    """
    rows: dict[tuple, dict] = {}
    order: list[str] = []
    for rs in sets:
        seed = int(rs.config["data_seed"])
        for r in sorted(rs.runs, key=lambda r: r.run.seed):
            if r.run.arch not in order:
                order.append(r.run.arch)
            key = (r.run.arch, int(rs.config["budget"]), float(rs.config["lr"]), r.run.task)
            row = rows.setdefault(key, {
                "arch": r.run.arch,
                "budget": key[1],
                "lr": key[2],
                "task": r.run.task,
                "points": get_task(r.run.task).n_train,
                "params": r.params,
                "seeds": [],
                "bits": [],
            })
            row["seeds"].append(r.run.seed)
            row["bits"].append(run_bits(r, seed, measure))
    out = []
    for row in rows.values():
        bits = row["bits"]
        t = get_task(row["task"])
        values = row["points"] * (t.out_dim if t.kind == "regression" else 1)
        mean = statistics.fmean(bits)
        ci = mean_interval(bits) if len(bits) > 1 else None
        row.update(
            mean=mean,
            low=ci.low if ci else mean,
            high=ci.high if ci else mean,
            per_param=mean / row["params"],
            per_value=mean / values,
        )
        out.append(row)
    return sorted(out, key=lambda r: (order.index(r["arch"]), r["budget"], r["lr"], r["points"]))


def capacity(points: Sequence[dict]) -> list[dict]:
    """Each (architecture, budget, learning rate)'s capacity from :func:`capacity_points` rows:
    the row whose seed-mean bits are largest over N (its ``points`` is the N of the peak), with
    ``per_param_low``/``per_param_high`` (the 95% interval at the peak, per parameter) and
    ``largest_n`` (whether the peak is at the largest N tried: then bits had not stopped
    growing and the capacity is a lower bound), and ``last_per_param``, the bits per parameter
    at the largest N (where the fewest networks can fit every point)."""
    groups: dict[tuple, list[dict]] = {}
    for row in points:
        groups.setdefault((row["arch"], row["budget"], row["lr"]), []).append(row)
    out = []
    for rows in groups.values():
        peak = max(rows, key=lambda r: r["mean"])
        last = max(rows, key=lambda r: r["points"])
        out.append({
            **peak,
            "per_param_low": peak["low"] / peak["params"],
            "per_param_high": peak["high"] / peak["params"],
            "largest_n": peak["points"] == last["points"],
            "last_points": last["points"],
            "last_per_param": last["per_param"],
        })
    return out


def lead(a: dict, b: dict) -> stats.Interval:
    """How many times ``a``'s capacity exceeds ``b``'s (two :func:`capacity` rows): the ratio of
    their geometric mean bits per parameter with its 95% bootstrap interval over seeds (on the
    log scale, :func:`richneuron.stats.ratio_interval`); unknown (NaN) with fewer than two seeds
    a side or a seed that stored nothing."""
    x = [v / a["params"] for v in a["bits"]]
    y = [v / b["params"] for v in b["bits"]]
    if len(x) < 2 or len(y) < 2 or min(x) <= 0 or min(y) <= 0:
        return stats.UNKNOWN
    return stats.ratio_interval(x, y)


def lead_text(interval: stats.Interval) -> str:
    """``"2.66x [2.1x, 3.4x], beyond noise"`` (or ``within noise``) for :func:`lead`: a ratio
    of capacities printed like every ratio of the book
    (:func:`richneuron.formatting.format_ratio`)."""
    if not math.isfinite(interval.estimate):
        return "no interval (fewer than two seeds)"
    verdict = "beyond noise" if stats.beyond_noise(interval) else "within noise"
    return f"{format_comparison(interval, 'mse')}, {verdict}"


def best_lrs(points: Sequence[dict]) -> dict[tuple[str, int], float]:
    """The learning rate of largest capacity for each (architecture, budget) (the first on a
    tie)."""
    best: dict[tuple[str, int], dict] = {}
    for row in capacity(points):
        key = (row["arch"], row["budget"])
        if key not in best or row["mean"] > best[key]["mean"]:
            best[key] = row
    return {k: r["lr"] for k, r in best.items()}


def scaling(points: Sequence[dict], arch: str, measure: str = "peak") -> dict:
    """How ``arch``'s capacity grows with its parameter count across budgets: the least-squares
    line (``scipy.stats.linregress``) through (parameters, bits) of every seed at every budget,
    at each budget's best learning rate.

    Args:
        points: :func:`capacity_points` rows.
        arch: the architecture.
        measure: ``"peak"``: the bits at the N of the peak; ``"last"``: the bits at the largest
            N of each budget.

    Returns:
        ``{"slope": bits per added parameter, "intercept", "stderr", "rvalue", "budgets",
        "params", "bits"}`` (``budgets`` sorted; ``params``/``bits`` one per seed and budget).

    Raises:
        ValueError: on another ``measure``, or if ``arch`` has fewer than two budgets in
            ``points``.
    """
    from scipy.stats import linregress

    if measure not in ("peak", "last"):
        raise ValueError(f"measure must be 'peak' or 'last', got {measure!r}")
    lrs = best_lrs(points)
    rows = [r for r in points if r["arch"] == arch and lrs[(arch, r["budget"])] == r["lr"]]
    chosen: dict[int, dict] = {}
    for r in rows:
        b = chosen.get(r["budget"])
        key = "mean" if measure == "peak" else "points"
        if b is None or r[key] > b[key]:
            chosen[r["budget"]] = r
    if len(chosen) < 2:
        raise ValueError(f"arch {arch!r}: needs runs at two budgets or more, has {len(chosen)}")
    budgets = sorted(chosen)
    params = [chosen[b]["params"] for b in budgets for _ in chosen[b]["bits"]]
    bits = [x for b in budgets for x in chosen[b]["bits"]]
    fit = linregress(params, bits)
    return {
        "slope": float(fit.slope),
        "intercept": float(fit.intercept),
        "stderr": float(fit.stderr),
        "rvalue": float(fit.rvalue),
        "budgets": budgets,
        "params": params,
        "bits": bits,
    }


# ---------------------------------------------------------------------------------------------
# Tables of the chapter.


def _spread(mean: float, low: float, high: float, fmt: str = ",.0f") -> str:
    return f"{mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def lr_table(points: Sequence[dict]) -> Markdown:
    """Capacity in bits per parameter of each architecture (rows) at each learning rate
    (columns), the best in bold (the sweep's first seed set, or the seed mean)."""
    peaks = capacity(points)
    lrs = sorted({r["lr"] for r in peaks})
    best = best_lrs(points)
    rows = []
    for arch in dict.fromkeys(r["arch"] for r in peaks):
        cells = [arch]
        for lr in lrs:
            row = next((r for r in peaks if r["arch"] == arch and r["lr"] == lr), None)
            if row is None:
                cells.append("")
                continue
            text = f"{row['per_param']:.2f} (N = {row['points']:,})"
            cells.append(f"**{text}**" if best[(arch, row["budget"])] == lr else text)
        rows.append(cells)
    return markdown_table(["architecture", *[f"lr {lr:g}" for lr in lrs]], rows)


def capacity_table(peaks: Sequence[dict]) -> Markdown:
    """One row per architecture (and budget) of :func:`capacity`: parameters, learning rate,
    the N of the peak, bits stored and bits per parameter (mean over seeds, [95% interval]),
    bits per target value (or label) at the peak, whether bits stopped growing within
    the point counts tried, and the bits per parameter at the largest N."""
    rows = []
    for r in peaks:
        rows.append([
            r["arch"],
            f"{r['params']:,}",
            f"{r['lr']:g}",
            f"{r['points']:,}",
            _spread(r["mean"], r["low"], r["high"]),
            _spread(r["per_param"], r["per_param_low"], r["per_param_high"], ".2f"),
            f"{r['per_value']:.2f}",
            "no: still growing at the largest N" if r["largest_n"] else "yes",
            f"{r['last_per_param']:.2f} (N = {r['last_points']:,})",
        ])
    return markdown_table(
        ["architecture", "parameters", "lr", "N at the peak", "bits stored [95% CI]",
         "bits per parameter [95% CI]", "bits per target value", "peak within the Ns tried",
         "bits per parameter at the largest N"],
        rows,
    )


def anchors_table(peaks: Sequence[dict] = (), data: str = "random regression") -> Markdown:
    """The published capacities (:data:`ANCHORS`), then this book's (``peaks``, measured on
    ``data``), in bits per parameter."""
    rows = [[a["source"], a["networks"], f"{a['bits_per_param']:g}"] for a in ANCHORS]
    rows += [
        ["this book", f"{r['arch']}, {r['params']:,} parameters, {data}",
         f"{r['per_param']:.2f}"]
        for r in peaks
    ]
    return markdown_table(["source", "networks", "bits per parameter"], rows)


def _paired(short: Sequence[dict], long: Sequence[dict]):
    """For each row of ``long`` trained also in ``short`` (same architecture, budget, learning
    rate and N) on at least one common seed: ``(row, bits before, bits after)``, the seed-mean
    bits over those common seeds."""
    base = {(r["arch"], r["budget"], r["lr"], r["points"]): r for r in short}
    for r in long:
        b = base.get((r["arch"], r["budget"], r["lr"], r["points"]))
        common = [s for s in r["seeds"] if b is not None and s in b["seeds"]]
        if common:
            before = statistics.fmean(b["bits"][b["seeds"].index(s)] for s in common)
            after = statistics.fmean(r["bits"][r["seeds"].index(s)] for s in common)
            yield r, before, after


def steps_table(short: Sequence[dict], long: Sequence[dict]) -> tuple[Markdown, float]:
    """Bits stored after the sweep's steps (``short``) and after more (``long``), for every
    (architecture, budget, learning rate, N) in both (:func:`capacity_points` rows), averaged
    over the seeds trained both ways.

    Returns:
        ``(table, largest)``: the table and the largest relative change of those mean bits.

    Raises:
        ValueError: if no (architecture, N) and seed was trained at both step counts.
    """
    rows, largest = [], 0.0
    for r, before, after in _paired(short, long):
        change = after / before - 1 if before > 0 else math.inf
        largest = max(largest, abs(change))
        rows.append(
            [r["arch"], f"{r['points']:,}", f"{before:,.0f}", f"{after:,.0f}", f"{change:+.1%}"]
        )
    if not rows:
        raise ValueError("no (architecture, N) and seed trained at both step counts")
    table = markdown_table(
        ["architecture", "N", "bits, fewer steps", "bits, more steps", "change"], rows
    )
    return table, largest


def steps_peaks(short: Sequence[dict], long: Sequence[dict]) -> list[dict]:
    """Each architecture's peak over the (N, seed) pairs trained both ways (:func:`steps_table`):
    ``{"arch", "before", "after"}`` in bits per parameter (the largest seed-mean bits over N,
    over the parameters), ``"n_before"``/``"n_after"`` the N of each peak; in ``long``'s
    architecture order."""
    found: dict[str, dict] = {}
    for r, before, after in _paired(short, long):
        row = found.setdefault(r["arch"], {"arch": r["arch"], "before": -1.0, "after": -1.0})
        if before / r["params"] > row["before"]:
            row.update(before=before / r["params"], n_before=r["points"])
        if after / r["params"] > row["after"]:
            row.update(after=after / r["params"], n_after=r["points"])
    return list(found.values())


def steps_peaks_table(peaks: Sequence[dict]) -> Markdown:
    """:func:`steps_peaks` as a table: each architecture's peak with fewer and more steps."""
    return markdown_table(
        ["architecture", "peak, fewer steps (bits per parameter)",
         "peak, more steps (bits per parameter)", "change"],
        [
            [r["arch"], f"{r['before']:.2f} (N = {r['n_before']:,})",
             f"{r['after']:.2f} (N = {r['n_after']:,})", f"{r['after'] / r['before'] - 1:+.1%}"]
            for r in peaks
        ],
    )


def scaling_table(fits: dict[str, dict], counted: str = "the peak") -> Markdown:
    """One row per architecture of :func:`scaling`: where the bits were counted (``counted``),
    budgets, bits per added parameter (± its standard error) and the correlation of the fit."""
    return markdown_table(
        ["architecture", "bits counted at", "budgets", "bits per added parameter", "r"],
        [
            [arch, counted, ", ".join(f"{b:,}" for b in f["budgets"]),
             f"{f['slope']:.2f} ± {f['stderr']:.2f}", f"{f['rvalue']:.3f}"]
            for arch, f in fits.items()
        ],
    )


def compute_used(results: Iterable) -> tuple[int, float]:
    """Distinct runs of sweep results (a run shared by two sweeps counted once) and the seconds
    they took: the sum of each run's share of its chunk's wall time, compiling included."""
    seen: dict[tuple, float] = {}
    for result in results:
        for rs in result.sets:
            config = tuple(sorted((k, str(v)) for k, v in rs.config.items()))
            for r in rs.runs:
                seen[(r.run, config)] = r.wall_time
    return len(seen), sum(seen.values())
