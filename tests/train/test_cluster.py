"""The Dask backend (richneuron.train.cluster), on real LocalClusters of worker processes."""

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
from conftest import bits as _trainer_bits

from richneuron.cli import main
from richneuron.config import TrainConfig
from richneuron.store.schema import Run
from richneuron.train.cluster import (
    ClusterError,
    DaskBackend,
    arithmetic_difference,
    worker_arithmetic,
)
from richneuron.train.pool import Backend, InProcess, LocalWorkers, train_jobs

pytestmark = pytest.mark.slow


def _bits(result):
    return (result.run, *_trainer_bits(result))


# Two shapes, two protocols in one chunk, three seeds: mixed settings cross the network too.
BASE = TrainConfig(steps=40, log_every=10)
JOBS = [
    (Run(arch, task, seed), config)
    for arch, task in (("v10", "spiral"), ("vanilla", "memorize"))
    for config in (BASE, BASE.replace(lr=1e-2))
    for seed in range(2)
]


@pytest.fixture(scope="module")
def backend():
    lines: list[str] = []
    with DaskBackend.local(2, log=lines.append) as b:
        b.lines = lines
        yield b


def test_dask_gives_the_bits_of_one_process_and_of_the_pool(backend):
    assert all(isinstance(b, Backend) for b in (backend, InProcess(), LocalWorkers(2)))
    alone = train_jobs(JOBS, backend=InProcess())
    pooled = train_jobs(JOBS, backend=LocalWorkers(2))
    chunks = []
    on_dask = train_jobs(JOBS, backend=backend, on_results=chunks.append)
    assert [_bits(r) for r in on_dask] == [_bits(r) for r in alone] == [_bits(r) for r in pooled]
    assert sorted(str(job) for chunk in chunks for job, _ in chunk) == sorted(map(str, JOBS))
    assert len(backend.accepted) == 2 and not backend.lines


def test_workers_report_the_pinned_arithmetic(backend):
    here = worker_arithmetic()
    there = backend.client.run(worker_arithmetic)
    assert len(there) == 2 and all(arithmetic_difference(here, t) is None for t in there.values())
    assert here["pinned (RICHNEURON_UNPINNED unset)"] is True
    assert here["ATen CPU capability"] == "AVX2" and here["torch threads"] == 1


def test_a_difference_names_the_setting():
    here = {"a": 1, "ATen CPU capability": "AVX2"}
    assert arithmetic_difference(here, dict(here)) is None
    assert (
        arithmetic_difference(here, {"a": 1, "ATen CPU capability": "AVX512"})
        == "ATen CPU capability is 'AVX512' there, 'AVX2' here"
    )
    assert arithmetic_difference(here, {**here, "new": 2}) == "new is 2 there, None here"


def test_a_worker_with_other_arithmetic_is_refused_with_one_line():
    from distributed import Client, LocalCluster

    lines: list[str] = []
    # An unpinned worker (RICHNEURON_UNPINNED=1 in its environment) computes other bits.
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        env={"RICHNEURON_UNPINNED": "1"},
        preload=["richneuron.train.cluster"],
    ) as cluster:
        backend = DaskBackend(Client(cluster), log=lines.append)
        try:
            with pytest.raises(ClusterError, match="no Dask worker with this process's arithmetic"):
                train_jobs(JOBS[:2], backend=backend)
        finally:
            backend.close()
    assert len(lines) == 1, lines
    assert lines[0].startswith("refused Dask worker tcp://")
    assert "pinned (RICHNEURON_UNPINNED unset) is False there, True here" in lines[0]


def test_a_killed_worker_leaves_complete_results_and_no_duplicates():
    config = TrainConfig(steps=300, log_every=100)
    jobs = [
        (Run(arch, task, seed), config)
        for arch in ("vanilla", "singlu")
        for task in ("spiral", "nested_2d", "complex_4d")
        for seed in range(2)
    ]
    kept: list = []
    killed: list[int] = []
    with DaskBackend.local(2, log=lambda line: None) as backend:
        pids = backend.client.run(os.getpid)

        def keep(pairs):
            kept.extend(job for job, _ in pairs)
            if not killed:  # a first chunk is in: end a busy worker's process mid-sweep
                busy = [w for w, tasks in backend.client.processing().items() if tasks]
                victim = psutil.Process(pids[busy[0]] if busy else next(iter(pids.values())))
                victim.kill()
                killed.append(victim.pid)

        on_dask = train_jobs(jobs, compile=False, backend=backend, on_results=keep)
    assert killed
    assert sorted(map(str, kept)) == sorted(map(str, jobs))  # each job kept once
    alone = train_jobs(jobs, compile=False, workers=1)
    assert [_bits(r) for r in on_dask] == [_bits(r) for r in alone]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_fails_fast_with_one_line(capsys, tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with pytest.raises(ClusterError, match=f"--scheduler {address}: no Dask scheduler answered"):
        DaskBackend.connect(address)
    assert time.monotonic() - start < 10
    argv = ["sweep", "--arch", "singlu", "--tasks", "spiral", "--seeds", "1"]
    out = tmp_path / "s.json"
    start = time.monotonic()
    cache = ["--cache", str(tmp_path / "c")]
    assert main([*argv, "--scheduler", address, *cache, "--out", str(out)]) == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: --scheduler {address}: no Dask scheduler answered")
    assert not out.exists() and not (tmp_path / "c").exists()


# The CLI in a subprocess, so its stderr is all it prints (Dask's log handlers write to the
# stderr they found at import): it trains without Inductor (to be quick) and, once the first
# chunk's results are kept, stops the scheduler with SIGTERM, as `kill` would.
_STOP_AFTER_FIRST_CHUNK = """
import os, signal, sys
from richneuron.train import cluster
from richneuron.cli import main

schedule = cluster.DaskBackend.schedule
stopped = []

def schedule_then_stop(self, groups, jobs, compile, finish):
    def finish_then_stop(parts, results):
        finish(parts, results)
        if not stopped:
            os.kill(int(os.environ["SCHEDULER_PID"]), signal.SIGTERM)
            stopped.append(True)
    return schedule(self, groups, jobs, False, finish_then_stop)

cluster.DaskBackend.schedule = schedule_then_stop
sys.exit(main(sys.argv[1:]))
"""


def _start(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dask", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_a_lost_scheduler_ends_the_sweep_with_one_line_and_keeps_the_finished_runs(tmp_path):
    from distributed import Client

    from richneuron.experiments.study import load_spec
    from richneuron.store.cache import RunCache

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(f"scheduler --host 127.0.0.1 --port {port} --no-dashboard".split())
    worker = None
    try:
        worker = _start(
            f"worker {address} --nthreads 1 --no-nanny --no-dashboard "
            "--preload richneuron.train.cluster".split()
        )
        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        spec = tmp_path / "spec.yaml"  # 16 runs of one shape: four chunks of 4
        spec.write_text(
            "name: lost\narchs: [vanilla]\ntasks: [spiral]\nseeds: 4\nbase: {steps: 300}\n"
            "grid: {lr: [1.0e-3, 3.0e-3, 1.0e-2, 3.0e-2]}\n"
        )
        cache, out = tmp_path / "cache", tmp_path / "lost.json"
        start = time.monotonic()
        argv = ["sweep", str(spec), "--out", str(out), "--cache", str(cache)]
        done = subprocess.run(
            [sys.executable, "-c", _STOP_AFTER_FIRST_CHUNK, *argv, "--scheduler", address],
            capture_output=True,  # bytes: the progress line's \r stays \r
            timeout=120,
            env={**os.environ, "SCHEDULER_PID": str(scheduler.pid)},
        )
        took = time.monotonic() - start
    finally:
        for process in (worker, scheduler):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    jobs = load_spec(spec).expand()
    kept = sum(RunCache(cache).get(run, config) is not None for run, config in jobs)
    assert 4 <= kept < len(jobs) == 16  # the first chunk at least, not all
    stderr = done.stderr.decode()
    lines = stderr.replace("\r", "\n").splitlines()  # the progress bar redraws after \r
    shown = ("sweep 'lost'", "Dask: 1 workers", "training:")  # the header and the progress bar
    said = [line for line in lines if line and not line.startswith(shown)]
    assert said == [
        f"error: lost the Dask scheduler {address}: the {kept} runs finished until then are kept "
        f"in the run cache ({cache}); run the same command again to resume"
    ], stderr
    assert lines[-1] == said[0]
    assert done.returncode == 1
    assert not out.exists()
    assert took < 60
