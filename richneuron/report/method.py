"""The Tasks and Method chapters' tables, from the library (no number typed by hand): equations and
implementations, task formulas, the reference predictors, budgets, the pinned arithmetic, the
fingerprint and the gate, tolerances, assumptions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .. import neurons
from ..arithmetic.determinism import ARITHMETIC_ENV, SIMDLEN, THREADS
from ..config import TrainConfig, assumptions_table
from ..formatting import compact
from ..neurons import (
    ARCHITECTURES,
    get_arch,
)
from ..neurons.matching import match_width
from ..store.drift import DEFAULT_ATOL, DEFAULT_RTOL
from ..store.schema import REFERENCE_TITLES
from ..tables import Latex, Markdown, markdown_table
from ..tasks import TASKS, get_task
from ..train import fingerprint as fp
from ..train.predictors import reference_for
from . import audit
from .gate import committed_runs

__all__ = [
    "arithmetic_table",
    "assumptions",
    "budget_table",
    "equation",
    "fingerprint_facts",
    "gate_facts",
    "implementation",
    "reference_table",
    "task_formula",
    "task_table",
    "tolerance_table",
]


def equation(arch: str) -> Latex:
    """The layer equation of ``arch`` as the library implements it (for ``{glue:math}``)."""
    return Latex(get_arch(arch).equation)


def implementation(arch: str) -> Markdown:
    """Inline Markdown naming the class that implements ``arch`` as the package exports it,
    e.g. ``richneuron.neurons.V10FreePhase``."""
    layer = get_arch(arch).layer
    if getattr(neurons, layer.__name__, None) is not layer:
        raise ValueError(f"{layer.__name__} is not exported by {neurons.__name__}")
    return Markdown(f"`{neurons.__name__}.{layer.__name__}`")


def task_formula(name: str) -> Markdown:
    """A task's generating formula as display math, then its domains and noise."""
    t = get_task(name)
    return Markdown(
        f"$$\n{t.formula}\n$$\n\n"
        f"- train: {t.n_train} points, {t.train_domain}\n"
        f"- test: {t.n_test} points, {t.test_domain}\n"
        f"- noise: {t.noise}; metric: {t.metric}\n"
    )


def task_table(tasks: Sequence[str] | None = None) -> Markdown:
    """The tasks at a glance: kind, metric, dimensions and point counts of each."""
    rows = []
    for name in tasks or TASKS:
        t = get_task(name)
        rows.append(
            [name, t.title, t.group, t.metric, f"{t.in_dim} → {t.out_dim}", t.n_train, t.n_test]
        )
    return markdown_table(["task", "title", "group", "metric", "in → out", "train", "test"], rows)


def reference_table(data_seed: int = 0, tasks: Sequence[str] | None = None) -> Markdown:
    """Every reference predictor's test score on each task's draw ``data_seed``
    (:func:`richneuron.train.predictors.reference_for`): the constant, the linear one, five
    nearest neighbours, and the best of the first two, which a network must beat to learn."""
    rows = []
    for name in tasks or TASKS:
        ref = reference_for(name, data_seed, 0.0)  # the key every caller uses
        constant, linear = ref.counted
        best, _ = ref.best
        rows.append(
            [
                name,
                ref.metric,
                f"{compact(ref.scores[constant], ref.metric)} ({REFERENCE_TITLES[constant]})",
                f"{compact(ref.scores[linear], ref.metric)} ({REFERENCE_TITLES[linear]})",
                compact(ref.scores["knn"], ref.metric),
                REFERENCE_TITLES[best],
            ]
        )
    header = ["task", "metric", "constant", "linear", "5 nearest neighbours", "best reference"]
    return markdown_table(header, rows)


def budget_table(
    config: TrainConfig | None = None,
    archs: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
) -> tuple[Markdown, float]:
    """Matched hidden widths and exact parameter counts for every architecture on every task.

    Returns:
        ``(table, worst)``: a Markdown table, one row per architecture and one column per
        task, each cell ``widths: count (deviation)``; and the largest relative deviation from
        the budget over all cells.
    """
    config = config or TrainConfig()
    archs, tasks = list(archs or ARCHITECTURES), list(tasks or TASKS)
    rows, worst = [], 0.0
    for arch in archs:
        row = [arch]
        for task in tasks:
            budget = config.budget_for(task)
            widths, count = match_width(arch, task, budget, config)
            deviation = (count - budget) / budget
            worst = max(worst, abs(deviation))
            row.append(f"{'×'.join(map(str, widths))}: {count} ({deviation:+.1%})")
        rows.append(row)
    return markdown_table(["architecture", *tasks], rows), worst


def arithmetic_table() -> Markdown:
    """The pinned arithmetic (see :mod:`richneuron.arithmetic.determinism`): setting, value, what it
    fixes."""
    why = {
        "MKL_CBWR": "MKL's vector math (the products are richneuron::bmm's): its vendor-neutral "
        "branch (SSE2, no approximate reciprocals), in strict reproducibility mode",
        "ATEN_CPU_CAPABILITY": "PyTorch's vectorised CPU kernels (sin, tanh, reductions)",
        "TORCHINDUCTOR_CPP_MARCH": "the instruction set the compiled training step is built for",
    }
    rows = [[f"`{k}`", f"`{v}`", why[k]] for k, v in ARITHMETIC_ENV.items()]
    rows.append(["vector width (Inductor)", f"{SIMDLEN} bits", "the compiled kernels' SIMD width"])
    rows.append(["threads", THREADS, "compiled kernels split their work by the thread count"])
    return markdown_table(["setting", "value", "what it fixes"], rows)


def fingerprint_facts() -> dict[str, object]:
    """The fingerprint workload, for the Method chapter's prose
    (:mod:`richneuron.train.fingerprint`)."""
    work, small = fp.workload(), fp.workload(small=True)
    return {
        "archs": len(work["archs"]),
        "seeds": len(work["seeds"]),
        "task": work["task"],
        "steps": work["config"]["steps"],
        "budget": f"{work['config']['budget']:,}",
        "reference": work["reference_steps"],
        "small_steps": small["config"]["steps"],
        "small_budget": f"{small['config']['budget']:,}",
        "small_reference": small["reference_steps"],
        "cpus": " and ".join(fp.EMULATED_CPUS),
    }


def gate_facts(root: str | os.PathLike = ".", k: Sequence[int] = (10, 50)) -> dict[str, object]:
    """What the drift gate's audit guarantees, from the committed runs (Method chapter): the
    runs and cells, the budget, the window of commits within which every cell is retrained,
    the runs one commit retrains, each run's chance per commit (mean over runs, estimated over
    200 draws by :func:`richneuron.report.audit.inclusion`) and the chance that one changed run
    escapes ``k`` commits at that mean (:func:`richneuron.report.audit.escape`)."""
    entries, _ = committed_runs(root)
    plan = audit.plan(entries, "0" * 40, 0)
    chances = audit.inclusion(entries, draws=200)
    mean = sum(chances) / len(chances)
    facts: dict[str, object] = {
        "runs": f"{len(entries):,}",
        "hours": f"{sum(e.cost for e in entries) / 3600:.1f}",
        "overhead": f"{audit.RUN_OVERHEAD:g}",
        "cells": plan.cells,
        "budget": f"{plan.budget:.0f}",
        "cell_share": f"{audit.CELL_SHARE:.0%}",
        "window": plan.window,
        "per_commit": f"{len(plan.chosen):,}",
        "chance": f"{mean:.2%}",
    }
    for n in k:
        facts[f"escape_{n}"] = f"{audit.escape(mean, n):.0%}"
    return facts


def tolerance_table() -> Markdown:
    """The drift gate's tolerances per compared quantity
    (:func:`richneuron.store.drift.compare`)."""
    what = {
        "mse": "test metric of regression tasks (MSE)",
        "accuracy": "test metric of classification tasks (accuracy)",
        "train_loss": "final training loss",
    }
    rows = [
        [what[k], f"{DEFAULT_RTOL[k]:g}", f"{DEFAULT_ATOL[k]:g}"]
        for k in ("mse", "accuracy", "train_loss")
    ]
    rows.append(["widths, parameter count, divergence flag and step", "exact", "exact"])
    return markdown_table(["compared", "relative tolerance", "absolute tolerance"], rows)


def assumptions(config: TrainConfig | None = None) -> Markdown:
    """The reproduction-assumptions table: every protocol choice, its value and why."""
    rows = [[r["setting"], r["value"], r["why"]] for r in assumptions_table(config)]
    return markdown_table(["setting", "value", "why"], rows)
