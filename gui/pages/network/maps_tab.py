"""The "Feature maps" tab: what one image looks like to each layer.

Every channel of a layer's output is a small picture of where that channel
responded.  :func:`feature_map_view` (a worker) runs the image through the model
with :class:`core.insight.feature_maps.FeatureMapProbe`, lays the channels out with
:func:`core.insight.feature_maps.tile_maps` (each channel on its own scale, since the
point is *where* it fires) and colours them; the mouse reads the real value.
Previous/Next step through the network in the order the image flows, so the
pictures can be watched getting smaller, more numerous and more abstract.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from html import escape
from typing import Any, Optional, Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from core.data.image_names import dialog_filter
from core.shown import cut_middle
from gui.plain_text import plain_tip
from gui.thumbnails import array_to_qimage, fitted_pixmap
from gui.pages.network.tile_grid import BACKGROUND, TileGridView, TileLayout, scale_for, viridis

MAX_CHANNELS = 64  # more tiles than this become too small to read
INPUT_SIDE = 150   # the input image next to the maps, in screen pixels
IMAGE_FILTER = dialog_filter()
#: The side an image is drawn at for a model that takes any size (its input is None×None).
ANY_SIZE_DRAWN = 224


@dataclass
class MapView:
    """One layer's maps for one image, drawn, with the raw values for hovering."""

    layer: str
    layer_type: str
    index: int              # position in the probe's layer list
    n_layers: int
    image_path: str
    image: np.ndarray       # the input as the model got it, uint8 (S, S, 3)
    maps: np.ndarray        # (h, w, channels) float32, the layer's real output
    picture: np.ndarray     # uint8 RGB mosaic of the first channels
    layout: TileLayout
    zeros_from: str = "switched off by the activation"  # core.insight.feature_maps.zeros_cause
    flat: list = field(default_factory=list)  # channels with one value everywhere (MapGrid)
    #: A padding layer's (border share, share already 0 inside): core padding_zeros.
    padding_zeros: Optional[tuple] = None

    @property
    def channels(self) -> int:
        return int(self.maps.shape[2])

    @property
    def shown(self) -> int:
        return self.layout.count

    def describe(self, index: int, r: int, c: int) -> str:
        return (f"Channel {index + 1}, position (row {r}, column {c}): "
                f"{float(self.maps[r, c, index]):.4g}")

    def caption(self) -> str:
        h, w, ch = self.maps.shape
        zeros = float(np.mean(self.maps == 0)) if self.maps.size else 0.0
        shown = (f"all {ch} channels" if self.shown == ch
                 else f"the first {self.shown} of {ch} channels")
        text = (f"Layer {self.index + 1} of {self.n_layers}: <b>{escape(self.layer)}</b> "
                f"({escape(self.layer_type)}) gives {h}×{w}×{ch}; showing {shown}, each on its own "
                f"scale (yellow = that channel's highest value, dark purple = its lowest). "
                f"Values range from "
                f"{float(self.maps.min()):.3g} to {float(self.maps.max()):.3g}")
        if zeros >= 0.05 and self.padding_zeros is not None:
            border, inside = self.padding_zeros
            text += (f"; {zeros:.0%} are exactly 0: {border:.0%} are the zeros added around "
                     "the border" + (f", {inside:.0%} were already 0 in its input"
                                     if inside >= 0.005 else ""))
        elif zeros >= 0.05:
            text += f"; {zeros:.0%} are exactly 0 ({self.zeros_from})"
        flat = self.flat
        if flat:
            dead = sum(1 for i in flat if not self.maps[:, :, i].any())
            text += (f". {len(flat)} of the channels shown are flat, one value everywhere "
                     f"(drawn grey){f', {dead} of them 0' if dead else ''}")
        return text + "."


#: The colour of a channel with one value everywhere: viridis has no such colour, so it
#: cannot pass for a channel's lowest (dead purple had looked like a quiet channel).
FLAT = (128, 128, 128)


def feature_map_view(probe: Any, image_path: str, index: int, listener=None,
                     cancel=None) -> MapView:
    """Worker: decode the image at the model's size, run it to layer ``index``, draw the maps."""
    from core.errors import ConfigError, DataError
    from core.insight.feature_maps import padding_zeros, tile_maps, zeros_cause
    from core.data.imageio import ImageError, load_rgb

    layers = probe.layers
    if not layers:
        raise ConfigError("this model has no layer with feature maps to show")
    index %= len(layers)
    name, kind, _shape = layers[index]
    in_h, in_w = tuple(probe.model.inputs[0].shape)[1:3]  # a 97×150 model got 97×97
    try:
        image = load_rgb(image_path, (int(in_w or ANY_SIZE_DRAWN), int(in_h or ANY_SIZE_DRAWN)))
    except ImageError as exc:
        raise DataError(f"{exc}; choose another image") from None
    maps = probe.maps(image, name)
    h, w = maps.shape[:2]
    s = scale_for(max(h, w), target=28)
    big = np.repeat(np.repeat(maps, s, axis=0), s, axis=1) if s > 1 else maps
    grid = tile_maps(big, max_channels=MAX_CHANNELS, gap=1)
    layout = TileLayout(count=len(grid.channels), rows=grid.rows, cols=grid.cols,
                        tile_h=h * s, tile_w=w * s, gap=1, scale=s)
    picture = viridis(grid.image)
    picture[layout.gap_mask()] = BACKGROUND
    for i in grid.flat:  # one value everywhere: not "its lowest"
        y, x = layout.origin(i)
        picture[y:y + layout.tile_h, x:x + layout.tile_w] = FLAT
    return MapView(name, kind, index, len(layers), image_path, image, maps, picture, layout,
                   zeros_cause(probe.model, name, kind), grid.flat,
                   padding_zeros(probe.model, name, maps))


FOLDER_CHARS = 24  # an image's folder (its class) is cut to this many characters


def image_label(path: str) -> str:
    """The file's name, then its folder cut in the middle: "Background, debris, out-of-focus
    regions (ignore these)/…" had every image of that class read alike, the file names past
    the combo's right end (a UI review).  The whole path is the item's tooltip."""
    name, parent = os.path.basename(path), os.path.basename(os.path.dirname(path))
    return f"{name} — {cut_middle(parent, FOLDER_CHARS)}" if parent else name


class ImagePicker(QWidget):
    """A combo of sample images plus "Choose a file…"; emits ``changed(path)``.  The files
    the user chose stay listed when the samples change (another run or backbone)."""

    changed = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.own: list[str] = []  # chosen with "Choose a file…", not among the samples
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Image:"))
        self.combo = QComboBox()
        self.combo.setAccessibleName("Image")
        self.combo.setMinimumContentsLength(24)
        self.combo.setPlaceholderText("open a dataset or choose a file")
        self.combo.activated.connect(lambda _i: self._emit())
        lay.addWidget(self.combo, 1)
        self.file_button = QPushButton("Choose a file…")
        self.file_button.clicked.connect(self.choose_file)
        lay.addWidget(self.file_button)

    def set_paths(self, paths: Sequence[str]) -> None:
        """Offer ``paths`` and the user's own files (keeping the current choice when it is
        still there): another run's samples had dropped the file the user chose, and with no
        data set left no image at all (a review)."""
        current = self.path()
        self.combo.blockSignals(True)
        self.combo.clear()
        for p in list(paths) + [p for p in self.own if p not in paths]:
            self.combo.addItem(image_label(p), p)
            self.combo.setItemData(self.combo.count() - 1, plain_tip(p), Qt.ToolTipRole)
        i = self.combo.findData(current) if current else -1
        self.combo.setCurrentIndex(i if i >= 0 else (0 if paths else -1))
        self.combo.blockSignals(False)

    def add_path(self, path: str) -> None:
        i = self.combo.findData(path)
        if i < 0:
            self.own.append(path)
            self.combo.addItem(image_label(path), path)
            i = self.combo.count() - 1
            self.combo.setItemData(i, plain_tip(path), Qt.ToolTipRole)
        self.combo.setCurrentIndex(i)
        self._emit()

    def path(self) -> str:
        return self.combo.currentData() or ""

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an image", "", IMAGE_FILTER)
        if path:
            self.add_path(path)

    def _emit(self) -> None:
        if self.path():
            self.changed.emit(self.path())


class FeatureMapsTab(QWidget):
    """Image and layer pickers, Previous/Next, the map grid.  Emits ``requested(path, index)``."""

    requested = Signal(str, int)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.layers: list[tuple] = []
        self.view: Optional[MapView] = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        intro = QLabel("Each layer turns the image into a stack of feature maps, one per "
                       "channel: bright where that channel found its pattern. Early layers "
                       "respond to edges and colours at full detail; deeper ones are smaller "
                       "and respond to larger, more abstract patterns. Step through with "
                       "Previous / Next.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.images = ImagePicker()
        self.images.changed.connect(lambda _p: self.request())
        lay.addWidget(self.images)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer:"))
        self.layer_combo = QComboBox()
        self.layer_combo.setAccessibleName("Layer")
        self.layer_combo.setMinimumContentsLength(36)
        self.layer_combo.activated.connect(lambda _i: self.request())
        row.addWidget(self.layer_combo, 1)
        self.prev_button = QPushButton("◀ Previous layer")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton("Next layer ▶")
        self.next_button.clicked.connect(lambda: self.step(1))
        row.addWidget(self.prev_button)
        row.addWidget(self.next_button)
        lay.addLayout(row)

        middle = QHBoxLayout()
        side = QVBoxLayout()
        self.input_label = QLabel()
        self.input_label.setFixedSize(INPUT_SIDE, INPUT_SIDE)
        self.input_label.setAlignment(Qt.AlignCenter)
        self.input_label.setStyleSheet("border: 1px solid #555c63;")
        side.addWidget(QLabel("What the model gets:"))
        side.addWidget(self.input_label)
        side.addStretch(1)
        middle.addLayout(side)
        self.grid = TileGridView()
        self.grid.view.setAccessibleName("Feature maps")
        middle.addWidget(self.grid, 1)
        lay.addLayout(middle, 1)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.RichText)
        lay.addWidget(self.caption)
        self._update_buttons()

    def set_layers(self, layers: Sequence[tuple], start: int = 0) -> None:
        """``(path, type, shape)`` rows from :attr:`FeatureMapProbe.layers`; no request made."""
        self.layers = list(layers)
        self.view = None
        self.grid.clear()
        self.input_label.clear()
        self.caption.setText("")
        self.layer_combo.clear()
        for i, (path, kind, shape) in enumerate(self.layers):
            dims = "×".join(str(d) for d in shape[1:])
            self.layer_combo.addItem(f"{i + 1}. {path} ({kind}) → {dims}", path)
        if self.layers:
            self.layer_combo.setCurrentIndex(max(0, min(start, len(self.layers) - 1)))
        self._update_buttons()

    def current_index(self) -> int:
        return self.layer_combo.currentIndex()

    def step(self, delta: int) -> None:
        i = self.current_index() + delta
        if 0 <= i < len(self.layers):
            self.layer_combo.setCurrentIndex(i)
            self.request()

    def select_layer(self, index: int) -> None:
        self.layer_combo.setCurrentIndex(index)
        self.request()

    def request(self) -> bool:
        """Ask for the maps of the current image and layer; False when something is missing."""
        self._update_buttons()
        path, index = self.images.path(), self.current_index()
        if not self.layers or index < 0:
            return False
        if not path:
            self.caption.setText("Open an image folder on the Data page, or choose an image "
                                 "file above.")
            return False
        self.caption.setText(f"Running the image through the model up to "
                             f"<b>{escape(self.layers[index][0])}</b>…")
        self.requested.emit(path, index)
        return True

    def show_view(self, view: MapView) -> None:
        self.view = view
        self.input_label.setPixmap(fitted_pixmap(  # every device pixel of a 200 % screen
            array_to_qimage(view.image), INPUT_SIDE - 2, INPUT_SIDE - 2,
            self.input_label.devicePixelRatioF()))
        self.input_label.setToolTip(plain_tip(view.image_path))
        self.grid.set_mosaic(view.picture, view.layout, view.describe)
        self.caption.setText(view.caption())

    def show_failure(self) -> None:
        """The request failed (the message is in the page's banner): no maps of another
        layer or image under this layer's name, no "Running…" that never ends."""
        self.view = None
        self.grid.clear()
        self.input_label.clear()
        self.caption.setText("No feature maps: see the message above.")

    @property
    def tile_count(self) -> int:
        return self.grid.tile_count

    def _update_buttons(self) -> None:
        i = self.current_index()
        self.prev_button.setEnabled(i > 0)
        self.next_button.setEnabled(0 <= i < len(self.layers) - 1)
