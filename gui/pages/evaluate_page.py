"""Step 5: how good is the model, and where does it go wrong?

For the current run (``state.run_dir``) the page reads ``metrics.json`` -- the
validation results training wrote -- and shows accuracy, macro F1, a per-class
table and the confusion matrix.  Clicking a cell lists the images behind that
number.  Off-diagonal cells can be answered from ``metrics.mistakes`` at once;
a diagonal cell needs the prediction for every validation image, which a job
computes once (``load_predictor(run).predict_files`` over ``split.json``'s
validation records) and the page keeps, so later clicks are instant.

"Evaluate on another folder…" scores the same model on any labelled folder
with :func:`core.infer.evaluation.evaluate_folder` in a job; the predictor it loads is
kept for the next job, and its per-image answers are recorded on the way, so
every cell of that matrix is clickable too.  Nothing here decodes an image or
touches TensorFlow on the UI thread: thumbnails come from
:class:`gui.thumbnails.ThumbnailModel`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QListView, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gui.jobs import Job
from gui.pages.base import Page
from gui.thumbnails import ThumbnailModel
from gui.widgets.confusion import ConfusionView

VALIDATION = "validation"


@dataclass(frozen=True)
class ImagePrediction:
    """One image's true class, predicted class (indices into the model's classes), confidence."""

    path: str
    true_index: int
    predicted_index: int
    confidence: float


class _RecordingPredictor:
    """Passes calls to a predictor and keeps what ``predict_files`` answered.

    :func:`core.infer.evaluation.evaluate_folder` returns only the summary; the
    per-image answers it computed on the way are what a clicked cell needs, so
    they are recorded rather than computed a second time.
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.classes = inner.classes
        self.image_size = inner.image_size
        self.probs = None
        self.paths: list[str] = []

    def predict_files(self, paths, batch_size=32, listener=None, cancel=None):
        probs, ok_paths, skipped = self.inner.predict_files(paths, batch_size, listener, cancel)
        self.probs, self.paths = probs, list(ok_paths)
        return probs, ok_paths, skipped


def _open_predictor(source: str, predictor, listener):
    from core.events import Log, emit
    from core.infer.loaders import load_predictor

    if predictor is None:
        emit(listener, Log(f"loading the model {source}"))
        predictor = load_predictor(source)
    return predictor


def validation_predictions_job(run_dir: str, predictor=None, listener=None, cancel=None):
    """Worker: the model's answer for every validation image of ``run_dir``.

    Returns ``(predictor, [ImagePrediction])``; unreadable files are left out
    (training's metrics left them out too, so the counts agree).
    """
    from core.data.dataset import Split
    from core.runs.folder import RunFolder

    run = RunFolder(run_dir)
    cfg = run.load_config()
    split = Split.from_dict(run.read_json("split.json"), cfg.data.data_dir)
    predictor = _open_predictor(run_dir, predictor, listener)
    labels = {r.path: r.label for r in split.val}
    probs, ok_paths, _skipped = predictor.predict_files([r.path for r in split.val],
                                                        cfg.train.batch_size, listener, cancel)
    out = [ImagePrediction(p, labels[p], int(row.argmax()), float(row.max()))
           for p, row in zip(ok_paths, probs)]
    return predictor, out


def folder_evaluation_job(source: str, folder: str, predictor=None, listener=None, cancel=None):
    """Worker: score the model on ``folder``; returns ``(predictor, Metrics, [ImagePrediction])``."""
    from core.infer.evaluation import evaluate_folder

    predictor = _open_predictor(source, predictor, listener)
    recorder = _RecordingPredictor(predictor)
    metrics = evaluate_folder(recorder, folder, listener, cancel)
    index = {name: i for i, name in enumerate(predictor.classes)}
    wrong = {m.path: index[m.true_label] for m in metrics.mistakes}
    n_wrong = sum(v for r, row in enumerate(metrics.confusion) for c, v in enumerate(row) if r != c)
    if len(wrong) < n_wrong:  # more mistakes than metrics keeps: ask the folder for labels
        from core.data.dataset import scan_dataset

        report = scan_dataset(folder, cancel=cancel)
        truth = {r.path: index[r.class_name] for r in report.records if r.class_name in index}
    else:  # every wrong answer is listed, so every other answer was right
        truth = None
    preds = []
    for p, row in zip(recorder.paths, recorder.probs if recorder.probs is not None else []):
        pred = int(row.argmax())
        true = truth[p] if truth is not None else wrong.get(p, pred)
        preds.append(ImagePrediction(p, true, pred, float(row.max())))
    return predictor, metrics, preds


class _CaptionedThumbnails(ThumbnailModel):
    """Thumbnails with room for a two-line caption (confidence, then the file name)."""

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.SizeHintRole:
            return QSize(self.side + 72, self.side + 44)
        return super().data(index, role)


def _pct(v: float) -> str:
    return f"{v:.1%}"


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
        self.predictions: Optional[list[ImagePrediction]] = None
        self.selected_cell: Optional[tuple[int, int]] = None
        self.cell_paths: list[str] = []
        self._loaded_run: Optional[str] = None
        self._validation_metrics: Any = None
        self._validation_predictions: Optional[list[ImagePrediction]] = None
        self._predictor: Any = None
        self._predictor_source: Optional[str] = None
        self._job: Optional[Job] = None

        top = QHBoxLayout()
        self.source_label = QLabel()
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
        self.body.addLayout(top)

        self.empty_label = QLabel("No results yet. Train a model on the Train step (4); its "
                                  "validation results appear here when it finishes.")
        self.empty_label.setObjectName("hint")
        self.empty_label.setWordWrap(True)
        self.body.addWidget(self.empty_label)

        self.content = QWidget()
        cl = QVBoxLayout(self.content)
        cl.setContentsMargins(0, 0, 0, 0)
        summary = QHBoxLayout()
        self.accuracy_label = QLabel()
        big = QFont()
        big.setPointSize(20)
        big.setBold(True)
        self.accuracy_label.setFont(big)
        self.accuracy_label.setToolTip("Share of the images whose predicted class is right")
        summary.addWidget(self.accuracy_label)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        summary.addWidget(self.summary_label, 1)
        cl.addLayout(summary)

        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Confusion matrix</b> — rows: the true class; columns: what the "
                            "model said. Click a cell to see its images."))
        self.confusion = ConfusionView()
        self.confusion.cell_clicked.connect(self.show_cell)
        ll.addWidget(self.confusion)
        ll.addWidget(QLabel("<b>Per class</b>"))
        self.class_table = QTableWidget(0, 5)
        self.class_table.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1",
                                                    "Images"])
        tips = ["", "Of the images the model called this class, the share that really are",
                "Of the images of this class, the share the model found",
                "One number balancing precision and recall (their harmonic mean)",
                "Images of this class that were evaluated"]
        for i, tip in enumerate(tips):
            if tip:
                self.class_table.horizontalHeaderItem(i).setToolTip(tip)
        self.class_table.verticalHeader().hide()
        self.class_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.class_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        header = self.class_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        ll.addWidget(self.class_table, 1)
        split.addWidget(left)

        self.tabs = QTabWidget()
        cell_tab = QWidget()
        ct = QVBoxLayout(cell_tab)
        ct.setContentsMargins(4, 4, 4, 4)
        self.cell_label = QLabel("Click a cell of the confusion matrix to see its images here.")
        self.cell_label.setObjectName("hint")
        self.cell_label.setWordWrap(True)
        ct.addWidget(self.cell_label)
        self.cell_thumbs = _CaptionedThumbnails(self)
        self.cell_view = self._gallery(self.cell_thumbs)
        ct.addWidget(self.cell_view, 1)
        self.tabs.addTab(cell_tab, "Images in the chosen cell")

        mistakes_tab = QWidget()
        mt = QVBoxLayout(mistakes_tab)
        mt.setContentsMargins(4, 4, 4, 4)
        self.mistakes_label = QLabel()
        self.mistakes_label.setObjectName("hint")
        self.mistakes_label.setWordWrap(True)
        mt.addWidget(self.mistakes_label)
        self.mistake_thumbs = _CaptionedThumbnails(self)
        self.mistakes_view = self._gallery(self.mistake_thumbs)
        mt.addWidget(self.mistakes_view, 1)
        self.tabs.addTab(mistakes_tab, "Mistakes, most confident first")
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        cl.addWidget(split, 1)
        self.body.addWidget(self.content, 1)
        self.content.hide()

        self.state.run_changed.connect(self._on_run_changed)
        self.state.model_changed.connect(lambda _m: self._update_buttons())
        self.runner.busy_changed.connect(lambda _b: self._update_buttons())
        self._update_buttons()

    def _gallery(self, model: ThumbnailModel) -> QListView:
        view = QListView()
        view.setViewMode(QListView.IconMode)
        view.setResizeMode(QListView.Adjust)
        view.setMovement(QListView.Static)
        view.setUniformItemSizes(True)
        view.setWordWrap(True)
        view.setSpacing(6)
        view.setIconSize(QSize(model.side, model.side))
        view.setModel(model)
        view.setToolTip("Double-click an image to open it")
        view.doubleClicked.connect(lambda idx, m=model: QDesktopServices.openUrl(
            QUrl.fromLocalFile(m.path(idx.row()))))
        return view

    # ------------------------------------------------------------------ loading
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
        from core.infer.metrics import Metrics
        from core.runs.folder import RunFolder

        self.clear_message()
        self._loaded_run = run_dir
        self._validation_metrics = None
        self._validation_predictions = None
        # A resumed run rewrites model.keras in the same folder: never reuse a loaded model.
        self._predictor, self._predictor_source = None, None
        if not run_dir:
            self._show_metrics(None, VALIDATION, None)
            return
        run = RunFolder(run_dir)
        if not run.metrics_path.exists():
            self._show_metrics(None, VALIDATION, None)
            status = run.run_info().get("status", "")
            self.empty_label.setText(
                f"{run.path.name} has no validation results"
                + (" yet: it stopped before its first epoch ended. Resume it on the Train step."
                   if status in ("stopped", "running", "created") else
                   " (it was trained without validation images). Use “Evaluate on another "
                   "folder…” to score it."))
            return
        try:
            metrics = Metrics.from_dict(run.read_json("metrics.json"))
        except (KeyError, TypeError) as exc:
            self._show_metrics(None, VALIDATION, None)
            self.show_error(f"{run.metrics_path}: not a results file this app wrote ({exc}).")
            return
        except Exception as exc:  # UserError from read_json: unreadable file
            self._show_metrics(None, VALIDATION, None)
            self.show_error(str(exc))
            return
        self._validation_metrics = metrics
        self._show_metrics(metrics, VALIDATION, None)

    def show_validation(self) -> None:
        self._show_metrics(self._validation_metrics, VALIDATION, self._validation_predictions)

    def _show_metrics(self, metrics: Any, source: str, predictions) -> None:
        self.metrics, self.source, self.predictions = metrics, source, predictions
        self.selected_cell = None
        self.cell_paths = []
        self.cell_thumbs.set_items([])
        self.back_button.setVisible(source != VALIDATION and self._validation_metrics is not None)
        has = metrics is not None
        self.content.setVisible(has)
        self.empty_label.setVisible(not has)
        if not has:
            self.empty_label.setText("No results yet. Train a model on the Train step (4); its "
                                     "validation results appear here when it finishes.")
            self.source_label.setText("")
            self.confusion.set_matrix([], [])
            self.class_table.setRowCount(0)
            self.mistake_thumbs.set_items([])
            self._update_buttons()
            return
        run_name = Path(self.state.run_dir).name if self.state.run_dir else "the model"
        if source == VALIDATION:
            self.source_label.setText(f"<b>{run_name}</b> on its {metrics.n_images} validation "
                                      "images (never used for training)")
        else:
            self.source_label.setText(f"<b>{run_name}</b> on the folder {source} "
                                      f"({metrics.n_images} images)")
        self.accuracy_label.setText(_pct(metrics.accuracy))
        skipped = (f" {len(metrics.skipped)} unreadable file(s) were skipped."
                   if metrics.skipped else "")
        self.summary_label.setText(
            f"accuracy — {sum(r[i] for i, r in enumerate(metrics.confusion))} of "
            f"{metrics.n_images} images right.  Macro F1 {metrics.macro_f1:.3f} (the classes' "
            f"F1 averaged, so a small class counts as much as a big one).{skipped}")
        self.confusion.set_matrix(metrics.classes, metrics.confusion)
        self._fill_class_table(metrics)
        self._fill_mistakes(metrics)
        self.cell_label.setText("Click a cell of the confusion matrix to see its images here.")
        self._update_buttons()
        self.metrics_shown.emit(metrics)

    def _fill_class_table(self, metrics) -> None:
        self.class_table.setRowCount(len(metrics.per_class))
        for r, score in enumerate(metrics.per_class):
            cells = [score.name, _pct(score.precision), _pct(score.recall), f"{score.f1:.3f}",
                     str(score.support)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.class_table.setItem(r, c, item)

    def _fill_mistakes(self, metrics) -> None:
        mistakes = metrics.mistakes
        paths = [m.path for m in mistakes]
        captions = [f"{m.true_label} → {m.predicted_label} {m.confidence:.0%}\n"
                    f"{os.path.basename(m.path)}" for m in mistakes]
        self.mistake_thumbs.set_items(paths, captions)
        self.mistake_thumbs.prefetch(24)
        wrong = metrics.n_images - sum(r[i] for i, r in enumerate(metrics.confusion))
        if not wrong:
            self.mistakes_label.setText("No mistakes: every image was classified correctly.")
        else:
            more = (f" (the {len(mistakes)} most confident are listed)"
                    if len(mistakes) < wrong else "")
            self.mistakes_label.setText(
                f"{wrong} image(s) got the wrong class{more}. Captions read true → predicted, "
                "then how sure the model was: a confident mistake often means a mislabelled "
                "image or a class the pictures cannot tell apart.")
        self.tabs.setTabText(1, f"Mistakes ({wrong}), most confident first")

    # ------------------------------------------------------------------ cells
    def show_cell(self, true_index: int, predicted_index: int) -> None:
        """List the images of one (true, predicted) cell, computing predictions if needed."""
        if self.metrics is None:
            return
        self.selected_cell = (true_index, predicted_index)
        self.confusion.setCurrentIndex(self.confusion.matrix.index(true_index, predicted_index))
        self.tabs.setCurrentIndex(0)
        classes = self.metrics.classes
        true, pred = classes[true_index], classes[predicted_index]
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
        self.cell_thumbs.set_items([])
        self.cell_paths = []
        self.cell_label.setText(f"Finding the {expected} “{true}” image(s) predicted as "
                                f"“{pred}”: the model is looking at every validation image "
                                "once…")
        self._start_validation_predictions()

    def _list_cell(self, true: str, pred: str, items: list[tuple[str, float]]) -> None:
        self.cell_paths = [p for p, _c in items]
        captions = [f"{c:.0%} sure\n{os.path.basename(p)}" for p, c in items]
        self.cell_thumbs.set_items(self.cell_paths, captions)
        self.cell_thumbs.prefetch(48)
        where = "validation" if self.source == VALIDATION else "folder"
        if true == pred:
            what = f"{len(items)} “{true}” {where} image(s) recognised correctly"
        else:
            what = f"{len(items)} “{true}” {where} image(s) the model took for “{pred}”"
        self.cell_label.setText(f"{what}, most confident first. Double-click one to open it.")
        r, c = self.selected_cell
        self.cell_shown.emit(r, c, len(items))

    def _start_validation_predictions(self) -> Optional[Job]:
        run_dir = self.state.run_dir
        if not run_dir:
            return None
        if self._job is not None and self._job.is_running():
            return self._job  # already working; the pending cell is shown when it ends
        if self.runner.is_busy():
            job = self.runner.current
            self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running; "
                            "click the cell again when it has finished.")
            return None
        job = self.runner.start(validation_predictions_job, run_dir, self._cached_predictor(),
                                name="Predicting the validation images")
        if job is None:
            return None
        self._job = job
        job.finished.connect(lambda res, r=run_dir: self._on_validation_predictions(r, res))
        job.failed.connect(lambda msg, _tb: self.show_error(msg))
        job.cancelled.connect(lambda: self.cell_label.setText("Stopped before the images were "
                                                              "found."))
        return job

    def _cached_predictor(self):
        return self._predictor if self._predictor_source == self.model_source() else None

    def _keep_predictor(self, source: Optional[str], predictor) -> None:
        if source == self.model_source():
            self._predictor, self._predictor_source = predictor, source

    def _on_validation_predictions(self, run_dir: str, result) -> None:
        predictor, preds = result
        self._keep_predictor(run_dir, predictor)
        if run_dir != self._loaded_run:
            return  # the run changed while the job ran
        self._validation_predictions = preds
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
            job = self.runner.current
            self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running "
                            "(or cancel it in the status bar).")
            return None
        job = self.runner.start(folder_evaluation_job, source, folder, self._cached_predictor(),
                                name=f"Evaluating on {Path(folder).name}")
        if job is None:
            return None
        self._job = job
        self.source_label.setText(f"Evaluating on {folder}…")
        job.finished.connect(lambda res, s=source, f=folder: self._on_folder_done(s, f, res))
        job.failed.connect(lambda msg, _tb: self.show_error(msg))
        job.cancelled.connect(lambda: self._show_metrics(self.metrics, self.source,
                                                         self.predictions))
        return job

    def _on_folder_done(self, source: str, folder: str, result) -> None:
        predictor, metrics, preds = result
        self._keep_predictor(source, predictor)
        self._show_metrics(metrics, folder, preds)
        if metrics.skipped:
            self.show_info(f"{len(metrics.skipped)} file(s) in {folder} could not be read and "
                           "were skipped (see View → Log).")
        self.folder_evaluated.emit(metrics)

    def _update_buttons(self) -> None:
        busy = self.runner.is_busy()
        self.folder_button.setEnabled(not busy and bool(self.model_source()))

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self) -> None:
        if self._job is not None and self._job.is_running():
            self._job.cancel()
        self.cell_thumbs.shutdown()
        self.mistake_thumbs.shutdown()
