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
3. **the library**: :func:`richneuron.train.pool.train_runs`, its first passes in fresh worker
   processes (as a new notebook kernel or command would start them):

   * **first pass, compiling**: no compiled step kept (an empty ``RICHNEURON_STEP_CACHE``), so
     every worker imports Dynamo and Inductor and traces its steps; Inductor's on-disk cache
     holds the C++ (an untimed pass before fills it, as the first run on a machine would);
   * **first pass, steps kept**: the steps the pass before kept (:mod:`richneuron.train.stepcache`),
     as any later process on this machine finds them;
   * **steady state**: the same call again on those workers.

    python benchmarks/trainer.py [--steps N] [--seeds N]

Prints the times, the ratios and where one chunk's time goes (the compiled step's kernels, of
which the matrix products, Python around each step, and evaluation, logging and set-up). The
target is a steady-state ratio of at least 7 against the naive loop with PyTorch's defaults (the
headline) on 2 cores, and 5 including compilation.
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
    from richneuron.store.schema import Run

    return [Run(a, t, s) for a in ARCHS for t in TASKS for s in range(seeds)]


def _naive(steps: int, seeds: int, label: str) -> float:
    """Seconds to train the workload with the reference loop, one network at a time."""
    import torch

    from richneuron.config import TrainConfig
    from richneuron.train.reference import train_reference

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


def _breakdown(steps: int) -> dict[str, float]:
    """Where one chunk's time goes (SinGLU on nested_2d, three seeds, in this process, its step
    compiled already): seconds in the compiled step's kernels (of which the matrix products,
    ``richneuron::bmm``), in Python around each step (flattening the arguments into the
    compiled C++ function's and its results back, :class:`richneuron.train.stepcache.Direct`), and
    in
    the rest of the chunk (data, network, the eager evaluations of the test
    curve, diagnostics and gradient norms every ``log_every`` steps, the final metrics). The
    kernels' and Python's shares are measured under cProfile, the products' under PyTorch's
    profiler (their time over the profiled chunk's wall time), each as a share applied to the
    plain time."""
    import cProfile
    import pstats

    from torch.profiler import ProfilerActivity, profile

    from richneuron.config import TrainConfig
    from richneuron.store.schema import Run
    from richneuron.train import steps, trainer
    from richneuron.train.stepcache import Direct
    from richneuron.train.trainer import train_chunk

    runs = [Run("singlu", "nested_2d", s) for s in range(3)]
    config = TrainConfig(steps=steps)
    train_chunk(runs, config)  # compile
    in_step = [0.0]
    compiled = trainer._compiled_step  # train_chunk's own name for it

    class Timed:  # the step function, each call timed (the loop calls it, then .fast)
        def __init__(self, step):
            self.step = step

        def __call__(self, *args):
            return self._timed(self.step, *args)

        def fast(self, *args):
            return self._timed(self.step.fast, *args)

        def __getattr__(self, name):  # the rest of the step's interface (its stance)
            return getattr(self.step, name)

        def _timed(self, fn, *args):
            t = time.perf_counter()
            out = fn(*args)
            in_step[0] += time.perf_counter() - t
            return out

    def timed(*args, **kwargs):
        return Timed(compiled(*args, **kwargs))

    trainer._compiled_step = timed
    try:
        start = time.perf_counter()
        train_chunk(runs, config)
        total = time.perf_counter() - start
    finally:
        trainer._compiled_step = compiled
    prof = cProfile.Profile()
    prof.enable()
    train_chunk(runs, config)
    prof.disable()
    stats = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, ...)
    if not isinstance(next(iter(steps._STEPS.values()))._direct, Direct):
        raise RuntimeError("the step is not called directly: the breakdown measures that call")
    kernels = sum(v[2] for k, v in stats.items() if "inductor_entry" in k[2])
    steps_cum = sum(
        v[3] for k, v in stats.items() if k[0].endswith("stepcache.py") and k[2] == "fast"
    )
    kernel_share = kernels / steps_cum if steps_cum else 0.0
    with profile(activities=[ProfilerActivity.CPU]) as p:
        start = time.perf_counter()
        train_chunk(runs, config.replace(steps=min(steps, 300)))
        profiled = time.perf_counter() - start
    events = p.key_averages()
    # The products' share of the profiled chunk's wall time (the fused kernels of a direct
    # step call are no profiler events, so a share of the events' time would overstate it).
    bmm = sum(e.self_cpu_time_total for e in events if e.key == "richneuron::bmm") / 1e6
    return {
        "chunk": total,
        "kernels": in_step[0] * kernel_share,
        "products": total * min(bmm / profiled, 1.0),
        "python": in_step[0] * (1 - kernel_share),
        "rest": total - in_step[0],
    }


def _library(runs: list, config) -> tuple[float, float, float]:
    """Seconds of the library's first pass compiling, its first pass with the steps kept, and
    its steady state (see the module's docstring); each first pass starts fresh workers, which
    take the step cache from the environment."""
    import tempfile

    from richneuron.paths import STEP_CACHE_ENV
    from richneuron.train.pool import close_workers, train_runs

    def timed(label: str) -> float:
        start = time.perf_counter()
        train_runs(runs, config)
        seconds = time.perf_counter() - start
        print(f"  library, {label}: {seconds:.1f} s", file=sys.stderr)
        return seconds

    saved = os.environ.get(STEP_CACHE_ENV)
    try:
        with tempfile.TemporaryDirectory() as warm_up, tempfile.TemporaryDirectory() as kept:
            os.environ[STEP_CACHE_ENV] = warm_up
            close_workers()
            timed("untimed pass (fills Inductor's cache)")
            os.environ[STEP_CACHE_ENV] = kept
            close_workers()
            compiling = timed("first pass, compiling")
            close_workers()
            first_kept = timed("first pass, steps kept")
            steady = timed("steady state")
            close_workers()
    finally:
        if saved is None:
            os.environ.pop(STEP_CACHE_ENV, None)
        else:
            os.environ[STEP_CACHE_ENV] = saved
    return compiling, first_kept, steady


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

    runs = _runs(args.seeds)
    print(f"workload: {len(runs)} runs ({', '.join(ARCHS)} x {', '.join(TASKS)} x "
          f"{args.seeds} seeds), {steps} full-batch steps, {os.cpu_count()} cores")
    default = _naive_in_fresh_process(steps, args.seeds)
    pinned = _naive(steps, args.seeds, "naive, pinned")
    threads = torch.get_num_threads()
    config = TrainConfig(steps=steps)
    compiling, kept, steady = _library(runs, config)
    parts = _breakdown(steps)
    print(f"naive, PyTorch defaults (own process): {default:7.1f} s")
    print(f"naive, pinned ({threads} threads, this process): {pinned:7.1f} s")
    print(f"library, first pass, compiling:        {compiling:7.1f} s")
    print(f"library, first pass, steps kept:       {kept:7.1f} s")
    print(f"library, steady state:                 {steady:7.1f} s")
    print(f"ratio vs naive with PyTorch defaults:  {default / steady:5.2f}x steady, "
          f"{default / compiling:5.2f}x with compile, {default / kept:5.2f}x steps kept"
          "   (headline)")
    print(f"ratio vs naive, pinned:                {pinned / steady:5.2f}x steady, "
          f"{pinned / compiling:5.2f}x with compile, {pinned / kept:5.2f}x steps kept")
    print(f"where the time goes: compile and warm-up {compiling - steady:.1f} s of the first "
          f"pass ({kept - steady:.1f} s with the steps kept); "
          f"one chunk (singlu, nested_2d, 3 seeds, {steps} steps, 1 process) "
          f"{parts['chunk']:.2f} s:")
    for name, label in (
        ("kernels", "compiled step, its kernels"),
        ("products", "  of which matrix products"),
        ("python", "compiled step, Python around it"),
        ("rest", "evaluation, logging, set-up"),
    ):
        print(f"  {label:<34} {parts[name]:6.2f} s  {parts[name] / parts['chunk']:6.1%}")


if __name__ == "__main__":
    main()
