"""Recently opened projects and the window geometry, kept in QSettings.

This is per-user app state, not part of any project, so it lives in Qt's
settings store (``~/.config/FineTuneStudio`` on Linux) and only in ``gui/``.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

MAX_RECENT = 8


def settings() -> QSettings:
    return QSettings("FineTuneStudio", "Fine-Tune Studio")


def recent_projects() -> list[str]:
    value = settings().value("recent_projects", [])
    if isinstance(value, str):  # QSettings returns a lone string for a one-item list
        value = [value]
    return [str(v) for v in (value or []) if isinstance(v, str) and v]


def add_recent_project(path: str) -> list[str]:
    path = os.path.abspath(path)
    items = [p for p in recent_projects() if p != path]
    items.insert(0, path)
    items = items[:MAX_RECENT]
    settings().setValue("recent_projects", items)
    return items


def remove_recent_project(path: str) -> list[str]:
    items = [p for p in recent_projects() if p != path]
    settings().setValue("recent_projects", items)
    return items


def capture_side(default: int) -> int:
    """The image size last chosen in the capture dialog (``default`` before any): it went
    back to 512 px at every opening (a camera review)."""
    try:
        side = int(settings().value("capture_side", default))
    except (TypeError, ValueError):  # a hand-edited settings file
        return default
    return side if 32 <= side <= 4096 else default


def set_capture_side(side: int) -> None:
    settings().setValue("capture_side", int(side))
