"""An older file's numbers over today's limits are lowered as it is read, and that is said
once: in the window (the project marked modified), on the command line, in a resume's log
(a review: they were lowered silently, and the next save wrote them over the user's)."""

import json
import shutil

import pytest

from core.config import StudioConfig
from core.errors import UserError

V1 = {"version": 1, "train": {"epochs": 1500, "early_stopping_patience": 200},
      "model": {"dropout": 0.95}}
SAID = ("written by an older version, whose limits were higher; model.dropout 0.95 is now "
        "0.9, train.epochs 1500 is now 1000, train.early_stopping_patience 200 is now 100")


def test_a_version_1_config_says_what_reading_it_lowered(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps(V1))
    cfg = StudioConfig.load(path)
    assert (cfg.train.epochs, cfg.train.early_stopping_patience, cfg.model.dropout) == \
        (1000, 100, 0.9)
    assert cfg.migration_note == f"{path}: {SAID} (the upper limits of this version)"
    assert StudioConfig.from_dict({"version": 1, "train": {"epochs": 5}}).migration_note == ""
    assert cfg.copy().migration_note == "" and cfg.copy() == cfg  # not a setting



def test_a_version_1_learning_rate_under_today_s_smallest_is_raised_not_refused(tmp_path):
    """Version 1 took any learning rate above 0 (``--lr 1e-8``); version 2's smallest is
    1e-7, and such a file was refused whole ("must be 0 (auto) or 1e-07 to 1, not 1e-08;
    fix it there"), though a number over an upper limit is moved and said (a review)."""
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 1, "train": {"learning_rate": 1e-8,
                                                        "fine_tune_learning_rate": 0.0,
                                                        "epochs": 1500}}))
    cfg = StudioConfig.load(path)
    cfg.validate()
    assert (cfg.train.learning_rate, cfg.train.fine_tune_learning_rate, cfg.train.epochs) == \
        (1e-7, 0.0, 1000)  # 0: auto, as it was
    assert cfg.migration_note == (
        f"{path}: written by an older version, whose limits were wider; train.epochs 1500 is "
        "now 1000, train.learning_rate 1e-08 is now 1e-07 (the limits of this version)")
    with pytest.raises(UserError, match="epochs"):  # a value version 1 refused too
        StudioConfig.from_dict({"version": 1, "train": {"epochs": -1}}).validate()

def test_train_with_an_older_config_prints_a_warning_line(tmp_path, capsys):
    from core.cli import main

    path = tmp_path / "old.json"
    path.write_text(json.dumps(V1))
    main(["train", str(tmp_path / "no-images"), "--config", str(path), "--weights", "none"])
    err = capsys.readouterr().err
    assert f"warning: {path}: {SAID}" in err


def test_a_flag_given_for_a_lowered_number_leaves_it_out_of_the_warning(tmp_path, capsys):
    """`train --config OLD.json --epochs 5 --patience 3` warned "train.epochs 1500 is now 1000,
    train.early_stopping_patience 200 is now 100" of a run that trains 5 epochs with a
    patience of 3 (a review)."""
    from core.cli import main

    path = tmp_path / "old.json"
    path.write_text(json.dumps(V1))
    main(["train", str(tmp_path / "no-images"), "--config", str(path), "--weights", "none",
          "--epochs", "5", "--patience", "3"])
    err = capsys.readouterr().err
    assert (f"warning: {path}: written by an older version, whose limits were higher; "
            "model.dropout 0.95 is now 0.9 (the upper limits of this version)") in err
    main(["train", str(tmp_path / "no-images"), "--config", str(path), "--weights", "none",
          "--epochs", "5", "--patience", "3", "--dropout", "0.5"])
    assert "written by an older version" not in capsys.readouterr().err


def test_a_resume_of_an_older_run_logs_what_it_lowered(trained_run, tmp_path):
    from core.events import Log
    from core.train.engine import resume_training

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["version"] = 1
    cfg["train"]["early_stopping_patience"] = 200
    (run / "config.json").write_text(json.dumps(cfg))
    logged = []
    with pytest.raises(UserError, match="already completed"):
        resume_training(run, listener=lambda e: logged.append(e) if isinstance(e, Log) else None)
    assert [e.message for e in logged if e.level == "warning"] == [
        f"{run / 'config.json'}: written by an older version, whose limits were higher; "
        "train.early_stopping_patience 200 is now 100 (the upper limits of this version); "
        "the resume trains on with these"]


def test_the_window_says_it_and_marks_the_project_modified(qtbot, tmp_path, monkeypatch):
    from core.project import PROJECT_FORMAT
    from gui import plain_text
    from gui.main_window import MainWindow

    path = tmp_path / "old.ftsproj"
    path.write_text(json.dumps({"format": PROJECT_FORMAT, "version": 1, "config": V1}))
    warned = []
    monkeypatch.setattr(plain_text, "warning", lambda _p, title, text, *a: warned.append(text))
    window = MainWindow(load_tensorflow=False)
    qtbot.addWidget(window, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    window.show()
    assert window.open_project(str(path))
    assert window.state.config.train.epochs == 1000
    assert window.state.dirty and window.isWindowModified()
    assert warned == [f"{path}: config: {SAID} (the upper limits of this version). Save the "
                      "project to keep these values in it."]
