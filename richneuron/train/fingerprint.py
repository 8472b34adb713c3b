"""The arithmetic fingerprint: proof that a seed's bits do not depend on the host (Method chapter).

A small workload runs through every path that computes a stored number: each distinct neuron
trains a chunk of :data:`SEEDS` through the compiled trainer (its losses, test curve, gradient
norms and eager diagnostics recorded every few steps), the plain reference loop trains a few steps,
the capacity chapter's losses train once each (:data:`LOSS_PATHS`), and every task's data set is
drawn (the random-data tasks at one size each, the real data sets and a setting of each
difficulty knob: :data:`OTHER_TASKS`). Each architecture's numbers are hashed to one
digest.

``data/arithmetic/fingerprint.json`` holds the committed fingerprint. The test suite computes it
natively and under ``qemu-x86_64`` emulating an Intel (``Haswell-v4``) and an AMD
(``EPYC-Rome``) CPU, and all three must equal the committed one; the drift gate computes it first
and stops within a minute, naming the first architecture whose bits differ, when this host's
arithmetic is not the one that made ``data/``.

    python -m richneuron fingerprint                # compute, compare with the committed file
    python -m richneuron fingerprint --out F.json   # compute and write F.json (no compare)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from ..arithmetic.determinism import arithmetic, host, pin_arithmetic
from ..config import TrainConfig
from ..neurons import ARCHITECTURES, get_arch
from ..paths import DATA_DIR
from ..store.results import read_json, to_jsonable, write_json_atomic
from ..store.schema import Run
from ..tasks import TASKS, get_task
from .pool import train_runs
from .reference import train_reference

__all__ = [
    "CONFIG",
    "EMULATED_CPUS",
    "FINGERPRINT_PATH",
    "SEEDS",
    "SMALL_CONFIG",
    "SMALL_PATH",
    "TASK",
    "compute",
    "describe_host",
    "differences",
    "load",
    "save",
]

#: The committed fingerprint, relative to the repository root.
FINGERPRINT_PATH = Path(DATA_DIR) / "arithmetic" / "fingerprint.json"
SCHEMA = "richneuron.fingerprint/1"

#: The workload: a 2-D task (its first layer's weight gradient contracts over all 500 points:
#: the product that took a vendor-dependent path in MKL), a smaller budget than the study's so
#: that it runs under emulation in minutes, and eight steps with three records (steps 0, 4 and
#: 7). Every step is a path already taken by the first; under qemu-x86_64 a training step costs
#: ~500 times its native time, so steps, not architectures, set the cross-CPU test's length.
TASK = "checkerboard"
SEEDS = (0, 1, 2)
CONFIG = TrainConfig(steps=8, log_every=4, budget=2000)
REFERENCE_STEPS = 4
#: The emulated workload of the cross-CPU test (``--small``): the same paths (every neuron
#: through the compiled trainer with records at steps 0 and 2, the reference loop, the capacity
#: losses, every task's data) on a third of the steps and of the parameters, so that
#: ``qemu-x86_64`` computes it in a fraction of the time. Its committed file is
#: :data:`SMALL_PATH`. (The budget of 800 parameters is met within 10%, not 2%: whole widths
#: are coarse at this size.)
SMALL_CONFIG = TrainConfig(steps=3, log_every=2, budget=800, tolerance=0.1)
SMALL_REFERENCE_STEPS = 2
SMALL_PATH = Path(DATA_DIR) / "arithmetic" / "fingerprint-small.json"
#: Paths of the capacity chapter beyond the study's tasks, as ``arch@task``: the multi-class
#: softmax cross-entropy (its own compiled graph) and the per-output MSEs of random regression.
LOSS_PATHS = ("vanilla@random_k16_n64", "vanilla@random_reg_n64")
#: Random-data draws hashed beside the study's tasks.
RANDOM_TASKS = ("random_reg_n64", "random_k2_n64", "random_k16_n64")
#: The real data sets and a setting of every difficulty knob, hashed beside them (their
#: standardisation and splits must give the same bits on every CPU too).
OTHER_TASKS = (
    "digits",
    "diabetes",
    "complex_4d@freq=1.41",
    "nested_2d@freq=2.14",
    "hifreq@freq=20",
    "spiral@turns=3.16@noise=0.1",
    "checkerboard@freq=5.66",
)
#: The CPUs the cross-CPU test emulates (``qemu-x86_64 -cpu``): an Intel model without AVX-512
#: and an AMD model, both with AVX2 and FMA.
EMULATED_CPUS = ("Haswell-v4", "EPYC-Rome")


def _archs() -> list[str]:
    """One id per distinct neuron (aliases train the same network)."""
    return [a for a in ARCHITECTURES if get_arch(a).canonical == a]


def _digest(obj: object) -> str:
    text = json.dumps(obj, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _data_digest(task: str) -> str:
    data = get_task(task).generate(CONFIG.data_seed)
    h = hashlib.sha256()
    for tensor in (data.x_train, data.y_train, data.x_test, data.y_test):
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _protocol(small: bool) -> tuple[TrainConfig, int]:
    return (SMALL_CONFIG, SMALL_REFERENCE_STEPS) if small else (CONFIG, REFERENCE_STEPS)


def workload(small: bool = False) -> dict:
    """What the fingerprint trains (stored with it, so a changed workload is told apart)."""
    config, reference_steps = _protocol(small)
    return {
        "task": TASK,
        "seeds": list(SEEDS),
        "config": config.to_dict(),
        "reference_steps": reference_steps,
        "archs": _archs(),
        "loss_paths": list(LOSS_PATHS),
    }


def compute(
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    small: bool = False,
) -> dict:
    """Train the workload here and return the fingerprint (``{"archs": {id: {"digest",
    "values"}}, "data": {task: digest}, ...}``).

    Args:
        workers: worker processes of :func:`richneuron.train.pool.train_runs` (``None``: its
            default). Under ``qemu-x86_64`` pass 1: a child process would run natively.
        progress: passed to :func:`richneuron.train.pool.train_runs`: ``(runs done, total)``.
        small: the emulated workload (:data:`SMALL_CONFIG`) instead of the gate's.
    """
    pin_arithmetic()
    config, reference_steps = _protocol(small)
    archs = _archs()
    paths = [(a, TASK) for a in archs] + [tuple(p.split("@")) for p in LOSS_PATHS]
    runs = [Run(a, t, s) for a, t in paths for s in SEEDS]
    results = {r.run: r for r in train_runs(runs, config, progress=progress, workers=workers)}
    out: dict[str, dict] = {}
    for arch, task in paths:
        members = [results[Run(arch, task, s)] for s in SEEDS]
        values = to_jsonable({
            "loss_curve": [r.loss_curve for r in members],
            "test_curve": [r.test_curve for r in members],
            "grad_norms": [r.grad_norms for r in members],
            "diagnostics": [r.diagnostics for r in members],
            "test_metric": [r.test_metric for r in members],
            "train_loss": [r.train_loss for r in members],
            "reference": train_reference(
                Run(arch, task, SEEDS[0]), config, steps=reference_steps
            ),
            **({"extra": [r.extra for r in members]} if task != TASK else {}),
        })  # non-finite values as strings, as in results files
        out[arch if task == TASK else f"{arch}@{task}"] = {
            "digest": _digest(values), "values": values
        }
    return {
        "schema": SCHEMA,
        "workload": workload(small),
        "archs": out,
        "data": {t: _data_digest(t) for t in (*TASKS, *RANDOM_TASKS, *OTHER_TASKS)},
        "arithmetic": arithmetic(),
        "host": host(),
    }


def save(fingerprint: dict, path: str | os.PathLike) -> None:
    """Write ``fingerprint`` to ``path`` atomically, as results files are written."""
    write_json_atomic(Path(path), fingerprint)


def load(path: str | os.PathLike) -> dict:
    """Read a fingerprint file; ``ValueError`` naming the file if it is not one
    (``FileNotFoundError`` if there is none)."""
    path = Path(path)
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema: expected {SCHEMA!r}")
    for key in ("workload", "archs", "data"):
        if not isinstance(doc.get(key), dict):
            raise ValueError(f"{path}: {key}: missing or not an object")
    return doc


def _first_difference(old: object, new: object, where: str) -> str | None:
    """Where two nested values first differ, with both values (``None``: equal)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if key not in old or key not in new:
                return f"{where}[{key!r}]: present in one only"
            found = _first_difference(old[key], new[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return f"{where}: {len(old)} values committed, {len(new)} here"
        for i, (a, b) in enumerate(zip(old, new)):
            found = _first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    if old == new:
        return None
    return f"{where}: committed {old!r}, here {new!r}"


def differences(committed: dict, new: dict) -> list[str]:
    """One line per architecture (and data set) whose bits differ, in registry order."""
    if committed["workload"] != new["workload"]:
        return [
            "the fingerprint workload changed (richneuron.train.fingerprint): regenerate "
            f"{FINGERPRINT_PATH} with `python -m richneuron fingerprint --out {FINGERPRINT_PATH}`"
        ]
    lines = []
    for arch, entry in new["archs"].items():
        old = committed["archs"].get(arch)
        if old is None:
            lines.append(f"{arch}: not in the committed fingerprint")
        elif old["digest"] != entry["digest"]:
            where = _first_difference(old["values"], entry["values"], "")
            lines.append(f"{arch}: {where or 'digest differs'}")
    for task, digest in new["data"].items():
        if committed["data"].get(task) != digest:
            lines.append(f"data of {task}: drawn with other bits than committed")
    return lines


def describe_host(fingerprint: dict) -> str:
    """``vendor model, MKL mode`` of the host that computed ``fingerprint``."""
    h = fingerprint.get("host", {})
    return f"{h.get('cpu_vendor')} {h.get('cpu_model')} (MKL {h.get('mkl_cbwr')})"
