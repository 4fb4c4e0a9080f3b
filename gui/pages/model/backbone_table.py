"""The Model page's backbone table: the catalog as rows, the recommended one starred.

The rows are plain data (:data:`core.model.backbones.CATALOG`), so the table
shows at once; the page decides what a selection means.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem,
                               QWidget)

from core.model.backbones import CATALOG

COLUMNS = ["Backbone", "Parameters", "Input (px)", "ImageNet top-1", "CPU images/s"]


def millions(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n:,}"


class BackboneTable(QTableWidget):
    """One row per catalog backbone; its name is in column 0's ``Qt.UserRole``."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(len(CATALOG), len(COLUMNS), parent)
        self.setAccessibleName("Backbones")
        self.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setSortingEnabled(False)
        for r, spec in enumerate(CATALOG.values()):
            cells = [spec.name, millions(spec.params), f"{spec.default_size}",
                     f"{spec.top1:.1f} %",
                     f"{spec.cpu_images_per_sec:.0f}" if spec.cpu_images_per_sec else "–"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.UserRole, spec.name)
                else:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.setItem(r, c, item)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        # Speeds come from bench/bench_backbones.py; hide the column until it has run.
        self.setColumnHidden(4, not any(s.cpu_images_per_sec for s in CATALOG.values()))

    def name_at(self, row: int) -> str:
        return self.item(row, 0).data(Qt.UserRole)

    def selected_name(self) -> Optional[str]:
        rows = self.selectionModel().selectedRows()
        return self.name_at(rows[0].row()) if rows else None

    def has(self, name: str) -> bool:
        """Whether the catalog lists ``name``."""
        return any(self.name_at(r) == name for r in range(self.rowCount()))

    def select_name(self, name: str) -> bool:
        """Select ``name``'s row; False (nothing selected) when the catalog has no such
        backbone: the previous row stayed highlighted, and clicking it changed nothing."""
        for r in range(self.rowCount()):
            if self.name_at(r) == name:
                self.selectRow(r)
                return True
        self.clearSelection()
        return False

    def mark_recommended(self, name: Optional[str]) -> None:
        """Star and embolden the recommended backbone's name (None: no recommendation)."""
        for r in range(self.rowCount()):
            item = self.item(r, 0)
            own = item.data(Qt.UserRole)
            item.setText(f"★ {own}" if own == name else own)
            font = item.font()
            font.setBold(own == name)
            item.setFont(font)
