"""A run folder's calibration and "unknown": fitted after training, applied by predict/evaluate.

Uses a copy of the shared ``trained_run`` (bright vs dark noise, tiny MobileNetV3Small)
and calls :func:`core.trust.fit.fit_after_training` on it, as training does when it ends.
"""

import csv
import json
import os
import shutil

import numpy as np
import pytest

from core.cli import main
from core.infer.loaders import load_predictor
from core.runs.folder import RunFolder
from core.trust.store import read_record, set_threshold
from core.trust.unknown import is_unknown


@pytest.fixture(scope="module")
def trusted_run(tmp_path_factory, trained_run):
    dest = tmp_path_factory.mktemp("trusted") / "run"
    shutil.copytree(trained_run, dest)
    from core.cli import main

    assert main(["calibrate", str(dest)]) == 0  # the command a user runs (fit_after_training)
    assert RunFolder(dest).calibration_path.is_file()
    return dest


@pytest.fixture(scope="module")
def stripes(tmp_path_factory):
    """An image of another kind: black and white stripes, neither bright nor dark noise."""
    from PIL import Image

    arr = np.zeros((40, 40, 3), np.uint8)
    arr[:, ::4] = 255
    arr[:, 1::4] = 255
    path = tmp_path_factory.mktemp("other") / "stripes.png"
    Image.fromarray(arr).save(path)
    return path


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_run_gets_a_temperature_ece_before_after_and_a_95_percent_threshold(trusted_run):
    run = RunFolder(trusted_run)
    rec = read_record(run)
    assert rec.temperature > 0 and rec.n_images == len(run.split().val)
    assert rec.nll_after <= rec.nll_before + 1e-9
    assert 0 <= rec.ece_after <= 1 and rec.unknown_keep == 0.95
    assert rec.n_reference == len(run.split().train) and run.unknown_path.is_file()
    assert json.loads(run.metrics_path.read_text())["calibration"]["temperature"] == rec.temperature
    # the threshold keeps at least 95% of the validation images
    predictor = load_predictor(trusted_run)
    rows = predictor.predict_paths([r.path for r in run.split().val])
    assert predictor.unknown_threshold == rec.unknown_threshold
    kept = np.mean([not r.unknown for r in rows])
    assert kept >= 0.95
    scores = np.array([r.unknown_score for r in rows])
    assert (~is_unknown(scores, rec.unknown_threshold)).mean() >= 0.95


def test_run_predictions_are_the_calibrated_probabilities(trusted_run):
    from core.infer.predictor import load_keras_predictor
    from core.trust.calibration import apply_temperature

    run = RunFolder(trusted_run)
    paths = [r.path for r in run.split().val][:4]
    raw, _, _ = load_keras_predictor(run.model_path).predict_files(paths)
    calibrated, _, _ = load_predictor(trusted_run).predict_files(paths)
    np.testing.assert_allclose(calibrated, apply_temperature(raw, read_record(run).temperature),
                               atol=1e-5)


def test_predict_csv_says_unknown_for_another_kind_of_image(trusted_run, stripes, tmp_path):
    """The threshold is set between the known images' scores and the stripes' score, so the
    test does not depend on how well the tiny random-feature model separates them."""
    run = RunFolder(trusted_run)
    known = [r.path for r in run.split().val]
    predictor = load_predictor(trusted_run)
    scores = {r.path: r.unknown_score for r in predictor.predict_paths(known + [str(stripes)])}
    top_known = max(scores[p] for p in known)
    assert scores[str(stripes)] > top_known, "stripes should look less known than bright/dark"
    threshold = (top_known + scores[str(stripes)]) / 2
    set_threshold(run, threshold)
    out = tmp_path / "out.csv"
    assert main(["predict", str(trusted_run), str(stripes), *known[:3], "--csv", str(out)]) == 0
    rows = {r["path"]: r for r in _rows(out)}
    assert rows[str(stripes)]["label"] == "unknown"
    assert rows[str(stripes)]["top1_label"] in ("bright", "dark")  # top-k still name classes
    assert all(rows[p]["label"] in ("bright", "dark") for p in known[:3])
    # "unknown" has no confidence of its own (the top class's had read as one); the score
    # the threshold judged is there for every image; lines end in "\n" (no "\r" in error)
    assert rows[str(stripes)]["confidence"] == ""
    assert float(rows[str(stripes)]["unknown_score"]) == pytest.approx(scores[str(stripes)],
                                                                       abs=1e-4)
    assert all(float(rows[p]["unknown_score"]) < threshold and float(rows[p]["confidence"]) > 0
               for p in known[:3])
    assert b"\r" not in out.read_bytes()


def test_no_unknown_and_threshold_options(trusted_run, stripes, tmp_path, capsys):
    run = RunFolder(trusted_run)
    known = [r.path for r in run.split().val][:2]
    args = ["predict", str(trusted_run), str(stripes), *known, "--csv", str(tmp_path / "a.csv")]
    capsys.readouterr()
    assert main(args + ["--threshold=-1e9"]) == 0
    assert {r["label"] for r in _rows(tmp_path / "a.csv")} == {"unknown"}
    # the terminal gives "unknown" no confidence, as the CSV (its top class's had read as
    # how sure the model was of "unknown"; a Predict review)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.split("\t")[1:3] == ["unknown", "–"] for line in lines)
    assert main(args + ["--no-unknown"]) == 0
    assert "unknown" not in {r["label"] for r in _rows(tmp_path / "a.csv")}
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:  # both: --no-unknown had won silently
        main(args + ["--threshold=-1e9", "--no-unknown"])
    assert refused.value.code == 2
    assert "not allowed with argument --threshold" in capsys.readouterr().err
    capsys.readouterr()  # only the last command's printout below
    assert main(args + ["--threshold", "1e9"]) == 0
    assert "unknown" not in {r["label"] for r in _rows(tmp_path / "a.csv")}
    assert "unknown" not in capsys.readouterr().out


def test_evaluate_json_has_a_top_level_ece_of_the_calibrated_probabilities(trusted_run, capsys):
    data = str(RunFolder(trusted_run).load_config().data.data_dir)
    assert main(["evaluate", str(trusted_run), data, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0.0 <= out["ece"] <= 1.0 and out["accuracy"] >= 0.8
    assert len(out["reliability"]) == 15


def test_calibrate_unknown_keep_overrides_the_runs_setting(trained_run, tmp_path):
    dest = tmp_path / "run"
    shutil.copytree(trained_run, dest)
    assert main(["calibrate", str(dest), "--unknown-keep", "0.8"]) == 0
    rec = read_record(RunFolder(dest))
    assert rec.unknown_keep == 0.8
    assert json.loads(RunFolder(dest).metrics_path.read_text())["calibration"]["unknown_keep"] == 0.8


def test_calibrate_scores_metrics_json_again_with_the_new_calibration(trained_run, tmp_path):
    """After ``calibrate`` refitted a run, metrics.json kept the old temperature's ECE and
    reliability bins (the Evaluate page and the report showed them)."""
    from core.trust.calibration import expected_calibration_error

    dest = tmp_path / "run"
    shutil.copytree(trained_run, dest)
    folder = RunFolder(dest)
    stale = json.loads(folder.metrics_path.read_text())
    accuracy = stale["accuracy"]
    stale.update(ece=0.987, reliability=[])
    folder.metrics_path.write_text(json.dumps(stale))
    assert main(["calibrate", str(dest)]) == 0
    metrics = json.loads(folder.metrics_path.read_text())
    val = folder.split(folder.load_config().data.data_dir).val
    probs, ok, _ = load_predictor(str(dest)).predict_files([r.path for r in val])
    label = {str(r.path): r.label for r in val}
    labels = np.array([label[str(p)] for p in ok])
    assert len(ok) == len(val)
    assert metrics["ece"] == pytest.approx(expected_calibration_error(probs, labels), abs=1e-6)
    assert len(metrics["reliability"]) == 15 and metrics["accuracy"] == accuracy
    assert metrics["calibration"]["temperature"] == read_record(folder).temperature


def test_calibrate_keeps_the_training_figures_when_images_are_gone(trained_run, tmp_path,
                                                                   capsys):
    """The rescoring rewrote accuracy, counts and the confusion matrix on whatever validation
    images could still be read (5 damaged: n_images 24 -> 19, without a word)."""
    dest = tmp_path / "run"
    shutil.copytree(trained_run, dest)
    folder = RunFolder(dest)
    before = json.loads(folder.metrics_path.read_text())
    val = folder.split(folder.load_config().data.data_dir).val
    cfg = folder.load_config()
    data = tmp_path / "data"  # a copy of the data folder, one validation image damaged
    shutil.copytree(cfg.data.data_dir, data)
    victim = data / os.path.relpath(val[0].path, cfg.data.data_dir)
    cfg.data.data_dir = str(data)
    folder.save_config(cfg)
    victim.write_bytes(b"not an image any more")
    assert main(["calibrate", str(dest)]) == 0
    after = json.loads(folder.metrics_path.read_text())
    for key in ("accuracy", "n_images", "confusion", "ece"):
        assert after[key] == before[key]
    assert "keeps the figures from training" in capsys.readouterr().err


def test_an_export_of_a_run_calibrated_by_an_older_version_says_to_calibrate_again(
        trusted_run, tmp_path, monkeypatch):
    """Versions before MIN_STD kept near-zero spreads (1e-6): the export's unknown score then
    differs by rounding magnified a million times and fails parity; the failure said nothing
    of the cure (an upgrade review).  Judged relative to the score, such rounding now
    passes; a bound of 0 makes the file fail as it did, to read what it says."""
    import dataclasses
    import json

    from core.config import ExportConfig
    from core.export.exporter import export_model
    from core.formats import BY_NAME

    monkeypatch.setitem(BY_NAME, "tflite", dataclasses.replace(BY_NAME["tflite"],
                                                               max_score_diff=0.0))

    run = tmp_path / "old-calibration"
    shutil.copytree(trusted_run, run)
    calibration = json.loads((run / "calibration.json").read_text())
    calibration["unknown_stds"] = [1e-6, 1e-6]
    (run / "calibration.json").write_text(json.dumps(calibration))
    report = export_model(run, ["tflite"], tmp_path / "out", ExportConfig(parity_images=8),
                          latency_runs=1)
    reason = report.result("tflite").parity["reason"]
    assert f"run 'python main.py calibrate {run}' and export again" in reason, reason


def test_evaluate_says_how_many_images_a_calibrated_model_would_answer_unknown(
        trusted_run, stripes, tmp_path, capsys):
    """(a Predict review) evaluate printed "accuracy 1.0000 ... No mistakes" for a folder of
    which predict, the Predict page and every export answered most "unknown": nothing said
    the figures are every image's top class.  Now the terminal, --json and the Evaluate
    page's notes say how many would be "unknown", per class, and how right the rest are."""
    from core.infer.evaluation import evaluate_labelled_folder
    from gui.pages.evaluate.results import folder_notes

    trusted_run = shutil.copytree(trusted_run, tmp_path / "run")  # its threshold is moved
    run = RunFolder(trusted_run)
    classes = json.loads(run.labels_path.read_text())
    classes = classes["classes"] if isinstance(classes, dict) else classes
    folder = tmp_path / "check"
    for r in run.split().val:
        dest = folder / classes[r.label]
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(r.path, dest / os.path.basename(r.path))
    shutil.copy(stripes, folder / classes[0] / "stripes.png")  # filed under a class
    predictor = load_predictor(trusted_run)
    scores = {os.path.basename(r.path): r.unknown_score
              for r in predictor.predict_paths([str(p) for p in folder.rglob("*.png")])}
    known = max(s for n, s in scores.items() if n != "stripes.png")
    set_threshold(run, (known + scores["stripes.png"]) / 2)
    n = len(scores)

    capsys.readouterr()
    assert main(["evaluate", str(trusted_run), str(folder), "--json"]) == 0
    share = json.loads(capsys.readouterr().out)["unknown"]
    assert (share["n_images"], share["n_unknown"], share["answered"]) == (n, 1, n - 1)
    assert share["per_class"] == {c: int(i == 0) for i, c in enumerate(classes)}
    assert 0 <= share["answered_accuracy"] <= 1
    assert main(["evaluate", str(trusted_run), str(folder)]) == 0
    out = capsys.readouterr().out
    assert f'1 of the {n} images would be answered "unknown"' in out and classes[0] in out

    result = evaluate_labelled_folder(load_predictor(trusted_run), str(folder))
    flagged = [os.path.basename(p.path) for p in result.predictions if p.unknown]
    assert flagged == ["stripes.png"]
    assert any('would be answered "unknown"' in note for note in folder_notes(result))
    set_threshold(run, scores["stripes.png"] + 1)  # nothing "unknown": nothing said
    assert not any("unknown" in note for note in folder_notes(
        evaluate_labelled_folder(load_predictor(trusted_run), str(folder))))


def test_a_completed_run_without_calibration_says_why_and_what_to_do(trusted_run, stripes,
                                                                     tmp_path, capsys):
    """(a Predict review) A completed run with 6 validation images (36 images, the default
    split) was told "a run calibrated after training has one", as if it had not been
    trained, and nothing said why or what to do; the same for deleted calibration files."""
    from core.trust.fit import MIN_IMAGES as FIT_MIN
    from core.trust.missing import MIN_IMAGES, not_calibrated
    from gui.pages.predict.unknown_bar import unfinished_note

    assert FIT_MIN == MIN_IMAGES and not_calibrated(str(trusted_run)) is None
    run = RunFolder(shutil.copytree(trusted_run, tmp_path / "run"))
    for path in (run.calibration_path, run.unknown_path):
        path.unlink()
    note = unfinished_note(str(run.model_path))
    assert "calibration files are missing" in note and f"calibrate {run.path}" in note
    split = json.loads(run.path.joinpath("split.json").read_text())
    split["val"] = split["val"][:6]
    run.path.joinpath("split.json").write_text(json.dumps(split))
    note = unfinished_note(str(run.path))
    assert note.startswith("This run has 6 validation images and calibration needs at "
                           f"least {MIN_IMAGES}") and "larger validation share" in note
    capsys.readouterr()
    assert main(["predict", str(run.path), str(stripes), "--threshold", "0.5"]) == 0
    err = capsys.readouterr().err
    assert "has 6 validation images" in err and "--val-split" in err and "ignored" in err
