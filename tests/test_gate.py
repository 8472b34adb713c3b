"""The drift gate and the build's robustness, on a one-chapter book built in a temporary folder.

The mini book is the real build (papermill, Jupyter Book HTML, PAPER.md) on a small chapter: one
architecture and the two baselines, two tasks, two seeds, 60 steps. Its first build plays the
part of the committed state; the tests then plant changes and check that the gate catches them
with its table, that an unchanged rebuild passes, that bad chapter parameters stop the chapter
with one clear message and change nothing, and that a build killed mid-chapter leaves no partial
file and the next build completes.
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

from richneuron.bookbuild import FULL, GATE, build, check
from richneuron.config import TrainConfig
from richneuron.results import load_results, result_to_dict
from richneuron.trainer import Run, train_runs

ROOT = Path(__file__).resolve().parents[1]
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
            _cell("code", "from myst_nb import glue\n\nfrom richneuron import book, plots"),
            _cell(
                "code",
                'rs = book.run_chapter("mini", "v10", tasks, seeds, steps, budget, out, quick, '
                'lr=lr)\nglue("mini_spiral", book.mean_metric(rs, "v10", "spiral"), '
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


def test_unchanged_rebuild_passes(committed):
    # The fixture already ran the full gate (rebuild from an empty cache); run it again on the
    # existing rebuild, and check the work tree was not touched by the gate.
    before = (committed / DATA).read_bytes(), (committed / "PAPER.md").read_bytes()
    assert check(committed, GATE, rebuild=False, fingerprint=False) == []
    assert ((committed / DATA).read_bytes(), (committed / "PAPER.md").read_bytes()) == before


def test_unchanged_full_build_leaves_committed_files_alone(book_copy):
    before = {p: p.read_bytes() for p in [book_copy / DATA, book_copy / "PAPER.md"]}
    mtime = (book_copy / DATA).stat().st_mtime_ns
    build(book_copy, FULL)  # from the run cache: identical results, so data/ is not rewritten
    assert {p: p.read_bytes() for p in before} == before
    assert (book_copy / DATA).stat().st_mtime_ns == mtime


def test_learning_rate_one_percent_higher_fails_the_gate(book_copy, capsys):
    write_chapter(book_copy, lr=3e-3 * 1.01)
    problems = check(book_copy, GATE, fingerprint=False)
    text = _table_rows(problems)
    assert "v10" in text and "test_metric" in text
    assert any(p.startswith("PAPER.md differs") for p in problems)


def test_one_seed_changed_fails_the_gate(book_copy):
    # The committed results of (v10, spiral, seed 1) replaced by those of another seed.
    other = train_runs([Run("v10", "spiral", 7)], TrainConfig(steps=STEPS))[0]
    other.run = Run("v10", "spiral", 1)
    doc = json.loads((book_copy / DATA).read_text())
    index = next(
        i
        for i, r in enumerate(doc["runs"])
        if (r["arch"], r["task"], r["seed"]) == ("v10", "spiral", 1)
    )
    doc["runs"][index] = result_to_dict(other)
    (book_copy / DATA).write_text(json.dumps(doc))
    text = _table_rows(check(book_copy, GATE, rebuild=False, fingerprint=False))
    assert "v10" in text and "spiral" in text


def test_one_committed_number_edited_fails_the_gate(book_copy):
    doc = json.loads((book_copy / DATA).read_text())
    run = next(r for r in doc["runs"] if r["task"] == "complex_4d")
    old = run["test_metric"]
    run["test_metric"] = old * 1.0001
    (book_copy / DATA).write_text(json.dumps(doc))
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
    assert len([p for p in problems if "drifted" in p]) == 1


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
        [sys.executable, "-m", "richneuron.book", "build", "--root", str(book_copy)],
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
