"""Figures over many chapters and sweeps: the Synthesis' score and rank maps, capacity against
points and parameters, the multiverse's specification curves, the scaling and tuning curves (the
helpers they share are in :mod:`richneuron.report.plots`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from ..analysis.capacity import FLOAT32_BITS, best_lrs, classes_of
from ..formatting import compact
from ..store.results import ResultSet, rows_by_key
from ..tasks import TASKS, get_task, higher_is_better
from .plots import _archs_of, _colour, _pyplot, _yerr

__all__ = [
    "plot_bits_per_parameter",
    "plot_capacity",
    "plot_capacity_scaling",
    "plot_expected_best",
    "plot_rank_map",
    "plot_scaling",
    "plot_score_map",
    "plot_specification_curves",
]


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

    ``rows`` are :func:`richneuron.report.synthesis.comparison_rows`. A cell's colour is its
    ``score`` (1 = the task's best mean, 0 its worst; log scale for MSE); its text is the mean to
    three significant figures. The winner of each task has a black frame and bold text; a cell whose
    mean is within noise of the winner's (the book's rule) is marked ``≈``; a
    task where every seed diverged is grey and reads ``div.``. A cell whose architecture does not
    beat the task's best reference predictor beyond noise (``learns`` false) is hatched, and a
    task no architecture learns is labelled "not learned" and has no winner.

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
        if not r.get("learns", True):  # no better than the task's best reference predictor
            ax.add_patch(
                Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=0, hatch="///", ec="#ffffff80")
            )
    learned = {t: any(r.get("learns", True) for r in rows if r["task"] == t) for t in tasks}
    labels = [
        f"{t}\n({'acc.' if get_task(t).metric == 'accuracy' else 'MSE'}"
        + ("" if learned[t] else ", not learned")
        + ")"
        for t in tasks
    ]
    ax.set_xticks(range(len(tasks)), labels, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(archs)), archs, fontsize=8)
    ax.tick_params(length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    bar.set_label("score per task (1 = best, 0 = worst)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig, ax


def plot_capacity(points: Sequence[dict], lrs: dict | None = None, budget: int | None = None):
    """Bits stored against the number of random points N, one line per architecture (the mean
    over seeds, a band: its 95% bootstrap interval), from
    :func:`richneuron.analysis.capacity.capacity_points` rows; the dotted line is the most the data
    hold (regression: every target value at :data:`richneuron.analysis.capacity.FLOAT32_BITS` bits;
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
    (one per architecture), beside published anchors (dashed lines, ``{"source",
    "bits_per_param"}``).

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
    fitted line.

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

    With no claim tested anywhere (a quick build: one seed, no interval), one empty panel
    that says so.

    Returns:
        ``(fig, axes)``.
    """
    plt = _pyplot()
    ids = [cid for cid in curves if curves[cid]]
    if not ids:  # a quick build: one seed, no interval, so no claim is put to the test
        fig, ax = plt.subplots(figsize=(5.6, 1.6))
        ax.axis("off")
        ax.text(0.5, 0.5, "No claim is tested in any protocol of this build.", ha="center",
                va="center")
        return fig, np.array([ax])
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
        rows: :func:`richneuron.analysis.scaling.scaling_rows` (``arch``, ``task``, ``budget``,
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
        rows: :func:`richneuron.experiments.tuning_results.expected_best_rows`.

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
