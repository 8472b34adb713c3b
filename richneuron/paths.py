"""Where the project keeps things, relative to the repository root, and the environment
variables that move them or change how the chapters run.

Every module takes these names from here; a path written out in two modules is a path that
will one day differ.
"""

from __future__ import annotations

__all__ = [
    "BUILD_DIR",
    "CACHE_DIR",
    "CACHE_ENV",
    "DATA_DIR",
    "NO_TRAIN_ENV",
    "RETRAIN_CACHE",
    "RETRAIN_ENV",
    "STEP_CACHE_ENV",
    "SWEEP_DIR",
    "sweep_file",
]

#: The committed results of the chapters (``data/<chapter>.json``): the store of record.
DATA_DIR = "data"
#: The committed results of the sweeps (``data/sweeps/<spec>.json``, specs in ``sweeps/``).
SWEEP_DIR = f"{DATA_DIR}/sweeps"
#: The run cache shared by every chapter.
CACHE_DIR = ".cache/runs"
#: ``RICHNEURON_CACHE_DIR``: the chapters' run cache elsewhere (the gate empties its own).
CACHE_ENV = "RICHNEURON_CACHE_DIR"
#: ``RICHNEURON_RETRAIN=1``: a chapter ignores its committed results file (``make book
#: RETRAIN=1`` also starts from an empty run cache).
RETRAIN_ENV = "RICHNEURON_RETRAIN"
#: ``RICHNEURON_NO_TRAIN=1`` (the drift gate): a chapter trains nothing; a run its results
#: file does not hold under the chapter's protocol stops the chapter, naming the run.
NO_TRAIN_ENV = "RICHNEURON_NO_TRAIN"
#: ``RICHNEURON_STEP_CACHE``: where compiled training steps are kept across processes (by
#: default a folder beside Inductor's cache in the temporary directory; ``off``: not kept). See
#: :mod:`richneuron.train.stepcache`.
STEP_CACHE_ENV = "RICHNEURON_STEP_CACHE"
#: The book's builds (HTML, executed notebooks, the gate's and the quick build's outputs).
BUILD_DIR = "_build"
#: The empty run cache of a retraining build whose layout uses the default cache.
RETRAIN_CACHE = f"{BUILD_DIR}/retrain-cache"


def sweep_file(stem: str) -> str:
    """The committed results of the sweep ``sweeps/<stem>.yaml``."""
    return f"{SWEEP_DIR}/{stem}.json"
