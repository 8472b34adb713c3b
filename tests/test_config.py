"""The training protocol (richneuron.config): every bad value refused with the field named,
integers for float settings read as the same protocol, ``to_dict`` stable for results stored
before later fields existed, and a reason for every choice."""

from __future__ import annotations

import math

import pytest

from richneuron.config import LATER_FIELDS, TrainConfig, assumptions_table


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("steps", 0, "invalid steps=0: must be an integer >= 1"),
        ("steps", 2.0, "invalid steps=2.0: must be an integer >= 1"),
        ("steps", True, "invalid steps=True: must be an integer >= 1"),
        ("lr", 0.0, "invalid lr=0.0: must be a finite number > 0"),
        ("lr", math.inf, "invalid lr=inf: must be a finite number > 0"),
        ("lr", math.nan, "invalid lr=nan: must be a finite number > 0"),
        ("lr", "0.1", "invalid lr='0.1': must be a finite number > 0"),
        ("beta1", 1.0, "invalid beta1=1.0: must be a number in [0, 1)"),
        ("beta2", -0.1, "invalid beta2=-0.1: must be a number in [0, 1)"),
        ("eps", 0.0, "invalid eps=0.0: must be a finite number > 0"),
        ("omega", -1.0, "invalid omega=-1.0: must be a finite number > 0"),
        ("depth", 0, "invalid depth=0: must be an integer >= 1"),
        ("budget", 0, "invalid budget=0: must be an integer >= 1"),
        ("tolerance", 1.0, "invalid tolerance=1.0: must be a number in (0, 1)"),
        ("rank", 0, "invalid rank=0: must be an integer >= 1"),
        ("data_seed", -1, "invalid data_seed=-1: must be an integer >= 0"),
        ("log_every", 0, "invalid log_every=0: must be an integer >= 1"),
        ("kan_grid", 0, "invalid kan_grid=0: must be an integer >= 1"),
        ("init_scale", 0.0, "invalid init_scale=0.0: must be a finite number > 0"),
        ("validation", 0.6, "invalid validation=0.6: must be a number in [0, 0.5]"),
        ("schedule", "step", "invalid schedule='step': must be one of constant, cosine, linear"),
        ("schedule", None, "invalid schedule=None: must be one of constant, cosine, linear"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field(field, value, message):
    with pytest.raises(ValueError) as err:
        TrainConfig(**{field: value})
    assert str(err.value) == message
    with pytest.raises(ValueError):  # replace validates as the constructor does
        TrainConfig().replace(**{field: value})


def test_a_bad_per_task_budget_is_refused_naming_the_task():
    with pytest.raises(ValueError, match=r"invalid budgets\['spiral'\]=0: must be a positive int"):
        TrainConfig(budgets={"spiral": 0})


def test_an_unknown_setting_is_refused_listing_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['learning_rate'\]; valid: "):
        TrainConfig().replace(learning_rate=1e-3)


def test_an_integer_for_a_float_setting_is_the_same_protocol():
    a, b = TrainConfig(omega=1, lr=1), TrainConfig(omega=1.0, lr=1.0)
    assert a == b and a.to_dict() == b.to_dict()
    assert isinstance(a.omega, float) and isinstance(a.lr, float)


def test_a_per_task_budget_overrides_the_default_for_that_task_only():
    config = TrainConfig(budget=5000, budgets={"memorize": 8000})
    assert config.budget_for("memorize") == 8000 and config.budget_for("spiral") == 5000


def test_later_fields_at_their_default_are_left_out_of_the_stored_form():
    doc = TrainConfig().to_dict()
    assert not set(LATER_FIELDS) & set(doc)  # a protocol stored before they existed
    assert TrainConfig(**doc) == TrainConfig()
    changed = TrainConfig(init_scale=0.5, kan_grid=8).to_dict()
    assert changed["init_scale"] == 0.5 and changed["kan_grid"] == 8
    assert "validation" not in changed
    assert TrainConfig(**changed) == TrainConfig(init_scale=0.5, kan_grid=8)


def test_the_schedules_decay_from_lr_to_zero_and_constant_is_left_out_of_the_key():
    cosine = TrainConfig(steps=4, lr=0.01, schedule="cosine")
    linear = cosine.replace(schedule="linear")
    assert [cosine.lr_at(k) for k in range(4)] == pytest.approx([0.01, 0.00854, 0.005, 0.00146],
                                                               abs=1e-5)
    assert [linear.lr_at(k) for k in range(4)] == [0.01, 0.0075, 0.005, 0.0025]
    assert TrainConfig(steps=4, lr=0.01).lr_at(3) == 0.01
    assert "schedule" not in TrainConfig().to_dict()
    assert cosine.to_dict()["schedule"] == "cosine"


def test_every_choice_has_its_reason():
    rows = assumptions_table(TrainConfig(steps=500))
    settings = [r["setting"] for r in rows]
    assert settings[: len(TrainConfig.field_names()) - 1] == [
        f for f in TrainConfig.field_names() if f != "budgets"
    ]
    assert {"optimiser", "init", "precision"} <= set(settings)
    assert all(r["why"].strip() for r in rows)
    assert next(r["value"] for r in rows if r["setting"] == "steps") == "500"
