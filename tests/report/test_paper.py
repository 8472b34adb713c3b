"""PAPER.md: joining the Markdown builder's pages, images and links."""

from pathlib import Path

import pytest

from richneuron.report.paper import join_paper


def page(root: Path, doc: str, text: str) -> None:
    path = root / f"{doc}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_join_orders_pages_copies_images_and_localises_links(tmp_path):
    md = tmp_path / "markdown"
    (md / "_images").mkdir(parents=True)
    (md / "_images" / "fig-a.png").write_bytes(b"png")
    page(
        md,
        "book/00-intro",
        "# Intro\n\nSee [v10](20-v10.md#ch-v10) and [tasks](01-tasks.md).\n"
        "[ext](https://x.org/README.md)\n",
    )
    page(md, "book/20-v10", '<a id="ch-v10"></a>\n\n# v10\n\n![image](../_images/fig-a.png)\n')
    out, figures = tmp_path / "PAPER.md", tmp_path / "paper_figures"
    (figures).mkdir()
    (figures / "stale.png").write_bytes(b"old")
    n = join_paper(md, ["book/00-intro", "book/20-v10"], out, figures, banner="> quick\n")
    text = out.read_text(encoding="utf-8")
    assert n == 1 and sorted(p.name for p in figures.iterdir()) == ["fig-a.png"]
    assert text.startswith("> quick\n")
    assert text.index("# Intro") < text.index("# v10")
    assert "[v10](#ch-v10)" in text and "[tasks](#doc-book-01-tasks)" in text
    assert "(https://x.org/README.md)" in text
    assert "![image](paper_figures/fig-a.png)" in text
    assert '<a id="doc-book-20-v10"></a>' in text


def test_missing_image_fails_and_leaves_old_outputs(tmp_path):
    md = tmp_path / "markdown"
    page(md, "a", "![image](_images/gone.png)\n")
    out, figures = tmp_path / "PAPER.md", tmp_path / "paper_figures"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="gone.png"):
        join_paper(md, ["a"], out, figures)
    assert out.read_text(encoding="utf-8") == "old" and not figures.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
