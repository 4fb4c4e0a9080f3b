"""The mouse wheel scrolls a page; it changes a setting only in the box being edited.

The Augment and Model pages are long scrolled lists made mostly of spin boxes and
drop-downs, and Qt gives the wheel to whichever one is under the pointer: scrolling the
list changed "How often", the zoom and the cut-out fill on the way, silently, and left the
list where it was (a review).  As in polished Qt apps, a spin box or drop-down inside a
scrolled area takes the wheel only once it has focus (clicked or tabbed to); otherwise the
wheel scrolls the area.  One application-wide filter, so every page and dialog gets it.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSpinBox, QComboBox, QLineEdit,
                               QWidget)

_GUARDED = (QAbstractSpinBox, QComboBox)


def scrolled_area(widget: QWidget):
    """The scrolled area ``widget`` sits in, if any."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    """Install once on the QApplication (:func:`install`)."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Polish and isinstance(obj, _GUARDED):
            if obj.focusPolicy() == Qt.WheelFocus:  # the wheel must not give it focus
                obj.setFocusPolicy(Qt.StrongFocus)
        elif kind == QEvent.Wheel:
            box = guarded_box(obj)
            if box is not None and not box.hasFocus():
                area = scrolled_area(box)
                if area is not None:
                    QCoreApplication.sendEvent(area.viewport(), event)
                    return True
        return False


def guarded_box(obj):
    """The spin box or drop-down a wheel over ``obj`` would change: itself, or the one
    whose text field it is (the pointer on a spin box's digits lands on its line edit)."""
    if isinstance(obj, _GUARDED):
        return obj
    if isinstance(obj, QLineEdit) and isinstance(obj.parentWidget(), _GUARDED):
        return obj.parentWidget()
    return None


def install(app) -> None:
    """Install the guard on ``app``, once however many windows ask."""
    if getattr(app, "_wheel_guard", None) is None:
        app._wheel_guard = WheelGuard(app)
        app.installEventFilter(app._wheel_guard)
