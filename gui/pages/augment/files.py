"""The Augment page's files: open an augmentation file, save the pipeline for albumentations.

A mixin of :class:`gui.pages.augment.page.AugmentPage` (``self`` is the page).  Open reads
whatever ``train --augment FILE`` reads (``core.data.augment_files.load_augment_file``: an
``A.save`` JSON file, our own augmentation JSON, a run's ``config.json`` or a project) and
makes it the page's augmentation as a preset would, keeping the augmentation seed the page
shows; a file that cannot be used is named in the page's banner with what to do, and the
page's augmentation stays as it was.  Save writes the pipeline as ``A.save`` does, at the
image size training will use, for anyone's ``A.load``.  Reading a file is quick (its size is
checked before it is read), so both run on the window's thread.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QFileDialog, QPushButton

from core.errors import UserError
from gui.pages.augment.jobs import preview_size

OPEN_FILTER = "Augmentation files (*.json *.ftsproj);;All files (*)"
SAVE_FILTER = "Albumentations JSON (*.json);;All files (*)"
OPEN_READS = "an A.save JSON file, a run's config.json or a project"


class AugmentFiles:
    """The page's Open… and Save as albumentations file… (mixed into the page)."""

    _files_dir: Optional[str] = None  # where the last file was opened or saved
    _file_error = ""  # the banner's refusal of the last Open or Save, cleared when one works

    def file_buttons(self) -> tuple[QPushButton, QPushButton]:
        """The page's Open file… and Save as albumentations file… buttons, connected."""
        open_button = QPushButton("Open file…")
        open_button.setToolTip("Use the augmentation in a file: one saved by albumentations' "
                               "A.save or here, a run's config.json or a project")
        open_button.clicked.connect(lambda: self.open_augment_file())
        save_button = QPushButton("Save as albumentations file…")
        save_button.setToolTip("Write these transforms as a JSON file albumentations' A.load "
                               "reads (train --augment FILE too)")
        save_button.clicked.connect(lambda: self.save_augment_file())
        return open_button, save_button

    def _dialog_dir(self) -> str:
        for p in (self._files_dir, self.state.project_path, self.state.config.data.data_dir):
            if p and os.path.isdir(p):
                return p
            if p and os.path.isfile(p):
                return os.path.dirname(p)
        return str(Path.home())

    def open_augment_file(self, path: Optional[str] = None) -> bool:
        """Make ``path``'s augmentation (or a chosen file's) the page's; False when
        cancelled or refused (the banner says why and the page is unchanged)."""
        from core.data.augment_files import load_augment_file

        self.ensure_built()
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open an augmentation file",
                                                  self._dialog_dir(), OPEN_FILTER)
            if not path:
                return False
        try:
            cfg = load_augment_file(path)
        except UserError as exc:
            said = str(exc).rstrip(". ")
            if str(path) not in said:
                said = f"{path}: {said}"
            self._say_file_error(f"Not opened: {said}. The augmentation is unchanged; Open "
                                 f"takes {OPEN_READS}.")
            return False
        self._files_dir = os.path.dirname(os.path.abspath(path))
        cfg.seed = self.state.config.augment.seed  # the seed box below is the page's own
        self.clear_message()
        self.state.set("augment", cfg)  # as a preset is set: the controls and preview follow
        self._status(f"Opened the augmentation in {path}")
        return True

    def save_augment_file(self, path: Optional[str] = None) -> bool:
        """Write the page's pipeline as an albumentations file (``A.load`` reads it) at the
        image size training will use; False when cancelled or not written."""
        from core.data.augment import resolve
        from core.data.augment_files import save_albumentations

        if path is None:
            start = os.path.join(self._dialog_dir(), "augmentation.json")
            path, _ = QFileDialog.getSaveFileName(self, "Save as an albumentations file", start,
                                                  SAVE_FILTER)
            if not path:
                return False
        size = preview_size(self.state.config.model)
        try:
            save_albumentations(resolve(self.state.config.augment), size, path)
        except UserError as exc:  # a full disk, or a setting the pipeline refuses
            self._say_file_error(f"Not saved: {exc}")
            return False
        except OSError as exc:
            self._say_file_error(f"{path}: cannot be written ({exc.strerror or exc}); choose "
                                 "another folder or name.")
            return False
        # a refusal of an earlier Save stayed up beside "Saved …" (a review); not a preview's
        self.clear_message(only=self._file_error)
        self._files_dir = os.path.dirname(os.path.abspath(path))
        self._status(f"Saved the augmentation for {size} px images to {path} "
                     "(albumentations' A.load reads it)")
        return True

    def _say_file_error(self, message: str) -> None:
        self._file_error = message
        self.show_error(message)

    def _status(self, text: str) -> None:
        bar = getattr(self.window(), "statusBar", None)
        if callable(bar):
            bar().showMessage(text, 8000)
