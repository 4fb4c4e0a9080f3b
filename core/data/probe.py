"""Reading an image's header without its pixels: the folder scan's check of every file.

The scan opens every file of a data folder, so this must cost one open and a
small read or two, not a decode: size, format, mode and frame count from the
header, and a look at the file's last KB for the end marker that a file cut off
mid-download or mid-copy lacks (a PNG's IEND; a GIF's trailer; a JPEG's end-of-image marker, and
only when that is missing a decode at 1/8 scale, because motion photos legally
carry megabytes after it); a TIFF or BMP whose header places its pixels past the
end of the file is cut off too.  The rules for which files open at all, and how big
they may be, are :mod:`core.data.image_open`'s.
"""

from __future__ import annotations

import os
from typing import Tuple, Union

from PIL import Image

from core.data.image_open import (JPEG_FORMATS, ImageError, ImageInfo, check_shrinkable,
                                  libvips_tiff_header, open_file, open_image)
from core.data.imageio import upright_geometry
from core.data.pixels import SWAPPING_ORIENTATIONS, frames


def _tail_has(fh, size: int, marker: bytes) -> bool:
    """Whether the file's last KB holds ``marker`` (an end chunk or end-of-image marker).

    A file cut off mid-download or mid-copy lacks it; checking costs one small read.
    """
    try:
        fh.seek(max(0, size - 1024))
        return marker in fh.read(1024)
    except OSError:
        return False


#: The byte a whole GIF ends with (some writers pad after it, so a file without it is decoded
#: before it is called cut off, as a PNG without its end marker is).
GIF_TRAILER = b";"


def _ends_with(fh, size: int, marker: bytes) -> bool:
    try:
        fh.seek(max(0, size - len(marker)))
        return fh.read(len(marker)) == marker
    except OSError:
        return False


def _jpeg_decodes(img: Image.Image) -> bool:
    """Whether the JPEG's pixels decode to the end (at 1/8 scale: the same data, less work).

    Only asked of JPEGs whose last KB has no end-of-image marker: a cut-off file
    (corrupt) or a motion photo carrying megabytes after the marker (fine).
    """
    try:
        img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()
        return True
    except (OSError, SyntaxError, ValueError):
        return False


#: A PNG without an end marker in its last KB is decoded to tell "padded" from "cut off" up to
#: this size (a cut-off 300 MP scan would take a gigabyte in the scan); bigger ones stay refused.
TRY_DECODE_PIXELS = 40_000_000


def _decodes(img: Image.Image) -> bool:
    """Whether a PNG without an end marker in its last KB decodes whole: a complete file
    with padding after it (tools that pad to a block size) does; a cut-off one does not."""
    try:
        img.load()
        return True
    except (OSError, SyntaxError, ValueError, MemoryError):
        return False


def _data_end(img: Image.Image) -> int:
    """How long the file must be for the (first frame's) pixels the header places, 0 when it
    does not say: past the start of a TIFF's every strip or tile, and for uncompressed
    strips their rows (byte counts are not trusted: libtiff reads files whose counts are
    wrong); an uncompressed BMP's rows but the last row's padding (up to 3 bytes, which
    some writers leave off)."""
    try:
        if img.format == "TIFF":
            tags = img.tag_v2
            offsets = tags.get(273) or tags.get(324)
            if not offsets:
                return 0
            offsets = offsets if isinstance(offsets, tuple) else (offsets,)
            end = max(int(o) + 1 for o in offsets)
            if tags.get(259, 1) == 1 and tags.get(284, 1) == 1 and 324 not in tags:
                # Uncompressed strips: their size is known.  TIFF's defaults (1 bit, one
                # sample: a 1-bit scan need not say; 8 was assumed, and the file refused as
                # cut off) and the size as stored (Pillow reports a rotated one upright:
                # rows of the wrong length refused every multi-strip file turned 90°).
                bits = tags.get(258, (1,))
                bits = bits if isinstance(bits, tuple) else (bits,)
                if len(bits) == 1:
                    bits = bits * int(tags.get(277, 1))
                width, height = int(tags.get(256, img.width)), int(tags.get(257, img.height))
                row = (width * sum(bits) + 7) // 8
                per = min(int(tags.get(278, height)), height)
                last = height - per * (len(offsets) - 1)
                end = max(end, int(offsets[-1]) + row * max(1, last))
            return end
        if img.format == "BMP" and img.tile and img.tile[0][0] == "raw":
            _, _box, offset, args = img.tile[0]
            return int(offset) + int(args[1]) * img.height - 3  # (rawmode, stride, direction)
    except (TypeError, ValueError, IndexError, AttributeError):
        pass
    return 0


def probe_image(path: Union[str, os.PathLike]) -> ImageInfo:
    """Read the header only (no pixels): size, format, mode, frame count.

    Raises :class:`ImageError`: "empty" (0 bytes), "not_image", "unreadable"
    (missing file, permission), "corrupt" (starts like an image but the header
    is broken, or a PNG or JPEG is cut off before its end) and "oversized" (too
    big for :func:`load_rgb` at any size).  A file that passes can still turn out
    "corrupt" when its pixels are decoded (damaged data in the middle of a file).
    """
    return probe_file(path)[0]


def probe_file(path: Union[str, os.PathLike]) -> Tuple[ImageInfo, int]:
    """:func:`probe_image` plus the file's size in bytes, from the same open file.

    The folder scan needs both for every file; one open instead of an extra
    ``stat`` is measurable at 100,000 files.
    """
    path = os.fspath(path)
    with open_file(path) as fh:
        nbytes = os.fstat(fh.fileno()).st_size
        try:
            img = open_image(path, fh)
        except ImageError as exc:  # a TIFF only libvips reads (float colour, CIELab ...)
            w, h, turn, pages, mode = libvips_tiff_header(path, fh, exc)
            if turn in SWAPPING_ORIENTATIONS:
                w, h = h, w
            return ImageInfo(width=w, height=h, format="TIFF", mode=mode, frames=pages), nbytes
        try:
            check_shrinkable(path, img)
            if _data_end(img) > nbytes:  # passed the scan, then failed every decode
                raise ImageError(path, "corrupt", f"the {img.format} is cut off (its pixels "
                                 "run past the end of the file); re-download or re-export it")
            if (img.format == "PNG" and not _tail_has(fh, nbytes, b"IEND")
                    and not (img.width * img.height <= TRY_DECODE_PIXELS and _decodes(img))):
                raise ImageError(path, "corrupt", "the PNG is cut off (no end marker); "
                                 "re-download or re-export it")
            if (img.format == "GIF" and not _ends_with(fh, nbytes, GIF_TRAILER)
                    and not (img.width * img.height <= TRY_DECODE_PIXELS and _decodes(img))):
                # a GIF cut off mid-download passed the scan, then failed in training only
                raise ImageError(path, "corrupt", "the GIF is cut off (it ends before its "
                                 "first picture does); re-download or re-export it")
            w, h, turn = upright_geometry(img)
            if turn in SWAPPING_ORIENTATIONS:
                w, h = h, w
            info = ImageInfo(width=int(w), height=int(h), format=str(img.format or ""),
                             mode=str(img.mode), frames=frames(img))
            if (img.format in JPEG_FORMATS and not _tail_has(fh, nbytes, b"\xff\xd9")
                    and not _jpeg_decodes(img)):
                raise ImageError(path, "corrupt", "the JPEG is cut off (it ends before its last "
                                 "pixels); re-download or re-export it")
        finally:
            img.close()
    return info, nbytes
