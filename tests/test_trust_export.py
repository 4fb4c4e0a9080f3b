"""Exports of a calibrated run carry it: calibrated probabilities and the unknown score as a
second output (SavedModel, TFLite, ONNX), checked by the parity probe in each runtime,
described in metadata.json, applied by README.txt's snippets and by the app opening them.

Uses a copy of the shared ``trained_run`` (calibrated when training ended) whose threshold is
set between the known images' scores and a striped image's, like tests/test_trust_run.py.
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from core.formats import BY_NAME
from core.infer.loaders import load_predictor
from core.runs.folder import RunFolder
from core.trust.store import read_record, set_threshold

FORMATS = ("savedmodel", "tflite", "onnx")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, trained_run):
    """(run folder, export folder, known image paths, striped image path)."""
    from PIL import Image

    from core.export.exporter import export_model

    base = tmp_path_factory.mktemp("trust_export")
    run_dir = base / "run"
    shutil.copytree(trained_run, run_dir)
    arr = np.zeros((40, 40, 3), np.uint8)
    arr[:, ::4] = arr[:, 1::4] = 255
    stripes = base / "stripes.png"
    Image.fromarray(arr).save(stripes)
    run = RunFolder(run_dir)
    known = [r.path for r in run.split().val]
    scores = {r.path: r.unknown_score for r in load_predictor(run_dir).predict_paths(
        known + [str(stripes)])}
    top_known = max(scores[p] for p in known)
    assert scores[str(stripes)] > top_known + 0.5, "stripes should look unlike bright/dark"
    set_threshold(run, (top_known + scores[str(stripes)]) / 2)
    report = export_model(run_dir, ",".join(FORMATS), base / "out", latency_runs=1)
    return run_dir, base / "out", report, known, str(stripes)


def test_every_format_passes_parity_on_probabilities_and_unknown_score(exported):
    _, _, report, _, _ = exported
    assert "unknown score max" in report.to_text()
    for fmt in FORMATS:
        r = report.result(fmt)
        assert r.ok, (fmt, r.error, r.parity)
        unknown = r.parity["unknown"]
        assert unknown["passed"] and unknown["max_abs_diff"] <= BY_NAME[fmt].max_score_diff
        assert unknown["flag_agree_count"] == r.parity["n_images"]
        assert r.details["outputs"] == ["probabilities", "unknown_score"]


def test_metadata_says_temperature_threshold_and_how_the_score_is_computed(exported):
    run_dir, out, _, _, _ = exported
    rec = read_record(RunFolder(run_dir))
    meta = json.loads((out / "metadata.json").read_text())
    cal = meta["calibration"]
    assert cal["temperature"] == rec.temperature
    assert cal["unknown"]["threshold"] == rec.unknown_threshold
    assert cal["unknown"]["output"] == "unknown_score" and "knn" in cal["unknown"]["score"]
    assert cal["unknown"]["means"]["knn"] == rec.unknown_means[0]
    assert set(FORMATS) <= set(meta["output"]["unknown_score"]["formats"])
    assert "keras" not in meta["output"]["unknown_score"]["formats"]


def test_the_app_opening_each_export_gives_the_runs_answers_and_unknown(exported):
    run_dir, out, _, known, stripes = exported
    paths = known[:4] + [stripes]
    ref = {r.path: r for r in load_predictor(run_dir).predict_paths(paths)}
    assert ref[stripes].unknown and not any(ref[p].unknown for p in known[:4])
    for target in (out, out / "savedmodel", out / "model.tflite", out / "model.onnx"):
        predictor = load_predictor(target)
        assert predictor.has_unknown_score
        assert predictor.unknown_threshold == read_record(RunFolder(run_dir)).unknown_threshold
        for r in predictor.predict_paths(paths):
            assert r.unknown == ref[r.path].unknown, (target, r.path)
            assert r.unknown_score == pytest.approx(ref[r.path].unknown_score, abs=1e-3)
            assert r.confidence == pytest.approx(ref[r.path].confidence, abs=1e-4)


def _snippets(readme: str) -> str:
    """The README's code, every format's block in turn, as one script."""
    blocks, current = [], None
    for line in readme.splitlines():
        if line.startswith("    "):
            current = current if current is not None else []
            current.append(line[4:])
        elif current is not None and line.strip() == "":
            current.append("")
        else:
            if current:
                blocks.append("\n".join(current))
            current = None
    if current:
        blocks.append("\n".join(current))
    return "\n".join(blocks)


@pytest.mark.parametrize("image,unknown", [("known", False), ("stripes", True)])
def test_readme_snippets_say_unknown_like_the_app(exported, tmp_path, image, unknown):
    run_dir, out, _, known, stripes = exported
    folder = tmp_path / "deploy"
    shutil.copytree(out, folder)
    shutil.copyfile(stripes if image == "stripes" else known[0], folder / "photo.jpg")
    readme = (out / "README.txt").read_text()
    # README.txt shows how to run the formats exported only (its .keras snippet was there for
    # a model.keras the folder did not hold, a review): savedmodel, tflite, onnx
    assert "keras.saving.load_model" not in readme
    script = _snippets(readme)
    done = subprocess.run([sys.executable, "-c", script], cwd=folder, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [line.split()[0] for line in done.stdout.splitlines()
               if line.split() and line.split()[0] in ("bright", "dark", "unknown")]
    assert len(answers) == 3, done.stdout  # savedmodel, tflite, onnx
    app = load_predictor(run_dir).predict_paths([str(folder / "photo.jpg")])[0]
    assert app.unknown == unknown
    assert answers == [app.shown_label] * 3


def test_judging_the_unknown_score_forgives_only_flips_at_the_threshold():
    """Arrays only: a float32 format must match to 1e-2; fp16 may flip 'unknown' on an image
    whose app score is within NEAR_THRESHOLD of the threshold, not on others."""
    from core.export.parity import NEAR_THRESHOLD, judge

    probs = np.tile([[0.9, 0.1]], (100, 1)).astype(np.float32)
    ref_scores = np.linspace(-2, 3, 100).astype(np.float32)
    threshold = 1.0
    same = judge("onnx", probs, {"probs": probs, "score": ref_scores + 5e-4}, None, ref_scores,
                 threshold)
    assert same["passed"] and same["unknown"]["flag_agree_count"] == 100
    off = judge("onnx", probs, {"probs": probs, "score": ref_scores + 0.05}, None, ref_scores,
                threshold)
    assert not off["passed"] and "unknown score max" in off["reason"]
    # a large score is judged relative to its size: float32 rounding of a score in the
    # hundreds, and scores below 1 on spreads at their floor, had failed float32 TFLite
    # files at |Δ| 0.00105-0.00149 while every answer agreed (every-backbone reviews)
    big = ref_scores * 0 + 350.0
    rounded = judge("tflite", probs, {"probs": probs, "score": big + 0.5}, None, big, None)
    assert rounded["passed"] and rounded["unknown"]["max_abs_diff"] > 1e-2
    small = judge("tflite", probs, {"probs": probs, "score": ref_scores + 0.0015}, None,
                  ref_scores, threshold)
    assert small["passed"]
    wrong = judge("tflite", probs, {"probs": probs, "score": big * 1.05}, None, big, None)
    assert not wrong["passed"] and "of the score, bound 0.01" in wrong["reason"]
    missing = judge("onnx", probs, {"probs": probs}, None, ref_scores, threshold)
    assert not missing["passed"] and "no unknown_score output" in missing["reason"]
    near = ref_scores.copy()
    i = int(np.argmin(np.abs(ref_scores - threshold - NEAR_THRESHOLD / 2)))
    near[i] = threshold - 0.01  # an app "unknown" just above the threshold becomes known
    fp16 = judge("tflite-fp16", probs, {"probs": probs, "score": near}, None, ref_scores,
                 threshold)
    assert fp16["passed"] and fp16["unknown"]["near_threshold_flips"] == 1
    far = ref_scores.copy()
    far[-1] = -5.0  # the most unknown image scored as known: a real flip
    far[-2] = -5.0
    bad = judge("tflite-fp16", probs, {"probs": probs, "score": far}, None, ref_scores,
                threshold)
    assert not bad["passed"] and "'unknown' agrees on 98/100" in bad["reason"]


def test_the_format_table_says_which_files_carry_calibration_and_the_score():
    assert not BY_NAME["keras"].calibrated and not BY_NAME["keras"].unknown_score
    assert BY_NAME["tflite-int8"].calibrated and not BY_NAME["tflite-int8"].unknown_score
    assert all(BY_NAME[f].calibrated and BY_NAME[f].unknown_score
               for f in ("savedmodel", "tflite", "tflite-fp16", "onnx"))


def test_the_parity_line_names_the_score_bound_and_what_the_flag_count_counts():
    """"unknown score max |Δ| 0.00105, 'unknown' 8/8" gave no bound (a footnote had it) and
    read as 8 images called unknown (an every-backbone and a novice review)."""
    from core.export.report import parity_figures_text

    line = parity_figures_text({"checked": True, "n_images": 8, "max_abs_diff": 1e-7,
                                "unknown": {"max_abs_diff": 0.00105, "max_diff_bound": 1e-3,
                                            "flag_agree_count": 8, "n_images": 8}})
    assert "unknown score max |Δ| 0.00105 (bound 0.001 of the score above 1)" in line
    assert line.endswith("'unknown' or not as the app: 8/8")


def test_a_file_of_a_calibrated_export_without_the_score_says_it_answers_no_unknown(
        exported, tmp_path, capsys):
    """(a serve review) model.keras (and model_int8.tflite) of a calibrated export answered
    without "unknown" and nothing said so, in serve, predict or the Predict page; only a
    copy away from its metadata.json was warned about."""
    from core.cli import main

    run_dir, out, _, known, stripes = exported
    folder = tmp_path / "deploy"
    shutil.copytree(out, folder)
    shutil.copyfile(RunFolder(run_dir).model_path, folder / "model.keras")
    predictor = load_predictor(folder / "model.keras")
    assert not predictor.has_unknown_score
    assert predictor.unknown_note.startswith("model.keras has no unknown score")
    assert "open the export folder" in predictor.unknown_note
    assert load_predictor(folder / "model.tflite").unknown_note == ""  # it has the score
    assert main(["predict", str(folder / "model.keras"), stripes]) == 0
    err = capsys.readouterr().err
    assert "model.keras has no unknown score" in err and "--threshold" not in err
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copyfile(folder / "model.keras", alone / "model.keras")  # no export around it
    assert load_predictor(alone / "model.keras").unknown_note == ""
