"""The training protocol: every choice the original study left open, in one place.

The original benchmark published neither its optimiser, learning rate, step count, frequency
``omega``, depth, initialisation nor budgets per task. :class:`TrainConfig` holds this
repository's choices, each with the reason for it; :func:`assumptions_table` turns them into
rows the book's Method chapter prints as the "reproduction assumptions" table.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

__all__ = ["TrainConfig", "assumptions_table", "DEFAULT_BUDGET", "SCHEDULES"]

#: Learning-rate schedules: ``constant``; ``cosine``, ``lr · ½(1 + cos(π k / steps))``; ``linear``,
#: ``lr · (1 − k / steps)``, where k is the number of updates already made (both decay to 0).
SCHEDULES = ("constant", "cosine", "linear")

#: Parameter budget of every task (the original matched 3K-8K; its memorise task used ~5K).
DEFAULT_BUDGET = 5000


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrainConfig:
    """Training protocol shared by every chapter (Method chapter, "Training protocol").

    Every field changes the result, so every field is part of the results-cache key.
    """

    steps: int = 2000  # full-batch Adam steps: the whole study must train in ~10 min on 2 cores
    lr: float = 3e-3  # Adam learning rate, one for every architecture (not tuned per neuron)
    beta1: float = 0.9  # Adam defaults (torch.optim.Adam)
    beta2: float = 0.999
    eps: float = 1e-8
    omega: float = 1.0  # fixed frequency of the sine branch; with default init g is O(1)
    depth: int = 2  # hidden layers before the linear read-out
    budget: int = DEFAULT_BUDGET  # trainable parameters per network, matched within tolerance
    tolerance: float = 0.02  # allowed relative deviation from the budget (original: ~5%)
    rank: int = 8  # rank of the v4 low-rank factors (the original did not say)
    data_seed: int = 0  # every architecture and seed sees the same data set (paired comparison)
    log_every: int = 50  # steps between recorded loss / gradient-norm / diagnostic samples
    budgets: dict[str, int] = field(default_factory=dict)  # per-task overrides of `budget`
    init_scale: float = 1.0  # factor on every initial weight and bias (fair tuning)
    validation: float = 0.0  # share of the training points held out to tune on (fair tuning)
    kan_grid: int = 5  # intervals of KAN's spline grid on [-1, 1] (efficient-kan's default)
    schedule: str = "constant"  # learning rate over the steps (SCHEDULES)

    def __post_init__(self) -> None:
        # An integer given for a float setting (omega=1) is that float: one protocol, one key.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and _is_int(value):
                object.__setattr__(self, f.name, float(value))
        finite = "a finite number"
        checks = {  # name: (holds, what the value must be)
            "steps": (_is_int(self.steps) and self.steps >= 1, "an integer >= 1"),
            "lr": (_is_real(self.lr) and 0 < self.lr < math.inf, f"{finite} > 0"),
            "beta1": (_is_real(self.beta1) and 0 <= self.beta1 < 1, "a number in [0, 1)"),
            "beta2": (_is_real(self.beta2) and 0 <= self.beta2 < 1, "a number in [0, 1)"),
            "eps": (_is_real(self.eps) and 0 < self.eps < math.inf, f"{finite} > 0"),
            "omega": (_is_real(self.omega) and 0 < self.omega < math.inf, f"{finite} > 0"),
            "depth": (_is_int(self.depth) and self.depth >= 1, "an integer >= 1"),
            "budget": (_is_int(self.budget) and self.budget >= 1, "an integer >= 1"),
            "tolerance": (
                _is_real(self.tolerance) and 0 < self.tolerance < 1,
                "a number in (0, 1)",
            ),
            "rank": (_is_int(self.rank) and self.rank >= 1, "an integer >= 1"),
            "data_seed": (_is_int(self.data_seed) and self.data_seed >= 0, "an integer >= 0"),
            "log_every": (_is_int(self.log_every) and self.log_every >= 1, "an integer >= 1"),
            "kan_grid": (_is_int(self.kan_grid) and self.kan_grid >= 1, "an integer >= 1"),
            "init_scale": (
                _is_real(self.init_scale) and 0 < self.init_scale < math.inf,
                f"{finite} > 0",
            ),
            "validation": (
                _is_real(self.validation) and 0 <= self.validation <= 0.5,
                "a number in [0, 0.5]",
            ),
        }
        checks["schedule"] = (self.schedule in SCHEDULES, f"one of {', '.join(SCHEDULES)}")
        for name, (ok, must) in checks.items():
            if not ok:
                raise ValueError(f"invalid {name}={getattr(self, name)!r}: must be {must}")
        for task, value in self.budgets.items():
            if not _is_int(value) or value < 1:
                raise ValueError(f"invalid budgets[{task!r}]={value!r}: must be a positive int")

    def lr_factor(self, k: int) -> float:
        """The schedule's factor on ``lr`` for the update after ``k`` updates (``0 <= k <
        steps``), in double precision: what ``torch.optim.lr_scheduler.LambdaLR`` multiplies the
        learning rate by (the reference trainer uses it there)."""
        k = min(k, self.steps)  # past the last step the rate stays at 0
        if self.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * k / self.steps))
        if self.schedule == "linear":
            return 1.0 - k / self.steps
        return 1.0

    def lr_at(self, k: int) -> float:
        """The learning rate of the update after ``k`` updates: ``lr`` times :meth:`lr_factor`
        (``lr`` itself under the constant schedule)."""
        return self.lr if self.schedule == "constant" else self.lr * self.lr_factor(k)

    def budget_for(self, task: str) -> int:
        """The parameter budget of ``task`` (a per-task override, else ``budget``)."""
        return self.budgets.get(task, self.budget)

    def replace(self, **changes: object) -> TrainConfig:
        """A copy with ``changes`` applied (validated)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {self.field_names()}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def changes(self) -> dict[str, object]:
        """The settings that differ from the default protocol's (a spec's ``base``)."""
        default = TrainConfig()
        return {k: v for k, v in self.to_dict().items() if getattr(default, k) != v}

    def to_dict(self) -> dict[str, object]:
        """Every setting, except those added after results were first stored
        (:data:`LATER_FIELDS`) while they hold their default: a protocol made before they
        existed keeps its results-cache key and its stored form."""
        doc = dataclasses.asdict(self)
        for name, default in LATER_FIELDS.items():
            if doc[name] == default:
                del doc[name]
        return doc


#: Settings added after results were stored, with the default they are left out at.
LATER_FIELDS = {"init_scale": 1.0, "validation": 0.0, "kan_grid": 5, "schedule": "constant"}


_WHY = {
    "steps": "Full-batch Adam steps per run, sized so the whole study trains in ~10 min here.",
    "lr": "Adam learning rate. Chosen once for all architectures, not tuned per architecture.",
    "beta1": "Adam first-moment decay (PyTorch default).",
    "beta2": "Adam second-moment decay (PyTorch default).",
    "eps": "Adam epsilon (PyTorch default).",
    "omega": "Fixed sine frequency omega (learned per input only in v7 and v9).",
    "depth": "Hidden layers of the rich neuron before a linear read-out.",
    "budget": "Trainable parameters per network (original: 3K-8K; memorise ~5K).",
    "tolerance": "Largest relative deviation from the budget after width matching (original ~5%).",
    "rank": "Rank of the v4 low-rank factors.",
    "data_seed": "Seed of the task data; the run seed sets only the initialisation.",
    "log_every": "Steps between recorded loss, gradient-norm and diagnostic samples.",
    "init_scale": "Factor on every initial weight and bias; 1 keeps each layer's own init.",
    "validation": "Share of the training points held out (fair tuning only); 0: train on all.",
    "kan_grid": "Intervals of KAN's spline grid on [-1, 1] (efficient-kan's default; tuned).",
    "schedule": "Learning rate over the steps (constant; the Capacity chapter decays it to 0).",
}


def assumptions_table(config: TrainConfig | None = None) -> list[dict[str, str]]:
    """Rows ``{"setting", "value", "why"}`` for every protocol choice of ``config``."""
    config = config or TrainConfig()
    rows = []
    for name in TrainConfig.field_names():
        if name == "budgets":
            continue
        rows.append({"setting": name, "value": str(getattr(config, name)), "why": _WHY[name]})
    rows.append(
        {
            "setting": "optimiser",
            "value": "Adam, full batch, no schedule, no weight decay",
            "why": "The simplest protocol that trains every architecture.",
        }
    )
    rows.append(
        {
            "setting": "init",
            "value": "U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases",
            "why": "PyTorch's nn.Linear default, drawn per run from its own seed.",
        }
    )
    rows.append(
        {"setting": "precision", "value": "float32 on CPU", "why": "What the original ran."}
    )
    return rows
