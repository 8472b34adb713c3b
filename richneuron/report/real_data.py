"""The Real data chapter: every architecture, tuned, on scikit-learn's digits and diabetes
(``sweeps/real-data.yaml``), beside the reference predictors.

Read from ``data/sweeps/real-data.json`` (:func:`load`, :func:`tuned`); the claims are judged on
those runs by the ledger's rules (:func:`protocol`, for :func:`richneuron.analysis.multiverse
.findings`-style evaluation), and the tables here show what they rest on.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from ..analysis.multiverse import Protocol
from ..analysis.references import beats, skill_text
from ..config import TrainConfig
from ..experiments.specs import SweepResult
from ..experiments.study import load_sweep
from ..experiments.tuning_results import chosen_settings, tuned_set
from ..formatting import format_interval, format_metric
from ..neurons.matching import match_width
from ..paths import SWEEP_DIR
from ..store.results import ResultSet
from ..tables import Markdown, markdown_table
from ..tasks import REAL_TASKS, get_task, higher_is_better
from ..train.predictors import reference_for

__all__ = [
    "NAME",
    "PROTOCOL",
    "load",
    "mean_predictor",
    "protocol",
    "protocol_in",
    "ranking_table",
    "tuned",
    "width_table",
]

#: The sweep (``sweeps/real-data.yaml``) and its file's stem.
NAME = "real-data"
#: The protocol's name where the claims are judged on these runs.
PROTOCOL = "real data (tuned)"


def load(sweep_dir: str | os.PathLike = SWEEP_DIR) -> SweepResult:
    """The committed tuning of the real data sets.

    Raises:
        ResultsError: naming the file, if it is missing or corrupt.
    """
    return load_sweep(Path(sweep_dir) / f"{NAME}.json")


def tuned(result: SweepResult) -> ResultSet:
    """The final runs: each (architecture, data set) at the setting its own search chose, ten
    seeds each."""
    return tuned_set(result, TrainConfig())


def protocol(rs: ResultSet) -> Protocol:
    """The tuned real-data runs as a protocol, for judging the claims on them."""
    return Protocol(PROTOCOL, None, ResultSet(PROTOCOL, rs.config, rs.provenance, rs.runs))


def mean_predictor(task: str) -> str:
    """The training mean's test score on ``task``, as the book prints a score."""
    ref = reference_for(task)
    return format_metric(ref.scores[ref.trivial], ref.metric)


def protocol_in(sweep_dir: str | os.PathLike | None) -> Protocol | None:
    """The tuned real-data runs of ``sweep_dir`` as a protocol (:func:`protocol`); None without
    a ``sweep_dir`` (a quick build) or when the file is not committed."""
    if sweep_dir is None or not (Path(sweep_dir) / f"{NAME}.json").is_file():
        return None
    return protocol(tuned(load(sweep_dir)))


def width_table(archs: Sequence[str], against: str = "nested_2d") -> Markdown:
    """Each architecture's hidden widths at the chapters' budget on ``against`` (2 inputs) and
    on each real data set: the wider input takes a larger share of the budget, so the hidden
    layers narrow."""
    tasks = [against, *REAL_TASKS]
    body = []
    for arch in archs:
        cells = []
        for task in tasks:
            widths, params = match_width(arch, task, TrainConfig().budget)
            cells.append(f"{' x '.join(str(w) for w in widths)} ({params:,})")
        body.append([arch, *cells])
    header = ["architecture", *(f"{t} ({get_task(t).in_dim} in)" for t in tasks)]
    return markdown_table(header, body)


def _order(row: dict, sign: int) -> tuple[bool, float]:
    """Best first; a mean that is not a number (a diverged seed) last."""
    mean = row["mean"]
    return (math.isnan(mean), 0.0 if math.isnan(mean) else sign * mean)


def ranking_table(rs: ResultSet, result: SweepResult, task: str) -> Markdown:
    """The architectures on ``task``, best first: the mean over seeds with its 95% interval,
    the skill against the constant predictor, whether it learns the task (its interval beyond
    the best reference predictor), and the setting its search chose; the reference predictors
    last."""
    chosen = chosen_settings(result)
    ref = reference_for(task)
    rows = [r for r in rs.summary() if r["task"] == task]
    sign = -1 if higher_is_better(ref.metric) else 1
    rows.sort(key=lambda r: _order(r, sign))
    body = []
    for i, r in enumerate(rows, start=1):
        setting = ", ".join(f"{k} {v:g}" for k, v in chosen.get((r["arch"], task), {}).items())
        body.append(
            [
                i,
                r["arch"],
                format_metric(r["mean"], ref.metric),
                format_interval(r["low"], r["high"], ref.metric),
                skill_text(ref, r["mean"]),
                "yes" if beats(r, ref) else "**no**",
                setting,
            ]
        )
    for name, score in ref.scores.items():
        body.append(["", f"*{name}* (reference)", format_metric(score, ref.metric), "", "", "",
                     ""])
    header = ["rank", "architecture", ref.metric, "95% interval", "skill", "learns",
              "tuned setting"]
    return markdown_table(header, body)
