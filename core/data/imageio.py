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
  beyond ``MAX_DECODE_PIXELS`` and big GIF/BMP files are "oversized".

Truncated files are "corrupt": ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left off,
because silently training on half-grey images is worse than skipping them.
Only the formats in :data:`IMAGE_EXTENSIONS` are opened (Pillow is told so), so
a file with a misleading name cannot route into exotic plugins (EPS would run
Ghostscript); libvips gets only PNG, TIFF and WebP, each through its own loader.
Only regular files are read, and libvips reads the file already opened and
checked: a pipe named ``x.png`` is "unreadable" (:mod:`core.data.regular_file`).
The pixel rules (EXIF orientation, every mode to RGB) are in :mod:`core.data.pixels`.
"""

from __future__ import annotations

import errno
import os
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from core.data import huge
from core.data.pixels import (ORIENTATION_TRANSPOSE, SWAPPING_ORIENTATIONS, orientation,
                              png_late_orientation, to_rgb)
from core.data.regular_file import FileProblem, open_regular, os_error_reason

#: File name endings treated as images (lower case, with the dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

#: Pillow format names we agree to open.  (The JPEG opener also yields "MPO",
#: Pillow's name for many camera JPEGs, which are decoded like any JPEG.)
PILLOW_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")

#: The most pixels Pillow ever decodes at once (8192 x 8192, ~256 MB as RGBA).
MAX_DECODE_PIXELS: int = 8192 * 8192

#: libjpeg can decode at 1/8 scale, so a JPEG header may claim this much.
_JPEG_MAX_REDUCTION = 8

#: The most pixels any header may claim (2**32: what a 1/8 JPEG draft brings
#: under MAX_DECODE_PIXELS, and ~1 minute of streaming a PNG that big).
MAX_PIXELS: int = MAX_DECODE_PIXELS * _JPEG_MAX_REDUCTION ** 2

#: PNG, TIFF and WebP above this many pixels stream through libvips when a size
#: is asked for: Pillow would hold ~4 bytes per pixel, several copies, per thread.
STREAM_ABOVE_PIXELS: int = 4096 * 4096

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that, at open time.
# Our own checks are stricter per format, so Pillow's limit is only a backstop.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

JPEG_FORMATS = ("JPEG", "MPO")

# Leading bytes of the formats we open: a file that starts like an image but
# cannot be parsed is "corrupt", anything else is "not_image".
_SIGNATURES: tuple[bytes, ...] = (
    b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM",
    b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

SizeArg = Union[int, Tuple[int, int], None]


class ImageError(Exception):
    """A file that cannot be used as an image; ``kind`` says which way it failed."""

    KINDS = ("empty", "not_image", "corrupt", "unreadable", "oversized")

    def __init__(self, path: Union[str, os.PathLike], kind: str, reason: str) -> None:
        self.path = os.fspath(path)
        self.kind = kind
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep the attributes when sent between processes
        return (type(self), (self.path, self.kind, self.reason))


@dataclass(frozen=True)
class ImageInfo:
    """What the header says.  ``width``/``height`` are as displayed (EXIF rotation applied)."""

    width: int
    height: int
    format: str
    mode: str
    frames: int


# --------------------------------------------------------------------------- opening


def _looks_like_image(fh) -> bool:
    """Whether the file starts like one of our formats (read from the file already open)."""
    try:
        fh.seek(0)
        head = fh.read(16)
    except OSError:
        return False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(sig) for sig in _SIGNATURES)


def _os_error(path: str, exc: OSError) -> ImageError:
    return ImageError(path, "unreadable", os_error_reason(exc))


def open_image(path: str, fh) -> Image.Image:
    """Parse the header from an open file; map every failure to ImageError."""
    try:
        img = Image.open(fh, formats=PILLOW_FORMATS)
    except Image.DecompressionBombError:
        raise ImageError(path, "oversized",
                         f"the header claims more than {MAX_PIXELS / 1e6:.0f} megapixels "
                         "(a broken file or a decompression bomb); "
                         "resize it to a few thousand pixels per side or remove it") from None
    except UnidentifiedImageError:
        if _looks_like_image(fh):
            raise ImageError(path, "corrupt", "starts like an image but its header cannot be "
                             "read (damaged or cut off); re-export or remove it") from None
        raise ImageError(path, "not_image", "not an image this app can read (JPEG, PNG, BMP, "
                         "GIF, WebP or TIFF); remove it or convert it") from None
    except OSError as exc:
        if exc.errno is not None and exc.errno != errno.EINVAL:
            raise _os_error(path, exc) from None
        raise ImageError(path, "corrupt", f"damaged image header ({exc}); "
                         "re-export or remove it") from None
    except MemoryError:
        raise ImageError(path, "oversized", "not enough memory to read the header") from None
    except Exception as exc:  # SyntaxError, struct.error, ValueError ... from plugins
        raise ImageError(path, "corrupt", f"damaged image header ({type(exc).__name__}: {exc}); "
                         "re-export or remove it") from None
    return img


def open_file(path: str):
    """Open a regular, non-empty file (see :mod:`core.data.regular_file`) or raise ImageError."""
    try:
        return open_regular(path)
    except FileProblem as exc:
        raise ImageError(path, exc.kind, exc.reason) from None


def _megapixels(w: int, h: int) -> str:
    return f"{w}x{h} ({w * h / 1e6:.0f} megapixels)"


def unshrinkable(img: Image.Image) -> Optional[str]:
    """Why this image cannot be decoded at any size (None when some size fits)."""
    w, h = img.size
    if w * h <= MAX_DECODE_PIXELS:
        return None
    if w * h > MAX_PIXELS:
        return f"at any size (limit {MAX_PIXELS / 1e6:.0f} megapixels)"
    if img.format in JPEG_FORMATS:  # libjpeg decodes at 1/8 scale at best
        r = _JPEG_MAX_REDUCTION
        fits = ((w + r - 1) // r) * ((h + r - 1) // r) <= MAX_DECODE_PIXELS
        return None if fits and len(getattr(img, "tile", ())) == 1 else _limit("even at 1/8 scale")
    if img.format in huge.STREAM_FORMATS:
        return None if huge.can_stream(img.format) else f"shrunk: {huge.missing_reason()}"
    return _limit("(only JPEG, PNG, TIFF and WebP can be decoded shrunk)")


def _limit(why: str) -> str:
    return f"{why} (limit {MAX_DECODE_PIXELS / 1e6:.0f} megapixels)"


def oversized_error(path: str, img: Image.Image, why: str) -> ImageError:
    w, h = img.size
    return ImageError(path, "oversized",
                      f"{img.format or 'image'} of {_megapixels(w, h)} is too big to decode "
                      f"{why}; resize it to a few thousand pixels per side or remove it")


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
        img = open_image(path, fh)
        try:
            return _decode_open(path, fh, img, target)
        except ImageError:
            raise
        except huge.StreamError as exc:
            raise ImageError(path, exc.kind, exc.reason) from None
        except Image.DecompressionBombError:  # e.g. a GIF frame or TIFF tile claiming too much
            raise oversized_error(path, img, "(a frame or tile claims an enormous size)") from None
        except MemoryError:
            raise oversized_error(path, img, "with the memory available") from None
        except OSError as exc:
            if exc.errno is not None and exc.errno != errno.EINVAL:
                raise _os_error(path, exc) from None
            raise ImageError(path, "corrupt", f"damaged or cut-off image data ({exc}); "
                             "re-export or remove it") from None
        except Exception as exc:
            raise ImageError(path, "corrupt", f"damaged image data ({type(exc).__name__}: "
                             f"{exc}); re-export or remove it") from None
        finally:
            img.close()


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

    why = unshrinkable(img)
    if why:
        raise oversized_error(path, img, why)
    if _streams(img, out_stored):
        if img.format == "PNG" and turn == 1:  # an eXIf after the pixels (see below)
            turn = png_late_orientation(fh)
            if turn in SWAPPING_ORIENTATIONS:
                out = target(stored_h, stored_w)
                out_stored = None if out is None else (out[1], out[0])
        small = huge.decode_shrunk(fh, img.format, (stored_w, stored_h), out_stored)
        return _upright_array(path, Image.fromarray(small), turn)
    if stored_w * stored_h > MAX_DECODE_PIXELS:
        if out_stored is None or img.format not in JPEG_FORMATS:
            raise oversized_error(path, img, _limit("at full size" if out_stored is None
                                                    else "at the size asked for"))
        img.draft(img.mode, out_stored)
        if img.size[0] * img.size[1] > MAX_DECODE_PIXELS:
            raise oversized_error(path, img, _limit("even at 1/8 scale"))
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
