"""The Sort step's labels not yet added, kept as the folder's draft while the user works.

:mod:`core.label.drafts` holds the file; this keeps it up to date: a second after the last
change of the decisions (a burst of keys writes once; moving through the images is no
change), written by a worker so the window never waits for the disk, and at once when the
session ends (another folder, another project, the window closing).  Should the draft fail
to be written, the labels are again work nothing keeps, and the window asks before it loses
them.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from PySide6.QtCore import QObject, QTimer

from core.errors import UserError
from core.label.drafts import Draft, save_draft
from gui.jobs import Job

log = logging.getLogger(__name__)


def save_job(draft: Draft, listener=None, cancel=None) -> str:
    """Worker: write ``draft``; "" or why it could not be written."""
    try:
        save_draft(draft)
        return ""
    except (OSError, UserError) as exc:  # a full disk, a read-only data folder: said on Close
        return str(exc)


class DraftKeeper(QObject):
    """Writes the shown folder's open decisions to its draft.  ``session()`` gives (the folder
    the grid shows, its Review, the data folder they are for)."""

    def __init__(self, session: Callable, parent=None) -> None:
        super().__init__(parent)
        self._session = session
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._write_in_background)
        self._saved: Optional[tuple] = None  # what the last write held (see _state)
        self._job: Optional[Job] = None
        self.problem = ""  # why the last draft could not be written ("" when it was)

    def _state(self) -> Optional[tuple]:
        """What says the decisions changed, without walking them: any decision, step back,
        added batch or new class changes one of these counts (moving through the images
        changes none)."""
        folder, review, data_dir = self._session()
        if not folder:
            return None
        return (folder, data_dir, id(review), len(review.history), len(review.decisions),
                len(review.added), len(review.made))

    def changed(self) -> None:
        state = self._state()
        if state is not None and state != self._saved:
            self._timer.start()

    def _snapshot(self) -> Draft:
        folder, review, data_dir = self._session()
        labels = {p: d for p, d in review.decisions.items() if p not in review.added}
        return Draft(folder, labels, list(review.made), data_dir)

    def _write_in_background(self) -> None:
        if self._job is not None and self._job.is_running():
            self._timer.start()  # the last write first: one at a time, in order
            return
        state = self._state()
        if state is None or state == self._saved:
            return
        self._saved = state
        job = Job(save_job, self._snapshot(), name="Sort: keeping the labels", parent=self)
        job.finished.connect(self._on_written)
        self._job = job
        job.start()

    def _on_written(self, problem: str) -> None:
        self.problem = problem
        if problem:
            log.warning("the Sort labels cannot be kept as a draft: %s", problem)

    def flush(self) -> None:
        """Write the draft now (the session ends: a pending change is not left to a timer the
        session outlives); after a write already under way."""
        self._timer.stop()
        if self._job is not None:
            self._job.wait()
        state = self._state()
        if state is None or state == self._saved:
            return
        self._saved = state
        self._on_written(save_job(self._snapshot()))

    def unkept(self, review) -> str:
        """Labels not added are kept as the folder's draft; only labels whose draft cannot
        be written are work for the window to ask about before it loses them."""
        self.flush()
        n = len(review.rows_to_apply())
        return (f"{n} image(s) labelled on the Sort step are not in the data set yet, and "
                f"cannot be kept for next time ({self.problem}); Add to data set keeps "
                "them.") if n and self.problem else ""

    @staticmethod
    def restore(draft: Draft, review, rows: dict) -> list[str]:
        """Put ``draft`` (read by the suggestion job) into ``review`` for images not decided
        yet (``rows``: the images shown); the images whose labels came back."""
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
