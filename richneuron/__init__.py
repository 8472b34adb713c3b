"""richneuron: the library behind the richneuron book.

Modules, one concept each: :mod:`config` (training protocol), :mod:`neurons` (the architecture
zoo), :mod:`tasks` (the nine tasks), :mod:`matching` (parameter-budget matching),
:mod:`trainer` (reference and batched training), :mod:`results` (schema, atomic store, compare,
cache), :mod:`determinism` (pinned arithmetic), :mod:`cli` (command line).

Importing the package pins the arithmetic (``MKL_CBWR``, ``ATEN_CPU_CAPABILITY``,
``TORCHINDUCTOR_CPP_MARCH``), the one side effect it has: torch must see these before its first
operation, so import richneuron before torch (see :mod:`richneuron.determinism`).
"""

from .determinism import pin_environment

pin_environment()

__version__ = "0.1.0"

__all__ = ["__version__"]
