"""Two real data sets that need no download: scikit-learn's bundled ``load_digits`` and
``load_diabetes`` (the Real data chapter).

* ``digits``: 1,797 images of 8x8 pixels (64 inputs, 0 to 16), ten classes; kind
  ``"multiclass"`` (ten logits, one-hot targets), scored by accuracy.
* ``diabetes``: 442 patients, 10 inputs (age, sex, body-mass index, blood pressure and six serum
  measurements), the disease's progression a year later; regression, scored by MSE on the
  standardised target (so predicting the training mean scores about 1).

Each is split once per data seed, by a permutation drawn from the task's stream like every task
(:meth:`richneuron.tasks.synthetic.Task.generate`): :data:`TEST_SHARE` of the points are the test
set, the rest the training set. Inputs are standardised with the training points' mean and
standard deviation (a pixel constant there is left centred, not scaled), and so is diabetes'
target. The statistics are summed by ``math.fsum``, exactly rounded, so every CPU gets the same
bits.
"""

from __future__ import annotations

import functools
import importlib.util
import math

import numpy as np

from .synthetic import Arrays, Sampler, Task, make_task

__all__ = ["PACKAGE", "REAL_TASKS", "TEST_SHARE", "check_available", "real_task"]

#: Share of each data set's points held out as its test set.
TEST_SHARE = 0.25
#: The package the data sets come with (the name ``pip install`` takes).
PACKAGE = "scikit-learn"


def check_available(name: str) -> None:
    """Refuses, with one line naming the package to install, when scikit-learn is missing."""
    if importlib.util.find_spec("sklearn") is None:
        raise ValueError(f"task {name!r} needs the package {PACKAGE}: pip install {PACKAGE}")


def _columns(x: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """``x`` standardised by the mean and standard deviation of ``fit``'s columns (exactly
    rounded sums; a constant column is centred only)."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        col = fit[:, j]
        mean = math.fsum(col) / len(col)
        std = math.sqrt(math.fsum((col - mean) ** 2) / len(col))
        out[:, j] = (x[:, j] - mean) / (std if std > 0 else 1.0)
    return out


def _sampler(loader: str, classes: int | None) -> Sampler:
    def sample(rng: np.random.Generator, n_train: int, n_test: int) -> Arrays:
        from sklearn import datasets

        x, y = getattr(datasets, loader)(return_X_y=True)
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
        order = rng.permutation(len(x))
        train, test = order[:n_train], order[n_train : n_train + n_test]
        x_tr, x_te = _columns(x[train], x[train]), _columns(x[test], x[train])
        if classes is not None:
            onehot = np.eye(classes)[y.astype(np.int64)]
            return x_tr, onehot[train], x_te, onehot[test]
        target = y.astype(np.float64)[:, None]
        return x_tr, _columns(target[train], target[train]), x_te, _columns(
            target[test], target[train]
        )

    return sample


def _split(n: int) -> tuple[int, int]:
    test = math.ceil(n * TEST_SHARE)
    return n - test, test


_DIGITS = make_task(
    "digits",
    "Handwritten digits (scikit-learn, 8x8 pixels, 10 classes)",
    "multiclass",
    "real",
    (64, 10),
    r"x \in \{0, \dots, 16\}^{64}\ \text{(pixels, standardised)},\ y \in \{0, \dots, 9\}",
    "1,347 of the 1,797 images of sklearn.datasets.load_digits, by a seeded permutation",
    "the other 450 images",
    "none added",
    _sampler("load_digits", 10),
    n=_split(1797),
)
_DIABETES = make_task(
    "diabetes",
    "Diabetes progression (scikit-learn, 10 inputs, regression)",
    "regression",
    "real",
    (10, 1),
    r"x \in \mathbb{R}^{10}\ \text{(standardised)},\ y = \text{progression after a year "
    r"(standardised)}",
    "331 of the 442 patients of sklearn.datasets.load_diabetes, by a seeded permutation",
    "the other 111 patients",
    "none added (measured data)",
    _sampler("load_diabetes", None),
    n=_split(442),
)

#: The real data sets, by id.
REAL_TASKS: dict[str, Task] = {t.name: t for t in (_DIGITS, _DIABETES)}


@functools.lru_cache(maxsize=8)
def real_task(name: str) -> Task:
    """The real data set ``name`` (a key of :data:`REAL_TASKS`), once scikit-learn is there.

    Raises:
        ValueError: one line naming the package, if scikit-learn is missing.
    """
    check_available(name)
    return REAL_TASKS[name]
