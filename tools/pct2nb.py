"""Write a chapter notebook (no outputs) from a plain-text "percent" source, and back.

    python tools/pct2nb.py book/src/21-v11.py book/21-v11.ipynb   # text -> notebook
    python tools/pct2nb.py --back book/21-v11.ipynb              # notebook -> text (stdout)

Cells start with a marker line:

    # %% [markdown]                         a Markdown cell (its lines, verbatim)
    # %%                                    a code cell
    # %% parameters                         the papermill parameters cell
    # %% figure fig-v11-phase | Caption...  a code cell whose figure gets a label and a caption

A convenience for authors: the committed notebooks are the source of truth; this tool only
writes them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MARK = "# %%"


def parse(text: str) -> list[dict]:
    cells: list[dict] = []
    for line in text.splitlines():
        if line.startswith(MARK):
            spec = line[len(MARK) :].strip()
            meta: dict = {}
            kind = "code"
            if spec == "[markdown]":
                kind = "markdown"
            elif spec == "parameters":
                meta = {"tags": ["parameters"]}
            elif spec.startswith("figure "):
                name, caption = (s.strip() for s in spec[len("figure ") :].split("|", 1))
                meta = {"mystnb": {"figure": {"caption": caption, "name": name}}}
            elif spec:
                raise ValueError(f"unknown cell marker: {line}")
            cells.append({"cell_type": kind, "metadata": meta, "lines": []})
        elif cells:
            cells[-1]["lines"].append(line)
        elif line.strip():
            raise ValueError("text before the first cell marker")
    out = []
    for c in cells:
        lines = c["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        source = [line + "\n" for line in lines]
        if source:
            source[-1] = source[-1].rstrip("\n")
        cell = {"cell_type": c["cell_type"], "metadata": c["metadata"], "source": source}
        if c["cell_type"] == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return out


def notebook(cells: list[dict]) -> dict:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def back(nb: dict) -> str:
    parts = []
    for c in nb["cells"]:
        meta = c.get("metadata", {})
        if c["cell_type"] == "markdown":
            head = f"{MARK} [markdown]"
        elif "parameters" in meta.get("tags", []):
            head = f"{MARK} parameters"
        elif "figure" in meta.get("mystnb", {}):
            f = meta["mystnb"]["figure"]
            head = f"{MARK} figure {f['name']} | {f['caption']}"
        else:
            head = MARK
        parts.append(head + "\n" + "".join(c["source"]).rstrip("\n") + "\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--back"]:
        sys.stdout.write(back(json.loads(Path(argv[1]).read_text(encoding="utf-8"))))
        return 0
    src, dst = argv
    nb = notebook(parse(Path(src).read_text(encoding="utf-8")))
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"{Path(dst).stem[:40]}-{i}".replace(".", "-")
    Path(dst).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
