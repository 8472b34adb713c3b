"""Running a chapter (richneuron.report.chapter): every parameter checked before any training,
quick and full modes, the chapter's results file as the store, the runs a chapter asks for."""

import re
from pathlib import Path

import pytest

import richneuron.paths as paths
import richneuron.report.chapter as chapter
from richneuron.config import TrainConfig
from richneuron.store.results import ResultSet
from richneuron.store.schema import Run


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
