"""The Sort view's class buttons: one per class, named with its key, in a grid that scrolls.

Two classes or sixty: the buttons keep a readable height and scroll past
:data:`SHOWN_ROWS` rows (with 60 classes every button had been squeezed to 0-7 px,
unreadable and unclickable), and each name is cut to its button's width with "…"
while the key stays whole, so the grid never widens the page.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QPushButton, QScrollArea, QSizePolicy, QWidget

from core.shown import isolated
from gui.pages.sort.keys import key_hint

COLUMNS = 3
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
        self.setToolTip(f"Label this image {name!r} and go on")
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

    def set_classes(self, classes: list[str]) -> None:
        """One button per class, named with its key; rebuilt when a class is added."""
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.buttons = {}
        for i, name in enumerate(classes):
            button = ClassButton(name, key_hint(classes, name))
            button.clicked.connect(lambda _c=False, n=name: self.chosen.emit(n))
            self.grid.addWidget(button, i // COLUMNS, i % COLUMNS)
            self.buttons[name] = button
        rows = -(-len(classes) // COLUMNS)
        row = (button.sizeHint().height() + max(self.grid.verticalSpacing(), 0)) if rows else 0
        # one row at the least, so a short window shrinks the grid before the picture goes
        self.setMinimumHeight(min(rows, 1) * row)
        self.setMaximumHeight(min(rows, SHOWN_ROWS) * row)
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(super().sizeHint().width(), self.maximumHeight())

    def show_suggested(self, name: str) -> None:
        """Scroll ``name``'s button into view (once the grid has its size)."""
        if name in self.buttons:  # the timer goes with the grid (its context object)
            QTimer.singleShot(0, self, lambda: name in self.buttons and self.ensureWidgetVisible(
                self.buttons[name]))
