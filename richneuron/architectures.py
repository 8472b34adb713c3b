"""The catalogue of architectures, without their code: every id, the name of the layer class
that computes it, its title, the chapter that presents it, its family and its weight matrices
per neuron.

It imports no torch, so that analysis and the results store read it without loading the
layers; :mod:`richneuron.neurons.registry` binds each entry to its layer
class (and a test holds the two together). To add a neuron, write its layer in the room of its
kind under :mod:`richneuron.neurons`, then add its entry here and its class to the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ABLATION",
    "ARCHITECTURES",
    "BASELINE_CHAPTER",
    "BOOK_ARCHS",
    "FAMILIES",
    "RELATED_FAMILIES",
    "VERSION_ORDER",
    "ArchInfo",
    "arch_info",
    "parse_archs",
]

#: The chapters of the part "Related neurons": periodic, gated, learned activations.
RELATED_FAMILIES = ("periodic", "gated", "learned")
#: The chapter of the study's two baselines (vanilla ReLU and SinGLU).
BASELINE_CHAPTER = "v5"
#: The families the architectures fall into, by the chapter that presents each: the study's
#: baselines, its own variants (v1-v15), and the related neurons of the literature by kind.
FAMILIES = (
    "baselines",
    "the study's variants",
    *(f"related: {f}" for f in RELATED_FAMILIES),
    "ablations",
)
#: The "chapter" of the ablations: variants built to test one explanation (chapter v15's
#: boundedness ablation), trained in their own sweep, not in the chapters' results, so that no
#: claim, table or count of the book's architectures includes them.
ABLATION = "ablation"


@dataclass(frozen=True)
class ArchInfo:
    """One architecture: its id, its layer class's name, and where the book presents it."""

    id: str
    layer_name: str  # the name of its layer class in richneuron.neurons
    title: str
    chapter: str
    matrices: int  # weight matrices per neuron (low-rank factors count as one matrix)

    @property
    def is_related(self) -> bool:
        """Whether this is a related neuron of the literature, not one of the study's."""
        return self.chapter in RELATED_FAMILIES

    @property
    def is_ablation(self) -> bool:
        """Whether this is an ablation (:data:`ABLATION`), not a neuron the book compares."""
        return self.chapter == ABLATION

    @property
    def family(self) -> str:
        """Its family of :data:`FAMILIES`."""
        if self.chapter == BASELINE_CHAPTER:
            return FAMILIES[0]
        if self.is_ablation:
            return FAMILIES[-1]
        return f"related: {self.chapter}" if self.is_related else FAMILIES[1]

    @property
    def canonical(self) -> str:
        """Id of the first architecture with the same layer: aliases share cached results."""
        return next(a.id for a in ARCHITECTURES.values() if a.layer_name == self.layer_name)


ARCHITECTURES: dict[str, ArchInfo] = {
    a.id: a
    for a in [
        ArchInfo("vanilla", "Vanilla", "B1 vanilla ReLU", "v5", 1),
        ArchInfo("singlu", "SinGLU", "B2 SinGLU", "v5", 2),
        ArchInfo("v1", "V1Rich", "v1 RichNeuron", "v1", 2),
        ArchInfo("v4_lowrank", "V4LowRank", "v4 low-rank", "v4", 2),
        ArchInfo("v4_shared", "V4Shared", "v4 shared weight", "v4", 1),
        ArchInfo("v4_glu", "SinGLU", "v4 GLU-style (SinGLU)", "v4", 2),
        ArchInfo("v6", "V6Routing", "v6 adaptive routing", "v6", 3),
        ArchInfo("v7", "V7Frequency", "v7 learnable frequency", "v7", 2),
        ArchInfo("v8", "V8PhaseGate", "v8 phase + amplitude gate", "v8", 3),
        ArchInfo("v9", "V9Controlled", "v9 bounded frequency + phase + gate", "v9", 5),
        ArchInfo("v10", "V10FreePhase", "v10 free phase", "v10", 3),
        ArchInfo("v11", "V11DisciplinedPhase", "v11 disciplined phase", "v11", 3),
        ArchInfo("v12", "V12FrequencyModulation", "v12 signal-proportional FM", "v12", 3),
        ArchInfo("v13", "V13AlignedPhase", "v13 signal-aligned phase", "v13", 3),
        ArchInfo("v15", "V15DualPhase", "v15 dual-phase", "v15", 3),
        ArchInfo("siren", "Siren", "SIREN", "periodic", 1),
        ArchInfo("snake", "Snake", "Snake", "periodic", 1),
        ArchInfo("fourier_features", "FourierFeatures", "Fourier features + ReLU", "periodic", 1),
        ArchInfo("bilinear", "Bilinear", "bilinear GLU", "gated", 2),
        ArchInfo("reglu", "ReGLU", "ReGLU", "gated", 2),
        ArchInfo("geglu", "GEGLU", "GEGLU", "gated", 2),
        ArchInfo("swiglu", "SwiGLU", "SwiGLU", "gated", 2),
        ArchInfo("kan", "KAN", "KAN (B-spline)", "learned", 10),
        ArchInfo("rational", "Rational", "rational (safe PAU)", "learned", 1),
        ArchInfo("polynorm", "PolyNorm", "PolyNorm", "learned", 1),
        ArchInfo("singlu_ln", "SinGLULayerNorm", "ablation: SinGLU + LayerNorm", ABLATION, 2),
        ArchInfo("v7_value", "V7Value", "ablation: v7 + value branch", ABLATION, 3),
    ]
}

#: The study's variants in its order, aliases left out (for "first to ..." claims).
VERSION_ORDER = tuple(
    a for a, info in ARCHITECTURES.items() if info.family == FAMILIES[1] and info.canonical == a
)


#: The book's architectures: every distinct neuron of the catalogue (no alias, no ablation), in
#: catalogue order.
BOOK_ARCHS: tuple[str, ...] = tuple(
    a for a, info in ARCHITECTURES.items() if info.canonical == a and not info.is_ablation
)


def arch_info(arch: str) -> ArchInfo:
    """The catalogue entry of ``arch``; ``ValueError`` naming the valid ids otherwise."""
    if arch not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {arch!r}; valid architectures: {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[arch]


def parse_archs(spec: str | Sequence[str]) -> tuple[str, ...]:
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
        arch_info(n)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate architecture in {spec!r}")
    return tuple(names)
