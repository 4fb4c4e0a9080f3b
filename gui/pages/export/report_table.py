"""The Export page's report: one row per format with its parity figures against its bound.

The figures are exact ("0.0102", "31/32 (96.9%)") and the bound the format was
judged by is shown beside them, so a user sees why a format passed or not.
A format whose runtime could not be run says "could not run: <reason>" in one
line; the runtime's own output is in the page's log.
"""

from __future__ import annotations

import os
import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from core.formats import FORMATS
from core.shown import human_size
from gui.plain_text import plain_tip
from gui.theme import ERROR, OK, WARN

COLUMNS = ["Format", "Result", "Max |Δp|", "Top-1 agreement", "Accuracy: file (app)", "Size",
           "Latency (CPU, 1 image)", "File", "Bound for PASS"]

#: (text, colour) of each FormatResult.status.
RESULTS = {"ok": ("PASS", OK), "parity_failed": ("FAIL (parity)", WARN),
           "not_checked": ("NOT CHECKED", WARN), "failed": ("FAILED", ERROR)}


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def short_bound(text: str) -> str:
    """The bound without its explanations in brackets, in few words, for the table's last
    column (the tooltip keeps the whole): "top-1 >= 97% and accuracy drop <= 2 pts"."""
    text = re.sub(r" \([^()]*\)", "", text)
    return text.replace("top-1 agreement", "top-1").replace(" points", " pts")


def make_table() -> QTableWidget:
    table = QTableWidget(0, len(COLUMNS))
    table.setAccessibleName("Exports and their checks")
    table.setTabKeyNavigation(False)  # Tab leaves it; arrows move in it
    table.setHorizontalHeaderLabels(COLUMNS)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.Stretch)
    # One line a row, a long bound cut with "…" (whole in its tooltip): rows grown to a
    # wrapped bound were sized once, so an export finished in a 900 px window left rows six
    # lines tall (the bound squeezed to 26 px), also after the window grew (a review).
    table.setWordWrap(False)
    table.setTextElideMode(Qt.ElideRight)
    # Room for every format's row even in a 900x600 window (the page scrolls instead).
    rows = len(FORMATS) + 1  # and the header
    table.setMinimumHeight(rows * table.verticalHeader().defaultSectionSize() + 8)
    return table


def row_values(r: Any) -> list[str]:
    """The cells of one format's row (the parity figures exactly as judged)."""
    from core.export.report import agreement_text

    p = r.parity or {}
    diff = p.get("max_abs_diff")
    finite = diff is not None and diff == diff and diff != float("inf")
    acc = "–"
    if p.get("accuracy_export") is not None and p.get("accuracy_app") is not None:
        acc = f"{p['accuracy_export']:.1%} ({p['accuracy_app']:.1%})"
    checked = p.get("checked", True) and bool(p)
    return [
        r.format, RESULTS[r.status][0],
        f"{diff:.3g}" if finite and checked else "–",
        (agreement_text(p) or "–") if checked else "–",
        acc,
        human_size(r.size_bytes) if r.size_bytes else "–",
        f"{r.latency_ms:.2f} ms" if r.latency_ms is not None else "–",
        os.path.basename(r.path) if r.path else "–",
        short_bound(str(p.get("bound", ""))) if checked else str(p.get("reason", "")),
    ]


def fill_table(table: QTableWidget, report: Any) -> list[str]:
    """Show ``report`` in ``table``; return one HTML line per format that is not PASS."""
    from core.export.report import problem_text

    table.setRowCount(len(report.results))
    problems = []
    for i, r in enumerate(report.results):
        if not r.ok:
            problems.append(f"<b>{r.format}</b>: {html(problem_text(r))}")
        tip = r.error or (r.parity or {}).get("reason", "")
        for col, text in enumerate(row_values(r)):
            item = QTableWidgetItem(text)
            full = {7: r.path, 8: str((r.parity or {}).get("bound", ""))}.get(col) or text
            item.setToolTip(plain_tip(tip or full))  # the file's path, a runtime's message
            if col == 1:
                item.setForeground(QColor(RESULTS[r.status][1]))
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            if col in (2, 3, 4, 5, 6):
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            table.setItem(i, col, item)
    return problems


def table_rows(table: QTableWidget) -> list[dict]:
    """The report table as dicts keyed by column title (for tests and scripting)."""
    return [{COLUMNS[c]: table.item(r, c).text() for c in range(len(COLUMNS))}
            for r in range(table.rowCount())]


def outcome_text(report: Any) -> str:
    """The line beside Export once it ends: how many passed, on what, where, and the earlier
    export's formats left in the folder (`main.py export` said so; the page did not: a
    review)."""
    passed = sum(1 for r in report.results if r.ok)
    if not report.written:
        return "Nothing was written: every format failed."
    text = (f"{passed} of {len(report.results)} formats passed · checked on up to "
            f"{report.parity_images} {report.parity_source} (each row says on how many) · "
            f"written to {report.out_dir}")
    if report.kept_formats:
        text += (" · kept from the earlier export of this model: "
                 f"{', '.join(report.kept_formats)}")
    return text
