"""The data check's near-copy groups, side by side, with "keep one".

A list of the groups (how many copies, whether they span classes or are
byte-identical); the selected group's images side by side, large enough to
compare.  "Keep this one" (K) sets the other members aside -- a rename into
``_set_aside/``, undoable -- and "Keep all" (A) leaves the group as it is: the
split keeps its members together anyway.  A group kept whole is remembered for
the folder (:mod:`core.audit.kept`, kind "groups"): the next check, also after a
restart, lists it after the others, marked kept, until one of its images changes
or a new copy joins it; one of its copies may still be kept alone.  Like the
findings grid, the panel only asks (``decided``); the view applies the fixes and
marks the group.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QVBoxLayout, QWidget)

from gui.pages.data.audit_findings import grid_view
from gui.thumbnails import ThumbnailModel

SIDE = 150
KEPT_ALL = "✓ kept all"


def group_text(group, root: str) -> str:
    """'3 copies · cat, dog (across classes)' for a :class:`core.audit.result.DuplicateGroup`."""
    classes = sorted(set(group.classes))
    text = f"{len(group.paths)} copies · {', '.join(classes)}"
    if len(classes) > 1:
        text += " (across classes)"
    if group.exact:
        text += " · identical files"
    return text


class GroupsPanel(QWidget):
    """Near-copy groups: a list, the selected group side by side, keep one or keep all."""

    decided = Signal(list)  # [(path, "set_aside", "")]
    problem = Signal(str)  # a group kept whole could not be remembered: why

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.groups: list = []
        self.root = ""
        self.done: dict[int, str] = {}
        self._kept_all: set[int] = set()  # kept whole, here or at an earlier check
        self.list = QListWidget()
        self.list.setAccessibleName("Groups of near-copies")
        self.list.setSelectionMode(QAbstractItemView.SingleSelection)
        self.list.currentRowChanged.connect(self._show_group)
        self.list.setMinimumWidth(140)
        self.empty = QLabel("")
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        self.model = ThumbnailModel(self, side=SIDE)
        self.members = grid_view(self.model, "Images in the group")
        self.members.setSelectionMode(QAbstractItemView.SingleSelection)
        self.members.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.keep_one_button = QPushButton("Keep this one (K)")
        self.keep_one_button.setShortcut(QKeySequence("K"))
        self.keep_one_button.setToolTip("Keep the selected copy; the others move to "
                                        "_set_aside/ in the data folder (K). Undo puts them back.")
        self.keep_one_button.clicked.connect(self.keep_selected)
        self.keep_all_button = QPushButton("Keep all (A)")
        self.keep_all_button.setShortcut(QKeySequence("A"))
        self.keep_all_button.setToolTip("Leave every copy in place; training keeps the group "
                                        "on one side of the split anyway (A)")
        self.keep_all_button.clicked.connect(self.keep_all)
        self.hint = QLabel("")
        self.hint.setTextFormat(Qt.PlainText)  # it names a copy's file
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addWidget(self.hint)
        rl.addWidget(self.members, 1)
        row = QHBoxLayout()
        row.addWidget(self.keep_one_button)
        row.addWidget(self.keep_all_button)
        row.addStretch(1)
        rl.addLayout(row)
        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.empty)
        ll.addWidget(self.list, 1)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    def set_groups(self, groups: Sequence, root: str, empty_text: str) -> None:
        """Show ``groups`` (:class:`core.audit.result.DuplicateGroup`) found in ``root``,
        those kept whole at an earlier check last and marked kept (a review: "Keep all"
        was forgotten, and the next check asked about the same groups again)."""
        from core.audit.kept import kept_sets, was_kept

        kept = kept_sets(root)["groups"] if root else set()
        whole = [was_kept(g.paths, kept) for g in groups]
        order = sorted(range(len(groups)), key=lambda i: whole[i])
        self.groups, self.root, self.done = [groups[i] for i in order], root, {}
        self._kept_all = {n for n, i in enumerate(order) if whole[i]}
        self.list.clear()
        for g in self.groups:
            self.list.addItem(QListWidgetItem(group_text(g, root)))
        for index in self._kept_all:
            self.mark_group(index, KEPT_ALL)
        self.empty.setText(empty_text)
        self.empty.setVisible(not self.groups)
        if self.groups:
            self.list.setCurrentRow(0)
        else:
            self._show_group(-1)

    def mark_group(self, index: int, text: str) -> None:
        """Show what was done with group ``index`` ("" when it was undone: kept whole
        again if it was)."""
        if not 0 <= index < len(self.groups):
            return
        text = text or (KEPT_ALL if index in self._kept_all else "")
        item = self.list.item(index)
        if text:
            self.done[index] = text
            item.setText(f"{text} · {group_text(self.groups[index], self.root)}")
            item.setForeground(QColor("#8a8f96"))
        else:
            self.done.pop(index, None)
            item.setText(group_text(self.groups[index], self.root))
            item.setData(Qt.ForegroundRole, None)
        if index == self.list.currentRow():
            self._show_group(index)

    def _rel(self, path: str) -> str:
        try:
            return os.path.relpath(path, self.root).replace(os.sep, "/")
        except ValueError:
            return path

    def _show_group(self, index: int) -> None:
        if not 0 <= index < len(self.groups):
            self.model.set_items([])
            self.hint.setText("")
            self._update_buttons()
            return
        g = self.groups[index]
        self.model.set_items(list(g.paths), [self._rel(p) for p in g.paths])
        self.model.prefetch(len(g.paths))
        # the first copy is current (arrow keys start there) but not selected: K keeps
        # only a copy the user picked, as the hint asks (a review: after a group was
        # decided, a second K kept the next group's first copy unchosen)
        self.members.selectionModel().setCurrentIndex(self.model.index(0),
                                                      QItemSelectionModel.NoUpdate)
        done = self.done.get(index)
        if done == KEPT_ALL:
            done += " (select a copy and Keep this one to set the others aside after all)"
        self.hint.setText(done or "Select the copy to keep. Double-click opens an image.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        index = self.list.currentRow()
        shown = 0 <= index < len(self.groups)
        rows = self.members.selectionModel().selectedIndexes()
        picked = bool(rows) and not self.model.mark(self.model.path(rows[0].row()))
        self.keep_one_button.setEnabled(shown and self._open(index) and picked)
        self.keep_all_button.setEnabled(shown and index not in self.done)

    def _open(self, index: int) -> bool:
        """Group ``index`` may still be decided: a group kept whole may still keep one."""
        return self.done.get(index, KEPT_ALL) == KEPT_ALL

    def mark(self, path: str, text: str) -> None:
        """``path`` was moved or set aside from another tab ("": undone): shown on its
        thumbnail, and it can no longer be the copy kept."""
        self.model.set_mark(path, text)
        self._update_buttons()

    def keep_selected(self) -> None:
        """Set aside the other copies of the group, keeping the selected one, which must
        still be in the folder (keeping a copy already set aside left none)."""
        index = self.list.currentRow()
        rows = self.members.selectionModel().selectedIndexes()
        if not (0 <= index < len(self.groups)) or not self._open(index) or not rows:
            return
        keep = self.model.path(rows[0].row())
        if self.model.mark(keep):
            self.hint.setText(f"{self._rel(keep)} is already {self.model.mark(keep)}: keep a "
                              "copy still in the folder, or Undo first.")
            return
        others = [p for p in self.groups[index].paths if p != keep and not self.model.mark(p)]
        if not others:  # the other copies were fixed from another tab already
            self.mark_group(index, "✓ kept one")
            self.advance(index)
            return
        self.decided.emit([(p, "set_aside", "") for p in others])

    def keep_all(self) -> None:
        """Leave the group as it is, remembered for the next check (:mod:`core.audit.kept`)."""
        from core.audit.kept import remember_kept

        index = self.list.currentRow()
        if 0 <= index < len(self.groups) and index not in self.done:
            self._kept_all.add(index)
            self.mark_group(index, KEPT_ALL)
            if self.root:
                try:
                    remember_kept(self.root, "groups", self.groups[index].paths)
                except OSError as exc:
                    self.problem.emit(f"The kept group could not be remembered for the next "
                                      f"check ({exc}); it is kept for this one.")
            self.advance(index)

    def advance(self, index: int) -> None:
        """Select the next group still to decide after group ``index``."""
        for i in list(range(index + 1, len(self.groups))) + list(range(index)):
            if i not in self.done:
                self.list.setCurrentRow(i)
                return

    def group_of(self, path: str) -> int:
        """The index of the group holding ``path`` (-1: none)."""
        for i, g in enumerate(self.groups):
            if path in g.paths:
                return i
        return -1
