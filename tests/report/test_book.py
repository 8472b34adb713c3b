"""A chapter's tables and verdicts (richneuron.report.book)."""


import pytest
from conftest import result

import richneuron.report.book as book
from richneuron.analysis.rules import final_diagnostic
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet


def test_results_rows_mean_interval_and_divergence(rs):
    rows = {r["task"]: r for r in book.results_rows(rs)}
    assert list(rows) == ["nested_2d", "spiral"]  # registry order
    # four seeds: the studentised bootstrap interval of their mean; MSE on the log scale
    assert rows["spiral"]["v10"] == "91.0% [89.7%, 92.3%]"
    assert rows["spiral"]["vanilla"] == "diverged (4/4)"
    assert rows["nested_2d"]["singlu"] == "0.019 [0.0177, 0.0203]"
    assert rows["nested_2d"]["vanilla"] == "0.5 [no interval] (diverged 3/4)"


def test_results_table_is_compact_with_the_best_in_bold(rs):
    table = book.results_table(rs)
    lines = str(table).strip().splitlines()
    assert lines[0] == "| task | metric | best reference | v10 | vanilla | singlu |"
    assert lines[2] == (
        "| nested_2d | mse | 0.227 (training mean) | 0.0207 [7.33e-3, 0.0323] skill 0.909 "
        "| 0.5 [no interval] skill -1.2 (diverged 3/4) | **0.019** [0.0177, 0.0203] skill 0.916 |"
    )
    spiral = (
        "| spiral | accuracy | 62.8% (logistic regression) | **91%** [89.7%, 92.3%] skill +41.0 "
        "pts | diverged (4/4 seeds) | 82% [79.4%, 84.6%] skill +32.0 pts |"
    )
    assert spiral in lines
    assert table._repr_markdown_() == str(table)
    html = table._repr_html_()  # the HTML book: the interval on a second, smaller line
    assert "<td><strong>0.019</strong><br><span class=\"rn-sub\">[0.0177, 0.0203]</span>" in html
    assert html.count("<tr>") == 3


def test_no_winner_on_a_task_no_network_learns(rs):
    """Nested 2-D's training mean scores 0.227: networks that all do worse (or reach it within
    their interval) are not ranked, and the reference says so."""
    worse = ResultSet(
        "t", rs.config, {},
        [result(a, "nested_2d", s, v) for a, values in (
            ("v10", (0.30, 0.32, 0.31, 0.31)), ("singlu", (0.20, 0.24, 0.22, 0.22)))
         for s, v in enumerate(values)],
    )
    line = str(book.results_table(worse)).strip().splitlines()[2]
    assert line == (
        "| nested_2d | mse | 0.227 (training mean) (no network learns this task here) "
        "| 0.31 [0.297, 0.323] skill -0.366 | 0.22 [0.195, 0.247] skill 0.0324 |"
    )
    assert "**" not in line


def test_compare_verdict_and_wins(rs):
    """Four seeds a side: v10's 9-point lead on Spiral has an interval far from 0, but no split
    of eight seeds can give a p-value below 2/70, above what the Benjamini-Hochberg rule asks
    of the smaller of a family of two; the chapter calls it within noise and says why."""
    spiral = book.compare_to_baseline(rs, "v10", "spiral")
    assert spiral["better"] and spiral["mean"] == pytest.approx(0.91)
    assert spiral["alone"] == 1 and spiral["outcome"] == 0 and not spiral["clear"]
    assert spiral["p"] == pytest.approx(2 / 70)
    nested = book.compare_to_baseline(rs, "v10", "nested_2d")
    assert not nested["better"] and not nested["clear"] and nested["alone"] == 0
    assert book.compare_to_baseline(rs, "v10", "spiral", "vanilla")["better"]  # vanilla diverged
    assert book.compare_to_baseline(rs, "v10", "spiral", "vanilla")["outcome"] == 1
    assert book.count_wins(rs, "v10") == 0 and book.count_ties(rs, "v10") == 2
    text = book.verdict(rs, "v10")
    assert (
        "- **spiral** (accuracy): v10 91.0% [89.7%, 92.3%] vs singlu 82.0% [79.4%, 84.6%]; "
        "v10 − singlu +9.0 [+6.9, +11.1] points: within noise after the chapter's correction "
        "(p = 0.029; these seeds would detect 3.3 points)." in text
    )
    assert (
        "singlu / v10 MSE 0.916x [0.586x, 2.28x]: within noise (the interval includes 1; "
        "these seeds would detect a factor of 2.35)" in text
    )
    assert book.count_losses(rs, "v10") == 0
    with pytest.raises(KeyError):
        book.compare_to_baseline(rs, "v11", "spiral")


def test_a_family_of_comparisons_calls_what_survives_the_correction():
    """Eight seeds a side: Spiral's lead is a discovery of the chapter's family, and is called;
    Nested's is not even beyond noise by its interval."""
    leads = (("v10", 0.90), ("singlu", 0.80))
    runs = [result(a, "spiral", s, v + 0.002 * (s % 3)) for a, v in leads for s in range(8)]
    close = (("v10", 0.02), ("singlu", 0.021))
    runs += [result(a, "nested_2d", s, v * (1 + 0.2 * (s % 3))) for a, v in close for s in range(8)]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    spiral = book.compare_to_baseline(rs, "v10", "spiral")
    assert spiral["outcome"] == 1 and spiral["p"] < 0.001
    assert book.count_wins(rs, "v10") == 1 and book.count_ties(rs, "v10") == 1


def test_final_diagnostic_and_counts(rs):
    assert final_diagnostic(rs, "v10", "phase_abs") == pytest.approx(0.3)
    assert book.seed_count(rs) == 4
    assert book.chapter_tasks(rs, "v10") == ["nested_2d", "spiral"]
    with pytest.raises(KeyError):
        final_diagnostic(rs, "v10", "omega_mean")


def test_a_comparison_of_two_networks_that_learn_nothing_is_not_counted(rs):
    """On Nested 2-D (training mean 0.227) v10 loses to SinGLU beyond noise when both learn it;
    when both do worse than the mean, the comparison is not testable and no count takes it."""
    worse = ResultSet(
        "t", rs.config, {},
        [result(a, "nested_2d", s, v) for a, s, v in (
            ("v10", 0, 0.5), ("v10", 1, 0.51), ("singlu", 0, 0.3), ("singlu", 1, 0.31))]
        + [r for r in rs.runs if r.run.task == "spiral" and r.run.arch != "vanilla"],
    )
    nested = book.compare_to_baseline(worse, "v10", "nested_2d")
    assert nested["outcome"] == -1 and not nested["testable"]  # beyond noise, among failures
    assert book.compare_to_baseline(worse, "v10", "spiral")["testable"]
    counts = [f(worse, "v10") for f in (book.count_wins, book.count_losses, book.count_ties,
                                        book.count_untestable)]
    assert counts == [1, 0, 0, 1]
    text = str(book.verdict(worse, "v10"))
    assert "**nested_2d** (mse)" in text and (
        "not testable on this task (neither beats its best reference predictor, "
        "0.227 (training mean), beyond noise)." in text
    )
    assert "v10 is better beyond noise." in text  # spiral


def test_the_winner_of_a_task_is_one_that_learns_it():
    """A best mean with a diverged seed has not learned the task: the winner is the best of
    those that have."""
    from richneuron.store.schema import Reference

    ref = Reference("nested_2d", "mse", {"mean": 0.227, "linear": 0.227, "knn": 0.05})
    summary = {
        ("a", "nested_2d"): {"mean": 0.01, "low": 0.005, "high": 0.02, "n_diverged": 1,
                             "metric": "mse"},
        ("b", "nested_2d"): {"mean": 0.05, "low": 0.04, "high": 0.06, "n_diverged": 0,
                             "metric": "mse"},
    }
    assert book.best_of_task(summary, ["a", "b"], "nested_2d") == "a"  # by its mean alone
    assert book.best_of_task(summary, ["a", "b"], "nested_2d", ref) == "b"
    assert book.best_of_task(summary, ["a"], "nested_2d", ref) is None
