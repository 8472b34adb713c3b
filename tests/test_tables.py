"""The two forms of a table (HTML book, PAPER.md) and their escaping (richneuron.tables)."""


import pytest

from richneuron.tables import Cell, Table, markdown_table


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

    assert markdown_table(["a", "b"], [["x|y", 1]]) == "| a | b |\n|---|---|\n| x\\|y | 1 |\n"
