"""The app's one source of truth: a StudioConfig plus what the session has found.

Pages never keep copies of settings.  They read ``state.config`` and change it
only through :meth:`AppState.set` (a dotted path such as ``"data.val_split"``),
which emits ``config_changed(path)`` so every other view of that setting
follows, and marks the project as modified.  Loading a project swaps the whole
config and emits ``config_changed("")`` (meaning: everything).

Pages refresh their widgets from ``config_changed`` with signals blocked, so a
refresh never writes back and there are no loops.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Optional

from PySide6.QtCore import QObject, Signal

from core.config import StudioConfig
from core.project import Project


class AppState(QObject):
    """Config + current dataset report + current run/model, with change signals."""

    config_changed = Signal(str)  # dotted path that changed; "" = all of it
    dataset_changed = Signal(object)  # DatasetReport or None
    run_changed = Signal(object)  # run folder (str) or None
    model_changed = Signal(object)  # model file (str) or None
    dirty_changed = Signal(bool)
    project_path_changed = Signal(object)  # str or None
    near_copies_changed = Signal()  # the near-copy groups of the data folder became known
    project_opening = Signal()  # a project is being opened or a new one started (before
    # its settings arrive: what the pages showed for the last project goes now)

    def __init__(self, config: Optional[StudioConfig] = None,
                 parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.config: StudioConfig = config or StudioConfig()
        self.dataset_report: Any = None
        self.runs: list[str] = []
        self.run_dir: Optional[str] = None
        self.last_model: Optional[str] = None
        self.unknown_thresholds: dict[str, Optional[float]] = {}  # model path -> threshold
        self.project_path: Optional[str] = None
        # (data folder, near-copy groups of 2+ paths) from that folder's last check
        self.near_copies: tuple[str, list[list[str]]] = ("", [])
        self._split_memo: Any = None  # (report, (val_split, seed), groups, split)
        self._dirty = False
        self._changes = 0  # how many changes made the project differ from its file
        self._clean_before: dict[str, int] = {}  # a started run -> _changes it alone made
        #: The project as last opened or saved (None: unlike any file, as one whose reading
        #: changed a setting): a setting changed and changed back is no change.
        self._saved: Optional[dict] = self.to_project().to_dict()

    # -- settings ---------------------------------------------------------
    def get(self, path: str) -> Any:
        obj: Any = self.config
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def set(self, path: str, value: Any) -> None:
        """Set one setting by dotted path; emits only when the value really changes."""
        *parents, leaf = path.split(".")
        obj: Any = self.config
        for part in parents:
            obj = getattr(obj, part)
        if not hasattr(obj, leaf):
            raise AttributeError(f"no setting {path!r}")
        if getattr(obj, leaf) == value:
            return
        setattr(obj, leaf, copy.deepcopy(value))
        self._set_dirty(self._saved is None or self.to_project().to_dict() != self._saved)
        self.config_changed.emit(path)

    def replace_config(self, config: StudioConfig, dirty: bool = True) -> None:
        self.config = config
        self._set_dirty(dirty)
        self.config_changed.emit("")

    # -- session facts ------------------------------------------------------
    def set_dataset_report(self, report: Any) -> None:
        self.dataset_report = report
        self.dataset_changed.emit(report)

    def set_near_copies(self, root: str, groups: list[list[str]]) -> None:
        """The near-copy groups the last data check found in ``root`` (paths as scanned)."""
        self.near_copies = (root, [list(g) for g in groups])
        self.near_copies_changed.emit()

    def planned_split(self, report: Any = None) -> Any:
        """The split a run started now would make of ``report`` (default: the scanned one).

        With ``data.keep_duplicates_together`` the run finds the near-copy groups
        at its start; once a data check has found them here, the split below keeps
        them together too, so its numbers are the run's.  None before a scan.
        """
        report = report if report is not None else self.dataset_report
        if report is None or not getattr(report, "records", None):
            return None
        from core.data.dataset import split_dataset  # loaded by the scan's worker already

        data = self.config.data
        root, groups = self.near_copies
        use = data.keep_duplicates_together and root == getattr(report, "root", None)
        groups = groups if use else None
        settings = (data.val_split, data.seed)
        memo = self._split_memo  # one split per change: every page asks on every click, and
        if memo is not None and memo[0] is report and memo[1] == settings \
                and memo[2] is groups:  # it takes a second at 100,000 images (UI thread)
            return memo[3]
        split = split_dataset(report, data.val_split, data.seed, groups=groups)
        self._split_memo = (report, settings, groups, split)
        return split

    def set_run(self, run_dir: Optional[str]) -> None:
        self.run_dir = run_dir
        if run_dir and run_dir not in self.runs:
            self.runs.append(run_dir)
            self._set_dirty(True)
        self.run_changed.emit(run_dir)

    def add_run(self, run_dir: str) -> None:
        """A run that started: in the project's list at once, so a project saved while it
        trains names it (after a crash it was nowhere but the Runs page), not yet current."""
        if run_dir not in self.runs:
            was_clean = not self._dirty
            self.runs.append(run_dir)
            self._set_dirty(True)
            if was_clean:
                self._clean_before[run_dir] = self._changes

    def settle_run(self, run_dir: Optional[str], kept: bool) -> None:
        """A run that ended: the current run when it has something to keep or resume (an
        empty run is no current run), else out of the project's list again."""
        alone = self._clean_before.pop(run_dir, None) == self._changes
        if run_dir and kept:
            self.set_run(run_dir)
        elif run_dir in self.runs and run_dir != self.run_dir:
            self.runs.remove(run_dir)
            if alone:  # the empty run was the only change: the project is as saved again
                self._set_dirty(False)
            else:
                self._set_dirty(True)

    def forget_run(self, run_dir: str) -> None:
        """A deleted run: out of the project's list (the saved project went on naming the
        deleted folder) and no longer the current run."""
        gone = os.path.realpath(run_dir)
        kept = [r for r in self.runs if os.path.realpath(r) != gone]
        if len(kept) != len(self.runs):
            self.runs = kept
            self._set_dirty(True)
        if self.run_dir and os.path.realpath(self.run_dir) == gone:
            self.set_run(None)

    def set_model(self, model_path: Optional[str]) -> None:
        if model_path != self.last_model:
            self.last_model = model_path
            self._set_dirty(True)
        self.model_changed.emit(model_path)

    def model_on_disk(self) -> Optional[str]:
        """The app's current model: the last one opened, else the current run; None when
        neither is named or on disk (Predict and Sort answer with it)."""
        for p in (self.last_model, self.run_dir):
            if p and os.path.exists(p):
                return p
        return None

    def model_gone(self) -> str:
        """That the model the project names is not on disk any more (deleted, moved, a drive
        not connected), in a sentence ("" when it is there, or none is named): Predict,
        Export and Sort say so rather than "No model yet"."""
        from core.runs.unfinished import gone_text

        gone = next((p for p in (self.last_model, self.run_dir) if p), None)
        return gone_text(gone) if gone and self.model_on_disk() is None else ""

    def set_unknown_threshold(self, model_path: str, threshold: Optional[float]) -> None:
        """The "unknown" threshold chosen for ``model_path`` (kept in the project file)."""
        if self.unknown_thresholds.get(model_path, ...) != threshold:
            self.unknown_thresholds[model_path] = threshold
            self._set_dirty(True)

    # -- project ------------------------------------------------------------
    def to_project(self) -> Project:
        return Project(config=self.config.copy(), runs=list(self.runs), last_model=self.last_model,
                       unknown_thresholds=dict(self.unknown_thresholds))

    def load_project(self, project: Project, path: Optional[str], changed: bool = False) -> None:
        """Show ``project`` (read from ``path``); ``changed``: reading it changed a setting
        (an older file's number over today's limit), so it differs from the file."""
        self.project_opening.emit()
        self.unknown_thresholds = dict(project.unknown_thresholds)
        self.runs = list(project.runs)
        self.last_model = project.last_model
        self.run_dir = self._run_of_model() or (self.runs[-1] if self.runs else None)
        self._saved = None  # taken as the settings arrive, unless reading changed them
        self.set_dataset_report(None)
        self.set_project_path(path)
        self.replace_config(project.config, dirty=changed)
        self.run_changed.emit(self.run_dir)
        self.model_changed.emit(self.last_model)

    def _run_of_model(self) -> Optional[str]:
        """The project's run that holds its last model: after reopening, Evaluate and Runs
        showed the newest run while Predict, Export and Network used the model opened."""
        from core.path_names import is_within

        model = os.path.abspath(self.last_model) if self.last_model else ""
        return next((r for r in reversed(self.runs)
                     if model and is_within(model, os.path.abspath(r))), None)

    def set_project_path(self, path: Optional[str]) -> None:
        self.project_path = path
        self.project_path_changed.emit(path)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_saved(self) -> None:
        self._set_dirty(False)

    def _set_dirty(self, dirty: bool) -> None:
        self._changes = self._changes + 1 if dirty else 0
        if not dirty:
            self._clean_before.clear()
            self._saved = self.to_project().to_dict()
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)


def touches(changed: str, section: str) -> bool:
    """Whether a ``config_changed(changed)`` concerns ``section`` (e.g. "model.freeze").

    True for "" (everything), the section itself, anything inside it, and any
    enclosing path (replacing "model" replaces "model.freeze").
    """
    return (changed == "" or changed == section or changed.startswith(section + ".")
            or section.startswith(changed + "."))
