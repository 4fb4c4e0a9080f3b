"""Camera edges a second hunt found: the live camera switched off and on again, the capture
dialog's first size, classes without images in its table, an error left standing."""

from PySide6.QtCore import Qt

from test_capture import write_video
from test_gui_camera import PREDICT_INDEX, live_on_a_bright_video


def test_the_live_camera_switched_off_and_on_plays_again_not_a_frozen_picture(
        qtbot, window, trained_run, tmp_path):
    """Off and on again (or another page and back), the video chosen before stayed stopped
    while its last picture and answer ("bright 99%") stayed beside "Stop camera", no word
    said: it looked live."""
    live = live_on_a_bright_video(qtbot, window, trained_run, tmp_path)
    for switch_off in (lambda: qtbot.mouseClick(live.toggle, Qt.LeftButton),
                       lambda: (window.show_page(0), window.show_page(PREDICT_INDEX))):
        switch_off()
        assert not live.feed.is_running()
        assert live.image.image is None and live.answer_label.text() == ""  # nothing stale
        qtbot.mouseClick(live.toggle, Qt.LeftButton)  # on again: the video plays again
        before = live.predictions
        qtbot.waitUntil(lambda: live.feed.is_running() and live.predictions > before,
                        timeout=30000)
        assert live.picker.combo.currentText() == "Video: bright.avi"
        assert "bright" in live.answer_label.text()
    qtbot.mouseClick(live.toggle, Qt.LeftButton)


def _classes_folder(tmp_path):
    """cat and a class with a long name, one image each, and an empty class folder."""
    from PIL import Image

    data = tmp_path / "data"
    long_name = ("a class with a long name " * 4).strip()
    for i, name in enumerate(("cat", long_name)):
        (data / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (200 * i, 60, 60)).save(data / name / "a.png")
    (data / "empty").mkdir()
    return data, long_name


def test_the_capture_dialog_opens_to_fit_its_window(qtbot, window, tmp_path):
    """It opened at its size hint (534x415: a stamp-sized picture, "new one" cut to "new or")
    or, with a long class name, wider than the window and the screen."""
    from test_gui_camera import _open_capture

    data, _ = _classes_folder(tmp_path)
    window.resize(900, 600)
    page, dialog = _open_capture(qtbot, window, data)
    assert 700 <= dialog.width() <= 900 and 500 <= dialog.height() <= 600
    assert dialog.image.width() >= 400 and dialog.image.height() >= 400
    dialog.reject()


def test_the_count_table_lists_every_class_to_choose_from(qtbot, window, tmp_path):
    """An empty class folder, made to be filled by the camera, and a new class were not in
    the table until a picture of them was saved."""
    from test_gui_camera import _open_capture

    data, long_name = _classes_folder(tmp_path)
    page, dialog = _open_capture(qtbot, window, data)
    assert dialog.add_class("new one")
    table = dialog.count_table
    rows = {table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
            for r in range(table.rowCount())}
    assert rows == {"cat": ("0", "1"), long_name: ("0", "1"), "empty": ("0", "0"),
                    "new one": ("0", "0")}
    dialog.reject()


def test_a_new_burst_clears_the_error_of_the_one_before(qtbot, window, tmp_path):
    """A burst that could not be written left its "cannot write" standing while the next
    burst, into another class, saved its pictures: the user read that nothing was saved."""
    from test_gui_camera import _data_folder, _open_capture

    data = _data_folder(tmp_path)
    page, dialog = _open_capture(qtbot, window, data)
    dialog.play_file(str(write_video(tmp_path / "clip.avi", frames=30)))
    qtbot.waitUntil(lambda: dialog.capture_button.isEnabled(), timeout=10000)
    assert dialog.add_class("blocked")
    (data / "blocked").write_text("a file where the class folder would go")
    dialog.start_burst()
    qtbot.waitUntil(lambda: "is a file, not a folder" in dialog.status_label.text(),
                    timeout=10000)
    assert dialog.burst is None and dialog.count("blocked") == 0
    dialog.class_combo.setCurrentText("dark")
    dialog.start_burst()
    qtbot.waitUntil(lambda: dialog.count("dark") >= 2, timeout=10000)
    dialog.stop_burst()
    qtbot.waitUntil(lambda: not dialog.saver.busy(), timeout=10000)
    assert "not a folder" not in dialog.status_label.text()
    assert len(list((data / "dark").glob("dark-*.jpg"))) == dialog.count("dark")
    dialog.reject()


def test_the_picture_is_made_at_its_shown_size_on_the_worker(qtbot, window, tmp_path):
    """A 1280x720 camera picture was scaled down on the UI thread, 10-16 ms fifteen times a
    second (the window's events waited up to 150 ms); the worker makes it at the size shown,
    and the frame captured stays whole."""
    from test_gui_camera import _data_folder, _open_capture

    page, dialog = _open_capture(qtbot, window, _data_folder(tmp_path))
    dialog.resize(dialog.minimumSizeHint())
    ratio = max(1.0, dialog.image.devicePixelRatioF())
    with qtbot.waitSignal(dialog.feed.frame, timeout=10000) as got:
        dialog.play_file(str(write_video(tmp_path / "big.avi", frames=3, size=(640, 480))))
    shown, frame = got.args
    assert shown.width() <= dialog.image.width() * ratio < 640
    assert shown.height() <= dialog.image.height() * ratio
    assert frame.shape == (480, 640, 3)
    dialog.reject()


def test_the_capture_dialog_opens_with_the_image_size_chosen_last(qtbot, window, tmp_path):
    """The image size went back to 512 px at every opening (a camera review)."""
    from test_gui_camera import _data_folder, _open_capture

    page, dialog = _open_capture(qtbot, window, _data_folder(tmp_path))
    assert dialog.size_spin.value() == 512  # the default, before any choice
    dialog.size_spin.setValue(224)
    dialog.close()
    again = page.open_capture()
    qtbot.waitUntil(lambda: not again.picker.busy(), timeout=10000)
    assert again.size_spin.value() == 224 and again.writer.side == 224
    again.close()
