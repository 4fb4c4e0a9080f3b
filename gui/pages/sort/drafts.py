"""The Sort step's labels not yet added, kept as the folder's draft while the user works.

:mod:`core.label.drafts` holds the file; this keeps it up to date: a second after the last
change (a burst of keys writes once), and at once when the session ends (another folder,
another project, the window closing).  Should the draft fail to be written, the labels are
again work nothing keeps, and the window asks before it loses them.
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, QTimer

from core.errors import UserError
from core.label.drafts import Draft, load_draft, save_draft

log = logging.getLogger(__name__)


class DraftKeeper(QObject):
    """Writes the shown folder's open decisions to its draft; reads them back for a folder
    sorted again.  ``session()`` gives (the folder the grid shows, its Review)."""

    def __init__(self, session: Callable, parent=None) -> None:
        super().__init__(parent)
        self._session = session
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.flush)
        self.problem = ""  # why the last draft could not be written ("" when it was)

    def changed(self) -> None:
        folder, _review = self._session()
        if folder:
            self._timer.start()

    def flush(self) -> None:
        """Write the draft now (a pending change is not left to a timer the session outlives)."""
        self._timer.stop()
        folder, review = self._session()
        if not folder:
            return
        labels = {p: d for p, d in review.decisions.items() if p not in review.added}
        try:
            save_draft(Draft(folder, labels, list(review.made)))
            self.problem = ""
        except (OSError, UserError) as exc:  # a full disk, a read-only data folder: said on
            self.problem = str(exc)  # Close, which asks before the labels are lost
            log.warning("the Sort labels cannot be kept as a draft: %s", self.problem)

    def unkept(self, review) -> str:
        """Labels not added are kept as the folder's draft; only labels whose draft cannot
        be written are work for the window to ask about before it loses them."""
        self.flush()
        n = len(review.rows_to_apply())
        return (f"{n} image(s) labelled on the Sort step are not in the data set yet, and "
                f"cannot be kept for next time ({self.problem}); Add to data set keeps "
                "them.") if n and self.problem else ""

    @staticmethod
    def restore(folder: str, review, rows: dict) -> list[str]:
        """Put the folder's draft into ``review`` for images not decided yet (``rows``: the
        images shown); the images whose labels came back."""
        draft = load_draft(folder)
        back = []
        for path, label in draft.labels.items():
            if path in rows and path not in review.decisions:
                review.decisions[path] = label
                back.append(path)
        for name in draft.classes:
            if name not in review.classes:
                review.classes.append(name)
                review.made.append(name)
        return back
