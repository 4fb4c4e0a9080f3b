"""Step 4: training.  Set the few numbers that matter, press Start, watch it learn.

Every setting edits ``config.train`` through :meth:`AppState.set`, so the project file, the CLI
and a run folder's ``config.json`` all see the same values. Start runs
:func:`core.train.engine.train` as the window's one long job (on a copy of the config: editing
a field mid-run cannot change the run); Stop sets the job's cancel token, which the engine
checks after every batch, and the run still writes ``model.keras`` of its best epoch; Resume
continues a stopped run from its last finished epoch (:func:`core.train.engine.resume_training`).
The page only listens: the run panel (:mod:`gui.pages.train.run_panel`) shows the engine's
events, the settings column (:mod:`gui.pages.train.settings`) takes every range and tooltip
from the setting's declaration in :mod:`core.config`.  "Open in TensorBoard" shows the current
run's logs (``RUN_DIR/logs``): the run being trained (its folder is found when its first phase
starts), or else the last finished or opened run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Signal

from core.appdirs import default_runs_dir
from core.errors import UserError
from core.events import EpochEnd, ImagesLeftOut, PhaseStarted, RunStarted
from core.model.build import is_from_scratch
from core.path_names import same_path
from core.train.linear_head import exact_fit_planned
from gui.jobs import Job
from gui.keys import key_text
from gui.pages.base import Page, drop_ctrl_enter
from gui.pages.train.jobs import resume_job, train_job
from gui.pages.train.lr_actions import LearningRateActions
from gui.pages.train.lr_finder_view import LearningRateFinderDialog
from gui.pages.train.outcome import (ended_texts, left_out_text, opened_run, read_outcome,
                                     resumable_here, resume_tip, unused_on_resume,
                                     worth_keeping)
from gui.pages.train.run_focus import RunFocus
from gui.pages.train.run_panel import RunPanel
from gui.pages.train.settings import SettingsPanel, steps_text
from gui.state import touches
from gui.widgets.tensorboard_button import opened_message
from gui.widgets.turning_splitter import TurningSplitter
from gui.steps import step, transform_fix


def runs_base_dir() -> Path:
    """Where the app keeps its runs: ``<app data>/runs`` (the run history rescans it)."""
    return default_runs_dir()


class TrainPage(LearningRateActions, Page):
    key = "train"
    title = "4 · Train"
    intro = ("Training runs in two phases: first only the new head learns while the pretrained "
             "backbone stays frozen, then the layers chosen on the Model page are fine-tuned "
             "with a smaller learning rate. Stop at any time: the best epoch so far is kept.")
    # With weights None nothing is frozen: the intro above contradicted the Model page (a review)
    scratch_intro = ("Training runs in two phases, here from random weights (None on the Model "
                     "page): every layer, BatchNorm included, learns in both, the second with a "
                     "smaller learning rate; this needs far more images than starting from "
                     "ImageNet. Stop at any time: the best epoch so far is kept.")
    next_text = "Next: evaluate"

    run_started = Signal(object)  # the Job
    run_finished = Signal(object)  # core.train.engine.RunResult (status completed or stopped)

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.job: Optional[Job] = None  # the page's long job: a run, or the rate finder's
        self.finder_job: Optional[Job] = None
        self._shown_run: Optional[str] = None  # the run whose curves and status are shown
        self.result: Any = None
        self.resumable_run: Optional[str] = None
        self._elsewhere = ""  # who else trains the open run ("process N on HOST since …")
        self._settings_then: Optional[dict] = None  # the settings of the run shown
        self._live_run: Optional[str] = None  # folder of the run being trained, once known
        self._refusal: Optional[tuple[str, str]] = None  # (banner, data folder) of a failure

        self.settings = SettingsPanel()
        self.settings.changed.connect(self._write)
        self.panel = RunPanel()
        split = TurningSplitter(collapsible=True, roomy=True)  # stacked if both do not fit
        split.addWidget(self.settings)
        split.addWidget(self.panel)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([360, 900])
        self.body.addWidget(split, 1)
        self._name_widgets()
        self._focus = RunFocus(self)  # Stop, then Start, keep the keyboard's place
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.find_lr_button.clicked.connect(self.find_learning_rate)
        self.lr_dialog: Optional[LearningRateFinderDialog] = None
        self.tensorboard_button.opened.connect(
            lambda url, shown: self.show_info(opened_message(url, shown)))
        self.tensorboard_button.failed.connect(self.show_error)

        # Ctrl+Return starts training here (it is "Next" on the other pages).
        if self.next_button is not None:
            drop_ctrl_enter(self.next_button)
            self.next_button.setToolTip(f"Go to the Evaluate step ({key_text('Ctrl+5')})")

        self.state.config_changed.connect(self._on_config_changed)
        self.state.dataset_changed.connect(lambda _r: (self._update_buttons(),
                                                          self._update_steps_hint()))
        self.state.near_copies_changed.connect(self._update_steps_hint)
        self.state.run_changed.connect(self._on_run_changed)
        self.runner.busy_changed.connect(lambda _b: self._update_buttons())
        self._refresh_fields()
        self._on_config_changed("model.weights")
        self._update_buttons()

    def _name_widgets(self) -> None:
        """The panels' widgets by name (tests, the screenshots and the handlers read them)."""
        s, p = self.settings, self.panel
        self.settings_host, self.steps_hint = s.host, s.steps_hint
        self.epochs_spin, self.ft_epochs_spin, self.batch_spin = (s.epochs_spin, s.ft_epochs_spin,
                                                                  s.batch_spin)
        self.lr_spin, self.ft_lr_spin, self.find_lr_button = (s.lr_spin, s.ft_lr_spin,
                                                              s.find_lr_button)
        self.budget_spin, self.plan_label = s.budget_spin, p.plan_label
        self.smoothing_spin, self.patience_spin = s.smoothing_spin, s.patience_spin
        self.schedule_combo, self.mixed_combo, self.xla_combo = (s.schedule_combo, s.mixed_combo,
                                                                 s.xla_combo)
        self.start_button, self.stop_button = p.start_button, p.stop_button
        self.resume_button, self.tensorboard_button = p.resume_button, p.tensorboard_button
        self.progress, self.status_label, self.device_label = (p.progress, p.status_label,
                                                               p.device_label)
        self.curves, self.log = p.curves, p.log

    # ------------------------------------------------------------------ settings
    def _write(self, name: str, value: Any) -> None:
        if isinstance(value, float) and name != "label_smoothing":
            value = float(f"{value:.12g}")  # a step's float noise off, the digits typed kept
        elif isinstance(value, float):
            value = round(value, 4)
        self.state.set(f"train.{name}", value)
        self._update_steps_hint()

    def _on_config_changed(self, path: str) -> None:
        if touches(path, "data.data_dir") and self._refusal and not same_path(
                self._refusal[1], self.state.config.data.data_dir):
            self._drop_refusal()  # about the folder open then (a review)
        if touches(path, "train"):
            self._refresh_fields()
        if touches(path, "model.weights"):
            self.intro_label.setText(self.scratch_intro if is_from_scratch(self.state.config.model)
                                     else self.intro)
        if any(touches(path, f"data.{key}")
               for key in ("val_split", "seed", "keep_duplicates_together")):
            self._update_steps_hint()

    def _refresh_fields(self) -> None:
        self.settings.show_config(self.state.config.train)
        self._update_steps_hint()

    def _update_steps_hint(self) -> None:
        self.steps_hint.setText(steps_text(self.state.config, self._training_images()))
        self.settings.show_exact_fit(exact_fit_planned(self.state.config))

    def _training_images(self) -> int:
        """The training images of the split the run will make (0 before a scan)."""
        split = self.state.planned_split()
        return len(split.train) if split is not None else 0

    # ------------------------------------------------------------------ actions
    def settings_and_scan(self):
        """(a copy of the settings, the Data page's scan of their folder or None when the scan
        is of another folder: the job then scans it itself), or None when no folder is chosen
        (the page says so).  What a run and the learning-rate finder both start from."""
        self.clear_message()
        cfg = self.state.config.copy()
        if not cfg.data.data_dir:
            self.show_error(f"Choose an image folder on {step('Data')} first.")
            return None
        report = self.state.dataset_report
        if report is not None and os.path.abspath(getattr(report, "root", "")) != \
                os.path.abspath(cfg.data.data_dir):
            report = None  # an older scan: let the job scan the folder itself
        return cfg, report

    def start(self, from_run: str = "") -> Optional[Job]:
        """Start a new run with the current settings; None when it cannot start.

        ``from_run``: a run folder the new run takes its backbone from (a full fine-tune
        on a grown data set that goes on from what that run learned).
        """
        chosen = self.settings_and_scan()
        if chosen is None:
            return None
        cfg, report = chosen
        if report is not None and not report.usable:
            self.show_error(f"Training cannot start: {report.unusable_reason}.")
            return None
        self.curves.clear()
        job = self._launch(train_job, cfg, report, str(runs_base_dir()), from_run or "",
                           name="Training")
        if job is not None:
            self._live_run = None  # until the engine says which folder (RunStarted)
            self._settings_then = cfg.to_dict()  # what the run trains with: later edits are
            self._update_tensorboard()           # not resumed (the note on Resume says so)
        return job

    def resume(self) -> Optional[Job]:
        """Continue the last stopped run (its own saved settings, not the page's)."""
        self.clear_message()
        run_dir = self.resumable_run
        if not run_dir:
            self.show_error("There is no stopped run to resume.")
            return None
        from core.runs.folder import RunFolder

        try:  # a damaged history.csv is named (it raised on the UI thread)
            self.curves.load_history(RunFolder(run_dir).history())
        except UserError as exc:
            return self.show_error(str(exc))
        job = self._launch(resume_job, run_dir, self.state.config.data.data_dir or "",
                           name="Training (resumed)")
        if job is not None:
            note = unused_on_resume(self._settings_then, self.state.config)
            if note:
                self.panel.add_log(note)
            self._live_run = self._shown_run = run_dir
            self._update_tensorboard()
        return job

    def stop(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.cancel()  # the page says so in _on_stopping, as for Esc

    def _on_stopping(self) -> None:
        """Stop asked for, here or by Esc or the status bar: say so until the run ends."""
        self._focus.before()
        self.stop_button.setEnabled(False)
        self._focus.after()
        self.panel.stopping = True
        self.status_label.setText("Stopping after this batch; keeping the best epoch so far…"
                                  if self.job is not self.finder_job else "Stopping…")

    def _launch(self, fn, *args, name: str) -> Optional[Job]:
        if self.runner.is_busy():
            job = self.runner.current
            self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running "
                            "(or cancel it in the status bar).")
            return None
        self.result, self._began = None, False  # began: the engine said RunStarted
        self.panel.new_run()
        job = self.runner.start(fn, *args, name=name)
        if job is None:
            return None
        self.job = job
        self.panel.add_log(f"{name} started")
        job.progress.connect(self._on_event)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.cancel_requested.connect(self._on_stopping)
        job.done.connect(self._update_buttons)
        self._update_buttons()
        self.run_started.emit(job)
        return job

    def _update_buttons(self) -> None:
        running = self.job is not None and self.job.is_running()
        busy = self.runner.is_busy()
        self._focus.before()
        self.start_button.setEnabled(not busy)
        self.find_lr_button.setEnabled(not busy)
        self.stop_button.setEnabled(running and not self.job.token.cancelled)
        self.resume_button.setEnabled(not busy and self.resumable_run is not None)
        self.resume_button.setToolTip(resume_tip(self._elsewhere))
        self.settings_host.setEnabled(not running)
        self.settings_host.setToolTip("Settings are fixed while a run trains; they apply to the "
                                      "next run." if running else "")
        self._focus.after()

    # ------------------------------------------------------------------ events
    def _on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self._live_run = self._shown_run = event.run_dir
            self._began = True
            self.state.add_run(event.run_dir)
        if isinstance(event, ImagesLeftOut):  # said in a log line only (a review)
            self.show_info(f"Resuming the run. {left_out_text(event.count)}")
        if isinstance(event, (RunStarted, PhaseStarted, EpochEnd)):
            self._update_tensorboard()  # the run's folder, or its first logs, appeared
        self.panel.show_event(event)

    def _on_finished(self, result: Any) -> None:
        from core.runs.folder import RunFolder

        self.result = result
        self.device_label.setText("Device: " + result.device.in_words())
        model = RunFolder(result.run_dir).model_path
        self.state.settle_run(result.run_dir, worth_keeping(result.run_dir))
        if model.exists():
            self.state.set_model(str(model))
        self.curves.mark_best(float(result.best_epoch) if result.best_epoch else None)
        if result.status == "completed":
            self.panel.set_progress(1, 1, "Finished")
        else:
            self.progress.setFormat("Stopped")
        status, banner = ended_texts(result, read_outcome(result), model.exists(),
                                     self.panel.warnings)
        self.status_label.setText(status)
        self.show_info(banner)
        self._update_buttons()
        self.run_finished.emit(result)

    def _on_failed(self, message: str, _tb: str) -> None:
        began = getattr(self, "_began", True)  # refused before it began (another process
        self.panel.set_progress(0, 1, "Failed" if began else "Not started")  # trains it):
        self.status_label.setText("Training did not finish." if began else  # no "Failed"
                                  "Nothing was trained: see the message above.")
        message = transform_fix(message)
        self.show_error(message)
        self._refusal = (message, self.state.config.data.data_dir or "")
        self.panel.add_log(message, "error")
        run = self._live_run  # set_run below forgets it (the run is no longer training)
        self.state.settle_run(run, worth_keeping(run))  # its images unplugged at the end: put
        resumable_now, self._elsewhere = resumable_here(run)  # refused: another process
        if resumable_now:  # trains it; else put back, Resume goes on (as --resume does)
            self.resumable_run = resumable_now
            self._update_buttons()

    def _drop_refusal(self) -> None:
        """Another data folder or run opened: a failure's banner (and its "see the message
        above") was about the one open before; the page shows the open run's state."""
        message, self._refusal = self._refusal[0], None
        if self.job is not None and self.job.is_running():
            return
        self.clear_message(only=message)
        if self.status_label.text().endswith("see the message above."):
            self.panel.set_progress(0, 1, "")
            self.status_label.setText(opened_run(self.state.run_dir)[2] if self.state.run_dir
                                      else "Press Start to train a run.")

    def _on_cancelled(self) -> None:
        # Cancelled before the first epoch began (while scanning or loading weights).
        self.panel.set_progress(0, 1, "Stopped")
        self.status_label.setText("Stopped before training began; nothing was trained.")
        self.panel.add_log("stopped before training began")
        self.state.settle_run(self._live_run, worth_keeping(self._live_run))  # a resume: kept

    def _on_run_changed(self, run_dir: Optional[str]) -> None:
        self.resumable_run, self._elsewhere = resumable_here(run_dir)
        other = not same_path(run_dir, self._shown_run)
        if other or self._settings_then is None:  # a run not started here: the edits made
            self._settings_then = self.state.config.to_dict()  # from now on are not resumed
        if not (self.job is not None and self.job.is_running()):
            self._live_run = None  # the finished (or newly opened) run is the current one now
            if other:  # "Training finished… Next: Evaluate" was about the run shown before
                self.clear_message()
                self._refusal = None
            if not run_dir and other and self._shown_run:  # deleted, or another project
                self.panel.forget_run(self._shown_run)
                self._shown_run = None
                self.curves.clear()
                self.status_label.setText("No run open: press Start to train one, or open "
                                          "one on the Runs step.")
            if run_dir and other:  # opened on the Runs page or with a project: its curves
                self._shown_run = run_dir
                rows, best, text = opened_run(run_dir)
                self.curves.load_history(rows)
                self.curves.mark_best(float(best) if best else None)
                self.panel.forget_run()  # no bar, plan or device of the run shown before
                self.status_label.setText(text)
                self.panel.add_log(text)
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
