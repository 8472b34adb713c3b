"""Sweeps: the spec (validated before anything trains), its runs, the store, the results file."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import make_result

import richneuron.train.pool
from richneuron.cli import main
from richneuron.config import TrainConfig
from richneuron.experiments.specs import SweepError
from richneuron.experiments.study import (
    SWEEP_SCHEMA,
    Sweep,
    check_sweep_output,
    lean_result,
    load_spec,
    load_sweep,
    run_sweep,
    save_sweep,
)
from richneuron.paths import SWEEP_DIR as SWEEPS
from richneuron.report.audit import retrain_cost
from richneuron.report.gate import audit_runs
from richneuron.store.cache import RunCache
from richneuron.store.results import ResultsError, ResultSet, save_results
from richneuron.store.schema import Run, RunResult

SPEC = {
    "name": "lr-omega",
    "archs": ["singlu", "vanilla"],
    "tasks": ["nested_2d", "spiral"],
    "seeds": 2,
    "base": {"steps": 20},
    "grid": {"lr": [1e-3, 3e-3], "omega": [1, 3]},
    "overrides": {"vanilla": {"omega": [1]}},
}


def test_a_sweep_expands_to_every_combination_with_overrides():
    sweep = Sweep.from_dict(SPEC)
    assert sweep.settings("singlu") == [
        {"lr": 1e-3, "omega": 1},
        {"lr": 1e-3, "omega": 3},
        {"lr": 3e-3, "omega": 1},
        {"lr": 3e-3, "omega": 3},
    ]
    assert sweep.settings("vanilla") == [{"lr": 1e-3, "omega": 1}, {"lr": 3e-3, "omega": 1}]
    runs = sweep.expand()
    assert len(runs) == (4 + 2) * 2 * 2
    assert len({(r, json.dumps(c.to_dict())) for r, c in runs}) == len(runs)
    run, config = runs[0]
    assert run == Run("singlu", "nested_2d", 0)
    assert config == TrainConfig(steps=20, lr=1e-3, omega=1)
    assert Sweep.from_dict(sweep.to_dict()) == sweep


def test_no_grid_is_one_setting():
    sweep = Sweep.from_dict({"archs": "v10", "tasks": "spiral", "seeds": 3})
    assert sweep.settings("v10") == [{}] and len(sweep.expand()) == 3


@pytest.mark.parametrize(
    "change,message",
    [
        ({"archs": ["v99"]}, "archs: unknown architecture 'v99'"),
        ({"archs": []}, "archs: empty architecture list"),
        ({"tasks": "spirl"}, "tasks: unknown task 'spirl'"),
        ({"seeds": 0}, "seeds: must be an integer >= 1, got 0"),
        ({"seeds": True}, "seeds: must be an integer >= 1, got True"),
        ({"grid": {"lr2": [1]}}, "grid.lr2: unknown setting; valid: steps, lr,"),
        ({"grid": {"budgets": [1]}}, "grid.budgets: unknown setting"),
        ({"grid": {"lr": []}}, "grid.lr: no values"),
        ({"grid": {"lr": [1e-3, 1e-3]}}, "grid.lr: repeated values"),
        ({"grid": {"lr": ["fast"]}}, "grid.lr: 'fast' is not a number"),
        ({"grid": {"lr": [-1]}}, "grid.lr=-1: invalid lr=-1.0: must be a finite number > 0"),
        ({"grid": {"omega": [math.inf]}}, "grid.omega=inf: invalid omega=inf"),
        ({"grid": {"steps": [2.5]}}, "grid.steps=2.5: invalid steps=2.5"),
        ({"grid": [1]}, "grid: must be a mapping"),
        ({"overrides": {"v10": {"omega": [1]}}}, "overrides.v10: not one of the sweep's archs"),
        ({"overrides": {"vanilla": {"omega": [0]}}}, "overrides.vanilla.omega=0: invalid"),
        ({"base": {"stepz": 3}}, "base.stepz: unknown setting"),
        ({"base": {"steps": 0}}, "base: invalid steps=0"),
        ({"color": "red"}, "color: unknown entry"),
        ({"name": ""}, "name: must be a non-empty string"),
    ],
)
def test_bad_specs_name_the_entry(change, message):
    with pytest.raises(SweepError) as err:
        Sweep.from_dict({**SPEC, **change})
    assert message in str(err.value) and len(str(err.value).splitlines()) == 1


def test_missing_entries_and_budgets():
    with pytest.raises(SweepError, match="^archs: missing$"):
        Sweep.from_dict({"seeds": 1})
    sweep = Sweep.from_dict(
        {"archs": ["v9"], "tasks": ["spiral"], "seeds": 1, "grid": {"budget": [50]}}
    )
    with pytest.raises(SweepError, match="^budget: no width of 'v9'"):
        sweep.check_budgets()


def test_spec_files(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "name: lr-omega\narchs: [singlu, vanilla]\ntasks: [nested_2d, spiral]\nseeds: 2\n"
        "base: {steps: 20}\ngrid:\n  lr: [1.0e-3, 3.0e-3]\n  omega: [1, 3]\n"
        "overrides:\n  vanilla: {omega: [1]}\n"
    )
    assert Sweep.from_file(path) == Sweep.from_dict(SPEC)
    path.write_text("archs: [v10\n  seeds: 1")
    with pytest.raises(SweepError, match=r"sweep.yaml: not valid YAML \(line \d+\)"):
        Sweep.from_file(path)
    path.write_text("- just\n- a list\n")
    with pytest.raises(SweepError, match="sweep.yaml: spec: must be a mapping"):
        Sweep.from_file(path)
    with pytest.raises(SweepError, match="nothing.yaml: No such file"):
        Sweep.from_file(tmp_path / "nothing.yaml")


def _fake_result(run: Run, config: TrainConfig) -> RunResult:
    value = config.lr * 100 + config.omega + run.seed / 10
    return make_result(
        run.arch, run.task, run.seed, metric="accuracy" if run.task == "spiral" else "mse",
        test_metric=value, params=5000, train_loss=value,
    )


@pytest.fixture
def fake_training(monkeypatch):
    """The trainer replaced by a function of the run and its config (counts what it trains)."""
    class Trained(list):  # (run, lr, omega) of every job trained; .calls: training calls
        calls = 0

    trained = Trained()

    def train_jobs(jobs, progress=None, on_results=None, **kwargs):
        trained.calls += 1
        results = [_fake_result(r, config) for r, config in jobs]
        trained.extend((r, config.lr, config.omega) for r, config in jobs)
        if on_results:
            on_results(list(zip(jobs, results)))
        return results

    monkeypatch.setattr(richneuron.train.pool, "train_jobs", train_jobs)
    return trained


def test_run_sweep_trains_each_run_once_and_reads_the_store(tmp_path, fake_training):
    sweep = Sweep.from_dict(SPEC)
    cache = RunCache(tmp_path / "cache")
    seen = []
    result = run_sweep(sweep, cache, progress=lambda *a: seen.append(a))
    n = len(sweep.expand())
    assert len(fake_training) == n and result.trained == n and result.from_store == 0
    assert fake_training.calls == 1  # every protocol in one call: mixed settings share chunks
    assert seen[0] == (0, 0, n) and seen[-1] == (n, 0, n)
    assert len(result.sets) == 4  # one per distinct protocol: vanilla shares singlu's omega=1
    rows = result.summary()
    row = next(r for r in rows if r["arch"] == "singlu" and r["lr"] == 3e-3 and r["omega"] == 3)
    # seeds 0 and 1 score 3.3 and 3.4: an MSE's centre is their geometric mean
    assert row["mean"] == pytest.approx(math.sqrt((3e-3 * 100 + 3) * (3e-3 * 100 + 3.1)))
    again = run_sweep(sweep, cache, progress=lambda *a: seen.append(a))
    assert len(fake_training) == n and again.from_store == n and again.trained == 0
    assert seen[-1] == (n, n, n)


def test_sweep_results_file_round_trips_and_guards_its_sweep(tmp_path, fake_training):
    sweep = Sweep.from_dict(SPEC)
    result = run_sweep(sweep, None)
    path = tmp_path / "sweep.json"
    check_sweep_output(path, sweep)  # absent: fine
    save_sweep(result, path)
    doc = json.loads(path.read_text())
    assert doc["schema"] == SWEEP_SCHEMA and doc["spec"] == sweep.to_dict()
    back = load_sweep(path)
    assert back.sweep == sweep and back.summary() == result.summary()
    check_sweep_output(path, sweep)  # the same sweep may be written again
    check_sweep_output(path, Sweep.from_dict({**SPEC, "seeds": 3}))  # the same, grown
    more = Sweep.from_dict({**SPEC, "archs": ["singlu", "vanilla", "v10"]})
    check_sweep_output(path, more)  # the same with another architecture
    assert more.same_but_coverage(sweep) and sweep.same_but_coverage(more)
    other_override = {**SPEC, "archs": ["singlu", "vanilla", "v10"],
                      "overrides": {"vanilla": {"omega": [3]}}}
    assert not Sweep.from_dict(other_override).same_but_coverage(sweep)
    other = Sweep.from_dict({**SPEC, "tasks": ["spiral"]})
    with pytest.raises(SweepError, match="holds the results of another sweep"):
        check_sweep_output(path, other)
    (tmp_path / "plain.json").write_text('{"schema": "richneuron.results/1"}')
    with pytest.raises(SweepError, match="exists and is not a sweep results file"):
        check_sweep_output(tmp_path / "plain.json", sweep)
    with pytest.raises(SweepError, match="is a directory"):
        check_sweep_output(tmp_path, sweep)
    doc["sets"][0]["runs"][0]["params"] = "many"
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match=r"sweep.json: sets\[0\]: runs\[0\]"):
        load_sweep(path)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["sweep"], "spec: give a spec file (SPEC.yaml) or --arch"),
        (["sweep", "s.yaml", "--arch", "v10"], "--arch: give a spec file or --arch"),
        (["sweep", "--arch", "v10", "--grid", "lr"], "--grid lr: expected FIELD=V1,V2"),
        (["sweep", "--arch", "v10", "--grid", "lr=x"], "--grid lr=x: 'x' is not a number"),
        (["sweep", "--arch", "v10", "--grid", "lr=1", "--grid", "lr=2"], "lr is given twice"),
        (["sweep", "--arch", "v10", "--grid", "lr=inf"], "--grid lr=inf: invalid lr=inf"),
        (["sweep", "--arch", "v10", "--grid", "lrr=1"], "--grid lrr: unknown setting"),
        (["sweep", "--arch", "v99"], "--arch: unknown architecture 'v99'"),
        (["sweep", "--arch", "v10", "--seeds", "0"], "--seeds: must be an integer >= 1"),
        (["sweep", "--arch", "v9", "--grid", "budget=50"], "budget: no width of 'v9'"),
    ],
)
def test_bad_sweep_command_lines_are_one_line(argv, message, capsys, fake_training):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert fake_training == []


def test_sweep_command_line_trains_summarises_and_refuses_another_sweeps_file(
    tmp_path, capsys, fake_training
):
    out = tmp_path / "s.json"
    argv = [
        "sweep",
        "--arch",
        "vanilla",
        "--tasks",
        "nested_2d",
        "--seeds",
        "2",
        "--grid",
        "lr=1e-3,3e-3",
        "--cache",
        str(tmp_path / "c"),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].split() == [
        "lr",
        "arch",
        "task",
        "metric",
        "mean",
        "ci95",
        "std",
        "seeds",
        "diverged",
    ]
    assert "4 runs trained, 0 taken from the store" in captured.err
    assert load_sweep(out).sweep.grid == {"lr": (1e-3, 3e-3)}
    before = out.read_bytes()
    other = [*argv[:-6], "--grid", "lr=1e-2", "--cache", str(tmp_path / "c")]
    assert main([*other, "--out", str(out)]) == 2  # another grid: another sweep's file
    assert "--out: " in capsys.readouterr().err and out.read_bytes() == before
    # the same sweep with more seeds grows the file: its runs are kept, seed 2 trains
    assert main([*argv[:5], "--seeds", "3", *argv[7:]]) == 0
    assert "2 runs trained, 4 taken from the store" in capsys.readouterr().err
    assert {r.run.seed for rs in load_sweep(out).sets for r in rs.runs} == {0, 1, 2}


# ---------------------------------------------------------------------------------------------
# Lean sweep files and the drift gate's audit of them.


def test_a_lean_result_keeps_every_final_value_and_a_subsampled_curve():
    full = _fake_result(Run("v10", "spiral", 0), TrainConfig())
    full.loss_curve = [float(i) for i in range(201)]
    full.test_curve = [float(-i) for i in range(201)]
    full.grad_norms = {"gate": [1.0] * 201}
    full.diagnostics = {"omega_mean": [1.0 + i for i in range(201)]}
    lean = lean_result(full)
    assert lean.loss_curve == [float(i) for i in range(0, 201, 20)]  # 11 points, ends kept
    assert lean.test_curve[0] == 0.0 and lean.test_curve[-1] == -200.0
    assert lean.grad_norms == {}
    omega = lean.diagnostics["omega_mean"]  # the start and the end of an internal are kept
    assert len(omega) == 11 and omega[0] == 1.0 and omega[-1] == 201.0
    for name in ("widths", "params", "test_metric", "train_loss", "diverged", "wall_time"):
        assert getattr(lean, name) == getattr(full, name)
    short = _fake_result(Run("v10", "spiral", 0), TrainConfig())
    assert lean_result(short).loss_curve == short.loss_curve


#: What the audit counts for a run stored as 1 s of training (its overhead included).
RUN = retrain_cost(1.0)


def _committed_sweep(root: Path, names=("lr-omega.json",), wall_time: float = 1.0):
    """SPEC's sweep (24 runs) saved under ``root/data/sweeps/`` as each of ``names``, every run
    stored as ``wall_time`` seconds of training; the trainer's record then cleared."""
    result = run_sweep(Sweep.from_dict(SPEC), None)
    for rs in result.sets:
        for r in rs.runs:
            r.wall_time = wall_time
    (root / SWEEPS).mkdir(parents=True, exist_ok=True)
    for name in names:
        save_sweep(result, root / SWEEPS / name)
    return result


def _forget(fake_training) -> None:
    fake_training.clear()
    fake_training.calls = 0


def test_the_gate_trains_every_committed_runs_audit_at_once(tmp_path, fake_training, capsys):
    """The audit of every file trains in one call; a run two files hold trains once."""
    _committed_sweep(tmp_path, ("a.json", "b.json"))
    _forget(fake_training)
    assert audit_runs(tmp_path, "all") == []
    assert fake_training.calls == 1 and len(fake_training) == 24
    assert len(set(fake_training)) == 24
    out = capsys.readouterr().out
    for name in ("a.json", "b.json"):
        assert f"audit {SWEEPS}/{name}: retrained 24 of 24 runs; no drift" in out
    assert f"audit: 24 of 24 committed runs (estimated {24 * RUN:.0f} s; every run)" in out
    # Within a budget of ten runs' cost: ten runs, still one call, and each file compares its
    # copy of each.
    _forget(fake_training)
    assert audit_runs(tmp_path, "sample", budget=10 * RUN) == []
    assert fake_training.calls == 1 and len(fake_training) == 10 == len(set(fake_training))
    out = capsys.readouterr().out
    for name in ("a.json", "b.json"):
        assert f"audit {SWEEPS}/{name}: retrained 10 of 24 runs; no drift" in out
    summary = next(line for line in out.splitlines() if line.startswith("audit: "))
    assert summary.startswith(f"audit: 10 of 24 committed runs (estimated {10 * RUN:.0f} s; ")
    assert "each of the 6 (architecture, setting) cells is retrained in any 2 consecutive" in (
        summary
    )
    assert f"within a budget of {10 * RUN:.0f} s) retrained in " in summary


def test_the_gate_audits_the_committed_sweeps(tmp_path, fake_training, capsys):
    path = tmp_path / SWEEPS / "lr-omega.json"
    _committed_sweep(tmp_path)
    _forget(fake_training)
    assert audit_runs(tmp_path, "sample", budget=10 * RUN) == []
    assert len(fake_training) == 10
    assert f"audit {SWEEPS}/lr-omega.json: retrained 10 of 24 runs; no drift" in (
        capsys.readouterr().out
    )
    doc = json.loads(path.read_text())
    run = doc["sets"][0]["runs"][0]
    run["test_metric"] += 1.0  # a committed value that does not reproduce
    path.write_text(json.dumps(doc))
    for mode, budget in [("all", None), ("sample", math.inf), ("sample", 1000.0)]:
        _forget(fake_training)
        problems = audit_runs(tmp_path, mode, budget=budget)
        assert len(fake_training) == 24, (mode, budget)
        assert len(problems) == 1 and problems[0].startswith(
            f"{SWEEPS}/lr-omega.json: 1 value(s) drifted:\n"
        )
        row = problems[0].splitlines()[-1].split()
        assert row[:6] == [
            f"{SWEEPS}/lr-omega.json",
            run["arch"],
            run["task"],
            str(run["seed"]),
            "test_metric",
            repr(run["test_metric"]),
        ]
        out = capsys.readouterr().out
        assert f"audit {SWEEPS}/lr-omega.json: retrained 24 of 24 runs; 1 value(s) drifted" in out
        assert "audit: 24 of 24 committed runs (" in out
    _forget(fake_training)
    assert audit_runs(tmp_path, "none") == [] and fake_training == []
    assert capsys.readouterr().out == "audit: skipped (24 committed runs not checked)\n"
    with pytest.raises(ValueError, match="--audit: expected one of sample, all, none"):
        audit_runs(tmp_path, "some")
    assert fake_training == []


def test_the_gate_audits_the_chapters_results_files_too(tmp_path, fake_training, capsys):
    """A chapter's runs (``data/<chapter>.json``) are audited beside the sweeps'; a run a
    chapter and a sweep both hold, under one protocol, trains once and both copies compare."""
    result = _committed_sweep(tmp_path)
    rs = result.sets[0]  # one protocol of the sweep: its runs, held by a chapter too
    config = TrainConfig(**rs.config)
    runs = [Run(rs.runs[0].run.arch, task, seed) for task in SPEC["tasks"] for seed in (0, 1, 2)]
    chapter = [_fake_result(r, config) for r in runs]  # seed 2: in the chapter only
    for r in chapter:
        r.wall_time = 1.0
    path = tmp_path / "data" / "ch.json"
    save_results(ResultSet("ch", config.to_dict(), {}, chapter), path)
    _forget(fake_training)
    assert audit_runs(tmp_path, "all") == []
    assert fake_training.calls == 1 and len(fake_training) == 24 + 2
    assert len(set(fake_training)) == 26
    out = capsys.readouterr().out
    assert "audit data/ch.json: retrained 6 of 6 runs; no drift" in out
    assert f"audit {SWEEPS}/lr-omega.json: retrained 24 of 24 runs; no drift" in out
    assert f"audit: 26 of 26 committed runs (estimated {26 * RUN:.0f} s; every run)" in out
    doc = json.loads(path.read_text())
    edited = next(r for r in doc["runs"] if r["seed"] == 2)
    edited["test_metric"] *= 1.0001
    path.write_text(json.dumps(doc))
    problems = audit_runs(tmp_path, "sample", budget=math.inf)
    assert len(problems) == 1 and problems[0].startswith("data/ch.json: 1 value(s) drifted:\n")
    assert problems[0].splitlines()[-1].split()[:6] == [
        "ch",
        edited["arch"],
        edited["task"],
        "2",
        "test_metric",
        repr(edited["test_metric"]),
    ]
    assert "audit data/ch.json: retrained 6 of 6 runs; 1 value(s) drifted" in (
        capsys.readouterr().out
    )


# ---------------------------------------------------------------------------------------------
# Stopping: SIGINT and SIGTERM stop the workers, keep finished runs, leave no partial file.


def _is_python(process: psutil.Process) -> bool:
    try:
        return "python" in process.name()
    except psutil.NoSuchProcess:  # a short-lived helper (a compiler check) already gone
        return False


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("backend", [[], ["--dask", "2"]], ids=["pool", "dask"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_worker_and_keeps_finished_runs(tmp_path, sig, backend):
    cache, out = tmp_path / "cache", tmp_path / "out" / "r.json"
    cmd = [
        sys.executable,
        "-m",
        "richneuron",
        "run",
        "--arch",
        "vanilla,singlu,v10",
        "--tasks",
        "nested_2d,spiral,complex_4d,hifreq",
        "--seeds",
        "2",
        "--steps",
        "3000",
        "--cache",
        str(cache),
        "--out",
        str(out),
        *backend,
    ]
    env = {**os.environ, "RICHNEURON_WORKERS": "2"}
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A command started in the background (`make test &`, nohup) inherits SIGINT ignored,
        # and so would this one: give it the disposition of a command started in a terminal.
        preexec_fn=_default_sigint,
    )
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 240
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline:  # wait for the workers and a first finished chunk
        workers = [p for p in parent.children(recursive=True) if _is_python(p)]
        if len(workers) >= 2 and cache.is_dir() and any(cache.glob("*.json")):
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    else:
        pytest.fail("no chunk finished within 240 s")
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the command did not stop within 60 s of the signal")
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), err.decode()[-2000:]
    assert "interrupted: finished runs are kept in the cache" in err.decode()
    psutil.wait_procs(workers, timeout=30)
    alive = [p.pid for p in workers if _alive(p)]
    assert not alive, f"worker processes outlived the command: {alive}"
    kept = list(cache.glob("*.json"))
    assert kept and all(json.loads(p.read_text())["result"] for p in kept)
    assert not out.exists() and not list(Path(tmp_path).rglob("*.tmp*"))


def test_a_sweep_from_a_first_seed_and_one_grown_from_its_results_file(tmp_path, fake_training):
    later = Sweep.from_dict({**SPEC, "seeds": 2, "first_seed": 5})
    assert {r.seed for r, _ in later.expand()} == {5, 6} and later.seed_range == range(5, 7)
    assert later.to_dict()["first_seed"] == 5
    assert "first_seed" not in Sweep.from_dict(SPEC).to_dict()  # the form sweeps always had
    for bad in (-1, 1.5, True):
        with pytest.raises(SweepError, match="first_seed: must be an integer >= 0"):
            Sweep.from_dict({**SPEC, "first_seed": bad})
    small = run_sweep(Sweep.from_dict(SPEC), None)  # seeds 0, 1
    trained = len(fake_training)
    grown = Sweep.from_dict({**SPEC, "seeds": 3})
    assert grown.same_but_coverage(small.sweep) and not later.same_but_coverage(
        Sweep.from_dict({**SPEC, "tasks": ["spiral"]})
    )
    result = run_sweep(grown, None, stored=small)  # the stored runs are kept, seed 2 trained
    assert result.from_store == len(small.sweep.expand())
    assert len(fake_training) - trained == len(grown.expand()) - result.from_store
    assert {r.seed for r, _, _ in fake_training[trained:]} == {2}
    with pytest.raises(SweepError, match="stored: holds sweep"):
        run_sweep(Sweep.from_dict({**SPEC, "tasks": ["spiral"]}), None, stored=small)


SPECS = sorted((Path(__file__).resolve().parents[2] / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_sweep_spec_has_its_committed_results(spec):
    """The committed file of each spec (a sweep or a tuning) holds that very spec (seeds
    included): a spec edited without its sweep re-run fails here, not in a reader's build."""
    sweep = load_spec(spec)
    path = spec.parents[1] / "data" / "sweeps" / f"{spec.stem}.json"
    assert json.loads(path.read_text(encoding="utf-8"))["spec"] == sweep.to_dict()
    runs = sum(len(rs.runs) for rs in load_sweep(path).sets)
    assert runs == sweep.size()
