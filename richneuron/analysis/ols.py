"""The regression capacity measure calibrated on a model whose answer is known (chapter
"Capacity in bits", issue 35).

The model is a network of the chapters' budget whose hidden layer is frozen: ``width`` random
ReLU features of the 8 inputs, then a trainable linear read-out per output (``width + 1``
weights with its bias). Its training is ordinary least squares, solved exactly
(``numpy.linalg.lstsq``), so what it stores is known before any measurement:

* with ``N <= p`` points (``p = width + 1``) it interpolates: its error is set by the float
  arithmetic alone, and every target value scores the float32 cap of
  :data:`richneuron.analysis.capacity.FLOAT32_BITS` bits;
* past ``p`` the residual of a least-squares fit to targets independent of the features is their
  projection on the ``N − p`` directions the features miss, so its expected mean square is
  ``σ²·(N − p)/N`` (``σ²`` the targets' variance; the variance about the N points' mean has
  expectation ``σ²·(N − 1)/N``), and the measure reads ``N·½·log2((N − 1)/(N − p))`` bits per
  output (:func:`expected_bits`): ``p`` bits per output at ``N = 2p``, tending to
  ``p / (2 ln 2)`` as N grows.

Counted per trainable parameter, the measure gives this linear model up to the float32 cap at
the interpolation threshold, one bit at twice it and 0.72 far beyond: the regression peak
reports how precisely a model fits at interpolation, not how much it can store. Nothing here
reads a file; the data are the tasks' own draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..tables import Markdown, markdown_table
from ..tasks import get_task
from .capacity import FLOAT32_BITS, regression_bits, target_variance

__all__ = [
    "calibration",
    "calibration_points",
    "calibration_summary",
    "calibration_table",
    "expected_bits",
    "fitted_bits",
    "random_features",
    "width_for",
]


def width_for(budget: int, outputs: int) -> int:
    """The random features whose read-outs (``width + 1`` weights per output) have ``budget``
    trainable parameters in all, rounded down."""
    if budget < 2 * outputs:
        raise ValueError(f"budget must be at least {2 * outputs}, got {budget!r}")
    return budget // outputs - 1


def random_features(x: np.ndarray, width: int, seed: int = 0) -> np.ndarray:
    """``ReLU(x W + b)`` with ``W, b ~ N(0, 1/d)`` (``d`` the inputs), then a column of ones: the
    frozen hidden layer and the read-out's bias, ``[N, width + 1]`` float64."""
    rng = np.random.Generator(np.random.PCG64(seed))
    d = x.shape[1]
    w = rng.standard_normal((d, width)) / math.sqrt(d)
    b = rng.standard_normal(width) / math.sqrt(d)
    return np.hstack([np.maximum(x @ w + b, 0.0), np.ones((x.shape[0], 1))])


def expected_bits(points: int, params_per_output: int, outputs: int,
                  cap: float = FLOAT32_BITS) -> float:
    """The bits the measure gives an exact least-squares fit with ``params_per_output`` weights
    per output on ``points`` targets independent of its features: ``outputs · N · cap`` up to
    ``N = p``, then ``outputs · N · min(cap, ½·log2((N − 1)/(N − p)))``."""
    n, p = points, params_per_output
    if n <= p:
        return outputs * n * cap
    return outputs * n * min(cap, 0.5 * math.log2((n - 1) / (n - p)))


def fitted_bits(task: str, width: int, data_seed: int = 0) -> float:
    """The measure on the least-squares read-out of :func:`random_features` fitted exactly to
    ``task``'s draw ``data_seed`` (a ``random_reg_n<N>`` task): each output's training MSE in
    float64, through :func:`richneuron.analysis.capacity.regression_bits`."""
    t = get_task(task)
    if t.kind != "regression":
        raise ValueError(f"task {task!r} is {t.kind}, not regression")
    data = t.generate(data_seed)
    x = data.x_train.numpy().astype(np.float64)
    y = data.y_train.numpy().astype(np.float64)
    phi = random_features(x, width)
    coef, *_ = np.linalg.lstsq(phi, y, rcond=None)
    mse = ((phi @ coef - y) ** 2).mean(axis=0)
    return regression_bits(list(mse), target_variance(task, data_seed), t.n_train)


def calibration_points(budget: int, outputs: int = 4) -> list[int]:
    """Point counts around the read-outs' interpolation threshold ``p`` (:func:`width_for` + 1):
    ``p/4``, ``p/2``, ``p``, then ``p·2^(k/2)`` for k = 1..6 (steps of √2 up to 8p), rounded."""
    p = width_for(budget, outputs) + 1
    return [p // 4, p // 2, p, *[round(p * 2 ** (k / 2)) for k in range(1, 7)]]


def calibration(points: Sequence[int], budget: int, outputs: int = 4) -> list[dict]:
    """One row per point count: ``points``, ``params`` (the read-outs' weights), ``per_output``
    (p, the weights of one read-out), ``expected``
    and ``fitted`` bits (:func:`expected_bits`, :func:`fitted_bits` on ``random_reg_n<N>``) and
    each per parameter (``expected_per_param``, ``fitted_per_param``)."""
    width = width_for(budget, outputs)
    params = outputs * (width + 1)
    rows = []
    for n in points:
        expected = expected_bits(n, width + 1, outputs)
        fitted = fitted_bits(f"random_reg_n{n}", width)
        rows.append({
            "points": n, "params": params, "per_output": width + 1,
            "expected": expected, "fitted": fitted,
            "expected_per_param": expected / params, "fitted_per_param": fitted / params,
        })
    return rows


def calibration_table(rows: Sequence[dict]) -> Markdown:
    """:func:`calibration` as a table: N, N over the weights per output, the bits the closed
    form expects and those of the exact fit, per parameter."""
    return markdown_table(
        ["N", "N / p", "bits per parameter, expected", "bits per parameter, fitted"],
        [
            [f"{r['points']:,}", f"{r['points'] / r['per_output']:.2f}",
             f"{r['expected_per_param']:.2f}", f"{r['fitted_per_param']:.2f}"]
            for r in rows
        ],
    )


def calibration_summary(rows: Sequence[dict]) -> dict:
    """What the chapter says of :func:`calibration`'s rows: ``p`` (weights per read-out),
    ``width`` (random features), ``params``, ``at_threshold`` (fitted bits per parameter at
    ``N = p``), ``at_twice`` (at the N nearest ``2p``), ``largest_n`` and ``at_largest`` (at the
    largest N), ``limit`` (``1 / (2 ln 2)``, the per-parameter bits far past the threshold)."""
    p = rows[0]["per_output"]
    at = {r["points"]: r for r in rows}
    twice = min(at, key=lambda n: abs(n - 2 * p))
    largest = max(at)
    return {
        "p": p, "width": p - 1, "params": rows[0]["params"],
        "at_threshold": at[p]["fitted_per_param"], "at_twice": at[twice]["fitted_per_param"],
        "twice_n": twice, "largest_n": largest, "at_largest": at[largest]["fitted_per_param"],
        "limit": 1 / (2 * math.log(2)),
    }
