"""The part "Related neurons": the related neurons against the baselines, their learned shapes and
frequencies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..analysis.references import testable
from ..experiments.study import sweep_rows
from ..neurons import (
    PAU_DENOMINATOR,
    PAU_NUMERATOR,
    SHAPE_KEYS,
    SHAPE_POINTS,
    Rational,
    get_arch,
)
from ..neurons.matching import match_width
from ..store.results import ResultSet, versus
from ..store.schema import Reference
from ..tables import Markdown, markdown_table
from ..tasks import TASKS, better
from ..train.predictors import reference_for
from .book import BASELINES, chapter_tasks, compare_to_baseline, config_of, protocol_draw

__all__ = [
    "initial_shape",
    "omega_range_rows",
    "omega_wins",
    "relatives_table",
    "seed_agreement",
    "shape_change",
    "sweep_omegas",
]


def relatives_table(rs: ResultSet, archs: Sequence[str]) -> Markdown:
    """One row per related neuron of a chapter: matrices per neuron, matched width (first hidden
    layer on Nested), and against SinGLU and ReLU on how many tasks it is better beyond noise,
    within noise, and worse beyond noise (the book's rule), of the tasks either learns."""
    config = config_of(rs)
    rows = []
    for arch in archs:
        tasks = chapter_tasks(rs, arch)
        widths, _ = match_width(arch, "nested_2d", config.budget_for("nested_2d"), config)
        cells = [arch, get_arch(arch).matrices, widths[0]]
        for base in BASELINES[::-1]:  # SinGLU, then ReLU
            cs = [compare_to_baseline(rs, arch, t, base) for t in tasks]
            out = [c["outcome"] for c in cs if c["testable"]]
            cells.append(f"{out.count(1)} / {out.count(0)} / {out.count(-1)}")
        rows.append(cells)
    return markdown_table(
        [
            "architecture",
            "matrices",
            "width",
            "vs SinGLU: better / within noise / worse (tasks either learns)",
            "vs ReLU: better / within noise / worse (tasks either learns)",
        ],
        rows,
    )


def seed_agreement(rs: ResultSet, arch: str, rel: float = 1e-3) -> int:
    """Tasks on which every seed of ``arch`` ends within ``rel`` of the others: the seed
    standard deviation of the test metric below ``rel`` times its mean's magnitude."""
    return sum(
        1
        for row in rs.summary()
        if row["arch"] == arch
        and row["n_seeds"] > 1
        and math.isfinite(row["mean"])
        and row["std"] <= rel * abs(row["mean"])
    )


def initial_shape(arch: str) -> list[float] | None:
    """A learned activation's shape at initialisation on :data:`SHAPE_POINTS` (the same for
    every seed), or ``None`` where it depends on the seed (KAN's edges)."""
    import torch

    if get_arch(arch).layer is not Rational:
        return None
    t = torch.tensor(SHAPE_POINTS).view(1, 1, -1)
    num = torch.tensor(PAU_NUMERATOR).view(1, -1, 1)
    den = torch.tensor(PAU_DENOMINATOR).view(1, -1, 1)
    return [float(v) for v in Rational.rational(t, num, den).flatten()]


def shape_change(rs: ResultSet, arch: str) -> float:
    """Largest change of ``arch``'s learned activation (on :data:`SHAPE_POINTS`) from its first
    to its last record, averaged over runs."""
    runs = rs.recording(arch, SHAPE_KEYS)
    changes = [
        max(abs(r.diagnostics[k][-1] - r.diagnostics[k][0]) for k in SHAPE_KEYS) for r in runs
    ]
    return sum(changes) / len(changes)


def sweep_omegas(sets: Sequence[ResultSet], arch: str = "singlu") -> str:
    """The frequencies at which a sweep trained ``arch``, as text: ``"0.25, 1, 4, 16"``."""
    omegas = sorted({w for by_omega in sweep_rows(sets, arch).values() for w in by_omega})
    return ", ".join(f"{w:g}" for w in omegas)


def omega_range_rows(
    sets: Sequence[ResultSet], arch: str = "singlu", control: str = "bilinear"
) -> list[dict]:
    """Per task of an ``omega`` sweep: ``arch``'s best frequency and whether it beats
    ``control`` there, and at ``omega = 1``, beyond noise (the book's rule) on a task one of
    the two learns (:func:`richneuron.analysis.references.beats`: not among failures)."""
    rows = sweep_rows(sets, arch)
    base = {t: next(iter(by_omega.values())) for t, by_omega in sweep_rows(sets, control).items()}
    out = []
    for task in [t for t in TASKS if t in rows and t in base]:
        by_omega = rows[task]
        metric = base[task]["metric"]
        best = next(iter(by_omega))
        for omega, row in by_omega.items():
            if better(row["mean"], by_omega[best]["mean"], metric):
                best = omega
        one = by_omega.get(1.0)
        reference = reference_for(task, *protocol_draw(sets[0]))
        out.append(
            {
                "task": task,
                "best_omega": best,
                "best_beats_control": _wins(by_omega[best], base[task], reference),
                "one_beats_control": _wins(one, base[task], reference),
            }
        )
    return out


def _wins(row: dict | None, control: dict, reference: Reference) -> bool:
    """Whether ``row`` beats ``control`` beyond noise on a task one of the two learns."""
    return row is not None and testable([row, control], reference) and versus(row, control)[1] == 1


def omega_wins(rows: Sequence[dict]) -> tuple[int, int]:
    """Of :func:`omega_range_rows`: on how many tasks the architecture beats the control at
    ``omega = 1``, and at its best frequency."""
    return sum(r["one_beats_control"] for r in rows), sum(r["best_beats_control"] for r in rows)
