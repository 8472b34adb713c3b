"""Intervals over seeds and the beyond-noise rule (richneuron.stats)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from richneuron import stats


def test_a_clear_difference_is_real_and_an_overlapping_one_within_noise():
    real = stats.difference_interval([1.0, 1.1, 0.9, 1.05, 0.95], [2.0, 2.1, 1.9, 2.05, 1.95])
    assert real.high < 0 and stats.beyond_noise(real)
    noise = stats.difference_interval([1.0, 2.0, 0.5, 1.5, 1.2], [1.1, 1.9, 0.6, 1.4, 1.3])
    assert noise.low < 0 < noise.high and not stats.beyond_noise(noise)


def test_intervals_are_deterministic_and_contain_the_estimate():
    values = [0.3, 0.5, 0.2, 0.9, 0.4]
    first, second = stats.mean_interval(values), stats.mean_interval(values)
    assert first == second
    assert first.estimate == pytest.approx(np.mean(values))
    assert first.low <= first.estimate <= first.high
    assert first.low >= min(values) and first.high <= max(values)


def test_ratio_interval_is_on_the_log_scale_and_symmetric_in_its_sides():
    a, b = [1e-3, 2e-3, 1.5e-3], [1e-6, 3e-6, 2e-6]
    forward, backward = stats.ratio_interval(a, b), stats.ratio_interval(b, a)
    assert forward.null == 1.0 and stats.beyond_noise(forward)
    assert forward.estimate == pytest.approx(np.mean(a) / np.mean(b))
    assert forward.low == pytest.approx(1 / backward.high, rel=1e-9)
    assert forward.high == pytest.approx(1 / backward.low, rel=1e-9)


def test_no_spread_gives_a_point_interval():
    same = stats.difference_interval([1.0, 1.0, 1.0], [0.5, 0.5, 0.5])
    assert same.low == same.high == same.estimate == 0.5 and stats.beyond_noise(same)


@pytest.mark.parametrize(
    "call, says",
    [
        (lambda: stats.mean_interval([1.0]), "values: needs at least 2"),
        (lambda: stats.difference_interval([1.0, math.nan], [1.0, 2.0]), "a: every value"),
        (lambda: stats.ratio_interval([1.0, 2.0], [0.0, 1.0]), "b: every value must be > 0"),
    ],
)
def test_bad_samples_are_refused_naming_the_argument(call, says):
    with pytest.raises(ValueError, match=says):
        call()
