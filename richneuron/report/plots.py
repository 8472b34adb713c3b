"""Figures of the book: each function takes data and returns ``(fig, ax)``.

Tasks chapter: :func:`plot_task`. Version chapters: :func:`plot_learning_curves` (training
loss or test metric), :func:`plot_diagnostic`, :func:`plot_grad_norms`,
:func:`plot_metric_bars`. Width against richness: :func:`plot_widths`. The figures over many
chapters and sweeps are in :mod:`richneuron.report.sweep_plots`. No function sets a
title: the book puts captions in the notebook cell's metadata. Figures are drawn with pyplot so
that a notebook's inline backend shows them; outside a notebook the Agg backend is chosen on the
first call when no backend was set (``MPLBACKEND`` unset and pyplot not yet imported). The
caller closes figures.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence

import numpy as np

from ..config import TrainConfig
from ..experiments.study import sweep_rows
from ..neurons import SHAPE_KEYS, SHAPE_POINTS
from ..stats import band
from ..store.results import ResultSet, rows_by_key
from ..store.schema import REFERENCE_TITLES
from ..tasks import TASKS, get_task
from ..train.predictors import references

__all__ = [
    "logged_steps",
    "plot_activation_shapes",
    "plot_diagnostic",
    "plot_grad_norms",
    "plot_learning_curves",
    "plot_metric_bars",
    "plot_omega_range",
    "plot_task",
    "plot_widths",
]

#: One colour per architecture, stable across figures (baselines first).
_ARCH_COLOURS = {"vanilla": "tab:gray", "singlu": "tab:blue"}
_CYCLE = ("tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink")
_SPLIT_STYLE = {"train": {"marker": "o", "alpha": 0.7}, "test": {"marker": "x", "alpha": 0.7}}


def _pyplot():
    """``matplotlib.pyplot``, choosing Agg first when no backend was set."""
    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        import matplotlib

        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colour(arch: str, archs: Sequence[str]) -> str:
    if arch in _ARCH_COLOURS:
        return _ARCH_COLOURS[arch]
    others = [a for a in archs if a not in _ARCH_COLOURS]
    return _CYCLE[others.index(arch) % len(_CYCLE)]


def logged_steps(config: dict) -> list[int]:
    """Steps at which the trainer logged loss, gradient norms and diagnostics.

    Args:
        config: a result set's ``config`` (needs ``steps`` and ``log_every``).

    Returns:
        Every ``log_every``-th step from 0, and the last step ``steps - 1``.
    """
    steps, every = int(config["steps"]), int(config["log_every"])
    return sorted(set(range(0, steps, every)) | {steps - 1})


def _archs_of(rs: ResultSet) -> list[str]:
    """Architectures of ``rs``: baselines first, then the others in order of appearance."""
    seen = list(dict.fromkeys(r.run.arch for r in rs.runs))
    return [a for a in _ARCH_COLOURS if a in seen] + [a for a in seen if a not in _ARCH_COLOURS]


def _runs_of(rs: ResultSet, arch: str, task: str) -> list:
    """``arch``'s runs on ``task`` that keep their curves in full (:func:`_complete`)."""
    runs = rs.select(arch, task)
    if not runs:
        raise ValueError(f"{rs.name}: no run of {arch!r} on task {task!r}")
    return _complete(rs, runs)


def _complete(rs: ResultSet, runs: Sequence) -> list:
    """The runs whose curves have a point at every logged step: the chapters' own seeds. The
    second opinion's seeds, pooled into every estimate, come from a sweep file that keeps a few
    points of each curve (:func:`richneuron.experiments.study.lean_result`) and no gradient
    norms, so a curve figure draws the chapters' seeds alone (its legend counts them)."""
    points = len(logged_steps(rs.config))
    return [r for r in runs if len(r.loss_curve) == points] or list(runs)


def _seed_band(ax, steps: np.ndarray, series: Sequence, colour: str, label: str) -> None:
    """Draw the mean over seeds of ``series`` (one row per seed) against ``steps``, with its 95%
    bootstrap interval as a band (:func:`richneuron.stats.band`); non-finite values (diverged)
    are left out."""
    mean, low, high = band(series)
    steps = steps[: len(mean)]
    ax.plot(steps, mean, color=colour, lw=1.4, label=label)
    if len(series) > 1:
        ax.fill_between(steps, low, high, color=colour, alpha=0.2, lw=0)


def _yerr(rows: Sequence[dict]) -> np.ndarray:
    """Asymmetric error bars from summary rows' 95% intervals (``low``, ``high``); none (0)
    where a row has no interval."""
    below, above = [], []
    for r in rows:
        ok = math.isfinite(r["low"]) and math.isfinite(r["high"])
        below.append(r["mean"] - r["low"] if ok else 0.0)
        above.append(r["high"] - r["mean"] if ok else 0.0)
    return np.array([below, above])


def plot_task(task_name: str, seed: int = 0):
    """Draw one task's train and test sets.

    1-D inputs: target against ``x``. Two or more inputs: the first two input coordinates,
    coloured by the class (classification) or by the first target (regression); train points
    as dots, test points as crosses (memorize scores on its training points, drawn once).

    Args:
        task_name: a task id of :data:`richneuron.tasks.TASKS`.
        seed: data seed passed to :meth:`Task.generate`.

    Returns:
        ``(fig, ax)``.
    """
    plt = _pyplot()
    task = get_task(task_name)
    data = task.generate(seed)
    splits = {"train": (data.x_train.numpy(), data.y_train.numpy())}
    if task.name != "memorize":
        splits["test"] = (data.x_test.numpy(), data.y_test.numpy())
    fig, ax = plt.subplots(figsize=(5.0, 3.6) if task.in_dim == 1 else (4.6, 4.0))
    if task.in_dim == 1:
        for split, (x, y) in splits.items():
            order = np.argsort(x[:, 0])
            ax.plot(
                x[order, 0],
                y[order, 0],
                lw=0.8,
                label=f"{split} ({len(x)} points)",
                **{**_SPLIT_STYLE[split], "markersize": 2},
            )
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    else:
        y_all = np.concatenate([y[:, 0] for _, y in splits.values()])
        lo, hi = float(y_all.min()), float(y_all.max())
        cmap = "coolwarm" if task.kind == "classification" else "viridis"
        for split, (x, y) in splits.items():
            points = ax.scatter(
                x[:, 0],
                x[:, 1],
                c=y[:, 0],
                cmap=cmap,
                vmin=lo,
                vmax=hi,
                s=9,
                label=f"{split} ({len(x)} points)",
                **_SPLIT_STYLE[split],
            )
        label = "class (+1 / -1)" if task.kind == "classification" else "target y"
        fig.colorbar(points, ax=ax, label=label + (" (first output)" if task.out_dim > 1 else ""))
        is_frequency = task.name in ("freq_gen", "mixed_freq")  # inputs (x, c = k / k_test)
        ax.set_xlabel("x" if is_frequency else "x1")
        ax.set_ylabel("c = k / k_test" if is_frequency else "x2")
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig, ax


def plot_learning_curves(
    rs: ResultSet, task: str, archs: Sequence[str] | None = None, curve: str = "loss"
):
    """Training loss (or test metric) against step for each architecture on one task.

    The line is the mean over seeds of the logged value (non-finite values of diverged seeds
    left out), the band its 95% bootstrap interval. The y axis is logarithmic, except
    for a test accuracy.

    Args:
        rs: a result set with runs of ``task``.
        task: task id.
        archs: architectures to draw (default: all in ``rs``, baselines first).
        curve: ``"loss"`` (training loss) or ``"test"`` (the test metric during training: how
            the model generalises as it fits).

    Returns:
        ``(fig, ax)``.

    Raises:
        ValueError: if ``rs`` holds no run of ``task`` for a requested architecture.
    """
    if curve not in ("loss", "test"):
        raise ValueError(f"curve: must be 'loss' or 'test', got {curve!r}")
    plt = _pyplot()
    archs = list(archs) if archs is not None else _archs_of(rs)
    steps = np.array(logged_steps(rs.config))
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    field = "loss_curve" if curve == "loss" else "test_curve"
    for arch in archs:
        curves = [getattr(r, field) for r in _runs_of(rs, arch, task)]
        seeds = f"{len(curves)} seed" + ("s" if len(curves) > 1 else "")
        _seed_band(ax, steps, curves, _colour(arch, archs), f"{arch} ({seeds})")
    metric = get_task(task).metric
    if curve == "loss" or metric == "mse":
        ax.set_yscale("log")
    ax.set_xlabel("step")
    if curve == "loss":
        ax.set_ylabel(f"training loss ({get_task(task).kind})")
    else:
        ax.set_ylabel(f"test {metric}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig, ax


def plot_diagnostic(
    rs: ResultSet, arch: str, key: str, task: str | None = None, relative: bool = False
):
    """One diagnostic of ``arch`` (e.g. ``"phase_abs"``) against step, one line per run.

    Args:
        rs: a result set.
        arch: architecture whose runs carry ``key`` in their ``diagnostics``.
        key: the diagnostic series (see the layer's ``internals``).
        task: one task, or ``None`` for every task of ``rs`` (one colour per task).
        relative: draw the change from the run's value at step 0 (a drift from init).

    Returns:
        ``(fig, ax)``.

    Raises:
        ValueError: if no run of ``arch`` (on ``task``) records ``key``.
    """
    plt = _pyplot()
    runs = _complete(rs, rs.recording(arch, [key], task))
    steps = logged_steps(rs.config)
    tasks = list(dict.fromkeys(r.run.task for r in runs))
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for r in runs:
        colour = _CYCLE[tasks.index(r.run.task) % len(_CYCLE)] if len(tasks) > 1 else "tab:blue"
        first = r is next(x for x in runs if x.run.task == r.run.task)
        values = np.asarray(r.diagnostics[key], dtype=float)
        ax.plot(
            steps[: len(values)],
            values - values[0] if relative else values,
            color=colour,
            lw=1.0,
            alpha=0.8,
            label=r.run.task if first else None,
        )
    ax.set_xlabel("step")
    ax.set_ylabel(f"{arch}: {key}" + (" - initial" if relative else ""))
    if relative:
        ax.axhline(0.0, color="k", lw=0.8, ls="--")
    ax.legend(fontsize="small", title="task (one line per seed)", title_fontsize="small")
    fig.tight_layout()
    return fig, ax


def plot_metric_bars(rs: ResultSet, tasks: Sequence[str] | None = None):
    """Test metric per architecture, one panel per task: mean over seeds (geometric for MSE),
    its 95% bootstrap interval as error bar.

    MSE panels use a logarithmic axis, accuracy panels a linear one from 0 to 1; each panel draws
    the task's best reference predictor as a dashed line (the training mean or least squares,
    the majority class or logistic regression: :mod:`richneuron.train.predictors`), which a bar
    must clear to have learned anything. Architectures whose every seed diverged get no bar.

    Args:
        rs: a result set.
        tasks: tasks to draw (default: all in ``rs``, in registry order).

    Returns:
        ``(fig, axes)``: ``axes`` is a flat array of the panels.
    """
    plt = _pyplot()
    summary = rs.summary()
    present = {r["task"] for r in summary}
    tasks = list(tasks) if tasks is not None else [t for t in TASKS if t in present]
    archs = _archs_of(rs)
    cols = min(3, len(tasks))
    rows_n = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.2 * cols, 2.8 * rows_n), squeeze=False)
    axes = axes.ravel()
    by_key = rows_by_key(summary)
    refs = references(tasks, TrainConfig(**rs.config))
    for ax, task in zip(axes, tasks):
        metric = get_task(task).metric
        for i, arch in enumerate(archs):
            row = by_key.get((arch, task))
            if row is None or not math.isfinite(row["mean"]):
                continue
            ax.bar(i, row["mean"], yerr=_yerr([row]), color=_colour(arch, archs), capsize=3)
        ax.set_xticks(range(len(archs)), archs, rotation=30, fontsize="small")
        ax.set_xlabel(task)
        ax.set_ylabel(metric)
        if metric == "mse":
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, 1)
        name, value = refs[task].best
        ax.axhline(value, color="k", ls="--", lw=0.8, label=REFERENCE_TITLES[name])
        ax.legend(fontsize="x-small", loc="best")
    for ax in axes[len(tasks) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig, axes


def plot_grad_norms(rs: ResultSet, task: str, archs: Sequence[str] | None = None):
    """Total gradient norm against step for each architecture on one task, mean over seeds.

    The total is the root of the sum of squares of the logged per-group norms; the band is the
    mean's 95% bootstrap interval; the y axis is logarithmic.

    Returns:
        ``(fig, ax)``.

    Raises:
        ValueError: if ``rs`` holds no run of ``task`` for a requested architecture.
    """
    plt = _pyplot()
    archs = list(archs) if archs is not None else _archs_of(rs)
    steps = np.array(logged_steps(rs.config))
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for arch in archs:
        totals = [
            np.sqrt(np.sum(np.square(list(r.grad_norms.values())), axis=0))
            for r in _runs_of(rs, arch, task)
        ]
        _seed_band(ax, steps, totals, _colour(arch, archs), arch)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient norm (all parameters)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig, ax


def plot_widths(rows: Sequence[dict], fit: dict | None = None):
    """Hidden width against weight matrices per neuron at a fixed budget, one point per arch.

    Args:
        rows: dicts with ``arch``, ``matrices`` and ``width`` (e.g. from
            :func:`richneuron.neurons.matching.width_rows`).
        fit: optional ``{"width_1": w, "cost": c}``: the fitted curve ``w (1 - c)^(k - 1)``.

    Returns:
        ``(fig, ax)``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    by_k: dict[int, list[str]] = {}
    for row in rows:
        colour = "tab:orange" if row.get("related") else "tab:blue"
        ax.scatter(row["matrices"], row["width"], color=colour, zorder=3)
        by_k.setdefault((row["matrices"], row["width"]), []).append(row["arch"])
    for (k, w), names in by_k.items():
        ax.annotate(
            ", ".join(names), (k, w), textcoords="offset points", xytext=(6, 2), fontsize="x-small"
        )
    if fit is not None:
        ks = np.linspace(1, max(r["matrices"] for r in rows), 50)
        ax.plot(
            ks,
            fit["width_1"] * (1 - fit["cost"]) ** (ks - 1),
            color="tab:gray",
            ls="--",
            label=f"fit: {fit['cost']:.0%} narrower per extra matrix",
        )
        ax.legend(fontsize="small")
    ax.set_xlabel("weight matrices per neuron")
    ax.set_ylabel("hidden width at the budget")
    fig.tight_layout()
    return fig, ax


def plot_activation_shapes(rs: ResultSet, arch: str, initial: Sequence[float] | None = None):
    """A learned activation at the end of training, one line per run (colour: task).

    The runs of ``arch`` record its first layer's activation at
    :data:`richneuron.neurons.SHAPE_POINTS` (diagnostics ``first_shape_0``, ...); the last
    record is drawn against those points, and ``initial`` (the shape at initialisation), dashed.

    Returns:
        ``(fig, ax)``.

    Raises:
        ValueError: if no run of ``arch`` records the shape.
    """
    plt = _pyplot()
    runs = rs.recording(arch, SHAPE_KEYS)
    tasks = list(dict.fromkeys(r.run.task for r in runs))
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for r in runs:
        colour = plt.get_cmap("tab10")(tasks.index(r.run.task) % 10)  # nine tasks: ten colours
        first = r is next(x for x in runs if x.run.task == r.run.task)
        ax.plot(
            SHAPE_POINTS,
            [r.diagnostics[k][-1] for k in SHAPE_KEYS],
            color=colour,
            lw=1.0,
            alpha=0.8,
            label=r.run.task if first else None,
        )
    if initial is not None:
        ax.plot(SHAPE_POINTS, initial, color="k", lw=1.2, ls="--", label="at initialisation")
    ax.set_xlabel("pre-activation")
    ax.set_ylabel(f"{arch}: learned activation")
    ax.legend(fontsize="x-small", title="task (one line per seed)", title_fontsize="x-small")
    fig.tight_layout()
    return fig, ax


def plot_omega_range(sets: Sequence[ResultSet], arch: str = "singlu", control: str = "bilinear"):
    """``arch``'s test metric against its frequency ``omega`` (one panel per task), beside the
    sine-free ``control``'s mean (line), each with its 95% bootstrap interval (error bars, band),
    from a sweep over ``omega``.

    Args:
        sets: the result sets of a sweep (one per protocol; ``config["omega"]`` differs).

    Returns:
        ``(fig, axes)``.
    """
    plt = _pyplot()
    points = sweep_rows(sets, arch)
    base = {t: next(iter(rows.values())) for t, rows in sweep_rows(sets, control).items()}
    tasks = list(points)
    if not tasks:
        raise ValueError(f"no runs of {arch!r} in the sweep")
    cols = min(3, len(tasks))
    rows_n = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.2 * cols, 2.6 * rows_n), squeeze=False)
    axes = axes.ravel()
    for ax, task in zip(axes, tasks):
        omegas = sorted(points[task])
        rows = [points[task][w] for w in omegas]
        ax.errorbar(
            omegas, [r["mean"] for r in rows], yerr=_yerr(rows), color="tab:blue",
            marker="o", capsize=3, label=arch,
        )
        if task in base:
            b = base[task]
            ax.axhline(b["mean"], color="tab:orange", lw=1.2, label=control)
            if math.isfinite(b["low"]) and math.isfinite(b["high"]):
                ax.axhspan(b["low"], b["high"], color="tab:orange", alpha=0.2)
        ax.set_xscale("log")
        if get_task(task).metric == "mse":
            ax.set_yscale("log")
        ax.set_xlabel(f"omega ({task})")
        ax.set_ylabel(get_task(task).metric)
    axes[0].legend(fontsize="x-small")
    for ax in axes[len(tasks) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig, axes
