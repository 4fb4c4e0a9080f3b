"""The whole window by keyboard (a keyboard review): Tab leaves every table and skips the
pages' scroll areas, Ctrl+Enter works with either Enter key, and controls have names."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QScrollArea


def test_tab_leaves_every_table_and_skips_the_page_scroll_area(qtbot, window):
    """Tables moved between cells on Tab and wrapped round: on the Model page each Tab
    changed the backbone; the first Tab of every page stopped on its scroll area (drawn as
    nothing)."""
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    for row, page in enumerate(window.pages):
        window.show_page(row)
        traps = [v.objectName() or type(v).__name__ for v in page.findChildren(QAbstractItemView)
                 if v.tabKeyNavigation()]
        assert traps == [], (page.key, traps)
        assert all(not (s.focusPolicy() & Qt.TabFocus) for s in page.findChildren(QScrollArea)
                   if s.objectName() == "pageScroll")


def test_next_is_each_pages_last_tab_stop(qtbot, window):
    """Next got its parent before the page's controls were made, so it was Tab's first stop
    on every page; it is the last, also after controls a page builds on first showing."""
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    checked = 0
    for row, page in enumerate(window.pages):
        window.show_page(row)
        window.sidebar.setFocus()
        stops = []
        while len(stops) < 60:
            qtbot.keyClick(window.focusWidget() or window, Qt.Key_Tab)
            if window.focusWidget() is window.sidebar or window.focusWidget() in stops:
                break
            stops.append(window.focusWidget())
        if page.next_button is None or not page.next_button.isEnabled() or len(stops) < 2:
            continue
        assert stops[-1] is page.next_button, (page.key, [type(w).__name__ for w in stops])
        checked += 1
    assert checked >= 6


def test_ctrl_and_either_enter_key_goes_on(qtbot, window):
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.show_page(1)  # the Model page: Next goes to Augmentation
    qtbot.keyClick(window, Qt.Key_Enter, Qt.ControlModifier)  # the keypad's Enter
    qtbot.waitUntil(lambda: window.stack.currentIndex() == 2)
    qtbot.keyClick(window, Qt.Key_Return, Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.stack.currentIndex() == 3)


def test_controls_a_screen_reader_could_not_name_have_names(qtbot, window):
    """The Augmentation page's range boxes, the Sort page's percentage box, the Model page's
    layer count, table and tree, the Runs filter and the class chart had no name."""
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QAbstractSpinBox

    from gui.pages.data.class_chart import ClassBarChart

    def name(w) -> str:  # what a screen reader is told (a form row's label counts)
        return QAccessible.queryAccessibleInterface(w).text(QAccessible.Name)

    augment = window.pages[2]
    window.show_page(2)
    boxes = augment.findChildren(QAbstractSpinBox)
    assert boxes and all(name(b) for b in boxes), [b for b in boxes if not name(b)]
    assert any(name(b).endswith(", to") for b in boxes)  # a range's second box
    model = window.pages[1]
    assert model.top_n_spin.accessibleName() and model.tree.accessibleName()
    sort = next(p for p in window.pages if p.key == "sort")
    assert name(sort.bulk.spin) == "Accept all above"
    runs = next(p for p in window.pages if p.key == "runs")
    assert runs.filter_edit.accessibleName()
    chart = ClassBarChart()
    qtbot.addWidget(chart)
    chart.set_counts(["cat", "dog"], [3, 1])
    assert chart.accessibleName() and "dog: 1 image" in chart.accessibleDescription()


def test_every_view_plot_and_tab_stop_on_every_page_has_a_name(qtbot, window):
    """A screen reader said nothing for the Data page's class table and thumbnails, the
    Evaluate page's matrix and tables, the Train log, the Predict slider and results, the
    Network page's plots and boxes, the Runs tables; scroll areas were Tab stops drawn as
    nothing (the Train settings, the Augmentation controls)."""
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import (QAbstractScrollArea, QGraphicsView, QHeaderView, QLabel,
                                   QScrollArea, QSplitter, QStackedWidget, QWidget)

    def wants_name(w) -> bool:
        if isinstance(w, (QLabel, QHeaderView, QSplitter, QStackedWidget)):
            return False
        if w.window() is not window:  # a combo box's pop-up list
            return False
        if isinstance(w, (QAbstractItemView, QGraphicsView)) or w.focusPolicy() & Qt.TabFocus:
            return w.focusProxy() is None
        painted = type(w).__module__.startswith("gui.") and not isinstance(w, QAbstractScrollArea)
        return painted and type(w).paintEvent is not QWidget.paintEvent

    nameless, scroll_stops = [], []
    for row, page in enumerate(window.pages):
        window.show_page(row)
        for w in page.findChildren(QWidget):
            if isinstance(w, QScrollArea) and w.focusPolicy() & Qt.TabFocus:
                scroll_stops.append((page.key, type(w).__name__))
            elif wants_name(w) and not QAccessible.queryAccessibleInterface(w).text(
                    QAccessible.Name):
                nameless.append((page.key, type(w).__name__, w.objectName()))
    assert nameless == [] and scroll_stops == []
