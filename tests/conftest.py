"""Shared test helpers (tests import them as ``from conftest import ...``)."""

import math
from pathlib import Path

import pytest

from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet
from richneuron.store.schema import Run, RunResult


def make_result(
    arch="singlu",
    task="spiral",
    seed=0,
    *,
    metric="mse",
    test_metric=0.5,
    widths=None,
    params=100,
    train_loss=0.1,
    diverged=False,
    diverged_step=None,
    loss_curve=None,
    test_curve=None,
    grad_norms=None,
    diagnostics=None,
    wall_time=0.0,
    extra=None,
):
    """A made-up :class:`RunResult` of ``Run(arch, task, seed)``: every field a keyword, any list
    or dict left out a fresh one (widths ``[8, 8]``, curves ``[1.0]``, the rest empty)."""
    return RunResult(
        run=Run(arch, task, seed),
        widths=[8, 8] if widths is None else widths,
        params=params,
        metric=metric,
        test_metric=test_metric,
        train_loss=train_loss,
        diverged=diverged,
        diverged_step=diverged_step,
        loss_curve=[1.0] if loss_curve is None else loss_curve,
        test_curve=[1.0] if test_curve is None else test_curve,
        grad_norms={} if grad_norms is None else grad_norms,
        diagnostics={} if diagnostics is None else diagnostics,
        wall_time=wall_time,
        extra={} if extra is None else extra,
    )


def result(arch, task, seed, value, diverged=False):
    """A chapter's run of ``Run(arch, task, seed)`` scoring ``value`` (accuracy on spiral and
    checkerboard, mse elsewhere), train_loss 0.1, 5,000 parameters; ``diverged`` makes it a
    diverged run with a NaN score."""
    metric = "accuracy" if task in ("spiral", "checkerboard") else "mse"
    return make_result(
        arch, task, seed, metric=metric, test_metric=math.nan if diverged else value, params=5000,
        diverged=diverged, diverged_step=3 if diverged else None, loss_curve=[1.0, 0.5],
        test_curve=[0.9, 0.6], diagnostics={"phase_abs": [0.1, 0.3]}, wall_time=0.1,
    )


def bits(result):
    """What a run's training decides, the time left out: curves, final metric and loss,
    gradient norms and diagnostics (two runs with the same bits trained the same)."""
    return (
        result.loss_curve,
        result.test_curve,
        result.test_metric,
        result.train_loss,
        result.grad_norms,
        result.diagnostics,
    )


@pytest.fixture
def rs():
    """Four seeds of v10, SinGLU and vanilla on Spiral (vanilla diverged) and on Nested 2-D
    (vanilla diverged on three): four is the fewest a bootstrap interval uses
    (:data:`richneuron.stats.MIN_BOOTSTRAP`)."""
    scores = {
        ("v10", "spiral"): (0.90, 0.92, 0.91, 0.91),
        ("singlu", "spiral"): (0.80, 0.84, 0.82, 0.82),
        ("v10", "nested_2d"): (0.012, 0.032, 0.020, 0.024),
        ("singlu", "nested_2d"): (0.018, 0.020, 0.019, 0.019),
    }
    runs = [result(a, t, s, v) for (a, t), values in scores.items() for s, v in enumerate(values)]
    runs += [result("vanilla", "spiral", s, 0.70, diverged=True) for s in range(4)]
    runs += [result("vanilla", "nested_2d", 0, 0.5)]
    runs += [result("vanilla", "nested_2d", s, 0.7, diverged=True) for s in range(1, 4)]
    return ResultSet("test", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)


def published(**headline):
    """The published numbers (``data/published.json``: every claim needs its own, since each is
    evaluated for the ledger's family), with ``headline`` replacing headline claims."""
    from richneuron.report.book import load_published

    real = load_published(Path(__file__).parents[1] / "data" / "published.json")
    return {**real, "headline_claims": {**real["headline_claims"], **headline}}
