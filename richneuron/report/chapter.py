"""Running a chapter: validate its parameters, take the runs data/<chapter>.json already holds,
then the run cache, train the rest, save (:func:`run_chapter`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from ..architectures import parse_archs
from ..config import TrainConfig
from ..experiments.study import run_study
from ..neurons.matching import BudgetError, match_width
from ..paths import CACHE_DIR, CACHE_ENV, NO_TRAIN_ENV, RETRAIN_ENV
from ..store.cache import RunCache
from ..store.results import ResultSet, check_output_path, load_results, save_results
from ..store.schema import Run
from ..tasks import parse_tasks
from .book import BASELINES, config_of
from .seeds import CHAPTER_SEEDS, STABILITY_PATH, pool_second

__all__ = [
    "DEFAULT_SEEDS",
    "QUICK_DIR",
    "QUICK_LOG_EVERY",
    "QUICK_SEEDS",
    "QUICK_STEPS",
    "QUICK_TASKS",
    "chapter_archs",
    "chapter_runs",
    "run_chapter",
]


#: Seeds every version chapter trains by default (seeds 0..4): with fewer, the 95% intervals of
#: the book's comparisons are too wide to call most differences (see the Synthesis, "How many
#: seeds"); the verdicts' second opinion trains as many again (seeds 5..9,
#: ``sweeps/stability.yaml``), and every estimate pools the ten (:mod:`.seeds`).
DEFAULT_SEEDS = CHAPTER_SEEDS


#: Quick mode, a smoke test of the whole pipeline: few steps, one seed, the chapter's first two
#: tasks (chapters list the tasks their prose names first). Its results go to QUICK_DIR.
QUICK_STEPS, QUICK_LOG_EVERY, QUICK_SEEDS, QUICK_TASKS = 30, 10, 1, 2


QUICK_DIR = Path("_build") / "quick"


def chapter_archs(arch: str | Sequence[str]) -> tuple[str, ...]:
    """The architectures a chapter trains: ``arch`` (one id or several), then the baselines.

    Raises:
        ValueError: naming the parameter ``arch``, on an unknown, empty or repeated id.
    """
    try:
        archs = parse_archs([arch] if isinstance(arch, str) else list(arch))
    except (TypeError, ValueError) as err:
        raise ValueError(f"arch: {err}") from None
    return (*archs, *(b for b in BASELINES if b not in archs))


def chapter_runs(arch: str | Sequence[str], tasks: str | Sequence[str], seeds: int) -> list[Run]:
    """Every run of a version chapter: ``arch`` and the baselines, on ``tasks``, seeds ``0..n-1``.

    Args:
        arch: the chapter's architecture id, or several (e.g. the three v4 fixes).
        tasks: task ids, or a selection such as ``"all"`` (see :func:`parse_tasks`).
        seeds: number of seeds.

    Returns:
        Runs ordered by architecture (``arch``, then ``vanilla``, ``singlu``), task, seed.
    """
    return [
        Run(a, t, s) for a in chapter_archs(arch) for t in parse_tasks(tasks) for s in range(seeds)
    ]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")
    return value


def _validate(
    name: str,
    arch: str | Sequence[str],
    tasks: object,
    seeds: int,
    steps: int,
    budget: int,
    out: object,
    quick: object,
    lr: object = None,
) -> tuple[tuple[str, ...], TrainConfig]:
    """Check every parameter of :func:`run_chapter` (each error names its parameter)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name: must be a non-empty string, got {name!r}")
    archs = chapter_archs(arch)
    try:
        tasks = parse_tasks(tasks)
    except (TypeError, ValueError) as err:
        raise ValueError(f"tasks: {err}") from None
    _positive_int("seeds", seeds)
    _positive_int("steps", steps)
    _positive_int("budget", budget)
    if not isinstance(out, str | os.PathLike) or Path(out).suffix != ".json":
        raise ValueError(f"out: must be a path ending in .json, got {out!r}")
    try:
        check_output_path(out)
    except ValueError as err:
        raise ValueError(f"out: {err}") from None
    if not isinstance(quick, bool):
        raise ValueError(f"quick: must be True or False, got {quick!r}")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < math.inf
    ):
        raise ValueError(f"lr: must be a positive finite number, got {lr!r}")
    config = TrainConfig(steps=steps, budget=budget)
    if lr is not None:
        config = config.replace(lr=float(lr))
    for a in archs:
        for t in tasks:
            try:
                match_width(a, t, config.budget_for(t), config)
            except BudgetError as err:
                raise ValueError(f"budget: {err}") from None
    return tasks, config


def run_chapter(
    name: str,
    arch: str | Sequence[str],
    tasks: str | Sequence[str],
    seeds: int,
    steps: int,
    budget: int,
    out: str | os.PathLike,
    quick: bool = False,
    cache_dir: str | os.PathLike | None = None,
    lr: float | None = None,
    second: str | os.PathLike | None = STABILITY_PATH,
) -> ResultSet:
    """Produce a version chapter's runs and save them: the runs of its results file ``out``
    made under the same protocol are kept, the rest come from the run cache or are trained.
    With ``RICHNEURON_RETRAIN=1`` the results file is not read. What it returns pools them
    with the second opinion's runs of the same architectures and tasks (seeds 5-9,
    :func:`richneuron.report.seeds.pool_second`): every chapter's estimate rests on the ten
    seeds the Synthesis reports; the results file holds the chapter's own.

    Every parameter is checked before anything trains. With ``quick``, the chapter runs as a
    smoke test: at most :data:`QUICK_STEPS` steps logged every :data:`QUICK_LOG_EVERY`, one
    seed, the first :data:`QUICK_TASKS` tasks, and the results go to ``_build/quick/<out name>``
    instead of ``out``.

    Args:
        name: the chapter, e.g. ``"20-v10-free-phase"`` (stored in the results file).
        arch: the chapter's architecture, or a list of them (e.g. the three v4 fixes);
            :data:`BASELINES` are trained beside it.
        tasks: task ids in the order the chapter discusses them, or ``"all"``.
        seeds: seeds ``0..seeds-1``.
        steps: training steps of every run.
        budget: parameters per network; every (architecture, task) must be matchable.
        out: results file, e.g. ``"data/20-v10-free-phase.json"`` (written atomically).
        quick: smoke-test mode (see above).
        cache_dir: the run cache (default: ``$RICHNEURON_CACHE_DIR``, else :data:`CACHE_DIR`);
            ``""`` trains everything afresh.
        lr: learning rate (default: the protocol's, :attr:`TrainConfig.lr`).
        second: the second opinion's sweep file (None: the chapter's seeds alone; left out in
            quick mode and wherever it was made under another protocol).

    Returns:
        The :class:`ResultSet` that was saved, pooled with ``second``'s runs.

    Raises:
        ValueError: naming the parameter: unknown ``arch`` or task, ``seeds``, ``steps`` or
            ``budget`` below 1, a ``budget`` no width can meet, ``out`` not a ``.json`` path,
            ``lr`` not a positive number.
    """
    tasks, config = _validate(name, arch, tasks, seeds, steps, budget, out, quick, lr)
    out = Path(out)
    if quick:
        tasks, seeds = tasks[:QUICK_TASKS], QUICK_SEEDS
        config = config.replace(steps=min(steps, QUICK_STEPS), log_every=QUICK_LOG_EVERY)
        out = QUICK_DIR / out.name
    runs = chapter_runs(arch, tasks, seeds)
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV, CACHE_DIR)
    previous, stored = _stored(out, config)
    if os.environ.get(NO_TRAIN_ENV) == "1":
        _refuse_missing(name, runs, stored, out, previous, config)
    cache = RunCache(cache_dir) if cache_dir else None
    rs = run_study(name, runs, config, cache, stored=stored)
    save_results(rs, out, keep_same=True)
    return pool_second(rs, None if quick else second, other_protocol="skip")


def _stored(out: Path, config: TrainConfig) -> tuple[ResultSet | None, dict]:
    """The chapter's results file (``None`` where there is none, or under
    ``RICHNEURON_RETRAIN=1``) and its runs made under ``config``: the committed results file
    is the store, and its runs of this protocol are kept."""
    if os.environ.get(RETRAIN_ENV) == "1" or not out.is_file():
        return None, {}
    previous = load_results(out)  # a corrupt file stops here, naming it: never overwritten
    return previous, ({r.run: r for r in previous.runs} if config_of(previous) == config else {})


def _refuse_missing(
    name: str,
    runs: Sequence[Run],
    stored: dict,
    out: Path,
    previous: ResultSet | None,
    config: TrainConfig,
) -> None:
    """Under :data:`NO_TRAIN_ENV`: one line naming the chapter, the first run its results file
    does not hold and why (no file, another protocol, the run absent), if any."""
    missing = [r for r in runs if r not in stored]
    if not missing:
        return
    first = missing[0]
    if previous is None:
        why = f"{out} does not exist"
    elif config_of(previous) != config:
        old, new = config_of(previous).to_dict(), config.to_dict()
        changed = ", ".join(f"{k} {old[k]!r} -> {new[k]!r}" for k in new if old.get(k) != new[k])
        why = f"the chapter's protocol differs from the one in {out} ({changed})"
    else:
        why = f"{out} does not hold it"
    raise ValueError(
        f"chapter {name}: {len(missing)} of {len(runs)} runs are not in the store, first "
        f"{first.arch} on {first.task}, seed {first.seed} ({why}); the drift gate trains "
        "nothing: run `make book` and commit data/"
    )
