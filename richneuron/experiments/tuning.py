"""Fair tuning: every architecture the same tuning budget on every task.

The chapters train every architecture at one learning rate and one frequency, which favours
whichever family they happen to suit (Melis et al. 2018; Lucic et al. 2018 found that tuning each
family erases most claimed gains). A :class:`Tuning` gives each (architecture, task) the same
number of random-search trials over the hyperparameters the architecture has (:func:`space`):
the learning rate and the initialisation scale for all, the frequency ``omega`` for those whose
sine (or Fourier scale) it sets, and KAN's spline grid (:attr:`TrainConfig.kan_grid`). Each
trial trains one seed on the training points less a validation share
(:attr:`TrainConfig.validation`, drawn from the training points by the data seed: never the test
points) and is scored on the held-out points. The best trial's setting is
then trained on all the training points at the chapters' seeds and scored on the test points,
like every chapter's run. A tuning is written as a spec file::

    name: tuning
    archs: [vanilla, singlu]
    tasks: all
    trials: 12          # per (architecture, task), the same for every architecture
    validation: 0.2     # share of the training points held out to score the trials
    seeds: 5            # of the tuned setting's final runs (seeds first_seed ..)

:func:`run_tuning` trains it (the trials, then the chosen settings' runs) and returns a
:class:`richneuron.experiments.specs.SweepResult`, saved like a sweep
(:func:`richneuron.experiments.study.save_sweep`) and audited by the drift gate like one.
:func:`richneuron.experiments.tuning_results.expected_best` is Dodge et al. (2019)'s expected best
validation score after ``n`` trials.
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..config import TrainConfig
from ..neurons import OMEGA_ARCHS
from ..neurons.matching import BudgetError, match_width
from ..store.cache import RunCache
from ..store.schema import Run, RunResult, config_key
from ..tasks import get_task, higher_is_better
from ..train.pool import Backend
from .specs import (
    GRID_FIELDS,
    Coverage,
    Runner,
    SweepError,
    SweepResult,
    check_job_budgets,
    grid_values,
    int_entry,
    protocol_sets,
    spec_header,
    stored_runs,
)

__all__ = [
    "SEARCH",
    "Around",
    "choices",
    "grids",
    "run_tuning",
    "scored_on_training_points",
    "space",
    "trial_value",
    "Tuning",
]

#: The search ranges, each sampled log-uniformly: the learning rate a decade either side of the
#: chapters' 3e-3; the initialisation scale a factor of two either way; omega from 0.3 to 30
#: (SIREN's own omega0 is 30); KAN's grid from 3 to 20 intervals (efficient-kan's default is 5,
#: Liu et al. 2024 extend grids to 20 and beyond), taken to the nearest grid (:func:`grids`) at
#: which the budget matching can meet the task's budget.
SEARCH: dict[str, tuple[float, float]] = {
    "lr": (3e-4, 3e-2),
    "init_scale": (0.5, 2.0),
    "omega": (0.3, 30.0),
    "kan_grid": (3, 20),
}

#: The searched settings that are integers and shape the network (drawn log-uniformly, then
#: taken to the nearest value whose network meets the budget: :func:`grids`).
INTEGER = ("kan_grid",)


@functools.cache
def _grids(task: str, base_key: str) -> tuple[int, ...]:
    base = TrainConfig(**json.loads(base_key))
    lo, hi = SEARCH["kan_grid"]
    out = []
    for g in range(int(lo), int(hi) + 1):
        config = base.replace(kan_grid=g)
        try:
            match_width("kan", task, config.budget_for(task), config)
        except BudgetError:
            continue
        out.append(g)
    return tuple(out)


def grids(task: str, base: TrainConfig | None = None) -> tuple[int, ...]:
    """The grids of :data:`SEARCH`'s range at which KAN's network meets ``task``'s budget under
    ``base`` (default :class:`TrainConfig`): with integer widths, a grid changes the parameters
    per edge, and at some grids no width comes within the tolerance of the budget."""
    base = base or TrainConfig()
    return _grids(task, config_key(base))

def space(arch: str) -> dict[str, tuple[float, float]]:
    """The hyperparameters tuned for ``arch`` and their ranges (:data:`SEARCH`): the learning
    rate and initialisation scale for all, omega for :data:`richneuron.neurons.OMEGA_ARCHS`, the
    grid for KAN."""
    names = ["lr", "init_scale"] + (["omega"] if arch in OMEGA_ARCHS else [])
    names += ["kan_grid"] if arch == "kan" else []
    return {n: SEARCH[n] for n in names}


def _draw(
    arch: str, task: str, trials: int, base: TrainConfig | None = None
) -> list[dict[str, float]]:
    """``trials`` settings drawn log-uniformly from :func:`space`, seeded by the architecture
    and task alone (adding an architecture or a task leaves the others' trials as they were).
    Values are rounded to 4 significant figures, so that a setting reads back exactly; KAN's
    grid is the nearest (in log scale; a tie to the coarser) of :func:`grids` under ``base``.

    Raises:
        SweepError: when no grid of the range meets the task's budget.
    """
    rng = np.random.default_rng(zlib.crc32(f"{arch}/{task}".encode()))
    ranges = space(arch)
    out = []
    for _ in range(trials):
        setting = {}
        for name, (lo, hi) in ranges.items():
            value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
            if name == "kan_grid":
                found = grids(task, base)
                if not found:
                    raise SweepError(
                        f"kan_grid: no grid from {lo:g} to {hi:g} lets KAN meet the budget "
                        f"of task {task!r}"
                    )
                setting[name] = min(found, key=lambda g: (abs(math.log(g / value)), g))
            else:
                setting[name] = float(f"{value:.4g}")
        out.append(setting)
    return out


@dataclass(frozen=True)
class Tuning(Coverage):
    """Random search per (architecture, task), then the chosen setting at ``seeds`` seeds.

    An architecture's trials are drawn by its name and the task alone, so two tunings that
    differ only in their coverage (:class:`~richneuron.experiments.specs.Coverage`) have the
    same trials, choices and final runs for the architectures both tune."""

    name: str
    archs: tuple[str, ...]
    tasks: tuple[str, ...]
    trials: int
    seeds: int
    validation: float
    base: TrainConfig = field(default_factory=TrainConfig)
    first_seed: int = 0

    @classmethod
    def from_dict(cls, doc: object) -> Tuning:
        """A validated tuning from a spec document.

        Raises:
            SweepError: naming the entry.
        """
        known = {"name", "archs", "tasks", "trials", "seeds", "first_seed", "validation", "base"}
        required = ("archs", "trials", "seeds", "validation")
        name, archs, tasks = spec_header(
            doc, "name, archs, tasks, trials, ...", known, required, "tuning"
        )
        trials = int_entry(doc, "trials", 2)
        seeds = int_entry(doc, "seeds", 1)
        first_seed = int_entry(doc, "first_seed", 0, 0)
        validation = doc["validation"]
        if isinstance(validation, bool) or not isinstance(validation, int | float) or not (
            0 < validation <= 0.5
        ):
            raise SweepError(f"validation: must be a number in (0, 0.5], got {validation!r}")
        base_doc = doc.get("base") or {}
        if not isinstance(base_doc, Mapping):
            raise SweepError("base: must be a mapping of TrainConfig fields to values")
        for key in base_doc:
            if key not in GRID_FIELDS or key in SEARCH or key == "validation":
                raise SweepError(f"base.{key}: not a setting a tuning may fix")
        try:
            base = TrainConfig().replace(**base_doc)
        except ValueError as err:
            raise SweepError(f"base: {err}") from None
        return cls(name, archs, tasks, trials, seeds, float(validation), base, first_seed)

    def to_dict(self) -> dict:
        """The spec as a document (:meth:`from_dict` reads it back to an equal tuning)."""
        doc = {
            "name": self.name,
            "archs": list(self.archs),
            "tasks": list(self.tasks),
            "trials": self.trials,
            "seeds": self.seeds,
            "validation": self.validation,
            "base": self.base.changes(),
        }
        if self.first_seed:
            doc["first_seed"] = self.first_seed
        return doc

    def size(self) -> int:
        """Runs in all: every trial and every final run."""
        return len(self.archs) * len(self.tasks) * (self.trials + self.seeds)

    def trial_count(self) -> int:
        """Trials in all: ``trials`` for each (architecture, task)."""
        return len(self.archs) * len(self.tasks) * self.trials

    def omega_archs(self) -> str:
        """The architectures of this tuning whose search includes omega, as text."""
        return ", ".join(a for a in self.archs if "omega" in space(a))

    def fit_tasks(self) -> str:
        """This tuning's tasks scored on their training points, as text ("none" if none)."""
        return ", ".join(t for t in self.tasks if scored_on_training_points(t)) or "none"

    def settings(self, arch: str) -> list[dict]:
        """Every trial setting of ``arch`` (over all tasks)."""
        return [s for task in self.tasks for s in _draw(arch, task, self.trials, self.base)]

    def trial_jobs(self) -> list[tuple[Run, TrainConfig]]:
        """Every trial: seed ``first_seed``, the validation split, its drawn setting."""
        held = self.base.replace(validation=self.validation)
        return [
            (Run(arch, task, self.first_seed), held.replace(**setting))
            for arch in self.archs
            for task in self.tasks
            for setting in _draw(arch, task, self.trials, self.base)
        ]

    def final_jobs(self, chosen: Mapping[tuple[str, str], dict]) -> list[tuple[Run, TrainConfig]]:
        """The chosen setting of every (architecture, task) at every seed, on all the training
        points."""
        return [
            (Run(arch, task, seed), self.base.replace(**chosen[(arch, task)]))
            for arch in self.archs
            for task in self.tasks
            for seed in self.seed_range
        ]

    def check_budgets(self) -> None:
        """Refuse a tuning whose budget no width meets (before any training).

        Raises:
            SweepError: naming the budget, architecture and task.
        """
        # the base, and every trial whose setting changes the network's shape (a grid)
        check_job_budgets([
            (Run(arch, task, 0), config)
            for arch in self.archs
            for task in self.tasks
            for config in [self.base] + [
                self.base.replace(**s)
                for s in _draw(arch, task, self.trials, self.base)
                if any(k in INTEGER for k in s)
            ]
        ])

    @staticmethod
    def audit_cell(run: Run, config: TrainConfig) -> tuple:
        """The drift gate's cell of a run: its architecture and whether it is a trial."""
        return (run.arch, config.validation > 0)


@functools.cache
def scored_on_training_points(task: str) -> bool:
    """Whether ``task`` is scored on its own training points (Memorize: its test points are
    its training points). Held-out points of such a task carry targets no network can predict,
    so its trials are scored by their fit to the points they trained on (the final training
    loss) instead: what the task asks."""
    data = get_task(task).generate(0)
    return data.x_train.shape == data.x_test.shape and bool(
        torch.equal(data.x_train, data.x_test)
    )


def trial_value(r: RunResult) -> float:
    """A trial's tuning score as a number of the task's own sense: the metric on the held-out
    points, or for a task scored on its training points (:func:`scored_on_training_points`)
    the final training loss (an MSE); NaN when the trial diverged."""
    if r.diverged:
        return math.nan
    if scored_on_training_points(r.run.task):
        value = r.train_loss
    else:
        value = r.extra.get("val_metric", math.nan)
    return value if math.isfinite(value) else math.nan


def _lower_is_better(r: RunResult) -> bool:
    return not higher_is_better(r.metric) or scored_on_training_points(r.run.task)


def _score(r: RunResult) -> float:
    """A trial's tuning score, oriented so that lower is better (NaN: diverged)."""
    value = trial_value(r)
    return value if _lower_is_better(r) else -value


def _setting(config: TrainConfig, arch: str) -> dict[str, float]:
    return {name: getattr(config, name) for name in space(arch)}


def choices(
    trials: Sequence[tuple[Run, TrainConfig, RunResult]],
) -> dict[tuple[str, str], dict[str, float]]:
    """The best trial's setting of every (architecture, task): the lowest validation MSE or the
    highest validation accuracy; a diverged trial is never chosen (the first trial when all
    diverged); ties go to the earlier trial."""
    best: dict[tuple[str, str], tuple[float, dict]] = {}
    for run, config, res in trials:
        key = (run.arch, run.task)
        score = _score(res)
        rank = score if math.isfinite(score) else math.inf
        if key not in best or rank < best[key][0]:
            best[key] = (rank, _setting(config, run.arch))
    return {k: v[1] for k, v in best.items()}


def run_tuning(
    tuning: Tuning,
    cache: RunCache | None,
    progress: Callable[[int, int, int], None] | None = None,
    backend: Backend | None = None,
    stored=None,
):
    """Train a tuning: its trials, then each (architecture, task)'s chosen setting at every
    seed (:meth:`Tuning.final_jobs`). Runs in ``stored`` (a saved result of this tuning, or of
    it with other seeds or architectures: :meth:`Tuning.same_but_coverage`) or in the run cache
    are read back.

    Returns:
        A :class:`richneuron.experiments.specs.SweepResult` of ``tuning``, one set per distinct
        protocol.

    Raises:
        SweepError: before training, when a budget cannot be met, or ``stored`` holds another
            tuning.
    """
    tuning.check_budgets()
    kept = stored_runs(stored, tuning, "{name}, not this tuning")
    runner = Runner(kept, cache, tuning.size(), progress, backend)
    trial_jobs = tuning.trial_jobs()
    trial_results = runner.train(trial_jobs)
    chosen = choices([(r, c, res) for (r, c), res in zip(trial_jobs, trial_results)])
    final_jobs = tuning.final_jobs(chosen)
    final_results = runner.train(final_jobs)
    sets = protocol_sets(tuning.name, [*trial_jobs, *final_jobs], [*trial_results, *final_results])
    return SweepResult(
        tuning, sets, trained=tuning.size() - runner.from_store, from_store=runner.from_store
    )


# ---------------------------------------------------------------------------------------------
# Protocols around the tuned one: each (architecture, task) at its chosen setting, one factor
# changed at a time.

#: The tuned hyperparameters: around the tuned protocol their values are factors on the chosen
#: value; every other factor takes its values as they are.
RELATIVE = tuple(k for k in SEARCH if k not in INTEGER)


@dataclass(frozen=True)
class Around(Coverage):
    """The multiverse around a tuning (``around``: its stem in the same folder): every
    (architecture, task) at its chosen setting with one factor changed, at ``seeds`` seeds.
    ``vary`` maps a :class:`TrainConfig` field to its values: factors on the chosen value for
    the tuned hyperparameters (:data:`RELATIVE`; only where the architecture tunes it), the
    values themselves for the others. A spec::

        name: multiverse-tuned
        around: tuning
        archs: [vanilla, singlu]
        tasks: all
        seeds: 5
        vary: {lr: [0.3333, 3], steps: [8000], depth: [1, 3], data_seed: [1, 2]}
    """

    name: str
    around: str
    archs: tuple[str, ...]
    tasks: tuple[str, ...]
    seeds: int
    vary: dict[str, tuple]
    first_seed: int = 0

    @classmethod
    def from_dict(cls, doc: object) -> Around:
        """A validated spec.

        Raises:
            SweepError: naming the entry.
        """
        known = {"name", "around", "archs", "tasks", "seeds", "first_seed", "vary"}
        name, archs, tasks = spec_header(
            doc,
            "name, around, archs, tasks, seeds, vary",
            known,
            ("around", "archs", "seeds", "vary"),
            "around",
        )
        around = doc["around"]
        if not isinstance(around, str) or not around.strip():
            raise SweepError(f"around: must be a non-empty string, got {around!r}")
        seeds = int_entry(doc, "seeds", 1)
        first_seed = int_entry(doc, "first_seed", 0, 0)
        vary_doc = doc["vary"]
        if not isinstance(vary_doc, Mapping) or not vary_doc:
            raise SweepError("vary: must map TrainConfig fields to values")
        vary = {}
        for field_name, given in vary_doc.items():
            if field_name not in GRID_FIELDS or field_name == "validation":
                valid = ", ".join(GRID_FIELDS)
                raise SweepError(f"vary.{field_name}: unknown setting; valid: {valid}")
            vary[field_name] = grid_values(f"vary.{field_name}", given)
            for v in vary[field_name]:
                try:
                    if field_name in RELATIVE:
                        if not (v > 0 and math.isfinite(v)) or v == 1:
                            raise ValueError("a factor must be a finite number > 0, not 1")
                    else:
                        TrainConfig().replace(**{field_name: v})
                except ValueError as err:
                    raise SweepError(f"vary.{field_name}={v!r}: {err}") from None
        return cls(name, around, archs, tasks, seeds, vary, first_seed)

    def to_dict(self) -> dict:
        doc = {
            "name": self.name,
            "around": self.around,
            "archs": list(self.archs),
            "tasks": list(self.tasks),
            "seeds": self.seeds,
            "vary": {k: list(v) for k, v in self.vary.items()},
        }
        if self.first_seed:
            doc["first_seed"] = self.first_seed
        return doc

    def changes(self, arch: str) -> list[tuple[str, float]]:
        """``arch``'s (field, value) changes: a tuned hyperparameter only where it tunes it."""
        return [
            (f, v)
            for f, values in self.vary.items()
            if f not in RELATIVE or f in space(arch)
            for v in values
        ]

    def size(self) -> int:
        return sum(len(self.changes(a)) for a in self.archs) * len(self.tasks) * self.seeds

    def settings(self, arch: str) -> list[dict]:
        return [{f: v} for f, v in self.changes(arch)]

    def expand(
        self, chosen: Mapping[tuple[str, str], dict], base: TrainConfig
    ) -> list[tuple[Run, TrainConfig]]:
        """Every run: each (architecture, task) at its ``chosen`` setting (on ``base``, the
        tuning's) with one change, at every seed.

        Raises:
            SweepError: when ``chosen`` lacks an (architecture, task) of the spec.
        """
        jobs = []
        for arch in self.archs:
            for task in self.tasks:
                if (arch, task) not in chosen:
                    raise SweepError(f"around: {self.around!r} has no tuned {arch} on {task}")
                centre = base.replace(**chosen[(arch, task)])
                for f, v in self.changes(arch):
                    value = float(f"{getattr(centre, f) * v:.4g}") if f in RELATIVE else v
                    config = centre.replace(**{f: value})
                    jobs += [(Run(arch, task, s), config) for s in self.seed_range]
        return jobs

    def check_budgets(self) -> None:
        """Nothing to check before the chosen settings are known (:meth:`expand` does)."""

    @staticmethod
    def audit_cell(run: Run, config: TrainConfig) -> tuple:
        """The drift gate's cell of a run: its architecture and the settings that change its
        code path or data (depth, steps, data seed)."""
        return (run.arch, config.depth, config.steps, config.data_seed)
