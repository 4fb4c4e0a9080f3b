"""What the window does with files dropped on it, whichever page shows.

* a project file opens the project;
* while a page that takes files itself shows (Predict: ``drop_paths``), every
  other file and folder goes to that page;
* a folder with sub-folders (one per class) and no image beside them opens as
  the image folder on the Data page;
* image files, and folders with images at their top level, are things to
  classify: the window switches to the Predict page and hands them over;
* a folder with neither (empty: a data set to capture into) opens on the Data page.
  (Until now they were refused without a word while another page showed.)

A mixin of :class:`gui.main_window.MainWindow`.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Optional

from PySide6.QtCore import QUrl

from core.data.folder_walk import hidden
from core.infer.loaders import opens as opens_model
from core.project import is_project_path
from core.shown import shown_text


def local_paths(mime) -> list[str]:
    """Local files and folders in drag-and-drop data (web links are ignored).

    Decoded from the URL's bytes: ``toLocalFile`` turns a name that is not valid UTF-8
    into U+FFFD characters, a path that does not exist ("project file not found").
    """
    if mime is None or not mime.hasUrls():
        return []
    out = []
    for u in mime.urls():
        if u.isLocalFile() and u.toLocalFile():
            raw = urllib.parse.unquote_to_bytes(u.path(QUrl.FullyEncoded))
            path = os.fsdecode(raw)
            out.append(path if os.path.exists(path) else u.toLocalFile())
    return out


def has_class_folders(folder: str) -> bool:
    """Whether ``folder`` holds sub-folders (the Data page's layout: one per class)."""
    try:
        with os.scandir(folder) as entries:
            return any(e.is_dir() and not hidden(e.name) for e in entries)  # as the scan
    except OSError:
        return False


def has_images(folder: str) -> bool:
    """Whether ``folder`` holds an image file directly: an empty folder (a new data set
    to capture into) went to the Predict page with "There is no model to ask yet"."""
    try:
        with os.scandir(folder) as entries:
            return any(e.is_file() and is_image_file(e.path) for e in entries)
    except OSError:
        return False


def is_image_file(path: str) -> bool:
    from core.data.imageio import IMAGE_EXTENSIONS  # Pillow: loaded once the window is up

    return os.path.isfile(path) and os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def to_classify(path: str) -> bool:
    """Whether a dropped ``path`` is something to ask a model about: an image file, or a
    folder holding one."""
    return is_image_file(path) or (os.path.isdir(path) and has_images(path))


#: At most this many dropped items are looked into for a model (on the UI thread).
MODEL_DROP_LIMIT = 20


def _model_with_images(paths: list[str]) -> Optional[str]:
    """The one model among ``paths`` when everything else is images to ask it about."""
    if len(paths) > MODEL_DROP_LIMIT:
        return None
    models = [p for p in paths if opens_model(p)]
    if len(models) != 1:
        return None
    return models[0] if all(to_classify(p) for p in paths if p != models[0]) else None


def drop_plan(paths: list[str], page_takes_files: bool) -> Optional[tuple[str, list[str]]]:
    """Where dropped ``paths`` go: ("project" | "model" | "page" | "data" | "predict", paths),
    or None."""
    if not paths:
        return None
    project = next((p for p in paths if is_project_path(p)), None)
    if project is not None:
        return "project", [project]
    model = _model_with_images(paths)  # a run, an export or a model file (it replaced
    if model is not None:  # the image folder, or was read as an image): it opens, and the
        return "model", [model] + [p for p in paths if p != model]  # images are asked about
    if page_takes_files:
        return "page", paths
    # images at its top level: new photos to classify (with a "rejects" or "2024" sub-folder),
    # not a data set: it replaced the project's image folder without a word (a review)
    class_folder = next((p for p in paths if os.path.isdir(p) and has_class_folders(p)
                         and not has_images(p)), None)
    if class_folder is not None:
        return "data", [class_folder]
    images = [p for p in paths if to_classify(p)]
    if images:
        return "predict", images
    folder = next((p for p in paths if os.path.isdir(p)), None)  # empty: a data set to begin
    return ("data", [folder]) if folder is not None else None


class DropTarget:
    """Drag-and-drop handling of the main window (mixed into it; ``self`` is the window)."""

    def _plan(self, mime) -> Optional[tuple[str, list[str]]]:
        return drop_plan(local_paths(mime), hasattr(self.current_page(), "drop_paths"))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._plan(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        plan = self._plan(event.mimeData())
        if plan is None:
            return
        event.acceptProposedAction()
        where, paths = plan
        dropped = local_paths(event.mimeData())
        opened = False
        if where == "project":
            opened = self.open_project(paths[0])
        elif where == "model":
            index = next(i for i, p in enumerate(self.pages) if p.key == "predict")
            self.show_page(index)
            self.pages[index].open_model(paths[0], paths[1:])
        elif where == "page":
            self.current_page().drop_paths(paths)
        elif where == "data":
            self.show_page(0)
            opened = self.data_page.open_folder(paths[0])
        else:
            index = next(i for i, p in enumerate(self.pages) if hasattr(p, "drop_paths"))
            self.show_page(index)
            self.pages[index].drop_paths(paths)
        if opened and len(dropped) > 1:  # one at a time: say which, not silently the first
            what = "project" if where == "project" else "image folder"
            self.statusBar().showMessage(
                f"{len(dropped)} items dropped; {'opened' if where == 'project' else 'opening'} "
                f"the {what} {shown_text(paths[0])} (one {what} at a time: drop another on "
                "its own)", 15000)
