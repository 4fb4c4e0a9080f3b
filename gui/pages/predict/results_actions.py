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
        from gui.save_names import with_ending

        # "predictions" typed in the dialog (Qt's own adds no ending) was refused for its
        # name and the dialog had to be opened again (a review): it gets ".csv"
        path = with_ending(self, path, CSV_SUFFIXES, ".csv", "these predictions")
        if path:
            self.export_csv(path)

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
