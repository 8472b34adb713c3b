"""Training: the plain reference loop and the fast batched trainer (Method chapter).

:func:`train_reference` is the readable ground truth: one network, ``torch.optim.Adam``, eager
PyTorch. :func:`train_runs` trains many runs at once: runs of one shape (architecture, width,
input/output dims, point count) are stacked into an ensemble of ``chunk`` members, and one
compiled graph does forward, backward (``torch.autograd.grad``) and Adam for all of them. The
loss is summed over members, so each member's gradient, and its Adam update, is exactly its
own: a run's result does not depend on the runs it was grouped with (tested bit for bit).

The settings that do not change a shape (``lr``, ``omega``, Adam's ``beta1``, ``beta2`` and
``eps``, and ``data_seed``) are per-member tensors, not constants of the compiled code: runs of
one shape under different settings (a sweep, :func:`train_jobs`) train in one chunk through one
compiled step, with the same bits as alone.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import dataclasses
import math
import multiprocessing
import os
import signal
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import functional_call

from ..arithmetic import products
from ..arithmetic.determinism import is_pinned, pin_arithmetic, pin_compiler
from ..config import TrainConfig
from ..neurons import Network, StackedLinear, get_arch, layer_of
from ..neurons.matching import match_width
from ..store.schema import Job, Run, RunResult, config_key
from ..tasks import Task, TaskData, get_task, task_error
from . import stepcache

__all__ = [
    "CHUNK",
    "CHUNK_SIZES",
    "close_workers",
    "group_runs",
    "cross_entropy_per_member",
    "loss_per_member",
    "train_chunk",
    "train_jobs",
    "train_reference",
    "train_runs",
]

#: Ensemble sizes the trainer compiles. A group of same-shape runs is cut into the fewest chunks
#: of at most ``CHUNK`` runs, as even as possible (6 runs: 3 + 3; 7 runs: 4 + 3), and each chunk
#: is padded up to the next size here. Compiling costs ~5 s per graph here, more than training a
#: chunk, so there are few sizes; the runs of one shape in a chapter (architectures x tasks of
#: one input and output size x five seeds) fill chunks of 4 with little padding. No size is 1,
#: since
#: compiled kernels special-case size-1 dimensions (and would change the bits); a member's bits
#: are the same in a chunk of 3 or 4 (tested). Four members (two per core) measured faster per
#: member than eight: their activations stay in the 2 MB per-core L2 cache.
CHUNK_SIZES = (3, 4)
CHUNK = CHUNK_SIZES[-1]


def _per_run(runs: Sequence[Run], config: TrainConfig | Sequence[TrainConfig]) -> list[TrainConfig]:
    """Each run's protocol: one config for all, or one per run."""
    if isinstance(config, TrainConfig):
        return [config] * len(runs)
    configs = list(config)
    if len(configs) != len(runs):
        raise ValueError(f"{len(configs)} configs given for {len(runs)} runs")
    return configs


def loss_per_member(pred: Tensor, target: Tensor, is_classification: Tensor) -> Tensor:
    """Training loss of each member: MSE, or logistic loss for ±1 labels.

    Args:
        pred: ``[M, N, out]`` network outputs (logits for classification).
        target: ``[M, N, out]`` targets (±1 labels for classification).
        is_classification: ``[M, 1, 1]`` 1.0 for classification members, 0.0 otherwise.

    Returns:
        ``[M]``: ``mean(softplus(-y f))`` or ``mean((f - y)^2)``; the unused term is multiplied
        by exactly 0, so each member's loss and gradient equal those of its own plain loss.
    """
    mse = (pred - target).square()
    logistic = torch.nn.functional.softplus(-target * pred)
    per_point = is_classification * logistic + (1 - is_classification) * mse
    return per_point.mean(dim=(1, 2))


def cross_entropy_per_member(pred: Tensor, target: Tensor) -> Tensor:
    """Training loss of each member of a multi-class chunk: softmax cross-entropy in nats.

    Args:
        pred: ``[M, N, K]`` logits.
        target: ``[M, N, K]`` one-hot targets.

    Returns:
        ``[M]``: ``mean over points of -sum_k target_k log_softmax(pred)_k``.
    """
    return -(target * torch.log_softmax(pred, dim=-1)).sum(dim=-1).mean(dim=1)


def _reference_loss(pred: Tensor, target: Tensor, kind: str) -> Tensor:
    if kind == "multiclass":
        classes = pred.shape[-1]
        return torch.nn.functional.cross_entropy(
            pred.reshape(-1, classes), target.reshape(-1, classes).argmax(dim=-1)
        )
    if kind == "classification":
        return torch.nn.functional.binary_cross_entropy_with_logits(pred, (target + 1) / 2)
    return torch.nn.functional.mse_loss(pred, target)


#: Seed offset of the validation split's permutation (independent of the data's own draw).
VALIDATION_SALT = 7919


def n_validation(n_train: int, fraction: float) -> int:
    """Training points held out at ``fraction`` (0: none; otherwise at least one, and at least
    one left to train on)."""
    if fraction <= 0:
        return 0
    return min(n_train - 1, max(1, round(fraction * n_train)))


def split_validation(
    data: TaskData, config: TrainConfig
) -> tuple[TaskData, Tensor | None, Tensor | None]:
    """``data`` without its validation points, and those points (``x_val``, ``y_val``):
    :func:`n_validation` of the training points, drawn by a permutation seeded from the data
    seed alone (every architecture and run seed holds out the same points; the test points are
    never touched). With ``config.validation == 0``: ``(data, None, None)``."""
    n = int(data.x_train.shape[0])
    k = n_validation(n, config.validation)
    if k == 0:
        return data, None, None
    gen = torch.Generator().manual_seed(VALIDATION_SALT + config.data_seed)
    order = torch.randperm(n, generator=gen)
    held, kept = order[:k].sort().values, order[k:].sort().values
    train = dataclasses.replace(data, x_train=data.x_train[kept], y_train=data.y_train[kept])
    return train, data.x_train[held], data.y_train[held]


def _scale_init(net: Network, scales: Sequence[float]) -> None:
    """Multiply every initial parameter of member ``m`` by ``scales[m]`` (nothing when all are 1:
    the default protocol's bits are untouched)."""
    if all(s == 1.0 for s in scales):
        return
    factor = _float32(scales)[:, 0, 0]
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(factor.view(-1, *[1] * (p.dim() - 1)))


def _build(
    arch: str, task: str, config: TrainConfig, members: int, omega: Sequence[float] | None = None
) -> tuple[Network, tuple[int, ...], int]:
    """The network of ``members`` members (``omega`` per member, default ``config.omega``)."""
    layer, t = layer_of(arch, config.kan_grid), get_task(task)
    widths, count = match_width(arch, task, config.budget_for(task), config)
    omega = config.omega if omega is None else omega
    net = Network(layer, t.in_dim, t.out_dim, widths, config.depth, members, omega, config.rank)
    return net, widths, count


def train_reference(
    run: Run, config: TrainConfig, data: TaskData | None = None, steps: int | None = None
) -> list[float]:
    """Train one network the plain way and return its loss at every step.

    The readable ground truth the batched trainer is tested against: ``nn.Module``, ``torch.optim
    .Adam`` and ``loss.backward()``, one network at a time. Returns the loss before each update.
    """
    task = get_task(run.task)
    data, _, _ = split_validation(data or task.generate(config.data_seed), config)
    net, _, _ = _build(run.arch, run.task, config, members=1)
    net.reset([run.seed])
    _scale_init(net, [config.init_scale])
    # The fused kernel: its square root is exact (at::vec), while the default (foreach) Adam
    # takes it from MKL's vector math, which in the pinned compatible branch is CPU-dependent.
    opt = torch.optim.Adam(
        net.parameters(),
        lr=config.lr,
        betas=(config.beta1, config.beta2),
        eps=config.eps,
        fused=is_pinned(),
    )
    x, y = data.x_train[None], data.y_train[None]
    losses = []
    for _ in range(steps or config.steps):
        opt.zero_grad(set_to_none=True)
        loss = _reference_loss(net(x), y, task.kind)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


# ---------------------------------------------------------------------------------------------
# The batched, compiled trainer.


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


def _float32(values: Sequence[float]) -> Tensor:
    """Python floats as float32 (each correctly rounded from double), shaped ``[..., 1, 1]``."""
    return torch.tensor(values, dtype=torch.float64).to(torch.float32)[..., None, None]


def _adam_scalars(configs: Sequence[TrainConfig]) -> tuple[Tensor, Tensor]:
    """Adam's bias corrections of every step ``t = 1 .. steps`` for each member's protocol:
    ``(step_size, root_bc2)``, each ``[steps, M, 1, 1]``.

    As ``torch.optim.Adam`` computes them: in double precision (Python floats, the C library's
    ``pow`` and a correctly rounded square root), then used as float32 scalars:
    ``step_size = lr / (1 - beta1^t)``, ``root_bc2 = sqrt(1 - beta2^t)``. Computed once per
    chunk, not inside the compiled step, whose kernels would recompute them for every element.
    """
    ts = range(1, configs[0].steps + 1)
    step_size = [[c.lr / (1 - c.beta1**t) for c in configs] for t in ts]
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
    :func:`loss_per_member` otherwise (a chunk is one or the other: :func:`_shape_key`)."""
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


def _shape_key(run: Run, config: TrainConfig) -> tuple:
    """The layer (KAN's of its grid), widths, data dims and point counts, and last whether the
    task is multi-class (its loss is another graph)."""
    task = get_task(run.task)
    widths, _ = match_width(run.arch, run.task, config.budget_for(run.task), config)
    return (
        layer_of(run.arch, config.kan_grid).__name__,
        widths,
        task.in_dim,
        task.out_dim,
        task.n_train - n_validation(task.n_train, config.validation),
        task.n_test,
        task.kind == "multiclass",
    )


def _chunk_key(run: Run, config: TrainConfig) -> tuple:
    """What runs of one chunk share: the shape, the parameters' layout (depth, rank) and the
    length of the loop (steps, log_every). Everything else may differ between members."""
    return (_shape_key(run, config), config.depth, config.rank, config.steps, config.log_every)


def _groups(jobs: Sequence[Job]) -> list[list[list[int]]]:
    """The chunks of :func:`group_runs` as positions in ``jobs``, one list per chunk key."""
    groups: dict[tuple, list[int]] = {}
    for i, (run, config) in enumerate(jobs):
        groups.setdefault(_chunk_key(run, config), []).append(i)
    chunked = []
    for rs in groups.values():
        n = -(-len(rs) // CHUNK)  # chunks needed
        bounds = [len(rs) * i // n for i in range(n + 1)]
        chunked.append([rs[a:b] for a, b in zip(bounds, bounds[1:])])
    return chunked


def group_runs(
    runs: Sequence[Run], config: TrainConfig | Sequence[TrainConfig]
) -> list[list[Run]]:
    """Split ``runs`` into chunks that share a :func:`_chunk_key`: the fewest chunks of at most
    ``CHUNK`` runs, their sizes as even as possible (order kept)."""
    jobs = list(zip(runs, _per_run(runs, config)))
    return [[runs[i] for i in part] for parts in _groups(jobs) for part in parts]


def _stack(datas: list[TaskData], field_name: str) -> Tensor:
    return torch.stack([getattr(d, field_name) for d in datas])


def ensemble_size(n_runs: int) -> int:
    """The compiled ensemble size for a chunk of ``n_runs``: the next of :data:`CHUNK_SIZES`."""
    if not 1 <= n_runs <= CHUNK:
        raise ValueError(f"a chunk holds 1..{CHUNK} runs, got {n_runs}")
    return next(size for size in CHUNK_SIZES if size >= n_runs)


def train_chunk(
    runs: Sequence[Run],
    config: TrainConfig | Sequence[TrainConfig],
    compile: bool = True,
) -> list[RunResult]:
    """Train up to ``CHUNK`` runs of one chunk key as one ensemble.

    ``config`` is every run's protocol, or one per run: members may differ in every setting but
    those of :func:`_chunk_key` (``lr``, ``omega``, the betas, ``eps``, ``data_seed``). The
    ensemble is padded to :func:`ensemble_size` members by repeating the last run; padded
    members are trained and discarded. A member's arithmetic does not depend on its position,
    on the ensemble size or on the other members' settings (tested bit for bit), given the
    pinned MKL mode of :mod:`richneuron.arithmetic.determinism`: the compiled step vectorises every
    member
    alike, and the eager evaluations (test curve, final metrics, validation score) put each
    member's last elements off the scalar tail of ATen's loops (:func:`_with_spare`).
    """
    pin_arithmetic()
    if is_pinned():
        products.load()
    chunk = ensemble_size(len(runs))
    configs = _per_run(runs, config)
    if len({_chunk_key(r, c) for r, c in zip(runs, configs)}) != 1:
        raise ValueError("runs of one chunk must share one shape, depth, rank and step count")
    start = time.perf_counter()
    members = list(runs) + [runs[-1]] * (chunk - len(runs))
    member_configs = configs + [configs[-1]] * (chunk - len(runs))
    config = configs[0]  # for what all members share
    data = _Data.stage(members, member_configs)
    net, widths, count = _build(
        runs[0].arch, runs[0].task, config, chunk, [c.omega for c in member_configs]
    )
    net.reset([r.seed for r in members])
    _scale_init(net, [c.init_scale for c in member_configs])
    step = _compiled_step(runs[0].arch, _shape_key(runs[0], config), config, compile)
    loop = _train_loop(net, step, data, member_configs)
    final = _final_metrics(net, loop.params, data)
    elapsed = (time.perf_counter() - start) / len(runs)
    return [
        _result(run, j, data, loop, final, widths, count, elapsed)
        for j, run in enumerate(runs)
    ]


@dataclass
class _Data:
    """A chunk's data, stacked over members: training and test points, targets, tasks."""

    tasks: list[Task]
    splits: list[tuple[TaskData, Tensor | None, Tensor | None]]  # (data, x_val, y_val)
    x: Tensor
    y: Tensor
    is_clf: Tensor  # [M, 1, 1]: 1.0 where the member's task is a classification
    x_test: Tensor
    y_test: Tensor

    @classmethod
    def stage(cls, members: Sequence[Run], configs: Sequence[TrainConfig]) -> _Data:
        tasks = [get_task(r.task) for r in members]
        splits = [split_validation(t.generate(c.data_seed), c) for t, c in zip(tasks, configs)]
        datas = [d for d, _, _ in splits]
        return cls(
            tasks,
            splits,
            _stack(datas, "x_train"),
            _stack(datas, "y_train"),
            torch.tensor([float(t.kind == "classification") for t in tasks]).view(-1, 1, 1),
            _stack(datas, "x_test"),
            _stack(datas, "y_test"),
        )

    @property
    def datas(self) -> list[TaskData]:
        return [d for d, _, _ in self.splits]


@dataclass
class _Loop:
    """What the training loop leaves: the final parameters and every log."""

    params: dict[str, Tensor]
    log_steps: list[int]
    losses: Tensor  # [steps, M]: each step's training loss
    test_log: list[list[float]]  # per logged step: each member's test metric
    norms_log: dict[str, list[list[float]]]  # group -> per logged step: each member's norm
    diag_log: dict[str, list[Tensor]]  # internal -> per logged step: [M]


def _train_loop(
    net: Network, step: _Step, data: _Data, configs: Sequence[TrainConfig]
) -> _Loop:
    """Adam from the network's initial parameters for ``steps`` steps, logging the test
    metric, the internals and the gradient norms every ``log_every`` steps (and at the last)."""
    config = configs[0]
    buffers = {k: b.detach().clone() for k, b in net.named_buffers()}
    adam = _adam_settings(configs)
    params = {k: p.detach().clone() for k, p in net.named_parameters()}
    m = {k: torch.zeros_like(p) for k, p in params.items()}
    v = {k: torch.zeros_like(p) for k, p in params.items()}
    log_steps = sorted(set(range(0, config.steps, config.log_every)) | {config.steps - 1})
    norms_log: dict[str, list[list[float]]] = {}
    diag_log: dict[str, list[Tensor]] = {}
    test_log: list[list[float]] = []
    is_log = set(log_steps)
    step_sizes, root_bc2s = (t.unbind(0) for t in _adam_scalars(configs))
    per_step: list[Tensor] = []  # each step's [M] losses, stacked after the loop
    x, y, is_clf = data.x, data.y, data.is_clf
    # The first call may compile the step and checks its arguments; the calls after it run
    # in the step's stance (through torch.compile: Dynamo's guards skipped, see _Step).
    with contextlib.ExitStack() as stance:
        for i in range(config.steps):
            logging = i in is_log
            if logging:
                for k, val in _internals(net, params, x).items():
                    diag_log.setdefault(k, []).append(val)
                test_log.append(_test_errors(net, params, data.x_test, data.y_test, data.tasks))
            params, m, v, per_member, grads = (step if i == 0 else step.fast)(
                params, buffers, adam, m, v, step_sizes[i], root_bc2s[i], x, y, is_clf
            )
            if i == 0:
                stance.enter_context(step.stance())
            per_step.append(per_member)
            if logging:
                for k, val in _group_norms(net, grads).items():
                    norms_log.setdefault(k, []).append(val)
    return _Loop(params, log_steps, torch.stack(per_step), test_log, norms_log, diag_log)


@dataclass
class _Final:
    """The trained members' final scores."""

    pred_test: Tensor
    train_loss: Tensor  # [M]
    per_output: Tensor  # [M, out]: the training MSE of each output (capacity's regression)
    validation: list[float | None]  # the tuning score, where points are held out


def _final_metrics(net: Network, params: dict[str, Tensor], data: _Data) -> _Final:
    with torch.no_grad():
        pred_test = _evaluate(net, params, data.x_test)
        pred_train = _evaluate(net, params, data.x)
        multiclass = data.tasks[0].kind == "multiclass"
        train_loss = _with_spare(
            lambda p, t, c: _member_losses(p, t, c, multiclass), pred_train, data.y, data.is_clf
        )
        per_output = (pred_train - data.y).square().mean(dim=1)
        validation: list[float | None] = [None] * len(data.tasks)
        if data.splits[0][1] is not None:  # one shape key: every member holds out as many
            pred_val = _evaluate(net, params, torch.stack([v for _, v, _ in data.splits]))
            validation = [
                float(task_error(pred_val[j], data.splits[j][2], t.metric))
                for j, t in enumerate(data.tasks)
            ]
    return _Final(pred_test, train_loss, per_output, validation)


def _result(
    run: Run, j: int, data: _Data, loop: _Loop, final: _Final, widths: Sequence[int],
    count: int, elapsed: float,
) -> RunResult:
    """Member ``j``'s result (the run ``run``)."""
    finite = torch.isfinite(loop.losses[:, j])
    bad = (~finite).nonzero()
    diverged_step = int(bad[0]) if len(bad) else None
    task = data.tasks[j]
    err = task_error(final.pred_test[j], data.datas[j].y_test, task.metric)
    return RunResult(
        run=run,
        widths=list(widths),
        params=count,
        metric=task.metric,
        test_metric=float(err),
        train_loss=float(final.train_loss[j]),
        diverged=diverged_step is not None or not math.isfinite(float(err)),
        diverged_step=diverged_step,
        loss_curve=[float(loop.losses[s, j]) for s in loop.log_steps],
        test_curve=[row[j] for row in loop.test_log],
        grad_norms={k: [val[j] for val in vals] for k, vals in loop.norms_log.items()},
        diagnostics={k: [float(val[j]) for val in vals] for k, vals in loop.diag_log.items()},
        wall_time=elapsed,
        extra={
            **_capacity_extra(task, final.per_output[j]),
            **({} if final.validation[j] is None else {"val_metric": final.validation[j]}),
        },
    )


def _capacity_extra(task: Task, per_output: Tensor) -> dict[str, float]:
    """What the capacity chapter needs beyond the test metric: the MSE of each output on the
    training points (``mse_0``, ``mse_1``, ...) of a random-data regression task; nothing
    for other tasks."""
    if task.group != "capacity" or task.kind != "regression":
        return {}
    return {f"mse_{k}": float(v) for k, v in enumerate(per_output)}


#: ATen's eager elementwise kernels vectorise in blocks of two AVX2 vectors (16 float32) and
#: leave the rest, fewer than this, to a scalar loop (see :func:`_with_spare`).
TAIL_BLOCK = 16


def _with_spare(fn: Callable[..., Tensor], *tensors: Tensor) -> Tensor:
    """``fn(*tensors)`` (each ``[M, N, ...]``, result ``[M, ...]``) computed with spare copies of
    the last member appended to every tensor (enough for :data:`TAIL_BLOCK` points), then
    dropped.

    Why: an eager elementwise kernel of ATen runs its vectorised loop over the whole flattened
    tensor and leaves the last few elements (fewer than one block of 16 floats) to a scalar loop,
    whose ``exp``, ``sin`` or SiLU can differ from the vectorised one in the last bit. Those
    elements belonged to the chunk's last member, so the same run could evaluate to other bits
    in another grouping (seen: KAN on Memorize fitted to MSE 5e-14, where one bit of one
    prediction moved the MSE by 4e-4). With spare copies at the end holding at least a block
    (every eager tensor has at least one element per point), the tail falls on the copies, and
    every member's elements take the vectorised path, as they do in any position: a member's
    bits depend on the member alone.
    """
    spares = -(-TAIL_BLOCK // tensors[0].shape[1])
    m = tensors[0].shape[0]
    return fn(*(torch.cat([t, t[-1:].expand(spares, *t.shape[1:])]) for t in tensors))[:m]


def _evaluate(net: Network, params: dict[str, Tensor], x: Tensor) -> Tensor:
    """Every member's predictions at its inputs ``x[m]``, eagerly, with :func:`_with_spare`."""
    per_member = set(net.state_dict()) - set(params)  # persistent buffers: one value per member
    names = [*params, *sorted(per_member)]
    own = {**params, **{n: b for n, b in net.named_buffers() if n in per_member}}

    def forward(x: Tensor, *tensors: Tensor) -> Tensor:
        return functional_call(net, dict(zip(names, tensors)), (x,))

    return _with_spare(forward, x, *(own[n] for n in names))


def _test_errors(
    net: Network, params: dict[str, Tensor], x: Tensor, y: Tensor, tasks: list
) -> list[float]:
    """Each member's test metric at ``params`` (for the test curve), via :func:`_evaluate`."""
    with torch.no_grad():
        pred = _evaluate(net, params, x)
    return [float(task_error(pred[j], y[j], t.metric)) for j, t in enumerate(tasks)]


def _internals(net: Network, params: dict[str, Tensor], x: Tensor) -> dict[str, Tensor]:
    """Architecture diagnostics of every member at the current ``params`` (``name -> [M]``)."""
    with torch.no_grad():
        for k, p in net.named_parameters():
            p.copy_(params[k])
        return net.internals(x)


#: Worker processes of :func:`train_runs` (one per core, each one thread): independent chunks
#: train side by side, which beats two threads inside one small chunk's kernels by ~30% here.
#: ``RICHNEURON_WORKERS`` overrides it; 1 trains in the calling process. A run's bits do not
#: depend on this (each chunk trains in one process, with the pinned thread count).
#: Unpinned (``RICHNEURON_UNPINNED=1``), torch's own threads use the cores, so one process.
WORKERS = int(
    os.environ.get("RICHNEURON_WORKERS", min(2, os.cpu_count() or 1) if is_pinned() else 1)
)

#: The worker processes: one single-process executor each, so that the parent chooses which
#: worker trains which shape group (see :func:`train_runs`), kept across calls with what each
#: has compiled (:data:`_COMPILED`).
_POOLS: list[concurrent.futures.ProcessPoolExecutor] = []
_COMPILED: list[set] = []


def _pools(workers: int) -> list[concurrent.futures.ProcessPoolExecutor]:
    """The persistent workers (kept across calls, so that their compiled steps stay warm)."""
    if len(_POOLS) != workers:
        _shutdown_pool()
        context = multiprocessing.get_context("spawn")
        for _ in range(workers):
            _POOLS.append(
                concurrent.futures.ProcessPoolExecutor(
                    1, mp_context=context, initializer=_worker_init
                )
            )
            _COMPILED.append(set())
    return _POOLS


def _worker_init() -> None:
    # An interrupt (Ctrl-C, a kernel shutdown) is the parent's to handle: it stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _shutdown_pool(kill: bool = False) -> None:
    for pool in _POOLS:
        processes = list(getattr(pool, "_processes", {}).values()) if kill else []
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a worker may be mid-chunk: stop it now
            process.terminate()
    _POOLS.clear()
    _COMPILED.clear()


atexit.register(_shutdown_pool)


def close_workers() -> None:
    """Stop the worker processes now (they start again on the next :func:`train_runs`)."""
    _shutdown_pool()


def train_parts(parts: list[list[Job]], compile: bool) -> list[RunResult]:
    """Train chunks of one chunk key, one after the other (the unit of work of a worker)."""
    return [
        res
        for part in parts
        for res in train_chunk([r for r, _ in part], [c for _, c in part], compile)
    ]


def group_cost(parts: list[list[Job]]) -> int:
    """Rough cost of a group for scheduling: members times matrices per neuron times steps."""
    run, config = parts[0][0]
    members = sum(ensemble_size(len(p)) for p in parts)
    return members * get_arch(run.arch).matrices * config.steps


def _group_step_key(parts: list[list[Job]], compile: bool) -> tuple:
    run, config = parts[0][0]
    return _step_key(run.arch, _shape_key(run, config), config, compile)


def _pick(keys: Sequence[tuple], compiled: set, claimed: set) -> int:
    """Which of the pending groups (their step keys, most expensive first) an idle worker
    takes: the first whose step it has compiled; else the first whose step no worker has
    compiled, so that two workers do not both compile one step; else the first."""
    for wanted in (lambda k: k in compiled, lambda k: k not in claimed):
        for i, key in enumerate(keys):
            if wanted(key):
                return i
    return 0


def _schedule(
    groups: list[list[list[int]]],
    jobs: Sequence[Job],
    compile: bool,
    pools: list[concurrent.futures.ProcessPoolExecutor],
    finish: Callable[[list[list[int]], list[RunResult]], None],
) -> None:
    """Train the groups on the workers, the most expensive first.

    A worker that falls idle takes the most expensive group whose step it has compiled before,
    else the most expensive one whose step no worker has, else the most expensive one left
    (:func:`_pick`): compiling costs seconds, so a group goes back to a worker that has its
    step (as the same calls do when a chapter re-runs).
    """
    def as_jobs(parts: list[list[int]]) -> list[list[Job]]:
        return [[jobs[i] for i in part] for part in parts]

    pending = sorted(groups, key=lambda g: group_cost(as_jobs(g)), reverse=True)
    keys = [_group_step_key(as_jobs(g), compile) for g in pending]
    running: dict[concurrent.futures.Future, tuple[int, list[list[int]]]] = {}

    def submit(worker: int) -> None:
        i = _pick(keys, _COMPILED[worker], set().union(*_COMPILED))
        parts, key = pending.pop(i), keys.pop(i)
        _COMPILED[worker].add(key)
        running[pools[worker].submit(train_parts, as_jobs(parts), compile)] = (worker, parts)

    try:
        for worker in range(min(len(pools), len(pending))):
            submit(worker)
        while running:
            done, _ = concurrent.futures.wait(running, return_when="FIRST_COMPLETED")
            for future in done:
                worker, parts = running.pop(future)
                finish(parts, future.result())
                if pending:
                    submit(worker)
    except BaseException:
        for future in running:
            future.cancel()
        _shutdown_pool(kill=True)  # start afresh next time
        raise


def train_jobs(
    jobs: Sequence[Job],
    compile: bool = True,
    progress: Callable[[int, int], None] | None = None,
    on_results: Callable[[list[tuple[Job, RunResult]]], None] | None = None,
    workers: int | None = None,
    backend: object | None = None,
) -> list[RunResult]:
    """Train every ``(run, config)`` job; results in the order of ``jobs``.

    Jobs that share a :func:`_chunk_key` are chunked together whatever their other settings,
    so a sweep over ``lr`` or ``omega`` compiles one step per shape. With more than one worker
    (default :data:`WORKERS`), the groups train in worker processes, the most expensive first,
    each preferably where its step is compiled (see :func:`_schedule`); otherwise in this
    process. With a ``backend`` (a :class:`richneuron.train.cluster.DaskBackend`), every chunk is a
    task of its cluster instead, and ``workers`` is not used. ``progress(done, total)`` is
    called after each chunk (each group, on the local workers), and ``on_results([(job,
    result), ...])`` with its results, so a caller can keep them before an interrupt.
    """
    jobs = list(jobs)
    if not jobs:
        raise ValueError("no runs to train")
    keys = [(run, config_key(config)) for run, config in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate runs")
    workers = WORKERS if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    # Aliases (v4_glu is singlu) train once, under the first id asked for.
    same: dict[tuple, list[int]] = {}
    for i, (run, key) in enumerate(keys):
        same.setdefault((get_arch(run.arch).canonical, run.task, run.seed, key), []).append(i)
    firsts = [positions[0] for positions in same.values()]
    copies = {positions[0]: positions[1:] for positions in same.values()}
    results: list[RunResult | None] = [None] * len(jobs)
    done = 0

    def finish(parts: list[list[int]], trained: list[RunResult]) -> None:
        nonlocal done
        kept = []
        for i, res in zip([i for part in parts for i in part], trained, strict=True):
            for j in [i, *copies[i]]:
                results[j] = res if j == i else dataclasses.replace(res, run=jobs[j][0])
                kept.append((jobs[j], results[j]))
        done += len(kept)
        if on_results:
            on_results(kept)
        if progress:
            progress(done, len(jobs))

    unique = [jobs[i] for i in firsts]
    groups = [[[firsts[i] for i in part] for part in parts] for parts in _groups(unique)]
    if backend is not None:
        backend.schedule(groups, jobs, compile, finish)  # type: ignore[attr-defined]
    elif workers == 1 or len(groups) == 1:
        for parts in groups:
            for part in parts:
                finish([part], train_parts([[jobs[i] for i in part]], compile))
    else:
        _schedule(groups, jobs, compile, _pools(workers), finish)
    return results  # type: ignore[return-value]


def train_runs(
    runs: Sequence[Run],
    config: TrainConfig | Sequence[TrainConfig],
    compile: bool = True,
    progress: Callable[[int, int], None] | None = None,
    on_results: Callable[[list[RunResult]], None] | None = None,
    workers: int | None = None,
    backend: object | None = None,
) -> list[RunResult]:
    """Train every run under ``config`` (one for all, or one per run); results in the order of
    ``runs``. ``on_results(results)`` is called with each chunk's results; see
    :func:`train_jobs`."""
    jobs = list(zip(runs, _per_run(runs, config)))

    def keep(pairs: list[tuple[Job, RunResult]]) -> None:
        on_results([res for _, res in pairs])  # type: ignore[misc]

    return train_jobs(jobs, compile, progress, keep if on_results else None, workers, backend)
