"""The Tasks chapter's calibration to the published baseline, shown: each bisection's probes
(:func:`load`), the table of calibrated tasks beside ours (:func:`table`), the calibration
curves (:func:`figure`) and the sentences the chapter and the Synthesis glue (:func:`chosen_text`).

The bisection itself is :mod:`richneuron.analysis.calibration`; the probes are trained by
``python -m richneuron calibrate`` (:mod:`richneuron.experiments.calibration`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..analysis.calibration import (
    ARCH,
    SEEDS,
    WITHIN_FACTOR,
    WITHIN_POINTS,
    Calibration,
    rule_text,
)
from ..experiments import calibration as runs
from ..formatting import format_metric
from ..paths import SWEEP_DIR
from ..store.schema import REFERENCE_TITLES
from ..tables import Markdown, markdown_table
from ..tasks import better
from ..train.predictors import reference_for
from .book import load_published
from .plots import _pyplot

__all__ = [
    "SEEDS",
    "chosen",
    "chosen_text",
    "figure",
    "load",
    "of",
    "published_gain",
    "rule_text",
    "table",
    "task_for",
]


def load(sweep_dir: str | os.PathLike = SWEEP_DIR) -> list[Calibration]:
    """Every target's bisection, replayed on the committed probes (``calibration.json`` in
    ``sweep_dir``).

    Raises:
        ResultsError: naming the file, if it is corrupt or lacks a probe.
    """
    return runs.read(load_published(), Path(sweep_dir) / runs.OUT.name)


def published_gain() -> float:
    """The original's headline gain on Checkerboard, SinGLU over vanilla, in points."""
    headline = load_published()["headline_claims"]
    return float(headline["checkerboard_acc_gain_points_singlu_minus_vanilla"])


def chosen(cals: Sequence[Calibration]) -> list[str]:
    """The calibrated tasks' ids, in the targets' order: those at another setting than ours
    (an unreachable task, one already harder, and one whose own setting is within the
    neighbourhood are left out: there is no other task to train)."""
    return [c.chosen.task for c in cals if c.chosen is not None and c.chosen.task != c.target.task]


def of(cals: Sequence[Calibration], task: str) -> Calibration:
    """The bisection of ``task``.

    Raises:
        ValueError: naming the task, if it was not calibrated.
    """
    for c in cals:
        if c.target.task == task:
            return c
    raise ValueError(f"task: {task!r} is not calibrated; calibrated: "
                     f"{', '.join(c.target.task for c in cals)}")


def task_for(cals: Sequence[Calibration], task: str) -> str:
    """The calibrated id of ``task`` (``task`` itself where it was not calibrated)."""
    found = [c.chosen.task for c in cals if c.target.task == task and c.chosen is not None]
    return found[0] if found else task


def _reference(task: str) -> str:
    ref = reference_for(task)
    name, score = ref.best
    return f"{format_metric(score, ref.metric)} ({name})"


def table(cals: Sequence[Calibration]) -> Markdown:
    """One row per task: the knob, its value and vanilla's score in our task, the published
    vanilla score, the calibrated value and vanilla's score there, the best reference predictor
    there, the probes and the outcome."""
    body = []
    for c in cals:
        ours = c.probes[0]
        end = c.chosen or c.probes[-1]
        body.append(
            [
                c.target.task,
                f"`{c.target.knob}`",
                f"{ours.value:g} to {c.target.high:g}",
                f"{ours.value:g}",
                format_metric(ours.score, c.metric),
                format_metric(c.published, c.metric),
                f"{c.chosen.value:g}" if c.chosen else "none",
                format_metric(c.chosen.score, c.metric) if c.chosen else "-",
                _reference(end.task),
                len(c.probes),
                c.status,
            ]
        )
    header = [
        "task",
        "knob",
        "bracket",
        "ours",
        f"{ARCH} on ours",
        f"published {ARCH}",
        "calibrated",
        f"{ARCH} there",
        "best reference there",
        "probes",
        "outcome",
    ]
    return markdown_table(header, body)


def chosen_text(cals: Sequence[Calibration]) -> str:
    """The outcome in one sentence per task, e.g. ``"checkerboard at freq = 5.66 (vanilla
    58.1%, published 57.9%)"``, the unreachable ones with the score at the hard end."""
    parts = []
    for c in cals:
        if c.chosen is not None:
            where = "" if c.status == "within" else ", the nearest probe"
            parts.append(
                f"{c.target.task} at {c.target.knob} = {c.chosen.value:g} ({ARCH} "
                f"{format_metric(c.chosen.score, c.metric)}, published "
                f"{format_metric(c.published, c.metric)}{where})"
            )
        elif c.status == "ours harder":
            parts.append(
                f"{c.target.task} already harder than the original's ({ARCH} "
                f"{format_metric(c.probes[0].score, c.metric)}, published "
                f"{format_metric(c.published, c.metric)}): not calibrated"
            )
        else:
            end = c.probes[-1]
            ref = reference_for(end.task)
            name, score = ref.best
            also = (
                f"; the {REFERENCE_TITLES[name]} scores {format_metric(score, ref.metric)} "
                f"there, also better than the published value, so no setting of the knob "
                f"reaches it"
                if better(score, c.published, c.metric)
                else ""
            )
            parts.append(
                f"{c.target.task} unreachable (at {c.target.knob} = {end.value:g}, {ARCH} still "
                f"scores {format_metric(end.score, c.metric)}, better than the published "
                f"{format_metric(c.published, c.metric)}{also})"
            )
    return "; ".join(parts)


def figure(cals: Sequence[Calibration]):
    """The calibration curves: per task, vanilla's score at each probe against the knob (log
    scale), the published value and its neighbourhood, the chosen point circled."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(cals), figsize=(3.2 * len(cals), 3.0), squeeze=False)
    for ax, c in zip(axes[0], cals, strict=True):
        probes = sorted(c.probes, key=lambda p: p.value)
        scale = 100 if c.metric == "accuracy" else 1
        xs = [p.value for p in probes]
        ys = [p.score * scale for p in probes]
        ax.plot(xs, ys, "o-", color="tab:gray", label=f"{ARCH}, mean of {SEEDS} seeds")
        if c.metric == "accuracy":
            low, high = (c.published - WITHIN_POINTS) * 100, (c.published + WITHIN_POINTS) * 100
        else:
            low, high = c.published / WITHIN_FACTOR, c.published * WITHIN_FACTOR
            ax.set_yscale("log")
        ax.axhspan(low, high, color="tab:red", alpha=0.15)
        ax.axhline(c.published * scale, color="tab:red", ls="--", label="published")
        if c.chosen is not None:
            ax.plot([c.chosen.value], [c.chosen.score * scale], "o", ms=12, mfc="none",
                    color="tab:red", label="chosen")
        ax.axvline(c.default, color="tab:blue", ls=":", label="ours")
        ax.set_xscale("log")
        ax.set_xlabel(f"{c.target.knob}")
        ax.set_ylabel("accuracy (%)" if c.metric == "accuracy" else "test MSE")
        ax.set_title(c.target.task)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig, axes[0]
