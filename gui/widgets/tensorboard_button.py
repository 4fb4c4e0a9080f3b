"""The "Open in TensorBoard" button of the Train and Runs pages, for one run's logs.

The button is only enabled when clicking it can work (tensorboard installed and
the run has event files); otherwise its tooltip says why and what to do, so a
greyed-out button is never a mystery.  Starting TensorBoard takes seconds (it
imports TensorFlow), so :func:`core.train.tensorboard.open_tensorboard` runs
in its own :class:`gui.jobs.Job` -- not in the window's one long-job slot, so
the logs of a run can be opened *while* it trains -- and the browser opens when
the server answers.  Servers outlive the click (one per run, reused) and are
stopped by :func:`core.train.tensorboard.stop_all_servers` when the window
shuts down.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QPushButton, QWidget

from core.train.tensorboard import open_tensorboard, unavailable_reason
from gui.jobs import Job
from gui.plain_text import plain_tip

LABEL = "Open in TensorBoard"
READY_TIP = ("Show this run's training curves in TensorBoard, in your web browser (starts a "
             "local TensorBoard server; it stops when the app closes)")


class TensorBoardButton(QPushButton):
    """Opens ``run_dir``'s logs; the page shows ``opened``/``failed`` in its banner."""

    opened = Signal(str, bool)  # URL, whether a browser accepted it
    failed = Signal(str)        # message for the user

    def __init__(self, no_run_text: str = "Select a run first",
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(LABEL, parent)
        self.no_run_text = no_run_text
        self.run_dir: Optional[str] = None
        self.reason = ""
        self.job: Optional[Job] = None
        self.clicked.connect(self.open_logs)
        self.set_run(None)

    def set_run(self, run_dir: Optional[str]) -> None:
        """Point the button at a run folder (None: no run) and say whether it can open it."""
        self.run_dir = run_dir or None
        self.refresh()

    def refresh(self) -> None:
        """Re-check (cheap: a package lookup and a folder listing); logs appear as a run trains."""
        self.reason = unavailable_reason(self.run_dir) if self.run_dir else self.no_run_text
        starting = self.job is not None and self.job.is_running()
        self.setEnabled(not self.reason and not starting)
        self.setText("Starting TensorBoard…" if starting else LABEL)
        self.setToolTip(plain_tip(self.reason) or READY_TIP)  # the reason may name the run

    def open_logs(self) -> Optional[Job]:
        """Start (or reuse) the run's TensorBoard in a worker; the browser opens when ready."""
        self.refresh()
        if self.reason or (self.job is not None and self.job.is_running()):
            return None
        job = Job(open_tensorboard, self.run_dir, name="Starting TensorBoard", parent=self)
        job.finished.connect(self._on_ready)
        job.failed.connect(lambda message, _tb: self.failed.emit(message))
        job.done.connect(self.refresh)
        self.job = job
        job.start()
        self.refresh()
        return job

    def _on_ready(self, url: str) -> None:
        shown = bool(QDesktopServices.openUrl(QUrl(url)))
        self.opened.emit(url, shown)

    def shutdown(self) -> None:
        """Stop waiting for a server that is still starting (that start ends its process)."""
        if self.job is not None and self.job.is_running():
            self.job.cancel()
            self.job.wait()


def opened_message(url: str, shown: bool) -> str:
    """What the page says after a click: where TensorBoard is, and that it is local."""
    if shown:
        return (f"TensorBoard opened in your browser at {url} (served from this computer "
                "only; it stops when the app closes).")
    return (f"TensorBoard is running at {url}, but no browser could be opened: copy the "
            "address into one.")
