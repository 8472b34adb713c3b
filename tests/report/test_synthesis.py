"""The Synthesis chapter's tables (richneuron.report.synthesis): the summary, the comparison
rows and their CSV, and the tie counts."""

import math
import os

import pytest

import richneuron.report.synthesis as synthesis


def test_summary_table_has_architectures_as_rows(rs):
    lines = str(synthesis.summary_table(rs)).strip().splitlines()
    assert lines[0] == "| architecture | nested_2d | spiral |"
    assert lines[2] == "| v10 | 0.02 [0.01, 0.03] | **91%** [90%, 92%] |"


def test_comparison_rows_mark_winners_ties_and_scores(rs):
    rows = {(r["arch"], r["task"]): r for r in synthesis.comparison_rows(rs)}
    assert len(rows) == 6
    nested, spiral = "nested_2d", "spiral"
    assert rows[("singlu", nested)]["winner"] and rows[("v10", spiral)]["winner"]
    assert sum(r["winner"] for r in rows.values()) == 2  # one per task
    # v10's 0.02 ± 0.014 overlaps singlu's 0.019 ± 0.0014: a tie within noise
    assert rows[("v10", nested)]["within_noise"] and not rows[("v10", nested)]["winner"]
    # singlu 82% ± 2.8% vs v10 91% ± 1.4%: beyond noise
    assert not rows[("singlu", spiral)]["within_noise"]
    # scores: 1 for the best, 0 for the worst, log scale for MSE, NaN when all seeds diverged
    assert rows[("singlu", nested)]["score"] == 1.0 and rows[("vanilla", nested)]["score"] == 0.0
    expected = (math.log10(0.5) - math.log10(0.02)) / (math.log10(0.5) - math.log10(0.019))
    assert rows[("v10", nested)]["score"] == pytest.approx(expected)
    assert math.isnan(rows[("vanilla", spiral)]["score"])
    assert not rows[("vanilla", spiral)]["within_noise"]
    assert rows[("vanilla", nested)]["values"][0] == 0.5
    assert math.isnan(rows[("vanilla", nested)]["values"][1])


def test_comparison_csv_has_every_number_and_is_rewritten_only_on_change(rs, tmp_path):
    import csv

    rows = synthesis.comparison_rows(rs)
    path = synthesis.write_comparison_csv(rows, tmp_path / "synthesis.csv")
    table = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(table) == len(rows)
    first = table[0]
    assert list(first)[:10] == [
        "arch", "task", "metric", "n_seeds", "n_diverged", "mean", "low", "high", "std", "params"
    ]
    assert float(first["low"]) <= float(first["mean"]) <= float(first["high"])
    assert float(first["mean"]) == rows[0]["mean"]  # full precision, read back exactly
    assert [first["seed_0"], first["seed_1"]] == ["0.01", "0.03"]
    diverged = next(r for r in table if r["arch"] == "vanilla" and r["task"] == "nested_2d")
    assert diverged["seed_1"] == "" and diverged["n_diverged"] == "1"
    mtime = path.stat().st_mtime_ns
    os.utime(path, ns=(mtime - 10**9, mtime - 10**9))
    synthesis.write_comparison_csv(rows, path)  # same bytes: not rewritten
    assert path.stat().st_mtime_ns == mtime - 10**9


def test_tie_counts_count_the_non_winners_and_those_within_noise():
    rows = [
        {"winner": True, "within_noise": True},
        {"winner": False, "within_noise": True},
        {"winner": False, "within_noise": False},
        {"winner": False, "within_noise": False},
    ]
    assert synthesis.tie_counts(rows) == {"cells": 3, "ties": 1}
