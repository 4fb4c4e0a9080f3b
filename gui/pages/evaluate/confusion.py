"""The confusion matrix as a heat map you can click: a ``QTableView`` over a small model.

A table view (rather than a hand-drawn plot) gives headers with the class names,
keyboard navigation, tooltips, selection and accessibility for free, and each
cell is a real index a click or a test can address.  Rows are the true class,
columns the predicted class, as in :class:`core.infer.metrics.Metrics`.  Colour is the
share of the row (the true class's images): blue on the diagonal (right
answers), red off it (mistakes), so the worst confusion stands out even when
classes have very different sizes.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import (QAbstractItemView, QAbstractScrollArea, QHeaderView, QSizePolicy,
                               QStyle, QStyledItemDelegate, QTableView, QWidget)

from gui.plain_text import plain_tip  # a class named "<img src=x>" drew a broken picture

BASE = QColor("#1e2125")
RIGHT = QColor("#3d7fd0")
WRONG = QColor("#d0504a")


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    t = min(max(t, 0.0), 1.0)
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


class ConfusionModel(QAbstractTableModel):
    """Counts (rows: true, columns: predicted) with colour, tooltip and alignment roles."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.classes: list[str] = []
        self.counts: list[list[int]] = []
        self.compact = False  # many classes: small cells, counts in tooltips, numbered columns
        self.numbered = False  # columns numbered, rows "n  name": compact, or names too long
        self._bold = QFont()
        self._bold.setBold(True)

    def set_matrix(self, classes: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
        self.beginResetModel()
        self.classes = list(classes)
        self.counts = [[int(v) for v in row] for row in counts]
        self.compact = len(self.classes) > COMPACT_FROM
        self.numbered = self.compact
        self.endResetModel()

    def set_numbered(self, numbered: bool) -> None:
        """Number the columns (row n's class is column n) rather than name them."""
        if numbered != self.numbered:
            self.numbered = numbered
            self.headerDataChanged.emit(Qt.Horizontal, 0, max(0, len(self.classes) - 1))
            self.headerDataChanged.emit(Qt.Vertical, 0, max(0, len(self.classes) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.counts)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.classes)

    def row_total(self, row: int) -> int:
        return sum(self.counts[row])

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        n = self.counts[r][c]
        total = self.row_total(r)
        share = n / total if total else 0.0
        if role in (Qt.DisplayRole, Qt.EditRole):
            return "" if self.compact else str(n)
        if role == Qt.AccessibleTextRole:  # a compact cell shows no number
            return f"{n} of {total}"
        if role == Qt.UserRole:
            return n
        if role == Qt.BackgroundRole:
            if n == 0:
                return BASE
            return _mix(BASE, RIGHT if r == c else WRONG, 0.25 + 0.75 * share)
        if role == Qt.ForegroundRole:
            return QColor("white") if n else QColor("#6a727a")
        if role == Qt.FontRole and r == c:
            return self._bold
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignCenter)
        if role == Qt.ToolTipRole:
            true, pred = self.classes[r], self.classes[c]
            what = (f"{n} of the {total} “{true}” images were recognised correctly"
                    if r == c else
                    f"{n} of the {total} “{true}” images were taken for “{pred}”")
            return plain_tip(f"{what} ({share:.0%}). Click to see them.")
        return None

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.DisplayRole and 0 <= section < len(self.classes):
            name, most = self.classes[section], 13 if self.numbered else 16
            name = name if len(name) <= most else name[:most - 1] + "…"
            if self.numbered:  # column n is the class of row n
                return str(section + 1) if orientation == Qt.Horizontal \
                    else f"{section + 1}  {name}"
            return name
        if role == Qt.ToolTipRole and 0 <= section < len(self.classes):
            kind = "predicted" if orientation == Qt.Horizontal else "true"
            return plain_tip(f"{kind} class: {self.classes[section]}")
        return None


class _FramedSelection(QStyledItemDelegate):
    """The chosen cell keeps its colour (blue: right, red: wrong) under a white frame.

    The default highlight would paint the selection colour over the cell and
    make a cell of mistakes look like a cell of right answers.
    """

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt API
        super().initStyleOption(option, index)
        option.state &= ~QStyle.State_Selected

    def paint(self, painter, option, index) -> None:
        super().paint(painter, option, index)
        if option.state & QStyle.State_Selected:
            painter.save()
            painter.setPen(QPen(QColor("white"), 2))
            painter.drawRect(option.rect.adjusted(1, 1, -1, -1))
            painter.restore()


#: The most room the matrix claims before it scrolls (a big matrix scrolls inside).
MAX_MIN_WIDTH, MAX_MIN_HEIGHT = 380, 260
#: Above this many classes the cells are small squares, their counts in the tooltips: at
#: 64x40 px a 60-class matrix showed 3 of its columns at 1600 px (a scale review).
COMPACT_FROM = 12
COMPACT_CELL = 26
COMPACT_MAX_HEIGHT = 420


class ConfusionView(QTableView):
    """The heat map; ``cell_clicked(true_index, predicted_index)`` when a cell is chosen."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.matrix = ConfusionModel(self)
        self.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.setModel(self.matrix)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectItems)
        self.setCornerButtonEnabled(False)
        self.setShowGrid(True)
        self.setItemDelegate(_FramedSelection(self))
        # As big as the matrix, no bigger: the page gives the rest to the per-class table.
        self.setSizeAdjustPolicy(QAbstractScrollArea.AdjustToContents)
        self.setSizePolicy(QSizePolicy.Maximum, QSizePolicy.Maximum)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.Fixed)
            header.setDefaultSectionSize(64)
            header.setHighlightSections(True)
        self.verticalHeader().setDefaultSectionSize(40)
        self.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.horizontalHeader().setMinimumSectionSize(48)
        self.clicked.connect(self._on_index)
        self.activated.connect(self._on_index)

    def set_matrix(self, classes: Sequence[str], counts: Sequence[Sequence[int]]) -> None:
        self.matrix.set_matrix(classes, counts)
        compact = self.matrix.compact
        self.horizontalHeader().setMinimumSectionSize(COMPACT_CELL if compact else 48)
        self.verticalHeader().setDefaultSectionSize(COMPACT_CELL if compact else 40)
        full_w = self._fit_columns()
        if full_w > MAX_MIN_WIDTH and not compact:
            # five long names had columns 110 px wide, "Background, deb…": two of the five
            # in view even at 1600 px (a UI review); numbered, the whole matrix fits
            self.matrix.set_numbered(True)
            full_w = self._fit_columns()
        full_h = self.horizontalHeader().sizeHint().height() + sum(
            self.rowHeight(r) for r in range(len(classes))) + self._frame()
        self.setMinimumSize(min(full_w, MAX_MIN_WIDTH), min(full_h, MAX_MIN_HEIGHT))
        # a big matrix scrolls inside this height, and the per-class table gets the rest (it
        # had been squeezed to under two of sixty rows at 1600x1000)
        self.setMaximumHeight(COMPACT_MAX_HEIGHT if compact else 16777215)

    def _frame(self) -> int:
        return 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width()

    def _fit_columns(self) -> int:
        """Columns as wide as their headers and counts (small squares when compact); returns
        the width the whole matrix needs.  At the window's smallest the splitter squeezed
        the matrix to one column: the view asks for room for the whole matrix, up to a size
        that leaves the galleries theirs."""
        compact = self.matrix.compact
        self.resizeColumnsToContents()
        for c in range(self.matrix.columnCount()):
            self.setColumnWidth(c, COMPACT_CELL if compact else max(
                48 if self.matrix.numbered else 64, self.columnWidth(c)))
        return self.verticalHeader().sizeHint().width() + sum(
            self.columnWidth(c) for c in range(self.matrix.columnCount())) + self._frame()

    def counts(self) -> list[list[int]]:
        """What the view shows, read back through the model (for checks and tests)."""
        m = self.matrix
        return [[int(m.data(m.index(r, c), Qt.UserRole)) for c in range(m.columnCount())]
                for r in range(m.rowCount())]

    def cell_rect(self, row: int, col: int):
        return self.visualRect(self.matrix.index(row, col))

    def _on_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.cell_clicked.emit(index.row(), index.column())
