"""Trains the calibration's probes (:mod:`richneuron.analysis.calibration`) and reads them back.

``python -m richneuron calibrate`` runs every target's bisection at once: each round trains the
next probe of every target still open (vanilla at seeds 0-4 under the chapters' protocol),
until every bisection is over. The probes are then an ordinary sweep: its spec is written to
``sweeps/calibration.yaml`` (its tasks are the probes, in the order they were asked for) and its
runs to ``data/sweeps/calibration.json``, which later calls extend (their runs are kept, so a
re-run trains nothing). :func:`read` replays the bisection from that file, refusing a file that
lacks a probe the bisection asks for.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import yaml

from ..analysis.calibration import ARCH, SEEDS, TARGETS, Calibration, bisect
from ..analysis.rules import published_metric
from ..config import TrainConfig
from ..paths import SWEEP_DIR
from ..store.atomic import atomic_file
from ..store.cache import RunCache
from ..store.results import ResultsError
from ..store.schema import Run, RunResult, config_key
from ..train.pool import Backend
from .specs import Runner, SweepResult, protocol_sets
from .study import Sweep, load_sweep

__all__ = ["NAME", "OUT", "SPEC", "calibrations", "read", "run_calibration", "write_spec"]

#: The calibration's name, spec and results file.
NAME = "calibration"
SPEC = Path("sweeps") / f"{NAME}.yaml"
OUT = Path(SWEEP_DIR) / f"{NAME}.json"


def _scores(results: Iterable[RunResult]) -> dict[str, float]:
    """Vanilla's mean test score per task, over the tasks with every seed 0 to SEEDS - 1."""
    by_task: dict[str, dict[int, float]] = {}
    for r in results:
        if r.run.arch == ARCH and r.run.seed < SEEDS:
            by_task.setdefault(r.run.task, {})[r.run.seed] = r.test_metric
    return {t: sum(s.values()) / SEEDS for t, s in by_task.items() if len(s) == SEEDS}


def calibrations(published: Mapping, results: Iterable[RunResult]) -> list[Calibration]:
    """Every target's bisection on ``results`` (vanilla's runs under the chapters' protocol)."""
    scores = _scores(results)
    return [bisect(t, published_metric(published, ARCH, t.task), scores) for t in TARGETS]


def _sweep(tasks: Iterable[str]) -> Sweep:
    return Sweep.from_dict({"name": NAME, "archs": [ARCH], "tasks": list(tasks), "seeds": SEEDS})


def _probes(cals: Iterable[Calibration]) -> list[str]:
    return list(dict.fromkeys(p.task for c in cals for p in c.probes))


def run_calibration(
    published: Mapping,
    cache: RunCache | None,
    stored: SweepResult | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    backend: Backend | None = None,
) -> tuple[SweepResult, list[Calibration]]:
    """Every target's bisection, training each round's probes (``stored``: a calibration file
    read back, whose runs are kept). Returns the probes as a sweep result and the bisections."""
    config = TrainConfig()
    key = config_key(config)
    kept: dict[tuple[Run, str], RunResult] = {}
    if stored is not None:
        for rs in stored.sets:
            if config_key(TrainConfig(**rs.config)) == key:
                kept.update({(r.run, key): r for r in rs.runs})
    trained = 0
    while True:
        cals = calibrations(published, [r for (_, _), r in kept.items()])
        needed = [c.next for c in cals if c.next is not None]
        if not needed:
            break
        jobs = [(Run(ARCH, task, s), config) for task in needed for s in range(SEEDS)]
        runner = Runner(kept, cache, len(jobs), progress, backend)
        results = runner.train(jobs)
        trained += len(jobs) - runner.from_store
        kept.update({(job[0], key): r for job, r in zip(jobs, results, strict=True)})
    sweep = _sweep(_probes(cals))
    jobs = sweep.expand()
    results = [kept[(run, key)] for run, _ in jobs]
    sets = protocol_sets(NAME, jobs, results)
    return SweepResult(sweep, sets, trained, len(jobs) - trained), cals


def read(published: Mapping, path: str | os.PathLike = OUT) -> list[Calibration]:
    """The bisections replayed on the committed probes.

    Raises:
        ResultsError: naming the file: unreadable or corrupt (:func:`load_sweep`), or lacking a
            probe a bisection asks for (``python -m richneuron calibrate`` trains it).
    """
    result = load_sweep(path)
    cals = calibrations(published, (r for rs in result.sets for r in rs.runs))
    open_ = [c.next for c in cals if c.next is not None]
    if open_:
        raise ResultsError(
            f"{path}: lacks the probe {open_[0]} (run python -m richneuron calibrate)"
        )
    return cals


def write_spec(result: SweepResult, path: str | os.PathLike = SPEC) -> None:
    """The probes' spec, written atomically with a header saying where it comes from."""
    header = (
        "# Tasks calibrated to the published baseline (issue 34, Tasks chapter): the probes of\n"
        "# each bisection (richneuron.analysis.calibration), vanilla at the chapters' five seeds.\n"
        "# Written with data/sweeps/calibration.json by `python -m richneuron calibrate`, which\n"
        "# chooses each probe from the scores of the ones before; do not edit by hand.\n"
    )
    body = yaml.safe_dump(result.sweep.to_dict(), sort_keys=False, width=100)
    with atomic_file(path) as f:
        f.write(header + body)
