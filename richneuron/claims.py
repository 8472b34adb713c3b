"""The published findings as computed checks (Synthesis chapter, claims ledger).

Each finding of the original study (``../shared/study.md``, numbered 1-10 there) is a function of
a :class:`~richneuron.results.ResultSet` that returns a :class:`Claim`: our number, the published
number, the rule applied, and a verdict. The rules are fixed here, before looking at any result,
and printed beside every verdict:

* a *ratio* or *gain* claim is **replicated** when the direction holds by more than the seed
  spread and our size is within a factor :data:`MAGNITUDE_FACTOR` of the published one (within
  ``MAGNITUDE_FACTOR`` times for ratios, in points for gains), **partly replicated** when only the
  direction holds, **not replicated** otherwise;
* a *win* claim ("A beats B on task T") compares means; whether the margin exceeds the seed spread
  is reported beside it;
* a claim whose runs are absent (a quick build, a chapter re-run on fewer tasks) is
  **not tested**, never guessed.

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

from .config import TrainConfig
from .matching import match_width
from .neurons import ARCHITECTURES, get_arch
from .results import ResultsError, ResultSet
from .tables import Markdown, markdown_table
from .tasks import better

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
    "tally",
    "width_rows",
]

#: The six "standard" tasks of the study's win counts.
STANDARD_TASKS = ("complex_4d", "nested_2d", "hifreq", "memorize", "spiral", "checkerboard")

#: Adaptive variants of the study (v6-v15), in version order.
ADAPTIVE = ("v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v15")

#: Variants whose frequency or phase adapts to the input (finding 7's "adaptive").
ADAPTIVE_FREQUENCY = ("v7", "v9", "v10", "v12", "v15")

#: Versions in the study's order, for "first to ..." claims.
VERSION_ORDER = (
    "v1",
    "v4_lowrank",
    "v4_shared",
    "v6",
    "v7",
    "v8",
    "v9",
    "v10",
    "v11",
    "v12",
    "v13",
    "v15",
)

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

VERDICTS = ("replicated", "partly replicated", "not replicated", "not tested")


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
    return {(r["arch"], r["task"]): r for r in rs.summary()}


def _has(rows: dict, *pairs: tuple[str, str]) -> bool:
    return all(p in rows and math.isfinite(rows[p]["mean"]) for p in pairs)


def _better(rows: dict, a: str, b: str, task: str) -> bool:
    ra, rb = rows[(a, task)], rows[(b, task)]
    return better(ra["mean"], rb["mean"], ra["metric"])


def _clear(rows: dict, a: str, b: str, task: str) -> bool:
    """``a`` better than ``b`` by more than the sum of their seed standard deviations."""
    ra, rb = rows[(a, task)], rows[(b, task)]
    gap = abs(ra["mean"] - rb["mean"])
    return _better(rows, a, b, task) and ra["n_seeds"] > 1 and gap > ra["std"] + rb["std"]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ratio(x: float) -> str:
    return f"{x:,.0f}x" if x >= 100 else f"{x:.3g}x"


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
            f"vanilla / SinGLU test MSE on {task}: replicated if SinGLU is lower by more than the "
            f"seed spread and the ratio is within {MAGNITUDE_FACTOR:g}x of the published one"
        )
        theirs = float(published["headline_claims"][key])
        rows = _rows(rs)
        if not _has(rows, ("vanilla", task), ("singlu", task)):
            return _not_tested(cid, number, finding, rule, _ratio(theirs), f"{task} runs")
        ratio = rows[("vanilla", task)]["mean"] / rows[("singlu", task)]["mean"]
        direction = _clear(rows, "singlu", "vanilla", task)
        verdict = (
            "replicated"
            if direction and _magnitude_ok(ratio, theirs)
            else ("partly replicated" if direction else "not replicated")
        )
        return Claim(cid, number, finding, rule, _ratio(ratio), _ratio(theirs), verdict, ratio)

    return check


def _checkerboard_gain(rs: ResultSet, published: dict) -> Claim:
    finding = "SinGLU beats vanilla on Checkerboard by a wide margin"
    rule = (
        "SinGLU minus vanilla test accuracy on checkerboard, in points: replicated if SinGLU is "
        "higher by more than the seed spread and the gain is at least half the published one"
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
    direction = _clear(rows, "singlu", "vanilla", "checkerboard")
    verdict = (
        "replicated"
        if direction and gain >= theirs / 2
        else ("partly replicated" if direction else "not replicated")
    )
    return Claim(
        "checkerboard_gain",
        3,
        finding,
        rule,
        f"{gain:+.1f} points",
        f"+{theirs:.1f} points",
        verdict,
        gain,
    )


def _singlu_wins(rs: ResultSet, published: dict) -> Claim:
    finding = "SinGLU beats vanilla on 5 of the 6 standard tasks, losing only Spiral"
    rule = (
        "count the standard tasks where SinGLU's mean beats vanilla's: replicated if 5, Spiral lost"
    )
    theirs = "5 of 6 (loses Spiral: 44.2% vs 85.1%)"
    rows = _rows(rs)
    if not _has(rows, *[(a, t) for a in ("vanilla", "singlu") for t in STANDARD_TASKS]):
        return _not_tested("singlu_wins", 4, finding, rule, theirs, "all six standard tasks")
    won = [t for t in STANDARD_TASKS if _better(rows, "singlu", "vanilla", t)]
    lost = [t for t in STANDARD_TASKS if t not in won]
    ours = f"{len(won)} of 6" + (f" (loses {', '.join(lost)})" if lost else "")
    ok = len(won) == 5 and lost == ["spiral"]
    return Claim(
        "singlu_wins",
        4,
        finding,
        rule,
        ours,
        theirs,
        "replicated" if ok else "not replicated",
        float(len(won)),
    )


def _no_adaptive_majority(rs: ResultSet, published: dict) -> Claim:
    finding = "no adaptive variant (v6-v15) beats SinGLU on a majority of the standard tasks"
    rule = "for each of v6-v15, count standard tasks won against SinGLU: replicated if all below 4"
    theirs = "none (every adaptive mechanism matched or underperformed SinGLU)"
    rows = _rows(rs)
    pairs = [(a, t) for a in ("singlu", *ADAPTIVE) for t in STANDARD_TASKS]
    if not _has(rows, *pairs):
        return _not_tested("no_adaptive_majority", 5, finding, rule, theirs, "v6-v15 on all six")
    wins = {a: sum(_better(rows, a, "singlu", t) for t in STANDARD_TASKS) for a in ADAPTIVE}
    best = max(wins.values())
    leaders = [a for a, w in wins.items() if w == best]
    ours = f"most wins: {', '.join(leaders)} with {best} of 6"
    majority = [a for a, w in wins.items() if w >= 4]
    if majority:
        ours += f"; majority: {', '.join(majority)}"
    return Claim(
        "no_adaptive_majority",
        5,
        finding,
        rule,
        ours,
        theirs,
        "not replicated" if majority else "replicated",
        float(best),
    )


def _win_claim(
    cid: str, arch: str, wins: Sequence[str], losses: Sequence[str], finding: str
) -> Callable[[ResultSet, dict], Claim]:
    def check(rs: ResultSet, published: dict) -> Claim:
        parts = [f"beats SinGLU on {t}" for t in wins] + [f"loses to it on {t}" for t in losses]
        rule = f"{arch} " + " and ".join(parts) + " (means; margin vs seed spread noted)"
        tasks = [*wins, *losses]
        theirs = "; ".join(
            f"{t}: {_fmt(published_metric(published, arch, t), t)} vs "
            f"{_fmt(published_metric(published, 'singlu', t), t)}"
            for t in tasks
        )
        rows = _rows(rs)
        if not _has(rows, *[(a, t) for a in (arch, "singlu") for t in tasks]):
            return _not_tested(cid, 6, finding, rule, theirs, f"{arch} and SinGLU on {tasks}")
        ok = all(_better(rows, arch, "singlu", t) for t in wins) and not any(
            _better(rows, arch, "singlu", t) for t in losses
        )
        ours = "; ".join(
            f"{t}: {_fmt(rows[(arch, t)]['mean'], t)} vs {_fmt(rows[('singlu', t)]['mean'], t)}"
            + _margin(rows, arch, "singlu", t)
            for t in tasks
        )
        return Claim(cid, 6, finding, rule, ours, theirs, "replicated" if ok else "not replicated")

    return check


def _margin(rows: dict, a: str, b: str, task: str) -> str:
    """`` (a better beyond the seed spread)``, the same for ``b``, or `` (within the spread)``."""
    for first, second in ((a, b), (b, a)):
        if _clear(rows, first, second, task):
            return f" ({first} better beyond the seed spread)"
    return " (within the seed spread)"


def _fmt(value: float | None, task: str) -> str:
    if value is None:
        return "not published"
    from .tasks import get_task

    return _pct(value) if get_task(task).metric == "accuracy" else f"{value:.3g}"


def _v15_first_hifreq(rs: ResultSet, published: dict) -> Claim:
    finding = "v15 is the first version to beat SinGLU on HiFreq"
    rule = "v15 beats SinGLU on hifreq and no earlier version (v1-v13) does"
    theirs = (
        f"v15 {_fmt(published_metric(published, 'v15', 'hifreq'), 'hifreq')} vs SinGLU "
        f"{_fmt(published_metric(published, 'singlu', 'hifreq'), 'hifreq')}"
    )
    rows = _rows(rs)
    earlier = [a for a in VERSION_ORDER[:-1] if (a, "hifreq") in rows]
    if not _has(rows, ("v15", "hifreq"), ("singlu", "hifreq")):
        return _not_tested("v15_hifreq", 6, finding, rule, theirs, "v15 and SinGLU on hifreq")
    beats = _better(rows, "v15", "singlu", "hifreq")
    before = [
        a for a in earlier if _has(rows, (a, "hifreq")) and _better(rows, a, "singlu", "hifreq")
    ]
    ours = (
        f"v15 {_fmt(rows[('v15', 'hifreq')]['mean'], 'hifreq')} vs SinGLU "
        f"{_fmt(rows[('singlu', 'hifreq')]['mean'], 'hifreq')}"
        + (f"; earlier versions that beat SinGLU: {', '.join(before)}" if before else "")
    )
    missing = [a for a in VERSION_ORDER[:-1] if (a, "hifreq") not in rows]
    if beats and not before and missing:
        return _not_tested(
            "v15_hifreq", 6, finding, rule, theirs, f"{', '.join(missing)} on hifreq"
        )
    ok = beats and not before
    return Claim(
        "v15_hifreq", 6, finding, rule, ours, theirs, "replicated" if ok else "not replicated"
    )


def _fixed_frequency(rs: ResultSet, published: dict) -> Claim:
    finding = "fixed frequency generalises better to an unseen frequency than adaptive frequency"
    adaptive = ", ".join(ADAPTIVE_FREQUENCY)
    rule = (
        f"SinGLU (fixed omega) has a lower test MSE on freq_gen (2π to 10π) than every variant "
        f"whose frequency or phase adapts ({adaptive})"
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
    beaten = [a for a in ADAPTIVE_FREQUENCY if _better(rows, a, "singlu", "freq_gen")]
    ours = "; ".join(
        f"{a} {rows[(a, 'freq_gen')]['mean']:.3g}" for a in ("singlu", *ADAPTIVE_FREQUENCY)
    )
    if beaten:
        ours += f" (better than SinGLU: {', '.join(beaten)})"
    return Claim(
        "fixed_frequency",
        7,
        finding,
        rule,
        ours,
        theirs,
        "not replicated" if beaten else "replicated",
        rows[("singlu", "freq_gen")]["mean"],
    )


def _degradation(rs: ResultSet, arch: str) -> float:
    """Mean over seeds of OOD test MSE / final training MSE on ``ood_shift``."""
    runs = [r for r in rs.select(arch, "ood_shift") if not r.diverged and r.train_loss > 0]
    return statistics.fmean(r.test_metric / r.train_loss for r in runs) if runs else math.nan


def _ood_degradation(rs: ResultSet, published: dict) -> Claim:
    finding = "periodic neurons degrade far more than vanilla out of distribution"
    rule = (
        "degradation = test MSE on x in [1, 2] / training MSE on x in [-1, 1] (ood_shift, mean "
        "over seeds): replicated if every periodic architecture degrades more than vanilla"
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
    base = _degradation(rs, "vanilla")
    ratios = {a: _degradation(rs, a) for a in present}
    finite = [v for v in ratios.values() if math.isfinite(v)]
    lo, hi = min(finite), max(finite)
    n = f"{len(present)} architecture" + ("s" if len(present) > 1 else "")
    span = _ratio(lo) if lo == hi else f"{_ratio(lo)}-{_ratio(hi)}"
    ours = f"periodic {span} ({n}) vs vanilla {_ratio(base)}"
    ok = all(v > base for v in finite) and len(finite) == len(present)
    return Claim(
        "ood_degradation",
        8,
        finding,
        rule,
        ours,
        theirs,
        "replicated" if ok else "not replicated",
        base,
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


def _v6_alpha(rs: ResultSet, published: dict) -> Claim:
    finding = "v6's routing weight alpha stays near 0.5"
    rule = f"mean alpha at the end of training within {ALPHA_NEAR} of 0.5 (all runs)"
    try:
        alpha = final_diagnostic(rs, "v6", "alpha_mean")
        spread = final_diagnostic(rs, "v6", "alpha_std")
    except KeyError:
        return _not_tested("v6_alpha", 9, finding, rule, "0.5", "v6 runs")
    ok = abs(alpha - 0.5) < ALPHA_NEAR
    return Claim(
        "v6_alpha",
        9,
        finding,
        rule,
        f"mean {alpha:.3f} (spread across inputs and neurons {spread:.3f})",
        "stuck at 0.5",
        "replicated" if ok else "not replicated",
        alpha,
    )


def _v7_omega(rs: ResultSet, published: dict) -> Claim:
    finding = "v7's learnable frequency stays at its initial value"
    rule = f"mean omega(x) changes by less than {OMEGA_NEAR:.0%} from step 0 to the end (all runs)"
    try:
        first = final_diagnostic(rs, "v7", "omega_mean", 0)
        last = final_diagnostic(rs, "v7", "omega_mean")
    except KeyError:
        return _not_tested("v7_omega", 9, finding, rule, "frozen", "v7 runs")
    change = (last - first) / first
    return Claim(
        "v7_omega",
        9,
        finding,
        rule,
        f"{first:.3f} to {last:.3f} ({change:+.1%})",
        "frozen at initialisation",
        "replicated" if abs(change) < OMEGA_NEAR else "not replicated",
        change,
    )


def _v11_phase(rs: ResultSet, published: dict) -> Claim:
    finding = "v11's phase stays near 0"
    rule = (
        f"mean |phase shift| at the end of training below {PHASE_NEAR} rad (its bound is 0.1 omega)"
    )
    try:
        phase = final_diagnostic(rs, "v11", "phase_abs")
    except KeyError:
        return _not_tested("v11_phase", 9, finding, rule, "about 0", "v11 runs")
    return Claim(
        "v11_phase",
        9,
        finding,
        rule,
        f"{phase:.3f} rad",
        "about 0",
        "replicated" if phase < PHASE_NEAR else "not replicated",
        phase,
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
        "on every task trained, compare SinGLU's and bilinear's means: replicated if SinGLU is "
        "better beyond the seed spread on a majority of the tasks, partly if it wins more tasks "
        "beyond the spread than it loses, otherwise not"
    )
    theirs = "not tested: the sine is SinGLU's premise"
    rows = _rows(rs)
    tasks = [t for (a, t) in rows if a == "singlu" and _has(rows, ("bilinear", t), ("singlu", t))]
    if not tasks:
        return _not_tested(
            "sine_control", SINE_CONTROL_NUMBER, finding, rule, theirs, "SinGLU and bilinear runs"
        )
    wins = [t for t in tasks if _clear(rows, "singlu", "bilinear", t)]
    losses = [t for t in tasks if _clear(rows, "bilinear", "singlu", t)]
    ties = len(tasks) - len(wins) - len(losses)
    ours = (
        f"SinGLU better beyond the spread on {len(wins)} of {len(tasks)} tasks"
        + (f" ({', '.join(wins)})" if wins else "")
        + f", bilinear on {len(losses)}"
        + (f" ({', '.join(losses)})" if losses else "")
        + f", within the spread on {ties}"
    )
    if 2 * len(wins) > len(tasks):
        verdict = "replicated"
    elif len(wins) > len(losses):
        verdict = "partly replicated"
    else:
        verdict = "not replicated"
    return Claim(
        "sine_control", SINE_CONTROL_NUMBER, finding, rule, ours, theirs, verdict, len(wins)
    )


#: The number of the ledger's restatement of finding 1 in bits.
HEADLINE_BITS_NUMBER = 12

#: The capacity sweep the restatement reads (chapter "Capacity in bits").
CAPACITY_PATH = "data/sweeps/capacity.json"


def published_ratio_worth(published: dict, config: TrainConfig | None = None) -> dict:
    """What the published Memorize ratio is worth in bits: ``{"ratio", "bits"`` (per target
    value, :func:`richneuron.capacity.mse_ratio_bits`), ``"targets"`` (Memorize's points times
    outputs), ``"params"`` (vanilla's on Memorize under ``config``), ``"per_param"`` (bits times
    targets over parameters: the most the ratio adds per parameter), ``"orders"`` (its whole
    orders of magnitude)``}``."""
    from .capacity import mse_ratio_bits
    from .tasks import get_task

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
    converted with :func:`richneuron.capacity.mse_ratio_bits`, beside vanilla's and SinGLU's
    capacity at the default budget from ``capacity_sweep`` (a
    :class:`richneuron.study.SweepResult`; ``None``: :data:`CAPACITY_PATH` if it exists)."""
    from .capacity import capacity, capacity_points, mse_ratio_bits
    from .config import DEFAULT_BUDGET

    finding = "SinGLU stores more information per parameter than vanilla (finding 1, in bits)"
    rule = (
        "an MSE ratio r is worth at most ½·log2(r) bits per target value; times Memorize's "
        "targets over vanilla's parameters, the most it adds per parameter. Replicated if "
        "SinGLU's capacity on random data (bits per parameter at its best learning rate and "
        "point count) exceeds vanilla's beyond the seed spread, by a gain per parameter within "
        f"{MAGNITUDE_FACTOR:g}x of what the published ratio is worth, partly if only beyond the "
        "spread, otherwise not"
    )
    worth = published_ratio_worth(published, TrainConfig(**rs.config) if rs.config else None)
    ratio, theirs_bits, theirs_per_param = worth["ratio"], worth["bits"], worth["per_param"]
    targets, params = worth["targets"], worth["params"]
    rows = _rows(rs)
    if not _has(rows, ("vanilla", "memorize"), ("singlu", "memorize")):
        return _not_tested(
            "headline_bits", HEADLINE_BITS_NUMBER, finding, rule, f"{_ratio(ratio)}",
            "memorize runs",
        )
    theirs = (
        f"{_ratio(ratio)} = {theirs_bits:.1f} bits per target value, at most "
        f"{theirs_per_param:.2f} bits per parameter"
    )
    ours_ratio = rows[("vanilla", "memorize")]["mean"] / rows[("singlu", "memorize")]["mean"]
    ours_bits = mse_ratio_bits(ours_ratio)
    said = (
        f"Memorize ratio {_ratio(ours_ratio)} = {ours_bits:+.1f} bits per target value "
        f"({ours_bits * targets / params:+.2f} per parameter)"
    )
    if capacity_sweep is None and Path(CAPACITY_PATH).is_file():
        from .study import load_sweep

        capacity_sweep = load_sweep(CAPACITY_PATH)
    peaks = {}
    if capacity_sweep is not None:
        peaks = {
            r["arch"]: r
            for r in capacity(capacity_points(capacity_sweep.sets))
            if r["budget"] == DEFAULT_BUDGET
        }
    if "vanilla" not in peaks or "singlu" not in peaks:
        return Claim(
            "headline_bits", HEADLINE_BITS_NUMBER, finding, rule,
            f"{said}; no capacity sweep of vanilla and SinGLU", theirs, "not tested",
        )
    v, g = peaks["vanilla"], peaks["singlu"]
    gain = g["per_param"] - v["per_param"]
    ours = (
        f"{said}; capacity: SinGLU {g['per_param']:.2f} "
        f"({g['per_param_low']:.2f}-{g['per_param_high']:.2f}), vanilla {v['per_param']:.2f} "
        f"({v['per_param_low']:.2f}-{v['per_param_high']:.2f}) bits per parameter "
        f"({gain:+.2f})"
    )
    direction = g["per_param_low"] > v["per_param_high"]
    verdict = (
        "replicated"
        if direction and _magnitude_ok(gain, theirs_per_param)
        else ("partly replicated" if direction else "not replicated")
    )
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


def evaluate(rs: ResultSet, published: dict, ids: Sequence[str] | None = None) -> list[Claim]:
    """The claims ``ids`` (default: all of :data:`CLAIMS`) checked against ``rs``.

    Raises:
        ValueError: on an unknown claim id (naming the valid ones).
    """
    ids = list(ids) if ids is not None else list(CLAIMS)
    for cid in ids:
        if cid not in CLAIMS:
            raise ValueError(f"unknown claim {cid!r}; valid claims: {', '.join(CLAIMS)}")
    return [CLAIMS[cid](rs, published) for cid in ids]


def ledger(claims: Sequence[Claim]):
    """The claims ledger as a Markdown table (finding, check, ours, published, verdict)."""
    return markdown_table(
        ["#", "finding", "check", "ours", "published", "verdict"],
        [[c.number, c.finding, c.rule, c.ours, c.published, f"**{c.verdict}**"] for c in claims],
    )


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
