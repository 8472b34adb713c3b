"""The nine synthetic tasks: seeded, explicit data generators (the book's "Tasks" chapter).

The original study's generators are not public, so every formula, domain,
constant and point count below is this repository's decision; each one is
stated in a :class:`Task`'s fields so the book can print it verbatim.

Conventions the trainer relies on:

* Regression targets and classification labels are float32 ``[N, out_dim]``.
* Classification is binary with one output: labels are ``-1.0`` or ``+1.0``;
  the model emits a logit whose sign (``0`` counts as ``+1``) is the class.
* Multi-class classification (kind ``"multiclass"``, the capacity chapter's random labels of
  K > 2 classes) has K outputs: targets are one-hot rows, the model emits K logits and its
  class is the first largest one.
* The random-data tasks of the capacity chapter are not in :data:`TASKS`: their ids carry the
  point count (``random_reg_n<N>``, ``random_k<K>_n<N>``) and :func:`get_task` builds them on
  demand (:func:`random_task`).
* Five tasks have a difficulty knob (:data:`KNOBS`): :func:`build` makes the task at other
  values (``checkerboard@freq=5``, :mod:`richneuron.tasks.knobs` parses the id). A task at other
  knob values draws from its base task's stream: the same draws, so the same input points
  (spiral's knobs move its points along the same draws) and only what the knob changes differs.
* ``generate(seed)`` is bit-identical across machines: numbers are drawn from
  ``numpy.random.PCG64`` seeded by ``(crc32(task name), seed)`` (the base task's name for a
  task at other knob values), formulas are
  evaluated in float64, and the results are cast to float32 only at the end.
  Within a task the train set is drawn before the test set.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the tensors of TaskData; torch itself is imported by generate alone
    import torch

__all__ = [
    "GENERALISATION_TASKS",
    "KNOBS",
    "RANDOM_FORMS",
    "STANDARD_TASKS",
    "TASKS",
    "Knob",
    "Task",
    "TaskData",
    "build",
    "random_task",
]

PI = math.pi
N_POINTS = 500  # train and test points of every task except memorize (a run-time budget choice)
MEMORIZE_POINTS = 200  # memorize: 200 points, scored on the same points
MEMORIZE_IN, MEMORIZE_OUT = 8, 4
COMPLEX_SQUARE = 0.5  # complex_4d: weight of the x3^2 term
NESTED_FREQ = 2.0  # nested_2d: outer frequency, in multiples of pi (a knob)
HIFREQ_LOW, HIFREQ_RATIO, HIFREQ_AMP = 16.0, 2.5, 0.5  # hifreq: 16 pi and 2.5 x 16 pi = 40 pi
SPIRAL_TURNS = 1.75  # spiral: turns of each arm, radius grows 0 -> 1 (a knob)
SPIRAL_NOISE = 0.04  # spiral: Gaussian std on each coordinate (a knob)
CHECKER_FREQ = 2.0  # checkerboard: sin(k pi x) with k = 2, a 4x4 board (a knob)
COMPLEX_FREQ = 1.0  # complex_4d: frequency of its two periodic terms, in multiples of pi
OOD_FREQ, OOD_SLOPE = 3.0, 0.5  # ood_shift: y = sin(3x) + 0.5x
OOD_TEST_LOW, OOD_TEST_HIGH = 1.0, 2.0  # ood_shift: test interval
FREQ_TRAIN = (PI, 2 * PI)  # freq_gen: training frequencies k ~ U[pi, 2pi]
FREQ_TEST = 10 * PI  # freq_gen: the unseen test frequency
MIXED_TRAIN = (2 * PI, 4 * PI)  # mixed_freq: training frequencies
MIXED_TEST = 20 * PI  # mixed_freq: the unseen test frequency
MIXED_RATIO = 2.5  # mixed_freq: second component at 2.5 k
MAX_POINTS = 1 << 20  # random-data tasks: the largest point count accepted
MAX_CLASSES = 1024  # random-data tasks: the most classes accepted
RANDOM_ID = re.compile(r"random_(?:reg|k(\d+))_n(\d+)")

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Sampler = Callable[[np.random.Generator, int, int], Arrays]


@dataclass(frozen=True)
class TaskData:
    """One draw of a task's data, all float32.

    Attributes:
        x_train: Inputs, ``[n_train, in_dim]``.
        y_train: Targets (labels in {-1, +1} for classification), ``[n_train, out_dim]``.
        x_test: Inputs, ``[n_test, in_dim]``.
        y_test: Targets, ``[n_test, out_dim]``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class Task:
    """A task: its documented definition and its seeded generator.

    Attributes:
        name: Registry id, e.g. ``"nested_2d"``.
        title: Human title.
        kind: ``"regression"``, ``"classification"`` (binary, one logit) or ``"multiclass"``
            (K logits, one-hot targets).
        metric: ``"mse"`` (lower is better) or ``"accuracy"`` (higher is better).
        group: ``"standard"``, ``"generalisation"`` or ``"capacity"`` (random data).
        in_dim: Input width.
        out_dim: Output width (1 for classification: a single logit).
        n_train: Training points.
        n_test: Test points.
        formula: The generating formula as LaTeX math, without ``$``.
        train_domain: Where training inputs come from, plain text.
        test_domain: Where test inputs come from, plain text.
        noise: Noise added, plain text.
        base: The task whose stream it draws from (a task at other knob values: its base
            task's id); empty for the others, which draw from their own name's.
    """

    name: str
    title: str
    kind: str
    metric: str
    group: str
    in_dim: int
    out_dim: int
    n_train: int
    n_test: int
    formula: str
    train_domain: str
    test_domain: str
    noise: str
    _sampler: Sampler = field(repr=False, compare=False)
    base: str = ""

    def generate(self, seed: int = 0) -> TaskData:
        """Draws the task's train and test sets.

        Args:
            seed: Non-negative integer; with the task name it fixes the stream.

        Returns:
            TaskData with float32 tensors of the shapes documented on it.

        Raises:
            ValueError: If ``seed`` is not a non-negative integer.
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        import torch  # here, not at the top: the catalogue of tasks is read without torch

        entropy = [zlib.crc32((self.base or self.name).encode("utf-8")), int(seed)]
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
        arrays = self._sampler(rng, self.n_train, self.n_test)
        expected = [
            (self.n_train, self.in_dim),
            (self.n_train, self.out_dim),
            (self.n_test, self.in_dim),
            (self.n_test, self.out_dim),
        ]
        tensors = []
        for array, shape in zip(arrays, expected, strict=True):
            if array.shape != shape:  # a generator bug, never user error
                raise RuntimeError(f"{self.name}: shape {array.shape} != {shape}")
            tensors.append(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))
        return TaskData(*tensors)

    def describe(self) -> dict[str, object]:
        """Returns the public fields as plain data (for tables)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if not f.name.startswith("_") and f.name != "base"
        }


# --- samplers: (rng, n_train, n_test) -> float64 (x_train, y_train, x_test, y_test)


def _regression(
    fn: Callable[[np.ndarray], np.ndarray],
    in_dim: int,
    test_range: tuple[float, float] = (-1.0, 1.0),
) -> Sampler:
    """Sampler for y = fn(x), x ~ U[-1,1]^in_dim (train), U[test_range]^in_dim (test)."""

    def sample(rng: np.random.Generator, n_train: int, n_test: int) -> Arrays:
        x_tr = rng.uniform(-1.0, 1.0, size=(n_train, in_dim))
        x_te = rng.uniform(*test_range, size=(n_test, in_dim))
        return x_tr, fn(x_tr)[:, None], x_te, fn(x_te)[:, None]

    return sample


def _complex_4d(freq: float) -> Callable[[np.ndarray], np.ndarray]:
    w = freq * PI

    def fn(x: np.ndarray) -> np.ndarray:
        x1, x2, x3, x4 = x.T
        return np.sin(w * x1 * x2) + x1 * np.cos(w * (x3 + x4)) + COMPLEX_SQUARE * x3**2

    return fn


def _nested_2d(freq: float) -> Callable[[np.ndarray], np.ndarray]:
    w = freq * PI

    def fn(x: np.ndarray) -> np.ndarray:
        x1, x2 = x.T
        return np.sin(w * x1 * np.sin(PI * x2)) * np.cos(w * x2 * np.cos(PI * x1))

    return fn


def _hifreq(freq: float) -> Callable[[np.ndarray], np.ndarray]:
    low, high = freq * PI, (HIFREQ_RATIO * freq) * PI

    def fn(x: np.ndarray) -> np.ndarray:
        return np.sin(low * x[:, 0]) + HIFREQ_AMP * np.sin(high * x[:, 0])

    return fn


def _ood_shift(x: np.ndarray) -> np.ndarray:
    return np.sin(OOD_FREQ * x[:, 0]) + OOD_SLOPE * x[:, 0]


def _memorize(rng: np.random.Generator, n_train: int, n_test: int) -> Arrays:
    x = rng.standard_normal((n_train, MEMORIZE_IN))
    y = rng.standard_normal((n_train, MEMORIZE_OUT))
    return x, y, x.copy(), y.copy()


def _random_labels(classes: int) -> Sampler:
    """x ~ N(0, I_8), labels uniform on ``classes`` classes, drawn after x; scored on the same
    points. Two classes: one ±1 label (class 0 is -1); more: one-hot rows."""

    def sample(rng: np.random.Generator, n_train: int, n_test: int) -> Arrays:
        x = rng.standard_normal((n_train, MEMORIZE_IN))
        labels = rng.integers(0, classes, size=n_train)
        if classes == 2:
            y = np.where(labels == 1, 1.0, -1.0)[:, None]
        else:
            y = np.eye(classes)[labels]
        return x, y, x.copy(), y.copy()

    return sample


def _spiral(turns: float, noise: float) -> Sampler:
    """Exactly n//2 points per arm (+1 first), then shuffled; n must be even."""

    def one_set(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.where(np.arange(n) < n // 2, 1.0, -1.0)
        s = rng.uniform(0.0, 1.0, size=n)
        theta = 2 * PI * turns * s + np.where(labels > 0, 0.0, PI)
        x = np.stack([s * np.cos(theta), s * np.sin(theta)], axis=1)
        x = x + noise * rng.standard_normal((n, 2))
        order = rng.permutation(n)
        return x[order], labels[order, None]

    def sample(rng: np.random.Generator, n_train: int, n_test: int) -> Arrays:
        return (*one_set(rng, n_train), *one_set(rng, n_test))

    return sample


def _checkerboard(freq: float) -> Sampler:
    w = freq * PI

    def labels(x: np.ndarray) -> np.ndarray:
        prod = np.sin(w * x[:, 0]) * np.sin(w * x[:, 1])
        return np.where(prod >= 0, 1.0, -1.0)[:, None]

    def sample(rng: np.random.Generator, n_train: int, n_test: int) -> Arrays:
        x_tr = rng.uniform(-1.0, 1.0, size=(n_train, 2))
        x_te = rng.uniform(-1.0, 1.0, size=(n_test, 2))
        return x_tr, labels(x_tr), x_te, labels(x_te)

    return sample


def _frequency(
    train_k: tuple[float, float], test_k: float, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> Sampler:
    """Sampler for inputs (x, c = k / test_k), y = fn(k, x); test at k = test_k, c = 1."""

    def sample(rng: np.random.Generator, n_train: int, n_test: int) -> Arrays:
        x_tr = rng.uniform(-1.0, 1.0, size=n_train)
        k_tr = rng.uniform(*train_k, size=n_train)
        x_te = rng.uniform(-1.0, 1.0, size=n_test)
        k_te = np.full(n_test, test_k)
        inputs_tr = np.stack([x_tr, k_tr / test_k], axis=1)
        inputs_te = np.stack([x_te, k_te / test_k], axis=1)
        return inputs_tr, fn(k_tr, x_tr)[:, None], inputs_te, fn(k_te, x_te)[:, None]

    return sample


def _mixed(k: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.sin(k * x) + np.sin(MIXED_RATIO * k * x))


def make_task(
    name: str,
    title: str,
    kind: str,
    group: str,
    dims: tuple[int, int],
    formula: str,
    train: str,
    test: str,
    noise: str,
    sampler: Sampler,
    n: tuple[int, int] = (N_POINTS, N_POINTS),
) -> Task:
    metric = "mse" if kind == "regression" else "accuracy"
    return Task(
        name,
        title,
        kind,
        metric,
        group,
        dims[0],
        dims[1],
        n[0],
        n[1],
        formula,
        train,
        test,
        noise,
        sampler,
    )


_FRESH = "fresh points from the training distribution"
_U1 = "x ~ U[-1,1]"


def _pi(multiple: float) -> str:
    r"""``multiple`` pi as LaTeX: ``\pi``, ``2\pi``, ``3.5\pi``."""
    return r"\pi" if multiple == 1 else f"{multiple:g}" + r"\pi"


def _complex_task(name: str, freq: float) -> Task:
    w = _pi(freq)
    return make_task(
        name,
        "Compositional 4-D regression",
        "regression",
        "standard",
        (4, 1),
        rf"y = \sin({w} x_1 x_2) + x_1 \cos({w} (x_3 + x_4)) + 0.5\, x_3^2",
        "x ~ U[-1,1]^4",
        _FRESH,
        "none",
        _regression(_complex_4d(freq), 4),
    )


def _nested_task(name: str, freq: float) -> Task:
    w = _pi(freq)
    return make_task(
        name,
        "Nested multiplicative periodic (2-D)",
        "regression",
        "standard",
        (2, 1),
        rf"y = \sin({w} x_1 \sin(\pi x_2)) \cos({w} x_2 \cos(\pi x_1))",
        "x ~ U[-1,1]^2",
        _FRESH,
        "none",
        _regression(_nested_2d(freq), 2),
    )


def _hifreq_task(name: str, freq: float) -> Task:
    return make_task(
        name,
        "High-frequency 1-D signal",
        "regression",
        "standard",
        (1, 1),
        rf"y = \sin({_pi(freq)} x) + 0.5 \sin({_pi(HIFREQ_RATIO * freq)} x)",
        _U1,
        _FRESH,
        "none",
        _regression(_hifreq(freq), 1),
    )


def _spiral_task(name: str, turns: float, noise: float) -> Task:
    return make_task(
        name,
        "Two interleaved spirals",
        "classification",
        "standard",
        (2, 1),
        rf"s \sim U[0,1],\ \theta = {_pi(2 * turns)} s + \pi [y = -1],\ "
        r"x = s (\cos\theta, \sin\theta) + \varepsilon,\ "
        rf"\varepsilon \sim \mathcal{{N}}(0, {noise:g}^2 I_2)",
        f"exactly n/2 points per arm (label +1 / -1), shuffled; {turns:g} turns, radius s <= 1",
        "a fresh draw, same distribution",
        f"Gaussian, std {noise:g} on coordinates",
        _spiral(turns, noise),
    )


def _checkerboard_task(name: str, freq: float) -> Task:
    w, cells = _pi(freq), f"{2 * freq:g}"
    return make_task(
        name,
        f"Checkerboard ({cells}x{cells})",
        "classification",
        "standard",
        (2, 1),
        rf"y = \operatorname{{sign}}(\sin({w} x_1) \sin({w} x_2)),\ \operatorname{{sign}}(0) = +1",
        "x ~ U[-1,1]^2",
        _FRESH,
        "none",
        _checkerboard(freq),
    )


@dataclass(frozen=True)
class Knob:
    """A difficulty knob of a task: its name in a task id, its value in the nine tasks, the
    range a task id may set it to, and what it is."""

    name: str
    default: float
    low: float
    high: float
    doc: str


#: The tasks with difficulty knobs: each one's knobs (in the order an id writes them) and the
#: function that builds the task at given values (:func:`build`).
KNOBS: dict[str, tuple[tuple[Knob, ...], Callable[..., Task]]] = {
    "complex_4d": (
        (Knob("freq", COMPLEX_FREQ, 0.25, 16.0, "frequency of the two periodic terms, x pi"),),
        _complex_task,
    ),
    "nested_2d": (
        (Knob("freq", NESTED_FREQ, 0.25, 16.0, "outer frequency of both factors, x pi"),),
        _nested_task,
    ),
    "hifreq": (
        (Knob("freq", HIFREQ_LOW, 1.0, 128.0, "the low frequency, x pi (the high one is 2.5x)"),),
        _hifreq_task,
    ),
    "spiral": (
        (
            Knob("turns", SPIRAL_TURNS, 0.25, 8.0, "turns of each arm"),
            Knob("noise", SPIRAL_NOISE, 0.0, 0.5, "Gaussian std added to each coordinate"),
        ),
        _spiral_task,
    ),
    "checkerboard": (
        (Knob("freq", CHECKER_FREQ, 0.5, 32.0, "sine frequency x pi (2 freq cells a side)"),),
        _checkerboard_task,
    ),
}


def build(name: str, base: str, values: dict[str, float]) -> Task:
    """``base``'s task with its knobs at ``values`` (the others at their defaults), named
    ``name`` and drawing from ``base``'s stream. The caller checks the values
    (:func:`richneuron.tasks.knobs.variant`)."""
    knobs, make = KNOBS[base]
    task = make(name, *(values.get(k.name, k.default) for k in knobs))
    return dataclasses.replace(task, base=base)

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        _complex_task("complex_4d", COMPLEX_FREQ),
        _nested_task("nested_2d", NESTED_FREQ),
        _hifreq_task("hifreq", HIFREQ_LOW),
        make_task(
            "memorize",
            "Memorise 200 random points (8-D to 4-D)",
            "regression",
            "standard",
            (MEMORIZE_IN, MEMORIZE_OUT),
            r"x \sim \mathcal{N}(0, I_8),\ y \sim \mathcal{N}(0, I_4)",
            "x ~ N(0, I_8), y ~ N(0, I_4), independent",
            "the training points",
            "none",
            _memorize,
            n=(MEMORIZE_POINTS, MEMORIZE_POINTS),
        ),
        _spiral_task("spiral", SPIRAL_TURNS, SPIRAL_NOISE),
        _checkerboard_task("checkerboard", CHECKER_FREQ),
        make_task(
            "ood_shift",
            "Out-of-distribution shift (1-D)",
            "regression",
            "generalisation",
            (1, 1),
            r"y = \sin(3x) + 0.5 x",
            _U1,
            "x ~ U[1,2]",
            "none",
            _regression(_ood_shift, 1, (OOD_TEST_LOW, OOD_TEST_HIGH)),
        ),
        make_task(
            "freq_gen",
            "Frequency generalisation (train up to 2pi, test 10pi)",
            "regression",
            "generalisation",
            (2, 1),
            r"y = \sin(k x),\ \text{input } (x, c),\ c = k / (10\pi)",
            "x ~ U[-1,1], k ~ U[pi, 2pi] per point, input (x, c = k/(10 pi)), c in [0.1, 0.2]",
            "fresh x ~ U[-1,1] at the unseen k = 10 pi, so c = 1",
            "none",
            _frequency(FREQ_TRAIN, FREQ_TEST, lambda k, x: np.sin(k * x)),
        ),
        make_task(
            "mixed_freq",
            "Mixed frequencies (train up to 4pi, test 20pi)",
            "regression",
            "generalisation",
            (2, 1),
            r"y = \tfrac{1}{2}(\sin(k x) + \sin(2.5 k x)),\ \text{input } (x, c),\ c = k / (20\pi)",
            "x ~ U[-1,1], k ~ U[2pi, 4pi] per point, input (x, c = k/(20 pi)), c in [0.1, 0.2]",
            "fresh x ~ U[-1,1] at the unseen k = 20 pi, so c = 1",
            "none",
            _frequency(MIXED_TRAIN, MIXED_TEST, _mixed),
        ),
    )
}

STANDARD_TASKS: tuple[str, ...] = tuple(n for n, t in TASKS.items() if t.group == "standard")
GENERALISATION_TASKS: tuple[str, ...] = tuple(
    n for n, t in TASKS.items() if t.group == "generalisation"
)
RANDOM_FORMS = "random_reg_n<N> or random_k<K>_n<N>"


@functools.lru_cache(maxsize=4096)
def random_task(name: str) -> Task:
    """A random-data task of the capacity chapter, from its id (the point count is in the id,
    so every N is its own task, seeded like every other task by its name).

    * ``random_reg_n<N>``: N points x ~ N(0, I_8), targets y ~ N(0, I_4) drawn independently
      of x; scored (MSE) on the same points, like ``memorize``.
    * ``random_k<K>_n<N>``: the same x, labels uniform on K classes, independent of x; scored
      (accuracy) on the same points. K = 2 is binary (one logit, ±1 labels); K > 2 has K
      outputs and one-hot targets (kind ``"multiclass"``).

    Raises:
        ValueError: naming ``name`` if it is not of these forms or N (1 to 2^20) or K (2 to
            1024) is out of range.
    """
    match = RANDOM_ID.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(f"unknown task {name!r}; random-data tasks are {RANDOM_FORMS}")
    classes = None if match.group(1) is None else int(match.group(1))
    n = int(match.group(2))
    if str(n) != match.group(2) or not 1 <= n <= MAX_POINTS:
        raise ValueError(f"task {name!r}: N must be an integer from 1 to {MAX_POINTS}")
    if classes is not None and (str(classes) != match.group(1) or not 2 <= classes <= MAX_CLASSES):
        raise ValueError(f"task {name!r}: K must be an integer from 2 to {MAX_CLASSES}")
    x = r"x \sim \mathcal{N}(0, I_8)"
    if classes is None:
        return make_task(
            name,
            f"Memorise {n} random points (8-D to 4-D)",
            "regression",
            "capacity",
            (MEMORIZE_IN, MEMORIZE_OUT),
            x + r",\ y \sim \mathcal{N}(0, I_4)",
            "x ~ N(0, I_8), y ~ N(0, I_4), independent",
            "the training points",
            "none",
            _memorize,  # Memorize's generator at N points
            n=(n, n),
        )
    return make_task(
        name,
        f"Memorise {n} random labels of {classes} classes (8-D)",
        "classification" if classes == 2 else "multiclass",
        "capacity",
        (MEMORIZE_IN, 1 if classes == 2 else classes),
        x + rf",\ y \sim U\{{1, \dots, {classes}\}}",
        f"x ~ N(0, I_8), labels uniform on {classes} classes, independent of x",
        "the training points",
        "none",
        _random_labels(classes),
        n=(n, n),
    )
