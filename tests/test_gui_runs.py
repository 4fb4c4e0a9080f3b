"""The Runs page: lists indexed runs, filters and sorts them, compares two (settings diff and
curves), opens one for the other pages, deletes one after confirmation, and refreshes
when a run finishes.  Run folders are small complete fakes (no TensorFlow)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.run_history import RunHistory, default_runs_dir
from test_run_history import make_run


def runs_page(window):
    i = next(i for i, p in enumerate(window.pages) if p.key == "runs")
    window.show_page(i)
    return window.pages[i]


@pytest.fixture
def two_runs(tmp_path):
    base = default_runs_dir()
    a = make_run(base / "20261101-100000-MobileNetV3Small", lr=1e-3, created=1000.0)
    b = make_run(base / "20261102-100000-EfficientNetB0", backbone="EfficientNetB0", lr=5e-4,
                 accs=(0.6, 0.8, 0.9, 0.95), created=2000.0, images=12)
    (a / "model.keras").write_bytes(b"placeholder model file for the Open button")
    h = RunHistory()
    return h, h.record_run(a), h.record_run(b), a, b


def test_list_filter_sort(qtbot, window, two_runs):
    _h, ia, ib, _a, _b = two_runs
    page = runs_page(window)
    assert page.visible_ids() == [ib, ia]  # newest first
    assert not page.empty_label.isVisible()
    page.filter_edit.setText("efficientnet")
    assert page.visible_ids() == [ib]
    assert page.count_label.text() == "1 of 2 runs"
    page.filter_edit.clear()
    page.table.sortByColumn(3, Qt.AscendingOrder)  # images: 12 < 40
    assert page.visible_ids() == [ib, ia]
    page.table.sortByColumn(4, Qt.AscendingOrder)  # val accuracy: 75% < 90%
    assert page.visible_ids() == [ia, ib]
    texts = [page.proxy.index(0, c).data() for c in range(page.proxy.columnCount())]
    assert "MobileNetV3Small" in texts and "75.0%" in texts and "completed" in texts


def test_compare_two_runs_shows_diff_and_curves(qtbot, window, two_runs):
    _h, ia, ib, _a, _b = two_runs
    page = runs_page(window)
    with qtbot.waitSignal(page.compared, timeout=5000) as sig:
        page.select_ids([ia, ib])
    cmp = sig.args[0]
    assert {cmp.a.id, cmp.b.id} == {ia, ib}
    assert page.compare_box.isVisible()
    keys = [page.diff_table.item(r, 0).text() for r in range(page.diff_table.rowCount())]
    assert "train.learning_rate" in keys and "model.backbone" in keys
    row = keys.index("train.learning_rate")
    assert {page.diff_table.item(row, 1).text(), page.diff_table.item(row, 2).text()} == {
        "0.001", "0.0005"}
    lengths = sorted(len(s["x"]) for s in page.compare_series.values())
    assert lengths == [3, 4]
    assert max(max(s["val_accuracy"]) for s in page.compare_series.values()) == pytest.approx(0.9)
    page.select_ids([ia])
    assert not page.compare_box.isVisible()


def test_open_sets_run_and_model(qtbot, window, two_runs):
    _h, ia, _ib, a, _b = two_runs
    page = runs_page(window)
    page.select_ids([ia])
    with qtbot.waitSignal(window.state.model_changed, timeout=5000):
        page.open_button.click()
    assert window.state.run_dir == str(a.resolve())
    assert window.state.last_model == str(a.resolve() / "model.keras")


@pytest.mark.parametrize("answer", [QMessageBox.No, QMessageBox.Yes])
def test_delete_asks_then_removes_folder_and_row(qtbot, window, two_runs, monkeypatch, answer):
    h, ia, ib, a, b = two_runs
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kw: asked.append(args) or answer)
    page = runs_page(window)
    page.select_ids([ia])
    page.delete_button.click()
    assert asked and str(a.resolve()) in asked[0][2]
    if answer == QMessageBox.No:
        assert a.exists() and page.visible_ids() == [ib, ia]
    else:
        assert not a.exists() and b.exists()
        assert page.visible_ids() == [ib] and h.find_id(a) is None


def test_refreshes_when_a_run_finishes_and_rescans_in_a_job(qtbot, window, two_runs, tmp_path):
    _h, ia, ib, _a, _b = two_runs
    page = runs_page(window)
    c = make_run(default_runs_dir() / "20261103-100000-MobileNetV3Small", created=3000.0)
    RunHistory().record_run(c)  # what training does at the end of a run
    with qtbot.waitSignal(page.runs_listed, timeout=5000):
        window.state.set_run(str(c))
    assert len(page.visible_ids()) == 3

    shutil.rmtree(c)  # gone behind the app's back; one copied in from elsewhere
    make_run(tmp_path / "elsewhere" / "copied", created=4000.0)
    with qtbot.waitSignal(page.rebuilt, timeout=30000) as sig:
        page.rescan([str(tmp_path / "elsewhere")])
    assert sig.args[0] == 3
    names = [Path(page.history.get(i).path).name for i in page.visible_ids()]
    assert names[0] == "copied" and "20261103-100000-MobileNetV3Small" not in names


def test_damaged_history_still_opens(qtbot, window, two_runs):
    h, *_ = two_runs
    h.db_path.write_bytes(b"garbage" * 500)
    page = runs_page(window)
    assert len(page.visible_ids()) == 2  # rebuilt from the default runs folder
    assert "rebuilt" in page.banner.text()
