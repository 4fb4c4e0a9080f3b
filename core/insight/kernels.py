"""Filters you can look at and a kernel playground you can type into.

Two views of the same idea, "a kernel slides over the image":

* :func:`filter_tiles` / :func:`filter_channels` read the kernels a trained
  model learned (the first layer's look like little colour edge and blob
  detectors);
* :func:`apply_kernel` slides a kernel the user typed (or a classic preset)
  over an image and returns the feature map with the size formula filled in.

The playground is plain numpy on purpose: it is exact, needs no TensorFlow, and
is what a deep-learning "convolution" really computes — a *correlation* (the
kernel is not flipped), with zeros outside the image for ``"same"`` padding,
placed exactly where TensorFlow places them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from core.insight.formulas import (CONV_TYPES, conv_output_size, formula_text,
                                   padding_amount, same_padding_pixels, same_split_words)
from core.insight.graph import find_layer, iter_layers
from core.errors import ConfigError
from core.typed_json import json_mistake

MAX_KERNEL = 15  # bigger typed kernels are almost certainly typos, and slow to show


def _k(rows) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)


# Classic hand-made kernels, the ones the lessons name.
PRESET_KERNELS: dict[str, np.ndarray] = {
    "identity": _k([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "edge": _k([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "width-wise edge": _k([[1, 0, -1]]),
    "height-wise edge": _k([[1], [0], [-1]]),
    "sobel x": _k([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    "sobel y": _k([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
    "box blur 3×3": np.full((3, 3), 1 / 9),
    "box blur 5×5": np.full((5, 5), 1 / 25),
    "gaussian blur 3×3": _k([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
}

PRESET_NOTES: dict[str, str] = {
    "identity": "copies the image: a 1 in the middle, 0 elsewhere",
    "edge": "sums to 0, so flat areas go to 0 and any change lights up",
    "width-wise edge": "left minus right: responds to changes along the width (vertical edges)",
    "height-wise edge": "top minus bottom: responds to changes along the height (horizontal edges)",
    "sobel x": "a smoothed width-wise edge detector",
    "sobel y": "a smoothed height-wise edge detector",
    "box blur 3×3": "the average of 9 neighbours",
    "box blur 5×5": "the average of 25 neighbours (1/25 each)",
    "gaussian blur 3×3": "a weighted average, heavier in the middle",
    "sharpen": "the pixel, plus how much it differs from its 4 neighbours",
}


# ---------------------------------------------------------------------------
# Typed kernels
# ---------------------------------------------------------------------------

def _number(token: str, where: str) -> float:
    try:
        if "/" in token:
            return float(Fraction(token))
        return float(token)
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"kernel: {where} {token!r} is not a number; "
                          "write numbers like 1, -0.5 or 1/9") from None


def parse_kernel(text: str) -> np.ndarray:
    """Read a kernel typed as rows, ``"1,0,-1; 1,0,-1"`` (or one row per line), or JSON.

    Numbers may be fractions (``1/9``).  Rows must all have the same length.
    Anything else is a :class:`ConfigError` that says what to fix.
    """
    text = (text or "").strip()
    if not text:
        raise ConfigError("kernel is empty; type rows of numbers like '1,0,-1; 1,0,-1'")
    if text[0] == "[":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"kernel: not valid JSON ({json_mistake(exc)}); "
                              "write [[1,0,-1],[1,0,-1]]") from None
        if isinstance(data, list) and data and not isinstance(data[0], list):
            data = [data]
        if not (isinstance(data, list) and all(isinstance(r, list) for r in data)):
            raise ConfigError("kernel: JSON must be a list of rows, e.g. [[1,0,-1],[1,0,-1]]")
        rows = []
        for i, r in enumerate(data, 1):
            vals = []
            for v in r:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ConfigError(f"kernel: row {i} holds {v!r}, which is not a number")
                vals.append(float(v))
            rows.append(vals)
    else:
        lines = [ln for ln in re.split(r"[;\n]", text) if ln.strip()]
        rows = []
        for i, line in enumerate(lines, 1):
            rows.append([_number(t, f"row {i},") for t in _tokens(line)])
    if not rows or not rows[0]:
        raise ConfigError("kernel has no numbers; type rows like '1,0,-1; 1,0,-1'")
    width = len(rows[0])
    for i, r in enumerate(rows[1:], 2):
        if len(r) != width:
            raise ConfigError(f"kernel: row {i} has {len(r)} numbers but row 1 has {width}; "
                              "every row needs the same count")
    kernel = np.asarray(rows, dtype=np.float64)
    if max(kernel.shape) > MAX_KERNEL:
        raise ConfigError(f"kernel is {kernel.shape[0]}×{kernel.shape[1]}; the playground takes "
                          f"at most {MAX_KERNEL}×{MAX_KERNEL}")
    if not np.all(np.isfinite(kernel)):
        raise ConfigError("kernel holds an infinite or NaN value; use ordinary numbers")
    return kernel


def _tokens(line: str) -> list[str]:
    """A typed row's numbers.  Commas separate them ("1,0,-1", "1, 0, -1"), unless spaces
    do and the commas are decimal ones: every token a plain number with at most one comma
    between digits ("0,1 0,2 0,1", a German or French user's 0.1 0.2 0.1, had been read as
    0 1 0 2 0 1).  A point, a fraction or a token with two commas keeps commas separators."""
    line = line.strip()
    spaced = line.split()
    if len(spaced) > 1 and all(_DECIMAL_COMMA.fullmatch(t) for t in spaced) and "," in line:
        return [t.replace(",", ".") for t in spaced]
    return [t for t in re.split(r"[,\s]+", line) if t]


#: A number written with a decimal comma, or a whole number: -0,25 / 3.
_DECIMAL_COMMA = re.compile(r"-?\d+(,\d+)?")


# ---------------------------------------------------------------------------
# The playground
# ---------------------------------------------------------------------------

@dataclass
class PlaygroundResult:
    """A feature map and the size formula that predicted its shape."""

    output: np.ndarray
    output_shape: tuple
    formula_text: str
    padding: str = "same"
    stride: int = 1

    def to_dict(self) -> dict:
        return {"output": self.output.tolist(), "output_shape": list(self.output_shape),
                "formula_text": self.formula_text, "padding": self.padding, "stride": self.stride}


def _pad_and_windows(x: np.ndarray, kh: int, kw: int, padding: str, stride: tuple) -> np.ndarray:
    """(H, W, C) → windows (Ho, Wo, C, kh, kw), padded the way TensorFlow pads."""
    h, w = x.shape[:2]
    if padding == "same":
        (top, bottom), (left, right) = (same_padding_pixels(h, kh, stride[0]),
                                        same_padding_pixels(w, kw, stride[1]))
        x = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(0, 1))
    return win[::stride[0], ::stride[1]]


def apply_kernel(image: Any, kernel: Any, padding: str = "same", stride: Any = 1) -> PlaygroundResult:
    """Slide ``kernel`` over ``image`` and return the feature map.

    * image (H, W) with kernel (kh, kw): one feature map (Ho, Wo);
    * image (H, W, 3) with kernel (kh, kw): the kernel runs over each colour
      separately, (Ho, Wo, 3) — what photo filters do, so a blur stays in colour;
    * image (H, W, C) with kernel (kh, kw, C) — a learned first-layer filter —
      multiplies all channels and sums them into one map (Ho, Wo), exactly as a
      Conv2D filter does.

    ``output[i, j] = Σ kernel[a, b] · padded[i·S + a, j·S + b]`` (no flipping).
    Ho and Wo follow ``⌊(W − K + 2P)/S⌋ + 1``; ``formula_text`` shows it.
    """
    img = np.asarray(image, dtype=np.float64)
    ker = np.asarray(kernel, dtype=np.float64)
    pad = str(padding).lower()
    if pad not in ("same", "valid"):
        raise ConfigError(f"padding must be 'same' or 'valid' (got {padding!r})")
    strides = (int(stride), int(stride)) if np.isscalar(stride) else tuple(int(s) for s in stride)
    if len(strides) != 2 or min(strides) < 1:
        raise ConfigError(f"stride must be a whole number ≥ 1 (got {stride!r})")
    if img.ndim not in (2, 3) or img.shape[0] < 1 or img.shape[1] < 1:
        raise ConfigError(f"image must be H×W or H×W×C (got shape {img.shape})")
    if ker.ndim not in (2, 3) or ker.size == 0:
        raise ConfigError(f"kernel must be k×k (or k×k×C for a learned filter); got shape {ker.shape}")
    if not np.all(np.isfinite(ker)):
        raise ConfigError("kernel holds an infinite or NaN value; use ordinary numbers")
    kh, kw = ker.shape[:2]
    h, w = img.shape[:2]
    if pad == "valid" and (kh > h or kw > w):
        raise ConfigError(f"a {kh}×{kw} kernel does not fit in a {h}×{w} image with 'valid' "
                          "padding; use 'same' or a smaller kernel")
    x = img if img.ndim == 3 else img[:, :, None]
    win = _pad_and_windows(x, kh, kw, pad, strides)  # (Ho, Wo, C, kh, kw)
    if ker.ndim == 3:
        if ker.shape[2] != x.shape[2]:
            raise ConfigError(f"a {kh}×{kw}×{ker.shape[2]} filter needs an image with "
                              f"{ker.shape[2]} channels (this one has {x.shape[2]})")
        out = np.einsum("ijcab,abc->ij", win, ker)
    else:
        out = np.einsum("ijcab,ab->ijc", win, ker)
        if img.ndim == 2:
            out = out[:, :, 0]
    expected = (conv_output_size(h, kh, strides[0], pad), conv_output_size(w, kw, strides[1], pad))
    assert out.shape[:2] == expected, (out.shape, expected)  # the formula is the implementation's spec
    th = formula_text(h, kh, strides[0], pad)
    tw = formula_text(w, kw, strides[1], pad)
    text = th if th == tw else f"H: {th}; W: {tw}"
    if pad == "same":  # P = 1.5 or ½ is the textbook's; say where the zeros really go
        words = same_split_words([same_padding_pixels(h, kh, strides[0]),
                                  same_padding_pixels(w, kw, strides[1])],
                                 textbook=[padding_amount(h, kh, strides[0], pad),
                                           padding_amount(w, kw, strides[1], pad)])
        if words:
            text += f" (the textbook's P; TensorFlow really adds {words})"
    return PlaygroundResult(output=out, output_shape=tuple(out.shape), formula_text=text,
                            padding=pad, stride=strides[0] if strides[0] == strides[1] else strides)


# ---------------------------------------------------------------------------
# Learned filters
# ---------------------------------------------------------------------------

def _conv_kernel(layer: Any) -> np.ndarray:
    kind = type(layer).__name__
    # Keras 3 keeps a depthwise layer's filters in ``kernel`` and a separable
    # layer's spatial ones in ``depthwise_kernel``.
    var = getattr(layer, "depthwise_kernel", None)
    if var is None:
        var = getattr(layer, "kernel", None)
    if var is None:
        raise ConfigError(f"layer {layer.name!r} ({kind}) has no convolution kernel to show")
    return np.asarray(var.numpy() if hasattr(var, "numpy") else var, dtype=np.float32)


def first_conv_layer(model: Any) -> tuple[str, Any]:
    """``(path, layer)`` of the first 2-D convolution, walking into the backbone."""
    for path, layer in iter_layers(model):
        if type(layer).__name__ in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            return path, layer
    raise ConfigError("the model has no 2-D convolution layer, so there are no filters to show")


def filter_channels(model: Any, layer_name: Optional[str] = None) -> np.ndarray:
    """The kernels of a convolution layer as ``(out, in, kh, kw)``.

    Keras stores Conv2D kernels as (kh, kw, in, out).  A depthwise layer has one
    filter per input channel (times ``depth_multiplier``) that sees only its own
    channel, so it comes back as ``(in·multiplier, 1, kh, kw)`` in Keras' output
    channel order; a separable layer gives its depthwise part (its 1×1
    pointwise part has no spatial extent to look at).
    """
    if layer_name is None:
        _, layer = first_conv_layer(model)
    else:
        _, layer, _ = find_layer(model, layer_name)
    kind = type(layer).__name__
    if kind not in CONV_TYPES or not kind.endswith("2D"):
        raise ConfigError(f"layer {layer.name!r} is a {kind}, not a 2-D convolution; pick a "
                          "Conv2D, DepthwiseConv2D or SeparableConv2D layer")
    k = _conv_kernel(layer)
    if kind.startswith(("Depthwise", "Separable")):
        kh, kw, cin, mult = k.shape
        return np.ascontiguousarray(k.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None])
    out = k.transpose(3, 2, 0, 1)
    if out.shape[1] == 3 and _sees_bgr(model, layer):
        out = out[:, ::-1]  # channel 0 weighs blue: put it back in the R, G, B the user sees
    return np.ascontiguousarray(out)


def _sees_bgr(model: Any, layer: Any) -> bool:
    """Whether ``layer`` is the first convolution behind the "caffe" preprocessing (VGG16,
    ResNet50: RGB turned to BGR), so its input channels are B, G, R; their filters were
    drawn with red and blue swapped."""
    names = [lyr.name for _path, lyr in iter_layers(model)]
    if "preprocess_caffe" not in names:
        return False
    try:
        return first_conv_layer(model)[1] is layer
    except ConfigError:
        return False


def filter_tiles(model: Any, layer_name: Optional[str] = None,
                 normalize: str = "filter") -> np.ndarray:
    """The first convolution's filters as RGB pictures ``(N, kh, kw, 3)`` in 0..1.

    Each filter is min-max scaled on its own (``normalize="filter"``) so its
    pattern is visible however small its weights are; ``"global"`` scales all
    filters together so their strengths can be compared.  0.5 is "zero weight"
    only with global scaling.  A filter on a 1-channel input is shown grey;
    only layers that see 1 or 3 channels can be shown as colour tiles.
    """
    ch = filter_channels(model, layer_name)  # (out, in, kh, kw)
    if ch.shape[1] not in (1, 3):
        raise ConfigError(f"layer {layer_name or 'the first convolution'} sees {ch.shape[1]} "
                          "channels; colour tiles need 1 or 3 (use filter_channels to see "
                          "each channel)")
    tiles = ch.transpose(0, 2, 3, 1)
    if tiles.shape[-1] == 1:
        tiles = np.repeat(tiles, 3, axis=-1)
    if normalize == "global":
        lo, hi = tiles.min(), tiles.max()
        span = hi - lo
        return (((tiles - lo) / span) if span > 0 else np.full_like(tiles, 0.5)).astype(np.float32)
    if normalize != "filter":
        raise ConfigError(f"normalize must be 'filter' or 'global' (got {normalize!r})")
    lo = tiles.min(axis=(1, 2, 3), keepdims=True)
    hi = tiles.max(axis=(1, 2, 3), keepdims=True)
    span = hi - lo
    safe = np.where(span > 0, span, 1)
    return np.where(span > 0, (tiles - lo) / safe, 0.5).astype(np.float32)
