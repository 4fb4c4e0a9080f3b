"""The Sort step's folder row: Choose folder…, the folder and the counter, progress, Cancel
and the order.  The widgets are the page's attributes (``page.folder_button``...)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout)

ORDERS = (("Most useful first", "useful"), ("Most confident first", "confident"))


def folder_row(page) -> QHBoxLayout:
    row = QHBoxLayout()
    page.folder_button = QPushButton("Choose folder…")
    page.folder_button.setObjectName("primary")
    page.folder_button.setToolTip("A folder of new images (sub-folders too); you can also "
                                  "drop it on this page")
    page.folder_button.clicked.connect(page.choose_folder)
    page.folder_label = QLabel("No folder yet.")
    page.folder_label.setTextFormat(Qt.PlainText)  # the folder's path, as written
    page.folder_label.setWordWrap(True)
    page.order_combo = QComboBox()
    for text, value in ORDERS:
        page.order_combo.addItem(text, value)
    page.order_combo.setToolTip("Most useful: what a label would teach the model most. "
                                "Most confident: quick to accept in bulk.")
    page.order_combo.currentIndexChanged.connect(lambda _i: page.folder and page.start())
    page.order_combo.setFocusPolicy(Qt.TabFocus)  # a click left it taking the label keys
    page.progress = QProgressBar()
    page.progress.setMaximumWidth(160)
    page.progress.hide()
    page.cancel_button = QPushButton("Cancel")
    page.cancel_button.clicked.connect(lambda: page._job is not None and page._job.cancel())
    page.cancel_button.hide()
    page.counter_label = QLabel("")  # beside the folder, not a row of its own: at the
    page.counter_label.setObjectName("hint")  # minimum window size every row counts
    page.counter_label.setWordWrap(True)  # "… · 51 added to the data set" widened the page
    where = QVBoxLayout()
    where.setSpacing(0)
    where.addWidget(page.folder_label)
    where.addWidget(page.counter_label)
    row.addWidget(page.folder_button)
    row.addLayout(where, 1)
    for w in (page.progress, page.cancel_button, page.order_combo):
        row.addWidget(w)
    return row
