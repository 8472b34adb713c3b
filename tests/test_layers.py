"""The package's layers, held: every module sits in one layer of :data:`LAYERS` and imports only
modules of its own layer or those below; no import circle; no module uses another's private
name; an import of the package inside a function says why beside it (``# layer: ...``).

The layers, lowest first (README, "The library"): the foundation without torch (configuration,
paths, formatting, statistics, tables, progress); the pinned arithmetic (``arithmetic/``); the
data (the tasks and the catalogue of architectures, neither importing torch at the top); the
neurons (``neurons/``, with width matching); the results store (``store/``); training
(``train/``); analysis (``analysis/``: verdicts from results passed in, no torch); experiments
(``experiments/``: specs, their runner, tuning, the multiverse's sweep files); the book
(``report/``); the command line. A folder is one room: its modules may share private names.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "richneuron"

#: Each layer's modules, lowest layer first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("paths", "config", "formatting", "tables", "stats", "progress")),
    ("arithmetic", ("arithmetic",)),
    ("data", ("tasks", "architectures")),
    ("neurons", ("neurons",)),
    ("store", ("store",)),
    ("training", ("train",)),
    ("analysis", ("analysis",)),
    ("experiments", ("experiments",)),
    ("report", ("report",)),
    ("command line", ("cli", "__main__")),
)

#: The package root imports the pinning of the arithmetic, which must run before torch starts
#: (richneuron.arithmetic.determinism.pin_environment); it is above every layer.
ROOT = "__init__"


#: What marks the reason written beside a function-local import of the package.
REASON = "# layer:"


class Import:
    def __init__(self, source: str, target: str, names: list[str], line: int, local: bool,
                 reason: bool) -> None:
        self.source, self.target, self.names, self.line = source, target, names, line
        self.local, self.reason = local, reason

    def __repr__(self) -> str:
        return f"{self.source}:{self.line} -> {self.target}"


def parse(sources: dict[str, str]) -> list[Import]:
    """Every import of the package's own modules (``from . import x``, ``from .x import y``; in
    a folder's module ``pkg.m``, ``from .x`` is its sibling ``pkg.x`` and ``from ..x`` the
    top-level ``x``) in ``sources`` (module name -> text; a folder's ``__init__`` is named as
    the folder), and every use of ``alias._private`` as an import of ``_private``."""
    out = []
    folders = {concept(n) for n in sources if "." in n}

    def module(prefix: str, dotted: str) -> str:
        """The module ``prefix + dotted`` names: a folder's module, else its top-level room."""
        full = prefix + dotted
        return full if full in sources else full.split(".")[0] if prefix == "" else full

    for name, text in sources.items():
        tree = ast.parse(text)
        lines = text.splitlines()
        folder = concept(name) + "." if concept(name) in folders else ""
        inner = set()
        for f in ast.walk(tree):
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef):
                inner |= {id(n) for n in ast.walk(f) if isinstance(n, ast.ImportFrom)}
        aliases = {}
        for n in ast.walk(tree):
            if not (isinstance(n, ast.ImportFrom) and n.level >= 1):
                continue
            base = folder if n.level == 1 else ""
            reason = REASON in lines[n.end_lineno - 1] or REASON in lines[n.lineno - 1]
            if n.module is None:  # from . import x, y
                for a in n.names:
                    aliases[a.asname or a.name] = module(base, a.name)
                    out.append(Import(name, module(base, a.name), [], n.lineno, id(n) in inner,
                                      reason))
                continue
            within = [a for a in n.names if f"{base}{n.module}.{a.name}" in sources]
            for a in within:  # from .train import trainer: a folder's module
                aliases[a.asname or a.name] = f"{base}{n.module}.{a.name}"
                out.append(Import(name, f"{base}{n.module}.{a.name}", [], n.lineno,
                                  id(n) in inner, reason))
            names = [a.name for a in n.names if a not in within]
            if names:
                out.append(Import(name, module(base, n.module), names, n.lineno, id(n) in inner,
                                  reason))
        for n in ast.walk(tree):
            if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                    and n.value.id in aliases and is_private(n.attr)):
                out.append(Import(name, aliases[n.value.id], [n.attr], n.lineno, False, True))
    return out


def concept(module: str) -> str:
    """The top-level module or folder a module belongs to (its room in :data:`LAYERS`)."""
    return module.split(".")[0]


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def upward(imports: list[Import], layers=LAYERS) -> list[str]:
    """Imports of a module in a higher layer than the importer's."""
    rank = {m: i for i, (_, ms) in enumerate(layers) for m in ms}
    source, target = (lambda i: rank[concept(i.source)]), (lambda i: rank[concept(i.target)])
    return [
        f"{i} ({layers[source(i)][0]} imports {layers[target(i)][0]})"
        for i in imports
        if i.source != ROOT and concept(i.target) in rank and target(i) > source(i)
    ]


def cycles(imports: list[Import]) -> list[list[str]]:
    """The import circles (strongly connected components of more than one module)."""
    edges: dict[str, set[str]] = {}
    for i in imports:
        edges.setdefault(i.source, set()).add(i.target)
        edges.setdefault(i.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def private_uses(imports: list[Import]) -> list[str]:
    """Private names used outside their module's folder (a folder's modules share them)."""
    return [
        f"{i}: {n}" for i in imports for n in i.names
        if is_private(n) and not (concept(i.source) == concept(i.target) and "." in i.target)
    ]


def unexplained_local(imports: list[Import]) -> list[str]:
    return [str(i) for i in imports if i.local and not i.reason]


def package_sources() -> dict[str, str]:
    """Each module's text by name: ``x`` for ``x.py`` and for folder ``x``'s ``__init__``,
    ``x.m`` for ``x/m.py``."""
    sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.glob("*.py"))}
    for p in sorted(PACKAGE.glob("*/*.py")):
        name = p.parent.name if p.stem == "__init__" else f"{p.parent.name}.{p.stem}"
        sources[name] = p.read_text(encoding="utf-8")
    return sources


IMPORTS = parse(package_sources())


def test_every_module_sits_in_exactly_one_layer():
    placed = [m for _, ms in LAYERS for m in ms]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    modules = {concept(m) for m in package_sources()} - {ROOT}
    assert sorted(modules - set(placed)) == [], "place the new module in a layer of LAYERS"
    assert sorted(set(placed) - modules) == [], "LAYERS names a module that does not exist"


def test_no_module_imports_a_higher_layer():
    assert upward(IMPORTS) == []


def test_no_import_circle():
    assert cycles(IMPORTS) == []


def test_no_module_uses_another_modules_private_name():
    assert private_uses(IMPORTS) == []


def test_an_import_inside_a_function_says_why():
    assert unexplained_local(IMPORTS) == []


@pytest.mark.parametrize(
    ("sources", "check", "expected"),
    [
        ({"tasks": "from .report import x\n", "report": ""}, upward,
         ["tasks:1 -> report (data imports report)"]),
        ({"study": "from . import tuning\n", "tuning": "def f():\n    from .study import g\n"},
         cycles, [["study", "tuning"]]),
        ({"book": "from .results import _key\n", "results": ""}, private_uses,
         ["book:1 -> results: _key"]),
        ({"book": "from . import results\nresults._key(1)\n", "results": ""}, private_uses,
         ["book:2 -> results: _key"]),
        ({"book": "def f():\n    from .claims import g\n", "claims": ""}, unexplained_local,
         ["book:2 -> claims"]),
        ({"book": "def f():\n    from .claims import g  # layer: why\n", "claims": ""},
         unexplained_local, []),
        ({"book": "def f():\n    from .claims import g  # noqa: F401\n", "claims": ""},
         unexplained_local, ["book:2 -> claims"]),
        ({"neurons": "from .base import x\n", "neurons.base": "from ..report import y\n",
          "report": ""},
         upward, ["neurons.base:1 -> report (neurons imports report)"]),
        ({"train.trainer": "from ..analysis import claims\n", "analysis.claims": ""},
         upward, ["train.trainer:1 -> analysis.claims (training imports analysis)"]),
        ({"store.results": "from ..train.cache import x\n",
          "train.cache": "from ..store import results\n"},
         cycles, [["store.results", "train.cache"]]),
        ({"analysis.claims": "from ..store import results\n", "store.results": ""}, upward, []),
        ({"neurons.base": "", "neurons.study": "from .base import _helper\n"}, private_uses, []),
        ({"neurons.base": "", "book": "from .neurons.base import _helper\n"}, private_uses,
         ["book:1 -> neurons.base: _helper"]),
    ],
)
def test_each_check_finds_what_it_is_for(sources, check, expected):
    assert check(parse(sources)) == expected


#: What must load without torch: analysis (verdicts from results passed in), the results store,
#: the catalogue of architectures and the tasks' descriptions, and the foundation.
TORCH_FREE = (
    "richneuron.architectures",
    "richneuron.config",
    "richneuron.formatting",
    "richneuron.stats",
    "richneuron.tables",
    "richneuron.tasks",
    "richneuron.store.results",
    "richneuron.store.cache",
    *(f"richneuron.analysis.{p.stem}" for p in sorted((PACKAGE / "analysis").glob("[!_]*.py"))),
)


def _loads_torch(modules: tuple[str, ...]) -> bool:
    code = f"import sys\nfor m in {list(modules)!r}: __import__(m)\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_analysis_and_the_store_load_without_torch():
    assert len(TORCH_FREE) > 10  # every analysis module is listed
    assert not _loads_torch(TORCH_FREE)
    # ... and the check can fail: the neurons do load torch.
    assert _loads_torch(("richneuron.neurons",))
