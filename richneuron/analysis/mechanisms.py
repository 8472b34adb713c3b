"""Finding 9, one claim per architecture: a learned quantity stays where the study said it does
(v6's routing weight near 0.5, v7's frequency frozen, v11's phase near 0), judged by the 95%
interval of its per-seed final values.
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
    Claim,
    Facts,
    _ci3,
    _near,
    _not_tested,
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
    and how our number reads (``said(rs, values, interval)``)."""

    cid: str
    arch: str
    finding: str
    rule: str
    band: tuple[float, float]
    theirs: str
    untested: str
    values: Callable[[ResultSet], list[float]]
    said: Callable[[ResultSet, list[float], stats.Interval], str]

    def __call__(self, rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
        try:
            values = self.values(rs)
        except KeyError:
            return _not_tested(self.cid, 9, self.finding, self.rule, self.untested,
                               f"{self.arch} runs")
        ci, verdict = _near(values, *self.band)
        said = self.said(rs, values, ci)
        return Claim(self.cid, 9, self.finding, self.rule, said, self.theirs, verdict,
                     ci.estimate)


def _omega_changes(rs: ResultSet) -> list[float]:
    first = diagnostic_seeds(rs, "v7", "omega_mean", 0)
    last = diagnostic_seeds(rs, "v7", "omega_mean")
    return [(b - a) / a for a, b in zip(first, last)]


def _omega_said(rs: ResultSet, values: list[float], ci: stats.Interval) -> str:
    first = diagnostic_seeds(rs, "v7", "omega_mean", 0)
    last = diagnostic_seeds(rs, "v7", "omega_mean")
    interval = f" [{ci.low:+.1%}, {ci.high:+.1%}]" if math.isfinite(ci.low) else " (one seed)"
    return (
        f"{statistics.fmean(first):.3f} to {statistics.fmean(last):.3f} "
        f"({ci.estimate:+.1%}{interval})"
    )


_v6_alpha = _Mechanism(
    "v6_alpha",
    "v6",
    "v6's routing weight alpha stays near 0.5",
    f"mean alpha at the end of training (per seed, over tasks) with its 95% interval: "
    f"replicated if the interval lies within {ALPHA_NEAR} of 0.5, not replicated if it lies "
    "wholly outside, otherwise not established",
    (0.5 - ALPHA_NEAR, 0.5 + ALPHA_NEAR),
    "stuck at 0.5",
    "0.5",
    lambda rs: diagnostic_seeds(rs, "v6", "alpha_mean"),
    lambda rs, values, ci: (
        f"mean {_ci3(ci)} (spread across inputs and neurons "
        f"{final_diagnostic(rs, 'v6', 'alpha_std'):.3f})"
    ),
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


_v11_phase = _Mechanism(
    "v11_phase",
    "v11",
    "v11's phase stays near 0",
    f"mean |phase shift| at the end of training (per seed, over tasks) with its 95% "
    f"interval: replicated if the interval lies below {PHASE_NEAR} rad (its bound is "
    "0.1 omega), not replicated if wholly above, otherwise not established",
    (-math.inf, PHASE_NEAR),
    "about 0",
    "about 0",
    lambda rs: diagnostic_seeds(rs, "v11", "phase_abs"),
    lambda rs, values, ci: f"{_ci3(ci)} rad",
)
