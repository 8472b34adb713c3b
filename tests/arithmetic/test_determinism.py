"""The pinned arithmetic: the MKL mode is checked, and every result records its host."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys

from richneuron.arithmetic.determinism import ARITHMETIC_ENV, mkl_cbwr
from richneuron.store.results import provenance


def test_mkl_runs_in_the_pinned_mode():
    import torch

    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    assert mkl_cbwr() == ARITHMETIC_ENV["MKL_CBWR"] == "COMPATIBLE,STRICT"


def test_training_is_refused_when_torch_started_in_another_mkl_mode():
    # torch first, in MKL's AVX2 branch: the branch that gave other bits on AMD than on Intel.
    code = (
        "import torch; torch.mm(torch.ones(2, 2), torch.ones(2, 2))\n"
        "from richneuron.arithmetic.determinism import pin_arithmetic\n"
        "pin_arithmetic()\n"
    )
    env = {**os.environ, "MKL_CBWR": "AVX2,STRICT"}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode != 0
    # Intel CPUs report the AVX2 branch asked for; on AMD CPUs MKL ignores it and reports AUTO.
    assert re.search(r"MKL runs in mode (AVX2|AUTO),STRICT, not COMPATIBLE,STRICT \(MKL_CBWR\)",
                     proc.stderr), proc.stderr


def test_provenance_records_the_host():
    h = provenance()["host"]
    assert set(h) == {
        "cpu_vendor",
        "cpu_model",
        "cpu_family",
        "cpu_model_number",
        "machine",
        "mkl",
        "mkl_cbwr",
        "compiler",
        "libc",
    }
    cpu = {}
    with open("/proc/cpuinfo", encoding="utf-8") as f:  # read here, not by host()
        for line in f:
            if not line.strip():
                break
            key, _, value = line.partition(":")
            cpu[key.strip()] = value.strip()
    assert (h["cpu_vendor"], h["cpu_model"], h["cpu_model_number"]) == (
        cpu["vendor_id"], cpu["model name"], cpu["model"]
    )
    assert h["machine"] == platform.machine()
    assert h["cpu_vendor"] in ("GenuineIntel", "AuthenticAMD")
    assert "Math Kernel Library" in h["mkl"] and h["mkl_cbwr"] == "COMPATIBLE,STRICT"
    assert h["libc"].startswith("glibc") and h["compiler"]
