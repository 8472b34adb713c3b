"""Pinned arithmetic: what makes the same seed give the same bits (Method chapter).

Training sine networks is chaotic: a difference in the last bit of one product can move a final
MSE by tens of percent after 2000 steps. So every setting that decides the arithmetic is pinned,
not left to the machine, and the same seed gives the same bits on any x86-64 machine with AVX2
(and the same software):

* **MKL** takes alignment- and CPU-dependent code paths in matrix products. Strict conditional
  numerical reproducibility at the AVX2 level (``MKL_CBWR=AVX2,STRICT``) makes a member's bits
  independent of its position in a stacked ensemble and of the CPU.
* **ATen** picks vectorised kernels (sin, tanh, reductions) by CPU capability; it is pinned to
  ``avx2`` (``ATEN_CPU_CAPABILITY``), whatever AVX-512 the machine has.
* **Inductor** compiles its kernels for the host (``-march=native``) with the widest vectors it
  finds; both are pinned: ``-march=x86-64-v3`` (AVX2, FMA) and 256-bit vectors.
* **Threads**: compiled kernels bake in their thread count and split reductions by it; every
  run trains with :data:`THREADS` thread. The cores are used by training independent chunks in
  worker processes instead (:data:`richneuron.trainer.WORKERS`).
* Compiled kernels specialise dimensions of size 1, so the trainer never compiles an ensemble
  of fewer than two members (see :data:`richneuron.trainer.CHUNK_SIZES`).

The environment variables must be in place before torch starts, so :func:`pin_environment`
runs when :mod:`richneuron` is imported; it overrides values already set. The trainer calls
:func:`pin_arithmetic` before training, which sets the rest and refuses to train if torch
started with other settings. For experiments about the pin itself, ``RICHNEURON_UNPINNED=1``
switches all of this off; results made that way are cached and labelled separately.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = [
    "ARITHMETIC_ENV",
    "THREADS",
    "arithmetic",
    "check_arithmetic",
    "is_pinned",
    "pin_arithmetic",
    "pin_environment",
]

#: Environment that pins the arithmetic; the book's Method chapter prints it.
ARITHMETIC_ENV = {
    "MKL_CBWR": "AVX2,STRICT",
    "ATEN_CPU_CAPABILITY": "avx2",
    "TORCHINDUCTOR_CPP_MARCH": "x86-64-v3",
}

#: Threads of every training run (intra-op threads of eager and compiled kernels). One: many
#: tiny kernels gain little from a second thread, and worker processes use the other cores.
THREADS = 1

#: Inductor's vector width in bits (AVX2).
SIMDLEN = 256

UNPIN_VARIABLE = "RICHNEURON_UNPINNED"

_MKL_CBWR_STRICT = 0x10000


def is_pinned() -> bool:
    """Whether the arithmetic is pinned (it is unless ``RICHNEURON_UNPINNED=1``)."""
    return os.environ.get(UNPIN_VARIABLE, "0") != "1"


def _applies() -> bool:
    return is_pinned() and platform.machine() in ("x86_64", "AMD64")


def pin_environment() -> None:
    """Put :data:`ARITHMETIC_ENV` into ``os.environ`` (overriding), unless unpinned."""
    if _applies():
        os.environ.update(ARITHMETIC_ENV)


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
    """Raise ``RuntimeError`` if torch started with arithmetic other than the pinned one."""
    if not _applies():
        return
    import torch

    problems = []
    if is_strict_cnr() is False:
        problems.append("MKL is not in strict CNR mode (MKL_CBWR)")
    capability = torch.backends.cpu.get_cpu_capability()
    if capability != ARITHMETIC_ENV["ATEN_CPU_CAPABILITY"].upper():
        problems.append(f"ATen uses CPU capability {capability}, not AVX2")
    if problems:
        raise RuntimeError(
            "; ".join(problems) + ": results would depend on the machine and on how runs are "
            "grouped. Import richneuron before torch (it sets "
            + ", ".join(f"{k}={v}" for k, v in ARITHMETIC_ENV.items())
            + "), or set these variables before starting Python."
        )


def pin_arithmetic() -> None:
    """Set threads and Inductor's code generation, then :func:`check_arithmetic`."""
    if not _applies():
        return
    import torch
    import torch._inductor.config as inductor

    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)
    inductor.cpp.march = ARITHMETIC_ENV["TORCHINDUCTOR_CPP_MARCH"]
    inductor.cpp.simdlen = SIMDLEN
    check_arithmetic()


def arithmetic() -> dict:
    """The arithmetic settings in force, as recorded with results and in cache keys."""
    import torch

    return {
        "pinned": _applies(),
        "env": {k: os.environ.get(k) for k in ARITHMETIC_ENV},
        "threads": THREADS if _applies() else torch.get_num_threads(),
        "capability": torch.backends.cpu.get_cpu_capability(),
    }
