"""A decimal spin box that shows a point and takes a point or a comma, whatever the locale.

Qt's plain ``QDoubleSpinBox`` follows the system locale: under a German one it showed
"0,10" beside the app's "0.003" labels, and it read a typed "0.2" as a thousands
separator and stored 0.  Keyboard tracking is off, so the value is taken when the user
presses Enter or leaves the box: with it on, each keystroke went to the configuration,
which wrote the box back while the user was still typing (from 0.2, typing "0.35"
stored 0 on the Model page).

Its decimals are the ones always shown ("0.200"); a value with more (a config's 0.1234
dropout, 12.5 % held back, both accepted by the CLI) shows them all, and the box keeps
:data:`KEPT` decimals: it showed "0.123" and "12 %" for them (the value "0 %" for 0.4 %).
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QWidget

_TYPING = set("0123456789.-+")
#: Decimals a box keeps of its value (Qt rounds to them) and takes typed.
KEPT = 10


def exact_text(value: float, least: int, most: int) -> str:
    """``value`` with at least ``least`` decimals and as many more (up to ``most``) as it
    needs to be read back as itself."""
    for n in range(least, max(least, most) + 1):
        text = f"{value:.{n}f}"
        if float(text) == value:
            break
    return text


class DecimalSpin(QDoubleSpinBox):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.least_decimals = 2  # Qt's default
        super().setDecimals(KEPT)
        self.setKeyboardTracking(False)

    def setDecimals(self, decimals: int) -> None:  # noqa: N802 - Qt API
        """The decimals always shown; the box keeps (and shows, when the value has them)
        up to :data:`KEPT`."""
        self.least_decimals = decimals
        super().setDecimals(max(decimals, KEPT))

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt API
        return exact_text(value, self.least_decimals, self.decimals())

    def _number(self, text: str) -> str:
        """``text`` without prefix, suffix and spaces, with a decimal comma made a point."""
        t = text.strip()
        if self.prefix() and t.startswith(self.prefix().strip()):
            t = t[len(self.prefix().strip()):]
        if self.suffix() and t.endswith(self.suffix().strip()):
            t = t[:-len(self.suffix().strip())]
        return t.strip().replace(",", ".")

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt API
        if self.specialValueText() and text == self.specialValueText():
            return self.minimum()
        shown = self.textFromValue(self.value())
        if text in (shown, f"{self.prefix()}{shown}{self.suffix()}"):
            return self.value()  # confirmed unchanged (Enter, a shortcut): nothing changes
        try:
            return float(self._number(text))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        if self.specialValueText() and text == self.specialValueText():
            return QValidator.Acceptable, text, pos
        t = self._number(text)
        if not set(t) <= _TYPING or t.count(".") > 1:
            return QValidator.Invalid, text, pos
        if "." in t and len(t.split(".")[1]) > self.decimals():
            return QValidator.Invalid, text, pos
        try:
            v = float(t)
        except ValueError:  # "", "-", "." on the way to a number
            return QValidator.Intermediate, text, pos
        ok = self.minimum() <= v <= self.maximum()
        return (QValidator.Acceptable if ok else QValidator.Intermediate), text, pos
