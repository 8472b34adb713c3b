"""The panel at matched FLOPs (:mod:`richneuron.analysis.matched`) and the budget protocols it
reads (:func:`richneuron.analysis.scaling.at_budget`), on synthetic scaling sweeps."""

import dataclasses
import math

import pytest
from conftest import make_result

from richneuron.analysis import matched
from richneuron.analysis.matched import (
    ANCHOR,
    MATCHED,
    cost_rows,
    matched_flops,
    pareto,
    pareto_table,
    run_flops,
)
from richneuron.analysis.multiverse import Protocol
from richneuron.analysis.scaling import at_budget, by_budget
from richneuron.config import TrainConfig
from richneuron.neurons.matching import match_width
from richneuron.store.results import ResultSet

BUDGETS = (1000, 5000, 10000)
ARCHS = ("vanilla", "singlu")
TASKS = ("nested_2d", "checkerboard")  # an MSE task and an accuracy task
SEEDS = (0, 1, 2)


def score(arch, task, budget, seed):
    """A made-up test score: better with the budget, SinGLU better than vanilla."""
    if task == "checkerboard":
        return 0.61 + 0.1 * budget / 10000 + 0.01 * seed + (0.03 if arch == "singlu" else 0.0)
    return 100 / budget * (1 + 0.1 * seed) * (0.7 if arch == "singlu" else 1.0)


def protocol(budget, archs=ARCHS, diverged=()):
    """The budget protocol at ``budget`` (the chapters' at 5,000): every arch of ``archs`` on
    both tasks, at its matched widths; runs ``(arch, task, seed)`` in ``diverged`` diverged."""
    runs = []
    for arch in archs:
        for task in TASKS:
            widths, params = match_width(arch, task, budget)
            metric = "accuracy" if task == "checkerboard" else "mse"
            for seed in SEEDS:
                bad = (arch, task, seed) in diverged
                runs.append(make_result(
                    arch, task, seed, metric=metric, widths=list(widths), params=params,
                    test_metric=math.nan if bad else score(arch, task, budget, seed),
                    diverged=bad,
                ))
    factor, value = ("default", None) if budget == 5000 else ("budget", budget)
    rs = ResultSet(f"budget {budget}", TrainConfig(budget=budget).to_dict(), {"git": "x"}, runs)
    return Protocol(factor, value, rs)


@pytest.fixture(scope="module")
def protocols():
    """The three budget protocols, largest first (the functions sort them), and a tuned one."""
    tuned = protocol(5000)
    tuned = Protocol("tuned", None, tuned.results)
    return [protocol(10000), tuned, protocol(5000), protocol(1000)]


def flops_of(protocols, arch, task, budget):
    """run_flops of ``arch`` on ``task`` in the budget protocol at ``budget``."""
    p = at_budget(protocols, budget)
    return run_flops(p.results.get(arch, task, 0), p.config)


def test_by_budget_and_at_budget(protocols):
    """by_budget keeps default and budget protocols by budget; at_budget finds one by budget."""
    assert [p.config.budget for p in by_budget(protocols)] == [1000, 5000, 10000]
    assert at_budget(protocols, 5000).factor == "default"
    assert at_budget(protocols, 10000).value == 10000


def test_at_budget_raises_on_a_missing_budget(protocols):
    """A budget no protocol has is a ValueError naming it and the budgets there are."""
    with pytest.raises(ValueError, match="budget: no protocol at 2,000; budgets: 1,000, 5,000, "):
        at_budget(protocols, 2000)


def test_run_flops_rise_with_budget(protocols):
    """The synthetic sweep's FLOPs rise with the budget, SinGLU's above vanilla's at each."""
    for task in TASKS:
        for arch in ARCHS:
            f = [flops_of(protocols, arch, task, b) for b in BUDGETS]
            assert f == sorted(f) and len(set(f)) == 3, (arch, task)
        for b in BUDGETS:
            assert flops_of(protocols, "singlu", task, b) > flops_of(protocols, "vanilla", task, b)
    target = flops_of(protocols, "vanilla", "nested_2d", 5000)
    assert flops_of(protocols, "singlu", "nested_2d", 1000) < target
    assert target < flops_of(protocols, "singlu", "nested_2d", 5000)


def test_run_flops_is_the_closed_form_total():
    """run_flops is flops(...).total of the run's task dims, widths, rank and grid."""
    from richneuron.analysis.flops import flops

    r = make_result("v4_lowrank", "digits", 0, widths=[6, 5])
    config = TrainConfig(rank=3, kan_grid=4)
    assert run_flops(r, config) == flops("v4_lowrank", 64, 10, (6, 5), 3, 4).total
    assert run_flops(r, config) != run_flops(r, TrainConfig())


def test_cost_rows(protocols):
    """One row per (arch, task, budget): the book's summary row (an MSE's geometric mean over
    seeds) with its budget and FLOPs."""
    rows = cost_rows(protocols)
    assert len(rows) == len(ARCHS) * len(TASKS) * len(BUDGETS)
    row = next(r for r in rows if (r["arch"], r["task"], r["budget"]) == ("singlu", "nested_2d",
                                                                          1000))
    _, params = match_width("singlu", "nested_2d", 1000)
    values = [score("singlu", "nested_2d", 1000, s) for s in SEEDS]
    assert (row["params"], row["metric"]) == (params, "mse")
    assert row["flops"] == flops_of(protocols, "singlu", "nested_2d", 1000)
    assert row["mean"] == pytest.approx(math.prod(values) ** (1 / len(values)))


def test_cost_rows_leave_a_diverged_seed_out():
    """A diverged seed is left out of the mean, as in every summary of the book."""
    ps = [protocol(1000, diverged={("vanilla", "nested_2d", 1)})]
    rows = {(r["arch"], r["task"]): r for r in cost_rows(ps)}
    assert rows["vanilla", "nested_2d"]["n_diverged"] == 1
    assert rows["vanilla", "checkerboard"]["mean"] == pytest.approx(0.63)


def test_matched_flops_protocol(protocols):
    """The matched protocol is named, has no value, and keeps the chapters' config."""
    p = matched_flops(protocols)
    assert (p.factor, p.value, p.name, p.results.name) == (MATCHED, None, MATCHED, MATCHED)
    assert p.results.config == at_budget(protocols, 5000).results.config
    assert ANCHOR == "vanilla"
    assert sorted({(r.run.arch, r.run.task) for r in p.results.runs}) == sorted(
        (a, t) for a in ARCHS for t in TASKS
    )
    assert len(p.results.runs) == len(ARCHS) * len(TASKS) * len(SEEDS)


def test_anchor_keeps_its_own_scores(protocols):
    """The anchor at its own FLOPs keeps its own 5,000-budget runs as they are."""
    own = at_budget(protocols, 5000).results
    p = matched_flops(protocols)
    for task in TASKS:
        for seed in SEEDS:
            r = p.results.get(ANCHOR, task, seed)
            expected = own.get(ANCHOR, task, seed).test_metric
            assert r == own.get(ANCHOR, task, seed)
            assert r.test_metric == expected


def test_anchor_keeps_its_own_mse_scores_exactly(protocols):
    """The anchor's matched MSE is bit for bit its own 5,000-parameter MSE."""
    own = at_budget(protocols, 5000).results
    p = matched_flops(protocols)
    got = [p.results.get(ANCHOR, "nested_2d", s).test_metric for s in SEEDS]
    assert got == [own.get(ANCHOR, "nested_2d", s).test_metric for s in SEEDS]


def test_anchor_unaffected_by_its_diverged_smaller_run():
    """A diverged anchor run at 1,000 leaves the anchor's score at its own 5,000 FLOPs."""
    ps = [protocol(1000, diverged={("vanilla", "checkerboard", 0)}), protocol(5000),
          protocol(10000)]
    r = matched_flops(ps).results.get(ANCHOR, "checkerboard", 0)
    assert (r.diverged, r.test_metric) == (False, score("vanilla", "checkerboard", 5000, 0))


def test_other_arch_interpolated_log_linearly_for_mse(protocols):
    """SinGLU's MSE is geometric between 1,000 and 5,000, at t in log FLOPs; so are params."""
    target = flops_of(protocols, "vanilla", "nested_2d", 5000)
    f1 = flops_of(protocols, "singlu", "nested_2d", 1000)
    f2 = flops_of(protocols, "singlu", "nested_2d", 5000)
    t = (math.log(target) - math.log(f1)) / (math.log(f2) - math.log(f1))
    assert 0 < t < 1
    p = matched_flops(protocols)
    for seed in SEEDS:
        lo = score("singlu", "nested_2d", 1000, seed)
        hi = score("singlu", "nested_2d", 5000, seed)
        r = p.results.get("singlu", "nested_2d", seed)
        assert r.test_metric == pytest.approx(lo ** (1 - t) * hi ** t, rel=1e-12)
        assert r.test_metric < lo + t * (hi - lo)  # geometric, below the linear mean
        assert r.params == round(1000 * 5 ** t)
        assert r.widths == list(match_width("singlu", "nested_2d", 1000)[0])  # the lower run's


def test_other_arch_interpolated_linearly_for_accuracy(protocols):
    """SinGLU's accuracy is linear between 1,000 and 5,000, at t in log FLOPs."""
    target = flops_of(protocols, "vanilla", "checkerboard", 5000)
    f1 = flops_of(protocols, "singlu", "checkerboard", 1000)
    f2 = flops_of(protocols, "singlu", "checkerboard", 5000)
    t = (math.log(target) - math.log(f1)) / (math.log(f2) - math.log(f1))
    p = matched_flops(protocols)
    for seed in SEEDS:
        lo = score("singlu", "checkerboard", 1000, seed)
        hi = score("singlu", "checkerboard", 5000, seed)
        r = p.results.get("singlu", "checkerboard", seed)
        assert r.test_metric == pytest.approx(lo + t * (hi - lo), rel=1e-12)
        assert not r.diverged


def test_interpolation_marks_a_diverged_end_diverged():
    """Either bracketing run diverged: the interpolated run is diverged, its score NaN."""
    ps = [protocol(1000, diverged={("singlu", "checkerboard", 2)}), protocol(5000),
          protocol(10000)]
    runs = matched_flops(ps).results
    r = runs.get("singlu", "checkerboard", 2)
    assert r.diverged and math.isnan(r.test_metric)
    assert not runs.get("singlu", "checkerboard", 1).diverged


def test_mse_interpolation_falls_back_to_linear_at_zero():
    """An MSE of 0 has no log: it is interpolated linearly; accuracy always is."""
    assert matched._interpolate(0.0, 0.4, 0.25, "mse") == 0.1
    assert matched._interpolate(0.01, 1.0, 0.5, "mse") == pytest.approx(0.1, rel=1e-15)
    assert matched._interpolate(0.5, 0.7, 0.5, "accuracy") == pytest.approx(0.6, rel=1e-15)


def test_arch_above_target_at_every_budget_is_left_out():
    """SinGLU without its 1,000 runs costs more than the anchor at every budget: no runs."""
    ps = [protocol(1000, archs=("vanilla",)), protocol(5000), protocol(10000)]
    assert all(
        flops_of(ps, "singlu", t, b) > flops_of(ps, "vanilla", t, 5000)
        for t in TASKS for b in (5000, 10000)
    )
    runs = matched_flops(ps).results.runs
    assert {r.run.arch for r in runs} == {"vanilla"}
    assert len(runs) == len(TASKS) * len(SEEDS)


def test_matched_flops_only_seeds_at_both_ends():
    """A seed missing at one bracketing budget is left out of the interpolation."""
    low = protocol(1000)
    kept = [r for r in low.results.runs if (r.run.arch, r.run.seed) != ("singlu", 1)]
    low = Protocol(low.factor, low.value, dataclasses.replace(low.results, runs=kept))
    runs = matched_flops([low, protocol(5000), protocol(10000)]).results
    assert [r.run.seed for r in runs.select("singlu", "nested_2d")] == [0, 2]


def test_matched_flops_raises_without_the_budget(protocols):
    """A budget no budget protocol has is a ValueError naming it."""
    with pytest.raises(ValueError, match="budget: no protocol at 2,000 parameters"):
        matched_flops(protocols, budget=2000)
    tuned_only = [p for p in protocols if p.factor == "tuned"]
    with pytest.raises(ValueError, match="budget: no protocol at 5,000 parameters"):
        matched_flops(tuned_only)


def row(task, arch, budget, flops, mean):
    """A cost row made by hand."""
    metric = "accuracy" if task == "checkerboard" else "mse"
    return {"task": task, "arch": arch, "budget": budget, "flops": flops, "mean": mean,
            "metric": metric}


def test_pareto_keeps_exactly_the_non_dominated_points_for_mse():
    """Lower MSE is better: dominated, costlier-but-equal and NaN points drop, by FLOPs."""
    a = row("nested_2d", "vanilla", 1000, 100, 0.5)
    b = row("nested_2d", "singlu", 1000, 200, 0.3)
    c = row("nested_2d", "vanilla", 5000, 300, 0.4)  # dominated by b
    d = row("nested_2d", "singlu", 5000, 400, 0.1)
    e = row("nested_2d", "v10", 5000, 50, math.nan)  # diverged
    g = row("nested_2d", "siren", 5000, 250, 0.3)  # as good as b, costlier
    other = row("checkerboard", "vanilla", 1000, 10, 0.9)
    assert pareto([d, c, other, g, e, b, a], "nested_2d") == [a, b, d]


def test_pareto_keeps_exactly_the_non_dominated_points_for_accuracy():
    """Higher accuracy is better."""
    a = row("checkerboard", "vanilla", 1000, 100, 0.6)
    b = row("checkerboard", "singlu", 1000, 200, 0.55)  # dominated by a
    c = row("checkerboard", "singlu", 5000, 300, 0.7)
    assert pareto([c, b, a], "checkerboard") == [a, c]
    assert pareto([c, b, a], "nested_2d") == []


def test_pareto_drops_the_worse_of_two_points_at_equal_flops():
    """Of two points at equal FLOPs only the better is on the front (v10 and v11 tie)."""
    worse = row("nested_2d", "v10", 5000, 100, 0.5)
    better = row("nested_2d", "v11", 5000, 100, 0.3)
    assert pareto([worse, better], "nested_2d") == [better]


def test_pareto_table():
    """One row per task: its front in FLOPs, cheapest first, and in time where timed."""
    rows = [row("nested_2d", "vanilla", 1000, 5803, 0.5),
            row("nested_2d", "singlu", 10000, 61067, 0.1),
            row("checkerboard", "vanilla", 5000, 29515, 0.7)]
    text = str(pareto_table(rows, ["nested_2d", "checkerboard"]))
    assert "| nested_2d | vanilla 1K; singlu 10K |" in text
    assert "| checkerboard | vanilla 5K |" in text
    assert "in time" not in text
    timed = [{**r, "seconds": 1.0 / r["flops"]} for r in rows]  # dearer in FLOPs, faster
    text = str(pareto_table(timed, ["nested_2d"]))
    assert "| nested_2d | vanilla 1K; singlu 10K | singlu 10K |" in text
