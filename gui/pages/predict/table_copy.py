"""Copying the Predict page's results, and their right-click menu.

Ctrl+C (the platform's Copy key) on the Table tab copied only the current cell, and on
a card only the file's name (Qt's default: the current index's text; a Predict
review).  Now the selected rows are copied as tab-separated lines under a header
line (they paste into a spreadsheet as columns), and a card as its full path and its
answer.  A right-click on either offers Copy, Open image and Show in folder.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QMenu


def _cell(text: str) -> str:
    """A cell's text on one line without tabs, so the copied lines keep their columns."""
    return " ".join(text.replace("\t", " ").splitlines())


def _pasted_cell(text: str) -> str:
    """A table cell as it pastes into a spreadsheet: a class name or problem starting with
    = + - @ gets a ' before it, as the CSV does (core.csv_cells), so pasting runs no
    formula; numbers (an unknown score of -0.53) stay numbers."""
    from core.csv_cells import safe_cell

    text = _cell(text)
    try:
        float(text.rstrip("%"))
        return text
    except ValueError:
        return safe_cell(text)


def table_text(table) -> str:
    """The table's selected rows (else its current row), in the order shown, as
    tab-separated lines under the header's; "" when there is no row."""
    rows = sorted({i.row() for i in table.selectionModel().selectedIndexes()})
    if not rows and table.currentRow() >= 0:
        rows = [table.currentRow()]
    if not rows:
        return ""
    columns = range(table.columnCount())
    lines = ["\t".join(_cell(table.horizontalHeaderItem(c).text()) for c in columns)]
    for r in rows:
        lines.append("\t".join(_pasted_cell(table.item(r, c).text() if table.item(r, c) else "")
                               for c in columns))
    return "\n".join(lines) + "\n"


def answer_text(p) -> str:
    """A prediction's answer as a card says it."""
    if p.error:
        return f"could not be read: {p.error}"
    return "unknown" if p.unknown else f"{p.label} {p.confidence:.1%}"


def card_text(p) -> str:
    """A card's full path (a name that is not UTF-8 by its bytes, ``\\xff``, as the table
    and the CLI show it) and its answer, tab-separated."""
    from core.shown import shown_text

    return f"{_cell(shown_text(p.path))}\t{_cell(answer_text(p))}\n"


def copy_text(text: str) -> None:
    if text:
        QGuiApplication.clipboard().setText(text)


class CopyKey(QObject):
    """Gives a view's Copy key to ``copy`` (installed as the view's event filter)."""

    def __init__(self, view: QAbstractItemView, copy: Callable[[], None]) -> None:
        super().__init__(view)
        self._copy = copy
        view.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.ShortcutOverride, QEvent.KeyPress) \
                and event.matches(QKeySequence.Copy):
            event.accept()  # a window shortcut on the same keys does not take it
            if event.type() == QEvent.KeyPress:
                self._copy()
            return True
        return False


def open_image(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> None:
    """The folder holding ``path``, in the system's file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(os.path.abspath(path))))


def results_menu(parent, copy: Callable[[], None], path: Optional[str]) -> QMenu:
    """Copy, and for the image ``path`` (the one right-clicked) Open image and Show in
    folder (greyed out where the file is gone)."""
    menu = QMenu(parent)
    menu.setAttribute(Qt.WA_DeleteOnClose)  # one a right-click, gone once closed
    menu.addAction("Copy", copy).setShortcut(QKeySequence.Copy)
    there = bool(path) and os.path.exists(path)
    menu.addAction("Open image", lambda: open_image(path)).setEnabled(there)
    menu.addAction("Show in folder", lambda: show_in_folder(path)).setEnabled(there)
    return menu


def wire_copy_and_menus(view) -> None:
    """Copy keys and right-click menus for a :class:`ResultsView`'s table and cards."""
    table, cards = view.table, view.card_view

    def copy_rows() -> None:
        copy_text(table_text(table))

    def copy_card() -> None:
        index = cards.currentIndex()
        p = index.data(cards.model().PredictionRole) if index.isValid() else None
        copy_text(card_text(p) if p is not None else "")

    def table_menu(pos: QPoint) -> None:
        row = table.rowAt(pos.y())
        p = view.prediction_at(row) if row >= 0 else None
        results_menu(table, copy_rows, p.path if p else None).exec(
            table.viewport().mapToGlobal(pos))

    def card_menu(pos: QPoint) -> None:
        index = cards.indexAt(pos)
        if index.isValid():
            cards.setCurrentIndex(index)
        p = index.data(cards.model().PredictionRole) if index.isValid() else None
        results_menu(cards, copy_card, p.path if p else None).exec(
            cards.viewport().mapToGlobal(pos))

    view.copy_keys = (CopyKey(table, copy_rows), CopyKey(cards, copy_card))
    for widget, show in ((table, table_menu), (cards, card_menu)):
        widget.setContextMenuPolicy(Qt.CustomContextMenu)
        widget.customContextMenuRequested.connect(show)
