"""The reference loop: one network at a time with nn.Module and torch.optim.Adam
(:func:`train_reference`), the per-member losses every path shares, the seeded validation
split, and :func:`task_error` (a task's score of predictions).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import Tensor

from ..arithmetic.determinism import is_pinned
from ..config import TrainConfig
from ..neurons import Network, layer_of
from ..neurons.matching import match_width
from ..store.schema import Run
from ..tasks import TaskData, get_task

__all__ = [
    "VALIDATION_SALT",
    "cross_entropy_per_member",
    "loss_per_member",
    "n_validation",
    "split_validation",
    "task_error",
    "train_reference",
]


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
    .Adam`` (with ``LambdaLR`` under a decaying schedule) and ``loss.backward()``, one network at
    a time. Returns the loss before each update.
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
    schedule = None
    if config.schedule != "constant":
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, config.lr_factor)
    x, y = data.x_train[None], data.y_train[None]
    losses = []
    for _ in range(steps or config.steps):
        opt.zero_grad(set_to_none=True)
        loss = _reference_loss(net(x), y, task.kind)
        loss.backward()
        opt.step()
        if schedule is not None:
            schedule.step()
        losses.append(loss.item())
    return losses


def _float32(values: Sequence[float]) -> Tensor:
    """Python floats as float32 (each correctly rounded from double), shaped ``[..., 1, 1]``."""
    return torch.tensor(values, dtype=torch.float64).to(torch.float32)[..., None, None]


def task_error(pred: Tensor, target: Tensor, metric: str) -> Tensor:
    """Scores predictions, reducing over the point and output dims.

    Args:
        pred: Model outputs (logits for accuracy), ``[..., N, out_dim]``.
        target: Targets (labels in {-1, +1} for accuracy), ``[..., N, out_dim]``;
            leading dims broadcast against ``pred``'s.
        metric: ``"mse"``: mean squared error; ``"accuracy"``: with one output, the fraction
            of points with ``sign(pred) == target``, where ``pred == 0`` counts as +1; with
            several (one-hot targets), the fraction whose first largest logit is the target's
            class.

    Returns:
        The error per leading index, ``[...]``.

    Raises:
        ValueError: On an unknown metric or mismatched ``[N, out_dim]`` dims.
    """
    if pred.dim() < 2 or target.dim() < 2 or pred.shape[-2:] != target.shape[-2:]:
        raise ValueError(
            f"pred {tuple(pred.shape)} and target {tuple(target.shape)} "
            "must both end in the same [N, out_dim]"
        )
    if metric == "mse":
        return (pred - target).square().mean(dim=(-2, -1))
    if metric == "accuracy" and pred.shape[-1] > 1:
        correct = pred.argmax(dim=-1) == target.argmax(dim=-1)
        dtype = pred.dtype if pred.is_floating_point() else torch.float32
        return correct.to(dtype).mean(dim=-1)
    if metric == "accuracy":
        correct = (pred >= 0) == (target > 0)
        dtype = pred.dtype if pred.is_floating_point() else torch.float32
        return correct.to(dtype).mean(dim=(-2, -1))
    raise ValueError(f"unknown metric {metric!r}; valid metrics: mse, accuracy")
