"""All-or-nothing writes of files and folders."""

import os

import pytest

from richneuron.store.atomic import atomic_dir, atomic_file


def test_file_replaced_only_on_success(tmp_path):
    path = tmp_path / "a.txt"
    with atomic_file(path) as f:
        f.write("old")
    with pytest.raises(KeyboardInterrupt), atomic_file(path) as f:
        f.write("half")
        raise KeyboardInterrupt
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_dir_replaced_only_on_success(tmp_path):
    target = tmp_path / "figs"
    with atomic_dir(target) as staging:
        (staging / "one.png").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(target) as staging:
        (staging / "two.png").write_text("2")
        raise RuntimeError("build failed")
    assert os.listdir(target) == ["one.png"] and os.listdir(tmp_path) == ["figs"]
    with atomic_dir(target) as staging:
        (staging / "two.png").write_text("2")
    assert os.listdir(target) == ["two.png"]
