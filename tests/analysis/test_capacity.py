"""Capacity in bits: the random-data tasks, the multi-class loss, the bit counts and the chapter's
tables (chapter "Capacity in bits")."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml
from conftest import make_result

from richneuron.analysis import capacity as cap
from richneuron.analysis.cost import headline_bits
from richneuron.analysis.rules import Facts
from richneuron.config import TrainConfig
from richneuron.experiments.study import load_sweep
from richneuron.report.book import claim_facts, load_published
from richneuron.store.results import ResultSet
from richneuron.store.schema import Run
from richneuron.tasks import get_task, parse_tasks
from richneuron.train.reference import task_error, train_reference
from richneuron.train.trainer import train_chunk

ROOT = Path(__file__).resolve().parents[2]

# --- the random-data tasks


def test_random_tasks_have_the_documented_shapes_and_kinds():
    reg = get_task("random_reg_n64").generate(0)
    assert reg.x_train.shape == (64, 8) and reg.y_train.shape == (64, 4)
    assert torch.equal(reg.x_train, reg.x_test) and torch.equal(reg.y_train, reg.y_test)
    k2 = get_task("random_k2_n64")
    assert (k2.kind, k2.out_dim, k2.metric) == ("classification", 1, "accuracy")
    assert set(k2.generate(0).y_train.flatten().tolist()) == {-1.0, 1.0}
    k16 = get_task("random_k16_n300")
    y = k16.generate(0).y_train
    assert (k16.kind, k16.out_dim) == ("multiclass", 16)
    assert torch.equal(y.sum(dim=1), torch.ones(300)) and set(y.flatten().tolist()) == {0.0, 1.0}
    assert y.argmax(dim=1).unique().numel() == 16  # every class drawn at N = 300


def test_random_tasks_are_seeded_and_independent_across_n():
    a, b = get_task("random_reg_n64").generate(0), get_task("random_reg_n64").generate(0)
    assert torch.equal(a.y_train, b.y_train)
    assert not torch.equal(a.y_train, get_task("random_reg_n64").generate(1).y_train)
    assert not torch.equal(a.x_train, get_task("random_reg_n128").generate(0).x_train[:64])


@pytest.mark.parametrize(
    "name, says",
    [
        ("random_reg_n0", "N must be"),
        ("random_reg_n2000000", "N must be"),
        ("random_reg_n064", "N must be"),
        ("random_k1_n64", "K must be"),
        ("random_k2048_n64", "K must be"),
        ("random_regression", "random_reg_n<N>"),
    ],
)
def test_bad_random_ids_are_refused_with_the_reason(name, says):
    with pytest.raises(ValueError, match=says):
        get_task(name)
    with pytest.raises(ValueError, match=says):
        parse_tasks(f"spiral,{name}")


def test_random_ids_parse_beside_named_tasks():
    assert parse_tasks("random_reg_n64,spiral") == ("random_reg_n64", "spiral")
    with pytest.raises(ValueError, match="random_reg_n<N>"):
        get_task("nonsense")


def test_multiclass_accuracy_takes_the_largest_logit():
    target = torch.eye(3)[[0, 1, 2, 2]]
    pred = torch.tensor([[2.0, 0, 0], [0, 1, 0], [5, 0, 1], [0, 0, 0.1]])
    assert float(task_error(pred, target, "accuracy")) == 0.75


# --- the multi-class loss in the trainer


def test_multiclass_trajectory_matches_the_reference():
    """The compiled ensemble's softmax cross-entropy follows torch's cross_entropy on one net."""
    config = TrainConfig(steps=30, log_every=1)
    runs = [Run("singlu", "random_k5_n40", 0), Run("singlu", "random_k5_n40", 1)]
    for run, res in zip(runs, train_chunk(runs, config)):
        reference = train_reference(run, config)
        torch.testing.assert_close(
            torch.tensor(res.loss_curve), torch.tensor(reference), rtol=1e-5, atol=1e-7
        )
        assert res.loss_curve[0] == pytest.approx(math.log(5), rel=0.2)  # near chance at init


def test_regression_runs_record_each_outputs_mse():
    config = TrainConfig(steps=20, log_every=10)
    (res,) = train_chunk([Run("vanilla", "random_reg_n32", 0)], config)
    mses = [res.extra[f"mse_{j}"] for j in range(4)]
    assert sum(mses) / 4 == pytest.approx(res.test_metric, rel=1e-5)
    assert cap.run_bits(res) > 0
    (other,) = train_chunk([Run("vanilla", "memorize", 0)], config)
    assert other.extra == {}  # the study's tasks keep their stored form
    with pytest.raises(ValueError, match="per-output"):
        cap.run_bits(other)


# --- bit counts


def test_regression_bits_closed_forms():
    assert cap.regression_bits([0.25, 0.25], [1.0, 1.0], 10) == pytest.approx(20.0)  # 1 bit each
    assert cap.regression_bits([0.0], [1.0], 3) == 3 * cap.FLOAT32_BITS  # exact: capped
    assert cap.regression_bits([1e-30], [1.0], 1) == cap.FLOAT32_BITS
    assert cap.regression_bits([2.0], [1.0], 5) == 0.0  # worse than the mean: nothing
    assert cap.regression_bits([math.inf], [1.0], 5) == 0.0  # diverged: nothing


@pytest.mark.parametrize(
    "args, says",
    [
        (([0.1], [1.0, 1.0], 4), "one value per output"),
        (([-0.1], [1.0], 4), r"mse\[0\]"),
        (([math.nan], [1.0], 4), r"mse\[0\]"),
        (([0.1], [0.0], 4), r"variance\[0\] must be > 0"),
        (([0.1], [1.0], 0), "points"),
        (([0.1], [1.0], 2.5), "points"),
    ],
)
def test_regression_bits_refuses_bad_input(args, says):
    with pytest.raises(ValueError, match=says):
        cap.regression_bits(*args)


def test_classification_bits_closed_forms():
    assert cap.classification_bits(math.log(4), 4, 100) == pytest.approx(0.0, abs=1e-12)
    assert cap.classification_bits(0.0, 4, 100) == pytest.approx(200.0)
    assert cap.classification_bits(math.log(2) / 2, 2, 10) == pytest.approx(5.0)
    assert cap.classification_bits(5.0, 2, 10) == 0.0
    with pytest.raises(ValueError, match="classes"):
        cap.classification_bits(0.1, 1, 10)
    with pytest.raises(ValueError, match="cross_entropy"):
        cap.classification_bits(math.nan, 2, 10)


def test_error_rate_bits_is_collins_form():
    assert cap.error_rate_bits(0.0, 50) == 50.0
    assert cap.error_rate_bits(0.5, 50) == 0.0
    assert cap.error_rate_bits(0.9, 50) == 0.0
    h = -(0.11 * math.log2(0.11) + 0.89 * math.log2(0.89))
    assert cap.error_rate_bits(0.11, 100) == pytest.approx(100 * (1 - h))
    with pytest.raises(ValueError, match="error"):
        cap.error_rate_bits(1.5, 10)


def test_an_mse_ratio_is_worth_half_its_log():
    assert cap.mse_ratio_bits(4.0) == pytest.approx(1.0)
    assert cap.mse_ratio_bits(0.25) == pytest.approx(-1.0)
    assert cap.mse_ratio_bits(168_327) == pytest.approx(8.68, abs=0.01)
    for bad in (0.0, math.inf, math.nan, -1.0):
        with pytest.raises(ValueError, match="ratio"):
            cap.mse_ratio_bits(bad)


def test_target_variance_is_of_the_drawn_targets():
    y = get_task("random_reg_n256").generate(0).y_train.double()
    expected = y.var(0, unbiased=False).tolist()
    assert cap.target_variance("random_reg_n256") == pytest.approx(expected)
    with pytest.raises(ValueError, match="not regression"):
        cap.target_variance("random_k2_n64")


# --- capacity over a sweep, on made-up results


def _result(arch, task, seed, mse, params=100):
    return make_result(
        arch, task, seed, test_metric=mse, widths=[4, 4], params=params, train_loss=mse,
        loss_curve=[mse], test_curve=[mse], extra={f"mse_{j}": mse for j in range(4)},
    )


def _sets(table, budget=5000, params=100):
    """``table``: {(arch, lr): {n: [mse per seed]}} -> result sets, one per lr."""
    sets = {}
    for (arch, lr), by_n in table.items():
        config = TrainConfig(lr=lr, budget=budget).to_dict()
        rs = sets.setdefault(lr, ResultSet("capacity", config, {}, []))
        for n, mses in by_n.items():
            rs.runs.extend(
                _result(arch, f"random_reg_n{n}", s, m, params) for s, m in enumerate(mses)
            )
    return list(sets.values())


def test_capacity_is_the_peak_over_n_and_best_lr_wins():
    sets = _sets({
        ("a", 1e-3): {64: [1e-3, 1e-3], 128: [0.01, 0.02], 256: [0.5, 0.5]},
        ("a", 1e-2): {64: [0.5, 0.5], 128: [0.5, 0.5], 256: [0.6, 0.6]},
        ("b", 1e-3): {64: [0.5, 0.5], 128: [0.4, 0.4], 256: [0.3, 0.3]},
    })
    points = cap.capacity_points(sets)
    peaks = {(r["arch"], r["lr"]): r for r in cap.capacity(points)}
    a = peaks[("a", 1e-3)]
    assert a["points"] == 128 and not a["largest_n"]
    assert peaks[("b", 1e-3)]["largest_n"]  # still growing: a lower bound
    assert cap.best_lrs(points) == {("a", 5000): 1e-3, ("b", 5000): 1e-3}
    assert a["bits"] == [
        cap.regression_bits([m] * 4, cap.target_variance("random_reg_n128"), 128)
        for m in (0.01, 0.02)
    ]
    assert a["per_param"] == pytest.approx(a["mean"] / 100)
    assert "still growing" in cap.capacity_table([peaks[("b", 1e-3)]])
    assert "**" in cap.lr_table(points)


def test_scaling_fits_bits_against_parameters():
    sets = []
    for budget, params in ((2000, 100), (5000, 200)):
        rs = ResultSet("capacity", TrainConfig(budget=budget).to_dict(), {}, [])
        rs.runs.extend(_result("a", "random_reg_n64", s, 0.01, params) for s in range(2))
        sets.append(rs)
    fit = cap.scaling(cap.capacity_points(sets), "a")
    assert fit["slope"] == pytest.approx(0.0, abs=1e-9)  # same bits at both budgets
    with pytest.raises(ValueError, match="two budgets"):
        cap.scaling(cap.capacity_points(sets[:1]), "a")
    with pytest.raises(ValueError, match="measure"):
        cap.scaling(cap.capacity_points(sets), "a", "median")


def test_scaling_at_the_largest_n_takes_each_budgets_last_point():
    sets = []
    for budget, params, mses in ((2000, 100, [1e-4, 0.5]), (5000, 200, [1e-4, 0.25])):
        rs = ResultSet("capacity", TrainConfig(budget=budget).to_dict(), {}, [])
        rs.runs.append(_result("a", "random_reg_n64", 0, mses[0], params))
        rs.runs.append(_result("a", "random_reg_n128", 0, mses[1], params))
        sets.append(rs)
    points = cap.capacity_points(sets)
    last = cap.scaling(points, "a", "last")
    assert last["bits"] == [r["bits"][0] for r in points if r["points"] == 128]
    assert last["slope"] > 0 and "the largest N" in cap.scaling_table({"a": last}, "the largest N")


def test_steps_table_reports_the_change_over_the_seeds_trained_both_ways():
    short = cap.capacity_points(_sets({("a", 1e-3): {64: [0.01, 0.5], 128: [0.05, 0.05]}}))
    long = cap.capacity_points(_sets({("a", 1e-3): {64: [0.0025], 128: [0.2]}}))
    table, largest = cap.steps_table(short, long)
    changes = [lg["mean"] / sh["bits"][0] - 1 for sh, lg in zip(short, long)]  # seed 0 only
    assert largest == pytest.approx(max(abs(c) for c in changes))
    assert "+" in table
    (peak,) = cap.steps_peaks(short, long)
    assert peak["n_before"] == 128 and peak["n_after"] == 64  # the peak moved
    assert "N = 64" in cap.steps_peaks_table([peak])
    with pytest.raises(ValueError, match="both step counts"):
        cap.steps_table(short, cap.capacity_points(_sets({("b", 1e-3): {64: [0.1]}})))


# --- the headline re-read


def _memorize_set(vanilla_mse, singlu_mse):
    runs = []
    for arch, mse in (("vanilla", vanilla_mse), ("singlu", singlu_mse)):
        for s in range(3):
            r = _result(arch, "memorize", s, mse * (1 + 0.01 * s), params=5000)
            r.extra = {}
            runs.append(r)
    return ResultSet("book", TrainConfig().to_dict(), {}, runs)


def _label_sweep(ce: dict[str, float]) -> list[ResultSet]:
    """Random labels of 16 classes on 8,192 points, 5,000 parameters: ``{arch: cross-entropy}``,
    three seeds each (1% apart)."""
    runs = [
        make_result(arch, "random_k16_n8192", s, test_metric=0.5, widths=[4, 4], params=5000,
                    train_loss=loss * (1 + 0.01 * s), loss_curve=[loss], test_curve=[0.5])
        for arch, loss in ce.items() for s in range(3)
    ]
    return [ResultSet("capacity-labels", TrainConfig(lr=1e-2).to_dict(), {}, runs)]


def _verdict(rs, published, ce):
    return headline_bits(rs, published, claim_facts(rs, _label_sweep(ce)))


def test_headline_bits_verdicts():
    """Label capacity decides: SinGLU against vanilla, the size against what the published ratio
    is worth (at most 1.39 bits per parameter: an upper bound), and against the best sine-free
    GLU."""
    published = load_published(ROOT / "data" / "published.json")
    rs = _memorize_set(1e-6, 1e-5)
    whole = _verdict(rs, published, {"vanilla": 2.0, "singlu": 1.5, "swiglu": 1.9, "geglu": 2.1})
    assert whole.verdict == "replicated"  # a gain of 1.2 bits per parameter, under 1.39
    assert "-1.7 bits per target value" in whole.ours
    assert "8.7 bits per target value" in whole.published
    assert "SinGLU − swiglu (the best sine-free GLU) +" in whole.ours
    glu_ties = _verdict(rs, published, {"vanilla": 2.0, "singlu": 1.5, "swiglu": 1.5})
    assert glu_ties.verdict == "partly replicated"  # the lead is the gating's, not the sine's
    too_large = _verdict(rs, published, {"vanilla": 2.0, "singlu": 0.5, "swiglu": 1.9})
    assert too_large.verdict == "partly replicated"  # more than the ratio can be worth
    assert too_large.size == "larger than published"
    no_glu = _verdict(rs, published, {"vanilla": 2.0, "singlu": 1.5})
    assert no_glu.verdict == "partly replicated" and "no sine-free GLU trained" in no_glu.ours
    noise = headline_bits(rs, published, claim_facts(rs, [
        ResultSet("c", TrainConfig().to_dict(), {}, [
            make_result(arch, "random_k16_n8192", s, test_metric=0.5, widths=[4, 4],
                        params=5000, train_loss=loss, loss_curve=[loss], test_curve=[0.5])
            for arch, losses in (("vanilla", (2.0, 2.1, 2.05)), ("singlu", (2.1, 2.0, 2.05)))
            for s, loss in enumerate(losses)
        ])
    ]))
    assert noise.verdict == "not established"  # the seeds' intervals overlap
    worse = _verdict(rs, published, {"vanilla": 1.5, "singlu": 2.0, "swiglu": 1.9})
    assert worse.verdict == "not replicated"  # vanilla stores more, beyond noise
    assert worse.size == "no size claimed"  # a size is read only where SinGLU leads
    assert headline_bits(rs, published).verdict == "not tested"  # no parameter count given
    untried = headline_bits(rs, published, Facts(memorize_params=near_params(rs)))
    assert untried.verdict == "not tested" and "no label capacity" in untried.ours


def near_params(rs) -> int:
    return claim_facts(rs).memorize_params


# --- the committed sweeps agree with each other


def test_the_capacity_sweep_trains_each_architecture_at_its_best_rate():
    """sweeps/capacity.yaml names, per architecture, the learning rate of largest capacity in
    the committed learning-rate sweep."""
    lrs = cap.best_lrs(cap.capacity_points(load_sweep(ROOT / "data/sweeps/capacity-lr.json").sets))
    spec = yaml.safe_load((ROOT / "sweeps" / "capacity.yaml").read_text())
    for arch in spec["archs"]:
        assert spec["overrides"][arch]["lr"] == [lrs[(arch, 5000)]], arch


# --- figures


def test_capacity_figures_draw_what_they_are_given():
    from richneuron.report import sweep_plots

    sets = _sets({
        ("vanilla", 1e-3): {64: [0.01, 0.02], 128: [0.3, 0.3]},
        ("singlu", 1e-3): {64: [1e-4, 1e-4], 128: [0.01, 0.02]},
    })
    points = cap.capacity_points(sets)
    fig, ax = sweep_plots.plot_capacity(points)
    assert [line.get_label() for line in ax.get_lines()][:2] == ["vanilla", "singlu"]
    assert ax.get_lines()[-1].get_ydata()[-1] == 128 * 4 * cap.FLOAT32_BITS
    peaks = cap.capacity(points)
    fig2, ax2 = sweep_plots.plot_bits_per_parameter(peaks, cap.ANCHORS)
    assert len(ax2.patches) == 2 and len(ax2.get_lines()) >= len(cap.ANCHORS)
    with pytest.raises(ValueError, match="no capacity rows"):
        sweep_plots.plot_capacity(points, budget=123)
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)


def test_the_capacity_chapters_findings_from_the_committed_sweeps():
    """The Capacity chapter's findings, from its committed sweeps, say what PAPER.md says."""
    from richneuron.analysis import capacity_findings, label_capacity
    from richneuron.experiments.study import load_sweep

    sweeps = [load_sweep(ROOT / "data" / "sweeps" / f"capacity{name}.json")
              for name in ("-lr", "", "-budgets", "-steps")]
    found = capacity_findings.findings(*sweeps)
    labels = label_capacity.label_findings(
        load_sweep(ROOT / "data/sweeps/capacity-labels-lr.json"),
        load_sweep(ROOT / "data/sweeps/capacity-glu.json"),
    )
    paper = (ROOT / "PAPER.md").read_text(encoding="utf-8")
    assert f"trained at {found.other_budgets} parameters" in paper
    assert f"SinGLU’s lead over vanilla {found.steps_order})" in paper
    assert f"ranking of the seven peaks is {found.steps_ranking} at both" in paper
    best, worst = found.ranked[0], found.ranked[-1]
    assert (f"its sweep from {worst['per_param']:.2f} ({worst['arch']}) to "
            f"{best['per_param']:.2f} ({best['arch']}) bits per parameter") in paper
    assert f"SinGLU’s capacity to vanilla’s is {labels.singlu_vs_vanilla}" in paper
    assert len(found.peaks) == 7 and found.n_min < found.n_max
    assert len(labels.peaks) == 6 and labels.best_glu["arch"] in label_capacity.SINE_FREE_GLUS


def test_the_label_rate_grid_brackets_every_best_rate():
    """sweeps/capacity-labels-lr.yaml was extended until each architecture's best rate on
    random labels lies inside its grid (issue 35)."""
    from richneuron.analysis import label_capacity

    result = load_sweep(ROOT / "data/sweeps/capacity-labels-lr.json")
    choices = label_capacity.lr_choice(cap.capacity_points(result.sets))
    assert [c["arch"] for c in choices if not c["interior"]] == []
    assert {c["arch"] for c in choices} == set(result.sweep.archs)


def test_the_glu_sweep_trains_each_architecture_at_its_best_label_rate():
    """sweeps/capacity-glu.yaml names, per architecture, the rate of largest label capacity in
    the committed learning-rate sweep, and holds SinGLU, vanilla and every sine-free GLU."""
    from richneuron.analysis import label_capacity

    lr = load_sweep(ROOT / "data/sweeps/capacity-labels-lr.json")
    best = {c["arch"]: c["best"] for c in label_capacity.lr_choice(cap.capacity_points(lr.sets))}
    spec = yaml.safe_load((ROOT / "sweeps" / "capacity-glu.yaml").read_text())
    assert {"vanilla", "singlu", *label_capacity.SINE_FREE_GLUS} <= set(spec["archs"])
    for arch in spec["archs"]:
        assert spec["overrides"][arch]["lr"] == [best[arch]], arch
