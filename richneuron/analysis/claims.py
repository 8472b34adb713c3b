"""The published findings as computed checks (Synthesis chapter, claims ledger).

Each finding of the original study (``../shared/study.md``, numbered 1-10 there) is a function of
a :class:`~richneuron.store.results.ResultSet` that returns a :class:`Claim`: our number, the
published
number, the rule applied, and a verdict. The rules are fixed here, before looking at any result,
and printed beside every verdict:

* every comparison of two architectures on a task goes through the book's one beyond-noise rule
  (:func:`richneuron.stats.compare`, :func:`richneuron.stats.outcome`): A is better than B only
  if the 95% bootstrap interval over seeds of their ratio of MSEs (or difference of accuracies)
  excludes 1 (or 0); otherwise the two are *within noise*;
* a *ratio* or *gain* claim is **replicated** when the direction holds beyond noise and our
  estimate is within a factor :data:`MAGNITUDE_FACTOR` of the published one (for ratios; for
  gains, at least half of it), **partly replicated** when only the direction holds, **not
  replicated** when the opposite direction holds beyond noise;
* a claim made of several comparisons (win counts, "A beats B on T and loses on U") is read twice,
  with every within-noise comparison resolved for it and against it
  (:func:`richneuron.stats.settle`): **replicated** if it holds even at worst, **not replicated**
  if it fails even at best;
* either way, a claim whose outcome depends on noise is **not established**, and says so with its
  intervals;
* a claim whose runs are absent (a quick build, a chapter re-run on fewer tasks) is
  **not tested**, never guessed.

:func:`ledger` with a second evaluation sets each verdict beside the same claim evaluated on a
disjoint set of seeds of the same size (the stability column, :func:`stability_rows`).

The published numbers come from ``data/published.json``, a verbatim copy of the study's numbers
(:func:`load_published`).
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import stats
from ..config import DEFAULT_BUDGET, TrainConfig
from ..formatting import format_comparison, format_percent, format_ratio
from ..neurons import ARCHITECTURES, VERSION_ORDER, get_arch
from ..neurons.matching import match_width
from ..paths import sweep_file
from ..store.results import ResultsError, ResultSet, versus
from ..tables import Markdown, markdown_table
from ..tasks import better, get_task
from .capacity import capacity, capacity_points, mse_ratio_bits

__all__ = [
    "ADAPTIVE",
    "CLAIMS",
    "Claim",
    "MAGNITUDE_FACTOR",
    "PUBLISHED_VERDICTS",
    "STANDARD_TASKS",
    "evaluate",
    "headline_bits",
    "published_ratio_worth",
    "final_diagnostic",
    "fit_width_cost",
    "ledger",
    "load_published",
    "published_metric",
    "published_oddities",
    "stability_rows",
    "tally",
    "width_rows",
]

#: The six "standard" tasks of the study's win counts.
STANDARD_TASKS = ("complex_4d", "nested_2d", "hifreq", "memorize", "spiral", "checkerboard")

#: Adaptive variants of the study (v6-v15), in version order.
ADAPTIVE = ("v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v15")

#: Variants whose frequency or phase adapts to the input (finding 7's "adaptive").
ADAPTIVE_FREQUENCY = ("v7", "v9", "v10", "v12", "v15")

#: A replicated size is within this factor of the published one.
MAGNITUDE_FACTOR = 10.0

#: "Near" thresholds of the diagnostic claims (finding 9).
ALPHA_NEAR = 0.1  # |mean alpha - 0.5| below this: alpha "stays near 0.5"
OMEGA_NEAR = 0.1  # relative change of mean omega(x) below this: "stays near its initial value"
PHASE_NEAR = 0.05  # mean |phase shift| (radians) below this: "stays near 0"

#: Published width cost per extra matrix, and the tolerance of our fit against it.
WIDTH_COST_PUBLISHED = 0.35
WIDTH_COST_TOLERANCE = 0.05

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

#: The published reference, relative to the repository root (chapters run there).
PUBLISHED_PATH = "data/published.json"

VERDICTS = ("replicated", "partly replicated", "not replicated", "not established", "not tested")


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

    @property
    def holds(self) -> bool:
        return self.verdict == "replicated"


# ---------------------------------------------------------------------------------------------
# Published reference.


def load_published(path: str | os.PathLike = PUBLISHED_PATH) -> dict:
    """The published numbers (a copy of the study's ``published.json``), checked for the fields
    the claims read.

    Raises:
        ResultsError: naming the file and the missing or malformed field.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file (the published reference)") from None
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    for field in ("results", "headline_claims"):
        if not isinstance(doc, dict) or not isinstance(doc.get(field), dict):
            raise ResultsError(f"{path}: {field}: missing field or not an object")
    for group, table in doc["results"].items():
        if not isinstance(table, dict) or not isinstance(table.get("tasks"), list):
            raise ResultsError(f"{path}: results.{group}.tasks: missing field or not a list")
        for arch, values in table.items():
            if arch in ("tasks", "protocol"):
                continue
            if not isinstance(values, list) or len(values) != len(table["tasks"]):
                raise ResultsError(
                    f"{path}: results.{group}.{arch}: expected a list of "
                    f"{len(table['tasks'])} numbers"
                )
    return doc


def published_metric(published: dict, arch: str, task: str) -> float | None:
    """The published test metric of ``arch`` on ``task`` (accuracy as a fraction), or None."""
    for group, table in published["results"].items():
        if task in table["tasks"] and arch in table:
            value = float(table[arch][table["tasks"].index(task)])
            return value / 100 if group.endswith("percent") else value
    return None


# ---------------------------------------------------------------------------------------------
# Helpers over a result set.


def _rows(rs: ResultSet) -> dict[tuple[str, str], dict]:
    return rs.summary_by_key()


def _has(rows: dict, *pairs: tuple[str, str]) -> bool:
    return all(p in rows and math.isfinite(rows[p]["mean"]) for p in pairs)


def _better(rows: dict, a: str, b: str, task: str) -> bool:
    """``a``'s mean is better than ``b``'s (no noise rule: for the text, never a verdict)."""
    ra, rb = rows[(a, task)], rows[(b, task)]
    return better(ra["mean"], rb["mean"], ra["metric"])


def _interval(rows: dict, a: str, b: str, task: str) -> stats.Interval:
    """:func:`richneuron.stats.compare` of ``a`` against ``b`` on ``task``."""
    ra, rb = rows[(a, task)], rows[(b, task)]
    return stats.compare(ra["values"], rb["values"], ra["metric"])


def _outcome(rows: dict, a: str, b: str, task: str) -> int:
    """+1: ``a`` better than ``b`` beyond noise; -1: ``b`` better beyond noise; 0: within
    (:func:`richneuron.store.results.versus`: a side that diverged on every seed loses)."""
    return versus(rows[(a, task)], rows[(b, task)])[1]


def _settled(at_best: bool, at_worst: bool) -> str:
    """A multi-comparison claim's verdict (:func:`richneuron.stats.settle`)."""
    return {
        "holds": "replicated",
        "fails": "not replicated",
        "not established": "not established",
    }[stats.settle(at_best, at_worst)]


def _directional(result: int, size_ok: bool) -> str:
    """A ratio or gain claim's verdict from its direction's outcome and whether the size is
    near the published one."""
    if result == 1:
        return "replicated" if size_ok else "partly replicated"
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


def _magnitude_ok(ours: float, theirs: float) -> bool:
    return ours > 0 and theirs > 0 and abs(math.log(ours / theirs)) <= math.log(MAGNITUDE_FACTOR)


# ---------------------------------------------------------------------------------------------
# The claims.


def _ratio_claim(
    cid: str, number: int, task: str, key: str, finding: str
) -> Callable[[ResultSet, dict], Claim]:
    def check(rs: ResultSet, published: dict) -> Claim:
        rule = (
            f"vanilla / SinGLU test MSE on {task} with its 95% interval: replicated if the "
            f"interval lies above 1 and the ratio is within {MAGNITUDE_FACTOR:g}x of the "
            "published one, partly if only above 1, not established if it includes 1"
        )
        theirs = float(published["headline_claims"][key])
        rows = _rows(rs)
        if not _has(rows, ("vanilla", task), ("singlu", task)):
            return _not_tested(cid, number, finding, rule, format_ratio(theirs), f"{task} runs")
        interval = _interval(rows, "singlu", "vanilla", task)
        ratio = rows[("vanilla", task)]["mean"] / rows[("singlu", task)]["mean"]
        verdict = _directional(stats.outcome(interval), _magnitude_ok(ratio, theirs))
        ours = _ratio_ci(interval) if math.isfinite(interval.estimate) else format_ratio(ratio)
        return Claim(
            cid,
            number,
            finding,
            rule,
            ours,
            format_ratio(theirs),
            verdict,
            ratio,
            interval.low,
            interval.high,
            f"vanilla / SinGLU test MSE on {task}",
        )

    return check


def _checkerboard_gain(rs: ResultSet, published: dict) -> Claim:
    finding = "SinGLU beats vanilla on Checkerboard by a wide margin"
    rule = (
        "SinGLU minus vanilla test accuracy on checkerboard, in points, with its 95% interval: "
        "replicated if the interval lies above 0 and the gain is at least half the published "
        "one, partly if only above 0, not established if it includes 0"
    )
    theirs = float(
        published["headline_claims"]["checkerboard_acc_gain_points_singlu_minus_vanilla"]
    )
    rows = _rows(rs)
    if not _has(rows, ("vanilla", "checkerboard"), ("singlu", "checkerboard")):
        return _not_tested("checkerboard_gain", 3, finding, rule, f"+{theirs} points", "runs")
    gain = 100 * (
        rows[("singlu", "checkerboard")]["mean"] - rows[("vanilla", "checkerboard")]["mean"]
    )
    interval = _interval(rows, "singlu", "vanilla", "checkerboard")
    verdict = _directional(stats.outcome(interval), gain >= theirs / 2)
    ours = _points_ci(interval) if math.isfinite(interval.estimate) else f"{gain:+.1f} points"
    return Claim(
        "checkerboard_gain",
        3,
        finding,
        rule,
        ours,
        f"+{theirs:.1f} points",
        verdict,
        gain,
        100 * interval.low,
        100 * interval.high,
        "SinGLU − vanilla accuracy on checkerboard (points)",
    )


def _singlu_wins(rs: ResultSet, published: dict) -> Claim:
    finding = "SinGLU beats vanilla on 5 of the 6 standard tasks, losing only Spiral"
    rule = (
        "on each standard task, SinGLU against vanilla by the beyond-noise rule: replicated if "
        "SinGLU is better beyond noise on the 5 tasks other than Spiral and worse on Spiral; "
        "not established if that depends on the comparisons within noise"
    )
    theirs = "5 of 6 (loses Spiral: 44.2% vs 85.1%)"
    rows = _rows(rs)
    if not _has(rows, *[(a, t) for a in ("vanilla", "singlu") for t in STANDARD_TASKS]):
        return _not_tested("singlu_wins", 4, finding, rule, theirs, "all six standard tasks")
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


def _no_adaptive_majority(rs: ResultSet, published: dict) -> Claim:
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
    out = {a: [_outcome(rows, a, "singlu", t) for t in STANDARD_TASKS] for a in ADAPTIVE}
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
) -> Callable[[ResultSet, dict], Claim]:
    def check(rs: ResultSet, published: dict) -> Claim:
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
        rows = _rows(rs)
        if not _has(rows, *[(a, t) for a in (arch, "singlu") for t in tasks]):
            return _not_tested(cid, 6, finding, rule, theirs, f"{arch} and SinGLU on {tasks}")
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


def _margin(rows: dict, a: str, b: str, task: str) -> str:
    """`` (a better beyond noise: ...)``, the same for ``b``, or `` (within noise: ...)``, with
    the comparison's interval."""
    interval = _interval(rows, a, b, task)
    text = (
        f"{b} / {a} MSE {_ratio_ci(interval)}"
        if rows[(a, task)]["metric"] == "mse"
        else f"{a} − {b} {_points_ci(interval)}"
    )
    result = stats.outcome(interval)
    if result == 0:
        return f" (within noise: {text})"
    return f" ({a if result == 1 else b} better beyond noise: {text})"


def _fmt(value: float | None, task: str) -> str:
    if value is None:
        return "not published"

    return format_percent(value) if get_task(task).metric == "accuracy" else f"{value:.3g}"


def _v15_first_hifreq(rs: ResultSet, published: dict) -> Claim:
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
    if not _has(rows, ("v15", "hifreq"), ("singlu", "hifreq")):
        return _not_tested("v15_hifreq", 6, finding, rule, theirs, "v15 and SinGLU on hifreq")
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


def _fixed_frequency(rs: ResultSet, published: dict) -> Claim:
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
    if not _has(rows, *pairs):
        return _not_tested("fixed_frequency", 7, finding, rule, theirs, "freq_gen runs")
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
    """Mean over seeds of OOD test MSE / final training MSE on ``ood_shift``."""
    values = _degradations(rs, arch)
    return statistics.fmean(values) if values else math.nan


def _ood_degradation(rs: ResultSet, published: dict) -> Claim:
    finding = "periodic neurons degrade far more than vanilla out of distribution"
    rule = (
        "degradation = test MSE on x in [1, 2] / training MSE on x in [-1, 1] (ood_shift, per "
        "seed): replicated if every periodic architecture's mean degradation exceeds vanilla's "
        "beyond noise (the 95% interval of their ratio lies above 1), not established if one "
        "is within noise"
    )
    theirs = "periodic 24-1273x vs vanilla 7x"
    periodic = [  # the study's periodic neurons (the related neurons are not its claim)
        a
        for a in ARCHITECTURES
        if a != "vanilla" and get_arch(a).canonical == a and not get_arch(a).is_related
    ]
    present = [a for a in periodic if rs.select(a, "ood_shift")]
    if not rs.select("vanilla", "ood_shift") or not present:
        return _not_tested("ood_degradation", 8, finding, rule, theirs, "ood_shift runs")
    base_values = _degradations(rs, "vanilla")
    base = _degradation(rs, "vanilla")
    ratios = {a: _degradation(rs, a) for a in present}
    out = {}
    for a in present:  # ratio of mean degradations, a over vanilla: above 1, a degrades more
        interval = stats.compare(base_values, _degradations(rs, a), "mse")
        out[a] = stats.outcome(interval)
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


def _v6_alpha(rs: ResultSet, published: dict) -> Claim:
    finding = "v6's routing weight alpha stays near 0.5"
    rule = (
        f"mean alpha at the end of training (per seed, over tasks) with its 95% interval: "
        f"replicated if the interval lies within {ALPHA_NEAR} of 0.5, not replicated if it lies "
        "wholly outside, otherwise not established"
    )
    try:
        values = diagnostic_seeds(rs, "v6", "alpha_mean")
        spread = final_diagnostic(rs, "v6", "alpha_std")
    except KeyError:
        return _not_tested("v6_alpha", 9, finding, rule, "0.5", "v6 runs")
    ci, verdict = _near(values, 0.5 - ALPHA_NEAR, 0.5 + ALPHA_NEAR)
    return Claim(
        "v6_alpha",
        9,
        finding,
        rule,
        f"mean {_ci3(ci)} (spread across inputs and neurons {spread:.3f})",
        "stuck at 0.5",
        verdict,
        ci.estimate,
    )


def _v7_omega(rs: ResultSet, published: dict) -> Claim:
    finding = "v7's learnable frequency stays at its initial value"
    rule = (
        f"relative change of mean omega(x) from step 0 to the end (per seed, over tasks) with its "
        f"95% interval: replicated if the interval lies within ±{OMEGA_NEAR:.0%}, not replicated "
        "if wholly outside, otherwise not established"
    )
    try:
        first = diagnostic_seeds(rs, "v7", "omega_mean", 0)
        last = diagnostic_seeds(rs, "v7", "omega_mean")
    except KeyError:
        return _not_tested("v7_omega", 9, finding, rule, "frozen", "v7 runs")
    changes = [(b - a) / a for a, b in zip(first, last)]
    ci, verdict = _near(changes, -OMEGA_NEAR, OMEGA_NEAR)
    interval = (
        f" [{ci.low:+.1%}, {ci.high:+.1%}]" if math.isfinite(ci.low) else " (one seed)"
    )
    return Claim(
        "v7_omega",
        9,
        finding,
        rule,
        f"{statistics.fmean(first):.3f} to {statistics.fmean(last):.3f} "
        f"({ci.estimate:+.1%}{interval})",
        "frozen at initialisation",
        verdict,
        ci.estimate,
    )


def _v11_phase(rs: ResultSet, published: dict) -> Claim:
    finding = "v11's phase stays near 0"
    rule = (
        f"mean |phase shift| at the end of training (per seed, over tasks) with its 95% "
        f"interval: replicated if the interval lies below {PHASE_NEAR} rad (its bound is "
        "0.1 omega), not replicated if wholly above, otherwise not established"
    )
    try:
        values = diagnostic_seeds(rs, "v11", "phase_abs")
    except KeyError:
        return _not_tested("v11_phase", 9, finding, rule, "about 0", "v11 runs")
    ci, verdict = _near(values, -math.inf, PHASE_NEAR)
    return Claim(
        "v11_phase",
        9,
        finding,
        rule,
        f"{_ci3(ci)} rad",
        "about 0",
        verdict,
        ci.estimate,
    )


#: Left out of the width rows: their width says nothing about the cost of a matrix (v4's
#: low-rank factors; the Fourier features' first layer, which maps twice its width).
NOT_PER_MATRIX = ("v4_lowrank", "fourier_features")


def width_rows(
    config: TrainConfig | None = None, task: str = "nested_2d", related: bool = False
) -> list[dict]:
    """First hidden layer's width at the budget for every distinct full-rank architecture of
    the study, and with ``related`` the related neurons too (``"related"`` says which).

    :data:`NOT_PER_MATRIX` are left out and aliases are listed once.
    """
    config = config or TrainConfig()
    rows = []
    for a in ARCHITECTURES.values():
        if a.canonical != a.id or a.id in NOT_PER_MATRIX or (a.is_related and not related):
            continue
        widths, _ = match_width(a.id, task, config.budget_for(task), config)
        rows.append(
            {"arch": a.id, "matrices": a.matrices, "width": widths[0], "related": a.is_related}
        )
    return rows


def fit_width_cost(rows: Sequence[dict]) -> dict:
    """Least-squares fit of ``log width = log w1 + (k - 1) log(1 - cost)`` over ``rows``.

    Returns:
        ``{"width_1": w1, "cost": cost}``: the fraction of width each extra matrix costs.
    """
    ks = [r["matrices"] - 1 for r in rows]
    ys = [math.log(r["width"]) for r in rows]
    mk, my = statistics.fmean(ks), statistics.fmean(ys)
    slope = sum((k - mk) * (y - my) for k, y in zip(ks, ys)) / sum((k - mk) ** 2 for k in ks)
    return {"width_1": math.exp(my - slope * mk), "cost": 1 - math.exp(slope)}


def _width_cost(rs: ResultSet, published: dict, config: TrainConfig | None = None) -> Claim:
    finding = "every extra matrix per neuron costs about 35% of hidden width at a fixed budget"
    config = config or TrainConfig(
        **{k: v for k, v in rs.config.items() if k in TrainConfig.field_names()}
    )
    rule = (
        f"fit width = w1 (1 - c)^(matrices - 1) over the matched widths on nested_2d at "
        f"{config.budget} parameters: replicated if c is within {WIDTH_COST_TOLERANCE:.0%} of "
        f"{WIDTH_COST_PUBLISHED:.0%}"
    )
    fit = fit_width_cost(width_rows(config))
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


#: The number of the ledger's own claim (not one of study.md's ten findings).
SINE_CONTROL_NUMBER = 11


def _sine_control(rs: ResultSet, published: dict) -> Claim:
    finding = "SinGLU beats its sine-free control (bilinear, y = g v)"
    rule = (
        "on every task trained, SinGLU against bilinear by the beyond-noise rule: replicated if "
        "SinGLU is better beyond noise on a majority of the tasks, not replicated if it is not "
        "even counting its ties as wins, otherwise not established"
    )
    theirs = "not tested: the sine is SinGLU's premise"
    rows = _rows(rs)
    tasks = [t for (a, t) in rows if a == "singlu" and _has(rows, ("bilinear", t), ("singlu", t))]
    if not tasks:
        return _not_tested(
            "sine_control", SINE_CONTROL_NUMBER, finding, rule, theirs, "SinGLU and bilinear runs"
        )
    out = {t: _outcome(rows, "singlu", "bilinear", t) for t in tasks}
    wins = [t for t, o in out.items() if o == 1]
    losses = [t for t, o in out.items() if o == -1]
    ties = len(tasks) - len(wins) - len(losses)
    ours = (
        f"SinGLU better beyond noise on {len(wins)} of {len(tasks)} tasks"
        + (f" ({', '.join(wins)})" if wins else "")
        + f", bilinear on {len(losses)}"
        + (f" ({', '.join(losses)})" if losses else "")
        + f", within noise on {ties}"
    )
    verdict = _settled(2 * (len(wins) + ties) > len(tasks), 2 * len(wins) > len(tasks))
    return Claim(
        "sine_control",
        SINE_CONTROL_NUMBER,
        finding,
        rule,
        ours,
        theirs,
        verdict,
        len(wins),
        measure=f"tasks SinGLU wins against bilinear beyond noise (of {len(tasks)})",
    )


#: The number of the ledger's restatement of finding 1 in bits.
HEADLINE_BITS_NUMBER = 12

#: The capacity sweep the restatement reads (chapter "Capacity in bits").
CAPACITY_PATH = sweep_file("capacity")


def published_ratio_worth(published: dict, config: TrainConfig | None = None) -> dict:
    """What the published Memorize ratio is worth in bits: ``{"ratio", "bits"`` (per target
    value, :func:`richneuron.analysis.capacity.mse_ratio_bits`), ``"targets"`` (Memorize's points
    times
    outputs), ``"params"`` (vanilla's on Memorize under ``config``), ``"per_param"`` (bits times
    targets over parameters: the most the ratio adds per parameter), ``"orders"`` (its whole
    orders of magnitude)``}``."""
    config = config or TrainConfig()
    ratio = float(published["headline_claims"]["memorize_mse_ratio_vanilla_over_singlu"])
    task = get_task("memorize")
    targets = task.n_train * task.out_dim
    _, params = match_width("vanilla", "memorize", config.budget_for("memorize"), config)
    bits = mse_ratio_bits(ratio)
    return {
        "ratio": ratio, "bits": bits, "targets": targets, "params": params,
        "per_param": bits * targets / params, "orders": math.floor(math.log10(ratio)),
    }


def headline_bits(rs: ResultSet, published: dict, capacity_sweep=None) -> Claim:
    """Finding 1 restated in bits: the Memorize MSE ratios (ours from ``rs``, the published one)
    converted with :func:`richneuron.analysis.capacity.mse_ratio_bits`, beside vanilla's and
    SinGLU's
    capacity at the default budget from ``capacity_sweep`` (a
    :class:`richneuron.experiments.specs.SweepResult` or its sets, as the caller read them from
    :data:`CAPACITY_PATH`; ``None``: no capacity runs, the claim is not established)."""
    finding = "SinGLU stores more information per parameter than vanilla (finding 1, in bits)"
    rule = (
        "an MSE ratio r is worth at most ½·log2(r) bits per target value; times Memorize's "
        "targets over vanilla's parameters, the most it adds per parameter. SinGLU minus "
        "vanilla capacity on random data (bits per parameter at each one's best learning rate "
        "and peak point count, per seed) with its 95% interval: replicated if the interval lies "
        f"above 0 and the gain is within {MAGNITUDE_FACTOR:g}x of what the published ratio is "
        "worth, partly if only above 0, not replicated if below, otherwise not established"
    )
    worth = published_ratio_worth(published, TrainConfig(**rs.config) if rs.config else None)
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
    peaks = {}
    if capacity_sweep is not None:
        sets = getattr(capacity_sweep, "sets", capacity_sweep)
        peaks = {
            r["arch"]: r
            for r in capacity(capacity_points(sets))
            if r["budget"] == DEFAULT_BUDGET
        }
    if "vanilla" not in peaks or "singlu" not in peaks:
        return Claim(
            "headline_bits", HEADLINE_BITS_NUMBER, finding, rule,
            f"{said}; no capacity sweep of vanilla and SinGLU", theirs, "not tested",
        )
    v, g = peaks["vanilla"], peaks["singlu"]
    gain = g["per_param"] - v["per_param"]
    if len(g["bits"]) > 1 and len(v["bits"]) > 1:
        interval = stats.difference_interval(
            [b / g["params"] for b in g["bits"]], [b / v["params"] for b in v["bits"]]
        )
        gain_text = f"{gain:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}]"
    else:
        interval = stats.UNKNOWN
        gain_text = f"{gain:+.2f} (one seed)"
    ours = (
        f"{said}; capacity: SinGLU {g['per_param']:.2f} "
        f"[{g['per_param_low']:.2f}, {g['per_param_high']:.2f}], vanilla {v['per_param']:.2f} "
        f"[{v['per_param_low']:.2f}, {v['per_param_high']:.2f}] bits per parameter, "
        f"SinGLU − vanilla {gain_text}"
    )
    verdict = _directional(stats.outcome(interval), _magnitude_ok(gain, theirs_per_param))
    return Claim(
        "headline_bits", HEADLINE_BITS_NUMBER, finding, rule, ours, theirs, verdict, gain
    )


#: Every claim of the ledger, in the order of study.md, then the ledger's own.
CLAIMS: dict[str, Callable[[ResultSet, dict], Claim]] = {
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
    "singlu_wins": _singlu_wins,
    "no_adaptive_majority": _no_adaptive_majority,
    "v10_spiral_complex": _win_claim(
        "v10_spiral_complex",
        "v10",
        ("spiral", "complex_4d"),
        (),
        "v10 wins Spiral and Complex against SinGLU",
    ),
    "v13_checkerboard_spiral": _win_claim(
        "v13_checkerboard_spiral",
        "v13",
        ("checkerboard",),
        ("spiral",),
        "v13 wins Checkerboard but loses Spiral",
    ),
    "v15_hifreq": _v15_first_hifreq,
    "fixed_frequency": _fixed_frequency,
    "ood_degradation": _ood_degradation,
    "v6_alpha": _v6_alpha,
    "v7_omega": _v7_omega,
    "v11_phase": _v11_phase,
    "width_cost": _width_cost,
    "sine_control": _sine_control,
    "headline_bits": headline_bits,
}


def evaluate(
    rs: ResultSet,
    published: dict,
    ids: Sequence[str] | None = None,
    capacity_sweep=None,
) -> list[Claim]:
    """The claims ``ids`` (default: all of :data:`CLAIMS`) checked against ``rs``
    (``capacity_sweep``: the capacity runs :func:`headline_bits` compares, which the caller
    reads from :data:`CAPACITY_PATH`; ``None``: none).

    Raises:
        ValueError: on an unknown claim id (naming the valid ones).
    """
    ids = list(ids) if ids is not None else list(CLAIMS)
    for cid in ids:
        if cid not in CLAIMS:
            raise ValueError(f"unknown claim {cid!r}; valid claims: {', '.join(CLAIMS)}")
    return [
        headline_bits(rs, published, capacity_sweep)
        if cid == "headline_bits"
        else CLAIMS[cid](rs, published)
        for cid in ids
    ]


def ledger(claims: Sequence[Claim], second: Sequence[Claim] | None = None, seeds: str = ""):
    """The claims ledger as a Markdown table (finding, check, ours, published, verdict); with
    ``second`` (the same claims evaluated on a disjoint set of seeds, named by ``seeds``) two
    more columns: the verdict there and the stability (``agrees``, or ``flips`` in bold)."""
    header = ["#", "finding", "check", "ours", "published", "verdict"]
    rows = [
        [c.number, c.finding, c.rule, c.ours, c.published, f"**{c.verdict}**"] for c in claims
    ]
    if second is not None:
        where = f"on seeds {seeds}" if seeds else "on the other seeds"
        header += [f"verdict {where}", "stability"]
        for row, r in zip(rows, stability_rows(claims, second)):
            row += [
                f"{r['second_verdict']}: {r['second_ours']}",
                "**flips**" if r["stability"] == "flips" else r["stability"],
            ]
    return markdown_table(header, rows)


def stability_rows(
    first: Sequence[Claim],
    second: Sequence[Claim] | None,
    pooled: Sequence[Claim] | None = None,
) -> list[dict]:
    """Each claim's verdict beside its verdict on a disjoint set of seeds of the same size:
    ``{"id", "number", "finding", "verdict", "ours", "second_verdict", "second_ours",
    "stability"}`` (:func:`richneuron.stats.agreement`: ``"agrees"`` or ``"flips"``; ``"not
    checked"`` when the second evaluation lacks the runs the claim needs). With ``pooled`` (the
    same claims on both sets of seeds together), also ``"pooled_verdict"`` and ``"pooled_ours"``.

    Empty when ``second`` is None (no disjoint seeds stored).

    Raises:
        ValueError: if the lists are not the same claims in the same order.
    """
    if second is None:
        return []
    if [c.id for c in first] != [c.id for c in second]:
        raise ValueError("second: must hold the same claims as first, in the same order")
    if pooled is not None and [c.id for c in first] != [c.id for c in pooled]:
        raise ValueError("pooled: must hold the same claims as first, in the same order")
    rows = [
        {
            "id": a.id,
            "number": a.number,
            "finding": a.finding,
            "verdict": a.verdict,
            "ours": a.ours,
            "second_verdict": b.verdict,
            "second_ours": b.ours,
            "stability": (
                "not checked"
                if b.verdict == "not tested" and a.verdict != "not tested"
                else stats.agreement(a.verdict, b.verdict)
            ),
        }
        for a, b in zip(first, second)
    ]
    for row, c in zip(rows, pooled or []):
        row.update(pooled_verdict=c.verdict, pooled_ours=c.ours)
    return rows


def tally(claims: Sequence[Claim], verdict: str) -> int:
    """How many of ``claims`` have ``verdict``.

    Raises:
        ValueError: on a verdict not in :data:`VERDICTS`.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict: unknown {verdict!r}; valid: {', '.join(VERDICTS)}")
    return sum(c.verdict == verdict for c in claims)


def published_oddities(published: dict):
    """Numbers of the original that are suspect on their own terms, as Markdown bullets.

    Each bullet is computed from ``published`` by a fixed rule: a two-class accuracy below
    chance (0.5), and a baseline number that differs by more than 10x (MSE) or 10 points
    (accuracy) between the original's first table and its final tables.
    """
    lines = []
    for group, table in published["results"].items():
        if not group.endswith("percent"):
            continue
        for arch, values in table.items():
            if arch == "tasks":
                continue
            for task, value in zip(table["tasks"], values):
                if value < 50:
                    lines.append(
                        f"- **{arch} on {task}: {value}% accuracy**, below the 50% of guessing "
                        f"on two balanced classes. A classifier below chance is better than "
                        f"chance with its output negated, so this number points to a problem in "
                        f"how it was evaluated rather than to a weak model."
                    )
    first = published.get("first_version_table")
    if first:
        names = {"nested": "nested_2d", "complex": "complex_4d"}
        for i, name in enumerate(first["tasks"]):
            task = names.get(name, name)
            early = float(first["vanilla"][i])
            late = published_metric(published, "vanilla", task)
            if late is None:
                continue
            if first["metric"][i] == "acc_percent":
                gap = abs(early - 100 * late)
                if gap > 10:
                    lines.append(
                        f"- **vanilla on {task}**: {early}% in the first published table, "
                        f"{100 * late:.1f}% in the final one ({gap:.1f} points apart) for the "
                        f"same baseline network: the two tables were "
                        f"probably not made under one protocol."
                    )
            elif max(early, late) / min(early, late) > 10:
                lines.append(
                    f"- **vanilla on {task}**: MSE {early:g} in the first published table, "
                    f"{late:g} in the final one ({max(early, late) / min(early, late):,.0f}x "
                    f"apart) for the same baseline network: the two tables were probably "
                    f"not made under one protocol."
                )
    return Markdown("\n".join(lines) + "\n")
