"""Decode big PNG, TIFF and WebP images already shrunk, streaming, in bounded memory.

Slide scans, microscope mosaics, line-scan captures and posters are single
images of 100-600 megapixels.  Pillow decodes a PNG, TIFF or WebP whole (a
600-megapixel RGBA PNG is 2.4 GB before any resize), so :mod:`core.data.imageio`
hands such files to libvips (``pyvips``) instead, through this module: the
loader runs with ``access="sequential"``, so rows flow from the decoder
straight into the shrink and only a strip of rows is ever held -- memory grows
with the *width* of the image and the size asked for, not with its area.  WebP
is decoded scaled by libwebp itself (``scale``; a lossless one still needs 4
bytes per pixel inside libwebp, so big WebPs are decoded one at a time).  JPEGs
stay with Pillow, whose ``Image.draft`` already decodes them at 1/8 scale.

The pixels follow the rules of :mod:`core.data.pixels`, so a big image looks
like the same image decoded by Pillow, give or take resampling: transparency
over white (before the shrink, as Pillow does), 16-bit and float scaled, grey
and CMYK to RGB the way Pillow converts them.  The file is read from the
descriptor ``imageio`` already opened and checked (a regular file), never
reopened by name.  libvips' operation cache is turned off: it would keep open
files and decoded images alive, and hand back a stale image for a file that
was rewritten in place.

libvips is thread-safe and pyvips releases the GIL while it works, so the
training pipeline's decode threads run in parallel here too.  Nothing in this
module raises anything but :class:`StreamError`; ``imageio`` turns it into an
``ImageError`` naming the file.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Optional, Tuple

import numpy as np

from core.data.pixels import scale_to_uint8

#: Pillow format name -> the libvips loader that streams it.
STREAM_FORMATS: dict[str, str] = {"PNG": "pngload_source", "TIFF": "tiffload_source",
                                  "WEBP": "webpload_source"}

#: Pillow's resizer shrinks by whole factors first and only the last <= 3x with the
#: bilinear filter (``reducing_gap=3.0``); :func:`_resize` does the same.
_REDUCING_GAP = 3.0

_INSTALL_HINT = 'install libvips for Python with  pip install "pyvips[binary]"'
_lock = threading.Lock()

# libwebp decodes a *lossless* WebP into a full-size ARGB buffer whatever the
# scale asked for (its back-references may reach anywhere above), up to 1 GB at
# WebP's 16383 x 16383 limit; one big WebP at a time keeps a pool of decode
# threads from multiplying that.  (Lossy WebP decodes scaled, in a few MB; one with
# transparency decodes whole, up to 1 GB at WebP's largest, 16383 x 16383.)
_ONE_WEBP = threading.BoundedSemaphore(1)


class StreamError(Exception):
    """A streamed decode failed; ``kind`` is an ``ImageError`` kind, ``reason`` says what to do."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@functools.lru_cache(maxsize=1)
def _load_vips() -> Tuple[Optional[object], str]:
    """``(pyvips module, "")`` or ``(None, why not)``; imported once, on first need."""
    with _lock:
        try:
            import pyvips
        except Exception as exc:  # ImportError, or OSError when libvips itself is missing
            return None, f"libvips is not available ({type(exc).__name__}: {exc})"
        pyvips.cache_set_max(0)
        # libvips' warnings ("error in tile 0 x 0") name no file; the decode's own error does
        logging.getLogger("pyvips").setLevel(logging.ERROR)
        # Two worker threads per decode, not one per core: the training pipeline
        # already decodes one image per core, and every worker holds its own strip
        # of rows.  (600 MP PNG, 30000 px wide: 1 worker 8.0 s / 109 MB, 2 workers
        # 5.8 s / 126 MB, 8 workers 6.0 s / 169 MB.)
        pyvips.concurrency_set(2)
        return pyvips, ""


def missing_reason() -> str:
    """Why big PNG/TIFF/WebP images cannot be streamed here ("" when they can)."""
    vips, why = _load_vips()
    return "" if vips is not None else f"{why}; {_INSTALL_HINT}"


def can_stream(fmt: str) -> bool:
    """Whether an image of Pillow format ``fmt`` can be decoded shrunk by this module."""
    return fmt in STREAM_FORMATS and _load_vips()[0] is not None


#: Words that mark a libvips error line as its loader's, per format.
_LOADER_WORDS = {"PNG": ("png",), "TIFF": ("tiff",), "WEBP": ("webp",), "JPEG": ("jpeg", "jpg")}


def _error_text(exc: Exception, fmt: str = "") -> str:
    """libvips' error log in one line, without its generic first line.

    The log is the whole process's: two threads decoding two broken files each saw
    the other's lines ("tiff2vips: ...; vipspng: ..." for a TIFF).  Only the lines
    of this format's loader are kept, when it has any.
    """
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith("unable to")] or lines
    words = _LOADER_WORDS.get(fmt, ())
    mine = [ln for ln in useful if any(w in ln.lower() for w in words)]
    return "; ".join(mine or useful[:1])[:300] or type(exc).__name__


def _open(vips, fh, fmt: str, size: Tuple[int, int], header: Tuple[int, int]):
    """The sequential loader for ``fmt`` on the open file, shrinking on load when it can."""
    fh.seek(0)
    source = vips.Source.new_from_descriptor(fh.fileno())
    options = {"access": "sequential", "fail_on": "error"}
    load = getattr(vips.Image, STREAM_FORMATS[fmt])
    if fmt == "WEBP":  # libwebp scales while decoding; keep headroom for a clean resize
        scale = _REDUCING_GAP * max(size[0] / header[0], size[1] / header[1])
        whole = load(source, **options)  # reads the header only
        if scale >= 1.0 or whole.hasalpha():  # libwebp shrinks before the alpha is laid
            return whole  # over white: colours hidden under transparency leaked in
        fh.seek(0)
        source = vips.Source.new_from_descriptor(fh.fileno())
        options["scale"] = scale
    return load(source, **options)


def _flatten(image):
    """Composite the alpha band over white, in the image's own value range (8 or 16 bit)."""
    if not image.hasalpha():
        return image
    if image.format not in ("uchar", "ushort"):
        return image.extract_band(0, n=image.bands - 1)
    top = 65535 if image.format == "ushort" else 255
    return image.flatten(background=[top] * (image.bands - 1), max_alpha=top)


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale to 0..255 as :func:`core.data.pixels.scale_to_uint8` does for Pillow's modes."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return scale_to_uint8(arr, "I;16")
    return scale_to_uint8(arr, "F" if arr.dtype.kind == "f" else "I")


def _to_rgb(arr: np.ndarray, interpretation: str) -> np.ndarray:
    """(H, W[, bands]) uint8 -> (H, W, 3) uint8, converting CMYK as Pillow does."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if interpretation == "cmyk" and arr.shape[2] >= 4:
        ink = arr[..., :3].astype(np.uint32)
        white = 255 - arr[..., 3:4].astype(np.uint32)
        return (white - (ink * white + 127) // 255).astype(np.uint8)
    if arr.shape[2] < 3:
        return np.repeat(arr[..., :1], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def _resize(image, size: Tuple[int, int]):
    """Shrink by whole factors (box average, rows first: the input streams by rows),
    then the last <= 3x with the bilinear filter -- Pillow's ``reducing_gap`` recipe."""
    vshrink = max(1, int(image.height / size[1] / _REDUCING_GAP))
    hshrink = max(1, int(image.width / size[0] / _REDUCING_GAP))
    if vshrink > 1:
        image = image.shrinkv(vshrink)
    if hshrink > 1:
        image = image.shrinkh(hshrink)
    return image.resize(size[0] / image.width, vscale=size[1] / image.height,
                        kernel="linear", gap=0.0)


def _exact_size(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """libvips rounds output sizes itself; nudge a result one pixel off to exactly ``size``."""
    if (arr.shape[1], arr.shape[0]) == tuple(size):
        return arr
    from PIL import Image

    return np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.BILINEAR))


def tiff_header(fh) -> Tuple[int, int, int, int, str]:
    """(stored width, height, EXIF-style orientation, pages, a mode text) of an open TIFF.

    For TIFFs Pillow cannot open or decode (float or 16-bit colour with alpha,
    CIELab, 16-bit grey with alpha ...), which libtiff inside libvips reads.
    Raises :class:`StreamError` when libvips is missing or cannot read it either.
    """
    vips, why = _load_vips()
    if vips is None:
        raise StreamError("unreadable", f"{why}; {_INSTALL_HINT}")
    try:
        fh.seek(0)
        source = vips.Source.new_from_descriptor(fh.fileno())
        image = vips.Image.tiffload_source(source, access="sequential", fail_on="error")
        turn = image.get("orientation") if image.get_typeof("orientation") else 1
        pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
        mode = f"{image.interpretation} {image.format} x{image.bands}"
        return int(image.width), int(image.height), int(turn), int(pages), mode
    except Exception as exc:  # pyvips.Error: not a TIFF libtiff reads either
        raise StreamError("corrupt", f"damaged TIFF ({_error_text(exc, 'TIFF')})") from None


def decode_shrunk(fh, fmt: str, header_size: Tuple[int, int],
                  size: Tuple[int, int]) -> np.ndarray:
    """Decode the open file ``fh`` (Pillow format ``fmt``) straight to ``size`` (w, h).

    ``header_size`` is the stored (w, h) the header gave.  Returns RGB uint8 of
    shape (h, w, 3) in the *stored* orientation (``imageio`` applies EXIF
    rotation on the small result).  Raises :class:`StreamError`: "corrupt" for
    a file libvips cannot decode (cut off, damaged), "oversized" when memory
    runs out, "unreadable" when libvips is missing.
    """
    vips, why = _load_vips()
    if vips is None:
        raise StreamError("unreadable", f"{why}; {_INSTALL_HINT}")
    if fmt == "WEBP":
        with _ONE_WEBP:
            return _decode(vips, fh, fmt, header_size, size)
    return _decode(vips, fh, fmt, header_size, size)


def _decode(vips, fh, fmt: str, header_size: Tuple[int, int],
            size: Tuple[int, int]) -> np.ndarray:
    try:
        image = _flatten(_open(vips, fh, fmt, size, header_size))
        interpretation = str(image.interpretation)
        if interpretation in ("lab", "labs", "lch", "cmc"):
            image = image.colourspace("srgb")
            interpretation = "srgb"
        image = _resize(image, size)
        arr = image.numpy()
    except MemoryError:
        raise StreamError("oversized", "not enough memory to decode it even shrunk; "
                          "resize it or close other programs") from None
    except Exception as exc:  # pyvips.Error from the loader, the resize or the decode itself
        raise StreamError("corrupt", f"damaged or cut-off {fmt} data ({_error_text(exc, fmt)}); "
                          "re-export or remove it") from None
    return _exact_size(_to_rgb(_to_uint8(arr), interpretation), size)
