"""Step 6: try the model on new images.

Images or folders come in by "Add images…", "Add folder…" or by dropping them
on the page (or anywhere on the window while this page shows).  They are
classified by the current model -- the run just trained -- or by any model the
app can open ("Open model…": a run folder, ``.keras``, a SavedModel folder,
``.tflite`` or ``.onnx``), through :func:`core.infer.loaders.load_predictor`, the
same code path as ``python main.py predict``, so the page and the CLI always
agree.  The CSV has the CLI's columns (``rows_to_csv`` is reused).

Everything slow runs as the window's one job: loading the model, decoding,
predicting, thumbnails and Grad-CAM.  The job returns finished ``QImage``s;
the UI thread only paints them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from PySide6.QtCore import QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFileDialog, QFrame,
                               QHBoxLayout, QHeaderView, QLabel, QListView, QMenu,
                               QPushButton, QSpinBox, QStackedWidget, QTableWidget,
                               QTableWidgetItem, QTabWidget, QTreeWidget, QTreeWidgetItem)

from gui.pages.base import Page
from gui.widgets.prediction_cards import (IMAGE_SIDE, CardRow, PredictionDelegate,
                                          PredictionModel)

IMAGE_FILTER = ("Images (*.jpg *.jpeg *.png *.bmp *.gif *.webp *.tif *.tiff);;"
                "All files (*)")
MODEL_FILTER = "Models (*.keras *.tflite *.onnx);;All files (*)"
GRADCAM_ALPHA = 0.45
GRADCAM_BATCH = 16


# --------------------------------------------------------------------------- worker side


@dataclass
class PredictOutcome:
    """What a prediction job hands back to the page (built in the worker)."""

    predictor: Any
    rows: list  # core.infer.predictor.Prediction, in input order, errors included
    thumbnails: dict = field(default_factory=dict)  # path -> QImage
    overlays: dict = field(default_factory=dict)  # path -> QImage (Grad-CAM)
    replace: bool = False  # True: these rows are the whole result (model changed)


def load_model_job(path: str, listener=None, cancel=None):
    """Open a model in the worker (TensorFlow / TFLite / onnxruntime load there)."""
    from core.events import Progress, emit
    from core.infer.loaders import load_predictor

    emit(listener, Progress(0, 0, "Loading the model…"))
    return load_predictor(path)


def _thumbnail_arrays(paths: Sequence[str], side: int, listener, cancel) -> dict:
    from core.events import Progress, emit
    from core.data.imageio import ImageError, load_thumbnail

    out = {}
    for i, p in enumerate(paths):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            out[p] = load_thumbnail(p, side)
        except (ImageError, OSError):
            pass  # it was readable a moment ago; the card shows no picture
        emit(listener, Progress(i + 1, len(paths), "Making thumbnails"))
    return out


def gradcam_overlays(predictor: Any, paths: Sequence[str], side: int = IMAGE_SIDE,
                     thumbnails: Optional[dict] = None, listener=None, cancel=None) -> dict:
    """Grad-CAM over each image's thumbnail, for the class the model predicted.

    Needs a :class:`core.infer.predictor.KerasPredictor` (gradients need the Keras
    graph); returns ``{path: QImage}``.  Images are explained in batches with
    one ``Tap`` built once, so the sub-model is not rebuilt per image.
    """
    import numpy as np

    from core.events import Progress, emit
    from core.insight.feature_maps import Tap
    from core.insight.gradcam import default_layer, grad_cam, overlay
    from core.data.imageio import ImageError, load_rgb
    from gui.thumbnails import array_to_qimage

    model = predictor.model
    tap = Tap(model, default_layer(model))
    thumbs = dict(thumbnails or {})
    missing = [p for p in paths if p not in thumbs]
    thumbs.update(_thumbnail_arrays(missing, side, None, cancel))
    out = {}
    todo = [p for p in paths if p in thumbs]
    for start in range(0, len(todo), GRADCAM_BATCH):
        if cancel is not None:
            cancel.raise_if_cancelled()
        chunk, images = [], []
        for p in todo[start:start + GRADCAM_BATCH]:
            try:
                images.append(load_rgb(p, predictor.image_size))
                chunk.append(p)
            except (ImageError, OSError):
                continue
        if chunk:
            results = grad_cam(model, np.stack(images), tap=tap)
            for p, res in zip(chunk, results):
                out[p] = array_to_qimage(overlay(thumbs[p], res.upsampled, GRADCAM_ALPHA))
        emit(listener, Progress(min(start + GRADCAM_BATCH, len(todo)), len(todo),
                                "Grad-CAM: where the model looked"))
    return out


def predict_job(model_path: str, predictor: Any, inputs: Sequence[str], known: Sequence[str],
                gradcam: bool, replace: bool = False, side: int = IMAGE_SIDE,
                listener=None, cancel=None) -> PredictOutcome:
    """Expand folders, skip images already shown, load the model if needed, predict.

    Every class's probability is kept (top_k = number of classes) so the page
    can show any k without predicting again.
    """
    from core.errors import UserError
    from core.events import Progress, emit
    from core.infer.loaders import load_predictor
    from core.infer.predictor import KerasPredictor, expand_image_paths
    from gui.thumbnails import array_to_qimage

    emit(listener, Progress(0, 0, "Finding images…"))
    seen = set(known)
    paths = [p for p in dict.fromkeys(os.path.abspath(x) for x in expand_image_paths(inputs))
             if p not in seen]
    if not paths:
        if any(os.path.isdir(x) for x in inputs) and not seen:
            raise UserError("no images found in " + ", ".join(inputs) +
                            " (looked for JPEG, PNG, BMP, GIF, WebP and TIFF files)")
        return PredictOutcome(predictor, [], replace=replace)
    if predictor is None:
        emit(listener, Progress(0, 0, "Loading the model…"))
        predictor = load_predictor(model_path)
    rows = predictor.predict_paths(paths, top_k=len(predictor.classes), listener=listener,
                                   cancel=cancel)
    ok = [r.path for r in rows if not r.error]
    arrays = _thumbnail_arrays(ok, side, listener, cancel)
    overlays = {}
    if gradcam and isinstance(predictor, KerasPredictor):
        overlays = gradcam_overlays(predictor, ok, side, arrays, listener, cancel)
    thumbs = {p: array_to_qimage(a) for p, a in arrays.items()}
    return PredictOutcome(predictor, rows, thumbs, overlays, replace)


def gradcam_job(predictor: Any, paths: Sequence[str], side: int = IMAGE_SIDE,
                listener=None, cancel=None) -> dict:
    return gradcam_overlays(predictor, paths, side, None, listener, cancel)


# --------------------------------------------------------------------------- the page


def local_paths(mime) -> list[str]:
    """Local files and folders in drag-and-drop data (web links are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


class PredictPage(Page):
    key = "predict"
    title = "6 · Try it on new images"
    intro = ("Drop images or folders anywhere on this window (or use Add images…) to see what "
             "the model says about each. The model is the one you just trained unless you "
             "open another — a run folder, .keras, SavedModel, .tflite or .onnx.")
    next_text = "Next: export"

    predictions_ready = Signal(int)  # how many new results arrived
    overlays_ready = Signal(int)  # how many Grad-CAM overlays arrived
    model_loaded = Signal(object)  # the Predictor

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.setAcceptDrops(True)
        self.predictor: Any = None
        self._predictor_path: Optional[str] = None
        self._chosen_model: Optional[str] = None  # None: follow the current run/model
        self._job = None

        # -- model row --------------------------------------------------------------
        row = QHBoxLayout()
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.open_model_button = QPushButton("Open model…")
        self.open_model_button.setToolTip("Use another model: a run folder, a .keras file, an "
                                          "exported SavedModel folder, .tflite or .onnx")
        menu = QMenu(self.open_model_button)
        menu.addAction("Model file (.keras, .tflite, .onnx)…", self.choose_model_file)
        menu.addAction("Run folder or SavedModel folder…", self.choose_model_folder)
        self.use_current_action = menu.addAction("Use the current model", self.use_current_model)
        self.open_model_button.setMenu(menu)
        row.addWidget(self.model_label, 1)
        row.addWidget(self.open_model_button)
        self.body.addLayout(row)

        # -- input row ----------------------------------------------------------------
        row = QHBoxLayout()
        self.add_button = QPushButton("Add images…")
        self.add_button.setObjectName("primary")
        self.add_button.clicked.connect(self.choose_images)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("Every image in the folder and its sub-folders")
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear_results)
        self.gradcam_check = QCheckBox("Show where the model looked (Grad-CAM)")
        self.gradcam_check.setToolTip("Colours the parts of each image that made the model "
                                      "choose its answer (red = most). Needs a Keras model.")
        self.gradcam_check.toggled.connect(self._on_gradcam_toggled)
        self.topk_spin = QSpinBox()
        self.topk_spin.setRange(1, 10)
        self.topk_spin.setValue(3)
        self.topk_spin.setToolTip("How many classes each image lists (and the CSV holds)")
        self.topk_spin.valueChanged.connect(self._on_top_k_changed)
        topk_label = QLabel("Classes shown:")
        topk_label.setBuddy(self.topk_spin)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("path, label, confidence and the top classes, one row per "
                                   "image (the same columns as 'python main.py predict --csv')")
        self.csv_button.clicked.connect(self.choose_csv)
        for w in (self.add_button, self.add_folder_button, self.clear_button):
            row.addWidget(w)
        row.addSpacing(16)
        row.addWidget(self.gradcam_check)
        row.addSpacing(16)
        row.addWidget(topk_label)
        row.addWidget(self.topk_spin)
        row.addStretch(1)
        row.addWidget(self.csv_button)
        self.body.addLayout(row)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("hint")
        self.body.addWidget(self.summary_label)

        # -- results: a drop zone until there is something to show ----------------------
        self.stack = QStackedWidget()
        self.drop_zone = QLabel("Drop images or folders here\n\nor use Add images… above")
        self.drop_zone.setAlignment(Qt.AlignCenter)
        self.drop_zone.setObjectName("hint")
        self.drop_zone.setFrameShape(QFrame.StyledPanel)
        self.drop_zone.setStyleSheet("QLabel { border: 2px dashed #55606b; border-radius: 8px; "
                                     "font-size: 14pt; }")
        self.stack.addWidget(self.drop_zone)

        self.tabs = QTabWidget()
        self.cards = PredictionModel(self)
        self.card_view = QListView()
        self.card_view.setViewMode(QListView.IconMode)
        self.card_view.setResizeMode(QListView.Adjust)
        self.card_view.setMovement(QListView.Static)
        self.card_view.setWrapping(True)
        self.card_view.setSpacing(4)
        self.card_view.setUniformItemSizes(True)
        self.card_view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.card_view.setItemDelegate(PredictionDelegate(self.card_view))
        self.card_view.setModel(self.cards)
        self.card_view.doubleClicked.connect(self._open_card_image)
        self.tabs.addTab(self.card_view, "Pictures")

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["File", "Label", "Confidence", "Top classes",
                                              "Problem"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Interactive)
        header.resizeSection(0, 320)
        header.setSectionResizeMode(3, QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.tabs.addTab(self.table, "Table")

        self.problem_tree = QTreeWidget()
        self.problem_tree.setHeaderLabels(["File", "Why it could not be read"])
        self.problem_tree.setRootIsDecorated(False)
        self.problem_tree.header().resizeSection(0, 320)
        self.tabs.addTab(self.problem_tree, "Could not read")
        self.stack.addWidget(self.tabs)
        self.body.addWidget(self.stack, 1)

        self.state.run_changed.connect(self._on_current_model_changed)
        self.state.model_changed.connect(self._on_current_model_changed)
        self.runner.busy_changed.connect(self._on_busy)
        self._refresh_model_label()
        self._refresh_results()

    # ------------------------------------------------------------------ the model
    def current_model_path(self) -> Optional[str]:
        """The model images go to: the one opened here, else the app's current model."""
        if self._chosen_model:
            return self._chosen_model
        for p in (self.state.last_model, self.state.run_dir):
            if p and os.path.exists(p):
                return p
        return None

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

    def open_model(self, path: str) -> bool:
        """Load ``path`` in a job; when it loads, the images shown are predicted again."""
        path = os.path.abspath(path)
        job = self.runner.start(load_model_job, path, name="Loading the model")
        if job is None:
            self._busy_message()
            return False
        self.clear_message()
        self.model_label.setText(f"Loading {path}…")
        job.finished.connect(lambda predictor, p=path: self._on_model_opened(p, predictor))
        job.failed.connect(lambda msg, _tb: (self.show_error(msg), self._refresh_model_label()))
        job.cancelled.connect(self._refresh_model_label)
        return True

    def _on_model_opened(self, path: str, predictor: Any) -> None:
        self._chosen_model = path
        self._set_predictor(predictor, path)
        self.model_loaded.emit(predictor)
        self._repredict_all()

    def _set_predictor(self, predictor: Any, path: Optional[str]) -> None:
        self.predictor, self._predictor_path = predictor, path
        self._refresh_model_label()
        if predictor is not None and not self._is_keras() and self.gradcam_check.isChecked():
            self.gradcam_check.setChecked(False)
            self._explain_no_gradcam()

    def _on_current_model_changed(self, _value) -> None:
        if self._chosen_model is None:
            # A new run or model: the loaded one is out of date; the next images load it.
            self._set_predictor(None, None)

    def _refresh_model_label(self) -> None:
        path = self.current_model_path()
        self.use_current_action.setEnabled(self._chosen_model is not None)
        if path is None:
            self.model_label.setText("<b>No model yet.</b> Train one (step 4) or open a model "
                                     "you exported earlier.")
            return
        whose = "opened here" if self._chosen_model else "the current model"
        p = self.predictor
        if p is not None and self._predictor_path == path:
            detail = (f"{p.kind}, {len(p.classes)} classes ({', '.join(p.classes[:6])}"
                      f"{', …' if len(p.classes) > 6 else ''}), {p.image_size} px")
        else:
            detail = "loads when you add images"
        self.model_label.setText(f"<b>Model</b> ({whose}): {_html(path)}<br>"
                                 f"<span style='color:#9aa3ad'>{_html(detail)}</span>")

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
        """Called by the window for drops while this page shows (and by the page itself)."""
        return self.add_paths(paths)

    def add_paths(self, paths: Sequence[str]) -> bool:
        """Classify image files and folders (recursively) in a job; False if not started."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return False
        return self._start_prediction(paths, known=self.cards.paths(), replace=False)

    def _repredict_all(self) -> None:
        paths = self.cards.paths()
        if paths:
            self._start_prediction(paths, known=[], replace=True)

    def _start_prediction(self, inputs: Sequence[str], known: Sequence[str],
                          replace: bool) -> bool:
        model_path = self.current_model_path()
        if model_path is None:
            self.show_error("There is no model to ask yet: train one on step 4, or use "
                            "Open model… to choose a run folder or an exported model.")
            return False
        predictor = self.predictor if self._predictor_path == model_path else None
        gradcam = self.gradcam_check.isChecked() and (predictor is None or self._is_keras())
        job = self.runner.start(predict_job, model_path, predictor, list(inputs), list(known),
                                gradcam, replace, name="Predicting")
        if job is None:
            self._busy_message()
            return False
        self._job = job
        self.clear_message()
        self.summary_label.setText("Working…")
        job.finished.connect(lambda outcome, p=model_path: self._on_predicted(p, outcome))
        job.failed.connect(lambda msg, _tb: (self.show_error(msg), self._refresh_results()))
        job.cancelled.connect(self._refresh_results)
        return True

    def _on_predicted(self, model_path: str, outcome: PredictOutcome) -> None:
        if outcome.predictor is not self.predictor:
            self._set_predictor(outcome.predictor, model_path)
        if outcome.replace:
            self.cards.clear()
        self.cards.add_rows([CardRow(r, outcome.thumbnails.get(r.path),
                                     outcome.overlays.get(r.path)) for r in outcome.rows])
        if self.gradcam_check.isChecked() and not self._is_keras():
            self.gradcam_check.setChecked(False)
            self._explain_no_gradcam()
        self._refresh_results()
        if not outcome.rows:
            self.show_info("Those images are already in the list.")
        else:
            bad = sum(1 for r in outcome.rows if r.error)
            if bad:
                self.show_info(f"{bad} file{'s' if bad != 1 else ''} could not be read; see "
                               "the Could not read tab.")
        self.predictions_ready.emit(len(outcome.rows))
        if outcome.overlays:
            self.overlays_ready.emit(len(outcome.overlays))

    def clear_results(self) -> None:
        self.cards.clear()
        self.clear_message()
        self._refresh_results()

    # ------------------------------------------------------------------ Grad-CAM
    def _on_gradcam_toggled(self, on: bool) -> None:
        self.cards.set_show_overlay(on)
        if not on:
            return
        if self.predictor is not None and not self._is_keras():
            self.gradcam_check.blockSignals(True)
            self.gradcam_check.setChecked(False)
            self.gradcam_check.blockSignals(False)
            self.cards.set_show_overlay(False)
            self._explain_no_gradcam()
            return
        missing = [p.path for p in self.cards.missing_overlays()]
        if missing and self.predictor is None:
            self._repredict_all()  # the model changed since: predict and explain afresh
        elif missing:
            job = self.runner.start(gradcam_job, self.predictor, missing,
                                    name="Computing Grad-CAM")
            if job is None:
                self._busy_message()
                return
            job.finished.connect(self._on_overlays)
            job.failed.connect(lambda msg, _tb: self.show_error(msg))

    def _on_overlays(self, overlays: dict) -> None:
        self.cards.set_overlays(overlays)
        self.overlays_ready.emit(len(overlays))

    def _explain_no_gradcam(self) -> None:
        kind = getattr(self.predictor, "kind", "this")
        self.show_info(f"Grad-CAM needs the Keras model (.keras or a run folder): it follows "
                       f"gradients through the network, which a {kind} file does not keep. "
                       "Use Open model… → Use the current model, or open the .keras file.")

    # ------------------------------------------------------------------ results
    def _on_top_k_changed(self, k: int) -> None:
        self.cards.set_top_k(k)
        self._fill_table()

    def top_k(self) -> int:
        n = len(self.predictor.classes) if self.predictor is not None else self.topk_spin.value()
        return max(1, min(self.topk_spin.value(), n))

    def _refresh_results(self) -> None:
        rows = self.cards.predictions()
        self.stack.setCurrentIndex(1 if rows else 0)
        self._fill_table()
        bad = [r for r in rows if r.error]
        self.problem_tree.clear()
        for r in bad:
            item = QTreeWidgetItem([r.path, r.error])
            item.setToolTip(0, r.path)
            item.setToolTip(1, r.error)
            self.problem_tree.addTopLevelItem(item)
        self.tabs.setTabText(2, f"Could not read ({len(bad)})" if bad else "Could not read")
        self.tabs.setTabEnabled(2, bool(bad))
        if rows:
            text = f"{len(rows) - len(bad)} image{'s' if len(rows) - len(bad) != 1 else ''} " \
                   "classified"
            if bad:
                text += f" · {len(bad)} could not be read"
            self.summary_label.setText(text + " · double-click a picture to open it")
        else:
            self.summary_label.setText("")
        self.csv_button.setEnabled(bool(rows) and not self.runner.is_busy())

    def _fill_table(self) -> None:
        rows = self.cards.predictions()
        k = self.top_k()
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            top = ", ".join(f"{lbl} {p:.1%}" for lbl, p in r.top[:k])
            values = (r.path, r.label, "" if r.error else f"{r.confidence:.1%}", top, r.error)
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if col == 2:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    item.setData(Qt.UserRole, None if r.error else float(r.confidence))
                self.table.setItem(i, col, item)
        self.table.setHorizontalHeaderLabels(["File", "Label", "Confidence",
                                              f"Top {k} classes", "Problem"])

    def table_rows(self) -> list[dict]:
        """What the table shows, one dict per row (for tests and scripting)."""
        out = []
        for i in range(self.table.rowCount()):
            out.append({"path": self.table.item(i, 0).text(),
                        "label": self.table.item(i, 1).text(),
                        "confidence": self.table.item(i, 2).data(Qt.UserRole),
                        "top": self.table.item(i, 3).text(),
                        "error": self.table.item(i, 4).text()})
        return out

    def choose_csv(self) -> None:
        start = os.path.join(self._start_dir(), "predictions.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Save the predictions as CSV", start,
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> bool:
        """Write the results with the CLI's columns (atomically); False on failure."""
        from core.cli.commands.predict import rows_to_csv
        from core.fsutil import atomic_write_text

        rows = self.cards.predictions()
        if not rows:
            self.show_error("Nothing to save yet: add some images first.")
            return False
        try:
            atomic_write_text(path, rows_to_csv(rows, self.top_k()))
        except OSError as exc:
            self.show_error(f"{path}: cannot be written ({exc.strerror or exc}); choose another "
                            "folder.")
            return False
        self.show_info(f"Saved {len(rows)} rows to {path}")
        return True

    def _open_card_image(self, index) -> None:
        p = index.data(PredictionModel.PredictionRole)
        if p is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(p.path))

    # ------------------------------------------------------------------ plumbing
    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def on_shown(self) -> None:
        self._refresh_model_label()

    def _on_busy(self, busy: bool) -> None:
        for w in (self.add_button, self.add_folder_button, self.open_model_button,
                  self.clear_button):
            w.setEnabled(not busy)
        self.csv_button.setEnabled(not busy and bool(self.cards.rowCount()))

    def _busy_message(self) -> None:
        job = self.runner.current
        self.show_error(f"Please wait: “{job.name if job else 'a job'}” is still running "
                        "(or cancel it in the status bar).")

    def _start_dir(self) -> str:
        for p in (self.cards.paths()[-1:] or []) + [self.state.config.data.data_dir or ""]:
            if p and os.path.exists(p):
                return p if os.path.isdir(p) else os.path.dirname(p)
        return str(Path.home())


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
