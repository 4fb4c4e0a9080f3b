"""The Sort view's class buttons: one per class, named with its key, in a grid that scrolls.

Two classes or sixty: the buttons keep a readable height and scroll past
:data:`SHOWN_ROWS` rows (with 60 classes every button had been squeezed to 0-7 px,
unreadable and unclickable), and each name is cut to its button's width with "…"
while the key stays whole, so the grid never widens the page.  The number of columns
follows the grid's width: at the window's smallest size three fixed columns had cut
"cracked" to "crack…" beside room for it on a second row.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QPushButton, QScrollArea, QSizePolicy, QWidget

from core.shown import isolated
from gui.pages.sort.keys import key_hint
from gui.plain_text import plain_tip

#: Columns at most (a wide window); at least one.
MAX_COLUMNS = 4
#: A button should show this many characters of its name before the grid adds a column.
NAME_CHARS = 12
#: Rows of buttons shown at most; more classes scroll.
SHOWN_ROWS = 4
#: Room for the button's own frame and padding beside its text, in pixels.
BUTTON_PADDING = 18


class ClassButton(QPushButton):
    """A class's button: as much of the name as its width holds, then the key ("(4 / T)")."""

    def __init__(self, name: str, hint: str, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.name, self.hint = name, hint
        self.setFocusPolicy(Qt.NoFocus)  # the keys stay with the review
        self.setToolTip(plain_tip(f"Label this image {name!r} and go on"))
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)  # columns share the width
        self._fit_text()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(40, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_text()

    def _fit_text(self) -> None:
        tail = f"  ({self.hint})" if self.hint else ""
        fm = self.fontMetrics()
        room = max(self.width() - BUTTON_PADDING - fm.horizontalAdvance(tail),
                   fm.averageCharWidth())
        shown = fm.elidedText(self.name, Qt.ElideRight, room)
        self.setText(isolated(shown).replace("&", "&&") + tail)  # "R&D": not Alt+D


class ClassButtons(QScrollArea):
    """The grid of :class:`ClassButton`; ``chosen(name)`` when one is clicked."""

    chosen = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        holder = QWidget()
        holder.setLayout(self.grid)
        self.setWidget(holder)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.NoFocus)
        self.buttons: dict[str, ClassButton] = {}
        self.columns = 0

    def set_classes(self, classes: list[str]) -> None:
        """One button per class, named with its key; rebuilt when a class is added, and the
        added class's button scrolled into view: made on the spot at the window's smallest
        size, it went to a second row out of sight (its key worked, unseen; a Sort review)."""
        added = [n for n in classes if n not in self.buttons] if self.buttons else []
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.buttons = {}
        for name in classes:
            button = ClassButton(name, key_hint(classes, name))
            button.clicked.connect(lambda _c=False, n=name: self.chosen.emit(n))
            self.buttons[name] = button
        self.columns = 0
        self._arrange()
        if added:
            self.show_suggested(added[-1])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._columns_for(self.viewport().width()) != self.columns:
            self._arrange()

    def _columns_for(self, width: int) -> int:
        """As many columns as leave each button room for its key and :data:`NAME_CHARS`
        characters of the longest name (fewer when every name is shorter)."""
        if not self.buttons:
            return 1
        fm = self.fontMetrics()
        wanted = max(fm.horizontalAdvance(b.name[:NAME_CHARS] + f"  ({b.hint})")
                     for b in self.buttons.values()) + BUTTON_PADDING
        gap = max(self.grid.horizontalSpacing(), 0)
        return max(1, min(MAX_COLUMNS, len(self.buttons), (width + gap) // (wanted + gap)))

    def _arrange(self) -> None:
        """Lay the buttons out in the columns the width allows; the height follows the rows."""
        self.columns = self._columns_for(self.viewport().width())
        for button in self.buttons.values():
            self.grid.removeWidget(button)
        for i, button in enumerate(self.buttons.values()):
            self.grid.addWidget(button, i // self.columns, i % self.columns)
        rows = -(-len(self.buttons) // self.columns)
        first = next(iter(self.buttons.values()), None)
        row = first.sizeHint().height() + max(self.grid.verticalSpacing(), 0) if first else 0
        # one row at the least, so a short window shrinks the grid before the picture goes
        self.setMinimumHeight(min(rows, 1) * row)
        self.setMaximumHeight(min(rows, SHOWN_ROWS) * row)
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(super().sizeHint().width(), self.maximumHeight())

    def show_suggested(self, name: str) -> None:
        """Scroll ``name``'s button into view (once the grid has its size).  No margin
        around it: Qt's default 50 px is more than a row, and in a grid one row high (the
        window's smallest size) the second row's buttons were never scrolled to."""
        if name in self.buttons:  # the timer goes with the grid (its context object)
            QTimer.singleShot(0, self, lambda: self._scroll_to(name))

    def _scroll_to(self, name: str) -> None:
        if name in self.buttons:  # a button just added has its place once the grid is laid out
            QCoreApplication.sendPostedEvents(None, QEvent.LayoutRequest)
            self.ensureWidgetVisible(self.buttons[name], 0, 0)
