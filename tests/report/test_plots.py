"""Plots: each takes data, returns (fig, ax), and draws what its docstring says."""

import math

import matplotlib
import numpy as np
import pytest
from conftest import make_result

from richneuron import stats
from richneuron.config import TrainConfig
from richneuron.report import plots, sweep_plots
from richneuron.store.results import ResultSet

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def run(arch, task, seed, curve, value=0.1, diverged=False):
    return make_result(
        arch, task, seed, metric="accuracy" if task == "spiral" else "mse",
        test_metric=math.nan if diverged else value, diverged=diverged, loss_curve=curve,
        test_curve=curve, diagnostics={"phase_abs": [0.0, 0.5, 1.0]} if arch == "v10" else {},
    )


@pytest.fixture
def rs():
    runs = [
        run("v10", "spiral", 0, [1.0, 0.5, 0.2], 0.9),
        run("v10", "spiral", 1, [1.0, 0.3, 0.4], 0.8),
        run("singlu", "spiral", 0, [1.0, 0.9, 0.8], 0.7),
        run("singlu", "spiral", 1, [1.0, math.nan, math.nan], diverged=True),
        run("v10", "hifreq", 0, [2.0, 1.0, 0.5], 0.3),
        run("singlu", "hifreq", 0, [2.0, 1.5, 1.0], 0.4),
    ]
    return ResultSet("t", TrainConfig(steps=21, log_every=10).to_dict(), {}, runs)


def test_logged_steps_match_the_trainer():
    assert plots.logged_steps({"steps": 21, "log_every": 10}) == [0, 10, 20]
    assert plots.logged_steps({"steps": 25, "log_every": 10}) == [0, 10, 20, 24]


@pytest.mark.parametrize("task", ["hifreq", "spiral", "complex_4d", "memorize", "freq_gen"])
def test_plot_task_draws_both_splits(task):
    fig, ax = plots.plot_task(task)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("train (")
    assert len(labels) == (1 if task == "memorize" else 2)


def test_learning_curves_are_seed_means_on_a_log_axis(rs):
    fig, ax = plots.plot_learning_curves(rs, "spiral")
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["singlu (2 seeds)", "v10 (2 seeds)"]  # baselines first
    np.testing.assert_allclose(lines["v10 (2 seeds)"].get_ydata(), [1.0, 0.4, 0.3])
    np.testing.assert_allclose(lines["singlu (2 seeds)"].get_ydata(), [1.0, 0.9, 0.8])
    np.testing.assert_array_equal(lines["v10 (2 seeds)"].get_xdata(), [0, 10, 20])
    with pytest.raises(ValueError, match="no run of 'vanilla'"):
        plots.plot_learning_curves(rs, "spiral", ["vanilla"])


def test_diagnostic_one_line_per_run(rs):
    fig, ax = plots.plot_diagnostic(rs, "v10", "phase_abs")
    assert len(ax.get_lines()) == 3
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="phase_abs"):
        plots.plot_diagnostic(rs, "singlu", "phase_abs")


def test_metric_bars_one_panel_per_task(rs):
    fig, axes = plots.plot_metric_bars(rs)
    visible = [ax for ax in axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in visible] == ["hifreq", "spiral"]  # registry order
    heights = [p.get_height() for p in visible[1].patches]
    np.testing.assert_allclose(heights, [0.7, 0.85])  # singlu (one seed left), v10
    assert visible[0].get_yscale() == "log" and visible[1].get_ylim() == (0, 1)
    # each panel's best reference predictor, dashed: spiral's logistic regression, 62.8%
    (line,) = [ln for ln in visible[1].get_lines() if ln.get_label() == "logistic regression"]
    assert line.get_linestyle() == "--"
    assert line.get_ydata()[0] == pytest.approx(0.628)


def test_score_map_frames_winners_and_marks_ties():
    from matplotlib.patches import Rectangle

    rows = [
        {"arch": "v10", "task": "spiral", "metric": "accuracy", "mean": 0.9, "score": 1.0,
         "winner": True, "within_noise": True},
        {"arch": "singlu", "task": "spiral", "metric": "accuracy", "mean": 0.89, "score": 0.9,
         "winner": False, "within_noise": True},
        {"arch": "vanilla", "task": "spiral", "metric": "accuracy", "mean": math.nan,
         "score": math.nan, "winner": False, "within_noise": False},
        {"arch": "v10", "task": "nested_2d", "metric": "mse", "mean": 5.41e-4, "score": 0.0,
         "winner": False, "within_noise": False},
        {"arch": "singlu", "task": "nested_2d", "metric": "mse", "mean": 1e-4, "score": 1.0,
         "winner": True, "within_noise": True},
    ]
    fig, ax = sweep_plots.plot_score_map(rows)
    texts = {t.get_text(): t for t in ax.texts}
    assert set(texts) == {"90%", "≈89%", "div.", "5.41e-4", "1e-4"}
    assert texts["90%"].get_fontweight() == "bold" and texts["5.41e-4"].get_fontweight() == "normal"
    frames = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert sorted(f.get_xy() for f in frames) == [(-0.5, 0.5), (0.5, -0.5)]  # one per task
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["nested_2d", "spiral"]
    scores = ax.images[0].get_array()
    assert scores.mask[2, 1] and scores[0, 1] == 1.0  # all seeds diverged: masked (grey)


def test_activation_shapes_one_line_per_run_and_the_initial_one_dashed(rs):
    from richneuron.neurons import SHAPE_POINTS

    shape = {f"first_shape_{i}": [0.0, float(i)] for i in range(len(SHAPE_POINTS))}
    r = run("rational", "spiral", 0, [1.0, 0.5, 0.2])
    r.diagnostics = shape
    with_shape = ResultSet("t", rs.config, {}, [*rs.runs, r])
    fig, ax = plots.plot_activation_shapes(with_shape, "rational", [0.0] * len(SHAPE_POINTS))
    lines = ax.get_lines()
    assert len(lines) == 2 and lines[1].get_linestyle() == "--"
    assert list(lines[0].get_ydata()) == [float(i) for i in range(len(SHAPE_POINTS))]
    with pytest.raises(ValueError, match="no run of 'kan'"):
        plots.plot_activation_shapes(with_shape, "kan")


def test_omega_range_one_panel_per_task_with_the_control_band():
    def at(omega, arch, value):
        runs = [run(arch, "hifreq", s, [1.0], value + 0.01 * s) for s in (0, 1)]
        return ResultSet("s", TrainConfig(omega=omega).to_dict(), {}, runs)

    sets = [at(1.0, "singlu", 0.3), at(4.0, "singlu", 0.1), at(1.0, "bilinear", 0.2)]
    fig, axes = plots.plot_omega_range(sets)
    ax = axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    xs = ax.get_lines()[0].get_xdata()
    assert list(xs) == [1.0, 4.0]
    control = stats.geometric_mean([0.2, 0.21])  # bilinear's two seeds, on the log scale
    assert any(line.get_ydata()[0] == pytest.approx(control) for line in ax.get_lines()[1:])
    with pytest.raises(ValueError, match="no runs of 'singlu'"):
        plots.plot_omega_range([at(1.0, "bilinear", 0.2)])


def _curve_row(protocol, value, low, high, verdict, measure):
    return {"protocol": protocol, "factor": "lr", "value": value, "low": low, "high": high,
            "verdict": verdict, "measure": measure}


def test_specification_curves_one_panel_per_tested_claim():
    curves = {
        "ratio": [_curve_row("a", 2.0, 1.5, 3.0, "replicated", "vanilla / SinGLU test MSE"),
                  _curve_row("b", 5.0, 0.5, 9.0, "not established", "vanilla / SinGLU test MSE")],
        "count": [_curve_row("a", 3.0, math.nan, math.nan, "not replicated", "tasks (of 6)")],
        "untested": [],
    }
    fig, axes = sweep_plots.plot_specification_curves(curves, {"ratio": "#1 ratio"})
    shown = [ax for ax in axes if ax.get_visible()]
    assert len(shown) == 2
    assert shown[0].get_yscale() == "log" and shown[0].get_title() == "#1 ratio"
    assert [t.get_text() for t in shown[0].get_xticklabels()] == ["a", "b"]
    assert shown[1].get_ylim() == pytest.approx((-0.3, 6.3))  # a count: 0 to its N
    # a quick build (one seed) tests no claim: the figure says so instead of failing the build
    fig, axes = sweep_plots.plot_specification_curves({"untested": []}, {})
    assert "No claim is tested" in axes[0].texts[0].get_text()


def test_scaling_one_panel_per_task_log_budgets():
    rows = [
        {"arch": a, "task": t, "budget": b, "mean": m, "low": m * 0.9, "high": m * 1.1,
         "metric": "mse"}
        for a, m in (("vanilla", 0.2), ("singlu", 0.1))
        for t in ("hifreq", "memorize")
        for b in (1000, 5000, 50000)
    ]
    fig, axes = sweep_plots.plot_scaling(rows, ["vanilla", "singlu"], ["hifreq", "memorize"])
    assert sum(ax.get_visible() for ax in axes) == 2
    assert axes[0].get_xscale() == "log" and axes[0].get_yscale() == "log"
    assert len(axes[0].lines) >= 2
    with pytest.raises(ValueError, match="no runs"):
        sweep_plots.plot_scaling([], ["vanilla"], ["hifreq"])


def test_score_map_hatches_the_networks_that_learn_nothing():
    """A cell no better than its task's best reference is hatched; a task no network learns has
    no winner and says so under its name."""
    from matplotlib.patches import Rectangle

    rows = [
        {"arch": "v10", "task": "freq_gen", "metric": "mse", "mean": 0.9, "score": 1.0,
         "winner": False, "within_noise": False, "learns": False},
        {"arch": "singlu", "task": "freq_gen", "metric": "mse", "mean": 9.0, "score": 0.0,
         "winner": False, "within_noise": False, "learns": False},
        {"arch": "v10", "task": "spiral", "metric": "accuracy", "mean": 0.9, "score": 1.0,
         "winner": True, "within_noise": True, "learns": True},
        {"arch": "singlu", "task": "spiral", "metric": "accuracy", "mean": 0.6, "score": 0.0,
         "winner": False, "within_noise": False, "learns": False},
    ]
    fig, ax = sweep_plots.plot_score_map(rows)
    hatched = [p.get_xy() for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert sorted(hatched) == [(-0.5, 0.5), (0.5, -0.5), (0.5, 0.5)]  # (task, arch) corners
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["spiral\n(acc.)", "freq_gen\n(MSE, not learned)"]
