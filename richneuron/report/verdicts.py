"""The book's claims ledger, computed one way for every page that shows a claim's verdict.

A claim has one verdict for one scope (:func:`richneuron.analysis.rules.scope_of`: the
protocol, the architectures and the seeds it is judged on). The book's scope is the ledger's:
the chapters' protocol, every architecture of the catalogue, the ten pooled seeds
(:mod:`richneuron.report.seeds`), with the headline claim on every capacity seed. Every page
that states a claim's verdict takes it from :func:`ledger` (the Synthesis, the Multiverse, the
Capacity and Reproduction chapters) or :func:`claims` (a version chapter, for the claims it
discusses), so no chapter can judge a claim on its own narrower set of runs and print another
verdict; a page that judges under another scope (the multiverse's protocols, the tuned
protocol, the halves of the seeds) prints that scope beside every verdict.

A chapter's ledger reads the results files in its ``data_dir`` as they stand when it runs: in
``make book`` and the drift gate every file is there before the first chapter (the committed
store), so every page shows the same ledger; a quick build, which starts from no results, shows
the ledger of the chapters executed so far (a smoke test of the code, not of the verdicts).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from ..analysis.claims import CLAIMS, evaluate
from ..analysis.rules import VERDICTS, Claim, Facts
from ..paths import DATA_DIR, SWEEP_DIR
from ..store.results import ResultSet
from .book import claim_facts, load_book_data, load_published
from .second_opinion import CAPACITY_STABILITY_PATH, capacity_runs, pooled_facts

__all__ = [
    "Evidence",
    "Stated",
    "claims",
    "conflicts",
    "evidence",
    "ledger",
    "pick",
    "protocol_facts",
    "stated_verdicts",
]


class Evidence(NamedTuple):
    """What the ledger is judged on: the book's runs and the facts its claims need."""

    results: ResultSet  # every chapter's runs, pooled with the second opinion's seeds
    facts: Facts  # widths, Memorize's parameters, every capacity run, the reference predictors


def evidence(
    data_dir: str | os.PathLike = DATA_DIR,
    quick: bool = False,
    sweep_dir: str | os.PathLike = SWEEP_DIR,
) -> Evidence:
    """The book's runs (every chapter's results file in ``data_dir``, pooled with the stability
    sweep's seeds in ``sweep_dir``) and the facts of its claims (the capacity runs of both
    capacity sweeps in ``sweep_dir``); a quick build (``quick``) pools nothing, its protocol
    being another.

    Raises:
        ResultsError: naming the file, when one is corrupt or made under another protocol.
        FileNotFoundError: when ``data_dir`` holds no results file.
    """
    sweeps = Path(sweep_dir)
    rs = load_book_data(data_dir, None if quick else sweeps / "stability.json")
    facts = pooled_facts(
        claim_facts(rs, capacity_runs(sweeps)),
        None if quick else sweeps / Path(CAPACITY_STABILITY_PATH).name,
    )
    return Evidence(rs, facts)


def protocol_facts(sweep_dir: str | os.PathLike = SWEEP_DIR) -> Callable[[ResultSet], Facts]:
    """The facts of the ledger's claims for any result set of the chapters' seeds 0-4 (the
    capacity runs of those seeds in ``sweep_dir``), as :func:`richneuron.analysis.multiverse
    .findings` takes them per protocol: the Tuning chapter judges the chapters' protocol with the
    same facts as the first half of the ledger's stability check, whose scope it shares."""
    capacity = capacity_runs(sweep_dir)
    return functools.partial(claim_facts, capacity_sweep=capacity)


def ledger(found: Evidence) -> list[Claim]:
    """Every claim of :data:`richneuron.analysis.claims.CLAIMS` judged on ``found``: the claims
    ledger, each claim with its scope."""
    return evaluate(found.results, load_published(), facts=found.facts)


def pick(claims_: Sequence[Claim], ids: Sequence[str]) -> list[Claim]:
    """The claims ``ids`` of a ledger (:func:`ledger`), in that order.

    Raises:
        ValueError: on an id the ledger lacks (naming the valid ones).
    """
    by_id = {c.id: c for c in claims_}
    _known(ids, by_id)
    return [by_id[cid] for cid in ids]


def _known(ids: Sequence[str], valid: Sequence[str]) -> None:
    """Refuse, naming it and the valid ones, the first of ``ids`` not in ``valid``."""
    unknown = [cid for cid in ids if cid not in valid]
    if unknown:
        raise ValueError(f"ids: unknown claim {unknown[0]!r}; valid claims: {', '.join(valid)}")


def claims(
    ids: Sequence[str],
    data_dir: str | os.PathLike = DATA_DIR,
    quick: bool = False,
    sweep_dir: str | os.PathLike = SWEEP_DIR,
) -> list[Claim]:
    """The ledger's claims ``ids``, in that order (:func:`ledger` on :func:`evidence`): what a
    chapter prints for the claims it discusses.

    Raises:
        ValueError: on an unknown claim id (naming the valid ones), before anything is read.
    """
    _known(ids, CLAIMS)
    return pick(ledger(evidence(data_dir, quick, sweep_dir)), ids)


# ---------------------------------------------------------------------------------------------
# Reading the verdicts back from the built book (the test of one verdict per claim).

#: A claim's sentence (:func:`richneuron.report.book.claim_sentence`) as the built book prints it.
_SENTENCE = re.compile(
    r"^(?P<finding>.+?) \(#(?P<number>\d+) `?(?P<id>\w+)`?(?: · (?P<scope>.*?))?\): ours .*?; "
    r"\*\*(?P<verdict>[a-z ]+)\*\*"
)
#: A table column headed by a scope: ``verdict (<scope>)``, ``the ledger (<scope>)`` or the bare
#: scope (a protocol's column): what :func:`~richneuron.analysis.rules.scope_of` writes.
_SCOPE_HEADER = re.compile(r"^(?:[^(]*\()?(?P<scope>[^()]*; seeds [^()]*)\)?$")


class Stated(NamedTuple):
    """One verdict as the book states it: the claim (its number and finding), the scope it was
    judged on, the verdict, the line of the page where it stands, and whether a claim's
    sentence or a table states it."""

    number: int
    finding: str
    scope: str
    verdict: str
    line: int
    kind: str  # "sentence" or "table"


def _plain(text: str) -> str:
    """``text`` without the typography a page adds (curly quotes, bold, escapes), spaces folded."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\\", "")
    return " ".join(text.replace("**", "").split())


def _verdict_of(cell: str) -> str | None:
    """The verdict a table cell starts with (the longest of the verdict words), or None."""
    text = _plain(cell)
    found = [v for v in VERDICTS if text == v or text.startswith((f"{v}:", f"{v} "))]
    return max(found, key=len) if found else None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def stated_verdicts(markdown: str) -> list[Stated]:
    """Every claim verdict a built page (or PAPER.md) states with its scope: each claim's
    sentence (scope ``""`` where it names none), and each table with ``#`` and ``finding``
    columns in the columns headed by a scope (the ledger and its halves, the robust ledger, the
    tuned protocol beside the chapters').

    Raises:
        ValueError: naming the line, where a row of such a table has more or fewer cells than
            its header (a bar inside a cell), so that no verdict is skipped unread.
    """
    lines = markdown.splitlines()
    found = []
    for i, line in enumerate(lines, 1):
        m = _SENTENCE.match(line.replace("\u2019", "'").replace("\\", ""))
        if m:
            finding = _plain(m["finding"])
            scope = m["scope"] or ""  # a sentence without its scope: the test fails on it
            found.append(Stated(int(m["number"]), finding, scope, m["verdict"], i, "sentence"))
    i = 0
    while i < len(lines):
        if not (lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|-")):
            i += 1
            continue
        header = [_plain(c) for c in _cells(lines[i])]
        end = i + 2
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        if "#" in header and "finding" in header:
            scoped = {k: _SCOPE_HEADER.match(h) for k, h in enumerate(header)}
            for row_at in range(i + 2, end):
                row = _cells(lines[row_at])
                if len(row) != len(header):  # a bar in a cell splits it: the row cannot be read
                    raise ValueError(
                        f"line {row_at + 1}: a claims table row of {len(row)} cells under "
                        f"{len(header)} headers"
                    )
                if not row[header.index("#")].isdigit():
                    continue
                number, finding = int(row[header.index("#")]), _plain(row[header.index("finding")])
                for k, m in scoped.items():
                    verdict = _verdict_of(row[k]) if m else None
                    if verdict:
                        found.append(
                            Stated(number, finding, m["scope"], verdict, row_at + 1, "table")
                        )
        i = end
    return found


def conflicts(stated: Sequence[Stated]) -> list[str]:
    """The claims that carry two verdicts for the same scope, one line each naming the
    verdicts and the lines where they stand; empty when every claim has one."""
    seen: dict[tuple[int, str, str], dict[str, list[int]]] = {}
    for s in stated:
        seen.setdefault((s.number, s.finding, s.scope), {}).setdefault(s.verdict, []).append(s.line)
    return [
        f"claim {number} ({finding}) on {scope}: "
        + "; ".join(f"{v} (lines {', '.join(map(str, at))})" for v, at in verdicts.items())
        for (number, finding, scope), verdicts in seen.items()
        if len(verdicts) > 1
    ]
