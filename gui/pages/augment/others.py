"""The Augment page's transforms without controls, each with an on/off check box.

A transform the page has no group of controls for (one an imported albumentations file
or a hand-written config brought), or a second copy of one that has them (the controls
show the first), was one line of names at the bottom of the page that could not be
switched off.  Each is a check box now: unticked, it stays in the configuration with
``enabled`` false, so training and the preview leave it out and ticking it brings it back
as it was.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from gui.plain_text import plain_tip

HEADING = ("Also in this configuration (no controls here; kept as they are, untick one to "
           "switch it off):")


def describe(t: Any) -> str:
    """A transform's tooltip: how often it runs and its settings as written."""
    settings = ", ".join(f"{k}={v!r}" for k, v in t.params.items()) or "the library's defaults"
    return f"{t.name}: on {round(t.p * 100)} % of images; settings: {settings}"


class OtherTransforms(QWidget):
    """A heading and one check box per transform; ``toggled(index, on)`` names the
    transform by its place in the configuration's list."""

    toggled = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel(HEADING)
        self.heading.setWordWrap(True)
        self.heading.setObjectName("hint")
        lay.addWidget(self.heading)
        self.boxes: list[QCheckBox] = []
        self._indexes: list[int] = []
        self.hide()

    def show_transforms(self, items: list[tuple[int, Any, bool]]) -> None:
        """``(index, transform, a second copy)`` for each transform to list."""
        if len(items) != len(self.boxes):  # the same count: the boxes are kept (and focus)
            for box in self.boxes:
                box.hide()
                box.deleteLater()
            self.boxes = []
            for _ in items:
                box = QCheckBox()
                box.toggled.connect(lambda on, b=box: self._on_toggled(b, on))
                self.layout().addWidget(box)
                self.boxes.append(box)
        self._indexes = [i for i, _t, _copy in items]
        for box, (_i, t, copy) in zip(self.boxes, items):
            box.blockSignals(True)
            box.setText(f"{t.name} (another copy)" if copy else t.name)
            box.setChecked(bool(t.enabled))
            box.setToolTip(plain_tip(describe(t) + ("\nThe controls above set its first copy; "
                                                    "training runs both." if copy else "")))
            box.blockSignals(False)
        self.setVisible(bool(items))

    def _on_toggled(self, box: QCheckBox, on: bool) -> None:
        self.toggled.emit(self._indexes[self.boxes.index(box)], on)
