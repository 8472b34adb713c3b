"""Tests for richneuron.tasks: shapes, formulas, determinism, parsing, metrics."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import zlib

import numpy as np
import pytest
import torch

from richneuron.tasks import (
    GENERALISATION_TASKS,
    STANDARD_TASKS,
    TASKS,
    Task,
    get_task,
    parse_tasks,
)
from richneuron.tasks.synthetic import N_POINTS
from richneuron.train.reference import task_error

ALL = list(TASKS)
PUBLIC_FIELDS = {
    "name",
    "title",
    "kind",
    "metric",
    "group",
    "in_dim",
    "out_dim",
    "n_train",
    "n_test",
    "formula",
    "train_domain",
    "test_domain",
    "noise",
}
# sha256 of generate(0)'s four tensors as little-endian float32 bytes, first 16 hex chars.
GOLDEN = {
    "complex_4d": "90d686ba3140e732",
    "nested_2d": "088943e77103ada3",
    "hifreq": "2a3b2784ee8aefa5",
    "memorize": "d8ffc25f4230c4fe",
    "spiral": "d83920ac9f0760ef",
    "checkerboard": "1a03315e8c62b45f",
    "ood_shift": "80c3119df764d9d4",
    "freq_gen": "2c7d091f68f2037d",
    "mixed_freq": "1694317da1bb5c59",
}


def _tensors(data):
    return (data.x_train, data.y_train, data.x_test, data.y_test)


def _digest(data) -> str:
    h = hashlib.sha256()
    for t in _tensors(data):
        h.update(t.numpy().astype("<f4").tobytes())
    return h.hexdigest()[:16]


def _replay(name: str, seed: int = 0) -> np.random.Generator:
    """The documented stream: PCG64 seeded by (crc32(name), seed)."""
    entropy = [zlib.crc32(name.encode()), seed]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


@pytest.fixture(scope="module")
def data0():
    return {name: TASKS[name].generate(0) for name in ALL}


def test_registry_order_and_groups():
    assert ALL == [
        "complex_4d",
        "nested_2d",
        "hifreq",
        "memorize",
        "spiral",
        "checkerboard",
        "ood_shift",
        "freq_gen",
        "mixed_freq",
    ]
    assert STANDARD_TASKS == tuple(ALL[:6])
    assert GENERALISATION_TASKS == tuple(ALL[6:])
    for name, task in TASKS.items():
        assert task.name == name
        assert task.group == ("standard" if name in STANDARD_TASKS else "generalisation")
        assert task.metric == {"regression": "mse", "classification": "accuracy"}[task.kind]
        expected_n = 200 if name == "memorize" else N_POINTS
        assert (task.n_train, task.n_test) == (expected_n, expected_n)
    assert {n for n, t in TASKS.items() if t.kind == "classification"} == {"spiral", "checkerboard"}


@pytest.mark.parametrize("name", ALL)
def test_shapes_dtypes_finite(name, data0):
    task, data = TASKS[name], data0[name]
    expected = [
        (task.n_train, task.in_dim),
        (task.n_train, task.out_dim),
        (task.n_test, task.in_dim),
        (task.n_test, task.out_dim),
    ]
    for tensor, shape in zip(_tensors(data), expected, strict=True):
        assert tuple(tensor.shape) == shape
        assert tensor.dtype == torch.float32
        assert torch.isfinite(tensor).all()
    if task.kind == "classification":
        assert task.out_dim == 1
        for y in (data.y_train, data.y_test):
            assert set(y.unique().tolist()) == {-1.0, 1.0}
    else:
        assert data.y_train.var() > 0.1  # a real signal, not a constant


@pytest.mark.parametrize("name", ALL)
def test_describe_is_public_plain_data(name):
    task = TASKS[name]
    info = task.describe()
    assert set(info) == PUBLIC_FIELDS
    assert all(isinstance(v, (str, int)) for v in info.values())
    assert info["formula"] and "$" not in info["formula"]
    assert "_sampler" not in repr(task)


def test_memorize_dims():
    t = TASKS["memorize"]
    assert (t.in_dim, t.out_dim) == (8, 4)


def test_spiral_balanced(data0):
    for y in (data0["spiral"].y_train, data0["spiral"].y_test):
        assert (y == 1).sum() == (y == -1).sum() == y.shape[0] // 2
    assert data0["spiral"].x_train.abs().max() < 1.3


def test_checkerboard_labels_follow_formula(data0):
    x = data0["checkerboard"].x_train.double().numpy()
    prod = np.sin(2 * math.pi * x[:, 0]) * np.sin(2 * math.pi * x[:, 1])
    clear = np.abs(prod) > 1e-4  # float32 rounding of x can flip points on a boundary
    expected = np.where(prod >= 0, 1.0, -1.0)
    assert np.array_equal(data0["checkerboard"].y_train.numpy()[clear, 0], expected[clear])
    assert 0.4 < (expected > 0).mean() < 0.6


def test_formula_complex_4d_and_ood_shift(data0):
    x = data0["complex_4d"].x_train.double().numpy()
    y = (
        np.sin(np.pi * x[:, 0] * x[:, 1])
        + x[:, 0] * np.cos(np.pi * (x[:, 2] + x[:, 3]))
        + 0.5 * x[:, 2] ** 2
    )
    np.testing.assert_allclose(data0["complex_4d"].y_train.numpy()[:, 0], y, atol=2e-6)
    for split in ("train", "test"):
        x = getattr(data0["ood_shift"], f"x_{split}").double().numpy()[:, 0]
        y = getattr(data0["ood_shift"], f"y_{split}").numpy()[:, 0]
        np.testing.assert_allclose(y, np.sin(3 * x) + 0.5 * x, atol=1e-6)


def test_formula_nested_2d_replayed(data0):
    rng = _replay("nested_2d")
    x = rng.uniform(-1, 1, size=(N_POINTS, 2))
    x1, x2 = x[:, 0], x[:, 1]
    y = np.sin(2 * np.pi * x1 * np.sin(np.pi * x2)) * np.cos(2 * np.pi * x2 * np.cos(np.pi * x1))
    assert np.array_equal(data0["nested_2d"].x_train.numpy(), x.astype(np.float32))
    np.testing.assert_allclose(data0["nested_2d"].y_train.numpy()[:, 0], y, atol=1e-6)


def test_formula_hifreq_replayed(data0):
    rng = _replay("hifreq")
    x_tr, x_te = rng.uniform(-1, 1, size=N_POINTS), rng.uniform(-1, 1, size=N_POINTS)
    for x, y in ((x_tr, data0["hifreq"].y_train), (x_te, data0["hifreq"].y_test)):
        expected = np.sin(16 * np.pi * x) + 0.5 * np.sin(40 * np.pi * x)
        np.testing.assert_allclose(y.numpy()[:, 0], expected, atol=1e-6)


def test_formula_mixed_freq_replayed(data0):
    rng = _replay("mixed_freq")
    x = rng.uniform(-1, 1, size=N_POINTS)
    k = rng.uniform(2 * np.pi, 4 * np.pi, size=N_POINTS)
    x_te = rng.uniform(-1, 1, size=N_POINTS)
    d = data0["mixed_freq"]
    np.testing.assert_allclose(d.x_train.numpy()[:, 1], k / (20 * np.pi), atol=1e-7)
    np.testing.assert_allclose(
        d.y_train.numpy()[:, 0], 0.5 * (np.sin(k * x) + np.sin(2.5 * k * x)), atol=1e-6
    )
    k_te = 20 * np.pi
    np.testing.assert_allclose(
        d.y_test.numpy()[:, 0], 0.5 * (np.sin(k_te * x_te) + np.sin(2.5 * k_te * x_te)), atol=1e-6
    )


def test_memorize_test_is_train(data0):
    d = data0["memorize"]
    assert torch.equal(d.x_test, d.x_train) and torch.equal(d.y_test, d.y_train)
    assert d.x_test.data_ptr() != d.x_train.data_ptr()  # no aliasing


def test_generalisation_domains(data0):
    ood = data0["ood_shift"]
    assert ood.x_train.min() >= -1 and ood.x_train.max() <= 1
    assert ood.x_test.min() >= 1 and ood.x_test.max() <= 2
    for name in ("freq_gen", "mixed_freq"):
        d = data0[name]
        assert torch.all(d.x_test[:, 1] == 1.0)
        c = d.x_train[:, 1]
        assert c.min() >= 0.1 - 1e-6 and c.max() <= 0.2 + 1e-6
        assert d.x_train[:, 0].abs().max() <= 1 and d.x_test[:, 0].abs().max() <= 1
    k = 10 * np.pi
    f = data0["freq_gen"]
    np.testing.assert_allclose(
        f.y_test.numpy()[:, 0], np.sin(k * f.x_test.double().numpy()[:, 0]), atol=1e-5
    )


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_data_other_seed_differs(name, data0):
    again, other = TASKS[name].generate(0), TASKS[name].generate(1)
    assert all(
        torch.equal(a, b) for a, b in zip(_tensors(again), _tensors(data0[name]), strict=True)
    )
    assert not torch.equal(other.x_train, data0[name].x_train)
    assert not torch.equal(other.y_train, data0[name].y_train)


def test_tasks_do_not_share_streams(data0):
    # hifreq and ood_shift both start by drawing x ~ U[-1,1]; their streams must differ.
    assert not torch.equal(data0["hifreq"].x_train, data0["ood_shift"].x_train)


@pytest.mark.parametrize("name", ALL)
def test_golden_checksum(name, data0):
    assert _digest(data0[name]) == GOLDEN[name]


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        TASKS["hifreq"].generate(seed)


def test_numpy_int_seed_accepted():
    assert torch.equal(
        TASKS["hifreq"].generate(np.int64(3)).x_train, TASKS["hifreq"].generate(3).x_train
    )


def test_task_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TASKS["hifreq"].n_train = 5  # type: ignore[misc]
    assert isinstance(get_task("spiral"), Task)


def test_get_task_error():
    assert get_task("spiral") is TASKS["spiral"]
    with pytest.raises(ValueError, match=r"unknown task 'foo'; valid tasks: complex_4d, nested_2d"):
        get_task("foo")


def test_parse_tasks_valid():
    assert parse_tasks("spiral,complex_4d") == ("spiral", "complex_4d")
    assert parse_tasks(" spiral , hifreq ") == ("spiral", "hifreq")
    assert parse_tasks(["memorize"]) == ("memorize",)
    assert parse_tasks("all") == tuple(ALL)
    assert parse_tasks("standard") == STANDARD_TASKS
    assert parse_tasks(("generalisation", "spiral")) == GENERALISATION_TASKS + ("spiral",)


@pytest.mark.parametrize(
    ("spec", "bad"),
    [
        ("foo", "'foo'"),
        ("spiral,foo", "'foo'"),
        ("", "''"),
        ([], r"\[\]"),
        ("spiral,,hifreq", "spiral,,hifreq"),
        ("spiral,spiral", "'spiral'"),
        ("all,hifreq", "'hifreq'"),
    ],
)
def test_parse_tasks_errors(spec, bad):
    with pytest.raises(ValueError, match=bad) as info:
        parse_tasks(spec)
    assert "complex_4d, nested_2d, hifreq" in str(info.value)
    assert "generalisation" in str(info.value)


def test_parse_tasks_type_error():
    with pytest.raises(TypeError):
        parse_tasks([1, 2])  # type: ignore[list-item]


def test_task_error_mse():
    pred = torch.tensor([[1.0, 0.0], [2.0, -1.0]])  # [N=2, D=2]
    target = torch.zeros(2, 2)
    assert task_error(pred, target, "mse").item() == pytest.approx((1 + 0 + 4 + 1) / 4)
    stacked = torch.stack([pred, torch.zeros(2, 2), pred * 2])  # [3, 2, 2]
    out = task_error(stacked, target, "mse")
    assert out.shape == (3,)
    assert torch.allclose(out, torch.tensor([1.5, 0.0, 6.0]))


def test_task_error_accuracy():
    logits = torch.tensor([[0.0], [-0.5], [2.0], [-3.0]])  # 0 counts as +1
    labels = torch.tensor([[1.0], [1.0], [1.0], [-1.0]])
    assert task_error(logits, labels, "accuracy").item() == pytest.approx(0.75)
    stacked = torch.stack([logits, -logits - 1e-3]).unsqueeze(0)  # [1, 2, 4, 1]
    out = task_error(stacked, labels.expand(1, 2, 4, 1), "accuracy")
    assert out.shape == (1, 2)
    assert torch.allclose(out, torch.tensor([[0.75, 0.25]]))


def test_task_error_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown metric 'mae'"):
        task_error(torch.zeros(2, 1), torch.zeros(2, 1), "mae")
    with pytest.raises(ValueError, match="out_dim"):
        task_error(torch.zeros(2, 1), torch.zeros(3, 1), "mse")
