"""The Scaling chapter's cost axes shown: FLOPs per training point of every architecture at the
chapters' budget, in closed form (:func:`richneuron.analysis.flops.flops`) beside PyTorch's count
of the matrix products (:func:`richneuron.neurons.flops.counted_matrix_flops`), and each
architecture's score against FLOPs across the scaling budgets (:func:`plot_score_flops`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

from ..analysis.flops import flops
from ..analysis.matched import pareto
from ..config import TrainConfig
from ..neurons.flops import counted_matrix_flops
from ..neurons.matching import match_width
from ..paths import DATA_DIR
from ..store.results import ResultsError
from ..tables import Markdown, markdown_table
from ..tasks import get_task
from .plots import _colour, _pyplot

__all__ = [
    "STEP_TIMES",
    "flops_rows",
    "flops_table",
    "load_step_times",
    "matrix_share",
    "per_parameter",
    "plot_score_cost",
    "step_time_text",
]

#: The measured times per training step (``benchmarks/step_time.py`` writes it).
STEP_TIMES = Path(DATA_DIR) / "cost" / "step-time.json"


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


def matrix_share(rows: Sequence[dict]) -> float:
    """The smallest share of the matrix products in any row's total FLOPs."""
    return min(r["matrix"] / r["total"] for r in rows)


def load_step_times(path: str | os.PathLike = STEP_TIMES) -> dict:
    """The measured times per step (:data:`STEP_TIMES`): ``{"task", "steps", "host", "rows"}``;
    an empty ``rows`` when the file is not there (never measured on this checkout).

    Raises:
        ResultsError: naming the file, if it is not valid JSON or lacks its rows.
    """
    path = Path(path)
    if not path.is_file():
        return {"rows": [], "host": {}}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ResultsError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise ResultsError(f"{path}: rows: missing or not a list")
    return doc


def step_time_text(doc: dict) -> str:
    """Where and how the times were measured, in a sentence."""
    if not doc["rows"]:
        return "No time per step has been measured on this checkout (benchmarks/step_time.py)."
    host = doc.get("host", {})
    cpu = host.get("cpu_model") or host.get("cpu_vendor") or "an unnamed CPU"
    return (
        f"Times per step were measured by `benchmarks/step_time.py` on {cpu}, one network alone "
        f"on {doc['task']} in the pinned arithmetic, as the difference of runs of "
        f"{doc['steps'][1]:,} and {doc['steps'][0]:,} steps; they are this machine's."
    )


def plot_score_cost(
    rows: Sequence[dict], archs: Sequence[str], tasks: Sequence[str], cost: str = "flops"
):
    """Per task, each architecture's mean score against its ``cost`` (``"flops"`` per training
    point, or ``"seconds"`` per step) across the scaling budgets (log axes; accuracy on a linear
    one), the Pareto front in black."""
    plt = _pyplot()
    cols = 3
    fig, axes = plt.subplots(math.ceil(len(tasks) / cols), cols, figsize=(12, 3.2 *
                             math.ceil(len(tasks) / cols)), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        here = [r for r in rows if r["task"] == task]
        for arch in archs:
            pts = sorted((r[cost], r["mean"]) for r in here if r["arch"] == arch and cost in r)
            if pts:
                ax.plot(*zip(*pts), "o-", ms=3, color=_colour(arch, archs), label=arch)
        front = [(r[cost], r["mean"]) for r in pareto(rows, task, cost)]
        if front:
            ax.plot(*zip(*front), "k--", lw=1, label="Pareto front")
        ax.set_xscale("log")
        if get_task(task).metric == "mse":
            ax.set_yscale("log")
        ax.set_title(task)
        ax.set_xlabel("FLOPs per training point" if cost == "flops" else "seconds per step")
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig, axes
