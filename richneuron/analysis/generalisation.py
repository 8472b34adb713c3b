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
from .rules import (
    ADAPTIVE_FREQUENCY,
    NO_FACTS,
    Claim,
    Facts,
    _fmt,
    _has,
    _not_tested,
    _outcome,
    _rows,
    _settled,
    _split,
    _untestable,
    decided,
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
        "degradation = test MSE on x in [1, 2] / training MSE on x in [-1, 1] (ood_shift, per "
        "seed): replicated if every periodic architecture's degradation (geometric mean over "
        "seeds) exceeds vanilla's beyond noise (the 95% interval of their ratio lies above 1), "
        "not established if one is within noise"
    )
    theirs = "periodic 24-1273x vs vanilla 7x"
    periodic = [  # the study's periodic neurons (the related neurons are not its claim)
        a
        for a in ARCHITECTURES
        if a != "vanilla" and arch_info(a).canonical == a and not arch_info(a).is_related
    ]
    present = [a for a in periodic if rs.select(a, "ood_shift")]
    claim = ("ood_degradation", 8, finding, rule, theirs)
    if not rs.select("vanilla", "ood_shift") or not present:
        return _not_tested(*claim, "ood_shift runs")
    if untestable := _untestable(claim, _rows(rs), facts, ["ood_shift"], ["vanilla", *present]):
        return untestable
    base_values = _degradations(rs, "vanilla")
    base = _degradation(rs, "vanilla")
    ratios = {a: _degradation(rs, a) for a in present}
    out = {}
    for a in present:  # ratio of degradations, a over vanilla: above 1, a degrades more
        interval = stats.compare(base_values, _degradations(rs, a), "mse")
        out[a] = decided(base_values, _degradations(rs, a), "mse", interval)
    finite = [v for v in ratios.values() if math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    n = f"{len(present)} architecture" + ("s" if len(present) > 1 else "")
    span = format_ratio(lo) if lo == hi else f"{format_ratio(lo)}-{format_ratio(hi)}"
    more = [a for a, o in out.items() if o == 1]
    ours = (
        f"periodic {span} ({n}) vs vanilla {format_ratio(base)}; more than vanilla beyond noise: "
        f"{len(more)} of {len(present)}"
    )
    not_more = [a for a, o in out.items() if o != 1]
    if not_more:
        ours += f" (not: {', '.join(not_more)})"
    return Claim(
        "ood_degradation",
        8,
        finding,
        rule,
        ours,
        theirs,
        _settled(all(o != -1 for o in out.values()), all(o == 1 for o in out.values())),
        float(len(more)),
        measure=f"periodic architectures degrading more than vanilla beyond noise (of {len(out)})",
    )
