"""Related neurons of the literature, learned activations: KAN (B-splines), the rational
(safe PAU) and PolyNorm."""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

import torch
from torch import Tensor, nn

from ..arithmetic.products import bmm
from .base import NeuronLayer, StackedLinear, member_mean

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
        stats = {"out_of_grid": member_mean(out)}
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


#: The safe Pade activation unit's initial coefficients, degrees (5, 4), approximating leaky
#: ReLU on [-3, 3]: the authors' values (rational_activations' ``rationals_config.json``,
#: version A, ``leaky_relu``; compared with the package in tests/neurons/test_neurons.py).
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
