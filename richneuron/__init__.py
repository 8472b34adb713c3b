"""richneuron: the library behind the richneuron book.

Modules, one concept each: :mod:`config` (training protocol), :mod:`neurons`
(the architecture zoo), :mod:`tasks` (the nine tasks), :mod:`matching`
(parameter-budget matching), :mod:`trainer` (reference and batched training),
:mod:`results` (schema, atomic store, compare, cache), :mod:`cli`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
