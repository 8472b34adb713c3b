"""The committed chapters as sources: re-run hints, plumbing hidden, text form with jupytext."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest

from richneuron.report.build import HIDDEN_TAG, hide_plumbing, is_glue_only, toc_documents

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = [d for d in toc_documents(ROOT / "_toc.yml") if (ROOT / f"{d}.ipynb").is_file()]
HINT = re.compile(r"^# Re-run: papermill (\S+\.ipynb) run\.ipynb((?: -p \w+ \S+)+)$")


def _read(doc: str):
    return nbformat.read(ROOT / f"{doc}.ipynb", as_version=4)


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_parameters_cell_starts_with_a_rerun_hint_that_works(doc):
    nb = _read(doc)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{doc}: one parameters cell"
    first = params[0].source.splitlines()[0]
    match = HINT.match(first)
    assert match, f"{doc}: the parameters cell's first line is not a re-run hint: {first!r}"
    assert match.group(1) == f"{doc}.ipynb"
    declared = papermill.inspect_notebook(str(ROOT / f"{doc}.ipynb"))
    for name in re.findall(r"-p (\w+)", match.group(2)):
        assert name in declared, f"{doc}: the hint sets {name!r}, not a parameter"


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_no_visible_cell_shows_glue(doc):
    """After the build's tagging, glue calls live only in removed cells."""
    nb = papermill.iorw.load_notebook_node(str(ROOT / f"{doc}.ipynb"))  # as papermill reads it
    nb = papermill.parameterize.parameterize_notebook(nb, {"quick": True})
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    hide_plumbing(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and HIDDEN_TAG not in cell.metadata.get("tags", []):
            assert "glue(" not in cell.source, f"{doc}: a shown cell calls glue: {cell.source!r}"
            assert "injected-parameters" not in cell.metadata.get("tags", [])


#: What a chapter's cell may not hold: a chapter displays what the library computes, so a
#: function written in a cell, or a loop over rows that builds values, belongs in the library.
COMPUTING = {
    ast.Lambda: "a lambda",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition",
    ast.For: "a for loop",
    ast.AsyncFor: "a for loop",
    ast.While: "a while loop",
}


def computing(source: str) -> list[str]:
    """What in a cell's source computes rather than displays: ``"<kind> at line <n>"``."""
    return [
        f"{COMPUTING[type(node)]} at line {node.lineno}"
        for node in ast.walk(ast.parse(source))
        if type(node) in COMPUTING
    ]


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_cells_display_what_the_library_computes(doc):
    for i, cell in enumerate(_read(doc).cells):
        if cell.cell_type == "code":
            assert not computing(cell.source), f"{doc}, cell {i}: {computing(cell.source)}"


def test_computing_finds_what_it_refuses():
    assert computing('glue("n", len(rows), display=False)\nbook.table(rs)') == []
    assert computing("ranked = sorted(peaks, key=lambda r: -r['x'])") == ["a lambda at line 1"]
    assert computing("x = 1\nby = {r['a']: r for r in rows}") == ["a dict comprehension at line 2"]
    assert computing("n = sum(r['w'] for r in rows)") == ["a generator expression at line 1"]
    assert computing("[r for r in rows if r]") == ["a list comprehension at line 1"]
    assert computing("{r['t'] for r in rows}") == ["a set comprehension at line 1"]
    assert computing("def f(x):\n    return x") == ["a function definition at line 1"]
    assert computing("for r in rows:\n    print(r)") == ["a for loop at line 1"]
    assert computing("while x:\n    x -= 1") == ["a while loop at line 1"]
    assert computing("class C:\n    pass") == ["a class definition at line 1"]


def test_is_glue_only():
    assert is_glue_only('glue("a", 1, display=False)\nglue("b", f(x))')
    assert not is_glue_only('x = 1\nglue("a", x)')
    assert not is_glue_only('book.glue("a", 1)')
    assert not is_glue_only("")
    assert not is_glue_only("glue(")  # not Python


def test_hide_plumbing_tags_only_plumbing():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("seeds = 3", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("seeds = 1", metadata={"tags": ["injected-parameters"]}),
            nbformat.v4.new_code_cell('glue("n", 3, display=False)'),
            nbformat.v4.new_code_cell("rs = chapter.run_chapter(...)"),
            nbformat.v4.new_markdown_cell("glue(...) in prose stays"),
        ]
    )
    assert hide_plumbing(nb) == 2
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags == [["parameters"], ["injected-parameters", HIDDEN_TAG], [HIDDEN_TAG], [], []]
    assert hide_plumbing(nb) == 2 and nb.cells[2].metadata["tags"] == [HIDDEN_TAG]  # idempotent


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_chapter_round_trips_through_jupytext_percent_text(doc):
    """Authors may edit a chapter as a percent script (README): nothing the build uses is lost."""
    nb = _read(doc)
    text = jupytext.writes(copy.deepcopy(nb), fmt="py:percent")
    back = jupytext.reads(text, fmt="py:percent")
    assert len(back.cells) == len(nb.cells)
    for old, new in zip(nb.cells, back.cells):
        assert (new.cell_type, new.source) == (old.cell_type, old.source)
        for key in ("tags", "mystnb"):
            assert new.metadata.get(key) == old.metadata.get(key), f"{doc}: {key} lost"


def test_mathjax_comes_from_the_pinned_package():
    from richneuron.report.sphinxext import MATHJAX_SCRIPT, mathjax_static_dir

    static = mathjax_static_dir()
    assert (static / MATHJAX_SCRIPT).stat().st_size > 100_000
    fonts = static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert len(list(fonts.glob("MathJax_*.woff"))) > 10  # CommonHTML's fonts, served locally
