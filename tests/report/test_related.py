"""The related neurons' chapters (richneuron.report.related): shape change, wins against the
study's neurons, the omega range, seed agreement."""


import pytest
from conftest import result

import richneuron.report.related as related
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet


def shaped(arch, task, seed, start, end):
    r = result(arch, task, seed, 0.1)
    r.diagnostics = {f"first_shape_{i}": [start[i], end[i]] for i in range(9)}
    return r


def test_shape_change_and_initial_shape():
    flat, bent = [0.0] * 9, [0.0] * 8 + [0.5]
    runs = [
        shaped("rational", "spiral", 0, flat, bent),
        shaped("rational", "spiral", 1, flat, flat),
    ]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    assert related.shape_change(rs, "rational") == pytest.approx(0.25)
    with pytest.raises(ValueError, match="no run of 'kan'"):
        related.shape_change(rs, "kan")
    init = related.initial_shape("rational")
    leaky = [x if x > 0 else 0.01 * x for x in (-3 + 0.75 * i for i in range(9))]
    assert max(abs(a - b) for a, b in zip(init, leaky)) < 0.05
    assert related.initial_shape("kan") is None  # a KAN edge starts differently for every seed


def test_relatives_table_counts_wins_and_clear_ones(rs):
    table = related.relatives_table(rs, ["v10"])
    # v10 beats SinGLU on spiral beyond noise, ties on nested (0.020 vs 0.019); it beats ReLU
    # on spiral (every ReLU seed diverged) and cannot be told apart on nested (one ReLU seed)
    # four seeds: the Spiral lead over SinGLU does not survive the family correction (p = 2/70)
    assert "| v10 | 3 | 39 | 0 / 2 / 0 | 1 / 1 / 0 |" in table


def sweep_set(omega, rows):
    runs = [result(a, t, s, v) for (a, t, s, v) in rows]
    return ResultSet("omega", TrainConfig(omega=omega).to_dict(), {}, runs)


def test_omega_range_rows_best_omega_and_control():
    sets = [
        sweep_set(1.0, [("singlu", "hifreq", s, v) for s, v in ((0, 0.50), (1, 0.52))]
                  + [("bilinear", "hifreq", s, v) for s, v in ((0, 0.51), (1, 0.53))]),
        sweep_set(4.0, [("singlu", "hifreq", s, v) for s, v in ((0, 0.10), (1, 0.12))]),
    ]
    (row,) = related.omega_range_rows(sets)
    assert row == {
        "task": "hifreq", "best_omega": 4.0, "best_beats_control": True, "one_beats_control": False
    }
    assert related.omega_wins([row]) == (0, 1)
    assert related.omega_wins([row, {**row, "one_beats_control": True}]) == (1, 2)


def test_sweep_omegas_lists_the_archs_frequencies():
    sets = [
        sweep_set(16.0, [("singlu", "hifreq", 0, 0.1)]),
        sweep_set(0.25, [("singlu", "hifreq", 0, 0.1)]),
        sweep_set(3.0, [("bilinear", "hifreq", 0, 0.1)]),
    ]
    assert related.sweep_omegas(sets) == "0.25, 16"


def test_seed_agreement_counts_tasks_whose_seeds_end_together():
    runs = [result("bilinear", "hifreq", s, 0.5) for s in (0, 1)]
    runs += [result("bilinear", "nested_2d", s, v) for s, v in ((0, 0.1), (1, 0.2))]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    assert related.seed_agreement(rs, "bilinear") == 1
    assert related.seed_agreement(rs, "bilinear", rel=1.0) == 2
