"""What the Capacity chapter reports of its secondary measure, regression on random targets,
computed once from its four sweeps: the peaks and their ranking, the leads, the scaling with the
budget, the convergence check and the direction of the answer (the primary measure, label
capacity: :mod:`richneuron.analysis.label_capacity`). The chapter displays these fields; it
computes nothing itself.

The sweeps come in as arguments (anything with the sweep's results, ``sets``, and its spec,
``sweep``: :class:`richneuron.experiments.study.SweepResult`); nothing here reads a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..config import TrainConfig
from ..store.results import ResultSet
from ..tables import Markdown
from . import capacity

__all__ = ["CapacityFindings", "findings"]


class Swept(Protocol):
    """A sweep's results as the chapter loads them: its result sets and its spec."""

    sets: Sequence[ResultSet]
    sweep: object


@dataclass(frozen=True)
class CapacityFindings:
    """Every number and verdict of the Capacity chapter (see :func:`findings`)."""

    lr_points: list[dict]  # the learning-rate sweep's points
    points: list[dict]  # the main sweep's points, every architecture at its best rate
    peaks: list[dict]  # each architecture's capacity (capacity.capacity)
    ranked: list[dict]  # the peaks, most bits per parameter first
    last_ranked: list[dict]  # the peaks, most bits per parameter at the largest N first
    by_arch: dict[str, dict]  # the peak of each architecture
    n_min: int  # the fewest points of the main sweep
    n_max: int  # the most
    steps_factor: int  # the sweep's steps over the chapters' default steps
    lrs: str  # the learning rates tried, as text
    runs: int  # runs of the four sweeps
    core_hours: float  # their training time
    singlu_lead: str  # SinGLU's lead over vanilla in bits per parameter, with its interval
    top_lead: str  # the first architecture's lead over the second
    plateaued: int  # architectures whose peak is below the largest N
    capped: str  # architectures at float32's bits per stored value ("none" if none)
    singlu_over_vanilla: float  # SinGLU's bits per parameter over vanilla's, at the peak
    last_ratio: float  # the same at the largest N
    fits: dict[str, dict]  # each budget-sweep architecture's scaling with the budget (peaks)
    last_fits: dict[str, dict]  # the same at the largest N
    budget_peaks: list[dict]  # peaks at each budget at that budget's best rate, by arch, budget
    other_budgets: str  # the budget sweep's budgets, as text
    budget_n_max: int
    smallest_budget: dict[str, float]  # bits per parameter at the smallest budget, by arch
    largest_budget: dict[str, float]  # ... and at the largest
    long_steps: int  # the convergence check's steps
    long_factor: int  # its steps over the main sweep's
    steps_table: Markdown  # the paired table
    steps_change: float  # the median change of bits with more steps, every N
    steps_last_n: int  # the largest N of the convergence check
    steps_last_change: float  # the change at that N
    step_peaks: list[dict]  # each architecture's peak before and after more steps
    step_peaks_by_arch: dict[str, dict]
    osc_low: float  # the lowest loss of SinGLU's second half of training (its peak task)
    osc_high: float  # ... and the highest
    steps_order: str  # whether SinGLU over vanilla "holds" or "flips" with more steps
    steps_ranking: str  # whether the ranking of peaks is "the same" or "not the same"
    anchor_low: float  # the literature's anchors' range in bits per parameter
    anchor_high: float
    direction: str  # "more" when SinGLU stores more than vanilla at the peak and the largest N


def findings(lr: Swept, main: Swept, budgets: Swept, steps: Swept) -> CapacityFindings:
    """The regression findings from four sweeps: ``lr`` (three rates, one seed), ``main`` (each
    architecture at its best rate), ``budgets`` (vanilla and SinGLU at more budgets) and
    ``steps`` (the convergence check)."""
    points = capacity.capacity_points(main.sets)
    peaks = capacity.capacity(points)
    by_arch = {r["arch"]: r for r in peaks}
    ranked = sorted(peaks, key=lambda r: -r["per_param"])
    last_ranked = sorted(peaks, key=lambda r: -r["last_per_param"])
    ns = sorted({r["points"] for r in points})
    runs, seconds = capacity.compute_used([lr, main, budgets, steps])
    ratio = by_arch["singlu"]["per_param"] / by_arch["vanilla"]["per_param"]
    last_ratio = by_arch["singlu"]["last_per_param"] / by_arch["vanilla"]["last_per_param"]
    main_steps = main.sweep.base.steps
    return CapacityFindings(
        lr_points=capacity.capacity_points(lr.sets),
        points=points,
        peaks=peaks,
        ranked=ranked,
        last_ranked=last_ranked,
        by_arch=by_arch,
        n_min=ns[0],
        n_max=ns[-1],
        steps_factor=main_steps // TrainConfig().steps,
        lrs=", ".join(f"{rate:g}" for rate in lr.sweep.grid["lr"]),
        runs=runs,
        core_hours=seconds / 3600,
        singlu_lead=capacity.lead_text(capacity.lead(by_arch["singlu"], by_arch["vanilla"])),
        top_lead=capacity.lead_text(capacity.lead(ranked[0], ranked[1])),
        plateaued=sum(not r["largest_n"] for r in peaks),
        capped=str(sum(r["per_value"] >= capacity.FLOAT32_BITS * 0.99 for r in peaks) or "none"),
        singlu_over_vanilla=ratio,
        last_ratio=last_ratio,
        **_budget_findings(points, budgets),
        **_steps_findings(points, main_steps, by_arch["singlu"]["task"], steps),
        anchor_low=min(a["bits_per_param"] for a in capacity.ANCHORS),
        anchor_high=max(a["bits_per_param"] for a in capacity.ANCHORS),
        direction="more" if min(ratio, last_ratio) > 1 else "not more",
    )


def _budget_findings(points: list[dict], budgets: Swept) -> dict:
    """Bits per parameter against the budget: the fits and the peaks at each budget."""
    budget_points = capacity.capacity_points(budgets.sets)
    all_points = points + budget_points
    archs = budgets.sweep.archs
    fits = {arch: capacity.scaling(all_points, arch) for arch in archs}
    best = capacity.best_lrs(all_points)
    peaks = [
        r for r in capacity.capacity(all_points)
        if r["arch"] in fits and best[(r["arch"], r["budget"])] == r["lr"]
    ]
    by = {(r["arch"], r["budget"]): r for r in peaks}
    sizes = sorted({r["budget"] for r in peaks})
    return {
        "fits": fits,
        "last_fits": {arch: capacity.scaling(all_points, arch, "last") for arch in archs},
        "budget_peaks": sorted(peaks, key=lambda r: (r["arch"], r["budget"])),
        "other_budgets": " and ".join(
            f"{b:,}" for b in sorted({r["budget"] for r in budget_points})
        ),
        "budget_n_max": max(r["points"] for r in all_points),
        "smallest_budget": {arch: by[(arch, sizes[0])]["per_param"] for arch in archs},
        "largest_budget": {arch: by[(arch, sizes[-1])]["per_param"] for arch in archs},
    }


def _steps_findings(points: list[dict], main_steps: int, peak_task: str, steps: Swept) -> dict:
    """The convergence check: the same runs with more steps, against the main sweep's."""
    long_points = capacity.capacity_points(steps.sets)
    table, change = capacity.steps_table(points, long_points)
    last_n = max(r["points"] for r in long_points)
    _, last_change = capacity.steps_table(
        points, [r for r in long_points if r["points"] == last_n]
    )
    step_peaks = capacity.steps_peaks(points, long_points)
    by = {r["arch"]: r for r in step_peaks}
    curve = next(
        r.loss_curve for rs in steps.sets for r in rs.runs
        if r.run.arch == "singlu" and r.run.task == peak_task and r.run.seed == 0
    )
    late = curve[len(curve) // 2:]
    after = by["singlu"]["after"] > by["vanilla"]["after"]
    before = by["singlu"]["before"] > by["vanilla"]["before"]
    same = sorted(step_peaks, key=lambda r: r["before"]) == sorted(
        step_peaks, key=lambda r: r["after"]
    )
    return {
        "long_steps": steps.sweep.base.steps,
        "long_factor": steps.sweep.base.steps // main_steps,
        "steps_table": table,
        "steps_change": change,
        "steps_last_n": last_n,
        "steps_last_change": last_change,
        "step_peaks": step_peaks,
        "step_peaks_by_arch": by,
        "osc_low": min(late),
        "osc_high": max(late),
        "steps_order": "holds" if after == before else "flips",
        "steps_ranking": "the same" if same else "not the same",
    }
