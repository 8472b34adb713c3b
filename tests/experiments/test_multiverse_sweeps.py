"""The multiverse's protocols read from the committed sweep files
(richneuron.experiments.multiverse_sweeps): each protocol carries the setting its runs share,
so that what depends on the draw (the reference predictors) is computed on the right one."""

from richneuron.experiments import multiverse_sweeps
from richneuron.report.book import config_of, load_book_data


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
    assert {r.run.seed for p in protocols for r in p.results.runs} <= set(range(5))
