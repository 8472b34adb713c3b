"""Training time per step of every architecture, in the pinned arithmetic (the Scaling
chapter's time axis; issue 34).

Each architecture trains alone (one network, one seed) on nested_2d (500 points, 2 inputs) under
the chapters' protocol, with the library's compiled trainer in this process, at
``SHORT`` and then ``LONG`` steps; the time per step is the difference of the two runs' wall
times over the difference of their steps, so what a run does once (building, compiling,
evaluating, logging) cancels. Before the two timed runs, one untimed run compiles the step. The
panel of the multiverse is timed at every budget of the scaling sweeps, every other architecture
at the chapters' budget.

    python benchmarks/step_time.py [--out data/cost/step-time.json] [--archs a,b] [--budgets 5000]

Prints one line per (architecture, budget) and writes the table, with the host, to ``--out``
(atomically). Times are this machine's: the chapter prints the CPU they were measured on. Run it
alone: anything else on the cores changes the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

SHORT, LONG = 200, 1000
TASK = "nested_2d"
BUDGETS = (1000, 2000, 5000, 10000, 20000, 50000)
#: The 1K budget's tolerance, as the scaling sweep's (sweeps/scaling-1k.yaml).
SMALL_TOLERANCE = 0.05


def main(argv: list[str] | None = None) -> int:
    from richneuron.analysis.multiverse import PANEL
    from richneuron.architectures import BOOK_ARCHS
    from richneuron.arithmetic.determinism import host
    from richneuron.config import TrainConfig
    from richneuron.store.atomic import atomic_file
    from richneuron.store.schema import Run
    from richneuron.train.trainer import train_chunk

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/cost/step-time.json")
    parser.add_argument("--archs", help="ids, comma-separated (default: every architecture)")
    parser.add_argument("--budgets", help="budgets, comma-separated (default: the panel's six)")
    args = parser.parse_args(argv)
    archs = args.archs.split(",") if args.archs else list(BOOK_ARCHS)
    budgets = tuple(int(b) for b in args.budgets.split(",")) if args.budgets else BUDGETS
    rows = []
    for arch in archs:
        for budget in budgets if arch in PANEL else (5000,):
            if budget not in budgets:
                continue
            tolerance = SMALL_TOLERANCE if budget < 2000 else TrainConfig().tolerance
            base = TrainConfig(budget=budget, tolerance=tolerance)
            run = Run(arch, TASK, 0)
            train_chunk([run], base.replace(steps=SHORT))  # compiles the step
            walls = {}
            for steps in (SHORT, LONG):
                start = time.perf_counter()
                (result,) = train_chunk([run], base.replace(steps=steps))
                walls[steps] = time.perf_counter() - start
            per_step = (walls[LONG] - walls[SHORT]) / (LONG - SHORT)
            rows.append(
                {"arch": arch, "task": TASK, "budget": budget, "params": result.params,
                 "seconds_per_step": per_step}
            )
            print(f"{arch:<17} {budget:>6,} {result.params:>6,} {per_step * 1e3:8.3f} ms/step",
                  flush=True)
    doc = {"task": TASK, "steps": [SHORT, LONG], "host": host(), "rows": rows}
    with atomic_file(args.out) as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
