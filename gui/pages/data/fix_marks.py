"""The Check data tab's marks of its own fixes ("set aside", "→ class", "kept one"), and
their end when the fix is undone: here, on the Sort page, or outside the window.

An Undo made by ``audit --undo``, ``label --undo`` or another window left the mark, even
after Scan again, and K/M/S passed over the image until a new check (a review): each
reading of the journal (:meth:`refresh_undo`) drops the marks of batches no longer in it.
"""

from __future__ import annotations

from typing import Iterable


class FixMarks:
    """Mixed into :class:`gui.pages.data.audit_view.AuditView` (its panels, ``_small``)."""

    def refresh_undo(self) -> None:
        """Read the journal: the Undo button's state, and which fixes are still pending."""
        if self.root:  # an answer about a folder left meanwhile is not this folder's
            from gui.journal_undo import pending_job

            known = set(self._batches)  # journalled before this read starts
            self._small(pending_job, self.root, True, on_done=lambda state, root=self.root,
                        k=known: root == self.root and self._on_pending(state, k))
        else:
            self._on_pending((0, "", ""))

    def _drop_undone(self, known: Iterable[str], pending: Iterable[str]) -> None:
        """Marks of the fixes in ``known`` that the journal no longer has pending go."""
        for batch in set(known) - set(pending):
            self._unmark(batch)

    def forget_batch(self, outcome) -> None:
        """An undone batch, undone here or on the Sort page (one journal): if it was one of
        these fixes, its marks ("set aside", "kept one") go."""
        self._unmark(outcome.batch)
        self.refresh_undo()

    def _unmark(self, batch: str) -> None:
        paths, group = self._batches.pop(batch, ([], -1))
        for path in paths:
            self._mark(path, "")
        if group >= 0:
            self.groups_panel.mark_group(group, "")

    def _forget_fixes(self) -> None:
        """A new check, a failed one or another folder: the marks of the fixes since the last
        check go (a stale "set aside" on a copy Undo had put back made "keep one" leave it)."""
        self._batches, self._fixed = {}, set()
        for panel in (self.labels_panel, self.outliers_panel, self.groups_panel):
            panel.model.clear_marks()

    def _mark(self, path: str, text: str) -> None:
        for panel in (self.labels_panel, self.outliers_panel, self.groups_panel):
            panel.mark(path, text)
