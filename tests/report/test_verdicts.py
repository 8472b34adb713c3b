"""One verdict per claim: every page takes a claim's verdict from the ledger, and the built book
states no claim with two verdicts for one scope (protocol, architectures, seeds)."""

from pathlib import Path

import pytest

from richneuron.analysis import claims, rules
from richneuron.report import book, verdicts

ROOT = Path(__file__).parents[2]

SENTENCE = (
    "A finding (#8 `ood_degradation` · chapters’ protocol; all 24 architectures; seeds 0–9): "
    "ours 3x (a; b), published 7x; **{}** (direction within noise) (check: a rule)."
)
TABLE = """
| # | finding | check | verdict (chapters’ protocol; all 24 architectures; seeds 0–9) |
|---|---------|-------|------|
| 8 | A finding | a rule: not replicated if x | **{}** |
| 9 | Another | rule | **replicated** |

| # | finding | {chapters} | {tuned} |
|---|---------|------|------|
| 8 | A finding | **not testable**: 1x | **replicated**: 3x |
"""
CHAPTERS = "chapters’ protocol; all 24 architectures; seeds 0–4"
TUNED = "tuned; all 24 architectures; seeds 0–4"


def table(verdict: str) -> str:
    return TABLE.format(verdict, chapters=CHAPTERS, tuned=TUNED)


def test_a_claim_with_two_verdicts_in_one_scope_is_found():
    page = SENTENCE.format("not testable") + "\n" + table("not established")
    stated = verdicts.stated_verdicts(page)
    assert {(s.number, s.scope, s.verdict) for s in stated} == {
        (8, "chapters' protocol; all 24 architectures; seeds 0–9", "not testable"),
        (8, "chapters' protocol; all 24 architectures; seeds 0–9", "not established"),
        (9, "chapters' protocol; all 24 architectures; seeds 0–9", "replicated"),
        (8, "chapters' protocol; all 24 architectures; seeds 0–4", "not testable"),
        (8, "tuned; all 24 architectures; seeds 0–4", "replicated"),
    }
    (line,) = verdicts.conflicts(stated)
    assert line.startswith("claim 8 (A finding) on chapters' protocol") and "lines 1" in line
    # the same verdict twice, and other verdicts in other scopes, are no conflict
    agreeing = SENTENCE.format("not testable") + "\n" + table("not testable")
    assert verdicts.conflicts(verdicts.stated_verdicts(agreeing)) == []


def test_an_unscoped_sentence_and_an_unreadable_row_are_not_skipped():
    unscoped = SENTENCE.replace(" · chapters’ protocol; all 24 architectures; seeds 0–9", "")
    (stated,) = verdicts.stated_verdicts(unscoped.format("not testable"))
    assert stated.scope == "" and stated.verdict == "not testable"
    split = table("replicated").replace("| Another | rule |", "| Another | a | b | rule |")
    with pytest.raises(ValueError, match="line 5: a claims table row of 6 cells under 4 headers"):
        verdicts.stated_verdicts(split)


def test_the_built_book_gives_each_claim_one_verdict_per_scope():
    """PAPER.md is the built book (the gate rebuilds it and fails on any byte that differs):
    every claim of the ledger is stated there, under the ledger's scope, with one verdict."""
    stated = verdicts.stated_verdicts((ROOT / "PAPER.md").read_text(encoding="utf-8"))
    assert verdicts.conflicts(stated) == []
    assert all(s.scope for s in stated)  # every verdict names where it was judged
    (scope,) = {s.scope for s in stated if s.kind == "sentence"}  # the chapters print one ledger
    assert scope.startswith(f"{rules.CHAPTERS_PROTOCOL}; all ") and scope.endswith("seeds 0–9")
    ledger_scope = [s for s in stated if s.scope == scope]
    assert len({(s.number, s.finding) for s in ledger_scope}) == len(claims.CLAIMS)
    # the chapters state the claims they discuss in sentences, in the ledger's scope
    sentences = {s.number for s in ledger_scope if s.kind == "sentence"}
    assert sentences >= {1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12}


def test_every_claim_carries_its_scope(rs):
    published = book.load_published(ROOT / "data" / "published.json")
    (claim,) = claims.evaluate(rs, published, ["sine_control"])
    assert claim.scope == rules.scope_of(rs)
    assert claim.scope.startswith("chapters' protocol; ") and "; seeds 0–3" in claim.scope
    (tuned,) = claims.evaluate(rs, published, ["sine_control"], protocol="tuned")
    assert tuned.scope.startswith("tuned; ") and tuned.verdict == claim.verdict
