"""The ledger's building blocks: the :class:`Claim` record, the verdict words, the bands and
factors the rules use, and the helpers every rule shares (one comparison per task by the beyond-
noise rule, settled and directional verdicts, the diagnostics' final values).
"""

from __future__ import annotations

import contextvars
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .. import stats
from ..architectures import ARCHITECTURES
from ..formatting import (
    compact,
    format_comparison,
    format_detectable,
    format_p,
    format_percent,
)
from ..store.results import ResultSet, versus
from ..store.schema import Reference
from ..tasks import get_task
from .references import NOT_TESTABLE, reference_text, testable

__all__ = [
    "ADAPTIVE",
    "ADAPTIVE_FREQUENCY",
    "ALPHA_NEAR",
    "CHAPTERS_PROTOCOL",
    "DIRECTIONS",
    "GAIN_FACTOR",
    "MAGNITUDE_FACTOR",
    "OMEGA_NEAR",
    "PHASE_NEAR",
    "SIZES",
    "SPREAD_NEAR",
    "UNTESTED",
    "VERDICTS",
    "Claim",
    "diagnostic_seeds",
    "FAMILY",
    "Facts",
    "Family",
    "NO_SIZE",
    "decided",
    "direction_of",
    "final_diagnostic",
    "published_metric",
    "scope_of",
    "settled_direction",
    "size_of",
]


#: Adaptive variants of the study (v6-v15), in version order.
ADAPTIVE = ("v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v15")


#: Variants whose frequency or phase adapts to the input (finding 7's "adaptive").
ADAPTIVE_FREQUENCY = ("v7", "v9", "v10", "v12", "v15")


#: A ratio of the published order lies within this factor of the published one (either way).
MAGNITUDE_FACTOR = 10.0


#: A gain (a difference, in points or bits) of the published order lies within this factor of
#: the published one (either way).
GAIN_FACTOR = 2.0


#: A comparative claim's direction: beyond noise the way the finding says, within noise, or
#: beyond noise the other way (:func:`direction_of`).
DIRECTIONS = ("as claimed", "within noise", "against")


#: A sized claim's size: our interval against the published size's band (:func:`size_of`);
#: "no size claimed" where the finding names no number to match.
SIZES = ("of the published order", "larger than published", "smaller than published")
NO_SIZE = "no size claimed"


#: "Near" thresholds of the diagnostic claims (finding 9).
ALPHA_NEAR = 0.1  # |mean alpha - 0.5| below this: alpha "stays near 0.5"


#: A learned quantity's spread across inputs "stays" if its relative change from step 0 to the
#: end of training lies within this (v6: whether alpha varies with the input).
SPREAD_NEAR = 0.1


OMEGA_NEAR = 0.1  # relative change of mean omega(x) below this: "stays near its initial value"


#: v11's phase shift "stays near 0" while the sine it shifts moves by at most a tenth of the
#: value branch: |sin(θ + δ) − sin θ| ≤ |δ|, so mean |δ| below 0.1 rad. The equation bounds |δ|
#: by 0.1·ω, which is this band at ω = 1 (there it holds by construction).
PHASE_NEAR = 0.1


VERDICTS = (
    "replicated",
    "partly replicated",
    "not replicated",
    "not established",
    "not testable",
    "not tested",
)
#: The verdicts of a claim that was not put to the test: its runs are missing ("not tested"), or
#: no network it compares learns its task ("not testable": they all lose to predicting the
#: training mean or the majority class, :mod:`richneuron.analysis.references`).
UNTESTED = ("not testable", "not tested")


@dataclass(frozen=True)
class Facts:
    """What some claims need beyond the results, computed by the caller (which may build
    networks and read files; :func:`richneuron.report.book.claim_facts`).

    Attributes:
        widths: The first hidden layer's width at the budget of every full-rank architecture
            (:func:`richneuron.neurons.matching.width_rows`), for the width-cost claim.
        memorize_params: Vanilla's parameter count on Memorize, for what the published ratio
            is worth per parameter.
        capacity_sweep: The capacity runs (a sweep result or its sets), for claim 12.
        references: The reference predictors of each task under the results' protocol
            (:func:`richneuron.report.book.task_references`): a comparative claim on a task
            that none of the networks it compares learns reads "not testable".
    """

    widths: tuple[dict, ...] = ()
    memorize_params: int | None = None
    capacity_sweep: object = None
    references: Mapping[str, Reference] = field(default_factory=dict)


#: No facts: the claims that need them read "not tested".
NO_FACTS = Facts()


@dataclass(frozen=True)
class Claim:
    """One published finding, checked against our runs."""

    id: str
    number: int  # the finding's number in study.md
    finding: str  # what the original claims, in our words
    rule: str  # the check applied
    ours: str  # our number(s), formatted
    published: str  # the published number(s), formatted
    verdict: str  # one of VERDICTS
    value: float = math.nan  # our headline number, for glue (NaN when not tested)
    low: float = math.nan  # the 95% interval of ``value`` (NaN where it has none)
    high: float = math.nan
    measure: str = ""  # what ``value`` is (the specification curves' axis)
    direction: str = ""  # a comparative claim's: one of DIRECTIONS ("" where none is compared)
    size: str = ""  # a comparative claim's: one of SIZES or NO_SIZE ("" where none is compared)
    scope: str = ""  # where it was judged (:func:`scope_of`): protocol, architectures, seeds

    @property
    def holds(self) -> bool:
        return self.verdict == "replicated"


#: The protocol a ledger is judged under unless the caller names another.
CHAPTERS_PROTOCOL = "chapters' protocol"


def scope_of(rs: ResultSet, protocol: str = CHAPTERS_PROTOCOL) -> str:
    """Where a verdict on ``rs`` is reached, as the book prints it beside the verdict: the
    protocol, the architectures and the seeds, e.g. ``chapters' protocol; all 24 architectures;
    seeds 0–9``. The architectures read ``all N architectures`` when every one of the catalogue
    is there (aliases and ablations aside), ``all N architectures but a, b`` when a few are not,
    else their ids. Two verdicts of one claim with the same scope must agree (the book's test of
    one verdict per claim reads it: :mod:`richneuron.report.verdicts`)."""
    archs = {r.run.arch for r in rs.runs}
    catalogue = [
        a for a, info in ARCHITECTURES.items() if info.canonical == a and not info.is_ablation
    ]
    lacking = [a for a in catalogue if a not in archs]
    if archs and len(lacking) * 4 < len(catalogue):
        named = f"all {len(catalogue)} architectures"
        named += f" but {', '.join(lacking)}" if lacking else ""
    else:
        named = ", ".join(a for a in ARCHITECTURES if a in archs) or "no architecture"
    seeds = sorted({r.run.seed for r in rs.runs})
    if seeds and seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        span = f"{seeds[0]}–{seeds[-1]}"
    else:
        span = ", ".join(map(str, seeds)) or "none"
    return f"{protocol}; {named}; seeds {span}"


def published_metric(published: dict, arch: str, task: str) -> float | None:
    """The published test metric of ``arch`` on ``task`` (accuracy as a fraction), or None."""
    for group, table in published["results"].items():
        if task in table["tasks"] and arch in table:
            value = float(table[arch][table["tasks"].index(task)])
            return value / 100 if group.endswith("percent") else value
    return None


def _rows(rs: ResultSet) -> dict[tuple[str, str], dict]:
    return rs.summary_by_key()


def _has(rows: dict, *pairs: tuple[str, str]) -> bool:
    return all(p in rows and math.isfinite(rows[p]["mean"]) for p in pairs)


def _interval(rows: dict, a: str, b: str, task: str) -> stats.Interval:
    """:func:`richneuron.stats.compare` of ``a`` against ``b`` on ``task``."""
    ra, rb = rows[(a, task)], rows[(b, task)]
    return stats.compare(ra["values"], rb["values"], ra["metric"])


def _outcome(rows: dict, a: str, b: str, task: str) -> int:
    """+1: ``a`` better than ``b`` beyond noise; -1: ``b`` better beyond noise; 0: within
    (:func:`richneuron.store.results.versus`: a side that diverged on every seed loses; with
    seeds on both sides, :func:`decided`: the ledger's family may remove the call)."""
    ra, rb = rows[(a, task)], rows[(b, task)]
    interval, result = versus(ra, rb)
    if not ra["values"] or not rb["values"]:
        return result
    return decided(ra["values"], rb["values"], ra["metric"], interval, (a, b, task))


class Family:
    """The claims ledger's comparisons as one family (:func:`richneuron.analysis.claims
    .evaluate`): a first pass records every comparison the claims make (:func:`decided`), then
    :meth:`decide` computes each one's permutation p-value and the Benjamini-Hochberg
    discoveries among them, and a second pass reads its outcomes from there. A comparison is
    known by its two sides, task and metric (:func:`decided`): one a claim makes twice (its
    outcome and its margin's text), or two claims make, counts once."""

    def __init__(self) -> None:
        self.made: dict[tuple, stats.Interval] = {}
        self.samples: dict[tuple, tuple[list[float], list[float], str]] = {}
        self.found: dict[tuple, bool] | None = None

    def decide(self) -> None:
        """Decide the recorded comparisons together (:func:`richneuron.stats.discoveries`)."""
        keys = list(self.made)
        pvalues = [stats.permutation_p(*self.samples[k]) for k in keys]
        self.found = dict(zip(keys, stats.discoveries(pvalues)))

    def removed(self) -> int:
        """How many comparisons the interval alone calls beyond noise and the family's
        correction does not (after :meth:`decide`)."""
        return sum(
            stats.outcome(interval) != 0 and not self.found.get(key, False)
            for key, interval in self.made.items()
        )

    def calls(self) -> int:
        """How many comparisons the family calls beyond noise (after :meth:`decide`)."""
        return sum(
            stats.outcome(interval) != 0 and self.found.get(key, False)
            for key, interval in self.made.items()
        )


#: The family the claims being evaluated belong to (None: a comparison stands alone).
FAMILY: contextvars.ContextVar[Family | None] = contextvars.ContextVar("family", default=None)


def _usable(values: Sequence[float], metric: str) -> list[float]:
    """The seeds a permutation test can use: finite, and positive for an MSE (log scale)."""
    return [v for v in values if math.isfinite(v) and (metric != "mse" or v > 0)]


def decided(
    a: Sequence[float],
    b: Sequence[float],
    metric: str,
    interval: stats.Interval,
    key: tuple = (),
) -> int:
    """The outcome of one of a claim's comparisons of the seeds ``a`` and ``b`` (+1, -1, 0):
    the interval's reading (:func:`richneuron.stats.outcome`), kept inside the ledger's family
    (:data:`FAMILY`) only if the comparison's permutation p-value is one of the family's
    discoveries. ``key`` names the comparison in the family (its two sides and task, e.g.
    ``("singlu", "vanilla", "memorize")``), so that two claims making one comparison count it
    once and two comparisons whose seeds happen to score alike count twice. With fewer than
    two usable seeds a side, the interval's reading (within noise)."""
    result = stats.outcome(interval)
    family = FAMILY.get()
    x, y = (_usable(side, metric) for side in (a, b))
    if family is None or len(x) < 2 or len(y) < 2:
        return result
    if key:  # the same comparison whichever side a claim names first (the p-value is two-sided)
        first, second, *rest = key
        name = (*sorted((first, second)), *rest, metric)
        if (first, second) != tuple(sorted((first, second))):
            x, y = y, x
    else:
        name = (tuple(x), tuple(y), metric)
    if family.found is None:  # the recording pass
        family.made[name] = interval
        family.samples[name] = (x, y, metric)
        return result
    return result if family.found.get(name, True) else 0


def _settled(at_best: bool, at_worst: bool) -> str:
    """A multi-comparison claim's verdict (:func:`richneuron.stats.settle`)."""
    return {
        "holds": "replicated",
        "fails": "not replicated",
        "not established": "not established",
    }[stats.settle(at_best, at_worst)]


def direction_of(result: int) -> str:
    """The direction word of a comparison's outcome (+1 as claimed, 0, -1; :data:`DIRECTIONS`)."""
    return {1: "as claimed", 0: "within noise", -1: "against"}[result]


def settled_direction(verdict: str) -> str:
    """The direction of a claim made of several comparisons, from its settled verdict: as
    claimed if it holds even at worst, against if it fails even at best, otherwise within
    noise ("" for a claim that was not put to the test)."""
    return {
        "replicated": "as claimed",
        "not replicated": "against",
        "not established": "within noise",
    }.get(verdict, "")


def size_of(interval: stats.Interval, published: float, factor: float) -> str:
    """Our interval against the published size's band, ``published / factor`` to
    ``published * factor`` (in the interval's units: a ratio, or a gain in points or bits):
    larger (or smaller) than published if the whole interval lies above (below) the band,
    otherwise of the published order (:data:`SIZES`). A claim with no interval is read at its
    estimate; :data:`NO_SIZE` where the published size is not positive."""
    low, high = interval.low, interval.high
    if not (math.isfinite(low) and math.isfinite(high)):
        low = high = interval.estimate
    if not (published > 0 and math.isfinite(low)):
        return NO_SIZE
    if low > published * factor:
        return "larger than published"
    if high < published / factor:
        return "smaller than published"
    return "of the published order"


def _directional(result: int, size: str) -> str:
    """A ratio or gain claim's verdict from its direction's outcome and its size
    (:func:`size_of`): replicated when the direction holds beyond noise and the effect is not
    smaller than published (a larger one says so in its size), partly replicated when only the
    direction holds, not replicated when the opposite holds beyond noise, otherwise not
    established."""
    if result == 1:
        return "partly replicated" if size == "smaller than published" else "replicated"
    return "not replicated" if result == -1 else "not established"


def _ratio_ci(interval: stats.Interval) -> str:
    """``1.2x [0.8x, 3.1x]``."""
    return format_comparison(interval, "mse")


def _points_ci(interval: stats.Interval) -> str:
    """``+4.1 [+1.0, +7.2] points`` from a difference of accuracies."""
    return format_comparison(interval, "accuracy")


def _split(outcomes: dict[str, int]) -> str:
    """``better beyond noise on a, b; worse on c; within noise on d`` (empty groups left out)."""
    groups = [
        ("better beyond noise on", [t for t, o in outcomes.items() if o == 1]),
        ("worse beyond noise on", [t for t, o in outcomes.items() if o == -1]),
        ("within noise on", [t for t, o in outcomes.items() if o == 0]),
    ]
    return "; ".join(f"{name} {', '.join(ts)}" for name, ts in groups if ts)


def _not_tested(cid: str, number: int, finding: str, rule: str, published: str, need: str) -> Claim:
    return Claim(cid, number, finding, rule, f"needs {need}", published, "not tested")


def _learned(rows: dict, facts: Facts, task: str, archs: Sequence[str]) -> bool:
    """Whether one of ``archs`` learns ``task`` (True where ``facts`` has no reference for it)."""
    reference = facts.references.get(task)
    return reference is None or testable([rows.get((a, task)) for a in archs], reference)


def _untestable(
    claim: tuple[str, int, str, str, str],
    rows: dict,
    facts: Facts,
    tasks: Sequence[str],
    archs: Sequence[str],
) -> Claim | None:
    """The claim ``(id, number, finding, rule, published)`` as "not testable" on the first of
    ``tasks`` that none of ``archs`` learns (:func:`richneuron.analysis.references.learners`),
    with the numbers: a claim that rests on every one of them cannot be tested without it. None
    when each is learned, or when ``facts`` carries no reference for it."""
    task = next((t for t in tasks if not _learned(rows, facts, t, archs)), None)
    if task is None:
        return None
    reference = facts.references[task]
    compared = ", ".join(
        f"{a} {compact(rows[(a, task)]['mean'], reference.metric)}"
        for a in archs
        if (a, task) in rows
    )
    ours = (
        f"{NOT_TESTABLE} ({task}): no network it compares beats the best reference predictor, "
        f"{reference_text(reference)}, beyond noise ({compared})"
    )
    cid, number, finding, rule, published = claim
    return Claim(cid, number, finding, rule, ours, published, "not testable")


def _margin(rows: dict, a: str, b: str, task: str) -> str:
    """`` (a better beyond noise: ...)``, the same for ``b``, or `` (within noise: ...)``, with
    the comparison's interval."""
    interval = _interval(rows, a, b, task)
    text = (
        f"{b} / {a} MSE {_ratio_ci(interval)}"
        if rows[(a, task)]["metric"] == "mse"
        else f"{a} − {b} {_points_ci(interval)}"
    )
    result = _outcome(rows, a, b, task)
    if result == 0:
        ra, rb = rows[(a, task)], rows[(b, task)]
        effect = stats.detectable(ra["values"], rb["values"], ra["metric"])
        detect = f"would detect {format_detectable(effect, ra['metric'])}"
        if stats.outcome(interval) == 0:
            return f" (within noise: {text}; {detect})"
        x, y = (_usable(r["values"], r["metric"]) for r in (ra, rb))
        p = stats.permutation_p(x, y, ra["metric"])
        return f" (within noise after the ledger's correction: {text}, {format_p(p)}; {detect})"
    return f" ({a if result == 1 else b} better beyond noise: {text})"


def _fmt(value: float | None, task: str) -> str:
    if value is None:
        return "not published"

    return format_percent(value) if get_task(task).metric == "accuracy" else f"{value:.3g}"


def final_diagnostic(rs: ResultSet, arch: str, key: str, index: int = -1) -> float:
    """Mean over ``arch``'s runs (all tasks and seeds) of the last logged value of ``key``
    (``index=0``: the value at step 0, before training).

    Raises:
        KeyError: if no run of ``arch`` records ``key``.
    """
    values = [r.diagnostics[key][index] for r in rs.select(arch) if r.diagnostics.get(key)]
    if not values:
        raise KeyError(f"{rs.name}: no run of {arch!r} records diagnostic {key!r}")
    return math.fsum(values) / len(values)


def diagnostic_seeds(rs: ResultSet, arch: str, key: str, index: int = -1) -> list[float]:
    """Per seed of ``arch`` (in seed order), the mean over its tasks of the last logged value of
    ``key`` (``index=0``: the value at step 0): the sample a diagnostic's interval is over.

    Raises:
        KeyError: if no run of ``arch`` records ``key``.
    """
    by_seed: dict[int, list[float]] = {}
    for r in rs.select(arch):
        if r.diagnostics.get(key):
            by_seed.setdefault(r.run.seed, []).append(r.diagnostics[key][index])
    if not by_seed:
        raise KeyError(f"{rs.name}: no run of {arch!r} records diagnostic {key!r}")
    return [math.fsum(v) / len(v) for _, v in sorted(by_seed.items())]


def _near(values: Sequence[float], low: float, high: float) -> tuple[stats.Interval, str]:
    """The interval of the mean of ``values`` and the verdict of "it lies in (low, high)":
    replicated if the whole interval does, not replicated if none of it does, otherwise (or
    with one seed) not established."""
    if len(values) < 2:
        v = statistics.fmean(values)
        return stats.Interval(v, math.nan, math.nan, math.nan), "not established"
    ci = stats.mean_interval(values)
    at_worst = low < ci.low and ci.high < high
    at_best = ci.low < high and ci.high > low
    return ci, _settled(at_best, at_worst)


def _ci3(ci: stats.Interval) -> str:
    if not math.isfinite(ci.low):
        return f"{ci.estimate:.3f} (one seed)"
    return f"{ci.estimate:.3f} [{ci.low:.3f}, {ci.high:.3f}]"
