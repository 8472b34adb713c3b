"""What a tuning found: each trial's score, the chosen settings and the tuned result set, expected-
best curves, the before/after comparison, and the settings still rising at the grid's edge (the
spec and its runner are :mod:`richneuron.experiments.tuning`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

from ..architectures import FAMILIES, arch_info
from ..config import TrainConfig
from ..formatting import format_advantage, format_interval, format_metric
from ..store.results import ResultSet, provenance, versus
from ..store.schema import Run, RunResult
from ..tables import Markdown, markdown_table, summary_cells, text_columns
from ..tasks import TASKS, get_task, higher_is_better
from .tuning import (
    INTEGER,
    SEARCH,
    Tuning,
    _draw,
    _setting,
    scored_on_training_points,
    space,
    trial_value,
)

__all__ = [
    "RISING_FACTOR",
    "RISING_POINTS",
    "chosen_settings",
    "comparison_rows",
    "comparison_table",
    "expected_best",
    "expected_best_rows",
    "families",
    "family",
    "format_choices",
    "pair_count",
    "rising_table",
    "space_table",
    "still_rising",
    "tally",
    "trial_scores",
    "tuned_set",
]


def _split(result) -> tuple[list[tuple[Run, TrainConfig, RunResult]], list]:
    """A tuning result's trials and final runs, each ``(run, config, result)``."""
    trials, finals = [], []
    for rs in result.sets:
        config = TrainConfig(**rs.config)
        for r in rs.runs:
            (trials if config.validation > 0 else finals).append((r.run, config, r))
    return trials, finals


def trial_scores(result) -> dict[tuple[str, str], list[float]]:
    """Every (architecture, task)'s trial scores (:func:`trial_value`: the validation MSE or
    accuracy, or the training MSE of a task scored on its training points), in draw order
    (NaN: diverged)."""
    tuning: Tuning = result.sweep
    trials, _ = _split(result)
    by = {(r.arch, r.task, json.dumps(_setting(c, r.arch), sort_keys=True)): res
          for r, c, res in trials}
    out = {}
    for arch in tuning.archs:
        for task in tuning.tasks:
            values = []
            for setting in _draw(arch, task, tuning.trials, tuning.base):
                res = by.get((arch, task, json.dumps(setting, sort_keys=True)))
                values.append(trial_value(res) if res is not None else math.nan)
            out[(arch, task)] = values
    return out


def expected_best(values: Sequence[float], n: int, metric: str) -> float:
    """The expected best validation score of ``n`` trials drawn with replacement from the
    observed ``values`` (Dodge et al. 2019, "Show your work"): with the ``N`` values sorted
    from worst to best, ``sum_i v_(i) [(i/N)^n - ((i-1)/N)^n]``. A diverged trial (NaN) counts
    as the worst score observed; NaN when every trial diverged.

    Raises:
        ValueError: on ``n < 1`` or an unknown ``metric``.
    """
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    if metric not in ("mse", "accuracy"):
        raise ValueError(f"metric: must be 'mse' or 'accuracy', got {metric!r}")
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan
    worst = min(finite) if higher_is_better(metric) else max(finite)
    filled = [v if math.isfinite(v) else worst for v in values]
    ordered = sorted(filled, reverse=not higher_is_better(metric))  # worst first
    big = len(ordered)
    return sum(
        v * ((i / big) ** n - ((i - 1) / big) ** n) for i, v in enumerate(ordered, start=1)
    )


def tuned_set(result, config: TrainConfig | None = None) -> ResultSet:
    """The final runs of a tuning as one result set (each (architecture, task) at its own
    chosen setting; ``config``, default the tuning's base, is recorded as its protocol)."""
    _, finals = _split(result)
    config = config or result.sweep.base
    return ResultSet(result.sweep.name, config.to_dict(), provenance(), [r for _, _, r in finals])


def chosen_settings(result) -> dict[tuple[str, str], dict[str, float]]:
    """The setting each (architecture, task) was trained at after tuning (from its final runs)."""
    _, finals = _split(result)
    return {(r.arch, r.task): _setting(c, r.arch) for r, c, _ in finals}


def format_choices(result) -> str:
    """The chosen setting of every (architecture, task) and its test metric over the final
    seeds, as plain columns (the command line's summary of a tuning)."""
    chosen = chosen_settings(result)
    rows = [("arch", "task", "setting", "metric", "mean", "ci95", "std", "seeds", "diverged")]
    for row in tuned_set(result).summary():
        setting = ", ".join(f"{k}={v:g}" for k, v in chosen[(row["arch"], row["task"])].items())
        rows.append((row["arch"], row["task"], setting, *summary_cells(row)[2:]))
    return text_columns(rows)


def space_table(archs: Sequence[str]) -> Markdown:
    """The search: each hyperparameter, its range (log-uniform) and the architectures of
    ``archs`` that tune it."""
    body = []
    for name, (lo, hi) in SEARCH.items():
        tuned = [a for a in archs if name in space(a)]
        body.append(
            [
                f"`{name}`",
                f"{lo:g} to {hi:g}" + (", rounded to an integer" if name in INTEGER else ""),
                "all" if len(tuned) == len(archs) else ", ".join(tuned),
            ]
        )
    return markdown_table(["hyperparameter", "range (log-uniform)", "tuned for"], body)


def expected_best_rows(result) -> list[dict]:
    """Every (architecture, task)'s expected best validation score after ``n`` trials, ``n`` from
    1 to the tuning's trials (:func:`expected_best`): ``{"arch", "task", "n", "value",
    "metric"}``."""
    rows = []
    for (arch, task), values in trial_scores(result).items():
        metric = "mse" if scored_on_training_points(task) else get_task(task).metric
        for n in range(1, len(values) + 1):
            rows.append(
                {
                    "arch": arch,
                    "task": task,
                    "n": n,
                    "value": expected_best(values, n, metric),
                    "metric": metric,
                }
            )
    return rows


def comparison_rows(tuned: ResultSet, default: ResultSet, chosen: Mapping) -> list[dict]:
    """Every (task, architecture) under its tuned setting beside the chapters' protocol:
    ``{"task", "arch", "metric", "default", "tuned", "interval", "outcome", "setting"}``, the
    summary rows and :func:`richneuron.store.results.versus` of tuned against default (+1: tuning
    helped beyond noise)."""
    before = default.summary_by_key()
    rows = []
    for r in tuned.summary():
        key = (r["arch"], r["task"])
        if key not in before:
            continue
        interval, result = versus(r, before[key])
        rows.append(
            {
                "task": r["task"],
                "arch": r["arch"],
                "metric": r["metric"],
                "default": before[key],
                "tuned": r,
                "interval": interval,
                "outcome": result,
                "setting": chosen.get(key, {}),
            }
        )
    order = list(TASKS)
    return sorted(rows, key=lambda x: (order.index(x["task"]), x["arch"]))


def comparison_table(rows: Sequence[dict]) -> Markdown:
    """:func:`comparison_rows` as a table: the chapters' and the tuned result (mean and its 95%
    interval), whether tuning changed it beyond noise, and the chosen setting."""
    def cell(r: dict) -> str:
        interval = format_interval(r["low"], r["high"], r["metric"])
        return f"{format_metric(r['mean'], r['metric'])} {interval}"

    body = []
    for r in rows:
        word = {1: "**better**", -1: "*worse*", 0: "within noise"}[r["outcome"]]
        change = f"{word}: {format_advantage(r['interval'], r['metric'], 'tuned', 'chapters')}"
        setting = ", ".join(f"{k} {v:g}" for k, v in r["setting"].items())
        body.append([r["task"], r["arch"], cell(r["default"]), cell(r["tuned"]), change, setting])
    header = ["task", "arch", "chapters' protocol", "tuned", "tuned against chapters'", "setting"]
    return markdown_table(header, body)


def tally(rows: Sequence[dict]) -> tuple[int, int, int]:
    """(better beyond noise, within noise, worse beyond noise) of :func:`comparison_rows`."""
    outcomes = [r["outcome"] for r in rows]
    return outcomes.count(1), outcomes.count(0), outcomes.count(-1)


#: A tuning curve still moving over its second half: by more than this factor (MSE) ...
RISING_FACTOR = 1.1


#: ... or by more than this many accuracy points.
RISING_POINTS = 0.5


def still_rising(rows: Sequence[dict]) -> list[tuple[str, str]]:
    """The (architecture, task) pairs whose expected best validation score still improves over
    the second half of the trials (from half the trials to all) by more than
    :data:`RISING_FACTOR` (MSE) or :data:`RISING_POINTS` points (accuracy): their tuning budget
    may be too small."""
    by: dict[tuple[str, str], dict[int, dict]] = {}
    for r in rows:
        by.setdefault((r["arch"], r["task"]), {})[r["n"]] = r
    out = []
    for key, curve in by.items():
        last = max(curve)
        a, b = curve[last // 2]["value"], curve[last]["value"]
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        if curve[last]["metric"] == "mse":
            rising = b > 0 and a / b > RISING_FACTOR
        else:
            rising = 100 * (b - a) > RISING_POINTS
        if rising:
            out.append(key)
    return out


def family(arch: str) -> str:
    """The family of ``arch`` (:data:`richneuron.architectures.FAMILIES`).

    Raises:
        ValueError: on an unknown architecture (naming the valid ones).
    """
    return arch_info(arch).family


def families(archs: Sequence[str]) -> dict[str, str]:
    """The family of each of ``archs`` (:func:`family`)."""
    return {a: family(a) for a in archs}


def pair_count(rows: Sequence[dict]) -> int:
    """How many (architecture, task) pairs ``rows`` cover."""
    return len({(r["arch"], r["task"]) for r in rows})


def rising_table(rising: Sequence[tuple[str, str]], archs: Sequence[str],
                 tasks: Sequence[str]) -> Markdown:
    """Per family: its architectures, and how many of its (architecture, task) pairs are
    :func:`still_rising`, naming them (or, when they are most, the others: "all but ...")."""
    body = []
    for name in FAMILIES:
        members = [a for a in archs if family(a) == name]
        if not members:
            continue
        pairs = [(a, t) for a in members for t in tasks]
        mine = [p for p in pairs if p in set(rising)]
        if 2 * len(mine) <= len(pairs):
            named = ", ".join(f"{a} on {t}" for a, t in mine) or "none"
        else:
            rest = [p for p in pairs if p not in mine]
            named = ("all but " + ", ".join(f"{a} on {t}" for a, t in rest)) if rest else "all"
        body.append([name, ", ".join(members), f"{len(mine)} of {len(pairs)}", named])
    return markdown_table(["family", "architectures", "pairs still improving", "which"], body)
