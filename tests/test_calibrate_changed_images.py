"""``calibrate`` after the run's validation images changed (a review): the figures from
training stay, with the calibration they were scored with; the new calibration is recorded
beside them, and the terminal, the report and the Evaluate page say so.

Uses copies of the shared ``trained_run`` (bright vs dark noise) with their own data folder.
"""

import json
import shutil
from pathlib import Path

from core.cli import main
from core.runs.folder import RunFolder
from core.trust.store import RECALIBRATED, read_record


def run_with_own_data(trained_run: Path, tmp_path: Path) -> Path:
    """A copy of the trained run whose images are copied to ``tmp_path/data``."""
    dest = tmp_path / "run"
    shutil.copytree(trained_run, dest)
    rf = RunFolder(dest)
    split = rf.read_json("split.json")
    shutil.copytree(split["root"], tmp_path / "data")
    rf.write_json("split.json", {**split, "root": str(tmp_path / "data")})
    cfg = rf.load_config()
    cfg.data.data_dir = str(tmp_path / "data")
    rf.save_config(cfg)
    return dest


def replace_validation_pictures(run: Path, label: int = 0) -> int:
    """Class ``label``'s validation images replaced by a picture of the other class, under
    the same names and pixel size (the folder's fingerprint does not see it); how many."""
    rf = RunFolder(run)
    split = rf.read_json("split.json")
    root = Path(split["root"])
    other = next(r for r in split["val"] if r["label"] != label)
    picture = (root / other["path"]).read_bytes()
    mine = [r for r in split["val"] if r["label"] == label]
    for r in mine:
        (root / r["path"]).write_bytes(picture)
    return len(mine)


def test_replaced_validation_pictures_keep_the_runs_scores_and_say_so(trained_run, tmp_path,
                                                                      capsys):
    """Same count, other pictures: metrics.json's accuracy and confusion matrix were
    rewritten from the replaced pictures without a word (66.7% -> 54.2% beside run.json's
    66.7%), and its "calibration" became the new fit beside the old figures."""
    run = run_with_own_data(trained_run, tmp_path)
    folder = RunFolder(run)
    assert main(["calibrate", str(run)]) == 0  # a calibration the figures are scored with
    before = json.loads(folder.metrics_path.read_text())
    replace_validation_pictures(run)
    capsys.readouterr()
    assert main(["calibrate", str(run)]) == 0
    err = capsys.readouterr().err
    after = json.loads(folder.metrics_path.read_text())
    for key in ("accuracy", "n_images", "confusion", "macro_f1", "ece", "reliability",
                "mistakes", "calibration"):
        assert after[key] == before[key], key
    since = after[RECALIBRATED]
    assert since["temperature"] == read_record(folder).temperature
    assert "answered otherwise now, accuracy" in since["why"]
    assert "validation images changed since the run was scored" in err
    assert "answered otherwise now" in err

    out = tmp_path / "r.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    html = out.read_text()
    cal = before["calibration"]
    assert (f"{cal['ece_after']:.3f} after calibration ({cal['ece_before']:.3f} before)"
            in html)
    assert "Calibrated again since, on its" in html


def test_images_gone_keep_the_calibration_the_figures_were_scored_with(trained_run, tmp_path,
                                                                       capsys):
    """With fewer images, metrics.json kept the old ECE but took the new fit's "calibration":
    the page read "ECE 0.219 (0.237 before calibration)", two calibrations mixed."""
    run = run_with_own_data(trained_run, tmp_path)
    folder = RunFolder(run)
    before = json.loads(folder.metrics_path.read_text())
    val = folder.read_json("split.json")["val"]
    (tmp_path / "data" / val[0]["path"]).unlink()
    assert main(["calibrate", str(run)]) == 0
    after = json.loads(folder.metrics_path.read_text())
    assert after.get("calibration") == before.get("calibration")
    assert after["ece"] == before["ece"]
    assert after[RECALIBRATED]["n_images"] == before["n_images"] - 1
    assert "can be read now" in after[RECALIBRATED]["why"]

    # the images back as they were: scored again, the note goes
    shutil.copy(Path(trained_run.parent / "data") / val[0]["path"],
                tmp_path / "data" / val[0]["path"])
    assert main(["calibrate", str(run)]) == 0
    again = json.loads(folder.metrics_path.read_text())
    assert RECALIBRATED not in again
    assert again["calibration"]["temperature"] == read_record(folder).temperature


def test_the_evaluate_page_keeps_the_two_calibrations_apart(trained_run, tmp_path):
    from core.infer.metrics import Metrics
    from core.trust.store import figures_calibration
    from gui.pages.evaluate.reliability import ece_text

    run = run_with_own_data(trained_run, tmp_path)
    folder = RunFolder(run)
    assert main(["calibrate", str(run)]) == 0
    before = json.loads(folder.metrics_path.read_text())
    replace_validation_pictures(run)
    assert main(["calibrate", str(run)]) == 0
    data = folder.metrics()
    text = ece_text(Metrics.from_dict(data), figures_calibration(data))
    old, new = before["calibration"], read_record(folder)
    then, since = text.split("Calibrated again since")
    assert f"{old['ece_after']:.3f} after" in then and f"{old['temperature']:.2f}" in then
    assert f"on its {new.n_images} validation images" in since
    assert f"with the calibration then (temperature {old['temperature']:.2f})" in since
    assert f"temperature {new.temperature:.2f}, ECE {new.ece_before:.3f}" in text
    assert "Every probability the app shows for this run is the calibrated one" not in text
