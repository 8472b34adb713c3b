"""Training many runs (richneuron.train.pool): aliases trained once, worker processes with the
bits of one process, which group an idle worker takes, and the backends' checks."""

import pytest
from conftest import bits

from richneuron.config import TrainConfig
from richneuron.store.schema import Run
from richneuron.train.pool import Backend, LocalWorkers, _pick, train_runs


def test_alias_trains_once(monkeypatch):
    import richneuron.train.pool as pool

    calls = []
    real = pool.train_chunk
    monkeypatch.setattr(pool, "train_chunk",
                        lambda part, *a, **k: calls.append(list(part)) or real(part, *a, **k))
    config = TrainConfig(steps=20, log_every=10)
    glu, singlu = train_runs([Run("v4_glu", "spiral", 0), Run("singlu", "spiral", 0)], config)
    assert calls == [[Run("v4_glu", "spiral", 0)]]
    assert glu.run.arch == "v4_glu" and singlu.run.arch == "singlu"
    assert bits(glu) == bits(singlu)


def test_worker_processes_give_the_same_bits_as_one_process():
    config = TrainConfig(steps=40, log_every=10)
    runs = [Run("v10", "hifreq", 0), Run("v10", "spiral", 1), Run("vanilla", "memorize", 2)]
    alone = train_runs(runs, config, workers=1)
    pooled = train_runs(runs, config, workers=2)
    assert [r.run for r in pooled] == runs
    assert [bits(r) for r in pooled] == [bits(r) for r in alone]
    with pytest.raises(ValueError, match="workers"):
        train_runs(runs, config, workers=0)


def test_an_idle_worker_takes_a_step_it_compiled_then_one_no_worker_compiled():
    keys = ["a", "a", "b", "c"]  # pending groups' steps, most expensive first
    assert _pick(keys, compiled={"c"}, claimed={"a", "c"}) == 3  # its own step first
    assert _pick(keys, compiled=set(), claimed={"a"}) == 2  # not one another worker compiled
    assert _pick(keys, compiled=set(), claimed={"a", "b", "c"}) == 0  # else the most expensive
    assert _pick(keys, compiled=set(), claimed=set()) == 0


def test_duplicate_runs_and_an_empty_list_are_refused_before_training():
    config = TrainConfig()
    with pytest.raises(ValueError, match="duplicate"):
        train_runs([Run("v10", "spiral", 0)] * 2, config)
    with pytest.raises(ValueError, match="no runs"):
        train_runs([], config)


def test_local_workers_refuse_a_count_below_one():
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="workers: must be an int >= 1"):
            LocalWorkers(bad)
    assert isinstance(LocalWorkers(1), Backend) and not isinstance(object(), Backend)
