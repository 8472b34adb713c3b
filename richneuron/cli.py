"""Command line: ``python -m richneuron list``, ``run`` and ``fingerprint``.

    python -m richneuron list
    python -m richneuron run --arch v10 --tasks spiral,complex_4d --seeds 3 --out results.json
    python -m richneuron fingerprint [--out F.json]

``run`` trains every (architecture, task, seed), reusing the run cache, shows a progress bar and
prints a summary table (mean ± std over seeds). A bad value gets one line naming the parameter
and the valid choices, and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .config import TrainConfig
from .matching import BudgetError, match_width
from .neurons import ARCHITECTURES, parse_archs
from .results import ResultSet, RunCache, check_output_path, run_study, save_results
from .tasks import TASKS, parse_tasks
from .trainer import Run

__all__ = ["main", "format_summary"]

DEFAULT_CACHE = ".cache/runs"


class UsageError(ValueError):
    """A bad command-line value; the message names the parameter."""


def _list() -> None:
    print("Architectures (id, chapter, matrices per neuron, equation):")
    for a in ARCHITECTURES.values():
        alias = "" if a.canonical == a.id else f"  [same neuron as {a.canonical}]"
        print(f"  {a.id:<11} {a.chapter:<4} {a.matrices}  {a.equation}{alias}")
    print("\nTasks (id, metric, in -> out, train/test points, formula):")
    for t in TASKS.values():
        print(
            f"  {t.name:<13} {t.metric:<8} {t.in_dim} -> {t.out_dim}  "
            f"{t.n_train}/{t.n_test}  {t.formula}"
        )
        print(f"  {'':<13} train: {t.train_domain}; test: {t.test_domain}")


def _parse(kind: str, parser, value: str):
    try:
        return parser(value)
    except (ValueError, TypeError) as err:
        raise UsageError(f"--{kind}: {err}") from None


def _config(args: argparse.Namespace) -> TrainConfig:
    changes = {
        k: getattr(args, k)
        for k in ("steps", "lr", "budget", "omega", "depth")
        if getattr(args, k) is not None
    }
    try:
        return TrainConfig().replace(**changes)
    except ValueError as err:
        raise UsageError(f"--{str(err).split('=')[0].removeprefix('invalid ')}: {err}") from None


def progress_bar(total_runs: int):
    start = time.perf_counter()
    stream = sys.stderr

    def show(done: int, total: int) -> None:
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (total - done) if done else math.nan
        filled = int(30 * done / total)
        line = (
            f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} runs  "
            f"{elapsed:5.0f} s elapsed, ~{eta:4.0f} s left"
        )
        end = "\n" if done == total or not stream.isatty() else ""
        print(f"\r{line}", end=end, file=stream, flush=True)

    return show


def format_summary(rs: ResultSet) -> str:
    """The summary table of a result set: one row per (architecture, task)."""
    rows = [("arch", "task", "metric", "mean", "std", "seeds", "diverged", "params")]
    for r in rs.summary():
        rows.append(
            (
                r["arch"],
                r["task"],
                r["metric"],
                f"{r['mean']:.4g}",
                f"{r['std']:.2g}",
                str(r["n_seeds"]),
                str(r["n_diverged"]),
                str(round(r["params"])),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)


def _run(args: argparse.Namespace) -> None:
    archs = _parse("arch", parse_archs, args.arch)
    tasks = _parse("tasks", parse_tasks, args.tasks)
    if args.seeds < 1:
        raise UsageError(f"--seeds: must be at least 1, got {args.seeds}")
    config = _config(args)
    if args.out:
        _check_out("out", args.out)
    if not args.no_cache and Path(args.cache).exists() and not Path(args.cache).is_dir():
        raise UsageError(f"--cache: {args.cache} is a file, not a directory")
    for arch in archs:  # fail before training anything
        for task in tasks:
            try:
                match_width(arch, task, config.budget_for(task), config)
            except BudgetError as err:
                raise UsageError(f"--budget: {err}") from None
    runs = [Run(a, t, s) for a in archs for t in tasks for s in range(args.seeds)]
    cache = None if args.no_cache else RunCache(args.cache)
    print(
        f"{len(runs)} runs: {', '.join(archs)} x {', '.join(tasks)} x {args.seeds} seeds, "
        f"{config.steps} steps",
        file=sys.stderr,
    )
    rs = run_study(args.name, runs, config, cache, progress=progress_bar(len(runs)))
    print(format_summary(rs))
    if args.out:
        save_results(rs, args.out)
        print(f"wrote {args.out}", file=sys.stderr)


def _check_out(option: str, path: str) -> None:
    try:
        check_output_path(path)
    except ValueError as err:
        raise UsageError(f"--{option}: {err}") from None


def _fingerprint(args: argparse.Namespace) -> int:
    from . import fingerprint as fp

    committed = None
    if not args.out:  # compare: read the committed file before training anything
        try:
            committed = fp.load(args.against)
        except FileNotFoundError:
            raise UsageError(f"--against: {args.against}: no such file") from None
        except ValueError as err:
            raise UsageError(f"--against: {err}") from None
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: must be at least 1, got {args.workers}")
    if args.out:
        _check_out("out", args.out)
    start = time.perf_counter()
    total = len(fp.workload()["archs"]) * len(fp.SEEDS)
    print(
        f"fingerprint: {total // len(fp.SEEDS)} architectures x {len(fp.SEEDS)} seeds on "
        f"{fp.TASK}, {fp.CONFIG.steps} steps",
        file=sys.stderr,
    )
    new = fp.compute(workers=args.workers, progress=progress_bar(total))
    took = time.perf_counter() - start
    if args.out:
        fp.save(new, args.out)
        print(f"wrote {args.out} ({fp.describe_host(new)}, {took:.0f} s)", file=sys.stderr)
        return 0
    lines = fp.differences(committed, new)
    if lines:
        print(
            f"fingerprint differs from {args.against} (made on {fp.describe_host(committed)}; "
            f"this host: {fp.describe_host(new)}):",
            file=sys.stderr,
        )
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"fingerprint matches {args.against} ({took:.0f} s)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m richneuron", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="architectures and tasks, with their equations")
    run = sub.add_parser("run", help="train architectures on tasks and summarise")
    run.add_argument("--arch", required=True, help="ids, comma-separated, or 'all'")
    run.add_argument(
        "--tasks",
        default="all",
        help="ids, comma-separated, 'all', 'standard' or 'generalisation' (default: all)",
    )
    run.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: 3)")
    run.add_argument("--out", help="write the results file here (JSON)")
    run.add_argument("--name", default="cli", help="name stored in the results file")
    run.add_argument("--cache", default=DEFAULT_CACHE, help=f"run cache (default: {DEFAULT_CACHE})")
    run.add_argument("--no-cache", action="store_true", help="train everything afresh")
    for name, kind in (
        ("steps", int),
        ("lr", float),
        ("budget", int),
        ("omega", float),
        ("depth", int),
    ):
        run.add_argument(
            f"--{name}",
            type=kind,
            help=f"override TrainConfig.{name} (default: {getattr(TrainConfig(), name)})",
        )
    fp = sub.add_parser(
        "fingerprint",
        help="train the arithmetic fingerprint workload; compare it with the committed one",
    )
    fp.add_argument("--out", help="write the fingerprint here instead of comparing")
    fp.add_argument(
        "--against",
        default="data/arithmetic/fingerprint.json",
        help="the fingerprint to compare with (default: data/arithmetic/fingerprint.json)",
    )
    fp.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: the trainer's; use 1 under qemu-x86_64)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            _list()
        elif args.command == "fingerprint":
            return _fingerprint(args)
        else:
            _run(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are kept in the cache", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``list | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
        return 1
    return 0
