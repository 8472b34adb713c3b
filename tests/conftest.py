"""Shared test helpers (tests import them as ``from conftest import ...``)."""

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
