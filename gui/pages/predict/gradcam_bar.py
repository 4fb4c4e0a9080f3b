"""The Predict page's Grad-CAM row: the switch, what its colours mean, and the plain picture.

Grad-CAM needs the Keras model: it follows gradients through the network,
which a TFLite or ONNX file does not keep.  When such a model is open the
switch is turned off *and says why* (a note beside it and its tooltip), and
it comes back on by itself when a Keras model is open again, if it was on.

The colour legend is drawn from :func:`core.insight.gradcam.colormap_jet`,
the ramp the overlays are painted with, so the legend cannot drift from the
pictures.  "Plain pictures" shows the images without their overlay (nothing
is recomputed), to see what lies under the colours.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRectF, QSize, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.pages.predict.compact import NoteLabel

GRADCAM_TEXT = "Show where the model looked (Grad-CAM)"
GRADCAM_TIP = ("Colours the parts of each image that made the model choose its answer (red = "
               "most). Needs a Keras model (.keras or a run folder).")
KIND_NAMES = {"tflite": "TensorFlow Lite", "onnx": "ONNX", "savedmodel": "SavedModel"}


def no_gradcam_reason(kind: str) -> str:
    """Why Grad-CAM is off for a model of ``kind`` ("tflite", "onnx", ...), in plain words."""
    name = KIND_NAMES.get(kind, kind or "this")
    return (f"Grad-CAM is off: it follows gradients through the network, which an exported "
            f"{name} model does not keep. Open the .keras file or the run folder to use it.")


class ColourRamp(QWidget):
    """The Grad-CAM colour ramp, left (little) to right (most), with words at both ends."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Grad-CAM colour scale, from unimportant to decisive")
        from core.insight.gradcam import colormap_jet  # NumPy only

        import numpy as np

        self.stops = [(float(v), QColor(*(int(round(c * 255)) for c in rgb)))
                      for v, rgb in zip(np.linspace(0, 1, 9), colormap_jet(np.linspace(0, 1, 9)))]
        self.setToolTip("Grad-CAM colours: blue = parts of the image that did not matter for the "
                        "answer, red = the parts that mattered most")
        self.setMinimumSize(60, 12)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(110, 14)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(0, 2, 0, -2)
        gradient = QLinearGradient(rect.topLeft(), rect.topRight())
        for v, colour in self.stops:
            gradient.setColorAt(v, colour)
        painter.fillRect(rect, gradient)
        painter.end()


class GradCamBar(QWidget):
    """Switch, legend, plain-picture toggle and the why-not note (see the module)."""

    switched = Signal(bool)  # the user turned Grad-CAM on or off (compute overlays if needed)
    view_changed = Signal(bool)  # whether the cards should show overlays now

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._wanted = False  # on before a non-Keras model turned it off
        self._coarse = ""  # why the open model's maps show no places (1x1), or ""
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        row = QHBoxLayout()
        self.check = QCheckBox(GRADCAM_TEXT)
        self.check.setToolTip(GRADCAM_TIP)
        self.check.toggled.connect(self._on_toggled)
        row.addWidget(self.check)
        self.legend = QWidget()
        legend = QHBoxLayout(self.legend)
        legend.setContentsMargins(8, 0, 0, 0)
        for widget in (QLabel("unimportant"), ColourRamp(), QLabel("decisive")):
            if isinstance(widget, QLabel):
                widget.setObjectName("hint")
            legend.addWidget(widget)
        row.addWidget(self.legend)
        self.plain_button = QPushButton("Plain pictures")
        self.plain_button.setCheckable(True)
        self.plain_button.setToolTip("Show the images without the Grad-CAM colours (press again "
                                     "to bring them back)")
        self.plain_button.toggled.connect(lambda _on: self._show_extras())
        row.addWidget(self.plain_button)
        row.addStretch(1)
        box.addLayout(row)
        self.note = NoteLabel()  # one line once there are results (compact.py)
        self.note.hide()
        box.addWidget(self.note)
        self._show_extras()

    def is_on(self) -> bool:
        return self.check.isChecked()

    def show_model(self, predictor) -> None:
        """The open model (None: not loaded yet): its kind, and for a Keras model whether its
        maps are too coarse to show places."""
        kind = getattr(predictor, "kind", "") if predictor is not None else None
        model = getattr(predictor, "model", None)
        if kind == "keras" and model is not None:
            from core.insight.gradcam import coarse_map_note

            self.set_model_kind(kind, coarse_map_note(model))
        else:
            self.set_model_kind(kind)

    def set_model_kind(self, kind: Optional[str], coarse: str = "") -> None:
        """The open model's kind ("keras", "tflite", ...; None: not loaded yet); ``coarse``:
        :func:`core.insight.gradcam.coarse_map_note` for a Keras model, shown while on."""
        self._coarse = coarse if kind == "keras" else ""
        if kind is None or kind == "keras":
            if not self.check.isEnabled():
                self.check.setEnabled(True)
                self.check.setToolTip(GRADCAM_TIP)
                self.note.hide()
                self._set_quietly(self._wanted)
            self._show_extras()
            return
        if self.check.isEnabled():
            self._wanted = self.check.isChecked()
        reason = no_gradcam_reason(kind)
        self._set_quietly(False)
        self.check.setEnabled(False)
        self.check.setToolTip(reason)
        self.note.setText(reason)
        self.note.show()

    def switch_off(self) -> None:
        """Untick without asking for anything (a stopped Grad-CAM job)."""
        self._wanted = False
        self._set_quietly(False)

    def _set_quietly(self, on: bool) -> None:
        """Tick or untick without asking for overlays (the next prediction brings them)."""
        self.check.blockSignals(True)
        self.check.setChecked(on)
        self.check.blockSignals(False)
        self._show_extras()

    def _on_toggled(self, on: bool) -> None:
        self._wanted = on
        self._show_extras()
        self.switched.emit(on)

    def shows_overlays(self) -> bool:
        return self.check.isChecked() and not self.plain_button.isChecked()

    def _show_extras(self) -> None:
        on = self.check.isChecked()
        self.legend.setVisible(on)
        self.plain_button.setVisible(on)
        if self.check.isEnabled():  # a disabled switch's note says why it is off
            self.note.setText(self._coarse)
            self.note.setVisible(on and bool(self._coarse))
        if not on and self.plain_button.isChecked():
            self.plain_button.blockSignals(True)
            self.plain_button.setChecked(False)
            self.plain_button.blockSignals(False)
        self.view_changed.emit(self.shows_overlays())
