"""What the multiplicity tools promise (richneuron.stats: detectable, permutation_p beyond
EXACT_SPLITS) and the regime map deciding its tasks as one family
(richneuron.report.synthesis.regime_rows)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import result

import richneuron.report.synthesis as synthesis
from richneuron import stats
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet, decide


def _welch_power(x: np.ndarray, y: np.ndarray, effect: float) -> float:
    """The power of a two-sided Welch t-test at the 95% level to find a true difference
    ``effect`` between the means of samples shaped like ``x`` and ``y`` (their variances, their
    sizes): the mass of the noncentral t beyond the critical values, Welch's degrees of freedom."""
    from scipy.stats import nct, t

    vx, vy = np.var(x, ddof=1) / x.size, np.var(y, ddof=1) / y.size
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    critical, shift = t.ppf((1 + stats.CONFIDENCE) / 2, df), effect / math.sqrt(vx + vy)
    return float(nct.sf(critical, df, shift) + nct.cdf(-critical, df, shift))


def _samples(n: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Two seeded samples of ``n`` seeds of unequal spread: accuracies near 0.9, or log-normal
    MSEs near 0.02 (one side spread a factor of e^0.5, the other e^1.5)."""
    rng = np.random.default_rng(20261211 + n)
    if metric == "accuracy":
        return rng.normal(0.90, 0.02, n), rng.normal(0.88, 0.04, n)
    return rng.lognormal(-4.0, 0.5, n), rng.lognormal(-3.5, 1.5, n)


@pytest.mark.parametrize("metric", ["accuracy", "mse"])
@pytest.mark.parametrize("n", [5, 10])
def test_detectable_is_the_effect_a_welch_test_finds_with_the_stated_power(n, metric):
    """At the effect :func:`stats.detectable` reports, a two-sided 5% Welch t-test on the compared
    scale (the logarithm of an MSE: the effect is a factor) has power within 0.02 of
    :data:`stats.POWER` by the exact noncentral t, and at half that effect far less."""
    a, b = _samples(n, metric)
    d = stats.detectable(a, b, metric)
    x, y, effect = (a, b, d) if metric == "accuracy" else (np.log(a), np.log(b), math.log(d))
    assert stats.POWER == 0.8 and (d > 0 if metric == "accuracy" else d > 1)
    assert _welch_power(x, y, effect) == pytest.approx(stats.POWER, abs=0.02)
    assert _welch_power(x, y, effect / 2) < stats.POWER / 2


@pytest.mark.parametrize("metric", ["accuracy", "mse"])
def test_more_seeds_detect_a_smaller_effect(metric):
    """The same spread at ten seeds a side as at five (each value twice) detects an effect
    smaller by more than the square root of two on the compared scale: the standard error
    shrinks by it and the t quantiles with it."""
    a, b = _samples(5, metric)
    five, ten = stats.detectable(a, b, metric), stats.detectable([*a, *a], [*b, *b], metric)
    scale = (lambda v: v) if metric == "accuracy" else math.log
    assert 0 < scale(ten) < scale(five) / math.sqrt(2)


def test_detectable_is_nan_with_one_usable_value_a_side_and_names_a_bad_metric():
    """One value on a side (or one left after a diverged seed or a non-positive MSE) leaves no
    spread to read an effect from: NaN. An unknown metric is refused, naming it."""
    assert math.isnan(stats.detectable([0.9], [0.8, 0.85], "accuracy"))
    assert math.isnan(stats.detectable([0.9, 0.8], [0.7], "accuracy"))
    assert math.isnan(stats.detectable([0.9, math.nan], [0.7, 0.8], "accuracy"))
    assert math.isnan(stats.detectable([0.01, 0.0], [0.02, 0.03], "mse"))
    assert math.isfinite(stats.detectable([0.9, 0.8], [0.7, 0.75], "accuracy"))
    with pytest.raises(ValueError, match="metric: must be 'mse' or 'accuracy', got 'r2'"):
        stats.detectable([0.9, 0.8], [0.7, 0.75], "r2")


# ---------------------------------------------------------------------------------------------
# permutation_p beyond EXACT_SPLITS: a seeded draw of RESAMPLES splits.

#: Eleven seeds a side: C(22, 11) = 705,432 splits, more than EXACT_SPLITS.
ELEVEN_A = [0.9408, 0.8489, 0.9084, 0.8886, 0.8909, 0.8957, 0.8596, 0.8954, 0.8827, 0.9665, 0.9045]
ELEVEN_B = [0.8779, 0.8794, 0.8716, 0.8639, 0.8772, 0.8946, 0.8802, 0.9042, 0.881, 0.8855, 0.9159]


def _monte_carlo_error(p: float) -> float:
    """Three standard errors of a two-sided p-value read from :data:`stats.RESAMPLES` draws
    (twice a tail proportion near ``p / 2``), plus the one split the draw adds (the observed)."""
    tail = p / 2
    return 3 * 2 * math.sqrt(tail * (1 - tail) / stats.RESAMPLES) + 2 / (stats.RESAMPLES + 1)


def test_permutation_p_beyond_the_exact_limit_is_a_reproducible_draw_near_the_exact_value():
    """At eleven seeds a side (705,432 splits) the p-value is a seeded draw: the same twice and
    after its cache is cleared, within Monte Carlo error of scipy's exact permutation test of the
    same statistic (every split enumerated), and equal to itself with the sides swapped (the two
    sides are put in one order before the draw, as the exact test is symmetric by construction)."""
    from scipy.stats import permutation_test

    assert math.comb(22, 11) == 705_432 > stats.EXACT_SPLITS
    p = stats.permutation_p(ELEVEN_A, ELEVEN_B, "accuracy")
    assert stats.permutation_p(ELEVEN_A, ELEVEN_B, "accuracy") == p
    stats._permutation_p.cache_clear()
    assert stats.permutation_p(ELEVEN_A, ELEVEN_B, "accuracy") == p
    exact = permutation_test(
        (np.array(ELEVEN_A), np.array(ELEVEN_B)),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        permutation_type="independent", n_resamples=np.inf, vectorized=True,
    ).pvalue
    assert 0.1 < exact < 0.5  # a p-value the draw can miss on either side
    assert p == pytest.approx(exact, abs=_monte_carlo_error(exact))
    swapped = stats.permutation_p(ELEVEN_B, ELEVEN_A, "accuracy")
    assert swapped == p
    few_a, few_b = ELEVEN_A[:5], ELEVEN_B[:5]  # exact at five a side: swapping changes nothing
    assert stats.permutation_p(few_a, few_b, "accuracy") == stats.permutation_p(
        few_b, few_a, "accuracy"
    )


def test_a_drawn_permutation_p_is_never_zero():
    """Every seed of one side above every seed of the other: no drawn split is as extreme, yet
    the p-value counts the observed split among the draws, 2 / (RESAMPLES + 1), not 0, and is
    the same whichever side comes first."""
    high = [0.95 + 0.001 * i for i in range(11)]
    low = [0.85 + 0.001 * i for i in range(11)]
    floor = 2 / (stats.RESAMPLES + 1)
    assert stats.permutation_p(high, low, "accuracy") == pytest.approx(floor, rel=1e-12)
    assert stats.permutation_p(low, high, "accuracy") == pytest.approx(floor, rel=1e-12)
    mse = stats.permutation_p([0.001 * (i + 1) for i in range(11)], [1.0 + i for i in range(11)],
                              "mse")
    assert mse == pytest.approx(floor, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# The regime map's family: the tasks learned are decided together (Benjamini-Hochberg).

#: Five seeds a side of v10 (the best, lower MSE) and SinGLU (the runner-up), in thousandths.
#: Every margin's interval alone excludes no difference; the permutation p-values (exact over
#: C(10, 5) = 252 splits) are 2/252 on complex_4d (every v10 seed below every SinGLU seed),
#: 10/252 on nested_2d, 12/252 on memorize and 16/252 on hifreq. Benjamini-Hochberg over the
#: four at 5%: 16/252 > 4/4 * 0.05, 12/252 > 3/4 * 0.05, 10/252 > 2/4 * 0.05 and
#: 2/252 <= 1/4 * 0.05: only complex_4d survives, though nested_2d and memorize are below 0.05
#: alone.
FAMILY = {
    "complex_4d": ([10, 11, 12, 13, 14], [100, 110, 120, 130, 140]),
    "nested_2d": ([11, 12, 13, 14, 20], [18, 19, 20, 20, 30]),
    "memorize": ([10, 10, 16, 20, 20], [20, 20, 23, 27, 31]),
    "hifreq": ([12, 14, 17, 18, 20], [17, 20, 21, 26, 30]),
}


def test_the_regime_map_decides_its_tasks_as_one_family():
    """Four tasks v10 learns and leads SinGLU on by an interval that alone excludes no
    difference: after the family's correction only the large, clear lead (complex_4d) keeps a
    named winner; the other three read as within noise, with their interval's call (``alone``)
    kept to say the correction removed it. Alone, nested_2d and memorize would be called."""
    runs = [
        result(arch, task, seed, milli / 1000)
        for task, sides in FAMILY.items()
        for arch, values in zip(("v10", "singlu"), sides)
        for seed, milli in enumerate(values)
    ]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    rows = {r["task"]: r for r in synthesis.regime_rows(rs)}
    assert list(rows) == ["complex_4d", "nested_2d", "hifreq", "memorize"]  # registry order
    for task, row in rows.items():
        assert (row["best"], row["runner_up"], row["learned"]) == ("v10", "singlu", True), task
        assert row["interval"].low > 1 and row["alone"] == 1, task  # beyond noise by itself
    assert {t: row["p"] * 252 / 2 for t, row in rows.items()} == pytest.approx(
        {"complex_4d": 1, "nested_2d": 5, "hifreq": 8, "memorize": 6}
    )
    assert {t: row["verdict"] for t, row in rows.items()} == {
        "complex_4d": "v10",
        "nested_2d": "within noise",
        "hifreq": "within noise",
        "memorize": "within noise",
    }
    assert [t for t, row in rows.items() if row["clear"]] == ["complex_4d"]
    assert synthesis.removed_calls(list(rows.values())) == 3
    assert synthesis.clear_wins(rs) == 1
    summary = rs.summary_by_key()
    alone = {t: decide([(summary[("v10", t)], summary[("singlu", t)])])[0].outcome for t in rows}
    assert alone == {"complex_4d": 1, "nested_2d": 1, "hifreq": 0, "memorize": 1}
    table = str(synthesis.regime_table(list(rows.values())))
    assert "beyond noise alone, not after the correction" in table
