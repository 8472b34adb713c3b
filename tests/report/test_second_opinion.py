"""The second opinion (richneuron.report.second_opinion): every verdict recomputed on a disjoint
set of seeds, and the pooled sets."""


import pytest
from conftest import result

import richneuron.report.second_opinion as second_opinion
import richneuron.report.synthesis as synthesis
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet


def _set(rows, seeds):
    runs = [result(a, t, s, v * (1 + 0.01 * k)) for a, t, v in rows for k, s in enumerate(seeds)]
    return ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)


def test_regime_rows_recompute_each_verdict_on_the_second_set_and_mark_flips():
    first = _set([("v10", "hifreq", 0.01), ("singlu", "hifreq", 0.1),
                  ("v10", "spiral", 0.9), ("singlu", "spiral", 0.8)], range(5))
    second = _set([("v10", "hifreq", 0.01), ("singlu", "hifreq", 0.1),
                   ("v10", "spiral", 0.8), ("singlu", "spiral", 0.9)], range(5, 10))
    rows = {r["task"]: r for r in synthesis.regime_rows(first, second)}
    assert rows["hifreq"]["verdict"] == rows["hifreq"]["second_verdict"] == "v10"
    assert rows["hifreq"]["stability"] == "agrees"
    assert rows["spiral"]["verdict"] == "v10" and rows["spiral"]["second_verdict"] == "singlu"
    assert rows["spiral"]["stability"] == "flips"
    assert sum(r.get("stability") == "flips" for r in rows.values()) == 1
    regime = synthesis.regime_rows(first, second)
    table = synthesis.regime_table(regime, second_opinion.seed_span(second))
    assert "| on seeds 5–9 | stability |" in table and "**flips**" in table
    text = second_opinion.stability_summary(list(rows.values()), [], "5–9")
    assert "1 of the 2 verdicts of the regime map flip (spiral)" in text
    assert "does not check" in second_opinion.stability_summary([], [], "none")


def test_load_second_refuses_shared_seeds_and_another_protocol(tmp_path):
    from richneuron.experiments.specs import SweepResult
    from richneuron.experiments.study import Sweep, save_sweep
    from richneuron.store.results import ResultsError

    first = _set([("v10", "hifreq", 0.01)], range(5))
    assert second_opinion.load_second(tmp_path / "absent.json", first) is None

    def saved(seeds, config):
        sweep = Sweep.from_dict({"name": "s", "archs": ["v10"], "tasks": ["hifreq"],
                                 "seeds": 5, "first_seed": seeds[0]})
        rs = _set([("v10", "hifreq", 0.01)], seeds)
        rs = ResultSet("s", config, {}, rs.runs)
        path = tmp_path / f"s{seeds[0]}-{config['steps']}.json"
        save_sweep(SweepResult(sweep, [rs]), path)
        return path

    config = first.config
    good = second_opinion.load_second(saved(range(5, 10), config), first)
    assert sorted({r.run.seed for r in good.runs}) == [5, 6, 7, 8, 9]
    with pytest.raises(ResultsError, match="seeds \\[3, 4\\] are also the chapters'"):
        second_opinion.load_second(saved(range(3, 8), config), first)
    with pytest.raises(ResultsError, match="its protocol differs"):
        second_opinion.load_second(saved(range(5, 10), {**config, "steps": 3}), first)


def test_interval_widths_narrow_with_more_seeds():
    noisy = [("v10", "hifreq", 0.01), ("singlu", "hifreq", 0.1)]
    runs = [result(a, t, s, v * f) for a, t, v in noisy
            for s, f in enumerate((0.5, 1.5, 1.0, 0.9, 1.1))]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    three = second_opinion.interval_widths(second_opinion.with_seeds(rs, range(3)))
    five = second_opinion.interval_widths(rs)
    assert three["seeds"] == "0–2" and five["seeds"] == "0–4"
    assert five["mse_factor"] < three["mse_factor"]
    assert five["clear_winners"] == 1 and five["tasks"] == 1
    assert "| 0–4 |" in second_opinion.interval_width_table([three, five])


def test_pooled_sets_and_the_flip_table():
    first = _set([("v10", "spiral", 0.9), ("singlu", "spiral", 0.8)], range(5))
    second = _set([("v10", "spiral", 0.8), ("singlu", "spiral", 0.9)], range(5, 10))
    both = second_opinion.pooled(first, second)
    assert len(both.runs) == 20 and second_opinion.seed_span(both) == "0–9"
    with pytest.raises(ValueError, match="shares runs"):
        second_opinion.pooled(first, first)
    regime = synthesis.regime_rows(first, second)
    table = second_opinion.flip_table(regime, synthesis.regime_rows(both), [])
    assert "| regime map: spiral | v10 | singlu | within noise |" in table
    assert second_opinion.flip_table([], [], []) == "No verdict flips.\n"
