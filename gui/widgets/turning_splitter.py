"""A splitter that stands its two parts one above the other when it is too narrow for both.

The Data page's classes column was squeezed to 120 px beside the tabs at the window's
minimum size: class names read "bri…" and the bar chart had no room for bars.

At a 14 pt font the parts need more room than a fixed number of pixels says: side by side,
the Model and Train pages' two columns needed 770 and 840 px, wider than the page at the
window's minimum size, and the page scrolled sideways with its right column out of sight
(a UI review).  So the splitter turns also when the parts' own minimum widths do not fit,
and asks for no more width than the wider part needs once turned.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QBoxLayout, QSplitter, QWidget


def later(owner: QWidget, slot) -> QTimer:
    """A timer for ``slot`` on the next turn of the event loop, gone with ``owner`` (a
    QTimer.singleShot fired on a widget already deleted)."""
    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(slot)
    return timer


class TurningSplitter(QSplitter):
    """Side by side from ``side_by_side_from`` pixels wide and when both parts fit at their
    minimum widths, one above the other below that."""

    def __init__(self, side_by_side_from: int = 0, collapsible: bool = False,
                 roomy: bool = False, shared: bool = False, least_height: int = 0,
                 parent: Optional[QWidget] = None) -> None:
        """``roomy``: one above the other, each part is as tall as it would like (up to 20
        lines; the page scrolls), not its minimum: the Train page's settings, stacked above
        the run at 14 pt, had one row of their own scroll area; side by side again, the
        parts get back their widths.  ``shared``: side by side, the parts' widths start as
        their stretch factors share them out (the Data page's classes column, 2 of 5, stayed
        at the 215 px its contents asked for in a 1600 px window; a UI review).
        ``least_height``: side by side, its minimum height (a fixed minimum height would
        squeeze the parts one above the other into it)."""
        super().__init__(Qt.Horizontal, parent)
        self.side_by_side_from = side_by_side_from
        self.roomy = roomy
        self.shared = shared
        self.least_height = least_height
        self._shared_out = False
        self._widths: list[int] = []
        self.setChildrenCollapsible(collapsible)
        self._later = later(self, self._turn_now)

    def _parts(self) -> list[QWidget]:
        return [self.widget(i) for i in range(self.count()) if not self.widget(i).isHidden()]

    def side_by_side_width(self) -> int:
        """The least width at which the parts stand side by side."""
        parts = self._parts()
        need = sum(max(p.minimumSizeHint().width(), p.minimumWidth()) for p in parts)
        return max(self.side_by_side_from, need + self.handleWidth() * max(0, len(parts) - 1))

    def _heights(self) -> list[int]:
        """The parts' heights one above the other when ``roomy``."""
        cap = 20 * self.fontMetrics().height()
        return [max(p.minimumSizeHint().height(), min(p.sizeHint().height(), cap))
                for p in self._parts()]

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """As narrow as the wider part: below its side-by-side width the splitter turns."""
        hint = super().minimumSizeHint()
        widest = max((max(p.minimumSizeHint().width(), p.minimumWidth())
                      for p in self._parts()), default=0)
        height = hint.height()
        if self.least_height and self.orientation() == Qt.Horizontal:
            height = self.least_height
        if self.roomy and self.orientation() == Qt.Vertical:
            heights = self._heights()
            height = max(height, sum(heights) + self.handleWidth() * max(0, len(heights) - 1))
        return QSize(widest, height)

    def _turn(self, width: int) -> None:
        want = Qt.Horizontal if width >= self.side_by_side_width() else Qt.Vertical
        if self.orientation() != want:
            if want == Qt.Vertical:
                self._widths = self.sizes()
                self._shared_out = False
            self.setOrientation(want)
            if self.roomy and (want == Qt.Vertical or self._widths):
                self.setSizes(self._heights() if want == Qt.Vertical else self._widths)
                self.updateGeometry()
        if want == Qt.Horizontal and self.shared and not self._shared_out:
            self._shared_out = True
            parts = self._parts()
            stretch = [max(1, p.sizePolicy().horizontalStretch()) for p in parts]
            room = width - self.handleWidth() * max(0, len(parts) - 1)
            self.setSizes([room * s // sum(stretch) for s in stretch])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Not while hidden: a page's first size comes before it shows, its drop-downs not
        # yet made compact, so its parts seemed wider than they are.
        if self.isVisible():
            self._turn(event.size().width())
            if self.roomy and self.orientation() == Qt.Vertical:
                self.setSizes(self._heights())  # their contents grew (Evaluate's results)
        super().resizeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._later.start()  # once the page is set up

    def _turn_now(self) -> None:
        self._turn(self.width())


class TurningRow(QWidget):
    """A row of boxes (a QHBoxLayout, without a splitter's handle) that stands them one above
    the other, as :class:`TurningSplitter` does, when their minimum widths do not fit."""

    def __init__(self, spacing: int = 10, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.box = QBoxLayout(QBoxLayout.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.setSpacing(spacing)
        self._later = later(self, self._turn_now)

    def add(self, widget: QWidget, stretch: int = 0) -> None:
        self.box.addWidget(widget, stretch)

    def _parts(self) -> list[QWidget]:
        items = (self.box.itemAt(i).widget() for i in range(self.box.count()))
        return [w for w in items if w is not None and not w.isHidden()]

    def side_by_side_width(self) -> int:
        parts = self._parts()
        need = sum(max(p.minimumSizeHint().width(), p.minimumWidth()) for p in parts)
        return need + self.box.spacing() * max(0, len(parts) - 1)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        widest = max((max(p.minimumSizeHint().width(), p.minimumWidth())
                      for p in self._parts()), default=0)
        return QSize(widest, self.box.minimumSize().height())

    def _turn_now(self) -> None:
        wide = self.width() >= self.side_by_side_width()
        want = QBoxLayout.LeftToRight if wide else QBoxLayout.TopToBottom
        if self.box.direction() != want:
            self.box.setDirection(want)
            self.updateGeometry()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.isVisible():  # as TurningSplitter's
            self._turn_now()
        super().resizeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._later.start()
