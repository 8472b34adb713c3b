"""Training: the plain reference loop and the fast batched trainer (Method chapter).

:func:`train_reference` is the readable ground truth: one network, ``torch.optim.Adam``, eager
PyTorch. :func:`train_runs` trains many runs at once: runs of one shape (architecture, width,
input/output dims, point count) are stacked into an ensemble of ``chunk`` members, and one
compiled graph does forward, backward (``torch.autograd.grad``) and Adam for all of them. The
loss is summed over members, so each member's gradient, and its Adam update, is exactly its
own: a run's result does not depend on the runs it was grouped with (tested bit for bit).
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
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch.func import functional_call

from . import products
from .config import TrainConfig
from .determinism import is_pinned, pin_arithmetic
from .matching import match_width
from .neurons import Network, StackedLinear, get_arch
from .tasks import TaskData, get_task, task_error

__all__ = [
    "CHUNK",
    "CHUNK_SIZES",
    "Run",
    "close_workers",
    "RunResult",
    "group_runs",
    "loss_per_member",
    "train_chunk",
    "train_reference",
    "train_runs",
]

#: Ensemble sizes the trainer compiles. A group of same-shape runs is cut into the fewest chunks
#: of at most ``CHUNK`` runs, as even as possible (6 runs: 3 + 3; 7 runs: 4 + 3), and each chunk
#: is padded up to the next size here. Compiling costs ~5 s per graph here, more than training a
#: chunk, so there are few sizes; three seeds (the study's default) fill chunks of 3 exactly, so
#: the full study trains no padded member and compiles one graph per shape. No size is 1, since
#: compiled kernels special-case size-1 dimensions (and would change the bits); a member's bits
#: are the same in a chunk of 3 or 4 (tested). Four members (two per core) measured faster per
#: member than eight: their activations stay in the 2 MB per-core L2 cache.
CHUNK_SIZES = (3, 4)
CHUNK = CHUNK_SIZES[-1]


@dataclass(frozen=True)
class Run:
    """One training run, the unit results are keyed by."""

    arch: str
    task: str
    seed: int


@dataclass
class RunResult:
    """What one run produced (see :mod:`richneuron.results` for the stored schema)."""

    run: Run
    widths: list[int]  # hidden width of each layer, from budget matching
    params: int
    metric: str
    test_metric: float
    train_loss: float
    diverged: bool
    diverged_step: int | None
    loss_curve: list[float]  # training loss every ``log_every`` steps (and at the last step)
    test_curve: list[float]  # test metric at the same steps (generalisation over training)
    grad_norms: dict[str, list[float]]  # parameter group -> norm every ``log_every`` steps
    diagnostics: dict[str, list[float]]  # architecture internals every ``log_every`` steps
    wall_time: float  # seconds of this run's share of its chunk
    extra: dict[str, float] = field(default_factory=dict)


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


def _reference_loss(pred: Tensor, target: Tensor, kind: str) -> Tensor:
    if kind == "classification":
        return torch.nn.functional.binary_cross_entropy_with_logits(pred, (target + 1) / 2)
    return torch.nn.functional.mse_loss(pred, target)


def _build(
    arch: str, task: str, config: TrainConfig, members: int
) -> tuple[Network, tuple[int, ...], int]:
    spec, t = get_arch(arch), get_task(task)
    widths, count = match_width(arch, task, config.budget_for(task), config)
    net = Network(
        spec.layer, t.in_dim, t.out_dim, widths, config.depth, members, config.omega, config.rank
    )
    return net, widths, count


def train_reference(
    run: Run, config: TrainConfig, data: TaskData | None = None, steps: int | None = None
) -> list[float]:
    """Train one network the plain way and return its loss at every step.

    The readable ground truth the batched trainer is tested against: ``nn.Module``, ``torch.optim
    .Adam`` and ``loss.backward()``, one network at a time. Returns the loss before each update.
    """
    task = get_task(run.task)
    data = data or task.generate(config.data_seed)
    net, _, _ = _build(run.arch, run.task, config, members=1)
    net.reset([run.seed])
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


def _adam_scalars(config: TrainConfig) -> tuple[Tensor, Tensor]:
    """Adam's bias corrections of every step ``t = 1 .. steps``: ``(step_size, root_bc2)``.

    As ``torch.optim.Adam`` computes them: in double precision (Python floats, the C library's
    ``pow`` and a correctly rounded square root), then used as float32 scalars:
    ``step_size = lr / (1 - beta1^t)``, ``root_bc2 = sqrt(1 - beta2^t)``. Computed once per
    chunk, not inside the compiled step, whose kernels would recompute them for every element.
    """
    b1, b2, lr = config.beta1, config.beta2, config.lr
    ts = range(1, config.steps + 1)
    step_size = torch.tensor([lr / (1 - b1**t) for t in ts], dtype=torch.float64)
    root_bc2 = torch.tensor([math.sqrt(1 - b2**t) for t in ts], dtype=torch.float64)
    return step_size.to(torch.float32), root_bc2.to(torch.float32)


def _make_step(net: Network, config: TrainConfig) -> Callable:
    """One Adam step for all members:
    ``(params, m, v, step_size, root_bc2, x, y, is_clf) -> (params, m, v, losses, grads)``."""
    b1, b2, eps = config.beta1, config.beta2, config.eps

    def step(params, m, v, step_size, root_bc2, x, y, is_clf):
        params = {k: p.detach().requires_grad_() for k, p in params.items()}
        with torch.enable_grad():
            per_member = loss_per_member(functional_call(net, params, (x,)), y, is_clf)
            grads = dict(zip(params, torch.autograd.grad(per_member.sum(), list(params.values()))))
        params = {k: p.detach() for k, p in params.items()}
        per_member = per_member.detach()
        # torch.optim.Adam's arithmetic, op for op: m by lerp (a + w (b - a) for w < 0.5),
        # the bias corrections of _adam_scalars, addcdiv.
        new_p, new_m, new_v = {}, {}, {}
        for k, p in params.items():
            g = grads[k]
            mk = m[k] + (1 - b1) * (g - m[k])
            vk = v[k] * b2 + g * g * (1 - b2)
            new_p[k] = p - step_size * (mk / (torch.sqrt(vk) / root_bc2 + eps))
            new_m[k], new_v[k] = mk, vk
        return new_p, new_m, new_v, per_member, grads

    return step


_STEPS: dict[tuple, Callable] = {}


def _step_key(arch: str, shape: tuple, config: TrainConfig, compile: bool) -> tuple:
    """What decides a compiled step: the layer, the shape and the protocol settings the step
    uses (not ``lr``, which reaches it through :func:`_adam_scalars`' step sizes)."""
    c = config
    return (get_arch(arch).layer, shape, c.depth, c.omega, c.rank, c.beta1, c.beta2, c.eps,
            compile)


def _compiled_step(
    arch: str, shape: tuple, config: TrainConfig, compile: bool
) -> tuple[Network, Callable]:
    """The step function of one (architecture, shape, protocol), compiled once per process.

    Each key gets its own code object, so Dynamo keeps exactly one cache entry per function:
    no recompile limits to hit, and guard checks can be skipped safely in the training loop.
    """
    key = _step_key(arch, shape, config, compile)
    if key not in _STEPS:
        template = Network(
            get_arch(arch).layer, 1, 1, 1, config.depth, 1, config.omega, config.rank
        )
        fn = _make_step(template, config)
        if compile:
            fn = types.FunctionType(
                fn.__code__.replace(co_name=f"step_{len(_STEPS)}"),
                fn.__globals__,
                fn.__name__,
                fn.__defaults__,
                fn.__closure__,
            )
            # A C++ wrapper launches the kernels without Python: ~20% faster steps here.
            fn = torch.compile(fn, fullgraph=True, dynamic=False, options={"cpp_wrapper": True})
            # Dynamo traces torch.autograd.grad into the graph only when asked to.
            fn = torch._dynamo.config.patch(trace_autograd_ops=True)(fn)
        _STEPS[key] = fn
    return _STEPS[key]


def _skip_guards() -> contextlib.AbstractContextManager:
    return torch.compiler.set_stance("default", skip_guard_eval_unsafe=True)


def _shape_key(run: Run, config: TrainConfig) -> tuple:
    task = get_task(run.task)
    widths, _ = match_width(run.arch, run.task, config.budget_for(run.task), config)
    return (
        get_arch(run.arch).layer.__name__,
        widths,
        task.in_dim,
        task.out_dim,
        task.n_train,
        task.n_test,
    )


def _shape_groups(runs: Sequence[Run], config: TrainConfig) -> list[list[list[Run]]]:
    """The chunks of :func:`group_runs`, one list per shape."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault(_shape_key(run, config), []).append(run)
    chunked = []
    for rs in groups.values():
        n = -(-len(rs) // CHUNK)  # chunks needed
        bounds = [len(rs) * i // n for i in range(n + 1)]
        chunked.append([rs[a:b] for a, b in zip(bounds, bounds[1:])])
    return chunked


def group_runs(runs: Sequence[Run], config: TrainConfig) -> list[list[Run]]:
    """Split ``runs`` into chunks of one shape: the fewest chunks of at most ``CHUNK`` runs,
    their sizes as even as possible (order kept)."""
    return [chunk for chunks in _shape_groups(runs, config) for chunk in chunks]


def _stack(datas: list[TaskData], field_name: str) -> Tensor:
    return torch.stack([getattr(d, field_name) for d in datas])


def ensemble_size(n_runs: int) -> int:
    """The compiled ensemble size for a chunk of ``n_runs``: the next of :data:`CHUNK_SIZES`."""
    if not 1 <= n_runs <= CHUNK:
        raise ValueError(f"a chunk holds 1..{CHUNK} runs, got {n_runs}")
    return next(size for size in CHUNK_SIZES if size >= n_runs)


def train_chunk(runs: Sequence[Run], config: TrainConfig, compile: bool = True) -> list[RunResult]:
    """Train up to ``CHUNK`` runs of one shape as one ensemble.

    The ensemble is padded to :func:`ensemble_size` members by repeating the last run; padded
    members are trained and discarded. A member's arithmetic does not depend on its position or
    on the ensemble size (tested bit for bit), given the pinned MKL mode of
    :mod:`richneuron.determinism`.
    """
    pin_arithmetic()
    if is_pinned():
        products.load()
    chunk = ensemble_size(len(runs))
    if len({_shape_key(r, config) for r in runs}) != 1:
        raise ValueError("runs of one chunk must share one shape")
    start = time.perf_counter()
    members = list(runs) + [runs[-1]] * (chunk - len(runs))
    tasks = [get_task(r.task) for r in members]
    datas = [t.generate(config.data_seed) for t in tasks]
    x, y = _stack(datas, "x_train"), _stack(datas, "y_train")
    is_clf = torch.tensor([float(t.kind == "classification") for t in tasks]).view(-1, 1, 1)

    net, widths, count = _build(runs[0].arch, runs[0].task, config, members=chunk)
    net.reset([r.seed for r in members])
    step = _compiled_step(runs[0].arch, _shape_key(runs[0], config), config, compile)
    params = {k: p.detach().clone() for k, p in net.named_parameters()}
    m = {k: torch.zeros_like(p) for k, p in params.items()}
    v = {k: torch.zeros_like(p) for k, p in params.items()}

    log_steps = sorted(set(range(0, config.steps, config.log_every)) | {config.steps - 1})
    losses = torch.empty(config.steps, chunk)
    norms_log: dict[str, list[list[float]]] = {}
    diag_log: dict[str, list[Tensor]] = {}
    x_test, y_test = _stack(datas, "x_test"), _stack(datas, "y_test")
    test_log: list[list[float]] = []
    is_log = torch.zeros(config.steps, dtype=torch.bool)
    is_log[log_steps] = True
    step_sizes, root_bc2s = _adam_scalars(config)
    for i in range(config.steps):
        logging = bool(is_log[i])
        if logging:
            for k, val in _internals(net, params, x).items():
                diag_log.setdefault(k, []).append(val)
            test_log.append(_test_errors(net, params, x_test, y_test, tasks))
        # After the first call compiled it, this step function has exactly one cache entry
        # (see _compiled_step), so its guards need not be re-checked every step.
        with _skip_guards() if compile and i > 0 else contextlib.nullcontext():
            params, m, v, per_member, grads = step(
                params, m, v, step_sizes[i], root_bc2s[i], x, y, is_clf
            )
        losses[i] = per_member
        if logging:
            for k, val in _group_norms(net, grads).items():
                norms_log.setdefault(k, []).append(val)

    with torch.no_grad():
        pred_test = functional_call(net, params, (x_test,))
        pred_train = functional_call(net, params, (x,))
        train_loss = loss_per_member(pred_train, y, is_clf)
    elapsed = (time.perf_counter() - start) / len(runs)

    results = []
    for j, run in enumerate(runs):
        finite = torch.isfinite(losses[:, j])
        bad = (~finite).nonzero()
        diverged_step = int(bad[0]) if len(bad) else None
        err = task_error(pred_test[j], datas[j].y_test, tasks[j].metric)
        results.append(
            RunResult(
                run=run,
                widths=list(widths),
                params=count,
                metric=tasks[j].metric,
                test_metric=float(err),
                train_loss=float(train_loss[j]),
                diverged=diverged_step is not None or not math.isfinite(float(err)),
                diverged_step=diverged_step,
                loss_curve=[float(losses[s, j]) for s in log_steps],
                test_curve=[row[j] for row in test_log],
                grad_norms={k: [val[j] for val in vals] for k, vals in norms_log.items()},
                diagnostics={k: [float(val[j]) for val in vals] for k, vals in diag_log.items()},
                wall_time=elapsed,
            )
        )
    return results


def _test_errors(
    net: Network, params: dict[str, Tensor], x: Tensor, y: Tensor, tasks: list
) -> list[float]:
    """Each member's test metric at ``params`` (for the test curve)."""
    with torch.no_grad():
        pred = functional_call(net, params, (x,))
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


def _train_parts(parts: list[list[Run]], config: TrainConfig, compile: bool) -> list[RunResult]:
    """Train chunks of one shape, one after the other (the unit of work of a worker)."""
    return [res for part in parts for res in train_chunk(part, config, compile)]


def _cost(parts: list[list[Run]]) -> int:
    """Rough cost of a shape group for scheduling: members times matrices per neuron."""
    return sum(ensemble_size(len(p)) for p in parts) * get_arch(parts[0][0].arch).matrices


def _schedule(
    groups: list[list[list[Run]]],
    config: TrainConfig,
    compile: bool,
    pools: list[concurrent.futures.ProcessPoolExecutor],
    finish: Callable[[list[RunResult]], None],
) -> None:
    """Train the shape groups on the workers, the most expensive first.

    A worker that falls idle takes the most expensive group whose step it has compiled before,
    else the most expensive one left: compiling costs seconds, so a group goes back to a
    worker that has its step (as the same calls do when a chapter re-runs).
    """
    pending = sorted(groups, key=_cost, reverse=True)
    running: dict[concurrent.futures.Future, int] = {}

    def key(parts: list[list[Run]]) -> tuple:
        first = parts[0][0]
        return _step_key(first.arch, _shape_key(first, config), config, compile)

    def submit(worker: int) -> None:
        known = [g for g in pending if key(g) in _COMPILED[worker]]
        parts = (known or pending)[0]
        pending.remove(parts)
        _COMPILED[worker].add(key(parts))
        running[pools[worker].submit(_train_parts, parts, config, compile)] = worker

    try:
        for worker in range(min(len(pools), len(pending))):
            submit(worker)
        while running:
            done, _ = concurrent.futures.wait(running, return_when="FIRST_COMPLETED")
            for future in done:
                worker = running.pop(future)
                finish(future.result())
                if pending:
                    submit(worker)
    except BaseException:
        for future in running:
            future.cancel()
        _shutdown_pool(kill=True)  # start afresh next time
        raise


def train_runs(
    runs: Sequence[Run],
    config: TrainConfig,
    compile: bool = True,
    progress: Callable[[int, int], None] | None = None,
    on_results: Callable[[list[RunResult]], None] | None = None,
    workers: int | None = None,
) -> list[RunResult]:
    """Train every run, grouped into same-shape chunks; results in the order of ``runs``.

    With more than one worker (default :data:`WORKERS`), the shape groups train in worker
    processes, the most expensive first, each preferably where its step is compiled (see
    :func:`_schedule`); otherwise in this process. ``progress(done, total)``
    is called after each chunk (each shape group, with workers), and ``on_results(results)``
    with its results, so a caller can keep them before an interrupt.
    """
    if not runs:
        raise ValueError("no runs to train")
    if len(set(runs)) != len(runs):
        raise ValueError("duplicate runs")
    workers = WORKERS if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    # Aliases (v4_glu is singlu) train once, under the first id asked for.
    canonical = {r: Run(get_arch(r.arch).canonical, r.task, r.seed) for r in runs}
    first: dict[Run, Run] = {}
    for r in runs:
        first.setdefault(canonical[r], r)
    copies = {
        r: [c for c in runs if canonical[c] == canonical[r] and c != r] for r in first.values()
    }
    by_run: dict[Run, RunResult] = {}
    done = 0

    def finish(results: list[RunResult]) -> None:
        nonlocal done
        results = results + [
            dataclasses.replace(res, run=c) for res in results for c in copies[res.run]
        ]
        by_run.update((res.run, res) for res in results)
        done += len(results)
        if on_results:
            on_results(results)
        if progress:
            progress(done, len(runs))

    groups = _shape_groups(list(first.values()), config)
    if workers == 1 or len(groups) == 1:
        for parts in groups:
            for part in parts:
                finish(train_chunk(part, config, compile))
    else:
        _schedule(groups, config, compile, _pools(workers), finish)
    return [by_run[r] for r in runs]
