"""Camera in the window, without a camera: a video file through the same frame pipeline."""

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from test_capture import write_video

PREDICT_INDEX = 5


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
    dialog.play_file(str(write_video(tmp_path / "clip.avi", size=(160, 120))))
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
    assert dialog.count_table.rowCount() == 2
    # Undo last burst removes the red pictures only
    qtbot.mouseClick(dialog.undo_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.count("red") == 0, timeout=5000)
    assert not any(p.exists() for p in reds) and all(f.exists() for f in files)
    assert "Removed" in dialog.status_label.text()
    # closing stops the camera and the Data page scans the folder again
    with qtbot.waitSignal(page.scan_finished, timeout=20000):
        dialog.reject()
    assert not dialog.feed.is_running()
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
