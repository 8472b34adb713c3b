"""The registry: every architecture of the catalogue (:mod:`richneuron.architectures`: id,
title, chapter, family, matrices) bound to its layer class, and what the classes decide
(which architectures the protocol's omega reaches, which layer a KAN grid trains)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..architectures import ARCHITECTURES as CATALOGUE
from ..architectures import ArchInfo, arch_info
from .base import NeuronLayer
from .gated import GEGLU, Bilinear, ReGLU, SwiGLU
from .learned import KAN, KAN_GRID, PolyNorm, Rational, kan_layer
from .periodic import FourierFeatures, Siren, Snake
from .study import (
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

#: The layer classes the catalogue names.
_CLASSES: tuple[type[NeuronLayer], ...] = (
    Vanilla, SinGLU, V1Rich, V4LowRank, V4Shared, V6Routing, V7Frequency, V8PhaseGate,
    V9Controlled, V10FreePhase, V11DisciplinedPhase, V12FrequencyModulation, V13AlignedPhase,
    V15DualPhase, Siren, Snake, FourierFeatures, Bilinear, ReGLU, GEGLU, SwiGLU, KAN, Rational,
    PolyNorm, SinGLULayerNorm, V7Value,
)
#: Every layer class the catalogue names, by its name.
LAYERS: dict[str, type[NeuronLayer]] = {c.__name__: c for c in _CLASSES}
if len(LAYERS) != len(_CLASSES):  # two classes of one name: the catalogue could not tell them
    raise RuntimeError("richneuron.neurons.registry: two layer classes share a name")
if set(LAYERS) != {info.layer_name for info in CATALOGUE.values()}:
    raise RuntimeError(
        "richneuron.neurons.registry: the catalogue and the layer classes differ: "
        f"{sorted(set(LAYERS) ^ {info.layer_name for info in CATALOGUE.values()})}"
    )


@dataclass(frozen=True)
class ArchSpec(ArchInfo):
    """One architecture of the catalogue (:class:`richneuron.architectures.ArchInfo`: id,
    title, chapter, family, matrices) with its layer class."""

    layer: type[NeuronLayer]

    @property
    def equation(self) -> str:
        return self.layer.equation


#: Every architecture of the catalogue, bound to its layer class.
ARCHITECTURES: dict[str, ArchSpec] = {
    a: ArchSpec(**dataclasses.asdict(info), layer=LAYERS[info.layer_name])
    for a, info in CATALOGUE.items()
}

#: The architectures whose equation the protocol's ``omega`` reaches (SIREN keeps its authors'
#: omega0 = 30; its initialisation scale is tuned instead).
OMEGA_ARCHS = tuple(a for a, spec in ARCHITECTURES.items() if spec.layer.uses_omega)


def get_arch(arch: str) -> ArchSpec:
    """The registry entry of ``arch``; ``ValueError`` naming the valid ids otherwise."""
    return ARCHITECTURES[arch_info(arch).id]


def layer_of(arch: str, kan_grid: int = KAN_GRID) -> type[NeuronLayer]:
    """The layer class that ``arch`` trains with under a protocol whose KAN grid is
    ``kan_grid`` (:attr:`TrainConfig.kan_grid`; it changes KAN's layer alone)."""
    layer = get_arch(arch).layer
    return kan_layer(kan_grid) if layer is KAN else layer
