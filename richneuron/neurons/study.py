"""The study's own neurons (chapters v1-v15): its two baselines and its adaptive variants."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .base import NeuronLayer, StackedLinear, member_corr, member_mean, member_std


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
        return {"alpha_mean": member_mean(alpha), "alpha_std": member_std(alpha)}


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
        return {"omega_mean": member_mean(w), "omega_std": member_std(w)}


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
        return {"gate_mean": member_mean(torch.sigmoid(a)), "phase_abs": member_mean(phi.abs())}


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
            "omega_mean": member_mean(self.omega * (1 + 0.5 * torch.tanh(s))),
            "phase_abs": member_mean(math.pi * torch.tanh(phi).abs()),
            "alpha_mean": member_mean(torch.sigmoid(r)),
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
        return {"phase_abs": member_mean(shift.abs()), "phase_signal_corr": member_corr(shift, g)}


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
        return {name: member_mean(getattr(self, name)) for name in self.vectors}


# ---------------------------------------------------------------------------------------------
# The boundedness ablation (chapter v15): is it the sine's periodicity, or a bounded output, that
# decides how a neuron does out of range (findings 7 and 8)?


class SinGLULayerNorm(V1Rich):
    """Ablation: SinGLU with the bounded output of v1 and v4, ``y = LayerNorm(sin(omega g) v)``
    (the LayerNorm over the layer's neurons with a learned per-neuron scale and shift, as v1's).
    """

    branches = ("gate", "value")
    vectors = {"ln_scale": 1.0, "ln_shift": 0.0}
    equation = r"y = \mathrm{LN}\big(\sin(\omega\, g) \odot v\big)"
    chapter = "ablation"

    def activate(self, g: Tensor, v: Tensor) -> Tensor:
        return self.layer_norm(torch.sin(self.omega * g) * v)


class V7Value(V7Frequency):
    """Ablation: v7 with a value branch, ``y = sin(omega(x) g) v``, so that its output is no
    longer bounded by the sine (v7's frequency ``omega(x)`` unchanged)."""

    branches = ("gate", "freq", "value")
    equation = (
        r"y = \sin(\omega(x) \odot g) \odot v,\ "
        r"\omega(x) = \omega\,\mathrm{softplus}(W_\omega x)/\ln 2"
    )
    chapter = "ablation"

    def activate(self, g: Tensor, s: Tensor, v: Tensor) -> Tensor:
        return torch.sin(self.frequency(s) * g) * v
