"""One compiled training step of the batched trainer: the loss of every member, its gradients and
the Adam update in one function (:func:`_make_step`), compiled once per shape and kept across
processes (:class:`_Step`, :mod:`richneuron.train.stepcache`).
"""

from __future__ import annotations

import contextlib
import math
import types
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.func import functional_call

from ..arithmetic.determinism import pin_compiler
from ..config import TrainConfig
from ..neurons import Network, StackedLinear, layer_of
from . import stepcache
from .reference import (
    _float32,
    cross_entropy_per_member,
    loss_per_member,
)

__all__ = [
]


def _group_norms(net: Network, grads: dict[str, Tensor]) -> dict[str, list[float]]:
    """Gradient norm per parameter group, per member: ``name -> [norm of each member]``.

    Groups are the branches of each layer (``l0.gate``, ``l0.value``, ...), its per-neuron
    vectors and the read-out; fused weights are split by branch. The sums of squares are taken
    eagerly in float64, so a member's norms do not depend on its position in the ensemble, and
    the square roots by ``math.sqrt`` (correctly rounded, unlike MKL's vector square root).
    """
    out: dict[str, Tensor] = {}
    for name, g in grads.items():
        g = g.double()
        parts = name.split(".")
        prefix = "readout" if parts[0] == "readout" else f"l{parts[1]}"
        owner = net.get_submodule(name.rsplit(".", 1)[0])
        if not isinstance(owner, StackedLinear):  # a per-neuron vector parameter
            key = f"{prefix}.{parts[-1]}"
            out[key] = g.reshape(g.shape[0], -1).square().sum(1)
            continue
        pieces = g.chunk(len(owner.branches), dim=-1)
        for branch, piece in zip(owner.branches, pieces):
            key = prefix if prefix == "readout" else f"{prefix}.{branch}"
            sq = piece.reshape(piece.shape[0], -1).square().sum(1)
            out[key] = out[key] + sq if key in out else sq
    return {k: [math.sqrt(x) for x in v.tolist()] for k, v in out.items()}


def _adam_scalars(configs: Sequence[TrainConfig]) -> tuple[Tensor, Tensor]:
    """Adam's bias corrections of every step ``t = 1 .. steps`` for each member's protocol:
    ``(step_size, root_bc2)``, each ``[steps, M, 1, 1]``.

    As ``torch.optim.Adam`` computes them: in double precision (Python floats, the C library's
    ``pow`` and a correctly rounded square root), then used as float32 scalars:
    ``step_size = lr_t / (1 - beta1^t)``, ``root_bc2 = sqrt(1 - beta2^t)``, where ``lr_t`` is
    the schedule's rate for step t (:meth:`TrainConfig.lr_at`, as ``LambdaLR`` sets it). Computed
    once per chunk, not inside the compiled step, whose kernels would recompute them for every
    element.
    """
    ts = range(1, configs[0].steps + 1)
    step_size = [[c.lr_at(t - 1) / (1 - c.beta1**t) for c in configs] for t in ts]
    root_bc2 = [[math.sqrt(1 - c.beta2**t) for c in configs] for t in ts]
    return _float32(step_size), _float32(root_bc2)


def _adam_settings(configs: Sequence[TrainConfig]) -> dict[str, Tensor]:
    """Adam's constants per member, ``[M, 1, 1]`` float32: ``1 - beta1``, ``beta2``,
    ``1 - beta2`` (differences taken in double, as ``torch.optim.Adam`` does) and ``eps``."""
    return {
        "one_minus_beta1": _float32([1 - c.beta1 for c in configs]),
        "beta2": _float32([c.beta2 for c in configs]),
        "one_minus_beta2": _float32([1 - c.beta2 for c in configs]),
        "eps": _float32([c.eps for c in configs]),
    }


def _member_losses(pred: Tensor, y: Tensor, is_clf: Tensor, multiclass: bool) -> Tensor:
    """Each member's training loss: :func:`cross_entropy_per_member` in a multi-class chunk,
    :func:`loss_per_member` otherwise (a chunk is one or the other:
    :func:`richneuron.train.trainer._shape_key`)."""
    return cross_entropy_per_member(pred, y) if multiclass else loss_per_member(pred, y, is_clf)


def _make_step(net: Network, multiclass: bool = False) -> Callable:
    """One Adam step for all members: ``(params, buffers, adam, m, v, step_size, root_bc2, x, y,
    is_clf) -> (params, m, v, losses, grads)``; ``buffers`` are the layers' per-member
    frequencies, ``adam`` the per-member constants of :func:`_adam_settings`. ``multiclass``
    chooses the loss (:func:`_member_losses`) when the step is built, so the other chunks
    compile the very graph they always did."""

    def step(params, buffers, adam, m, v, step_size, root_bc2, x, y, is_clf):
        c1, b2, c2, eps = (
            adam["one_minus_beta1"], adam["beta2"], adam["one_minus_beta2"], adam["eps"]
        )
        params = {k: p.detach().requires_grad_() for k, p in params.items()}
        with torch.enable_grad():
            pred = functional_call(net, {**params, **buffers}, (x,))
            per_member = _member_losses(pred, y, is_clf, multiclass)
            grads = dict(zip(params, torch.autograd.grad(per_member.sum(), list(params.values()))))
        params = {k: p.detach() for k, p in params.items()}
        per_member = per_member.detach()
        # torch.optim.Adam's arithmetic, op for op: m by lerp (a + w (b - a) for w < 0.5),
        # the bias corrections of _adam_scalars, addcdiv.
        new_p, new_m, new_v = {}, {}, {}
        for k, p in params.items():
            g = grads[k]
            mk = m[k] + c1 * (g - m[k])
            vk = v[k] * b2 + g * g * c2
            new_p[k] = p - step_size * (mk / (torch.sqrt(vk) / root_bc2 + eps))
            new_m[k], new_v[k] = mk, vk
        return new_p, new_m, new_v, per_member, grads

    return step


_STEPS: dict[tuple, _Step] = {}


def _step_key(arch: str, shape: tuple, config: TrainConfig, compile: bool) -> tuple:
    """What decides a compiled step: the layer (KAN's of its grid), the shape, the depth and
    rank (which shape the parameters). ``lr``, ``omega``, the betas and ``eps`` reach the step
    as tensors."""
    return (layer_of(arch, config.kan_grid), shape, config.depth, config.rank, compile)


def _compiled_step(
    arch: str, shape: tuple, config: TrainConfig, compile: bool
) -> _Step:
    """The step function of one layer and shape (:func:`_step_key`), built once per process:
    kept from another process where :mod:`richneuron.train.stepcache` holds it, else compiled."""
    key = _step_key(arch, shape, config, compile)
    if key not in _STEPS:
        template = Network(
            layer_of(arch, config.kan_grid), 1, 1, 1, config.depth, 1, 1.0, config.rank
        )
        fn = _make_step(template, multiclass=shape[-1])
        _STEPS[key] = _Step(fn, key, len(_STEPS)) if compile else _Step(fn)
    return _STEPS[key]


class _Step:
    """A step function, called two ways: a plain call for a loop's first step, :meth:`fast` for
    the steps after it.

    Compiled, the step is, in order of preference:

    * **direct** (:class:`richneuron.train.stepcache.Direct`): Inductor's C++ function called
    without
      Dynamo, as kept by another process or seen on this process's first call. The plain call
      checks the arguments' shapes and strides (a mismatch falls back to ``torch.compile``).
    * **torch.compile**'s function: the plain call may compile, so it runs with the setting
      tracing needs (Dynamo traces ``torch.autograd.grad`` into the graph only when asked to);
      each key gets its own code object, so Dynamo keeps exactly one cache entry per function
      and :meth:`stance` can skip its guards for the calls after the first. The first call is
      watched (:func:`richneuron.train.stepcache.capture`) to make the direct call, which is kept.
    """

    def __init__(self, fn: Callable, key: tuple | None = None, number: int = 0) -> None:
        self._fn = fn
        self._key = key  # None: not compiled
        self._number = number
        self._compiled: Callable | None = None
        self._direct = stepcache.load(key) if key is not None else None

    def __call__(self, *args: object) -> tuple:
        if self._key is None:
            return self._fn(*args)
        if self._direct is not None:
            if self._direct.accepts(args):  # type: ignore[arg-type]
                return self._direct.fast(*args)  # type: ignore[arg-type]
            self._direct = None  # built for other shapes: compile for these
        with torch._dynamo.config.patch(trace_autograd_ops=True):
            if self._compiled is not None:  # compiled and watched before, not made direct
                return self._compiled(*args)
            result, self._direct = stepcache.capture(self._compile(), args)  # type: ignore[arg-type]
        if self._direct is not None:
            stepcache.save(self._key, self._direct)
        return result

    def fast(self, *args: object) -> tuple:
        if self._direct is not None:
            return self._direct.fast(*args)  # type: ignore[arg-type]
        return (self._compiled or self._fn)(*args)

    def stance(self) -> contextlib.AbstractContextManager:
        """The calls after the first, through ``torch.compile``, skip Dynamo's guards."""
        if self._key is None or self._direct is not None:
            return contextlib.nullcontext()
        return torch.compiler.set_stance("default", skip_guard_eval_unsafe=True)

    def _compile(self) -> Callable:
        if self._compiled is None:
            pin_compiler()
            fn = self._fn
            fn = types.FunctionType(
                fn.__code__.replace(co_name=f"step_{self._number}"),
                fn.__globals__,
                fn.__name__,
                fn.__defaults__,
                fn.__closure__,
            )
            # A C++ wrapper launches the kernels without Python: ~20% faster steps here.
            self._compiled = torch.compile(
                fn, fullgraph=True, dynamic=False, options={"cpp_wrapper": True}
            )
        return self._compiled
