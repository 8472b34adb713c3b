"""The matrix products' FLOPs of a network as PyTorch counts them
(``torch.utils.flop_counter.FlopCounterMode``), to check the closed form
(:func:`richneuron.analysis.flops.flops`) against: one forward and backward pass of a network of
one member on a few points, with the products as ``torch.bmm`` (the counter's formulas cover
PyTorch's own operators, and the pinned product computes the same thing with fixed rounding).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..arithmetic.determinism import UNPIN_VARIABLE
from .base import Network
from .registry import layer_of

__all__ = ["counted_matrix_flops"]

#: Points of the counted pass (the count is divided by it).
POINTS = 4


@contextlib.contextmanager
def _torch_products() -> Iterator[None]:
    before = os.environ.get(UNPIN_VARIABLE)
    os.environ[UNPIN_VARIABLE] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[UNPIN_VARIABLE]
        else:
            os.environ[UNPIN_VARIABLE] = before


def counted_matrix_flops(
    arch: str, in_dim: int, out_dim: int, widths: Sequence[int], rank: int = 8, kan_grid: int = 5
) -> int:
    """The matrix products' FLOPs per point of one training step's forward and backward pass,
    as ``FlopCounterMode`` counts them."""
    with _torch_products():
        net = Network(layer_of(arch, kan_grid), in_dim, out_dim, tuple(widths), len(widths), 1,
                      1.0, rank)
        net.reset([0])
        x = torch.randn(1, POINTS, in_dim, generator=torch.Generator().manual_seed(0))
        with FlopCounterMode(display=False) as counter:
            net(x).square().mean().backward()
    total = counter.get_total_flops()
    if total % POINTS:
        raise RuntimeError(f"{arch}: {total} FLOPs are not a multiple of {POINTS} points")
    return total // POINTS
