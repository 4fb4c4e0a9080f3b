"""The Runs page's table rows: one run's cells, its sort keys, and the exports line.

Every figure is the run folder's own record (through the run index): the
validation accuracy is the one the Train and Evaluate pages show, and the
training time is ``run.json``'s, written as the Train page writes it.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem

from core.report.staleness import STALE
from core.runs.damaged import damage_note, damaged_text
from core.runs.folder import RunFolder
from core.shown import human_size, when_text
from gui.durations import format_duration
from gui.pages.runs.compare import pct
from gui.plain_text import plain_tip
from gui.steps import step

ID_ROLE = Qt.UserRole + 1
SORT_ROLE = Qt.UserRole + 2
#: The run's when and what, its status and its accuracy first: at the window's smallest size
#: (900 px) the Status column had been scrolled off to the right (a review).
COLUMNS = ("Started", "Backbone", "Status", "Val accuracy", "Macro F1", "Size", "Images",
           "Training time", "Folder")
#: What a column's figure is, where it could be mistaken for another page's.
COLUMN_TIPS = {
    "Images": "The usable images of the run's data folder (training and validation together)",
    "Val accuracy": "The model's accuracy on the run's validation images: the figure the Train "
                    "and Evaluate pages show",
    "Macro F1": "The classes' F1 scores averaged, on the validation images",
    "Training time": "How long the run trained, over every session (a resumed run counts both "
                     "parts), as its run.json records it; the Train page shows the same figure",
}


def exports_text(run_name: str, exports: list[dict]) -> str:
    """One line per exported format of a run, newest last (rich text for a QLabel)."""
    title = f"<b>Exports of {html.escape(run_name)}"
    if not exports:
        return (f"{title}:</b> none yet — open the run and export its model on {step('Export')}; "
                "each format is then listed here.")
    lines = []
    for e in exports:
        when = when_text(e.get("created"))
        size = human_size(e["size_bytes"]) if e.get("size_bytes") else "–"
        status = (e.get("details") or {}).get("status")
        flag = (f" <b>(out of date: {html.escape(e[STALE])})</b>" if e.get(STALE) else
                " <b>(its answers differ from the app's: do not trust it)</b>"
                if status == "parity_failed" else "")
        lines.append(f"{html.escape(e['format'])} · {size} · {when}{flag} — "
                     f"<tt>{html.escape(e['path'])}</tt>")
    return f"{title} ({len(exports)}):</b><br>" + "<br>".join(lines)


def _item(text: str, sort_value: Any, align_right: bool = False) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(sort_value, SORT_ROLE)  # None: missing, sorted last by RunsProxy
    if align_right:
        item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


class RunsProxy(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` with missing values ("–") last in either direction.

    They were stored as -1.0, which put them first whenever a column sorted upwards.
    """

    def lessThan(self, left, right) -> bool:  # noqa: N802 - Qt's name
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a is None or b is None:  # Qt reverses lessThan for descending: undo that here
            return a is not b and (b is None) == (self.sortOrder() == Qt.AscendingOrder)
        return a < b


def run_cells(r, current: bool = False) -> list[QStandardItem]:
    """The table's cells for one :class:`core.runs.summary.RunSummary`; ``current``: the
    window's current run, the model Predict, Export and Sort use (no row said which)."""
    started = when_text(r.created)
    size = f"{r.image_size} px" if r.image_size else "–"
    status = r.shown_status or "–"
    if not r.exists:
        status += " (folder missing)"
    elif r.missing:  # listed, not dropped: what it lost; the tooltip says the rest
        status += f" ({damage_note(r.missing)})"
    if current:
        status += " · current"
    by_name = {
        "Started": _item(started, r.created or 0.0),
        "Backbone": _item(r.backbone or "–", (r.backbone or "").lower()),
        "Size": _item(size, r.image_size, True),
        "Images": _item(str(r.images) if r.images is not None else "–", r.images, True),
        "Val accuracy": _item(pct(r.accuracy), r.accuracy, True),
        "Macro F1": _item(f"{r.macro_f1:.3f}" if r.macro_f1 is not None else "–", r.macro_f1,
                          True),
        "Training time": _item(format_duration(r.seconds), r.seconds, True),
        "Status": _item(status, status),
        "Folder": _item(r.path, r.path),
    }
    cells = [by_name[name] for name in COLUMNS]
    cells[0].setData(r.id, ID_ROLE)
    by_name["Folder"].setToolTip(plain_tip(r.path))
    if r.exists and r.missing:
        by_name["Status"].setToolTip(plain_tip(damaged_text(RunFolder(r.path), r.missing)))
    if current:
        by_name["Status"].setToolTip("The current run: Evaluate and Export use its model, and Predict "
                             "and Sort unless another model is opened there")
        for cell in cells:
            font = cell.font()
            font.setBold(True)
            cell.setFont(font)
    return cells
