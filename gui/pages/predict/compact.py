"""Room for the Predict page's results at the window's smallest size.

At 900×600 the title, intro, model line, buttons and the Grad-CAM and "unknown"
rows with their wrapped notes took ~370 of the 600 px: the pictures got 129 px,
less than one card (a Predict review).  Once there are results the intro (which
says how to add images) is hidden and each note is one line cut to the width, its
whole text in a tooltip; with no results the page has room and shows them whole.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QLabel


class NoteLabel(QLabel):
    """A hint under a switch: wrapped in full, or (compact) one line cut to the width with
    the whole text in its tooltip.  ``text()`` is always the whole note."""

    def __init__(self) -> None:
        super().__init__()
        self._compact = False
        self.setObjectName("hint")
        self.setWordWrap(True)

    def set_compact(self, on: bool) -> None:
        if on != self._compact:
            self._compact = on
            self.setWordWrap(not on)
            self.updateGeometry()
            self._update_tip()
            self.update()

    def is_cut(self) -> bool:
        """Whether the note shows less than its whole text now."""
        return self._compact and self.fontMetrics().horizontalAdvance(self.text()) > \
            self.contentsRect().width()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._update_tip()

    def _update_tip(self) -> None:
        self.setToolTip(self.text() if self.is_cut() else "")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._update_tip()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        size = super().minimumSizeHint()
        return QSize(0, self.fontMetrics().height()) if self._compact else size

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        size = super().sizeHint()
        return QSize(0, self.fontMetrics().height()) if self._compact else size

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self._compact:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.ElideRight, rect.width())
        self.style().drawItemText(painter, rect, Qt.AlignLeft | Qt.AlignVCenter, self.palette(),
                                  self.isEnabled(), text, QPalette.WindowText)
        painter.end()


def fit_results(page, shown: bool) -> None:
    """With results ``shown``, give them the room: no intro, one-line notes."""
    page.intro_label.setVisible(not shown)
    page.gradcam_bar.note.set_compact(shown)
    page.unknown_bar.note.set_compact(shown)
