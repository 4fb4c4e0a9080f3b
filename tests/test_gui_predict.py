"""Predict page: real model, real images, a real drop on the window, Grad-CAM, CSV."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from gui.pages.predict.cards import PredictionModel

PREDICT_INDEX = 5


def _image_pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, :w * 3].reshape(h, w, 3).copy()


def test_predict_drop_gradcam_and_csv(qtbot, window, trained_run, tmp_path):
    from core.infer.loaders import load_predictor

    data = Path(trained_run).parent / "data"
    valid = str(data / "bright" / "bright_0.png")
    dark = str(data / "dark" / "dark_3.png")
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    assert page.key == "predict"
    assert str(trained_run) in page.model_label.text()
    assert page.stack.currentIndex() == 0  # the drop zone until there are results

    # 1. through the page's API: one good image, one corrupt file
    with qtbot.waitSignal(page.predictions_ready, timeout=120000) as sig:
        assert page.add_paths([valid, str(corrupt)])
    assert sig.args == [2]
    expected = {p.path: p for p in load_predictor(trained_run).predict_paths(
        [valid, str(corrupt)], top_k=3)}
    rows = {r["path"]: r for r in page.table_rows()}
    assert set(rows) == {valid, str(corrupt)}
    assert rows[valid]["label"] == expected[valid].label
    assert rows[valid]["confidence"] == pytest.approx(expected[valid].confidence, abs=1e-5)
    assert rows[valid]["label"] in rows[valid]["top"]
    assert rows[str(corrupt)]["label"] == "" and rows[str(corrupt)]["error"]
    assert rows[str(corrupt)]["error"] == expected[str(corrupt)].error
    # the unreadable file is listed with its reason, and the summary says so
    assert page.problem_tree.topLevelItemCount() == 1
    assert page.problem_tree.topLevelItem(0).text(0) == str(corrupt)
    assert page.tabs.tabText(2) == "Could not read (1)"
    assert "1 could not be read" in page.summary_label.text()
    assert page.stack.currentIndex() == 1
    # a card per file: a thumbnail for the good one, top-k probabilities summing to ~1
    cards = page.cards
    assert cards.rowCount() == 2
    good = cards.index(cards.paths().index(valid))
    thumb = cards.data(good, PredictionModel.ThumbnailRole)
    assert isinstance(thumb, QImage) and not thumb.isNull()
    assert sum(p for _, p in cards.data(good, PredictionModel.PredictionRole).top) == \
        pytest.approx(1.0, abs=1e-4)

    # 2. a real drop on the window (not on the page) goes to prediction, not the Data page
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(dark)])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        window.dropEvent(event)
    assert event.isAccepted()
    assert window.current_page() is page
    assert window.state.config.data.data_dir == ""  # the Data page was not touched
    rows = {r["path"]: r for r in page.table_rows()}
    assert len(rows) == 3
    dark_expected = load_predictor(trained_run).predict_paths([dark])[0]
    assert rows[dark]["label"] == dark_expected.label
    assert rows[dark]["confidence"] == pytest.approx(dark_expected.confidence, abs=1e-5)

    # 3. Grad-CAM: computed in a job, then the cards show the overlay, not the photo
    with qtbot.waitSignal(page.overlays_ready, timeout=120000) as sig:
        page.gradcam_check.setChecked(True)
    assert sig.args == [2]  # the two readable images
    overlay = cards.data(good, PredictionModel.OverlayRole)
    assert isinstance(overlay, QImage) and overlay.size() == thumb.size()
    assert cards.data(good, PredictionModel.ImageRole) is overlay
    diff = np.abs(_image_pixels(overlay).astype(int) - _image_pixels(thumb).astype(int))
    assert diff.mean() > 5  # colour really was laid over the picture
    # the colours are explained, and the plain picture is one click away (issue 15.11)
    assert page.gradcam_bar.legend.isVisible() and page.gradcam_bar.plain_button.isVisible()
    # the run is MobileNetV3Small at 32 px: its maps are 1x1, and the page says what that means
    assert page.gradcam_bar.note.isVisible() and "1×1" in page.gradcam_bar.note.text()
    page.gradcam_bar.plain_button.click()
    assert cards.data(good, PredictionModel.ImageRole) is thumb
    page.gradcam_bar.plain_button.click()
    assert cards.data(good, PredictionModel.ImageRole) is overlay
    page.gradcam_check.setChecked(False)
    assert cards.data(good, PredictionModel.ImageRole) is thumb
    assert not page.gradcam_bar.legend.isVisible() and not page.gradcam_bar.note.isVisible()
    page.card_view.grab()  # the delegate paints every kind of card without error

    # 4. CSV with the CLI's columns
    page.topk_spin.setValue(2)
    out = tmp_path / "out" / "predictions.csv"
    out.parent.mkdir()
    assert page.export_csv(str(out))
    assert out.read_bytes().startswith(b"\xef\xbb\xbfpath,")  # Excel reads it as UTF-8
    with open(out, newline="", encoding="utf-8-sig") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["path", "label", "confidence", "top1_label", "top1_confidence",
                        "top2_label", "top2_confidence", "unknown_score", "error"]
    by_path = {r[0]: r for r in table[1:]}
    assert set(by_path) == {valid, str(corrupt), dark}
    assert by_path[valid][1] == expected[valid].label
    assert float(by_path[valid][2]) == pytest.approx(expected[valid].confidence, abs=1e-5)
    assert by_path[str(corrupt)][-1] == expected[str(corrupt)].error

    # adding the same image again predicts nothing new
    with qtbot.waitSignal(page.predictions_ready, timeout=60000) as sig:
        page.add_paths([valid])
    assert sig.args == [0] and cards.rowCount() == 3


def test_predict_without_a_model_says_what_to_do(qtbot, window, tmp_path):
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    assert "No model yet" in page.model_label.text()
    assert "open a past run on the Runs page" in page.model_label.text()  # after a restart
    assert not page.add_paths([str(tmp_path)])
    assert page.banner.isVisible() and "train one" in page.banner.text()
    assert not window.runner.is_busy()


def test_a_tflite_model_turns_gradcam_off_and_says_why(qtbot, window, trained_run, tmp_path):
    """Issue 15.11: opening a TFLite model unticked Grad-CAM without a word; now the switch is
    disabled with the reason beside it and in its tooltip, and comes back with a Keras model."""
    import tensorflow as tf

    from core.infer.loaders import load_predictor

    model = load_predictor(str(trained_run)).model
    tflite = tmp_path / "model.tflite"
    tflite.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    page.gradcam_check.setChecked(True)
    with qtbot.waitSignal(page.model_loaded, timeout=120000):
        assert page.open_model(str(tflite))
    assert not page.gradcam_check.isChecked() and not page.gradcam_check.isEnabled()
    note = page.gradcam_bar.note
    assert note.isVisible() and "TensorFlow Lite" in note.text() and "gradients" in note.text()
    assert note.text() == page.gradcam_check.toolTip()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([str(Path(trained_run).parent / "data" / "bright" / "bright_0.png")])
    assert note.isVisible()  # still said after predicting (a banner would be gone by now)

    page.use_current_model()  # back to the run's Keras model: Grad-CAM is on again
    assert page.gradcam_check.isEnabled() and page.gradcam_check.isChecked()
    assert not note.isVisible()
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=120000)


def _drop(window, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    return event


def test_images_dropped_on_another_page_go_to_predict(qtbot, window, trained_run, tmp_path):
    """Issue 15.11: image files (or a folder of images without class folders) dropped while
    another page shows were refused silently; they now open the Predict page and are
    classified.  A folder with class sub-folders still opens on the Data page."""
    import shutil

    data = Path(trained_run).parent / "data"
    window.state.set_run(str(trained_run))
    predict = window.pages[PREDICT_INDEX]
    window.show_page(0)
    with qtbot.waitSignal(predict.predictions_ready, timeout=120000) as sig:
        assert _drop(window, [data / "bright" / "bright_0.png"]).isAccepted()
    assert window.current_page() is predict and sig.args == [1]

    loose = tmp_path / "new photos"
    loose.mkdir()
    for name in ("dark_1.png", "dark_2.png"):
        shutil.copy(data / "dark" / name, loose / name)
    window.show_page(3)
    with qtbot.waitSignal(predict.predictions_ready, timeout=120000) as sig:
        assert _drop(window, [loose]).isAccepted()
    assert window.current_page() is predict and sig.args == [2]
    assert window.state.config.data.data_dir == ""  # not taken for an image folder

    window.show_page(4)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        _drop(window, [data])  # bright/ and dark/: a dataset
    assert window.current_page() is window.data_page


def test_images_dropped_after_the_model_changed_join_its_new_answers(
        qtbot, window, trained_run, tmp_path):
    """A review: with answers shown, another run became the current model while another page
    showed; an image dropped then was refused ("Please wait: “Predicting” is still running")
    and lost, since showing the page had started asking the old images again.  The dropped
    image is now asked together with them, by the new model."""
    import shutil

    from core.infer.loaders import load_predictor

    other = tmp_path / "other"
    shutil.copytree(trained_run, other)
    data = Path(trained_run).parent / "data"
    old, new = str(data / "bright" / "bright_0.png"), str(data / "dark" / "dark_3.png")
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    predict = window.current_page()
    with qtbot.waitSignal(predict.predictions_ready, timeout=120000):
        predict.add_paths([old])
    window.show_page(0)
    window.state.set_run(str(other))  # e.g. opened on the Runs page
    with qtbot.waitSignal(predict.predictions_ready, timeout=120000) as sig:
        assert _drop(window, [new]).isAccepted()
    assert window.current_page() is predict and sig.args == [2]
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)
    assert not predict.banner.isVisible() or "Please wait" not in predict.banner.text()
    rows = {r["path"]: r["confidence"] for r in predict.table_rows()}
    expected = {p.path: p.confidence for p in load_predictor(other).predict_paths([old, new])}
    assert rows == pytest.approx(expected, abs=1e-5)


def test_a_new_project_starts_predict_without_the_last_projects_answers(
        qtbot, window, trained_run, tmp_path):
    """A review: after File → New project the Predict page said "No model yet" twice and
    still listed the last project's answers, and Export CSV wrote them."""
    image = str(Path(trained_run).parent / "data" / "bright" / "bright_0.png")
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    predict = window.current_page()
    with qtbot.waitSignal(predict.predictions_ready, timeout=120000):
        predict.add_paths([image])
    assert predict.table_rows() and predict.csv_button.isEnabled()
    window.state.mark_saved()
    assert window.new_project()
    window.show_page(PREDICT_INDEX)
    assert predict.table_rows() == [] and predict.summary_label.text() == ""
    assert not predict.csv_button.isEnabled()
    assert not predict.export_csv(str(tmp_path / "p.csv"))
    assert not (tmp_path / "p.csv").exists() and not window.runner.is_busy()
    # The page works as before in the new project: answers come with its model.
    window.state.set_run(str(trained_run))
    with qtbot.waitSignal(predict.predictions_ready, timeout=120000) as sig:
        predict.add_paths([image])
    assert sig.args == [1] and [r["path"] for r in predict.table_rows()] == [image]


def test_a_folder_without_images_is_not_called_already_listed(tmp_path):
    """With images in the list, adding an empty folder said "Those images are already in
    the list."; it is a folder without images, whatever the list holds."""
    from core.errors import UserError
    from gui.pages.predict.jobs import new_image_paths

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("x")
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    known = [str(tmp_path / "a.png")]
    for listed in ([], known):
        with pytest.raises(UserError, match="no images found in"):
            new_image_paths([str(tmp_path / "docs")], listed)
    assert new_image_paths([str(tmp_path / "a.png")], known) == []  # truly already listed
    assert new_image_paths([str(tmp_path)], []) == known


def test_answers_follow_a_new_current_model_and_a_csv_that_cannot_be_written_is_said(
        qtbot, window, trained_run, tmp_path):
    """The cards kept the old model's answers under the new model's name (and new images got
    the new model's: two models in one table); a CSV to a place that takes no file raised
    an uncaught error instead of a message."""
    import json
    import shutil

    from core.infer.loaders import load_predictor
    from core.runs.folder import RunFolder

    other = tmp_path / "other"
    shutil.copytree(trained_run, other)
    cal = RunFolder(other).calibration_path
    assert cal.is_file()
    record = json.loads(cal.read_text())
    record["temperature"] *= 4  # the same classes, other confidences
    cal.write_text(json.dumps(record))
    data = Path(trained_run).parent / "data"
    images = [str(data / "bright" / "bright_0.png"), str(data / "dark" / "dark_3.png")]
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths(images)
    before = {r["path"]: r["confidence"] for r in page.table_rows()}
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        window.state.set_run(str(other))
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)
    after = {r["path"]: r["confidence"] for r in page.table_rows()}
    expected = {p.path: p.confidence for p in load_predictor(other).predict_paths(images)}
    assert after == pytest.approx(expected, abs=1e-5) and after != pytest.approx(before)

    # The model changing while a prediction runs: its answers are asked again when it ends.
    page.clear_results()
    page.add_paths(images)
    window.state.set_run(str(trained_run))  # at once, while the job runs
    expected = {p.path: p.confidence for p in load_predictor(trained_run).predict_paths(images)}
    qtbot.waitUntil(lambda: not window.runner.is_busy() and {
        r["path"]: r["confidence"] for r in page.table_rows()} == pytest.approx(
            expected, abs=1e-5), timeout=120000)

    (tmp_path / "blk").write_text("a file where a folder should be")
    assert not page.export_csv(str(tmp_path / "blk" / "p.csv"))
    assert page.banner.isVisible() and "blk is a file" in page.banner.text()


def test_export_csv_names_like_the_command_and_non_utf8_names(tmp_path):
    """The page's CSV is checked as ``predict --csv`` is: an image or a run's own file is
    never replaced (a typed model.keras was overwritten), and a file name that is not UTF-8
    is written by its bytes (it raised and no file was written)."""
    import os

    from core.infer.predictor import Prediction
    from gui.pages.predict.jobs import save_csv

    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.png")
    rows = [Prediction(odd, "bright", 0.9, [("bright", 0.9), ("dark", 0.1)])]
    out = tmp_path / "p.csv"
    assert save_csv(str(out), rows, 2) == ""
    assert out.read_bytes().splitlines()[1].startswith(os.fsencode(str(tmp_path)) + b"/caf\xe9")
    victim = tmp_path / "photo.png"
    victim.write_bytes(b"\x89PNG original")
    why = save_csv(str(victim), rows, 2)
    assert "photo.png" in why and ".csv" in why and victim.read_bytes() == b"\x89PNG original"
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "labels.json"):
        (run / name).write_text("{}")
    (run / "history.csv").write_text("epoch,loss\n")
    why = save_csv(str(run / "history.csv"), rows, 2)
    assert "own files" in why and (run / "history.csv").read_text() == "epoch,loss\n"


def test_the_label_column_follows_the_threshold_also_for_a_name_that_is_not_utf8(qtbot):
    """Rows were matched by the shown name, which Qt strips of non-UTF-8 bytes."""
    from core.infer.predictor import Prediction
    from gui.pages.predict.cards import CardRow
    from gui.pages.predict.results import ResultsView

    view = ResultsView()
    qtbot.addWidget(view)
    good = Prediction("/d/good.jpg", "cat", 0.9, [("cat", 0.9)], unknown_score=5.0)
    odd = Prediction("/d/bad\udcffname.jpg", "cat", 0.9, [("cat", 0.9)], unknown_score=5.0)
    view.cards.add_rows([CardRow(good), CardRow(odd)])
    view.fill_table(3)
    good.unknown = odd.unknown = True  # the slider moved below their score
    view.update_labels()
    assert [view.table.item(i, 1).text() for i in range(2)] == ["unknown", "unknown"]


def test_card_pictures_are_kept_small_and_decoded_when_shown(qtbot):
    """Each card kept a 37 KB QImage (two with Grad-CAM): 3.7 GB for a folder of 100 000
    images.  Now a JPEG of a few KB, decoded when painted, the same QImage while cached."""
    from core.infer.predictor import Prediction
    from gui.pages.predict.cards import CardRow, PredictionModel
    from gui.pages.predict.packed import CACHE, pack

    yy, xx = np.mgrid[0:112, 0:112]
    picture = np.stack([xx * 2, yy * 2, (xx + yy)], -1).astype(np.uint8)  # a smooth photo
    packed = pack(picture)
    assert len(packed.data) < 37632 / 4  # the RGB QImage's pixels: 112 * 112 * 3 bytes
    model = PredictionModel()
    rows = [CardRow(Prediction(f"/d/{i}.jpg", "cat", 0.9, [("cat", 0.9)]), pack(picture))
            for i in range(CACHE + 5)]
    model.add_rows(rows)
    first = model.data(model.index(0), PredictionModel.ImageRole)
    assert isinstance(first, QImage) and first.size().width() == 112
    assert model.data(model.index(0), PredictionModel.ImageRole) is first  # decoded once
    assert np.abs(_image_pixels(first).astype(int) - picture).mean() < 3
    for i in range(1, CACHE + 5):  # scrolling past more cards than the cache holds
        model.data(model.index(i), PredictionModel.ImageRole)
    again = model.data(model.index(0), PredictionModel.ImageRole)
    assert again is not first and _image_pixels(again).shape == (112, 112, 3)


def test_a_shown_image_deleted_since_does_not_keep_the_old_models_answers(
        qtbot, window, trained_run, tmp_path):
    """Asked again with another model, one deleted file failed the whole job: the cards kept
    the old model's answers under the new model's name, and every later drop failed too."""
    import shutil

    from core.infer.loaders import load_predictor

    other = tmp_path / "other"
    shutil.copytree(trained_run, other)
    data = Path(trained_run).parent / "data"
    images = []
    for name in ("bright/bright_0.png", "dark/dark_3.png", "dark/dark_4.png"):
        images.append(str(tmp_path / name.replace("/", "_")))
        shutil.copy(data / name, images[-1])
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths(images)
    Path(images[2]).unlink()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        window.state.set_run(str(other))
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)
    rows = {r["path"]: r for r in page.table_rows()}
    expected = {p.path: p.confidence for p in load_predictor(other).predict_paths(images[:2])}
    assert {p: rows[p]["confidence"] for p in images[:2]} == pytest.approx(expected, abs=1e-5)
    assert rows[images[2]]["error"] == "file not found (was it moved or deleted?)"
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):  # later drops still work
        page.add_paths([str(data / "bright" / "bright_1.png")])


def test_a_model_dropped_with_images_answers_for_them(qtbot, window, trained_run, tmp_path):
    """A model file dropped together with images was shown as an unreadable image card."""
    from gui.window_drops import drop_plan

    image = str(Path(trained_run).parent / "data" / "bright" / "bright_0.png")
    where, paths = drop_plan([image, str(trained_run)], page_takes_files=True)
    assert where == "model"
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.open_model(paths[0], paths[1:])
    assert [r["path"] for r in page.table_rows()] == [image]
    assert page.table_rows()[0]["label"] in ("bright", "dark", "unknown")


def test_stop_while_pictures_are_made_keeps_the_answers(trained_run):
    """Stopped during Grad-CAM (after every answer was in), the job raised and the page
    showed no row at all."""
    from core.events import CancelToken, Log, Progress
    from gui.pages.predict.jobs import predict_job

    data = Path(trained_run).parent / "data"
    images = [str(p) for p in sorted((data / "bright").glob("*.png"))[:3]]
    token, heard = CancelToken(), []

    def listener(event):
        heard.append(event)
        if isinstance(event, Progress) and event.message == "Making thumbnails" \
                and event.done == len(images):
            token.cancel()  # Stop, as the Grad-CAM overlays begin

    outcome = predict_job(str(trained_run), None, images, [], True, listener=listener,
                          cancel=token)
    assert [r.path for r in outcome.rows] == images and not any(r.error for r in outcome.rows)
    assert len(outcome.thumbnails) == 3 and outcome.overlays == {}
    assert any(isinstance(e, Log) and "the answers are kept" in e.message for e in heard)


def test_card_text_is_light_on_the_dark_card_in_either_theme(qtbot):
    """Under the light theme the cards' text was the palette's black on the dark card."""
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QListView

    from core.infer.predictor import Prediction
    from gui.pages.predict.cards import CardRow, PredictionDelegate, PredictionModel

    view = QListView()
    qtbot.addWidget(view)
    light = view.palette()
    light.setColor(QPalette.Text, QColor("#000000"))
    light.setColor(QPalette.Base, QColor("#ffffff"))
    view.setPalette(light)
    model = PredictionModel()
    model.add_rows([CardRow(Prediction("/d/a.jpg", "cat", 0.9, [("cat", 0.9)]), None)])
    view.setModel(model)
    view.setItemDelegate(PredictionDelegate(view))
    view.resize(400, 200)
    view.show()
    rect = view.visualRect(model.index(0))
    pixels = _image_pixels(view.viewport().grab(rect).toImage())
    darkest = pixels.reshape(-1, 3).sum(axis=1).min()
    assert darkest > 3 * 20  # the card is dark grey; black text would be darker still


def test_new_images_add_rows_to_the_table_without_rebuilding_it(qtbot, window, trained_run):
    """Every drop rebuilt the whole table on the UI thread (0.8 s at 20,000 rows)."""
    data = Path(trained_run).parent / "data"
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([str(data / "bright" / "bright_0.png")])
    first = page.stack.table.item(0, 0)
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([str(data / "dark" / "dark_0.png")])
    assert page.stack.table.item(0, 0) is first  # kept, not written again
    assert [r["path"] for r in page.table_rows()] == [str(data / "bright" / "bright_0.png"),
                                                       str(data / "dark" / "dark_0.png")]
    page.topk_spin.setValue(1)  # another number of classes: every row is written again
    assert page.stack.table.item(0, 0) is not first


def test_the_model_line_cuts_each_long_class_name():
    """One 88-character class name made the model line, and so the page, wider than a
    900 px window: Open model… and Export CSV… went off-screen (a scale review)."""
    from types import SimpleNamespace

    from gui.pages.predict.results import NAME_CHARS, model_text

    long = "a_very_long_class_name_" * 4
    p = SimpleNamespace(kind="keras", classes=[long, "cat"], image_size=32)
    text = model_text("/m.keras", None, "", p, "/m.keras")
    assert long not in text and long[:NAME_CHARS - 1] + "…, cat" in text


def test_the_model_line_warns_of_a_file_that_failed_its_parity_check():
    """An export file its metadata.json does not trust opened with no word on the page."""
    from types import SimpleNamespace

    from gui.pages.predict.results import model_text

    note = "model_int8.tflite failed its parity check when it was exported: <sic>"
    p = SimpleNamespace(kind="tflite", classes=["a", "b"], image_size=32, caution=note)
    text = model_text("/e/model_int8.tflite", "/e/model_int8.tflite", "", p,
                      "/e/model_int8.tflite")
    assert "failed its parity check" in text and "&lt;sic&gt;" in text
    p.caution = ""
    assert "parity" not in model_text("/e/m.tflite", None, "", p, "/e/m.tflite")


def test_card_pictures_use_every_device_pixel_of_a_high_dpi_screen(qtbot, window, trained_run,
                                                                   tmp_path, monkeypatch):
    """At 200 % the 112-pixel card picture was stretched to 224 device pixels and soft."""
    from PIL import Image

    from gui.pages.predict import cards as cards_module

    monkeypatch.setattr(cards_module, "screen_ratio", lambda: 2.0)
    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (600, 600, 3), np.uint8)).save(big)
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        assert page.add_paths([str(big)])
    image = page.cards.data(page.cards.index(0), cards_module.PredictionModel.ImageRole)
    assert (image.width(), image.height()) == (224, 224)


def test_a_card_shows_a_file_name_with_a_line_break_on_one_line(qtbot):
    """A file name holding a newline overlapped itself in the card's one-line caption (a
    report review): it is painted as the CLI prints it, with "\\n"."""
    from PySide6.QtGui import QImage, QPainter, QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QStyleOptionViewItem

    from gui.pages.predict.cards import PredictionDelegate

    def painted(name: str) -> QImage:
        model = QStandardItemModel()
        model.appendRow(QStandardItem(name))
        image = QImage(420, 120, QImage.Format_RGB32)
        image.fill(0)
        option = QStyleOptionViewItem()
        option.rect = image.rect()
        painter = QPainter(image)
        PredictionDelegate().paint(painter, option, model.index(0, 0))
        painter.end()
        return image

    assert painted("odd\nname.png") == painted("odd\\nname.png")
    assert painted("odd\nname.png") != painted("oddname.png")


def test_a_card_gives_class_names_their_width_and_names_the_grad_cam_class(qtbot):
    """"mono_100" was cut to "mono_1…" on every card (a 90 px column), and a Grad-CAM card,
    an "unknown" one above all, never said which class its heat map was drawn for (a
    Predict review)."""
    from PySide6.QtGui import QFont, QFontMetrics

    from core.infer.predictor import Prediction
    from gui.pages.predict.cards import CARD_WIDTH, IMAGE_SIDE, CardRow, label_width
    from gui.pages.predict.packed import pack

    fm = QFontMetrics(QFont())
    room = CARD_WIDTH - IMAGE_SIDE - 40
    names = ["mono_100", "crack_100", "poly_33"]
    assert label_width(fm, names, room) >= max(fm.horizontalAdvance(n) for n in names)
    assert label_width(fm, ["a" * 80], room) <= room - 40  # a bar is left

    model = PredictionModel()
    p = Prediction("/d/a.jpg", "cat", 0.6, [("cat", 0.6), ("dog", 0.4)], unknown=True,
                   unknown_score=3.0)
    picture = pack(np.zeros((8, 8, 3), np.uint8))
    model.add_rows([CardRow(p, picture, picture)])
    shown = model.index(0)
    assert not model.data(shown, PredictionModel.OverlayShownRole)
    model.set_show_overlay(True)
    assert model.data(shown, PredictionModel.OverlayShownRole)


def test_grad_cam_ticked_while_predicting_comes_when_the_job_ends_and_a_stop_unticks_it(
        qtbot, window, trained_run):
    """Ticked while 200 images were predicted, Grad-CAM stayed ticked over plain pictures;
    stopped, it stayed ticked with no word; after Clear the "unknown" count stayed
    (a Predict review)."""
    data = Path(trained_run).parent / "data"
    paths = [str(p) for p in sorted((data / "bright").glob("*.png"))[:4]]
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    page.gradcam_check.setChecked(False)
    with qtbot.waitSignal(page.overlays_ready, timeout=120000):
        assert page.add_paths(paths)
        page.gradcam_check.setChecked(True)  # while the job runs
        assert page.stack.drop_zone.text().startswith("Working…")  # not "Drop images here"
    assert not page.cards.missing_overlays()
    assert "Grad-CAM" not in page.banner.text()  # "computed when the job ends": done
    assert page.stack.drop_zone.text().startswith("Drop images")

    page.gradcam_bar.switch_off()
    page.cards.set_overlays(dict.fromkeys(paths))
    assert len(page.cards.missing_overlays()) == 4
    with qtbot.waitSignal(page.runner.busy_changed, timeout=60000):
        page.gradcam_check.setChecked(True)
    with qtbot.waitSignal(page.runner.busy_changed, timeout=60000):
        page.runner.current.cancel()
    assert not page.gradcam_check.isChecked()
    assert "tick Grad-CAM again" in page.banner.text()

    page.unknown_bar.set_count(7, 200)  # as a calibrated run's answers would leave it
    page.clear_results()
    assert page.unknown_bar.count_label.text() == ""


def test_classes_shown_goes_up_to_the_models_classes(qtbot, window, trained_run):
    """(a review) "Classes shown" could be set to 10 with a model of 3 classes, reading 10
    while 3 were shown; the number asked for comes back with another model."""
    data = Path(trained_run).parent / "data"
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    page.topk_spin.setValue(5)
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([str(data / "bright" / "bright_0.png")])
    assert page.predictor is not None and len(page.predictor.classes) == 2
    assert (page.topk_spin.maximum(), page.topk_spin.value()) == (2, 2)
    assert "Top 2 classes" in page.stack.table.horizontalHeaderItem(4).text()
    page._set_predictor(None, None)  # no model (another is being loaded): the choice is back
    assert (page.topk_spin.maximum(), page.topk_spin.value()) == (10, 5)


def test_a_long_class_name_on_a_card_keeps_its_confidence_and_is_whole_in_the_tooltip(qtbot):
    """A long class name cut the card's bold answer line at its right end, confidence and
    all (a review): the name is cut in its middle, the confidence stays, the tooltip has it."""
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QListView, QStyleOptionViewItem

    from core.infer.predictor import Prediction
    from gui.pages.predict.cards import CardRow, PredictionDelegate, PredictionModel

    long = "a_really_long_class_name_for_hairline_cracks_near_the_busbar"
    model = PredictionModel()
    model.add_rows([CardRow(Prediction("/d/a.jpg", long, 0.93, [(long, 0.93)]), None)])
    view = QListView()
    qtbot.addWidget(view)

    class Recorder(QPainter):
        said: list = []

        def drawText(self, *args):
            self.said.append(args[-1])
            super().drawText(*args)

    image = QImage(320, 160, QImage.Format_ARGB32)
    painter = Recorder(image)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = image.rect()
    PredictionDelegate().paint(painter, option, model.index(0))
    painter.end()
    answer = next(t for t in Recorder.said if "93.0%" in t or "a_re" in t)
    assert answer.endswith("93.0%") and "…" in answer and "busbar" in answer
    assert long in model.data(model.index(0), Qt.ToolTipRole)


def test_an_image_changed_on_disk_since_it_was_predicted_is_predicted_again(
        qtbot, window, trained_run, tmp_path):
    """A review: an image in the list that was edited (or replaced by another file of the same
    name) and added again said "Those images are already in the list." and kept its old
    answer.  It is asked again and its row, card and table line replaced; an unchanged one
    is still left alone."""
    import shutil

    from core.infer.loaders import load_predictor

    data = Path(trained_run).parent / "data"
    image, other = str(tmp_path / "shot.png"), str(tmp_path / "other.png")
    shutil.copy(data / "bright" / "bright_0.png", image)
    shutil.copy(data / "dark" / "dark_0.png", other)
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    with qtbot.waitSignal(page.predictions_ready, timeout=120000):
        page.add_paths([image, other])
    before = {r["path"]: r["confidence"] for r in page.table_rows()}
    shutil.copy(data / "dark" / "dark_3.png", image)  # the same name, another picture
    os.utime(image, ns=(1, 1))  # a different stamp even where copies keep the same size
    with qtbot.waitSignal(page.predictions_ready, timeout=120000) as sig:
        page.add_paths([image, other])
    assert sig.args == [1]  # only the changed one was asked again
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=60000)
    assert not page.banner.isVisible() or "already in the list" not in page.banner.text()
    rows = {r["path"]: r["confidence"] for r in page.table_rows()}
    expected = load_predictor(trained_run).predict_paths([image])[0].confidence
    assert list(rows) == [image, other] and len(page.cards.paths()) == 2
    assert rows[image] == pytest.approx(expected, abs=1e-5)
    assert rows[other] == before[other]
    with qtbot.waitSignal(page.predictions_ready, timeout=120000) as sig:
        page.add_paths([image])  # unchanged since: truly already in the list
    assert sig.args == [0]


def test_a_card_in_a_big_font_still_has_room_for_class_names(qtbot, monkeypatch):
    """A UI review: at 14 pt the card stayed 320 px wide, so beside "100.0%" and the bar a
    class name had 50 px ("B…)"), and its 22 px line was drawn in a 16 px row."""
    from PySide6.QtGui import QFont, QFontMetrics, QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionViewItem

    from core.infer.predictor import Prediction
    from gui.pages.predict import cards

    given = []
    real = cards.card_names
    monkeypatch.setattr(cards, "card_names",
                        lambda fm, labels, width: given.append(width) or real(fm, labels, width))
    model = cards.PredictionModel()
    top = [("Background", 0.5), ("Healthy tissue", 0.3), ("short", 0.2)]
    model.add_rows([cards.CardRow(Prediction("/d/a.jpg", "Background", 0.5, top))])
    for points in (9, 14):
        font = QFont()
        font.setPointSizeF(points)
        fm = QFontMetrics(font)
        option = QStyleOptionViewItem()
        option.font = font
        delegate = cards.PredictionDelegate()
        size = delegate.sizeHint(option, model.index(0))
        assert size.height() >= 2 * cards.PAD + 2 * fm.height() + 3 * fm.height()  # 3 bars
        image = QImage(size, QImage.Format_RGB32)
        option.rect = image.rect()
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(0))
        painter.end()
        assert given[-1] >= fm.horizontalAdvance("Background"), (points, given[-1])
    assert size.width() > cards.CARD_WIDTH  # 14 pt: wider than the 9 pt card
