"""The claims ledger's checks that concern the related neurons: each verdict on runs made up
to give it, and what the study's claims leave out."""

import math

import pytest
from test_book import result  # a run with train_loss 0.1

from richneuron import claims
from richneuron.config import TrainConfig
from richneuron.results import ResultSet


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
        # MSE lower is better: SinGLU clearly better on 2 of 3 tasks
        (pair("hifreq", 0.1, 0.5) + pair("nested_2d", 0.1, 0.5) + pair("memorize", 0.3, 0.3),
         "replicated", 2),
        # 1 clear win, 0 clear losses, 2 within the spread: partly
        (pair("hifreq", 0.1, 0.5) + pair("nested_2d", 0.3, 0.3) + pair("memorize", 0.3, 0.31),
         "partly replicated", 1),
        # accuracy higher is better: bilinear clearly better on spiral, SinGLU on hifreq
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
        result("vanilla", "ood_shift", 0, 0.2),
        result("singlu", "ood_shift", 0, 1.0),
        result("siren", "ood_shift", 0, 0.1),
    ]
    claim = claims.evaluate(ledger_of(runs), {}, ["ood_degradation"])[0]
    assert claim.verdict == "replicated"
    assert "(1 architecture)" in claim.ours


def test_width_rows_with_and_without_the_related_neurons():
    study = claims.width_rows()
    both = claims.width_rows(related=True)
    assert not any(r["related"] for r in study)
    related = {r["arch"] for r in both if r["related"]}
    assert {"siren", "kan", "bilinear", "polynorm"} <= related
    assert "fourier_features" not in related and "v4_lowrank" not in {r["arch"] for r in both}
    assert [r for r in both if not r["related"]] == study
    kan = next(r for r in both if r["arch"] == "kan")
    assert kan["matrices"] == 10 and kan["width"] < min(r["width"] for r in study)
