"""The book's Sphinx extension (richneuron.report.sphinxext): the execution report it renders is
read
from the staged sources, and MathJax comes from the pinned package, not a CDN."""

from __future__ import annotations

import importlib.util
import json

import pytest

from richneuron.report import sphinxext
from richneuron.report.sphinxext import MATHJAX_SCRIPT, REPORT_FILE, mathjax_static_dir, report_rows


def test_the_report_rows_are_the_builds_chapters(tmp_path):
    rows = [{"chapter": "book/01-tasks", "seconds": 3.5, "trained": 0, "from_store": 10}]
    (tmp_path / REPORT_FILE).write_text(json.dumps({"chapters": rows}), encoding="utf-8")
    assert report_rows(tmp_path) == rows


def test_no_report_where_the_build_wrote_none(tmp_path):
    assert report_rows(tmp_path) is None


def test_mathjax_is_served_from_the_installed_package():
    static = mathjax_static_dir()
    assert (static / MATHJAX_SCRIPT).is_file()
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    assert str(static).startswith(next(iter(spec.submodule_search_locations)))


def test_a_missing_mathjax_package_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(sphinxext, "_PACKAGE", "no-such-mathjax-package")
    with pytest.raises(RuntimeError, match="no-such-mathjax-package is not installed"):
        mathjax_static_dir()
