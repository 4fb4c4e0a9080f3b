"""Which file names are images: one table for the scan, every decode, prediction's folder walk,
the window's drops and its file dialogs.  Plain data: importing it loads no image library
(the window builds its file dialogs' filters from it before Pillow is loaded)."""

from __future__ import annotations

#: File name endings treated as images (lower case, with the dot).  ``.jfif`` and ``.jpe``
#: are JPEGs (a browser on Windows saves JPEGs as ``.jfif``): ``predict FILE.jfif`` answered
#: while a folder of them was "no images found" and the scan listed them as non-images.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


def dialog_filter() -> str:
    """A Qt file dialog's filter: the image endings, then every file."""
    return "Images (" + " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS)) + ");;All files (*)"
