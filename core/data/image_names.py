"""Which file names are images: one table for the scan, every decode, prediction's folder walk,
the window's drops and its file dialogs.  Plain data: importing it loads no image library
(the window builds its file dialogs' filters from it before Pillow is loaded)."""

from __future__ import annotations

import os

#: File name endings treated as images (lower case, with the dot).  ``.jfif`` and ``.jpe``
#: are JPEGs (a browser on Windows saves JPEGs as ``.jfif``): ``predict FILE.jfif`` answered
#: while a folder of them was "no images found" and the scan listed them as non-images.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def dialog_filter() -> str:
    """A Qt file dialog's filter: the image endings, then every file."""
    return "Images (" + " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS)) + ");;All files (*)"


#: The ending a file of each image format (Pillow's name) gets when its own is not above.
FORMAT_ENDINGS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "BMP": ".bmp", "GIF": ".gif",
                  "WEBP": ".webp", "TIFF": ".tif"}


def readable_name(name: str, fmt: str) -> str:
    """``name`` as the folder scan reads it: without leading dots (a dot-name is hidden),
    and with ``fmt``'s ending added when its own ending is not an image's (the name cut to
    leave it room)."""
    from core.path_names import cut_to_bytes

    out = name.lstrip(".") or "image"
    if os.path.splitext(out)[1].lower() not in IMAGE_EXTENSIONS:
        ending = FORMAT_ENDINGS.get(str(fmt).upper(), "")
        # a 253-byte name plus ".png" is longer than a file system takes (255 bytes)
        out = cut_to_bytes(out, 255 - len(ending)) + ending
    return out
