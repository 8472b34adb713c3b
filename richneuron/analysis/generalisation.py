"""Findings 7 and 8, the claims on generalisation out of range: fixed against adaptive frequency
on an unseen frequency (``freq_gen``), and the degradation of periodic neurons out of
distribution (``ood_shift``), each checked as :mod:`richneuron.analysis.claims` describes.
"""

from __future__ import annotations

import math

from .. import stats
from ..architectures import ARCHITECTURES, arch_info
from ..formatting import format_ratio
from ..store.results import ResultSet
from .references import learners, reference_text
from .rules import (
    ADAPTIVE_FREQUENCY,
    NO_FACTS,
    Claim,
    Facts,
    _fmt,
    _has,
    _learned,
    _not_tested,
    _outcome,
    _rows,
    _settled,
    _split,
    _untestable,
    published_metric,
)

__all__: list[str] = []


def _fixed_frequency(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    finding = "fixed frequency generalises better to an unseen frequency than adaptive frequency"
    adaptive = ", ".join(ADAPTIVE_FREQUENCY)
    rule = (
        f"SinGLU (fixed omega) has a lower test MSE on freq_gen (2π to 10π) than every variant "
        f"whose frequency or phase adapts ({adaptive}), each beyond noise; not established if "
        "one of them is within noise"
    )
    theirs = "; ".join(
        f"{a} {_fmt(published_metric(published, a, 'freq_gen'), 'freq_gen')}"
        for a in ("singlu", *ADAPTIVE_FREQUENCY)
        if published_metric(published, a, "freq_gen") is not None
    )
    rows = _rows(rs)
    pairs = [(a, "freq_gen") for a in ("singlu", *ADAPTIVE_FREQUENCY)]
    claim = ("fixed_frequency", 7, finding, rule, theirs)
    if not _has(rows, *pairs):
        return _not_tested(*claim, "freq_gen runs")
    if untestable := _untestable(claim, rows, facts, ["freq_gen"], [a for a, _ in pairs]):
        return untestable
    out = {a: _outcome(rows, "singlu", a, "freq_gen") for a in ADAPTIVE_FREQUENCY}
    ours = "; ".join(
        f"{a} {rows[(a, 'freq_gen')]['mean']:.3g}" for a in ("singlu", *ADAPTIVE_FREQUENCY)
    )
    ours += f" (SinGLU against each: {_split(out)})"
    return Claim(
        "fixed_frequency",
        7,
        finding,
        rule,
        ours,
        theirs,
        _settled(all(o != -1 for o in out.values()), all(o == 1 for o in out.values())),
        rows[("singlu", "freq_gen")]["mean"],
    )


def _degradations(rs: ResultSet, arch: str) -> list[float]:
    """OOD test MSE / final training MSE on ``ood_shift``, one per seed that did not diverge."""
    runs = [r for r in rs.select(arch, "ood_shift") if not r.diverged and r.train_loss > 0]
    return [r.test_metric / r.train_loss for r in sorted(runs, key=lambda r: r.run.seed)]


def _degradation(rs: ResultSet, arch: str) -> float:
    """Geometric mean over seeds of OOD test MSE / final training MSE on ``ood_shift`` (the
    ratio's centre on the log scale, as :func:`richneuron.stats.compare` compares it)."""
    return stats.geometric_mean(_degradations(rs, arch))


def _ood_degradation(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    finding = "periodic neurons degrade far more than vanilla out of distribution"
    rule = (
        "the out-of-range error: test MSE on x in [1, 2] after training on x in [-1, 1] "
        "(ood_shift), each of the study's periodic architectures against vanilla by the "
        "beyond-noise rule, beside the best reference predictor, where one of the two learns the "
        "task: replicated if every such periodic architecture's error exceeds vanilla's beyond "
        "noise, not replicated if one is lower "
        "beyond noise, otherwise not established. The published measure, test MSE over "
        "training MSE, is shown and not judged: it rewards a network that fits its training "
        "range worse"
    )
    theirs = "periodic 24-1273x vs vanilla 7x (test MSE / training MSE)"
    periodic = [  # the study's periodic neurons (the related neurons are not its claim)
        a
        for a in ARCHITECTURES
        if a != "vanilla"
        and arch_info(a).canonical == a
        and not arch_info(a).is_related
        and not arch_info(a).is_ablation
    ]
    present = [a for a in periodic if rs.select(a, "ood_shift")]
    claim = ("ood_degradation", 8, finding, rule, theirs)
    if not rs.select("vanilla", "ood_shift") or not present:
        return _not_tested(*claim, "ood_shift runs")
    rows = _rows(rs)
    if untestable := _untestable(claim, rows, facts, ["ood_shift"], ["vanilla", *present]):
        return untestable
    kept = [a for a in present if _learned(rows, facts, "ood_shift", ("vanilla", a))]
    out = {a: _outcome(rows, "vanilla", a, "ood_shift") for a in kept}
    errors = [rows[(a, "ood_shift")]["mean"] for a in present]
    n = f"{len(present)} architecture" + ("s" if len(present) > 1 else "")
    lo, hi = _fmt(min(errors), "ood_shift"), _fmt(max(errors), "ood_shift")
    worse = [a for a, o in out.items() if o == 1]
    ours = (
        f"out-of-range MSE periodic {lo if lo == hi else f'{lo}-{hi}'} ({n}) vs vanilla "
        f"{_fmt(rows[('vanilla', 'ood_shift')]['mean'], 'ood_shift')}"
    )
    reference = facts.references.get("ood_shift")
    if reference is not None:
        learn = learners(rows, ["vanilla", *present], reference)
        ours += (
            f", best reference {reference_text(reference)}, beaten beyond noise by "
            f"{len(learn)} of {len(present) + 1}"
        )
    ours += f"; higher than vanilla's beyond noise: {len(worse)} of {len(kept)}"
    lower = [a for a, o in out.items() if o == -1]
    tied = [a for a, o in out.items() if o == 0]
    if lower:
        ours += f"; lower beyond noise: {', '.join(lower)}"
    if tied:
        ours += f"; within noise: {', '.join(tied)}"
    if len(kept) < len(present):
        failing = ", ".join(a for a in present if a not in kept)
        ours += f"; not testable against vanilla (neither learns ood_shift): {failing}"
    spans = [_degradation(rs, a) for a in present]
    finite = [v for v in spans if math.isfinite(v)]
    if finite:
        low, high = format_ratio(min(finite)), format_ratio(max(finite))
        ours += (
            f"; test/training MSE periodic {low if low == high else f'{low}-{high}'} vs vanilla "
            f"{format_ratio(_degradation(rs, 'vanilla'))}"
        )
    return Claim(
        "ood_degradation",
        8,
        finding,
        rule,
        ours,
        theirs,
        _settled(all(o != -1 for o in out.values()), all(o == 1 for o in out.values())),
        float(len(worse)),
        measure=f"periodic architectures worse than vanilla out of range (of {len(out)})",
    )
