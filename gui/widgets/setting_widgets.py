"""Spin boxes whose range, step, unit and tooltip come from the setting they edit.

Every number the window edits is a field of :class:`core.config.StudioConfig`
declared with its bounds and help (``core.config_fields.setting``); the CLI
and ``StudioConfig.validate()`` read the same declaration.  :func:`bind_spin`
applies it to a spin box, so the window can neither accept a value the config
refuses nor refuse one it accepts, and its tooltip is the setting's help.

A setting may allow one value outside its range with a meaning of its own
(``special``: image size 0 is "the backbone's default"); that value is the spin
box's minimum, shown as text, and :class:`SettingSpin` skips the numbers
between it and the real range when stepping.  A share (0..1) shown in percent
uses ``scale=100``.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSpinBox, QWidget


def setting_info(path: str):
    """The :class:`core.config_fields.FieldInfo` of a dotted setting, e.g. ``train.epochs``."""
    from core.config import StudioConfig

    return StudioConfig.field(path)


def setting_tooltip(info) -> str:
    """The setting's help, then what it accepts (the words the CLI's help uses too)."""
    bounds = info.bounds_text()
    return f"{info.help}\n\nAllowed: {bounds}." if bounds else info.help


def spin_range(info, scale: float = 1) -> tuple[float, float]:
    """(minimum, maximum) of a spin box for the setting (the special value included)."""
    lo = info.lo * scale
    if info.special is not None and info.special[0] * scale < lo:
        lo = info.special[0] * scale
    return lo, info.hi * scale


class SettingSpin(QSpinBox):
    """A whole-number spin box that jumps over the gap between a special value and the range."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.gap: Optional[tuple[int, int]] = None  # (special, first allowed number)
        #: Where a step up from the special value goes (None: the first allowed number): the
        #: image size's "default (299 px)" went to 32 px, which Xception refuses.
        self.up_from_special: Optional[int] = None
        #: The unit for one and for many (" epoch", " epochs"): "1 epochs" read badly.
        self.units: Optional[tuple[str, str]] = None
        self.valueChanged.connect(self._fit_unit)

    def setValue(self, value: int) -> None:  # noqa: N802 - Qt API; also while signals are
        super().setValue(value)               # blocked (a page showing a config)
        self._fit_unit(self.value())

    def _fit_unit(self, value: int) -> None:
        if self.units is not None:
            self.setSuffix(self.units[0] if value == 1 else self.units[1])

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt API
        if self.gap is not None:
            special, lo = self.gap
            if self.value() == special and steps > 0:
                self.setValue(self.up_from_special or max(lo, special + steps * self.singleStep()))
                return
            if steps < 0 and self.value() + steps * self.singleStep() < lo:
                self.setValue(special)
                return
        super().stepBy(steps)

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if self.gap is not None and state == QValidator.Acceptable:
            value = self.valueFromText(text)
            if self.gap[0] < value < self.gap[1]:
                return QValidator.Intermediate, text, pos
        return state, text, pos


def bind_spin(spin: QAbstractSpinBox, path: str, scale: float = 1, suffix: str = "") -> None:
    """Give ``spin`` the range, step, decimals, unit, special text and tooltip of ``path``."""
    info = setting_info(path)
    lo, hi = spin_range(info, scale)
    if isinstance(spin, QSpinBox):
        spin.setRange(int(round(lo)), int(round(hi)))
    else:
        spin.setRange(lo, hi)
    if hasattr(spin, "lowest"):  # a spin box that knows its smallest real value
        spin.lowest = info.lo * scale
    if info.step is not None:
        spin.setSingleStep(int(round(info.step * scale)) if isinstance(spin, QSpinBox)
                           else info.step * scale)
    if isinstance(spin, QDoubleSpinBox) and info.decimals is not None and scale == 1:
        spin.setDecimals(info.decimals)  # shown always; a DecimalSpin shows more a value has
    unit = suffix or (f" {info.unit}" if info.unit else "")
    if unit:
        spin.setSuffix(unit)
    if isinstance(spin, SettingSpin) and unit in (" epochs", " images"):
        spin.units = (unit[:-1], unit)
        spin._fit_unit(spin.value())
    if info.special is not None:
        spin.setSpecialValueText(str(info.special[1]))
        if isinstance(spin, SettingSpin) and info.special[0] * scale < info.lo * scale:
            spin.gap = (int(round(info.special[0] * scale)), int(round(info.lo * scale)))
    spin.setToolTip(setting_tooltip(info))
    # Recorded on the widget, so a test can find every spin box bound to a setting.
    spin.setProperty("setting", path)
    spin.setProperty("setting_scale", float(scale))
