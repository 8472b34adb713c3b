"""The multiverse's protocols read from the committed sweep files
(richneuron.experiments.multiverse_sweeps): each protocol carries the setting its runs share,
so that what depends on the draw (the reference predictors) is computed on the right one."""

from richneuron.analysis import multiverse
from richneuron.analysis.multiverse import CALIBRATED
from richneuron.experiments import multiverse_sweeps
from richneuron.report.book import config_of, load_book_data
from richneuron.tasks import is_variant


def test_a_protocol_that_changes_the_data_seed_carries_it():
    protocols = multiverse_sweeps.load(load_book_data("data"), "data/sweeps")
    seeds = [
        (p.name, config_of(p.results).data_seed)
        for p in protocols
        if p.factor in ("data_seed", "tuned data_seed")
    ]
    assert sorted(seeds) == [
        ("data_seed = 1", 1),
        ("data_seed = 2", 2),
        ("tuned data_seed: 1", 1),
        ("tuned data_seed: 2", 2),
    ]
    # every protocol shares the chapters' five seeds; the calibrated tasks' has ten
    for p in protocols:
        seeds = {r.run.seed for r in p.results.runs}
        assert seeds == set(range(10 if p.factor == CALIBRATED else 5)), p.name


def test_the_calibrated_protocol_holds_the_calibrated_tasks_alone():
    """Its runs are the panel on the calibrated settings, no task of the nine itself (the
    findings about those are not tested there rather than counted twice)."""
    protocols = multiverse_sweeps.load(load_book_data("data"), "data/sweeps")
    calibrated = multiverse.protocol_of(protocols, CALIBRATED)
    tasks = {r.run.task for r in calibrated.results.runs}
    assert tasks and all(is_variant(t) for t in tasks)
    assert {r.run.arch for r in calibrated.results.runs} == set(multiverse.PANEL)
