"""Text and tables as the book shows them, below every module that makes them.

:class:`Markdown` and :class:`Latex` are strings a notebook renders (and ``myst_nb.glue``
stores) as ``text/markdown`` and ``text/latex``. :func:`markdown_table` is a plain GFM table.
:class:`Table` is a table of :class:`Cell` values with two forms: HTML for the HTML book (each
value on its first line, its ``±`` on a second, smaller line) and Markdown for ``PAPER.md`` (the
``±`` inline). Numbers are formatted by :mod:`richneuron.formatting`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Cell",
    "Latex",
    "Markdown",
    "Table",
    "markdown_table",
    "summary_cells",
    "text_columns",
]


class Markdown(str):
    """Markdown text: a notebook renders it; ``glue`` keeps it as ``text/markdown``."""

    def _repr_markdown_(self) -> str:
        return str(self)

    def __repr__(self) -> str:  # text/plain, as {glue:text} shows it: no quotes
        return str(self)


class Latex(str):
    """A LaTeX formula without delimiters, for ``{glue:math}`` (``text/latex``)."""

    def _repr_latex_(self) -> str:
        return f"$$ {self} $$"

    def __repr__(self) -> str:
        return str(self)


def _escape_cell(value: object) -> str:
    return str(value).replace("|", r"\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Markdown:
    """A Markdown (GFM) table; ``|`` in cells is escaped."""
    lines = [
        "| " + " | ".join(_escape_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_escape_cell(c) for c in row) + " |" for row in rows]
    return Markdown("\n".join(lines) + "\n")


@dataclass(frozen=True)
class Cell:
    """One table cell: its value, an optional second line (``±`` spread), emphasis, a note."""

    text: str
    sub: str = ""
    bold: bool = False
    note: str = ""  # a short remark after the value, e.g. "(diverged 1/3)"

    def markdown(self) -> str:
        main = f"**{self.text}**" if self.bold else self.text
        return " ".join(s for s in (main, self.sub, self.note) if s)

    def html(self) -> str:
        main = html.escape(self.text)
        main = f"<strong>{main}</strong>" if self.bold else main
        parts = [main]
        if self.sub:
            parts.append(f'<br><span class="rn-sub">{html.escape(self.sub)}</span>')
        if self.note:
            parts.append(f'<br><span class="rn-note">{html.escape(self.note)}</span>')
        return "".join(parts)


def _as_cell(value: object) -> Cell:
    return value if isinstance(value, Cell) else Cell(str(value))


#: Styles of a :class:`Table`'s HTML (inline, so a page needs no extra stylesheet).
_TABLE_STYLE = """<style>
table.rn-table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
table.rn-table th, table.rn-table td { padding: 0.2em 0.55em; text-align: right;
  vertical-align: top; white-space: nowrap; border-bottom: 1px solid #ddd; }
table.rn-table th:first-child, table.rn-table td:first-child { text-align: left; }
table.rn-table .rn-sub, table.rn-table .rn-note { font-size: 0.8em; color: #666; }
</style>"""


class Table:
    """A table with an HTML form (the HTML book) and a Markdown form (``PAPER.md``).

    A notebook cell whose value is a ``Table`` gets both as outputs; the HTML build shows the
    HTML and the Markdown builder the Markdown (``_config.yml``'s MIME priorities).
    """

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.header = [str(h) for h in header]
        self.rows = [[_as_cell(c) for c in row] for row in rows]
        if any(len(row) != len(self.header) for row in self.rows):
            raise ValueError("rows: every row must have one cell per header column")

    def _repr_markdown_(self) -> str:
        return str(self.markdown())

    def markdown(self) -> Markdown:
        return markdown_table(self.header, [[c.markdown() for c in row] for row in self.rows])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{c.html()}</td>" for c in row) + "</tr>" for row in self.rows
        )
        return (
            f'{_TABLE_STYLE}\n<div style="overflow-x: auto"><table class="rn-table">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return str(self.markdown())

    def __str__(self) -> str:
        return str(self.markdown())


def summary_cells(r: dict) -> tuple[str, ...]:
    """Plain-text cells of one :meth:`ResultSet.summary` row: arch, task, metric, mean, ci95,
    std, seeds, diverged (the command line's summaries)."""
    return (
        r["arch"],
        r["task"],
        r["metric"],
        f"{r['mean']:.4g}",
        f"[{r['low']:.4g},{r['high']:.4g}]" if r["high"] == r["high"] else "-",
        f"{r['std']:.2g}",
        str(r["n_seeds"]),
        str(r["n_diverged"]),
    )


def text_columns(rows: list[tuple[str, ...]]) -> str:
    """Rows of text cells as left-aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
