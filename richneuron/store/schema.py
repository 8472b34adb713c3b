"""The result schema: a run (the unit results are keyed by), what it produced, and the identity
of its protocol. Plain dataclasses without torch, so the store, the experiments and the analysis
read results without importing the trainer (:mod:`richneuron.store.results` writes and reads them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..config import TrainConfig
from ..tasks import better, higher_is_better

__all__ = ["REFERENCE_TITLES", "Job", "Reference", "Run", "RunResult", "config_key"]


@dataclass(frozen=True)
class Run:
    """One training run, the unit results are keyed by."""

    arch: str
    task: str
    seed: int


@dataclass
class RunResult:
    """What one run produced (see :mod:`richneuron.store.results` for the stored schema)."""

    run: Run
    widths: list[int]  # hidden width of each layer, from budget matching
    params: int
    metric: str
    test_metric: float
    train_loss: float
    diverged: bool
    diverged_step: int | None
    loss_curve: list[float]  # training loss every ``log_every`` steps (and at the last step)
    test_curve: list[float]  # test metric at the same steps (generalisation over training)
    grad_norms: dict[str, list[float]]  # parameter group -> norm every ``log_every`` steps
    diagnostics: dict[str, list[float]]  # architecture internals every ``log_every`` steps
    wall_time: float  # seconds of this run's share of its chunk
    extra: dict[str, float] = field(default_factory=dict)


#: One unit of work: a run and the protocol it trains under.
Job = tuple[Run, TrainConfig]


def config_key(config: TrainConfig) -> str:
    """A hashable identity of a protocol (TrainConfig holds a dict, so it is not hashable)."""
    return json.dumps(config.to_dict(), sort_keys=True)


#: The reference predictors by their names (see :mod:`richneuron.train.predictors`).
REFERENCE_TITLES = {
    "mean": "training mean",
    "linear": "linear least squares",
    "majority": "majority class",
    "logistic": "logistic regression",
    "knn": "5 nearest neighbours",
}


@dataclass(frozen=True)
class Reference:
    """The reference predictors' test scores on one draw of a task
    (:func:`richneuron.train.predictors.reference_for` computes them).

    A network has learned something from a task only where it beats the best of the constant
    and the linear predictor (:attr:`best`): the training mean or least squares for regression,
    the majority class or logistic regression for classification. The nearest-neighbours score
    is shown for scale and not counted: it is itself a fit of the training points.
    """

    task: str
    metric: str
    scores: Mapping[str, float]  # by predictor name: mean, linear, knn or majority, logistic, knn

    @property
    def trivial(self) -> str:
        """The constant predictor: ``mean`` (MSE) or ``majority`` (accuracy)."""
        return "majority" if higher_is_better(self.metric) else "mean"

    @property
    def counted(self) -> tuple[str, str]:
        """The predictors a network must beat: the constant and the linear one."""
        return ("majority", "logistic") if higher_is_better(self.metric) else ("mean", "linear")

    @property
    def best(self) -> tuple[str, float]:
        """``(name, score)`` of the better of :attr:`counted` (the constant on a tie)."""
        first, second = ((n, self.scores[n]) for n in self.counted)
        return second if better(second[1], first[1], self.metric) else first

    def skill(self, value: float) -> float:
        """A network's score against the constant predictor: for MSE ``1 - MSE / MSE of the
        training mean`` (1 is perfect, 0 no better than the mean, below 0 worse); for
        accuracy the points above the majority class (``value - majority``, as a fraction)."""
        constant = self.scores[self.trivial]
        if higher_is_better(self.metric):
            return value - constant
        return 1.0 - value / constant if constant > 0 else float("nan")
