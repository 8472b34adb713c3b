"""The frame every neuron shares: the stacked affine map, the layer base class and the network
(``depth`` layers of one neuron, then a linear read-out), each holding ``members`` networks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..arithmetic.products import bmm


def member_mean(t: Tensor) -> Tensor:
    """Mean over every dimension but the first. ``[M, ...] -> [M]``."""
    return t.reshape(t.shape[0], -1).mean(dim=1)


def member_std(t: Tensor) -> Tensor:
    """Standard deviation over every dimension but the first. ``[M, ...] -> [M]``."""
    return t.reshape(t.shape[0], -1).std(dim=1)


def member_corr(a: Tensor, b: Tensor) -> Tensor:
    """Pearson correlation of ``a`` and ``b`` per member, over all other dims. ``-> [M]``."""
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def _member_values(value: float | Sequence[float], members: int) -> Tensor:
    """One float32 value per member as ``[M, 1, 1]`` (a scalar is every member's value)."""
    values = [float(value)] * members if isinstance(value, int | float) else list(map(float, value))
    if len(values) != members:
        raise ValueError(f"{len(values)} values given for {members} members")
    return torch.tensor(values, dtype=torch.float64).to(torch.float32).view(members, 1, 1)


class StackedLinear(nn.Module):
    """``y = x W + b`` for ``M`` independent members, several named branches fused in one matmul.

    Args:
        members: ensemble size ``M``.
        in_dim: input features.
        out_dim: output features per branch.
        branches: names of the fused branches (e.g. ``("gate", "value")``); ``weight`` is
            ``[M, in_dim, len(branches) * out_dim]``, ``bias`` ``[M, 1, len(branches) * out_dim]``.
        bias: whether the branches have a bias.

    Shapes: ``x [M, N, in_dim] -> [M, N, len(branches) * out_dim]``.
    """

    def __init__(
        self,
        members: int,
        in_dim: int,
        out_dim: int,
        branches: tuple[str, ...] = ("out",),
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.branches = branches
        self.in_dim, self.out_dim = in_dim, out_dim
        width = len(branches) * out_dim
        self.weight = nn.Parameter(torch.empty(members, in_dim, width))
        self.bias = nn.Parameter(torch.empty(members, 1, width)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        y = bmm(x, self.weight)
        # bmm + add, not baddbmm: baddbmm copies the broadcast bias into its output first,
        # while the compiled trainer fuses this add into the activation that follows.
        return y if self.bias is None else y + self.bias

    def split(self, x: Tensor) -> tuple[Tensor, ...]:
        """Apply and split into the branches (``chunk``, not slicing: cheaper backward)."""
        return self(x).chunk(len(self.branches), dim=-1)

    def reset_member(self, m: int, gen: torch.Generator) -> None:
        """PyTorch's ``nn.Linear`` default init for member ``m``: U(-1/sqrt(in), 1/sqrt(in))."""
        bound = 1.0 / math.sqrt(self.in_dim)
        with torch.no_grad():
            w = torch.empty(self.weight.shape[1:]).uniform_(-bound, bound, generator=gen)
            self.weight[m].copy_(w)
            if self.bias is not None:
                b = torch.empty(self.bias.shape[1:]).uniform_(-bound, bound, generator=gen)
                self.bias[m].copy_(b)


class NeuronLayer(nn.Module):
    """Base of every rich neuron layer: ``[M, N, in_dim] -> [M, N, width]``.

    Subclasses set ``branches`` (the matrices per neuron), implement :meth:`activate` (the
    neuron's equation on the split pre-activations) and may add per-neuron vector parameters in
    ``vectors`` (name -> initial value) and diagnostics in :meth:`internals`.
    """

    branches: tuple[str, ...] = ("out",)
    vectors: dict[str, float] = {}
    equation: str = ""
    chapter: str = ""
    #: Whether the protocol's ``omega`` reaches the equation (a sine's frequency; Fourier
    #: features' scale): tuning tunes it for these (a test checks it against the networks).
    uses_omega: bool = False

    def __init__(self, members: int, in_dim: int, width: int, omega: float, rank: int) -> None:
        super().__init__()
        # The frequency of each member, a buffer (not a constant of the code): members with
        # different omegas train in one chunk, through one compiled step.
        self.register_buffer("omega", _member_values(omega, members))
        self.proj = StackedLinear(members, in_dim, width, self.branches)
        for name, value in self.vectors.items():
            self.register_parameter(name, nn.Parameter(torch.full((members, 1, width), value)))

    @classmethod
    def at(cls, index: int) -> type[NeuronLayer]:
        """The class of hidden layer ``index`` of a stack of this neuron: itself, except where a
        first layer differs from the others (Fourier features, SIREN's initialisation)."""
        return cls

    def forward(self, x: Tensor) -> Tensor:
        return self.activate(*self.proj.split(x))

    def activate(self, *pre: Tensor) -> Tensor:
        raise NotImplementedError

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        """Per-member diagnostics (name -> ``[M]``) on input ``x``; none by default."""
        return {}

    def reset_member(self, m: int, gen: torch.Generator) -> None:
        """Initialise member ``m`` from ``gen`` (matrices first, then vectors to constants)."""
        for module in self.children():
            module.reset_member(m, gen)
        with torch.no_grad():
            for name, value in self.vectors.items():
                getattr(self, name)[m].fill_(value)


class Network(nn.Module):
    """``depth`` layers of one neuron type, then a linear read-out, for ``members`` networks.

    ``width`` is the width of every hidden layer, or a tuple of ``depth`` per-layer widths;
    ``omega`` one frequency for every member or one per member (a buffer of each layer).
    Shapes: ``x [M, N, in_dim] -> [M, N, out_dim]``.
    """

    def __init__(
        self,
        layer: type[NeuronLayer],
        in_dim: int,
        out_dim: int,
        width: int | tuple[int, ...],
        depth: int = 2,
        members: int = 1,
        omega: float | Sequence[float] = 1.0,
        rank: int = 8,
    ) -> None:
        super().__init__()
        widths = tuple(width) if isinstance(width, tuple | list) else (width,) * depth
        if len(widths) != depth:
            raise ValueError(f"{len(widths)} widths given for depth={depth}")
        dims = (in_dim, *widths)
        self.layers = nn.ModuleList(
            layer.at(i)(members, dims[i], dims[i + 1], omega, rank) for i in range(depth)
        )
        self.readout = StackedLinear(members, dims[-1], out_dim)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.readout(x)

    def reset(self, seeds: list[int]) -> None:
        """Initialise member ``m`` from its own generator seeded with ``seeds[m]``.

        A member's initial weights depend only on its seed, never on its position or group.
        """
        for m, seed in enumerate(seeds):
            gen = torch.Generator().manual_seed(seed)
            for child in self.children():
                for module in child if isinstance(child, nn.ModuleList) else [child]:
                    module.reset_member(m, gen)

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        """Diagnostics averaged over layers, per member (name -> ``[M]``); those named
        ``first_*`` (a learned activation's shape) are the first layer's."""
        out: dict[str, list[Tensor]] = {}
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                for name, value in layer.internals(x).items():
                    if i == 0 or not name.startswith("first_"):
                        out.setdefault(name, []).append(value)
                x = layer(x)
        return {name: torch.stack(vals).mean(0) for name, vals in out.items()}
