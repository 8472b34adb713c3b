"""What a neuron costs and stores: the hidden width every extra matrix costs at a fixed budget
(finding 10) and finding 1 restated in bits beside the capacity sweep (claim 12).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from .. import stats
from ..config import DEFAULT_BUDGET, TrainConfig
from ..formatting import format_ratio
from ..store.results import ResultSet
from ..tasks import get_task
from .capacity import capacity, capacity_points, mse_ratio_bits
from .label_capacity import SINE_FREE_GLUS, best_sine_free
from .rules import (
    NO_FACTS,
    NO_SIZE,
    Claim,
    Facts,
    _has,
    _not_tested,
    _rows,
    decided,
    direction_of,
)

__all__ = [
    "HEADLINE_BITS_NUMBER",
    "WIDTH_COST_PUBLISHED",
    "WIDTH_COST_TOLERANCE",
    "fit_width_cost",
    "headline_bits",
    "published_ratio_worth",
]


#: Published width cost per extra matrix, and the tolerance of our fit against it.
WIDTH_COST_PUBLISHED = 0.35


WIDTH_COST_TOLERANCE = 0.05


def fit_width_cost(rows: Sequence[dict], related: bool = True) -> dict:
    """Least-squares fit of ``log width = log w1 + (k - 1) log(1 - cost)`` over ``rows``
    (with ``related=False``, over the study's own architectures alone).

    Returns:
        ``{"width_1": w1, "cost": cost}``: the fraction of width each extra matrix costs.
    """
    rows = [r for r in rows if related or not r["related"]]
    ks = [r["matrices"] - 1 for r in rows]
    ys = [math.log(r["width"]) for r in rows]
    mk, my = statistics.fmean(ks), statistics.fmean(ys)
    slope = sum((k - mk) * (y - my) for k, y in zip(ks, ys)) / sum((k - mk) ** 2 for k in ks)
    return {"width_1": math.exp(my - slope * mk), "cost": 1 - math.exp(slope)}


def _width_cost(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    finding = "every extra matrix per neuron costs about 35% of hidden width at a fixed budget"
    config = TrainConfig(**rs.config)
    rule = (
        f"fit width = w1 (1 - c)^(matrices - 1) over the matched widths on nested_2d at "
        f"{config.budget} parameters: replicated if c is within {WIDTH_COST_TOLERANCE:.0%} of "
        f"{WIDTH_COST_PUBLISHED:.0%}"
    )
    if not facts.widths:
        return _not_tested("width_cost", 10, finding, rule, "about 35%", "the matched widths")
    fit = fit_width_cost(facts.widths)
    ok = abs(fit["cost"] - WIDTH_COST_PUBLISHED) <= WIDTH_COST_TOLERANCE
    return Claim(
        "width_cost",
        10,
        finding,
        rule,
        f"{fit['cost']:.0%} per extra matrix",
        "about 35%",
        "replicated" if ok else "not replicated",
        fit["cost"],
    )


#: The number of the ledger's restatement of finding 1 in bits.
HEADLINE_BITS_NUMBER = 12


def published_ratio_worth(published: dict, params: int) -> dict:
    """What the published Memorize ratio is worth in bits: ``{"ratio", "bits"`` (per target
    value, :func:`richneuron.analysis.capacity.mse_ratio_bits`), ``"targets"`` (Memorize's points
    times outputs), ``"params"`` (vanilla's on Memorize: ``params``), ``"per_param"`` (bits times
    targets over parameters: the most the ratio adds per parameter), ``"orders"`` (its whole
    orders of magnitude)``}``."""
    ratio = float(published["headline_claims"]["memorize_mse_ratio_vanilla_over_singlu"])
    task = get_task("memorize")
    targets = task.n_train * task.out_dim
    bits = mse_ratio_bits(ratio)
    return {
        "ratio": ratio, "bits": bits, "targets": targets, "params": params,
        "per_param": bits * targets / params, "orders": math.floor(math.log10(ratio)),
    }


def headline_bits(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    """Finding 1 restated in bits: the Memorize MSE ratios (ours from ``rs``, the published one)
    converted with :func:`richneuron.analysis.capacity.mse_ratio_bits`, judged on label
    capacity at the default budget from ``facts.capacity_sweep`` (random labels, a
    :class:`richneuron.experiments.specs.SweepResult` or its sets, as the caller read them;
    ``None``: no capacity runs, the claim is not tested): SinGLU against vanilla, and
    against the best sine-free GLU (:data:`richneuron.analysis.label_capacity.SINE_FREE_GLUS`),
    per parameter of vanilla on Memorize (``facts.memorize_params``; ``None``: not tested)."""
    finding = "SinGLU stores more information per parameter than vanilla (finding 1, in bits)"
    rule = (
        "label capacity (bits per parameter on random labels at each architecture's peak, per "
        "seed), SinGLU − vanilla with its 95% interval: direction as claimed if it lies above 0, "
        "against if below, within noise if it includes 0. An MSE ratio r is worth at most "
        "½·log2(r) bits per target value, so the published ratio accounts for a gain of at most "
        "w bits per parameter (times Memorize's targets over vanilla's parameters): the size is "
        "of the published order if the gain's interval reaches below w, larger than the ratio "
        "is worth if it lies above. The lead is the sine's if SinGLU also leads the best "
        "sine-free GLU (" + ", ".join(SINE_FREE_GLUS) + ") beyond noise. Replicated if SinGLU "
        "leads vanilla, the size is of the published order and the lead is the sine's; partly "
        "replicated if it leads vanilla only; not replicated if vanilla leads; otherwise not "
        "established"
    )
    if facts.memorize_params is None:
        return _not_tested(
            "headline_bits", HEADLINE_BITS_NUMBER, finding, rule, "the published ratio",
            "vanilla's parameter count on Memorize",
        )
    worth = published_ratio_worth(published, facts.memorize_params)
    ratio, theirs_bits, theirs_per_param = worth["ratio"], worth["bits"], worth["per_param"]
    targets, params = worth["targets"], worth["params"]
    rows = _rows(rs)
    if not _has(rows, ("vanilla", "memorize"), ("singlu", "memorize")):
        return _not_tested(
            "headline_bits", HEADLINE_BITS_NUMBER, finding, rule, f"{format_ratio(ratio)}",
            "memorize runs",
        )
    theirs = (
        f"{format_ratio(ratio)} = {theirs_bits:.1f} bits per target value, at most "
        f"{theirs_per_param:.2f} bits per parameter"
    )
    ours_ratio = rows[("vanilla", "memorize")]["mean"] / rows[("singlu", "memorize")]["mean"]
    ours_bits = mse_ratio_bits(ours_ratio)
    said = (
        f"Memorize ratio {format_ratio(ours_ratio)} = {ours_bits:+.1f} bits per target value "
        f"({ours_bits * targets / params:+.2f} per parameter)"
    )
    peaks = _default_budget_peaks(facts.capacity_sweep)
    if "vanilla" not in peaks or "singlu" not in peaks:
        return Claim(
            "headline_bits", HEADLINE_BITS_NUMBER, finding, rule,
            f"{said}; no label capacity of vanilla and SinGLU", theirs, "not tested",
        )
    v, g = peaks["vanilla"], peaks["singlu"]
    gain, interval, gain_text = _capacity_gain(g, v)
    per_seed = [b / g["params"] for b in g["bits"]]
    result = decided(
        per_seed, [b / v["params"] for b in v["bits"]], "accuracy", interval,
        ("singlu", "vanilla", "label capacity"),
    )
    glu = best_sine_free(list(peaks.values()))
    if glu is None:
        sine, glu_text = 0, "no sine-free GLU trained"
    else:
        _, glu_interval, glu_gain = _capacity_gain(g, glu)
        sine = decided(
            per_seed, [b / glu["params"] for b in glu["bits"]], "accuracy", glu_interval,
            ("singlu", glu["arch"], "label capacity"),
        )
        glu_text = f"SinGLU − {glu['arch']} (the best sine-free GLU) {glu_gain}"
    low = interval.low if math.isfinite(interval.low) else gain
    size = "larger than published" if low > theirs_per_param else "of the published order"
    if result != 1:
        size = NO_SIZE  # a size is read only where SinGLU leads
    ours = (
        f"{said}; label capacity: SinGLU {_spread(g)}, vanilla {_spread(v)} bits per parameter, "
        f"SinGLU − vanilla {gain_text}; {glu_text}"
    )
    if result == 1:
        whole = sine == 1 and size == "of the published order"
        verdict = "replicated" if whole else "partly replicated"
    else:
        verdict = "not replicated" if result == -1 else "not established"
    return Claim(
        "headline_bits", HEADLINE_BITS_NUMBER, finding, rule, ours, theirs,
        verdict, gain, interval.low, interval.high,
        direction=direction_of(result), size=size,
    )


def _spread(row: dict) -> str:
    """``2.71 [2.60, 2.83]``: a capacity row's bits per parameter with its interval."""
    return f"{row['per_param']:.2f} [{row['per_param_low']:.2f}, {row['per_param_high']:.2f}]"


def _default_budget_peaks(capacity_sweep: object) -> dict[str, dict]:
    """Each architecture's capacity at the default budget in ``capacity_sweep`` (a sweep's
    results or its sets; ``None``: none)."""
    if capacity_sweep is None:
        return {}
    sets = getattr(capacity_sweep, "sets", capacity_sweep)
    return {
        r["arch"]: r for r in capacity(capacity_points(sets)) if r["budget"] == DEFAULT_BUDGET
    }


def _capacity_gain(g: dict, v: dict) -> tuple[float, stats.Interval, str]:
    """``g``'s capacity minus ``v``'s (SinGLU's minus vanilla's or the best sine-free GLU's) in
    bits per parameter, its 95%
    interval over seeds (unknown with one seed) and both as text."""
    gain = g["per_param"] - v["per_param"]
    if len(g["bits"]) > 1 and len(v["bits"]) > 1:
        interval = stats.difference_interval(
            [b / g["params"] for b in g["bits"]], [b / v["params"] for b in v["bits"]]
        )
        return gain, interval, f"{gain:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}]"
    return gain, stats.Interval(gain, math.nan, math.nan), f"{gain:+.2f} (one seed)"
