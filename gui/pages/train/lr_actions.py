"""The Train page's learning-rate finder: run the range test as the long job, show its answer.

A mixin of :class:`gui.pages.train.page.TrainPage` (it uses the page's ``state``,
``runner``, ``panel``, messages and ``_write``); the dialog is
:mod:`gui.pages.train.lr_finder_view`.
"""

from __future__ import annotations

from typing import Optional

from gui.jobs import Job
from gui.pages.train.lr_finder_view import LearningRateFinderDialog, find_lr_job


class LearningRateActions:
    def find_learning_rate(self) -> Optional[Job]:
        """Run the range test on the current settings as the long job; show its curve."""
        chosen = self.settings_and_scan()
        if chosen is None:
            return None
        cfg, report = chosen
        job = self.runner.start(find_lr_job, cfg, report, name="Finding the learning rate")
        if job is None:
            self.show_error("Please wait: another job is still running.")
            return None
        self.panel.new_run()
        self.panel.add_log("finding the learning rate (range test on the new head)")
        job.progress.connect(self.panel.show_event)
        job.finished.connect(self._show_lr_finding)
        job.failed.connect(lambda message, _tb: (self.panel.set_progress(0, 1, "Failed"),
                                                 self.show_error(message)))
        job.cancelled.connect(lambda: (self.panel.set_progress(0, 1, "Stopped"),
                                       self.status_label.setText("Stopped; no rate proposed.")))
        job.done.connect(self._update_buttons)
        job.cancel_requested.connect(self._on_stopping)
        self.job = self.finder_job = job  # the page's long job: Stop stops it too
        self._update_buttons()
        return job

    def _show_lr_finding(self, result) -> None:
        self.panel.set_progress(1, 1, "No rate to propose" if result.flat else
                                f"Proposed learning rate {result.proposal:.2g}")
        self.status_label.setText(result.describe()[:1].upper() + result.describe()[1:] + ".")
        self.lr_dialog = LearningRateFinderDialog(result, self)
        self.lr_dialog.use_rate.connect(lambda rate: self._write("learning_rate", rate))
        self.lr_dialog.show()
