"""The published findings as computed checks (Synthesis chapter, claims ledger).

Each finding of the original study (``../shared/study.md``, numbered 1-10 there) is a function of
a :class:`~richneuron.store.results.ResultSet` that returns a :class:`Claim`: our number, the
published number, the rule applied, and a verdict. The rules are fixed here, before looking at any
result, and printed beside every verdict:

* every comparison of two architectures on a task goes through the book's one beyond-noise rule
  (:func:`richneuron.stats.compare`, :func:`richneuron.stats.outcome`): A is better than B only
  if the 95% bootstrap interval over seeds of their ratio of MSEs (or difference of accuracies)
  excludes 1 (or 0); otherwise the two are *within noise*;
* every comparative claim has a *direction* (:data:`~richneuron.analysis.rules.DIRECTIONS`:
  beyond noise as claimed, within noise, or beyond noise against) and a claim with a published
  size a *size* (:func:`~richneuron.analysis.rules.size_of`: our interval against the band a
  factor :data:`MAGNITUDE_FACTOR` either way of a published ratio, :data:`GAIN_FACTOR` of a
  published gain: of the published order, larger or smaller than published). Such a claim is
  **replicated** when the direction holds and the effect is not smaller than published (a
  larger one says "larger than published" in its size), **partly replicated** when only the
  direction holds, **not replicated** when it holds the other way;
* a claim made of several comparisons (win counts, "A beats B on T and loses on U") is read twice,
  with every within-noise comparison resolved for it and against it
  (:func:`richneuron.stats.settle`): **replicated** if it holds even at worst, **not replicated**
  if it fails even at best;
* either way, a claim whose outcome depends on noise is **not established**, and says so with its
  intervals;
* a claim that rests on a task none of the networks it compares learns (none beats the task's
  best reference predictor beyond noise, :mod:`richneuron.analysis.references`; the caller
  supplies the references in ``Facts.references``) is **not testable**, with the numbers: it
  would rank failures. A count over several tasks (no adaptive majority, the sine control)
  leaves such tasks out instead and names them;
* a claim whose runs are absent (a quick build, a chapter re-run on fewer tasks) is
  **not tested**, never guessed.

:func:`richneuron.analysis.ledgers.ledger` with a second evaluation sets each verdict beside the
same claim evaluated on a disjoint set of seeds of the same size (the stability column,
:func:`richneuron.analysis.ledgers.stability_rows`).

The published numbers come from ``data/published.json``, a verbatim copy of the study's numbers
that the caller reads (:func:`richneuron.report.book.load_published`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence

from .. import stats
from ..architectures import VERSION_ORDER
from ..formatting import format_ratio
from ..store.results import ResultSet
from ..tasks import STANDARD_TASKS
from .controls import SINE_CONTROL_NUMBER, SINE_GATE_NUMBER, _sine_control, _sine_gate
from .cost import _width_cost, headline_bits
from .generalisation import _fixed_frequency, _ood_degradation
from .mechanisms import _v6_alpha, _v7_omega, _v11_phase
from .rules import (
    ADAPTIVE,
    CHAPTERS_PROTOCOL,
    FAMILY,
    GAIN_FACTOR,
    MAGNITUDE_FACTOR,
    NO_FACTS,
    NO_SIZE,
    UNTESTED,
    Claim,
    Facts,
    Family,
    _directional,
    _fmt,
    _has,
    _interval,
    _learned,
    _margin,
    _not_tested,
    _outcome,
    _points_ci,
    _ratio_ci,
    _rows,
    _settled,
    _split,
    _untestable,
    decided,
    direction_of,
    published_metric,
    scope_of,
    settled_direction,
    size_of,
)

__all__ = [
    "CLAIMS",
    "PUBLISHED_VERDICTS",
    "SINE_CONTROL_NUMBER",
    "SINE_GATE_NUMBER",
    "evaluate",
    "ledger_family",
]


#: The original's verdict on each version, in our words (for the chapters' verdicts).
PUBLISHED_VERDICTS = {
    "vanilla": "robust out of distribution but limited in what it can fit",
    "singlu": "the best neuron overall, winning 5 of the 6 standard tasks",
    "v1": "beaten by the width it costs: two matrices per neuron leave too few neurons",
    "v4": "of the three ways to win back width, the GLU-style one (SinGLU) works best",
    "v5": "SinGLU stays ahead of ReLU when re-evaluated with three seeds, but degrades far more "
    "out of distribution",
    "v6": "the routing gate never learns: alpha stays at 0.5",
    "v7": "the learnable frequency does not move from its initial value",
    "v8": "the amplitude gate is weak and the phase goes unused",
    "v9": "five matrices per neuron make the network too narrow to compete",
    "v10": "the best adaptive neuron, winning Spiral and Complex",
    "v11": "the phase stays near 0, so the neuron behaves like SinGLU",
    "v12": "it modulates frequency rather than phase",
    "v13": "wins Checkerboard but collapses on Spiral",
    "v15": "the first neuron to beat SinGLU on HiFreq; fixed frequency generalises better than "
    "adaptive frequency",
}

# ---------------------------------------------------------------------------------------------
# The claims.

Check = Callable[[ResultSet, dict, Facts], Claim]


def _several(check: Check) -> Check:
    """A claim made of several comparisons, with its direction read from its settled verdict
    (:func:`~richneuron.analysis.rules.settled_direction`) and no size: it names none."""

    @functools.wraps(check)
    def checked(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
        claim = check(rs, published, facts)
        if claim.verdict in UNTESTED:
            return claim
        return dataclasses.replace(
            claim, direction=settled_direction(claim.verdict), size=NO_SIZE
        )

    return checked


def _ratio_claim(cid: str, number: int, task: str, key: str, finding: str) -> Check:
    def check(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
        rule = (
            f"vanilla / SinGLU test MSE on {task} with its 95% interval: direction as claimed "
            "if it lies above 1, against if below, within noise if it includes 1; size against "
            f"the published ratio within {MAGNITUDE_FACTOR:g}x either way (of the published "
            "order, larger or smaller than published). Replicated if the direction holds and "
            "the size is not smaller, partly if only the direction holds"
        )
        theirs = float(published["headline_claims"][key])
        rows = _rows(rs)
        claim = (cid, number, finding, rule, format_ratio(theirs))
        if not _has(rows, ("vanilla", task), ("singlu", task)):
            return _not_tested(*claim, f"{task} runs")
        if untestable := _untestable(claim, rows, facts, [task], ("vanilla", "singlu")):
            return untestable
        interval = _interval(rows, "singlu", "vanilla", task)
        ratio = rows[("vanilla", task)]["mean"] / rows[("singlu", task)]["mean"]
        if not math.isfinite(interval.estimate):
            interval = stats.Interval(ratio, math.nan, math.nan, 1.0)
        size = size_of(interval, theirs, MAGNITUDE_FACTOR)
        va, vs = rows[("vanilla", task)]["values"], rows[("singlu", task)]["values"]
        result = decided(vs, va, "mse", interval, ("singlu", "vanilla", task))
        ours = _ratio_ci(interval) if math.isfinite(interval.low) else format_ratio(ratio)
        return Claim(
            cid,
            number,
            finding,
            rule,
            ours,
            format_ratio(theirs),
            _directional(result, size),
            ratio,
            interval.low,
            interval.high,
            f"vanilla / SinGLU test MSE on {task}",
            direction_of(result),
            size,
        )

    return check


def _checkerboard_gain(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    finding = "SinGLU beats vanilla on Checkerboard by a wide margin"
    rule = (
        "SinGLU minus vanilla test accuracy on checkerboard, in points, with its 95% interval: "
        "direction as claimed if it lies above 0, against if below, within noise if it "
        f"includes 0; size against the published gain within {GAIN_FACTOR:g}x either way. "
        "Replicated if the direction holds and the size is not smaller, partly if only the "
        "direction holds"
    )
    theirs = float(
        published["headline_claims"]["checkerboard_acc_gain_points_singlu_minus_vanilla"]
    )
    rows = _rows(rs)
    claim = ("checkerboard_gain", 3, finding, rule, f"+{theirs:.1f} points")
    if not _has(rows, ("vanilla", "checkerboard"), ("singlu", "checkerboard")):
        return _not_tested(*claim, "runs")
    if untestable := _untestable(claim, rows, facts, ["checkerboard"], ("vanilla", "singlu")):
        return untestable
    gain = 100 * (
        rows[("singlu", "checkerboard")]["mean"] - rows[("vanilla", "checkerboard")]["mean"]
    )
    interval = _interval(rows, "singlu", "vanilla", "checkerboard")
    points = (
        stats.Interval(gain, 100 * interval.low, 100 * interval.high, 0.0)
        if math.isfinite(interval.estimate)
        else stats.Interval(gain, math.nan, math.nan, 0.0)
    )
    size = size_of(points, theirs, GAIN_FACTOR)
    result = decided(
        rows[("singlu", "checkerboard")]["values"],
        rows[("vanilla", "checkerboard")]["values"],
        "accuracy",
        interval,
        ("singlu", "vanilla", "checkerboard"),
    )
    ours = _points_ci(interval) if math.isfinite(interval.estimate) else f"{gain:+.1f} points"
    return Claim(
        "checkerboard_gain",
        3,
        finding,
        rule,
        ours,
        f"+{theirs:.1f} points",
        _directional(result, size),
        gain,
        100 * interval.low,
        100 * interval.high,
        "SinGLU − vanilla accuracy on checkerboard (points)",
        direction_of(result),
        size,
    )


def _singlu_wins(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    finding = "SinGLU beats vanilla on 5 of the 6 standard tasks, losing only Spiral"
    rule = (
        "on each standard task, SinGLU against vanilla by the beyond-noise rule: replicated if "
        "SinGLU is better beyond noise on the 5 tasks other than Spiral and worse on Spiral; "
        "not established if that depends on the comparisons within noise"
    )
    theirs = "5 of 6 (loses Spiral: 44.2% vs 85.1%)"
    claim = ("singlu_wins", 4, finding, rule, theirs)
    rows = _rows(rs)
    if not _has(rows, *[(a, t) for a in ("vanilla", "singlu") for t in STANDARD_TASKS]):
        return _not_tested(*claim, "all six standard tasks")
    if untestable := _untestable(claim, rows, facts, STANDARD_TASKS, ("vanilla", "singlu")):
        return untestable
    out = {t: _outcome(rows, "singlu", "vanilla", t) for t in STANDARD_TASKS}
    others = [o for t, o in out.items() if t != "spiral"]
    at_best = out["spiral"] != 1 and all(o != -1 for o in others)
    at_worst = out["spiral"] == -1 and all(o == 1 for o in others)
    wins = sum(o == 1 for o in out.values())
    ours = f"SinGLU {_split(out)}"
    return Claim(
        "singlu_wins",
        4,
        finding,
        rule,
        ours,
        theirs,
        _settled(at_best, at_worst),
        float(wins),
        measure="standard tasks SinGLU wins beyond noise (of 6)",
    )


def _no_adaptive_majority(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    finding = "no adaptive variant (v6-v15) beats SinGLU on a majority of the standard tasks"
    rule = (
        "for each of v6-v15, the standard tasks it wins against SinGLU beyond noise: replicated "
        "if every variant stays below 4 even counting its ties as wins, not replicated if one "
        "reaches 4 beyond noise, otherwise not established"
    )
    theirs = "none (every adaptive mechanism matched or underperformed SinGLU)"
    rows = _rows(rs)
    pairs = [(a, t) for a in ("singlu", *ADAPTIVE) for t in STANDARD_TASKS]
    if not _has(rows, *pairs):
        return _not_tested("no_adaptive_majority", 5, finding, rule, theirs, "v6-v15 on all six")
    out = {  # a task neither learns is no win and no tie: it ranks two failures
        a: [
            _outcome(rows, a, "singlu", t)
            for t in STANDARD_TASKS
            if _learned(rows, facts, t, (a, "singlu"))
        ]
        for a in ADAPTIVE
    }
    wins = {a: o.count(1) for a, o in out.items()}
    ties = {a: o.count(0) for a, o in out.items()}
    best = max(wins.values())
    leaders = [a for a, w in wins.items() if w == best]
    ours = f"most wins beyond noise: {', '.join(leaders)} with {best} of 6"
    reach = [a for a in ADAPTIVE if wins[a] < 4 <= wins[a] + ties[a]]
    if reach:
        ours += f"; could reach 4 within noise: {', '.join(reach)}"
    at_best = all(w < 4 for w in wins.values())
    at_worst = all(wins[a] + ties[a] < 4 for a in ADAPTIVE)
    return Claim(
        "no_adaptive_majority",
        5,
        finding,
        rule,
        ours,
        theirs,
        _settled(at_best, at_worst),
        float(best),
        measure="the most standard tasks one adaptive variant wins beyond noise (of 6)",
    )


def _win_claim(
    cid: str, arch: str, wins: Sequence[str], losses: Sequence[str], finding: str
) -> Check:
    def check(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
        parts = [f"beats SinGLU on {t}" for t in wins] + [f"loses to it on {t}" for t in losses]
        rule = (
            f"{arch} " + " and ".join(parts) + ", each beyond noise; not established if one "
            "of them is within noise"
        )
        tasks = [*wins, *losses]
        theirs = "; ".join(
            f"{t}: {_fmt(published_metric(published, arch, t), t)} vs "
            f"{_fmt(published_metric(published, 'singlu', t), t)}"
            for t in tasks
        )
        claim = (cid, 6, finding, rule, theirs)
        rows = _rows(rs)
        if not _has(rows, *[(a, t) for a in (arch, "singlu") for t in tasks]):
            return _not_tested(*claim, f"{arch} and SinGLU on {tasks}")
        if untestable := _untestable(claim, rows, facts, tasks, (arch, "singlu")):
            return untestable
        out = {t: _outcome(rows, arch, "singlu", t) for t in tasks}
        want = {**{t: 1 for t in wins}, **{t: -1 for t in losses}}
        at_worst = all(out[t] == want[t] for t in tasks)
        at_best = all(out[t] != -want[t] for t in tasks)
        ours = "; ".join(
            f"{t}: {_fmt(rows[(arch, t)]['mean'], t)} vs {_fmt(rows[('singlu', t)]['mean'], t)}"
            + _margin(rows, arch, "singlu", t)
            for t in tasks
        )
        met = sum(out[t] == want[t] for t in tasks)
        return Claim(
            cid,
            6,
            finding,
            rule,
            ours,
            theirs,
            _settled(at_best, at_worst),
            float(met),
            measure=f"of its {len(tasks)} comparison(s), those that go its way beyond noise",
        )

    return check


def _v15_first_hifreq(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    finding = "v15 is the first version to beat SinGLU on HiFreq"
    rule = (
        "v15 beats SinGLU on hifreq beyond noise and every earlier version (v1-v13) loses to it "
        "beyond noise; not established if a comparison that decides it is within noise"
    )
    theirs = (
        f"v15 {_fmt(published_metric(published, 'v15', 'hifreq'), 'hifreq')} vs SinGLU "
        f"{_fmt(published_metric(published, 'singlu', 'hifreq'), 'hifreq')}"
    )
    rows = _rows(rs)
    earlier = [a for a in VERSION_ORDER[:-1] if _has(rows, (a, "hifreq"))]
    claim = ("v15_hifreq", 6, finding, rule, theirs)
    if not _has(rows, ("v15", "hifreq"), ("singlu", "hifreq")):
        return _not_tested(*claim, "v15 and SinGLU on hifreq")
    if untestable := _untestable(claim, rows, facts, ["hifreq"], ("v15", "singlu")):
        return untestable
    own = _outcome(rows, "v15", "singlu", "hifreq")
    before = {a: _outcome(rows, a, "singlu", "hifreq") for a in earlier}
    ours = f"v15 vs SinGLU{_margin(rows, 'v15', 'singlu', 'hifreq')}"
    beat = [a for a, o in before.items() if o == 1]
    tied = [a for a, o in before.items() if o == 0]
    if beat:
        ours += f"; earlier versions better than SinGLU beyond noise: {', '.join(beat)}"
    if tied:
        ours += f"; within noise of SinGLU: {', '.join(tied)}"
    at_best = own != -1 and not beat
    at_worst = own == 1 and all(o == -1 for o in before.values())
    missing = [a for a in VERSION_ORDER[:-1] if (a, "hifreq") not in rows]
    if at_best and missing:
        return _not_tested(
            "v15_hifreq", 6, finding, rule, theirs, f"{', '.join(missing)} on hifreq"
        )
    return Claim("v15_hifreq", 6, finding, rule, ours, theirs, _settled(at_best, at_worst))


#: Every claim of the ledger, in the order of study.md, then the ledger's own.
CLAIMS: dict[str, Check] = {
    "memorize_ratio": _ratio_claim(
        "memorize_ratio",
        1,
        "memorize",
        "memorize_mse_ratio_vanilla_over_singlu",
        "SinGLU reaches a far lower MSE than vanilla on Memorize",
    ),
    "nested_ratio": _ratio_claim(
        "nested_ratio",
        2,
        "nested_2d",
        "nested_mse_ratio_vanilla_over_singlu",
        "SinGLU beats vanilla on Nested by a large factor",
    ),
    "checkerboard_gain": _checkerboard_gain,
    "singlu_wins": _several(_singlu_wins),
    "no_adaptive_majority": _several(_no_adaptive_majority),
    "v10_spiral_complex": _several(_win_claim(
        "v10_spiral_complex",
        "v10",
        ("spiral", "complex_4d"),
        (),
        "v10 wins Spiral and Complex against SinGLU",
    )),
    "v13_checkerboard_spiral": _several(_win_claim(
        "v13_checkerboard_spiral",
        "v13",
        ("checkerboard",),
        ("spiral",),
        "v13 wins Checkerboard but loses Spiral",
    )),
    "v15_hifreq": _several(_v15_first_hifreq),
    "fixed_frequency": _several(_fixed_frequency),
    "ood_degradation": _several(_ood_degradation),
    "v6_alpha": _v6_alpha,
    "v7_omega": _v7_omega,
    "v11_phase": _v11_phase,
    "width_cost": _width_cost,
    "sine_control": _several(_sine_control),
    "headline_bits": headline_bits,
    "sine_gate": _several(_sine_gate),
}


def evaluate(
    rs: ResultSet,
    published: dict,
    ids: Sequence[str] | None = None,
    facts: Facts = NO_FACTS,
    protocol: str = CHAPTERS_PROTOCOL,
) -> list[Claim]:
    """The claims ``ids`` (default: all of :data:`CLAIMS`) checked against ``rs``, under the
    protocol named ``protocol``, their comparisons corrected as one family with those of every
    other claim (:func:`ledger_family`: the ledger's family, whichever claims are asked for, so
    a claim reads the same alone as in the ledger), with what some of them need beyond the
    results in ``facts`` (:class:`~richneuron.analysis.rules.Facts`; a claim whose facts are
    missing is not tested; without reference predictors, no claim can find its task unlearned,
    so every page passes them: :func:`richneuron.report.book.reference_facts`). Each claim
    carries its scope (:func:`~richneuron.analysis.rules.scope_of`: the protocol, the
    architectures and the seeds of ``rs``).

    Raises:
        ValueError: on an unknown claim id (naming the valid ones).
    """
    ids = list(ids) if ids is not None else list(CLAIMS)
    for cid in ids:
        if cid not in CLAIMS:
            raise ValueError(f"unknown claim {cid!r}; valid claims: {', '.join(CLAIMS)}")
    family = ledger_family(rs, published, facts)
    scope = scope_of(rs, protocol)
    token = FAMILY.set(family)
    try:
        return [
            dataclasses.replace(CLAIMS[cid](rs, published, facts), scope=scope) for cid in ids
        ]
    finally:
        FAMILY.reset(token)


def ledger_family(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Family:
    """The comparisons of every claim of :data:`CLAIMS` on ``rs``, decided as one family
    (:class:`~richneuron.analysis.rules.Family`): the ledger's."""
    family = Family()
    token = FAMILY.set(family)
    try:
        for check in CLAIMS.values():
            check(rs, published, facts)
    finally:
        FAMILY.reset(token)
    family.decide()
    return family
