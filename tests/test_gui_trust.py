"""The window shows calibration and "unknown": the Predict page's threshold slider with a
live view (cards and table say "unknown"), saved to the run and the project file; the
Evaluate page's ECE before/after and reliability diagram.  Real trained run (calibrated
when its training ended), real images, real widgets."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from core.project import load_project
from core.runs.folder import RunFolder
from core.trust.store import read_record

PREDICT, EVALUATE = 5, 4


@pytest.fixture
def run_copy(tmp_path, trained_run):
    dest = tmp_path / "run"
    shutil.copytree(trained_run, dest)
    return dest


def _stripes(folder):
    arr = np.zeros((40, 40, 3), np.uint8)
    arr[:, ::4] = arr[:, 1::4] = 255
    path = folder / "stripes.png"
    Image.fromarray(arr).save(path)
    return str(path)


def _labels(page):
    return {r["path"]: r["label"] for r in page.table_rows()}


def test_threshold_slider_relabels_live_and_is_saved_to_run_and_project(qtbot, window,
                                                                        run_copy, tmp_path):
    run = RunFolder(run_copy)
    rec = read_record(run)
    assert len(rec.score_quantiles) == 101  # fitted when the training ended
    known = [r.path for r in run.split().val]
    stripes = _stripes(tmp_path)
    window.state.set_run(str(run_copy))
    window.show_page(PREDICT)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths(known + [stripes])
    bar = page.unknown_bar
    assert bar.isVisible() and bar.check.isChecked() and bar.slider.isEnabled()
    assert bar.threshold() == rec.unknown_threshold
    assert bar.share() == pytest.approx(rec.unknown_keep, abs=0.1)
    labels = _labels(page)
    assert labels[stripes] == "unknown"  # unlike bright or dark noise
    kept = sum(labels[p] != "unknown" for p in known)
    assert kept >= 0.9 * len(known)
    assert bar.count_label.text().startswith(f"{len(known) + 1 - kept} of {len(known) + 1}")

    # the slider at its lowest keeps about half the known images: more become "unknown" at once
    bar.slider.setValue(bar.slider.minimum())
    low = bar.threshold()
    assert low < rec.unknown_threshold and bar.share() == pytest.approx(0.5, abs=0.02)
    labels = _labels(page)
    assert 0 < sum(labels[p] != "unknown" for p in known) < kept
    assert labels[stripes] == "unknown"
    flagged = [p.path for p in page.cards.predictions() if p.unknown]
    assert set(flagged) == {p for p, lbl in labels.items() if lbl == "unknown"}
    # "unknown" has no confidence in the table, as in the CSV and on the cards (its top
    # class's 93.7 % read as how sure the model was of "unknown"; a Predict review)
    sure = {r["path"]: r["confidence"] for r in page.table_rows()}
    assert all(sure[p] is None for p in flagged)
    assert all(sure[p] is not None for p in labels if p not in flagged)
    page.card_view.grab()  # the cards paint "unknown"
    # ... and the threshold is saved in the run and kept for the project file
    saved = read_record(run)
    assert saved.unknown_threshold == low and saved.unknown_keep == pytest.approx(0.5, abs=0.02)
    assert json.loads(run.metrics_path.read_text())["calibration"]["unknown_threshold"] == low
    model_path = page.model_path_loaded()
    assert window.state.unknown_thresholds[model_path] == low

    # switched off, nothing is "unknown"; the run says so too
    bar.check.setChecked(False)
    assert "unknown" not in _labels(page).values()
    assert None not in {r["confidence"] for r in page.table_rows()}  # each its class's again
    assert read_record(run).unknown_threshold is None
    bar.check.setChecked(True)
    assert bar.threshold() == low and _labels(page)[stripes] == "unknown"

    # the project file keeps the choice; opened again, the page applies it to the model
    project = tmp_path / "p.ftsproj"
    assert window.save_project_as(str(project))
    assert load_project(project).unknown_thresholds == {model_path: low}
    from core.trust.store import set_threshold

    set_threshold(run, rec.unknown_threshold)  # the run file changed meanwhile
    assert window.open_project(str(project))
    window.show_page(PREDICT)
    page.clear_results()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([stripes] + known[:2])
    assert page.predictor.unknown_threshold == low and bar.threshold() == low

    # switched off and opened again later: ticking the box turns it back on (it was saved
    # as null in the run and the project, and the box then ticked with no threshold)
    bar.check.setChecked(False)
    assert window.save_project_as(str(project))
    assert window.open_project(str(project))
    window.show_page(PREDICT)
    page.clear_results()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([stripes] + known[:2])
    assert not bar.check.isChecked() and bar.threshold() is None
    bar.check.setChecked(True)
    assert bar.threshold() is not None and bar.slider.isEnabled()
    assert bar.share() == pytest.approx(0.5, abs=0.02)  # as much as it kept when switched off
    assert _labels(page)[stripes] == "unknown"
    window.state.mark_saved()


def test_evaluate_page_shows_ece_before_after_and_a_reliability_diagram(qtbot, window,
                                                                        trained_run):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    cal = metrics["calibration"]
    page = window.pages[EVALUATE]
    window.show_page(EVALUATE)
    with qtbot.waitSignal(page.metrics_shown, timeout=10000):
        window.state.set_run(str(trained_run))
    tab = page.content.confidence
    assert page.content.tabs.tabText(2) == "Confidence"
    text = tab.label.text()
    assert f"{cal['ece_before']:.3f} before" in text and f"{cal['ece_after']:.3f} after" in text
    assert f"{metrics['ece']:.3f}" in page.summary_label.text()
    assert f"{cal['ece_before']:.3f} before calibration" in page.summary_label.text()
    assert len(tab.chart.bins) == 15
    assert sum(b["count"] for b in tab.chart.bins) == metrics["n_images"]
    page.content.tabs.setCurrentIndex(2)
    for size in ((900, 600), (1600, 1000)):
        window.resize(*size)
        image = tab.chart.grab().toImage()
        assert not image.isNull() and image.width() > 150  # room to draw at both sizes


def test_a_model_scoring_every_image_alike_shows_no_slider_but_says_why(qtbot):
    """A run from random weights that answered one class for every image (its calibration
    as such a run wrote it) started the slider at "Known images kept: 100.0%", and moving
    it to 60% said 90% (a review): the scores only differ by rounding, so no slider; a note."""
    from gui.pages.predict.unknown_bar import UnknownBar

    bar = UnknownBar()
    qtbot.addWidget(bar)
    alike = tuple(np.linspace(-9.934e-05, 1.3908e-04, 101))
    bar.set_model(True, 1.4008e-04, alike, 1.4008e-04, "")
    bar.show()
    assert not bar.slider.isVisible() and bar.share() is None
    assert "same “unknown” score" in bar.note.text() and bar.check.isChecked()
    spread = tuple(np.linspace(-2.0, 3.0, 101))  # a model that tells images apart
    bar.set_model(True, 2.0, spread, 2.0, "")
    assert bar.slider.isVisible() and abs(bar.share() - 0.8) < 1e-6 and not bar.note.text()


def test_an_export_made_with_say_unknown_off_says_so_and_cannot_be_switched_on(qtbot, window,
                                                                               tmp_path):
    """Its note said "the threshold is fixed (it keeps 95.0% …); here it can only be
    switched off" of a box already off, and ticking it changed nothing (a review)."""
    from types import SimpleNamespace

    page = window.pages[PREDICT]
    window.show_page(PREDICT)
    off = SimpleNamespace(has_unknown_score=True, unknown_threshold=None, trust=None,
                          unknown_keep=0.95, unknown_note="")
    page.unknown.show_model(off, str(tmp_path / "export"))
    bar = page.unknown_bar
    assert bar.note.text() == ("This export was made with “Say unknown” switched off on its "
                               "run, so it never answers “unknown”: switch it on for the run "
                               "and export again.")
    assert not bar.check.isChecked() and not bar.check.isEnabled()
    on = SimpleNamespace(**{**vars(off), "unknown_threshold": 2.5})
    page.unknown.show_model(on, str(tmp_path / "export"))
    assert "can only be switched off" in bar.note.text()
    assert bar.check.isChecked() and bar.check.isEnabled()
