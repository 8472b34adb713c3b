"""The regression capacity measure calibrated on exact least squares over frozen random
features (:mod:`richneuron.analysis.ols`, issue 35)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from richneuron.analysis import ols
from richneuron.analysis.capacity import FLOAT32_BITS
from richneuron.tasks import get_task


def test_width_for_spends_the_budget_on_the_read_outs():
    assert ols.width_for(5000, 4) == 1249  # 4 read-outs of 1,250 weights: 5,000
    assert ols.width_for(64, 4) == 15
    assert ols.width_for(8, 4) == 1  # the smallest budget: one feature and a bias each
    with pytest.raises(ValueError, match="budget"):
        ols.width_for(7, 4)


def test_expected_bits_interpolates_to_the_float32_cap():
    assert ols.expected_bits(10, 16, 4) == 10 * 4 * FLOAT32_BITS
    assert ols.expected_bits(16, 16, 4) == 16 * 4 * FLOAT32_BITS  # N = p still interpolates
    assert ols.expected_bits(5, 16, 4, cap=3.0) == 5 * 4 * 3.0


def test_expected_bits_just_past_the_threshold():
    p = 1000
    # one direction missed: ½·log2(N − 1) per value, far below the cap at N = p but still far
    # above what N = 2p gives per value
    just_past = ols.expected_bits(p + 1, p, 4)
    assert just_past == pytest.approx(4 * (p + 1) * 0.5 * math.log2(p))
    assert just_past < ols.expected_bits(p, p, 4)
    per_value_at_2p = ols.expected_bits(2 * p, p, 4) / (4 * 2 * p)  # about ½ bit
    assert just_past / (4 * (p + 1)) > 4 * per_value_at_2p
    # a cap below the closed form binds
    assert ols.expected_bits(p + 1, p, 4, cap=1.0) == 4 * (p + 1) * 1.0


def test_expected_bits_is_p_per_output_at_twice_the_threshold():
    p = 1000
    assert ols.expected_bits(2 * p, p, 1) == pytest.approx(p, rel=0.01)
    assert ols.expected_bits(2 * p, p, 4) == pytest.approx(4 * p, rel=0.01)
    # exact form: p · log2((2p − 1)/p)
    assert ols.expected_bits(32, 16, 1) == pytest.approx(16 * math.log2(31 / 16))


def test_expected_bits_per_parameter_tends_to_one_over_2_ln_2():
    p = 1000
    per_param = ols.expected_bits(1000 * p, p, 4) / (4 * p)
    assert per_param == pytest.approx(1 / (2 * math.log(2)), rel=0.01)
    assert 1 / (2 * math.log(2)) == pytest.approx(0.721, abs=1e-3)
    # falls monotonically past 2p
    values = [ols.expected_bits(k * p, p, 1) / p for k in (2, 4, 16, 1000)]
    assert values == sorted(values, reverse=True)


def test_random_features_shape_sign_bias_and_seed():
    x = get_task("random_reg_n64").generate(0).x_train.numpy().astype(np.float64)
    phi = ols.random_features(x, 15)
    assert phi.shape == (64, 16) and phi.dtype == np.float64
    assert np.array_equal(phi[:, -1], np.ones(64))
    assert (phi >= 0).all() and (phi[:, :-1] > 0).any()
    assert np.array_equal(phi, ols.random_features(x, 15, seed=0))
    assert not np.array_equal(phi, ols.random_features(x, 15, seed=1))


def test_fitted_bits_past_interpolation_matches_the_closed_form():
    expected = ols.expected_bits(64, 16, 4)
    fits = [ols.fitted_bits("random_reg_n64", 15, data_seed=s) for s in range(8)]
    # one draw scatters by about a third (4 outputs, 48 residual directions); their mean does not
    assert statistics.fmean(fits) == pytest.approx(expected, rel=0.25)
    assert all(0 < f < 0.2 * 64 * 4 * FLOAT32_BITS for f in fits)  # far from the cap
    assert ols.fitted_bits("random_reg_n64", 15) == fits[0]  # deterministic


def test_fitted_bits_below_the_threshold_hits_the_cap():
    assert ols.fitted_bits("random_reg_n64", 100) == 64 * 4 * FLOAT32_BITS


def test_fitted_bits_refuses_a_label_task():
    with pytest.raises(ValueError, match="not regression"):
        ols.fitted_bits("random_k16_n64", 15)


def test_calibration_rows_and_table():
    rows = ols.calibration([32, 64], budget=64)
    assert [r["points"] for r in rows] == [32, 64]
    for r in rows:
        assert set(r) == {
            "points", "params", "per_output", "expected", "fitted", "expected_per_param",
            "fitted_per_param",
        }
        assert (r["params"], r["per_output"]) == (64, 16)
        assert r["expected"] == ols.expected_bits(r["points"], 16, 4)
        assert r["fitted"] == ols.fitted_bits(f"random_reg_n{r['points']}", 15)
        assert r["expected_per_param"] == pytest.approx(r["expected"] / 64)
        assert r["fitted_per_param"] == pytest.approx(r["fitted"] / 64)
    assert rows[0]["expected_per_param"] == pytest.approx(math.log2(31 / 16), rel=1e-12)
    table = ols.calibration_table(rows)
    assert "bits per parameter, expected" in table
    assert "bits per parameter, fitted" in table
    assert "| 32 | 2.00 |" in table and "| 64 | 4.00 |" in table
    assert f"{rows[1]['expected_per_param']:.2f}" in table
