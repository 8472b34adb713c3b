"""The claims ledger's checks that concern the related neurons: each verdict on runs made up
to give it, and what the study's claims leave out."""

import dataclasses
import math

import pytest
from conftest import result  # a run with train_loss 0.1

from richneuron.analysis import claims, cost, ledgers
from richneuron.analysis.rules import Facts
from richneuron.config import TrainConfig
from richneuron.neurons.matching import width_rows
from richneuron.store.results import ResultSet
from richneuron.store.schema import Reference


def pair(task, singlu, bilinear):
    """Two seeds each: (mean - 0.01, mean + 0.01), so a gap above 0.02 is beyond the spread."""
    return [
        result(arch, task, s, mean + d)
        for arch, mean in (("singlu", singlu), ("bilinear", bilinear))
        for s, d in ((0, -0.01), (1, 0.01))
    ]


def ledger_of(runs):
    return ResultSet("t", TrainConfig().to_dict(), {}, runs)


@pytest.mark.parametrize(
    "runs,verdict,wins",
    [
        # MSE lower is better: SinGLU better beyond noise on 2 of 3 tasks
        (pair("hifreq", 0.1, 0.5) + pair("nested_2d", 0.1, 0.5) + pair("memorize", 0.3, 0.3),
         "replicated", 2),
        # 1 win beyond noise, 2 within noise: a majority only if the ties go SinGLU's way
        (pair("hifreq", 0.1, 0.5) + pair("nested_2d", 0.3, 0.3) + pair("memorize", 0.3, 0.31),
         "not established", 1),
        # accuracy higher is better: bilinear better beyond noise on spiral, SinGLU on hifreq
        (pair("spiral", 0.6, 0.9) + pair("hifreq", 0.1, 0.5), "not replicated", 1),
    ],
)
def test_sine_control_verdicts(runs, verdict, wins):
    claim = claims.evaluate(ledger_of(runs), {}, ["sine_control"])[0]
    assert claim.verdict == verdict
    assert claim.value == wins
    assert claim.number == claims.SINE_CONTROL_NUMBER
    assert f"on {wins} of" in claim.ours


def test_sine_control_not_tested_without_bilinear():
    runs = [result("singlu", "hifreq", 0, 0.1)]
    claim = claims.evaluate(ledger_of(runs), {}, ["sine_control"])[0]
    assert claim.verdict == "not tested" and math.isnan(claim.value)


def test_ood_claim_keeps_to_the_study_neurons():
    # vanilla degrades 2x; singlu 10x; siren (a related neuron) 1x: the study's claim holds
    runs = [
        result(arch, "ood_shift", s, value * (1 + 0.01 * s))
        for arch, value in (("vanilla", 0.2), ("singlu", 1.0), ("siren", 0.1))
        for s in range(3)
    ]
    claim = claims.evaluate(ledger_of(runs), {}, ["ood_degradation"])[0]
    assert claim.verdict == "replicated"
    assert "(1 architecture)" in claim.ours
    one_seed = [r for r in runs if r.run.seed == 0]  # no interval: noise cannot be ruled out
    claim = claims.evaluate(ledger_of(one_seed), {}, ["ood_degradation"])[0]
    assert claim.verdict == "not established"


def test_width_rows_with_and_without_the_related_neurons():
    study = width_rows()
    both = width_rows(related=True)
    assert not any(r["related"] for r in study)
    related = {r["arch"] for r in both if r["related"]}
    assert {"siren", "kan", "bilinear", "polynorm"} <= related
    assert "fourier_features" not in related and "v4_lowrank" not in {r["arch"] for r in both}
    assert [r for r in both if not r["related"]] == study
    kan = next(r for r in both if r["arch"] == "kan")
    assert kan["matrices"] == 10 and kan["width"] < min(r["width"] for r in study)
    assert cost.fit_width_cost(both, related=False) == cost.fit_width_cost(study)
    assert cost.fit_width_cost(both) != cost.fit_width_cost(study)


# ---------------------------------------------------------------------------------------------
# The study's claims under the beyond-noise rule.

PUBLISHED = {
    "headline_claims": {
        "memorize_mse_ratio_vanilla_over_singlu": 168327.0,
        "nested_mse_ratio_vanilla_over_singlu": 50.0,
    }
}
SPREAD = (0.8, 0.9, 1.0, 1.1, 1.2)  # five seeds around each mean


def seeds(arch, task, mean, spread=SPREAD):
    return [result(arch, task, s, mean * f) for s, f in enumerate(spread)]


@pytest.mark.parametrize(
    "vanilla,singlu,spread,verdict",
    [
        (1e-1, 1e-6, SPREAD, "replicated"),  # 100,000x, every seed apart: near the published
        (1e-1, 1e-2, SPREAD, "partly replicated"),  # 10x beyond noise, far from 168,327x
        (1e-2, 1e-1, SPREAD, "not replicated"),  # vanilla lower beyond noise
        (1e-2, 1.1e-2, (0.1, 3.0, 0.2, 2.5, 0.3), "not established"),  # seeds straddle
    ],
)
def test_ratio_claim_verdicts_follow_the_interval(vanilla, singlu, spread, verdict):
    runs = seeds("vanilla", "memorize", vanilla, spread) + seeds("singlu", "memorize", singlu)
    claim = claims.evaluate(ledger_of(runs), PUBLISHED, ["memorize_ratio"])[0]
    assert claim.verdict == verdict
    assert "[" in claim.ours  # our ratio with its 95% interval


def test_win_count_claim_is_not_established_when_ties_decide_it():
    standard = ("complex_4d", "nested_2d", "hifreq", "memorize")
    runs = []
    for task in standard:  # SinGLU 10x lower on four MSE tasks, every seed apart
        runs += seeds("vanilla", task, 1e-1) + seeds("singlu", task, 1e-2)
    runs += seeds("vanilla", "spiral", 0.8) + seeds("singlu", "spiral", 0.5)  # SinGLU loses
    runs += seeds("vanilla", "checkerboard", 0.70, (0.9, 1.1, 0.95, 1.05, 1.0))
    runs += seeds("singlu", "checkerboard", 0.71, (1.1, 0.9, 1.05, 0.95, 1.0))  # a tie
    claim = claims.evaluate(ledger_of(runs), {}, ["singlu_wins"])[0]
    assert claim.verdict == "not established" and claim.value == 4
    assert "within noise on checkerboard" in claim.ours
    runs = [r for r in runs if not (r.run.arch == "singlu" and r.run.task == "checkerboard")]
    runs += seeds("singlu", "checkerboard", 0.95, (1.0, 0.99, 1.01, 1.0, 1.0))  # a real win
    assert claims.evaluate(ledger_of(runs), {}, ["singlu_wins"])[0].verdict == "replicated"


def test_stability_rows_mark_a_flip_and_a_claim_not_checked():
    strong = seeds("vanilla", "memorize", 1e-1) + seeds("singlu", "memorize", 1e-6)
    flipped = seeds("vanilla", "memorize", 1e-2) + seeds("singlu", "memorize", 1e-1)
    first = claims.evaluate(ledger_of(strong), PUBLISHED, ["memorize_ratio", "nested_ratio"])
    second = claims.evaluate(ledger_of(flipped), PUBLISHED, ["memorize_ratio", "nested_ratio"])
    rows = ledgers.stability_rows(first, second, pooled=second)
    assert [r["stability"] for r in rows] == ["flips", "agrees"]  # nested: not tested twice
    assert rows[0]["pooled_verdict"] == "not replicated"
    table = ledgers.ledger(first, second, "5–9")
    assert "verdict on seeds 5–9" in table and "**flips**" in table
    with pytest.raises(ValueError, match="second: must hold the same claims"):
        ledgers.stability_rows(first, second[:1])


def test_a_claim_whose_facts_are_missing_is_not_tested():
    """The width-cost claim needs the matched widths (facts the caller computes by building
    networks): without them it says so instead of guessing."""
    runs = [result("singlu", "spiral", s, 0.9) for s in range(2)]
    missing = claims.evaluate(ledger_of(runs), {}, ["width_cost"])[0]
    assert missing.verdict == "not tested" and "matched widths" in missing.ours
    facts = Facts(widths=tuple(width_rows()))
    assert claims.evaluate(ledger_of(runs), {}, ["width_cost"], facts)[0].verdict in (
        "replicated", "not replicated")


FREQ = Reference("freq_gen", "mse", {"mean": 0.459, "linear": 0.77, "knn": 0.88})
ADAPTIVE_AND_SINGLU = ("singlu", "v7", "v9", "v10", "v12", "v15")


def freq_runs(means):
    return ledger_of(
        [result(a, "freq_gen", s, m + d) for a, m in means.items() for s, d in ((0, -0.01),
                                                                                 (1, 0.01))]
    )


def test_a_claim_no_network_it_compares_learns_is_not_testable():
    """Freq-gen's training mean scores 0.459: when SinGLU and every adaptive variant do worse,
    the fixed-against-adaptive claim ranks failures and reads "not testable", with the numbers;
    when one of them beats the mean beyond noise, the ledger's rule decides as before."""
    facts = Facts(references={"freq_gen": FREQ})
    worse = freq_runs({a: 0.6 + 0.1 * i for i, a in enumerate(ADAPTIVE_AND_SINGLU)})
    (claim,) = claims.evaluate(worse, {"results": {}}, ["fixed_frequency"], facts)
    assert claim.verdict == "not testable"
    assert claim.ours.startswith(
        "not testable on this task (freq_gen): no network it compares beats the best reference "
        "predictor, 0.459 (training mean), beyond noise (singlu 0.6, v7 0.7,"
    )
    learned = freq_runs({a: 0.1 + 0.1 * i for i, a in enumerate(ADAPTIVE_AND_SINGLU)})
    (claim,) = claims.evaluate(learned, {"results": {}}, ["fixed_frequency"], facts)
    assert claim.verdict == "replicated"  # SinGLU 0.1 beats every adaptive variant
    (claim,) = claims.evaluate(worse, {"results": {}}, ["fixed_frequency"])  # no references
    assert claim.verdict == "replicated"
    assert ledgers.tally([claim], "not testable") == 0


def test_a_verdict_that_becomes_not_testable_on_other_seeds_flips():
    """Only missing runs ("not tested") leave a verdict unchecked; a claim replicated on the
    first seeds and not testable on the second has not survived them."""
    replicated = claims.Claim("c", 1, "f", "r", "ours", "theirs", "replicated")
    untestable = dataclasses.replace(replicated, verdict="not testable")
    missing = dataclasses.replace(replicated, verdict="not tested")
    rows = ledgers.stability_rows([replicated] * 3, [untestable, missing, replicated])
    assert [r["stability"] for r in rows] == ["flips", "not checked", "agrees"]


def test_every_claim_resting_on_an_unlearned_task_is_not_testable():
    """Memorize's best reference scores 1.0: a ratio of two networks that both do worse is not
    tested against the published one; once SinGLU beats the reference, the ratio decides."""
    memorize = Reference("memorize", "mse", {"mean": 1.06, "linear": 1.0, "knn": 0.78})
    facts = Facts(references={"memorize": memorize})
    both_fail = ledger_of(seeds("vanilla", "memorize", 20.0) + seeds("singlu", "memorize", 2.0))
    (claim,) = claims.evaluate(both_fail, PUBLISHED, ["memorize_ratio"], facts)
    assert claim.verdict == "not testable" and "(vanilla 20, singlu 2)" in claim.ours
    one_learns = ledger_of(seeds("vanilla", "memorize", 20.0) + seeds("singlu", "memorize", 0.2))
    (claim,) = claims.evaluate(one_learns, PUBLISHED, ["memorize_ratio"], facts)
    assert claim.verdict == "partly replicated"  # 100x, beyond noise, far from 168,327x
