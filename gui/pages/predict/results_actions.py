"""What the user does with the Predict page's results: save them as CSV (a name
typed without its ending gets ".csv").

A mixin of :class:`gui.pages.predict.page.PredictPage` (``self`` is the page), kept
apart so the page's module holds its behaviour within its size.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog

from gui.pages.predict.jobs import save_csv


class ResultsActions:
    """The page's results actions (mixed into the page)."""

    def choose_csv(self) -> None:
        start = os.path.join(self._start_dir(), "predictions.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Save the predictions as CSV", start,
                                              "CSV files (*.csv);;All files (*)")
        if not path:
            return
        from core.cli.commands.predict import CSV_SUFFIXES

        if os.path.splitext(path)[1].lower() not in CSV_SUFFIXES:
            # "predictions" typed in the dialog (Qt's own adds no ending) was refused for
            # its name and the dialog had to be opened again (a review): it gets ".csv"
            path = path.rstrip(".") + ".csv"
            if os.path.exists(path) and not self._replace_ok(path):
                return
        self.export_csv(path)

    def _replace_ok(self, path: str) -> bool:
        """Ask before replacing ``path``: the dialog asked about the name as typed, not the
        one its added ending makes."""
        from PySide6.QtWidgets import QMessageBox

        from gui import plain_text

        answer = plain_text.question(self, "Replace the file?",
                                     f"{path} already exists. Replace it with these "
                                     "predictions?", default=QMessageBox.No)
        return answer == QMessageBox.Yes

    def export_csv(self, path: str) -> bool:
        """Write the results with the CLI's columns (atomically); False on failure."""
        rows = self.cards.predictions()
        if not rows:
            self.show_error("Nothing to save yet: add some images first.")
            return False
        why = save_csv(path, rows, self.top_k())
        if why:
            self.show_error(why)
            return False
        self.show_info(f"Saved {len(rows)} rows to {path}")
        return True
