"""Calibrating the tasks to the published baseline: the published numbers, the bisection's
probes and verdicts, and judging the calibrated tasks as the tasks they are settings of."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from conftest import make_result

from richneuron.analysis.calibration import (
    DIGITS,
    MAX_PROBES,
    TARGETS,
    WITHIN_FACTOR,
    WITHIN_POINTS,
    Calibration,
    Target,
    bisect,
    rule_text,
)
from richneuron.analysis.multiverse import as_base
from richneuron.analysis.rules import NO_FACTS, Facts, published_metric
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet
from richneuron.store.schema import Reference
from richneuron.tasks import knob_values

PUBLISHED = json.loads((Path(__file__).parents[2] / "data" / "published.json").read_text())
TARGET = {t.task: t for t in TARGETS}


def drive(target: Target, published: float, score) -> tuple[Calibration, list[str]]:
    """Runs the bisection to its end with ``score(knob value)`` as each probe's score; returns
    the last calibration and the ids asked for, in order."""
    scores: dict[str, float] = {}
    asked = []
    for _ in range(2 * MAX_PROBES):
        c = bisect(target, published, scores)
        if c.next is None:
            return c, asked
        assert c.next not in scores  # never asks twice
        asked.append(c.next)
        scores[c.next] = score(knob_values(c.next)[target.knob])
    raise AssertionError("bisect did not finish")


# --- the published numbers ----------------------------------------------------------------


def test_every_target_has_a_published_vanilla_score():
    """The bisection aims at rules.published_metric's vanilla score, accuracies as fractions."""
    values = {t.task: published_metric(PUBLISHED, "vanilla", t.task) for t in TARGETS}
    assert values == {
        "complex_4d": 0.0575, "nested_2d": 0.0487, "hifreq": 1.10, "spiral": 0.851,
        "checkerboard": 0.579,
    }


def test_targets_are_the_tasks_with_knobs():
    """The five targets, their knobs and the hard ends of their brackets."""
    assert [(t.task, t.knob, t.high) for t in TARGETS] == [
        ("complex_4d", "freq", 16.0),
        ("nested_2d", "freq", 16.0),
        ("hifreq", "freq", 128.0),
        ("spiral", "turns", 8.0),
        ("checkerboard", "freq", 16.0),
    ]
    assert (WITHIN_POINTS, WITHIN_FACTOR, MAX_PROBES, DIGITS) == (0.02, 1.25, 10, 3)
    assert "within 2 points" in rule_text() and "factor of 1.25" in rule_text()


# --- the probes in order ------------------------------------------------------------------


def test_bisect_asks_for_the_default_then_the_hard_end_then_midpoints():
    """With no score, bisect asks for the base id; then the hard end; then the midpoint."""
    target = TARGET["checkerboard"]
    c = bisect(target, 0.579, {})
    assert (c.next, c.probes, c.chosen, c.status) == ("checkerboard", (), None, "in progress")
    assert c.metric == "accuracy" and c.published == 0.579 and c.default == 2.0
    c = bisect(target, 0.579, {"checkerboard": 0.94})
    assert c.next == "checkerboard@freq=16"
    assert [(p.task, p.value, p.score) for p in c.probes] == [("checkerboard", 2.0, 0.94)]
    c = bisect(target, 0.579, {"checkerboard": 0.94, "checkerboard@freq=16": 0.5})
    assert c.next == "checkerboard@freq=5.66"  # sqrt(2 * 16) = 5.657 to 3 figures
    assert c.status == "in progress" and c.chosen is None
    spiral = bisect(TARGET["spiral"], 0.851, {"spiral": 1.0, "spiral@turns=8": 0.5})
    assert spiral.next == "spiral@turns=3.74"  # sqrt(1.75 * 8) = 3.742
    assert spiral.default == 1.75


def test_bisect_ignores_scores_it_did_not_ask_for():
    """Scores of other ids do not count: bisect still asks for its own next probe."""
    c = bisect(TARGET["checkerboard"], 0.579, {"checkerboard@freq=5": 0.579, "spiral": 0.8})
    assert c.next == "checkerboard" and c.probes == ()


# --- the verdicts -------------------------------------------------------------------------


def test_accuracy_bisection_moves_up_while_easier_and_stops_within():
    """Accuracy falling with freq: the bracket moves up while easier and stops within 2 points."""
    c, asked = drive(TARGET["checkerboard"], 0.579, lambda v: 1 - v / 32)
    assert asked == [
        "checkerboard",
        "checkerboard@freq=16",
        "checkerboard@freq=5.66",  # 0.823: easier, low = 5.66
        "checkerboard@freq=9.52",  # sqrt(5.66 * 16) = 9.516; 0.7025: easier
        "checkerboard@freq=12.3",  # sqrt(9.52 * 16) = 12.34; 0.6156: easier
        "checkerboard@freq=14",  # sqrt(12.3 * 16) = 14.03; 0.5625: within 0.02
    ]
    assert c.status == "within"
    assert (c.chosen.task, c.chosen.value, c.chosen.score) == ("checkerboard@freq=14", 14.0, 0.5625)
    assert c.next is None and len(c.probes) == 6


def test_accuracy_bisection_moves_down_while_harder():
    """Accuracy below the published value at a midpoint moves the hard end down."""
    c, asked = drive(TARGET["checkerboard"], 0.579, lambda v: 1 - v / 6)
    # 2: 0.667, 16: -1.67, 5.66: 0.0567 (harder: high = 5.66), 3.36: 0.44 (harder), 2.59: 0.568
    assert asked == [
        "checkerboard", "checkerboard@freq=16", "checkerboard@freq=5.66",
        "checkerboard@freq=3.36", "checkerboard@freq=2.59",
    ]
    assert c.status == "within" and c.chosen.value == 2.59


def test_mse_bisection_moves_up_while_lower_and_stops_within_the_factor():
    """MSE rising with freq: a lower MSE (easier) moves the bracket up; stops within 1.25x."""
    c, asked = drive(TARGET["complex_4d"], 0.0575, lambda v: 0.001 * v * v)
    # 1: 0.001, 16: 0.256 (harder), 4: 0.016 (easier: low = 4), 8: 0.064 (0.064 / 0.0575 < 1.25)
    assert asked == ["complex_4d", "complex_4d@freq=16", "complex_4d@freq=4", "complex_4d@freq=8"]
    assert c.metric == "mse" and c.status == "within"
    assert (c.chosen.task, c.chosen.score) == ("complex_4d@freq=8", 0.064)


def test_mse_bisection_moves_down_while_higher():
    """An MSE above the published value at a midpoint moves the hard end down."""
    c, _ = drive(TARGET["nested_2d"], 0.0487, lambda v: 0.001 * v**3)
    # 2: 0.008 (easier); 16: 4.1; 5.66: 0.181 (harder: high = 5.66); 3.36: 0.0379 (easier,
    # 0.78x); 4.36: 0.0829 (harder); 3.83: 0.0562 (1.15x: within)
    assert [p.value for p in c.probes] == [2.0, 16.0, 5.66, 3.36, 4.36, 3.83]
    assert c.status == "within" and c.chosen.task == "nested_2d@freq=3.83"


def test_a_default_already_harder_is_not_calibrated():
    """Our task already harder than the published one: one probe, nothing chosen."""
    c, asked = drive(TARGET["nested_2d"], 0.0487, lambda v: 0.01 * v**3)  # 2: 0.08
    assert (asked, c.status, c.chosen, c.next) == (["nested_2d"], "ours harder", None, None)


def test_within_at_the_default_stops_at_once():
    """A default already within the neighbourhood is the calibrated task: one probe."""
    c = bisect(TARGET["spiral"], 0.851, {"spiral": 0.86})
    assert (c.status, c.next, c.chosen.task, len(c.probes)) == ("within", None, "spiral", 1)


def test_within_at_the_hard_end_stops_there():
    """A hard end within the neighbourhood is chosen before any midpoint."""
    c = bisect(TARGET["checkerboard"], 0.579, {"checkerboard": 0.94, "checkerboard@freq=16": 0.59})
    assert (c.status, c.chosen.task, len(c.probes)) == ("within", "checkerboard@freq=16", 2)


@pytest.mark.parametrize(
    ("score", "within"),
    [(0.599, True), (0.559, True), (0.5995, False), (0.5585, False)],
)
def test_the_accuracy_neighbourhood_is_two_points(score, within):
    """Accuracy within 0.02 of the published value (edges included) is within; beyond is not."""
    c = bisect(TARGET["checkerboard"], 0.579, {"checkerboard": score})
    assert (c.status == "within") is within
    harder = not within and score < 0.579  # our task already harder: nothing to calibrate
    assert c.status != "ours harder" or harder
    assert c.next == (None if within or harder else "checkerboard@freq=16")


@pytest.mark.parametrize(
    ("factor", "within"), [(1.25, True), (1 / 1.25, True), (1.26, False), (1 / 1.26, False)]
)
def test_the_mse_neighbourhood_is_a_factor_of_one_and_a_quarter(factor, within):
    """An MSE within a factor 1.25 of the published value either way is within; beyond is not."""
    c = bisect(TARGET["complex_4d"], 0.0575, {"complex_4d": 0.0575 * factor})
    assert (c.status == "within") is within


def test_mse_unreachable_when_the_hard_end_is_still_lower():
    """An MSE task whose hard end still scores below the published MSE is unreachable."""
    c, asked = drive(TARGET["hifreq"], 1.10, lambda v: 0.6 * (1 - math.exp(-v / 10)))
    assert asked == ["hifreq", "hifreq@freq=128"]
    assert (c.status, c.chosen, c.next) == ("unreachable", None, None)
    assert [p.task for p in c.probes] == ["hifreq", "hifreq@freq=128"]


def test_accuracy_unreachable_when_the_hard_end_is_still_higher():
    """An accuracy task whose hard end still scores above the published accuracy is unreachable."""
    c = bisect(TARGET["spiral"], 0.851, {"spiral": 1.0, "spiral@turns=8": 0.95})
    assert (c.status, c.chosen, c.next, len(c.probes)) == ("unreachable", None, None, 2)


def test_nearest_after_max_probes_without_a_hit():
    """A score that jumps past the neighbourhood: MAX_PROBES probes, then the nearest one."""
    c, asked = drive(TARGET["checkerboard"], 0.579, lambda v: 0.9 if v < 5 else 0.5)
    assert [p.value for p in c.probes] == [2.0, 16.0, 5.66, 3.36, 4.36, 4.97, 5.3, 5.13, 5.05,
                                           5.01]
    assert len(asked) == MAX_PROBES == len(c.probes)
    assert c.status == "nearest" and c.next is None
    # 0.5 is 0.079 away, 0.9 is 0.321: the first probe at 0.5 (ties keep the earlier) is chosen
    assert (c.chosen.task, c.chosen.score) == ("checkerboard@freq=16", 0.5)


def test_nearest_by_log_mse():
    """MSE's nearest probe is the nearest on a log scale, not in absolute difference."""
    c, _ = drive(TARGET["complex_4d"], 0.0575, lambda v: 0.01 if v < 3 else 0.5)
    # 0.01 is 1.75 log units below 0.0575, 0.5 is 2.16 above: the default wins, though it is
    # 0.0475 away against 0.4425
    assert c.status == "nearest" and c.chosen.task == "complex_4d" and c.chosen.score == 0.01
    c, _ = drive(TARGET["complex_4d"], 0.0575, lambda v: 0.001 if v < 3 else 0.2)
    # 0.001: 4.05 log units; 0.2: 1.25 log units, though 0.1425 away against 0.0565
    assert c.status == "nearest" and c.chosen.task == "complex_4d@freq=16"


def test_midpoints_are_rounded_to_three_figures():
    """Every midpoint probe's value has at most three significant figures, as its id writes it."""
    c, _ = drive(TARGET["hifreq"], 0.3, lambda v: 0.9 if v > 50 else 0.01)
    assert c.status == "nearest" and len(c.probes) == MAX_PROBES
    for p in c.probes:
        assert p.value == float(f"{p.value:.3g}")
        assert knob_values(p.task)["freq"] == p.value
    assert [p.value for p in c.probes][:4] == [16.0, 128.0, 45.3, 76.1]


# --- as_base ------------------------------------------------------------------------------


def results(tasks):
    """Two seeds of vanilla on each of ``tasks``."""
    runs = [
        make_result("vanilla", t, s, metric="accuracy", test_metric=0.6 + 0.01 * s)
        for t in tasks for s in range(2)
    ]
    return ResultSet("cal", TrainConfig(steps=2).to_dict(), {"git": "x"}, runs)


def test_as_base_renames_variants_and_rekeys_references():
    """Runs of checkerboard@freq=5 become checkerboard's; references are keyed alike."""
    rs = results(["checkerboard@freq=5", "spiral@turns=3", "memorize"])
    ref = Reference("checkerboard@freq=5", "accuracy", {"majority": 0.5, "logistic": 0.5})
    facts = Facts(memorize_params=5000, references={"checkerboard@freq=5": ref})
    out, out_facts = as_base(rs, facts)
    assert [(r.run.task, r.run.seed) for r in out.runs] == [
        ("checkerboard", 0), ("checkerboard", 1), ("spiral", 0), ("spiral", 1),
        ("memorize", 0), ("memorize", 1),
    ]
    assert [r.test_metric for r in out.runs] == [r.test_metric for r in rs.runs]
    assert (out.name, out.config, out.provenance) == (rs.name, rs.config, rs.provenance)
    assert out_facts.references == {"checkerboard": dataclasses.replace(ref, task="checkerboard")}
    assert out_facts.memorize_params == 5000
    # the input is left as it was
    assert [r.run.task for r in rs.runs][:2] == ["checkerboard@freq=5"] * 2
    assert facts.references == {"checkerboard@freq=5": ref}
    assert out.get("vanilla", "checkerboard", 1).test_metric == 0.61


def test_as_base_leaves_a_set_without_variants_alone():
    """Without a variant, as_base returns the very same result set and facts."""
    rs = results(["checkerboard", "spiral"])
    facts = Facts(references={"spiral": Reference("spiral", "accuracy", {"majority": 0.5})})
    out, out_facts = as_base(rs, facts)
    assert out is rs and out_facts is facts
    out, out_facts = as_base(rs)
    assert out is rs and out_facts is NO_FACTS


@pytest.mark.parametrize(
    "tasks",
    [["checkerboard", "checkerboard@freq=5"], ["checkerboard@freq=5", "checkerboard@freq=6"]],
)
def test_as_base_refuses_a_task_under_two_settings(tasks):
    """A task and its variant (or two variants of it) would share one name: refused."""
    with pytest.raises(ValueError, match="cal: task 'checkerboard' is there under two settings"):
        as_base(results([*tasks, "spiral@turns=3"]))


def test_a_diverged_probe_is_never_the_nearest():
    """NaN scores (every seed diverged) are never chosen; all NaN: unreachable."""
    nan = float("nan")
    c, _ = drive(TARGET["nested_2d"], 0.0487, lambda v: 0.0 if v == 2.0 else nan)
    assert c.chosen is None and c.status in ("unreachable", "ours harder")
