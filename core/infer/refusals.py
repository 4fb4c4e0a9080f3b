"""Hints for a path that is not a model the app can open, beyond "not a model"."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def images_hint(p: Path) -> str:
    """"; it looks like a folder of images..." for a folder of class folders given where a
    model goes (predict's arguments swapped, Open model on the data folder); else ""."""
    with contextlib.suppress(OSError):
        if p.is_dir() and any(e.is_dir() for e in os.scandir(p)):
            return "; it looks like a folder of images: give the model first"
    return ""
