"""richneuron: the library behind the richneuron book.

Modules, one concept each, in layers (lowest first; a module imports only its own layer and
those below, held by ``tests/test_layers.py``): foundation (:mod:`config`, :mod:`paths`,
:mod:`schema`, :mod:`formatting`, :mod:`stats`, :mod:`tables`, :mod:`progress`, :mod:`atomic`,
:mod:`audit`); arithmetic (:mod:`determinism`, :mod:`products`); data (:mod:`tasks`); neurons
(the folder :mod:`neurons`, :mod:`matching`); store (:mod:`results`); training
(:mod:`stepcache`, :mod:`trainer`, :mod:`cluster`, :mod:`fingerprint`); analysis
(:mod:`claims`, :mod:`capacity`, :mod:`multiverse`); experiments (:mod:`specs`,
:mod:`tuning`, :mod:`study`, :mod:`multiverse_sweeps`); the book (:mod:`plots`, :mod:`book`,
:mod:`bookbuild`, :mod:`paper`, :mod:`sphinxext`); the command line (:mod:`cli`).

Importing the package pins the arithmetic (``MKL_CBWR``, ``ATEN_CPU_CAPABILITY``,
``TORCHINDUCTOR_CPP_MARCH``), the one side effect it has: torch must see these before its first
operation, so import richneuron before torch (see :mod:`richneuron.arithmetic.determinism`).
"""

from .arithmetic.determinism import pin_environment

pin_environment()

__version__ = "0.1.0"

__all__ = ["__version__"]
