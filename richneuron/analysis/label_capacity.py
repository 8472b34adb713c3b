"""Label capacity, the Capacity chapter's primary measure (issue 35): the learning rate each
architecture is trained at and whether the grid brackets it, the capacity slope against the
budget with its interval, the convergence check, and the sine-free comparison claim 12 needs.

Every function takes :func:`richneuron.analysis.capacity.capacity_points` rows (one per
architecture, budget, learning rate and task, bits per seed); nothing here reads a file.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from .. import stats
from ..tables import Markdown, markdown_table
from . import capacity

__all__ = [
    "CONVERGED",
    "LabelFindings",
    "PANEL",
    "SINE_FREE_GLUS",
    "best_sine_free",
    "convergence",
    "convergence_table",
    "label_findings",
    "lr_choice",
    "lr_choice_table",
    "peaks_text",
    "rates_text",
    "slope",
    "slopes_table",
]

#: The panel trained on two classes and at four budgets: the study's pair, the GLU family
#: without (bilinear, GEGLU, SwiGLU) and with a sine (SinGLU), and the related periodic and
#: learned-activation neurons.
PANEL = ("vanilla", "singlu", "bilinear", "geglu", "swiglu", "siren", "kan")

#: The gated neurons whose gate is not a sine: a SinGLU lead over vanilla is the sine's only if
#: SinGLU also leads the best of these.
SINE_FREE_GLUS = ("bilinear", "reglu", "geglu", "swiglu")

#: The largest relative change of a capacity, when the steps double, that counts as converged.
CONVERGED = 0.05


def lr_choice(points: Sequence[dict]) -> list[dict]:
    """Each architecture's capacity at each learning rate of a learning-rate sweep, and its
    choice: ``{"arch", "rates", "per_param" (one per rate, the seed mean at the peak), "best",
    "interior"}``. ``interior`` is false when the best rate is the smallest or the largest tried
    (then the grid does not bracket the optimum). In the sweep's architecture order.

    Raises:
        ValueError: if ``points`` hold more than one budget (a rate is chosen at one budget).
    """
    budgets = sorted({r["budget"] for r in points})
    if len(budgets) > 1:
        raise ValueError(f"points: one budget expected, got {budgets}")
    peaks = capacity.capacity(points)
    out: dict[str, dict] = {}
    for row in sorted(peaks, key=lambda r: r["lr"]):
        choice = out.setdefault(row["arch"], {"arch": row["arch"], "rates": [], "per_param": []})
        choice["rates"].append(row["lr"])
        choice["per_param"].append(row["per_param"])
    order = list(dict.fromkeys(r["arch"] for r in points))
    for choice in out.values():
        i = max(range(len(choice["rates"])), key=lambda k: choice["per_param"][k])
        choice["best"] = choice["rates"][i]
        choice["interior"] = 0 < i < len(choice["rates"]) - 1
    return [out[a] for a in order]


def lr_choice_table(choices: Sequence[dict]) -> Markdown:
    """:func:`lr_choice` as a table: bits per parameter at each rate, the best in bold, and
    whether the grid brackets it."""
    rates = sorted({lr for c in choices for lr in c["rates"]})
    rows = []
    for c in choices:
        cells = [c["arch"]]
        for lr in rates:
            if lr not in c["rates"]:
                cells.append("")
                continue
            text = f"{c['per_param'][c['rates'].index(lr)]:.2f}"
            cells.append(f"**{text}**" if lr == c["best"] else text)
        cells.append("yes" if c["interior"] else "no: at the grid's edge")
        rows.append(cells)
    return markdown_table(
        ["architecture", *[f"lr {lr:g}" for lr in rates], "best rate inside the grid"], rows
    )


def slope(points: Sequence[dict], arch: str) -> dict:
    """Collins et al.'s capacity of ``arch``: the bits each added parameter buys, the slope of
    :func:`richneuron.analysis.capacity.scaling` (capacity of every seed at every budget, each
    budget at its best rate) with its 95% interval (``low``, ``high``: the slope ± Student's t
    at n − 2 degrees of freedom times its standard error, ``scipy.stats.t``)."""
    from scipy.stats import t

    fit = capacity.scaling(points, arch)
    n = len(fit["bits"])
    half = t.ppf(0.975, n - 2) * fit["stderr"] if n > 2 else math.inf
    return {**fit, "low": fit["slope"] - half, "high": fit["slope"] + half}


def slopes_table(fits: dict[str, dict]) -> Markdown:
    """One row per architecture of :func:`slope`: budgets, the slope with its interval, the
    correlation of the fit."""
    return markdown_table(
        ["architecture", "budgets", "bits per added parameter [95% CI]", "r"],
        [
            [arch, ", ".join(f"{b:,}" for b in f["budgets"]),
             f"{f['slope']:.2f} [{f['low']:.2f}, {f['high']:.2f}]", f"{f['rvalue']:.3f}"]
            for arch, f in fits.items()
        ],
    )


def convergence(short: Sequence[dict], long: Sequence[dict],
                main_peaks: Sequence[dict] = ()) -> dict:
    """Whether doubling the steps changes the capacities: each architecture's peak over the
    (N, seed) pairs trained both ways (:func:`richneuron.analysis.capacity.steps_peaks`) and its
    relative change; ``largest`` the largest absolute change; ``converged`` whether it is at
    most :data:`CONVERGED`; ``flips``: the pairs of architectures whose order changes with more
    steps although one led the other beyond noise in ``main_peaks`` (the
    :func:`richneuron.analysis.capacity.capacity` rows of every seed: a ranking changed beyond
    noise)."""
    rows = capacity.steps_peaks(short, long)
    for r in rows:
        r["change"] = r["after"] / r["before"] - 1 if r["before"] > 0 else math.inf
    largest = max((abs(r["change"]) for r in rows), default=math.nan)
    by = {r["arch"]: r for r in main_peaks}
    flips = []
    for a, b in itertools.combinations(rows, 2):
        if (a["before"] > b["before"]) == (a["after"] > b["after"]):
            continue
        if a["arch"] in by and b["arch"] in by:
            if stats.beyond_noise(capacity.lead(by[a["arch"]], by[b["arch"]])):
                flips.append((a["arch"], b["arch"]))
    return {
        "rows": rows, "largest": largest, "converged": largest <= CONVERGED, "flips": flips,
        "moved": [r["arch"] for r in rows if abs(r["change"]) > CONVERGED],
    }


def convergence_table(check: dict) -> Markdown:
    """:func:`convergence`'s rows: each architecture's capacity with the sweep's steps and
    with twice as many, and the change."""
    return markdown_table(
        ["architecture", "capacity, steps (bits per parameter)",
         "capacity, twice the steps", "change", f"within {CONVERGED:.0%}"],
        [
            [r["arch"], f"{r['before']:.2f} (N = {r['n_before']:,})",
             f"{r['after']:.2f} (N = {r['n_after']:,})", f"{r['change']:+.1%}",
             "yes" if abs(r["change"]) <= CONVERGED else "no"]
            for r in check["rows"]
        ],
    )


def best_sine_free(peaks: Sequence[dict]) -> dict | None:
    """The :func:`richneuron.analysis.capacity.capacity` row of the sine-free GLU
    (:data:`SINE_FREE_GLUS`) with the most bits per parameter; ``None`` if none was trained."""
    rows = [r for r in peaks if r["arch"] in SINE_FREE_GLUS]
    return max(rows, key=lambda r: r["per_param"]) if rows else None


@dataclass(frozen=True)
class LabelFindings:
    """What the Capacity chapter reports of label capacity (see :func:`label_findings`)."""

    choices: list[dict]  # each architecture's capacity at each learning rate (lr_choice)
    edge: list[str]  # architectures whose best rate is at the grid's edge
    lr_points: int  # the N of the learning-rate sweep
    lr_steps: int  # its steps
    schedule: str  # its learning-rate schedule
    classes: int  # K of the random labels
    points: list[dict]  # the sweep's capacity_points rows
    peaks: list[dict]  # each architecture's capacity
    ranked: list[dict]  # the peaks, most bits per parameter first
    by_arch: dict[str, dict]
    n_min: int  # the fewest points
    n_max: int  # the most
    at_edge: list[str]  # architectures whose peak is at the smallest or largest N tried
    best_glu: dict | None  # the sine-free GLU of most capacity
    singlu_vs_vanilla: str  # SinGLU's capacity over vanilla's, with its interval and reading
    singlu_vs_glu: str  # SinGLU's over the best sine-free GLU's
    seeds: int
    steps: int
    runs: int  # runs of both sweeps
    core_hours: float  # their training time


def label_findings(lr: object, sweep: object) -> LabelFindings:
    """The label-capacity findings from the learning-rate sweep ``lr`` (every architecture at
    each rate, one seed) and ``sweep`` (architectures at their rates, several seeds and N):
    each anything with ``sets`` and ``sweep`` (the spec), as
    :func:`richneuron.experiments.study.load_sweep` returns. Rows follow each spec's order of
    architectures."""
    lr_rows = capacity.capacity_points(lr.sets)
    archs = list(lr.sweep.archs)
    choices = sorted(lr_choice(lr_rows), key=lambda c: archs.index(c["arch"]))
    points = capacity.capacity_points(sweep.sets)
    order = list(sweep.sweep.archs)
    peaks = sorted(capacity.capacity(points), key=lambda r: order.index(r["arch"]))
    by_arch = {r["arch"]: r for r in peaks}
    ns = sorted({r["points"] for r in points})
    glu = best_sine_free(peaks)
    runs, seconds = capacity.compute_used([lr, sweep])
    lead = capacity.lead_text
    return LabelFindings(
        choices=choices,
        edge=[c["arch"] for c in choices if not c["interior"]],
        lr_points=lr_rows[0]["points"],
        lr_steps=lr.sweep.base.steps,
        schedule=lr.sweep.base.schedule,
        classes=capacity.classes_of(points[0]["task"]),
        points=points,
        peaks=peaks,
        ranked=sorted(peaks, key=lambda r: -r["per_param"]),
        by_arch=by_arch,
        n_min=ns[0],
        n_max=ns[-1],
        at_edge=[r["arch"] for r in peaks if r["points"] in (ns[0], ns[-1])],
        best_glu=glu,
        singlu_vs_vanilla=lead(capacity.lead(by_arch["singlu"], by_arch["vanilla"])),
        singlu_vs_glu=lead(capacity.lead(by_arch["singlu"], glu)) if glu else "not measured",
        seeds=sweep.sweep.seeds,
        steps=sweep.sweep.base.steps,
        runs=runs,
        core_hours=seconds / 3600,
    )


def _names(archs: Sequence[str]) -> str:
    return ", ".join(archs[:-1]) + f" and {archs[-1]}" if len(archs) > 1 else archs[0]


def rates_text(found: LabelFindings) -> str:
    """Whether the learning-rate grid brackets every architecture's best rate, as a sentence."""
    if not found.edge:
        return "Every architecture's best rate lies inside the grid."
    verb = "lies" if len(found.edge) == 1 else "lie"
    return (
        f"The best rate of {_names(found.edge)} {verb} at the grid's edge, so the grid does not "
        "bracket it: that capacity is a lower bound over the rates tried."
    )


def peaks_text(found: LabelFindings) -> str:
    """Whether every peak lies inside the point counts tried, as a sentence."""
    if not found.at_edge:
        return "Every peak lies inside the point counts tried."
    return (
        f"The peak of {_names(found.at_edge)} lies at the edge of the point counts tried, so "
        "it may lie beyond them."
    )
