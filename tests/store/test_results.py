"""Results store: round trip, atomic writes, validating load, drift detection, run cache."""

import json
import math
import os

import pytest
from conftest import make_result

import richneuron.train.pool
from richneuron.config import TrainConfig
from richneuron.experiments.study import run_study
from richneuron.store.cache import RunCache
from richneuron.store.drift import Drift, compare, format_drift
from richneuron.store.results import (
    SCHEMA,
    ResultsError,
    ResultSet,
    load_results,
    provenance,
    result_to_dict,
    save_results,
)
from richneuron.store.schema import Run


def make(arch="vanilla", task="sine", seed=0, test_metric=0.5, metric="mse", **kw):
    fields = dict(
        widths=[10, 10],
        params=141,
        train_loss=0.25,
        loss_curve=[1.0, 0.5, 0.25],
        test_curve=[1.0, 0.5, 0.3],
        grad_norms={"l0": [1.0, 0.5, 0.1], "readout": [0.3, 0.2, 0.1]},
        diagnostics={"gate_mean": [0.1, 0.2, 0.3]},
        wall_time=1.5,
    )
    fields.update(kw)
    return make_result(arch, task, seed, metric=metric, test_metric=test_metric, **fields)


def make_set(runs=None, name="10-v10-free-phase"):
    runs = runs if runs is not None else [make(seed=s, test_metric=0.1 * (s + 1)) for s in range(3)]
    return ResultSet(name, TrainConfig(steps=10).to_dict(), {"git_commit": "abc"}, runs)


def dicts(rs):
    return [result_to_dict(r) for r in rs.runs]


# ---------------------------------------------------------------------------------------------
# Round trip, order, summary.


def test_round_trip_keeps_nan_and_inf(tmp_path):
    diverged = make(
        "v10",
        "sine",
        0,
        test_metric=math.nan,
        train_loss=math.inf,
        diverged=True,
        diverged_step=2,
        loss_curve=[1.0, math.inf, math.nan],
        test_curve=[1.0, math.nan, math.nan],
        grad_norms={"l0": [-math.inf]},
        extra={"omega": math.nan, "k": 2.0},
    )
    rs = make_set([diverged, make("vanilla", "nested_2d", 1, 0.875, metric="accuracy")])
    path = tmp_path / "x.json"
    save_results(rs, path)
    text = path.read_text()
    assert '"nan"' in text and '"-inf"' in text and "NaN" not in text and "Infinity" not in text
    loaded = load_results(path)
    assert (loaded.name, loaded.config, loaded.provenance) == (rs.name, rs.config, rs.provenance)
    assert dicts(loaded) == sorted(dicts(rs), key=lambda d: (d["arch"], d["task"], d["seed"]))
    r = loaded.get("v10", "sine", 0)
    assert math.isnan(r.test_metric) and r.train_loss == math.inf
    assert r.loss_curve[:2] == [1.0, math.inf] and math.isnan(r.loss_curve[2])
    assert r.grad_norms == {"l0": [-math.inf]} and r.extra["k"] == 2.0
    assert r.diverged and r.diverged_step == 2 and r.widths == [10, 10]
    assert loaded.get("vanilla", "nested_2d", 1).test_metric == 0.875


def test_runs_are_written_sorted(tmp_path):
    runs = [
        make("v10", "sine", 1),
        make("v10", "sine", 0),
        make("singlu", "xor", 0),
        make("singlu", "sine", 3),
    ]
    save_results(make_set(runs), tmp_path / "x.json")
    doc = json.loads((tmp_path / "x.json").read_text())
    keys = [(d["arch"], d["task"], d["seed"]) for d in doc["runs"]]
    assert keys == [
        ("singlu", "sine", 3),
        ("singlu", "xor", 0),
        ("v10", "sine", 0),
        ("v10", "sine", 1),
    ]
    assert doc["schema"] == SCHEMA


def test_save_creates_parent_folders(tmp_path):
    path = tmp_path / "a" / "b" / "x.json"
    save_results(make_set(), path)
    assert dicts(load_results(path)) == dicts(make_set())


def test_summary_excludes_diverged_seeds():
    runs = [
        make("v10", "sine", 0, 1.0),
        make("v10", "sine", 1, 2.0),
        make("v10", "sine", 2, 4.0),
        make("v10", "sine", 3, 100.0, diverged=True),
        make("vanilla", "sine", 0, 0.3, params=150),
        make("v9", "sine", 0, math.nan, diverged=True),
        make("v9", "sine", 1, math.inf, diverged=True),
    ]
    rows = {(r["arch"], r["task"]): r for r in make_set(runs).summary()}
    v10 = rows["v10", "sine"]
    assert (v10["n_seeds"], v10["n_diverged"], v10["metric"]) == (4, 1, "mse")
    assert v10["mean"] == pytest.approx(2.0)  # an MSE's centre: the geometric mean of 1, 2, 4
    assert v10["std"] == pytest.approx(math.sqrt(7 / 3))  # deviations -4/3, -1/3, 5/3; ddof=1
    assert rows["vanilla", "sine"]["std"] == 0.0 and rows["vanilla", "sine"]["mean"] == 0.3
    assert rows["vanilla", "sine"]["params"] == 150
    assert math.isnan(rows["v9", "sine"]["mean"]) and rows["v9", "sine"]["n_diverged"] == 2
    assert [r["arch"] for r in make_set(runs).summary()] == ["v10", "v9", "vanilla"]


def test_get_and_select():
    rs = make_set([make("v10", "sine", 1), make("v10", "xor", 0), make("v9", "sine", 0)])
    assert rs.get("v10", "xor", 0).run == Run("v10", "xor", 0)
    assert [r.run.seed for r in rs.select(task="sine")] == [1, 0]
    assert [r.run.task for r in rs.select(arch="v10")] == ["sine", "xor"]
    with pytest.raises(KeyError, match="v10"):
        rs.get("v10", "sine", 5)


# ---------------------------------------------------------------------------------------------
# Atomic writes.


def _partial_dump(obj, f, **kwargs):
    f.write('{"schema": "richneuron.res')
    raise KeyboardInterrupt("killed mid-write")


def _failing_replace(src, dst):
    raise OSError("disk gone")


@pytest.mark.parametrize(
    "target,replacement", [("json.dump", _partial_dump), ("os.replace", _failing_replace)]
)
def test_failed_write_keeps_previous_file(tmp_path, monkeypatch, target, replacement):
    path = tmp_path / "x.json"
    save_results(make_set(), path)
    good = path.read_bytes()
    monkeypatch.setattr(target, replacement)
    with pytest.raises((KeyboardInterrupt, OSError)):
        save_results(make_set([make(seed=9)]), path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["x.json"]  # no temporary file left behind
    assert dicts(load_results(path)) == dicts(make_set())


def test_write_is_fsynced_before_rename(tmp_path, monkeypatch):
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr("os.fsync", lambda fd: calls.append("fsync") or fsync(fd))
    monkeypatch.setattr("os.replace", lambda a, b: calls.append("replace") or replace(a, b))
    save_results(make_set(), tmp_path / "x.json")
    assert calls[:2] == ["fsync", "replace"]


def test_provenance_fields():
    p = provenance()
    assert set(p) >= {
        "package_version",
        "git_commit",
        "torch",
        "numpy",
        "python",
        "threads",
        "mkl_cbwr",
        "created",
    }
    assert p["git_commit"] == "unknown" or len(p["git_commit"]) == 40
    assert p["created"].endswith("+00:00") and p["threads"] >= 1


# ---------------------------------------------------------------------------------------------
# Validating load.


def _set(doc, path, value):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    doc[last] = value


def _delete(doc, path):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    del doc[last]


CORRUPTIONS = {
    "schema-wrong": (lambda d: _set(d, ["schema"], "other/2"), "schema"),
    "schema-missing": (lambda d: _delete(d, ["schema"]), "schema"),
    "top-missing": (lambda d: _delete(d, ["config"]), "config: missing"),
    "top-type": (lambda d: _set(d, ["runs"], {}), "runs: expected a list"),
    "run-missing": (lambda d: _delete(d, ["runs", 1, "train_loss"]), "runs[1].train_loss"),
    "seed-str": (
        lambda d: _set(d, ["runs", 0, "seed"], "zero"),
        "runs[0].seed: expected an integer, got str",
    ),
    "seed-bool": (lambda d: _set(d, ["runs", 0, "seed"], True), "runs[0].seed"),
    "metric-list": (
        lambda d: _set(d, ["runs", 0, "test_metric"], [1]),
        "runs[0].test_metric: expected a number, got list",
    ),
    "metric-str": (lambda d: _set(d, ["runs", 2, "test_metric"], "NaN"), "runs[2].test_metric"),
    "curve-item": (lambda d: _set(d, ["runs", 0, "loss_curve", 1], None), "runs[0].loss_curve[1]"),
    "norms-item": (
        lambda d: _set(d, ["runs", 0, "grad_norms", "l0"], 3.0),
        "runs[0].grad_norms['l0']",
    ),
    "diverged": (lambda d: _set(d, ["runs", 1, "diverged"], "yes"), "runs[1].diverged"),
    "metric-name": (lambda d: _set(d, ["runs", 1, "metric"], "r2"), "runs[1].metric"),
    "unknown-field": (lambda d: _set(d, ["runs", 1, "test_metrc"], 1.0), "runs[1].test_metrc"),
    "duplicate": (lambda d: _set(d, ["runs", 2, "seed"], 1), "runs[2]: duplicate"),
    "config": (lambda d: _set(d, ["config", "learning_rate"], 1.0), "config.learning_rate"),
    "config-value": (lambda d: _set(d, ["config", "lr"], -1.0), "config: invalid lr=-1.0"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_file_names_file_and_field(tmp_path, case):
    corrupt, expected = CORRUPTIONS[case]
    path = tmp_path / "ch.json"
    save_results(make_set(), path)
    doc = json.loads(path.read_text())
    corrupt(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError) as info:
        load_results(path)
    assert str(path) in str(info.value) and expected in str(info.value)


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", "\xff\xfe"])
def test_unreadable_file(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ResultsError, match="bad.json"):
        load_results(path)


# ---------------------------------------------------------------------------------------------
# Drift.


def test_compare_identical_sets_passes():
    assert compare(make_set(), make_set()) == []
    assert format_drift([]) == "no drift"


def test_compare_finds_edit_missing_and_extra():
    old = make_set()
    new = make_set(
        [
            make(seed=0, test_metric=0.1),
            make(seed=1, test_metric=0.25),
            make(seed=7, test_metric=0.3),
        ]
    )
    drifts = compare(old, new)
    name = "10-v10-free-phase"
    assert drifts == [
        Drift("vanilla", "sine", 1, "test_metric", 0.2, 0.25, name),
        Drift("vanilla", "sine", 2, "missing", 0.30000000000000004, None, name),
        Drift("vanilla", "sine", 7, "extra", None, 0.3, name),
    ]
    table = format_drift(drifts).splitlines()
    assert table[0].split() == ["chapter", "arch", "task", "seed", "field", "committed", "new"]
    assert table[2].split() == [name, "vanilla", "sine", "1", "test_metric", "0.2", "0.25"]
    assert len(table) == 5


@pytest.mark.parametrize(
    "field,value",
    [
        ("params", 142),
        ("widths", [10, 9]),
        ("diverged", True),
        ("train_loss", 0.26),
        ("diverged_step", 3),
    ],
)
def test_compare_checks_other_fields(field, value):
    drifts = compare(make_set([make()]), make_set([make(**{field: value})]))
    assert [(d.field, d.new) for d in drifts] == [(field, value)]


@pytest.mark.parametrize(
    "old,new,metric,kwargs,moved",
    [
        (10.0, 11.0, "mse", {"rtol": 0.1}, False),  # exactly at the boundary: inclusive
        (10.0, 11.01, "mse", {"rtol": 0.1}, True),
        (10.0, 8.99, "mse", {"rtol": 0.1}, True),
        (0.5, 0.5 * (1 + 5e-7), "mse", {}, False),  # default rtol 1e-6
        (0.5, 0.5 * (1 + 2e-6), "mse", {}, True),
        (0.75, 0.75 + 1e-12, "accuracy", {}, False),  # default atol 1e-9
        (0.75, 0.75 + 1 / 64, "accuracy", {}, True),  # one test point
        (0.75, 0.75 * (1 + 5e-7), "accuracy", {}, True),  # the mse rtol does not apply
        (math.nan, math.nan, "mse", {}, False),
        (math.nan, 1.0, "mse", {"rtol": 1.0}, True),
        (math.inf, math.inf, "mse", {}, False),
        (math.inf, 1e300, "mse", {"rtol": 1.0}, True),
    ],
)
def test_tolerance_boundary(old, new, metric, kwargs, moved):
    a = make_set([make(test_metric=old, metric=metric)])
    b = make_set([make(test_metric=new, metric=metric)])
    assert [d.field for d in compare(a, b, **kwargs)] == (["test_metric"] if moved else [])


# ---------------------------------------------------------------------------------------------
# Cache.

CONFIG = TrainConfig(steps=10, log_every=5)


def test_cache_round_trip_and_misses(tmp_path):
    cache = RunCache(tmp_path / "cache")
    result = make("v10", "sine", 3, test_metric=math.nan, diverged=True)
    assert cache.get(result.run, CONFIG) is None
    cache.put(result, CONFIG)
    got = cache.get(result.run, CONFIG)
    assert result_to_dict(got) == result_to_dict(result)
    assert cache.get(result.run, CONFIG.replace(lr=1e-3)) is None
    assert cache.get(result.run, CONFIG.replace(log_every=2)) is None
    assert cache.get(Run("v10", "sine", 4), CONFIG) is None
    assert cache.get(Run("v10", "xor", 3), CONFIG) is None
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_cache_alias_shares_entry_and_keeps_requested_id(tmp_path):
    cache = RunCache(tmp_path)
    cache.put(make("singlu", "sine", 0, test_metric=0.125), CONFIG)
    got = cache.get(Run("v4_glu", "sine", 0), CONFIG)
    assert got is not None and got.run == Run("v4_glu", "sine", 0) and got.test_metric == 0.125
    assert cache.get(Run("vanilla", "sine", 0), CONFIG) is None


@pytest.mark.parametrize("content", ['{"key": ', "[]", "null", None])
def test_corrupt_cache_entry_is_a_deleted_miss(tmp_path, content):
    cache = RunCache(tmp_path)
    result = make()
    cache.put(result, CONFIG)
    path = cache.path(result.run, CONFIG)
    if content is None:  # well-formed JSON, wrong field type
        doc = json.loads(path.read_text())
        doc["result"]["params"] = "many"
        content = json.dumps(doc)
    path.write_text(content)
    assert cache.get(result.run, CONFIG) is None
    assert not path.exists()


# ---------------------------------------------------------------------------------------------
# One real study: trains, caches, and the second call trains nothing.


def test_run_study_trains_once(tmp_path, monkeypatch):
    runs = [Run("vanilla", "nested_2d", 0), Run("vanilla", "nested_2d", 1)]
    cache = RunCache(tmp_path / "cache")
    calls = []
    first = run_study("test", runs, CONFIG, cache, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 2)]
    assert [r.run for r in first.runs] == runs and len(first.runs[0].loss_curve) == 3
    assert first.config == CONFIG.to_dict() and first.provenance["git_commit"]

    def no_training(*args, **kwargs):
        raise AssertionError("trained a cached run")

    monkeypatch.setattr(richneuron.train.pool, "train_jobs", no_training)
    second = run_study("test", runs[::-1], CONFIG, cache)
    assert dicts(second) == dicts(first) and compare(first, second) == []
    save_results(second, tmp_path / "study.json")
    assert dicts(load_results(tmp_path / "study.json")) == dicts(first)


def test_recording_keeps_runs_with_every_key_and_names_them_otherwise():
    def with_diagnostics(seed, diagnostics):
        return make_result("v10", "spiral", seed, metric="accuracy", test_metric=0.9,
                           diagnostics=diagnostics)

    rs = ResultSet("t", {}, {}, [with_diagnostics(0, {"a": [1.0], "b": [2.0]}),
                                 with_diagnostics(1, {"a": [1.0]})])
    assert [r.run.seed for r in rs.recording("v10", ["a", "b"])] == [0]
    assert len(rs.recording("v10", ["a"])) == 2
    with pytest.raises(ValueError, match="t: no run of 'v10' records diagnostic 'c'"):
        rs.recording("v10", ["c"])
