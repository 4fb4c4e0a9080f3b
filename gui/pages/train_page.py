"""Step 4: training.  Set the few numbers that matter, press Start, watch it learn.

Every setting edits ``config.train`` through :meth:`AppState.set`, so the project
file, the CLI and a run folder's ``config.json`` all see the same values.  Start
runs :func:`core.train.engine.train` as the window's one long job (a copy of the
config is handed over, so editing a field mid-run cannot change the run); Stop
sets the job's cancel token, which the engine checks after every batch, and the
run still writes ``model.keras`` of its best epoch; Resume continues a stopped
run from its last finished epoch with :func:`core.train.engine.resume_training`.

The page only listens: ``BatchEnd`` moves the progress bar and the curves within
an epoch, ``EpochEnd`` adds a validation point and a log line, ``PhaseStarted``
draws the marker between the head and the fine-tuning phase, and the ``Log``
:class:`~core.events.DeviceChosen` event says where the run trains.

"Open in TensorBoard" shows the current run's logs (``RUN_DIR/logs``): the run
being trained -- its folder is the new one under the app's runs folder, found
when its first phase starts -- or else the last finished or opened run.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from core.events import (BatchEnd, DeviceChosen, EpochEnd, FileSkipped, Log, PhaseStarted,
                         Progress, RunStarted, SkipCounter)
from core.appdirs import default_runs_dir
from gui.jobs import Job
from gui.pages.base import Page
from gui.state import touches
from gui.widgets.curves import TrainingCurves
from gui.widgets.tensorboard_button import TensorBoardButton, opened_message

PHASE_NAMES = {"head": "Training the new head", "fine_tune": "Fine-tuning the backbone"}

# Plain-words help shown as tooltips; a first-time user reads these, not a manual.
TIPS = {
    "epochs": "An epoch is one pass over all your training images.\n"
              "Phase 1 trains only the new classification head while the pretrained backbone "
              "stays frozen; a few epochs are usually enough.",
    "fine_tune_epochs": "Phase 2: the backbone layers chosen on the Model page also learn, "
                        "slowly. 0 skips this phase.",
    "batch_size": "A batch is the group of images the model looks at before it adjusts itself "
                  "once (one step).\nBigger batches are faster per image but need more memory; "
                  "steps per epoch = images ÷ batch size.",
    "learning_rate": "The learning rate is how big each adjustment is.\nToo high and training "
                     "jumps around; too low and it crawls. 0.001 suits the new head.",
    "fine_tune_learning_rate": "The learning rate of phase 2. Keep it about 10× smaller than "
                               "phase 1, so the pretrained features are refined, not destroyed.",
    "label_smoothing": "Asks the model to be at most this much less than 100 % sure.\nA little "
                       "(0.1) makes it less over-confident and often more accurate on new images.",
    "lr_schedule": "How the learning rate changes during a phase.",
    "early_stopping_patience": "Stop a phase when the validation result has not improved for "
                               "this many epochs (the best epoch is kept). Off: always run every "
                               "epoch.",
    "mixed_precision": "Compute in 16-bit floats where it is safe: about twice as fast on a "
                       "modern GPU, slower on a CPU. Auto: on for GPUs, off for CPUs.",
    "xla": "Compile the model into fused GPU code: faster per step after a slower first "
           "step. Auto: on for GPUs, off for CPUs.",
}

SCHEDULES = [("cosine", "Cosine — glide down to 5 % by the end of the phase (recommended)"),
             ("plateau", "On plateau — divide by 5 when validation stalls for 2 epochs"),
             ("constant", "Constant — the same all phase")]
SWITCHES = [("auto", "Auto (on for GPU, off for CPU)"), ("on", "On"), ("off", "Off")]


def train_job(cfg, report, runs_base: str, listener=None, cancel=None):
    """Worker: a new run under ``runs_base`` (imports the engine here, not on the UI thread)."""
    from core.train.engine import train

    return train(cfg, runs_base=runs_base, listener=listener, cancel=cancel, report=report)


def resume_job(run_dir: str, listener=None, cancel=None):
    """Worker: continue a stopped run from its checkpoint."""
    from core.train.engine import resume_training

    return resume_training(run_dir, listener=listener, cancel=cancel)


def runs_base_dir() -> Path:
    """Where the app keeps its runs: ``<app data>/runs`` (the run history rescans it)."""
    return default_runs_dir()


def format_duration(seconds: float) -> str:
    """``0:42``, ``12:05``, ``1 h 03 min``: how long, at a glance."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    s = int(round(max(seconds, 0)))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60}:{s % 60:02d}"


def resumable(run_dir: Optional[str]) -> bool:
    """A run that stopped (or was killed) after at least one finished epoch."""
    if not run_dir:
        return False
    from core.runs.folder import RunFolder

    run = RunFolder(run_dir)
    status = run.run_info().get("status")
    return status in ("stopped", "running") and (run.checkpoint_dir / "state.json").exists()


class LearningRateSpin(QDoubleSpinBox):
    """A learning-rate box that shows 0.001 / 3e-05 and steps along 1-2-5 per decade.

    A plain spin box with fixed decimals either hides small rates (0.0000) or
    shows a wall of zeros; learning rates are chosen by order of magnitude.
    """

    LADDER = (1.0, 2.0, 5.0)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setDecimals(10)
        self.setRange(1e-7, 1.0)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt API
        try:
            return float(text.strip().replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        from PySide6.QtGui import QValidator

        t = text.strip().replace(",", ".")
        if not t:
            return QValidator.Intermediate, text, pos
        try:
            v = float(t)
        except ValueError:
            ok_prefix = all(c in "0123456789.eE-+" for c in t)
            return (QValidator.Intermediate if ok_prefix else QValidator.Invalid), text, pos
        if self.minimum() <= v <= self.maximum():
            return QValidator.Acceptable, text, pos
        return QValidator.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        value = self.value()
        for _ in range(abs(steps)):
            value = self._next(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))

    def _next(self, value: float, up: bool) -> float:
        exp = math.floor(math.log10(value))
        rungs = sorted({m * 10.0 ** e for e in (exp - 1, exp, exp + 1) for m in self.LADDER})
        if up:
            return next((r for r in rungs if r > value * 1.0001), rungs[-1])
        return next((r for r in reversed(rungs) if r < value * 0.9999), rungs[0])


class TrainPage(Page):
    key = "train"
    title = "4 · Train"
    intro = ("Training runs in two phases: first only the new head learns while the pretrained "
             "backbone stays frozen, then the layers chosen on the Model page are fine-tuned "
             "with a smaller learning rate. Stop at any time: the best epoch so far is kept.")
    next_text = "Next: evaluate"

    run_started = Signal(object)  # the Job
    run_finished = Signal(object)  # core.train.engine.RunResult (status completed or stopped)

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.job: Optional[Job] = None
        self.result: Any = None
        self.resumable_run: Optional[str] = None
        self._writing = False
        self._fields: dict[str, QWidget] = {}
        self._in_batches = False
        self._live_run: Optional[str] = None  # folder of the run being trained, once known
        self._skips = SkipCounter()  # per run: list the first skipped files, then count

        split = QSplitter(Qt.Horizontal)
        split.addWidget(self._build_settings())
        split.addWidget(self._build_run_panel())
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 900])
        self.body.addWidget(split, 1)

        # Ctrl+Return starts training here (it is "Next" on the other pages).
        if self.next_button is not None:
            self.next_button.setShortcut(QKeySequence())
            self.next_button.setToolTip("Go to the Evaluate step (Ctrl+5)")

        self.state.config_changed.connect(self._on_config_changed)
        self.state.dataset_changed.connect(lambda _r: (self._update_buttons(),
                                                          self._update_steps_hint()))
        self.state.run_changed.connect(self._on_run_changed)
        self.runner.busy_changed.connect(lambda _b: self._update_buttons())
        self._refresh_fields()
        self._update_buttons()

    # ------------------------------------------------------------------ building
    def _build_settings(self) -> QWidget:
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        area.setMinimumWidth(330)
        host = QWidget()
        lay = QVBoxLayout(host)
        lay.setContentsMargins(0, 0, 8, 0)

        phases = QGroupBox("How long and how fast")
        form = QFormLayout(phases)
        self.epochs_spin = self._int_field("epochs", 0, 1000, " epochs")
        form.addRow("Phase 1 (head):", self.epochs_spin)
        self.ft_epochs_spin = self._int_field("fine_tune_epochs", 0, 1000, " epochs")
        self.ft_epochs_spin.setSpecialValueText("skip")
        form.addRow("Phase 2 (fine-tune):", self.ft_epochs_spin)
        self.batch_spin = self._int_field("batch_size", 1, 4096, " images")
        form.addRow("Batch size:", self.batch_spin)
        self.lr_spin = self._lr_field("learning_rate")
        form.addRow("Learning rate 1:", self.lr_spin)
        self.ft_lr_spin = self._lr_field("fine_tune_learning_rate")
        form.addRow("Learning rate 2:", self.ft_lr_spin)
        self.steps_hint = QLabel()
        self.steps_hint.setObjectName("hint")
        self.steps_hint.setWordWrap(True)
        form.addRow(self.steps_hint)
        lay.addWidget(phases)

        more = QGroupBox("Fine points")
        form2 = QFormLayout(more)
        self.schedule_combo = self._combo_field("lr_schedule", SCHEDULES)
        form2.addRow("Learning-rate schedule:", self.schedule_combo)
        self.smoothing_spin = QDoubleSpinBox()
        self.smoothing_spin.setRange(0.0, 0.5)
        self.smoothing_spin.setSingleStep(0.05)
        self.smoothing_spin.setDecimals(2)
        self._bind(self.smoothing_spin, "label_smoothing", self.smoothing_spin.valueChanged)
        form2.addRow("Label smoothing:", self.smoothing_spin)
        self.patience_spin = self._int_field("early_stopping_patience", 0, 100, " epochs")
        self.patience_spin.setSpecialValueText("off")
        form2.addRow("Early stopping after:", self.patience_spin)
        lay.addWidget(more)

        speed = QGroupBox("Speed")
        form3 = QFormLayout(speed)
        self.mixed_combo = self._combo_field("mixed_precision", SWITCHES)
        form3.addRow("Mixed precision:", self.mixed_combo)
        self.xla_combo = self._combo_field("xla", SWITCHES)
        form3.addRow("XLA compilation:", self.xla_combo)
        lay.addWidget(speed)
        lay.addStretch(1)
        area.setWidget(host)
        self.settings_host = host
        return area

    def _int_field(self, name: str, lo: int, hi: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(lo, hi)
        spin.setSuffix(suffix)
        spin.setKeyboardTracking(False)
        self._bind(spin, name, spin.valueChanged)
        return spin

    def _lr_field(self, name: str) -> LearningRateSpin:
        spin = LearningRateSpin()
        self._bind(spin, name, spin.valueChanged)
        return spin

    def _combo_field(self, name: str, items) -> QComboBox:
        combo = QComboBox()
        # Long labels must not widen the settings column: the popup still shows them whole.
        combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(14)
        for value, label in items:
            combo.addItem(label, value)
        combo.currentIndexChanged.connect(lambda _i, n=name, c=combo: self._write(n, c.currentData()))
        combo.setToolTip(TIPS[name])
        self._fields[name] = combo
        return combo

    def _bind(self, widget: QWidget, name: str, signal) -> None:
        widget.setToolTip(TIPS[name])
        signal.connect(lambda v, n=name: self._write(n, v))
        self._fields[name] = widget

    def _build_run_panel(self) -> QWidget:
        panel = QWidget()
        lay = QVBoxLayout(panel)
        lay.setContentsMargins(8, 0, 0, 0)
        row = QHBoxLayout()
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.start_button.setToolTip("Train a new model with these settings (Ctrl+Enter)")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setShortcut(QKeySequence("Ctrl+."))
        self.stop_button.setToolTip("Stop after the current batch; the best epoch so far is "
                                    "kept and you can resume later (Esc or Ctrl+.)")
        self.stop_button.clicked.connect(self.stop)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the stopped run from its last finished epoch")
        self.resume_button.clicked.connect(self.resume)
        self.tensorboard_button = TensorBoardButton("No run yet: train one, or open one on the "
                                                    "Runs page")
        self.tensorboard_button.opened.connect(
            lambda url, shown: self.show_info(opened_message(url, shown)))
        self.tensorboard_button.failed.connect(self.show_error)
        for b in (self.start_button, self.stop_button, self.resume_button):
            row.addWidget(b)
        row.addStretch(1)
        self.device_label = QLabel("Device: decided when training starts")
        self.device_label.setObjectName("hint")
        self.device_label.setToolTip("Where the model trains and with which speed-ups")
        row.addWidget(self.device_label)
        lay.addLayout(row)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not started")
        lay.addWidget(self.progress)
        self.status_label = QLabel("Press Start training (Ctrl+Enter) when the settings look "
                                   "right. The defaults suit most folders.")
        self.status_label.setWordWrap(True)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.tensorboard_button, 0, Qt.AlignTop)
        lay.addLayout(status_row)

        self.curves = TrainingCurves()
        lay.addWidget(self.curves, 3)

        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setPlaceholderText("What training does, epoch by epoch, appears here.")
        font = QFont("monospace")
        font.setStyleHint(QFont.TypeWriter)
        self.log.setFont(font)
        self.log.setMinimumHeight(90)
        lay.addWidget(self.log, 1)
        return panel

    # ------------------------------------------------------------------ settings
    def _write(self, name: str, value: Any) -> None:
        if self._writing:
            return
        if isinstance(value, float) and name != "label_smoothing":
            value = float(f"{value:.6g}")
        elif isinstance(value, float):
            value = round(value, 4)
        self.state.set(f"train.{name}", value)
        self._update_steps_hint()

    def _on_config_changed(self, path: str) -> None:
        if touches(path, "train"):
            self._refresh_fields()
        if touches(path, "data.val_split"):
            self._update_steps_hint()

    def _refresh_fields(self) -> None:
        t = self.state.config.train
        self._writing = True
        try:
            for name, widget in self._fields.items():
                value = getattr(t, name)
                widget.blockSignals(True)
                if isinstance(widget, QComboBox):
                    i = widget.findData(value)
                    widget.setCurrentIndex(max(i, 0))
                else:
                    widget.setValue(value)
                widget.blockSignals(False)
        finally:
            self._writing = False
        self._update_steps_hint()

    def _update_steps_hint(self) -> None:
        t = self.state.config.train
        report = self.state.dataset_report
        n = len(report.records) if report is not None and hasattr(report, "records") else 0
        if n:
            if getattr(report, "layout", "") == "split":  # the folder says which images train
                n_train = sum(report.subset_counts.get("train", {}).values()) or n
            else:
                n_train = max(1, round(n * (1 - self.state.config.data.val_split)))
            steps = math.ceil(n_train / t.batch_size)
            text = (f"About {n_train} training images in batches of {t.batch_size}: "
                    f"{steps} step{'s' if steps != 1 else ''} per epoch, "
                    f"{t.epochs + t.fine_tune_epochs} epochs at most.")
        else:
            text = "Choose an image folder on the Data page to see how many steps an epoch has."
        self.steps_hint.setText(text)

    # ------------------------------------------------------------------ actions
    def start(self) -> Optional[Job]:
        """Start a new run with the current settings; None when it cannot start."""
        self.clear_message()
        cfg = self.state.config.copy()
        if not cfg.data.data_dir:
            self.show_error("Choose an image folder on the Data page first (step 1).")
            return None
        report = self.state.dataset_report
        if report is not None and os.path.abspath(getattr(report, "root", "")) != \
                os.path.abspath(cfg.data.data_dir):
            report = None  # an older scan: let training scan the folder itself
        if report is not None and not report.usable:
            self.show_error(f"Training cannot start: {report.unusable_reason}.")
            return None
        self.curves.clear()
        base = runs_base_dir()
        job = self._launch(train_job, cfg, report, str(base), name="Training")
        if job is not None:
            self._live_run = None  # until the engine says which folder (RunStarted)
            self._skips = SkipCounter()
            self._update_tensorboard()
        return job

    def resume(self) -> Optional[Job]:
        """Continue the last stopped run (its own saved settings, not the page's)."""
        self.clear_message()
        run_dir = self.resumable_run
        if not run_dir:
            self.show_error("There is no stopped run to resume.")
            return None
        from core.runs.folder import RunFolder

        self.curves.load_history(RunFolder(run_dir).history())
        job = self._launch(resume_job, run_dir, name="Training (resumed)")
        if job is not None:
            self._live_run = run_dir
            self._skips = SkipCounter()
            self._update_tensorboard()
        return job

    def stop(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.cancel()
            self.stop_button.setEnabled(False)
            self.status_label.setText("Stopping after this batch; keeping the best epoch so far…")

    def _launch(self, fn, *args, name: str) -> Optional[Job]:
        if self.runner.is_busy():
            job = self.runner.current
            self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running "
                            "(or cancel it in the status bar).")
            return None
        self.result = None
        self._in_batches = False
        self.progress.setRange(0, 0)
        self.progress.setFormat("Preparing…")
        self.status_label.setText("Preparing the images and building the model…")
        job = self.runner.start(fn, *args, name=name)
        if job is None:
            return None
        self.job = job
        self._log(f"{name} started")
        job.progress.connect(self._on_event)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.done.connect(self._update_buttons)
        self._update_buttons()
        self.run_started.emit(job)
        return job

    def _update_buttons(self) -> None:
        running = self.job is not None and self.job.is_running()
        busy = self.runner.is_busy()
        self.start_button.setEnabled(not busy)
        self.stop_button.setEnabled(running and not self.job.token.cancelled)
        self.resume_button.setEnabled(not busy and self.resumable_run is not None)
        self.settings_host.setEnabled(not running)
        self.settings_host.setToolTip("Settings are fixed while a run trains; they apply to the "
                                      "next run." if running else "")

    # ------------------------------------------------------------------ events
    def _on_event(self, event: Any) -> None:
        if isinstance(event, BatchEnd):
            self._in_batches = True
            total = max(1, event.epochs * event.steps)
            done = (event.epoch - 1) * event.steps + event.step
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            phase = PHASE_NAMES.get(event.phase, event.phase)
            self.progress.setFormat(f"{phase} · epoch {event.epoch}/{event.epochs} · "
                                    f"step {event.step}/{event.steps}")
            loss = event.metrics.get("loss")
            acc = event.metrics.get("accuracy")
            now = (f"loss {loss:.3f}, accuracy {acc:.1%}" if loss is not None and acc is not None
                   else "")
            self.status_label.setText(
                f"{event.images_per_second:,.0f} images/s · about "
                f"{format_duration(event.eta_seconds)} left in this phase"
                + (f" · this epoch so far: {now}" if now else ""))
            self.curves.add_batch(event.phase, event.epoch, event.step, event.steps,
                                  event.metrics)
        elif isinstance(event, EpochEnd):
            self._update_tensorboard()  # the first epoch's logs have just been written
            m = event.metrics
            self.curves.add_epoch(event.phase, event.epoch, m)
            parts = [f"{k} {m[k]:.4f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                     if m.get(k) is not None]
            self._log(f"{event.phase} epoch {event.epoch}/{event.epochs} "
                      f"({format_duration(event.seconds)}): " + ", ".join(parts))
        elif isinstance(event, RunStarted):
            self._live_run = event.run_dir
            self._update_tensorboard()
        elif isinstance(event, PhaseStarted):
            self._update_tensorboard()
            self._in_batches = False
            self.curves.start_phase(event.phase)
            self.progress.setRange(0, max(1, event.epochs * event.steps_per_epoch))
            self.progress.setValue(0)
            self.progress.setFormat(f"{PHASE_NAMES.get(event.phase, event.phase)} · starting")
            self._log(f"{PHASE_NAMES.get(event.phase, event.phase)}: {event.epochs} epochs of "
                      f"{event.steps_per_epoch} steps, learning rate {event.learning_rate:g}, "
                      f"{event.trainable_params:,} parameters learn")
        elif isinstance(event, Progress):
            # Work between batches (scanning, caching features, scoring the validation
            # images at the end): say what it is, so the page never looks stuck.
            if event.message:
                self.status_label.setText(event.message[:1].upper() + event.message[1:] + "…")
            if not self._in_batches:
                if event.total > 0:
                    self.progress.setRange(0, event.total)
                    self.progress.setValue(min(event.done, event.total))
                    self.progress.setFormat(f"{event.message or 'Preparing'} · %p%")
                else:
                    self.progress.setRange(0, 0)
        elif isinstance(event, DeviceChosen):
            self.device_label.setText("Device: " + event.info.describe())
            self._log(event.message)
        elif isinstance(event, FileSkipped):
            verdict = self._skips.verdict(event)
            if verdict == "show":
                self._log(event.message, "warning")
            elif verdict == "summary":
                self._log("more files are skipped; they are not listed here (the Data page lists "
                          "every one with its reason)", "warning")
        elif isinstance(event, Log):
            self._log(event.message, event.level)

    def _log(self, message: str, level: str = "info") -> None:
        prefix = "" if level == "info" else f"{level.upper()}: "
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {prefix}{message}")

    def _on_finished(self, result: Any) -> None:
        self.result = result
        self.device_label.setText("Device: " + result.device.describe())
        run = result.run_dir
        model = os.path.join(run, "model.keras")
        self.state.set_run(run)
        if os.path.exists(model):
            self.state.set_model(model)
        best = ""
        if result.metrics is not None:
            best = (f" Validation accuracy {result.metrics.accuracy:.1%} on "
                    f"{result.metrics.n_images} images (best epoch {result.best_epoch}).")
        took = format_duration(result.seconds)
        if result.status == "completed":
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self.progress.setFormat("Finished")
            self.status_label.setText(f"Finished in {took}.{best}")
            self.show_info(f"Training finished.{best} Next: see where the model goes right and "
                           "wrong on the Evaluate step →")
        else:
            self.progress.setFormat("Stopped")
            kept = (f"The best epoch so far was kept.{best}" if os.path.exists(model)
                    else "It stopped before an epoch finished, so there is no model yet.")
            self.status_label.setText(f"Stopped after {took}. {kept}")
            self.show_info(f"Training stopped. {kept} Press Resume to continue it, or go on to "
                           "Evaluate.")
        self._update_buttons()
        self.run_finished.emit(result)

    def _on_failed(self, message: str, _tb: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Failed")
        self.status_label.setText("Training did not finish.")
        self.show_error(message)
        self._log(message, "error")

    def _on_cancelled(self) -> None:
        # Cancelled before the first epoch began (while scanning or loading weights).
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Stopped")
        self.status_label.setText("Stopped before training began; nothing was trained.")
        self._log("stopped before training began")

    def _on_run_changed(self, run_dir: Optional[str]) -> None:
        self.resumable_run = run_dir if resumable(run_dir) else None
        if not (self.job is not None and self.job.is_running()):
            self._live_run = None  # the finished (or newly opened) run is the current one now
        self._update_buttons()
        self._update_tensorboard()

    # ------------------------------------------------------------------ TensorBoard
    def current_run_dir(self) -> Optional[str]:
        """The run "Open in TensorBoard" shows: the one training now, else the last one."""
        return self._live_run or self.state.run_dir

    def _update_tensorboard(self) -> None:
        self.tensorboard_button.set_run(self.current_run_dir())

    # ------------------------------------------------------------------ lifecycle
    def on_shown(self) -> None:
        self._update_steps_hint()
        self._update_tensorboard()

    def shutdown(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.cancel()
        self.tensorboard_button.shutdown()
        from core.train.tensorboard import stop_all_servers

        stop_all_servers()  # the window is closing: no TensorBoard outlives the app
