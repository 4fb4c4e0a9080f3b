"""Ctrl+C on the command line: what was done is said, and a stop is never a traceback or an
install to mend (a CLI review)."""

import csv
import os
import signal

import numpy as np
import pytest
from PIL import Image

from core.cli import main


def _png(path, level):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), level, np.uint8)).save(path)
    return path


def _a_move_stopped_after_two(tmp_path, monkeypatch, classes=("cat",)):
    """A data set, five new images in a reviewed CSV (all "cat"), and ``apply.move_new``
    made to press Ctrl+C once two are moved: (data, new, sources, sheet, the real move)."""
    import core.label.apply as apply

    data, new = tmp_path / "data", tmp_path / "new"
    for i, name in enumerate(classes):
        _png(data / name / f"{'ab'[i]}.png", 10 + i)
    sources = [_png(new / f"n{i}.png", 20 + i) for i in range(5)]
    sheet = tmp_path / "review.csv"
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["path", "label"], *[[str(p), "cat"] for p in sources]])
    real, calls = apply.move_new, []

    def move_then_ctrl_c(src, dst):
        real(src, dst)
        calls.append(src)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl+C

    monkeypatch.setattr(apply, "move_new", move_then_ctrl_c)
    return data, new, sources, sheet, real


def test_label_stopped_by_ctrl_c_lists_what_it_placed_and_how_to_undo(tmp_path, monkeypatch,
                                                                        capsys):
    """A thousand images moved and only "interrupted" said: the batch is listed, with Undo."""
    data, new, _, sheet, _ = _a_move_stopped_after_two(tmp_path, monkeypatch)
    assert main(["label", "--from", str(sheet), "--into", str(data), "--move"]) == 130
    out, err = capsys.readouterr()
    assert "2 image(s) moved into the data set" in out
    assert "stopped: 3 image(s) not placed" in out and "label --undo --into" in out
    assert "stopping labelling" in err and "label --undo" in err
    assert len(list((data / "cat").iterdir())) == 3 and len(list(new.iterdir())) == 3
    assert main(["label", "--undo", "--into", str(data)]) == 0
    assert len(list(new.iterdir())) == 5


def test_label_run_again_after_ctrl_c_places_the_rest_and_says_the_others_are_placed(
        tmp_path, monkeypatch, capsys):
    """The same CSV run again to finish refused every image moved before the Ctrl+C as "no
    such file (moved or deleted since the suggestions)", exit 1; the journal knew each."""
    import core.label.apply as apply

    data, new, sources, sheet, real = _a_move_stopped_after_two(tmp_path, monkeypatch,
                                                                 ("cat", "dog"))
    args = ["label", "--from", str(sheet), "--into", str(data), "--move"]
    assert main(args) == 130
    monkeypatch.setattr(apply, "move_new", real)
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 image(s) moved into the data set" in out and "refused" not in out
    assert "2 image(s) placed by an earlier batch already" in out
    assert f"{sources[0]} -> cat/n0.png" in out and f"{sources[1]} -> cat/n1.png" in out
    assert sorted(f.name for f in (data / "cat").iterdir()) == [
        "a.png", *[f"n{i}.png" for i in range(5)]] and not list(new.iterdir())
    # the same images labelled another class since: that is refused, naming where each is
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["path", "label"], [str(sources[0]), "dog"]])
    assert main(args) == 1
    assert "already in the data set as cat/n0.png" in capsys.readouterr().out


def test_label_stopped_while_it_checks_its_rows_stops_then(tmp_path, monkeypatch, capsys):
    """A first Ctrl+C while the rows were checked (each image read and hashed: a long wait
    for a large CSV) took effect only once placing began (a review)."""
    import core.label.apply as apply

    data, new = tmp_path / "data", tmp_path / "new"
    _png(data / "cat" / "a.png", 10)
    sources = [_png(new / f"n{i}.png", 20 + i) for i in range(6)]
    sheet = tmp_path / "review.csv"
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["path", "label"], *[[str(p), "cat"] for p in sources]])
    real, checked = apply.hash_file, []

    def check_then_ctrl_c(path):
        checked.append(path)
        if len(checked) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl+C
        return real(path)

    monkeypatch.setattr(apply, "hash_file", check_then_ctrl_c)
    assert main(["label", "--from", str(sheet), "--into", str(data), "--move"]) == 130
    out = capsys.readouterr().out
    assert len(checked) == 2  # the rows after the press were not read
    assert "0 image(s) moved into the data set" in out and "stopped: 6 image(s) not placed" in out
    assert "label --undo" not in out and len(list(new.iterdir())) == 6
    assert main(["label", "--undo", "--into", str(data)]) == 0  # no batch was recorded
    assert "nothing to undo" in capsys.readouterr().out


def test_ctrl_c_while_the_commands_load_is_interrupted_not_a_traceback(monkeypatch, capsys):
    """In the first second the commands' modules load, outside the command's own handling."""
    import importlib.util
    from pathlib import Path

    import core.cli

    def loading(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(core.cli, "build_parser", loading)
    spec = importlib.util.spec_from_file_location(
        "fts_main", Path(__file__).resolve().parents[1] / "main.py")
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)
    try:
        code = entry.main(["runs"])
    except KeyboardInterrupt:  # not pytest's own stop
        pytest.fail("Ctrl+C while the commands load escaped as a traceback")
    assert code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_ctrl_c_while_tensorflow_loads_is_no_broken_install(monkeypatch, capsys):
    """numpy's C extension turns a Ctrl+C during its import into an ImportError: it read
    "TensorFlow could not be loaded ... reinstall", exit 2."""
    import core.tfenv

    def loading(verbose=None):
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl+C
            for _ in range(10_000_000):  # the handler runs between two bytecodes
                pass
        except KeyboardInterrupt:  # as numpy's import reports it
            raise ImportError("Importing the numpy C-extensions failed. (PyCapsule_Import could "
                              "not import module \"datetime\")", name="tensorflow") from None

    monkeypatch.setattr(core.tfenv, "start_tensorflow", loading)
    assert main(["predict", "model.keras", "images"]) == 130
    err = capsys.readouterr().err
    assert err == "interrupted\n"


def test_an_undo_stopped_by_ctrl_c_says_to_give_it_again(tmp_path, monkeypatch, capsys):
    """A half-undone batch said only "interrupted"; the same --undo again finishes it."""
    from core.audit.fixes import FixJournal

    data = tmp_path / "data"
    _png(data / "cat" / "a.png", 10)

    def stopped(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(FixJournal, "undo_last", stopped)
    assert main(["label", "--undo", "--into", str(data)]) == 130
    err = capsys.readouterr().err
    assert "undo stopped part-way" in err and "same --undo command again" in err
    assert err.endswith("interrupted\n")


def test_the_last_word_starts_below_a_progress_bar(monkeypatch, capsys):
    """On a terminal "interrupted" began right after "predicting 150/302"."""
    import sys

    import core.cli.commands.runs as runs
    from core.cli.console import ConsoleListener
    from core.events import Progress

    def predicting(args):
        ConsoleListener(sys.stderr, tty=True)(Progress(150, 302, "predicting"))
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "run", predicting)
    assert main(["runs"]) == 130
    assert capsys.readouterr().err == "\rpredicting 150/302\ninterrupted\n"
