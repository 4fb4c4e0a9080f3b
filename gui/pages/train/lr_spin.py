"""A learning-rate box: shows 0.001 / 3e-05 and steps along 1-2-5 per decade.

It shows a stored rate exactly (up to 12 significant digits, as the CLI's ``--lr`` or a
hand-edited project may give it): with six digits shown and ten decimals kept, Enter on
an untouched 0.00031415926535 stored 0.000314159 and marked the project modified.

A plain spin box with fixed decimals either hides small rates (0.0000) or
shows a wall of zeros; learning rates are chosen by order of magnitude.  Its
range and an optional special value (0 = "auto" for phase 2) are set from the
setting's declaration (:func:`gui.widgets.setting_widgets.bind_spin`).
"""

from __future__ import annotations

import math
from typing import Optional

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.widgets.decimal_spin import DecimalSpin


class LearningRateSpin(DecimalSpin):
    """Learning rates by order of magnitude; the minimum may be a special value (0).  Typed
    with a point or a comma, taken on Enter (:class:`DecimalSpin`)."""

    LADDER = (1.0, 2.0, 5.0)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        self.first_rate = 1e-4  # where stepping up from a special minimum (0: auto) lands
        self.lowest = 1e-7  # the smallest real rate (the minimum may be a special value below)
        super().__init__(parent)
        self.setDecimals(20)  # keeps 12 significant digits of the smallest rate, 1e-7
        self.setRange(1e-7, 1.0)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)  # may shrink to the hint below

    def minimumSizeHint(self):  # noqa: N802 - Qt API
        """No wider than 150 px for its long "auto: …" text (the tooltip says it whole), so
        the settings column fits a small window."""
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), 150))
        return hint

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        return f"{value:.12g}"

    def validate(self, text: str, pos: int):
        if self.specialValueText() and text == self.specialValueText():
            return QValidator.Acceptable, text, pos
        t = self._number(text)
        if not t:
            return QValidator.Intermediate, text, pos
        try:
            v = float(t)
        except ValueError:
            ok_prefix = all(c in "0123456789.eE-+" for c in t)
            return (QValidator.Intermediate if ok_prefix else QValidator.Invalid), text, pos
        if self.lowest <= v <= self.maximum() or v == self.minimum():
            return QValidator.Acceptable, text, pos
        return QValidator.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        value = self.value()
        if value <= 0:  # the special minimum (auto): only upwards, to a real rate
            if steps > 0:
                self.setValue(min(max(self.first_rate, self.minimum()), self.maximum()))
            return
        for _ in range(abs(steps)):
            value = self._next(value, up=steps > 0)
        if value < self.lowest:  # below the smallest real rate: the special value, if any
            value = self.minimum() if self.minimum() < self.lowest else self.lowest
        self.setValue(min(value, self.maximum()))

    def _next(self, value: float, up: bool) -> float:
        exp = math.floor(math.log10(value))
        rungs = sorted({m * 10.0 ** e for e in (exp - 1, exp, exp + 1) for m in self.LADDER})
        if up:
            return next((r for r in rungs if r > value * 1.0001), rungs[-1])
        return next((r for r in reversed(rungs) if r < value * 0.9999), rungs[0])
