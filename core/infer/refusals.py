"""Hints for a path that is not a model the app can open, beyond "not a model"."""

from __future__ import annotations

from pathlib import Path

from core.data.folder_walk import looks_like_image_folder


def images_hint(p: Path) -> str:
    """"; it looks like a folder of images..." for a data folder given where a model goes
    (predict's arguments swapped, Open model on the data folder); else ""."""
    return ("; it looks like a folder of images, not a model (a model is a run folder or an "
            "exported model file)") \
        if p.is_dir() and looks_like_image_folder(p) else ""
