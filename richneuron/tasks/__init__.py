"""The tasks: the nine synthetic ones (:mod:`.synthetic`), the same at other values of their
difficulty knobs (:mod:`.knobs`, ids such as ``checkerboard@freq=5``), two real data sets
(:mod:`.real`) and the capacity chapter's random data (``random_reg_n<N>``,
``random_k<K>_n<N>``).

:func:`get_task` looks any of them up by id and :func:`parse_tasks` reads a selection; both refuse a
bad id with one line naming it, before anything trains. See :mod:`.synthetic` for the conventions
every task follows (shapes, labels, seeding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .knobs import base_of, is_variant, knob_values, variant, variant_id
from .real import REAL_TASKS, real_task
from .synthetic import (
    GENERALISATION_TASKS,
    KNOBS,
    RANDOM_FORMS,
    STANDARD_TASKS,
    TASKS,
    Knob,
    Task,
    TaskData,
    random_task,
)

__all__ = [
    "GENERALISATION_TASKS",
    "KNOBS",
    "REAL_TASKS",
    "STANDARD_TASKS",
    "TASKS",
    "Knob",
    "Task",
    "TaskData",
    "base_of",
    "better",
    "get_task",
    "higher_is_better",
    "is_variant",
    "knob_values",
    "parse_tasks",
    "random_task",
    "variant_id",
]

_GROUPS: dict[str, tuple[str, ...]] = {
    "all": tuple(TASKS),
    "standard": STANDARD_TASKS,
    "generalisation": GENERALISATION_TASKS,
    "real": tuple(REAL_TASKS),
}

_OTHER_FORMS = f"{RANDOM_FORMS}; a task at other knob values, e.g. checkerboard@freq=5"


def get_task(name: str) -> Task:
    """Looks a task up by id: one of :data:`TASKS`, a real data set (:data:`REAL_TASKS`), a
    task at other knob values (:func:`~richneuron.tasks.knobs.variant`) or a random-data id
    (:func:`random_task`).

    Raises:
        ValueError: Naming ``name`` and the valid ids, if it is unknown or malformed, or the
            package a real data set needs, if it is missing.
    """
    if isinstance(name, str) and name in TASKS:
        return TASKS[name]
    if isinstance(name, str) and name in REAL_TASKS:
        return real_task(name)
    if is_variant(name):
        return variant(name)
    if isinstance(name, str) and name.startswith("random_"):
        return random_task(name)
    raise ValueError(
        f"unknown task {name!r}; valid tasks: {', '.join([*TASKS, *REAL_TASKS])}; "
        f"or {_OTHER_FORMS}"
    )


def parse_tasks(spec: str | Sequence[str]) -> tuple[str, ...]:
    """Parses a task selection, e.g. ``"spiral,complex_4d"``, ``["hifreq"]`` or ``"all"``.

    Items are task ids (real data sets, tasks at other knob values and random-data ids
    included: :func:`get_task`) or the groups ``all`` (the nine synthetic tasks),
    ``standard``, ``generalisation`` and ``real`` (expanded in registry order); the result
    keeps the order given.

    Raises:
        ValueError: On an empty selection or item, an unknown item, or a task
            selected twice; the message names the value and the valid choices.
        TypeError: If ``spec`` is neither a string nor a sequence of strings.
    """
    choices = (
        f"valid tasks: {', '.join([*TASKS, *REAL_TASKS])}; {_OTHER_FORMS}; "
        f"or a group: {', '.join(_GROUPS)}"
    )
    if isinstance(spec, str):
        items = [s.strip() for s in spec.split(",")]
    elif isinstance(spec, Sequence) and all(isinstance(s, str) for s in spec):
        items = [s.strip() for s in spec]
    else:
        raise TypeError(f"task spec must be a string or a sequence of strings, got {spec!r}")
    if not spec or any(not s for s in items):
        raise ValueError(f"empty task in spec {spec!r}; {choices}")
    out: list[str] = []
    for item in items:
        if item.startswith("random_") or is_variant(item) or item in REAL_TASKS:
            get_task(item)  # a bad id of these forms: its own message
        elif item not in TASKS and item not in _GROUPS:
            raise ValueError(f"unknown task {item!r}; {choices}")
        for name in _GROUPS.get(item, (item,)):
            if name in REAL_TASKS:
                real_task(name)  # the group "real" needs scikit-learn too
            if name in out:
                raise ValueError(f"task {name!r} selected twice in {spec!r}; {choices}")
            out.append(name)
    return tuple(out)


def higher_is_better(metric: str) -> bool:
    """Whether a higher score is better under ``metric``: accuracy yes, MSE no."""
    return metric == "accuracy"


def better(a: float, b: float, metric: str) -> bool:
    """Whether score ``a`` is better than ``b`` under ``metric`` (accuracy: higher; MSE:
    lower). NaN (every seed diverged) is worst."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if higher_is_better(metric) else a < b
