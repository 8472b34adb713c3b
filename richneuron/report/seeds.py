"""Which seeds an estimate rests on: the chapters train seeds 0-4, the second opinion
(``sweeps/stability.yaml``) every architecture on every task on seeds 5-9 under the same
protocol, and every estimate of the book pools the ten (:func:`pool_second`). The two halves stay
apart as the stability check (:func:`halves`): a verdict is stable when seeds 0-4 and seeds 5-9,
each on its own, give the same one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..config import TrainConfig
from ..experiments.study import load_sweep
from ..paths import sweep_file
from ..store.results import ResultsError, ResultSet

__all__ = [
    "CHAPTER_SEEDS",
    "STABILITY_PATH",
    "chapters_own",
    "halves",
    "load_second",
    "pool_second",
    "pooled",
    "pooled_sweep",
    "seed_span",
    "with_seeds",
]


#: Seeds every version chapter trains itself (seeds 0..4); the second opinion trains as many
#: again (seeds 5..9), and the estimate pools the ten.
CHAPTER_SEEDS = 5


#: The second opinion: every architecture on every task on seeds disjoint from the chapters'.
STABILITY_PATH = sweep_file("stability")


def load_second(path: str | os.PathLike, rs: ResultSet | None = None) -> ResultSet | None:
    """The one result set of a sweep file of disjoint seeds (:data:`STABILITY_PATH`), or None
    when the file does not exist (a fresh fork that has not trained it yet).

    With ``rs``, its protocol must be ``rs``'s and its seeds disjoint from ``rs``'s.

    Raises:
        ResultsError: naming the file: corrupt, more than one protocol, another protocol than
            ``rs``'s, or seeds shared with ``rs``.
    """
    second = _load(path, rs)
    if second is not None and rs is not None:
        shared = {r.run.seed for r in second.runs} & {r.run.seed for r in rs.runs}
        if shared:
            raise ResultsError(
                f"{path}: seeds {sorted(shared)} are also the chapters': not a disjoint set"
            )
    return second


def _load(path: str | os.PathLike, rs: ResultSet | None) -> ResultSet | None:
    path = Path(path)
    if not path.is_file():
        return None
    result = load_sweep(path)
    if len(result.sets) != 1:
        raise ResultsError(f"{path}: expected one protocol, found {len(result.sets)}")
    second = result.sets[0]
    if rs is not None and TrainConfig(**second.config) != TrainConfig(**rs.config):
        raise ResultsError(f"{path}: its protocol differs from the chapters'")
    return second


def pooled(rs: ResultSet, second: ResultSet) -> ResultSet:
    """``rs`` and ``second`` (the same protocol, disjoint seeds) as one result set.

    Raises:
        ValueError: if the two share a run.
    """
    keys = {(r.run.arch, r.run.task, r.run.seed) for r in rs.runs}
    if any((r.run.arch, r.run.task, r.run.seed) in keys for r in second.runs):
        raise ValueError("second: shares runs with rs; pooling needs disjoint seeds")
    return ResultSet(rs.name, rs.config, rs.provenance, [*rs.runs, *second.runs])


def pool_second(
    rs: ResultSet, path: str | os.PathLike | None = STABILITY_PATH, other_protocol: str = "refuse"
) -> ResultSet:
    """``rs`` with the runs of the second opinion ``path`` of its own architectures and tasks:
    the estimate on every seed there is (``rs`` itself where ``path`` is None or absent). A run
    ``rs`` already holds (a chapter re-run on ten seeds) is kept from ``rs``. A second opinion
    made under another protocol than ``rs``'s is refused, or with ``other_protocol="skip"``
    left out (a chapter re-run under other settings has no second opinion).

    Raises:
        ResultsError: naming the file: corrupt, more than one protocol, or (unless skipped)
            another protocol than ``rs``'s (a quick build passes None).
        ValueError: naming ``other_protocol`` if it is neither "refuse" nor "skip".
    """
    if other_protocol not in ("refuse", "skip"):
        raise ValueError(f"other_protocol: must be 'refuse' or 'skip', got {other_protocol!r}")
    second = _load(path, None) if path is not None else None
    if second is not None and TrainConfig(**second.config) != TrainConfig(**rs.config):
        if other_protocol == "skip":
            return rs
        raise ResultsError(f"{path}: its protocol differs from the chapters'")
    if second is None:
        return rs
    pairs = {(r.run.arch, r.run.task) for r in rs.runs}
    keys = {(r.run.arch, r.run.task, r.run.seed) for r in rs.runs}
    extra = [
        r
        for r in second.runs
        if (r.run.arch, r.run.task) in pairs and (r.run.arch, r.run.task, r.run.seed) not in keys
    ]
    return ResultSet(rs.name, rs.config, rs.provenance, [*rs.runs, *extra])


def pooled_sweep(
    path: str | os.PathLike, rs: ResultSet, second: str | os.PathLike | None = STABILITY_PATH
) -> ResultSet:
    """The runs of the one-protocol sweep ``path`` (e.g. the boundedness ablation, seeds 0-4)
    pooled with the second opinion's runs of its architectures and tasks (seeds 5-9), for
    comparison with ``rs``; an empty result set where ``path`` is absent or made under another
    protocol than ``rs``'s (a quick build compares nothing with it).

    Raises:
        ResultsError: naming the file, when it is corrupt or holds several protocols.
    """
    own = _load(path, None)
    if own is None or TrainConfig(**own.config) != TrainConfig(**rs.config):
        return ResultSet(Path(path).stem, rs.config, rs.provenance, [])
    return pool_second(own, second) if second is not None else own


def with_seeds(rs: ResultSet, seeds: Sequence[int]) -> ResultSet:
    """``rs`` restricted to the runs of ``seeds``."""
    keep = set(seeds)
    return ResultSet(rs.name, rs.config, rs.provenance, [r for r in rs.runs if r.run.seed in keep])


def chapters_own(rs: ResultSet) -> ResultSet:
    """``rs`` on the chapters' own seeds 0..:data:`CHAPTER_SEEDS` - 1: what the protocol
    multiverse compares every protocol on (its sweeps train those seeds)."""
    return with_seeds(rs, range(CHAPTER_SEEDS))


def halves(rs: ResultSet) -> tuple[ResultSet, ResultSet] | None:
    """``rs`` split into its lower and upper half of seeds (seeds 0-4 and 5-9 of ten), the
    stability check's two disjoint sets; None with fewer than four seeds (a half needs two for
    an interval)."""
    seeds = sorted({r.run.seed for r in rs.runs})
    if len(seeds) < 4:
        return None
    cut = len(seeds) // 2
    return with_seeds(rs, seeds[:cut]), with_seeds(rs, seeds[cut:])


def seed_span(rs: ResultSet | None) -> str:
    """The seeds of ``rs`` as text: ``"5–9"`` for a run of consecutive seeds, else a list
    (``"none"`` for None or no runs)."""
    seeds = sorted({r.run.seed for r in rs.runs}) if rs is not None else []
    if not seeds:
        return "none"
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))
