"""Related neurons of the literature, periodic activations (SIREN, Snake, Fourier features).

Like every related neuron here (part "Related neurons"), each is at the same budget, in the same
zoo, and states its source; where this zoo's common frame (affine pre-activations with bias,
``depth`` hidden layers, a linear read-out with PyTorch's default init) departs from the
authors' own network, the docstring says so."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..arithmetic.products import bmm
from .base import NeuronLayer, StackedLinear, member_mean, member_std
from .study import Vanilla


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
        return {"alpha_mean": member_mean(self.alpha), "alpha_std": member_std(self.alpha)}


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
