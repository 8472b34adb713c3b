"""Parameter counts against hand-computed values, and budget matching."""

import pytest

from richneuron.config import TrainConfig
from richneuron.neurons import ARCHITECTURES
from richneuron.neurons.matching import BudgetError, count_params, match_width
from richneuron.tasks import TASKS


def dense(i, o):
    return i * o + o


@pytest.mark.parametrize(
    "arch,expected",
    [
        # in 2, out 1, width 4, depth 2
        ("vanilla", dense(2, 4) + dense(4, 4) + dense(4, 1)),
        ("singlu", 2 * dense(2, 4) + 2 * dense(4, 4) + dense(4, 1)),
        ("v1", 2 * dense(2, 4) + 2 * dense(4, 4) + 2 * 2 * 4 + dense(4, 1)),  # + LN scale/shift
        ("v4_shared", dense(2, 4) + dense(4, 4) + 2 * 3 * 4 + dense(4, 1)),  # + LN, sine bias
        (
            "v4_lowrank",
            2 * (2 * 3) + 2 * dense(3, 4) + 2 * (4 * 3) + 2 * dense(3, 4) + 2 * 2 * 4 + dense(4, 1),
        ),  # rank 3: A without bias, B with bias
        ("v9", 5 * dense(2, 4) + 5 * dense(4, 4) + dense(4, 1)),
        ("v10", 3 * dense(2, 4) + 3 * dense(4, 4) + dense(4, 1)),
        (
            "v15",
            3 * dense(2, 4) + 3 * dense(4, 4) + 2 * 3 * 4 + dense(4, 1),
        ),  # + alpha, beta, gamma
        # The related neurons (trainable tensors only: Fourier's B and KAN's knots do not count).
        ("siren", dense(2, 4) + dense(4, 4) + dense(4, 1)),
        ("snake", dense(2, 4) + dense(4, 4) + 2 * 4 + dense(4, 1)),  # + alpha per neuron
        ("fourier_features", dense(2 * 4, 4) + dense(4, 4) + dense(4, 1)),  # [cos, sin] of 4
        ("bilinear", 2 * dense(2, 4) + 2 * dense(4, 4) + dense(4, 1)),
        ("reglu", 2 * dense(2, 4) + 2 * dense(4, 4) + dense(4, 1)),
        ("geglu", 2 * dense(2, 4) + 2 * dense(4, 4) + dense(4, 1)),
        ("swiglu", 2 * dense(2, 4) + 2 * dense(4, 4) + dense(4, 1)),
        # base w, spline coefficients c (grid 5 + order 3 per edge), scaler s; no bias
        ("kan", (1 + 8 + 1) * 2 * 4 + (1 + 8 + 1) * 4 * 4 + dense(4, 1)),
        ("rational", dense(2, 4) + dense(4, 4) + 2 * (6 + 4) + dense(4, 1)),  # per layer
        ("polynorm", dense(2, 4) + dense(4, 4) + 2 * (3 + 1) + dense(4, 1)),  # per layer
    ],
)
def test_count_by_hand(arch, expected):
    assert count_params(arch, 2, 1, 4, depth=2, rank=3) == expected


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("task", list(TASKS))
def test_every_pair_within_two_percent(arch, task):
    config = TrainConfig()
    widths, n = match_width(arch, task, config.budget, config)
    assert abs(n - config.budget) <= 0.02 * config.budget
    assert len(widths) == config.depth and widths[0] - widths[-1] <= 8
    assert all(w == widths[0] for w in widths[:-1])
    t = TASKS[task]
    assert n == count_params(arch, t.in_dim, t.out_dim, widths, config.depth, config.rank)


def test_uniform_width_when_it_fits():
    (w, w2), n = match_width("vanilla", "nested_2d", 5000)
    assert w == w2 and n == count_params("vanilla", 2, 1, w)
    assert abs(n - 5000) <= 100


def test_last_layer_tapers_only_when_needed():
    # v9 (five matrices per neuron): one unit of uniform width moves the count by ~6%.
    (w, w2), n = match_width("v9", "spiral", 5000)
    assert w2 < w
    assert abs(count_params("v9", 2, 1, (w, w)) - 5000) > 100
    assert abs(count_params("v9", 2, 1, (w - 1, w - 1)) - 5000) > 100
    assert n == count_params("v9", 2, 1, (w, w2)) and abs(n - 5000) <= 100


def test_count_with_per_layer_widths():
    assert count_params("singlu", 2, 1, (4, 3)) == 2 * dense(2, 4) + 2 * dense(4, 3) + dense(3, 1)


def test_impossible_budget_names_arch_task_budget():
    with pytest.raises(BudgetError, match=r"'v9' on task 'memorize' meets budget=10\b"):
        match_width("v9", "memorize", 10)
    with pytest.raises(BudgetError, match="budget=0"):
        match_width("vanilla", "spiral", 0)
    tight = TrainConfig(tolerance=0.0001)
    with pytest.raises(BudgetError, match="closest, widths"):
        match_width("v9", "spiral", 5003, tight)
