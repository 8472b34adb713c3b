"""Matrix products with fixed rounding, the same on every CPU (Method chapter, "Pinned arithmetic").

:func:`bmm` is the batched product of every layer. Pinned (the default, see
:mod:`richneuron.arithmetic.determinism`), it is ``richneuron::bmm``, a small C++ operator
(``csrc/products.cpp``): each element of ``A @ B`` is one fused multiply-add chain over the
contraction index in increasing order, so its bits depend only on the operands, not on the CPU
vendor or model, vector width, tiling, threads or strides. MKL's products can promise that only
in its slow vendor-neutral branch. Unpinned, :func:`bmm` is ``torch.bmm``.

The operator is compiled on first use by :func:`torch.utils.cpp_extension.load` (a few seconds
with the local C++ compiler; cached under ``TORCH_EXTENSIONS_DIR``). Its gradient (two more
such products) is registered in C++ for the Autograd key, as PyTorch's own operators' are, so
``loss.backward()`` and ``torch.autograd.grad`` differentiate through it, compiled or not, and
compiled code calls it without passing through Python (:mod:`torch.func`'s transforms do not
take gradients defined in C++); a fake implementation lets ``torch.compile`` trace it, and the
compiled trainer calls it through the dispatcher as an extern kernel.
"""

from __future__ import annotations

import functools
import os

import torch
from torch import Tensor

from .determinism import is_pinned

__all__ = ["bmm", "bmm_avx2", "bmm_scalar", "load"]

_SOURCES = [
    os.path.join(os.path.dirname(__file__), "csrc", name)
    for name in ("products.cpp", "products_avx2.cpp", "products_avx512.cpp")
]
#: Flags of the operator: AVX2 and FMA, and no contraction the source does not write itself.
CFLAGS = ("-O3", "-march=x86-64-v3", "-ffp-contract=off")


@functools.cache
def load() -> None:
    """Compile (or reuse) and load the operator (its gradient comes with it, in C++), and
    register its fake kernels for ``torch.compile``."""
    from torch.utils.cpp_extension import load as load_extension

    load_extension(
        name="richneuron_products",
        sources=_SOURCES,
        extra_cflags=list(CFLAGS),
        is_python_module=False,
    )
    torch.library.register_fake("richneuron::bmm")(_fake)
    torch.library.register_fake("richneuron::bmm_avx2")(_fake)
    torch.library.register_fake("richneuron::bmm_scalar")(_fake)


def _fake(a: Tensor, b: Tensor) -> Tensor:
    return a.new_empty(a.shape[0], a.shape[1], b.shape[2])


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """``[M, I, K] @ [M, K, J] -> [M, I, J]`` (float32), with fixed rounding when pinned."""
    if not is_pinned():
        return torch.bmm(a, b)
    if not torch.compiler.is_compiling():  # compiled callers load it first (the trainer)
        load()
    return torch.ops.richneuron.bmm(a, b)


def bmm_avx2(a: Tensor, b: Tensor) -> Tensor:
    """The same product by the AVX2 kernel even where the CPU has AVX-512 (for tests)."""
    load()
    return torch.ops.richneuron.bmm_avx2(a, b)


def bmm_scalar(a: Tensor, b: Tensor) -> Tensor:
    """The same product by the operator's plain scalar loop (``std::fma``): the test reference."""
    load()
    return torch.ops.richneuron.bmm_scalar(a, b)
