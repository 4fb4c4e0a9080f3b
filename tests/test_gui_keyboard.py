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
