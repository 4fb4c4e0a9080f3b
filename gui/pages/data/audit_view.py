"""The Data page's "Check data" tab: find likely wrong labels, near-copies and outliers, fix them.

"Check data" runs :func:`core.audit.audit.run_audit` as the window's long job
(:func:`gui.pages.data.audit_jobs.audit_job`) with the features training uses,
so the feature store computes them once for both; progress shows here and in
the status bar, Cancel stops it (features computed so far are kept).  The
findings fill four sections: likely wrong labels and outliers
(:mod:`~gui.pages.data.audit_findings`), near-copy groups
(:mod:`~gui.pages.data.audit_groups`) and the map (:mod:`~gui.pages.data.audit_map`).

Decisions become fixes applied in a worker by :class:`core.audit.fixes.FixJournal`:
renames inside the data folder, journalled, never a deletion.  Each decision is
one batch, so "Undo last fix" reverses exactly the last one -- from the journal
on disk, so it works after a restart too.  A file changed since the check is
refused with the journal's reason, shown in the page's banner.  After files
moved, ``files_changed`` asks the page to scan the folder again.
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from gui.jobs import Job
from gui.pages.data.audit_findings import (EXAMPLES, Finding, FindingsPanel, summary_text,
                                           typical_images)
from gui.pages.data.audit_groups import GroupsPanel
from gui.pages.data.audit_stale import changed_since_check
from gui.pages.data.fix_marks import FixMarks
from gui.widgets.compact import WrapLabel
from gui.journal_undo import nothing_back_text, undo_job, undo_tip, undone_text, waiting_tip
from gui.pages.data.audit_jobs import audit_job, fix_job, set_aside_job
from gui.pages.data.audit_map import MapPanel

_STAGE_WORDS = {"scan": "reading the folder", "features": "computing features",
                "duplicates": "looking for near-copies", "labels": "checking the labels",
                "outliers": "looking for outliers"}


#: The findings tabs' least height: side by side (wide), or the comparison below the
#: suspects (narrow; the page scrolls to it).
SECTIONS_HEIGHT = {True: 300, False: 560}
#: The tabs, in order (a check adds its counts to the first three).
SECTION_TITLES = ("Likely wrong labels", "Near-copies", "Outliers", "Map")
INTRO = ("Look for images filed under the wrong class, near-copies of one picture and images "
         "that belong to no class. Nothing in the folder changes until you decide.")


class AuditView(FixMarks, QWidget):
    """Runs the data check, shows what it found, applies and undoes the user's fixes."""

    files_changed = Signal()        # fixes moved files: scan the folder again
    undone = Signal(object)         # FixOutcome of an undo made here
    message = Signal(str, str)  # the page's banner: text, "error"/"info"/"clear" (that text)
    checked = Signal(object)        # AuditOutcome of a finished check

    def __init__(self, state, runner, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.outcome = None
        self._failed = ""  # the last check's failure, taken off the banner by a success
        self.root = ""
        self.job: Optional[Job] = None
        self.small_jobs: list[Job] = []
        self._queue: list[tuple] = []  # fixes and undos waiting for the one before them
        self._changing: Optional[Job] = None  # the fix or undo running (one at a time)
        self._closed = False
        self.pending_undo = 0
        self._damaged_told = ("", "")  # (folder, journal warning) last shown
        self._batches: dict[str, tuple] = {}  # batch -> (paths, group or -1, their before)
        self._fixed: set[str] = set()  # paths its fixes moved, before and after
        self._moved_to: dict[str, tuple[str, str]] = {}  # path found -> (place now, mark)
        self._typical: dict[str, list[str]] = {}
        lay = QVBoxLayout(self)
        lay.addLayout(self._build_top_row())
        self.summary = WrapLabel(INTRO)  # its lines at 900 px pushed the tabs' bottom (the
        self.summary.setTextFormat(Qt.PlainText)  # buttons) out of the page; names weights
        lay.addWidget(self.summary)
        self.sections = QTabWidget()
        self.labels_panel = FindingsPanel(with_classes=True, kind="labels")
        self.groups_panel = GroupsPanel()
        self.outliers_panel = FindingsPanel(with_classes=False, kind="outliers")
        self.map_panel = MapPanel()
        for panel, title in zip((self.labels_panel, self.groups_panel, self.outliers_panel,
                                 self.map_panel), SECTION_TITLES):
            self.sections.addTab(panel, title)
        for panel in (self.labels_panel, self.outliers_panel):  # K remembered, or why not
            panel.decided.connect(lambda d: self.apply(d, -1))
            panel.problem.connect(lambda text: self.message.emit(text, "error"))
        self.groups_panel.problem.connect(lambda text: self.message.emit(text, "error"))
        self.groups_panel.decided.connect(
            lambda d: self.apply(d, self.groups_panel.list.currentRow()))
        self.sections.setEnabled(False)
        self.sections.setMinimumHeight(SECTIONS_HEIGHT[True])
        lay.addWidget(self.sections, 1)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        wide = event.size().width() >= FindingsPanel.SIDE_BY_SIDE_FROM + 20  # the tab frame
        if self.sections.minimumHeight() != SECTIONS_HEIGHT[wide]:
            self.sections.setMinimumHeight(SECTIONS_HEIGHT[wide])

    def _build_top_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.check_button = QPushButton("Check data")
        self.check_button.setObjectName("primary")
        self.check_button.setToolTip("Find likely wrong labels, near-copies and outliers with "
                                     "the backbone chosen on the Model page (changes nothing)")
        self.check_button.clicked.connect(self.start_check)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(lambda: self.job is not None and self.job.cancel())
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.undo_button = QPushButton("Undo last fix")
        self.undo_button.setToolTip("Put back the files of the last fix made in this folder "
                                    "(also after a restart: the folder keeps a journal)")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo)
        for w in (self.check_button, self.cancel_button, self.progress):
            row.addWidget(w)
        row.addWidget(self.status, 1)
        row.addWidget(self.undo_button)
        return row

    # -- the folder ------------------------------------------------------------------
    def set_folder(self, root: Optional[str], report=None) -> None:
        """The page scanned ``root`` (None: no folder): forget another folder's findings, and
        say when this folder's changed since they were found (``report``: the new scan)."""
        root = os.path.abspath(root) if root else ""
        if root != self.root:
            self.root, self.outcome = root, None
            self._forget_fixes()
            self._clear()
        elif self.outcome is not None and report is not None:
            stale = changed_since_check(self.outcome.result, report, self._fixed)
            self.status.setText(stale or self.status.text())
        elif self.outcome is None and self._failed:  # "did not finish (see the message
            self.status.setText("")  # above)": the scan took that message (a review)
        self.check_button.setEnabled(bool(root) and not self.runner.is_busy())
        self.refresh_undo()

    def _clear(self) -> None:
        """No findings shown: the summary, the tab counts and the map of another folder's
        (or a failed) check go with its lists."""
        self.sections.setEnabled(False)
        self.labels_panel.set_findings([], "")
        self.outliers_panel.set_findings([], "")
        self.groups_panel.set_groups([], self.root, "")
        self.map_panel.clear()
        self.summary.setText(INTRO)
        for i, title in enumerate(SECTION_TITLES):
            self.sections.setTabText(i, title)
        self.status.setText("")

    def _on_pending(self, state, known=()) -> None:
        """``state``: (batches that can be undone, a warning about the journal or "", what
        the next Undo takes back[, their ids]); ``known``: fixes marked before it was read."""
        count, damaged, last = state[:3]
        self._drop_undone(known, state[3] if len(state) > 3 else known)
        self.pending_undo = int(count)
        self.undo_button.setEnabled(self.pending_undo > 0 and self._changing is None
                                    and self.job is None)
        self.undo_button.setText(f"Undo last fix ({count} left)" if count else "Undo last fix")
        self.undo_button.setToolTip(waiting_tip(self.job.name) if self.job is not None
                                    else undo_tip(last))
        if damaged and self._damaged_told != (self.root, damaged):  # once, not at every fix
            self.message.emit(damaged, "error")
        self._damaged_told = (self.root, damaged)

    def _small(self, fn, *args, on_done, one_at_a_time: bool = False) -> Optional[Job]:
        """A short job of its own (the journal, fixes, undo), beside the window's long job.

        ``one_at_a_time``: a change to the folder, queued behind the one running (a fix
        or an Undo holds the folder's change lock; three quick presses of S ran side by
        side and the second was refused, though its image was already passed over).
        None after :meth:`shutdown`: no thread may start as the window closes."""
        if self._closed:
            return None
        if one_at_a_time and self._changing is not None:
            self._queue.append((fn, args, on_done))
            return None
        job = Job(fn, *args, name=getattr(fn, "__name__", "job"), parent=self)
        job.finished.connect(on_done)
        job.failed.connect(lambda msg, _tb: self.message.emit(msg, "error"))
        job.done.connect(lambda j=job: self.small_jobs.remove(j))
        if one_at_a_time:
            self._changing = job
            self.undo_button.setEnabled(False)
            job.done.connect(self._next_change)
        self.small_jobs.append(job)
        job.start()
        return job

    def _next_change(self) -> None:
        """The running fix or undo ended (done, failed or refused): start the next queued
        one, or read the journal again (a failed Undo left the button disabled)."""
        self._changing = None
        if self._queue:
            fn, args, on_done = self._queue.pop(0)
            self._small(fn, *args, on_done=on_done, one_at_a_time=True)
        else:
            self.refresh_undo()

    # -- checking ----------------------------------------------------------------------
    def start_check(self) -> bool:
        """Run the check of the scanned folder as the long job; False when it cannot start."""
        if not self.root:
            self.message.emit("Choose an image folder first.", "error")
            return False
        m = self.state.config.model
        job = self.runner.start(audit_job, self.root, m.backbone, m.weights,
                                int(m.image_size), name="Checking the data")
        if job is None:
            self.message.emit("Please wait: another job is still running (or cancel it in "
                              "the status bar).", "error")
            return False
        self.job = job
        # no fix or Undo while the check runs: its findings would list a file moved meanwhile
        # unmarked, and count the app's own fix as a change made since (a review)
        self.sections.setEnabled(False)
        self.undo_button.setEnabled(False)
        self.undo_button.setToolTip(waiting_tip(job.name))
        self.check_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Starting…")
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_checked)
        job.failed.connect(self._on_check_failed)
        job.cancelled.connect(lambda: self.status.setText(
            "Check cancelled; the features computed so far are kept for the next check."))
        job.done.connect(self._on_check_done)
        return True

    def _on_progress(self, event) -> None:
        stage = getattr(event, "stage", None)
        if stage in _STAGE_WORDS and hasattr(event, "index"):  # a FileSkipped has a stage too
            self.status.setText(f"Step {event.index} of {event.count}: {_STAGE_WORDS[stage]}")
        elif hasattr(event, "done") and hasattr(event, "total"):
            self.progress.setRange(0, max(0, int(event.total)))
            self.progress.setValue(int(event.done))
            if event.message:
                self.progress.setFormat(f"{event.message} %v/%m" if event.total else "")

    def _on_check_failed(self, message: str, _tb: str = "") -> None:
        """The check did not run (the folder gone, a weights file refused): the last check's
        findings may describe files that are not there any more, so they go too."""
        self.outcome = None
        self._forget_fixes()
        self._clear()
        self.status.setText("The check did not finish (see the message above).")
        self._failed = message
        self.message.emit(message, "error")

    def _on_check_done(self) -> None:
        self.job = None
        self.progress.hide()
        self.cancel_button.setEnabled(False)
        self.check_button.setEnabled(bool(self.root))
        self.sections.setEnabled(self.outcome is not None)  # a cancelled check's: the last
        self.refresh_undo()

    def _on_checked(self, outcome) -> None:
        self.outcome = outcome
        # the last check's failure ("cannot download ImageNet weights") stayed above the
        # results of the check that succeeded after it
        self.message.emit(self._failed, "clear")
        self._forget_fixes()
        r = outcome.result
        self.root = os.path.abspath(r.root)
        self._typical = typical_images(r)
        self.labels_panel.set_findings(
            [Finding(i.path, i.given, i.suggested, i.score,
                     f"{i.given} → {i.suggested}", i.why) for i in r.label_issues],
            "No likely wrong labels." + (" " + " ".join(r.notes) if r.notes else ""),
            self.examples, root=self.root)
        self.groups_panel.set_groups(r.near_duplicates, self.root, "No near-copies found.")
        class_of = dict(zip(r.paths, r.image_classes))  # one lookup table, not a search each
        self.outliers_panel.set_findings(
            [Finding(o.path, class_of.get(o.path, ""), caption=f"{class_of.get(o.path, '')} · "
                     f"{o.score:.1f}") for o in r.outliers], "No outliers.", root=self.root)
        self.map_panel.set_points(outcome.xy, r.paths, r.image_classes, r.classes, self.root)
        self.sections.setEnabled(True)
        self._titles()
        seconds = r.timings.get("total", 0.0)
        self.status.setText(f"Checked {len(r.paths)} images in {seconds:.0f} s "
                            f"(features computed for {r.features_computed}).")
        self.summary.setText(summary_text(r) + " " + outcome.model_note)
        self.state.set_near_copies(r.root, [list(g.paths) for g in r.near_duplicates])
        self.checked.emit(outcome)

    def _titles(self) -> None:
        r = self.outcome.result
        counts = (len(r.label_issues), len(r.near_duplicates), len(r.outliers))
        for i, (title, n) in enumerate(zip(SECTION_TITLES, counts)):
            self.sections.setTabText(i, f"{title} ({n})")

    def examples(self, class_name: str, exclude: str) -> list[str]:
        """Typical images of ``class_name`` (the check's surest), not ``exclude``, not moved."""
        out = [p for p in self._typical.get(class_name, [])
               if p != exclude and not self.labels_panel.model.mark(p)]
        return out[:EXAMPLES]

    # -- fixing --------------------------------------------------------------------------
    def apply(self, decisions: list, group: int = -1) -> Optional[Job]:
        """Apply ``decisions`` [(path, action, target)] as one batch in a worker."""
        if self.outcome is None or not decisions:
            return None
        note = f"{len(decisions)} fix(es) from the data check"
        now, back, stamps = self._follow(list(decisions), self.outcome.result.stamps)
        return self._small(fix_job, self.root, now, stamps, note,
                           on_done=lambda out, d=list(decisions), g=group, b=back:
                           self._on_fixed(out, d, g, b), one_at_a_time=True)

    def _on_fixed(self, outcome, decisions: list, group: int, back=None) -> None:
        """``back``: {place now: path found} of images a fix before had moved."""
        target = {os.path.abspath(p): (a, t) for p, a, t in decisions}
        moved, before = [], {}
        for m in outcome.moved:
            src, dst = self._abs(m.src), self._abs(m.dst)
            path = (back or {}).get(src, src)
            action, cls = target.get(path, ("set_aside", ""))
            before[path] = self._moved(path, dst, f"→ {cls}" if action == "move"
                                       else "set aside")
            moved.append(path)
            self._fixed.update((path, src, dst))
        if moved:
            self._batches[outcome.batch] = (moved, group, before)
            if group >= 0:
                self.groups_panel.mark_group(group, f"✓ kept one, {len(moved)} set aside")
                self.groups_panel.advance(group)
            self.files_changed.emit()  # first: the rescan clears the banner
        if outcome.refused:
            lines = [f"{self._rel(p)}: {why}" for p, why in outcome.refused]
            self.message.emit("Not changed — " + "; ".join(lines), "error")

    def set_aside_file(self, path: str) -> Optional[Job]:
        """A file the scan skipped (the Problems tab's "Set aside"), as one undoable fix."""
        if not self.root:
            return None
        return self._small(set_aside_job, self.root, path, on_done=lambda out, p=path:
                           self._on_fixed(out, [(p, "set_aside", "")], -1), one_at_a_time=True)

    def undo(self) -> Optional[Job]:
        if not self.root:
            return None
        self.undo_button.setEnabled(False)
        return self._small(undo_job, self.root, on_done=self._on_undone, one_at_a_time=True)

    def _on_undone(self, outcome) -> None:
        if not outcome.batch:
            self.message.emit("Nothing to undo in this folder.", "info")
        self.forget_batch(outcome)
        self.undone.emit(outcome)
        if outcome.moved:
            self.files_changed.emit()  # first: the rescan clears the banner
            self.message.emit(undone_text(outcome), "info")
        elif outcome.batch and not outcome.refused:
            self.message.emit(nothing_back_text(outcome), "info")
        if outcome.refused:
            lines = [f"{p}: {why}" for p, why in outcome.refused]
            self.message.emit("Could not put back — " + "; ".join(lines), "error")

    def _abs(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def _rel(self, path: str) -> str:
        try:
            return os.path.relpath(path, self.root).replace(os.sep, "/")
        except ValueError:
            return path

    def busy(self) -> bool:
        return self.job is not None or bool(self.small_jobs) or bool(self._queue)

    def shutdown(self) -> None:
        for model in (self.labels_panel.model, self.outliers_panel.model,
                      self.groups_panel.model, self.map_panel.thumbs):
            model.shutdown()
        self._closed = True
        for job in list(self.small_jobs):
            job.wait()
        queued, self._queue = self._queue, []  # decided by the user: applied, not dropped
        for fn, args, _on_done in queued:
            with suppress(Exception):  # the window is closing; the journal has what was done
                fn(*args)

