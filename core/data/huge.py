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

The pixels follow the rules of :mod:`core.data.pixels`: transparency over
white (before the shrink, as Pillow does), 16-bit and float scaled, grey and
CMYK to RGB the way Pillow converts them.  The resize is Pillow's own
``resize(BILINEAR, reducing_gap=3.0)``, the one an export's README.txt gives:
libvips box-shrinks by Pillow's whole factors, and Pillow does the last 3-6x
bilinear step on that small result, over the same box.  So a big image comes
out within a grey level of the same file decoded whole by Pillow, except a
lossy WebP, which libwebp decodes already scaled (a few grey levels), and sizes
above ~680 px, shrunk further to keep what Pillow holds small.

The file is read from the descriptor ``imageio`` already opened and checked (a
regular file), never reopened by name.  libvips' operation cache is turned off:
it would keep open files and decoded images alive, and hand back a stale image
for a file that was rewritten in place.

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

from core.data.pixels import ORIENTATION_TRANSPOSE, SWAPPING_ORIENTATIONS, scale_to_uint8

#: Pillow format name -> the libvips loader that streams it.
STREAM_FORMATS: dict[str, str] = {"PNG": "pngload_source", "TIFF": "tiffload_source",
                                  "WEBP": "webpload_source"}

#: Pillow's resizer shrinks by whole factors first and only the last 3-6x with the
#: bilinear filter (``reducing_gap=3.0``); :func:`_shrink_factors` does the same.
_REDUCING_GAP = 3.0

#: The most pixels the shrunk intermediate handed to Pillow may have (28 MB as 8-bit RGB):
#: Pillow's own factors for any size up to ~680 px, a little more shrinking above.
_PILLOW_STEP_PIXELS = 3072 * 3072

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


def _to_uint8(arr: np.ndarray, bounds: Optional[Tuple[float, float]] = None) -> np.ndarray:
    """Scale to 0..255 as :func:`core.data.pixels.scale_to_uint8` does for Pillow's modes;
    ``bounds``: the full-size image's range, for the modes scaled by their own range."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.uint16:
        return scale_to_uint8(arr, "I;16")
    return scale_to_uint8(arr, "F" if arr.dtype.kind == "f" else "I", bounds)


def _own_range(arr: np.ndarray) -> bool:
    """Whether ``arr``'s scaling depends on its own min and max (float, 32-bit)."""
    return arr.dtype not in (np.uint8, np.uint16)


def _full_range(image) -> Tuple[float, float]:
    """The loaded (not yet shrunk) image's min and max, in one streaming pass: a shrunk copy
    had averaged away the few pixels outside 0..1 that set a float image's scaling, so a big
    float TIFF came out at another brightness than the same pixels read whole (a review)."""
    stats = image.stats()  # one pass (a sequential read cannot start again): row 0 is
    lo, hi = float(stats(0, 0)[0]), float(stats(1, 0)[0])  # every band's min and max
    if not (np.isfinite(lo) and np.isfinite(hi)):  # NaN or inf: as Pillow's path, from data
        raise ValueError("not finite")
    return lo, hi


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


def _shrink_factors(width: int, height: int, size: Tuple[int, int]) -> Tuple[int, int]:
    """(horizontal, vertical) whole factors libvips box-shrinks by before the bilinear step.

    Pillow's ``reducing_gap=3.0`` factors (the README.txt recipe's), so the last step is the
    same 3-6x; raised only when that would leave more than :data:`_PILLOW_STEP_PIXELS` (a
    size above ~680 px on a big image), as Pillow holds the intermediate whole.
    """
    hs = max(1, int(width / size[0] / _REDUCING_GAP))
    vs = max(1, int(height / size[1] / _REDUCING_GAP))
    cap = max(_PILLOW_STEP_PIXELS, size[0] * size[1])
    h_room, v_room = max(1, width // size[0]), max(1, height // size[1])  # never below size
    while -(-width // hs) * -(-height // vs) > cap and (hs < h_room or vs < v_room):
        if hs < h_room and (vs >= v_room or width / hs / size[0] >= height / vs / size[1]):
            hs += 1
        else:
            vs += 1
    return hs, vs


#: Per EXIF orientation, which stored axes (x, y) run backwards in the upright picture.
_BACKWARDS = {2: (True, False), 3: (True, True), 4: (False, True), 6: (False, True),
              7: (True, True), 8: (True, False)}


def _shrink(image, factors: Tuple[int, int], turn: int = 1):
    """Box-average by whole factors, rows first (the input streams by rows): Pillow's
    ``Image.reduce``, whose partial last block is the mean of the pixels it has.

    ``turn``: the blocks are laid from the *upright* picture's corner, as Pillow lays
    them on a TIFF it turned while loading: along an axis that runs backwards, the
    partial block comes first (up to 5 grey levels apart otherwise).  For columns that
    is a join; for rows :func:`_decode` decodes that block apart, as a join asking for
    row 0 after the others broke the sequential read ("out of order read").

    Rows are averaged in the file's own format: a wider one holds 2-4x the memory in
    the strips of a wide image (libvips' 8-bit shrinkv is up to a grey level off).
    Columns are averaged in 16 bits: libvips' 8-bit shrinkh rounds a grey level off
    and, as one part of a join, wrote its rows astray (the first columns ~100 off).
    """
    if factors[1] > 1:
        image = _shrink_axis(image, factors[1], True, False)
    if factors[0] > 1:
        fmt = image.format
        image = _shrink_axis(image.cast("ushort") if fmt == "uchar" else image, factors[0],
                             False, _BACKWARDS.get(turn, (False, False))[0]).cast(fmt)
    return image


def _shrink_axis(image, factor: int, vertical: bool, partial_first: bool):
    """One axis of :func:`_shrink`.  libvips' ``ceil=True`` pads a partial block with
    copies of the edge (220 for a true mean of 199), so that block is averaged apart."""
    n = image.height if vertical else image.width
    rest = n % factor

    def shrink(part, by):
        return part.shrinkv(by) if vertical else part.shrinkh(by)

    if rest == 0:
        return shrink(image, factor)

    def rows(start, length):
        return image.crop(*((0, start, image.width, length) if vertical
                            else (start, 0, length, image.height)))

    body = shrink(rows(rest if partial_first else 0, n - rest), factor)
    edge = shrink(rows(0 if partial_first else n - rest, rest), rest)
    first, second = (edge, body) if partial_first else (body, edge)
    return first.join(second, "vertical" if vertical else "horizontal")


def _bilinear(rgb: np.ndarray, stored: Tuple[int, int], factors: Tuple[int, int],
              size: Tuple[int, int], turn: int = 1) -> np.ndarray:
    """The last 3-6x step by Pillow itself, over the exact box the shrunk pixels cover.

    Pillow's ``resize(reducing_gap=3.0)`` maps ``stored / factor`` columns (5000/17 =
    294.12) onto the output, not the whole 295 the shrink left; libvips' own resize
    mapped the rounded width and gave up to 10 grey levels off the README.txt recipe.
    ``turn`` is applied first (exact on the small intermediate); ``size`` is stored (w, h).
    """
    from PIL import Image

    small = Image.fromarray(rgb)
    box = (0.0, 0.0, stored[0] / factors[0], stored[1] / factors[1])
    if turn in SWAPPING_ORIENTATIONS:
        box, size = (0.0, 0.0, box[3], box[2]), (size[1], size[0])
    if turn in ORIENTATION_TRANSPOSE:
        small = small.transpose(ORIENTATION_TRANSPOSE[turn])
    return np.asarray(small.resize(size, Image.Resampling.BILINEAR, box=box))


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
                  size: Tuple[int, int], turn: int = 1) -> np.ndarray:
    """Decode the open file ``fh`` (Pillow format ``fmt``) straight to ``size`` (w, h).

    ``header_size`` is the stored (w, h) the header gave, ``size`` is in the stored
    orientation too.  Returns RGB uint8 of shape (h, w, 3) in the *stored* orientation
    (``imageio`` applies EXIF rotation on the small result), or turned upright by
    ``turn`` before the last resize step when one is given: Pillow turns a TIFF upright
    while loading it, so the README.txt recipe resizes a TIFF upright.  Raises
    :class:`StreamError`: "corrupt" for a file libvips cannot decode (cut off,
    damaged), "oversized" when memory runs out, "unreadable" when libvips is missing.
    """
    vips, why = _load_vips()
    if vips is None:
        raise StreamError("unreadable", f"{why}; {_INSTALL_HINT}")
    if fmt == "WEBP":
        with _ONE_WEBP:
            return _decode(vips, fh, fmt, header_size, size, turn)
    return _decode(vips, fh, fmt, header_size, size, turn)


def _loaded(vips, fh, fmt: str, size: Tuple[int, int], header_size: Tuple[int, int]):
    """(the image opened on ``fh``, laid over white, CIELab made sRGB; its interpretation)."""
    image = _flatten(_open(vips, fh, fmt, size, header_size))
    interpretation = str(image.interpretation)
    if interpretation in ("lab", "labs", "lch", "cmc"):
        image = image.colourspace("srgb")
        interpretation = "srgb"
    return image, interpretation


def _decode(vips, fh, fmt: str, header_size: Tuple[int, int],
            size: Tuple[int, int], turn: int) -> np.ndarray:
    try:
        image, interpretation = _loaded(vips, fh, fmt, size, header_size)
        stored = (image.width, image.height)
        factors = _shrink_factors(*stored, size)
        rest = stored[1] % factors[1] if _BACKWARDS.get(turn, (False, False))[1] else 0
        if rest:  # the partial block of rows comes first: decoded on its own, then the
            top = _shrink(image.crop(0, 0, stored[0], rest), (factors[0], rest), turn)
            top = top.numpy()  # rest from the file opened again (see _shrink)
            image = _loaded(vips, fh, fmt, size, header_size)[0]
            image = image.crop(0, rest, stored[0], stored[1] - rest)
        arr = _shrink(image, factors, turn).numpy()
        if rest:
            arr = np.concatenate([top, arr])
        bounds = None
        if _own_range(arr):
            try:  # not finite (NaN, inf) or not measurable: the shrunk copy's own range
                bounds = _full_range(_loaded(vips, fh, fmt, size, header_size)[0])
            except Exception:  # noqa: BLE001 - pyvips.Error and ValueError alike
                bounds = None
    except MemoryError:
        raise StreamError("oversized", "not enough memory to decode it even shrunk; "
                          "resize it or close other programs") from None
    except Exception as exc:  # pyvips.Error from the loader, the resize or the decode itself
        raise StreamError("corrupt", f"damaged or cut-off {fmt} data ({_error_text(exc, fmt)}); "
                          "re-export or remove it") from None
    return _bilinear(_to_rgb(_to_uint8(arr, bounds), interpretation), stored, factors, size,
                     turn)
