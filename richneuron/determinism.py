"""Pinned arithmetic: what makes the same seed give the same bits (Method chapter).

Two things decide a run's bits besides its seed:

* MKL's matrix products take alignment-dependent code paths. A member of a stacked ensemble
  sits at an offset that depends on its position, so without MKL's *strict* conditional
  numerical reproducibility (``MKL_CBWR=AVX2,STRICT``) a run's bits would depend on its group.
  MKL reads this setting once, at its first use: :data:`ARITHMETIC_ENV` is put into the
  environment when :mod:`richneuron` is imported (``setdefault``: a value you set wins), and
  :func:`check_arithmetic` refuses to train if MKL started without it.
* Compiled kernels specialise dimensions of size 1, so the trainer never compiles an ensemble
  of fewer than two members (see :data:`richneuron.trainer.CHUNK_SIZES`).
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["ARITHMETIC_ENV", "check_arithmetic", "pin_environment"]

#: Environment that pins the arithmetic; the book's Method chapter prints it.
ARITHMETIC_ENV = {"MKL_CBWR": "AVX2,STRICT"}

_MKL_CBWR_STRICT = 0x10000


def pin_environment() -> None:
    """Put :data:`ARITHMETIC_ENV` into ``os.environ`` where not already set."""
    for key, value in ARITHMETIC_ENV.items():
        os.environ.setdefault(key, value)


def is_strict_cnr() -> bool | None:
    """Whether MKL runs in strict CNR mode (``None`` where MKL cannot be asked)."""
    import torch

    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        get = ctypes.CDLL(path).mkl_serv_cbwr_get
    except (OSError, AttributeError):
        return None
    get.restype = ctypes.c_int
    return bool(get(ctypes.c_int(-1)) & _MKL_CBWR_STRICT)


def check_arithmetic() -> None:
    """Raise ``RuntimeError`` if MKL is known to run without strict CNR."""
    if is_strict_cnr() is False:
        raise RuntimeError(
            "MKL is not in strict CNR mode, so results would depend on how runs are grouped. "
            f"Set MKL_CBWR={ARITHMETIC_ENV['MKL_CBWR']} before starting Python, or import "
            "richneuron before running any torch matrix product."
        )
