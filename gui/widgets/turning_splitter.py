"""A splitter that stands its two parts one above the other when it is too narrow for both.

The Data page's classes column was squeezed to 120 px beside the tabs at the window's
minimum size: class names read "bri…" and the bar chart had no room for bars.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget


class TurningSplitter(QSplitter):
    """Side by side from ``side_by_side_from`` pixels wide, one above the other below it."""

    def __init__(self, side_by_side_from: int, parent: Optional[QWidget] = None) -> None:
        super().__init__(Qt.Horizontal, parent)
        self.side_by_side_from = side_by_side_from
        self.setChildrenCollapsible(False)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        want = Qt.Horizontal if event.size().width() >= self.side_by_side_from else Qt.Vertical
        if self.orientation() != want:
            self.setOrientation(want)
        super().resizeEvent(event)
