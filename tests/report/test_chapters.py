"""The committed chapters as sources: each in the table of contents, a parameters cell of
literals, imports of richneuron only, no outputs, captioned figures, every glue reference
glued, re-run hints that work, no computing in cells, a text form with jupytext."""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest

import richneuron.report.build as build
import richneuron.report.chapter as chapter
from richneuron.config import TrainConfig
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




NOTEBOOK_FILES = sorted((ROOT / "book").glob("*.ipynb"))


CHAPTERS = sorted((ROOT / "book").glob("*.md")) + NOTEBOOK_FILES


VERSION_PARAMETERS = {"seeds", "steps", "budget", "tasks", "out", "quick"}


ALLOWED_IMPORTS = {"richneuron", "myst_nb"}


# {glue}`key`, {glue:text}`doc.ipynb::key:.2f`, and ```{glue:md} key directives.
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")


GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}\s+(\S+)", re.MULTILINE)


def cells(path, kind):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == kind]


def source(cell):
    return "".join(cell["source"])


def glued_keys(path):
    """Keys passed as a literal first argument to ``glue(...)`` in the notebook's code."""
    keys = set()
    for cell in cells(path, "code"):
        for node in ast.walk(ast.parse(source(cell))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "glue"
                and node.args
            ):
                if isinstance(node.args[0], ast.Constant):
                    keys.add(node.args[0].value)
    return keys


def referenced_keys(text):
    """``(document or None, key)`` for every glue reference in Markdown ``text``."""
    refs = GLUE_ROLE.findall(text) + GLUE_DIRECTIVE.findall(text)
    out = []
    for ref in refs:
        doc, _, key = ref.rpartition("::")
        out.append((doc or None, key.split(":")[0]))
    return out


def markdown_text(path):
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    return "\n".join(source(c) for c in cells(path, "markdown"))


def parameters_cell(path):
    tagged = [c for c in cells(path, "code") if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
    return tagged[0]


def parameters(path):
    values = {}
    for stmt in ast.parse(source(parameters_cell(path))).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, (
            f"{path.name}: parameters cell holds a statement other than `name = literal`"
        )
        assert isinstance(stmt.targets[0], ast.Name)
        values[stmt.targets[0].id] = ast.literal_eval(stmt.value)  # raises if not a literal
    return values


def test_every_notebook_is_a_chapter_of_the_toc_and_every_chapter_a_notebook():
    docs = build.toc_documents(ROOT / "_toc.yml")
    chapters = {d for d in docs if (ROOT / f"{d}.ipynb").is_file()}
    assert {f"book/{p.stem}" for p in NOTEBOOK_FILES} == chapters
    assert all((ROOT / f"{d}.md").is_file() for d in set(docs) - chapters)


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_parameters_cell_is_literals_with_quick(path):
    values = parameters(path)
    assert isinstance(values.get("quick"), bool), f"{path.name}: no boolean `quick` parameter"
    if re.match(r"\d+-v\d+-", path.name):
        assert VERSION_PARAMETERS <= set(values), f"{path.name}: missing parameters"
        assert values["out"] == f"data/{path.stem}.json"
        assert values["quick"] is False
        # The Method chapter prints TrainConfig's defaults as the protocol: the chapters
        # must train with them.
        defaults = TrainConfig()
        for name in ("steps", "lr", "budget"):
            if name in values:
                assert values[name] == getattr(defaults, name), f"{path.name}: {name}"
    if "seeds" in values:  # the Method chapter states this number and the rule built on it
        assert values["seeds"] == chapter.DEFAULT_SEEDS, f"{path.name}: seeds"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_imports_only_richneuron_and_myst_nb_and_no_definitions(path):
    for cell in cells(path, "code"):
        for node in ast.walk(ast.parse(source(cell))):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]} if node.level == 0 else {""}
            else:
                roots = set()
            assert roots <= ALLOWED_IMPORTS, f"{path.name}: imports {roots - ALLOWED_IMPORTS}"
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef), (
                f"{path.name}: defines {node.name!r}; put it in richneuron/"
            )


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_no_outputs_committed(path):
    for cell in cells(path, "code"):
        assert cell["outputs"] == [] and cell["execution_count"] is None, (
            f"{path.name}: committed outputs; clear them"
        )


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.name)
def test_figures_have_caption_and_name_and_one_plot_call(path):
    for cell in cells(path, "code"):
        calls = [
            n
            for n in ast.walk(ast.parse(source(cell)))
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and getattr(n.func.value, "id", "") == "plots"
        ]
        if not calls:
            continue
        assert len(calls) == 1, f"{path.name}: {len(calls)} plot calls in one cell"
        figure = cell["metadata"].get("mystnb", {}).get("figure", {})
        assert figure.get("caption") and figure.get("name"), f"{path.name}: figure metadata"


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    docs = build.toc_documents(ROOT / "_toc.yml")
    listed = {str(p.relative_to(ROOT).with_suffix("")) for p in CHAPTERS}
    assert listed == set(docs)
    assert len(docs) == len(set(docs))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_glue_reference_is_glued(path):
    refs = referenced_keys(markdown_text(path))
    for doc, key in refs:
        target = path if doc is None else (path.parent / doc)
        assert target.suffix == ".ipynb" and target.exists(), f"{path.name}: glue from {doc}"
        assert key in glued_keys(target), f"{path.name}: {key!r} is never glued in {target.name}"


def test_glue_reference_parser():
    text = (
        "a {glue:text}`v10_spiral_accuracy:.1%` b {glue}`k2` "
        "{glue:text}`20-v10-free-phase.ipynb::v10_n_wins`\n```{glue:md} v10_verdict\n```"
    )
    assert referenced_keys(text) == [
        (None, "v10_spiral_accuracy"),
        (None, "k2"),
        ("20-v10-free-phase.ipynb", "v10_n_wins"),
        (None, "v10_verdict"),
    ]


def _judging_calls(source: str) -> list[ast.Call]:
    """Calls of ``claims.evaluate``, ``multiverse.evaluate``, ``rereading.findings`` and
    ``rereading.beyond``."""
    return [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and (node.func.value.id, node.func.attr)
        in {
            ("claims", "evaluate"),
            ("multiverse", "evaluate"),
            ("rereading", "findings"),
            ("rereading", "beyond"),
        }
    ]


def _passes_facts(call: ast.Call) -> bool:
    return any(k.arg == "facts" for k in call.keywords) or len(call.args) >= 4


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_every_claim_is_judged_with_the_reference_predictors(doc):
    """One verdict per claim: a chapter that judges a claim without the reference predictors
    would miss that its task is unlearned, and print another verdict than the ledger."""
    for cell in _read(doc).cells:
        if cell.cell_type != "code":
            continue
        for call in _judging_calls(cell.source):
            assert _passes_facts(call), f"{doc}: {ast.unparse(call)} passes no facts"


def test_the_facts_check_finds_a_call_without_facts():
    calls = _judging_calls("c = claims.evaluate(rs, published, ['x'])\nmultiverse.evaluate(p, q)")
    assert [_passes_facts(c) for c in calls] == [False, False]
    calls = _judging_calls("claims.evaluate(rs, p, ids, f)\nrereading.findings(a, b, c, facts=g)")
    assert [_passes_facts(c) for c in calls] == [True, True]
