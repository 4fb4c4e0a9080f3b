"""The "Layers" tab: every layer with its shapes worked out by the size formula.

The numbers come from :func:`core.insight.layers.inspect_layers` (computed in a
worker); this widget only lays them out.  Each row shows the formula with the
layer's own numbers and a ✓ when it gives the shape Keras computed, so the
formula is checked on the user's network rather than taken on trust; the
parameter columns put a convolution next to the fully connected layer that
would join the same input and output, which is what "weight sharing" buys.
Selecting a row explains it in words below the table.
"""

from __future__ import annotations

from html import escape
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gui.plain_text import plain_tip
from gui.widgets.compact import ColumnScroll

#: What "trainable" counts, by the phase whose flags the model carries (core.insight.explorer).
PHASE_WORDS = {
    "fine_tune": "Trainable: what the fine-tuning phase trains (the run's, or the Model page's "
                 "settings for an untrained model); frozen layers and batch normalisation's "
                 "statistics are counted as non-trainable.",
    "head": "Trainable: what the head phase trains (this run ended there, or fine-tuning "
            "would train no layer): the backbone is frozen.",
}
#: From scratch (starting weights "none") the head phase trains the backbone too: "the
#: backbone is frozen" stood above 2.2 M trainable backbone weights (a review).
FROM_SCRATCH_WORDS = ("Trainable: trained from scratch (starting weights “none”), so every "
                      "layer trains in both phases, batch normalisation included; only its "
                      "running statistics count as non-trainable.")
AS_LOADED = ("Keras' own count for this file as it was saved: it is not a run of this app, so "
             "which layers trained is not known.")

#: The receptive field comes before the comparison columns: at 1600×1000 it had been out of
#: view to the right of two columns of numbers (a review).  The long sums go last.
COLUMNS = ("Layer", "Type", "Kernel / stride / padding", "Input → output",
           "Output size by the formula", "Parameters", "Receptive field",
           "Fully connected would need", "Saving", "How the parameters add up")
SUM_COLUMN = COLUMNS.index("How the parameters add up")

EXPLANATION = (
    "<b>Output size.</b> A convolution or pooling layer slides a K×K window over a W×W input "
    "in steps of S: <b>O = ⌊(W − K + 2P)/S⌋ + 1</b>, where P is the zero padding per "
    "border (2P in all). <i>“same”</i> padding adds just enough zeros to keep the size (O = W "
    "at stride 1, half at stride 2), the odd one, if any, at the bottom and right, so P may "
    "read ½ (pooling leaves such cells out of its max or average instead); <i>“valid”</i> "
    "adds none, so the picture shrinks by K − 1 at stride 1. "
    "<b>Weight sharing.</b> A convolution uses the same small filter at every position, so "
    "it needs only K·K·C<sub>in</sub>·C<sub>out</sub> weights; a fully connected layer "
    "joining the same input and output needs one weight per pair of values — compare the "
    "two parameter columns. <b>Receptive field</b>: how wide a window of the image one "
    "output value can see; it grows layer by layer. Select a row for the details.")


def shape_text(shape: Any) -> str:
    """(None, 16, 16, 8) → "16×16×8"; a list of shapes (a merge layer) → "[a, b]"."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return "[" + ", ".join(shape_text(s) for s in shape) + "]"
    return "×".join("?" if d is None else str(d) for d in tuple(shape)[1:]) or "scalar"


def kernel_text(row: Any) -> str:
    if row.kernel_size is None:
        return ""
    k = "×".join(map(str, row.kernel_size))
    s = "×".join(map(str, row.strides or ()))
    text = f"{k}, stride {s}" + (f", {row.padding}" if row.padding else "")
    if row.dilation and any(d != 1 for d in row.dilation):
        text += f", dilation {'×'.join(map(str, row.dilation))}"
    return text


def formula_cell(row: Any) -> str:
    if not row.formula_text:
        return ""
    if row.formula_matches is True:
        return f"{row.formula_text}  ✓"
    if row.formula_matches is False:
        return f"{row.formula_text}  ✗ (Keras: {shape_text(row.output_shape)})"
    return row.formula_text


def saving_ratio(row: Any) -> Optional[float]:
    """How many times more weights a fully connected layer would need (None: no comparison)."""
    if not row.dense_equivalent_params or not row.params:
        return None
    return row.dense_equivalent_params / row.params


def saving_text(row: Any) -> str:
    ratio = saving_ratio(row)
    if ratio is None:
        return ""
    if abs(ratio - 1) < 1e-9:  # the head's Dense is the fully connected layer itself
        return "the same"
    if ratio >= 1:
        return f"{ratio:,.0f}× fewer" if ratio >= 10 else f"{ratio:.1f}× fewer"
    return f"{1 / ratio:.1f}× more"


def input_size(rows: list) -> Optional[tuple]:
    """The model's input (height, width) in pixels (None when its first layer says none)."""
    shape = rows[0].input_shape if rows else None
    if isinstance(shape, (tuple, list)) and len(shape) == 4 and \
            all(isinstance(d, int) for d in shape[1:3]):
        return int(shape[1]), int(shape[2])
    return None


def receptive_text(row: Any) -> str:
    if getattr(row, "receptive_whole", False):
        return "the whole image"
    if row.receptive_field is None:
        return ""
    size = row.receptive_size or (row.receptive_field,) * 2
    return "×".join(str(v) for v in size) + " px"


def explain_row(row: Any, image: Optional[tuple] = None) -> str:
    """The selected layer in sentences (rich text); ``image``: the model's input (H, W)."""
    parts = [f"<b>{escape(row.path)}</b> ({escape(row.type)})."]  # names from the file
    if row.kernel_size is not None:
        parts.append(f"Window {kernel_text(row)}.")
        parts += [t for t in (_same_padding_sentence(row),) if t]
    parts.append(f"Input {shape_text(row.input_shape)} → output {shape_text(row.output_shape)}.")
    if row.formula_text:
        verdict = {True: "the same size Keras computed ✓",
                   False: "NOT the size Keras computed ✗",
                   None: ""}[row.formula_matches]
        parts.append(f"Size by the formula: {row.formula_text}" +
                     (f" — {verdict}." if verdict else "."))
    if not row.params and row.params_note:  # a pooling layer: "()" had followed
        parts.append(f"Parameters: none ({row.params_note}).")
    if row.params:
        note = f" ({row.params_note})" if row.params_note else ""
        parts.append(f"Parameters: {row.params_formula}{note}.")
        if row.trainable_params == 0:
            parts.append("They are frozen: training leaves them as they are.")
        elif row.trainable_params < row.params:
            parts.append(f"{row.trainable_params:,} of them are trained; the rest are "
                         "statistics or frozen.")
    if row.dense_equivalent_params:
        saving = saving_text(row)
        parts.append(f"A fully connected layer joining the same input and output would need "
                     f"{row.dense_equivalent_params:,} weights" +
                     (f" ({saving})." if saving else "; this one needs none."))
    if getattr(row, "receptive_whole", False):  # an any-size model's global pooling
        parts.append("Each output value depends on every pixel of the image, whatever its "
                     "size.")
    elif row.receptive_field is not None:
        parts.append(_field_sentence(row, image))
    return " ".join(parts)


def _same_padding_sentence(row: Any) -> str:
    """The zeros "same" really adds, when the formula's P is a textbook average: at stride 2
    TensorFlow puts 0 zeros before and 1 after, which "P = ½" had left to the teacher.  A
    pooling layer adds no zeros: a max of negative values had been said to meet added 0s.
    As many on each side but fewer than P (5×5 at stride 3 on 12 pixels: 1, P = 2) is said too."""
    from core.insight.formulas import padding_amount, same_padding_pixels, same_split_words

    shape = row.input_shape
    if row.padding != "same" or not (isinstance(shape, (tuple, list)) and len(shape) == 4):
        return ""
    numbers = [(w, k, s, d) for w, k, s, d in zip(shape[1:3], row.kernel_size, row.strides,
                                                  row.dilation or (1, 1)) if isinstance(w, int)]
    axes = [same_padding_pixels(*n) for n in numbers]
    textbook = [padding_amount(w, k, s, "same", d) for w, k, s, d in numbers]
    pooling = "Pooling" in row.type
    words = (same_split_words(axes, "cell(s)" if pooling else "zero(s)", textbook)
             if len(axes) == 2 else "")
    if not words:
        return ""
    if all(b == a for b, a in axes):  # as many on each side, but not the formula's P
        note = " (the formula's P is the textbook's, which gives the same size)"
        if pooling:
            return (f"“same” here runs the window past the edge by {words}{note}."
                    if not words.startswith("no ") else
                    f"“same” here needs no cells past the edge at this size and stride{note}.")
        return f"“same” here adds {words}{note}."
    if pooling:  # padded cells act as −∞ for a max and are not counted by an average
        what = "max" if row.type.startswith("Max") else "average"
        return (f"“same” here lets the window run past the edge by {words}: those cells are "
                f"left out of the {what}, not counted as zeros (TensorFlow puts the odd one at "
                "the end).")
    return f"“same” here adds {words}: TensorFlow puts the odd one at the end."


def _field_sentence(row: Any, image: Any) -> str:
    """What one output value sees: a window wider than the picture does not mean every value
    sees all of it (a window is centred on its output, so a corner value's hangs half off the
    image), and "valid" windows can leave the last pixels out altogether; outputs with no
    position (class scores) have no neighbours pixels apart."""
    if isinstance(image, int):  # a square side
        image = (image, image) if image else None
    text = f"Each output value sees a {receptive_text(row)[:-3]} pixel window of the image"
    text += _beyond_image(row, image) if image else ""
    spatial = isinstance(row.output_shape, (tuple, list)) and len(row.output_shape) == 4
    if getattr(row, "gate_left_out", False):
        text += (" (the convolutions' window: the squeeze-and-excitation gate of this or an "
                 "earlier block averages the whole image, so through it every value also "
                 "depends a little on every pixel)")
    if spatial:
        jumps = getattr(row, "jump_size", None) or (row.jump,)
        words = [f"{j:g}" if isinstance(j, float) else str(j) for j in jumps]
        if len(set(words)) > 1 and len(words) == 2:  # strides 1×2: not the widest for both
            text += (f"; neighbouring outputs are {words[0]} pixel(s) apart down and "
                     f"{words[1]} across")
        else:
            text += f"; neighbouring outputs are {words[0]} pixel(s) apart"
    return text + "."


def _beyond_image(row: Any, image: tuple) -> str:
    """The part of the field sentence that compares the window with the (H, W) image."""
    size = row.receptive_size or (row.receptive_field,) * 2
    whole = tuple((0, w - 1) for w in image)
    seen = getattr(row, "seen_any", None)
    first, last = getattr(row, "seen_first", None), getattr(row, "seen_last", None)
    text = ""
    if any(r > w for r, w in zip(size, image)):
        text = f", wider than the {image[0]}×{image[1]} image"
        if first is None:
            text += (": outputs near the centre see all of it, those at a border only about "
                     "half of their window (the rest falls on padding)")
        elif first == seen and last == seen:
            text += (": every output sees " + ("all of it" if seen == whole else
                                               "every pixel any output sees") +
                     ", the rest of the window falls on padding")
        else:
            text += (", yet only outputs near the centre see all of it: the top-left one sees "
                     f"{_span_text(first)}, the rest of its window falls on padding")
    if seen is not None and seen != whole:
        missed = [f"{name} {_range(a, b, w)}" for name, (a, b), w in
                  zip(("rows", "columns"), seen, image) if (a, b) != (0, w - 1)]
        text += (f"; no output depends on image {' or '.join(missed)}: "
                 "“valid” windows that do not fit leave them out")
    return text


def _span_text(span: tuple) -> str:
    """((0, 53), (0, 53)) → "rows and columns 0–53"; else "rows 0–53, columns 0–90"."""
    if span[0] == span[1]:
        return f"rows and columns {span[0][0]}–{span[0][1]}"
    return f"rows {span[0][0]}–{span[0][1]}, columns {span[1][0]}–{span[1][1]}"


def _range(a: int, b: int, w: int) -> str:
    """The pixels of 0..w-1 outside a..b, e.g. "59–60"."""
    parts = [f"0–{a - 1}" if a > 1 else "0"] if a > 0 else []
    if b < w - 1:
        parts.append(f"{b + 1}–{w - 1}" if b + 1 < w - 1 else str(w - 1))
    return " and ".join(parts)


class LayersTab(QWidget):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.RichText)
        lay.addWidget(intro)

        top = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setAccessibleName("Filter layers")
        self.filter_edit.setPlaceholderText("Filter layers by name or type, e.g. conv")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)
        top.addWidget(self.filter_edit, 1)
        self.totals_label = QLabel("")
        self.totals_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # The Model page's figure is another question; say so where both numbers show.
        top.addWidget(self.totals_label)
        lay.addLayout(top)

        split = QSplitter(Qt.Vertical)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Layers")
        self.table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        for col, name in enumerate(COLUMNS):  # narrow columns cut their titles short
            self.table.horizontalHeaderItem(col).setToolTip(name)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        self.table.itemSelectionChanged.connect(self._on_selected)
        split.addWidget(self.table)
        self.detail = QLabel("Select a row to read how its numbers come about.")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.RichText)
        self.detail.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.detail.setTextInteractionFlags(Qt.TextSelectableByMouse)
        detail_area = ColumnScroll()  # at the smallest window its last sentence was cut off
        detail_area.setWidget(self.detail)
        detail_area.setFrameShape(ColumnScroll.NoFrame)
        detail_area.setMinimumHeight(60)
        split.addWidget(detail_area)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 1)
        lay.addWidget(split, 1)

    def show_inspection(self, inspection: Any, phase: str = "", from_scratch: bool = False) -> None:
        """The rows of ``inspection``; ``phase``: which phase's trainable flags it counts;
        ``from_scratch``: the backbone trains in every phase."""
        self.rows = list(inspection.rows)
        table = self.table
        table.setUpdatesEnabled(False)
        try:
            table.clearContents()
            table.setRowCount(len(self.rows))
            right = {5, 6, 7, 8}
            for r, row in enumerate(self.rows):
                cells = (row.path, row.type, kernel_text(row),
                         f"{shape_text(row.input_shape)} → {shape_text(row.output_shape)}",
                         formula_cell(row), f"{row.params:,}", receptive_text(row),
                         f"{row.dense_equivalent_params:,}" if row.dense_equivalent_params else "",
                         saving_text(row), row.params_formula if row.params else "")
                for c, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if c in right:
                        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    if c == SUM_COLUMN and text:  # the sum whole, as the column may cut it
                        item.setToolTip(plain_tip(text + (f"\n\n{row.params_note}"
                                                          if row.params_note else "")))
                    elif c == 5 and row.params_note:
                        item.setToolTip(plain_tip(row.params_note))
                    elif c in (0, 1, 3) and text:
                        item.setToolTip(plain_tip(text))  # in case the column cuts it short
                    if c == 4 and row.formula_matches is False:
                        item.setForeground(Qt.red)
                    table.setItem(r, c, item)
            header = table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.Interactive)
            table.resizeColumnsToContents()
            # Long names, merge shapes and sums would push the parameter columns out of view.
            for c, most in ((0, 210), (1, 150), (3, 200), (SUM_COLUMN, 280)):
                table.setColumnWidth(c, min(table.columnWidth(c), most))
        finally:
            table.setUpdatesEnabled(True)
        non = inspection.non_trainable_params
        self.totals_label.setToolTip(FROM_SCRATCH_WORDS if from_scratch and phase in PHASE_WORDS
                                     else PHASE_WORDS.get(phase, AS_LOADED))
        self.totals_label.setText(
            f"<b>{inspection.total_params:,}</b> parameters in all · "
            f"<b>{inspection.trainable_params:,}</b> trainable · {non:,} non-trainable")
        self.detail.setText("Select a row to read how its numbers come about.")
        self._apply_filter(self.filter_edit.text())

    def row_count(self) -> int:
        return self.table.rowCount()

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for r, row in enumerate(self.rows):
            hit = not needle or needle in row.path.lower() or needle in row.type.lower()
            self.table.setRowHidden(r, not hit)

    def _on_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.rows):
            self.detail.setText(explain_row(self.rows[rows[0].row()], input_size(self.rows)))
