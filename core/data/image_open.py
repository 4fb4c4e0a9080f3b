"""Opening an image file: which files, which formats, how big; every failure an ImageError.

The folder scan (:mod:`core.data.probe`) and every decode (:mod:`core.data.imageio`)
open files here, so both refuse the same files with the same words.  Only the
formats in :data:`IMAGE_EXTENSIONS` are opened (Pillow is told so), so a file with a
misleading name cannot route into exotic plugins (EPS would run Ghostscript).  A
TIFF that Pillow cannot read (float or CIELab colour, 16-bit grey with alpha, a
compression Pillow's libtiff lacks) is read by libtiff inside libvips instead
(:func:`libvips_tiff_header`): it is a valid image, not a corrupt one.
"""

from __future__ import annotations

import errno
import os
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from PIL import Image, UnidentifiedImageError

from core.data import huge, whole_decode
from core.data.image_names import IMAGE_EXTENSIONS  # noqa: F401 - the table, re-exported
from core.data.regular_file import FileProblem, open_regular, os_error_reason


#: Pillow format names we agree to open.  (The JPEG opener also yields "MPO",
#: Pillow's name for many camera JPEGs, which are decoded like any JPEG.)
PILLOW_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF")

#: The most pixels Pillow ever decodes at once (8192 x 8192, ~256 MB as RGBA).
MAX_DECODE_PIXELS: int = whole_decode.MAX_DECODE_PIXELS

#: libjpeg can decode at 1/8 scale, so a JPEG header may claim this much.
_JPEG_MAX_REDUCTION = 8

#: The most pixels any header may claim (2**32: what a 1/8 JPEG draft brings
#: under MAX_DECODE_PIXELS, and ~1 minute of streaming a PNG that big).
MAX_PIXELS: int = MAX_DECODE_PIXELS * _JPEG_MAX_REDUCTION ** 2

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that, at open time.
# Our own checks are stricter per format, so Pillow's limit is only a backstop.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("ignore", Image.DecompressionBombWarning)
# A cut-off TIFF's "Corrupt EXIF data" went to the terminal as a library path and no file
# name; the file is reported (named, with what to do) when it cannot be read (a review).
warnings.filterwarnings("ignore", message=r"(Possibly )?[Cc]orrupt EXIF", category=UserWarning)

JPEG_FORMATS = ("JPEG", "MPO")

_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

# Leading bytes of the formats we open, with their names: a file that starts like an
# image but cannot be parsed is "corrupt", anything else is "not_image".
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"), (b"BM", "BMP"), *((sig, "TIFF") for sig in _TIFF_SIGNATURES))


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
    return bool(format_by_signature(head))


def format_by_signature(head: bytes) -> str:
    """The name of the format of ours that ``head`` (a file's first 16 bytes or more) starts
    like ("JPEG", "PNG", ..., "WebP"), or "" for none."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for sig, name in _SIGNATURES if head.startswith(sig)), "")


def os_error(path: str, exc: OSError) -> ImageError:
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
            raise os_error(path, exc) from None
        if str(exc).startswith("Unsupported BMP pixel depth"):  # a valid variant Pillow lacks (a
            # 2-bit BMP): "damaged" sent people to re-download a good file
            raise ImageError(path, "corrupt", f"a kind of image this app cannot read ({exc});"
                             " convert it to PNG or JPEG, or remove it") from None
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


def megapixels_text(w: int, h: int) -> str:
    return f"{w}x{h} ({w * h / 1e6:.0f} megapixels)"


def check_shrinkable(path: str, img: Image.Image) -> None:
    """Raise the "oversized" :class:`ImageError` when ``img`` cannot be decoded at any size."""
    whole = whole_decode.too_whole(img)  # interlaced PNG, progressive JPEG: held whole
    if whole:
        raise oversized_error(path, img, whole[0], todo=whole[1])
    why = unshrinkable(img)
    if why:
        raise oversized_error(path, img, why)


def unshrinkable(img: Image.Image) -> Optional[str]:
    """Why this image cannot be decoded at any size (None when some size fits); an image its
    decoder holds whole is :func:`check_shrinkable`'s too."""
    w, h = img.size
    if w * h <= MAX_DECODE_PIXELS:
        return None
    if w * h > MAX_PIXELS:
        return f"at any size (limit {MAX_PIXELS / 1e6:.0f} megapixels)"
    if img.format in JPEG_FORMATS:  # libjpeg decodes at 1/8 scale at best
        r = _JPEG_MAX_REDUCTION
        fits = ((w + r - 1) // r) * ((h + r - 1) // r) <= MAX_DECODE_PIXELS
        one_tile = len(getattr(img, "tile", ())) == 1
        return None if fits and one_tile else limit_text("even at 1/8 scale")
    if img.format in huge.STREAM_FORMATS:
        return None if huge.can_stream(img.format) else f"shrunk: {huge.missing_reason()}"
    return limit_text("(only JPEG, PNG, TIFF and WebP can be decoded shrunk)")


def limit_text(why: str) -> str:
    return f"{why} (limit {MAX_DECODE_PIXELS / 1e6:.0f} megapixels)"


_RESIZE = "resize it to a few thousand pixels per side or remove it"


def oversized_error(path: str, img: Image.Image, why: str, todo: str = _RESIZE) -> ImageError:
    return too_big(path, img.format or "image", *img.size, why, todo)


def too_big(path: str, fmt: str, w: int, h: int, why: str, todo: str = _RESIZE) -> ImageError:
    return ImageError(path, "oversized",
                      f"{fmt} of {megapixels_text(w, h)} is too big to decode {why}; {todo}")


def is_tiff(fh) -> bool:
    try:
        fh.seek(0)
        return fh.read(4) in _TIFF_SIGNATURES
    except OSError:
        return False


def libvips_tiff_header(path: str, fh, pillow_error: ImageError) -> Tuple[int, int, int, int, str]:
    """:func:`core.data.huge.tiff_header` of a TIFF Pillow failed on, size-checked.

    Raises ``pillow_error`` itself when the file is no TIFF or libvips cannot
    read it either: Pillow's words are the ones that describe a broken file.
    """
    if pillow_error.kind != "corrupt" or not is_tiff(fh) or not huge.can_stream("TIFF"):
        raise pillow_error
    try:
        w, h, turn, pages, mode = huge.tiff_header(fh)
    except huge.StreamError:
        raise pillow_error from None
    if w * h > MAX_PIXELS:
        raise too_big(path, "TIFF", w, h, limit_text("at any size"))
    return w, h, turn, pages, mode
