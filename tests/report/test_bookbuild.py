"""The command line of the build and the gate (richneuron.report.bookbuild): its options
checked before any work, one line for an error, the gate's stage times, and make test's
closing table. Nothing builds here: the build and the gate are patched out."""

import json

import pytest

import richneuron.report.bookbuild as bookbuild


@pytest.fixture
def calls(monkeypatch):
    """The build and the gate, recorded instead of run."""
    seen = []

    def build(root, mode, retrain=False):
        seen.append(("build", root, mode.name, retrain))

    def check(root, mode, timings, **options):
        seen.append(("check", root, options))
        timings.update(fingerprint=12.3, book=200.0, audit=300.04)
        return []

    monkeypatch.setattr(bookbuild, "build", build)
    monkeypatch.setattr(bookbuild, "check", check)
    return seen


def test_build_and_quick_build(calls):
    assert bookbuild.main(["build"]) == 0
    assert bookbuild.main(["build", "--quick", "--root", "x"]) == 0
    assert bookbuild.main(["build", "--retrain"]) == 0
    assert [c[1:] for c in calls] == [
        (".", "full", False), ("x", "quick", False), (".", "full", True)
    ]


def test_check_passes_its_options_and_writes_the_stage_times(calls, tmp_path, capsys):
    times = tmp_path / "times.json"
    argv = ["check", "--budget", "600", "--audit", "all", "--times", str(times)]
    assert bookbuild.main(argv) == 0
    options = calls[0][2]
    assert options == {
        "rebuild": True, "fingerprint": True, "audit": "all", "budget": 600.0
    }
    assert json.loads(times.read_text()) == {"fingerprint": 12.3, "book": 200.0, "audit": 300.0}
    assert "drift gate passed" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["0", "-5", "nan", "soon"])
def test_a_budget_that_is_not_a_positive_number_is_refused_before_any_work(calls, bad, capsys):
    with pytest.raises(SystemExit) as stop:
        bookbuild.main(["check", "--budget", bad])
    assert stop.value.code == 2 and not calls
    assert f"--budget: must be a positive number of seconds, got {bad!r}" in capsys.readouterr().err


def test_an_unknown_audit_mode_is_refused(calls, capsys):
    with pytest.raises(SystemExit):
        bookbuild.main(["check", "--audit", "some"])
    assert not calls and "--audit: invalid choice: 'some'" in capsys.readouterr().err


def test_a_failed_gate_lists_its_problems_and_an_error_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(bookbuild, "check", lambda *a, **k: ["data/x.json: run 3 differs"])
    assert bookbuild.main(["check"]) == 1
    err = capsys.readouterr().err
    assert err == "drift gate FAILED:\ndata/x.json: run 3 differs\n"

    def fail(*a, **k):
        raise ValueError("data/x.json: runs[3].test_metric: must be a number, got '0.5'")

    monkeypatch.setattr(bookbuild, "check", fail)
    assert bookbuild.main(["check"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: data/x.json: runs[3].test_metric: must be a number, got '0.5'"
    ]


def test_stages_prints_each_stage_and_the_total(tmp_path, capsys):
    times = tmp_path / "times.json"
    times.write_text(json.dumps({"fingerprint": 30.0, "book": 200.0, "audit": 250.0}))
    argv = ["stages", "--times", str(times), "--setup", "2", "--lint", "1", "--gate", "484",
            "--tests", "420"]
    assert bookbuild.main(argv) == 0
    rows = dict(line.rsplit(None, 1) if "total" not in line else ("total", line.split()[1])
                for line in capsys.readouterr().out.splitlines()[1:])
    assert {k.strip(): v for k, v in rows.items()} == {
        "setup": "2", "lint": "1", "fingerprint": "30", "book": "200", "audit": "250",
        "gate, other": "4", "tests": "420", "total": "907",
    }


def test_stages_without_the_gates_times_shows_a_dash(tmp_path, capsys):
    """A gate that stopped before writing its times (the fingerprint differed) still gets a
    table: its stages read '-'."""
    bookbuild.print_stages(str(tmp_path / "missing.json"), 1, 0, 5, None)
    out = capsys.readouterr().out
    assert "fingerprint        -" in out and "tests              -" in out
    assert "total              6  (0.1 min)" in out
