"""The result schema: a run (the unit results are keyed by), what it produced, and the identity
of its protocol. Plain dataclasses without torch, so the store, the experiments and the analysis
read results without importing the trainer (:mod:`richneuron.store.results` writes and reads them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..config import TrainConfig

__all__ = ["Job", "Run", "RunResult", "config_key"]


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
