"""Naive one-model-at-a-time training vs the library's batched trainer, side by side.

One fixed workload (vanilla, singlu and v10; nested_2d, spiral and complex_4d; three seeds; the
standard step count) is trained three ways, one after the other:

1. **naive, as a user would run it** (the headline baseline): the plain reference loop
   (``nn.Module`` + ``torch.optim.Adam``, one network at a time) in a separate process with
   PyTorch's defaults: its own thread count, MKL's and ATen's own code paths, nothing pinned
   (``RICHNEURON_UNPINNED=1``);
2. **naive, pinned**: the same loop in this process after :mod:`richneuron` pinned the
   arithmetic (the fixed-rounding products, MKL's vendor-neutral strict mode, AVX2 kernels;
   PyTorch's thread count);
3. **the library**: :func:`richneuron.trainer.train_runs`, timed twice: its first pass includes
   compiling (from Inductor's on-disk cache where it is warm), the second is steady state.

    python benchmarks/trainer.py [--steps N] [--seeds N]

Prints the times and the ratios. The target is a steady-state ratio of at least 4 against the
naive loop with PyTorch's defaults (the headline) on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ARCHS = ("vanilla", "singlu", "v10")
TASKS = ("nested_2d", "spiral", "complex_4d")


def _runs(seeds: int):
    from richneuron.trainer import Run

    return [Run(a, t, s) for a in ARCHS for t in TASKS for s in range(seeds)]


def _naive(steps: int, seeds: int, label: str) -> float:
    """Seconds to train the workload with the reference loop, one network at a time."""
    import torch

    from richneuron.config import TrainConfig
    from richneuron.trainer import train_reference

    config = TrainConfig(steps=steps)
    runs = _runs(seeds)
    train_reference(runs[0], config.replace(steps=20))  # warm up MKL and the allocator
    start = time.perf_counter()
    for i, run in enumerate(runs, 1):
        train_reference(run, config)
        print(f"\r  {label} ({torch.get_num_threads()} threads) {i}/{len(runs)}", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return time.perf_counter() - start


def _naive_in_fresh_process(steps: int, seeds: int) -> float:
    env = {**os.environ, "RICHNEURON_UNPINNED": "1"}
    for key in ("MKL_CBWR", "ATEN_CPU_CAPABILITY", "TORCHINDUCTOR_CPP_MARCH"):
        env.pop(key, None)  # PyTorch's defaults, not ours
    out = subprocess.run(
        [sys.executable, __file__, "--steps", str(steps), "--seeds", str(seeds), "--naive-only"],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--naive-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import richneuron  # noqa: F401  (pins the arithmetic unless RICHNEURON_UNPINNED=1)
    from richneuron.config import TrainConfig

    steps = args.steps or TrainConfig().steps
    if args.naive_only:  # the child process of _naive_in_fresh_process
        print(json.dumps({"seconds": _naive(steps, args.seeds, "naive, defaults")}))
        return

    import torch

    from richneuron.trainer import train_runs

    runs = _runs(args.seeds)
    print(f"workload: {len(runs)} runs ({', '.join(ARCHS)} x {', '.join(TASKS)} x "
          f"{args.seeds} seeds), {steps} full-batch steps, {os.cpu_count()} cores")
    default = _naive_in_fresh_process(steps, args.seeds)
    pinned = _naive(steps, args.seeds, "naive, pinned")
    threads = torch.get_num_threads()
    config = TrainConfig(steps=steps)
    times = []
    for label in ("library, first pass (compiles)", "library, steady state"):
        start = time.perf_counter()
        train_runs(runs, config)
        times.append(time.perf_counter() - start)
        print(f"  {label}: {times[-1]:.1f} s", file=sys.stderr)

    first, steady = times
    print(f"naive, PyTorch defaults (own process): {default:7.1f} s")
    print(f"naive, pinned ({threads} threads, this process): {pinned:7.1f} s")
    print(f"library, including compile:            {first:7.1f} s")
    print(f"library, steady state:                 {steady:7.1f} s")
    print(f"ratio vs naive with PyTorch defaults:  {default / steady:5.2f}x steady, "
          f"{default / first:5.2f}x with compile   (headline)")
    print(f"ratio vs naive, pinned:                {pinned / steady:5.2f}x steady, "
          f"{pinned / first:5.2f}x with compile")


if __name__ == "__main__":
    main()
