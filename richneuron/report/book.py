"""A chapter's tables and verdicts: results tables (:func:`results_table`), the comparison with
the baselines (:func:`compare_to_baseline`, :func:`verdict` and its counts), the published
verdicts and claims in a sentence, and every chapter's results merged (:func:`load_book_data`).

The other helpers of a page sit beside it in :mod:`richneuron.report`: running a chapter
(:mod:`~richneuron.report.chapter`), the Tasks and Method chapters' tables
(:mod:`~richneuron.report.method`), the Synthesis (:mod:`~richneuron.report.synthesis`), the
verdicts on a second set of seeds (:mod:`~richneuron.report.second_opinion`), the related
neurons (:mod:`~richneuron.report.related`) and the figures (:mod:`~richneuron.report.plots`).
Tables are :class:`~richneuron.tables.Markdown` strings (a notebook renders them,
``myst_nb.glue`` stores them as ``text/markdown``), or, for the results tables,
:class:`~richneuron.tables.Table`: HTML in the HTML book, Markdown in PAPER.md, numbers to three
significant figures. The build and the drift gate: ``python -m richneuron.report.bookbuild``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

from ..analysis.claims import PUBLISHED_VERDICTS
from ..analysis.references import (
    NOT_LEARNED,
    NOT_TESTABLE,
    learners,
    reference_text,
    skill_text,
    testable,
)
from ..analysis.rules import NO_SIZE, Facts
from ..config import TrainConfig
from ..formatting import (
    compact,
    format_advantage,
    format_detectable,
    format_interval,
    format_metric,
    format_p,
)
from ..neurons import (
    get_arch,
)
from ..neurons.matching import match_width, width_rows
from ..paths import DATA_DIR
from ..store.results import (
    ResultsError,
    ResultSet,
    decide,
    load_results,
    result_to_dict,
    volatile_free,
)
from ..store.schema import REFERENCE_TITLES, Reference
from ..tables import Cell, Markdown, Table
from ..tasks import TASKS, better
from ..train.predictors import reference_for, references
from .seeds import pool_second

__all__ = [
    "claim_facts",
    "reference_facts",
    "PUBLISHED_PATH",
    "load_published",
    "BASELINES",
    "archs_of",
    "best_of_task",
    "reference_cell",
    "task_references",
    "chapter_tasks",
    "claim_sentence",
    "claim_verdict",
    "compare_to_baseline",
    "config_of",
    "protocol_draw",
    "count_losses",
    "count_untestable",
    "count_ties",
    "count_wins",
    "load_book_data",
    "metric_cell",
    "published_verdict",
    "results_rows",
    "results_table",
    "seed_count",
    "verdict",
]

#: Baselines every version chapter trains beside its own architecture.
BASELINES = ("vanilla", "singlu")


# ---------------------------------------------------------------------------------------------
# Tables and verdicts.


def _format_row(row: dict) -> str:
    n, bad = row["n_seeds"], row["n_diverged"]
    if bad == n:
        return f"diverged ({bad}/{n})"
    metric = row["metric"]
    interval = format_interval(row["low"], row["high"], metric)
    text = f"{format_metric(row['mean'], metric)} {interval}"
    return text + (f" (diverged {bad}/{n})" if bad else "")


def archs_of(rs: ResultSet) -> list[str]:
    """Architectures of ``rs``: the chapter's own first, then the baselines."""
    seen = list(dict.fromkeys(r.run.arch for r in rs.runs))
    return [a for a in seen if a not in BASELINES] + [b for b in BASELINES if b in seen]


def results_rows(rs: ResultSet, archs: Sequence[str] | None = None) -> list[dict[str, str]]:
    """One row per task: ``task``, ``metric``, and ``mean [95% interval]`` over seeds per
    architecture.

    A cell reads ``diverged (k/n)`` when every seed diverged and ends in ``(diverged k/n)`` when
    some did (the mean is over the others); ``-`` when the run is absent.
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
    metrics = {r["task"]: r["metric"] for r in rs.summary()}
    order = list(TASKS)
    rows = []
    for task in sorted(metrics, key=lambda t: order.index(t) if t in order else len(order)):
        row = {"task": task, "metric": metrics[task]}
        for arch in archs:
            s = summary.get((arch, task))
            row[arch] = "-" if s is None else _format_row(s)
        rows.append(row)
    return rows


def task_references(rs: ResultSet) -> dict[str, Reference]:
    """The reference predictors on each task of ``rs``, on the draw its protocol trains on."""
    return references(chapter_tasks(rs), config_of(rs))


def best_of_task(
    summary: dict, archs: Sequence[str], task: str, reference: Reference | None = None
) -> str | None:
    """The architecture with the best mean on ``task``: None when none has a finite mean.
    Given the task's ``reference``, the best of those that beat it beyond noise
    (:func:`richneuron.analysis.references.learners`), None when none does: no winner among
    failures."""
    if reference is not None:
        archs = learners(summary, archs, reference)
    best = None
    for a in archs:
        s = summary.get((a, task))
        if s is None or not math.isfinite(s["mean"]):
            continue
        if best is None or better(s["mean"], summary[(best, task)]["mean"], s["metric"]):
            best = a
    return best


def metric_cell(row: dict | None, bold: bool = False, reference: Reference | None = None) -> Cell:
    """One summary row as a compact table cell: the mean, its 95% bootstrap interval below
    (``[low, high]``), divergence noted, and given the task's ``reference`` the skill score
    (:func:`richneuron.analysis.references.skill_text`).

    Three significant figures (:func:`richneuron.formatting.compact`); ``-`` when absent.
    """
    if row is None:
        return Cell("-")
    n, bad = row["n_seeds"], row["n_diverged"]
    if bad == n:
        return Cell("diverged", note=f"({bad}/{n} seeds)")
    metric = row["metric"]
    low, high = row["low"], row["high"]
    interval = (
        f"[{compact(low, metric)}, {compact(high, metric)}]"
        if math.isfinite(low) and math.isfinite(high)
        else "[no interval]"
    )
    notes = [skill_text(reference, row["mean"]) if reference else "", f"(diverged {bad}/{n})"
             if bad else ""]
    return Cell(
        compact(row["mean"], metric),
        sub=interval,
        bold=bold,
        note=" ".join(n for n in notes if n),
    )


def reference_cell(reference: Reference, learned: bool) -> Cell:
    """The best reference predictor of a task as a table cell: its score, its name below, and
    :data:`~richneuron.analysis.references.NOT_LEARNED` where no network of the table beats it."""
    name, value = reference.best
    return Cell(
        compact(value, reference.metric),
        sub=f"({REFERENCE_TITLES[name]})",
        note="" if learned else f"({NOT_LEARNED})",
    )


def results_table(rs: ResultSet, archs: Sequence[str] | None = None) -> Table:
    """Tasks as rows, architectures as columns: the mean over seeds with its 95% bootstrap
    interval and its skill score, beside the best reference predictor of the task
    (:func:`task_references`); the best mean in bold, where some network beats the reference
    beyond noise (else the reference reads "no network learns this task here").

    Three significant figures; in the HTML book the interval is on a second, smaller line.
    """
    archs = list(archs) if archs is not None else archs_of(rs)
    summary = rs.summary_by_key()
    refs = task_references(rs)
    rows = []
    for row in results_rows(rs, archs):
        task = row["task"]
        ref = refs[task]
        best = best_of_task(summary, archs, task, ref)
        cells = [metric_cell(summary.get((a, task)), a == best, ref) for a in archs]
        learned = bool(learners(summary, archs, ref))
        rows.append([task, row["metric"], reference_cell(ref, learned), *cells])
    return Table(["task", "metric", "best reference", *archs], rows)


def compare_to_baseline(rs: ResultSet, arch: str, task: str, baseline: str = "singlu") -> dict:
    """How ``arch`` fares against ``baseline`` on ``task``, by the book's beyond-noise rule.

    Returns:
        ``{"task", "metric", "mean", "low", "high", "std", "base_mean", "base_low",
        "base_high", "base_std", "n_seeds", "better", "interval", "outcome", "clear"}``:
        ``better`` is True when ``arch``'s mean is better (lower MSE, higher accuracy; a fully
        diverged side loses); ``interval`` is :func:`richneuron.stats.compare` of ``arch``
        against ``baseline`` (a ratio of MSEs, a difference of accuracies); ``outcome`` is +1
        (``arch`` better beyond noise), -1 (``baseline`` better beyond noise) or 0 (within
        noise, or fewer than two seeds a side); ``clear`` is a testable ``outcome != 0``;
        ``testable`` is
        whether either side learns the task (beats its best reference predictor beyond noise,
        :func:`richneuron.analysis.references.beats`), and ``reference`` that predictor. Where
        neither does, the comparison ranks two failures: the counts leave it out and
        :func:`verdict` reads "not testable on this task". The testable comparisons of
        ``arch`` against ``baseline`` over the chapter's tasks are one family
        (:func:`richneuron.store.results.decide`): ``outcome`` is beyond noise only when the
        interval excludes no difference and the permutation p-value ``p`` is a discovery of the
        family; ``alone`` is what the interval alone would say, ``detectable`` the smallest
        difference these seeds would find (:func:`richneuron.stats.detectable`).

    Raises:
        KeyError: if ``rs`` lacks either architecture on ``task``.
    """
    summary = rs.summary_by_key()
    for a in (arch, baseline):
        if (a, task) not in summary:
            raise KeyError(f"{rs.name}: no runs of {a!r} on task {task!r}")
    s, b = summary[(arch, task)], summary[(baseline, task)]
    reference = reference_for(task, *protocol_draw(rs))
    able = testable([s, b], reference)
    decision = _family(rs, arch, baseline)[task] if able else decide([(s, b)])[0]
    # an untestable comparison is no call of the book's: its interval's reading, uncounted
    interval, result = decision.interval, decision.outcome if able else decision.alone
    return {
        "task": task,
        "metric": s["metric"],
        "mean": s["mean"],
        "low": s["low"],
        "high": s["high"],
        "std": s["std"],
        "base_mean": b["mean"],
        "base_low": b["low"],
        "base_high": b["high"],
        "base_std": b["std"],
        "n_seeds": s["n_seeds"],
        "better": better(s["mean"], b["mean"], s["metric"]),
        "interval": interval,
        "outcome": result,
        "clear": able and result != 0,
        "testable": able,
        "reference": reference,
        "p": decision.p,
        "alone": decision.alone,
        "detectable": decision.detectable,
    }


def _family(rs: ResultSet, arch: str, baseline: str) -> dict:
    """A chapter's family of comparisons: ``arch`` against ``baseline`` on every task of
    ``rs`` that either learns, decided together (:func:`richneuron.store.results.decide`)."""
    summary = rs.summary_by_key()
    pairs = {}
    for task in chapter_tasks(rs, arch):
        if (baseline, task) in summary:
            s, b = summary[(arch, task)], summary[(baseline, task)]
            if testable([s, b], reference_for(task, *protocol_draw(rs))):
                pairs[task] = (s, b)
    return dict(zip(pairs, decide(list(pairs.values()))))


def protocol_draw(rs: ResultSet) -> tuple[int, float]:
    """The data seed and held-out share of the protocol of ``rs``: the draw its runs saw."""
    config = config_of(rs)
    return config.data_seed, config.validation


def chapter_tasks(rs: ResultSet, arch: str | None = None) -> list[str]:
    """Tasks of ``rs`` (of ``arch``'s runs if given): the nine in registry order, then any
    other (a real data set, a task at other knob values) in the order of the runs."""
    tasks = list(dict.fromkeys(r.run.task for r in rs.select(arch)))
    return [t for t in TASKS if t in tasks] + [t for t in tasks if t not in TASKS]


def seed_count(rs: ResultSet) -> int:
    """Number of distinct seeds in ``rs``."""
    return len({r.run.seed for r in rs.runs})


def _outcomes(rs: ResultSet, arch: str, baseline: str) -> list[int | None]:
    """Per task of ``arch``: the outcome against ``baseline`` (+1, 0, -1), None where the
    comparison is not testable (neither learns the task)."""
    rows = (compare_to_baseline(rs, arch, t, baseline) for t in chapter_tasks(rs, arch))
    return [c["outcome"] if c["testable"] else None for c in rows]


def count_wins(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` on which ``arch`` beats ``baseline`` beyond noise (the book's rule), of
    those either learns."""
    return _outcomes(rs, arch, baseline).count(1)


def count_losses(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` on which ``baseline`` beats ``arch`` beyond noise, of those either
    learns."""
    return _outcomes(rs, arch, baseline).count(-1)


def count_ties(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` on which ``arch`` and ``baseline`` are within noise of each other, of
    those either learns."""
    return _outcomes(rs, arch, baseline).count(0)


def count_untestable(rs: ResultSet, arch: str, baseline: str = "singlu") -> int:
    """Tasks of ``rs`` that neither ``arch`` nor ``baseline`` learns: not compared."""
    return _outcomes(rs, arch, baseline).count(None)


def verdict(rs: ResultSet, arch: str, baseline: str = "singlu") -> Markdown:
    """One bullet per task: both means with their 95% intervals, the interval of the comparison
    (a ratio of MSEs or a difference of accuracies) and the book's reading of it: better beyond
    noise, within noise, or not testable (neither learns the task)."""
    lines = []
    for task in chapter_tasks(rs, arch):
        c = compare_to_baseline(rs, arch, task, baseline)
        fmt = c["metric"]
        ours = f"{format_metric(c['mean'], fmt)} {format_interval(c['low'], c['high'], fmt)}"
        theirs = (
            f"{format_metric(c['base_mean'], fmt)} "
            f"{format_interval(c['base_low'], c['base_high'], fmt)}"
        )
        gap = format_advantage(c["interval"], fmt, arch, baseline)
        if not c["testable"]:
            how = (
                f"{NOT_TESTABLE} (neither beats its best reference predictor, "
                f"{reference_text(c['reference'])}, beyond noise)"
            )
        elif c["outcome"] == 0:
            how = (
                "within noise (the interval includes " + ("1" if fmt == "mse" else "0")
                if c["alone"] == 0
                else f"within noise after the chapter's correction ({format_p(c['p'])}"
            )
            how += f"; these seeds would detect {format_detectable(c['detectable'], fmt)})"
            if not math.isfinite(c["interval"].estimate):
                how = "not comparable (fewer than two seeds a side)"
        else:
            how = f"{arch if c['outcome'] == 1 else baseline} is better beyond noise"
        lines.append(
            f"- **{task}** ({fmt}): {arch} {ours} vs {baseline} {theirs}; {gap}: {how}."
        )
    return Markdown("\n".join(lines) + "\n")


def published_verdict(version: str) -> Markdown:
    """The original study's verdict on ``version`` (in this book's words), for a verdict."""
    if version not in PUBLISHED_VERDICTS:
        raise ValueError(
            f"version: no published verdict for {version!r}; known: {', '.join(PUBLISHED_VERDICTS)}"
        )
    return Markdown(PUBLISHED_VERDICTS[version])


def claim_sentence(claim) -> Markdown:
    """One claim as a sentence: the finding with its number and id and the scope it was judged
    on (:func:`richneuron.analysis.rules.scope_of`), our number, the published one, the verdict
    with a comparative claim's direction and size (for ``glue:md``). The book's test of one
    verdict per claim reads the pattern ``finding (#N id · scope): ... **verdict**``."""
    parts = [f"direction {claim.direction}"] if claim.direction else []
    if claim.size and claim.size != NO_SIZE:
        parts.append(f"size {claim.size}")
    read = f" ({'; '.join(parts)})" if parts else ""
    where = f" · {claim.scope}" if claim.scope else ""
    return Markdown(
        f"{claim.finding} (#{claim.number} `{claim.id}`{where}): ours {claim.ours}, published "
        f"{claim.published}; **{claim.verdict}**{read} (check: {claim.rule})."
    )


def claim_verdict(claim) -> Markdown:
    """A claim's verdict as inline text (``replicated``, ``not replicated``, ...)."""
    return Markdown(claim.verdict)


#: The published reference, relative to the repository root (chapters run there).
PUBLISHED_PATH = "data/published.json"


def load_published(path: str | os.PathLike = PUBLISHED_PATH) -> dict:
    """The published numbers (a copy of the study's ``published.json``), checked for the fields
    the claims read.

    Raises:
        ResultsError: naming the file and the missing or malformed field.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file (the published reference)") from None
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    for field in ("results", "headline_claims"):
        if not isinstance(doc, dict) or not isinstance(doc.get(field), dict):
            raise ResultsError(f"{path}: {field}: missing field or not an object")
    for group, table in doc["results"].items():
        if not isinstance(table, dict) or not isinstance(table.get("tasks"), list):
            raise ResultsError(f"{path}: results.{group}.tasks: missing field or not a list")
        for arch, values in table.items():
            if arch in ("tasks", "protocol"):
                continue
            if not isinstance(values, list) or len(values) != len(table["tasks"]):
                raise ResultsError(
                    f"{path}: results.{group}.{arch}: expected a list of "
                    f"{len(table['tasks'])} numbers"
                )
    return doc


def claim_facts(rs: ResultSet, capacity_sweep=None) -> Facts:
    """What the claims need beyond the results of ``rs`` (:class:`~richneuron.analysis.rules
    .Facts`), under its protocol: the matched widths on nested_2d
    (:func:`richneuron.neurons.matching.width_rows`), vanilla's parameter count on Memorize,
    ``capacity_sweep`` (the capacity runs, as the caller read them; ``None``: none) and the
    tasks' reference predictors (:func:`task_references`)."""
    config = config_of(rs)
    _, params = match_width("vanilla", "memorize", config.budget_for("memorize"), config)
    return Facts(tuple(width_rows(config)), params, capacity_sweep, task_references(rs))


def reference_facts(rs: ResultSet) -> Facts:
    """The facts every comparative claim needs under the protocol of ``rs``: its tasks' reference
    predictors (:func:`task_references`), so that a claim no network learns reads "not
    testable". What :func:`richneuron.analysis.multiverse.evaluate` takes per protocol."""
    return Facts(references=task_references(rs))


def load_book_data(
    data_dir: str | os.PathLike = DATA_DIR, second: str | os.PathLike | None = None
) -> ResultSet:
    """Every chapter's results file in ``data_dir`` merged into one result set, with the runs
    of the second opinion ``second`` (:data:`richneuron.report.seeds.STABILITY_PATH`: seeds
    5-9 of every architecture and task, :func:`richneuron.report.seeds.pool_second`) when it is
    given: the book's estimate on ten seeds. A quick build, whose protocol is another, passes
    None.

    Runs that several chapters trained (the baselines) appear once; they must agree bit for
    bit, as the trainer is deterministic. An alias (``v4_glu``, the same neuron as ``singlu``)
    is left out: its runs are its canonical architecture's.

    Raises:
        ResultsError: naming the file, when a file is corrupt, when two files were made under
            different protocols (``second`` included), or when one run has two different
            results.
        FileNotFoundError: when ``data_dir`` holds no results file.
    """
    return pool_second(_merged(data_dir), second)


def _merged(data_dir: str | os.PathLike) -> ResultSet:
    """The chapters' results files in ``data_dir``, merged (:func:`load_book_data`)."""
    paths = sorted(p for p in Path(data_dir).glob("*.json") if p.name != "published.json")
    if not paths:
        raise FileNotFoundError(f"data_dir: no results files in {data_dir}")
    merged: dict[tuple, tuple] = {}
    config, provenance = None, None
    for path in paths:
        rs = load_results(path)
        if config is None:
            config, provenance, first = rs.config, rs.provenance, path
        elif rs.config != config:
            diff = sorted(
                k for k in config.keys() | rs.config.keys() if config.get(k) != rs.config.get(k)
            )
            raise ResultsError(
                f"{path}: config.{diff[0]}: {rs.config.get(diff[0])!r} differs from "
                f"{config.get(diff[0])!r} in {first}; re-run every chapter at one protocol"
            )
        for r in rs.runs:
            if get_arch(r.run.arch).canonical != r.run.arch:
                continue
            key = (r.run.arch, r.run.task, r.run.seed)
            doc = volatile_free({"runs": [result_to_dict(r)]})
            if key in merged and merged[key][1] != doc:
                raise ResultsError(
                    f"{path}: run {key} differs from the same run in {merged[key][2]}"
                )
            merged.setdefault(key, (r, doc, path))
    return ResultSet("book", config, provenance, [v[0] for v in merged.values()])


def config_of(rs: ResultSet) -> TrainConfig:
    """The training protocol a result set was made under."""
    return TrainConfig(**rs.config)
