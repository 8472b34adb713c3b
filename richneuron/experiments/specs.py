"""What every experiment spec shares: a sweep (:class:`richneuron.experiments.study.Sweep`), a
tuning and the protocols around it (:class:`richneuron.experiments.tuning.Tuning`,
:class:`richneuron.experiments.tuning.Around`).

The entries every spec kind validates alike (:func:`spec_header`, :func:`int_entry`,
:func:`values`, :func:`check_grid`), the refusal of a budget no width meets
(:func:`check_job_budgets`), the one runner that keeps stored runs and trains the missing ones
(:func:`stored_runs`, :func:`train_missing`, :func:`protocol_sets`), and the result of any spec,
one :class:`ResultSet` per protocol (:class:`SweepResult`). Every bad entry is refused with one
line naming it (:class:`SweepError`), before anything trains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..architectures import parse_archs
from ..config import TrainConfig
from ..neurons.matching import BudgetError, match_width
from ..store.cache import RunCache
from ..store.results import ResultSet, provenance, run_key
from ..store.schema import Run, RunResult, config_key
from ..tasks import parse_tasks
from ..train import pool
from ..train.pool import Backend

__all__ = [
    "GRID_FIELDS",
    "Coverage",
    "Runner",
    "SweepError",
    "SweepResult",
    "check_grid",
    "check_job_budgets",
    "int_entry",
    "protocol_sets",
    "spec_header",
    "stored_runs",
    "train_missing",
    "grid_values",
]

#: TrainConfig fields a grid may vary (every field but the per-task budget table).
GRID_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name != "budgets")


class SweepError(ValueError):
    """A bad sweep spec; the message names the entry (``grid.lr``, ``archs``, ...)."""


def grid_values(where: str, value: object) -> tuple:
    """A grid entry's values: a list (or one scalar), non-empty, without repeats."""
    values = tuple(value) if isinstance(value, list | tuple) else (value,)
    if not values:
        raise SweepError(f"{where}: no values")
    if len(set(values)) != len(values):
        raise SweepError(f"{where}: repeated values {list(values)}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise SweepError(f"{where}: {v!r} is not a number")
    return values


def check_grid(where: str, grid: object, base: TrainConfig) -> dict[str, tuple]:
    if not isinstance(grid, Mapping):
        raise SweepError(f"{where}: must be a mapping of TrainConfig fields to values")
    out = {}
    for name, value in grid.items():
        if name not in GRID_FIELDS:
            raise SweepError(f"{where}.{name}: unknown setting; valid: {', '.join(GRID_FIELDS)}")
        out[name] = grid_values(f"{where}.{name}", value)
        for v in out[name]:
            try:
                base.replace(**{name: v})
            except ValueError as err:
                raise SweepError(f"{where}.{name}={v!r}: {err}") from None
    return out


def spec_header(
    doc: object, kind: str, known: set[str], required: Sequence[str], default_name: str
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The entries every spec kind shares, validated: ``(name, archs, tasks)``, after refusing a
    document that is not a mapping, an unknown entry (not in ``known``) or a missing one (of
    ``required``).

    Raises:
        SweepError: naming the entry.
    """
    if not isinstance(doc, Mapping):
        raise SweepError(f"spec: must be a mapping ({kind})")
    unknown = sorted(set(doc) - known)
    if unknown:
        raise SweepError(f"{unknown[0]}: unknown entry; valid: {', '.join(sorted(known))}")
    for key in required:
        if key not in doc:
            raise SweepError(f"{key}: missing")
    name = doc.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise SweepError(f"name: must be a non-empty string, got {name!r}")
    try:
        archs = parse_archs(doc["archs"])
    except (TypeError, ValueError) as err:
        raise SweepError(f"archs: {err}") from None
    try:
        tasks = parse_tasks(doc.get("tasks", "all"))
    except (TypeError, ValueError) as err:
        raise SweepError(f"tasks: {err}") from None
    return str(name), tuple(archs), tuple(tasks)


def int_entry(doc: Mapping, key: str, least: int, default: int | None = None) -> int:
    """The integer entry ``key`` of a spec (``default`` when absent), at least ``least``.

    Raises:
        SweepError: naming the entry.
    """
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise SweepError(f"{key}: must be an integer >= {least}, got {value!r}")
    return value


def check_job_budgets(jobs: Sequence[tuple[Run, TrainConfig]]) -> None:
    """Refuse, before training, jobs of which one cannot meet its budget.

    Raises:
        SweepError: naming the architecture, task and budget.
    """
    for run, config in jobs:
        try:
            match_width(run.arch, run.task, config.budget_for(run.task), config)
        except BudgetError as err:
            raise SweepError(f"budget: {err}") from None


def train_missing(
    jobs: Sequence[tuple[Run, TrainConfig]],
    cache: RunCache | None,
    progress: Callable[[int, int], None] | None = None,
    on_results: Callable[[list[RunResult]], None] | None = None,
    stored: Mapping[Run, RunResult] | None = None,
    backend: Backend | None = None,
) -> tuple[list[RunResult], int]:
    """Results of ``jobs`` in order, and how many were not trained: those in ``stored`` (results
    of the jobs' own protocol) or in the run cache are read back, the rest trained in one
    :func:`richneuron.train.pool.train_jobs` call (runs of one shape share chunks whatever their
    settings) and cached chunk by chunk, each under its own config."""
    stored = stored or {}
    found = [
        stored.get(run) or (cache.get(run, config) if cache else None) for run, config in jobs
    ]
    misses = [i for i, res in enumerate(found) if res is None]

    def keep(pairs: list[tuple[tuple[Run, TrainConfig], RunResult]]) -> None:
        for (_, config), res in pairs:
            if cache:
                cache.put(res, config)
        if on_results:
            on_results([res for _, res in pairs])

    if misses:
        trained = pool.train_jobs(
            [jobs[i] for i in misses], progress=progress, on_results=keep, backend=backend
        )
        for i, res in zip(misses, trained, strict=True):
            found[i] = res
    return found, len(jobs) - len(misses)  # type: ignore[return-value]


class Runner:
    """The one runner of every spec: keeps the runs a stored result holds (``kept``, by
    :func:`stored_runs`), reads the run cache, trains the rest (:func:`train_missing`), and
    reports ``progress(done, from_store, total)`` over the spec's ``total`` runs, once before
    training and after each chunk (``done`` counts the runs from the store too).
    :meth:`train` may be called more than once (a tuning's trials, then its chosen settings)."""

    def __init__(
        self,
        kept: Mapping[tuple[Run, str], RunResult],
        cache: RunCache | None,
        total: int,
        progress: Callable[[int, int, int], None] | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.kept, self.cache, self.total = kept, cache, total
        self.progress, self.backend = progress, backend
        self.done = 0  # runs done, from the store or trained (for the progress line)
        self.hits = 0  # runs expected from the store (for the progress line)
        self.from_store = 0  # runs read back, from the stored result or the run cache

    def train(self, jobs: Sequence[tuple[Run, TrainConfig]]) -> list[RunResult]:
        """The results of ``jobs`` in order: kept, cached or trained in one call."""
        keys = [config_key(c) for _, c in jobs]
        have = {
            i: self.kept[(run, key)]
            for i, ((run, _), key) in enumerate(zip(jobs, keys))
            if (run, key) in self.kept
        }
        rest = [job for i, job in enumerate(jobs) if i not in have]
        ahead = len(have) + (
            sum(self.cache.path(r, c).is_file() for r, c in rest) if self.cache else 0
        )
        self.done += ahead
        self.hits += ahead
        self._report()

        def counted(results: list[RunResult]) -> None:
            self.done += len(results)
            self._report()

        # Every miss in one training call: runs of one shape share chunks across protocols.
        fresh, cached = train_missing(rest, self.cache, on_results=counted, backend=self.backend)
        self.from_store += len(have) + cached
        it = iter(fresh)
        return [have[i] if i in have else next(it) for i in range(len(jobs))]

    def _report(self) -> None:
        if self.progress:
            self.progress(self.done, self.hits, self.total)


class Coverage:
    """What every spec (:class:`~richneuron.experiments.study.Sweep`,
    :class:`~richneuron.experiments.tuning.Tuning`, :class:`~richneuron.experiments.tuning.Around`)
    shares: its seeds run ``first_seed .. first_seed + seeds - 1``, and its ``archs``, ``seeds``
    and ``first_seed`` only say which runs it covers, so two specs that differ in nothing else
    train the same runs where they overlap (a results file of one can be the other's store)."""

    #: The entries of a spec's document that say which runs it covers, not how they train.
    COVERAGE = ("seeds", "first_seed", "archs")

    @property
    def seed_range(self) -> range:
        """The spec's seeds: ``first_seed .. first_seed + seeds - 1``."""
        return range(self.first_seed, self.first_seed + self.seeds)  # type: ignore[attr-defined]

    def protocol_doc(self, shared: set[str]) -> dict:
        """The spec's document without its coverage, for the architectures ``shared`` with
        another spec (a spec whose entries name architectures keeps only theirs)."""
        doc = self.to_dict()  # type: ignore[attr-defined]
        for name in self.COVERAGE:
            doc.pop(name, None)
        return doc

    def same_but_coverage(self, other: object) -> bool:
        """Whether ``other`` is this spec with other seeds or other architectures."""
        if type(other) is not type(self):
            return False
        shared = set(self.archs) & set(other.archs)  # type: ignore[attr-defined]
        return self.protocol_doc(shared) == other.protocol_doc(shared)  # type: ignore[attr-defined]


@dataclass
class SweepResult:
    """The results of a sweep: one :class:`ResultSet` per distinct protocol."""

    sweep: object  # the spec: a Sweep, a Tuning or an Around
    sets: list[ResultSet]
    trained: int = 0
    from_store: int = 0

    def stored(self) -> list[tuple[RunResult, TrainConfig]]:
        """Every stored result with its protocol, set by set, runs in key order."""
        return [
            (r, TrainConfig(**rs.config)) for rs in self.sets for r in sorted(rs.runs, key=run_key)
        ]

    def jobs(self) -> list[tuple[Run, TrainConfig]]:
        """Every stored run with its protocol, in the order of :meth:`stored`."""
        return [(r.run, config) for r, config in self.stored()]

    def varied(self) -> list[str]:
        """The settings the sweep varies (every grid and override entry), sorted."""
        return sorted({k for a in self.sweep.archs for s in self.sweep.settings(a) for k in s})

    def summary(self) -> list[dict]:
        """One row per (protocol, architecture, task): the varied settings and the summary."""
        rows = []
        for rs in self.sets:
            setting = {k: rs.config[k] for k in self.varied()}
            rows += [{**setting, **row} for row in rs.summary()]
        return rows


def stored_runs(
    stored: SweepResult | None, spec: object, refusal: str
) -> dict[tuple[Run, str], RunResult]:
    """The runs of ``stored`` (a saved result of ``spec``, or of it with other seeds or
    architectures), keyed by run and :func:`richneuron.store.schema.config_key`: they are kept as
    they are.

    Raises:
        SweepError: ``stored`` holds another spec: ``stored: holds`` and ``refusal``, its
            ``{name}`` the stored spec's name.
    """
    kept: dict[tuple[Run, str], RunResult] = {}
    if stored is None:
        return kept
    if not (stored.sweep == spec or stored.sweep.same_but_coverage(spec)):
        raise SweepError("stored: holds " + refusal.format(name=repr(stored.sweep.name)))
    for rs in stored.sets:
        key = config_key(TrainConfig(**rs.config))
        kept.update({(r.run, key): r for r in rs.runs})
    return kept


def protocol_sets(
    name: str, jobs: Sequence[tuple[Run, TrainConfig]], results: Sequence[RunResult]
) -> list[ResultSet]:
    """One :class:`ResultSet` per distinct protocol of ``jobs`` (in order of first use), its
    runs in key order."""
    by_config: dict[str, tuple[TrainConfig, list[RunResult]]] = {}
    for (_, config), res in zip(jobs, results, strict=True):
        by_config.setdefault(config_key(config), (config, []))[1].append(res)
    return [
        ResultSet(name, config.to_dict(), provenance(), sorted(found, key=run_key))
        for config, found in by_config.values()
    ]
