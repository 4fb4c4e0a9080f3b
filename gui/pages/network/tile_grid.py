"""Small pictures in a grid that can be zoomed and read pixel by pixel.

The "Inside the network" page shows many tiny images at once: a layer's
filters (3×3 weights each) and its feature maps (one per channel).  They are
laid out side by side in one mosaic picture (numpy, so a worker can build it),
enlarged with nearest-neighbour so every weight or activation stays a crisp
square, and shown in a pyqtgraph view where the mouse wheel zooms.  Moving the
mouse over a tile says which tile it is and the exact number under the cursor,
because the colours alone are scaled per tile and cannot be compared.

``mosaic``, ``upscale``, ``viridis`` and ``diverging`` are plain numpy and
safe in a worker thread; :class:`TileGridView` is the widget and imports
pyqtgraph only when created (the window itself starts without it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

BACKGROUND = (42, 46, 51)  # the theme's window colour: gaps read as "between tiles"

# Five stops of matplotlib's viridis: dark purple (low) → yellow (high).  Readable
# for the colour-blind and in greyscale print, which a rainbow is not.
_VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98),
                     (253, 231, 37)], dtype=np.float64)
# Blue (negative) → near-black (zero) → orange-red (positive): a weight's sign
# matters more than its size, and zero must look like "nothing" on a dark theme.
_DIVERGING = np.array([(80, 160, 255), (30, 32, 36), (255, 120, 60)], dtype=np.float64)


def _ramp(values: np.ndarray, stops: np.ndarray) -> np.ndarray:
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    pos = v * (len(stops) - 1)
    lo = np.minimum(pos.astype(int), len(stops) - 2)
    frac = (pos - lo)[..., None]
    rgb = stops[lo] * (1 - frac) + stops[lo + 1] * frac
    return np.round(rgb).astype(np.uint8)


def viridis(values01: np.ndarray) -> np.ndarray:
    """Values in 0..1 (any shape) → uint8 RGB with one more axis of size 3."""
    return _ramp(values01, _VIRIDIS)


def diverging(values: np.ndarray, limit: Optional[float] = None) -> np.ndarray:
    """Signed values → uint8 RGB: blue below zero, dark at zero, orange above.

    ``limit`` is the magnitude shown at full colour (default: the largest
    ``|value|``), the same for every tile so strengths can be compared.
    """
    v = np.asarray(values, dtype=np.float64)
    lim = float(np.max(np.abs(v))) if limit is None and v.size else (limit or 0.0)
    scaled = 0.5 + 0.5 * (v / lim) if lim > 0 else np.full_like(v, 0.5)
    return _ramp(scaled, _DIVERGING)


def upscale(tiles: np.ndarray, factor: int) -> np.ndarray:
    """Enlarge (N, h, w[, 3]) tiles ``factor`` times with nearest-neighbour (crisp squares)."""
    if factor <= 1:
        return tiles
    return np.repeat(np.repeat(tiles, factor, axis=1), factor, axis=2)


def scale_for(side: int, target: int = 24, most: int = 16) -> int:
    """An integer enlargement that brings a ``side``-pixel tile near ``target`` pixels."""
    return max(1, min(most, target // max(1, side)))


@dataclass(frozen=True)
class TileLayout:
    """Where each tile sits in a mosaic, so a mouse position can be traced back.

    ``scale`` is how many mosaic pixels one source pixel (weight, activation)
    covers; ``locate`` answers in source pixels.
    """

    count: int
    rows: int
    cols: int
    tile_h: int  # in mosaic pixels (already scaled)
    tile_w: int
    gap: int = 1
    scale: int = 1

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the whole mosaic."""
        return (self.rows * self.tile_h + max(self.rows - 1, 0) * self.gap,
                self.cols * self.tile_w + max(self.cols - 1, 0) * self.gap)

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left mosaic pixel (y, x) of tile ``index``."""
        r, c = divmod(index, self.cols)
        return r * (self.tile_h + self.gap), c * (self.tile_w + self.gap)

    def locate(self, x: float, y: float) -> Optional[tuple[int, int, int]]:
        """``(tile index, source row, source column)`` at mosaic pixel (x, y); None in a gap."""
        if x < 0 or y < 0:
            return None
        xi, yi = int(math.floor(x)), int(math.floor(y))
        c, ox = divmod(xi, self.tile_w + self.gap)
        r, oy = divmod(yi, self.tile_h + self.gap)
        if ox >= self.tile_w or oy >= self.tile_h or c >= self.cols or r >= self.rows:
            return None
        index = r * self.cols + c
        if index >= self.count:
            return None
        return index, oy // self.scale, ox // self.scale

    def gap_mask(self) -> np.ndarray:
        """True where the mosaic shows background (gaps and unused cells)."""
        mask = np.ones(self.size, dtype=bool)
        for i in range(self.count):
            y, x = self.origin(i)
            mask[y:y + self.tile_h, x:x + self.tile_w] = False
        return mask


def grid_columns(n: int) -> int:
    """Columns for a near-square grid of ``n`` tiles, with no ragged last row when possible.

    The smallest divisor of ``n`` from ⌈√n⌉ up to 1.5·√n (32 filters → 8 × 4),
    else ⌈√n⌉.
    """
    n = max(n, 1)
    root = math.sqrt(n)
    for cols in range(int(math.ceil(root)), int(root * 1.5) + 1):
        if n % cols == 0:
            return cols
    return int(math.ceil(root))


def mosaic(tiles: np.ndarray, cols: Optional[int] = None, scale: int = 1, gap: int = 1,
           background: tuple = BACKGROUND) -> tuple[np.ndarray, TileLayout]:
    """Lay (N, h, w, 3) uint8 tiles out row by row; returns the RGB picture and its layout.

    Tiles are enlarged ``scale`` times (nearest-neighbour) first; the gaps and
    any unused cells of the last row get the ``background`` colour.
    """
    tiles = np.asarray(tiles)
    if tiles.ndim != 4 or tiles.shape[-1] != 3:
        raise ValueError(f"tiles must be N×h×w×3 (got shape {tiles.shape})")
    n = tiles.shape[0]
    cols = max(1, min(cols or grid_columns(n), max(n, 1)))
    rows = max(1, int(math.ceil(n / cols)))
    big = upscale(tiles, scale)
    layout = TileLayout(count=n, rows=rows, cols=cols, tile_h=big.shape[1], tile_w=big.shape[2],
                        gap=gap, scale=scale)
    out = np.empty(layout.size + (3,), dtype=np.uint8)
    out[:] = np.asarray(background, dtype=np.uint8)
    for i in range(n):
        y, x = layout.origin(i)
        out[y:y + layout.tile_h, x:x + layout.tile_w] = big[i]
    return out, layout


class TileGridView(QWidget):
    """A zoomable mosaic with a line under it telling what the mouse is over.

    ``set_mosaic(image, layout, describe)``: ``describe(index, row, col)`` turns
    a tile and a source pixel into the words shown on hover (it is called on
    the UI thread with data the caller already holds).
    """

    hovered = Signal(str)

    def __init__(self, hint: str = "Move the mouse over a tile to read its value; "
                                   "the wheel zooms, dragging moves.",
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(None)
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.item)
        lay.addWidget(self.view, 1)
        self._hint = hint
        self.value_label = QLabel(hint)
        self.value_label.setObjectName("hint")
        self.value_label.setWordWrap(True)
        self.value_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.value_label)
        self.image: Optional[np.ndarray] = None
        self.layout_info: Optional[TileLayout] = None
        self._describe: Optional[Callable[[int, int, int], str]] = None
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def set_mosaic(self, image: np.ndarray, layout: TileLayout,
                   describe: Optional[Callable[[int, int, int], str]] = None) -> None:
        self.image, self.layout_info, self._describe = image, layout, describe
        self.item.setImage(image, levels=(0, 255), autoLevels=False)
        self.box.autoRange(padding=0.02)
        self.value_label.setText(self._hint)

    def clear(self) -> None:
        self.image = self.layout_info = self._describe = None
        self.item.clear()
        self.value_label.setText(self._hint)

    @property
    def tile_count(self) -> int:
        return self.layout_info.count if self.layout_info is not None else 0

    def text_at(self, x: float, y: float) -> str:
        """What hovering at mosaic pixel (x, y) says; "" over a gap or outside."""
        if self.layout_info is None:
            return ""
        hit = self.layout_info.locate(x, y)
        if hit is None:
            return ""
        if self._describe is None:
            return f"tile {hit[0] + 1}, row {hit[1]}, column {hit[2]}"
        return self._describe(*hit)

    def _on_mouse_moved(self, scene_pos) -> None:
        if self.layout_info is None:
            return
        p = self.item.mapFromScene(scene_pos)
        text = self.text_at(p.x(), p.y())
        self.value_label.setText(text or self._hint)
        if text:
            self.hovered.emit(text)
