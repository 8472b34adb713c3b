"""The Synthesis chapter's tables (richneuron.report.synthesis): the summary, the comparison
rows and their CSV, and the tie counts."""

import math
import os

import pytest
from conftest import result

import richneuron.report.synthesis as synthesis
from richneuron import stats
from richneuron.store.results import ResultSet


def test_summary_table_has_architectures_as_rows(rs):
    lines = str(synthesis.summary_table(rs)).strip().splitlines()
    assert lines[0] == "| architecture | nested_2d | spiral |"
    assert lines[2] == (
        "| v10 | 0.0207 [7.33e-3, 0.0323] skill 0.909 | **91%** [89.7%, 92.3%] skill +41.0 pts |"
    )
    assert lines[-1] == "| best reference | 0.227 (training mean) | 62.8% (logistic regression) |"


def test_comparison_rows_mark_winners_ties_and_scores(rs):
    rows = {(r["arch"], r["task"]): r for r in synthesis.comparison_rows(rs)}
    assert len(rows) == 6
    nested, spiral = "nested_2d", "spiral"
    assert rows[("singlu", nested)]["winner"] and rows[("v10", spiral)]["winner"]
    assert sum(r["winner"] for r in rows.values()) == 2  # one per task
    # v10's 0.0207 [7.33e-3, 0.0323] overlaps singlu's 0.019 [0.0177, 0.0203]: within noise
    assert rows[("v10", nested)]["within_noise"] and not rows[("v10", nested)]["winner"]
    # singlu 82% [79.4%, 84.6%] vs v10 91% [89.7%, 92.3%]: beyond noise
    assert not rows[("singlu", spiral)]["within_noise"]
    # scores: 1 for the best, 0 for the worst, log scale for MSE, NaN when all seeds diverged
    assert rows[("singlu", nested)]["score"] == 1.0 and rows[("vanilla", nested)]["score"] == 0.0
    v10 = stats.geometric_mean([0.012, 0.032, 0.020, 0.024])  # MSEs on the log scale
    singlu = stats.geometric_mean([0.018, 0.020, 0.019, 0.019])
    expected = (math.log10(0.5) - math.log10(v10)) / (math.log10(0.5) - math.log10(singlu))
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
    assert [first["seed_0"], first["seed_1"]] == ["0.012", "0.032"]
    # the task's best reference predictor and the mean's skill against the training mean
    assert (first["reference_name"], first["learns"]) == ("mean", "true")
    centre = stats.geometric_mean([0.012, 0.032, 0.020, 0.024])
    assert float(first["skill"]) == pytest.approx(1 - centre / float(first["reference"]))
    diverged = next(r for r in table if r["arch"] == "vanilla" and r["task"] == "nested_2d")
    assert diverged["seed_1"] == "" and diverged["n_diverged"] == "3"
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


def test_the_regime_map_names_no_winner_on_a_task_no_network_learns(rs):
    """Nested 2-D's training mean (0.227) beats every network below: not testable; spiral's
    winner beats logistic regression beyond noise and keeps its verdict."""
    worse = [
        result(a, "nested_2d", s, v)
        for a, s, v in (("v10", 0, 0.3), ("v10", 1, 0.32), ("singlu", 0, 0.4), ("singlu", 1, 0.5))
    ]
    spiral = [r for r in rs.runs if r.run.task == "spiral" and r.run.arch != "vanilla"]
    mixed = ResultSet("t", rs.config, {}, worse + spiral)
    rows = {r["task"]: r for r in synthesis.regime_rows(mixed)}
    assert rows["nested_2d"]["verdict"] == "not testable on this task"
    assert not rows["nested_2d"]["learned"] and not rows["nested_2d"]["clear"]
    assert rows["spiral"]["verdict"] == "v10" and rows["spiral"]["learned"]
    table = str(synthesis.regime_table(list(rows.values())))
    assert "| nested_2d | 0.227 (training mean) | v10 (0.31) |" in table
    nested = [r for r in synthesis.comparison_rows(mixed) if r["task"] == "nested_2d"]
    assert nested and not any(r["winner"] for r in nested)


def test_a_runner_up_that_learns_nothing_but_leads_leaves_no_clear_winner(rs):
    """v10 has the best mean on Nested 2-D but a diverged seed: it has not learned the task.
    SinGLU, the best that has, leads the table; v10 ahead of it beyond noise is no clear win."""
    runs = [result("v10", "nested_2d", s, v) for s, v in enumerate((0.010, 0.011, 0.0105, 0.0102))]
    runs += [result("v10", "nested_2d", 4, 0.5, diverged=True)]
    runs += [result("singlu", "nested_2d", s, v)
             for s, v in enumerate((0.10, 0.11, 0.105, 0.102, 0.108))]
    (row,) = synthesis.regime_rows(ResultSet("t", rs.config, {}, runs))
    assert (row["best"], row["runner_up"], row["learned"]) == ("singlu", "v10", True)
    assert not row["clear"] and row["verdict"] == synthesis.NO_CLEAR_WINNER
