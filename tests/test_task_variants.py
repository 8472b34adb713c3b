"""Tasks at other knob values (``checkerboard@freq=5``) and the real data sets (digits,
diabetes): ids, draws, formulas, parsing."""

from __future__ import annotations

import importlib.util
import re

import pytest
import torch

from richneuron.tasks import (
    KNOBS,
    REAL_TASKS,
    TASKS,
    base_of,
    get_task,
    is_variant,
    knob_values,
    parse_tasks,
    variant_id,
)
from richneuron.tasks.knobs import variant
from richneuron.tasks.real import real_task


def draws_equal(a, b):
    """Whether two TaskData hold the same bits in every tensor."""
    fields = ("x_train", "y_train", "x_test", "y_test")
    return all(torch.equal(getattr(a, f), getattr(b, f)) for f in fields)


# --- draws --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["checkerboard@freq=5", "complex_4d@freq=3", "nested_2d@freq=4", "hifreq@freq=20"],
)
def test_a_knob_that_changes_the_target_keeps_the_inputs(name):
    """At another frequency the inputs are the base task's bits and the targets differ."""
    base, var = get_task(base_of(name)).generate(3), get_task(name).generate(3)
    assert torch.equal(base.x_train, var.x_train)
    assert torch.equal(base.x_test, var.x_test)
    assert not torch.equal(base.y_train, var.y_train)
    assert not torch.equal(base.y_test, var.y_test)


@pytest.mark.parametrize("name", ["spiral@noise=0.1", "spiral@turns=3", "spiral@turns=3@noise=0"])
def test_spiral_knobs_move_the_points_and_keep_the_labels(name):
    """Spiral's knobs move its points (x differs) but it draws the base's labels, bit for bit."""
    base, var = get_task("spiral").generate(1), get_task(name).generate(1)
    assert torch.equal(base.y_train, var.y_train)
    assert torch.equal(base.y_test, var.y_test)
    assert not torch.equal(base.x_train, var.x_train)
    assert not torch.equal(base.x_test, var.x_test)


def test_spiral_turns_draw_the_same_radii():
    """Without noise, spiral at other turns puts each point at the same radius (same stream)."""
    a = get_task("spiral@noise=0").generate(0)
    b = get_task("spiral@turns=3@noise=0").generate(0)
    assert torch.allclose(a.x_train.norm(dim=1), b.x_train.norm(dim=1), atol=1e-6, rtol=0)
    assert torch.allclose(a.x_test.norm(dim=1), b.x_test.norm(dim=1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["checkerboard@freq=5", "spiral@turns=3@noise=0.1"])
def test_a_variant_draw_is_deterministic(name):
    """Two draws of a task at other knob values with one seed are bit-identical."""
    task = get_task(name)
    assert draws_equal(task.generate(7), task.generate(7))
    assert not torch.equal(task.generate(7).x_train, task.generate(8).x_train)


def test_checkerboard_labels_follow_the_frequency():
    """checkerboard@freq=5's labels are sign(sin(5 pi x1) sin(5 pi x2)) of its inputs."""
    data = get_task("checkerboard@freq=5").generate(0)
    x = data.x_train.double()
    prod = torch.sin(5 * torch.pi * x[:, 0]) * torch.sin(5 * torch.pi * x[:, 1])
    far = prod.abs() > 1e-4  # away from a cell edge, where float32 inputs could flip a sign
    expected = torch.where(prod >= 0, 1.0, -1.0)
    assert far.sum() > 490
    assert torch.equal(data.y_train[far, 0].double(), expected[far])


# --- malformed ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("checkerboard@freq=2", "is checkerboard's default"),
        ("spiral@noise=0.04", "is spiral's default"),
        ("checkerboard@freq=5.0", "write freq=5 (one task, one id)"),
        ("checkerboard@freq=05", "write freq=5"),
        ("hifreq@freq=1e+01", "write freq=10"),
        ("checkerboard@freq=0.1", "freq must be a number from 0.5 to 32, got '0.1'"),
        ("checkerboard@freq=99", "freq must be a number from 0.5 to 32, got '99'"),
        ("spiral@noise=0.6", "noise must be a number from 0 to 0.5"),
        ("spiral@noise=-0.1", "noise must be a number from 0 to 0.5"),
        ("checkerboard@freq=nan", "got 'nan'"),
        ("checkerboard@freq=inf", "got 'inf'"),
        ("checkerboard@freq=-inf", "got '-inf'"),
        ("checkerboard@freq=five", "got 'five'"),
        ("checkerboard@freq=", "got ''"),
        ("checkerboard@turns=3", "'turns=3' is not <knob>=<value> with a knob of checkerboard"),
        ("checkerboard@freq=5@freq=6", "knob 'freq' set twice"),
        ("spiral@noise=0.1@turns=3", "write the knobs in the order turns, noise"),
        ("memorize@n=3", "'memorize' has no knob"),
        ("vanilla@x=1", "'vanilla' has no knob"),
        ("ood_shift@freq=2", "'ood_shift' has no knob"),
        ("checkerboard@freq", "'freq' is not <knob>=<value>"),
        ("checkerboard@", "'' is not <knob>=<value>"),
        ("@freq=5", "'' has no knob"),
    ],
)
def test_a_malformed_variant_is_refused_naming_it(name, why):
    """A malformed id is refused by get_task, with a ValueError naming the id and the fault."""
    with pytest.raises(ValueError, match=re.escape(f"task {name!r}")) as err:
        get_task(name)
    assert why in str(err.value)
    assert "\n" not in str(err.value)
    if base_of(name) in KNOBS:  # knob_values reads a base with knobs through variant
        with pytest.raises(ValueError, match=re.escape(why)):
            knob_values(name)


def test_a_bad_id_names_the_forms_with_knobs():
    """A base task without knobs is refused with every form that has them, ranges included."""
    with pytest.raises(ValueError) as err:
        variant("memorize@n=3")
    for form in ("checkerboard@freq=<0.5 to 32>", "spiral@turns=<0.25 to 8>@noise=<0 to 0.5>",
                 "hifreq@freq=<1 to 128>"):
        assert form in str(err.value)


# --- ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "values", "name"),
    [
        ("spiral", {"turns": 1.75, "noise": 0.1}, "spiral@noise=0.1"),
        ("spiral", {"noise": 0.1, "turns": 3.0}, "spiral@turns=3@noise=0.1"),
        ("spiral", {"turns": 1.75, "noise": 0.04}, "spiral"),
        ("spiral", {}, "spiral"),
        ("checkerboard", {"freq": 5.0}, "checkerboard@freq=5"),
        ("checkerboard", {"freq": 5.66}, "checkerboard@freq=5.66"),
        ("hifreq", {"freq": 128}, "hifreq@freq=128"),
        ("complex_4d", {"freq": 0.25}, "complex_4d@freq=0.25"),
    ],
)
def test_variant_id_round_trips_with_knob_values(base, values, name):
    """variant_id writes knobs in the task's order, defaults left out; knob_values reads it back."""
    assert variant_id(base, values) == name
    knobs = KNOBS[base][0]
    full = {k.name: float(values.get(k.name, k.default)) for k in knobs}
    assert knob_values(name) == full
    assert variant_id(base, knob_values(name)) == name
    assert base_of(name) == base
    assert is_variant(name) == (name != base)


def test_variant_id_refuses_what_variant_refuses():
    """variant_id refuses a task without knobs, an unknown knob and a value out of range."""
    with pytest.raises(ValueError, match="task 'memorize' has no knob"):
        variant_id("memorize", {"n": 3})
    with pytest.raises(ValueError, match="task 'spiral': unknown knob 'freq'; its knobs: turns"):
        variant_id("spiral", {"freq": 3.0})
    with pytest.raises(ValueError, match=re.escape("task 'checkerboard@freq=99': freq must be")):
        variant_id("checkerboard", {"freq": 99.0})


def test_base_of_and_knob_values_of_plain_ids():
    """base_of of a plain id is the id; knob_values of a task without knobs is empty."""
    for name in [*TASKS, *REAL_TASKS, "random_reg_n10"]:
        assert base_of(name) == name
        assert not is_variant(name)
    assert knob_values("memorize") == {}
    assert knob_values("digits") == {}
    assert knob_values("checkerboard") == {"freq": 2.0}
    assert knob_values("spiral") == {"turns": 1.75, "noise": 0.04}
    assert base_of("spiral@turns=3@noise=0.1") == "spiral"


# --- the task's fields --------------------------------------------------------------------


def test_a_variants_fields_show_its_values():
    """A variant's title and formula are written at its knob values, its base is its task."""
    cb = get_task("checkerboard@freq=5")
    assert cb.title == "Checkerboard (10x10)"
    assert TASKS["checkerboard"].title == "Checkerboard (4x4)"
    assert r"\sin(5\pi x_1) \sin(5\pi x_2)" in cb.formula
    hf = get_task("hifreq@freq=20")
    assert hf.formula == r"y = \sin(20\pi x) + 0.5 \sin(50\pi x)"
    assert TASKS["hifreq"].formula == r"y = \sin(16\pi x) + 0.5 \sin(40\pi x)"
    sp = get_task("spiral@turns=3@noise=0.1")
    assert r"\theta = 6\pi s" in sp.formula
    assert r"\mathcal{N}(0, 0.1^2 I_2)" in sp.formula
    assert "3 turns" in sp.train_domain
    assert sp.noise == "Gaussian, std 0.1 on coordinates"
    assert get_task("complex_4d@freq=3").formula.startswith(r"y = \sin(3\pi x_1 x_2)")
    assert r"\sin(4\pi x_1 \sin(\pi x_2))" in get_task("nested_2d@freq=4").formula
    for task in (cb, hf, sp):
        assert task.base == base_of(task.name)
        assert "base" not in task.describe()
        base = TASKS[task.base]
        assert (task.kind, task.metric, task.group) == (base.kind, base.metric, base.group)
        assert (task.in_dim, task.out_dim, task.n_train, task.n_test) == (
            base.in_dim, base.out_dim, base.n_train, base.n_test
        )


def test_the_nine_tasks_have_no_base():
    """The nine tasks draw from their own name's stream: base is empty; so are the real ones."""
    assert len(TASKS) == 9
    assert all(t.base == "" for t in TASKS.values())
    assert all(t.base == "" for t in REAL_TASKS.values())
    assert set(KNOBS) == {"complex_4d", "nested_2d", "hifreq", "spiral", "checkerboard"}
    for base, (knobs, _) in KNOBS.items():
        for k in knobs:
            assert k.low <= k.default <= k.high, (base, k.name)


def test_get_task_caches_a_variant():
    """One id gives one Task object (variant is cached)."""
    assert get_task("checkerboard@freq=5") is get_task("checkerboard@freq=5")
    assert get_task("checkerboard@freq=5").name == "checkerboard@freq=5"


# --- parse_tasks --------------------------------------------------------------------------


def test_parse_tasks_mixes_variants_real_data_and_plain_ids():
    """parse_tasks keeps variants, real ids and groups in the order given."""
    assert parse_tasks("spiral,checkerboard@freq=5,digits") == (
        "spiral", "checkerboard@freq=5", "digits",
    )
    assert parse_tasks(["checkerboard", "checkerboard@freq=5", "real"]) == (
        "checkerboard", "checkerboard@freq=5", "digits", "diabetes",
    )
    assert parse_tasks("real") == ("digits", "diabetes")
    assert parse_tasks(" spiral@turns=3@noise=0.1 , diabetes") == (
        "spiral@turns=3@noise=0.1", "diabetes",
    )


def test_parse_tasks_refuses_a_bad_variant_with_its_own_message():
    """A bad variant in a list is refused with variant's message, not a generic one."""
    with pytest.raises(ValueError) as err:
        parse_tasks("spiral,checkerboard@freq=5.0,hifreq")
    assert str(err.value) == "task 'checkerboard@freq=5.0': write freq=5 (one task, one id)"
    with pytest.raises(ValueError, match=re.escape("task 'spiral@noise=0.1@turns=3': write")):
        parse_tasks(["spiral@noise=0.1@turns=3"])
    with pytest.raises(ValueError, match="task 'checkerboard@freq=5' selected twice"):
        parse_tasks("checkerboard@freq=5,checkerboard@freq=5")
    with pytest.raises(ValueError, match="task 'digits' selected twice"):
        parse_tasks("digits,real")


def test_group_all_is_the_nine_synthetic_tasks():
    """The group all is the nine tasks: no real data set, no variant."""
    everything = parse_tasks("all")
    assert everything == tuple(TASKS)
    assert "digits" not in everything and "diabetes" not in everything
    assert parse_tasks("all,real") == (*TASKS, "digits", "diabetes")


# --- real data ----------------------------------------------------------------------------


def column_stats(x):
    return x.double().mean(dim=0), x.double().std(dim=0, unbiased=False)


def test_digits_shapes_and_one_hot_targets():
    """digits: 1,347 train and 450 test images of 64 pixels, one-hot rows of ten classes."""
    task = get_task("digits")
    assert (task.kind, task.metric, task.group) == ("multiclass", "accuracy", "real")
    assert (task.in_dim, task.out_dim, task.n_train, task.n_test) == (64, 10, 1347, 450)
    data = task.generate(0)
    assert data.x_train.shape == (1347, 64) and data.x_test.shape == (450, 64)
    assert data.y_train.shape == (1347, 10) and data.y_test.shape == (450, 10)
    for y in (data.y_train, data.y_test):
        assert y.dtype == torch.float32
        assert set(y.unique().tolist()) == {0.0, 1.0}
        assert torch.equal(y.sum(dim=1), torch.ones(len(y)))
    assert set(data.y_train.argmax(dim=1).unique().tolist()) == set(range(10))


def test_digits_train_inputs_standardised():
    """digits' train pixels: column means ~0; std 1, or 0 (all zero) for a constant pixel."""
    data = get_task("digits").generate(0)
    mean, std = column_stats(data.x_train)
    assert mean.abs().max() < 1e-6
    constant = std == 0
    assert 0 < constant.sum() < 64  # pixel 0 is blank in every image
    assert bool(constant[0])
    assert torch.equal(data.x_train[:, constant], torch.zeros(1347, int(constant.sum())))
    assert (std[~constant] - 1).abs().max() < 1e-5


def test_diabetes_shapes_and_standardised_target():
    """diabetes: 331 train and 111 test patients of 10 inputs; inputs and target standardised."""
    task = get_task("diabetes")
    assert (task.kind, task.metric, task.group) == ("regression", "mse", "real")
    assert (task.in_dim, task.out_dim, task.n_train, task.n_test) == (10, 1, 331, 111)
    data = task.generate(0)
    assert data.x_train.shape == (331, 10) and data.x_test.shape == (111, 10)
    assert data.y_train.shape == (331, 1) and data.y_test.shape == (111, 1)
    mean, std = column_stats(data.x_train)
    assert mean.abs().max() < 1e-6
    assert (std - 1).abs().max() < 1e-5
    y_mean, y_std = column_stats(data.y_train)
    assert abs(float(y_mean[0])) < 1e-6
    assert abs(float(y_std[0]) - 1) < 1e-5
    # the test set is scaled by the training statistics, not its own
    assert float(column_stats(data.y_test)[0][0]) != pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("name", ["digits", "diabetes"])
def test_real_split_follows_the_data_seed(name):
    """One data seed gives the same bits; another seed a different split of the same points."""
    task = get_task(name)
    a, b, c = task.generate(0), task.generate(0), task.generate(1)
    assert draws_equal(a, b)
    assert not torch.equal(a.x_train, c.x_train)
    assert not torch.equal(a.y_test, c.y_test)
    assert a.x_train.shape == c.x_train.shape and a.x_test.shape == c.x_test.shape


@pytest.fixture
def no_sklearn(monkeypatch):
    """scikit-learn looks missing (find_spec answers None for it); real_task's cache is cleared
    before and after so no earlier lookup answers for it."""
    find_spec = importlib.util.find_spec

    def fake(name, *args, **kwargs):
        return None if name == "sklearn" else find_spec(name, *args, **kwargs)

    real_task.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", fake)
    yield
    monkeypatch.undo()
    real_task.cache_clear()


@pytest.mark.parametrize("name", ["digits", "diabetes"])
def test_real_data_without_scikit_learn_is_refused(no_sklearn, name):
    """Without scikit-learn, a real data set is refused naming the package to install."""
    message = f"task {name!r} needs the package scikit-learn: pip install scikit-learn"
    with pytest.raises(ValueError) as err:
        get_task(name)
    assert str(err.value) == message
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_tasks(f"spiral,{name}")
    assert parse_tasks("spiral,checkerboard@freq=5") == ("spiral", "checkerboard@freq=5")


def test_real_data_is_found_again_after_scikit_learn_returns():
    """With scikit-learn importable (the cache cleared), get_task gives the registered task."""
    real_task.cache_clear()
    assert get_task("digits") is REAL_TASKS["digits"]
    assert get_task("diabetes") is REAL_TASKS["diabetes"]


def test_minus_zero_is_not_a_second_id_for_zero():
    """spiral@noise=-0 is refused (write 0): one task, one id."""
    with pytest.raises(ValueError, match="noise=0"):
        get_task("spiral@noise=-0")


def test_variant_id_refuses_a_value_its_id_would_round():
    """A value with more than 6 significant figures would name another task: refused."""
    with pytest.raises(ValueError, match="significant figures"):
        variant_id("checkerboard", {"freq": 1.2345678})


def test_knob_values_refuses_a_malformed_id_without_knobs():
    """memorize has no knob: memorize@n=3 is refused, not read as no knobs."""
    with pytest.raises(ValueError, match="memorize@n=3"):
        knob_values("memorize@n=3")
