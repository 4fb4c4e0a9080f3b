"""Step 10: every past run in one table — sort, filter, compare two, reopen or delete one.

The table reads :class:`core.runs.history.RunHistory` (a small SQLite index), which
is quick enough for the UI thread; rescanning run folders into the index runs as
a :class:`gui.jobs.Job`, outside the window's one long-job slot, so it works even
while a training run is going.  Training records each run itself; the page only
refreshes when ``AppState.run_changed`` says a run finished or was opened.

Selecting one row shows what was exported from that run (the history records every
export made from a run folder) and enables "Open in TensorBoard" when the run has logs.
Selecting two rows compares them: the settings that differ (dotted keys, the
same names the config file uses) and their validation curves overlaid, so
"did the lower learning rate help?" has a visible answer.  The curves'
numbers are kept in :attr:`RunsPage.compare_series` for tests
(:mod:`gui.pages.runs.compare`).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QSplitter, QTableView,
                               QVBoxLayout, QWidget)

from core.errors import UserError
from core.path_names import is_within, same_path
from core.runs.unfinished import without_model
from gui import plain_text
from gui.jobs import Job
from gui.keys import modifier_click
from gui.pages.base import Page
from gui.pages.runs.actions import DELETE_TIP, OPEN_TIP, damage_of, update_actions
from gui.pages.runs.compare import CompareView
from gui.pages.runs.rows import (COLUMN_TIPS, COLUMNS, ID_ROLE, SORT_ROLE, RunsProxy,
                                 exports_text, run_cells)
from gui.plain_text import plain_tip
from gui.widgets.report_button import ReportButton
from gui.widgets.tensorboard_button import TensorBoardButton, opened_message

def rebuild_job(db_path: str, roots: list[str], listener=None, cancel=None) -> int:
    """Worker: re-index run folders (reads every run folder: not for the UI thread)."""
    from core.runs.history import RunHistory

    return RunHistory(db_path).rebuild_index(roots, listener=listener, cancel=cancel)


class RunsPage(Page):
    key = "runs"
    title = "10 · Runs"
    intro = ("Every training run, from this app or the command line. Sort by a column, type "
             "to filter, select one run to open or delete it, or two runs to compare their "
             "settings and validation curves.")
    next_text = ""

    runs_listed = Signal(int)  # rows in the table after a refresh
    compared = Signal(object)  # core.runs.history.RunComparison
    rebuilt = Signal(int)      # runs in the index after a rescan

    def __init__(self, state, runner, parent=None) -> None:
        super().__init__(state, runner, parent)
        self._history = None
        self._rebuild: Optional[Job] = None
        self.comparison = None
        self.body.addLayout(self._build_bar())
        self.compare_box = CompareView()
        self.diff_table = self.compare_box.diff_table
        self.compare_hint = QLabel(f"Select two runs ({modifier_click()}) to compare them.")
        self.compare_hint.setObjectName("hint")
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self._build_table())
        splitter.addWidget(self.compare_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        self.body.addWidget(splitter, 1)
        self.body.addWidget(self.compare_hint)
        self.compare_box.hide()

        self.filter_edit.textChanged.connect(self._on_filter)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        # Enter opens the run too (it did nothing: only a double-click did), as Open does
        self.table.activated.connect(lambda _i: self.open_selected())
        self.open_button.clicked.connect(self.open_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.rescan_button.clicked.connect(lambda: self.rescan())
        self.add_button.clicked.connect(self._choose_folder)
        self.tensorboard_button.opened.connect(
            lambda url, shown: self.show_info(opened_message(url, shown)))
        self.tensorboard_button.failed.connect(self.show_error)
        self.report_button.saved.connect(lambda path: self.show_info(f"Saved the report: {path}"))
        self.report_button.failed.connect(self.show_error)
        state.run_changed.connect(lambda _r: self.refresh() if self._history is not None else None)
        self._on_selection()

    # ------------------------------------------------------------------ building
    def _build_bar(self) -> QVBoxLayout:
        bar = QHBoxLayout()
        self.filter_edit = QLineEdit(placeholderText="Filter: backbone, folder, status, date…")
        self.filter_edit.setAccessibleName("Filter the runs")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(240)  # the whole placeholder shows, even at 900 px
        self.filter_edit.setMaximumWidth(420)
        bar.addWidget(self.filter_edit, 2)
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip(OPEN_TIP)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setToolTip(DELETE_TIP)
        self.add_button = QPushButton("Add folder…")
        self.add_button.setToolTip("Index run folders copied from elsewhere or made with "
                                   "'python main.py train --out FOLDER'")
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setToolTip("Re-read every known run folder (the folders are the "
                                      "truth; the list is only an index of them)")
        self.tensorboard_button = TensorBoardButton("Select one run to see its logs")
        self.report_button = ReportButton("Select one run to save its report")
        bar.addWidget(self.add_button)
        bar.addWidget(self.rescan_button)
        # What to do with the selected run, on a row of its own (all of it fits a small window).
        selected = QHBoxLayout()
        for b in (self.open_button, self.tensorboard_button, self.report_button,
                  self.delete_button):
            selected.addWidget(b)
        selected.addStretch(1)
        rows = QVBoxLayout()
        rows.addLayout(bar)
        rows.addLayout(selected)
        return rows

    def _build_table(self) -> QWidget:
        """The runs table, with the selected run's exports under it."""
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        for col, name in enumerate(COLUMNS):
            if name in COLUMN_TIPS:
                self.model.horizontalHeaderItem(col).setToolTip(COLUMN_TIPS[name])
        self.proxy = RunsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.table = QTableView()
        self.table.setAccessibleName("Runs")
        self.table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)  # long folders elide in the middle; the tooltip has all
        self.table.setTextElideMode(Qt.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)

        self.empty_label = QLabel("No runs yet. Train one on the Train page (or with "
                                  "<tt>python main.py train</tt>); it appears here when it ends.")
        self.empty_label.setObjectName("hint")
        self.empty_label.setWordWrap(True)
        top = QWidget()
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.addWidget(self.empty_label)
        top_lay.addWidget(self.table, 1)
        self.exports_label = QLabel()
        self.exports_label.setObjectName("hint")
        self.exports_label.setWordWrap(True)
        self.exports_label.setTextFormat(Qt.RichText)
        self.exports_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        top_lay.addWidget(self.exports_label)
        self.exports_label.hide()
        return top

    # ------------------------------------------------------------------ data
    @property
    def history(self):
        """The index, opened on first use (a damaged file is rebuilt right there)."""
        if self._history is None:
            from core.runs.history import RunHistory

            self._history = RunHistory()
            if self._history.recovered_from is not None:
                self.show_info(f"The run history was damaged and has been rebuilt from the run "
                               f"folders (the old file is kept as "
                               f"{self._history.recovered_from.name}).")
        return self._history

    def on_shown(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Reload the table from the index, keeping the selected runs selected."""
        keep = set(self.selected_ids())
        try:
            runs = self.history.list_runs()
        except (UserError, OSError) as exc:
            self.show_error(str(exc))
            return
        self.model.removeRows(0, self.model.rowCount())
        for r in runs:
            self.model.appendRow(run_cells(r, same_path(r.path, self.state.run_dir)))
        self.empty_label.setVisible(not runs)
        self._update_count()
        if keep:
            self.select_ids(list(keep))
        self.compare_hint.setVisible(self.compare_box.isHidden() and self.model.rowCount() >= 2)
        self.runs_listed.emit(self.proxy.rowCount())

    def _update_count(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.count_label.setText(f"{shown} of {total} runs" if shown != total else
                                 f"{total} run{'s' if total != 1 else ''}")

    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._update_count()

    # ------------------------------------------------------------------ selection
    def visible_ids(self) -> list[int]:
        """Run ids in table order (after sorting and filtering)."""
        return [self.proxy.index(i, 0).data(ID_ROLE) for i in range(self.proxy.rowCount())]

    def selected_ids(self) -> list[int]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.proxy.index(r, 0).data(ID_ROLE) for r in rows]

    def select_ids(self, ids: list[int]) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        sel = QItemSelection()
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ID_ROLE) in ids:
                sel.select(self.proxy.index(row, 0),
                           self.proxy.index(row, self.proxy.columnCount() - 1))
        self.table.selectionModel().select(sel, QItemSelectionModel.ClearAndSelect)

    def _on_selection(self) -> None:
        self.clear_message()  # a message about the runs selected before no longer applies
        ids = self.selected_ids()
        self._show_run_details(update_actions(self, ids))
        if len(ids) == 2:
            self.compare(*ids)
        else:
            self.compare_box.hide()
            self.compare_hint.setVisible(self.model.rowCount() >= 2)

    def _show_run_details(self, run) -> None:
        """The one selected run's exports and TensorBoard button (None: no single run)."""
        exports = None
        damage = damage_of(run)
        if run is not None:  # deleted, duplicate and overwritten exports left out
            from core.report.gather import current_exports

            exports, _gone = current_exports(Path(run.path).resolve(), self.history)
        self.tensorboard_button.set_run(run.path if run is not None else None)
        self.report_button.set_run(None if run is None or damage else run.path, damage or (
            "" if run is None else f"{run.path} is not there any more"))
        if run is None:
            self.exports_label.hide()
            return
        self.exports_label.setText((f"<b>Damaged:</b> {html.escape(damage)}<br>" if damage
                                    else "") + exports_text(run.name, exports or []))
        self.exports_label.setToolTip(plain_tip("\n".join(e["path"] for e in exports or [])))
        self.exports_label.show()

    # ------------------------------------------------------------------ actions
    def open_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        run = self.history.get(ids[0])
        if not run.exists:
            self.show_error(f"{run.path} no longer exists. Delete the entry, or Rescan to "
                            "drop every run whose folder is gone.")
            return
        if damage_of(run):  # Open is off for it; a double-click or Enter still lands here
            self.show_error(damage_of(run))
            return
        self.state.set_run(run.path)
        if run.model_path.exists():
            self.state.set_model(str(run.model_path))
            self.show_info(f"Opened {run.name}: Evaluate, Predict, Export and Network now use "
                           "its model.")
        else:  # the previous run's model must not stay in use under this run's name
            self.state.set_model(None)
            self.show_info(f"Opened {run.name}; {without_model(run.path, run.shown_status)}")

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        run = self.history.get(ids[0])
        answer = plain_text.question(  # a run named "<img src=x>A" showed a broken picture
            self, "Delete this run?",
            f"Delete the run “{run.name}” and its folder, model included?\n\n{run.path}\n\n"
            "This cannot be undone.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer != QMessageBox.Yes:
            return
        try:
            self.history.delete_run(run.id, delete_files=True)
        except (UserError, OSError) as exc:  # "[Errno 13] ..." said nothing of what to do
            self.show_error(f"Could not delete {run.path}: " + (str(exc) if isinstance(
                exc, UserError) else f"{exc.strerror or exc}; a file in it may be open in "
                "another program, or the folder is not writable: close it, then delete again"))
            return
        self.state.forget_run(run.path)
        if self.state.last_model and Path(self.state.last_model).resolve().parent == Path(run.path):
            self.state.set_model(None)
        self.table.clearSelection()
        self.refresh()
        self.show_info(f"Deleted {run.name}.")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with run folders")
        if folder:
            self.rescan([folder])

    def rescan(self, roots: Optional[list[str]] = None) -> Optional[Job]:
        """Re-index run folders in a worker (known ones, the default runs folder, ``roots``)."""
        if self._rebuild is not None and self._rebuild.is_running():
            return None
        job = Job(rebuild_job, str(self.history.db_path), list(roots or []),
                  name="Rescanning runs", parent=self)
        self._rescan_said: list[str] = []  # core's warnings ("not valid UTF-8: rename it")
        self._rescan_roots = [os.path.realpath(r) for r in roots or []]  # as the index
        job.progress.connect(lambda e: self._rescan_said.append(e.message)
                             if getattr(e, "level", "") == "warning" else None)
        job.finished.connect(self._on_rebuilt)
        job.failed.connect(lambda msg, _tb: self.show_error(f"Rescan failed: {msg}"))
        job.done.connect(lambda: self._set_scanning(False))
        self._set_scanning(True)
        self._rebuild = job
        return job.start()

    def _set_scanning(self, busy: bool) -> None:
        """Rescan and Add folder… wait for a rescan: a folder added meanwhile was dropped."""
        for button in (self.rescan_button, self.add_button):
            button.setEnabled(not busy)

    def _on_rebuilt(self, n: int) -> None:
        self.refresh()
        listed = [os.path.abspath(r.path) for r in self.history.list_runs()]
        empty = [r for r in self._rescan_roots if not any(is_within(p, r) for p in listed)]
        empty_text = [f"No run folders were found in {r}." for r in empty]  # a fact, not an error
        text = " ".join([f"Rescanned: {n} run{'s' if n != 1 else ''} in the list.", *empty_text])
        if self._rescan_said:
            said = "; ".join(self._rescan_said)
            self.show_error(f"{text} {said[:1].upper()}{said[1:]}.")
        else:
            self.show_info(text)
        self.rebuilt.emit(n)

    # ------------------------------------------------------------------ compare
    @property
    def compare_series(self) -> dict[str, dict[str, list[float]]]:
        """The compared runs' validation points ({"A": {"x": ..., "val_accuracy": ...}, "B": ...})."""
        return self.compare_box.series

    def compare(self, a: int, b: int) -> None:
        try:
            cmp = self.history.compare(a, b)
        except UserError as exc:
            self.show_error(str(exc))
            return
        self.comparison = cmp
        self.compare_box.show_comparison(cmp)
        self.compare_box.show()
        self.compare_hint.hide()
        self.compared.emit(cmp)

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self) -> None:
        if self._rebuild is not None and self._rebuild.is_running():
            self._rebuild.cancel()
            self._rebuild.wait()
        self.tensorboard_button.shutdown()
        from core.train.tensorboard import stop_all_servers

        stop_all_servers()  # every page's servers: the window is closing
