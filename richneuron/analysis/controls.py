"""The ledger's own claims about what earns SinGLU its results: the sine against its sine-free
control (claim 11, bilinear ``y = g v``) and against the strongest sine-free gate (claim 13,
the best of ReGLU, GEGLU and SwiGLU on each task).

Claim 11 alone cannot say whether the sine or the gating product earns SinGLU its lead: the
bilinear unit is a polynomial of fixed degree, the weakest gate there is. Claim 13 sets SinGLU
beside the gates the field uses instead of a sine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..store.results import ResultSet
from .rules import (
    NO_FACTS,
    Claim,
    Facts,
    _has,
    _learned,
    _not_tested,
    _outcome,
    _rows,
    _settled,
    _untestable,
)

__all__ = ["SINE_CONTROL_NUMBER", "SINE_GATE_NUMBER", "SINE_FREE_GATES"]

#: The number of the ledger's claim that SinGLU beats its sine-free control (not one of
#: study.md's ten findings).
SINE_CONTROL_NUMBER = 11

#: The number of its companion: SinGLU against the best sine-free gated unit.
SINE_GATE_NUMBER = 13

#: The gated linear units without a sine (chapter "Gated neurons"): the companion's rivals.
SINE_FREE_GATES = ("reglu", "geglu", "swiglu")


def _best_gate(rows: dict, task: str) -> str | None:
    """The sine-free gate with the best centre over seeds on ``task`` (the book's: the
    geometric mean of an MSE, the lowest; the mean of an accuracy, the highest), among those
    trained there; None when none is."""
    trained = [g for g in SINE_FREE_GATES if _has(rows, (g, task))]
    if not trained:
        return None
    higher = rows[(trained[0], task)]["metric"] == "accuracy"
    return (max if higher else min)(trained, key=lambda g: rows[(g, task)]["mean"])


def _count(
    rs: ResultSet,
    facts: Facts,
    claim: tuple,
    rival: Callable[[dict, str], str | None],
    name: str,
) -> Claim:
    """SinGLU against ``rival(rows, task)`` on every task both are trained on that one of them
    learns: replicated if SinGLU is better beyond noise on a majority of those tasks, not
    replicated if it is not even counting its ties as wins, otherwise not established."""
    rows = _rows(rs)
    pairs = {t: rival(rows, t) for (a, t) in rows if a == "singlu"}
    trained = [t for t, b in pairs.items() if b is not None and _has(rows, ("singlu", t), (b, t))]
    if not trained:
        return _not_tested(*claim, f"SinGLU and {name} runs")
    tasks = [t for t in trained if _learned(rows, facts, t, ("singlu", pairs[t]))]
    skipped = [t for t in trained if t not in tasks]
    if not tasks:  # no pair learns its task: say so on the first, with that pair's numbers
        return _untestable(claim, rows, facts, trained[:1], ("singlu", pairs[trained[0]]))
    out = {t: _outcome(rows, "singlu", pairs[t], t) for t in tasks}
    wins = [t for t, o in out.items() if o == 1]
    losses = [t for t, o in out.items() if o == -1]
    ties = len(tasks) - len(wins) - len(losses)

    def named(ts: Sequence[str]) -> str:
        labels = [t if rival is _bilinear else f"{t} vs {pairs[t]}" for t in ts]
        return f" ({', '.join(labels)})" if ts else ""

    ours = (
        f"SinGLU better beyond noise on {len(wins)} of {len(tasks)} tasks{named(wins)}, "
        f"{name} on {len(losses)}{named(losses)}, within noise on {ties}"
        + (f"; not testable on {', '.join(skipped)} (neither learns it)" if skipped else "")
    )
    verdict = _settled(2 * (len(wins) + ties) > len(tasks), 2 * len(wins) > len(tasks))
    cid, number, finding, rule, theirs = claim
    measure = f"tasks SinGLU wins against {name} beyond noise (of {len(tasks)})"
    return Claim(cid, number, finding, rule, ours, theirs, verdict, len(wins), measure=measure)


def _bilinear(rows: dict, task: str) -> str | None:
    return "bilinear" if _has(rows, ("bilinear", task)) else None


_COUNT_RULE = (
    "replicated if SinGLU is better beyond noise on a majority of those tasks, not replicated "
    "if it is not even counting its ties as wins, otherwise not established"
)


def _sine_control(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    rule = (
        "on every task trained that SinGLU or bilinear learns, SinGLU against bilinear by the "
        f"beyond-noise rule: {_COUNT_RULE}"
    )
    claim = (
        "sine_control",
        SINE_CONTROL_NUMBER,
        "SinGLU beats its sine-free control (bilinear, y = g v)",
        rule,
        "not tested: the sine is SinGLU's premise",
    )
    return _count(rs, facts, claim, _bilinear, "bilinear")


def _sine_gate(rs: ResultSet, published: dict, facts: Facts = NO_FACTS) -> Claim:
    rule = (
        "on every task trained, SinGLU against the best sine-free gated unit there (of ReGLU, "
        "GEGLU and SwiGLU, the one with the best geometric mean MSE or mean accuracy over seeds, "
        "chosen on the same runs, "
        "which favours the gate), on the tasks one of the two learns, by the beyond-noise rule: "
        f"{_COUNT_RULE}"
    )
    claim = (
        "sine_gate",
        SINE_GATE_NUMBER,
        "SinGLU beats the best sine-free gated unit (ReGLU, GEGLU, SwiGLU)",
        rule,
        "not tested: the original compares no other gate",
    )
    return _count(rs, facts, claim, _best_gate, "the best gate")
