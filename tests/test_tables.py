"""The tables' number format and the two forms of a table (HTML book, PAPER.md)."""

import math

import pytest

from richneuron.formatting import compact
from richneuron.tables import Cell, Table, markdown_table


@pytest.mark.parametrize(
    "value,metric,text",
    [
        (5.41e-4, "mse", "5.41e-4"),
        (0.000540, "mse", "5.4e-4"),
        (0.0312, "mse", "0.0312"),
        (0.01, "mse", "0.01"),
        (41.66, "mse", "41.7"),
        (999.4, "mse", "999"),
        (2.2e5, "mse", "2.2e5"),
        (1.234e-11, "mse", "1.23e-11"),
        (0.0, "mse", "0"),
        (0.9123, "accuracy", "91.2%"),
        (1.0, "accuracy", "100%"),
        (0.00346, "accuracy", "0.346%"),
        (math.nan, "mse", "nan"),
        (math.inf, "accuracy", "inf"),
    ],
)
def test_compact_gives_three_significant_figures(value, metric, text):
    assert compact(value, metric) == text


def test_table_has_an_html_and_a_markdown_form():
    table = Table(
        ["task", "a|b"],
        [["spiral", Cell("91%", sub="±1.4%", bold=True)], ["x", Cell("<1>", note="(n)")]],
    )
    assert str(table) == table._repr_markdown_() == (
        "| task | a\\|b |\n|---|---|\n| spiral | **91%** ±1.4% |\n| x | <1> (n) |\n"
    )
    html = table._repr_html_()
    assert '<td><strong>91%</strong><br><span class="rn-sub">±1.4%</span></td>' in html
    assert "<td>&lt;1&gt;<br><span class=\"rn-note\">(n)</span></td>" in html  # escaped
    assert "<th>a|b</th>" in html


def test_table_rows_must_match_the_header():
    with pytest.raises(ValueError, match="rows: every row must have one cell per header"):
        Table(["a", "b"], [["1"]])


def test_markdown_table_escapes_pipes_and_newlines():
    assert markdown_table(["a"], [["x\ny|z"]]) == "| a |\n|---|\n| x y\\|z |\n"
