"""Thumbnails decoded off the UI thread, only for the images someone looks at.

:class:`ThumbnailModel` is a list model for a ``QListView`` in icon mode.  When
the view asks for an icon that is not decoded yet, the model queues that file on
a small ``QThreadPool`` (two threads: this is a 2-core machine) and shows a
placeholder; the decoded ``QImage`` comes back through a queued signal and the
row repaints.  So a folder of 50 000 images costs only the thumbnails scrolled
past.  Results of an older file list (the user switched class) are dropped by a
generation counter, queued requests are cleared, and decoded images are kept in
a bounded cache keyed by path.

Decoding goes through :func:`core.data.imageio.load_thumbnail`, the same decoder as
training, so a file that fails here fails there too (it gets a broken icon and
its reason as tooltip).  ``QImage`` is safe to build in a worker; ``QPixmap``
is not, so the pixmap is made on the UI thread.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Optional, Sequence

from PySide6.QtCore import (QAbstractListModel, QModelIndex, QObject, QRunnable, QSize, Qt,
                            QThreadPool, Signal, Slot)
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPixmap

from gui.plain_text import plain_tip

THUMB_SIDE = 96
CACHE_LIMIT = 1500
#: The caption and tooltip of a picture whose file is gone since it was listed.
GONE = "not there any more"


def screen_ratio() -> float:
    """Device pixels per logical pixel of the main screen (2 on a "200 %" display)."""
    screen = QGuiApplication.primaryScreen()
    return max(1.0, float(screen.devicePixelRatio())) if screen is not None else 1.0


def sharp_pixmap(image: QImage, side: int) -> QPixmap:
    """``image`` as a pixmap drawn ``side`` logical pixels large with all its pixels: on a
    high-DPI screen a thumbnail decoded at ``side`` device pixels was stretched and soft."""
    pix = QPixmap.fromImage(image)
    pix.setDevicePixelRatio(max(1.0, max(image.width(), image.height()) / side))
    return pix


def fitted_pixmap(source: "QImage | QPixmap", width: float, height: float, ratio: float,
                  mode: Qt.TransformationMode = Qt.FastTransformation) -> QPixmap:
    """``source`` scaled to fit ``width``×``height`` logical pixels, made with every device
    pixel of a screen at ``ratio``.  ``QPixmap.scaled`` counts device pixels and keeps the
    source's ratio, so a sharp thumbnail scaled "to 400" showed at 200 pixels at 200 %."""
    pix = source if isinstance(source, QPixmap) else QPixmap.fromImage(source)
    ratio = max(1.0, float(ratio))
    out = pix.scaled(max(1, round(width * ratio)), max(1, round(height * ratio)),
                     Qt.KeepAspectRatio, mode)
    out.setDevicePixelRatio(ratio)
    return out


def array_to_qimage(arr: Any) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns its pixels."""
    import numpy as np

    arr = np.ascontiguousarray(arr)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format_RGB888).copy()


class _Bridge(QObject):
    """Lives on the UI thread; workers emit through it (queued)."""

    loaded = Signal(int, str, object, str)  # generation, path, QImage or None, error


class _LoadTask(QRunnable):
    def __init__(self, bridge: _Bridge, generation: int, path: str, side: int) -> None:
        super().__init__()
        self.bridge, self.generation, self.path, self.side = bridge, generation, path, side

    def run(self) -> None:
        from core.data.imageio import ImageError, load_thumbnail

        try:
            image = array_to_qimage(load_thumbnail(self.path, self.side))
            self.bridge.loaded.emit(self.generation, self.path, image, "")
        except ImageError as exc:
            self.bridge.loaded.emit(self.generation, self.path, None, exc.reason)
        except Exception as exc:  # never let a worker die silently
            self.bridge.loaded.emit(self.generation, self.path, None,
                                    f"{type(exc).__name__}: {exc}")


def _placeholder(side: int, broken: bool = False) -> QPixmap:
    pix = QPixmap(side, side)
    pix.fill(QColor("#33383e"))
    if broken:
        p = QPainter(pix)
        p.setPen(QColor("#e06060"))
        p.drawLine(side // 4, side // 4, 3 * side // 4, 3 * side // 4)
        p.drawLine(3 * side // 4, side // 4, side // 4, 3 * side // 4)
        p.end()
    return pix


class ThumbnailModel(QAbstractListModel):
    """Rows are image paths (with a caption); icons load lazily in the background."""

    thumbnail_ready = Signal(int)  # row

    PathRole = Qt.UserRole + 1

    def __init__(self, parent: Optional[QObject] = None, side: int = THUMB_SIDE,
                 threads: int = 2, captions: bool = True) -> None:
        super().__init__(parent)
        self.side = side
        self.caption_px = 28 if captions else 8  # room under each thumbnail
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._bridge = _Bridge(self)
        self._bridge.loaded.connect(self._on_loaded, Qt.QueuedConnection)
        self._paths: list[str] = []
        self._captions: list[str] = []
        self._row_of: dict[str, int] = {}
        self._generation = 0
        self._forgotten = 0  # results of generations before this are stale (forget())
        self._requested: set[str] = set()
        self._cache: "OrderedDict[str, QPixmap]" = OrderedDict()
        self._errors: dict[str, str] = {}
        self._marks: dict[str, str] = {}  # path -> what was done with it (shown, dimmed)
        self._blank = _placeholder(side)
        self._broken = _placeholder(side, broken=True)

    # -- content ------------------------------------------------------------
    def set_items(self, paths: Sequence[str], captions: Optional[Sequence[str]] = None) -> None:
        self.beginResetModel()
        self._generation += 1
        self.pool.clear()  # forget queued work for the old list
        self._requested.clear()
        self._paths = [str(p) for p in paths]
        self._captions = list(captions) if captions is not None else \
            [p.replace("\\", "/").rsplit("/", 1)[-1] for p in self._paths]
        self._row_of = {p: i for i, p in enumerate(self._paths)}
        self.endResetModel()

    def forget(self) -> None:
        """Drop every thumbnail and error kept so far: the files may have changed since
        (a new scan); a repainted image kept its old thumbnail for the session."""
        self._generation += 1
        self._forgotten = self._generation
        self.pool.clear()
        self._requested.clear()
        self._cache.clear()
        self._errors.clear()

    def path(self, row: int) -> str:
        return self._paths[row]

    def paths(self) -> list[str]:
        return list(self._paths)

    def row_of(self, path: str) -> int:
        """The row showing ``path``, -1 when it is not listed."""
        return self._row_of.get(str(path), -1)

    def set_mark(self, path: str, mark: str) -> None:
        """Show ``mark`` (what was done with the image) dimmed instead of its caption."""
        if mark:
            self._marks[str(path)] = mark
        else:
            self._marks.pop(str(path), None)
        row = self.row_of(path)
        if row >= 0:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.DisplayRole, Qt.ForegroundRole])

    def mark(self, path: str) -> str:
        return self._marks.get(str(path), "")

    def clear_marks(self) -> None:
        """No image shows a mark any more (the fixes they recorded are out of date)."""
        marked = [self.row_of(p) for p in self._marks]
        self._marks.clear()
        for row in (r for r in marked if r >= 0):
            self.dataChanged.emit(self.index(row), self.index(row),
                                  [Qt.DisplayRole, Qt.ForegroundRole])

    def loaded_count(self) -> int:
        return sum(1 for p in self._paths if p in self._cache or p in self._errors)

    def prefetch(self, count: int) -> None:
        """Queue the first ``count`` rows (what a freshly shown view displays)."""
        for p in self._paths[:count]:
            self._request(p)

    def shutdown(self, wait_ms: int = 5000) -> None:
        self._generation += 1
        self.pool.clear()
        self.pool.waitForDone(wait_ms)

    # -- Qt model API --------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._paths)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        path = self._paths[index.row()]
        if role == Qt.DisplayRole:  # a picture gone since it was listed says so under its X
            gone = self._errors.get(path) == GONE
            return self._marks.get(path) or (GONE if gone else self._captions[index.row()])
        if role == Qt.ForegroundRole and path in self._marks:
            return QColor("#8a8f96")
        if role == Qt.DecorationRole:
            pix = self._cache.get(path)
            if pix is not None:
                self._cache.move_to_end(path)
                return pix
            if path in self._errors:
                return self._broken
            self._request(path)
            return self._blank
        if role == Qt.ToolTipRole:  # the file's name as written, never read as HTML
            err = self._errors.get(path)
            return plain_tip(f"{path}\n{err}" if err else path)
        if role == self.PathRole:
            return path
        if role == Qt.SizeHintRole:
            return QSize(self.side + 16, self.side + self.caption_px)
        return None

    # -- loading ----------------------------------------------------------------
    def _request(self, path: str) -> None:
        if path in self._requested or path in self._cache or path in self._errors:
            return
        self._requested.add(path)
        decode = round(self.side * screen_ratio())  # every device pixel of the icon
        self.pool.start(_LoadTask(self._bridge, self._generation, path, decode))

    @Slot(int, str, object, str)
    def _on_loaded(self, generation: int, path: str, image: Optional[QImage], error: str) -> None:
        if generation < self._forgotten:
            return  # read before forget(): maybe the file as it was
        if image is not None:
            self._cache[path] = sharp_pixmap(image, self.side)
            while len(self._cache) > CACHE_LIMIT:
                old, _ = self._cache.popitem(last=False)
                self._requested.discard(old)
        else:  # a file deleted or moved since (an Undo, say) showed a bare red X
            self._errors[path] = error if os.path.lexists(path) else GONE
        if generation != self._generation:
            return  # a result for an older list: cached, but no repaint needed
        self._requested.discard(path)
        row = self._row_of.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.DecorationRole, Qt.ToolTipRole, Qt.DisplayRole])
            self.thumbnail_ready.emit(row)
