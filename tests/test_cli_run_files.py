"""A run folder's own files damaged or changed by hand, met by the CLI (a bug hunt):
each is named with what to do, exit 2, and nothing is half-written."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.cli import main


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


def _image(trained_run) -> str:
    return str(sorted((trained_run.parent / "data" / "bright").glob("*.png"))[0])


def _predict_error(run, image, capsys) -> str:
    capsys.readouterr()
    assert main(["predict", str(run), image]) == 2
    return capsys.readouterr().err


def test_a_damaged_or_foreign_unknown_npz_is_named_with_calibrate(run_copy, trained_run, capsys):
    """Empty: "EOFError: No data left in file", exit 1; another run's: a matmul error."""
    image, npz = _image(trained_run), run_copy / "unknown.npz"
    reference = np.load(npz)["reference"]
    npz.write_bytes(b"")
    err = _predict_error(run_copy, image, capsys)
    assert "unknown.npz: cannot be read" in err and f"calibrate {run_copy}" in err
    npz.write_text("reference = 1\n")  # not an npz at all: no "allow_pickle" advice
    err = _predict_error(run_copy, image, capsys)
    assert "pickle" not in err and "calibrate" in err
    np.savez(npz, reference=reference[:-1])  # fewer images than calibration.json says
    assert "reference images where calibration.json says" in _predict_error(run_copy, image,
                                                                             capsys)
    wider = np.concatenate([reference, reference[:, :8]], axis=1)
    np.savez(npz, reference=wider)  # another model's features
    err = _predict_error(run_copy, image, capsys)
    assert f"have {wider.shape[1]} features" in err and "calibrate" in err
    out = run_copy.parent / "export"  # export built the model and only then died
    assert main(["export", str(run_copy), "--format", "keras", "--out", str(out)]) == 2
    assert f"have {wider.shape[1]} features" in capsys.readouterr().err and not out.exists()


def test_calibration_json_that_is_not_json_says_calibrate_and_calibrate_mends_it(
        run_copy, trained_run, capsys):
    """It said "restore it from a backup, or start a new run"; calibrate makes it again."""
    (run_copy / "calibration.json").write_text("{broken", encoding="utf-8")
    err = _predict_error(run_copy, _image(trained_run), capsys)
    assert f"calibrate {run_copy}' to fit it again" in err and "backup" not in err
    assert main(["calibrate", str(run_copy)]) == 0
    assert main(["predict", str(run_copy), _image(trained_run)]) == 0


def test_calibrate_changes_nothing_when_it_fails_and_keeps_the_chosen_share(run_copy, capsys):
    """A damaged labels.json stopped calibrate after it had rewritten calibration.json; a
    damaged metrics.json stopped it too (exit 2, calibration changed); a plain calibrate
    put a chosen --unknown-keep back to config.json's."""
    cal = run_copy / "calibration.json"
    assert main(["calibrate", str(run_copy), "--unknown-keep", "0.6"]) == 0
    assert json.loads(cal.read_text())["unknown_keep"] == 0.6
    assert main(["calibrate", str(run_copy)]) == 0
    assert json.loads(cal.read_text())["unknown_keep"] == 0.6  # the chosen share stays

    labels, before = run_copy / "labels.json", cal.read_bytes()
    good_labels = labels.read_bytes()
    labels.write_text("[oops", encoding="utf-8")
    capsys.readouterr()
    assert main(["calibrate", str(run_copy), "--unknown-keep", "0.9"]) == 2
    assert "labels.json" in capsys.readouterr().err and cal.read_bytes() == before
    labels.write_bytes(good_labels)

    (run_copy / "metrics.json").write_text("{oops", encoding="utf-8")
    assert main(["calibrate", str(run_copy), "--unknown-keep", "0.9"]) == 0
    assert json.loads(cal.read_text())["unknown_keep"] == 0.9
    assert json.loads((run_copy / "metrics.json").read_text())["calibration"]["unknown_keep"] \
        == 0.9  # scored again, so mended


def test_a_completed_run_without_its_model_is_not_told_to_resume(run_copy, trained_run, capsys):
    """"finish it with train --resume" was said of a completed run, which resume refuses."""
    (run_copy / "model.keras").unlink()
    err = _predict_error(run_copy, _image(trained_run), capsys)
    assert "missing although the run completed" in err and "--resume" not in err
    capsys.readouterr()
    assert main(["calibrate", str(run_copy)]) == 2
    assert "missing although the run completed" in capsys.readouterr().err


def test_conflicting_or_misplaced_options_are_refused(trained_run, tmp_path, capsys):
    """label --undo --move ignored --move; label --into FILE said "no such data folder"."""
    image = _image(trained_run)
    data = tmp_path / "data"
    (data / "bright").mkdir(parents=True)
    assert main(["label", "--undo", "--move", "--into", str(data)]) == 2
    assert "without --move" in capsys.readouterr().err
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"path,label\n{image},bright\n", encoding="utf-8")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert main(["label", "--from", str(sheet), "--into", str(a_file)]) == 2
    assert "a file, not a folder" in capsys.readouterr().err


def test_calibrate_and_the_slider_wait_for_a_run_still_training(run_copy, capsys):
    """calibrate ignored the run's lock: a trainer still finishing then wrote its own
    calibration over the user's --unknown-keep, with no word (a crash-safety review)."""
    from core.errors import UserError
    from core.runs.folder import RunFolder
    from core.runs.lock import acquire, release
    from core.trust.store import set_threshold

    run, cal = RunFolder(run_copy), run_copy / "calibration.json"
    before = cal.read_bytes()
    acquire(run)  # a trainer of this run, still running
    try:  # what the lock's holder does is said: calibrate's own lock reads "calibrated"
        capsys.readouterr()
        assert main(["calibrate", str(run_copy), "--unknown-keep", "0.8"]) == 2
        assert "is being trained by" in capsys.readouterr().err
        with pytest.raises(UserError, match="is being trained by"):
            set_threshold(run, 1.0, 0.9)
        assert cal.read_bytes() == before
    finally:
        release(run)
    acquire(run, "calibrated")  # another window's slider, saving
    try:
        with pytest.raises(UserError, match="is being calibrated by"):
            set_threshold(run, 1.0, 0.9)
    finally:
        release(run)
    assert main(["calibrate", str(run_copy), "--unknown-keep", "0.8"]) == 0
    assert json.loads(cal.read_text())["unknown_keep"] == 0.8
