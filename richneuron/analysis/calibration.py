"""Tasks calibrated to the published baseline (issue 34; the Tasks chapter, the multiverse's
calibrated protocol).

Our tasks are reconstructions, and the chapters' vanilla network finds some of them much easier
than the original's did (94% on Checkerboard against a published 57.9%). For each task with a
difficulty knob (:data:`richneuron.tasks.KNOBS`), :func:`bisect` looks for the knob value at
which vanilla, under the chapters' protocol, scores what the original published for vanilla:

* the probes: the knob's value in the nine tasks (``low``), then the bracket's hard end
  (``high``, :attr:`Target.high`, within the knob's range), then the geometric midpoint of
  the bracket, rounded to :data:`DIGITS` significant figures, towards the published value (the
  task is assumed to get harder as the knob grows);
* a probe's score: vanilla's mean test score over seeds 0 to :data:`SEEDS` - 1;
* the neighbourhood of the published value: :data:`WITHIN_POINTS` accuracy either side, or an
  MSE within a factor of :data:`WITHIN_FACTOR`; the first probe inside it is the calibrated task;
* at most :data:`MAX_PROBES` probes; if none falls inside, the probe nearest the published value
  (in points, or in log MSE) is chosen and said to be outside;
* if the hard end is still easier than the published value, no setting reaches it: the task is
  *unreachable* and keeps its knob (for example an MSE above what predicting the mean scores);
  if our task is already harder, there is nothing to calibrate (*ours harder*).

Pure: the caller passes the scores it has (:func:`bisect` says which probe it needs next).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..tasks import KNOBS, get_task, higher_is_better, variant_id

__all__ = [
    "ARCH",
    "DIGITS",
    "MAX_PROBES",
    "SEEDS",
    "TARGETS",
    "WITHIN_FACTOR",
    "WITHIN_POINTS",
    "Calibration",
    "Probe",
    "Target",
    "bisect",
    "rule_text",
]

#: The architecture calibrated: the study's baseline.
ARCH = "vanilla"
#: Seeds each probe trains (0 to SEEDS - 1), the chapters' five.
SEEDS = 5
#: Probes at most per task, its two ends included.
MAX_PROBES = 10
#: Significant figures of a probe's knob value (the id writes it).
DIGITS = 3
#: The published accuracy's neighbourhood: this many points (as a fraction) either side.
WITHIN_POINTS = 0.02
#: The published MSE's neighbourhood: within this factor either way.
WITHIN_FACTOR = 1.25


@dataclass(frozen=True)
class Target:
    """A task to calibrate: the knob bisected and the hard end of its bracket (the easy end is
    the knob's value in the nine tasks)."""

    task: str
    knob: str
    high: float


#: The tasks calibrated, in the Tasks chapter's order. Spiral is calibrated on its turns (its
#: noise stays 0.04); the bracket's hard ends are where vanilla is near chance or the mean.
TARGETS = (
    Target("complex_4d", "freq", 16.0),
    Target("nested_2d", "freq", 16.0),
    Target("hifreq", "freq", 128.0),
    Target("spiral", "turns", 8.0),
    Target("checkerboard", "freq", 16.0),
)


@dataclass(frozen=True)
class Probe:
    """One probe: the task id, its knob value and vanilla's mean score there."""

    task: str
    value: float
    score: float


@dataclass(frozen=True)
class Calibration:
    """A target's bisection so far.

    Attributes:
        target: the task and knob.
        published: the original's vanilla score on the task.
        metric: ``"accuracy"`` or ``"mse"``.
        probes: the probes scored, in order.
        next: the id of the probe to train next; ``None`` once the bisection is over.
        chosen: the calibrated task's probe (None while in progress or when unreachable).
        status: ``"within"``, ``"nearest"`` (outside the neighbourhood), ``"unreachable"`` (the
            hard end is still easier), ``"ours harder"`` (our task is already harder than the
            published score: nothing to calibrate) or ``"in progress"``.
    """

    target: Target
    published: float
    metric: str
    probes: tuple[Probe, ...]
    next: str | None
    chosen: Probe | None
    status: str

    @property
    def default(self) -> float:
        """The knob's value in the nine tasks."""
        return _knob(self.target).default


def _knob(target: Target):
    return next(k for k in KNOBS[target.task][0] if k.name == target.knob)


def _distance(score: float, published: float, metric: str) -> float:
    """How far a probe's score is from the published one: points, or log MSE (infinite for a
    score that diverged or an MSE of 0)."""
    if not math.isfinite(score) or (metric == "mse" and score <= 0):
        return math.inf
    if metric == "mse":
        return abs(math.log(score / published))
    return abs(score - published)


def _within(score: float, published: float, metric: str) -> bool:
    limit = math.log(WITHIN_FACTOR) if metric == "mse" else WITHIN_POINTS
    return _distance(score, published, metric) <= limit + 1e-12


def _easier(score: float, published: float, metric: str) -> bool:
    """Whether vanilla found the probe easier than the original's task (a diverged probe:
    not easier)."""
    return score > published if higher_is_better(metric) else score < published


def _rounded(value: float) -> float:
    return float(f"{value:.{DIGITS}g}")


def bisect(target: Target, published: float, scores: Mapping[str, float]) -> Calibration:
    """The bisection of ``target`` towards ``published`` with the probe scores in ``scores``
    (task id to vanilla's mean score; the nine tasks' own id for the knob's default). Stops at
    the first probe missing from ``scores`` and names it in ``next``."""
    knob, metric = _knob(target), get_task(target.task).metric
    probes: list[Probe] = []

    def done(status: str, chosen: Probe | None) -> Calibration:
        return Calibration(target, published, metric, tuple(probes), None, chosen, status)

    def pending(task: str) -> Calibration:
        return Calibration(target, published, metric, tuple(probes), task, None, "in progress")

    def probe(value: float) -> Calibration | None:
        """Score the probe at ``value``: the bisection's end if it is pending or within."""
        task = variant_id(target.task, {knob.name: value})
        if task not in scores:
            return pending(task)
        probes.append(Probe(task, value, scores[task]))
        return done("within", probes[-1]) if _within(scores[task], published, metric) else None

    low, high = knob.default, target.high
    for value in (low, high):
        if (end := probe(value)) is not None:
            return end
        if value == low and not _easier(probes[-1].score, published, metric):
            return done("ours harder", None)
    if _easier(probes[-1].score, published, metric):
        return done("unreachable", None)
    while len(probes) < MAX_PROBES:
        value = _rounded(math.sqrt(low * high))
        if value in (low, high):
            break
        if (end := probe(value)) is not None:
            return end
        easier = _easier(probes[-1].score, published, metric)
        low, high = (value, high) if easier else (low, value)
    nearest = min(probes, key=lambda p: _distance(p.score, published, metric))
    if not math.isfinite(_distance(nearest.score, published, metric)):
        return done("unreachable", None)
    return done("nearest", nearest)


def rule_text() -> str:
    """The calibration's rule, as the Tasks chapter states it."""
    return (
        f"vanilla's mean test score over seeds 0-{SEEDS - 1} under the chapters' protocol, "
        f"bisected on the knob's log scale from its value in our task to the hard end of its "
        f"bracket (the table's), each probe's value rounded to {DIGITS} significant figures; "
        f"calibrated at the "
        f"first probe within {WITHIN_POINTS * 100:g} points of the published accuracy or within "
        f"a factor of {WITHIN_FACTOR:g} of the published MSE; after {MAX_PROBES} probes without "
        f"one, the nearest; unreachable when the hard end is still easier than the published "
        f"value"
    )
