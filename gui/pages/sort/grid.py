"""The Sort step's thumbnails: each image with its suggestion, tinted by what was decided.

Thumbnails decode off the UI thread (:class:`gui.thumbnails.ThumbnailModel`);
this model only adds the caption "92 %" over "bright" and a background per
decision: green labelled, grey skipped, amber "none of these", blue added to
the data set, so the grid shows the state of the whole folder at a glance.
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from core.shown import isolated
from gui.pages.sort.review import NONE, SKIP
from gui.plain_text import plain_tip
from gui.thumbnails import ThumbnailModel

#: Background of a thumbnail per state.
COLOURS = {"label": "#2f5d3a", SKIP: "#3a3f45", NONE: "#6b5424", "added": "#28486b"}


def caption(suggestion) -> str:
    """"92 %" over "bright", or "bright?" when the run's unknown score flags the image.  The
    class has a line of its own: on one line with the figure it was cut ("96 % · mono_…"),
    and mono_0, mono_100 and mono_50 looked the same."""
    name = isolated(suggestion.suggested) + ("?" if suggestion.unknown else "")
    return f"{suggestion.probability * 100:.0f}\u00a0%\n{name}"


def mark_text(decision: str, added: bool) -> str:
    """What was decided, the class on a line of its own: "✓ added" over "mono_100"."""
    if added:
        return f"✓ added\n{isolated(decision)}"
    return {"": "", SKIP: "skipped", NONE: "none of these"}.get(
        decision, f"✓ labelled\n{isolated(decision)}")


#: The widest a cell grows for a long class name (the rest is cut; the tooltip has it all).
MAX_CELL = 200


class SortThumbs(ThumbnailModel):
    """Thumbnails whose background says what was decided for each image."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, side=88)
        self._state: dict[str, str] = {}  # path -> key of COLOURS
        self.cell_width = self.side + 16

    def fit_names(self, names, metrics) -> bool:
        """Cells as wide as the longest class name needs (up to :data:`MAX_CELL`) and two
        caption lines high; True when the size changed."""
        wide = max(metrics.horizontalAdvance(t) for t in ["none of these", "✓ labelled",
                                                           *(f"{n}?" for n in names)])
        width = max(self.side + 16, min(MAX_CELL, wide + 8))
        lines = 2 * metrics.lineSpacing() + 6
        changed = (width, lines) != (self.cell_width, self.caption_px)
        self.cell_width, self.caption_px = width, lines
        return changed

    def show_decision(self, path: str, decision: str, added: bool) -> None:
        kind = "added" if added else ("label" if decision not in ("", SKIP, NONE) else decision)
        if kind:
            self._state[path] = kind
        else:
            self._state.pop(path, None)
        self.set_mark(path, mark_text(decision, added))  # repaints the row

    def marked(self) -> list[str]:
        """Paths showing a decision now (few: the rest need no repaint)."""
        return list(self._state)

    def state_of(self, path: str) -> str:
        return self._state.get(path, "")

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if role == Qt.BackgroundRole and index.isValid():
            kind = self._state.get(self.path(index.row()))
            return QColor(COLOURS[kind]) if kind else None
        if role == Qt.ForegroundRole and index.isValid() and \
                self._state.get(self.path(index.row())):
            return QColor("#e8eaed")  # readable on the tint
        if role == Qt.SizeHintRole and index.isValid():
            return QSize(self.cell_width, self.side + self.caption_px)
        if role == Qt.ToolTipRole and index.isValid():  # the whole caption, whatever is cut
            path = self.path(index.row())
            shown = str(super().data(index, Qt.DisplayRole) or "").replace("\n", " · ")
            return plain_tip("\n".join(filter(None, [path, self._errors.get(path), shown])))
        return super().data(index, role)


class SortGrid(QListView):
    """An icon-mode list of the suggestions; selecting one makes it the current image."""

    row_chosen = Signal(int)

    def __init__(self, model: SortThumbs, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setAcceptDrops(False)  # a dropped folder goes to the window, then to the page
        self.setDragEnabled(False)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(model.side, model.side))
        self.setSpacing(4)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setMinimumSize(220, 160)
        self.setAccessibleName("New images")
        self.selectionModel().currentChanged.connect(
            lambda cur, _prev: cur.isValid() and self.row_chosen.emit(cur.row()))

    def fit_names(self, names) -> None:
        """Make room for ``names``, the classes the captions may show."""
        if self.model().fit_names(list(names), self.fontMetrics()):
            self.scheduleDelayedItemsLayout()

    def keyboardSearch(self, search: str) -> None:  # noqa: N802 - Qt's name
        """No type-ahead: a letter is a class key here, and one that names no class (two
        classes share it) jumped to another image, which the next key then labelled."""

    def show_row(self, row: int) -> None:
        """Make ``row`` current and visible without emitting ``row_chosen`` back."""
        if not 0 <= row < self.model().rowCount():
            return
        idx = self.model().index(row)
        self.blockSignals(True)
        sel = self.selectionModel()
        sel.blockSignals(True)
        self.setCurrentIndex(idx)
        sel.blockSignals(False)
        self.blockSignals(False)
        self.viewport().update()
        self.scrollTo(idx)
