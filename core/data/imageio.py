"""The one safe way this app turns an image file into pixels.

Training, previews, thumbnails and prediction all decode through :func:`load_rgb`
(or :func:`load_thumbnail`), so every part of the app sees the same pixels for
the same file and fails the same way on a bad one.  Two promises:

* **Every failure is an** :class:`ImageError` with a ``kind`` the caller can
  count ("empty", "not_image", "corrupt", "unreadable", "oversized") and a
  ``reason`` a person can act on.  Pillow raises a zoo of exception types
  (``OSError``, ``SyntaxError``, ``struct.error``, ``zlib.error``,
  ``DecompressionBombError`` ...); none of them escapes this module.
* **Memory stays bounded.**  Pillow decodes an image whole, so it is given
  images of at most :data:`MAX_DECODE_PIXELS` pixels.  A bigger JPEG is decoded
  already shrunk by libjpeg (``Image.draft``: 1/2, 1/4 or 1/8 scale); a PNG,
  TIFF or WebP above :data:`STREAM_ABOVE_PIXELS` is decoded by libvips straight
  to the size asked for, streaming, a strip of rows at a time
  (:mod:`core.data.huge`), so a 600-megapixel slide scan trains, previews and
  predicts in a few MB.  Headers claiming more than :data:`MAX_PIXELS` (4.3
  gigapixels: a broken file, a bomb, or minutes per decode), full-size decodes
  beyond ``MAX_DECODE_PIXELS`` and big GIF/BMP files are "oversized", and so are big
  interlaced PNGs and progressive JPEGs, which their decoders hold whole
  (:mod:`core.data.whole_decode`).

Truncated files are "corrupt": ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left off,
because silently training on half-grey images is worse than skipping them.
Which files open at all, and how big they may be, is :mod:`core.data.image_open`'s
(its public names are re-exported here); libvips gets only PNG, TIFF and WebP, each
through its own loader, and a TIFF Pillow cannot read at all.
Only regular files are read, and libvips reads the file already opened and
checked: a pipe named ``x.png`` is "unreadable" (:mod:`core.data.regular_file`).
The pixel rules (EXIF orientation, every mode to RGB) are in :mod:`core.data.pixels`.
"""

from __future__ import annotations

import errno
import os
from typing import Callable, Optional, Tuple, Union

import numpy as np
from PIL import ExifTags, Image

from core.data import huge, whole_decode
from core.data.image_open import (IMAGE_EXTENSIONS, JPEG_FORMATS, MAX_DECODE_PIXELS,
                                  MAX_PIXELS, PILLOW_FORMATS, ImageError, ImageInfo,
                                  check_shrinkable, libvips_tiff_header, limit_text, too_big,
                                  open_file, open_image, os_error, oversized_error)
from core.data.pixels import (ORIENTATION_TRANSPOSE, SWAPPING_ORIENTATIONS, orientation,
                              png_late_orientation, to_rgb)

__all__ = ["IMAGE_EXTENSIONS", "JPEG_FORMATS", "MAX_DECODE_PIXELS", "MAX_PIXELS",
           "PILLOW_FORMATS", "STREAM_ABOVE_PIXELS", "ImageError", "ImageInfo", "load_rgb",
           "load_thumbnail", "thumbnail_size", "upright_geometry"]

SizeArg = Union[int, Tuple[int, int], None]

#: PNG, TIFF and WebP above this many pixels stream through libvips when a size
#: is asked for: Pillow would hold ~4 bytes per pixel, several copies, per thread.
STREAM_ABOVE_PIXELS: int = 4096 * 4096


# --------------------------------------------------------------------------- decoding


def _normalise_size(size: SizeArg) -> Optional[Tuple[int, int]]:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        w = h = int(size)
    else:
        w, h = (int(v) for v in size)
    if w < 1 or h < 1:
        raise ValueError(f"image size must be positive, got {size!r}")
    return w, h


def _decode(path: Union[str, os.PathLike],
            target: Callable[[int, int], Optional[Tuple[int, int]]]) -> np.ndarray:
    """Decode ``path`` to RGB uint8; ``target(w, h)`` (upright size) gives the output size."""
    path = os.fspath(path)
    with open_file(path) as fh:
        try:
            img = open_image(path, fh)
        except ImageError as exc:
            return _tiff_by_libvips(path, fh, target, exc)
        try:
            return _decode_with_pillow(path, fh, img, target)
        except ImageError as exc:
            if img.format != "TIFF" or exc.kind != "corrupt" or getattr(exc, "libvips", False):
                raise
            return _tiff_by_libvips(path, fh, target, exc)
        finally:
            img.close()


def _decode_with_pillow(path: str, fh, img: Image.Image,
                        target: Callable[[int, int], Optional[Tuple[int, int]]]) -> np.ndarray:
    try:
        with whole_decode.one_at_a_time(img):  # an interlaced PNG, a progressive JPEG
            return _decode_open(path, fh, img, target)
    except ImageError:
        raise
    except huge.StreamError as exc:
        err = ImageError(path, exc.kind, exc.reason)
        err.libvips = True  # libvips already had its try: no second one
        raise err from None
    except Image.DecompressionBombError:  # e.g. a GIF frame or TIFF tile claiming too much
        raise oversized_error(path, img, "(a frame or tile claims an enormous size)") from None
    except MemoryError:
        raise oversized_error(path, img, "with the memory available") from None
    except OSError as exc:
        if exc.errno is not None and exc.errno != errno.EINVAL:
            raise os_error(path, exc) from None
        raise ImageError(path, "corrupt", f"damaged or cut-off image data ({exc}); "
                         "re-export or remove it") from None
    except Exception as exc:
        raise ImageError(path, "corrupt", f"damaged image data ({type(exc).__name__}: "
                         f"{exc}); re-export or remove it") from None


def _tiff_by_libvips(path: str, fh, target: Callable[[int, int], Optional[Tuple[int, int]]],
                     pillow_error: ImageError) -> np.ndarray:
    """Decode a TIFF that Pillow cannot (see :func:`libvips_tiff_header`) through libvips."""
    w, h, turn, _, _ = libvips_tiff_header(path, fh, pillow_error)
    swapped = turn in SWAPPING_ORIENTATIONS
    out = target(*((h, w) if swapped else (w, h)))
    out_stored = (w, h) if out is None else ((out[1], out[0]) if swapped else out)
    if out_stored[0] * out_stored[1] > MAX_DECODE_PIXELS:
        raise too_big(path, "TIFF", w, h, limit_text("at full size"))
    try:
        small = huge.decode_shrunk(fh, "TIFF", (w, h), out_stored)
    except huge.StreamError:
        raise pillow_error from None
    return _upright_array(path, Image.fromarray(small), turn)


def upright_geometry(img: Image.Image) -> Tuple[int, int, int]:
    """(stored width, stored height, orientation) from the header.

    Pillow turns a TIFF upright itself when loading it (and from Pillow 11 on
    reports the turned size already), so a TIFF's stored size is read from its tags.
    """
    w, h = img.size
    if img.format == "TIFF":
        tags = img.tag_v2
        w = int(tags.get(ExifTags.Base.ImageWidth, w))
        h = int(tags.get(ExifTags.Base.ImageLength, h))
    return w, h, orientation(img)


def _streams(img: Image.Image, out_stored: Optional[Tuple[int, int]]) -> bool:
    """Whether libvips decodes this one: a big PNG/TIFF/WebP asked for at a size that fits."""
    return (out_stored is not None and img.format in huge.STREAM_FORMATS
            and img.size[0] * img.size[1] > min(STREAM_ABOVE_PIXELS, MAX_DECODE_PIXELS)
            and out_stored[0] * out_stored[1] <= MAX_DECODE_PIXELS
            and huge.can_stream(img.format))


def _decode_open(path: str, fh, img: Image.Image,
                 target: Callable[[int, int], Optional[Tuple[int, int]]]) -> np.ndarray:
    stored_w, stored_h, turn = upright_geometry(img)
    swapped = turn in SWAPPING_ORIENTATIONS
    upright = (stored_h, stored_w) if swapped else (stored_w, stored_h)
    out = target(*upright)
    out_stored = None if out is None else ((out[1], out[0]) if swapped else out)

    check_shrinkable(path, img)
    if _streams(img, out_stored):
        if img.format == "PNG" and turn == 1:  # an eXIf after the pixels (see below)
            turn = png_late_orientation(fh)
            if turn in SWAPPING_ORIENTATIONS:
                out = target(stored_h, stored_w)
                out_stored = None if out is None else (out[1], out[0])
        first = turn if img.format == "TIFF" else 1  # Pillow turns a TIFF before resizing
        small = huge.decode_shrunk(fh, img.format, (stored_w, stored_h), out_stored, first)
        return _upright_array(path, Image.fromarray(small), 1 if first != 1 else turn)
    if stored_w * stored_h > MAX_DECODE_PIXELS:
        if out_stored is None or img.format not in JPEG_FORMATS:
            raise oversized_error(path, img, limit_text("at full size" if out_stored is None
                                                    else "at the size asked for"))
        img.draft(img.mode, out_stored)
        if img.size[0] * img.size[1] > MAX_DECODE_PIXELS:
            raise oversized_error(path, img, limit_text("even at 1/8 scale"))
    elif out_stored is not None and img.format in JPEG_FORMATS:
        img.draft(img.mode, out_stored)  # cheaper decode; still >= the target size

    img.load()
    if img.format == "TIFF" and turn != 1 and ExifTags.Base.Orientation not in img.tag_v2:
        turn, out_stored = 1, out  # Pillow turned it upright and dropped the tag
    if img.format == "PNG" and turn == 1:
        turn = orientation(img)  # eXIf after the pixels is readable now
        if turn in SWAPPING_ORIENTATIONS:
            out = target(stored_h, stored_w)
            out_stored = None if out is None else (out[1], out[0])
    rgb = to_rgb(img)
    if out_stored is not None and rgb.size != out_stored:
        rgb = rgb.resize(out_stored, Image.Resampling.BILINEAR, reducing_gap=3.0)
    return _upright_array(path, rgb, turn)


def _upright_array(path: str, rgb: Image.Image, turn: int) -> np.ndarray:
    transpose = ORIENTATION_TRANSPOSE.get(turn)
    if transpose is not None:
        rgb = rgb.transpose(transpose)
    arr = np.array(rgb, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:  # defensive: never hand back another shape
        raise ImageError(path, "corrupt", f"decoded to an unexpected shape {arr.shape}")
    return arr


def load_rgb(path: Union[str, os.PathLike], size: SizeArg = None) -> np.ndarray:
    """Decode an image to a uint8 array of shape (H, W, 3), upright and opaque.

    * EXIF orientation applied; the first frame of an animation is used.
    * Every Pillow mode becomes RGB; transparency is composited over white;
      16-bit, 32-bit and float pixels are scaled (not clipped) to 0..255.
    * ``size``: an int gives size x size, a tuple is (width, height).  The
      image is squashed to exactly that (no crop, aspect not kept), as
      ``keras.utils.image_dataset_from_directory`` does; big JPEGs are
      decoded shrunk first.

    Raises :class:`ImageError` only; see the module docstring for the limits.
    """
    want = _normalise_size(size)
    return _decode(path, lambda w, h: want)


def thumbnail_size(width: int, height: int, max_side: int) -> Tuple[int, int]:
    """(w, h) with the longer side at most ``max_side``, aspect kept, never enlarged."""
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side!r}")
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def load_thumbnail(path: Union[str, os.PathLike], max_side: int) -> np.ndarray:
    """Like :func:`load_rgb` but keeps the aspect ratio: the longer side is <= ``max_side``."""
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side!r}")
    return _decode(path, lambda w, h: thumbnail_size(w, h, max_side))
