"""The boundedness ablation (chapter v15): is it the sine's periodicity or a bounded output that
decides how a neuron does out of range (findings 7 and 8)?

The variants that beat ReLU out of range include those whose output is bounded: v1 and v4
normalise their layer's output (a LayerNorm), v7 and v8 have no value branch, so their output is
a sine. Two ablations change one of those properties and nothing else: SinGLU with v1's
LayerNorm (``singlu_ln``, bounded) and v7 with SinGLU's value branch (``v7_value``, unbounded).
If a bounded output is what matters, bounding SinGLU lowers its out-of-range error and
unbounding v7 raises it; if periodicity is what matters, neither change moves it beyond noise.

Each ablation is compared with its original on the out-of-range tasks by the book's rule
(:func:`richneuron.store.results.decide`: the four comparisons are one family), beside the
tasks' best reference predictor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..formatting import compact, format_comparison, format_detectable, format_p
from ..store.results import ResultSet, decide
from ..store.schema import Reference
from ..tables import Markdown, markdown_table
from .references import beats, reference_text

__all__ = [
    "ABLATIONS",
    "OUT_OF_RANGE",
    "READINGS",
    "UNLEARNED",
    "ablation_rows",
    "ablation_table",
    "reading",
]

#: Each ablation: the original, the ablated neuron, what the ablation changes, and the sign of
#: the change a bounded-output explanation predicts (+1: the ablated neuron errs less).
ABLATIONS = (
    ("singlu", "singlu_ln", "SinGLU's output bounded (LayerNorm, as v1 and v4)", +1),
    ("v7", "v7_value", "v7's output unbounded (a value branch, as SinGLU)", -1),
)

#: The tasks that test outside the training range: the inputs (ood_shift, finding 8) and the
#: frequencies (freq_gen, finding 7).
OUT_OF_RANGE = ("ood_shift", "freq_gen")

#: What the ablations say on a task (:func:`reading`): the pattern of their calls.
READINGS = (
    "both ablations move the error as a bounded output predicts",
    "neither ablation moves the error beyond noise",
    "one ablation moves the error as a bounded output predicts, the other does not",
    "an ablation moves the error against what a bounded output predicts",
    "not trained: the ablations' runs are not in this build",
)

#: Said before the pattern where no network of a pair beats the task's best reference.
UNLEARNED = (
    "not testable as a claim, since no network compared beats the best reference predictor "
    "beyond noise; among these networks that all fail, "
)


def ablation_rows(
    rs: ResultSet, ablations: ResultSet, references: Mapping[str, Reference]
) -> list[dict]:
    """Each ablation against its original on each out-of-range task both are trained on:
    ``{"task", "original", "ablated", "change", "predicted", "original_mean", "ablated_mean",
    "interval", "outcome", "alone", "p", "detectable", "reference", "learned"}``, ``outcome``
    +1 where the ablated neuron errs less beyond noise after the family's correction (the four
    comparisons decided together), ``learned`` whether either beats the task's best reference
    (``references``) beyond noise."""
    rows = ResultSet(rs.name, rs.config, rs.provenance, [*rs.runs, *ablations.runs])
    summary = rows.summary_by_key()
    found = [
        (task, original, ablated, change, predicted)
        for task in OUT_OF_RANGE
        for original, ablated, change, predicted in ABLATIONS
        if (original, task) in summary and (ablated, task) in summary
    ]
    decisions = decide([(summary[(a, t)], summary[(o, t)]) for t, o, a, _, _ in found])
    out = []
    for (task, original, ablated, change, predicted), d in zip(found, decisions):
        ref = references.get(task)
        pair = (summary[(original, task)], summary[(ablated, task)])
        out.append(
            {
                "task": task,
                "original": original,
                "ablated": ablated,
                "change": change,
                "predicted": predicted,
                "original_mean": pair[0]["mean"],
                "ablated_mean": pair[1]["mean"],
                "interval": d.interval,
                "outcome": d.outcome,
                "alone": d.alone,
                "p": d.p,
                "detectable": d.detectable,
                "reference": ref,
                "learned": ref is None or any(beats(r, ref) for r in pair),
            }
        )
    return out


def reading(rows: Sequence[dict], task: str) -> str:
    """What the ablations say on ``task``: one of :data:`READINGS` (both move the error beyond
    noise the way a bounded output predicts, neither moves it, one does, one moves it the other
    way; not trained where they have no runs on it, a quick build), preceded by
    :data:`UNLEARNED` where a pair has no network that learns the task: the calls then compare
    failures, and the reading says so instead of deciding a claim."""
    mine = [r for r in rows if r["task"] == task]
    if not mine:
        return READINGS[4]
    if any(r["outcome"] == -r["predicted"] for r in mine):
        pattern = READINGS[3]
    else:
        hits = sum(r["outcome"] == r["predicted"] for r in mine)
        pattern = READINGS[0] if hits == len(mine) else READINGS[1] if hits == 0 else READINGS[2]
    return pattern if all(r["learned"] for r in mine) else UNLEARNED + pattern


def ablation_table(rows: Sequence[dict]) -> Markdown:
    """The ablations as a Markdown table: task, change, the two out-of-range errors beside the
    best reference, the ratio original / ablated with its interval (above 1: the ablated neuron
    errs less), the p-value, and the call after the correction (with the smallest ratio these
    seeds would detect where it is within noise)."""
    body = []
    for r in rows:
        if r["outcome"]:
            call = "ablated lower" if r["outcome"] == 1 else "ablated higher"
        else:
            call = f"within noise (would detect {format_detectable(r['detectable'], 'mse')})"
        if r["alone"] != r["outcome"]:
            call += ", removed by the correction"
        body.append(
            [
                r["task"],
                r["change"],
                f"{r['original']} {compact(r['original_mean'])}",
                f"{r['ablated']} {compact(r['ablated_mean'])}",
                reference_text(r["reference"]) if r["reference"] else "-",
                format_comparison(r["interval"], "mse"),
                format_p(r["p"], bare=True),
                call if r["learned"] else f"{call}; neither learns the task",
            ]
        )
    header = [
        "task",
        "ablation",
        "original",
        "ablated",
        "best reference",
        "original / ablated",
        "p",
        "call",
    ]
    return markdown_table(header, body)
