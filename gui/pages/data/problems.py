"""The Data page's Problems tab: files left out, files ignored, and what is worth knowing.

Files are counted the way ``python main.py inspect`` counts them: a damaged
or unreadable image is *skipped* (a problem); a file that is not an image by
its name (notes.txt) is listed but only *ignored*, not counted as skipped.
Warnings (a small or imbalanced class) are advice, not problems, so the tab's
title counts the two apart -- "Problems (2 skipped, 1 warning)" -- and a
warning alone never sits over "No problems found".

The list is a table model under a ``QTreeView``, not an item per file: a folder with
50 000 sidecar files took 0.7 s of the UI thread to fill item by item, and a model is
filled at once (the view builds only the rows on screen).
"""

from __future__ import annotations

import html
import os
from typing import Any, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeView,
                               QVBoxLayout, QWidget)

from gui.plain_text import plain_tip

NON_IMAGE = "non_image_file"  # a Problem kind that is only informational (inspect agrees)


class ProblemsModel(QAbstractTableModel):
    """Rows of (shown name, reason, full path): the file column shows the name relative to
    the data folder, its tooltip and ``Qt.UserRole`` the full path."""

    HEADERS = ("File", "Problem")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str, str]] = []

    def set_rows(self, rows: list[tuple[str, str, str]]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else 2

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole and 0 <= section < 2:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        shown, reason, path = self._rows[index.row()]
        if role == Qt.DisplayRole:
            return shown if index.column() == 0 else reason
        if role == Qt.ToolTipRole:
            return plain_tip(path if index.column() == 0 else reason)
        if role == Qt.UserRole:
            return path
        return None

    def path(self, row: int) -> str:
        return self._rows[row][2]

    def text(self, row: int, column: int) -> str:
        return self._rows[row][column]


class ProblemsTab(QWidget):
    """Warnings above, the files below, the selected file's path, "Show in folder" and, for
    a skipped file, "Set aside" (a journalled fix: Undo on the Check data tab)."""

    set_aside_requested = Signal(str)  # the path of a skipped file in the data folder

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._root, self._skipped = "", 0
        lay = QVBoxLayout(self)
        self.warnings_label = QLabel("")
        self.warnings_label.setTextFormat(Qt.RichText)  # a list, its warnings escaped
        self.warnings_label.setWordWrap(True)
        self.warnings_label.hide()
        lay.addWidget(self.warnings_label)
        self.problems = ProblemsModel(self)
        self.problem_tree = QTreeView()
        self.problem_tree.setAccessibleName("Problems")
        self.problem_tree.setModel(self.problems)
        self.problem_tree.setRootIsDecorated(False)
        self.problem_tree.setUniformRowHeights(True)
        self.problem_tree.setAlternatingRowColors(True)
        self.problem_tree.header().setSectionResizeMode(0, QHeaderView.Interactive)
        self.problem_tree.header().resizeSection(0, 220)
        self.problem_tree.setMinimumHeight(90)
        self.problem_tree.selectionModel().currentChanged.connect(self._on_selected)
        lay.addWidget(self.problem_tree, 1)
        path_row = QHBoxLayout()
        self.problem_path = QLabel("Select a problem to see its file.")
        # A file's path and why it was skipped, as written: AutoText showed ".../<b>x.jpg"
        # in bold as ".../x.jpg" (another file), the reason gone.
        self.problem_path.setTextFormat(Qt.PlainText)
        self.problem_path.setObjectName("hint")
        self.problem_path.setWordWrap(True)
        self.problem_path.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.show_button = QPushButton("Show in folder")
        self.show_button.setEnabled(False)
        self.show_button.clicked.connect(self.show_selected_in_folder)
        self.set_aside_button = QPushButton("Set aside")
        self.set_aside_button.setToolTip("Move the selected skipped file into _set_aside/ in "
                                         "the data folder (Undo last fix puts it back)")
        self.set_aside_button.setEnabled(False)
        self.set_aside_button.clicked.connect(lambda: self.set_aside_requested.emit(
            self.selected_path() or ""))
        path_row.addWidget(self.problem_path, 1)
        path_row.addWidget(self.show_button)
        path_row.addWidget(self.set_aside_button)
        lay.addLayout(path_row)

    def fill(self, report: Any, root: Optional[str]) -> str:
        """Show ``report``'s problems and warnings (None: nothing); returns the tab's title."""
        self._root = root or ""
        problems = list(getattr(report, "problems", []) or []) if report is not None else []
        warnings = [str(w) for w in (getattr(report, "warnings", []) or [])] \
            if report is not None else []
        skipped = [p for p in problems if p.kind != NON_IMAGE]
        self._skipped = len(skipped)  # their rows come first
        self.problems.set_rows([(self._short_path(p.path), str(p.reason), p.path) for p in
                                skipped + [p for p in problems if p.kind == NON_IMAGE]])
        self.problem_path.setText(
            "Select a problem to see its file." if skipped else
            "No files were skipped; the files listed are not images and are ignored."
            if problems else "No files were skipped.")
        self.show_button.setEnabled(False)
        self.set_aside_button.setEnabled(False)
        if warnings:
            self.warnings_label.setText("<b>Worth knowing:</b><ul>" + "".join(
                f"<li>{html.escape(w, quote=False)}</li>" for w in warnings) + "</ul>")
            self.warnings_label.show()
        else:
            self.warnings_label.hide()
        counts = [f"{len(skipped)} skipped"] if skipped else []
        if warnings:
            counts.append(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}")
        return f"Problems ({', '.join(counts)})" if counts else "Problems"

    def _on_selected(self, index: QModelIndex, _prev=None) -> None:
        if not index.isValid():
            self.show_button.setEnabled(False)
            self.set_aside_button.setEnabled(False)
            return
        row, path = index.row(), self.problems.path(index.row())
        self.problem_path.setText(f"{path}\n{self.problems.text(row, 1)}")
        self.show_button.setEnabled(True)
        self.set_aside_button.setEnabled(  # a file (or link) of the data folder it skipped
            row < self._skipped and bool(self._root) and not os.path.isdir(path)
            and os.path.lexists(path) and self._short_path(path).split(os.sep)[0] != "..")

    def selected_path(self) -> Optional[str]:
        index = self.problem_tree.currentIndex()
        return self.problems.path(index.row()) if index.isValid() else None

    def show_selected_in_folder(self) -> None:
        path = self.selected_path()
        if path:
            folder = path if os.path.isdir(path) else os.path.dirname(path)
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def _short_path(self, path: str) -> str:
        try:
            return os.path.relpath(path, self._root) if self._root else path
        except ValueError:  # another drive on Windows
            return path


def summary_line(report, n_classes: int, total: int) -> str:
    """"3 classes · 120 images · 2 files skipped · 1 non-image file ignored", counted as
    ``inspect`` counts them."""
    skipped = len(report.error_problems)
    ignored = len(report.problems) - skipped
    parts = [f"{n_classes} class{'es' if n_classes != 1 else ''}",
             f"{total} image{'s' if total != 1 else ''}"]
    if skipped:
        parts.append(f"{skipped} file{'s' if skipped != 1 else ''} skipped")
    if ignored:
        parts.append(f"{ignored} non-image file{'s' if ignored != 1 else ''} ignored")
    return " · ".join(parts)


def missing_folder_text(root: str) -> str:
    """What to do when a project's image folder is not there (moved, renamed, unplugged):
    core's sentence, and what the window then does with the folder chosen."""
    from core.data.folder_walk import folder_gone_text

    text = folder_gone_text(root)
    return (f"{text[:1].upper()}{text[1:]} (Choose image folder…). Evaluate and Resume find a "
            "run's images there when it holds the same ones.")
