"""The wheel scrolls a page's list; a spin box or drop-down takes it only once it has focus.

Scrolling the Augment page with the pointer resting on its controls changed "How often",
the zoom and the cut-out fill on the way, and the list did not move (a review)."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from core.data.sample_data import generate_sample_dataset


def wheel_down(widget, notches=3):
    """What a mouse wheel sends to the widget under the pointer."""
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    for _ in range(notches):
        QApplication.sendEvent(widget, QWheelEvent(
            pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, -120),
            Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False))


def test_the_wheel_scrolls_the_augment_list_and_leaves_its_settings(qtbot, window, tmp_path):
    window.resize(900, 600)
    window.state.set("model.image_size", 64)
    root = generate_sample_dataset(tmp_path / "shapes", per_class=2, size=32, seed=1)
    with qtbot.waitSignal(window.data_page.scan_finished, timeout=60000):
        window.data_page.open_folder(str(root))
    page = window.augment_page
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        window.show_page(2)
    with qtbot.waitSignal(page.previews_updated, timeout=60000):
        page.set_preset("heavy")
    page.preview_title.setFocus()
    bar = page.controls_area.verticalScrollBar()
    assert bar.maximum() > 0  # a list to scroll at this size
    before = window.state.config.augment
    spin, combo = page._p_spins["Affine"], page._editors["CoarseDropout"]["fill"]._widgets[0]
    for widget in (spin.lineEdit(), spin, combo):  # the pointer on the box, or on its text
        was = bar.value()
        wheel_down(widget)
        assert not widget.hasFocus()
        assert bar.value() > was or bar.value() == bar.maximum()
        bar.setValue(0)
    assert window.state.config.augment == before  # nothing changed on the way
    spin.setFocus()  # clicked or tabbed to: the wheel edits it, as anywhere in Qt
    qtbot.waitUntil(spin.hasFocus, timeout=5000)
    value = spin.value()
    wheel_down(spin, 1)
    assert spin.value() < value
