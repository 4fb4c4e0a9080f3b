"""The main window: a sidebar of steps, one page per step, the project menu.

The window only arranges things: each page lives in ``gui/pages/`` and edits the
shared :class:`gui.state.AppState`; projects (``gui.window_projects``), dropped
files (``gui.window_drops``) and the menus (``gui.window_menus``) are mixins; long work goes through the window's one
:class:`gui.jobs.JobRunner`, whose progress shows in the status bar with a
Cancel button.  TensorFlow is imported in the background after the window is
on screen (``gui.tf_loader``), so the window appears at once.
"""

from __future__ import annotations

import logging
from typing import Optional

from PySide6.QtCore import QByteArray, QCoreApplication, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QStackedWidget, QWidget)

from core.events import BatchEnd, DeviceChosen, FileSkipped, Log, PhaseStarted, Progress
from gui import plain_text, recent, tf_loader, wheel_guard
from gui.jobs import Job, JobRunner, cancel_all_jobs, live_jobs
from gui.keys import key_text
from gui.log_view import LogView
from gui.pages.augment.page import AugmentPage
from gui.pages.base import Page
from gui.pages.data.page import DataPage
from gui.pages.evaluate.page import EvaluatePage
from gui.pages.export.page import ExportPage
from gui.pages.model.page import ModelPage
from gui.pages.network.page import NetworkPage
from gui.pages.predict.page import PredictPage
from gui.pages.runs.page import RunsPage
from gui.pages.sort.page import SortPage
from gui.pages.train.page import TrainPage
from gui.pages.train.run_panel import phase_name
from gui.state import AppState
from gui.window_drops import DropTarget
from gui.window_serving import ServingNote
from gui.window_menus import WindowMenus, page_shortcut
from gui.widgets.compact import compact_combos
from gui.widgets.pending_edits import PendingEdits
from gui.window_projects import ProjectFiles
from gui.steps import SIDEBAR_NAMES

log = logging.getLogger("finetune_studio.gui")

PAGE_CLASSES = (DataPage, ModelPage, AugmentPage, TrainPage, EvaluatePage, PredictPage,
                SortPage, ExportPage, NetworkPage, RunsPage)


FIRST_SIZE = QSize(1280, 820)


def first_size(available: QSize, minimum: QSize) -> QSize:
    """The window's size before any saved one: 1280x820, or the screen's free area when that
    is smaller (a 2560x1600 laptop screen at 200 %, 1280x800 less its task bar, had the Next
    button and the status bar below the screen; a UI review), never under the minimum."""
    return FIRST_SIZE.boundedTo(available).expandedTo(minimum)


class MainWindow(ProjectFiles, DropTarget, WindowMenus, QMainWindow):
    """The sidebar and the pages; projects, drops and menus come from the mixins."""

    tensorflow_ready = Signal(str)  # device in words, e.g. "CPU"
    tensorflow_failed = Signal(str)
    sidebar_names = SIDEBAR_NAMES

    def __init__(self, state: Optional[AppState] = None, load_tensorflow: bool = True) -> None:
        super().__init__()
        self.state = state or AppState(parent=self)
        self.runner = JobRunner(self)
        self.tf_device: Optional[str] = None
        self._load_tensorflow = load_tensorflow
        self._shown_once = False
        self._closing = False

        self.setWindowTitle("Fine-Tune Studio")
        self.setAcceptDrops(True)
        self._pending_edits = PendingEdits(self)  # a typed number counts for Ctrl+Enter, Ctrl+S
        QApplication.instance().installEventFilter(self._pending_edits)
        wheel_guard.install(QApplication.instance())  # the wheel scrolls pages, not settings
        self.setMinimumSize(900, 600)
        screen = QApplication.primaryScreen()
        self.resize(first_size(screen.availableGeometry().size(), self.minimumSize())
                    if screen is not None else FIRST_SIZE)

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setAccessibleName("Steps")  # a screen reader said only "list"
        self.stack = QStackedWidget()
        self.pages: list[Page] = []
        for i, cls in enumerate(PAGE_CLASSES):
            page = cls(self.state, self.runner)
            page.next_requested.connect(lambda i=i: self.show_page(i + 1))
            page.put_next_last()
            self.pages.append(page)
            self.stack.addWidget(page)
            item = QListWidgetItem(f"{i + 1}   {SIDEBAR_NAMES[i]}")
            item.setToolTip(f"{page.title} ({key_text(page_shortcut(i))})")
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self._on_page_changed)
        self._fit_sidebar()
        compact_combos(self.stack)

        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.sidebar)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.log_view = LogView()
        self.log_dock = QDockWidget("Log", self)
        self.log_dock.setObjectName("logDock")
        self.log_dock.setWidget(self.log_view)
        self.addDockWidget(Qt.BottomDockWidgetArea, self.log_dock)
        self.log_dock.hide()

        self._build_status_bar()
        self._build_menus()

        self.state.dirty_changed.connect(lambda _d: self._update_title())
        self.state.project_path_changed.connect(lambda _p: self._update_title())
        self.state.dataset_changed.connect(self._on_dataset_changed)
        self._connect_sort_page()
        self.runner.job_started.connect(self._on_job_started)
        self._update_title()
        self._restore_geometry()
        self.sidebar.setCurrentRow(0)

    # ------------------------------------------------------------------ building
    def _fit_sidebar(self) -> None:
        """As wide as its longest step name ("3   Augmentation   ✓") needs, and no wider:
        every pixel it does not take is the page's (the window may be 900 px wide)."""
        from PySide6.QtGui import QFont, QFontMetrics

        font = QFont(self.sidebar.font())
        font.setPointSizeF(11)  # the theme's sidebar size
        texts = [self.sidebar.item(i).text() for i in range(self.sidebar.count())]
        texts[0] += "   ✓"  # the Data step gets a tick once its folder is usable
        longest = max(QFontMetrics(font).horizontalAdvance(t) for t in texts)
        self.sidebar.setFixedWidth(longest + 44)  # the items' padding and the accent border
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.job_label = QLabel()
        self.job_label.setTextFormat(Qt.PlainText)  # "Evaluating on <folder>", file names
        self.job_progress = QProgressBar()
        self.job_progress.setFixedWidth(220)
        self.job_progress.setTextVisible(True)
        self.job_cancel = QPushButton("Cancel")
        self.job_cancel.setToolTip("Stop the running job (Esc)")
        self.job_cancel.setShortcut(QKeySequence(Qt.Key_Escape))
        self.job_cancel.clicked.connect(self.runner.cancel)
        for w in (self.job_label, self.job_progress, self.job_cancel):
            bar.addPermanentWidget(w)
            w.hide()
        export = next(p for p in self.pages if isinstance(p, ExportPage))
        self.serving = ServingNote(self, export.serve_box)  # "Serving run3 at http://…"
        self.tf_label = QLabel("Starting…")
        self.tf_label.setObjectName("hint")
        bar.addPermanentWidget(self.tf_label)

    def show_status(self, text: str, ms: int = 0) -> None:
        """``text`` in the status bar, cut with "…" to the room the permanent labels leave (a
        long path ran into "Ready (CPU)", cut mid-word); the whole line is in the log."""
        bar = self.statusBar()
        taken = sum(w.sizeHint().width() for w in (self.job_label, self.job_progress,
                                                   self.job_cancel, self.tf_label,
                                                   self.serving.label)
                    if w.isVisible())
        room = max(120, bar.width() - taken - 40)
        bar.showMessage(bar.fontMetrics().elidedText(text, Qt.ElideMiddle, room), ms)

    # ------------------------------------------------------------------ pages
    @property
    def data_page(self) -> DataPage:
        return self.pages[0]  # type: ignore[return-value]

    @property
    def model_page(self) -> ModelPage:
        return self.pages[1]  # type: ignore[return-value]

    @property
    def augment_page(self) -> AugmentPage:
        return self.pages[2]  # type: ignore[return-value]

    def show_page(self, index: int) -> None:
        if 0 <= index < len(self.pages):
            self.sidebar.setCurrentRow(index)

    def current_page(self) -> Page:
        return self.pages[self.stack.currentIndex()]

    def _on_page_changed(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        self.pages[row].on_shown()
        compact_combos(self.pages[row])  # combo boxes a page built just now, on first showing
        self.pages[row].put_next_last()  # after controls it built just now, too

    def _connect_sort_page(self) -> None:
        """Sorted images change the data folder: the Data page scans it again (now, or when the
        running job ends); "Fine-tune from this run" starts a run on the Train page, where its
        curves show, once the rescan has counted the new images."""
        sort = next(p for p in self.pages if p.key == "sort")
        sort.files_changed.connect(self._rescan_data)
        # One journal, two Undo buttons: each page follows the other's undo.
        sort.box.undone.connect(self.data_page.audit_view.forget_batch)
        self.data_page.audit_view.undone.connect(sort.after_undo)
        sort.fine_tune_requested.connect(self._fine_tune_from)

    def _fine_tune_from(self, run_dir: str) -> None:
        row = next(i for i, p in enumerate(self.pages) if p.key == "train")
        self.show_page(row)
        self.pages[row].start(from_run=run_dir)

    def _rescan_data(self) -> None:
        if self.runner.is_busy() or not self.data_page.rescan():
            self.runner.when_idle(self.data_page.rescan)

    def _on_dataset_changed(self, report) -> None:
        ok = report is not None and getattr(report, "usable", False)
        self.sidebar.item(0).setText(f"1   Data{'   ✓' if ok else ''}")

    # ------------------------------------------------------------------ TensorFlow
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if self._load_tensorflow:
                QTimer.singleShot(0, self._start_tensorflow)

    def _start_tensorflow(self) -> None:
        self.tf_label.setText("Loading TensorFlow…")
        loader = tf_loader.start_loading()
        loader.ready.connect(self._on_tf_ready, Qt.QueuedConnection)
        loader.failed.connect(self._on_tf_failed, Qt.QueuedConnection)
        done = tf_loader.outcome()
        if done is not None:  # loaded by an earlier window: the signal is long gone
            if done[0] == "ready":
                self._on_tf_ready(done[1])
            else:
                self._on_tf_failed(done[1], done[2])

    def _on_tf_ready(self, device: str) -> None:
        if self.tf_device is not None or self._closing:
            return
        self.tf_device = device
        # which device, not "Ready (CPU)": that read as idle beside a running job's progress
        self.tf_label.setText(f"TensorFlow on {device}")
        self.tf_label.setToolTip(f"TensorFlow is loaded; training and prediction run on the "
                                 f"{device}")
        log.info("TensorFlow loaded; training device: %s", device)
        self.tensorflow_ready.emit(device)

    def _on_tf_failed(self, message: str, tb: str) -> None:
        if self._closing:
            return
        self.tf_label.setText("TensorFlow missing")
        self.tf_label.setToolTip(message)  # what to do, where the user looks first
        log.error("%s\n%s", message, tb)
        self.tensorflow_failed.emit(message)

    # ------------------------------------------------------------------ jobs
    def _on_job_started(self, job: Job) -> None:
        self.job_label.setText(job.name + "…")
        self.job_progress.setRange(0, 0)
        self.job_progress.setFormat("%p%")
        for w in (self.job_label, self.job_progress, self.job_cancel):
            w.show()
        job.progress.connect(self._on_job_event)
        job.done.connect(self._on_job_done)

    def _on_job_event(self, event) -> None:
        """The status bar follows the job: its latest step, never an old one left at 100 %."""
        if isinstance(event, (PhaseStarted, BatchEnd)):
            self._show_training_step(event)
        elif isinstance(event, Progress):
            if event.total > 0:  # scaled into Qt's int (a download's bytes may be more)
                unit = -(-event.total // (2**31 - 1))
                total = event.total // unit
                self.job_progress.setRange(0, total)
                self.job_progress.setValue(min(event.done // unit, total))
            else:
                self.job_progress.setRange(0, 0)
            if event.message:
                self.job_label.setText(event.message)
        elif isinstance(event, (Log, FileSkipped, DeviceChosen)):
            level = "warning" if isinstance(event, FileSkipped) else getattr(event, "level", "info")
            self.log_view.add_event_line(event.message, level)
            if level in ("warning", "error"):
                self.show_status(event.message, 8000)

    def _show_training_step(self, event) -> None:
        """Training's phases and batches (they carry no Progress): the bar counts the phase."""
        if isinstance(event, PhaseStarted):
            self.job_progress.setRange(0, max(1, event.epochs * event.steps_per_epoch))
            self.job_progress.setValue(0)
            self.job_label.setText(phase_name(event.phase) + "…")
            return
        self.job_progress.setRange(0, max(1, event.epochs * event.steps))
        self.job_progress.setValue((event.epoch - 1) * event.steps + event.step)
        self.job_label.setText(f"{phase_name(event.phase)} · epoch {event.epoch}/{event.epochs}")

    def _on_job_done(self) -> None:
        if self.runner.is_busy():
            return
        for w in (self.job_label, self.job_progress, self.job_cancel):
            w.hide()

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:
        if self._closing:  # shut down already (by a test, or a second close): nothing to ask
            super().closeEvent(event)
            return
        if not self.unkept_work_ok("Close") or not self.serving.close_ok():
            event.ignore()
            return
        if self.runner.is_busy():
            # Every question before the stop (Cancel on "save?" had stopped the run all the
            # same); the save after it, so a stopped run's result (the run, its best epoch)
            # is in the project written.
            job = self.runner.current
            answer = plain_text.question(
                self, "A job is running",
                f"“{job.name}” is still running. Stop it and close the window?",
                QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            save = self.save_answer(self._job_changes_project(job)) \
                if answer == QMessageBox.Yes else None
            target = self.project_target() if save == QMessageBox.Save else None
            if save not in (QMessageBox.Save, QMessageBox.Discard) or \
                    (save == QMessageBox.Save and target is None):
                event.ignore()
                return
            self.statusBar().showMessage("Stopping…")
            job.cancel()
            job.wait()
            QCoreApplication.processEvents()  # its result reaches the pages and the project
            if target is not None and not self._save_to(target):
                event.ignore()
                return
        elif not self.maybe_save():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def _job_changes_project(self, job) -> bool:
        """A training (or resume) puts its run into the project when it ends."""
        train = next(p for p in self.pages if p.key == "train")
        return job is train.job and job is not train.finder_job

    def shutdown(self) -> None:
        """Cancel every job, stop page workers, wait for threads; safe to call twice."""
        if self._closing:
            return
        self._closing = True
        for page in self.pages:
            page.shutdown()
        if live_jobs():
            self.statusBar().showMessage("Stopping…")
        cancel_all_jobs()
        QCoreApplication.processEvents()  # deliver the jobs' last signals while pages exist
        recent.settings().setValue("geometry", self.saveGeometry())
        recent.settings().setValue("window_state", self.saveState())  # the Log's place, shown
        self.hide()  # gone at once: the TensorFlow import may take seconds yet to end
        tf_loader.wait_loaded()
        self.log_view.detach()

    def _restore_geometry(self) -> None:
        geo = recent.settings().value("geometry")
        if isinstance(geo, (QByteArray, bytes)):
            self.restoreGeometry(geo)
        docks = recent.settings().value("window_state")  # the Log where and as it was left
        if isinstance(docks, (QByteArray, bytes)):
            self.restoreState(docks)
