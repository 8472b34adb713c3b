"""The arithmetic fingerprint: the same bits natively and on emulated Intel and AMD CPUs.

``test_same_bits_on_intel_and_amd`` is the cross-CPU test of the Method chapter: the fingerprint's
small workload (every architecture through the compiled trainer, the reference loop, eager
diagnostics, every task's data, on fewer steps and parameters than the gate's) computed natively
and under ``qemu-x86_64 -cpu Haswell-v4`` (Intel, AVX2) and ``-cpu EPYC-Rome`` (AMD), each
compared with the committed ``data/arithmetic/fingerprint-small.json``.
A process that qemu starts runs natively, so the emulated ones train in-process (one worker).
``make test`` installs Debian's ``qemu-user`` first (``make qemu``).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from richneuron.report.build import GATE
from richneuron.report.gate import check
from richneuron.train import fingerprint as fp

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / fp.FINGERPRINT_PATH
CPUS = fp.EMULATED_CPUS


def _command(out: Path, cpu: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "richneuron", "fingerprint", "--small", "--out", str(out)]
    if cpu is None:
        return cmd
    return ["qemu-x86_64", "-cpu", cpu, *cmd, "--workers", "1"]


def _digests(doc: dict) -> dict:
    return {"archs": {a: e["digest"] for a, e in doc["archs"].items()}, "data": doc["data"]}


@pytest.mark.slow
def test_same_bits_on_intel_and_amd(tmp_path):
    if shutil.which("qemu-x86_64") is None:
        pytest.fail("Debian's qemu-user is needed: run `make qemu` (apt-get install qemu-user)")
    committed = fp.load(ROOT / fp.SMALL_PATH)  # the gate checks the full workload natively
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    native = tmp_path / "native.json"
    # Natively first: it also fills Inductor's on-disk cache that the emulated runs read.
    subprocess.run(_command(native, None), env=env, check=True, cwd=ROOT, timeout=900)
    procs = {
        cpu: subprocess.Popen(
            _command(tmp_path / f"{cpu}.json", cpu),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cpu in CPUS
    }
    for cpu, proc in procs.items():
        _, err = proc.communicate(timeout=3000)
        assert proc.returncode == 0, f"qemu -cpu {cpu} failed:\n{err[-3000:]}"
    print(f"fingerprint natively and on {', '.join(CPUS)}: {time.perf_counter() - started:.0f} s")
    for name in ("native", *CPUS):
        new = fp.load(tmp_path / f"{name}.json")
        assert fp.differences(committed, new) == [], f"{name} ({fp.describe_host(new)})"
        assert _digests(new) == _digests(committed)
    emulated = {fp.load(tmp_path / f"{cpu}.json")["host"]["mkl_cbwr"] for cpu in CPUS}
    assert emulated == {"COMPATIBLE,STRICT"}


def test_gate_stops_at_a_fingerprint_that_differs(tmp_path):
    """A host with other bits: the gate says which architecture, what differs, and builds
    nothing (here the committed fingerprint is edited instead of changing the host)."""
    edited = copy.deepcopy(fp.load(COMMITTED))
    arch = next(iter(edited["archs"]))
    norms = edited["archs"][arch]["values"]["grad_norms"][0]
    group = sorted(norms)[0]
    old = norms[group][0]
    norms[group][0] = old * (1 + 2**-40)
    edited["archs"][arch]["digest"] = "0" * 16
    (tmp_path / fp.FINGERPRINT_PATH).parent.mkdir(parents=True)
    fp.save(edited, tmp_path / fp.FINGERPRINT_PATH)
    started = time.perf_counter()
    problems = check(tmp_path, GATE)
    assert time.perf_counter() - started < 300
    assert len(problems) == 1, problems
    line = problems[0]
    assert line.startswith("arithmetic fingerprint differs")
    assert f"first: {arch}: ['grad_norms'][0][{group!r}][0]" in line
    assert repr(old * (1 + 2**-40)) in line and repr(old) in line
    assert not (tmp_path / GATE.out).exists(), "the gate rebuilt despite the fingerprint"


def test_gate_names_a_missing_or_corrupt_fingerprint(tmp_path):
    assert check(tmp_path, GATE) == [
        f"{fp.FINGERPRINT_PATH}: not committed (python -m richneuron fingerprint --out ...)"
    ]
    path = tmp_path / fp.FINGERPRINT_PATH
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    (problem,) = check(tmp_path, GATE)
    assert problem.startswith(f"{path}: not valid JSON")


def test_differences_name_the_first_value_that_moved():
    committed = fp.load(COMMITTED)
    new = copy.deepcopy(committed)
    assert fp.differences(committed, new) == []
    arch = list(new["archs"])[1]
    curve = new["archs"][arch]["values"]["loss_curve"]
    curve[2][1] = curve[2][1] + 1.0
    new["archs"][arch]["digest"] = "changed"
    task = next(iter(new["data"]))
    new["data"][task] = "changed"
    assert fp.differences(committed, new) == [
        f"{arch}: ['loss_curve'][2][1]: committed {curve[2][1] - 1.0!r}, here {curve[2][1]!r}",
        f"data of {task}: drawn with other bits than committed",
    ]
    new["workload"] = {**new["workload"], "seeds": [0]}
    (line,) = fp.differences(committed, new)
    assert line.startswith("the fingerprint workload changed")


@pytest.mark.parametrize("small", [False, True], ids=["gate", "emulated"])
def test_committed_fingerprint_covers_every_neuron_and_task(small):
    """Both workloads, the gate's and the smaller one the cross-CPU test emulates, take every
    path: every neuron, the capacity losses, every task's data, records of the curves,
    gradient norms and the reference loop."""
    committed = fp.load(ROOT / (fp.SMALL_PATH if small else fp.FINGERPRINT_PATH))
    assert committed["workload"] == json.loads(json.dumps(fp.workload(small)))
    assert set(committed["archs"]) == set(fp.workload()["archs"]) | set(fp.LOSS_PATHS)
    from richneuron.tasks import KNOBS, REAL_TASKS, TASKS, base_of

    assert set(committed["data"]) == set(TASKS) | set(fp.RANDOM_TASKS) | set(fp.OTHER_TASKS)
    # the real data sets and a setting of every task with a knob: their bits on every CPU too
    assert set(REAL_TASKS) | set(KNOBS) <= {base_of(t) for t in fp.OTHER_TASKS}
    assert committed["archs"]["vanilla@random_reg_n64"]["values"]["extra"][0]["mse_3"] > 0
    reference_steps = fp.workload(small)["reference_steps"]
    for entry in committed["archs"].values():
        values = entry["values"]
        assert len(values["reference"]) == reference_steps
        assert len(values["loss_curve"]) == len(fp.SEEDS)
        assert len(values["test_curve"][0]) == (2 if small else 3)  # steps 0, 2 or 0, 4, 7
        assert values["grad_norms"][0] and values["test_curve"][0]


def test_cli_rejects_bad_workers_before_training(capsys):
    from richneuron.cli import main

    assert main(["fingerprint", "--workers", "0", "--out", "/tmp/unused.json"]) == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err


def test_cli_names_a_missing_committed_file(tmp_path, capsys):
    from richneuron.cli import main

    assert main(["fingerprint", "--against", str(tmp_path / "none.json")]) == 2
    assert "--against:" in capsys.readouterr().err
