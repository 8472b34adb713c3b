"""Pinned arithmetic: what makes the same seed give the same bits (Method chapter).

Training sine networks is chaotic: a difference in the last bit of one product can move a final
MSE by tens of percent after 2000 steps. So every setting that decides the arithmetic is pinned,
not left to the machine, and the same seed gives the same bits on any x86-64 machine with AVX2
(and the same software), whether its CPU is Intel's or AMD's:

* **Matrix products** are not MKL's: every layer's product (and its gradient) is
  ``richneuron::bmm`` (:mod:`richneuron.arithmetic.products`), in which each element is one fused
  multiply-add chain in a fixed order, so its bits depend only on the operands, not on the CPU
  vendor, model or vector width. MKL's own batched products gave other bits on AMD than on
  Intel CPUs even in strict conditional numerical reproducibility at the AVX2 level (on an AMD
  CPU MKL does not take the AVX2 branch it is asked for and reports ``AUTO,STRICT``); only its
  vendor-neutral branch agreed across vendors, at about a quarter of the speed here.
* **MKL** still serves PyTorch's other eager routines (vector math), so it is pinned to that
  vendor-neutral branch in strict mode (``MKL_CBWR=COMPATIBLE,STRICT``: SSE2 code without the
  approximate ``rcpps``/``rsqrtps``).
* **ATen** picks vectorised kernels (reductions, pointwise) by CPU capability; it is pinned to
  ``avx2`` (``ATEN_CPU_CAPABILITY``), whatever AVX-512 the machine has.
* **Inductor** compiles its kernels for the host (``-march=native``) with the widest vectors it
  finds; both are pinned: ``-march=x86-64-v3`` (AVX2, FMA) and 256-bit vectors.
* **Square roots** of recorded gradient norms are taken by Python's ``math.sqrt`` (IEEE, correctly
  rounded), not by MKL's vector square root, which in the compatible branch is not correctly
  rounded and is CPU-dependent.
* **Threads**: compiled kernels bake in their thread count and split reductions by it; every
  run trains with :data:`THREADS` thread. The cores are used by training independent chunks in
  worker processes instead (:data:`richneuron.train.pool.WORKERS`).
* Compiled kernels specialise dimensions of size 1, so the trainer never compiles an ensemble
  of fewer than two members (see :data:`richneuron.train.trainer.CHUNK_SIZES`).

How it is proven: :mod:`richneuron.train.fingerprint` trains a small workload through every path
(compiled chunks of every architecture, the reference loop, eager diagnostics, every task's data)
and hashes it; the test suite computes it natively and under ``qemu-x86_64`` emulating an Intel
(``Haswell-v4``) and an AMD (``EPYC-Rome``) CPU, and all three must equal the committed
``data/arithmetic/fingerprint.json``.

The environment variables must be in place before torch starts, so :func:`pin_environment`
runs when :mod:`richneuron` is imported; it overrides values already set. The trainer calls
:func:`pin_arithmetic` before training, which sets the thread count and refuses to train if
torch started with other settings, and :func:`pin_compiler` where it compiles a step. For
experiments about the pin itself, ``RICHNEURON_UNPINNED=1`` switches all of this off; results
made that way are cached and labelled separately.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
from pathlib import Path

__all__ = [
    "ARITHMETIC_ENV",
    "THREADS",
    "arithmetic",
    "compiler_version",
    "check_arithmetic",
    "host",
    "is_pinned",
    "mkl_cbwr",
    "mkl_version",
    "pin_arithmetic",
    "pin_compiler",
    "pin_environment",
    "source_digest",
]

#: Environment that pins the arithmetic; the book's Method chapter prints it.
ARITHMETIC_ENV = {
    "MKL_CBWR": "COMPATIBLE,STRICT",
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
#: ``mkl_cbwr_get`` values of the branches (MKL's ``MKL_CBWR_*`` constants).
_MKL_BRANCHES = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 8: "SSE4_2", 9: "AVX",
                 10: "AVX2", 12: "AVX512", 14: "AVX512_E1"}


def is_pinned() -> bool:
    """Whether the arithmetic is pinned (it is unless ``RICHNEURON_UNPINNED=1``)."""
    return os.environ.get(UNPIN_VARIABLE, "0") != "1"


def applies() -> bool:
    return is_pinned() and platform.machine() in ("x86_64", "AMD64")


def pin_environment() -> None:
    """Put :data:`ARITHMETIC_ENV` into ``os.environ`` (overriding), unless unpinned."""
    if applies():
        os.environ.update(ARITHMETIC_ENV)


def _mkl():
    import torch

    path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
    try:
        return ctypes.CDLL(path)
    except OSError:
        return None


def mkl_cbwr() -> str | None:
    """MKL's reproducibility mode in force, as ``MKL_CBWR`` spells it (``None``: no MKL)."""
    lib = _mkl()
    get = getattr(lib, "mkl_cbwr_get", None) or getattr(lib, "mkl_serv_cbwr_get", None)
    if get is None:
        return None
    get.restype = ctypes.c_int
    value = get(ctypes.c_int(-1))  # MKL_CBWR_ALL: the branch and the strict flag
    branch = _MKL_BRANCHES.get(value & 0xFFFF, f"branch {value & 0xFFFF}")
    return branch + (",STRICT" if value & _MKL_CBWR_STRICT else "")


def mkl_version() -> str | None:
    """The version of the MKL that PyTorch was built with (``None``: no MKL)."""
    import torch

    for line in torch.__config__.show().splitlines():
        if "Math Kernel Library" in line:
            return line.strip(" -")
    return None


def check_arithmetic() -> None:
    """Raise ``RuntimeError`` if torch started with arithmetic other than the pinned one."""
    if not applies():
        return
    import torch

    problems = []
    mode = mkl_cbwr()
    if mode is not None and mode != ARITHMETIC_ENV["MKL_CBWR"]:
        problems.append(f"MKL runs in mode {mode}, not {ARITHMETIC_ENV['MKL_CBWR']} (MKL_CBWR)")
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
    """Set the thread count, then :func:`check_arithmetic`. (Inductor's code generation is
    pinned by :func:`pin_compiler`, where a step is compiled: training with compiled steps
    kept from another process does not import Inductor.)"""
    if not applies():
        return
    import torch

    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)
    check_arithmetic()


def pin_compiler() -> None:
    """Pin Inductor's code generation: ``-march=x86-64-v3`` and 256-bit vectors. Inductor's
    check that this vector width builds and loads (a compile and a child process, 0.5 s per
    process) is skipped: :func:`check_arithmetic` has already refused a CPU without AVX2."""
    if not applies():
        return
    import torch._inductor.config as inductor

    inductor.cpp.march = ARITHMETIC_ENV["TORCHINDUCTOR_CPP_MARCH"]
    inductor.cpp.simdlen = SIMDLEN
    inductor.cpp.vec_isa_ok = True


@functools.cache
def source_digest() -> str:
    """A SHA-256 of this package's code (every Python and C++ file, with its path in the
    package): what a worker must share with the process that sends it work, and part of what
    decides a compiled step (:mod:`richneuron.train.stepcache`)."""
    root = Path(__file__).resolve().parents[1]  # the package, not this folder
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".cpp", ".h") and path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def arithmetic() -> dict:
    """The arithmetic settings in force, as recorded with results and in cache keys."""
    import torch

    return {
        "pinned": applies(),
        "env": {k: os.environ.get(k) for k in ARITHMETIC_ENV},
        "threads": THREADS if applies() else torch.get_num_threads(),
        "capability": torch.backends.cpu.get_cpu_capability(),
    }


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


@functools.cache
def compiler_version() -> str | None:
    """The first line of ``--version`` of the C++ compiler Inductor builds with (``CXX``, else
    ``g++``, as Inductor chooses it), found without importing Inductor; ``None`` without one."""
    import subprocess

    try:
        out = subprocess.run(
            [os.environ.get("CXX", "g++"), "--version"], capture_output=True, text=True,
            timeout=30, check=True,
        )
    except (OSError, subprocess.SubprocessError):  # no compiler: record that
        return None
    return out.stdout.splitlines()[0].strip() if out.stdout else None


def host() -> dict:
    """The machine and libraries that computed a result, to explain a difference later.

    CPU vendor, model name, family and model (from ``/proc/cpuinfo``: under ``qemu-x86_64``,
    the real CPU's, not the emulated one's), MKL's version and the reproducibility mode it
    reports, the compiler Inductor builds with, and the C library.
    """
    cpu = _cpuinfo()
    libc = " ".join(platform.libc_ver()).strip() or None
    return {
        "cpu_vendor": cpu.get("vendor_id"),
        "cpu_model": cpu.get("model name"),
        "cpu_family": cpu.get("cpu family"),
        "cpu_model_number": cpu.get("model"),
        "machine": platform.machine(),
        "mkl": mkl_version(),
        "mkl_cbwr": mkl_cbwr(),
        "compiler": compiler_version(),
        "libc": libc,
    }
