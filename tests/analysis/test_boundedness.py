"""The boundedness ablation: each ablated neuron against its original out of range, one family."""

from conftest import result

from richneuron.analysis import boundedness
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet
from richneuron.store.schema import Reference

OOD = {"ood_shift": Reference("ood_shift", "mse", {"mean": 0.5, "linear": 5.0, "knn": 0.4})}


def runs(**means):
    """Ten seeds of each architecture on ood_shift, 1% apart."""
    return [
        result(arch, "ood_shift", s, mean * (1 + 0.01 * s))
        for arch, mean in means.items()
        for s in range(10)
    ]


def sets(originals, ablations):
    config = TrainConfig().to_dict()
    book = ResultSet("book", config, {}, runs(**originals))
    return book, ResultSet("ablations", config, {}, runs(**ablations))


def test_both_ablations_as_a_bounded_output_predicts():
    book, ablated = sets({"singlu": 0.4, "v7": 0.1}, {"singlu_ln": 0.1, "v7_value": 0.4})
    rows = boundedness.ablation_rows(book, ablated, OOD)
    assert [(r["original"], r["ablated"], r["outcome"]) for r in rows] == [
        ("singlu", "singlu_ln", 1), ("v7", "v7_value", -1)]
    assert rows[0]["interval"].estimate > 1 and rows[0]["learned"]
    assert boundedness.reading(rows, "ood_shift") == boundedness.READINGS[0]
    assert boundedness.reading(rows, "freq_gen") == boundedness.READINGS[4]  # not trained
    table = boundedness.ablation_table(rows)
    assert "ablated lower" in table and "ablated higher" in table and "0.5 (training mean)" in table


def test_ablations_that_move_nothing_or_the_other_way():
    same = sets({"singlu": 0.3, "v7": 0.3}, {"singlu_ln": 0.3, "v7_value": 0.3})
    rows = boundedness.ablation_rows(*same, OOD)
    assert [r["outcome"] for r in rows] == [0, 0]
    assert boundedness.reading(rows, "ood_shift") == boundedness.READINGS[1]
    assert "within noise (would detect" in boundedness.ablation_table(rows)
    worse = sets({"singlu": 0.1, "v7": 0.3}, {"singlu_ln": 0.4, "v7_value": 0.3})
    rows = boundedness.ablation_rows(*worse, OOD)
    assert boundedness.reading(rows, "ood_shift") == boundedness.READINGS[3]
    failing = sets({"singlu": 0.9, "v7": 0.9}, {"singlu_ln": 0.8, "v7_value": 0.9})
    rows = boundedness.ablation_rows(*failing, OOD)  # all above the training mean's 0.5
    assert boundedness.reading(rows, "ood_shift") == (
        boundedness.UNLEARNED + boundedness.READINGS[2]  # SinGLU's error falls; v7's is the same
    )
    assert "ablated lower; neither learns the task" in boundedness.ablation_table(rows)
