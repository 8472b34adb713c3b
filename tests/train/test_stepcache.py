"""Compiled steps kept across processes and called directly (richneuron.train.stepcache): the same
bits as torch.compile, nothing used that belongs elsewhere, and torch.compile where in doubt."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from richneuron.config import TrainConfig
from richneuron.paths import STEP_CACHE_ENV
from richneuron.store.results import result_to_dict
from richneuron.store.schema import Run
from richneuron.train import stepcache, steps, trainer
from richneuron.train.stepcache import Direct, cache_dir, capture, load, save

CONFIG = TrainConfig(steps=6, log_every=3)
RUNS = [Run("vanilla", "nested_2d", 0), Run("vanilla", "nested_2d", 1)]

# A fresh process trains RUNS under CONFIG and prints the results' bits and whether it imported
# Dynamo.
TRAIN = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_stepcache import CONFIG, RUNS, bits
from richneuron.train.trainer import train_chunk
print(json.dumps({{"bits": bits(train_chunk(RUNS, CONFIG)),
                  "dynamo": "torch._dynamo" in sys.modules}}))
"""


def bits(results) -> list:
    """Every field of every result but the time, as the results file carries it."""
    return [result_to_dict(dataclasses.replace(r, wall_time=0.0)) for r in results]


def _train_in_a_new_process(folder) -> dict:
    env = {**os.environ, STEP_CACHE_ENV: str(folder)}
    out = subprocess.run(
        [sys.executable, "-c", TRAIN], env=env, capture_output=True, text=True, timeout=600,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """A folder where one process kept its compiled step, and what that process trained."""
    folder = tmp_path_factory.mktemp("steps")
    return folder, _train_in_a_new_process(folder)


def test_a_step_kept_by_one_process_gives_another_the_same_bits_without_dynamo(kept):
    folder, first = kept
    assert first["dynamo"]  # it compiled
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".so"]  # one step, kept
    second = _train_in_a_new_process(folder)
    assert not second["dynamo"]  # it loaded the step: no Dynamo, no Inductor, no tracing
    assert second["bits"] == first["bits"]


def test_the_direct_call_gives_torch_compiles_bits_in_this_process(monkeypatch, tmp_path):
    """The step's first call runs through torch.compile and the rest directly; with the cache
    off (nothing kept), a chunk's bits equal those of a process that kept and loaded it."""
    monkeypatch.setenv(STEP_CACHE_ENV, "off")
    monkeypatch.setattr(steps, "_STEPS", {})
    results = trainer.train_chunk(RUNS, CONFIG)
    step = next(iter(steps._STEPS.values()))
    assert isinstance(step._direct, Direct)  # the loop's later steps were direct calls
    assert cache_dir() is None  # nothing kept
    assert bits(results) == _train_in_a_new_process(tmp_path)["bits"]


def _copy(kept, tmp_path):
    folder, _ = kept
    for p in folder.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    return next(tmp_path.glob("*.json"))


def _key(monkeypatch, folder):
    """The step key of RUNS (both runs share it), with the step cache in ``folder``."""
    monkeypatch.setenv(STEP_CACHE_ENV, str(folder))
    run = RUNS[0]
    return steps._step_key(run.arch, trainer._shape_key(run, CONFIG), CONFIG, True)


def test_a_kept_step_loads_only_for_its_key_and_environment(kept, tmp_path, monkeypatch):
    meta_path = _copy(kept, tmp_path)
    key = _key(monkeypatch, tmp_path)
    assert isinstance(load(key), Direct)
    assert load((*key[:-1], "another key")) is None
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "environment": "another torch or source"}))
    assert load(key) is None


def test_a_step_kept_in_another_environment_is_replaced_not_added(kept, tmp_path, monkeypatch):
    """One map and one library per key: keeping a step from another environment (here another
    source digest) replaces what the first kept, so the folder does not grow with every edit."""
    _copy(kept, tmp_path)
    key = _key(monkeypatch, tmp_path)
    direct = load(key)
    assert isinstance(direct, Direct)
    monkeypatch.setattr(stepcache, "environment", lambda: "another environment")
    save(key, direct)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".so"]
    assert isinstance(load(key), Direct)  # the new environment's
    monkeypatch.undo()
    monkeypatch.setenv(STEP_CACHE_ENV, str(tmp_path))
    assert load(key) is None  # the first environment's is gone


@pytest.mark.parametrize("damage", ["library", "map"])
def test_a_damaged_kept_step_is_not_used_and_training_still_works(
    kept, tmp_path, monkeypatch, damage
):
    meta_path = _copy(kept, tmp_path)
    key = _key(monkeypatch, tmp_path)
    target = next(tmp_path.glob("*.so")) if damage == "library" else meta_path
    target.write_bytes(b"\x7fELF not a library" if damage == "library" else b'{"key": ')
    assert load(key) is None
    monkeypatch.setattr(steps, "_STEPS", {})
    results = trainer.train_chunk(RUNS, CONFIG)
    assert bits(results) == kept[1]["bits"]
    assert isinstance(load(key), Direct)  # compiled again, and kept again in its place


def test_a_folder_others_can_write_is_not_used(kept, tmp_path, monkeypatch):
    _copy(kept, tmp_path)
    key = _key(monkeypatch, tmp_path)
    direct = load(key)
    assert isinstance(direct, Direct)
    tmp_path.chmod(0o777)
    try:
        assert load(key) is None
        with pytest.warns(UserWarning, match="not kept in .*others can write"):
            save(("another key",), direct)
        assert len(list(tmp_path.iterdir())) == 2  # nothing written
    finally:
        tmp_path.chmod(0o700)
    assert isinstance(load(key), Direct)


def test_a_kept_step_for_other_shapes_is_not_called(kept, tmp_path, monkeypatch):
    """Arguments of other shapes than the kept function's (a key that missed a shape) go to
    torch.compile, with its bits."""
    _copy(kept, tmp_path)
    key = _key(monkeypatch, tmp_path)
    direct = load(key)
    wrong = Direct(direct.entry, direct.inputs, direct.outputs,
                   [([n + 1 for n in shape], stride, dtype)
                    for shape, stride, dtype in direct.layouts])
    monkeypatch.setattr(stepcache, "load", lambda key: wrong)
    monkeypatch.setattr(steps, "_STEPS", {})
    results = trainer.train_chunk(RUNS, CONFIG)
    assert bits(results) == kept[1]["bits"]
    assert next(iter(steps._STEPS.values()))._direct is not wrong
    with pytest.raises(ValueError, match="other shapes"):
        wrong(*[torch.zeros(1)] * 10)


SCALE = torch.full((3, 8), 2.0)


def _compiled(fn):
    return torch.compile(fn, fullgraph=True, dynamic=False, options={"cpp_wrapper": True})


def test_capture_maps_a_functions_arguments_and_results(tmp_path, monkeypatch):
    def fn(a, d):
        return a * 3 + 1, {k: v.sin() for k, v in d.items()}

    args = (torch.randn(3, 8), {"p": torch.randn(3, 8), "q": torch.randn(3, 8)})
    result, direct = capture(_compiled(fn), args)
    assert direct is not None
    other = (torch.randn(3, 8), {"p": torch.randn(3, 8), "q": torch.randn(3, 8)})
    again = direct(*other)
    expected = _compiled(fn)(*other)
    assert torch.equal(again[0], expected[0])
    assert list(again[1]) == ["p", "q"]
    assert all(torch.equal(again[1][k], expected[1][k]) for k in "pq")
    monkeypatch.setenv(STEP_CACHE_ENV, str(tmp_path))
    save(("a made-up key",), direct)
    assert isinstance(load(("a made-up key",)), Direct)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: (a * SCALE,),  # a tensor the function takes from elsewhere
        lambda a: (a, a + 1),  # a result that is an argument as it is
    ],
    ids=["a constant", "an argument returned"],
)
def test_capture_declines_what_it_cannot_map(fn):
    args = (torch.randn(3, 8),)
    result, direct = capture(_compiled(fn), args)
    assert direct is None
    assert torch.equal(result[0], fn(*args)[0])
