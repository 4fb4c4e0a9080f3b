"""One editor widget per augmentation parameter, chosen by its ``ParamSpec.kind``.

The augmentation page is generated from ``core.data.augment_specs.TRANSFORMS`` rather than
hand-written per transform, so a transform added to the engine gets controls
without GUI changes.  Each editor has ``value()``/``set_value()`` in the JSON
form the config stores (lists for ranges) and a ``changed`` signal.

An editor gives back exactly what it was given until the user changes it, end by end:
a value it cannot show (a single number where a range goes, which albumentations reads
its own way, or one outside the spin box's range) is kept as written with the boxes
off, and an end shown rounded (a ratio of 4/3 as 1.33) is written back unrounded when
only the other end changes.  The two ends of a range stay in order.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from gui.widgets.decimal_spin import DecimalSpin


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
        self._given: Any = None       # the value set_value showed
        self._touched: list[bool] = []  # per box: changed by the user since
        self._joins: list[QLabel] = []  # the "to" between a range's boxes
        self._fits = True  # the boxes can show the value given (else it is kept as written)
        self._ends: list[Any] = []  # the value given, one entry per box
        self._written_item = False  # a choice's combo holds an item for a value it lacks
        kind = spec.kind
        lo = spec.minimum if spec.minimum is not None else -1e6
        hi = spec.maximum if spec.maximum is not None else 1e6
        if kind in ("float", "range"):
            decimals, step = _decimals_and_step(lo, hi)
            for i in range(2 if kind == "range" else 1):
                w = DecimalSpin()
                w.setRange(lo, hi)
                w.setDecimals(decimals)
                w.setSingleStep(step)
                w.valueChanged.connect(lambda _v, i=i: self._on_box(i))
                self._add(lay, w, "to" if i == 1 else None)
        elif kind in ("int", "int_range"):
            for i in range(2 if kind == "int_range" else 1):
                w = QSpinBox()
                w.setRange(int(math.floor(lo)), int(math.ceil(hi)))
                w.valueChanged.connect(lambda _v, i=i: self._on_box(i))
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
        self.as_written = QLabel("")  # a value the boxes cannot show, shown as it is
        self.as_written.setObjectName("hint")
        self.as_written.setWordWrap(True)
        self.as_written.hide()
        lay.addWidget(self.as_written)
        lay.addStretch(1)
        self.set_value(spec.default)

    def _add(self, lay: QHBoxLayout, w: QWidget, label: str | None) -> None:
        if label:
            self._joins.append(QLabel(label))
            lay.addWidget(self._joins[-1])
        # a screen reader read the range's boxes as nothing: "Brightness, from" / "... to"
        end = ("" if self.spec.kind not in ("range", "int_range")
               else ", to" if label else ", from")
        w.setAccessibleName(f"{self.spec.label}{end}")
        lay.addWidget(w)
        self._widgets.append(w)

    def _emit(self, *_args) -> None:
        self.changed.emit()

    def _on_box(self, i: int) -> None:
        """Box ``i`` was changed by the user: it counts now, and a range keeps low <= high
        (low over high was written as it stood and refused by the preview)."""
        self._touched[i] = True
        w = self._widgets
        if len(w) == 2 and w[0].value() > w[1].value():
            other = 1 - i
            w[other].blockSignals(True)
            w[other].setValue(w[i].value())
            w[other].blockSignals(False)
            self._touched[other] = True
        self.changed.emit()

    def _shown(self, i: int, cast) -> Any:
        """Box ``i``'s value, or the end it was given while the user has not changed it."""
        return cast(self._widgets[i].value()) if self._touched[i] else self._ends[i]

    def value(self) -> Any:
        kind = self.spec.kind
        w = self._widgets
        if kind in ("range", "int_range", "float", "int") and not self._fits:
            return self._given  # kept as written: it cannot be shown here
        if kind == "range":
            return [self._shown(0, float), self._shown(1, float)]
        if kind == "int_range":
            return [self._shown(0, int), self._shown(1, int)]
        if kind == "float":
            return self._shown(0, float)
        if kind == "int":
            return self._shown(0, int)
        if kind == "bool":
            return bool(w[0].isChecked())
        if kind == "choice":
            if self._written_item and w[0].currentIndex() == w[0].count() - 1:
                return self._given  # the value itself, not Qt's copy of it
            return w[0].currentData()
        return self.spec.default

    def set_value(self, value: Any) -> None:
        kind = self.spec.kind
        w = self._widgets
        for x in w:
            x.blockSignals(True)
        self._given, self._touched = value, [False] * len(w)
        try:
            if kind in ("range", "int_range", "float", "int"):
                ends = list(value) if isinstance(value, (list, tuple)) else [value]
                fits = len(ends) == len(w) and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    and x.minimum() <= v <= x.maximum() for v, x in zip(ends, w))
                for x, v in zip(w, ends if fits else []):
                    x.setValue(v)
                self._fits, self._ends = fits, ends
                for x in w + self._joins:
                    x.setEnabled(fits)
                    x.setVisible(fits)
                self.as_written.setText("" if fits else f"{value!r}, as written")
                self.as_written.setToolTip("" if fits else "The settings hold a value these "
                                           "boxes cannot show; it is used as written. Edit "
                                           "the settings file to change it.")
                self.as_written.setVisible(not fits)
            elif kind == "bool":
                w[0].setChecked(bool(value))
            elif kind == "choice":
                self._set_choice(w[0], value)
        finally:
            for x in w:
                x.blockSignals(False)

    def _set_choice(self, combo: QComboBox, value: Any) -> None:
        """Select ``value``; one the combo has no entry for (a file's border_mode 2, a fill
        of [255, 0, 0]) gets an entry of its own, "as written": the combo had stayed at its
        previous choice, "black", while the preview and training used the real value."""
        if self._written_item:
            combo.removeItem(combo.count() - 1)
            self._written_item = False
        for i in range(combo.count()):
            if combo.itemData(i) == value:
                combo.setCurrentIndex(i)
                return
        combo.addItem(f"{value!r} (as written)", value)
        combo.setItemData(combo.count() - 1, "A value from the settings that this list has no "
                          "name for; it is used as written until another is chosen.",
                          Qt.ToolTipRole)
        self._written_item = True
        combo.setCurrentIndex(combo.count() - 1)
