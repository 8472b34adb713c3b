"""The neuron zoo: every architecture of the study (chapters v1-v15) and the related neurons of
the literature (part "Related neurons") as stackable layers.

Every module here holds ``members`` independent networks at once: weights are ``[M, in, out]``,
activations ``[M, N, features]``. With ``members=1`` a network is the plain reference model; the
batched trainer (:mod:`richneuron.train.trainer`) trains many members of one shape together, which
is exact because nothing here mixes members.

Notation (as in the book): ``g = Wg x``, ``v = Wv x``, ``phi = Wphi x`` are pre-activations with
bias, ``omega`` is the fixed frequency of :class:`~richneuron.config.TrainConfig` (a ``[M, 1, 1]``
buffer: each member may have its own). The matrices
of one layer are fused into one :class:`StackedLinear` and split with ``chunk``.

The package's rooms mirror the book's parts: :mod:`.base` (the shared frame and the network),
:mod:`.study` (chapters v1-v15), :mod:`.periodic`, :mod:`.gated` and :mod:`.learned` (part
"Related neurons"), and :mod:`.registry` (the catalogue of :mod:`richneuron.architectures`
bound to the layer classes). To add a neuron, subclass :class:`NeuronLayer` in the room of its
kind, add its entry to the catalogue and its class to the registry.
"""

from .base import Network, NeuronLayer, StackedLinear
from .gated import GEGLU, GLU, Bilinear, ReGLU, SwiGLU
from .learned import (
    KAN,
    KAN_GRID,
    PAU_DENOMINATOR,
    PAU_NUMERATOR,
    SHAPE_KEYS,
    SHAPE_POINTS,
    PolyNorm,
    Rational,
    b_spline_bases,
    kan_init_map,
    kan_knots,
    kan_layer,
)
from .periodic import FourierFeatures, Siren, SirenFirst, Snake
from .registry import (
    ARCHITECTURES,
    OMEGA_ARCHS,
    ArchSpec,
    get_arch,
    layer_of,
)
from .study import (
    PhaseGLU,
    SinGLU,
    SinGLULayerNorm,
    V1Rich,
    V4LowRank,
    V4Shared,
    V6Routing,
    V7Frequency,
    V7Value,
    V8PhaseGate,
    V9Controlled,
    V10FreePhase,
    V11DisciplinedPhase,
    V12FrequencyModulation,
    V13AlignedPhase,
    V15DualPhase,
    Vanilla,
)

__all__ = [
    "ARCHITECTURES",
    "ArchSpec",
    "Bilinear",
    "FourierFeatures",
    "GEGLU",
    "GLU",
    "KAN",
    "KAN_GRID",
    "Network",
    "NeuronLayer",
    "OMEGA_ARCHS",
    "PAU_DENOMINATOR",
    "PAU_NUMERATOR",
    "PhaseGLU",
    "PolyNorm",
    "Rational",
    "ReGLU",
    "SHAPE_KEYS",
    "SHAPE_POINTS",
    "SinGLU",
    "SinGLULayerNorm",
    "Siren",
    "SirenFirst",
    "Snake",
    "StackedLinear",
    "SwiGLU",
    "V10FreePhase",
    "V11DisciplinedPhase",
    "V12FrequencyModulation",
    "V13AlignedPhase",
    "V15DualPhase",
    "V1Rich",
    "V4LowRank",
    "V4Shared",
    "V6Routing",
    "V7Frequency",
    "V7Value",
    "V8PhaseGate",
    "V9Controlled",
    "Vanilla",
    "b_spline_bases",
    "get_arch",
    "kan_init_map",
    "kan_knots",
    "kan_layer",
    "layer_of",
]
