"""Which committed runs the drift gate retrains: a plan under a time budget (Method chapter,
"What the drift gate guarantees").

Every committed run, a chapter's (``data/<chapter>.json``) or a sweep's (``data/sweeps/``), is
an :class:`Entry`: its run, its protocol, its stored training time (``wall_time``, seconds on
the host that trained it) with the overhead of retraining it alone (:func:`retrain_cost`), and
its *cell*, the (architecture, setting) it checks (for a chapter,
the architecture under the chapters' protocol; for a sweep, what the sweep's ``audit_cell``
says). :func:`plan` chooses what one commit retrains, within ``budget`` seconds:

1. **A rotation of the cells.** The cells are dealt into ``window`` groups of about equal cost
   (the fewest groups whose dearest costs at most ``cell_share`` of the budget); a commit checks
   the group of its position in the history (``git rev-list --count HEAD``) modulo ``window``,
   one run of each of its cells, drawn among the cell's runs on its task of fewest training
   points. So every cell is retrained at least once in any ``window`` consecutive commits.
2. **A random share.** The rest of the budget goes to runs drawn uniformly from every committed
   run, in an order drawn from the commit's hash (successive commits check different runs),
   each taken if it fits in what is left of the budget.

A run changed on its own (an edited number) is caught by the commit that retrains it: with
probability ``p`` per commit (:func:`inclusion`, estimated over many draws), so it escapes ``k``
commits with probability ``(1 - p) ** k`` (:func:`escape`). A change of arithmetic or code moves
every run of a cell, and is caught within ``window`` commits for certain.

Nothing here reads a file or imports torch: the gate (:mod:`richneuron.report.gate`) gathers the
entries and trains the plan.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = [
    "CELL_SHARE",
    "DEFAULT_BUDGET",
    "RUN_OVERHEAD",
    "AuditPlan",
    "Entry",
    "escape",
    "inclusion",
    "plan",
    "retrain_cost",
]

#: The gate's default budget, in seconds of estimated retraining time (:func:`retrain_cost`).
#: Sized so that ``make test`` stays under 40 minutes on the slowest host seen (CI's, about 1.5
#: times this machine kind's fastest): the audit then takes about a fifth of it.
DEFAULT_BUDGET = 450.0
#: Seconds a sampled run costs beyond its stored training time: sampled runs seldom share a
#: chunk, so each pays its chunk's compile (from Inductor's on-disk cache), data and set-up.
#: Measured on a fresh clone (AMD EPYC, 2 cores): 166 runs of 400 s stored time retrained in
#: 823 s, about 2.5 s a run more.
RUN_OVERHEAD = 2.5
#: Share of the budget the rotation of cells may take; the rest is the random share.
CELL_SHARE = 0.5


@dataclass(frozen=True)
class Entry:
    """One committed run as the audit sees it.

    ``run`` and ``config`` are a :class:`richneuron.store.schema.Run` and its
    :class:`richneuron.config.TrainConfig`; ``cost`` the seconds retraining it takes
    (:func:`retrain_cost` of its stored training time);
    ``cell`` what it checks (hashable); ``points`` its task's training points; ``source`` the
    results file that holds it.
    """

    source: str
    run: Hashable
    config: object
    cost: float
    cell: Hashable
    points: int


@dataclass(frozen=True)
class AuditPlan:
    """What one commit retrains: positions in the entries, in order."""

    chosen: tuple[int, ...]
    window: int  # consecutive commits within which every cell is retrained
    group: int  # this commit's group of cells (0 .. window - 1)
    cells: int  # cells in all
    cell_cost: float  # estimated seconds of this commit's cell runs
    random_cost: float  # estimated seconds of its random share
    budget: float


def retrain_cost(wall_time: float) -> float:
    """Estimated seconds to retrain a run in the gate's audit: its stored training time
    (``wall_time``, its share of its chunk) and :data:`RUN_OVERHEAD`."""
    return float(wall_time) + RUN_OVERHEAD


def _rng(text: str) -> random.Random:
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest(), 16))


def _cost(entry: Entry) -> float:
    return max(float(entry.cost), 1e-3) if math.isfinite(entry.cost) else 1.0


def _cells(entries: Sequence[Entry]) -> dict[Hashable, list[int]]:
    """Each cell's candidate runs: its runs on its task of fewest training points."""
    cells: dict[Hashable, list[int]] = {}
    for i, e in enumerate(entries):
        cells.setdefault(e.cell, []).append(i)
    out = {}
    for cell, members in cells.items():
        least = min(entries[i].points for i in members)
        out[cell] = [i for i in members if entries[i].points == least]
    return out


def _groups(entries: Sequence[Entry], cells: dict, limit: float) -> list[list[Hashable]]:
    """The cells dealt into the fewest groups whose dearest costs at most ``limit`` (a cell's
    cost: the mean cost of its candidates), dearest cells first, each to the cheapest group; a
    cell dearer than ``limit`` alone makes a group of its own."""
    cost = {c: sum(_cost(entries[i]) for i in m) / len(m) for c, m in cells.items()}
    order = sorted(cells, key=lambda c: (-cost[c], repr(c)))
    total = sum(cost.values())
    window = min(len(order), max(1, math.ceil(total / limit)))
    while True:
        groups: list[list[Hashable]] = [[] for _ in range(window)]
        sums = [0.0] * window
        for c in order:
            g = min(range(window), key=lambda k: (sums[k], k))
            groups[g].append(c)
            sums[g] += cost[c]
        if all(s <= limit or len(g) == 1 for g, s in zip(groups, sums)) or window >= len(order):
            return groups
        window += 1


def plan(
    entries: Sequence[Entry],
    draw: str,
    index: int,
    budget: float = DEFAULT_BUDGET,
    cell_share: float = CELL_SHARE,
) -> AuditPlan:
    """The runs one commit retrains (see the module docstring).

    Args:
        entries: every committed run, each once.
        draw: the commit's hash (seeds the random choices).
        index: the commit's position in the history (chooses the group of cells).
        budget: seconds of stored training time to spend (``math.inf``: every run).
        cell_share: share of the budget the rotation of cells may take.

    Raises:
        ValueError: naming the parameter, for a budget that is not a positive number or a share
            outside (0, 1].
    """
    def is_number(x: object) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and not math.isnan(x)

    if not (is_number(budget) and budget > 0):
        raise ValueError(f"budget: must be a positive number of seconds, got {budget!r}")
    if not (is_number(cell_share) and 0 < cell_share <= 1):
        raise ValueError(f"cell_share: must be in (0, 1], got {cell_share!r}")
    if not entries:
        return AuditPlan((), 1, 0, 0, 0.0, 0.0, budget)
    cells = _cells(entries)
    if math.isinf(budget):
        everything = tuple(range(len(entries)))
        cost = sum(_cost(e) for e in entries)
        return AuditPlan(everything, 1, 0, len(cells), cost, 0.0, budget)
    groups = _groups(entries, cells, cell_share * budget)
    window = len(groups)
    group = index % window
    rng = _rng(f"{draw}:cells")
    chosen = {rng.choice(cells[c]) for c in sorted(groups[group], key=repr)}
    cell_cost = sum(_cost(entries[i]) for i in chosen)
    left = budget - cell_cost
    random_cost = 0.0
    order = list(range(len(entries)))
    _rng(f"{draw}:share").shuffle(order)
    cheapest = min(_cost(e) for e in entries)
    for i in order:
        if left < cheapest:
            break
        if i in chosen or _cost(entries[i]) > left:
            continue
        chosen.add(i)
        left -= _cost(entries[i])
        random_cost += _cost(entries[i])
    return AuditPlan(
        tuple(sorted(chosen)), window, group, len(cells), cell_cost, random_cost, budget
    )


def inclusion(
    entries: Sequence[Entry],
    budget: float = DEFAULT_BUDGET,
    cell_share: float = CELL_SHARE,
    draws: int = 100,
) -> list[float]:
    """Each entry's chance to be retrained by one commit, estimated over ``draws`` commits
    (hashes ``"0"``, ``"1"``, ... at successive positions)."""
    hits = [0] * len(entries)
    for d in range(draws):
        for i in plan(entries, str(d), d, budget, cell_share).chosen:
            hits[i] += 1
    return [h / draws for h in hits]


def escape(p: float, k: int) -> float:
    """The chance that a run retrained with probability ``p`` per commit is not retrained by
    any of ``k`` commits: ``(1 - p) ** k``."""
    return (1.0 - p) ** k
