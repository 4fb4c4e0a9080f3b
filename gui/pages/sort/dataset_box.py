"""The Sort step's last part: add the decided images to the data set, undo, update the model.

"Add to data set" copies (default) or moves the labelled images into the data
folder's class folders as the window's long job
(:func:`core.label.apply.apply_labels`): never overwriting, the source folder
untouched when copying, one journalled batch.  "Undo" reverses the folder's
last batch from that journal, so it works after a restart too.  Afterwards
``files_changed`` asks the window to scan the Data page's folder again.

"Update the model" is a head-only run from the current run on the grown data
set (:func:`core.label.update.update_model`); it becomes the current run, and
the box shows how validation accuracy moved on the same images.  "Fine-tune from
this run" is the Train page's normal run with the window's settings, started from
the current run's backbone (``full_fine_tune`` asks the window to start it there,
where its curves show).
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QWidget)

from gui.jobs import Job
from gui.pages.sort.keys import leave_keys_to_the_review
from gui.journal_undo import pending_job, undo_job, undo_tip, undone_text, waiting_tip
from gui.pages.sort.jobs import apply_job, update_job
from gui.steps import step

log = logging.getLogger("finetune_studio.gui")

UPDATE_TIP = ("Retrain the head of the current run on the grown data set (the backbone stays as "
              "it is: seconds, not minutes) and compare validation accuracy")
FINE_TUNE_TIP = ("Train a new run on the grown data set with the Train page's settings, starting "
                 "from the current run's backbone (the backbone learns too: minutes); the Train "
                 "page shows it")


class DataSetBox(QGroupBox):
    """Add to data set, Undo, Update the model, Fine-tune from this run."""

    applied = Signal(object)        # LabelOutcome
    undone = Signal(object)         # FixOutcome
    updated = Signal(object)        # ModelUpdate
    files_changed = Signal()        # the data folder changed: scan it again
    message = Signal(str, str)      # text, "error" | "info"
    full_fine_tune = Signal()

    def __init__(self, state, runner, rows: Callable[[], list], run_dir: Callable[[], str],
                 parent: Optional[QWidget] = None) -> None:
        super().__init__("Into the data set", parent)
        self.state, self.runner = state, runner
        self._rows, self._run_dir = rows, run_dir
        self.small_jobs: list[Job] = []
        self.pending_undo = 0
        self._damaged_told = ("", "")  # (folder, journal warning) last shown
        self._update_about: set[str] = set()  # the runs the update line speaks of
        grid = QGridLayout(self)
        grid.addLayout(self._build_add_row(), 0, 0)
        self.outcome_label = QLabel("")
        self.outcome_label.setTextFormat(Qt.PlainText)  # the data folder, new class names
        self.outcome_label.setWordWrap(True)
        self.outcome_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.outcome_label.hide()  # shown with the first outcome
        grid.addWidget(self.outcome_label, 1, 0)
        grid.addLayout(self._build_update_row(), 2, 0)
        self.update_label = QLabel("")
        self.update_label.setTextFormat(Qt.PlainText)  # it names the new run
        self.update_label.setWordWrap(True)
        self.update_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.update_label.hide()
        grid.addWidget(self.update_label, 3, 0)
        runner.busy_changed.connect(lambda _busy: self.refresh())
        leave_keys_to_the_review(self)
        self.refresh()

    def _say(self, label: QLabel, text: str) -> None:
        label.setText(text)
        label.setVisible(bool(text))

    def _build_add_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_button = QPushButton("Add to data set")
        self.add_button.setObjectName("primary")
        self.add_button.setToolTip("Copy the labelled images into their class folders (never "
                                   "overwriting: a name already taken gets a suffix)")
        self.add_button.clicked.connect(self.add)
        self.move_check = QCheckBox("Move instead of copy")
        self.move_check.setToolTip("Take the files out of the new-images folder (copying "
                                   "leaves that folder exactly as it was)")
        self.undo_button = QPushButton("Undo")
        self._undo_tip = ("Take back the last batch added to (or fixed in) the data folder; "
                          "works after a restart too (the folder keeps a journal)")
        self.undo_button.setToolTip(self._undo_tip)
        self.undo_button.clicked.connect(self.undo)
        self.target_label = QLabel("")
        self.target_label.setTextFormat(Qt.PlainText)  # "into <data folder>"
        self.target_label.setObjectName("hint")
        self.target_label.setWordWrap(True)
        for w in (self.add_button, self.move_check):
            row.addWidget(w)
        row.addWidget(self.target_label, 1)
        row.addWidget(self.undo_button)
        return row

    def _build_update_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.update_button = QPushButton("Update the model")
        self.update_button.setToolTip(UPDATE_TIP)
        self.update_button.clicked.connect(self.update_model)
        self.fine_tune_button = QPushButton("Fine-tune from this run")
        self.fine_tune_button.setToolTip(FINE_TUNE_TIP)
        self.fine_tune_button.clicked.connect(self.full_fine_tune)
        row.addWidget(self.update_button)
        row.addWidget(self.fine_tune_button)
        row.addStretch(1)
        return row

    # -- state ---------------------------------------------------------------------------
    def data_dir(self) -> str:
        return self.state.config.data.data_dir or ""

    def refresh(self) -> None:
        """Labels and buttons follow the data folder, the run and the running job."""
        root, busy = self.data_dir(), self.runner.is_busy()
        self.target_label.setText(f"into {root}" if root else
                                  f"Choose the data folder on {step('Data')} first.")
        self.add_button.setEnabled(bool(root) and not busy)
        self.undo_button.setEnabled(bool(root) and self.pending_undo > 0 and not busy)
        self.undo_button.setText(f"Undo ({self.pending_undo} left)" if self.pending_undo
                                 else "Undo")
        # why it is disabled while a job runs (a check on the Data page), as that page's
        # Undo says (a review)
        self.undo_button.setToolTip(waiting_tip(self.runner.current.name) if busy
                                    else self._undo_tip)
        run = self._run_dir()
        # another run opened since: "New run: …" spoke of one no longer in use
        if self._update_about and os.path.abspath(run or ".") not in self._update_about:
            self._update_about = set()
            self._say(self.update_label, "")
        self.update_button.setEnabled(bool(run and root) and not busy)
        self.update_button.setToolTip(UPDATE_TIP if run else
                                      "Needs a run of this app (not an exported model)")
        self.fine_tune_button.setEnabled(bool(run and root) and not busy)
        # once a run is open it is said again what the button does (it kept "Needs a run", a
        # review)
        self.fine_tune_button.setToolTip(FINE_TUNE_TIP if run else
                                         "Needs a run of this app (not an exported model); "
                                         "the Train page trains a new run from the start")

    def refresh_undo(self) -> None:
        root = self.data_dir()
        if not root or not os.path.isdir(root):
            self._on_pending((0, "", ""))
            return
        job = Job(pending_job, root, name="Sort: journal", parent=self)
        job.finished.connect(lambda state, r=root: r == self.data_dir() and self._on_pending(state))
        job.failed.connect(lambda msg, _tb: self.message.emit(msg, "error"))
        job.done.connect(lambda j=job: self.small_jobs.remove(j))
        self.small_jobs.append(job)
        job.start()

    def _on_pending(self, state) -> None:
        """``state``: (batches that can be undone, a warning about the journal or "", what
        the next Undo takes back)."""
        count, damaged, last = state
        self.pending_undo = int(count)
        self._undo_tip = undo_tip(last)
        if damaged and self._damaged_told != (self.data_dir(), damaged):
            self.message.emit(damaged, "error")
        self._damaged_told = (self.data_dir(), damaged)
        self.refresh()

    def _start(self, fn, *args, name: str) -> Optional[Job]:
        job = self.runner.start(fn, *args, name=name)
        if job is None:
            self.message.emit("Please wait: another job is still running (or cancel it in the "
                              "status bar).", "error")
            return None
        job.failed.connect(lambda msg, _tb: self.message.emit(msg, "error"))
        job.done.connect(self.refresh)
        self.refresh()
        return job

    # -- adding and undoing ----------------------------------------------------------------
    def add(self) -> Optional[Job]:
        rows, root = self._rows(), self.data_dir()
        if not root:
            self.message.emit(f"Choose the data folder on {step('Data')} first.", "error")
            return None
        if not rows:
            self.message.emit("Label some images first: nothing labelled is waiting.", "info")
            return None
        job = self._start(apply_job, rows, root, self.move_check.isChecked(),
                          name="Adding images to the data set")
        if job is not None:
            job.finished.connect(self._on_applied)
        return job

    def _on_applied(self, outcome) -> None:
        verb = "moved" if outcome.moved else "copied"
        text = f"{len(outcome.placed)} image(s) {verb} into {self.data_dir()}"
        if outcome.new_classes:
            text += f"; new class folder(s): {', '.join(outcome.new_classes)}"
        renamed = sum(1 for src, dst in outcome.placed
                      if os.path.basename(src) != dst.rsplit("/", 1)[-1])
        if renamed:
            text += f"; {renamed} renamed (a file of that name was already there)"
        twins = sum(1 for a in outcome.already.values() if a.batch == outcome.batch)
        if twins:  # the counter's "added" counts them: say why the numbers differ
            text += (f"; {twins} more were copies of images of this batch and were not "
                     "copied again (shown as added)")
        if len(outcome.already) > twins:
            text += (f"; {len(outcome.already) - twins} were in the data set already (an "
                     "earlier batch added them)")
        if outcome.not_tried:
            text += f"; stopped: {outcome.not_tried} not added (still labelled here)"
        self._say(self.outcome_label, text + ".")
        if outcome.refused:
            for path, why in outcome.refused:  # every one in the log, a few on the page
                log.warning("not added: %s: %s", path, why)
            short = outcome.refusals_in_short()  # (those in the data set show as added)
            if short:
                self.message.emit(short, "error")
        self.applied.emit(outcome)
        if outcome.placed:
            self.files_changed.emit()
        self.refresh_undo()

    def undo(self) -> Optional[Job]:
        root = self.data_dir()
        if not root:
            return None
        job = self._start(undo_job, root, name="Undoing the last batch")
        if job is not None:
            job.finished.connect(self._on_undone)
        return job

    def _on_undone(self, outcome) -> None:
        if not outcome.batch:
            self._say(self.outcome_label, "Nothing to undo in this data folder.")
        else:
            self._say(self.outcome_label, undone_text(outcome))
        if outcome.refused:
            self.message.emit("Could not take back — " + "; ".join(
                f"{p}: {why}" for p, why in outcome.refused), "error")
        self.undone.emit(outcome)
        if outcome.moved:
            self.files_changed.emit()
        self.refresh_undo()

    # -- the model -------------------------------------------------------------------------
    def update_model(self) -> Optional[Job]:
        from core.appdirs import default_runs_dir

        run, root = self._run_dir(), self.data_dir()
        if not run or not root:
            self.message.emit("Updating needs a run of this app as the model and a data "
                              "folder (an exported model cannot be retrained).", "error")
            return None
        self._say(self.update_label, "Retraining the head on the grown data set…")
        job = self._start(update_job, run, root, str(default_runs_dir()),
                          name="Updating the model")
        if job is not None:
            job.finished.connect(self._on_updated)
            job.cancelled.connect(lambda: self._say(self.update_label, "Update cancelled."))
            job.failed.connect(lambda _m, _tb: self._say(self.update_label, "Update failed."))
        return job

    def _on_updated(self, outcome) -> None:
        self._update_about = {os.path.abspath(r) for r in (outcome.previous, outcome.run_dir)}
        text = outcome.describe()
        if self.made_current(outcome):
            from core.runs.folder import RunFolder

            self.state.set_run(outcome.run_dir)
            self.state.set_model(str(RunFolder(outcome.run_dir).model_path))
        elif outcome.status == "completed":  # scored lower: it was made current anyway, and
            # Predict and Export moved to the worse model
            text += (" It scored lower, so the current model stays; open the new run on "
                     "the Runs page to use it anyway.")
        self._say(self.update_label, text)
        self.updated.emit(outcome)

    @staticmethod
    def made_current(outcome) -> bool:
        """Whether an update becomes the current model: completed and not scoring lower."""
        return outcome.status == "completed" and not (
            outcome.before is not None and outcome.after is not None
            and outcome.after < outcome.before)

    def shutdown(self) -> None:
        for job in list(self.small_jobs):
            job.wait()
