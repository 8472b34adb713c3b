"""Tasks at other values of their difficulty knobs: ids such as ``checkerboard@freq=5`` or
``spiral@turns=3@noise=0.1`` (the Tasks chapter's calibration, the multiverse's calibrated
protocol).

An id is a task of :data:`~richneuron.tasks.synthetic.KNOBS`, then ``@knob=value`` for each knob
set away from its default, in the order the task lists its knobs, each value written as
``f"{value:g}"`` writes it: one task, one id. The task draws from its base task's stream
(:func:`~richneuron.tasks.synthetic.build`), so at every value of a knob the random draws are the
same: the inputs are the same points (spiral's knobs move its points along the same draws).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

from .synthetic import KNOBS, Task, build

__all__ = ["SEP", "base_of", "is_variant", "knob_values", "variant", "variant_id"]

#: What separates a base task's id from each of its knob settings.
SEP = "@"


def _forms() -> str:
    return "; ".join(
        f"{base}{''.join(f'{SEP}{k.name}=<{k.low:g} to {k.high:g}>' for k in knobs)}"
        for base, (knobs, _) in KNOBS.items()
    )


def is_variant(name: object) -> bool:
    """Whether ``name`` is written as a task at other knob values (valid or not)."""
    return isinstance(name, str) and SEP in name


def variant_id(base: str, values: Mapping[str, float]) -> str:
    """The id of ``base`` with its knobs at ``values`` (each written ``f"{v:g}"``; those at their
    default left out).

    Raises:
        ValueError: naming the task or knob, as :func:`variant` does.
    """
    if base not in KNOBS:
        raise ValueError(f"task {base!r} has no knob; tasks with knobs: {', '.join(KNOBS)}")
    knobs, _ = KNOBS[base]
    unknown = sorted(set(values) - {k.name for k in knobs})
    if unknown:
        raise ValueError(f"task {base!r}: unknown knob {unknown[0]!r}; its knobs: {_names(base)}")
    set_ = [k for k in knobs if k.name in values and values[k.name] != k.default]
    for k in set_:
        if float(f"{values[k.name]:g}") != values[k.name]:
            raise ValueError(
                f"task {base!r}: {k.name}={values[k.name]!r} has more than 6 significant figures"
            )
    name = base + "".join(f"{SEP}{k.name}={values[k.name]:g}" for k in set_)
    if name != base:
        variant(name)  # the range and the form, checked once
    return name


def _names(base: str) -> str:
    return ", ".join(k.name for k in KNOBS[base][0])


@functools.lru_cache(maxsize=1024)
def variant(name: str) -> Task:
    """The task an id such as ``checkerboard@freq=5`` names.

    Raises:
        ValueError: one line naming the id and what is wrong: a base task without knobs, an
            unknown or repeated knob, knobs out of order, a value that is not a finite number,
            is out of the knob's range, is its default, or is not written as ``f"{v:g}"``.
    """
    if not is_variant(name):
        raise ValueError(f"task {name!r} is not of the form <task>@<knob>=<value>: {_forms()}")
    base, *settings = name.split(SEP)
    if base not in KNOBS:
        raise ValueError(f"task {name!r}: {base!r} has no knob; tasks with knobs: {_forms()}")
    knobs, _ = KNOBS[base]
    order = [k.name for k in knobs]
    values: dict[str, float] = {}
    for setting in settings:
        key, eq, text = setting.partition("=")
        if not eq or key not in order:
            raise ValueError(f"task {name!r}: {setting!r} is not <knob>=<value> with a knob "
                             f"of {base} ({_names(base)})")
        if key in values:
            raise ValueError(f"task {name!r}: knob {key!r} set twice")
        if values and order.index(key) < order.index(list(values)[-1]):
            raise ValueError(f"task {name!r}: write the knobs in the order {_names(base)}")
        knob = knobs[order.index(key)]
        try:
            value = float(text) + 0.0  # -0 is 0, written "0"
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not knob.low <= value <= knob.high:
            raise ValueError(
                f"task {name!r}: {key} must be a number from {knob.low:g} to {knob.high:g}, "
                f"got {text!r}"
            )
        if f"{value:g}" != text:
            raise ValueError(f"task {name!r}: write {key}={value:g} (one task, one id)")
        if value == knob.default:
            raise ValueError(
                f"task {name!r}: {key}={text} is {base}'s default; leave it out of the id"
            )
        values[key] = value
    return build(name, base, values)


def base_of(name: str) -> str:
    """The task ``name`` is a setting of (``checkerboard`` for ``checkerboard@freq=5``), or
    ``name`` itself."""
    return name.split(SEP, 1)[0] if is_variant(name) else name


def knob_values(name: str) -> dict[str, float]:
    """Every knob of ``name``'s base task at its value in ``name`` (defaults included); empty
    for a task without knobs."""
    if is_variant(name):
        variant(name)  # refuses a bad id
    base = base_of(name)
    if base not in KNOBS:
        return {}
    given = {}
    if is_variant(name):
        given = {s.partition("=")[0]: float(s.partition("=")[2]) for s in name.split(SEP)[1:]}
    return {k.name: given.get(k.name, k.default) for k in KNOBS[base][0]}
