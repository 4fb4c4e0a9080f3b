"""The "Playground" tab: slide a kernel over your own image and watch the size formula work.

The user picks a classic kernel (edge, blur, sharpen …), types one, or borrows
a filter the model learned, chooses padding and stride, and sees input and
output side by side with ``O = ⌊(W − K + 2P)/S⌋ + 1`` filled in — the output
picture really has that many pixels.  The arithmetic is
:func:`core.insight.kernels.apply_kernel` (exact numpy, what Conv2D computes), run by
:func:`playground_run` in a worker because a large kernel on a photo takes a
moment.  A typed kernel is read with :func:`core.insight.kernels.parse_kernel` as you
type; its complaint appears under the box and nothing else changes.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGridLayout, QHBoxLayout,
                               QLabel, QPlainTextEdit, QSpinBox, QVBoxLayout, QWidget)

from gui.theme import ERROR
from gui.thumbnails import array_to_qimage
from gui.pages.network.maps_tab import ImagePicker
from gui.widgets.compact import FitImage
from gui.pages.network.playground_work import PlayOutcome

SHOW_SIDE = 300   # on screen
TYPED = "__typed__"
LEARNED = "__learned__"
DEBOUNCE_MS = 250


def number_text(v: float) -> str:
    """0.1111 → "1/9", 2.0 → "2": presets read the way the lessons write them."""
    if float(v).is_integer():
        return str(int(v))
    f = Fraction(v).limit_denominator(256)
    if abs(float(f) - v) < 1e-9:
        return f"{f.numerator}/{f.denominator}"
    return f"{v:.4g}"


def kernel_to_text(kernel: np.ndarray) -> str:
    """A 2-D kernel as rows of comma-separated numbers, one row per line."""
    return "\n".join(", ".join(number_text(float(v)) for v in row) for row in np.atleast_2d(kernel))


def learned_text(kernel: np.ndarray) -> str:
    """A learned k×k×C filter, one block per channel (read-only display)."""
    names = "RGB" if kernel.shape[2] == 3 else [str(i + 1) for i in range(kernel.shape[2])]
    blocks = []
    for c in range(kernel.shape[2]):
        rows = "\n".join(", ".join(f"{v:+.3f}" for v in row) for row in kernel[:, :, c])
        blocks.append(f"# channel {names[c]}\n{rows}")
    return "\n".join(blocks)


class PlaygroundTab(QWidget):
    """Controls on the left, input and output on the right.  Emits ``requested(args)``.

    ``args`` is a dict of :func:`playground_run`'s keyword arguments; the page
    runs it and answers with :meth:`show_outcome`.
    """

    requested = Signal(object)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        from core.insight.kernels import PRESET_KERNELS, PRESET_NOTES

        self._presets, self._notes = PRESET_KERNELS, PRESET_NOTES
        self.learned: Optional[np.ndarray] = None  # (out, in, kh, kw) of the first convolution
        self.learned_layer = ""
        self.outcome: Optional[PlayOutcome] = None
        self._setting_text = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.request)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        intro = QLabel("Try a convolution by hand: a kernel slides over the image and each "
                       "output pixel is the sum of the kernel's numbers times the pixels under "
                       "it. Change the padding and stride and check the output size against "
                       "the formula O = ⌊(W − K + 2P)/S⌋ + 1.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.images = ImagePicker()
        self.images.changed.connect(lambda _p: self.request())
        lay.addWidget(self.images)

        row = QHBoxLayout()
        row.addWidget(self._build_controls())
        row.addLayout(self._build_pictures(), 1)
        lay.addLayout(row, 1)
        self.set_kernel_choice(next(iter(self._presets)))

    def _build_controls(self) -> QWidget:
        controls = QWidget()
        controls.setMaximumWidth(380)
        column = QVBoxLayout(controls)
        column.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        column.addLayout(form)
        column.addStretch(1)
        self._build_kernel_controls(form)
        self.grey_check = QCheckBox("Use the image in grey (one channel)")
        self.grey_check.toggled.connect(lambda _on: self.request())
        form.addRow(self.grey_check)
        self.padding_combo = QComboBox()
        self.padding_combo.addItem("same — add zeros around, keep the size", "same")
        self.padding_combo.addItem("valid — no padding, the image shrinks", "valid")
        self.padding_combo.activated.connect(lambda _i: self.request())
        form.addRow("Padding:", self.padding_combo)
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(1, 4)
        self.stride_spin.setToolTip("How many pixels the kernel moves each step")
        self.stride_spin.valueChanged.connect(lambda _v: self.request())
        form.addRow("Stride:", self.stride_spin)
        return controls

    def _build_kernel_controls(self, form: QFormLayout) -> None:
        self.kernel_combo = QComboBox()
        for name in self._presets:
            self.kernel_combo.addItem(name, name)
            self.kernel_combo.setItemData(self.kernel_combo.count() - 1, self._notes.get(name, ""),
                                          Qt.ToolTipRole)
        self.kernel_combo.addItem("a filter the model learned", LEARNED)
        self.kernel_combo.addItem("my own (type it below)", TYPED)
        self.kernel_combo.activated.connect(lambda _i: self._on_kernel_chosen())
        form.addRow("Kernel:", self.kernel_combo)
        self.filter_spin = QSpinBox()
        self.filter_spin.setAccessibleName("Learned filter")
        self.filter_spin.setRange(1, 1)
        self.filter_spin.setPrefix("filter ")
        self.filter_spin.valueChanged.connect(
            lambda _v: self._on_kernel_chosen() if self.kernel_combo.currentData() == LEARNED
            else None)
        form.addRow("", self.filter_spin)
        self.note_label = QLabel("")
        self.note_label.setWordWrap(True)
        self.note_label.setObjectName("hint")
        form.addRow(self.note_label)
        self.kernel_edit = QPlainTextEdit()
        self.kernel_edit.setAccessibleName("My own kernel")
        self.kernel_edit.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.kernel_edit.setPlaceholderText("one row per line, e.g.\n1, 0, -1\n2, 0, -2\n1, 0, -1")
        self.kernel_edit.setToolTip("Rows of numbers separated by commas or spaces; rows on "
                                    "separate lines or separated by ';'. Fractions like 1/9 work;"
                                    " between spaces, 0,5 is a decimal comma.")
        self.kernel_edit.setMaximumHeight(150)
        self.kernel_edit.textChanged.connect(self._on_text_edited)
        form.addRow(self.kernel_edit)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ERROR};")
        self.error_label.hide()
        form.addRow(self.error_label)

    def _build_pictures(self) -> QGridLayout:
        pictures = QGridLayout()
        self.input_title = QLabel("<b>Input</b>")
        self.output_title = QLabel("<b>Output</b>")
        # Up to SHOW_SIDE pixels, smaller in a small window (never wider than the page).
        self.input_label = FitImage(SHOW_SIDE, 120, frame="#555c63", smooth=False)
        self.output_label = FitImage(SHOW_SIDE, 120, frame="#555c63", smooth=False)
        self.input_label.setAccessibleName("Input image")
        self.output_label.setAccessibleName("Output image")
        pictures.addWidget(self.input_title, 0, 0)
        pictures.addWidget(self.output_title, 0, 1)
        pictures.addWidget(self.input_label, 1, 0)
        pictures.addWidget(self.output_label, 1, 1)
        self.size_label = QLabel("")
        self.size_label.setWordWrap(True)
        big = QFont(self.size_label.font())
        big.setPointSizeF(big.pointSizeF() * 1.25)
        big.setBold(True)
        self.size_label.setFont(big)
        pictures.addWidget(self.size_label, 2, 0, 1, 2)
        self.formula_label = QLabel("")
        self.formula_label.setWordWrap(True)
        self.formula_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        pictures.addWidget(self.formula_label, 3, 0, 1, 2)
        self.scaling_label = QLabel("")
        self.scaling_label.setObjectName("hint")
        self.scaling_label.setWordWrap(True)
        pictures.addWidget(self.scaling_label, 4, 0, 1, 2)
        pictures.setRowStretch(5, 1)
        pictures.setColumnStretch(2, 1)
        return pictures

    # ------------------------------------------------------------------ choices
    def set_learned(self, weights: Optional[np.ndarray], layer: str = "") -> None:
        """The first convolution's filters (out, in, kh, kw), or None when there are none."""
        self.learned, self.learned_layer = weights, layer
        i = self.kernel_combo.findData(LEARNED)
        item = self.kernel_combo.model().item(i)
        item.setEnabled(weights is not None)
        if weights is not None:
            self.filter_spin.setRange(1, weights.shape[0])
        if weights is None and self.kernel_combo.currentData() == LEARNED:
            self.set_kernel_choice(next(iter(self._presets)))
        elif self.kernel_combo.currentData() == LEARNED:
            self._on_kernel_chosen()

    def set_kernel_choice(self, name: str) -> None:
        """Choose a preset by name, ``"learned"`` or ``"typed"``."""
        key = {"learned": LEARNED, "typed": TYPED}.get(name, name)
        i = self.kernel_combo.findData(key)
        if i < 0:
            raise ValueError(f"no kernel choice {name!r}")
        self.kernel_combo.setCurrentIndex(i)
        self._on_kernel_chosen()

    def set_kernel_text(self, text: str) -> None:
        """Type a kernel (as the user would): switches to "my own" and checks it."""
        self.kernel_edit.setPlainText(text)
        self._debounce.stop()
        self.request()

    def _on_kernel_chosen(self) -> None:
        key = self.kernel_combo.currentData()
        learned = key == LEARNED
        self.filter_spin.setVisible(learned)
        self.kernel_edit.setReadOnly(learned)
        self._setting_text = True
        try:
            if key in self._presets:
                self.note_label.setText(self._notes.get(key, ""))
                self.kernel_edit.setPlainText(kernel_to_text(self._presets[key]))
            elif learned and self.learned is not None:
                k = self.learned_kernel()
                self.note_label.setText(
                    f"Filter {self.filter_spin.value()} of {self.learned.shape[0]} in "
                    f"{self.learned_layer}: {k.shape[0]}×{k.shape[1]}×{k.shape[2]} weights. It "
                    "multiplies all colour channels and adds them into one map. The model "
                    "first rescales the pixels, so its own map differs by a scale and offset.")
                self.kernel_edit.setPlainText(learned_text(k))
            elif key == TYPED:
                self.note_label.setText("Type rows of numbers; the output updates as you type.")
        finally:
            self._setting_text = False
        channels = self.learned_kernel().shape[2] if learned and self.learned is not None else 0
        self.grey_check.setEnabled(not learned)
        if learned:
            self.grey_check.blockSignals(True)
            self.grey_check.setChecked(channels == 1)
            self.grey_check.blockSignals(False)
        self.request()

    def _on_text_edited(self) -> None:
        if self._setting_text:
            return
        if self.kernel_combo.currentData() != TYPED:
            self.kernel_combo.setCurrentIndex(self.kernel_combo.findData(TYPED))
            self.note_label.setText("Type rows of numbers; the output updates as you type.")
        self._debounce.start()

    def learned_kernel(self) -> np.ndarray:
        """The chosen learned filter as (kh, kw, in)."""
        return np.transpose(self.learned[self.filter_spin.value() - 1], (1, 2, 0))

    def current_kernel(self) -> np.ndarray:
        """The kernel to apply; ``ConfigError`` when a typed kernel does not parse."""
        from core.insight.kernels import parse_kernel

        key = self.kernel_combo.currentData()
        if key == LEARNED and self.learned is not None:
            return self.learned_kernel()
        if key in self._presets:
            return self._presets[key]
        return parse_kernel(self.kernel_edit.toPlainText())

    # ------------------------------------------------------------------ running
    def request(self) -> bool:
        """Check the kernel and ask for the output; False (error shown inline) when it can't."""
        from core.errors import UserError

        self._debounce.stop()
        try:
            kernel = self.current_kernel()
        except UserError as exc:
            self.show_error(str(exc))
            return False
        self.clear_error()
        path = self.images.path()
        if not path:
            self.size_label.setText("Choose an image above to start.")
            return False
        self.requested.emit({"image_path": path, "grey": self.grey_check.isChecked(),
                             "kernel": np.array(kernel, dtype=np.float64),
                             "padding": self.padding_combo.currentData(),
                             "stride": self.stride_spin.value()})
        return True

    def shutdown(self) -> None:
        """Stop the pending recompute (the window is closing)."""
        self._debounce.stop()

    def show_error(self, message: str) -> None:
        """A kernel being typed that does not parse yet: the last outcome stays."""
        self.error_label.setText(message)
        self.error_label.show()

    def show_failure(self, message: str) -> None:
        """The convolution could not run: say why and take down the last outcome, whose
        picture, sizes and formula belong to settings no longer chosen ("with padding
        “same”" stayed beside the error of a "valid" one)."""
        self.show_error(message)
        self.outcome = None
        self.output_label.set_image(None)
        self.output_title.setText("<b>Output</b>")
        for label in (self.size_label, self.formula_label, self.scaling_label):
            label.setText("")

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def show_outcome(self, outcome: PlayOutcome) -> None:
        self.outcome = outcome
        for label, image in ((self.input_label, outcome.image),
                             (self.output_label, outcome.output)):
            label.set_image(array_to_qimage(image))
        hi, wi = outcome.input_shape[:2]
        ho, wo = outcome.output_shape[:2]
        self.input_title.setText(f"<b>Input</b> {hi}×{wi}")
        self.output_title.setText(f"<b>Output</b> {ho}×{wo}")
        self.size_label.setText(outcome.size_text())
        self.formula_label.setText(f"O = ⌊(W − K + 2P)/S⌋ + 1 with padding "
                                   f"“{outcome.padding}” and stride {outcome.stride}:  "
                                   f"{outcome.formula_text}")
        self.scaling_label.setText(f"Output {outcome.scaling}.")
