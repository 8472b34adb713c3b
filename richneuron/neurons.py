"""The neuron zoo: every architecture of the study (chapters v1-v15) and the related neurons of
the literature (part "Related neurons") as stackable layers.

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
from fractions import Fraction
from functools import cache

import torch
from torch import Tensor, nn

from .products import bmm

__all__ = [
    "ARCHITECTURES",
    "ArchSpec",
    "RELATED_FAMILIES",
    "BASELINE_CHAPTER",
    "FAMILIES",
    "OMEGA_ARCHS",
    "VERSION_ORDER",
    "SHAPE_KEYS",
    "SHAPE_POINTS",
    "b_spline_bases",
    "kan_init_map",
    "kan_knots",
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


class Vanilla(NeuronLayer):
    """B1 vanilla: ``y = ReLU(W x + b)`` (chapter v5)."""

    equation = r"y = \mathrm{ReLU}(W x + b)"
    chapter = "v5"

    def activate(self, h: Tensor) -> Tensor:
        return torch.relu(h)


class SinGLU(NeuronLayer):
    """B2 SinGLU: ``y = sin(omega * g) * v`` (chapters v4 and v5)."""

    uses_omega = True

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

    uses_omega = True

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

    uses_omega = True

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

    uses_omega = True

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

    uses_omega = True

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

    uses_omega = True

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

    uses_omega = True

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

    uses_omega = True

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

# ---------------------------------------------------------------------------------------------
# Related neurons of the literature (part "Related neurons"), at the same budget, in the same
# zoo. Each states its source; where this zoo's common frame (affine pre-activations with bias,
# ``depth`` hidden layers, a linear read-out with PyTorch's default init) departs from the
# authors' own network, the docstring says so.


class Siren(NeuronLayer):
    """SIREN (Sitzmann et al. 2020): ``y = sin(omega0 (W x + b))`` with ``omega0 = 30``.

    Initialisation as the authors give it (their reference ``SineLayer``): ``nn.Linear``'s
    default, then the weights redrawn ``U(-sqrt(6/n)/omega0, sqrt(6/n)/omega0)`` (``n`` the
    fan-in); the first layer (:class:`SirenFirst`) draws them ``U(-1/n, 1/n)``. Biases keep
    ``nn.Linear``'s default, as in their code. ``omega0`` is the authors' constant, so the
    protocol's ``omega`` is not used. The read-out is the zoo's linear layer.
    """

    OMEGA0 = 30.0
    equation = r"y = \sin\big(\omega_0 (W x + b)\big),\ \omega_0 = 30"
    chapter = "periodic"

    @classmethod
    def at(cls, index: int) -> type[NeuronLayer]:
        return SirenFirst if index == 0 else Siren

    def weight_bound(self) -> float:
        """Half-width of the uniform weight init: ``sqrt(6/n) / omega0``."""
        return math.sqrt(6.0 / self.proj.in_dim) / self.OMEGA0

    def activate(self, h: Tensor) -> Tensor:
        return torch.sin(self.OMEGA0 * h)

    def reset_member(self, m: int, gen: torch.Generator) -> None:
        super().reset_member(m, gen)  # nn.Linear's default (weight, then bias), as theirs
        bound = self.weight_bound()
        with torch.no_grad():
            w = torch.empty(self.proj.weight.shape[1:]).uniform_(-bound, bound, generator=gen)
            self.proj.weight[m].copy_(w)


class SirenFirst(Siren):
    """SIREN's first layer: weights ``U(-1/n, 1/n)`` (Sitzmann et al. 2020, Sec. 3.2)."""

    def weight_bound(self) -> float:
        return 1.0 / self.proj.in_dim


class Snake(NeuronLayer):
    """Snake (Liu Ziyin et al. 2020): ``y = h + sin^2(alpha h) / alpha``, ``h = W x + b``.

    ``alpha`` is learned per neuron (the paper's learnable variant), initialised to 1 (the
    start BigVGAN's Snake uses; the paper leaves it to the user, as torch-snake does).
    """

    vectors = {"alpha": 1.0}
    equation = r"y = h + \sin^2(\alpha h)/\alpha,\ h = W x + b"
    chapter = "periodic"

    def activate(self, h: Tensor) -> Tensor:
        return h + torch.sin(self.alpha * h).square() / self.alpha

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        return {"alpha_mean": _member_mean(self.alpha), "alpha_std": _member_std(self.alpha)}


class FourierFeatures(NeuronLayer):
    """Fourier features (Tancik et al. 2020) in front of a ReLU network.

    The first hidden layer maps its input through a fixed random Fourier feature map,
    ``gamma(x) = [cos(2 pi sigma B x), sin(2 pi sigma B x)]`` with ``B ~ N(0, 1)`` drawn per run
    (a buffer: not trained, not counted), then ``y = ReLU(W gamma(x) + b)``; the other hidden
    layers are plain ReLU (:class:`Vanilla`). The scale ``sigma`` is the protocol's ``omega``
    (a setting, per member). Reading: ``B`` has as many frequencies as the layer has units.
    """

    uses_omega = True

    equation = (
        r"y = \mathrm{ReLU}(W \gamma(x) + b),\ \gamma(x) = [\cos 2\pi\sigma B x,\ "
        r"\sin 2\pi\sigma B x],\ B \sim \mathcal{N}(0, 1)"
    )
    chapter = "periodic"

    def __init__(self, members: int, in_dim: int, width: int, omega: float, rank: int) -> None:
        super().__init__(members, in_dim, width, omega, rank)
        self.proj = StackedLinear(members, 2 * width, width)
        self.register_buffer("freqs", torch.zeros(members, in_dim, width))

    @classmethod
    def at(cls, index: int) -> type[NeuronLayer]:
        return FourierFeatures if index == 0 else Vanilla

    def features(self, x: Tensor) -> Tensor:
        """``gamma(x)``: ``[M, N, in] -> [M, N, 2 * width]`` (cosines, then sines)."""
        z = bmm(x, self.freqs) * (self.omega * (2 * math.pi))
        return torch.cat([torch.cos(z), torch.sin(z)], dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.proj(self.features(x)))

    def reset_member(self, m: int, gen: torch.Generator) -> None:
        super().reset_member(m, gen)
        with torch.no_grad():
            self.freqs[m].copy_(torch.randn(self.freqs.shape[1:], generator=gen))


#: Where the learned activations (rational, KAN's first edge) are sampled for the diagnostic,
#: and the diagnostics that hold them (first layer only: see :meth:`Network.internals`).
SHAPE_POINTS = tuple(-3.0 + 0.75 * i for i in range(9))
SHAPE_KEYS = tuple(f"first_shape_{i}" for i in range(len(SHAPE_POINTS)))

#: KAN's spline grid, as efficient-kan's defaults: 5 intervals on [-1, 1], cubic B-splines.
KAN_GRID, KAN_ORDER, KAN_RANGE = 5, 3, (-1.0, 1.0)
#: efficient-kan's amplitude of the noise its spline coefficients are fitted to at init.
KAN_NOISE = 0.1


def kan_knots(dtype: torch.dtype = torch.float32, grid: int = KAN_GRID) -> Tensor:
    """The ``G + 2k + 1`` knots of KAN's grid of ``G = grid`` intervals, extended by ``k``
    intervals on each side, computed as efficient-kan computes them: ``arange(-k, G + k + 1) *
    h + lo``."""
    h = (KAN_RANGE[1] - KAN_RANGE[0]) / grid
    return torch.arange(-KAN_ORDER, grid + KAN_ORDER + 1).to(dtype) * h + KAN_RANGE[0]


def b_spline_bases(x: Tensor, knots: Tensor, order: int = KAN_ORDER) -> Tensor:
    """B-spline bases of ``order`` on ``knots`` (Cox-de Boor): ``[...] -> [..., len(knots) -
    order - 1]``; zero outside ``[knots[0], knots[-1])``."""
    x = x[..., None]
    bases = ((x >= knots[:-1]) & (x < knots[1:])).to(x.dtype)
    for k in range(1, order + 1):
        left = (x - knots[: -(k + 1)]) / (knots[k:-1] - knots[: -(k + 1)]) * bases[..., :-1]
        right = (knots[k + 1 :] - x) / (knots[k + 1 :] - knots[1:-k]) * bases[..., 1:]
        bases = left + right
    return bases


def _exact_bases(t: Fraction, knots: list[Fraction], order: int) -> list[Fraction]:
    """:func:`b_spline_bases` of one point in exact rational arithmetic."""
    bases = [Fraction(int(a <= t < b)) for a, b in zip(knots, knots[1:])]
    for k in range(1, order + 1):
        bases = [
            (t - knots[i]) / (knots[i + k] - knots[i]) * bases[i]
            + (knots[i + k + 1] - t) / (knots[i + k + 1] - knots[i + 1]) * bases[i + 1]
            for i in range(len(bases) - 1)
        ]
    return bases


@cache
def kan_init_map(grid: int = KAN_GRID) -> tuple[tuple[float, ...], ...]:
    """The ``(G + k) x (G + 1)`` matrix that efficient-kan's ``curve2coeff`` applies at init, for
    a grid of ``G = grid`` intervals: the minimum-norm least-squares spline coefficients of
    values given at the ``G + 1`` grid points (the pseudo-inverse of the bases there). Computed
    exactly (fractions), rounded once to double: the same numbers on every host, where a LAPACK
    solve could differ."""
    lo, hi = Fraction(KAN_RANGE[0]), Fraction(KAN_RANGE[1])
    h = (hi - lo) / grid
    knots = [lo + j * h for j in range(-KAN_ORDER, grid + KAN_ORDER + 1)]
    a = [_exact_bases(lo + j * h, knots, KAN_ORDER) for j in range(grid + 1)]  # [G+1, G+k]
    rows, cols = len(a), len(a[0])
    # pinv(A) = A^T (A A^T)^-1 (A has full row rank): invert A A^T by Gauss-Jordan.
    gram = [[sum(a[i][c] * a[j][c] for c in range(cols)) for j in range(rows)] for i in range(rows)]
    inv = [[Fraction(int(i == j)) for j in range(rows)] for i in range(rows)]
    for col in range(rows):
        pivot = next(r for r in range(col, rows) if gram[r][col] != 0)
        gram[col], gram[pivot] = gram[pivot], gram[col]
        inv[col], inv[pivot] = inv[pivot], inv[col]
        scale = gram[col][col]
        gram[col] = [v / scale for v in gram[col]]
        inv[col] = [v / scale for v in inv[col]]
        for r in range(rows):
            if r != col and gram[r][col] != 0:
                f = gram[r][col]
                gram[r] = [v - f * w for v, w in zip(gram[r], gram[col])]
                inv[r] = [v - f * w for v, w in zip(inv[r], inv[col])]
    return tuple(
        tuple(float(sum(a[i][c] * inv[i][j] for i in range(rows))) for j in range(rows))
        for c in range(cols)
    )


class KAN(NeuronLayer):
    """A Kolmogorov-Arnold layer (Liu et al. 2024), as efficient-kan's ``KANLinear``.

    ``y_j = sum_i w_ij SiLU(x_i) + s_ij sum_k c_ijk B_k(x_i)``: a SiLU base branch plus a
    learned cubic B-spline per edge (grid of :attr:`grid` intervals on [-1, 1], 5 as
    efficient-kan's default, extended by 3 knots each side), no bias. :func:`kan_layer` gives
    the layer of another grid (:attr:`TrainConfig.kan_grid`).
    Initialisation as efficient-kan's: ``w`` and ``s`` Kaiming-uniform (``U(-1/sqrt(n),
    1/sqrt(n))``), ``c`` the least-squares spline coefficients of noise ``U(-0.01, 0.01)`` at
    the grid points (:func:`kan_init_map`). Input range: the grid is fixed on [-1, 1], the
    range of every task's inputs (efficient-kan's default); outside it only the base branch
    and the splines' tails act. pykan's grid updates during training are not used; the
    diagnostic ``out_of_grid`` reports the share of inputs outside the grid. Reading: the
    zoo's linear read-out, not a last KAN layer.
    """

    equation = (
        r"y_j = \sum_i w_{ij}\,\mathrm{SiLU}(x_i) + s_{ij} \sum_k c_{ijk} B_k(x_i)"
    )
    chapter = "learned"
    grid = KAN_GRID

    def __init__(self, members: int, in_dim: int, width: int, omega: float, rank: int) -> None:
        super().__init__(members, in_dim, width, omega, rank)
        self.proj = StackedLinear(members, in_dim, width, bias=False)  # the base weights w
        # Every parameter is [M, rows, cols], as the trainer's per-member Adam constants expect:
        # c as [M, in * (G + k), width] (input i: rows i (G + k) ...), s as [M, in, width].
        self.n_bases = self.grid + KAN_ORDER
        self.spline_weight = nn.Parameter(torch.empty(members, in_dim * self.n_bases, width))
        self.spline_scaler = nn.Parameter(torch.empty(members, in_dim, width))
        self.register_buffer("knots", kan_knots(grid=self.grid), persistent=False)

    def spline_weights(self) -> Tensor:
        """``s_ij c_ijk`` as one matrix: ``[M, in * (G + k), width]``."""
        m, rows, width = self.spline_weight.shape
        c = self.spline_weight.reshape(m, rows // self.n_bases, self.n_bases, width)
        return (c * self.spline_scaler[:, :, None, :]).reshape(m, rows, width)

    def forward(self, x: Tensor) -> Tensor:
        bases = b_spline_bases(x, self.knots)  # [M, N, in, G + k]
        bases = bases.reshape(*bases.shape[:2], -1)
        return self.proj(nn.functional.silu(x)) + bmm(bases, self.spline_weights())

    def reset_member(self, m: int, gen: torch.Generator) -> None:
        self.proj.reset_member(m, gen)
        in_dim, width = self.spline_scaler.shape[1:]
        noise = (torch.rand(self.grid + 1, in_dim, width, generator=gen) - 0.5) * (
            KAN_NOISE / self.grid
        )
        noise = noise.double()
        coeffs = [sum(p * noise[j] for j, p in enumerate(row)) for row in kan_init_map(self.grid)]
        bound = 1.0 / math.sqrt(in_dim)
        with torch.no_grad():
            c = torch.stack(coeffs, dim=1).float()  # [in, G + k, width]
            self.spline_weight[m].copy_(c.reshape(in_dim * self.n_bases, width))
            s = torch.empty(in_dim, width).uniform_(-bound, bound, generator=gen)
            self.spline_scaler[m].copy_(s)

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        lo, hi = KAN_RANGE
        out = ((x < lo) | (x > hi)).to(x.dtype)
        stats = {"out_of_grid": _member_mean(out)}
        # The learned activation of the first edge (input 0 -> unit 0), on SHAPE_POINTS.
        t = torch.tensor(SHAPE_POINTS)
        bases = b_spline_bases(t, self.knots)  # [P, G + k]
        w = self.proj.weight[:, 0, 0]  # [M]
        c = self.spline_weight[:, : self.n_bases, 0] * self.spline_scaler[:, :1, 0]  # [M, G+k]
        # a sum of products, not a matrix product: eager float32 products go through MKL
        spline = (c[:, :, None] * bases.T[None]).sum(dim=1)  # [M, P]
        phi = w[:, None] * nn.functional.silu(t)[None] + spline
        stats.update(zip(SHAPE_KEYS, phi.unbind(1)))
        return stats


@cache
def kan_layer(grid: int) -> type[KAN]:
    """KAN's layer with a spline grid of ``grid`` intervals (efficient-kan's ``grid_size``):
    :class:`KAN` itself at efficient-kan's default, else a subclass named ``KAN<grid>`` (one
    class per grid, so that the trainer compiles and chunks each grid apart).

    Raises:
        ValueError: on a grid that is not an integer >= 1.
    """
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
        raise ValueError(f"invalid kan_grid={grid!r}: must be an integer >= 1")
    if grid == KAN_GRID:
        return KAN
    return type(f"KAN{grid}", (KAN,), {"grid": grid, "__doc__": f"KAN with a grid of {grid}."})


class GLU(NeuronLayer):
    """Base of the GLU family (Shazeer 2020): ``y = act(g) * v``, ``g = Wg x``, ``v = Wv x``.

    Reading: with biases, as SinGLU here (Shazeer's feed-forward variants have none), so that
    the family differs from SinGLU only in the gate's function.
    """

    branches = ("gate", "value")
    chapter = "gated"

    def gate(self, g: Tensor) -> Tensor:
        raise NotImplementedError

    def activate(self, g: Tensor, v: Tensor) -> Tensor:
        return self.gate(g) * v

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        g = self.proj.split(x)[0]
        return {"gate_range": _member_mean(g.abs())}


class Bilinear(GLU):
    """Bilinear GLU (Shazeer 2020): ``y = g * v``; SinGLU without its sine (its control)."""

    equation = r"y = g \odot v"

    def gate(self, g: Tensor) -> Tensor:
        return g


class ReGLU(GLU):
    """ReGLU (Shazeer 2020): ``y = ReLU(g) * v``."""

    equation = r"y = \mathrm{ReLU}(g) \odot v"

    def gate(self, g: Tensor) -> Tensor:
        return torch.relu(g)


class GEGLU(GLU):
    """GEGLU (Shazeer 2020): ``y = GELU(g) * v`` (the exact, erf-based GELU)."""

    equation = r"y = \mathrm{GELU}(g) \odot v"

    def gate(self, g: Tensor) -> Tensor:
        return nn.functional.gelu(g)


class SwiGLU(GLU):
    """SwiGLU (Shazeer 2020): ``y = Swish(g) * v``, ``Swish(g) = g sigmoid(g)`` (beta = 1)."""

    equation = r"y = \mathrm{Swish}(g) \odot v"

    def gate(self, g: Tensor) -> Tensor:
        return nn.functional.silu(g)


#: The safe Pade activation unit's initial coefficients, degrees (5, 4), approximating leaky
#: ReLU on [-3, 3]: the authors' values (rational_activations' ``rationals_config.json``,
#: version A, ``leaky_relu``; compared with the package in tests/test_neurons.py).
PAU_NUMERATOR = (
    0.029792778657264946, 0.6183735264987601, 2.323309062531321,
    3.051936237265109, 1.4854203263828845, 0.2510244961111299,
)
PAU_DENOMINATOR = (
    -1.1419548357285474, 4.393159974992486, 0.8714712309957245, 0.34719662339598834,
)


class Rational(NeuronLayer):
    """Safe Pade activation unit (Molina et al. 2020), degrees (5, 4), on ``h = W x + b``:
    ``y = P(h) / Q(h)``, ``P(h) = sum_j a_j h^j``, ``Q(h) = 1 + sum_k |b_k| |h|^k``.

    The ten coefficients are learned, one set per layer (shared by its neurons, as in the
    paper), initialised to approximate leaky ReLU (:data:`PAU_NUMERATOR`,
    :data:`PAU_DENOMINATOR`).
    """

    equation = (
        r"y = \frac{\sum_{j=0}^{5} a_j h^j}{1 + \sum_{k=1}^{4} |b_k|\,|h|^k},\ h = W x + b"
    )
    chapter = "learned"

    def __init__(self, members: int, in_dim: int, width: int, omega: float, rank: int) -> None:
        super().__init__(members, in_dim, width, omega, rank)
        self.numerator = nn.Parameter(torch.empty(members, len(PAU_NUMERATOR), 1))
        self.denominator = nn.Parameter(torch.empty(members, len(PAU_DENOMINATOR), 1))

    @staticmethod
    def rational(h: Tensor, numerator: Tensor, denominator: Tensor) -> Tensor:
        """``P(h) / Q(h)`` for ``h [M, ...]`` with coefficients ``[M, 6, 1]`` and ``[M, 4, 1]``."""
        p = numerator[:, :1]
        q = torch.ones_like(h)
        power, abs_power = h, h.abs()
        for j in range(1, numerator.shape[1]):
            p = p + numerator[:, j : j + 1] * power
            if j <= denominator.shape[1]:
                q = q + denominator[:, j - 1 : j].abs() * abs_power
            if j + 1 < numerator.shape[1]:
                power, abs_power = power * h, abs_power * h.abs()
        return p / q

    def activate(self, h: Tensor) -> Tensor:
        return self.rational(h, self.numerator, self.denominator)

    def reset_member(self, m: int, gen: torch.Generator) -> None:
        super().reset_member(m, gen)
        with torch.no_grad():
            self.numerator[m].copy_(torch.tensor(PAU_NUMERATOR).view(-1, 1))
            self.denominator[m].copy_(torch.tensor(PAU_DENOMINATOR).view(-1, 1))

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        t = torch.tensor(SHAPE_POINTS).expand(self.numerator.shape[0], 1, -1)
        y = self.rational(t, self.numerator, self.denominator)[:, 0]  # [M, P]
        return dict(zip(SHAPE_KEYS, y.unbind(1)))


#: PolyNorm's epsilon (PolyCom's code).
POLYNORM_EPS = 1e-6


class PolyNorm(NeuronLayer):
    """PolyNorm of order 3 (PolyCom, Zhuo et al. 2024) on ``h = W x + b``:
    ``y = sum_{i=1}^{3} w_i norm(h^i) + c``, ``norm(u) = u / sqrt(mean(u^2) + eps)`` over the
    layer's neurons; ``w`` (init 1/3 each) and ``c`` (init 0) learned, one set per layer.
    """

    equation = (
        r"y = \sum_{i=1}^{3} w_i \frac{h^i}{\sqrt{\langle (h^i)^2 \rangle + \epsilon}} + c,"
        r"\ h = W x + b"
    )
    chapter = "learned"

    def __init__(self, members: int, in_dim: int, width: int, omega: float, rank: int) -> None:
        super().__init__(members, in_dim, width, omega, rank)
        self.poly_weight = nn.Parameter(torch.empty(members, 3, 1))
        self.poly_bias = nn.Parameter(torch.empty(members, 1, 1))

    @staticmethod
    def norm(u: Tensor) -> Tensor:
        return u * torch.rsqrt(u.square().mean(dim=-1, keepdim=True) + POLYNORM_EPS)

    def activate(self, h: Tensor) -> Tensor:
        w = self.poly_weight
        h2 = h * h
        return (
            w[:, 0:1] * self.norm(h2 * h) + w[:, 1:2] * self.norm(h2) + w[:, 2:3] * self.norm(h)
            + self.poly_bias
        )

    def reset_member(self, m: int, gen: torch.Generator) -> None:
        super().reset_member(m, gen)
        with torch.no_grad():
            self.poly_weight[m].fill_(1.0 / 3.0)
            self.poly_bias[m].fill_(0.0)

    def internals(self, x: Tensor) -> dict[str, Tensor]:
        w = self.poly_weight[:, :, 0]
        return {"w_cubic": w[:, 0], "w_square": w[:, 1], "w_linear": w[:, 2]}


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


#: The chapters of the part "Related neurons": periodic, gated, learned activations.
RELATED_FAMILIES = ("periodic", "gated", "learned")
#: The chapter of the study's two baselines (vanilla ReLU and SinGLU).
BASELINE_CHAPTER = "v5"
#: The families the architectures fall into, by the chapter that presents each: the study's
#: baselines, its own variants (v1-v15), and the related neurons of the literature by kind.
FAMILIES = ("baselines", "the study's variants", *(f"related: {f}" for f in RELATED_FAMILIES))


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
    def is_related(self) -> bool:
        """Whether this is a related neuron of the literature, not one of the study's."""
        return self.chapter in RELATED_FAMILIES

    @property
    def family(self) -> str:
        """Its family of :data:`FAMILIES`."""
        if self.chapter == BASELINE_CHAPTER:
            return FAMILIES[0]
        return f"related: {self.chapter}" if self.is_related else FAMILIES[1]

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
        ArchSpec("siren", Siren, "SIREN", "periodic", 1),
        ArchSpec("snake", Snake, "Snake", "periodic", 1),
        ArchSpec("fourier_features", FourierFeatures, "Fourier features + ReLU", "periodic", 1),
        ArchSpec("bilinear", Bilinear, "bilinear GLU", "gated", 2),
        ArchSpec("reglu", ReGLU, "ReGLU", "gated", 2),
        ArchSpec("geglu", GEGLU, "GEGLU", "gated", 2),
        ArchSpec("swiglu", SwiGLU, "SwiGLU", "gated", 2),
        ArchSpec("kan", KAN, "KAN (B-spline)", "learned", 10),
        ArchSpec("rational", Rational, "rational (safe PAU)", "learned", 1),
        ArchSpec("polynorm", PolyNorm, "PolyNorm", "learned", 1),
    ]
}


#: The study's variants in its order, aliases left out (for "first to ..." claims).
VERSION_ORDER = tuple(
    a for a, spec in ARCHITECTURES.items() if spec.family == FAMILIES[1] and spec.canonical == a
)
#: The architectures whose equation the protocol's ``omega`` reaches (SIREN keeps its authors'
#: omega0 = 30; its initialisation scale is tuned instead).
OMEGA_ARCHS = tuple(a for a, spec in ARCHITECTURES.items() if spec.layer.uses_omega)


def get_arch(arch: str) -> ArchSpec:
    """The registry entry of ``arch``; ``ValueError`` naming the valid ids otherwise."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {arch!r}; valid architectures: {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch]


def layer_of(arch: str, kan_grid: int = KAN_GRID) -> type[NeuronLayer]:
    """The layer class that ``arch`` trains with under a protocol whose KAN grid is
    ``kan_grid`` (:attr:`TrainConfig.kan_grid`; it changes KAN's layer alone)."""
    layer = get_arch(arch).layer
    return kan_layer(kan_grid) if layer is KAN else layer


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
