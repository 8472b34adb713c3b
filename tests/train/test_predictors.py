"""The reference predictors (richneuron.train.predictors): fitted on the points a run trains on,
scored on its test points with the network's metric."""

import numpy as np
import pytest

from richneuron.config import TrainConfig
from richneuron.tasks import get_task
from richneuron.train.predictors import logistic_model, reference_for, references
from richneuron.train.reference import split_validation


def _draw(task, validation=0.0):
    data, _, _ = split_validation(get_task(task).generate(0), TrainConfig(validation=validation))
    return (t.double().numpy() for t in (data.x_train, data.y_train, data.x_test, data.y_test))


def test_the_mean_and_least_squares_in_closed_form():
    x, y, x_test, y_test = _draw("complex_4d")
    ref = reference_for("complex_4d")
    assert ref.scores["mean"] == pytest.approx(np.mean((y_test - y.mean(axis=0)) ** 2), rel=1e-6)
    design = np.hstack([x, np.ones((len(x), 1))])
    coef = np.linalg.solve(design.T @ design, design.T @ y)  # the normal equations
    fitted = np.hstack([x_test, np.ones((len(x_test), 1))]) @ coef
    assert ref.scores["linear"] == pytest.approx(np.mean((y_test - fitted) ** 2), rel=1e-6)
    assert ref.scores["mean"] == float(f"{ref.scores['mean']:.6g}")  # six figures kept
    assert set(ref.scores) == {"mean", "linear", "knn"} and ref.metric == "mse"


def test_the_majority_class_and_the_network_s_tie_rule():
    _, y, _, y_test = _draw("checkerboard")
    majority = 1.0 if (y > 0).sum() >= (y < 0).sum() else -1.0
    ref = reference_for("checkerboard")
    assert ref.scores["majority"] == pytest.approx(np.mean(y_test == majority))
    assert set(ref.scores) == {"majority", "logistic", "knn"} and ref.metric == "accuracy"
    # spiral's two arms are drawn alike: a tie, and the zero logit reads +1
    _, y, _, y_test = _draw("spiral")
    assert (y > 0).sum() == (y < 0).sum()
    assert reference_for("spiral").scores["majority"] == pytest.approx(np.mean(y_test > 0))


def test_what_each_reference_can_and_cannot_fit():
    """Least squares cannot fit a spiral or a checkerboard; five neighbours can, nearly."""
    spiral, board = reference_for("spiral"), reference_for("checkerboard")
    assert spiral.scores["logistic"] < 0.75 and board.scores["logistic"] < 0.6
    assert spiral.scores["knn"] > 0.95 and board.scores["knn"] > 0.85
    # out of range, a line extrapolates worse than the constant: ood_shift's best is the mean
    assert reference_for("ood_shift").best[0] == "mean"


def test_held_out_points_are_left_out_as_a_run_leaves_them_out():
    _, y, _, y_test = _draw("nested_2d", validation=0.2)
    held = reference_for("nested_2d", 0, 0.2)
    assert held.scores["mean"] == pytest.approx(np.mean((y_test - y.mean(axis=0)) ** 2))
    assert held.scores["mean"] != reference_for("nested_2d").scores["mean"]


def test_references_follow_the_protocol_and_repeat_bit_for_bit():
    config = TrainConfig(data_seed=3)
    refs = references(["hifreq", "spiral"], config)
    assert list(refs) == ["hifreq", "spiral"]
    assert refs["hifreq"] == reference_for("hifreq", 3) != reference_for("hifreq", 0)
    reference_for.cache_clear()
    assert references(["hifreq"], config)["hifreq"] == refs["hifreq"]
    with pytest.raises(ValueError, match="unknown task"):
        reference_for("spirl")


@pytest.mark.parametrize("task", ["spiral", "checkerboard"])
def test_no_test_point_lies_so_near_the_logistic_boundary_that_another_cpu_could_flip_it(task):
    """Solved to 1e-10 on one thread, the fit differs between CPUs' BLAS kernels by far less
    than the smallest margin of a test point, so the accuracy is the same bits everywhere."""
    x, y, x_test, _ = _draw(task)
    model = logistic_model(x, (y[:, 0] > 0).astype(int))
    margins = np.abs(model.decision_function(x_test))
    assert margins.min() > 1e-6 * margins.max()
    assert model.n_iter_[0] < 100_000  # converged, not stopped
