"""Step 2: the model.  Which pretrained backbone, which weights, what input
size, and which of its layers are fine-tuned.

Everything edits ``config.model``.  The backbone list is plain data
(``core.model.backbones.CATALOG``), so it shows instantly; the layer tree needs a
built Keras model, which a worker makes (``core.model.build.build_model`` with no
weights: only the architecture matters here).  Which layers train in the
fine-tuning phase is decided by ``core.model.build.apply_freeze`` -- the same call
training makes -- so the tree and the parameter counts can never disagree with
what training will do.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QDoubleSpinBox,
                               QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QRadioButton, QSpinBox,
                               QSplitter, QTableWidget, QTableWidgetItem, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from core.model.backbones import CATALOG, get_backbone, recommendation
from core.config import FreezeConfig
from gui.jobs import Job
from gui.pages.base import Page
from gui.state import touches

FREEZE_MODES = [
    ("none", "Keep the whole backbone frozen (train only the new head)"),
    ("top_n", "Fine-tune the top N layers"),
    ("from_layer", "Fine-tune from a chosen layer upwards"),
    ("all", "Fine-tune every layer"),
    ("custom", "Fine-tune the layers ticked below"),
]


def layers_job(model_cfg, num_classes: int, listener=None, cancel=None):
    """Worker: build the architecture (no weights) and list its layers."""
    from core.model.backbones import get_backbone, resolve_image_size
    from core.events import Progress, emit
    from core.model.build import build_model

    emit(listener, Progress(0, 0, f"Building {model_cfg.backbone}…"))
    spec = get_backbone(model_cfg.backbone)
    size = resolve_image_size(spec, model_cfg.image_size, "none")
    model = build_model(model_cfg, num_classes, size, None)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return model


def weights_job(model_cfg, listener=None, cancel=None):
    """Worker: make sure the ImageNet file is in the Keras cache (downloads once)."""
    from core.model.backbones import get_backbone, resolve_image_size
    from core.model.weights import ensure_imagenet_weights

    spec = get_backbone(model_cfg.backbone)
    size = resolve_image_size(spec, model_cfg.image_size, "imagenet")
    return ensure_imagenet_weights(spec, listener=listener, cancel=cancel, image_size=size)


def check_file_job(model_cfg, path: str, listener=None, cancel=None):
    """Worker: check that a weights file fits the chosen backbone."""
    from core.model.backbones import get_backbone, resolve_image_size
    from core.model.weights import check_weights_file

    spec = get_backbone(model_cfg.backbone)
    return check_weights_file(path, spec, resolve_image_size(spec, model_cfg.image_size, path))


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n:,}"


class ModelPage(Page):
    key = "model"
    title = "2 · Model"
    intro = ("A pretrained backbone already knows edges, textures and shapes from millions of "
             "photos; it gets a new head for your classes. Smaller backbones train faster, "
             "larger ones can be more accurate with enough images.")
    next_text = "Next: augmentation"

    layers_ready = Signal(int)  # number of layer rows
    counts_changed = Signal(int, int)  # trainable, total parameters in fine-tuning

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self._model: Any = None
        self._model_key: Optional[tuple] = None
        self._layers_job: Optional[Job] = None
        self.rows: list[Any] = []
        self.trainable_params = 0
        self.total_params = 0
        self._filling = False

        split = QSplitter(Qt.Horizontal)
        # -- left: backbones ---------------------------------------------------------
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Backbone</b>"))
        self.table = QTableWidget(len(CATALOG), 5)
        self.table.setHorizontalHeaderLabels(["Backbone", "Parameters", "Input (px)",
                                              "ImageNet top-1", "CPU images/s"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setSortingEnabled(False)
        for r, spec in enumerate(CATALOG.values()):
            cells = [spec.name, _millions(spec.params), f"{spec.default_size}",
                     f"{spec.top1:.1f} %",
                     f"{spec.cpu_images_per_sec:.0f}" if spec.cpu_images_per_sec else "–"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.UserRole, spec.name)
                else:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        # Speeds come from bench/bench_backbones.py; hide the column until it has run.
        self.table.setColumnHidden(4, not any(s.cpu_images_per_sec for s in CATALOG.values()))
        self.table.itemSelectionChanged.connect(self._on_backbone_selected)
        ll.addWidget(self.table, 1)
        self.recommend_label = QLabel("")
        self.recommend_label.setWordWrap(True)
        self.recommend_label.setObjectName("hint")
        ll.addWidget(self.recommend_label)
        self.use_recommended = QPushButton("Use the recommended backbone")
        self.use_recommended.clicked.connect(self._use_recommended)
        ll.addWidget(self.use_recommended, 0, Qt.AlignLeft)

        # weights, size, head
        wbox = QGroupBox("Starting weights")
        wl = QVBoxLayout(wbox)
        self.w_imagenet = QRadioButton("ImageNet (recommended: learned from 1.2 million photos)")
        self.w_file = QRadioButton("From a file:")
        self.w_none = QRadioButton("None (random start; needs far more images)")
        self.w_group = QButtonGroup(self)
        for i, b in enumerate((self.w_imagenet, self.w_file, self.w_none)):
            self.w_group.addButton(b, i)
        self.w_group.idClicked.connect(self._on_weights_kind)
        wl.addWidget(self.w_imagenet)
        frow = QHBoxLayout()
        frow.addWidget(self.w_file)
        self.w_path = QLineEdit()
        self.w_path.setPlaceholderText("a .weights.h5 or .h5 file")
        self.w_path.editingFinished.connect(self._on_weights_path_edited)
        frow.addWidget(self.w_path, 1)
        self.w_browse = QPushButton("Browse…")
        self.w_browse.clicked.connect(self.choose_weights_file)
        frow.addWidget(self.w_browse)
        wl.addLayout(frow)
        wl.addWidget(self.w_none)
        drow = QHBoxLayout()
        self.download_button = QPushButton("Download ImageNet weights now")
        self.download_button.setToolTip("Otherwise they are downloaded when training starts")
        self.download_button.clicked.connect(self.download_weights)
        drow.addWidget(self.download_button)
        self.weights_status = QLabel("")
        self.weights_status.setWordWrap(True)
        self.weights_status.setObjectName("hint")
        drow.addWidget(self.weights_status, 1)
        wl.addLayout(drow)
        ll.addWidget(wbox)

        hbox = QGroupBox("Input and head")
        hf = QFormLayout(hbox)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(0, 1024)
        self.size_spin.setSingleStep(32)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Images are resized to this square side. Smaller is faster; "
                                  "0 uses the backbone's default.")
        self.size_spin.valueChanged.connect(self._on_size_changed)
        self.dropout_spin = QDoubleSpinBox()
        self.dropout_spin.setRange(0.0, 0.95)
        self.dropout_spin.setSingleStep(0.05)
        self.dropout_spin.setToolTip("Share of features dropped at random in training; "
                                     "fights overfitting.")
        self.dropout_spin.valueChanged.connect(lambda v: self.state.set("model.dropout",
                                                                        round(float(v), 4)))
        self.dense_spin = QSpinBox()
        self.dense_spin.setRange(0, 4096)
        self.dense_spin.setSingleStep(64)
        self.dense_spin.setSpecialValueText("none")
        self.dense_spin.setToolTip("An extra dense layer before the output (0: none)")
        self.dense_spin.valueChanged.connect(lambda v: self.state.set("model.dense_units", v))
        for spin in (self.size_spin, self.dropout_spin, self.dense_spin):
            spin.setMaximumWidth(200)
        hf.addRow("Image size:", self.size_spin)
        hf.addRow("Dropout:", self.dropout_spin)
        hf.addRow("Hidden units:", self.dense_spin)
        ll.addWidget(hbox)
        split.addWidget(left)

        # -- right: fine-tuning and layers -------------------------------------------
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(8, 0, 0, 0)
        ft_label = QLabel("<b>Fine-tuning</b> — after the new head has learned, these "
                          "backbone layers are trained further with a low learning rate")
        ft_label.setWordWrap(True)
        rl.addWidget(ft_label)
        mrow = QHBoxLayout()
        self.mode_combo = QComboBox()
        for mode, label in FREEZE_MODES:
            self.mode_combo.addItem(label, mode)
        self.mode_combo.activated.connect(self._on_mode_chosen)
        mrow.addWidget(self.mode_combo, 1)
        self.top_n_label = QLabel("N =")
        mrow.addWidget(self.top_n_label)
        self.top_n_spin = QSpinBox()
        self.top_n_spin.setRange(0, 10000)
        self.top_n_spin.setToolTip("How many of the backbone's last layers are fine-tuned")
        self.top_n_spin.valueChanged.connect(self._on_top_n_changed)
        mrow.addWidget(self.top_n_spin)
        rl.addLayout(mrow)
        frow2 = QHBoxLayout()
        self.from_label = QLabel("")
        frow2.addWidget(self.from_label, 1)
        self.from_button = QPushButton("Fine-tune from the selected layer")
        self.from_button.clicked.connect(self._use_selected_layer)
        frow2.addWidget(self.from_button)
        rl.addLayout(frow2)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Layer", "Type", "Output", "Parameters"])
        self.tree.setUniformRowHeights(True)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.Stretch)
        for col in (1, 2, 3):
            self.tree.header().setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.tree.itemChanged.connect(self._on_item_changed)
        rl.addWidget(self.tree, 1)
        self.layers_status = QLabel("The layer list appears when this page is opened.")
        self.layers_status.setObjectName("hint")
        rl.addWidget(self.layers_status)
        self.counts_label = QLabel("")
        f = QFont(self.counts_label.font())
        f.setBold(True)
        self.counts_label.setFont(f)
        rl.addWidget(self.counts_label)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([520, 560])
        self.body.addWidget(split, 1)

        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(300)
        self._rebuild_timer.timeout.connect(self._maybe_build_layers)

        self.state.config_changed.connect(self._on_config_changed)
        self.state.dataset_changed.connect(lambda _r: self._update_recommendation())
        self.runner.busy_changed.connect(lambda b: self.download_button.setEnabled(not b))
        self._sync_from_config()
        self._update_recommendation()

    # ------------------------------------------------------------------ config → widgets
    def _sync_from_config(self) -> None:
        m = self.state.config.model
        self._filling = True
        try:
            for r in range(self.table.rowCount()):
                if self.table.item(r, 0).data(Qt.UserRole) == self._spec_name(m.backbone):
                    self.table.selectRow(r)
                    break
            w = (m.weights or "").strip()
            if w.lower() == "imagenet":
                self.w_imagenet.setChecked(True)
            elif w.lower() in ("none", ""):
                self.w_none.setChecked(True)
            else:
                self.w_file.setChecked(True)
                self.w_path.setText(w)
            self.w_path.setEnabled(self.w_file.isChecked())
            self.w_browse.setEnabled(True)
            self.download_button.setVisible(self.w_imagenet.isChecked())
            for spin, v in ((self.size_spin, m.image_size), (self.dropout_spin, m.dropout),
                            (self.dense_spin, m.dense_units), (self.top_n_spin, m.freeze.top_n)):
                spin.blockSignals(True)
                spin.setValue(v)
                spin.blockSignals(False)
            self._update_size_text()
            idx = self.mode_combo.findData(m.freeze.mode)
            self.mode_combo.setCurrentIndex(max(0, idx))
            top_n = m.freeze.mode == "top_n"
            self.top_n_label.setVisible(top_n)
            self.top_n_spin.setVisible(top_n)
            self.from_label.setText(f"From layer: {m.freeze.from_layer}"
                                    if m.freeze.mode == "from_layer" and m.freeze.from_layer
                                    else "Select a layer in the list, then:")
        finally:
            self._filling = False

    @staticmethod
    def _spec_name(name: str) -> str:
        try:
            return get_backbone(name).name
        except Exception:
            return name

    def _update_size_text(self) -> None:
        try:
            spec = get_backbone(self.state.config.model.backbone)
            self.size_spin.setSpecialValueText(f"default ({spec.default_size} px)")
            self.size_spin.setToolTip(f"{spec.name} accepts {spec.size_range()} px; 0 uses "
                                      f"its default {spec.default_size} px. Smaller is faster.")
        except Exception:
            self.size_spin.setSpecialValueText("default")

    def _on_config_changed(self, path: str) -> None:
        if not touches(path, "model"):
            return
        self._sync_from_config()
        if path in ("", "model", "model.backbone", "model.image_size", "model.dense_units",
                    "model.dropout"):
            self._rebuild_timer.start()
        if touches(path, "model.freeze"):
            self._refresh_freeze()

    def _update_recommendation(self) -> None:
        report = self.state.dataset_report
        n = len(report.records) if report is not None else 0
        if not n:
            self.recommend_label.setText("Open your images on the Data page to get a "
                                         "recommendation for their number.")
            self.use_recommended.hide()
            return
        rec = recommendation(n)
        self.recommended = rec.name
        self.recommend_label.setText(f"★ Recommended: <b>{rec.name}</b> — {rec.reason}.")
        self.recommend_label.setTextFormat(Qt.RichText)
        self.use_recommended.setVisible(rec.name != self._spec_name(
            self.state.config.model.backbone))
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            name = item.data(Qt.UserRole)
            item.setText(f"★ {name}" if name == rec.name else name)
            font = item.font()
            font.setBold(name == rec.name)
            item.setFont(font)

    # ------------------------------------------------------------------ widgets → config
    def select_backbone(self, name: str) -> None:
        self.state.set("model.backbone", self._spec_name(name))

    def _on_backbone_selected(self) -> None:
        if self._filling:
            return
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.select_backbone(self.table.item(rows[0].row(), 0).data(Qt.UserRole))
            self._update_recommendation()

    def _use_recommended(self) -> None:
        name = getattr(self, "recommended", None)
        if name:
            self.select_backbone(name)
            self._update_recommendation()

    def _on_weights_kind(self, kind: int) -> None:
        if kind == 0:
            self.state.set("model.weights", "imagenet")
        elif kind == 2:
            self.state.set("model.weights", "none")
        else:
            path = self.w_path.text().strip()
            if path:
                self.set_weights_file(path)
            else:
                self.choose_weights_file()

    def _on_weights_path_edited(self) -> None:
        path = self.w_path.text().strip()
        if path and self.w_file.isChecked():
            self.set_weights_file(path)

    def choose_weights_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a weights file", "",
                                              "Keras weights (*.weights.h5 *.h5);;All files (*)")
        if path:
            self.set_weights_file(path)
        else:
            self._sync_from_config()

    def set_weights_file(self, path: str) -> bool:
        """Check ``path`` in a worker; it becomes the weights only if it fits."""
        path = os.path.abspath(path)
        job = Job(check_file_job, copy.deepcopy(self.state.config.model), path,
                  name="Checking the weights file")
        self.weights_status.setText("Checking the file…")
        job.finished.connect(lambda _r, p=path: self._weights_ok(p))
        job.failed.connect(lambda msg, _tb: self._weights_bad(msg))
        job.start()
        return True

    def _weights_ok(self, path: str) -> None:
        self.clear_message()
        self.weights_status.setText("The file fits this backbone.")
        self.state.set("model.weights", path)

    def _weights_bad(self, message: str) -> None:
        self.weights_status.setText("")
        self.show_error(message)
        self._sync_from_config()

    def download_weights(self) -> None:
        job = self.runner.start(weights_job, copy.deepcopy(self.state.config.model),
                                name="Downloading ImageNet weights")
        if job is None:
            self.show_error("Please wait for the running job to finish (or cancel it).")
            return
        self.weights_status.setText("Downloading…")
        job.finished.connect(lambda _p: self.weights_status.setText(
            "ImageNet weights are ready (kept in the Keras cache)."))
        job.failed.connect(lambda msg, _tb: (self.weights_status.setText(""),
                                             self.show_error(msg)))
        job.cancelled.connect(lambda: self.weights_status.setText("Download cancelled."))

    def _on_size_changed(self, value: int) -> None:
        self.state.set("model.image_size", int(value))

    def _on_mode_chosen(self, index: int) -> None:
        mode = self.mode_combo.itemData(index)
        f = copy.deepcopy(self.state.config.model.freeze)
        f.mode = mode
        if mode == "custom" and not f.layers:
            f.layers = self._checked_layers()
        if mode == "from_layer" and not f.from_layer:
            f.from_layer = self._selected_layer() or ""
        self.state.set("model.freeze", f)

    def set_freeze_mode(self, mode: str) -> None:
        """Choose a fine-tuning mode as the combo box does."""
        index = self.mode_combo.findData(mode)
        if index < 0:
            raise ValueError(f"unknown fine-tuning mode {mode!r}")
        self.mode_combo.setCurrentIndex(index)
        self._on_mode_chosen(index)

    def set_top_n(self, n: int) -> None:
        """Fine-tune the top ``n`` layers (the "unfreeze the top N" control)."""
        f = copy.deepcopy(self.state.config.model.freeze)
        f.mode, f.top_n = "top_n", int(n)
        self.state.set("model.freeze", f)

    def _on_top_n_changed(self, n: int) -> None:
        if not self._filling:
            self.set_top_n(n)

    def _selected_layer(self) -> Optional[str]:
        item = self.tree.currentItem()
        if item is None or item.parent() is None:
            return None
        return item.data(0, Qt.UserRole)

    def _use_selected_layer(self) -> None:
        name = self._selected_layer()
        if not name:
            self.show_info("Select a layer in the list first.")
            return
        self.state.set("model.freeze", FreezeConfig(mode="from_layer", from_layer=name,
                                                    top_n=self.state.config.model.freeze.top_n))

    def _checked_layers(self) -> list[str]:
        names = []
        for i in range(self.tree.topLevelItemCount()):
            block = self.tree.topLevelItem(i)
            for j in range(block.childCount()):
                child = block.child(j)
                if child.checkState(0) == Qt.Checked and \
                        child.flags() & Qt.ItemIsUserCheckable:
                    names.append(child.data(0, Qt.UserRole))
        return names

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != 0:
            return
        if item.parent() is None and item.flags() & Qt.ItemIsUserCheckable:
            # A block's box ticks or clears every choosable layer in it.
            on = item.checkState(0) != Qt.Unchecked
            self._filling = True
            try:
                for j in range(item.childCount()):
                    child = item.child(j)
                    if child.flags() & Qt.ItemIsUserCheckable:
                        child.setCheckState(0, Qt.Checked if on else Qt.Unchecked)
            finally:
                self._filling = False
        # Any tick by hand means "exactly these layers".
        QTimer.singleShot(0, self._commit_custom)

    def _commit_custom(self) -> None:
        if self._filling:
            return
        f = copy.deepcopy(self.state.config.model.freeze)
        f.mode, f.layers = "custom", self._checked_layers()
        self.state.set("model.freeze", f)

    # ------------------------------------------------------------------ layers
    def on_shown(self) -> None:
        self._maybe_build_layers()

    def _model_key_now(self) -> tuple:
        m = self.state.config.model
        report = self.state.dataset_report
        n = max(2, len(report.classes)) if report is not None else 2
        return (m.backbone, m.image_size, m.dense_units, m.dropout, n)

    def _maybe_build_layers(self) -> None:
        if not self.isVisible() and self._model is None and self._layers_job is None:
            return  # built when the page is first opened
        key = self._model_key_now()
        if key == self._model_key and self._model is not None:
            return
        if self._layers_job is not None and self._layers_job.is_running():
            self._layers_job.cancel()
        self._model_key = key
        self.layers_status.setText(f"Building the layer list of {key[0]}…")
        job = Job(layers_job, copy.deepcopy(self.state.config.model), key[4],
                  name="Listing layers")
        self._layers_job = job
        job.finished.connect(lambda model, j=job: self._on_model_built(j, model))
        job.failed.connect(lambda msg, _tb, j=job: self._on_model_failed(j, msg))
        job.start()

    def _on_model_failed(self, job: Job, message: str) -> None:
        if job is not self._layers_job:
            return
        self._model_key = None
        self.layers_status.setText("")
        self.show_error(message)

    def _on_model_built(self, job: Job, model: Any) -> None:
        if job is not self._layers_job:
            return
        self._model = model
        self.clear_message()
        self._refresh_freeze(rebuild_tree=True)
        self.layers_status.setText(f"{len(self.rows)} layers. Tick layers to choose them "
                                   "yourself; ticks on a block select the whole block.")
        self.layers_ready.emit(len(self.rows))

    def _refresh_freeze(self, rebuild_tree: bool = False) -> None:
        if self._model is None:
            return
        from core.model.build import apply_freeze, layer_table

        try:
            # Same order as training (head phase, then fine-tuning), so the result never
            # depends on what an earlier preview left set on the model.
            apply_freeze(self._model, self.state.config.model.freeze, "head")
            trainable, total = apply_freeze(self._model, self.state.config.model.freeze,
                                            "fine_tune")
        except Exception as exc:  # e.g. a from_layer name this backbone lacks
            self.show_error(str(exc))
            return
        self.clear_message()
        rows = layer_table(self._model)
        if rebuild_tree or [r.name for r in rows] != [r.name for r in self.rows]:
            self._build_tree(rows)
        self.rows = rows
        self._update_ticks(rows)
        self.trainable_params, self.total_params = int(trainable), int(total)
        share = 100 * trainable / total if total else 0
        self.counts_label.setText(f"Parameters: {_millions(total)} in total, "
                                  f"{_millions(trainable)} trained in fine-tuning "
                                  f"({share:.0f} %)")
        self.counts_changed.emit(self.trainable_params, self.total_params)

    @staticmethod
    def _user_choosable(row: Any) -> bool:
        """Backbone layers with weights, except BatchNormalization (never trained)."""
        return row.part == "backbone" and row.params > 0 and row.type != "BatchNormalization"

    def _build_tree(self, rows: list[Any]) -> None:
        self._filling = True
        try:
            self.tree.clear()
            blocks: dict[tuple, QTreeWidgetItem] = {}
            for row in rows:
                key = (row.part, row.block)
                block = blocks.get(key)
                if block is None:
                    label = {"preprocessing": "Input preprocessing (never trained)",
                             "head": "New head (always trained)"}.get(row.part, row.block)
                    block = QTreeWidgetItem([label or "(other)", "", "", ""])
                    if row.part == "backbone":
                        # Tri-state by hand: Qt's auto-tristate gives up when some
                        # children (BatchNormalization, weightless) have no box.
                        block.setFlags(block.flags() | Qt.ItemIsUserCheckable)
                        block.setCheckState(0, Qt.Unchecked)
                    blocks[key] = block
                    self.tree.addTopLevelItem(block)
                item = QTreeWidgetItem([row.name, row.type, row.output_shape, f"{row.params:,}"])
                item.setData(0, Qt.UserRole, row.name)
                item.setTextAlignment(3, Qt.AlignRight | Qt.AlignVCenter)
                # Only layers a user can really choose get a box; a parent block's
                # tri-state box then summarises exactly those.
                if self._user_choosable(row):
                    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                    item.setCheckState(0, Qt.Unchecked)
                else:
                    item.setFlags(item.flags() & ~Qt.ItemIsUserCheckable)
                    if row.type == "BatchNormalization":
                        item.setToolTip(0, "BatchNormalization keeps its ImageNet statistics: "
                                           "it is never trained (Keras transfer-learning guide)")
                block.addChild(item)
        finally:
            self._filling = False

    def _update_ticks(self, rows: list[Any]) -> None:
        trainable = {r.name: r.trainable for r in rows}
        self._filling = True
        try:
            for i in range(self.tree.topLevelItemCount()):
                block = self.tree.topLevelItem(i)
                choosable = n_on = 0
                for j in range(block.childCount()):
                    child = block.child(j)
                    if child.flags() & Qt.ItemIsUserCheckable:
                        on = bool(trainable.get(child.data(0, Qt.UserRole)))
                        child.setCheckState(0, Qt.Checked if on else Qt.Unchecked)
                        choosable += 1
                        n_on += on
                if choosable:
                    block.setCheckState(0, Qt.Checked if n_on == choosable else
                                        Qt.PartiallyChecked if n_on else Qt.Unchecked)
                else:
                    block.setFlags(block.flags() & ~Qt.ItemIsUserCheckable)
                    block.setData(0, Qt.CheckStateRole, None)
        finally:
            self._filling = False

    def checked_layer_count(self) -> int:
        """Backbone layers ticked in the tree (those chosen for fine-tuning)."""
        return len(self._checked_layers())

    def shutdown(self) -> None:
        self._rebuild_timer.stop()
        if self._layers_job is not None:
            self._layers_job.cancel()
