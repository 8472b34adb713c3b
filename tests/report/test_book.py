"""A chapter's tables and verdicts (richneuron.report.book)."""


import pytest

import richneuron.report.book as book
from richneuron.analysis.rules import final_diagnostic


def test_results_rows_mean_interval_and_divergence(rs):
    rows = {r["task"]: r for r in book.results_rows(rs)}
    assert list(rows) == ["nested_2d", "spiral"]  # registry order
    # two seeds: the bootstrap interval of their mean runs from one to the other
    assert rows["spiral"]["v10"] == "91.0% [90.0%, 92.0%]"
    assert rows["spiral"]["vanilla"] == "diverged (2/2)"
    assert rows["nested_2d"]["singlu"] == "0.019 [0.018, 0.02]"
    assert rows["nested_2d"]["vanilla"] == "0.5 [no interval] (diverged 1/2)"


def test_results_table_is_compact_with_the_best_in_bold(rs):
    table = book.results_table(rs)
    lines = str(table).strip().splitlines()
    assert lines[0] == "| task | metric | v10 | vanilla | singlu |"
    assert lines[2] == (
        "| nested_2d | mse | 0.02 [0.01, 0.03] | 0.5 [no interval] (diverged 1/2) "
        "| **0.019** [0.018, 0.02] |"
    )
    spiral = "| spiral | accuracy | **91%** [90%, 92%] | diverged (2/2 seeds) | 82% [80%, 84%] |"
    assert spiral in lines
    assert table._repr_markdown_() == str(table)
    html = table._repr_html_()  # the HTML book: the interval on a second, smaller line
    assert "<td><strong>0.019</strong><br><span class=\"rn-sub\">[0.018, 0.02]</span></td>" in html
    assert html.count("<tr>") == 3


def test_compare_verdict_and_wins(rs):
    spiral = book.compare_to_baseline(rs, "v10", "spiral")
    assert spiral["better"] and spiral["clear"] and spiral["mean"] == pytest.approx(0.91)
    nested = book.compare_to_baseline(rs, "v10", "nested_2d")
    assert not nested["better"] and not nested["clear"]
    assert book.compare_to_baseline(rs, "v10", "spiral", "vanilla")["better"]  # vanilla diverged
    assert book.count_wins(rs, "v10") == 1
    text = book.verdict(rs, "v10")
    assert (
        "- **spiral** (accuracy): v10 91.0% [90.0%, 92.0%] vs singlu 82.0% [80.0%, 84.0%]; "
        "v10 − singlu +9.0 [+6.0, +12.0] points: v10 is better beyond noise." in text
    )
    assert "singlu / v10 MSE 0.95x [0.6x, 2x]: within noise (the interval includes 1)" in text
    assert book.count_losses(rs, "v10") == 0 and book.count_ties(rs, "v10") == 1
    with pytest.raises(KeyError):
        book.compare_to_baseline(rs, "v11", "spiral")


def test_final_diagnostic_and_counts(rs):
    assert final_diagnostic(rs, "v10", "phase_abs") == pytest.approx(0.3)
    assert book.seed_count(rs) == 2
    assert book.chapter_tasks(rs, "v10") == ["nested_2d", "spiral"]
    with pytest.raises(KeyError):
        final_diagnostic(rs, "v10", "omega_mean")
