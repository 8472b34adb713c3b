"""Fair tuning: the search, the validation split, the choice, the expected best (Dodge)."""

import math

import pytest
import torch
from conftest import make_result

from richneuron.analysis import rereading
from richneuron.architectures import FAMILIES
from richneuron.config import TrainConfig
from richneuron.experiments import multiverse_sweeps, tuning, tuning_results
from richneuron.experiments.specs import SweepError
from richneuron.experiments.study import (
    check_sweep_output,
    load_spec,
    load_sweep,
    run_sweep,
    save_sweep,
)
from richneuron.neurons import ARCHITECTURES, OMEGA_ARCHS, Network, get_arch
from richneuron.store.results import ResultsError
from richneuron.store.schema import Run
from richneuron.tasks import get_task
from richneuron.train.reference import n_validation, split_validation
from richneuron.train.trainer import train_chunk

SPEC = {
    "name": "t",
    "archs": ["vanilla", "singlu"],
    "tasks": ["spiral", "hifreq"],
    "trials": 3,
    "validation": 0.2,
    "seeds": 2,
    "base": {"steps": 20},
}


def test_a_spec_round_trips_and_draws_the_same_trials():
    t = tuning.Tuning.from_dict(SPEC)
    assert tuning.Tuning.from_dict(t.to_dict()) == t
    assert t.size() == 2 * 2 * (3 + 2)
    jobs = t.trial_jobs()
    assert len(jobs) == 12 and all(c.validation == 0.2 and c.steps == 20 for _, c in jobs)
    assert jobs == tuning.Tuning.from_dict(SPEC).trial_jobs()  # seeded: the same draws
    # each (architecture, task) draws its own trials, whatever else the spec holds
    alone = tuning.Tuning.from_dict({**SPEC, "archs": ["singlu"], "tasks": ["hifreq"]})
    mine = [j for j in jobs if j[0].arch == "singlu" and j[0].task == "hifreq"]
    assert alone.trial_jobs() == mine
    for run, config in jobs:
        for name, (lo, hi) in tuning.space(run.arch).items():
            assert lo <= getattr(config, name) <= hi
    assert {"omega"} <= set(tuning.space("singlu")) and "omega" not in tuning.space("vanilla")
    assert "kan_grid" in tuning.space("kan") and "kan_grid" not in tuning.space("singlu")
    # KAN's grid: log-uniform over 3-20, to the nearest grid whose network meets the budget
    drawn = [s["kan_grid"] for s in tuning._draw("kan", "spiral", 40)]
    can = tuning.grids("spiral")
    assert 5 in can and 6 not in can  # 6 intervals: no width within 2% of 5,000 parameters
    assert all(isinstance(g, int) and g in can for g in drawn) and len(set(drawn)) > 5
    assert tuning.grids("spiral", TrainConfig(tolerance=0.1)) == tuple(range(3, 21))


@pytest.mark.parametrize(
    "change,message",
    [
        ({"trials": 1}, "trials: must be an integer >= 2"),
        ({"validation": 0}, "validation: must be a number in (0, 0.5]"),
        ({"validation": 0.7}, "validation: must be a number in (0, 0.5]"),
        ({"archs": ["nope"]}, "archs: unknown architecture 'nope'"),
        ({"base": {"lr": 0.1}}, "base.lr: not a setting a tuning may fix"),
        ({"grid": {}}, "grid: unknown entry"),
    ],
)
def test_bad_tuning_specs_name_the_entry(change, message):
    with pytest.raises(SweepError) as err:
        tuning.Tuning.from_dict({**SPEC, **change})
    assert message in str(err.value)


def test_load_spec_reads_either_kind(tmp_path):
    import yaml

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    assert isinstance(load_spec(path), tuning.Tuning)
    from richneuron.experiments.study import Sweep

    with pytest.raises(SweepError, match="a tuning spec, not a sweep"):
        Sweep.from_file(path)


def test_omega_archs_are_those_whose_output_omega_changes():
    """OMEGA_ARCHS (the layers' ``uses_omega``) lists exactly the architectures whose network
    omega changes at init."""
    x = torch.rand(1, 16, 2) * 2 - 1
    changed = []
    for arch, spec in ARCHITECTURES.items():
        outs = []
        for omega in (1.0, 3.0):
            net = Network(spec.layer, 2, 1, 8, 2, 1, omega, 4)
            net.reset([0])
            with torch.no_grad():
                outs.append(net(x))
        if not torch.equal(*outs):
            changed.append(arch)
    assert sorted(changed) == sorted(OMEGA_ARCHS)
    assert get_arch("siren").id not in OMEGA_ARCHS


def test_the_validation_split_holds_out_training_points_by_the_data_seed():
    data = get_task("spiral").generate(0)
    n = data.x_train.shape[0]
    config = TrainConfig(validation=0.2)
    train, x_val, y_val = split_validation(data, config)
    k = n_validation(n, 0.2)
    assert x_val.shape[0] == k and train.x_train.shape[0] == n - k
    rows = {tuple(r.tolist()) for r in data.x_train}
    assert {tuple(r.tolist()) for r in x_val} | {tuple(r.tolist()) for r in train.x_train} == rows
    assert torch.equal(train.x_test, data.x_test)  # the test points are never touched
    again = split_validation(data, config)[1]
    assert torch.equal(again, x_val)
    other = split_validation(get_task("spiral").generate(1), config.replace(data_seed=1))[1]
    assert not torch.equal(other, x_val)
    assert split_validation(data, TrainConfig())[1] is None


def test_new_settings_leave_every_stored_key_as_it_was():
    stored = TrainConfig().to_dict()
    assert "validation" not in stored and "init_scale" not in stored
    assert TrainConfig(init_scale=2).to_dict()["init_scale"] == 2.0
    with pytest.raises(ValueError, match="invalid validation=0.9"):
        TrainConfig(validation=0.9)
    with pytest.raises(ValueError, match="invalid init_scale=0"):
        TrainConfig(init_scale=0)


def test_a_trial_scores_on_its_held_out_points_whatever_its_chunk():
    c = TrainConfig(steps=5, validation=0.2)
    pair = train_chunk([Run("singlu", "spiral", 0), Run("singlu", "spiral", 1)],
                       [c, c.replace(lr=1e-2, init_scale=2.0)])
    alone = train_chunk([Run("singlu", "spiral", 1)], c.replace(lr=1e-2, init_scale=2.0))[0]
    assert "val_metric" in pair[1].extra and alone.extra == pair[1].extra
    assert alone.test_metric == pair[1].test_metric
    plain = train_chunk([Run("singlu", "spiral", 0)], TrainConfig(steps=5))[0]
    assert "val_metric" not in plain.extra


def _result(run, val, metric="mse", diverged=False):
    return make_result(run.arch, run.task, run.seed, metric=metric, widths=[8], diverged=diverged,
                       diverged_step=1 if diverged else None, extra={"val_metric": val})


def test_the_best_trial_is_chosen_and_a_diverged_one_never():
    c = TrainConfig(validation=0.2)
    run = Run("vanilla", "hifreq", 0)
    trials = [
        (run, c.replace(lr=1e-3), _result(run, 0.3)),
        (run, c.replace(lr=2e-3), _result(run, math.nan, diverged=True)),
        (run, c.replace(lr=3e-3), _result(run, 0.1)),
        (run, c.replace(lr=4e-3), _result(run, 0.1)),  # a tie: the earlier trial
    ]
    assert tuning.choices(trials)[("vanilla", "hifreq")] == {"lr": 3e-3, "init_scale": 1.0}
    acc = Run("vanilla", "spiral", 0)
    best = tuning.choices([(acc, c.replace(lr=1e-3), _result(acc, 0.6, "accuracy")),
                           (acc, c.replace(lr=2e-3), _result(acc, 0.9, "accuracy"))])
    assert best[("vanilla", "spiral")]["lr"] == 2e-3


def test_expected_best_after_n_trials():
    values = [0.5, 0.6, 0.7, 0.8]
    assert tuning_results.expected_best(values, 1, "accuracy") == pytest.approx(0.65)  # the mean
    assert tuning_results.expected_best(values, 2, "accuracy") == pytest.approx(0.7125)
    assert tuning_results.expected_best(values, 200, "accuracy") == pytest.approx(0.8)
    assert tuning_results.expected_best([0.3, 0.1], 1, "mse") == pytest.approx(0.2)
    # a diverged trial counts as the worst observed
    assert tuning_results.expected_best([0.3, math.nan], 1, "mse") == pytest.approx(0.3)
    assert math.isnan(tuning_results.expected_best([math.nan], 3, "mse"))
    with pytest.raises(ValueError, match="n: must be >= 1"):
        tuning_results.expected_best(values, 0, "mse")


def test_a_tuning_trains_saves_and_reads_back(tmp_path, monkeypatch):
    _fake_training(monkeypatch, by_depth=False)
    t = tuning.Tuning.from_dict(SPEC)
    result = run_sweep(t, None)
    path = tmp_path / "t.json"
    save_sweep(result, path)
    back = load_sweep(path)
    assert back.sweep == t and sum(len(s.runs) for s in back.sets) == t.size()
    chosen = tuning_results.chosen_settings(back)
    scores = tuning_results.trial_scores(back)
    for (arch, task), values in scores.items():
        trials = t.trial_jobs()
        settings = [c for r, c in trials if (r.arch, r.task) == (arch, task)]
        pick = (min if task != "spiral" else max)(range(len(values)), key=lambda i: values[i])
        assert chosen[(arch, task)]["lr"] == settings[pick].lr
    assert len(tuning_results.tuned_set(back).runs) == 2 * 2 * 2
    doc = path.read_text().replace('"trials": 3', '"trials": "x"')
    (tmp_path / "bad.json").write_text(doc)
    with pytest.raises(ResultsError, match="bad.json: spec: trials: must be an integer"):
        load_sweep(tmp_path / "bad.json")


def test_a_tuning_grown_by_architectures_trains_only_theirs(tmp_path, monkeypatch):
    """The committed tuning file is the store of the tuning with more architectures: the
    stored architectures' trials, choices and final runs are kept, the new ones alone train."""
    trained = _fake_training(monkeypatch)
    small = run_sweep(tuning.Tuning.from_dict(SPEC), None)
    save_sweep(small, tmp_path / "t.json")
    grown = tuning.Tuning.from_dict({**SPEC, "archs": ["vanilla", "singlu", "v10"]})
    check_sweep_output(tmp_path / "t.json", grown)
    before = len(trained)
    result = run_sweep(grown, None, stored=load_sweep(tmp_path / "t.json"))
    assert {r.arch for r, _ in trained[before:]} == {"v10"}
    assert result.from_store == small.sweep.size() and result.trained == 2 * (3 + 2)
    assert {k: v for k, v in tuning_results.chosen_settings(result).items() if k[0] != "v10"} == (
        tuning_results.chosen_settings(small)
    )
    other = tuning.Tuning.from_dict({**SPEC, "trials": 4})
    with pytest.raises(SweepError, match="holds the results of another sweep"):
        check_sweep_output(tmp_path / "t.json", other)
    with pytest.raises(SweepError, match="stored: holds 't', not this tuning"):
        run_sweep(other, None, stored=small)


def _fake_training(monkeypatch, by_depth: bool = True) -> list[tuple[Run, TrainConfig]]:
    """The trainer replaced by a function of the run and its config (the validation score is
    ``|log(lr / 3e-3)|``, plus ``depth / 100`` with ``by_depth``); returns the list of the jobs
    it trains."""
    import richneuron.train.pool

    trained: list[tuple[Run, TrainConfig]] = []

    def fake(jobs, progress=None, on_results=None, **kwargs):
        out = []
        trained.extend(jobs)
        for run, config in jobs:
            val = abs(math.log(config.lr / 3e-3)) + (config.depth / 100 if by_depth else 0.0)
            r = _result(run, val if config.validation else math.nan,
                        "accuracy" if run.task == "spiral" else "mse")
            if not config.validation:
                r.extra = {}
            out.append(r)
        if on_results:
            on_results(list(zip(jobs, out)))
        return out

    monkeypatch.setattr(richneuron.train.pool, "train_jobs", fake)
    return trained


def test_the_multiverse_around_the_tuned_protocol(tmp_path, monkeypatch):
    from richneuron.store.results import ResultSet

    _fake_training(monkeypatch)
    spec = {**SPEC, "name": "tuning", "archs": ["vanilla", "singlu", "v6"]}  # v6: not in the panel
    tuned = run_sweep(tuning.Tuning.from_dict(spec), None)
    save_sweep(tuned, tmp_path / "tuning.json")
    around = tuning.Around.from_dict({
        "name": "multiverse-tuned", "around": "tuning", "archs": ["vanilla", "singlu"],
        "tasks": ["spiral", "hifreq"], "seeds": 2,
        "vary": {"lr": [0.5, 2], "depth": [3], "omega": [2]},
    })
    # omega only where it is tuned: SinGLU, not vanilla
    assert around.size() == (3 + 4) * 2 * 2
    with pytest.raises(SweepError, match="around: needs the results of tuning 'tuning'"):
        run_sweep(around, None)
    tiny = tuning.Around.from_dict({**around.to_dict(), "vary": {"budget": [10]}})
    with pytest.raises(SweepError, match="budget: .*'vanilla' on task 'spiral'"):
        run_sweep(tiny, None, tuned=tuned)  # refused before any training
    result = run_sweep(around, None, tuned=tuned)
    chosen = tuning_results.chosen_settings(tuned)
    configs = [TrainConfig(**rs.config) for rs in result.sets]
    for (arch, _), setting in chosen.items():  # the chosen setting with twice its lr
        if arch not in around.archs:
            continue
        centre = tuned.sweep.base.replace(**setting)
        assert centre.replace(lr=float(f"{setting['lr'] * 2:.4g}")) in configs
    save_sweep(result, tmp_path / "multiverse-tuned.json")
    assert load_sweep(tmp_path / "multiverse-tuned.json").sweep == around
    base = ResultSet("book", TrainConfig(steps=20).to_dict(), {},
                     [r for rs in tuned.sets for r in rs.runs
                      if TrainConfig(**rs.config).validation == 0])
    protocols = multiverse_sweeps.load(base, tmp_path)
    names = [p.name for p in protocols]
    assert names[:2] == ["chapters' protocol", "tuned"]
    assert sorted(names[2:]) == sorted(
        ["tuned lr: x0.5", "tuned lr: x2", "tuned depth: 3", "tuned omega: x2"]
    )
    omega = next(p for p in protocols if p.name == "tuned omega: x2")
    tuned_set = next(p for p in protocols if p.name == "tuned").results
    # the tuning tunes every architecture; the multiverse's tuned protocol is the panel's
    assert {r.run.arch for r in tuned_set.runs} == {"singlu", "vanilla"}
    # vanilla has no omega: its runs there are its tuned ones, as in the tuned protocol
    assert {r.run.arch for r in omega.results.runs} == {"singlu", "vanilla"}
    assert [r for r in omega.results.runs if r.run.arch == "vanilla"] == [
        r for r in tuned_set.runs if r.run.arch == "vanilla"
    ]
    lr = next(p for p in protocols if p.name == "tuned lr: x2")
    assert not set(map(id, lr.results.runs)) & set(map(id, tuned_set.runs))
    with pytest.raises(SweepError, match=r"vary.lr=1: a factor must be"):
        tuning.Around.from_dict({**around.to_dict(), "vary": {"lr": [1]}})


def test_a_task_scored_on_its_training_points_tunes_on_its_fit():
    """Memorize's held-out targets are unpredictable noise: its trials are scored by the fit
    to the points they trained on, not by held-out points."""
    assert tuning.scored_on_training_points("memorize")
    assert not tuning.scored_on_training_points("spiral")
    c = TrainConfig(validation=0.2)
    run = Run("vanilla", "memorize", 0)
    fits, misses = _result(run, 0.9), _result(run, 0.1)  # validation MSE 0.9 and 0.1
    fits.train_loss, misses.train_loss = 1e-6, 0.5  # ... but the first fits its points
    chosen = tuning.choices([(run, c.replace(lr=1e-3), fits), (run, c.replace(lr=2e-3), misses)])
    assert chosen[("vanilla", "memorize")]["lr"] == 1e-3
    assert tuning.trial_value(fits) == 1e-6


def test_every_architecture_has_a_family_and_the_rising_table_counts_per_family():
    assert {tuning_results.family(a) for a in ARCHITECTURES} == set(FAMILIES)
    assert tuning_results.family("vanilla") == "baselines" and tuning_results.family("v13") == (
        "the study's variants"
    )
    assert tuning_results.family("kan") == "related: learned"
    with pytest.raises(ValueError, match="unknown architecture 'nope'"):
        tuning_results.family("nope")
    table = str(tuning_results.rising_table([("v10", "hifreq"), ("v13", "spiral")],
                                    ["vanilla", "v10", "v13", "siren"], ["hifreq", "spiral"]))
    assert "| the study's variants | v10, v13 | 2 of 4 | v10 on hifreq, v13 on spiral |" in table
    assert "| baselines | vanilla | 0 of 2 | none |" in table
    rising = [("v10", "hifreq"), ("v10", "spiral"), ("v13", "spiral")]
    most = str(tuning_results.rising_table(rising, ["v10", "v13"], ["hifreq", "spiral"]))
    assert "| 3 of 4 | all but v13 on hifreq |" in most
    assert "gated" not in table  # no architecture of that family: no row


def test_findings_before_and_after_tuning_name_what_changes():
    from richneuron.analysis.rules import Claim

    def claim(verdict):
        return Claim("c", 3, "f", "r", "o", "p", verdict)

    evaluated = {"c": [(None, claim("replicated")), (None, claim("not replicated"))],
                 "d": [(None, claim("replicated")), (None, claim("replicated"))]}
    assert rereading.changed_findings(evaluated) == ["#3 (c): replicated → not replicated"]
