"""Edges of calibrate, export folders and the report that a bug hunt found, on real runs.

``calibrate`` deleted a run's calibration when its data folder was away; a calibrated
run's export folder opened as its uncalibrated model.keras (no "unknown"); a missing
unknown.npz silently changed the score; the report listed deleted and overwritten
exports as passed and showed a damaged image as a class's example.
"""

import json
import os
import shutil
import stat

import pytest

from core.cli import main
from core.errors import UserError
from core.formats import METADATA_MARKER
from core.infer.loaders import load_predictor
from core.runs.folder import RunFolder


def copy_with_data(run_dir, base):
    """``base/run``: a copy of ``run_dir`` pointed at its own copy of the data, ``base/data``
    (config.json and run.json: calibrate reads the one, the report the other)."""
    run = RunFolder(shutil.copytree(run_dir, base / "run"))
    cfg = run.load_config()
    shutil.copytree(cfg.data.data_dir, base / "data")
    cfg.data.data_dir = str(base / "data")
    run.save_config(cfg)
    run.update_run_info(data_dir=str(base / "data"))
    return run.path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, trained_run):
    """(a calibrated copy of the shared run with its own copy of the data, export folder)."""
    from core.export.exporter import export_model

    base = tmp_path_factory.mktemp("edges")
    run_dir = copy_with_data(trained_run, base)
    assert main(["calibrate", str(run_dir)]) == 0
    export_model(run_dir, "keras,savedmodel", base / "out", latency_runs=1)
    return run_dir, base / "out"


def test_calibrate_with_the_data_folder_away_keeps_the_calibration(calibrated, capsys):
    run_dir, _ = calibrated
    run = RunFolder(run_dir)
    data = run.load_config().data.data_dir
    before = run.calibration_path.read_bytes()
    os.rename(data, data + ".away")
    try:
        assert main(["calibrate", str(run_dir)]) == 2
    finally:
        os.rename(data + ".away", data)
    err = capsys.readouterr().err
    assert "data folder" in err and "is not there" in err and "larger validation" not in err
    assert run.calibration_path.read_bytes() == before and run.unknown_path.is_file()


def test_calibrate_names_what_it_was_given(calibrated, tmp_path, capsys):
    run_dir, out = calibrated
    assert main(["calibrate", str(out)]) == 2
    assert "an export folder" in capsys.readouterr().err
    broken = tmp_path / "run"
    shutil.copytree(run_dir, broken)
    (broken / "config.json").write_text("garbage{")
    assert main(["calibrate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "config.json" in err and "delete it" not in err and "copy of the run" in err
    assert main(["export", str(out), "--format", "keras", "--out", str(tmp_path / "x")]) == 2
    assert "an export folder" in capsys.readouterr().err


def test_an_export_folder_answers_like_its_run_calibrated_and_with_unknown(calibrated):
    run_dir, out = calibrated
    paths = [r.path for r in RunFolder(run_dir).split().val[:4]]
    ref = {r.path: r for r in load_predictor(run_dir).predict_paths(paths)}
    folder = load_predictor(out)  # model.keras came first: uncalibrated, no "unknown"
    assert folder.kind != "keras" and folder.has_unknown_score
    keras_file = load_predictor(out / "model.keras")  # the temperature from metadata.json
    assert not keras_file.has_unknown_score
    for predictor in (folder, keras_file):
        for r in predictor.predict_paths(paths):
            assert r.confidence == pytest.approx(ref[r.path].confidence, abs=1e-4)


def test_an_export_file_copied_out_of_its_folder_answers_as_calibrated_or_says_why_not(
        calibrated, tmp_path, capsys):
    """A copy of model.keras taken out of its export folder answered 0.785 where the app
    said 0.464 (its temperature lived in metadata.json only); a copied SavedModel stopped
    saying "unknown" without a word (a review)."""
    from core.trust.store import read_record

    run_dir, out = calibrated
    paths = [r.path for r in RunFolder(run_dir).split().val[:4]]
    ref = {r.path: r for r in load_predictor(run_dir).predict_paths(paths)}
    loose = tmp_path / "loose"
    loose.mkdir()
    for name in ("model.keras", "labels.txt"):
        shutil.copyfile(out / name, loose / name)
    keras_copy = load_predictor(loose / "model.keras")
    assert keras_copy.trust.temperature == read_record(RunFolder(run_dir)).temperature
    for r in keras_copy.predict_paths(paths):
        assert r.confidence == pytest.approx(ref[r.path].confidence, abs=1e-4)
    shutil.copytree(out / "savedmodel", tmp_path / "saved")
    saved_copy = load_predictor(tmp_path / "saved")
    assert saved_copy.has_unknown_score and saved_copy.unknown_threshold is None
    assert saved_copy.unknown_note.startswith("saved gives an unknown score, but the threshold")
    assert load_predictor(out / "savedmodel").unknown_note == ""  # in its folder: none
    assert main(["predict", str(tmp_path / "saved"), paths[0]]) == 0
    assert "Copy that metadata.json beside it (or give --threshold)" in capsys.readouterr().err


def test_a_missing_reference_file_is_named_not_a_different_score(calibrated, tmp_path):
    run_dir, _ = calibrated
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    RunFolder(copy).unknown_path.unlink()
    with pytest.raises(UserError, match="unknown.npz is missing.*calibrate"):
        load_predictor(copy)


def test_the_report_lists_each_export_still_there_and_still_its_own(calibrated, tmp_path):
    from core.report.gather import gather
    from core.runs.history import RunHistory

    run_dir, out = calibrated
    history = RunHistory()
    gone = tmp_path / "gone" / "model.keras"
    replaced = tmp_path / "shared"
    replaced.mkdir()
    (replaced / "model.keras").write_bytes(b"another run's model")
    (replaced / "metadata.json").write_text(json.dumps({METADATA_MARKER: True,  # as exports
                                                        "source": "/elsewhere/model.keras"}))
    for path in (gone, replaced / "model.keras", out / "model.keras"):
        history.record_export(run_dir, "keras", path)  # out/model.keras twice: once in the
    data = gather(run_dir)                               # fixture's export, once here
    listed = [e["path"] for e in data.exports]
    assert listed.count(str(out / "model.keras")) == 1
    assert str(gone) not in listed and str(replaced / "model.keras") not in listed
    assert any("2 earlier export(s) are not listed" in n for n in data.notes)


def test_the_report_picks_a_readable_example_and_survives_odd_metrics(calibrated, tmp_path):
    from core.report.gather import gather

    run_dir, _ = calibrated
    copy = copy_with_data(run_dir, tmp_path)
    run = RunFolder(copy)
    picked = gather(copy).data.examples
    victim = next(iter(picked.values()))
    assert victim.startswith(str(tmp_path / "data"))  # never the shared run's own images
    open(victim, "wb").write(b"\x89PNG\r\n\x1a\n broken")  # damaged since the run
    again = gather(copy).data.examples
    assert victim not in again.values() and set(again) == set(picked)
    metrics = json.loads(run.metrics_path.read_text())
    del metrics["accuracy"]
    run.metrics_path.write_text(json.dumps(metrics))
    out = tmp_path / "r.html"
    assert main(["report", str(copy), "--out", str(out)]) == 0  # it was KeyError: 'accuracy'
    assert "is not the scores as the app writes them (accuracy is None" in out.read_text()


def test_files_written_whole_get_the_mode_a_new_file_gets(tmp_path):
    from core.fsutil import _UMASK, as_disk_full, atomic_write_text
    from core.errors import DiskFullError

    new = tmp_path / "report.html"
    atomic_write_text(new, "x")
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o666 & ~_UMASK  # it was 0600
    os.chmod(new, 0o640)
    atomic_write_text(new, "y")
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o640  # a replaced file keeps its mode
    tf_error = RuntimeError("{{function_node SaveV2}} /x/.tmp/part-0: No space left on device")
    assert isinstance(as_disk_full(tmp_path / "sm", tf_error), DiskFullError)
    other = ValueError("other")
    assert as_disk_full(tmp_path, other) is other


def test_the_report_words_exports_and_settings_as_the_window_does(calibrated):
    """The exports table gave a byte count and a dump of the parity record's keys; the
    settings said "Learning rate 2 = 0.0" for a run that used 0.0001 and marked the default
    preset's transforms changed (a bug hunt)."""
    from core.config import StudioConfig
    from core.report.gather import settings_rows
    from core.report.html import render_report
    from core.report.gather import gather

    from core.runs.history import RunHistory

    run_dir, out = calibrated
    entry = json.loads((out / "metadata.json").read_text())["formats"]["keras"]
    RunHistory().record_export(run_dir, "keras", out / "model.keras", entry["size_bytes"],
                               {"status": entry["status"], "parity": entry["parity"]})
    html = render_report(gather(run_dir))
    exports = html[html.index("<h2>Exports</h2>"):]
    assert "top1_agree_count" not in exports and "max_diff_bound" not in exports
    assert "top-1 " in exports and ("\u00a0MB<" in exports or "\u00a0KB<" in exports)

    cfg = StudioConfig()
    cfg.train.fine_tune_learning_rate = 0.0  # "a tenth of learning rate 1"
    cfg.train.epochs = 3
    rows = {path: (label, value, changed) for path, label, value, changed in settings_rows(cfg)}
    assert rows["train.fine_tune_learning_rate"] == ("Learning rate 2", "0.0001", False)
    # (a review) the head fitted exactly: its epochs did nothing, and were bold as "changed"
    assert rows["train.epochs"] == ("Phase 1 (head)", "exact fit (1 step; epochs not used)",
                                    False)
    cfg.train.head_solver = "adam"
    adam = {path: (label, value, changed) for path, label, value, changed in settings_rows(cfg)}
    assert adam["train.epochs"] == ("Phase 1 (head)", "3 epochs", True)
    from core.runs.compare import settings_diff  # the Runs page's compare: no difference

    other = StudioConfig()
    other.train.epochs = 7
    assert not [d for d in settings_diff(StudioConfig().to_dict(), other.to_dict())
                if d.path == "train.epochs"]
    label, value, changed = rows["augment.transforms"]
    assert label == "Augmentation steps" and not changed
    assert value.startswith("HorizontalFlip (p 0.5); ") and "{" not in value
    assert rows["model.image_size"][1] == "the backbone's default"
    assert rows["train.fast_head"][1] == "on"


def test_an_export_made_before_the_run_was_calibrated_again_is_out_of_date(calibrated,
                                                                           tmp_path):
    """After `calibrate --unknown-keep` the report and the Runs page still said the export
    "passed", while its file kept the old threshold: 'unknown' 3 times against the app's 26,
    answers apart on 23 of 132 images (a report review).  A .keras export has no unknown
    score and keeps the temperature, which did not change: it answers as before, and was
    called out of date too (a review)."""
    from core.export.exporter import export_model
    from core.report.gather import gather
    from core.report.html import render_report
    from core.report.staleness import STALE
    from core.runs.history import RunHistory
    from core.trust.store import read_record
    from gui.pages.runs.rows import exports_text

    run_dir = copy_with_data(calibrated[0], tmp_path)
    out = tmp_path / "out"
    export_model(run_dir, "keras,savedmodel", out, latency_runs=1)
    RunHistory().record_export(run_dir, "keras", out / "model.keras")
    RunHistory().record_export(run_dir, "savedmodel", out / "savedmodel")
    assert [e.get(STALE) for e in gather(run_dir).exports] == [None, None]  # made with it
    temperature = read_record(RunFolder(run_dir)).temperature
    assert main(["calibrate", str(run_dir), "--unknown-keep", "0.8"]) == 0
    assert read_record(RunFolder(run_dir)).temperature == temperature  # the threshold moved
    data = gather(run_dir)
    rows = {e["format"]: e for e in data.exports}
    assert rows["keras"].get(STALE) is None
    # only the threshold moved: said so, not "calibrated again" (it is also what moving the
    # Predict page's slider does, a trust review)
    assert rows["savedmodel"][STALE] == (
        "the run's “unknown” threshold changed after this export, so the file answers "
        "otherwise than the app: export again")
    assert "out of date: the run&#x27;s “unknown” threshold changed" in render_report(data)
    text = exports_text("run", data.exports)
    assert text.count("(out of date: the run&#x27;s “unknown” threshold changed") == 1


def _change_model(run_dir):
    """The run's model.keras replaced by a slightly different model (as a resumed run's is)."""
    import numpy as np

    from core.model.model_files import load_model_file

    path = RunFolder(run_dir).model_path
    model = load_model_file(path)
    w = model.trainable_weights[-1]
    w.assign(w.numpy() + np.float32(0.25))
    model.save(path)


def test_an_export_made_before_the_runs_model_changed_is_out_of_date(calibrated, tmp_path):
    """A stopped run exported, resumed and stopped again: the report listed the export as
    "ok, passed yes, accuracy 50.0%" beside the run's 66.7%, the Runs page as current."""
    from core.export.exporter import export_model
    from core.report.gather import gather
    from core.report.html import render_report
    from core.report.staleness import STALE
    from core.runs.history import RunHistory
    from gui.pages.runs.rows import exports_text

    run_dir = copy_with_data(calibrated[0], tmp_path)
    out = tmp_path / "out"
    export_model(run_dir, "keras", out, latency_runs=1)
    RunHistory().record_export(run_dir, "keras", out / "model.keras")
    assert gather(run_dir).exports[0].get(STALE) is None
    _change_model(run_dir)
    data = gather(run_dir)
    assert data.exports[0][STALE].startswith("the run's model changed after this export")
    assert "out of date: the run&#x27;s model changed" in render_report(data)
    assert "(out of date: the run&#x27;s model changed" in exports_text("run", data.exports)


def test_an_earlier_versions_export_of_an_uncalibrated_run_is_judged_by_its_source_hash(
        calibrated, tmp_path):
    from core.export.exporter import export_model
    from core.report.gather import gather
    from core.report.staleness import STALE
    from core.runs.history import RunHistory
    from core.trust.store import clear_trust

    run_dir = copy_with_data(calibrated[0], tmp_path)
    clear_trust(RunFolder(run_dir))
    out = tmp_path / "out"
    export_model(run_dir, "keras", out, latency_runs=1)
    meta = json.loads((out / "metadata.json").read_text())
    del meta["model_sha256"]  # as an earlier version wrote it
    (out / "metadata.json").write_text(json.dumps(meta))
    RunHistory().record_export(run_dir, "keras", out / "model.keras")
    assert gather(run_dir).exports[0].get(STALE) is None
    _change_model(run_dir)
    assert "model changed" in gather(run_dir).exports[0][STALE]


def test_a_report_says_when_the_data_folder_changed_since_the_run(calibrated, tmp_path):
    """Images added and deleted after training: the report set today's counts, problems and
    pictures beside the run's split without a word (a report review)."""
    from pathlib import Path

    from core.report.gather import gather

    run_dir = copy_with_data(calibrated[0], tmp_path)
    assert not any("has changed since" in n for n in gather(run_dir).notes)
    data = Path(RunFolder(run_dir).load_config().data.data_dir)
    second = sorted((data / "dark").iterdir())[1]
    from PIL import Image

    Image.new("RGB", (40, 40), (3, 5, 7)).save(data / "dark" / "added.png")  # a new picture
    second.unlink()
    notes = gather(run_dir).notes
    assert ("The data folder has changed since this run trained (1 image added, 1 gone): "
            "the 'all' column") in " ".join(notes), notes
