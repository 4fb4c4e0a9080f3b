"""The name a save dialog's answer becomes, asked about when it is not the name typed.

Qt's own save dialog adds no ending: "mine" typed for a report or a CSV was saved as
"mine.html" or refused, and the dialog had asked about replacing "mine", not the file the
added ending named, so an existing "mine.html" was replaced without a word (reviews of the
Evaluate, Predict and project saves).  One rule for every save: the ending is added, and a
file of the name it makes is replaced only when the user says so.
"""

from __future__ import annotations

import os
from typing import Iterable, Optional

from PySide6.QtWidgets import QMessageBox, QWidget

from gui import plain_text


def replace_ok(parent: QWidget, path: str, what: str, title: str = "Replace the file?") -> bool:
    """Whether the user lets ``what`` ("this report") replace the existing ``path``."""
    answer = plain_text.question(parent, title, f"{path} already exists. Replace it with "
                                 f"{what}?", QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
    return answer == QMessageBox.Yes


def with_ending(parent: QWidget, path: str, endings: Iterable[str], ending: str,
                what: str) -> Optional[str]:
    """``path`` as chosen, or with ``ending`` added when it has none of ``endings`` ("report."
    gets "report.html", not "report..html"); None when that name is an existing file the
    user will not let ``what`` replace."""
    if os.path.splitext(path)[1].lower() in endings:
        return path
    path = path.rstrip(".") + ending
    if os.path.exists(path) and not replace_ok(parent, path, what):
        return None
    return path
