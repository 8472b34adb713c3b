"""Results files: atomic save, validating load, provenance (Method chapter).

A *results file* (``data/<chapter>.json``) holds one set of runs as one JSON document::

    {"schema": "richneuron.results/1", "name": ..., "config": {...TrainConfig...},
     "provenance": {...}, "runs": [{"arch", "task", "seed", "widths", "params", "metric",
     "test_metric", "train_loss", "diverged", "diverged_step", "loss_curve", "test_curve",
     "grad_norms", "diagnostics", "wall_time", "extra"}, ...]}

Runs are sorted by ``(arch, task, seed)`` so files diff cleanly. JSON has no NaN: non-finite
floats are stored as the strings ``"nan"``, ``"inf"`` and ``"-inf"``. :func:`load_results`
checks every field and names the file and the field it rejects. What moved between a committed
file and a fresh run is :mod:`richneuron.store.drift`'s; the run cache, one file per trained
run, is :mod:`richneuron.store.cache`'s.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__, stats
from ..arithmetic.determinism import arithmetic, host
from ..config import TrainConfig
from .atomic import atomic_file
from .schema import Run, RunResult

__all__ = [
    "SCHEMA",
    "Decision",
    "check_output_path",
    "decide",
    "git_output",
    "load_results",
    "provenance",
    "read_json",
    "result_from_dict",
    "result_to_dict",
    "results_from_doc",
    "ResultsError",
    "ResultSet",
    "rows_by_key",
    "run_key",
    "save_results",
    "to_jsonable",
    "versus",
    "volatile_free",
    "write_json_atomic",
]

#: Schema id of a results file; bump it when the layout changes.
SCHEMA = "richneuron.results/1"


class ResultsError(ValueError):
    """A results or cache file that does not follow the schema (names the file and field)."""


# ---------------------------------------------------------------------------------------------
# Field checks: each takes a JSON value and where it sits, and returns the Python value.


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _fail(where: str, expected: str, value: object) -> ResultsError:
    shown = f" {value!r}" if isinstance(value, str | int | float) else ""
    return ResultsError(f"{where}: expected {expected}, got {_kind(value)}{shown}")


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "a string", value)
    return value


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, "an integer", value)
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)
    return value


def _num(value: object, where: str) -> float:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, "a number", value)
    return float(value)


def _metric(value: object, where: str) -> str:
    if value not in ("mse", "accuracy"):
        raise _fail(where, "'mse' or 'accuracy'", value)
    return value


def _optional_int(value: object, where: str) -> int | None:
    return None if value is None else _int(value, where)


def _list_of(check: Callable) -> Callable:
    def checked(value: object, where: str) -> list:
        if not isinstance(value, list):
            raise _fail(where, "a list", value)
        return [check(v, f"{where}[{i}]") for i, v in enumerate(value)]

    return checked


def _dict_of(check: Callable) -> Callable:
    def checked(value: object, where: str) -> dict:
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        return {k: check(v, f"{where}[{k!r}]") for k, v in value.items()}

    return checked


_RUN_FIELDS: dict[str, Callable] = {
    "arch": _str,
    "task": _str,
    "seed": _int,
    "widths": _list_of(_int),
    "params": _int,
    "metric": _metric,
    "test_metric": _num,
    "train_loss": _num,
    "diverged": _bool,
    "diverged_step": _optional_int,
    "loss_curve": _list_of(_num),
    "test_curve": _list_of(_num),
    "grad_norms": _dict_of(_list_of(_num)),
    "diagnostics": _dict_of(_list_of(_num)),
    "wall_time": _num,
    "extra": _dict_of(_num),
}
_OPTIONAL_RUN_FIELDS = {"extra": {}}


def _fields(
    doc: object, spec: dict[str, Callable], optional: dict, where: str, sep: str = "."
) -> dict:
    """Check that ``doc`` is an object with exactly the fields of ``spec``; return converted."""
    if not isinstance(doc, dict):
        raise _fail(where, "an object", doc)
    for key in doc:
        if key not in spec:
            raise ResultsError(f"{where}{sep}{key}: unknown field")
    out = {}
    for key, check in spec.items():
        if key not in doc and key in optional:
            out[key] = optional[key]
        elif key not in doc:
            raise ResultsError(f"{where}{sep}{key}: missing field")
        else:
            out[key] = check(doc[key], f"{where}{sep}{key}")
    return out


# ---------------------------------------------------------------------------------------------
# Runs and result sets as JSON.


def to_jsonable(value: object) -> object:
    """``value`` with every non-finite float replaced by ``"nan"``, ``"inf"`` or ``"-inf"``."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def result_to_dict(r: RunResult) -> dict:
    """One run as a JSON-ready object of the schema (non-finite floats as strings)."""
    d = {
        "arch": r.run.arch,
        "task": r.run.task,
        "seed": r.run.seed,
        "widths": list(r.widths),
        "params": r.params,
        "metric": r.metric,
        "test_metric": float(r.test_metric),
        "train_loss": float(r.train_loss),
        "diverged": bool(r.diverged),
        "diverged_step": r.diverged_step,
        "loss_curve": list(r.loss_curve),
        "test_curve": list(r.test_curve),
        "grad_norms": r.grad_norms,
        "diagnostics": r.diagnostics,
        "wall_time": float(r.wall_time),
        "extra": r.extra,
    }
    return to_jsonable(d)


def result_from_dict(d: object, where: str = "run") -> RunResult:
    """The :class:`RunResult` of a schema object; :class:`ResultsError` naming ``where.field``."""
    f = _fields(d, _RUN_FIELDS, _OPTIONAL_RUN_FIELDS, where)
    run = Run(f.pop("arch"), f.pop("task"), f.pop("seed"))
    return RunResult(run=run, **f)


def run_key(r: RunResult) -> tuple[str, str, int]:
    return (r.run.arch, r.run.task, r.run.seed)


@dataclass
class ResultSet:
    """One results file in memory: a named set of runs under one training protocol."""

    name: str
    config: dict
    provenance: dict
    runs: list[RunResult]

    def get(self, arch: str, task: str, seed: int) -> RunResult:
        """The run ``(arch, task, seed)``; ``KeyError`` if absent."""
        for r in self.runs:
            if run_key(r) == (arch, task, seed):
                return r
        raise KeyError(f"{self.name}: no run ({arch!r}, {task!r}, seed {seed})")

    def select(self, arch: str | None = None, task: str | None = None) -> list[RunResult]:
        """Runs of ``arch`` and/or ``task`` (``None``: any), sorted by (arch, task, seed)."""
        return sorted(
            (r for r in self.runs if arch in (None, r.run.arch) and task in (None, r.run.task)),
            key=run_key,
        )

    def recording(
        self, arch: str, keys: Sequence[str], task: str | None = None
    ) -> list[RunResult]:
        """Runs of ``arch`` (on ``task``) that record every diagnostic of ``keys``.

        Raises:
            ValueError: naming the architecture and the keys, if there is none.
        """
        runs = [r for r in self.select(arch, task) if all(k in r.diagnostics for k in keys)]
        if not runs:
            shown = ", ".join(map(repr, keys[:2])) + (", ..." if len(keys) > 2 else "")
            raise ValueError(f"{self.name}: no run of {arch!r} records diagnostic {shown}")
        return runs

    def summary(self) -> list[dict]:
        """One row per (arch, task): the test metric over seeds that did not diverge.

        Rows have ``arch, task, metric, n_seeds, n_diverged, mean, std`` (sample std, ``ddof=1``;
        0.0 for one seed; ``mean`` and ``std`` NaN when every seed diverged), ``low, high`` (the
        95% bootstrap interval of the mean; NaN with fewer than two seeds that did not diverge),
        ``values`` (those seeds' test metrics, in seed order), ``params`` (mean over all seeds)
        and ``widths`` (of the first seed).

        An MSE's ``mean`` is the geometric mean over seeds, with the interval of
        :func:`richneuron.stats.log_mean_interval` (MSEs are compared on the log scale, so a
        ratio of two rows' means is the ratio :func:`richneuron.stats.compare` reports); an
        accuracy's is the arithmetic mean, with :func:`richneuron.stats.mean_interval`'s.
        """
        groups: dict[tuple[str, str], list[RunResult]] = {}
        for r in sorted(self.runs, key=run_key):
            groups.setdefault((r.run.arch, r.run.task), []).append(r)
        rows = []
        for (arch, task), rs in groups.items():
            ok = [r.test_metric for r in rs if not r.diverged]
            mean, ci = _centre(ok, rs[0].metric)
            std = statistics.stdev(ok) if len(ok) > 1 else (0.0 if ok else math.nan)
            rows.append(
                {
                    "arch": arch,
                    "task": task,
                    "metric": rs[0].metric,
                    "n_seeds": len(rs),
                    "n_diverged": len(rs) - len(ok),
                    "mean": mean,
                    "std": std,
                    "low": ci.low if ci else math.nan,
                    "high": ci.high if ci else math.nan,
                    "values": ok,
                    "params": statistics.fmean(r.params for r in rs),
                    "widths": list(rs[0].widths),
                }
            )
        return rows

    def summary_by_key(self) -> dict[tuple[str, str], dict]:
        """The rows of :meth:`summary` keyed by ``(arch, task)``."""
        return rows_by_key(self.summary())


def _centre(values: list[float], metric: str) -> tuple[float, stats.Interval | None]:
    """The mean of one (arch, task)'s seeds and its interval (None with fewer than two): the
    geometric mean of MSEs (NaN, and no interval, if one is not positive), the arithmetic mean
    of anything else."""
    if not values:
        return math.nan, None
    if metric != "mse":
        return statistics.fmean(values), stats.mean_interval(values) if len(values) > 1 else None
    mean = stats.geometric_mean(values)
    if len(values) < 2 or not math.isfinite(mean):
        return mean, None
    return mean, stats.log_mean_interval(values)


def rows_by_key(rows: Sequence[dict]) -> dict[tuple[str, str], dict]:
    """Summary rows (:meth:`ResultSet.summary`, or rows like them) keyed by ``(arch, task)``."""
    return {(r["arch"], r["task"]): r for r in rows}


def versus(a: dict, b: dict):
    """Summary row ``a`` against ``b`` by the book's one rule: ``(interval, outcome)``, the
    interval :func:`richneuron.stats.compare` of their seeds' test metrics (a ratio of MSEs on
    the log scale, a difference of accuracies), the outcome +1 (``a`` better beyond noise), -1
    (``b`` better beyond noise) or 0 (within noise). A side whose every seed diverged loses to
    a side with at least two seeds that did not; with fewer than two a side, 0.
    """
    interval = stats.compare(a["values"], b["values"], a["metric"])
    result = stats.outcome(interval)
    if not b["values"] and len(a["values"]) > 1:  # b diverged on every seed
        result = 1
    elif not a["values"] and len(b["values"]) > 1:
        result = -1
    return interval, result


@dataclass(frozen=True)
class Decision:
    """One comparison of a family (:func:`decide`): ``interval`` (:func:`richneuron.stats
    .compare`), ``p`` (:func:`richneuron.stats.permutation_p`; NaN where a side has fewer than
    two usable seeds), ``outcome`` (+1, -1 beyond noise, 0 within), ``alone`` (the outcome
    the interval alone would give: what the correction can remove) and ``detectable``
    (:func:`richneuron.stats.detectable`: the smallest difference these seeds would find)."""

    interval: stats.Interval
    p: float
    outcome: int
    alone: int
    detectable: float


def decide(pairs: Sequence[tuple[dict, dict]]) -> list[Decision]:
    """A family of comparisons of summary rows ``(a, b)`` (:meth:`ResultSet.summary`), decided
    together: a comparison is beyond noise when its interval excludes no difference
    (:func:`versus`) *and* its permutation p-value is a discovery of the family at
    :data:`richneuron.stats.FALSE_DISCOVERY_RATE` (:func:`richneuron.stats.discoveries`), so
    the correction can only remove calls. A side whose every seed diverged loses outside the
    family (no p-value: there is nothing to permute)."""
    first = [versus(a, b) for a, b in pairs]
    pvalues = [_p_value(a, b) for a, b in pairs]
    found = stats.discoveries(pvalues)
    out = []
    for (a, b), (interval, alone), p, hit in zip(pairs, first, pvalues, found):
        diverged = not a["values"] or not b["values"]
        outcome = alone if diverged or hit else 0
        detectable = stats.detectable(a["values"], b["values"], a["metric"])
        out.append(Decision(interval, p, outcome, alone, detectable))
    return out


def _p_value(a: dict, b: dict) -> float:
    x, y = a["values"], b["values"]
    if a["metric"] == "mse":
        x, y = [v for v in x if v > 0], [v for v in y if v > 0]
    if len(x) < 2 or len(y) < 2:
        return math.nan
    return stats.permutation_p(x, y, a["metric"])


def write_json_atomic(path: Path, doc: object) -> None:
    """Write ``doc`` as JSON, all or nothing (see :func:`richneuron.store.atomic.atomic_file`)."""
    with atomic_file(path) as f:
        json.dump(doc, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


def volatile_free(doc: object) -> object:
    """A results document without what changes from build to build for the same bits:
    provenance (time, commit) and wall times."""
    if not isinstance(doc, dict):
        return doc
    runs = doc.get("runs")
    return {
        **{k: v for k, v in doc.items() if k not in ("provenance", "runs")},
        "runs": [
            {k: v for k, v in r.items() if k != "wall_time"} if isinstance(r, dict) else r
            for r in runs
        ]
        if isinstance(runs, list)
        else runs,
    }


def check_output_path(path: str | os.PathLike) -> Path:
    """Refuse, before any work, a results path that cannot be written as a file.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: ``path`` is an existing directory, or a parent of it is an existing file.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give a file name, e.g. {path / 'results.json'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{path}: {parent} is a file, not a directory")
            break
    return path


def save_results(rs: ResultSet, path: str | os.PathLike, keep_same: bool = False) -> bool:
    """Write ``rs`` to ``path`` atomically: a reader sees the old file or the new one, whole.

    Runs are written sorted by (arch, task, seed); parent folders are created. With
    ``keep_same``, an existing file that holds exactly the same results (every field but the
    provenance and wall times) is left untouched, so rebuilding the book does not rewrite
    committed results that did not change.

    Returns:
        Whether the file was written.
    """
    path = Path(path)
    doc = {
        "schema": SCHEMA,
        "name": rs.name,
        "config": to_jsonable(rs.config),
        "provenance": to_jsonable(rs.provenance),
        "runs": [result_to_dict(r) for r in sorted(rs.runs, key=run_key)],
    }
    if keep_same and path.exists():
        try:
            old = read_json(path)
        except (OSError, ResultsError):
            old = None
        # Through JSON, so that the new document compares as it would be read back.
        new = json.loads(json.dumps(doc, allow_nan=False))
        if volatile_free(old) == volatile_free(new):
            return False
    write_json_atomic(path, doc)
    return True


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: not valid JSON: {e}") from None


_TOP_FIELDS = {
    "schema": _str,
    "name": _str,
    "config": _dict_of(lambda v, w: v),
    "provenance": _dict_of(lambda v, w: v),
    "runs": _list_of(lambda v, w: v),
}


def load_results(path: str | os.PathLike) -> ResultSet:
    """Read and check a results file.

    Raises:
        ResultsError: naming the file and the field, for invalid JSON, a wrong or missing
            ``schema``, a missing, unknown or mistyped field, or a duplicate (arch, task, seed).
    """
    path = Path(path)
    return results_from_doc(read_json(path), str(path))


def results_from_doc(doc: object, where: str) -> ResultSet:
    """Check a results document (as read from a file) and build its :class:`ResultSet`.

    Raises:
        ResultsError: naming ``where`` and the field (see :func:`load_results`).
    """
    if isinstance(doc, dict) and doc.get("schema") != SCHEMA:
        found = "missing" if "schema" not in doc else f"got {doc['schema']!r}"
        raise ResultsError(f"{where}: schema: expected {SCHEMA!r}, {found}")
    top = _fields(doc, _TOP_FIELDS, {}, where, sep=": ")
    unknown = set(top["config"]) - set(TrainConfig.field_names())
    if unknown:
        raise ResultsError(f"{where}: config.{sorted(unknown)[0]}: unknown setting")
    try:
        TrainConfig(**top["config"])
    except (TypeError, ValueError) as e:
        raise ResultsError(f"{where}: config: {e}") from None
    runs, seen = [], {}
    for i, d in enumerate(top["runs"]):
        r = result_from_dict(d, f"{where}: runs[{i}]")
        if run_key(r) in seen:
            raise ResultsError(
                f"{where}: runs[{i}]: duplicate run {run_key(r)} (also runs[{seen[run_key(r)]}])"
            )
        seen[run_key(r)] = i
        runs.append(r)
    return ResultSet(top["name"], top["config"], top["provenance"], runs)


# ---------------------------------------------------------------------------------------------
# Provenance.


def git_output(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def provenance() -> dict:
    """Where and how results were made: versions, git commit, threads, MKL mode, the host (CPU
    vendor and model, MKL version, compiler, C library), UTC time."""
    import numpy
    import torch

    dirty = git_output("status", "--porcelain")
    settings = arithmetic()
    return {
        "package_version": __version__,
        "git_commit": git_output("rev-parse", "HEAD") or "unknown",
        "git_dirty": None if dirty is None else bool(dirty),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "threads": settings["threads"],  # of each training process
        "mkl_cbwr": os.environ.get("MKL_CBWR"),
        "arithmetic": settings,
        "host": host(),  # CPU vendor and model, MKL version and mode, compiler, C library
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
