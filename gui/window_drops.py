"""What the window does with files dropped on it.

A folder opens as the image folder (Data page), a project file opens the
project; while a page that takes files itself shows (Predict: ``drop_paths``),
other files go to that page.  A mixin of :class:`gui.main_window.MainWindow`.
"""

from __future__ import annotations

import os
from typing import Optional

from core.project import PROJECT_SUFFIX


class DropTarget:
    """Drag-and-drop handling of the main window (mixed into it; ``self`` is the window)."""

    def dragEnterEvent(self, event) -> None:
        if self._page_drop(event.mimeData()) or self._dropped_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def _page_drop(self, mime) -> list:
        """Files for the visible page when it takes drops itself (Predict), else []."""
        page = self.current_page()
        if not hasattr(page, "drop_paths") or not mime.hasUrls():
            return []
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        return [] if any(p.endswith(PROJECT_SUFFIX) for p in paths) else paths

    def dropEvent(self, event) -> None:
        paths = self._page_drop(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.current_page().drop_paths(paths)
            return
        path = self._dropped_path(event.mimeData())
        if path is None:
            return
        event.acceptProposedAction()
        if os.path.isdir(path):
            self.show_page(0)
            self.data_page.open_folder(path)
        else:
            self.open_project(path)

    @staticmethod
    def _dropped_path(mime) -> Optional[str]:
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                p = url.toLocalFile()
                if os.path.isdir(p) or p.endswith(PROJECT_SUFFIX):
                    return p
        return None
