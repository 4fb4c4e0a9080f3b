"""The Evaluate page when the run's validation images changed since it was scored (a review):
the matrix is training's, the cells list the images as they are now, and the page says so;
and why a stopped run has no calibration."""

import shutil

from core.infer.metrics import Metrics
from core.runs.folder import RunFolder
from test_calibrate_changed_images import replace_validation_pictures, run_with_own_data
from test_gui_evaluate import click_cell, open_run


def test_replaced_validation_pictures_are_named_above_the_cells(qtbot, window, trained_run,
                                                                 tmp_path):
    """A cell showing 0 listed 2 images, and one showing 6 listed 3, without a word."""
    run = run_with_own_data(trained_run, tmp_path)
    metrics = Metrics.from_dict(RunFolder(run).metrics())
    replace_validation_pictures(run)
    page = open_run(qtbot, window, run)
    assert "changed since" not in page.banner.text()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        click_cell(qtbot, page, 0, 0)
    text = page.banner.text()
    assert "The validation images changed since the run was scored" in text
    assert f"{metrics.accuracy:.1%} when scored" in text
    assert page.confusion.counts() == metrics.confusion  # the matrix stays training's


def test_unchanged_validation_images_give_no_banner(qtbot, window, trained_run, tmp_path):
    run = run_with_own_data(trained_run, tmp_path)
    page = open_run(qtbot, window, run)
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        click_cell(qtbot, page, 0, 0)
    assert "changed since" not in page.banner.text()


def test_a_stopped_runs_confidence_tab_says_it_is_calibrated_when_it_completes(
        qtbot, window, trained_run, tmp_path):
    """(a review) A stopped run with 24 validation images was told "No calibration is
    recorded (too few validation images, or trained before calibration existed)"; the
    report said nothing.  Resume is what calibrates it."""
    from core.cli import main
    from core.trust.store import clear_trust

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    folder = RunFolder(run)
    clear_trust(folder)  # as training leaves a stopped run
    folder.update_run_info(status="stopped")
    page = open_run(qtbot, window, run)
    text = page.content.confidence.label.text()
    assert "Not calibrated yet: the run was stopped" in text and "Resume it" in text
    assert "too few validation images" not in text
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    assert "Not calibrated yet: the run was stopped" in (tmp_path / "r.html").read_text()


def test_macro_f1_says_which_classes_it_averages(qtbot, window, trained_run, tmp_path):
    """(a review) "Macro F1 0.747 (the classes' F1 averaged …)" averaged 3 of 4 classes:
    'poly_100' had no validation image; the terminal said so, the window and report not."""
    import numpy as np

    from core.cli import main
    from core.infer.metrics import compute_metrics

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    folder = RunFolder(run)
    classes = ["bright", "dark", "poly_100"]
    y = [0, 0, 0, 1, 1, 1]
    probs = np.array([[.8, .1, .1], [.7, .2, .1], [.2, .7, .1], [.1, .8, .1], [.1, .8, .1],
                      [.1, .2, .7]])
    folder.write_metrics(compute_metrics(y, probs, classes).to_dict())
    page = open_run(qtbot, window, run)
    text = page.content.summary_label.text()
    assert "the F1 of the 2 classes with images averaged; 'poly_100' had no image here" in text
    assert "the classes' F1 averaged" not in text
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert "the F1 of the 2 classes with images averaged; &#x27;poly_100&#x27; had no" in html


def test_a_split_folder_says_only_its_test_images_were_scored(qtbot, window, trained_run,
                                                               tmp_path):
    """(a review) On a train/ + test/ folder of 90 images the page showed "(18 images)" and
    no word that train/ was skipped; only View → Log said it."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(3)
    folder = tmp_path / "split"
    for subset, n in (("train", 5), ("test", 2)):
        for name, base in (("bright", 185), ("dark", 65)):
            (folder / subset / name).mkdir(parents=True)
            for i in range(n):
                arr = np.clip(base + rng.normal(0, 30, (40, 40, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(arr).save(folder / subset / name / f"{name}_{i}.png")
    page = open_run(qtbot, window, trained_run)
    with qtbot.waitSignal(page.folder_evaluated, timeout=120000) as sig:
        page.evaluate_folder(str(folder))
    assert sig.args[0].n_images == 4
    assert ("Only its test/ images were scored: the folder is split into subsets, and the 10 "
            "image(s) of its other subsets were not") in page.banner.text()
