"""The registry: every architecture's id, layer, title, the chapter that presents it and its
family, and the lists derived from it."""

from __future__ import annotations

from dataclasses import dataclass

from .base import NeuronLayer
from .gated import GEGLU, Bilinear, ReGLU, SwiGLU
from .learned import KAN, KAN_GRID, PolyNorm, Rational, kan_layer
from .periodic import FourierFeatures, Siren, Snake
from .study import (
    SinGLU,
    V1Rich,
    V4LowRank,
    V4Shared,
    V6Routing,
    V7Frequency,
    V8PhaseGate,
    V9Controlled,
    V10FreePhase,
    V11DisciplinedPhase,
    V12FrequencyModulation,
    V13AlignedPhase,
    V15DualPhase,
    Vanilla,
)

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
