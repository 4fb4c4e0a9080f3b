"""A bar chart of images per class (pyqtgraph, imported only when first drawn).

A glance shows whether one class dwarfs the others, which matters more to a
classifier than any setting.  The bars lie down (one row per class, the name
on the left), so eight or eighty class names never run into each other: when
the rows are too thin for every name, only some are written (the largest, smallest and
orange classes first, then every n-th that fits), and the chart's tooltip lists them all.
A long name is cut in the middle with "…" (the class table beside the chart has it
whole); names alike at both ends ("class_00_specimen", "class_01_specimen") are cut around
the part where they differ, so no two bars read the same.  Classes with under a third of the largest class's images are orange, and the
legend under the chart says so.
pyqtgraph is imported on first use so the window still appears instantly.
"""

from __future__ import annotations

import html
import math
from typing import Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from core.shown import cut_distinct, cut_middle, isolated
from gui.plain_text import plain_tip
from gui.theme import ACCENT, WARN

NAME_CHARS = 16  # longer class names are cut, with "…"
ROW_PX = 18  # the height a written class name needs
FEW_SHARE = 1 / 3  # a class under this share of the largest one is drawn orange
MIN_BAR = 0.005  # the shortest bar drawn for a class with images, a share of the largest


def short_name(name: str) -> str:
    """``name`` cut in the middle to NAME_CHARS ("vegeta…class_07"): both ends tell apart."""
    return cut_middle(name, NAME_CHARS)


def short_names(names: Sequence[str]) -> list[str]:
    """Every name cut as :func:`short_name` does, except where that makes two alike: thirty
    "class_NN_specimen" all read "class_0…specimen" or "class_1…specimen" (a UI review)."""
    return cut_distinct(list(names), NAME_CHARS)


def few_images(values: Sequence[int]) -> list[bool]:
    """Which classes are drawn in the warning colour (under a third of the largest)."""
    biggest = max(values) if values else 0
    return [bool(biggest) and v < biggest * FEW_SHARE for v in values]


def labelled_rows(values: Sequence[int], step: int) -> list[int]:
    """The rows whose names are written, at least ``step`` rows apart: the largest class,
    the smallest and the orange ones first, then every ``step``-th that fits.  Every 4th of
    60 left the 3,000-image class unnamed beside a written neighbour (it read as that one's),
    and the 1-image class unnamed too (a scale review)."""
    n = len(values)
    if not n:
        return []
    few = [i for i, f in zip(range(n), few_images(values)) if f]
    ends = [max(range(n), key=values.__getitem__), min(range(n), key=values.__getitem__)]
    first = ends + sorted(few, key=lambda i: values[i])
    chosen: list[int] = []
    for i in first + list(range(0, n, step)) + list(range(n)):
        if all(abs(i - j) >= step for j in chosen):
            chosen.append(i)
    return sorted(chosen)


class ClassBarChart(QWidget):
    """Horizontal bars, one per class, with a legend line under them."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Images per class")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._empty = QLabel("The number of images in each class appears here.")
        self._empty.setObjectName("hint")
        self._empty.setWordWrap(True)  # unwrapped it widened the page past 900 px
        self._layout.addWidget(self._empty)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.RichText)  # colour swatches; the class names escaped
        self.legend.setObjectName("hint")
        self.legend.setWordWrap(True)
        self.legend.hide()
        self._layout.addWidget(self.legend)
        self.plot = None
        self._bars = None
        self.names: list[str] = []
        self.values: list[int] = []
        self.shown_names: list[str] = []  # the names as the axis writes them, told apart
        self.tick_labels: list[str] = []  # the names written on the axis now (tests)

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(background=None)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, alpha=0.2)
        self.plot.setLabel("bottom", "images")
        self.plot.invertY(True)  # the first class on top, as in the table
        self.plot.getViewBox().sigResized.connect(lambda _vb: self._update_ticks())
        self._layout.insertWidget(1, self.plot, 1)

    def set_counts(self, names: Sequence[str], values: Sequence[int]) -> None:
        self.names, self.values = list(names), [int(v) for v in values]
        self.shown_names = short_names(self.names)
        if not self.names:
            self._empty.show()
            self.legend.hide()
            self.tick_labels = []
            if self.plot is not None:
                self.plot.hide()
            return
        self._ensure_plot()
        import pyqtgraph as pg

        self._empty.hide()
        self.plot.show()
        self.plot.clear()
        few = few_images(self.values)
        brushes = [pg.mkBrush(WARN if f else ACCENT) for f in few]
        n = len(self.values)
        biggest = max(self.values)
        # a bar of 1 image beside one of 3,000 was invisible: at least a sliver of the axis
        widths = [max(v, biggest * MIN_BAR) if v else 0 for v in self.values]
        self._bars = pg.BarGraphItem(x0=0, y=list(range(n)), height=0.6, width=widths,
                                     brushes=brushes)
        self.plot.addItem(self._bars)
        self.plot.setYRange(-0.6, n - 0.4, padding=0)
        self.plot.setXRange(0, max(1, biggest) * 1.05, padding=0)
        self.setMinimumHeight(min(360, max(150, 70 + ROW_PX * n)))
        counts = "\n".join(f"{name}: {v} image{'s' if v != 1 else ''}"
                           for name, v in zip(self.names, self.values))
        self.setToolTip(plain_tip(counts))  # "&lt;dog&gt;" showed as "<dog>", another class
        self.setAccessibleDescription(counts)  # the chart in words, for a screen reader
        self._update_ticks()

    def _show_legend(self, unnamed: Sequence[tuple[str, int]] = ()) -> None:
        """The colours, and the largest or smallest class by name when its row had no room
        for it (beside each other, only one of them could be written)."""
        swatch = "<span style='color:{c}'>■</span>"
        text = f"{swatch.format(c=ACCENT)} images per class"
        if any(few_images(self.values)):
            text += (f" &nbsp; {swatch.format(c=WARN)} fewer than a third of the largest "
                     "class: add images to it if you can")
        for what, i in unnamed:
            v = self.values[i]
            text += (f" &nbsp; {what}: {html.escape(isolated(self.names[i]))} "
                     f"({v:,} image{'s' if v != 1 else ''})")
        self.legend.setText(text)
        self.legend.show()

    def _update_ticks(self) -> None:
        """Write as many class names as the rows have room for, never overlapping."""
        if self.plot is None or not self.names:
            return
        n = len(self.names)
        rows_px = max(1.0, self.plot.getViewBox().height() or self.plot.height() - 40.0)
        step = max(1, math.ceil(n * ROW_PX / rows_px))
        written = labelled_rows(self.values, step)
        ticks = [(i, self.shown_names[i]) for i in written]
        self.tick_labels = [t for _i, t in ticks]
        self.plot.getAxis("left").setTicks([ticks])
        ends = (("largest", max(range(n), key=self.values.__getitem__)),
                ("smallest", min(range(n), key=self.values.__getitem__)))
        self._show_legend([(what, i) for what, i in ends
                           if i not in written and len(set(self.values)) > 1])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._update_ticks()

    def legend_text(self) -> str:
        """The legend in plain words (tests)."""
        return html.unescape(self.legend.text().replace("&nbsp;", " "))


def fit_rows(table, rows: int) -> None:
    """The class table as tall as its rows (up to eight; more scroll), so the chart below
    gets the rest."""
    row_h = table.verticalHeader().defaultSectionSize()
    height = (table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
              + row_h * min(max(rows, 2), 8))
    table.setFixedHeight(height + 2)
