"""The protocol multiverse: protocols from sweep files, claims in each, the robust rule."""

import pytest
from conftest import published as full_published
from conftest import result  # a run with train_loss 0.1

from richneuron.analysis import multiverse, scaling
from richneuron.analysis.rules import UNTESTED, Facts
from richneuron.config import TrainConfig
from richneuron.experiments import multiverse_sweeps
from richneuron.experiments.specs import SweepResult
from richneuron.experiments.study import Sweep, save_sweep
from richneuron.store.results import ResultsError, ResultSet
from richneuron.store.schema import Reference


def chapters(runs):
    return ResultSet("book", TrainConfig().to_dict(), {}, runs)


def panel_runs(value=0.1, seeds=range(5), archs=("vanilla", "singlu"), task="memorize"):
    return [result(a, task, s, value * (1 + 0.01 * s) * (10 if a == "vanilla" else 1))
            for a in archs for s in seeds]


def write_sweep(path, archs, grid, runs_of, seeds=5, base=None):
    """A sweep file: ``runs_of(config)`` gives each protocol's runs."""
    doc = {"name": path.stem, "archs": list(archs), "tasks": ["memorize"], "seeds": seeds,
           "grid": grid}
    if base:
        doc["base"] = base
    sweep = Sweep.from_dict(doc)
    configs = list({str(c.to_dict()): c for _, c in sweep.configs()}.values())
    sets = [ResultSet(path.stem, c.to_dict(), {}, runs_of(c)) for c in configs]
    save_sweep(SweepResult(sweep, sets), path)


def test_protocols_one_factor_each_with_the_chapters_runs_borrowed(tmp_path):
    base = chapters(panel_runs() + panel_runs(archs=("v6",)))  # v6: outside the panel
    write_sweep(tmp_path / "multiverse-lr.json", ["vanilla", "singlu"], {"lr": [1e-3, 1e-2]},
                lambda c: panel_runs(value=c.lr))
    write_sweep(tmp_path / "multiverse-omega.json", ["singlu"], {"omega": [3]},
                lambda c: panel_runs(archs=("singlu",), value=0.5))
    protocols = multiverse_sweeps.load(base, tmp_path)
    names = [p.name for p in protocols]
    assert names == ["chapters' protocol", "lr = 0.001", "lr = 0.01", "omega = 3"]
    assert {r.run.arch for r in protocols[0].results.runs} == {"vanilla", "singlu"}
    # omega does not change vanilla: its runs under omega = 3 are the chapters' own
    omega = protocols[-1].results
    assert sorted({r.run.arch for r in omega.runs}) == ["singlu", "vanilla"]
    assert [r for r in omega.runs if r.run.arch == "vanilla"] == [
        r for r in base.runs if r.run.arch == "vanilla"
    ]
    assert set(multiverse_sweeps.missing(tmp_path)) >= {"multiverse-steps.json", "scaling.json"}
    assert "multiverse-lr.json" not in multiverse_sweeps.missing(tmp_path)
    assert "multiverse-steps.json" in multiverse_sweeps.missing_text(tmp_path)
    for name in multiverse_sweeps.missing(tmp_path):  # complete: the sentence says so, never empty
        (tmp_path / name).write_text("{}")
    assert multiverse_sweeps.missing(tmp_path) == []
    assert multiverse_sweeps.missing_text(tmp_path) == (
        f"Every sweep file of the multiverse is in {tmp_path}, so no protocol is left out."
    )
    assert [p.name for p in multiverse_sweeps.load(base, None)] == ["chapters' protocol"]


def test_a_sweep_that_is_not_one_factor_is_refused(tmp_path):
    base = chapters(panel_runs())
    write_sweep(tmp_path / "multiverse-lr.json", ["singlu"], {"lr": [1e-3]},
                lambda c: panel_runs(archs=("singlu",)), base={"steps": 100})
    with pytest.raises(ResultsError, match="multiverse-lr.json: .* does not change lr alone"):
        multiverse_sweeps.load(base, tmp_path)
    write_sweep(tmp_path / "multiverse-lr.json", ["v6"], {"lr": [1e-3]},
                lambda c: panel_runs(archs=("v6",)))
    with pytest.raises(ResultsError, match=r"architectures \['v6'\] are not in the panel"):
        multiverse_sweeps.load(base, tmp_path)
    write_sweep(tmp_path / "multiverse-lr.json", ["singlu"], {"lr": [1e-3]},
                lambda c: panel_runs(archs=("singlu",), seeds=(0, 1)), seeds=2)
    with pytest.raises(ResultsError, match=r"lacks the chapters' seeds \[2, 3, 4\]"):
        multiverse_sweeps.load(base, tmp_path)


@pytest.mark.parametrize(
    "verdicts,robust",
    [
        (["replicated"] * 8 + ["not replicated"] * 2, "robustly replicated"),
        (["replicated"] * 7 + ["not replicated"] * 3, "protocol-dependent"),
        (["replicated"] * 3 + ["not established"] * 7, "protocol-dependent"),
        (["replicated"] * 2 + ["partly replicated"] * 8, "robustly not replicated"),
        # protocols where the claim is not tested are not counted
        (["replicated"] * 4 + ["not tested"] * 6, "robustly replicated"),
        (["not tested"] * 3, "not in the multiverse"),
        # nor those where no network it compares learns the task
        (["replicated"] * 4 + ["not testable"] * 6, "robustly replicated"),
        (["not testable"] * 2 + ["not tested"], "not in the multiverse"),
    ],
)
def test_the_robust_rule(verdicts, robust):
    assert multiverse.robust_verdict(verdicts) == robust


def test_the_robust_rule_refuses_an_unknown_verdict():
    with pytest.raises(ValueError, match="verdict: unknown 'holds'"):
        multiverse.robust_verdict(["holds"])


def test_each_claim_in_each_protocol_and_its_robust_row(tmp_path):
    base = chapters(panel_runs())  # SinGLU 10x lower MSE than vanilla on memorize
    write_sweep(tmp_path / "multiverse-lr.json", ["vanilla", "singlu"], {"lr": [1e-3, 1e-2]},
                lambda c: panel_runs() if c.lr == 1e-3 else [
                    result(a, "memorize", s, 0.1 * (1 + 0.01 * s)) for a in ("vanilla", "singlu")
                    for s in range(5)])  # lr = 0.01: the same MSE, within noise
    protocols = multiverse_sweeps.load(base, tmp_path)
    published = full_published(memorize_mse_ratio_vanilla_over_singlu=20.0)
    evaluated = multiverse.evaluate(protocols, published, ["memorize_ratio"])
    verdicts = [c.verdict for _, c in evaluated["memorize_ratio"]]
    assert verdicts == ["replicated", "replicated", "not established"]
    curve = multiverse.curve(evaluated["memorize_ratio"])
    assert [r["protocol"] for r in curve] == ["lr = 0.01", "chapters' protocol", "lr = 0.001"]
    assert curve[-1]["value"] == pytest.approx(10) and curve[-1]["low"] < 10 < curve[-1]["high"]
    single = [c for _, c in evaluated["memorize_ratio"][:1]]
    row = multiverse.robust_rows(single, evaluated)[0]
    assert (row["holds"], row["tested"], row["robust"]) == (2, 3, "protocol-dependent")
    assert row["not_where"] == ["lr = 0.01"]
    assert "holds under chapters' protocol, lr = 0.001" in multiverse.robust_ledger([row])
    assert "protocol-dependent here: it holds in 2 of 3" in multiverse.changes([row])
    with pytest.raises(ValueError, match="claim: 'width_cost' is not evaluated here"):
        multiverse.evaluate(protocols, published, ["width_cost"])


def test_each_protocol_gets_its_own_facts():
    """The reference predictors come per protocol through ``facts``: a claim whose task no
    compared network learns reads "not testable" in that protocol alone."""
    ood = Reference("ood_shift", "mse", {"mean": 0.0922, "linear": 5.05, "knn": 0.39})

    def protocol(name, base):
        runs = [result(a, "ood_shift", s, base * (i + 1) + 0.001 * s)
                for i, a in enumerate(("vanilla", "v10")) for s in range(2)]
        return multiverse.Protocol(name, None, chapters(runs))

    protocols = [protocol("learns", 0.01), protocol("fails", 0.5)]
    seen = []

    def facts(results):
        seen.append(results)
        return Facts(references={"ood_shift": ood})

    evaluated = multiverse.evaluate(protocols, full_published(), ["ood_degradation"], facts)
    learns, fails = (c for _, c in evaluated["ood_degradation"])
    assert learns.verdict not in UNTESTED and fails.verdict == "not testable"
    assert "vanilla 0.5, v10 1" in fails.ours
    assert seen == [p.results for p in protocols]


def test_budget_protocols_rank_and_compare_the_panel(tmp_path):
    base = chapters(panel_runs())
    write_sweep(tmp_path / "scaling.json", ["vanilla", "singlu"], {"budget": [2000, 20000]},
                lambda c: panel_runs(value=0.1 if c.budget == 2000 else 1.0)
                if c.budget == 2000 else [result(a, "memorize", s, 0.1 * (1 + 0.01 * s))
                                          for a in ("vanilla", "singlu") for s in range(5)])
    protocols = scaling.by_budget(multiverse_sweeps.load(base, tmp_path))
    assert scaling.budgets(protocols) == [2000, 5000, 20000]
    assert scaling.budgets_text(protocols) == "2,000, 5,000, 20,000"
    assert scaling.largest_tolerance(protocols) == TrainConfig().tolerance  # one tolerance here
    rows = scaling.versus_rows(protocols, "singlu", "vanilla")
    assert [(r["budget"], r["outcome"]) for r in rows] == [(2000, 1), (5000, 1), (20000, 0)]
    assert scaling.tally_text(scaling.tally_versus(rows), 20000) == (
        "0 of 1 (worse beyond noise on 0)"
    )
    win = scaling.winners(protocols)
    assert [(w["best"], w["clear"]) for w in win] == [("singlu", True)] * 2 + [("singlu", False)]
    assert "singlu ≈ vanilla" in scaling.winner_table(win)
    assert "**better** 10x" in scaling.versus_table(rows, "singlu", "vanilla")
    assert scaling.overtakes(protocols, ["vanilla"]) == []
    text = scaling.overtakes_text([], [2000, 20000])
    assert text.startswith("No: at none of the 2 budgets")


def test_robust_counts_count_every_verdict_and_the_tested():
    rows = [{"robust": v} for v in ("robustly replicated", "robustly replicated",
                                    "protocol-dependent", "not in the multiverse")]
    counts = multiverse.robust_counts(rows)
    assert counts == {
        "robustly replicated": 2,
        "robustly not replicated": 0,
        "protocol-dependent": 1,
        "not in the multiverse": 1,
        "tested": 3,
    }
