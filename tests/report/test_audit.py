"""The drift gate's audit plan (:mod:`richneuron.report.audit`): which committed runs one commit
retrains, within a budget of stored training time. Pure: synthetic entries, nothing trains."""

from __future__ import annotations

import hashlib
import math
import random

import pytest

from richneuron.report.audit import (
    CELL_SHARE,
    DEFAULT_BUDGET,
    RUN_OVERHEAD,
    Entry,
    escape,
    inclusion,
    plan,
    retrain_cost,
)

SMALL, BIG = 100, 1000  # training points of a cell's small and big task


def commit(i: int) -> str:
    """The hash of commit ``i`` of a made-up history."""
    return hashlib.sha1(str(i).encode()).hexdigest()


def entries(cells: int = 6, seeds: int = 3, cost=lambda cell, task, seed: 1.0) -> list[Entry]:
    """``cells`` cells (one architecture each), each run on a small and a big task."""
    return [
        Entry(
            source="data/x.json",
            run=(f"a{c}", task, s),
            config={"lr": 1e-3},
            cost=cost(c, task, s),
            cell=("chapters", f"a{c}"),
            points=SMALL if task == "small" else BIG,
        )
        for c in range(cells)
        for task in ("small", "big")
        for s in range(seeds)
    ]


def random_entries(n: int, seed: int) -> list[Entry]:
    """``n`` entries in a dozen cells, costs from 0.1 s to 30 s, tasks of three sizes."""
    rng = random.Random(seed)
    return [
        Entry(
            source=f"data/sweeps/s{rng.randrange(3)}.json",
            run=("arch", i),
            config=None,
            cost=rng.uniform(0.1, 30.0),
            cell=rng.randrange(12),
            points=rng.choice([16, 64, 256]),
        )
        for i in range(n)
    ]


def candidates(es: list[Entry]) -> dict:
    """Each cell's runs on its task of fewest points (positions)."""
    least = {}
    for e in es:
        least[e.cell] = min(least.get(e.cell, e.points), e.points)
    out: dict = {}
    for i, e in enumerate(es):
        if e.points == least[e.cell]:
            out.setdefault(e.cell, set()).add(i)
    return out


def cost(es: list[Entry], chosen) -> float:
    return sum(es[i].cost for i in chosen)


def test_a_runs_cost_is_its_stored_time_and_the_overhead_of_retraining_it_alone():
    assert retrain_cost(1.5) == 1.5 + RUN_OVERHEAD and RUN_OVERHEAD > 0
    assert 0 < CELL_SHARE <= 1 and DEFAULT_BUDGET > 0


def test_a_pure_rotation_checks_each_cell_once_per_window_on_its_smallest_task():
    """Equal costs and a budget of exactly two cells, all of it for the cells: each commit
    retrains one run of each of two cells, on the small task, and three consecutive commits
    cover the six cells."""
    es = entries()
    small = candidates(es)
    for start in (0, 7, 100):
        seen = []
        for i in range(start, start + 3):
            p = plan(es, commit(i), i, budget=2.0, cell_share=1.0)
            assert p.window == 3 and p.group == i % 3 and p.cells == 6
            assert len(p.chosen) == 2 and p.cell_cost == 2.0 and p.random_cost == 0.0
            for k in p.chosen:
                assert es[k].run[1] == "small" and k in small[es[k].cell]
            seen += [es[k].cell for k in p.chosen]
        assert sorted(seen) == sorted(small)  # every cell exactly once in the window


@pytest.mark.parametrize("budget", [5.0, 40.0, 150.0, 600.0])
def test_every_cell_is_checked_in_any_window_of_commits_within_the_budget(budget):
    es = random_entries(200, seed=1)
    small = candidates(es)
    first = plan(es, commit(0), 0, budget=budget)
    window = first.window
    assert 1 <= window and first.budget == budget
    for start in (0, 7, 31):
        checked = set()
        for i in range(start, start + window):
            p = plan(es, commit(i), i, budget=budget)
            assert p.window == window and p.group == i % window
            assert len(set(p.chosen)) == len(p.chosen) and list(p.chosen) == sorted(p.chosen)
            if p.cell_cost <= budget:
                assert cost(es, p.chosen) <= budget + 1e-9
            else:  # cells dearer than the budget (budget=5): checked anyway, and nothing else
                assert p.random_cost == 0.0 and budget < 10
            assert cost(es, p.chosen) == pytest.approx(p.cell_cost + p.random_cost)
            checked |= {es[k].cell for k in p.chosen if k in small[es[k].cell]}
        assert checked == set(small), f"cells not checked in commits {start}..{start + window - 1}"


def test_a_cell_dearer_than_the_cell_share_is_checked_alone_and_may_exceed_the_budget():
    """One cell costs 100 s against a budget of 10 s: the commit of its group retrains that one
    run (its cells are never skipped) and nothing else; every other commit stays within 10 s."""
    es = entries(cells=5, seeds=1, cost=lambda c, task, s: 100.0 if c == 0 else 1.0)
    dear = {k for k, e in enumerate(es) if e.cell == ("chapters", "a0")}
    window = plan(es, commit(0), 0, budget=10.0).window
    over = []
    for i in range(window):
        p = plan(es, commit(i), i, budget=10.0)
        if set(p.chosen) & dear:
            over.append(i)
            assert len(p.chosen) == 1 and es[p.chosen[0]].run == ("a0", "small", 0)
            assert p.cell_cost == 100.0 and p.random_cost == 0.0
        else:
            assert cost(es, p.chosen) <= 10.0
    assert len(over) == 1


def test_the_window_is_at_most_the_number_of_cells():
    es = entries(cells=5, seeds=1, cost=lambda c, task, s: 100.0 if c == 0 else 1.0)
    assert plan(es, commit(0), 0, budget=10.0).window <= 5


def test_the_plan_is_a_function_of_the_commit_and_successive_commits_differ():
    es = random_entries(120, seed=2)
    plans = [plan(es, commit(i), i, budget=100.0) for i in range(20)]
    assert plans == [plan(es, commit(i), i, budget=100.0) for i in range(20)]
    for a, b in zip(plans, plans[1:], strict=False):
        assert a.chosen != b.chosen
    # the same position with another hash draws another share
    assert plan(es, "a" * 40, 3, budget=100.0).chosen != plan(es, "b" * 40, 3, budget=100.0).chosen


def test_an_infinite_budget_retrains_everything():
    es = random_entries(50, seed=3)
    p = plan(es, commit(0), 0, budget=math.inf)
    assert p.chosen == tuple(range(50)) and p.window == 1 and p.random_cost == 0.0
    assert p.cell_cost == pytest.approx(cost(es, range(50)))
    # a finite budget that covers every run chooses every run too
    assert plan(es, commit(1), 1, budget=cost(es, range(50)) * 2).chosen == tuple(range(50))


def test_no_entries_is_an_empty_plan():
    p = plan([], commit(0), 0)
    assert p.chosen == () and p.cells == 0 and p.window == 1


@pytest.mark.parametrize("budget", [0, -1, -math.inf, math.nan, "x", None])
def test_a_bad_budget_names_the_parameter(budget):
    with pytest.raises(ValueError, match=r"^budget: must be a positive number of seconds, got "):
        plan(entries(), commit(0), 0, budget=budget)


@pytest.mark.parametrize("share", [0, -0.5, 1.5, math.nan])
def test_a_bad_cell_share_names_the_parameter(share):
    with pytest.raises(ValueError, match=r"^cell_share: must be in \(0, 1\], got "):
        plan(entries(), commit(0), 0, budget=10.0, cell_share=share)


def test_a_cell_share_that_is_not_a_number_names_the_parameter():
    with pytest.raises(ValueError, match="cell_share"):
        plan(entries(), commit(0), 0, budget=10.0, cell_share="x")


def test_inclusion_is_one_for_everything_when_the_budget_covers_it():
    es = random_entries(40, seed=4)
    assert inclusion(es, budget=cost(es, range(40)) + 1, draws=20) == [1.0] * 40


def test_inclusion_of_a_cell_of_one_candidate_in_a_window_of_one_is_one():
    """Six cells of one small-task run each (cost 1) and 36 dear big-task runs (cost 5): a
    budget of 20 s gives a window of 1, so every commit checks each cell's one candidate; the
    dear runs are drawn from the rest of the budget, never all of them."""
    es = entries(seeds=3, cost=lambda c, task, s: 1.0 if task == "small" else 5.0)
    es = [e for e in es if e.run[1] == "big" or e.run[2] == 0]  # one small run per cell
    assert plan(es, commit(0), 0, budget=20.0).window == 1
    p = inclusion(es, budget=20.0, draws=50)
    assert all(0.0 <= x <= 1.0 for x in p)
    assert [x for x, e in zip(p, es, strict=True) if e.run[1] == "small"] == [1.0] * 6
    big = [x for x, e in zip(p, es, strict=True) if e.run[1] == "big"]
    assert 0.0 < min(big) and max(big) < 1.0
    # mean stored seconds per commit within the budget: 6 s of cells and 14 s of share at most
    assert sum(x * e.cost for x, e in zip(p, es, strict=True)) <= 20.0 + 1e-9
    assert sum(big) == pytest.approx(2.0)  # 14 s left: two dear runs per commit


def test_inclusion_of_a_rotated_cell_is_at_least_its_share_of_the_rotation():
    es = random_entries(150, seed=5)
    small = candidates(es)
    window = plan(es, commit(0), 0, budget=40.0).window
    assert window > 1
    p = inclusion(es, budget=40.0, draws=4 * window)
    assert all(0.0 <= x <= 1.0 for x in p)
    for cell, members in small.items():  # one candidate per commit of its group
        assert sum(p[k] for k in members) >= 1 / window - 1e-9, cell


def test_escape():
    assert escape(0.1, 10) == pytest.approx(0.3487, abs=1e-4)
    assert escape(0.1, 10) == pytest.approx(0.9**10)
    assert escape(0.0, 50) == 1.0 and escape(1.0, 1) == 0.0 and escape(0.3, 0) == 1.0
    assert escape(0.2, 20) < escape(0.2, 10) < escape(0.1, 10)


def test_a_larger_budget_never_gives_a_larger_window():
    for seed in range(5):
        es = random_entries(80, seed=seed)
        windows = [
            plan(es, commit(0), 0, budget=b).window
            for b in (1.0, 3.0, 10.0, 25.0, 60.0, 150.0, 400.0, 1e4, math.inf)
        ]
        assert windows == sorted(windows, reverse=True), windows
        assert windows[-1] == 1 and windows[0] > 1


def test_a_dear_cell_does_not_spread_the_cheap_cells_one_per_group():
    """One cell dearer than the cell share sits alone; the forty cheap cells still share
    groups within the share (before, the window grew to one group per cell)."""
    es = entries(cells=41, seeds=1, cost=lambda c, task, s: 100.0 if c == 0 else 1.0)
    p = plan(es, commit(0), 0, budget=10.0)
    assert p.window == 28  # ceil(140 s / 5 s): the dear cell alone, not one group per cell (41)
