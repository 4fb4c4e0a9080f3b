"""The data check's 2-D map of the images' features, coloured by class.

Points come from :func:`core.audit.maps.embedding_map` (computed in the
audit's worker).  One pyqtgraph ``ScatterPlotItem`` per class, drawn in pixel
mode without per-point hover items: the mouse is matched to the nearest point
with one vectorised distance in screen pixels, so tens of thousands of points
stay interactive.  Hovering shows the image beside the map (decoded off the UI
thread), a click opens it; the mouse wheel zooms.  A point far from its
class's colour is worth a look: it may be filed wrong.  pyqtgraph is imported
when the map is first drawn.
"""

from __future__ import annotations

import html
import os
from typing import Optional, Sequence

from PySide6.QtCore import QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.thumbnails import ThumbnailModel

HOVER_PX = 8      # how close (screen pixels) the mouse must be to a point
PREVIEW = 160


#: The caption while no point is hovered.
HINT = "Hover a point to see its image; click to open it. The wheel zooms, dragging moves."

class MapPanel(QWidget):
    """The scatter map with a hover preview; ``opened(path)`` after a click opens an image."""

    opened = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.plot = None
        self.items: list = []
        self.xy = None
        self.paths: list[str] = []
        self.classes: list[str] = []
        self.root = ""
        self.hovered = -1
        self.open_files = True  # tests switch this off: no viewer to start
        self.thumbs = ThumbnailModel(self, side=PREVIEW)
        self.thumbs.thumbnail_ready.connect(lambda _row: self._show_preview())
        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW + 8, PREVIEW + 8)
        self.preview.setAlignment(Qt.AlignCenter)
        self.caption = QLabel(HINT)
        self.caption.setWordWrap(True)
        self.caption.setObjectName("hint")
        self.caption.setTextInteractionFlags(Qt.TextSelectableByMouse)
        side = QWidget()
        side.setFixedWidth(PREVIEW + 40)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(6, 0, 0, 0)
        sl.addWidget(self.preview)
        sl.addWidget(self.caption)
        sl.addStretch(1)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(side)

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(background=None)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setAspectLocked(False)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setStyle(showValues=False)
            self.plot.getAxis(axis).setTicks([[]])
        self.plot.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self._legend = self.plot.addLegend(offset=(8, 8))
        self._layout.insertWidget(0, self.plot, 1)

    def clear(self) -> None:
        """No points: another folder is shown (the plot, if made, stays, empty)."""
        if self.plot is not None:
            self.plot.clear()
            self._legend.clear()
        self.items, self.xy, self.paths, self.classes, self.hovered = [], None, [], [], -1
        self.preview.clear()
        self.caption.setText(HINT)

    def set_points(self, xy, paths: Sequence[str], classes: Sequence[str],
                   class_names: Sequence[str], root: str = "") -> None:
        """Draw ``xy`` ((n, 2) in [-1, 1]) for ``paths``, each coloured by its class."""
        import numpy as np
        import pyqtgraph as pg

        self._ensure_plot()
        self.plot.clear()
        self._legend.clear()
        self.items = []
        self.xy = np.asarray(xy, dtype=np.float32).reshape(-1, 2)
        self.paths, self.classes, self.root = list(paths), list(classes), root
        self.hovered = -1
        labels = np.array([class_names.index(c) if c in class_names else -1 for c in classes])
        n_classes = max(1, len(class_names))
        for k, name in enumerate(class_names):
            rows = np.flatnonzero(labels == k)
            if not len(rows):
                continue
            item = pg.ScatterPlotItem(x=self.xy[rows, 0], y=self.xy[rows, 1], size=7,
                                      pen=None, brush=pg.intColor(k, hues=n_classes, alpha=200),
                                      pxMode=True, hoverable=False, name=html.escape(name))
            self.plot.addItem(item)
            self.items.append(item)
        self.plot.setXRange(-1.05, 1.05, padding=0)
        self.plot.setYRange(-1.05, 1.05, padding=0)

    # -- the mouse ----------------------------------------------------------------
    def nearest(self, x: float, y: float, radius_px: float = HOVER_PX) -> int:
        """The point closest to view position (x, y) within ``radius_px`` screen pixels, or -1."""
        import numpy as np

        if self.xy is None or not len(self.xy):
            return -1
        px, py = self.plot.getViewBox().viewPixelSize()
        dx = (self.xy[:, 0] - x) / max(px, 1e-12)
        dy = (self.xy[:, 1] - y) / max(py, 1e-12)
        d2 = dx * dx + dy * dy
        i = int(np.argmin(d2))
        return i if d2[i] <= radius_px ** 2 else -1

    def _view_pos(self, scene_pos):
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        return vb.mapSceneToView(scene_pos)

    def _on_mouse_moved(self, scene_pos) -> None:
        p = self._view_pos(scene_pos)
        if p is not None:
            self.hover(self.nearest(p.x(), p.y()))

    def _on_clicked(self, event) -> None:
        p = self._view_pos(event.scenePos())
        i = self.nearest(p.x(), p.y()) if p is not None else -1
        if i >= 0 and event.button() == Qt.LeftButton:
            self.open_point(i)

    def hover(self, i: int) -> None:
        """Show point ``i``'s image and name beside the map (-1: keep the last one shown)."""
        if i < 0 or i == self.hovered:
            return
        self.hovered = i
        path = self.paths[i]
        try:
            rel = os.path.relpath(path, self.root).replace(os.sep, "/") if self.root else path
        except ValueError:
            rel = path
        self.caption.setText(f"<b>{html.escape(self.classes[i])}</b><br>{html.escape(rel)}")
        self.thumbs.set_items([path])
        self.thumbs.prefetch(1)
        self._show_preview()

    def open_point(self, i: int) -> None:
        path = self.paths[i]
        self.opened.emit(path)
        if self.open_files:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _show_preview(self) -> None:
        if self.thumbs.rowCount():
            pix = self.thumbs.data(self.thumbs.index(0), Qt.DecorationRole)
            if pix is not None:
                self.preview.setPixmap(pix)
