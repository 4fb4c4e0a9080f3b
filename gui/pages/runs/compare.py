"""The Runs page's comparison of two runs: the settings that differ and their curves.

Settings are the dotted keys the config file uses; the validation curves of
both runs are overlaid at x = epochs over both phases, so "did the lower
learning rate help?" has a visible answer.  The curves' numbers are kept in
:attr:`CompareView.series` for tests; pyqtgraph is imported the first time two
runs are compared.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from gui.theme import ACCENT

COLOR_B = "#f0a04b"


def pct(x: Optional[float]) -> str:
    return f"{x * 100:.1f}%" if x is not None else "–"


def value_text(v: Any) -> str:
    if v is None:
        return "(not set)"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def validation_series(rows: list[dict]) -> dict[str, list[float]]:
    """Validation points at x = epochs over both phases (fine-tuning after the head)."""
    x, acc, loss = [], [], []
    for i, row in enumerate(rows, start=1):
        if row.get("val_loss") is None and row.get("val_accuracy") is None:
            continue
        x.append(float(row.get("global_epoch") or i))
        acc.append(float("nan") if row.get("val_accuracy") is None else row["val_accuracy"])
        loss.append(float("nan") if row.get("val_loss") is None else row["val_loss"])
    return {"x": x, "val_accuracy": acc, "val_loss": loss}


class CompareView(QWidget):
    """Title, the table of differing settings, and two plots (accuracy, loss)."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.series: dict[str, dict[str, list[float]]] = {}
        self._plots: dict[str, Any] = {}
        self._curves: dict[tuple[str, str], Any] = {}
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.RichText)
        box.addWidget(self.title)
        row = QHBoxLayout()
        self.diff_table = QTableWidget(0, 3)
        self.diff_table.setHorizontalHeaderLabels(["Setting", "A", "B"])
        self.diff_table.verticalHeader().hide()
        self.diff_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.diff_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.diff_table.horizontalHeader().setStretchLastSection(True)
        self.diff_table.setMinimumWidth(360)
        row.addWidget(self.diff_table, 2)
        self.plots_host = QWidget()
        self.plots_layout = QHBoxLayout(self.plots_host)
        self.plots_layout.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.plots_host, 3)
        box.addLayout(row, 1)

    def show_comparison(self, cmp) -> None:
        """Show a :class:`core.runs.history.RunComparison`."""
        self.title.setText(
            f"<b>Comparing</b> <span style='color:{ACCENT}'>A: {cmp.a.name}</span> "
            f"({pct(cmp.a.accuracy)}) with <span style='color:{COLOR_B}'>B: {cmp.b.name}</span> "
            f"({pct(cmp.b.accuracy)}) — "
            + (f"{len(cmp.diff)} setting{'s' if len(cmp.diff) != 1 else ''} differ"
               if cmp.diff else "same settings"))
        rows = cmp.diff or [("(no differences)", "", "")]
        self.diff_table.setRowCount(len(rows))
        for i, (key, va, vb) in enumerate(rows):
            for j, text in enumerate((key, value_text(va) if cmp.diff else "",
                                      value_text(vb) if cmp.diff else "")):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.diff_table.setItem(i, j, item)
        self.series = {"A": validation_series(cmp.history_a),
                       "B": validation_series(cmp.history_b)}
        self._draw_curves()

    def _draw_curves(self) -> None:
        import pyqtgraph as pg

        from gui.widgets.curves import epoch_plot

        if not self._plots:
            for key, title in (("val_accuracy", "Validation accuracy (higher is better)"),
                               ("val_loss", "Validation loss (lower is better)")):
                plot = epoch_plot(title, 160, legend_top=(key != "val_accuracy"))
                for name, color in (("A", ACCENT), ("B", COLOR_B)):
                    self._curves[(key, name)] = plot.plot(
                        [], [], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=6,
                        symbolBrush=color, symbolPen=None, name=f"run {name}")
                plot.setMouseEnabled(x=False, y=False)
                self._plots[key] = plot
                self.plots_layout.addWidget(plot)
        for (key, name), curve in self._curves.items():
            s = self.series[name]
            curve.setData(s["x"], s[key])
        self._plots["val_accuracy"].setYRange(0, 1.02, padding=0)
