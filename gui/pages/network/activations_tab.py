"""The "Activations" tab: the bends between the layers, and why their slopes matter.

Two plots share the x axis: each activation f(x), and its derivative f′(x) —
the factor a gradient is multiplied by when it flows back through the layer.
Seeing sigmoid's derivative peak at 0.25 and vanish at both ends next to
ReLU's flat 1 is the vanishing-gradient lesson in one picture.  ReLU, sigmoid
and tanh are always offered; the activations the user's backbone really uses
(:func:`core.insight.activations.activations_in`, found in a worker) are ticked and
marked.  The curves are numpy formulas from :mod:`core.insight.activations`, a few
hundred points each, cheap enough to draw on the spot.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QLabel, QListWidget, QListWidgetItem, QSplitter,
                               QVBoxLayout, QWidget)

from gui.widgets.compact import ColumnScroll

ALWAYS = ("relu", "sigmoid", "tanh")
X_RANGE = (-6.0, 8.0)  # past 6, so ReLU6 is seen to level off
POINTS = 601
COLOURS = ("#4c9be8", "#e0b040", "#6cc070", "#e06060", "#b07ce8", "#40c8c8", "#e880b0",
           "#c8c8c8", "#a0d040", "#f09040")
DISPLAY = {"relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "leaky ReLU", "elu": "ELU",
           "sigmoid": "sigmoid", "tanh": "tanh", "swish": "swish (SiLU)",
           "hard_sigmoid": "hard sigmoid", "hard_swish": "hard swish", "gelu": "GELU"}


def slope_range(names) -> tuple[float, float]:
    """The slope plot's y range: every slope the tab can draw, 0 and 1 included, with a
    margin.  A fixed −0.1…1.3 cut hard swish's (−0.5…1.5, MobileNetV3's own) off at both
    ends, hiding the gradients it multiplies by more than 1 or by a negative number (a review)."""
    from core.insight.activations import curve

    x = np.linspace(*X_RANGE, POINTS)
    slopes = [curve(name, x)[1] for name in names]
    lo = min(0.0, *(float(s.min()) for s in slopes))
    hi = max(1.0, *(float(s.max()) for s in slopes))
    margin = 0.05 * (hi - lo)
    return lo - margin, hi + margin


class ActivationsTab(QWidget):
    """A checklist of activations and two plots (value, derivative)."""

    curves_changed = Signal(int)  # number of activations drawn

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg
        from core.insight.activations import ACTIVATIONS

        self._activations = ACTIVATIONS
        self.used: list[str] = []
        self.curves: dict[str, tuple] = {}  # name -> (value curve, derivative curve)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        intro = QLabel("Between the layers sits a bend, the activation; without it the whole "
                       "network would collapse into one linear map. The lower plot is its slope "
                       "f′(x): on the way back, every gradient is multiplied by it, layer after "
                       "layer. Where the slope is near 0 (sigmoid and tanh for large |x|), deep "
                       "networks stop learning — the vanishing gradient. ReLU's slope is exactly "
                       "1 for x > 0, which is why CNNs use it and its smooth cousins.")
        intro.setWordWrap(True)
        lay.addWidget(intro)

        split = QSplitter(Qt.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Show</b> (★ = used in this model)"))
        self.list = QListWidget()
        self.list.setAccessibleName("Activation functions shown")
        for i, (name, act) in enumerate(ACTIVATIONS.items()):
            item = QListWidgetItem(DISPLAY.get(name, name))
            item.setData(Qt.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if name in ALWAYS else Qt.Unchecked)
            item.setToolTip(f"{act.formula}\n{act.note}")
            self.list.addItem(item)
        self.list.itemChanged.connect(lambda _item: self.redraw())
        self.list.setMaximumHeight(self.list.sizeHintForRow(0) * self.list.count()
                                   + 2 * self.list.frameWidth() + 4)
        ll.addWidget(self.list)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.RichText)
        self.notes.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        notes_area = ColumnScroll()  # every note readable at the window's smallest size too
        notes_area.setWidget(self.notes)
        notes_area.setFrameShape(ColumnScroll.NoFrame)
        ll.addWidget(notes_area, 1)
        split.addWidget(left)

        plots = QWidget()
        pl = QVBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        self.value_plot = pg.PlotWidget(background=None, title="f(x)")
        self.slope_plot = pg.PlotWidget(background=None,
                                        title="f′(x): what a gradient is multiplied by")
        for plot, name in ((self.value_plot, "f(x)"), (self.slope_plot, "f′(x)")):
            plot.setAccessibleName(name)
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.2)
            # No legend inside the plots: at 900×600 it covered the curves (a review); the
            # list's coloured squares name each curve instead (redraw).
            plot.setLabel("bottom", "x")
            plot.addLine(x=0, pen=pg.mkPen("#555c63"))
            plot.addLine(y=0, pen=pg.mkPen("#555c63"))
        self.slope_plot.setXLink(self.value_plot)
        for plot, (lo, hi) in ((self.value_plot, (-1.5, 8.0)),
                               (self.slope_plot, slope_range(ACTIVATIONS))):
            plot.disableAutoRange()
            plot.setXRange(*X_RANGE, padding=0)
            plot.setYRange(lo, hi, padding=0)
        pl.addWidget(self.value_plot, 3)
        pl.addWidget(self.slope_plot, 2)
        split.addWidget(plots)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setSizes([300, 800])
        lay.addWidget(split, 1)
        self.redraw()

    def set_used(self, names: Sequence[str]) -> None:
        """Mark and tick the activations the model uses (the basic three stay ticked)."""
        self.used = [n for n in names if n in self._activations]
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            name = item.data(Qt.UserRole)
            star = " ★" if name in self.used else ""
            item.setText(DISPLAY.get(name, name) + star)
            item.setCheckState(Qt.Checked if name in ALWAYS or name in self.used
                               else Qt.Unchecked)
        self.list.blockSignals(False)
        self.redraw()

    def checked(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.Checked]

    def redraw(self) -> None:
        import pyqtgraph as pg
        from core.insight.activations import curve

        for value_item, slope_item in self.curves.values():
            self.value_plot.removeItem(value_item)
            self.slope_plot.removeItem(slope_item)
        self.curves = {}
        self._colour_the_list()
        x = np.linspace(*X_RANGE, POINTS)
        notes = []
        names = list(self._activations)
        for name in self.checked():
            colour = COLOURS[names.index(name) % len(COLOURS)]
            y, dy = curve(name, x)
            label = DISPLAY.get(name, name)
            width = 3 if name in self.used else 2
            v = self.value_plot.plot(x, y, pen=pg.mkPen(colour, width=width), name=label)
            d = self.slope_plot.plot(x, dy, pen=pg.mkPen(colour, width=width), name=label)
            for item in (v, d):  # thin curves on top, so one that coincides stays visible
                item.setZValue(-width)
            self.curves[name] = (v, d)
            act = self._activations[name]
            used = " <i>(in this model)</i>" if name in self.used else ""
            notes.append(f"<p><b><span style='color:{colour}'>■</span> {label}</b>{used}: "
                         f"f(x) = {act.formula}<br>{act.note}</p>")
        self.notes.setText("".join(notes) or "Tick an activation to draw it.")
        self.curves_changed.emit(len(self.curves))

    def _colour_the_list(self) -> None:
        """The list is the plots' legend: a ticked activation is written in its curve's colour."""
        from PySide6.QtGui import QBrush, QColor

        names = list(self._activations)
        self.list.blockSignals(True)  # a colour is an itemChanged too
        for i in range(self.list.count()):
            item = self.list.item(i)
            name = item.data(Qt.UserRole)
            ticked = item.checkState() == Qt.Checked
            item.setForeground(QBrush(QColor(COLOURS[names.index(name) % len(COLOURS)]))
                               if ticked else QBrush())
        self.list.blockSignals(False)
