"""The Scaling chapter's cost axes shown: FLOPs per training point of every architecture at the
chapters' budget, in closed form (:func:`richneuron.analysis.flops.flops`) beside PyTorch's count
of the matrix products (:func:`richneuron.neurons.flops.counted_matrix_flops`), and each
architecture's score against FLOPs across the scaling budgets (:func:`plot_score_flops`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..analysis.flops import flops
from ..analysis.matched import pareto
from ..config import TrainConfig
from ..neurons.flops import counted_matrix_flops
from ..neurons.matching import match_width
from ..tables import Markdown, markdown_table
from ..tasks import get_task
from .plots import _colour, _pyplot

__all__ = ["flops_rows", "flops_table", "per_parameter", "plot_score_flops"]


def flops_rows(archs: Sequence[str], task: str, config: TrainConfig | None = None) -> list[dict]:
    """Per architecture on ``task`` at the budget of ``config``: its widths, parameters, the
    closed form's FLOPs per training point (matrix products and element-wise, forward and
    backward) and the counter's matrix FLOPs."""
    config = config or TrainConfig()
    t = get_task(task)
    rows = []
    for arch in archs:
        widths, params = match_width(arch, task, config.budget_for(task), config)
        f = flops(arch, t.in_dim, t.out_dim, widths, config.rank, config.kan_grid)
        counted = counted_matrix_flops(arch, t.in_dim, t.out_dim, widths, config.rank,
                                       config.kan_grid)
        rows.append(
            {
                "arch": arch,
                "task": task,
                "widths": widths,
                "params": params,
                "matrix": f.matrix,
                "counted": counted,
                "elementwise": f.elementwise_forward + f.elementwise_backward,
                "total": f.total,
            }
        )
    return rows


def flops_table(rows: Sequence[dict]) -> Markdown:
    """:func:`flops_rows` as a table: FLOPs per training point, the matrix products' share
    checked against the counter, and FLOPs per parameter."""
    body = [
        [
            r["arch"],
            f"{r['params']:,}",
            f"{r['matrix']:,}",
            f"{r['counted']:,}" + ("" if r["counted"] == r["matrix"] else " (differs)"),
            f"{r['elementwise']:,}",
            f"{r['total']:,}",
            f"{r['total'] / r['params']:.1f}",
        ]
        for r in rows
    ]
    header = [
        "architecture",
        "parameters",
        "matrix products (closed form)",
        "matrix products (FlopCounterMode)",
        "element-wise",
        "total",
        "per parameter",
    ]
    return markdown_table(header, body)


def per_parameter(rows: Sequence[dict]) -> tuple[float, float]:
    """The fewest and the most FLOPs per parameter among :func:`flops_rows`."""
    ratios = [r["total"] / r["params"] for r in rows]
    return min(ratios), max(ratios)


def plot_score_flops(rows: Sequence[dict], archs: Sequence[str], tasks: Sequence[str]):
    """Per task, each architecture's mean score against its FLOPs per training point across the
    scaling budgets (log axes; accuracy on a linear one), the Pareto front in black."""
    plt = _pyplot()
    cols = 3
    fig, axes = plt.subplots(math.ceil(len(tasks) / cols), cols, figsize=(12, 3.2 *
                             math.ceil(len(tasks) / cols)), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        here = [r for r in rows if r["task"] == task]
        for arch in archs:
            pts = sorted((r["flops"], r["mean"]) for r in here if r["arch"] == arch)
            if pts:
                ax.plot(*zip(*pts), "o-", ms=3, color=_colour(arch, archs), label=arch)
        front = [(r["flops"], r["mean"]) for r in pareto(rows, task)]
        ax.plot(*zip(*front), "k--", lw=1, label="Pareto front")
        ax.set_xscale("log")
        if get_task(task).metric == "mse":
            ax.set_yscale("log")
        ax.set_title(task)
        ax.set_xlabel("FLOPs per training point")
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig, axes
