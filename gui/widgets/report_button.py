"""The "Save report…" button of the Evaluate and Runs pages, for one run folder.

A report is what a user hands on: one self-contained HTML file (the same as
``python main.py report RUN --out FILE.html``), or a PDF laid out by Qt
(:mod:`gui.report_pdf`).  Gathering the run's figures reads thumbnails and
builds charts, and a PDF is laid out page by page, so the writing runs in its
own :class:`gui.jobs.Job` -- outside the window's one long-job slot, so a report
of one run can be saved while another trains.  The file is written atomically:
a failed save never leaves half a report where an earlier one was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from gui.jobs import Job
from gui.plain_text import plain_tip
from gui.report_pdf import REPORT_SUFFIXES, report_job

LABEL = "Save report…"
HTML_FILTER = "Web page, opens in any browser (*.html)"
PDF_FILTER = "PDF, laid out on A4 (*.pdf)"
READY_TIP = ("Save this run's report to hand on: data, settings, training curves, scores, "
             "confusion matrix, most confident mistakes, calibration and exports, in one "
             "HTML file (every picture inside it) or a PDF")


class ReportButton(QPushButton):
    """Saves ``run_dir``'s report; the page shows ``saved``/``failed`` in its banner."""

    saved = Signal(str)   # the file written
    failed = Signal(str)  # a message for the user

    def __init__(self, no_run_text: str = "Select a run first",
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(LABEL, parent)
        self.no_run_text = no_run_text
        self.run_dir: Optional[str] = None
        self.job: Optional[Job] = None
        self.clicked.connect(self.choose_and_save)
        self.set_run(None)

    def set_run(self, run_dir: Optional[str], why_not: str = "") -> None:
        """Point at a run folder (None: none, ``why_not`` says why) and refresh."""
        self.run_dir = run_dir if run_dir and os.path.isdir(run_dir) else None
        self._why_not = why_not or self.no_run_text
        self.refresh()

    def refresh(self) -> None:
        saving = self.job is not None and self.job.is_running()
        self.setEnabled(self.run_dir is not None and not saving)
        self.setText("Saving report…" if saving else LABEL)
        self.setToolTip(READY_TIP if self.run_dir else plain_tip(self._why_not))  # names a run

    def default_path(self) -> str:
        """Beside the run folder (not inside it: that is the app's), named after the run."""
        run = Path(self.run_dir or ".")
        return str(run.parent / f"{run.name}-report.html")

    def choose_and_save(self) -> Optional[Job]:
        """Ask where (HTML or PDF), then save there in a worker."""
        if self.run_dir is None:
            return None
        path, chosen = QFileDialog.getSaveFileName(self, "Save the run's report",
                                                   self.default_path(),
                                                   f"{HTML_FILTER};;{PDF_FILTER}")
        if not path:
            return None
        from gui.save_names import with_ending

        # the filter chosen says which kind; never "notes.txt"
        path = with_ending(self, path, REPORT_SUFFIXES,
                           ".pdf" if chosen == PDF_FILTER else ".html", "this report")
        return self.save_to(path) if path else None

    def save_to(self, path: str) -> Optional[Job]:
        """Write the report to ``path`` (``.pdf``: a PDF, ``.html``/``.htm``: HTML) in a worker.

        Any other name, or one of a run folder's own files, is refused (``failed``)
        as ``report --out`` refuses it, and nothing is written."""
        if self.run_dir is None or (self.job is not None and self.job.is_running()):
            return None
        job = Job(report_job, self.run_dir, path, name="Saving the report", parent=self)
        job.finished.connect(self.saved.emit)
        job.failed.connect(lambda message, _tb: self.failed.emit(failed_text(path, message)))
        job.done.connect(self.refresh)
        self.job = job
        job.start()
        self.refresh()
        return job


def failed_text(path: str, message: str) -> str:
    """The banner's words for a report not saved: the path once (a message that named it
    already read "Could not save the report to X: X is a file, …")."""
    if path in message:
        return f"Could not save the report: {message}"
    return f"Could not save the report to {path}: {message}"
