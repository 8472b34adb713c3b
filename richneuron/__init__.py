"""richneuron: the library behind the richneuron book.

Modules, one concept each: :mod:`config` (training protocol), :mod:`neurons` (the architecture
zoo), :mod:`tasks` (the nine tasks), :mod:`matching` (parameter-budget matching),
:mod:`trainer` (reference and batched training), :mod:`results` (schema, atomic store, compare,
cache), :mod:`determinism` (pinned arithmetic), :mod:`cli` (command line).

Importing the package sets ``MKL_CBWR`` (only if unset), the one side effect it has: MKL must
see it before its first matrix product (see :mod:`richneuron.determinism`).
"""

from .determinism import pin_environment

pin_environment()

__version__ = "0.1.0"

__all__ = ["__version__"]
