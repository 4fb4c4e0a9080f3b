"""Predict page, a review (pred27): model files dropped among images, the results table
(sorting, copying, its columns), the cards' class names, the "unknown" bar of an export and
the room the results get at the window's smallest size."""

import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

PREDICT_INDEX = 5


def _drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    return event


def test_a_weights_or_model_file_dropped_on_predict_is_refused_as_a_model_not_an_image(
        qtbot, window, trained_run, tiny_weights, tmp_path):
    """A .weights.h5 (or a Keras 2 model.h5, a run's best.weights.npz, a .pb) dropped on the
    Predict page became an image row whose reason said "remove it or convert it"."""
    from core.infer.loaders import ModelFileError, load_predictor

    weights = tmp_path / "start.weights.h5"
    shutil.copy(tiny_weights, weights)
    legacy = tmp_path / "model.h5"
    legacy.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    image = str(Path(trained_run).parent / "data" / "bright" / "bright_0.png")
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        assert _drop(window, [weights, image]).isAccepted()
    assert [r["path"] for r in page.table_rows()] == [image]  # no row for the weights
    said = page.banner.text()
    assert f"{weights}: not a model this app can open" in said
    assert "weights only" in said and "Model page" in said and "--weights" in said
    assert "remove it" not in said

    _drop(window, [legacy])  # alone: nothing to predict, refused at once
    assert not window.runner.is_busy()
    assert f"{legacy}: not a model this app can open" in page.banner.text()
    assert "weights only" not in page.banner.text()
    assert len(page.table_rows()) == 1
    # the command line says the same of it as MODEL
    try:
        load_predictor(weights)
    except ModelFileError as e:
        assert "weights only" in str(e) and "train --weights" in str(e)
    else:
        raise AssertionError("a weights file opened as a model")
    # images chosen with Add images… are read as they are (their row says why not)
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([str(legacy)])
    assert {r["path"] for r in page.table_rows()} == {image, str(legacy)}
