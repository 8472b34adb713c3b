"""The book's Sphinx extension (listed in ``_config.yml``): offline math and the execution report.

* **MathJax from the built HTML.** The HTML builders serve MathJax 3 from the book's own
  ``_static/mathjax/`` instead of a CDN, so equations render without a network. The files come
  from the PyPI package ``sphinx-mathjax-offline`` (pinned in ``requirements.lock``; it ships
  MathJax 3.2's ``es5`` build); Sphinx copies them into the output as a static path at every
  build, and ``mathjax_path`` points at its ``tex-chtml.js``. Nothing is committed.
* **The execution report.** The directive ``{execution-report}`` renders a table of the build's
  ``execution-report.json`` (written into the staged sources by :mod:`richneuron.report.build`):
  chapter, execution time, runs trained and taken from the store, status.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

__all__ = ["MATHJAX_SCRIPT", "REPORT_FILE", "mathjax_static_dir", "setup"]

#: The MathJax entry point, relative to ``_static`` (TeX input, CommonHTML output).
MATHJAX_SCRIPT = "mathjax/tex-chtml.js"
#: The execution report, in the staged source folder (next to ``_config.yml``).
REPORT_FILE = "execution-report.json"
_PACKAGE = "sphinx-mathjax-offline"


def mathjax_static_dir() -> Path:
    """The folder holding ``mathjax/`` in the installed ``sphinx-mathjax-offline`` package.

    Raises:
        RuntimeError: when the package is not installed or holds no ``tex-chtml.js``.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"{_PACKAGE} is not installed: it provides MathJax for the offline book "
            "(make setup installs requirements.lock)"
        )
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    if not (static / MATHJAX_SCRIPT).is_file():
        raise RuntimeError(f"{_PACKAGE}: no {MATHJAX_SCRIPT} under {static}")
    return static


def _offline_mathjax(app) -> None:
    """``builder-inited``: HTML builders take MathJax from the book's static files."""
    if app.builder.format != "html":
        return
    static = str(mathjax_static_dir())
    if static not in app.config.html_static_path:
        app.config.html_static_path.append(static)
    app.config.mathjax_path = MATHJAX_SCRIPT


def report_rows(srcdir: str | Path) -> list[dict] | None:
    """The rows of ``<srcdir>/execution-report.json``, or None when the build wrote none."""
    path = Path(srcdir) / REPORT_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["chapters"]


def _report_directive():
    from docutils import nodes
    from docutils.parsers.rst import Directive

    class ExecutionReport(Directive):
        """``{execution-report}``: the build's execution report as a table."""

        has_content = False

        def run(self):
            env = self.state.document.settings.env
            env.note_dependency(str(Path(env.srcdir) / REPORT_FILE))
            rows = report_rows(env.srcdir)
            if rows is None:
                para = nodes.paragraph(
                    text="No execution report: this page was built without "
                    "python -m richneuron.report.bookbuild build."
                )
                return [para]
            header = ["chapter", "executed in", "runs trained", "runs from the store", "status"]
            table = nodes.table(classes=["execution-report"])
            group = nodes.tgroup(cols=len(header))
            table += group
            group.extend(nodes.colspec(colwidth=1) for _ in header)

            def row(cells):
                tr = nodes.row()
                for text in cells:
                    entry = nodes.entry()
                    entry += nodes.paragraph(text=str(text))
                    tr += entry
                return tr

            head = nodes.thead()
            head += row(header)
            body = nodes.tbody()
            for r in rows:
                body += row(
                    [
                        r["chapter"],
                        f"{r['seconds']:.1f} s",
                        "-" if r["trained"] is None else r["trained"],
                        "-" if r["from_store"] is None else r["from_store"],
                        r["status"],
                    ]
                )
            group += head
            group += body
            return [table]

    return ExecutionReport


def setup(app) -> dict:
    """Sphinx entry point."""
    app.connect("builder-inited", _offline_mathjax)
    app.add_directive("execution-report", _report_directive())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
