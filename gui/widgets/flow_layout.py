"""A row of buttons that goes on onto a second line when the page is too narrow for it.

At a 14 pt application font (people with poor sight set it) the Data page's row of four
buttons was 890 px wide: at the window's minimum size the page scrolled sideways, "Capture
from camera…" was off the right edge and the whole page below it was laid out 890 px wide
(a UI review).  This is Qt's FlowLayout example, with what a row of a QHBoxLayout has that
the rows here use: a stretch (``addStretch``: the space left on a line goes there, so the
buttons after it stand at the right edge, as before) and items that grow (``addWidget(w,
stretch)``, up to their maximum width).  Where the row fits on one line it looks as it did.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QSpacerItem, QWidget, QWidgetItem


class FlowLayout(QLayout):
    """Items left to right, wrapped onto further lines; at least as wide as its widest item."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch: dict[int, int] = {}  # id(item) -> its share of a line's free space

    # -- filling ------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt's name
        self._items.append(item)
        self.invalidate()

    def addWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802
        self.addChildWidget(widget)
        item = QWidgetItem(widget)
        self._stretch[id(item)] = stretch
        self.addItem(item)

    def addStretch(self, stretch: int = 1) -> None:  # noqa: N802 - QBoxLayout's name
        item = QSpacerItem(0, 0, QSizePolicy.Expanding, QSizePolicy.Minimum)
        self._stretch[id(item)] = stretch
        self.addItem(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> Optional[QLayoutItem]:  # noqa: N802 - Qt's name
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> Optional[QLayoutItem]:  # noqa: N802 - Qt's name
        if not 0 <= index < len(self._items):
            return None
        item = self._items.pop(index)
        self._stretch.pop(id(item), None)
        self.invalidate()
        return item

    # -- sizes --------------------------------------------------------------
    def expandingDirections(self) -> Qt.Orientations:  # noqa: N802 - Qt's name
        return Qt.Orientations(Qt.Horizontal)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self._lay_out(QRect(0, 0, width, 0), apply=False)

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt's name
        size = QSize()
        for item in self._shown():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name: all on one line
        m = self.contentsMargins()
        items = self._shown()
        width = sum(i.sizeHint().width() for i in items) + self._gap() * max(0, len(items) - 1)
        height = max((i.sizeHint().height() for i in items), default=0)
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt's name
        super().setGeometry(rect)
        self._lay_out(rect, apply=True)

    # -- the work -----------------------------------------------------------
    def _gap(self) -> int:
        gap = self.spacing()  # set, else the enclosing layout's, else the style's
        return gap if gap >= 0 else 6

    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty() or i.spacerItem() is not None]

    def _lines(self, width: int) -> list[list[QLayoutItem]]:
        """The items line by line at ``width``; a stretch or a gap never starts a line."""
        lines: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._shown():
            need = item.minimumSize().width()  # as a QHBoxLayout, down to minimum widths
            line = lines[-1]
            if line and used + self._gap() + need > width:
                lines.append([])
                line, used = lines[-1], 0
            if not line and item.spacerItem() is not None:
                continue
            used += (self._gap() if line else 0) + need
            line.append(item)
        return [line for line in lines if line]

    @staticmethod
    def _most(item: QLayoutItem) -> int:
        """How wide ``item`` may grow: a widget of a label and a box, no wider than its
        layout lets the box grow (a widget's own maximum ignores its layout)."""
        most = item.maximumSize().width()
        widget = item.widget()
        if widget is not None and widget.layout() is not None:
            most = min(most, widget.layout().maximumSize().width())
        return most

    def _widths(self, line: list[QLayoutItem], width: int) -> list[int]:
        """Each item's width on its line: its minimum, and as much more towards its size
        hint as there is room for (each the same share of what it lacks); the space then left
        is shared by the stretch factors (an item up to its maximum width, the rest to the
        others)."""
        widths = [i.minimumSize().width() for i in line]
        free = width - sum(widths) - self._gap() * (len(line) - 1)
        lack = [max(0, i.sizeHint().width() - w) for i, w in zip(line, widths)]
        if free > 0 and sum(lack):
            part = min(1.0, free / sum(lack))
            widths = [w + int(n * part) for w, n in zip(widths, lack)]
            free = width - sum(widths) - self._gap() * (len(line) - 1)
        growing = [k for k, i in enumerate(line) if self._stretch.get(id(i), 0) > 0]
        while free > 0 and growing:
            total = sum(self._stretch[id(line[k])] for k in growing)
            given, still = 0, []
            for k in growing:
                share = free * self._stretch[id(line[k])] // total
                room = self._most(line[k]) - widths[k]
                if line[k].spacerItem() is None and room <= share:
                    share = max(0, room)
                else:
                    still.append(k)
                widths[k] += share
                given += share
            if given == 0:
                break
            free -= given
            growing = still
        return widths

    def _lay_out(self, rect: QRect, apply: bool) -> int:
        """Place the items in ``rect`` (or only measure, ``apply`` False); the height used."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        y = area.y()
        for n, line in enumerate(self._lines(area.width())):
            if n:
                y += self._gap()
            height = max(i.sizeHint().height() for i in line)
            x = area.x()
            for item, width in zip(line, self._widths(line, area.width())):
                width = max(min(width, area.width()), item.minimumSize().width())
                if apply:
                    item.setGeometry(QRect(QPoint(x, y), QSize(width, height)))
                x += width + self._gap()
            y += height
        return y - rect.y() + m.bottom()
