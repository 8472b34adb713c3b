"""The batched trainer against the plain reference: trajectories, exact grouping, failures."""

import math

import pytest
import torch
from conftest import bits

from richneuron.config import TrainConfig
from richneuron.neurons import ARCHITECTURES, Network, get_arch
from richneuron.store.schema import Run
from richneuron.train.pool import train_runs
from richneuron.train.reference import train_reference
from richneuron.train.steps import _adam_settings, _compiled_step
from richneuron.train.trainer import ensemble_size, group_runs, train_chunk

SHORT = TrainConfig(steps=50, log_every=1)


@pytest.mark.parametrize("arch", [a for a in ARCHITECTURES if a != "v4_glu"])  # alias of singlu
def test_trajectory_matches_reference(arch):
    """50 steps of the compiled ensemble follow torch.optim.Adam on the nn.Module (rtol 1e-5)."""
    runs = [Run(arch, "nested_2d", 3), Run(arch, "spiral", 4)]
    results = train_chunk(runs, SHORT)
    for run, res in zip(runs, results):
        reference = train_reference(run, SHORT)
        assert len(res.loss_curve) == 50
        torch.testing.assert_close(
            torch.tensor(res.loss_curve), torch.tensor(reference), rtol=1e-5, atol=1e-7
        )


def test_gradients_match_autograd():
    """The gradient inside the compiled step equals loss.backward() on each member's module."""
    config = TrainConfig()
    net = Network(get_arch("v15").layer, 2, 1, 6, members=2)
    net.reset([0, 1])
    x, y = torch.randn(2, 30, 2), torch.randn(2, 30, 1)
    is_clf = torch.tensor([0.0, 1.0]).view(2, 1, 1)
    y[1] = torch.sign(y[1])
    params = {k: v.detach() for k, v in net.named_parameters()}
    zeros = {k: torch.zeros_like(v) for k, v in params.items()}
    buffers = {k: b.detach() for k, b in net.named_buffers()}
    shape = ("V15", (6,), 2, 1, 30, 0)  # a key of its own: not shared with other tests' steps
    step = _compiled_step("v15", shape, config, compile=True)
    one = torch.ones(2, 1, 1)
    adam = _adam_settings([config, config])
    *_, got = step(params, buffers, adam, zeros, zeros, one, one, x, y, is_clf)
    for m in range(2):
        single = Network(get_arch("v15").layer, 2, 1, 6, members=1)
        single.reset([m])
        pred = single(x[m : m + 1])
        if m == 0:
            loss = torch.nn.functional.mse_loss(pred, y[:1])
        else:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(pred, (y[1:] + 1) / 2)
        loss.backward()
        for name, p in single.named_parameters():
            torch.testing.assert_close(got[name][m], p.grad[0], rtol=3e-5, atol=1e-7)


# fourier_features: a per-member buffer (B); kan: a shared buffer (the knots).
@pytest.mark.parametrize("arch", ["v10", "v13", "fourier_features", "kan"])
def test_grouping_is_bit_exact(arch):
    """A run's result is the same bits alone, in any position, in any ensemble size."""
    config = TrainConfig(steps=120, log_every=20)
    target = Run(arch, "nested_2d", 0)
    alone = train_runs([target], config)[0]  # padded to 3
    neighbours = [Run(arch, "spiral", s) for s in range(5)] + [Run(arch, "freq_gen", 1)]
    # one shape, 7 runs: a chunk of 3, then one of 4 (the target at position 1, mixed tasks)
    grouped = train_runs(neighbours[:4] + [target] + neighbours[4:], config)
    in_pair = train_runs([Run(arch, "checkerboard", 9), target], config)  # padded to 3
    assert [len(c) for c in group_runs(neighbours + [target], config)] == [3, 4]
    assert ensemble_size(1) == 3 and ensemble_size(3) == 3 and ensemble_size(4) == 4
    assert bits(grouped[4]) == bits(alone)
    assert bits(in_pair[-1]) == bits(alone)
    assert grouped[0].run == neighbours[0]
    assert bits(grouped[-1]) == bits(train_runs([neighbours[-1]], config)[0])


MIXED = [  # settings that reach the compiled step as per-member tensors
    TrainConfig(steps=60, log_every=20),
    TrainConfig(steps=60, log_every=20, lr=1e-2, omega=3.0),
    TrainConfig(steps=60, log_every=20, beta1=0.8, beta2=0.99, eps=1e-6),
    TrainConfig(steps=60, log_every=20, omega=30.0, data_seed=2, lr=1e-3),
]


@pytest.mark.parametrize("arch", ["singlu", "v9"])
def test_mixed_settings_share_a_chunk_bit_exact(arch):
    """Runs of one shape under different lr, omega, betas, eps and data seed train in one chunk
    through one compiled step, and each has the bits it has alone."""
    import richneuron.train.steps as steps

    runs = [Run(arch, "spiral", s) for s in range(4)]
    assert [len(c) for c in group_runs(runs, MIXED)] == [4]  # one chunk
    before = len(steps._STEPS)
    together = train_runs(runs, MIXED, workers=1)
    assert len(steps._STEPS) - before <= 1  # one step for the four protocols
    for run, config, res in zip(runs, MIXED, together):
        assert bits(res) == bits(train_runs([run], config, workers=1)[0]), config
    assert len({res.test_metric for res in together}) == 4  # the settings did reach the members
    # the same run under two protocols is two jobs, not a duplicate
    twice = train_runs([runs[0], runs[0]], MIXED[:2], workers=1)
    assert bits(twice[0]) == bits(together[0]) and bits(twice[1]) != bits(twice[0])
    with pytest.raises(ValueError, match="configs given"):
        train_runs(runs, MIXED[:2])
    with pytest.raises(ValueError, match="step count"):
        train_chunk(runs[:2], [MIXED[0], MIXED[0].replace(steps=30)])


@pytest.mark.parametrize("arch", ["singlu", "v15"])
def test_per_member_settings_follow_the_reference(arch):
    """Non-default omega, betas and eps through the tensors of the compiled step: the same
    trajectory as torch.optim.Adam with those settings (rtol 1e-5)."""
    config = TrainConfig(steps=40, log_every=1, omega=3.0, beta1=0.8, beta2=0.99, eps=1e-6)
    run = Run(arch, "spiral", 1)
    other = TrainConfig(steps=40, log_every=1, lr=1e-2)
    res = train_runs([run, Run(arch, "spiral", 2)], [config, other], workers=1)[0]
    reference = train_reference(run, config)
    assert res.loss_curve == pytest.approx(reference, rel=1e-5)


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_a_decaying_schedule_follows_lambda_lr(schedule):
    """The schedule enters the compiled step through its per-step step sizes: the trajectory of
    torch.optim.Adam under LambdaLR (rtol 1e-5), beside a constant-rate member of one chunk; the
    rate reaches the last step decayed, so the two trajectories part."""
    config = TrainConfig(steps=40, log_every=1, lr=1e-2, schedule=schedule)
    run = Run("singlu", "memorize", 1)
    decayed, constant = train_runs(
        [run, Run("singlu", "memorize", 1)], [config, config.replace(schedule="constant")],
        workers=1,
    )
    assert decayed.loss_curve == pytest.approx(train_reference(run, config), rel=1e-5)
    assert decayed.loss_curve[1] == constant.loss_curve[1]  # the first update is at lr
    assert decayed.loss_curve[-1] != constant.loss_curve[-1]


def test_run_to_run_identical_and_seeds_differ():
    config = TrainConfig(steps=60, log_every=20)
    runs = [Run("singlu", "hifreq", 0), Run("singlu", "hifreq", 1)]
    first, second = train_runs(runs, config), train_runs(runs, config)
    assert [bits(r) for r in first] == [bits(r) for r in second]
    assert first[0].test_metric != first[1].test_metric


def test_divergence_is_recorded_not_averaged():
    config = TrainConfig(steps=30, log_every=10, lr=1e30)
    result = train_runs([Run("vanilla", "hifreq", 0)], config)[0]
    assert result.diverged
    assert result.diverged_step is not None and 0 < result.diverged_step < 30
    assert not math.isfinite(result.loss_curve[-1])


def test_results_carry_diagnostics_and_grad_norms():
    config = TrainConfig(steps=40, log_every=10)
    runs = [Run("v6", "spiral", 0), Run("v15", "spiral", 0), Run("vanilla", "memorize", 2)]
    v6, v15, vanilla = train_runs(runs, config)
    assert len(v6.loss_curve) == len(v6.test_curve) == 5  # steps 0, 10, 20, 30 and the last
    assert all(0 <= a <= 1 for a in v6.test_curve)  # spiral: accuracy
    assert set(v6.diagnostics) == {"alpha_mean", "alpha_std"}
    assert all(0 < a < 1 for a in v6.diagnostics["alpha_mean"])
    assert v15.diagnostics["alpha"][0] == pytest.approx(0.5)
    assert {"l0.gate", "l0.value", "l0.route", "l1.gate", "readout"} <= set(v6.grad_norms)
    assert {"l0.alpha", "l1.gamma"} <= set(v15.grad_norms)
    assert all(len(v) == 5 for v in v6.grad_norms.values())
    assert vanilla.metric == "mse" and v6.metric == "accuracy"
    assert 0 <= v6.test_metric <= 1
    assert abs(vanilla.params - 5000) <= 100 and vanilla.widths[0] > v6.widths[0]


def test_grouping_keeps_shapes_apart():
    config = TrainConfig()
    runs = (
        [Run("v10", "spiral", s) for s in range(10)]
        + [Run("v10", "complex_4d", 0)]
        + [Run("singlu", "spiral", 0)]
    )
    chunks = group_runs(runs, config)
    assert [len(c) for c in chunks] == [3, 3, 4, 1, 1]  # fewest chunks, as even as possible
    with pytest.raises(ValueError, match="one shape"):
        train_chunk([Run("v10", "spiral", 0), Run("v10", "complex_4d", 0)], config)


def test_kans_grids_train_apart_and_follow_the_reference():
    """KAN's grid (TrainConfig.kan_grid) shapes its parameters: runs of two grids never share
    a chunk, and a finer grid's compiled trajectory follows the reference (rtol 1e-5)."""
    coarse, fine = SHORT, SHORT.replace(kan_grid=9)
    runs = [Run("kan", "spiral", 0), Run("kan", "spiral", 1)]
    assert [len(c) for c in group_runs(runs, [coarse, fine])] == [1, 1]
    res = train_chunk([runs[0]], fine)[0]
    assert res.params == pytest.approx(5000, rel=0.02) and res.widths != train_chunk(
        [runs[0]], coarse
    )[0].widths
    torch.testing.assert_close(
        torch.tensor(res.loss_curve), torch.tensor(train_reference(runs[0], fine)),
        rtol=1e-5, atol=1e-7,
    )


def test_the_last_member_of_a_chunk_evaluates_as_alone():
    """The final evaluation does not depend on a run's place in its chunk. Witness: KAN on
    Memorize, seed 2, learning rate 1e-3, fits its points to MSE 5e-14, where one bit of one
    prediction shows. Evaluated over the whole chunk, as the last of three members its SiLU's
    last elements fell to ATen's scalar tail loop and its MSE came out 4.6585e-14 instead of the
    4.6604e-14 it has alone (the drift gate's finding, when it retrained the run in another
    grouping)."""
    config = TrainConfig(lr=1e-3)
    target = Run("kan", "memorize", 2)
    alone = train_runs([target], config, workers=1)[0]
    chunk = [Run("kan", "memorize", 0), Run("kan", "memorize", 1), target]
    assert [len(c) for c in group_runs(chunk, config)] == [3]  # one chunk, the target last
    last = train_runs(chunk, config, workers=1)[-1]
    assert alone.test_metric < 1e-12  # the regime where the last bit shows
    assert (last.test_metric, last.train_loss, last.test_curve) == (
        alone.test_metric,
        alone.train_loss,
        alone.test_curve,
    )
