"""One editor widget per augmentation parameter, chosen by its ``ParamSpec.kind``.

The augmentation page is generated from ``core.data.augment_specs.TRANSFORMS`` rather than
hand-written per transform, so a transform added to the engine gets controls
without GUI changes.  Each editor has ``value()``/``set_value()`` in the JSON
form the config stores (lists for ranges) and a ``changed`` signal.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel,
                               QSpinBox, QWidget)


def _decimals_and_step(lo: float, hi: float) -> tuple[int, float]:
    span = abs(hi - lo) or 1.0
    if span <= 1.0:
        return 3, 0.01
    if span <= 10.0:
        return 2, 0.05
    return 1, 1.0


class ParamEditor(QWidget):
    changed = Signal()

    def __init__(self, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self._widgets: list[QWidget] = []
        kind = spec.kind
        lo = spec.minimum if spec.minimum is not None else -1e6
        hi = spec.maximum if spec.maximum is not None else 1e6
        if kind in ("float", "range"):
            decimals, step = _decimals_and_step(lo, hi)
            for i in range(2 if kind == "range" else 1):
                w = QDoubleSpinBox()
                w.setRange(lo, hi)
                w.setDecimals(decimals)
                w.setSingleStep(step)
                w.valueChanged.connect(self._emit)
                self._add(lay, w, "to" if i == 1 else None)
        elif kind in ("int", "int_range"):
            for i in range(2 if kind == "int_range" else 1):
                w = QSpinBox()
                w.setRange(int(math.floor(lo)), int(math.ceil(hi)))
                w.valueChanged.connect(self._emit)
                self._add(lay, w, "to" if i == 1 else None)
        elif kind == "bool":
            w = QCheckBox()
            w.toggled.connect(self._emit)
            self._add(lay, w, None)
        elif kind == "choice":
            w = QComboBox()
            labels = spec.choice_labels or tuple(str(c) for c in spec.choices)
            for value, label in zip(spec.choices, labels):
                w.addItem(str(label), value)
            w.currentIndexChanged.connect(self._emit)
            self._add(lay, w, None)
        else:  # unknown kind: show it, do not guess an editor
            self._add(lay, QLabel(f"({kind})"), None)
        lay.addStretch(1)
        self.set_value(spec.default)

    def _add(self, lay: QHBoxLayout, w: QWidget, label: str | None) -> None:
        if label:
            lay.addWidget(QLabel(label))
        lay.addWidget(w)
        self._widgets.append(w)

    def _emit(self, *_args) -> None:
        self.changed.emit()

    def value(self) -> Any:
        kind = self.spec.kind
        w = self._widgets
        if kind == "range":
            return [float(w[0].value()), float(w[1].value())]
        if kind == "int_range":
            return [int(w[0].value()), int(w[1].value())]
        if kind == "float":
            return float(w[0].value())
        if kind == "int":
            return int(w[0].value())
        if kind == "bool":
            return bool(w[0].isChecked())
        if kind == "choice":
            return w[0].currentData()
        return self.spec.default

    def set_value(self, value: Any) -> None:
        kind = self.spec.kind
        w = self._widgets
        for x in w:
            x.blockSignals(True)
        try:
            if kind in ("range", "int_range"):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = [-abs(value), abs(value)]
                if isinstance(value, (list, tuple)) and len(value) == 2:
                    w[0].setValue(value[0])
                    w[1].setValue(value[1])
            elif kind in ("float", "int") and isinstance(value, (int, float)):
                w[0].setValue(value)
            elif kind == "bool":
                w[0].setChecked(bool(value))
            elif kind == "choice":
                for i in range(w[0].count()):
                    if w[0].itemData(i) == value:
                        w[0].setCurrentIndex(i)
                        break
        finally:
            for x in w:
                x.blockSignals(False)
