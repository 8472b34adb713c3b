"""The committed calibration: its probes are exactly its bisection's, and the multiverse's
calibrated protocol trains exactly the tasks it chose."""

from __future__ import annotations

from pathlib import Path

from richneuron.experiments import calibration as runs
from richneuron.experiments.study import load_spec, load_sweep
from richneuron.report import calibration
from richneuron.report.book import load_published

ROOT = Path(__file__).parents[2]


def test_the_committed_probes_are_the_bisection_and_nothing_else():
    """Replaying the bisection on data/sweeps/calibration.json asks for no probe it lacks
    (read() would raise) and the spec lists exactly the probes, in the order asked."""
    cals = runs.read(load_published(ROOT / "data" / "published.json"), ROOT / runs.OUT)
    spec = load_spec(ROOT / runs.SPEC)
    asked = list(dict.fromkeys(p.task for c in cals for p in c.probes))
    assert list(spec.tasks) == asked
    assert {c.status for c in cals} <= {"within", "nearest", "unreachable", "ours harder"}


def test_the_calibrated_protocol_trains_the_chosen_tasks():
    """sweeps/multiverse-calibrated.yaml trains the calibration's chosen tasks, and its
    committed file holds them."""
    chosen = calibration.chosen(calibration.load(ROOT / "data" / "sweeps"))
    spec = load_spec(ROOT / "sweeps" / "multiverse-calibrated.yaml")
    assert list(spec.tasks) == chosen
    stored = load_sweep(ROOT / "data" / "sweeps" / "multiverse-calibrated.json")
    assert {r.run.task for rs in stored.sets for r in rs.runs} == set(chosen)
