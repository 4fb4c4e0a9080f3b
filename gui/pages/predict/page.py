"""Step 6: try the model on new images.

Images or folders come in by "Add images…", "Add folder…" or by dropping them
on the page (or anywhere on the window while this page shows).  They are
classified by the current model -- the run just trained -- or by any model the
app can open ("Open model…": a run folder, ``.keras``, a SavedModel folder,
``.tflite`` or ``.onnx``), through :func:`core.infer.loaders.load_predictor`, the
same code path as ``python main.py predict``, so the page and the CLI always
agree.  The CSV has the CLI's columns (``rows_to_csv`` is reused).

Everything slow runs as the window's one job: loading the model, decoding,
predicting, thumbnails and Grad-CAM.  The job returns finished pictures as JPEG
bytes (:mod:`gui.pages.predict.jobs`); the UI thread decodes only those it paints.
"""

from __future__ import annotations

import os
from html import escape
from typing import Any, Optional, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel

from core.data.image_names import dialog_filter
from gui.pages.base import Page
from gui.pages.predict.cards import image_pixels
from gui.pages.predict.compact import fit_results
from gui.pages.predict.drops import predicted_note, split_models
from gui.pages.predict.input_row import TOP_K_MAX, build_input_row
from gui.pages.predict.jobs import PredictOutcome, gradcam_job, load_model_job, predict_job
from gui.pages.predict.jobs import start_dir
from gui.pages.predict.results_actions import ResultsActions
from gui.pages.predict.live import LiveCamera
from gui.pages.predict.results import BUSY_TEXT, DROP_TEXT, ResultsView, model_text
from gui.widgets.model_row import model_row
from gui.steps import get_a_model

IMAGE_FILTER = dialog_filter()
MODEL_FILTER = "Models (*.keras *.tflite *.onnx);;All files (*)"


#: Said when Grad-CAM is ticked while a job runs; taken back when the pictures come.
OWED = "The Grad-CAM pictures are computed when the current job ends."


class PredictPage(ResultsActions, Page):
    key = "predict"
    title = "6 · Try it on new images"
    intro = ("Drop images or folders anywhere on this window (or use Add images…) to see what "
             "the model says about each. The model is the one you just trained unless you "
             "open another — a run folder, .keras, SavedModel, .tflite or .onnx.")
    next_text = "Next: sort new images"

    predictions_ready = Signal(int)  # how many new results arrived
    overlays_ready = Signal(int)  # how many Grad-CAM overlays arrived
    model_loaded = Signal(object)  # the Predictor

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.predictor: Any = None
        self._predictor_path: Optional[str] = None
        self._chosen_model: Optional[str] = None  # None: follow the current run/model
        self._stale = False  # the cards shown are another model's answers
        self._job = None
        self._overlays_owed = False  # Grad-CAM ticked while a job ran
        self._refused = ""  # model files dropped with the images predicted now (drops.py)

        self.body.addLayout(self._build_model_row())
        self.body.addLayout(build_input_row(self))
        self._wanted_k = self.topk_spin.value()  # "Classes shown" asked for; a model caps it
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("hint")
        self.body.addWidget(self.summary_label)
        self.body.addWidget(self.live, 2)
        self.stack = ResultsView()
        self.body.addWidget(self.stack, 1)
        # The results' widgets by name (tests and the screenshots read them).
        self.cards, self.card_view = self.stack.cards, self.stack.card_view
        self.tabs, self.table = self.stack.tabs, self.stack.table
        self.problem_tree = self.stack.problem_tree

        self.state.project_opening.connect(self._forget_last_project)
        self.state.run_changed.connect(self._on_current_model_changed)
        self.state.model_changed.connect(self._on_current_model_changed)
        self.runner.busy_changed.connect(self._on_busy)
        self._refresh_model_label()
        self._refresh_results()

    def _build_model_row(self) -> QHBoxLayout:
        row, self.model_label, self.open_model_button, actions = model_row(
            "Use another model: a run folder, a .keras file, an exported SavedModel folder, "
            ".tflite or .onnx",
            [("Model file (.keras, .tflite, .onnx)…", self.choose_model_file),
             ("Run folder or SavedModel folder…", self.choose_model_folder),
             ("Use the current model", self.use_current_model)])
        self.use_current_action = actions[2]
        self.model_label.setTextFormat(Qt.RichText)  # model_text escapes the names in it
        self.live = LiveCamera(self)  # the live camera; its button sits in this row
        row.insertWidget(1, self.live.toggle)
        return row

    # ------------------------------------------------------------------ the model
    def current_model_path(self) -> Optional[str]:
        """The model images go to: the one opened here, else the app's current model."""
        return self._chosen_model or self.state.model_on_disk()

    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", self._start_dir(),
                                              MODEL_FILTER)
        if path:
            self.open_model(path)

    def choose_model_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a run folder or SavedModel folder",
                                                self._start_dir())
        if path:
            self.open_model(path)

    def use_current_model(self) -> None:
        self._chosen_model = None
        self._set_predictor(None, None)
        self._refresh_model_label()
        self._repredict_all()

    def open_model(self, path: str, then: Sequence[str] = ()) -> bool:
        """Load ``path`` in a job; when it loads, the images shown are predicted again, with
        ``then`` (images dropped together with the model)."""
        path = os.path.abspath(path)
        job = self.runner.start(load_model_job, path, name="Loading the model")
        if job is None:
            self._busy_message()
            return False
        self.clear_message()
        self.model_label.setText(f"Loading {escape(path)}…")
        job.finished.connect(lambda predictor, p=path, t=list(then):
                             self._on_model_opened(p, predictor, t))
        job.failed.connect(lambda msg, _tb: (self.show_error(msg), self._refresh_model_label()))
        job.cancelled.connect(self._refresh_model_label)
        return True

    def _on_model_opened(self, path: str, predictor: Any, then: Sequence[str] = ()) -> None:
        self._chosen_model = path
        self._set_predictor(predictor, path)
        self._stale = False  # every shown image is asked again just below
        self.model_loaded.emit(predictor)
        if then:
            self._start_prediction(self.cards.paths() + list(then), known=[], replace=True)
        else:
            self._repredict_all()

    def _set_predictor(self, predictor: Any, path: Optional[str]) -> None:
        self.predictor, self._predictor_path = predictor, path
        self._refresh_model_label()
        # A TFLite or ONNX model turns Grad-CAM off, saying why; a Keras one turns it back on.
        self.gradcam_bar.show_model(predictor)
        self.unknown.show_model(predictor, path)
        self._fit_top_k()

    def _fit_top_k(self) -> None:
        """"Classes shown" goes up to the model's class count (it read 10 while a 3-class
        model showed 3; a review); the number asked for comes back with a bigger model."""
        n = len(self.predictor.classes) if self.predictor is not None else TOP_K_MAX
        spin, before = self.topk_spin, self.topk_spin.value()
        spin.blockSignals(True)
        spin.setMaximum(max(1, min(TOP_K_MAX, n)))
        spin.setValue(min(self._wanted_k, spin.maximum()))
        spin.blockSignals(False)
        if spin.value() != before:
            self.cards.set_top_k(spin.value())
            self.stack.fill_table(self.top_k())

    def use_predictor(self, predictor: Any, path: str) -> None:
        """A model loaded for the live camera serves the page's images too."""
        self._set_predictor(predictor, path)

    def model_path_loaded(self) -> Optional[str]:
        """The path the loaded model came from (None: none is loaded)."""
        return self._predictor_path if self.predictor is not None else None

    def _on_current_model_changed(self, _value) -> None:
        if self._chosen_model is None:
            # A new model: the loaded one and the answers shown are stale (asked again on show)
            self._set_predictor(None, None)
            self._stale = bool(self.cards.paths())
            self._ask_again_if_stale()

    def _forget_last_project(self) -> None:
        """Another project answers with its own model (the one opened here for the last
        project stayed, and it is in neither project), and starts with no answers: the
        last project's stayed, under "No model yet", and Export CSV wrote them (a review).
        Nothing is asked: the project is not loaded (asking now predicted with the old
        model and kept its scan waiting)."""
        if self._chosen_model is not None:
            self._chosen_model = None
            self._set_predictor(None, None)
        self._stale = False
        self.clear_results()

    def _ask_again_if_stale(self) -> None:
        if self._stale and self.isVisible() and not self.runner.is_busy():
            self._stale = False
            self._repredict_all()

    def _refresh_model_label(self) -> None:
        self.use_current_action.setEnabled(self._chosen_model is not None)
        self.model_label.setText(model_text(self.current_model_path(), self._chosen_model,
                                            self.state.model_gone(),
                                            self.predictor, self._predictor_path))

    def _is_keras(self) -> bool:
        return getattr(self.predictor, "kind", "") == "keras"

    # ------------------------------------------------------------------ adding images
    def choose_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Choose images", self._start_dir(),
                                                IMAGE_FILTER)
        if paths:
            self.add_paths(paths)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder of images",
                                                self._start_dir())
        if path:
            self.add_paths([path])

    def drop_paths(self, paths: Sequence[str]) -> bool:
        """Called by the window for drops while this page shows: model and weights files
        are refused as models (they became image rows saying "remove it"), the rest added."""
        paths, refused = split_models([str(p) for p in paths])
        started = bool(paths) and self.add_paths(paths)
        if refused and (started or not paths):
            self._refused = refused if started else ""
            self.show_error(refused)
        return started

    def add_paths(self, paths: Sequence[str]) -> bool:
        """Classify image files and folders (recursively) in a job; False if not started."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return False
        if self._stale:  # the shown ones with the new model too, not two models mixed
            self._stale = False
            return self._start_prediction(self.cards.paths() + paths, known=[], replace=True)
        return self._start_prediction(paths, known=self.cards.stamps(), replace=False)

    def _repredict_all(self) -> None:
        paths = self.cards.paths()
        if paths:
            self._start_prediction(paths, known=[], replace=True)

    def _start_prediction(self, inputs: Sequence[str], known, replace: bool) -> bool:
        model_path = self.current_model_path()
        if model_path is None:
            self.show_error(self.state.model_gone() or
                            "There is no model to ask yet: " + get_a_model(
                                "use Open model… to choose a run folder or an exported model."))
            return False
        predictor = self.predictor if self._predictor_path == model_path else None
        gradcam = self.gradcam_bar.is_on() and (predictor is None or self._is_keras())
        job = self.runner.start(predict_job, model_path, predictor, list(inputs), known,
                                gradcam, replace, side=image_pixels(), name="Predicting")
        if job is None:
            self._busy_message()
            return False
        self._job, self._refused = job, ""
        self.clear_message()
        self.summary_label.setText("Working…")
        job.finished.connect(lambda outcome, p=model_path: self._on_predicted(p, outcome))
        job.failed.connect(lambda msg, _tb: (self.show_error(msg), self._refresh_results()))
        job.cancelled.connect(self._on_prediction_cancelled)
        return True

    def _on_prediction_cancelled(self) -> None:
        """Say what a stopped prediction left: nothing of it (the page had gone quiet)."""
        self._refresh_results()
        self.show_info("Stopped: none of the images being predicted were added; add them "
                       "again to predict them.")

    def _on_predicted(self, model_path: str, outcome: PredictOutcome) -> None:
        if self._chosen_model is None and model_path != self.current_model_path():
            self._stale = True  # the model changed while it ran: asked again when idle
        elif outcome.predictor is not self.predictor:
            self._set_predictor(outcome.predictor, model_path)
        if outcome.replace:
            self.cards.clear()
        replaced = self.cards.add_rows(outcome.card_rows())
        self._refresh_results(appended=not (outcome.replace or replaced))
        note, kind = predicted_note(outcome.rows, self._refused)
        self._refused = ""
        if note:
            self.banner.show_message(note, kind)
        self.predictions_ready.emit(len(outcome.rows))
        if outcome.overlays:
            self.overlays_ready.emit(len(outcome.overlays))

    def clear_results(self) -> None:
        self.cards.clear()
        self.clear_message()
        self._refresh_results()

    # ------------------------------------------------------------------ Grad-CAM
    def _on_gradcam_toggled(self, on: bool) -> None:
        """Grad-CAM switched on: compute the overlays the shown images do not have yet; while
        a job runs (images being predicted), when it ends (the box had stayed ticked over
        plain pictures: a Predict review)."""
        if not on:
            return
        if self.runner.is_busy():
            self._overlays_owed = True
            self.show_info(OWED)
            return
        missing = [p.path for p in self.cards.missing_overlays()]
        if missing and self.predictor is None:
            self._repredict_all()  # the model changed since: predict and explain afresh
        elif missing:
            job = self.runner.start(gradcam_job, self.predictor, missing, side=image_pixels(),
                                    name="Computing Grad-CAM")
            if job is None:
                self._busy_message()
                return
            job.finished.connect(self._on_overlays)
            job.failed.connect(lambda msg, _tb: self.show_error(msg))
            job.cancelled.connect(self._on_gradcam_cancelled)

    def _on_gradcam_cancelled(self) -> None:
        """A stopped Grad-CAM leaves the pictures plain: the box says so (it had stayed
        ticked, with nothing to tell the user to tick it again)."""
        self.gradcam_bar.switch_off()
        self.show_info("Grad-CAM stopped: the answers are kept; tick Grad-CAM again to "
                       "compute the pictures.")

    def _on_overlays(self, overlays: dict) -> None:
        if self.banner.text() == OWED:
            self.clear_message()
        self.cards.set_overlays(overlays)
        self.overlays_ready.emit(len(overlays))

    # ------------------------------------------------------------------ results
    def _on_top_k_changed(self, k: int) -> None:
        self._wanted_k = k
        self.cards.set_top_k(k)
        self.stack.fill_table(self.top_k())

    def top_k(self) -> int:
        n = len(self.predictor.classes) if self.predictor is not None else self.topk_spin.value()
        return max(1, min(self.topk_spin.value(), n))

    def _refresh_results(self, appended: bool = False) -> None:
        self.unknown.refresh()  # its count, after Clear too (it had kept "7 of 200")
        n, bad = self.stack.refresh(self.top_k(), appended)
        fit_results(self, bool(n))  # the room to the results: no intro, one-line notes
        if n:
            ok = n - bad
            text = f"{ok} image{'s' if ok != 1 else ''} classified"
            if bad:
                text += f" · {bad} could not be read"
            self.summary_label.setText(text + " · double-click a picture to open it")
        else:
            self.summary_label.setText("")
        self.csv_button.setEnabled(bool(n) and not self.runner.is_busy())

    def table_rows(self) -> list[dict]:
        """What the table shows, one dict per row (for tests and scripting)."""
        return self.stack.table_rows()

    # ------------------------------------------------------------------ plumbing
    def on_shown(self) -> None:
        self._refresh_model_label()
        # Asked on the next turn of the event loop: images (or a model) dropped on another
        # page show this page first and come a moment later; they join the new model's
        # answers instead of being refused by a re-predict started just before (a review).
        QTimer.singleShot(0, self._ask_again_if_stale)

    def shutdown(self) -> None:
        self.live.stop()

    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self._ask_again_if_stale()
            if self._overlays_owed and not self.runner.is_busy():
                self._overlays_owed = False
                if self.gradcam_bar.is_on():
                    QTimer.singleShot(0, lambda: self._on_gradcam_toggled(True))
        for w in (self.add_button, self.add_folder_button, self.open_model_button,
                  self.clear_button):
            w.setEnabled(not busy)
        self.stack.drop_zone.setText(BUSY_TEXT if busy else DROP_TEXT)
        self.csv_button.setEnabled(not busy and bool(self.cards.rowCount()))

    def _busy_message(self) -> None:
        job = self.runner.current
        self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running "
                        "(or cancel it in the status bar).")

    def _start_dir(self) -> str:
        return start_dir(self.cards.paths()[-1:] + [self.state.config.data.data_dir or ""])

