"""The window's project handling: new, open, save, save as, "save the changes first?".

A mixin of :class:`gui.main_window.MainWindow`: it uses the window's
``state`` (:class:`gui.state.AppState`), its status bar and its "Open recent"
menu, and keeps the title ("name[*] — Fine-Tune Studio") in step with the
project's path and unsaved changes.  Files are read and written by
:mod:`core.project`; recent projects are kept in QSettings (:mod:`gui.recent`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.errors import UserError
from core.fsutil import file_stamp
from core.path_names import same_path
from core.write_errors import cannot_write
from core.project import (PROJECT_SUFFIX, Project, is_project_path, load_project,
                          save_project)
from gui import plain_text, recent
from gui.save_names import replace_ok

PROJECT_FILTER = f"Fine-Tune Studio projects (*{PROJECT_SUFFIX});;All files (*)"


class ProjectFiles:
    """Project actions of the main window (mixed into it; ``self`` is the window)."""

    def new_project(self) -> bool:
        if self._refused_while_busy("start a new project"):
            return False
        if not self.unkept_work_ok("Start a new project") or not self.maybe_save():
            return False
        self.state.load_project(Project(), None)
        self._project_stamp = None
        self.show_page(0)
        return True

    def open_project(self, path: Optional[str] = None) -> bool:
        """Open ``path`` (or ask for one); False when cancelled, refused while a job runs
        (its result would land in the other project), or the file is unusable."""
        if self._refused_while_busy("open another project"):
            return False
        # A project named already (Open recent, a drop) that cannot be opened is said so at
        # once: "Save the changes first?" came before "project file not found" (a review).
        if path is not None and self._read_project(path) is None:
            return False
        if not self.unkept_work_ok("Open another project") or not self.maybe_save():
            return False
        if path is None:
            start = str(Path(self.state.project_path).parent) if self.state.project_path else ""
            path, _ = QFileDialog.getOpenFileName(self, "Open project", start, PROJECT_FILTER)
            if not path:
                return False
        project = self._read_project(path)  # again: saving may just have written it
        if project is None:
            return False
        note = project.config.migration_note  # numbers over today's limits, lowered
        self.state.load_project(project, os.path.abspath(path), changed=bool(note))
        self._project_stamp = file_stamp(path)
        recent.add_recent_project(path)
        self.statusBar().showMessage(f"Opened {path}", 5000)
        if note:  # said once; the project is marked modified (saving writes the new values)
            self._warn("Settings changed on opening", f"{note}. Save the project to keep "
                       "these values in it.")
        return True

    def _read_project(self, path: str) -> Optional[Project]:
        """The project in ``path``, or None after saying why it cannot be opened."""
        try:
            return load_project(path)
        except UserError as exc:  # dropped from Open recent only when it is gone: a newer
            if not os.path.exists(path):  # version's project opens after an update
                recent.remove_recent_project(os.path.abspath(path))
            self._warn("Cannot open the project", str(exc))
            return None

    def save_project(self) -> bool:
        target = self.project_target()
        return target is not None and self._save_to(target)

    def save_project_as(self, path: Optional[str] = None) -> bool:
        target = self.project_target(path, choose=True)
        return target is not None and self._save_to(target)

    def project_target(self, path: Optional[str] = None, choose: bool = False) -> Optional[str]:
        """Where a save goes, every question about it asked first (a file name for an
        untitled project, replacing another file, a file changed on disk); None when the
        user cancels.  Closing during training asks this before it stops the run."""
        if path is None and (choose or not self.state.project_path):
            start = self.state.project_path or str(Path.home() / f"my-project{PROJECT_SUFFIX}")
            path, _ = QFileDialog.getSaveFileName(self, "Save project as", start, PROJECT_FILTER)
            if not path:
                return None
        path = path or self.state.project_path
        # A project opened under another name (renamed.json) is saved to it: Save wrote
        # renamed.json.ftsproj and left the file opened with the old settings.
        if not is_project_path(path) and not same_path(path, self.state.project_path or ""):
            # The file dialog asked about replacing ``path`` itself, not the file it becomes.
            path += PROJECT_SUFFIX
            if os.path.isfile(path) and not same_path(self.state.project_path, path) \
                    and not replace_ok(self, path, "this project", "Replace the project?"):
                return None
        if os.path.isdir(path):  # it asked "Replace the project?" of a folder, then refused
            self._warn("Cannot save the project", f"{path} is a folder: give the project a "
                       "file name (File → Save project as).")
            return None
        if not self._replace_read_only(path):
            return None
        return path if self._replace_changed_file(path) else None

    def _replace_read_only(self, path: str) -> bool:
        """True unless ``path`` is a write-protected file (chmod a-w, Windows' read-only: a
        template, a shared reference set-up) and the user keeps it: the save replaced it
        without a word, as the folder allows."""
        try:
            protected = not os.stat(path).st_mode & 0o222 or not os.access(path, os.W_OK)
        except OSError:  # not there (yet): nothing to protect
            return True
        return not protected or plain_text.question(
            self, "The project file is read-only",
            f"{path} is write-protected. Replace it with this window's project anyway? (No "
            "keeps it as it is: save this one under another name with File → Save project "
            "as.)", QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes

    def _refused_while_busy(self, what: str) -> bool:
        """True (and says why) when a job runs: a run's result goes into the project that
        is open when it ends, so projects change only between jobs."""
        if not self.runner.is_busy():
            return False
        job = self.runner.current
        self._warn("Please wait", f"“{job.name}” is still running. Stop it (Cancel in the "
                                  f"status bar) or let it finish, then {what}.")
        return True

    def _save_to(self, path: str) -> bool:
        """Write the project to ``path`` (asked about already: :meth:`project_target`)."""
        try:
            written = save_project(self.state.to_project(), path)
        except (OSError, UserError) as exc:  # a place that takes no file comes as UserError
            text = str(exc if isinstance(exc, UserError) else cannot_write(Path(path), exc))
            if str(path) not in text:  # a disk-full error names the file itself: not twice
                text = f"{path}: {text}"
            if "choose" not in text.lower():  # core's message says what to do already
                text += ". Choose another folder with File → Save project as."
            self._warn("Cannot save the project", text)
            return False
        self.state.set_project_path(str(written))
        self._project_stamp = file_stamp(written)
        self.state.mark_saved()
        recent.add_recent_project(str(written))
        self.statusBar().showMessage(f"Saved {written}", 5000)
        return True

    def _replace_changed_file(self, path: str) -> bool:
        """True unless the project file was changed on disk since this window read or wrote
        it (another window, another machine on a shared drive) and the user keeps it: the
        last save won silently, and the other window's runs were gone from the project."""
        if not same_path(path, self.state.project_path or "") or \
                getattr(self, "_project_stamp", None) in (None, file_stamp(path)) or \
                not os.path.exists(path):
            return True
        return plain_text.question(
            self, "The project changed on disk",
            f"{path} was changed by another window or program since it was opened here. "
            "Replace it with this window's project? (No keeps that version: save this one "
            "under another name with File → Save project as.)",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to go on."""
        answer = self.save_answer()
        if answer == QMessageBox.Save:
            return self.save_project()
        return answer == QMessageBox.Discard

    def save_answer(self, job_running: bool = False) -> QMessageBox.StandardButton:
        """Save, Discard or Cancel for the unsaved changes (Discard when there are none).
        ``job_running``: asked before a job is stopped, whose result may change a saved
        project, so that Cancel still leaves the job running (it had been stopped already).
        A number typed in a box and not yet confirmed counts: closing the window with the
        title bar's ✕ dropped it without a question (no shortcut took it first)."""
        from gui.widgets.pending_edits import take_typed_number

        take_typed_number()
        if not (self.state.dirty or (job_running and self.state.project_path)):
            return QMessageBox.Discard
        if self.state.project_path:
            text = f"Save the changes to {Path(self.state.project_path).name} first?"
        else:  # "this project" to someone who never made one (a novice review)
            text = ("Save the data folder, model and settings chosen here as a project first? "
                    "A project reopens them all (File → Open recent); without one the window "
                    "starts empty next time. Trained runs are kept either way (Runs page).")
        return plain_text.question(
            self, "Unsaved changes", text,
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)

    def unkept_work_ok(self, action: str) -> bool:
        """True when no page holds work that ``action`` would lose, or the user lets it go
        (labels made on the Sort step and not added were lost without a question)."""
        lost = [text for page in self.pages if (text := page.unkept_work())]
        return not lost or plain_text.question(
            self, "Work not kept", " ".join(lost) + f"\n\n{action} anyway and lose it?",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No) == QMessageBox.Yes

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = recent.recent_projects()
        if not items:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for p in items:
            act = self.recent_menu.addAction(p.replace("&", "&&"))  # "R&D" showed as "RD"
            act.triggered.connect(lambda _c=False, p=p: self.open_project(p))

    def _update_title(self) -> None:
        name = Path(self.state.project_path).name if self.state.project_path else "Untitled"
        self.setWindowTitle(f"{name}[*] — Fine-Tune Studio")
        self.setWindowModified(self.state.dirty)

    def _warn(self, title: str, text: str) -> None:
        from core.shown import shown_text

        plain_text.warning(self, title, shown_text(text))  # Qt drops non-UTF-8 bytes
