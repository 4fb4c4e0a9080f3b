"""The Train page's run panel: Start/Stop/Resume, progress, live curves and the run log.

:meth:`RunPanel.show_event` turns the engine's typed events into what the
panel shows: ``BatchEnd`` moves the progress bar and the curves within an
epoch, ``EpochEnd`` adds a validation point and a log line, ``PhaseStarted``
draws the marker between the head and the fine-tuning phase,
``DeviceChosen`` says where the run trains.  The page owns the buttons'
meaning; the panel only displays.
"""

from __future__ import annotations

import os
import time
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from core.events import (BatchEnd, BudgetPlanned, DeviceChosen, EpochEnd, FileSkipped, Log, PhaseStarted,
                         Progress, SkipCounter)
from core.shown import metric_text, plural
from gui.durations import format_duration
from gui.keys import key_text
from gui.widgets.curves import TrainingCurves
from gui.widgets.following_log import FollowingLog
from gui.pages.base import ctrl_enter
from gui.widgets.tensorboard_button import TensorBoardButton

PHASE_NAMES = {"head": "Training the new head", "fine_tune": "Fine-tuning the backbone"}


def phase_name(phase: str) -> str:
    return PHASE_NAMES.get(phase, phase)


class RunPanel(QWidget):
    """Buttons, progress bar, status line, curves and log of the run being trained."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.in_batches = False  # inside an epoch's batches (the bar counts batches)
        self.stopping = False  # Stop asked for: batches still arriving keep "Stopping…"
        self.skips = SkipCounter()  # per run: list the first skipped files, then count
        self.warnings: list[str] = []  # what the run warned of, for the banner at its end
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 0, 0, 0)
        lay.addLayout(self._build_buttons())
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.set_progress(0, 1, "Not started")
        lay.addWidget(self.progress)
        self.status_label = QLabel(f"Press Start training ({key_text('Ctrl+Enter')}) when the "
                                   "settings look right. The defaults suit most folders.")
        self.status_label.setTextFormat(Qt.PlainText)  # "Opened run <name>", file names
        self.status_label.setWordWrap(True)
        lay.addWidget(self.status_label)
        self.device_label = QLabel("Device: decided when training starts")
        self.device_label.setObjectName("hint")
        self.device_label.setWordWrap(True)
        self.device_label.setToolTip("Where the model trains and with which speed-ups")
        self.tensorboard_button = TensorBoardButton("No run yet: train one, or open one on the "
                                                    "Runs page")
        device_row = QHBoxLayout()
        device_row.addWidget(self.device_label, 1)
        device_row.addWidget(self.tensorboard_button, 0, Qt.AlignTop)
        lay.addLayout(device_row)
        self.plan_label = QLabel()  # a time-budget run's plan, once made
        self.plan_label.setObjectName("hint")
        self.plan_label.setWordWrap(True)
        self.plan_label.hide()
        lay.addWidget(self.plan_label)
        self.curves = TrainingCurves()
        lay.addWidget(self.curves, 3)
        self.log = FollowingLog(max_lines=2000)
        self.log.setAccessibleName("Training log")
        self.log.setPlaceholderText("What training does, epoch by epoch, appears here.")
        self.log.setMinimumHeight(90)
        lay.addWidget(self.log, 1)

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        ctrl_enter(self.start_button)
        self.start_button.setToolTip("Train a new model with these settings "
                                     f"({key_text('Ctrl+Enter')})")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setShortcut(QKeySequence("Ctrl+."))
        self.stop_button.setToolTip("Stop after the current batch; the best epoch so far is "
                                    f"kept and you can resume later ({key_text('Esc')} or "
                                    f"{key_text('Ctrl+.')})")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the stopped run from its last finished epoch")
        for b in (self.start_button, self.stop_button, self.resume_button):
            row.addWidget(b)
        row.addStretch(1)
        return row

    # ------------------------------------------------------------------ showing
    def set_progress(self, value: int, maximum: int, text: str) -> None:
        """A bar of ``maximum`` steps (0: busy, no end known) at ``value``, with ``text``."""
        self.progress.setRange(0, maximum)
        self.progress.setValue(min(value, maximum))
        self.progress.setFormat(text)

    def add_log(self, message: str, level: str = "info") -> None:
        prefix = "" if level == "info" else f"{level.upper()}: "
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {prefix}{message}")

    def forget_run(self, closed: Optional[str] = None) -> None:
        """Back to no run: the bar, device line and plan were the closed run's ("Finished"
        and its device stayed up after that run was deleted, a review).  ``closed``: the
        run folder no longer shown, logged as deleted (gone from disk) or closed."""
        if closed:
            self.add_log(f"run {closed} " + ("closed" if os.path.isdir(closed) else "deleted"))
        self.plan_label.hide()
        self.set_progress(0, 1, "")
        self.device_label.setText("Device: decided when training starts")

    def new_run(self) -> None:
        self.warnings = []
        self.in_batches = False
        self.stopping = False
        self.skips = SkipCounter()
        self.plan_label.hide()
        self.set_progress(0, 0, "Preparing…")
        self.status_label.setText("Preparing the images and building the model…")

    def show_event(self, event: Any) -> None:
        """Show one engine event (any other type is ignored)."""
        handler = {BatchEnd: self._batch, EpochEnd: self._epoch, PhaseStarted: self._phase,
                   DeviceChosen: self._device, FileSkipped: self._skipped,
                   BudgetPlanned: self._plan}.get(type(event))
        if handler is not None:
            handler(event)
        elif isinstance(event, Progress):
            self._work(event)
        elif isinstance(event, Log):
            self.add_log(event.message, event.level)
            if event.level == "warning":  # for the banner at the end: the log alone was
                self.warnings.append(event.message)  # missed (a review)

    def _batch(self, event: BatchEnd) -> None:
        self.in_batches = True
        total = max(1, event.epochs * event.steps)
        self.set_progress((event.epoch - 1) * event.steps + event.step, total,
                          f"{phase_name(event.phase)} · epoch {event.epoch}/{event.epochs} · "
                          f"step {event.step}/{event.steps}")
        loss, acc = event.metrics.get("loss"), event.metrics.get("accuracy")
        now = (f"loss {loss:.3f}, accuracy {acc:.1%}" if loss is not None and acc is not None
               else "")
        if not self.stopping:
            self.status_label.setText(
                f"{event.images_per_second:,.0f} images/s · about "
                f"{format_duration(event.eta_seconds)} left in this phase"
                + (f" · this epoch so far: {now}" if now else ""))
        self.curves.add_batch(event.phase, event.epoch, event.step, event.steps, event.metrics)

    def _epoch(self, event: EpochEnd) -> None:
        m = event.metrics
        self.curves.add_epoch(event.phase, event.epoch, m)
        parts = [f"{k} {metric_text(m[k])}"
                 for k in ("loss", "accuracy", "val_loss", "val_accuracy") if m.get(k) is not None]
        latest = self.curves.val_x[-1] if self.curves.val_x else None
        best = latest is not None and self.curves.best_x == latest
        self.add_log(f"{event.phase} epoch {event.epoch}/{event.epochs} "
                     f"({format_duration(event.seconds)}): " + ", ".join(parts)
                     + ("  ★ best so far" if best else ""))

    def _phase(self, event: PhaseStarted) -> None:
        self.in_batches = False
        self.curves.start_phase(event.phase)
        self.set_progress(0, max(1, event.epochs * event.steps_per_epoch),
                          f"{phase_name(event.phase)} · starting")
        self.add_log(f"{phase_name(event.phase)}: {plural(event.epochs, 'epoch')} of "
                     f"{plural(event.steps_per_epoch, 'step')}, learning rate "
                     f"{event.learning_rate:g}, {event.trainable_params:,} parameters learn")

    def _work(self, event: Progress) -> None:
        # Work between batches (scanning, caching features, scoring the validation images
        # at the end): say what it is, so the page never looks stuck.
        if event.message:
            self.status_label.setText(event.message[:1].upper() + event.message[1:] + "…")
        if not self.in_batches:
            if event.total > 0:
                self.set_progress(event.done, event.total, f"{event.message or 'Preparing'} · %p%")
            else:
                self.progress.setRange(0, 0)

    def _plan(self, event: BudgetPlanned) -> None:
        self.plan_label.setText("Plan: " + event.message[:1].upper() + event.message[1:] + ".")
        self.plan_label.show()

    def _device(self, event: DeviceChosen) -> None:
        self.device_label.setText("Device: " + event.info.in_words())
        self.add_log(event.message)

    def _skipped(self, event: FileSkipped) -> None:
        verdict = self.skips.verdict(event)
        if verdict == "show":
            self.add_log(event.message, "warning")
        elif verdict == "summary":
            self.add_log("more files are skipped; they are not listed here (the Data page lists "
                         "every one with its reason)", "warning")
