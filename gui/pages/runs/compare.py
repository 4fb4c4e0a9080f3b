"""The Runs page's comparison of two runs: the settings that differ and their curves.

Which settings differ is :func:`core.runs.compare.settings_diff`: the runs'
effective settings (an augmentation preset expanded, the fine-tuning rate made
explicit), named with the window's own labels ("Phase 2 (fine-tune)"); a
long value (a list of transforms) is summarised in its cell and shown whole in
the cell's tooltip, and both value columns share the width, so neither is
pushed out of view.  The validation curves of both runs are overlaid at
x = epochs over both phases, so "did the lower learning rate help?" has a
visible answer.  The curves' numbers are kept in :attr:`CompareView.series`
for tests; pyqtgraph is imported the first time two runs are compared.
"""

from __future__ import annotations

from html import escape
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from gui.plain_text import plain_tip
from gui.theme import ACCENT

COLOR_B = "#f0a04b"


def pct(x: Optional[float]) -> str:
    return f"{x * 100:.1f}%" if x is not None else "–"


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
        self.differences: list = []  # core.runs.compare.SettingDifference
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
        self.diff_table.setAccessibleName("Settings that differ")
        self.diff_table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.diff_table.setHorizontalHeaderLabels(["Setting", "A", "B"])
        self.diff_table.verticalHeader().hide()
        self.diff_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.diff_table.setWordWrap(False)
        self.diff_table.setTextElideMode(Qt.ElideRight)
        self.diff_table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        header = self.diff_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        self.diff_table.setMinimumWidth(320)
        row.addWidget(self.diff_table, 2)
        self.plots_host = QWidget()
        self.plots_layout = QHBoxLayout(self.plots_host)
        self.plots_layout.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.plots_host, 3)
        box.addLayout(row, 1)

    def show_comparison(self, cmp) -> None:
        """Show a :class:`core.runs.history.RunComparison` (its settings compared effectively)."""
        from core.runs.compare import data_diff, settings_diff

        data = data_diff(cmp.a, cmp.b)
        diff = data + settings_diff(cmp.a.config, cmp.b.config)
        self.differences = diff
        n = len(diff) - len(data)
        self.title.setText(  # run names are folder names: "<b>B" is a name, not markup
            f"<b>Comparing</b> <span style='color:{ACCENT}'>A: {escape(cmp.a.name)}</span> "
            f"({pct(cmp.a.accuracy)} validation accuracy) with "
            f"<span style='color:{COLOR_B}'>B: {escape(cmp.b.name)}</span> "
            f"({pct(cmp.b.accuracy)}) — "
            + ("settings unknown" if diff[len(data):][:1] and diff[len(data)].path == "config"
               else f"{n} setting{'s differ' if n != 1 else ' differs'}" if n
               else "same settings") + (", different data" if data else ""))
        self.diff_table.setRowCount(max(1, len(diff)))
        if not diff:
            self._set_row(0, ("(no differences)", "", ""), ("", "", ""))
        for i, d in enumerate(diff):
            self._set_row(i, (d.label, d.a_text, d.b_text),
                          (f"{d.label} ({d.path})", d.a_full, d.b_full))
        self.series = {"A": validation_series(cmp.history_a),
                       "B": validation_series(cmp.history_b)}
        self._draw_curves()

    def _set_row(self, row: int, texts: tuple, tips: tuple) -> None:
        for col, (text, tip) in enumerate(zip(texts, tips)):
            item = QTableWidgetItem(text)
            item.setToolTip(plain_tip(tip))  # class names, data folders
            self.diff_table.setItem(row, col, item)

    def cell_texts(self) -> list[tuple[str, str, str]]:
        """What the table shows, row by row (for tests)."""
        t = self.diff_table
        return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]

    def _draw_curves(self) -> None:
        import pyqtgraph as pg

        from gui.widgets.curves import epoch_plot

        if not self._plots:
            # Short titles and no legend inside the plots (the title line above names A and
            # B in their colours): at the window's minimum size the long titles kept each
            # plot wider than its place, which clipped the curves, and at 1600 px the
            # legend covered run B's last points.
            for key, title, better in (("val_accuracy", "Validation accuracy", "higher"),
                                       ("val_loss", "Validation loss", "lower")):
                plot = epoch_plot(title, 160, legend_top=None)
                plot.setToolTip(f"{title} after each epoch ({better} is better): run A in "
                                f"blue, run B in orange")
                plot.setMinimumWidth(120)
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
