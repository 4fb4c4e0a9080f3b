"""The Predict page's live camera when its model cannot load or changes (a review)."""

import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from test_capture import write_video

PREDICT_INDEX = 5


def _damaged_copy(trained_run: Path, dest: Path) -> Path:
    shutil.copytree(trained_run, dest)
    (dest / "model.keras").write_bytes(b"not a zip archive" * 50)
    return dest


def _live(qtbot, window, video: Path):
    window.show_page(PREDICT_INDEX)
    page = window.current_page()
    live = page.live
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
    qtbot.waitUntil(lambda: not live.picker.busy(), timeout=10000)
    live.play_file(str(video))
    return page, live


def _video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "bright.avi", frames=6, size=(64, 48), value=230)


def test_a_model_that_cannot_load_is_tried_once_not_on_every_frame(qtbot, window, trained_run,
                                                                   tmp_path):
    """It was loaded again for every frame (92 loads in 6 s), keeping the window's one job slot
    busy and the status flipping between "Loading…" and the error."""
    window.state.set_run(str(_damaged_copy(trained_run, tmp_path / "damaged")))
    loads = []
    window.runner.busy_changed.connect(
        lambda busy: busy and loads.append(window.runner.current.name))
    page, live = _live(qtbot, window, _video(tmp_path))
    qtbot.waitUntil(lambda: "not a Keras model file" in live.status_label.text(), timeout=30000)
    shown = live.feed.frames_shown
    qtbot.waitUntil(lambda: live.feed.frames_shown >= shown + 20, timeout=30000)
    assert loads.count("Loading the model") == 1
    assert "not a Keras model file" in live.status_label.text()
    assert not window.runner.is_busy() and live.predictions == 0
    # switched off and on (the file may have been put right meanwhile): tried again, once
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
    qtbot.waitUntil(lambda: not live.picker.busy(), timeout=10000)
    live.play_file(str(tmp_path / "bright.avi"))
    qtbot.waitUntil(lambda: loads.count("Loading the model") == 2, timeout=30000)
    qtbot.waitUntil(lambda: "not a Keras model file" in live.status_label.text(), timeout=30000)
    # another run: its model is loaded and answers
    window.state.set_run(str(trained_run))
    qtbot.waitUntil(lambda: live.predictions >= 1, timeout=60000)
    qtbot.mouseClick(live.toggle, Qt.LeftButton)


def test_the_answer_of_the_previous_model_goes_when_the_model_changes(qtbot, window,
                                                                      trained_run, tmp_path):
    """The live answer of run A ("bright 99%") stayed beside run B's "cannot be loaded"."""
    window.state.set_run(str(trained_run))
    page, live = _live(qtbot, window, _video(tmp_path))
    qtbot.waitUntil(lambda: live.predictions >= 2, timeout=60000)
    assert "bright" in live.answer_label.text()
    window.state.set_run(str(_damaged_copy(trained_run, tmp_path / "damaged")))
    qtbot.waitUntil(lambda: "not a Keras model file" in live.status_label.text(), timeout=30000)
    shown = live.feed.frames_shown
    qtbot.waitUntil(lambda: live.feed.frames_shown >= shown + 5, timeout=30000)
    assert live.answer_label.text() == "" and live.prediction is None
    # an answer the old model gives after the change is not shown either
    old = object()
    live._on_answer(type("P", (), {})(), old)
    assert live.answer_label.text() == "" and live.prediction is None
    qtbot.mouseClick(live.toggle, Qt.LeftButton)
