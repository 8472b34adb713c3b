"""Finding 9, one claim per architecture: a learned quantity stays where the study said it does
(v6's routing weight near 0.5 and not varying with the input, v7's frequency frozen, v11's phase
near 0), judged by the 95% interval of its per-seed final values against a band stated with its
derivation.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from .. import stats
from ..store.results import ResultSet
from .rules import (
    ALPHA_NEAR,
    NO_FACTS,
    OMEGA_NEAR,
    PHASE_NEAR,
    SPREAD_NEAR,
    Claim,
    Facts,
    _ci3,
    _learned,
    _near,
    _not_tested,
    _outcome,
    _rows,
    diagnostic_seeds,
    final_diagnostic,
)

__all__ = [
]


@dataclass(frozen=True)
class _Mechanism:
    """A claim that a learned quantity of one architecture stays in a band (finding 9): the
    per-seed values at the end of training (``values``, from the results; a ``KeyError`` when
    the architecture was not trained), the band ``(low, high)`` its 95% interval must lie in,
    and how our number reads (``said(rs, values, interval, facts)``). With ``also``, a second
    quantity and its band that must hold too (v6: alpha's spread across inputs): the verdict is
    replicated if both are, not replicated if either is not, otherwise not established."""

    cid: str
    arch: str
    finding: str
    rule: str
    band: tuple[float, float]
    theirs: str
    untested: str
    values: Callable[[ResultSet], list[float]]
    said: Callable[[ResultSet, list[float], stats.Interval, Facts], str]
    also: tuple[Callable[[ResultSet], list[float]], tuple[float, float]] | None = None

    def __call__(self, rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
        try:
            values = self.values(rs)
            more = self.also[0](rs) if self.also else None
        except KeyError:
            return _not_tested(self.cid, 9, self.finding, self.rule, self.untested,
                               f"{self.arch} runs")
        ci, verdict = _near(values, *self.band)
        if more is not None:
            verdict = _both(verdict, _near(more, *self.also[1])[1])
        said = self.said(rs, values, ci, facts)
        return Claim(self.cid, 9, self.finding, self.rule, said, self.theirs, verdict,
                     ci.estimate)


def _both(first: str, second: str) -> str:
    """Two band checks as one verdict: replicated if both are, not replicated if either is."""
    if "not replicated" in (first, second):
        return "not replicated"
    return "replicated" if first == second == "replicated" else "not established"


def _changes(arch: str, key: str) -> Callable[[ResultSet], list[float]]:
    """Per seed, the relative change of diagnostic ``key`` of ``arch`` from step 0 to the end."""

    def change(rs: ResultSet) -> list[float]:
        first = diagnostic_seeds(rs, arch, key, 0)
        last = diagnostic_seeds(rs, arch, key)
        return [(b - a) / a for a, b in zip(first, last)]

    return change


def _relative(ci: stats.Interval) -> str:
    interval = f" [{ci.low:+.0%}, {ci.high:+.0%}]" if math.isfinite(ci.low) else " (one seed)"
    return f"{ci.estimate:+.0%}{interval}"


_omega_changes = _changes("v7", "omega_mean")


def _omega_said(rs: ResultSet, values: list[float], ci: stats.Interval, facts: Facts) -> str:
    first = diagnostic_seeds(rs, "v7", "omega_mean", 0)
    last = diagnostic_seeds(rs, "v7", "omega_mean")
    interval = f" [{ci.low:+.1%}, {ci.high:+.1%}]" if math.isfinite(ci.low) else " (one seed)"
    return (
        f"{statistics.fmean(first):.3f} to {statistics.fmean(last):.3f} "
        f"({ci.estimate:+.1%}{interval})"
    )


def _alpha_said(rs: ResultSet, values: list[float], ci: stats.Interval, facts: Facts) -> str:
    spread = stats.mean_interval(_alpha_spread(rs)) if len(values) > 1 else None
    first = final_diagnostic(rs, "v6", "alpha_std", 0)
    last = final_diagnostic(rs, "v6", "alpha_std")
    change = _relative(spread) if spread is not None else "(one seed)"
    return (
        f"mean {_ci3(ci)}; spread across inputs and neurons {first:.3f} at step 0, {last:.3f} "
        f"at the end ({change}; a uniform alpha on [0, 1] has {UNIFORM_SPREAD:.3f})"
    )


#: The standard deviation of a uniform distribution on [0, 1], the spread of an alpha that
#: routes every input anywhere between the two branches.
UNIFORM_SPREAD = 1 / math.sqrt(12)


_alpha_spread = _changes("v6", "alpha_std")


_v6_alpha = _Mechanism(
    "v6_alpha",
    "v6",
    "v6's routing weight alpha stays near 0.5 (it never learns to route)",
    f"mean alpha at the end of training (per seed, over tasks) with its 95% interval, and the "
    f"relative change of alpha's spread across inputs and neurons from step 0 (alpha = "
    f"σ(W_α x) varies with the input only if W_α learns to): replicated if the mean's interval "
    f"lies within {ALPHA_NEAR} of 0.5 and the change's within ±{SPREAD_NEAR:.0%}, not "
    "replicated if either lies wholly outside, otherwise not established",
    (0.5 - ALPHA_NEAR, 0.5 + ALPHA_NEAR),
    "stuck at 0.5",
    "0.5",
    lambda rs: diagnostic_seeds(rs, "v6", "alpha_mean"),
    _alpha_said,
    (_alpha_spread, (-SPREAD_NEAR, SPREAD_NEAR)),
)


_v7_omega = _Mechanism(
    "v7_omega",
    "v7",
    "v7's learnable frequency stays at its initial value",
    f"relative change of mean omega(x) from step 0 to the end (per seed, over tasks) with its "
    f"95% interval: replicated if the interval lies within ±{OMEGA_NEAR:.0%}, not replicated "
    "if wholly outside, otherwise not established",
    (-OMEGA_NEAR, OMEGA_NEAR),
    "frozen at initialisation",
    "frozen",
    _omega_changes,
    _omega_said,
)


def _phase_said(rs: ResultSet, values: list[float], ci: stats.Interval, facts: Facts) -> str:
    start = final_diagnostic(rs, "v11", "phase_abs", 0)
    rows = _rows(rs)
    tasks = [
        t
        for a, t in rows
        if a == "v11" and ("singlu", t) in rows and _learned(rows, facts, t, ("v11", "singlu"))
    ]
    same = sum(_outcome(rows, "v11", "singlu", t) == 0 for t in tasks)
    return (
        f"{_ci3(ci)} rad ({start:.3f} at step 0); v11 within noise of SinGLU on {same} of "
        f"{len(tasks)} tasks one of them learns"
    )


_v11_phase = _Mechanism(
    "v11_phase",
    "v11",
    "v11's phase stays near 0",
    f"mean absolute phase shift δ at the end of training (per seed, over tasks) with its 95% "
    f"interval: replicated if the interval lies below {PHASE_NEAR} rad, not replicated if "
    f"wholly above, otherwise not established. The band: sin(θ + δ) − sin θ is at most δ in "
    f"size, so below {PHASE_NEAR} rad the phase moves the neuron's output by at most a tenth of "
    "its value branch, and the neuron stays SinGLU's. The equation bounds the shift by 0.1·ω, "
    "so at ω = 1 this holds by construction",
    (-math.inf, PHASE_NEAR),
    "about 0",
    "about 0",
    lambda rs: diagnostic_seeds(rs, "v11", "phase_abs"),
    _phase_said,
)
