"""Parameter-budget matching: the hidden width that gives each architecture the same budget.

Method chapter, "Budget matching". The trainable parameter count of a network grows strictly
with its hidden width, so a binary search finds the width whose count is closest to the budget;
:func:`match_width` refuses (``ValueError``) when even that width misses the tolerance.
"""

from __future__ import annotations

from functools import cache

import torch

from ..config import TrainConfig
from ..neurons import ARCHITECTURES, KAN_GRID, Network, get_arch, layer_of
from ..tasks import get_task

__all__ = ["NOT_PER_MATRIX", "BudgetError", "count_params", "match_width", "width_rows"]

#: Widest hidden layer searched; far beyond any width a ~5K budget allows.
MAX_WIDTH = 4096


class BudgetError(ValueError):
    """No hidden width brings an architecture within tolerance of a budget."""


@cache
def count_params(
    arch: str,
    in_dim: int,
    out_dim: int,
    width: int | tuple[int, ...],
    depth: int = 2,
    rank: int = 8,
    kan_grid: int = KAN_GRID,
) -> int:
    """Trainable parameters of one network (built on the meta device: nothing is allocated).

    ``width`` is one width for every hidden layer, or a tuple of per-layer widths.
    """
    with torch.device("meta"):
        net = Network(layer_of(arch, kan_grid), in_dim, out_dim, width, depth, 1, 1.0, rank)
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


#: How much narrower than the others the last hidden layer may be, to hit the budget finely.
MAX_TAPER = 8


def match_width(
    arch: str, task: str, budget: int, config: TrainConfig | None = None
) -> tuple[tuple[int, ...], int]:
    """Hidden widths of ``arch`` on ``task`` whose parameter count is closest to ``budget``.

    All hidden layers get one width ``w``. Where a neuron has several matrices, one step of
    ``w`` can move the count by more than the tolerance; then the last hidden layer is made
    narrower, by the fewest units (at most :data:`MAX_TAPER`) that bring the count within
    tolerance.

    Args:
        arch: architecture id (see :data:`richneuron.neurons.ARCHITECTURES`).
        task: task id (its input and output dims enter the count).
        budget: target number of trainable parameters.
        config: depth, rank, KAN's grid and tolerance (defaults: :class:`TrainConfig`).

    Returns:
        ``(widths, count)``: one width per hidden layer and the exact parameter count, with
        ``|count - budget| <= tolerance * budget``.

    Raises:
        BudgetError: naming the architecture, task and budget, when no width meets it.
    """
    config = config or TrainConfig()
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise BudgetError(
            f"invalid budget={budget!r} for {arch!r} on task {task!r}: must be a positive int"
        )
    t = get_task(task)
    get_arch(arch)

    def count(widths: tuple[int, ...]) -> int:
        return count_params(
            arch, t.in_dim, t.out_dim, widths, config.depth, config.rank, config.kan_grid
        )

    def uniform(w: int) -> tuple[int, ...]:
        return (w,) * config.depth

    lo, hi = 1, MAX_WIDTH
    while lo < hi:  # smallest uniform width whose count reaches the budget
        mid = (lo + hi) // 2
        if count(uniform(mid)) >= budget:
            hi = mid
        else:
            lo = mid + 1
    candidates = [uniform(w) for w in (lo - 1, lo) if w >= 1]
    candidates += [uniform(lo)[:-1] + (lo - k,) for k in range(1, MAX_TAPER + 1) if lo - k >= 1]
    best = min(candidates, key=lambda ws: abs(count(ws) - budget))
    fitting = [ws for ws in candidates if abs(count(ws) - budget) <= config.tolerance * budget]
    if not fitting:
        n = count(best)
        raise BudgetError(
            f"no width of {arch!r} on task {task!r} meets budget={budget} within "
            f"±{config.tolerance:.0%}: the closest, widths {list(best)}, has {n} parameters "
            f"({(n - budget) / budget:+.1%})"
        )
    widths = fitting[0]  # candidates are ordered uniform first, then by growing taper
    return widths, count(widths)


#: Left out of the width rows: their width says nothing about the cost of a matrix (v4's
#: low-rank factors; the Fourier features' first layer, which maps twice its width).
NOT_PER_MATRIX = ("v4_lowrank", "fourier_features")


def width_rows(
    config: TrainConfig | None = None, task: str = "nested_2d", related: bool = False
) -> list[dict]:
    """First hidden layer's width at the budget for every distinct full-rank architecture of
    the study, and with ``related`` the related neurons too (``"related"`` says which).

    :data:`NOT_PER_MATRIX` and the ablations are left out and aliases are listed once.
    """
    config = config or TrainConfig()
    rows = []
    for a in ARCHITECTURES.values():
        skip = a.canonical != a.id or a.id in NOT_PER_MATRIX or a.is_ablation
        if skip or (a.is_related and not related):
            continue
        widths, _ = match_width(a.id, task, config.budget_for(task), config)
        rows.append(
            {"arch": a.id, "matrices": a.matrices, "width": widths[0], "related": a.is_related}
        )
    return rows
