"""Data page: scanning a real folder in a worker, counts, thumbnails, problems, split."""

import os

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDropEvent

from core.data.sample_data import generate_sample_dataset
from core.appdirs import sample_dataset_dir


def make_images(tmp_path):
    root = generate_sample_dataset(tmp_path / "shapes", per_class=12, size=48, seed=1)
    broken = root / "circle" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 8)
    return root, broken


def test_open_folder_scans_and_shows_everything(qtbot, window, tmp_path, monkeypatch):
    root, broken = make_images(tmp_path)
    page = window.data_page
    assert not page.next_button.isEnabled()
    with qtbot.waitSignal(page.scan_finished, timeout=60000) as sig:
        assert page.open_folder(str(root))
        assert window.job_progress.isVisible()  # progress in the status bar
    report = sig.args[0]
    assert report.counts == {"circle": 12, "square": 12, "triangle": 12}
    assert window.state.dataset_report is report
    assert window.state.config.data.data_dir == str(root)
    assert window.state.dirty

    # classes with counts, and the bar chart
    table = page.class_table
    assert [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(3)] == \
        [("circle", "12"), ("square", "12"), ("triangle", "12")]
    assert page.chart.names == ["circle", "square", "triangle"]
    assert page.chart.values == [12, 12, 12]
    assert page.next_button.isEnabled()
    assert "36 images" in page.summary_label.text()

    # thumbnails decode in the background and arrive
    assert page.thumbs.rowCount() == 36
    qtbot.waitUntil(lambda: page.thumbs.loaded_count() >= 36, timeout=60000)
    index = page.thumbs.index(0)
    assert not page.thumbs.data(index, Qt.DecorationRole).isNull()
    page.class_combo.setCurrentText("square")
    assert page.thumbs.rowCount() == 12
    assert all("square" in page.thumbs.path(r) for r in range(12))

    # the corrupt file is a problem that leads to its file
    assert page.tabs.tabText(1).startswith("Problems (")
    items = [page.problem_tree.topLevelItem(i) for i in range(page.problem_tree.topLevelItemCount())]
    hit = [it for it in items if it.data(0, Qt.UserRole) == str(broken)]
    assert hit, [it.text(0) for it in items]
    page.problem_tree.setCurrentItem(hit[0])
    assert str(broken) in page.problem_path.text()
    assert page.show_in_folder_button.isEnabled()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    page.show_in_folder_button.click()
    assert opened == [QUrl.fromLocalFile(str(broken.parent))]

    # split settings edit the one config
    page.val_spin.setValue(30)
    page.seed_spin.setValue(7)
    assert window.state.config.data.val_split == pytest.approx(0.3)
    assert window.state.config.data.seed == 7
    assert "11 of 36" in page.split_note.text()


def test_unusable_folder_and_missing_folder_are_explained(qtbot, window, tmp_path):
    page = window.data_page
    one = tmp_path / "one"
    generate_sample_dataset(one, classes=["only"], per_class=3, size=32)
    with qtbot.waitSignal(page.scan_finished, timeout=60000):
        page.open_folder(str(one))
    assert page.banner.isVisible() and "at least 2 classes" in page.banner.text()
    assert not page.next_button.isEnabled()
    with qtbot.waitSignal(page.scan_failed, timeout=60000) as sig:
        page.open_folder(str(tmp_path / "missing"))
    assert "not found" in sig.args[0] and "Traceback" not in page.banner.text()


def test_sample_dataset_button_generates_and_opens(qtbot, window):
    page = window.data_page
    with qtbot.waitSignal(page.scan_finished, timeout=120000) as sig:
        page.sample_button.click()
    report = sig.args[0]
    assert report.usable and len(report.classes) == 3
    assert window.state.config.data.data_dir == str(sample_dataset_dir())
    assert str(sample_dataset_dir()).startswith(os.environ["FTS_DATA_DIR"])


def test_dropping_a_folder_opens_it(qtbot, window, tmp_path):
    root, _ = make_images(tmp_path)
    window.show_page(3)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(root))])
    event = QDropEvent(QPointF(20, 20), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.dropEvent(event)
    assert window.current_page() is window.data_page
    assert window.sidebar.item(0).text().endswith("✓")
