"""Scores against the reference predictors: whether a network has learned anything from a task.

A network *learns* a task here when it beats the best reference predictor
(:attr:`richneuron.store.schema.Reference.best`: the constant or the linear one) beyond noise:
none of its seeds diverged, and the whole 95% interval of its mean over seeds lies on the
better side of the reference's score (the reference is fitted in closed form on the same draw,
so it has no spread over seeds). With one seed there is no interval, so no network learns
anything: a quick build (one seed) reads "not testable" wherever it compares. A task that no
network of a table learns is labelled
:data:`NOT_LEARNED`, and no winner is named on it: ranking networks that all lose to predicting
the mean would rank failures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..formatting import compact
from ..store.schema import REFERENCE_TITLES, Reference
from ..tasks import better

__all__ = [
    "NOT_LEARNED",
    "NOT_TESTABLE",
    "beats",
    "learners",
    "reference_text",
    "skill_text",
    "testable",
]

#: The label of a task on which no network of a table beats the best reference beyond noise.
NOT_LEARNED = "no network learns this task here"
#: What a ranking or a claim reads on such a task, instead of a winner.
NOT_TESTABLE = "not testable on this task"


def beats(row: Mapping | None, reference: Reference) -> bool:
    """Whether a summary row (:meth:`richneuron.store.results.ResultSet.summary`) beats the
    best reference beyond noise: no seed diverged and its interval lies wholly beyond it."""
    if row is None or row["n_diverged"] or not (math.isfinite(row["low"]) and math.isfinite(
        row["high"]
    )):
        return False
    _, value = reference.best
    worst = row["low"] if reference.metric == "accuracy" else row["high"]
    return better(worst, value, reference.metric)


def learners(
    summary: Mapping[tuple[str, str], Mapping], archs: Sequence[str], reference: Reference
) -> list[str]:
    """The architectures of ``archs`` that learn ``reference.task`` (see :func:`beats`)."""
    return [a for a in archs if beats(summary.get((a, reference.task)), reference)]


def testable(rows: Sequence[Mapping | None], reference: Reference) -> bool:
    """Whether a comparison of these summary rows can say anything: one of them learns the
    task (:func:`beats`). Two networks that both lose to the reference rank failures."""
    return any(beats(row, reference) for row in rows)


def reference_text(reference: Reference) -> str:
    """The best reference as a table shows it: ``0.459 (training mean)``."""
    name, value = reference.best
    return f"{compact(value, reference.metric)} ({REFERENCE_TITLES[name]})"


def skill_text(reference: Reference, value: float) -> str:
    """A network's skill as a table note: ``skill 0.93`` (1 - MSE / MSE of the training mean),
    or ``skill +41.2 pts`` (accuracy points above the majority class); ``""`` for a missing or
    non-finite value."""
    if not math.isfinite(value):
        return ""
    skill = reference.skill(value)
    if not math.isfinite(skill):
        return ""
    if reference.metric == "accuracy":
        return f"skill {100 * skill:+.1f} pts"
    return f"skill {compact(skill)}"
