"""The Tasks and Method chapters' tables (richneuron.report.method)."""



import richneuron.report.method as method
from richneuron.config import TrainConfig
from richneuron.neurons import ARCHITECTURES
from richneuron.tasks import TASKS


def test_budget_table_covers_every_architecture_and_task_within_tolerance():
    config = TrainConfig()
    table, worst = method.budget_table(config)
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(ARCHITECTURES)
    assert lines[0].count("|") == 2 + len(TASKS)
    assert 0 <= worst <= config.tolerance


def test_equation_and_tables_come_from_the_library():
    assert (
        method.equation("v10")._repr_latex_()
        == r"$$ y = \sin(\omega g + \pi \tanh\varphi) \odot v $$"
    )
    assert str(method.implementation("v10")) == "`richneuron.neurons.V10FreePhase`"
    assert r"\sin(16\pi x)" in method.task_formula("hifreq")
    assert "| memorize |" in method.task_table()
    assert "| optimiser |" in method.assumptions()


def test_reference_table_shows_every_predictor_and_the_one_to_beat():
    lines = str(method.reference_table(0, ["spiral", "freq_gen"])).strip().splitlines()
    assert lines[0] == (
        "| task | metric | constant | linear | 5 nearest neighbours | best reference |"
    )
    assert lines[2].startswith("| spiral | accuracy | 50% (majority class) | 62.8% (logistic")
    assert lines[2].endswith("| logistic regression |")
    assert lines[3].startswith("| freq_gen | mse | 0.459 (training mean) |")
    assert lines[3].endswith("| training mean |")
