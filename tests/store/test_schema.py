"""The result schema (richneuron.store.schema): the reference predictors' record, which of them
a network must beat, and the skill score against the constant predictor."""

import math

import pytest

from richneuron.store.schema import Reference


def test_the_best_counted_reference_leaves_the_neighbours_out():
    mse = Reference("freq_gen", "mse", {"mean": 0.459, "linear": 0.772, "knn": 0.1})
    assert mse.trivial == "mean" and mse.counted == ("mean", "linear")
    assert mse.best == ("mean", 0.459)  # knn's 0.1 is shown for scale, not counted
    acc = Reference("spiral", "accuracy", {"majority": 0.5, "logistic": 0.628, "knn": 0.984})
    assert acc.trivial == "majority" and acc.best == ("logistic", 0.628)
    tie = Reference("t", "mse", {"mean": 0.5, "linear": 0.5, "knn": 0.4})
    assert tie.best == ("mean", 0.5)  # the constant on a tie


def test_skill_against_the_constant_predictor():
    mse = Reference("t", "mse", {"mean": 0.5, "linear": 0.4, "knn": 0.3})
    assert mse.skill(0.05) == pytest.approx(0.9)
    assert mse.skill(0.5) == 0.0 and mse.skill(1.5) == pytest.approx(-2.0)
    acc = Reference("t", "accuracy", {"majority": 0.474, "logistic": 0.494, "knn": 0.9})
    assert acc.skill(0.941) == pytest.approx(0.467)
    assert math.isnan(Reference("t", "mse", {"mean": 0.0, "linear": 0.0}).skill(0.1))
