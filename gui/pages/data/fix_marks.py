"""The Check data tab's marks of its own fixes ("set aside", "→ class", "kept one"), and
their end when the fix is undone: here, on the Sort page, or outside the window.

An Undo made by ``audit --undo``, ``label --undo`` or another window left the mark, even
after Scan again, and K/M/S passed over the image until a new check (a review): each
reading of the journal (:meth:`refresh_undo`) drops the marks of batches no longer in it.

An image moved to another class (M) is followed to its new place: set aside later (from
the Outliers tab, where a suspect may be listed too), the fix takes it from there, and
undoing that puts back the mark "→ class" (a review: it could not be set aside until the
next check).
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
        gone = set(known) - set(pending)
        for batch in reversed([b for b in self._batches if b in gone]):  # newest first:
            self._unmark(batch)  # each puts back the mark the one before left

    def forget_batch(self, outcome) -> None:
        """An undone batch, undone here or on the Sort page (one journal): if it was one of
        these fixes, its marks ("set aside", "kept one") go."""
        self._unmark(outcome.batch)
        self.refresh_undo()

    def _unmark(self, batch: str) -> None:
        paths, group, before = self._batches.pop(batch, ([], -1, {}))
        for path in paths:  # back to where (and as) it was before the batch
            was = before.get(path)
            if was:
                self._moved_to[path] = was
            else:
                self._moved_to.pop(path, None)
            self._mark(path, was[1] if was else "")
        if group >= 0:
            self.groups_panel.mark_group(group, "")

    def _follow(self, decisions: list, stamps: dict) -> tuple[list, dict, dict]:
        """``decisions`` about images as the check found them, for where they are now:
        (decisions, {place now: path found}, stamps with the places now)."""
        now, back, stamps = [], {}, dict(stamps)
        for path, action, target in decisions:
            place = self._moved_to.get(path, (path, ""))[0]
            if place != path:
                back[place] = path
                if path in stamps:  # the same bytes (a stamp is the content's)
                    stamps[place] = stamps[path]
            now.append((place, action, target))
        return now, back, stamps

    def _moved(self, path: str, place: str, mark: str) -> tuple:
        """``path`` (as the check found it) is now at ``place`` ("set aside": done with);
        what it was before, for an Undo of this fix."""
        before = self._moved_to.pop(path, None)
        if mark.startswith("→"):
            self._moved_to[path] = (place, mark)
        self._mark(path, mark)
        return before

    def _forget_fixes(self) -> None:
        """A new check, a failed one or another folder: the marks of the fixes since the last
        check go (a stale "set aside" on a copy Undo had put back made "keep one" leave it)."""
        self._batches, self._fixed, self._moved_to = {}, set(), {}
        for panel in (self.labels_panel, self.outliers_panel, self.groups_panel):
            panel.model.clear_marks()

    def _mark(self, path: str, text: str) -> None:
        for panel in (self.labels_panel, self.outliers_panel, self.groups_panel):
            panel.mark(path, text)
