"""The command line as a user types it."""

import subprocess
import sys

import pytest

from richneuron.cli import main
from richneuron.store.results import load_results


def test_list_shows_every_architecture_and_task(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("vanilla", "singlu", "v4_lowrank", "v15", "memorize", "freq_gen", "digits",
                 "diabetes", "e.g. checkerboard@freq=5"):
        assert name in out
    assert r"\sin(\omega g + \pi \tanh\varphi)" in out


@pytest.mark.parametrize("argv,message", [
    (["run", "--arch", "v99"], "--arch: unknown architecture 'v99'; valid architectures: vanilla"),
    (["run", "--arch", "v10", "--tasks", "spirl"], "--tasks: unknown task 'spirl'; valid tasks:"),
    (["run", "--arch", "v10", "--seeds", "0"], "--seeds: must be at least 1, got 0"),
    (["run", "--arch", "v10", "--seeds", "-2"], "--seeds: must be at least 1, got -2"),
    (["run", "--arch", "v10", "--steps", "0"], "--steps: invalid steps=0"),
    (["run", "--arch", "v9", "--budget", "50"], "--budget: no width of 'v9'"),
    (["run", "--arch", "v10", "--tasks", "checkerboard@freq=99"],
     "--tasks: task 'checkerboard@freq=99': freq must be a number from 0.5 to 32, got '99'"),
    (["run", "--arch", "v10", "--tasks", "spiral@turns=3.0"], "write turns=3 (one task, one id)"),
    (["run", "--arch", "v10", "--tasks", "memorize@n=3"], "'memorize' has no knob"),
    (["run", "--arch", "kan", "--tasks", "digits", "--budget", "300"],
     "--budget: no width of 'kan' on task 'digits' meets budget=300"),
    (["run", "--arch", "v10", "--lr", "inf"], "--lr: invalid lr=inf: must be a finite number"),
    (["run", "--arch", "v10", "--lr", "nan"], "--lr: invalid lr=nan: must be a finite number"),
    (["run", "--arch", "v10", "--lr", "1e400"], "--lr: invalid lr=inf"),
    (["run", "--arch", "v10", "--omega=-inf"], "--omega: invalid omega=-inf"),
    (["run", "--arch", "v10", "--omega", "inf"], "--omega: invalid omega=inf"),
    (["run", "--arch", "v10", "--dask", "0"], "--dask: must be at least 1 worker, got 0"),
    (["sweep", "--arch", "v10", "--dask", "2", "--scheduler", "tcp://h:8786"],
     "--dask and --scheduler: give one"),
    (["sweep", "--arch", "v10", "--scheduler", " "], "--scheduler: give an address"),
])
def test_bad_values_give_one_line_and_exit_2(capsys, argv, message, tmp_path):
    out_file = tmp_path / "r.json"
    assert main([*argv, "--out", str(out_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not out_file.exists()


def test_run_trains_summarises_and_writes(tmp_path):
    out_file = tmp_path / "r.json"
    cmd = [sys.executable, "-m", "richneuron", "run", "--arch", "vanilla",
           "--tasks", "nested_2d,spiral", "--seeds", "2", "--steps", "20",
           "--cache", str(tmp_path / "cache"), "--out", str(out_file)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "4/4" in done.stderr and "run/s" in done.stderr  # the progress bar
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["arch", "task", "metric", "mean", "ci95", "std", "seeds",
                                "diverged", "params"]
    assert {line.split()[1] for line in lines[1:]} == {"nested_2d", "spiral"}
    assert all(line.split()[4].startswith("[") for line in lines[1:])  # the mean's interval
    rs = load_results(out_file)
    assert len(rs.runs) == 4 and rs.config["steps"] == 20
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout == done.stdout  # from the cache, same numbers


def test_list_into_a_closed_pipe_exits_quietly():
    """``python -m richneuron list | head -1``: no traceback when the reader has gone."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader went away before the listing was written
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "richneuron", "list"],
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(write)
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_out_naming_a_directory_is_refused_before_training(capsys, tmp_path, monkeypatch):
    import richneuron.cli as cli

    monkeypatch.setattr(cli, "run_study", lambda *a, **k: pytest.fail("trained"))
    assert main(["run", "--arch", "v10", "--tasks", "spiral", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: --out: {tmp_path} is a directory; give a file name, e.g. " + str(
        tmp_path / "results.json"
    )
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--arch", "v10", "--out", str(blocker / "r.json")]) == 2
    assert f"--out: {blocker / 'r.json'}: {blocker} is a file" in capsys.readouterr().err
    assert main(["run", "--arch", "v10", "--cache", str(blocker)]) == 2
    assert f"--cache: {blocker} is a file, not a directory" in capsys.readouterr().err
    assert main(["fingerprint", "--out", str(tmp_path)]) == 2
    assert "--out: " in capsys.readouterr().err
