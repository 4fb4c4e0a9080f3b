"""The Export page's "Checks" box: how hard each file is checked, and how int8 is made.

Four numbers and two switches of ``config.export``: the parity sample of the float32 formats,
and for TensorFlow Lite int8 the calibration images, the most layers it may
keep in float and the agreement it aims for (:mod:`core.export.int8`), plus
whether int8's weights are rounded for each layer's output
(:mod:`core.export.weight_rounding`) and its biases corrected
(:mod:`core.export.bias_correction`).  Every
spin box is bound to its setting (:func:`gui.widgets.setting_widgets.bind_spin`),
so its range, step and tooltip are the ones the CLI's ``export`` flags and
``StudioConfig.validate()`` use; the int8 rows are enabled only when int8 is ticked.
"""

from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel,
                               QSpinBox, QWidget)

from core.formats import AGREEMENT_SAMPLE_CAP
from gui.widgets.setting_widgets import bind_spin, setting_info, setting_tooltip
from gui.widgets.decimal_spin import DecimalSpin

#: (setting, label, scale, suffix): one row each; scale 100 shows a share in percent.
ROWS = (("export.parity_images", "Parity check images:", 1, ""),
        ("export.int8_calibration_images", "int8 calibration images:", 1, ""),
        ("export.int8_max_float_layers", "int8 float layers, at most:", 1, ""),
        ("export.int8_min_agreement", "int8 agreement target:", 100, " %"))
INT8 = {"export.int8_calibration_images", "export.int8_max_float_layers",
        "export.int8_min_agreement"}
BIAS = "export.int8_bias_correction"
ROUNDING = "export.int8_weight_rounding"


class ChecksBox(QGroupBox):
    """Edits the four numbers and two switches through ``set_value(path, value)`` (the
    window's state)."""

    def __init__(self, set_value: Callable[[str, object], None],
                 parent: Optional[QWidget] = None) -> None:
        super().__init__("Checks", parent)
        self._set = set_value
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        grid = QGridLayout(self)
        for r, (path, text, scale, suffix) in enumerate(ROWS):
            spin = DecimalSpin() if scale != 1 else QSpinBox()
            if scale != 1:
                spin.setDecimals(1)
            bind_spin(spin, path, scale=scale, suffix=suffix)
            spin.valueChanged.connect(
                lambda v, p=path, s=scale: self._set(p, v / s if s != 1 else int(v)))
            label = QLabel(text)
            label.setBuddy(spin)
            grid.addWidget(label, r, 0)
            grid.addWidget(spin, r, 1)
            self.spins[path] = spin
        self.spins["export.parity_images"].setToolTip(
            self.spins["export.parity_images"].toolTip() + "\n\nfloat32 files answer like the "
            "app on this many validation images; float16 and int8 are judged on every "
            f"validation image up to {AGREEMENT_SAMPLE_CAP}.")
        self.rounding_check = QCheckBox("Round int8 weights for each layer's output")
        self.rounding_check.setToolTip(setting_tooltip(setting_info(ROUNDING)))
        self.rounding_check.toggled.connect(lambda on: self._set(ROUNDING, bool(on)))
        grid.addWidget(self.rounding_check, len(ROWS), 0, 1, 2)
        self.bias_check = QCheckBox("Correct int8 biases")
        self.bias_check.setToolTip(setting_tooltip(setting_info(BIAS)))
        self.bias_check.toggled.connect(lambda on: self._set(BIAS, bool(on)))
        grid.addWidget(self.bias_check, len(ROWS) + 1, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(len(ROWS) + 2, 1)

    def show_config(self, export_cfg) -> None:
        """Show ``config.export``'s values without echoing them back."""
        for path, _text, scale, _suffix in ROWS:
            spin = self.spins[path]
            spin.blockSignals(True)
            value = getattr(export_cfg, path.split(".", 1)[1])
            spin.setValue(value * scale if scale != 1 else int(value))
            spin.blockSignals(False)
        for check, value in ((self.rounding_check, export_cfg.int8_weight_rounding),
                             (self.bias_check, export_cfg.int8_bias_correction)):
            check.blockSignals(True)
            check.setChecked(bool(value))
            check.blockSignals(False)

    def set_int8(self, on: bool) -> None:
        """The int8 rows only matter when int8 is ticked."""
        for path in INT8:
            self.spins[path].setEnabled(on)
        self.rounding_check.setEnabled(on)
        self.bias_check.setEnabled(on)
