"""Camera in the window, without a camera: a video file through the same frame pipeline."""

from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt

from test_capture import write_video

PREDICT_INDEX = 5


def _camera_jobs():
    from gui.jobs import live_jobs

    return [j for j in live_jobs() if j.name == "Camera"]


def _data_folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    for name in ("bright", "dark"):
        (data / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (200, 200, 200) if name == "bright" else (20, 20, 20)) \
            .save(data / name / f"{name}_0.png")
    return data


def _open_capture(qtbot, window, data: Path):
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=20000):
        page.open_folder(str(data))
    dialog = page.open_capture()
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.picker.busy(), timeout=10000)
    return page, dialog


def test_capture_a_burst_from_a_video_then_undo_it(qtbot, window, tmp_path):
    data = _data_folder(tmp_path)
    page, dialog = _open_capture(qtbot, window, data)
    if not dialog.picker.cameras:  # this machine has none: said so, nothing captured
        assert "No camera found" in dialog.status_label.text()
        assert not dialog.capture_button.isEnabled()
    # 50 different frames: the dialog saves a picture once, and a 12-frame loop shown at 15 fps
    # and taken at 5 fps offers only 4 (the burst into "red" then found nothing new to save)
    dialog.play_file(str(write_video(tmp_path / "clip.avi", frames=50, size=(160, 120))))
    qtbot.waitUntil(lambda: dialog.capture_button.isEnabled(), timeout=10000)
    assert dialog.image.pixmap() is not None and not dialog.image.pixmap().isNull()
    assert dialog.class_combo.currentText() == "bright"
    dialog.size_spin.setValue(64)
    # hold the button: pictures arrive five a second until it is let go
    qtbot.mousePress(dialog.capture_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.count("bright") >= 3, timeout=10000)
    qtbot.mouseRelease(dialog.capture_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not dialog.saver.busy(), timeout=5000)
    first = dialog.count("bright")
    files = sorted((data / "bright").glob("bright-*.jpg"))
    assert len(files) == first and (data / "bright" / "bright_0.png").exists()
    for f in files:
        with Image.open(f) as im:
            assert im.format == "JPEG" and im.size == (64, 48)
    # a new class, and Space held instead of the button
    assert dialog.add_class("red")
    qtbot.keyPress(dialog, Qt.Key_Space)
    qtbot.waitUntil(lambda: dialog.count("red") >= 2, timeout=10000)
    qtbot.keyRelease(dialog, Qt.Key_Space)
    qtbot.waitUntil(lambda: not dialog.saver.busy(), timeout=5000)
    reds = list((data / "red").glob("*.jpg"))
    assert len(reds) == dialog.count("red") and dialog.count("bright") == first
    assert dialog.count_table.rowCount() == 3  # bright, dark (in the folder) and red
    assert dialog.in_folder("bright") == 1 + first and dialog.in_folder("dark") == 1
    assert dialog.count_table.item(2, 2).text() == str(dialog.count("red"))
    # Undo last burst removes the red pictures only
    qtbot.mouseClick(dialog.undo_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.count("red") == 0, timeout=5000)
    assert not any(p.exists() for p in reds) and all(f.exists() for f in files)
    assert not (data / "red").exists()  # the class folder the burst made went with it
    assert "Removed" in dialog.status_label.text()
    # closing stops the camera and the Data page scans the folder again
    with qtbot.waitSignal(page.scan_finished, timeout=20000):
        dialog.reject()
    qtbot.waitUntil(lambda: not _camera_jobs(), timeout=5000)  # the worker let the file go
    assert page.report.counts["bright"] == 1 + first


def test_a_bad_video_file_is_named_and_nothing_is_captured(qtbot, window, tmp_path):
    data = _data_folder(tmp_path)
    page, dialog = _open_capture(qtbot, window, data)
    bad = tmp_path / "holiday.avi"
    bad.write_bytes(b"not a video" * 100)
    dialog.play_file(str(bad))
    qtbot.waitUntil(lambda: "holiday.avi" in dialog.status_label.text(), timeout=10000)
    assert "cannot be played as a video" in dialog.status_label.text()
    assert not dialog.capture_button.isEnabled() and not dialog.feed.is_running()
    dialog.reject()
    assert sorted(p.name for p in data.iterdir()) == ["bright", "dark"]


def test_capture_needs_a_folder_first(qtbot, window):
    assert window.data_page.open_capture() is None
    assert "Choose the image folder first" in window.data_page.banner.text()


def _bright_video(path: Path) -> Path:
    return write_video(path, frames=6, size=(64, 48), value=230)


def live_on_a_bright_video(qtbot, window, run, tmp_path):
    """The Predict page's live camera on, with ``run``'s model, playing a bright clip, once
    it has answered twice."""
    window.state.set_run(str(run))
    window.show_page(PREDICT_INDEX)
    live = window.current_page().live
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
    qtbot.waitUntil(lambda: not live.picker.busy(), timeout=10000)
    live.play_file(str(_bright_video(tmp_path / "bright.avi")))
    qtbot.waitUntil(lambda: live.predictions >= 2, timeout=60000)
    return live


def test_live_prediction_of_a_video_keeps_up_and_stops_with_the_page(qtbot, window,
                                                                    trained_run, tmp_path):
    import cv2
    from core.capture.frames import squash
    from core.infer.loaders import load_predictor

    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    live = page.live
    assert not live.isVisible()
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
    assert live.isVisible()
    qtbot.waitUntil(lambda: not live.picker.busy(), timeout=10000)
    if not live.picker.cameras:
        assert "No camera found" in live.status_label.text()
    live.play_file(str(_bright_video(tmp_path / "bright.avi")))
    qtbot.waitUntil(lambda: live.predictions >= 4, timeout=60000)
    assert live.image.pixmap() is not None and not live.image.pixmap().isNull()
    pred = live.prediction
    assert pred.shown_label in ("bright", "dark", "unknown")
    assert pred.shown_label in live.answer_label.text()
    # the same answer as the model gives that frame (every frame is the same light grey)
    cap = cv2.VideoCapture(str(tmp_path / "bright.avi"))
    frame = cv2.cvtColor(cap.read()[1], cv2.COLOR_BGR2RGB)
    cap.release()
    probs = load_predictor(trained_run).predict_arrays(squash(frame, 32)[None])[0]
    assert pred.label == load_predictor(trained_run).classes[int(probs.argmax())]
    assert page.predictor is not None  # loaded for the camera, used by the page too
    # another page: the camera stops and the button goes off
    window.show_page(0)
    qtbot.waitUntil(lambda: not _camera_jobs(), timeout=5000)
    assert not live.toggle.isChecked() and not live.isVisibleTo(page)


def _until_cancelled(listener=None, cancel=None):
    import time

    while True:
        cancel.raise_if_cancelled()
        time.sleep(0.02)


def test_live_answers_go_on_during_another_page_s_job_and_wait_for_the_page_s_own(
        qtbot, window, trained_run, tmp_path, monkeypatch):
    """Live answers stopped for any long job of the window (a data check, a training run),
    though only the Predict page's own jobs use its model."""
    live = live_on_a_bright_video(qtbot, window, trained_run, tmp_path)
    other = window.runner.start(_until_cancelled, name="Checking the data")
    before = live.predictions
    qtbot.waitUntil(lambda: live.predictions >= before + 3, timeout=30000)
    assert "wait" not in live.status_label.text()
    with qtbot.waitSignal(other.done, timeout=10000):
        other.cancel()
    # one of the page's own jobs (a stand-in counted as one): the answers wait for it
    import gui.pages.predict.live as live_module

    monkeypatch.setattr(live_module, "MODEL_JOBS", live_module.MODEL_JOBS + (_until_cancelled,))
    own = window.runner.start(_until_cancelled, name="Computing Grad-CAM")
    qtbot.waitUntil(lambda: "wait while “Computing Grad-CAM”" in live.status_label.text(),
                    timeout=30000)
    with qtbot.waitSignal(own.done, timeout=10000):
        own.cancel()
    qtbot.mouseClick(live.toggle, Qt.LeftButton)


def test_a_camera_started_during_another_page_s_job_says_when_the_model_loads(
        qtbot, window, trained_run, tmp_path):
    """The picture played with no answer and an empty status for the whole job."""
    window.state.set_run(str(trained_run))
    window.show_page(PREDICT_INDEX)
    live = window.current_page().live
    other = window.runner.start(_until_cancelled, name="Training")
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
    qtbot.waitUntil(lambda: not live.picker.busy(), timeout=10000)
    live.play_file(str(_bright_video(tmp_path / "bright.avi")))
    qtbot.waitUntil(lambda: "loads when “Training” ends" in live.status_label.text(),
                    timeout=30000)
    with qtbot.waitSignal(other.done, timeout=10000):
        other.cancel()
    qtbot.waitUntil(lambda: live.predictions >= 1, timeout=60000)
    qtbot.mouseClick(live.toggle, Qt.LeftButton)


def test_live_camera_without_a_model_or_with_a_bad_video_says_so(qtbot, window, tmp_path):
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    live = page.live
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
    qtbot.waitUntil(lambda: not live.picker.busy(), timeout=10000)
    live.play_file(str(_bright_video(tmp_path / "clip.avi")))
    qtbot.waitUntil(lambda: "no model to ask yet" in live.status_label.text(), timeout=10000)
    assert live.image.pixmap() is not None and live.predictions == 0
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"\x00" * 500)
    live.play_file(str(bad))
    qtbot.waitUntil(lambda: "broken.avi" in live.status_label.text(), timeout=10000)
    assert not live.feed.is_running()
    qtbot.mouseClick(live.toggle, Qt.LeftButton)  # off
    assert not live.isVisible() and not live.feed.is_running()


def test_the_data_page_s_shutdown_stops_an_open_capture_s_camera(qtbot, window, tmp_path):
    data = _data_folder(tmp_path)
    page, dialog = _open_capture(qtbot, window, data)
    dialog.play_file(str(write_video(tmp_path / "clip.avi")))
    qtbot.waitUntil(lambda: dialog.capture_button.isEnabled(), timeout=10000)
    assert _camera_jobs()
    page.shutdown()  # what the window's shutdown asks of each page, before it waits for jobs
    qtbot.waitUntil(lambda: not _camera_jobs(), timeout=5000)


def test_frames_never_queue_up_the_newest_replaces_the_waiting_one():
    from PySide6.QtGui import QImage

    from gui.widgets.camera import FrameMailbox

    box = FrameMailbox()
    images = [QImage(4, 4, QImage.Format_RGB888) for _ in range(3)]
    assert box.put(images[0], 0) is True  # the UI is told once...
    assert box.put(images[1], 1) is False and box.put(images[2], 2) is False  # ...not again
    assert box.take()[1] == 2 and box.dropped == 2  # it gets the newest; two were skipped
    assert box.take() is None
    assert box.put(images[0], 3) is True  # taken: the next frame is announced again
