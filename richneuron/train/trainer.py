"""The fast batched trainer: one chunk of runs trained together (:func:`train_chunk`; Method
chapter).

The readable ground truth is :func:`richneuron.train.reference.train_reference`: one network,
``torch.optim.Adam``, eager PyTorch. Here runs of one shape (architecture, width,
input/output dims, point count) are stacked into an ensemble of ``chunk`` members, and one
compiled graph does forward, backward (``torch.autograd.grad``) and Adam for all of them. The
loss is summed over members, so each member's gradient, and its Adam update, is exactly its
own: a run's result does not depend on the runs it was grouped with (tested bit for bit).

The settings that do not change a shape (``lr``, ``omega``, Adam's ``beta1``, ``beta2`` and
``eps``, and ``data_seed``) are per-member tensors, not constants of the compiled code: runs of
one shape under different settings (a sweep, :func:`richneuron.train.pool.train_jobs`) train in
one chunk through one compiled step (:mod:`richneuron.train.steps`), with the same bits as
alone. Many chunks are spread over worker processes by :mod:`richneuron.train.pool`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import functional_call

from ..arithmetic import products
from ..arithmetic.determinism import is_pinned, pin_arithmetic
from ..config import TrainConfig
from ..neurons import Network, layer_of
from ..neurons.matching import match_width
from ..store.schema import Job, Run, RunResult
from ..tasks import Task, TaskData, get_task
from .reference import (
    _build,
    _scale_init,
    n_validation,
    split_validation,
    task_error,
)
from .steps import (
    _adam_scalars,
    _adam_settings,
    _compiled_step,
    _group_norms,
    _member_losses,
    _Step,
)

__all__ = [
    "CHUNK",
    "CHUNK_SIZES",
    "ensemble_size",
    "group_runs",
    "train_chunk",
]

#: Ensemble sizes the trainer compiles. A group of same-shape runs is cut into the fewest chunks
#: of at most ``CHUNK`` runs, as even as possible (6 runs: 3 + 3; 7 runs: 4 + 3), and each chunk
#: is padded up to the next size here. Compiling costs ~5 s per graph here, more than training a
#: chunk, so there are few sizes; the runs of one shape in a chapter (architectures x tasks of
#: one input and output size x five seeds) fill chunks of 4 with little padding. No size is 1,
#: since compiled kernels special-case size-1 dimensions (and would change the bits); a member's
#: bits are the same in a chunk of 3 or 4 (tested). Four members (two per core) measured faster
#: per member than eight: their activations stay in the 2 MB per-core L2 cache.
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


# ---------------------------------------------------------------------------------------------
# The batched, compiled trainer.


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
    member alike, and the eager evaluations (test curve, final metrics, validation score) put each
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
