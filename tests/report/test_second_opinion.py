"""The second opinion (richneuron.report.second_opinion, richneuron.report.seeds): every verdict
recomputed on each half of the pooled seeds, and the pooled sets."""


import pytest
from conftest import result

import richneuron.report.second_opinion as second_opinion
import richneuron.report.seeds as seeds
import richneuron.report.synthesis as synthesis
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet


def _set(rows, seeds):
    runs = [result(a, t, s, v * (1 + 0.01 * k)) for a, t, v in rows for k, s in enumerate(seeds)]
    return ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)


def _halves():
    first = _set([("v10", "hifreq", 0.01), ("singlu", "hifreq", 0.1),
                  ("v10", "spiral", 0.9), ("singlu", "spiral", 0.8)], range(5))
    second = _set([("v10", "hifreq", 0.01), ("singlu", "hifreq", 0.1),
                   ("v10", "spiral", 0.8), ("singlu", "spiral", 0.9)], range(5, 10))
    return seeds.pooled(first, second)


def test_regime_rows_recompute_each_verdict_on_each_half_and_mark_flips():
    both = _halves()
    rows = {r["task"]: r for r in synthesis.regime_rows(both, seeds.halves(both))}
    assert rows["hifreq"]["first_verdict"] == rows["hifreq"]["second_verdict"] == "v10"
    assert rows["hifreq"]["verdict"] == "v10" and rows["hifreq"]["stability"] == "agrees"
    assert rows["spiral"]["first_verdict"] == "v10"
    assert rows["spiral"]["second_verdict"] == "singlu"
    assert rows["spiral"]["verdict"] == "within noise"  # the ten seeds together
    assert rows["spiral"]["stability"] == "flips"
    assert sum(r.get("stability") == "flips" for r in rows.values()) == 1
    spans = second_opinion.half_spans(both)
    assert spans == ("0–4", "5–9")
    table = synthesis.regime_table(list(rows.values()), spans)
    assert "| on seeds 0–4 | on seeds 5–9 | stability |" in table and "**flips**" in table
    text = second_opinion.stability_summary(list(rows.values()), [], spans)
    assert "Between seeds 0–4 and seeds 5–9" in text
    assert "1 of the 2 verdicts of the regime map flip (spiral)" in text
    assert "does not check" in second_opinion.stability_summary([], [], ("none", "none"))


def test_load_second_refuses_shared_seeds_and_another_protocol(tmp_path):
    from richneuron.experiments.specs import SweepResult
    from richneuron.experiments.study import Sweep, save_sweep
    from richneuron.store.results import ResultsError

    first = _set([("v10", "hifreq", 0.01)], range(5))
    assert seeds.load_second(tmp_path / "absent.json", first) is None

    def saved(seeds, config):
        sweep = Sweep.from_dict({"name": "s", "archs": ["v10"], "tasks": ["hifreq"],
                                 "seeds": 5, "first_seed": seeds[0]})
        rs = _set([("v10", "hifreq", 0.01)], seeds)
        rs = ResultSet("s", config, {}, rs.runs)
        path = tmp_path / f"s{seeds[0]}-{config['steps']}.json"
        save_sweep(SweepResult(sweep, [rs]), path)
        return path

    config = first.config
    good = seeds.load_second(saved(range(5, 10), config), first)
    assert sorted({r.run.seed for r in good.runs}) == [5, 6, 7, 8, 9]
    with pytest.raises(ResultsError, match="seeds \\[3, 4\\] are also the chapters'"):
        seeds.load_second(saved(range(3, 8), config), first)
    other = saved(range(5, 10), {**config, "steps": 3})
    with pytest.raises(ResultsError, match="its protocol differs"):
        seeds.load_second(other, first)
    # pooling: the second opinion's runs of rs's own pairs join it; a run rs holds stays rs's
    pooled = seeds.pool_second(first, saved(range(3, 8), config))
    assert sorted({r.run.seed for r in pooled.runs}) == list(range(8))
    assert seeds.pool_second(first, tmp_path / "absent.json") is first
    assert seeds.pool_second(first, None) is first
    with pytest.raises(ResultsError, match="its protocol differs"):
        seeds.pool_second(first, other)
    assert seeds.pool_second(first, other, other_protocol="skip") is first
    with pytest.raises(ValueError, match="other_protocol: must be 'refuse' or 'skip'"):
        seeds.pool_second(first, other, other_protocol="ignore")


def test_interval_widths_narrow_with_more_seeds():
    noisy = [("v10", "hifreq", 0.01), ("singlu", "hifreq", 0.1)]
    runs = [result(a, t, s, v * f) for a, t, v in noisy
            for s, f in enumerate((0.5, 1.5, 1.0, 0.9, 1.1))]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    three = second_opinion.interval_widths(seeds.with_seeds(rs, range(3)))
    five = second_opinion.interval_widths(rs)
    assert three["seeds"] == "0–2" and five["seeds"] == "0–4"
    assert five["mse_factor"] < three["mse_factor"]
    assert five["clear_winners"] == 1 and five["tasks"] == 1
    assert three["smallest_p"] == 2 / 20 and five["smallest_p"] == 2 / 252
    table = second_opinion.interval_width_table([three, five])
    assert "| 0–4 |" in table and "0.1 (nothing can pass)" in table and "0.0079 |" in table


def test_pooled_sets_halves_and_the_flip_table():
    both = _halves()
    assert len(both.runs) == 40 and seeds.seed_span(both) == "0–9"
    first, second = seeds.halves(both)
    assert seeds.seed_span(first) == "0–4" and seeds.seed_span(second) == "5–9"
    assert seeds.halves(seeds.with_seeds(both, range(3))) is None  # a half needs two seeds
    assert seeds.seed_span(seeds.chapters_own(both)) == "0–4"
    with pytest.raises(ValueError, match="shares runs"):
        seeds.pooled(first, first)
    regime = synthesis.regime_rows(both, (first, second))
    table = second_opinion.flip_table(regime, [], ("0–4", "5–9"))
    assert "| regime map: spiral | within noise | v10 | singlu |" in table
    assert "| all seeds (the book's) | seeds 0–4 | seeds 5–9 |" in table
    assert second_opinion.flip_table([], [], ("0–4", "5–9")) == "No verdict flips.\n"
