"""The Predict page's results: a drop zone until there is something, then three tabs.

"Pictures" (one card per image, :mod:`gui.pages.predict.cards`), "Table" (the
CLI's columns) and "Could not read" (files that failed, with the reason).  The
view holds the cards' model; it only shows what the page gives it.
"""

from __future__ import annotations

import re
from typing import Optional

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QHeaderView, QLabel, QListView,
                               QStackedWidget, QStyledItemDelegate, QTableWidget,
                               QTableWidgetItem, QTabWidget, QTreeWidget, QTreeWidgetItem,
                               QWidget)

from core.shown import elided, fixed, shown_text
from gui.pages.predict.cards import UNKNOWN, PredictionDelegate, PredictionModel
from gui.pages.predict.table_copy import wire_copy_and_menus
from gui.plain_text import plain_tip
from gui.steps import get_a_model

#: Characters of each class name in the model line (the tooltip of a card has it whole).
NAME_CHARS = 24
TABLE_COLUMNS = ["File", "Label", "Confidence", "Unknown score", "Top classes", "Problem"]
SCORE_TIP = ("How unlike the training images the image is (higher: less like them); above the "
             "threshold the label is “unknown”. Empty: the model has no such score.")

#: The role of a row's File item holding the row's index in the cards' model: the table sorts,
#: so its row i is not ``cards.predictions()[i]``.
INDEX_ROLE = Qt.UserRole + 1

#: The table's first widths: the File column's, and the top-k one's (it fitted its contents,
#: thousands of pixels with 10 long class names, and pushed Problem off-screen; a review).
FILE_WIDTH, TOP_WIDTH = 320, 280

#: The empty results' words; while a job runs a drop is refused, so they say so.
DROP_TEXT = "Drop images or folders here\n\nor use Add images… above"
BUSY_TEXT = "Working…\n\nimages dropped now are refused: drop them when this ends"


def natural_key(text: str) -> tuple:
    """``text`` ignoring case, its runs of digits compared as numbers: a camera's img2.jpg
    before img10.jpg, as a file browser lists them (the table put img10 first, a review)."""
    return tuple((0, int(part), "") if part[0] in "0123456789" else (1, 0, part)
                 for part in _DIGITS.split(text.casefold()) if part)


_DIGITS = re.compile(r"([0-9]+)")


class ResultItem(QTableWidgetItem):
    """A table cell that sorts by its ``key``: the number (Confidence, Unknown score) or the
    text ignoring case; cells with none (empty) come last in either order.  The key is a
    Python attribute: reading Qt.UserRole in each comparison took 3 s for 20,000 rows."""

    key = None

    def set_key(self, key) -> None:
        """Set before the text: a changed cell of the sorted column is moved at once."""
        self.key = (natural_key(key) or None) if isinstance(key, str) else key

    def __lt__(self, other) -> bool:  # noqa: D105
        a, b = self.key, getattr(other, "key", None)
        if a is None or b is None:
            table = self.tableWidget()
            descending = table is not None and \
                table.horizontalHeader().sortIndicatorOrder() == Qt.DescendingOrder
            return b is not None if descending else a is not None and b is None
        return a < b


class MiddleElided(QStyledItemDelegate):
    """Cuts a cell's text in the middle: the File column cut at the right showed one folder
    on every row, hiding the file names that tell them apart (the tooltip has it whole)."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt's name
        super().initStyleOption(option, index)
        option.textElideMode = Qt.ElideMiddle


class ResultsView(QStackedWidget):
    """Page 0: the drop zone; page 1: the tabs with the results."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._filled_k = 0  # the "top k" the table's rows were written with
        self.drop_zone = QLabel(DROP_TEXT)
        self.drop_zone.setAlignment(Qt.AlignCenter)
        self.drop_zone.setObjectName("hint")
        self.drop_zone.setFrameShape(QFrame.StyledPanel)
        self.drop_zone.setStyleSheet("QLabel { border: 2px dashed #55606b; border-radius: 8px; "
                                     "font-size: 14pt; }")
        self.addWidget(self.drop_zone)
        self.tabs = QTabWidget()
        self.cards = PredictionModel(self)
        self.tabs.addTab(self._build_card_view(), "Pictures")
        self.tabs.addTab(self._build_table(), "Table")
        self.problem_tree = QTreeWidget()
        self.problem_tree.setAccessibleName("Images that could not be read")
        self.problem_tree.setHeaderLabels(["File", "Why it could not be read"])
        self.problem_tree.setRootIsDecorated(False)
        self.problem_tree.header().resizeSection(0, 320)
        self.tabs.addTab(self.problem_tree, "Could not read")
        self.addWidget(self.tabs)
        wire_copy_and_menus(self)  # Ctrl+C and a right-click menu (table_copy.py)

    def _build_card_view(self) -> QListView:
        self.card_view = QListView()
        self.card_view.setAccessibleName("Predictions")
        self.card_view.setViewMode(QListView.IconMode)
        self.card_view.setResizeMode(QListView.Adjust)
        self.card_view.setMovement(QListView.Static)
        self.card_view.setWrapping(True)
        self.card_view.setSpacing(4)
        self.card_view.setUniformItemSizes(True)
        self.card_view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.card_view.setItemDelegate(PredictionDelegate(self.card_view))
        self.card_view.setModel(self.cards)
        self.card_view.doubleClicked.connect(self._open_card_image)
        return self.card_view

    def _build_table(self) -> QTableWidget:
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setAccessibleName("Predictions, as a table")
        self.table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSortIndicator(-1, Qt.AscendingOrder)  # in the order added until a click
        self.table.setSortingEnabled(True)  # every column, by a click on its header
        header.setSectionResizeMode(QHeaderView.Interactive)  # each can be dragged wider
        header.resizeSection(0, FILE_WIDTH)
        header.resizeSection(4, TOP_WIDTH)  # its tooltip lists them all
        for column in (1, 2, 3):  # "Unknown score" was cut to "Jnknown score" (a review)
            header.resizeSection(column, max(header.sectionSize(column),
                                             header.sectionSizeHint(column)))
        header.setStretchLastSection(True)
        self.table.setItemDelegateForColumn(0, MiddleElided(self.table))
        self.table.horizontalHeaderItem(3).setToolTip(SCORE_TIP)
        return self.table

    def _open_card_image(self, index) -> None:
        p = index.data(PredictionModel.PredictionRole)
        if p is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(p.path))

    # ------------------------------------------------------------------ filling
    def refresh(self, k: int, appended: bool = False) -> tuple[int, int]:
        """Show the cards' predictions with ``k`` classes each; returns (rows, unreadable).

        ``appended``: the cards only gained rows at the end, so only those are added to the
        table (it was rebuilt whole on every drop: 0.8 s on the UI thread at 20,000 rows)."""
        rows = self.cards.predictions()
        self.setCurrentIndex(1 if rows else 0)
        keep = appended and k == self._filled_k and self.table.rowCount() <= len(rows)
        self.fill_table(k, self.table.rowCount() if keep else 0)
        bad = [r for r in rows if r.error]
        self.problem_tree.clear()
        for r in bad:
            item = QTreeWidgetItem([shown_text(r.path), r.error])
            item.setToolTip(0, plain_tip(shown_text(r.path)))
            item.setToolTip(1, plain_tip(r.error))
            self.problem_tree.addTopLevelItem(item)
        self.tabs.setTabText(2, f"Could not read ({len(bad)})" if bad else "Could not read")
        self.tabs.setTabEnabled(2, bool(bad))
        return len(rows), len(bad)

    def fill_table(self, k: int, start: int = 0) -> None:
        """The table's rows from ``start`` on (the ones before are left as they are)."""
        rows = self.cards.predictions()
        self._filled_k = k
        self.table.setSortingEnabled(False)  # else each new item moves to its sorted place
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows[start:], start):
            top = ", ".join(f"{lbl} {p:.1%}" for lbl, p in r.top[:k])
            score = "" if r.unknown_score is None else fixed(r.unknown_score)
            values = (shown_text(r.path), "" if r.error else r.shown_label,
                      _confidence_text(r), score, top, r.error)
            for col, text in enumerate(values):
                item = ResultItem(text)
                item.setToolTip(plain_tip(text))  # file and class names, as written
                item.set_key(text)
                if col == 0:
                    item.setData(INDEX_ROLE, i)
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    number = _confidence(r) if col == 2 else None if r.error else r.unknown_score
                    item.setData(Qt.UserRole, number)
                    item.set_key(number)
                self.table.setItem(i, col, item)
        self.table.setSortingEnabled(True)  # sorted again by the header's column, if any
        self.table.setHorizontalHeaderLabels(["File", "Label", "Confidence", "Unknown score",
                                              f"Top {k} classes", "Problem"])

    def update_labels(self) -> None:
        """Only the Label and Confidence columns follow the "unknown" threshold: rebuilding
        the whole table (six items a row) on every slider step froze the window 2 s a step
        at 50,000 images."""
        rows = self.cards.predictions()
        cells = [(self.table.item(i, 1), self.table.item(i, 2), self.prediction_at(i, rows))
                 for i in range(self.table.rowCount())]
        # Sorted by a column that changes here: sorted once at the end, not row by row.
        resort = self.table.horizontalHeader().sortIndicatorSection() in (1, 2)
        for item, sure, r in cells:  # by the row's prediction, not by the shown name:
            text = "" if r is None or r.error else r.shown_label  # Qt drops non-UTF-8 bytes
            if r is not None and item is not None and item.text() != text:
                if resort and self.table.isSortingEnabled():
                    self.table.setSortingEnabled(False)
                item.set_key(text)
                item.setText(text)
                item.setToolTip(plain_tip(text))
                if sure is not None:
                    sure.set_key(_confidence(r))
                    sure.setData(Qt.UserRole, _confidence(r))
                    sure.setText(_confidence_text(r))
                    sure.setToolTip(_confidence_text(r))
        if not self.table.isSortingEnabled():  # (turning it on sorts the whole table)
            self.table.setSortingEnabled(True)

    def prediction_at(self, row: int, rows: Optional[list] = None):
        """The prediction the table's ``row`` shows (None: no such row)."""
        item = self.table.item(row, 0)
        i = item.data(INDEX_ROLE) if item is not None else None
        rows = self.cards.predictions() if rows is None else rows
        return rows[i] if i is not None and 0 <= i < len(rows) else None

    def table_rows(self) -> list[dict]:
        """What the table shows, one dict per row."""
        out = []
        for i in range(self.table.rowCount()):
            out.append({"path": self.table.item(i, 0).text(),
                        "label": self.table.item(i, 1).text(),
                        "confidence": self.table.item(i, 2).data(Qt.UserRole),
                        "unknown_score": self.table.item(i, 3).data(Qt.UserRole),
                        "top": self.table.item(i, 4).text(),
                        "error": self.table.item(i, 5).text()})
        return out


def _confidence(r) -> Optional[float]:
    """The label's confidence; none for "unknown" (its top class's probability read as how
    sure the model was of "unknown", as the CSV and the cards already knew) or an error."""
    return None if r.error or r.unknown else float(r.confidence)


def _confidence_text(r) -> str:
    sure = _confidence(r)
    return "" if sure is None else f"{sure:.1%}"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def model_text(path: Optional[str], chosen: Optional[str], gone: str, predictor,
               predictor_path: Optional[str]) -> str:
    """The model line above the results: which model, whose, and what it is once loaded
    (``gone``: that the model the project names is not on disk, or "")."""
    if path is None and gone:
        return _html(gone)
    if path is None:
        return "<b>No model yet.</b> " + get_a_model("open a model you exported earlier.",
                                                     first=True)
    whose = "opened here" if chosen else "the current model"
    p = predictor
    if p is not None and predictor_path == path:
        # each name cut: one 88-character name made the page wider than a 900 px window
        names = ", ".join(elided(c, NAME_CHARS) for c in p.classes[:6])
        detail = (f"{p.kind}, {len(p.classes)} classes ({names}"
                  f"{', …' if len(p.classes) > 6 else ''}), {p.image_size} px")
    else:
        detail = "loads when you add images"
    caution = getattr(p, "caution", "") if p is not None and predictor_path == path else ""
    return (f"<b>Model</b> ({whose}): {_html(path)}<br>"
            f"<span style='color:#9aa3ad'>{_html(detail)}</span>"
            + (f"<br><span style='color:{UNKNOWN}'>{_html(caution)}.</span>" if caution else ""))
