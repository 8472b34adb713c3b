"""Label capacity (:mod:`richneuron.analysis.label_capacity`) on made-up
:func:`richneuron.analysis.capacity.capacity_points` rows, and the error-rate measure of
:func:`richneuron.analysis.capacity.run_bits` (issue 35)."""

from __future__ import annotations

import math
import statistics

import pytest
from conftest import make_result

from richneuron.analysis import capacity as cap
from richneuron.analysis import label_capacity as lc
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet


def _row(arch, bits, *, budget=5000, lr=1e-3, points=64, params=100, seeds=None):
    """A :func:`capacity_points` row of ``arch`` storing ``bits`` (one per seed) on
    ``random_k2_n<points>`` (its interval the seeds' range: these tests never read it)."""
    mean = statistics.fmean(bits)
    return {
        "arch": arch, "budget": budget, "lr": lr, "task": f"random_k2_n{points}",
        "points": points, "params": params,
        "seeds": list(range(len(bits))) if seeds is None else seeds, "bits": list(bits),
        "mean": mean, "low": min(bits), "high": max(bits), "per_param": mean / params,
        "per_value": mean / points,
    }


# --- the learning rate


def _lr_points():
    """``a`` peaks at the middle rate, ``b`` at the largest; two N per rate (the peak counts)."""
    per_rate = {"a": (50, 300, 120), "b": (40, 80, 160)}
    rows = []
    for arch, peaks in per_rate.items():
        for lr, peak in zip((1e-3, 3e-3, 1e-2), peaks):
            rows.append(_row(arch, [peak / 2, peak / 2], lr=lr, points=64))
            rows.append(_row(arch, [peak, peak], lr=lr, points=128))
    return rows


def test_lr_choice_finds_the_best_rate_and_whether_the_grid_brackets_it():
    a, b = lc.lr_choice(_lr_points())
    assert a["arch"] == "a" and b["arch"] == "b"
    assert a["rates"] == [1e-3, 3e-3, 1e-2]
    assert a["per_param"] == pytest.approx([0.5, 3.0, 1.2])  # the peak over N, per parameter
    assert (a["best"], a["interior"]) == (3e-3, True)
    assert (b["best"], b["interior"]) == (1e-2, False)


def test_lr_choice_smallest_rate_is_also_the_edge():
    rows = [_row("c", [v, v], lr=lr) for lr, v in ((1e-3, 90), (3e-3, 60), (1e-2, 30))]
    (c,) = lc.lr_choice(rows)
    assert (c["best"], c["interior"]) == (1e-3, False)


def test_lr_choice_table_bolds_the_best_and_flags_the_edge():
    table = lc.lr_choice_table(lc.lr_choice(_lr_points()))
    lines = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert "lr 0.001" in table and "lr 0.003" in table and "lr 0.01" in table
    assert "**3.00**" in lines["a"] and "**0.50**" not in lines["a"]
    assert lines["a"].rstrip(" |").endswith("yes")
    assert "**1.60**" in lines["b"] and "no: at the grid's edge" in lines["b"]
    assert "no: at the grid's edge" not in lines["a"]


# --- the slope against the budget


def _scaling_points(per_param=2.5):
    rows = []
    noise = {
        2000: (-3.0, 1.0, 4.0, -1.0), 5000: (2.0, -4.0, 0.0, 3.0), 10000: (1.0, 2.0, -5.0, 0.0),
    }
    for budget, params in ((2000, 1900), (5000, 4900), (10000, 9800)):
        bits = [per_param * params + e for e in noise[budget]]
        rows.append(_row("a", bits, budget=budget, params=params))
        # a worse rate at the same budget: scaling takes each budget's best
        rows.append(_row("a", [b / 2 for b in bits], budget=budget, lr=1e-2, params=params))
    return rows


def test_slope_recovers_the_planted_bits_per_parameter():
    fit = lc.slope(_scaling_points(2.5), "a")
    assert fit["budgets"] == [2000, 5000, 10000]
    assert len(fit["bits"]) == 12
    assert fit["slope"] == pytest.approx(2.5, abs=0.01)
    assert fit["low"] < fit["slope"] < fit["high"]
    assert fit["low"] < 2.5 < fit["high"]
    assert fit["high"] - fit["low"] < 0.01  # small noise: a tight interval
    assert fit["rvalue"] > 0.999
    assert "2.50 [" in lc.slopes_table({"a": fit})


def test_slope_with_two_values_has_no_interval():
    rows = [
        _row("a", [200.0], budget=2000, params=100),
        _row("a", [500.0], budget=5000, params=200),
    ]
    fit = lc.slope(rows, "a")
    assert fit["slope"] == pytest.approx(3.0)
    assert (fit["low"], fit["high"]) == (-math.inf, math.inf)


def test_slope_needs_two_budgets():
    rows = [r for r in _scaling_points() if r["budget"] == 5000]
    with pytest.raises(ValueError, match="two budgets"):
        lc.slope(rows, "a")


# --- doubling the steps


def _steps(a_before, a_after, b_before, b_after):
    """Short and long rows of ``A`` and ``B`` (100 parameters, two seeds) at the given bits per
    parameter."""
    short = [_row("A", [a_before * 100] * 2), _row("B", [b_before * 100] * 2)]
    long = [_row("A", [a_after * 100] * 2), _row("B", [b_after * 100] * 2)]
    return short, long


def test_convergence_reports_the_largest_change_and_who_moved():
    check = lc.convergence(*_steps(1.0, 1.02, 2.0, 2.2))
    assert [r["arch"] for r in check["rows"]] == ["A", "B"]
    assert [r["change"] for r in check["rows"]] == pytest.approx([0.02, 0.10])
    assert check["largest"] == pytest.approx(0.10)
    assert check["converged"] is False
    assert check["moved"] == ["B"]
    assert check["flips"] == []
    table = lc.convergence_table(check)
    assert "within 5%" in table
    lines = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert "+2.0%" in lines["A"] and lines["A"].rstrip(" |").endswith("yes")
    assert "+10.0%" in lines["B"] and lines["B"].rstrip(" |").endswith("no")


def test_convergence_within_five_percent_is_converged():
    check = lc.convergence(*_steps(1.0, 1.03, 2.0, 1.92))
    assert check["largest"] == pytest.approx(0.04)
    assert check["converged"] is True and check["moved"] == []


def test_a_ranking_that_flips_beyond_noise_is_reported():
    short, long = _steps(1.0, 1.0, 0.9, 1.1)  # A ahead with the sweep's steps, behind after
    main = [_row("A", [150, 152, 151, 149, 150]), _row("B", [100, 101, 99, 100, 102])]
    assert cap.lead(main[0], main[1]).low > 1  # A's lead is beyond noise
    check = lc.convergence(short, long, main)
    assert check["flips"] == [("A", "B")]


def test_a_flip_within_noise_is_not_reported():
    short, long = _steps(1.0, 1.0, 0.9, 1.1)
    main = [_row("A", [100, 150, 80, 120, 90]), _row("B", [110, 90, 140, 100, 95])]
    interval = cap.lead(main[0], main[1])
    assert interval.low < 1 < interval.high
    assert lc.convergence(short, long, main)["flips"] == []
    # no main peaks at all: nothing to judge the flip by
    assert lc.convergence(short, long)["flips"] == []


def test_no_flip_when_the_order_holds():
    short, long = _steps(1.0, 1.2, 0.9, 1.0)
    main = [_row("A", [150, 152, 151, 149, 150]), _row("B", [100, 101, 99, 100, 102])]
    assert lc.convergence(short, long, main)["flips"] == []


# --- the sine-free comparison


def test_best_sine_free_takes_the_best_gated_neuron_without_a_sine():
    rows = [
        _row("singlu", [500, 500]), _row("vanilla", [400, 400]), _row("bilinear", [200, 200]),
        _row("swiglu", [300, 300]), _row("geglu", [100, 100]), _row("kan", [450, 450]),
    ]
    assert lc.best_sine_free(rows)["arch"] == "swiglu"
    assert lc.best_sine_free(rows[:2]) is None
    assert lc.best_sine_free([]) is None


# --- the error-rate measure of a label run


def _label(task, accuracy=0.9, train_loss=0.2, diverged=False):
    return make_result(
        "singlu", task, 0, metric="accuracy", test_metric=accuracy, train_loss=train_loss,
        diverged=diverged,
    )


def test_run_bits_error_rate_on_two_classes():
    run = _label("random_k2_n100", 0.9, train_loss=0.2)
    assert cap.run_bits(run, measure="error rate") == pytest.approx(cap.error_rate_bits(0.1, 100))
    assert cap.run_bits(run, measure="error rate") == pytest.approx(53.1, abs=0.1)
    # the default counts the cross-entropy instead
    assert cap.run_bits(run) == pytest.approx(cap.classification_bits(0.2, 2, 100))
    assert cap.run_bits(run) != pytest.approx(cap.run_bits(run, measure="error rate"))
    assert cap.run_bits(_label("random_k2_n100", math.nan, diverged=True),
                        measure="error rate") == 0.0


def test_run_bits_error_rate_needs_two_classes():
    with pytest.raises(ValueError, match="two classes"):
        cap.run_bits(_label("random_k16_n100", 0.5), measure="error rate")


def test_run_bits_refuses_an_unknown_measure():
    with pytest.raises(ValueError, match="measure"):
        cap.run_bits(_label("random_k2_n100"), measure="accuracy")


def test_capacity_points_counts_by_the_measure():
    rs = ResultSet("capacity", TrainConfig(budget=2000).to_dict(), {}, [
        make_result("singlu", "random_k2_n100", s, metric="accuracy", test_metric=acc,
                    train_loss=0.2)
        for s, acc in enumerate((0.9, 0.8))
    ])
    (row,) = cap.capacity_points([rs], measure="error rate")
    assert row["bits"] == pytest.approx([cap.error_rate_bits(e, 100) for e in (0.1, 0.2)])
    (default,) = cap.capacity_points([rs])
    assert default["bits"] == pytest.approx([cap.classification_bits(0.2, 2, 100)] * 2)
