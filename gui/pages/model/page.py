"""Step 2: the model.  Which pretrained backbone, which weights, what input
size, and which of its layers are fine-tuned.

Everything edits ``config.model``.  The backbone list is plain data
(``core.model.backbones.CATALOG``), so it shows instantly; the layer tree needs a
built Keras model, which a worker makes (``core.insight.architecture``: the
architecture with no weights, only the shapes matter here).  Which layers train
in the fine-tuning phase, and which a user may tick, is decided in that worker
by ``core.model.build.apply_freeze`` -- the same call training makes -- so the
tree and the parameter counts can never disagree with what training will do.
The model is touched only by those workers, one at a time (:class:`SerialJobs`).
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from core.config import FreezeConfig
from core.model.backbones import get_backbone, recommendation
from core.model.build import is_from_scratch
from gui.jobs import SerialJobs
from gui.pages.base import Page
from gui.pages.model.backbone_table import BackboneTable
from gui.pages.model.kept_layers import KeptLayers
from gui.pages.model.layer_tree import LayerTree
from gui.pages.model.settings import SCRATCH_TIP, FreezeControls, HeadBox, counts_text, layers_note
from gui.pages.model.weights_actions import WeightsActions
from gui.pages.model.weights_box import WeightsBox
from gui.state import touches
from gui.widgets.compact import WrapLabel
from gui.widgets.turning_splitter import TurningSplitter

#: Settings whose change needs a new model (the others only a new fine-tuning preview).
REBUILD_PATHS = ("", "model", "model.backbone", "model.image_size", "model.dense_units")


def layers_job(model_cfg, num_classes: int, model=None, listener=None, cancel=None):
    """Worker: build the architecture when needed and preview fine-tuning on it."""
    from core.insight.architecture import preview_layers

    return preview_layers(model_cfg, num_classes, model, listener, cancel)


class ModelPage(WeightsActions, Page):
    key = "model"
    title = "2 · Model"
    intro = ("A pretrained backbone already knows edges, textures and shapes from millions of "
             "photos; it gets a new head for your classes. Smaller backbones train faster, "
             "larger ones can be more accurate with enough images.")
    next_text = "Next: augmentation"

    layers_ready = Signal(int)  # number of layer rows (after the model was built)
    counts_changed = Signal(int, int)  # trainable, total parameters in fine-tuning

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self._model: Any = None
        self.built_key: Optional[tuple] = None  # the settings self._model was built for
        self._asked_key: Optional[tuple] = None  # the settings of the newest request
        self._preview_error = ""  # the layer list's own error on the banner, if any
        self._size_error = ""  # the size-versus-weights error on the banner, if any
        self.work = SerialJobs(self, "Listing layers")
        self.rows: list[Any] = []
        self.kept_layers = KeptLayers(state)
        self.recommended: Optional[str] = None
        self.trainable_params = 0
        self.total_params = 0
        self._filling = False

        split = TurningSplitter(collapsible=True, roomy=True)  # stacked if both do not fit
        split.addWidget(self._build_left())
        split.addWidget(self._build_right())
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

    # ------------------------------------------------------------------ building
    def _build_left(self) -> QWidget:
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Backbone</b>"))
        self.table = BackboneTable()
        self.table.setMinimumHeight(150)  # four backbones or so, whatever the window's size
        self.table.itemSelectionChanged.connect(self._on_backbone_selected)
        ll.addWidget(self.table, 1)
        self.recommend_label = WrapLabel("")  # may take three lines in a narrow column
        self.recommend_label.setObjectName("hint")
        ll.addWidget(self.recommend_label)
        self.use_recommended = QPushButton("Use the recommended backbone")
        self.use_recommended.clicked.connect(self._use_recommended)
        ll.addWidget(self.use_recommended, 0, Qt.AlignLeft)
        ll.addWidget(self._build_weights())
        ll.addWidget(self._build_head())
        return left

    def _build_weights(self) -> WeightsBox:
        box = WeightsBox()
        self.weights_box = box
        self.w_imagenet, self.w_file, self.w_none = box.w_imagenet, box.w_file, box.w_none
        self.w_path, self.w_browse = box.w_path, box.w_browse
        self.download_button, self.weights_status = box.download_button, box.weights_status
        box.w_group.idClicked.connect(self._on_weights_kind)
        box.w_path.editingFinished.connect(self._on_weights_path_edited)
        box.w_browse.clicked.connect(self.choose_weights_file)
        box.download_button.clicked.connect(self.download_weights)
        return box

    def _build_head(self) -> HeadBox:
        box = HeadBox()
        self.head_box = box
        self.size_spin, self.dropout_spin = box.size_spin, box.dropout_spin
        self.dense_spin = box.dense_spin
        box.size_spin.valueChanged.connect(
            lambda v: self.state.set("model.image_size", int(v)))
        box.dropout_spin.valueChanged.connect(
            lambda v: self.state.set("model.dropout", round(float(v), 4)))
        box.dense_spin.valueChanged.connect(lambda v: self.state.set("model.dense_units", v))
        return box

    def _build_right(self) -> QWidget:
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(8, 0, 0, 0)
        ft_label = QLabel("<b>Fine-tuning</b> — after the new head has learned, these "
                          "backbone layers are trained further with a low learning rate")
        ft_label.setWordWrap(True)
        rl.addWidget(ft_label)
        self.freeze_controls = FreezeControls()
        fc = self.freeze_controls
        self.mode_combo, self.top_n_spin = fc.mode_combo, fc.top_n_spin
        fc.mode_combo.activated.connect(self._on_mode_chosen)
        fc.top_n_spin.valueChanged.connect(self._on_top_n_changed)
        fc.from_button.clicked.connect(self._use_selected_layer)
        rl.addWidget(fc)
        self.tree = LayerTree()
        self.tree.setMinimumHeight(220)
        self.tree.ticked.connect(self._commit_custom)
        rl.addWidget(self.tree, 1)
        self.layers_status = QLabel("The layer list appears when this page is opened.")
        self.layers_status.setObjectName("hint")
        self.layers_status.setWordWrap(True)
        rl.addWidget(self.layers_status)
        self.counts_label = QLabel("")
        self.counts_label.setWordWrap(True)
        f = QFont(self.counts_label.font())
        f.setBold(True)
        self.counts_label.setFont(f)
        rl.addWidget(self.counts_label)
        return right

    # ------------------------------------------------------------------ config → widgets
    def _sync_from_config(self) -> None:
        m = self.state.config.model
        self._filling = True
        try:
            if not self.table.select_name(self._spec_name(m.backbone)):
                self._say_unknown_backbone(m.backbone)
            self.weights_box.show_weights(m.weights)
            self.head_box.show_config(m)
            self.freeze_controls.show_config(m.freeze)
            scratch = is_from_scratch(m)
            self.freeze_controls.set_from_scratch(scratch)
            self.tree.setEnabled(not scratch)
            self.tree.setToolTip(SCRATCH_TIP if scratch else "")
            if self.rows and self.layers_status.text() == layers_note(len(self.rows), not scratch):
                self.layers_status.setText(layers_note(len(self.rows), scratch))
        finally:
            self._filling = False

    def _check_size(self) -> None:
        """Say now when the size does not suit the backbone and its weights: the layer list
        builds without weights, so only Start said it."""
        from core.errors import ConfigError, UserError
        from core.model.backbones import resolve_image_size

        m, why = self.state.config.model, ""
        try:
            spec = get_backbone(m.backbone)
        except UserError:  # an unknown backbone is said by _sync_from_config
            return
        try:
            resolve_image_size(spec, m.image_size, m.weights)
        except ConfigError as exc:
            why = str(exc)
        if why:
            self.show_error(why)
        elif self._size_error:
            self.clear_message(only=self._size_error)
        self._size_error = why

    def _say_unknown_backbone(self, name: str) -> None:
        self.show_error(f"The settings name a backbone this version does not have ({name!r}, "
                        "from a project or a run of another version): choose one in the table.")

    @staticmethod
    def _spec_name(name: str) -> str:
        try:
            return get_backbone(name).name
        except Exception:
            return name

    def _on_config_changed(self, path: str) -> None:
        if not touches(path, "model"):
            return
        self._sync_from_config()
        self.weights_config_changed(path)
        if path in ("", "model", "model.backbone", "model.image_size", "model.weights"):
            self._check_size()
        if path in REBUILD_PATHS:
            self._rebuild_timer.start()
        if touches(path, "model.freeze") or path in ("model.weights",):
            self._preview_freeze()

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
        self.table.mark_recommended(rec.name)

    # ------------------------------------------------------------------ widgets → config
    def select_backbone(self, name: str) -> None:
        """Choose a backbone; layers chosen by name on another backbone go back to the top N
        (the list emptied and stayed empty), and come back with that backbone (KeptLayers)."""
        old = self._spec_name(self.state.config.model.backbone)
        note = self.kept_layers.switch(old, self._spec_name(name))
        if note:
            self.show_info(note)

    def _on_backbone_selected(self) -> None:
        if self._filling:
            return
        name = self.table.selected_name()
        if name:
            self.select_backbone(name)
            self._update_recommendation()

    def _use_recommended(self) -> None:
        if self.recommended:
            self.select_backbone(self.recommended)
            self._update_recommendation()

    def _on_mode_chosen(self, index: int) -> None:
        mode = self.mode_combo.itemData(index)
        f = copy.deepcopy(self.state.config.model.freeze)
        f.mode = mode
        if mode == "custom" and (not f.layers or not set(f.layers) <= {r.name for r in self.rows}):
            f.layers = self.tree.checked_layers()
        if mode == "from_layer":  # the layer selected now, not one chosen before (a review)
            f.from_layer = self.tree.selected_layer() or f.from_layer
            if not f.from_layer:  # "from layer ''" failed only when training started
                self.show_info("Select a block or layer in the list first, then choose this again.")
                self._sync_from_config()  # the combo goes back to the mode in force
                return
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

    def _use_selected_layer(self) -> None:
        name = self.tree.selected_layer()
        if not name:
            self.show_info("The head always trains: select a block or layer of the backbone "
                           "to fine-tune from." if self.tree.currentItem() is not None else
                           "Select a block or layer of the backbone in the list first.")
            return
        self.state.set("model.freeze", FreezeConfig(mode="from_layer", from_layer=name,
                                                    top_n=self.state.config.model.freeze.top_n))

    def _commit_custom(self) -> None:
        # Not while the tree still shows the backbone before: its layer names were stored
        # for the new one, whose build then failed and left an empty tree.
        if self._filling or self.built_key is None \
                or self.built_key[0] != self.state.config.model.backbone:
            return
        f = copy.deepcopy(self.state.config.model.freeze)
        f.mode, f.layers = "custom", self.tree.checked_layers()
        self.state.set("model.freeze", f)

    # ------------------------------------------------------------------ layers
    def on_shown(self) -> None:
        self._maybe_build_layers()
        if self._recheck_on_show:
            self._recheck_on_show = False
            self.recheck_weights_file()

    def _model_key_now(self) -> tuple:
        m = self.state.config.model
        report = self.state.dataset_report
        n = max(2, len(report.classes)) if report is not None else 2
        return (m.backbone, m.image_size, m.dense_units, n)  # dropout changes no layer

    def _maybe_build_layers(self) -> None:
        if not self.isVisible() and self._model is None and self._asked_key is None:
            return  # built when the page is first opened
        key = self._model_key_now()
        if key == self._asked_key:
            return
        self.layers_status.setText(f"Building the layer list of {key[0]}…")
        self._request(key)

    def _preview_freeze(self) -> None:
        """Ask for the fine-tuning preview of the current settings (on the current model);
        after a failed one, build the list again (it stayed empty until the page reopened)."""
        if self._asked_key is not None and self._asked_key[0] != self._model_key_now()[0]:
            return  # the other backbone's build on its way previews it (names of the new one)
        if self._asked_key is not None:
            self._request(self._asked_key)
        else:
            self._maybe_build_layers()

    def _request(self, key: tuple) -> None:
        self._asked_key = key
        model = self._model if key == self.built_key else None
        self.work.submit("layers", layers_job,
                         (copy.deepcopy(self.state.config.model), key[-1], model),
                         lambda result, k=key: self._on_preview(k, result),
                         lambda msg, k=key: self._on_preview_failed(k, msg))

    def _on_preview_failed(self, key: tuple, message: str) -> None:
        if key == self._asked_key and key != self.built_key:
            self._asked_key = None  # let the next visit try again
            self.layers_status.setText("")
            # The tree showed the backbone before (its ticks and counts under the new name)
            self._model, self.built_key, self.rows = None, None, []
            self.tree.build([], frozenset())
            self.counts_label.setText("")
        if self.table.has(self._spec_name(self.state.config.model.backbone)):  # else it is
            self._preview_error = message  # said in plainer words (_say_unknown_backbone)
            self.show_error(message)

    def _on_preview(self, key: tuple, result) -> None:
        model, preview = result
        rebuilt = model is not self._model
        self._model, self.built_key = model, key
        # Only the list's own error: a weights file found not to fit must stay on screen.
        if self._preview_error:
            self.clear_message(only=self._preview_error)
            self._preview_error = ""
        if rebuilt or [r.name for r in preview.rows] != [r.name for r in self.rows]:
            self.tree.build(preview.rows, preview.choosable)
        self.rows = preview.rows
        self.tree.show_trainable(preview.rows)
        self.trainable_params, self.total_params = preview.trainable, preview.total
        self.counts_label.setText(counts_text(preview))
        if rebuilt:
            scratch = is_from_scratch(self.state.config.model)
            self.layers_status.setText(layers_note(len(self.rows), scratch))
            self.layers_ready.emit(len(self.rows))
        self.counts_changed.emit(self.trainable_params, self.total_params)

    def checked_layer_count(self) -> int:
        """Backbone layers ticked in the tree (those chosen for fine-tuning)."""
        return len(self.tree.checked_layers())

    def shutdown(self) -> None:
        self._rebuild_timer.stop()
        self.work.shutdown()
