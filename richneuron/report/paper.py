"""PAPER.md: the built book as one Markdown file with its figures (Reproduction notes chapter).

Two parts. :func:`setup` is a Sphinx extension, active only under the Markdown builder of
``sphinx-markdown-builder``: it drops what a paper does not show (code-cell inputs, stderr, raw
HTML, the table-of-contents lists), turns figure captions into numbered ``Figure N.`` lines, adds
anchors for figures and equations, writes the bibliography's entries as paragraphs with anchors
(the citations link to them), links downloadable files where the repository keeps them, and
copies every image next to the Markdown.
:func:`join_paper` then joins the chapters in ``_toc.yml`` order into one file, with its images
in a folder beside it and links between chapters made local.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..store.atomic import atomic_dir, atomic_file

__all__ = ["join_paper", "setup"]

#: Where the Markdown builder's pages keep their images (relative to its output folder).
IMAGES = "_images"


def _is_markdown(app) -> bool:
    return getattr(app.builder, "name", "") == "markdown"


def _copy_image(app, docname: str, node) -> None:
    """Copy ``node``'s image to ``<outdir>/_images`` and point ``node`` at it."""
    source = Path(os.path.normpath(Path(app.srcdir) / node["uri"].lstrip("/")))
    from docutils import nodes

    figure = node.parent
    while figure is not None and not isinstance(figure, nodes.figure):
        figure = figure.parent
    names = list(figure["names"]) if figure is not None else []
    stem = names[0] if names else hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    target = Path(app.outdir) / IMAGES / f"{stem}{source.suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    doc_dir = posixpath.dirname(docname)
    node["uri"] = posixpath.relpath(f"{IMAGES}/{target.name}", doc_dir or ".")
    node["candidates"] = {"*": node["uri"]}


def _figure_number(app, docname: str, figure) -> str:
    numbers = app.env.toc_fignumbers.get(docname, {}).get("figure", {})
    for figure_id in figure["ids"]:
        if figure_id in numbers:
            return ".".join(str(n) for n in numbers[figure_id])
    return ""


def _for_paper(app, doctree, docname: str) -> None:
    """``doctree-resolved`` handler: shape a page for the Markdown builder (no-op otherwise)."""
    if not _is_markdown(app):
        return
    from docutils import nodes

    for node in list(doctree.findall(nodes.container)):
        drop_input = node.get("nb_element") == "cell_code_source"
        if drop_input or "toctree-wrapper" in node.get("classes", []):
            node.parent.remove(node)
    for node in list(doctree.findall(nodes.compound)):
        if "toctree-wrapper" in node.get("classes", []):
            node.parent.remove(node)
    for node in list(doctree.findall(nodes.literal_block)):
        if "stderr" in node.get("classes", []):
            node.parent.remove(node)
    for node in list(doctree.findall(nodes.raw)):  # e.g. the HTML theme's script tags
        node.parent.remove(node)
    for node in list(doctree.findall(nodes.math_block)):  # no blank line after the opening $$
        text = node.astext().strip()
        node.clear()
        node += nodes.Text(text)
    for node in list(doctree.findall(nodes.image)):
        _copy_image(app, docname, node)
    from sphinx import addnodes

    for node in list(doctree.findall(addnodes.download_reference)):
        # A file the page offers for download (the Synthesis's CSV) is linked where the
        # repository keeps it, relative to the source root: PAPER.md lies at the root.
        target = posixpath.normpath(posixpath.join(posixpath.dirname(docname), node["reftarget"]))
        node.replace_self(nodes.reference("", "", *node.children, refuri=target))
    for node in list(doctree.findall(nodes.citation)):  # the bibliography: one paragraph each
        entry = nodes.paragraph()
        label = node.next_node(nodes.label)
        if label is not None:
            entry += nodes.strong(text=f"[{label.astext()}]")
            entry += nodes.Text(" ")
        for child in node.children:
            if isinstance(child, nodes.paragraph):
                entry.extend(child.children)
        node.replace_self([*(nodes.target("", "", refid=i) for i in node["ids"]), entry])
    for node in list(doctree.findall(nodes.figure)) + list(doctree.findall(nodes.math_block)):
        for node_id in node["ids"]:  # the builder writes anchors for targets only
            node.parent.insert(node.parent.index(node), nodes.target("", "", refid=node_id))
    for figure in list(doctree.findall(nodes.figure)):
        number = _figure_number(app, docname, figure)
        for caption in list(figure.findall(nodes.caption)):
            line = nodes.paragraph()
            line += nodes.strong(text=f"Figure {number}." if number else "Figure.")
            line += nodes.Text(" ")
            line.extend(caption.children)
            caption.replace_self(line)
    for caption in list(doctree.findall(nodes.caption)):  # captions outside figures
        caption.replace_self(nodes.paragraph("", "", *caption.children))


def setup(app) -> dict:
    """Sphinx entry point (listed in ``_config.yml``'s ``extra_extensions``)."""
    app.connect("doctree-resolved", _for_paper)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ---------------------------------------------------------------------------------------------
# Joining the pages.

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"(?<!!)\]\((?!\w+://)([^)\s#]*?)\.md(#[^)\s]*)?\)")


def _anchor(docname: str) -> str:
    return "doc-" + re.sub(r"[^a-z0-9]+", "-", docname.lower()).strip("-")


def join_paper(
    markdown_dir: str | os.PathLike,
    docnames: Sequence[str],
    out: str | os.PathLike,
    figures: str | os.PathLike,
    banner: str = "",
) -> int:
    """Join the Markdown builder's pages into one file with its images in ``figures``.

    Images are copied into ``figures`` (replaced whole) and linked relative to ``out``; links to
    another page (``page.md#anchor``) become in-file links. Both outputs are written atomically:
    ``figures`` is built beside its final place and renamed over it, ``out`` likewise.

    Args:
        markdown_dir: output folder of the Markdown builder.
        docnames: pages in reading order (``_toc.yml``), without suffix.
        out: the joined file, e.g. ``PAPER.md``.
        figures: its image folder, e.g. ``paper_figures``.
        banner: Markdown put first (e.g. a warning that numbers come from a quick build).

    Returns:
        The number of images copied.

    Raises:
        FileNotFoundError: naming a page or image the builder did not write.
    """
    markdown_dir, out, figures = Path(markdown_dir), Path(out), Path(figures)
    rel_figures = os.path.relpath(figures, out.parent).replace(os.sep, "/")
    copied: dict[Path, str] = {}
    parts = [banner] if banner else []
    with atomic_dir(figures) as staging:
        for doc in docnames:
            page = markdown_dir / f"{doc}.md"
            text = page.read_text(encoding="utf-8")

            def image(match: re.Match, page: Path = page) -> str:
                source = (page.parent / match.group(2)).resolve()
                if source not in copied:
                    if not source.is_file():
                        raise FileNotFoundError(f"{page}: image {match.group(2)} not found")
                    name = source.name
                    while name in copied.values():
                        name = f"{len(copied)}-{source.name}"
                    shutil.copyfile(source, staging / name)
                    copied[source] = name
                return f"![{match.group(1)}]({rel_figures}/{copied[source]})"

            def link(match: re.Match, doc_dir: str = posixpath.dirname(doc)) -> str:
                target = posixpath.normpath(posixpath.join(doc_dir, match.group(1)))
                return f"]({match.group(2) or '#' + _anchor(target)})"

            text = _LINK.sub(link, _IMAGE.sub(image, text))
            parts.append(f'<a id="{_anchor(doc)}"></a>\n\n{text.strip()}\n')
    with atomic_file(out) as f:
        f.write("\n".join(parts))
    return len(copied)
