"""Every spin box and choice the window binds to a setting shows that setting's range and help.

The bounds and help of a setting are declared once in core/config.py; the window's
controls are made from that declaration.  This test finds every control that says which
setting it edits (``bind_spin`` records it) and checks it against the declaration: the
range and special value, the tooltip, that the extremes the widget allows are values the
config accepts, and that no setting the window edits was left out.
"""

import pytest
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox

from core.model.backbones import get_backbone
from core.config import StudioConfig

#: Settings the window edits with a spin box (export's are the Export page's own test).
SPIN_SETTINGS = {"train.epochs", "train.fine_tune_epochs", "train.batch_size",
                 "train.learning_rate", "train.fine_tune_learning_rate", "train.label_smoothing",
                 "train.early_stopping_patience", "data.val_split", "data.seed", "data.cache_mb",
                 "model.image_size", "model.dropout", "model.dense_units", "model.freeze.top_n",
                 "augment.seed", "train.time_budget", "train.seed"}
CHOICE_SETTINGS = {"train.lr_schedule", "train.mixed_precision", "train.xla", "train.head_solver"}


def bound(window, kind) -> dict:
    out = {}
    for w in window.findChildren(kind):
        path = w.property("setting")
        if path and not path.startswith("export."):
            assert path not in out, f"{path} has two controls"
            out[path] = w
    return out


def test_every_bound_spin_box_has_the_settings_range_and_help(qtbot, window):
    spins = bound(window, QAbstractSpinBox)
    assert set(spins) == SPIN_SETTINGS
    for path, spin in spins.items():
        info = StudioConfig.field(path)
        scale = spin.property("setting_scale")
        low = info.lo if info.special is None else min(info.lo, info.special[0])
        assert spin.minimum() == pytest.approx(low * scale), path
        assert spin.maximum() == pytest.approx(info.hi * scale), path
        if info.special is not None:
            assert spin.specialValueText(), f"{path}: {info.special} has no words"
        assert info.help.split("\n")[0] in spin.toolTip(), path
        assert info.bounds_text() in spin.toolTip(), path


def test_the_extremes_a_spin_box_allows_are_values_the_config_accepts(qtbot, window):
    for path, spin in bound(window, QAbstractSpinBox).items():
        info = StudioConfig.field(path)
        scale = spin.property("setting_scale")
        for value in (spin.minimum(), spin.maximum()):
            assert info.problem(value / scale) == "", f"{path}: the window allows {value}"
        # a typed number between the special value and the range is not accepted
        if getattr(spin, "gap", None) and spin.gap[1] - spin.gap[0] > 1:
            text = f"{spin.prefix()}{spin.gap[0] + 1}{spin.suffix()}"
            assert spin.validate(text, len(text))[0] != QValidator.Acceptable, path


def test_stepping_over_a_special_value_lands_in_the_range(qtbot, window):
    spin = bound(window, QAbstractSpinBox)["model.image_size"]
    info = StudioConfig.field("model.image_size")
    spin.setValue(info.special[0])
    spin.stepBy(1)  # not 1..31 px, which no backbone accepts: the backbone's default size
    default = get_backbone(window.state.config.model.backbone).default_size
    assert spin.value() == default and info.lo <= default <= info.hi
    spin.setValue(spin.gap[1])  # the smallest size allowed: one step down is the default again
    spin.stepBy(-1)
    assert spin.value() == info.special[0]
    assert window.state.config.model.image_size == info.special[0]


def test_every_bound_choice_offers_exactly_the_settings_choices(qtbot, window):
    combos = bound(window, QComboBox)
    assert set(combos) == CHOICE_SETTINGS
    for path, combo in combos.items():
        info = StudioConfig.field(path)
        assert {combo.itemData(i) for i in range(combo.count())} == set(info.choices), path
        assert info.help.split("\n")[0] in combo.toolTip(), path


def test_the_form_labels_are_the_settings_labels(qtbot, window):
    train = next(p for p in window.pages if p.key == "train")
    for name, widget in train.settings.fields.items():
        label = widget.parentWidget().layout().labelForField(widget)
        assert label.text() == StudioConfig.field(f"train.{name}").label + ":", name
