"""A 12-setting sweep against one setting with as many runs, side by side in one process.

Two workloads of the same size, trained one after the other by
:func:`richneuron.train.pool.train_jobs` in this process (one worker, so the two are measured on
the same core under the same conditions):

1. **one setting**: singlu and v10 on nested_2d, spiral and complex_4d, 36 seeds each, all at
   the default ``lr`` and ``omega`` (216 runs);
2. **the sweep**: the same architectures and tasks, 3 seeds, under 12 settings
   (``lr`` in 1e-3, 3e-3, 1e-2 x ``omega`` in 1, 3, 10, 30): 216 runs as well.

Each workload is trained twice. The first pass starts from no compiled step (``steps._STEPS``
emptied, ``torch._dynamo.reset()``, none loaded from :mod:`richneuron.train.stepcache`, as
``RICHNEURON_STEP_CACHE=off`` for this process) and counts the graphs Dynamo compiles; the
second pass is timed, with the steps compiled. Before settings became per-member tensors every
distinct ``lr`` or ``omega`` was a constant of its own graph: the sweep compiled 12 times as many.

    python benchmarks/sweep.py [--steps N]

Prints the graphs compiled and the wall times, and the ratios. The targets (issue 11): the
sweep compiles no more graphs than one setting and takes at most 1.2x its time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ARCHS = ("singlu", "v10")
TASKS = ("nested_2d", "spiral", "complex_4d")
LRS = (1e-3, 3e-3, 1e-2)
OMEGAS = (1.0, 3.0, 10.0, 30.0)
SWEEP_SEEDS = 3


def workloads(steps: int) -> dict[str, list]:
    """The two job lists, ``(run, config)`` each, of the same length."""
    from richneuron.config import TrainConfig
    from richneuron.store.schema import Run

    base = TrainConfig(steps=steps, log_every=max(1, steps // 10))
    settings = [base.replace(lr=lr, omega=om) for lr in LRS for om in OMEGAS]
    seeds = SWEEP_SEEDS * len(settings)
    return {
        "one setting": [(Run(a, t, s), base) for a in ARCHS for t in TASKS for s in range(seeds)],
        "sweep": [
            (Run(a, t, s), c)
            for a in ARCHS
            for t in TASKS
            for c in settings
            for s in range(SWEEP_SEEDS)
        ],
    }


def _graphs() -> int:
    """Graphs Dynamo has compiled in this process so far."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def measure(name: str, jobs: list) -> tuple[int, float, int]:
    """``(graphs compiled, steady-state seconds, chunks)`` of training ``jobs`` here."""
    import torch

    from richneuron.train import pool, steps, trainer

    steps._STEPS.clear()
    torch._dynamo.reset()
    before = _graphs()

    def show(done: int, total: int, label: str) -> None:
        print(f"\r  {name}, {label}: {done}/{total} runs", end="", file=sys.stderr, flush=True)

    pool.train_jobs(jobs, progress=lambda d, t: show(d, t, "compiling pass"), workers=1)
    graphs = _graphs() - before
    print(file=sys.stderr)
    start = time.perf_counter()
    pool.train_jobs(jobs, progress=lambda d, t: show(d, t, "timed pass"), workers=1)
    seconds = time.perf_counter() - start
    print(file=sys.stderr)
    chunks = sum(len(parts) for parts in trainer._groups(jobs))
    return graphs, seconds, chunks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="Adam steps per run (200)")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps: must be at least 1, got {args.steps}")

    import torch

    import richneuron  # noqa: F401  (pins the arithmetic before anything trains)
    from richneuron.paths import STEP_CACHE_ENV

    os.environ[STEP_CACHE_ENV] = "off"  # every step compiled here, so that it can be counted

    jobs = workloads(args.steps)
    n = len(jobs["sweep"])
    print(f"{n} runs each, {args.steps} steps, one process, {torch.get_num_threads()} threads")
    rows = {name: measure(name, js) for name, js in jobs.items()}
    print(f"{'workload':<12} {'graphs':>7} {'chunks':>7} {'seconds':>9}")
    for name, (graphs, seconds, chunks) in rows.items():
        print(f"{name:<12} {graphs:>7} {chunks:>7} {seconds:>9.2f}")
    (g1, t1, _), (g12, t12, _) = rows["one setting"], rows["sweep"]
    time_ratio = t12 / t1
    print(f"graphs, sweep / one setting: {g12} / {g1} (target: no more)")
    print(f"time, sweep / one setting: {time_ratio:.2f}x (target: at most 1.2x)")
    met = g12 <= g1 and time_ratio <= 1.2
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
