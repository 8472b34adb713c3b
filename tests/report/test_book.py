"""The book: chapter structure (static), run_chapter's validation, tables and verdicts."""

import ast
import json
import math
import os
import re
from pathlib import Path

import pytest
from conftest import result

import richneuron.paths as paths
import richneuron.report.book as book
import richneuron.report.build as build
import richneuron.report.chapter as chapter
import richneuron.report.method as method
import richneuron.report.related as related
import richneuron.report.second_opinion as second_opinion
import richneuron.report.synthesis as synthesis
from richneuron.analysis.rules import final_diagnostic
from richneuron.config import TrainConfig
from richneuron.neurons import ARCHITECTURES
from richneuron.store.results import ResultSet
from richneuron.store.schema import Run
from richneuron.tables import markdown_table
from richneuron.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
CHAPTERS = sorted((ROOT / "book").glob("*.md")) + NOTEBOOKS
VERSION_PARAMETERS = {"seeds", "steps", "budget", "tasks", "out", "quick"}
ALLOWED_IMPORTS = {"richneuron", "myst_nb"}

# {glue}`key`, {glue:text}`doc.ipynb::key:.2f`, and ```{glue:md} key directives.
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}\s+(\S+)", re.MULTILINE)


def cells(path, kind):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == kind]


def source(cell):
    return "".join(cell["source"])


def glued_keys(path):
    """Keys passed as a literal first argument to ``glue(...)`` in the notebook's code."""
    keys = set()
    for cell in cells(path, "code"):
        for node in ast.walk(ast.parse(source(cell))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "glue"
                and node.args
            ):
                if isinstance(node.args[0], ast.Constant):
                    keys.add(node.args[0].value)
    return keys


def referenced_keys(text):
    """``(document or None, key)`` for every glue reference in Markdown ``text``."""
    refs = GLUE_ROLE.findall(text) + GLUE_DIRECTIVE.findall(text)
    out = []
    for ref in refs:
        doc, _, key = ref.rpartition("::")
        out.append((doc or None, key.split(":")[0]))
    return out


def markdown_text(path):
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    return "\n".join(source(c) for c in cells(path, "markdown"))


def parameters_cell(path):
    tagged = [c for c in cells(path, "code") if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"
    return tagged[0]


def parameters(path):
    values = {}
    for stmt in ast.parse(source(parameters_cell(path))).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, (
            f"{path.name}: parameters cell holds a statement other than `name = literal`"
        )
        assert isinstance(stmt.targets[0], ast.Name)
        values[stmt.targets[0].id] = ast.literal_eval(stmt.value)  # raises if not a literal
    return values


def test_every_notebook_is_a_chapter_of_the_toc_and_every_chapter_a_notebook():
    docs = build.toc_documents(ROOT / "_toc.yml")
    chapters = {d for d in docs if (ROOT / f"{d}.ipynb").is_file()}
    assert {f"book/{p.stem}" for p in NOTEBOOKS} == chapters
    assert all((ROOT / f"{d}.md").is_file() for d in set(docs) - chapters)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_is_literals_with_quick(path):
    values = parameters(path)
    assert isinstance(values.get("quick"), bool), f"{path.name}: no boolean `quick` parameter"
    if re.match(r"\d+-v\d+-", path.name):
        assert VERSION_PARAMETERS <= set(values), f"{path.name}: missing parameters"
        assert values["out"] == f"data/{path.stem}.json"
        assert values["quick"] is False
        # The Method chapter prints TrainConfig's defaults as the protocol: the chapters
        # must train with them.
        defaults = TrainConfig()
        for name in ("steps", "lr", "budget"):
            if name in values:
                assert values[name] == getattr(defaults, name), f"{path.name}: {name}"
    if "seeds" in values:  # the Method chapter states this number and the rule built on it
        assert values["seeds"] == chapter.DEFAULT_SEEDS, f"{path.name}: seeds"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_imports_only_richneuron_and_myst_nb_and_no_definitions(path):
    for cell in cells(path, "code"):
        for node in ast.walk(ast.parse(source(cell))):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]} if node.level == 0 else {""}
            else:
                roots = set()
            assert roots <= ALLOWED_IMPORTS, f"{path.name}: imports {roots - ALLOWED_IMPORTS}"
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef), (
                f"{path.name}: defines {node.name!r}; put it in richneuron/"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_committed(path):
    for cell in cells(path, "code"):
        assert cell["outputs"] == [] and cell["execution_count"] is None, (
            f"{path.name}: committed outputs; clear them"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_have_caption_and_name_and_one_plot_call(path):
    for cell in cells(path, "code"):
        calls = [
            n
            for n in ast.walk(ast.parse(source(cell)))
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and getattr(n.func.value, "id", "") == "plots"
        ]
        if not calls:
            continue
        assert len(calls) == 1, f"{path.name}: {len(calls)} plot calls in one cell"
        figure = cell["metadata"].get("mystnb", {}).get("figure", {})
        assert figure.get("caption") and figure.get("name"), f"{path.name}: figure metadata"


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    docs = build.toc_documents(ROOT / "_toc.yml")
    listed = {str(p.relative_to(ROOT).with_suffix("")) for p in CHAPTERS}
    assert listed == set(docs)
    assert len(docs) == len(set(docs))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_glue_reference_is_glued(path):
    refs = referenced_keys(markdown_text(path))
    for doc, key in refs:
        target = path if doc is None else (path.parent / doc)
        assert target.suffix == ".ipynb" and target.exists(), f"{path.name}: glue from {doc}"
        assert key in glued_keys(target), f"{path.name}: {key!r} is never glued in {target.name}"


def test_glue_reference_parser():
    text = (
        "a {glue:text}`v10_spiral_accuracy:.1%` b {glue}`k2` "
        "{glue:text}`20-v10-free-phase.ipynb::v10_n_wins`\n```{glue:md} v10_verdict\n```"
    )
    assert referenced_keys(text) == [
        (None, "v10_spiral_accuracy"),
        (None, "k2"),
        ("20-v10-free-phase.ipynb", "v10_n_wins"),
        (None, "v10_verdict"),
    ]


# ---------------------------------------------------------------------------------------------
# run_chapter: every parameter is checked before anything trains.


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained before validating")

    monkeypatch.setattr(chapter, "run_study", refuse)
    monkeypatch.setattr(chapter, "save_results", refuse)


GOOD = dict(
    name="20-v10-free-phase",
    arch="v10",
    tasks=["spiral"],
    seeds=1,
    steps=5,
    budget=5000,
    out="data/x.json",
    quick=False,
)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"arch": "v99"}, "arch: unknown architecture 'v99'"),
        ({"tasks": ["spirl"]}, "tasks: unknown task 'spirl'"),
        ({"tasks": []}, "tasks: empty task"),
        ({"seeds": 0}, "seeds: must be an integer >= 1, got 0"),
        ({"seeds": 2.0}, "seeds: must be an integer >= 1, got 2.0"),
        ({"steps": 0}, "steps: must be an integer >= 1, got 0"),
        ({"budget": -1}, "budget: must be an integer >= 1, got -1"),
        ({"budget": 50}, "budget: no width of 'v10' on task 'spiral' meets budget=50"),
        ({"out": "data/x.csv"}, "out: must be a path ending in .json"),
        ({"quick": "yes"}, "quick: must be True or False"),
        ({"name": ""}, "name: must be a non-empty string"),
        # a bad later parameter is found even when the run would be quick
        ({"quick": True, "budget": 50}, "budget: no width"),
    ],
)
def test_run_chapter_rejects_bad_parameters_before_training(no_training, change, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        chapter.run_chapter(**{**GOOD, **change})


def test_run_chapter_checks_the_baselines_budget_too(no_training):
    # vanilla has the fewest parameters per unit; a budget below even its smallest network
    with pytest.raises(ValueError, match="^budget: "):
        chapter.run_chapter(**{**GOOD, "arch": "vanilla", "budget": 3})


def fake_study(calls):
    def run_study(name, runs, config, cache, stored=None):
        calls.append({"name": name, "runs": runs, "config": config, "cache": cache})
        return ResultSet(name, config.to_dict(), {}, [])

    return run_study


def test_quick_mode_shrinks_the_chapter_and_writes_under_build(monkeypatch, tmp_path):
    calls, saved = [], []
    monkeypatch.setattr(chapter, "run_study", fake_study(calls))
    monkeypatch.setattr(chapter, "save_results", lambda rs, path, **kw: saved.append(Path(path)))
    chapter.run_chapter(
        **{
            **GOOD,
            "tasks": ["hifreq", "spiral", "nested_2d"],
            "seeds": 3,
            "steps": 2000,
            "quick": True,
        },
        cache_dir=tmp_path,
    )
    (call,) = calls
    assert call["config"].steps == chapter.QUICK_STEPS and call["config"].log_every == 10
    assert {r.task for r in call["runs"]} == {"hifreq", "spiral"}
    assert {r.seed for r in call["runs"]} == {0}
    assert {r.arch for r in call["runs"]} == {"v10", "vanilla", "singlu"}
    assert saved == [Path("_build/quick/x.json")]


def test_full_mode_trains_everything_and_saves_to_out(monkeypatch, tmp_path):
    calls, saved = [], []
    monkeypatch.setattr(chapter, "run_study", fake_study(calls))
    monkeypatch.setattr(chapter, "save_results", lambda rs, path, **kw: saved.append(Path(path)))
    chapter.run_chapter(**{**GOOD, "tasks": "standard", "seeds": 2, "steps": 7}, cache_dir=tmp_path)
    (call,) = calls
    assert call["config"] == TrainConfig(steps=7, budget=5000)
    assert len(call["runs"]) == 3 * 6 * 2
    assert saved == [Path("data/x.json")]


def test_run_chapter_takes_its_results_file_as_the_store(monkeypatch, tmp_path):
    """The committed results file serves the runs it holds under the chapter's protocol; only
    the missing ones train. RICHNEURON_RETRAIN=1 ignores it; a corrupt file is refused, kept."""
    import richneuron.train.pool as pool
    from richneuron.store.results import ResultsError

    out = tmp_path / "x.json"
    args = {**GOOD, "arch": "singlu", "tasks": ["spiral"], "steps": 5, "out": str(out)}
    first = chapter.run_chapter(**args, cache_dir="")  # no run cache: only the file can serve
    trained, real = [], pool.train_jobs

    def counting(jobs, **kwargs):
        trained.append(len(jobs))
        return real(jobs, **kwargs)

    monkeypatch.setattr(pool, "train_jobs", counting)
    again = chapter.run_chapter(**args, cache_dir="")
    assert trained == [] and again.runs == first.runs
    more = chapter.run_chapter(**{**args, "seeds": 2}, cache_dir="")
    assert trained == [len(more.runs) - len(first.runs)]  # only seed 1 of each architecture
    assert [r for r in more.runs if r.run.seed == 0] == first.runs
    chapter.run_chapter(**{**args, "steps": 6}, cache_dir="")  # another protocol: all train
    assert trained[-1] == len(first.runs)
    monkeypatch.setenv(paths.RETRAIN_ENV, "1")
    chapter.run_chapter(**{**args, "steps": 6}, cache_dir="")
    assert trained[-1] == len(first.runs)
    monkeypatch.delenv(paths.RETRAIN_ENV)
    out.write_text("{", encoding="utf-8")
    with pytest.raises(ResultsError, match=re.escape(str(out))):
        chapter.run_chapter(**args, cache_dir="")
    assert out.read_text(encoding="utf-8") == "{" and len(trained) == 3


def test_chapter_runs_puts_the_chapter_first_and_does_not_repeat_a_baseline():
    runs = chapter.chapter_runs("singlu", ["spiral"], 2)
    assert runs == [
        Run("singlu", "spiral", 0),
        Run("singlu", "spiral", 1),
        Run("vanilla", "spiral", 0),
        Run("vanilla", "spiral", 1),
    ]


# ---------------------------------------------------------------------------------------------
# Tables and verdicts.


@pytest.fixture
def rs():
    runs = [
        result("v10", "spiral", 0, 0.90),
        result("v10", "spiral", 1, 0.92),
        result("singlu", "spiral", 0, 0.80),
        result("singlu", "spiral", 1, 0.84),
        result("vanilla", "spiral", 0, 0.70, diverged=True),
        result("vanilla", "spiral", 1, 0.70, diverged=True),
        result("v10", "nested_2d", 0, 0.010),
        result("v10", "nested_2d", 1, 0.030),
        result("singlu", "nested_2d", 0, 0.018),
        result("singlu", "nested_2d", 1, 0.020),
        result("vanilla", "nested_2d", 0, 0.5),
        result("vanilla", "nested_2d", 1, 0.7, diverged=True),
    ]
    return ResultSet("test", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)


def test_results_rows_mean_interval_and_divergence(rs):
    rows = {r["task"]: r for r in book.results_rows(rs)}
    assert list(rows) == ["nested_2d", "spiral"]  # registry order
    # two seeds: the bootstrap interval of their mean runs from one to the other
    assert rows["spiral"]["v10"] == "91.0% [90.0%, 92.0%]"
    assert rows["spiral"]["vanilla"] == "diverged (2/2)"
    assert rows["nested_2d"]["singlu"] == "0.019 [0.018, 0.02]"
    assert rows["nested_2d"]["vanilla"] == "0.5 [no interval] (diverged 1/2)"


def test_results_table_is_compact_with_the_best_in_bold(rs):
    table = book.results_table(rs)
    lines = str(table).strip().splitlines()
    assert lines[0] == "| task | metric | v10 | vanilla | singlu |"
    assert lines[2] == (
        "| nested_2d | mse | 0.02 [0.01, 0.03] | 0.5 [no interval] (diverged 1/2) "
        "| **0.019** [0.018, 0.02] |"
    )
    spiral = "| spiral | accuracy | **91%** [90%, 92%] | diverged (2/2 seeds) | 82% [80%, 84%] |"
    assert spiral in lines
    assert table._repr_markdown_() == str(table)
    html = table._repr_html_()  # the HTML book: the interval on a second, smaller line
    assert "<td><strong>0.019</strong><br><span class=\"rn-sub\">[0.018, 0.02]</span></td>" in html
    assert html.count("<tr>") == 3


def test_summary_table_has_architectures_as_rows(rs):
    lines = str(synthesis.summary_table(rs)).strip().splitlines()
    assert lines[0] == "| architecture | nested_2d | spiral |"
    assert lines[2] == "| v10 | 0.02 [0.01, 0.03] | **91%** [90%, 92%] |"


def test_comparison_rows_mark_winners_ties_and_scores(rs):
    rows = {(r["arch"], r["task"]): r for r in synthesis.comparison_rows(rs)}
    assert len(rows) == 6
    nested, spiral = "nested_2d", "spiral"
    assert rows[("singlu", nested)]["winner"] and rows[("v10", spiral)]["winner"]
    assert sum(r["winner"] for r in rows.values()) == 2  # one per task
    # v10's 0.02 ± 0.014 overlaps singlu's 0.019 ± 0.0014: a tie within noise
    assert rows[("v10", nested)]["within_noise"] and not rows[("v10", nested)]["winner"]
    # singlu 82% ± 2.8% vs v10 91% ± 1.4%: beyond noise
    assert not rows[("singlu", spiral)]["within_noise"]
    # scores: 1 for the best, 0 for the worst, log scale for MSE, NaN when all seeds diverged
    assert rows[("singlu", nested)]["score"] == 1.0 and rows[("vanilla", nested)]["score"] == 0.0
    expected = (math.log10(0.5) - math.log10(0.02)) / (math.log10(0.5) - math.log10(0.019))
    assert rows[("v10", nested)]["score"] == pytest.approx(expected)
    assert math.isnan(rows[("vanilla", spiral)]["score"])
    assert not rows[("vanilla", spiral)]["within_noise"]
    assert rows[("vanilla", nested)]["values"][0] == 0.5
    assert math.isnan(rows[("vanilla", nested)]["values"][1])


def test_comparison_csv_has_every_number_and_is_rewritten_only_on_change(rs, tmp_path):
    import csv

    rows = synthesis.comparison_rows(rs)
    path = synthesis.write_comparison_csv(rows, tmp_path / "synthesis.csv")
    table = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(table) == len(rows)
    first = table[0]
    assert list(first)[:10] == [
        "arch", "task", "metric", "n_seeds", "n_diverged", "mean", "low", "high", "std", "params"
    ]
    assert float(first["low"]) <= float(first["mean"]) <= float(first["high"])
    assert float(first["mean"]) == rows[0]["mean"]  # full precision, read back exactly
    assert [first["seed_0"], first["seed_1"]] == ["0.01", "0.03"]
    diverged = next(r for r in table if r["arch"] == "vanilla" and r["task"] == "nested_2d")
    assert diverged["seed_1"] == "" and diverged["n_diverged"] == "1"
    mtime = path.stat().st_mtime_ns
    os.utime(path, ns=(mtime - 10**9, mtime - 10**9))
    synthesis.write_comparison_csv(rows, path)  # same bytes: not rewritten
    assert path.stat().st_mtime_ns == mtime - 10**9


def test_compare_verdict_and_wins(rs):
    spiral = book.compare_to_baseline(rs, "v10", "spiral")
    assert spiral["better"] and spiral["clear"] and spiral["mean"] == pytest.approx(0.91)
    nested = book.compare_to_baseline(rs, "v10", "nested_2d")
    assert not nested["better"] and not nested["clear"]
    assert book.compare_to_baseline(rs, "v10", "spiral", "vanilla")["better"]  # vanilla diverged
    assert book.count_wins(rs, "v10") == 1
    text = book.verdict(rs, "v10")
    assert (
        "- **spiral** (accuracy): v10 91.0% [90.0%, 92.0%] vs singlu 82.0% [80.0%, 84.0%]; "
        "v10 − singlu +9.0 [+6.0, +12.0] points: v10 is better beyond noise." in text
    )
    assert "singlu / v10 MSE 0.95x [0.6x, 2x]: within noise (the interval includes 1)" in text
    assert book.count_losses(rs, "v10") == 0 and book.count_ties(rs, "v10") == 1
    with pytest.raises(KeyError):
        book.compare_to_baseline(rs, "v11", "spiral")


def test_final_diagnostic_and_counts(rs):
    assert final_diagnostic(rs, "v10", "phase_abs") == pytest.approx(0.3)
    assert book.seed_count(rs) == 2
    assert book.chapter_tasks(rs, "v10") == ["nested_2d", "spiral"]
    with pytest.raises(KeyError):
        final_diagnostic(rs, "v10", "omega_mean")


def test_markdown_table_escapes_pipes():
    assert markdown_table(["a", "b"], [["x|y", 1]]) == "| a | b |\n|---|---|\n| x\\|y | 1 |\n"


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


def shaped(arch, task, seed, start, end):
    r = result(arch, task, seed, 0.1)
    r.diagnostics = {f"first_shape_{i}": [start[i], end[i]] for i in range(9)}
    return r


def test_shape_change_and_initial_shape():
    flat, bent = [0.0] * 9, [0.0] * 8 + [0.5]
    runs = [
        shaped("rational", "spiral", 0, flat, bent),
        shaped("rational", "spiral", 1, flat, flat),
    ]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    assert related.shape_change(rs, "rational") == pytest.approx(0.25)
    with pytest.raises(ValueError, match="no run of 'kan'"):
        related.shape_change(rs, "kan")
    init = related.initial_shape("rational")
    leaky = [x if x > 0 else 0.01 * x for x in (-3 + 0.75 * i for i in range(9))]
    assert max(abs(a - b) for a, b in zip(init, leaky)) < 0.05
    assert related.initial_shape("kan") is None  # a KAN edge starts differently for every seed


def test_relatives_table_counts_wins_and_clear_ones(rs):
    table = related.relatives_table(rs, ["v10"])
    # v10 beats SinGLU on spiral beyond noise, ties on nested (0.020 vs 0.019); it beats ReLU
    # on spiral (every ReLU seed diverged) and cannot be told apart on nested (one ReLU seed)
    assert "| v10 | 3 | 39 | 1 / 1 / 0 | 1 / 1 / 0 |" in table


def sweep_set(omega, rows):
    runs = [result(a, t, s, v) for (a, t, s, v) in rows]
    return ResultSet("omega", TrainConfig(omega=omega).to_dict(), {}, runs)


def test_omega_range_rows_best_omega_and_control():
    sets = [
        sweep_set(1.0, [("singlu", "hifreq", s, v) for s, v in ((0, 0.50), (1, 0.52))]
                  + [("bilinear", "hifreq", s, v) for s, v in ((0, 0.51), (1, 0.53))]),
        sweep_set(4.0, [("singlu", "hifreq", s, v) for s, v in ((0, 0.10), (1, 0.12))]),
    ]
    (row,) = related.omega_range_rows(sets)
    assert row == {
        "task": "hifreq", "best_omega": 4.0, "best_beats_control": True, "one_beats_control": False
    }
    assert related.omega_wins([row]) == (0, 1)
    assert related.omega_wins([row, {**row, "one_beats_control": True}]) == (1, 2)


def test_sweep_omegas_lists_the_archs_frequencies():
    sets = [
        sweep_set(16.0, [("singlu", "hifreq", 0, 0.1)]),
        sweep_set(0.25, [("singlu", "hifreq", 0, 0.1)]),
        sweep_set(3.0, [("bilinear", "hifreq", 0, 0.1)]),
    ]
    assert related.sweep_omegas(sets) == "0.25, 16"


def test_seed_agreement_counts_tasks_whose_seeds_end_together():
    runs = [result("bilinear", "hifreq", s, 0.5) for s in (0, 1)]
    runs += [result("bilinear", "nested_2d", s, v) for s, v in ((0, 0.1), (1, 0.2))]
    rs = ResultSet("t", TrainConfig(steps=2, log_every=1).to_dict(), {}, runs)
    assert related.seed_agreement(rs, "bilinear") == 1
    assert related.seed_agreement(rs, "bilinear", rel=1.0) == 2


# ---------------------------------------------------------------------------------------------
# The second opinion: verdicts recomputed on a disjoint set of seeds.


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


def test_tie_counts_count_the_non_winners_and_those_within_noise():
    rows = [
        {"winner": True, "within_noise": True},
        {"winner": False, "within_noise": True},
        {"winner": False, "within_noise": False},
        {"winner": False, "within_noise": False},
    ]
    assert synthesis.tie_counts(rows) == {"cells": 3, "ties": 1}
