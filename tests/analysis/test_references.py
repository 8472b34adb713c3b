"""Scores against the reference predictors (richneuron.analysis.references): a network learns a
task only when its whole interval lies beyond the best reference, with no seed diverged."""

import math

from richneuron.analysis.references import (
    NOT_LEARNED,
    beats,
    learners,
    reference_text,
    skill_text,
)
from richneuron.store.schema import Reference

MSE = Reference("freq_gen", "mse", {"mean": 0.459, "linear": 0.772, "knn": 0.88})
ACC = Reference("spiral", "accuracy", {"majority": 0.5, "logistic": 0.628, "knn": 0.984})


def row(mean, low, high, diverged=0, metric="mse"):
    return {"mean": mean, "low": low, "high": high, "n_diverged": diverged, "metric": metric}


def test_beating_the_reference_needs_the_whole_interval_and_no_diverged_seed():
    assert beats(row(0.2, 0.1, 0.3), MSE)
    assert not beats(row(0.4, 0.3, 0.5), MSE)  # the mean is better; the interval reaches it
    assert not beats(row(0.6, 0.5, 0.7), MSE)
    assert not beats(row(0.2, 0.1, 0.3, diverged=1), MSE)  # a diverged seed learned nothing
    assert not beats(row(0.2, math.nan, math.nan), MSE)  # one seed: no interval
    assert not beats(None, MSE)
    assert beats(row(0.9, 0.85, 0.95, metric="accuracy"), ACC)
    assert not beats(row(0.7, 0.6, 0.8, metric="accuracy"), ACC)  # low end below logistic's


def test_learners_and_the_texts():
    summary = {("siren", "freq_gen"): row(0.55, 0.5, 0.6), ("v9", "freq_gen"): row(0.2, 0.1, 0.3)}
    assert learners(summary, ["siren", "v9", "kan"], MSE) == ["v9"]
    assert learners(summary, ["siren"], MSE) == []
    assert reference_text(MSE) == "0.459 (training mean)"
    assert reference_text(ACC) == "62.8% (logistic regression)"
    assert skill_text(MSE, 0.0459) == "skill 0.9" and skill_text(MSE, 4.59) == "skill -9"
    assert skill_text(ACC, 0.978) == "skill +47.8 pts"
    assert skill_text(MSE, math.nan) == ""
    assert NOT_LEARNED == "no network learns this task here"
