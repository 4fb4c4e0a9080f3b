"""The one safe way this app turns an image file into pixels.

Training, previews, thumbnails and prediction all decode through :func:`load_rgb`
(or :func:`load_thumbnail`), so every part of the app sees the same pixels for
the same file and fails the same way on a bad one.  Two promises:

* **Every failure is an** :class:`ImageError` with a ``kind`` the caller can
  count ("empty", "not_image", "corrupt", "unreadable", "oversized") and a
  ``reason`` a person can act on.  Pillow raises a zoo of exception types
  (``OSError``, ``SyntaxError``, ``struct.error``, ``zlib.error``,
  ``DecompressionBombError`` ...); none of them escapes this module.
* **Memory stays bounded.**  An image is decoded at full size only when it has
  at most :data:`MAX_DECODE_PIXELS` pixels.  A bigger JPEG is decoded already
  shrunk by libjpeg (``Image.draft``: 1/2, 1/4 or 1/8 scale) when a target size
  is asked for, which keeps a 200-megapixel photo at a few megapixels in RAM.
  Other formats (PNG, WebP, TIFF, GIF, BMP) cannot be decoded shrunk by
  Pillow, so a bigger one is refused with kind "oversized" -- e.g. a real
  20000x20000 PNG (400 MP, 1.2 GB as RGB) is *refused*, not decoded; the
  reason says how big it is and to resize it.  Pillow's own
  decompression-bomb limit is raised to what a 1/8 JPEG draft can bring under
  our limit, because this module does its own, stricter check per format;
  headers beyond even that (a PNG claiming 100000x100000) make Pillow refuse
  at open time, which also maps to "oversized".

Truncated files are "corrupt": ``ImageFile.LOAD_TRUNCATED_IMAGES`` is left off,
because silently training on half-grey images is worse than skipping them.
Only the formats in :data:`IMAGE_EXTENSIONS` are opened (Pillow is told so), so
a file with a misleading name cannot route into exotic plugins (EPS would run
Ghostscript).  Only regular files are read: a pipe named ``x.png`` would block
the reading thread forever and ``/dev/zero`` never ends, so anything else is
"unreadable" before a byte is read (checked with ``stat``, then again on the
file opened without blocking, so a file swapped in between cannot slip through).
The pixel rules (EXIF orientation, every mode to RGB) are in :mod:`core.data.pixels`.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.data.pixels import (ORIENTATION_TRANSPOSE, SWAPPING_ORIENTATIONS, frames, orientation,
                              to_rgb)

#: File name endings treated as images (lower case, with the dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

#: Pillow format names we agree to open.  (The JPEG opener also yields "MPO",
#: Pillow's name for many camera JPEGs, which are decoded like any JPEG.)
PILLOW_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")

#: The most pixels ever decoded at once (8192 x 8192, ~256 MB as RGBA).
MAX_DECODE_PIXELS: int = 8192 * 8192

#: libjpeg can decode at 1/8 scale, so a JPEG header may claim this much.
_JPEG_MAX_REDUCTION = 8

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that, at open time,
# before we can ask for a draft.  Our own check (``_check_size``) is stricter
# per format, so Pillow's limit only has to let through JPEGs we can draft.
Image.MAX_IMAGE_PIXELS = MAX_DECODE_PIXELS * _JPEG_MAX_REDUCTION ** 2
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

_JPEG_FORMATS = ("JPEG", "MPO")

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
    if isinstance(exc, FileNotFoundError):
        return ImageError(path, "unreadable", "file not found (was it moved or deleted?)")
    if isinstance(exc, PermissionError):
        return ImageError(path, "unreadable",
                          "permission denied; make the file readable or remove it")
    return ImageError(path, "unreadable", f"cannot read the file ({exc.strerror or exc})")


def _open(path: str, fh) -> Image.Image:
    """Parse the header from an open file; map every failure to ImageError."""
    try:
        img = Image.open(fh, formats=PILLOW_FORMATS)
    except Image.DecompressionBombError:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6
        raise ImageError(path, "oversized",
                         f"the header claims more than {limit:.0f} megapixels "
                         "(a broken file or a decompression bomb); "
                         "resize it to a few thousand pixels per side or remove it") from None
    except UnidentifiedImageError:
        if _looks_like_image(fh):
            raise ImageError(path, "corrupt", "starts like an image but its header cannot be "
                             "read (damaged or cut off); re-export or remove it") from None
        raise ImageError(path, "not_image", "not an image Pillow can read (JPEG, PNG, BMP, "
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


def special_file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("a pipe", "a device" ...), from its ``st_mode``."""
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _not_regular(path: str, mode: int) -> ImageError:
    if stat.S_ISDIR(mode):
        return ImageError(path, "unreadable", "this is a folder, not an image file")
    return ImageError(path, "unreadable", f"not a regular file ({special_file_kind(mode)}); "
                      "use an image file instead")


def _nonblocking(path: str, flags: int) -> int:
    """``open``'s opener: a pipe opened like this returns at once instead of waiting for a writer."""
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))


def _open_file(path: str):
    """Open a regular, non-empty file for reading; anything else is an ImageError.

    ``stat`` first, so a pipe or device is never even opened; the open itself
    does not block and its ``fstat`` is checked again, in case the name was
    swapped for a pipe in between.
    """
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        fh = open(path, "rb", opener=_nonblocking)
    except OSError as exc:
        raise _os_error(path, exc) from None
    try:
        st = os.fstat(fh.fileno())
    except OSError as exc:
        fh.close()
        raise _os_error(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        fh.close()
        raise _not_regular(path, st.st_mode)
    if st.st_size == 0:
        fh.close()
        raise ImageError(path, "empty", "the file is empty (0 bytes); remove it")
    return fh


def _megapixels(w: int, h: int) -> str:
    return f"{w}x{h} ({w * h / 1e6:.0f} megapixels)"


def _min_decoded_pixels(img: Image.Image) -> int:
    """The fewest pixels this image can be decoded at (JPEG may shrink 8x per side)."""
    w, h = img.size
    if img.format in _JPEG_FORMATS and len(getattr(img, "tile", ())) == 1:
        r = _JPEG_MAX_REDUCTION
        return ((w + r - 1) // r) * ((h + r - 1) // r)
    return w * h


def _oversized(path: str, img: Image.Image, why: str) -> ImageError:
    w, h = img.size
    limit = MAX_DECODE_PIXELS
    return ImageError(path, "oversized",
                      f"{img.format or 'image'} of {_megapixels(w, h)} is too big to decode "
                      f"{why} (limit {limit / 1e6:.0f} megapixels); resize it to a few thousand "
                      "pixels per side or remove it")


# --------------------------------------------------------------------------- probing


def _png_has_end(fh, size: int) -> bool:
    """A PNG cut off mid-download lacks its IEND chunk; checking costs one small read.

    (JPEGs get no such check: motion photos legally carry megabytes after the
    end marker, so a cut-off JPEG is only caught when decoded.)
    """
    try:
        fh.seek(max(0, size - 1024))
        return b"IEND" in fh.read(1024)
    except OSError:
        return False


def probe_image(path: Union[str, os.PathLike]) -> ImageInfo:
    """Read the header only (no pixels): size, format, mode, frame count.

    Raises :class:`ImageError`: "empty" (0 bytes), "not_image", "unreadable"
    (missing file, permission), "corrupt" (starts like an image but the header
    is broken, or a PNG lacks its end marker) and "oversized" (too big for
    :func:`load_rgb` at any size).  A file that passes can still turn out
    "corrupt" when its pixels are decoded (a cut-off JPEG has a perfect header).
    """
    return probe_file(path)[0]


def probe_file(path: Union[str, os.PathLike]) -> Tuple[ImageInfo, int]:
    """:func:`probe_image` plus the file's size in bytes, from the same open file.

    The folder scan needs both for every file; one open instead of an extra
    ``stat`` is measurable at 100,000 files.
    """
    path = os.fspath(path)
    with _open_file(path) as fh:
        nbytes = os.fstat(fh.fileno()).st_size
        img = _open(path, fh)
        try:
            if _min_decoded_pixels(img) > MAX_DECODE_PIXELS:
                raise _oversized(path, img, "even at 1/8 scale" if img.format in _JPEG_FORMATS
                                 else "(only JPEGs can be decoded shrunk)")
            if img.format == "PNG" and not _png_has_end(fh, nbytes):
                raise ImageError(path, "corrupt", "the PNG is cut off (no end marker); "
                                 "re-download or re-export it")
            w, h = img.size
            if orientation(img) in SWAPPING_ORIENTATIONS:
                w, h = h, w
            info = ImageInfo(width=int(w), height=int(h), format=str(img.format or ""),
                             mode=str(img.mode), frames=frames(img))
        finally:
            img.close()
    return info, nbytes


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
    with _open_file(path) as fh:
        img = _open(path, fh)
        try:
            return _decode_open(path, img, target)
        except ImageError:
            raise
        except Image.DecompressionBombError:  # e.g. a GIF frame or TIFF tile claiming too much
            raise _oversized(path, img, "(a frame or tile claims an enormous size)") from None
        except MemoryError:
            raise _oversized(path, img, "with the memory available") from None
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


def _decode_open(path: str, img: Image.Image,
                 target: Callable[[int, int], Optional[Tuple[int, int]]]) -> np.ndarray:
    stored_w, stored_h = img.size
    turn = orientation(img)
    swapped = turn in SWAPPING_ORIENTATIONS
    upright = (stored_h, stored_w) if swapped else (stored_w, stored_h)
    out = target(*upright)
    out_stored = None if out is None else ((out[1], out[0]) if swapped else out)

    if stored_w * stored_h > MAX_DECODE_PIXELS:
        if img.format not in _JPEG_FORMATS or out_stored is None:
            raise _oversized(path, img, "at full size" if out_stored is None
                             else "(only JPEGs can be decoded shrunk)")
        img.draft(img.mode, out_stored)
        if img.size[0] * img.size[1] > MAX_DECODE_PIXELS:
            raise _oversized(path, img, "even at 1/8 scale")
    elif out_stored is not None and img.format in _JPEG_FORMATS:
        img.draft(img.mode, out_stored)  # cheaper decode; still >= the target size

    img.load()
    if img.format == "PNG" and turn == 1:
        turn = orientation(img)  # eXIf after the pixels is readable now
        if turn in SWAPPING_ORIENTATIONS:
            out = target(stored_h, stored_w)
            out_stored = None if out is None else (out[1], out[0])
    rgb = to_rgb(img)
    if out_stored is not None and rgb.size != out_stored:
        rgb = rgb.resize(out_stored, Image.Resampling.BILINEAR, reducing_gap=3.0)
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
