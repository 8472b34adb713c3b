"""Training many runs: groups of runs sharing a compiled step spread over worker processes
(:func:`train_jobs`, :func:`train_runs`), the longest first, each group trained in chunks by
:func:`richneuron.train.trainer.train_chunk`.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import dataclasses
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from ..arithmetic.determinism import is_pinned
from ..config import TrainConfig
from ..neurons import get_arch
from ..store.schema import Job, Run, RunResult, config_key
from .steps import (
    _step_key,
)
from .trainer import _groups, _per_run, _shape_key, ensemble_size, train_chunk

__all__= [
    "WORKERS",
    "Backend",
    "InProcess",
    "LocalWorkers",
    "close_workers",
    "group_cost",
    "train_jobs",
    "train_parts",
    "train_runs",
]


#: Worker processes of :func:`train_runs` (one per core, each one thread): independent chunks
#: train side by side, which beats two threads inside one small chunk's kernels by ~30% here.
#: ``RICHNEURON_WORKERS`` overrides it; 1 trains in the calling process. A run's bits do not
#: depend on this (each chunk trains in one process, with the pinned thread count).
#: Unpinned (``RICHNEURON_UNPINNED=1``), torch's own threads use the cores, so one process.
WORKERS = int(
    os.environ.get("RICHNEURON_WORKERS", min(2, os.cpu_count() or 1) if is_pinned() else 1)
)


#: The worker processes: one single-process executor each, so that the parent chooses which
#: worker trains which shape group (see :func:`train_runs`), kept across calls with what each
#: has compiled (:data:`_COMPILED`).
_POOLS: list[concurrent.futures.ProcessPoolExecutor] = []


_COMPILED: list[set] = []


def _pools(workers: int) -> list[concurrent.futures.ProcessPoolExecutor]:
    """The persistent workers (kept across calls, so that their compiled steps stay warm)."""
    if len(_POOLS) != workers:
        _shutdown_pool()
        context = multiprocessing.get_context("spawn")
        for _ in range(workers):
            _POOLS.append(
                concurrent.futures.ProcessPoolExecutor(
                    1, mp_context=context, initializer=_worker_init
                )
            )
            _COMPILED.append(set())
    return _POOLS


def _worker_init() -> None:
    # An interrupt (Ctrl-C, a kernel shutdown) is the parent's to handle: it stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _shutdown_pool(kill: bool = False) -> None:
    for pool in _POOLS:
        processes = list(getattr(pool, "_processes", {}).values()) if kill else []
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a worker may be mid-chunk: stop it now
            process.terminate()
    _POOLS.clear()
    _COMPILED.clear()


atexit.register(_shutdown_pool)


def close_workers() -> None:
    """Stop the worker processes now (they start again on the next :func:`train_runs`)."""
    _shutdown_pool()


def train_parts(parts: list[list[Job]], compile: bool) -> list[RunResult]:
    """Train chunks of one chunk key, one after the other (the unit of work of a worker)."""
    return [
        res
        for part in parts
        for res in train_chunk([r for r, _ in part], [c for _, c in part], compile)
    ]


def group_cost(parts: list[list[Job]]) -> int:
    """Rough cost of a group for scheduling: members times matrices per neuron times steps."""
    run, config = parts[0][0]
    members = sum(ensemble_size(len(p)) for p in parts)
    return members * get_arch(run.arch).matrices * config.steps


def _group_step_key(parts: list[list[Job]], compile: bool) -> tuple:
    run, config = parts[0][0]
    return _step_key(run.arch, _shape_key(run, config), config, compile)


def _pick(keys: Sequence[tuple], compiled: set, claimed: set) -> int:
    """Which of the pending groups (their step keys, most expensive first) an idle worker
    takes: the first whose step it has compiled; else the first whose step no worker has
    compiled, so that two workers do not both compile one step; else the first."""
    for wanted in (lambda k: k in compiled, lambda k: k not in claimed):
        for i, key in enumerate(keys):
            if wanted(key):
                return i
    return 0


def _schedule(
    groups: list[list[list[int]]],
    jobs: Sequence[Job],
    compile: bool,
    pools: list[concurrent.futures.ProcessPoolExecutor],
    finish: Callable[[list[list[int]], list[RunResult]], None],
) -> None:
    """Train the groups on the workers, the most expensive first.

    A worker that falls idle takes the most expensive group whose step it has compiled before,
    else the most expensive one whose step no worker has, else the most expensive one left
    (:func:`_pick`): compiling costs seconds, so a group goes back to a worker that has its
    step (as the same calls do when a chapter re-runs).
    """
    def as_jobs(parts: list[list[int]]) -> list[list[Job]]:
        return [[jobs[i] for i in part] for part in parts]

    pending = sorted(groups, key=lambda g: group_cost(as_jobs(g)), reverse=True)
    keys = [_group_step_key(as_jobs(g), compile) for g in pending]
    running: dict[concurrent.futures.Future, tuple[int, list[list[int]]]] = {}

    def submit(worker: int) -> None:
        i = _pick(keys, _COMPILED[worker], set().union(*_COMPILED))
        parts, key = pending.pop(i), keys.pop(i)
        _COMPILED[worker].add(key)
        running[pools[worker].submit(train_parts, as_jobs(parts), compile)] = (worker, parts)

    try:
        for worker in range(min(len(pools), len(pending))):
            submit(worker)
        while running:
            done, _ = concurrent.futures.wait(running, return_when="FIRST_COMPLETED")
            for future in done:
                worker, parts = running.pop(future)
                finish(parts, future.result())
                if pending:
                    submit(worker)
    except BaseException:
        for future in running:
            future.cancel()
        _shutdown_pool(kill=True)  # start afresh next time
        raise


#: Called by a backend as each chunk's results arrive: ``finish(parts, results)``, ``parts``
#: the chunk's job indices (a list of parts), ``results`` their results in that order.
Finish = Callable[[list[list[int]], list[RunResult]], None]


@runtime_checkable
class Backend(Protocol):
    """Where :func:`train_jobs` trains: this process (:class:`InProcess`), local worker
    processes (:class:`LocalWorkers`) or a Dask cluster
    (:class:`richneuron.train.cluster.DaskBackend`). A run's bits do not depend on which."""

    def schedule(
        self, groups: list[list[list[int]]], jobs: Sequence[Job], compile: bool, finish: Finish
    ) -> None:
        """Train every chunk of ``groups`` (per group, its chunks; per chunk, indices into
        ``jobs``), calling ``finish`` with each chunk's results."""
        ...


class InProcess:
    """Every chunk in this process, one after the other."""

    def schedule(
        self, groups: list[list[list[int]]], jobs: Sequence[Job], compile: bool, finish: Finish
    ) -> None:
        for parts in groups:
            for part in parts:
                finish([part], train_parts([[jobs[i] for i in part]], compile))


@dataclasses.dataclass(frozen=True)
class LocalWorkers:
    """The groups on ``workers`` persistent local worker processes (see :func:`_schedule`)."""

    workers: int

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers: must be an int >= 1, got {self.workers!r}")

    def schedule(
        self, groups: list[list[list[int]]], jobs: Sequence[Job], compile: bool, finish: Finish
    ) -> None:
        _schedule(groups, jobs, compile, _pools(self.workers), finish)


def train_jobs(
    jobs: Sequence[Job],
    compile: bool = True,
    progress: Callable[[int, int], None] | None = None,
    on_results: Callable[[list[tuple[Job, RunResult]]], None] | None = None,
    workers: int | None = None,
    backend: Backend | None = None,
) -> list[RunResult]:
    """Train every ``(run, config)`` job; results in the order of ``jobs``.

    Jobs that share a chunk key (:func:`richneuron.train.trainer._chunk_key`) are chunked together
    whatever their other settings, so a sweep over ``lr`` or ``omega`` compiles one step per shape.
    With more than one worker (default :data:`WORKERS`), the groups train in worker processes, the
    most expensive first, each preferably where its step is compiled (see :func:`_schedule`);
    otherwise in this process. With a ``backend`` (:class:`Backend`, e.g. a
    :class:`richneuron.train.cluster.DaskBackend`), it trains every chunk instead, and ``workers``
    is not used. ``progress(done,
    total)`` is called after each chunk (each group, on the local workers), and ``on_results([(job,
    result), ...])`` with its results, so a caller can keep them before an interrupt.
    """
    jobs = list(jobs)
    if not jobs:
        raise ValueError("no runs to train")
    keys = [(run, config_key(config)) for run, config in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate runs")
    workers = WORKERS if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    # Aliases (v4_glu is singlu) train once, under the first id asked for.
    same: dict[tuple, list[int]] = {}
    for i, (run, key) in enumerate(keys):
        same.setdefault((get_arch(run.arch).canonical, run.task, run.seed, key), []).append(i)
    firsts = [positions[0] for positions in same.values()]
    copies = {positions[0]: positions[1:] for positions in same.values()}
    results: list[RunResult | None] = [None] * len(jobs)
    done = 0

    def finish(parts: list[list[int]], trained: list[RunResult]) -> None:
        nonlocal done
        kept = []
        for i, res in zip([i for part in parts for i in part], trained, strict=True):
            for j in [i, *copies[i]]:
                results[j] = res if j == i else dataclasses.replace(res, run=jobs[j][0])
                kept.append((jobs[j], results[j]))
        done += len(kept)
        if on_results:
            on_results(kept)
        if progress:
            progress(done, len(jobs))

    unique = [jobs[i] for i in firsts]
    groups = [[[firsts[i] for i in part] for part in parts] for parts in _groups(unique)]
    if backend is None:
        backend = InProcess() if workers == 1 or len(groups) == 1 else LocalWorkers(workers)
    backend.schedule(groups, jobs, compile, finish)
    return results  # type: ignore[return-value]


def train_runs(
    runs: Sequence[Run],
    config: TrainConfig | Sequence[TrainConfig],
    compile: bool = True,
    progress: Callable[[int, int], None] | None = None,
    on_results: Callable[[list[RunResult]], None] | None = None,
    workers: int | None = None,
    backend: Backend | None = None,
) -> list[RunResult]:
    """Train every run under ``config`` (one for all, or one per run); results in the order of
    ``runs``. ``on_results(results)`` is called with each chunk's results; see
    :func:`train_jobs`."""
    jobs = list(zip(runs, _per_run(runs, config)))

    def keep(pairs: list[tuple[Job, RunResult]]) -> None:
        on_results([res for _, res in pairs])  # type: ignore[misc]

    return train_jobs(jobs, compile, progress, keep if on_results else None, workers, backend)
