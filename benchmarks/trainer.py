"""Naive one-model-at-a-time training vs the library's batched trainer, side by side.

One fixed workload (vanilla, singlu and v10; nested_2d, spiral and complex_4d; three seeds; the
standard step count) is trained twice in this one process: with the plain reference loop
(``nn.Module`` + ``torch.optim.Adam``, one network at a time) and with
:func:`richneuron.trainer.train_runs`. The library is timed twice: its first pass includes
compiling (from Inductor's on-disk cache where it is warm), the second is steady state.

    python benchmarks/trainer.py [--steps N] [--seeds N]

Prints both times and their ratios. The target is a ratio of at least 3 on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import torch

from richneuron.config import TrainConfig
from richneuron.trainer import Run, train_reference, train_runs

ARCHS = ("vanilla", "singlu", "v10")
TASKS = ("nested_2d", "spiral", "complex_4d")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TrainConfig().steps)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    config = TrainConfig(steps=args.steps)
    runs = [Run(a, t, s) for a in ARCHS for t in TASKS for s in range(args.seeds)]
    print(f"workload: {len(runs)} runs ({', '.join(ARCHS)} x {', '.join(TASKS)} x "
          f"{args.seeds} seeds), {config.steps} full-batch steps, "
          f"{torch.get_num_threads()} threads")

    train_reference(runs[0], config.replace(steps=20))  # warm up MKL and the allocator
    start = time.perf_counter()
    for i, run in enumerate(runs, 1):
        train_reference(run, config)
        print(f"\r  naive {i}/{len(runs)}", end="", flush=True)
    naive = time.perf_counter() - start
    print()

    times = []
    for label in ("library, first pass (compiles)", "library, steady state"):
        start = time.perf_counter()
        train_runs(runs, config)
        times.append(time.perf_counter() - start)
        print(f"  {label}: {times[-1]:.1f} s")

    print(f"naive loop:                      {naive:7.1f} s")
    print(f"library, including compile:      {times[0]:7.1f} s   ratio {naive / times[0]:.2f}x")
    print(f"library, steady state:           {times[1]:7.1f} s   ratio {naive / times[1]:.2f}x")


if __name__ == "__main__":
    main()
