"""Progress on stderr (richneuron.progress): in a log that is not a terminal, a bar over many
chunks writes a handful of updates, not a line per chunk; it counts runs from the store; it
ends its line once, also when the work stops early."""

import io

import richneuron.progress as progress


def _log(monkeypatch) -> io.StringIO:
    log = io.StringIO()  # not a terminal, as in CI's log
    monkeypatch.setattr(progress.sys, "stderr", log)
    return log


def test_a_log_gets_a_few_updates_not_one_line_per_chunk(monkeypatch):
    log = _log(monkeypatch)
    bar = progress.progress_bar("chapter")
    for done in range(1, 321):
        bar(done, 320)
    text = log.getvalue()
    assert text.count("\n") == 1  # closed at the end: one line
    assert len(text.split("\r")) <= 4  # drawn at the start, at most every 30 s, and at the end
    assert "chapter: 100%" in text and "320/320" in text


def test_runs_from_the_store_are_counted_and_named(monkeypatch):
    log = _log(monkeypatch)
    with progress.progress_bar() as bar:
        bar(40, 100, from_store=30)
    text = log.getvalue()
    assert "40/100" in text and "30 from the store" in text
    assert text.endswith("\n")  # the with block ended the line: an error prints on its own


def test_closing_twice_writes_one_line(monkeypatch):
    log = _log(monkeypatch)
    bar = progress.progress_bar()
    bar(1, 1)
    bar.close()
    bar.close()
    assert log.getvalue().count("\n") == 1
    progress.progress_bar().close()  # never drawn: writes nothing
    assert log.getvalue().count("\n") == 1
