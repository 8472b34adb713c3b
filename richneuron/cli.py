"""Command line: ``python -m richneuron list``, ``run``, ``sweep``, ``calibrate`` and
``fingerprint``.

    python -m richneuron list
    python -m richneuron run --arch v10 --tasks spiral,complex_4d --seeds 3 --out results.json
    python -m richneuron sweep SPEC.yaml --out sweep.json
    python -m richneuron sweep --arch singlu,v10 --tasks all --seeds 3 \
        --grid lr=1e-3,3e-3,1e-2 --grid omega=1,3,10,30 --out sweep.json
    python -m richneuron sweep SPEC.yaml --dask 4 --out sweep.json        # 4 Dask workers here
    python -m richneuron sweep SPEC.yaml --scheduler tcp://HOST:8786 --out sweep.json
    python -m richneuron calibrate          # the Tasks chapter's calibration (its probes)
    python -m richneuron fingerprint [--out F.json]

``run`` trains every (architecture, task, seed), reusing the run cache, shows a progress bar and
prints a summary table (mean, its 95% bootstrap interval and std over seeds). ``sweep`` does the
same over a grid of settings (:class:`richneuron.experiments.study.Sweep`). Both train on this
machine's worker processes, or with ``--dask N`` on a local Dask cluster of N workers, or with
``--scheduler ADDRESS`` on an existing Dask cluster (:mod:`richneuron.train.cluster`). A bad value
gets one line naming the parameter and the valid choices, and exit status 2, before anything trains.
SIGTERM (``kill``, ``timeout``, a batch scheduler) stops like Ctrl-C: the worker processes (of the
pool or of a local Dask cluster) are stopped, finished runs stay in the run cache, and no partial
output file is written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from .architectures import parse_archs
from .config import TrainConfig
from .experiments import calibration
from .experiments.specs import SweepError
from .experiments.study import (
    Sweep,
    check_sweep_output,
    load_spec,
    load_sweep,
    run_study,
    run_sweep,
    save_sweep,
)
from .experiments.tuning import Around, Tuning
from .experiments.tuning_results import format_choices
from .neurons import ARCHITECTURES
from .neurons.matching import BudgetError, match_width
from .paths import SWEEP_DIR
from .progress import progress_bar
from .report.book import load_published
from .store.cache import RunCache
from .store.results import ResultsError, ResultSet, check_output_path, save_results
from .store.schema import Run
from .tables import summary_cells, text_columns
from .tasks import KNOBS, REAL_TASKS, TASKS, parse_tasks
from .train import fingerprint as fp
from .train.cluster import ClusterError, DaskBackend, SchedulerLost

__all__ = ["main", "format_summary"]

DEFAULT_CACHE = ".cache/runs"


class UsageError(ValueError):
    """A bad command-line value; the message names the parameter."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as an interrupt: the trainer stops its workers on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def _list() -> None:
    print("Architectures (id, chapter, matrices per neuron, equation):")
    for a in ARCHITECTURES.values():
        alias = "" if a.canonical == a.id else f"  [same neuron as {a.canonical}]"
        print(f"  {a.id:<16} {a.chapter:<8} {a.matrices:<2}  {a.equation}{alias}")
    print("\nTasks (id, metric, in -> out, train/test points, formula):")
    for t in TASKS.values():
        print(
            f"  {t.name:<13} {t.metric:<8} {t.in_dim} -> {t.out_dim}  "
            f"{t.n_train}/{t.n_test}  {t.formula}"
        )
        print(f"  {'':<13} train: {t.train_domain}; test: {t.test_domain}")
    print(
        "\nRandom-data tasks (capacity chapter; N points, K classes, scored on the same points):\n"
        "  random_reg_n<N>      mse      8 -> 4  x ~ N(0, I_8), y ~ N(0, I_4), independent\n"
        "  random_k<K>_n<N>     accuracy 8 -> 1 (K = 2) or K  labels uniform on K classes"
    )
    print("\nReal data sets (scikit-learn's, bundled; seeded split, standardised):")
    for t in REAL_TASKS.values():
        print(f"  {t.name:<13} {t.metric:<8} {t.in_dim} -> {t.out_dim}  {t.n_train}/{t.n_test}")
    print("\nDifficulty knobs (a task at other values: <task>@<knob>=<value>, e.g. "
          "checkerboard@freq=5):")
    for base, (knobs, _) in KNOBS.items():
        for k in knobs:
            print(f"  {base:<13} {k.name:<6} {k.default:g} (range {k.low:g} to {k.high:g}): "
                  f"{k.doc}")


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


_SUMMARY_HEADER = ("arch", "task", "metric", "mean", "ci95", "std", "seeds", "diverged")


def format_summary(rs: ResultSet) -> str:
    """The summary table of a result set: one row per (architecture, task)."""
    rows = [(*_SUMMARY_HEADER, "params")]
    rows += [(*summary_cells(r), str(round(r["params"]))) for r in rs.summary()]
    return text_columns(rows)


def _run(args: argparse.Namespace) -> None:
    archs = _parse("arch", parse_archs, args.arch)
    tasks = _parse("tasks", parse_tasks, args.tasks)
    if args.seeds < 1:
        raise UsageError(f"--seeds: must be at least 1, got {args.seeds}")
    config = _config(args)
    if args.out:
        _check_out("out", args.out)
    _check_cache(args)
    _check_backend(args)
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
    with _backend(args) as backend, progress_bar() as bar:
        rs = run_study(args.name, runs, config, cache, progress=bar, backend=backend)
    print(format_summary(rs))
    if args.out:
        save_results(rs, args.out)
        print(f"wrote {args.out}", file=sys.stderr)


def _grid_entry(text: str) -> tuple[str, list]:
    """``lr=1e-3,3e-3`` -> ``("lr", [0.001, 0.003])`` (integers stay integers)."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--grid {text}: expected FIELD=V1,V2,... (e.g. lr=1e-3,3e-3)")
    parsed = []
    for item in values.split(","):
        item = item.strip()
        try:
            parsed.append(int(item))
        except ValueError:
            try:
                parsed.append(float(item))
            except ValueError:
                raise UsageError(f"--grid {text}: {item!r} is not a number") from None
    return name.strip(), parsed


def _sweep_spec(args: argparse.Namespace) -> Sweep:
    if args.spec and args.arch:
        raise UsageError("--arch: give a spec file or --arch (with --grid), not both")
    if not args.spec and not args.arch:
        raise UsageError("spec: give a spec file (SPEC.yaml) or --arch")
    try:
        if args.spec:
            if args.grid:
                raise UsageError("--grid: the spec file holds the grid; drop --grid")
            return load_spec(args.spec)
        grid: dict[str, list] = {}
        for entry in args.grid or []:
            name, values = _grid_entry(entry)
            if name in grid:
                raise UsageError(f"--grid {entry}: {name} is given twice")
            grid[name] = values
        doc = {
            "name": args.name,
            "archs": args.arch,
            "tasks": args.tasks,
            "seeds": args.seeds,
            "first_seed": args.first_seed,
            "grid": grid,
        }
        return Sweep.from_dict(doc)
    except SweepError as err:
        text = str(err)
        if args.spec:
            raise UsageError(f"spec: {text}") from None
        flags = (
            ("archs", "--arch"),
            ("tasks", "--tasks"),
            ("seeds", "--seeds"),
            ("first_seed", "--first-seed"),
            ("grid.", "--grid "),
        )
        for key, flag in flags:
            if text.startswith(key):
                text = flag + text[len(key) :]
                break
        raise UsageError(text) from None


def format_sweep_summary(result) -> str:
    """The summary table of a sweep: one row per (setting, architecture, task)."""
    varied = result.varied()
    rows = [(*varied, *_SUMMARY_HEADER)]
    for r in result.summary():
        setting = [f"{r[k]:g}" if isinstance(r[k], float) else str(r[k]) for k in varied]
        rows.append((*setting, *summary_cells(r)))
    return text_columns(rows)


def _sweep(args: argparse.Namespace) -> None:
    sweep = _sweep_spec(args)
    if args.out:
        try:
            check_sweep_output(args.out, sweep)
        except SweepError as err:
            raise UsageError(f"--out: {err}") from None
    _check_cache(args)
    _check_backend(args)
    try:
        sweep.check_budgets()
    except SweepError as err:
        raise UsageError(f"spec: {err}" if args.spec else str(err)) from None

    tuning = isinstance(sweep, Tuning)
    print(_describe(sweep), file=sys.stderr)
    tuned, stored = _stored(args, sweep)
    cache = None if args.no_cache else RunCache(args.cache)
    with _backend(args) as backend, progress_bar() as bar:
        result = run_sweep(
            sweep,
            cache,
            progress=lambda done, stored, total: bar(done, total, stored),
            backend=backend,
            stored=stored,
            tuned=tuned,
        )
    print(format_choices(result) if tuning else format_sweep_summary(result))
    print(
        f"{result.trained} runs trained, {result.from_store} taken from the store",
        file=sys.stderr,
    )
    if args.out:
        save_sweep(result, args.out)
        print(f"wrote {args.out}", file=sys.stderr)


def _calibrate(args: argparse.Namespace) -> None:
    out = calibration.OUT
    _check_cache(args)
    _check_backend(args)
    try:
        stored = load_sweep(out) if out.is_file() else None
        published = load_published()
    except ResultsError as err:
        raise UsageError(f"stored: {err}") from None
    cache = None if args.no_cache else RunCache(args.cache)
    with _backend(args) as backend, progress_bar() as bar:
        result, cals = calibration.run_calibration(
            published,
            cache,
            stored,
            progress=lambda done, stored, total: bar(done, total, stored),
            backend=backend,
        )
    for c in cals:
        chosen = c.chosen.task if c.chosen else "none"
        print(f"{c.target.task}: {c.status}, {len(c.probes)} probes, chosen {chosen}")
    save_sweep(result, out)
    calibration.write_spec(result)
    print(f"{result.trained} runs trained; wrote {out} and {calibration.SPEC}", file=sys.stderr)


def _describe(sweep: Sweep) -> str:
    """The line a sweep or a tuning starts with: how many runs, and of what."""
    if isinstance(sweep, Tuning):
        return (
            f"tuning {sweep.name!r}: {sweep.size()} runs: {len(sweep.archs)} architectures x "
            f"{len(sweep.tasks)} tasks x ({sweep.trials} trials on {sweep.validation:.0%} of "
            f"the training points held out + {sweep.seeds} seeds of the chosen setting)"
        )
    n_settings = sum(len(sweep.settings(a)) for a in sweep.archs)
    return (
        f"sweep {sweep.name!r}: {sweep.size()} runs: {len(sweep.archs)} architectures, "
        f"{n_settings} (architecture, setting) pairs, {len(sweep.tasks)} tasks, "
        f"{sweep.seeds} seeds ({sweep.first_seed}..{sweep.seed_range[-1]})"
    )


def _stored(args: argparse.Namespace, sweep: Sweep) -> tuple:
    """What a sweep reads before it trains: an around-sweep's tuning results (beside its own
    results file), and ``--out`` where it exists (the results file is the store, grown or not);
    ``None`` for either where there is none. A file that does not load is a usage error."""
    tuned = stored = None
    if isinstance(sweep, Around):
        where = Path(args.out).parent if args.out else Path(SWEEP_DIR)
        try:
            tuned = load_sweep(where / f"{sweep.around}.json")
        except (OSError, ResultsError) as err:
            raise UsageError(f"spec: around: {err}") from None
    if args.out and Path(args.out).is_file():
        try:
            stored = load_sweep(args.out)
        except ResultsError as err:
            raise UsageError(f"--out: {err}") from None
    return tuned, stored


def _check_backend(args: argparse.Namespace) -> None:
    if args.dask is not None and args.scheduler is not None:
        raise UsageError("--dask and --scheduler: give one (a local cluster or an existing one)")
    if args.dask is not None and args.dask < 1:
        raise UsageError(f"--dask: must be at least 1 worker, got {args.dask}")
    if args.scheduler is not None and not args.scheduler.strip():
        raise UsageError("--scheduler: give an address such as tcp://HOST:8786")


def _backend(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """The Dask backend the options ask for (closed on the way out), or none."""
    if args.scheduler is not None:
        try:
            backend = DaskBackend.connect(args.scheduler)
        except ClusterError as err:
            raise UsageError(str(err)) from None
    elif args.dask is not None:
        backend = DaskBackend.local(args.dask)
    else:
        return contextlib.nullcontext()
    print(f"Dask: {len(backend.workers)} workers ({backend.client.scheduler.address})",
          file=sys.stderr)
    return backend


def _lost_scheduler(err: SchedulerLost, args: argparse.Namespace) -> str:
    """The one line for a Dask scheduler lost mid-training: what is kept, and how to go on."""
    n = err.finished
    runs = f"the {n} run{'' if n == 1 else 's'} finished until then"
    if args.no_cache:
        kept = f"{runs} {'is' if n == 1 else 'are'} not kept (--no-cache)"
        return f"lost the Dask scheduler {err.address}: {kept}; run the command again to retrain"
    if n == 0:
        kept = f"no run had finished (run cache: {args.cache})"
    else:
        kept = f"{runs} {'is' if n == 1 else 'are'} kept in the run cache ({args.cache})"
    return f"lost the Dask scheduler {err.address}: {kept}; run the same command again to resume"


def _check_cache(args: argparse.Namespace) -> None:
    if not args.no_cache and Path(args.cache).exists() and not Path(args.cache).is_dir():
        raise UsageError(f"--cache: {args.cache} is a file, not a directory")


def _check_out(option: str, path: str) -> None:
    try:
        check_output_path(path)
    except ValueError as err:
        raise UsageError(f"--{option}: {err}") from None


def _fingerprint(args: argparse.Namespace) -> int:
    committed = None
    against = args.against or str(fp.SMALL_PATH if args.small else fp.FINGERPRINT_PATH)
    if not args.out:  # compare: read the committed file before training anything
        try:
            committed = fp.load(against)
        except FileNotFoundError:
            raise UsageError(f"--against: {against}: no such file") from None
        except ValueError as err:
            raise UsageError(f"--against: {err}") from None
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: must be at least 1, got {args.workers}")
    if args.out:
        _check_out("out", args.out)
    start = time.perf_counter()
    work = fp.workload(args.small)
    print(
        f"fingerprint{' (small)' if args.small else ''}: {len(work['archs'])} architectures x "
        f"{len(fp.SEEDS)} seeds on {fp.TASK} and {len(fp.LOSS_PATHS)} capacity losses, "
        f"{work['config']['steps']} steps",
        file=sys.stderr,
    )
    with progress_bar() as bar:
        new = fp.compute(workers=args.workers, progress=bar, small=args.small)
    took = time.perf_counter() - start
    if args.out:
        fp.save(new, args.out)
        print(f"wrote {args.out} ({fp.describe_host(new)}, {took:.0f} s)", file=sys.stderr)
        return 0
    lines = fp.differences(committed, new)
    if lines:
        print(
            f"fingerprint differs from {against} (made on {fp.describe_host(committed)}; "
            f"this host: {fp.describe_host(new)}):",
            file=sys.stderr,
        )
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"fingerprint matches {against} ({took:.0f} s)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m richneuron", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="architectures and tasks, with their equations")
    _add_run(sub.add_parser("run", help="train architectures on tasks and summarise"))
    _add_sweep(
        sub.add_parser(
            "sweep",
            help="train architectures x tasks x seeds x a grid of settings (a spec file or flags)",
        )
    )
    cal = sub.add_parser(
        "calibrate",
        help="bisect each task's knob to the published vanilla score (writes the probes' spec "
        "and results)",
    )
    _add_cache(cal)
    _add_cluster(cal)
    _add_fingerprint(
        sub.add_parser(
            "fingerprint",
            help="train the arithmetic fingerprint workload; compare it with the committed one",
        )
    )
    return parser


def _add_run(run: argparse.ArgumentParser) -> None:
    run.add_argument("--arch", required=True, help="ids, comma-separated, or 'all'")
    run.add_argument(
        "--tasks",
        default="all",
        help="ids, comma-separated, 'all', 'standard' or 'generalisation' (default: all)",
    )
    run.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: 3)")
    run.add_argument("--out", help="write the results file here (JSON)")
    run.add_argument("--name", default="cli", help="name stored in the results file")
    _add_cache(run)
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
    _add_cluster(run)


def _add_sweep(sw: argparse.ArgumentParser) -> None:
    sw.add_argument("spec", nargs="?", help="a YAML spec file (see richneuron.experiments.study)")
    sw.add_argument("--arch", help="ids, comma-separated, or 'all' (instead of a spec file)")
    sw.add_argument("--tasks", default="all", help="ids, comma-separated, or a group")
    sw.add_argument("--seeds", type=int, default=5, help="number of seeds (default: 5)")
    sw.add_argument(
        "--first-seed", type=int, default=0, help="seeds S..S+N-1 (default: 0)"
    )
    sw.add_argument(
        "--grid",
        action="append",
        metavar="FIELD=V1,V2",
        help="a TrainConfig field and its values (repeat for more fields)",
    )
    sw.add_argument("--name", default="sweep", help="name stored in the results file")
    sw.add_argument("--out", help="write the sweep's results here (JSON)")
    _add_cache(sw)
    _add_cluster(sw)


def _add_cache(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", default=DEFAULT_CACHE, help=f"run cache (default: {DEFAULT_CACHE})")
    p.add_argument("--no-cache", action="store_true", help="train everything afresh")


def _add_cluster(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dask",
        type=int,
        metavar="N",
        help="train on a local Dask cluster of N single-thread workers",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="train on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:PORT)",
    )


def _add_fingerprint(fp: argparse.ArgumentParser) -> None:
    fp.add_argument("--out", help="write the fingerprint here instead of comparing")
    fp.add_argument(
        "--against",
        default=None,
        help="the fingerprint to compare with (default: data/arithmetic/fingerprint.json, "
        "with --small data/arithmetic/fingerprint-small.json)",
    )
    fp.add_argument(
        "--small",
        action="store_true",
        help="the cross-CPU test's smaller workload (fewer steps and parameters, the same paths)",
    )
    fp.add_argument(
        "--workers",
        type=int,
        help="worker processes (default: the trainer's; use 1 under qemu-x86_64)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        if args.command == "list":
            _list()
        elif args.command == "fingerprint":
            return _fingerprint(args)
        elif args.command == "sweep":
            _sweep(args)
        elif args.command == "calibrate":
            _calibrate(args)
        else:
            _run(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SchedulerLost as err:  # mid-training: the finished runs are in the cache
        start = "\n" if sys.stderr.isatty() else ""  # a tty's progress line has no newline yet
        print(f"{start}error: {_lost_scheduler(err, args)}", file=sys.stderr)
        return 1
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        print("\ninterrupted: finished runs are kept in the cache", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except BrokenPipeError:  # the reader went away (``list | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
        return 1
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    return 0
