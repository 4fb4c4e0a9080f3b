"""Step 1: the images.  Pick a folder (or drop one, or try the sample), see what is in it,
what is wrong with it, and how it will be split.  The scan runs as the window's long job
(``core.data.dataset.scan_dataset``); nothing here reads a file on the UI thread: thumbnails
come from :class:`gui.thumbnails.ThumbnailModel`.  The split settings edit ``config.data``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from core.appdirs import sample_dataset_dir
from core.path_names import same_path
from core.shown import plural, verb
from gui.keys import key_text
from gui.pages.base import Page
from gui.state import touches
from gui.thumbnails import ThumbnailModel
from gui.pages.data.audit_findings import grid_view
from gui.pages.data.audit_view import AuditView
from gui.pages.data.capture_dialog import CaptureDialog, close_all
from gui.pages.data.class_chart import ClassBarChart, fit_rows
from gui.pages.data.fix_messages import FixMessages
from gui.pages.data.jobs import sample_job, scan_job
from gui.pages.data.problems import ProblemsTab, missing_folder_text, summary_line
from gui.pages.data.split_box import SplitBox
from gui.widgets.flow_layout import FlowLayout
from gui.widgets.turning_splitter import TurningSplitter

ALL_CLASSES = "All classes"
SIDE_BY_SIDE_FROM = 820  # the classes column beside the tabs from this wide, else above


class DataPage(Page):
    key = "data"
    title = "1 · Your images"
    intro = ("Choose a folder that holds one sub-folder per class — for example good/ and "
             "scratched/ — or drop such a folder onto this window. No images yet? Try the "
             "sample dataset.")
    next_text = "Next: choose a model"

    scan_finished = Signal(object)  # DatasetReport
    scan_failed = Signal(str)

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.report: Any = None
        self._scanned_root: Optional[str] = None
        self._job = None
        self.capture_dialog = None
        self.body.addLayout(self._build_top_row())
        self.folder_label = QLabel("No folder chosen yet.")
        self.folder_label.setTextFormat(Qt.PlainText)  # "Folder: <path>", a name as written
        self.folder_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary_label = QLabel("")
        for label in (self.folder_label, self.summary_label):
            label.setWordWrap(True)  # a long path goes on after a "/" on the next line
            self.body.addWidget(label)
        # left: classes and chart; right: images and problems
        split = TurningSplitter(SIDE_BY_SIDE_FROM, shared=True)  # 2:3 of the width
        split.addWidget(self._build_classes())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_images_tab(), "Images")
        self.problems_tab = ProblemsTab()
        self.tabs.addTab(self.problems_tab, "Problems")
        tab = self.problems_tab  # its widgets by name (tests and the screenshots read them)
        self.problem_tree, self.problem_path = tab.problem_tree, tab.problem_path
        self.warnings_label, self.show_in_folder_button = tab.warnings_label, tab.show_button
        self.audit_view = AuditView(state, runner)
        self.tabs.addTab(self.audit_view, "Check data")
        self.audit_view.files_changed.connect(self._rescan_soon)
        self.fix_messages = FixMessages(self)  # a fix's message outlives its rescan
        self.audit_view.message.connect(self.fix_messages.show)
        self.problems_tab.set_aside_requested.connect(self.audit_view.set_aside_file)
        self._rescan_pending = False
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        self.body.addWidget(split, 1)
        self.body.addWidget(self._build_split_box())

        self.runner.busy_changed.connect(self._on_busy)
        self.state.config_changed.connect(self._on_config_changed)
        self._sync_from_config()
        self._update_next()

    # ------------------------------------------------------------------ building
    def _build_top_row(self) -> FlowLayout:
        row = FlowLayout()  # on two lines when the page is narrow (a big font)
        self.choose_button = QPushButton("Choose image folder…")
        self.choose_button.setObjectName("primary")
        self.choose_button.setToolTip("Pick the folder with one sub-folder per class "
                                      f"({key_text('Ctrl+Shift+O')})")
        self.choose_button.clicked.connect(self.choose_folder)
        self.sample_button = QPushButton("Try the sample dataset")
        self.sample_button.setToolTip("Makes a small set of shape images (circles, squares, "
                                      "triangles) and opens it")
        self.sample_button.clicked.connect(self.open_sample)
        self.rescan_button = QPushButton("Scan again")
        self.rescan_button.setShortcut(QKeySequence("F5"))
        self.rescan_button.setToolTip("Read the folder again after changing files (F5)")
        self.rescan_button.clicked.connect(self.rescan)
        self.rescan_button.setEnabled(False)
        self.capture_button = QPushButton("Capture from camera…")
        self.capture_button.setToolTip("Take pictures with a camera straight into a class "
                                       "folder of this image folder")
        self.capture_button.clicked.connect(self.open_capture)
        row.addWidget(self.choose_button)
        row.addWidget(self.sample_button)
        row.addWidget(self.rescan_button)
        row.addWidget(self.capture_button)
        row.addStretch(1)
        return row

    def _build_classes(self) -> QWidget:
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.setContentsMargins(0, 0, 0, 0)
        self.class_table = QTableWidget(0, 3)
        self.class_table.setAccessibleName("Classes")
        self.class_table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.class_table.setHorizontalHeaderLabels(["Class", "Images", "Share"])
        self.class_table.verticalHeader().hide()
        self.class_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.class_table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.class_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.class_table.itemSelectionChanged.connect(self._on_class_row_selected)
        self.chart = ClassBarChart()
        left_lay.addWidget(QLabel("<b>Classes</b>"))
        left_lay.addWidget(self.class_table)
        left_lay.addWidget(self.chart, 1)
        fit_rows(self.class_table, 0)
        return left

    def _build_images_tab(self) -> QWidget:
        images = QWidget()
        img_lay = QVBoxLayout(images)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        self.class_combo = QComboBox()
        self.class_combo.setAccessibleName("Show class")
        self.class_combo.setMinimumContentsLength(16)
        self.class_combo.currentTextChanged.connect(self._show_class)
        top.addWidget(self.class_combo)
        top.addStretch(1)
        img_lay.addLayout(top)
        self.thumbs = ThumbnailModel(self)
        self.thumb_view = grid_view(self.thumbs, "Images of the class")  # double-click opens
        img_lay.addWidget(self.thumb_view, 1)
        return images

    def _build_split_box(self) -> SplitBox:
        """The split settings (``config.data``)."""
        self.split_box = SplitBox()
        self.val_spin, self.seed_spin = self.split_box.val_spin, self.split_box.seed_spin
        self.cache_spin, self.split_note = self.split_box.cache_spin, self.split_box.split_note
        self.val_spin.valueChanged.connect(lambda v: self.state.set("data.val_split", v / 100))
        self.seed_spin.valueChanged.connect(lambda v: self.state.set("data.seed", v))
        self.cache_spin.valueChanged.connect(lambda v: self.state.set("data.cache_mb", v))
        self.split_box.together_check.toggled.connect(
            lambda on: self.state.set("data.keep_duplicates_together", bool(on)))
        self.state.near_copies_changed.connect(self._update_split_note)
        return self.split_box

    # ------------------------------------------------------------------ opening
    def choose_folder(self) -> None:
        start = self.state.config.data.data_dir or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose the image folder", start)
        if path:
            self.open_folder(path)

    def open_folder(self, path: str) -> bool:
        """Use ``path`` as the image folder and scan it; False (and the folder unchanged)
        if a job is running: the setting follows the scan, so the pages never show one
        folder while training would read another."""
        path = os.path.abspath(path)
        if not self._start_scan(path, back=self._scanned_root if self.report else None):
            return False
        self.state.set("data.data_dir", path)
        return True

    def rescan(self) -> bool:
        path = self.state.config.data.data_dir
        return bool(path) and self._start_scan(path)

    def _rescan_soon(self) -> None:
        """Fixes moved files: scan again now, or as soon as the running job ends."""
        self.fix_messages.rescanning()
        self._rescan_pending = self.runner.is_busy() or not self.rescan()

    def open_capture(self):
        """The capture dialog for the chosen folder (None: no folder yet); rescans after it."""
        root = self.state.config.data.data_dir
        if not root or not os.path.isdir(root):
            self.show_error("Choose the image folder first (an empty folder is fine): the "
                            "pictures go into its class folders.")
            return None
        scanned = (self.report is not None and (self._job is None or not self._job.is_running())
                   and same_path(self._scanned_root, root))
        self.capture_dialog = CaptureDialog(root, self, dict(self.report.counts) if scanned
                                            else None)
        self.capture_dialog.finished.connect(lambda _r, d=self.capture_dialog: self._captured(d))
        self.capture_dialog.failed_after_closing.connect(self.show_error)
        self.capture_dialog.open()
        return self.capture_dialog

    def _captured(self, dialog) -> None:
        """After the capture dialog: scan again once its last pictures are written."""
        if dialog.saver.busy():
            dialog.saver.idle.connect(lambda d=dialog: self._captured(d))
        elif dialog.changed:
            dialog.changed = False
            self._rescan_soon()

    def open_sample(self) -> bool:
        """Make (once) and open the synthetic sample dataset."""
        root = str(sample_dataset_dir())
        job = self.runner.start(sample_job, root, name="Making the sample dataset")
        if job is None:
            self._busy_message()
            return False
        self.clear_message()
        job.finished.connect(self.open_folder)
        job.failed.connect(lambda msg, _tb: self.show_error(msg))
        return True

    def _start_scan(self, path: str, back: Optional[str] = None) -> bool:
        """``back``: the folder on show, which a cancelled scan of ``path`` returns to."""
        job = self.runner.start(scan_job, path, name="Scanning images")
        if job is None:
            self._busy_message()
            return False
        self._job = job
        self.fix_messages.started()
        self.clear_message()
        self.folder_label.setText(f"Folder: {path}")
        self.summary_label.setText("Scanning…")
        job.finished.connect(lambda report, p=path: self._on_scanned(p, report))
        job.failed.connect(lambda msg, _tb, p=path: self._on_scan_failed(p, msg))
        job.cancelled.connect(lambda p=path, b=back: self._on_scan_cancelled(p, b))
        return True

    def _busy_message(self) -> None:
        job = self.runner.current
        self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running "
                        "(or cancel it in the status bar).")

    # ------------------------------------------------------------------ results
    def _on_scanned(self, root: str, report: Any) -> None:
        self._scanned_root = root
        self.report = report
        self.thumbs.forget()  # an image edited since the last scan showed its old thumbnail
        self.audit_view.set_folder(root, report)
        self._fill(report)
        self.fix_messages.scanned(report)
        self.state.set_dataset_report(report)
        self.scan_finished.emit(report)

    def _on_scan_cancelled(self, path: str, shown: Optional[str]) -> None:
        """A cancelled scan of another folder goes back to the folder on show: the setting
        had moved on, so the pages named one folder and showed (and trained) another."""
        if self.report is None or shown in (None, path) or shown != self._scanned_root:
            self.summary_label.setText("Scan cancelled.")
            return
        self.state.set("data.data_dir", shown)
        self.folder_label.setText(f"Folder: {shown}")
        self.state.set_dataset_report(self.report)
        self._fill(self.report)
        self.show_info(f"The scan of {path} was cancelled; still using {shown}.")

    def _on_scan_failed(self, root: str, message: str) -> None:
        self._scanned_root = root
        self.report = None
        self.audit_view.set_folder(None)
        self._fill(None)
        self.summary_label.setText("")
        self.show_error(message)
        self.state.set_dataset_report(None)
        self.scan_failed.emit(message)

    def _fill(self, report: Any) -> None:
        classes = list(report.classes) if report is not None else []
        counts = report.counts if report is not None else {}
        numbers = [int(counts.get(c, 0)) for c in classes]
        total = sum(numbers)
        self.class_table.setRowCount(len(classes))
        for i, (name, n) in enumerate(zip(classes, numbers)):
            share = f"{100 * n / total:.0f} %" if total else "–"
            for col, text in enumerate((name, str(n), share)):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.class_table.setItem(i, col, item)
        self.class_table.resizeColumnsToContents()
        fit_rows(self.class_table, len(classes))
        self.class_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.chart.set_counts(classes, numbers)

        self.tabs.setTabText(1, self.problems_tab.fill(report, self._scanned_root))
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        if classes:
            self.class_combo.addItems([ALL_CLASSES] + classes)
        self.class_combo.blockSignals(False)
        self._show_class(self.class_combo.currentText())

        if report is None:
            self.summary_label.setText("")
        else:
            self._summarise(report, len(classes), total)
        self.rescan_button.setEnabled(bool(self.state.config.data.data_dir))
        self._update_split_note()
        self._update_next()

    def _summarise(self, report: Any, n_classes: int, total: int) -> None:
        """The one-line summary and the banner; files are counted as ``inspect`` counts them."""
        skipped = len(report.error_problems)
        self.summary_label.setText(summary_line(report, n_classes, total))
        if not report.usable:
            self.show_error(f"This folder cannot be used yet: {report.unusable_reason}")
        elif skipped:
            self.show_info(f"{plural(skipped, 'file')} {verb(skipped, 'was')} skipped; see "
                           "the Problems tab. Training uses the other images.")

    def _show_class(self, name: str) -> None:
        records = list(getattr(self.report, "records", []) or []) if self.report else []
        if name and name != ALL_CLASSES:
            records = [r for r in records if r.class_name == name]
        paths = [str(r.path) for r in records]
        captions = [os.path.basename(p) for p in paths]  # 20,000 Paths took 0.1-0.3 s
        self.thumbs.set_items(paths, captions)
        self.thumbs.prefetch(48)

    def _on_class_row_selected(self) -> None:
        rows = self.class_table.selectionModel().selectedRows()
        if rows:
            name = self.class_table.item(rows[0].row(), 0).text()
            self.class_combo.setCurrentText(name)
            self.tabs.setCurrentIndex(0)

    # ------------------------------------------------------------------ settings
    def _on_config_changed(self, path: str) -> None:
        if touches(path, "data"):
            self._sync_from_config()
        if path == "":
            # A project was opened: show its images (or nothing) without touching settings.
            root = self.state.config.data.data_dir
            if root and os.path.isdir(root):
                if root != self._scanned_root or self.report is None:
                    self.report = self._scanned_root = None  # cancelled, no last project's
                    self.audit_view.set_folder(None)  # folder on show or to go back to
                    self._fill(None)
                    self._start_scan(root)
                else:  # the folder shown already: the opened project's state gets its scan
                    self.state.set_dataset_report(self.report)
            else:
                self.report = None
                self._scanned_root = None
                self.audit_view.set_folder(None)  # its Check would act on the old folder
                self._fill(None)
                self.folder_label.setText(f"Folder not found: {root}" if root
                                          else "No folder chosen yet.")
                if root:  # a grey line was all it said, and the next steps just failed
                    self.show_error(missing_folder_text(root))

    def _sync_from_config(self) -> None:
        self.split_box.show_config(self.state.config.data)
        self._update_split_note()

    def _update_split_note(self) -> None:
        report = self.report
        split = self.state.planned_split(report) if report is not None else None
        checked = report is not None and self.state.near_copies[0] == report.root
        self.split_box.show_note(report, split, self.state.config.data, checked)

    def _on_busy(self, busy: bool) -> None:
        for b in (self.choose_button, self.sample_button):
            b.setEnabled(not busy)
        self.rescan_button.setEnabled(not busy and bool(self.state.config.data.data_dir))
        self.audit_view.check_button.setEnabled(not busy and bool(self.audit_view.root))
        if not busy and self._rescan_pending:
            self._rescan_pending = False
            self.rescan()

    def _update_next(self) -> None:
        if self.next_button is not None:
            self.next_button.setEnabled(bool(self.report is not None and self.report.usable))

    def shutdown(self) -> None:
        close_all(self)  # the pictures taken are written first
        self.thumbs.shutdown()
        self.audit_view.shutdown()
