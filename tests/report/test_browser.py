r"""The built HTML book in a real browser: headless Chromium driven through chromedriver.

The book under test is ``$RICHNEURON_BOOK_HTML`` (``make test`` points it at the drift gate's
full rebuild, ``_build/gate/_build/html``); without it, the test builds the quick book first.
Every chapter page is loaded over HTTP from localhost, with no network beyond it, and checked:
every figure has loaded (``naturalWidth > 0``), no glued value is empty, every internal link
leads to a page that exists and, for a ``#fragment``, to an element with that id, every script
comes from the book itself, every formula has been typeset by MathJax (an ``mjx-container``
in each math element, no raw ``\(``, ``\[`` or ``$$`` left in the text outside code), and no
page shows the plumbing (``glue(`` calls, papermill's injected parameters). The Synthesis has
its heat map and the CSV of its numbers; the execution report lists every chapter. Screenshots
of the v10 chapter and of the Synthesis are saved beside the HTML
(``<html>/../screenshot-<chapter>.png``).

Chromium and chromedriver are Debian's packages (``make browser`` installs them); the WebDriver
protocol is spoken with the standard library, so nothing else is needed.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from richneuron.report.build import QUICK, build, toc_documents

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2000",
]
SCREENSHOT_OF = ("book/20-v10-free-phase", "book/30-synthesis")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    """The few W3C WebDriver commands the test needs, over HTTP to chromedriver."""

    def __init__(self, chromedriver: str, chromium: str) -> None:
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"],
                    },
                }
            }
        }
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())["value"]

    def get(self, url: str) -> None:
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def run(self, script: str):
        return self._call(
            "POST", f"/session/{self.session}/execute/sync", {"script": script, "args": []}
        )

    def run_async(self, script: str):
        """Run ``script``, which calls its last argument with the result (W3C execute/async)."""
        return self._call(
            "POST", f"/session/{self.session}/execute/async", {"script": script, "args": []}
        )

    def screenshot(self, path: Path) -> None:
        png = self._call("GET", f"/session/{self.session}/screenshot")
        path.write_bytes(base64.b64decode(png))

    def quit(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.session}")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def html_dir() -> Path:
    given = os.environ.get("RICHNEURON_BOOK_HTML")
    if given:
        path = Path(given)
        if not path.is_absolute():
            path = ROOT / path
        assert (path / "index.html").is_file(), f"RICHNEURON_BOOK_HTML={given}: no index.html"
        return path
    build(ROOT, QUICK)
    return QUICK.html(ROOT)


@pytest.fixture(scope="module")
def server(html_dir):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html_dir))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.fail(
            "Debian's chromium and chromium-driver are needed: run `make browser` "
            "(apt-get install chromium chromium-driver)"
        )
    driver = WebDriver(chromedriver, chromium)
    yield driver
    driver.quit()


PAGES = toc_documents(ROOT / "_toc.yml")

WAIT_FOR_IMAGES = """
const images = Array.from(document.images);
const start = Date.now();
while (Date.now() - start < 10000 && images.some(i => !i.complete)) {
  const until = Date.now() + 50; while (Date.now() < until) {}
}
return images.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);
"""

GLUE_SPANS = """
return Array.from(document.querySelectorAll('[class*="pasted"]'))
  .map(e => [e.className, e.textContent.trim(), e.querySelectorAll('img, table, .math').length]);
"""

LINKS = """
return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
"""

SCRIPTS = """
return Array.from(document.scripts).map(s => s.src).filter(src => src);
"""

# Resolves once MathJax has typeset the page (or at once with null when MathJax is absent).
MATH = """
const done = arguments[arguments.length - 1];
const report = () => {
  const maths = Array.from(document.querySelectorAll('.math'));
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-assistive-mml').forEach(e => e.remove());
  done({
    mathjax: !!(window.MathJax && window.MathJax.startup),
    maths: maths.length,
    typeset: maths.filter(m => m.querySelector('mjx-container')).length,
    containers: document.querySelectorAll('mjx-container').length,
    text: clone.textContent,
  });
};
const start = Date.now();
const wait = () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    window.MathJax.startup.promise.then(report, report);
  } else if (Date.now() - start > 5000) {
    report();
  } else {
    setTimeout(wait, 50);
  }
};
wait();
"""

VISIBLE_TEXT = "return document.body.innerText;"


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("doc", PAGES)
def test_chapter_page_in_chromium(doc, html_dir, server, browser):
    page = html_dir / f"{doc}.html"
    assert page.is_file(), f"{doc}.html was not built"
    browser.get(f"{server}/{doc}.html")

    title = browser.run("return document.title;")
    assert title and "404" not in title

    images = browser.run(WAIT_FOR_IMAGES)
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"{doc}: figures that did not load: {broken}"

    spans = browser.run(GLUE_SPANS)
    empty = [cls for cls, text, children in spans if not text and not children]
    assert not empty, f"{doc}: {len(empty)} empty glued value(s): {empty[:5]}"

    bad = []
    for href in browser.run(LINKS):
        url = urllib.parse.urlsplit(href)
        if not href.startswith(server):
            continue  # external (none are expected) or mailto:
        target = html_dir / urllib.parse.unquote(url.path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            bad.append(f"{href} (no such page)")
        elif url.fragment and target.suffix == ".html" and url.fragment not in _ids(target):
            bad.append(f"{href} (no element #{url.fragment})")
    assert not bad, f"{doc}: broken internal links: {bad}"

    external = [src for src in browser.run(SCRIPTS) if not src.startswith(server)]
    assert not external, f"{doc}: scripts from outside the book: {external}"

    math = browser.run_async(MATH)
    if math["maths"]:
        assert math["mathjax"], f"{doc}: {math['maths']} formulas but MathJax did not load"
        assert math["typeset"] == math["maths"], (
            f"{doc}: MathJax typeset {math['typeset']} of {math['maths']} formulas"
        )
    raw = [token for token in ("\\(", "\\[", "$$") if token in math["text"]]
    assert not raw, f"{doc}: raw TeX left in the page's text: {raw}"

    text = browser.run(VISIBLE_TEXT)
    assert "glue(" not in text, f"{doc}: the page shows glue calls"

    if doc in SCREENSHOT_OF:
        shot = html_dir.parent / f"screenshot-{Path(doc).name}.png"
        browser.screenshot(shot)
        assert shot.stat().st_size > 10_000


def test_chapters_show_figures_and_numbers(html_dir):
    """The version chapters are not empty shells: each shows figures and glued numbers."""
    for doc in PAGES:
        if not re.match(r"book/\d\d-v\d", doc):
            continue
        text = (html_dir / f"{doc}.html").read_text(encoding="utf-8")
        assert text.count("<img") >= 3, f"{doc}: fewer than three figures"
        assert "pasted-text" in text, f"{doc}: no glued numbers"


def test_injected_parameters_are_not_on_any_page(html_dir):
    """Papermill's injected cell repeats the parameters; the build removes it from the page."""
    for doc in PAGES:
        page = (html_dir / f"{doc}.html").read_text(encoding="utf-8")
        assert "injected-parameters" not in page, f"{doc}: papermill's injected cell is shown"


def test_synthesis_has_its_heat_map_compact_table_and_csv(html_dir, server, browser):
    import csv
    import io

    browser.get(f"{server}/book/30-synthesis.html")
    found = browser.run(
        """
        const fig = document.getElementById('fig-synthesis-scores');
        const link = Array.from(document.querySelectorAll('a[href]'))
          .find(a => a.getAttribute('href').endsWith('synthesis.csv'));
        return {
          figure: !!fig && !!fig.querySelector('img') && fig.querySelector('img').naturalWidth,
          link: link ? link.href : null,
          tables: document.querySelectorAll('table.rn-table').length,
        };
        """
    )
    assert found["figure"], "Synthesis: no heat map (fig-synthesis-scores)"
    assert found["tables"] >= 1, "Synthesis: no compact comparison table"
    assert found["link"], "Synthesis: no link to synthesis.csv"
    with urllib.request.urlopen(found["link"], timeout=30) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))
    columns = {"arch", "task", "mean", "std", "winner", "within_noise", "reference", "learns"}
    assert rows and columns <= set(rows[0])
    # one winner per task some network learns (beats its reference predictor); none elsewhere
    learned = {r["task"] for r in rows if r["learns"] == "true"}
    assert sorted(r["task"] for r in rows if r["winner"] == "true") == sorted(learned)


def test_execution_report_lists_every_chapter(html_dir):
    page = html_dir / "book" / "95-execution-report.html"
    assert page.is_file(), "the execution report page was not built"
    text = page.read_text(encoding="utf-8")
    notebooks = [d for d in PAGES if (ROOT / f"{d}.ipynb").is_file()]
    for doc in notebooks:
        assert f"{doc}.ipynb" in text, f"execution report: no row for {doc}"
    assert text.count(">executed<") == len(notebooks)
