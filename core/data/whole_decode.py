"""Big images that cannot be decoded a strip at a time: interlaced PNG, progressive JPEG.

An interlaced (Adam7) PNG spreads every row over seven passes, so libpng holds the whole
image to put it together, whatever libvips' sequential loader asks for; a progressive
JPEG refines every block over several scans, so libjpeg holds every DCT coefficient
(2 bytes per sample), whatever ``Image.draft``'s scale.  A 144-megapixel RGB image of
either kind took 460-500 MB to decode shrunk, against 40-100 MB for the same pixels
saved plainly (a review), and a 4-gigapixel one (under :data:`MAX_PIXELS`) would take
13 GB per decode thread.

So such an image counts by the bytes its decoder holds: above :data:`WHOLE_LIMIT_BYTES`
(1.5 GiB: a decode held whole stays inside the 2 GB that training may use above its level
on small images, and an interlaced PNG or a progressive 4:2:0 JPEG up to about 500
megapixels is still read rather than skipped) it is "oversized", with how to save it so
that it streams; above :data:`ONE_AT_A_TIME_BYTES` (a full-size RGBA decode, the most
Pillow holds for any other image) it is decoded one at a time, so a pool of decode
threads holds that much once, not once per thread.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Optional

from PIL import Image

#: The full-size limit (:data:`core.data.image_open.MAX_DECODE_PIXELS`, which imports this).
MAX_DECODE_PIXELS: int = 8192 * 8192
WHOLE_LIMIT_BYTES: int = 3 * 2**29
ONE_AT_A_TIME_BYTES: int = MAX_DECODE_PIXELS * 4

_ONE_WHOLE = threading.BoundedSemaphore(1)

#: Bands libvips decodes each PNG mode of Pillow's to (a palette becomes RGB or RGBA).
_PNG_BANDS = {"1": 1, "L": 1, "I": 1, "I;16": 1, "I;16B": 1, "LA": 2, "RGB": 3, "RGBA": 4,
              "P": 3, "PA": 4}


def _png_bytes(img: Image.Image) -> int:
    bands = _PNG_BANDS.get(img.mode, 4)
    if img.mode == "P" and "transparency" in img.info:
        bands = 4
    tile = getattr(img, "tile", None)
    rawmode = str(tile[0].args) if tile else ""
    depth = 2 if "16" in rawmode or img.mode.startswith("I") else 1
    return img.size[0] * img.size[1] * bands * depth


def _jpeg_bytes(img: Image.Image) -> int:
    """libjpeg's whole-image coefficient arrays: 64 coefficients of 2 bytes per block."""
    layers = getattr(img, "layer", None) or [(0, 1, 1, 0)] * len(img.getbands())
    max_h = max(h for _, h, _, _ in layers)
    max_v = max(v for _, _, v, _ in layers)
    w, h = img.size
    total = 0
    for _, hs, vs, _ in layers:
        blocks_w = -(-w * hs // (max_h * 8))  # ceil, as libjpeg's width_in_blocks
        blocks_h = -(-h * vs // (max_v * 8))
        blocks_w += -blocks_w % hs  # whole MCUs
        blocks_h += -blocks_h % vs
        total += blocks_w * blocks_h * 128
    return total


def whole_bytes(img: Image.Image) -> int:
    """Bytes the decoder of ``img`` holds at once however small it is asked for: the whole
    image (interlaced PNG) or its coefficients (progressive JPEG); 0 for any other image."""
    if img.format == "PNG" and img.info.get("interlace"):
        return _png_bytes(img)
    if img.format in ("JPEG", "MPO") and img.info.get("progressive"):
        return _jpeg_bytes(img)
    return 0


def too_whole(img: Image.Image) -> Optional[tuple[str, str]]:
    """``(why, what to do)`` when ``img`` is too big to decode whole, else None."""
    need = whole_bytes(img)
    if need <= WHOLE_LIMIT_BYTES or img.size[0] * img.size[1] <= MAX_DECODE_PIXELS:
        return None
    amounts = f"({need / 2**20:,.0f} MB; limit {WHOLE_LIMIT_BYTES / 2**20:,.0f} MB)"
    if img.format == "PNG":
        return (f"whole, as an interlaced PNG must be {amounts}",
                "save it without interlacing (then it is read a strip at a time), "
                "resize it or remove it")
    return (f"whole, as a progressive JPEG must be {amounts}",
            "save it as a baseline (not progressive) JPEG (then it is decoded shrunk), "
            "resize it or remove it")


def one_at_a_time(img: Image.Image):
    """A context in which to decode ``img``: held alone when its decoder holds it whole and
    that is more than :data:`ONE_AT_A_TIME_BYTES`."""
    if whole_bytes(img) > ONE_AT_A_TIME_BYTES:
        return _ONE_WHOLE
    return contextlib.nullcontext()
