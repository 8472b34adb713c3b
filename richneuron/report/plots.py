"""Figures of the book: each function takes data and returns ``(fig, ax)``.

Tasks chapter: :func:`plot_task`. Version chapters: :func:`plot_learning_curves` (training
loss or test metric), :func:`plot_diagnostic`, :func:`plot_grad_norms`,
:func:`plot_metric_bars`. Width against richness: :func:`plot_widths`. Synthesis:
:func:`plot_score_map` (every architecture on every task, from
:func:`richneuron.report.book.comparison_rows`) and :func:`plot_rank_map`. No function sets a
title: the book puts captions in the notebook cell's metadata. Figures are drawn with pyplot so
that a notebook's inline backend shows them; outside a notebook the Agg backend is chosen on the
first call when no backend was set (``MPLBACKEND`` unset and pyplot not yet imported). The
caller closes figures.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping, Sequence

import numpy as np

from ..analysis.capacity import FLOAT32_BITS, best_lrs, classes_of
from ..experiments.study import sweep_rows
from ..formatting import compact
from ..neurons import SHAPE_KEYS, SHAPE_POINTS
from ..stats import band
from ..store.results import ResultSet, rows_by_key
from ..tasks import TASKS, get_task, higher_is_better

__all__ = [
    "logged_steps",
    "plot_activation_shapes",
    "plot_bits_per_parameter",
    "plot_capacity",
    "plot_capacity_scaling",
    "plot_diagnostic",
    "plot_expected_best",
    "plot_grad_norms",
    "plot_learning_curves",
    "plot_metric_bars",
    "plot_omega_range",
    "plot_rank_map",
    "plot_scaling",
    "plot_score_map",
    "plot_specification_curves",
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
    runs = rs.select(arch, task)
    if not runs:
        raise ValueError(f"{rs.name}: no run of {arch!r} on task {task!r}")
    return runs


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
    runs = rs.recording(arch, [key], task)
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
    """Test metric per architecture, one panel per task: mean over seeds, its 95% bootstrap
    interval as error bar.

    MSE panels use a logarithmic axis; accuracy panels a linear one from 0 to 1 with the chance
    level (0.5) dashed. Architectures whose every seed diverged get no bar.

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
            ax.axhline(0.5, color="k", ls="--", lw=0.8)
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
            :func:`richneuron.report.book.width_rows`).
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


def plot_rank_map(rs: ResultSet, archs: Sequence[str] | None = None):
    """Rank of every architecture on every task (1 = best mean), as a coloured grid.

    Architectures whose every seed diverged on a task rank last there.

    Returns:
        ``(fig, ax)``.
    """
    plt = _pyplot()
    summary = rs.summary_by_key()
    archs = list(archs) if archs is not None else _archs_of(rs)
    tasks = [t for t in TASKS if any((a, t) in summary for a in archs)]
    ranks = np.full((len(archs), len(tasks)), np.nan)
    for j, task in enumerate(tasks):
        present = [a for a in archs if (a, task) in summary]
        sign = -1.0 if higher_is_better(get_task(task).metric) else 1.0
        order = sorted(
            present,
            key=lambda a: (
                not math.isfinite(summary[(a, task)]["mean"]),
                sign * summary[(a, task)]["mean"]
                if math.isfinite(summary[(a, task)]["mean"])
                else 0,
            ),
        )
        for rank, arch in enumerate(order, 1):
            ranks[archs.index(arch), j] = rank
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(tasks), 0.8 + 0.32 * len(archs)))
    image = ax.imshow(ranks, cmap="viridis_r", aspect="auto")
    for i in range(len(archs)):
        for j in range(len(tasks)):
            if np.isfinite(ranks[i, j]):
                ax.text(
                    j,
                    i,
                    f"{ranks[i, j]:.0f}",
                    ha="center",
                    va="center",
                    fontsize="x-small",
                    color="white" if ranks[i, j] > len(archs) / 2 else "black",
                )
    ax.set_xticks(range(len(tasks)), tasks, rotation=35, ha="right", fontsize="small")
    ax.set_yticks(range(len(archs)), archs, fontsize="small")
    fig.colorbar(image, ax=ax, label="rank (1 = best)")
    fig.tight_layout()
    return fig, ax


def plot_score_map(rows: Sequence[dict]):
    """Heat map of every architecture's score on every task, normalised per task.

    ``rows`` are :func:`richneuron.report.book.comparison_rows`. A cell's colour is its ``score`` (1
    =
    the task's best mean, 0 its worst; log scale for MSE); its text is the mean to three
    significant figures. The winner of each task has a black frame and bold text; a cell whose
    mean is within noise of the winner's (the book's rule) is marked ``≈``; a
    task where every seed diverged is grey and reads ``div.``.

    Returns:
        ``(fig, ax)``.
    """
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    tasks = [t for t in TASKS if any(r["task"] == t for r in rows)]
    cell = rows_by_key(rows)
    scores = np.full((len(archs), len(tasks)), np.nan)
    for (a, t), r in cell.items():
        scores[archs.index(a), tasks.index(t)] = r["score"]
    fig, ax = plt.subplots(figsize=(1.7 + 0.64 * len(tasks), 1.0 + 0.3 * len(archs)))
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("#d0d0d0")
    image = ax.imshow(np.ma.masked_invalid(scores), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for (a, t), r in cell.items():
        i, j = archs.index(a), tasks.index(t)
        if not math.isfinite(r["mean"]):
            text, colour = "div.", "black"
        else:
            text = compact(r["mean"], r["metric"])
            if r["within_noise"] and not r["winner"]:
                text = f"≈{text}"
            colour = "black" if r["score"] > 0.55 else "white"
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            fontsize=7,
            color=colour,
            fontweight="bold" if r["winner"] else "normal",
        )
        if r["winner"]:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.8, ec="black"))
    labels = [f"{t}\n({'acc.' if get_task(t).metric == 'accuracy' else 'MSE'})" for t in tasks]
    ax.set_xticks(range(len(tasks)), labels, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(archs)), archs, fontsize=8)
    ax.tick_params(length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    bar.set_label("score per task (1 = best, 0 = worst)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
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


def plot_capacity(points: Sequence[dict], lrs: dict | None = None, budget: int | None = None):
    """Bits stored against the number of random points N, one line per architecture (the mean
    over seeds, a band: its 95% bootstrap interval), from
    :func:`richneuron.analysis.capacity.capacity_points` rows; the dotted line is the most the data
    hold
    (regression: every target value at :data:`richneuron.analysis.capacity.FLOAT32_BITS` bits;
    classification: log2 K bits per label).

    Args:
        points: capacity rows (one per architecture, budget, learning rate and N).
        lrs: ``{(arch, budget): lr}``: draw only that learning rate of each (default: each
            architecture's best, :func:`richneuron.analysis.capacity.best_lrs`).
        budget: draw only this budget (default: every budget, one line each).

    Returns:
        ``(fig, ax)``.
    """
    plt = _pyplot()
    lrs = best_lrs(points) if lrs is None else lrs
    shown = [
        r for r in points
        if lrs.get((r["arch"], r["budget"])) == r["lr"] and budget in (None, r["budget"])
    ]
    if not shown:
        raise ValueError("no capacity rows to draw")
    archs = list(dict.fromkeys(r["arch"] for r in shown))
    budgets = sorted({r["budget"] for r in shown})
    styles = ("-", "--", ":", "-.")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for arch in archs:
        for k, b in enumerate(budgets):
            rows = sorted(
                (r for r in shown if r["arch"] == arch and r["budget"] == b),
                key=lambda r: r["points"],
            )
            if not rows:
                continue
            n = np.array([r["points"] for r in rows], dtype=float)
            colour = _colour(arch, archs)
            label = arch if len(budgets) == 1 else f"{arch}, {b:,} parameters"
            ax.plot(n, [r["mean"] for r in rows], color=colour, ls=styles[k % 4], marker="o",
                    ms=3, label=label)
            ax.fill_between(n, [r["low"] for r in rows], [r["high"] for r in rows],
                            color=colour, alpha=0.2, lw=0)
    n_all = np.array(sorted({r["points"] for r in shown}), dtype=float)
    classes = classes_of(shown[0]["task"])
    if classes is None:
        per_point = get_task(shown[0]["task"]).out_dim * FLOAT32_BITS
        limit = f"float32 limit ({FLOAT32_BITS} bits per value)"
    else:
        per_point = math.log2(classes)
        limit = f"every label ({per_point:g} bits each)"
    ax.plot(n_all, n_all * per_point, color="black", ls=":", lw=1, label=limit)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("random points N")
    ax.set_ylabel("bits stored")
    ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    return fig, ax


def plot_bits_per_parameter(peaks: Sequence[dict], anchors: Sequence[dict] = ()):
    """Each architecture's capacity in bits per parameter (bar: mean over seeds at the peak,
    error bar: its 95% bootstrap interval), from :func:`richneuron.analysis.capacity.capacity` rows
    (one per
    architecture), beside published anchors (dashed lines, ``{"source", "bits_per_param"}``).

    Returns:
        ``(fig, ax)``.
    """
    plt = _pyplot()
    if not peaks:
        raise ValueError("no capacity rows to draw")
    archs = [r["arch"] for r in peaks]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    x = np.arange(len(peaks))
    means = np.array([r["per_param"] for r in peaks])
    err = np.array([
        [r["per_param"] - r["per_param_low"] for r in peaks],
        [r["per_param_high"] - r["per_param"] for r in peaks],
    ])
    ax.bar(x, means, yerr=err, capsize=3, color=[_colour(a, archs) for a in archs])
    for k, anchor in enumerate(anchors):
        ax.axhline(anchor["bits_per_param"], color="black", ls=("--", ":", "-.")[k % 3], lw=1,
                   label=f"{anchor['source']}: {anchor['bits_per_param']:g}")
    ax.set_xticks(x, archs, rotation=30, ha="right")
    ax.set_ylabel("bits per parameter")
    if anchors:
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig, ax


def plot_capacity_scaling(fits: dict[str, dict]):
    """Capacity (bits at the peak, one point per seed) against trainable parameters for each
    architecture of ``fits`` (``{arch: richneuron.analysis.capacity.scaling(...)}``), with its
    fitted
    line.

    Returns:
        ``(fig, ax)``.
    """
    plt = _pyplot()
    if not fits:
        raise ValueError("no fits to draw")
    archs = list(fits)
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for arch, fit in fits.items():
        colour = _colour(arch, archs)
        ax.scatter(fit["params"], fit["bits"], color=colour, s=14)
        xs = np.array([min(fit["params"]), max(fit["params"])], dtype=float)
        ax.plot(xs, fit["intercept"] + fit["slope"] * xs, color=colour,
                label=f"{arch}: {fit['slope']:.2f} bits per added parameter")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("capacity (bits)")
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig, ax


#: Marker colour of a claim's verdict in a protocol (specification curves).
_VERDICT_COLOURS = {
    "replicated": "tab:green",
    "partly replicated": "tab:olive",
    "not replicated": "tab:red",
    "not established": "tab:gray",
}


def plot_specification_curves(curves: dict[str, Sequence[dict]], titles: dict[str, str]):
    """One panel per claim: its statistic in every protocol, sorted (a specification curve),
    with its 95% interval where it has one, coloured by the claim's verdict there, the
    protocols named on the x axis.

    Args:
        curves: claim id -> :func:`richneuron.analysis.multiverse.curve` rows (sorted).
        titles: claim id -> a short panel title.

    Returns:
        ``(fig, axes)``.
    """
    plt = _pyplot()
    ids = [cid for cid in curves if curves[cid]]
    if not ids:
        raise ValueError("curves: no claim is tested in any protocol")
    cols = min(2, len(ids))
    rows_n = math.ceil(len(ids) / cols)
    width = max(len(curves[c]) for c in ids)
    fig, axes = plt.subplots(
        rows_n, cols, figsize=(max(4.0, 0.32 * width) * cols, 3.3 * rows_n), squeeze=False
    )
    axes = axes.ravel()
    for ax, cid in zip(axes, ids):
        rows = curves[cid]
        x = np.arange(len(rows))
        values = np.array([r["value"] for r in rows], dtype=float)
        ratio = "/" in rows[0]["measure"]  # a ratio of errors: log scale, null at 1
        for i, r in enumerate(rows):
            colour = _VERDICT_COLOURS.get(r["verdict"], "black")
            if math.isfinite(r["low"]) and math.isfinite(r["high"]):
                ax.plot([i, i], [r["low"], r["high"]], color=colour, lw=1.2)
            ax.plot(i, values[i], "o", color=colour, ms=4)
        if ratio:
            ax.set_yscale("log")
            ax.axhline(1.0, color="black", lw=0.6, ls=":")
        elif "points" in rows[0]["measure"]:
            ax.axhline(0.0, color="black", lw=0.6, ls=":")
        else:  # a count "(of N)": the whole range from 0 to N
            from matplotlib.ticker import MaxNLocator

            top = re.search(r"of (\d+)", rows[0]["measure"])
            ax.set_ylim(-0.3, (int(top.group(1)) if top else np.nanmax(values)) + 0.3)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xticks(x)
        ax.set_xticklabels([r["protocol"] for r in rows], rotation=90, fontsize="xx-small")
        ax.set_title(titles.get(cid, cid), fontsize="small")
        ax.set_ylabel(rows[0]["measure"], fontsize="x-small")
    handles = [
        plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in _VERDICT_COLOURS.items()
    ]
    axes[0].legend(handles=handles, fontsize="xx-small", loc="best")
    for ax in axes[len(ids) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig, axes


def _task_panels(rows: Sequence[dict], archs: Sequence[str], tasks: Sequence[str], x: str, draw):
    """One panel per task, a line per architecture: ``draw(ax, xs, mine, colour, arch)`` with
    ``mine`` the rows of that architecture and task sorted by ``x``; MSE panels log-scaled.
    Returns ``(fig, axes)``."""
    plt = _pyplot()
    cols = min(3, len(tasks))
    rows_n = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.4 * cols, 2.7 * rows_n), squeeze=False)
    axes = axes.ravel()
    for ax, task in zip(axes, tasks):
        for arch in archs:
            mine = sorted(
                (r for r in rows if r["arch"] == arch and r["task"] == task), key=lambda r: r[x]
            )
            if mine:
                draw(ax, [r[x] for r in mine], mine, _colour(arch, archs), arch)
        if get_task(task).metric == "mse":
            ax.set_yscale("log")
    axes[0].legend(fontsize="xx-small", ncol=2)
    for ax in axes[len(tasks) :]:
        ax.set_visible(False)
    return fig, axes


def plot_scaling(rows: Sequence[dict], archs: Sequence[str], tasks: Sequence[str]):
    """Each architecture's test metric against the parameter budget, one panel per task: mean
    over seeds with its 95% interval (error bars), log-scaled budgets.

    Args:
        rows: :func:`richneuron.analysis.multiverse.scaling_rows` (``arch``, ``task``, ``budget``,
            ``mean``, ``low``, ``high``, ``metric``).

    Returns:
        ``(fig, axes)``.
    """
    if not rows:
        raise ValueError("rows: no runs at any budget")

    def draw(ax, xs, mine, colour, arch):
        ax.errorbar(xs, [r["mean"] for r in mine], yerr=_yerr(mine), color=colour, marker="o",
                    ms=3, capsize=2, lw=1.1, label=arch)

    fig, axes = _task_panels(rows, archs, tasks, "budget", draw)
    for ax, task in zip(axes, tasks):
        ax.set_xscale("log")
        ax.set_xlabel(f"parameters ({task})")
        ax.set_ylabel(get_task(task).metric)
    fig.tight_layout()
    return fig, axes


#: One colour per family of :func:`plot_expected_best` (in the order the families come).
_FAMILY_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "v", "D", "P", "X")


def plot_expected_best(rows: Sequence[dict], archs: Sequence[str], tasks: Sequence[str],
                       families: Mapping[str, str] | None = None):
    """Expected best tuning score against the number of tuning trials (Dodge et al. 2019), one
    panel per task, a line per architecture; with ``families`` (architecture -> family) a
    colour per family and, within it, a line style and marker per architecture, with one
    legend under the panels.

    Args:
        rows: :func:`richneuron.experiments.tuning.expected_best_rows`.

    Returns:
        ``(fig, axes)``.
    """
    if not rows:
        raise ValueError("rows: no tuning trials")
    style: dict[str, dict] = {}
    if families is not None:
        groups = list(dict.fromkeys(families[a] for a in archs))
        for arch in archs:
            peers = [a for a in archs if families[a] == families[arch]]
            i = peers.index(arch)
            style[arch] = {
                "color": _FAMILY_COLOURS[groups.index(families[arch]) % len(_FAMILY_COLOURS)],
                "ls": _LINESTYLES[i % len(_LINESTYLES)],
                "marker": _MARKERS[i % len(_MARKERS)],
            }

    def draw(ax, xs, mine, colour, arch):
        kw = style.get(arch, {"color": colour, "marker": "o"})
        ax.plot(xs, [r["value"] for r in mine], ms=2.5, lw=1.0, label=arch, **kw)

    fig, axes = _task_panels(rows, archs, tasks, "n", draw)
    for ax, task in zip(axes, tasks):
        ax.set_xlabel(f"trials ({task})")
        ax.set_ylabel("expected best tuning score", fontsize="x-small")
    if families is not None:
        axes[0].get_legend().remove()
        handles, labels = axes[0].get_legend_handles_labels()
        named = [f"{a} ({families[a]})" for a in labels]
        fig.legend(handles, named, loc="lower center", ncol=4, fontsize="x-small",
                   frameon=False)
        rows_n = math.ceil(len(archs) / 4)
        fig.set_figheight(fig.get_figheight() + 0.22 * rows_n)
        fig.tight_layout(rect=(0, 0.22 * rows_n / fig.get_figheight() + 0.01, 1, 1))
    else:
        fig.tight_layout()
    return fig, axes
