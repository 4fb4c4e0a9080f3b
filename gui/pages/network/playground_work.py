"""The kernel playground's work, off the UI thread: decode the image, apply the kernel,
make the result showable (no Qt: :class:`~gui.pages.network.playground_tab.PlaygroundTab`
shows it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

PLAY_SIDE = 160   # the image's longer side in the playground (small numbers, quick maths)
PLAY_SHORT = 32   # ... but its shorter side at least this (or as it is)
PLAY_MAX_SIDE = 2048  # a longer strip is cut to its middle this long, not shrunk further


def to_display(values: np.ndarray) -> tuple[np.ndarray, str]:
    """A float map (H, W) or (H, W, 3) → uint8 RGB for the screen, and how it was scaled.

    Values already in 0..255 (a blur, the identity) are shown as they are, so
    the result can be compared with the input; anything else (edges go
    negative, a learned filter has its own range) is stretched from its
    minimum (black) to its maximum (white), and the caption says so.
    """
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    if lo >= 0 and hi <= 255:
        out, how = v, "shown as is (0 = black, 255 = white)"
    else:
        span = hi - lo
        out = (v - lo) / span * 255 if span > 0 else np.zeros_like(v)
        how = f"stretched: black = {lo:.4g}, white = {hi:.4g}"
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    return np.ascontiguousarray(out), how


@dataclass
class PlayOutcome:
    image: np.ndarray         # the input as used, uint8 RGB (grey images repeated to RGB)
    output: np.ndarray        # uint8 RGB for the screen
    scaling: str
    input_shape: tuple        # (H, W) or (H, W, C)
    output_shape: tuple
    formula_text: str
    padding: str
    stride: int
    cut_from: Optional[tuple] = None  # (H, W) decoded, when only its middle was used

    def size_text(self) -> str:
        hi, wi = self.input_shape[:2]
        ho, wo = self.output_shape[:2]
        cut = f" (the middle of {self.cut_from[0]}×{self.cut_from[1]})" if self.cut_from else ""
        return f"Input {hi}×{wi}{cut} → output {ho}×{wo}"


def middle(rgb: np.ndarray, most: int = PLAY_MAX_SIDE) -> np.ndarray:
    """The middle ``most`` pixels of ``rgb``'s longer side (all of it when shorter)."""
    h, w = rgb.shape[:2]
    top, left = max(0, (h - most) // 2), max(0, (w - most) // 2)
    return rgb[top:top + min(h, most), left:left + min(w, most)]


def playground_run(image_path: str, grey: bool, kernel: np.ndarray, padding: str, stride: int,
                   side: int = PLAY_SIDE, listener=None, cancel=None) -> PlayOutcome:
    """Worker: decode the image (longer side ``side``), apply the kernel, make it showable."""
    from core.errors import DataError
    from core.data.imageio import ImageError, load_thumbnail
    from core.insight.kernels import apply_kernel

    from core.data.probe import probe_image

    try:
        info = probe_image(image_path)
        # A 4000×20 strip at 160 px on its longer side was 1 px tall: no 3×3 kernel fit.
        # Longer strips than PLAY_MAX_SIDE at that height are cut, not shrunk (20000×12
        # had become 2048×1).  At most PLAY_SHORT × the long side: a few MB.
        long, short = max(info.width, info.height), max(1, min(info.width, info.height))
        side = max(side, min(-(-min(short, PLAY_SHORT) * long // short), long))
        decoded = load_thumbnail(image_path, side)
    except ImageError as exc:
        raise DataError(f"{exc}; choose another image") from None
    rgb = middle(decoded)
    cut_from = decoded.shape[:2] if rgb.shape != decoded.shape else None
    img = rgb.astype(np.float64)
    if grey:
        img = img @ np.array([0.299, 0.587, 0.114])  # luminance, as a greyscale photo
        shown = np.repeat(np.round(img).astype(np.uint8)[:, :, None], 3, axis=2)
    else:
        shown = rgb
    result = apply_kernel(img, kernel, padding=padding, stride=stride)
    output, how = to_display(result.output)
    return PlayOutcome(np.ascontiguousarray(shown), output, how, tuple(img.shape),
                       tuple(result.output_shape), result.formula_text, result.padding,
                       int(stride), cut_from)
