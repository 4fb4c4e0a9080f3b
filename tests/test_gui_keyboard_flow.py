"""The app's flow by keyboard alone (a keyboard review): focus follows a run's start and
end on the Train page, Enter opens a run on the Runs page, a focused primary button shows
it, and the step list has a name a screen reader can say."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from test_gui_runs import runs_page, two_runs  # noqa: F401, F811 (a fixture)
from weights_fixture import make_bright_dark


def _until_cancelled(cfg, report, runs_base, start_from="", listener=None, cancel=None):
    """A stand-in for training: runs until Stop (no TensorFlow)."""
    from core.events import Cancelled

    while not cancel.cancelled:
        time.sleep(0.01)
    raise Cancelled("cancelled by the user")


def _train_page_with_data(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr("gui.pages.train.page.train_job", _until_cancelled)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    with qtbot.waitSignal(window.state.dataset_changed, timeout=4000):
        window.pages[0].open_folder(str(make_bright_dark(tmp_path / "data", 3, 32)))
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=4000)
    window.show_page(3)
    return window.pages[3]


def test_focus_goes_to_stop_then_start_when_a_run_starts_and_ends(qtbot, window, tmp_path,
                                                                   monkeypatch):
    """Ctrl+Enter in a setting started the run and left no widget with focus (the settings
    are turned off); Stop pressed by Space sent it to the log, not back to Start."""
    page = _train_page_with_data(qtbot, window, tmp_path, monkeypatch)
    window.sidebar.setFocus()
    qtbot.keyClick(window.sidebar, Qt.Key_Tab)
    assert page.settings_host.isAncestorOf(QApplication.focusWidget())
    with qtbot.waitSignal(page.run_started, timeout=4000):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Return, Qt.ControlModifier)
    assert QApplication.focusWidget() is page.stop_button
    with qtbot.waitSignal(page.job.done, timeout=4000):
        qtbot.keyClick(page.stop_button, Qt.Key_Space)
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=4000)
    assert QApplication.focusWidget() is page.start_button
    with qtbot.waitSignal(page.run_started, timeout=4000):  # Space on Start: Stop next
        qtbot.keyClick(page.start_button, Qt.Key_Space)
    assert QApplication.focusWidget() is page.stop_button
    page.log.setFocus()  # the user went elsewhere meanwhile: the end leaves it there
    with qtbot.waitSignal(page.job.done, timeout=4000):
        qtbot.keyClick(page.log, Qt.Key_Escape)
    qtbot.waitUntil(lambda: page.start_button.isEnabled(), timeout=4000)
    assert QApplication.focusWidget() is page.log


def test_enter_on_a_run_opens_it(qtbot, window, two_runs):  # noqa: F811
    """Only a double-click opened the selected run; Enter on its row did nothing."""
    _h, ia, ib, a, b = two_runs
    window.activateWindow()
    page = runs_page(window)
    page.select_ids([ia])
    page.table.setFocus()
    with qtbot.waitSignal(window.state.model_changed, timeout=4000):
        qtbot.keyClick(page.table, Qt.Key_Return)
    assert window.state.run_dir == str(a.resolve())
    page.select_ids([ib])  # a double-click still opens one
    rect = page.table.visualRect(page.table.selectionModel().selectedRows()[0])
    qtbot.mouseClick(page.table.viewport(), Qt.LeftButton, pos=rect.center())
    with qtbot.waitSignal(window.state.run_changed, timeout=4000):
        qtbot.mouseDClick(page.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.state.run_dir == str(b.resolve())


def test_a_focused_primary_button_shows_a_clear_focus_ring(qtbot):
    """Tab onto Start training, Next or Choose image folder… showed only a faint dotted
    rectangle, blue on blue, round the text."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

    from gui.theme import STYLESHEET

    host = QWidget()
    host.setStyleSheet(STYLESHEET)
    primary, other = QPushButton("Start training"), QPushButton("Stop")
    primary.setObjectName("primary")
    lay = QHBoxLayout(host)
    lay.addWidget(primary)
    lay.addWidget(other)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()

    def grab():
        return primary.grab().toImage()

    other.setFocus()
    qtbot.waitUntil(lambda: other.hasFocus())
    plain = grab()
    qtbot.keyClick(other, Qt.Key_Backtab)
    assert primary.hasFocus()
    focused = grab()
    assert primary.size() == focused.size() / focused.devicePixelRatio()  # no jump in size
    changed = sum(1 for x in range(plain.width()) for y in range(plain.height())
                  if abs(QColor(plain.pixel(x, y)).lightness()
                         - QColor(focused.pixel(x, y)).lightness()) > 80)
    assert changed >= 2 * (plain.width() + plain.height()), changed  # a ring all round


def test_the_step_list_and_the_window_s_own_tab_stops_have_names(qtbot, window):
    """The step list (the window's way from step to step) had no name: a screen reader
    said only "list", and the View › Log panel nothing; the pages were already held to names."""
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QWidget

    def name(w) -> str:
        return QAccessible.queryAccessibleInterface(w).text(QAccessible.Name)

    assert name(window.sidebar) == "Steps"
    outside = [w for w in window.findChildren(QWidget) if w.focusPolicy() & Qt.TabFocus
               and w.window() is window and not window.stack.isAncestorOf(w)
               and w.focusProxy() is None and not name(w)]
    assert outside == [], [(type(w).__name__, w.objectName()) for w in outside]


def test_the_serve_status_line_is_a_tab_stop_only_with_a_link(qtbot, window):
    """On the Export page with no server, Tab stopped on the empty status line beside Serve
    (a label made to reach its links by keyboard) and showed nothing."""
    from PySide6.QtWidgets import QLabel

    window.activateWindow()
    window.show_page(7)
    page, label = window.pages[7], window.pages[7].serve_box.status_label
    page.serve_box.port_spin.setFocus()
    qtbot.waitUntil(lambda: page.serve_box.port_spin.hasFocus())
    stops = []
    while len(stops) < 30 and not isinstance(QApplication.focusWidget(), type(window.sidebar)):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Tab)
        stops.append(QApplication.focusWidget())
    assert not any(isinstance(w, QLabel) and not w.text() for w in stops), stops
    label.setText("Serving <a href='http://127.0.0.1:8501'>http://127.0.0.1:8501</a>")
    assert label.focusPolicy() & Qt.TabFocus  # its link is still reached by Tab
    label.setText("Stopped.")
    assert not label.focusPolicy() & Qt.TabFocus
