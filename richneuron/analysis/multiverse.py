"""The protocol multiverse: do the ledger's verdicts survive another defensible protocol?

The chapters fixed, once, every choice the original study left open (Method chapter: omega = 1,
one learning rate for all, 2,000 steps, a 5K budget, depth 2, one task draw). Here a panel of
architectures (:data:`PANEL`) trains on every task under protocols that change one of those
choices at a time (:data:`FACTORS`), each a sweep of ``sweeps/`` committed in ``data/sweeps/``;
at the chapters' value of a factor the runs are the chapters' own, so nothing is trained
twice. Every claim the panel can decide (:data:`CLAIMS`) is evaluated in every protocol by
the ledger's own rule (:mod:`richneuron.analysis.claims`), and gets an overall verdict by a rule
fixed here before any result was seen (:func:`robust_verdict`).

    chapters = book.load_book_data("data")
    protocols = multiverse_sweeps.load(chapters)  # the protocols of the committed sweeps
    published = book.load_published()
    evaluated = multiverse.evaluate(protocols, published, facts=book.reference_facts)
    single = claims.evaluate(chapters, published, facts=book.claim_facts(chapters))
    rows = multiverse.robust_rows(single, evaluated)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..config import TrainConfig
from ..store.results import ResultSet
from ..tables import Markdown, markdown_table
from ..tasks import base_of, is_variant
from . import claims as claims_mod
from .rules import NO_FACTS, UNTESTED, VERDICTS, Claim, Facts

__all__ = [
    "CALIBRATED",
    "CLAIMS",
    "FACTORS",
    "Factor",
    "NOT_IN_MULTIVERSE",
    "PANEL",
    "Protocol",
    "ROBUST_FAILS",
    "ROBUST_HOLDS",
    "ROBUST_VERDICTS",
    "as_base",
    "calibrated_text",
    "changes",
    "count_factor_protocols",
    "curve",
    "curve_titles",
    "curves",
    "default_protocol",
    "evaluate",
    "factor_labels",
    "factor_table",
    "judge",
    "own_factors",
    "panel_differences",
    "panel_runs",
    "protocol_of",
    "protocol_table",
    "robust_counts",
    "robust_ledger",
    "robust_rows",
    "robust_verdict",
    "shown_rows",
    "side_by_side",
    "tuned_text",
    "verdict_grid",
]

#: The architectures every protocol trains: the baselines, SinGLU's sine-free control, the
#: adaptive variants the published findings name (v10, v13, v15), two related neurons with
#: their own conventions (SIREN's omega0 = 30 and initialisation; KAN's splines) and the
#: sine-free gated units (ReGLU, GEGLU, SwiGLU) that claim 13 sets against SinGLU.
PANEL = (
    "vanilla",
    "singlu",
    "bilinear",
    "v10",
    "v13",
    "v15",
    "siren",
    "kan",
    "reglu",
    "geglu",
    "swiglu",
)


@dataclass(frozen=True)
class Factor:
    """One choice of the protocol, varied alone: its :class:`TrainConfig` field, its name in
    prose, the sweep files (stems in :data:`SWEEP_DIR`) that hold its other values, and the
    panel's architectures it cannot change (their runs there are the chapters' runs)."""

    field: str
    label: str
    sweeps: tuple[str, ...]
    unaffected: tuple[str, ...] = ()


#: The factors, each over defensible values around the chapters' choice (the sweep specs in
#: ``sweeps/`` say why each value). ``omega`` scales the sine of SinGLU, v10, v13 and v15 only:
#: vanilla, bilinear, KAN and the sine-free gates have no sine, and SIREN keeps its authors'
#: omega0 = 30.
FACTORS = (
    Factor("lr", "learning rate", ("multiverse-lr",)),
    Factor("steps", "training steps", ("multiverse-steps",)),
    Factor(
        "omega",
        "sine frequency omega",
        ("multiverse-omega",),
        ("vanilla", "bilinear", "kan", "siren", "reglu", "geglu", "swiglu"),
    ),
    Factor("depth", "hidden layers", ("multiverse-depth",)),
    Factor("data_seed", "task draw (data seed)", ("multiverse-data",)),
    Factor("budget", "parameter budget", ("scaling-1k", "scaling", "scaling-large")),
)

#: The ledger's claims the panel decides, evaluated in every protocol.
CLAIMS = (
    "memorize_ratio",
    "nested_ratio",
    "checkerboard_gain",
    "singlu_wins",
    "v10_spiral_complex",
    "v13_checkerboard_spiral",
    "ood_degradation",
    "sine_control",
    "sine_gate",
)

#: The other claims, and why the multiverse does not evaluate them.
NOT_IN_MULTIVERSE = {
    "no_adaptive_majority": "needs all nine adaptive variants (v6-v15) in every protocol",
    "v15_hifreq": "needs every version v1-v13 in every protocol",
    "fixed_frequency": "needs v7, v9 and v12 in every protocol",
    "v6_alpha": "a diagnostic of v6, outside the panel",
    "v7_omega": "a diagnostic of v7, outside the panel",
    "v11_phase": "a diagnostic of v11, outside the panel",
    "width_cost": "a property of the width matching: nothing is trained",
    "headline_bits": "label capacity has its own protocol (random labels, a cosine schedule); "
    "the Capacity chapter varies its learning rate and point count",
}

#: The robust verdict's thresholds: the share of protocols in which a claim holds beyond noise.
ROBUST_HOLDS = 0.8
ROBUST_FAILS = 0.2
ROBUST_VERDICTS = (
    "robustly replicated",
    "robustly not replicated",
    "protocol-dependent",
    "not in the multiverse",
)

#: The rule, as the book states it.
ROBUST_RULE = (
    f"a claim holds in a protocol when the ledger's rule calls it replicated there (beyond "
    f"noise, at the published size where the claim names one); robustly replicated if it holds "
    f"in at least {ROBUST_HOLDS:.0%} of the protocols in which it is tested, robustly not "
    f"replicated if in at most {ROBUST_FAILS:.0%}, protocol-dependent otherwise; a protocol in "
    f"which its runs are missing (not tested) or no network it compares learns its task (not "
    f"testable) is left out"
)


#: The factor of the protocol whose tasks are calibrated to the published baseline (the
#: Tasks chapter's calibration): its runs hold the calibrated tasks' ids, judged as the tasks
#: they are settings of (:func:`as_base`).
CALIBRATED = "calibrated"


@dataclass(frozen=True, eq=False)
class Protocol:
    """One protocol of the multiverse: the factor it changes (``"default"`` for the chapters'
    protocol), that factor's value, and the panel's runs under it."""

    factor: str
    value: float | int | None
    results: ResultSet

    @property
    def name(self) -> str:
        if self.factor == "default":
            return "chapters' protocol"
        if self.factor == "tuned":
            return "tuned"
        if self.factor == CALIBRATED:
            return "calibrated tasks"
        if self.factor.startswith("tuned "):  # around the tuned protocol: value is a label
            return f"{self.factor}: {self.value}"
        if self.value is None:
            return self.factor
        value = f"{self.value:g}" if isinstance(self.value, float) else f"{self.value:,}"
        return f"{self.factor} = {value}"

    @property
    def config(self) -> TrainConfig:
        return TrainConfig(**self.results.config)


def _factor(name: str) -> Factor:
    for f in FACTORS:
        if f.field == name:
            return f
    raise ValueError(f"factor: unknown {name!r}; valid: {', '.join(f.field for f in FACTORS)}")


def protocol_of(protocols: Sequence[Protocol], factor: str) -> Protocol | None:
    """The first protocol of ``factor`` (e.g. :data:`CALIBRATED`), None when there is none (its
    file not committed, or a quick build)."""
    return next((p for p in protocols if p.factor == factor), None)


def calibrated_text(protocols: Sequence[Protocol]) -> str:
    """The calibrated protocol's tasks, as the prose names them (``"checkerboard@freq=5.66,
    ..."``), or that its file is not committed (or the build is quick)."""
    p = protocol_of(protocols, CALIBRATED)
    if p is None:
        return "not in this build (its file is not committed, or the build is quick)"
    return ", ".join(sorted({r.run.task for r in p.results.runs}))


def panel_runs(rs: ResultSet, archs: Sequence[str]) -> list:
    keep = set(archs)
    return [r for r in rs.runs if r.run.arch in keep]


def default_protocol(rs: ResultSet, archs: Sequence[str]) -> Protocol:
    """The chapters' protocol for the architectures ``archs``: the chapters' runs of them."""
    return Protocol(
        "default", None, ResultSet(rs.name, rs.config, rs.provenance, panel_runs(rs, archs))
    )


def own_factors() -> list[str]:
    """The factors this chapter varies: all but the budget (the Scaling chapter's)."""
    return [f.field for f in FACTORS if f.field != "budget"]


def shown_rows(robust: Sequence[dict]) -> list[dict]:
    """The rows of :func:`robust_rows` for the claims the multiverse tests (:data:`CLAIMS`)."""
    return [r for r in robust if r["id"] in CLAIMS]


def evaluate(
    protocols: Sequence[Protocol],
    published: dict,
    ids: Sequence[str] = CLAIMS,
    facts: Callable[[ResultSet], Facts] | None = None,
) -> dict[str, list[tuple[Protocol, Claim]]]:
    """Each claim of ``ids`` (default :data:`CLAIMS`) in every protocol: ``{id: [(protocol,
    claim), ...]}`` in the protocols' order. ``facts(results)`` gives each protocol's
    :class:`~richneuron.analysis.rules.Facts` (its reference predictors, so that a claim no
    network learns reads "not testable" there as in the ledger:
    :func:`richneuron.report.book.reference_facts`); without it, none.

    Raises:
        ValueError: on a claim the multiverse does not evaluate (naming the valid ones).
    """
    for cid in ids:
        if cid not in CLAIMS:
            raise ValueError(f"claim: {cid!r} is not evaluated here; valid: {', '.join(CLAIMS)}")
    return judge(protocols, published, ids, facts)


def judge(
    protocols: Sequence[Protocol],
    published: dict,
    ids: Sequence[str],
    facts: Callable[[ResultSet], Facts] | None,
) -> dict[str, list[tuple[Protocol, Claim]]]:
    """Each claim of ``ids`` in every protocol (no check of the ids: :func:`evaluate` checks
    them for the multiverse's), a calibrated task judged as its base task (:func:`as_base`)."""
    out: dict[str, list] = {cid: [] for cid in ids}
    for p in protocols:
        known = facts(p.results) if facts else NO_FACTS
        results, known = as_base(p.results, known)
        for c in claims_mod.evaluate(results, published, list(ids), known, protocol=p.name):
            out[c.id].append((p, c))
    return out


def as_base(rs: ResultSet, facts: Facts = NO_FACTS) -> tuple[ResultSet, Facts]:
    """``rs`` with every task at other knob values (``checkerboard@freq=5``) renamed to the
    task it is a setting of, and ``facts``' reference predictors keyed alike, so that the
    claims, which name the nine tasks, judge a calibrated task in their place.

    Raises:
        ValueError: if a task and one of its settings are both in ``rs`` (two runs would share
            one name).
    """
    tasks = {r.run.task for r in rs.runs}
    if not any(is_variant(t) for t in tasks):
        return rs, facts
    bases = [base_of(t) for t in tasks]
    twice = sorted({b for b in bases if bases.count(b) > 1})
    if twice:
        raise ValueError(f"{rs.name}: task {twice[0]!r} is there under two settings")
    runs = [
        dataclasses.replace(r, run=dataclasses.replace(r.run, task=base_of(r.run.task)))
        for r in rs.runs
    ]
    refs = {
        base_of(t): dataclasses.replace(ref, task=base_of(t)) for t, ref in facts.references.items()
    }
    return (
        ResultSet(rs.name, rs.config, rs.provenance, runs),
        dataclasses.replace(facts, references=refs),
    )


def robust_verdict(verdicts: Sequence[str]) -> str:
    """The overall verdict of a claim from its verdicts in the protocols (:data:`ROBUST_RULE`):
    the share that are ``"replicated"`` among those tested (``"not tested"`` and ``"not
    testable"`` ones, :data:`~richneuron.analysis.rules.UNTESTED`, are left out). ``"not in
    the multiverse"`` when none is tested.

    Raises:
        ValueError: on a verdict not in :data:`richneuron.analysis.rules.VERDICTS`.
    """
    for v in verdicts:
        if v not in VERDICTS:
            raise ValueError(f"verdict: unknown {v!r}; valid: {', '.join(VERDICTS)}")
    tested = [v for v in verdicts if v not in UNTESTED]
    if not tested:
        return "not in the multiverse"
    share = sum(v == "replicated" for v in tested) / len(tested)
    if share >= ROBUST_HOLDS:
        return "robustly replicated"
    if share <= ROBUST_FAILS:
        return "robustly not replicated"
    return "protocol-dependent"


def robust_counts(rows: Sequence[dict]) -> dict[str, int]:
    """How many rows of a robust ledger (:func:`robust_rows`) have each robust verdict (every
    one of :data:`ROBUST_VERDICTS`, zero where none), and ``"tested"``: those in the
    multiverse."""
    counts = {v: sum(r["robust"] == v for r in rows) for v in ROBUST_VERDICTS}
    return {**counts, "tested": len(rows) - counts["not in the multiverse"]}


def robust_rows(
    single: Sequence[Claim],
    evaluated: dict[str, list[tuple[Protocol, Claim]]],
) -> list[dict]:
    """The robust ledger: for every claim of the single-protocol ledger ``single`` (its
    verdict under the chapters' protocol with every architecture), the protocols in which it
    holds, in which its direction holds beyond noise (replicated, or partly: smaller than
    published), and its robust verdict.

    Returns:
        ``{"id", "number", "finding", "verdict", "scope", "tested", "holds", "direction",
        "robust", "where", "not_where", "note"}``: ``scope`` the single verdict's
        (:func:`~richneuron.analysis.rules.scope_of`), ``holds``/``direction`` counts of the
        ``tested`` protocols, ``where``/``not_where`` the protocols' names where it holds and not.
    """
    rows = []
    for c in single:
        pairs = evaluated.get(c.id, [])
        tested = [(p, x) for p, x in pairs if x.verdict not in UNTESTED]
        holds = [p.name for p, x in tested if x.verdict == "replicated"]
        row = {
            "id": c.id,
            "number": c.number,
            "finding": c.finding,
            "verdict": c.verdict,
            "scope": c.scope,
            "tested": len(tested),
            "holds": len(holds),
            "direction": sum(x.direction == "as claimed" for _, x in tested),
            "robust": robust_verdict([x.verdict for _, x in pairs]),
            "where": holds,
            "not_where": [p.name for p, x in tested if x.verdict != "replicated"],
            "note": NOT_IN_MULTIVERSE.get(c.id, ""),
        }
        rows.append(row)
    return rows


_MARK = {
    "replicated": "✓",
    "partly replicated": "~",
    "not replicated": "✗",
    "not established": "?",
    "not testable": "○",
    "not tested": "-",
}


def panel_differences(
    single: Sequence[Claim],
    evaluated: dict[str, list[tuple[Protocol, Claim]]],
) -> int:
    """How many evaluated claims get another verdict under the chapters' protocol with the
    panel alone (the multiverse's first protocol) than with every architecture (``single``)."""
    by_id = {c.id: c.verdict for c in single}
    return sum(
        pairs[0][1].verdict != by_id.get(cid)
        for cid, pairs in evaluated.items()
        if pairs and pairs[0][0].factor == "default"
    )


def verdict_grid(evaluated: dict[str, list[tuple[Protocol, Claim]]]) -> Markdown:
    """Every evaluated claim's verdict in every protocol: a row per protocol, a column per
    claim (its number), ✓ replicated, ~ partly, ✗ not replicated, ? not established."""
    ids = list(evaluated)
    protocols = [p for p, _ in evaluated[ids[0]]] if ids else []
    header = ["protocol", *[f"#{evaluated[c][0][1].number} {c}" for c in ids]]
    body = [
        [p.name, *[_MARK[evaluated[c][i][1].verdict] for c in ids]] for i, p in enumerate(protocols)
    ]
    return markdown_table(header, body)


def side_by_side(evaluated: dict[str, list[tuple[Protocol, Claim]]]) -> Markdown:
    """Each evaluated claim's verdict and number in every protocol of ``evaluated``, side by
    side (for a few protocols: the chapters' and the tuned one), each column headed by its
    scope (:func:`~richneuron.analysis.rules.scope_of`: protocol, architectures, seeds)."""
    ids = list(evaluated)
    if not ids:
        return Markdown("No claim evaluated.")
    header = ["#", "finding", *[c.scope or p.name for p, c in evaluated[ids[0]]]]
    body = [
        [
            evaluated[c][0][1].number,
            evaluated[c][0][1].finding,
            *[f"**{x.verdict}**: {x.ours}" for _, x in evaluated[c]],
        ]
        for c in ids
    ]
    return markdown_table(header, body)


def changes(rows: Sequence[dict]) -> Markdown:
    """The findings whose robust verdict departs from their single-protocol verdict, as
    Markdown bullets (a claim replicated under the chapters' protocol that is not robustly
    replicated, or the reverse), naming the protocols where it holds and not; a sentence when
    none does."""
    lines = []
    for r in rows:
        if r["robust"] == "not in the multiverse":
            continue
        single = r["verdict"] == "replicated"
        if single == (r["robust"] == "robustly replicated") and (
            single or r["robust"] == "robustly not replicated"
        ):
            continue
        was = "replicated" if single else f"{r['verdict']}"
        where = ", ".join(r["where"]) or "none"
        lines.append(
            f"- **#{r['number']}** {r['finding']}: {was} under the chapters' protocol, "
            f"{r['robust']} here: it holds in {r['holds']} of {r['tested']} protocols "
            f"({where})."
        )
    if not lines:
        return Markdown("No finding's verdict changes across the protocols.")
    return Markdown("\n".join(lines))


def _where(row: dict) -> str:
    if row["robust"] == "not in the multiverse":
        return row["note"]
    if row["robust"] == "protocol-dependent":
        return "holds under " + ", ".join(row["where"])
    if row["robust"] == "robustly replicated" and row["not_where"]:
        return "not under " + ", ".join(row["not_where"])
    if row["robust"] == "robustly not replicated" and row["where"]:
        return "holds only under " + ", ".join(row["where"])
    return ""


def robust_ledger(rows: Sequence[dict]) -> Markdown:
    """The robust ledger as a Markdown table: the ledger's verdict first (its header naming its
    scope), then the
    protocols in which the claim holds, in which its direction holds, and the robust verdict."""
    body = []
    for r in rows:
        counted = r["robust"] != "not in the multiverse"
        body.append(
            [
                r["number"],
                r["finding"],
                r["verdict"],
                f"{r['holds']} of {r['tested']}" if counted else "-",
                f"{r['direction']} of {r['tested']}" if counted else "-",
                f"**{r['robust']}**",
                _where(r),
            ]
        )
    scope = rows[0].get("scope", "") if rows else ""
    header = [
        "#",
        "finding",
        f"the ledger ({scope})" if scope else "the ledger",
        "holds in",
        "direction holds in",
        "robust verdict",
        "where",
    ]
    return markdown_table(header, body)


def curve(pairs: Sequence[tuple[Protocol, Claim]]) -> list[dict]:
    """A claim's specification curve: its statistic in every protocol where it is tested,
    sorted by value (NaN last): ``{"protocol", "factor", "value", "low", "high", "verdict",
    "measure"}``."""
    rows = [
        {
            "protocol": p.name,
            "factor": p.factor,
            "value": c.value,
            "low": c.low,
            "high": c.high,
            "verdict": c.verdict,
            "measure": c.measure,
        }
        for p, c in pairs
        if c.verdict not in UNTESTED
    ]
    return sorted(rows, key=lambda r: (math.isnan(r["value"]), r["value"]))


def curves(evaluated: dict[str, list[tuple[Protocol, Claim]]]) -> dict[str, list[dict]]:
    """Every claim's specification curve (:func:`curve`), by claim id."""
    return {cid: curve(pairs) for cid, pairs in evaluated.items()}


def curve_titles(claims: Sequence[Claim]) -> dict[str, str]:
    """The title of each claim's panel of the specification curves: ``#number id``."""
    return {c.id: f"#{c.number} {c.id}" for c in claims}


def factor_table(protocols: Sequence[Protocol]) -> Markdown:
    """One row per factor: the chapters' value, the other values in the multiverse, and the
    panel's architectures whose runs it changes (the others' runs there are the chapters')."""
    base = protocols[0].config
    body = []
    for f in FACTORS:
        values = [p.value for p in protocols if p.factor == f.field]
        fmt = "{:g}" if isinstance(getattr(base, f.field), float) else "{:,}"
        changed = [a for a in PANEL if a not in f.unaffected]
        body.append(
            [
                f.label,
                f"`{f.field}`",
                fmt.format(getattr(base, f.field)),
                ", ".join(fmt.format(v) for v in values) or "not trained",
                "all" if len(changed) == len(PANEL) else ", ".join(changed),
            ]
        )
    header = ["factor", "setting", "chapters' value", "other values", "architectures changed"]
    return markdown_table(header, body)


def count_factor_protocols(protocols: Sequence[Protocol]) -> int:
    """The protocols that change one choice of the chapters' (neither the chapters' own nor
    the tuned one or those around it)."""
    return sum(p.factor in {f.field for f in FACTORS} for p in protocols)


def tuned_text(protocols: Sequence[Protocol]) -> str:
    """How the prose names the tuned protocol and those around it: present or not committed."""
    around = sum(p.factor.startswith("tuned ") for p in protocols)
    if not any(p.factor == "tuned" for p in protocols):
        return "no tuned one (its file is not committed)"
    text = "the tuned one (each architecture at the setting its own search chose per task)"
    if around:
        text += f", {around} that each change one choice of the tuned one"
    return text


def factor_labels() -> str:
    """The factors' names in prose: ``"learning rate, training steps, ..."``."""
    return ", ".join(f.label for f in FACTORS)


def protocol_table(protocols: Sequence[Protocol]) -> Markdown:
    """One row per protocol: the factor, its value, the architectures and runs."""
    body = []
    for p in protocols:
        archs = sorted({r.run.arch for r in p.results.runs}, key=PANEL.index)
        label = {
            "default": "-",
            "tuned": "every hyperparameter, per architecture and task",
            CALIBRATED: "the tasks, calibrated to the published baseline",
        }
        if p.factor.startswith("tuned "):
            label[p.factor] = f"{p.factor[len('tuned '):]}, around the tuned setting"
        body.append(
            [
                p.name,
                label[p.factor] if p.factor in label else _factor(p.factor).label,
                len(archs),
                len(p.results.runs),
            ]
        )
    return markdown_table(["protocol", "factor", "architectures", "runs"], body)
