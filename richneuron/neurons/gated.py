"""Related neurons of the literature, gated: the GLU family (bilinear, ReGLU, GEGLU, SwiGLU)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import NeuronLayer, member_mean


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
        return {"gate_range": member_mean(g.abs())}


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
