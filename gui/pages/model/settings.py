"""The Model page's small setting groups: input size and head, and the fine-tuning mode.

They show ``config.model`` (``show``) and expose their widgets; the page
connects them to :meth:`gui.state.AppState.set`.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QPushButton, QVBoxLayout, QWidget)

from core.model.backbones import get_backbone
from gui.pages.model.backbone_table import millions
from gui.plain_text import plain_label
from gui.widgets.setting_widgets import SettingSpin, bind_spin, setting_info, setting_tooltip
from gui.widgets.decimal_spin import DecimalSpin

FREEZE_MODES = [
    ("none", "Keep the whole backbone frozen (train only the new head)"),
    ("top_n", "Fine-tune the top N layers"),
    ("from_layer", "Fine-tune from a chosen layer upwards"),
    ("all", "Fine-tune every layer"),
    ("custom", "Fine-tune the layers ticked below"),
]


#: The settings' reason for skipping fine-tuning (core.config.FreezeConfig.nothing_unfreezes,
#: in the CLI's words) as the window says it: "unfreeze: none" is no control of the page.
SKIP_WORDS = {
    "unfreeze: none": "the whole backbone stays frozen",
    "the top 0 layers": "N is 0, so no layer of the backbone is chosen",
    "no layer ticked": "no layer is ticked",
}


def counts_text(preview) -> str:
    """The page's parameter line for a FreezePreview. With fine-tuning skipped it said
    "3,843 trained in fine-tuning (0 %): none of the backbone's (unfreeze: none), so
    training skips it", both trained in and skipped (a review)."""
    total = millions(preview.total)
    if preview.skipped:
        why = SKIP_WORDS.get(preview.skipped, preview.skipped)
        return (f"Parameters: {total} in total. Only the new head's {preview.trainable:,} "
                f"train, in the first phase: {why}, so the fine-tuning phase is skipped.")
    share = 100 * preview.trainable / preview.total if preview.total else 0
    return (f"Parameters: {total} in total, {millions(preview.trainable)} trained in "
            f"fine-tuning ({share:.0f} %)")


def set_quietly(spin, value) -> None:
    """Show ``value`` without emitting valueChanged (the config already holds it)."""
    spin.blockSignals(True)
    spin.setValue(value)
    spin.blockSignals(False)


class HeadBox(QGroupBox):
    """Image size, dropout and hidden units."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__("Input and head", parent)
        form = QFormLayout(self)
        self.size_spin = SettingSpin()
        self.dropout_spin = DecimalSpin()
        self.dense_spin = SettingSpin()
        for spin, path in ((self.size_spin, "model.image_size"),
                           (self.dropout_spin, "model.dropout"),
                           (self.dense_spin, "model.dense_units")):
            bind_spin(spin, path)
            spin.setMaximumWidth(200)
            form.addRow(setting_info(path).label + ":", spin)
        self.dense_spin.setSingleStep(64)

    def show_config(self, model_cfg) -> None:
        set_quietly(self.size_spin, model_cfg.image_size)
        set_quietly(self.dropout_spin, model_cfg.dropout)
        set_quietly(self.dense_spin, model_cfg.dense_units)
        info = setting_info("model.image_size")
        general = setting_tooltip(info)
        try:
            spec = get_backbone(model_cfg.backbone)
        except Exception:  # an unknown name: the backbone table says so
            self.size_spin.gap = (0, int(info.lo))
            self.size_spin.up_from_special = None
            self.size_spin.setSpecialValueText("default")
            self.size_spin.setToolTip(general)
            return
        self.size_spin.setSpecialValueText(f"default ({spec.default_size} px)")
        # Sizes under the backbone's smallest are not offered (typed, they are not taken).
        self.size_spin.gap = (0, max(int(info.lo), spec.min_size))
        self.size_spin.up_from_special = spec.default_size
        self.size_spin.setToolTip(f"{general}\n{spec.name} accepts {spec.size_range()} px; "
                                  f"0 uses its default {spec.default_size} px.")


SCRATCH_TIP = ("Starting from random weights (None): every layer learns in both phases, "
               "BatchNorm included, so there is nothing to choose here.")


def layers_note(n: int, scratch: bool) -> str:
    """The line under the layer tree.  From random weights the tree is greyed out and every
    layer trains, yet it still said "Tick layers to choose them yourself" (a review)."""
    if scratch:
        return (f"{n} layers. From random weights every layer trains, in both phases, so "
                "there are none to choose; pick pretrained weights to choose them.")
    return (f"{n} layers. Tick layers to choose them yourself; ticks on a block select the "
            "whole block.")


class FreezeControls(QWidget):
    """The fine-tuning mode, N for "top N", and "from the selected layer"."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.mode_combo = QComboBox()
        for mode, label in FREEZE_MODES:
            self.mode_combo.addItem(label, mode)
        row.addWidget(self.mode_combo, 1)
        self.top_n_label = QLabel("N =")
        row.addWidget(self.top_n_label)
        self.top_n_spin = SettingSpin()
        self.top_n_spin.setAccessibleName("Layers to fine-tune, counted from the top")
        bind_spin(self.top_n_spin, "model.freeze.top_n")
        row.addWidget(self.top_n_spin)
        lay.addLayout(row)
        row = QHBoxLayout()
        self.from_label = plain_label("")  # a layer name from the model file
        self.from_label.setWordWrap(True)
        row.addWidget(self.from_label, 1)
        self.from_button = QPushButton("Fine-tune from the selected layer")
        row.addWidget(self.from_button)
        lay.addLayout(row)

    def set_from_scratch(self, scratch: bool) -> None:
        """Starting from random weights every layer learns, whatever is chosen here: the
        controls are off then (unticking a layer changed the mode and nothing else)."""
        for w in (self.mode_combo, self.top_n_spin, self.from_button):
            w.setEnabled(not scratch)
        self.mode_combo.setToolTip(SCRATCH_TIP if scratch else "")
        if scratch:  # after show_config, which words the label for the mode in force
            self.from_label.setText(SCRATCH_TIP)

    def show_config(self, freeze) -> None:
        set_quietly(self.top_n_spin, freeze.top_n)
        self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(freeze.mode)))
        top_n = freeze.mode == "top_n"
        self.top_n_label.setVisible(top_n)
        self.top_n_spin.setVisible(top_n)
        self.from_label.setText(f"From layer: {freeze.from_layer}"
                                if freeze.mode == "from_layer" and freeze.from_layer
                                else "Select a layer in the list, then:")
