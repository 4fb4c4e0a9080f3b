"""Step 5: how good is the model, and where does it go wrong?

For the current run (``state.run_dir``) the page reads ``metrics.json`` -- the
validation results training wrote -- and shows accuracy, macro F1, a per-class
table and the confusion matrix.  Clicking a cell lists the images behind that
number.  Off-diagonal cells can be answered from ``metrics.mistakes`` at once;
a diagonal cell needs every validation image's prediction, which a job computes
once (:func:`core.infer.evaluation.evaluate_run_validation`, as training did).

"Evaluate on another folder…" scores the same model on any labelled folder with
:func:`core.infer.evaluation.evaluate_labelled_folder` in a job; it returns every image's
answer with the metrics, so every cell of that matrix is clickable too, and the predictor it
loads is kept for the next job.  Nothing here decodes an image or runs TensorFlow on the UI thread.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton

from gui.jobs import Job
from gui.pages.base import Page
from gui.widgets.report_button import ReportButton
from gui.pages.evaluate.results import ResultsView, changed_images_text, folder_notes
from gui.pages.evaluate.no_results import no_results_text
from gui.steps import step

VALIDATION = "validation"
EMPTY_TEXT = (f"No results yet. Train a model on {step('Train')}, or open a past run on "
              f"{step('Runs')}; its validation results appear here.")


def _predictor_for(source: str, predictor, listener):
    """The predictor kept from an earlier job, else ``source`` loaded (in the worker)."""
    from core.events import Log, emit
    from core.infer.loaders import load_predictor

    if predictor is None:
        emit(listener, Log(f"loading the model {source}"))
        predictor = load_predictor(source)
        if predictor.caution:
            emit(listener, Log(predictor.caution, level="warning"))
    return predictor


def validation_job(run_dir: str, predictor=None, data_dir: str = "", listener=None,
                   cancel=None):
    """Worker: every validation image's answer; returns ``(predictor, Evaluation)``.
    ``data_dir``: the Data page's folder, where a run's moved images may be now."""
    from core.infer.evaluation import evaluate_run_validation

    predictor = _predictor_for(run_dir, predictor, listener)
    return predictor, evaluate_run_validation(run_dir, predictor, listener=listener,
                                              cancel=cancel, data_dir=data_dir)


def folder_job(source: str, folder: str, predictor=None, listener=None, cancel=None):
    """Worker: score the model on ``folder``; returns ``(predictor, Evaluation)``."""
    from core.infer.evaluation import evaluate_labelled_folder, training_images
    from core.train.near_copies import near_copy_groups

    predictor = _predictor_for(source, predictor, listener)
    trained_on = training_images(source, listener, cancel, near_copy_groups)
    return predictor, evaluate_labelled_folder(predictor, folder, listener, cancel,
                                               trained_on=trained_on)


class EvaluatePage(Page):
    key = "evaluate"
    title = "5 · Evaluate"
    intro = ("How well the model does on images it did not train on, class by class, and "
             "which images it gets wrong. Click a cell of the confusion matrix to see its "
             "images.")
    next_text = "Next: try it on new images"

    metrics_shown = Signal(object)  # core.infer.metrics.Metrics
    cell_shown = Signal(int, int, int)  # true index, predicted index, images listed
    predictions_ready = Signal(int)  # number of images with a prediction
    folder_evaluated = Signal(object)  # Metrics of another folder

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.metrics: Any = None
        self.source = VALIDATION  # or the folder path that was evaluated
        self.predictions: Optional[list] = None  # core.infer.evaluation.ImagePrediction
        self.selected_cell: Optional[tuple[int, int]] = None
        self.cell_paths: list[str] = []
        self._loaded_run: Optional[str] = None
        self._validation_metrics: Any = None
        self.calibration: Optional[dict] = None  # metrics.json's "calibration" of the run
        self._validation_predictions: Optional[list] = None
        self._predictor: Any = None
        self._predictor_source: Optional[str] = None
        self._job: Optional[Job] = None
        self._job_run: Optional[str] = None  # the run a validation job predicts (None: a folder)

        self.body.addLayout(self._build_top_row())
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setTextFormat(Qt.PlainText)  # "why" names the run's folder
        self.empty_label.setObjectName("hint")
        self.empty_label.setWordWrap(True)
        self.body.addWidget(self.empty_label)
        self.content = ResultsView()
        self.body.addWidget(self.content, 1)
        self.content.hide()
        # The page's widgets by name (tests and the screenshots read them).
        self.confusion = self.content.confusion
        self.accuracy_label = self.content.accuracy_label
        self.summary_label = self.content.summary_label
        self.class_table = self.content.class_table
        self.cell_thumbs = self.content.cell_thumbs
        self.mistake_thumbs = self.content.mistake_thumbs
        self.mistakes_label = self.content.mistakes_label
        self.confusion.cell_clicked.connect(self.show_cell)

        self.state.run_changed.connect(self._on_run_changed)
        self.state.model_changed.connect(lambda _m: self._update_buttons())
        self.runner.busy_changed.connect(lambda _b: self._update_buttons())
        self._update_buttons()

    def _build_top_row(self) -> QHBoxLayout:
        top = QHBoxLayout()
        self.source_label = QLabel()
        self.source_label.setTextFormat(Qt.RichText)  # its names escaped, every text of it
        self.source_label.setWordWrap(True)
        top.addWidget(self.source_label, 1)
        self.back_button = QPushButton("Back to the validation images")
        self.back_button.setToolTip("Show the run's own validation results again")
        self.back_button.clicked.connect(self.show_validation)
        self.back_button.hide()
        top.addWidget(self.back_button)
        self.folder_button = QPushButton("Evaluate on another folder…")
        self.folder_button.setToolTip("Score this model on any folder with one sub-folder per "
                                      "class, named like the training classes")
        self.folder_button.clicked.connect(self.choose_folder)
        top.addWidget(self.folder_button)
        self.report_button = ReportButton()  # the run's report (its validation results)
        self.report_button.saved.connect(self._report_saved)
        self.report_button.failed.connect(self.show_error)
        top.addWidget(self.report_button)
        return top

    # ------------------------------------------------------------------ loading
    def _report_saved(self, path: str) -> None:
        """The report holds the run's validation scores: said when another folder's are on
        screen, which a user may have expected in it (a report review)."""
        other = "" if self.source == VALIDATION else (
            f" (the run's validation scores; the results of {self.source} on screen are not "
            "in it: python main.py evaluate RUN FOLDER --json keeps those)")
        self.show_info(f"Saved the report: {path}{other}")

    def model_source(self) -> Optional[str]:
        """What to evaluate: the current run folder, else the last model file."""
        return self.state.run_dir or self.state.last_model

    def _on_run_changed(self, run_dir: Optional[str]) -> None:
        self._loaded_run = None
        if self.isVisible():
            self.load_run(run_dir)
        self._update_buttons()

    def on_shown(self) -> None:
        if self._loaded_run != self.state.run_dir or self.state.run_dir is None:
            self.load_run(self.state.run_dir)

    def load_run(self, run_dir: Optional[str]) -> None:
        """Show ``run_dir``'s validation results (metrics.json); forget older predictions."""
        self.clear_message()
        self._loaded_run = run_dir
        self._validation_metrics = None
        self._validation_predictions = None
        # A resumed run rewrites model.keras in the same folder: never reuse a loaded model.
        self._predictor, self._predictor_source = None, None
        self.calibration = None
        metrics = self._read_run_metrics(run_dir) if run_dir else None
        self._validation_metrics = metrics
        self._show_metrics(metrics, VALIDATION, None)
        why = no_results_text(run_dir) if run_dir and metrics is None else ""
        if why:
            self.empty_label.setText(why)

    def _read_run_metrics(self, run_dir: str):
        """metrics.json of ``run_dir``, or None (a banner says why when the file is bad)."""
        from core.errors import UserError
        from core.infer.metrics import Metrics
        from core.runs.folder import RunFolder
        from core.runs.unfinished import is_unfinished
        from core.trust.store import figures_calibration

        run = RunFolder(run_dir)
        self.calibration = None
        if run.unreadable() or not run.metrics_path.exists():  # unreadable: Path raises
            return None
        try:
            data = run.metrics()
            self.calibration = figures_calibration(data, is_unfinished(run))  # never mixed
            return Metrics.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:  # hand-edited: types checked on read
            self.show_error(f"{run.metrics_path}: not a results file this app wrote ({exc}).")
        except UserError as exc:  # unreadable file
            self.show_error(str(exc))
        return None

    def show_validation(self) -> None:
        self.clear_message()  # the folder's notes ("Not scored: …") read as about these
        self._show_metrics(self._validation_metrics, VALIDATION, self._validation_predictions)

    def _show_metrics(self, metrics: Any, source: str, predictions) -> None:
        self.metrics, self.source, self.predictions = metrics, source, predictions
        self.selected_cell = None
        self.cell_paths = []
        self.back_button.setVisible(source != VALIDATION and self._validation_metrics is not None)
        has = metrics is not None
        self.content.setVisible(has)
        self.empty_label.setVisible(not has)
        self._update_buttons()
        if not has:
            self.empty_label.setText(EMPTY_TEXT)
            self.source_label.setText("")
            self.content.clear()
            return
        run_name = Path(self.state.run_dir).name if self.state.run_dir else "the model"
        if source == VALIDATION:
            self.source_label.setText(f"<b>{escape(run_name)}</b> on its {metrics.n_images} "
                                      "validation images (never used for training)")
        else:
            self.source_label.setText(f"<b>{escape(run_name)}</b> on the folder "
                                      f"{escape(source)} ({metrics.n_images} images)")
        self.content.show_metrics(metrics, self.calibration, source == VALIDATION)
        self.metrics_shown.emit(metrics)

    # ------------------------------------------------------------------ cells
    def show_cell(self, true_index: int, predicted_index: int) -> None:
        """List the images of one (true, predicted) cell, computing predictions if needed."""
        if self.metrics is None:
            return
        self.selected_cell = (true_index, predicted_index)
        self.confusion.setCurrentIndex(self.confusion.matrix.index(true_index, predicted_index))
        self.content.tabs.setCurrentIndex(0)
        true, pred = self.metrics.classes[true_index], self.metrics.classes[predicted_index]
        expected = self.metrics.confusion[true_index][predicted_index]
        if self.predictions is not None:
            items = sorted((p for p in self.predictions if p.true_index == true_index
                            and p.predicted_index == predicted_index),
                           key=lambda p: -p.confidence)
            self._list_cell(true, pred, [(p.path, p.confidence) for p in items])
            return
        if true_index != predicted_index:
            listed = [(m.path, m.confidence) for m in self.metrics.mistakes
                      if m.true_label == true and m.predicted_label == pred]
            if len(listed) >= expected:
                self._list_cell(true, pred, listed)
                return
        if expected == 0:
            self._list_cell(true, pred, [])
            return
        self.cell_paths = []
        self.content.list_cell([], f"Finding the {expected} “{true}” image(s) predicted as "
                                   f"“{pred}”: the model is looking at every validation image "
                                   "once…")
        if self._start_validation_predictions() is None:  # busy with another job: say so here
            self.content.cell_label.setText("Not listed: click the cell again once the job in "
                                            "the status bar has finished.")

    def _list_cell(self, true: str, pred: str, items: list[tuple[str, float]]) -> None:
        self.cell_paths = [p for p, _c in items]
        where = "validation" if self.source == VALIDATION else "folder"
        if true == pred:
            what = f"{len(items)} “{true}” {where} image(s) recognised correctly"
        else:
            what = f"{len(items)} “{true}” {where} image(s) the model took for “{pred}”"
        self.content.list_cell(items, f"{what}, most confident first. Double-click one to "
                                      "open it.")
        r, c = self.selected_cell
        self.cell_shown.emit(r, c, len(items))

    def _busy_message(self, then: str) -> None:
        job = self.runner.current
        self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running{then}")

    def _start_validation_predictions(self) -> Optional[Job]:
        run_dir = self.state.run_dir
        if not run_dir:
            return None
        if self._job is not None and self._job.is_running() and self._job_run == run_dir:
            return self._job  # already working; the pending cell is shown when it ends
        if self.runner.is_busy():
            self._busy_message("; click the cell again when it has finished.")
            return None
        job = self.runner.start(validation_job, run_dir, self._cached_predictor(),
                                self.state.config.data.data_dir or "",
                                name="Predicting the validation images")
        if job is None:
            return None
        self._job, self._job_run = job, run_dir
        job.finished.connect(lambda res, r=run_dir: self._on_validation_predictions(r, res))
        job.failed.connect(lambda msg, _tb, r=run_dir: self._cell_job_ended(r, msg))
        job.cancelled.connect(lambda r=run_dir: self._cell_job_ended(r, ""))
        return job

    def _cell_job_ended(self, run_dir: str, message: str) -> None:
        """A cell's job failed (``message``) or was stopped: said on its own run's page only."""
        if run_dir != self._loaded_run:
            return
        if message:
            self.show_error(message)
        self.content.cell_label.setText("The images could not be found: see the message above."
                                        if message else "Stopped before the images were found.")

    def _cached_predictor(self):
        return self._predictor if self._predictor_source == self.model_source() else None

    def _keep_predictor(self, source: Optional[str], predictor) -> None:
        if source == self.model_source():
            self._predictor, self._predictor_source = predictor, source

    def _on_validation_predictions(self, run_dir: str, result) -> None:
        predictor, evaluation = result
        self._keep_predictor(run_dir, predictor)
        if run_dir != self._loaded_run:
            return  # the run changed while the job ran
        preds = evaluation.predictions
        self._validation_predictions = preds
        note = changed_images_text(self._validation_metrics, evaluation.metrics, len(preds))
        if note:  # the cells would list other images than the matrix counts
            self.show_info(note)
        if self.source == VALIDATION:
            self.predictions = preds
        self.predictions_ready.emit(len(preds))
        if self.selected_cell is not None and self.source == VALIDATION:
            self.show_cell(*self.selected_cell)

    # ------------------------------------------------------------------ other folder
    def choose_folder(self) -> None:
        start = self.state.config.data.data_dir or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Folder to evaluate on (one sub-folder "
                                                  "per class)", start)
        if folder:
            self.evaluate_folder(folder)

    def evaluate_folder(self, folder: str) -> Optional[Job]:
        """Score the current model on ``folder`` in a job; the results replace the view."""
        self.clear_message()
        source = self.model_source()
        if not source:
            self.show_error("There is no model yet: train one on the Train step (4) first.")
            return None
        if self.runner.is_busy():
            self._busy_message(" (or cancel it in the status bar).")
            return None
        job = self.runner.start(folder_job, source, folder, self._cached_predictor(),
                                name=f"Evaluating on {Path(folder).name}")
        if job is None:
            return None
        self._job, self._job_run = job, None
        self.source_label.setText(f"Evaluating on {escape(folder)}…")
        job.finished.connect(lambda res, s=source, f=folder: self._on_folder_done(s, f, res))
        job.failed.connect(lambda msg, _tb: self._on_folder_failed(msg))
        job.cancelled.connect(lambda: self._show_metrics(self.metrics, self.source,
                                                         self.predictions))
        return job

    def _on_folder_failed(self, message: str) -> None:
        """Say why, and put back the label of the figures still shown: "Evaluating on NEW"
        above the old folder's accuracy read as the new folder's score."""
        self._show_metrics(self.metrics, self.source, self.predictions)
        self.show_error(message)

    def _on_folder_done(self, source: str, folder: str, result) -> None:
        predictor, evaluation = result
        self._keep_predictor(source, predictor)
        if source != self.model_source():  # another run was opened meanwhile: not its figures
            self._show_metrics(self.metrics, self.source, self.predictions)
            self.show_info(f"The evaluation on {folder} was of {Path(source).name}, not of the "
                           "model now open; it is not shown. Evaluate the folder again.")
            return
        metrics = evaluation.metrics
        self._show_metrics(metrics, folder, evaluation.predictions)
        notes = folder_notes(evaluation)
        if notes:
            self.show_info(" ".join(notes).rstrip(".") + " (see View → Log).")
        self.folder_evaluated.emit(metrics)

    def _update_buttons(self) -> None:
        busy = self.runner.is_busy()
        source = self.model_source()
        self.folder_button.setEnabled(not busy and bool(source) and os.path.exists(source))
        self.report_button.set_run(self.state.run_dir, "A report is made from a run folder: "
                                   "train one, or open one on the Runs page")

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self) -> None:
        if self._job is not None and self._job.is_running():
            self._job.cancel()
        self.content.shutdown()
