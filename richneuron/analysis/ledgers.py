"""The claims as tables: the ledger (:func:`ledger`), its verdicts on a second set of seeds
(:func:`stability_rows`), the tally of verdicts, and the oddities of the published numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import stats
from ..tables import Markdown, markdown_table
from .rules import (
    NO_SIZE,
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


def ledger(
    claims: Sequence[Claim],
    first: Sequence[Claim] | None = None,
    second: Sequence[Claim] | None = None,
    seeds: tuple[str, str] = ("", ""),
):
    """The claims ledger as a Markdown table (finding, check, ours, published, direction, size,
    verdict, its header naming the claims' scope, :func:`~richneuron.analysis.rules.scope_of`;
    a dash where a claim compares nothing, or names no size); with ``first`` and
    ``second`` (the same claims evaluated on each half of the seeds alone, named by ``seeds``)
    three more columns: the verdict on each half and the stability (``agrees``, or ``flips`` in
    bold: the halves disagree)."""
    scope = claims[0].scope if claims and claims[0].scope else ""
    verdict = f"verdict ({scope})" if scope else "verdict"
    header = ["#", "finding", "check", "ours", "published", "direction", "size", verdict]
    rows = [
        [
            c.number,
            c.finding,
            c.rule,
            c.ours,
            c.published,
            c.direction or "—",
            c.size if c.size and c.size != NO_SIZE else "—",
            f"**{c.verdict}**",
        ]
        for c in claims
    ]
    if first is not None and second is not None:
        header += [_half_header(first, seeds[0]), _half_header(second, seeds[1]), "stability"]
        for row, r in zip(rows, stability_rows(claims, first, second)):
            row += [
                f"{r['first_verdict']}: {r['first_ours']}",
                f"{r['second_verdict']}: {r['second_ours']}",
                "**flips**" if r["stability"] == "flips" else r["stability"],
            ]
    return markdown_table(header, rows)


def _half_header(half: Sequence[Claim], seeds: str) -> str:
    """A half's column: its verdicts' scope (:func:`~richneuron.analysis.rules.scope_of`)."""
    return f"verdict ({half[0].scope})" if half and half[0].scope else f"on seeds {seeds}"


def stability_rows(
    claims: Sequence[Claim],
    first: Sequence[Claim] | None,
    second: Sequence[Claim] | None,
) -> list[dict]:
    """Each claim's verdict (on every seed) beside its verdicts on two disjoint halves of the
    seeds: ``{"id", "number", "finding", "verdict", "ours", "first_verdict", "first_ours",
    "second_verdict", "second_ours", "stability"}``, the stability the halves' agreement
    (:func:`richneuron.stats.agreement`: ``"agrees"`` or ``"flips"``; ``"not checked"`` when
    one half lacks the runs the claim needs and the other does not).

    Empty when either half is None (no second opinion stored).

    Raises:
        ValueError: if the lists are not the same claims in the same order.
    """
    if first is None or second is None:
        return []
    for name, other in (("first", first), ("second", second)):
        if [c.id for c in claims] != [c.id for c in other]:
            raise ValueError(f"{name}: must hold the same claims as claims, in the same order")
    rows = []
    for c, a, b in zip(claims, first, second):
        unchecked = (a.verdict == "not tested") != (b.verdict == "not tested")
        rows.append(
            {
                "id": c.id,
                "number": c.number,
                "finding": c.finding,
                "verdict": c.verdict,
                "ours": c.ours,
                "first_verdict": a.verdict,
                "first_ours": a.ours,
                "second_verdict": b.verdict,
                "second_ours": b.ours,
                "stability": "not checked" if unchecked else stats.agreement(a.verdict, b.verdict),
            }
        )
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
