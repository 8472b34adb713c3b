"""The neuron zoo: every architecture of the study as a stackable layer (chapters v1-v15).

Every module here holds ``members`` independent networks at once: weights are ``[M, in, out]``,
activations ``[M, N, features]``. With ``members=1`` a network is the plain reference model; the
batched trainer (:mod:`richneuron.trainer`) trains many members of one shape together, which is
exact because nothing here mixes members.

Notation (as in the book): ``g = Wg x``, ``v = Wv x``, ``phi = Wphi x`` are pre-activations with
bias, ``omega`` is the fixed frequency of :class:`~richneuron.config.TrainConfig` (a ``[M, 1, 1]``
buffer: each member may have its own). The matrices
of one layer are fused into one :class:`StackedLinear` and split with ``chunk``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .products import bmm

__all__ = [
    "ARCHITECTURES",
    "ArchSpec",
    "Network",
    "StackedLinear",
    "get_arch",
    "parse_archs",
]


def _member_mean(t: Tensor) -> Tensor:
    """Mean over every dimension but the first. ``[M, ...] -> [M]``."""
    return t.reshape(t.shape[0], -1).mean(dim=1)


def _member_std(t: Tensor) -> Tensor:
    """Standard deviation over every dimension but the first. ``[M, ...] -> [M]``."""
    return t.reshape(t.shape[0], -1).std(dim=1)


def _member_corr(a: Tensor, b: Tensor) -> Tensor:
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

    def __init__(self, members: int, in_dim: int, width: int, omega: float, rank: int) -> None:
        super().__init__()
        # The frequency of each member, a buffer (not a constant of the code): members with
        # different omegas train in one chunk, through one compiled step.
        self.register_buffer("omega", _member_values(omega, members))
        self.proj = StackedLinear(members, in_dim, width, self.branches)
        for name, value in self.vectors.items():
            self.register_parameter(name, nn.Parameter(torch.full((members, 1, width), value)))

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


class Vanilla(NeuronLayer):
    """B1 vanilla: ``y = ReLU(W x + b)`` (chapter v5)."""

    equation = r"y = \mathrm{ReLU}(W x + b)"
    chapter = "v5"

    def activate(self, h: Tensor) -> Tensor:
        return torch.relu(h)


class SinGLU(NeuronLayer):
    """B2 SinGLU: ``y = sin(omega * g) * v`` (chapters v4 and v5)."""

    branches = ("gate", "value")
    equation = r"y = \sin(\omega\, g) \odot v"
    chapter = "v5"

    def activate(self, g: Tensor, v: Tensor) -> Tensor:
        return torch.sin(self.omega * g) * v


class V1Rich(NeuronLayer):
    """v1 RichNeuron: ``y = LayerNorm(h1 * sin(omega * h2) + h1)``, ``h1 = W1 x``, ``h2 = W2 x+b``.

    Reading: both projections carry a bias (``b`` is the bias of ``h2``); the LayerNorm normalises
    over the neurons of the layer with a learned per-neuron scale and shift (init 1 and 0).
    """

    branches = ("linear", "periodic")
    vectors = {"ln_scale": 1.0, "ln_shift": 0.0}
    equation = r"y = \mathrm{LN}\big((W_1 x) \odot \sin(\omega W_2 x + b) + W_1 x\big)"
    chapter = "v1"

    def activate(self, h1: Tensor, h2: Tensor) -> Tensor:
        return self.layer_norm(h1 * torch.sin(self.omega * h2) + h1)

    def layer_norm(self, h: Tensor) -> Tensor:
        mean = h.mean(dim=-1, keepdim=True)
        var = (h - mean).square().mean(dim=-1, keepdim=True)
        return (h - mean) * torch.rsqrt(var + 1e-5) * self.ln_scale + self.ln_shift


class V4Shared(V1Rich):
    """v4 shared-weight fix: v1 with one matrix reused for both branches.

    ``y = LayerNorm(h * sin(omega * h + b) + h)`` with ``h = W x + c``: one matrix, and the sine
    branch keeps its own bias ``b`` (a per-neuron vector, init 0).
    """

    branches = ("linear",)
    vectors = {"ln_scale": 1.0, "ln_shift": 0.0, "sine_bias": 0.0}
    equation = r"y = \mathrm{LN}\big((W x) \odot \sin(\omega W x + b) + W x\big)"
    chapter = "v4"

    def activate(self, h: Tensor) -> Tensor:
        return self.layer_norm(h * torch.sin(self.omega * h + self.sine_bias) + h)


class V4LowRank(V1Rich):
    """v4 low-rank fix: v1 with each matrix factorised, ``W_i = A_i B_i`` of rank ``r``.

    Reading: both v1 matrices are factorised (``A_i`` is ``in x r`` without bias, ``B_i`` is
    ``r x width`` with bias); the rank is :attr:`TrainConfig.rank`, fixed, and the width is
    matched to the budget.
    """

    equation = r"y = \mathrm{LN}\big((A_1 B_1 x) \odot \sin(\omega A_2 B_2 x + b) + A_1 B_1 x\big)"
    chapter = "v4"

    def __init__(self, members: int, in_dim: int, width: int, omega: float, rank: int) -> None:
        super().__init__(members, in_dim, width, omega, rank)
        self.proj = StackedLinear(members, in_dim, rank, ("linear", "periodic"), bias=False)
        self.up_linear = StackedLinear(members, rank, width)
        self.up_periodic = StackedLinear(members, rank, width)

    def forward(self, x: Tensor) -> Tensor:
        d1, d2 = self.proj.split(x)
        return self.activate(self.up_linear(d1), self.up_periodic(d2))


class V6Routing(NeuronLayer):
    """v6 adaptive routing: ``y = a * sin(omega * g) + (1 - a) * v``, ``a = sigmoid(W_a x)``."""

    branches = ("gate", "value", "route")
    equation = (r"y = \alpha(x) \odot \sin(\omega g) + (1 - \alpha(x)) \odot v,\ "
                r"\alpha = \sigma(W_\alpha x)")
    chapter = "v6"

    def activate(self, g: Tensor, v: Tensor, r: Tensor) -> Tensor:
        alpha = torch.sigmoid(r)
        return alpha * torch.sin(self.omega * g) + (1 - alpha) * v

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        alpha = torch.sigmoid(self.proj.split(x)[2])
        return {"alpha_mean": _member_mean(alpha), "alpha_std": _member_std(alpha)}


class V7Frequency(NeuronLayer):
    """v7 learnable frequency: ``y = sin(omega(x) g)``, ``omega(x) = omega softplus(W_w x) / ln 2``.

    Reading: no value branch (the published key equation has none); ``omega(x)`` is positive and
    unbounded, and equals ``omega`` where its pre-activation is 0.
    """

    branches = ("gate", "freq")
    equation = (
        r"y = \sin(\omega(x) \odot g),\ \omega(x) = \omega\,\mathrm{softplus}(W_\omega x)/\ln 2"
    )
    chapter = "v7"

    def frequency(self, s: Tensor) -> Tensor:
        return self.omega * nn.functional.softplus(s) / math.log(2.0)

    def activate(self, g: Tensor, s: Tensor) -> Tensor:
        return torch.sin(self.frequency(s) * g)

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        w = self.frequency(self.proj.split(x)[1])
        return {"omega_mean": _member_mean(w), "omega_std": _member_std(w)}


class V8PhaseGate(NeuronLayer):
    """v8 phase and amplitude gate: ``y = sigmoid(W_a x) * sin(omega * g + phi)``."""

    branches = ("gate", "amplitude", "phase")
    equation = r"y = \sigma(W_a x) \odot \sin(\omega g + \varphi)"
    chapter = "v8"

    def activate(self, g: Tensor, a: Tensor, phi: Tensor) -> Tensor:
        return torch.sigmoid(a) * torch.sin(self.omega * g + phi)

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        _, a, phi = self.proj.split(x)
        return {"gate_mean": _member_mean(torch.sigmoid(a)), "phase_abs": _member_mean(phi.abs())}


class V9Controlled(NeuronLayer):
    """v9 bounded frequency, phase and gate (five matrices).

    ``y = a * sin(omega(x) * g + phi(x)) + (1 - a) * v`` with ``omega(x) = omega (1 + 0.5
    tanh(W_w x))`` (bounded in ``[omega/2, 3 omega/2]``), ``phi(x) = pi tanh(W_phi x)`` and
    ``a = sigmoid(W_a x)``. Reading: the gate mixes the periodic and a linear branch, as in v6.
    """

    branches = ("gate", "value", "freq", "phase", "route")
    equation = (
        r"y = \alpha \odot \sin(\omega(x) \odot g + \varphi(x)) + (1-\alpha) \odot v,\ "
        r"\omega(x) = \omega(1 + \tfrac12\tanh(W_\omega x)),\ \varphi(x) = \pi\tanh(W_\varphi x)"
    )
    chapter = "v9"

    def activate(self, g: Tensor, v: Tensor, s: Tensor, phi: Tensor, r: Tensor) -> Tensor:
        alpha = torch.sigmoid(r)
        freq = self.omega * (1 + 0.5 * torch.tanh(s))
        return alpha * torch.sin(freq * g + math.pi * torch.tanh(phi)) + (1 - alpha) * v

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        _, _, s, phi, r = self.proj.split(x)
        return {
            "omega_mean": _member_mean(self.omega * (1 + 0.5 * torch.tanh(s))),
            "phase_abs": _member_mean(math.pi * torch.tanh(phi).abs()),
            "alpha_mean": _member_mean(torch.sigmoid(r)),
        }


class PhaseGLU(NeuronLayer):
    """Base of the SinGLU phase family v10-v13: ``y = sin(theta(g, phi)) * v``."""

    branches = ("gate", "value", "phase")

    def theta(self, g: Tensor, phi: Tensor) -> Tensor:
        raise NotImplementedError

    def activate(self, g: Tensor, v: Tensor, phi: Tensor) -> Tensor:
        return torch.sin(self.theta(g, phi)) * v

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        g, _, phi = self.proj.split(x)
        shift = self.theta(g, phi) - self.omega * g  # the phase shift, in radians
        return {"phase_abs": _member_mean(shift.abs()), "phase_signal_corr": _member_corr(shift, g)}


class V10FreePhase(PhaseGLU):
    """v10 free phase: ``y = sin(omega g + pi tanh(phi)) * v`` (reading: GLU value branch)."""

    equation = r"y = \sin(\omega g + \pi \tanh\varphi) \odot v"
    chapter = "v10"

    def theta(self, g: Tensor, phi: Tensor) -> Tensor:
        return self.omega * g + math.pi * torch.tanh(phi)


class V11DisciplinedPhase(PhaseGLU):
    """v11 disciplined phase: ``y = sin(omega (g + 0.1 tanh(phi))) * v``."""

    equation = r"y = \sin\big(\omega (g + 0.1 \tanh\varphi)\big) \odot v"
    chapter = "v11"

    def theta(self, g: Tensor, phi: Tensor) -> Tensor:
        return self.omega * (g + 0.1 * torch.tanh(phi))


class V12FrequencyModulation(PhaseGLU):
    """v12 signal-proportional phase (FM): ``y = sin(omega g (1 + 0.2 tanh(phi))) * v``."""

    equation = r"y = \sin\big(\omega g (1 + 0.2 \tanh\varphi)\big) \odot v"
    chapter = "v12"

    def theta(self, g: Tensor, phi: Tensor) -> Tensor:
        return self.omega * g * (1 + 0.2 * torch.tanh(phi))


class V13AlignedPhase(PhaseGLU):
    """v13 signal-aligned phase: ``y = sin(omega g + 0.1 g tanh(phi)) * v``."""

    equation = r"y = \sin(\omega g + 0.1\, g \tanh\varphi) \odot v"
    chapter = "v13"

    def theta(self, g: Tensor, phi: Tensor) -> Tensor:
        return self.omega * g + 0.1 * g * torch.tanh(phi)


class V15DualPhase(NeuronLayer):
    """v15 dual-phase decomposition.

    ``y = sin(omega g + beta phi) * (1 + alpha sin(2 omega g + gamma phi)) * v``. Reading: GLU
    value branch; ``alpha``, ``beta``, ``gamma`` are learned per-neuron vectors, initialised to
    0.5, 1 and 1.
    """

    branches = ("gate", "value", "phase")
    vectors = {"alpha": 0.5, "beta": 1.0, "gamma": 1.0}
    equation = (
        r"y = \sin(\omega g + \beta\varphi) \odot \big(1 + \alpha \sin(2\omega g + "
        r"\gamma\varphi)\big) \odot v"
    )
    chapter = "v15"

    def activate(self, g: Tensor, v: Tensor, phi: Tensor) -> Tensor:
        base = torch.sin(self.omega * g + self.beta * phi)
        harmonic = 1 + self.alpha * torch.sin(2 * self.omega * g + self.gamma * phi)
        return base * harmonic * v

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        return {name: _member_mean(getattr(self, name)) for name in self.vectors}


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
            layer(members, dims[i], dims[i + 1], omega, rank) for i in range(depth)
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
        """Diagnostics averaged over layers, per member (name -> ``[M]``)."""
        out: dict[str, list[Tensor]] = {}
        with torch.no_grad():
            for layer in self.layers:
                for name, value in layer.internals(x).items():
                    out.setdefault(name, []).append(value)
                x = layer(x)
        return {name: torch.stack(vals).mean(0) for name, vals in out.items()}


@dataclass(frozen=True)
class ArchSpec:
    """One architecture of the registry: its layer class and where the book presents it."""

    id: str
    layer: type[NeuronLayer]
    title: str
    chapter: str
    matrices: int  # weight matrices per neuron (low-rank factors count as one matrix)

    @property
    def equation(self) -> str:
        return self.layer.equation

    @property
    def canonical(self) -> str:
        """Id of the first architecture with the same layer: aliases share cached results."""
        return next(a.id for a in ARCHITECTURES.values() if a.layer is self.layer)


ARCHITECTURES: dict[str, ArchSpec] = {
    a.id: a
    for a in [
        ArchSpec("vanilla", Vanilla, "B1 vanilla ReLU", "v5", 1),
        ArchSpec("singlu", SinGLU, "B2 SinGLU", "v5", 2),
        ArchSpec("v1", V1Rich, "v1 RichNeuron", "v1", 2),
        ArchSpec("v4_lowrank", V4LowRank, "v4 low-rank", "v4", 2),
        ArchSpec("v4_shared", V4Shared, "v4 shared weight", "v4", 1),
        ArchSpec("v4_glu", SinGLU, "v4 GLU-style (SinGLU)", "v4", 2),
        ArchSpec("v6", V6Routing, "v6 adaptive routing", "v6", 3),
        ArchSpec("v7", V7Frequency, "v7 learnable frequency", "v7", 2),
        ArchSpec("v8", V8PhaseGate, "v8 phase + amplitude gate", "v8", 3),
        ArchSpec("v9", V9Controlled, "v9 bounded frequency + phase + gate", "v9", 5),
        ArchSpec("v10", V10FreePhase, "v10 free phase", "v10", 3),
        ArchSpec("v11", V11DisciplinedPhase, "v11 disciplined phase", "v11", 3),
        ArchSpec("v12", V12FrequencyModulation, "v12 signal-proportional FM", "v12", 3),
        ArchSpec("v13", V13AlignedPhase, "v13 signal-aligned phase", "v13", 3),
        ArchSpec("v15", V15DualPhase, "v15 dual-phase", "v15", 3),
    ]
}


def get_arch(arch: str) -> ArchSpec:
    """The registry entry of ``arch``; ``ValueError`` naming the valid ids otherwise."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {arch!r}; valid architectures: {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch]


def parse_archs(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"v10,singlu"``, a list, or ``"all"`` -> validated ids (no empties, no duplicates)."""
    names = (
        list(ARCHITECTURES)
        if spec == "all"
        else ([s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec))
    )
    if not names or any(not n for n in names):
        raise ValueError(
            f"empty architecture list {spec!r}; valid architectures: {', '.join(ARCHITECTURES)}"
        )
    for n in names:
        get_arch(n)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate architecture in {spec!r}")
    return tuple(names)
