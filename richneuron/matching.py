"""Parameter-budget matching: the hidden width that gives each architecture the same budget.

Method chapter, "Budget matching". The trainable parameter count of a network grows strictly
with its hidden width, so a binary search finds the width whose count is closest to the budget;
:func:`match_width` refuses (``ValueError``) when even that width misses the tolerance.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from .config import TrainConfig
from .neurons import Network, get_arch
from .tasks import get_task

__all__ = ["count_params", "match_width", "BudgetError"]

#: Widest hidden layer searched; far beyond any width a ~5K budget allows.
MAX_WIDTH = 4096


class BudgetError(ValueError):
    """No hidden width brings an architecture within tolerance of a budget."""


@lru_cache(maxsize=4096)
def count_params(arch: str, in_dim: int, out_dim: int, width: int, depth: int = 2,
                 rank: int = 8) -> int:
    """Trainable parameters of one network (built on the meta device, so nothing is allocated)."""
    with torch.device("meta"):
        net = Network(get_arch(arch).layer, in_dim, out_dim, width, depth, 1, 1.0, rank)
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def match_width(arch: str, task: str, budget: int, config: TrainConfig | None = None
                ) -> tuple[int, int]:
    """The hidden width of ``arch`` on ``task`` whose parameter count is closest to ``budget``.

    Args:
        arch: architecture id (see :data:`richneuron.neurons.ARCHITECTURES`).
        task: task id (its input and output dims enter the count).
        budget: target number of trainable parameters.
        config: depth, rank and tolerance (defaults: :class:`TrainConfig`).

    Returns:
        ``(width, count)`` with ``|count - budget| <= tolerance * budget``.

    Raises:
        BudgetError: naming the architecture, task and budget, when no width meets it.
    """
    config = config or TrainConfig()
    if not isinstance(budget, int) or budget < 1:
        raise BudgetError(f"invalid budget={budget!r}: must be a positive int")
    t = get_task(task)

    def count(w: int) -> int:
        return count_params(arch, t.in_dim, t.out_dim, w, config.depth, config.rank)

    lo, hi = 1, MAX_WIDTH
    while lo < hi:  # smallest width whose count reaches the budget
        mid = (lo + hi) // 2
        if count(mid) >= budget:
            hi = mid
        else:
            lo = mid + 1
    candidates = [w for w in (lo - 1, lo) if w >= 1]
    width = min(candidates, key=lambda w: (abs(count(w) - budget), w))
    n = count(width)
    if abs(n - budget) > config.tolerance * budget:
        raise BudgetError(
            f"no width of {arch!r} on task {task!r} meets budget={budget} within "
            f"±{config.tolerance:.0%}: the closest, width {width}, has {n} parameters "
            f"({(n - budget) / budget:+.1%})")
    return width, n
