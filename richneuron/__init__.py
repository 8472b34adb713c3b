"""richneuron: the library behind the richneuron book.

One folder per layer (lowest first; a module imports only its own layer and those below, held by
``tests/test_layers.py``): the foundation (:mod:`config`, :mod:`paths`, :mod:`formatting`,
:mod:`stats`, :mod:`tables`, :mod:`progress`); :mod:`arithmetic` (the pinning and the fixed-
rounding products); the data (:mod:`tasks`, :mod:`architectures`: the catalogue without the
layers' code); :mod:`neurons` (the zoo, its registry and width matching); :mod:`store` (the
schema, results files, the run cache); :mod:`train` (the reference loop, the compiled step, the
batched trainer, worker pools, Dask, the fingerprint); :mod:`analysis` (verdicts from results
passed in, without torch: claims, capacity, the multiverse); :mod:`experiments` (sweeps, tunings
and their runner); :mod:`report` (the book's helpers, figures, build, drift gate and PAPER.md);
the command line (:mod:`cli`). README, "The library", says what each module holds.

Importing the package pins the arithmetic (``MKL_CBWR``, ``ATEN_CPU_CAPABILITY``,
``TORCHINDUCTOR_CPP_MARCH``), the one side effect it has: torch must see these before its first
operation, so import richneuron before torch (see :mod:`richneuron.arithmetic.determinism`).
"""

from .arithmetic.determinism import pin_environment

pin_environment()

__version__ = "0.1.0"

__all__ = ["__version__"]
