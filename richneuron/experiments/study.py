"""What runs: a study (runs under one protocol) and a sweep (a grid of protocols).

:func:`run_study` produces the results of a list of runs under one :class:`TrainConfig`: runs in the
run cache are read back, the rest are trained together (:func:`richneuron.train.pool.train_jobs`)
and cached chunk by chunk as they finish, so an interrupted study loses at most the chunks in
flight.

A :class:`Sweep` declares many studies at once: architectures x tasks x seeds x a grid over
:class:`TrainConfig` fields, with per-architecture overrides of the grid (for example ``omega``
only for the sine families). :meth:`Sweep.expand` lists its runs, each with its own config, so a
run is keyed as everywhere else by (architecture, task, seed, every setting); a run that two
sweeps share is trained once. A sweep is written as a YAML (or JSON) spec file::

    name: lr-omega
    archs: [singlu, v10]
    tasks: all                  # or a list, "standard", "generalisation"
    seeds: 3                    # seeds first_seed .. first_seed + seeds - 1
    first_seed: 0               # optional (default 0): 5 with seeds 5 trains seeds 5..9
    base: {steps: 500}          # TrainConfig fields every run shares (optional)
    grid:                       # TrainConfig field -> values; the runs take every combination
      lr: [1.0e-3, 3.0e-3, 1.0e-2]
      omega: [1, 3, 10, 30]
    overrides:                  # per architecture: these grid entries instead (optional)
      vanilla: {omega: [1]}

or on the command line (``python -m richneuron sweep --arch singlu,v10 --tasks all --seeds 3
--grid lr=1e-3,3e-3,1e-2 --grid omega=1,3,10,30``). :func:`run_sweep` trains all its missing
runs in one call, so runs of one shape share chunks and one compiled step whatever their
settings, and returns a :class:`SweepResult` (one :class:`ResultSet` per protocol), saved by
:func:`save_sweep` as one JSON file.
Every bad value is refused by :meth:`Sweep.from_dict` with one line naming the entry, before
anything trains.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import TrainConfig
from ..store.cache import RunCache
from ..store.results import (
    SCHEMA,
    ResultsError,
    ResultSet,
    check_output_path,
    provenance,
    result_to_dict,
    results_from_doc,
    run_key,
    to_jsonable,
    write_json_atomic,
)
from ..store.schema import Run, RunResult, config_key
from ..tasks import TASKS
from ..train.pool import Backend
from .specs import (
    GRID_FIELDS,
    Coverage,
    Runner,
    SweepError,
    SweepResult,
    check_grid,
    check_job_budgets,
    int_entry,
    protocol_sets,
    spec_header,
    stored_runs,
    train_missing,
)
from .tuning import Around, Tuning, run_tuning
from .tuning_results import chosen_settings

__all__ = [
    "LEAN_POINTS",
    "SWEEP_SCHEMA",
    "Sweep",
    "lean_result",
    "load_spec",
    "load_sweep",
    "run_study",
    "run_sweep",
    "sweep_rows",
    "save_sweep",
]

#: Schema id of a sweep results file.
SWEEP_SCHEMA = "richneuron.sweep/1"

#: Points of each curve a lean sweep result keeps (evenly spaced, first and last included).
LEAN_POINTS = 11

def run_study(
    name: str,
    runs: Sequence[Run],
    config: TrainConfig,
    cache: RunCache | None,
    progress: Callable[[int, int], None] | None = None,
    on_results: Callable[[list[RunResult]], None] | None = None,
    stored: Mapping[Run, RunResult] | None = None,
    backend: Backend | None = None,
) -> ResultSet:
    """Results of ``runs``: stored or cached ones read back, the rest trained together and cached.

    Args:
        name: the result set's name, e.g. the chapter ``"10-v10-free-phase"``.
        runs: the runs to produce (no duplicates).
        config: the training protocol of every run.
        cache: where trained runs are kept; ``None`` trains everything.
        progress: passed to :func:`richneuron.train.pool.train_jobs`: ``(done, total)`` of misses.
        on_results: called with each chunk's results as it is trained (after caching it).
        stored: results already made under ``config`` (a committed results file), by run;
            taken before the cache.
        backend: where to train (:class:`richneuron.train.pool.Backend`, e.g. a
            :class:`richneuron.train.cluster.DaskBackend`); ``None``: this machine's worker
            processes.
    """
    if len(set(runs)) != len(runs):
        raise ValueError(f"{name}: duplicate runs")
    jobs = [(r, config) for r in runs]
    results, _ = train_missing(jobs, cache, progress, on_results, stored, backend)
    return ResultSet(name, config.to_dict(), provenance(), sorted(results, key=run_key))


def spec_from_dict(doc: object):
    """A :class:`Sweep`, a :class:`richneuron.experiments.tuning.Tuning` when the spec has
    ``trials``, or a :class:`richneuron.experiments.tuning.Around` when it has ``around``.

    Raises:
        SweepError: naming the entry.
    """
    if isinstance(doc, Mapping) and "trials" in doc:
        return Tuning.from_dict(doc)
    if isinstance(doc, Mapping) and "around" in doc:
        return Around.from_dict(doc)
    return Sweep.from_dict(doc)


def load_spec(path: str | os.PathLike):
    """A sweep or tuning spec file (:func:`spec_from_dict`).

    Raises:
        SweepError: naming the file: unreadable, not valid YAML, or a bad entry.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SweepError(f"{path}: {err.strerror or err}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SweepError(f"{path}: not valid YAML{where}: {err.__class__.__name__}") from None
    try:
        return spec_from_dict(doc)
    except SweepError as err:
        raise SweepError(f"{path}: {err}") from None


@dataclass(frozen=True)
class Sweep(Coverage):
    """Architectures x tasks x seeds x a grid over :class:`TrainConfig` fields.

    ``grid`` maps field names to their values; every run takes every combination. An entry of
    ``overrides[arch]`` replaces the grid's entry of that name for ``arch`` (or adds one).
    Build one with :meth:`from_dict` (or :meth:`from_file`), which validates everything.
    """

    name: str
    archs: tuple[str, ...]
    tasks: tuple[str, ...]
    seeds: int
    grid: dict[str, tuple] = field(default_factory=dict)
    overrides: dict[str, dict[str, tuple]] = field(default_factory=dict)
    base: TrainConfig = field(default_factory=TrainConfig)
    first_seed: int = 0

    @classmethod
    def from_dict(cls, doc: object) -> Sweep:
        """A validated sweep from a spec document (see the module docstring).

        Raises:
            SweepError: naming the entry: a missing or unknown key, an unknown architecture,
                task or setting, an empty or repeated list, a value ``TrainConfig`` refuses.
        """
        known = {"name", "archs", "tasks", "seeds", "first_seed", "grid", "overrides", "base"}
        name, archs, tasks = spec_header(
            doc, "name, archs, tasks, seeds, grid, ...", known, ("archs", "seeds"), "sweep"
        )
        seeds = int_entry(doc, "seeds", 1)
        first_seed = int_entry(doc, "first_seed", 0, 0)
        base_doc = doc.get("base") or {}
        if not isinstance(base_doc, Mapping):
            raise SweepError("base: must be a mapping of TrainConfig fields to values")
        for key in base_doc:
            if key not in GRID_FIELDS:
                raise SweepError(f"base.{key}: unknown setting; valid: {', '.join(GRID_FIELDS)}")
        try:
            base = TrainConfig().replace(**base_doc)
        except ValueError as err:
            raise SweepError(f"base: {err}") from None
        grid = check_grid("grid", doc.get("grid") or {}, base)
        overrides_doc = doc.get("overrides") or {}
        if not isinstance(overrides_doc, Mapping):
            raise SweepError("overrides: must map architecture ids to grids")
        overrides = {}
        for arch, sub in overrides_doc.items():
            if arch not in archs:
                raise SweepError(f"overrides.{arch}: not one of the sweep's archs ({archs})")
            overrides[arch] = check_grid(f"overrides.{arch}", sub, base)
        sweep = cls(
            str(name), tuple(archs), tuple(tasks), seeds, grid, overrides, base, first_seed
        )
        sweep.configs()  # every combination must be a valid protocol
        return sweep

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Sweep:
        """A sweep from a YAML (or JSON) spec file.

        Raises:
            SweepError: naming the file: unreadable, not valid YAML, a bad entry, or a tuning
                spec (:func:`load_spec` reads either).
        """
        spec = load_spec(path)
        if not isinstance(spec, cls):
            raise SweepError(f"{path}: a tuning spec, not a sweep (read it with load_spec)")
        return spec

    def to_dict(self) -> dict:
        """The spec as a document (:meth:`from_dict` reads it back to an equal sweep)."""
        doc = {
            "name": self.name,
            "archs": list(self.archs),
            "tasks": list(self.tasks),
            "seeds": self.seeds,
            "base": self.base.changes(),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "overrides": {a: {k: list(v) for k, v in g.items()} for a, g in self.overrides.items()},
        }
        if self.first_seed:  # a sweep from seed 0 keeps the form sweeps always had
            doc["first_seed"] = self.first_seed
        return doc

    def protocol_doc(self, shared: set[str]) -> dict:
        """The sweep's document without its coverage, and the overrides of ``shared`` alone
        (every protocol of an architecture both train is then the same)."""
        doc = super().protocol_doc(shared)
        doc["overrides"] = {a: g for a, g in doc["overrides"].items() if a in shared}
        return doc

    def settings(self, arch: str) -> list[dict[str, object]]:
        """Every combination of ``arch``'s grid (the sweep's, with its overrides), in order."""
        grid = {**self.grid, **self.overrides.get(arch, {})}
        names = list(grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]

    def configs(self) -> list[tuple[str, TrainConfig]]:
        """``(arch, config)`` for every architecture and setting (validated)."""
        out = []
        for arch in self.archs:
            for setting in self.settings(arch):
                try:
                    out.append((arch, self.base.replace(**setting)))
                except ValueError as err:
                    raise SweepError(f"grid {setting}: {err}") from None
        return out

    def check_budgets(self) -> None:
        """Refuse a sweep in which some (architecture, task, setting) has no matching width.

        Raises:
            SweepError: naming the budget, architecture, task and setting.
        """
        check_job_budgets(
            [(Run(arch, task, 0), config) for arch, config in self.configs() for task in self.tasks]
        )

    def size(self) -> int:
        """Runs in all."""
        return len(self.expand())

    @staticmethod
    def audit_cell(run: Run, config: TrainConfig) -> tuple:
        """The drift gate's cell of a run: its architecture and protocol."""
        return (run.arch, config_key(config))

    def expand(self) -> list[tuple[Run, TrainConfig]]:
        """Every run of the sweep with its protocol: architecture, setting, task, seed."""
        return [
            (Run(arch, task, seed), config)
            for arch, config in self.configs()
            for task in self.tasks
            for seed in self.seed_range
        ]


def run_sweep(
    sweep: Sweep,
    cache: RunCache | None,
    progress: Callable[[int, int, int], None] | None = None,
    backend: Backend | None = None,
    stored: SweepResult | None = None,
    tuned: SweepResult | None = None,
) -> SweepResult:
    """Train every run of ``sweep`` (taking what ``stored`` and the run cache hold), all
    protocols at once. A :class:`richneuron.experiments.tuning.Tuning` trains its trials, then its
    chosen settings; a :class:`richneuron.experiments.tuning.Around` needs ``tuned``, the results of
    its tuning.

    Args:
        sweep: the sweep.
        cache: the run cache (each chunk is stored as soon as it is trained); ``None`` trains
            everything.
        stored: a saved result of this sweep, or of it with other seeds or architectures
            (:meth:`Sweep.same_but_coverage`), e.g. the committed file being extended to more
            seeds or architectures: its runs of this sweep's protocols, architectures and seeds
            are kept as they are.
        progress: ``(done, from_store, total)`` after the store is read and after each chunk;
            ``done`` counts runs from the store too.
        backend: where to train (:class:`richneuron.train.pool.Backend`, e.g. a
            :class:`richneuron.train.cluster.DaskBackend`); ``None``: this machine's worker
            processes.

    Returns:
        A :class:`SweepResult` whose sets follow the sweep's protocols in order.

    Raises:
        SweepError: before training, when a budget cannot be met (:meth:`Sweep.check_budgets`).
    """
    if isinstance(sweep, Tuning):
        return run_tuning(sweep, cache, progress, backend, stored)
    if isinstance(sweep, Around):
        if tuned is None or tuned.sweep.name != sweep.around:
            raise SweepError(f"around: needs the results of tuning {sweep.around!r}")
        jobs = sweep.expand(chosen_settings(tuned), tuned.sweep.base)
        check_job_budgets(jobs)
    else:
        sweep.check_budgets()
        jobs = sweep.expand()
    kept = stored_runs(stored, sweep, "sweep {name}, not this one")
    runner = Runner(kept, cache, len(jobs), progress, backend)
    results = runner.train(jobs)
    sets = protocol_sets(sweep.name, jobs, results)
    return SweepResult(
        sweep, sets, trained=len(jobs) - runner.from_store, from_store=runner.from_store
    )


def sweep_rows(
    sets: Sequence[ResultSet], arch: str, field: str = "omega"
) -> dict[str, dict[float, dict]]:
    """``arch``'s :meth:`ResultSet.summary` rows of a sweep's sets, by task, then by the value
    of the setting ``field`` (e.g. the frequency of each protocol); tasks in registry order."""
    found: dict[str, dict[float, dict]] = {}
    for rs in sets:
        for row in rs.summary():
            if row["arch"] == arch:
                found.setdefault(row["task"], {})[float(rs.config[field])] = row
    return {t: found[t] for t in TASKS if t in found}


def _subsample(curve: Sequence[float], points: int) -> list[float]:
    if len(curve) <= points:
        return list(curve)
    last = len(curve) - 1
    return [curve[round(i * last / (points - 1))] for i in range(points)]


def lean_result(r: RunResult, points: int = LEAN_POINTS) -> RunResult:
    """``r`` as a sweep file keeps it: every final value (test metric, train loss, divergence,
    widths, parameters, wall time, extras), the loss and test curves and the diagnostics (the
    internals: alpha, omega, phase, ...) cut to ``points`` evenly spaced entries (first and last
    kept, so a claim on a diagnostic's start and end can be checked on a sweep), and no gradient
    norms (the run cache keeps the full result)."""
    return dataclasses.replace(
        r,
        loss_curve=_subsample(r.loss_curve, points),
        test_curve=_subsample(r.test_curve, points),
        grad_norms={},
        diagnostics={k: _subsample(v, points) for k, v in r.diagnostics.items()},
    )


def save_sweep(result: SweepResult, path: str | os.PathLike, lean: bool = True) -> None:
    """Write a sweep's results as one JSON file, atomically.

    ``{"schema": "richneuron.sweep/1", "spec": {...}, "provenance": {...}, "sets": [{"config":
    {...}, "runs": [...]}, ...]}``; runs as in a results file, lean by default
    (:func:`lean_result`; ``lean=False`` keeps every curve, gradient norm and internal).
    """
    shown = lean_result if lean else (lambda r: r)
    doc = {
        "schema": SWEEP_SCHEMA,
        "spec": result.sweep.to_dict(),
        "provenance": to_jsonable(result.sets[0].provenance if result.sets else provenance()),
        "sets": [
            {
                "config": to_jsonable(rs.config),
                "runs": [result_to_dict(shown(r)) for r in sorted(rs.runs, key=run_key)],
            }
            for rs in result.sets
        ],
    }
    write_json_atomic(Path(path), doc)


def check_sweep_output(path: str | os.PathLike, sweep: Sweep) -> None:
    """Refuse, before training, an output path that cannot be written or holds another sweep.

    Raises:
        SweepError: naming the path.
    """
    path = Path(path)
    try:
        check_output_path(path)
    except ValueError as err:
        raise SweepError(str(err)) from None
    if not path.exists():
        return
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SweepError(f"{path}: exists and is not a sweep results file") from None
    if not isinstance(doc, dict) or doc.get("schema") != SWEEP_SCHEMA:
        raise SweepError(f"{path}: exists and is not a sweep results file")
    if doc.get("spec") != sweep.to_dict() and not _grows(doc.get("spec"), sweep):
        raise SweepError(
            f"{path}: holds the results of another sweep ({doc.get('spec', {}).get('name')!r}); "
            "give another --out"
        )


def _grows(spec: object, sweep: Sweep) -> bool:
    """Whether a stored sweep spec is ``sweep`` with other seeds or architectures."""
    try:
        return spec_from_dict(spec).same_but_coverage(sweep)
    except SweepError:
        return False


def load_sweep(path: str | os.PathLike) -> SweepResult:
    """Read a sweep results file back (validated like a results file).

    Raises:
        ResultsError: naming the file and the field it rejects.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ResultsError(f"{path}: not JSON ({err})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SWEEP_SCHEMA:
        raise ResultsError(f"{path}: schema: expected {SWEEP_SCHEMA!r}")
    try:
        sweep = spec_from_dict(doc.get("spec"))
    except SweepError as err:
        raise ResultsError(f"{path}: spec: {err}") from None
    sets = []
    for i, s in enumerate(doc.get("sets") or []):
        if not isinstance(s, dict):
            raise ResultsError(f"{path}: sets[{i}]: must be an object")
        set_doc = {
            "schema": SCHEMA,
            "name": sweep.name,
            "config": s.get("config"),
            "provenance": doc.get("provenance", {}),
            "runs": s.get("runs"),
        }
        sets.append(results_from_doc(set_doc, f"{path}: sets[{i}]"))
    return SweepResult(sweep, sets)
