"""What each layer "sees": the feature maps of one image, layer by layer.

Keras only exposes tensors of one graph at a time: ``keras.Model(model.input,
layer.output)`` fails for a layer *inside* the nested ``backbone``, because that
layer's output lives in the backbone's own graph.  :class:`Tap` therefore cuts
the model at the nested model's boundary into three functional sub-models —
before the backbone, the backbone exposing the chosen layer, and after it —
and runs them in turn.  The result is the same computation the full model does
(inference mode), with the chosen layer's output kept; Grad-CAM reuses it to
take gradients with respect to that output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from core.insight.graph import (find_layer, graph_nodes, is_container, node_of, output_shapes,
                                shape_of)
from core.errors import ConfigError


def _one(tensors):
    tensors = list(tensors)
    return tensors[0] if len(tensors) == 1 else tensors


def _same(a, b) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _submodel(inputs, outputs):
    """A functional model from (possibly intermediate) tensors, or None for "pass through"."""
    import keras

    if _same(list(inputs), list(outputs)):
        return None
    return keras.Model(_one(inputs), _one(outputs))


class Tap:
    """Run ``model`` on images and also return one inner layer's output.

    ``tap(x) -> (layer_output, model_output)``, both tensors, inside whatever
    ``tf.GradientTape`` the caller holds.  Works for plain Sequential and
    functional models and for layers inside nested models (any depth), as long
    as the part after a nested model depends only on that model's output — true
    of the app's classifier and of keras.applications models.
    """

    def __init__(self, model: Any, layer_name: str) -> None:
        containers, layer, path = find_layer(model, layer_name)
        if is_container(layer):
            raise ConfigError(f"{path} is a whole nested model; pick one of its layers")
        self.model, self.layer, self.path = model, layer, path
        self._graph = graph_nodes(model)
        self._fn = self._build(model, containers, layer)

    def _build(self, model, containers, layer):
        if not containers:
            node = node_of(layer, graph=self._graph)
            target = list(node.output_tensors)
            sub = _submodel(model.inputs, target + list(model.outputs))
            n = len(target)

            def run(x):
                outs = sub(x, training=False)
                outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
                return _one(outs[:n]), _one(outs[n:])
            return run
        nested = containers[0]
        node = node_of(nested, graph=self._graph)
        pre = _submodel(model.inputs, node.input_tensors)
        post = _submodel(node.output_tensors, model.outputs)
        inner = self._build(nested, containers[1:], layer)

        def run(x):
            h = pre(x, training=False) if pre is not None else x
            feat, y = inner(h)
            return feat, (post(y, training=False) if post is not None else y)
        return run

    def __call__(self, x):
        return self._fn(x)


def _input_size(model: Any) -> Optional[tuple]:
    shape = shape_of(model.inputs[0])
    return tuple(shape[1:3]) if len(shape) == 4 and None not in shape[1:3] else None


def prepare_images(model: Any, images: Any) -> np.ndarray:
    """uint8 (H, W, 3) or (N, H, W, 3) → float32 batch at the model's input size.

    The app's model takes raw 0–255 pixels and does its own preprocessing, so
    the only thing to do here is make a batch and resize (bilinear) when the
    picture is not the size the model was built for.
    """
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
        raise ConfigError(f"expected an H×W×3 image (or a batch of them); got shape {arr.shape}")
    if arr.shape[-1] == 4:
        arr = arr[..., :3]
    want_c = shape_of(model.inputs[0])[-1]
    if arr.shape[-1] == 1 and want_c == 3:
        arr = np.repeat(arr, 3, axis=-1)
    arr = arr.astype(np.float32)
    if arr.shape[-1] == 3 and want_c == 1:  # a grayscale model (MNIST-like): ITU-R 601 luma
        arr = arr @ np.array([0.299, 0.587, 0.114], np.float32)[:, None]
    if want_c not in (None, arr.shape[-1]):
        raise ConfigError(f"this model takes images with {want_c} channels; only 1 (grey) or 3 "
                          "(colour) can be shown here")
    size = _input_size(model)
    if size is not None and tuple(arr.shape[1:3]) != size:
        import tensorflow as tf

        arr = tf.image.resize(arr, size, method="bilinear").numpy()
    return arr


def listable_layers(model: Any) -> list[tuple[str, str, tuple]]:
    """``(path, type, output_shape)`` of every layer whose output is a stack of maps.

    Those are the layers worth showing as pictures (4-D outputs, H×W > 1),
    in the order the image passes through them, ready for a picker that steps
    through them one by one.
    """
    out = []
    for path, layer, shape in output_shapes(model):
        if type(layer).__name__ == "InputLayer":
            continue
        if len(shape) == 4 and (shape[1] or 2) * (shape[2] or 2) > 1:
            out.append((path, type(layer).__name__, shape))
    return out


class FeatureMapProbe:
    """Feature maps for many layers of one model, re-using the sub-models it builds.

    Building the cut-up model costs more than running it, so a GUI stepping
    through layers keeps one probe per model.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self._taps: dict[str, Tap] = {}
        self._layers: Optional[list] = None

    @property
    def layers(self) -> list[tuple[str, str, tuple]]:
        if self._layers is None:
            self._layers = listable_layers(self.model)
        return self._layers

    def tap(self, layer_name: str) -> Tap:
        if layer_name not in self._taps:
            self._taps[layer_name] = Tap(self.model, layer_name)
        return self._taps[layer_name]

    def maps(self, image_uint8: Any, layer_name: str) -> np.ndarray:
        x = prepare_images(self.model, image_uint8)[:1]
        feat, _ = self.tap(layer_name)(x)
        arr = np.asarray(feat[0] if not isinstance(feat, list) else feat[0][0], dtype=np.float32)
        if arr.ndim != 3:
            raise ConfigError(f"layer {layer_name!r} gives shape {arr.shape}, not a stack of "
                              "feature maps; pick a convolution, pooling or activation layer")
        return arr

    def step(self, image_uint8: Any, index: int) -> tuple[str, np.ndarray]:
        """The ``index``-th listable layer's name and maps (wraps around)."""
        if not self.layers:
            raise ConfigError("this model has no layer with feature maps to show")
        name = self.layers[index % len(self.layers)][0]
        return name, self.maps(image_uint8, name)


def feature_maps(model: Any, image_uint8: Any, layer_name: str) -> np.ndarray:
    """The output of ``layer_name`` for one image as ``(h, w, channels)`` float32."""
    return FeatureMapProbe(model).maps(image_uint8, layer_name)


@dataclass
class MapGrid:
    """Feature maps laid out as one picture for display."""

    image: np.ndarray  # (rows·h + gaps, cols·w + gaps) float32 in 0..1
    channels: list     # which channel each tile shows, row by row
    rows: int
    cols: int
    #: Tiles whose channel holds one value everywhere: drawn as 0, the same as a channel's
    #: lowest, so a page shows them apart.
    flat: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"shape": list(self.image.shape), "channels": self.channels,
                "rows": self.rows, "cols": self.cols}


def tile_maps(maps: np.ndarray, max_channels: int = 64, gap: int = 1) -> MapGrid:
    """Lay the first ``max_channels`` maps out in a near-square grid, each scaled to 0..1.

    Each map gets its own scale: the point is where a channel responds, and a
    shared scale would leave most channels black next to one loud one.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ConfigError(f"feature maps must be h×w×channels (got shape {maps.shape})")
    n = min(maps.shape[2], max_channels)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols)) if n else 0
    h, w = maps.shape[:2]
    grid = np.zeros((rows * h + max(rows - 1, 0) * gap, cols * w + max(cols - 1, 0) * gap),
                    dtype=np.float32)
    flat = []
    for i in range(n):
        m = maps[:, :, i]
        lo, hi = float(m.min()), float(m.max())
        tile = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        if not hi > lo:
            flat.append(i)
        r, c = divmod(i, cols)
        grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile
    return MapGrid(image=grid, channels=list(range(n)), rows=rows, cols=cols, flat=flat)


#: Layers that are an activation themselves.
_ACTIVATION_KINDS = ("ReLU", "Activation", "LeakyReLU", "ELU", "PReLU", "Softmax")


def zeros_cause(model: Any, name: str, kind: str) -> str:
    """Where exact zeros in layer ``name``'s maps come from, in words: its own activation,
    the border a padding layer adds, or its input.  The page said "switched off by the
    activation" on every layer, padding and linear convolutions included (a review)."""
    if kind.startswith("ZeroPadding"):  # the caption splits them (padding_zeros)
        return "the zeros added around the border, and values already 0 in its input"
    if kind in _ACTIVATION_KINDS:
        return "switched off by the activation"
    try:
        act = getattr(find_layer(model, name)[1], "activation", None)
    except ConfigError:
        act = None
    if act is not None and getattr(act, "__name__", "linear") != "linear":
        return "switched off by the activation"
    return "already 0 in this layer's input"


def padding_zeros(model: Any, name: str, maps: np.ndarray) -> Optional[tuple]:
    """For a ZeroPadding2D layer's ``maps``: (share of all values that are the border it
    added, share that lies inside and was already 0 in its input).  MobileNetV2's
    block_1_pad is 63% zeros, 8% of them its border: the rest came from the ReLU before,
    and all had been put down to the border (a review).  None for other layers."""
    try:
        layer = find_layer(model, name)[1]
    except ConfigError:
        return None
    if type(layer).__name__ != "ZeroPadding2D" or maps.ndim != 3 or not maps.size or \
            (getattr(layer, "data_format", "channels_last") or "channels_last") != "channels_last":
        return None
    (top, bottom), (left, right) = _pad_pairs(layer.padding)
    h, w = maps.shape[:2]
    inner = maps[top:h - bottom, left:w - right]
    return 1 - inner.size / maps.size, float(np.count_nonzero(inner == 0)) / maps.size


def _pad_pairs(padding: Any) -> tuple:
    """ZeroPadding2D's padding as ((top, bottom), (left, right))."""
    if isinstance(padding, int):
        padding = (padding, padding)
    return tuple((int(p), int(p)) if isinstance(p, int) else (int(p[0]), int(p[1]))
                 for p in tuple(padding)[:2])
