"""Floating-point operations per training point, in closed form per neuron (the Scaling
chapter's cost axes; issue 34).

One training step on N points costs N times :func:`flops` (forward and backward) of the
network, plus what is done once per step to the weights alone (Adam's update, KAN's products
of spline coefficients and scales), which does not grow with N and is left out.

**Matrix products** (exact; :mod:`richneuron.neurons.flops` checks them against
``torch.utils.flop_counter.FlopCounterMode``): a product of a point's ``k`` inputs by a
``k x j`` matrix costs ``2 k j`` forward; backward, ``2 k j`` for the weights' gradient and
``2 k j`` more for the inputs' gradient, which the first hidden layer does not need (the data
need no gradient), nor does a product whose operands both need none (Fourier features' fixed
random map of the data).

**Everything else** (the conventions, stated): per element, an addition, subtraction,
multiplication, division, absolute value, comparison or ReLU is 1 FLOP; a sigmoid 4, a SiLU 5,
a tanh 6 and an exact GELU 14 (KANbeFair's table, Yu et al. 2024); a sine or cosine 6 (as a
tanh: our choice) and a softplus 4 (as a sigmoid: ours); a reduction over a layer's units
counts its additions. The backward pass of these costs twice their forward (a derivative and
a product by the incoming gradient per operation), except where they act on the data alone
(a first layer's map of its inputs: KAN's spline bases, Fourier features): no gradient. Each
neuron's count is written out below, term by term, from its equation as the code evaluates it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..architectures import ARCHITECTURES

__all__ = [
    "BACKWARD_FACTOR",
    "COSTS",
    "Flops",
    "flops",
    "matrix_products",
]

#: The conventions' costs per element (see the module docstring).
COSTS = {"op": 1, "sigmoid": 4, "silu": 5, "tanh": 6, "gelu": 14, "sin": 6, "softplus": 4}
#: Backward cost of the element-wise operations, as a multiple of their forward cost.
BACKWARD_FACTOR = 2

_S, _T, _SIG = COSTS["sin"], COSTS["tanh"], COSTS["sigmoid"]

#: Matrices (fused branches) of each neuron's layer: ``w`` outputs each, one bias each.
BRANCHES = {
    "vanilla": 1, "singlu": 2, "v1": 2, "v4_shared": 1, "v6": 3, "v7": 2, "v8": 3, "v9": 5,
    "v10": 3, "v11": 3, "v12": 3, "v13": 3, "v15": 3, "siren": 1, "snake": 1, "bilinear": 2,
    "reglu": 2, "geglu": 2, "swiglu": 2, "rational": 1, "polynorm": 1, "singlu_ln": 2,
    "v7_value": 3,
}

#: LayerNorm over a layer's w units: mean (w), centre (w), square (w), mean (w), + eps and
#: rsqrt (2, once per point), centre again, scale by rsqrt, by the learned scale, shift (4w).
_LN = (8, 2)

#: Element-wise FLOPs per unit of each neuron's activation, after its biases: ``(per unit,
#: per point)``, term by term from the equation (``w`` units; the biases are counted apart).
ACTIVATION = {
    "vanilla": (1, 0),  # relu
    "singlu": (1 + _S + 1, 0),  # omega g, sin, * v
    "v1": (1 + _S + 1 + 1 + _LN[0], _LN[1]),  # omega h2, sin, h1 *, + h1, LN
    "v4_shared": (1 + 1 + _S + 1 + 1 + _LN[0], _LN[1]),  # omega h, + b, sin, h *, + h, LN
    "v4_lowrank": (1 + _S + 1 + 1 + _LN[0], _LN[1]),  # as v1 on the factored projections
    "v6": (_SIG + 1 + _S + 1 + 1 + 1 + 1, 0),  # sigmoid, omega g, sin, a *, 1 - a, * v, +
    "v7": (COSTS["softplus"] + 1 + 1 + 1 + _S, 0),  # softplus, * omega, / ln 2, * g, sin
    "v8": (_SIG + 1 + 1 + _S + 1, 0),  # sigmoid, omega g, + phi, sin, *
    # sigmoid; tanh, * 0.5, 1 +, * omega; * g; tanh, * pi, +; sin; a *, 1 - a, * v, +
    "v9": (_SIG + _T + 3 + 1 + _T + 2 + _S + 4, 0),
    "v10": (1 + _T + 1 + 1 + _S + 1, 0),  # omega g, tanh, * pi, +, sin, * v
    "v11": (_T + 1 + 1 + 1 + _S + 1, 0),  # tanh, * 0.1, g +, * omega, sin, * v
    "v12": (1 + _T + 1 + 1 + 1 + _S + 1, 0),  # omega g, tanh, * 0.2, 1 +, *, sin, * v
    "v13": (1 + 1 + _T + 1 + 1 + _S + 1, 0),  # omega g, 0.1 g, tanh, *, +, sin, * v
    # omega g, beta phi, +, sin; (2 omega) g, gamma phi, +, sin, alpha *, 1 +; two products
    "v15": (3 + _S + 3 + _S + 2 + 2, 0),
    "siren": (1 + _S, 0),  # omega0 h, sin
    "snake": (1 + _S + 1 + 1 + 1, 0),  # alpha h, sin, square, / alpha, h +
    "bilinear": (1, 0),  # g * v
    "reglu": (1 + 1, 0),  # relu, * v
    "geglu": (COSTS["gelu"] + 1, 0),  # gelu, * v
    "swiglu": (COSTS["silu"] + 1, 0),  # silu, * v
    # |h|; P: 5 (a_j *, +); Q: 4 (|b_k| *, +); powers: 4 (h^j), 4 (|h|^j: a new |h| and *); /
    "rational": (1 + 10 + 8 + 4 + 8 + 1, 0),
    # h^2, h^3; three norms (square, mean, * rsqrt: 3w, + eps and rsqrt: 2); w_i *, two +, + c
    "polynorm": (2 + 9 + 3 + 3, 6),
    "singlu_ln": (1 + _S + 1 + _LN[0], _LN[1]),  # SinGLU, then LN
    "v7_value": (COSTS["softplus"] + 1 + 1 + 1 + _S + 1, 0),  # v7, then * v
}


@dataclass(frozen=True)
class Flops:
    """One network's FLOPs per training point: matrix products and element-wise operations,
    forward and backward (:func:`flops`)."""

    matrix_forward: int
    matrix_backward: int
    elementwise_forward: int
    #: The part of ``elementwise_forward`` on the data alone (KAN's first-layer spline bases
    #: and SiLU, Fourier features' map of the inputs): no gradient flows through it.
    data_only: int = 0

    @property
    def elementwise_backward(self) -> int:
        """:data:`BACKWARD_FACTOR` times the forward element-wise work that needs a gradient."""
        return BACKWARD_FACTOR * (self.elementwise_forward - self.data_only)

    @property
    def matrix(self) -> int:
        """Matrix products, forward and backward: what the counter checks."""
        return self.matrix_forward + self.matrix_backward

    @property
    def total(self) -> int:
        """Forward and backward, everything: one training point's cost."""
        return self.matrix + self.elementwise_forward + self.elementwise_backward


def matrix_products(
    arch: str, in_dim: int, out_dim: int, widths: Sequence[int], rank: int = 8, kan_grid: int = 5
) -> list[tuple[int, int, bool, bool]]:
    """Every matrix product of the network for one point, in order: ``(k, j, input needs a
    gradient, weight needs a gradient)``."""
    out: list[tuple[int, int, bool, bool]] = []
    n = in_dim
    for i, w in enumerate(widths):
        grad_in = i > 0
        if arch == "v4_lowrank":
            out += [(n, 2 * rank, grad_in, True), (rank, w, True, True), (rank, w, True, True)]
        elif arch == "fourier_features" and i == 0:
            out += [(n, w, False, False), (2 * w, w, False, True)]
        elif arch == "fourier_features":
            out.append((n, w, grad_in, True))
        elif arch == "kan":
            out += [(n, w, grad_in, True), (n * (kan_grid + 3), w, grad_in, True)]
        else:
            out.append((n, BRANCHES[arch] * w, grad_in, True))
        n = w
    out.append((n, out_dim, True, True))
    return out


def _elementwise(arch: str, n: int, w: int, first: bool, kan_grid: int) -> tuple[int, int]:
    """One hidden layer's forward element-wise FLOPs for one point (``n`` inputs, ``w``
    units), biases included, and the part of them on the data alone (a first layer's work on
    its inputs, which needs no gradient)."""
    if arch == "kan":
        # per input: the B-spline bases (Cox-de Boor, cubic) on G + 2k + 1 knots: 3 ops per
        # initial interval (two comparisons and an and), then 7 per basis of each order
        # (two differences, two quotients, two products, a sum); SiLU; then the branches' sum
        intervals = kan_grid + 2 * 3
        bases = 3 * intervals + 7 * sum(intervals - k for k in (1, 2, 3))
        inputs = n * (bases + COSTS["silu"])
        return inputs + w, inputs if first else 0
    if arch == "fourier_features" and first:
        # (omega 2 pi) z, cos, sin (on the data alone); the projection's bias; relu
        return w * (1 + 2 * _S) + w + w, w * (1 + 2 * _S)
    if arch == "fourier_features":
        return 2 * w, 0  # a plain ReLU layer: bias, relu
    biases = 2 * w if arch == "v4_lowrank" else BRANCHES[arch] * w
    per_unit, per_point = ACTIVATION[arch]
    return biases + per_unit * w + per_point, 0


def flops(
    arch: str, in_dim: int, out_dim: int, widths: Sequence[int], rank: int = 8, kan_grid: int = 5
) -> Flops:
    """The network's FLOPs per training point (``widths``: its hidden layers' widths).

    Raises:
        ValueError: on an architecture without a count (naming it).
    """
    if arch in ARCHITECTURES:
        arch = ARCHITECTURES[arch].canonical  # an alias (v4_glu) is its neuron
    if arch not in ACTIVATION and arch not in ("kan", "fourier_features"):
        raise ValueError(f"arch: no FLOP count for {arch!r}")
    products = matrix_products(arch, in_dim, out_dim, widths, rank, kan_grid)
    forward = sum(2 * k * j for k, j, _, _ in products)
    backward = sum(2 * k * j * (gi + gw) for k, j, gi, gw in products)
    dims = (in_dim, *widths)
    parts = [_elementwise(arch, dims[i], w, i == 0, kan_grid) for i, w in enumerate(widths)]
    element = sum(e for e, _ in parts) + out_dim  # the read-out's bias
    return Flops(forward, backward, element, sum(d for _, d in parts))
