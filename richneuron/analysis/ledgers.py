"""The claims as tables: the ledger (:func:`ledger`), its verdicts on a second set of seeds
(:func:`stability_rows`), the tally of verdicts, and the oddities of the published numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import stats
from ..tables import Markdown, markdown_table
from .rules import (
    VERDICTS,
    Claim,
    published_metric,
)

__all__ = [
    "ledger",
    "published_oddities",
    "stability_rows",
    "tally",
]


def ledger(claims: Sequence[Claim], second: Sequence[Claim] | None = None, seeds: str = ""):
    """The claims ledger as a Markdown table (finding, check, ours, published, verdict); with
    ``second`` (the same claims evaluated on a disjoint set of seeds, named by ``seeds``) two
    more columns: the verdict there and the stability (``agrees``, or ``flips`` in bold)."""
    header = ["#", "finding", "check", "ours", "published", "verdict"]
    rows = [
        [c.number, c.finding, c.rule, c.ours, c.published, f"**{c.verdict}**"] for c in claims
    ]
    if second is not None:
        where = f"on seeds {seeds}" if seeds else "on the other seeds"
        header += [f"verdict {where}", "stability"]
        for row, r in zip(rows, stability_rows(claims, second)):
            row += [
                f"{r['second_verdict']}: {r['second_ours']}",
                "**flips**" if r["stability"] == "flips" else r["stability"],
            ]
    return markdown_table(header, rows)


def stability_rows(
    first: Sequence[Claim],
    second: Sequence[Claim] | None,
    pooled: Sequence[Claim] | None = None,
) -> list[dict]:
    """Each claim's verdict beside its verdict on a disjoint set of seeds of the same size:
    ``{"id", "number", "finding", "verdict", "ours", "second_verdict", "second_ours",
    "stability"}`` (:func:`richneuron.stats.agreement`: ``"agrees"`` or ``"flips"``; ``"not
    checked"`` when the second evaluation lacks the runs the claim needs). With ``pooled`` (the
    same claims on both sets of seeds together), also ``"pooled_verdict"`` and ``"pooled_ours"``.

    Empty when ``second`` is None (no disjoint seeds stored).

    Raises:
        ValueError: if the lists are not the same claims in the same order.
    """
    if second is None:
        return []
    if [c.id for c in first] != [c.id for c in second]:
        raise ValueError("second: must hold the same claims as first, in the same order")
    if pooled is not None and [c.id for c in first] != [c.id for c in pooled]:
        raise ValueError("pooled: must hold the same claims as first, in the same order")
    rows = [
        {
            "id": a.id,
            "number": a.number,
            "finding": a.finding,
            "verdict": a.verdict,
            "ours": a.ours,
            "second_verdict": b.verdict,
            "second_ours": b.ours,
            "stability": (
                "not checked"
                if b.verdict == "not tested" and a.verdict != "not tested"
                else stats.agreement(a.verdict, b.verdict)
            ),
        }
        for a, b in zip(first, second)
    ]
    for row, c in zip(rows, pooled or []):
        row.update(pooled_verdict=c.verdict, pooled_ours=c.ours)
    return rows


def tally(claims: Sequence[Claim], verdict: str) -> int:
    """How many of ``claims`` have ``verdict``.

    Raises:
        ValueError: on a verdict not in :data:`VERDICTS`.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"verdict: unknown {verdict!r}; valid: {', '.join(VERDICTS)}")
    return sum(c.verdict == verdict for c in claims)


def published_oddities(published: dict):
    """Numbers of the original that are suspect on their own terms, as Markdown bullets.

    Each bullet is computed from ``published`` by a fixed rule: a two-class accuracy below
    chance (0.5), and a baseline number that differs by more than 10x (MSE) or 10 points
    (accuracy) between the original's first table and its final tables.
    """
    lines = []
    for group, table in published["results"].items():
        if not group.endswith("percent"):
            continue
        for arch, values in table.items():
            if arch == "tasks":
                continue
            for task, value in zip(table["tasks"], values):
                if value < 50:
                    lines.append(
                        f"- **{arch} on {task}: {value}% accuracy**, below the 50% of guessing "
                        f"on two balanced classes. A classifier below chance is better than "
                        f"chance with its output negated, so this number points to a problem in "
                        f"how it was evaluated rather than to a weak model."
                    )
    first = published.get("first_version_table")
    if first:
        names = {"nested": "nested_2d", "complex": "complex_4d"}
        for i, name in enumerate(first["tasks"]):
            task = names.get(name, name)
            early = float(first["vanilla"][i])
            late = published_metric(published, "vanilla", task)
            if late is None:
                continue
            if first["metric"][i] == "acc_percent":
                gap = abs(early - 100 * late)
                if gap > 10:
                    lines.append(
                        f"- **vanilla on {task}**: {early}% in the first published table, "
                        f"{100 * late:.1f}% in the final one ({gap:.1f} points apart) for the "
                        f"same baseline network: the two tables were "
                        f"probably not made under one protocol."
                    )
            elif max(early, late) / min(early, late) > 10:
                lines.append(
                    f"- **vanilla on {task}**: MSE {early:g} in the first published table, "
                    f"{late:g} in the final one ({max(early, late) / min(early, late):,.0f}x "
                    f"apart) for the same baseline network: the two tables were probably "
                    f"not made under one protocol."
                )
    return Markdown("\n".join(lines) + "\n")
