"""Reference predictors: what a network must beat on a task to have learned anything from it.

Each is fitted on the very points a run trains on (the task's draw ``config.data_seed``, less the
points ``config.validation`` holds out, by :func:`~richneuron.train.reference.split_validation`)
and scored on its test points with the network's own metric
(:func:`~richneuron.train.reference.task_error`):

* regression: ``mean``, the training targets' mean (the constant of least training MSE), and
  ``linear``, least squares on the inputs with an intercept (``numpy.linalg.lstsq``, float64);
* classification: ``majority``, the most frequent training class (a tie goes to the class the
  network's rule picks at a zero logit: +1, or the first), and ``logistic``, logistic regression
  (scikit-learn's ``LogisticRegression``, L2 with ``C = 1``, solved to :data:`LOGISTIC_TOL`);
* both: ``knn``, the mean (regression) or vote (classification) of the 5 nearest training points
  (scikit-learn's ``KNeighborsRegressor`` / ``KNeighborsClassifier``): a non-parametric fit,
  shown for scale, not counted among the references a network must beat (see
  :class:`richneuron.store.schema.Reference`).

Closed form or deterministic solvers on a few hundred points: milliseconds a task, so they are
computed where they are shown, not stored. Each score keeps :data:`DIGITS` significant figures,
so that another CPU's BLAS kernels (their last bits differ) print the same page and CSV.
"""

from __future__ import annotations

import functools
from types import MappingProxyType

import numpy as np
import torch

from ..config import TrainConfig
from ..store.schema import Reference
from ..tasks import get_task
from .reference import split_validation, task_error

__all__ = [
    "DIGITS",
    "KNN_NEIGHBOURS",
    "LOGISTIC_TOL",
    "logistic_model",
    "reference_for",
    "references",
]

#: Neighbours of the k-nearest-neighbours predictor.
KNN_NEIGHBOURS = 5
#: Significant figures a reference's score keeps (see :func:`_rounded`).
DIGITS = 6
#: The logistic regression's tolerance: solved to convergence, not to scikit-learn's 1e-4.
LOGISTIC_TOL = 1e-10


def references(tasks: list[str] | tuple[str, ...], config: TrainConfig) -> dict[str, Reference]:
    """The reference predictors' test scores on each task's draw under ``config``."""
    return {task: reference_for(task, config.data_seed, config.validation) for task in tasks}


@functools.lru_cache(maxsize=256)
def reference_for(task: str, data_seed: int = 0, validation: float = 0.0) -> Reference:
    """The reference predictors' test scores on ``task``'s draw ``data_seed``, with the share
    ``validation`` of its training points held out as a run holds them out."""
    spec = get_task(task)
    config = TrainConfig(data_seed=data_seed, validation=validation)
    data, _, _ = split_validation(spec.generate(data_seed), config)
    x, y = data.x_train.double().numpy(), data.y_train.double().numpy()
    x_test = data.x_test.double().numpy()
    if spec.kind == "regression":
        predictions = {
            "mean": np.broadcast_to(y.mean(axis=0), (len(x_test), y.shape[1])),
            "linear": _least_squares(x, y, x_test),
            "knn": _knn(x, y, x_test, classify=False),
        }
    else:
        labels = _labels(y)
        predictions = {
            "majority": _as_logits(_majority(labels), len(x_test), y.shape[1]),
            "logistic": _as_logits(_logistic(x, labels, x_test), len(x_test), y.shape[1]),
            "knn": _as_logits(_knn(x, labels, x_test, classify=True), len(x_test), y.shape[1]),
        }
    target = data.y_test.double()
    scores = {
        name: _rounded(task_error(torch.from_numpy(np.ascontiguousarray(p)), target, spec.metric))
        for name, p in predictions.items()
    }
    return Reference(task=task, metric=spec.metric, scores=MappingProxyType(scores))  # cached


def _rounded(score: torch.Tensor) -> float:
    """A score to :data:`DIGITS` significant figures: numpy's and OpenBLAS's kernels differ by
    CPU (AVX2 or AVX-512), and their last bits must not reach a page or a CSV file."""
    return float(f"{float(score):.{DIGITS}g}")


def _least_squares(x: np.ndarray, y: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    design = np.hstack([x, np.ones((len(x), 1))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.hstack([x_test, np.ones((len(x_test), 1))]) @ coef


def _labels(y: np.ndarray) -> np.ndarray:
    """Class indices: ``±1`` labels to 0/1 (+1 is class 1), one-hot rows to their column."""
    return (y[:, 0] > 0).astype(int) if y.shape[1] == 1 else y.argmax(axis=1)


def _majority(labels: np.ndarray) -> np.ndarray:
    counts = np.bincount(labels)
    if len(counts) == 2 and counts[0] == counts[1]:
        return np.array([1])  # a zero logit reads as +1: the network's rule at a tie
    return np.array([int(counts.argmax())])


def _logistic(x: np.ndarray, labels: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    return logistic_model(x, labels).predict(x_test)


def logistic_model(x: np.ndarray, labels: np.ndarray):
    """scikit-learn's ``LogisticRegression`` (L2, ``C = 1``) fitted to convergence: with
    :data:`LOGISTIC_TOL` and one BLAS thread, another CPU's kernels move its coefficients by
    far less than any test point's margin, so the same points fall on the same side."""
    from sklearn.linear_model import LogisticRegression  # only where a reference is computed
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return LogisticRegression(tol=LOGISTIC_TOL, max_iter=100_000).fit(x, labels)


def _knn(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, classify: bool) -> np.ndarray:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    model = KNeighborsClassifier if classify else KNeighborsRegressor
    prediction = model(n_neighbors=KNN_NEIGHBOURS).fit(x, y).predict(x_test)
    return prediction if classify else prediction.reshape(len(x_test), -1)


def _as_logits(classes: np.ndarray, n: int, outputs: int) -> np.ndarray:
    """Predicted classes as the network's outputs: a ±1 logit, or a one-hot row per point."""
    classes = np.broadcast_to(classes, (n,))
    if outputs == 1:
        return np.where(classes == 1, 1.0, -1.0)[:, None]
    return np.eye(outputs)[classes]
