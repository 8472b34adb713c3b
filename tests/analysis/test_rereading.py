"""The ledger re-read under protocols beyond the multiverse's one-factor ones
(:mod:`richneuron.analysis.rereading`), on made-up verdicts."""

import dataclasses

import pytest

from richneuron.analysis import claims as claims_mod
from richneuron.analysis import rereading
from richneuron.analysis.multiverse import CALIBRATED, Protocol
from richneuron.analysis.rules import UNTESTED, Claim
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet
from richneuron.tables import Markdown

EMPTY = ResultSet("empty", TrainConfig().to_dict(), {}, [])
DEFAULT = Protocol("default", None, EMPTY)
TUNED = Protocol("tuned", None, EMPTY)
MATCHED = Protocol("matched FLOPs", None, EMPTY)
CALIB = Protocol(CALIBRATED, None, EMPTY)


@pytest.fixture
def claim():
    """One claim, finding #3, replicated; the others are made from it."""
    return Claim("c", 3, "finding", "rule", "ours", "published", "replicated")


def judged(claim, cid, number, *verdicts):
    """``(protocol, claim)`` pairs of ``cid`` under the default, tuned and matched protocols,
    each verdict's ``ours`` naming it."""
    return [
        (p, dataclasses.replace(claim, id=cid, number=number, verdict=v, ours=f"{cid} {p.name}"))
        for p, v in zip((DEFAULT, TUNED, MATCHED), verdicts)
    ]


@pytest.fixture
def evaluated(claim):
    """Five findings: one changed under tuning only, one unchanged, one first untested, one
    changed under both, and one tested under the chapters' protocol alone."""
    return {
        "a": judged(claim, "a", 1, "replicated", "not replicated", "not tested"),
        "b": judged(claim, "b", 2, "replicated", "replicated", "not testable"),
        "c": judged(claim, "c", 3, "not tested", "replicated", "not tested"),
        "d": judged(claim, "d", 4, "not replicated", "partly replicated", "replicated"),
        "e": judged(claim, "e", 5, "replicated", "not tested", "not testable"),
    }


def test_untested_verdicts():
    """The verdicts that mean a claim was not put to the test."""
    assert UNTESTED == ("not testable", "not tested")


def test_protocol_names():
    """The names the changes print for each protocol."""
    assert [p.name for p in (DEFAULT, TUNED, MATCHED, CALIB)] == [
        "chapters' protocol", "tuned", "matched FLOPs", "calibrated tasks"
    ]


def test_changes_text_lists_changes_after_the_first(evaluated):
    """Later protocols' verdicts that differ from the first's, with their ours: a finding that
    becomes not testable (no network learns its task there) changes; one whose runs are not in
    one of the two protocols (not tested, as c at first) does not."""
    assert rereading.changes_text(evaluated) == [
        "#1 (a), tuned: replicated → not replicated (a tuned)",
        "#2 (b), matched FLOPs: replicated → not testable (b matched FLOPs)",
        "#4 (d), tuned: not replicated → partly replicated (d tuned)",
        "#4 (d), matched FLOPs: not replicated → replicated (d matched FLOPs)",
        "#5 (e), matched FLOPs: replicated → not testable (e matched FLOPs)",
    ]


def test_changes_text_compares_with_the_first_protocol_not_the_previous(claim):
    """A verdict that goes back to the first one's is no change."""
    evaluated = {"a": judged(claim, "a", 1, "replicated", "not replicated", "replicated")}
    assert rereading.changes_text(evaluated) == [
        "#1 (a), tuned: replicated → not replicated (a tuned)"
    ]


def test_changes_text_of_one_protocol_is_empty(claim):
    """With the first protocol alone there is nothing to change."""
    assert rereading.changes_text({"a": judged(claim, "a", 1, "replicated")}) == []
    assert rereading.changes_text({}) == []


def test_tested_after_first_drops_claims_untested_later(evaluated):
    """Claims without runs after the first protocol go (not tested there); a not testable
    reading stays (e); the others keep their pairs."""
    kept = rereading.tested_after_first(evaluated)
    assert list(kept) == ["a", "b", "c", "d", "e"]
    assert all(kept[cid] is evaluated[cid] for cid in kept)


def test_changes_markdown_bullets(evaluated):
    """Changes are Markdown bullets, one per line of changes_text."""
    md = rereading.changes_markdown(evaluated, "tuning")
    assert isinstance(md, Markdown)
    assert md == "\n".join(f"- {line}" for line in rereading.changes_text(evaluated))
    assert md.splitlines()[0] == "- #1 (a), tuned: replicated → not replicated (a tuned)"
    assert len(md.splitlines()) == 5


def test_changes_markdown_without_changes_counts_the_tested(claim):
    """No change: one sentence with the number of findings tested after the first protocol."""
    evaluated = {
        "a": judged(claim, "a", 1, "replicated", "replicated", "not tested"),
        "b": judged(claim, "b", 2, "not replicated", "not tested", "not replicated"),
        "e": judged(claim, "e", 5, "not testable", "not tested", "not testable"),
    }
    md = rereading.changes_markdown(evaluated, "the tuned protocol")
    assert isinstance(md, Markdown)
    assert md == (
        "Under the tuned protocol, none of the 3 findings tested there changes its verdict."
    )


def test_changed_findings_compares_first_and_last(claim):
    """changed_findings reads the first and the last verdicts alone."""
    evaluated = {
        "a": judged(claim, "a", 1, "replicated", "not replicated", "replicated"),
        "d": judged(claim, "d", 4, "not replicated", "replicated", "partly replicated"),
    }
    assert rereading.changed_findings(evaluated) == [
        "#4 (d): not replicated → partly replicated"
    ]


def test_tuned_claims_skip_are_claims():
    """The claims left out of the re-readings are claims of the ledger."""
    assert rereading.TUNED_CLAIMS_SKIP == ("width_cost", "headline_bits")
    assert set(rereading.TUNED_CLAIMS_SKIP) <= set(claims_mod.CLAIMS)


@pytest.fixture
def recorded(monkeypatch):
    """Replace rereading's judge by one that records its arguments and returns a marker."""
    calls = []

    def judge(protocols, published, ids, facts):
        calls.append((list(protocols), published, list(ids), facts))
        return {"marker": []}

    monkeypatch.setattr(rereading, "judge", judge)
    return calls


def expected_ids():
    """Every claim of the ledger but the skipped ones, in the ledger's order."""
    return [c for c in claims_mod.CLAIMS if c not in rereading.TUNED_CLAIMS_SKIP]


def test_beyond_skips_none_protocols(recorded):
    """beyond judges the protocols given, Nones left out, on every re-read claim."""
    published, facts = {"x": 1}, object()
    out = rereading.beyond([DEFAULT, None, CALIB, None, MATCHED], published, facts)
    assert out == {"marker": []}
    assert len(recorded) == 1
    protocols, got_published, ids, got_facts = recorded[0]
    assert protocols == [DEFAULT, CALIB, MATCHED]
    assert got_published is published and got_facts is facts
    assert ids == expected_ids()
    assert len(ids) == len(claims_mod.CLAIMS) - 2


def test_beyond_of_nones_judges_nothing(recorded):
    """Only Nones: an empty list of protocols is judged."""
    rereading.beyond([None, None], {})
    assert recorded == [([], {}, expected_ids(), None)]


def test_findings_judges_default_then_tuned(recorded):
    """findings wraps its two result sets as the chapters' and the tuned protocols."""
    tuned = ResultSet("tuned", TrainConfig().to_dict(), {}, [])
    rereading.findings(EMPTY, tuned, {"y": 2})
    (protocols, published, ids, facts), = recorded
    assert [(p.factor, p.value, p.results) for p in protocols] == [
        ("default", None, EMPTY), ("tuned", None, tuned)
    ]
    assert (published, ids, facts) == ({"y": 2}, expected_ids(), None)
