"""Pillow image -> upright, opaque RGB pixels (no file handling, no error mapping).

:mod:`core.data.imageio` opens files and turns every failure into an
``ImageError``; this module holds the pure pixel rules it applies once an
image is open, so they read as one list: which EXIF orientation means which
transpose, and how every Pillow mode (16-bit, float, LAB, transparent)
becomes 8-bit RGB without clipping or black backgrounds.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from PIL import Image

# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_TAG = 0x0112

#: Orientations that swap width and height (the image is stored lying on its side).
SWAPPING_ORIENTATIONS = (5, 6, 7, 8)


def orientation(img: Image.Image) -> int:
    """EXIF orientation 1..8 without decoding pixels (1 when absent or unreadable)."""
    if img.format == "PNG" and "exif" not in img.info:
        # A PNG's eXIf chunk may follow the pixels; Pillow would decode to find it.
        return 1
    try:
        value = int(img.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # broken EXIF must not make a good image unusable
        return 1
    return value if value in ORIENTATION_TRANSPOSE else 1


def png_late_orientation(fh, max_chunks: int = 100_000) -> int:
    """The orientation of a PNG's eXIf chunk, read by walking the chunk headers (1: none).

    For a PNG too big for Pillow to decode (libvips streams it): Pillow finds an eXIf
    after the pixel data only by decoding them, so a big rotated PNG came out sideways.
    Seeking from chunk to chunk reads a few bytes per chunk, not the pixels.
    """
    import struct

    try:
        fh.seek(8)
        for _ in range(max_chunks):
            head = fh.read(8)
            if len(head) < 8:
                return 1
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                exif = Image.Exif()
                exif.load(fh.read(length))
                value = int(exif.get(_ORIENTATION_TAG, 1))
                return value if value in ORIENTATION_TRANSPOSE else 1
            if kind == b"IEND":
                return 1
            fh.seek(length + 4, 1)  # the data and its CRC
    except Exception:  # broken chunks or EXIF must not make a good image unusable
        return 1
    return 1


def frames(img: Image.Image) -> int:
    """How many frames (pages, animation steps) the header announces; 1 when unsure."""
    try:
        return int(getattr(img, "n_frames", 1) or 1)
    except Exception:
        return 1


def scale_to_uint8(arr: np.ndarray, mode: str,
                   bounds: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """Map 16-bit / 32-bit / float pixels to 0..255 by scaling, never by clipping.

    Integer data uses the range its type implies (0..65535 for 16 bit), so the
    same grey means the same thing in every image of a dataset; only values
    outside that range (or floats outside 0..1) fall back to min-max scaling.
    ``bounds``: the whole image's (min, max) when ``arr`` is a shrunk copy of it, whose
    averaged pixels no longer hold its extremes (:mod:`core.data.huge`).
    """
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = bounds if bounds is not None else (float(arr.min()), float(arr.max()))
        if lo >= 0.0 and hi <= 1.0:
            scaled = arr * 255.0
        elif hi > lo:
            scaled = (arr - lo) * (255.0 / (hi - lo))
        else:
            scaled = np.zeros_like(arr)
    else:
        arr = arr.astype(np.int64)
        lo, hi = (int(bounds[0]), int(bounds[1])) if bounds is not None else \
            (int(arr.min()), int(arr.max()))
        if mode.startswith("I;16") or (lo >= 0 and hi <= 65535 and hi > 255):
            scaled = arr * (255.0 / 65535.0)
        elif lo >= 0 and hi <= 255:
            scaled = arr.astype(np.float64)
        elif hi > lo:
            scaled = (arr - lo) * (255.0 / (hi - lo))
        else:
            scaled = np.zeros(arr.shape)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _over_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is composited over white."""
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:  # an RGB PNG's tRNS colour is
        return img                                        # transparent too (libvips agreed)
    if mode.startswith("I") or mode == "F":
        gray = scale_to_uint8(np.asarray(img), mode)
        if gray.ndim == 3:  # e.g. multi-channel 16-bit TIFF read as such
            gray = gray[..., 0]
        return Image.fromarray(gray).convert("RGB")
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info:
        return _over_white(img)
    if mode == "LAB":
        from PIL import ImageCms

        transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"),
                                            ImageCms.createProfile("sRGB"), "LAB", "RGB")
        return ImageCms.applyTransform(img, transform)
    return img.convert("RGB")
