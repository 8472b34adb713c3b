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
    percentile = stats.percentile_interval(values)  # the studentised interval is the wider
    assert first.low < percentile.low and first.high > percentile.high


def test_ratio_interval_is_on_the_log_scale_and_symmetric_in_its_sides():
    a, b = [1e-3, 2e-3, 1.5e-3], [1e-6, 3e-6, 2e-6]
    forward, backward = stats.ratio_interval(a, b), stats.ratio_interval(b, a)
    assert forward.null == 1.0 and stats.beyond_noise(forward)
    assert forward.estimate == pytest.approx(stats.geometric_mean(a) / stats.geometric_mean(b))
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


# ---------------------------------------------------------------------------------------------
# The rule applied to architectures: compare, outcome, settle, agreement, band.


def test_compare_orients_mse_as_a_ratio_and_accuracy_as_a_difference():
    low, high = [1e-3, 1.2e-3, 0.9e-3, 1.1e-3, 1e-3], [1e-1, 1.1e-1, 0.9e-1, 1e-1, 1.2e-1]
    mse = stats.compare(low, high, "mse")  # mean(high) / mean(low): above 1, the first is better
    assert mse.null == 1.0 and mse.estimate == pytest.approx(np.mean(high) / np.mean(low))
    assert stats.outcome(mse) == 1 and stats.outcome(stats.compare(high, low, "mse")) == -1
    acc = stats.compare([0.9, 0.91, 0.92], [0.6, 0.62, 0.61], "accuracy")
    assert acc.null == 0.0 and acc.estimate == pytest.approx(0.3) and stats.outcome(acc) == 1


def test_the_rule_calls_a_real_gap_real_and_an_overlapping_one_within_noise():
    # a must-call-real case: every seed of one side below every seed of the other, 10x apart
    real = stats.compare([0.010, 0.012, 0.011, 0.009, 0.010], [0.10, 0.12, 0.11, 0.09, 0.1], "mse")
    assert stats.beyond_noise(real) and stats.outcome(real) == 1
    # a must-call-noise case: the same seeds' spread straddles the other side's mean
    noise = stats.compare([0.01, 0.05, 0.02, 0.08, 0.03], [0.02, 0.04, 0.03, 0.06, 0.03], "mse")
    assert noise.low < 1 < noise.high and stats.outcome(noise) == 0


def test_compare_leaves_out_diverged_seeds_and_needs_two_a_side():
    kept = stats.compare([1.0, math.nan, 2.0, 1.5], [3.0, 4.0, 5.0], "mse")
    centres = stats.geometric_mean([3, 4, 5]), stats.geometric_mean([1, 2, 1.5])
    assert kept.estimate == pytest.approx(centres[0] / centres[1])
    one = stats.compare([1.0, math.inf], [3.0, 4.0], "mse")
    assert math.isnan(one.estimate) and stats.outcome(one) == 0
    with pytest.raises(ValueError, match="metric: must be 'mse' or 'accuracy'"):
        stats.compare([1.0, 2.0], [1.0, 2.0], "r2")


def test_settle_reports_a_claim_decided_by_noise_as_not_established():
    assert stats.settle(at_best := True, True) == "holds" and at_best
    assert stats.settle(True, False) == "not established"
    assert stats.settle(False, False) == "fails"
    assert stats.agreement("replicated", "replicated") == "agrees"
    assert stats.agreement("replicated", "not established") == "flips"


def test_band_is_the_interval_of_the_mean_at_every_point():
    curves = [[1.0, 2.0, 5.0], [1.0, 4.0, math.nan], [1.0, 3.0, 7.0]]
    mean, low, high = stats.band(curves)
    assert mean.tolist() == [1.0, 3.0, 6.0]
    assert low[0] == high[0] == 1.0  # no spread
    assert 2.0 <= low[1] <= 3.0 <= high[1] <= 4.0
    assert low[2] == high[2] == 6.0 or low[2] <= 6.0 <= high[2]
    again = stats.band(curves)
    assert all((a == b).all() for a, b in zip((mean, low, high), again))  # seeded
    single = stats.band([[1.0, 2.0]])
    assert single[1].tolist() == single[0].tolist() == [1.0, 2.0]


def _coverage(n: int, draw, truth: float, interval, trials: int = 400) -> float:
    """The share of ``trials`` simulated samples of ``n`` seeds whose ``interval`` holds
    ``truth``."""
    rng = np.random.default_rng(20261207)
    hits = 0
    for _ in range(trials):
        ci = interval(draw(rng, n))
        hits += ci.low < truth < ci.high
    return hits / trials


@pytest.mark.parametrize("n", [5, 10])
def test_the_studentised_interval_covers_near_its_nominal_level(n):
    """At five and ten seeds of normal data the studentised bootstrap covers the true mean at
    least 92% of the time for a nominal 95% (400 simulated samples: a standard error of about
    1%), where the percentile method it replaced covers less."""
    coverage = stats.simulated_coverage(n)
    assert stats.COVERAGE_FLOOR == 0.92 and coverage["studentised"] >= stats.COVERAGE_FLOOR
    assert coverage["percentile"] < stats.COVERAGE_FLOOR  # what the change is for
    with pytest.raises(ValueError, match="n: must be an integer >= 2"):
        stats.simulated_coverage(1)


def test_the_difference_and_ratio_intervals_cover_near_their_nominal_level():
    def pair(rng, size):  # two samples of unequal spread and the same mean
        return rng.normal(1.0, 0.5, size), rng.normal(1.0, 2.0, size)

    assert _coverage(5, pair, 0.0, lambda s: stats.difference_interval(*s), 300) >= 0.92

    def mses(rng, size):  # log-normal MSEs of the same geometric mean, a factor e^1 apart
        return rng.lognormal(-3.0, 1.0, size), rng.lognormal(-3.0, 1.0, size)

    assert _coverage(10, mses, 1.0, lambda s: stats.ratio_interval(*s), 300) >= 0.92


def test_an_mse_is_centred_on_the_log_scale():
    values = [1e-4, 1e-3, 1e-2]
    ci = stats.log_mean_interval(values)
    assert ci.estimate == pytest.approx(1e-3) and ci.low < 1e-3 < ci.high and ci.low > 0
    assert stats.geometric_mean(values) == pytest.approx(1e-3)
    assert math.isnan(stats.geometric_mean([1.0, 0.0]))
    with pytest.raises(ValueError, match="values"):
        stats.log_mean_interval([1.0, -1.0])


def test_ties_at_a_ceiling_and_equal_samples_keep_a_two_sided_interval():
    """Accuracies at a ceiling leave most resamples without spread (no bootstrap t): the
    interval falls back to Student's t rather than collapsing onto the estimate; two equal
    samples are not resampled alike, so their ratio's interval is not a point."""
    ceiling = stats.mean_interval([1.0, 1.0, 1.0, 1.0, 0.99])
    assert ceiling.low < ceiling.estimate < ceiling.high
    gap = stats.difference_interval([1.0, 1.0, 1.0, 1.0, 0.99], [1.0] * 5)
    assert gap.low < gap.estimate < gap.high and gap.high > 0
    same = stats.ratio_interval([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    assert same.low < 1.0 < same.high


def test_permutation_p_is_scipys_exact_test_and_families_are_corrected():
    from scipy.stats import permutation_test

    a, b = [0.91, 0.93, 0.90, 0.92, 0.94], [0.88, 0.90, 0.89, 0.87, 0.91]
    exact = permutation_test((np.array(a), np.array(b)),
                             lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
                             permutation_type="independent", n_resamples=np.inf, vectorized=True)
    assert stats.permutation_p(a, b, "accuracy") == pytest.approx(exact.pvalue, abs=1e-12)
    mse = stats.permutation_p([1e-3, 2e-3, 3e-3], [1e-2, 2e-2, 3e-2], "mse")
    assert mse == pytest.approx(2 / 20)  # the most extreme of C(6, 3) splits, on the log scale
    # Benjamini-Hochberg: 0.001 and 0.02 of four survive (0.02 <= 2/4 * 0.05), 0.04 does not
    assert stats.discoveries([0.001, 0.02, 0.04, math.nan, 0.5]) == [True, True, False, False,
                                                                     False]
    assert stats.detectable([0.9, 0.92, 0.91, 0.93], [0.8, 0.82, 0.81, 0.83], "accuracy") > 0
    assert stats.detectable([1e-3, 2e-3], [1e-3, 3e-3], "mse") > 1
    assert math.isnan(stats.detectable([1.0], [1.0, 2.0], "accuracy"))
    with pytest.raises(ValueError, match="metric: must be 'mse' or 'accuracy'"):
        stats.permutation_p(a, b, "r2")
