"""A bar chart of images per class (pyqtgraph, imported only when first drawn).

A glance shows whether one class dwarfs the others, which matters more to a
classifier than any setting; pyqtgraph is imported on first use so the window
still appears instantly.
"""

from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.theme import ACCENT, WARN


class ClassBarChart(QWidget):
    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("The number of images in each class appears here.")
        self._empty.setObjectName("hint")
        self._layout.addWidget(self._empty)
        self.plot = None
        self._bars = None
        self.names: list[str] = []
        self.values: list[int] = []

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(background=None)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(y=True, alpha=0.2)
        self.plot.setLabel("left", "images")
        self.plot.setMinimumHeight(160)
        self._layout.addWidget(self.plot)

    def set_counts(self, names: Sequence[str], values: Sequence[int]) -> None:
        self.names, self.values = list(names), [int(v) for v in values]
        if not self.names:
            self._empty.show()
            if self.plot is not None:
                self.plot.hide()
            return
        self._ensure_plot()
        import pyqtgraph as pg

        self._empty.hide()
        self.plot.show()
        self.plot.clear()
        xs = list(range(len(self.values)))
        biggest = max(self.values) if self.values else 0
        # Classes under a third of the largest are drawn in the warning colour.
        brushes = [pg.mkBrush(WARN if biggest and v < biggest / 3 else ACCENT)
                   for v in self.values]
        self._bars = pg.BarGraphItem(x=xs, height=self.values, width=0.6, brushes=brushes)
        self.plot.addItem(self._bars)
        axis = self.plot.getAxis("bottom")
        short = [(i, n if len(n) <= 14 else n[:13] + "…") for i, n in enumerate(self.names)]
        axis.setTicks([short])
        self.plot.setXRange(-0.6, len(xs) - 0.4, padding=0)
        self.plot.setYRange(0, max(1, biggest) * 1.1, padding=0)
