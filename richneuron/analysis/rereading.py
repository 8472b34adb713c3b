"""The ledger's claims re-read under protocols that change more than one choice at a time: the
fairly tuned protocol (the Tuning chapter: :func:`findings`) and, in the Synthesis, the tasks
calibrated to the published baseline, the panel at matched FLOPs and the tuned networks on real
data (:func:`beyond`). Each is judged by the ledger's rules, like any protocol of the
multiverse (:func:`richneuron.analysis.multiverse.evaluate`); what changes is listed with the
numbers behind it (:func:`changed_findings`, :func:`changes_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..store.results import ResultSet
from ..tables import Markdown
from . import claims as claims_mod
from .multiverse import Protocol, judge
from .rules import UNTESTED, Facts

__all__ = [
    "TUNED_CLAIMS_SKIP",
    "beyond",
    "changed_findings",
    "changes_markdown",
    "changes_text",
    "findings",
    "tested_after_first",
]

#: The claims the chapter judges before and after tuning: every one that depends on how the
#: networks are trained (the width matching trains nothing; the capacity claim has its own
#: protocol, varied in the Capacity chapter).
TUNED_CLAIMS_SKIP = ("width_cost", "headline_bits")


def findings(
    default: ResultSet,
    tuned: ResultSet,
    published: dict,
    facts: Callable[[ResultSet], Facts] | None = None,
) -> dict[str, list]:
    """Every finding that depends on the training protocol, judged on ``default`` (the chapters'
    runs) and on ``tuned`` by the ledger's rules (:func:`richneuron.analysis.claims.evaluate`), as
    :func:`evaluate` gives them (``facts`` as there): ``{id: [(protocol, claim), ...]}``."""
    ids = [c for c in claims_mod.CLAIMS if c not in TUNED_CLAIMS_SKIP]
    protocols = (Protocol("default", None, default), Protocol("tuned", None, tuned))
    return judge(protocols, published, ids, facts)


def changed_findings(evaluated: Mapping[str, list]) -> list[str]:
    """The findings of :func:`findings` whose verdict tuning changes, each as ``"#N (id):
    before -> after"``."""
    out = []
    for cid, pairs in evaluated.items():
        before, after = pairs[0][1], pairs[-1][1]
        if before.verdict != after.verdict:
            out.append(f"#{before.number} ({cid}): {before.verdict} → {after.verdict}")
    return out


def beyond(
    protocols: Sequence[Protocol | None],
    published: dict,
    facts: Callable[[ResultSet], Facts] | None = None,
) -> dict[str, list]:
    """Every finding that depends on the training protocol (as :func:`findings`) judged in each
    of ``protocols`` (the chapters' first; a ``None``, a protocol whose runs are not committed
    or not loaded in a quick build, is left out): ``{id: [(protocol, claim), ...]}``."""
    ids = [c for c in claims_mod.CLAIMS if c not in TUNED_CLAIMS_SKIP]
    return judge([p for p in protocols if p is not None], published, ids, facts)


def changes_text(evaluated: Mapping[str, list]) -> list[str]:
    """For each protocol after the first and each finding whose verdict there differs from the
    first protocol's: ``"#N (id), <protocol>: before -> after (what it rests on)"``, the reason
    being the claim's own account of the numbers there. A finding whose runs are not in one of
    the two protocols ("not tested") is no change; one that becomes "not testable" (no network
    it compares learns the task there) is."""
    out = []
    for cid, pairs in evaluated.items():
        first = pairs[0][1]
        for p, c in pairs[1:]:
            if c.verdict == first.verdict or "not tested" in (c.verdict, first.verdict):
                continue  # the same, or its runs are not in one of the two: nothing to compare
            if c.verdict in UNTESTED and first.verdict in UNTESTED:
                continue
            out.append(
                f"#{c.number} ({cid}), {p.name}: {first.verdict} → {c.verdict} ({c.ours})"
            )
    return out


def tested_after_first(evaluated: Mapping[str, list]) -> dict[str, list]:
    """The findings of ``evaluated`` with runs in some protocol after the first (the others
    read "not tested" in every one: their tasks or architectures are not there). A finding
    that reads "not testable" there (no network it compares learns its task) is kept: that is
    a reading."""
    return {
        cid: pairs
        for cid, pairs in evaluated.items()
        if any(c.verdict != "not tested" for _, c in pairs[1:])
    }


def changes_markdown(evaluated: Mapping[str, list], label: str) -> Markdown:
    """:func:`changes_text` as Markdown bullets, or one sentence saying that no finding with runs
    under ``label`` (the protocols after the first) changes its verdict."""
    lines = changes_text(evaluated)
    if not lines:
        tested = len(tested_after_first(evaluated))
        return Markdown(
            f"Under {label}, none of the {tested} findings tested there changes its verdict."
        )
    return Markdown("\n".join(f"- {line}" for line in lines))
