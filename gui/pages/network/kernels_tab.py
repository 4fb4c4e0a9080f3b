"""The "Kernels" tab: the filters a convolution learned, as pictures.

The first convolution looks straight at the RGB pixels, so each of its filters
can be shown as a tiny colour image (:func:`core.insight.kernels.filter_tiles`) — in a
trained network they become colour edges and blobs.  Deeper filters see many
channels, not colours, so they are shown one small square per (filter, input
channel) with the sign in colour: blue weights subtract, orange ones add
(:func:`core.insight.kernels.filter_channels`).  :func:`kernel_view` builds the
picture in a worker; the tab only asks for it and shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.pages.network.tile_grid import (TileGridView, TileLayout, diverging, grid_columns, mosaic,
                                   scale_for)

MAX_FILTERS = 32  # per-channel view: rows shown (filters) ...
MAX_INPUTS = 32   # ... and columns shown (input channels)
MODES = (("rgb", "Colour pictures, one per filter"),
         ("channels", "Each input channel separately (blue −, orange +)"))


@dataclass
class KernelView:
    """One layer's filters laid out as a picture, with the raw weights for hovering."""

    layer: str
    mode: str
    image: np.ndarray       # uint8 RGB mosaic
    layout: TileLayout
    weights: np.ndarray     # (filters shown, inputs shown, kh, kw), the real numbers
    per_row: int            # tiles per filter in "channels" mode (1 in "rgb" mode)
    caption: str

    def describe(self, index: int, r: int, c: int) -> str:
        if self.mode == "rgb":
            w = self.weights[index, :, r, c]
            vals = (", ".join(f"{ch} {v:+.3f}" for ch, v in zip("RGB", w)) if len(w) == 3
                    else f"{w[0]:+.3f}")
            return f"Filter {index + 1}, weight at row {r}, column {c}: {vals}"
        f, i = divmod(index, self.per_row) if self.per_row > 1 else (index, 0)
        w = float(self.weights[f, i, r, c])
        chan = f", input channel {i + 1}" if self.weights.shape[1] > 1 else ""
        return f"Filter {f + 1}{chan}, weight at row {r}, column {c}: {w:+.4f}"


def kernel_view(model: Any, layer: str, mode: str, listener=None, cancel=None) -> KernelView:
    """Worker: read ``layer``'s filters and draw them (``mode`` "rgb" or "channels")."""
    from core.insight.kernels import filter_channels, filter_tiles

    weights = filter_channels(model, layer)  # (out, in, kh, kw)
    n_out, n_in, kh, kw = weights.shape
    scale = scale_for(max(kh, kw), target=30 if mode == "rgb" else 18)
    if mode == "rgb":
        tiles = filter_tiles(model, layer)  # (N, kh, kw, 3) in 0..1, each filter scaled alone
        image, layout = mosaic(np.round(tiles * 255).astype(np.uint8),
                               cols=min(grid_columns(n_out), 16), scale=scale,
                               gap=max(1, scale // 4))
        caption = (f"{n_out} filters of {kh}×{kw}×{n_in} weights, each stretched to its own "
                   "range of colours (mid-grey in a filter = its middle value)")
        return KernelView(layer, mode, image, layout, weights, 1, caption)
    if mode != "channels":
        raise ValueError(f"mode must be 'rgb' or 'channels' (got {mode!r})")
    shown_out, shown_in = min(n_out, MAX_FILTERS), min(n_in, MAX_INPUTS)
    part = weights[:shown_out, :shown_in]
    colours = diverging(part)  # (out, in, kh, kw, 3), one scale for the layer
    tiles = colours.reshape(shown_out * shown_in, kh, kw, 3)
    per_row = shown_in if shown_in > 1 else 1
    cols = shown_in if shown_in > 1 else min(grid_columns(shown_out), 16)
    image, layout = mosaic(tiles, cols=cols, scale=scale, gap=max(1, scale // 4))
    lim = float(np.max(np.abs(part))) if part.size else 0.0
    from core.insight.graph import find_layer

    conv = find_layer(model, layer)[1]
    kind = type(conv).__name__
    groups = int(getattr(conv, "groups", 1) or 1) if kind == "Conv2D" else 1
    what = ("one filter per input channel (depthwise: no mixing across channels)"
            if kind.startswith("Depthwise") else
            "its depthwise part, one filter per input channel; its 1×1 pointwise part then "
            "mixes the channels (no spatial pattern to draw)" if kind.startswith("Separable")
            else _grouped_words(groups, n_in) if groups > 1 else
            "one row per filter, one square per input channel" if shown_in > 1
            else "one square per filter (the layer has one input channel)")
    more = ""
    if shown_out < n_out or shown_in < n_in:
        more = f"; showing {shown_out} of {n_out} filters × {shown_in} of {n_in} channels"
    on = (f"each on {n_in} of the {n_in * groups} channels" if groups > 1
          else f"on {n_in} channel(s)")
    caption = (f"{n_out} filters of {kh}×{kw} {on}: {what}{more}. "
               f"Full colour = ±{lim:.3g}.")
    return KernelView(layer, "channels", image, layout, part, per_row, caption)


def _grouped_words(groups: int, per_group: int) -> str:
    """A Conv2D with groups > 1 (ConvNeXt's depthwise convolutions are Conv2D(groups=96)):
    it had said "the layer has one input channel" of a 96-channel input (a review)."""
    if per_group == 1:
        return (f"one square per filter, each filter looking at its own one of the {groups} "
                "input channels (groups = channels: depthwise, no mixing across channels)")
    return (f"one row per filter, one square per channel of its group: the {groups} groups "
            f"each see {per_group} of the {groups * per_group} input channels")


class KernelsTab(QWidget):
    """Layer picker + mosaic.

    Emits ``requested(layer, mode)``; the page answers with :meth:`show_view`.
    """

    requested = Signal(str, str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.layers: list = []  # core.insight.explorer.ConvLayer
        self.picked: dict[str, str] = {}  # layer path -> the "Show" the user chose for it
        self.view: Optional[KernelView] = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 6, 0, 0)
        intro = QLabel("A convolution is a set of small filters slid over the image; training "
                       "chooses their weights. The first layer's filters look at the RGB pixels "
                       "and can be shown as colour pictures: in a well-trained network they "
                       "turn into colour edges and blobs. Deeper filters mix many channels, so "
                       "they are shown one square per channel, in blue (−) and orange (+). A "
                       "backbone that started from random weights keeps noise-like filters "
                       "after a short training; ImageNet weights give the clear patterns.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer:"))
        self.layer_combo = QComboBox()
        self.layer_combo.setAccessibleName("Layer")
        self.layer_combo.setMinimumContentsLength(40)
        self.layer_combo.activated.connect(lambda _i: self._layer_chosen())
        row.addWidget(self.layer_combo, 1)
        row.addWidget(QLabel("Show:"))
        self.mode_combo = QComboBox()
        self.mode_combo.setAccessibleName("Show")
        for key, label in MODES:
            self.mode_combo.addItem(label, key)
        self.mode_combo.activated.connect(lambda _i: self._mode_chosen())
        # The window makes every combo shrink to a few characters (compact_combos), and the
        # layer combo took all the room: "Each input channel sep" at 1600 px (a review).
        # Both stretch; this one up to its longest choice, the layer combo takes the rest.
        self.mode_combo.setMaximumWidth(self.mode_combo.sizeHint().width())
        row.addWidget(self.mode_combo, 1)
        lay.addLayout(row)
        self.caption = QLabel("")
        self.note = ""  # the model's note (random weights), kept under every caption
        self.caption.setWordWrap(True)
        self.caption.setObjectName("hint")
        lay.addWidget(self.caption)
        self.grid = TileGridView()
        self.grid.view.setAccessibleName("Kernels")
        lay.addWidget(self.grid, 1)

    def set_layers(self, layers: list, note: str = "") -> None:
        """New model: fill the picker, select the first convolution and ask for its filters."""
        self.layers = list(layers)
        self.picked = {}
        self.view = None
        self.grid.clear()
        self.layer_combo.clear()
        for layer in self.layers:
            self.layer_combo.addItem(layer.label, layer.path)
        self.note = note  # kept under every caption: "Reading the filters…" had replaced it
        self.caption.setText(note or ("This model has no 2-D convolution." if not layers else ""))
        if self.layers:
            self.select_layer(0)

    def select_layer(self, index: int, mode: Optional[str] = None) -> None:
        """Show layer ``index``; ``mode`` as the user's choice for it, else what suits it."""
        self.layer_combo.setCurrentIndex(index)
        if mode is not None:
            self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))
            self._mode_chosen()
        else:
            self._layer_chosen()

    def _layer_chosen(self) -> None:
        """Another layer: "Show" goes back to what suits it (colour for the pixels' layer),
        unless the user chose a "Show" for this layer; it had stayed on "Each input channel"
        when going back from a 1×1 layer to the first convolution."""
        i = self.layer_combo.currentIndex()
        if 0 <= i < len(self.layers):
            layer = self.layers[i]
            mode = self.picked.get(layer.path, "rgb" if layer.colour_ok else "channels")
            self.mode_combo.setCurrentIndex(self.mode_combo.findData(mode))
        self._request()

    def _mode_chosen(self) -> None:
        i = self.layer_combo.currentIndex()
        if 0 <= i < len(self.layers):
            self.picked[self.layers[i].path] = self.mode_combo.currentData()
        self._request()

    def current_request(self) -> tuple[str, str]:
        i = self.layer_combo.currentIndex()
        if i < 0 or i >= len(self.layers):
            return "", ""
        layer = self.layers[i]
        mode = self.mode_combo.currentData()
        if mode == "rgb" and not layer.colour_ok:
            mode = "channels"
        return layer.path, mode

    def _request(self) -> None:
        i = self.layer_combo.currentIndex()
        if 0 <= i < len(self.layers):
            ok = self.layers[i].colour_ok
            item = self.mode_combo.model().item(0)
            item.setEnabled(ok)
            item.setToolTip("" if ok else "Only a layer that sees 1 or 3 channels (the pixels) "
                                          "can be drawn in colour")
            if not ok and self.mode_combo.currentData() == "rgb":
                self.mode_combo.setCurrentIndex(1)
        layer, mode = self.current_request()
        if layer:
            self.caption.setText("Reading the filters…")
            self.requested.emit(layer, mode)

    def show_view(self, view: KernelView) -> None:
        self.view = view
        self.caption.setText(view.caption + (f" {self.note}" if self.note else ""))
        self.grid.set_mosaic(view.image, view.layout, view.describe)

    def show_failure(self) -> None:
        """The request failed (the message is in the page's banner): clear the old filters."""
        self.view = None
        self.grid.clear()
        self.caption.setText("No filters: see the message above.")

    @property
    def tile_count(self) -> int:
        return self.grid.tile_count
