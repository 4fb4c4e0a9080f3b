"""The "Model: … [Open model…]" row that the Predict and Sort pages both start with.

One builder so the two pages label the model, let it be selected as text, and
offer their choices from the same kind of drop-down button.
"""

from __future__ import annotations

from typing import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton


def model_row(tooltip: str, choices: Sequence[tuple[str, Callable[[], None]]]
              ) -> tuple[QHBoxLayout, QLabel, QPushButton, list[QAction]]:
    """(row, model label, Open model… button, its menu actions in ``choices`` order).

    The label wraps and can be selected; the caller adds widgets between them
    with ``row.insertWidget(1, ...)`` when it needs to.
    """
    row = QHBoxLayout()
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    button = QPushButton("Open model…")
    button.setToolTip(tooltip)
    menu = QMenu(button)
    actions = [menu.addAction(text, slot) for text, slot in choices]
    button.setMenu(menu)
    row.addWidget(label, 1)
    row.addWidget(button)
    return row, label, button, actions
