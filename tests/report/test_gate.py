"""The drift gate and the build's robustness, on a one-chapter book built in a temporary folder.

The mini book is the real build (papermill, Jupyter Book HTML, PAPER.md) on a small chapter: one
architecture and the two baselines, two tasks, two seeds, 60 steps. Its first build plays the
part of the committed state. The gate rebuilds the book from the committed results (training
nothing) and its audit retrains committed runs: the mini book's are cheap, so the default budget
retrains all of them. The tests then plant changes and check that the gate catches them with its
table (an edited number or seed through the audit), that a chapter whose protocol no longer
matches the store stops the gate with one line, that an unchanged rebuild passes, that a corrupt
results file stops the build before any chapter runs, that bad chapter parameters stop the
chapter with one clear message and change nothing, and that a build killed mid-chapter leaves no
partial file and the next build completes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from richneuron.config import TrainConfig
from richneuron.report.audit import DEFAULT_BUDGET, retrain_cost
from richneuron.report.build import FULL, GATE, build
from richneuron.report.gate import check
from richneuron.store.results import load_results, result_to_dict
from richneuron.store.schema import Run
from richneuron.train.pool import train_runs

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "book/mini"
DATA = "data/mini.json"
STEPS, SEEDS, TASKS = 60, 2, ["spiral", "complex_4d"]

TABLE_HEADER = ["chapter", "arch", "task", "seed", "field", "committed", "new"]


def _cell(kind: str, source: str, **meta) -> dict:
    cell = {"cell_type": kind, "metadata": meta, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def chapter(lr: float = 3e-3, steps: int = STEPS) -> dict:
    """A small version chapter with the structure of the real ones."""
    params = (
        f"seeds = {SEEDS}\nsteps = {steps}\nbudget = 5000\nlr = {lr!r}\n"
        f"tasks = {TASKS!r}\nout = {DATA!r}\nquick = False"
    )
    return {
        "cells": [
            _cell("markdown", "(ch-mini)=\n# Mini chapter\n\nA chapter of the drift-gate tests."),
            _cell("code", params, tags=["parameters"]),
            _cell(
                "code",
                "from myst_nb import glue\n\n"
                "from richneuron.report import book, chapter, plots, synthesis",
            ),
            _cell(
                "code",
                'rs = chapter.run_chapter("mini", "v10", tasks, seeds, steps, budget, out, quick, '
                'lr=lr)\nglue("mini_spiral", synthesis.mean_metric(rs, "v10", "spiral"), '
                "display=False)",
            ),
            _cell("markdown", "v10 reaches {glue:text}`mini_spiral:.4f` on Spiral.\n"),
            _cell("code", "book.results_table(rs)"),
            _cell(
                "code",
                'fig, ax = plots.plot_learning_curves(rs, "spiral")',
                mystnb={"figure": {"caption": "Training loss on Spiral.", "name": "fig-mini"}},
            ),
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _with_ids(nb: dict) -> dict:
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"mini-{i}"
    return nb


def write_chapter(root: Path, **kwargs) -> None:
    text = json.dumps(_with_ids(chapter(**kwargs)))
    (root / f"{CHAPTER}.ipynb").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def committed(tmp_path_factory) -> Path:
    """A mini book after ``make book``: its data/, PAPER.md and figures are 'committed'."""
    root = tmp_path_factory.mktemp("mini") / "book-root"
    (root / "book").mkdir(parents=True)
    (root / "data").mkdir()
    shutil.copy2(ROOT / "_config.yml", root / "_config.yml")
    shutil.copy2(ROOT / "references.bib", root / "references.bib")
    shutil.copy2(ROOT / "data" / "published.json", root / "data" / "published.json")
    (root / "_toc.yml").write_text(
        f"format: jb-book\nroot: book/index\nchapters:\n  - file: {CHAPTER}\n", encoding="utf-8"
    )
    (root / "book" / "index.md").write_text("# Mini book\n\nFor the gate tests.\n")
    write_chapter(root)
    build(root, FULL)
    assert (root / DATA).is_file() and (root / "PAPER.md").is_file()
    # The gate's own rebuild of the unchanged book, reused by the tests that plant a change in
    # the committed files only.
    assert check(root, GATE, fingerprint=False) == []
    return root


@pytest.fixture
def book_copy(committed, tmp_path) -> Path:
    """A private copy of the committed mini book (with its gate rebuild)."""
    root = tmp_path / "book-root"
    shutil.copytree(committed, root, ignore=shutil.ignore_patterns("cache"))
    return root


def _table_rows(problems: list[str]) -> str:
    text = "\n".join(problems)
    assert "drifted from data/" in text
    header = next(line for line in text.splitlines() if line.startswith("chapter"))
    assert header.split() == TABLE_HEADER
    return text


def _audit_rows(problems: list[str]) -> list[list[str]]:
    """The rows of the audit's drift table for data/mini.json (the only audit problem)."""
    audit = [p for p in problems if p.startswith(f"{DATA}: ")]
    assert len(audit) == 1, problems
    lines = audit[0].splitlines()
    assert " value(s) drifted:" in lines[0] and lines[1].split() == TABLE_HEADER
    assert set(lines[2]) <= {"-", " "}  # the rule under the header
    rows = [line.split() for line in lines[3:]]
    assert len(rows) == int(lines[0].split(": ")[1].split()[0])
    return rows


def _files(root: Path) -> dict[str, bytes]:
    """Every committed file of data/, by name."""
    return {p.name: p.read_bytes() for p in sorted((root / "data").iterdir())}


def _edit_one_number(root: Path) -> tuple[dict, float]:
    """The test metric of the first complex_4d run of data/mini.json times 1.0001: (the run as
    committed now, its old value)."""
    doc = json.loads((root / DATA).read_text())
    run = next(r for r in doc["runs"] if r["task"] == "complex_4d")
    old = run["test_metric"]
    run["test_metric"] = old * 1.0001
    (root / DATA).write_text(json.dumps(doc))
    return run, old


def _replace_one_seed(root: Path) -> None:
    """The committed results of (v10, spiral, seed 1) replaced by those of seed 7."""
    other = train_runs([Run("v10", "spiral", 7)], TrainConfig(steps=STEPS))[0]
    other.run = Run("v10", "spiral", 1)
    doc = json.loads((root / DATA).read_text())
    index = next(
        i
        for i, r in enumerate(doc["runs"])
        if (r["arch"], r["task"], r["seed"]) == ("v10", "spiral", 1)
    )
    doc["runs"][index] = result_to_dict(other)
    (root / DATA).write_text(json.dumps(doc))


def test_unchanged_rebuild_passes(committed, capsys):
    # The fixture already ran the full gate (rebuild from the store); run it again on the
    # existing rebuild, and check the work tree was not touched by the gate.
    before = (committed / DATA).read_bytes(), (committed / "PAPER.md").read_bytes()
    assert check(committed, GATE, rebuild=False, fingerprint=False) == []
    assert ((committed / DATA).read_bytes(), (committed / "PAPER.md").read_bytes()) == before
    # The audit retrained every committed run: they cost less than the default budget.
    runs = json.loads((committed / DATA).read_text())["runs"]
    n = len(runs)
    assert n == 3 * len(TASKS) * SEEDS
    assert sum(retrain_cost(r["wall_time"]) for r in runs) < DEFAULT_BUDGET
    out = capsys.readouterr().out
    assert f"audit {DATA}: retrained {n} of {n} runs; no drift" in out
    assert f"audit: {n} of {n} committed runs (" in out


def test_unchanged_full_build_leaves_committed_files_alone(book_copy):
    before = {p: p.read_bytes() for p in [book_copy / DATA, book_copy / "PAPER.md"]}
    mtime = (book_copy / DATA).stat().st_mtime_ns
    build(book_copy, FULL)  # from the run cache: identical results, so data/ is not rewritten
    assert {p: p.read_bytes() for p in before} == before
    assert (book_copy / DATA).stat().st_mtime_ns == mtime


def test_learning_rate_one_percent_higher_fails_the_gate(book_copy):
    # The gate trains nothing: a chapter whose protocol differs from the store's stops it, in
    # one line naming the chapter, the first run it lacks and the setting that moved.
    write_chapter(book_copy, lr=3e-3 * 1.01)
    before = _files(book_copy)
    with pytest.raises(RuntimeError) as err:
        check(book_copy, GATE, fingerprint=False)
    message = str(err.value)
    assert "\n" not in message, message
    n = 3 * len(TASKS) * SEEDS
    assert message.startswith(
        f"book/mini.ipynb failed: chapter mini: {n} of {n} runs are not in the store, "
        "first v10 on spiral, seed 0 (the chapter's protocol differs from the one in "
    ), message
    assert "(lr 0.003 -> 0.00303)" in message and repr(3e-3 * 1.01) == "0.00303"
    assert message.endswith("the drift gate trains nothing: run `make book` and commit data/")
    assert _files(book_copy) == before


@pytest.mark.parametrize("change", ["number", "seed"])
def test_a_planted_drift_in_the_store_is_caught_by_the_audit(book_copy, change, capsys):
    """The gate's rebuild reads the edited store, so its book agrees with it; the audit, which
    retrains every run of the mini book, catches the edit with its table."""
    if change == "number":
        run, _ = _edit_one_number(book_copy)
        key = [run["arch"], "complex_4d", str(run["seed"])]
    else:
        _replace_one_seed(book_copy)
        key = ["v10", "spiral", "1"]
    before = _files(book_copy)
    problems = check(book_copy, GATE, fingerprint=False)
    assert not any("drifted from data/" in p for p in problems)  # the rebuild took the store
    rows = _audit_rows(problems)
    assert all(row[:4] == ["mini", *key] for row in rows), rows
    fields = [row[4] for row in rows]
    if change == "number":
        assert rows[0][4:6] == ["test_metric", repr(run["test_metric"])] and len(rows) == 1
    else:
        assert "test_metric" in fields and "train_loss" in fields
    out = capsys.readouterr().out
    n = len(json.loads((book_copy / DATA).read_text())["runs"])
    assert f"audit {DATA}: retrained {n} of {n} runs; {len(rows)} value(s) drifted" in out
    assert _files(book_copy) == before


def test_one_seed_changed_fails_the_gate(book_copy):
    _replace_one_seed(book_copy)
    text = _table_rows(check(book_copy, GATE, rebuild=False, fingerprint=False))
    assert "v10" in text and "spiral" in text


def test_one_committed_number_edited_fails_the_gate(book_copy):
    run, old = _edit_one_number(book_copy)
    problems = check(book_copy, GATE, rebuild=False, fingerprint=False)
    text = _table_rows(problems)
    row = next(line for line in text.splitlines() if "test_metric" in line)
    assert row.split()[:6] == [
        "mini",
        run["arch"],
        "complex_4d",
        str(run["seed"]),
        "test_metric",
        repr(old * 1.0001),
    ]
    # once against the existing rebuild, once by the audit's retraining
    assert len([p for p in problems if "drifted from data/" in p]) == 1
    assert [audited[:6] for audited in _audit_rows(problems)] == [row.split()[:6]]


def test_a_corrupt_results_file_stops_the_build_before_any_chapter(book_copy, capsys):
    path = book_copy / DATA
    doc = json.loads(path.read_text())
    doc["runs"][3]["test_metric"] = "0.5"
    path.write_text(json.dumps(doc))
    before = path.read_bytes()
    executed = [book_copy / "_build" / "exec", book_copy / GATE.out / "exec"]
    for folder in executed:
        shutil.rmtree(folder)
    for gate in (False, True):
        with pytest.raises(RuntimeError) as err:
            if gate:
                check(book_copy, GATE, fingerprint=False)
            else:
                build(book_copy, FULL)
        message = str(err.value)
        assert "\n" not in message, message
        assert message.startswith(f"{path.resolve()}: runs[3].test_metric: "), message
        assert message.endswith("; no chapter was executed")
        assert path.read_bytes() == before
        assert not any(folder.exists() for folder in executed)
        assert "[1/1]" not in capsys.readouterr().out
    proc = subprocess.run(
        [sys.executable, "-m", "richneuron.report.bookbuild", "build", "--root", str(book_copy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "mini.json: runs[3].test_metric: " in lines[0]
    assert path.read_bytes() == before


def test_edited_paper_fails_the_gate(book_copy):
    paper = book_copy / "PAPER.md"
    paper.write_text(paper.read_text().replace("Mini chapter", "Mini chapters", 1))
    problems = check(book_copy, GATE, rebuild=False, fingerprint=False)
    assert len(problems) == 1 and problems[0].startswith("PAPER.md differs from the rebuild")
    assert "Mini chapters" in problems[0]


def test_csv_files_of_data_are_compared_byte_for_byte(book_copy):
    committed, rebuilt = book_copy / "data" / "x.csv", book_copy / GATE.data / "x.csv"
    committed.write_text("arch,mean\nv10,0.1\n")
    assert check(book_copy, GATE, rebuild=False, fingerprint=False) == [
        "data/x.csv: committed but no chapter produced it"
    ]
    rebuilt.write_text("arch,mean\nv10,0.10000001\n")
    assert check(book_copy, GATE, rebuild=False, fingerprint=False) == [
        f"data/x.csv: differs from the rebuild ({rebuilt})"
    ]
    committed.unlink()
    assert check(book_copy, GATE, rebuild=False, fingerprint=False) == [
        "data/x.csv: produced by the build but not committed"
    ]


def test_missing_figure_fails_the_gate(book_copy):
    figure = next((book_copy / "paper_figures").iterdir())
    figure.unlink()
    assert check(book_copy, GATE, rebuild=False, fingerprint=False) == [
        f"paper_figures/{figure.name}: new, not committed"
    ]


@pytest.mark.parametrize(
    "param,value,message",
    [
        ("tasks", ["spirl"], "tasks: unknown task 'spirl'"),
        ("seeds", 0, "seeds: must be an integer >= 1, got 0"),
        ("seeds", -2, "seeds: must be an integer >= 1, got -2"),
        ("steps", 0, "steps: must be an integer >= 1, got 0"),
        ("budget", 40, "budget: no width of 'v10' on task 'spiral' meets budget=40"),
        ("lr", -1.0, "lr: must be a positive finite number, got -1.0"),
    ],
)
def test_bad_chapter_parameter_stops_with_one_message_and_changes_nothing(
    committed, tmp_path, param, value, message
):
    import papermill
    from papermill.exceptions import PapermillExecutionError

    before = {p.name: p.read_bytes() for p in (committed / "data").iterdir()}
    with pytest.raises(PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(committed / f"{CHAPTER}.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters={param: value},
            cwd=str(committed),
            progress_bar=False,
        )
    assert err.value.ename == "ValueError"
    assert err.value.evalue.startswith(message)
    # It stopped at the first cell that uses the parameters, before any training.
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    failed = [
        c
        for c in executed["cells"]
        if c.get("outputs") and any(o.get("output_type") == "error" for o in c["outputs"])
    ]
    assert len(failed) == 1 and "run_chapter" in "".join(failed[0]["source"])
    assert {p.name: p.read_bytes() for p in (committed / "data").iterdir()} == before


def _kill_marked(marker: str) -> None:
    """SIGKILL every process whose environment contains ``marker`` (the build and its kernel,
    which Jupyter starts in a process group of its own)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def test_killed_build_leaves_no_partial_file_and_the_next_build_completes(book_copy):
    # A slower chapter, so that the kill lands while it trains.
    write_chapter(book_copy, steps=3000)
    (book_copy / DATA).unlink()
    env = {**os.environ, "RICHNEURON_CACHE_DIR": str(book_copy / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "richneuron.report.bookbuild", "build", "--root", str(book_copy)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    running = book_copy / "_build" / "exec" / "book" / ".mini.running.ipynb"
    deadline = time.monotonic() + 120
    while not running.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert running.exists(), "the chapter never started executing"
    time.sleep(8)  # into training
    assert proc.poll() is None, "the build finished before it could be killed"
    _kill_marked(f"RICHNEURON_CACHE_DIR={book_copy / 'cache'}")
    proc.wait()
    time.sleep(1)
    data = sorted(p.name for p in (book_copy / "data").iterdir())
    assert data == ["published.json"], f"partial results left in data/: {data}"
    assert not (book_copy / "PAPER.md.tmp").exists()
    build(book_copy, FULL)
    rs = load_results(book_copy / DATA)
    assert len(rs.runs) == 3 * len(TASKS) * SEEDS and rs.config["steps"] == 3000
