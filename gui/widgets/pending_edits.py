"""A number being typed is taken before a keyboard shortcut acts on the settings.

Spin boxes here take a typed value on Enter or when focus leaves them (keyboard
tracking off: each keystroke going to the configuration wrote the box back mid-typing).
A shortcut moves no focus, so Ctrl+Enter started training, and Ctrl+S saved the
project, with the old value while the box showed the new one.  Every shortcut passes
through :class:`PendingEdits` first, which has the focused spin box read its text.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QWidget


def take_typed_number() -> None:
    """Have the spin box being typed in (if any) take its text as its value now."""
    focused: Optional[QWidget] = QApplication.focusWidget()
    for widget in (focused, focused.parentWidget() if focused is not None else None):
        if isinstance(widget, QAbstractSpinBox):
            widget.interpretText()
            return


class PendingEdits(QObject):
    """Installed on the application: before any shortcut, the typed number is taken."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Shortcut:
            take_typed_number()
        return False
